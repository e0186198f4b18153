/*
 * test_util.c - libdkim/util.c: errors, buffers, base64, ASCII helpers.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- base64 ----------------------------------------------------------------- */

static void decode_ok(const char *in, const char *want, size_t wantlen)
{
	unsigned char *out = NULL;
	size_t outlen = 99;
	dkim_error err = { 0 };

	cr_assert_eq(dkim_base64_decode(in, strlen(in), &out, &outlen, &err), DKIM_OK,
	             "[%s]: %s", in, err.message);
	cr_assert_eq(outlen, wantlen, "[%s]: length %zu", in, outlen);
	cr_assert(memcmp(out, want, wantlen) == 0, "[%s]: bytes", in);
	free(out);
}

static void decode_bad(const char *in, const char *why)
{
	unsigned char *out = (unsigned char *)"x";
	size_t outlen = 99;
	dkim_error err = { 0 };

	cr_assert_eq(dkim_base64_decode(in, strlen(in), &out, &outlen, &err),
	             DKIM_ERR_SYNTAX, "[%s] must fail", in);
	cr_assert_null(out);
	cr_assert_eq(outlen, 0);
	cr_assert_eq(err.status, DKIM_ERR_SYNTAX);
	cr_assert(strstr(err.message, why) != NULL, "[%s]: message \"%s\"", in,
	          err.message);
}

Test(base64, decode_lengths_and_padding)
{
	decode_ok("", "", 0);
	decode_ok("Zg==", "f", 1);
	decode_ok("Zm8=", "fo", 2);
	decode_ok("Zm9v", "foo", 3);
	decode_ok("Zm9vYg==", "foob", 4);
	decode_ok("Zm9vYmE=", "fooba", 5);
	decode_ok("Zm9vYmFy", "foobar", 6);
	decode_ok("AAAA", "\0\0\0", 3);
	decode_ok("AA==", "\0", 1);
	decode_ok("+/+/", "\xfb\xff\xbf", 3);
}

Test(base64, decode_skips_fws)
{
	/* RFC 6376 §3.5: b= and bh= may be folded; FWS is not data. */
	decode_ok(" Zm9v\r\n\tYmFy ", "foobar", 6);
	decode_ok("Z m 9 v Y g = =", "foob", 4);
	decode_ok("Zm9vYg=\r\n =", "foob", 4);
	decode_ok("\r\n", "", 0);
}

Test(base64, decode_rejects)
{
	decode_bad("Zg=", "padding");
	decode_bad("Zg", "padding");
	decode_bad("Zg===", "padding");
	decode_bad("Zm9v=", "padding");
	decode_bad("=", "padding");
	decode_bad("Z===", "padding");
	decode_bad("Zg==Zg==", "after '='");
	decode_bad("Zg=a", "after '='");
	decode_bad("Zm9!", "invalid character 0x21");
	decode_bad("Zm9v\x01", "invalid character 0x01");
	decode_bad("Zm9-", "invalid character");      /* base64url is not base64 */
	decode_bad("Zm9\xc3\xa9", "invalid character");
}

Test(base64, decode_embedded_nul)
{
	unsigned char *out = NULL;
	size_t outlen;

	cr_assert_eq(dkim_base64_decode("Zm9v\0YmFy", 9, &out, &outlen, NULL),
	             DKIM_ERR_SYNTAX);
	cr_assert_null(out);
}

Test(base64, encode_and_round_trip)
{
	unsigned char data[64];
	size_t len, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (len = 0; len <= sizeof(data); len++) {
		char *enc = dkim_base64_encode(data, len);
		unsigned char *dec = NULL;
		size_t declen;

		cr_assert_not_null(enc);
		cr_assert_eq(strlen(enc), (len + 2) / 3 * 4);
		cr_assert_null(strchr(enc, '\n'), "no line breaks");
		cr_assert_eq(dkim_base64_decode(enc, strlen(enc), &dec, &declen, NULL), DKIM_OK);
		cr_assert_eq(declen, len);
		cr_assert(len == 0 || memcmp(dec, data, len) == 0);
		free(enc);
		free(dec);
	}
	{
		char *enc = dkim_base64_encode((const unsigned char *)"foob", 4);

		cr_assert_str_eq(enc, "Zm9vYg==");
		free(enc);
	}
}

/* ---- errors and buffers ------------------------------------------------------ */

Test(util, fail_sets_message)
{
	dkim_error err = { 0 };

	cr_assert_eq(dkim_fail(&err, DKIM_ERR_LIMIT, "too many: %d", 7), DKIM_ERR_LIMIT);
	cr_assert_eq(err.status, DKIM_ERR_LIMIT);
	cr_assert_str_eq(err.message, "too many: 7");
	cr_assert_eq(dkim_fail(NULL, DKIM_ERR_IO, "x"), DKIM_ERR_IO);
}

Test(util, fail_truncates_long_messages)
{
	dkim_error err;
	char big[600];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dkim_fail(&err, DKIM_ERR_SYNTAX, "%s", big);
	cr_assert_eq(strlen(err.message), DKIM_ERROR_MAX - 1);
}

Test(util, status_names)
{
	cr_assert_str_eq(dkim_status_name(DKIM_OK), "success");
	cr_assert_str_eq(dkim_status_name(DKIM_ERR_SYNTAX), "syntax error");
	cr_assert_str_eq(dkim_status_name(DKIM_ERR_LIMIT), "limit exceeded");
	cr_assert_str_eq(dkim_status_name((dkim_status)99), "unknown error");
}

Test(util, buffers)
{
	dkim_buf b;
	size_t i;

	dkim_buf_init(&b);
	cr_assert_str_eq(b.data, "", "an empty buffer is an empty string");
	dkim_buf_reset(&b);
	cr_assert_eq(dkim_buf_append(&b, "ab", 2), DKIM_OK);
	cr_assert_eq(dkim_buf_append_str(&b, "cd"), DKIM_OK);
	cr_assert_eq(dkim_buf_printf(&b, "-%d-%s", 42, "z"), DKIM_OK);
	cr_assert_str_eq(b.data, "abcd-42-z");
	cr_assert_eq(b.len, 9);
	for (i = 0; i < 10000; i++)
		cr_assert_eq(dkim_buf_append(&b, "0123456789", 10), DKIM_OK);
	cr_assert_eq(b.len, 100009);
	cr_assert_eq(b.data[b.len], '\0');
	dkim_buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.data, "");
	cr_assert_eq(dkim_buf_append(&b, NULL, 0), DKIM_OK);
	dkim_buf_free(&b);
	dkim_buf_free(&b);                  /* freeing twice is harmless */
	cr_assert_str_eq(b.data, "");
}

Test(util, ascii_helpers)
{
	cr_assert(dkim_is_wsp(' '));
	cr_assert(dkim_is_wsp('\t'));
	cr_assert_not(dkim_is_wsp('\r'));
	cr_assert_not(dkim_is_wsp('\n'));
	cr_assert_eq(dkim_lower('Q'), 'q');
	cr_assert_eq(dkim_lower('q'), 'q');
	cr_assert_eq(dkim_lower(0xc9), 0xc9, "no locale: only ASCII folds");
	cr_assert(dkim_strcaseeq_n("FROM", 4, "from"));
	cr_assert(dkim_strcaseeq_n("From: x", 4, "from"));
	cr_assert_not(dkim_strcaseeq_n("Fro", 3, "from"));
	cr_assert_not(dkim_strcaseeq_n("Froms", 5, "from"));
	cr_assert(dkim_strcaseeq_n("", 0, ""));
}

/* Issue 16 item 5: a key record "k=x\nopendkim[1]: FORGED LINE" must not
 * start a line of its own in the log or in -t's output. */
Test(text, escape_control_and_8bit_bytes)
{
	char out[128];
	dkim_text_escape("unknown key type k=x\nopendkim[1]: FORGED LINE", out, sizeof(out));
	cr_assert_str_eq(out, "unknown key type k=x\\x0aopendkim[1]: FORGED LINE");
	dkim_text_escape("a\rb\tc\x7f\xc3\xa9", out, sizeof(out));
	cr_assert_str_eq(out, "a\\x0db\\x09c\\x7f\\xc3\\xa9");
	dkim_text_escape("plain text; \"quoted\" \\ ok", out, sizeof(out));
	cr_assert_str_eq(out, "plain text; \"quoted\" \\ ok");
}

Test(text, escape_never_cuts_an_escape_and_always_terminates)
{
	char out[8];
	dkim_text_escape("abcd\n", out, sizeof(out));   /* "abcd" + 4 bytes would not fit */
	cr_assert_str_eq(out, "abcd");
	dkim_text_escape("abc\n", out, sizeof(out));    /* 3 + 4 = 7 bytes and the NUL */
	cr_assert_str_eq(out, "abc\\x0a");
	char one[1] = { 'x' };
	dkim_text_escape("anything", one, sizeof(one));
	cr_assert_eq(one[0], '\0');
}
