/*
 * names.c - the names of the engine's enumerations (algorithms,
 * canonicalizations, results, causes) as they appear in DKIM-Signature
 * tags, Authentication-Results fields and logs, and the engine's option
 * defaults.
 *
 * Interface: dkim.h. Every *_name function returns a static string
 * ("unknown" for a value outside the enumeration); dkim_alg_parse reads an
 * a= value case-insensitively (RFC 5234 §2.3).
 *
 * Errors: none.
 */
#include "internal.h"

#include <string.h>

const char *dkim_alg_name(dkim_alg alg)
{
	switch (alg) {
	case DKIM_ALG_RSA_SHA256:     return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256: return "ed25519-sha256";
	case DKIM_ALG_RSA_SHA1:       return "rsa-sha1";
	}
	return "unknown";
}

bool dkim_alg_parse(const char *text, size_t len, dkim_alg *alg)
{
	/* ABNF literals are case-insensitive (RFC 5234 §2.3). */
	static const dkim_alg algs[] = {
		DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256, DKIM_ALG_RSA_SHA1
	};
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (dkim_strcaseeq_n(text, len, dkim_alg_name(algs[i]))) {
			*alg = algs[i];
			return true;
		}
	}
	return false;
}

const char *dkim_canon_name(dkim_canon canon)
{
	return canon == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

const char *dkim_result_name(dkim_result result)
{
	switch (result) {
	case DKIM_RESULT_NONE:      return "none";
	case DKIM_RESULT_PASS:      return "pass";
	case DKIM_RESULT_FAIL:      return "fail";
	case DKIM_RESULT_NEUTRAL:   return "neutral";
	case DKIM_RESULT_POLICY:    return "policy";
	case DKIM_RESULT_TEMPERROR: return "temperror";
	case DKIM_RESULT_PERMERROR: return "permerror";
	}
	return "unknown";
}

const char *dkim_cause_name(dkim_cause cause)
{
	switch (cause) {
	case DKIM_CAUSE_NONE:          return "none";
	case DKIM_CAUSE_NOT_EVALUATED: return "not-evaluated";
	case DKIM_CAUSE_SIG_SYNTAX:    return "sig-syntax";
	case DKIM_CAUSE_SIG_EXPIRED:   return "sig-expired";
	case DKIM_CAUSE_SIG_FUTURE:    return "sig-future";
	case DKIM_CAUSE_FROM_FIELD:    return "from-field";
	case DKIM_CAUSE_KEY_NOT_FOUND: return "key-not-found";
	case DKIM_CAUSE_KEY_TEMPFAIL:  return "key-tempfail";
	case DKIM_CAUSE_KEY_INVALID:   return "key-invalid";
	case DKIM_CAUSE_KEY_REVOKED:   return "key-revoked";
	case DKIM_CAUSE_KEY_MISMATCH:  return "key-mismatch";
	case DKIM_CAUSE_ALG_REFUSED:   return "alg-refused";
	case DKIM_CAUSE_KEY_TOO_SMALL: return "key-too-small";
	case DKIM_CAUSE_BODY_LENGTH:   return "body-length";
	case DKIM_CAUSE_BODY_HASH:     return "body-hash";
	case DKIM_CAUSE_SIGNATURE:     return "signature";
	}
	return "unknown";
}

void dkim_options_init(dkim_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_header_bytes = 65536;
	opts->max_field_bytes = 16384;
	opts->max_fields = 1000;
	opts->max_signatures = 5;
	opts->min_key_bits = 1024;
	opts->now = 0;
	opts->clock_drift = 300;
}
