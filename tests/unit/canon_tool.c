/*
 * canon_tool.c - relaxed header canonicalization (RFC 6376 §3.4.2) as a
 * filter, for canon_diff.py: reads header fields separated by NUL bytes on
 * stdin and writes each one's canonical form (no CRLF) followed by a NUL,
 * or "\x01ERROR" and a NUL when libdkim refuses the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int canon_tool_field(const char *field, size_t len, dkim_buf *out)
{
	dkim_buf_reset(out);
	if (dkim_canon_header(DKIM_CANON_RELAXED, field, len, true, out) != DKIM_OK) {
		fputs("\001ERROR", stdout);
	} else if (out->len > 0 && fwrite(out->data, 1, out->len, stdout) != out->len) {
		return 1;
	}
	return putchar('\0') == EOF;
}

int main(void)
{
	dkim_buf in, out;
	size_t start = 0, i;
	char chunk[65536];
	size_t n;
	int rc = 0;

	dkim_buf_init(&in);
	dkim_buf_init(&out);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (dkim_buf_append(&in, chunk, n) != DKIM_OK)
			return 2;
	for (i = 0; i < in.len && rc == 0; i++) {
		if (in.data[i] != '\0')
			continue;
		rc = canon_tool_field(in.data + start, i - start, &out);
		start = i + 1;
	}
	dkim_buf_free(&in);
	dkim_buf_free(&out);
	return rc != 0 || fflush(stdout) != 0;
}
