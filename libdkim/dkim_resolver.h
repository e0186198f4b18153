/*
 * dkim_resolver.h - DKIM key retrieval over DNS through c-ares, with a
 * key cache shared by threads.
 *
 * A dkim_resolver is created once (per configuration) and shared by all
 * threads. dkim_resolver_lookup has the signature of dkim_lookup_fn, so a
 * message is verified with
 *     dkim_msg_verify(msg, dkim_resolver_lookup, resolver, &err);
 * All queries of one call run concurrently; the call returns when every
 * query has an answer or the timeout (the whole lookup) has passed.
 *
 * Outcomes (RFC 6376 §6.1.2): NXDOMAIN / no TXT: NOTFOUND ("no key for
 * signature"); SERVFAIL, REFUSED, timeout: TEMPFAIL; a record that does not
 * parse, or several that do: PERMFAIL with the reason; empty p=: FOUND with
 * a revoked key.
 */
#ifndef DKIM_RESOLVER_H
#define DKIM_RESOLVER_H

#include "dkim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
	/*
	 * Comma-separated servers: "192.0.2.1", "192.0.2.1:5353",
	 * "[2001:db8::1]:5353", "192.0.2.1@5353", "2001:db8::1@5353".
	 * NULL or "": the system configuration (/etc/resolv.conf).
	 */
	const char *nameservers;
	unsigned timeout_ms;        /* whole lookup; default 5000 */
	bool cache;                 /* QueryCache; default true */
	size_t cache_entries;       /* LRU bound; default 10000 */
	unsigned cache_max_ttl;     /* TTL ceiling in seconds; default 3600 */
	unsigned cache_negative_ttl;/* NXDOMAIN caching; default 60 */
} dkim_resolver_options;

typedef struct dkim_resolver dkim_resolver;

typedef struct {
	uint64_t queries_sent;      /* DNS queries actually sent */
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t inflight_waits;    /* misses answered by another thread's query */
	size_t cache_entries;       /* entries held now */
} dkim_resolver_stats;

void dkim_resolver_options_init(dkim_resolver_options *opts);
/* Fails with a message naming a bad nameserver entry. */
dkim_resolver *dkim_resolver_new(const dkim_resolver_options *opts,
                                 dkim_error *err);
void dkim_resolver_free(dkim_resolver *res);

/*
 * Checks a Nameservers value as dkim_resolver_new reads it: entries IP,
 * IP@PORT, IPv4:PORT, [IPv6], [IPv6]:PORT, separated by commas or white
 * space. DKIM_ERR_SYNTAX with a message naming the bad entry. The one
 * grammar: the configuration checks with it at load.
 */
dkim_status dkim_resolver_check_servers(const char *list, dkim_error *err);

/* A dkim_lookup_fn; ctx is the dkim_resolver. Thread-safe. */
void dkim_resolver_lookup(void *ctx, dkim_key_query *queries, size_t n);

void dkim_resolver_stats_get(dkim_resolver *res, dkim_resolver_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* DKIM_RESOLVER_H */
