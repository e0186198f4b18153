/*
 * fuzz_canon.c - the streaming body canonicalizer and header
 * canonicalization (libdkim/canon.c).
 *
 * The first two bytes choose a chunking; the rest is a body. For both
 * canonicalizations the chunked output must equal the one-shot output, and
 * must look canonical: simple ends in CRLF and is not followed by an empty
 * line; relaxed has no HTAB, no double SP, no SP before CRLF, no bare LF.
 * The input is also canonicalized as a header field, for crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ctx, const unsigned char *data, size_t len)
{
	if (len == 0 || dkim_buf_append(ctx, data, len) != DKIM_OK)
		abort();
}

static void run(dkim_canon canon, const uint8_t *body, size_t len, unsigned seed,
                dkim_buf *out)
{
	static dkim_bodycanon bc;
	size_t pos = 0;

	dkim_bodycanon_init(&bc, canon);
	while (pos < len) {
		size_t n = len - pos;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % (n < 70 ? n : 70);
		}
		dkim_bodycanon_update(&bc, body + pos, n, sink, out);
		pos += n;
	}
	dkim_bodycanon_final(&bc, sink, out);
	if (bc.length != out->len)
		abort();
}

static void check_shape(dkim_canon canon, const dkim_buf *out)
{
	size_t i;

	if (canon == DKIM_CANON_SIMPLE && out->len < 2)
		abort();
	if (out->len > 0 && (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2)))
		abort();
	if (out->len >= 4 && memcmp(out->data + out->len - 4, "\r\n\r\n", 4) == 0 &&
	    !(canon == DKIM_CANON_SIMPLE && out->len == 2))
		abort();                    /* trailing empty line kept */
	for (i = 0; i < out->len; i++) {
		char c = out->data[i];

		if (c == '\n' && (i == 0 || out->data[i - 1] != '\r'))
			abort();                /* bare LF */
		if (canon != DKIM_CANON_RELAXED)
			continue;
		if (c == '\t' || (c == ' ' && i + 1 < out->len &&
		                  (out->data[i + 1] == ' ' ||
		                   (out->data[i + 1] == '\r' && i + 2 < out->len &&
		                    out->data[i + 2] == '\n'))))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dkim_buf one, chunked;
	unsigned seed;
	int canon;

	if (size < 2)
		return 0;
	seed = (unsigned)data[0] << 8 | data[1] | 1u;
	data += 2;
	size -= 2;
	dkim_buf_init(&one);
	dkim_buf_init(&chunked);
	for (canon = 0; canon < 2; canon++) {
		dkim_buf_reset(&one);
		dkim_buf_reset(&chunked);
		run((dkim_canon)canon, data, size, 0, &one);
		run((dkim_canon)canon, data, size, seed, &chunked);
		if (one.len != chunked.len || memcmp(one.data, chunked.data, one.len) != 0)
			abort();
		check_shape((dkim_canon)canon, &one);
		dkim_buf_reset(&one);
		dkim_canon_header((dkim_canon)canon, (const char *)data, size,
		                  canon == 1, &one);
	}
	dkim_buf_free(&one);
	dkim_buf_free(&chunked);
	return 0;
}
