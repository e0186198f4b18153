/*
 * testkey.c - opendkim-testkey: checks that a published DKIM key record
 * is there, parses, is usable, and matches the private key.
 *
 * Interface:
 *   opendkim-testkey -d DOMAIN -s SELECTOR [-k KEYFILE] [-x CONFIG] [-v]
 *                    [--nameservers LIST] [--timeout SECONDS]
 * looks SELECTOR._domainkey.DOMAIN up through libdkim's resolver (c-ares;
 * Nameservers and DNSTimeout from CONFIG when -x is given, the options
 * above override them), parses it with libdkim, and with -k checks that the
 * published public key is the public half of KEYFILE (RSA and Ed25519).
 * Without -d/-s it checks every key of the configuration's KeyTable (or
 * its KeyFile), CONFIG or /etc/opendkim.conf: all records are looked up at
 * once and each is compared with its loaded private key.
 *
 * Output: one line per key on stdout saying what was found (key type and
 * size, h=, t=y, t=s, s=); one line per problem on stderr:
 *   opendkim-testkey: NAME: PROBLEM
 * Problems: no record, record does not parse, revoked key, DNS failure or
 * timeout, RSA key under 1024 bits, h= or s= that rule DKIM signatures out,
 * a key file readable or writable by group or other, a key file that does
 * not load, a key that does not match.
 *
 * Keys of the configuration: every KeyTable entry, and the single key of
 * Domain + Selector + KeyFile. A key whose d= is "%" (the sender's domain)
 * is checked under every domain that can choose it: each Domain entry for
 * KeyFile, each SigningTable pattern naming the key for a KeyTable entry
 * (the part after "@"); patterns with "*" cannot be looked up and are
 * said so. With -d/-s and no -k, the configuration's key with that d= and
 * s= is compared, as OpenDKIM compares its KeyFile; "key OK" is printed
 * only for a record compared with a private key.
 *
 * Exit status: OpenDKIM's (sysexits.h), so scripts written for it work:
 * 0 every key checked is fine; 65 a published key does not match its
 * private key, or cannot verify any signature (under 1024 bits, h=, s=);
 * 69 a record not found, not parseable, revoked, or a DNS failure; 71 a
 * key file that cannot be read or is not safe; 78 a usage or
 * configuration error. With several problems the first in that order
 * (65, 69, 71) decides.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "dkim.h"
#include "dkim_resolver.h"
#include "odkconfig.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define TESTKEY_PROG "opendkim-testkey"
#define TESTKEY_NAME_MAX 512

/* One key to check: a name to publish it under and, optionally, the
 * private half (a file to load, or a key already loaded). */
typedef struct {
	const char *domain;
	const char *selector;
	const char *keyfile;            /* NULL: no private key to compare */
	const dkim_privkey *key;        /* already loaded (from a KeyTable) */
	dkim_privkey *owned;            /* key loaded for this target */
	char name[TESTKEY_NAME_MAX];    /* SEL._domainkey.DOMAIN */
	char origin[TESTKEY_NAME_MAX];  /* " (key 'K', FILE:LINE)" or "" */
} testkey_target;

/* A growing list of targets. */
typedef struct {
	testkey_target *v;
	size_t n, cap;
} testkey_list;

typedef struct {
	const char *domain, *selector, *keyfile, *config_path;
	const char *nameservers;        /* --nameservers, or from the config */
	long timeout_s;                 /* --timeout; -1: from the config (5) */
	int verbose;
} testkey_opts;

/* ---- reporting ------------------------------------------------------------ */

/* The kinds of problem, most serious first; each is an OpenDKIM exit
 * status (its opendkim-testkey exits 65 "keys do not match", 69 when the
 * record cannot be had, 71 when the key file cannot be read). */
typedef enum {
	TK_MISMATCH = EX_DATAERR,
	TK_RECORD = EX_UNAVAILABLE,
	TK_KEYFILE = EX_OSERR
} testkey_kind;

static unsigned testkey_problems;
static int testkey_status;      /* the most serious kind seen, or 0 */

static int testkey_rank(int status)
{
	return status == TK_MISMATCH ? 3 : status == TK_RECORD ? 2
	     : status == TK_KEYFILE ? 1 : 0;
}

static void testkey_count(testkey_kind kind)
{
	testkey_problems++;
	if (testkey_rank((int)kind) > testkey_rank(testkey_status))
		testkey_status = (int)kind;
}

static void testkey_problem(const testkey_target *t, testkey_kind kind,
                            const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One line per problem on stderr; counted for the exit status. The reason
 * may quote a DNS answer: escaped (dkim_text_escape) so that it cannot
 * forge lines in a cron mail or a log. */
static void testkey_problem(const testkey_target *t, testkey_kind kind,
                            const char *fmt, ...)
{
	char raw[2048], line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	dkim_text_escape(raw, line, sizeof(line));
	fprintf(stderr, TESTKEY_PROG ": %s%s: %s\n", t->name, t->origin, line);
	testkey_count(kind);
}

/* ---- options -------------------------------------------------------------- */

enum { OPT_HELP = 256, OPT_NAMESERVERS, OPT_TIMEOUT };

static const struct option testkey_longopts[] = {
	{ "domain",      required_argument, NULL, 'd' },
	{ "selector",    required_argument, NULL, 's' },
	{ "key",         required_argument, NULL, 'k' },
	{ "config",      required_argument, NULL, 'x' },
	{ "verbose",     no_argument,       NULL, 'v' },
	{ "version",     no_argument,       NULL, 'V' },
	{ "help",        no_argument,       NULL, OPT_HELP },
	{ "nameservers", required_argument, NULL, OPT_NAMESERVERS },
	{ "timeout",     required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 }
};

static void testkey_usage(FILE *f)
{
	fprintf(f,
	    "usage: " TESTKEY_PROG " -d DOMAIN -s SELECTOR [-k KEYFILE] [-x CONFIG] [-v]\n"
	    "       " TESTKEY_PROG " [-x CONFIG] [-v]   (every key of the KeyTable)\n"
	    "  -d, --domain=NAME        signing domain (d=)\n"
	    "  -s, --selector=NAME      selector (s=)\n"
	    "  -k, --key=FILE           private key that must match the record [the\n"
	    "                           configuration's key of that domain and selector]\n"
	    "  -x, --config=FILE        opendkim.conf: Nameservers, DNSTimeout, the keys\n"
	    "                           [/etc/opendkim.conf, unless -k is given]\n"
	    "  -v, --verbose            say what is checked\n"
	    "      --nameservers=LIST   DNS servers (\"127.0.0.1@5353,192.0.2.1\")\n"
	    "      --timeout=SECONDS    DNS timeout [DNSTimeout, 5]\n"
	    "      --help, -V/--version\n"
	    "Exit status: 0 all well, 65 a key does not match its record, 69 a record\n"
	    "not found or not usable, 71 a key file not readable or not safe, 78 a usage\n"
	    "or configuration error.\n");
}

static bool testkey_parse_timeout(const char *arg, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > 300)
		return false;
	*out = v;
	return true;
}

/* Returns 0 to go on, 1 to exit 0 (help, version), 2 on a usage error. */
static int testkey_parse_args(int argc, char **argv, testkey_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_s = -1;
	while ((c = getopt_long(argc, argv, "d:s:k:x:vV", testkey_longopts,
	                        NULL)) != -1) {
		switch (c) {
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'x': o->config_path = optarg; break;
		case 'v': o->verbose++; break;
		case 'V': printf(TESTKEY_PROG " (dkimd) %s\n", PACKAGE_VERSION); return 1;
		case OPT_HELP: testkey_usage(stdout); return 1;
		case OPT_NAMESERVERS: o->nameservers = optarg; break;
		case OPT_TIMEOUT:
			if (testkey_parse_timeout(optarg, &o->timeout_s))
				break;
			fprintf(stderr, TESTKEY_PROG ": --timeout %s: 1 to 300 seconds\n", optarg);
			return 2;
		default:
			fprintf(stderr, TESTKEY_PROG ": try --help\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, TESTKEY_PROG ": unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if ((o->domain == NULL) != (o->selector == NULL)) {
		fprintf(stderr, TESTKEY_PROG ": -d and -s go together\n");
		return 2;
	}
	if (o->domain == NULL && o->keyfile != NULL) {
		fprintf(stderr, TESTKEY_PROG ": -k needs -d and -s\n");
		return 2;
	}
	return 0;
}

/* ---- checks --------------------------------------------------------------- */

/*
 * A private key file must be for the signer's eyes only: readable or
 * writable by group or other means anyone on the host can sign as the
 * domain (OpenDKIM's RequireSafeKeys refuses such files too).
 */
static void testkey_check_mode(const testkey_target *t, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return;     /* loading the key reports it */
	if (!S_ISREG(st.st_mode))
		testkey_problem(t, TK_KEYFILE, "%s is not a regular file", path);
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		testkey_problem(t, TK_KEYFILE, "%s can be read or written by group or other "
		                "(mode %04o); chmod 600 it", path,
		                (unsigned)(st.st_mode & 07777));
}

/* "rsa 2048-bit key, h=sha256, t=y (testing), ..." */
static void testkey_describe(const testkey_target *t, const dkim_pubkey *pub)
{
	unsigned flags = dkim_pubkey_flags(pub);
	bool sha256 = dkim_pubkey_allows_hash(pub, DKIM_HASH_SHA256);
	bool sha1 = dkim_pubkey_allows_hash(pub, DKIM_HASH_SHA1);

	printf("%s: %s %u-bit key%s%s%s%s\n", t->name,
	       dkim_pubkey_type(pub) == DKIM_KEY_ED25519 ? "ed25519" : "rsa",
	       dkim_pubkey_bits(pub),
	       sha256 && sha1 ? "" : sha256 ? ", h=sha256" : ", h= without sha256",
	       (flags & DKIM_KEYFLAG_TESTING) ? ", t=y (testing: verifiers may "
	                                        "ignore failures)" : "",
	       (flags & DKIM_KEYFLAG_STRICT) ? ", t=s (no subdomains in i=)" : "",
	       dkim_pubkey_allows_email(pub) ? "" : ", s= excludes email");
}

/* Problems of the published key alone. */
static void testkey_check_pubkey(const testkey_target *t, const dkim_pubkey *pub)
{
	testkey_describe(t, pub);
	/* RFC 8301 §3.2: verifiers MUST NOT accept keys under 1024 bits. */
	if (dkim_pubkey_type(pub) == DKIM_KEY_RSA && dkim_pubkey_bits(pub) < 1024)
		testkey_problem(t, TK_MISMATCH, "RSA key of %u bits: verifiers refuse keys under "
		                "1024 bits (RFC 8301)", dkim_pubkey_bits(pub));
	/* RFC 8301 §3.1: rsa-sha1 is not accepted any more, so a key limited
	 * to sha1 verifies nothing. */
	if (!dkim_pubkey_allows_hash(pub, DKIM_HASH_SHA256))
		testkey_problem(t, TK_MISMATCH, "h= does not allow sha256: no signature can verify");
	/* RFC 6376 §3.6.1: s= must list "email" or "*" for mail. */
	if (!dkim_pubkey_allows_email(pub))
		testkey_problem(t, TK_MISMATCH, "s= does not allow email: no signature can verify");
}

static const char *testkey_type_name(dkim_keytype type)
{
	return type == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

/* Compares the private half, loading it from its file when needed. True
 * when a private key was compared with the published one. */
static bool testkey_check_private(const testkey_target *t, const dkim_pubkey *pub)
{
	dkim_privkey *loaded = NULL;
	const dkim_privkey *priv = t->key;
	dkim_error err = { DKIM_OK, "" };
	bool compared = false;

	if (t->keyfile != NULL) {
		testkey_check_mode(t, t->keyfile);
		if (priv == NULL)
			priv = loaded = dkim_privkey_load_file(t->keyfile, &err);
		if (priv == NULL) {
			testkey_problem(t, TK_KEYFILE, "private key not usable: %s",
			                err.message);
			return false;
		}
	}
	/* No usable record (pub NULL): nothing to compare, but the key we
	 * loaded is still ours to free (issue 16: LeakSanitizer saw it). */
	if (priv == NULL || pub == NULL) {
		dkim_privkey_free(loaded);
		return false;
	}
	if (dkim_privkey_type(priv) != dkim_pubkey_type(pub))
		testkey_problem(t, TK_MISMATCH, "key mismatch: the private key "
		                "is %s, the published key is %s",
		                testkey_type_name(dkim_privkey_type(priv)),
		                testkey_type_name(dkim_pubkey_type(pub)));
	else if (!dkim_pubkey_matches(pub, priv))
		testkey_problem(t, TK_MISMATCH, "key mismatch: the published key "
		                "is not the public half of %s",
		                t->keyfile ? t->keyfile : "the private key");
	else
		compared = true;
	dkim_privkey_free(loaded);
	return compared;
}

/* Everything about one target, given its lookup result. */
static void testkey_check_one(const testkey_target *t, const dkim_key_query *q,
                              int verbose)
{
	const dkim_pubkey *pub = NULL;
	unsigned before = testkey_problems;
	bool compared;

	switch (q->status) {
	case DKIM_LOOKUP_NOTFOUND:
		testkey_problem(t, TK_RECORD, "no key record found%s%s",
		                q->reason[0] ? ": " : "", q->reason);
		break;
	case DKIM_LOOKUP_TEMPFAIL:
		testkey_problem(t, TK_RECORD, "DNS lookup failed%s%s",
		                q->reason[0] ? ": " : "", q->reason);
		break;
	case DKIM_LOOKUP_PERMFAIL:
		testkey_problem(t, TK_RECORD, "key record does not parse%s%s",
		                q->reason[0] ? ": " : "", q->reason);
		break;
	case DKIM_LOOKUP_FOUND:
		if (q->key != NULL && dkim_pubkey_revoked(q->key))
			testkey_problem(t, TK_RECORD, "key revoked (empty p=)");
		else if (q->key != NULL)
			testkey_check_pubkey(t, pub = q->key);
		break;
	}
	/* The key file is checked even when the record is missing: its mode
	 * and whether it loads are worth knowing either way. */
	compared = testkey_check_private(t, pub);
	if (testkey_problems != before)
		return;
	/* "key OK" means compared: a record alone is only said to be there. */
	if (compared && verbose > 0)
		printf("%s: key OK\n", t->name);
	else if (!compared)
		printf("%s%s: record OK, not compared with a private key (no -k, "
		       "and no key of the configuration has this domain and "
		       "selector)\n", t->name, t->origin);
}

/* ---- lookups -------------------------------------------------------------- */

static bool testkey_target_init(testkey_target *t, const char *domain,
                                const char *selector, const char *keyfile,
                                const dkim_privkey *key)
{
	int n;

	memset(t, 0, sizeof(*t));
	t->domain = domain;
	t->selector = selector;
	t->keyfile = keyfile;
	t->key = key;
	n = snprintf(t->name, sizeof(t->name), "%s._domainkey.%s", selector, domain);
	return n > 0 && (size_t)n < sizeof(t->name);
}

/* Looks every target up at once (the resolver runs them concurrently)
 * and checks each. */
static int testkey_run(testkey_target *targets, size_t n,
                       const dkim_resolver_options *ropts, int verbose)
{
	dkim_error err = { DKIM_OK, "" };
	dkim_resolver *res = dkim_resolver_new(ropts, &err);
	dkim_key_query *q;

	if (res == NULL) {
		fprintf(stderr, TESTKEY_PROG ": %s\n", err.message);
		return EX_CONFIG;
	}
	q = calloc(n, sizeof(*q));
	if (q == NULL) {
		dkim_resolver_free(res);
		fprintf(stderr, TESTKEY_PROG ": out of memory\n");
		return EX_OSERR;
	}
	for (size_t i = 0; i < n; i++) {
		q[i].domain = targets[i].domain;
		q[i].selector = targets[i].selector;
		if (verbose > 0)
			printf("%s: checking\n", targets[i].name);
	}
	fflush(stdout);
	dkim_resolver_lookup(res, q, n);
	for (size_t i = 0; i < n; i++) {
		testkey_check_one(&targets[i], &q[i], verbose);
		if (q[i].key != NULL)
			dkim_pubkey_unref(q[i].key);
	}
	free(q);
	dkim_resolver_free(res);
	return testkey_status;
}

static void testkey_resolver_options(const testkey_opts *o,
                                     const char *cfg_nameservers,
                                     unsigned cfg_timeout_s,
                                     dkim_resolver_options *ropts)
{
	dkim_resolver_options_init(ropts);
	ropts->cache = false;
	ropts->nameservers = o->nameservers ? o->nameservers : cfg_nameservers;
	if (o->timeout_s > 0)
		ropts->timeout_ms = (unsigned)o->timeout_s * 1000u;
	else if (cfg_timeout_s > 0)
		ropts->timeout_ms = cfg_timeout_s * 1000u;
}

/* ---- the configuration ----------------------------------------------------- */

/* Loads CONFIG; its errors (and, with -v, warnings) one per line. */
static config *testkey_load_config(const char *path, int verbose)
{
	diag_list diag = { 0 };
	config *cfg = config_load(path, NULL, &diag);

	for (size_t i = 0; i < diag.count; i++)
		if (diag.msgs[i].severity == DIAG_ERROR || verbose > 0)
			fprintf(stderr, TESTKEY_PROG ": %s%s\n",
			        diag.msgs[i].severity == DIAG_ERROR ? "" : "warning: ",
			        diag.msgs[i].text);
	if (cfg == NULL && diag.errors == 0)
		fprintf(stderr, TESTKEY_PROG ": %s: cannot load the configuration\n",
		        path);
	diag_list_free(&diag);
	return cfg;
}

/* Appends a target; NULL when out of memory. */
static testkey_target *testkey_list_add(testkey_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		testkey_target *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	return &l->v[l->n++];
}

static void testkey_list_free(testkey_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		dkim_privkey_free(l->v[i].owned);
	free(l->v);
}

/*
 * A target for KeyTable (or KeyFile) entry e under domain (e->domain, or
 * one the sender's domain "%" can be). A key path with "%" (per-domain key
 * files) is loaded for that domain. False when out of memory; a key that
 * does not load is a problem, and no target.
 */
static bool testkey_add_entry(testkey_list *l, const keystore *ks,
                              const keystore_entry *e, const char *domain)
{
	dkim_error err = { DKIM_OK, "" };
	dkim_privkey *key = NULL;
	bool own = false;
	testkey_target *t = testkey_list_add(l);

	if (t == NULL)
		return false;
	if (!testkey_target_init(t, domain, e->selector,
	                         e->path && !strchr(e->path, '%') ? e->path : NULL,
	                         NULL)) {
		fprintf(stderr, TESTKEY_PROG ": key '%s': name too long\n", e->name);
		testkey_count(TK_RECORD);
		l->n--;
		return true;
	}
	/* Problems name the KeyTable line, which is what the admin edits. */
	snprintf(t->origin, sizeof(t->origin), " (key '%.128s', %.200s:%u)",
	         e->name, e->file, e->line);
	if (!keystore_entry_key(e, domain, &ks->opts, &key, &own, &err)) {
		testkey_problem(t, TK_KEYFILE, "key '%s': %s", e->name, err.message);
		l->n--;
		return true;
	}
	t->key = key;
	t->owned = own ? key : NULL;
	return true;
}

/*
 * The domain a Domain entry or SigningTable pattern stands for: the part
 * after the last "@" ("user@example.com", "*@example.com"). NULL when it
 * is no single domain: a pattern with "*", ".example.com" (subdomains),
 * or empty.
 */
static const char *testkey_pattern_domain(const char *pattern)
{
	const char *at = strrchr(pattern, '@');
	const char *d = at ? at + 1 : pattern;

	if (*d == '\0' || *d == '.' || strchr(d, '*') != NULL)
		return NULL;
	return d;
}

/* True when l already has a target for e's selector under domain, from
 * index first on (one per domain, however many lines name it). */
static bool testkey_list_has(const testkey_list *l, size_t first,
                             const char *domain)
{
	for (size_t i = first; i < l->n; i++)
		if (strcasecmp(l->v[i].domain, domain) == 0)
			return true;
	return false;
}

/* The patterns that choose key e: Domain entries for the single KeyFile,
 * the SigningTable entries naming e for a KeyTable. */
static void testkey_sender_patterns(const config *cfg, const keystore_entry *e,
                                    const char ***out, size_t *n)
{
	const dataset *ds = cfg->keytable == NULL ? cfg->domains : cfg->signingtable;

	*n = 0;
	*out = NULL;
	if (ds == NULL || ds->count == 0)
		return;
	*out = calloc(ds->count, sizeof(**out));
	if (*out == NULL)
		return;
	for (size_t i = 0; i < ds->count; i++) {
		char keyname[CONFIG_NAME_MAX], signer[CONFIG_NAME_MAX];

		if (cfg->keytable != NULL &&
		    (!config_signing_value(&ds->entries[i], keyname, signer) ||
		     strcasecmp(keyname, e->name) != 0))
			continue;
		(*out)[(*n)++] = ds->entries[i].key;
	}
}

/*
 * Targets for an entry whose d= is the sender's domain: one per domain
 * that can choose it. Patterns that name no single domain cannot be looked
 * up: a warning says so (with -v, each of them). False when out of memory.
 */
static bool testkey_add_sender_domains(testkey_list *l, const config *cfg,
                                       const keystore_entry *e, int verbose)
{
	const char **pats;
	size_t npats, first = l->n, skipped = 0;
	bool ok = true;

	testkey_sender_patterns(cfg, e, &pats, &npats);
	for (size_t i = 0; ok && i < npats; i++) {
		const char *d = testkey_pattern_domain(pats[i]);

		if (d == NULL) {
			skipped++;
			if (verbose > 0)
				fprintf(stderr, TESTKEY_PROG ": key '%s' (%s:%u): "
				        "'%s' names no single domain, not checked\n",
				        e->name, e->file, e->line, pats[i]);
		} else if (!testkey_list_has(l, first, d)) {
			ok = testkey_add_entry(l, cfg->keys, e, d);
		}
	}
	free(pats);
	if (ok && l->n == first)
		fprintf(stderr, TESTKEY_PROG ": warning: key '%s' (%s:%u): d= is "
		        "the sender's domain, and %s: no record to look up, not "
		        "checked\n", e->name, e->file, e->line,
		        skipped > 0 ? "only patterns ('*', '.domain') choose it"
		        : cfg->keytable == NULL ? "Domain is not set"
		        : "no SigningTable line names it");
	return ok;
}

/* Every key of the configuration, looked up together. */
static int testkey_keytable(const config *cfg, const dkim_resolver_options *ropts,
                            int verbose)
{
	const keystore *ks = cfg->keys;
	testkey_list l = { 0 };
	bool ok = true;
	int rc;

	if (ks == NULL || ks->count == 0) {
		fprintf(stderr, TESTKEY_PROG ": %s: no KeyTable or KeyFile, no key "
		        "to check (use -d and -s)\n", cfg->path);
		return EX_CONFIG;
	}
	for (size_t i = 0; ok && i < ks->count; i++) {
		const keystore_entry *e = &ks->entries[i];

		ok = strcmp(e->domain, "%") == 0
		     ? testkey_add_sender_domains(&l, cfg, e, verbose)
		     : testkey_add_entry(&l, ks, e, e->domain);
	}
	if (!ok) {
		fprintf(stderr, TESTKEY_PROG ": out of memory\n");
		rc = EX_OSERR;
	} else {
		rc = l.n > 0 ? testkey_run(l.v, l.n, ropts, verbose) : testkey_status;
	}
	testkey_list_free(&l);
	return rc;
}

/*
 * The configuration's key for -d DOMAIN -s SELECTOR when no -k is given
 * (OpenDKIM's testkey takes KeyFile then): the first entry with that
 * selector and d= DOMAIN or "%". NULL when there is none.
 */
static const keystore_entry *testkey_config_entry(const config *cfg,
                                                  const char *domain,
                                                  const char *selector)
{
	const keystore *ks = cfg ? cfg->keys : NULL;

	for (size_t i = 0; ks != NULL && i < ks->count; i++) {
		const keystore_entry *e = &ks->entries[i];

		if (strcasecmp(e->selector, selector) == 0 &&
		    (strcmp(e->domain, "%") == 0 || strcasecmp(e->domain, domain) == 0))
			return e;
	}
	return NULL;
}

/* -d DOMAIN -s SELECTOR: the record, against -k KEYFILE or the
 * configuration's key for that name. */
static int testkey_one(const testkey_opts *o, const config *cfg,
                       const dkim_resolver_options *ropts)
{
	const keystore_entry *e = o->keyfile ? NULL
	                          : testkey_config_entry(cfg, o->domain, o->selector);
	testkey_list l = { 0 };
	int rc;

	if (e != NULL) {
		if (!testkey_add_entry(&l, cfg->keys, e, o->domain)) {
			fprintf(stderr, TESTKEY_PROG ": out of memory\n");
			return EX_OSERR;
		}
		rc = l.n > 0 ? testkey_run(l.v, l.n, ropts, o->verbose) : testkey_status;
		testkey_list_free(&l);
		return rc;
	}
	if ((l.v = calloc(1, sizeof(*l.v))) == NULL)
		return EX_OSERR;
	if (!testkey_target_init(l.v, o->domain, o->selector, o->keyfile, NULL)) {
		fprintf(stderr, TESTKEY_PROG ": domain and selector too long\n");
		rc = EX_CONFIG;
	} else {
		rc = testkey_run(l.v, 1, ropts, o->verbose);
	}
	free(l.v);
	return rc;
}

int main(int argc, char **argv)
{
	testkey_opts o;
	dkim_resolver_options ropts;
	config *cfg = NULL;
	int rc = testkey_parse_args(argc, argv, &o);

	if (rc != 0)
		return rc == 1 ? 0 : EX_CONFIG;
	/* As OpenDKIM: the default configuration when none is named, for its
	 * keys (all of them, or the one -d/-s name when there is no -k). */
	if (o.config_path == NULL && o.keyfile == NULL &&
	    (o.domain == NULL || access(CONFIG_DEFAULT_PATH, R_OK) == 0))
		o.config_path = CONFIG_DEFAULT_PATH;
	if (o.config_path != NULL &&
	    (cfg = testkey_load_config(o.config_path, o.verbose)) == NULL)
		return EX_CONFIG;
	testkey_resolver_options(&o, cfg ? cfg->nameservers : NULL,
	                         cfg ? cfg->dns_timeout : 0, &ropts);
	rc = o.domain == NULL ? testkey_keytable(cfg, &ropts, o.verbose)
	                      : testkey_one(&o, cfg, &ropts);
	config_unref(cfg);
	return rc;
}
