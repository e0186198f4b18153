/*
 * msglog.c - the per-message log line (see msglog.h): built from facts
 * only, so that every form of it is unit tested without a milter.
 *
 * Interface: msglog.h.
 *
 * Errors: none; a line longer than the buffer is cut.
 */
#include "msglog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

/* Appends to a bounded line; truncates, never overruns. */
static void msglog_add(char *line, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void msglog_add(char *line, size_t size, const char *fmt, ...)
{
	size_t used = strlen(line);
	if (used + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + used, size - used, fmt, ap);
	va_end(ap);
}

/* What was signed, or the verification result that decided. */
static void msglog_outcome(const msglog_facts *f, char *line, size_t size)
{
	const dkim_sig_result *r = f->result;

	for (size_t i = 0; f->decision->sign && i < f->signers->count; i++)
		msglog_add(line, size, " signed domain=%s selector=%s",
		           f->signers->v[i].domain, f->signers->v[i].selector);
	if (f->decision->verify)
		msglog_add(line, size, " domain=%s selector=%s result=%s",
		           r != NULL && r->domain != NULL ? r->domain : "-",
		           r != NULL && r->selector != NULL ? r->selector : "-",
		           r != NULL ? dkim_result_name(r->result) : "none");
	if (r != NULL && r->reason != NULL && r->reason[0] != '\0')
		msglog_add(line, size, " reason=\"%s\"", r->reason);
}

int msglog_format(const msglog_facts *f, char *line, size_t size)
{
	const policy_decision *d = f->decision;
	bool success = f->action == CONFIG_ACT_ACCEPT &&
	               (d->sign || (f->result != NULL && f->result->result == DKIM_RESULT_PASS));
	bool why = f->log_why && !d->sign;

	if (size == 0)
		return -1;
	line[0] = '\0';
	if (success && !why && !d->log_external && !f->log_success)
		return -1;
	snprintf(line, size, "%s: action=%s", f->qid, config_action_name(f->action));
	msglog_outcome(f, line, size);
	if (why)
		msglog_add(line, size, " not signed: %s", policy_why_text(d->why));
	if (f->ar_removed > 0)
		msglog_add(line, size, " removed=%zu forged Authentication-Results",
		           f->ar_removed);
	if (f->sig_removed > 0)
		msglog_add(line, size, " removed=%zu old DKIM-Signature", f->sig_removed);
	if (d->log_external)
		msglog_add(line, size, " (external host %s sent as a signing domain)",
		           f->client_host);
	return success && !d->log_external ? LOG_INFO : LOG_NOTICE;
}
