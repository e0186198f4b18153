/*
 * dnsanswer.h - the DNS side of a key lookup that needs no network: the
 * query name "selector._domainkey.domain", and the pure function that
 * turns the bytes of one DNS answer into a lookup outcome (tests and the
 * fuzzer call it without a network; resolver.c calls it for every answer
 * c-ares hands over). Not installed.
 */
#ifndef DKIM_DNSANSWER_H
#define DKIM_DNSANSWER_H

#include "keycache.h"

#include <stddef.h>
#include <stdint.h>

/* RFC 1035 §3.2.2, §3.2.4: the only type and class a key query uses. */
#define DKIM_DNS_T_TXT 16
#define DKIM_DNS_C_IN 1

/*
 * Builds "selector._domainkey.domain" into name (DKIM_KEYNAME_MAX + 1
 * bytes). False when a part is empty, too long, or holds a byte outside
 * letters, digits, '-', '_' and inner dots (c-ares would read '\\' as an
 * escape; RFC 6376 §3.5 wants A-labels).
 */
bool dkim_resolver_keyname(const char *selector, const char *domain,
                           char *name);

/*
 * Decides the outcome of a DNS answer (the whole message, as received) to
 * the TXT query for qname: RCODE, question, CNAME chain from qname, TXT
 * records at the end of it (strings concatenated, RFC 6376 §3.6.2.2), key
 * record selection. *ttl gets the time the outcome may be cached (the
 * smallest TTL on the way; for NXDOMAIN/NODATA the SOA's negative TTL,
 * RFC 2308 §5) or DKIM_TTL_UNKNOWN. Never fails: malformed answers are
 * TEMPFAIL. out->key gets a reference when FOUND.
 */
void dkim_resolver_answer(const unsigned char *abuf, size_t alen,
                          const char *qname, dkim_keyresult *out,
                          uint32_t *ttl);

/* The TEMPFAIL outcome of an RCODE other than NOERROR and NXDOMAIN. */
void dkim_dns_rcode_result(unsigned rcode, dkim_keyresult *out);

#endif /* DKIM_DNSANSWER_H */
