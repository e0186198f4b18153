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
 * macro packet and its command leave in one write). ACK behaviour (--ack):
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
	}
}

static void ml_options_parse(ml_options *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "dump", required_argument, NULL, 0 },
		{ "dump-max", required_argument, NULL, 0 },
		{ "expect", required_argument, NULL, 0 },
		{ "ack", required_argument, NULL, 0 },
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

/* ---- growable buffers and errors ---------------------------------------------- */

typedef struct {
	char *data;
	size_t len, cap;
} ml_buf;

static void ml_oom(void)
{
	fputs("milterload: out of memory\n", stderr);
	exit(1);
}

static void ml_buf_add(ml_buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 256;
		while (cap < b->len + len)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (p == NULL)
			ml_oom();
		b->data = p;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
}

static void ml_buf_str(ml_buf *b, const char *s)
{
	ml_buf_add(b, s, strlen(s) + 1);   /* milter strings carry their NUL */
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

/* ---- the message ------------------------------------------------------------- */

typedef struct {
	char *name;
	char *value;    /* text after the colon, folding kept as "\n" */
} ml_field;

typedef struct {
	ml_field *fields;
	size_t count;
	ml_buf body;    /* CRLF line ends, as the milter protocol carries it */
} ml_message;

static char *ml_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		ml_oom();
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void ml_fields_insert(ml_field **fields, size_t *count, size_t pos,
                             char *name, char *value)
{
	ml_field *f = realloc(*fields, (*count + 1) * sizeof(**fields));
	if (f == NULL)
		ml_oom();
	if (pos > *count)
		pos = *count;
	memmove(f + pos + 1, f + pos, (*count - pos) * sizeof(*f));
	f[pos] = (ml_field){ name, value };
	*fields = f;
	(*count)++;
}

/* One header line: a new field or a continuation of the last one. */
static bool ml_message_header_line(ml_message *m, const char *line, size_t len)
{
	if (line[0] == ' ' || line[0] == '\t') {
		if (m->count == 0)
			return false;
		ml_field *f = &m->fields[m->count - 1];
		size_t old = strlen(f->value);
		char *v = realloc(f->value, old + len + 2);
		if (v == NULL)
			ml_oom();
		v[old] = '\n';
		memcpy(v + old + 1, line, len);
		v[old + 1 + len] = '\0';
		f->value = v;
		return true;
	}
	const char *colon = memchr(line, ':', len);
	if (colon == NULL || colon == line)
		return false;
	size_t vstart = (size_t)(colon + 1 - line);
	ml_fields_insert(&m->fields, &m->count, m->count,
	                 ml_strndup(line, (size_t)(colon - line)),
	                 ml_strndup(line + vstart, len - vstart));
	return true;
}

static bool ml_message_parse(ml_message *m, const char *text, size_t len)
{
	size_t pos = 0;
	bool in_body = false;
	while (pos < len) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - start) : len - pos;
		pos += n + (nl != NULL);
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (in_body) {
			ml_buf_add(&m->body, start, n);
			if (nl != NULL)
				ml_buf_add(&m->body, "\r\n", 2);
		} else if (n == 0) {
			in_body = true;
		} else if (!ml_message_header_line(m, start, n)) {
			fprintf(stderr, "milterload: bad header line: %.*s\n", (int)n, start);
			return false;
		}
	}
	return m->count > 0;
}

static bool ml_message_load(ml_message *m, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "milterload: %s: %s\n", path, strerror(errno));
		return false;
	}
	ml_buf text = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ml_buf_add(&text, chunk, n);
	bool ok = !ferror(f) && ml_message_parse(m, text.data, text.len);
	fclose(f);
	free(text.data);
	return ok;
}

/* ---- one message through the protocol (tests/lib/mproto.h) ------------------ */

/* The modifications received for one message. */
typedef struct {
	ml_field *fields;     /* the message's header after the changes */
	size_t count;
	bool apply;           /* keep fields (for --dump) */
	ml_buf added;         /* "name\0value\0" of every inserted/added field */
	char final;           /* the final reply */
} ml_result;

static bool ml_conn_open(mproto_conn *c, const ml_options *o)
{
	mproto_settings set = { .offer_prot = MPROTO_POSTFIX_PROT,
	                        .timeout_ms = o->timeout * 1000, .quick_ack = o->quick_ack };
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
	return r->code != SMFIR_CONTINUE || mproto_helo(c, "client.example", r);
}

/* MAIL, RCPT, DATA with Postfix's default macros for each ({auth_*} only
 * for an authenticated client). False: the connection failed; otherwise
 * r is the milter's word on the envelope. */
static bool ml_envelope(mproto_conn *c, const ml_options *o, const char *qid, mproto_reply *r)
{
	const char *mail[] = { "i", qid, "{mail_addr}", "alice@example.com",
	                       "{auth_type}", "PLAIN", "{auth_authen}", o->user };
	static const char *const rcpt[] = { "{rcpt_addr}", "bob@example.net" };
	const char *data[] = { "i", qid };

	if (!mproto_mail(c, mail, o->kind == ML_AUTH ? 8 : 4, "alice@example.com", r))
		return false;
	if (r->code != SMFIR_CONTINUE)
		return true;
	if (!mproto_rcpt(c, rcpt, 2, "bob@example.net", r))
		return false;
	return r->code != SMFIR_CONTINUE || mproto_data(c, data, 2, r);
}

/* One packet per header field, then end of headers. */
static bool ml_headers(mproto_conn *c, const ml_message *m, const char *qid, mproto_reply *r)
{
	*r = (mproto_reply){ SMFIR_CONTINUE, NULL };
	for (size_t i = 0; r->code == SMFIR_CONTINUE && i < m->count; i++)
		if (!mproto_header(c, m->fields[i].name, m->fields[i].value, r))
			return false;
	const char *eoh[] = { "i", qid };
	return r->code != SMFIR_CONTINUE || mproto_eoh(c, eoh, 2, r);
}

/* CHGHEADER: index is 1-based among the fields of that name; an empty
 * value deletes the field. */
static void ml_result_change(ml_result *r, uint32_t index, const char *name, const char *value)
{
	uint32_t seen = 0;
	for (size_t i = 0; i < r->count; i++) {
		if (strcasecmp(r->fields[i].name, name) != 0 || ++seen < (index ? index : 1))
			continue;
		free(r->fields[i].value);
		if (*value == '\0') {
			free(r->fields[i].name);
			memmove(r->fields + i, r->fields + i + 1, (r->count - i - 1) * sizeof(*r->fields));
			r->count--;
		} else {
			r->fields[i].value = ml_strndup(value, strlen(value));
		}
		return;
	}
}

/* Records one header modification; applies it when dumping. A value
 * without SMFIP_HDR_LEADSPC gets the space the MTA puts after the colon. */
static void ml_result_mod(ml_result *r, const mproto_conn *c, const mproto_mod *mod)
{
	if (mod->cmd != SMFIR_CHGHEADER) {
		ml_buf_str(&r->added, mod->name);
		ml_buf_str(&r->added, mod->value);
	}
	if (!r->apply)
		return;
	char *v = mproto_mod_value(c, mod->value);
	if (v == NULL)
		ml_oom();
	if (mod->cmd == SMFIR_CHGHEADER) {
		ml_result_change(r, mod->index, mod->name, v);
		free(v);
	} else {
		ml_fields_insert(&r->fields, &r->count,
		                 mod->cmd == SMFIR_ADDHEADER ? r->count : mod->index,
		                 ml_strndup(mod->name, strlen(mod->name)), v);
	}
}

/* End of message: reads modifications up to the final reply. */
static bool ml_eom(mproto_conn *c, const char *qid, ml_result *r)
{
	const char *eod[] = { "i", qid };
	if (!mproto_eom(c, eod, 2))
		return false;
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
			ml_result_mod(r, c, &mod);
		/* quarantine, envelope and body changes: read, ignored */
	}
}

/* Runs one message over an open connection. False: the connection is no
 * longer usable. r->final says what the milter decided. */
static bool ml_message_run(mproto_conn *c, const ml_options *o, const ml_message *m,
                           const char *qid, ml_result *r)
{
	mproto_reply reply;
	if (!ml_envelope(c, o, qid, &reply))
		return false;
	if (reply.code == SMFIR_CONTINUE && !ml_headers(c, m, qid, &reply))
		return false;
	if (reply.code == SMFIR_CONTINUE &&
	    !mproto_body(c, m->body.data, m->body.len, MILTER_CHUNK_SIZE, &reply))
		return false;
	if (reply.code == SMFIR_CONTINUE)
		return ml_eom(c, qid, r);
	r->final = reply.code;
	if (reply.code != SMFIR_ACCEPT)   /* the transaction ends early: reset the milter */
		return mproto_abort(c);
	return true;
}

/* ---- checks and dumps ------------------------------------------------------- */

/* --expect NAME[:TEXT]: some added field NAME with TEXT in its value. */
static bool ml_result_has(const ml_result *r, const char *expect)
{
	const char *colon = strchr(expect, ':');
	size_t nlen = colon != NULL ? (size_t)(colon - expect) : strlen(expect);
	for (size_t off = 0; off < r->added.len;) {
		const char *name = r->added.data + off;
		const char *value = name + strlen(name) + 1;
		off = (size_t)(value + strlen(value) + 1 - r->added.data);
		if (strlen(name) == nlen && strncasecmp(name, expect, nlen) == 0 &&
		    (colon == NULL || strstr(value, colon + 1) != NULL))
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

/* Writes the modified message as the MTA would pass it on (LF line ends,
 * a folded value's "\n" kept). */
static bool ml_result_dump(const ml_result *r, const ml_message *m, const char *dir,
                           unsigned long seq)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%06lu.eml", dir, seq);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return ml_error("%s: %s", path, strerror(errno));
	for (size_t i = 0; i < r->count; i++) {
		fprintf(f, "%s:", r->fields[i].name);
		for (const char *p = r->fields[i].value; *p; p++)
			if (*p != '\r')
				fputc(*p, f);
		fputc('\n', f);
	}
	fputc('\n', f);
	const char *p = m->body.data, *end = p + m->body.len;
	while (p < end) {    /* CRLF -> LF, a line at a time */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		fwrite(p, 1, n > 0 && p[n - 1] == '\r' ? n - 1 : n, f);
		if (nl != NULL)
			fputc('\n', f);
		p += n + (nl != NULL);
	}
	return fclose(f) == 0 || ml_error("%s: write error", path);
}

static void ml_result_init(ml_result *r, const ml_message *m, bool apply)
{
	*r = (ml_result){ .apply = apply, .final = 0 };
	if (!apply)
		return;
	for (size_t i = 0; i < m->count; i++)
		ml_fields_insert(&r->fields, &r->count, r->count,
		                 ml_strndup(m->fields[i].name, strlen(m->fields[i].name)),
		                 ml_strndup(m->fields[i].value, strlen(m->fields[i].value)));
}

static void ml_result_free(ml_result *r)
{
	for (size_t i = 0; i < r->count; i++) {
		free(r->fields[i].name);
		free(r->fields[i].value);
	}
	free(r->fields);
	free(r->added.data);
}

/* ---- the load: worker threads --------------------------------------------------- */

typedef struct {
	const ml_options *o;
	const ml_message *m;
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
	ml_result r;
	ml_result_init(&r, l->m, dump);
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
		alive = ml_message_run(c, l->o, l->m, qid, &r);
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
	ml_message m = { 0 };
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
	for (size_t i = 0; i < m.count; i++) {
		free(m.fields[i].name);
		free(m.fields[i].value);
	}
	free(m.fields);
	free(m.body.data);
	free(l.latency);
	free(threads);
	return atomic_load(&l.failures) == 0 ? 0 : 1;
}
