/*
 * genkey.c - opendkim-genkey: makes a DKIM key pair and the DNS record
 * that publishes it.
 *
 * Interface: the command line of OpenDKIM's opendkim-genkey (-a -b -d -D -h
 * -n -r -s -S -t -v --help --version) plus -k/--type rsa|ed25519 (and
 * --ed25519), --force, --keytable, --signingtable, --format zone|txt|json
 * and "-s auto". Writes DIR/SELECTOR.private (PKCS#8 PEM, as OpenDKIM's
 * Debian build writes it) and DIR/SELECTOR.txt (or SELECTOR.json).
 *
 * The private key file is created with O_EXCL and mode 0600, so it is
 * never readable by others, not even for a moment, and an existing key is
 * never overwritten unless --force is given; then the new key is written
 * to a 0600 temporary file in the same directory and renamed over the old
 * one, so a reader sees either key, whole.
 *
 * Errors: one line on stderr, exit 1 (usage errors: exit 2). Functions
 * below return a dkim_status and fill a dkim_error; only main prints.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define GENKEY_PROG "opendkim-genkey"
/* RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits; 8192
 * is the largest key verifiers are asked to accept (and ours do). */
#define GENKEY_MIN_BITS 1024
#define GENKEY_MAX_BITS 8192
#define GENKEY_NOTE_MAX 255

typedef enum { GENKEY_FMT_ZONE, GENKEY_FMT_TXT, GENKEY_FMT_JSON } genkey_format;

typedef struct {
	const char *directory;
	const char *domain;
	const char *selector;
	const char *hashes;
	const char *note;
	unsigned bits;
	bool bits_set;
	dkim_keytype type;
	bool append_domain, restrict_email, strict, testing, force;
	bool keytable, signingtable;
	int verbose;
	genkey_format format;
	char auto_selector[16];
} genkey_opts;

/* Long-only options. */
enum {
	OPT_HELP = 256, OPT_ED25519, OPT_FORCE, OPT_KEYTABLE, OPT_SIGNINGTABLE,
	OPT_FORMAT, OPT_SUBDOMAINS, OPT_NOAPPEND, OPT_NORESTRICT, OPT_NOTEST
};

static const struct option genkey_longopts[] = {
	{ "append-domain",   no_argument,       NULL, 'a' },
	{ "no-append-domain", no_argument,      NULL, OPT_NOAPPEND },
	{ "bits",            required_argument, NULL, 'b' },
	{ "directory",       required_argument, NULL, 'D' },
	{ "domain",          required_argument, NULL, 'd' },
	{ "hash-algorithms", required_argument, NULL, 'h' },
	{ "help",            no_argument,       NULL, OPT_HELP },
	{ "type",            required_argument, NULL, 'k' },
	{ "ed25519",         no_argument,       NULL, OPT_ED25519 },
	{ "note",            required_argument, NULL, 'n' },
	{ "restrict",        no_argument,       NULL, 'r' },
	{ "no-restrict",     no_argument,       NULL, OPT_NORESTRICT },
	{ "selector",        required_argument, NULL, 's' },
	{ "nosubdomains",    no_argument,       NULL, 'S' },
	{ "subdomains",      no_argument,       NULL, OPT_SUBDOMAINS },
	{ "testmode",        no_argument,       NULL, 't' },
	{ "no-testmode",     no_argument,       NULL, OPT_NOTEST },
	{ "verbose",         no_argument,       NULL, 'v' },
	{ "version",         no_argument,       NULL, 'V' },
	{ "force",           no_argument,       NULL, OPT_FORCE },
	{ "keytable",        no_argument,       NULL, OPT_KEYTABLE },
	{ "signingtable",    no_argument,       NULL, OPT_SIGNINGTABLE },
	{ "format",          required_argument, NULL, OPT_FORMAT },
	{ NULL, 0, NULL, 0 }
};

static void genkey_usage(FILE *f)
{
	fprintf(f,
	    "usage: " GENKEY_PROG " [options]\n"
	    "  -a, --append-domain        owner name with the domain: SEL._domainkey.DOMAIN.\n"
	    "  -b, --bits=N               RSA key size, 1024 to 8192 [2048]\n"
	    "  -D, --directory=PATH       write the files there [.]\n"
	    "  -d, --domain=NAME          domain the key signs for [example.com]\n"
	    "  -h, --hash-algorithms=LIST h= of the record [sha256]\n"
	    "  -k, --type=rsa|ed25519     key type [rsa]; --ed25519 is -k ed25519\n"
	    "  -n, --note=TEXT            n= note in the record\n"
	    "  -r, --restrict             s=email: the key is for email only\n"
	    "  -s, --selector=NAME        selector [default]; \"auto\": the date, YYYYMM (UTC)\n"
	    "  -S, --nosubdomains         t=s: i= must be the domain itself\n"
	    "      --subdomains           allow subdomains in i= (the default)\n"
	    "  -t, --testmode             t=y: the key is being tested\n"
	    "  -v, --verbose              say what is done\n"
	    "      --force                replace an existing SELECTOR.private\n"
	    "      --format=zone|txt|json SELECTOR.txt as a zone-file stub (default), or\n"
	    "                             the bare record value on one line; json writes\n"
	    "                             SELECTOR.json for DNS provider APIs\n"
	    "      --keytable             print the KeyTable line for the new key\n"
	    "      --signingtable         print the SigningTable (refile:) line\n"
	    "      --help, -V/--version\n"
	    "Writes SELECTOR.private (mode 0600; an existing one is kept unless --force)\n"
	    "and the record. With -s auto, a second key in the same month needs --force\n"
	    "or an explicit selector.\n");
}

/* ---- option parsing ------------------------------------------------------- */

static dkim_status genkey_parse_bits(const char *arg, genkey_opts *o,
                                     dkim_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' ||
	    v < GENKEY_MIN_BITS || v > GENKEY_MAX_BITS)
		return dkim_fail(err, DKIM_ERR_INVALID,
		    "-b %s: RSA keys must be %d to %d bits (RFC 8301: at least 1024; "
		    "2048 is the usual choice)", arg, GENKEY_MIN_BITS, GENKEY_MAX_BITS);
	o->bits = (unsigned)v;
	o->bits_set = true;
	return DKIM_OK;
}

static dkim_status genkey_parse_type(const char *arg, genkey_opts *o,
                                     dkim_error *err)
{
	if (strcmp(arg, "rsa") == 0)
		o->type = DKIM_KEY_RSA;
	else if (strcmp(arg, "ed25519") == 0)
		o->type = DKIM_KEY_ED25519;
	else
		return dkim_fail(err, DKIM_ERR_INVALID,
		                 "-k %s: key type must be rsa or ed25519", arg);
	return DKIM_OK;
}

static dkim_status genkey_parse_format(const char *arg, genkey_opts *o,
                                       dkim_error *err)
{
	if (strcmp(arg, "zone") == 0)
		o->format = GENKEY_FMT_ZONE;
	else if (strcmp(arg, "txt") == 0)
		o->format = GENKEY_FMT_TXT;
	else if (strcmp(arg, "json") == 0)
		o->format = GENKEY_FMT_JSON;
	else
		return dkim_fail(err, DKIM_ERR_INVALID,
		                 "--format %s: use zone, txt or json", arg);
	return DKIM_OK;
}

static void genkey_opts_init(genkey_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->directory = ".";
	o->domain = "example.com";
	o->selector = "default";
	o->hashes = "sha256";
	o->bits = 2048;
	o->type = DKIM_KEY_RSA;
	o->format = GENKEY_FMT_ZONE;
}

/* Options that need no argument checking. */
static bool genkey_flag(int c, genkey_opts *o)
{
	switch (c) {
	case 'a': o->append_domain = true; break;
	case OPT_NOAPPEND: o->append_domain = false; break;
	case 'r': o->restrict_email = true; break;
	case OPT_NORESTRICT: o->restrict_email = false; break;
	case 'S': o->strict = true; break;
	case OPT_SUBDOMAINS: o->strict = false; break;
	case 't': o->testing = true; break;
	case OPT_NOTEST: o->testing = false; break;
	case 'v': o->verbose++; break;
	case OPT_ED25519: o->type = DKIM_KEY_ED25519; break;
	case OPT_FORCE: o->force = true; break;
	case OPT_KEYTABLE: o->keytable = true; break;
	case OPT_SIGNINGTABLE: o->signingtable = true; break;
	default: return false;
	}
	return true;
}

/* One option with its argument. */
static dkim_status genkey_option(int c, const char *arg, genkey_opts *o,
                                 dkim_error *err)
{
	switch (c) {
	case 'b': return genkey_parse_bits(arg, o, err);
	case 'k': return genkey_parse_type(arg, o, err);
	case OPT_FORMAT: return genkey_parse_format(arg, o, err);
	case 'D': o->directory = arg; return DKIM_OK;
	case 'd': o->domain = arg; return DKIM_OK;
	case 'h': o->hashes = arg; return DKIM_OK;
	case 'n': o->note = arg; return DKIM_OK;
	case 's': o->selector = arg; return DKIM_OK;
	default:
		if (genkey_flag(c, o))
			return DKIM_OK;
		return dkim_fail(err, DKIM_ERR_INVALID, "try --help");
	}
}

/* Arguments that only make sense together are checked here. */
static dkim_status genkey_check_opts(genkey_opts *o, dkim_error *err)
{
	size_t i;

	if (strcmp(o->selector, "auto") == 0) {
		time_t now = time(NULL);
		struct tm tm;

		if (gmtime_r(&now, &tm) == NULL ||
		    strftime(o->auto_selector, sizeof(o->auto_selector), "%Y%m", &tm) == 0)
			return dkim_fail(err, DKIM_ERR_INVALID, "cannot read the clock");
		o->selector = o->auto_selector;
	}
	if (genkey_name_check("selector", o->selector, err) != DKIM_OK ||
	    genkey_name_check("domain", o->domain, err) != DKIM_OK ||
	    genkey_hashes_check(o->hashes, err) != DKIM_OK)
		return err->status;
	if (o->note != NULL) {
		if (strlen(o->note) > GENKEY_NOTE_MAX)
			return dkim_fail(err, DKIM_ERR_INVALID,
			    "-n: the note is longer than %d bytes", GENKEY_NOTE_MAX);
		for (i = 0; o->note[i] != '\0'; i++)
			if ((unsigned char)o->note[i] < 0x20 || o->note[i] == 0x7f)
				return dkim_fail(err, DKIM_ERR_INVALID,
				    "-n: the note holds a control character");
	}
	return DKIM_OK;
}

/* Returns 0 to go on, 1 to exit 0 (help, version), 2 on a usage error. */
static int genkey_parse_args(int argc, char **argv, genkey_opts *o,
                             dkim_error *err)
{
	int c;

	genkey_opts_init(o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ab:D:d:h:k:n:rs:StvV",
	                        genkey_longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			genkey_usage(stdout);
			return 1;
		}
		if (c == 'V') {
			printf(GENKEY_PROG " (dkimd) %s\n", PACKAGE_VERSION);
			return 1;
		}
		if (c == '?' || c == ':') {
			dkim_fail(err, DKIM_ERR_INVALID, "%s %s; try --help",
			          c == ':' ? "missing argument for" : "unknown option",
			          argv[optind - 1]);
			return 2;
		}
		if (genkey_option(c, optarg, o, err) != DKIM_OK)
			return 2;
	}
	if (optind < argc) {
		dkim_fail(err, DKIM_ERR_INVALID, "unexpected argument \"%s\"; try --help",
		          argv[optind]);
		return 2;
	}
	return genkey_check_opts(o, err) == DKIM_OK ? 0 : 2;
}

/* ---- keys ----------------------------------------------------------------- */

/* The first OpenSSL error, for messages. */
static const char *genkey_ssl_error(void)
{
	static char buf[160];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown OpenSSL error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static EVP_PKEY *genkey_generate(const genkey_opts *o, dkim_error *err)
{
	EVP_PKEY *pkey;

	if (o->type == DKIM_KEY_ED25519)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o->bits);
	if (pkey == NULL)
		dkim_fail(err, DKIM_ERR_CRYPTO, "key generation failed: %s",
		          genkey_ssl_error());
	return pkey;
}

/*
 * The p= value. RSA (RFC 6376 §3.6.1): base64 of the DER
 * SubjectPublicKeyInfo. Ed25519 (RFC 8463 §4.2): base64 of the raw 32-byte
 * public key.
 */
static char *genkey_public_b64(EVP_PKEY *pkey, dkim_keytype type,
                               dkim_error *err)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char *b64 = NULL;
	int len;

	if (type == DKIM_KEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != 32) {
			dkim_fail(err, DKIM_ERR_CRYPTO, "cannot read the public key: %s",
			          genkey_ssl_error());
			return NULL;
		}
		b64 = dkim_base64_encode(raw, rawlen);
	} else {
		len = i2d_PUBKEY(pkey, &der);
		if (len <= 0) {
			dkim_fail(err, DKIM_ERR_CRYPTO, "cannot encode the public key: %s",
			          genkey_ssl_error());
			return NULL;
		}
		b64 = dkim_base64_encode(der, (size_t)len);
		OPENSSL_free(der);
	}
	if (b64 == NULL)
		dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	return b64;
}

/* ---- files ---------------------------------------------------------------- */

/* "DIR/NAMESUFFIX" ("NAMESUFFIX" when DIR is "."), malloc'd. */
static char *genkey_path(const char *dir, const char *name, const char *suffix)
{
	dkim_buf b;
	dkim_status st;

	dkim_buf_init(&b);
	if (strcmp(dir, ".") == 0)
		st = dkim_buf_printf(&b, "%s%s", name, suffix);
	else
		st = dkim_buf_printf(&b, "%s/%s%s", dir, name, suffix);
	if (st != DKIM_OK) {
		dkim_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* A mkstemp template next to path: same directory, so rename is atomic. */
static char *genkey_tmp_template(const char *path)
{
	return genkey_path(".", path, ".XXXXXX");
}

/*
 * A new file for the private key, open for writing, mode 0600 from the
 * start. Without force, the final name itself with O_EXCL: an existing key
 * (or a symlink planted there) makes it fail. With force, a temporary file
 * in the same directory (*tmp, to be renamed when complete).
 */
static int genkey_open_private(const char *path, bool force, char **tmp,
                               dkim_error *err)
{
	int fd;

	*tmp = NULL;
	if (force) {
		*tmp = genkey_tmp_template(path);
		if (*tmp == NULL) {
			dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
			return -1;
		}
		fd = mkostemp(*tmp, O_CLOEXEC);    /* 0600, O_EXCL */
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		          0600);
	}
	if (fd < 0) {
		if (errno == EEXIST && !force)
			dkim_fail(err, DKIM_ERR_IO,
			    "%s exists; not overwritten (use --force to replace it, "
			    "or another selector)", path);
		else
			dkim_fail(err, DKIM_ERR_IO, "%s: %s", *tmp ? *tmp : path,
			          strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	/* The umask can only remove bits; fchmod makes 0600 certain even if
	 * the file system's default ACL would add some. */
	(void)fchmod(fd, 0600);
	return fd;
}

/* Writes the PEM (PKCS#8) to fd and closes it; the data reaches the disk
 * before the rename that publishes it. */
static dkim_status genkey_write_private(int fd, const char *path, EVP_PKEY *pkey,
                                        dkim_error *err)
{
	BIO *bio = BIO_new_fd(fd, BIO_NOCLOSE);
	bool ok;

	ok = bio != NULL &&
	     PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	     BIO_flush(bio) == 1;
	BIO_free(bio);
	if (!ok) {
		close(fd);
		return dkim_fail(err, DKIM_ERR_IO, "%s: cannot write the key: %s",
		                 path, genkey_ssl_error());
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return dkim_fail(err, DKIM_ERR_IO, "%s: %s", path, strerror(errno));
	return DKIM_OK;
}

/* Writes data to a temporary file and renames it to path: mode 0644 less
 * the umask (the record is public). */
static dkim_status genkey_write_public(const char *path, const dkim_buf *data,
                                       dkim_error *err)
{
	char *tmp = genkey_tmp_template(path);
	mode_t mask = umask(0);
	int fd;
	bool ok;

	umask(mask);
	if (tmp == NULL)
		return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		dkim_fail(err, DKIM_ERR_IO, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return DKIM_ERR_IO;
	}
	ok = fchmod(fd, 0644 & ~mask) == 0 &&
	     write(fd, data->data, data->len) == (ssize_t)data->len;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		dkim_fail(err, DKIM_ERR_IO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return DKIM_ERR_IO;
	}
	free(tmp);
	return DKIM_OK;
}

/* ---- the run -------------------------------------------------------------- */

typedef struct {
	genkey_opts opts;
	char *keypath;        /* DIR/SEL.private as given */
	char *abs_keypath;    /* absolute, for the KeyTable */
	char *pubkey;         /* p= */
	EVP_PKEY *pkey;
} genkey_run;

static void genkey_verbose(const genkey_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* -v: what is being done, as OpenDKIM's opendkim-genkey says it. */
static void genkey_verbose(const genkey_run *run, const char *fmt, ...)
{
	va_list ap;

	if (run->opts.verbose == 0)
		return;
	fputs(GENKEY_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Creates and fills SEL.private. */
static dkim_status genkey_make_private(genkey_run *run, dkim_error *err)
{
	char *tmp;
	int fd;
	dkim_status st;

	fd = genkey_open_private(run->keypath, run->opts.force, &tmp, err);
	if (fd < 0)
		return err->status;
	genkey_verbose(run, "generating private key");
	run->pkey = genkey_generate(&run->opts, err);
	if (run->pkey == NULL) {
		close(fd);
		st = err->status;
	} else {
		st = genkey_write_private(fd, tmp ? tmp : run->keypath, run->pkey, err);
	}
	if (st == DKIM_OK && tmp != NULL && rename(tmp, run->keypath) != 0)
		st = dkim_fail(err, DKIM_ERR_IO, "%s: %s", run->keypath,
		               strerror(errno));
	if (st != DKIM_OK)
		unlink(tmp ? tmp : run->keypath);
	else
		genkey_verbose(run, "private key written to %s", run->keypath);
	free(tmp);
	return st;
}

static void genkey_record_of(const genkey_run *run, genkey_record *r)
{
	const genkey_opts *o = &run->opts;

	memset(r, 0, sizeof(*r));
	r->selector = o->selector;
	r->domain = o->domain;
	r->keytype = o->type == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
	r->hashes = o->hashes;
	r->note = o->note;
	r->testing = o->testing;
	r->strict = o->strict;
	r->email_only = o->restrict_email;
	r->pubkey = run->pubkey;
}

/* Writes SEL.txt (zone or txt format) or SEL.json. */
static dkim_status genkey_make_record(genkey_run *run, dkim_error *err)
{
	const genkey_opts *o = &run->opts;
	genkey_record r;
	dkim_buf out;
	char *path;
	dkim_status st;

	genkey_verbose(run, "extracting public key");
	run->pubkey = genkey_public_b64(run->pkey, o->type, err);
	if (run->pubkey == NULL)
		return err->status;
	genkey_record_of(run, &r);
	dkim_buf_init(&out);
	if (o->format == GENKEY_FMT_ZONE)
		st = genkey_record_zone(&r, o->append_domain, &out);
	else if (o->format == GENKEY_FMT_TXT)
		st = genkey_record_value(&r, &out) == DKIM_OK
		     ? dkim_buf_append_str(&out, "\n") : DKIM_ERR_NOMEM;
	else
		st = genkey_record_json(&r, o->type == DKIM_KEY_ED25519 ? 256 : o->bits,
		                        run->abs_keypath, &out);
	path = genkey_path(o->directory, o->selector,
	                   o->format == GENKEY_FMT_JSON ? ".json" : ".txt");
	if (st != DKIM_OK || path == NULL)
		st = dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	else if ((st = genkey_write_public(path, &out, err)) == DKIM_OK)
		genkey_verbose(run, "DNS TXT record written to %s", path);
	free(path);
	dkim_buf_free(&out);
	return st;
}

/* The absolute path of the key file, for the KeyTable and JSON. */
static dkim_status genkey_abs_keypath(genkey_run *run, dkim_error *err)
{
	char *dir = realpath(run->opts.directory, NULL);

	if (dir == NULL)
		return dkim_fail(err, DKIM_ERR_IO, "%s: %s", run->opts.directory,
		                 strerror(errno));
	run->abs_keypath = genkey_path(strcmp(dir, "/") == 0 ? "" : dir,
	                               run->opts.selector, ".private");
	free(dir);
	if (run->abs_keypath == NULL)
		return dkim_fail(err, DKIM_ERR_NOMEM, "out of memory");
	/* KeyTable values are whitespace-separated: such a path cannot be
	 * written there. */
	if (run->opts.keytable && strpbrk(run->abs_keypath, " \t\r\n") != NULL)
		return dkim_fail(err, DKIM_ERR_INVALID,
		    "%s: a KeyTable cannot hold a path with white space",
		    run->abs_keypath);
	return DKIM_OK;
}

static dkim_status genkey_print_tables(const genkey_run *run, dkim_error *err)
{
	genkey_record r;
	dkim_buf out;
	dkim_status st = DKIM_OK;

	genkey_record_of(run, &r);
	dkim_buf_init(&out);
	if (run->opts.keytable)
		st = genkey_keytable_line(&r, run->abs_keypath, &out);
	if (st == DKIM_OK && run->opts.signingtable)
		st = genkey_signingtable_line(&r, &out);
	if (st == DKIM_OK && out.len > 0 &&
	    (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0))
		st = dkim_fail(err, DKIM_ERR_IO, "standard output: %s", strerror(errno));
	else if (st != DKIM_OK)
		st = dkim_fail(err, st, "out of memory");
	dkim_buf_free(&out);
	return st;
}

int main(int argc, char **argv)
{
	genkey_run run;
	dkim_error err = { DKIM_OK, "" };
	int rc;

	memset(&run, 0, sizeof(run));
	rc = genkey_parse_args(argc, argv, &run.opts, &err);
	if (rc != 0) {
		if (rc == 2)
			fprintf(stderr, GENKEY_PROG ": %s\n", err.message);
		return rc == 1 ? 0 : 2;
	}
	if (run.opts.type == DKIM_KEY_ED25519 && run.opts.bits_set)
		fprintf(stderr, GENKEY_PROG ": -b is ignored for ed25519 keys\n");
	run.keypath = genkey_path(run.opts.directory, run.opts.selector, ".private");
	rc = run.keypath == NULL ? dkim_fail(&err, DKIM_ERR_NOMEM, "out of memory")
	                         : genkey_abs_keypath(&run, &err);
	if (rc == DKIM_OK)
		rc = genkey_make_private(&run, &err);
	if (rc == DKIM_OK)
		rc = genkey_make_record(&run, &err);
	if (rc == DKIM_OK)
		rc = genkey_print_tables(&run, &err);
	if (rc != DKIM_OK)
		fprintf(stderr, GENKEY_PROG ": %s\n", err.message);
	EVP_PKEY_free(run.pkey);
	free(run.pubkey);
	free(run.keypath);
	free(run.abs_keypath);
	return rc == DKIM_OK ? 0 : 1;
}
