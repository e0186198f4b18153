/*
 * test_resolver.c - the c-ares key resolver against real loopback servers.
 *
 * Run by tests/dns/dns.sh, which starts dnsmasq (TTL 300 on DNS_PORT, TTL 1
 * on DNS_SHORT_PORT) with the records this file expects, and the fake
 * servers of tests/dns/fakedns.py; their ports come in the environment.
 * Query counts are read from the servers' logs, not only from our stats.
 */
#include "dkim_resolver.h"
#include "keycache.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DOMAIN "example.test"

/* ---- helpers ------------------------------------------------------------------ */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v != NULL && *v != '\0', "%s not set: run tests/dns/dns.sh", name);
	return v;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static dkim_resolver *make_resolver_opts(dkim_resolver_options *o,
                                         const char *servers)
{
	dkim_error err;
	dkim_resolver *r;

	memset(&err, 0, sizeof(err));
	o->nameservers = servers;
	r = dkim_resolver_new(o, &err);
	cr_assert_not_null(r, "dkim_resolver_new(%s): %s", servers, err.message);
	return r;
}

/* A resolver on the server whose port is in env var port_var (ip@port form). */
static dkim_resolver *make_resolver(const char *port_var, unsigned timeout_ms,
                                    bool cache)
{
	static char servers[64];
	dkim_resolver_options o;

	dkim_resolver_options_init(&o);
	o.timeout_ms = timeout_ms;
	o.cache = cache;
	snprintf(servers, sizeof(servers), "127.0.0.1@%s", env(port_var));
	return make_resolver_opts(&o, servers);
}

static dkim_key_query lookup(dkim_resolver *r, const char *selector)
{
	dkim_key_query q;

	memset(&q, 0, sizeof(q));
	q.selector = selector;
	q.domain = DOMAIN;
	dkim_resolver_lookup(r, &q, 1);
	return q;
}

static void drop(dkim_key_query *q)
{
	if (q->key != NULL)
		dkim_pubkey_unref(q->key);
	q->key = NULL;
}

/* Queries for selector._domainkey.example.test in a dnsmasq or fakedns log. */
static int count_queries(const char *log_var, const char *selector)
{
	char in_dnsmasq[300], in_fake[300], line[1024];
	int n = 0;
	FILE *f;

	usleep(100000);        /* let the server's log catch up */
	/* dnsmasq: "... query[TXT] NAME from 127.0.0.1"; fakedns: "NAME" */
	snprintf(in_dnsmasq, sizeof(in_dnsmasq), "] %s._domainkey." DOMAIN " from ", selector);
	snprintf(in_fake, sizeof(in_fake), "%s._domainkey." DOMAIN "\n", selector);
	f = fopen(env(log_var), "r");
	cr_assert_not_null(f, "cannot open %s", env(log_var));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "query[") != NULL ? strstr(line, in_dnsmasq) != NULL
		                                   : strcmp(line, in_fake) == 0)
			n++;
	}
	fclose(f);
	return n;
}

static void assert_status(const dkim_key_query *q, dkim_lookup_status want)
{
	cr_assert_eq(q->status, want, "%s: status %d, want %d (reason: %s)",
	             q->selector, (int)q->status, (int)want, q->reason);
}

/* ---- keys served by dnsmasq ------------------------------------------------------ */

TestSuite(keys, .timeout = 30);

Test(keys, rsa)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "rsa");

	assert_status(&q, DKIM_LOOKUP_FOUND);
	cr_assert_eq(dkim_pubkey_type(q.key), DKIM_KEY_RSA);
	cr_assert_eq(dkim_pubkey_bits(q.key), 2048);
	cr_assert(!dkim_pubkey_revoked(q.key));
	drop(&q);
	dkim_resolver_free(r);
}

Test(keys, ed25519)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "ed");

	assert_status(&q, DKIM_LOOKUP_FOUND);
	cr_assert_eq(dkim_pubkey_type(q.key), DKIM_KEY_ED25519);
	drop(&q);
	dkim_resolver_free(r);
}

/* RFC 6376 §3.6.2.2: the strings of one TXT record are concatenated. */
Test(keys, split_over_many_strings)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "split");

	assert_status(&q, DKIM_LOOKUP_FOUND);
	cr_assert_eq(dkim_pubkey_bits(q.key), 2048);
	drop(&q);
	dkim_resolver_free(r);
}

Test(keys, revoked)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "revoked");

	assert_status(&q, DKIM_LOOKUP_FOUND);
	cr_assert(dkim_pubkey_revoked(q.key));
	drop(&q);
	dkim_resolver_free(r);
}

Test(keys, missing_is_notfound)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "missing");

	assert_status(&q, DKIM_LOOKUP_NOTFOUND);
	cr_assert_str_eq(q.reason, "no key for signature");
	cr_assert_null(q.key);
	dkim_resolver_free(r);
}

Test(keys, nodata_is_notfound)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "nodata");

	assert_status(&q, DKIM_LOOKUP_NOTFOUND);
	dkim_resolver_free(r);
}

Test(keys, malformed_is_permfail_with_reason)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "malformed");
	dkim_key_query q2 = lookup(r, "baddata");

	assert_status(&q, DKIM_LOOKUP_PERMFAIL);
	cr_assert(strncmp(q.reason, "key syntax error: ", 18) == 0 && q.reason[18] != '\0',
	          "reason: %s", q.reason);
	assert_status(&q2, DKIM_LOOKUP_PERMFAIL);
	cr_assert(strncmp(q2.reason, "key syntax error: ", 18) == 0, "reason: %s", q2.reason);
	dkim_resolver_free(r);
}

Test(keys, cname)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "alias");
	dkim_key_query q2 = lookup(r, "alias2");

	assert_status(&q, DKIM_LOOKUP_FOUND);
	cr_assert_eq(dkim_pubkey_bits(q.key), 2048);
	assert_status(&q2, DKIM_LOOKUP_FOUND);
	drop(&q);
	drop(&q2);
	dkim_resolver_free(r);
}

/*
 * About 12 KB (OpenDKIM once overran an 8 KB buffer): truncated over UDP, so
 * c-ares asks again over TCP.
 */
Test(keys, large_record_over_tcp)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "big");

	assert_status(&q, DKIM_LOOKUP_FOUND);
	cr_assert_eq(dkim_pubkey_bits(q.key), 2048);
	/* dnsmasq logs the UDP query and the TCP one. */
	cr_assert_eq(count_queries("DNS_LOG", "big"), 2);
	drop(&q);
	dkim_resolver_free(r);
}

Test(keys, oversized_key_refused)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "huge");

	assert_status(&q, DKIM_LOOKUP_PERMFAIL);
	cr_assert_null(q.key);
	cr_assert(strstr(q.reason, "16384") != NULL, "reason: %s", q.reason);
	dkim_resolver_free(r);
}

Test(keys, two_keys_conflict)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "two");

	assert_status(&q, DKIM_LOOKUP_PERMFAIL);
	cr_assert_str_eq(q.reason, "multiple DKIM key records");
	dkim_resolver_free(r);
}

Test(keys, other_txt_records_ignored)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "mixed");
	dkim_key_query q2 = lookup(r, "lone");

	assert_status(&q, DKIM_LOOKUP_FOUND);
	drop(&q);
	/* A lone record that is no key: its parse error is the reason. */
	assert_status(&q2, DKIM_LOOKUP_PERMFAIL);
	dkim_resolver_free(r);
}

Test(keys, invalid_names_not_queried)
{
	static const char *const bad[] = { "", "a..b", "a\\046b", "a b", ".a", "a." };
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_resolver_stats st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dkim_key_query q = lookup(r, bad[i]);

		assert_status(&q, DKIM_LOOKUP_PERMFAIL);
	}
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.queries_sent, 0);
	dkim_resolver_free(r);
}

Test(keys, one_call_many_queries)
{
	static const char *const sel[] = { "rsa", "ed", "missing", "two", "alias" };
	static const dkim_lookup_status want[] = {
		DKIM_LOOKUP_FOUND, DKIM_LOOKUP_FOUND, DKIM_LOOKUP_NOTFOUND,
		DKIM_LOOKUP_PERMFAIL, DKIM_LOOKUP_FOUND
	};
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q[5];
	dkim_resolver_stats st;
	size_t i;

	memset(q, 0, sizeof(q));
	for (i = 0; i < 5; i++) {
		q[i].selector = sel[i];
		q[i].domain = DOMAIN;
	}
	dkim_resolver_lookup(r, q, 5);
	for (i = 0; i < 5; i++) {
		assert_status(&q[i], want[i]);
		drop(&q[i]);
	}
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.queries_sent, 5);
	dkim_resolver_free(r);
}

/* Three answers that each take 0.5 s arrive in about 0.5 s, not 1.5 s. */
Test(keys, queries_of_one_call_run_concurrently)
{
	static const char *const sel[] = { "slow1", "slow2", "slow3" };
	dkim_resolver *r = make_resolver("SLOW_PORT", 3000, true);
	dkim_key_query q[3];
	double t0;
	size_t i;

	memset(q, 0, sizeof(q));
	for (i = 0; i < 3; i++) {
		q[i].selector = sel[i];
		q[i].domain = DOMAIN;
	}
	t0 = now_s();
	dkim_resolver_lookup(r, q, 3);
	cr_assert_lt(now_s() - t0, 1.2);
	for (i = 0; i < 3; i++) {
		assert_status(&q[i], DKIM_LOOKUP_FOUND);
		drop(&q[i]);
	}
	dkim_resolver_free(r);
}

/* ---- servers that fail -------------------------------------------------------------- */

TestSuite(failures, .timeout = 30);

static void expect_tempfail(const char *port_var, double max_s)
{
	dkim_resolver *r = make_resolver(port_var, 1000, true);
	double t0 = now_s();
	dkim_key_query q = lookup(r, "rsa");
	double took = now_s() - t0;

	assert_status(&q, DKIM_LOOKUP_TEMPFAIL);
	cr_assert_null(q.key);
	cr_assert_lt(took, max_s, "%s: took %.2f s", port_var, took);
	dkim_resolver_free(r);
}

Test(failures, never_answers_tempfail_within_timeout)
{
	dkim_resolver *r = make_resolver("SILENT_PORT", 1000, true);
	double t0 = now_s(), took;
	dkim_key_query q = lookup(r, "rsa");

	took = now_s() - t0;
	assert_status(&q, DKIM_LOOKUP_TEMPFAIL);
	cr_assert_str_eq(q.reason, "DNS timeout");
	cr_assert(took >= 0.9 && took < 1.5, "took %.2f s for a 1 s timeout", took);
	dkim_resolver_free(r);
}

Test(failures, servfail_tempfail)
{
	expect_tempfail("SERVFAIL_PORT", 1.0);
}

Test(failures, refused_tempfail)
{
	expect_tempfail("REFUSED_PORT", 1.0);
}

Test(failures, answer_for_another_name_tempfail)
{
	expect_tempfail("WRONGNAME_PORT", 1.0);
}

Test(failures, garbage_tempfail)
{
	expect_tempfail("GARBAGE_PORT", 1.5);
}

Test(failures, tempfail_not_cached)
{
	dkim_resolver *r = make_resolver("SERVFAIL_PORT", 1000, true);
	dkim_key_query q = lookup(r, "rsa");
	dkim_key_query q2 = lookup(r, "rsa");
	dkim_resolver_stats st;

	assert_status(&q, DKIM_LOOKUP_TEMPFAIL);
	assert_status(&q2, DKIM_LOOKUP_TEMPFAIL);
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.queries_sent, 2);
	dkim_resolver_free(r);
}

/* A dead first server: the second one answers within the timeout. */
Test(failures, second_server_answers)
{
	dkim_resolver_options o;
	char servers[128];
	dkim_resolver *r;
	dkim_key_query q;
	double t0;

	dkim_resolver_options_init(&o);
	o.timeout_ms = 3000;
	snprintf(servers, sizeof(servers), "127.0.0.1@%s, 127.0.0.1:%s",
	         env("SILENT_PORT"), env("DNS_PORT"));
	r = make_resolver_opts(&o, servers);
	t0 = now_s();
	q = lookup(r, "rsa");
	assert_status(&q, DKIM_LOOKUP_FOUND);
	cr_assert_lt(now_s() - t0, 3.0);
	drop(&q);
	dkim_resolver_free(r);
}

/* ---- Nameservers forms ----------------------------------------------------------------- */

TestSuite(nameservers, .timeout = 30);

Test(nameservers, accepted_forms)
{
	static const char *const ok[] = {
		"192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:5353", "192.0.2.1@5353",
		"2001:db8::1@5353", "2001:db8::1", "[2001:db8::1]", "[192.0.2.1]:53",
		"192.0.2.1,192.0.2.2", " 192.0.2.1 , [2001:db8::2]:54 ", "192.0.2.1 192.0.2.2",
	};
	dkim_resolver_options o;
	size_t i;

	dkim_resolver_options_init(&o);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		dkim_resolver_free(make_resolver_opts(&o, ok[i]));
	/* NULL or "": the system configuration. */
	dkim_resolver_free(make_resolver_opts(&o, NULL));
	dkim_resolver_free(make_resolver_opts(&o, ""));
}

Test(nameservers, bad_entry_named)
{
	static const char *const bad[][2] = {
		{ "192.0.2.1, 192.0.2.300", "192.0.2.300" },
		{ "192.0.2.1:0", "192.0.2.1:0" },
		{ "192.0.2.1@70000", "192.0.2.1@70000" },
		{ "[2001:db8::1:53", "[2001:db8::1:53" },
		{ "ns.example.com", "ns.example.com" },
		{ "192.0.2.1,,192.0.2.2", "empty" },
		{ "192.0.2.1:53x", "192.0.2.1:53x" },
		{ "[2001:db8::1]x", "[2001:db8::1]x" },
	};
	dkim_resolver_options o;
	dkim_error err;
	size_t i;

	dkim_resolver_options_init(&o);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		o.nameservers = bad[i][0];
		cr_assert_null(dkim_resolver_new(&o, &err), "accepted %s", bad[i][0]);
		cr_assert(strstr(err.message, bad[i][1]) != NULL,
		          "%s: message \"%s\" does not name the entry", bad[i][0], err.message);
	}
}

Test(nameservers, every_local_form_answers)
{
	const char *port = env("DNS_PORT");
	const char *const form[][2] = { { "127.0.0.1@", "" }, { "127.0.0.1:", "" },
	                                { "[127.0.0.1]:", "" } };
	dkim_resolver_options o;
	char servers[64];
	size_t i;

	dkim_resolver_options_init(&o);
	o.timeout_ms = 3000;
	for (i = 0; i < 3; i++) {
		dkim_resolver *r;
		dkim_key_query q;

		snprintf(servers, sizeof(servers), "%s%s%s", form[i][0], port, form[i][1]);
		r = make_resolver_opts(&o, servers);
		q = lookup(r, "ed");
		assert_status(&q, DKIM_LOOKUP_FOUND);
		drop(&q);
		dkim_resolver_free(r);
	}
}

Test(nameservers, ipv6_forms_answer)
{
	const char *port = env("DNS_PORT");
	const char *const form[][2] = { { "[::1]:", "" }, { "::1@", "" } };
	dkim_resolver_options o;
	char servers[64];
	size_t i;

	if (getenv("DNS_HAS_IPV6") == NULL)
		cr_skip_test("no IPv6 loopback on this host");
	dkim_resolver_options_init(&o);
	o.timeout_ms = 3000;
	for (i = 0; i < 2; i++) {
		dkim_resolver *r;
		dkim_key_query q;

		snprintf(servers, sizeof(servers), "%s%s%s", form[i][0], port, form[i][1]);
		r = make_resolver_opts(&o, servers);
		q = lookup(r, "ed");
		assert_status(&q, DKIM_LOOKUP_FOUND);
		drop(&q);
		dkim_resolver_free(r);
	}
}

/* ---- the cache -------------------------------------------------------------------------- */

TestSuite(cache, .timeout = 30);

Test(cache, second_lookup_sends_no_query)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "cache1");
	dkim_key_query q2 = lookup(r, "cache1");
	dkim_resolver_stats st;

	assert_status(&q, DKIM_LOOKUP_FOUND);
	assert_status(&q2, DKIM_LOOKUP_FOUND);
	cr_assert_eq(q.key, q2.key, "the cached key is shared, not parsed again");
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.queries_sent, 1);
	cr_assert_eq(st.cache_hits, 1);
	cr_assert_eq(st.cache_misses, 1);
	cr_assert_eq(count_queries("DNS_LOG", "cache1"), 1);
	drop(&q);
	drop(&q2);
	dkim_resolver_free(r);
}

Test(cache, names_compare_case_insensitively)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_key_query q = lookup(r, "cache2");
	dkim_key_query q2;
	dkim_resolver_stats st;

	memset(&q2, 0, sizeof(q2));
	q2.selector = "CACHE2";
	q2.domain = "Example.TEST";
	dkim_resolver_lookup(r, &q2, 1);
	assert_status(&q2, DKIM_LOOKUP_FOUND);
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.queries_sent, 1);
	drop(&q);
	drop(&q2);
	dkim_resolver_free(r);
}

Test(cache, expired_ttl_sends_new_query)
{
	dkim_resolver *r = make_resolver("DNS_SHORT_PORT", 3000, true);
	dkim_key_query q = lookup(r, "ttl1");
	dkim_key_query q2 = lookup(r, "ttl1");
	dkim_key_query q3;

	assert_status(&q, DKIM_LOOKUP_FOUND);
	assert_status(&q2, DKIM_LOOKUP_FOUND);
	cr_assert_eq(count_queries("DNS_SHORT_LOG", "ttl1"), 1);
	usleep(1300000);      /* the record's TTL is 1 s */
	q3 = lookup(r, "ttl1");
	assert_status(&q3, DKIM_LOOKUP_FOUND);
	cr_assert_eq(count_queries("DNS_SHORT_LOG", "ttl1"), 2);
	drop(&q);
	drop(&q2);
	drop(&q3);
	dkim_resolver_free(r);
}

Test(cache, ttl_ceiling)
{
	dkim_resolver_options o;
	char servers[64];
	dkim_resolver *r;
	dkim_key_query q, q2;

	dkim_resolver_options_init(&o);
	o.cache_max_ttl = 1;    /* the record says 300 */
	snprintf(servers, sizeof(servers), "127.0.0.1:%s", env("DNS_PORT"));
	r = make_resolver_opts(&o, servers);
	q = lookup(r, "cache3");
	usleep(1300000);
	q2 = lookup(r, "cache3");
	assert_status(&q2, DKIM_LOOKUP_FOUND);
	cr_assert_eq(count_queries("DNS_LOG", "cache3"), 2);
	drop(&q);
	drop(&q2);
	dkim_resolver_free(r);
}

Test(cache, negative_answers_cached_briefly)
{
	dkim_resolver_options o;
	char servers[64];
	dkim_resolver *r;
	dkim_key_query q, q2, q3;

	dkim_resolver_options_init(&o);
	o.cache_negative_ttl = 1;
	snprintf(servers, sizeof(servers), "127.0.0.1:%s", env("DNS_PORT"));
	r = make_resolver_opts(&o, servers);
	q = lookup(r, "neg1");
	q2 = lookup(r, "neg1");
	assert_status(&q, DKIM_LOOKUP_NOTFOUND);
	assert_status(&q2, DKIM_LOOKUP_NOTFOUND);
	cr_assert_eq(count_queries("DNS_LOG", "neg1"), 1);
	usleep(1300000);
	q3 = lookup(r, "neg1");
	assert_status(&q3, DKIM_LOOKUP_NOTFOUND);
	cr_assert_eq(count_queries("DNS_LOG", "neg1"), 2);
	dkim_resolver_free(r);
}

Test(cache, query_cache_no)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, false);
	dkim_key_query q = lookup(r, "cache4");
	dkim_key_query q2 = lookup(r, "cache4");

	assert_status(&q2, DKIM_LOOKUP_FOUND);
	cr_assert_eq(count_queries("DNS_LOG", "cache4"), 2);
	drop(&q);
	drop(&q2);
	dkim_resolver_free(r);
}

Test(cache, least_recently_used_evicted)
{
	dkim_resolver_options o;
	char servers[64];
	dkim_resolver *r;
	dkim_resolver_stats st;
	const char *order[] = { "lru-a", "lru-b", "lru-a", "lru-c", "lru-a", "lru-b" };
	size_t i;

	dkim_resolver_options_init(&o);
	o.cache_entries = 2;
	snprintf(servers, sizeof(servers), "127.0.0.1:%s", env("DNS_PORT"));
	r = make_resolver_opts(&o, servers);
	/* a, b, a (hit: a is newest), c (evicts b), a (hit), b (query again) */
	for (i = 0; i < 6; i++) {
		dkim_key_query q = lookup(r, order[i]);

		assert_status(&q, DKIM_LOOKUP_FOUND);
		drop(&q);
	}
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.cache_entries, 2);
	cr_assert_eq(st.cache_hits, 2);
	cr_assert_eq(count_queries("DNS_LOG", "lru-a"), 1);
	cr_assert_eq(count_queries("DNS_LOG", "lru-b"), 2);
	cr_assert_eq(count_queries("DNS_LOG", "lru-c"), 1);
	dkim_resolver_free(r);
}

/* ---- threads ------------------------------------------------------------------------------ */

#define NTHREADS 8

typedef struct {
	dkim_resolver *r;
	pthread_barrier_t *start;
	const char *selector;
	dkim_key_query q;
} thread_arg;

static void *thread_lookup(void *p)
{
	thread_arg *a = p;

	pthread_barrier_wait(a->start);
	a->q = lookup(a->r, a->selector);
	return NULL;
}

static void run_threads(dkim_resolver *r, const char *selector)
{
	pthread_barrier_t start;
	pthread_t tid[NTHREADS];
	thread_arg arg[NTHREADS];
	int i;

	pthread_barrier_init(&start, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		arg[i].r = r;
		arg[i].start = &start;
		arg[i].selector = selector;
		cr_assert_eq(pthread_create(&tid[i], NULL, thread_lookup, &arg[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < NTHREADS; i++) {
		assert_status(&arg[i].q, DKIM_LOOKUP_FOUND);
		drop(&arg[i].q);
	}
}

TestSuite(threads, .timeout = 30);

Test(threads, same_key_one_query)
{
	dkim_resolver *r = make_resolver("DNS_PORT", 3000, true);
	dkim_resolver_stats st;

	run_threads(r, "threads1");
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.queries_sent, 1);
	cr_assert_eq(st.cache_hits + st.inflight_waits, NTHREADS - 1);
	cr_assert_eq(count_queries("DNS_LOG", "threads1"), 1);
	dkim_resolver_free(r);
}

/* A slow answer: every other thread waits for the one query in flight. */
Test(threads, waiters_share_the_query_in_flight)
{
	dkim_resolver *r = make_resolver("SLOW_PORT", 3000, true);
	dkim_resolver_stats st;

	run_threads(r, "inflight");
	dkim_resolver_stats_get(r, &st);
	cr_assert_eq(st.queries_sent, 1);
	cr_assert_eq(st.inflight_waits, NTHREADS - 1);
	cr_assert_eq(count_queries("SLOW_LOG", "inflight"), 1);
	dkim_resolver_free(r);
}
