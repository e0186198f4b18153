/*
 * main.c - the opendkim daemon: command line, configuration check, offline
 * verification, and the process around the milter (daemon mode, PID file,
 * socket, privileges, signals).
 *
 * Flags (as OpenDKIM's): -x CONFIG, -f (foreground), -p SOCKET, -n (check
 * the configuration and exit), -t FILE... (verify stored messages), -u
 * USER, -P PIDFILE, -v (more logging), -V (version), --help; and the ones
 * that stand for configuration keys (main_key_flags: -b -c -d -D -k -l -o
 * -s -S -T -W), -A accepted and ignored.
 *
 * Signals: SIGHUP and SIGUSR1 reload the configuration (a configuration
 * with errors is refused and the running one stays); SIGUSR2 writes a
 * one-line summary of the figures (metrics.h) to the log; SIGTERM and
 * SIGINT: new messages get a temporary failure, messages in flight finish
 * (for up to 30 s), then the daemon exits.
 *
 * systemd (built with libsystemd, under a unit with Type=notify): READY
 * once the milter socket is open, RELOADING then READY with a STATUS line
 * around a reload, STOPPING at SIGTERM (sd_notify(3)).
 *
 * Exit status: 0 on success, 1 on configuration or start-up errors
 * (each printed as "FILE:LINE: problem", or as what failed and why:
 * "cannot open socket inet:8891@127.0.0.1: Address already in use"; the
 * socket is opened before the daemon detaches, so this status and message
 * reach the caller in daemon mode too), 2 on a usage error; -t: 0 when
 * every message has a passing signature, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <ares.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef DKIMD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "odkconfig.h"
#include "dataset_backend.h"
#include "dataset_ldap.h"
#include "dkim_resolver.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "milter.h"
#include "runtime.h"

#ifndef DKIMD_VERSION
#define DKIMD_VERSION "unknown"
#endif

#define MAIN_DRAIN_SECONDS 30        /* how long SIGTERM waits for messages */
#define MAIN_MAX_MESSAGE (64u << 20) /* -t: largest stored message read */
/* Interrupts the main thread's poll at stop; SIGUSR2 is the operator's. */
#define MAIN_WAKEUP_SIGNAL SIGRTMIN

typedef struct {
	const char *config_path;
	config_overrides ov;
	bool foreground, check, test, verbose;
	char **files;
	int nfiles;
} main_options;

/* ---- command line ----------------------------------------------------------- */

static void main_usage(FILE *out)
{
	fprintf(out,
	        "usage: opendkim [options]\n"
	        "  -x CONFIG   configuration file (default %s)\n"
	        "  -f          stay in the foreground (log to standard error too, unless\n"
	        "              it is the systemd journal and syslog has the line)\n"
	        "  -p SOCKET   milter socket (overrides Socket): local:/path, inet:PORT@HOST\n"
	        "  -n          check the configuration and its tables, then exit\n"
	        "  -t FILE...  verify stored messages and print each signature's result\n"
	        "  -u USER[:GROUP]  run as this user (overrides UserID)\n"
	        "  -P PIDFILE  write the process id there (overrides PidFile)\n"
	        "  -v          more logging\n"
	        "  -V          print the version and build features, then exit\n"
	        "  --help      this text\n"
	        "OpenDKIM's flags for configuration keys (they override the file):\n"
	        "  -b MODE (Mode)  -c CANON (Canonicalization)  -d DOMAINS (Domain)\n"
	        "  -D (SubDomains yes)  -k KEYFILE (KeyFile)  -l (Syslog yes)\n"
	        "  -o HEADERS (OmitHeaders)  -s SELECTOR (Selector)\n"
	        "  -S ALG (SignatureAlgorithm)  -T SECONDS (DNSTimeout)  -W (LogWhy yes)\n"
	        "  -A (AutoRestart) is accepted and ignored\n", CONFIG_DEFAULT_PATH);
}

static void main_version(void)
{
	unsigned major = 0, minor = 0, patch = 0;
	smfi_version(&major, &minor, &patch);
	printf("opendkim (dkimd) %s\n", DKIMD_VERSION);
	printf("  OpenSSL: %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("  c-ares: %s\n", ares_version(NULL));
	printf("  libmilter: %u.%u.%u\n", major, minor, patch);
	printf("  signing algorithms: rsa-sha256 ed25519-sha256\n");
	printf("  data sets: file: refile: csl: dsn:%s\n",
	       dataset_ldap_library() ? " ldap: ldaps: ldapi:" : "");
	printf("  dsn: databases: %s\n", dataset_dsn_backends());
	if (dataset_ldap_library() != NULL)
		printf("  ldap: %s\n", dataset_ldap_library());
	else
		printf("  ldap: not available (built without libldap)\n");
	const char *mhd = metrics_http_library();
	if (mhd != NULL)
		printf("  MetricsSocket: libmicrohttpd %s\n", mhd);
	else
		printf("  MetricsSocket: not available (built without libmicrohttpd)\n");
#ifdef DKIMD_HAVE_SYSTEMD
	printf("  systemd notification: libsystemd (sd_notify)\n");
#else
	printf("  systemd notification: not available (built without libsystemd)\n");
#endif
}

/*
 * OpenDKIM's flags that stand for a configuration key (opendkim(8)): they
 * override the file, so service units and scripts written for OpenDKIM
 * keep their meaning. value NULL: the flag's argument is the value.
 */
static const struct {
	int flag;
	const char *key, *value, *where;
} main_key_flags[] = {
	{ 'b', "Mode", NULL, "command line (-b)" },
	{ 'c', "Canonicalization", NULL, "command line (-c)" },
	{ 'd', "Domain", NULL, "command line (-d)" },
	{ 'D', "SubDomains", "yes", "command line (-D)" },
	{ 'k', "KeyFile", NULL, "command line (-k)" },
	{ 'l', "Syslog", "yes", "command line (-l)" },
	{ 'o', "OmitHeaders", NULL, "command line (-o)" },
	{ 's', "Selector", NULL, "command line (-s)" },
	{ 'S', "SignatureAlgorithm", NULL, "command line (-S)" },
	{ 'T', "DNSTimeout", NULL, "command line (-T)" },
	{ 'W', "LogWhy", "yes", "command line (-W)" },
};

/*
 * A key flag: remembered as an override. 1 when c is one, 0 when not, -1
 * when there are more than CONFIG_MAX_OVERRIDES (a usage error: dropping
 * one would break "the later flag wins").
 */
static int main_key_flag(main_options *o, int c, const char *arg)
{
	for (size_t i = 0; i < sizeof(main_key_flags) / sizeof(*main_key_flags); i++) {
		if (main_key_flags[i].flag != c)
			continue;
		if (o->ov.nitems == CONFIG_MAX_OVERRIDES) {
			fprintf(stderr, "opendkim: more than %d configuration key flags\n",
			        CONFIG_MAX_OVERRIDES);
			return -1;
		}
		config_override_item *it = &o->ov.items[o->ov.nitems++];
		it->key = main_key_flags[i].key;
		it->value = main_key_flags[i].value ? main_key_flags[i].value : arg;
		it->where = main_key_flags[i].where;
		return 1;
	}
	return 0;
}

static int main_parse(main_options *o, int argc, char **argv)
{
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	memset(o, 0, sizeof(*o));
	int c;
	while ((c = getopt_long(argc, argv, "x:fp:ntu:P:vVhAb:c:d:Dk:lo:s:S:T:W",
	                        longopts, NULL)) != -1) {
		int key_flag = main_key_flag(o, c, optarg);
		if (key_flag < 0)
			return 2;
		if (key_flag > 0)
			continue;
		switch (c) {
		case 'x': o->config_path = optarg; break;
		case 'f': o->foreground = true; break;
		case 'p': o->ov.socket = optarg; break;
		case 'n': o->check = true; break;
		case 't': o->test = true; break;   /* the files are the operands */
		case 'u': o->ov.user = optarg; break;
		case 'P': o->ov.pidfile = optarg; break;
		case 'v': o->verbose = true; break;
		case 'V': main_version(); exit(0);
		case 'h': main_usage(stdout); exit(0);
		case 'A':
			fprintf(stderr, "opendkim: -A (AutoRestart) is not supported and is "
			        "ignored: the service manager restarts the daemon\n");
			break;
		default: main_usage(stderr); return 2;
		}
	}
	o->files = argv + optind;
	o->nfiles = argc - optind;
	if ((o->test && o->nfiles == 0) || (!o->test && o->nfiles > 0)) {
		main_usage(stderr);
		return 2;
	}
	return 0;
}

/* ---- configuration ------------------------------------------------------------ */

/*
 * One problem on standard error, as log_msg writes it to the log: its text
 * may carry bytes from a configuration file or a server's diagnostic (an
 * LDAP bind's, a database's), so control and 8-bit bytes show as \xNN
 * rather than act on the terminal or start a line of their own.
 */
static void main_print_problem(const char *text)
{
	size_t size = 4 * strlen(text) + 1;   /* every byte may become \xNN */
	char *shown = malloc(size);
	if (shown == NULL) {
		fprintf(stderr, "opendkim: out of memory while reporting problems\n");
		return;
	}
	dkim_text_escape(text, shown, size);
	fprintf(stderr, "%s\n", shown);
	free(shown);
}

static void main_print_diag(const diag_list *d, bool to_log)
{
	for (size_t i = 0; i < d->count; i++) {
		if (to_log)
			log_msg(d->msgs[i].severity == DIAG_ERROR ? LOG_ERR : LOG_WARNING,
			        "%s", d->msgs[i].text);
		else
			main_print_problem(d->msgs[i].text);
	}
	if (d->oom)
		fprintf(stderr, "opendkim: out of memory while reporting problems\n");
}

/* previous: the running configuration on a reload (see config_reload). */
static config *main_load(const main_options *o, const config *previous, bool to_log)
{
	diag_list d = {0};
	config *cfg = config_reload(o->config_path, &o->ov, previous, &d);
	main_print_diag(&d, to_log);
	if (cfg == NULL && d.errors == 0 && !to_log)
		fprintf(stderr, "opendkim: cannot load the configuration\n");
	diag_list_free(&d);
	return cfg;
}

/*
 * The daemon's first load. Its problems are log lines ("opendkim[PID]:
 * FILE:LINE: ..."), to syslog as the configuration says and to standard
 * error until the daemon detaches, as at a reload; errors when it does not
 * load go to standard error (the log is not configured yet).
 */
static config *main_load_start(const main_options *o)
{
	diag_list d = {0};
	config *cfg = config_reload(o->config_path, &o->ov, NULL, &d);
	if (cfg != NULL)
		log_setup(cfg->syslog_name, cfg->syslog, cfg->syslog_facility, true);
	main_print_diag(&d, true);
	if (cfg == NULL && d.errors == 0)
		log_msg(LOG_ERR, "cannot load the configuration");
	diag_list_free(&d);
	return cfg;
}

/* A load whose warnings were said already: errors only, logged. */
static config *main_load_again(const main_options *o, const config *previous)
{
	diag_list d = {0};
	config *cfg = config_reload(o->config_path, &o->ov, previous, &d);
	for (size_t i = 0; i < d.count; i++)
		if (d.msgs[i].severity == DIAG_ERROR)
			log_msg(LOG_ERR, "%s", d.msgs[i].text);
	if (cfg == NULL && d.errors == 0)
		log_msg(LOG_ERR, "cannot load the configuration");
	diag_list_free(&d);
	return cfg;
}

/* The defaults and the command line's key flags, without a file. */
static config *main_load_defaults(const main_options *o)
{
	diag_list d = {0};
	config *cfg = config_parse_buffer("(defaults)", "", 0, &o->ov, 0, &d);
	main_print_diag(&d, false);
	diag_list_free(&d);
	return cfg;
}

/* A MetricsSocket this build cannot serve is an error, said by -n too. */
static bool main_metrics_available(const config *cfg)
{
	if (!cfg->has_metrics_socket || metrics_http_library() != NULL)
		return true;
	log_msg(LOG_ERR, "MetricsSocket %s: this build has no HTTP server "
	        "(configure found no libmicrohttpd)", cfg->metrics_socket.spec);
	return false;
}

static int main_check(const main_options *o)
{
	config *cfg = main_load(o, NULL, false);
	if (cfg == NULL)
		return 1;
	bool ok = main_metrics_available(cfg);
	config_unref(cfg);
	return ok ? 0 : 1;
}

/* ---- -t: offline verification -------------------------------------------------- */

static char *main_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *data = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			/* One byte over the limit tells a file of exactly
			 * MAIN_MAX_MESSAGE bytes from a longer one. */
			if (cap > MAIN_MAX_MESSAGE)
				break;
			cap = cap > 0 ? cap * 2 : 65536;
			if (cap > MAIN_MAX_MESSAGE)
				cap = MAIN_MAX_MESSAGE + 1;
			char *p = realloc(data, cap);
			if (p == NULL)
				break;
			data = p;
		}
		size_t n = fread(data + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0) {
			bool ok = !ferror(f);
			fclose(f);
			if (ok)
				return data;
			free(data);
			return NULL;
		}
	}
	fclose(f);
	free(data);
	errno = EFBIG;
	return NULL;
}

/* One line of -t's report on standard output: the selector, domain and
 * reason come from the message and from DNS, so the line is escaped as the
 * log's are (dkim_text_escape). */
static void main_print_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void main_print_line(const char *fmt, ...)
{
	char raw[4096], line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	dkim_text_escape(raw, line, sizeof(line));
	printf("%s\n", line);
}

static void main_print_result(const char *file, const dkim_sig_result *r)
{
	char bits[32] = "";
	if (r->key_bits > 0)
		snprintf(bits, sizeof(bits), ", %u-bit key", r->key_bits);
	main_print_line("%s: verification (s=%s d=%s%s) %s%s%s", file,
	                r->selector != NULL ? r->selector : "?",
	                r->domain != NULL ? r->domain : "?", bits,
	                r->result == DKIM_RESULT_PASS ? "succeeded" : dkim_result_name(r->result),
	                r->reason != NULL && r->reason[0] != '\0' ? ": " : "",
	                r->reason != NULL ? r->reason : "");
}

/* The ARC chain's result (RFC 8617 §5.2), when the message has ARC sets:
 * "FILE: arc=pass (oldest-pass=N)" or "FILE: arc=fail: reason". */
static void main_print_arc(const char *file, const dkim_msg *msg)
{
	unsigned oldest = 0;
	const char *why = "";
	dkim_arc_result r = dkim_msg_arc_result(msg, &oldest, &why);
	char op[40] = "";
	if (r == DKIM_ARC_NONE)
		return;
	if (r == DKIM_ARC_PASS && oldest > 0)
		snprintf(op, sizeof(op), " (oldest-pass=%u)", oldest);
	main_print_line("%s: arc=%s%s%s%s", file, dkim_arc_result_name(r), op,
	                why[0] != '\0' ? ": " : "", why);
}

/* Verifies one stored message; true when a signature passes. */
static bool main_test_file(const config *cfg, dkim_resolver *res, const char *path)
{
	size_t len;
	char *data = main_read_file(path, &len);
	if (data == NULL) {
		main_print_line("%s: cannot read: %s", path, strerror(errno));
		return false;
	}
	dkim_options opts;
	config_dkim_options(cfg, &opts);
	dkim_error err = { 0 };
	dkim_msg *msg = dkim_msg_new(&opts, &err);
	bool pass = false;
	if (msg == NULL || dkim_msg_verify(msg, dkim_resolver_lookup, res, &err) != DKIM_OK ||
	    dkim_msg_arc_verify(msg, dkim_resolver_lookup, res, &err) != DKIM_OK ||
	    dkim_msg_feed_raw(msg, data, len, &err) != DKIM_OK || dkim_msg_eom(msg, &err) != DKIM_OK) {
		main_print_line("%s: error: %s", path, err.message);
	} else if (dkim_msg_result_count(msg) == 0) {
		main_print_line("%s: message not signed", path);
	} else {
		for (size_t i = 0; i < dkim_msg_result_count(msg); i++) {
			const dkim_sig_result *r = dkim_msg_result(msg, i);
			main_print_result(path, r);
			pass = pass || r->result == DKIM_RESULT_PASS;
		}
	}
	if (msg != NULL && err.status == DKIM_OK)   /* no error line printed */
		main_print_arc(path, msg);
	dkim_msg_free(msg);
	free(data);
	return pass;
}

static int main_test(const main_options *o)
{
	/* Without -x and without the default file, the defaults will do,
	 * with the key flags (-T, ...) on top of them. */
	config *cfg = o->config_path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) != 0
	              ? main_load_defaults(o) : main_load(o, NULL, false);
	if (cfg == NULL)
		return 1;
	dkim_resolver_options ro;
	dkim_resolver_options_init(&ro);
	ro.nameservers = cfg->nameservers;
	ro.timeout_ms = cfg->dns_timeout * 1000u;
	dkim_error err = { 0 };
	dkim_resolver *res = dkim_resolver_new(&ro, &err);
	if (res == NULL) {
		fprintf(stderr, "opendkim: %s\n", err.message);
		config_unref(cfg);
		return 1;
	}
	bool all = true;
	for (int i = 0; i < o->nfiles; i++)
		all = main_test_file(cfg, res, o->files[i]) && all;
	dkim_resolver_free(res);
	config_unref(cfg);
	return all ? 0 : 1;
}

/* ---- the service manager ------------------------------------------------------- */

/* One sd_notify(3) message; nothing when not under systemd or not built
 * with libsystemd. */
static void main_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void main_notify(const char *fmt, ...)
{
#ifdef DKIMD_HAVE_SYSTEMD
	char state[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	sd_notify(0, state);
#else
	(void)fmt;
#endif
}

/* "14:05:09" (UTC) for STATUS lines. */
static void main_clock(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, size, "%H:%M:%S UTC", &tm);
}

/* ---- signals ------------------------------------------------------------------- */

/*
 * Signals are ours, not libmilter's. libmilter's signal thread sigwait()s
 * for SIGHUP, SIGTERM and SIGINT and stops the milter on any of them, and
 * its listener then notices only within 5 seconds. OpenDKIM deployments
 * send SIGHUP (and SIGUSR1) to reload, and a stop should be prompt. So
 * this definition, which takes precedence over the C library's for
 * libmilter, leaves those signals out of libmilter's wait; our signal
 * thread (main_signal_thread) takes them.
 */
static void main_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int sigwait(const sigset_t *restrict set, int *restrict sig)
{
	sigset_t ours, rest = *set;
	main_signal_set(&ours);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&ours, s))
			sigdelset(&rest, s);
	for (;;) {
		int s = sigwaitinfo(&rest, NULL);
		if (s >= 0) {
			*sig = s;
			return 0;
		}
		if (errno != EINTR)
			return errno;
	}
}

static main_options main_opts;
static pthread_t main_thread;

/* What a reload cannot change: said, not silently ignored. */
static void main_reload_notes(const config *old, const config *cfg)
{
	const char *a = old != NULL && old->has_metrics_socket ? old->metrics_socket.spec : "";
	const char *b = cfg->has_metrics_socket ? cfg->metrics_socket.spec : "";
	if (old != NULL && strcmp(a, b) != 0)
		log_msg(LOG_WARNING, "MetricsSocket is read at start only: restart to change it");
}

/*
 * Keys whose files did not change are taken from the running
 * configuration: the daemon may no longer be allowed to read them (it
 * dropped root), and a large KeyTable need not be parsed again.
 */
static void main_reload(void)
{
	log_msg(LOG_INFO, "reloading configuration");
	struct timespec mono;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	/* MONOTONIC_USEC: systemd 253 and later match it to its reload. */
	main_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
	            (unsigned long long)mono.tv_sec * 1000000ull +
	            (unsigned long long)mono.tv_nsec / 1000ull);
	char at[32];
	main_clock(at, sizeof(at));
	config *old = runtime_config_get();
	config *cfg = main_load(&main_opts, old, true);
	if (cfg == NULL) {
		config_unref(old);
		log_msg(LOG_ERR, "configuration has errors: reload refused, keeping the running one");
		metrics_reload(false);
		main_notify("READY=1\nSTATUS=reload refused at %s: the configuration has errors "
		            "(see the log); running the previous one", at);
		return;
	}
	main_reload_notes(old, cfg);
	config_unref(old);
	dkim_error err = { 0 };
	if (!runtime_set_config(cfg, &err)) {
		log_msg(LOG_ERR, "reload refused: %s", err.message);
		config_unref(cfg);
		metrics_reload(false);
		main_notify("READY=1\nSTATUS=reload refused at %s: %s; running the previous one",
		            at, err.message);
		return;
	}
	metrics_reload(true);
	log_setup(cfg->syslog_name, cfg->syslog, cfg->syslog_facility, main_opts.foreground);
	if (cfg->keys != NULL)
		log_msg(LOG_INFO, "configuration reloaded: %zu key(s) unchanged and reused, %zu read",
		        cfg->keys->reused, cfg->keys->read);
	else
		log_msg(LOG_INFO, "configuration reloaded");
	main_notify("READY=1\nSTATUS=configuration reloaded at %s", at);
}

/*
 * Data sets kept in a database are read again every
 * dataset_refresh_seconds() (config_refresh): the running configuration's
 * text is parsed again, only the database data sets are read (an edited
 * opendkim.conf waits for SIGHUP). A data set that cannot be read keeps
 * its copy, stale (misses are internal errors); that is logged once when
 * it starts and once when it ends. Any other failure (a malformed key in a
 * row) keeps the running configuration whole, said once too.
 */
static bool main_refresh_failing;

static void main_refresh(void)
{
	diag_list d = {0};
	config *old = runtime_config_get();
	bool unchanged;
	config *cfg = config_refresh(old, &main_opts.ov, &unchanged, &d);
	config_unref(old);
	dkim_error err = { 0 };
	bool ok = unchanged || (cfg != NULL && runtime_set_config(cfg, &err));
	for (size_t i = 0; i < d.count; i++)
		if (d.msgs[i].severity == DIAG_OUTAGE || d.msgs[i].severity == DIAG_NOTICE)
			log_msg(d.msgs[i].severity == DIAG_OUTAGE ? LOG_ERR : LOG_NOTICE,
			        "%s", d.msgs[i].text);
	if (!ok && !main_refresh_failing) {
		for (size_t i = 0; i < d.count; i++)
			if (d.msgs[i].severity == DIAG_ERROR)
				log_msg(LOG_ERR, "%s", d.msgs[i].text);
		if (cfg != NULL)
			log_msg(LOG_ERR, "%s", err.message);
		log_msg(LOG_ERR, "data sets could not be read again: signing with the tables "
		        "read before until they can (said once per outage)");
	} else if (ok && main_refresh_failing) {
		log_msg(LOG_NOTICE, "data sets read again: the outage is over");
	}
	if (!ok && cfg != NULL)
		config_unref(cfg);
	main_refresh_failing = !ok;
	diag_list_free(&d);
}

/* The next signal, or 0 when it is time to read the data sets again. */
static int main_wait_signal(const sigset_t *set)
{
	unsigned every = dataset_refresh_seconds();
	if (every == 0)
		return sigwaitinfo(set, NULL);
	struct timespec ts = { (time_t)every, 0 };
	int sig = sigtimedwait(set, NULL, &ts);
	return sig < 0 && errno == EAGAIN ? 0 : sig;
}

/* Only interrupts the listener's poll() in the main thread. */
static void main_wakeup_handler(int sig)
{
	(void)sig;
}

/* After SIGTERM: let messages in flight end, for a while. */
static void main_drain(void)
{
	for (int i = 0; i < MAIN_DRAIN_SECONDS * 10 && milter_messages_in_flight() > 0; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static atomic_bool main_stop_done;

static void *main_stop_thread(void *arg)
{
	(void)arg;
	smfi_stop();
	atomic_store(&main_stop_done, true);
	return NULL;
}

/*
 * smfi_stop() marks the milter stopped at once, then waits for the
 * listener's lock, which the listener holds while it polls (up to 5 s).
 * So it runs in its own thread while this one interrupts the poll until it
 * is done; the interrupted listener sees the mark and returns.
 */
static void main_stop(void)
{
	pthread_t tid;
	if (pthread_create(&tid, NULL, main_stop_thread, NULL) != 0) {
		smfi_stop();   /* slower, but stops */
		return;
	}
	while (!atomic_load(&main_stop_done)) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		pthread_kill(main_thread, MAIN_WAKEUP_SIGNAL);
	}
	pthread_join(tid, NULL);
}

static void *main_signal_thread(void *arg)
{
	(void)arg;
	sigset_t set;
	main_signal_set(&set);
	for (;;) {
		int sig = main_wait_signal(&set);
		if (sig == 0) {
			main_refresh();
			OPENSSL_thread_stop();
		} else if (sig == SIGUSR2) {
			char line[512];
			metrics_format_summary(line, sizeof(line));
			log_msg(LOG_INFO, "SIGUSR2: %s", line);
		} else if (sig == SIGHUP || sig == SIGUSR1) {
			main_reload();
			/* Loading keys leaves OpenSSL state (an error queue) on
			 * this thread; the process may exit before the thread
			 * does, and LeakSanitizer then reports it. */
			OPENSSL_thread_stop();
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_msg(LOG_INFO, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			main_notify("STOPPING=1\nSTATUS=stopping: finishing the messages in flight");
			milter_begin_shutdown();
			main_drain();
			main_stop();
			return NULL;
		}
	}
}

static bool main_start_signal_thread(void)
{
	sigset_t set;
	main_signal_set(&set);
	/* Blocked before any other thread exists, so every thread inherits it. */
	int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct sigaction sa = { .sa_handler = main_wakeup_handler, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	if (rc == 0 && sigaction(MAIN_WAKEUP_SIGNAL, &sa, NULL) != 0)
		rc = errno;
	main_thread = pthread_self();
	pthread_t tid;
	if (rc == 0)
		rc = pthread_create(&tid, NULL, main_signal_thread, NULL);
	if (rc != 0) {
		log_msg(LOG_ERR, "cannot set up signal handling: %s", strerror(rc));
		return false;
	}
	pthread_detach(tid);
	return true;
}

/* ---- the process ------------------------------------------------------------------- */

static bool main_daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return false;
	pid = fork();   /* no longer a session leader: never gets a terminal */
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return false;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return chdir("/") == 0;
}

static bool main_write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		log_msg(LOG_ERR, "cannot write PID file %s: %s", path, strerror(errno));
		return false;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		log_msg(LOG_ERR, "cannot write PID file %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

/*
 * libmilter writes each reply packet with its own write(); with Nagle's
 * algorithm on, the second small write of a reply waits for the MTA's
 * delayed ACK (~40 ms). libmilter does not expose its listening socket, so
 * find it among our descriptors (the only listening TCP socket we have at
 * this point) and set TCP_NODELAY: Linux copies it to accepted sockets.
 */
static void main_set_nodelay(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		int listening = 0, domain = 0, one = 1;
		socklen_t len = sizeof(listening);
		if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		len = sizeof(domain);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
		    (domain != AF_INET && domain != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			log_msg(LOG_WARNING, "cannot set TCP_NODELAY: %s", strerror(errno));
	}
}

/*
 * Why libmilter could not open the socket. It tells only syslog; errno
 * after its failure is that of whatever it called last (a failed bind,
 * but also syslog, close or the resolver), which its API does not promise.
 * So do what it did - resolve, socket, SO_REUSEADDR, bind, listen on the
 * same address - and report the step that fails. False when every step
 * works (the cause went away).
 */
static bool main_probe_inet(const config_socket *s, char *why, size_t size)
{
	int fd = config_socket_listen_inet(s, 1, 0, NULL, why, size);
	if (fd < 0)
		return true;
	close(fd);
	return false;
}

/* The same for a UNIX socket, which libmilter replaces when stale. */
static bool main_probe_local(const config_socket *s, char *why, size_t size)
{
	struct stat st;
	if (lstat(s->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, size, "%s exists and is not a socket", s->path);
			return true;
		}
		char *copy = strdup(s->path);
		bool denied = copy != NULL && access(dirname(copy), W_OK | X_OK) != 0;
		if (denied)
			snprintf(why, size, "cannot replace %s: %s", s->path, strerror(errno));
		free(copy);
		return denied;
	}
	if (errno != ENOENT) {
		snprintf(why, size, "%s", strerror(errno));
		return true;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), err = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		err = errno;
	else
		unlink(s->path);
	if (fd >= 0)
		close(fd);
	if (err != 0)
		snprintf(why, size, "%s", strerror(err));
	return err != 0;
}

/* The probe's reason, else errno as libmilter left it, else a pointer to syslog. */
static void main_socket_why(const config_socket *s, int saved_errno, char *why, size_t size)
{
	bool found = s->family == CONFIG_SOCK_LOCAL ? main_probe_local(s, why, size)
	                                            : main_probe_inet(s, why, size);
	if (found)
		return;
	if (saved_errno != 0)
		snprintf(why, size, "%s", strerror(saved_errno));
	else
		snprintf(why, size, "libmilter refused it (its reason went to syslog)");
}

static bool main_open_socket(const config *cfg)
{
	if (smfi_setconn(cfg->socket.spec) != MI_SUCCESS) {
		log_msg(LOG_ERR, "cannot use socket %s: out of memory", cfg->socket.spec);
		return false;
	}
	if (smfi_register(milter_desc) != MI_SUCCESS) {
		log_msg(LOG_ERR, "cannot register with libmilter (version mismatch or out of memory)");
		return false;
	}
	/* true: a stale UNIX socket left by a previous run is removed. */
	errno = 0;
	if (smfi_opensocket(true) != MI_SUCCESS) {
		int saved_errno = errno;
		char why[256];
		main_socket_why(&cfg->socket, saved_errno, why, sizeof(why));
		log_msg(LOG_ERR, "cannot open socket %s: %s", cfg->socket.spec, why);
		return false;
	}
	main_set_nodelay();
	if (cfg->socket.family == CONFIG_SOCK_LOCAL && cfg->has_user &&
	    chown(cfg->socket.path, cfg->uid, cfg->gid) != 0) {
		log_msg(LOG_ERR, "chown %s: %s", cfg->socket.path, strerror(errno));
		return false;
	}
	return true;
}

/* MetricsSocket is bound here, served after the fork (metrics_http.h). */
static bool main_open_metrics_socket(const config *cfg)
{
	if (!cfg->has_metrics_socket)
		return true;
	if (!main_metrics_available(cfg))
		return false;
	char why[256];
	if (!metrics_http_listen(&cfg->metrics_socket, why, sizeof(why))) {
		log_msg(LOG_ERR, "cannot open socket %s (MetricsSocket): %s",
		        cfg->metrics_socket.spec, why);
		return false;
	}
	return true;
}

/* The figures that do not come from messages, and the endpoint. */
static bool main_start_metrics(const config *cfg)
{
	unsigned major = 0, minor = 0, patch = 0;
	char milter[32];
	smfi_version(&major, &minor, &patch);
	snprintf(milter, sizeof(milter), "%u.%u.%u", major, minor, patch);
	metrics_set_build_info(DKIMD_VERSION, milter, OpenSSL_version(OPENSSL_VERSION));
	metrics_config_loaded();
	metrics_set_cache_source(runtime_cache_stats);
	char why[256];
	if (cfg->has_metrics_socket && !metrics_http_start(why, sizeof(why))) {
		log_msg(LOG_ERR, "cannot serve MetricsSocket %s: %s", cfg->metrics_socket.spec, why);
		return false;
	}
	if (cfg->has_metrics_socket)
		log_msg(LOG_INFO, "metrics at http://%s%s%s:%u/metrics",
		        cfg->metrics_socket.family == CONFIG_SOCK_INET6 ? "[" : "",
		        cfg->metrics_socket.host != NULL ? cfg->metrics_socket.host : "*",
		        cfg->metrics_socket.family == CONFIG_SOCK_INET6 ? "]" : "",
		        cfg->metrics_socket.port);
	return true;
}

static bool main_drop_privileges(const config *cfg)
{
	if (!cfg->has_user || (getuid() == cfg->uid && getgid() == cfg->gid))
		return true;
	if (setgroups(1, &cfg->gid) != 0 || setgid(cfg->gid) != 0 || setuid(cfg->uid) != 0) {
		log_msg(LOG_ERR, "cannot become user %s: %s", cfg->user, strerror(errno));
		return false;
	}
	return true;
}

/*
 * The socket is opened before the daemon detaches (as OpenDKIM does): a
 * socket in use or a bad path is then said on the terminal and in the
 * exit status, not only in syslog; and the PID file, written after, never
 * names a daemon that failed to start.
 */
static bool main_prepare(config *cfg)
{
	if (!cfg->has_socket) {
		log_msg(LOG_ERR, "no Socket configured (set Socket or use -p)");
		return false;
	}
	if (cfg->has_umask)
		umask(cfg->umask);
	if (!main_open_socket(cfg) || !main_open_metrics_socket(cfg))
		return false;
	if (!main_opts.foreground) {
		if (!main_daemonize()) {
			log_msg(LOG_ERR, "cannot become a daemon: %s", strerror(errno));
			return false;
		}
		log_setup(cfg->syslog_name, cfg->syslog, cfg->syslog_facility, false);
	}
	if (cfg->pidfile != NULL && !main_write_pidfile(cfg->pidfile))
		return false;
	return main_start_signal_thread() && main_drop_privileges(cfg);
}

/* Will the daemon give up root for UserID (main_drop_privileges)? */
static bool main_will_drop(const config *cfg)
{
	return cfg->has_user && geteuid() == 0 &&
	       (getuid() != cfg->uid || getgid() != cfg->gid);
}

/*
 * A key file changed less than KEYSTORE_SETTLE_SECONDS before it was read
 * is read again at the next reload (a second write within the file
 * system's timestamp granularity could leave its size and times as they
 * were). After dropping root that read fails for a root-owned 0600 key,
 * so every reload would be refused. Provisioning scripts write the keys
 * and then start the daemon: so, about to drop root, wait until the keys
 * are settled and load once more as root. Returns the configuration to
 * run (cfg, or its successor; cfg is released), NULL on error.
 */
static config *main_settle_keys(config *cfg)
{
	long ms = main_will_drop(cfg) ? keystore_settle_wait_ms(cfg->keys) : 0;
	if (ms <= 0)
		return cfg;
	log_msg(LOG_INFO, "a key file changed in the last %d seconds: reading "
	        "it again in %ld ms, before dropping root, so that reloads can "
	        "keep it", KEYSTORE_SETTLE_SECONDS, ms);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	config *again = main_load_again(&main_opts, cfg);
	config_unref(cfg);
	return again;
}

static int main_run(void)
{
	log_setup("opendkim", false, LOG_MAIL, true);
	config *cfg = main_load_start(&main_opts);
	if (cfg != NULL)
		cfg = main_settle_keys(cfg);
	if (cfg == NULL)
		return 1;
	/* "Background no" is OpenDKIM's configuration form of -f: units
	 * written for it (Type=simple without -f) rely on it. Read at start
	 * only; a reload cannot un-fork the daemon. */
	if (!cfg->background)
		main_opts.foreground = true;
	/* Until the daemon detaches, its errors go to the terminal too. */
	log_setup(cfg->syslog_name, cfg->syslog, cfg->syslog_facility, true);
	char *pidfile = cfg->pidfile != NULL ? strdup(cfg->pidfile) : NULL;
	dkim_error err = { 0 };
	if (!main_prepare(cfg) || !main_start_metrics(cfg) || !runtime_set_config(cfg, &err)) {
		if (err.message[0] != '\0')
			log_msg(LOG_ERR, "%s", err.message);
		metrics_http_stop();
		config_unref(cfg);
		free(pidfile);
		return 1;
	}
	log_msg(LOG_INFO, "opendkim (dkimd) %s starting", DKIMD_VERSION);
	main_notify("READY=1\nSTATUS=running: opendkim (dkimd) %s", DKIMD_VERSION);
	int rc = smfi_main() == MI_SUCCESS ? 0 : 1;
	if (rc != 0)
		log_msg(LOG_ERR, "libmilter's listener failed (its reason went to syslog)");
	log_msg(LOG_INFO, "terminating");
	metrics_http_stop();
	runtime_shutdown();
	if (pidfile != NULL)
		unlink(pidfile);
	free(pidfile);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = main_parse(&main_opts, argc, argv);
	if (rc != 0)
		return rc;
	log_set_verbose(main_opts.verbose);
	if (main_opts.check)
		return main_check(&main_opts);
	if (main_opts.test)
		return main_test(&main_opts);
	return main_run();
}
