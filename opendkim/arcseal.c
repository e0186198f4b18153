/*
 * arcseal.c - the milter's ARC work (RFC 8617): deciding which messages
 * have their chain validated, reported and sealed, handing the engine the
 * sealing parameters, and adding the new ARC set at the end of the
 * message. The chain validation and the signatures themselves are
 * libdkim's (arc.c); this module only decides and connects.
 *
 * Interface: arcseal.h. Which mail is sealed: opendkim.conf(5) ARCMode,
 * ARCSealMail, ARCSealKey, ARCSignHeaders.
 *
 * The AAR (§5.1.1's "authentication assessment") is our own
 * Authentication-Results for the message: the one this pass adds (its
 * dkim= results and the arc= result), or, for a message that comes back
 * to us from a trusted client after an earlier pass of ours (a mailing
 * list's arrival then its distribution), the results we wrote then, with
 * cv= from their arc=: the list may have changed the message since, so
 * the chain is judged as it arrived.
 */
#include "arcseal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARCSEAL_AAR "ARC-Authentication-Results"

/* ---- reading our earlier fields ------------------------------------------------ */

/* Past the next ';' outside quoted strings and comments; NULL: none. */
static const char *arcseal_next_resinfo(const char *p)
{
	bool quoted = false;
	unsigned depth = 0;
	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (quoted)
			quoted = *p != '"';
		else if (*p == '"' && depth == 0)
			quoted = true;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == ';' && depth == 0)
			return p + 1;
	}
	return NULL;
}

/* A keyword (RFC 8601 §2.2: method, result): letters, digits, '-', '_'. */
static size_t arcseal_keyword(const char *p)
{
	size_t n = 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
	       (p[n] >= '0' && p[n] <= '9') || p[n] == '-' || p[n] == '_')
		n++;
	return n;
}

bool arcseal_ar_arc_result(const char *value, dkim_arc_result *out)
{
	static const char *const names[] = { "none", "pass", "fail" };
	/* the first resinfo follows the authserv-id's ';' */
	for (const char *p = arcseal_next_resinfo(value); p != NULL;
	     p = arcseal_next_resinfo(p)) {
		p = authres_skip_cfws(p);
		size_t n = arcseal_keyword(p);
		if (n != 3 || strncasecmp(p, "arc", 3) != 0)
			continue;
		p = authres_skip_cfws(p + n);
		if (*p != '=')
			continue;
		p = authres_skip_cfws(p + 1);
		n = arcseal_keyword(p);
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
			if (n == strlen(names[i]) && strncasecmp(p, names[i], n) == 0) {
				*out = (dkim_arc_result)i;
				return true;
			}
		}
		return false;   /* arc=softfail, arc=garbage: not a chain status */
	}
	return false;
}

/* The instance of an AAR value ("i=N; authserv-id; ..."), 0 when bad. */
static unsigned arcseal_aar_instance(const char *value, const char **rest)
{
	const char *p = authres_skip_cfws(value);
	if (*p != 'i' && *p != 'I')
		return 0;
	p = authres_skip_cfws(p + 1);
	if (*p != '=')
		return 0;
	p = authres_skip_cfws(p + 1);
	unsigned n = 0;
	while (*p >= '0' && *p <= '9' && n <= DKIM_ARC_MAX_INSTANCE)
		n = n * 10 + (unsigned)(*p++ - '0');
	p = authres_skip_cfws(p);
	if (*p != ';' || n > DKIM_ARC_MAX_INSTANCE)
		return 0;
	*rest = p + 1;
	return n;
}

/* §5.1: one set per hop. True when the newest AAR is ours already (we
 * sealed this message at this hop, e.g. on a second pass). */
static bool arcseal_sealed_here(const policy_header *hdrs, size_t n,
                                const char *authserv_id)
{
	unsigned newest = 0;
	bool ours = false;
	for (size_t i = 0; i < n; i++) {
		const char *rest = NULL;
		if (strcasecmp(hdrs[i].name, ARCSEAL_AAR) != 0)
			continue;
		unsigned inst = arcseal_aar_instance(hdrs[i].value, &rest);
		if (inst > newest) {
			newest = inst;
			ours = authres_is_ours(rest, authserv_id);
		}
	}
	return ours;
}

/* ---- the plan ------------------------------------------------------------------- */

static void arcseal_client_ip(const struct sockaddr *sa, char *out, size_t size)
{
	out[0] = '\0';
	if (sa == NULL)
		return;
	const void *a = NULL;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)size) == NULL)
		out[0] = '\0';
}

/* ARCSealMail: is this message one we seal? */
static bool arcseal_wanted(const config *cfg, const policy_decision *decision,
                           bool internal)
{
	if (!cfg->arc_seal || cfg->arc_key == NULL)
		return false;
	switch (cfg->arc_seal_mail) {
	case CONFIG_ARC_RELAYED: return internal;
	case CONFIG_ARC_SIGNED:  return decision->sign;
	case CONFIG_ARC_ALL:     return true;
	}
	return false;
}

void arcseal_plan(const config *cfg, const policy_decision *decision,
                  bool internal, const policy_header *hdrs, size_t nhdrs,
                  const char *authserv_id, const struct sockaddr *client,
                  arcseal *out)
{
	memset(out, 0, sizeof(*out));
	out->authserv_id = authserv_id;
	if (decision->why == POLICY_WHY_EXEMPT)   /* ignored entirely */
		return;
	arcseal_client_ip(client, out->remote_ip, sizeof(out->remote_ip));
	out->report = cfg->arc_verify && decision->verify;
	out->report_dkim = decision->verify;
	out->seal = arcseal_wanted(cfg, decision, internal) &&
	            !arcseal_sealed_here(hdrs, nhdrs, authserv_id);
	/* our results from an earlier pass: only a trusted client's are ours
	 * (an external one's were forged, and are removed) */
	for (size_t i = 0; out->seal && internal && i < nhdrs && !out->earlier_ar; i++) {
		if (strcasecmp(hdrs[i].name, "Authentication-Results") != 0 ||
		    !authres_is_ours(hdrs[i].value, authserv_id))
			continue;
		out->earlier_ar = true;
		if (!arcseal_ar_arc_result(hdrs[i].value, &out->earlier_cv))
			out->earlier_cv = DKIM_ARC_NONE;
	}
	out->validate = out->report || out->seal;
}

/* ---- the engine ----------------------------------------------------------------- */

const authres_arc *arcseal_ar(const arcseal *a, const dkim_msg *dkim, authres_arc *out)
{
	if (!a->validate)
		return NULL;
	memset(out, 0, sizeof(*out));
	out->result = dkim_msg_arc_result(dkim, &out->oldest_pass, NULL);
	out->remote_ip = a->remote_ip[0] != '\0' ? a->remote_ip : NULL;
	out->no_dkim = !a->report_dkim;
	return out;
}

/* The AAR: the Authentication-Results this pass states (engine callback,
 * at the end of the message once every result is known). */
static char *arcseal_results(void *arg, const dkim_msg *msg)
{
	const arcseal *a = arg;
	size_t n = a->report_dkim ? dkim_msg_result_count(msg) : 0;
	const dkim_sig_result **list = calloc(n + 1, sizeof(*list));
	authres_arc arc;
	char *value = NULL;

	if (list == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		list[i] = dkim_msg_result(msg, i);
	value = authres_format_arc(a->authserv_id, NULL, list, n,
	                           arcseal_ar(a, msg, &arc), "\r\n\t");
	free(list);
	return value;
}

/* The AMS h= list: each ARCSignHeaders name once per field present, never
 * an ARC field or Authentication-Results (§4.1.2). */
static const char **arcseal_headers(const config *cfg, const policy_header *hdrs,
                                    size_t nhdrs, size_t *count)
{
	const char **h = calloc(nhdrs + 1, sizeof(*h));
	*count = 0;
	if (h == NULL)
		return NULL;
	for (size_t k = 0; k < cfg->arc_sign_headers.count; k++) {
		const char *name = cfg->arc_sign_headers.names[k];
		if (strncasecmp(name, "ARC-", 4) == 0 ||
		    strcasecmp(name, "Authentication-Results") == 0)
			continue;
		for (size_t i = 0; i < nhdrs && *count < nhdrs; i++)
			if (strcasecmp(hdrs[i].name, name) == 0)
				h[(*count)++] = name;
	}
	return h;
}

dkim_status arcseal_start(arcseal *a, const config *cfg, dkim_msg *dkim,
                          const policy_header *hdrs, size_t nhdrs,
                          dkim_lookup_fn lookup, void *resolver, dkim_error *err)
{
	if (!a->validate)
		return DKIM_OK;
	dkim_status st = dkim_msg_arc_verify(dkim, lookup, resolver, err);
	if (st != DKIM_OK || !a->seal)
		return st;
	size_t nh = 0;
	const char **h = arcseal_headers(cfg, hdrs, nhdrs, &nh);
	if (h == NULL)
		return dkim_error_nomem(err);
	if (nh == 0) {   /* nothing to sign (no From): no set */
		a->seal = false;
		free(h);
		return DKIM_OK;
	}
	const keystore_entry *e = cfg->arc_key;
	dkim_arc_seal_params p = {
		.key = e->key, .alg = keystore_key_alg(e->key),
		.domain = e->domain, .selector = e->selector,
		.authserv_id = a->authserv_id, .headers = h, .nheaders = nh,
		.results = a->earlier_ar ? NULL : arcseal_results,
		.results_arg = a, .cv_given = a->earlier_ar, .cv = a->earlier_cv,
	};
	st = dkim_msg_arc_seal(dkim, &p, err);
	free(h);
	return st;
}

/* ---- the end of the message ------------------------------------------------------- */

/*
 * One field, CRLF folds made LF (the MTA writes its own line ends). A line
 * break not followed by white space would end the field and start another
 * (the AAR may copy an earlier Authentication-Results value): it gets a
 * tab, so the break stays a fold (RFC 5322 §2.2.3).
 */
static bool arcseal_insert_one(SMFICTX *ctx, const char *name, const char *value,
                               bool leadspc)
{
	size_t len = strlen(value), j = 0;
	char *v = malloc(2 * len + 2);
	if (v == NULL)
		return false;
	if (leadspc)
		v[j++] = ' ';
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\r')
			continue;
		v[j++] = value[i];
		size_t k = i + 1;
		while (value[k] == '\r')
			k++;
		if (value[i] == '\n' && value[k] != ' ' && value[k] != '\t')
			v[j++] = '\t';
	}
	v[j] = '\0';
	bool ok = smfi_insheader(ctx, 0, (char *)name, v) == MI_SUCCESS;
	free(v);
	return ok;
}

bool arcseal_insert(const arcseal *a, const dkim_msg *dkim, SMFICTX *ctx,
                    bool leadspc, bool *added)
{
	static const struct {
		dkim_arc_field which;
		const char *name;
	} order[] = {   /* each at the top: the seal ends up first */
		{ DKIM_ARC_FIELD_AAR, ARCSEAL_AAR },
		{ DKIM_ARC_FIELD_AMS, "ARC-Message-Signature" },
		{ DKIM_ARC_FIELD_AS, "ARC-Seal" },
	};
	*added = false;
	if (!a->seal || dkim_msg_arc_seal_field(dkim, DKIM_ARC_FIELD_AS) == NULL)
		return true;   /* §4.2.1: not past i=50, nor over a failed seal */
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		const char *v = dkim_msg_arc_seal_field(dkim, order[i].which);
		if (v == NULL || !arcseal_insert_one(ctx, order[i].name, v, leadspc))
			return false;
	}
	*added = true;
	return true;
}
