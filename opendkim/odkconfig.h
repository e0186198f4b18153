/*
 * odkconfig.h - opendkim.conf: parsing, checking, and the loaded
 * configuration object the milter runs with.
 *
 * Syntax (opendkim.conf(5)): one "Key value" per line; "#" starts a comment;
 * leading and trailing whitespace is ignored; keys are case-insensitive;
 * booleans are yes/no/true/false/1/0 (also on/off, t/f, y/n); "Include FILE"
 * reads another file in place, nested at most CONFIG_MAX_INCLUDE deep.
 * A key given twice: the last one wins (as in OpenDKIM).
 *
 * Loading reads the configuration file(s), then every data set, host list
 * and signing key they name, and cross-checks them (every SigningTable key
 * name exists in the KeyTable, ...). All problems are collected, not just
 * the first, as "FILE:LINE: problem" messages:
 *   - an OpenDKIM option this project does not implement: a warning
 *     "FILE:LINE: OpenDKIM option 'X' is not supported and is ignored";
 *   - an unknown key: an error "FILE:LINE: unknown option 'X'";
 *   - a bad value: "FILE:LINE: bad value 'V' for Key: why";
 *   - data set, host list and key errors name their own file and line.
 * A configuration with errors is not returned (NULL); warnings alone do
 * not stop it.
 *
 * The result is one reference-counted object that owns everything (tables,
 * lists, keys). It is immutable once loaded, so threads share it freely;
 * the milter swaps its current pointer on SIGHUP and each message holds a
 * reference (config_ref / config_unref) until it is done.
 *
 * Named odkconfig.h (implemented by config.c) so that it never collides
 * with autoconf's config.h (PACKAGE_VERSION, ...).
 */
#ifndef ODK_CONFIG_H
#define ODK_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dkim.h"
#include "dataset.h"
#include "hostlist.h"
#include "keystore.h"
#include "config_socket.h"

#define CONFIG_MAX_INCLUDE 5            /* Include nesting, as OpenDKIM */
#define CONFIG_MAX_LINE 65536           /* bytes per configuration line */
#define CONFIG_DEFAULT_PATH "/etc/opendkim.conf"
#define CONFIG_AUTHSERV_ID_MAX 255      /* AuthservID bytes: a host name
                                         * (RFC 1035 §2.3.4) */

/* ---- values ------------------------------------------------------------- */

/* What to do with a message (the On-* settings). */
typedef enum {
	CONFIG_ACT_ACCEPT = 0,
	CONFIG_ACT_REJECT,
	CONFIG_ACT_TEMPFAIL,
	CONFIG_ACT_DISCARD,
	CONFIG_ACT_QUARANTINE
} config_action;

/* "accept", "reject", ... */
const char *config_action_name(config_action act);
/* Parses accept/reject/tempfail/discard/quarantine or a/r/t/d/q (any case). */
bool config_action_parse(const char *text, config_action *act);

/* ARCSealMail: which mail gets an ARC set (opendkim.conf(5)). */
typedef enum {
	CONFIG_ARC_RELAYED = 0, /* from a client allowed to sign (InternalHosts,
	                         * authenticated, MTA, MacroList), signed by us
	                         * or not: what a mailing list sends on */
	CONFIG_ARC_SIGNED,      /* only mail we also DKIM-sign */
	CONFIG_ARC_ALL          /* every message processed: a forwarder */
} config_arc_mail;

/* A list of header field names, each as given (compare ignoring case). */
typedef struct {
	char **names;
	size_t count;
} config_names;

/* True when name is in the list (ignoring case). */
bool config_names_has(const config_names *list, const char *name);

/* ---- the configuration -------------------------------------------------- */

typedef struct config {
	atomic_uint refs;

	char *path;                     /* the main configuration file */

	/* Mode */
	bool sign;                      /* Mode contains s (default sv) */
	bool verify;                    /* Mode contains v */

	/* Socket: has_socket false when not configured (then -p is needed) */
	bool has_socket;
	bool background;                /* Background (yes); no = as -f */
	config_socket socket;

	/* MetricsSocket: the HTTP endpoint for Prometheus (inet: or inet6:
	 * only; has_metrics_socket false: off, the default). Read at start. */
	bool has_metrics_socket;
	config_socket metrics_socket;

	/* Signing: which keys. Either keytable + signingtable, or the single
	 * key form (domains + selector + keyfile, key named "default"). */
	dataset *domains;               /* Domain (NULL when unset) */
	char *selector;                 /* Selector */
	char *keyfile;                  /* KeyFile */
	dataset *keytable;              /* KeyTable (NULL when unset) */
	dataset *signingtable;          /* SigningTable (NULL when unset) */
	keystore *keys;                 /* loaded keys (NULL: nothing to sign
	                                 * with) */
	bool subdomains;                /* SubDomains (default no) */
	bool multiple_signatures;       /* MultipleSignatures (default no) */
	config_names sender_headers;    /* SenderHeaders (default From) */

	/* Who is who */
	hostlist *internal_hosts;       /* InternalHosts (default 127.0.0.1,
	                                 * ::1) - never NULL after load */
	hostlist *external_ignore;      /* ExternalIgnoreList (NULL: empty) */
	hostlist *peer_list;            /* PeerList (NULL: empty) */
	dataset *mtas;                  /* MTA: daemon names ({daemon_name})
	                                 * whose mail is signed (NULL: none) */
	dataset *macro_list;            /* MacroList: "name[|value...]"
	                                 * entries (NULL: none) */
	struct config_macro *macros;    /* MacroList parsed at load, one per
	                                 * entry */
	size_t nmacros;
	dataset *dont_sign_mail_to;     /* DontSignMailTo: recipient addresses
	                                 * (or refile: patterns) that stop
	                                 * signing (NULL: none) */
	dataset *exempt_domains;        /* ExemptDomains: sender domains whose
	                                 * mail is neither signed nor verified
	                                 * (NULL: none) */

	/* What a signature looks like */
	dkim_canon header_canon;        /* Canonicalization (simple/simple) */
	dkim_canon body_canon;
	dkim_alg sign_alg;              /* SignatureAlgorithm (rsa-sha256);
	                                 * keys sign with their own type's
	                                 * algorithm: an ed25519 KeyTable key
	                                 * always signs ed25519-sha256 */
	config_names sign_headers;      /* SignHeaders (default: OpenDKIM's
	                                 * list, a superset of RFC 6376
	                                 * §5.4.1's) */
	config_names oversign_headers;  /* OversignHeaders (default empty) */
	unsigned dataset_ttl;           /* DataSetTTL (ours, 60): seconds
	                                 * between reads of a dsn:/ldap: data
	                                 * set without ttl=/x-ttl= */
	unsigned signature_ttl;         /* SignatureTTL seconds: x= = t + this
	                                 * (0, the default: no x=) */
	bool remove_old_signatures;     /* RemoveOldSignatures (no): delete
	                                 * the DKIM-Signature fields of mail
	                                 * we sign */
	config_names omit_headers;      /* OmitHeaders (default Return-Path,
	                                 * Received, Comments, Keywords, Bcc,
	                                 * Resent-Bcc, DKIM-Signature) */

	/* Verification */
	unsigned min_key_bits;          /* MinimumKeyBits (1024) */
	unsigned max_signatures;        /* MaximumSignaturesToVerify (3) */
	unsigned clock_drift;           /* ClockDrift seconds (300) */
	size_t max_headers;             /* MaximumHeaders bytes (65536; 0 =
	                                 * no configured limit: the 1 MB
	                                 * CONFIG_HEADERS_CAP) */

	/* Authentication-Results */
	char *authserv_id;              /* AuthservID (at most
	                                 * CONFIG_AUTHSERV_ID_MAX bytes);
	                                 * NULL = the MTA's j
	                                 * macro; "HOSTNAME" is replaced by
	                                 * gethostname() at load */
	bool always_add_ar;             /* AlwaysAddARHeader (no) */
	bool strict_headers;            /* StrictHeaders (no): RFC 5322 §3.6
	                                 * field counts make a message malformed */
	bool ignore_malformed;          /* IgnoreMalformedMail (no): malformed
	                                 * messages pass without a result */
	bool authserv_id_with_jobid;    /* AuthservIDWithJobID (no): write
	                                 * "authserv-id/queue-id" */
	bool remove_ar_all;             /* RemoveARAll (no) */
	hostlist *remove_ar_from;       /* RemoveARFrom (NULL: only ours) */
	bool software_header;           /* SoftwareHeader (no) */

	/* Actions */
	config_action on_default;       /* On-Default (accept) */
	config_action on_bad_signature; /* On-BadSignature (accept) */
	config_action on_dns_error;     /* On-DNSError (tempfail) */
	config_action on_internal_error;/* On-InternalError (tempfail) */
	config_action on_key_not_found; /* On-KeyNotFound (accept) */
	config_action on_no_signature;  /* On-NoSignature (accept) */
	config_action on_security;      /* On-Security (tempfail) */
	config_action on_signature_error; /* On-SignatureError (reject) */

	/* DNS */
	char *nameservers;              /* Nameservers as given (validated);
	                                 * NULL = /etc/resolv.conf */
	unsigned dns_timeout;           /* DNSTimeout seconds (5) */
	bool query_cache;               /* QueryCache (default yes: the
	                                 * resolver's bounded cache) */

	/* Daemon */
	char *pidfile;                  /* PidFile (NULL: none) */
	bool has_user;                  /* UserID given */
	char *user;                     /* UserID user part */
	char *group;                    /* UserID group part, NULL if none */
	uid_t uid;                      /* resolved at load */
	gid_t gid;                      /* the group's, else the user's */
	bool has_umask;                 /* UMask given */
	mode_t umask;                   /* UMask (octal) */

	/* Logging */
	bool syslog;                    /* Syslog (yes) */
	char *syslog_name;              /* SyslogName: the log identifier
	                                 * ("opendkim") */
	bool syslog_success;            /* SyslogSuccess (no) */
	int syslog_facility;            /* SyslogFacility (LOG_MAIL) */
	bool log_why;                   /* LogWhy (no) */

	bool require_safe_keys;         /* RequireSafeKeys (yes) */

	/* ARC (RFC 8617): arcseal.c does the work */
	bool arc_verify;                /* ARCMode has v: arc= in our
	                                 * Authentication-Results */
	bool arc_seal;                  /* ARCMode has s: add an ARC set */
	char *arc_seal_key;             /* ARCSealKey: the KeyTable entry
	                                 * giving d=, s= and the key */
	config_arc_mail arc_seal_mail;  /* ARCSealMail (relayed) */
	config_names arc_sign_headers;  /* ARCSignHeaders (default: the
	                                 * SignHeaders list) */
	const keystore_entry *arc_key;      /* ARCSealKey's entry in keys,
	                                 * found at load */

	/* The configuration files read, main file first (Include order),
	 * and their text as read: a refresh (config_refresh) parses this
	 * text again rather than the files, which only SIGHUP reads. */
	char **sources;
	char **source_texts;            /* parallel to sources, NUL-ended */
	size_t *source_lens;
	size_t nsources;
} config;

/* One opendkim.conf key set by a command-line flag (OpenDKIM's -b, -c,
 * -d, ...); where names the flag in messages ("command line (-b)"). */
typedef struct {
	const char *key;
	const char *value;
	const char *where;
} config_override_item;

#define CONFIG_MAX_OVERRIDES 16

/* Overrides from the command line, applied before the checks. */
typedef struct {
	const char *socket;             /* -p: replaces Socket */
	const char *user;               /* -u: replaces UserID */
	const char *pidfile;            /* -P: replaces PidFile */
	config_override_item items[CONFIG_MAX_OVERRIDES];  /* later wins */
	size_t nitems;
} config_overrides;

/* Flags for config_parse_buffer. */
#define CONFIG_PARSE_ONLY 0x1           /* syntax and values only: do not
                                         * open Include files, data sets,
                                         * keys, or look up users */

/*
 * Loads the configuration from path (NULL: CONFIG_DEFAULT_PATH) with its
 * tables and keys. ov may be NULL. Every warning and error goes to diag
 * (which the caller frees). Returns a configuration with one reference, or
 * NULL when there was any error.
 */
config *config_load(const char *path, const config_overrides *ov,
                    diag_list *diag);

/*
 * config_load for a reload: previous (may be NULL) is the running
 * configuration; a key file unchanged since previous read it is not read
 * again, its parsed key is shared (see keystore.h, Reload). The counts
 * are in the result's keys->reused and keys->read.
 */
config *config_reload(const char *path, const config_overrides *ov,
                      const config *previous, diag_list *diag);

/*
 * The periodic refresh of the data sets kept in a database (every
 * dataset_refresh_seconds()): running's configuration text, as read at
 * its last load, is parsed again and only the "dsn:"/"ldap:" data sets
 * are read again; file data sets, host lists from files and keys whose
 * files did not change are shared with running, and no configuration
 * file is read, so an edited opendkim.conf waits for SIGHUP.
 * A database data set that cannot be read keeps running's copy, marked
 * stale (dataset_is_stale); that is not an error: diag gets one
 * DIAG_OUTAGE message (FILE:LINE, data set, reason) when the set becomes
 * stale and one DIAG_NOTICE when it is read again, nothing in between.
 * Other errors (a malformed key in a row) make it NULL, as config_reload.
 * When every database gave the rows running has (or could not be read),
 * it is NULL with *unchanged set and nothing else is done: the cost of an
 * idle refresh is the queries, not parsing the KeyTable's keys again.
 */
config *config_refresh(const config *running, const config_overrides *ov,
                       bool *unchanged, diag_list *diag);

/*
 * Parses a configuration from memory; name is used in messages. With
 * CONFIG_PARSE_ONLY nothing outside buf is read (the fuzz entry point);
 * otherwise as config_load.
 */
config *config_parse_buffer(const char *name, const char *buf, size_t len,
                            const config_overrides *ov, unsigned flags,
                            diag_list *diag);

/* A configuration with every default and no tables (for tests). */
config *config_new_defaults(void);

config *config_ref(config *cfg);
/* Drops a reference; the last one frees everything. NULL is allowed. */
void config_unref(config *cfg);

/* MaximumHeaders 0 means no configured limit, not unbounded memory. */
#define CONFIG_HEADERS_CAP ((size_t)1024 * 1024)

/* The header block kept and processed, in bytes: MaximumHeaders, or
 * CONFIG_HEADERS_CAP for MaximumHeaders 0. */
size_t config_header_limit(const config *cfg);

/*
 * dkim_options for messages under this configuration: MaximumHeaders
 * (which also sets the engine's per-field and field-count limits, so that
 * any header block within it is processed), MaximumSignaturesToVerify,
 * MinimumKeyBits, ClockDrift.
 */
void config_dkim_options(const config *cfg, dkim_options *opts);

#define CONFIG_NAME_MAX 256

/*
 * A SigningTable entry's key name and optional signer identity. OpenDKIM
 * writes "PATTERN KEYNAME [SIGNER]"; "KEYNAME:SIGNER" (its colon-separated
 * values) is read too. signer is "" when absent. False when the entry has
 * no key name, too many values, or a part longer than CONFIG_NAME_MAX-1;
 * a loaded configuration has none of those.
 */
bool config_signing_value(const dataset_entry *e, char keyname[CONFIG_NAME_MAX],
                          char signer[CONFIG_NAME_MAX]);

/* True when name is an OpenDKIM 2.11 option (any case). */
bool config_is_opendkim_option(const char *name);

/* MacroList macro names: "{daemon_name}" and the like, with the braces. */
#define CONFIG_MACRO_NAME_MAX 68

/* A MacroList entry as loaded: values point into cfg->macro_list. */
typedef struct config_macro {
	char name[CONFIG_MACRO_NAME_MAX];
	const char *values;             /* "v1|v2...", NULL: any value */
} config_macro;

/* SyslogName's longest value. */
#define CONFIG_SYSLOG_NAME_MAX 64

/* SignatureTTL's upper bound: ten years of seconds. */
#define CONFIG_SIGNATURE_TTL_MAX 315360000UL

#endif /* ODK_CONFIG_H */
