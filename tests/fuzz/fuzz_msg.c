/*
 * fuzz_msg.c - libFuzzer target for the message engine (libdkim/msg.c):
 * a whole raw message through verification, with a fake lookup that
 * answers every query with one fixed Ed25519 key, and through signing.
 *
 * The first input byte picks the chunk size and the canonicalizations;
 * the rest is the message. Invariants: results are well formed (a reason
 * for everything but a pass, at most max_signatures evaluated, one lookup
 * call), and a message we sign verifies when it has exactly one From.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8463 Appendix A: the ed25519 key pair (seed and record). */
static const char fuzz_seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char fuzz_record[] =
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static int fuzz_calls;

static void fuzz_lookup(void *ctx, dkim_key_query *q, size_t n)
{
	dkim_error err;
	size_t i;

	(void)ctx;
	fuzz_calls++;
	for (i = 0; i < n; i++) {
		q[i].key = dkim_pubkey_parse(fuzz_record, strlen(fuzz_record), &err);
		q[i].status = q[i].key ? DKIM_LOOKUP_FOUND : DKIM_LOOKUP_TEMPFAIL;
	}
}

static dkim_options fuzz_options(void)
{
	dkim_options o;

	dkim_options_init(&o);
	o.now = 1700000000;
	o.max_header_bytes = 32768;
	o.max_field_bytes = 4096;
	o.max_fields = 200;
	o.max_signatures = 3;
	return o;
}

static dkim_status fuzz_feed(dkim_msg *msg, const char *m, size_t len, size_t chunk)
{
	dkim_error err;
	dkim_status st = DKIM_OK;
	size_t off;

	for (off = 0; off < len && st == DKIM_OK; off += chunk)
		st = dkim_msg_feed_raw(msg, m + off, len - off < chunk ? len - off : chunk, &err);
	return st == DKIM_OK ? dkim_msg_eom(msg, &err) : st;
}

/* What the end of headers promised (dkim_msg_eoh_unparsable) is what the
 * end says: every signature a permerror that does not parse. */
static void fuzz_check_unparsable(const dkim_msg *msg)
{
	const dkim_sig_result *top;
	size_t i;

	if (!dkim_msg_eoh_unparsable(msg, &top))
		return;
	if (top != dkim_msg_result(msg, 0))
		__builtin_trap();
	for (i = 0; i < dkim_msg_result_count(msg); i++)
		if (dkim_msg_result(msg, i)->result != DKIM_RESULT_PERMERROR ||
		    dkim_msg_result(msg, i)->cause != DKIM_CAUSE_SIG_SYNTAX)
			__builtin_trap();
}

/* Verifies m; returns the result of the top signature (or -1) and its reason. */
static int fuzz_verify(const char *m, size_t len, size_t chunk, char *reason, size_t rsize)
{
	dkim_options o = fuzz_options();
	dkim_msg *msg = dkim_msg_new(&o, NULL);
	int top = -1;
	size_t i;

	fuzz_calls = 0;
	dkim_msg_verify(msg, fuzz_lookup, NULL, NULL);
	if (fuzz_feed(msg, m, len, chunk) == DKIM_OK) {
		for (i = 0; i < dkim_msg_result_count(msg); i++) {
			const dkim_sig_result *r = dkim_msg_result(msg, i);

			if (r->reason == NULL || (r->result != DKIM_RESULT_PASS && r->reason[0] == '\0'))
				__builtin_trap();
			if (i >= o.max_signatures && r->result != DKIM_RESULT_NONE)
				__builtin_trap();
		}
		if (dkim_msg_result_count(msg) > 0) {
			top = (int)dkim_msg_result(msg, 0)->result;
			snprintf(reason, rsize, "%s", dkim_msg_result(msg, 0)->reason);
		}
		if (fuzz_calls > 1)
			__builtin_trap();
		fuzz_check_unparsable(msg);
	}
	dkim_msg_free(msg);
	return top;
}

static void fuzz_sign(const char *m, size_t len, size_t chunk, uint8_t mode,
                      const dkim_privkey *key)
{
	static const char *const headers[] = { "From", "To", "Subject", "Date", "From" };
	dkim_options o = fuzz_options();
	dkim_msg *msg;
	dkim_sign_params p;
	char *signed_msg, reason[DKIM_ERROR_MAX];
	const char *sig;
	size_t n;
	int top;

	/* A leading continuation line would fold into our field: skip. */
	if (len > 0 && (m[0] == ' ' || m[0] == '\t'))
		return;
	msg = dkim_msg_new(&o, NULL);
	memset(&p, 0, sizeof(p));
	p.key = key;
	p.alg = DKIM_ALG_ED25519_SHA256;
	p.domain = "example.com";
	p.selector = "fuzz";
	p.header_canon = (mode & 0x10) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	p.body_canon = (mode & 0x20) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	p.headers = headers;
	p.nheaders = (mode & 0x40) ? 5 : 4;
	p.timestamp = true;
	p.body_length = (mode & 0x80) != 0;
	if (dkim_msg_add_signer(msg, &p, NULL) != 0)
		__builtin_trap();
	if (fuzz_feed(msg, m, len, chunk) != DKIM_OK) {
		dkim_msg_free(msg);
		return;
	}
	/* Not asprintf: the message may hold NUL bytes. */
	sig = dkim_msg_signature(msg, 0, "\r\n");
	n = strlen("DKIM-Signature: ") + strlen(sig) + 2;
	signed_msg = malloc(n + len);
	memcpy(signed_msg, "DKIM-Signature: ", 16);
	memcpy(signed_msg + 16, sig, n - 18);
	memcpy(signed_msg + n - 2, "\r\n", 2);
	memcpy(signed_msg + n, m, len);
	dkim_msg_free(msg);
	top = fuzz_verify(signed_msg, n + len, chunk, reason, sizeof(reason));
	/* Ours is on top: pass, or a verdict about the message's From fields. */
	if (top == DKIM_RESULT_PERMERROR && strcmp(reason, "multiple From fields") != 0 &&
	    strcmp(reason, "no From field") != 0)
		__builtin_trap();
	if (top != DKIM_RESULT_PASS && top != DKIM_RESULT_PERMERROR && top != -1)
		__builtin_trap();
	free(signed_msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static dkim_privkey *key;
	char reason[DKIM_ERROR_MAX], *m;
	size_t chunk;

	if (key == NULL)
		key = dkim_privkey_load(fuzz_seed, strlen(fuzz_seed), NULL);
	if (key == NULL || size < 1 || size > 65536)
		return 0;
	chunk = (size_t)(data[0] & 0x0f) * 7 + 1;
	m = malloc(size - 1 ? size - 1 : 1);
	memcpy(m, data + 1, size - 1);
	fuzz_verify(m, size - 1, chunk, reason, sizeof(reason));
	fuzz_sign(m, size - 1, chunk, data[0], key);
	free(m);
	return 0;
}
