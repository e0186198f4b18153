/*
 * resolver.c - DKIM key retrieval over DNS through c-ares (RFC 6376 §3.6.2).
 *
 * Interface (dkim_resolver.h): dkim_resolver_new parses the options (the
 * Nameservers list in every form OpenDKIM configurations use), and
 * dkim_resolver_lookup, a dkim_lookup_fn, answers all key queries of one
 * message: cache hits at once, the other names queried together on one
 * c-ares channel (TXT, class IN, "selector._domainkey.domain"), driven by a
 * poll loop bounded by the whole timeout. Queries another thread already
 * has in flight are not sent again: the cache (keycache.c) hands that
 * thread's answer over. Channels are not thread-safe, so each call takes
 * one from a small mutex-protected pool, or makes one.
 *
 * The bytes of each answer are read by dkim_resolver_answer (dnsanswer.c):
 * RCODE, question, CNAME chain, TXT strings concatenated (§3.6.2.2), and
 * the choice among several TXT records.
 *
 * Outcomes (RFC 6376 §6.1.2): NXDOMAIN or no TXT record: NOTFOUND "no key
 * for signature"; SERVFAIL, REFUSED, timeout, malformed answer: TEMPFAIL;
 * records that do not parse, or several that do: PERMFAIL with the reason.
 * Truncated UDP answers are retried over TCP by c-ares (ARES_FLAG_IGNTC is
 * not set).
 *
 * Errors: dkim_resolver_new fails on a bad Nameservers entry (naming it) or
 * when c-ares cannot start; lookups never fail as a whole: every outcome is
 * per query.
 */
#include "dkim_resolver.h"
#include "internal.h"
#include "dnsanswer.h"
#include "keycache.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Idle channels kept. A channel per call costs the resolv.conf read and
 * socket setup each time: on loopback dnsmasq, 58 us per lookup against
 * 49 us with the pool.
 */
#define DKIM_RESOLVER_POOL 8
#define DKIM_RESOLVER_TRIES 2         /* per server; c-ares doubles the wait */
#define DKIM_DNS_T_TXT 16
#define DKIM_DNS_C_IN 1

struct dkim_resolver {
	dkim_resolver_options opts;
	char *servers;                    /* "ip:port,[ip6]:port" or NULL */
	dkim_keycache *cache;             /* NULL with QueryCache no */
	pthread_mutex_t pool_lock;
	ares_channel pool[DKIM_RESOLVER_POOL];
	size_t npool;
	atomic_uint_fast64_t queries_sent;
};

/* ---- options and the Nameservers list ------------------------------------------- */

void dkim_resolver_options_init(dkim_resolver_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->timeout_ms = 5000;
	opts->cache = true;
	opts->cache_entries = 10000;
	opts->cache_max_ttl = 3600;
	opts->cache_negative_ttl = 60;
}

/* A port number "1".."65535", digits only. */
static bool dkim_resolver_port(const char *text, unsigned *port)
{
	unsigned long v = 0;
	size_t i;

	if (text[0] == '\0' || strlen(text) > 5)
		return false;
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (unsigned)v;
	return true;
}

/*
 * Splits one entry (already trimmed, NUL-terminated, writable) into address
 * and port text: "[addr]:port", "[addr]", "addr@port", "v4:port", "v4",
 * "v6". Returns NULL when brackets do not close.
 */
static char *dkim_resolver_split_server(char *entry, const char **port)
{
	char *p;

	*port = "53";
	if (entry[0] == '[') {
		p = strchr(entry, ']');
		if (p == NULL)
			return NULL;
		*p++ = '\0';
		if (*p == ':' || *p == '@')
			*port = p + 1;
		else if (*p != '\0')
			return NULL;
		return entry + 1;
	}
	/* OpenDKIM's form (as libunbound takes it): "192.0.2.1@5353". */
	p = strrchr(entry, '@');
	if (p == NULL && (p = strchr(entry, ':')) != NULL && strchr(p + 1, ':'))
		p = NULL;     /* two colons or more: a bare IPv6 address */
	if (p != NULL) {
		*p = '\0';
		*port = p + 1;
	}
	return entry;
}

/* Appends one validated entry to csv as c-ares wants it. */
static dkim_status dkim_resolver_add_server(const char *entry, size_t len,
                                            dkim_buf *csv, dkim_error *err)
{
	char copy[INET6_ADDRSTRLEN + 16];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *addr, *port_text;
	unsigned port;
	bool v6;

	if (len == 0)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "Nameservers: empty entry");
	if (len >= sizeof(copy))
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "Nameservers: entry \"%.*s...\" is too long", 40, entry);
	memcpy(copy, entry, len);
	copy[len] = '\0';
	addr = dkim_resolver_split_server(copy, &port_text);
	if (addr == NULL)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "Nameservers: \"%.*s\": bad brackets", (int)len, entry);
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "Nameservers: \"%.*s\": not an IP address",
		                 (int)len, entry);
	if (!dkim_resolver_port(port_text, &port))
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "Nameservers: \"%.*s\": bad port", (int)len, entry);
	return dkim_buf_printf(csv, v6 ? "%s[%s]:%u" : "%s%s:%u",
	                       csv->len > 0 ? "," : "", addr, port) == DKIM_OK
	       ? DKIM_OK
	       : dkim_error_nomem(err);
}

/*
 * Converts a Nameservers value (comma- or whitespace-separated) into the
 * "ip:port,[ip6]:port" list ares_set_servers_ports_csv takes.
 */
static dkim_status dkim_resolver_parse_servers(const char *list, dkim_buf *csv,
                                               dkim_error *err)
{
	const char *p = list, *start;
	dkim_status st;

	for (;;) {
		while (dkim_is_wsp((unsigned char)*p))
			p++;
		start = p;
		while (*p != '\0' && *p != ',' && !dkim_is_wsp((unsigned char)*p))
			p++;
		st = dkim_resolver_add_server(start, (size_t)(p - start), csv, err);
		if (st != DKIM_OK)
			return st;
		while (dkim_is_wsp((unsigned char)*p))
			p++;
		if (*p == '\0')
			return DKIM_OK;
		if (*p == ',')
			p++;
	}
}

dkim_status dkim_resolver_check_servers(const char *list, dkim_error *err)
{
	dkim_buf csv;
	dkim_status st;

	dkim_buf_init(&csv);
	st = dkim_resolver_parse_servers(list, &csv, err);
	dkim_buf_free(&csv);
	return st;
}

/* ---- channels --------------------------------------------------------------------- */

static pthread_once_t dkim_resolver_once = PTHREAD_ONCE_INIT;
static int dkim_resolver_lib_status;

static void dkim_resolver_lib_init(void)
{
	dkim_resolver_lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* A new channel with our timeouts and servers. NULL with err set. */
static ares_channel dkim_resolver_channel_new(dkim_resolver *res,
                                              dkim_error *err)
{
	struct ares_options o;
	ares_channel ch;
	int rc;

	memset(&o, 0, sizeof(o));
	/*
	 * Tries of one server wait t, then 2t: the first two fit in the
	 * whole timeout; the poll loop enforces the deadline anyway.
	 */
	o.timeout = (int)(res->opts.timeout_ms / 3 > 50 ? res->opts.timeout_ms / 3 : 50);
	o.tries = DKIM_RESOLVER_TRIES;
	o.flags = ARES_FLAG_NOALIASES | ARES_FLAG_NOSEARCH;
	rc = ares_init_options(&ch, &o,
	                       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (rc != ARES_SUCCESS) {
		dkim_fail(err, DKIM_ERR_IO, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	if (res->servers != NULL &&
	    (rc = ares_set_servers_ports_csv(ch, res->servers)) != ARES_SUCCESS) {
		ares_destroy(ch);
		dkim_fail(err, DKIM_ERR_SYNTAX, "c-ares: nameservers \"%s\": %s",
		          res->servers, ares_strerror(rc));
		return NULL;
	}
	return ch;
}

static ares_channel dkim_resolver_channel_get(dkim_resolver *res,
                                              dkim_error *err)
{
	ares_channel ch = NULL;

	pthread_mutex_lock(&res->pool_lock);
	if (res->npool > 0)
		ch = res->pool[--res->npool];
	pthread_mutex_unlock(&res->pool_lock);
	return ch != NULL ? ch : dkim_resolver_channel_new(res, err);
}

static void dkim_resolver_channel_put(dkim_resolver *res, ares_channel ch)
{
	pthread_mutex_lock(&res->pool_lock);
	if (res->npool < DKIM_RESOLVER_POOL) {
		res->pool[res->npool++] = ch;
		ch = NULL;
	}
	pthread_mutex_unlock(&res->pool_lock);
	if (ch != NULL)
		ares_destroy(ch);
}

/* ---- life cycle ---------------------------------------------------------------------- */

static dkim_status dkim_resolver_setup(dkim_resolver *res,
                                       const dkim_resolver_options *opts,
                                       dkim_error *err)
{
	dkim_buf csv;
	ares_channel ch;

	res->opts = *opts;
	res->opts.nameservers = NULL;
	if (opts->nameservers != NULL && opts->nameservers[0] != '\0') {
		dkim_buf_init(&csv);
		if (dkim_resolver_parse_servers(opts->nameservers, &csv, err) != DKIM_OK) {
			dkim_buf_free(&csv);
			return DKIM_ERR_SYNTAX;
		}
		res->servers = csv.data;
	}
	if (opts->cache) {
		res->cache = dkim_keycache_new(opts->cache_entries, opts->cache_max_ttl,
		                               opts->cache_negative_ttl);
		if (res->cache == NULL)
			return dkim_error_nomem(err);
	}
	/* A first channel now: bad servers and resolv.conf show at startup. */
	ch = dkim_resolver_channel_new(res, err);
	if (ch == NULL)
		return err != NULL ? err->status : DKIM_ERR_IO;
	dkim_resolver_channel_put(res, ch);
	return DKIM_OK;
}

dkim_resolver *dkim_resolver_new(const dkim_resolver_options *opts,
                                 dkim_error *err)
{
	dkim_resolver_options defaults;
	dkim_resolver *res;

	pthread_once(&dkim_resolver_once, dkim_resolver_lib_init);
	if (dkim_resolver_lib_status != ARES_SUCCESS) {
		dkim_fail(err, DKIM_ERR_IO, "c-ares: %s",
		          ares_strerror(dkim_resolver_lib_status));
		return NULL;
	}
	if (opts == NULL) {
		dkim_resolver_options_init(&defaults);
		opts = &defaults;
	}
	res = calloc(1, sizeof(*res));
	if (res == NULL || pthread_mutex_init(&res->pool_lock, NULL) != 0) {
		free(res);
		dkim_error_nomem(err);
		return NULL;
	}
	atomic_init(&res->queries_sent, 0);
	if (opts->timeout_ms == 0)
		dkim_fail(err, DKIM_ERR_INVALID, "DNSTimeout must be positive");
	else if (dkim_resolver_setup(res, opts, err) == DKIM_OK)
		return res;
	dkim_resolver_free(res);
	return NULL;
}

void dkim_resolver_free(dkim_resolver *res)
{
	if (res == NULL)
		return;
	while (res->npool > 0)
		ares_destroy(res->pool[--res->npool]);
	pthread_mutex_destroy(&res->pool_lock);
	dkim_keycache_free(res->cache);
	free(res->servers);
	free(res);
}

void dkim_resolver_stats_get(dkim_resolver *res, dkim_resolver_stats *out)
{
	dkim_keycache_stats cs;

	memset(out, 0, sizeof(*out));
	out->queries_sent = atomic_load(&res->queries_sent);
	if (res->cache != NULL) {
		dkim_keycache_stats_get(res->cache, &cs);
		out->cache_hits = cs.hits;
		out->cache_misses = cs.misses;
		out->inflight_waits = cs.waits;
		out->cache_entries = cs.entries;
	}
}

/* ---- lookups --------------------------------------------------------------------- */

typedef enum {
	DKIM_ITEM_DONE,               /* result known (cache hit, bad name) */
	DKIM_ITEM_QUERY,              /* we send the query */
	DKIM_ITEM_WAIT                /* another thread's query answers it */
} dkim_item_kind;

typedef struct {
	char name[DKIM_KEYNAME_MAX + 1];
	dkim_item_kind kind;
	dkim_keyflight *flight;
	dkim_keyresult result;
	uint32_t ttl;
	size_t *pending;              /* the batch's count of open queries */
} dkim_resolver_item;

static void dkim_resolver_deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static long dkim_resolver_ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000L +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

/* c-ares statuses that come without an answer to read. */
static void dkim_resolver_status(int status, dkim_keyresult *out)
{
	switch (status) {
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		dkim_keyresult_set(out, DKIM_LOOKUP_NOTFOUND, "no key for signature");
		break;
	case ARES_ETIMEOUT:
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS timeout");
		break;
	case ARES_ESERVFAIL:
		dkim_dns_rcode_result(2, out);
		break;
	case ARES_EREFUSED:
		dkim_dns_rcode_result(5, out);
		break;
	case ARES_ECONNREFUSED:
		/* c-ares's word for "every server failed": SERVFAIL, REFUSED or down. */
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL,
		                "no DNS server answered (SERVFAIL, REFUSED or unreachable)");
		break;
	default:
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS error: %s",
		                ares_strerror(status));
		break;
	}
}

static void dkim_resolver_callback(void *arg, int status, int timeouts,
                                   unsigned char *abuf, int alen)
{
	dkim_resolver_item *item = arg;

	(void)timeouts;
	item->ttl = DKIM_TTL_UNKNOWN;
	if (abuf != NULL && alen > 0 && (status == ARES_SUCCESS ||
	    status == ARES_ENODATA || status == ARES_ENOTFOUND))
		dkim_resolver_answer(abuf, (size_t)alen, item->name, &item->result,
		                     &item->ttl);
	else
		dkim_resolver_status(status, &item->result);
	(*item->pending)--;
}

/* Hands the ready sockets (or, after a poll timeout, none) to c-ares. */
static void dkim_resolver_process(ares_channel ch, const struct pollfd *pfd,
                                  int nfds, int ready)
{
	int i;

	if (ready <= 0) {
		ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		return;
	}
	for (i = 0; i < nfds; i++) {
		short ev = pfd[i].revents;

		if (ev == 0)
			continue;
		ares_process_fd(ch,
		                (ev & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD,
		                (ev & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}

/*
 * The sockets c-ares waits on, as pollfds; returns how many. The bits are
 * tested as unsigned: ARES_GETSOCK_WRITABLE shifts a signed 1 by 31.
 */
static int dkim_resolver_pollfds(ares_channel ch, struct pollfd *pfd)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
	int i, n = 0;

	for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		bool rd = bits & (1u << i);
		bool wr = bits & (1u << (i + ARES_GETSOCK_MAXNUM));

		if (!rd && !wr)
			continue;
		pfd[n].fd = socks[i];
		pfd[n].events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/*
 * Runs the channel until every query is answered or the deadline passes;
 * then ares_cancel answers the rest (ECANCELLED: "DNS timeout"). poll, not
 * select: a busy milter has descriptors past FD_SETSIZE.
 */
static void dkim_resolver_poll(ares_channel ch, const struct timespec *deadline,
                               const size_t *pending)
{
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	struct timeval maxtv, tv, *tvp;
	long left;
	int nfds, wait, ready;

	while (*pending > 0) {
		left = dkim_resolver_ms_left(deadline);
		if (left <= 0)
			break;
		nfds = dkim_resolver_pollfds(ch, pfd);
		maxtv.tv_sec = left / 1000;
		maxtv.tv_usec = (left % 1000) * 1000;
		tvp = ares_timeout(ch, &maxtv, &tv);
		wait = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		ready = poll(pfd, (nfds_t)nfds, wait);
		if (ready < 0 && errno != EINTR)
			break;
		dkim_resolver_process(ch, pfd, nfds, ready);
	}
	if (*pending > 0)
		ares_cancel(ch);
}

/* Sends every DKIM_ITEM_QUERY item on one channel and waits for them. */
static void dkim_resolver_send(dkim_resolver *res, dkim_resolver_item *items,
                               size_t n, const struct timespec *deadline)
{
	dkim_error err;
	ares_channel ch;
	size_t pending = 0, i;

	memset(&err, 0, sizeof(err));
	ch = dkim_resolver_channel_get(res, &err);
	for (i = 0; i < n; i++) {
		if (items[i].kind != DKIM_ITEM_QUERY)
			continue;
		if (ch == NULL) {
			dkim_keyresult_set(&items[i].result, DKIM_LOOKUP_TEMPFAIL, "%.100s",
			                err.message);
			continue;
		}
		/* Counted first: c-ares may call back before ares_query returns. */
		items[i].pending = &pending;
		pending++;
		atomic_fetch_add(&res->queries_sent, 1);
		ares_query(ch, items[i].name, DKIM_DNS_C_IN, DKIM_DNS_T_TXT,
		           dkim_resolver_callback, &items[i]);
	}
	if (ch == NULL)
		return;
	dkim_resolver_poll(ch, deadline, &pending);
	dkim_resolver_channel_put(res, ch);
}

/* Cache hits and bad names are done; the rest are sent or waited for. */
static void dkim_resolver_classify(dkim_resolver *res, const dkim_key_query *q,
                                   dkim_resolver_item *item)
{
	item->result.status = DKIM_LOOKUP_TEMPFAIL;
	item->ttl = DKIM_TTL_UNKNOWN;
	item->kind = DKIM_ITEM_QUERY;
	if (!dkim_resolver_keyname(q->selector, q->domain, item->name)) {
		dkim_keyresult_set(&item->result, DKIM_LOOKUP_PERMFAIL,
		                "invalid selector or domain for a key lookup");
		item->kind = DKIM_ITEM_DONE;
		return;
	}
	if (res->cache == NULL)
		return;
	switch (dkim_keycache_claim(res->cache, item->name, &item->result,
	                            &item->flight)) {
	case DKIM_KEYCACHE_HIT:
		item->kind = DKIM_ITEM_DONE;
		break;
	case DKIM_KEYCACHE_WAIT:
		item->kind = DKIM_ITEM_WAIT;
		break;
	case DKIM_KEYCACHE_OWNER:
		break;
	}
}

/*
 * Our answers go to the cache (and to threads waiting on them) before we
 * wait for others' answers: two threads each owning a name the other waits
 * for cannot deadlock.
 */
static void dkim_resolver_settle(dkim_resolver *res, dkim_resolver_item *items,
                                 size_t n, const struct timespec *deadline)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (items[i].kind == DKIM_ITEM_QUERY && res->cache != NULL)
			dkim_keycache_publish(res->cache, items[i].flight,
			                      &items[i].result, items[i].ttl);
	for (i = 0; i < n; i++)
		if (items[i].kind == DKIM_ITEM_WAIT)
			dkim_keycache_wait(res->cache, items[i].flight, deadline,
			                   &items[i].result);
}

static void dkim_resolver_fill(dkim_key_query *q, dkim_resolver_item *item)
{
	q->status = item->result.status;
	q->key = item->result.key;        /* the reference moves to the engine */
	item->result.key = NULL;
	memcpy(q->reason, item->result.reason, sizeof(q->reason));
	q->reason[sizeof(q->reason) - 1] = '\0';
}

void dkim_resolver_lookup(void *ctx, dkim_key_query *queries, size_t n)
{
	dkim_resolver *res = ctx;
	dkim_resolver_item *items;
	struct timespec deadline;
	size_t i;

	if (n == 0)
		return;
	dkim_resolver_deadline(&deadline, res->opts.timeout_ms);
	items = calloc(n, sizeof(*items));
	if (items == NULL) {
		for (i = 0; i < n; i++) {
			queries[i].status = DKIM_LOOKUP_TEMPFAIL;
			queries[i].key = NULL;
			snprintf(queries[i].reason, sizeof(queries[i].reason), "out of memory");
		}
		return;
	}
	for (i = 0; i < n; i++)
		dkim_resolver_classify(res, &queries[i], &items[i]);
	dkim_resolver_send(res, items, n, &deadline);
	dkim_resolver_settle(res, items, n, &deadline);
	for (i = 0; i < n; i++)
		dkim_resolver_fill(&queries[i], &items[i]);
	free(items);
}
