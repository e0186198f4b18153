/*
 * test_rfc8463.c - RFC 8463 Appendix A through the whole engine: the
 * example message and its two signatures (ed25519-sha256 and rsa-sha256)
 * verify with the RFC's key records, and signing it again with the RFC's
 * keys reproduces the RFC's bh= and b=.
 *
 * The keys and the message come from tests/data/rfc8463/ (see testkeys.h).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testkeys.h"

#define RFC_TIME 1528637909
#define RFC_BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define RFC_B_ED25519 "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
#define RFC_B_RSA "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8="

static const char *const rfc_headers[] = {
	"from", "to", "subject", "date", "message-id", "from", "subject", "date",
};

/* ---- the RFC's DNS --------------------------------------------------------------- */

static dkim_pubkey *rfc_pubkey(const char *selector)
{
	char rel[64], *rec;
	size_t len;
	dkim_error err;
	dkim_pubkey *key;

	snprintf(rel, sizeof(rel), "rfc8463/%s.txt", selector);
	rec = testkey_read_data(rel, &len);
	while (len > 0 && (rec[len - 1] == '\n' || rec[len - 1] == '\r'))
		len--;
	key = dkim_pubkey_parse(rec, len, &err);
	cr_assert_not_null(key, "%s: %s", rel, err.message);
	free(rec);
	return key;
}

static void rfc_lookup(void *ctx, dkim_key_query *q, size_t n)
{
	size_t i;

	(*(int *)ctx)++;
	for (i = 0; i < n; i++) {
		q[i].status = DKIM_LOOKUP_NOTFOUND;
		if (strcmp(q[i].domain, "football.example.com") != 0)
			continue;
		if (strcmp(q[i].selector, "brisbane") == 0 || strcmp(q[i].selector, "test") == 0) {
			q[i].key = rfc_pubkey(q[i].selector);
			q[i].status = DKIM_LOOKUP_FOUND;
		}
	}
}

static dkim_msg *verify(const char *raw, size_t len, int *calls)
{
	dkim_options opts;
	dkim_error err;
	dkim_msg *msg;

	dkim_options_init(&opts);
	opts.now = RFC_TIME + 60;
	msg = dkim_msg_new(&opts, &err);
	cr_assert_not_null(msg);
	cr_assert_eq(dkim_msg_verify(msg, rfc_lookup, calls, &err), DKIM_OK);
	cr_assert_eq(dkim_msg_feed_raw(msg, raw, len, &err), DKIM_OK, "%s", err.message);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	return msg;
}

/* ---- verifying the RFC's signatures ------------------------------------------------------ */

static void expect_rfc_results(dkim_msg *msg)
{
	const dkim_sig_result *ed, *rsa;

	cr_assert_eq(dkim_msg_result_count(msg), 2);
	ed = dkim_msg_result(msg, 0);
	rsa = dkim_msg_result(msg, 1);
	cr_expect_eq(ed->result, DKIM_RESULT_PASS, "ed25519: %s", ed->reason);
	cr_expect_eq(rsa->result, DKIM_RESULT_PASS, "rsa: %s", rsa->reason);
	cr_expect_str_eq(ed->reason, "");
	cr_expect_str_eq(ed->algorithm, "ed25519-sha256");
	cr_expect_str_eq(rsa->algorithm, "rsa-sha256");
	cr_expect_str_eq(ed->domain, "football.example.com");
	cr_expect_str_eq(ed->identity, "@football.example.com");
	cr_expect_str_eq(ed->selector, "brisbane");
	cr_expect_str_eq(rsa->selector, "test");
	cr_expect_str_eq(ed->b, RFC_B_ED25519);
	cr_expect_str_eq(rsa->b, RFC_B_RSA);
	cr_expect_eq(rsa->key_bits, 1024);
	cr_expect(!ed->testing && !rsa->testing);
}

Test(rfc8463, example_message_verifies)
{
	size_t len;
	char *raw = testkey_read_data("rfc8463/message.eml", &len);
	int calls = 0;
	dkim_msg *msg = verify(raw, len, &calls);

	expect_rfc_results(msg);
	cr_expect_eq(calls, 1, "one batched lookup");
	dkim_msg_free(msg);
	free(raw);
}

Test(rfc8463, example_message_with_bare_lf_verifies)
{
	size_t len, i, n = 0;
	char *raw = testkey_read_data("rfc8463/message.eml", &len);
	char *lf = malloc(len + 1);
	int calls = 0;
	dkim_msg *msg;

	for (i = 0; i < len; i++)
		if (raw[i] != '\r')
			lf[n++] = raw[i];
	msg = verify(lf, n, &calls);
	expect_rfc_results(msg);
	dkim_msg_free(msg);
	free(lf);
	free(raw);
}

/* ---- signing it again ------------------------------------------------------------------- */

/* The message without its two DKIM-Signature fields. */
static char *unsigned_message(size_t *len)
{
	size_t rawlen;
	char *raw = testkey_read_data("rfc8463/message.eml", &rawlen);
	char *from = strstr(raw, "\r\nFrom: ");
	char *out;

	cr_assert_not_null(from);
	from += 2;
	*len = rawlen - (size_t)(from - raw);
	out = malloc(*len + 1);
	memcpy(out, from, *len + 1);
	free(raw);
	return out;
}

/* The i-th DKIM-Signature field of the RFC message, without its CRLF. */
static char *rfc_sig_field(int i, size_t *len)
{
	size_t rawlen;
	char *raw = testkey_read_data("rfc8463/message.eml", &rawlen);
	char *start = raw, *end, *out;

	if (i == 1)
		start = strstr(raw + 1, "DKIM-Signature:");
	end = strstr(start + 1, i == 0 ? "\r\nDKIM-Signature:" : "\r\nFrom:");
	*len = (size_t)(end - start);
	out = strndup(start, *len);
	free(raw);
	return out;
}

static dkim_privkey *rfc_privkey(const char *file)
{
	size_t len;
	char *data = testkey_read_data(file, &len);
	dkim_error err;
	dkim_privkey *key = dkim_privkey_load(data, len, &err);

	cr_assert_not_null(key, "%s: %s", file, err.message);
	free(data);
	return key;
}

static dkim_msg *sign(const dkim_privkey *key, dkim_alg alg, const char *selector)
{
	dkim_options opts;
	dkim_sign_params p;
	dkim_error err;
	dkim_msg *msg;
	size_t len;
	char *body = unsigned_message(&len);

	dkim_options_init(&opts);
	opts.now = RFC_TIME;
	msg = dkim_msg_new(&opts, &err);
	memset(&p, 0, sizeof(p));
	p.key = key;
	p.alg = alg;
	p.domain = "football.example.com";
	p.selector = selector;
	p.identity = "@football.example.com";
	p.header_canon = p.body_canon = DKIM_CANON_RELAXED;
	p.headers = rfc_headers;
	p.nheaders = sizeof(rfc_headers) / sizeof(rfc_headers[0]);
	p.timestamp = true;
	cr_assert_eq(dkim_msg_add_signer(msg, &p, &err), 0, "%s", err.message);
	cr_assert_eq(dkim_msg_feed_raw(msg, body, len, &err), DKIM_OK, "%s", err.message);
	cr_assert_eq(dkim_msg_eom(msg, &err), DKIM_OK, "%s", err.message);
	free(body);
	return msg;
}

/*
 * Our signature has our tag order (and no q=), so its b= differs from the
 * RFC's; its bh= and t= must be the RFC's, and it must verify.
 */
static void sign_and_verify(const char *keyfile, dkim_alg alg, const char *selector)
{
	dkim_privkey *key = rfc_privkey(keyfile);
	dkim_msg *msg = sign(key, alg, selector), *vmsg;
	const char *value = dkim_msg_signature(msg, 0, "\r\n");
	size_t len;
	char *body = unsigned_message(&len), *signed_msg;
	int calls = 0, n;

	cr_assert_not_null(value);
	cr_expect_not_null(strstr(value, "bh=" RFC_BH ";"), "%s", value);
	cr_expect_not_null(strstr(value, "t=1528637909;"), "%s", value);
	n = asprintf(&signed_msg, "DKIM-Signature: %s\r\n%s", value, body);
	cr_assert(n > 0);
	vmsg = verify(signed_msg, (size_t)n, &calls);
	cr_assert_eq(dkim_msg_result_count(vmsg), 1);
	cr_expect_eq(dkim_msg_result(vmsg, 0)->result, DKIM_RESULT_PASS, "%s",
	             dkim_msg_result(vmsg, 0)->reason);
	dkim_msg_free(vmsg);
	dkim_msg_free(msg);
	dkim_privkey_free(key);
	free(signed_msg);
	free(body);
}

Test(rfc8463, signing_reproduces_bh_ed25519)
{
	sign_and_verify("rfc8463/ed25519.private", DKIM_ALG_ED25519_SHA256, "brisbane");
}

Test(rfc8463, signing_reproduces_bh_rsa)
{
	sign_and_verify("rfc8463/rsa.private", DKIM_ALG_RSA_SHA256, "test");
}

/*
 * The RFC's own signature fields, b= stripped, through the engine's header
 * hash and the RFC's private keys: exactly the RFC's b= (Ed25519 and RSA
 * PKCS#1 v1.5 are both deterministic).
 */
static void reproduce_b(int which, const char *keyfile, const char *want)
{
	dkim_privkey *key = rfc_privkey(keyfile);
	dkim_msg *msg = sign(key, which == 0 ? DKIM_ALG_ED25519_SHA256 : DKIM_ALG_RSA_SHA256,
	                     which == 0 ? "brisbane" : "test");
	size_t flen, slen, siglen;
	char *field = rfc_sig_field(which, &flen), *stripped, *b64;
	const char *colon = strchr(field, ':');
	unsigned char digest[64], *sig;
	unsigned dlen;
	dkim_sig parsed;
	dkim_error err;

	cr_assert_eq(dkim_sig_parse_strict(colon + 1, flen - (size_t)(colon + 1 - field), &parsed, &err),
	             DKIM_OK, "%s", err.message);
	stripped = dkim_sig_strip_b(field, flen, &slen);
	cr_assert_eq(dkim_msg_header_digest(msg, (const char *const *)parsed.headers,
	                                    parsed.nheaders, DKIM_CANON_RELAXED, stripped, slen,
	                                    DKIM_HASH_SHA256, digest, &dlen, &err),
	             DKIM_OK, "%s", err.message);
	cr_assert_eq(dlen, 32);
	cr_assert_eq(dkim_key_sign_digest(key, digest, dlen, &sig, &siglen, &err), DKIM_OK,
	             "%s", err.message);
	b64 = dkim_base64_encode(sig, siglen);
	cr_expect_str_eq(b64, want);
	cr_expect_str_eq(parsed.b_text, want);
	free(b64);
	free(sig);
	free(stripped);
	free(field);
	dkim_sig_free(&parsed);
	dkim_msg_free(msg);
	dkim_privkey_free(key);
}

Test(rfc8463, header_hash_reproduces_b_ed25519)
{
	reproduce_b(0, "rfc8463/ed25519.private", RFC_B_ED25519);
}

Test(rfc8463, header_hash_reproduces_b_rsa)
{
	reproduce_b(1, "rfc8463/rsa.private", RFC_B_RSA);
}
