/*
 * config.c - opendkim.conf parsing and loading.
 *
 * Interface: odkconfig.h. Loading runs in three steps:
 *   1. read:   lines of the file(s) are split into Key and value; Include is
 *              followed; the last value of each known key is remembered
 *              with its FILE:LINE (OpenDKIM also lets the last one win);
 *   2. apply:  each remembered value, in reading order, goes through its
 *              option's setter (one small function per kind of value),
 *              which checks it and stores it in the config, opening data
 *              sets and host lists;
 *   3. finish: defaults that depend on other keys, user lookup, signing
 *              keys, and the cross-checks between KeyTable, SigningTable,
 *              Domain, Selector and KeyFile.
 * Every step keeps going after an error so that all of them are reported.
 *
 * Errors: "FILE:LINE: ..." messages in a diag_list; a configuration with
 * any error is freed and NULL returned.
 */
#include "odkconfig.h"
#include "dataset_ldap.h"
#include "dataset_backend.h"
#include "dkim_resolver.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

/* ---- tables of names ------------------------------------------------------- */

/* opendkim.conf(5) of OpenDKIM 2.11, plus a few older names it accepted. */
static const char *const config_opendkim_options[] = {
	"ADSPAction", "ADSPNoSuchDomain", "AddAllSignatureResults",
	"ATPSDomains", "ATPSHashAlgorithm",   /* Debian's build (_FFR_ATPS) */
	"AllowSHA1Only", "AlwaysAddARHeader", "AuthservID",
	"AuthservIDWithJobID", "AutoRestart", "AutoRestartCount",
	"AutoRestartRate", "Background", "BaseDirectory", "BodyLengthDB",
	"BogusKey", "CaptureUnknownErrors", "Canonicalization",
	"ChangeRootDirectory", "ClockDrift", "Diagnostics",
	"DiagnosticDirectory", "DisableCryptoInit", "DNSConnect", "DNSTimeout",
	"Domain", "DomainKeysCompat", "DontSignMailTo", "EnableCoredumps",
	"ExemptDomains", "ExternalIgnoreList", "FinalPolicyScript", "FixCRLF",
	"IdentityHeader", "IdentityHeaderRemove", "IgnoreMalformedMail",
	"Include", "InternalHosts", "KeepAuthResults", "KeepTemporaryFiles",
	"KeyFile", "KeyTable", "LDAPAuthMechanism", "LDAPAuthName",
	"LDAPAuthRealm", "LDAPAuthUser", "LDAPBindPassword", "LDAPBindUser",
	"LDAPDisableCache", "LDAPKeepaliveIdle", "LDAPKeepaliveInterval",
	"LDAPKeepaliveProbes", "LDAPSoftStart", "LDAPTimeout", "LDAPUseTLS",
	"LocalADSP", "LogResults", "LogWhy", "MacroList", "MaximumHeaders",
	"MaximumSignaturesToVerify", "MaximumSignedBytes", "MilterDebug",
	"Minimum", "MinimumKeyBits", "Mode", "MTA", "MTACommand",
	"MultipleSignatures", "MustBeSigned", "Nameservers", "NoHeaderB",
	"OmitHeaders", "On-BadSignature", "On-Default", "On-DNSError",
	"On-InternalError", "On-KeyNotFound", "On-NoSignature", "On-Security",
	"On-SignatureError", "On-PolicyError", "OversignHeaders", "PeerList", "PidFile",
	"POPDBFile", "Quarantine", "QueryCache", "RedirectFailuresTo",
	"RemoveARAll", "RemoveARFrom", "RemoveOldSignatures", "ReplaceHeaders",
	"ReplaceRules", "ReportAddress", "ReportBccAddress", "RequestReports",
	"RequiredHeaders", "RequireSafeKeys", "ResignAll", "ResignMailTo",
	"ResolverConfiguration", "ResolverTracing", "ScreenPolicyScript",
	"SelectCanonicalizationHeader", "Selector", "SenderHeaders",
	"SenderMacro", "SendADSPReports", "SendReports", "SetupPolicyScript",
	"SignatureAlgorithm", "SignatureTTL", "SignHeaders", "SigningTable",
	"SMTPURI", "Socket", "SoftStart", "SoftwareHeader", "Statistics",
	"StatisticsName", "StatisticsPolicyScript", "StatisticsPrefix",
	"StrictHeaders", "StrictTestMode", "SubDomains", "Syslog",
	"SyslogFacility", "SyslogName", "SyslogSuccess", "TemporaryDirectory",
	"TestDNSData", "TestPublicKeys", "TrustAnchorFile",
	"TrustSignaturesFrom", "UMask", "UnprotectedKey", "UserID",
	"VBR-Certifiers", "VBR-PurgeFields", "VBR-TrustedCertifiers",
	"VBR-TrustedCertifiersOnly", "VBR-Type", "WeakSyntaxChecks", "X-Header"
};

#define CONFIG_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

bool config_is_opendkim_option(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_NELEMS(config_opendkim_options); i++)
		if (strcasecmp(config_opendkim_options[i], name) == 0)
			return true;
	return false;
}

/*
 * Unsupported OpenDKIM switches whose "off" is OpenDKIM's default: set
 * off, they only say what happens here anyway, so they are accepted
 * without a warning (Debian's and tutorials' files carry some of them).
 */
static const char *const config_opendkim_switches[] = {
	"AddAllSignatureResults", "AllowSHA1Only",
	"AutoRestart", "CaptureUnknownErrors", "Diagnostics",
	"DisableCryptoInit", "DNSConnect", "DomainKeysCompat",
	"EnableCoredumps", "FixCRLF", "IdentityHeaderRemove",
	"IgnoreMalformedMail", "KeepTemporaryFiles", "LDAPDisableCache",
	"LDAPSoftStart", "LDAPUseTLS", "LogResults", "MilterDebug",
	"NoHeaderB", "RequestReports",
	"ResignAll", "ResolverTracing", "SendADSPReports", "SendReports",
	"SoftStart", "StrictHeaders", "StrictTestMode",
	"VBR-TrustedCertifiersOnly", "WeakSyntaxChecks", "X-Header"
};

static bool config_parse_bool(const char *text, bool *out);

/* An unsupported switch set off (value: the line's value, len bytes). */
static bool config_switched_off(const char *name, const char *value,
                                size_t len)
{
	char buf[8];
	bool on = true;
	size_t i;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, value, len);
	buf[len] = '\0';
	for (i = 0; i < CONFIG_NELEMS(config_opendkim_switches); i++)
		if (strcasecmp(config_opendkim_switches[i], name) == 0)
			return config_parse_bool(buf, &on) && !on;
	return false;
}

/*
 * OpenDKIM's default SignHeaders: RFC 6376 §5.4.1's list plus the MIME
 * and identity fields libopendkim also signs.
 */
static const char *const config_default_sign[] = {
	"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To",
	"Cc", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-ID", "Content-Description", "Resent-Date", "Resent-From",
	"Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
	"In-Reply-To", "References", "List-Id", "List-Help",
	"List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner",
	"List-Archive"
};

/* opendkim.conf(5) OmitHeaders: RFC 6376 §5.4 "SHOULD NOT" sign. */
static const char *const config_default_omit[] = {
	"Return-Path", "Received", "Comments", "Keywords", "Bcc", "Resent-Bcc",
	"DKIM-Signature"
};

static const char *const config_default_sender[] = { "From" };

static const struct {
	const char *name;
	int value;
} config_facilities[] = {
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
	{ "daemon", LOG_DAEMON }, { "ftp", LOG_FTP }, { "kern", LOG_KERN },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { "lpr", LOG_LPR },
	{ "mail", LOG_MAIL }, { "news", LOG_NEWS }, { "syslog", LOG_SYSLOG },
	{ "user", LOG_USER }, { "uucp", LOG_UUCP }
};

/* ---- small values ---------------------------------------------------------- */

static const char *const config_action_names[] = {
	"accept", "reject", "tempfail", "discard", "quarantine"
};

const char *config_action_name(config_action act)
{
	if ((size_t)act >= CONFIG_NELEMS(config_action_names))
		return "unknown";
	return config_action_names[act];
}

bool config_action_parse(const char *text, config_action *act)
{
	size_t i;

	for (i = 0; i < CONFIG_NELEMS(config_action_names); i++) {
		const char *name = config_action_names[i];

		/* OpenDKIM's abbreviations are the first letters */
		if (strcasecmp(text, name) == 0 ||
		    (text[0] != '\0' && text[1] == '\0' &&
		     tolower((unsigned char)text[0]) == name[0])) {
			*act = (config_action)i;
			return true;
		}
	}
	return false;
}

static bool config_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on", "y", "t" };
	static const char *const no[] = { "no", "false", "0", "off", "n", "f" };
	size_t i;

	for (i = 0; i < CONFIG_NELEMS(yes); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* A decimal number in [min, max]. */
static bool config_parse_ulong(const char *text, unsigned long min,
                               unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool config_names_has(const config_names *list, const char *name)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		if (strcasecmp(list->names[i], name) == 0)
			return true;
	return false;
}

static void config_names_free(config_names *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->names[i]);
	free(list->names);
	list->names = NULL;
	list->count = 0;
}

static bool config_names_add(config_names *list, const char *name)
{
	char **names;

	if (config_names_has(list, name))
		return true;
	names = realloc(list->names, (list->count + 1) * sizeof(*names));
	if (names == NULL)
		return false;
	list->names = names;
	if ((names[list->count] = strdup(name)) == NULL)
		return false;
	list->count++;
	return true;
}

static void config_names_remove(config_names *list, const char *name)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (strcasecmp(list->names[i], name) == 0) {
			free(list->names[i]);
			memmove(&list->names[i], &list->names[i + 1],
			        (list->count - i - 1) * sizeof(char *));
			list->count--;
			return;
		}
	}
}

static bool config_names_set(config_names *list, const char *const *names,
                             size_t n)
{
	size_t i;

	config_names_free(list);
	for (i = 0; i < n; i++)
		if (!config_names_add(list, names[i]))
			return false;
	return true;
}

/* RFC 5322 §3.6.8: field-name = 1*ftext, printable US-ASCII except ":". */
static bool config_valid_field_name(const char *name)
{
	if (*name == '\0')
		return false;
	for (; *name != '\0'; name++)
		if (*name < 33 || *name > 126 || *name == ':')
			return false;
	return true;
}

/* ---- the object ------------------------------------------------------------ */

/* The option table's defaults (numbers, booleans, actions, header lists);
 * defined after the table. */
static bool config_row_defaults(config *cfg);

config *config_new_defaults(void)
{
	config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	atomic_init(&cfg->refs, 1);
	cfg->sign = cfg->verify = true;
	cfg->header_canon = cfg->body_canon = DKIM_CANON_SIMPLE;
	cfg->sign_alg = DKIM_ALG_RSA_SHA256;
	cfg->syslog_facility = LOG_MAIL;
	cfg->internal_hosts = hostlist_default_internal();
	cfg->syslog_name = strdup("opendkim");
	if (cfg->internal_hosts == NULL || cfg->syslog_name == NULL ||
	    !config_row_defaults(cfg)) {
		config_unref(cfg);
		return NULL;
	}
	return cfg;
}

config *config_ref(config *cfg)
{
	if (cfg != NULL)
		atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

static void config_free(config *cfg)
{
	size_t i;

	free(cfg->path);
	config_socket_free(&cfg->socket);
	config_socket_free(&cfg->metrics_socket);
	dataset_free(cfg->domains);
	free(cfg->selector);
	free(cfg->keyfile);
	dataset_free(cfg->keytable);
	dataset_free(cfg->signingtable);
	keystore_free(cfg->keys);
	config_names_free(&cfg->sender_headers);
	hostlist_free(cfg->internal_hosts);
	hostlist_free(cfg->external_ignore);
	hostlist_free(cfg->peer_list);
	dataset_free(cfg->mtas);
	dataset_free(cfg->macro_list);
	free(cfg->macros);
	dataset_free(cfg->exempt_domains);
	dataset_free(cfg->dont_sign_mail_to);
	config_names_free(&cfg->sign_headers);
	config_names_free(&cfg->oversign_headers);
	config_names_free(&cfg->arc_sign_headers);
	free(cfg->arc_seal_key);
	config_names_free(&cfg->omit_headers);
	free(cfg->authserv_id);
	hostlist_free(cfg->remove_ar_from);
	free(cfg->nameservers);
	free(cfg->pidfile);
	free(cfg->syslog_name);
	free(cfg->user);
	free(cfg->group);
	for (i = 0; i < cfg->nsources; i++) {
		free(cfg->sources[i]);
		free(cfg->source_texts[i]);
	}
	free(cfg->sources);
	free(cfg->source_texts);
	free(cfg->source_lens);
	free(cfg);
}

void config_unref(config *cfg)
{
	if (cfg != NULL && atomic_fetch_sub(&cfg->refs, 1) == 1)
		config_free(cfg);
}

size_t config_header_limit(const config *cfg)
{
	return cfg->max_headers > 0 ? cfg->max_headers : CONFIG_HEADERS_CAP;
}

/*
 * The engine's header limits follow MaximumHeaders: memory is bounded by
 * the block the milter keeps, so a field or a field count that fits in it
 * is a legitimate message (a mailing list's long To:, many Received:), not
 * an attack. One field may take the whole block, and no block within the
 * limit has more fields than limit / DKIM_MIN_FIELD_BYTES ("X:" CRLF). Library users keep dkim_options_init's own defaults.
 */
void config_dkim_options(const config *cfg, dkim_options *opts)
{
	size_t limit = config_header_limit(cfg);

	dkim_options_init(opts);
	opts->max_header_bytes = limit;
	opts->max_field_bytes = limit;
	opts->max_fields = limit / DKIM_MIN_FIELD_BYTES;
	opts->max_signatures = cfg->max_signatures;
	opts->min_key_bits = cfg->min_key_bits;
	opts->clock_drift = cfg->clock_drift;
}

/* ---- parsing state --------------------------------------------------------- */

typedef enum {
	CONFIG_SET_OK = 0,
	CONFIG_SET_BAD,         /* bad value: why says why */
	CONFIG_SET_REPORTED     /* errors already in the diag list */
} config_set_result;

struct config_option;

typedef struct {
	config *cfg;
	diag_list *diag;
	unsigned flags;
	/* the last value of each option and where it was set */
	char **values;
	char **wheres;
	const char **files;     /* parallel to wheres: file name (in sources) */
	unsigned *lines;
	unsigned *seq;          /* order in which the values were read */
	unsigned next_seq;
	const keystore *previous_keys;  /* a reload: the running keys */
	const config *refresh_from;     /* config_refresh: the running one */
	bool changed;                   /* a refresh read other rows */
} config_ctx;

typedef config_set_result (*config_setter)(config_ctx *ctx,
                                           const struct config_option *opt,
                                           const char *value, const char *where,
                                           char *why, size_t why_size);

/*
 * One row per key: its setter and field, and the data the setter and
 * config_new_defaults need, so that a new key is one row.
 */
typedef struct config_option {
	const char *name;
	config_setter set;
	size_t offset;                  /* of the field in config */
	size_t size;                    /* of the field (numbers: unsigned,
	                                 * size_t, an enum or bool) */
	unsigned long min, max;         /* numbers: the accepted range */
	bool has_default;               /* def is the field's default */
	unsigned long def;              /* bool, number or action default */
	const char *const *names;       /* header-name lists: the default */
	size_t nnames;
} config_option;

#define CONFIG_FIELD(cfg, opt, type) ((type *)((char *)(cfg) + (opt)->offset))

_Static_assert(sizeof(config_action) == sizeof(unsigned),
               "config_store writes actions as unsigned");

/* Stores v in a row's numeric field, whatever its width (bool, enum,
 * unsigned or size_t). */
static void config_store(config *cfg, const config_option *opt, unsigned long v)
{
	void *field = (char *)cfg + opt->offset;

	if (opt->size == sizeof(size_t)) {
		size_t z = (size_t)v;
		memcpy(field, &z, sizeof(z));
	} else if (opt->size == sizeof(unsigned)) {
		unsigned u = (unsigned)v;   /* also config_action, an enum */
		memcpy(field, &u, sizeof(u));
	} else if (opt->size == sizeof(bool)) {
		bool b = v != 0;
		memcpy(field, &b, sizeof(b));
	}
}

/* ---- setters: plain values ------------------------------------------------- */

static config_set_result config_set_bool(config_ctx *ctx,
                                         const config_option *opt,
                                         const char *value, const char *where,
                                         char *why, size_t why_size)
{
	(void)where;
	if (config_parse_bool(value, CONFIG_FIELD(ctx->cfg, opt, bool)))
		return CONFIG_SET_OK;
	snprintf(why, why_size, "expected yes/no/true/false/1/0");
	return CONFIG_SET_BAD;
}

static config_set_result config_set_string(config_ctx *ctx,
                                           const config_option *opt,
                                           const char *value,
                                           const char *where, char *why,
                                           size_t why_size)
{
	char **field = CONFIG_FIELD(ctx->cfg, opt, char *);

	(void)where;
	free(*field);
	if ((*field = strdup(value)) != NULL)
		return CONFIG_SET_OK;
	snprintf(why, why_size, "out of memory");
	return CONFIG_SET_BAD;
}

static config_set_result config_set_action(config_ctx *ctx,
                                           const config_option *opt,
                                           const char *value,
                                           const char *where, char *why,
                                           size_t why_size)
{
	(void)where;
	if (config_action_parse(value, CONFIG_FIELD(ctx->cfg, opt,
	                                            config_action)))
		return CONFIG_SET_OK;
	snprintf(why, why_size, "expected accept, reject, tempfail, discard "
	         "or quarantine (or a, r, t, d, q)");
	return CONFIG_SET_BAD;
}

/* A decimal number within the row's range. */
static config_set_result config_set_number(config_ctx *ctx,
                                           const config_option *opt,
                                           const char *value,
                                           const char *where, char *why,
                                           size_t why_size)
{
	unsigned long v;

	(void)where;
	if (!config_parse_ulong(value, opt->min, opt->max, &v)) {
		snprintf(why, why_size, "expected a number from %lu to %lu",
		         opt->min, opt->max);
		return CONFIG_SET_BAD;
	}
	config_store(ctx->cfg, opt, v);
	return CONFIG_SET_OK;
}

static config_set_result config_set_min_key_bits(config_ctx *ctx,
                                                 const config_option *opt,
                                                 const char *value,
                                                 const char *where, char *why,
                                                 size_t why_size)
{
	config_set_result r = config_set_number(ctx, opt, value, where, why,
	                                        why_size);

	/* RFC 8301 §3.2: verifiers MUST NOT accept RSA keys under 1024 bits */
	if (r == CONFIG_SET_OK && ctx->cfg->min_key_bits < 1024) {
		diag_add(ctx->diag, DIAG_WARNING,
		         "%s: MinimumKeyBits %s is below 1024; 1024 is used "
		         "(RFC 8301)", where, value);
		ctx->cfg->min_key_bits = 1024;
	}
	return r;
}

static config_set_result config_set_mode(config_ctx *ctx,
                                         const config_option *opt,
                                         const char *value, const char *where,
                                         char *why, size_t why_size)
{
	const char *p;

	(void)opt;
	(void)where;
	if (*value == '\0' || strspn(value, "svSV") != strlen(value)) {
		snprintf(why, why_size, "expected s, v or sv");
		return CONFIG_SET_BAD;
	}
	ctx->cfg->sign = ctx->cfg->verify = false;
	for (p = value; *p != '\0'; p++) {
		if (*p == 's' || *p == 'S')
			ctx->cfg->sign = true;
		else
			ctx->cfg->verify = true;
	}
	return CONFIG_SET_OK;
}

/* ARCMode: v (report the chain in Authentication-Results), s (seal). */
static config_set_result config_set_arc_mode(config_ctx *ctx,
                                             const config_option *opt,
                                             const char *value, const char *where,
                                             char *why, size_t why_size)
{
	(void)opt;
	(void)where;
	if (*value == '\0' || strspn(value, "svSV") != strlen(value)) {
		snprintf(why, why_size, "expected s, v or sv");
		return CONFIG_SET_BAD;
	}
	ctx->cfg->arc_seal = strpbrk(value, "sS") != NULL;
	ctx->cfg->arc_verify = strpbrk(value, "vV") != NULL;
	return CONFIG_SET_OK;
}

/* ARCSealMail: relayed, signed or all. */
static config_set_result config_set_arc_mail(config_ctx *ctx,
                                             const config_option *opt,
                                             const char *value, const char *where,
                                             char *why, size_t why_size)
{
	static const char *const names[] = { "relayed", "signed", "all" };

	(void)opt;
	(void)where;
	for (size_t i = 0; i < CONFIG_NELEMS(names); i++) {
		if (strcasecmp(value, names[i]) == 0) {
			ctx->cfg->arc_seal_mail = (config_arc_mail)i;
			return CONFIG_SET_OK;
		}
	}
	snprintf(why, why_size, "expected relayed, signed or all");
	return CONFIG_SET_BAD;
}

static config_set_result config_set_socket(config_ctx *ctx,
                                           const config_option *opt,
                                           const char *value,
                                           const char *where, char *why,
                                           size_t why_size)
{
	(void)opt;
	(void)where;
	config_socket_free(&ctx->cfg->socket);
	ctx->cfg->has_socket = config_socket_parse(value, &ctx->cfg->socket,
	                                           why, why_size);
	return ctx->cfg->has_socket ? CONFIG_SET_OK : CONFIG_SET_BAD;
}

/* MetricsSocket: Socket's syntax, but an HTTP endpoint needs an address. */
static config_set_result config_set_metrics_socket(config_ctx *ctx,
                                                   const config_option *opt,
                                                   const char *value,
                                                   const char *where, char *why,
                                                   size_t why_size)
{
	(void)opt;
	(void)where;
	config *cfg = ctx->cfg;
	config_socket_free(&cfg->metrics_socket);
	cfg->has_metrics_socket = config_socket_parse(value, &cfg->metrics_socket,
	                                              why, why_size);
	if (cfg->has_metrics_socket && cfg->metrics_socket.family == CONFIG_SOCK_LOCAL) {
		snprintf(why, why_size, "must be inet:PORT@ADDRESS or inet6:PORT@ADDRESS");
		config_socket_free(&cfg->metrics_socket);
		cfg->has_metrics_socket = false;
	}
	return cfg->has_metrics_socket ? CONFIG_SET_OK : CONFIG_SET_BAD;
}

static bool config_parse_canon(const char *text, size_t len, dkim_canon *out)
{
	if (len == 6 && strncasecmp(text, "simple", 6) == 0)
		*out = DKIM_CANON_SIMPLE;
	else if (len == 7 && strncasecmp(text, "relaxed", 7) == 0)
		*out = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

/* "header/body", or one name for the header (body stays simple). */
static config_set_result config_set_canon(config_ctx *ctx,
                                          const config_option *opt,
                                          const char *value,
                                          const char *where, char *why,
                                          size_t why_size)
{
	const char *slash = strchr(value, '/');
	size_t hlen = slash ? (size_t)(slash - value) : strlen(value);
	dkim_canon h, b = DKIM_CANON_SIMPLE;

	(void)opt;
	(void)where;
	if (!config_parse_canon(value, hlen, &h) ||
	    (slash && !config_parse_canon(slash + 1, strlen(slash + 1), &b))) {
		snprintf(why, why_size, "expected simple or relaxed, as "
		         "header/body (e.g. relaxed/simple)");
		return CONFIG_SET_BAD;
	}
	ctx->cfg->header_canon = h;
	ctx->cfg->body_canon = b;
	return CONFIG_SET_OK;
}

static config_set_result config_set_alg(config_ctx *ctx,
                                        const config_option *opt,
                                        const char *value, const char *where,
                                        char *why, size_t why_size)
{
	dkim_alg alg;

	(void)opt;
	(void)where;
	if (strcasecmp(value, "rsa-sha256") == 0)
		alg = DKIM_ALG_RSA_SHA256;
	else if (strcasecmp(value, "ed25519-sha256") == 0)
		alg = DKIM_ALG_ED25519_SHA256;
	else if (strcasecmp(value, "rsa-sha1") == 0)
		alg = DKIM_ALG_RSA_SHA1;
	else {
		snprintf(why, why_size, "expected rsa-sha256 or ed25519-sha256");
		return CONFIG_SET_BAD;
	}
	if (alg == DKIM_ALG_RSA_SHA1) {
		snprintf(why, why_size, "rsa-sha1 must not be used to sign "
		         "(RFC 8301 §3.1); use rsa-sha256");
		return CONFIG_SET_BAD;
	}
	ctx->cfg->sign_alg = alg;
	return CONFIG_SET_OK;
}

/* RFC 8601 §2.5: authserv-id is a value (token); we allow host name text. */
static config_set_result config_set_authserv(config_ctx *ctx,
                                             const config_option *opt,
                                             const char *value,
                                             const char *where, char *why,
                                             size_t why_size)
{
	char host[256];

	if (strcmp(value, "HOSTNAME") == 0) {
		if (ctx->flags & CONFIG_PARSE_ONLY)
			snprintf(host, sizeof(host), "localhost");
		else if (gethostname(host, sizeof(host)) != 0) {
			snprintf(why, why_size, "gethostname: %s",
			         strerror(errno));
			return CONFIG_SET_BAD;
		}
		host[sizeof(host) - 1] = '\0';
		value = host;
	}
	if (*value == '\0' ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                  "0123456789.-_") != strlen(value)) {
		snprintf(why, why_size, "an authserv-id is a host name "
		         "(letters, digits, '.', '-', '_')");
		return CONFIG_SET_BAD;
	}
	/* RFC 1035 §2.3.4; the milter keeps it in a buffer of that size. */
	if (strlen(value) > CONFIG_AUTHSERV_ID_MAX) {
		snprintf(why, why_size, "an authserv-id is at most %d bytes",
		         CONFIG_AUTHSERV_ID_MAX);
		return CONFIG_SET_BAD;
	}
	return config_set_string(ctx, opt, value, where, why, why_size);
}

/* why from the resolver's own check of the list (its grammar, the one
 * dkim_resolver_new applies), without its "Nameservers: " prefix. */
static bool config_valid_nameservers(const char *list, char *why,
                                     size_t why_size)
{
	static const char prefix[] = "Nameservers: ";
	dkim_error err;
	const char *msg;

	if (dkim_resolver_check_servers(list, &err) == DKIM_OK)
		return true;
	msg = err.message;
	if (strncmp(msg, prefix, sizeof(prefix) - 1) == 0)
		msg += sizeof(prefix) - 1;
	snprintf(why, why_size, "%s", msg);
	return false;
}

static config_set_result config_set_nameservers(config_ctx *ctx,
                                                const config_option *opt,
                                                const char *value,
                                                const char *where, char *why,
                                                size_t why_size)
{
	char *copy = strdup(value), *save = NULL, *tok;
	char *joined = calloc(1, strlen(value) + 1);

	if (copy == NULL || joined == NULL) {
		free(copy);
		free(joined);
		snprintf(why, why_size, "out of memory");
		return CONFIG_SET_BAD;
	}
	/* The entries, commas and white space between them dropped, joined
	 * with ',' for the resolver, which checks each. */
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (*joined != '\0')
			strcat(joined, ",");
		strcat(joined, tok);
	}
	free(copy);
	if (*joined == '\0' || !config_valid_nameservers(joined, why, why_size)) {
		if (*joined == '\0')
			snprintf(why, why_size, "no name server");
		free(joined);
		return CONFIG_SET_BAD;
	}
	(void)where;
	free(ctx->cfg->nameservers);
	ctx->cfg->nameservers = joined;
	(void)opt;
	return CONFIG_SET_OK;
}

static config_set_result config_set_umask(config_ctx *ctx,
                                          const config_option *opt,
                                          const char *value,
                                          const char *where, char *why,
                                          size_t why_size)
{
	char *end;
	unsigned long v;

	(void)opt;
	(void)where;
	errno = 0;
	v = strtoul(value, &end, 8);
	if (*value == '\0' || *end != '\0' || errno != 0 || v > 0777 ||
	    strspn(value, "01234567") != strlen(value)) {
		snprintf(why, why_size, "expected an octal mask such as 007");
		return CONFIG_SET_BAD;
	}
	ctx->cfg->umask = (mode_t)v;
	ctx->cfg->has_umask = true;
	return CONFIG_SET_OK;
}

static config_set_result config_set_facility(config_ctx *ctx,
                                             const config_option *opt,
                                             const char *value,
                                             const char *where, char *why,
                                             size_t why_size)
{
	size_t i;

	(void)opt;
	(void)where;
	for (i = 0; i < CONFIG_NELEMS(config_facilities); i++) {
		if (strcasecmp(value, config_facilities[i].name) == 0 ||
		    (strncasecmp(value, "log_", 4) == 0 &&
		     strcasecmp(value + 4, config_facilities[i].name) == 0)) {
			ctx->cfg->syslog_facility = config_facilities[i].value;
			return CONFIG_SET_OK;
		}
	}
	snprintf(why, why_size, "unknown syslog facility (mail, daemon, "
	         "local0..local7, ...)");
	return CONFIG_SET_BAD;
}

/*
 * SyslogName: the identifier of every log line ("NAME[PID]: ..."), so
 * that several instances can be told apart. OpenDKIM takes any text; a
 * space, ':' or '[' would make the lines ambiguous to log parsers, so
 * letters, digits, '-', '_', '.' and '/' only.
 */
static config_set_result config_set_syslog_name(config_ctx *ctx,
                                                const config_option *opt,
                                                const char *value,
                                                const char *where, char *why,
                                                size_t why_size)
{
	size_t len = strlen(value);

	if (len == 0 || len > CONFIG_SYSLOG_NAME_MAX ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                  "0123456789-_./") != len) {
		snprintf(why, why_size, "expected a name of letters, digits, "
		         "'-', '_', '.' or '/' (at most %d)",
		         CONFIG_SYSLOG_NAME_MAX);
		return CONFIG_SET_BAD;
	}
	return config_set_string(ctx, opt, value, where, why, why_size);
}

/* user[:group]; resolved in config_finish_user. */
static config_set_result config_set_userid(config_ctx *ctx,
                                           const config_option *opt,
                                           const char *value,
                                           const char *where, char *why,
                                           size_t why_size)
{
	const char *colon = strchr(value, ':');
	size_t ulen = colon ? (size_t)(colon - value) : strlen(value);
	config *cfg = ctx->cfg;

	(void)opt;
	(void)where;
	if (ulen == 0 || (colon && colon[1] == '\0') ||
	    strpbrk(value, " \t/") != NULL ||
	    (colon && strchr(colon + 1, ':') != NULL)) {
		snprintf(why, why_size, "expected user or user:group");
		return CONFIG_SET_BAD;
	}
	free(cfg->user);
	free(cfg->group);
	cfg->user = strndup(value, ulen);
	cfg->group = colon ? strdup(colon + 1) : NULL;
	if (cfg->user == NULL || (colon && cfg->group == NULL)) {
		snprintf(why, why_size, "out of memory");
		return CONFIG_SET_BAD;
	}
	cfg->has_user = true;
	return CONFIG_SET_OK;
}

/* ---- setters: data sets ---------------------------------------------------- */

/* Would dataset_open read a file (or a back end) for spec? */
static bool config_spec_reads_file(const char *spec)
{
	size_t len = strlen(spec);

	if (strncasecmp(spec, "csl:", 4) == 0)
		return false;
	return strchr(spec, ':') != NULL || spec[0] == '/' ||
	       strncmp(spec, "./", 2) == 0 || strncmp(spec, "../", 3) == 0 ||
	       (len > 3 && strcmp(spec + len - 3, ".db") == 0);
}

/*
 * LDAPSoftStart: the directory of an "ldap:" data set could not be read
 * at start. Its errors (in d) become DIAG_OUTAGE messages and the data set
 * starts empty and stale: lookups it cannot answer are internal errors
 * until a refresh reads it.
 */
static dataset *config_soft_start(config_ctx *ctx, const char *where,
                                  const diag_list *d)
{
	dataset *ds;

	for (size_t i = 0; i < d->count; i++)
		diag_add(ctx->diag, d->msgs[i].severity == DIAG_ERROR
		                    ? DIAG_OUTAGE : d->msgs[i].severity,
		         "%s%s", d->msgs[i].text, d->msgs[i].severity == DIAG_ERROR
		         ? " (LDAPSoftStart: starting without its entries until "
		           "it can be read)" : "");
	ds = dataset_parse_buffer(where, DATASET_FILE, "", 0, ctx->diag);
	dataset_set_stale(ds, true);
	return ds;
}

/*
 * Opens a data set for an option. NULL either after reporting errors
 * (*reported set) or, with CONFIG_PARSE_ONLY, when it would read a file.
 */
static dataset *config_open_dataset(config_ctx *ctx, const char *value,
                                    const char *where, bool *reported)
{
	size_t errors = ctx->diag->errors;
	dataset *ds;

	*reported = false;
	/* OpenDKIM: "-" is an empty data set, e.g. "InternalHosts -" for
	 * none at all rather than the default 127.0.0.1. */
	if (strcmp(value, "-") == 0) {
		ds = dataset_parse_buffer(where, DATASET_FILE, "", 0, ctx->diag);
		*reported = ds == NULL;
		return ds;
	}
	if ((ctx->flags & CONFIG_PARSE_ONLY) && config_spec_reads_file(value))
		return NULL;
	if (dataset_spec_is_database(value) && dataset_soft_start(value)) {
		diag_list d = { 0 };

		if ((ds = dataset_open(value, where, &d)) == NULL)
			ds = config_soft_start(ctx, where, &d);
		else
			for (size_t i = 0; i < d.count; i++)
				diag_add(ctx->diag, d.msgs[i].severity, "%s",
				         d.msgs[i].text);
		diag_list_free(&d);
		*reported = ds == NULL;
		return ds;
	}
	ds = dataset_open(value, where, ctx->diag);
	*reported = ds == NULL && ctx->diag->errors != errors;
	return ds;
}

/*
 * A refresh reads a database data set again. NULL when it cannot be read
 * (the caller keeps the running copy, stale); that is said once per
 * outage: when the running copy was not stale yet. Its recovery is said
 * once too. Warnings about rows were said by the load that read them
 * first, so they are not repeated every ttl.
 */
static dataset *config_reread(config_ctx *ctx, const char *value,
                              const char *where, bool was_stale)
{
	diag_list d = { 0 };
	dataset *ds = dataset_open(value, where, &d);

	if (ds == NULL && !was_stale)
		for (size_t i = 0; i < d.count; i++)
			if (d.msgs[i].severity == DIAG_ERROR)
				diag_add(ctx->diag, DIAG_OUTAGE, "%s: using the "
				         "copy read before; lookups it has no "
				         "answer for are internal errors until "
				         "it can be read (said once per outage)",
				         d.msgs[i].text);
	if (ds != NULL && was_stale)
		diag_add(ctx->diag, DIAG_NOTICE, "%s: data set read again: "
		         "the outage is over", where);
	diag_list_free(&d);
	return ds;
}

static config_set_result config_set_dataset(config_ctx *ctx,
                                            const config_option *opt,
                                            const char *value,
                                            const char *where, char *why,
                                            size_t why_size)
{
	dataset **field = CONFIG_FIELD(ctx->cfg, opt, dataset *);
	bool reported = false;
	dataset *ds;

	(void)why;
	(void)why_size;
	if (ctx->refresh_from != NULL) {
		dataset *running = *CONFIG_FIELD(ctx->refresh_from, opt,
		                                 dataset *);
		bool db = dataset_spec_is_database(value);

		ds = db ? config_reread(ctx, value, where,
		                        dataset_is_stale(running)) : NULL;
		if (ds != NULL && running != NULL && !dataset_is_stale(running) &&
		    ds->count == running->count &&
		    ds->digest == running->digest) {
			dataset_free(ds);       /* the same rows: keep the copy */
			ds = dataset_ref(running);
		} else if (ds != NULL) {
			ctx->changed = true;
		} else {
			ds = dataset_ref(running);
			if (db)
				dataset_set_stale(ds, true);
		}
	} else {
		ds = config_open_dataset(ctx, value, where, &reported);
	}
	dataset_free(*field);
	*field = ds;
	return reported ? CONFIG_SET_REPORTED : CONFIG_SET_OK;
}

/* config_set_dataset for a host list; a refresh as there. */
static config_set_result config_set_hostlist(config_ctx *ctx,
                                             const config_option *opt,
                                             const char *value,
                                             const char *where, char *why,
                                             size_t why_size)
{
	hostlist **field = CONFIG_FIELD(ctx->cfg, opt, hostlist *);
	bool reported = false, stale;
	unsigned long long digest;
	dataset *ds = NULL;
	hostlist *hl = NULL;

	(void)why;
	(void)why_size;
	if (ctx->refresh_from != NULL) {
		hostlist *running = *CONFIG_FIELD(ctx->refresh_from, opt,
		                                  hostlist *);

		if (dataset_spec_is_database(value))
			ds = config_reread(ctx, value, where,
			                   hostlist_is_stale(running));
		if (ds != NULL && !hostlist_is_stale(running) &&
		    ds->digest == hostlist_digest(running)) {
			dataset_free(ds);       /* the same rows: keep the list */
			hostlist_free(*field);
			*field = hostlist_ref(running);
			return CONFIG_SET_OK;
		}
		if (ds != NULL)
			ctx->changed = true;
		if (ds == NULL) {
			if (dataset_spec_is_database(value))
				hostlist_set_stale(running, true);
			hostlist_free(*field);
			*field = hostlist_ref(running);
			return CONFIG_SET_OK;
		}
	} else {
		ds = config_open_dataset(ctx, value, where, &reported);
	}
	if (reported)
		return CONFIG_SET_REPORTED;
	stale = dataset_is_stale(ds);
	digest = ds != NULL ? ds->digest : 0;
	if (ds != NULL && (hl = hostlist_take_dataset(ds, ctx->diag)) == NULL)
		return CONFIG_SET_REPORTED;
	hostlist_set_stale(hl, stale);
	hostlist_set_digest(hl, digest);
	hostlist_free(*field);
	*field = hl;
	return CONFIG_SET_OK;
}

/*
 * Applies one list element. opendkim.conf(5) OmitHeaders: with "*" in the
 * list, "+name" adds to and "-name" removes from the default list.
 */
static bool config_names_apply(config_names *list, const char *item,
                               char *why, size_t why_size)
{
	const char *name = item + (item[0] == '+' || item[0] == '-');

	if (strcmp(item, "*") == 0)
		return true;
	if (!config_valid_field_name(name)) {
		snprintf(why, why_size, "'%s' is not a header field name", item);
		return false;
	}
	if (item[0] == '-') {
		config_names_remove(list, name);
		return true;
	}
	if (!config_names_add(list, name)) {
		snprintf(why, why_size, "out of memory");
		return false;
	}
	return true;
}

static config_set_result config_set_names(config_ctx *ctx,
                                          const config_option *opt,
                                          const char *value,
                                          const char *where, char *why,
                                          size_t why_size)
{
	config_names *list = CONFIG_FIELD(ctx->cfg, opt, config_names);
	const char *const *defaults;
	size_t ndefaults, i;
	bool reported;
	dataset *ds;

	if (ctx->refresh_from != NULL) {
		/* a refresh reads no file: the running list */
		const config_names *running = CONFIG_FIELD(ctx->refresh_from,
		                                           opt, config_names);

		if (config_names_set(list, (const char *const *)running->names,
		                     running->count))
			return CONFIG_SET_OK;
		snprintf(why, why_size, "out of memory");
		return CONFIG_SET_BAD;
	}
	ds = config_open_dataset(ctx, value, where, &reported);
	if (ds == NULL)
		return reported ? CONFIG_SET_REPORTED : CONFIG_SET_OK;
	/* the row's built-in list, kept with "*" */
	defaults = opt->names;
	ndefaults = dataset_contains(ds, "*") ? opt->nnames : 0;
	if (!config_names_set(list, defaults, ndefaults)) {
		snprintf(why, why_size, "out of memory");
		dataset_free(ds);
		return CONFIG_SET_BAD;
	}
	for (i = 0; i < ds->count; i++)
		if (!config_names_apply(list, ds->entries[i].key, why, why_size))
			break;
	ndefaults = ds->count;
	dataset_free(ds);
	return i == ndefaults ? CONFIG_SET_OK : CONFIG_SET_BAD;
}

/* ---- the option table ------------------------------------------------------ */

/*
 * CONFIG_OPT(Name, setter, field, extras...): extras are designated
 * fields of config_option: .min/.max for numbers, CONFIG_DEF(v) for a
 * default, CONFIG_NAMES(list) for a header-name list's default.
 */
#define CONFIG_OPT(key, setter, field, ...)                                  \
	{ .name = key, .set = setter, .offset = offsetof(config, field),      \
	  .size = sizeof(((config *)0)->field), __VA_ARGS__ }
#define CONFIG_DEF(v) .has_default = true, .def = (v)
#define CONFIG_NAMES(list) .names = list, .nnames = CONFIG_NELEMS(list)
/* RFC 8301 §3.2 makes 1024 the floor (config_set_min_key_bits). */
#define CONFIG_KEY_BITS_MAX 16384

static const config_option config_options[] = {
	CONFIG_OPT("ARCMode", config_set_arc_mode, arc_seal),
	CONFIG_OPT("ARCSealKey", config_set_string, arc_seal_key),
	CONFIG_OPT("ARCSealMail", config_set_arc_mail, arc_seal_mail,
	           CONFIG_DEF(CONFIG_ARC_RELAYED)),
	CONFIG_OPT("ARCSignHeaders", config_set_names, arc_sign_headers,
	           CONFIG_NAMES(config_default_sign)),
	CONFIG_OPT("AlwaysAddARHeader", config_set_bool, always_add_ar,
	           CONFIG_DEF(false)),
	CONFIG_OPT("AuthservID", config_set_authserv, authserv_id),
	CONFIG_OPT("AuthservIDWithJobID", config_set_bool, authserv_id_with_jobid,
	           CONFIG_DEF(false)),
	CONFIG_OPT("Background", config_set_bool, background,
	           CONFIG_DEF(true)),
	CONFIG_OPT("Canonicalization", config_set_canon, header_canon),
	CONFIG_OPT("ClockDrift", config_set_number, clock_drift,
	           .min = 0, .max = 86400, CONFIG_DEF(300)),
	/* ours: read by dataset_ldap_configure before data sets open */
	CONFIG_OPT("DataSetTTL", config_set_number, dataset_ttl,
	           .min = 1, .max = 86400, CONFIG_DEF(DATASET_DSN_TTL)),
	CONFIG_OPT("DNSTimeout", config_set_number, dns_timeout,
	           .min = 1, .max = 86400, CONFIG_DEF(5)),
	CONFIG_OPT("Domain", config_set_dataset, domains),
	CONFIG_OPT("DontSignMailTo", config_set_dataset, dont_sign_mail_to),
	CONFIG_OPT("ExemptDomains", config_set_dataset, exempt_domains),
	CONFIG_OPT("ExternalIgnoreList", config_set_hostlist, external_ignore),
	CONFIG_OPT("IgnoreMalformedMail", config_set_bool, ignore_malformed,
	           CONFIG_DEF(false)),
	CONFIG_OPT("InternalHosts", config_set_hostlist, internal_hosts),
	CONFIG_OPT("KeyFile", config_set_string, keyfile),
	CONFIG_OPT("KeyTable", config_set_dataset, keytable),
	CONFIG_OPT("LogWhy", config_set_bool, log_why,
	           CONFIG_DEF(false)),
	CONFIG_OPT("MacroList", config_set_dataset, macro_list),
	CONFIG_OPT("MaximumHeaders", config_set_number, max_headers,
	           .min = 0, .max = 1UL << 30, CONFIG_DEF(65536)),
	CONFIG_OPT("MaximumSignaturesToVerify", config_set_number, max_signatures,
	           .min = 1, .max = 100, CONFIG_DEF(3)),
	CONFIG_OPT("MetricsSocket", config_set_metrics_socket, metrics_socket),
	CONFIG_OPT("MinimumKeyBits", config_set_min_key_bits, min_key_bits,
	           .min = 0, .max = CONFIG_KEY_BITS_MAX, CONFIG_DEF(1024)),
	CONFIG_OPT("Mode", config_set_mode, sign),
	CONFIG_OPT("MTA", config_set_dataset, mtas),
	CONFIG_OPT("MultipleSignatures", config_set_bool, multiple_signatures,
	           CONFIG_DEF(false)),
	CONFIG_OPT("Nameservers", config_set_nameservers, nameservers),
	CONFIG_OPT("OmitHeaders", config_set_names, omit_headers,
	           CONFIG_NAMES(config_default_omit)),
	CONFIG_OPT("On-BadSignature", config_set_action, on_bad_signature,
	           CONFIG_DEF(CONFIG_ACT_ACCEPT)),
	CONFIG_OPT("On-Default", config_set_action, on_default,
	           CONFIG_DEF(CONFIG_ACT_ACCEPT)),
	CONFIG_OPT("On-DNSError", config_set_action, on_dns_error,
	           CONFIG_DEF(CONFIG_ACT_TEMPFAIL)),
	CONFIG_OPT("On-InternalError", config_set_action, on_internal_error,
	           CONFIG_DEF(CONFIG_ACT_TEMPFAIL)),
	CONFIG_OPT("On-KeyNotFound", config_set_action, on_key_not_found,
	           CONFIG_DEF(CONFIG_ACT_ACCEPT)),
	CONFIG_OPT("On-NoSignature", config_set_action, on_no_signature,
	           CONFIG_DEF(CONFIG_ACT_ACCEPT)),
	CONFIG_OPT("On-Security", config_set_action, on_security,
	           CONFIG_DEF(CONFIG_ACT_TEMPFAIL)),
	CONFIG_OPT("On-SignatureError", config_set_action, on_signature_error,
	           CONFIG_DEF(CONFIG_ACT_REJECT)),
	CONFIG_OPT("OversignHeaders", config_set_names, oversign_headers),
	CONFIG_OPT("PeerList", config_set_hostlist, peer_list),
	CONFIG_OPT("PidFile", config_set_string, pidfile),
	CONFIG_OPT("QueryCache", config_set_bool, query_cache,
	           CONFIG_DEF(true)),
	CONFIG_OPT("RemoveARAll", config_set_bool, remove_ar_all,
	           CONFIG_DEF(false)),
	CONFIG_OPT("RemoveARFrom", config_set_hostlist, remove_ar_from),
	CONFIG_OPT("RemoveOldSignatures", config_set_bool, remove_old_signatures,
	           CONFIG_DEF(false)),
	CONFIG_OPT("RequireSafeKeys", config_set_bool, require_safe_keys,
	           CONFIG_DEF(true)),
	CONFIG_OPT("Selector", config_set_string, selector),
	CONFIG_OPT("SenderHeaders", config_set_names, sender_headers,
	           CONFIG_NAMES(config_default_sender)),
	CONFIG_OPT("SignHeaders", config_set_names, sign_headers,
	           CONFIG_NAMES(config_default_sign)),
	CONFIG_OPT("SignatureAlgorithm", config_set_alg, sign_alg),
	/* A signature may be meant to live for years (x= is advisory to
	 * verifiers); time-outs and drift stay within a day. */
	CONFIG_OPT("SignatureTTL", config_set_number, signature_ttl,
	           .min = 0, .max = CONFIG_SIGNATURE_TTL_MAX),
	CONFIG_OPT("SigningTable", config_set_dataset, signingtable),
	CONFIG_OPT("Socket", config_set_socket, socket),
	CONFIG_OPT("SoftwareHeader", config_set_bool, software_header,
	           CONFIG_DEF(false)),
	CONFIG_OPT("StrictHeaders", config_set_bool, strict_headers,
	           CONFIG_DEF(false)),
	CONFIG_OPT("SubDomains", config_set_bool, subdomains,
	           CONFIG_DEF(false)),
	CONFIG_OPT("Syslog", config_set_bool, syslog,
	           CONFIG_DEF(true)),
	CONFIG_OPT("SyslogFacility", config_set_facility, syslog_facility),
	CONFIG_OPT("SyslogName", config_set_syslog_name, syslog_name),
	CONFIG_OPT("SyslogSuccess", config_set_bool, syslog_success,
	           CONFIG_DEF(false)),
	CONFIG_OPT("UMask", config_set_umask, umask),
	CONFIG_OPT("UserID", config_set_userid, user),
};

#define CONFIG_NOPTIONS CONFIG_NELEMS(config_options)

static bool config_row_defaults(config *cfg)
{
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const config_option *opt = &config_options[i];

		if (opt->has_default)
			config_store(cfg, opt, opt->def);
		if (opt->names != NULL &&
		    !config_names_set(CONFIG_FIELD(cfg, opt, config_names),
		                      opt->names, opt->nnames))
			return false;
	}
	return true;
}

static const config_option *config_find_option(const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strcasecmp(config_options[i].name, name) == 0) {
			*idx = i;
			return &config_options[i];
		}
	}
	return NULL;
}

/* Option index by name; the table is static so this cannot fail. */
static size_t config_index(const char *name)
{
	size_t idx = 0;

	config_find_option(name, &idx);
	return idx;
}

/* ---- step 1: reading lines ------------------------------------------------- */

static bool config_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* A copy of len bytes of text, NUL-ended. */
static char *config_memdup(const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy != NULL) {
		memcpy(copy, text, len);
		copy[len] = '\0';
	}
	return copy;
}

/*
 * Adds a file name and its text to cfg->sources; returns the stored copy
 * of the name.
 */
static const char *config_add_source(config_ctx *ctx, const char *name,
                                     const char *text, size_t len)
{
	config *cfg = ctx->cfg;
	size_t n = cfg->nsources + 1;
	char **sources = realloc(cfg->sources, n * sizeof(char *));
	char **texts;
	size_t *lens;

	if (sources == NULL)
		return NULL;
	cfg->sources = sources;
	if ((texts = realloc(cfg->source_texts, n * sizeof(char *))) == NULL)
		return NULL;
	cfg->source_texts = texts;
	if ((lens = realloc(cfg->source_lens, n * sizeof(size_t))) == NULL)
		return NULL;
	cfg->source_lens = lens;
	sources[cfg->nsources] = strdup(name);
	texts[cfg->nsources] = config_memdup(text, len);
	lens[cfg->nsources] = len;
	if (sources[cfg->nsources] == NULL || texts[cfg->nsources] == NULL) {
		free(sources[cfg->nsources]);
		free(texts[cfg->nsources]);
		return NULL;
	}
	return sources[cfg->nsources++];
}

/*
 * The text of an Include file: from the file, or at a refresh as it was
 * read at the last load (a copy). NULL with the reason in *why.
 */
static char *config_include_text(config_ctx *ctx, const char *path,
                                 size_t *len, const char **why)
{
	const config *from = ctx->refresh_from;

	if (from == NULL)
		return dataset_read_file(path, len, why);
	for (size_t i = 1; i < from->nsources; i++) {
		if (strcmp(from->sources[i], path) != 0)
			continue;
		*len = from->source_lens[i];
		*why = "out of memory";
		return config_memdup(from->source_texts[i], *len);
	}
	*why = "not read at the last load (SIGHUP reads it)";
	return NULL;
}

/* Remembers the last value of option idx and where it came from. */
static void config_remember(config_ctx *ctx, size_t idx, const char *value,
                            size_t vlen, const char *file, unsigned line)
{
	char *v = strndup(value, vlen), *w = NULL;

	if (v == NULL || (line == 0 ? (w = strdup(file)) == NULL
	                            : asprintf(&w, "%s:%u", file, line) < 0)) {
		free(v);
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: out of memory", file,
		         line);
		return;
	}
	/* Every key holds one value; a second line replaces the first, as in
	 * OpenDKIM (the last one is used), which is easy to miss in a long
	 * file (two MacroList lines are not one list). The command line's
	 * overrides (line 0) replace on purpose. */
	if (line != 0 && ctx->values[idx] != NULL && ctx->lines[idx] != 0)
		diag_add(ctx->diag, DIAG_WARNING, "%s:%u: %s given again: this "
		         "value replaces the one at %s", file, line,
		         config_options[idx].name, ctx->wheres[idx]);
	free(ctx->values[idx]);
	free(ctx->wheres[idx]);
	ctx->values[idx] = v;
	ctx->wheres[idx] = w;
	ctx->files[idx] = file;
	ctx->lines[idx] = line;
	ctx->seq[idx] = ++ctx->next_seq;
}

static void config_read_buffer(config_ctx *ctx, const char *file,
                               const char *buf, size_t len, int depth);

static void config_include(config_ctx *ctx, const char *path,
                           const char *file, unsigned line, int depth)
{
	const char *why, *stored;
	size_t len;
	char *data;

	if (ctx->flags & CONFIG_PARSE_ONLY)
		return;
	if (depth >= CONFIG_MAX_INCLUDE) {
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: Include %s: nested "
		         "deeper than %d files", file, line, path,
		         CONFIG_MAX_INCLUDE);
		return;
	}
	data = config_include_text(ctx, path, &len, &why);
	if (data == NULL) {
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: Include %s: %s", file,
		         line, path, why);
		return;
	}
	stored = config_add_source(ctx, path, data, len);
	if (stored == NULL)
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: out of memory", file,
		         line);
	else
		config_read_buffer(ctx, stored, data, len, depth + 1);
	free(data);
}

/* One "Key value" line (comment and outer whitespace already removed). */
static void config_read_line(config_ctx *ctx, const char *file,
                             unsigned line, const char *text, size_t len,
                             int depth)
{
	size_t klen = 0, vstart;
	char key[64], *value;
	size_t idx;

	while (klen < len && !config_is_space((unsigned char)text[klen]))
		klen++;
	for (vstart = klen; vstart < len &&
	     config_is_space((unsigned char)text[vstart]); vstart++)
		;
	if (klen >= sizeof(key)) {
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: unknown option '%.*s'",
		         file, line, (int)(klen > 80 ? 80 : klen), text);
		return;
	}
	memcpy(key, text, klen);
	key[klen] = '\0';
	if (config_find_option(key, &idx) != NULL) {
		if (vstart == len)
			diag_add(ctx->diag, DIAG_ERROR, "%s:%u: no value for %s",
			         file, line, config_options[idx].name);
		else
			config_remember(ctx, idx, text + vstart, len - vstart,
			                file, line);
	} else if (strcasecmp(key, "Include") == 0) {
		value = strndup(text + vstart, len - vstart);
		if (value != NULL && *value != '\0')
			config_include(ctx, value, file, line, depth);
		else
			diag_add(ctx->diag, DIAG_ERROR, "%s:%u: no value for "
			         "Include", file, line);
		free(value);
	} else if (config_is_opendkim_option(key)) {
		/* LDAP keys: dataset_ldap_configure took them */
		if (!dataset_ldap_is_option(key) &&
		    !config_switched_off(key, text + vstart, len - vstart))
			diag_add(ctx->diag, DIAG_WARNING, "%s:%u: OpenDKIM option "
			         "'%s' is not supported and is ignored", file,
			         line, key);
	} else {
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: unknown option '%s'",
		         file, line, key);
	}
}

static void config_read_buffer(config_ctx *ctx, const char *file,
                               const char *buf, size_t len, int depth)
{
	size_t pos = 0;
	unsigned line = 0;

	while (pos < len) {
		const char *text = buf + pos;
		const char *nl = memchr(text, '\n', len - pos);
		size_t tlen = nl ? (size_t)(nl - text) : len - pos;
		const char *hash;

		pos += tlen + (nl != NULL);
		line++;
		if (memchr(text, '\0', tlen) != NULL || tlen > CONFIG_MAX_LINE) {
			diag_add(ctx->diag, DIAG_ERROR, "%s:%u: %s", file, line,
			         tlen > CONFIG_MAX_LINE ? "line too long"
			                                : "NUL byte in line");
			continue;
		}
		if ((hash = memchr(text, '#', tlen)) != NULL)
			tlen = (size_t)(hash - text);
		while (tlen > 0 && config_is_space((unsigned char)*text)) {
			text++;
			tlen--;
		}
		while (tlen > 0 && config_is_space((unsigned char)text[tlen - 1]))
			tlen--;
		if (tlen > 0)
			config_read_line(ctx, file, line, text, tlen, depth);
	}
}

/* ---- step 2: applying values ----------------------------------------------- */

static void config_override(config_ctx *ctx, const char *name,
                            const char *value, const char *where)
{
	size_t idx = config_index(name);

	if (value != NULL)
		config_remember(ctx, idx, value, strlen(value), where, 0);
}

static void config_apply_overrides(config_ctx *ctx, const config_overrides *ov)
{
	size_t i, idx;

	config_override(ctx, "Socket", ov->socket, "command line (-p)");
	config_override(ctx, "UserID", ov->user, "command line (-u)");
	config_override(ctx, "PidFile", ov->pidfile, "command line (-P)");
	for (i = 0; i < ov->nitems && i < CONFIG_MAX_OVERRIDES; i++) {
		const config_override_item *it = &ov->items[i];

		if (config_find_option(it->key, &idx) == NULL)
			diag_add(ctx->diag, DIAG_ERROR, "%s: unknown option '%s'",
			         it->where, it->key);
		else
			config_override(ctx, it->key, it->value, it->where);
	}
}

/* The option set by the seq-th remembered value, or CONFIG_NOPTIONS. */
static size_t config_by_seq(const config_ctx *ctx, unsigned seq)
{
	size_t i;

	for (i = 0; i < CONFIG_NOPTIONS; i++)
		if (ctx->values[i] != NULL && ctx->seq[i] == seq)
			return i;
	return CONFIG_NOPTIONS;
}

/* Applies the values in the order they were read, so errors are too. */
static void config_apply(config_ctx *ctx)
{
	unsigned seq;

	for (seq = 1; seq <= ctx->next_seq; seq++) {
		size_t i = config_by_seq(ctx, seq);
		const config_option *opt = &config_options[i];
		char why[256] = "";

		if (i == CONFIG_NOPTIONS)
			continue;
		if (opt->set(ctx, opt, ctx->values[i], ctx->wheres[i], why,
		             sizeof(why)) == CONFIG_SET_BAD)
			diag_add(ctx->diag, DIAG_ERROR, "%s: bad value '%s' for "
			         "%s: %s", ctx->wheres[i], ctx->values[i],
			         opt->name, why);
	}
}

/* ---- step 3: finishing ----------------------------------------------------- */

/* Copies len bytes of src into a CONFIG_NAME_MAX buffer. */
static bool config_copy_name(char *dst, const char *src, size_t len)
{
	if (len >= CONFIG_NAME_MAX)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

bool config_signing_value(const dataset_entry *e, char keyname[CONFIG_NAME_MAX],
                          char signer[CONFIG_NAME_MAX])
{
	const char *first, *colon;

	keyname[0] = signer[0] = '\0';
	if (e->nfields == 0 || e->nfields > 2)
		return false;
	first = e->fields[0];
	if (e->nfields == 2)
		return config_copy_name(keyname, first, strlen(first)) &&
		       config_copy_name(signer, e->fields[1],
		                        strlen(e->fields[1]));
	colon = strchr(first, ':');
	if (colon == NULL)
		return config_copy_name(keyname, first, strlen(first));
	return colon != first &&
	       config_copy_name(keyname, first, (size_t)(colon - first)) &&
	       config_copy_name(signer, colon + 1, strlen(colon + 1));
}

/* UserID: look up the user (name or number) and group. */
static void config_finish_user(config_ctx *ctx)
{
	config *cfg = ctx->cfg;
	size_t idx = config_index("UserID");
	const char *where = ctx->wheres[idx];
	struct passwd *pw;
	struct group *gr;

	if (!cfg->has_user || (ctx->flags & CONFIG_PARSE_ONLY))
		return;
	pw = getpwnam(cfg->user);
	if (pw == NULL && strspn(cfg->user, "0123456789") == strlen(cfg->user))
		pw = getpwuid((uid_t)strtoul(cfg->user, NULL, 10));
	if (pw == NULL) {
		diag_add(ctx->diag, DIAG_ERROR, "%s: bad value '%s' for UserID: "
		         "unknown user '%s'", where, ctx->values[idx], cfg->user);
		return;
	}
	cfg->uid = pw->pw_uid;
	cfg->gid = pw->pw_gid;
	if (cfg->group == NULL)
		return;
	gr = getgrnam(cfg->group);
	if (gr == NULL &&
	    strspn(cfg->group, "0123456789") == strlen(cfg->group))
		gr = getgrgid((gid_t)strtoul(cfg->group, NULL, 10));
	if (gr == NULL) {
		diag_add(ctx->diag, DIAG_ERROR, "%s: bad value '%s' for UserID: "
		         "unknown group '%s'", where, ctx->values[idx],
		         cfg->group);
		return;
	}
	cfg->gid = gr->gr_gid;
}

/* Macro names: letters, digits, "_", optionally in braces. */
static bool config_macro_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
		s++;
		len -= 2;
	}
	if (len == 0 || len > CONFIG_MACRO_NAME_MAX - 3)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/*
 * A MacroList entry, "name" or "name|value|value...". Writes the macro's
 * name as libmilter knows it into name (CONFIG_MACRO_NAME_MAX bytes):
 * "daemon_name" -> "{daemon_name}"; a one-letter name ("j") or one in
 * braces stays as given. *values: the text after the first "|", NULL when
 * the entry has no values. False with a reason in *why when malformed.
 */
static bool config_macro_entry(const char *entry, char *name,
                               const char **values, const char **why)
{
	const char *bar = strchr(entry, '|'), *v;
	size_t len = bar != NULL ? (size_t)(bar - entry) : strlen(entry);

	if (!config_macro_name_ok(entry, len)) {
		*why = "the macro name must be letters, digits and '_' "
		       "(at most 64), as in daemon_name|ORIGINATING";
		return false;
	}
	for (v = bar; v != NULL; v = strchr(v + 1, '|')) {
		if (v[1] == '|' || v[1] == '\0') {
			*why = "empty value between '|'";
			return false;
		}
	}
	if (len == 1 || entry[0] == '{')
		snprintf(name, CONFIG_MACRO_NAME_MAX, "%.*s", (int)len, entry);
	else
		snprintf(name, CONFIG_MACRO_NAME_MAX, "{%.*s}", (int)len, entry);
	*values = bar != NULL ? bar + 1 : NULL;
	return true;
}

/*
 * MacroList parsed once, at load, into cfg->macros (the milter consults it
 * for every message); every entry must be well formed (a bad one would
 * never match).
 */
static void config_finish_macrolist(config_ctx *ctx)
{
	config *cfg = ctx->cfg;
	const dataset *ml = cfg->macro_list;
	const char *why;
	size_t i;

	if (ml == NULL || ml->count == 0)
		return;
	cfg->macros = calloc(ml->count, sizeof(*cfg->macros));
	if (cfg->macros == NULL) {
		diag_add(ctx->diag, DIAG_ERROR, "%s: out of memory", ml->file);
		return;
	}
	for (i = 0; i < ml->count; i++) {
		config_macro *m = &cfg->macros[cfg->nmacros];

		if (config_macro_entry(ml->entries[i].key, m->name, &m->values, &why))
			cfg->nmacros++;
		else
			diag_add(ctx->diag, DIAG_ERROR, "%s:%u: bad MacroList "
			         "entry '%s': %s", ml->entries[i].file,
			         ml->entries[i].line, ml->entries[i].key, why);
	}
}

/*
 * ExemptDomains entries are domain names (refile: may hold "*"): an
 * address or a typing mistake would never match, and mail meant to be
 * left alone would be signed or verified after all.
 */
static void config_check_exempt(config_ctx *ctx)
{
	const dataset *ds = ctx->cfg->exempt_domains;
	bool re = ds != NULL && ds->kind == DATASET_REFILE;
	size_t i;

	for (i = 0; ds != NULL && i < ds->count; i++) {
		const dataset_entry *e = &ds->entries[i];

		if (dkim_domain_valid(e->key, strlen(e->key),
		                      re ? DKIM_DOMAIN_PATTERN : DKIM_DOMAIN_ENTRY))
			continue;
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: bad ExemptDomains entry "
		         "'%s': expected a domain name%s", e->file, e->line,
		         e->key, re ? " (or a pattern with '*')" : "");
	}
}

/*
 * DontSignMailTo entries are addresses, local@domain, or refile: patterns
 * with "*" (any entry: a pattern may stand for either part). An entry
 * without "@", or with a "*" outside refile: (taken literally there, as
 * by OpenDKIM), is legal to OpenDKIM but never matches a recipient: an
 * error, so the mistake is found at load rather than by signed mail.
 */
static void config_check_dont_sign(config_ctx *ctx)
{
	const dataset *ds = ctx->cfg->dont_sign_mail_to;
	bool re = ds != NULL && ds->kind == DATASET_REFILE;
	size_t i;

	for (i = 0; ds != NULL && i < ds->count; i++) {
		const dataset_entry *e = &ds->entries[i];
		const char *at = strrchr(e->key, '@');

		if (re ? strchr(e->key, '*') != NULL || at != NULL
		       : at != NULL && at != e->key && at[1] != '\0' &&
		         strchr(e->key, '*') == NULL)
			continue;
		diag_add(ctx->diag, DIAG_ERROR, "%s:%u: bad DontSignMailTo entry "
		         "'%s': expected an address, user@domain%s", e->file,
		         e->line, e->key, re ? " (or a pattern with '*')" : "");
	}
}

/*
 * In a SigningTable that is not refile:, OpenDKIM looks up exact keys,
 * among them "*" and "user@*" (its lookup order ends with them); any
 * other "*" is taken literally and the line never matches a sender.
 */
static bool config_signing_key_literal_star(const dataset *st, const char *key)
{
	const char *star = strchr(key, '*');
	size_t len = strlen(key);

	if (st->kind != DATASET_FILE || star == NULL || strcmp(key, "*") == 0)
		return false;
	return !(len >= 2 && star == key + len - 1 && key[len - 2] == '@');
}

/*
 * A SigningTable pattern whose domain part ("*", "*@*", "user@*", or "*"
 * wildcards and dots only) matches any sender domain: a catch-all that
 * signs for domains the site may not own (an open signer, as OpenDKIM
 * users found). Harmless when the key's domain is "%" (each sender's own).
 */
static bool config_pattern_any_domain(const char *pattern)
{
	const char *at = strrchr(pattern, '@');
	const char *d = at != NULL ? at + 1 : pattern;

	if (*d == '\0' || strchr(d, '*') == NULL)
		return false;
	return d[strspn(d, "*.")] == '\0';
}

static void config_warn_catch_all(config_ctx *ctx, const dataset_entry *e,
                                  const char *keyname)
{
	const keystore_entry *k;

	if (!config_pattern_any_domain(e->key) || strcmp(keyname, "%") == 0 ||
	    ctx->cfg->keys == NULL)
		return;
	k = keystore_find(ctx->cfg->keys, keyname);
	if (k == NULL || (k->domain != NULL && strcmp(k->domain, "%") == 0))
		return;
	diag_add(ctx->diag, DIAG_WARNING, "%s:%u: SigningTable pattern '%s' matches "
	         "any sender domain: key '%s' (d=%s) signs mail of domains this site "
	         "may not own; list the domains, or use '%%' as the KeyTable domain",
	         e->file, e->line, e->key, keyname, k->domain != NULL ? k->domain : "?");
}

/* Every SigningTable entry names a key that exists (or "%"). */
static void config_check_signingtable(config_ctx *ctx)
{
	const dataset *st = ctx->cfg->signingtable;
	size_t i;

	for (i = 0; i < st->count; i++) {
		const dataset_entry *e = &st->entries[i];
		char keyname[CONFIG_NAME_MAX], signer[CONFIG_NAME_MAX];

		if (config_signing_key_literal_star(st, e->key))
			diag_add(ctx->diag, DIAG_WARNING, "%s:%u: SigningTable "
			         "entry '%s' never matches: '*' is a wildcard only "
			         "in a refile: SigningTable (SigningTable "
			         "refile:%s)", e->file, e->line, e->key, st->file);

		if (!config_signing_value(e, keyname, signer)) {
			diag_add(ctx->diag, DIAG_ERROR, "%s:%u: SigningTable entry "
			         "'%s' must be PATTERN KEYNAME [SIGNER]", e->file,
			         e->line, e->key);
			continue;
		}
		if (ctx->cfg->keys != NULL && strcmp(keyname, "%") != 0 &&
		    keystore_find(ctx->cfg->keys, keyname) == NULL)
			diag_add(ctx->diag, DIAG_ERROR, "%s:%u: SigningTable entry "
			         "'%s': key name '%s' is not in the KeyTable",
			         e->file, e->line, e->key, keyname);
		else if (!config_signing_key_literal_star(st, e->key))
			config_warn_catch_all(ctx, e, keyname);
	}
}

/* SignatureAlgorithm against the single key: the key's type decides. */
static void config_check_alg(config_ctx *ctx)
{
	const config *cfg = ctx->cfg;
	size_t sa = config_index("SignatureAlgorithm");
	dkim_alg alg;

	if (cfg->keys == NULL || cfg->keys->entries[0].key == NULL ||
	    ctx->values[sa] == NULL)
		return;
	alg = keystore_key_alg(cfg->keys->entries[0].key);
	if (alg != cfg->sign_alg)
		diag_add(ctx->diag, DIAG_WARNING, "%s: SignatureAlgorithm %s "
		         "does not suit KeyFile %s; it signs with %s",
		         ctx->wheres[sa], ctx->values[sa], cfg->keyfile,
		         alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256"
		                                        : "rsa-sha256");
}

static void config_finish_keys(config_ctx *ctx)
{
	config *cfg = ctx->cfg;
	size_t kf = config_index("KeyFile"), st = config_index("SigningTable");
	keystore_options opts = { cfg->require_safe_keys, cfg->has_user,
	                          cfg->uid };

	if (cfg->keytable != NULL) {
		cfg->keys = keystore_load(cfg->keytable, &opts,
		                          ctx->previous_keys, ctx->diag);
		if (cfg->keyfile != NULL)
			diag_add(ctx->diag, DIAG_WARNING, "%s: KeyFile is ignored "
			         "because KeyTable is set", ctx->wheres[kf]);
	} else if (cfg->keyfile != NULL && cfg->selector == NULL) {
		diag_add(ctx->diag, DIAG_ERROR, "%s: KeyFile needs a Selector",
		         ctx->wheres[kf]);
	} else if (cfg->keyfile != NULL) {
		if (cfg->domains == NULL)
			diag_add(ctx->diag, DIAG_WARNING, "%s: KeyFile without "
			         "Domain: nothing will be signed",
			         ctx->wheres[kf]);
		cfg->keys = keystore_single("%", cfg->selector, cfg->keyfile,
		                            ctx->files[kf], ctx->lines[kf],
		                            &opts, ctx->previous_keys,
		                            ctx->diag);
		config_check_alg(ctx);
	}
	if (cfg->signingtable != NULL && cfg->keytable == NULL)
		diag_add(ctx->diag, DIAG_ERROR, "%s: SigningTable needs a "
		         "KeyTable", ctx->wheres[st]);
	else if (cfg->signingtable != NULL)
		config_check_signingtable(ctx);
	else if (cfg->keytable != NULL)
		diag_add(ctx->diag, DIAG_WARNING, "%s: KeyTable without "
		         "SigningTable: nothing will be signed",
		         ctx->wheres[config_index("KeyTable")]);
}

/*
 * ARC (opendkim.conf(5)): ARCSignHeaders defaults to SignHeaders and never
 * lists ARC fields or Authentication-Results (RFC 8617 §4.1.2: the AMS
 * does not sign them); sealing needs ARCSealKey naming a KeyTable entry
 * with a fixed domain and a key loaded at start.
 */
static void config_finish_arc(config_ctx *ctx)
{
	config *cfg = ctx->cfg;
	size_t k = config_index("ARCSealKey"), h = config_index("ARCSignHeaders");
	static const char *const refused[] = {
		"ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results",
		"Authentication-Results"
	};

	if (ctx->values[h] == NULL &&
	    !config_names_set(&cfg->arc_sign_headers,
	                      (const char *const *)cfg->sign_headers.names,
	                      cfg->sign_headers.count))
		diag_add(ctx->diag, DIAG_ERROR, "out of memory");
	for (size_t i = 0; i < CONFIG_NELEMS(refused); i++)
		if (ctx->values[h] != NULL && config_names_has(&cfg->arc_sign_headers, refused[i]))
			diag_add(ctx->diag, DIAG_ERROR, "%s: ARCSignHeaders must not "
			         "list %s (RFC 8617 §4.1.2)", ctx->wheres[h], refused[i]);
	if (!cfg->arc_seal || (ctx->flags & CONFIG_PARSE_ONLY))
		return;
	if (cfg->arc_seal_key == NULL) {
		diag_add(ctx->diag, DIAG_ERROR, "%s: ARCMode s needs ARCSealKey",
		         ctx->wheres[config_index("ARCMode")]);
		return;
	}
	cfg->arc_key = cfg->keytable != NULL && cfg->keys != NULL
	               ? keystore_find(cfg->keys, cfg->arc_seal_key) : NULL;
	if (cfg->arc_key == NULL)
		diag_add(ctx->diag, DIAG_ERROR, "%s: ARCSealKey %s is not a KeyTable "
		         "entry", ctx->wheres[k], cfg->arc_seal_key);
	else if (cfg->arc_key->key == NULL || strcmp(cfg->arc_key->domain, "%") == 0)
		diag_add(ctx->diag, DIAG_ERROR, "%s: ARCSealKey %s: the KeyTable entry "
		         "needs a fixed domain and key file (no %%)", ctx->wheres[k],
		         cfg->arc_seal_key);
	else if (keystore_key_alg(cfg->arc_key->key) == DKIM_ALG_ED25519_SHA256)
		diag_add(ctx->diag, DIAG_WARNING, "%s: ARCSealKey %s is an Ed25519 key: "
		         "RFC 8617 §4.1.3 names rsa-sha256 only, and some verifiers "
		         "(dkimpy) refuse other seals", ctx->wheres[k], cfg->arc_seal_key);
}

/*
 * On-Default: OpenDKIM's opendkim.conf(5) "is processed before the other
 * On- values so it can be used as a blanket setting followed by specific
 * overrides": every On-* key not set takes its value, wherever in the
 * file On-Default is.
 */
static void config_finish_on_default(config_ctx *ctx)
{
	static const char *const others[] = {
		"On-BadSignature", "On-DNSError", "On-InternalError", "On-KeyNotFound",
		"On-NoSignature", "On-Security", "On-SignatureError",
	};
	size_t i;

	if (ctx->values[config_index("On-Default")] == NULL)
		return;
	for (i = 0; i < CONFIG_NELEMS(others); i++) {
		size_t idx = config_index(others[i]);

		if (ctx->values[idx] == NULL)
			*CONFIG_FIELD(ctx->cfg, &config_options[idx], config_action) =
				ctx->cfg->on_default;
	}
}

static void config_finish(config_ctx *ctx)
{
	config *cfg = ctx->cfg;

	if (cfg->internal_hosts == NULL &&
	    (cfg->internal_hosts = hostlist_default_internal()) == NULL)
		diag_add(ctx->diag, DIAG_ERROR, "out of memory");
	if (!config_names_has(&cfg->sign_headers, "From") &&
	    !config_names_add(&cfg->sign_headers, "From"))
		diag_add(ctx->diag, DIAG_ERROR, "out of memory");
	config_names_remove(&cfg->omit_headers, "From");
	config_finish_on_default(ctx);
	config_finish_macrolist(ctx);
	config_check_exempt(ctx);
	config_check_dont_sign(ctx);
	config_finish_user(ctx);
	if (!(ctx->flags & CONFIG_PARSE_ONLY))
		config_finish_keys(ctx);
	config_finish_arc(ctx);
}

/* ---- entry points ---------------------------------------------------------- */

static void config_ctx_free(config_ctx *ctx)
{
	size_t i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (ctx->values != NULL)
			free(ctx->values[i]);
		if (ctx->wheres != NULL)
			free(ctx->wheres[i]);
	}
	free(ctx->values);
	free(ctx->wheres);
	free(ctx->files);
	free(ctx->lines);
	free(ctx->seq);
}

static bool config_ctx_init(config_ctx *ctx, diag_list *diag, unsigned flags)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->diag = diag;
	ctx->flags = flags;
	ctx->cfg = config_new_defaults();
	ctx->values = calloc(CONFIG_NOPTIONS, sizeof(char *));
	ctx->wheres = calloc(CONFIG_NOPTIONS, sizeof(char *));
	ctx->files = calloc(CONFIG_NOPTIONS, sizeof(char *));
	ctx->lines = calloc(CONFIG_NOPTIONS, sizeof(unsigned));
	ctx->seq = calloc(CONFIG_NOPTIONS, sizeof(unsigned));
	if (ctx->cfg == NULL || ctx->values == NULL || ctx->wheres == NULL ||
	    ctx->files == NULL || ctx->lines == NULL || ctx->seq == NULL) {
		config_unref(ctx->cfg);
		config_ctx_free(ctx);
		diag_add(diag, DIAG_ERROR, "out of memory");
		return false;
	}
	return true;
}

static config *config_parse(const char *name, const char *buf, size_t len,
                           const config_overrides *ov, unsigned flags,
                           const config *previous, const config *refresh_from,
                           bool *unchanged, diag_list *diag)
{
	config_ctx ctx;
	size_t errors = diag->errors;
	const char *file;
	config *cfg;

	if (!config_ctx_init(&ctx, diag, flags))
		return NULL;
	dataset_ldap_configure(buf, len);
	ctx.previous_keys = previous != NULL ? previous->keys : NULL;
	ctx.refresh_from = refresh_from;
	cfg = ctx.cfg;
	file = config_add_source(&ctx, name, buf, len);
	if (file == NULL || (cfg->path = strdup(name)) == NULL)
		diag_add(diag, DIAG_ERROR, "%s: out of memory", name);
	else
		config_read_buffer(&ctx, file, buf, len, 0);
	if (ov != NULL)
		config_apply_overrides(&ctx, ov);
	config_apply(&ctx);
	if (refresh_from != NULL && !ctx.changed && diag->errors == errors) {
		/* every database gave the rows running has: nothing to do
		 * (no keys to parse again, no configuration to swap) */
		*unchanged = true;
		config_ctx_free(&ctx);
		config_unref(cfg);
		return NULL;
	}
	config_finish(&ctx);
	config_ctx_free(&ctx);
	if (diag->errors != errors) {
		config_unref(cfg);
		return NULL;
	}
	return cfg;
}

config *config_parse_buffer(const char *name, const char *buf, size_t len,
                            const config_overrides *ov, unsigned flags,
                            diag_list *diag)
{
	return config_parse(name, buf, len, ov, flags, NULL, NULL, NULL, diag);
}

config *config_reload(const char *path, const config_overrides *ov,
                      const config *previous, diag_list *diag)
{
	const char *why;
	size_t len;
	char *data;
	config *cfg;

	if (path == NULL)
		path = CONFIG_DEFAULT_PATH;
	data = dataset_read_file(path, &len, &why);
	if (data == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: cannot read configuration: %s",
		         path, why);
		return NULL;
	}
	cfg = config_parse(path, data, len, ov, 0, previous, NULL, NULL, diag);
	free(data);
	return cfg;
}

config *config_refresh(const config *running, const config_overrides *ov,
                       bool *unchanged, diag_list *diag)
{
	*unchanged = false;
	if (running == NULL || running->nsources == 0) {
		diag_add(diag, DIAG_ERROR, "no configuration to refresh");
		return NULL;
	}
	return config_parse(running->sources[0], running->source_texts[0],
	                    running->source_lens[0], ov, 0, running, running,
	                    unchanged, diag);
}

config *config_load(const char *path, const config_overrides *ov,
                    diag_list *diag)
{
	return config_reload(path, ov, NULL, diag);
}
