/*
 * fuzz_hostlist.c - host list entries parsed from memory, as a plain file
 * and as a refile: list ("*" patterns), then matched against the first line
 * of the input as a name and as an address.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_hostlist_one(dataset_kind kind, const uint8_t *data,
                              size_t size, const char *first)
{
	diag_list diag = { 0 };
	hostlist *hl = hostlist_parse_buffer("fuzz", kind, (const char *)data,
	                                     size, &diag);

	if (hl != NULL) {
		(void)hostlist_match_name(hl, first);
		(void)hostlist_match_ip(hl, first);
		(void)hostlist_match(hl, NULL, first);
		(void)hostlist_match(hl, NULL, first[0] == '!' ? first + 1 : first);
	}
	hostlist_free(hl);
	diag_list_free(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *first = malloc(size + 1);

	if (first == NULL)
		abort();
	memcpy(first, data, size);
	first[size] = '\0';
	first[strcspn(first, "\n")] = '\0';
	fuzz_hostlist_one(DATASET_FILE, data, size, first);
	fuzz_hostlist_one(DATASET_REFILE, data, size, first);
	free(first);
	return 0;
}
