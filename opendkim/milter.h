/*
 * milter.h - the libmilter side of the daemon: the callbacks, and the
 * count of messages in flight for a graceful stop. Each message runs with
 * the runtime (runtime.h) current when it started.
 */
#ifndef OPENDKIM_MILTER_H
#define OPENDKIM_MILTER_H

#include <stdbool.h>

#include <stdint.h>

#include <libmilter/mfapi.h>

#include "odkconfig.h"
#include "dkim.h"

/* The libmilter registration (name, flags, callbacks). */
extern struct smfiDesc milter_desc;

/* From now on, new messages get a temporary failure (451 4.3.2). */
void milter_begin_shutdown(void);

/* Messages between MAIL and end of message / abort, now. */
unsigned milter_messages_in_flight(void);

#endif /* OPENDKIM_MILTER_H */
