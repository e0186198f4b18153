/*
 * fuzz_keyrec.c - libFuzzer target for dkim_pubkey_parse (key records as
 * they come from DNS: RFC 6376 §3.6.1, RFC 8463 §4).
 *
 * A record that parses is queried through every accessor and used once to
 * verify a fixed signature, so that odd keys (tiny or huge moduli, strange
 * exponents, revoked keys) reach the verify path too. It must also parse to
 * the same key with a tag named outside the §3.2 grammar appended: such
 * tags are unrecognized, and ignored (key.c).
 */
#include "internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ODD_TAG "x-fuzz.odd=1"

static bool same_key(const dkim_pubkey *a, const dkim_pubkey *b)
{
	return dkim_pubkey_revoked(a) == dkim_pubkey_revoked(b) &&
	       dkim_pubkey_type(a) == dkim_pubkey_type(b) &&
	       dkim_pubkey_bits(a) == dkim_pubkey_bits(b) &&
	       dkim_pubkey_flags(a) == dkim_pubkey_flags(b) &&
	       dkim_pubkey_allows_email(a) == dkim_pubkey_allows_email(b) &&
	       dkim_pubkey_allows_hash(a, DKIM_HASH_SHA1) ==
	       dkim_pubkey_allows_hash(b, DKIM_HASH_SHA1) &&
	       dkim_pubkey_allows_hash(a, DKIM_HASH_SHA256) ==
	       dkim_pubkey_allows_hash(b, DKIM_HASH_SHA256);
}

/* key, parsed from data, again with "; x-fuzz.odd=1" after the last tag. */
static void check_odd_tag_ignored(const uint8_t *data, size_t size, const dkim_pubkey *key)
{
	size_t end = size, n;
	char *rec;
	dkim_pubkey *again;
	dkim_error err;

	/* Out of scope: past the tag limit or size limit, or the name taken. */
	if (size > 8192 || memmem(data, size, "x-fuzz.odd", 10) != NULL)
		return;
	while (end > 0 && memchr(" \t\r\n", data[end - 1], 4) != NULL)
		end--;
	rec = malloc(size + sizeof(FUZZ_ODD_TAG) + 2);
	if (rec == NULL)
		return;
	memcpy(rec, data, end);
	n = end;
	if (end > 0 && data[end - 1] != ';')
		rec[n++] = ';';
	memcpy(rec + n, FUZZ_ODD_TAG, sizeof(FUZZ_ODD_TAG) - 1);
	n += sizeof(FUZZ_ODD_TAG) - 1;
	again = dkim_pubkey_parse(rec, n, &err);
	/* A record of DKIM_MAX_TAGS tags has no room left: that is all. */
	if (again == NULL && err.status != DKIM_ERR_LIMIT)
		__builtin_trap();
	if (again != NULL && !same_key(key, again))
		__builtin_trap();
	dkim_pubkey_unref(again);
	free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char digest[32] = { 1, 2, 3, 4 };
	unsigned char sig[64];
	dkim_error err;
	dkim_pubkey *key;

	key = dkim_pubkey_parse((const char *)data, size, &err);
	if (key == NULL) {
		/* Every failure says why. */
		if (err.message[0] == '\0' || err.status == DKIM_OK)
			__builtin_trap();
		return 0;
	}
	(void)dkim_pubkey_type(key);
	(void)dkim_pubkey_bits(key);
	(void)dkim_pubkey_flags(key);
	(void)dkim_pubkey_allows_email(key);
	(void)dkim_pubkey_allows_hash(key, DKIM_HASH_SHA1);
	(void)dkim_pubkey_allows_hash(key, DKIM_HASH_SHA256);
	check_odd_tag_ignored(data, size, key);
	memset(sig, 0x5a, sizeof(sig));
	if (dkim_key_verify_digest(key, DKIM_HASH_SHA256, digest, sizeof(digest),
	                           sig, sizeof(sig), &err) == DKIM_OK)
		__builtin_trap();   /* a constant signature must never verify */
	dkim_pubkey_unref(dkim_pubkey_ref(key));
	dkim_pubkey_unref(key);
	return 0;
}
