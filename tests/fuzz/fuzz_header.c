/*
 * fuzz_header.c - the message splitter and address parser (libdkim/header.c).
 *
 * The first byte chooses a chunk size; the rest is a stored message. Split
 * one-shot and chunked, the events must be the same, and every field must
 * be within the limit. Then the input, as a header value, goes through
 * dkim_header_address with small buffers: on success both parts are
 * NUL-terminated within their buffers and the domain is lower case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_FIELD 200

static dkim_status on_field(void *ctx, const char *field, size_t len, dkim_error *err)
{
	(void)err;
	if (len > FUZZ_MAX_FIELD)
		abort();
	dkim_buf_append(ctx, "F", 1);
	dkim_buf_append(ctx, field, len);
	dkim_buf_printf(ctx, "|%zu|", len);
	dkim_field_name_len(field, len);
	return DKIM_OK;
}

static dkim_status on_eoh(void *ctx, dkim_error *err)
{
	(void)err;
	return dkim_buf_append(ctx, "E", 1);
}

static dkim_status on_body(void *ctx, const void *data, size_t len, dkim_error *err)
{
	(void)err;
	if (len == 0)
		abort();
	return dkim_buf_append(ctx, data, len);
}

static dkim_status split(const uint8_t *msg, size_t len, size_t step, dkim_buf *out)
{
	dkim_splitter sp;
	dkim_status st = DKIM_OK;
	dkim_error err;
	size_t pos;

	dkim_splitter_init(&sp, FUZZ_MAX_FIELD);
	sp.on_field = on_field;
	sp.on_eoh = on_eoh;
	sp.on_body = on_body;
	sp.ctx = out;
	for (pos = 0; pos < len && st == DKIM_OK; pos += step)
		st = dkim_splitter_feed(&sp, msg + pos, len - pos < step ? len - pos : step, &err);
	if (st == DKIM_OK)
		st = dkim_splitter_finish(&sp, &err);
	dkim_splitter_free(&sp);
	return st;
}

static void check_address(const uint8_t *data, size_t size)
{
	char *value = malloc(size + 1);
	char local[16], domain[24];
	size_t i;

	if (value == NULL)
		return;
	memcpy(value, data, size);
	value[size] = '\0';
	memset(local, 'x', sizeof(local));
	memset(domain, 'x', sizeof(domain));
	if (dkim_header_address(value, local, sizeof(local), domain, sizeof(domain))) {
		if (memchr(local, '\0', sizeof(local)) == NULL ||
		    memchr(domain, '\0', sizeof(domain)) == NULL || domain[0] == '\0')
			abort();
		for (i = 0; domain[i] != '\0'; i++)
			if (domain[i] >= 'A' && domain[i] <= 'Z')
				abort();
	}
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dkim_buf one, chunked;
	dkim_status a, b;
	size_t step;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 16;
	data++;
	size--;
	dkim_buf_init(&one);
	dkim_buf_init(&chunked);
	a = split(data, size, size + 1, &one);
	b = split(data, size, step, &chunked);
	if (a != b)
		abort();
	/* On success the whole event stream matches; on failure, its prefix may differ. */
	if (a == DKIM_OK &&
	    (one.len != chunked.len || memcmp(one.data, chunked.data, one.len) != 0))
		abort();
	dkim_buf_free(&one);
	dkim_buf_free(&chunked);
	check_address(data, size);
	return 0;
}
