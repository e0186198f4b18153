/*
 * log.c - the daemon's log lines (see log.h).
 *
 * Settings are plain atomics: they change at start-up and on a reload,
 * while milter threads write. A line is formatted into one buffer first so
 * that standard error gets it in a single write.
 *
 * The identifier (SyslogName) may change on a reload. openlog(3) keeps the
 * pointer it is given, and a thread may be writing a line with the old
 * one, so every identifier used is kept for the life of the process (a
 * short list: one entry per name ever configured).
 */
#include "log.h"

#include "dkim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static atomic_bool log_syslog;
static atomic_bool log_stderr = true;
static atomic_bool log_verbose;
static _Atomic(const char *) log_ident = "opendkim";

typedef struct log_name {
	struct log_name *next;
	char text[];
} log_name;

static log_name *log_names;     /* changed in log_setup only */

/* A copy of ident that stays valid until exit (NULL: out of memory). */
static const char *log_intern(const char *ident)
{
	log_name *n;
	size_t len = strlen(ident);

	for (n = log_names; n != NULL; n = n->next)
		if (strcmp(n->text, ident) == 0)
			return n->text;
	if ((n = malloc(sizeof(*n) + len + 1)) == NULL)
		return NULL;
	memcpy(n->text, ident, len + 1);
	n->next = log_names;
	log_names = n;
	return n->text;
}

/* A decimal number up to stop; false unless all digits and in range. */
static bool log_parse_ull(const char *s, const char *stop, unsigned long long *v)
{
	char *end;

	if (s == stop || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && end == stop;
}

bool log_journal_stream_matches(const char *env, dev_t dev, ino_t ino)
{
	unsigned long long d, i;
	const char *colon;

	if (env == NULL || (colon = strchr(env, ':')) == NULL)
		return false;
	return log_parse_ull(env, colon, &d) &&
	       log_parse_ull(colon + 1, colon + 1 + strlen(colon + 1), &i) &&
	       d == (unsigned long long)dev && i == (unsigned long long)ino;
}

bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	struct stat st;

	if (env == NULL || fstat(STDERR_FILENO, &st) != 0)
		return false;
	return log_journal_stream_matches(env, st.st_dev, st.st_ino);
}

void log_setup(const char *ident, bool use_syslog, int facility, bool to_stderr)
{
	const char *kept = log_intern(ident);
	bool renamed;

	if (kept == NULL)
		kept = atomic_load(&log_ident);   /* keep the old name */
	renamed = strcmp(kept, atomic_load(&log_ident)) != 0;
	/* Without syslog, standard error is the only copy: keep it. */
	if (to_stderr && use_syslog && log_stderr_is_journal())
		to_stderr = false;
	if (use_syslog && (!atomic_load(&log_syslog) || renamed))
		openlog(kept, LOG_PID | LOG_NDELAY, facility);
	else if (!use_syslog && atomic_load(&log_syslog))
		closelog();
	atomic_store(&log_ident, kept);
	atomic_store(&log_syslog, use_syslog);
	atomic_store(&log_stderr, to_stderr);
}

void log_set_verbose(bool verbose)
{
	atomic_store(&log_verbose, verbose);
}

bool log_is_verbose(void)
{
	return atomic_load(&log_verbose);
}

void log_msg(int prio, const char *fmt, ...)
{
	if (prio == LOG_DEBUG && !atomic_load(&log_verbose))
		return;
	char raw[LOG_LINE_MAX], line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	dkim_text_escape(raw, line, sizeof(line));
	if (atomic_load(&log_syslog))
		syslog(prio, "%s", line);
	if (atomic_load(&log_stderr)) {
		char out[LOG_LINE_MAX + 64];
		int n = snprintf(out, sizeof(out), "%s[%ld]: %s\n", atomic_load(&log_ident),
		                 (long)getpid(), line);
		if (n > (int)sizeof(out) - 1)
			n = (int)sizeof(out) - 1;
		if (n > 0 && write(STDERR_FILENO, out, (size_t)n) < 0)
			return;   /* nowhere left to report it */
	}
}
