/*
 * test_sig.c - DKIM-Signature parsing, b= stripping and formatting
 * (libdkim/sig.c), and the names and defaults sig.c provides.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define B "dGVzdHNpZ25hdHVyZQ=="

/* A valid value with every tag but the one named replaced by its text. */
static char *sig_value(const char *extra)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf),
	         "v=1; a=rsa-sha256; d=example.com; s=sel; h=From:To; bh=" BH "; b=" B "%s",
	         extra);
	return buf;
}

static dkim_status parse(const char *value, dkim_sig *sig, dkim_error *err)
{
	memset(err, 0, sizeof(*err));
	return dkim_sig_parse(value, strlen(value), sig, err);
}

Test(sig, parses_a_full_signature)
{
	const char *v = "v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	                " d=Example.COM; i=joe@mail.example.com;\r\n q=dns/txt; s=brisbane;"
	                " t=1528637909; x=1528638909; l=42; h=from : to :\r\n subject;\r\n"
	                " bh=" BH ";\r\n b=dGVz\r\n dHNp Z25hdHVyZQ==";
	dkim_sig sig;
	dkim_error err;

	cr_assert_eq(parse(v, &sig, &err), DKIM_OK, "%s", err.message);
	cr_expect_eq(sig.alg, DKIM_ALG_ED25519_SHA256);
	cr_expect_eq(sig.keytype, DKIM_KEY_ED25519);
	cr_expect_eq(sig.hash, DKIM_HASH_SHA256);
	cr_expect_eq(sig.header_canon, DKIM_CANON_RELAXED);
	cr_expect_eq(sig.body_canon, DKIM_CANON_RELAXED);
	cr_expect_str_eq(sig.domain, "Example.COM");
	cr_expect_str_eq(sig.selector, "brisbane");
	cr_expect_str_eq(sig.identity, "joe@mail.example.com");
	cr_expect_str_eq(sig.algorithm, "ed25519-sha256");
	cr_assert_eq(sig.nheaders, 3);
	cr_expect_str_eq(sig.headers[0], "from");
	cr_expect_str_eq(sig.headers[1], "to");
	cr_expect_str_eq(sig.headers[2], "subject");
	cr_expect_eq(sig.bh_len, 32);
	cr_expect_eq(sig.b_len, 13);
	cr_expect_arr_eq(sig.b, "testsignature", 13);
	cr_expect_str_eq(sig.b_text, "dGVzdHNpZ25hdHVyZQ==");
	cr_expect_eq(sig.length, 42);
	cr_expect(sig.has_timestamp && sig.timestamp == 1528637909);
	cr_expect(sig.has_expire && sig.expire == 1528638909);
	dkim_sig_free(&sig);
}

Test(sig, defaults)
{
	dkim_sig sig;
	dkim_error err;

	cr_assert_eq(parse(sig_value(""), &sig, &err), DKIM_OK, "%s", err.message);
	cr_expect_eq(sig.header_canon, DKIM_CANON_SIMPLE);
	cr_expect_eq(sig.body_canon, DKIM_CANON_SIMPLE);
	cr_expect_str_eq(sig.identity, "@example.com");
	cr_expect_eq(sig.length, DKIM_NO_LIMIT);
	cr_expect(!sig.has_timestamp && !sig.has_expire);
	dkim_sig_free(&sig);

	/* §3.5 c=: "relaxed" alone is relaxed/simple */
	cr_assert_eq(parse(sig_value("; c=relaxed"), &sig, &err), DKIM_OK, "%s", err.message);
	cr_expect_eq(sig.header_canon, DKIM_CANON_RELAXED);
	cr_expect_eq(sig.body_canon, DKIM_CANON_SIMPLE);
	dkim_sig_free(&sig);

	cr_assert_eq(parse(sig_value("; c=simple/relaxed"), &sig, &err), DKIM_OK);
	cr_expect_eq(sig.header_canon, DKIM_CANON_SIMPLE);
	cr_expect_eq(sig.body_canon, DKIM_CANON_RELAXED);
	dkim_sig_free(&sig);
}

Test(sig, accepts_variants)
{
	static const char *ok[] = {
		"; i=@EXAMPLE.com",                 /* case-insensitive */
		"; i=user@sub.example.com",         /* subdomain */
		"; q=dns/txt",
		"; q=other/thing : dns/txt",
		"; l=0",
		"; t=0; x=1",
		"; z=From:foo@example.com|To:bar",
		"; unknown=tag; w=ignored",          /* §3.2: ignored */
		"; c=Relaxed/Simple",
		";",                                 /* trailing ';' */
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		dkim_sig sig;
		dkim_error err;

		cr_expect_eq(parse(sig_value(ok[i]), &sig, &err), DKIM_OK, "%s: %s", ok[i],
		             err.message);
		dkim_sig_free(&sig);
	}
}

struct bad_case {
	const char *value;
	const char *reason;     /* substring of the error message */
};

/* z= is diagnostic only: no limit of its own (the field's limits bound
 * it); a 40 KB one parses, as at dkimpy and OpenDKIM. */
Test(sig, long_z_is_not_an_error)
{
	static const char head[] = "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh="
	                           BH "; b=" B "; z=";
	static char value[sizeof(head) + 40000];
	dkim_sig sig;
	dkim_error err;

	memcpy(value, head, sizeof(head) - 1);
	memset(value + sizeof(head) - 1, 'a', 40000);
	value[sizeof(value) - 1] = '\0';
	cr_assert_eq(parse(value, &sig, &err), DKIM_OK, "%s", err.message);
	dkim_sig_free(&sig);
}

/* Every required tag missing, every tag malformed: a reason each. */
Test(sig, malformed_tags_have_reasons)
{
	static char l77[90];
	struct bad_case bad[] = {
		{ "a=rsa-sha256; d=example.com; s=sel; h=From; bh=" BH "; b=" B, "v=" },
		{ "v=2; a=rsa-sha256; d=example.com; s=sel; h=From; bh=" BH "; b=" B, "v=" },
		{ "v=1; d=example.com; s=sel; h=From; bh=" BH "; b=" B, "a=" },
		{ "v=1; a=rsa-md5; d=example.com; s=sel; h=From; bh=" BH "; b=" B, "a=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=" BH, "b=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=" BH "; b=", "b=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=" BH "; b=a!b=", "b=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; b=" B, "bh=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=abc; b=" B, "bh=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=; b=" B, "bh=" },
		{ "v=1; a=rsa-sha256; s=sel; h=From; bh=" BH "; b=" B, "d=" },
		{ "v=1; a=rsa-sha256; d=example..com; s=sel; h=From; bh=" BH "; b=" B, "d=" },
		{ "v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=From; bh=" BH "; b=" B, "d=" },
		{ "v=1; a=rsa-sha256; d=example.com.; s=sel; h=From; bh=" BH "; b=" B, "d=" },
		{ "v=1; a=rsa-sha256; d=ex\"ample.com; s=sel; h=From; bh=" BH "; b=" B, "d=" },
		{ "v=1; a=rsa-sha256; d=example.com; h=From; bh=" BH "; b=" B, "s=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=se/l; h=From; bh=" BH "; b=" B, "s=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; bh=" BH "; b=" B, "h=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=To:Subject; bh=" BH "; b=" B, "From" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From::To; bh=" BH "; b=" B, "h=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=Fr om; bh=" BH "; b=" B, "h=" },
		{ NULL, "c=" }, { NULL, "c=" }, { NULL, "i= not within d=" },
		{ NULL, "i= not within d=" }, { NULL, "i=" }, { NULL, "l=" }, { NULL, "l=" },
		{ NULL, "l=" }, { NULL, "q=" }, { NULL, "t=" }, { NULL, "t=" }, { NULL, "x=" },
		{ NULL, "x=" }, { NULL, "x=" }, { NULL, "" }, { NULL, "" },
	};
	const char *extras[] = {
		"; c=fancy", "; c=relaxed/fancy", "; i=joe@example.org",
		"; i=joe@notexample.com", "; i=nodomain", "; l=12a",
		"; l=99999999999999999999999", l77, "; q=http/well-known",
		"; t=12x", "; t=1234567890123", "; t=100; x=99", "; t=100; x=100",
		"; x=-5", "; d=example.net", "; novalue",
	};
	size_t i, e = 0;

	memset(l77, '1', sizeof(l77) - 1);
	memcpy(l77, "; l=", 4);
	l77[4 + 77] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *value = bad[i].value;
		dkim_sig sig;
		dkim_error err;

		if (value == NULL)
			value = sig_value(extras[e++]);
		cr_expect_neq(parse(value, &sig, &err), DKIM_OK, "accepted: %s", value);
		cr_expect(err.message[0] != '\0', "no reason for %s", value);
		cr_expect(strstr(err.message, bad[i].reason) != NULL,
		          "reason \"%s\" lacks \"%s\" (%s)", err.message, bad[i].reason, value);
		dkim_sig_free(&sig);
	}
	cr_assert_eq(e, sizeof(extras) / sizeof(extras[0]));
}

/*
 * A tag name outside the §3.2 grammar: ignored when verifying (§3.2
 * "Unrecognized tags MUST be ignored"; OpenDKIM 2.11 and dkimpy 1.1.4 do
 * the same, issue 16), refused by the strict parse that checks our output.
 */
Test(sig, odd_tag_names_ignored_when_verifying_strict_for_ours)
{
	static const char *const odd[] = { "; x-foo=bar", "; 1x=bar", "; x.y=1" };
	size_t i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		const char *v = sig_value(odd[i]);
		dkim_sig sig;
		dkim_error err;

		cr_expect_eq(parse(v, &sig, &err), DKIM_OK, "%s: %s", odd[i], err.message);
		cr_expect_str_eq(sig.domain, "example.com", "%s", odd[i]);
		dkim_sig_free(&sig);
		cr_expect_eq(dkim_sig_parse_strict(v, strlen(v), &sig, &err),
		             DKIM_ERR_SYNTAX, "%s", odd[i]);
		cr_expect(strstr(err.message, "tag-list") != NULL, "%s: %s", odd[i], err.message);
		dkim_sig_free(&sig);
	}
}

Test(sig, duplicate_tag_is_an_error)
{
	dkim_sig sig;
	dkim_error err;

	cr_expect_neq(parse(sig_value("; s=other"), &sig, &err), DKIM_OK);
	dkim_sig_free(&sig);
}

Test(sig, i_exactly_d_or_below)
{
	cr_expect_eq(dkim_sig_identity_relation("@example.com", "example.com"), 1);
	cr_expect_eq(dkim_sig_identity_relation("a@Example.Com", "example.com"), 1);
	cr_expect_eq(dkim_sig_identity_relation("a@x.example.com", "example.com"), 2);
	cr_expect_eq(dkim_sig_identity_relation("a@xexample.com", "example.com"), 0);
	cr_expect_eq(dkim_sig_identity_relation("a@com", "example.com"), 0);
	cr_expect_eq(dkim_sig_identity_relation("example.com", "example.com"), 0);
}

/* ---- b= stripping (§3.7) ---------------------------------------------------------- */

static void expect_strip(const char *in, const char *want)
{
	size_t len;
	char *out = dkim_sig_strip_b(in, strlen(in), &len);

	cr_assert_not_null(out);
	cr_expect_eq(len, strlen(want));
	cr_expect_str_eq(out, want);
	free(out);
}

Test(sig, strip_b)
{
	expect_strip("DKIM-Signature: v=1; b=abc\r\n def; bh=xyz",
	             "DKIM-Signature: v=1; b=; bh=xyz");
	expect_strip("DKIM-Signature: v=1; bh=xyz;\r\n\tb=abc\r\n\tdef==",
	             "DKIM-Signature: v=1; bh=xyz;\r\n\tb=");
	/* FWS before the name and around '=' kept; the value's FWS goes */
	expect_strip("DKIM-Signature:v=1;\r\n b =  abc  ;d=x",
	             "DKIM-Signature:v=1;\r\n b =;d=x");
	expect_strip("DKIM-Signature: v=1; d=b; s=b", "DKIM-Signature: v=1; d=b; s=b");
	expect_strip("DKIM-Signature: ", "DKIM-Signature: ");
	expect_strip("DKIM-Signature: junk;; b=1;x", "DKIM-Signature: junk;; b=;x");
	expect_strip("DKIM-Signature: b=1; B=2", "DKIM-Signature: b=; B=2");
	expect_strip("no colon b=1", "no colon b=1");
}

/* ---- formatting -------------------------------------------------------------------- */

static const char *const fmt_headers[] = {
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Reply-To", "Cc",
	"In-Reply-To", "References", "List-Id", "List-Unsubscribe", "From",
};

static dkim_sig_fields fmt_fields(const char *b)
{
	dkim_sig_fields f;

	memset(&f, 0, sizeof(f));
	f.alg = DKIM_ALG_RSA_SHA256;
	f.header_canon = DKIM_CANON_RELAXED;
	f.body_canon = DKIM_CANON_SIMPLE;
	f.domain = "example.com";
	f.selector = "sel2024";
	f.identity = "joe@example.com";
	f.headers = fmt_headers;
	f.nheaders = sizeof(fmt_headers) / sizeof(fmt_headers[0]);
	f.has_timestamp = f.has_expire = f.has_length = true;
	f.timestamp = 1700000000;
	f.expire = 1700086400;
	f.length = 12345;
	f.bh = BH;
	f.b = b;
	return f;
}

static char *format(const dkim_sig_fields *f)
{
	dkim_buf buf;
	char *copy;

	dkim_buf_init(&buf);
	cr_assert_eq(dkim_sig_format(f, &buf), DKIM_OK);
	copy = strdup(buf.data);
	dkim_buf_free(&buf);
	return copy;
}

Test(sig, format_tag_order_and_folding)
{
	char b[345];
	dkim_sig_fields f;
	char *v;
	size_t col = strlen("DKIM-Signature: ");
	const char *p;

	memset(b, 'Q', sizeof(b) - 1);
	b[sizeof(b) - 1] = '\0';
	memcpy(b + sizeof(b) - 3, "==", 2);
	f = fmt_fields(b);
	v = format(&f);
	cr_expect(strncmp(v, "v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel2024;", 62) == 0,
	          "%s", v);
	/* order: v a c d s t x l i h bh b */
	cr_expect(strstr(v, "t=1700000000;") < strstr(v, "x=1700086400;"));
	cr_expect(strstr(v, "x=1700086400;") < strstr(v, "l=12345;"));
	cr_expect(strstr(v, "l=12345;") < strstr(v, "i=joe@example.com;"));
	cr_expect(strstr(v, "i=joe@example.com;") < strstr(v, "h=From:To:"));
	cr_expect(strstr(v, "h=From:") < strstr(v, "bh=" BH ";"));
	cr_expect(strstr(v, "b=QQQ") > strstr(v, "bh="));
	/* every line within 78 columns, folded with CRLF TAB */
	for (p = v; *p; p++) {
		if (p[0] == '\r') {
			cr_assert(p[1] == '\n' && p[2] == '\t', "bad fold in %s", v);
			cr_expect_leq(col, 78, "long line in %s", v);
			col = 8;
			p += 2;
		} else {
			col++;
		}
	}
	cr_expect_leq(col, 78);
	cr_expect_not_null(strstr(v, "\r\n\t"));
	free(v);
}

/* The text up to "b=" never depends on b: what was hashed is what is sent. */
Test(sig, format_then_strip_gives_the_hashed_text)
{
	size_t blen, len;

	for (blen = 0; blen < 400; blen += 7) {
		char b[410], *with_b, *empty, *field, *stripped, *hashed;
		dkim_sig_fields f;

		memset(b, 'x', blen);
		b[blen] = '\0';
		f = fmt_fields(b);
		with_b = format(&f);
		f.b = "";
		empty = format(&f);
		cr_assert(asprintf(&field, "DKIM-Signature: %s", with_b) > 0);
		cr_assert(asprintf(&hashed, "DKIM-Signature: %s", empty) > 0);
		stripped = dkim_sig_strip_b(field, strlen(field), &len);
		cr_expect_str_eq(stripped, hashed, "b of %zu", blen);
		free(with_b);
		free(empty);
		free(field);
		free(stripped);
		free(hashed);
	}
}

Test(sig, format_parses_back)
{
	char *v = NULL;
	dkim_sig_fields f = fmt_fields(B);
	dkim_sig sig;
	dkim_error err;
	size_t i;

	v = format(&f);
	cr_assert_eq(parse(v, &sig, &err), DKIM_OK, "%s: %s", err.message, v);
	cr_expect_str_eq(sig.domain, "example.com");
	cr_expect_str_eq(sig.selector, "sel2024");
	cr_expect_str_eq(sig.identity, "joe@example.com");
	cr_expect_eq(sig.nheaders, f.nheaders);
	for (i = 0; i < f.nheaders; i++)
		cr_expect_str_eq(sig.headers[i], fmt_headers[i]);
	cr_expect_eq(sig.length, 12345);
	cr_expect_eq(sig.timestamp, 1700000000);
	cr_expect_eq(sig.expire, 1700086400);
	cr_expect_str_eq(sig.b_text, B);
	dkim_sig_free(&sig);
	free(v);

	/* minimal: no t, x, l, i */
	f.has_timestamp = f.has_expire = f.has_length = false;
	f.identity = NULL;
	f.alg = DKIM_ALG_ED25519_SHA256;
	v = format(&f);
	cr_assert_eq(parse(v, &sig, &err), DKIM_OK, "%s: %s", err.message, v);
	cr_expect(strstr(v, "t=") == NULL && strstr(v, "l=") == NULL && strstr(v, "i=") == NULL);
	cr_expect_eq(sig.alg, DKIM_ALG_ED25519_SHA256);
	dkim_sig_free(&sig);
	free(v);
}

/* ---- names and defaults ---------------------------------------------------------- */

Test(sig, names)
{
	dkim_alg alg;

	cr_expect_str_eq(dkim_alg_name(DKIM_ALG_RSA_SHA256), "rsa-sha256");
	cr_expect_str_eq(dkim_alg_name(DKIM_ALG_ED25519_SHA256), "ed25519-sha256");
	cr_expect_str_eq(dkim_alg_name(DKIM_ALG_RSA_SHA1), "rsa-sha1");
	cr_expect(dkim_alg_parse("ed25519-sha256", 14, &alg) && alg == DKIM_ALG_ED25519_SHA256);
	cr_expect(dkim_alg_parse("RSA-SHA1", 8, &alg) && alg == DKIM_ALG_RSA_SHA1);
	cr_expect(dkim_alg_parse("rsa-sha256xyz", 10, &alg) && alg == DKIM_ALG_RSA_SHA256);
	cr_expect(!dkim_alg_parse("rsa-sha25", 9, &alg));
	cr_expect(!dkim_alg_parse("", 0, &alg));
	cr_expect_str_eq(dkim_canon_name(DKIM_CANON_SIMPLE), "simple");
	cr_expect_str_eq(dkim_canon_name(DKIM_CANON_RELAXED), "relaxed");
	cr_expect_str_eq(dkim_result_name(DKIM_RESULT_NONE), "none");
	cr_expect_str_eq(dkim_result_name(DKIM_RESULT_PASS), "pass");
	cr_expect_str_eq(dkim_result_name(DKIM_RESULT_FAIL), "fail");
	cr_expect_str_eq(dkim_result_name(DKIM_RESULT_NEUTRAL), "neutral");
	cr_expect_str_eq(dkim_result_name(DKIM_RESULT_POLICY), "policy");
	cr_expect_str_eq(dkim_result_name(DKIM_RESULT_TEMPERROR), "temperror");
	cr_expect_str_eq(dkim_result_name(DKIM_RESULT_PERMERROR), "permerror");
}

Test(sig, option_defaults)
{
	dkim_options o;

	memset(&o, 0xff, sizeof(o));
	dkim_options_init(&o);
	cr_expect_eq(o.max_header_bytes, 65536);
	cr_expect_eq(o.max_field_bytes, 16384);
	cr_expect_eq(o.max_fields, 1000);
	cr_expect_eq(o.max_signatures, 5);
	cr_expect_eq(o.min_key_bits, 1024);
	cr_expect_eq(o.now, 0);
	cr_expect_eq(o.clock_drift, 300);
}
