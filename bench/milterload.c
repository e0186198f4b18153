/*
 * milterload.c - a load generator for milters: plays the MTA's part of the
 * milter protocol (version 6, as Postfix speaks it) over many messages and
 * connections, and reports throughput, latency and failures.
 *
 * Usage: milterload [options] SOCKET MESSAGE
 *   SOCKET   inet:PORT@HOST, inet:PORT@[IP], inet6:PORT@[IP], unix:/path,
 *            local:/path
 *   MESSAGE  a stored message (header, blank line, body; LF or CRLF)
 * Options: see ml_usage() below (-n messages, -c connections, -m messages
 * per connection, -k client kind, --dump, --expect, --ack).
 *
 * Per message: connect (client address and the macros Postfix sends by
 * default, {auth_authen} for an authenticated client), helo, mail, rcpt,
 * data, one header packet per field, end of headers, the body in packets of
 * at most 65535 bytes (MILTER_CHUNK_SIZE), end of message; then it reads
 * every modification up to the final reply. Steps the milter asked not to
 * get are not sent, replies it said it would not send are not awaited.
 *
 * The protocol is tests/lib/mproto.c; its writes behave like Postfix's
 * VSTREAM (a 4 KB buffer, flushed when it fills and before every read, so a
 * macro packet and its command leave in one write). What else is sent
 * (--mta):
 *   generic  (default) a step the milter skips is not sent, nor its macros;
 *   postfix  what Postfix 3.7 writes (seen with strace -f of smtpd and
 *            cleanup): the macros of every stage even when the milter
 *            skips the step (an empty one for HELO), an "i" macro packet
 *            before every header, body chunk, end of headers and end of
 *            message, and the buffer written out at DATA whether or not a
 *            reply is awaited (smtpd hands the milter connection to
 *            cleanup there). With --ack postfix this reproduces the ~40 ms
 *            stall per message of a milter that leaves that last write
 *            unanswered (issue 12).
 * --writes packet writes every packet on its own at once, unbuffered: a
 * harsher client than Postfix (default: buffered). ACK behaviour (--ack):
 *   postfix  (default) Nagle left on, no TCP_QUICKACK: what Postfix does,
 *            so a milter that splits its replies into small writes waits
 *            for the client's delayed ACK, as it would in production;
 *   quick    TCP_NODELAY, and TCP_QUICKACK re-armed after every read: the
 *            client hides such stalls (for comparison only).
 *
 * Latency of a message: from its first byte (TCP connect and negotiation
 * included for the first message of a connection) to its final reply.
 * Output: one human line, then a "result:" line of key=value pairs for
 * scripts. Exit status 0 when every message succeeded, 1 when any failed,
 * 2 on a usage error.
 *
 * Errors: a failed connection, a timeout, a malformed or oversized packet,
 * a rejecting reply, or (with --expect) a missing inserted field counts as a
 * failed message; the connection is dropped and the next message gets a new
 * one. The first few errors are printed on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "mproto.h"
#include "mproto_msg.h"

#define ML_MAX_ERRORS_SHOWN 5
#define ML_MAX_EXPECT 4

/* ---- options --------------------------------------------------------------- */

typedef enum { ML_INTERNAL, ML_AUTH, ML_EXTERNAL } ml_kind;

typedef struct {
	const char *socket;
	const char *message;
	unsigned long messages;       /* -n */
	unsigned long connections;    /* -c */
	unsigned long per_conn;       /* -m, 0: as many as come */
	ml_kind kind;                 /* -k */
	const char *user;             /* -u, {auth_authen} */
	const char *dump_dir;         /* --dump */
	unsigned long dump_max;       /* --dump-max */
	const char *expect[ML_MAX_EXPECT]; /* --expect NAME[:TEXT] */
	size_t nexpect;
	bool quick_ack;               /* --ack quick */
	bool postfix;                 /* --mta postfix */
	bool write_each;              /* --writes packet */
	unsigned long timeout;        /* -t seconds */
	bool quiet;                   /* -q */
} ml_options;

static void ml_usage(void)
{
	fputs("usage: milterload [options] SOCKET MESSAGE\n"
	      "  -n N           messages in all (default 100)\n"
	      "  -c N           concurrent connections (default 1)\n"
	      "  -m N           messages per connection (default 1; 0: unlimited)\n"
	      "  -k KIND        client: internal (127.0.0.1), auth (198.51.100.7\n"
	      "                 with {auth_authen}), external (198.51.100.7)\n"
	      "  -u USER        {auth_authen} for -k auth (default alice)\n"
	      "  -t SECS        timeout for every read and write (default 30)\n"
	      "  --dump DIR     write modified messages to DIR/NNNNNN.eml\n"
	      "  --dump-max N   dump at most the first N messages (default 10)\n"
	      "  --expect NAME[:TEXT]  fail a message unless the milter adds a\n"
	      "                 field NAME (whose value contains TEXT); repeatable\n"
	      "  --ack postfix|quick   client ACK behaviour (default postfix)\n"
	      "  --mta generic|postfix what is sent: only the steps the milter\n"
	      "                 wants (generic, default), or as Postfix does\n"
	      "  --writes buffered|packet  gather packets until a read (default)\n"
	      "                 or write each one at once\n"
	      "  -q             only the result: line\n", stderr);
	exit(2);
}

static unsigned long ml_number(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "milterload: bad number '%s' (%lu..%lu)\n", s, min, max);
		exit(2);
	}
	return v;
}

static void ml_option_long(ml_options *o, const char *name, const char *arg)
{
	if (strcmp(name, "dump") == 0)
		o->dump_dir = arg;
	else if (strcmp(name, "dump-max") == 0)
		o->dump_max = ml_number(arg, 0, 1000000);
	else if (strcmp(name, "expect") == 0) {
		if (o->nexpect == ML_MAX_EXPECT)
			ml_usage();
		o->expect[o->nexpect++] = arg;
	} else if (strcmp(name, "ack") == 0) {
		if (strcmp(arg, "postfix") != 0 && strcmp(arg, "quick") != 0)
			ml_usage();
		o->quick_ack = strcmp(arg, "quick") == 0;
	} else if (strcmp(name, "mta") == 0) {
		if (strcmp(arg, "generic") != 0 && strcmp(arg, "postfix") != 0)
			ml_usage();
		o->postfix = strcmp(arg, "postfix") == 0;
	} else if (strcmp(name, "writes") == 0) {
		if (strcmp(arg, "buffered") != 0 && strcmp(arg, "packet") != 0)
			ml_usage();
		o->write_each = strcmp(arg, "packet") == 0;
	}
}

static void ml_options_parse(ml_options *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "dump", required_argument, NULL, 0 },
		{ "dump-max", required_argument, NULL, 0 },
		{ "expect", required_argument, NULL, 0 },
		{ "ack", required_argument, NULL, 0 },
		{ "mta", required_argument, NULL, 0 },
		{ "writes", required_argument, NULL, 0 },
		{ NULL, 0, NULL, 0 },
	};
	*o = (ml_options){ .messages = 100, .connections = 1, .per_conn = 1,
	                   .user = "alice", .dump_max = 10, .timeout = 30 };
	int c, idx;
	while ((c = getopt_long(argc, argv, "n:c:m:k:u:t:q", longs, &idx)) != -1) {
		switch (c) {
		case 0: ml_option_long(o, longs[idx].name, optarg); break;
		case 'n': o->messages = ml_number(optarg, 1, 100000000); break;
		case 'c': o->connections = ml_number(optarg, 1, 4096); break;
		case 'm': o->per_conn = ml_number(optarg, 0, 100000000); break;
		case 'u': o->user = optarg; break;
		case 't': o->timeout = ml_number(optarg, 1, 3600); break;
		case 'q': o->quiet = true; break;
		case 'k':
			if (strcmp(optarg, "internal") == 0) o->kind = ML_INTERNAL;
			else if (strcmp(optarg, "auth") == 0) o->kind = ML_AUTH;
			else if (strcmp(optarg, "external") == 0) o->kind = ML_EXTERNAL;
			else ml_usage();
			break;
		default: ml_usage();
		}
	}
	if (argc - optind != 2)
		ml_usage();
	o->socket = argv[optind];
	o->message = argv[optind + 1];
}

/* ---- errors ------------------------------------------------------------------ */

static void ml_oom(void)
{
	fputs("milterload: out of memory\n", stderr);
	exit(1);
}

static char *ml_strdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		ml_oom();
	return d;
}

static atomic_ulong ml_errors_shown;

/* Reports one error (the first few only); always returns false. */
static bool ml_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool ml_error(const char *fmt, ...)
{
	if (atomic_fetch_add(&ml_errors_shown, 1) >= ML_MAX_ERRORS_SHOWN)
		return false;
	va_list ap;
	va_start(ap, fmt);
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "milterload: %s\n", line);
	return false;
}

/* ---- the message (tests/lib/mproto_msg.h) ------------------------------------ */

static bool ml_message_load(mproto_msg *m, const char *path)
{
	char err[512];
	if (!mproto_msg_load(m, path, err, sizeof(err))) {
		fprintf(stderr, "milterload: %s\n", err);
		return false;
	}
	if (m->count == 0) {
		fprintf(stderr, "milterload: %s: no header field\n", path);
		return false;
	}
	return true;
}

/* ---- one message through the protocol (tests/lib/mproto.h) ------------------ */

/* A header modification received (copied out of the connection's buffer). */
typedef struct {
	char cmd;              /* SMFIR_INSHEADER, _ADDHEADER or _CHGHEADER */
	uint32_t index;
	char *name, *value;
} ml_mod;

/* What the milter did with one message. */
typedef struct {
	ml_mod *mods;
	size_t count;
	bool leadspc;          /* SMFIP_HDR_LEADSPC: how to apply them */
	char final;            /* the final reply */
} ml_result;

static bool ml_conn_open(mproto_conn *c, const ml_options *o)
{
	mproto_settings set = { .offer_prot = MPROTO_POSTFIX_PROT,
	                        .timeout_ms = o->timeout * 1000, .quick_ack = o->quick_ack,
	                        .macros_always = o->postfix, .write_each = o->write_each };
	return mproto_open(c, o->socket, &set);
}

static const char *ml_client_addr(const ml_options *o)
{
	return o->kind == ML_INTERNAL ? "127.0.0.1" : "198.51.100.7";
}

/* Connect and HELO with Postfix's default milter_connect_macros. */
static bool ml_session_start(mproto_conn *c, const ml_options *o, mproto_reply *r)
{
	static const char *const macros[] = {
		"j", "mx.example.net", "{daemon_name}", "mx.example.net",
		"{daemon_addr}", "127.0.0.1", "v", "Postfix 3.7.11",
		"_", "client.example [127.0.0.1]",
	};
	const char *addr = ml_client_addr(o);
	char hostname[64];
	snprintf(hostname, sizeof(hostname), "[%s]", addr);
	if (!mproto_connect(c, macros, sizeof(macros) / sizeof(*macros), hostname, addr, 40000, r))
		return false;
	if (r->code != SMFIR_CONTINUE)
		return true;
	/* Postfix's HELO macros are TLS ones: an empty packet without TLS. */
	if (o->postfix && !mproto_macro(c, SMFIC_HELO, NULL, 0))
		return false;
	return mproto_helo(c, "client.example", r);
}

/* MAIL, RCPT, DATA with Postfix's default macros for each ({auth_*} only
 * for an authenticated client). False: the connection failed; otherwise
 * r is the milter's word on the envelope. */
static bool ml_envelope(mproto_conn *c, const ml_options *o, const char *qid, mproto_reply *r)
{
	const char *mail[] = { "i", qid, "{mail_addr}", "alice@example.com",
	                       "{auth_type}", "PLAIN", "{auth_authen}", o->user };
	/* Postfix's milter_rcpt_macros (generic: the address only). */
	const char *rcpt[] = { "{rcpt_addr}", "bob@example.net", "i", qid,
	                       "{rcpt_host}", "example.net", "{rcpt_mailer}", "smtp" };
	const char *data[] = { "i", qid };

	if (!mproto_mail(c, mail, o->kind == ML_AUTH ? 8 : 4, "alice@example.com", r))
		return false;
	if (r->code != SMFIR_CONTINUE)
		return true;
	if (!mproto_rcpt(c, rcpt, o->postfix ? 8 : 2, "bob@example.net", r))
		return false;
	if (r->code != SMFIR_CONTINUE || !mproto_data(c, data, 2, r))
		return r->code != SMFIR_CONTINUE;
	/* smtpd writes what it holds when it hands the milter connection to
	 * cleanup, which goes on with the headers in writes of its own. */
	return !o->postfix || mproto_flush(c);
}

/* One packet per header field (Postfix: each after an "i" macro packet),
 * then end of headers. */
static bool ml_headers(mproto_conn *c, const ml_options *o, const mproto_msg *m,
                       const char *qid, mproto_reply *r)
{
	const char *i_macro[] = { "i", qid };
	*r = (mproto_reply){ SMFIR_CONTINUE, NULL };
	for (size_t i = 0; r->code == SMFIR_CONTINUE && i < m->count; i++)
		if ((o->postfix && (c->proto & SMFIP_NOHDRS) == 0 &&
		     !mproto_macro(c, SMFIC_HEADER, i_macro, 2)) ||
		    !mproto_header(c, m->fields[i].name, m->fields[i].value, r))
			return false;
	const char *eoh[] = { "i", qid };
	return r->code != SMFIR_CONTINUE || mproto_eoh(c, eoh, 2, r);
}

/* The body in MILTER_CHUNK_SIZE packets (Postfix: each after an "i"
 * macro packet). */
static bool ml_body(mproto_conn *c, const ml_options *o, const mproto_msg *m,
                    const char *qid, mproto_reply *r)
{
	if (!o->postfix || (c->proto & SMFIP_NOBODY) != 0)
		return mproto_body(c, m->body, m->body_len, MILTER_CHUNK_SIZE, r);
	const char *i_macro[] = { "i", qid };
	*r = (mproto_reply){ SMFIR_CONTINUE, NULL };
	for (size_t off = 0; off < m->body_len && r->code == SMFIR_CONTINUE;
	     off += MILTER_CHUNK_SIZE) {
		size_t len = m->body_len - off < MILTER_CHUNK_SIZE ? m->body_len - off
		                                                   : MILTER_CHUNK_SIZE;
		if (!mproto_macro(c, SMFIC_BODY, i_macro, 2) ||
		    !mproto_body(c, m->body + off, len, MILTER_CHUNK_SIZE, r))
			return false;
	}
	return true;
}

/* Keeps one header modification, for --expect and --dump. */
static void ml_result_mod(ml_result *r, const mproto_mod *mod)
{
	ml_mod *p = realloc(r->mods, (r->count + 1) * sizeof(*r->mods));
	if (p == NULL)
		ml_oom();
	r->mods = p;
	r->mods[r->count++] = (ml_mod){ mod->cmd, mod->index, ml_strdup(mod->name),
	                                ml_strdup(mod->value) };
}

/* End of message: reads modifications up to the final reply. */
static bool ml_eom(mproto_conn *c, const char *qid, ml_result *r)
{
	const char *eod[] = { "i", qid };
	if (!mproto_eom(c, eod, 2))
		return false;
	r->leadspc = (c->proto & SMFIP_HDR_LEADSPC) != 0;
	for (;;) {
		mproto_mod mod;
		if (!mproto_eom_next(c, &mod))
			return false;
		if (mproto_is_final(mod.cmd)) {
			r->final = mod.cmd;
			return true;
		}
		if (mod.cmd == SMFIR_INSHEADER || mod.cmd == SMFIR_ADDHEADER ||
		    mod.cmd == SMFIR_CHGHEADER)
			ml_result_mod(r, &mod);
		/* quarantine, envelope and body changes: read, ignored */
	}
}

/* Runs one message over an open connection. False: the connection is no
 * longer usable. r->final says what the milter decided. */
static bool mproto_msg_run(mproto_conn *c, const ml_options *o, const mproto_msg *m,
                           const char *qid, ml_result *r)
{
	mproto_reply reply;
	if (!ml_envelope(c, o, qid, &reply))
		return false;
	if (reply.code == SMFIR_CONTINUE && !ml_headers(c, o, m, qid, &reply))
		return false;
	if (reply.code == SMFIR_CONTINUE && !ml_body(c, o, m, qid, &reply))
		return false;
	if (reply.code == SMFIR_CONTINUE)
		return ml_eom(c, qid, r);
	r->final = reply.code;
	if (reply.code != SMFIR_ACCEPT)   /* the transaction ends early: reset the milter */
		return mproto_abort(c);
	return true;
}

/* ---- checks and dumps ------------------------------------------------------- */

/* --expect NAME[:TEXT]: some inserted or added field NAME with TEXT in
 * its value. */
static bool ml_result_has(const ml_result *r, const char *expect)
{
	const char *colon = strchr(expect, ':');
	size_t nlen = colon != NULL ? (size_t)(colon - expect) : strlen(expect);
	for (size_t i = 0; i < r->count; i++) {
		const ml_mod *mod = &r->mods[i];
		if (mod->cmd != SMFIR_CHGHEADER && strlen(mod->name) == nlen &&
		    strncasecmp(mod->name, expect, nlen) == 0 &&
		    (colon == NULL || strstr(mod->value, colon + 1) != NULL))
			return true;
	}
	return false;
}

static bool ml_result_check(const ml_result *r, const ml_options *o, unsigned long seq)
{
	if (r->final != SMFIR_ACCEPT && r->final != SMFIR_CONTINUE)
		return ml_error("message %lu: final reply '%c'", seq, r->final);
	for (size_t i = 0; i < o->nexpect; i++)
		if (!ml_result_has(r, o->expect[i]))
			return ml_error("message %lu: no added field %s", seq, o->expect[i]);
	return true;
}

/* Writes the message with the milter's changes, as the MTA would pass it
 * on, to DIR/NNNNNN.eml. */
static bool ml_result_dump(const ml_result *r, const mproto_msg *m, const char *dir,
                           unsigned long seq)
{
	mproto_msg out;
	bool ok = mproto_msg_copy(&out, m);
	for (size_t i = 0; ok && i < r->count; i++)
		ok = mproto_msg_header_mod(&out, r->leadspc, r->mods[i].cmd, r->mods[i].index,
		                           r->mods[i].name, r->mods[i].value);
	if (!ok)
		ml_oom();
	char path[4096];
	snprintf(path, sizeof(path), "%s/%06lu.eml", dir, seq);
	FILE *f = fopen(path, "wb");
	if (f != NULL) {
		ok = mproto_msg_write(&out, f);
		ok = fclose(f) == 0 && ok;
	}
	mproto_msg_free(&out);
	if (f == NULL)
		return ml_error("%s: %s", path, strerror(errno));
	return ok || ml_error("%s: write error", path);
}

static void ml_result_free(ml_result *r)
{
	for (size_t i = 0; i < r->count; i++) {
		free(r->mods[i].name);
		free(r->mods[i].value);
	}
	free(r->mods);
}

/* ---- the load: worker threads --------------------------------------------------- */

typedef struct {
	const ml_options *o;
	const mproto_msg *m;
	atomic_ulong next;          /* next message number to send */
	atomic_ulong failures;
	atomic_ulong connections;
	double *latency;            /* seconds, per message */
} ml_load;

static double ml_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One message, opening the connection first if needed. *done is when its
 * final reply came (a dump is written after that, outside the latency). */
static bool ml_worker_message(ml_load *l, mproto_conn *c, unsigned long seq, double *done)
{
	char qid[32];
	snprintf(qid, sizeof(qid), "4B%08lX", seq);
	bool dump = l->o->dump_dir != NULL && seq < l->o->dump_max;
	ml_result r = { .final = 0 };
	bool alive = true, ok = false;
	mproto_reply reply = { SMFIR_CONTINUE, NULL };
	if (c->fd < 0) {
		atomic_fetch_add(&l->connections, 1);
		alive = ml_conn_open(c, l->o) && ml_session_start(c, l->o, &reply);
	}
	if (alive && reply.code == SMFIR_ACCEPT) {
		r.final = SMFIR_ACCEPT;    /* the milter wants nothing of this session */
		ok = ml_result_check(&r, l->o, seq);
	} else if (alive && reply.code != SMFIR_CONTINUE) {
		alive = ml_error("message %lu: connect/helo reply '%c'", seq, reply.code);
	} else if (alive) {
		alive = mproto_msg_run(c, l->o, l->m, qid, &r);
		ok = alive && ml_result_check(&r, l->o, seq);
	}
	if (!alive && c->error[0] != '\0')
		ml_error("message %lu: %s", seq, c->error);
	*done = ml_now();
	if (ok && dump)
		ok = ml_result_dump(&r, l->m, l->o->dump_dir, seq);
	ml_result_free(&r);
	if (!alive)
		mproto_close(c, false);
	return ok;
}

static void *ml_worker(void *arg)
{
	ml_load *l = arg;
	mproto_conn c = { .fd = -1 };
	unsigned long on_conn = 0;
	for (;;) {
		unsigned long seq = atomic_fetch_add(&l->next, 1);
		if (seq >= l->o->messages)
			break;
		double t0 = ml_now(), t1;
		if (!ml_worker_message(l, &c, seq, &t1))
			atomic_fetch_add(&l->failures, 1);
		l->latency[seq] = t1 - t0;
		if (c.fd >= 0 && l->o->per_conn > 0 && ++on_conn >= l->o->per_conn) {
			mproto_close(&c, true);
			on_conn = 0;
		} else if (c.fd < 0) {
			on_conn = 0;
		}
	}
	mproto_close(&c, true);
	return NULL;
}

/* ---- report --------------------------------------------------------------------- */

static int ml_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile by nearest rank. */
static double ml_quantile(const double *sorted, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	return sorted[rank > n ? n - 1 : rank - 1];
}

static void ml_report(const ml_load *l, double elapsed)
{
	size_t n = l->o->messages;
	qsort(l->latency, n, sizeof(*l->latency), ml_cmp_double);
	double p50 = ml_quantile(l->latency, n, 0.50) * 1e3;
	double p99 = ml_quantile(l->latency, n, 0.99) * 1e3;
	double max = l->latency[n - 1] * 1e3;
	double rate = elapsed > 0 ? (double)n / elapsed : 0;
	unsigned long failures = atomic_load(&l->failures);
	if (!l->o->quiet)
		printf("%zu messages in %.3f s over %lu connections: %.1f msgs/s, "
		       "latency p50 %.3f ms, p99 %.3f ms, max %.3f ms, %lu failed\n",
		       n, elapsed, atomic_load(&l->connections), rate, p50, p99, max, failures);
	printf("result: messages=%zu seconds=%.6f msgs_per_s=%.2f p50_ms=%.3f p99_ms=%.3f "
	       "max_ms=%.3f failures=%lu connections=%lu\n",
	       n, elapsed, rate, p50, p99, max, failures, atomic_load(&l->connections));
}

int main(int argc, char **argv)
{
	ml_options o;
	ml_options_parse(&o, argc, argv);
	mproto_msg m;
	if (!ml_message_load(&m, o.message))
		return 2;
	if (o.dump_dir != NULL && mkdir(o.dump_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "milterload: %s: %s\n", o.dump_dir, strerror(errno));
		return 2;
	}
	ml_load l = { .o = &o, .m = &m };
	l.latency = calloc(o.messages, sizeof(*l.latency));
	pthread_t *threads = calloc(o.connections, sizeof(*threads));
	if (l.latency == NULL || threads == NULL)
		ml_oom();
	double t0 = ml_now();
	for (unsigned long i = 0; i < o.connections; i++)
		if (pthread_create(&threads[i], NULL, ml_worker, &l) != 0) {
			fprintf(stderr, "milterload: cannot start thread %lu\n", i);
			return 1;
		}
	for (unsigned long i = 0; i < o.connections; i++)
		pthread_join(threads[i], NULL);
	ml_report(&l, ml_now() - t0);
	mproto_msg_free(&m);
	free(l.latency);
	free(threads);
	return atomic_load(&l.failures) == 0 ? 0 : 1;
}
