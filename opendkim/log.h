/*
 * log.h - the daemon's log: syslog (Syslog, SyslogFacility) and, when the
 * daemon runs in the foreground, standard error too.
 *
 * Thread-safe: every call writes one whole line.
 */
#ifndef OPENDKIM_LOG_H
#define OPENDKIM_LOG_H

#include <stdbool.h>
#include <syslog.h>

/*
 * (Re)configures the log. use_syslog: send lines to syslog with facility;
 * to_stderr: also write them to standard error (foreground mode).
 */
void log_setup(const char *ident, bool use_syslog, int facility, bool to_stderr);

/* -v given: LOG_DEBUG lines are written too. */
void log_set_verbose(bool verbose);
bool log_is_verbose(void);

/* One line at priority prio (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* OPENDKIM_LOG_H */
