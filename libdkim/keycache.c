/*
 * keycache.c - the key cache shared by all threads of a dkim_resolver.
 *
 * Interface (keycache.h): dkim_keycache_claim looks a key name up; on a miss
 * the caller becomes the owner of an in-flight lookup, or, when another
 * thread already queries that name, a waiter on it. The owner hands its
 * answer to dkim_keycache_publish, which stores it (FOUND and PERMFAIL for
 * the record's TTL capped by max_ttl, NOTFOUND for at most negative_ttl,
 * TEMPFAIL never) and wakes the waiters; dkim_keycache_wait returns it to
 * them. So N threads verifying mail signed with the same key send one query.
 *
 * Storage: a hash table of entries keyed by the lower-cased name
 * "selector._domainkey.domain", on a doubly linked list in recency order;
 * past max_entries the least recently used entry is evicted. Entries hold
 * a dkim_pubkey reference; a hit hands out a new reference. One mutex
 * guards everything; waiters sleep on one condition variable (CLOCK_MONOTONIC
 * deadlines, so that wall-clock jumps do not stretch a wait).
 *
 * Errors: none reported. Allocation failures degrade to not caching (claim
 * returns OWNER with no flight; the answer is then not shared).
 */
#include "keycache.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dkim_keyentry {
	char name[DKIM_KEYNAME_MAX + 1];    /* lower-cased */
	uint64_t hash;
	struct dkim_keyentry *hnext;        /* hash chain */
	struct dkim_keyentry *prev, *next;  /* recency list, head = newest */
	dkim_keyresult result;
	uint64_t expires_ms;                /* CLOCK_MONOTONIC */
} dkim_keyentry;

struct dkim_keyflight {
	char name[DKIM_KEYNAME_MAX + 1];
	dkim_keyflight *next;               /* list of flights in progress */
	unsigned holders;                   /* owner + waiters still attached */
	bool done;
	dkim_keyresult result;
};

struct dkim_keycache {
	pthread_mutex_t lock;
	pthread_cond_t answered;            /* some flight got its answer */
	size_t max_entries, count;
	unsigned max_ttl, negative_ttl;
	dkim_keyentry **buckets;
	size_t nbuckets;                    /* a power of two */
	dkim_keyentry *newest, *oldest;
	dkim_keyflight *flights;
	uint64_t hits, misses, waits;
};

/* ---- results ----------------------------------------------------------------- */

void dkim_keyresult_copy(dkim_keyresult *dst, const dkim_keyresult *src)
{
	dst->status = src->status;
	dst->key = src->key != NULL ? dkim_pubkey_ref(src->key) : NULL;
	memcpy(dst->reason, src->reason, sizeof(dst->reason));
	dst->reason[sizeof(dst->reason) - 1] = '\0';
}

void dkim_keyresult_clear(dkim_keyresult *res)
{
	if (res->key != NULL)
		dkim_pubkey_unref(res->key);
	res->key = NULL;
}

void dkim_keyresult_set(dkim_keyresult *out, dkim_lookup_status status,
                        const char *fmt, ...)
{
	va_list ap;

	dkim_keyresult_clear(out);
	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* ---- helpers ----------------------------------------------------------------- */

static uint64_t dkim_keycache_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Lower-cases name into out (DKIM_KEYNAME_MAX + 1 bytes); false if too long. */
static bool dkim_keycache_fold(const char *name, char *out)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i >= DKIM_KEYNAME_MAX)
			return false;
		out[i] = (char)dkim_lower((unsigned char)name[i]);
	}
	out[i] = '\0';
	return true;
}

/* FNV-1a: the names are ours (validated), not chosen to collide. */
static uint64_t dkim_keycache_hash(const char *name)
{
	uint64_t h = 14695981039346656037u;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211u;
	}
	return h;
}

/* ---- the table and the recency list ------------------------------------------- */

static dkim_keyentry *dkim_keycache_find(dkim_keycache *kc, const char *name,
                                         uint64_t hash)
{
	dkim_keyentry *e = kc->buckets[hash & (kc->nbuckets - 1)];

	for (; e != NULL; e = e->hnext)
		if (e->hash == hash && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void dkim_keycache_unlink(dkim_keycache *kc, dkim_keyentry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		kc->newest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		kc->oldest = e->prev;
	e->prev = e->next = NULL;
}

static void dkim_keycache_push_front(dkim_keycache *kc, dkim_keyentry *e)
{
	e->prev = NULL;
	e->next = kc->newest;
	if (kc->newest != NULL)
		kc->newest->prev = e;
	kc->newest = e;
	if (kc->oldest == NULL)
		kc->oldest = e;
}

static void dkim_keycache_remove(dkim_keycache *kc, dkim_keyentry *e)
{
	dkim_keyentry **p = &kc->buckets[e->hash & (kc->nbuckets - 1)];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	dkim_keycache_unlink(kc, e);
	dkim_keyresult_clear(&e->result);
	free(e);
	kc->count--;
}

/* Seconds an outcome may be kept: 0 for "do not store". */
static unsigned dkim_keycache_lifetime(const dkim_keycache *kc,
                                       dkim_lookup_status status, uint32_t ttl)
{
	unsigned limit;

	switch (status) {
	case DKIM_LOOKUP_FOUND:
	case DKIM_LOOKUP_PERMFAIL:
		limit = kc->max_ttl;
		break;
	case DKIM_LOOKUP_NOTFOUND:
		/* RFC 2308 §5: negative answers are cached, but briefly. */
		limit = kc->negative_ttl;
		break;
	default:
		return 0;    /* TEMPFAIL: the next message must ask again */
	}
	return ttl < limit ? ttl : limit;
}

/* Stores (or replaces) name's outcome. Called with the lock held. */
static void dkim_keycache_store(dkim_keycache *kc, const char *name,
                                const dkim_keyresult *res, uint32_t ttl)
{
	unsigned life = dkim_keycache_lifetime(kc, res->status, ttl);
	uint64_t hash = dkim_keycache_hash(name);
	dkim_keyentry *e;

	if (life == 0 || kc->max_entries == 0)
		return;
	e = dkim_keycache_find(kc, name, hash);
	if (e != NULL) {
		dkim_keyresult_clear(&e->result);
		dkim_keycache_unlink(kc, e);
	} else {
		if (kc->count >= kc->max_entries)
			dkim_keycache_remove(kc, kc->oldest);
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->hash = hash;
		e->hnext = kc->buckets[hash & (kc->nbuckets - 1)];
		kc->buckets[hash & (kc->nbuckets - 1)] = e;
		kc->count++;
	}
	dkim_keyresult_copy(&e->result, res);
	e->expires_ms = dkim_keycache_now_ms() + (uint64_t)life * 1000u;
	dkim_keycache_push_front(kc, e);
}

/* ---- life cycle -------------------------------------------------------------- */

static bool dkim_keycache_sync_init(dkim_keycache *kc)
{
	pthread_condattr_t attr;
	bool ok;

	if (pthread_condattr_init(&attr) != 0)
		return false;
	ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	     pthread_cond_init(&kc->answered, &attr) == 0;
	pthread_condattr_destroy(&attr);
	if (!ok)
		return false;
	if (pthread_mutex_init(&kc->lock, NULL) != 0) {
		pthread_cond_destroy(&kc->answered);
		return false;
	}
	return true;
}

dkim_keycache *dkim_keycache_new(size_t max_entries, unsigned max_ttl,
                                 unsigned negative_ttl)
{
	dkim_keycache *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return NULL;
	kc->max_entries = max_entries;
	kc->max_ttl = max_ttl;
	kc->negative_ttl = negative_ttl;
	/* About one entry per bucket when full; at most 2^20 buckets. */
	kc->nbuckets = 16;
	while (kc->nbuckets < max_entries && kc->nbuckets < ((size_t)1 << 20))
		kc->nbuckets <<= 1;
	kc->buckets = calloc(kc->nbuckets, sizeof(*kc->buckets));
	if (kc->buckets == NULL || !dkim_keycache_sync_init(kc)) {
		free(kc->buckets);
		free(kc);
		return NULL;
	}
	return kc;
}

/* No lookup may be in progress (the resolver is being freed). */
void dkim_keycache_free(dkim_keycache *kc)
{
	if (kc == NULL)
		return;
	while (kc->oldest != NULL)
		dkim_keycache_remove(kc, kc->oldest);
	free(kc->buckets);
	pthread_cond_destroy(&kc->answered);
	pthread_mutex_destroy(&kc->lock);
	free(kc);
}

/* ---- lookups ------------------------------------------------------------------- */

static dkim_keyflight *dkim_keycache_find_flight(dkim_keycache *kc,
                                                 const char *name)
{
	dkim_keyflight *f;

	for (f = kc->flights; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* A cached, unexpired entry: hands out a copy. Lock held. */
static bool dkim_keycache_hit(dkim_keycache *kc, const char *name,
                              dkim_keyresult *out)
{
	dkim_keyentry *e = dkim_keycache_find(kc, name, dkim_keycache_hash(name));

	if (e == NULL)
		return false;
	if (e->expires_ms <= dkim_keycache_now_ms()) {
		dkim_keycache_remove(kc, e);
		return false;
	}
	dkim_keycache_unlink(kc, e);
	dkim_keycache_push_front(kc, e);
	dkim_keyresult_copy(out, &e->result);
	return true;
}

dkim_keycache_claim_result dkim_keycache_claim(dkim_keycache *kc,
                                               const char *name,
                                               dkim_keyresult *out,
                                               dkim_keyflight **flight)
{
	char key[DKIM_KEYNAME_MAX + 1];
	dkim_keyflight *f;

	*flight = NULL;
	if (!dkim_keycache_fold(name, key))
		return DKIM_KEYCACHE_OWNER;
	pthread_mutex_lock(&kc->lock);
	if (dkim_keycache_hit(kc, key, out)) {
		kc->hits++;
		pthread_mutex_unlock(&kc->lock);
		return DKIM_KEYCACHE_HIT;
	}
	kc->misses++;
	f = dkim_keycache_find_flight(kc, key);
	if (f != NULL) {
		f->holders++;
		kc->waits++;
		*flight = f;
		pthread_mutex_unlock(&kc->lock);
		return DKIM_KEYCACHE_WAIT;
	}
	f = calloc(1, sizeof(*f));
	if (f != NULL) {
		memcpy(f->name, key, sizeof(f->name));
		f->holders = 1;
		f->next = kc->flights;
		kc->flights = f;
	}
	*flight = f;
	pthread_mutex_unlock(&kc->lock);
	return DKIM_KEYCACHE_OWNER;
}

/* Drops one hold on f; the last one frees it. Lock held. */
static void dkim_keycache_release(dkim_keyflight *f)
{
	if (--f->holders > 0)
		return;
	dkim_keyresult_clear(&f->result);
	free(f);
}

void dkim_keycache_publish(dkim_keycache *kc, dkim_keyflight *flight,
                           const dkim_keyresult *res, uint32_t ttl)
{
	dkim_keyflight **p;

	if (flight == NULL)
		return;
	pthread_mutex_lock(&kc->lock);
	dkim_keycache_store(kc, flight->name, res, ttl);
	for (p = &kc->flights; *p != NULL; p = &(*p)->next) {
		if (*p == flight) {
			*p = flight->next;
			break;
		}
	}
	dkim_keyresult_copy(&flight->result, res);
	flight->done = true;
	pthread_cond_broadcast(&kc->answered);
	dkim_keycache_release(flight);
	pthread_mutex_unlock(&kc->lock);
}

void dkim_keycache_wait(dkim_keycache *kc, dkim_keyflight *flight,
                        const struct timespec *deadline, dkim_keyresult *out)
{
	pthread_mutex_lock(&kc->lock);
	while (!flight->done) {
		if (pthread_cond_timedwait(&kc->answered, &kc->lock, deadline) ==
		    ETIMEDOUT)
			break;
	}
	if (flight->done) {
		dkim_keyresult_copy(out, &flight->result);
	} else {
		out->status = DKIM_LOOKUP_TEMPFAIL;
		out->key = NULL;
		snprintf(out->reason, sizeof(out->reason),
		         "DNS timeout (waiting for a concurrent lookup)");
	}
	dkim_keycache_release(flight);
	pthread_mutex_unlock(&kc->lock);
}

void dkim_keycache_stats_get(dkim_keycache *kc, dkim_keycache_stats *out)
{
	pthread_mutex_lock(&kc->lock);
	out->hits = kc->hits;
	out->misses = kc->misses;
	out->waits = kc->waits;
	out->entries = kc->count;
	pthread_mutex_unlock(&kc->lock);
}
