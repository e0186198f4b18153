/*
 * bodyhash.c - the body hashes of one message (RFC 6376 §3.7, "bh=").
 *
 * Interface (internal.h): a set of hash contexts, one per distinct
 * (hash, body canonicalization, l=). Every signature of a message asks the
 * set for its context with dkim_bodyhash_add; identical requests share one.
 * The body streams through dkim_bodyhash_update once: it is canonicalized
 * once per canonicalization in use, and each canonical span is fed to every
 * context of that canonicalization, each stopping at its own l=.
 *
 * Errors: DKIM_ERR_CRYPTO when OpenSSL fails, DKIM_ERR_STATE for calls in
 * the wrong order, DKIM_ERR_INVALID for a bad index. dkim_bodyhash_add
 * returns -1 (allocation or OpenSSL failure, or called after the body
 * started).
 */
#include "internal.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

typedef struct {
	dkim_hash hash;
	dkim_canon canon;
	uint64_t limit;             /* l=, or DKIM_NO_LIMIT */
	uint64_t hashed;            /* canonical bytes fed to md */
	EVP_MD_CTX *md;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len;
} dkim_bodyhash_ctx;

/* What a canonicalizer's sink needs to find its contexts. */
typedef struct {
	dkim_bodyhash_set *set;
	dkim_canon canon;
} dkim_bodyhash_feed;

struct dkim_bodyhash_set {
	dkim_bodyhash_ctx *ctxs;
	size_t n, cap;
	size_t users[2];            /* contexts per canonicalization */
	dkim_bodyhash_feed feed[2];
	bool started, finished, failed;
	dkim_bodycanon canon[2];    /* indexed by dkim_canon */
};

/* ---- digests, fetched once per process ---------------------------------------- */

static EVP_MD *dkim_bodyhash_fetched[2];
static pthread_once_t dkim_bodyhash_once = PTHREAD_ONCE_INIT;

/*
 * An explicit fetch avoids OpenSSL 3 looking the algorithm up again on
 * every EVP_DigestInit_ex; the objects live as long as the process.
 */
static void dkim_bodyhash_fetch(void)
{
	dkim_bodyhash_fetched[DKIM_HASH_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
	dkim_bodyhash_fetched[DKIM_HASH_SHA1] = EVP_MD_fetch(NULL, "SHA1", NULL);
}

static const EVP_MD *dkim_bodyhash_md(dkim_hash hash)
{
	const EVP_MD *md;

	pthread_once(&dkim_bodyhash_once, dkim_bodyhash_fetch);
	md = dkim_bodyhash_fetched[hash == DKIM_HASH_SHA1];
	if (md == NULL)
		md = hash == DKIM_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
	return md;
}

/* ---- the set ------------------------------------------------------------------ */

dkim_bodyhash_set *dkim_bodyhash_set_new(void)
{
	/* Not calloc: the canonicalizers' stage buffers (2 x 4 KB) need no
	 * clearing, and clearing them was most of this call's cost for a
	 * small message; the fields before them are cleared here and by
	 * dkim_bodycanon_init. */
	dkim_bodyhash_set *set = malloc(sizeof(*set));
	int c;

	if (set == NULL)
		return NULL;
	memset(set, 0, offsetof(dkim_bodyhash_set, canon));
	for (c = 0; c < 2; c++) {
		set->feed[c].set = set;
		set->feed[c].canon = (dkim_canon)c;
		dkim_bodycanon_init(&set->canon[c], (dkim_canon)c);
	}
	return set;
}

void dkim_bodyhash_set_free(dkim_bodyhash_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		EVP_MD_CTX_free(set->ctxs[i].md);
	free(set->ctxs);
	free(set);
}

int dkim_bodyhash_find(const dkim_bodyhash_set *set, dkim_hash hash,
                       dkim_canon canon, uint64_t limit)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->ctxs[i].hash == hash && set->ctxs[i].canon == canon &&
		    set->ctxs[i].limit == limit)
			return (int)i;
	return -1;
}

static bool dkim_bodyhash_grow(dkim_bodyhash_set *set)
{
	size_t cap = set->cap > 0 ? set->cap * 2 : 4;
	dkim_bodyhash_ctx *p;

	if (set->n < set->cap)
		return true;
	if (cap > (size_t)INT32_MAX)
		return false;
	p = realloc(set->ctxs, cap * sizeof(*p));
	if (p == NULL)
		return false;
	set->ctxs = p;
	set->cap = cap;
	return true;
}

int dkim_bodyhash_add(dkim_bodyhash_set *set, dkim_hash hash, dkim_canon canon,
                      uint64_t limit)
{
	dkim_bodyhash_ctx *ctx;
	int idx;

	if (set->started || (canon != DKIM_CANON_SIMPLE && canon != DKIM_CANON_RELAXED))
		return -1;
	idx = dkim_bodyhash_find(set, hash, canon, limit);
	if (idx >= 0)
		return idx;
	if (!dkim_bodyhash_grow(set))
		return -1;
	ctx = &set->ctxs[set->n];
	memset(ctx, 0, sizeof(*ctx));
	ctx->hash = hash;
	ctx->canon = canon;
	ctx->limit = limit;
	ctx->md = EVP_MD_CTX_new();
	if (ctx->md == NULL ||
	    EVP_DigestInit_ex(ctx->md, dkim_bodyhash_md(hash), NULL) != 1) {
		EVP_MD_CTX_free(ctx->md);
		return -1;
	}
	set->users[canon]++;
	return (int)set->n++;
}

/* ---- hashing -------------------------------------------------------------------- */

/* Sink of one canonicalizer: feeds its contexts, each up to its l= (§3.5). */
static void dkim_bodyhash_sink(void *arg, const unsigned char *data, size_t len)
{
	dkim_bodyhash_feed *feed = arg;
	dkim_bodyhash_set *set = feed->set;
	size_t i;

	for (i = 0; i < set->n; i++) {
		dkim_bodyhash_ctx *ctx = &set->ctxs[i];
		uint64_t room = ctx->limit - ctx->hashed;
		size_t take = room < len ? (size_t)room : len;

		if (ctx->canon != feed->canon || take == 0)
			continue;
		if (EVP_DigestUpdate(ctx->md, data, take) != 1)
			set->failed = true;
		ctx->hashed += take;
	}
}

dkim_status dkim_bodyhash_update(dkim_bodyhash_set *set, const void *data,
                                 size_t len, dkim_error *err)
{
	int c;

	if (set->finished)
		return dkim_fail(err, DKIM_ERR_STATE, "body data after the end of the body");
	set->started = true;
	for (c = 0; c < 2; c++)
		if (set->users[c] > 0)
			dkim_bodycanon_update(&set->canon[c], data, len,
			                      dkim_bodyhash_sink, &set->feed[c]);
	if (set->failed)
		return dkim_fail(err, DKIM_ERR_CRYPTO, "body hash: digest update failed");
	return DKIM_OK;
}

dkim_status dkim_bodyhash_final(dkim_bodyhash_set *set, dkim_error *err)
{
	size_t i;
	int c;

	if (set->finished)
		return dkim_fail(err, DKIM_ERR_STATE, "body hash already finished");
	set->started = true;
	set->finished = true;
	for (c = 0; c < 2; c++)
		if (set->users[c] > 0)
			dkim_bodycanon_final(&set->canon[c], dkim_bodyhash_sink,
			                     &set->feed[c]);
	for (i = 0; i < set->n && !set->failed; i++)
		if (EVP_DigestFinal_ex(set->ctxs[i].md, set->ctxs[i].digest,
		                       &set->ctxs[i].digest_len) != 1)
			set->failed = true;
	if (set->failed)
		return dkim_fail(err, DKIM_ERR_CRYPTO, "body hash: digest failed");
	return DKIM_OK;
}

/* ---- results -------------------------------------------------------------------- */

static const dkim_bodyhash_ctx *dkim_bodyhash_get(const dkim_bodyhash_set *set,
                                                  int idx)
{
	if (set == NULL || !set->finished || set->failed || idx < 0 ||
	    (size_t)idx >= set->n)
		return NULL;
	return &set->ctxs[idx];
}

const unsigned char *dkim_bodyhash_digest(const dkim_bodyhash_set *set, int idx,
                                          size_t *len)
{
	const dkim_bodyhash_ctx *ctx = dkim_bodyhash_get(set, idx);

	if (ctx == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = ctx->digest_len;
	return ctx->digest;
}

uint64_t dkim_bodyhash_hashed(const dkim_bodyhash_set *set, int idx)
{
	const dkim_bodyhash_ctx *ctx = dkim_bodyhash_get(set, idx);

	return ctx != NULL ? ctx->hashed : 0;
}

uint64_t dkim_bodyhash_total(const dkim_bodyhash_set *set, int idx)
{
	const dkim_bodyhash_ctx *ctx = dkim_bodyhash_get(set, idx);

	return ctx != NULL ? set->canon[ctx->canon].length : 0;
}
