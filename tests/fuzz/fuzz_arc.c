/*
 * fuzz_arc.c - libFuzzer target for ARC chain validation (libdkim/arc.c
 * with the ARC mode of sig.c): a whole raw message through
 * dkim_msg_arc_verify, with a lookup that answers every query with the
 * ARC signing suite's RSA key (so that the seeds, suite chains, pass).
 *
 * The first input byte picks the chunk size; the rest is the message.
 * Invariants: the result is none, pass or fail; anything but a pass has
 * a reason; at most one lookup call, with at most 2 x 50 + 1 queries;
 * oldest-pass is at most 50; hostile chains (50 sets, duplicates, holes)
 * finish within the fuzzer's time limit.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/data/arc/keys.txt: the suite's dummy._domainkey.example.org */
static const char fuzz_record[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3"
	"idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+"
	"yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

static int fuzz_calls;

static void fuzz_lookup(void *ctx, dkim_key_query *q, size_t n)
{
	size_t i;

	(void)ctx;
	fuzz_calls++;
	if (n > 2 * DKIM_ARC_MAX_INSTANCE + 1)
		__builtin_trap();
	for (i = 0; i < n; i++) {
		q[i].key = dkim_pubkey_parse(fuzz_record, strlen(fuzz_record), NULL);
		q[i].status = q[i].key ? DKIM_LOOKUP_FOUND : DKIM_LOOKUP_TEMPFAIL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 7, 64, 4096 };
	dkim_options o;
	dkim_msg *msg;
	dkim_error err;
	dkim_status st = DKIM_OK;
	const char *m, *reason;
	unsigned oldest;
	size_t len, chunk, off;
	dkim_arc_result r;

	if (size < 1)
		return 0;
	chunk = chunks[data[0] % 4];
	m = (const char *)data + 1;
	len = size - 1;
	dkim_options_init(&o);
	o.now = 12400;
	o.max_header_bytes = 262144;
	msg = dkim_msg_new(&o, NULL);
	if (msg == NULL)
		return 0;
	fuzz_calls = 0;
	if (dkim_msg_arc_verify(msg, fuzz_lookup, NULL, &err) != DKIM_OK)
		__builtin_trap();
	for (off = 0; off < len && st == DKIM_OK; off += chunk)
		st = dkim_msg_feed_raw(msg, m + off, len - off < chunk ? len - off : chunk, &err);
	if (st == DKIM_OK)
		st = dkim_msg_eom(msg, &err);
	if (st == DKIM_OK) {
		r = dkim_msg_arc_result(msg, &oldest, &reason);
		if (r != DKIM_ARC_NONE && r != DKIM_ARC_PASS && r != DKIM_ARC_FAIL)
			__builtin_trap();
		if (reason == NULL || (r != DKIM_ARC_PASS && reason[0] == '\0'))
			__builtin_trap();
		if (oldest > DKIM_ARC_MAX_INSTANCE || fuzz_calls > 1)
			__builtin_trap();
	}
	dkim_msg_free(msg);
	return 0;
}
