/*
 * policy.h - the milter's decisions as pure functions: who the client is,
 * who the sender is, whether and with which keys to sign, what to sign.
 * No milter calls and no sockets: everything here is unit tested.
 *
 * Order of use in the milter:
 *   connect:  policy_client_is_peer()    -> PeerList: leave the session alone
 *   rcpt:     policy_rcpt_no_sign()      -> DontSignMailTo
 *   headers:  policy_ar_forged()         -> Authentication-Results to remove
 *   eoh:      policy_evaluate()          -> sender (policy_sender), signers
 *                                           (policy_find_signers) and the
 *                                           decision (policy_decide)
 *             policy_sign_headers()      -> the h= list for each signer
 *             policy_eoh_action()        -> a verdict before the body
 *                                           (signatures that do not parse)
 *
 * Errors: functions that can fail return a dkim_status with a message in a
 * dkim_error (e.g. a KeyTable key whose "%" path cannot be read).
 */
#ifndef ODK_POLICY_H
#define ODK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "odkconfig.h"
#include "dkim.h"

/* ---- the client ---------------------------------------------------------- */

typedef struct {
	const struct sockaddr *addr;    /* NULL when unknown / local */
	const char *hostname;           /* the MTA's name for it, may be NULL
	                                 * or "[192.0.2.1]" */
	bool authenticated;             /* {auth_type} or {auth_authen} set */
	const char *daemon_name;        /* the MTA's {daemon_name}, may be
	                                 * NULL */
	bool macro_listed;              /* policy_macro_listed said yes */
} policy_client;

/* A macro's value from the MTA (NULL: not sent); name as libmilter's. */
typedef const char *(*policy_macro_fn)(void *arg, const char *name);

/*
 * MacroList: did the MTA set one of the listed macros (to one of the
 * entry's values, compared with case, when the entry lists values)?
 */
bool policy_macro_listed(const config *cfg, policy_macro_fn get, void *arg);

/* PeerList: the milter should not touch this client's mail at all. */
bool policy_client_is_peer(const config *cfg, const policy_client *client);

/*
 * May this client have its mail signed? True when it is in InternalHosts,
 * authenticated, the MTA daemon that received the message is listed in
 * MTA (opendkim.conf(5): e.g. Postfix's submission service), or a macro
 * of MacroList matched (macro_listed).
 */
bool policy_client_is_internal(const config *cfg,
                               const policy_client *client);

/* ExternalIgnoreList: silence the "external host sent as our domain" line. */
bool policy_client_is_ignored_external(const config *cfg,
                                       const policy_client *client);

/* ---- the sender ---------------------------------------------------------- */

/* One header field of the message, as the milter received it. */
typedef struct {
	const char *name;
	const char *value;
} policy_header;

#define POLICY_LOCAL_MAX 256
#define POLICY_DOMAIN_MAX 256

typedef struct {
	char local[POLICY_LOCAL_MAX];   /* local part (may be "") */
	char domain[POLICY_DOMAIN_MAX]; /* domain, lower case */
} policy_sender_addr;

/*
 * The sender: the address of the first header field of cfg's
 * SenderHeaders list that is present (default From; when several fields
 * of that name exist, the first one). Names match as the engine reads
 * them (case-insensitive, white space before the colon ignored). False
 * when none is present, its value has no usable address
 * (dkim_header_address), or the message has more than one From field
 * (RFC 5322 §3.6: a signature over it would fail at every verifier).
 */
bool policy_sender(const config *cfg, const policy_header *hdrs, size_t n,
                   policy_sender_addr *out);

/* ---- signers ------------------------------------------------------------- */

typedef struct {
	const char *keyname;            /* KeyTable name (owned by cfg) */
	dkim_privkey *key;              /* the key; owned by cfg unless
	                                 * key_owned */
	bool key_owned;                 /* a per-domain "%" key file loaded
	                                 * for this message */
	dkim_alg alg;                   /* from the key's type */
	char *domain;                   /* d= ("%" replaced) */
	char *selector;                 /* s= */
	char *identity;                 /* i= or NULL (SigningTable's signer
	                                 * column, "%" replaced; dropped when
	                                 * it is not within d=) */
} policy_signer;

typedef struct {
	policy_signer *v;
	size_t count;
} policy_signers;

/*
 * Finds the signing requests for a sender. With a SigningTable (and
 * KeyTable), lookups run in OpenDKIM's order:
 *   refile:  every pattern in file order against "user@domain";
 *   others:  user@domain, domain, then with SubDomains for each parent
 *            user@.parent, .parent (nearest first), then user@*, *.
 * Without MultipleSignatures the first match is used; with it, every
 * match (the same key name twice is used once). A key name "%" means the
 * key named after the sender's domain.
 * Without a SigningTable: the sender domain (or with SubDomains a parent)
 * in Domain signs with the single key (d= the matched Domain entry,
 * unless the single key's domain is fixed).
 * out is filled (possibly with count 0); free it with policy_signers_free
 * also on error.
 */
dkim_status policy_find_signers(const config *cfg,
                                const policy_sender_addr *sender,
                                policy_signers *out, dkim_error *err);
void policy_signers_free(policy_signers *s);

/* ---- the decision -------------------------------------------------------- */

/* Why a message is not signed (LogWhy); POLICY_WHY_NONE when it is. */
typedef enum {
	POLICY_WHY_NONE = 0,
	POLICY_WHY_MODE,                /* Mode has no s */
	POLICY_WHY_NO_SENDER,           /* no sender header / address */
	POLICY_WHY_NOT_OURS,            /* sender domain not in SigningTable
	                                 * / Domain */
	POLICY_WHY_EXTERNAL,            /* our domain, client neither internal
	                                 * nor authenticated */
	POLICY_WHY_NO_KEYS,             /* no KeyTable/KeyFile configured */
	POLICY_WHY_EXEMPT,              /* sender domain in ExemptDomains:
	                                 * not verified either */
	POLICY_WHY_RCPT                 /* a recipient in DontSignMailTo */
} policy_why;

/* A short phrase for the log line ("sender domain not in SigningTable"). */
const char *policy_why_text(policy_why why);

typedef struct {
	bool sign;
	bool verify;
	policy_why why;                 /* when !sign */
	bool log_external;              /* log "external host tried to send as
	                                 * our domain" (not in
	                                 * ExternalIgnoreList) */
} policy_decision;

/* What the decision is made from, gathered by the milter. */
typedef struct {
	bool internal;                  /* policy_client_is_internal */
	bool have_sender;               /* policy_sender's result */
	size_t nsigners;                /* policy_find_signers' count */
	bool ignored_external;          /* policy_client_is_ignored_external */
	bool exempt;                    /* policy_sender_exempt */
	bool no_sign_rcpt;              /* policy_rcpt_no_sign, any recipient */
} policy_facts;

/*
 * Decides, in this one place, from the facts. OpenDKIM's rule: an exempt
 * sender (ExemptDomains) is neither signed nor verified; sign when Mode
 * has s, the client is internal, there are signers and no recipient is in
 * DontSignMailTo; otherwise verify when Mode has v. A message that would
 * be signed but for a DontSignMailTo recipient is not verified either:
 * OpenDKIM accepts it at the end of headers, before the body is sent.
 */
void policy_decide(const config *cfg, const policy_facts *facts,
                   policy_decision *out);

/* ---- end of headers: the whole decision -------------------------------- */

typedef struct {
	policy_decision decision;
	policy_signers signers;         /* empty unless decision.sign; free
	                                 * with policy_signers_free */
	bool internal;                  /* policy_client_is_internal */
	bool have_sender;               /* policy_sender found an address */
} policy_evaluation;

/*
 * The decision for one message from what the milter gathered: the
 * client (with macro_listed already asked), its header fields in order,
 * and whether a recipient is in DontSignMailTo. The sender is found
 * (policy_sender), ExemptDomains applied, and its signers looked up
 * (policy_find_signers) unless signing is off; for a client that is not
 * internal only when the sender domain is plain (letters, digits, '-',
 * '_', single dots): its answer then only serves the "external host sent
 * as our domain" line, and a lookup failure means no signers. Then
 * policy_decide. Returns DKIM_OK, or for an internal client the lookup's
 * error (out->signers then empty).
 */
dkim_status policy_evaluate(const config *cfg, const policy_client *client,
                            const policy_header *hdrs, size_t n,
                            bool no_sign_rcpt, policy_evaluation *out,
                            dkim_error *err);

/*
 * End of headers, once the engine has parsed the signatures: can the
 * message's fate be given now, so that the MTA need not send the body
 * (OpenDKIM decides these at the end of headers too)? True, with *action,
 * for a message being verified whose every signature fails to parse
 * (all_unparsable: dkim_msg_eoh_unparsable), when On-BadSignature is
 * reject, tempfail or discard: no key and no body can change a signature
 * that does not parse, and verdict.c makes it a bad signature. False with
 * accept: OpenDKIM then accepts at the end of headers with no
 * Authentication-Results at all; here the message keeps its
 * "dkim=permerror" result, and header fields can only be added at the end
 * of the message (milter protocol: SMFIR_INSHEADER is an end-of-message
 * reply), so it goes on. False with quarantine: that too is an
 * end-of-message reply. (Under DontSignMailTo, policy_decide leaves
 * nothing to do, and the milter accepts at the end of headers.)
 */
bool policy_eoh_action(const config *cfg, const policy_decision *d,
                       bool all_unparsable, config_action *action);

/*
 * Should a received Authentication-Results field with this value go
 * (RFC 8601 §5: a field claiming our authserv-id is forged)? Yes when it
 * carries authserv_id, with RemoveARAll, or when its authserv-id (less a
 * "/job" suffix, AuthservIDWithJobID) is in RemoveARFrom.
 */
bool policy_ar_forged(const config *cfg, const char *authserv_id,
                      const char *value);

/*
 * ExemptDomains: is mail from sender's domain left alone entirely (OpenDKIM:
 * "ignored entirely by the filter")? Exact domains, or refile: patterns,
 * ignoring case. The sender is the one policy_sender found.
 */
bool policy_sender_exempt(const config *cfg, const policy_sender_addr *sender);

/*
 * A message too malformed to verify, as OpenDKIM judges it: no usable
 * sender address (have_sender false: no From, or no user@domain in it;
 * several From fields are verified as usual), or, with StrictHeaders, a field that RFC 5322 §3.6 allows once
 * appearing more than once. OpenDKIM then adds "dkim=permerror (bad
 * message/signature format)" and accepts, whatever the On-* settings.
 */
bool policy_message_malformed(const config *cfg, const policy_header *hdrs, size_t n,
                              bool have_sender);

/*
 * DontSignMailTo: is rcpt (an envelope recipient as the MTA gives it,
 * "<user@domain>" or bare) one whose mail must not be signed? Exact
 * addresses ignoring case, or refile: patterns against the bare address.
 * The milter asks as recipients arrive and keeps one boolean per message.
 */
bool policy_rcpt_no_sign(const config *cfg, const char *rcpt);

/* ---- what to sign -------------------------------------------------------- */

/*
 * The h= list for a message whose header field names are names[0..n-1] in
 * order: each present field named in SignHeaders and not in OmitHeaders
 * once per occurrence (From always: RFC 6376 §5.4 requires it), then each
 * OversignHeaders name once more (present or not: an absent field listed
 * in h= hashes as empty, so nobody can add one later; RFC 6376 §5.4.2);
 * with RemoveOldSignatures, never DKIM-Signature.
 * *out is a malloc'd array of pointers into names[] or cfg's lists (the array
 * only is freed by the caller). Returns DKIM_OK or DKIM_ERR_NOMEM.
 */
dkim_status policy_sign_headers(const config *cfg, const char *const *names,
                                size_t n, const char ***out, size_t *nout,
                                dkim_error *err);

/*
 * A DKIM-Signature field (any case)? With RemoveOldSignatures the milter
 * deletes those of a message it signs, and policy_sign_headers leaves
 * them out of h= (even when SignHeaders or OversignHeaders name them).
 */
bool policy_is_signature_field(const char *name);

#endif /* ODK_POLICY_H */
