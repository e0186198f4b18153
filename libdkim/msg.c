/*
 * msg.c - the message context: collects header fields, streams the body
 * into the shared body hashes, then produces signatures (signers) and
 * decides verification results (one per DKIM-Signature field).
 *
 * Interface (dkim.h): dkim_msg_new, _add_signer / _verify, _header /
 * _header_field, _eoh, _body, _eom, _feed_raw, then
 * _signature and _result. The life of a message is HEADERS -> (eoh) BODY
 * -> (eom) DONE; a call made in the wrong state is DKIM_ERR_STATE.
 *
 * Verification results change in one place, msg_decide, from "undecided"
 * to a final cause (which implies the result) with a reason; evaluation
 * skips decided signatures.
 * Key lookups are made once per message, batched and deduplicated by
 * (domain, selector), for at most max_signatures signatures. The fields
 * are indexed by name at eoh, so that a header hash costs O(h= log fields)
 * lookups whatever the number of fields.
 *
 * Errors: header limits are DKIM_ERR_LIMIT naming the limit; bad signer
 * parameters DKIM_ERR_INVALID; OpenSSL and allocation failures are
 * returned from the call that hit them. Problems with a signature being
 * verified are never errors of the call: they are its result.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

enum msg_state { MSG_HEADERS, MSG_BODY, MSG_DONE };

/* One header field, stored whole: "Name:value" with CRLF folding, then a
 * NUL and a NUL-terminated copy of the name (dkim_msg_header_get). */
typedef struct {
	char *text;
	size_t len;
	size_t name_len;
} msg_field;

/* A field in the by-name index: where it is, and its position. */
typedef struct {
	const msg_field *f;
	size_t idx;
} msg_field_ref;

typedef struct {
	dkim_sign_params p;         /* strings point to the copies below */
	char *domain, *selector, *identity;
	char **headers;
	int bh;                     /* body-hash context */
	char *value;                /* result, folded with "\r\n\t" */
	char *value_eol;            /* the same with eol (cached) */
	char *eol;
} msg_signer;

typedef struct {
	dkim_sig sig;
	bool parsed;                /* sig is valid */
	bool decided;               /* res is final */
	size_t field;               /* index of the DKIM-Signature field */
	int bh;                     /* body-hash context, -1 if none */
	int query;                  /* key query, -1 if none */
	dkim_sig_result res;
	char reason[DKIM_ERROR_MAX];
} msg_verif;

struct dkim_msg {
	dkim_options opts;
	uint64_t now;
	enum msg_state state;
	msg_field *fields;
	size_t nfields, fields_cap, header_bytes;
	msg_field_ref *by_name;     /* fields sorted by name, from eoh */
	dkim_bodyhash_set *bodyhash;
	msg_signer *signers;
	size_t nsigners;
	bool verify;
	dkim_lookup_fn lookup;
	void *lookup_ctx;
	msg_verif *verifs;
	size_t nverifs;
	dkim_key_query *queries;
	size_t nqueries;
	bool raw;                   /* dkim_msg_feed_raw in use */
	dkim_splitter splitter;
	dkim_arc *arc;              /* ARC validation, when asked for */
};

static dkim_status msg_state_error(dkim_error *err, const char *call)
{
	return dkim_fail(err, DKIM_ERR_STATE, "%s called at the wrong point of the message",
	                 call);
}

static bool msg_field_is(const msg_field *f, const char *name)
{
	return dkim_strcaseeq_n(f->text, f->name_len, name);
}

/* Field names in ASCII case-insensitive order: 0 exactly when
 * dkim_strcaseeq_n would say equal (§3.4.2: names compare without case). */
static int msg_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++) {
		int ca = dkim_lower((unsigned char)a[i]), cb = dkim_lower((unsigned char)b[i]);

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

/* ---- life cycle ------------------------------------------------------------- */

dkim_msg *dkim_msg_new(const dkim_options *opts, dkim_error *err)
{
	dkim_msg *msg = calloc(1, sizeof(*msg));

	if (msg == NULL) {
		dkim_error_nomem(err);
		return NULL;
	}
	if (opts != NULL)
		msg->opts = *opts;
	else
		dkim_options_init(&msg->opts);
	msg->now = (uint64_t)(msg->opts.now != 0 ? msg->opts.now : time(NULL));
	msg->bodyhash = dkim_bodyhash_set_new();
	if (msg->bodyhash == NULL) {
		free(msg);
		dkim_error_nomem(err);
		return NULL;
	}
	return msg;
}

static void msg_signer_free(msg_signer *s)
{
	size_t i;

	for (i = 0; i < s->p.nheaders; i++)
		free(s->headers[i]);
	free(s->headers);
	free(s->domain);
	free(s->selector);
	free(s->identity);
	free(s->value);
	free(s->value_eol);
	free(s->eol);
}

void dkim_msg_free(dkim_msg *msg)
{
	size_t i;

	if (msg == NULL)
		return;
	for (i = 0; i < msg->nfields; i++)
		free(msg->fields[i].text);
	free(msg->fields);
	free(msg->by_name);
	for (i = 0; i < msg->nsigners; i++)
		msg_signer_free(&msg->signers[i]);
	free(msg->signers);
	for (i = 0; i < msg->nverifs; i++)
		dkim_sig_free(&msg->verifs[i].sig);
	free(msg->verifs);
	for (i = 0; i < msg->nqueries; i++)
		dkim_pubkey_unref(msg->queries[i].key);
	free(msg->queries);
	if (msg->raw)
		dkim_splitter_free(&msg->splitter);
	dkim_arc_free(msg->arc);
	dkim_bodyhash_set_free(msg->bodyhash);
	free(msg);
}

/* ---- signers -------------------------------------------------------------------- */

static char *msg_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* i=: printable, no ';' or whitespace, domain the same as or below d=. */
static bool msg_identity_ok(const char *identity, const char *domain)
{
	const char *p;

	for (p = identity; *p != '\0'; p++)
		if ((unsigned char)*p < 33 || (unsigned char)*p > 126 || *p == ';')
			return false;
	return dkim_sig_identity_relation(identity, domain) != 0;
}

static dkim_status msg_check_signer(const dkim_sign_params *p, dkim_error *err)
{
	bool has_from = false;
	size_t i;

	if (p->key == NULL || p->domain == NULL || p->selector == NULL ||
	    p->headers == NULL || p->nheaders == 0)
		return dkim_fail(err, DKIM_ERR_INVALID, "signer needs a key, d=, s= and h=");
	if (p->alg == DKIM_ALG_RSA_SHA1)
		return dkim_fail(err, DKIM_ERR_INVALID, "rsa-sha1 is not used to sign (RFC 8301)");
	if ((p->alg == DKIM_ALG_ED25519_SHA256) !=
	    (dkim_privkey_type(p->key) == DKIM_KEY_ED25519))
		return dkim_fail(err, DKIM_ERR_INVALID, "key type does not suit %s",
		                 dkim_alg_name(p->alg));
	if (!dkim_domain_valid(p->domain, strlen(p->domain), DKIM_DOMAIN_DNS))
		return dkim_fail(err, DKIM_ERR_INVALID, "bad signing domain \"%s\"", p->domain);
	if (!dkim_domain_valid(p->selector, strlen(p->selector), DKIM_DOMAIN_DNS))
		return dkim_fail(err, DKIM_ERR_INVALID, "bad selector \"%s\"", p->selector);
	/* RFC 6376 §3.6.2.1: the key is at s._domainkey.d, a DNS name. */
	if (strlen(p->selector) + strlen("._domainkey.") + strlen(p->domain) > 253)
		return dkim_fail(err, DKIM_ERR_INVALID, "s= and d= too long for DNS");
	if (p->identity != NULL && !msg_identity_ok(p->identity, p->domain))
		return dkim_fail(err, DKIM_ERR_INVALID, "i= not within d=");
	for (i = 0; i < p->nheaders; i++) {
		if (p->headers[i] == NULL ||
		    !dkim_sig_field_name_valid(p->headers[i], strlen(p->headers[i])))
			return dkim_fail(err, DKIM_ERR_INVALID, "bad header name in h=");
		has_from |= dkim_strcaseeq_n(p->headers[i], strlen(p->headers[i]), "from");
	}
	/* RFC 6376 §5.4: "The From header field MUST be signed" */
	if (!has_from)
		return dkim_fail(err, DKIM_ERR_INVALID, "h= must include From");
	return DKIM_OK;
}

static dkim_status msg_copy_signer(msg_signer *s, const dkim_sign_params *p,
                                   dkim_error *err)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->p = *p;
	s->bh = -1;
	s->domain = msg_strdup(p->domain);
	s->selector = msg_strdup(p->selector);
	s->identity = msg_strdup(p->identity);
	s->headers = calloc(p->nheaders, sizeof(*s->headers));
	if (s->domain == NULL || s->selector == NULL || s->headers == NULL ||
	    (p->identity != NULL && s->identity == NULL)) {
		s->p.nheaders = 0;
		return dkim_error_nomem(err);
	}
	for (i = 0; i < p->nheaders; i++) {
		s->headers[i] = strdup(p->headers[i]);
		if (s->headers[i] == NULL) {
			s->p.nheaders = i;
			return dkim_error_nomem(err);
		}
	}
	s->p.domain = s->domain;
	s->p.selector = s->selector;
	s->p.identity = s->identity;
	s->p.headers = (const char *const *)s->headers;
	return DKIM_OK;
}

int dkim_msg_add_signer(dkim_msg *msg, const dkim_sign_params *params,
                        dkim_error *err)
{
	msg_signer *grown;

	if (msg->state != MSG_HEADERS) {
		msg_state_error(err, "dkim_msg_add_signer");
		return -1;
	}
	if (params == NULL || msg_check_signer(params, err) != DKIM_OK) {
		if (params == NULL)
			dkim_fail(err, DKIM_ERR_INVALID, "no signer parameters");
		return -1;
	}
	grown = realloc(msg->signers, (msg->nsigners + 1) * sizeof(*grown));
	if (grown == NULL) {
		dkim_error_nomem(err);
		return -1;
	}
	msg->signers = grown;
	if (msg_copy_signer(&grown[msg->nsigners], params, err) != DKIM_OK) {
		msg_signer_free(&grown[msg->nsigners]);
		return -1;
	}
	return (int)msg->nsigners++;
}

dkim_status dkim_msg_verify(dkim_msg *msg, dkim_lookup_fn lookup, void *ctx,
                            dkim_error *err)
{
	if (msg->state != MSG_HEADERS)
		return msg_state_error(err, "dkim_msg_verify");
	if (lookup == NULL)
		return dkim_fail(err, DKIM_ERR_INVALID, "no key lookup function");
	msg->verify = true;
	msg->lookup = lookup;
	msg->lookup_ctx = ctx;
	return DKIM_OK;
}

/* ---- header fields ---------------------------------------------------------------- */

/* Appends s, turning a bare LF into CRLF (milters see "\n" folding).
 * memchr from one LF to the next: every field of every message passes
 * here as it arrives, and most have no line break at all. */
static dkim_status msg_append_crlf(dkim_buf *buf, const char *s, size_t len)
{
	size_t start = 0;
	dkim_status st = DKIM_OK;
	const char *lf = memchr(s, '\n', len);

	while (lf != NULL && st == DKIM_OK) {
		size_t i = (size_t)(lf - s);

		if (i == 0 || s[i - 1] != '\r') {
			st = dkim_buf_append(buf, s + start, i - start);
			if (st == DKIM_OK)
				st = dkim_buf_append(buf, "\r\n", 2);
			start = i + 1;
		}
		lf = memchr(lf + 1, '\n', len - i - 1);
	}
	if (st == DKIM_OK)
		st = dkim_buf_append(buf, s + start, len - start);
	return st;
}

/* The limit error names the field when its name is printable (logs). */
static dkim_status msg_too_big(const dkim_msg *msg, const char *name, size_t name_len,
                               dkim_error *err)
{
	if (name_len > 0 && name_len <= 64 && dkim_sig_field_name_valid(name, name_len))
		return dkim_fail(err, DKIM_ERR_LIMIT, "header field %.*s is over %zu bytes",
		                 (int)name_len, name, msg->opts.max_field_bytes);
	return dkim_fail(err, DKIM_ERR_LIMIT, "a header field is over %zu bytes",
	                 msg->opts.max_field_bytes);
}

/* Takes a normalized field out of buf, after checking every limit. */
static dkim_status msg_store_field(dkim_msg *msg, dkim_buf *buf, dkim_error *err)
{
	size_t name_len = dkim_field_name_len(buf->data, buf->len);
	msg_field *f;

	if (name_len == 0)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "header field without a name");
	if (buf->len > msg->opts.max_field_bytes)
		return msg_too_big(msg, buf->data, name_len, err);
	if (msg->nfields >= msg->opts.max_fields)
		return dkim_fail(err, DKIM_ERR_LIMIT, "more than %zu header fields",
		                 msg->opts.max_fields);
	/* The header block counts each field with its CRLF. */
	if (msg->header_bytes + buf->len + 2 > msg->opts.max_header_bytes)
		return dkim_fail(err, DKIM_ERR_LIMIT, "header block is over %zu bytes",
		                 msg->opts.max_header_bytes);
	if (msg->nfields == msg->fields_cap) {
		size_t cap = msg->fields_cap ? msg->fields_cap * 2 : 32;
		msg_field *grown = realloc(msg->fields, cap * sizeof(*grown));

		if (grown == NULL)
			return dkim_error_nomem(err);
		msg->fields = grown;
		msg->fields_cap = cap;
	}
	f = &msg->fields[msg->nfields];
	/* Not strndup: a field from a raw message may hold a NUL byte. The
	 * name's copy costs a few bytes and spares callers that read fields
	 * by name (the milter's policy) a copy of the header block. */
	f->text = malloc(buf->len + 1 + name_len + 1);
	if (f->text == NULL)
		return dkim_error_nomem(err);
	memcpy(f->text, buf->data, buf->len + 1);
	memcpy(f->text + buf->len + 1, buf->data, name_len);
	f->text[buf->len + 1 + name_len] = '\0';
	f->len = buf->len;
	f->name_len = name_len;
	msg->nfields++;
	msg->header_bytes += buf->len + 2;
	return DKIM_OK;
}

/* "name:" [SP] value, stored; space puts back the SP an MTA removed. */
static dkim_status msg_header(dkim_msg *msg, const char *name, const char *value,
                              bool space, dkim_error *err)
{
	dkim_buf buf;
	dkim_status st;

	if (msg->state != MSG_HEADERS)
		return msg_state_error(err, "dkim_msg_header");
	if (name == NULL || value == NULL || strchr(name, ':') != NULL)
		return dkim_fail(err, DKIM_ERR_INVALID, "bad header field name");
	/* CRLF normalization only grows a field: refuse early, before copying. */
	if (strlen(name) + 1 + space + strlen(value) > msg->opts.max_field_bytes)
		return msg_too_big(msg, name, strlen(name), err);
	dkim_buf_init(&buf);
	st = dkim_buf_append_str(&buf, name);
	if (st == DKIM_OK)
		st = dkim_buf_append(&buf, ": ", space ? 2 : 1);
	if (st == DKIM_OK)
		st = msg_append_crlf(&buf, value, strlen(value));
	st = st == DKIM_OK ? msg_store_field(msg, &buf, err) : dkim_error_nomem(err);
	dkim_buf_free(&buf);
	return st;
}

dkim_status dkim_msg_header(dkim_msg *msg, const char *name, const char *value,
                            dkim_error *err)
{
	return msg_header(msg, name, value, false, err);
}

dkim_status dkim_msg_header_unspaced(dkim_msg *msg, const char *name,
                                     const char *value, dkim_error *err)
{
	return msg_header(msg, name, value, true, err);
}

size_t dkim_msg_header_count(const dkim_msg *msg)
{
	return msg->nfields;
}

bool dkim_msg_header_get(const dkim_msg *msg, size_t i, const char **name,
                         const char **value)
{
	if (i >= msg->nfields)
		return false;
	*name = msg->fields[i].text + msg->fields[i].len + 1;
	*value = msg->fields[i].text + msg->fields[i].name_len + 1;
	return true;
}

dkim_status dkim_msg_header_field(dkim_msg *msg, const char *field, size_t len,
                                  dkim_error *err)
{
	dkim_buf buf;
	dkim_status st;

	if (msg->state != MSG_HEADERS)
		return msg_state_error(err, "dkim_msg_header_field");
	if (len > msg->opts.max_field_bytes)
		return msg_too_big(msg, field, dkim_field_name_len(field, len), err);
	dkim_buf_init(&buf);
	st = msg_append_crlf(&buf, field, len);
	st = st == DKIM_OK ? msg_store_field(msg, &buf, err) : dkim_error_nomem(err);
	dkim_buf_free(&buf);
	return st;
}

/* ---- verification results: the one place they change -------------------------------- */

/* Each cause belongs to one result (dkim.h), so the two cannot disagree. */
static dkim_result msg_cause_result(dkim_cause cause)
{
	switch (cause) {
	case DKIM_CAUSE_NONE:
		return DKIM_RESULT_PASS;
	case DKIM_CAUSE_NOT_EVALUATED:
		return DKIM_RESULT_NONE;
	case DKIM_CAUSE_KEY_TEMPFAIL:
		return DKIM_RESULT_TEMPERROR;
	case DKIM_CAUSE_ALG_REFUSED:
	case DKIM_CAUSE_KEY_TOO_SMALL:
		return DKIM_RESULT_POLICY;
	case DKIM_CAUSE_BODY_HASH:
	case DKIM_CAUSE_SIGNATURE:
	/* RFC 6376 §6.1.2: an empty p= means "revoked": PERMFAIL (key
	 * revoked), which RFC 8601 §2.7.1 reports as fail (the signer says
	 * no), as OpenDKIM and dkimpy do, not permerror. */
	case DKIM_CAUSE_KEY_REVOKED:
		return DKIM_RESULT_FAIL;
	case DKIM_CAUSE_SIG_SYNTAX:
	case DKIM_CAUSE_SIG_EXPIRED:
	case DKIM_CAUSE_SIG_FUTURE:
	case DKIM_CAUSE_FROM_FIELD:
	case DKIM_CAUSE_KEY_NOT_FOUND:
	case DKIM_CAUSE_KEY_INVALID:
	case DKIM_CAUSE_KEY_MISMATCH:
	case DKIM_CAUSE_BODY_LENGTH:
		break;
	}
	return DKIM_RESULT_PERMERROR;
}

static void msg_decide(msg_verif *v, dkim_cause cause, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void msg_decide(msg_verif *v, dkim_cause cause, const char *fmt, ...)
{
	va_list ap;

	/* A decided signature is never evaluated again; keep its first verdict. */
	if (v->decided)
		return;
	v->decided = true;
	v->res.cause = cause;
	v->res.result = msg_cause_result(cause);
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->res.reason = v->reason;
}

/* Results show the tags that parsed, even when a later one did not. */
static void msg_expose(msg_verif *v)
{
	v->res.domain = v->sig.domain;
	v->res.identity = v->sig.identity;
	v->res.selector = v->sig.selector;
	v->res.algorithm = v->sig.algorithm;
	v->res.b = v->sig.b_text;
	if (v->res.reason == NULL)
		v->res.reason = v->reason;
}

/* ---- end of header: parse signatures, set up body hashes --------------------------- */

static dkim_status msg_parse_verif(dkim_msg *msg, msg_verif *v, dkim_error *err)
{
	const msg_field *f = &msg->fields[v->field];
	const char *colon = memchr(f->text, ':', f->len);
	size_t off = (size_t)(colon - f->text) + 1;
	dkim_error perr;
	dkim_status st;

	st = dkim_sig_parse(f->text + off, f->len - off, &v->sig, &perr);
	if (st == DKIM_ERR_NOMEM)
		return dkim_error_nomem(err);
	if (st != DKIM_OK) {
		msg_decide(v, DKIM_CAUSE_SIG_SYNTAX, "%s", perr.message);
		msg_expose(v);  /* final now: dkim_msg_eoh_unparsable shows it */
		return DKIM_OK;
	}
	v->parsed = true;
	v->bh = dkim_bodyhash_add(msg->bodyhash, v->sig.hash, v->sig.body_canon,
	                          v->sig.length);
	return v->bh < 0 ? dkim_error_nomem(err) : DKIM_OK;
}

static size_t msg_count_fields(const dkim_msg *msg, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < msg->nfields; i++)
		n += msg_field_is(&msg->fields[i], name);
	return n;
}

/* What can be decided before any lookup (so junk costs no DNS query). */
static void msg_prejudge(const dkim_msg *msg, msg_verif *v, size_t nfrom)
{
	uint64_t drift = msg->opts.clock_drift;

	/* RFC 6376 §8.15: a second From must not ride on a valid signature. */
	if (nfrom > 1)
		msg_decide(v, DKIM_CAUSE_FROM_FIELD, "multiple From fields");
	else if (nfrom == 0)
		msg_decide(v, DKIM_CAUSE_FROM_FIELD, "no From field");
	/* RFC 8301 §3.1: verifiers MUST NOT consider rsa-sha1 signatures valid. */
	else if (v->sig.alg == DKIM_ALG_RSA_SHA1)
		msg_decide(v, DKIM_CAUSE_ALG_REFUSED, "rsa-sha1 is not accepted (RFC 8301)");
	/* §3.5 x=: signatures MAY be considered invalid past the expiration. */
	else if (v->sig.has_expire && v->sig.expire + drift < msg->now)
		msg_decide(v, DKIM_CAUSE_SIG_EXPIRED, "signature expired");
	/* §3.5 t=: a timestamp in the future MAY be treated as invalid. */
	else if (v->sig.has_timestamp && v->sig.timestamp > msg->now + drift)
		msg_decide(v, DKIM_CAUSE_SIG_FUTURE, "signature timestamp is in the future");
}

/* One query per distinct (domain, selector); DNS names are case-insensitive. */
static void msg_add_query(dkim_msg *msg, msg_verif *v)
{
	const char *d = v->sig.domain, *s = v->sig.selector;
	size_t i;

	for (i = 0; i < msg->nqueries; i++) {
		dkim_key_query *q = &msg->queries[i];

		if (dkim_strcaseeq_n(d, strlen(d), q->domain) &&
		    dkim_strcaseeq_n(s, strlen(s), q->selector)) {
			v->query = (int)i;
			return;
		}
	}
	memset(&msg->queries[i], 0, sizeof(msg->queries[i]));
	msg->queries[i].domain = d;
	msg->queries[i].selector = s;
	v->query = (int)i;
	msg->nqueries++;
}

static dkim_status msg_setup_verifs(dkim_msg *msg, dkim_error *err)
{
	size_t i, k = 0, n = msg_count_fields(msg, "DKIM-Signature");
	size_t nfrom = msg_count_fields(msg, "From");
	dkim_status st;

	msg->verifs = calloc(n ? n : 1, sizeof(*msg->verifs));
	msg->queries = calloc(n ? n : 1, sizeof(*msg->queries));
	if (msg->verifs == NULL || msg->queries == NULL)
		return dkim_error_nomem(err);
	for (i = 0; i < msg->nfields; i++) {
		msg_verif *v;

		if (!msg_field_is(&msg->fields[i], "DKIM-Signature"))
			continue;
		v = &msg->verifs[k++];
		msg->nverifs = k;
		v->field = i;
		v->bh = v->query = -1;
		if (k > msg->opts.max_signatures) {
			msg_decide(v, DKIM_CAUSE_NOT_EVALUATED, "not evaluated: over the limit of %zu",
			           msg->opts.max_signatures);
			continue;
		}
		st = msg_parse_verif(msg, v, err);
		if (st != DKIM_OK)
			return st;
		if (!v->decided)
			msg_prejudge(msg, v, nfrom);
		if (!v->decided)
			msg_add_query(msg, v);
	}
	return DKIM_OK;
}

static dkim_status msg_setup_signers(dkim_msg *msg, dkim_error *err)
{
	size_t i;

	for (i = 0; i < msg->nsigners; i++) {
		msg_signer *s = &msg->signers[i];

		/* Signers hash the whole body; l= reports how much that was. */
		s->bh = dkim_bodyhash_add(msg->bodyhash, DKIM_HASH_SHA256,
		                          s->p.body_canon, DKIM_NO_LIMIT);
		if (s->bh < 0)
			return dkim_error_nomem(err);
	}
	return DKIM_OK;
}

static int msg_by_name_cmp(const void *pa, const void *pb)
{
	const msg_field_ref *a = pa, *b = pb;
	int c = msg_name_cmp(a->f->text, a->f->name_len, b->f->text, b->f->name_len);

	if (c != 0)
		return c;
	return a->idx > b->idx ? -1 : 1;   /* bottom first; positions are distinct */
}

/* The fields are final at the end of the header: index them by name once,
 * for every header hash of the message (msg_select_field). */
static dkim_status msg_index_fields(dkim_msg *msg, dkim_error *err)
{
	size_t i;

	msg->by_name = malloc((msg->nfields ? msg->nfields : 1) * sizeof(*msg->by_name));
	if (msg->by_name == NULL)
		return dkim_error_nomem(err);
	for (i = 0; i < msg->nfields; i++) {
		msg->by_name[i].f = &msg->fields[i];   /* no field is added after eoh */
		msg->by_name[i].idx = i;
	}
	qsort(msg->by_name, msg->nfields, sizeof(*msg->by_name), msg_by_name_cmp);
	return DKIM_OK;
}

dkim_status dkim_msg_eoh(dkim_msg *msg, dkim_error *err)
{
	dkim_status st;

	if (msg->state != MSG_HEADERS)
		return msg_state_error(err, "dkim_msg_eoh");
	msg->state = MSG_BODY;
	st = msg_index_fields(msg, err);
	if (st == DKIM_OK)
		st = msg_setup_signers(msg, err);
	if (st == DKIM_OK && msg->verify)
		st = msg_setup_verifs(msg, err);
	if (st == DKIM_OK && msg->arc != NULL)
		st = dkim_arc_eoh(msg->arc, msg, err);
	return st;
}

/* ---- ARC hooks (arc.c does the work) --------------------------------------------------- */

dkim_status dkim_msg_arc_verify(dkim_msg *msg, dkim_lookup_fn lookup, void *ctx,
                                dkim_error *err)
{
	if (msg->state != MSG_HEADERS || msg->arc != NULL)
		return msg_state_error(err, "dkim_msg_arc_verify");
	if (lookup == NULL)
		return dkim_fail(err, DKIM_ERR_INVALID, "no key lookup function");
	msg->arc = dkim_arc_new(lookup, ctx);
	return msg->arc == NULL ? dkim_error_nomem(err) : DKIM_OK;
}

dkim_arc_result dkim_msg_arc_result(const dkim_msg *msg, unsigned *oldest_pass,
                                    const char **reason)
{
	if (msg->arc == NULL || msg->state != MSG_DONE) {
		if (oldest_pass != NULL)
			*oldest_pass = 0;
		if (reason != NULL)
			*reason = "not validated";
		return DKIM_ARC_NONE;
	}
	return dkim_arc_get(msg->arc, oldest_pass, reason);
}

dkim_status dkim_msg_arc_seal(dkim_msg *msg, const dkim_arc_seal_params *params,
                              dkim_error *err)
{
	if (msg->state != MSG_HEADERS || msg->arc == NULL)
		return msg_state_error(err, "dkim_msg_arc_seal");
	return dkim_arc_set_sealer(msg->arc, params, err);
}

const char *dkim_msg_arc_seal_field(const dkim_msg *msg, dkim_arc_field which)
{
	if (msg->arc == NULL || msg->state != MSG_DONE)
		return NULL;
	return dkim_arc_seal_value(msg->arc, which);
}

uint64_t dkim_msg_now(const dkim_msg *msg)
{
	return msg->now;
}

const char *dkim_msg_field(const dkim_msg *msg, size_t i, size_t *len,
                           size_t *name_len)
{
	*len = msg->fields[i].len;
	*name_len = msg->fields[i].name_len;
	return msg->fields[i].text;
}

dkim_bodyhash_set *dkim_msg_bodyhashes(const dkim_msg *msg)
{
	return msg->bodyhash;
}

const dkim_options *dkim_msg_options(const dkim_msg *msg)
{
	return &msg->opts;
}

/* ---- body and key lookups ------------------------------------------------------------ */

dkim_status dkim_msg_body(dkim_msg *msg, const void *data, size_t len,
                          dkim_error *err)
{
	if (msg->state != MSG_BODY)
		return msg_state_error(err, "dkim_msg_body");
	return dkim_bodyhash_update(msg->bodyhash, data, len, err);
}

/* Runs the lookups (once, at end of message); makes the answers safe
 * to rely on. */
static void msg_fetch(dkim_msg *msg)
{
	size_t i;

	if (msg->nqueries == 0)
		return;
	msg->lookup(msg->lookup_ctx, msg->queries, msg->nqueries);
	for (i = 0; i < msg->nqueries; i++) {
		dkim_key_query *q = &msg->queries[i];

		q->reason[sizeof(q->reason) - 1] = '\0';
		if (q->status == DKIM_LOOKUP_FOUND && q->key == NULL) {
			q->status = DKIM_LOOKUP_PERMFAIL;
			snprintf(q->reason, sizeof(q->reason), "lookup returned no key");
		}
		if (q->status != DKIM_LOOKUP_FOUND && q->key != NULL) {
			dkim_pubkey_unref(q->key);
			q->key = NULL;
		}
	}
}

/* ---- the header hash (RFC 6376 §3.7) --------------------------------------------------- */

/*
 * §5.4.2: for a name listed k times in h=, the k-th instance from the
 * bottom; none left means nothing is hashed (oversigning). h= may list a
 * thousand names and the header block tens of thousands of fields, so the
 * fields are not scanned once per name (quadratic: seconds per message):
 * by_name holds them sorted by name, bottom first within a name; a name
 * is found by binary search, and taken[] counts the instances used so far
 * (kept at the position of the name's first instance).
 */
static long msg_select_field(const dkim_msg *msg, const char *name, size_t *taken)
{
	size_t len = strlen(name), lo = 0, hi = msg->nfields, k;

	while (lo < hi) {   /* the first entry not before name */
		size_t mid = lo + (hi - lo) / 2;
		const msg_field *f = msg->by_name[mid].f;

		if (msg_name_cmp(f->text, f->name_len, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == msg->nfields || !msg_field_is(msg->by_name[lo].f, name))
		return -1;
	k = lo + taken[lo]++;
	if (k >= msg->nfields || !msg_field_is(msg->by_name[k].f, name))
		return -1;
	return (long)msg->by_name[k].idx;
}

static dkim_status msg_header_input(const dkim_msg *msg, const char *const *names,
                                    size_t n, dkim_canon canon, const char *sigfield,
                                    size_t siglen, dkim_buf *in)
{
	size_t *taken = calloc(msg->nfields ? msg->nfields : 1, sizeof(*taken));
	dkim_status st = taken ? DKIM_OK : DKIM_ERR_NOMEM;
	size_t i;

	for (i = 0; i < n && st == DKIM_OK; i++) {
		long idx = msg_select_field(msg, names[i], taken);

		if (idx >= 0)
			st = dkim_canon_header(canon, msg->fields[idx].text,
			                       msg->fields[idx].len, false, in);
	}
	/* §3.7: the signature field last, b= empty, without its final CRLF. */
	if (st == DKIM_OK)
		st = dkim_canon_header(canon, sigfield, siglen, true, in);
	free(taken);
	return st;
}

dkim_status dkim_msg_header_digest(const dkim_msg *msg, const char *const *names,
                                   size_t n, dkim_canon canon, const char *sigfield,
                                   size_t siglen, dkim_hash hash,
                                   unsigned char *digest, unsigned *dlen,
                                   dkim_error *err)
{
	dkim_buf in;
	dkim_status st;

	if (msg->by_name == NULL)   /* before dkim_msg_eoh */
		return msg_state_error(err, "dkim_msg_header_digest");
	dkim_buf_init(&in);
	st = msg_header_input(msg, names, n, canon, sigfield, siglen, &in);
	if (st != DKIM_OK) {
		dkim_buf_free(&in);
		return dkim_fail(err, st, "cannot canonicalize the header: %s",
		                 dkim_status_name(st));
	}
	if (!EVP_Digest(in.data, in.len, digest, dlen,
	                hash == DKIM_HASH_SHA1 ? EVP_sha1() : EVP_sha256(), NULL))
		st = dkim_fail(err, DKIM_ERR_CRYPTO, "header digest failed");
	dkim_buf_free(&in);
	return st;
}

/* ---- signing ------------------------------------------------------------------------- */

static void msg_signer_fields(const dkim_msg *msg, const msg_signer *s,
                              dkim_sig_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->alg = s->p.alg;
	f->header_canon = s->p.header_canon;
	f->body_canon = s->p.body_canon;
	f->domain = s->domain;
	f->selector = s->selector;
	f->identity = s->identity;
	f->headers = s->p.headers;
	f->nheaders = s->p.nheaders;
	f->has_timestamp = s->p.timestamp;
	f->timestamp = msg->now;
	f->has_expire = s->p.expire_after != 0;
	f->expire = msg->now + s->p.expire_after;
	f->has_length = s->p.body_length;
	f->length = dkim_bodyhash_hashed(msg->bodyhash, s->bh);
	f->b = "";
}

/*
 * Signs the header as it will read once the milter inserts
 * "DKIM-Signature: " + value: that exact text is what we hash (§3.7).
 */
static dkim_status msg_sign_digest(const dkim_msg *msg, const msg_signer *s,
                                   const dkim_sig_fields *f, char **b64,
                                   dkim_error *err)
{
	unsigned char digest[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned dlen = 0;
	size_t siglen = 0;
	dkim_buf field;
	dkim_status st;

	dkim_buf_init(&field);
	st = dkim_buf_append_str(&field, "DKIM-Signature: ");
	if (st == DKIM_OK)
		st = dkim_sig_format(f, &field);
	if (st != DKIM_OK) {
		dkim_buf_free(&field);
		return dkim_fail(err, st, "cannot format the signature");
	}
	st = dkim_msg_header_digest(msg, s->p.headers, s->p.nheaders, s->p.header_canon,
	                       field.data, field.len, DKIM_HASH_SHA256, digest, &dlen, err);
	dkim_buf_free(&field);
	if (st == DKIM_OK)
		st = dkim_key_sign_digest(s->p.key, digest, dlen, &sig, &siglen, err);
	if (st != DKIM_OK)
		return st;
	*b64 = dkim_base64_encode(sig, siglen);
	free(sig);
	return *b64 == NULL ? dkim_error_nomem(err) : DKIM_OK;
}

static dkim_status msg_sign_one(dkim_msg *msg, msg_signer *s, dkim_error *err)
{
	size_t bhlen;
	const unsigned char *bh = dkim_bodyhash_digest(msg->bodyhash, s->bh, &bhlen);
	char *bh64 = bh ? dkim_base64_encode(bh, bhlen) : NULL;
	char *b64 = NULL;
	dkim_sig_fields f;
	dkim_buf value;
	dkim_status st;

	if (bh64 == NULL)
		return dkim_error_nomem(err);
	msg_signer_fields(msg, s, &f);
	f.bh = bh64;
	st = msg_sign_digest(msg, s, &f, &b64, err);
	dkim_buf_init(&value);
	if (st == DKIM_OK) {
		f.b = b64;
		st = dkim_sig_format(&f, &value);
		if (st == DKIM_OK && (s->value = strndup(value.data, value.len)) == NULL)
			st = DKIM_ERR_NOMEM;
		if (st != DKIM_OK)
			st = dkim_fail(err, st, "cannot format the signature");
	}
	dkim_buf_free(&value);
	free(bh64);
	free(b64);
	return st;
}

/* ---- verifying --------------------------------------------------------------------------- */

/* The key record against the signature (§3.6.1, §6.1.2) and our policy. */
static void msg_check_key(const dkim_msg *msg, msg_verif *v, const dkim_pubkey *key)
{
	unsigned flags = dkim_pubkey_flags(key);

	if (dkim_pubkey_revoked(key))
		msg_decide(v, DKIM_CAUSE_KEY_REVOKED, "key revoked");
	else if (dkim_pubkey_type(key) != v->sig.keytype)
		msg_decide(v, DKIM_CAUSE_KEY_MISMATCH, "key type does not match a=");
	else if (!dkim_pubkey_allows_hash(key, v->sig.hash))
		msg_decide(v, DKIM_CAUSE_KEY_MISMATCH, "key h= does not allow the signature's hash");
	else if (!dkim_pubkey_allows_email(key))
		msg_decide(v, DKIM_CAUSE_KEY_MISMATCH, "key s= does not allow email");
	/* §3.6.1 t=s: "the "i=" domain MUST NOT be a subdomain of "d="" */
	else if ((flags & DKIM_KEYFLAG_STRICT) &&
	         dkim_sig_identity_relation(v->sig.identity, v->sig.domain) == 2)
		msg_decide(v, DKIM_CAUSE_KEY_MISMATCH, "key t=s forbids i= in a subdomain of d=");
	/* RFC 8301 §3.2: RSA keys below 1024 bits MUST NOT be accepted. */
	else if (v->sig.keytype == DKIM_KEY_RSA &&
	         dkim_pubkey_bits(key) < msg->opts.min_key_bits)
		msg_decide(v, DKIM_CAUSE_KEY_TOO_SMALL, "key too small (%u bits)",
		           dkim_pubkey_bits(key));
}

static void msg_check_body(const dkim_msg *msg, msg_verif *v)
{
	size_t dlen;
	const unsigned char *d = dkim_bodyhash_digest(msg->bodyhash, v->bh, &dlen);

	/* §3.5 l=: a length beyond the body cannot have been signed as is. */
	if (v->sig.length != DKIM_NO_LIMIT &&
	    v->sig.length > dkim_bodyhash_total(msg->bodyhash, v->bh))
		msg_decide(v, DKIM_CAUSE_BODY_LENGTH, "l= exceeds body length");
	/* §6.1.3: "If the hash values do not match, ... PERMFAIL" as a failure */
	else if (d == NULL || dlen != v->sig.bh_len || memcmp(d, v->sig.bh, dlen) != 0)
		msg_decide(v, DKIM_CAUSE_BODY_HASH, "body hash did not verify");
}

static dkim_status msg_check_headers(const dkim_msg *msg, msg_verif *v,
                                     const dkim_pubkey *key, dkim_error *err)
{
	const msg_field *f = &msg->fields[v->field];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	size_t stripped_len;
	char *stripped = dkim_sig_strip_b(f->text, f->len, &stripped_len);
	dkim_error verr;
	dkim_status st;

	if (stripped == NULL)
		return dkim_error_nomem(err);
	st = dkim_msg_header_digest(msg, (const char *const *)v->sig.headers, v->sig.nheaders,
	                       v->sig.header_canon, stripped, stripped_len, v->sig.hash,
	                       digest, &dlen, err);
	free(stripped);
	if (st != DKIM_OK)
		return st;
	if (dkim_key_verify_digest(key, v->sig.hash, digest, dlen, v->sig.b,
	                           v->sig.b_len, &verr) != DKIM_OK)
		msg_decide(v, DKIM_CAUSE_SIGNATURE, "signature verification failed");
	return DKIM_OK;
}

static dkim_status msg_verify_one(dkim_msg *msg, msg_verif *v, dkim_error *err)
{
	const dkim_key_query *q = &msg->queries[v->query];
	dkim_status st;

	if (q->status == DKIM_LOOKUP_NOTFOUND)
		msg_decide(v, DKIM_CAUSE_KEY_NOT_FOUND, "no key for signature");
	else if (q->status == DKIM_LOOKUP_TEMPFAIL)
		msg_decide(v, DKIM_CAUSE_KEY_TEMPFAIL, "%s",
		           q->reason[0] ? q->reason : "key lookup failed temporarily");
	else if (q->status != DKIM_LOOKUP_FOUND)
		msg_decide(v, DKIM_CAUSE_KEY_INVALID, "%s",
		           q->reason[0] ? q->reason : "unusable key record");
	if (v->decided)
		return DKIM_OK;
	v->res.key_bits = dkim_pubkey_bits(q->key);
	v->res.testing = (dkim_pubkey_flags(q->key) & DKIM_KEYFLAG_TESTING) != 0;
	msg_check_key(msg, v, q->key);
	if (!v->decided)
		msg_check_body(msg, v);
	if (!v->decided) {
		st = msg_check_headers(msg, v, q->key, err);
		if (st != DKIM_OK)
			return st;
	}
	if (!v->decided)
		msg_decide(v, DKIM_CAUSE_NONE, "%s", "");
	return DKIM_OK;
}

/* ---- end of message ------------------------------------------------------------------------- */

dkim_status dkim_msg_eom(dkim_msg *msg, dkim_error *err)
{
	dkim_status st = DKIM_OK;
	size_t i;

	if (msg->raw && msg->state != MSG_DONE) {
		st = dkim_splitter_finish(&msg->splitter, err);
		if (st != DKIM_OK)
			return st;
	}
	if (msg->state != MSG_BODY)
		return msg_state_error(err, "dkim_msg_eom");
	msg->state = MSG_DONE;
	st = dkim_bodyhash_final(msg->bodyhash, err);
	for (i = 0; i < msg->nsigners && st == DKIM_OK; i++)
		st = msg_sign_one(msg, &msg->signers[i], err);
	if (st == DKIM_OK && msg->verify) {
		msg_fetch(msg);
		for (i = 0; i < msg->nverifs && st == DKIM_OK; i++)
			if (!msg->verifs[i].decided)
				st = msg_verify_one(msg, &msg->verifs[i], err);
	}
	for (i = 0; i < msg->nverifs; i++)
		msg_expose(&msg->verifs[i]);
	/* after the DKIM results are out: a sealer's AAR may state them */
	if (st == DKIM_OK && msg->arc != NULL)
		st = dkim_arc_eom(msg->arc, msg, err);
	return st;
}

/* ---- a whole stored message ------------------------------------------------------------------ */

static dkim_status msg_raw_field(void *ctx, const char *field, size_t len,
                                 dkim_error *err)
{
	return dkim_msg_header_field(ctx, field, len, err);
}

static dkim_status msg_raw_eoh(void *ctx, dkim_error *err)
{
	return dkim_msg_eoh(ctx, err);
}

static dkim_status msg_raw_body(void *ctx, const void *data, size_t len,
                                dkim_error *err)
{
	return dkim_msg_body(ctx, data, len, err);
}

dkim_status dkim_msg_feed_raw(dkim_msg *msg, const void *data, size_t len,
                              dkim_error *err)
{
	if (msg->state == MSG_DONE || (!msg->raw && msg->state != MSG_HEADERS))
		return msg_state_error(err, "dkim_msg_feed_raw");
	if (!msg->raw) {
		dkim_splitter_init(&msg->splitter, msg->opts.max_field_bytes);
		msg->splitter.on_field = msg_raw_field;
		msg->splitter.on_eoh = msg_raw_eoh;
		msg->splitter.on_body = msg_raw_body;
		msg->splitter.ctx = msg;
		msg->raw = true;
	}
	return dkim_splitter_feed(&msg->splitter, data, len, err);
}

/* ---- results ------------------------------------------------------------------------------------ */

/* Copies value with each "\r\n" replaced by eol. */
static char *msg_convert_eol(const char *value, const char *eol)
{
	size_t n = 0, elen = strlen(eol);
	const char *p;
	char *out, *o;

	for (p = value; *p != '\0'; p++)
		n += (p[0] == '\r' && p[1] == '\n') ? elen : 1;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	for (o = out, p = value; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			memcpy(o, eol, elen);
			o += elen;
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

const char *dkim_msg_signature(dkim_msg *msg, int signer, const char *eol)
{
	msg_signer *s;

	if (msg->state != MSG_DONE || signer < 0 || (size_t)signer >= msg->nsigners)
		return NULL;
	s = &msg->signers[signer];
	if (s->value == NULL)
		return NULL;
	if (eol == NULL || strcmp(eol, "\r\n") == 0)
		return s->value;
	if (s->eol == NULL || strcmp(s->eol, eol) != 0) {
		free(s->value_eol);
		free(s->eol);
		s->value_eol = msg_convert_eol(s->value, eol);
		s->eol = strdup(eol);
		if (s->value_eol == NULL || s->eol == NULL) {
			free(s->value_eol);
			free(s->eol);
			s->value_eol = s->eol = NULL;
			return NULL;
		}
	}
	return s->value_eol;
}

bool dkim_msg_eoh_unparsable(const dkim_msg *msg, const dkim_sig_result **top)
{
	size_t i;

	if (top != NULL)
		*top = NULL;
	if (!msg->verify || msg->state == MSG_HEADERS || msg->nverifs == 0)
		return false;
	for (i = 0; i < msg->nverifs; i++) {
		const msg_verif *v = &msg->verifs[i];

		if (!v->decided || v->res.cause != DKIM_CAUSE_SIG_SYNTAX)
			return false;
	}
	if (top != NULL)
		*top = &msg->verifs[0].res;
	return true;
}

size_t dkim_msg_result_count(const dkim_msg *msg)
{
	return msg->state == MSG_DONE ? msg->nverifs : 0;
}

const dkim_sig_result *dkim_msg_result(const dkim_msg *msg, size_t i)
{
	if (msg->state != MSG_DONE || i >= msg->nverifs)
		return NULL;
	return &msg->verifs[i].res;
}
