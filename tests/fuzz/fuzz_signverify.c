/*
 * fuzz_signverify.c - the two directions of libdkim agree: whatever message
 * the signer accepts, the verifier passes the signature it made (RFC 6376
 * §5 and §6 share canonicalization, header selection and the hashes; a
 * difference between the two paths, like the relaxed-header colon bug of
 * issue 16, breaks every signature on such messages).
 *
 * The first byte chooses the header and body canonicalizations (§3.4), l=
 * and the chunk size the message is fed in; the rest is the message. It is
 * signed with an Ed25519 key (fast; the hash path is the same for RSA) over
 * the fields of §5.4.1 most messages carry, the signature is prepended, and
 * the result is verified with the matching public key. Any signature the
 * signer produced that does not pass is a crash (but for a message without
 * exactly one From, which the verifier refuses by policy, §8.15).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/data/keys/ed25519.pem and .txt */
static const char fuzz_priv[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIDgLJqQNQ9+/sYWmZn1uTKSx7kAUxLGuDd4yfFQZObAp\n"
	"-----END PRIVATE KEY-----\n";
static const char fuzz_record[] =
	"v=DKIM1; k=ed25519; p=u0Ofoo0vAsbR9aA2nm4OZova3oy+tSwQtKcfBF9jcCc=";
static const char *const fuzz_headers[] = {
	"from", "to", "cc", "subject", "date", "message-id", "mime-version",
	"content-type", "x-fuzz"
};

static void fuzz_lookup(void *ctx, dkim_key_query *queries, size_t n)
{
	(void)ctx;
	for (size_t q = 0; q < n; q++) {
		dkim_error err = { 0 };

		queries[q].key = NULL;
		queries[q].status = DKIM_LOOKUP_NOTFOUND;
		if (strcmp(queries[q].domain, "sign.example") != 0 ||
		    strcmp(queries[q].selector, "fuzz") != 0)
			continue;
		queries[q].key = dkim_pubkey_parse(fuzz_record, strlen(fuzz_record), &err);
		if (queries[q].key == NULL)
			abort();
		queries[q].status = DKIM_LOOKUP_FOUND;
	}
}

static dkim_status fuzz_feed(dkim_msg *msg, const char *data, size_t len,
                             size_t step, dkim_error *err)
{
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		dkim_status st = dkim_msg_feed_raw(msg, data + off, n, err);

		if (st != DKIM_OK)
			return st;
		off += n;
	}
	return DKIM_OK;
}

/* The signature field for the message, or NULL when the signer declined. */
static char *fuzz_sign(const dkim_privkey *key, uint8_t mode, const char *m,
                       size_t len, size_t step, const char *eol)
{
	dkim_sign_params p = {
		.domain = "sign.example", .selector = "fuzz", .key = key,
		.alg = DKIM_ALG_ED25519_SHA256,
		.header_canon = (mode & 1) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		.body_canon = (mode & 2) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		.body_length = (mode & 4) != 0,
		.headers = fuzz_headers,
		.nheaders = sizeof(fuzz_headers) / sizeof(fuzz_headers[0]),
	};
	dkim_error err = { 0 };
	dkim_msg *msg = dkim_msg_new(NULL, &err);
	const char *sig;
	char *field = NULL;

	if (msg == NULL)
		abort();
	if (dkim_msg_add_signer(msg, &p, &err) >= 0 &&
	    fuzz_feed(msg, m, len, step, &err) == DKIM_OK &&
	    dkim_msg_eom(msg, &err) == DKIM_OK &&
	    (sig = dkim_msg_signature(msg, 0, eol)) != NULL) {
		size_t flen = strlen("DKIM-Signature: ") + strlen(sig) + strlen(eol);

		field = malloc(flen + 1);
		if (field == NULL)
			abort();
		snprintf(field, flen + 1, "DKIM-Signature: %s%s", sig, eol);
	}
	dkim_msg_free(msg);
	return field;
}

/* Verifies signed; aborts unless our signature is there and passes. */
static void fuzz_verify(const char *signed_msg, size_t len, size_t step)
{
	dkim_error err = { 0 };
	dkim_msg *msg = dkim_msg_new(NULL, &err);
	bool seen = false;

	if (msg == NULL || dkim_msg_verify(msg, fuzz_lookup, NULL, &err) != DKIM_OK)
		abort();
	if (fuzz_feed(msg, signed_msg, len, step, &err) != DKIM_OK ||
	    dkim_msg_eom(msg, &err) != DKIM_OK) {
		fprintf(stderr, "verifier refused a message the signer took: %s\n",
		        err.message);
		abort();
	}
	for (size_t i = 0; i < dkim_msg_result_count(msg); i++) {
		const dkim_sig_result *r = dkim_msg_result(msg, i);

		if (r == NULL || r->domain == NULL || r->selector == NULL ||
		    strcmp(r->domain, "sign.example") != 0 ||
		    strcmp(r->selector, "fuzz") != 0)
			continue;
		seen = true;
		/* The one check that is the verifier's alone: §8.15, exactly one
		 * From. The signer signs what it is given. */
		if (r->result != DKIM_RESULT_PASS &&
		    r->cause != DKIM_CAUSE_FROM_FIELD) {
			fprintf(stderr, "own signature: %s (%s)\n",
			        dkim_result_name(r->result),
			        r->reason != NULL ? r->reason : "-");
			abort();
		}
	}
	if (!seen) {
		fputs("own signature not found\n", stderr);
		abort();
	}
	dkim_msg_free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static dkim_privkey *key;
	const char *m = (const char *)data + 1;
	size_t len, step;
	const char *nl, *eol;
	char *field, *whole;
	size_t flen;

	if (size < 1)
		return 0;
	if (key == NULL) {
		dkim_error err = { 0 };

		key = dkim_privkey_load(fuzz_priv, sizeof(fuzz_priv) - 1, &err);
		if (key == NULL)
			abort();
	}
	len = size - 1;
	/* A header block cannot start with a folded line (RFC 5322 §2.2.3):
	 * prepended to one, the signature field would absorb it. */
	if (len > 0 && (m[0] == ' ' || m[0] == '\t'))
		return 0;
	step = (data[0] >> 3) == 0 ? (len > 0 ? len : 1) : (size_t)(data[0] >> 3);
	/* The signature field ends like the message's first line (as a signer
	 * inserting it into the message would do). */
	nl = memchr(m, '\n', len);
	eol = nl != NULL && nl > m && nl[-1] == '\r' ? "\r\n" : "\n";
	field = fuzz_sign(key, data[0], m, len, step, eol);
	if (field == NULL)
		return 0;
	flen = strlen(field);
	whole = malloc(flen + len + 1);
	if (whole == NULL)
		abort();
	memcpy(whole, field, flen);
	if (len > 0)
		memcpy(whole + flen, m, len);
	fuzz_verify(whole, flen + len, step);
	free(whole);
	free(field);
	return 0;
}
