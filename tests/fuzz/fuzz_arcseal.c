/*
 * fuzz_arcseal.c - libFuzzer target for opendkim/arcseal.c's readers of
 * message fields: the arc= result of a received Authentication-Results
 * value (arcseal_ar_arc_result, for cv= at a list's distribution) and the
 * instance and authserv-id of ARC-Authentication-Results fields (one set
 * per hop, through arcseal_plan).
 *
 * The input is split at NUL bytes: an Authentication-Results value, then
 * ARC-Authentication-Results values. Nothing may crash or read past a
 * value; the result read is one of none/pass/fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arcseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FIELDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';

	dkim_arc_result r = DKIM_ARC_NONE;
	if (arcseal_ar_arc_result(copy, &r) && r != DKIM_ARC_NONE &&
	    r != DKIM_ARC_PASS && r != DKIM_ARC_FAIL)
		abort();

	/* the pieces as header fields of a message sealed at this hop */
	policy_header hdrs[FUZZ_FIELDS];
	size_t n = 0;
	for (char *p = copy; p < copy + size && n < FUZZ_FIELDS; p += strlen(p) + 1) {
		hdrs[n].name = n == 0 ? "Authentication-Results" : "ARC-Authentication-Results";
		hdrs[n].value = p;
		n++;
	}
	static config cfg;
	static keystore_entry key;
	cfg.arc_seal = cfg.arc_verify = true;
	cfg.arc_key = &key;
	cfg.arc_seal_mail = CONFIG_ARC_ALL;
	policy_decision decision = { .verify = true };
	arcseal plan;
	arcseal_plan(&cfg, &decision, true, hdrs, n, "mx.example.net", NULL, &plan);
	if (plan.earlier_cv != DKIM_ARC_NONE && plan.earlier_cv != DKIM_ARC_PASS &&
	    plan.earlier_cv != DKIM_ARC_FAIL)
		abort();
	free(copy);
	return 0;
}
