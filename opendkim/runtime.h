/*
 * runtime.h - the running configuration and its DNS resolver, as one
 * reference-counted "runtime" that a reload swaps.
 *
 * A message takes a reference when it starts and keeps it until it ends,
 * so a reload (runtime_set_config) never changes the rules under a message
 * in flight; the old runtime is freed by whoever drops the last reference.
 * A reload that keeps Nameservers, DNSTimeout and QueryCache keeps the
 * resolver, and with it the key cache.
 *
 * Errors: runtime_set_config returns false with a message when the
 * resolver cannot be created; the current runtime is then unchanged.
 */
#ifndef ODK_RUNTIME_H
#define ODK_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dkim.h"
#include "dkim_resolver.h"
#include "odkconfig.h"

typedef struct runtime_dns runtime_dns;

typedef struct {
	atomic_uint refs;
	config *cfg;                    /* the configuration (read only) */
	runtime_dns *dns;               /* the resolver made from it */
} runtime;

/*
 * Makes cfg (whose reference the runtime takes over on success) the
 * configuration for messages that start from now on.
 */
bool runtime_set_config(config *cfg, dkim_error *err);

/* The current runtime with a reference for the caller (NULL before the
 * first runtime_set_config), and the dropping of that reference. */
runtime *runtime_get(void);
void runtime_put(runtime *rt);

/* The runtime's resolver (the lookup context of dkim_resolver_lookup). */
dkim_resolver *runtime_resolver(const runtime *rt);

/*
 * The configuration messages start with now, with a reference for the
 * caller (config_unref), or NULL before the first runtime_set_config.
 */
config *runtime_config_get(void);

/* Drops the current runtime (at exit, after the last message). */
void runtime_shutdown(void);

/* The current key cache's hits and misses (a metrics_cache_fn). */
void runtime_cache_stats(uint64_t *hits, uint64_t *misses);

#endif /* ODK_RUNTIME_H */
