/*
 * mproto.h - the MTA's side of the milter protocol (version 6, as Postfix
 * speaks it), shared by the programs that play an MTA against a milter:
 * tests/milter/miltclient (the black-box tests' client) and bench/milterload
 * (the load client).
 *
 * A session: mproto_open() connects and negotiates; then, per message,
 * mproto_mail(), mproto_rcpt(), mproto_data(), mproto_header() for each
 * field, mproto_eoh(), mproto_body(), mproto_eom() and mproto_eom_next()
 * until it yields a final reply (or mproto_abort() when a step's reply ends
 * the message early); mproto_close() at the end. Each step is sent only
 * when the milter did not ask to skip it (SMFIP_NO*), and its reply awaited
 * only when the milter did not say it sends none (SMFIP_NR_*): a skipped or
 * unanswered step reads as SMFIR_CONTINUE. A step's macros (name, value
 * pairs; a NULL value leaves its pair out) go in a SMFIC_MACRO packet just
 * before it, and only when the step itself is sent (unless
 * set->macros_always, as Postfix does).
 *
 * Errors: every function returns false when the session failed (connect,
 * write, timeout, closed connection, a malformed or oversized packet, a
 * reply that makes no sense at that step, out of memory) and leaves a
 * one-line message in conn->error. The connection is then unusable:
 * mproto_close(conn, false) it.
 */
#ifndef MPROTO_H
#define MPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmilter/mfdef.h>

#define MPROTO_WBUF 4096                   /* Postfix's VSTREAM buffer size */
#define MPROTO_MAX_PACKET (1024 * 1024 + 16)   /* SMFIP_MDS_1M and a margin */
#define MPROTO_MAX_MACROS 16               /* name/value pairs in one packet */

/* What Postfix offers in option negotiation (milter8.c, protocol 6): every
 * step can be skipped or left without reply; no SMFIP_MDS_*. */
#define MPROTO_POSTFIX_PROT (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR | \
	SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_RCPT_REJ | \
	SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | \
	SMFIP_HDR_LEADSPC)

typedef struct {
	uint32_t offer_prot;      /* protocol bits offered (actions: all) */
	unsigned long timeout_ms; /* every read and write; 0: none */
	bool quick_ack;           /* TCP_NODELAY, TCP_QUICKACK after each read */
	/* A skipped step's macros are sent all the same, as Postfix does
	 * (milter8.c sends a stage's macros before looking at the skip
	 * bits); otherwise they go only with their step. */
	bool macros_always;
	/* Every packet written on its own, at once (no buffering): a harsher
	 * client than Postfix, whose VSTREAM gathers them. */
	bool write_each;
	/* Called for every packet sent ('>') or read ('<'); may be NULL. */
	void (*trace)(char dir, char cmd, size_t len);
} mproto_settings;

typedef struct {
	int fd;                   /* -1: closed */
	mproto_settings set;
	uint32_t actions;         /* what the milter may do (SMFIF_*) */
	uint32_t proto;           /* what it negotiated (SMFIP_*) */
	char out[MPROTO_WBUF];    /* packets not yet written */
	size_t out_len;
	char *in;                 /* the last packet read, NUL-terminated */
	size_t in_cap;
	char error[256];
} mproto_conn;

/* A step's reply: SMFIR_CONTINUE, _ACCEPT, _REJECT, _TEMPFAIL, _DISCARD,
 * _REPLYCODE (text: "550 5.7.1 ...") or _SKIP. text points into the
 * connection's buffer: valid until the next read. */
typedef struct {
	char code;
	const char *text;
} mproto_reply;

/* One packet of the milter's answer to end of message: a modification, or
 * (mproto_is_final) the final reply. For SMFIR_INSHEADER, _ADDHEADER and
 * _CHGHEADER, name and value are checked NUL-terminated strings inside the
 * packet and index is the field position (INSHEADER, 0-based) or the
 * 1-based index among the fields of that name (CHGHEADER; an empty value
 * deletes). For the rest, data and len are the packet's data
 * (NUL-terminated). All point into the connection's buffer. */
typedef struct {
	char cmd;
	uint32_t index;
	const char *name, *value;
	const char *data;
	size_t len;
} mproto_mod;

/* The connection: SPEC is inet:PORT@HOST, inet:PORT@[IP], inet6:PORT@[IP],
 * unix:/path, local:/path or /path. Negotiates (version 6, every action,
 * set->offer_prot); the milter must not ask for more. */
bool mproto_open(mproto_conn *c, const char *spec, const mproto_settings *set);
/* The same over a connected stream socket fd (closed by mproto_close). */
bool mproto_attach(mproto_conn *c, int fd, const mproto_settings *set);
/* Sends SMFIC_QUIT first when quit (errors ignored); frees the buffers. */
void mproto_close(mproto_conn *c, bool quit);
/* Writes the buffered packets (reads do it themselves). */
bool mproto_flush(mproto_conn *c);
/* A macro packet for stage (an SMFIC_* command) on its own, as Postfix
 * sends before each header and body chunk. */
bool mproto_macro(mproto_conn *c, char stage, const char *const *macros, size_t n);

/* The steps. host is the client's name ("[ADDR]" when unknown), addr its
 * IPv4 or IPv6 address; MAIL and RCPT take the bare address. */
bool mproto_connect(mproto_conn *c, const char *const *macros, size_t n,
                    const char *host, const char *addr, uint16_t port, mproto_reply *r);
bool mproto_helo(mproto_conn *c, const char *name, mproto_reply *r);
bool mproto_mail(mproto_conn *c, const char *const *macros, size_t n,
                 const char *from, mproto_reply *r);
bool mproto_rcpt(mproto_conn *c, const char *const *macros, size_t n,
                 const char *to, mproto_reply *r);
bool mproto_data(mproto_conn *c, const char *const *macros, size_t n, mproto_reply *r);
/* value is the text after the colon; its leading space or tab is dropped
 * unless the milter negotiated SMFIP_HDR_LEADSPC, as Postfix does. */
bool mproto_header(mproto_conn *c, const char *name, const char *value, mproto_reply *r);
bool mproto_eoh(mproto_conn *c, const char *const *macros, size_t n, mproto_reply *r);
/* The body in packets of at most chunk (<= MILTER_CHUNK_SIZE) bytes; stops
 * at the first reply other than continue. SMFIR_SKIP (the milter has seen
 * enough) reads as continue. */
bool mproto_body(mproto_conn *c, const char *body, size_t len, size_t chunk,
                 mproto_reply *r);
/* End of message: its macros (always sent) and SMFIC_BODYEOB. */
bool mproto_eom(mproto_conn *c, const char *const *macros, size_t n);
/* The next packet of the answer (progress reports skipped). */
bool mproto_eom_next(mproto_conn *c, mproto_mod *m);
bool mproto_is_final(char cmd);
/* The message ends early (a step's reply): the milter resets. */
bool mproto_abort(mproto_conn *c);

#endif
