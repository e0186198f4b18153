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
 *   -j NAME   the MTA's name, macro j (default mx.example.net)
 *   -D NAME   the receiving daemon's name, macro {daemon_name} (default smtpd)
 *   -i QID    queue id, macro i (default 4ABC123DEF; repeated messages
 *             get a numeric suffix)
 *   -c N      send the message N times over one connection
 *   -C BYTES  body chunk size (default and maximum 65535)
 *   -t SECS   timeout for every reply (default 30)
 *   -w MS     wait MS milliseconds before the end of each message (to
 *             have a message in flight while a test signals the milter)
 *   -v        log every packet on stderr
 * For each message, a line "result: ACTION[ TEXT]" goes to stderr: accept,
 * continue (delivered with the changes), reject, tempfail, discard,
 * replycode 550 5.7.1 ..., quarantine REASON (then the final action).
 * Exit status: 0 when the conversation completed, 1 on any error (no
 * connection, timeout, protocol violation), 2 on a usage error.
 *
 * Protocol: milter version 6 (libmilter/mfdef.h). Each command is one
 * packet: a 32-bit big-endian length (command byte included), the command
 * byte, the data. The client offers every action and protocol option, then
 * honours what the milter asks for: steps it does not want are not sent
 * (SMFIP_NO*), steps without a reply are not waited for (SMFIP_NR_*), and
 * header values keep their leading space only with SMFIP_HDR_LEADSPC.
 * Modifications are applied in the order received, as Postfix applies them
 * (a deletion renumbers the fields after it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#define MC_MAX_PACKET (1024 * 1024 + 16)    /* SMFIP_MDS_1M and a margin */
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

static void *mc_alloc(size_t n)
{
	void *p = calloc(1, n > 0 ? n : 1);
	if (p == NULL)
		mc_die("out of memory");
	return p;
}

static void *mc_grow(void *p, size_t n)
{
	p = realloc(p, n > 0 ? n : 1);
	if (p == NULL)
		mc_die("out of memory");
	return p;
}

static char *mc_strndup(const char *s, size_t n)
{
	char *d = mc_alloc(n + 1);
	memcpy(d, s, n);
	return d;
}

/* A growable byte string. */
typedef struct {
	char *data;
	size_t len, cap;
} mc_buf;

static void mc_buf_add(mc_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->data = mc_grow(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static void mc_buf_str(mc_buf *b, const char *s)
{
	mc_buf_add(b, s, strlen(s) + 1);   /* milter strings carry their NUL */
}

static void mc_buf_u32(mc_buf *b, uint32_t v)
{
	uint32_t n = htonl(v);
	mc_buf_add(b, &n, 4);
}

/* ---- the message ---------------------------------------------------------- */

typedef struct {
	char *name;
	char *value;    /* raw text after the colon, folding as "\n" */
} mc_header;

typedef struct {
	mc_header *hdrs;
	size_t count;
	mc_buf body;    /* CRLF line ends, as the milter protocol sends it */
} mc_message;

static void mc_msg_add_header(mc_message *m, size_t pos, char *name, char *value)
{
	m->hdrs = mc_grow(m->hdrs, (m->count + 1) * sizeof(*m->hdrs));
	if (pos > m->count)
		pos = m->count;
	memmove(m->hdrs + pos + 1, m->hdrs + pos, (m->count - pos) * sizeof(*m->hdrs));
	m->hdrs[pos].name = name;
	m->hdrs[pos].value = value;
	m->count++;
}

static void mc_msg_remove_header(mc_message *m, size_t pos)
{
	free(m->hdrs[pos].name);
	free(m->hdrs[pos].value);
	memmove(m->hdrs + pos, m->hdrs + pos + 1, (m->count - pos - 1) * sizeof(*m->hdrs));
	m->count--;
}

/* Reads the next line (without its LF or CRLF); false at the end. */
static bool mc_next_line(const char *text, size_t len, size_t *pos,
                         const char **line, size_t *linelen)
{
	if (*pos >= len)
		return false;
	const char *start = text + *pos, *nl = memchr(start, '\n', len - *pos);
	size_t n = nl != NULL ? (size_t)(nl - start) : len - *pos;
	*pos += n + (nl != NULL ? 1 : 0);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	*line = start;
	*linelen = n;
	return true;
}

static void mc_msg_parse_header(mc_message *m, const char *line, size_t len)
{
	if (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
		if (m->count == 0)
			mc_die("message starts with a continuation line");
		mc_header *h = &m->hdrs[m->count - 1];
		size_t old = strlen(h->value);
		h->value = mc_grow(h->value, old + len + 2);
		h->value[old] = '\n';
		memcpy(h->value + old + 1, line, len);
		h->value[old + 1 + len] = '\0';
		return;
	}
	const char *colon = memchr(line, ':', len);
	if (colon == NULL)
		mc_die("header line without a colon: %.*s", (int)len, line);
	size_t nlen = (size_t)(colon - line);
	while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
		nlen--;
	mc_msg_add_header(m, m->count, mc_strndup(line, nlen),
	                  mc_strndup(colon + 1, len - (size_t)(colon + 1 - line)));
}

static void mc_msg_load(mc_message *m, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		mc_die("%s: %s", path, strerror(errno));
	mc_buf raw = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		mc_buf_add(&raw, chunk, n);
	fclose(f);
	size_t pos = 0, linelen;
	const char *line;
	bool in_body = false;
	while (mc_next_line(raw.data, raw.len, &pos, &line, &linelen)) {
		if (!in_body && linelen == 0) {
			in_body = true;
		} else if (!in_body) {
			mc_msg_parse_header(m, line, linelen);
		} else {
			mc_buf_add(&m->body, line, linelen);
			mc_buf_add(&m->body, "\r\n", 2);
		}
	}
	free(raw.data);
}

static void mc_msg_write(const mc_message *m, FILE *out)
{
	for (size_t i = 0; i < m->count; i++)
		fprintf(out, "%s:%s\n", m->hdrs[i].name, m->hdrs[i].value);
	fputc('\n', out);
	size_t pos = 0, linelen;
	const char *line;
	while (mc_next_line(m->body.data, m->body.len, &pos, &line, &linelen))
		fprintf(out, "%.*s\n", (int)linelen, line);
}

static void mc_msg_free(mc_message *m)
{
	while (m->count > 0)
		mc_msg_remove_header(m, m->count - 1);
	free(m->hdrs);
	free(m->body.data);
	memset(m, 0, sizeof(*m));
}

static void mc_msg_copy(mc_message *dst, const mc_message *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->count; i++)
		mc_msg_add_header(dst, i, mc_strndup(src->hdrs[i].name, strlen(src->hdrs[i].name)),
		                  mc_strndup(src->hdrs[i].value, strlen(src->hdrs[i].value)));
	if (src->body.len > 0)
		mc_buf_add(&dst->body, src->body.data, src->body.len);
}

/* ---- options -------------------------------------------------------------- */

typedef struct {
	const char *socket, *message, *output;
	const char *client_addr, *client_name, *helo, *from, *auth, *j, *daemon, *qid;
	const char *rcpts[MC_MAX_RCPTS];
	size_t nrcpts;
	unsigned long count;
	size_t chunk;
	int timeout_ms;
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
		case 't': o->timeout_ms = (int)mc_number(optarg, 1, 3600) * 1000; break;
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

/* ---- the connection --------------------------------------------------------- */

static int mc_connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		mc_die("socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		mc_die("connect %s: %s", path, strerror(errno));
	return fd;
}

/* "PORT@HOST" with HOST a name, an address or "[address]". */
static int mc_connect_inet(const char *spec, int family)
{
	const char *at = strchr(spec, '@');
	char *port = mc_strndup(spec, at != NULL ? (size_t)(at - spec) : strlen(spec));
	char *host = mc_strndup(at != NULL ? at + 1 : "localhost", strlen(at != NULL ? at + 1 : "localhost"));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		mc_die("%s: %s", spec, gai_strerror(rc));
	int fd = -1;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		mc_die("connect %s: %s", spec, strerror(errno));
	free(port);
	free(host);
	return fd;
}

static int mc_connect(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		return mc_connect_unix(strchr(spec, ':') + 1);
	if (spec[0] == '/')
		return mc_connect_unix(spec);
	if (strncmp(spec, "inet:", 5) == 0)
		return mc_connect_inet(spec + 5, AF_INET);
	if (strncmp(spec, "inet6:", 6) == 0)
		return mc_connect_inet(spec + 6, AF_INET6);
	mc_die("unknown socket form: %s", spec);
}

typedef struct {
	int fd;
	int timeout_ms;
	uint32_t actions;   /* what the milter may do */
	uint32_t proto;     /* steps to skip, replies not sent, ... */
	mc_buf out;         /* packets not yet written */
} mc_session;

/* Postfix's stream buffer size: a full buffer is written at once. */
#define MC_OUT_BUFFER 4096

static void mc_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			mc_die("write to milter: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static void mc_flush(mc_session *s)
{
	if (s->out.len > 0)
		mc_write_all(s->fd, s->out.data, s->out.len);
	s->out.len = 0;
}

/*
 * Queues one packet. As Postfix does, packets are buffered and written
 * when a reply is needed (or the buffer is full): a step's macros, the
 * step, and headers that get no reply leave in one write.
 */
static void mc_send(mc_session *s, char cmd, const void *data, size_t len)
{
	mc_buf_u32(&s->out, (uint32_t)len + 1);
	mc_buf_add(&s->out, &cmd, 1);
	if (len > 0)
		mc_buf_add(&s->out, data, len);
	if (mc_verbose)
		fprintf(stderr, "miltclient: > '%c' %zu bytes\n", cmd, len);
	if (s->out.len >= MC_OUT_BUFFER)
		mc_flush(s);
}

static void mc_read_all(mc_session *s, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int rc = poll(&pfd, 1, s->timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			mc_die("timeout waiting for the milter");
		ssize_t n = read(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			mc_die("read from milter: %s", n == 0 ? "connection closed" : strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Reads one packet; *data is malloc'd and NUL-terminated (len excludes it). */
static char mc_recv(mc_session *s, char **data, size_t *len)
{
	mc_flush(s);
	uint32_t nlen;
	mc_read_all(s, &nlen, 4);
	size_t plen = ntohl(nlen);
	if (plen < 1 || plen > MC_MAX_PACKET)
		mc_die("bad packet length %zu from the milter", plen);
	char cmd;
	mc_read_all(s, &cmd, 1);
	*len = plen - 1;
	*data = mc_alloc(*len + 1);
	mc_read_all(s, *data, *len);
	if (mc_verbose)
		fprintf(stderr, "miltclient: < '%c' %zu bytes\n", cmd, *len);
	return cmd;
}

/* ---- negotiation ------------------------------------------------------------- */

static void mc_negotiate(mc_session *s)
{
	mc_buf b = {0};
	mc_buf_u32(&b, SMFI_PROT_VERSION);
	mc_buf_u32(&b, SMFI_CURR_ACTS);
	mc_buf_u32(&b, SMFI_CURR_PROT);
	mc_send(s, SMFIC_OPTNEG, b.data, b.len);
	free(b.data);
	char *data;
	size_t len;
	char cmd = mc_recv(s, &data, &len);
	if (cmd != SMFIC_OPTNEG || len < MILTER_OPTLEN)
		mc_die("bad negotiation reply '%c' (%zu bytes)", cmd, len);
	uint32_t v[3];
	memcpy(v, data, sizeof(v));
	free(data);   /* macro lists after the three words: we send ours anyway */
	if (ntohl(v[0]) < 2 || ntohl(v[0]) > SMFI_PROT_VERSION)
		mc_die("milter speaks protocol version %u", ntohl(v[0]));
	s->actions = ntohl(v[1]);
	s->proto = ntohl(v[2]);
	if ((s->actions & ~(uint32_t)SMFI_CURR_ACTS) != 0 || (s->proto & ~(uint32_t)SMFI_CURR_PROT) != 0)
		mc_die("milter asks for options we did not offer");
}

/* ---- one step ------------------------------------------------------------------ */

/* Sends the macros for the command that follows: pairs "name", "value". */
static void mc_send_macros(mc_session *s, char stage, const char *const *pairs, size_t n)
{
	mc_buf b = {0};
	mc_buf_add(&b, &stage, 1);
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (pairs[i + 1] == NULL)
			continue;
		mc_buf_str(&b, pairs[i]);
		mc_buf_str(&b, pairs[i + 1]);
	}
	mc_send(s, SMFIC_MACRO, b.data, b.len);
	free(b.data);
}

/* The reply to a step: 'c' continue, 'a' accept, ... or 0 when none. */
typedef struct {
	char code;
	char *text;     /* SMFIR_REPLYCODE text, else NULL */
} mc_reply;

static mc_reply mc_read_reply(mc_session *s)
{
	for (;;) {
		char *data;
		size_t len;
		char cmd = mc_recv(s, &data, &len);
		if (cmd == SMFIR_PROGRESS) {
			free(data);
			continue;
		}
		if (strchr("cartdsy", cmd) == NULL)
			mc_die("unexpected reply '%c' outside end of message", cmd);
		mc_reply r = { cmd, NULL };
		if (cmd == SMFIR_REPLYCODE)
			r.text = data;
		else
			free(data);
		return r;
	}
}

/* Sends a step unless the milter skipped it; waits for the reply unless the
 * milter said it sends none. */
static mc_reply mc_step(mc_session *s, char cmd, const void *data, size_t len,
                        uint32_t no_flag, uint32_t nr_flag)
{
	mc_reply none = { SMFIR_CONTINUE, NULL };
	if (no_flag != 0 && (s->proto & no_flag) != 0)
		return none;
	mc_send(s, cmd, data, len);
	if (nr_flag != 0 && (s->proto & nr_flag) != 0)
		return none;
	return mc_read_reply(s);
}

/* ---- the session stages ------------------------------------------------------- */

static mc_reply mc_connect_stage(mc_session *s, const mc_options *o)
{
	char name[300];
	snprintf(name, sizeof(name), "[%s]", o->client_addr);
	const char *host = o->client_name != NULL ? o->client_name : name;
	const char *macros[] = { "j", o->j, "{daemon_name}", o->daemon, "v", "Postfix 3.7",
	                         "{client_addr}", o->client_addr, "{client_name}", host,
	                         "{client_port}", "40000", "_", host };
	if ((s->proto & SMFIP_NOCONNECT) == 0)
		mc_send_macros(s, SMFIC_CONNECT, macros, sizeof(macros) / sizeof(*macros));
	mc_buf b = {0};
	mc_buf_str(&b, host);
	char family = strchr(o->client_addr, ':') != NULL ? SMFIA_INET6 : SMFIA_INET;
	mc_buf_add(&b, &family, 1);
	uint16_t port = htons(40000);
	mc_buf_add(&b, &port, 2);
	mc_buf_str(&b, o->client_addr);
	mc_reply r = mc_step(s, SMFIC_CONNECT, b.data, b.len, SMFIP_NOCONNECT, SMFIP_NR_CONN);
	free(b.data);
	if (r.code != SMFIR_CONTINUE)
		return r;
	return mc_step(s, SMFIC_HELO, o->helo, strlen(o->helo) + 1, SMFIP_NOHELO, SMFIP_NR_HELO);
}

static mc_reply mc_envelope(mc_session *s, const mc_options *o, const char *qid)
{
	const char *macros[] = { "i", qid, "{auth_type}", o->auth != NULL ? "PLAIN" : NULL,
	                         "{auth_authen}", o->auth, "{mail_addr}", o->from };
	if ((s->proto & SMFIP_NOMAIL) == 0)
		mc_send_macros(s, SMFIC_MAIL, macros, sizeof(macros) / sizeof(*macros));
	char arg[1100];
	snprintf(arg, sizeof(arg), "<%s>", o->from);
	mc_reply r = mc_step(s, SMFIC_MAIL, arg, strlen(arg) + 1, SMFIP_NOMAIL, SMFIP_NR_MAIL);
	for (size_t i = 0; i < o->nrcpts && r.code == SMFIR_CONTINUE; i++) {
		snprintf(arg, sizeof(arg), "<%s>", o->rcpts[i]);
		r = mc_step(s, SMFIC_RCPT, arg, strlen(arg) + 1, SMFIP_NORCPT, SMFIP_NR_RCPT);
	}
	if (r.code == SMFIR_CONTINUE)
		r = mc_step(s, SMFIC_DATA, NULL, 0, SMFIP_NODATA, SMFIP_NR_DATA);
	return r;
}

static mc_reply mc_headers(mc_session *s, const mc_message *m, const char *qid)
{
	mc_reply r = { SMFIR_CONTINUE, NULL };
	bool leadspc = (s->proto & SMFIP_HDR_LEADSPC) != 0;
	for (size_t i = 0; i < m->count && r.code == SMFIR_CONTINUE; i++) {
		const char *v = m->hdrs[i].value;
		/* Without HDR_LEADSPC the MTA drops the space after the colon. */
		if (!leadspc && (*v == ' ' || *v == '\t'))
			v++;
		mc_buf b = {0};
		mc_buf_str(&b, m->hdrs[i].name);
		mc_buf_str(&b, v);
		r = mc_step(s, SMFIC_HEADER, b.data, b.len, SMFIP_NOHDRS, SMFIP_NR_HDR);
		free(b.data);
	}
	const char *macros[] = { "i", qid };
	if (r.code == SMFIR_CONTINUE && (s->proto & SMFIP_NOEOH) == 0)
		mc_send_macros(s, SMFIC_EOH, macros, 2);
	if (r.code == SMFIR_CONTINUE)
		r = mc_step(s, SMFIC_EOH, NULL, 0, SMFIP_NOEOH, SMFIP_NR_EOH);
	return r;
}

static mc_reply mc_body(mc_session *s, const mc_message *m, size_t chunk)
{
	mc_reply r = { SMFIR_CONTINUE, NULL };
	for (size_t off = 0; off < m->body.len && r.code == SMFIR_CONTINUE; off += chunk) {
		size_t n = m->body.len - off < chunk ? m->body.len - off : chunk;
		r = mc_step(s, SMFIC_BODY, m->body.data + off, n, SMFIP_NOBODY, SMFIP_NR_BODY);
	}
	if (r.code == SMFIR_SKIP)
		r.code = SMFIR_CONTINUE;
	return r;
}

/* ---- end of message: modifications ---------------------------------------------- */

/* Splits "name\0value\0" after an optional 32-bit index. */
static void mc_mod_fields(const char *data, size_t len, bool indexed, uint32_t *index,
                          const char **name, const char **value)
{
	size_t off = 0;
	if (indexed) {
		if (len < 4)
			mc_die("short header modification");
		uint32_t n;
		memcpy(&n, data, 4);
		*index = ntohl(n);
		off = 4;
	}
	/* Both strings must end with their NUL inside the packet. */
	size_t rest = len - off;
	*name = data + off;
	size_t nlen = strnlen(*name, rest);
	if (nlen == rest)
		mc_die("malformed header modification");
	*value = *name + nlen + 1;
	rest -= nlen + 1;
	if (strnlen(*value, rest) == rest)
		mc_die("header modification value without its NUL");
}

static char *mc_mod_value(const mc_session *s, const char *value)
{
	/* With HDR_LEADSPC the milter's value is used verbatim; otherwise the
	 * MTA puts one space after the colon. */
	bool leadspc = (s->proto & SMFIP_HDR_LEADSPC) != 0;
	size_t n = strlen(value);
	char *v = mc_alloc(n + 2);
	snprintf(v, n + 2, "%s%s", leadspc ? "" : " ", value);
	return v;
}

/* SMFIR_CHGHEADER: index is 1-based among fields of that name; an empty
 * value deletes; past the last one, a non-empty value is added. */
static void mc_change_header(mc_session *s, mc_message *m, uint32_t index,
                             const char *name, const char *value)
{
	uint32_t seen = 0;
	for (size_t i = 0; i < m->count; i++) {
		if (strcasecmp(m->hdrs[i].name, name) != 0 || ++seen != index)
			continue;
		if (value[0] == '\0') {
			mc_msg_remove_header(m, i);
		} else {
			free(m->hdrs[i].value);
			m->hdrs[i].value = mc_mod_value(s, value);
		}
		return;
	}
	if (value[0] != '\0')
		mc_msg_add_header(m, m->count, mc_strndup(name, strlen(name)), mc_mod_value(s, value));
}

/* Applies one modification; false when cmd is not one. */
static bool mc_apply_mod(mc_session *s, mc_message *m, char cmd, const char *data,
                         size_t len, bool *body_replaced, char **quarantine)
{
	uint32_t index = 0;
	const char *name, *value;
	switch (cmd) {
	case SMFIR_INSHEADER:
		mc_mod_fields(data, len, true, &index, &name, &value);
		mc_msg_add_header(m, index, mc_strndup(name, strlen(name)), mc_mod_value(s, value));
		break;
	case SMFIR_ADDHEADER:
		mc_mod_fields(data, len, false, &index, &name, &value);
		mc_msg_add_header(m, m->count, mc_strndup(name, strlen(name)), mc_mod_value(s, value));
		break;
	case SMFIR_CHGHEADER:
		mc_mod_fields(data, len, true, &index, &name, &value);
		mc_change_header(s, m, index, name, value);
		break;
	case SMFIR_REPLBODY:
		if (!*body_replaced)
			m->body.len = 0;
		*body_replaced = true;
		mc_buf_add(&m->body, data, len);
		break;
	case SMFIR_QUARANTINE:
		free(*quarantine);
		*quarantine = mc_strndup(data, strnlen(data, len));
		break;
	case SMFIR_ADDRCPT: case SMFIR_DELRCPT: case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		if (mc_verbose)
			fprintf(stderr, "miltclient: envelope change '%c' %s\n", cmd, data);
		break;
	default:
		return false;
	}
	return true;
}

static mc_reply mc_eom(mc_session *s, mc_message *m, const char *qid, char **quarantine)
{
	const char *macros[] = { "i", qid };
	mc_send_macros(s, SMFIC_BODYEOB, macros, 2);
	mc_send(s, SMFIC_BODYEOB, NULL, 0);
	bool body_replaced = false;
	for (;;) {
		char *data;
		size_t len;
		char cmd = mc_recv(s, &data, &len);
		if (cmd == SMFIR_PROGRESS ||
		    mc_apply_mod(s, m, cmd, data, len, &body_replaced, quarantine)) {
			free(data);
			continue;
		}
		if (strchr("cartdy", cmd) == NULL)
			mc_die("unexpected reply '%c' at end of message", cmd);
		mc_reply r = { cmd, cmd == SMFIR_REPLYCODE ? data : NULL };
		if (r.text == NULL)
			free(data);
		return r;
	}
}

/* ---- driver ---------------------------------------------------------------------- */

static void mc_report(const mc_reply *r, const char *quarantine)
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

/* One message over an open session; returns the final reply. The message
 * is changed only when the milter let it through to the end. */
static mc_reply mc_one_message(mc_session *s, const mc_options *o, mc_message *m,
                               const char *qid, char **quarantine)
{
	mc_reply r = mc_envelope(s, o, qid);
	if (r.code == SMFIR_CONTINUE)
		r = mc_headers(s, m, qid);
	if (r.code == SMFIR_CONTINUE)
		r = mc_body(s, m, o->chunk);
	if (r.code == SMFIR_CONTINUE && o->wait_ms > 0) {
		mc_flush(s);
		struct timespec ts = { (time_t)(o->wait_ms / 1000), (long)(o->wait_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (r.code == SMFIR_CONTINUE)
		return mc_eom(s, m, qid, quarantine);
	/* Stopped early: the MTA tells the milter the message is over. */
	mc_send(s, SMFIC_ABORT, NULL, 0);
	return r;
}

int main(int argc, char **argv)
{
	mc_options o;
	mc_options_parse(&o, argc, argv);
	mc_message orig = {0};
	mc_msg_load(&orig, o.message);
	mc_session s = { .fd = mc_connect(o.socket), .timeout_ms = o.timeout_ms };
	mc_negotiate(&s);
	mc_reply r = mc_connect_stage(&s, &o);
	mc_message m = {0};
	mc_msg_copy(&m, &orig);
	for (unsigned long i = 0; i < o.count && r.code == SMFIR_CONTINUE; i++) {
		char qid[64];
		snprintf(qid, sizeof(qid), o.count > 1 ? "%s%lu" : "%s", o.qid, i);
		char *quarantine = NULL;
		mc_msg_free(&m);
		mc_msg_copy(&m, &orig);
		mc_reply mr = mc_one_message(&s, &o, &m, qid, &quarantine);
		mc_report(&mr, quarantine);
		free(quarantine);
		free(mr.text);
	}
	if (r.code != SMFIR_CONTINUE) {
		mc_report(&r, NULL);
		free(r.text);
	}
	mc_send(&s, SMFIC_QUIT, NULL, 0);
	mc_flush(&s);
	close(s.fd);
	free(s.out.data);
	FILE *out = o.output != NULL ? fopen(o.output, "w") : stdout;
	if (out == NULL)
		mc_die("%s: %s", o.output, strerror(errno));
	mc_msg_write(&m, out);
	if (fclose(out) != 0)
		mc_die("writing the message: %s", strerror(errno));
	mc_msg_free(&m);
	mc_msg_free(&orig);
	return 0;
}
