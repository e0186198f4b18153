/*
 * verdict.h - from verification results to what happens to the message:
 * which On-* setting applies, and the SMTP reply that goes with it.
 * Pure functions (no milter calls), unit tested in tests/milter.
 *
 * Rules: any passing signature accepts the message (no On-* setting can
 * turn a pass into a rejection); otherwise the topmost signature decides,
 * as OpenDKIM 2.11 decides (tests/milter/actions.sh compares the fate of
 * each case with Debian's OpenDKIM):
 * - a signature that is bad: fails (b=, bh=), does not parse, or its key
 *   is revoked -> On-BadSignature;
 * - a key lookup that failed for now -> On-DNSError; no key record ->
 *   On-KeyNotFound;
 * - a signature that cannot vouch for the message without being bad
 *   (expired, t= in the future, an unusable or mismatched key record, l=
 *   past the body, a key under MinimumKeyBits, rsa-sha1) or whose key is
 *   in test mode (t=y: RFC 6376 §3.6.1, "MUST NOT treat messages from
 *   Signers in testing mode differently from unsigned email") -> as an
 *   unsigned message, On-NoSignature (default accept). OpenDKIM applies
 *   no action to these at all;
 * - no signature -> On-NoSignature; anything else -> On-Default.
 * On-SignatureError is for signing only (OpenDKIM: "a message cannot be
 * signed"). Decisions read libdkim's result, cause and test flag, never
 * its reason text (that is for logs).
 */
#ifndef OPENDKIM_VERDICT_H
#define OPENDKIM_VERDICT_H

#include <stddef.h>

#include "odkconfig.h"
#include "dkim.h"

/* Why an On-* action is taken. */
typedef enum {
	VERDICT_PASS = 0,               /* a signature verified */
	VERDICT_BAD_SIGNATURE,
	VERDICT_NO_SIGNATURE,
	VERDICT_KEY_NOT_FOUND,
	VERDICT_DNS_ERROR,
	VERDICT_UNUSABLE,               /* signed, but nothing can vouch for it */
	VERDICT_SIGNATURE_ERROR,        /* signing failed (our key, the message) */
	VERDICT_INTERNAL,               /* our own failure */
	VERDICT_SECURITY,               /* hostile input: header limits */
	VERDICT_DEFAULT
} verdict_cause;

/* An SMTP reply: "550" / "451", an RFC 3463 enhanced code, a text. */
typedef struct {
	const char *code;
	const char *xcode;
	const char *text;
} verdict_reply;

/*
 * The cause for a message's results (results[0] is the topmost
 * signature; n = 0: unsigned). *decisive is the index of the result that
 * decided (0 when n = 0).
 */
verdict_cause verdict_from_results(const dkim_sig_result *const *results, size_t n,
                                   size_t *decisive);

/* The configured action for a cause (VERDICT_PASS: always accept). */
config_action verdict_action(const config *cfg, verdict_cause cause);

/*
 * The reply for a reject (550) or tempfail (451) action; for other actions
 * code and xcode are NULL and text is the reason (quarantine uses it).
 */
verdict_reply verdict_reply_for(verdict_cause cause, config_action action);

/* "pass", "bad signature", ... for logs. */
const char *verdict_cause_name(verdict_cause cause);

#endif /* OPENDKIM_VERDICT_H */
