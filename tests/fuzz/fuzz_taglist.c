/*
 * fuzz_taglist.c - tag-lists (libdkim/taglist.c) and base64 (util.c).
 *
 * Whatever the input: no crash, and a successful parse keeps §3.2's
 * promises: names are ALPHA *(ALNUM / "_"), unique, inside the input;
 * values are inside the input and trimmed. Base64 that decodes re-encodes
 * to the same characters (whitespace aside).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tags(const char *text, size_t len, const dkim_tag *tags, size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		const dkim_tag *t = &tags[i];

		if (t->name < text || t->name + t->name_len > text + len ||
		    t->value < text || t->value + t->value_len > text + len ||
		    t->name_len == 0)
			abort();
		for (k = 0; k < t->name_len; k++)
			if (!(t->name[k] == '_' || (t->name[k] >= '0' && t->name[k] <= '9') ||
			      ((t->name[k] | 0x20) >= 'a' && (t->name[k] | 0x20) <= 'z')))
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dkim_tag tags[DKIM_MAX_TAGS];
	size_t n = 0;
	dkim_error err;
	const char *text = (const char *)data;

	if (dkim_taglist_parse(text, size, tags, DKIM_MAX_TAGS, &n, &err) == DKIM_OK)
		check_tags(text, size, tags, n);
	else if (n != 0 || err.message[0] == '\0')
		abort();
	check_base64(text, size);
	return 0;
}
