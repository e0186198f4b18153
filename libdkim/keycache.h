/*
 * keycache.h - internal interfaces of the key resolver: the outcome of one
 * key lookup and the key cache shared by threads (keycache.c). The DNS
 * messages themselves are dnsanswer.h's. Not installed.
 */
#ifndef DKIM_KEYCACHE_H
#define DKIM_KEYCACHE_H

#include "dkim.h"

#include <time.h>

/* The outcome of one key lookup, as the cache stores and hands it out. */
typedef struct {
	dkim_lookup_status status;
	dkim_pubkey *key;           /* FOUND only; one reference */
	char reason[128];
} dkim_keyresult;

/* A TTL that the answer did not give (NXDOMAIN without SOA). */
#define DKIM_TTL_UNKNOWN UINT32_MAX

/* Longest key name "selector._domainkey.domain" (RFC 1035 §2.3.4). */
#define DKIM_KEYNAME_MAX 253

/* ---- the key cache (keycache.c) -------------------------------------------- */

typedef struct dkim_keycache dkim_keycache;
typedef struct dkim_keyflight dkim_keyflight;

/*
 * max_entries bounds the cache (least recently used evicted). FOUND and
 * PERMFAIL outcomes are kept min(ttl, max_ttl) seconds, NOTFOUND
 * min(ttl, negative_ttl); TEMPFAIL never.
 */
dkim_keycache *dkim_keycache_new(size_t max_entries, unsigned max_ttl,
                                 unsigned negative_ttl);
void dkim_keycache_free(dkim_keycache *kc);

typedef enum {
	DKIM_KEYCACHE_HIT,      /* *out holds the cached outcome */
	DKIM_KEYCACHE_OWNER,    /* caller must query, then dkim_keycache_publish */
	DKIM_KEYCACHE_WAIT      /* another caller queries: dkim_keycache_wait */
} dkim_keycache_claim_result;

/*
 * Looks name up (case-insensitively). On a miss the caller either becomes
 * the owner of a new in-flight lookup or joins the one in flight; *flight
 * is set for OWNER and WAIT. NULL flight with OWNER: out of memory, the
 * caller queries without sharing.
 */
dkim_keycache_claim_result dkim_keycache_claim(dkim_keycache *kc,
                                               const char *name,
                                               dkim_keyresult *out,
                                               dkim_keyflight **flight);
/*
 * The owner's answer: stored (if cacheable) and handed to every waiter.
 * Releases the owner's hold on flight (NULL is ignored). res is copied.
 */
void dkim_keycache_publish(dkim_keycache *kc, dkim_keyflight *flight,
                           const dkim_keyresult *res, uint32_t ttl);
/*
 * Waits for the owner's answer until deadline (CLOCK_MONOTONIC); copies
 * it into *out, or sets TEMPFAIL when the deadline passes. Releases the
 * caller's hold on flight.
 */
void dkim_keycache_wait(dkim_keycache *kc, dkim_keyflight *flight,
                        const struct timespec *deadline, dkim_keyresult *out);

typedef struct {
	uint64_t hits, misses, waits;
	size_t entries;
} dkim_keycache_stats;

void dkim_keycache_stats_get(dkim_keycache *kc, dkim_keycache_stats *out);

/* Copies a result, taking a new key reference. */
void dkim_keyresult_copy(dkim_keyresult *dst, const dkim_keyresult *src);
/* Drops the key reference, if any. */
void dkim_keyresult_clear(dkim_keyresult *res);
/* Drops the key reference and sets status and reason (cut to fit). */
void dkim_keyresult_set(dkim_keyresult *out, dkim_lookup_status status,
                        const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* DKIM_KEYCACHE_H */
