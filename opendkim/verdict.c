/*
 * verdict.c - verification results to On-* actions and SMTP replies.
 *
 * Interface: verdict.h. Pure: no I/O, no milter calls, no errors.
 */
#include "verdict.h"

typedef struct {
	const char *name;
	const char *reject_x, *tempfail_x;  /* RFC 3463 enhanced status codes */
	const char *text;
} verdict_info;

/* RFC 7372 §3.1: X.7.20 "No passing DKIM signature found". RFC 3463:
 * X.4.3 directory server failure, X.3.0 other mail system problem, X.3.4
 * message too big for system. */
static const verdict_info verdict_table[] = {
	[VERDICT_PASS] = { "pass", "5.7.1", "4.7.1", "rejected by the DKIM filter" },
	[VERDICT_BAD_SIGNATURE] = { "bad signature", "5.7.20", "4.7.20",
	                            "DKIM signature verification failed" },
	[VERDICT_NO_SIGNATURE] = { "no signature", "5.7.20", "4.7.20", "no DKIM signature" },
	[VERDICT_KEY_NOT_FOUND] = { "key not found", "5.7.20", "4.7.20",
	                            "no key for DKIM signature" },
	[VERDICT_DNS_ERROR] = { "DNS error", "5.7.20", "4.4.3",
	                        "DKIM key lookup failed, try again later" },
	[VERDICT_UNUSABLE] = { "no usable signature", "5.7.20", "4.7.20",
	                       "no valid DKIM signature" },
	[VERDICT_SIGNATURE_ERROR] = { "signature error", "5.3.0", "4.3.0",
	                              "cannot sign the message" },
	[VERDICT_INTERNAL] = { "internal error", "5.3.0", "4.3.0",
	                       "internal error in the DKIM filter" },
	[VERDICT_SECURITY] = { "security", "5.3.4", "4.3.4", "message header too large" },
	[VERDICT_DEFAULT] = { "default", "5.7.1", "4.7.1", "rejected by the DKIM filter" },
};

/*
 * A permanent error: no key record (On-KeyNotFound); a revoked key (the
 * key owner says no) or a signature that does not parse: a bad signature,
 * as in OpenDKIM; anything else (expired, t= in the future, a key record
 * that is unusable or rules the signature out, l= past the body): the
 * signature cannot be evaluated, and the message counts as unsigned.
 * libdkim says which by its cause.
 */
static verdict_cause verdict_permerror(const dkim_sig_result *r)
{
	switch (r->cause) {
	case DKIM_CAUSE_KEY_NOT_FOUND:
		return VERDICT_KEY_NOT_FOUND;
	case DKIM_CAUSE_KEY_REVOKED:
	case DKIM_CAUSE_SIG_SYNTAX:
	case DKIM_CAUSE_FROM_FIELD:     /* several From: OpenDKIM's result is fail */
		return VERDICT_BAD_SIGNATURE;
	default:
		return VERDICT_UNUSABLE;
	}
}

/* The topmost signature's cause, when none passed. */
static verdict_cause verdict_topmost(const dkim_sig_result *r)
{
	/* RFC 6376 §3.6.1 t=y: treated as unsigned mail (OpenDKIM: "bypasses"
	 * On-BadSignature). Only a key that was retrieved can say so. */
	if (r->testing)
		return VERDICT_UNUSABLE;
	switch (r->result) {
	case DKIM_RESULT_FAIL:
		return VERDICT_BAD_SIGNATURE;
	case DKIM_RESULT_POLICY:   /* a key under MinimumKeyBits, rsa-sha1 */
		return VERDICT_UNUSABLE;
	case DKIM_RESULT_TEMPERROR:
		return VERDICT_DNS_ERROR;
	case DKIM_RESULT_PERMERROR:
		return verdict_permerror(r);
	default:
		return VERDICT_DEFAULT;
	}
}

verdict_cause verdict_from_results(const dkim_sig_result *const *results, size_t n,
                                   size_t *decisive)
{
	*decisive = 0;
	if (n == 0)
		return VERDICT_NO_SIGNATURE;
	for (size_t i = 0; i < n; i++) {
		if (results[i]->result == DKIM_RESULT_PASS) {
			*decisive = i;
			return VERDICT_PASS;
		}
	}
	return verdict_topmost(results[0]);
}

config_action verdict_action(const config *cfg, verdict_cause cause)
{
	switch (cause) {
	case VERDICT_PASS: return CONFIG_ACT_ACCEPT;
	case VERDICT_BAD_SIGNATURE: return cfg->on_bad_signature;
	case VERDICT_NO_SIGNATURE: return cfg->on_no_signature;
	case VERDICT_UNUSABLE: return cfg->on_no_signature;
	case VERDICT_KEY_NOT_FOUND: return cfg->on_key_not_found;
	case VERDICT_DNS_ERROR: return cfg->on_dns_error;
	case VERDICT_SIGNATURE_ERROR: return cfg->on_signature_error;
	case VERDICT_INTERNAL: return cfg->on_internal_error;
	case VERDICT_SECURITY: return cfg->on_security;
	case VERDICT_DEFAULT: break;
	}
	return cfg->on_default;
}

static const verdict_info *verdict_get(verdict_cause cause)
{
	size_t i = (size_t)cause;
	return &verdict_table[i < sizeof(verdict_table) / sizeof(*verdict_table)
	                      ? i : VERDICT_DEFAULT];
}

verdict_reply verdict_reply_for(verdict_cause cause, config_action action)
{
	const verdict_info *info = verdict_get(cause);
	verdict_reply r = { NULL, NULL, info->text };
	if (action == CONFIG_ACT_REJECT) {
		r.code = "550";
		r.xcode = info->reject_x;
	} else if (action == CONFIG_ACT_TEMPFAIL) {
		r.code = "451";
		r.xcode = info->tempfail_x;
	}
	return r;
}

const char *verdict_cause_name(verdict_cause cause)
{
	return verdict_get(cause)->name;
}
