/*
 * verdict.h - from verification results to what happens to the message:
 * which On-* setting applies, and the SMTP reply that goes with it.
 * Pure functions (no milter calls), unit tested in tests/milter.
 *
 * Rules: any passing signature accepts the message (no On-* setting can
 * turn a pass into a rejection); otherwise the topmost signature decides:
 * fail or policy (e.g. a key under MinimumKeyBits) or a revoked key ->
 * On-BadSignature; temperror -> On-DNSError; no key record ->
 * On-KeyNotFound; other permanent errors -> On-SignatureError; no
 * signature -> On-NoSignature; anything else -> On-Default. Decisions read
 * libdkim's result and cause, never its reason text (that is for logs).
 */
#ifndef OPENDKIM_VERDICT_H
#define OPENDKIM_VERDICT_H

#include <stddef.h>

#include "config.h"
#include "dkim.h"

/* Why an On-* action is taken. */
typedef enum {
	VERDICT_PASS = 0,               /* a signature verified */
	VERDICT_BAD_SIGNATURE,
	VERDICT_NO_SIGNATURE,
	VERDICT_KEY_NOT_FOUND,
	VERDICT_DNS_ERROR,
	VERDICT_SIGNATURE_ERROR,
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
