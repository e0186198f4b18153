/*
 * fuzz_keyrec.c - libFuzzer target for dkim_pubkey_parse (key records as
 * they come from DNS: RFC 6376 §3.6.1, RFC 8463 §4).
 *
 * A record that parses is queried through every accessor and used once to
 * verify a fixed signature, so that odd keys (tiny or huge moduli, strange
 * exponents, revoked keys) reach the verify path too.
 */
#include "internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	memset(sig, 0x5a, sizeof(sig));
	if (dkim_key_verify_digest(key, DKIM_HASH_SHA256, digest, sizeof(digest),
	                           sig, sizeof(sig), &err) == DKIM_OK)
		__builtin_trap();   /* a constant signature must never verify */
	dkim_pubkey_unref(dkim_pubkey_ref(key));
	dkim_pubkey_unref(key);
	return 0;
}
