/*
 * metrics.c - the figures of metrics.h: plain arrays of C11 atomics, one
 * cell per combination of label values, and their Prometheus text
 * exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Every update is atomic_fetch_add with memory_order_relaxed: the figures
 * order nothing else, so no fence and no lock is needed.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

#define METRICS_NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define METRICS_ACTIONS 5               /* config_action values */
#define METRICS_RESULTS 7               /* dkim_result values */
#define METRICS_ALGS 3                  /* dkim_alg values */
#define METRICS_LOOKUPS 4               /* dkim_lookup_status values */
#define METRICS_KINDS 3                 /* dataset_kind values */
#define METRICS_BUILD_MAX 128

typedef atomic_uint_fast64_t metrics_counter;

/* The label lists below follow these enums: a new value must be named. */
_Static_assert(CONFIG_ACT_QUARANTINE + 1 == METRICS_ACTIONS, "config_action");
_Static_assert(DKIM_RESULT_PERMERROR + 1 == METRICS_RESULTS, "dkim_result");
_Static_assert(VERDICT_DEFAULT + 1 == METRICS_CAUSE_COUNT, "verdict_cause");
_Static_assert(DKIM_ALG_RSA_SHA1 + 1 == METRICS_ALGS, "dkim_alg");
_Static_assert(DKIM_LOOKUP_PERMFAIL + 1 == METRICS_LOOKUPS, "dkim_lookup_status");
_Static_assert(DATASET_CSL + 1 == METRICS_KINDS, "dataset_kind");

/* ---- label values (each list is the whole range of its label) --------- */

static const char *const metrics_mode_names[METRICS_MODE_COUNT] = {
	"sign", "verify", "none"
};
static const char *const metrics_action_names[METRICS_ACTIONS] = {
	"accept", "reject", "tempfail", "discard", "quarantine"
};
static const char *const metrics_result_names[METRICS_RESULTS] = {
	"none", "pass", "fail", "neutral", "policy", "temperror", "permerror"
};
/* verdict.h's verdict_cause, in order */
static const char *const metrics_cause_names[METRICS_CAUSE_COUNT] = {
	"pass", "bad_signature", "no_signature", "key_not_found", "dns_error", "unusable",
	"signature_error", "internal", "security", "default"
};
static const char *const metrics_alg_names[METRICS_ALGS] = {
	"rsa-sha256", "ed25519-sha256", "rsa-sha1"
};
static const char *const metrics_lookup_names[METRICS_LOOKUPS] = {
	"found", "notfound", "tempfail", "permfail"
};
static const char *const metrics_kind_names[METRICS_KINDS] = {
	"file", "refile", "csl"
};

/* EOM-to-reply buckets, in microseconds (le= in seconds). */
static const uint64_t metrics_eom_bounds_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};
#define METRICS_EOM_BUCKETS METRICS_NELEMS(metrics_eom_bounds_us)

/* ---- the figures --------------------------------------------------------- */

static struct {
	metrics_counter messages[METRICS_MODE_COUNT][METRICS_ACTIONS];
	metrics_counter verify[METRICS_RESULTS][METRICS_CAUSE_COUNT];
	metrics_counter signatures[METRICS_ALGS];
	metrics_counter dns[METRICS_LOOKUPS];
	metrics_counter cache_retired_hits, cache_retired_misses;
	metrics_counter dataset_lookups[METRICS_KINDS];
	metrics_counter dataset_errors;
	metrics_counter reloads_ok, reloads_refused;
	atomic_int_fast64_t last_good_load;     /* Unix time; 0: never */
	metrics_counter eom_buckets[METRICS_EOM_BUCKETS + 1];   /* last: +Inf */
	metrics_counter eom_sum_us;
	atomic_int_fast64_t connections;
} metrics;

static _Atomic(metrics_cache_fn) metrics_cache_source;
static char metrics_build[3][METRICS_BUILD_MAX];

static void metrics_add(metrics_counter *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t metrics_get(metrics_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void metrics_reset(void)
{
	/* Only with no other thread updating (tests, start). */
	memset(&metrics, 0, sizeof(metrics));
	atomic_store(&metrics_cache_source, NULL);
}

void metrics_set_build_info(const char *version, const char *libmilter, const char *openssl)
{
	const char *v[3] = { version, libmilter, openssl };
	for (size_t i = 0; i < 3; i++)
		snprintf(metrics_build[i], METRICS_BUILD_MAX, "%s", v[i] != NULL ? v[i] : "unknown");
}

/* ---- updates ---------------------------------------------------------------- */

void metrics_message(metrics_mode mode, config_action action)
{
	if ((unsigned)mode < METRICS_MODE_COUNT && (unsigned)action < METRICS_ACTIONS)
		metrics_add(&metrics.messages[mode][action]);
}

void metrics_verify_result(dkim_result result, unsigned cause)
{
	if ((unsigned)result < METRICS_RESULTS && cause < METRICS_CAUSE_COUNT)
		metrics_add(&metrics.verify[result][cause]);
}

void metrics_signature(dkim_alg alg)
{
	if ((unsigned)alg < METRICS_ALGS)
		metrics_add(&metrics.signatures[alg]);
}

void metrics_dns_lookup(dkim_lookup_status status)
{
	if ((unsigned)status < METRICS_LOOKUPS)
		metrics_add(&metrics.dns[status]);
}

void metrics_set_cache_source(metrics_cache_fn fn)
{
	atomic_store(&metrics_cache_source, fn);
}

void metrics_cache_retired(uint64_t hits, uint64_t misses)
{
	atomic_fetch_add_explicit(&metrics.cache_retired_hits, hits, memory_order_relaxed);
	atomic_fetch_add_explicit(&metrics.cache_retired_misses, misses, memory_order_relaxed);
}

void metrics_dataset_lookup(dataset_kind kind)
{
	if ((unsigned)kind < METRICS_KINDS)
		metrics_add(&metrics.dataset_lookups[kind]);
}

void metrics_dataset_error(void)
{
	metrics_add(&metrics.dataset_errors);
}

void metrics_config_loaded(void)
{
	atomic_store_explicit(&metrics.last_good_load, (int_fast64_t)time(NULL),
	                      memory_order_relaxed);
}

void metrics_reload(bool ok)
{
	metrics_add(ok ? &metrics.reloads_ok : &metrics.reloads_refused);
	if (ok)
		metrics_config_loaded();
}

void metrics_eom_observe_us(uint64_t us)
{
	size_t i = 0;
	while (i < METRICS_EOM_BUCKETS && us > metrics_eom_bounds_us[i])
		i++;
	metrics_add(&metrics.eom_buckets[i]);
	atomic_fetch_add_explicit(&metrics.eom_sum_us, us, memory_order_relaxed);
}

void metrics_eom_done(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t us = (int64_t)(now.tv_sec - start->tv_sec) * 1000000 +
	             (now.tv_nsec - start->tv_nsec) / 1000;
	metrics_eom_observe_us(us > 0 ? (uint64_t)us : 0);
}

void metrics_connection_open(void)
{
	atomic_fetch_add_explicit(&metrics.connections, 1, memory_order_relaxed);
}

void metrics_connection_close(void)
{
	atomic_fetch_sub_explicit(&metrics.connections, 1, memory_order_relaxed);
}

/* ---- the summary line ----------------------------------------------------------- */

static uint64_t metrics_action_total(config_action action)
{
	uint64_t n = 0;
	for (size_t m = 0; m < METRICS_MODE_COUNT; m++)
		n += metrics_get(&metrics.messages[m][action]);
	return n;
}

static uint64_t metrics_result_total(dkim_result result)
{
	uint64_t n = 0;
	for (size_t c = 0; c < METRICS_CAUSE_COUNT; c++)
		n += metrics_get(&metrics.verify[result][c]);
	return n;
}

void metrics_get_summary(metrics_summary *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t a = 0; a < METRICS_ACTIONS; a++) {
		s->signed_msgs += metrics_get(&metrics.messages[METRICS_MODE_SIGN][a]);
		s->verified_msgs += metrics_get(&metrics.messages[METRICS_MODE_VERIFY][a]);
		s->skipped_msgs += metrics_get(&metrics.messages[METRICS_MODE_NONE][a]);
	}
	s->tempfail_msgs = metrics_action_total(CONFIG_ACT_TEMPFAIL);
	s->rejected_msgs = metrics_action_total(CONFIG_ACT_REJECT);
	s->verify_pass = metrics_result_total(DKIM_RESULT_PASS);
	s->verify_fail = metrics_result_total(DKIM_RESULT_FAIL);
	s->dns_temperror = metrics_get(&metrics.dns[DKIM_LOOKUP_TEMPFAIL]);
	s->reload_ok = metrics_get(&metrics.reloads_ok);
	s->reload_refused = metrics_get(&metrics.reloads_refused);
	s->connections = atomic_load_explicit(&metrics.connections, memory_order_relaxed);
}

void metrics_format_summary(char *buf, size_t size)
{
	metrics_summary s;
	metrics_get_summary(&s);
	snprintf(buf, size,
	         "messages signed=%llu verified=%llu skipped=%llu tempfail=%llu reject=%llu; "
	         "signatures pass=%llu fail=%llu; dns temperror=%llu; "
	         "reloads ok=%llu refused=%llu; connections=%lld",
	         (unsigned long long)s.signed_msgs, (unsigned long long)s.verified_msgs,
	         (unsigned long long)s.skipped_msgs, (unsigned long long)s.tempfail_msgs,
	         (unsigned long long)s.rejected_msgs, (unsigned long long)s.verify_pass,
	         (unsigned long long)s.verify_fail, (unsigned long long)s.dns_temperror,
	         (unsigned long long)s.reload_ok, (unsigned long long)s.reload_refused,
	         (long long)s.connections);
}

/* ---- exposition ------------------------------------------------------------------ */

static void metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void metrics_label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void metrics_render_messages(FILE *f)
{
	metrics_family(f, "dkimd_messages_total", "counter",
	               "Messages ended, by mode (sign, verify, none: left alone) and action.");
	for (size_t m = 0; m < METRICS_MODE_COUNT; m++)
		for (size_t a = 0; a < METRICS_ACTIONS; a++)
			fprintf(f, "dkimd_messages_total{mode=\"%s\",action=\"%s\"} %llu\n",
			        metrics_mode_names[m], metrics_action_names[a],
			        (unsigned long long)metrics_get(&metrics.messages[m][a]));
}

static void metrics_render_verify(FILE *f)
{
	metrics_family(f, "dkimd_verify_results_total", "counter",
	               "Verified messages, by the deciding signature's result and the verdict's cause.");
	for (size_t r = 0; r < METRICS_RESULTS; r++)
		for (size_t c = 0; c < METRICS_CAUSE_COUNT; c++) {
			uint64_t n = metrics_get(&metrics.verify[r][c]);
			/* Most pairs cannot happen: only those seen are shown,
			 * except the usual ones, present from the start. */
			bool usual = (r == DKIM_RESULT_PASS && c == 0) ||
			             (r == DKIM_RESULT_FAIL && c == 1) ||
			             (r == DKIM_RESULT_TEMPERROR && c == 4);
			if (n > 0 || usual)
				fprintf(f, "dkimd_verify_results_total{result=\"%s\",cause=\"%s\"} %llu\n",
				        metrics_result_names[r], metrics_cause_names[c],
				        (unsigned long long)n);
		}
}

static void metrics_render_labelled(FILE *f, const char *name, const char *label,
                                    const char *const *values, metrics_counter *cells,
                                    size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
		        (unsigned long long)metrics_get(&cells[i]));
}

static void metrics_render_dns(FILE *f)
{
	metrics_family(f, "dkimd_signatures_total", "counter", "DKIM-Signature fields added, by algorithm.");
	metrics_render_labelled(f, "dkimd_signatures_total", "algorithm", metrics_alg_names,
	                        metrics.signatures, METRICS_ALGS);
	metrics_family(f, "dkimd_dns_key_lookups_total", "counter",
	               "Key record lookups, by outcome (cached answers included).");
	metrics_render_labelled(f, "dkimd_dns_key_lookups_total", "outcome", metrics_lookup_names,
	                        metrics.dns, METRICS_LOOKUPS);
	uint64_t hits = 0, misses = 0;
	metrics_cache_fn fn = atomic_load(&metrics_cache_source);
	if (fn != NULL)
		fn(&hits, &misses);
	hits += metrics_get(&metrics.cache_retired_hits);
	misses += metrics_get(&metrics.cache_retired_misses);
	metrics_family(f, "dkimd_dns_key_cache_total", "counter",
	               "Key record lookups answered from the key cache (hit) or not (miss).");
	fprintf(f, "dkimd_dns_key_cache_total{result=\"hit\"} %llu\n", (unsigned long long)hits);
	fprintf(f, "dkimd_dns_key_cache_total{result=\"miss\"} %llu\n", (unsigned long long)misses);
}

static void metrics_render_config(FILE *f)
{
	metrics_family(f, "dkimd_dataset_lookups_total", "counter", "Data set lookups, by type.");
	metrics_render_labelled(f, "dkimd_dataset_lookups_total", "type", metrics_kind_names,
	                        metrics.dataset_lookups, METRICS_KINDS);
	metrics_family(f, "dkimd_dataset_errors_total", "counter",
	               "Data sets that could not be loaded.");
	fprintf(f, "dkimd_dataset_errors_total %llu\n",
	        (unsigned long long)metrics_get(&metrics.dataset_errors));
	metrics_family(f, "dkimd_reloads_total", "counter",
	               "Configuration reloads, by result (ok, refused: the running one stayed).");
	fprintf(f, "dkimd_reloads_total{result=\"ok\"} %llu\n",
	        (unsigned long long)metrics_get(&metrics.reloads_ok));
	fprintf(f, "dkimd_reloads_total{result=\"refused\"} %llu\n",
	        (unsigned long long)metrics_get(&metrics.reloads_refused));
	metrics_family(f, "dkimd_config_last_good_load_timestamp_seconds", "gauge",
	               "When the running configuration was loaded (start or reload), Unix time.");
	fprintf(f, "dkimd_config_last_good_load_timestamp_seconds %lld\n",
	        (long long)atomic_load(&metrics.last_good_load));
}

/* Buckets are stored apart and cumulated here; _count is their sum, so
 * that it always equals the +Inf bucket. */
static void metrics_render_eom(FILE *f)
{
	const char *name = "dkimd_eom_duration_seconds";
	metrics_family(f, name, "histogram",
	               "Time from the end of a message to the milter's reply.");
	uint64_t cum = 0;
	for (size_t i = 0; i <= METRICS_EOM_BUCKETS; i++) {
		cum += metrics_get(&metrics.eom_buckets[i]);
		if (i < METRICS_EOM_BUCKETS)
			fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name,
			        (double)metrics_eom_bounds_us[i] / 1e6, (unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	}
	fprintf(f, "%s_sum %.6f\n", name, (double)metrics_get(&metrics.eom_sum_us) / 1e6);
	fprintf(f, "%s_count %llu\n", name, (unsigned long long)cum);
}

static void metrics_render_process(FILE *f)
{
	metrics_family(f, "dkimd_connections", "gauge", "MTA connections open now.");
	fprintf(f, "dkimd_connections %lld\n", (long long)atomic_load(&metrics.connections));
	metrics_family(f, "dkimd_build_info", "gauge",
	               "Always 1; the labels name the versions built with.");
	fputs("dkimd_build_info{version=\"", f);
	metrics_label_value(f, metrics_build[0][0] != '\0' ? metrics_build[0] : "unknown");
	fputs("\",libmilter=\"", f);
	metrics_label_value(f, metrics_build[1][0] != '\0' ? metrics_build[1] : "unknown");
	fputs("\",openssl=\"", f);
	metrics_label_value(f, metrics_build[2][0] != '\0' ? metrics_build[2] : "unknown");
	fputs("\"} 1\n", f);
}

char *metrics_render(size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (f == NULL)
		return NULL;
	metrics_render_messages(f);
	metrics_render_verify(f);
	metrics_render_dns(f);
	metrics_render_config(f);
	metrics_render_eom(f);
	metrics_render_process(f);
	bool ok = !ferror(f);
	if (fclose(f) != 0 || !ok) {
		free(buf);
		return NULL;
	}
	if (len != NULL)
		*len = size;
	return buf;
}
