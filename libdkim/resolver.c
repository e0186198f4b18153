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
 * keycache.h also declares dkim_resolver_answer, the pure function that
 * turns the bytes of an answer into an outcome (tests and the fuzzer call
 * it): RCODE, question, CNAME chain, TXT strings concatenated (§3.6.2.2),
 * and the choice among several TXT records. Names are decoded with
 * ares_expand_name and TXT strings with ares_expand_string; only the fixed
 * RR fields (type, class, TTL, length) are read here, each bounds-checked.
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
#define DKIM_DNS_MAX_MESSAGE 65535    /* RFC 1035 §4.2.2: TCP length field */
#define DKIM_DNS_MAX_CNAMES 8         /* hops followed from the query name */
#define DKIM_DNS_T_CNAME 5
#define DKIM_DNS_T_SOA 6
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

/* ---- results ------------------------------------------------------------------- */

static void dkim_resolver_set(dkim_keyresult *out, dkim_lookup_status status,
                            const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dkim_resolver_set(dkim_keyresult *out, dkim_lookup_status status,
                            const char *fmt, ...)
{
	va_list ap;

	dkim_keyresult_clear(out);
	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

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

/* ---- key names -------------------------------------------------------------------- */

/* One dot-separated part: LDH and '_' labels of 1..63 bytes. */
static bool dkim_resolver_name_part(const char *s)
{
	size_t label = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;    /* RFC 1035 §2.3.4 */
	}
	return label > 0;
}

bool dkim_resolver_keyname(const char *selector, const char *domain,
                           char *name)
{
	int n;

	if (selector == NULL || domain == NULL ||
	    !dkim_resolver_name_part(selector) || !dkim_resolver_name_part(domain))
		return false;
	/* RFC 6376 §3.6.2.1: the key is at selector._domainkey.domain. */
	n = snprintf(name, DKIM_KEYNAME_MAX + 1, "%s._domainkey.%s", selector, domain);
	return n > 0 && n <= DKIM_KEYNAME_MAX;
}

/* ---- answers: reading the message ------------------------------------------------- */

#define DKIM_DNS_NAME_BUF 1100   /* ares_expand_name output: escapes widen */

typedef struct {
	char *owner;                  /* ares_expand_name's; ares_free_string */
	unsigned type, rclass;
	uint32_t ttl;
	size_t rdata, rdlen;          /* offsets into the message */
	bool answer;                  /* answer section, else authority */
} dkim_dns_rr;

typedef struct {
	const unsigned char *abuf;
	size_t alen;
	size_t pos;                   /* read position */
	unsigned rcode, ancount;
	dkim_dns_rr *rrs;
	size_t nrrs;
} dkim_dns_msg;

static unsigned dkim_dns_u16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t dkim_dns_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * The name at pos, which must end by limit (compression pointers may point
 * anywhere in the message; c-ares refuses loops). NULL when malformed.
 */
static char *dkim_dns_name_at(const dkim_dns_msg *m, size_t pos, size_t limit,
                              size_t *used)
{
	char *name = NULL;
	long enclen = 0;

	if (pos >= limit || limit > m->alen)
		return NULL;
	if (ares_expand_name(m->abuf + pos, m->abuf, (int)m->alen, &name,
	                     &enclen) != ARES_SUCCESS)
		return NULL;
	if (enclen <= 0 || (size_t)enclen > limit - pos) {
		ares_free_string(name);
		return NULL;
	}
	*used = (size_t)enclen;
	return name;
}

/* The one question must be ours: qname, TXT, IN. */
static bool dkim_dns_question(dkim_dns_msg *m, const char *qname)
{
	size_t used;
	char *name;
	bool ok;

	if (dkim_dns_u16(m->abuf + 4) != 1)
		return false;
	name = dkim_dns_name_at(m, 12, m->alen, &used);
	if (name == NULL)
		return false;
	ok = dkim_strcaseeq_n(name, strlen(name), qname);
	ares_free_string(name);
	m->pos = 12 + used;
	if (!ok || m->alen - m->pos < 4)
		return false;
	ok = dkim_dns_u16(m->abuf + m->pos) == DKIM_DNS_T_TXT &&
	     dkim_dns_u16(m->abuf + m->pos + 2) == DKIM_DNS_C_IN;
	m->pos += 4;
	return ok;
}

/* One resource record at m->pos (RFC 1035 §4.1.3). */
static bool dkim_dns_read_rr(dkim_dns_msg *m, dkim_dns_rr *rr)
{
	const unsigned char *p;
	size_t used;

	rr->owner = dkim_dns_name_at(m, m->pos, m->alen, &used);
	if (rr->owner == NULL)
		return false;
	m->pos += used;
	if (m->alen - m->pos < 10)
		return false;
	p = m->abuf + m->pos;
	rr->type = dkim_dns_u16(p);
	rr->rclass = dkim_dns_u16(p + 2);
	rr->ttl = dkim_dns_u32(p + 4);
	if (rr->ttl > INT32_MAX)
		rr->ttl = 0;    /* RFC 2181 §8: a TTL with the top bit set is 0 */
	rr->rdlen = dkim_dns_u16(p + 8);
	m->pos += 10;
	if (rr->rdlen > m->alen - m->pos)
		return false;
	rr->rdata = m->pos;
	m->pos += rr->rdlen;
	return true;
}

/* The answer and authority sections; the additional one is not needed. */
static bool dkim_dns_read_rrs(dkim_dns_msg *m)
{
	size_t nscount = dkim_dns_u16(m->abuf + 8), total, i;

	total = m->ancount + nscount;
	/* Every RR takes at least 11 bytes: a count past that is a lie. */
	if (total > (m->alen - m->pos) / 11)
		return false;
	m->rrs = calloc(total > 0 ? total : 1, sizeof(*m->rrs));
	if (m->rrs == NULL)
		return false;
	for (i = 0; i < total; i++) {
		m->nrrs = i + 1;
		m->rrs[i].answer = i < m->ancount;
		if (!dkim_dns_read_rr(m, &m->rrs[i]))
			return false;
	}
	return true;
}

static void dkim_dns_msg_free(dkim_dns_msg *m)
{
	size_t i;

	for (i = 0; i < m->nrrs; i++)
		if (m->rrs[i].owner != NULL)
			ares_free_string(m->rrs[i].owner);
	free(m->rrs);
}

static void dkim_dns_min_ttl(uint32_t *ttl, uint32_t v)
{
	if (v < *ttl)
		*ttl = v;
}

/* RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
static uint32_t dkim_dns_negative_ttl(const dkim_dns_msg *m)
{
	size_t i, pos, end, used;
	char *name;
	int k;

	for (i = 0; i < m->nrrs; i++) {
		const dkim_dns_rr *rr = &m->rrs[i];

		if (rr->answer || rr->type != DKIM_DNS_T_SOA || rr->rclass != DKIM_DNS_C_IN)
			continue;
		pos = rr->rdata;
		end = rr->rdata + rr->rdlen;
		for (k = 0; k < 2; k++) {      /* MNAME, RNAME */
			if ((name = dkim_dns_name_at(m, pos, end, &used)) == NULL)
				return DKIM_TTL_UNKNOWN;
			ares_free_string(name);
			pos += used;
		}
		if (end - pos < 20)             /* SERIAL .. MINIMUM */
			return DKIM_TTL_UNKNOWN;
		return dkim_dns_u32(m->abuf + pos + 16) < rr->ttl
		       ? dkim_dns_u32(m->abuf + pos + 16) : rr->ttl;
	}
	return DKIM_TTL_UNKNOWN;
}

/* The first answer RR of this type, class IN, owned by owner. */
static const dkim_dns_rr *dkim_dns_find(const dkim_dns_msg *m,
                                        const char *owner, unsigned type)
{
	size_t i;

	for (i = 0; i < m->nrrs; i++) {
		const dkim_dns_rr *rr = &m->rrs[i];

		if (rr->answer && rr->type == type && rr->rclass == DKIM_DNS_C_IN &&
		    dkim_strcaseeq_n(rr->owner, strlen(rr->owner), owner))
			return rr;
	}
	return NULL;
}

/* Some answer RR is owned by name (or the answer section is empty). */
static bool dkim_dns_owns_any(const dkim_dns_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nrrs; i++)
		if (m->rrs[i].answer &&
		    dkim_strcaseeq_n(m->rrs[i].owner, strlen(m->rrs[i].owner), name))
			return true;
	return m->ancount == 0;
}

typedef enum {
	DKIM_CHAIN_OK,
	DKIM_CHAIN_MALFORMED,
	DKIM_CHAIN_TOO_LONG
} dkim_dns_chain;

/*
 * Follows CNAMEs in the answer from qname (RFC 1034 §3.6.2): target gets
 * the name the TXT records must be owned by; *hops how many were followed.
 */
static dkim_dns_chain dkim_dns_follow(const dkim_dns_msg *m, const char *qname,
                                      char *target, unsigned *hops,
                                      uint32_t *ttl)
{
	const dkim_dns_rr *rr;
	size_t used;
	char *name;

	snprintf(target, DKIM_DNS_NAME_BUF, "%s", qname);
	for (*hops = 0; (rr = dkim_dns_find(m, target, DKIM_DNS_T_CNAME)) != NULL;
	     (*hops)++) {
		if (*hops == DKIM_DNS_MAX_CNAMES)
			return DKIM_CHAIN_TOO_LONG;
		name = dkim_dns_name_at(m, rr->rdata, rr->rdata + rr->rdlen, &used);
		if (name == NULL || strlen(name) >= DKIM_DNS_NAME_BUF) {
			if (name != NULL)
				ares_free_string(name);
			return DKIM_CHAIN_MALFORMED;
		}
		snprintf(target, DKIM_DNS_NAME_BUF, "%s", name);
		ares_free_string(name);
		dkim_dns_min_ttl(ttl, rr->ttl);
	}
	return DKIM_CHAIN_OK;
}

/*
 * The character-strings of one TXT RR, concatenated (RFC 6376 §3.6.2.2:
 * "the strings ... are concatenated together without adding spaces").
 * ares_expand_string copies with strncpy, so bytes after a NUL come back
 * as NULs: such a record is not a valid key record either way.
 */
static bool dkim_dns_txt(const dkim_dns_msg *m, const dkim_dns_rr *rr,
                         dkim_buf *out)
{
	size_t pos = rr->rdata, end = rr->rdata + rr->rdlen;
	unsigned char *s;
	long enclen;
	bool ok;

	dkim_buf_reset(out);
	while (pos < end) {
		if (ares_expand_string(m->abuf + pos, m->abuf, (int)m->alen, &s,
		                       &enclen) != ARES_SUCCESS)
			return false;
		ok = enclen >= 1 && (size_t)enclen <= end - pos &&
		     dkim_buf_append(out, s, (size_t)enclen - 1) == DKIM_OK;
		ares_free_string(s);
		if (!ok)
			return false;
		pos += (size_t)enclen;
	}
	return true;
}

/* ---- answers: choosing the key record ---------------------------------------------- */

typedef struct {
	size_t ntxt;                  /* TXT records at the name */
	size_t nkeys;                 /* of which parse as key records */
	size_t ndkim_bad;             /* start with v=DKIM1 but do not parse */
	dkim_pubkey *key;             /* the first that parses */
	char first_error[DKIM_ERROR_MAX];
	char dkim_error[DKIM_ERROR_MAX];
} dkim_dns_pick;

/* The record starts with the tag v=DKIM1 (RFC 6376 §3.6.1: v= comes first). */
static bool dkim_dns_is_dkim1(const char *rec, size_t len)
{
	static const char *const want[] = { "v", "=", "DKIM1" };
	size_t pos = 0, i, n;

	for (i = 0; i < 3; i++) {
		while (pos < len && dkim_is_wsp((unsigned char)rec[pos]))
			pos++;
		n = strlen(want[i]);
		if (len - pos < n || memcmp(rec + pos, want[i], n) != 0)
			return false;
		pos += n;
	}
	while (pos < len && dkim_is_wsp((unsigned char)rec[pos]))
		pos++;
	return pos == len || rec[pos] == ';';
}

static void dkim_dns_consider(dkim_dns_pick *pk, const char *rec, size_t len)
{
	dkim_error err;
	dkim_pubkey *key;

	memset(&err, 0, sizeof(err));
	key = dkim_pubkey_parse(rec, len, &err);
	pk->ntxt++;
	if (key != NULL) {
		if (pk->nkeys++ == 0)
			pk->key = key;
		else
			dkim_pubkey_unref(key);
		return;
	}
	if (pk->first_error[0] == '\0')
		snprintf(pk->first_error, sizeof(pk->first_error), "%s", err.message);
	if (dkim_dns_is_dkim1(rec, len) && pk->ndkim_bad++ == 0)
		snprintf(pk->dkim_error, sizeof(pk->dkim_error), "%s", err.message);
}

/*
 * RFC 6376 §3.6.2.2 leaves several TXT records to the verifier: use the
 * one that is a key record; two that are is ambiguous (PERMFAIL). Records
 * that neither parse nor claim v=DKIM1 (SPF, site verification, ...) are
 * ignored, unless a lone record: then its parse error is the reason.
 */
static void dkim_dns_pick_result(dkim_dns_pick *pk, dkim_keyresult *out)
{
	if (pk->nkeys > 1) {
		dkim_pubkey_unref(pk->key);
		dkim_resolver_set(out, DKIM_LOOKUP_PERMFAIL, "multiple DKIM key records");
	} else if (pk->nkeys == 1) {
		dkim_resolver_set(out, DKIM_LOOKUP_FOUND, "%s", "");
		out->key = pk->key;
	} else if (pk->ndkim_bad > 0) {
		dkim_resolver_set(out, DKIM_LOOKUP_PERMFAIL, "key syntax error: %.100s",
		                pk->dkim_error);
	} else if (pk->ntxt == 1) {
		dkim_resolver_set(out, DKIM_LOOKUP_PERMFAIL, "key syntax error: %.100s",
		                pk->first_error);
	} else {
		dkim_resolver_set(out, DKIM_LOOKUP_NOTFOUND,
		                "no key for signature (no key record among %zu TXT records)",
		                pk->ntxt);
	}
}

/*
 * Feeds every TXT record (class IN) owned by target to the pick; the
 * smallest TTL goes to *ttl. False when a record's strings are malformed.
 */
static bool dkim_dns_collect(const dkim_dns_msg *m, const char *target,
                             dkim_dns_pick *pk, uint32_t *ttl)
{
	dkim_buf rec;
	size_t i;
	bool ok = true;

	dkim_buf_init(&rec);
	for (i = 0; i < m->nrrs && ok; i++) {
		const dkim_dns_rr *rr = &m->rrs[i];

		if (!rr->answer || rr->type != DKIM_DNS_T_TXT ||
		    rr->rclass != DKIM_DNS_C_IN ||
		    !dkim_strcaseeq_n(rr->owner, strlen(rr->owner), target))
			continue;
		ok = dkim_dns_txt(m, rr, &rec);
		if (ok) {
			dkim_dns_consider(pk, rec.data != NULL ? rec.data : "", rec.len);
			dkim_dns_min_ttl(ttl, rr->ttl);
		}
	}
	dkim_buf_free(&rec);
	return ok;
}

/* NOERROR: the TXT records at the end of the CNAME chain decide. */
static void dkim_dns_decide(const dkim_dns_msg *m, const char *qname,
                            dkim_keyresult *out, uint32_t *ttl)
{
	char target[DKIM_DNS_NAME_BUF];
	dkim_dns_pick pk;
	unsigned hops;

	memset(&pk, 0, sizeof(pk));
	switch (dkim_dns_follow(m, qname, target, &hops, ttl)) {
	case DKIM_CHAIN_MALFORMED:
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer (CNAME)");
		return;
	case DKIM_CHAIN_TOO_LONG:
		dkim_resolver_set(out, DKIM_LOOKUP_PERMFAIL, "CNAME chain too long");
		return;
	case DKIM_CHAIN_OK:
		break;
	}
	if (!dkim_dns_collect(m, target, &pk, ttl)) {
		if (pk.key != NULL)
			dkim_pubkey_unref(pk.key);
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer (TXT)");
	} else if (pk.ntxt > 0) {
		dkim_dns_pick_result(&pk, out);
	} else if (hops == 0 && !dkim_dns_owns_any(m, target)) {
		/* Records, but none for the name asked: not an answer to trust. */
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL,
		                "DNS answer holds no record for the name asked");
	} else {
		/* RFC 6376 §6.1.2 step 3: no key record is a permanent failure. */
		dkim_resolver_set(out, DKIM_LOOKUP_NOTFOUND, "no key for signature");
		*ttl = dkim_dns_negative_ttl(m);
	}
}

/* RCODEs other than NOERROR and NXDOMAIN (RFC 1035 §4.1.1, RFC 6376 §6.1.2). */
static void dkim_dns_rcode(unsigned rcode, dkim_keyresult *out)
{
	switch (rcode) {
	case 2:
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS server failure (SERVFAIL)");
		break;
	case 5:
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS query refused (REFUSED)");
		break;
	default:
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS error (RCODE %u)", rcode);
		break;
	}
}

void dkim_resolver_answer(const unsigned char *abuf, size_t alen,
                          const char *qname, dkim_keyresult *out,
                          uint32_t *ttl)
{
	dkim_dns_msg m;

	memset(&m, 0, sizeof(m));
	out->key = NULL;
	*ttl = DKIM_TTL_UNKNOWN;
	dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer");
	/* RFC 1035 §4.1.1: a 12-byte header with QR set. */
	if (abuf == NULL || alen < 12 || alen > DKIM_DNS_MAX_MESSAGE ||
	    !(abuf[2] & 0x80))
		return;
	if (abuf[2] & 0x02) {
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "truncated DNS answer");
		return;
	}
	m.abuf = abuf;
	m.alen = alen;
	m.rcode = abuf[3] & 0x0f;
	m.ancount = dkim_dns_u16(abuf + 6);
	if (m.rcode != 0 && m.rcode != 3) {
		dkim_dns_rcode(m.rcode, out);
		return;
	}
	if (!dkim_dns_question(&m, qname))
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS answer to another question");
	else if (!dkim_dns_read_rrs(&m))
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer");
	else if (m.rcode == 3) {
		/* RFC 6376 §6.1.2: no key record is a permanent failure. */
		dkim_resolver_set(out, DKIM_LOOKUP_NOTFOUND, "no key for signature");
		*ttl = dkim_dns_negative_ttl(&m);
	} else
		dkim_dns_decide(&m, qname, out, ttl);
	dkim_dns_msg_free(&m);
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
		dkim_resolver_set(out, DKIM_LOOKUP_NOTFOUND, "no key for signature");
		break;
	case ARES_ETIMEOUT:
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS timeout");
		break;
	case ARES_ESERVFAIL:
		dkim_dns_rcode(2, out);
		break;
	case ARES_EREFUSED:
		dkim_dns_rcode(5, out);
		break;
	case ARES_ECONNREFUSED:
		/* c-ares's word for "every server failed": SERVFAIL, REFUSED or down. */
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL,
		                "no DNS server answered (SERVFAIL, REFUSED or unreachable)");
		break;
	default:
		dkim_resolver_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS error: %s",
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
			dkim_resolver_set(&items[i].result, DKIM_LOOKUP_TEMPFAIL, "%.100s",
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
		dkim_resolver_set(&item->result, DKIM_LOOKUP_PERMFAIL,
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
