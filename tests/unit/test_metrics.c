/*
 * test_metrics.c - the figures of opendkim/metrics.c: each update moves
 * the one series it names, the histogram's buckets are cumulative and its
 * count is the +Inf bucket, label values are escaped, and concurrent
 * updates lose nothing (the point of the atomics).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "verdict.h"

static void setup(void)
{
	metrics_reset();
}

TestSuite(metrics, .init = setup);

/* The rendered text; the caller frees it. */
static char *render(void)
{
	size_t len = 0;
	char *text = metrics_render(&len);
	cr_assert_not_null(text);
	cr_assert_eq(strlen(text), len);
	return text;
}

/* The value of the series whose line starts with "series ". */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	cr_assert_fail("series %s not found in:\n%s", series, text);
	return -1;
}

Test(metrics, messages_by_mode_and_action)
{
	metrics_message(METRICS_MODE_SIGN, CONFIG_ACT_ACCEPT);
	metrics_message(METRICS_MODE_SIGN, CONFIG_ACT_ACCEPT);
	metrics_message(METRICS_MODE_VERIFY, CONFIG_ACT_REJECT);
	metrics_message(METRICS_MODE_NONE, CONFIG_ACT_TEMPFAIL);
	metrics_message(METRICS_MODE_COUNT, CONFIG_ACT_ACCEPT);   /* out of range: nowhere */
	char *t = render();
	cr_expect_eq(value_of(t, "dkimd_messages_total{mode=\"sign\",action=\"accept\"}"), 2);
	cr_expect_eq(value_of(t, "dkimd_messages_total{mode=\"verify\",action=\"reject\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_messages_total{mode=\"none\",action=\"tempfail\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_messages_total{mode=\"verify\",action=\"accept\"}"), 0);
	free(t);
}

Test(metrics, verify_results_show_the_usual_series_from_the_start)
{
	char *t = render();
	cr_expect_eq(value_of(t, "dkimd_verify_results_total{result=\"pass\",cause=\"pass\"}"), 0);
	cr_expect_eq(value_of(t, "dkimd_verify_results_total{result=\"temperror\",cause=\"dns_error\"}"), 0);
	cr_expect_null(strstr(t, "cause=\"security\""));
	free(t);
	metrics_verify_result(DKIM_RESULT_PERMERROR, VERDICT_KEY_NOT_FOUND);
	metrics_verify_result(DKIM_RESULT_FAIL, VERDICT_BAD_SIGNATURE);
	metrics_verify_result(DKIM_RESULT_FAIL, METRICS_CAUSE_COUNT);   /* nowhere */
	t = render();
	cr_expect_eq(value_of(t, "dkimd_verify_results_total{result=\"permerror\",cause=\"key_not_found\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_verify_results_total{result=\"fail\",cause=\"bad_signature\"}"), 1);
	free(t);
}

Test(metrics, signatures_dns_and_datasets)
{
	metrics_signature(DKIM_ALG_ED25519_SHA256);
	metrics_dns_lookup(DKIM_LOOKUP_TEMPFAIL);
	metrics_dns_lookup(DKIM_LOOKUP_FOUND);
	metrics_dataset_lookup(DATASET_REFILE);
	metrics_dataset_error();
	char *t = render();
	cr_expect_eq(value_of(t, "dkimd_signatures_total{algorithm=\"ed25519-sha256\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_signatures_total{algorithm=\"rsa-sha256\"}"), 0);
	cr_expect_eq(value_of(t, "dkimd_dns_key_lookups_total{outcome=\"tempfail\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_dns_key_lookups_total{outcome=\"found\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_dataset_lookups_total{type=\"refile\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_dataset_errors_total"), 1);
	free(t);
}

static void cache_live(uint64_t *hits, uint64_t *misses)
{
	*hits = 5;
	*misses = 2;
}

Test(metrics, cache_counts_live_and_retired_resolvers)
{
	metrics_cache_retired(10, 3);
	metrics_set_cache_source(cache_live);
	char *t = render();
	cr_expect_eq(value_of(t, "dkimd_dns_key_cache_total{result=\"hit\"}"), 15);
	cr_expect_eq(value_of(t, "dkimd_dns_key_cache_total{result=\"miss\"}"), 5);
	free(t);
}

Test(metrics, reloads_and_last_good_time)
{
	char *t = render();
	cr_expect_eq(value_of(t, "dkimd_config_last_good_load_timestamp_seconds"), 0);
	free(t);
	time_t before = time(NULL);
	metrics_reload(true);
	metrics_reload(false);
	metrics_reload(false);
	t = render();
	cr_expect_eq(value_of(t, "dkimd_reloads_total{result=\"ok\"}"), 1);
	cr_expect_eq(value_of(t, "dkimd_reloads_total{result=\"refused\"}"), 2);
	cr_expect_geq(value_of(t, "dkimd_config_last_good_load_timestamp_seconds"), (double)before);
	free(t);
}

Test(metrics, histogram_is_cumulative)
{
	metrics_eom_observe_us(100);        /* <= 0.0005 */
	metrics_eom_observe_us(1000);       /* <= 0.001: bounds are inclusive */
	metrics_eom_observe_us(30000);      /* <= 0.05 */
	metrics_eom_observe_us(60000000);   /* +Inf only */
	char *t = render();
	const char *h = "dkimd_eom_duration_seconds";
	char s[128];
	snprintf(s, sizeof(s), "%s_bucket{le=\"0.0005\"}", h);
	cr_expect_eq(value_of(t, s), 1);
	snprintf(s, sizeof(s), "%s_bucket{le=\"0.001\"}", h);
	cr_expect_eq(value_of(t, s), 2);
	snprintf(s, sizeof(s), "%s_bucket{le=\"0.025\"}", h);
	cr_expect_eq(value_of(t, s), 2);
	snprintf(s, sizeof(s), "%s_bucket{le=\"0.05\"}", h);
	cr_expect_eq(value_of(t, s), 3);
	snprintf(s, sizeof(s), "%s_bucket{le=\"10\"}", h);
	cr_expect_eq(value_of(t, s), 3);
	snprintf(s, sizeof(s), "%s_bucket{le=\"+Inf\"}", h);
	cr_expect_eq(value_of(t, s), 4);
	snprintf(s, sizeof(s), "%s_count", h);
	cr_expect_eq(value_of(t, s), 4);
	snprintf(s, sizeof(s), "%s_sum", h);
	cr_expect_float_eq(value_of(t, s), 60.0311, 1e-9);
	free(t);
}

Test(metrics, connections_gauge_and_build_info_escaped)
{
	metrics_connection_open();
	metrics_connection_open();
	metrics_connection_close();
	metrics_set_build_info("1.0 \"x\"\\", NULL, "OpenSSL 3.0.11\n");
	char *t = render();
	cr_expect_eq(value_of(t, "dkimd_connections"), 1);
	cr_expect_not_null(strstr(t, "dkimd_build_info{version=\"1.0 \\\"x\\\"\\\\\","
	                             "libmilter=\"unknown\",openssl=\"OpenSSL 3.0.11\\n\"} 1\n"), "%s", t);
	free(t);
}

Test(metrics, every_family_has_help_and_type)
{
	char *t = render();
	const char *families[] = {
		"dkimd_messages_total counter", "dkimd_verify_results_total counter",
		"dkimd_signatures_total counter", "dkimd_dns_key_lookups_total counter",
		"dkimd_dns_key_cache_total counter", "dkimd_dataset_lookups_total counter",
		"dkimd_dataset_errors_total counter", "dkimd_reloads_total counter",
		"dkimd_config_last_good_load_timestamp_seconds gauge",
		"dkimd_eom_duration_seconds histogram", "dkimd_connections gauge",
		"dkimd_build_info gauge",
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(*families); i++) {
		char line[128];
		snprintf(line, sizeof(line), "# TYPE %s\n", families[i]);
		cr_expect_not_null(strstr(t, line), "missing %s", line);
	}
	cr_expect_eq(t[strlen(t) - 1], '\n');
	free(t);
}

Test(metrics, summary_line)
{
	metrics_message(METRICS_MODE_SIGN, CONFIG_ACT_ACCEPT);
	metrics_message(METRICS_MODE_VERIFY, CONFIG_ACT_TEMPFAIL);
	metrics_verify_result(DKIM_RESULT_TEMPERROR, VERDICT_DNS_ERROR);
	metrics_dns_lookup(DKIM_LOOKUP_TEMPFAIL);
	metrics_reload(false);
	char line[512];
	metrics_format_summary(line, sizeof(line));
	cr_expect_str_eq(line, "messages signed=1 verified=1 skipped=0 tempfail=1 reject=0; "
	                 "signatures pass=0 fail=0; dns temperror=1; reloads ok=0 refused=1; "
	                 "connections=0");
}

#define THREADS 4
#define ROUNDS 100000

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		metrics_message(METRICS_MODE_SIGN, CONFIG_ACT_ACCEPT);
		metrics_eom_observe_us(2000);
	}
	return NULL;
}

Test(metrics, concurrent_updates_lose_nothing)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	char *text = render();
	cr_expect_eq(value_of(text, "dkimd_messages_total{mode=\"sign\",action=\"accept\"}"),
	             THREADS * ROUNDS);
	cr_expect_eq(value_of(text, "dkimd_eom_duration_seconds_count"), THREADS * ROUNDS);
	cr_expect_float_eq(value_of(text, "dkimd_eom_duration_seconds_sum"),
	                   THREADS * ROUNDS * 0.002, 1e-6);
	free(text);
}
