/*
 * key.c - private keys, public key records, and the signature primitive.
 *
 * Interface (dkim.h, "private keys" and "public keys"; internal.h, key.c):
 *   dkim_privkey_load / _load_file   PEM (PKCS#1, PKCS#8; also with its line
 *                                    breaks lost), base64 of DER, base64 of
 *                                    a raw Ed25519 seed
 *   dkim_pubkey_parse                a key record (RFC 6376 §3.6.1, RFC 8463 §4)
 *   dkim_key_sign_digest             RSA PKCS#1 v1.5 / PureEdDSA of a digest
 *   dkim_key_verify_digest           the inverse
 *   dkim_pubkey_matches              public halves compared (testkey)
 * Keys are immutable after creation and may be shared between threads;
 * dkim_pubkey is reference counted with C11 atomics.
 *
 * Errors: DKIM_ERR_SYNTAX for records and key text that do not parse,
 * DKIM_ERR_KEY for keys of the wrong kind or size, DKIM_ERR_LIMIT for
 * oversized input, DKIM_ERR_CRYPTO when OpenSSL fails or a signature does
 * not verify, DKIM_ERR_IO for files. Every message says what was wrong;
 * OpenSSL's error queue is always left empty.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* Private key text (PEM, or base64 inline in a KeyTable). */
#define KEY_PRIV_MAX 65536
/* Key records: an 8192-bit SPKI is about 1.4 KB of base64; allow slack. */
#define KEY_RECORD_MAX 16384
/* RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits. */
#define KEY_RSA_MIN_BITS 1024
/* Verifying larger keys costs much CPU for nothing; refuse them. */
#define KEY_RSA_MAX_BITS 8192
/* RFC 8032 §5.1.5: Ed25519 keys are 32 bytes, signatures 64. */
#define KEY_ED25519_LEN 32
#define KEY_ED25519_SIGLEN 64
#define KEY_SHA256_LEN 32
#define KEY_SHA1_LEN 20

#define KEY_HASH_BIT(h) (1u << (unsigned)(h))
#define KEY_HASH_ALL (KEY_HASH_BIT(DKIM_HASH_SHA256) | KEY_HASH_BIT(DKIM_HASH_SHA1))

struct dkim_privkey {
	EVP_PKEY *pkey;
	dkim_keytype type;
	unsigned bits;
};

struct dkim_pubkey {
	atomic_uint refs;
	EVP_PKEY *pkey;             /* NULL when revoked */
	dkim_keytype type;
	unsigned bits;
	unsigned flags;             /* DKIM_KEYFLAG_* */
	unsigned hashes;            /* KEY_HASH_BIT of the hashes h= allows */
	bool allows_email;
	bool revoked;
};

/* ---- helpers ---------------------------------------------------------------- */

/*
 * Fails with what, followed by OpenSSL's reason for the most recent error
 * when there is one, and empties the thread's error queue so that nothing
 * stale is reported by a later, unrelated call.
 */
static dkim_status key_ossl_fail(dkim_error *err, dkim_status status,
                                 const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	if (reason != NULL)
		return dkim_fail(err, status, "%s (%s)", what, reason);
	return dkim_fail(err, status, "%s", what);
}

/* Sets type and bits from an EVP_PKEY; false for an unsupported algorithm. */
static bool key_classify(EVP_PKEY *pkey, dkim_keytype *type, unsigned *bits)
{
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int b = EVP_PKEY_get_bits(pkey);

		*type = DKIM_KEY_RSA;
		*bits = b > 0 ? (unsigned)b : 0;
		return true;
	}
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		/* Reported as the key's size, 256, as other verifiers do. */
		*type = DKIM_KEY_ED25519;
		*bits = KEY_ED25519_LEN * 8;
		return true;
	}
	return false;
}

/* Skips leading and trailing ASCII whitespace of [*p, *p + *len). */
static void key_trim(const char **p, size_t *len)
{
	while (*len > 0 && (dkim_is_wsp((unsigned char)**p) || **p == '\r' ||
	                    **p == '\n')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && (dkim_is_wsp((unsigned char)(*p)[*len - 1]) ||
	                    (*p)[*len - 1] == '\r' || (*p)[*len - 1] == '\n'))
		(*len)--;
}

static bool key_contains(const char *hay, size_t len, const char *needle)
{
	return memmem(hay, len, needle, strlen(needle)) != NULL;
}

/* ---- private keys ------------------------------------------------------------ */

/* Never prompt for a pass phrase: encrypted keys fail instead. */
static int key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static dkim_status key_priv_from_base64(const char *text, size_t len,
                                        EVP_PKEY **pkey, dkim_error *err);

/*
 * PEM whose line breaks were lost (a key inline on one KeyTable line):
 * "-----BEGIN <label>-----" base64 "-----END <label>-----". The body is
 * base64 of DER whatever the label, and base64 decoding skips whitespace.
 */
static bool key_priv_from_flat_pem(const char *text, size_t len, EVP_PKEY **pkey)
{
	const char *end = text + len, *body, *stop;

	body = memmem(text, len, "-----BEGIN ", 11);
	if (body == NULL)
		return false;
	body = memmem(body + 11, (size_t)(end - body - 11), "-----", 5);
	if (body == NULL)
		return false;
	body += 5;
	stop = memmem(body, (size_t)(end - body), "-----END ", 9);
	if (stop == NULL)
		return false;
	return key_priv_from_base64(body, (size_t)(stop - body), pkey, NULL) == DKIM_OK;
}

static dkim_status key_priv_from_pem(const char *text, size_t len,
                                     EVP_PKEY **pkey, dkim_error *err)
{
	BIO *bio;
	dkim_status st;

	/* PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY", or the legacy PEM header. */
	if (key_contains(text, len, "-----BEGIN ENCRYPTED") ||
	    key_contains(text, len, "Proc-Type: 4,ENCRYPTED"))
		return dkim_fail(err, DKIM_ERR_KEY,
		                 "encrypted private keys are not supported");
	bio = BIO_new_mem_buf(text, (int)len);
	if (bio == NULL)
		return key_ossl_fail(err, DKIM_ERR_NOMEM, "out of memory");
	*pkey = PEM_read_bio_PrivateKey(bio, NULL, key_no_passphrase, NULL);
	BIO_free(bio);
	if (*pkey != NULL) {
		ERR_clear_error();
		return DKIM_OK;
	}
	st = key_ossl_fail(err, DKIM_ERR_SYNTAX, "PEM private key does not parse");
	return key_priv_from_flat_pem(text, len, pkey) ? DKIM_OK : st;
}

/*
 * A raw Ed25519 private key: the 32-byte seed (RFC 8032 §5.1.5), or the
 * 64-byte seed || public key that libsodium-based tools write, in which
 * case the public half must be the one the seed gives.
 */
static dkim_status key_priv_from_seed(const unsigned char *der, size_t len,
                                      EVP_PKEY **pkey, dkim_error *err)
{
	unsigned char pub[KEY_ED25519_LEN];
	size_t publen = sizeof(pub);

	*pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, der,
	                                     KEY_ED25519_LEN);
	if (*pkey == NULL)
		return key_ossl_fail(err, DKIM_ERR_CRYPTO,
		                     "cannot make an Ed25519 key from the seed");
	if (len == 2 * KEY_ED25519_LEN &&
	    (EVP_PKEY_get_raw_public_key(*pkey, pub, &publen) != 1 ||
	     publen != KEY_ED25519_LEN ||
	     CRYPTO_memcmp(pub, der + KEY_ED25519_LEN, KEY_ED25519_LEN) != 0)) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
		return key_ossl_fail(err, DKIM_ERR_KEY,
		                     "64-byte Ed25519 key: second half is not the "
		                     "seed's public key");
	}
	return DKIM_OK;
}

/* Base64 of DER (PKCS#1 RSAPrivateKey or PKCS#8), or of a raw Ed25519 seed. */
static dkim_status key_priv_from_base64(const char *text, size_t len,
                                        EVP_PKEY **pkey, dkim_error *err)
{
	unsigned char *der;
	const unsigned char *p;
	size_t dlen;
	dkim_status st;
	dkim_error sub;

	st = dkim_base64_decode(text, len, &der, &dlen, &sub);
	if (st != DKIM_OK)
		return dkim_fail(err, st, "private key is neither PEM nor base64 (%s)",
		                 sub.message);
	if (dlen == KEY_ED25519_LEN || dlen == 2 * KEY_ED25519_LEN) {
		st = key_priv_from_seed(der, dlen, pkey, err);
	} else {
		p = der;
		*pkey = dlen <= (size_t)LONG_MAX ?
		        d2i_AutoPrivateKey(NULL, &p, (long)dlen) : NULL;
		if (*pkey == NULL)
			st = key_ossl_fail(err, DKIM_ERR_SYNTAX,
			                   "base64 private key is not PKCS#1 or PKCS#8 DER");
		else if (p != der + dlen)
			st = dkim_fail(err, DKIM_ERR_SYNTAX,
			               "base64 private key has %zu bytes after the key",
			               (size_t)(der + dlen - p));
		ERR_clear_error();
	}
	OPENSSL_cleanse(der, dlen);
	free(der);
	if (st != DKIM_OK) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
	}
	return st;
}

/* Accepts RSA of at least 1024 bits and Ed25519; takes pkey over. */
static dkim_privkey *key_priv_wrap(EVP_PKEY *pkey, dkim_error *err)
{
	dkim_privkey *key;
	dkim_keytype type;
	unsigned bits;

	if (!key_classify(pkey, &type, &bits)) {
		dkim_fail(err, DKIM_ERR_KEY,
		          "unsupported private key type %s (need RSA or Ed25519)",
		          EVP_PKEY_get0_type_name(pkey) ?
		          EVP_PKEY_get0_type_name(pkey) : "?");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if (type == DKIM_KEY_RSA && bits < KEY_RSA_MIN_BITS) {
		dkim_fail(err, DKIM_ERR_KEY,
		          "RSA key of %u bits is too small (RFC 8301 §3.2: at "
		          "least %u)", bits, KEY_RSA_MIN_BITS);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	key = calloc(1, sizeof(*key));
	if (key == NULL) {
		dkim_error_nomem(err);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	key->pkey = pkey;
	key->type = type;
	key->bits = bits;
	return key;
}

dkim_privkey *dkim_privkey_load(const void *data, size_t len, dkim_error *err)
{
	const char *text = data;
	EVP_PKEY *pkey = NULL;
	dkim_status st;

	if (text == NULL) {
		dkim_fail(err, DKIM_ERR_INVALID, "no private key data");
		return NULL;
	}
	if (len > KEY_PRIV_MAX) {
		dkim_fail(err, DKIM_ERR_LIMIT,
		          "private key text too long (%zu bytes, maximum %d)",
		          len, KEY_PRIV_MAX);
		return NULL;
	}
	key_trim(&text, &len);
	if (len == 0) {
		dkim_fail(err, DKIM_ERR_SYNTAX, "private key is empty");
		return NULL;
	}
	if (key_contains(text, len, "-----BEGIN"))
		st = key_priv_from_pem(text, len, &pkey, err);
	else
		st = key_priv_from_base64(text, len, &pkey, err);
	if (st != DKIM_OK)
		return NULL;
	return key_priv_wrap(pkey, err);
}

/* Reads at most KEY_PRIV_MAX bytes of a regular file into buf. */
static dkim_status key_read_file(const char *path, char *buf, size_t *len,
                                 dkim_error *err)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return dkim_fail(err, DKIM_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0) {
		int e = errno;

		close(fd);
		return dkim_fail(err, DKIM_ERR_IO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return dkim_fail(err, DKIM_ERR_IO, "%s: not a regular file", path);
	}
	/* Read one byte more than allowed to tell a file that is too long. */
	while (got <= KEY_PRIV_MAX &&
	       (n = read(fd, buf + got, KEY_PRIV_MAX + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return dkim_fail(err, DKIM_ERR_IO, "%s: %s", path, strerror(e));
		}
		got += (size_t)n;
	}
	close(fd);
	if (got > KEY_PRIV_MAX)
		return dkim_fail(err, DKIM_ERR_LIMIT,
		                 "%s: too large for a private key (over %d bytes)",
		                 path, KEY_PRIV_MAX);
	*len = got;
	return DKIM_OK;
}

dkim_privkey *dkim_privkey_load_file(const char *path, dkim_error *err)
{
	char *buf;
	size_t len = 0;
	dkim_privkey *key = NULL;
	dkim_error sub;

	if (path == NULL) {
		dkim_fail(err, DKIM_ERR_INVALID, "no private key file name");
		return NULL;
	}
	buf = malloc(KEY_PRIV_MAX + 1);
	if (buf == NULL) {
		dkim_error_nomem(err);
		return NULL;
	}
	if (key_read_file(path, buf, &len, err) == DKIM_OK) {
		key = dkim_privkey_load(buf, len, &sub);
		if (key == NULL)
			dkim_fail(err, sub.status, "%s: %s", path, sub.message);
	}
	OPENSSL_cleanse(buf, KEY_PRIV_MAX + 1);
	free(buf);
	return key;
}

dkim_keytype dkim_privkey_type(const dkim_privkey *key)
{
	return key->type;
}

unsigned dkim_privkey_bits(const dkim_privkey *key)
{
	return key->bits;
}

/*
 * The parsed key is shared, not copied: EVP_PKEY's reference count is
 * atomic, and a key is immutable once loaded, so both handles may be used
 * and freed by different threads.
 */
dkim_privkey *dkim_privkey_dup(const dkim_privkey *key, dkim_error *err)
{
	dkim_privkey *dup;

	if (key == NULL) {
		dkim_fail(err, DKIM_ERR_INVALID, "no private key");
		return NULL;
	}
	dup = malloc(sizeof(*dup));
	if (dup == NULL || EVP_PKEY_up_ref(key->pkey) != 1) {
		free(dup);
		dkim_error_nomem(err);
		return NULL;
	}
	*dup = *key;
	return dup;
}

void dkim_privkey_free(dkim_privkey *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* ---- key records: tags (RFC 6376 §3.6.1) ------------------------------------- */

/*
 * Calls fn on each element of a colon-separated list, FWS around the
 * elements removed (the h=, s= and t= grammars: [FWS] ":" [FWS]).
 */
static void key_list_each(const dkim_tag *tag,
                          void (*fn)(dkim_pubkey *key, const char *s, size_t n),
                          dkim_pubkey *key)
{
	const char *p = tag->value, *end = tag->value + tag->value_len;

	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *stop = colon != NULL ? colon : end;
		const char *s = p;
		size_t n = (size_t)(stop - p);

		key_trim(&s, &n);
		fn(key, s, n);
		if (colon == NULL)
			break;
		p = colon + 1;
	}
}

/* Exact: v= (§3.6.1 "MUST be set to "DKIM1"" and the tests of every peer). */
static bool key_eq(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/*
 * The values of h=, k=, s= and t= are quoted literals in the ABNF of
 * §3.6.1, and quoted ABNF strings are case-insensitive (RFC 5234 §2.3):
 * "h=SHA256; k=RSA; s=Email" is a valid record (dkimpy and OpenDKIM agree).
 */
static bool key_lit(const char *s, size_t n, const char *lit)
{
	return dkim_strcaseeq_n(s, n, lit);
}

/* h=: hash names; unknown ones are ignored (§3.6.1 "MUST ignore"). */
static void key_h_one(dkim_pubkey *key, const char *s, size_t n)
{
	if (key_lit(s, n, "sha256"))
		key->hashes |= KEY_HASH_BIT(DKIM_HASH_SHA256);
	else if (key_lit(s, n, "sha1"))
		key->hashes |= KEY_HASH_BIT(DKIM_HASH_SHA1);
}

/* s=: "*" or "email" allows email; other service types are ignored. */
static void key_s_one(dkim_pubkey *key, const char *s, size_t n)
{
	if (key_lit(s, n, "*") || key_lit(s, n, "email"))
		key->allows_email = true;
}

/* t=: y (testing) and s (strict i=); unknown flags MUST be ignored. */
static void key_t_one(dkim_pubkey *key, const char *s, size_t n)
{
	if (key_lit(s, n, "y"))
		key->flags |= DKIM_KEYFLAG_TESTING;
	else if (key_lit(s, n, "s"))
		key->flags |= DKIM_KEYFLAG_STRICT;
}

/* v=: "RECOMMENDED ... If specified, this tag MUST be set to "DKIM1" ...
 * This tag MUST be the first tag in the record." */
static dkim_status key_parse_v(const dkim_tag *tags, size_t ntags,
                               dkim_error *err)
{
	const dkim_tag *v = dkim_taglist_find(tags, ntags, "v");

	if (v == NULL)
		return DKIM_OK;
	if (v != &tags[0])
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "v= must be the first tag of the key record");
	if (!key_eq(v->value, v->value_len, "DKIM1"))
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "unsupported key record version v=%.*s (need DKIM1)",
		                 (int)(v->value_len > 32 ? 32 : v->value_len), v->value);
	return DKIM_OK;
}

/* k=: "rsa" (the default) or "ed25519" (RFC 8463 §4). */
static dkim_status key_parse_k(const dkim_tag *tags, size_t ntags,
                               dkim_pubkey *key, dkim_error *err)
{
	const dkim_tag *k = dkim_taglist_find(tags, ntags, "k");

	key->type = DKIM_KEY_RSA;
	if (k == NULL || key_lit(k->value, k->value_len, "rsa"))
		return DKIM_OK;
	if (key_lit(k->value, k->value_len, "ed25519")) {
		key->type = DKIM_KEY_ED25519;
		return DKIM_OK;
	}
	return dkim_fail(err, DKIM_ERR_SYNTAX, "unknown key type k=%.*s",
	                 (int)(k->value_len > 32 ? 32 : k->value_len), k->value);
}

/* h=, s= and t=, each with its default when absent. */
static void key_parse_lists(const dkim_tag *tags, size_t ntags, dkim_pubkey *key)
{
	const dkim_tag *h = dkim_taglist_find(tags, ntags, "h");
	const dkim_tag *s = dkim_taglist_find(tags, ntags, "s");
	const dkim_tag *t = dkim_taglist_find(tags, ntags, "t");

	/* h= "Defaults to allowing all algorithms." */
	key->hashes = h == NULL ? KEY_HASH_ALL : 0;
	if (h != NULL)
		key_list_each(h, key_h_one, key);
	/* s= "Default is "*"." */
	key->allows_email = s == NULL;
	if (s != NULL)
		key_list_each(s, key_s_one, key);
	key->flags = 0;
	if (t != NULL)
		key_list_each(t, key_t_one, key);
}

/* ---- key records: the p= key --------------------------------------------------- */

/*
 * RSA p=: "an RSA public key ... ASN.1 DER-encoded ... SubjectPublicKeyInfo"
 * (RFC 6376 §3.6.1). Some publish a bare PKCS#1 RSAPublicKey; accept it too.
 */
static dkim_status key_pub_rsa(const unsigned char *der, size_t len,
                               EVP_PKEY **pkey, dkim_error *err)
{
	const unsigned char *p = der;
	long dlen = (long)len;

	*pkey = d2i_PUBKEY(NULL, &p, dlen);
	if (*pkey == NULL) {
		ERR_clear_error();
		p = der;
		*pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, dlen);
	}
	if (*pkey == NULL)
		return key_ossl_fail(err, DKIM_ERR_SYNTAX,
		                     "p= is not an RSA public key (neither "
		                     "SubjectPublicKeyInfo nor RSAPublicKey DER)");
	ERR_clear_error();
	if (p != der + len)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "p= has %zu bytes after the public key",
		                 (size_t)(der + len - p));
	if (!EVP_PKEY_is_a(*pkey, "RSA"))
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "p= holds a key of type %s, but k=rsa",
		                 EVP_PKEY_get0_type_name(*pkey) ?
		                 EVP_PKEY_get0_type_name(*pkey) : "non-RSA");
	return DKIM_OK;
}

/* Ed25519 p=: the raw 32-byte public key (RFC 8463 §4.2), no ASN.1. */
static dkim_status key_pub_ed25519(const unsigned char *raw, size_t len,
                                   EVP_PKEY **pkey, dkim_error *err)
{
	/* 44 bytes is the SubjectPublicKeyInfo form some tools publish. */
	if (len != KEY_ED25519_LEN)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "ed25519 p= must be the raw %d-byte key (RFC 8463 "
		                 "§4.2), got %zu bytes%s", KEY_ED25519_LEN, len,
		                 len == 44 ? " (an ASN.1 SubjectPublicKeyInfo?)" : "");
	*pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
	if (*pkey == NULL)
		return key_ossl_fail(err, DKIM_ERR_SYNTAX,
		                     "ed25519 p= is not a valid public key");
	return DKIM_OK;
}

/* p=: required; empty means the key was revoked (§3.6.1). */
static dkim_status key_parse_p(const dkim_tag *tags, size_t ntags,
                               dkim_pubkey *key, dkim_error *err)
{
	const dkim_tag *p = dkim_taglist_find(tags, ntags, "p");
	unsigned char *raw;
	size_t len;
	dkim_error sub;
	dkim_status st;

	if (p == NULL)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "key record has no p= tag");
	st = dkim_base64_decode(p->value, p->value_len, &raw, &len, &sub);
	if (st != DKIM_OK)
		return dkim_fail(err, st, "p= is not valid base64 (%s)", sub.message);
	if (len == 0) {
		free(raw);
		key->revoked = true;
		return DKIM_OK;
	}
	if (key->type == DKIM_KEY_ED25519)
		st = key_pub_ed25519(raw, len, &key->pkey, err);
	else
		st = key_pub_rsa(raw, len, &key->pkey, err);
	free(raw);
	if (st != DKIM_OK)
		return st;
	key_classify(key->pkey, &key->type, &key->bits);
	if (key->type == DKIM_KEY_RSA && key->bits > KEY_RSA_MAX_BITS)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "RSA key too large (%u bits, maximum %d)",
		                 key->bits, KEY_RSA_MAX_BITS);
	return DKIM_OK;
}

/* ---- key records: the object ----------------------------------------------------- */

static dkim_status key_parse_record(const char *record, size_t len,
                                    dkim_pubkey *key, dkim_error *err)
{
	dkim_tag tags[DKIM_MAX_TAGS];
	size_t ntags = 0;
	dkim_error sub;
	dkim_status st;

	/* §3.2: "Unrecognized tags MUST be ignored", "x-foo" among them. */
	st = dkim_taglist_parse_tolerant(record, len, tags, DKIM_MAX_TAGS, &ntags, &sub);
	if (st != DKIM_OK)
		return dkim_fail(err, st, "key record: %s", sub.message);
	st = key_parse_v(tags, ntags, err);
	if (st == DKIM_OK)
		st = key_parse_k(tags, ntags, key, err);
	if (st == DKIM_OK) {
		key_parse_lists(tags, ntags, key);
		st = key_parse_p(tags, ntags, key, err);
	}
	return st;
}

dkim_pubkey *dkim_pubkey_parse(const char *record, size_t len, dkim_error *err)
{
	dkim_pubkey *key;

	if (record == NULL) {
		dkim_fail(err, DKIM_ERR_INVALID, "no key record");
		return NULL;
	}
	if (len > KEY_RECORD_MAX) {
		dkim_fail(err, DKIM_ERR_LIMIT,
		          "key record too long (%zu bytes, maximum %d)",
		          len, KEY_RECORD_MAX);
		return NULL;
	}
	key = calloc(1, sizeof(*key));
	if (key == NULL) {
		dkim_error_nomem(err);
		return NULL;
	}
	atomic_init(&key->refs, 1);
	if (key_parse_record(record, len, key, err) != DKIM_OK) {
		EVP_PKEY_free(key->pkey);
		free(key);
		return NULL;
	}
	return key;
}

dkim_pubkey *dkim_pubkey_ref(dkim_pubkey *key)
{
	if (key != NULL)
		atomic_fetch_add_explicit(&key->refs, 1, memory_order_relaxed);
	return key;
}

void dkim_pubkey_unref(dkim_pubkey *key)
{
	if (key == NULL)
		return;
	/* acq_rel: the last owner sees every other owner's use of the key. */
	if (atomic_fetch_sub_explicit(&key->refs, 1, memory_order_acq_rel) != 1)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

bool dkim_pubkey_revoked(const dkim_pubkey *key)
{
	return key->revoked;
}

dkim_keytype dkim_pubkey_type(const dkim_pubkey *key)
{
	return key->type;
}

unsigned dkim_pubkey_bits(const dkim_pubkey *key)
{
	return key->bits;
}

unsigned dkim_pubkey_flags(const dkim_pubkey *key)
{
	return key->flags;
}

bool dkim_pubkey_allows_hash(const dkim_pubkey *key, dkim_hash hash)
{
	return (key->hashes & KEY_HASH_BIT(hash)) != 0;
}

bool dkim_pubkey_allows_email(const dkim_pubkey *key)
{
	return key->allows_email;
}

bool dkim_pubkey_matches(const dkim_pubkey *key, const dkim_privkey *priv)
{
	/* EVP_PKEY_eq compares the public components only. */
	bool eq;

	if (key == NULL || priv == NULL || key->pkey == NULL)
		return false;
	eq = EVP_PKEY_eq(key->pkey, priv->pkey) == 1;
	ERR_clear_error();
	return eq;
}

/* ---- signing and verifying a header digest ---------------------------------------- */

/*
 * An RSA PKEY context set up for PKCS#1 v1.5 over a digest made with md
 * (RFC 6376 §3.3.1: RSASSA-PKCS1-v1_5). verify selects the direction.
 */
static EVP_PKEY_CTX *key_rsa_ctx(EVP_PKEY *pkey, const EVP_MD *md, bool verify)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (ctx == NULL)
		return NULL;
	if ((verify ? EVP_PKEY_verify_init(ctx) : EVP_PKEY_sign_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static dkim_status key_rsa_sign(EVP_PKEY *pkey, const unsigned char *digest,
                                size_t dlen, unsigned char **sig,
                                size_t *siglen, dkim_error *err)
{
	EVP_PKEY_CTX *ctx = key_rsa_ctx(pkey, EVP_sha256(), false);
	size_t len = 0;

	if (ctx == NULL)
		return key_ossl_fail(err, DKIM_ERR_CRYPTO, "RSA signing setup failed");
	if (EVP_PKEY_sign(ctx, NULL, &len, digest, dlen) != 1 ||
	    (*sig = malloc(len)) == NULL) {
		EVP_PKEY_CTX_free(ctx);
		return key_ossl_fail(err, DKIM_ERR_CRYPTO, "RSA signing failed");
	}
	if (EVP_PKEY_sign(ctx, *sig, &len, digest, dlen) != 1) {
		EVP_PKEY_CTX_free(ctx);
		free(*sig);
		*sig = NULL;
		return key_ossl_fail(err, DKIM_ERR_CRYPTO, "RSA signing failed");
	}
	EVP_PKEY_CTX_free(ctx);
	*siglen = len;
	return DKIM_OK;
}

/*
 * RFC 8463 §3: "The Ed25519-SHA256 signing algorithm computes a message
 * hash as defined in Section 3 of [RFC6376] using SHA-256 ... It signs the
 * hash with the PureEdDSA variant Ed25519": the 32-byte digest is the
 * message given to Ed25519, hence no md in EVP_DigestSignInit.
 */
static dkim_status key_ed25519_sign(EVP_PKEY *pkey, const unsigned char *digest,
                                    size_t dlen, unsigned char **sig,
                                    size_t *siglen, dkim_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len = KEY_ED25519_SIGLEN;

	*sig = malloc(KEY_ED25519_SIGLEN);
	if (md == NULL || *sig == NULL ||
	    EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(md, *sig, &len, digest, dlen) != 1) {
		EVP_MD_CTX_free(md);
		free(*sig);
		*sig = NULL;
		return key_ossl_fail(err, DKIM_ERR_CRYPTO, "Ed25519 signing failed");
	}
	EVP_MD_CTX_free(md);
	*siglen = len;
	return DKIM_OK;
}

dkim_status dkim_key_sign_digest(const dkim_privkey *key, const unsigned char *digest,
                                 size_t dlen, unsigned char **sig, size_t *siglen,
                                 dkim_error *err)
{
	*sig = NULL;
	*siglen = 0;
	if (key == NULL || digest == NULL)
		return dkim_fail(err, DKIM_ERR_INVALID, "sign: no key or digest");
	/* Both algorithms we sign with hash with SHA-256 (RFC 8301 §3.1). */
	if (dlen != KEY_SHA256_LEN)
		return dkim_fail(err, DKIM_ERR_INVALID,
		                 "sign: digest of %zu bytes, expected a SHA-256 digest",
		                 dlen);
	if (key->type == DKIM_KEY_ED25519)
		return key_ed25519_sign(key->pkey, digest, dlen, sig, siglen, err);
	return key_rsa_sign(key->pkey, digest, dlen, sig, siglen, err);
}

static dkim_status key_rsa_verify(EVP_PKEY *pkey, dkim_hash hash,
                                  const unsigned char *digest, size_t dlen,
                                  const unsigned char *sig, size_t siglen,
                                  dkim_error *err)
{
	const EVP_MD *md = hash == DKIM_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
	size_t want = hash == DKIM_HASH_SHA1 ? KEY_SHA1_LEN : KEY_SHA256_LEN;
	EVP_PKEY_CTX *ctx;
	int ok;

	if (dlen != want)
		return dkim_fail(err, DKIM_ERR_INVALID,
		                 "verify: digest of %zu bytes, expected %zu", dlen, want);
	ctx = key_rsa_ctx(pkey, md, true);
	if (ctx == NULL)
		return key_ossl_fail(err, DKIM_ERR_CRYPTO, "RSA verify setup failed");
	ok = EVP_PKEY_verify(ctx, sig, siglen, digest, dlen);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (ok != 1)
		return dkim_fail(err, DKIM_ERR_CRYPTO, "RSA signature does not verify");
	return DKIM_OK;
}

static dkim_status key_ed25519_verify(EVP_PKEY *pkey, dkim_hash hash,
                                      const unsigned char *digest, size_t dlen,
                                      const unsigned char *sig, size_t siglen,
                                      dkim_error *err)
{
	EVP_MD_CTX *md;
	int ok;

	/* RFC 8463 §3: ed25519-sha256 only. */
	if (hash != DKIM_HASH_SHA256 || dlen != KEY_SHA256_LEN)
		return dkim_fail(err, DKIM_ERR_INVALID,
		                 "verify: Ed25519 needs a SHA-256 digest");
	if (siglen != KEY_ED25519_SIGLEN)
		return dkim_fail(err, DKIM_ERR_CRYPTO,
		                 "Ed25519 signature of %zu bytes (must be %d)",
		                 siglen, KEY_ED25519_SIGLEN);
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) != 1) {
		EVP_MD_CTX_free(md);
		return key_ossl_fail(err, DKIM_ERR_CRYPTO, "Ed25519 verify setup failed");
	}
	ok = EVP_DigestVerify(md, sig, siglen, digest, dlen);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (ok != 1)
		return dkim_fail(err, DKIM_ERR_CRYPTO,
		                 "Ed25519 signature does not verify");
	return DKIM_OK;
}

dkim_status dkim_key_verify_digest(const dkim_pubkey *key, dkim_hash hash,
                                   const unsigned char *digest, size_t dlen,
                                   const unsigned char *sig, size_t siglen,
                                   dkim_error *err)
{
	if (key == NULL || digest == NULL || (sig == NULL && siglen > 0))
		return dkim_fail(err, DKIM_ERR_INVALID, "verify: no key or digest");
	if (key->revoked || key->pkey == NULL)
		return dkim_fail(err, DKIM_ERR_KEY, "key revoked (empty p=)");
	if (key->type == DKIM_KEY_ED25519)
		return key_ed25519_verify(key->pkey, hash, digest, dlen, sig, siglen,
		                          err);
	return key_rsa_verify(key->pkey, hash, digest, dlen, sig, siglen, err);
}
