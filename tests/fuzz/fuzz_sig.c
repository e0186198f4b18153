/*
 * fuzz_sig.c - libFuzzer target for DKIM-Signature values (libdkim/sig.c):
 * dkim_sig_parse and dkim_sig_strip_b on arbitrary bytes.
 *
 * Invariants checked: a failure always says why; a value that parses can
 * be formatted back (dkim_sig_format) and that text parses to the same
 * tags; stripping b= never grows the field, and formatting with b="" gives
 * exactly the stripped form of the formatted signature.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fields(const dkim_sig *sig, char *bh64, dkim_sig_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->alg = sig->alg;
	f->header_canon = sig->header_canon;
	f->body_canon = sig->body_canon;
	f->domain = sig->domain;
	f->selector = sig->selector;
	f->identity = sig->identity;
	f->headers = (const char *const *)sig->headers;
	f->nheaders = sig->nheaders;
	f->has_timestamp = sig->has_timestamp;
	f->timestamp = sig->timestamp;
	f->has_expire = sig->has_expire;
	f->expire = sig->expire;
	f->has_length = sig->length != DKIM_NO_LIMIT;
	f->length = sig->length;
	f->bh = bh64;
	f->b = sig->b_text;
}

static char *fuzz_format(const dkim_sig_fields *f, size_t *len)
{
	dkim_buf buf;
	char *out;

	dkim_buf_init(&buf);
	if (dkim_buf_append_str(&buf, "DKIM-Signature: ") != DKIM_OK ||
	    dkim_sig_format(f, &buf) != DKIM_OK)
		__builtin_trap();
	out = malloc(buf.len + 1);
	memcpy(out, buf.data, buf.len + 1);
	*len = buf.len;
	dkim_buf_free(&buf);
	return out;
}

/* Formats a parsed signature and checks it parses back the same. */
static void fuzz_round_trip(const dkim_sig *sig)
{
	char *bh64 = dkim_base64_encode(sig->bh, sig->bh_len), *text, *empty, *stripped;
	size_t len, elen, slen, i;
	dkim_sig_fields f;
	dkim_sig again;
	dkim_error err;

	fuzz_fields(sig, bh64, &f);
	text = fuzz_format(&f, &len);
	if (dkim_sig_parse_strict(text + 16, len - 16, &again, &err) != DKIM_OK)
		__builtin_trap();
	if (strcmp(again.domain, sig->domain) != 0 || again.nheaders != sig->nheaders ||
	    strcmp(again.identity, sig->identity) != 0 || again.length != sig->length ||
	    again.b_len != sig->b_len || memcmp(again.b, sig->b, sig->b_len) != 0)
		__builtin_trap();
	for (i = 0; i < sig->nheaders; i++)
		if (strcmp(again.headers[i], sig->headers[i]) != 0)
			__builtin_trap();
	f.b = "";
	empty = fuzz_format(&f, &elen);
	stripped = dkim_sig_strip_b(text, len, &slen);
	if (slen != elen || memcmp(stripped, empty, elen) != 0)
		__builtin_trap();
	dkim_sig_free(&again);
	free(stripped);
	free(empty);
	free(text);
	free(bh64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan sees any read past the end. */
	char *value = malloc(size ? size : 1), *field, *stripped;
	size_t slen;
	dkim_sig sig;
	dkim_error err;

	memcpy(value, data, size);
	memset(&err, 0, sizeof(err));
	if (dkim_sig_parse(value, size, &sig, &err) == DKIM_OK)
		fuzz_round_trip(&sig);
	else if (err.message[0] == '\0' || err.status == DKIM_OK)
		__builtin_trap();
	dkim_sig_free(&sig);

	field = malloc(size + 15);
	memcpy(field, "DKIM-Signature:", 15);
	memcpy(field + 15, data, size);
	stripped = dkim_sig_strip_b(field, size + 15, &slen);
	if (stripped == NULL || slen > size + 15 || memcmp(stripped, field, 15) != 0)
		__builtin_trap();
	free(stripped);
	free(field);
	free(value);
	return 0;
}
