/*
 * diag.c - the diagnostics list of the configuration loaders.
 *
 * Interface: diag.h. Messages are formatted when added and kept in order;
 * nothing is printed here (the caller decides where they go).
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool diag_grow(diag_list *diag)
{
	size_t cap;
	diag_msg *msgs;

	if (diag->count < diag->cap)
		return true;
	cap = diag->cap ? diag->cap * 2 : 8;
	msgs = realloc(diag->msgs, cap * sizeof(*msgs));
	if (msgs == NULL)
		return false;
	diag->msgs = msgs;
	diag->cap = cap;
	return true;
}

void diag_add(diag_list *diag, diag_severity severity, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int len;

	if (diag == NULL)
		return;
	if (severity == DIAG_ERROR)
		diag->errors++;
	else if (severity == DIAG_WARNING)
		diag->warnings++;
	va_start(ap, fmt);
	len = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (len < 0 || !diag_grow(diag)) {
		if (len >= 0)
			free(text);
		diag->oom = true;
		return;
	}
	diag->msgs[diag->count].severity = severity;
	diag->msgs[diag->count].text = text;
	diag->count++;
}

void diag_list_free(diag_list *diag)
{
	size_t i;

	if (diag == NULL)
		return;
	for (i = 0; i < diag->count; i++)
		free(diag->msgs[i].text);
	free(diag->msgs);
	memset(diag, 0, sizeof(*diag));
}
