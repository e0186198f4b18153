/*
 * fuzz_dnsanswer.c - arbitrary bytes as the DNS answer to a key query.
 *
 * Drives dkim_resolver_answer (header, question, CNAME chain, TXT strings,
 * key record choice, SOA negative TTL) and hands the outcome to a small key
 * cache, as the resolver does, then reads it back.
 */
#include "dnsanswer.h"

#include <stdint.h>
#include <stddef.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char qname[] = "sel._domainkey.example.com";
	dkim_keyresult res, again;
	dkim_keycache *kc;
	dkim_keyflight *flight;
	uint32_t ttl;

	dkim_resolver_answer(data, size, qname, &res, &ttl);
	if (res.status == DKIM_LOOKUP_FOUND && res.key == NULL)
		__builtin_trap();   /* FOUND always carries a key */
	kc = dkim_keycache_new(2, 3600, 60);
	if (kc != NULL) {
		if (dkim_keycache_claim(kc, qname, &again, &flight) == DKIM_KEYCACHE_OWNER)
			dkim_keycache_publish(kc, flight, &res, ttl);
		if (dkim_keycache_claim(kc, qname, &again, &flight) == DKIM_KEYCACHE_HIT)
			dkim_keyresult_clear(&again);
		else
			dkim_keycache_publish(kc, flight, &res, ttl);
		dkim_keycache_free(kc);
	}
	dkim_keyresult_clear(&res);
	return 0;
}
