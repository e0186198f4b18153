/*
 * sig.c - DKIM-Signature values (RFC 6376 §3.5): parsing and validating the
 * ones we verify, formatting and folding the ones we produce.
 *
 * Interface (internal.h): dkim_sig_parse fills a dkim_sig from a field
 * value, one small function per tag; dkim_sig_strip_b gives the field with
 * the b= value deleted (§3.7); dkim_sig_format writes our own signatures
 * in a fixed tag order, folded at about 78 columns. Also the validators
 * msg.c applies to signer parameters (domain syntax, i= within d=).
 *
 * Errors: every reason a signature is unusable is DKIM_ERR_SYNTAX with a
 * short message naming the tag ("i= not within d="); allocation failures
 * are DKIM_ERR_NOMEM. Nothing is printed.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAX_DOMAIN 253      /* RFC 1035 §2.3.4, textual form */
#define SIG_MAX_HNAMES 1024     /* h= entries we accept */
#define SIG_FOLD_COLUMN 78      /* RFC 5322 §2.1.1: SHOULD be <= 78 */
#define SIG_TAB_WIDTH 8

/* ---- small helpers ------------------------------------------------------------ */

static bool sig_is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *sig_strndup(const char *s, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy != NULL) {
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

/* A copy without FWS (b=, i=: §3.5 says FWS in them is ignored). */
static char *sig_strdup_nofws(const char *s, size_t len)
{
	char *copy = malloc(len + 1);
	size_t i, n = 0;

	if (copy == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		if (!sig_is_fws((unsigned char)s[i]))
			copy[n++] = s[i];
	copy[n] = '\0';
	return copy;
}

/* Trims FWS at both ends of [*s, *s + *len). */
static void sig_trim(const char **s, size_t *len)
{
	while (*len > 0 && sig_is_fws((unsigned char)(*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && sig_is_fws((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* 1*max_digits DIGIT, without overflowing a uint64_t. */
static bool sig_decimal(const char *s, size_t len, size_t max_digits,
                        uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > max_digits)
		return false;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ---- validators shared with msg.c ---------------------------------------------- */

int dkim_sig_identity_relation(const char *identity, const char *domain)
{
	const char *at = strrchr(identity, '@');
	const char *idom;
	size_t ilen, dlen = strlen(domain);

	if (at == NULL)
		return 0;
	idom = at + 1;
	ilen = strlen(idom);
	if (dkim_strcaseeq_n(idom, ilen, domain))
		return 1;
	/* RFC 6376 §3.5 i=: "the same as, or a subdomain of, the value of d=" */
	if (ilen > dlen && idom[ilen - dlen - 1] == '.' &&
	    dkim_strcaseeq_n(idom + ilen - dlen, dlen, domain))
		return 2;
	return 0;
}

bool dkim_sig_field_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126 */
		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* ---- one function per tag (RFC 6376 §3.5) --------------------------------------- */

typedef dkim_status (*sig_tag_fn)(dkim_sig *sig, const dkim_tag *tag,
                                  dkim_error *err);

static dkim_status parse_v(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	(void)sig;
	/* §3.5 v=: "MUST have the value "1"" */
	if (tag->value_len != 1 || tag->value[0] != '1')
		return dkim_fail(err, DKIM_ERR_SYNTAX, "v= is not 1");
	return DKIM_OK;
}

static dkim_status parse_a(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	if (!dkim_alg_parse(tag->value, tag->value_len, &sig->alg))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "unknown algorithm in a=");
	sig->keytype = sig->alg == DKIM_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519
	                                                   : DKIM_KEY_RSA;
	sig->hash = sig->alg == DKIM_ALG_RSA_SHA1 ? DKIM_HASH_SHA1
	                                          : DKIM_HASH_SHA256;
	sig->algorithm = sig_strndup(tag->value, tag->value_len);
	return sig->algorithm == NULL ? dkim_error_nomem(err) : DKIM_OK;
}

static dkim_status parse_b(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	dkim_error sub;

	if (dkim_base64_decode(tag->value, tag->value_len, &sig->b, &sig->b_len,
	                       &sub) != DKIM_OK)
		return dkim_fail(err, sub.status, "b= %s", sub.message);
	if (sig->b_len == 0)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "b= is empty");
	sig->b_text = sig_strdup_nofws(tag->value, tag->value_len);
	return sig->b_text == NULL ? dkim_error_nomem(err) : DKIM_OK;
}

static dkim_status parse_bh(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	dkim_error sub;

	if (dkim_base64_decode(tag->value, tag->value_len, &sig->bh, &sig->bh_len,
	                       &sub) != DKIM_OK)
		return dkim_fail(err, sub.status, "bh= %s", sub.message);
	if (sig->bh_len == 0)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bh= is empty");
	return DKIM_OK;
}

static bool sig_canon_word(const char *s, size_t len, dkim_canon *canon)
{
	if (dkim_strcaseeq_n(s, len, "simple"))
		*canon = DKIM_CANON_SIMPLE;
	else if (dkim_strcaseeq_n(s, len, "relaxed"))
		*canon = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

static dkim_status parse_c(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	const char *slash = memchr(tag->value, '/', tag->value_len);
	size_t hlen = slash ? (size_t)(slash - tag->value) : tag->value_len;

	if (!sig_canon_word(tag->value, hlen, &sig->header_canon))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad header canonicalization in c=");
	/* §3.5 c=: "If only one algorithm is named, ... "simple" is used" for the body */
	sig->body_canon = DKIM_CANON_SIMPLE;
	if (slash != NULL &&
	    !sig_canon_word(slash + 1, tag->value_len - hlen - 1, &sig->body_canon))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad body canonicalization in c=");
	return DKIM_OK;
}

static dkim_status parse_d(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	/* d= goes into a DNS query and into Authentication-Results: strict. */
	if (!dkim_domain_valid(tag->value, tag->value_len, DKIM_DOMAIN_DNS))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad domain in d=");
	sig->domain = sig_strndup(tag->value, tag->value_len);
	return sig->domain == NULL ? dkim_error_nomem(err) : DKIM_OK;
}

/* Adds one h= entry (FWS around it trimmed). */
static dkim_status sig_add_hname(dkim_sig *sig, const char *s, size_t len,
                                 bool *has_from, dkim_error *err)
{
	sig_trim(&s, &len);
	if (!dkim_sig_field_name_valid(s, len))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad header name in h=");
	if (dkim_strcaseeq_n(s, len, "from"))
		*has_from = true;
	sig->headers[sig->nheaders] = sig_strndup(s, len);
	if (sig->headers[sig->nheaders] == NULL)
		return dkim_error_nomem(err);
	sig->nheaders++;
	return DKIM_OK;
}

static dkim_status parse_h(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	const char *p = tag->value, *end = tag->value + tag->value_len;
	size_t count = 1;
	bool has_from = false;
	dkim_status st;

	for (; p < end; p++)
		count += *p == ':';
	if (count > SIG_MAX_HNAMES)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "h= lists more than %d fields",
		                 SIG_MAX_HNAMES);
	sig->headers = calloc(count, sizeof(*sig->headers));
	if (sig->headers == NULL)
		return dkim_error_nomem(err);
	for (p = tag->value; p <= end;) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *stop = colon ? colon : end;

		st = sig_add_hname(sig, p, (size_t)(stop - p), &has_from, err);
		if (st != DKIM_OK)
			return st;
		p = stop + 1;
	}
	/* §5.4 / §6.1.1: "the From header field MUST be signed" */
	if (!has_from)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "h= does not include From");
	return DKIM_OK;
}

static dkim_status parse_i(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	char *at;

	/* dkim-quoted-printable: FWS is ignored. */
	sig->identity = sig_strdup_nofws(tag->value, tag->value_len);
	if (sig->identity == NULL)
		return dkim_error_nomem(err);
	at = strrchr(sig->identity, '@');
	if (at == NULL || !dkim_domain_valid(at + 1, strlen(at + 1), DKIM_DOMAIN_DNS))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad identity in i=");
	return DKIM_OK;
}

static dkim_status parse_l(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	/* §3.5 l= is 1*76DIGIT; UINT64_MAX itself means "no limit" here. */
	if (!sig_decimal(tag->value, tag->value_len, 76, &sig->length) ||
	    sig->length == DKIM_NO_LIMIT) {
		sig->length = DKIM_NO_LIMIT;
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad or out of range l=");
	}
	return DKIM_OK;
}

static dkim_status parse_q(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	const char *p = tag->value, *end = tag->value + tag->value_len;

	(void)sig;
	/* §3.5 q=: colon-separated methods; "dns/txt" is the only one defined. */
	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *stop = colon ? colon : end;
		const char *m = p;
		size_t mlen = (size_t)(stop - p);

		sig_trim(&m, &mlen);
		if (dkim_strcaseeq_n(m, mlen, "dns/txt"))
			return DKIM_OK;
		p = stop + 1;
	}
	return dkim_fail(err, DKIM_ERR_SYNTAX, "q= does not include dns/txt");
}

static dkim_status parse_s(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	if (!dkim_domain_valid(tag->value, tag->value_len, DKIM_DOMAIN_DNS))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad selector in s=");
	sig->selector = sig_strndup(tag->value, tag->value_len);
	return sig->selector == NULL ? dkim_error_nomem(err) : DKIM_OK;
}

static dkim_status parse_t(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	/* §3.5 t=: 1*12DIGIT */
	if (!sig_decimal(tag->value, tag->value_len, 12, &sig->timestamp))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad timestamp in t=");
	sig->has_timestamp = true;
	return DKIM_OK;
}

static dkim_status parse_x(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	/* §3.5 x=: 1*12DIGIT */
	if (!sig_decimal(tag->value, tag->value_len, 12, &sig->expire))
		return dkim_fail(err, DKIM_ERR_SYNTAX, "bad expiration in x=");
	sig->has_expire = true;
	return DKIM_OK;
}

static dkim_status parse_z(dkim_sig *sig, const dkim_tag *tag, dkim_error *err)
{
	(void)sig;
	(void)tag;
	(void)err;
	/*
	 * Diagnostic only (§3.5 z=): never decoded or copied, so its size
	 * costs nothing but the field's, which the header limits bound
	 * (dkim_options.max_field_bytes). dkimpy and OpenDKIM pass a valid
	 * signature with a 40 KB z=; so does this.
	 */
	return DKIM_OK;
}

/* ---- parsing a whole value ----------------------------------------------------- */

/* d= and s= first, so that results can name them even if a later tag is bad. */
static const struct {
	const char *name;
	sig_tag_fn parse;
	bool required;      /* §6.1.1: v, a, b, bh, d, h, s */
} sig_tags[] = {
	{ "d", parse_d, true },   { "s", parse_s, true },
	{ "a", parse_a, true },   { "v", parse_v, true },
	{ "b", parse_b, true },   { "bh", parse_bh, true },
	{ "c", parse_c, false },  { "h", parse_h, true },
	{ "i", parse_i, false },  { "l", parse_l, false },
	{ "q", parse_q, false },  { "t", parse_t, false },
	{ "x", parse_x, false },  { "z", parse_z, false },
};

#define SIG_NTAGS (sizeof(sig_tags) / sizeof(sig_tags[0]))

/* Checks between tags, once each has parsed on its own. */
static dkim_status sig_check(dkim_sig *sig, dkim_error *err)
{
	/* §3.5 i=: "the same as, or a subdomain of, the value of d=" */
	if (sig->identity != NULL &&
	    dkim_sig_identity_relation(sig->identity, sig->domain) == 0)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "i= not within d=");
	/* §3.5 x=: "MUST be greater than the value of the t= tag" */
	if (sig->has_timestamp && sig->has_expire && sig->expire <= sig->timestamp)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "x= is not after t=");
	/* §3.6.2.1: the query name is s._domainkey.d, and must fit DNS. */
	if (strlen(sig->selector) + strlen("._domainkey.") + strlen(sig->domain) >
	    SIG_MAX_DOMAIN)
		return dkim_fail(err, DKIM_ERR_SYNTAX, "s= and d= too long for DNS");
	if (sig->identity == NULL) {
		/* §3.5 i=: the default is "@" followed by d= */
		size_t dlen = strlen(sig->domain);

		sig->identity = malloc(dlen + 2);
		if (sig->identity == NULL)
			return dkim_error_nomem(err);
		sig->identity[0] = '@';
		memcpy(sig->identity + 1, sig->domain, dlen + 1);
	}
	return DKIM_OK;
}

/*
 * Tag names outside the §3.2 grammar ("x-foo=1"): decision (issue 16).
 * Verification reads them as unrecognized tags and ignores them (§3.2
 * "Unrecognized tags MUST be ignored"), as OpenDKIM 2.11 and dkimpy 1.1.4
 * do: refusing them turned signatures every other verifier passes into
 * permerrors (and 550s), and no tag we act on can hide behind such a name.
 * What we write is held to the strict grammar (dkim_sig_parse_strict, used
 * on our own output by the tests and fuzzers), as §6.1.1 asks of the field.
 * Duplicates, values and required tags are checked strictly in both.
 */
/*
 * RFC 8617 §4.1.2: an ARC-Message-Signature has the DKIM-Signature tags
 * and semantics except that there is no v= and i= is the ARC instance
 * (read by arc.c), not an identity: both are skipped here.
 */
static bool sig_tag_skipped(const char *name, bool ams)
{
	return ams && (strcmp(name, "v") == 0 || strcmp(name, "i") == 0);
}

static dkim_status sig_parse(const char *value, size_t len, bool strict,
                             bool ams, dkim_sig *sig, dkim_error *err)
{
	dkim_tag tags[DKIM_MAX_TAGS];
	size_t ntags, i;
	dkim_status st;

	memset(sig, 0, sizeof(*sig));
	sig->length = DKIM_NO_LIMIT;
	sig->header_canon = sig->body_canon = DKIM_CANON_SIMPLE;
	/* §3.2: duplicate tags are an error; the tag-list parser rejects them. */
	if (strict)
		st = dkim_taglist_parse(value, len, tags, DKIM_MAX_TAGS, &ntags, err);
	else
		st = dkim_taglist_parse_tolerant(value, len, tags, DKIM_MAX_TAGS,
		                                 &ntags, err);
	if (st != DKIM_OK)
		return st;
	for (i = 0; i < SIG_NTAGS; i++) {
		const dkim_tag *tag = dkim_taglist_find(tags, ntags, sig_tags[i].name);

		if (sig_tag_skipped(sig_tags[i].name, ams))
			continue;
		st = tag ? sig_tags[i].parse(sig, tag, err) : DKIM_OK;
		if (st != DKIM_OK)
			return st;
	}
	for (i = 0; i < SIG_NTAGS; i++)
		if (sig_tags[i].required && !sig_tag_skipped(sig_tags[i].name, ams) &&
		    dkim_taglist_find(tags, ntags, sig_tags[i].name) == NULL)
			return dkim_fail(err, DKIM_ERR_SYNTAX, "missing required tag %s=",
			                 sig_tags[i].name);
	/* §3.2: unrecognized tags are ignored. */
	return sig_check(sig, err);
}

dkim_status dkim_sig_parse(const char *value, size_t len, dkim_sig *sig,
                           dkim_error *err)
{
	return sig_parse(value, len, false, false, sig, err);
}

dkim_status dkim_sig_parse_ams(const char *value, size_t len, dkim_sig *sig,
                               dkim_error *err)
{
	return sig_parse(value, len, false, true, sig, err);
}

dkim_status dkim_sig_parse_strict(const char *value, size_t len, dkim_sig *sig,
                                  dkim_error *err)
{
	return sig_parse(value, len, true, false, sig, err);
}

void dkim_sig_free(dkim_sig *sig)
{
	size_t i;

	if (sig == NULL)
		return;
	free(sig->domain);
	free(sig->selector);
	free(sig->identity);
	free(sig->algorithm);
	for (i = 0; i < sig->nheaders; i++)
		free(sig->headers[i]);
	free(sig->headers);
	free(sig->bh);
	free(sig->b);
	free(sig->b_text);
	memset(sig, 0, sizeof(*sig));
}

/* ---- deleting the b= value (§3.7) ---------------------------------------------- */

/*
 * Scans one tag-spec starting at *pos: returns true when its name is "b",
 * leaving *pos after the "=" (or wherever the tag-spec ended, if it is
 * malformed). Name and FWS around it are kept by the caller.
 */
static bool sig_tag_is_b(const char *v, size_t len, size_t *pos)
{
	size_t i = *pos, name_start, name_end;

	while (i < len && sig_is_fws((unsigned char)v[i]))
		i++;
	name_start = i;
	while (i < len && v[i] != '=' && v[i] != ';' && !sig_is_fws((unsigned char)v[i]))
		i++;
	name_end = i;
	while (i < len && sig_is_fws((unsigned char)v[i]))
		i++;
	if (i >= len || v[i] != '=') {
		*pos = i;
		return false;
	}
	*pos = i + 1;
	return name_end - name_start == 1 && v[name_start] == 'b';
}

char *dkim_sig_strip_b(const char *field, size_t len, size_t *outlen)
{
	const char *colon = memchr(field, ':', len);
	char *out = malloc(len + 1);
	size_t i, n, start;

	if (out == NULL)
		return NULL;
	start = colon ? (size_t)(colon - field) + 1 : len;
	memcpy(out, field, start);
	n = start;
	for (i = start; i < len;) {
		size_t tag_start = i;
		bool is_b = sig_tag_is_b(field, len, &i);
		size_t value_start = i;

		memcpy(out + n, field + tag_start, i - tag_start);
		n += i - tag_start;
		while (i < len && field[i] != ';')
			i++;
		/*
		 * §3.7: "the value of the b= tag (including all surrounding
		 * whitespace) deleted (i.e., treated as the empty string)".
		 */
		if (!is_b) {
			memcpy(out + n, field + value_start, i - value_start);
			n += i - value_start;
		}
		if (i < len)
			out[n++] = field[i++];      /* the ';' */
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* ---- formatting our signatures --------------------------------------------------- */

typedef struct {
	dkim_buf *out;
	size_t col;
	dkim_status st;
} sig_folder;

static void fold_put(sig_folder *f, const char *s, size_t len)
{
	if (f->st == DKIM_OK)
		f->st = dkim_buf_append(f->out, s, len);
	f->col += len;
}

static void fold_break(sig_folder *f)
{
	if (f->st == DKIM_OK)
		f->st = dkim_buf_append(f->out, "\r\n\t", 3);
	f->col = SIG_TAB_WIDTH;
}

/* Appends "name=value;" as one word. */
static void fold_tag(sig_folder *f, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);

	if (f->col + 1 + nlen + vlen + 1 > SIG_FOLD_COLUMN)
		fold_break(f);
	else
		fold_put(f, " ", 1);
	fold_put(f, name, nlen);
	fold_put(f, value, vlen);
	fold_put(f, ";", 1);
}

static void fold_number(sig_folder *f, const char *name, uint64_t value)
{
	char digits[24];        /* 20 digits of UINT64_MAX and a NUL */

	snprintf(digits, sizeof(digits), "%" PRIu64, value);
	fold_tag(f, name, digits);
}

/* h=: names joined by ':', folded between names (FWS is allowed there). */
static void fold_headers(sig_folder *f, const dkim_sig_fields *fl)
{
	size_t i;
	size_t first = fl->nheaders > 0 ? strlen(fl->headers[0]) : 0;

	/* " h=" and the first name (with its ':' or ';') on one line. */
	if (f->col + 1 + 2 + first + 1 > SIG_FOLD_COLUMN)
		fold_break(f);
	else
		fold_put(f, " ", 1);
	fold_put(f, "h=", 2);
	for (i = 0; i < fl->nheaders; i++) {
		size_t len = strlen(fl->headers[i]);

		if (i > 0 && f->col + len + 1 > SIG_FOLD_COLUMN)
			fold_break(f);
		fold_put(f, fl->headers[i], len);
		fold_put(f, i + 1 < fl->nheaders ? ":" : ";", 1);
	}
}

/*
 * b= last, its value cut to fill lines. Whether "b=" starts a new line
 * does not depend on the value, so the text up to "b=" is the same with
 * b="" (what was hashed) and with the signature (what is inserted).
 */
static void fold_b(sig_folder *f, const char *b)
{
	size_t len = strlen(b);

	/* Room for " b=" and one character, or a new line. */
	if (f->col + 1 + 2 + 1 > SIG_FOLD_COLUMN)
		fold_break(f);
	else
		fold_put(f, " ", 1);
	fold_put(f, "b=", 2);
	while (len > 0) {
		size_t room = f->col < SIG_FOLD_COLUMN ? SIG_FOLD_COLUMN - f->col : 0;
		size_t n = len < room ? len : room;

		if (n == 0) {
			fold_break(f);
			continue;
		}
		fold_put(f, b, n);
		b += n;
		len -= n;
	}
}

dkim_status dkim_sig_format(const dkim_sig_fields *fl, dkim_buf *out)
{
	/* The value follows "DKIM-Signature: " on the first line. */
	sig_folder f = { out, strlen("DKIM-Signature: "), DKIM_OK };
	char canon[32];

	snprintf(canon, sizeof(canon), "%s/%s", dkim_canon_name(fl->header_canon),
	         dkim_canon_name(fl->body_canon));
	fold_put(&f, "v=1;", 4);
	fold_tag(&f, "a=", dkim_alg_name(fl->alg));
	fold_tag(&f, "c=", canon);
	fold_tag(&f, "d=", fl->domain);
	fold_tag(&f, "s=", fl->selector);
	if (fl->has_timestamp)
		fold_number(&f, "t=", fl->timestamp);
	if (fl->has_expire)
		fold_number(&f, "x=", fl->expire);
	if (fl->has_length)
		fold_number(&f, "l=", fl->length);
	if (fl->identity != NULL)
		fold_tag(&f, "i=", fl->identity);
	fold_headers(&f, fl);
	fold_tag(&f, "bh=", fl->bh);
	fold_b(&f, fl->b);
	return f.st;
}
