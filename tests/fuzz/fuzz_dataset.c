/*
 * fuzz_dataset.c - data set files (file: and refile:) parsed from memory,
 * then looked up with a key taken from the input, and an inline list.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_lookup(const dataset *ds, const char *key)
{
	size_t pos = 0, n = 0;

	while (dataset_next_match(ds, key, &pos) != NULL)
		n++;
	if (n > ds->count)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	diag_list diag = { 0 };
	dataset *ds;
	char *text, *key;

	if (size == 0)
		return 0;
	ds = dataset_parse_buffer("fuzz", data[0] & 1 ? DATASET_REFILE
	                                              : DATASET_FILE,
	                          (const char *)data + 1, size - 1, &diag);
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	key = text + strcspn(text, "\n");
	key += *key != '\0';
	if (ds != NULL) {
		fuzz_lookup(ds, key);
		dataset_free(ds);
	}
	ds = dataset_parse_csl(text, &diag);
	if (ds != NULL) {
		fuzz_lookup(ds, key);
		dataset_free(ds);
	}
	free(text);
	diag_list_free(&diag);
	return 0;
}
