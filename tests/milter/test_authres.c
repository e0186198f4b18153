/*
 * test_authres.c - Criterion tests for opendkim/authres.c: the
 * Authentication-Results value we write (layout, header.b prefixes, hostile
 * signature values) and recognition of received fields by authserv-id.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

static dkim_sig_result pass_result(const char *b)
{
	dkim_sig_result r = {
		.result = DKIM_RESULT_PASS, .reason = "",
		.domain = "example.com", .identity = "@example.com",
		.selector = "sel", .algorithm = "rsa-sha256", .b = b,
		.key_bits = 2048,
	};
	return r;
}

static char *format1(const dkim_sig_result *r)
{
	const dkim_sig_result *list[] = { r };
	char *s = authres_format_job("mx.example.net", NULL, list, 1, "\n\t");
	cr_assert_not_null(s);
	return s;
}

Test(authres_format, pass_as_opendkim_writes_it)
{
	dkim_sig_result r = pass_result("RNAhx6cVabcdefgh");
	char *s = format1(&r);
	cr_assert_str_eq(s, "mx.example.net;\n\tdkim=pass (2048-bit key) "
	                 "header.d=example.com header.i=@example.com "
	                 "header.a=rsa-sha256 header.s=sel header.b=RNAhx6cV");
	free(s);
}

Test(authres_format, none_when_unsigned)
{
	char *s = authres_format_job("mx.example.net", NULL, NULL, 0, "\n\t");
	cr_assert_str_eq(s, "mx.example.net;\n\tdkim=none");
	free(s);
}

Test(authres_format, fail_has_reason)
{
	dkim_sig_result r = pass_result("AAAAAAAAAAAA");
	r.result = DKIM_RESULT_FAIL;
	r.cause = DKIM_CAUSE_SIGNATURE;
	r.key_bits = 1024;
	char *s = format1(&r);
	cr_assert(strstr(s, "dkim=fail reason=\"signature verification failed\" "
	                 "(1024-bit key) header.d=example.com") != NULL, "%s", s);
	free(s);
}

/* RFC 6376 §6.1.2: a revoked key is a fail with its own reason, as
 * OpenDKIM writes it (dkim=fail reason="key revoked"). */
Test(authres_format, revoked_key_is_a_fail_with_its_reason)
{
	dkim_sig_result r = pass_result("AAAAAAAAAAAA");
	r.result = DKIM_RESULT_FAIL;
	r.cause = DKIM_CAUSE_KEY_REVOKED;
	r.reason = "key revoked";
	r.key_bits = 0;
	char *s = format1(&r);
	cr_assert(strstr(s, "dkim=fail reason=\"key revoked\" header.d=example.com") != NULL,
	          "%s", s);
	free(s);
}

Test(authres_format, permerror_reason_escaped)
{
	dkim_sig_result r = pass_result(NULL);
	r.result = DKIM_RESULT_PERMERROR;
	r.reason = "bad \"x\" \\ tag\r\n";
	r.key_bits = 0;
	char *s = format1(&r);
	cr_assert(strstr(s, "dkim=permerror reason=\"bad \\\"x\\\" \\\\ tag??\"") != NULL,
	          "%s", s);
	cr_assert_null(strstr(s, "header.b"));
	cr_assert_null(strstr(s, "bit key"));
	free(s);
}

Test(authres_format, testing_key_and_ed25519)
{
	dkim_sig_result r = pass_result("abcdefghijk");
	r.key_bits = 256;
	r.testing = true;
	r.algorithm = "ed25519-sha256";
	char *s = format1(&r);
	cr_assert(strstr(s, "(256-bit key; test mode)") != NULL, "%s", s);
	cr_assert(strstr(s, "header.a=ed25519-sha256") != NULL, "%s", s);
	free(s);
}

Test(authres_format, several_results_and_unevaluated_skipped)
{
	dkim_sig_result a = pass_result("abcdefgh1111"), b = pass_result("abcdefgh2222");
	dkim_sig_result c = pass_result("zzzz");
	c.result = DKIM_RESULT_NONE;
	const dkim_sig_result *list[] = { &a, &b, &c };
	char *s = authres_format_job("mx", NULL, list, 3, "\n\t");
	cr_assert(strstr(s, "mx;\n\tdkim=pass") == s, "%s", s);
	cr_assert(strstr(s, "header.b=abcdefgh1;\n\tdkim=pass") != NULL, "%s", s);
	cr_assert(strstr(s, "header.b=abcdefgh2") != NULL, "%s", s);
	cr_assert_null(strstr(s, "zzzz"));
	cr_assert_null(strstr(s, "dkim=none"));
	free(s);
}

Test(authres_b, prefix_at_least_8_and_unique)
{
	dkim_sig_result a = pass_result("ABCDEFGHIJKLMNOP");
	dkim_sig_result b = pass_result("ABCDEFGHIJKLxxxx");
	dkim_sig_result c = pass_result("short");
	const dkim_sig_result *list[] = { &a, &b, &c };
	char out[200];
	cr_assert_eq(authres_b_prefix(list, 3, 0, out, sizeof(out)), 13);
	cr_assert_str_eq(out, "ABCDEFGHIJKLM");
	cr_assert_eq(authres_b_prefix(list, 3, 2, out, sizeof(out)), 5);
	cr_assert_str_eq(out, "short");
	list[1] = &a;   /* identical b=: the whole value */
	cr_assert_eq(authres_b_prefix(list, 2, 0, out, sizeof(out)), 16);
	cr_assert_eq(authres_b_prefix(list, 2, 0, out, 5), 4);
}

Test(authres_b, slash_is_quoted)
{
	dkim_sig_result r = pass_result("ab/defghijkl");
	char *s = format1(&r);
	cr_assert(strstr(s, "header.b=\"ab/defgh\"") != NULL, "%s", s);
	free(s);
}

Test(authres_format, hostile_values_left_out)
{
	dkim_sig_result r = pass_result("abc;def\"ghij");
	r.domain = "example.com; dkim=pass header.d=victim.example";
	r.identity = "x(@example.com";
	r.selector = "sel\r\n\tX-Injected: yes";
	r.algorithm = "rsa-sha256\"";
	char *s = format1(&r);
	cr_assert_str_eq(s, "mx.example.net;\n\tdkim=pass (2048-bit key)");
	free(s);
}

Test(authres_format, more_hostile_values)
{
	const char *bad_domains[] = { "", ".a", "a..b", "a b", "é.com", "a(b)", "a\"b",
	                              "a;b", "a\\b", "a@b" };
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(*bad_domains); i++) {
		dkim_sig_result r = pass_result(NULL);
		r.domain = bad_domains[i];
		r.identity = NULL;
		char *s = format1(&r);
		cr_assert_null(strstr(s, "header.d"), "%s -> %s", bad_domains[i], s);
		free(s);
	}
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	dkim_sig_result r = pass_result(NULL);
	r.domain = longname;
	char *s = format1(&r);
	cr_assert_null(strstr(s, "header.d"));
	free(s);
}

Test(authres_format, identity_forms)
{
	dkim_sig_result r = pass_result(NULL);
	r.identity = "first.last+tag@mail.example.com";
	char *s = format1(&r);
	cr_assert(strstr(s, "header.i=first.last+tag@mail.example.com") != NULL, "%s", s);
	free(s);
	r.identity = "\"quoted\"@example.com";
	s = format1(&r);
	cr_assert_null(strstr(s, "header.i"), "%s", s);
	free(s);
}

Test(authres_format, bad_authserv_id)
{
	cr_assert_null(authres_format_job("mx;x", NULL, NULL, 0, "\n\t"));
	cr_assert_null(authres_format_job("", NULL, NULL, 0, "\n\t"));
	cr_assert(authres_valid_id("mx.example.net"));
	cr_assert_not(authres_valid_id("mx example"));
}

Test(authres_ours, plain_and_spacing)
{
	cr_assert(authres_is_ours(" mx.example.net; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("mx.example.net;dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("MX.Example.NET; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("\r\n\t  mx.example.net\r\n\t; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("\n\tmx.example.net 1; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("mx.example.net", "mx.example.net"));
	cr_assert(authres_is_ours("mx.example.net.; none", "mx.example.net"));
	cr_assert(authres_is_ours("mx.example.net; none", "mx.example.net."));
}

Test(authres_ours, comments_and_quotes)
{
	cr_assert(authres_is_ours("(c) mx.example.net; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours(" (a (nested \\) comment) x)\n\t mx.example.net(v);",
	                          "mx.example.net"));
	cr_assert(authres_is_ours("\"mx.example.net\"; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("\"mx.exa\\mple.net\"; dkim=pass", "mx.example.net"));
}

Test(authres_ours, not_ours)
{
	cr_assert_not(authres_is_ours("mx.example.net.evil; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("evil.mx.example.net; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("mx.example.ne; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("", "mx.example.net"));
	cr_assert_not(authres_is_ours("(unterminated mx.example.net", "mx.example.net"));
	cr_assert_not(authres_is_ours("\"mx.example.net", "mx.example.net"));
	cr_assert_not(authres_is_ours("mx.example.net..; x", "mx.example.net"));
}

Test(authres_ours, long_values)
{
	size_t n = 100000;
	char *v = malloc(n + 1);
	memset(v, 'a', n);
	v[n] = '\0';
	cr_assert_not(authres_is_ours(v, "mx.example.net"));
	memset(v, ' ', n - 20);
	memcpy(v + n - 20, "mx.example.net; x=y", 20);
	cr_assert(authres_is_ours(v, "mx.example.net"));
	v[0] = '(';
	cr_assert_not(authres_is_ours(v, "mx.example.net"));
	free(v);
}

Test(authres_id, extract)
{
	char id[16];
	cr_assert(authres_authserv_id(" host.example; x", id, sizeof(id)));
	cr_assert_str_eq(id, "host.example");
	cr_assert_not(authres_authserv_id(" host.example.too.long; x", id, sizeof(id)));
}

/* AuthservIDWithJobID: "id/job" is a quoted-string ('/' is no token char). */
Test(authres_format, with_job_id)
{
	char *s = authres_format_job("mx.example.net", "4ABC123DEF", NULL, 0, "\n\t");
	cr_assert_str_eq(s, "\"mx.example.net/4ABC123DEF\";\n\tdkim=none");
	free(s);
	/* Postfix long queue ids: letters and digits (and '.', '-', '_'
	 * elsewhere): token characters, written as they are. */
	s = authres_format_job("mx", "4Xyzq61Pb3z2lQ.v-_", NULL, 0, "\n\t");
	cr_assert_str_eq(s, "\"mx/4Xyzq61Pb3z2lQ.v-_\";\n\tdkim=none");
	free(s);
	s = authres_format_job("mx.example.net", NULL, NULL, 0, "\n\t");
	cr_assert_str_eq(s, "mx.example.net;\n\tdkim=none");
	free(s);
	cr_assert_null(authres_format_job("mx example", "Q1", NULL, 0, "\n\t"));
}

/* A job id that would break the field or its quoting is left out. */
Test(authres_format, hostile_job_id_left_out)
{
	static const char *const bad[] = {
		"", "Q 1", "Q;dkim=pass", "Q\"", "Q\\", "Q\r\n\tX: y", "Q(c)",
		"Q/1", "Q=1", "Q\x01", "Q\x7f", "Q\xc3\xa9",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *s = authres_format_job("mx.example.net", bad[i], NULL, 0, "\n\t");
		cr_assert_str_eq(s, "mx.example.net;\n\tdkim=none", "job id '%s'", bad[i]);
		cr_assert_not(authres_valid_job_id(bad[i]), "%s", bad[i]);
		free(s);
	}
	cr_assert(authres_valid_job_id(
		"1234567890123456789012345678901234567890123456789012345678901234"));
}

/* Ours with a job id, in our quoted form and OpenDKIM's unquoted one. */
Test(authres_ours, with_job_id)
{
	cr_assert(authres_is_ours("\"mx.example.net/4ABC123DEF\"; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("mx.example.net/4ABC123DEF; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("MX.example.net/; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours("mx.example.net./Q; dkim=pass", "mx.example.net"));
	cr_assert(authres_is_ours(" (c) \"mx.example.net/a b\"; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("mx.example.net.evil/Q; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("mx.example.netx/Q; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("/mx.example.net; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("mx.example/net; dkim=pass", "mx.example.net"));
	cr_assert_not(authres_is_ours("mx.example.net../Q; dkim=pass", "mx.example.net"));
}

/* RFC 8617 §10.1: arc=RESULT smtp.remote-ip= header.oldest-pass=. */
Test(authres_arc, pass_with_details)
{
	dkim_sig_result r = pass_result("RNAhx6cVabcdefgh");
	const dkim_sig_result *list[] = { &r };
	authres_arc arc = { .result = DKIM_ARC_PASS, .oldest_pass = 2,
	                    .remote_ip = "192.0.2.7" };
	char *s = authres_format_arc("mx", NULL, list, 1, &arc, "\n\t");
	cr_assert_str_eq(s, "mx;\n\tdkim=pass (2048-bit key) header.d=example.com "
	                 "header.i=@example.com header.a=rsa-sha256 header.s=sel "
	                 "header.b=RNAhx6cV;\n\tarc=pass smtp.remote-ip=192.0.2.7 "
	                 "header.oldest-pass=2");
	free(s);
}

/* oldest-pass only on pass; IPv6 quoted (':' is no token character);
 * no client address: no smtp.remote-ip. */
Test(authres_arc, fail_none_and_ipv6)
{
	authres_arc arc = { .result = DKIM_ARC_FAIL, .oldest_pass = 2,
	                    .remote_ip = "2001:db8::1" };
	char *s = authres_format_arc("mx", NULL, NULL, 0, &arc, "\n\t");
	cr_assert_str_eq(s, "mx;\n\tdkim=none;\n\tarc=fail smtp.remote-ip=\"2001:db8::1\"");
	free(s);
	authres_arc none = { .result = DKIM_ARC_NONE, .no_dkim = true };
	s = authres_format_arc("mx", NULL, NULL, 0, &none, "\n\t");
	cr_assert_str_eq(s, "mx;\n\tarc=none");
	free(s);
}

/* Anything that is not an address is left out, whatever its source. */
Test(authres_arc, hostile_remote_ip_left_out)
{
	static const char *const bad[] = {
		"", "192.0.2.1; dkim=pass", "1.2.3.4\r\n\tX: y", "a\"b", "(c)",
		"1234567890123456789012345678901234567890123456",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		authres_arc arc = { .result = DKIM_ARC_NONE, .remote_ip = bad[i],
		                    .no_dkim = true };
		char *s = authres_format_arc("mx", NULL, NULL, 0, &arc, "\n\t");
		cr_assert_str_eq(s, "mx;\n\tarc=none", "ip '%s'", bad[i]);
		free(s);
	}
}
