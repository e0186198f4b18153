/*
 * log.h - the daemon's log: syslog (Syslog, SyslogFacility) and, when the
 * daemon runs in the foreground, standard error too - unless standard
 * error is the systemd journal and syslog is on: the journal gets syslog's
 * copy, and a second one on standard error would show every line twice.
 *
 * Thread-safe: every call writes one whole line.
 */
#ifndef OPENDKIM_LOG_H
#define OPENDKIM_LOG_H

#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

/*
 * (Re)configures the log. ident: the identifier of every line (SyslogName;
 * copied, and a new one takes effect in syslog too). use_syslog: send lines to syslog with facility;
 * to_stderr: also write them to standard error (foreground mode), unless
 * use_syslog and standard error is the journal (log_stderr_is_journal).
 */
void log_setup(const char *ident, bool use_syslog, int facility, bool to_stderr);

/*
 * systemd.exec(5): when standard error is connected to the journal,
 * JOURNAL_STREAM holds "DEVICE:INODE" of that stream (decimal). True when
 * env is of that form and names dev and ino.
 */
bool log_journal_stream_matches(const char *env, dev_t dev, ino_t ino);

/* True when standard error is the journal: JOURNAL_STREAM names fd 2. */
bool log_stderr_is_journal(void);

/* -v given: LOG_DEBUG lines are written too. */
void log_set_verbose(bool verbose);
bool log_is_verbose(void);

/*
 * One line at priority prio (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG),
 * escaped with dkim_text_escape: callers may pass untrusted text.
 */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* OPENDKIM_LOG_H */
