/*
 * authres.c - writing and recognising Authentication-Results fields
 * (RFC 8601).
 *
 * Interface: authres.h. authres_format_job writes our verdicts; the other
 * functions look at fields that arrived with the message.
 *
 * Every value copied from a DKIM-Signature into our field is untrusted:
 * d=, i=, s=, a= and b= are written only when they match a strict subset
 * of their RFC 6376 grammar that needs no quoting in RFC 8601 (or, for
 * b=, that is safe inside a quoted-string), and are left out otherwise.
 * Free text (reasons) is written as a quoted-string with only printable
 * ASCII, '"' and '\' escaped. So no signature can add a ";", a comment,
 * a quote or a line break to what we say.
 *
 * Errors: authres_format_job returns NULL when memory runs out.
 */
#include "authres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest value copied from a signature (RFC 1035 §2.3.4: names <= 255). */
#define AUTHRES_VALUE_MAX 255
/* header.b: never longer than this, even when signatures share a prefix. */
#define AUTHRES_B_MAX 128
/* RFC 6008 §4: header.b carries at least 8 characters of b=. */
#define AUTHRES_B_MIN 8
#define AUTHRES_REASON_MAX 200

/* ---- character classes (ASCII only, locale independent) ------------------- */

static bool authres_is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int authres_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* RFC 2045 §5.1 token characters: printable ASCII except tspecials. */
static bool authres_is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 §3.2.3 atext plus '.', the unquoted local-parts of i=. */
static bool authres_valid_local(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (!authres_is_alnum(c) && strchr("!#$%&'*+-/=?^_`{|}~.", c) == NULL)
			return false;
	}
	return len <= 64;   /* RFC 5321 §4.5.3.1.1 */
}

/* RFC 6376 §3.5 i=: [ Local-part ] "@" domain-name. */
static bool authres_valid_identity(const char *s)
{
	const char *at = strchr(s, '@');
	if (at == NULL)
		return false;
	return authres_valid_local(s, (size_t)(at - s)) &&
	       dkim_domain_valid(at + 1, strlen(at + 1), DKIM_DOMAIN_TEXT);
}

/* RFC 6376 §3.3 sig-a-tag-alg: letters, digits and '-'. */
static bool authres_valid_alg(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!authres_is_alnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* base64 alphabet (RFC 6376 §3.5 b=, whitespace already removed). */
static bool authres_valid_b64(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (!authres_is_alnum(c) && c != '+' && c != '/' && c != '=')
			return false;
	}
	return true;
}

bool authres_valid_id(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	if (len == 0 || len > AUTHRES_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!authres_is_token_char((unsigned char)s[i]))
			return false;
	return true;
}

/* ---- header.b --------------------------------------------------------------- */

static size_t authres_common_prefix(const char *a, const char *b)
{
	size_t n = 0;
	while (a[n] != '\0' && a[n] == b[n])
		n++;
	return n;
}

size_t authres_b_prefix(const dkim_sig_result *const *results, size_t n,
                        size_t i, char *out, size_t size)
{
	const char *b = results[i]->b;
	if (size > 0)
		out[0] = '\0';
	if (b == NULL || b[0] == '\0' || size == 0)
		return 0;
	size_t len = strlen(b), need = AUTHRES_B_MIN;
	/* RFC 6008 §4: long enough to tell this signature from the others. */
	for (size_t j = 0; j < n; j++) {
		if (j == i || results[j]->b == NULL)
			continue;
		size_t common = authres_common_prefix(b, results[j]->b);
		if (common + 1 > need)
			need = common + 1;
	}
	if (need > len)
		need = len;
	if (need > AUTHRES_B_MAX)
		need = AUTHRES_B_MAX;
	if (need > size - 1)
		need = size - 1;
	memcpy(out, b, need);
	out[need] = '\0';
	return need;
}

/* ---- writing ------------------------------------------------------------------ */

/* RFC 5322 §3.2.4 quoted-string of printable ASCII; anything else is '?'. */
static void authres_put_quoted(FILE *f, const char *s)
{
	size_t n = 0;
	fputc('"', f);
	for (; *s != '\0' && n < AUTHRES_REASON_MAX; s++, n++) {
		int c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fputc('\\', f);
		fputc(c >= 0x20 && c < 0x7f ? c : '?', f);
	}
	fputc('"', f);
}

/* The reason text OpenDKIM writes for a failed signature. */
static const char *authres_reason(const dkim_sig_result *r)
{
	if (r->cause == DKIM_CAUSE_BODY_HASH)
		return "body hash did not verify";
	if (r->cause == DKIM_CAUSE_SIGNATURE)
		return "signature verification failed";
	return r->reason;
}

/* d= and s= in the form we are willing to copy (RFC 6376 §3.5). */
static bool authres_valid_name(const char *s)
{
	return s != NULL && dkim_domain_valid(s, strlen(s), DKIM_DOMAIN_TEXT);
}

/* header.d= header.i= header.a= header.s=, each only when well formed. */
static void authres_put_properties(FILE *f, const dkim_sig_result *r)
{
	if (authres_valid_name(r->domain))
		fprintf(f, " header.d=%s", r->domain);
	if (r->identity != NULL && authres_valid_identity(r->identity))
		fprintf(f, " header.i=%s", r->identity);
	if (r->algorithm != NULL && authres_valid_alg(r->algorithm))
		fprintf(f, " header.a=%s", r->algorithm);
	if (authres_valid_name(r->selector))
		fprintf(f, " header.s=%s", r->selector);
}

static void authres_put_b(FILE *f, const dkim_sig_result *const *results,
                          size_t n, size_t i)
{
	char prefix[AUTHRES_B_MAX + 1];
	size_t len = authres_b_prefix(results, n, i, prefix, sizeof(prefix));
	if (len == 0 || !authres_valid_b64(prefix, len))
		return;
	/* '/' and '=' are not token characters (RFC 2045 §5.1): quote them. */
	bool quote = strpbrk(prefix, "/=") != NULL;
	fprintf(f, quote ? " header.b=\"%s\"" : " header.b=%s", prefix);
}

/* One resinfo (RFC 8601 §2.2): dkim=RESULT [reason] [(comment)] props. */
static void authres_put_result(FILE *f, const dkim_sig_result *const *results,
                               size_t n, size_t i)
{
	const dkim_sig_result *r = results[i];
	fprintf(f, "dkim=%s", dkim_result_name(r->result));
	const char *reason = authres_reason(r);
	if (r->result != DKIM_RESULT_PASS && reason != NULL && reason[0] != '\0') {
		fputs(" reason=", f);
		authres_put_quoted(f, reason);
	}
	if (r->key_bits > 0)
		fprintf(f, " (%u-bit key%s)", r->key_bits, r->testing ? "; test mode" : "");
	authres_put_properties(f, r);
	authres_put_b(f, results, n, i);
}

bool authres_valid_job_id(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	if (len == 0 || len > AUTHRES_JOB_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!authres_is_token_char((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * RFC 8601 §2.2: authserv-id is a "value" (RFC 2045 §5.1: token or
 * quoted-string). "/" is not a token character, so "id/job" is written as
 * a quoted-string; both parts are tokens, which need no escaping in it.
 */
static void authres_put_id(FILE *f, const char *authserv_id, const char *job_id)
{
	if (job_id != NULL && authres_valid_job_id(job_id))
		fprintf(f, "\"%s/%s\";", authserv_id, job_id);
	else
		fprintf(f, "%s;", authserv_id);
}

/* An IPv4 or IPv6 address as inet_ntop writes it (digits, hex, '.', ':'). */
static bool authres_valid_ip(const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	if (len == 0 || len > 45)   /* INET6_ADDRSTRLEN - 1 */
		return false;
	return strspn(s, "0123456789abcdefABCDEF.:") == len;
}

/*
 * RFC 8617 §10.1 (the RFC 8601 registry's "arc" method): arc=RESULT
 * smtp.remote-ip=IP header.oldest-pass=N. An IPv6 address has ':', not a
 * token character (RFC 2045 §5.1): written as a quoted-string.
 */
static void authres_put_arc(FILE *f, const authres_arc *arc)
{
	fprintf(f, "arc=%s", dkim_arc_result_name(arc->result));
	if (authres_valid_ip(arc->remote_ip))
		fprintf(f, strchr(arc->remote_ip, ':') != NULL ? " smtp.remote-ip=\"%s\""
		                                               : " smtp.remote-ip=%s",
		        arc->remote_ip);
	if (arc->result == DKIM_ARC_PASS && arc->oldest_pass > 0 &&
	    arc->oldest_pass <= DKIM_ARC_MAX_INSTANCE)
		fprintf(f, " header.oldest-pass=%u", arc->oldest_pass);
}

char *authres_format_job(const char *authserv_id, const char *job_id,
                         const dkim_sig_result *const *results, size_t n,
                         const char *eol)
{
	return authres_format_arc(authserv_id, job_id, results, n, NULL, eol);
}

char *authres_format_arc(const char *authserv_id, const char *job_id,
                         const dkim_sig_result *const *results, size_t n,
                         const authres_arc *arc, const char *eol)
{
	if (!authres_valid_id(authserv_id))
		return NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	if (f == NULL)
		return NULL;
	authres_put_id(f, authserv_id, job_id);
	size_t written = 0;
	for (size_t i = 0; i < n; i++) {
		if (results[i]->result == DKIM_RESULT_NONE)
			continue;   /* not evaluated: we have no verdict to state */
		fprintf(f, "%s%s", written > 0 ? ";" : "", eol);
		authres_put_result(f, results, n, i);
		written++;
	}
	if (written == 0 && (arc == NULL || !arc->no_dkim))
		fprintf(f, "%sdkim=none", eol);
	if (arc != NULL) {
		fprintf(f, "%s%s", written > 0 || !arc->no_dkim ? ";" : "", eol);
		authres_put_arc(f, arc);
	}
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- reading ------------------------------------------------------------------ */

/* Skips CFWS (RFC 5322 §3.2.2): whitespace, line breaks and nested
 * comments with quoted-pairs. An unterminated comment runs to the end. */
const char *authres_skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		unsigned depth = 0;
		for (; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

/* A quoted-string authserv-id; p is just after the opening quote. */
static bool authres_read_quoted(const char *p, char *out, size_t size)
{
	size_t n = 0;
	for (; *p != '"'; p++) {
		if (*p == '\\')
			p++;
		if (*p == '\0' || n + 1 >= size)
			return false;
		if (*p != '\r' && *p != '\n')   /* folding inside the quotes */
			out[n++] = *p;
	}
	out[n] = '\0';
	return n > 0;
}

bool authres_authserv_id(const char *value, char *out, size_t size)
{
	if (value == NULL || size == 0)
		return false;
	const char *p = authres_skip_cfws(value);
	if (*p == '"')
		return authres_read_quoted(p + 1, out, size);
	/* RFC 8601 §2.2: authserv-id = value; it ends at CFWS or ";". Being
	 * lenient here (anything but those) removes more forgeries, not fewer. */
	size_t n = 0;
	for (; *p != '\0' && strchr(" \t\r\n;(\"", *p) == NULL; p++) {
		if (n + 1 >= size)
			return false;
		out[n++] = *p;
	}
	out[n] = '\0';
	return n > 0;
}

bool authres_is_ours(const char *value, const char *authserv_id)
{
	char id[AUTHRES_ID_MAX];
	if (authserv_id == NULL || !authres_authserv_id(value, id, sizeof(id)))
		return false;
	/* RFC 8601 §2.5: authserv-id comparison is case-insensitive. */
	size_t i = 0;
	for (; id[i] != '\0' && authserv_id[i] != '\0'; i++)
		if (authres_lower((unsigned char)id[i]) !=
		    authres_lower((unsigned char)authserv_id[i]))
			return false;
	/* "mx.example.net." names the same host as "mx.example.net"; and
	 * "mx.example.net/JOB" is ours with a job id (AuthservIDWithJobID,
	 * whether or not it is on now: a forgery may use either form). */
	const char *a = id + i, *b = authserv_id + i;
	if (a[0] == '.' && (a[1] == '\0' || a[1] == '/'))
		a++;
	return (a[0] == '\0' || a[0] == '/') &&
	       (b[0] == '\0' || (b[0] == '.' && b[1] == '\0'));
}
