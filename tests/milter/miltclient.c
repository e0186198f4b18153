/*
 * miltclient.c - a milter protocol client for tests: plays the MTA's part
 * (as Postfix does) against a milter, applies the milter's changes to the
 * message and writes the result.
 *
 * Usage: miltclient [options] SOCKET MESSAGE
 *   SOCKET   inet:PORT@HOST, inet6:PORT@HOST, unix:/path or local:/path
 *   MESSAGE  a stored message (header, blank line, body; LF or CRLF)
 * Options:
 *   -o FILE   write the resulting message there (default: stdout)
 *   -a ADDR   client IPv4/IPv6 address (default 127.0.0.1)
 *   -n NAME   client host name (default: "[ADDR]", as Postfix when unknown)
 *   -H HELO   HELO name (default client.example)
 *   -f FROM   envelope sender (default sender@example.com)
 *   -r RCPT   envelope recipient (repeatable; default rcpt@example.net)
 *   -A USER   authenticated client: {auth_type}=PLAIN, {auth_authen}=USER
 *   -j NAME   the MTA's name, macro j (default mx.example.net; "" sends
 *             no j at all)
 *   -D NAME   the receiving daemon's name, macro {daemon_name} (default smtpd)
 *   -i QID    queue id, macro i (default 4ABC123DEF; repeated messages
 *             get a numeric suffix)
 *   -c N      send the message N times over one connection
 *   -C BYTES  body chunk size (default and maximum 65535)
 *   -t SECS   timeout for every read and write (default 30)
 *   -w MS     wait MS milliseconds before the end of each message (to
 *             have a message in flight while a test signals the milter)
 *   -v        log every packet on stderr
 * For each message, a line "result: ACTION[ TEXT]" goes to stderr: accept,
 * continue (delivered with the changes), reject, tempfail, discard,
 * replycode 550 5.7.1 ..., quarantine REASON (then the final action).
 * Exit status: 0 when the conversation completed, 1 on any error (no
 * connection, timeout, protocol violation), 2 on a usage error.
 *
 * Protocol: tests/lib/mproto.c (milter version 6). The client offers every
 * action and protocol option, then honours what the milter asks for: steps
 * it does not want are not sent (SMFIP_NO*), steps without a reply are not
 * waited for (SMFIP_NR_*), and header values keep their leading space only
 * with SMFIP_HDR_LEADSPC.
 * Modifications are applied in the order received, as Postfix applies them
 * (a deletion renumbers the fields after it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mproto.h"
#include "mproto_msg.h"

#define MC_MAX_RCPTS 64

/* ---- errors and small helpers ------------------------------------------ */

static bool mc_verbose;

static void mc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void mc_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("miltclient: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* Stops the program when out of memory. */
static void mc_mem(bool ok)
{
	if (!ok)
		mc_die("out of memory");
}

static void mc_msg_load(mproto_msg *m, const char *path)
{
	char err[512];
	if (!mproto_msg_load(m, path, err, sizeof(err)))
		mc_die("%s", err);
}

/* ---- options -------------------------------------------------------------- */

typedef struct {
	const char *socket, *message, *output;
	const char *client_addr, *client_name, *helo, *from, *auth, *j, *daemon, *qid;
	const char *rcpts[MC_MAX_RCPTS];
	size_t nrcpts;
	unsigned long count;
	size_t chunk;
	unsigned long timeout_ms;
	unsigned long wait_ms;
} mc_options;

static void mc_usage(void)
{
	fputs("usage: miltclient [-o OUT] [-a ADDR] [-n NAME] [-H HELO] [-f FROM] "
	      "[-r RCPT]... [-A USER] [-j NAME] [-D NAME] [-i QID] [-c N] [-C BYTES] [-t SECS] [-w MS] "
	      "[-v] SOCKET MESSAGE\n", stderr);
	exit(2);
}

static unsigned long mc_number(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		mc_usage();
	return v;
}

static void mc_options_parse(mc_options *o, int argc, char **argv)
{
	*o = (mc_options){ .client_addr = "127.0.0.1", .helo = "client.example",
	                   .from = "sender@example.com", .j = "mx.example.net", .daemon = "smtpd",
	                   .qid = "4ABC123DEF", .count = 1,
	                   .chunk = MILTER_CHUNK_SIZE, .timeout_ms = 30000 };
	int c;
	while ((c = getopt(argc, argv, "o:a:n:H:f:r:A:j:D:i:c:C:t:w:v")) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'a': o->client_addr = optarg; break;
		case 'n': o->client_name = optarg; break;
		case 'H': o->helo = optarg; break;
		case 'f': o->from = optarg; break;
		case 'r':
			if (o->nrcpts == MC_MAX_RCPTS)
				mc_usage();
			o->rcpts[o->nrcpts++] = optarg;
			break;
		case 'A': o->auth = optarg; break;
		case 'j': o->j = optarg; break;
		case 'D': o->daemon = optarg; break;
		case 'i': o->qid = optarg; break;
		case 'c': o->count = mc_number(optarg, 1, 1000000); break;
		case 'C': o->chunk = mc_number(optarg, 1, MILTER_CHUNK_SIZE); break;
		case 't': o->timeout_ms = mc_number(optarg, 1, 3600) * 1000; break;
		case 'w': o->wait_ms = mc_number(optarg, 0, 600000); break;
		case 'v': mc_verbose = true; break;
		default: mc_usage();
		}
	}
	if (argc - optind != 2)
		mc_usage();
	o->socket = argv[optind];
	o->message = argv[optind + 1];
	if (o->nrcpts == 0)
		o->rcpts[o->nrcpts++] = "rcpt@example.net";
}

/* ---- the session stages (tests/lib/mproto.h) ---------------------------- */

static void mc_trace(char dir, char cmd, size_t len)
{
	fprintf(stderr, "miltclient: %c '%c' %zu bytes\n", dir, cmd, len);
}

/* Stops the program when the session failed. */
static void mc_check(const mproto_conn *s, bool ok)
{
	if (!ok)
		mc_die("%s", s->error);
}

static mproto_reply mc_connect_stage(mproto_conn *s, const mc_options *o)
{
	char name[300];
	snprintf(name, sizeof(name), "[%s]", o->client_addr);
	const char *host = o->client_name != NULL ? o->client_name : name;
	const char *macros[] = { "j", o->j[0] != '\0' ? o->j : NULL, "{daemon_name}", o->daemon, "v", "Postfix 3.7",
	                         "{client_addr}", o->client_addr, "{client_name}", host,
	                         "{client_port}", "40000", "_", host };
	mproto_reply r;
	mc_check(s, mproto_connect(s, macros, sizeof(macros) / sizeof(*macros), host,
	                           o->client_addr, 40000, &r));
	if (r.code == SMFIR_CONTINUE)
		mc_check(s, mproto_helo(s, o->helo, &r));
	return r;
}

static mproto_reply mc_envelope(mproto_conn *s, const mc_options *o, const char *qid)
{
	const char *macros[] = { "i", qid, "{auth_type}", o->auth != NULL ? "PLAIN" : NULL,
	                         "{auth_authen}", o->auth, "{mail_addr}", o->from };
	mproto_reply r;
	mc_check(s, mproto_mail(s, macros, sizeof(macros) / sizeof(*macros), o->from, &r));
	for (size_t i = 0; i < o->nrcpts && r.code == SMFIR_CONTINUE; i++)
		mc_check(s, mproto_rcpt(s, NULL, 0, o->rcpts[i], &r));
	if (r.code == SMFIR_CONTINUE)
		mc_check(s, mproto_data(s, NULL, 0, &r));
	return r;
}

static mproto_reply mc_headers(mproto_conn *s, const mproto_msg *m, const char *qid)
{
	mproto_reply r = { SMFIR_CONTINUE, NULL };
	for (size_t i = 0; i < m->count && r.code == SMFIR_CONTINUE; i++)
		mc_check(s, mproto_header(s, m->fields[i].name, m->fields[i].value, &r));
	const char *macros[] = { "i", qid };
	if (r.code == SMFIR_CONTINUE)
		mc_check(s, mproto_eoh(s, macros, 2, &r));
	return r;
}

/* ---- end of message: modifications ---------------------------------------------- */

/* Applies one modification, in the order received, as Postfix does. */
static void mc_apply_mod(const mproto_conn *s, mproto_msg *m, const mproto_mod *mod,
                         char **quarantine)
{
	bool leadspc = (s->proto & SMFIP_HDR_LEADSPC) != 0;
	switch (mod->cmd) {
	case SMFIR_INSHEADER: case SMFIR_ADDHEADER: case SMFIR_CHGHEADER:
		mc_mem(mproto_msg_header_mod(m, leadspc, mod->cmd, mod->index, mod->name, mod->value));
		break;
	case SMFIR_REPLBODY:
		mc_mem(mproto_msg_body_mod(m, mod->data, mod->len));
		break;
	case SMFIR_QUARANTINE:
		free(*quarantine);
		*quarantine = strdup(mod->data);
		mc_mem(*quarantine != NULL);
		break;
	default:   /* envelope changes */
		if (mc_verbose)
			fprintf(stderr, "miltclient: envelope change '%c' %s\n", mod->cmd, mod->data);
	}
}

static mproto_reply mc_eom(mproto_conn *s, mproto_msg *m, const char *qid, char **quarantine)
{
	const char *macros[] = { "i", qid };
	mc_check(s, mproto_eom(s, macros, 2));
	for (;;) {
		mproto_mod mod;
		mc_check(s, mproto_eom_next(s, &mod));
		if (mproto_is_final(mod.cmd))
			return (mproto_reply){ mod.cmd, mod.cmd == SMFIR_REPLYCODE ? mod.data : NULL };
		mc_apply_mod(s, m, &mod, quarantine);
	}
}

/* ---- driver ---------------------------------------------------------------------- */

static void mc_report(const mproto_reply *r, const char *quarantine)
{
	static const struct { char code; const char *name; } names[] = {
		{ SMFIR_CONTINUE, "continue" }, { SMFIR_ACCEPT, "accept" },
		{ SMFIR_REJECT, "reject" }, { SMFIR_TEMPFAIL, "tempfail" },
		{ SMFIR_DISCARD, "discard" }, { SMFIR_REPLYCODE, "replycode" },
	};
	if (quarantine != NULL)
		fprintf(stderr, "result: quarantine %s\n", quarantine);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (names[i].code == r->code)
			fprintf(stderr, "result: %s%s%s\n", names[i].name,
			        r->text != NULL ? " " : "", r->text != NULL ? r->text : "");
}

/* One message over an open session; returns the final reply (its text
 * valid until the next read). The message is changed only when the milter
 * let it through to the end. */
static mproto_reply mc_one_message(mproto_conn *s, const mc_options *o, mproto_msg *m,
                                   const char *qid, char **quarantine)
{
	mproto_reply r = mc_envelope(s, o, qid);
	if (r.code == SMFIR_CONTINUE)
		r = mc_headers(s, m, qid);
	if (r.code == SMFIR_CONTINUE)
		mc_check(s, mproto_body(s, m->body, m->body_len, o->chunk, &r));
	if (r.code == SMFIR_CONTINUE && o->wait_ms > 0) {
		mc_check(s, mproto_flush(s));
		struct timespec ts = { (time_t)(o->wait_ms / 1000), (long)(o->wait_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (r.code == SMFIR_CONTINUE)
		return mc_eom(s, m, qid, quarantine);
	/* Stopped early: the MTA tells the milter the message is over. */
	mc_check(s, mproto_abort(s));
	return r;
}

int main(int argc, char **argv)
{
	mc_options o;
	mc_options_parse(&o, argc, argv);
	mproto_msg orig;
	mc_msg_load(&orig, o.message);
	mproto_settings set = { .offer_prot = SMFI_CURR_PROT, .timeout_ms = o.timeout_ms,
	                        .trace = mc_verbose ? mc_trace : NULL };
	mproto_conn s;
	mc_check(&s, mproto_open(&s, o.socket, &set));
	mproto_reply r = mc_connect_stage(&s, &o);
	mproto_msg m;
	mc_mem(mproto_msg_copy(&m, &orig));
	for (unsigned long i = 0; i < o.count && r.code == SMFIR_CONTINUE; i++) {
		char qid[256];   /* long enough for a test of over-long queue ids */
		snprintf(qid, sizeof(qid), o.count > 1 ? "%s%lu" : "%s", o.qid, i);
		char *quarantine = NULL;
		mproto_msg_free(&m);
		mc_mem(mproto_msg_copy(&m, &orig));
		mproto_reply mr = mc_one_message(&s, &o, &m, qid, &quarantine);
		mc_report(&mr, quarantine);
		free(quarantine);
	}
	if (r.code != SMFIR_CONTINUE)
		mc_report(&r, NULL);
	mproto_close(&s, true);
	FILE *out = o.output != NULL ? fopen(o.output, "w") : stdout;
	if (out == NULL)
		mc_die("%s: %s", o.output, strerror(errno));
	bool written = mproto_msg_write(&m, out);
	if (fclose(out) != 0 || !written)
		mc_die("writing the message: %s", strerror(errno));
	mproto_msg_free(&m);
	mproto_msg_free(&orig);
	return 0;
}
