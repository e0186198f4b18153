/*
 * testkeys.c - key pairs and test data files for unit tests.
 *
 * Interface: testkeys.h. Keys come from OpenSSL's EVP_PKEY_Q_keygen and go
 * through libdkim's own loader, so a test signs with what production loads.
 * Errors abort: a test cannot continue without its key.
 */
#include "testkeys.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static void testkey_die(const char *what)
{
	fprintf(stderr, "testkeys: %s\n", what);
	abort();
}

/* The key record of pkey: SPKI for RSA (RFC 6376 §3.6.1), raw for Ed25519. */
static char *testkey_record(EVP_PKEY *pkey, dkim_keytype type)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	int derlen;
	char *b64, *rec;
	size_t n;

	if (type == DKIM_KEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
			testkey_die("cannot get the Ed25519 public key");
		b64 = dkim_base64_encode(raw, rawlen);
	} else {
		derlen = i2d_PUBKEY(pkey, &der);
		if (derlen <= 0)
			testkey_die("cannot encode the RSA public key");
		b64 = dkim_base64_encode(der, (size_t)derlen);
		OPENSSL_free(der);
	}
	if (b64 == NULL)
		testkey_die("out of memory");
	n = strlen(b64) + 64;
	rec = malloc(n);
	if (rec == NULL)
		testkey_die("out of memory");
	snprintf(rec, n, "v=DKIM1; k=%s; p=%s",
	         type == DKIM_KEY_ED25519 ? "ed25519" : "rsa", b64);
	free(b64);
	return rec;
}

dkim_privkey *testkey_new(dkim_keytype type, unsigned bits, char **record)
{
	EVP_PKEY *pkey;
	BIO *bio;
	char *pem;
	long len;
	dkim_privkey *key;
	dkim_error err;

	pkey = type == DKIM_KEY_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	       : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (pkey == NULL)
		testkey_die("key generation failed");
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
	                                            NULL, NULL) != 1)
		testkey_die("cannot write the private key as PEM");
	len = BIO_get_mem_data(bio, &pem);
	key = dkim_privkey_load(pem, (size_t)len, &err);
	if (key == NULL) {
		fprintf(stderr, "testkeys: %s\n", err.message);
		abort();
	}
	if (record != NULL)
		*record = testkey_record(pkey, type);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return key;
}

char *testkey_data_path(const char *rel)
{
	const char *top = getenv("top_srcdir");
	size_t n;
	char *path;

	if (top == NULL || *top == '\0')
		top = TOP_SRCDIR;
	n = strlen(top) + strlen(rel) + sizeof("/tests/data/");
	path = malloc(n);
	if (path == NULL)
		testkey_die("out of memory");
	snprintf(path, n, "%s/tests/data/%s", top, rel);
	return path;
}

char *testkey_read_data(const char *rel, size_t *len)
{
	char *path = testkey_data_path(rel);
	FILE *f = fopen(path, "rb");
	dkim_buf buf;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "testkeys: cannot open %s\n", path);
		abort();
	}
	dkim_buf_init(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (dkim_buf_append(&buf, chunk, n) != DKIM_OK)
			testkey_die("out of memory");
	fclose(f);
	free(path);
	if (len != NULL)
		*len = buf.len;
	if (buf.cap == 0) {
		char *empty = calloc(1, 1);

		if (empty == NULL)
			testkey_die("out of memory");
		return empty;
	}
	return buf.data;
}
