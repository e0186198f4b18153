/*
 * milter.h - the libmilter side of the daemon: callbacks, the current
 * configuration, and statistics for the process.
 *
 * The running configuration and its DNS resolver form one reference-counted
 * "runtime". A message takes a reference when it starts and keeps it until
 * it ends, so a reload (milter_set_config) never changes the rules under a
 * message in flight; the old runtime is freed by whoever drops the last
 * reference. A reload that keeps Nameservers, DNSTimeout and QueryCache
 * keeps the resolver, and with it the key cache.
 *
 * Errors: milter_set_config returns false with a message when the resolver
 * cannot be created; the current runtime is then unchanged.
 */
#ifndef OPENDKIM_MILTER_H
#define OPENDKIM_MILTER_H

#include <stdbool.h>

#include <stdint.h>

#include <libmilter/mfapi.h>

#include "odkconfig.h"
#include "dkim.h"

/* The libmilter registration (name, flags, callbacks). */
extern struct smfiDesc milter_desc;

/*
 * Makes cfg (whose reference the runtime takes over on success) the
 * configuration for messages that start from now on.
 */
bool milter_set_config(config *cfg, dkim_error *err);

/*
 * The configuration messages start with now, with a reference for the
 * caller (config_unref), or NULL before the first milter_set_config.
 */
config *milter_config_get(void);

/* Drops the current runtime (at exit, after the last message). */
void milter_shutdown(void);

/* From now on, new messages get a temporary failure (451 4.3.2). */
void milter_begin_shutdown(void);

/* Messages between MAIL and end of message / abort, now. */
unsigned milter_messages_in_flight(void);

/* The current key cache's hits and misses (a metrics_cache_fn). */
void milter_cache_stats(uint64_t *hits, uint64_t *misses);

#endif /* OPENDKIM_MILTER_H */
