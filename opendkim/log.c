/*
 * log.c - the daemon's log lines (see log.h).
 *
 * Settings are plain atomics: they change at start-up and on a reload,
 * while milter threads write. A line is formatted into one buffer first so
 * that standard error gets it in a single write.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static atomic_bool log_syslog;
static atomic_bool log_stderr = true;
static atomic_bool log_verbose;
static const char *log_ident = "opendkim";

void log_setup(const char *ident, bool use_syslog, int facility, bool to_stderr)
{
	if (use_syslog && !atomic_load(&log_syslog))
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
	else if (!use_syslog && atomic_load(&log_syslog))
		closelog();
	log_ident = ident;
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
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (atomic_load(&log_syslog))
		syslog(prio, "%s", line);
	if (atomic_load(&log_stderr)) {
		char out[LOG_LINE_MAX + 64];
		int n = snprintf(out, sizeof(out), "%s[%ld]: %s\n", log_ident,
		                 (long)getpid(), line);
		if (n > (int)sizeof(out) - 1)
			n = (int)sizeof(out) - 1;
		if (n > 0 && write(STDERR_FILENO, out, (size_t)n) < 0)
			return;   /* nowhere left to report it */
	}
}
