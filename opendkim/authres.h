/*
 * authres.h - the Authentication-Results header field (RFC 8601) as the
 * milter writes it, and recognition of the ones that arrive with a message.
 *
 * authres_format_job builds the field value from verification results, in
 * OpenDKIM's layout:
 *     mx.example.net;
 *         dkim=pass (2048-bit key) header.d=example.com header.i=@example.com
 *         header.a=rsa-sha256 header.s=sel header.b=RNAhx6cV
 * Values copied from signatures are checked against their grammar; a value
 * that does not conform is left out, so a hostile signature cannot inject
 * ";", comments, quotes or line breaks into our verdict.
 *
 * authres_authserv_id extracts the authserv-id of a received field so the
 * milter can remove fields that claim to come from us.
 *
 * Errors: authres_format_job returns NULL only when memory runs out (or
 * the authserv-id is not valid).
 */
#ifndef OPENDKIM_AUTHRES_H
#define OPENDKIM_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim.h"

/*
 * Buffer for a received authserv-id (authres_authserv_id): room for our own
 * (a host name, at most 255 bytes, RFC 1035 §2.3.4) with "/job-id" and
 * quoting, so that a long forged id is read whole and compared, not cut.
 */
#define AUTHRES_ID_MAX 1024

/*
 * The field value (without "Authentication-Results:" and without a leading
 * space): authserv_id, then one "dkim=" method result per evaluated
 * signature, or "dkim=none" when results is empty. Results that were not
 * evaluated (DKIM_RESULT_NONE: over the signature limit) are left out.
 * eol separates the results ("\n\t" for a milter, which lets the MTA
 * write CRLF). Returns a malloc'd string, or NULL when memory runs out or
 * authserv_id is not a valid RFC 8601 authserv-id.
 *
 * With a job id (AuthservIDWithJobID) the authserv-id is written
 * "authserv_id/job_id", as a quoted-string ("/" is not a token character,
 * RFC 2045 §5.1). A job_id that is NULL or not valid
 * (authres_valid_job_id) is left out: the field then starts "authserv_id;".
 */
char *authres_format_job(const char *authserv_id, const char *job_id,
                         const dkim_sig_result *const *results, size_t n,
                         const char *eol);

/* The ARC chain's result for authres_format_arc (RFC 8617 §10.1). */
typedef struct {
	dkim_arc_result result;
	unsigned oldest_pass;           /* 0: not written (only on pass) */
	const char *remote_ip;          /* the SMTP client, NULL: unknown;
	                                 * written only when it looks like an
	                                 * address */
	bool no_dkim;                   /* leave out "dkim=none" when there are
	                                 * no results (a message we did not
	                                 * verify but whose chain we checked) */
} authres_arc;

/*
 * authres_format_job with an "arc=" result after the dkim= ones (arc may
 * be NULL: none written).
 */
char *authres_format_arc(const char *authserv_id, const char *job_id,
                         const dkim_sig_result *const *results, size_t n,
                         const authres_arc *arc, const char *eol);

/* Longest job id written (the MTA's queue id: Postfix's long ones are 20). */
#define AUTHRES_JOB_ID_MAX 64

/* A job id we write: 1 to AUTHRES_JOB_ID_MAX RFC 2045 token characters
 * (printable ASCII but no space, ()<>@,;:\"/[]?=). */
bool authres_valid_job_id(const char *s);

/*
 * The header.b value for result i: the shortest prefix of its b= (at least
 * 8 characters) that differs from the prefix of every other signature's b=
 * (RFC 6008 §4). Writes at most size-1 chars plus NUL; returns the length
 * of the prefix, 0 when b= is absent.
 */
size_t authres_b_prefix(const dkim_sig_result *const *results, size_t n,
                        size_t i, char *out, size_t size);

/*
 * Extracts the authserv-id of a received Authentication-Results value (raw:
 * leading whitespace, comments, folding allowed; RFC 8601 §2.2) into out
 * (NUL-terminated). Returns false when the value does not start with an
 * authserv-id or it is longer than size-1.
 */
bool authres_authserv_id(const char *value, char *out, size_t size);

/*
 * True when a received Authentication-Results value carries authserv_id
 * (compared case-insensitively, RFC 8601 §2.5), alone or followed by
 * "/anything" (our own form with a job id, quoted or not).
 */
bool authres_is_ours(const char *value, const char *authserv_id);

/*
 * Skips CFWS (RFC 5322 §3.2.2) in a received value: whitespace, line breaks
 * and nested comments with quoted-pairs; an unterminated comment runs to the
 * end. Shared with arcseal.c, which reads our earlier fields.
 */
const char *authres_skip_cfws(const char *p);

/* True when s is a usable authserv-id for our own fields (a token). */
bool authres_valid_id(const char *s);

#endif /* OPENDKIM_AUTHRES_H */
