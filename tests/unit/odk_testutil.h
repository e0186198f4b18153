/*
 * odk_testutil.h - helpers for the opendkim configuration tests: a
 * temporary directory, files written into it, and freshly generated keys.
 */
#ifndef ODK_TESTUTIL_H
#define ODK_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates a fresh temporary directory; returns its path (static). */
const char *odk_tmpdir(void);
/* Writes text to DIR/name with mode; returns the malloc'd path. */
char *odk_write(const char *name, const char *text, mode_t mode);
/* Writes a new key (type "RSA" 1024 bits or "ED25519") as PEM to DIR/name. */
char *odk_write_key(const char *name, const char *type, mode_t mode);
/* A new RSA key as base64 of DER (malloc'd), for inline KeyTable keys. */
char *odk_inline_key(void);
/* Removes the temporary directory and everything in it. */
void odk_cleanup(void);

#endif
