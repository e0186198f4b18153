/*
 * arc.c - ARC (RFC 8617): finds and parses the ARC sets of a message
 * (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal) and
 * validates the chain per §5.2, giving none / pass / fail and the
 * oldest-pass.
 *
 * Nothing here is a second copy of DKIM: the AMS is parsed by sig.c's
 * parser in its ARC mode, its body hash is one of the message's shared
 * body-hash contexts, its header hash is dkim_msg_header_digest, keys are
 * DKIM key records fetched through the caller's lookup function and
 * checked with key.c's digest verification; ARC-Seal tag-lists go through
 * taglist.c and header fields through canon.c.
 *
 * Interface (internal.h): msg.c calls dkim_arc_eoh at the end of the
 * header and dkim_arc_eom once the body hashes are final. The result is
 * decided once (arc_decide), with a reason.
 *
 * Bounds: at most DKIM_ARC_MAX_INSTANCE sets; one key lookup batch of at
 * most 51 queries; the ARC-Seal hashes of all instances share one running
 * digest (each AS hashes the sets before it, §5.1.1), so the work is
 * linear in the header size even for 50 sets of large fields.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define ARC_N (DKIM_ARC_MAX_INSTANCE + 1)

/*
 * The older AMSes only give the oldest-pass (§5.2 step 5), a detail of a
 * chain that passes or fails without them; each one whose body hash no
 * other signature shares hashes the whole body once more, and distinct l=
 * values make up to 49 of them. At most this many new body-hash contexts
 * are made for them; the search stops at the first AMS past the budget, as
 * at one that does not parse.
 */
#define ARC_OLDER_BODYHASHES 4

enum arc_kind { ARC_AAR = 0, ARC_AMS = 1, ARC_AS = 2, ARC_KINDS = 3 };

static const char *const arc_names[ARC_KINDS] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"
};

/* A parsed ARC-Seal (§4.1.3). */
typedef struct {
	dkim_alg alg;
	dkim_keytype keytype;
	char domain[254], selector[254];
	unsigned char *b;
	size_t b_len;
	int cv;                     /* DKIM_ARC_NONE / _PASS / _FAIL */
	bool has_t, has_x;
	uint64_t t, x;              /* t=, x= (not in RFC 8617 §4.1.3; dkimpy
	                             * checks them, see arc_time_valid) */
} arc_seal;

struct dkim_arc {
	dkim_lookup_fn lookup;
	void *lookup_ctx;
	bool decided;
	dkim_arc_result result;
	unsigned oldest_pass;
	char reason[DKIM_ERROR_MAX];
	unsigned n;                              /* highest instance */
	long field[ARC_N][ARC_KINDS];            /* index of each field, -1 */
	dkim_sig ams[ARC_N];
	int ams_bh[ARC_N];
	arc_seal as[ARC_N];
	dkim_key_query queries[2 * ARC_N];
	size_t nqueries;
	int ams_query[ARC_N], as_query[ARC_N];
	/* sealing (§5.1), when asked for */
	bool sealing;
	bool unnumbered;            /* ARC fields with a bad or repeated i= */
	dkim_arc_seal_params sp;    /* strings point to the copies below */
	char *s_domain, *s_selector, *s_authserv;
	char **s_headers;
	int seal_bh;
	char *out[ARC_KINDS];       /* the new set's values */
};

const char *dkim_arc_result_name(dkim_arc_result result)
{
	switch (result) {
	case DKIM_ARC_NONE: return "none";
	case DKIM_ARC_PASS: return "pass";
	case DKIM_ARC_FAIL: return "fail";
	}
	return "unknown";
}

dkim_arc *dkim_arc_new(dkim_lookup_fn lookup, void *ctx)
{
	dkim_arc *arc = calloc(1, sizeof(*arc));
	size_t i, k;

	if (arc == NULL)
		return NULL;
	arc->lookup = lookup;
	arc->lookup_ctx = ctx;
	for (i = 0; i < ARC_N; i++) {
		for (k = 0; k < ARC_KINDS; k++)
			arc->field[i][k] = -1;
		arc->ams_bh[i] = arc->ams_query[i] = arc->as_query[i] = -1;
	}
	arc->seal_bh = -1;
	return arc;
}

void dkim_arc_free(dkim_arc *arc)
{
	size_t i;

	if (arc == NULL)
		return;
	for (i = 0; i < ARC_N; i++) {
		dkim_sig_free(&arc->ams[i]);
		free(arc->as[i].b);
	}
	for (i = 0; i < arc->nqueries; i++)
		dkim_pubkey_unref(arc->queries[i].key);
	for (i = 0; i < arc->sp.nheaders; i++)
		free(arc->s_headers[i]);
	free(arc->s_headers);
	free(arc->s_domain);
	free(arc->s_selector);
	free(arc->s_authserv);
	for (i = 0; i < ARC_KINDS; i++)
		free(arc->out[i]);
	free(arc);
}

/* The one place the result is set; later calls keep the first decision. */
static void arc_decide(dkim_arc *arc, dkim_arc_result result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void arc_decide(dkim_arc *arc, dkim_arc_result result, const char *fmt, ...)
{
	va_list ap;

	if (arc->decided)
		return;
	arc->decided = true;
	arc->result = result;
	va_start(ap, fmt);
	vsnprintf(arc->reason, sizeof(arc->reason), fmt, ap);
	va_end(ap);
}

dkim_arc_result dkim_arc_get(const dkim_arc *arc, unsigned *oldest_pass,
                             const char **reason)
{
	if (oldest_pass != NULL)
		*oldest_pass = arc->result == DKIM_ARC_PASS ? arc->oldest_pass : 0;
	if (reason != NULL)
		*reason = arc->reason;
	return arc->result;
}

/* ---- finding the sets (§4.2.1, §5.2 steps 1-2) ------------------------------ */

static int arc_kind_of(const char *text, size_t name_len)
{
	int k;

	for (k = 0; k < ARC_KINDS; k++)
		if (dkim_strcaseeq_n(text, name_len, arc_names[k]))
			return k;
	return -1;
}

/* §4.2.1 instance: 1*2DIGIT, 1..50. 0 when not valid. */
static unsigned arc_instance_value(const char *s, size_t len)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 2)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= DKIM_ARC_MAX_INSTANCE ? v : 0;
}

/*
 * The i= of an ARC field's value. AAR (§4.1.1): "i=" instance ";" then the
 * Authentication-Results payload, so only the leading tag is read. AMS and
 * AS are tag-lists (§4.1.2, §4.1.3).
 */
static unsigned arc_field_instance(int kind, const char *value, size_t len)
{
	dkim_tag tags[DKIM_MAX_TAGS];
	const dkim_tag *t;
	size_t ntags;

	if (kind == ARC_AAR) {
		const char *semi = memchr(value, ';', len);

		if (semi == NULL)
			return 0;
		len = (size_t)(semi - value);
		if (dkim_taglist_parse_tolerant(value, len, tags, 1, &ntags, NULL) != DKIM_OK ||
		    ntags != 1)
			return 0;
	} else if (dkim_taglist_parse_tolerant(value, len, tags, DKIM_MAX_TAGS, &ntags,
	                                       NULL) != DKIM_OK) {
		return 0;
	}
	t = dkim_taglist_find(tags, ntags, "i");
	return t ? arc_instance_value(t->value, t->value_len) : 0;
}

/* Files every ARC field by instance; false (with a decision) on a bad one. */
static bool arc_collect(dkim_arc *arc, const dkim_msg *msg)
{
	size_t i, nf = dkim_msg_header_count(msg);

	for (i = 0; i < nf; i++) {
		size_t len, name_len;
		const char *text = dkim_msg_field(msg, i, &len, &name_len);
		int kind = arc_kind_of(text, name_len);
		unsigned inst;

		if (kind < 0)
			continue;
		inst = arc_field_instance(kind, text + name_len + 1, len - name_len - 1);
		if (inst == 0) {
			arc->unnumbered = true;
			arc_decide(arc, DKIM_ARC_FAIL, "%s with a missing or bad i=",
			           arc_names[kind]);
			return false;
		}
		/* §4.2.1 / §5.2 step 2: one field of each kind per instance */
		if (arc->field[inst][kind] >= 0) {
			arc->unnumbered = true;
			arc_decide(arc, DKIM_ARC_FAIL, "two %s with i=%u", arc_names[kind], inst);
			return false;
		}
		arc->field[inst][kind] = (long)i;
		if (inst > arc->n)
			arc->n = inst;
	}
	return true;
}

/* §5.2 step 2: every instance 1..N has a complete set. */
static bool arc_complete(dkim_arc *arc)
{
	unsigned i;
	int k;

	for (i = 1; i <= arc->n; i++)
		for (k = 0; k < ARC_KINDS; k++)
			if (arc->field[i][k] < 0) {
				arc_decide(arc, DKIM_ARC_FAIL, "no %s with i=%u", arc_names[k], i);
				return false;
			}
	return true;
}

/* ---- parsing ARC-Seal (§4.1.3) ------------------------------------------------ */

static bool arc_copy_name(char *out, size_t size, const dkim_tag *t)
{
	if (t == NULL || t->value_len >= size ||
	    !dkim_domain_valid(t->value, t->value_len, DKIM_DOMAIN_DNS))
		return false;
	memcpy(out, t->value, t->value_len);
	out[t->value_len] = '\0';
	return true;
}

static int arc_cv_value(const dkim_tag *t)
{
	if (t == NULL)
		return -1;
	if (dkim_strcaseeq_n(t->value, t->value_len, "none"))
		return DKIM_ARC_NONE;
	if (dkim_strcaseeq_n(t->value, t->value_len, "pass"))
		return DKIM_ARC_PASS;
	if (dkim_strcaseeq_n(t->value, t->value_len, "fail"))
		return DKIM_ARC_FAIL;
	return -1;
}

/* Returns a reason, or NULL when the seal parsed. */
/* An optional decimal tag (RFC 6376 §3.5 t=/x=: at most 12 digits). */
static bool arc_decimal(const dkim_tag *t, bool *has, uint64_t *out)
{
	size_t i;

	*has = false;
	*out = 0;
	if (t == NULL)
		return true;
	if (t->value_len == 0 || t->value_len > 12)
		return false;
	for (i = 0; i < t->value_len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return false;
		*out = *out * 10 + (uint64_t)(t->value[i] - '0');
	}
	*has = true;
	return true;
}

/*
 * t= and x= of an AMS or AS. RFC 8617 gives the AMS DKIM's tags (§4.1.2)
 * and the AS a t= (§4.1.3), without saying how a validator uses them;
 * dkimpy refuses both a t= in the future and an x= in the past (with 10
 * hours of slack). We do the same, with the ClockDrift our DKIM
 * verification uses, so that one setting governs both: an expired or
 * future-dated AMS does not validate, and such a seal fails the chain.
 */
static bool arc_time_valid(const dkim_msg *msg, bool has_t, uint64_t t,
                           bool has_x, uint64_t x)
{
	uint64_t now = dkim_msg_now(msg), drift = dkim_msg_options(msg)->clock_drift;

	if (has_x && x + drift < now)
		return false;
	return !has_t || t <= now + drift;
}

static const char *arc_parse_seal(arc_seal *as, const char *value, size_t len)
{
	dkim_tag tags[DKIM_MAX_TAGS];
	const dkim_tag *a, *b;
	size_t ntags;

	if (dkim_taglist_parse_tolerant(value, len, tags, DKIM_MAX_TAGS, &ntags,
	                                NULL) != DKIM_OK)
		return "ARC-Seal does not parse";
	/* §4.1.3: "the "h" tag ... MUST NOT be present"; a seal has no body */
	if (dkim_taglist_find(tags, ntags, "h") != NULL)
		return "ARC-Seal has h=";
	a = dkim_taglist_find(tags, ntags, "a");
	if (a == NULL || !dkim_alg_parse(a->value, a->value_len, &as->alg) ||
	    as->alg == DKIM_ALG_RSA_SHA1)
		return "ARC-Seal a= missing or not supported";
	as->keytype = as->alg == DKIM_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
	as->cv = arc_cv_value(dkim_taglist_find(tags, ntags, "cv"));
	if (as->cv < 0)
		return "ARC-Seal cv= missing or bad";
	if (!arc_copy_name(as->domain, sizeof(as->domain),
	                   dkim_taglist_find(tags, ntags, "d")) ||
	    !arc_copy_name(as->selector, sizeof(as->selector),
	                   dkim_taglist_find(tags, ntags, "s")))
		return "ARC-Seal d= or s= missing or bad";
	if (!arc_decimal(dkim_taglist_find(tags, ntags, "t"), &as->has_t, &as->t) ||
	    !arc_decimal(dkim_taglist_find(tags, ntags, "x"), &as->has_x, &as->x))
		return "ARC-Seal t= or x= is not a number";
	b = dkim_taglist_find(tags, ntags, "b");
	if (b == NULL || dkim_base64_decode(b->value, b->value_len, &as->b, &as->b_len,
	                                    NULL) != DKIM_OK || as->b_len == 0)
		return "ARC-Seal b= missing or bad";
	return NULL;
}

/* ---- setting up at the end of the header ---------------------------------------- */

static const char *arc_value(const dkim_msg *msg, long idx, size_t *vlen)
{
	size_t len, name_len;
	const char *text = dkim_msg_field(msg, (size_t)idx, &len, &name_len);

	*vlen = len - name_len - 1;
	return text + name_len + 1;
}

static int arc_add_query(dkim_arc *arc, const char *domain, const char *selector)
{
	dkim_key_query *q = &arc->queries[arc->nqueries];

	memset(q, 0, sizeof(*q));
	q->domain = domain;
	q->selector = selector;
	return (int)arc->nqueries++;
}

/* §5.2 step 3: cv= of AS(1) is none, of every later AS pass. */
static bool arc_parse_seals(dkim_arc *arc, const dkim_msg *msg)
{
	unsigned i;

	for (i = 1; i <= arc->n; i++) {
		size_t len;
		const char *v = arc_value(msg, arc->field[i][ARC_AS], &len);
		const char *why = arc_parse_seal(&arc->as[i], v, len);

		if (why != NULL) {
			arc_decide(arc, DKIM_ARC_FAIL, "i=%u: %s", i, why);
			return false;
		}
	}
	/* §5.2 step 2 (RFC 8617): a chain that already failed stays failed */
	if (arc->as[arc->n].cv == DKIM_ARC_FAIL) {
		arc_decide(arc, DKIM_ARC_FAIL, "i=%u: cv=fail", arc->n);
		return false;
	}
	for (i = 1; i <= arc->n; i++) {
		int want = i == 1 ? DKIM_ARC_NONE : DKIM_ARC_PASS;

		if (arc->as[i].cv != want) {
			arc_decide(arc, DKIM_ARC_FAIL, "i=%u: cv=%s, expected %s", i,
			           dkim_arc_result_name(arc->as[i].cv),
			           dkim_arc_result_name(want));
			return false;
		}
		arc->as_query[i] = arc_add_query(arc, arc->as[i].domain, arc->as[i].selector);
	}
	return true;
}

/*
 * Parses every AMS (the newest decides the chain, §5.2 step 4; the older
 * ones give the oldest-pass, step 5) and adds its body hash. An older AMS
 * that does not parse only ends the oldest-pass search.
 */
static dkim_status arc_parse_signatures(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
{
	dkim_bodyhash_set *set = dkim_msg_bodyhashes(msg);
	unsigned i, budget = ARC_OLDER_BODYHASHES;

	for (i = arc->n; i >= 1; i--) {
		size_t len;
		const char *v = arc_value(msg, arc->field[i][ARC_AMS], &len);
		dkim_sig *s = &arc->ams[i];

		if (dkim_sig_parse_ams(v, len, s, NULL) != DKIM_OK ||
		    s->alg == DKIM_ALG_RSA_SHA1) {
			if (i == arc->n)
				arc_decide(arc, DKIM_ARC_FAIL, "i=%u: ARC-Message-Signature is "
				           "unusable", i);
			return DKIM_OK;
		}
		if (i < arc->n &&
		    dkim_bodyhash_find(set, s->hash, s->body_canon, s->length) < 0 &&
		    budget-- == 0)
			return DKIM_OK;   /* ARC_OLDER_BODYHASHES: the search ends */
		arc->ams_bh[i] = dkim_bodyhash_add(set, s->hash, s->body_canon, s->length);
		if (arc->ams_bh[i] < 0)
			return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
		arc->ams_query[i] = arc_add_query(arc, s->domain, s->selector);
	}
	return DKIM_OK;
}

static dkim_status arc_setup_validation(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
{
	if (!arc_collect(arc, msg))
		return DKIM_OK;
	if (arc->n == 0) {
		arc_decide(arc, DKIM_ARC_NONE, "no ARC sets");
		return DKIM_OK;
	}
	if (!arc_complete(arc) || !arc_parse_seals(arc, msg))
		return DKIM_OK;
	return arc_parse_signatures(arc, msg, err);
}

dkim_status dkim_arc_eoh(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
{
	dkim_status st = arc_setup_validation(arc, msg, err);

	/* our AMS: relaxed/relaxed over the whole body */
	if (st == DKIM_OK && arc->sealing) {
		arc->seal_bh = dkim_bodyhash_add(dkim_msg_bodyhashes(msg), DKIM_HASH_SHA256,
		                                 DKIM_CANON_RELAXED, DKIM_NO_LIMIT);
		if (arc->seal_bh < 0)
			st = dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	}
	return st;
}

/* ---- validating at the end of the message ----------------------------------------- */

/* The key found for query q, when it suits keytype and hash; else NULL. */
static const dkim_pubkey *arc_key(const dkim_arc *arc, const dkim_msg *msg, int q,
                                  dkim_keytype keytype)
{
	const dkim_key_query *kq;

	if (q < 0)
		return NULL;
	kq = &arc->queries[q];
	if (kq->status != DKIM_LOOKUP_FOUND || kq->key == NULL ||
	    dkim_pubkey_revoked(kq->key) || dkim_pubkey_type(kq->key) != keytype ||
	    !dkim_pubkey_allows_hash(kq->key, DKIM_HASH_SHA256) ||
	    !dkim_pubkey_allows_email(kq->key))
		return NULL;
	/* RFC 8301 §3.2, as for DKIM */
	if (keytype == DKIM_KEY_RSA &&
	    dkim_pubkey_bits(kq->key) < dkim_msg_options(msg)->min_key_bits)
		return NULL;
	return kq->key;
}

/* One AMS, as a DKIM signature (§5.2 step 4): false when it fails. */
static bool arc_ams_valid(dkim_arc *arc, const dkim_msg *msg, unsigned i,
                          dkim_error *err, dkim_status *st)
{
	const dkim_sig *s = &arc->ams[i];
	const dkim_pubkey *key = arc_key(arc, msg, arc->ams_query[i], s->keytype);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	size_t len, name_len, blen, slen;
	const char *text;
	const unsigned char *bh;
	char *stripped;

	*st = DKIM_OK;
	if (key == NULL || arc->ams_bh[i] < 0 ||
	    !arc_time_valid(msg, s->has_timestamp, s->timestamp, s->has_expire, s->expire))
		return false;
	bh = dkim_bodyhash_digest(dkim_msg_bodyhashes(msg), arc->ams_bh[i], &blen);
	if (bh == NULL || blen != s->bh_len || memcmp(bh, s->bh, blen) != 0)
		return false;
	if (s->length != DKIM_NO_LIMIT &&
	    s->length > dkim_bodyhash_total(dkim_msg_bodyhashes(msg),
	                                    arc->ams_bh[i]))
		return false;
	text = dkim_msg_field(msg, (size_t)arc->field[i][ARC_AMS], &len, &name_len);
	stripped = dkim_sig_strip_b(text, len, &slen);
	if (stripped == NULL) {
		*st = dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
		return false;
	}
	*st = dkim_msg_header_digest(msg, (const char *const *)s->headers, s->nheaders,
	                             s->header_canon, stripped, slen, s->hash, digest,
	                             &dlen, err);
	free(stripped);
	return *st == DKIM_OK &&
	       dkim_key_verify_digest(key, s->hash, digest, dlen, s->b, s->b_len,
	                              NULL) == DKIM_OK;
}

/* Adds one ARC field, relaxed (§5.1.1), to the running seal hash. */
static bool arc_hash_field(EVP_MD_CTX *ctx, const dkim_msg *msg, long idx,
                           bool strip, dkim_buf *tmp)
{
	size_t len, name_len, slen;
	const char *text = dkim_msg_field(msg, (size_t)idx, &len, &name_len);
	char *stripped = NULL;
	bool ok;

	if (strip) {
		stripped = dkim_sig_strip_b(text, len, &slen);
		if (stripped == NULL)
			return false;
		text = stripped;
		len = slen;
	}
	dkim_buf_reset(tmp);
	/* the seal being checked is hashed last, without its CRLF */
	ok = dkim_canon_header(DKIM_CANON_RELAXED, text, len, strip, tmp) == DKIM_OK &&
	     EVP_DigestUpdate(ctx, tmp->data, tmp->len) == 1;
	free(stripped);
	return ok;
}

/* Checks AS(i) given ctx holding sets 1..i-1 (then adds set i to ctx). */
static bool arc_seal_valid(dkim_arc *arc, const dkim_msg *msg, EVP_MD_CTX *ctx,
                           unsigned i, dkim_buf *tmp, bool *ok)
{
	const arc_seal *as = &arc->as[i];
	const dkim_pubkey *key = arc_key(arc, msg, arc->as_query[i], as->keytype);
	EVP_MD_CTX *mine = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	bool valid = false;

	*ok = mine != NULL && EVP_MD_CTX_copy_ex(mine, ctx) == 1 &&
	      arc_hash_field(mine, msg, arc->field[i][ARC_AAR], false, tmp) &&
	      arc_hash_field(mine, msg, arc->field[i][ARC_AMS], false, tmp) &&
	      arc_hash_field(mine, msg, arc->field[i][ARC_AS], true, tmp) &&
	      EVP_DigestFinal_ex(mine, digest, &dlen) == 1;
	if (*ok && key != NULL && arc_time_valid(msg, as->has_t, as->t, as->has_x, as->x))
		valid = dkim_key_verify_digest(key, DKIM_HASH_SHA256, digest, dlen, as->b,
		                               as->b_len, NULL) == DKIM_OK;
	EVP_MD_CTX_free(mine);
	/* the whole set, seal with its b=, goes into the next seals' hash */
	*ok = *ok && arc_hash_field(ctx, msg, arc->field[i][ARC_AAR], false, tmp) &&
	      arc_hash_field(ctx, msg, arc->field[i][ARC_AMS], false, tmp) &&
	      arc_hash_field(ctx, msg, arc->field[i][ARC_AS], false, tmp);
	return valid;
}

/* §5.2 step 6: every AS, oldest first (one running hash). */
static dkim_status arc_check_seals(dkim_arc *arc, const dkim_msg *msg, dkim_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	dkim_buf tmp;
	unsigned i;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	dkim_buf_init(&tmp);
	for (i = 1; i <= arc->n && ok && !arc->decided; i++)
		if (!arc_seal_valid(arc, msg, ctx, i, &tmp, &ok) && ok)
			arc_decide(arc, DKIM_ARC_FAIL, "i=%u: ARC-Seal did not verify", i);
	EVP_MD_CTX_free(ctx);
	dkim_buf_free(&tmp);
	return ok ? DKIM_OK : dkim_fail(err, DKIM_ERR_CRYPTO, "ARC-Seal hash failed");
}

static void arc_fetch(dkim_arc *arc)
{
	size_t i;

	if (arc->nqueries == 0)
		return;
	arc->lookup(arc->lookup_ctx, arc->queries, arc->nqueries);
	for (i = 0; i < arc->nqueries; i++)
		if (arc->queries[i].status != DKIM_LOOKUP_FOUND && arc->queries[i].key) {
			dkim_pubkey_unref(arc->queries[i].key);
			arc->queries[i].key = NULL;
		}
}

static dkim_status arc_validate(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
{
	dkim_status st = DKIM_OK;
	unsigned i;

	if (arc->decided)
		return DKIM_OK;
	arc_fetch(arc);
	/* §5.2 step 4: the newest AMS must validate */
	if (!arc_ams_valid(arc, msg, arc->n, err, &st)) {
		if (st == DKIM_OK)
			arc_decide(arc, DKIM_ARC_FAIL, "i=%u: ARC-Message-Signature did not "
			           "verify", arc->n);
		return st;
	}
	/* §5.2 step 5: oldest-pass, the lowest AMS instance still passing */
	arc->oldest_pass = 0;
	for (i = arc->n - 1; i >= 1; i--) {
		if (!arc_ams_valid(arc, msg, i, err, &st)) {
			if (st != DKIM_OK)
				return st;
			arc->oldest_pass = i + 1;
			break;
		}
	}
	st = arc_check_seals(arc, msg, err);
	if (st == DKIM_OK)
		arc_decide(arc, DKIM_ARC_PASS, "%s", "");
	return st;
}

/* ---- sealing (§5.1) --------------------------------------------------------------- */

static char *arc_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

dkim_status dkim_arc_set_sealer(dkim_arc *arc, const dkim_arc_seal_params *p,
                                dkim_error *err)
{
	size_t i;

	if (arc->sealing)
		return dkim_fail(err, DKIM_ERR_STATE, "one ARC set per message");
	if (p->key == NULL || p->domain == NULL || p->selector == NULL ||
	    p->authserv_id == NULL || p->nheaders == 0 || p->alg == DKIM_ALG_RSA_SHA1 ||
	    (p->alg == DKIM_ALG_ED25519_SHA256) !=
	    (dkim_privkey_type(p->key) == DKIM_KEY_ED25519) ||
	    !dkim_domain_valid(p->domain, strlen(p->domain), DKIM_DOMAIN_DNS) ||
	    !dkim_domain_valid(p->selector, strlen(p->selector), DKIM_DOMAIN_DNS))
		return dkim_fail(err, DKIM_ERR_INVALID, "bad ARC sealing parameters");
	arc->sp = *p;
	arc->sp.nheaders = 0;
	arc->s_domain = arc_strdup(p->domain);
	arc->s_selector = arc_strdup(p->selector);
	arc->s_authserv = arc_strdup(p->authserv_id);
	arc->s_headers = calloc(p->nheaders, sizeof(*arc->s_headers));
	if (arc->s_domain == NULL || arc->s_selector == NULL || arc->s_authserv == NULL ||
	    arc->s_headers == NULL)
		return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	for (i = 0; i < p->nheaders; i++) {
		if (!dkim_sig_field_name_valid(p->headers[i], strlen(p->headers[i])))
			return dkim_fail(err, DKIM_ERR_INVALID, "bad header name in ARC h=");
		if ((arc->s_headers[i] = strdup(p->headers[i])) == NULL)
			return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
		arc->sp.nheaders++;
	}
	arc->sp.domain = arc->s_domain;
	arc->sp.selector = arc->s_selector;
	arc->sp.authserv_id = arc->s_authserv;
	arc->sp.headers = (const char *const *)arc->s_headers;
	arc->sealing = true;
	return DKIM_OK;
}

const char *dkim_arc_seal_value(const dkim_arc *arc, dkim_arc_field which)
{
	return (unsigned)which < ARC_KINDS ? arc->out[which] : NULL;
}

/*
 * One tag of an ARC field we write; a cut value may go on over several
 * lines (RFC 6376 §3.5 allows FWS inside b=). Only the seal's b= is cut:
 * verifying a seal drops its own b= value whole, whitespace included, so
 * the cut changes no hash. The AMS's b= stays on one line: relaxed
 * canonicalization keeps a fold inside a value as a space, and the AMS
 * is hashed whole by this seal and every later one, so a cut there would
 * give other seals than every other sealer's (the public ARC signing
 * suite's expected seals, tests/unit/test_arc.c) for the same message.
 */
typedef struct {
	const char *tag;
	const char *value;
	bool cut;
} arc_tag;

#define ARC_FOLD_COLUMN 78      /* RFC 5322 §2.1.1: lines SHOULD be <= 78 */
#define ARC_TAB_WIDTH 8

static dkim_status arc_put_value(dkim_buf *out, size_t *col, const arc_tag *t)
{
	const char *v = t->value;
	size_t len = strlen(v);
	dkim_status st = dkim_buf_printf(out, "%s=", t->tag);

	*col += strlen(t->tag) + 1;
	while (st == DKIM_OK && len > 0) {
		size_t room = *col < ARC_FOLD_COLUMN ? ARC_FOLD_COLUMN - *col : 0;
		size_t n = !t->cut ? len : room < len ? room : len;

		if (n == 0) {
			st = dkim_buf_append_str(out, "\r\n\t");
			*col = ARC_TAB_WIDTH;
			continue;
		}
		st = dkim_buf_append(out, v, n);
		v += n;
		len -= n;
		*col += n;
	}
	return st;
}

/* Appends the tags as "tag=value; ...", starting at column col: a tag
 * that would pass the fold column starts a new line (a cut one only
 * needs room for its name and one character). */
static dkim_status arc_put_tags(dkim_buf *out, size_t col, const arc_tag *tags, size_t n)
{
	dkim_status st = DKIM_OK;

	for (size_t i = 0; i < n && st == DKIM_OK; i++) {
		size_t first = strlen(tags[i].tag) + 1 +
		               (tags[i].cut ? 1 : strlen(tags[i].value));

		if (i > 0) {
			bool fold = col + 2 + first > ARC_FOLD_COLUMN;

			st = dkim_buf_append_str(out, fold ? ";\r\n\t" : "; ");
			col = fold ? ARC_TAB_WIDTH : col + 2;
		}
		if (st == DKIM_OK)
			st = arc_put_value(out, &col, &tags[i]);
	}
	return st;
}

/*
 * §4.1.1 / §5.1: the AAR is "i=N; authserv-id; " and the results of our
 * Authentication-Results fields (those with our authserv-id), merged top
 * first as the ARC signing suite's ar_merged scenarios expect.
 */
static dkim_status arc_make_aar(dkim_arc *arc, const dkim_msg *msg, unsigned inst,
                                dkim_buf *out)
{
	size_t i, nf = dkim_msg_header_count(msg), idlen = strlen(arc->sp.authserv_id);
	dkim_status st = dkim_buf_printf(out, "i=%u; %s", inst, arc->sp.authserv_id);
	bool any = false;

	for (i = 0; i < nf && st == DKIM_OK; i++) {
		size_t len, name_len;
		const char *text = dkim_msg_field(msg, i, &len, &name_len);
		const char *v = text + name_len + 1, *end = text + len, *semi;

		if (!dkim_strcaseeq_n(text, name_len, "Authentication-Results"))
			continue;
		while (v < end && (dkim_is_wsp((unsigned char)*v) || *v == '\r' || *v == '\n'))
			v++;
		semi = memchr(v, ';', (size_t)(end - v));
		if (semi == NULL || (size_t)(semi - v) < idlen ||
		    !dkim_strcaseeq_n(v, idlen, arc->sp.authserv_id))
			continue;
		for (v = v + idlen; v < semi && dkim_is_wsp((unsigned char)*v); v++)
			;
		if (v != semi)   /* "id version;" or another id: not ours */
			continue;
		for (v = semi + 1; v < end && (dkim_is_wsp((unsigned char)*v) ||
		                             *v == '\r' || *v == '\n'); v++)
			;
		while (end > v && (dkim_is_wsp((unsigned char)end[-1]) || end[-1] == '\r' ||
		                   end[-1] == '\n'))
			end--;
		if (end == v)
			continue;
		st = dkim_buf_append_str(out, "; ");
		if (st == DKIM_OK)
			st = dkim_buf_append(out, v, (size_t)(end - v));
		any = true;
	}
	/* RFC 8601 §2.2: "none" when there are no results */
	if (st == DKIM_OK && !any)
		st = dkim_buf_append_str(out, "; none");
	return st;
}

/* The AMS (§4.1.2) with b= given (may be ""). */
static dkim_status arc_format_ams(const dkim_arc *arc, unsigned inst, uint64_t now,
                                  const char *bh, const char *b, dkim_buf *out)
{
	char num[24], when[24], hlist[4096] = "";
	size_t i, hl = 0;

	for (i = 0; i < arc->sp.nheaders; i++) {
		size_t n = strlen(arc->sp.headers[i]);

		if (hl + n + 2 > sizeof(hlist))
			return DKIM_ERR_LIMIT;
		if (i > 0)
			hlist[hl++] = ':';
		memcpy(hlist + hl, arc->sp.headers[i], n + 1);
		hl += n;
	}
	snprintf(num, sizeof(num), "%u", inst);
	snprintf(when, sizeof(when), "%llu", (unsigned long long)now);
	const arc_tag tags[] = {
		{ "a", dkim_alg_name(arc->sp.alg), false }, { "b", b, false },
		{ "bh", bh, false }, { "c", "relaxed/relaxed", false },
		{ "d", arc->sp.domain, false }, { "h", hlist, false },
		{ "i", num, false }, { "s", arc->sp.selector, false },
		{ "t", when, false },
	};
	return arc_put_tags(out, strlen("ARC-Message-Signature: "), tags,
	                    sizeof(tags) / sizeof(tags[0]));
}

/* The AS (§4.1.3) with b= given (may be ""). */
static dkim_status arc_format_as(const dkim_arc *arc, unsigned inst, uint64_t now,
                                 dkim_arc_result cv, const char *b, dkim_buf *out)
{
	char num[24], when[24];

	snprintf(num, sizeof(num), "%u", inst);
	snprintf(when, sizeof(when), "%llu", (unsigned long long)now);
	const arc_tag tags[] = {
		{ "a", dkim_alg_name(arc->sp.alg), false }, { "b", b, true },
		{ "cv", dkim_arc_result_name(cv), false },
		{ "d", arc->sp.domain, false }, { "i", num, false },
		{ "s", arc->sp.selector, false }, { "t", when, false },
	};
	return arc_put_tags(out, strlen("ARC-Seal: "), tags, sizeof(tags) / sizeof(tags[0]));
}

/* Signs a digest; *b64 malloc'd. */
static dkim_status arc_sign(const dkim_arc *arc, const unsigned char *digest,
                            unsigned dlen, char **b64, dkim_error *err)
{
	unsigned char *sig = NULL;
	size_t siglen = 0;
	dkim_status st = dkim_key_sign_digest(arc->sp.key, digest, dlen, &sig, &siglen, err);

	if (st != DKIM_OK)
		return st;
	*b64 = dkim_base64_encode(sig, siglen);
	free(sig);
	return *b64 ? DKIM_OK : dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
}

/* "Name: value" canonicalized relaxed into ctx (no CRLF when last). */
static bool arc_hash_text(EVP_MD_CTX *ctx, const char *name, const char *value,
                          bool last, dkim_buf *tmp)
{
	dkim_buf field;
	bool ok;

	dkim_buf_init(&field);
	dkim_buf_reset(tmp);
	ok = dkim_buf_printf(&field, "%s: %s", name, value) == DKIM_OK &&
	     dkim_canon_header(DKIM_CANON_RELAXED, field.data, field.len, last, tmp) ==
	     DKIM_OK && EVP_DigestUpdate(ctx, tmp->data, tmp->len) == 1;
	dkim_buf_free(&field);
	return ok;
}

/* The AMS: header hash as DKIM's (§5.1.2 via RFC 6376 §3.7). */
static dkim_status arc_seal_ams(dkim_arc *arc, const dkim_msg *msg, unsigned inst,
                                dkim_error *err)
{
	size_t bhlen;
	const unsigned char *bh = dkim_bodyhash_digest(dkim_msg_bodyhashes(msg),
	                                               arc->seal_bh, &bhlen);
	char *bh64 = bh ? dkim_base64_encode(bh, bhlen) : NULL, *b64 = NULL;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	dkim_buf field, value;
	dkim_status st;

	if (bh64 == NULL)
		return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	dkim_buf_init(&field);
	dkim_buf_init(&value);
	st = dkim_buf_append_str(&field, "ARC-Message-Signature: ");
	if (st == DKIM_OK)
		st = arc_format_ams(arc, inst, dkim_msg_now(msg), bh64, "", &value);
	if (st == DKIM_OK)
		st = dkim_buf_append(&field, value.data, value.len);
	if (st == DKIM_OK)
		st = dkim_msg_header_digest(msg, arc->sp.headers, arc->sp.nheaders,
		                            DKIM_CANON_RELAXED, field.data, field.len,
		                            DKIM_HASH_SHA256, digest, &dlen, err);
	else
		st = dkim_fail(err, st, "cannot format the ARC-Message-Signature");
	if (st == DKIM_OK)
		st = arc_sign(arc, digest, dlen, &b64, err);
	dkim_buf_reset(&value);
	if (st == DKIM_OK && arc_format_ams(arc, inst, dkim_msg_now(msg), bh64, b64,
	                                    &value) == DKIM_OK)
		arc->out[ARC_AMS] = strndup(value.data, value.len);
	if (st == DKIM_OK && arc->out[ARC_AMS] == NULL)
		st = dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	dkim_buf_free(&field);
	dkim_buf_free(&value);
	free(bh64);
	free(b64);
	return st;
}

/*
 * The AS (§5.1.1): every existing set in instance order, then ours, the
 * seal last with b= empty. A seal of a failed chain covers only its own
 * set, as dkimpy's does (the earlier sets cannot be trusted to be
 * complete).
 */
static dkim_status arc_seal_as(dkim_arc *arc, const dkim_msg *msg, unsigned inst,
                               dkim_arc_result cv, dkim_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0, i;
	dkim_buf tmp, value;
	char *b64 = NULL;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	dkim_status st = DKIM_OK;

	dkim_buf_init(&tmp);
	dkim_buf_init(&value);
	for (i = 1; i < inst && ok && cv != DKIM_ARC_FAIL; i++)
		ok = arc_hash_field(ctx, msg, arc->field[i][ARC_AAR], false, &tmp) &&
		     arc_hash_field(ctx, msg, arc->field[i][ARC_AMS], false, &tmp) &&
		     arc_hash_field(ctx, msg, arc->field[i][ARC_AS], false, &tmp);
	ok = ok && arc_hash_text(ctx, arc_names[ARC_AAR], arc->out[ARC_AAR], false, &tmp) &&
	     arc_hash_text(ctx, arc_names[ARC_AMS], arc->out[ARC_AMS], false, &tmp) &&
	     arc_format_as(arc, inst, dkim_msg_now(msg), cv, "", &value) == DKIM_OK &&
	     arc_hash_text(ctx, arc_names[ARC_AS], value.data, true, &tmp) &&
	     EVP_DigestFinal_ex(ctx, digest, &dlen) == 1;
	if (!ok)
		st = dkim_fail(err, DKIM_ERR_CRYPTO, "ARC-Seal hash failed");
	if (st == DKIM_OK)
		st = arc_sign(arc, digest, dlen, &b64, err);
	dkim_buf_reset(&value);
	if (st == DKIM_OK && arc_format_as(arc, inst, dkim_msg_now(msg), cv, b64,
	                                   &value) == DKIM_OK)
		arc->out[ARC_AS] = strndup(value.data, value.len);
	if (st == DKIM_OK && arc->out[ARC_AS] == NULL)
		st = dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	EVP_MD_CTX_free(ctx);
	dkim_buf_free(&tmp);
	dkim_buf_free(&value);
	free(b64);
	return st;
}

/* The AAR from the caller's own Authentication-Results value (§5.1:
 * the ADMD's authentication assessment at this hop). */
static dkim_status arc_given_aar(dkim_arc *arc, const dkim_msg *msg, unsigned inst,
                                 dkim_buf *out)
{
	char *value = arc->sp.results(arc->sp.results_arg, msg);
	const char *v = value;
	dkim_status st;

	if (value == NULL)
		return DKIM_ERR_NOMEM;
	while (dkim_is_wsp((unsigned char)*v) || *v == '\r' || *v == '\n')
		v++;
	st = dkim_buf_printf(out, "i=%u; %s", inst, v);
	free(value);
	return st;
}

/*
 * §5.1.1 cv=: this validation's result, or the one the caller reports
 * from an earlier pass. A chain with sets is never sealed cv=none
 * (§4.1.3: none is only for the first set), so a caller's "none" for a
 * message that has sets falls back to this validation.
 */
static dkim_arc_result arc_seal_cv(const dkim_arc *arc)
{
	unsigned i;
	int k;

	if (!arc->sp.cv_given || (arc->n > 0 && arc->sp.cv == DKIM_ARC_NONE))
		return arc->result;
	if (arc->n == 0)
		return DKIM_ARC_NONE;
	/* a seal that is not cv=fail covers every earlier set: all present */
	for (i = 1; i <= arc->n; i++)
		for (k = 0; k < ARC_KINDS; k++)
			if (arc->field[i][k] < 0)
				return DKIM_ARC_FAIL;
	return arc->sp.cv;
}

static dkim_status arc_add_set(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
{
	unsigned inst;
	dkim_buf aar;
	dkim_status st;

	/*
	 * No set past i=50 (§4.2.1), none over a chain whose newest seal
	 * already says cv=fail (the suite's no_additional_sig), none when the
	 * fields could not be numbered at all (duplicates, bad i=).
	 */
	if (arc->unnumbered || arc->n >= DKIM_ARC_MAX_INSTANCE ||
	    (arc->n > 0 && arc->field[arc->n][ARC_AS] >= 0 &&
	     arc->as[arc->n].b != NULL && arc->as[arc->n].cv == DKIM_ARC_FAIL))
		return DKIM_OK;
	inst = arc->n + 1;
	dkim_buf_init(&aar);
	st = arc->sp.results != NULL ? arc_given_aar(arc, msg, inst, &aar)
	                             : arc_make_aar(arc, msg, inst, &aar);
	if (st == DKIM_OK && (arc->out[ARC_AAR] = strndup(aar.data, aar.len)) == NULL)
		st = DKIM_ERR_NOMEM;
	dkim_buf_free(&aar);
	if (st != DKIM_OK)
		return dkim_fail(err, st, "cannot make the ARC-Authentication-Results");
	st = arc_seal_ams(arc, msg, inst, err);
	if (st == DKIM_OK)
		st = arc_seal_as(arc, msg, inst, arc_seal_cv(arc), err);
	return st;
}

dkim_status dkim_arc_eom(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
{
	dkim_status st = arc_validate(arc, msg, err);

	if (st == DKIM_OK && arc->sealing)
		st = arc_add_set(arc, msg, err);
	return st;
}
