/*
 * dataset_ldap.c - "ldap:", "ldaps:", "ldapi:" data sets read from a
 * directory through libldap, and the configuration's LDAP keys.
 *
 * Interface: dataset_ldap.h. The URL is taken apart by libldap
 * (ldap_url_parse); dataset_ldap_filter, which turns OpenDKIM's per-key
 * filter into one that reads every entry, is pure and fuzzed
 * (tests/fuzz/fuzz_ldapfilter.c). One connection per read, bounded by
 * LDAPTimeout. Built when configure defines DKIMD_HAVE_LDAP; otherwise
 * opening says so.
 */
#include "dataset_ldap.h"
#include "dataset_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the filter ------------------------------------------------------------ */

static bool dsl_is_attr_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ';';
}

bool dataset_ldap_filter(const char *filter, char **attr, char **all,
                         char *why, size_t why_size)
{
	const char *d = strstr(filter, "$d");
	const char *start;

	*attr = *all = NULL;
	if (d == NULL || strstr(d + 2, "$d") != NULL) {
		snprintf(why, why_size, "the filter must hold \"$d\" once, "
		         "as (ATTRIBUTE=$d)");
		return false;
	}
	start = d;
	if (start == filter || start[-1] != '=' || d[2] != ')') {
		snprintf(why, why_size, "\"$d\" must be a whole value: "
		         "(ATTRIBUTE=$d)");
		return false;
	}
	start--;        /* at '=' */
	while (start > filter && dsl_is_attr_char(start[-1]))
		start--;
	if (start == d - 1 || start == filter || start[-1] != '(') {
		snprintf(why, why_size, "\"$d\" must be a whole value: "
		         "(ATTRIBUTE=$d)");
		return false;
	}
	*attr = strndup(start, (size_t)(d - 1 - start));
	if (*attr != NULL &&
	    asprintf(all, "%.*s*%s", (int)(d - filter), filter, d + 2) < 0)
		*all = NULL;
	if (*attr == NULL || *all == NULL) {
		free(*attr);
		*attr = NULL;
		snprintf(why, why_size, "out of memory");
		return false;
	}
	return true;
}

/* ---- the configuration's keys ---------------------------------------------- */

enum { DSL_KEY_USER, DSL_KEY_PASSWORD, DSL_KEY_TIMEOUT, DSL_KEY_TLS,
       DSL_KEY_MECH, DSL_KEY_SOFTSTART, DSL_KEY_KA_IDLE, DSL_KEY_KA_INTERVAL,
       DSL_KEY_KA_PROBES, DSL_KEY_AUTHNAME, DSL_KEY_AUTHREALM,
       DSL_KEY_AUTHUSER, DSL_KEY_TTL, DSL_NKEYS };

static const char *const dsl_keys[DSL_NKEYS] = {
	"LDAPBindUser", "LDAPBindPassword", "LDAPTimeout", "LDAPUseTLS",
	"LDAPAuthMechanism", "LDAPSoftStart", "LDAPKeepaliveIdle",
	"LDAPKeepaliveInterval", "LDAPKeepaliveProbes",
	"LDAPAuthName", "LDAPAuthRealm", "LDAPAuthUser",
	"DataSetTTL"    /* ours; config.c checks its value */
};

static char *dsl_settings[DSL_NKEYS];

bool dataset_ldap_is_option(const char *key)
{
	size_t i;

	/* The other one (LDAPDisableCache) does nothing here: config.c
	 * warns about it as about every unsupported key. */
	for (i = 0; i < DSL_NKEYS; i++)
		if (strcasecmp(key, dsl_keys[i]) == 0)
			return true;
	return false;
}

/* One configuration line: "KEY VALUE"; a "#" starts a comment. */
static void dsl_configure_line(const char *line, size_t len)
{
	size_t klen, v;
	const char *hash = memchr(line, '#', len);

	if (hash != NULL)
		len = (size_t)(hash - line);
	while (len > 0 && strchr(" \t\r", line[len - 1]) != NULL)
		len--;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	for (klen = 0; klen < len && line[klen] != ' ' && line[klen] != '\t'; klen++)
		;
	for (v = klen; v < len && (line[v] == ' ' || line[v] == '\t'); v++)
		;
	for (size_t i = 0; i < DSL_NKEYS; i++) {
		if (klen != strlen(dsl_keys[i]) ||
		    strncasecmp(line, dsl_keys[i], klen) != 0)
			continue;
		free(dsl_settings[i]);
		dsl_settings[i] = strndup(line + v, len - v);
	}
}

void dataset_ldap_configure(const char *buf, size_t len)
{
	size_t pos = 0;

	for (size_t i = 0; i < DSL_NKEYS; i++) {
		free(dsl_settings[i]);
		dsl_settings[i] = NULL;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		dsl_configure_line(buf + pos, l);
		pos += l + 1;
	}
}

static bool dsl_setting_on(int key)
{
	const char *v = dsl_settings[key];

	return v != NULL && (strcasecmp(v, "yes") == 0 ||
	                     strcasecmp(v, "true") == 0 ||
	                     strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0);
}

unsigned dataset_default_ttl(void)
{
	const char *t = dsl_settings[DSL_KEY_TTL];
	long v = t ? strtol(t, NULL, 10) : 0;

	return v > 0 && v <= 86400 ? (unsigned)v : DATASET_DSN_TTL;
}

bool dataset_ldap_soft_start(void)
{
	return dsl_setting_on(DSL_KEY_SOFTSTART);
}

#ifdef DKIMD_HAVE_LDAP
#define LDAP_DEPRECATED 0
#include <ldap.h>

#ifdef DKIMD_HAVE_SASL
#define DSL_SASL_NOTE ", SASL binds"
#else
#define DSL_SASL_NOTE ""
#endif

const char *dataset_ldap_library(void)
{
	static char version[64];
	LDAPAPIInfo info = { .ldapai_info_version = LDAP_API_INFO_VERSION };

	if (version[0] == '\0' &&
	    ldap_get_option(NULL, LDAP_OPT_API_INFO, &info) == LDAP_SUCCESS) {
		snprintf(version, sizeof(version), "%s %d%s",
		         info.ldapai_vendor_name ? info.ldapai_vendor_name
		                                 : "libldap",
		         info.ldapai_vendor_version, DSL_SASL_NOTE);
		ldap_memfree(info.ldapai_vendor_name);
		if (info.ldapai_extensions != NULL)
			ldap_memvfree((void **)info.ldapai_extensions);
	}
	return version[0] ? version : "libldap";
}

static unsigned dsl_timeout(void)
{
	const char *t = dsl_settings[DSL_KEY_TIMEOUT];
	long v = t ? strtol(t, NULL, 10) : 0;

	return v > 0 && v <= 3600 ? (unsigned)v : 5;
}

/*
 * LDAPKeepaliveIdle, LDAPKeepaliveInterval, LDAPKeepaliveProbes: TCP
 * keepalive on the connection (seconds idle before the first probe,
 * seconds between probes, probes before the connection is dropped), so a
 * read of a large directory through a firewall that forgets idle
 * connections fails within LDAPTimeout rather than hanging.
 */
static bool dsl_keepalive(LDAP *ld, char *why, size_t size)
{
	static const struct { int key, opt; } ka[] = {
		{ DSL_KEY_KA_IDLE, LDAP_OPT_X_KEEPALIVE_IDLE },
		{ DSL_KEY_KA_INTERVAL, LDAP_OPT_X_KEEPALIVE_INTERVAL },
		{ DSL_KEY_KA_PROBES, LDAP_OPT_X_KEEPALIVE_PROBES },
	};

	for (size_t i = 0; i < sizeof(ka) / sizeof(*ka); i++) {
		const char *v = dsl_settings[ka[i].key];
		char *end;
		long n;

		if (v == NULL)
			continue;
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 1 || n > 86400) {
			snprintf(why, size, "%s: '%.40s' is not 1 to 86400",
			         dsl_keys[ka[i].key], v);
			return false;
		}
		int val = (int)n;
		if (ldap_set_option(ld, ka[i].opt, &val) != LDAP_OPT_SUCCESS) {
			snprintf(why, size, "%s: refused by libldap",
			         dsl_keys[ka[i].key]);
			return false;
		}
	}
	return true;
}

/* "scheme://hostport" of the URL, for ldap_initialize. */
static char *dsl_server_uri(const char *spec)
{
	const char *host = strstr(spec, "://");
	const char *end;

	if (host == NULL)
		return NULL;
	end = strchr(host + 3, '/');
	return strndup(spec, end ? (size_t)(end - spec) : strlen(spec));
}

/*
 * The bind's reason for a failure: libldap's text for rc, and the server's
 * (or Cyrus SASL's) diagnostic message when there is one. Neither holds the
 * password; should one ever echo it, it is masked all the same.
 */
static void dsl_bind_reason(LDAP *ld, int rc, char *why, size_t size)
{
	const char *pw = dsl_settings[DSL_KEY_PASSWORD];
	char *diag = NULL;
	char *at;

	ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(why, size, "%s%s%s%s", ldap_err2string(rc),
	         diag && *diag ? " (" : "", diag && *diag ? diag : "",
	         diag && *diag ? ")" : "");
	ldap_memfree(diag);
	while (pw != NULL && *pw != '\0' && (at = strstr(why, pw)) != NULL)
		memset(at, '*', strlen(pw));
}

/* RFC 4513 §5.1.3: a simple bind, as LDAPBindUser with LDAPBindPassword;
 * anonymous (§5.1.1) without them. */
static bool dsl_bind_simple(LDAP *ld, char *why, size_t size)
{
	const char *user = dsl_settings[DSL_KEY_USER];
	const char *pw = dsl_settings[DSL_KEY_PASSWORD];
	struct berval cred = { pw ? strlen(pw) : 0, (char *)(pw ? pw : "") };
	char reason[320];
	int rc;

	rc = ldap_sasl_bind_s(ld, user, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	                      NULL);
	if (rc == LDAP_SUCCESS)
		return true;
	dsl_bind_reason(ld, rc, reason, sizeof(reason));
	snprintf(why, size, "cannot bind%s%s: %s", user ? " as " : "",
	         user ? user : "", reason);
	return false;
}

/* RFC 4422 §3.1: a SASL mechanism name is 1 to 20 characters of A-Z, 0-9,
 * "-" and "_" (Cyrus SASL takes it in either case). */
static bool dsl_sasl_mech_name(const char *mech)
{
	size_t n = strspn(mech, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                        "abcdefghijklmnopqrstuvwxyz0123456789-_");

	return n > 0 && n <= 20 && mech[n] == '\0';
}

#ifdef DKIMD_HAVE_SASL
#include <sasl/sasl.h>

/*
 * Cyrus SASL asks, through libldap, for what the mechanism needs (RFC 4422
 * §3.4.1 for the identities). As opendkim.conf(5) of OpenDKIM has it:
 * the authentication identity from LDAPAuthName, the password from
 * LDAPBindPassword, the realm from LDAPAuthRealm and the authorization
 * identity from LDAPAuthUser. An unset key takes SASL's default, or
 * nothing: an empty authorization identity is the authentication one.
 */
static int dsl_sasl_interact(LDAP *ld, unsigned flags, void *defaults,
                             void *list)
{
	(void)ld;
	(void)flags;
	(void)defaults;
	for (sasl_interact_t *in = list; in->id != SASL_CB_LIST_END; in++) {
		const char *v = NULL;

		switch (in->id) {
		case SASL_CB_AUTHNAME:
			v = dsl_settings[DSL_KEY_AUTHNAME];
			break;
		case SASL_CB_PASS:
			v = dsl_settings[DSL_KEY_PASSWORD];
			break;
		case SASL_CB_GETREALM:
			v = dsl_settings[DSL_KEY_AUTHREALM];
			break;
		case SASL_CB_USER:
			v = dsl_settings[DSL_KEY_AUTHUSER];
			break;
		default:
			break;
		}
		if (v == NULL)
			v = in->defresult ? in->defresult : "";
		in->result = v;
		in->len = (unsigned)strlen(v);
	}
	return LDAP_SUCCESS;
}

/* RFC 4513 §5.2: a SASL bind with LDAPAuthMechanism, run by libldap
 * (ldap_sasl_interactive_bind_s) with the answers above. */
static bool dsl_bind_sasl(LDAP *ld, const char *mech, char *why, size_t size)
{
	const char *name = dsl_settings[DSL_KEY_AUTHNAME];
	char reason[320];
	int rc;

	rc = ldap_sasl_interactive_bind_s(ld, NULL, mech, NULL, NULL,
	                                  LDAP_SASL_QUIET, dsl_sasl_interact,
	                                  NULL);
	if (rc == LDAP_SUCCESS)
		return true;
	dsl_bind_reason(ld, rc, reason, sizeof(reason));
	snprintf(why, size, "cannot bind with SASL %s%s%s: %s", mech,
	         name ? " as " : "", name ? name : "", reason);
	return false;
}
#else
static bool dsl_bind_sasl(LDAP *ld, const char *mech, char *why, size_t size)
{
	(void)ld;
	snprintf(why, size, "LDAPAuthMechanism %s: this build has no SASL "
	         "binds (configure found no sasl/sasl.h: libsasl2-dev)", mech);
	return false;
}
#endif

/* LDAPAuthMechanism: empty or "simple" for a simple bind, otherwise the
 * name of a SASL mechanism (EXTERNAL, PLAIN, DIGEST-MD5, GSSAPI...). */
static bool dsl_bind(LDAP *ld, char *why, size_t size)
{
	const char *mech = dsl_settings[DSL_KEY_MECH];

	if (mech == NULL || *mech == '\0' || strcasecmp(mech, "simple") == 0)
		return dsl_bind_simple(ld, why, size);
	if (!dsl_sasl_mech_name(mech)) {
		snprintf(why, size, "LDAPAuthMechanism '%.40s' is neither "
		         "simple nor a SASL mechanism name", mech);
		return false;
	}
	return dsl_bind_sasl(ld, mech, why, size);
}

static bool dsl_connect(LDAP **ld, const char *uri, char *why, size_t size)
{
	int version = LDAP_VERSION3, rc;
	struct timeval tv = { (time_t)dsl_timeout(), 0 };

	if ((rc = ldap_initialize(ld, uri)) != LDAP_SUCCESS) {
		snprintf(why, size, "%s", ldap_err2string(rc));
		return false;
	}
	ldap_set_option(*ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(*ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(*ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(*ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (!dsl_keepalive(*ld, why, size))
		return false;
	if (dsl_setting_on(DSL_KEY_TLS) && strncasecmp(uri, "ldap:", 5) == 0 &&
	    (rc = ldap_start_tls_s(*ld, NULL, NULL)) != LDAP_SUCCESS) {
		snprintf(why, size, "StartTLS: %s", ldap_err2string(rc));
		return false;
	}
	return dsl_bind(*ld, why, size);
}

/* The first value of attr in entry e (NULL when it has none). */
static struct berval **dsl_values(LDAP *ld, LDAPMessage *e, const char *attr)
{
	return ldap_get_values_len(ld, e, attr);
}

static bool dsl_entry_rows(LDAP *ld, LDAPMessage *e, const char *keyattr,
                            char **attrs, size_t nattrs, dataset_rows *rows)
{
	struct berval **vals[DATASET_DSN_MAX_COLS] = { 0 }, **keys;
	const char *v[DATASET_DSN_MAX_COLS];
	size_t lens[DATASET_DSN_MAX_COLS];
	bool ok = true;

	for (size_t i = 0; i < nattrs; i++) {
		vals[i] = dsl_values(ld, e, attrs[i]);
		v[i] = vals[i] && vals[i][0] ? vals[i][0]->bv_val : NULL;
		lens[i] = vals[i] && vals[i][0] ? vals[i][0]->bv_len : 0;
	}
	keys = dsl_values(ld, e, keyattr);
	for (size_t k = 0; ok && keys != NULL && keys[k] != NULL; k++)
		ok = dataset_rows_add(rows, keys[k]->bv_val, keys[k]->bv_len,
		                      v, lens, nattrs);
	ldap_value_free_len(keys);
	for (size_t i = 0; i < nattrs; i++)
		ldap_value_free_len(vals[i]);
	return ok;
}

/* Searches and adds every entry. */
static bool dsl_read(LDAP *ld, LDAPURLDesc *u, const char *keyattr,
                      const char *filter, size_t nattrs, dataset_rows *rows,
                      char *why, size_t size)
{
	struct timeval tv = { (time_t)dsl_timeout(), 0 };
	char *want[DATASET_DSN_MAX_COLS + 2];
	LDAPMessage *res = NULL, *e;
	bool ok = true;
	int rc;

	for (size_t i = 0; i < nattrs; i++)
		want[i] = u->lud_attrs[i];
	want[nattrs] = (char *)keyattr;
	want[nattrs + 1] = NULL;
	rc = ldap_search_ext_s(ld, u->lud_dn, u->lud_scope, filter, want, 0,
	                       NULL, NULL, &tv, 0, &res);
	if (rc != LDAP_SUCCESS) {
		snprintf(why, size, "search failed: %s", ldap_err2string(rc));
		ldap_msgfree(res);
		return false;
	}
	for (e = ldap_first_entry(ld, res); ok && e != NULL;
	     e = ldap_next_entry(ld, e))
		ok = dsl_entry_rows(ld, e, keyattr, u->lud_attrs, nattrs, rows);
	ldap_msgfree(res);
	return ok;
}

/* x-ttl=N among the URL's extensions (default DATASET_DSN_TTL). */
static unsigned dsl_ttl(LDAPURLDesc *u)
{
	for (size_t i = 0; u->lud_exts != NULL && u->lud_exts[i] != NULL; i++) {
		const char *x = u->lud_exts[i];

		if (*x == '!')
			x++;
		if (strncasecmp(x, "x-ttl=", 6) == 0) {
			long v = strtol(x + 6, NULL, 10);

			if (v > 0 && v <= 86400)
				return (unsigned)v;
		}
	}
	return dataset_default_ttl();
}

static bool dsl_fetch(const char *spec, LDAPURLDesc *u, dataset_rows *rows,
                       char *why, size_t size)
{
	char *keyattr = NULL, *filter = NULL, *uri = dsl_server_uri(spec);
	size_t nattrs = 0;
	LDAP *ld = NULL;
	bool ok = false;

	while (u->lud_attrs != NULL && u->lud_attrs[nattrs] != NULL)
		nattrs++;
	if (uri == NULL)
		snprintf(why, size, "out of memory");
	else if (nattrs == 0 || nattrs > DATASET_DSN_MAX_COLS)
		snprintf(why, size, "name 1 to %d attributes to return",
		         DATASET_DSN_MAX_COLS);
	else if (u->lud_dn != NULL && strstr(u->lud_dn, "$d") != NULL)
		snprintf(why, size, "\"$d\" in the base DN: put it in the "
		         "filter, as (ATTRIBUTE=$d)");
	else if (u->lud_filter == NULL)
		snprintf(why, size, "no filter: it must hold (ATTRIBUTE=$d)");
	else if (dataset_ldap_filter(u->lud_filter, &keyattr, &filter, why,
	                             size) &&
	         dsl_connect(&ld, uri, why, size))
		ok = dsl_read(ld, u, keyattr, filter, nattrs, rows, why, size);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	free(keyattr);
	free(filter);
	free(uri);
	return ok;
}

dataset *dataset_open_ldap(const char *spec, const char *where,
                           diag_list *diag)
{
	LDAPURLDesc *u = NULL;
	dataset_rows *rows;
	char why[512] = "";
	size_t errors = diag->errors;
	int rc;
	bool ok;

	if ((rc = ldap_url_parse(spec, &u)) != LDAP_URL_SUCCESS) {
		diag_add(diag, DIAG_ERROR, "%s: data set '%s': not an LDAP URL "
		         "(error %d)", where ? where : spec, spec, rc);
		return NULL;
	}
	if ((rows = dataset_rows_new(spec, diag)) == NULL) {
		ldap_free_urldesc(u);
		return NULL;
	}
	/* Noted before the read: a data set that cannot be read now (at
	 * LDAPSoftStart, or in an outage) is tried again every ttl. */
	dataset_refresh_note(dsl_ttl(u));
	ok = dsl_fetch(spec, u, rows, why, sizeof(why));
	if (!ok && diag->errors == errors)
		diag_add(diag, DIAG_ERROR, "%s: data set '%s': %s",
		         where ? where : spec, spec, why[0] ? why : "out of memory");
	ldap_free_urldesc(u);
	return dataset_rows_end(rows, ok);
}

#else

const char *dataset_ldap_library(void)
{
	return NULL;
}

dataset *dataset_open_ldap(const char *spec, const char *where,
                           diag_list *diag)
{
	diag_add(diag, DIAG_ERROR, "%s: data set '%s': this build has no LDAP "
	         "support (configure found no libldap)", where ? where : spec,
	         spec);
	return NULL;
}

#endif
