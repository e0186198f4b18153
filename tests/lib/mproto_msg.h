/*
 * mproto_msg.h - a message as the MTA side of the milter protocol holds it
 * (tests/lib/mproto.h): header fields and a CRLF body, loaded from a file,
 * changed by the milter's modifications in the order they come (as Postfix
 * applies them: a deletion renumbers the fields after it), written back.
 *
 * Errors: mproto_msg_load() returns false with a message in err (the file
 * cannot be read, a header line without a colon or with an empty name, a
 * continuation line before any field). Every other function fails only
 * when out of memory (false; the message stays valid to free).
 */
#ifndef MPROTO_MSG_H
#define MPROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
	char *name;     /* trailing white space before the colon removed */
	char *value;    /* the text after the colon; folding kept as "\n" */
} mproto_field;

typedef struct {
	mproto_field *fields;
	size_t count;
	char *body;              /* CRLF line ends, as the protocol carries it */
	size_t body_len, body_cap;
	bool body_replaced;      /* a SMFIR_REPLBODY came: later ones append */
} mproto_msg;

/* A stored message: header, blank line, body; LF or CRLF line ends (the
 * body's last line gets its CRLF even without one in the file). */
bool mproto_msg_load(mproto_msg *m, const char *path, char *err, size_t errlen);
bool mproto_msg_copy(mproto_msg *dst, const mproto_msg *src);
void mproto_msg_free(mproto_msg *m);

/* A header modification (SMFIR_INSHEADER, _ADDHEADER, _CHGHEADER; index
 * and value as in mproto_mod). Without leadspc (SMFIP_HDR_LEADSPC) the
 * value gets the space the MTA puts after the colon. CHGHEADER with an
 * empty value deletes the field; past the last field of that name, a
 * non-empty value is added (smfi_chgheader(3)). */
bool mproto_msg_header_mod(mproto_msg *m, bool leadspc, char cmd, uint32_t index,
                           const char *name, const char *value);
/* SMFIR_REPLBODY: the first one replaces the body, later ones append. */
bool mproto_msg_body_mod(mproto_msg *m, const char *data, size_t len);

/* The message with LF line ends ('\r' dropped from the header fields). */
bool mproto_msg_write(const mproto_msg *m, FILE *out);

#endif
