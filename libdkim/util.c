/*
 * util.c - small services every libdkim module uses.
 *
 * Interface (internal.h): dkim_fail sets a dkim_error; dkim_buf is a
 * growable NUL-terminated byte buffer; dkim_base64_decode/encode wrap
 * OpenSSL's EVP block coder (no hand-written base64); ASCII helpers that do
 * not depend on the locale; dkim_status_name (dkim.h).
 *
 * Errors: allocation failures are DKIM_ERR_NOMEM; base64 input that is not
 * the alphabet, whitespace and correct "=" padding is DKIM_ERR_SYNTAX.
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* ---- errors --------------------------------------------------------------- */

dkim_status dkim_fail(dkim_error *err, dkim_status status, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return status;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

dkim_status dkim_error_nomem(dkim_error *err)
{
	return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
}

const char *dkim_status_name(dkim_status status)
{
	switch (status) {
	case DKIM_OK:          return "success";
	case DKIM_ERR_NOMEM:   return "out of memory";
	case DKIM_ERR_SYNTAX:  return "syntax error";
	case DKIM_ERR_LIMIT:   return "limit exceeded";
	case DKIM_ERR_KEY:     return "unusable key";
	case DKIM_ERR_CRYPTO:  return "cryptographic failure";
	case DKIM_ERR_STATE:   return "call out of sequence";
	case DKIM_ERR_INVALID: return "invalid argument";
	case DKIM_ERR_IO:      return "input/output error";
	}
	return "unknown error";
}

/* ---- growable buffers ----------------------------------------------------- */

/*
 * An empty buffer points at this byte so that data is a valid empty string
 * before the first append; cap == 0 marks it as not ours to free or write.
 */
static char dkim_buf_empty[1];

void dkim_buf_init(dkim_buf *buf)
{
	buf->data = dkim_buf_empty;
	buf->len = 0;
	buf->cap = 0;
}

void dkim_buf_free(dkim_buf *buf)
{
	if (buf->cap > 0)
		free(buf->data);
	dkim_buf_init(buf);
}

void dkim_buf_reset(dkim_buf *buf)
{
	buf->len = 0;
	if (buf->cap > 0)
		buf->data[0] = '\0';
}

/* Makes room for extra more bytes plus the terminating NUL. */
dkim_status dkim_buf_reserve(dkim_buf *buf, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - buf->len - 1)
		return DKIM_ERR_NOMEM;
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return DKIM_OK;
	cap = buf->cap > 0 ? buf->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(buf->cap > 0 ? buf->data : NULL, cap);
	if (p == NULL)
		return DKIM_ERR_NOMEM;
	if (buf->cap == 0)
		p[0] = '\0';
	buf->data = p;
	buf->cap = cap;
	return DKIM_OK;
}

dkim_status dkim_buf_append(dkim_buf *buf, const void *data, size_t len)
{
	dkim_status st;

	if (len == 0)
		return DKIM_OK;
	st = dkim_buf_reserve(buf, len);
	if (st != DKIM_OK)
		return st;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return DKIM_OK;
}

dkim_status dkim_buf_append_str(dkim_buf *buf, const char *s)
{
	return dkim_buf_append(buf, s, strlen(s));
}

dkim_status dkim_buf_printf(dkim_buf *buf, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	dkim_status st;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return DKIM_ERR_INVALID;
	}
	st = dkim_buf_reserve(buf, (size_t)n);
	if (st == DKIM_OK) {
		vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap2);
		buf->len += (size_t)n;
	}
	va_end(ap2);
	return st;
}

/* ---- base64 (RFC 4648 §4, as RFC 6376 §2.4 uses it) ------------------------ */

static bool dkim_base64_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Copies the significant characters of in to clean (whitespace removed:
 * RFC 6376 §3.5 b= and bh= may contain FWS) and checks them: alphabet,
 * then at most two "=" at the very end, whole 4-character groups.
 */
static dkim_status dkim_base64_clean(const char *in, size_t len, char *clean,
                                     size_t *cleanlen, size_t *npad,
                                     dkim_error *err)
{
	size_t i, n = 0, pad = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=')
			pad++;
		else if (!dkim_base64_alpha(c))
			return dkim_fail(err, DKIM_ERR_SYNTAX,
			                 "base64: invalid character 0x%02x at offset %zu",
			                 c, i);
		else if (pad > 0)
			return dkim_fail(err, DKIM_ERR_SYNTAX,
			                 "base64: data after '=' padding");
		clean[n++] = (char)c;
	}
	if (pad > 2 || n % 4 != 0)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "base64: bad padding or length (%zu characters, %zu '=')",
		                 n, pad);
	*cleanlen = n;
	*npad = pad;
	return DKIM_OK;
}

dkim_status dkim_base64_decode(const char *in, size_t len, unsigned char **out,
                               size_t *outlen, dkim_error *err)
{
	char *clean;
	unsigned char *buf;
	size_t n = 0, pad = 0;
	dkim_status st;
	int got;

	*out = NULL;
	*outlen = 0;
	if (len > INT_MAX)
		return dkim_fail(err, DKIM_ERR_LIMIT, "base64: input too long");
	clean = malloc(len + 1);
	buf = malloc(len / 4 * 3 + 3);
	if (clean == NULL || buf == NULL) {
		free(clean);
		free(buf);
		return dkim_error_nomem(err);
	}
	st = dkim_base64_clean(in, len, clean, &n, &pad, err);
	if (st == DKIM_OK && n > 0) {
		/* EVP_DecodeBlock counts "=" as zero bits: 3 bytes per group. */
		got = EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)n);
		if (got < 0 || (size_t)got != n / 4 * 3)
			st = dkim_fail(err, DKIM_ERR_SYNTAX, "base64: cannot decode");
	}
	free(clean);
	if (st != DKIM_OK) {
		free(buf);
		return st;
	}
	*out = buf;
	*outlen = n / 4 * 3 - pad;
	return DKIM_OK;
}

char *dkim_base64_encode(const unsigned char *in, size_t len)
{
	char *out;
	size_t outcap;

	if (len > (size_t)INT_MAX / 4 * 3 - 3)
		return NULL;
	outcap = (len + 2) / 3 * 4 + 1;
	out = malloc(outcap);
	if (out == NULL)
		return NULL;
	/* EVP_EncodeBlock writes no line breaks and NUL-terminates. */
	if (len > 0)
		EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	else
		out[0] = '\0';
	return out;
}

/* ---- ASCII helpers -------------------------------------------------------- */

bool dkim_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

int dkim_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

bool dkim_strcaseeq_n(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (b[i] == '\0' ||
		    dkim_lower((unsigned char)a[i]) != dkim_lower((unsigned char)b[i]))
			return false;
	}
	return b[alen] == '\0';
}

void dkim_text_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (size == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		bool plain = *p >= 0x20 && *p < 0x7f;
		size_t need = plain ? 1 : 4;
		if (o + need >= size)
			break;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0x0f];
		}
	}
	out[o] = '\0';
}
