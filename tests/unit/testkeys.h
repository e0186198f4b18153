/*
 * testkeys.h - key pairs for unit tests (not part of libdkim).
 *
 * testkey_new makes a fresh key pair: the private key as libdkim loads it
 * (from PKCS#8 PEM, through dkim_privkey_load) and the matching key record
 * ("v=DKIM1; k=rsa; p=..."), ready for a lookup callback. RSA generation
 * costs ~10 ms at 1024 bits and ~100 ms at 2048: make one per test.
 * testkey_data_path names a file under tests/data/ of the source tree, where
 * keys/ has fixed keys (rsa2048.pem + rsa2048.txt, rsa1024-pkcs1.pem + .txt,
 * ed25519.pem + .txt, rsa512.pem) and rfc8463/ the RFC 8463 Appendix A keys.
 *
 * Failures abort the test process (Criterion reports a crash); these helpers
 * never return NULL.
 */
#ifndef TESTKEYS_H
#define TESTKEYS_H

#include "dkim.h"

/*
 * A new key pair. bits is the RSA modulus size (ignored for Ed25519).
 * *record receives the key record, malloc'd (free() it); record may be NULL.
 * Free the key with dkim_privkey_free.
 */
dkim_privkey *testkey_new(dkim_keytype type, unsigned bits, char **record);

/* "$top_srcdir/tests/data/<rel>", malloc'd (free() it). */
char *testkey_data_path(const char *rel);

/* A whole file of tests/data/ read into memory, NUL-terminated; malloc'd. */
char *testkey_read_data(const char *rel, size_t *len);

#endif /* TESTKEYS_H */
