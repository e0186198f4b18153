/*
 * diag.h - the diagnostics list every configuration loader (config,
 * dataset, hostlist, keystore) reports into: one "FILE:LINE: message" per
 * problem, in order, with its severity.
 *
 * Errors: diag_add never fails; when memory runs out the message is lost
 * but counted, and the list's oom flag is set.
 */
#ifndef ODK_DIAG_H
#define ODK_DIAG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	DIAG_WARNING = 0,
	DIAG_ERROR = 1,
	DIAG_OUTAGE = 2,        /* a database data set could not be read
	                         * again; its copy stays (not an error) */
	DIAG_NOTICE = 3         /* it could be read again: the outage is over */
} diag_severity;

typedef struct {
	diag_severity severity;
	char *text;             /* "FILE:LINE: message", no trailing newline */
} diag_msg;

/*
 * An ordered list of warnings and errors. Zero-initialise it
 * (diag_list d = {0};). When memory runs out while adding, the message is
 * lost but still counted (errors stays right), and oom is set.
 */
typedef struct {
	diag_msg *msgs;
	size_t count;
	size_t cap;
	size_t errors;          /* how many of msgs are DIAG_ERROR */
	size_t warnings;
	bool oom;
} diag_list;

void diag_add(diag_list *diag, diag_severity severity, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Frees every message; the list is empty (and reusable) after. */
void diag_list_free(diag_list *diag);

#endif
