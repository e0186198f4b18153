/*
 * metrics.h - the daemon's counters, gauges and histogram, and their
 * Prometheus text exposition (format 0.0.4).
 *
 * One process-wide set of figures. Every label has a fixed, short list of
 * values (an enum here, in dkim.h or in odkconfig.h): no label ever carries a
 * domain, a selector or an address, so the number of series is bounded
 * whatever the mail.
 *
 * Updating is one relaxed atomic add (C11 <stdatomic.h>): no lock on the
 * per-message path, safe from any thread. Reading (metrics_render) walks
 * the same atomics; a scrape may see one message counted in one family and
 * not yet in another, never a torn value.
 *
 * Errors: metrics_render returns NULL when out of memory; the update
 * functions cannot fail (an out-of-range enum is counted nowhere).
 */
#ifndef OPENDKIM_METRICS_H
#define OPENDKIM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "odkconfig.h"
#include "dkim.h"
#include "dataset.h"

/* What the daemon did with a message, besides its action. */
typedef enum {
	METRICS_MODE_SIGN = 0,          /* signed (or was to be) */
	METRICS_MODE_VERIFY,            /* verified (or was to be) */
	METRICS_MODE_NONE,              /* neither: left alone, or failed first */
	METRICS_MODE_COUNT
} metrics_mode;

/* Why the verdict: the values of verdict.h's verdict_cause, in order. */
enum { METRICS_CAUSE_COUNT = 10 };

/* Clears every figure (tests; the daemon starts cleared). */
void metrics_reset(void);

/* Build information, set once at start (copied; NULL: "unknown"). */
void metrics_set_build_info(const char *version, const char *libmilter,
                            const char *openssl);

/* A message ended: its mode and the action taken. */
void metrics_message(metrics_mode mode, config_action action);

/* A verified message: the deciding signature's result and the verdict
 * cause (a verdict_cause value). */
void metrics_verify_result(dkim_result result, unsigned cause);

/* A DKIM-Signature added. */
void metrics_signature(dkim_alg alg);

/* A key lookup's outcome (one per signature looked up). */
void metrics_dns_lookup(dkim_lookup_status status);

/*
 * The key cache's hits and misses: the live resolver's figures come from
 * the callback at each scrape; a resolver that is retired adds its final
 * figures here, so the counters never go back.
 */
typedef void (*metrics_cache_fn)(uint64_t *hits, uint64_t *misses);
void metrics_set_cache_source(metrics_cache_fn fn);
void metrics_cache_retired(uint64_t hits, uint64_t misses);

/* A data set looked up (once per lookup, however many entries match);
 * a data set that could not be loaded (a missing file, a bad line, a
 * back end that is not supported). */
void metrics_dataset_lookup(dataset_kind kind);
void metrics_dataset_error(void);

/* A configuration reload: ok, or refused. The start counts as a good
 * load for the time of the last good one. */
void metrics_reload(bool ok);
void metrics_config_loaded(void);

/* From end of message to the reply: start is CLOCK_MONOTONIC at EOM. */
void metrics_eom_done(const struct timespec *start);
/* The same with a duration in microseconds (tests). */
void metrics_eom_observe_us(uint64_t us);

/* The MTA connections open now. */
void metrics_connection_open(void);
void metrics_connection_close(void);

/* Figures for the one-line summary (SIGUSR2). */
typedef struct {
	uint64_t signed_msgs, verified_msgs, skipped_msgs, tempfail_msgs, rejected_msgs;
	uint64_t verify_pass, verify_fail, dns_temperror, reload_ok, reload_refused;
	int64_t connections;
} metrics_summary;
void metrics_get_summary(metrics_summary *out);
/* "signed=N verified=N ..." into buf (always terminated). */
void metrics_format_summary(char *buf, size_t size);

/*
 * The text exposition of every figure, NUL-terminated; *len its length.
 * The caller frees it. NULL when out of memory.
 */
char *metrics_render(size_t *len);

#endif /* OPENDKIM_METRICS_H */
