/*
 * test_msg.c - the message engine (libdkim/msg.c): sign -> verify round
 * trips for every algorithm and canonicalization, chunking, oversigning,
 * tampering, l=, x=/t=, key record checks, lookup batching and limits,
 * and the cause (dkim_cause) each kind of result carries.
 *
 * Keys: the fixed ones of tests/data/keys (see testkeys.h); the lookup is a
 * table in memory.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"
#include "testkeys.h"

#define NOW 1700000000

static const char message[] =
	"From: Alice <alice@example.com>\r\n"
	"To: Bob <bob@example.net>\r\n"
	"Subject: Hello\r\n\tthere,  folded\r\n"
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	"Message-ID: <1@example.com>\r\n"
	"\r\n"
	"Body line one.  with  spaces \r\n"
	"\r\n"
	"line three\t\r\n"
	"\r\n"
	"\r\n";

static const char *const std_headers[] = {
	"From", "To", "Subject", "Date", "Message-ID", "Reply-To",
};

/* ---- an in-memory DNS ------------------------------------------------------------ */

typedef struct {
	const char *domain, *selector;
	const char *record;          /* NULL: status below */
	dkim_lookup_status status;
} fake_key;

typedef struct {
	fake_key keys[8];
	size_t nkeys;
	int calls;
	size_t queries;
} fake_dns;

static void fake_answer(const fake_key *k, dkim_key_query *q)
{
	dkim_error err;

	q->status = k->status;
	snprintf(q->reason, sizeof(q->reason), "fake dns says no");
	if (k->record == NULL)
		return;
	q->key = dkim_pubkey_parse(k->record, strlen(k->record), &err);
	q->status = q->key ? DKIM_LOOKUP_FOUND : DKIM_LOOKUP_PERMFAIL;
	if (q->key == NULL)
		snprintf(q->reason, sizeof(q->reason), "%.100s", err.message);
}

static void fake_lookup(void *ctx, dkim_key_query *q, size_t n)
{
	fake_dns *dns = ctx;
	size_t i, k;

	dns->calls++;
	dns->queries += n;
	for (i = 0; i < n; i++) {
		q[i].status = DKIM_LOOKUP_NOTFOUND;
		for (k = 0; k < dns->nkeys; k++)
			if (strcasecmp(q[i].domain, dns->keys[k].domain) == 0 &&
			    strcasecmp(q[i].selector, dns->keys[k].selector) == 0)
				fake_answer(&dns->keys[k], &q[i]);
	}
}

static char *record_of(const char *file)
{
	size_t len;
	char *rec = testkey_read_data(file, &len);

	while (len > 0 && (rec[len - 1] == '\n' || rec[len - 1] == '\r'))
		rec[--len] = '\0';
	return rec;
}

/* ---- keys -------------------------------------------------------------------------- */

static dkim_privkey *rsa_key, *ed_key;
static char *rsa_record, *ed_record;

static dkim_privkey *load_key(const char *file)
{
	size_t len;
	char *pem = testkey_read_data(file, &len);
	dkim_error err;
	dkim_privkey *key = dkim_privkey_load(pem, len, &err);

	cr_assert_not_null(key, "%s: %s", file, err.message);
	free(pem);
	return key;
}

static void keys_setup(void)
{
	rsa_key = load_key("keys/rsa2048.pem");
	ed_key = load_key("keys/ed25519.pem");
	rsa_record = record_of("keys/rsa2048.txt");
	ed_record = record_of("keys/ed25519.txt");
}

static void keys_teardown(void)
{
	dkim_privkey_free(rsa_key);
	dkim_privkey_free(ed_key);
	free(rsa_record);
	free(ed_record);
}

TestSuite(msg, .init = keys_setup, .fini = keys_teardown);

static fake_dns dns_with_keys(void)
{
	fake_dns dns;

	memset(&dns, 0, sizeof(dns));
	dns.keys[0] = (fake_key){ "example.com", "rsa", rsa_record, DKIM_LOOKUP_FOUND };
	dns.keys[1] = (fake_key){ "example.com", "ed", ed_record, DKIM_LOOKUP_FOUND };
	dns.nkeys = 2;
	return dns;
}

/* ---- signing and verifying ----------------------------------------------------------- */

static dkim_sign_params params(dkim_alg alg, dkim_canon hc, dkim_canon bc)
{
	dkim_sign_params p;

	memset(&p, 0, sizeof(p));
	p.key = alg == DKIM_ALG_ED25519_SHA256 ? ed_key : rsa_key;
	p.alg = alg;
	p.domain = "example.com";
	p.selector = alg == DKIM_ALG_ED25519_SHA256 ? "ed" : "rsa";
	p.header_canon = hc;
	p.body_canon = bc;
	p.headers = std_headers;
	p.nheaders = sizeof(std_headers) / sizeof(std_headers[0]);
	p.timestamp = true;
	return p;
}

static dkim_options opts_at(time_t now)
{
	dkim_options o;

	dkim_options_init(&o);
	o.now = now;
	return o;
}

/* Signs text (a whole message) and returns it with the signature on top. */
static char *sign_text(const dkim_sign_params *p, const char *text, time_t now)
{
	dkim_options o = opts_at(now);
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(&o, &err);
	char *out;

	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_add_signer(msg, p, &err), 0, "%s", err.message);
	cr_assert_eq(dkim_msg_feed_raw(msg, text, strlen(text), &err), DKIM_OK, "%s",
	             err.message);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	cr_assert(asprintf(&out, "DKIM-Signature: %s\r\n%s",
	                   dkim_msg_signature(msg, 0, "\r\n"), text) > 0);
	dkim_msg_free(msg);
	return out;
}

/* Verifies text fed in chunks of chunk bytes (0: at once). */
static dkim_msg *verify_text(const char *text, size_t chunk, fake_dns *dns,
                             const dkim_options *o)
{
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(o, &err);
	size_t len = strlen(text), off;

	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_verify(msg, fake_lookup, dns, &err), DKIM_OK);
	if (chunk == 0)
		chunk = len;
	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		cr_assert_eq(dkim_msg_feed_raw(msg, text + off, n, &err), DKIM_OK, "%s",
		             err.message);
	}
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	return msg;
}

/* The result of the only (or first) signature of text. */
static dkim_sig_result verify_one(const char *text, time_t now, fake_dns *dns)
{
	dkim_options o = opts_at(now);
	dkim_msg *msg = verify_text(text, 0, dns, &o);
	dkim_sig_result r;

	cr_assert_geq(dkim_msg_result_count(msg), 1);
	r = *dkim_msg_result(msg, 0);
	/* the strings belong to msg: keep only what the tests compare */
	r.domain = r.identity = r.selector = r.algorithm = r.b = NULL;
	r.reason = strdup(r.reason);
	dkim_msg_free(msg);
	return r;
}

#define expect_result(r, want, text)                                              \
	do {                                                                      \
		cr_expect_eq((r).result, (want), "got %s (%s) for:\n%s",            \
		             dkim_result_name((r).result), (r).reason, (text));     \
	} while (0)

static void expect_reason(dkim_sig_result r, dkim_result want, const char *reason,
                          const char *text)
{
	expect_result(r, want, text);
	cr_expect(strstr(r.reason, reason) != NULL, "reason \"%s\" lacks \"%s\"", r.reason,
	          reason);
	free((char *)r.reason);
}

/* ---- round trips ------------------------------------------------------------------------ */

Test(msg, round_trip_every_alg_and_canon)
{
	static const dkim_alg algs[] = { DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256 };
	size_t a;
	int hc, bc;

	for (a = 0; a < 2; a++) {
		for (hc = 0; hc < 2; hc++) {
			for (bc = 0; bc < 2; bc++) {
				dkim_sign_params p = params(algs[a], hc, bc);
				char *signed_text = sign_text(&p, message, NOW);
				fake_dns dns = dns_with_keys();
				dkim_options o = opts_at(NOW + 5);
				dkim_msg *msg = verify_text(signed_text, 0, &dns, &o);
				const dkim_sig_result *r = dkim_msg_result(msg, 0);

				cr_expect_eq(r->result, DKIM_RESULT_PASS, "%s %d/%d: %s",
				             dkim_alg_name(algs[a]), hc, bc, r->reason);
				cr_expect_str_eq(r->domain, "example.com");
				cr_expect_str_eq(r->identity, "@example.com");
				cr_expect_str_eq(r->selector, p.selector);
				cr_expect_str_eq(r->algorithm, dkim_alg_name(algs[a]));
				cr_expect_eq(r->key_bits, a == 0 ? 2048u : 256u);
				cr_expect_eq(dns.calls, 1);
				dkim_msg_free(msg);
				free(signed_text);
			}
		}
	}
}

/* Two signers share one body hash; the milter gets "\n" folding if it asks. */
Test(msg, two_signers_and_eol)
{
	dkim_sign_params p1 = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	dkim_sign_params p2 = params(DKIM_ALG_ED25519_SHA256, DKIM_CANON_RELAXED,
	                             DKIM_CANON_RELAXED);
	dkim_options o = opts_at(NOW);
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(&o, &err);
	const char *lf, *crlf;
	char *text;
	fake_dns dns = dns_with_keys();
	dkim_msg *v;

	p2.identity = "alice@mail.example.com";
	cr_assert_eq(dkim_msg_add_signer(msg, &p1, &err), 0);
	cr_assert_eq(dkim_msg_add_signer(msg, &p2, &err), 1);
	cr_assert_eq(dkim_msg_feed_raw(msg, message, strlen(message), &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	crlf = dkim_msg_signature(msg, 1, "\r\n");
	lf = dkim_msg_signature(msg, 1, "\n");
	cr_assert(lf && crlf);
	cr_expect(strstr(lf, "\r") == NULL && strstr(lf, "\n\t") != NULL, "%s", lf);
	cr_expect_null(dkim_msg_signature(msg, 2, "\n"));
	cr_expect_null(dkim_msg_signature(msg, -1, "\n"));
	cr_assert(asprintf(&text, "DKIM-Signature: %s\nDKIM-Signature: %s\n%s",
	                   dkim_msg_signature(msg, 0, "\n"), lf, message) > 0);
	v = verify_text(text, 0, &dns, &o);
	cr_assert_eq(dkim_msg_result_count(v), 2);
	cr_expect_eq(dkim_msg_result(v, 0)->result, DKIM_RESULT_PASS);
	cr_expect_eq(dkim_msg_result(v, 1)->result, DKIM_RESULT_PASS, "%s",
	             dkim_msg_result(v, 1)->reason);
	cr_expect_str_eq(dkim_msg_result(v, 1)->identity, "alice@mail.example.com");
	cr_expect_eq(dns.calls, 1);
	cr_expect_eq(dns.queries, 2);
	dkim_msg_free(v);
	dkim_msg_free(msg);
	free(text);
}

/* Whatever the chunking, the same results. */
Test(msg, chunk_splitting_invariance)
{
	dkim_sign_params p = params(DKIM_ALG_ED25519_SHA256, DKIM_CANON_RELAXED,
	                            DKIM_CANON_SIMPLE);
	char *signed_text = sign_text(&p, message, NOW);
	size_t chunk;

	for (chunk = 1; chunk < 40; chunk++) {
		fake_dns dns = dns_with_keys();
		dkim_options o = opts_at(NOW);
		dkim_msg *msg = verify_text(signed_text, chunk, &dns, &o);

		cr_expect_eq(dkim_msg_result(msg, 0)->result, DKIM_RESULT_PASS, "chunk %zu: %s",
		             chunk, dkim_msg_result(msg, 0)->reason);
		dkim_msg_free(msg);
	}
	free(signed_text);
}

/* The milter path: name + value with "\n" folding, body in pieces. */
Test(msg, milter_style_feed)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE);
	dkim_options o = opts_at(NOW);
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(&o, &err);
	fake_dns dns = dns_with_keys();
	char *text;
	dkim_sig_result r;

	cr_assert_eq(dkim_msg_add_signer(msg, &p, &err), 0);
	cr_assert_eq(dkim_msg_header(msg, "From", " Alice <alice@example.com>", &err), DKIM_OK);
	cr_assert_eq(dkim_msg_header(msg, "To", " Bob <bob@example.net>", &err), DKIM_OK);
	cr_assert_eq(dkim_msg_header(msg, "Subject", " Hello\n\tthere,  folded", &err), DKIM_OK);
	cr_assert_eq(dkim_msg_header(msg, "Date", " Tue, 14 Nov 2023 22:13:20 +0000", &err),
	             DKIM_OK);
	cr_assert_eq(dkim_msg_header(msg, "Message-ID", " <1@example.com>", &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eoh(msg, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_body(msg, "Body line one.  with  spaces \n", 30, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_body(msg, "\nline three\t\r", 13, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_body(msg, "\n\r\n\r\n", 5, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	cr_assert(asprintf(&text, "DKIM-Signature: %s\r\n%s", dkim_msg_signature(msg, 0, "\r\n"),
	                   message) > 0);
	r = verify_one(text, NOW, &dns);
	expect_reason(r, DKIM_RESULT_PASS, "", text);
	dkim_msg_free(msg);
	free(text);
}

/* Headers only, then the end of headers (the milter's end-of-headers step). */
static dkim_msg *verify_headers(const char *const *sigs, size_t n, fake_dns *dns)
{
	dkim_options o = opts_at(NOW);
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(&o, &err);

	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_verify(msg, fake_lookup, dns, &err), DKIM_OK);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(dkim_msg_header(msg, "DKIM-Signature", sigs[i], &err), DKIM_OK);
	cr_assert_eq(dkim_msg_header(msg, "From", " Alice <alice@example.com>", &err), DKIM_OK);
	cr_assert_eq(dkim_msg_eoh(msg, &err), DKIM_OK);
	return msg;
}

/* What the end of headers knows: signatures that do not parse are final
 * there, before any lookup, with their reason and the tags that parsed. */
Test(msg, eoh_unparsable)
{
	static const char *const bad[] = {
		" v=1; a=rsa-sha256; d=example.com; s=sel; garbage; h=from; bh=AAAA; b=AAAA",
		" v=1 a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
	};
	static const char *const good = " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from;"
	                                " bh=AAAA; b=AAAA";
	const char *const mixed[] = { bad[0], good };
	fake_dns dns = dns_with_keys();
	const dkim_sig_result *top;
	dkim_error err;
	dkim_msg *msg = verify_headers(bad, 2, &dns);

	cr_assert(dkim_msg_eoh_unparsable(msg, &top));
	cr_assert_not_null(top);
	cr_expect_eq(top->result, DKIM_RESULT_PERMERROR);
	cr_expect_eq(top->cause, DKIM_CAUSE_SIG_SYNTAX);
	cr_expect(strstr(top->reason, "garbage") != NULL, "%s", top->reason);
	cr_expect_eq(dns.calls, 0, "no lookup for junk");
	/* what the end of the message then says: the same */
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK);
	cr_expect_eq(dkim_msg_result(msg, 0)->cause, DKIM_CAUSE_SIG_SYNTAX);
	cr_expect_eq(dkim_msg_result(msg, 1)->cause, DKIM_CAUSE_SIG_SYNTAX);
	dkim_msg_free(msg);
	/* one signature that parses: the body and a key may still decide */
	msg = verify_headers(mixed, 2, &dns);
	cr_expect_not(dkim_msg_eoh_unparsable(msg, &top));
	cr_expect_null(top);
	dkim_msg_free(msg);
	msg = verify_headers(NULL, 0, &dns);
	cr_expect_not(dkim_msg_eoh_unparsable(msg, NULL), "unsigned");
	dkim_msg_free(msg);
}

/* ---- oversigning and tampering ----------------------------------------------------------- */

static char *insert_after_headers(const char *signed_text, const char *field)
{
	const char *eoh = strstr(signed_text, "\r\n\r\n");
	char *out;

	cr_assert(asprintf(&out, "%.*s\r\n%s%s", (int)(eoh - signed_text), signed_text, field,
	                   eoh + 2) > 0);
	return out;
}

Test(msg, oversigning)
{
	/* Reply-To is listed but absent: hashed as nothing; adding one breaks it. */
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	static const char *const over[] = { "From", "Subject", "Subject", "Reply-To", "From" };
	char *signed_text, *added, *added2;
	fake_dns dns = dns_with_keys();

	p.headers = over;
	p.nheaders = 5;
	signed_text = sign_text(&p, message, NOW);
	expect_reason(verify_one(signed_text, NOW, &dns), DKIM_RESULT_PASS, "", signed_text);
	added = insert_after_headers(signed_text, "Reply-To: mallory@evil.example\r\n");
	expect_reason(verify_one(added, NOW, &dns), DKIM_RESULT_FAIL, "signature", added);
	added2 = insert_after_headers(signed_text, "Subject: Another subject\r\n");
	expect_reason(verify_one(added2, NOW, &dns), DKIM_RESULT_FAIL, "signature", added2);
	free(added);
	free(added2);
	free(signed_text);
}

/* A header that is not signed may be added without breaking anything. */
Test(msg, unsigned_header_added)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE);
	char *signed_text = sign_text(&p, message, NOW);
	char *added = insert_after_headers(signed_text, "X-Spam: no\r\n");
	fake_dns dns = dns_with_keys();

	expect_reason(verify_one(added, NOW, &dns), DKIM_RESULT_PASS, "", added);
	free(added);
	free(signed_text);
}

static void tamper(const char *find, const char *repl, dkim_cause cause,
                   dkim_canon hc, dkim_canon bc)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, hc, bc);
	char *signed_text = sign_text(&p, message, NOW);
	char *at = strstr(signed_text, find);
	fake_dns dns = dns_with_keys();
	dkim_sig_result r;

	cr_assert_not_null(at, "%s", find);
	memcpy(at, repl, strlen(repl));
	r = verify_one(signed_text, NOW, &dns);
	cr_expect_eq(r.cause, cause);
	expect_reason(r, DKIM_RESULT_FAIL,
	              cause == DKIM_CAUSE_BODY_HASH ? "body hash did not verify"
	                                          : "signature verification failed",
	              signed_text);
	free(signed_text);
}

Test(msg, tampering)
{
	tamper("Hello", "Jello", DKIM_CAUSE_SIGNATURE, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	tamper("Hello", "Jello", DKIM_CAUSE_SIGNATURE, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE);
	tamper("bob@", "rob@", DKIM_CAUSE_SIGNATURE, DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED);
	tamper("line three", "line thref", DKIM_CAUSE_BODY_HASH, DKIM_CANON_SIMPLE,
	       DKIM_CANON_SIMPLE);
	tamper("line three", "line thref", DKIM_CAUSE_BODY_HASH, DKIM_CANON_RELAXED,
	       DKIM_CANON_RELAXED);
	/* whitespace change: simple notices, relaxed does not */
	tamper("with  spaces", "with \tspaces", DKIM_CAUSE_BODY_HASH, DKIM_CANON_RELAXED,
	       DKIM_CANON_SIMPLE);
}

Test(msg, relaxed_tolerates_whitespace)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text = sign_text(&p, message, NOW);
	char *at = strstr(signed_text, "with  spaces");
	fake_dns dns = dns_with_keys();

	memcpy(at, "with \t", 6);
	expect_reason(verify_one(signed_text, NOW, &dns), DKIM_RESULT_PASS, "", signed_text);
	free(signed_text);
}

Test(msg, multiple_or_no_from)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text = sign_text(&p, message, NOW);
	char *two = insert_after_headers(signed_text, "From: mallory@evil.example\r\n");
	char *none = strdup(signed_text);
	fake_dns dns = dns_with_keys();

	expect_reason(verify_one(two, NOW, &dns), DKIM_RESULT_PERMERROR, "multiple From fields",
	              two);
	memcpy(strstr(none, "\r\nFrom:") + 2, "Xrom", 4);
	expect_reason(verify_one(none, NOW, &dns), DKIM_RESULT_PERMERROR, "no From", none);
	cr_expect_eq(dns.calls, 0, "no lookup for a message that cannot pass");
	free(two);
	free(none);
	free(signed_text);
}

/* ---- l= ----------------------------------------------------------------------------------- */

Test(msg, body_length)
{
	dkim_sign_params p = params(DKIM_ALG_ED25519_SHA256, DKIM_CANON_SIMPLE,
	                            DKIM_CANON_SIMPLE);
	char *signed_text, *appended, *cut, *eol;
	fake_dns dns = dns_with_keys();

	p.body_length = true;
	signed_text = sign_text(&p, message, NOW);
	/* simple body: trailing empty lines are not counted (46 bytes) */
	cr_expect_not_null(strstr(signed_text, "l=46;"), "%s", signed_text);
	expect_reason(verify_one(signed_text, NOW, &dns), DKIM_RESULT_PASS, "", signed_text);
	/* content after l= is not covered */
	cr_assert(asprintf(&appended, "%sAppended by a list\r\n", signed_text) > 0);
	expect_reason(verify_one(appended, NOW, &dns), DKIM_RESULT_PASS, "", appended);
	/* a body shorter than l= */
	cut = strdup(signed_text);
	eol = strstr(cut, "line three");
	strcpy(eol, "line\r\n");
	expect_reason(verify_one(cut, NOW, &dns), DKIM_RESULT_PERMERROR, "l= exceeds body length",
	              cut);
	free(appended);
	free(cut);
	free(signed_text);
}

/* ---- time --------------------------------------------------------------------------------- */

Test(msg, expiry_and_future)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text;
	fake_dns dns = dns_with_keys();

	p.expire_after = 3600;
	signed_text = sign_text(&p, message, NOW);
	cr_expect_not_null(strstr(signed_text, "x=1700003600;"));
	expect_reason(verify_one(signed_text, NOW + 3600, &dns), DKIM_RESULT_PASS, "", signed_text);
	/* within the clock drift (300 s) */
	expect_reason(verify_one(signed_text, NOW + 3900, &dns), DKIM_RESULT_PASS, "", signed_text);
	expect_reason(verify_one(signed_text, NOW + 3901, &dns), DKIM_RESULT_PERMERROR,
	              "signature expired", signed_text);
	expect_reason(verify_one(signed_text, NOW - 300, &dns), DKIM_RESULT_PASS, "", signed_text);
	expect_reason(verify_one(signed_text, NOW - 301, &dns), DKIM_RESULT_PERMERROR, "future",
	              signed_text);
	free(signed_text);
}

/* ---- key records ----------------------------------------------------------------------------- */

static void with_record(const char *record, dkim_lookup_status status, dkim_alg alg,
                        dkim_result want, const char *reason, const char *identity)
{
	dkim_sign_params p = params(alg, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text;
	fake_dns dns;

	memset(&dns, 0, sizeof(dns));
	dns.keys[0] = (fake_key){ "example.com", p.selector, record, status };
	dns.nkeys = 1;
	p.identity = identity;
	signed_text = sign_text(&p, message, NOW);
	expect_reason(verify_one(signed_text, NOW, &dns), want, reason, signed_text);
	cr_expect_eq(dns.calls, 1);
	free(signed_text);
}

static char *record_with(const char *base, const char *extra)
{
	char *out;

	cr_assert(asprintf(&out, "%s; %s", base, extra) > 0);
	return out;
}

Test(msg, key_records)
{
	char *sha1_only = record_with(rsa_record, "h=sha1");
	char *sha256 = record_with(rsa_record, "h=sha1:sha256");
	char *other = record_with(rsa_record, "s=other");
	char *strict = record_with(rsa_record, "t=s");
	char *testing = record_with(ed_record, "t=y");
	dkim_sig_result r;
	char *signed_text;
	fake_dns dns;

	with_record(NULL, DKIM_LOOKUP_NOTFOUND, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PERMERROR,
	            "no key for signature", NULL);
	with_record(NULL, DKIM_LOOKUP_TEMPFAIL, DKIM_ALG_RSA_SHA256, DKIM_RESULT_TEMPERROR,
	            "fake dns says no", NULL);
	with_record(NULL, DKIM_LOOKUP_PERMFAIL, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PERMERROR,
	            "fake dns says no", NULL);
	with_record("v=DKIM1; k=rsa; p=", DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256,
	            DKIM_RESULT_FAIL, "key revoked", NULL);
	with_record(ed_record, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PERMERROR,
	            "key type", NULL);
	with_record(sha1_only, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PERMERROR,
	            "h=", NULL);
	with_record(sha256, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PASS, "", NULL);
	with_record(other, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PERMERROR,
	            "s=", NULL);
	with_record(strict, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PERMERROR,
	            "t=s", "a@sub.example.com");
	with_record(strict, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, DKIM_RESULT_PASS, "",
	            "a@example.com");

	/* t=y: still verified, flagged */
	memset(&dns, 0, sizeof(dns));
	dns.keys[0] = (fake_key){ "example.com", "ed", testing, DKIM_LOOKUP_FOUND };
	dns.nkeys = 1;
	{
		dkim_sign_params p = params(DKIM_ALG_ED25519_SHA256, 0, 0);

		signed_text = sign_text(&p, message, NOW);
	}
	r = verify_one(signed_text, NOW, &dns);
	cr_expect(r.testing);
	expect_reason(r, DKIM_RESULT_PASS, "", signed_text);
	free(signed_text);
	free(sha1_only);
	free(sha256);
	free(other);
	free(strict);
	free(testing);
}

Test(msg, small_key_is_policy)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text = sign_text(&p, message, NOW);
	fake_dns dns = dns_with_keys();
	dkim_options o = opts_at(NOW);
	dkim_msg *msg;

	o.min_key_bits = 4096;
	msg = verify_text(signed_text, 0, &dns, &o);
	cr_expect_eq(dkim_msg_result(msg, 0)->result, DKIM_RESULT_POLICY);
	cr_expect_str_eq(dkim_msg_result(msg, 0)->reason, "key too small (2048 bits)");
	cr_expect_eq(dkim_msg_result(msg, 0)->key_bits, 2048);
	dkim_msg_free(msg);
	free(signed_text);
}

/* rsa-sha1 is reported, never accepted, and costs no lookup. */
Test(msg, rsa_sha1_is_policy)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text = sign_text(&p, message, NOW);
	char *a = strstr(signed_text, "a=rsa-sha256;");
	char *text;
	fake_dns dns = dns_with_keys();

	cr_assert_not_null(a);
	cr_assert(asprintf(&text, "%.*sa=rsa-sha1;%s", (int)(a - signed_text), signed_text,
	                   a + strlen("a=rsa-sha256;")) > 0);
	expect_reason(verify_one(text, NOW, &dns), DKIM_RESULT_POLICY,
	              "rsa-sha1 is not accepted (RFC 8301)", text);
	cr_expect_eq(dns.calls, 0);
	free(text);
	free(signed_text);
}

/* ---- malformed signatures --------------------------------------------------------------- */

Test(msg, malformed_signatures_are_permerrors)
{
	static const char *const bad[] = {
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; bh=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=To; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; bh=AAAA; b=AAAA; i=x@example.org",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; bh=AAAA; b=AAAA; l=x",
		"v=1; a=foo; d=example.com; s=rsa; h=From; bh=AAAA; b=AAAA",
		"garbage",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text;
		fake_dns dns = dns_with_keys();
		dkim_sig_result r;

		cr_assert(asprintf(&text, "DKIM-Signature: %s\r\n%s", bad[i], message) > 0);
		r = verify_one(text, NOW, &dns);
		cr_expect_eq(r.result, DKIM_RESULT_PERMERROR, "%s", bad[i]);
		cr_expect(r.reason[0] != '\0', "no reason for %s", bad[i]);
		cr_expect_eq(dns.calls, 0);
		free((char *)r.reason);
		free(text);
	}
}

/* A malformed signature does not stop the next one. */
Test(msg, malformed_then_good)
{
	dkim_sign_params p = params(DKIM_ALG_ED25519_SHA256, DKIM_CANON_RELAXED,
	                            DKIM_CANON_RELAXED);
	char *signed_text = sign_text(&p, message, NOW), *text;
	fake_dns dns = dns_with_keys();
	dkim_options o = opts_at(NOW);
	dkim_msg *msg;

	cr_assert(asprintf(&text, "DKIM-Signature: v=1; a=rsa-sha256; d=example.com\r\n%s",
	                   signed_text) > 0);
	msg = verify_text(text, 0, &dns, &o);
	cr_assert_eq(dkim_msg_result_count(msg), 2);
	cr_expect_eq(dkim_msg_result(msg, 0)->result, DKIM_RESULT_PERMERROR);
	cr_expect_str_eq(dkim_msg_result(msg, 0)->domain, "example.com");
	cr_expect_null(dkim_msg_result(msg, 0)->selector);
	cr_expect_eq(dkim_msg_result(msg, 1)->result, DKIM_RESULT_PASS);
	cr_expect_null(dkim_msg_result(msg, 2));
	dkim_msg_free(msg);
	free(text);
	free(signed_text);
}

/* ---- limits ------------------------------------------------------------------------------- */

Test(msg, hundreds_of_signatures)
{
	dkim_buf text;
	dkim_options o = opts_at(NOW);
	fake_dns dns = dns_with_keys();
	dkim_msg *msg;
	size_t i;

	dkim_buf_init(&text);
	for (i = 0; i < 300; i++)
		dkim_buf_printf(&text, "DKIM-Signature: v=1; a=rsa-sha256; d=example.com;"
		                " s=sel%zu; h=From; bh=AAAA; b=AAAA\r\n", i);
	dkim_buf_append_str(&text, message);
	msg = verify_text(text.data, 0, &dns, &o);
	cr_assert_eq(dkim_msg_result_count(msg), 300);
	cr_expect_eq(dns.calls, 1);
	cr_expect_eq(dns.queries, o.max_signatures);
	for (i = 0; i < 300; i++) {
		const dkim_sig_result *r = dkim_msg_result(msg, i);

		if (i < o.max_signatures) {
			cr_expect_eq(r->result, DKIM_RESULT_PERMERROR);
			cr_expect_str_eq(r->reason, "no key for signature");
		} else {
			cr_expect_eq(r->result, DKIM_RESULT_NONE);
			cr_expect_str_eq(r->reason, "not evaluated: over the limit of 5");
		}
	}
	dkim_msg_free(msg);
	dkim_buf_free(&text);
}

/* The same (domain, selector) is looked up once. */
Test(msg, lookups_are_deduplicated)
{
	dkim_buf text;
	dkim_options o = opts_at(NOW);
	fake_dns dns = dns_with_keys();
	dkim_msg *msg;
	size_t i;

	dkim_buf_init(&text);
	for (i = 0; i < 4; i++)
		dkim_buf_printf(&text, "DKIM-Signature: v=1; a=rsa-sha256; d=%s;"
		                " s=%s; h=From; bh=AAAA; b=AAAA\r\n",
		                i % 2 ? "EXAMPLE.com" : "example.com", i < 3 ? "rsa" : "ed");
	dkim_buf_append_str(&text, message);
	msg = verify_text(text.data, 0, &dns, &o);
	cr_expect_eq(dns.calls, 1);
	cr_expect_eq(dns.queries, 2);
	dkim_msg_free(msg);
	dkim_buf_free(&text);
}

static char limit_message[sizeof(((dkim_error *)0)->message)];

/* n fields "X-Test: vvv..."; the error message is kept in limit_message. */
static dkim_status feed_headers(const dkim_options *o, size_t n, size_t value_len)
{
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(o, &err);
	char *value = malloc(value_len + 1);
	dkim_status st = DKIM_OK;
	size_t i;

	memset(value, 'v', value_len);
	value[value_len] = '\0';
	for (i = 0; i < n && st == DKIM_OK; i++)
		st = dkim_msg_header(msg, "X-Test", value, &err);
	if (st != DKIM_OK)
		cr_expect(err.message[0] != '\0');
	snprintf(limit_message, sizeof(limit_message), "%s", st != DKIM_OK ? err.message : "");
	dkim_msg_free(msg);
	free(value);
	return st;
}

Test(msg, header_limits)
{
	dkim_options o = opts_at(NOW);

	o.max_fields = 10;
	cr_expect_eq(feed_headers(&o, 10, 10), DKIM_OK);
	cr_expect_eq(feed_headers(&o, 11, 10), DKIM_ERR_LIMIT);
	cr_expect_str_eq(limit_message, "more than 10 header fields");
	o.max_fields = 1000;
	o.max_field_bytes = 100;
	cr_expect_eq(feed_headers(&o, 1, 100 - 7), DKIM_OK);   /* "X-Test:" is 7 */
	cr_expect_eq(feed_headers(&o, 1, 100 - 6), DKIM_ERR_LIMIT);
	cr_expect_str_eq(limit_message, "header field X-Test is over 100 bytes");
	o.max_field_bytes = 16384;
	o.max_header_bytes = 1000;
	cr_expect_eq(feed_headers(&o, 10, 100 - 9), DKIM_OK);  /* 10 x (100 + CRLF) > 1000 */
	cr_expect_eq(feed_headers(&o, 10, 100 - 7), DKIM_ERR_LIMIT);
	cr_expect_str_eq(limit_message, "header block is over 1000 bytes");
}

/* The fields read back as stored: name, and value with CRLF folds; the
 * unspaced entry point puts back the space after the colon, and that space
 * counts against the block limit like any byte of the field. */
Test(msg, header_get_reads_the_stored_fields)
{
	dkim_options o = opts_at(NOW);
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(&o, &err);
	const char *name = NULL, *value = NULL;

	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_header(msg, "Subject", " a\n b", &err), DKIM_OK);
	cr_assert_eq(dkim_msg_header_unspaced(msg, "From", "x@example.com", &err), DKIM_OK);
	cr_assert_eq(dkim_msg_header_count(msg), 2);
	cr_assert(dkim_msg_header_get(msg, 0, &name, &value));
	cr_expect_str_eq(name, "Subject");
	cr_expect_str_eq(value, " a\r\n b");
	cr_assert(dkim_msg_header_get(msg, 1, &name, &value));
	cr_expect_str_eq(name, "From");
	cr_expect_str_eq(value, " x@example.com");
	cr_expect_not(dkim_msg_header_get(msg, 2, &name, &value));
	dkim_msg_free(msg);

	/* "From: x@example.com" CRLF is 21 bytes */
	for (size_t limit = 20; limit <= 21; limit++) {
		o.max_header_bytes = limit;
		msg = dkim_msg_new(&o, &err);
		cr_assert_not_null(msg);
		cr_expect_eq(dkim_msg_header_unspaced(msg, "From", "x@example.com", &err),
		             limit == 21 ? DKIM_OK : DKIM_ERR_LIMIT);
		cr_expect_eq(dkim_msg_header_count(msg), limit == 21 ? 1 : 0);
		dkim_msg_free(msg);
	}
}

Test(msg, raw_feed_limits)
{
	dkim_options o = opts_at(NOW);
	dkim_error err;
	dkim_msg *msg;
	char big[3000];

	o.max_field_bytes = 1000;
	msg = dkim_msg_new(&o, &err);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "Subject: ", 9);
	cr_expect_eq(dkim_msg_feed_raw(msg, big, strlen(big), &err), DKIM_ERR_LIMIT);
	cr_expect(strstr(err.message, "Subject") != NULL && strstr(err.message, "1000 bytes") != NULL,
	          "limit error does not name the field: %s", err.message);
	dkim_msg_free(msg);
}

/* ---- calls out of order and bad parameters ------------------------------------------------- */

Test(msg, states)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(NULL, &err);
	fake_dns dns = dns_with_keys();

	cr_expect_eq(dkim_msg_body(msg, "x", 1, &err), DKIM_ERR_STATE);
	cr_expect_eq(dkim_msg_eom(msg, &err), DKIM_ERR_STATE);
	cr_expect_eq(dkim_msg_header(msg, "Bad:Name", "x", &err), DKIM_ERR_INVALID);
	cr_expect_eq(dkim_msg_header_field(msg, ":novalue", 8, &err), DKIM_ERR_SYNTAX);
	cr_expect_eq(dkim_msg_eoh(msg, &err), DKIM_OK);
	cr_expect_eq(dkim_msg_add_signer(msg, &p, &err), -1);
	cr_expect_eq(err.status, DKIM_ERR_STATE);
	cr_expect_eq(dkim_msg_verify(msg, fake_lookup, &dns, &err), DKIM_ERR_STATE);
	cr_expect_eq(dkim_msg_header(msg, "From", "x", &err), DKIM_ERR_STATE);
	cr_expect_eq(dkim_msg_eoh(msg, &err), DKIM_ERR_STATE);
	cr_expect_null(dkim_msg_signature(msg, 0, "\n"));
	cr_expect_eq(dkim_msg_result_count(msg), 0);
	cr_expect_eq(dkim_msg_eom(msg, &err), DKIM_OK);
	cr_expect_eq(dkim_msg_eom(msg, &err), DKIM_ERR_STATE);
	cr_expect_eq(dkim_msg_body(msg, "x", 1, &err), DKIM_ERR_STATE);
	dkim_msg_free(msg);
}

Test(msg, bad_signer_parameters)
{
	static const char *const no_from[] = { "To", "Subject" };
	static const char *const bad_name[] = { "From", "Sub ject" };
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(NULL, &err);
	dkim_sign_params p;

#define EXPECT_BAD(change)                                                           \
	do {                                                                         \
		p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED); \
		change;                                                              \
		memset(&err, 0, sizeof(err));                                        \
		cr_expect_eq(dkim_msg_add_signer(msg, &p, &err), -1, #change);       \
		cr_expect_eq(err.status, DKIM_ERR_INVALID, #change);                 \
		cr_expect(err.message[0] != '\0', #change);                           \
	} while (0)

	EXPECT_BAD(p.alg = DKIM_ALG_ED25519_SHA256);
	EXPECT_BAD(p.alg = DKIM_ALG_RSA_SHA1);
	EXPECT_BAD(p.key = ed_key);
	EXPECT_BAD(p.key = NULL);
	EXPECT_BAD(p.domain = "bad domain");
	EXPECT_BAD(p.domain = "example.com;x=1");
	EXPECT_BAD(p.selector = "a/b");
	EXPECT_BAD(p.identity = "joe@example.org");
	EXPECT_BAD(p.identity = "jo e@example.com");
	EXPECT_BAD(p.headers = no_from; p.nheaders = 2);
	EXPECT_BAD(p.headers = bad_name; p.nheaders = 2);
	EXPECT_BAD(p.nheaders = 0);
#undef EXPECT_BAD
	dkim_msg_free(msg);
}

/* No signature at all: no results, no lookup. */
Test(msg, unsigned_message)
{
	fake_dns dns = dns_with_keys();
	dkim_options o = opts_at(NOW);
	dkim_msg *msg = verify_text(message, 0, &dns, &o);

	cr_expect_eq(dkim_msg_result_count(msg), 0);
	cr_expect_eq(dns.calls, 0);
	dkim_msg_free(msg);
}

/* §5.4.2: a name listed once signs the bottom-most instance. */
Test(msg, bottom_up_selection)
{
	static const char *const h[] = { "From", "X-Trace" };
	static const char text[] =
		"X-Trace: top\r\nFrom: a@example.com\r\nX-Trace: bottom\r\n\r\nbody\r\n";
	dkim_sign_params p = params(DKIM_ALG_ED25519_SHA256, DKIM_CANON_SIMPLE,
	                            DKIM_CANON_SIMPLE);
	char *signed_text, *top, *bottom;
	fake_dns dns = dns_with_keys();

	p.headers = h;
	p.nheaders = 2;
	signed_text = sign_text(&p, text, NOW);
	top = strdup(signed_text);
	memcpy(strstr(top, "X-Trace: top") + 9, "TOP", 3);
	expect_reason(verify_one(top, NOW, &dns), DKIM_RESULT_PASS, "", top);
	bottom = strdup(signed_text);
	memcpy(strstr(bottom, "X-Trace: bottom") + 9, "BOT", 3);
	expect_reason(verify_one(bottom, NOW, &dns), DKIM_RESULT_FAIL, "signature", bottom);
	free(top);
	free(bottom);
	free(signed_text);
}

/*
 * §5.4.2 through the by-name index: each listed name takes its next
 * instance from the bottom, names compare without case, the instances of
 * other names in between do not matter, and a name with no instance left
 * (or none at all) hashes nothing. The header hash input is checked byte
 * for byte (simple canonicalization: the fields as they are).
 */
Test(msg, header_selection_by_name)
{
	static const char text[] =
		"x-a: 1\r\nX-B: 1\r\nFrom: a@example.com\r\nX-A: 2\r\nx-b: 2\r\n"
		"X-A: 3\r\nX-AA: 1\r\nX-: 1\r\n\r\nbody\r\n";
	static const char *const h[] = { "X-A", "x-b", "x-a", "X-C", "X-A", "X-A",
	                                 "FROM", "X-B", "X-B", "X-AA", "X-" };
	static const char want[] =
		"X-A: 3\r\nx-b: 2\r\nX-A: 2\r\nx-a: 1\r\nFrom: a@example.com\r\n"
		"X-B: 1\r\nX-AA: 1\r\nX-: 1\r\nDKIM-Signature: b=";
	unsigned char got[EVP_MAX_MD_SIZE], exp[EVP_MAX_MD_SIZE];
	unsigned glen = 0, elen = 0;
	dkim_options o = opts_at(NOW);
	dkim_error err;
	dkim_msg *msg = dkim_msg_new(&o, &err);

	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_verify(msg, fake_lookup, NULL, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_feed_raw(msg, text, strlen(text), &err), DKIM_OK, "%s", err.message);
	cr_assert_eq(dkim_msg_header_digest(msg, h, sizeof(h) / sizeof(h[0]), DKIM_CANON_SIMPLE,
	                                    "DKIM-Signature: b=", 18, DKIM_HASH_SHA256, got,
	                                    &glen, &err), DKIM_OK, "%s", err.message);
	cr_assert(EVP_Digest(want, strlen(want), exp, &elen, EVP_sha256(), NULL));
	cr_assert_eq(glen, elen);
	cr_assert_arr_eq(got, exp, elen, "the fields were not selected bottom-up by name");
	dkim_msg_free(msg);
}

/* Bare LF and CRLF are the same message to the engine. */
Test(msg, line_ends_do_not_matter)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE);
	char *lf = strdup(message), *signed_lf, *crlf, *o;
	const char *i;
	fake_dns dns = dns_with_keys();

	for (i = message, o = lf; *i; i++)
		if (*i != '\r')
			*o++ = *i;
	*o = '\0';
	signed_lf = sign_text(&p, lf, NOW);
	expect_reason(verify_one(signed_lf, NOW, &dns), DKIM_RESULT_PASS, "", signed_lf);
	/* the same message with CRLF line ends, signature and all */
	crlf = malloc(2 * strlen(signed_lf) + 1);
	for (i = signed_lf, o = crlf; *i; i++) {
		if (*i == '\n' && (i == signed_lf || i[-1] != '\r'))
			*o++ = '\r';
		*o++ = *i;
	}
	*o = '\0';
	expect_reason(verify_one(crlf, NOW, &dns), DKIM_RESULT_PASS, "", crlf);
	free(lf);
	free(signed_lf);
	free(crlf);
}

/* ---- causes: what callers act on (dkim.h), one per kind of result --------------------- */

/* The cause of r and its result (each cause has one) agree. */
static void expect_cause(dkim_sig_result r, dkim_cause want, dkim_result result,
                         const char *what)
{
	cr_expect_eq(r.cause, want, "%s: cause %s, want %s (%s)", what,
	             dkim_cause_name(r.cause), dkim_cause_name(want), r.reason);
	cr_expect_eq(r.result, result, "%s: result %s", what, dkim_result_name(r.result));
	free((char *)r.reason);
}

/* A message signed with alg, verified against one record (or status). */
static dkim_sig_result verify_with_record(const char *record, dkim_lookup_status status,
                                          dkim_alg alg, const char *identity)
{
	dkim_sign_params p = params(alg, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text;
	dkim_sig_result r;
	fake_dns dns;

	memset(&dns, 0, sizeof(dns));
	dns.keys[0] = (fake_key){ "example.com", p.selector, record, status };
	dns.nkeys = 1;
	p.identity = identity;
	signed_text = sign_text(&p, message, NOW);
	r = verify_one(signed_text, NOW, &dns);
	free(signed_text);
	return r;
}

Test(msg, cause_of_pass)
{
	expect_cause(verify_with_record(rsa_record, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256,
	                                NULL), DKIM_CAUSE_NONE, DKIM_RESULT_PASS, "pass");
}

Test(msg, causes_of_key_lookups)
{
	expect_cause(verify_with_record(NULL, DKIM_LOOKUP_NOTFOUND, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_NOT_FOUND, DKIM_RESULT_PERMERROR, "NXDOMAIN");
	expect_cause(verify_with_record(NULL, DKIM_LOOKUP_TEMPFAIL, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_TEMPFAIL, DKIM_RESULT_TEMPERROR, "SERVFAIL");
	expect_cause(verify_with_record(NULL, DKIM_LOOKUP_PERMFAIL, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_INVALID, DKIM_RESULT_PERMERROR, "unusable record");
	/* the fake DNS parses the record: a syntax error is a PERMFAIL */
	expect_cause(verify_with_record("v=DKIM1; p=!!", DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256,
	                                NULL), DKIM_CAUSE_KEY_INVALID, DKIM_RESULT_PERMERROR,
	             "bad p=");
	/* a lookup that says found without a key */
	expect_cause(verify_with_record(NULL, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_INVALID, DKIM_RESULT_PERMERROR, "found, no key");
}

Test(msg, causes_of_key_records)
{
	char *sha1_only = record_with(rsa_record, "h=sha1");
	char *other = record_with(rsa_record, "s=other");
	char *strict = record_with(rsa_record, "t=s");

	expect_cause(verify_with_record("v=DKIM1; k=rsa; p=", DKIM_LOOKUP_FOUND,
	                                DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_REVOKED, DKIM_RESULT_FAIL, "p= empty");
	expect_cause(verify_with_record(ed_record, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_MISMATCH, DKIM_RESULT_PERMERROR, "k= vs a=");
	expect_cause(verify_with_record(sha1_only, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_MISMATCH, DKIM_RESULT_PERMERROR, "h=sha1");
	expect_cause(verify_with_record(other, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_KEY_MISMATCH, DKIM_RESULT_PERMERROR, "s=other");
	expect_cause(verify_with_record(strict, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256,
	                                "a@sub.example.com"),
	             DKIM_CAUSE_KEY_MISMATCH, DKIM_RESULT_PERMERROR, "t=s");
	free(sha1_only);
	free(other);
	free(strict);
}

Test(msg, causes_of_policy)
{
	dkim_sign_params p = params(DKIM_ALG_RSA_SHA256, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED);
	char *signed_text = sign_text(&p, message, NOW), *sha1, *a;
	fake_dns dns = dns_with_keys();
	dkim_options o = opts_at(NOW);
	dkim_msg *msg;

	o.min_key_bits = 4096;
	msg = verify_text(signed_text, 0, &dns, &o);
	cr_expect_eq(dkim_msg_result(msg, 0)->cause, DKIM_CAUSE_KEY_TOO_SMALL);
	cr_expect_eq(dkim_msg_result(msg, 0)->result, DKIM_RESULT_POLICY);
	dkim_msg_free(msg);
	a = strstr(signed_text, "a=rsa-sha256;");
	cr_assert(asprintf(&sha1, "%.*sa=rsa-sha1;%s", (int)(a - signed_text), signed_text,
	                   a + strlen("a=rsa-sha256;")) > 0);
	expect_cause(verify_one(sha1, NOW, &dns), DKIM_CAUSE_ALG_REFUSED, DKIM_RESULT_POLICY,
	             "rsa-sha1");
	free(sha1);
	free(signed_text);
}

Test(msg, causes_of_the_message)
{
	dkim_sign_params p = params(DKIM_ALG_ED25519_SHA256, DKIM_CANON_SIMPLE,
	                            DKIM_CANON_SIMPLE);
	char *signed_text, *two, *cut, *hdr, *body;
	fake_dns dns = dns_with_keys();

	p.body_length = true;
	p.expire_after = 3600;
	signed_text = sign_text(&p, message, NOW);
	two = insert_after_headers(signed_text, "From: mallory@evil.example\r\n");
	expect_cause(verify_one(two, NOW, &dns), DKIM_CAUSE_FROM_FIELD, DKIM_RESULT_PERMERROR,
	             "two From");
	expect_cause(verify_one(signed_text, NOW + 3901, &dns), DKIM_CAUSE_SIG_EXPIRED,
	             DKIM_RESULT_PERMERROR, "x= passed");
	expect_cause(verify_one(signed_text, NOW - 301, &dns), DKIM_CAUSE_SIG_FUTURE,
	             DKIM_RESULT_PERMERROR, "t= ahead");
	cut = strdup(signed_text);
	strcpy(strstr(cut, "line three"), "line\r\n");
	expect_cause(verify_one(cut, NOW, &dns), DKIM_CAUSE_BODY_LENGTH, DKIM_RESULT_PERMERROR,
	             "l= beyond the body");
	body = strdup(signed_text);
	memcpy(strstr(body, "line three"), "line thref", 10);
	expect_cause(verify_one(body, NOW, &dns), DKIM_CAUSE_BODY_HASH, DKIM_RESULT_FAIL,
	             "body changed");
	hdr = strdup(signed_text);
	memcpy(strstr(hdr, "Hello"), "Jello", 5);
	expect_cause(verify_one(hdr, NOW, &dns), DKIM_CAUSE_SIGNATURE, DKIM_RESULT_FAIL,
	             "header changed");
	free(two);
	free(cut);
	free(body);
	free(hdr);
	free(signed_text);
}

Test(msg, causes_of_malformed_and_surplus_signatures)
{
	static const char *const bad[] = {
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; bh=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=To; bh=AAAA; b=AAAA",
		"v=1; a=foo; d=example.com; s=rsa; h=From; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; d=example.net; s=rsa; h=From; bh=AAAA; b=AAAA",
		"garbage",
	};
	dkim_options o = opts_at(NOW);
	dkim_buf text;
	dkim_msg *msg;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_dns dns = dns_with_keys();
		char *t;

		cr_assert(asprintf(&t, "DKIM-Signature: %s\r\n%s", bad[i], message) > 0);
		expect_cause(verify_one(t, NOW, &dns), DKIM_CAUSE_SIG_SYNTAX,
		             DKIM_RESULT_PERMERROR, bad[i]);
		free(t);
	}
	dkim_buf_init(&text);
	for (i = 0; i <= o.max_signatures; i++)
		dkim_buf_printf(&text, "DKIM-Signature: v=1; a=rsa-sha256; d=example.com;"
		                " s=sel%zu; h=From; bh=AAAA; b=AAAA\r\n", i);
	dkim_buf_append_str(&text, message);
	{
		fake_dns dns = dns_with_keys();

		msg = verify_text(text.data, 0, &dns, &o);
	}
	cr_expect_eq(dkim_msg_result(msg, 0)->cause, DKIM_CAUSE_KEY_NOT_FOUND);
	cr_expect_eq(dkim_msg_result(msg, o.max_signatures)->cause, DKIM_CAUSE_NOT_EVALUATED);
	cr_expect_eq(dkim_msg_result(msg, o.max_signatures)->result, DKIM_RESULT_NONE);
	dkim_msg_free(msg);
	dkim_buf_free(&text);
}

/* Every cause has a name, distinct from the others. */
Test(msg, cause_names)
{
	int i, j;

	for (i = DKIM_CAUSE_NONE; i <= DKIM_CAUSE_SIGNATURE; i++) {
		cr_expect_str_neq(dkim_cause_name((dkim_cause)i), "unknown", "cause %d", i);
		for (j = DKIM_CAUSE_NONE; j < i; j++)
			cr_expect_str_neq(dkim_cause_name((dkim_cause)i),
			                  dkim_cause_name((dkim_cause)j));
	}
	cr_expect_str_eq(dkim_cause_name(DKIM_CAUSE_KEY_NOT_FOUND), "key-not-found");
}

/* A key record with a tag named outside §3.2's grammar verifies (key.c). */
Test(msg, key_record_with_odd_tag_names)
{
	char *odd = record_with(rsa_record, "x-foo=bar; 1x=2");

	expect_cause(verify_with_record(odd, DKIM_LOOKUP_FOUND, DKIM_ALG_RSA_SHA256, NULL),
	             DKIM_CAUSE_NONE, DKIM_RESULT_PASS, "x-foo=bar");
	free(odd);
}
