/*
 * fuzz_config.c - opendkim.conf parsing from memory. CONFIG_PARSE_ONLY:
 * no files, users or keys are touched, only the parser and the value
 * checks (inline lists and host lists included).
 */
#include <stddef.h>
#include <stdint.h>

#include "odkconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	diag_list diag = { 0 };
	config *cfg = config_parse_buffer("fuzz.conf", (const char *)data, size,
	                                  NULL, CONFIG_PARSE_ONLY, &diag);

	if (cfg != NULL && diag.errors != 0)
		__builtin_trap();       /* errors must refuse the configuration */
	config_unref(cfg);
	diag_list_free(&diag);
	return 0;
}
