/*
 * odk_testutil.c - temporary files and generated keys for the opendkim
 * configuration tests (interface: odk_testutil.h). Keys come from OpenSSL
 * (EVP_PKEY_Q_keygen), written with PEM_write_PrivateKey.
 */
#include "odk_testutil.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char odk_dir[64];

const char *odk_tmpdir(void)
{
	if (odk_dir[0] == '\0') {
		snprintf(odk_dir, sizeof(odk_dir), "/tmp/odktest.XXXXXX");
		cr_assert_not_null(mkdtemp(odk_dir));
	}
	return odk_dir;
}

static char *odk_path(const char *name)
{
	char *path;

	cr_assert(asprintf(&path, "%s/%s", odk_tmpdir(), name) > 0);
	return path;
}

char *odk_write(const char *name, const char *text, mode_t mode)
{
	char *path = odk_path(name);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot create %s", path);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

static EVP_PKEY *odk_keygen(const char *type)
{
	EVP_PKEY *pkey = strcmp(type, "RSA") == 0
	                 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)
	                 : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	cr_assert_not_null(pkey);
	return pkey;
}

char *odk_write_key(const char *name, const char *type, mode_t mode)
{
	char *path = odk_path(name);
	EVP_PKEY *pkey = odk_keygen(type);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	EVP_PKEY_free(pkey);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

char *odk_inline_key(void)
{
	EVP_PKEY *pkey = odk_keygen("RSA");
	unsigned char *der = NULL;
	int len = i2d_PrivateKey(pkey, &der);
	char *b64;

	cr_assert(len > 0);
	b64 = malloc((size_t)len * 2 + 4);
	cr_assert_not_null(b64);
	EVP_EncodeBlock((unsigned char *)b64, der, len);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	return b64;
}

void odk_cleanup(void)
{
	char *cmd;

	if (odk_dir[0] == '\0')
		return;
	if (asprintf(&cmd, "rm -rf '%s'", odk_dir) > 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", odk_dir);
		free(cmd);
	}
	odk_dir[0] = '\0';
}
