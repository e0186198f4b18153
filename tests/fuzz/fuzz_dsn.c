/*
 * fuzz_dsn.c - "dsn:" data set names (dataset_dsn_parse) and the query
 * built from them: no crash, and what is accepted holds its promises (the
 * identifiers pasted into SQL are identifiers, the redacted name hides a
 * password).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_ident(const char *s)
{
	if (*s == '\0' || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$") !=
	    strlen(s))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1), why[256];
	dataset_dsn dsn;

	if (spec == NULL)
		abort();
	memcpy(spec, data, size);
	spec[size] = '\0';
	if (dataset_dsn_parse(spec, &dsn, why, sizeof(why))) {
		char *q = dataset_dsn_query(&dsn);

		fuzz_check_ident(dsn.table);
		fuzz_check_ident(dsn.keycol);
		for (size_t i = 0; i < dsn.ndatacols; i++)
			fuzz_check_ident(dsn.datacols[i]);
		if (dsn.password != NULL && strstr(dsn.redacted, "***") == NULL)
			__builtin_trap();
		if (q == NULL || strncmp(q, "SELECT ", 7) != 0)
			__builtin_trap();
		free(q);
		dataset_dsn_free(&dsn);
	} else if (memchr(why, '\0', sizeof(why)) == NULL) {
		__builtin_trap();
	}
	free(spec);
	return 0;
}
