/*
 * test_key.c - unit tests of libdkim/key.c: private key forms, key records
 * (RFC 6376 §3.6.1, RFC 8463 §4), sign/verify of header digests, and the
 * RFC 8463 Appendix A keys and signatures.
 */
#include <criterion/criterion.h>

#include "internal.h"
#include "testkeys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* ---- helpers ---------------------------------------------------------------- */

/* pkey encoded by OpenSSL's encoder as "PEM" or "DER", "type-specific"
 * (PKCS#1 for RSA) or "PrivateKeyInfo" (PKCS#8). malloc'd. */
static unsigned char *encode_priv(EVP_PKEY *pkey, const char *format,
                                  const char *structure, size_t *len)
{
	OSSL_ENCODER_CTX *ctx;
	unsigned char *data = NULL, *copy;

	ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, format,
	                                    structure, NULL);
	cr_assert_not_null(ctx);
	cr_assert_eq(OSSL_ENCODER_to_data(ctx, &data, len), 1,
	             "encoding %s %s", format, structure);
	OSSL_ENCODER_CTX_free(ctx);
	copy = malloc(*len + 1);
	cr_assert_not_null(copy);
	memcpy(copy, data, *len);
	copy[*len] = '\0';
	OPENSSL_free(data);
	return copy;
}

/* The DER of pkey in base64, as a KeyTable may hold it inline. */
static char *encode_priv_b64(EVP_PKEY *pkey, const char *structure)
{
	size_t len;
	unsigned char *der = encode_priv(pkey, "DER", structure, &len);
	char *b64 = dkim_base64_encode(der, len);

	free(der);
	cr_assert_not_null(b64);
	return b64;
}

static dkim_privkey *load_ok(const void *data, size_t len)
{
	dkim_error err = { 0 };
	dkim_privkey *key = dkim_privkey_load(data, len, &err);

	cr_assert_not_null(key, "load failed: %s", err.message);
	return key;
}

static void load_fails(const void *data, size_t len, dkim_status status,
                       const char *fragment)
{
	dkim_error err = { 0 };
	dkim_privkey *key = dkim_privkey_load(data, len, &err);

	cr_assert_null(key, "loaded what should fail (%s)", fragment);
	cr_assert_eq(err.status, status, "status %d, message: %s", err.status,
	             err.message);
	cr_assert_not_null(strstr(err.message, fragment),
	                   "message \"%s\" lacks \"%s\"", err.message, fragment);
}

static dkim_pubkey *parse_ok(const char *record)
{
	dkim_error err = { 0 };
	dkim_pubkey *key = dkim_pubkey_parse(record, strlen(record), &err);

	cr_assert_not_null(key, "parse of \"%.60s\" failed: %s", record,
	                   err.message);
	return key;
}

static void parse_fails(const char *record, dkim_status status,
                        const char *fragment)
{
	dkim_error err = { 0 };
	dkim_pubkey *key = dkim_pubkey_parse(record, strlen(record), &err);

	cr_assert_null(key, "parsed \"%.60s\", which should fail", record);
	cr_assert_eq(err.status, status, "status %d, message: %s", err.status,
	             err.message);
	cr_assert_not_null(strstr(err.message, fragment),
	                   "message \"%s\" lacks \"%s\"", err.message, fragment);
}

static char *record_with(const char *prefix, const char *b64)
{
	size_t n = strlen(prefix) + strlen(b64) + 1;
	char *rec = malloc(n);

	cr_assert_not_null(rec);
	snprintf(rec, n, "%s%s", prefix, b64);
	return rec;
}

static char *spki_b64(EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pkey, &der);
	char *b64;

	cr_assert_gt(len, 0);
	b64 = dkim_base64_encode(der, (size_t)len);
	OPENSSL_free(der);
	return b64;
}

/* An RSA public key with a modulus of exactly bits bits, without the cost of
 * generating one: n = 2^(bits-1) + 1 is as good as any for parsing. */
static EVP_PKEY *fake_rsa_pub(unsigned bits)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = BN_new(), *e = BN_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pkey = NULL;

	cr_assert(bld && n && e && ctx);
	cr_assert(BN_set_bit(n, (int)bits - 1) && BN_set_bit(n, 0));
	cr_assert(BN_set_word(e, 65537));
	cr_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n));
	cr_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
	params = OSSL_PARAM_BLD_to_param(bld);
	cr_assert_not_null(params);
	cr_assert_eq(EVP_PKEY_fromdata_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static void hex_decode(const char *hex, unsigned char *out, size_t len)
{
	size_t i;

	cr_assert_eq(strlen(hex), 2 * len);
	for (i = 0; i < len; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

static dkim_pubkey *parse_data_record(const char *rel)
{
	size_t len;
	char *text = testkey_read_data(rel, &len);
	dkim_error err = { 0 };
	dkim_pubkey *key;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	key = dkim_pubkey_parse(text, len, &err);
	cr_assert_not_null(key, "%s: %s", rel, err.message);
	free(text);
	return key;
}

static dkim_privkey *load_data_file(const char *rel)
{
	char *path = testkey_data_path(rel);
	dkim_error err = { 0 };
	dkim_privkey *key = dkim_privkey_load_file(path, &err);

	cr_assert_not_null(key, "%s", err.message);
	free(path);
	return key;
}

/* ---- private keys: every form --------------------------------------------------- */

Test(privkey, rsa_pkcs1_pem)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	size_t len;
	unsigned char *pem = encode_priv(pkey, "PEM", "type-specific", &len);
	dkim_privkey *key;

	cr_assert_not_null(strstr((char *)pem, "BEGIN RSA PRIVATE KEY"));
	key = load_ok(pem, len);
	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_RSA);
	cr_assert_eq(dkim_privkey_bits(key), 1024);
	dkim_privkey_free(key);
	free(pem);
	EVP_PKEY_free(pkey);
}

Test(privkey, rsa_pkcs8_pem)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	size_t len;
	unsigned char *pem = encode_priv(pkey, "PEM", "PrivateKeyInfo", &len);
	dkim_privkey *key;

	cr_assert_not_null(strstr((char *)pem, "BEGIN PRIVATE KEY"));
	key = load_ok(pem, len);
	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_RSA);
	cr_assert_eq(dkim_privkey_bits(key), 2048);
	dkim_privkey_free(key);
	free(pem);
	EVP_PKEY_free(pkey);
}

Test(privkey, ed25519_pkcs8_pem)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	size_t len;
	unsigned char *pem = encode_priv(pkey, "PEM", "PrivateKeyInfo", &len);
	dkim_privkey *key = load_ok(pem, len);

	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_ED25519);
	cr_assert_eq(dkim_privkey_bits(key), 256);
	dkim_privkey_free(key);
	free(pem);
	EVP_PKEY_free(pkey);
}

Test(privkey, rsa_base64_der_pkcs1_and_pkcs8)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	const char *structures[] = { "type-specific", "PrivateKeyInfo" };
	size_t i;

	for (i = 0; i < 2; i++) {
		char *b64 = encode_priv_b64(pkey, structures[i]);
		dkim_privkey *key = load_ok(b64, strlen(b64));

		cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_RSA);
		cr_assert_eq(dkim_privkey_bits(key), 1024);
		dkim_privkey_free(key);
		free(b64);
	}
	EVP_PKEY_free(pkey);
}

Test(privkey, ed25519_base64_der_pkcs8)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *b64 = encode_priv_b64(pkey, "PrivateKeyInfo");
	dkim_privkey *key = load_ok(b64, strlen(b64));

	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_ED25519);
	dkim_privkey_free(key);
	free(b64);
	EVP_PKEY_free(pkey);
}

Test(privkey, base64_with_whitespace_and_line_breaks)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char *b64 = encode_priv_b64(pkey, "PrivateKeyInfo");
	size_t n = strlen(b64), i, j = 0;
	char *folded = malloc(2 * n + 8);
	dkim_privkey *key;

	cr_assert_not_null(folded);
	folded[j++] = '\n';
	for (i = 0; i < n; i++) {
		folded[j++] = b64[i];
		if (i % 64 == 63)
			folded[j++] = '\n';
		else if (i % 50 == 49)
			folded[j++] = ' ';
	}
	folded[j++] = '\n';
	key = load_ok(folded, j);
	cr_assert_eq(dkim_privkey_bits(key), 1024);
	dkim_privkey_free(key);
	free(folded);
	free(b64);
	EVP_PKEY_free(pkey);
}

/* PEM with every "\n" replaced by sep ("" deletes them); malloc'd. */
static char *pem_flattened(EVP_PKEY *pkey, const char *structure,
                           const char *sep, size_t *outlen)
{
	size_t len, i, j = 0;
	unsigned char *pem = encode_priv(pkey, "PEM", structure, &len);
	char *flat = malloc(len * (strlen(sep) + 1) + 1);

	cr_assert_not_null(flat);
	for (i = 0; i < len; i++) {
		if (pem[i] == '\n') {
			memcpy(flat + j, sep, strlen(sep));
			j += strlen(sep);
		} else {
			flat[j++] = (char)pem[i];
		}
	}
	flat[j] = '\0';
	free(pem);
	*outlen = j;
	return flat;
}

/* KeyTables hold inline keys on one line: PEM with its line breaks lost. */
Test(privkey, pem_without_line_breaks)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	const char *seps[] = { " ", "" };
	size_t i, len;

	for (i = 0; i < 2; i++) {
		char *flat = pem_flattened(rsa, "type-specific", seps[i], &len);
		dkim_privkey *key = load_ok(flat, len);

		cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_RSA);
		cr_assert_eq(dkim_privkey_bits(key), 1024);
		dkim_privkey_free(key);
		free(flat);

		flat = pem_flattened(ed, "PrivateKeyInfo", seps[i], &len);
		key = load_ok(flat, len);
		cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_ED25519);
		dkim_privkey_free(key);
		free(flat);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

Test(privkey, ed25519_raw_seed_and_seed_with_public)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char both[64];
	size_t len = 32;
	char *b64;
	dkim_privkey *key;

	cr_assert_eq(EVP_PKEY_get_raw_private_key(pkey, both, &len), 1);
	len = 32;
	cr_assert_eq(EVP_PKEY_get_raw_public_key(pkey, both + 32, &len), 1);

	b64 = dkim_base64_encode(both, 32);
	key = load_ok(b64, strlen(b64));
	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_ED25519);
	dkim_privkey_free(key);
	free(b64);

	b64 = dkim_base64_encode(both, 64);
	key = load_ok(b64, strlen(b64));
	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_ED25519);
	dkim_privkey_free(key);
	free(b64);

	/* A second half that is not the seed's public key is refused. */
	both[40] ^= 1;
	b64 = dkim_base64_encode(both, 64);
	load_fails(b64, strlen(b64), DKIM_ERR_KEY, "public key");
	free(b64);
	EVP_PKEY_free(pkey);
}

Test(privkey, committed_files)
{
	dkim_privkey *key;

	key = load_data_file("keys/rsa2048.pem");
	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_RSA);
	cr_assert_eq(dkim_privkey_bits(key), 2048);
	dkim_privkey_free(key);

	key = load_data_file("keys/rsa1024-pkcs1.pem");
	cr_assert_eq(dkim_privkey_bits(key), 1024);
	dkim_privkey_free(key);

	key = load_data_file("keys/ed25519.pem");
	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_ED25519);
	dkim_privkey_free(key);

	key = load_data_file("rfc8463/rsa.private");
	cr_assert_eq(dkim_privkey_bits(key), 1024);
	dkim_privkey_free(key);

	key = load_data_file("rfc8463/ed25519.private");
	cr_assert_eq(dkim_privkey_type(key), DKIM_KEY_ED25519);
	dkim_privkey_free(key);
}

/* ---- private keys: refusals ------------------------------------------------------- */

Test(privkey, rsa_512_refused)
{
	char *path = testkey_data_path("keys/rsa512.pem");
	dkim_error err = { 0 };
	dkim_privkey *key = dkim_privkey_load_file(path, &err);

	cr_assert_null(key);
	cr_assert_eq(err.status, DKIM_ERR_KEY);
	cr_assert_not_null(strstr(err.message, "512 bits is too small"), "%s",
	                   err.message);
	cr_assert_not_null(strstr(err.message, "1024"), "%s", err.message);
	cr_assert_not_null(strstr(err.message, path), "%s", err.message);
	free(path);
}

Test(privkey, ec_key_refused)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t len;
	unsigned char *pem = encode_priv(pkey, "PEM", "PrivateKeyInfo", &len);

	load_fails(pem, len, DKIM_ERR_KEY, "unsupported private key type");
	free(pem);
	EVP_PKEY_free(pkey);
}

Test(privkey, encrypted_pem_refused)
{
	static const char pem[] =
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
		"MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhqaD2hAmRLAgICCAAw\n"
		"-----END ENCRYPTED PRIVATE KEY-----\n";

	static const char legacy[] =
		"-----BEGIN RSA PRIVATE KEY-----\n"
		"Proc-Type: 4,ENCRYPTED\n"
		"DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n"
		"AAAA\n"
		"-----END RSA PRIVATE KEY-----\n";

	load_fails(pem, sizeof(pem) - 1, DKIM_ERR_KEY, "encrypted");
	load_fails(legacy, sizeof(legacy) - 1, DKIM_ERR_KEY, "encrypted");
}

Test(privkey, garbage_refused)
{
	static const char bad_pem[] =
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

	load_fails("", 0, DKIM_ERR_SYNTAX, "empty");
	load_fails(" \n\t", 3, DKIM_ERR_SYNTAX, "empty");
	load_fails("not a key!", 10, DKIM_ERR_SYNTAX, "neither PEM nor base64");
	load_fails("AAAAAAAA", 8, DKIM_ERR_SYNTAX, "not PKCS#1 or PKCS#8");
	load_fails(bad_pem, sizeof(bad_pem) - 1, DKIM_ERR_SYNTAX,
	           "PEM private key does not parse");
}

Test(privkey, trailing_bytes_after_der_refused)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	size_t len;
	unsigned char *der = encode_priv(pkey, "DER", "PrivateKeyInfo", &len);
	unsigned char *more = malloc(len + 3);
	char *b64;

	cr_assert_not_null(more);
	memcpy(more, der, len);
	memcpy(more + len, "xyz", 3);
	b64 = dkim_base64_encode(more, len + 3);
	load_fails(b64, strlen(b64), DKIM_ERR_SYNTAX, "after the key");
	free(b64);
	free(more);
	free(der);
	EVP_PKEY_free(pkey);
}

Test(privkey, oversize_input_refused)
{
	size_t n = 70000;
	char *big = malloc(n);

	cr_assert_not_null(big);
	memset(big, 'A', n);
	load_fails(big, n, DKIM_ERR_LIMIT, "too long");
	free(big);
}

Test(privkey, file_errors_name_the_path)
{
	dkim_error err = { 0 };
	char tmpl[] = "/tmp/test_key_XXXXXX";
	int fd;
	char *big;

	cr_assert_null(dkim_privkey_load_file("/nonexistent/dir/k.pem", &err));
	cr_assert_eq(err.status, DKIM_ERR_IO);
	cr_assert_not_null(strstr(err.message, "/nonexistent/dir/k.pem"));
	cr_assert_not_null(strstr(err.message, "No such file"), "%s", err.message);

	cr_assert_null(dkim_privkey_load_file("/tmp", &err));
	cr_assert_eq(err.status, DKIM_ERR_IO);
	cr_assert_not_null(strstr(err.message, "not a regular file"));

	fd = mkstemp(tmpl);
	cr_assert_geq(fd, 0);
	big = malloc(70000);
	cr_assert_not_null(big);
	memset(big, 'A', 70000);
	cr_assert_eq(write(fd, big, 70000), 70000);
	close(fd);
	cr_assert_null(dkim_privkey_load_file(tmpl, &err));
	cr_assert_eq(err.status, DKIM_ERR_LIMIT);
	cr_assert_not_null(strstr(err.message, tmpl));

	fd = open(tmpl, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "junk junk", 9), 9);
	close(fd);
	cr_assert_null(dkim_privkey_load_file(tmpl, &err));
	cr_assert_eq(err.status, DKIM_ERR_SYNTAX);
	cr_assert_not_null(strstr(err.message, tmpl), "%s", err.message);
	unlink(tmpl);
	free(big);
}

/* ---- key records --------------------------------------------------------------------- */

Test(pubkey, rfc8463_records)
{
	dkim_pubkey *ed = parse_data_record("rfc8463/brisbane.txt");
	dkim_pubkey *rsa = parse_data_record("rfc8463/test.txt");
	dkim_privkey *edpriv = load_data_file("rfc8463/ed25519.private");
	dkim_privkey *rsapriv = load_data_file("rfc8463/rsa.private");

	cr_assert_eq(dkim_pubkey_type(ed), DKIM_KEY_ED25519);
	cr_assert_eq(dkim_pubkey_bits(ed), 256);
	cr_assert(dkim_pubkey_matches(ed, edpriv));
	cr_assert_not(dkim_pubkey_matches(ed, rsapriv));
	cr_assert_eq(dkim_pubkey_type(rsa), DKIM_KEY_RSA);
	cr_assert_eq(dkim_pubkey_bits(rsa), 1024);
	cr_assert(dkim_pubkey_matches(rsa, rsapriv));
	cr_assert_not(dkim_pubkey_matches(rsa, edpriv));
	dkim_pubkey_unref(ed);
	dkim_pubkey_unref(rsa);
	dkim_privkey_free(edpriv);
	dkim_privkey_free(rsapriv);
}

/* A reload shares an unchanged key: the copy outlives the original. */
Test(privkey, dup_shares_the_key)
{
	dkim_pubkey *pub = parse_data_record("rfc8463/test.txt");
	dkim_privkey *priv = load_data_file("rfc8463/rsa.private");
	dkim_error err = { 0 };
	dkim_privkey *dup = dkim_privkey_dup(priv, &err);

	cr_assert_not_null(dup, "%s", err.message);
	cr_assert_eq(dkim_privkey_type(dup), DKIM_KEY_RSA);
	cr_assert_eq(dkim_privkey_bits(dup), dkim_privkey_bits(priv));
	dkim_privkey_free(priv);
	cr_assert(dkim_pubkey_matches(pub, dup));
	dkim_privkey_free(dup);
	cr_assert_null(dkim_privkey_dup(NULL, &err));
	cr_assert_eq(err.status, DKIM_ERR_INVALID);
	dkim_pubkey_unref(pub);
}

Test(pubkey, committed_records_match_committed_keys)
{
	static const char *names[] = { "keys/rsa2048", "keys/rsa1024-pkcs1",
	                               "keys/ed25519" };
	size_t i;

	for (i = 0; i < 3; i++) {
		char rel[64];
		dkim_pubkey *pub;
		dkim_privkey *priv;

		snprintf(rel, sizeof(rel), "%s.txt", names[i]);
		pub = parse_data_record(rel);
		snprintf(rel, sizeof(rel), "%s.pem", names[i]);
		priv = load_data_file(rel);
		cr_assert(dkim_pubkey_matches(pub, priv), "%s", names[i]);
		dkim_pubkey_unref(pub);
		dkim_privkey_free(priv);
	}
}

Test(pubkey, defaults_when_tags_absent)
{
	char *rec;
	dkim_privkey *priv = testkey_new(DKIM_KEY_RSA, 1024, &rec);
	/* testkey records are "v=DKIM1; k=rsa; p=..."; keep only p=. */
	dkim_pubkey *key = parse_ok(strstr(rec, "p="));

	cr_assert_not(dkim_pubkey_revoked(key));
	cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_RSA);
	cr_assert_eq(dkim_pubkey_bits(key), 1024);
	cr_assert_eq(dkim_pubkey_flags(key), 0);
	cr_assert(dkim_pubkey_allows_hash(key, DKIM_HASH_SHA256));
	cr_assert(dkim_pubkey_allows_hash(key, DKIM_HASH_SHA1));
	cr_assert(dkim_pubkey_allows_email(key));
	cr_assert(dkim_pubkey_matches(key, priv));
	dkim_pubkey_unref(key);
	dkim_privkey_free(priv);
	free(rec);
}

Test(pubkey, all_tags)
{
	char *rec;
	dkim_privkey *priv = testkey_new(DKIM_KEY_RSA, 1024, &rec);
	char *full = record_with("v=DKIM1; h=sha256; k=rsa; n=\"a note\"; "
	                         "s=email; t=y:s; ", strstr(rec, "p="));
	dkim_pubkey *key = parse_ok(full);

	cr_assert_eq(dkim_pubkey_flags(key),
	             DKIM_KEYFLAG_TESTING | DKIM_KEYFLAG_STRICT);
	cr_assert(dkim_pubkey_allows_hash(key, DKIM_HASH_SHA256));
	cr_assert_not(dkim_pubkey_allows_hash(key, DKIM_HASH_SHA1));
	cr_assert(dkim_pubkey_allows_email(key));
	cr_assert(dkim_pubkey_matches(key, priv));
	dkim_pubkey_unref(key);
	dkim_privkey_free(priv);
	free(full);
	free(rec);
}

Test(pubkey, ed25519_generated)
{
	char *rec;
	dkim_privkey *priv = testkey_new(DKIM_KEY_ED25519, 0, &rec);
	dkim_pubkey *key = parse_ok(rec);

	cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_ED25519);
	cr_assert(dkim_pubkey_matches(key, priv));
	dkim_pubkey_unref(key);
	dkim_privkey_free(priv);
	free(rec);
}

Test(pubkey, revoked)
{
	dkim_pubkey *key = parse_ok("v=DKIM1; k=rsa; p=");
	dkim_privkey *priv = load_data_file("rfc8463/rsa.private");
	unsigned char digest[32] = { 0 }, sig[128] = { 0 };
	dkim_error err = { 0 };

	cr_assert(dkim_pubkey_revoked(key));
	cr_assert_eq(dkim_pubkey_bits(key), 0);
	cr_assert_not(dkim_pubkey_matches(key, priv));
	cr_assert_eq(dkim_key_verify_digest(key, DKIM_HASH_SHA256, digest, 32,
	                                    sig, sizeof(sig), &err), DKIM_ERR_KEY);
	cr_assert_not_null(strstr(err.message, "revoked"));
	dkim_pubkey_unref(key);

	key = parse_ok("k=ed25519; p= ;");
	cr_assert(dkim_pubkey_revoked(key));
	cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_ED25519);
	dkim_pubkey_unref(key);
	dkim_privkey_free(priv);
}

Test(pubkey, bad_base64)
{
	parse_fails("v=DKIM1; p=MIGf*MA0G", DKIM_ERR_SYNTAX, "p= is not valid base64");
	parse_fails("v=DKIM1; p=MIG", DKIM_ERR_SYNTAX, "p= is not valid base64");
	parse_fails("v=DKIM1; p=AAAAAAAA", DKIM_ERR_SYNTAX, "not an RSA public key");
}

Test(pubkey, unknown_k)
{
	parse_fails("v=DKIM1; k=dsa; p=AAAA", DKIM_ERR_SYNTAX, "unknown key type k=dsa");
	parse_fails("k=; p=AAAA", DKIM_ERR_SYNTAX, "unknown key type");
}

Test(pubkey, ed25519_wrong_length)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *b64 = spki_b64(pkey);
	char *rec = record_with("v=DKIM1; k=ed25519; p=", b64);

	/* 31 bytes */
	parse_fails("k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	            DKIM_ERR_SYNTAX, "got 31 bytes");
	/* The SubjectPublicKeyInfo form is not what RFC 8463 §4.2 publishes. */
	parse_fails(rec, DKIM_ERR_SYNTAX, "got 44 bytes");
	free(rec);
	free(b64);
	EVP_PKEY_free(pkey);
}

Test(pubkey, key_type_mismatch)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *b64 = spki_b64(ed);
	char *rec = record_with("v=DKIM1; k=rsa; p=", b64);

	parse_fails(rec, DKIM_ERR_SYNTAX, "key of type ED25519, but k=rsa");
	free(rec);
	free(b64);
	/* An RSA SPKI under k=ed25519 has the wrong length. */
	parse_fails("v=DKIM1; k=ed25519; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
	            DKIM_ERR_SYNTAX, "ed25519 p= must be the raw 32-byte key");
	EVP_PKEY_free(ed);
}

Test(pubkey, size_limits)
{
	EVP_PKEY *big = fake_rsa_pub(8200), *max = fake_rsa_pub(8192);
	char *b64 = spki_b64(big), *rec = record_with("p=", b64);
	dkim_pubkey *key;

	parse_fails(rec, DKIM_ERR_SYNTAX, "RSA key too large (8200 bits");
	free(rec);
	free(b64);

	b64 = spki_b64(max);
	rec = record_with("p=", b64);
	key = parse_ok(rec);
	cr_assert_eq(dkim_pubkey_bits(key), 8192);
	dkim_pubkey_unref(key);
	free(rec);
	free(b64);
	EVP_PKEY_free(big);
	EVP_PKEY_free(max);
}

Test(pubkey, small_rsa_parses_for_policy)
{
	/* Refusing small keys is the verifier's policy (min_key_bits), not a
	 * syntax error: the record must parse and report its size. */
	EVP_PKEY *small = fake_rsa_pub(512);
	char *b64 = spki_b64(small), *rec = record_with("k=rsa; p=", b64);
	dkim_pubkey *key = parse_ok(rec);

	cr_assert_eq(dkim_pubkey_bits(key), 512);
	dkim_pubkey_unref(key);
	free(rec);
	free(b64);
	EVP_PKEY_free(small);
}

Test(pubkey, record_too_long)
{
	size_t n = 20000;
	char *rec = malloc(n + 1);

	cr_assert_not_null(rec);
	memcpy(rec, "p=", 2);
	memset(rec + 2, 'A', n - 2);
	rec[n] = '\0';
	parse_fails(rec, DKIM_ERR_LIMIT, "key record too long");
	free(rec);
}

Test(pubkey, h_restricts_hashes)
{
	static const struct {
		const char *h;
		bool sha256, sha1;
	} cases[] = {
		{ "h=sha256", true, false },
		{ "h=sha1", false, true },
		{ "h=sha1:sha256", true, true },
		{ "h = sha1 : sha256 ", true, true },
		{ "h=sha512:sha256", true, false },
		{ "h=md5", false, false },
		{ "h=", false, false },
		{ "h=SHA256", true, false },    /* RFC 5234 §2.3 (issue 16) */
		{ "h=Sha1:sHa256", true, true },
	};
	char *rec;
	dkim_privkey *priv = testkey_new(DKIM_KEY_RSA, 1024, &rec);
	const char *p = strstr(rec, "p=");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[1024];
		dkim_pubkey *key;

		snprintf(buf, sizeof(buf), "%s; %s", cases[i].h, p);
		key = parse_ok(buf);
		cr_assert_eq(dkim_pubkey_allows_hash(key, DKIM_HASH_SHA256),
		             cases[i].sha256, "%s", cases[i].h);
		cr_assert_eq(dkim_pubkey_allows_hash(key, DKIM_HASH_SHA1),
		             cases[i].sha1, "%s", cases[i].h);
		dkim_pubkey_unref(key);
	}
	dkim_privkey_free(priv);
	free(rec);
}

Test(pubkey, s_service_types)
{
	static const struct {
		const char *s;
		bool email;
	} cases[] = {
		{ "s=*", true },
		{ "s=email", true },
		{ "s=tlsrpt", false },
		{ "s=tlsrpt:email", true },
		{ "s= tlsrpt : * ", true },
		/* Quoted ABNF literals are case-insensitive (RFC 5234 §2.3);
		 * dkimpy and OpenDKIM accept these (issue 16). */
		{ "s=Email", true },
		{ "s=EMAIL:tlsrpt", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		dkim_pubkey *key;

		snprintf(buf, sizeof(buf),
		         "v=DKIM1; k=ed25519; %s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		         cases[i].s);
		key = parse_ok(buf);
		cr_assert_eq(dkim_pubkey_allows_email(key), cases[i].email, "%s",
		             cases[i].s);
		dkim_pubkey_unref(key);
	}
}

Test(pubkey, t_flags)
{
	static const struct {
		const char *t;
		unsigned flags;
	} cases[] = {
		{ "t=y", DKIM_KEYFLAG_TESTING },
		{ "t=s", DKIM_KEYFLAG_STRICT },
		{ "t=y:s", DKIM_KEYFLAG_TESTING | DKIM_KEYFLAG_STRICT },
		{ "t= s : y", DKIM_KEYFLAG_TESTING | DKIM_KEYFLAG_STRICT },
		{ "t=x:y:zz", DKIM_KEYFLAG_TESTING },
		{ "t=q", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		dkim_pubkey *key;

		snprintf(buf, sizeof(buf),
		         "k=ed25519; %s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		         cases[i].t);
		key = parse_ok(buf);
		cr_assert_eq(dkim_pubkey_flags(key), cases[i].flags, "%s", cases[i].t);
		dkim_pubkey_unref(key);
	}
}

Test(pubkey, unknown_tags_ignored_and_p_with_fws)
{
	dkim_pubkey *key = parse_ok(
		"v=DKIM1; g=*; x_new=whatever; zz=1; k=ed25519;\r\n"
		" p=11qYAYKxCrfVS/7TyWQ\r\n\tHOg7hcvPapiMlrwIaaPcHURo=;");

	cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_ED25519);
	dkim_pubkey_unref(key);
}

/*
 * Tag names outside the §3.2 grammar ("x-foo") are unknown tags too, as
 * OpenDKIM and dkimpy read them; known tags stay strict, duplicates errors.
 */
Test(pubkey, odd_tag_names_ignored)
{
	static const char *const ok[] = {
		"v=DKIM1; k=ed25519; x-foo=bar; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"v=DKIM1; 1x=2; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=; x.y=z",
		"k=ed25519; x-k=rsa; x-p=AAAA; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		dkim_pubkey *key = parse_ok(ok[i]);

		cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_ED25519, "%s", ok[i]);
		cr_assert_eq(dkim_pubkey_bits(key), 256);
		cr_assert(!dkim_pubkey_revoked(key));
		dkim_pubkey_unref(key);
	}
	/* an odd tag does not hide a revocation, nor excuse a bad known tag */
	{
		dkim_pubkey *key = parse_ok("v=DKIM1; x-note=old; p=");

		cr_assert(dkim_pubkey_revoked(key));
		dkim_pubkey_unref(key);
	}
	parse_fails("v=DKIM1; x-foo=bar; k=dsa; p=AAAA", DKIM_ERR_SYNTAX, "unknown key type");
	parse_fails("x-foo=bar; v=DKIM1; p=", DKIM_ERR_SYNTAX, "v= must be the first tag");
	parse_fails("v=DKIM1; x-a=1; x-a=2; p=", DKIM_ERR_SYNTAX, "duplicate tag \"x-a\"");
	parse_fails("v=DKIM1; k=ed25519; x-k=1; k=ed25519; p=", DKIM_ERR_SYNTAX,
	            "duplicate tag \"k\"");
	parse_fails("v=DKIM1; x-foo=\x01; p=", DKIM_ERR_SYNTAX, "invalid character");
	parse_fails("v=DKIM1; -foo=bar; p=", DKIM_ERR_SYNTAX, "must start with a letter");
	parse_fails("v=DKIM1; x foo=bar; p=", DKIM_ERR_SYNTAX, "expected \"=\"");
}

Test(pubkey, version_rules)
{
	parse_fails("k=rsa; v=DKIM1; p=", DKIM_ERR_SYNTAX, "v= must be the first tag");
	parse_fails("v=DKIM2; p=", DKIM_ERR_SYNTAX, "unsupported key record version");
	parse_fails("v=dkim1; p=", DKIM_ERR_SYNTAX, "unsupported key record version");
}

/* k= values are ABNF literals: case-insensitive (RFC 5234 §2.3, issue 16). */
Test(pubkey, k_case_insensitive)
{
	char *rec, buf[1024];
	dkim_privkey *priv = testkey_new(DKIM_KEY_RSA, 1024, &rec);
	dkim_pubkey *key;

	snprintf(buf, sizeof(buf), "v=DKIM1; k=RSA; h=SHA256; s=Email; %s",
	         strstr(rec, "p="));
	key = parse_ok(buf);
	cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_RSA);
	cr_assert(dkim_pubkey_allows_hash(key, DKIM_HASH_SHA256));
	cr_assert(dkim_pubkey_allows_email(key));
	cr_assert(dkim_pubkey_matches(key, priv));
	dkim_pubkey_unref(key);
	key = parse_ok("v=DKIM1; k=Ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_ED25519);
	dkim_pubkey_unref(key);
	dkim_privkey_free(priv);
	free(rec);
}

Test(pubkey, structural_errors)
{
	parse_fails("v=DKIM1; k=rsa", DKIM_ERR_SYNTAX, "no p= tag");
	parse_fails("", DKIM_ERR_SYNTAX, "no p= tag");
	parse_fails("p=; p=", DKIM_ERR_SYNTAX, "key record");
}

Test(pubkey, pkcs1_rsa_public_key_accepted)
{
	char *path = testkey_data_path("rfc8463/rsa.private");
	dkim_privkey *priv = load_data_file("rfc8463/rsa.private");
	EVP_PKEY *pkey = NULL;
	FILE *f = fopen(path, "r");
	OSSL_ENCODER_CTX *ctx;
	unsigned char *der = NULL;
	size_t len = 0;
	char *b64, *rec;
	dkim_pubkey *key;

	cr_assert_not_null(f);
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(pkey);
	/* "type-specific" public key of RSA is PKCS#1 RSAPublicKey. */
	ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "DER",
	                                    "type-specific", NULL);
	cr_assert_not_null(ctx);
	cr_assert_eq(OSSL_ENCODER_to_data(ctx, &der, &len), 1);
	OSSL_ENCODER_CTX_free(ctx);
	b64 = dkim_base64_encode(der, len);
	rec = record_with("v=DKIM1; p=", b64);
	key = parse_ok(rec);
	cr_assert_eq(dkim_pubkey_bits(key), 1024);
	cr_assert(dkim_pubkey_matches(key, priv));
	dkim_pubkey_unref(key);
	free(rec);
	free(b64);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	dkim_privkey_free(priv);
	free(path);
}

Test(pubkey, trailing_bytes_after_spki_refused)
{
	/* The RFC 8463 RSA SPKI plus three more bytes ("AAAA" = 00 00 00). */
	parse_fails("p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQABAAAA",
	            DKIM_ERR_SYNTAX, "after the public key");
}

Test(pubkey, reference_counting)
{
	dkim_pubkey *key = parse_ok("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");

	cr_assert_eq(dkim_pubkey_ref(key), key);
	dkim_pubkey_unref(key);
	cr_assert_eq(dkim_pubkey_type(key), DKIM_KEY_ED25519);
	dkim_pubkey_unref(key);
	dkim_pubkey_unref(NULL);
	cr_assert_null(dkim_pubkey_ref(NULL));
}

/* ---- sign and verify ------------------------------------------------------------------- */

static void round_trip(dkim_keytype type, unsigned bits)
{
	char *rec;
	dkim_privkey *priv = testkey_new(type, bits, &rec);
	dkim_pubkey *pub = parse_ok(rec);
	unsigned char digest[32], *sig;
	size_t siglen;
	dkim_error err = { 0 };
	size_t i;

	for (i = 0; i < sizeof(digest); i++)
		digest[i] = (unsigned char)(i * 7 + 3);
	cr_assert_eq(dkim_key_sign_digest(priv, digest, 32, &sig, &siglen, &err),
	             DKIM_OK, "%s", err.message);
	cr_assert_eq(siglen, type == DKIM_KEY_ED25519 ? 64 : bits / 8);
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32,
	                                    sig, siglen, &err), DKIM_OK,
	             "%s", err.message);

	/* A flipped bit in the signature, then in the digest, fails. */
	sig[siglen / 2] ^= 0x10;
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32,
	                                    sig, siglen, &err), DKIM_ERR_CRYPTO);
	cr_assert_not_null(strstr(err.message, "does not verify"));
	sig[siglen / 2] ^= 0x10;
	digest[0] ^= 1;
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32,
	                                    sig, siglen, &err), DKIM_ERR_CRYPTO);
	digest[0] ^= 1;
	/* A truncated signature fails. */
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32,
	                                    sig, siglen - 1, &err), DKIM_ERR_CRYPTO);
	/* Still good after all that. */
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32,
	                                    sig, siglen, &err), DKIM_OK);
	free(sig);
	dkim_pubkey_unref(pub);
	dkim_privkey_free(priv);
	free(rec);
}

Test(crypto, rsa_round_trip)
{
	round_trip(DKIM_KEY_RSA, 1024);
	round_trip(DKIM_KEY_RSA, 2048);
}

Test(crypto, ed25519_round_trip)
{
	round_trip(DKIM_KEY_ED25519, 0);
}

Test(crypto, wrong_key_fails)
{
	dkim_privkey *a = testkey_new(DKIM_KEY_ED25519, 0, NULL);
	char *rec;
	dkim_privkey *b = testkey_new(DKIM_KEY_ED25519, 0, &rec);
	dkim_pubkey *pub = parse_ok(rec);
	unsigned char digest[32] = { 1, 2, 3 }, *sig;
	size_t siglen;
	dkim_error err = { 0 };

	cr_assert_eq(dkim_key_sign_digest(a, digest, 32, &sig, &siglen, &err), DKIM_OK);
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32, sig,
	                                    siglen, &err), DKIM_ERR_CRYPTO);
	cr_assert_not(dkim_pubkey_matches(pub, a));
	free(sig);
	dkim_pubkey_unref(pub);
	dkim_privkey_free(a);
	dkim_privkey_free(b);
	free(rec);
}

Test(crypto, rsa_sha1_verifies)
{
	/* rsa-sha1 is refused by policy in msg.c, but key.c must still be able
	 * to tell a good sha1 signature from a bad one for reporting. */
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char *b64 = spki_b64(pkey), *rec = record_with("p=", b64);
	dkim_pubkey *pub = parse_ok(rec);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	unsigned char digest[20] = { 9, 8, 7 }, sig[128];
	size_t siglen = sizeof(sig);
	dkim_error err = { 0 };

	cr_assert_eq(EVP_PKEY_sign_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha1()), 1);
	cr_assert_eq(EVP_PKEY_sign(ctx, sig, &siglen, digest, 20), 1);
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA1, digest, 20, sig,
	                                    siglen, &err), DKIM_OK, "%s", err.message);
	/* The same signature checked as sha256 (wrong DigestInfo) fails. */
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 20, sig,
	                                    siglen, &err), DKIM_ERR_INVALID);
	EVP_PKEY_CTX_free(ctx);
	dkim_pubkey_unref(pub);
	free(rec);
	free(b64);
	EVP_PKEY_free(pkey);
}

Test(crypto, bad_arguments)
{
	dkim_privkey *priv = testkey_new(DKIM_KEY_ED25519, 0, NULL);
	dkim_pubkey *pub = parse_ok("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	unsigned char digest[32] = { 0 }, sig[64] = { 0 }, *out;
	size_t outlen;
	dkim_error err = { 0 };

	cr_assert_eq(dkim_key_sign_digest(priv, digest, 20, &out, &outlen, &err),
	             DKIM_ERR_INVALID);
	cr_assert_null(out);
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA1, digest, 20, sig,
	                                    64, &err), DKIM_ERR_INVALID);
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32, sig,
	                                    63, &err), DKIM_ERR_CRYPTO);
	cr_assert_not_null(strstr(err.message, "63 bytes"));
	dkim_pubkey_unref(pub);
	dkim_privkey_free(priv);
}

/*
 * RFC 8463 Appendix A.3: the header hashes of the two signatures of the
 * example message (relaxed/relaxed, computed independently of libdkim), and
 * their b= values. Ed25519 and RSA PKCS#1 v1.5 are deterministic, so signing
 * with the Appendix A.1 keys must give the published b= byte for byte.
 */
static const char rfc8463_ed_digest[] =
	"48ce9a2c710ece1710ff156996b836a7f45470e43efe5643074d6e1690ed62e7";
static const char rfc8463_ed_b[] =
	"/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7Zbn"
	"KELq+eXdp1Q1Dw==";
static const char rfc8463_rsa_digest[] =
	"fed71e6d70fb123bb5c353adc42821b304b6b9d54fc867f304f7c61daaaa1111";
static const char rfc8463_rsa_b[] =
	"F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4Bwc"
	"VcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO/"
	"/KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";

static void rfc8463_vector(const char *priv_rel, const char *rec_rel,
                           const char *hex, const char *b)
{
	dkim_privkey *priv = load_data_file(priv_rel);
	dkim_pubkey *pub = parse_data_record(rec_rel);
	unsigned char digest[32], *sig, *want;
	size_t siglen, wantlen;
	char *b64;
	dkim_error err = { 0 };

	hex_decode(hex, digest, sizeof(digest));
	cr_assert_eq(dkim_base64_decode(b, strlen(b), &want, &wantlen, &err), DKIM_OK);
	cr_assert_eq(dkim_key_verify_digest(pub, DKIM_HASH_SHA256, digest, 32,
	                                    want, wantlen, &err), DKIM_OK,
	             "%s: %s", rec_rel, err.message);
	cr_assert_eq(dkim_key_sign_digest(priv, digest, 32, &sig, &siglen, &err),
	             DKIM_OK, "%s", err.message);
	b64 = dkim_base64_encode(sig, siglen);
	cr_assert_str_eq(b64, b);
	free(b64);
	free(sig);
	free(want);
	dkim_pubkey_unref(pub);
	dkim_privkey_free(priv);
}

Test(crypto, rfc8463_ed25519_signature)
{
	rfc8463_vector("rfc8463/ed25519.private", "rfc8463/brisbane.txt",
	               rfc8463_ed_digest, rfc8463_ed_b);
}

Test(crypto, rfc8463_rsa_signature)
{
	rfc8463_vector("rfc8463/rsa.private", "rfc8463/test.txt",
	               rfc8463_rsa_digest, rfc8463_rsa_b);
}
