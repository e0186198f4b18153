/*
 * test_arc.c - ARC chain validation (RFC 8617 §5.2) through the engine.
 *
 * Driven by the public ARC signing suite (tests/data/arc/, made from
 * arc-draft-sign-tests.yml by make_vectors.py): each scenario's message
 * with the ARC set the suite says a sealer must add on top is a chain
 * that validates (pass), except where the incoming chain had failed
 * (i*_base_fail: the new seal says cv=fail, §5.2 step 2 makes it fail;
 * no_additional_sig: no set was added over a chain ending in cv=fail).
 * Sealing the suite's messages reproduces the suite's AAR, AMS and AS
 * (whitespace aside), and adds no set where the suite adds none.
 * The same messages altered (body, signed header, seal, instance
 * numbering, duplicated or missing fields) must fail, and a message
 * without ARC fields is none.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testkeys.h"

/* ---- the suite's DNS (tests/data/arc/keys.txt) --------------------------------- */

static void arc_lookup(void *ctx, dkim_key_query *q, size_t n)
{
	char *keys = testkey_read_data("arc/keys.txt", NULL), *line, *save = NULL;
	size_t i;

	(*(int *)ctx)++;
	for (i = 0; i < n; i++)
		q[i].status = DKIM_LOOKUP_NOTFOUND;
	for (line = strtok_r(keys, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		cr_assert_not_null(sp);
		*sp = '\0';
		for (i = 0; i < n; i++) {
			char name[600];

			snprintf(name, sizeof(name), "%s._domainkey.%s", q[i].selector, q[i].domain);
			if (strcasecmp(name, line) != 0 || q[i].key != NULL)
				continue;
			q[i].key = dkim_pubkey_parse(sp + 1, strlen(sp + 1), NULL);
			cr_assert_not_null(q[i].key);
			q[i].status = DKIM_LOOKUP_FOUND;
		}
	}
	free(keys);
}

static char *vector(const char *name, size_t *len)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "arc/%s.eml", name);
	return testkey_read_data(rel, len);
}

/* Validates raw; returns the result and fills oldest / reason. */
static dkim_arc_result validate(const char *raw, size_t len, unsigned *oldest,
                                char *reason, size_t rsize)
{
	dkim_options opts;
	dkim_error err;
	dkim_msg *msg;
	dkim_arc_result r;
	const char *why;
	int calls = 0;

	dkim_options_init(&opts);
	opts.now = 12400;
	msg = dkim_msg_new(&opts, &err);
	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_arc_verify(msg, arc_lookup, &calls, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_feed_raw(msg, raw, len, &err), DKIM_OK, "%s", err.message);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	cr_assert_leq(calls, 1, "one batched lookup at most");
	r = dkim_msg_arc_result(msg, oldest, &why);
	snprintf(reason, rsize, "%s", why);
	dkim_msg_free(msg);
	return r;
}

static void expect(const char *raw, size_t len, dkim_arc_result want, const char *what)
{
	char reason[DKIM_ERROR_MAX];
	unsigned oldest;
	dkim_arc_result r = validate(raw, len, &oldest, reason, sizeof(reason));

	cr_expect_eq(r, want, "%s: arc=%s (%s), expected %s", what, dkim_arc_result_name(r),
	             reason, dkim_arc_result_name(want));
}

static const char *const suite[] = {
	"message_body_eol_wsp", "message_body_inl_wsp", "message_body_end_lines",
	"message_body_trail_crlf", "headers_field_name_case", "headers_field_unfold",
	"headers_eol_wsp", "headers_inl_wsp", "headers_col_wsp", "i0_base", "i1_base",
	"i2_base", "ar_merged1", "ar_merged2",
};

Test(arc_vectors, sealed_suite_messages_pass)
{
	size_t i;

	for (i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		size_t len;
		char *raw = vector(suite[i], &len);

		expect(raw, len, DKIM_ARC_PASS, suite[i]);
		free(raw);
	}
}

Test(arc_vectors, failed_chain_stays_failed)
{
	/* no_additional_sig: no new set, the incoming chain ends in cv=fail */
	static const char *const failed[] = { "i1_base_fail", "i2_base_fail",
	                                      "no_additional_sig" };
	size_t i;

	for (i = 0; i < 3; i++) {
		size_t len;
		char *raw = vector(failed[i], &len);

		expect(raw, len, DKIM_ARC_FAIL, failed[i]);
		free(raw);
	}
}

Test(arc_vectors, oldest_pass_is_zero_when_every_ams_passes)
{
	char reason[DKIM_ERROR_MAX];
	unsigned oldest = 99;
	size_t len;
	char *raw = vector("i2_base", &len);

	cr_expect_eq(validate(raw, len, &oldest, reason, sizeof(reason)), DKIM_ARC_PASS);
	cr_expect_eq(oldest, 0);
	free(raw);
}

Test(arc_vectors, no_arc_fields_is_none)
{
	const char raw[] = "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n";

	expect(raw, strlen(raw), DKIM_ARC_NONE, "plain message");
}

/* ---- tampering --------------------------------------------------------------------- */

/* vector name with the first occurrence of from replaced by to. */
static char *altered(const char *name, const char *from, const char *to, size_t *len)
{
	size_t n;
	char *raw = vector(name, &n), *at = strstr(raw, from), *out;
	size_t fl = strlen(from), tl = strlen(to);

	cr_assert_not_null(at, "%s has no %s", name, from);
	out = malloc(n - fl + tl + 1);
	cr_assert_not_null(out);
	memcpy(out, raw, (size_t)(at - raw));
	memcpy(out + (at - raw), to, tl);
	memcpy(out + (at - raw) + tl, at + fl, n - (size_t)(at - raw) - fl + 1);
	*len = n - fl + tl;
	free(raw);
	return out;
}

static void expect_altered_fails(const char *name, const char *from, const char *to)
{
	size_t len;
	char *raw = altered(name, from, to, &len);

	expect(raw, len, DKIM_ARC_FAIL, to);
	free(raw);
}

Test(arc_tamper, body)
{
	expect_altered_fails("i2_base", "This is a test", "This is a tent");
}

Test(arc_tamper, signed_header)
{
	expect_altered_fails("i2_base", "Subject: Example 1", "Subject: [list] Example 1");
}

Test(arc_tamper, newest_aar_is_sealed)
{
	expect_altered_fails("i1_base", "i=2; lists.example.org; arc=pass",
	                     "i=2; lists.example.org; arc=fail");
}

Test(arc_tamper, oldest_seal)
{
	/* the i=1 seal of i2_base is deep in the message; change its t= */
	expect_altered_fails("i2_base", "mpm7kE3NbSpgq8Z/rsK5FZ7ADceXw=; cv=none",
	                     "mpm7kE3NbSpgq8Z/rsK5FZ7ADceXx=; cv=none");
}

Test(arc_tamper, instance_numbering)
{
	expect_altered_fails("i1_base", "cv=pass; d=example.org; i=2;",
	                     "cv=pass; d=example.org; i=3;");
}

Test(arc_tamper, instance_over_fifty)
{
	expect_altered_fails("i0_base", "cv=none; d=example.org; i=1;",
	                     "cv=none; d=example.org; i=51;");
}

Test(arc_tamper, first_seal_must_say_none)
{
	expect_altered_fails("i0_base", "cv=none;", "cv=pass;");
}

Test(arc_tamper, duplicate_instance)
{
	size_t len;
	char *raw = vector("i0_base", &len);
	const char dup[] = "ARC-Authentication-Results: i=1; other.example; arc=none\r\n";
	char *two = malloc(len + sizeof(dup));

	cr_assert_not_null(two);
	memcpy(two, dup, sizeof(dup) - 1);
	memcpy(two + sizeof(dup) - 1, raw, len + 1);
	expect(two, len + sizeof(dup) - 1, DKIM_ARC_FAIL, "duplicate AAR i=1");
	free(raw);
	free(two);
}

Test(arc_tamper, missing_seal)
{
	expect_altered_fails("i0_base", "ARC-Seal:", "X-Not-A-Seal:");
}

Test(arc_tamper, unknown_key)
{
	expect_altered_fails("i0_base", "cv=none; d=example.org; i=1; s=dummy;",
	                     "cv=none; d=example.org; i=1; s=absent;");
}

/* ---- sealing (§5.1) against the suite's expected sets --------------------------------- */

/* Offset of the field after the first n fields of raw. */
static size_t skip_fields(const char *raw, unsigned n)
{
	size_t off = 0;

	while (n > 0) {
		const char *nl = strstr(raw + off, "\r\n");

		cr_assert_not_null(nl);
		off = (size_t)(nl - raw) + 2;
		if (raw[off] != ' ' && raw[off] != '\t')
			n--;
	}
	return off;
}

/* The value of field n (0-based) of raw with all whitespace removed. */
static char *field_nows(const char *raw, unsigned n)
{
	size_t start = n ? skip_fields(raw, n) : 0, end = skip_fields(raw, n + 1), k = 0;
	const char *colon = memchr(raw + start, ':', end - start);
	char *out = malloc(end - start + 1);
	const char *p;

	cr_assert_not_null(colon);
	cr_assert_not_null(out);
	for (p = colon + 1; p < raw + end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			out[k++] = *p;
	out[k] = '\0';
	return out;
}

static char *nows(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	size_t k = 0;

	cr_assert_not_null(out);
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			out[k++] = *s;
	out[k] = '\0';
	return out;
}

/* The longest line of "Name: value" (value folded with CRLF). */
static size_t longest_line(const char *name, const char *value)
{
	size_t longest = 0, col = strlen(name) + 2;

	for (; *value; value++) {
		if (*value == '\r' || *value == '\n') {
			col = 0;
			continue;
		}
		if (++col > longest)
			longest = col;
	}
	return longest;
}

/* Seals the message under the suite's set as the suite says, compares. */
static void seal_scenario(const char *name, long t, const char *hlist, const char *srv)
{
	size_t len, off;
	char *raw = vector(name, &len), *hcopy = strdup(hlist), *save = NULL, *h;
	const char *names[32];
	size_t nnames = 0;
	dkim_options opts;
	dkim_error err;
	dkim_msg *msg;
	dkim_arc_seal_params sp;
	char *key_path = testkey_data_path("arc/privatekey.pem");
	dkim_privkey *key = dkim_privkey_load_file(key_path, &err);
	int calls = 0;
	unsigned k;

	cr_assert_not_null(key, "%s", err.message);
	for (h = strtok_r(hcopy, ":", &save); h && nnames < 32; h = strtok_r(NULL, ":", &save))
		names[nnames++] = h;
	off = skip_fields(raw, 3);   /* the suite's set, on top */
	dkim_options_init(&opts);
	opts.now = t;
	msg = dkim_msg_new(&opts, &err);
	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_arc_verify(msg, arc_lookup, &calls, &err), DKIM_OK);
	memset(&sp, 0, sizeof(sp));
	sp.key = key;
	sp.alg = DKIM_ALG_RSA_SHA256;
	sp.domain = "example.org";
	sp.selector = "dummy";
	sp.authserv_id = srv;
	sp.headers = names;
	sp.nheaders = nnames;
	cr_assert_eq(dkim_msg_arc_seal(msg, &sp, &err), DKIM_OK, "%s", err.message);
	cr_assert_eq(dkim_msg_feed_raw(msg, raw + off, len - off, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	for (k = 0; k < 3; k++) {
		/* the file has AS, AMS, AAR on top; the API numbers AAR, AMS, AS */
		const char *ours = dkim_msg_arc_seal_field(msg, (dkim_arc_field)(2 - k));
		char *want = field_nows(raw, k), *got;

		cr_assert_not_null(ours, "%s: no field %u", name, k);
		got = nows(ours);
		cr_expect_str_eq(got, want, "%s: field %u", name, k);
		/* the seal's b= is cut to fit lines (RFC 5322 §2.1.1) */
		if (k == 0)
			cr_expect_leq(longest_line("ARC-Seal", ours), 78, "%s: %s", name, ours);
		free(got);
		free(want);
	}
	dkim_msg_free(msg);
	dkim_privkey_free(key);
	free(key_path);
	free(hcopy);
	free(raw);
}

Test(arc_seal, suite_scenarios_reproduce_the_expected_sets)
{
	char *list = testkey_read_data("arc/vectors.txt", NULL), *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], hlist[256], srv[128];
		long t;

		cr_assert_eq(sscanf(line, "%63s %ld %255s %127s", name, &t, hlist, srv), 4);
		if (strcmp(name, "no_additional_sig") == 0)
			continue;   /* below */
		seal_scenario(name, t, hlist, srv);
		n++;
	}
	cr_expect_eq(n, 16);
	free(list);
}

Test(arc_seal, no_set_over_a_chain_that_says_cv_fail)
{
	size_t len;
	char *raw = vector("no_additional_sig", &len);
	char *key_path = testkey_data_path("arc/privatekey.pem");
	dkim_error err;
	dkim_privkey *key = dkim_privkey_load_file(key_path, &err);
	const char *names[] = { "from" };
	dkim_arc_seal_params sp = { .key = key, .alg = DKIM_ALG_RSA_SHA256,
	                            .domain = "example.org", .selector = "dummy",
	                            .authserv_id = "lists.example.org",
	                            .headers = names, .nheaders = 1 };
	dkim_msg *msg = dkim_msg_new(NULL, &err);
	int calls = 0;

	cr_assert_not_null(key);
	cr_assert_eq(dkim_msg_arc_verify(msg, arc_lookup, &calls, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_arc_seal(msg, &sp, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_feed_raw(msg, raw, len, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK);
	cr_expect_eq(dkim_msg_arc_result(msg, NULL, NULL), DKIM_ARC_FAIL);
	cr_expect_null(dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AS));
	cr_expect_null(dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AMS));
	cr_expect_null(dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AAR));
	dkim_msg_free(msg);
	dkim_privkey_free(key);
	free(key_path);
	free(raw);
}

/* ---- sealing with our own keys: Ed25519, the caller's AAR, times --------------- */

/* One key record served for every query (the sealer's own). */
static void own_lookup(void *ctx, dkim_key_query *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		q[i].key = dkim_pubkey_parse(ctx, strlen(ctx), NULL);
		cr_assert_not_null(q[i].key);
		q[i].status = DKIM_LOOKUP_FOUND;
	}
}

static const char plain_msg[] =
	"From: Alice <alice@example.com>\r\nTo: list@example.org\r\n"
	"Subject: hello\r\nDate: Sun, 22 Nov 2026 00:00:00 +0000\r\n\r\n"
	"Hi all,\r\nthis goes through a list.\r\n";

static char *caller_results(void *arg, const dkim_msg *msg)
{
	(void)msg;
	return strdup(arg);
}

/* Seals raw at now with key/alg; returns raw with the new set on top. */
static char *seal_with(const char *raw, dkim_privkey *key, dkim_alg alg, const char *rec,
                       uint64_t now, const dkim_arc_seal_params *extra)
{
	const char *names[] = { "from", "to", "subject", "date" };
	dkim_arc_seal_params sp = { .key = key, .alg = alg, .domain = "example.org",
	                            .selector = "own", .authserv_id = "lists.example.org",
	                            .headers = names, .nheaders = 4 };
	dkim_options opts;
	dkim_error err;
	dkim_msg *msg;
	char *out = NULL;

	if (extra != NULL) {
		sp.results = extra->results;
		sp.results_arg = extra->results_arg;
		sp.cv_given = extra->cv_given;
		sp.cv = extra->cv;
	}
	dkim_options_init(&opts);
	opts.now = now;
	msg = dkim_msg_new(&opts, &err);
	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_arc_verify(msg, own_lookup, (void *)rec, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_arc_seal(msg, &sp, &err), DKIM_OK, "%s", err.message);
	cr_assert_eq(dkim_msg_feed_raw(msg, raw, strlen(raw), &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	cr_assert_not_null(dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AS));
	cr_assert(asprintf(&out, "ARC-Seal: %s\r\nARC-Message-Signature: %s\r\n"
	                   "ARC-Authentication-Results: %s\r\n%s",
	                   dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AS),
	                   dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AMS),
	                   dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AAR), raw) > 0);
	dkim_msg_free(msg);
	return out;
}

static dkim_arc_result validate_own(const char *raw, const char *rec, uint64_t now)
{
	dkim_options opts;
	dkim_error err;
	dkim_msg *msg;
	dkim_arc_result r;

	dkim_options_init(&opts);
	opts.now = now;
	msg = dkim_msg_new(&opts, &err);
	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_arc_verify(msg, own_lookup, (void *)rec, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_feed_raw(msg, raw, strlen(raw), &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	r = dkim_msg_arc_result(msg, NULL, NULL);
	dkim_msg_free(msg);
	return r;
}

/* RFC 8463 keys seal as they sign: two hops, both ed25519-sha256. */
Test(arc_seal, ed25519_two_hops_validate)
{
	char *rec = NULL;
	dkim_privkey *key = testkey_new(DKIM_KEY_ED25519, 0, &rec);
	char *one = seal_with(plain_msg, key, DKIM_ALG_ED25519_SHA256, rec, 1000, NULL);
	char *two;

	cr_assert_not_null(strstr(one, "ARC-Seal: a=ed25519-sha256;"));
	cr_expect_eq(validate_own(one, rec, 1000), DKIM_ARC_PASS);
	two = seal_with(one, key, DKIM_ALG_ED25519_SHA256, rec, 1100, NULL);
	cr_assert_not_null(strstr(two, "cv=pass"));
	cr_expect_eq(validate_own(two, rec, 1100), DKIM_ARC_PASS);
	free(two);
	free(one);
	free(rec);
	dkim_privkey_free(key);
}

/* The caller's own Authentication-Results make the AAR; its cv= is used
 * over a complete chain (the list judged it on arrival). */
Test(arc_seal, caller_results_and_cv)
{
	char *rec = NULL;
	dkim_privkey *key = testkey_new(DKIM_KEY_RSA, 1024, &rec);
	dkim_arc_seal_params extra = { .results = caller_results,
	                               .results_arg = "lists.example.org; dkim=pass" };
	char *one = seal_with(plain_msg, key, DKIM_ALG_RSA_SHA256, rec, 1000, &extra);
	char *changed, *two, *p;

	cr_assert_not_null(strstr(one, "ARC-Authentication-Results: i=1; lists.example.org; dkim=pass\r\n"));
	/* the list changes the body; the caller says the chain passed on arrival */
	changed = strdup(one);
	p = strstr(changed, "this goes");
	cr_assert_not_null(p);
	memcpy(p, "THIS GOES", 9);
	cr_expect_eq(validate_own(changed, rec, 1000), DKIM_ARC_FAIL);
	extra.cv_given = true;
	extra.cv = DKIM_ARC_PASS;
	two = seal_with(changed, key, DKIM_ALG_RSA_SHA256, rec, 1100, &extra);
	cr_assert_not_null(strstr(two, "cv=pass"));
	/* the newest AMS covers the changed body; the seals cover the sets */
	cr_expect_eq(validate_own(two, rec, 1100), DKIM_ARC_PASS);
	free(two);
	free(changed);
	free(one);
	free(rec);
	dkim_privkey_free(key);
}

/* t= in the future beyond ClockDrift (300 s) does not validate, as in
 * dkimpy (arc_time_valid); within it, it does. */
Test(arc_tamper, seal_from_the_future)
{
	char *rec = NULL;
	dkim_privkey *key = testkey_new(DKIM_KEY_ED25519, 0, &rec);
	char *one = seal_with(plain_msg, key, DKIM_ALG_ED25519_SHA256, rec, 100000, NULL);

	cr_expect_eq(validate_own(one, rec, 100000 - 200), DKIM_ARC_PASS);
	cr_expect_eq(validate_own(one, rec, 100000 - 3600), DKIM_ARC_FAIL);
	free(one);
	free(rec);
	dkim_privkey_free(key);
}
