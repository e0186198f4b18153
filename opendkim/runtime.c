/*
 * runtime.c - the rules messages run with: the loaded configuration and
 * the DNS resolver made from it, as one reference-counted runtime that a
 * reload swaps.
 *
 * Interface: runtime.h. A message takes a reference (runtime_get) when it
 * starts and drops it (runtime_put) when it ends; the runtime it started
 * with is freed by whoever drops the last reference. A reload that keeps
 * Nameservers, DNSTimeout and QueryCache keeps the resolver, and with it
 * the key cache.
 *
 * Errors: runtime_set_config returns false with a message in a dkim_error
 * when memory runs out or the resolver cannot be created; the current
 * runtime is then unchanged.
 */
#include "runtime.h"
#include "dkim_resolver.h"
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * The resolver and the settings it was made from. A reload that leaves
 * Nameservers, DNSTimeout and QueryCache alone keeps it, and so keeps the
 * key cache; otherwise the old one lives on with the messages that use it.
 */
struct runtime_dns {
	atomic_uint refs;
	dkim_resolver *resolver;
	char *nameservers;              /* NULL: /etc/resolv.conf */
	unsigned timeout;
	bool cache;
};

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static runtime *runtime_current;

static void runtime_dns_put(runtime_dns *dns)
{
	if (dns == NULL || atomic_fetch_sub(&dns->refs, 1) != 1)
		return;
	dkim_resolver_stats st;
	dkim_resolver_stats_get(dns->resolver, &st);
	metrics_cache_retired(st.cache_hits, st.cache_misses);
	dkim_resolver_free(dns->resolver);
	free(dns->nameservers);
	free(dns);
}

static bool runtime_dns_matches(const runtime_dns *dns, const config *cfg)
{
	const char *a = dns->nameservers, *b = cfg->nameservers;
	bool same_servers = (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
	return same_servers && dns->timeout == cfg->dns_timeout && dns->cache == cfg->query_cache;
}

static runtime_dns *runtime_dns_new(const config *cfg, dkim_error *err)
{
	runtime_dns *dns = calloc(1, sizeof(*dns));
	if (dns == NULL || (cfg->nameservers != NULL &&
	                    (dns->nameservers = strdup(cfg->nameservers)) == NULL)) {
		free(dns);
		dkim_error_nomem(err);
		return NULL;
	}
	dkim_resolver_options ro;
	dkim_resolver_options_init(&ro);
	ro.nameservers = cfg->nameservers;
	ro.timeout_ms = cfg->dns_timeout * 1000u;
	ro.cache = cfg->query_cache;
	dns->resolver = dkim_resolver_new(&ro, err);
	if (dns->resolver == NULL) {
		free(dns->nameservers);
		free(dns);
		return NULL;
	}
	atomic_init(&dns->refs, 1);
	dns->timeout = cfg->dns_timeout;
	dns->cache = cfg->query_cache;
	return dns;
}

void runtime_put(runtime *rt)
{
	if (rt == NULL || atomic_fetch_sub(&rt->refs, 1) != 1)
		return;
	runtime_dns_put(rt->dns);
	config_unref(rt->cfg);
	free(rt);
}

runtime *runtime_get(void)
{
	pthread_mutex_lock(&runtime_lock);
	runtime *rt = runtime_current;
	if (rt != NULL)
		atomic_fetch_add(&rt->refs, 1);
	pthread_mutex_unlock(&runtime_lock);
	return rt;
}

/* The current resolver when cfg's DNS settings are the same, else a new one. */
static runtime_dns *runtime_dns_for(const config *cfg, dkim_error *err)
{
	runtime *cur = runtime_get();
	runtime_dns *dns = NULL;
	if (cur != NULL && runtime_dns_matches(cur->dns, cfg)) {
		dns = cur->dns;
		atomic_fetch_add(&dns->refs, 1);
	}
	runtime_put(cur);
	return dns != NULL ? dns : runtime_dns_new(cfg, err);
}

bool runtime_set_config(config *cfg, dkim_error *err)
{
	dkim_error local;
	if (err == NULL)
		err = &local;
	runtime *rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		dkim_error_nomem(err);
		return false;
	}
	rt->dns = runtime_dns_for(cfg, err);
	if (rt->dns == NULL) {
		free(rt);
		return false;
	}
	atomic_init(&rt->refs, 1);
	rt->cfg = cfg;
	pthread_mutex_lock(&runtime_lock);
	runtime *old = runtime_current;
	runtime_current = rt;
	pthread_mutex_unlock(&runtime_lock);
	runtime_put(old);   /* freed now, or by its last message */
	return true;
}

/*
 * The key cache's figures for a scrape: those of the current resolver; a
 * resolver replaced by a reload that changed the DNS settings adds its
 * own (metrics_cache_retired) when its last message ends.
 */
void runtime_cache_stats(uint64_t *hits, uint64_t *misses)
{
	runtime *rt = runtime_get();
	if (rt != NULL) {
		dkim_resolver_stats st;
		dkim_resolver_stats_get(rt->dns->resolver, &st);
		*hits = st.cache_hits;
		*misses = st.cache_misses;
	}
	runtime_put(rt);
}

config *runtime_config_get(void)
{
	runtime *rt = runtime_get();
	config *cfg = rt != NULL ? config_ref(rt->cfg) : NULL;
	runtime_put(rt);
	return cfg;
}

dkim_resolver *runtime_resolver(const runtime *rt)
{
	return rt->dns->resolver;
}

void runtime_shutdown(void)
{
	pthread_mutex_lock(&runtime_lock);
	runtime *old = runtime_current;
	runtime_current = NULL;
	pthread_mutex_unlock(&runtime_lock);
	runtime_put(old);
}
