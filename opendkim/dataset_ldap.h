/*
 * dataset_ldap.h - data sets kept in an LDAP directory: the "ldap:",
 * "ldaps:" and "ldapi:" names of OpenDKIM (opendkim(8) DATA SETS), read
 * through libldap (OpenLDAP's client library, Debian libldap-dev).
 *
 * Name syntax: an LDAP URL (RFC 4516)
 *   ldap://HOST[:PORT]/BASE?ATTR1,ATTR2...?SCOPE?(KEYATTR=$d)[?x-ttl=N]
 * OpenDKIM puts the looked-up key where "$d" is and returns ATTR1, ATTR2...
 * of the entry found. Here the directory is read whole, as "dsn:" tables
 * are (dataset_backend.h): "$d" becomes "*", every entry with KEYATTR is
 * read once, and each value of KEYATTR is a key whose value is
 * "ATTR1:ATTR2:..." (first value of each; the KeyTable's
 * DOMAIN:SELECTOR:KEY). So "$d" must appear once, as "(KEYATTR=$d)" in the
 * filter. x-ttl= (seconds, default DATASET_DSN_TTL) is how often it is
 * read again; SIGHUP reads it at once.
 *
 * Connection settings come from the configuration's LDAP keys
 * (dataset_ldap_configure): LDAPBindUser and LDAPBindPassword (simple
 * bind; anonymous without them), LDAPTimeout (seconds for connecting and
 * for the search, default 5), LDAPUseTLS (StartTLS on ldap:),
 * LDAPAuthMechanism (empty or "simple": a simple bind; otherwise a SASL
 * mechanism, RFC 4513 §5.2, bound with ldap_sasl_interactive_bind_s, which
 * asks for LDAPAuthName (authentication identity), LDAPBindPassword,
 * LDAPAuthRealm and LDAPAuthUser (authorization identity); built when
 * configure defines DKIMD_HAVE_SASL, libsasl2-dev), LDAPKeepaliveIdle/
 * Interval/Probes (TCP keepalive while reading), LDAPSoftStart (a
 * directory that cannot be read at start gives an empty, stale data set:
 * config.c). LDAPDisableCache does nothing and is warned about by
 * config.c. The password never appears in messages.
 *
 * Errors: a load error "WHERE: data set 'URL': REASON".
 */
#ifndef ODK_DATASET_LDAP_H
#define ODK_DATASET_LDAP_H

#include <stdbool.h>
#include <stddef.h>

#include "dataset.h"

/*
 * From an OpenDKIM filter holding "(KEYATTR=$d)" once: *attr (KEYATTR)
 * and *all (the filter with "$d" as "*", matching every entry), both
 * malloc'd. False with the reason in why otherwise.
 */
bool dataset_ldap_filter(const char *filter, char **attr, char **all,
                         char *why, size_t why_size);

/*
 * Takes the LDAP keys of a configuration (its text, len bytes; the last
 * value of each key counts). Called before the configuration's data sets
 * are opened; the settings stay until the next call.
 */
void dataset_ldap_configure(const char *buf, size_t len);

/* LDAPSoftStart is on: a directory that cannot be read at start is not
 * an error; its data sets start empty and stale (config.c). */
bool dataset_ldap_soft_start(void);

/* DataSetTTL (this program's key) of the configuration last given to
 * dataset_ldap_configure: the ttl of dsn:/ldap: data sets that name none;
 * DATASET_DSN_TTL when unset. */
unsigned dataset_default_ttl(void);

/* True for the LDAP* keys dataset_ldap_configure takes. */
bool dataset_ldap_is_option(const char *key);

/* libldap's version when built with it, NULL otherwise. */
const char *dataset_ldap_library(void);

/* Opens an "ldap:", "ldaps:" or "ldapi:" data set (called by dataset_open). */
dataset *dataset_open_ldap(const char *spec, const char *where,
                           diag_list *diag);

#endif /* ODK_DATASET_LDAP_H */
