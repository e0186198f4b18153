/*
 * dnsanswer.c - DNS messages of a key lookup, without a network
 * (RFC 6376 §3.6.2): the query name, and the answer read into an outcome.
 *
 * Interface: dnsanswer.h. dkim_resolver_answer reads the RCODE, the
 * question, the CNAME chain, the TXT strings (concatenated, §3.6.2.2) and
 * chooses among several TXT records. Names are decoded with
 * ares_expand_name and TXT strings with ares_expand_string; only the fixed
 * RR fields (type, class, TTL, length) are read here, each bounds-checked.
 *
 * Outcomes (RFC 6376 §6.1.2): NXDOMAIN or no TXT record: NOTFOUND "no key
 * for signature"; SERVFAIL, REFUSED, malformed answer: TEMPFAIL; records
 * that do not parse, or several that do: PERMFAIL with the reason.
 *
 * Errors: none as such; every problem is an outcome.
 */
#include "dnsanswer.h"
#include "internal.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DKIM_DNS_MAX_MESSAGE 65535    /* RFC 1035 §4.2.2: TCP length field */
#define DKIM_DNS_MAX_CNAMES 8         /* hops followed from the query name */
#define DKIM_DNS_T_CNAME 5
#define DKIM_DNS_T_SOA 6

/* ---- key names -------------------------------------------------------------------- */

bool dkim_resolver_keyname(const char *selector, const char *domain,
                           char *name)
{
	int n;

	if (selector == NULL || domain == NULL ||
	    !dkim_domain_valid(selector, strlen(selector), DKIM_DOMAIN_DNS) ||
	    !dkim_domain_valid(domain, strlen(domain), DKIM_DOMAIN_DNS))
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
		dkim_keyresult_set(out, DKIM_LOOKUP_PERMFAIL, "multiple DKIM key records");
	} else if (pk->nkeys == 1) {
		dkim_keyresult_set(out, DKIM_LOOKUP_FOUND, "%s", "");
		out->key = pk->key;
	} else if (pk->ndkim_bad > 0) {
		dkim_keyresult_set(out, DKIM_LOOKUP_PERMFAIL, "key syntax error: %.100s",
		                pk->dkim_error);
	} else if (pk->ntxt == 1) {
		dkim_keyresult_set(out, DKIM_LOOKUP_PERMFAIL, "key syntax error: %.100s",
		                pk->first_error);
	} else {
		dkim_keyresult_set(out, DKIM_LOOKUP_NOTFOUND,
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
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer (CNAME)");
		return;
	case DKIM_CHAIN_TOO_LONG:
		dkim_keyresult_set(out, DKIM_LOOKUP_PERMFAIL, "CNAME chain too long");
		return;
	case DKIM_CHAIN_OK:
		break;
	}
	if (!dkim_dns_collect(m, target, &pk, ttl)) {
		if (pk.key != NULL)
			dkim_pubkey_unref(pk.key);
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer (TXT)");
	} else if (pk.ntxt > 0) {
		dkim_dns_pick_result(&pk, out);
	} else if (hops == 0 && !dkim_dns_owns_any(m, target)) {
		/* Records, but none for the name asked: not an answer to trust. */
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL,
		                "DNS answer holds no record for the name asked");
	} else {
		/* RFC 6376 §6.1.2 step 3: no key record is a permanent failure. */
		dkim_keyresult_set(out, DKIM_LOOKUP_NOTFOUND, "no key for signature");
		*ttl = dkim_dns_negative_ttl(m);
	}
}

/* RCODEs other than NOERROR and NXDOMAIN (RFC 1035 §4.1.1, RFC 6376 §6.1.2). */
void dkim_dns_rcode_result(unsigned rcode, dkim_keyresult *out)
{
	switch (rcode) {
	case 2:
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS server failure (SERVFAIL)");
		break;
	case 5:
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS query refused (REFUSED)");
		break;
	default:
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS error (RCODE %u)", rcode);
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
	dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer");
	/* RFC 1035 §4.1.1: a 12-byte header with QR set. */
	if (abuf == NULL || alen < 12 || alen > DKIM_DNS_MAX_MESSAGE ||
	    !(abuf[2] & 0x80))
		return;
	if (abuf[2] & 0x02) {
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "truncated DNS answer");
		return;
	}
	m.abuf = abuf;
	m.alen = alen;
	m.rcode = abuf[3] & 0x0f;
	m.ancount = dkim_dns_u16(abuf + 6);
	if (m.rcode != 0 && m.rcode != 3) {
		dkim_dns_rcode_result(m.rcode, out);
		return;
	}
	if (!dkim_dns_question(&m, qname))
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "DNS answer to another question");
	else if (!dkim_dns_read_rrs(&m))
		dkim_keyresult_set(out, DKIM_LOOKUP_TEMPFAIL, "malformed DNS answer");
	else if (m.rcode == 3) {
		/* RFC 6376 §6.1.2: no key record is a permanent failure. */
		dkim_keyresult_set(out, DKIM_LOOKUP_NOTFOUND, "no key for signature");
		*ttl = dkim_dns_negative_ttl(&m);
	} else
		dkim_dns_decide(&m, qname, out, ttl);
	dkim_dns_msg_free(&m);
}
