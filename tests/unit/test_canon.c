/*
 * test_canon.c - header and body canonicalization (libdkim/canon.c).
 *
 * The RFC 6376 §3.4.5 examples byte for byte; every body edge case under
 * every chunking (1, 2, 3, ... bytes, random splits) against the one-shot
 * result and the expected bytes; random bodies against a naive line-based
 * reference canonicalizer written from §3.4.3/§3.4.4.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- helpers ------------------------------------------------------------- */

static void sink_buf(void *ctx, const unsigned char *data, size_t len)
{
	cr_assert(len > 0, "the sink is never called with nothing");
	cr_assert_eq(dkim_buf_append(ctx, data, len), DKIM_OK);
}

/* Canonicalizes in pieces of `step` bytes (0: one piece; -1: random). */
static void body_canon(dkim_canon canon, const char *in, size_t len, int step,
                       unsigned seed, dkim_buf *out)
{
	static dkim_bodycanon bc;
	size_t pos = 0;

	dkim_bodycanon_init(&bc, canon);
	while (pos < len) {
		size_t n = len - pos;

		if (step > 0 && (size_t)step < n)
			n = (size_t)step;
		else if (step < 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 8) % (n < 40 ? n : 40);
		}
		/* Odd calls get an empty update too: it must change nothing. */
		dkim_bodycanon_update(&bc, (const unsigned char *)in + pos, n,
		                      sink_buf, out);
		dkim_bodycanon_update(&bc, (const unsigned char *)in + pos, 0,
		                      sink_buf, out);
		pos += n;
	}
	dkim_bodycanon_final(&bc, sink_buf, out);
	cr_assert_eq(bc.length, out->len, "length counts what was emitted");
}

static void assert_bytes(const dkim_buf *got, const char *want, size_t wantlen,
                         const char *what)
{
	cr_assert_eq(got->len, wantlen, "%s: length %zu, expected %zu", what,
	             got->len, wantlen);
	cr_assert(memcmp(got->data, want, wantlen) == 0, "%s: bytes differ", what);
}

/* Checks in against want under many chunkings. */
static void check_body(dkim_canon canon, const char *in, size_t len,
                       const char *want, size_t wantlen)
{
	static const int steps[] = { 0, 1, 2, 3, 4, 5, 7, 16, 17 };
	dkim_buf out;
	size_t i;
	unsigned seed;

	dkim_buf_init(&out);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		dkim_buf_reset(&out);
		body_canon(canon, in, len, steps[i], 0, &out);
		assert_bytes(&out, want, wantlen,
		             canon == DKIM_CANON_SIMPLE ? "simple" : "relaxed");
	}
	for (seed = 1; seed < 40; seed++) {
		dkim_buf_reset(&out);
		body_canon(canon, in, len, -1, seed, &out);
		assert_bytes(&out, want, wantlen, "random chunking");
	}
	dkim_buf_free(&out);
}

#define BODY(canon, in, want) \
	check_body(canon, in, sizeof(in) - 1, want, sizeof(want) - 1)
#define BOTH(in, simple, relaxed) do { \
		BODY(DKIM_CANON_SIMPLE, in, simple); \
		BODY(DKIM_CANON_RELAXED, in, relaxed); \
	} while (0)

/* ---- RFC 6376 §3.4.5 ------------------------------------------------------ */

static const char rfc_body[] = " C \r\nD \t E\r\n\r\n\r\n";

Test(canon, rfc6376_example_relaxed_headers)
{
	dkim_buf out;

	dkim_buf_init(&out);
	cr_assert_eq(dkim_canon_header(DKIM_CANON_RELAXED, "A: X", 4, false, &out), DKIM_OK);
	cr_assert_eq(dkim_canon_header(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  ", 12,
	                               false, &out), DKIM_OK);
	cr_assert_str_eq(out.data, "a:X\r\nb:Y Z\r\n");
	dkim_buf_free(&out);
}

Test(canon, rfc6376_example_simple_headers)
{
	dkim_buf out;

	dkim_buf_init(&out);
	cr_assert_eq(dkim_canon_header(DKIM_CANON_SIMPLE, "A: X", 4, false, &out), DKIM_OK);
	cr_assert_eq(dkim_canon_header(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  ", 12,
	                               false, &out), DKIM_OK);
	cr_assert_str_eq(out.data, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	dkim_buf_free(&out);
}

Test(canon, rfc6376_example_bodies)
{
	BODY(DKIM_CANON_RELAXED, rfc_body, " C\r\nD E\r\n");
	BODY(DKIM_CANON_SIMPLE, rfc_body, " C \r\nD \t E\r\n");
}

/* ---- headers -------------------------------------------------------------- */

static void check_header(dkim_canon canon, const char *field, bool no_crlf,
                         const char *want)
{
	dkim_buf out;

	dkim_buf_init(&out);
	cr_assert_eq(dkim_canon_header(canon, field, strlen(field), no_crlf, &out), DKIM_OK);
	cr_assert_str_eq(out.data, want, "field [%s]", field);
	dkim_buf_free(&out);
}

Test(canon, header_relaxed_cases)
{
	check_header(DKIM_CANON_RELAXED, "SUBJECT:  hello   world  ", false,
	             "subject:hello world\r\n");
	check_header(DKIM_CANON_RELAXED, "Subject\t :\t x", false, "subject:x\r\n");
	check_header(DKIM_CANON_RELAXED, "To: a,\n\tb,\r\n c", false, "to:a, b, c\r\n");
	check_header(DKIM_CANON_RELAXED, "X-Empty:", false, "x-empty:\r\n");
	check_header(DKIM_CANON_RELAXED, "X-Empty:  \r\n  ", false, "x-empty:\r\n");
	check_header(DKIM_CANON_RELAXED, "X: a:B: C", false, "x:a:B: C\r\n");
	/* Colons leading the value are content: WSP after them stays (issue 16). */
	check_header(DKIM_CANON_RELAXED, "Subject: : hello", false,
	             "subject:: hello\r\n");
	check_header(DKIM_CANON_RELAXED, "Subject:\r\n\t:: Weekly ::", false,
	             "subject::: Weekly ::\r\n");
	check_header(DKIM_CANON_RELAXED, "X::\t a", false, "x:: a\r\n");
	check_header(DKIM_CANON_RELAXED, "X : :", false, "x::\r\n");
	check_header(DKIM_CANON_RELAXED, "DKIM-Signature: v=1; b=", true,
	             "dkim-signature:v=1; b=");
	/* A bare CR is not a line break: kept. */
	check_header(DKIM_CANON_RELAXED, "X: a\rb", false, "x:a\rb\r\n");
}

Test(canon, header_simple_cases)
{
	check_header(DKIM_CANON_SIMPLE, "Subject:  hi ", false, "Subject:  hi \r\n");
	check_header(DKIM_CANON_SIMPLE, "To: a,\n\tb,\r\n c", false, "To: a,\r\n\tb,\r\n c\r\n");
	check_header(DKIM_CANON_SIMPLE, "DKIM-Signature: b=", true, "DKIM-Signature: b=");
}

Test(canon, header_relaxed_needs_colon)
{
	dkim_buf out;

	dkim_buf_init(&out);
	cr_assert_eq(dkim_canon_header(DKIM_CANON_RELAXED, "nocolon", 7, false, &out),
	             DKIM_ERR_SYNTAX);
	dkim_buf_free(&out);
}

/* ---- body edge cases -------------------------------------------------------- */

Test(canon, body_empty)
{
	/* §3.4.3: simple makes an empty body one CRLF; relaxed leaves it empty. */
	BOTH("", "\r\n", "");
	BOTH("\r\n", "\r\n", "");
	BOTH("\n", "\r\n", "");
	BOTH("\r\n\r\n\r\n", "\r\n", "");
	BOTH("\n\r\n\n", "\r\n", "");
}

Test(canon, body_trailing_blank_lines)
{
	BOTH("abc\r\n\r\n\r\n", "abc\r\n", "abc\r\n");
	BOTH("a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n");
	BOTH("a\r\n\r\n\r\n\r\nb", "a\r\n\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\n\r\nb\r\n");
}

Test(canon, body_whitespace_lines)
{
	BOTH("  \r\n\t\r\n", "  \r\n\t\r\n", "");
	BOTH("a\r\n \r\n", "a\r\n \r\n", "a\r\n");
	BOTH(" \r\n\r\nx \r\n \r\n", " \r\n\r\nx \r\n \r\n", "\r\n\r\nx\r\n");
	BOTH("a \t b\r\n\r\n \r\nc", "a \t b\r\n\r\n \r\nc\r\n", "a b\r\n\r\n\r\nc\r\n");
	BOTH("  a\r\n", "  a\r\n", " a\r\n");
	BOTH("a  b\t\tc  \r\n", "a  b\t\tc  \r\n", "a b c\r\n");
	BOTH("a\r\n\t\r\n  \r\nb\r\n", "a\r\n\t\r\n  \r\nb\r\n", "a\r\n\r\n\r\nb\r\n");
	BOTH("x\t", "x\t\r\n", "x\r\n");
	BOTH("   ", "   \r\n", "");
}

Test(canon, body_no_final_crlf)
{
	BOTH("abc", "abc\r\n", "abc\r\n");
	BOTH("a\r\nb", "a\r\nb\r\n", "a\r\nb\r\n");
	BOTH("a\r\n\r\nb  ", "a\r\n\r\nb  \r\n", "a\r\n\r\nb\r\n");
}

Test(canon, body_bare_lf)
{
	BOTH("abc\n\ndef\n\n", "abc\r\n\r\ndef\r\n", "abc\r\n\r\ndef\r\n");
	BOTH("a \nb\n", "a \r\nb\r\n", "a\r\nb\r\n");
	BOTH("a\n \n\nb", "a\r\n \r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n");
}

Test(canon, body_bare_cr)
{
	BOTH("a\rb\r\n", "a\rb\r\n", "a\rb\r\n");
	BOTH("a\r", "a\r\r\n", "a\r\r\n");
	BOTH("\r", "\r\r\n", "\r\r\n");
	BOTH("a\r\r\n", "a\r\r\n", "a\r\r\n");
	BOTH("a \rb", "a \rb\r\n", "a \rb\r\n");
	BOTH("a \r\n", "a \r\n", "a\r\n");
	BOTH("\r\n\r\r\n", "\r\n\r\r\n", "\r\n\r\r\n");
	BOTH("a\r \r\n", "a\r \r\n", "a\r\r\n");
	BOTH("a\r\r", "a\r\r\r\n", "a\r\r\r\n");
}

Test(canon, body_split_crlf_and_wsp)
{
	/* check_body feeds these 1, 2, 3... bytes at a time and at random. */
	BOTH("ab \t  \t cd\r\n", "ab \t  \t cd\r\n", "ab cd\r\n");
	BOTH("line one\r\n\r\n\r\nline two\r\n\r\n",
	     "line one\r\n\r\n\r\nline two\r\n",
	     "line one\r\n\r\n\r\nline two\r\n");
	BOTH("x  \r\n  \r\n\r\n  y  \r\n  ", "x  \r\n  \r\n\r\n  y  \r\n  \r\n",
	     "x\r\n\r\n\r\n y\r\n");
}

/* Long lines and long runs: exercise the vectorized scanner at all offsets. */
Test(canon, body_long_lines)
{
	char in[400], simple[420], relaxed[420];
	size_t i, j, off;

	for (off = 0; off < 40; off++) {
		size_t n = 0, r = 0;

		for (i = 0; i < off; i++)
			in[n++] = 'a';
		for (i = 0; i < 3; i++)
			in[n++] = ' ';
		for (i = 0; i < 20; i++)
			in[n++] = 'b';
		in[n++] = '\t';
		in[n++] = 'c';
		in[n++] = ' ';
		in[n++] = '\r';
		in[n++] = '\n';
		memcpy(simple, in, n);
		for (j = 0; j < off; j++)
			relaxed[r++] = 'a';
		relaxed[r++] = ' ';
		for (j = 0; j < 20; j++)
			relaxed[r++] = 'b';
		memcpy(relaxed + r, " c\r\n", 4);
		r += 4;
		check_body(DKIM_CANON_SIMPLE, in, n, simple, n);
		check_body(DKIM_CANON_RELAXED, in, n, relaxed, r);
	}
}

/* ---- random bodies against a reference -------------------------------------- */

/*
 * The reference: split into lines at LF (a CR before the LF belongs to the
 * line break), canonicalize each line, drop the empty lines at the end.
 */
static void ref_canon(dkim_canon canon, const char *in, size_t len, dkim_buf *out)
{
	size_t pos = 0, keep = 0;

	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t end = lf ? (size_t)(lf - in) : len, stop = end, i, start;
		bool wsp = false;

		if (lf && stop > pos && in[stop - 1] == '\r')
			stop--;
		start = out->len;
		for (i = pos; i < stop; i++) {
			char c = in[i];

			/* §3.4.4: WSP runs become one SP, none at the end. */
			if (canon == DKIM_CANON_RELAXED && (c == ' ' || c == '\t')) {
				wsp = true;
				continue;
			}
			if (wsp)
				dkim_buf_append(out, " ", 1);
			wsp = false;
			dkim_buf_append(out, &c, 1);
		}
		dkim_buf_append(out, "\r\n", 2);
		if (out->len - start > 2)
			keep = out->len;
		pos = lf ? end + 1 : len;
	}
	out->len = keep;            /* trailing empty lines are dropped */
	if (canon == DKIM_CANON_SIMPLE && keep == 0)
		dkim_buf_append(out, "\r\n", 2);
}

Test(canon, body_random_against_reference)
{
	static const char alphabet[] = "ab  \t\r\n\n\r\n";
	char in[300];
	dkim_buf want;
	unsigned seed = 12345;
	int iter;

	dkim_buf_init(&want);
	for (iter = 0; iter < 400; iter++) {
		size_t len, i;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(in);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		dkim_buf_reset(&want);
		ref_canon(DKIM_CANON_SIMPLE, in, len, &want);
		check_body(DKIM_CANON_SIMPLE, in, len, want.data, want.len);
		dkim_buf_reset(&want);
		ref_canon(DKIM_CANON_RELAXED, in, len, &want);
		check_body(DKIM_CANON_RELAXED, in, len, want.data, want.len);
	}
	dkim_buf_free(&want);
}
