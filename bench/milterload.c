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
 * Writes, like Postfix's VSTREAM: packets are collected in a 4 KB buffer,
 * flushed when it fills and before every read (so a macro packet and its
 * command leave in one write). ACK behaviour (--ack):
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
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#define ML_WBUF 4096                  /* Postfix's VSTREAM buffer size */
#define ML_MAX_REPLY (1024 * 1024)    /* largest reply packet accepted */
#define ML_MAX_ERRORS_SHOWN 5
#define ML_MAX_EXPECT 4

/* What Postfix offers in option negotiation (milter8.c, protocol 6):
 * every step can be skipped or left without reply; no SMFIP_MDS_*. */
#define ML_OFFER_PROT (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR | \
	SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_RCPT_REJ | \
	SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | \
	SMFIP_HDR_LEADSPC)

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

static void ml_buf_u32(ml_buf *b, uint32_t v)
{
	uint32_t n = htonl(v);
	ml_buf_add(b, &n, 4);
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

/* ---- one connection to the milter -------------------------------------------- */

typedef struct {
	int fd;
	bool quick_ack;
	uint32_t proto;             /* what the milter negotiated */
	ml_buf out;                 /* unsent packets */
	char *in;                   /* the last packet read */
	size_t in_cap;
} ml_conn;

static int ml_socket_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* "PORT@HOST" or "PORT@[IP]" (inet: and inet6:). */
static int ml_socket_inet(const char *spec, int family)
{
	char port[16], host[256];
	const char *at = strchr(spec, '@');
	size_t plen = at != NULL ? (size_t)(at - spec) : strlen(spec);
	const char *h = at != NULL ? at + 1 : (family == AF_INET6 ? "::1" : "127.0.0.1");
	size_t hlen = strlen(h);
	if (hlen > 1 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (plen == 0 || plen >= sizeof(port) || hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(port, spec, plen);
	port[plen] = '\0';
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int ml_socket_open(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return ml_socket_unix(spec + 5);
	if (strncmp(spec, "local:", 6) == 0)
		return ml_socket_unix(spec + 6);
	if (strncmp(spec, "inet:", 5) == 0)
		return ml_socket_inet(spec + 5, AF_INET);
	if (strncmp(spec, "inet6:", 6) == 0)
		return ml_socket_inet(spec + 6, AF_INET6);
	if (spec[0] == '/')
		return ml_socket_unix(spec);
	return -1;
}

static void ml_conn_timeouts(int fd, unsigned long secs)
{
	struct timeval tv = { .tv_sec = (time_t)secs };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Sends the pending packets, then DATA (not copied) if given: one writev
 * per round, as a buffered stream writing a large item does. */
static bool ml_conn_flush(ml_conn *c, const char *data, size_t len)
{
	struct iovec iov[2] = { { c->out.data, c->out.len }, { (void *)data, len } };
	int n = 2;
	struct iovec *v = iov;
	while (n > 0) {
		ssize_t w = writev(c->fd, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ml_error("write: %s", w < 0 ? strerror(errno) : "nothing written");
		size_t done = (size_t)w;
		while (n > 0 && done >= v->iov_len) {
			done -= v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + done;
			v->iov_len -= done;
		}
	}
	c->out.len = 0;
	return true;
}

/* Queues one packet: 32-bit length (command byte included), command, data.
 * Large data goes out directly behind the buffered bytes. */
static bool ml_conn_send(ml_conn *c, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)(len + 1));
	ml_buf_add(&c->out, &n, 4);
	ml_buf_add(&c->out, &cmd, 1);
	if (c->out.len + len > ML_WBUF)
		return ml_conn_flush(c, data, len);
	ml_buf_add(&c->out, data, len);
	return true;
}

static bool ml_conn_read_all(ml_conn *c, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t r = read(c->fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return ml_error("read: %s", r < 0 ? strerror(errno) : "connection closed");
		p += r;
		len -= (size_t)r;
	}
	if (c->quick_ack) {
		int one = 1;   /* Linux drops out of quick-ACK mode; re-arm it */
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	return true;
}

/* Reads one reply packet into c->in (NUL-terminated); flushes first. */
static bool ml_conn_recv(ml_conn *c, char *cmd, size_t *len)
{
	if (c->out.len > 0 && !ml_conn_flush(c, NULL, 0))
		return false;
	uint32_t n;
	if (!ml_conn_read_all(c, &n, 4))
		return false;
	size_t plen = ntohl(n);
	if (plen < 1 || plen > ML_MAX_REPLY)
		return ml_error("bad reply packet length %zu", plen);
	if (plen + 1 > c->in_cap) {
		char *p = realloc(c->in, plen + 1);
		if (p == NULL)
			ml_oom();
		c->in = p;
		c->in_cap = plen + 1;
	}
	if (!ml_conn_read_all(c, c->in, plen))
		return false;
	*cmd = c->in[0];
	memmove(c->in, c->in + 1, plen - 1);
	c->in[plen - 1] = '\0';
	*len = plen - 1;
	return true;
}

/* Option negotiation as Postfix does it: version 6, every action, the
 * protocol mask above; the milter answers with what it wants. */
static bool ml_conn_negotiate(ml_conn *c)
{
	ml_buf b = { 0 };
	ml_buf_u32(&b, SMFI_PROT_VERSION);
	ml_buf_u32(&b, SMFI_CURR_ACTS);
	ml_buf_u32(&b, ML_OFFER_PROT);
	bool ok = ml_conn_send(c, SMFIC_OPTNEG, b.data, b.len);
	free(b.data);
	char cmd;
	size_t len;
	if (!ok || !ml_conn_recv(c, &cmd, &len))
		return false;
	if (cmd != SMFIC_OPTNEG || len < MILTER_OPTLEN)
		return ml_error("bad negotiation reply '%c' (%zu bytes)", cmd, len);
	uint32_t v[3];
	memcpy(v, c->in, sizeof(v));
	if (ntohl(v[0]) < 2 || ntohl(v[0]) > SMFI_PROT_VERSION)
		return ml_error("milter protocol version %u", (unsigned)ntohl(v[0]));
	c->proto = ntohl(v[2]);
	if ((c->proto & ~(uint32_t)ML_OFFER_PROT) != 0)
		return ml_error("milter asks for protocol bits 0x%x not offered",
		                (unsigned)(c->proto & ~(uint32_t)ML_OFFER_PROT));
	return true;
}

static bool ml_conn_open(ml_conn *c, const ml_options *o)
{
	c->fd = ml_socket_open(o->socket);
	if (c->fd < 0)
		return ml_error("cannot connect to %s: %s", o->socket, strerror(errno));
	ml_conn_timeouts(c->fd, o->timeout);
	c->quick_ack = o->quick_ack;
	if (o->quick_ack) {
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->out.len = 0;
	return ml_conn_negotiate(c);
}

static void ml_conn_close(ml_conn *c, bool quit)
{
	if (c->fd < 0)
		return;
	if (quit && ml_conn_send(c, SMFIC_QUIT, NULL, 0))
		(void)ml_conn_flush(c, NULL, 0);
	close(c->fd);
	c->fd = -1;
	c->out.len = 0;
}

/* ---- one message through the protocol ------------------------------------------ */

/* The modifications received for one message. */
typedef struct {
	ml_field *fields;     /* the message's header after the changes */
	size_t count;
	bool apply;           /* keep fields (for --dump) */
	ml_buf added;         /* "name\0value\0" of every inserted/added field */
	char final;           /* the final reply */
} ml_result;

static void ml_macros(ml_conn *c, char stage, const char *const *pairs, size_t n)
{
	ml_buf b = { 0 };
	ml_buf_add(&b, &stage, 1);
	for (size_t i = 0; i < n; i++)
		ml_buf_str(&b, pairs[i]);
	ml_conn_send(c, SMFIC_MACRO, b.data, b.len);
	free(b.data);
}

/* Sends one step unless the milter declined it; waits for its reply unless
 * the milter said it sends none. *reply is SMFIR_CONTINUE then. */
static bool ml_step(ml_conn *c, char cmd, const void *data, size_t len,
                    uint32_t skip, uint32_t noreply, char *reply)
{
	*reply = SMFIR_CONTINUE;
	if ((c->proto & skip) != 0)
		return true;
	if (!ml_conn_send(c, cmd, data, len))
		return false;
	if ((c->proto & noreply) != 0)
		return true;
	size_t rlen;
	do {
		if (!ml_conn_recv(c, reply, &rlen))
			return false;
	} while (*reply == SMFIR_PROGRESS);
	return true;
}

static const char *ml_client_addr(const ml_options *o)
{
	return o->kind == ML_INTERNAL ? "127.0.0.1" : "198.51.100.7";
}

/* Connect and HELO with Postfix's default milter_connect_macros. */
static bool ml_session_start(ml_conn *c, const ml_options *o, char *reply)
{
	static const char *const macros[] = {
		"j", "mx.example.net", "{daemon_name}", "mx.example.net",
		"{daemon_addr}", "127.0.0.1", "v", "Postfix 3.7.11",
		"_", "client.example [127.0.0.1]",
	};
	if ((c->proto & SMFIP_NOCONNECT) == 0)
		ml_macros(c, SMFIC_CONNECT, macros, sizeof(macros) / sizeof(*macros));
	const char *addr = ml_client_addr(o);
	ml_buf b = { 0 };
	char hostname[64];
	snprintf(hostname, sizeof(hostname), "[%s]", addr);
	ml_buf_str(&b, hostname);
	ml_buf_add(&b, &(char){ SMFIA_INET }, 1);
	uint16_t port = htons(40000);
	ml_buf_add(&b, &port, 2);
	ml_buf_str(&b, addr);
	bool ok = ml_step(c, SMFIC_CONNECT, b.data, b.len, SMFIP_NOCONNECT, SMFIP_NR_CONN, reply);
	free(b.data);
	if (ok && *reply == SMFIR_CONTINUE)
		ok = ml_step(c, SMFIC_HELO, "client.example", 15, SMFIP_NOHELO, SMFIP_NR_HELO, reply);
	return ok;
}

/* MAIL, RCPT, DATA with Postfix's default macros for each ({auth_*} only
 * for an authenticated client). False: the connection failed; otherwise
 * *reply is the milter's word on the envelope. */
static bool ml_envelope(ml_conn *c, const ml_options *o, const char *qid, char *reply)
{
	const char *mail[] = { "i", qid, "{mail_addr}", "alice@example.com",
	                       "{auth_type}", "PLAIN", "{auth_authen}", o->user };
	static const char *const rcpt[] = { "{rcpt_addr}", "bob@example.net" };
	static const char from[] = "<alice@example.com>", to[] = "<bob@example.net>";

	if ((c->proto & SMFIP_NOMAIL) == 0)
		ml_macros(c, SMFIC_MAIL, mail, o->kind == ML_AUTH ? 8 : 4);
	if (!ml_step(c, SMFIC_MAIL, from, sizeof(from), SMFIP_NOMAIL, SMFIP_NR_MAIL, reply))
		return false;
	if (*reply != SMFIR_CONTINUE)
		return true;
	if ((c->proto & SMFIP_NORCPT) == 0)
		ml_macros(c, SMFIC_RCPT, rcpt, 2);
	if (!ml_step(c, SMFIC_RCPT, to, sizeof(to), SMFIP_NORCPT, SMFIP_NR_RCPT, reply))
		return false;
	if (*reply != SMFIR_CONTINUE)
		return true;
	const char *data[] = { "i", qid };
	if ((c->proto & SMFIP_NODATA) == 0)
		ml_macros(c, SMFIC_DATA, data, 2);
	return ml_step(c, SMFIC_DATA, NULL, 0, SMFIP_NODATA, SMFIP_NR_DATA, reply);
}

/* One packet per header field; without SMFIP_HDR_LEADSPC the space after
 * the colon is dropped, as Postfix does. */
static bool ml_headers(ml_conn *c, const ml_message *m, const char *qid, char *reply)
{
	bool leadspc = (c->proto & SMFIP_HDR_LEADSPC) != 0;
	ml_buf b = { 0 };
	bool ok = true;
	*reply = SMFIR_CONTINUE;
	for (size_t i = 0; ok && *reply == SMFIR_CONTINUE && i < m->count; i++) {
		const char *v = m->fields[i].value;
		if (!leadspc && *v == ' ')
			v++;
		b.len = 0;
		ml_buf_str(&b, m->fields[i].name);
		ml_buf_str(&b, v);
		ok = ml_step(c, SMFIC_HEADER, b.data, b.len, SMFIP_NOHDRS, SMFIP_NR_HDR, reply);
	}
	free(b.data);
	const char *eoh[] = { "i", qid };
	if (ok && *reply == SMFIR_CONTINUE && (c->proto & SMFIP_NOEOH) == 0)
		ml_macros(c, SMFIC_EOH, eoh, 2);
	if (ok && *reply == SMFIR_CONTINUE)
		ok = ml_step(c, SMFIC_EOH, NULL, 0, SMFIP_NOEOH, SMFIP_NR_EOH, reply);
	return ok;
}

static bool ml_body(ml_conn *c, const ml_message *m, char *reply)
{
	*reply = SMFIR_CONTINUE;
	for (size_t off = 0; off < m->body.len; off += MILTER_CHUNK_SIZE) {
		size_t n = m->body.len - off < MILTER_CHUNK_SIZE ? m->body.len - off : MILTER_CHUNK_SIZE;
		if (!ml_step(c, SMFIC_BODY, m->body.data + off, n, SMFIP_NOBODY, SMFIP_NR_BODY, reply))
			return false;
		if (*reply == SMFIR_SKIP) {   /* the milter has seen enough */
			*reply = SMFIR_CONTINUE;
			break;
		}
		if (*reply != SMFIR_CONTINUE)
			break;
	}
	return true;
}

/* "index(4) name\0 value\0" or "name\0 value\0": checks both strings. */
static bool ml_mod_fields(const char *data, size_t len, bool indexed, uint32_t *index,
                          const char **name, const char **value)
{
	size_t off = 0;
	if (indexed) {
		if (len < 4)
			return false;
		uint32_t n;
		memcpy(&n, data, 4);
		*index = ntohl(n);
		off = 4;
	}
	const char *nul = memchr(data + off, '\0', len - off);
	if (nul == NULL || nul == data + off || memchr(nul + 1, '\0', len - (size_t)(nul + 1 - data)) == NULL)
		return false;
	*name = data + off;
	*value = nul + 1;
	return true;
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
static bool ml_result_mod(ml_result *r, const ml_conn *c, char cmd, const char *data, size_t len)
{
	uint32_t index = 0;
	const char *name, *value;
	if (!ml_mod_fields(data, len, cmd != SMFIR_ADDHEADER, &index, &name, &value))
		return ml_error("malformed modification '%c'", cmd);
	if (cmd != SMFIR_CHGHEADER) {
		ml_buf_str(&r->added, name);
		ml_buf_str(&r->added, value);
	}
	if (!r->apply)
		return true;
	size_t vlen = strlen(value);
	bool space = (c->proto & SMFIP_HDR_LEADSPC) == 0;
	char *v = malloc(vlen + 2);
	if (v == NULL)
		ml_oom();
	snprintf(v, vlen + 2, "%s%s", space ? " " : "", value);
	if (cmd == SMFIR_CHGHEADER) {
		ml_result_change(r, index, name, v);
		free(v);
	} else {
		ml_fields_insert(&r->fields, &r->count, cmd == SMFIR_ADDHEADER ? r->count : index,
		                 ml_strndup(name, strlen(name)), v);
	}
	return true;
}

static bool ml_is_final(char cmd)
{
	return cmd == SMFIR_ACCEPT || cmd == SMFIR_CONTINUE || cmd == SMFIR_REJECT ||
	       cmd == SMFIR_TEMPFAIL || cmd == SMFIR_DISCARD || cmd == SMFIR_REPLYCODE ||
	       cmd == SMFIR_SHUTDOWN || cmd == SMFIR_CONN_FAIL;
}

/* End of message: reads modifications up to the final reply. */
static bool ml_eom(ml_conn *c, const char *qid, ml_result *r)
{
	const char *eod[] = { "i", qid };
	ml_macros(c, SMFIC_BODYEOB, eod, 2);
	if (!ml_conn_send(c, SMFIC_BODYEOB, NULL, 0))
		return false;
	for (;;) {
		char cmd;
		size_t len;
		if (!ml_conn_recv(c, &cmd, &len))
			return false;
		if (ml_is_final(cmd)) {
			r->final = cmd;
			return true;
		}
		if ((cmd == SMFIR_INSHEADER || cmd == SMFIR_ADDHEADER || cmd == SMFIR_CHGHEADER) &&
		    !ml_result_mod(r, c, cmd, c->in, len))
			return false;
		/* progress, quarantine, envelope and body changes: read, ignored */
	}
}

/* Runs one message over an open connection. False: the connection is no
 * longer usable. r->final says what the milter decided. */
static bool ml_message_run(ml_conn *c, const ml_options *o, const ml_message *m,
                           const char *qid, ml_result *r)
{
	char reply;
	if (!ml_envelope(c, o, qid, &reply))
		return false;
	if (reply == SMFIR_CONTINUE && !ml_headers(c, m, qid, &reply))
		return false;
	if (reply == SMFIR_CONTINUE && !ml_body(c, m, &reply))
		return false;
	if (reply == SMFIR_CONTINUE)
		return ml_eom(c, qid, r);
	r->final = reply;
	if (reply != SMFIR_ACCEPT)   /* the transaction ends early: reset the milter */
		return ml_conn_send(c, SMFIC_ABORT, NULL, 0);
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
static bool ml_worker_message(ml_load *l, ml_conn *c, unsigned long seq, double *done)
{
	char qid[32];
	snprintf(qid, sizeof(qid), "4B%08lX", seq);
	bool dump = l->o->dump_dir != NULL && seq < l->o->dump_max;
	ml_result r;
	ml_result_init(&r, l->m, dump);
	bool alive = true, ok = false;
	char reply = SMFIR_CONTINUE;
	if (c->fd < 0) {
		atomic_fetch_add(&l->connections, 1);
		alive = ml_conn_open(c, l->o) && ml_session_start(c, l->o, &reply);
	}
	if (alive && reply == SMFIR_ACCEPT) {
		r.final = SMFIR_ACCEPT;    /* the milter wants nothing of this session */
		ok = ml_result_check(&r, l->o, seq);
	} else if (alive && reply != SMFIR_CONTINUE) {
		alive = ml_error("message %lu: connect/helo reply '%c'", seq, reply);
	} else if (alive) {
		alive = ml_message_run(c, l->o, l->m, qid, &r);
		ok = alive && ml_result_check(&r, l->o, seq);
	}
	*done = ml_now();
	if (ok && dump)
		ok = ml_result_dump(&r, l->m, l->o->dump_dir, seq);
	ml_result_free(&r);
	if (!alive)
		ml_conn_close(c, false);
	return ok;
}

static void *ml_worker(void *arg)
{
	ml_load *l = arg;
	ml_conn c = { .fd = -1 };
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
			ml_conn_close(&c, true);
			on_conn = 0;
		} else if (c.fd < 0) {
			on_conn = 0;
		}
	}
	ml_conn_close(&c, true);
	free(c.out.data);
	free(c.in);
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
