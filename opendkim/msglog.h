/*
 * msglog.h - the one log line per message, as a pure formatter: what the
 * milter knows at end of message goes in, the line and its priority come
 * out (or nothing, when the line is not to be written).
 *
 * The line: "QID: action=ACTION", then " signed domain=D selector=S" per
 * signer, " domain=D selector=S result=R" when the message was verified,
 * ' reason="..."', " not signed: WHY" (LogWhy), the forged
 * Authentication-Results and old DKIM-Signature fields removed, and the
 * external host that sent as one of our signing domains.
 *
 * Errors: none; the line is cut to the buffer, never overrun.
 */
#ifndef ODK_MSGLOG_H
#define ODK_MSGLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim.h"
#include "odkconfig.h"
#include "policy.h"

typedef struct {
	const char *qid;                /* the queue id, or a placeholder */
	config_action action;           /* what was done with the message */
	const policy_decision *decision;
	const policy_signers *signers;  /* used when decision->sign */
	const dkim_sig_result *result;  /* the deciding verification, or NULL */
	size_t ar_removed;              /* forged A-R fields removed */
	size_t sig_removed;             /* old DKIM-Signature fields removed */
	const char *client_host;        /* for the external-host note */
	bool log_why;                   /* LogWhy, with Mode s */
	bool log_success;               /* SyslogSuccess, or -v */
} msglog_facts;

/*
 * Writes the line into line[size] and returns its syslog priority
 * (LOG_INFO for a success, LOG_NOTICE otherwise), or -1 when nothing is
 * to be logged: successes only with log_success, as in OpenDKIM; but a
 * message verified instead of signed always is with LogWhy, and so is one
 * an external host sent as one of our signing domains.
 */
int msglog_format(const msglog_facts *f, char *line, size_t size);

#endif /* ODK_MSGLOG_H */
