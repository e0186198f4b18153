/*
 * dkim.h - public interface of libdkim, a streaming DKIM engine.
 *
 * libdkim signs and verifies mail as RFC 6376 (DKIM), RFC 8301 (algorithm
 * updates) and RFC 8463 (ed25519-sha256) define it. The engine does no I/O:
 * the caller feeds header fields one at a time, then the body in chunks of
 * any size, then asks for signatures or verification results. Public keys
 * come from a lookup interface the caller supplies (see dkim_resolver.h for
 * the c-ares one), so the engine is testable without a network.
 *
 * Memory is bounded by the header block: the body is hashed as it streams
 * and never stored.
 *
 * Errors: every function that can fail returns a dkim_status and, when the
 * caller passes a dkim_error, a human-readable message in it. Nothing here
 * prints or logs.
 *
 * Threads: objects are not shared between threads, except dkim_privkey and
 * dkim_pubkey, which are immutable after creation and safe to share
 * (dkim_pubkey is reference counted).
 */
#ifndef DKIM_H
#define DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

typedef enum {
	DKIM_OK = 0,
	DKIM_ERR_NOMEM,     /* out of memory */
	DKIM_ERR_SYNTAX,    /* input does not parse */
	DKIM_ERR_LIMIT,     /* input exceeds a configured limit */
	DKIM_ERR_KEY,       /* a key is unusable (wrong type, too small, ...) */
	DKIM_ERR_CRYPTO,    /* OpenSSL reported a failure */
	DKIM_ERR_STATE,     /* call made at the wrong point of the message */
	DKIM_ERR_INVALID,   /* bad argument from the caller */
	DKIM_ERR_IO         /* a file could not be read */
} dkim_status;

#define DKIM_ERROR_MAX 256

typedef struct {
	dkim_status status;
	char message[DKIM_ERROR_MAX];
} dkim_error;

/* A static name for a status ("syntax error", ...). */
const char *dkim_status_name(dkim_status status);

/* Fills err (may be NULL) with DKIM_ERR_NOMEM, "out of memory", and
 * returns DKIM_ERR_NOMEM: the one way a failed allocation is reported,
 * in the library and by its callers. */
dkim_status dkim_error_nomem(dkim_error *err);

/* ---- domain names ------------------------------------------------------ */

/*
 * The forms of a domain name (or selector) callers accept. Every form
 * takes ASCII letters, digits, '-' and '_' between dots, and refuses an
 * empty name and a leading dot.
 *   DNS:     what is signed and queried (d=, s=, key names): labels of 1
 *            to 63 bytes, at most 253 bytes, no empty label, no final dot
 *            (RFC 1035 §2.3.4, RFC 6376 §3.5).
 *   TEXT:    safe to copy into a header field or a file path (A-R
 *            header.d, a sender domain): at most 255 bytes, no "..", a
 *            final dot allowed, labels not counted.
 *   ENTRY:   a configuration table entry: as TEXT, ".." allowed.
 *   PATTERN: a refile: table entry: as ENTRY, '*' allowed.
 */
typedef enum {
	DKIM_DOMAIN_DNS = 0,
	DKIM_DOMAIN_TEXT,
	DKIM_DOMAIN_ENTRY,
	DKIM_DOMAIN_PATTERN
} dkim_domain_form;

/* True when name[0..len) is a domain name of that form. */
bool dkim_domain_valid(const char *name, size_t len, dkim_domain_form form);

/* ---- algorithms -------------------------------------------------------- */

typedef enum {
	DKIM_CANON_SIMPLE = 0,
	DKIM_CANON_RELAXED = 1
} dkim_canon;

typedef enum {
	DKIM_KEY_RSA = 0,
	DKIM_KEY_ED25519 = 1
} dkim_keytype;

typedef enum {
	DKIM_HASH_SHA256 = 0,
	DKIM_HASH_SHA1 = 1      /* parsed and reported, never accepted (RFC 8301) */
} dkim_hash;

typedef enum {
	DKIM_ALG_RSA_SHA256 = 0,
	DKIM_ALG_ED25519_SHA256 = 1,
	DKIM_ALG_RSA_SHA1 = 2   /* verification only: reported as policy */
} dkim_alg;

/* "rsa-sha256", "ed25519-sha256", "rsa-sha1". */
const char *dkim_alg_name(dkim_alg alg);
/* Parses an a= value; false when unknown. */
bool dkim_alg_parse(const char *text, size_t len, dkim_alg *alg);
/* "simple" / "relaxed". */
const char *dkim_canon_name(dkim_canon canon);

/* ---- private keys (signing) -------------------------------------------- */

typedef struct dkim_privkey dkim_privkey;

/*
 * Loads a private key from memory. Accepted forms: PEM (PKCS#1 RSA, PKCS#8
 * RSA or Ed25519), and base64 of DER (as OpenDKIM KeyTables may hold inline)
 * or of a raw 32-byte Ed25519 seed. RSA keys below 1024 bits are refused.
 */
dkim_privkey *dkim_privkey_load(const void *data, size_t len, dkim_error *err);
/* Loads a private key from a file (same forms). The error names the file. */
dkim_privkey *dkim_privkey_load_file(const char *path, dkim_error *err);
dkim_keytype dkim_privkey_type(const dkim_privkey *key);
unsigned dkim_privkey_bits(const dkim_privkey *key);
/*
 * A second handle on the same parsed key (no parsing, no copy of the key
 * material); each handle is freed with dkim_privkey_free. NULL on error.
 */
dkim_privkey *dkim_privkey_dup(const dkim_privkey *key, dkim_error *err);
void dkim_privkey_free(dkim_privkey *key);

/* ---- public keys (key records, RFC 6376 §3.6.1) ------------------------- */

typedef struct dkim_pubkey dkim_pubkey;

#define DKIM_KEYFLAG_TESTING 0x1   /* t=y */
#define DKIM_KEYFLAG_STRICT  0x2   /* t=s: i= must not be a subdomain of d= */

/*
 * Parses a key record (the TXT strings already concatenated). A record with
 * an empty p= parses into a revoked key (dkim_pubkey_revoked is true), so
 * that a cache can remember it. Unknown tags are ignored, also those named
 * outside the RFC 6376 §3.2 grammar ("x-foo"), as OpenDKIM does. Keys over
 * 8192 bits, Ed25519 keys that are not 32 bytes and unknown k= are syntax
 * errors with a reason.
 * The result has one reference.
 */
dkim_pubkey *dkim_pubkey_parse(const char *record, size_t len, dkim_error *err);
dkim_pubkey *dkim_pubkey_ref(dkim_pubkey *key);
void dkim_pubkey_unref(dkim_pubkey *key);
bool dkim_pubkey_revoked(const dkim_pubkey *key);
dkim_keytype dkim_pubkey_type(const dkim_pubkey *key);
unsigned dkim_pubkey_bits(const dkim_pubkey *key);
unsigned dkim_pubkey_flags(const dkim_pubkey *key);
/* h= allows this hash (true when h= is absent). */
bool dkim_pubkey_allows_hash(const dkim_pubkey *key, dkim_hash hash);
/* s= allows email (true when s= is absent, "*" or lists "email"). */
bool dkim_pubkey_allows_email(const dkim_pubkey *key);
/*
 * True when this public key is the public half of priv (used by testkey).
 */
bool dkim_pubkey_matches(const dkim_pubkey *key, const dkim_privkey *priv);

/* ---- key lookup interface ---------------------------------------------- */

typedef enum {
	DKIM_LOOKUP_FOUND = 0,      /* key holds the parsed record */
	DKIM_LOOKUP_NOTFOUND,       /* NXDOMAIN / no TXT record: permerror */
	DKIM_LOOKUP_TEMPFAIL,       /* SERVFAIL, timeout, ...: temperror */
	DKIM_LOOKUP_PERMFAIL        /* unusable record(s): permerror */
} dkim_lookup_status;

typedef struct {
	/* in */
	const char *domain;         /* d= */
	const char *selector;       /* s= */
	/* out, filled by the lookup function */
	dkim_lookup_status status;
	dkim_pubkey *key;           /* one reference, owned by the engine after */
	char reason[128];           /* why, when not found */
} dkim_key_query;

/*
 * Looks up every query of a message (all at once, so that an implementation
 * can run them concurrently). Sets status, key and reason of each. Returns
 * nothing: every outcome is per query.
 */
typedef void (*dkim_lookup_fn)(void *ctx, dkim_key_query *queries, size_t n);

/* ---- options and limits -------------------------------------------------- */

typedef struct {
	size_t max_header_bytes;    /* whole header block; default 65536 */
	size_t max_field_bytes;     /* one header field; default 16384 */
	size_t max_fields;          /* header fields; default 1000 */
	size_t max_signatures;      /* DKIM-Signatures evaluated; default 5 */
	unsigned min_key_bits;      /* RSA keys below: policy; default 1024 */
	time_t now;                 /* 0: time(NULL) at dkim_msg_new */
	unsigned clock_drift;       /* seconds of tolerance for t= / x=; default 300 */
} dkim_options;

/* Fills in the defaults above. */
void dkim_options_init(dkim_options *opts);

/* ---- messages ------------------------------------------------------------ */

typedef struct dkim_msg dkim_msg;

/* A message context; opts may be NULL for the defaults (copied). */
dkim_msg *dkim_msg_new(const dkim_options *opts, dkim_error *err);
void dkim_msg_free(dkim_msg *msg);

typedef struct {
	const dkim_privkey *key;     /* must outlive the message */
	dkim_alg alg;                /* must suit the key */
	const char *domain;          /* d= */
	const char *selector;        /* s= */
	const char *identity;        /* i=, or NULL */
	dkim_canon header_canon;
	dkim_canon body_canon;
	/*
	 * h=: header names in order. A name listed more often than it occurs is
	 * oversigned (each extra instance hashes as an absent field), which
	 * stops headers of that name being added later. Must include From.
	 */
	const char *const *headers;
	size_t nheaders;
	bool timestamp;              /* add t= (the message's "now") */
	unsigned long expire_after;  /* add x= = t + this; 0: none */
	bool body_length;            /* add l= with the body length hashed */
} dkim_sign_params;

/*
 * Adds a signature to produce. Call before dkim_msg_eoh. Several signers on
 * one message share the body hash when their body canonicalization matches.
 * Returns the signer's index (>= 0) or -1 with err set.
 */
int dkim_msg_add_signer(dkim_msg *msg, const dkim_sign_params *params,
                        dkim_error *err);

/*
 * Asks for verification of the message's DKIM-Signature fields. Call
 * before dkim_msg_eoh. lookup is called once, with every distinct
 * (domain, selector), from dkim_msg_eom.
 */
dkim_status dkim_msg_verify(dkim_msg *msg, dkim_lookup_fn lookup, void *ctx,
                            dkim_error *err);

/*
 * Feeds one header field as a milter receives it: the name, and the raw
 * value after the colon (leading whitespace kept if the MTA kept it, folding
 * as "\n" or "\r\n"). Fails with DKIM_ERR_LIMIT past the header limits.
 */
dkim_status dkim_msg_header(dkim_msg *msg, const char *name,
                            const char *value, dkim_error *err);
/*
 * The same for an MTA that removed the space after the colon (a milter
 * without SMFIP_HDR_LEADSPC): the field is stored as "name: value", as it
 * was in the message.
 */
dkim_status dkim_msg_header_unspaced(dkim_msg *msg, const char *name,
                                     const char *value, dkim_error *err);
/*
 * The fields fed so far, in order, for a caller that reads the header
 * instead of keeping its own copy (the milter's policy). Field i's name,
 * and its value after the colon as stored: bare LF folds made CRLF, the
 * space after the colon as fed. Both NUL-terminated and owned by msg
 * (valid until dkim_msg_free); false when i is out of range.
 */
size_t dkim_msg_header_count(const dkim_msg *msg);
bool dkim_msg_header_get(const dkim_msg *msg, size_t i, const char **name,
                         const char **value);
/* The smallest field, "X:" CRLF: a block of n bytes holds at most
 * n / DKIM_MIN_FIELD_BYTES fields. */
#define DKIM_MIN_FIELD_BYTES 4
/* The same with a whole field "Name:value" (no final line break). */
dkim_status dkim_msg_header_field(dkim_msg *msg, const char *field, size_t len,
                                  dkim_error *err);
/* End of the header block: signatures are parsed, body hashes set up. */
dkim_status dkim_msg_eoh(dkim_msg *msg, dkim_error *err);
/* Body data, split anywhere. Line ends may be CRLF or bare LF. */
dkim_status dkim_msg_body(dkim_msg *msg, const void *data, size_t len,
                          dkim_error *err);
/* End of message: signatures are computed, verifications decided. */
dkim_status dkim_msg_eom(dkim_msg *msg, dkim_error *err);

/*
 * Feeds a whole stored message (header, blank line, body) in chunks of any
 * size; the header fields are split out and passed to dkim_msg_header_field,
 * the end of headers to dkim_msg_eoh. Finish with dkim_msg_eom.
 */
dkim_status dkim_msg_feed_raw(dkim_msg *msg, const void *data, size_t len,
                              dkim_error *err);

/* ---- signing results ----------------------------------------------------- */

/*
 * After dkim_msg_eom: the value of the DKIM-Signature field for signer i,
 * without the field name, the colon and the space after it, folded with
 * eol ("\r\n" or "\n") followed by a tab. NULL when i is out of range.
 * The string belongs to the message.
 */
const char *dkim_msg_signature(dkim_msg *msg, int signer, const char *eol);

/* ---- verification results ------------------------------------------------ */

typedef enum {
	DKIM_RESULT_NONE = 0,   /* not evaluated (over max_signatures) */
	DKIM_RESULT_PASS,
	DKIM_RESULT_FAIL,
	DKIM_RESULT_NEUTRAL,
	DKIM_RESULT_POLICY,
	DKIM_RESULT_TEMPERROR,
	DKIM_RESULT_PERMERROR
} dkim_result;

/* "none", "pass", "fail", ... as RFC 8601 writes them. */
const char *dkim_result_name(dkim_result result);

/*
 * Why a signature got its result, for callers that act on it (such as the
 * milter's On-* settings): the reason text is for people and may change.
 * Each cause belongs to one result, given in brackets.
 */
typedef enum {
	DKIM_CAUSE_NONE = 0,        /* [pass] nothing went wrong */
	DKIM_CAUSE_NOT_EVALUATED,   /* [none] over max_signatures */
	DKIM_CAUSE_SIG_SYNTAX,      /* [permerror] the DKIM-Signature is malformed or
	                             * breaks §3.5: a tag missing or bad, h= without
	                             * From, i= outside d=, unknown a=, ... */
	DKIM_CAUSE_SIG_EXPIRED,     /* [permerror] x= has passed */
	DKIM_CAUSE_SIG_FUTURE,      /* [permerror] t= is in the future */
	DKIM_CAUSE_FROM_FIELD,      /* [permerror] no From field, or several (§8.15) */
	DKIM_CAUSE_KEY_NOT_FOUND,   /* [permerror] no key record (NXDOMAIN, no TXT) */
	DKIM_CAUSE_KEY_TEMPFAIL,    /* [temperror] the key lookup failed for now */
	DKIM_CAUSE_KEY_INVALID,     /* [permerror] the key record is unusable: does
	                             * not parse, several records, ... */
	DKIM_CAUSE_KEY_REVOKED,     /* [fail] empty p= (§3.6.1) */
	DKIM_CAUSE_KEY_MISMATCH,    /* [permerror] the key record rules this
	                             * signature out: k= vs a=, h=, s=, t=s */
	DKIM_CAUSE_ALG_REFUSED,     /* [policy] rsa-sha1 (RFC 8301 §3.1) */
	DKIM_CAUSE_KEY_TOO_SMALL,   /* [policy] RSA key under min_key_bits */
	DKIM_CAUSE_BODY_LENGTH,     /* [permerror] l= is longer than the body */
	DKIM_CAUSE_BODY_HASH,       /* [fail] bh= does not match the body */
	DKIM_CAUSE_SIGNATURE        /* [fail] b= does not verify */
} dkim_cause;

/* "none", "not-evaluated", "sig-syntax", ...: stable tokens for logs. */
const char *dkim_cause_name(dkim_cause cause);

typedef struct {
	dkim_result result;
	dkim_cause cause;
	const char *reason;     /* short, human readable; "" on pass */
	/* Tags as found in the signature (NULL when absent or unparsable). */
	const char *domain;     /* d= */
	const char *identity;   /* i= (default "@" d=) */
	const char *selector;   /* s= */
	const char *algorithm;  /* a= as written */
	const char *b;          /* b= with whitespace removed */
	unsigned key_bits;      /* 0 when no key was retrieved */
	bool testing;           /* key has t=y */
} dkim_sig_result;

/*
 * After dkim_msg_eoh, verifying: true when the message has DKIM-Signature
 * fields and every one of them already failed to parse (DKIM_CAUSE_SIG_SYNTAX,
 * decided before any key lookup). No lookup and no body can change those
 * results (a decided signature keeps its verdict), so a caller may act
 * before the body arrives. *top, when not NULL, is then the topmost
 * signature's result (valid while msg lives), else NULL.
 */
bool dkim_msg_eoh_unparsable(const dkim_msg *msg, const dkim_sig_result **top);

/* After dkim_msg_eom: number of DKIM-Signature fields seen, evaluated or not. */
size_t dkim_msg_result_count(const dkim_msg *msg);
/* Result i (0 = the topmost signature); NULL when out of range. */
const dkim_sig_result *dkim_msg_result(const dkim_msg *msg, size_t i);

/* ---- ARC (RFC 8617) chain validation -------------------------------------- */

/* RFC 8617 §4.4 chain validation status; "none", "pass", "fail". */
typedef enum {
	DKIM_ARC_NONE = 0,      /* no ARC sets, or not asked for */
	DKIM_ARC_PASS,
	DKIM_ARC_FAIL
} dkim_arc_result;

/* The highest ARC instance allowed (RFC 8617 §4.2.1). */
#define DKIM_ARC_MAX_INSTANCE 50

const char *dkim_arc_result_name(dkim_arc_result result);

/*
 * Asks for validation of the message's ARC chain (§5.2). Call before
 * dkim_msg_eoh. Keys are looked up with lookup (the same DKIM key records,
 * §4.1.2/§4.1.3), in one batch at dkim_msg_eom.
 */
dkim_status dkim_msg_arc_verify(dkim_msg *msg, dkim_lookup_fn lookup, void *ctx,
                                dkim_error *err);

/*
 * After dkim_msg_eom: the chain's status. oldest_pass (may be NULL) gets
 * the oldest instance whose AMS still validates (§5.2 step 5; 0 when all
 * do, only meaningful on pass); reason (may be NULL) a short text, "" on
 * pass. DKIM_ARC_NONE when dkim_msg_arc_verify was not called.
 */
dkim_arc_result dkim_msg_arc_result(const dkim_msg *msg, unsigned *oldest_pass,
                                    const char **reason);

/*
 * Sealing (§5.1): adds one ARC set for this hop. Call after
 * dkim_msg_arc_verify (the seal's cv= is that validation's result) and
 * before dkim_msg_eoh. The key, alg, domain and selector are as for
 * DKIM signing; headers the AMS h= list; the AAR carries the results of
 * the Authentication-Results fields whose authserv-id is authserv_id
 * (merged, top first). c= is relaxed/relaxed; t= is the message's now.
 */
typedef struct {
	const dkim_privkey *key;     /* must outlive the message */
	dkim_alg alg;
	const char *domain, *selector, *authserv_id;
	const char *const *headers;
	size_t nheaders;
	/*
	 * Optional (NULL: the message's Authentication-Results fields as
	 * above). Called at dkim_msg_eom once the DKIM results and the ARC
	 * validation are known, so a caller can seal the Authentication-
	 * Results it is about to add: returns a malloc'd A-R value
	 * ("authserv-id; method=result ...", folding allowed), the AAR is
	 * "i=N; " and that value; NULL when memory runs out.
	 */
	char *(*results)(void *arg, const dkim_msg *msg);
	void *results_arg;
	/* cv= to write instead of this validation's result, when the caller
	 * validated the chain at an earlier pass (its own Authentication-
	 * Results say arc=...); a chain with sets never gets cv=none. */
	bool cv_given;
	dkim_arc_result cv;
} dkim_arc_seal_params;

dkim_status dkim_msg_arc_seal(dkim_msg *msg, const dkim_arc_seal_params *params,
                              dkim_error *err);

typedef enum {
	DKIM_ARC_FIELD_AAR = 0,     /* ARC-Authentication-Results */
	DKIM_ARC_FIELD_AMS = 1,     /* ARC-Message-Signature */
	DKIM_ARC_FIELD_AS = 2       /* ARC-Seal */
} dkim_arc_field;

/*
 * After dkim_msg_eom: the value (no name, colon or space) of one field of
 * the new set, folded with "\r\n\t"; the caller adds the three at the top,
 * AS first (any order is valid). NULL when no set is added: no sealing asked,
 * the chain already has 50 sets (§4.2.1), or its newest seal says cv=fail.
 */
const char *dkim_msg_arc_seal_field(const dkim_msg *msg, dkim_arc_field which);

/* ---- header helpers ------------------------------------------------------- */

/*
 * Extracts the first address of an address header value (From:, Sender:,
 * ...): its local part into local, its domain lower-cased into domain.
 * Handles display names, comments, quoted local parts, angle brackets and
 * folding. Returns false when no address with a domain is found or a part
 * does not fit its buffer.
 */
bool dkim_header_address(const char *value, char *local, size_t local_size,
                         char *domain, size_t domain_size);

/* ---- text for logs and terminals ------------------------------------------ */

/*
 * Copies in to out (size bytes, always terminated, cut before an escape that
 * would not fit) with every control byte and every byte over 0x7e written as
 * \xNN. Text from a message or a DNS answer (a key record's
 * "k=x\nopendkim[1]: ...") can then neither start a line of its own in a
 * log or on a terminal nor hide in 8-bit bytes.
 */
void dkim_text_escape(const char *in, char *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* DKIM_H */
