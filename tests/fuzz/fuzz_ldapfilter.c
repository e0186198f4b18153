/*
 * fuzz_ldapfilter.c - dataset_ldap_filter: an OpenDKIM LDAP filter turned
 * into one that reads every entry. No crash; an accepted filter gives an
 * attribute of attribute characters and a filter without "$d".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_ldap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *filter = malloc(size + 1), *attr, *all, why[128];

	if (filter == NULL)
		abort();
	memcpy(filter, data, size);
	filter[size] = '\0';
	if (dataset_ldap_filter(filter, &attr, &all, why, sizeof(why))) {
		if (*attr == '\0' || strstr(all, "$d") != NULL ||
		    strlen(all) != strlen(filter) - 1)
			__builtin_trap();
		free(attr);
		free(all);
	}
	free(filter);
	return 0;
}
