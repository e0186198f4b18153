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
	size_t i, nf = dkim_msg_nfields(msg);

	for (i = 0; i < nf; i++) {
		size_t len, name_len;
		const char *text = dkim_msg_field(msg, i, &len, &name_len);
		int kind = arc_kind_of(text, name_len);
		unsigned inst;

		if (kind < 0)
			continue;
		inst = arc_field_instance(kind, text + name_len + 1, len - name_len - 1);
		if (inst == 0) {
			arc_decide(arc, DKIM_ARC_FAIL, "%s with a missing or bad i=",
			           arc_names[kind]);
			return false;
		}
		/* §4.2.1 / §5.2 step 2: one field of each kind per instance */
		if (arc->field[inst][kind] >= 0) {
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
	    !dkim_sig_domain_valid(t->value, t->value_len))
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
	unsigned i;

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
		arc->ams_bh[i] = dkim_bodyhash_add(dkim_msg_bodyhashes(msg), s->hash,
		                                   s->body_canon, s->length);
		if (arc->ams_bh[i] < 0)
			return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
		arc->ams_query[i] = arc_add_query(arc, s->domain, s->selector);
	}
	return DKIM_OK;
}

dkim_status dkim_arc_eoh(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
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
	if (key == NULL || arc->ams_bh[i] < 0)
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
	if (*ok && key != NULL)
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

dkim_status dkim_arc_eom(dkim_arc *arc, dkim_msg *msg, dkim_error *err)
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
