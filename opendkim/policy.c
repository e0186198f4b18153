/*
 * policy.c - who gets signed, with which keys, over which header fields.
 *
 * Interface: policy.h. Pure functions of the loaded configuration and the
 * facts the milter gathered (client address and name, authentication,
 * header fields). The only I/O is reading a per-domain "%" key file named
 * by the KeyTable, through keystore_entry_key.
 *
 * Errors: policy_find_signers, policy_evaluate and policy_sign_headers return a
 * dkim_status with a message; the rest cannot fail.
 */
#include "policy.h"

#include "authres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the client ------------------------------------------------------------ */

bool policy_client_is_peer(const config *cfg, const policy_client *client)
{
	return hostlist_match(cfg->peer_list, client->addr, client->hostname);
}

/* value is one of the "|"-separated values (compared with case). */
static bool policy_macro_value_listed(const char *values, const char *value)
{
	size_t len = strlen(value);

	while (values != NULL) {
		const char *bar = strchr(values, '|');
		size_t n = bar != NULL ? (size_t)(bar - values) : strlen(values);

		if (n == len && memcmp(values, value, len) == 0)
			return true;
		values = bar != NULL ? bar + 1 : NULL;
	}
	return false;
}

bool policy_macro_listed(const config *cfg, policy_macro_fn get, void *arg)
{
	size_t i;

	for (i = 0; i < cfg->nmacros; i++) {
		const config_macro *m = &cfg->macros[i];
		const char *value = get(arg, m->name);

		if (value != NULL && (m->values == NULL ||
		                      policy_macro_value_listed(m->values, value)))
			return true;
	}
	return false;
}

bool policy_client_is_internal(const config *cfg, const policy_client *client)
{
	return client->authenticated || client->macro_listed ||
	       (cfg->mtas != NULL && client->daemon_name != NULL &&
	        dataset_contains(cfg->mtas, client->daemon_name)) ||
	       hostlist_match(cfg->internal_hosts, client->addr,
	                      client->hostname);
}

bool policy_client_is_ignored_external(const config *cfg,
                                       const policy_client *client)
{
	return hostlist_match(cfg->external_ignore, client->addr,
	                      client->hostname);
}

/* ---- the sender ------------------------------------------------------------ */

/*
 * A field name as the engine reads it: case-insensitive, white space before
 * the colon ignored (RFC 5322 §4.5 obs-optional: "From :" is a From field).
 */
static bool policy_name_is(const char *name, const char *want)
{
	size_t len = strlen(name);

	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

static size_t policy_count_fields(const policy_header *hdrs, size_t n,
                                  const char *want)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += policy_name_is(hdrs[i].name, want);
	return count;
}

bool policy_sender(const config *cfg, const policy_header *hdrs, size_t n,
                   policy_sender_addr *out)
{
	size_t i, j;

	memset(out, 0, sizeof(*out));
	/*
	 * RFC 5322 §3.6: exactly one From. A signature over a message with two
	 * fails at every verifier (ours says "multiple From fields"), so such
	 * a message has no sender to sign for.
	 */
	if (policy_count_fields(hdrs, n, "From") > 1)
		return false;
	/* opendkim.conf(5) SenderHeaders: the first field found is used */
	for (i = 0; i < cfg->sender_headers.count; i++) {
		const char *want = cfg->sender_headers.names[i];

		for (j = 0; j < n; j++) {
			if (!policy_name_is(hdrs[j].name, want))
				continue;
			return hdrs[j].value != NULL &&
			       dkim_header_address(hdrs[j].value, out->local,
			                           sizeof(out->local),
			                           out->domain,
			                           sizeof(out->domain)) &&
			       out->domain[0] != '\0';
		}
	}
	return false;
}

/* ---- signers --------------------------------------------------------------- */

void policy_signers_free(policy_signers *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->count; i++) {
		if (s->v[i].key_owned)
			dkim_privkey_free(s->v[i].key);
		free(s->v[i].domain);
		free(s->v[i].selector);
		free(s->v[i].identity);
	}
	free(s->v);
	s->v = NULL;
	s->count = 0;
}

/* RFC 6376 §3.5 i=: its domain must be d= or a subdomain of it. */
static bool policy_identity_within(const char *identity, const char *d)
{
	const char *at = strrchr(identity, '@');
	const char *dom = at ? at + 1 : identity;
	size_t dl = strlen(dom), l = strlen(d);

	if (strcasecmp(dom, d) == 0)
		return true;
	return dl > l && dom[dl - l - 1] == '.' &&
	       strcasecmp(dom + dl - l, d) == 0;
}

/* "%"-expanded identity with an "@" (OpenDKIM accepts a bare domain). */
static char *policy_identity(const char *signer, const char *sender_domain,
                             const char *d)
{
	char *id, *with_at;

	if (signer == NULL || signer[0] == '\0')
		return NULL;
	id = keystore_expand(signer, sender_domain);
	if (id == NULL || strchr(id, '@') != NULL)
		goto check;
	if (asprintf(&with_at, "@%s", id) < 0)
		with_at = NULL;
	free(id);
	id = with_at;
check:
	if (id != NULL && !policy_identity_within(id, d)) {
		free(id);   /* opendkim.conf(5): dropped when it conflicts */
		id = NULL;
	}
	return id;
}

static bool policy_has_key(const policy_signers *out, const char *keyname)
{
	size_t i;

	for (i = 0; i < out->count; i++)
		if (strcasecmp(out->v[i].keyname, keyname) == 0)
			return true;
	return false;
}

/*
 * Appends a signer for KeyTable entry e. d_domain replaces a "%" domain
 * (the sender's domain, or the matched Domain entry).
 */
static dkim_status policy_add_signer(const config *cfg,
                                     const keystore_entry *e,
                                     const char *d_domain,
                                     const char *sender_domain,
                                     const char *signer,
                                     policy_signers *out, dkim_error *err)
{
	policy_signer *v, *s;

	v = realloc(out->v, (out->count + 1) * sizeof(*v));
	if (v == NULL)
		goto nomem;
	out->v = v;
	s = &v[out->count];
	memset(s, 0, sizeof(*s));
	if (!keystore_entry_key(e, sender_domain, &cfg->keys->opts, &s->key,
	                        &s->key_owned, err))
		return err->status != DKIM_OK ? err->status : DKIM_ERR_KEY;
	out->count++;
	s->keyname = e->name;
	s->alg = keystore_key_alg(s->key);
	s->domain = keystore_expand(e->domain, d_domain);
	s->selector = strdup(e->selector);
	if (s->domain == NULL || s->selector == NULL)
		goto nomem;
	s->identity = policy_identity(signer, sender_domain, s->domain);
	return DKIM_OK;
nomem:
	return dkim_error_nomem(err);
}

/*
 * A lookup that found nothing in a data set whose last read from its
 * database failed: the row may have been added since, so "not listed"
 * cannot be trusted and the message must not pass unsigned. An internal
 * error (On-InternalError, tempfail by default) until it is read again.
 */
static dkim_status policy_stale(const dataset *ds, const char *what,
                                const char *key, dkim_error *err)
{
	if (err != NULL) {
		err->status = DKIM_ERR_IO;
		int n = snprintf(err->message, sizeof(err->message), "%s '%.100s' "
		                 "could not be read again and has no entry for ",
		                 what, ds->file);

		if (n > 0 && (size_t)n < sizeof(err->message))
			snprintf(err->message + n, sizeof(err->message) - (size_t)n,
			         "'%.60s'", key);
	}
	return DKIM_ERR_IO;
}

/*
 * Applies one SigningTable entry. *done is set when no further entries
 * should be looked at (first match without MultipleSignatures).
 */
static dkim_status policy_apply_entry(const config *cfg,
                                      const dataset_entry *de,
                                      const policy_sender_addr *sender,
                                      policy_signers *out, bool *done,
                                      dkim_error *err)
{
	char keyname[CONFIG_NAME_MAX], signer[CONFIG_NAME_MAX];
	const char *name = keyname;
	const keystore_entry *e;

	if (!config_signing_value(de, keyname, signer))
		return DKIM_OK;         /* refused at load: cannot happen */
	if (strcmp(keyname, "%") == 0)
		name = sender->domain;  /* opendkim.conf(5) SigningTable */
	e = keystore_find(cfg->keys, name);
	if (e == NULL && dataset_is_stale(cfg->keytable))
		return policy_stale(cfg->keytable, "KeyTable", name, err);
	if (e == NULL || policy_has_key(out, e->name))
		return DKIM_OK;
	*done = !cfg->multiple_signatures;
	return policy_add_signer(cfg, e, sender->domain, sender->domain,
	                         signer, out, err);
}

/* Every entry matching key, in file order, until done. */
static dkim_status policy_lookup(const config *cfg, const char *key,
                                 const policy_sender_addr *sender,
                                 policy_signers *out, bool *done,
                                 dkim_error *err)
{
	size_t pos = 0;
	const dataset_entry *de;
	dkim_status st = DKIM_OK;

	while (!*done && st == DKIM_OK &&
	       (de = dataset_next_match(cfg->signingtable, key, &pos)) != NULL)
		st = policy_apply_entry(cfg, de, sender, out, done, err);
	return st;
}

/* Looks up "user@" prefix + rest as one key. */
static dkim_status policy_lookup2(const config *cfg, const char *prefix,
                                  const char *rest,
                                  const policy_sender_addr *sender,
                                  policy_signers *out, bool *done,
                                  dkim_error *err)
{
	char *key;
	dkim_status st;

	if (*done)
		return DKIM_OK;
	if (asprintf(&key, "%s%s", prefix, rest) < 0)
		return dkim_error_nomem(err);
	st = policy_lookup(cfg, key, sender, out, done, err);
	free(key);
	return st;
}

/*
 * opendkim.conf(5) SigningTable, non-refile order: user@host, host, then
 * (SubDomains) user@.parent and .parent for each parent, then user@*, *.
 */
static dkim_status policy_signingtable(const config *cfg,
                                       const policy_sender_addr *sender,
                                       policy_signers *out, dkim_error *err)
{
	char user[POLICY_LOCAL_MAX + 1];
	const char *p;
	bool done = false;
	dkim_status st;

	snprintf(user, sizeof(user), "%s@", sender->local);
	if (cfg->signingtable->kind == DATASET_REFILE)
		return policy_lookup2(cfg, user, sender->domain, sender, out,
		                      &done, err);
	st = policy_lookup2(cfg, user, sender->domain, sender, out, &done, err);
	if (st == DKIM_OK)
		st = policy_lookup(cfg, sender->domain, sender, out, &done, err);
	for (p = strchr(sender->domain, '.');
	     cfg->subdomains && p != NULL && st == DKIM_OK;
	     p = strchr(p + 1, '.')) {
		st = policy_lookup2(cfg, user, p, sender, out, &done, err);
		if (st == DKIM_OK)
			st = policy_lookup(cfg, p, sender, out, &done, err);
	}
	if (st == DKIM_OK)
		st = policy_lookup2(cfg, user, "*", sender, out, &done, err);
	if (st == DKIM_OK)
		st = policy_lookup(cfg, "*", sender, out, &done, err);
	return st;
}

/* Domain + KeyFile: the sender domain (or a parent, with SubDomains). */
static dkim_status policy_single_key(const config *cfg,
                                     const policy_sender_addr *sender,
                                     policy_signers *out, dkim_error *err)
{
	const char *d = sender->domain;
	const keystore_entry *e = keystore_find(cfg->keys, "default");

	/* OpenDKIM's "Domain *": any sender domain, signed as itself. */
	if (e != NULL && dataset_contains(cfg->domains, "*"))
		return policy_add_signer(cfg, e, d, sender->domain, NULL, out, err);
	while (e != NULL && d != NULL && *d != '\0') {
		if (dataset_contains(cfg->domains, d))
			return policy_add_signer(cfg, e, d, sender->domain,
			                         NULL, out, err);
		if (!cfg->subdomains)
			break;
		d = strchr(d, '.');
		if (d != NULL)
			d++;
	}
	return DKIM_OK;
}

dkim_status policy_find_signers(const config *cfg,
                                const policy_sender_addr *sender,
                                policy_signers *out, dkim_error *err)
{
	out->v = NULL;
	out->count = 0;
	if (cfg->keys == NULL || sender->domain[0] == '\0')
		return DKIM_OK;
	if (cfg->signingtable != NULL) {
		dkim_status st = policy_signingtable(cfg, sender, out, err);

		if (st == DKIM_OK && out->count == 0 &&
		    dataset_is_stale(cfg->signingtable))
			return policy_stale(cfg->signingtable, "SigningTable",
			                    sender->domain, err);
		return st;
	}
	if (cfg->domains != NULL) {
		dkim_status st = policy_single_key(cfg, sender, out, err);

		if (st == DKIM_OK && out->count == 0 &&
		    dataset_is_stale(cfg->domains))
			return policy_stale(cfg->domains, "Domain",
			                    sender->domain, err);
		return st;
	}
	return DKIM_OK;
}

/* ---- malformed messages ------------------------------------------------------ */

/* RFC 5322 §3.6 table: the fields a message has at most once. */
static const char *const policy_once_fields[] = {
	"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID",
	"In-Reply-To", "References", "Subject",
};

static bool policy_field_repeated(const policy_header *hdrs, size_t n, const char *name)
{
	size_t seen = 0;

	for (size_t i = 0; i < n && seen < 2; i++)
		seen += strcasecmp(hdrs[i].name, name) == 0;
	return seen > 1;
}

bool policy_message_malformed(const config *cfg, const policy_header *hdrs, size_t n,
                              bool have_sender)
{
	/* Several From fields leave no sender to sign for (policy_sender),
	 * but are verified (the signatures fail) unless StrictHeaders. */
	if (!have_sender && !policy_field_repeated(hdrs, n, "From"))
		return true;
	if (!cfg->strict_headers)
		return false;
	for (size_t i = 0; i < sizeof(policy_once_fields) / sizeof(*policy_once_fields); i++)
		if (policy_field_repeated(hdrs, n, policy_once_fields[i]))
			return true;
	return false;
}

/* ---- the decision ---------------------------------------------------------- */

const char *policy_why_text(policy_why why)
{
	switch (why) {
	case POLICY_WHY_NONE:
		return "signed";
	case POLICY_WHY_MODE:
		return "signing mode not enabled";
	case POLICY_WHY_NO_SENDER:
		return "no sender address found";
	case POLICY_WHY_NOT_OURS:
		return "sender domain not in SigningTable or Domain";
	case POLICY_WHY_EXTERNAL:
		return "client neither internal nor authenticated";
	case POLICY_WHY_NO_KEYS:
		return "no signing keys configured";
	case POLICY_WHY_EXEMPT:
		return "sender domain in ExemptDomains";
	case POLICY_WHY_RCPT:
		return "a recipient is in DontSignMailTo";
	}
	return "unknown";
}

void policy_decide(const config *cfg, const policy_facts *facts,
                   policy_decision *out)
{
	memset(out, 0, sizeof(*out));
	if (facts->exempt) {            /* "ignored entirely by the filter" */
		out->why = POLICY_WHY_EXEMPT;
		return;
	}
	if (!cfg->sign)
		out->why = POLICY_WHY_MODE;
	else if (!facts->have_sender)
		out->why = POLICY_WHY_NO_SENDER;
	else if (cfg->keys == NULL)
		out->why = POLICY_WHY_NO_KEYS;
	else if (facts->nsigners == 0)
		out->why = POLICY_WHY_NOT_OURS;
	else if (!facts->internal) {
		out->why = POLICY_WHY_EXTERNAL;
		out->log_external = !facts->ignored_external;
	} else if (facts->no_sign_rcpt)
		out->why = POLICY_WHY_RCPT;
	else
		out->sign = true;
	/* OpenDKIM signs or verifies a message, never both; and a message
	 * that only a DontSignMailTo recipient keeps from being signed is
	 * left alone (accepted at the end of headers, as OpenDKIM does). */
	out->verify = !out->sign && out->why != POLICY_WHY_RCPT && cfg->verify;
}

bool policy_eoh_action(const config *cfg, const policy_decision *d,
                       bool all_unparsable, config_action *action)
{
	config_action a = cfg->on_bad_signature;

	if (!d->verify || !all_unparsable)
		return false;
	/* accept needs the end of the message for its Authentication-Results,
	 * quarantine for the quarantine request (policy.h) */
	if (a != CONFIG_ACT_REJECT && a != CONFIG_ACT_TEMPFAIL && a != CONFIG_ACT_DISCARD)
		return false;
	*action = a;
	return true;
}

/*
 * Who signs: SigningTable / Domain matches for the sender. For an internal
 * client a failure (e.g. a "%" key file missing) is the caller's to report;
 * for an external one the answer only serves the "external host sent as
 * our domain" log line, so a failure just means no signers.
 */
static dkim_status policy_evaluate_signers(const config *cfg, bool internal,
                                           const policy_sender_addr *sender,
                                           policy_signers *out, dkim_error *err)
{
	dkim_status st;

	if (!cfg->sign)
		return DKIM_OK;
	/* An untrusted client's sender domain is looked up (and may go into a
	 * "%" key path) only when it is a plain name. */
	if (!internal &&
	    !dkim_domain_valid(sender->domain, strlen(sender->domain), DKIM_DOMAIN_TEXT))
		return DKIM_OK;
	st = policy_find_signers(cfg, sender, out, err);
	if (st == DKIM_OK && !internal && out->count > 0 &&
	    hostlist_is_stale(cfg->internal_hosts)) {
		/* A client of ours added to InternalHosts during an outage
		 * would pass unsigned: the same internal error as a stale
		 * SigningTable miss. */
		st = DKIM_ERR_IO;
		if (err != NULL) {
			err->status = st;
			snprintf(err->message, sizeof(err->message),
			         "InternalHosts could not be read again and does "
			         "not list the client; its sender domain is signed "
			         "here");
		}
		policy_signers_free(out);
		return st;
	}
	if (st == DKIM_OK)
		return DKIM_OK;
	policy_signers_free(out);
	return internal ? st : DKIM_OK;
}

dkim_status policy_evaluate(const config *cfg, const policy_client *client,
                            const policy_header *hdrs, size_t n,
                            bool no_sign_rcpt, policy_evaluation *out,
                            dkim_error *err)
{
	policy_sender_addr sender;
	policy_facts facts;
	dkim_status st;

	memset(out, 0, sizeof(*out));
	memset(&facts, 0, sizeof(facts));
	facts.internal = policy_client_is_internal(cfg, client);
	facts.ignored_external = policy_client_is_ignored_external(cfg, client);
	facts.have_sender = policy_sender(cfg, hdrs, n, &sender);
	facts.exempt = facts.have_sender && policy_sender_exempt(cfg, &sender);
	facts.no_sign_rcpt = no_sign_rcpt;
	if (facts.have_sender && !facts.exempt) {
		st = policy_evaluate_signers(cfg, facts.internal, &sender,
		                             &out->signers, err);
		if (st != DKIM_OK)
			return st;
	}
	facts.nsigners = out->signers.count;
	policy_decide(cfg, &facts, &out->decision);
	if (!out->decision.sign)
		policy_signers_free(&out->signers);   /* e.g. "%" keys loaded for nothing */
	out->internal = facts.internal;
	out->have_sender = facts.have_sender;
	return DKIM_OK;
}

bool policy_ar_forged(const config *cfg, const char *authserv_id,
                      const char *value)
{
	char id[AUTHRES_ID_MAX];
	char *slash;

	if (cfg->remove_ar_all || authres_is_ours(value, authserv_id))
		return true;
	if (cfg->remove_ar_from == NULL ||
	    !authres_authserv_id(value, id, sizeof(id)))
		return false;
	/* "host/JOB" is host's field with a job id (AuthservIDWithJobID). */
	slash = strchr(id, '/');
	if (slash != NULL)
		*slash = '\0';
	return hostlist_match_name(cfg->remove_ar_from, id);
}

bool policy_sender_exempt(const config *cfg, const policy_sender_addr *sender)
{
	return cfg->exempt_domains != NULL && sender->domain[0] != '\0' &&
	       dataset_contains(cfg->exempt_domains, sender->domain);
}

bool policy_rcpt_no_sign(const config *cfg, const char *rcpt)
{
	const dataset *ds = cfg->dont_sign_mail_to;
	size_t len;

	if (ds == NULL || rcpt == NULL)
		return false;
	/* RFC 5321 §4.1.2: Forward-path = "<" Mailbox ">" (the MTA may also
	 * give it bare); the brackets are not part of the address. */
	len = strlen(rcpt);
	if (len >= 2 && rcpt[0] == '<' && rcpt[len - 1] == '>') {
		char *bare = strndup(rcpt + 1, len - 2);
		bool hit;

		if (bare == NULL)
			return true;    /* out of memory: not signing is safe */
		hit = dataset_contains(ds, bare);
		free(bare);
		return hit;
	}
	return dataset_contains(ds, rcpt);
}

/* ---- what to sign ---------------------------------------------------------- */

static bool policy_push(const char ***list, size_t *n, size_t *cap,
                        const char *name)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		const char **bigger = realloc(*list, ncap * sizeof(char *));

		if (bigger == NULL)
			return false;
		*list = bigger;
		*cap = ncap;
	}
	(*list)[(*n)++] = name;
	return true;
}

bool policy_is_signature_field(const char *name)
{
	return strcasecmp(name, "DKIM-Signature") == 0;
}

static bool policy_should_sign(const config *cfg, const char *name)
{
	/* RFC 6376 §5.4: From MUST be signed, whatever OmitHeaders says */
	if (strcasecmp(name, "From") == 0)
		return true;
	if (config_names_has(&cfg->omit_headers, name))
		return false;
	/* RemoveOldSignatures: those fields are deleted as we sign; a
	 * signature over them would break on its way out. */
	if (cfg->remove_old_signatures && policy_is_signature_field(name))
		return false;
	return config_names_has(&cfg->sign_headers, name) ||
	       config_names_has(&cfg->oversign_headers, name);
}

dkim_status policy_sign_headers(const config *cfg, const char *const *names,
                                size_t n, const char ***out, size_t *nout,
                                dkim_error *err)
{
	const char **list = NULL;
	size_t count = 0, cap = 0, i;
	bool from = false, ok = true;

	for (i = 0; i < n && ok; i++) {
		if (!policy_should_sign(cfg, names[i]))
			continue;
		from = from || strcasecmp(names[i], "From") == 0;
		ok = policy_push(&list, &count, &cap, names[i]);
	}
	if (ok && !from && !config_names_has(&cfg->oversign_headers, "From"))
		ok = policy_push(&list, &count, &cap, "From");
	/* RFC 6376 §8.15: one more instance than present stops additions */
	for (i = 0; i < cfg->oversign_headers.count && ok; i++)
		if (!cfg->remove_old_signatures ||
		    !policy_is_signature_field(cfg->oversign_headers.names[i]))
			ok = policy_push(&list, &count, &cap,
			                 cfg->oversign_headers.names[i]);
	if (!ok) {
		free(list);
		*out = NULL;
		*nout = 0;
		return dkim_error_nomem(err);
	}
	*out = list;
	*nout = count;
	return DKIM_OK;
}
