/*
 * internal.h - interfaces between libdkim's modules. Not installed.
 *
 * Modules and their jobs:
 *   util.c      errors, growable buffers, base64 (OpenSSL's EVP coder)
 *   taglist.c   RFC 6376 §3.2 tag=value lists
 *   canon.c     header canonicalization (§3.4.1, §3.4.2) and the streaming
 *               body canonicalizer (§3.4.3, §3.4.4)
 *   bodyhash.c  the set of body-hash contexts of one message, one per
 *               distinct (hash, body canonicalization, l=)
 *   header.c    splitting a stored message into fields; address parsing
 *   key.c       private keys, key records, sign/verify of a header digest
 *   sig.c       parsing and validating DKIM-Signature values; formatting
 *               and folding the ones we produce
 *   msg.c       the message context: header collection, signing,
 *               verification, results
 *   arc.c       ARC (RFC 8617) sets: parsing and chain validation
 */
#ifndef DKIM_INTERNAL_H
#define DKIM_INTERNAL_H

#include "dkim.h"

#include <stdarg.h>

/* ---- util.c --------------------------------------------------------------- */

/* Sets err (if not NULL) and returns status. printf-style message. */
dkim_status dkim_fail(dkim_error *err, dkim_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A growable byte buffer; always NUL-terminated after len (not counted). */
typedef struct {
	char *data;
	size_t len;
	size_t cap;
} dkim_buf;

void dkim_buf_init(dkim_buf *buf);
void dkim_buf_free(dkim_buf *buf);
void dkim_buf_reset(dkim_buf *buf);                /* len = 0, keeps memory */
/* Room for extra more bytes (and the NUL) at data + len, for callers that
 * write in place; they set len and the NUL themselves. */
dkim_status dkim_buf_reserve(dkim_buf *buf, size_t extra);
dkim_status dkim_buf_append(dkim_buf *buf, const void *data, size_t len);
dkim_status dkim_buf_append_str(dkim_buf *buf, const char *s);
dkim_status dkim_buf_printf(dkim_buf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Decodes base64, skipping whitespace (FWS in tag values). Rejects any
 * other non-alphabet byte and bad padding. *out is malloc'd.
 */
dkim_status dkim_base64_decode(const char *in, size_t len, unsigned char **out,
                               size_t *outlen, dkim_error *err);
/* Encodes to base64 without line breaks; malloc'd, NUL-terminated. */
char *dkim_base64_encode(const unsigned char *in, size_t len);

/* ASCII helpers (locale independent). */
bool dkim_is_wsp(int c);                           /* SP or HTAB */
int dkim_lower(int c);
bool dkim_strcaseeq_n(const char *a, size_t alen, const char *b);

/* ---- taglist.c ------------------------------------------------------------ */

typedef struct {
	const char *name;           /* points into the parsed text */
	size_t name_len;
	const char *value;          /* FWS at both ends trimmed, inner FWS kept */
	size_t value_len;
} dkim_tag;

#define DKIM_MAX_TAGS 64

/*
 * Parses a tag-list (RFC 6376 §3.2): tag-spec *( ";" tag-spec ) [ ";" ],
 * tag names ALPHA *(ALNUM / "_"), values of VALCHAR and FWS. A duplicate
 * tag name is a syntax error (§3.2: "Tags with duplicate names MUST NOT
 * occur"). More than max_tags tags is DKIM_ERR_LIMIT.
 */
dkim_status dkim_taglist_parse(const char *text, size_t len, dkim_tag *tags,
                               size_t max_tags, size_t *ntags, dkim_error *err);
/*
 * The same for key records, but a tag whose name is not a §3.2 tag-name
 * ("x-foo", "1x": a letter or digit, then visible ASCII but ";" and "=")
 * is kept as an unrecognized tag instead of failing the list; no known tag
 * has such a name, so callers ignore it (§3.2: unrecognized tags MUST be
 * ignored). Duplicates, values and the rest are checked as strictly.
 */
dkim_status dkim_taglist_parse_tolerant(const char *text, size_t len,
                                        dkim_tag *tags, size_t max_tags,
                                        size_t *ntags, dkim_error *err);
/* The tag with this name (case-sensitive, §3.2), or NULL. */
const dkim_tag *dkim_taglist_find(const dkim_tag *tags, size_t ntags,
                                  const char *name);

/* ---- canon.c -------------------------------------------------------------- */

/*
 * Appends the canonical form of one header field to out, followed by CRLF
 * unless no_crlf (the DKIM-Signature field itself is hashed without its
 * final CRLF, §3.7). field is "Name:value" with folding as "\r\n" or "\n";
 * bare LF is treated as CRLF.
 */
dkim_status dkim_canon_header(dkim_canon canon, const char *field, size_t len,
                              bool no_crlf, dkim_buf *out);

/* Receives canonical body bytes. */
typedef void (*dkim_canon_sink)(void *ctx, const unsigned char *data, size_t len);

/*
 * Streaming body canonicalizer. Input split anywhere gives the same output.
 * Trailing empty lines (and, relaxed, whitespace runs) are counted, not
 * stored, so memory is constant. Bare LF becomes CRLF.
 */
#define DKIM_BODYCANON_STAGE 4096

typedef struct {
	dkim_canon canon;
	bool last_cr;               /* input ended in a CR whose LF may follow */
	bool line_has_data;         /* current line has content (not only WSP) */
	bool pending_wsp;           /* relaxed: a whitespace run held back */
	uint64_t pending_crlf;      /* empty lines held back */
	uint64_t length;            /* canonical bytes emitted so far */
	/* Short pieces are gathered here so the sink sees long spans. */
	size_t stage_len;
	unsigned char stage[DKIM_BODYCANON_STAGE];
} dkim_bodycanon;

void dkim_bodycanon_init(dkim_bodycanon *bc, dkim_canon canon);
void dkim_bodycanon_update(dkim_bodycanon *bc, const unsigned char *data,
                           size_t len, dkim_canon_sink sink, void *ctx);
/* Flushes per §3.4.3/§3.4.4 (an empty body is CRLF under simple). */
void dkim_bodycanon_final(dkim_bodycanon *bc, dkim_canon_sink sink, void *ctx);

/* ---- bodyhash.c ----------------------------------------------------------- */

#define DKIM_NO_LIMIT UINT64_MAX

typedef struct dkim_bodyhash_set dkim_bodyhash_set;

dkim_bodyhash_set *dkim_bodyhash_set_new(void);
void dkim_bodyhash_set_free(dkim_bodyhash_set *set);
/*
 * Returns the index of the context for (hash, canon, limit), adding it if
 * new; -1 on allocation failure. limit is l= or DKIM_NO_LIMIT.
 */
int dkim_bodyhash_add(dkim_bodyhash_set *set, dkim_hash hash, dkim_canon canon,
                      uint64_t limit);
/* The index of the context for (hash, canon, limit), -1 when there is none. */
int dkim_bodyhash_find(const dkim_bodyhash_set *set, dkim_hash hash,
                       dkim_canon canon, uint64_t limit);
dkim_status dkim_bodyhash_update(dkim_bodyhash_set *set, const void *data,
                                 size_t len, dkim_error *err);
dkim_status dkim_bodyhash_final(dkim_bodyhash_set *set, dkim_error *err);
/* After final: the digest (32 bytes for SHA-256, 20 for SHA-1). */
const unsigned char *dkim_bodyhash_digest(const dkim_bodyhash_set *set, int idx,
                                          size_t *len);
/*
 * After final: canonical body length hashed, and the whole canonical
 * length (to tell l= larger than the body).
 */
uint64_t dkim_bodyhash_hashed(const dkim_bodyhash_set *set, int idx);
uint64_t dkim_bodyhash_total(const dkim_bodyhash_set *set, int idx);

/* ---- header.c ------------------------------------------------------------- */

/*
 * Push parser that splits a stored message into header fields and body.
 * on_field gets each whole field (no final line break), on_eoh once,
 * on_body each piece of body.
 */
typedef struct {
	dkim_status (*on_field)(void *ctx, const char *field, size_t len,
	                        dkim_error *err);
	dkim_status (*on_eoh)(void *ctx, dkim_error *err);
	dkim_status (*on_body)(void *ctx, const void *data, size_t len,
	                       dkim_error *err);
	void *ctx;
	size_t max_field_bytes;
	/* state */
	dkim_buf field;
	int state;
} dkim_splitter;

void dkim_splitter_init(dkim_splitter *sp, size_t max_field_bytes);
void dkim_splitter_free(dkim_splitter *sp);
dkim_status dkim_splitter_feed(dkim_splitter *sp, const void *data, size_t len,
                               dkim_error *err);
/* End of input: a message with no body still ends its header block. */
dkim_status dkim_splitter_finish(dkim_splitter *sp, dkim_error *err);

/* Length of the field name (up to the colon, WSP before it trimmed), 0 if none. */
size_t dkim_field_name_len(const char *field, size_t len);

/* ---- key.c ---------------------------------------------------------------- */

/*
 * Signs a header digest. RSA: PKCS#1 v1.5 over the SHA-256 digest. Ed25519
 * (RFC 8463 §3): the PureEdDSA signature of the 32-byte SHA-256 digest.
 * *sig is malloc'd.
 */
dkim_status dkim_key_sign_digest(const dkim_privkey *key, const unsigned char *digest,
                                 size_t dlen, unsigned char **sig, size_t *siglen,
                                 dkim_error *err);
/*
 * Verifies sig over a header digest computed with hash. Returns DKIM_OK when
 * it verifies, DKIM_ERR_CRYPTO with a message when it does not.
 */
dkim_status dkim_key_verify_digest(const dkim_pubkey *key, dkim_hash hash,
                                   const unsigned char *digest, size_t dlen,
                                   const unsigned char *sig, size_t siglen,
                                   dkim_error *err);

/* ---- sig.c ---------------------------------------------------------------- */

/* A parsed, validated DKIM-Signature (RFC 6376 §3.5). Strings are malloc'd. */
typedef struct {
	dkim_alg alg;
	dkim_keytype keytype;
	dkim_hash hash;
	dkim_canon header_canon, body_canon;
	char *domain;               /* d=, as written */
	char *selector;             /* s= */
	char *identity;             /* i= or "@" d= */
	char *algorithm;            /* a= as written */
	char **headers;             /* h= names */
	size_t nheaders;
	unsigned char *bh;          /* bh= decoded */
	size_t bh_len;
	unsigned char *b;           /* b= decoded */
	size_t b_len;
	char *b_text;               /* b= without whitespace */
	uint64_t length;            /* l= or DKIM_NO_LIMIT */
	bool has_timestamp, has_expire;
	uint64_t timestamp, expire; /* t=, x= */
} dkim_sig;

/*
 * Parses the value of a DKIM-Signature field and checks it per §3.5 and
 * §6.1.1: v=1, required tags, i= within d=, h= includes From, x= >= t=,
 * supported q=. Expiry against the clock is not checked here (msg.c does).
 * On failure err says why; sig is left freeable. Tag names outside the
 * §3.2 grammar are ignored as unrecognized tags (for verification);
 * dkim_sig_parse_strict refuses them (for checking our own output).
 */
dkim_status dkim_sig_parse(const char *value, size_t len, dkim_sig *sig,
                           dkim_error *err);
dkim_status dkim_sig_parse_strict(const char *value, size_t len, dkim_sig *sig,
                                  dkim_error *err);
/*
 * The same for an ARC-Message-Signature value (RFC 8617 §4.1.2): no v=,
 * and i= (the instance) is left to the caller; identity is "@" d=.
 */
dkim_status dkim_sig_parse_ams(const char *value, size_t len, dkim_sig *sig,
                               dkim_error *err);
void dkim_sig_free(dkim_sig *sig);

/*
 * Returns a copy of the field "DKIM-Signature:value" with the b= tag's
 * value removed (§3.7: "with the value of the b= tag ... deleted"),
 * everything else byte for byte. malloc'd.
 */
char *dkim_sig_strip_b(const char *field, size_t len, size_t *outlen);

/*
 * Formats a DKIM-Signature value from its tag values, folded at about 78
 * columns with "\r\n\t" between lines. b64sig may be "" (for hashing).
 * Appends to out.
 */
typedef struct {
	dkim_alg alg;
	dkim_canon header_canon, body_canon;
	const char *domain, *selector, *identity;
	const char *const *headers;
	size_t nheaders;
	bool has_timestamp, has_expire, has_length;
	uint64_t timestamp, expire, length;
	const char *bh;             /* base64 */
	const char *b;              /* base64, may be "" */
} dkim_sig_fields;

dkim_status dkim_sig_format(const dkim_sig_fields *f, dkim_buf *out);

/*
 * Where the domain of identity ("local@domain") stands to domain: 0 not
 * within it, 1 the same domain, 2 a subdomain (case-insensitive).
 */
int dkim_sig_identity_relation(const char *identity, const char *domain);
/* A header field name (RFC 5322 ftext: printable ASCII except ':'). */
bool dkim_sig_field_name_valid(const char *name, size_t len);

/* ---- msg.c ---------------------------------------------------------------- */

/*
 * The header hash of §3.7 over the message's fields (after dkim_msg_eoh):
 * for each of names, the next instance from the bottom (§5.4.2), then
 * sigfield ("DKIM-Signature:..." with b= empty) without its final CRLF.
 * What signing and verifying use; exposed for tests. digest must hold
 * 64 bytes (EVP_MAX_MD_SIZE).
 */
dkim_status dkim_msg_header_digest(const dkim_msg *msg, const char *const *names,
                                   size_t n, dkim_canon canon, const char *sigfield,
                                   size_t siglen, dkim_hash hash,
                                   unsigned char *digest, unsigned *dlen,
                                   dkim_error *err);

/* Field i whole for arc.c ("Name:value", CRLF folding; i below
 * dkim_msg_header_count). */
const char *dkim_msg_field(const dkim_msg *msg, size_t i, size_t *len,
                           size_t *name_len);
dkim_bodyhash_set *dkim_msg_bodyhashes(const dkim_msg *msg);
const dkim_options *dkim_msg_options(const dkim_msg *msg);
uint64_t dkim_msg_now(const dkim_msg *msg);

/* ---- arc.c ---------------------------------------------------------------- */

typedef struct dkim_arc dkim_arc;

dkim_arc *dkim_arc_new(dkim_lookup_fn lookup, void *ctx);
void dkim_arc_free(dkim_arc *arc);
/* At the end of the header: find and parse the ARC sets, add body hashes. */
dkim_status dkim_arc_eoh(dkim_arc *arc, dkim_msg *msg, dkim_error *err);
/* After the body hashes are final: look up keys, validate (§5.2). */
dkim_status dkim_arc_eom(dkim_arc *arc, dkim_msg *msg, dkim_error *err);
/* Sealing parameters (copied); the fields of the new set after eom. */
dkim_status dkim_arc_set_sealer(dkim_arc *arc, const dkim_arc_seal_params *p,
                                dkim_error *err);
const char *dkim_arc_seal_value(const dkim_arc *arc, dkim_arc_field which);
dkim_arc_result dkim_arc_get(const dkim_arc *arc, unsigned *oldest_pass,
                             const char **reason);

#endif /* DKIM_INTERNAL_H */
