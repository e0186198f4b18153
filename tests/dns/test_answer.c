/*
 * test_answer.c - dkim_resolver_answer on stored DNS answers (no network).
 *
 * The answers are the fuzzer's seeds, tests/fuzz/corpus/dnsanswer (made by
 * tests/dns/answer_seeds.py), all to the TXT query for QNAME; some are
 * altered here (header bits, cut short) to reach the error paths. The key
 * cache is tested on its own at the end (waiter deadline, what is stored,
 * LRU bound).
 */
#include "dnsanswer.h"
#include "keycache.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QNAME "sel._domainkey.example.com"

typedef struct {
	unsigned char data[4096];
	size_t len;
} wire;

static wire load(const char *seed)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	wire w;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/dnsanswer/%s",
	         top != NULL ? top : ".", seed);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	w.len = fread(w.data, 1, sizeof(w.data), f);
	fclose(f);
	cr_assert_gt(w.len, 12);
	return w;
}

static dkim_keyresult decide(const wire *w, const char *qname, uint32_t *ttl)
{
	dkim_keyresult r;
	uint32_t t;

	dkim_resolver_answer(w->data, w->len, qname, &r, ttl != NULL ? ttl : &t);
	return r;
}

#define EXPECT(res, st) cr_assert_eq((res).status, (st), "status %d (%s)", \
	(int)(res).status, (res).reason)

Test(answer, ed25519_key)
{
	wire w = load("ed25519");
	uint32_t ttl;
	dkim_keyresult r = decide(&w, QNAME, &ttl);

	EXPECT(r, DKIM_LOOKUP_FOUND);
	cr_assert_eq(dkim_pubkey_type(r.key), DKIM_KEY_ED25519);
	cr_assert_eq(ttl, 300);
	dkim_keyresult_clear(&r);
}

Test(answer, rsa_key_over_many_strings)
{
	wire w = load("rsa_split");
	dkim_keyresult r = decide(&w, QNAME, NULL);

	EXPECT(r, DKIM_LOOKUP_FOUND);
	cr_assert_eq(dkim_pubkey_bits(r.key), 1024);
	dkim_keyresult_clear(&r);
}

Test(answer, qname_case_does_not_matter)
{
	wire w = load("ed25519");
	dkim_keyresult r = decide(&w, "SEL._DomainKey.Example.COM", NULL);

	EXPECT(r, DKIM_LOOKUP_FOUND);
	dkim_keyresult_clear(&r);
}

Test(answer, key_among_other_txt_records)
{
	wire w = load("two_records");
	dkim_keyresult r = decide(&w, QNAME, NULL);

	EXPECT(r, DKIM_LOOKUP_FOUND);
	dkim_keyresult_clear(&r);
}

Test(answer, lone_other_record_is_permfail)
{
	wire w = load("lone_other");
	dkim_keyresult r = decide(&w, QNAME, NULL);

	EXPECT(r, DKIM_LOOKUP_PERMFAIL);
	cr_assert(strncmp(r.reason, "key syntax error", 16) == 0, "%s", r.reason);
}

Test(answer, cname_followed_ttl_is_smallest)
{
	wire w = load("cname");
	uint32_t ttl;
	dkim_keyresult r = decide(&w, QNAME, &ttl);

	EXPECT(r, DKIM_LOOKUP_FOUND);
	cr_assert_eq(ttl, 100, "ttl %u: the CNAME's 100 is smaller", ttl);
	dkim_keyresult_clear(&r);
}

Test(answer, cname_loop_is_permfail)
{
	wire w = load("cname_loop");
	dkim_keyresult r = decide(&w, QNAME, NULL);

	EXPECT(r, DKIM_LOOKUP_PERMFAIL);
	cr_assert_str_eq(r.reason, "CNAME chain too long");
}

/* RFC 2308 §5: negative TTL = min(SOA TTL 60, SOA MINIMUM 30). */
Test(answer, nxdomain_and_nodata_negative_ttl)
{
	static const char *const seeds[] = { "nxdomain_soa", "nodata_soa" };
	size_t i;

	for (i = 0; i < 2; i++) {
		wire w = load(seeds[i]);
		uint32_t ttl;
		dkim_keyresult r = decide(&w, QNAME, &ttl);

		EXPECT(r, DKIM_LOOKUP_NOTFOUND);
		cr_assert_str_eq(r.reason, "no key for signature");
		cr_assert_eq(ttl, 30, "%s: ttl %u", seeds[i], ttl);
	}
}

Test(answer, revoked_key_found)
{
	wire w = load("revoked");
	dkim_keyresult r = decide(&w, QNAME, NULL);

	EXPECT(r, DKIM_LOOKUP_FOUND);
	cr_assert(dkim_pubkey_revoked(r.key));
	dkim_keyresult_clear(&r);
}

Test(answer, servfail_tempfail)
{
	wire w = load("servfail");
	dkim_keyresult r = decide(&w, QNAME, NULL);

	EXPECT(r, DKIM_LOOKUP_TEMPFAIL);
	cr_assert_str_eq(r.reason, "DNS server failure (SERVFAIL)");
}

Test(answer, records_for_another_name_tempfail)
{
	wire w = load("other_name");
	dkim_keyresult r = decide(&w, QNAME, NULL);

	EXPECT(r, DKIM_LOOKUP_TEMPFAIL);
}

Test(answer, another_question_tempfail)
{
	wire w = load("ed25519");
	dkim_keyresult r = decide(&w, "other._domainkey.example.com", NULL);

	EXPECT(r, DKIM_LOOKUP_TEMPFAIL);
	cr_assert_str_eq(r.reason, "DNS answer to another question");
}

Test(answer, header_bits)
{
	wire w = load("ed25519");
	dkim_keyresult r;

	w.data[2] |= 0x02;            /* TC */
	r = decide(&w, QNAME, NULL);
	EXPECT(r, DKIM_LOOKUP_TEMPFAIL);
	cr_assert_str_eq(r.reason, "truncated DNS answer");
	w.data[2] &= (unsigned char)~0x82;   /* not a response */
	r = decide(&w, QNAME, NULL);
	EXPECT(r, DKIM_LOOKUP_TEMPFAIL);
	cr_assert_str_eq(r.reason, "malformed DNS answer");
}

/* Every prefix of a good answer is malformed: TEMPFAIL, never a key. */
Test(answer, cut_short)
{
	wire w = load("cname");
	size_t full = w.len;

	for (w.len = 0; w.len < full; w.len++) {
		dkim_keyresult r = decide(&w, QNAME, NULL);

		cr_assert_eq(r.status, DKIM_LOOKUP_TEMPFAIL, "%zu bytes: status %d (%s)",
		             w.len, (int)r.status, r.reason);
		cr_assert_null(r.key);
	}
}

/* A count of records larger than the message can hold is refused. */
Test(answer, lying_counts)
{
	wire w = load("ed25519");
	dkim_keyresult r;

	w.data[6] = 0xff;             /* ANCOUNT 65281 */
	r = decide(&w, QNAME, NULL);
	EXPECT(r, DKIM_LOOKUP_TEMPFAIL);
	cr_assert_null(r.key);
}

Test(answer, key_names)
{
	char name[DKIM_KEYNAME_MAX + 1];
	char long_label[70];

	cr_assert(dkim_resolver_keyname("sel", "example.com", name));
	cr_assert_str_eq(name, "sel._domainkey.example.com");
	cr_assert(dkim_resolver_keyname("a.b_c-d", "x.example", name));
	cr_assert_not(dkim_resolver_keyname("", "example.com", name));
	cr_assert_not(dkim_resolver_keyname("sel", "example..com", name));
	cr_assert_not(dkim_resolver_keyname("se\\l", "example.com", name));
	cr_assert_not(dkim_resolver_keyname("sel", "example.com.", name));
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	cr_assert_not(dkim_resolver_keyname(long_label, "example.com", name));
}

/* ---- the key cache on its own ---------------------------------------------------------- */

static dkim_keyresult notfound(void)
{
	dkim_keyresult r;

	memset(&r, 0, sizeof(r));
	r.status = DKIM_LOOKUP_NOTFOUND;
	snprintf(r.reason, sizeof(r.reason), "no key for signature");
	return r;
}

static void own(dkim_keycache *kc, const char *name, dkim_lookup_status st,
                uint32_t ttl)
{
	dkim_keyresult r = notfound(), out;
	dkim_keyflight *f;

	r.status = st;
	cr_assert_eq(dkim_keycache_claim(kc, name, &out, &f), DKIM_KEYCACHE_OWNER, "%s", name);
	dkim_keycache_publish(kc, f, &r, ttl);
}

Test(keycache, waiter_gives_up_at_its_deadline)
{
	dkim_keycache *kc = dkim_keycache_new(10, 3600, 60);
	dkim_keyflight *owner, *waiter;
	dkim_keyresult out, r = notfound();
	struct timespec deadline;

	cr_assert_eq(dkim_keycache_claim(kc, "a._domainkey.x", &out, &owner), DKIM_KEYCACHE_OWNER);
	cr_assert_eq(dkim_keycache_claim(kc, "A._domainkey.X", &out, &waiter), DKIM_KEYCACHE_WAIT);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 100000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	dkim_keycache_wait(kc, waiter, &deadline, &out);
	cr_assert_eq(out.status, DKIM_LOOKUP_TEMPFAIL);
	dkim_keycache_publish(kc, owner, &r, 60);
	cr_assert_eq(dkim_keycache_claim(kc, "a._domainkey.x", &out, &owner), DKIM_KEYCACHE_HIT);
	cr_assert_eq(out.status, DKIM_LOOKUP_NOTFOUND);
	dkim_keycache_free(kc);
}

Test(keycache, tempfail_and_zero_ttl_not_stored)
{
	dkim_keycache *kc = dkim_keycache_new(10, 3600, 60);
	dkim_keycache_stats st;

	own(kc, "t._domainkey.x", DKIM_LOOKUP_TEMPFAIL, 300);
	own(kc, "z._domainkey.x", DKIM_LOOKUP_NOTFOUND, 0);
	own(kc, "t._domainkey.x", DKIM_LOOKUP_NOTFOUND, 300);   /* owner again */
	own(kc, "z._domainkey.x", DKIM_LOOKUP_NOTFOUND, 300);
	dkim_keycache_stats_get(kc, &st);
	cr_assert_eq(st.entries, 2);
	cr_assert_eq(st.hits, 0);
	dkim_keycache_free(kc);
}

Test(keycache, bounded_least_recently_used_goes)
{
	dkim_keycache *kc = dkim_keycache_new(2, 3600, 60);
	dkim_keyresult out;
	dkim_keyflight *f;
	dkim_keycache_stats st;

	own(kc, "a._domainkey.x", DKIM_LOOKUP_PERMFAIL, 300);
	own(kc, "b._domainkey.x", DKIM_LOOKUP_PERMFAIL, 300);
	cr_assert_eq(dkim_keycache_claim(kc, "a._domainkey.x", &out, &f), DKIM_KEYCACHE_HIT);
	own(kc, "c._domainkey.x", DKIM_LOOKUP_PERMFAIL, 300);   /* evicts b */
	cr_assert_eq(dkim_keycache_claim(kc, "a._domainkey.x", &out, &f), DKIM_KEYCACHE_HIT);
	cr_assert_eq(dkim_keycache_claim(kc, "c._domainkey.x", &out, &f), DKIM_KEYCACHE_HIT);
	own(kc, "b._domainkey.x", DKIM_LOOKUP_PERMFAIL, 300);
	dkim_keycache_stats_get(kc, &st);
	cr_assert_eq(st.entries, 2);
	dkim_keycache_free(kc);
}
