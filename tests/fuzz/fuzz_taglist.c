/*
 * fuzz_taglist.c - tag-lists (libdkim/taglist.c) and base64 (util.c).
 *
 * Whatever the input: no crash, and a successful parse keeps §3.2's
 * promises: names are ALPHA *(ALNUM / "_"), unique, inside the input;
 * values are inside the input and trimmed. The tolerant parse (key
 * records) keeps the same promises with names of a letter or digit then
 * visible ASCII but ";" and "=", and gives the very same tags wherever the
 * strict parse succeeds. Base64 that decodes re-encodes to the same
 * characters (whitespace aside).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* A name character: strict ALNUMPUNC, or tolerant visible ASCII but ; = */
static bool name_char_ok(char c, bool tolerant)
{
	if (tolerant)
		return c >= 0x21 && c <= 0x7e && c != ';' && c != '=';
	return c == '_' || is_alnum(c);
}

static void check_tags(const char *text, size_t len, const dkim_tag *tags, size_t n,
                       bool tolerant)
{
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		const dkim_tag *t = &tags[i];

		if (t->name < text || t->name + t->name_len > text + len ||
		    t->value < text || t->value + t->value_len > text + len ||
		    t->name_len == 0)
			abort();
		/* strict: ALPHA first; tolerant: a letter or digit */
		if (!is_alnum(t->name[0]) || (!tolerant && t->name[0] <= '9'))
			abort();
		for (k = 0; k < t->name_len; k++)
			if (!name_char_ok(t->name[k], tolerant))
				abort();
		if (t->value_len > 0 && (dkim_is_wsp(t->value[0]) ||
		                         dkim_is_wsp(t->value[t->value_len - 1])))
			abort();
		if (memchr(t->value, ';', t->value_len) != NULL)
			abort();
		for (j = 0; j < i; j++)
			if (tags[j].name_len == t->name_len &&
			    memcmp(tags[j].name, t->name, t->name_len) == 0)
				abort();
		if (dkim_taglist_find(tags, n, "zz") != NULL &&
		    dkim_taglist_find(tags, n, "zz")->name_len != 2)
			abort();
	}
}

static void check_base64(const char *text, size_t len)
{
	unsigned char *out = NULL;
	size_t outlen, i, n = 0;
	char *enc;

	if (dkim_base64_decode(text, len, &out, &outlen, NULL) != DKIM_OK) {
		if (out != NULL)
			abort();
		return;
	}
	enc = dkim_base64_encode(out, outlen);
	if (enc == NULL)
		abort();
	/* Canonical input re-encodes to itself, whitespace aside. */
	for (i = 0; i < len; i++) {
		if (strchr(" \t\r\n", text[i]) != NULL)
			continue;
		if (enc[n] == '\0')
			abort();
		n++;
	}
	if (enc[n] != '\0')
		abort();
	free(enc);
	free(out);
}

static bool same_tags(const dkim_tag *a, const dkim_tag *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].name != b[i].name || a[i].name_len != b[i].name_len ||
		    a[i].value != b[i].value || a[i].value_len != b[i].value_len)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dkim_tag tags[DKIM_MAX_TAGS], loose[DKIM_MAX_TAGS];
	size_t n = 0, nloose = 0;
	dkim_error err;
	dkim_status st, st_loose;
	const char *text = (const char *)data;

	st = dkim_taglist_parse(text, size, tags, DKIM_MAX_TAGS, &n, &err);
	if (st == DKIM_OK)
		check_tags(text, size, tags, n, false);
	else if (n != 0 || err.message[0] == '\0')
		abort();
	st_loose = dkim_taglist_parse_tolerant(text, size, loose, DKIM_MAX_TAGS, &nloose, &err);
	if (st_loose == DKIM_OK)
		check_tags(text, size, loose, nloose, true);
	else if (nloose != 0 || err.message[0] == '\0')
		abort();
	/* Tolerance only adds: what strict accepts, tolerant reads the same. */
	if (st == DKIM_OK && (st_loose != DKIM_OK || nloose != n || !same_tags(loose, tags, n)))
		abort();
	check_base64(text, size);
	return 0;
}
