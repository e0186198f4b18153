/*
 * test_bodyhash.c - libdkim/bodyhash.c: body hashes keyed by (hash, canon,
 * l=), shared contexts, l= truncation, and constant memory over a 50 MB
 * body.
 */
#include <criterion/criterion.h>

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/evp.h>

#include "internal.h"

static char *b64(const unsigned char *d, size_t n)
{
	return dkim_base64_encode(d, n);
}

/* The expected digest: one-shot over known canonical bytes. */
static void one_shot(const EVP_MD *md, const char *data, size_t len,
                     unsigned char *out, unsigned *outlen)
{
	cr_assert_eq(EVP_Digest(data, len, out, outlen, md, NULL), 1);
}

static void assert_digest(const dkim_bodyhash_set *set, int idx, const EVP_MD *md,
                          const char *canonical, size_t len)
{
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned wantlen;
	size_t gotlen;
	const unsigned char *got = dkim_bodyhash_digest(set, idx, &gotlen);

	one_shot(md, canonical, len, want, &wantlen);
	cr_assert_not_null(got);
	cr_assert_eq(gotlen, wantlen);
	cr_assert(memcmp(got, want, wantlen) == 0, "digest %d", idx);
}

static dkim_bodyhash_set *hash_body(const char *body, size_t len, size_t step,
                                    int *idx, const dkim_hash *hashes,
                                    const dkim_canon *canons,
                                    const uint64_t *limits, size_t n)
{
	dkim_bodyhash_set *set = dkim_bodyhash_set_new();
	dkim_error err;
	size_t i, pos;

	cr_assert_not_null(set);
	for (i = 0; i < n; i++) {
		idx[i] = dkim_bodyhash_add(set, hashes[i], canons[i], limits[i]);
		cr_assert_geq(idx[i], 0);
	}
	for (pos = 0; pos < len; pos += step)
		cr_assert_eq(dkim_bodyhash_update(set, body + pos,
		                                  len - pos < step ? len - pos : step,
		                                  &err), DKIM_OK);
	cr_assert_eq(dkim_bodyhash_final(set, &err), DKIM_OK);
	return set;
}

Test(bodyhash, empty_body_known_values)
{
	static const dkim_hash h[] = { DKIM_HASH_SHA256, DKIM_HASH_SHA256 };
	static const dkim_canon c[] = { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };
	static const uint64_t l[] = { DKIM_NO_LIMIT, DKIM_NO_LIMIT };
	int idx[2];
	dkim_bodyhash_set *set = hash_body("", 0, 1, idx, h, c, l, 2);
	const unsigned char *d;
	size_t n;
	char *s;

	/* sha256("\r\n") and sha256(""): the bh= of every empty message. */
	d = dkim_bodyhash_digest(set, idx[0], &n);
	s = b64(d, n);
	cr_assert_str_eq(s, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	free(s);
	d = dkim_bodyhash_digest(set, idx[1], &n);
	s = b64(d, n);
	cr_assert_str_eq(s, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	free(s);
	cr_assert_eq(dkim_bodyhash_total(set, idx[0]), 2);
	cr_assert_eq(dkim_bodyhash_total(set, idx[1]), 0);
	dkim_bodyhash_set_free(set);
}

Test(bodyhash, shared_contexts_and_limits)
{
	static const char body[] = "Hello  world \r\n\r\nbye\t\r\n\r\n\r\n";
	static const char simple[] = "Hello  world \r\n\r\nbye\t\r\n";
	static const char relaxed[] = "Hello world\r\n\r\nbye\r\n";
	static const dkim_hash h[] = { DKIM_HASH_SHA256, DKIM_HASH_SHA256,
		DKIM_HASH_SHA256, DKIM_HASH_SHA1, DKIM_HASH_SHA256, DKIM_HASH_SHA256,
		DKIM_HASH_SHA256 };
	static const dkim_canon c[] = { DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE,
		DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
		DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE };
	static const uint64_t l[] = { DKIM_NO_LIMIT, DKIM_NO_LIMIT, DKIM_NO_LIMIT,
		DKIM_NO_LIMIT, 7, 0, 1000 };
	size_t step;

	for (step = 1; step <= sizeof(body); step++) {
		int idx[7];
		dkim_bodyhash_set *set = hash_body(body, sizeof(body) - 1, step, idx,
		                                   h, c, l, 7);

		cr_assert_eq(idx[0], idx[2], "identical requests share a context");
		cr_assert_neq(idx[0], idx[1]);
		cr_assert_neq(idx[0], idx[3]);
		cr_assert_neq(idx[0], idx[4]);
		assert_digest(set, idx[0], EVP_sha256(), relaxed, sizeof(relaxed) - 1);
		assert_digest(set, idx[1], EVP_sha256(), simple, sizeof(simple) - 1);
		assert_digest(set, idx[3], EVP_sha1(), relaxed, sizeof(relaxed) - 1);
		/* l=7: the first 7 canonical bytes only (§3.5). */
		assert_digest(set, idx[4], EVP_sha256(), relaxed, 7);
		cr_assert_eq(dkim_bodyhash_hashed(set, idx[4]), 7);
		cr_assert_eq(dkim_bodyhash_total(set, idx[4]), sizeof(relaxed) - 1);
		/* l=0 hashes nothing; l= beyond the body hashes all of it. */
		assert_digest(set, idx[5], EVP_sha256(), "", 0);
		cr_assert_eq(dkim_bodyhash_hashed(set, idx[5]), 0);
		assert_digest(set, idx[6], EVP_sha256(), simple, sizeof(simple) - 1);
		cr_assert_eq(dkim_bodyhash_hashed(set, idx[6]), sizeof(simple) - 1);
		cr_assert_eq(dkim_bodyhash_total(set, idx[6]), sizeof(simple) - 1);
		dkim_bodyhash_set_free(set);
	}
}

Test(bodyhash, rfc6376_example_body)
{
	static const char body[] = " C \r\nD \t E\r\n\r\n\r\n";
	static const dkim_hash h[] = { DKIM_HASH_SHA256, DKIM_HASH_SHA256 };
	static const dkim_canon c[] = { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };
	static const uint64_t l[] = { DKIM_NO_LIMIT, DKIM_NO_LIMIT };
	int idx[2];
	dkim_bodyhash_set *set = hash_body(body, sizeof(body) - 1, 3, idx, h, c, l, 2);

	assert_digest(set, idx[0], EVP_sha256(), " C \r\nD \t E\r\n", 12);
	assert_digest(set, idx[1], EVP_sha256(), " C\r\nD E\r\n", 9);
	dkim_bodyhash_set_free(set);
}

Test(bodyhash, call_order)
{
	dkim_bodyhash_set *set = dkim_bodyhash_set_new();
	dkim_error err;
	int i;

	i = dkim_bodyhash_add(set, DKIM_HASH_SHA256, DKIM_CANON_SIMPLE, DKIM_NO_LIMIT);
	cr_assert_eq(i, 0);
	cr_assert_eq(dkim_bodyhash_add(set, DKIM_HASH_SHA256, (dkim_canon)7, 1), -1);
	cr_assert_null(dkim_bodyhash_digest(set, i, NULL), "no digest before final");
	cr_assert_eq(dkim_bodyhash_update(set, "x", 1, &err), DKIM_OK);
	cr_assert_eq(dkim_bodyhash_add(set, DKIM_HASH_SHA1, DKIM_CANON_SIMPLE, 3), -1,
	             "no new context once the body started");
	cr_assert_eq(dkim_bodyhash_final(set, &err), DKIM_OK);
	cr_assert_eq(dkim_bodyhash_update(set, "x", 1, &err), DKIM_ERR_STATE);
	cr_assert_eq(dkim_bodyhash_final(set, &err), DKIM_ERR_STATE);
	cr_assert_null(dkim_bodyhash_digest(set, 1, NULL));
	cr_assert_null(dkim_bodyhash_digest(set, -1, NULL));
	cr_assert_eq(dkim_bodyhash_total(set, 0), 3);
	dkim_bodyhash_set_free(set);
	dkim_bodyhash_set_free(NULL);
}

/* ---- constant memory ------------------------------------------------------------ */

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 64 KB chunk: text, trailing WSP, WSP-only and empty lines, bare LF. */
static void fill_chunk(char *chunk, size_t size, int kind)
{
	static const char *const lines[] = {
		"The quick brown fox jumps over the lazy dog.  \r\n",
		"\t  \r\n",
		"\r\n",
		"bare LF line\n",
		"tabs\tand  spaces \t here\r\n",
	};
	size_t n = 0, i = 0;

	while (n < size) {
		const char *l = kind == 1 ? "\r\n" : kind == 2 ? " \t \r\n" : lines[i++ % 5];
		size_t k = strlen(l) < size - n ? strlen(l) : size - n;

		memcpy(chunk + n, l, k);
		n += k;
	}
}

Test(bodyhash, fifty_megabytes_constant_memory, .timeout = 120)
{
	static const dkim_hash h[] = { DKIM_HASH_SHA256, DKIM_HASH_SHA256 };
	static const dkim_canon c[] = { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };
	enum { CHUNK = 64 * 1024, TOTAL = 50 * 1024 * 1024 };
	static char chunk[3][CHUNK];
	dkim_bodyhash_set *set;
	dkim_error err;
	long before, after;
	size_t done, heap;
	int i, k;

	for (k = 0; k < 3; k++)
		fill_chunk(chunk[k], CHUNK, k);
	/* Warm up: the allocator, OpenSSL and the pages we touch. */
	set = dkim_bodyhash_set_new();
	for (i = 0; i < 2; i++)
		dkim_bodyhash_add(set, h[i], c[i], DKIM_NO_LIMIT);
	for (k = 0; k < 3; k++)
		dkim_bodyhash_update(set, chunk[k], CHUNK, &err);
	dkim_bodyhash_final(set, &err);
	dkim_bodyhash_set_free(set);

	before = max_rss_kb();
	set = dkim_bodyhash_set_new();
	for (i = 0; i < 2; i++)
		cr_assert_geq(dkim_bodyhash_add(set, h[i], c[i], DKIM_NO_LIMIT), 0);
	/* Long stretches of text, of empty lines and of WSP-only lines. */
	heap = mallinfo2().uordblks;
	for (done = 0; done < TOTAL; done += CHUNK) {
		int kind = (int)(done / (8 * 1024 * 1024)) % 3;

		cr_assert_eq(dkim_bodyhash_update(set, chunk[kind], CHUNK, &err), DKIM_OK);
	}
	/* glibc's count of heap bytes in use (ASan's heap does not show here). */
	cr_assert_leq(mallinfo2().uordblks, heap + 300 * 1024, "heap grew while hashing");
	cr_assert_eq(dkim_bodyhash_final(set, &err), DKIM_OK);
	after = max_rss_kb();
	cr_assert_gt(dkim_bodyhash_total(set, 0), 0);
	dkim_bodyhash_set_free(set);
	cr_assert_lt(after - before, 300, "max RSS grew by %ld KB", after - before);
}
