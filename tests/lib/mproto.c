/*
 * mproto.c - the MTA's side of the milter protocol, for the programs that
 * play an MTA against a milter (tests/milter/miltclient, bench/milterload).
 *
 * Interface: mproto.h (open and negotiate, one function per step, the end
 * of message answer parsed packet by packet, close).
 *
 * Wire format (libmilter/mfdef.h, protocol version 6): every packet is a
 * 32-bit big-endian length (command byte included), the command byte, the
 * data. Strings carry their NUL. Replies are read whole into one buffer and
 * their length is checked (1..MPROTO_MAX_PACKET) before anything is read;
 * every field parsed out of a packet is checked to lie inside it.
 *
 * Writes, like Postfix's VSTREAM: packets are collected in a 4 KB buffer,
 * written when it would overflow (a large packet then goes out behind the
 * buffered bytes in the same writev) and before every read, so a step's
 * macros, the step, and steps without a reply leave in one write. With
 * quick_ack the socket has TCP_NODELAY and TCP_QUICKACK is re-armed after
 * every read; without it Nagle stays on, as in Postfix.
 *
 * Errors: false, with a message in conn->error (see mproto.h).
 */
#include "mproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MPROTO_MAX_ADDR 1024     /* "<address>" of MAIL and RCPT */

static bool mproto_fail(mproto_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool mproto_fail(mproto_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return false;
}

/* ---- the socket ---------------------------------------------------------- */

static int mproto_socket_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	return fd;
}

/* Splits "PORT@HOST" or "PORT@[IP]" (no "@HOST": the loopback address). */
static bool mproto_split_inet(const char *spec, int family, char *port, size_t psize,
                              char *host, size_t hsize)
{
	const char *at = strchr(spec, '@');
	size_t plen = at != NULL ? (size_t)(at - spec) : strlen(spec);
	const char *h = at != NULL ? at + 1 : (family == AF_INET6 ? "::1" : "127.0.0.1");
	size_t hlen = strlen(h);
	if (hlen > 1 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (plen == 0 || plen >= psize || hlen == 0 || hlen >= hsize)
		return false;
	memcpy(port, spec, plen);
	port[plen] = '\0';
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return true;
}

/* SPEC is the whole socket specification, ADDR its part after "inet:". */
static bool mproto_socket_inet(mproto_conn *c, const char *spec, const char *addr, int family)
{
	char port[16], host[256];
	if (!mproto_split_inet(addr, family, port, sizeof(port), host, sizeof(host)))
		return mproto_fail(c, "bad socket address %s", spec);
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return mproto_fail(c, "%s: %s", spec, gai_strerror(rc));
	int e = 0;
	for (struct addrinfo *ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, ai->ai_protocol);
		if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			e = errno;
			close(c->fd);
			c->fd = -1;
		}
	}
	freeaddrinfo(res);
	return c->fd >= 0 || mproto_fail(c, "connect %s: %s", spec, strerror(e));
}

static bool mproto_socket(mproto_conn *c, const char *spec)
{
	const char *path = NULL;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		path = strchr(spec, ':') + 1;
	else if (spec[0] == '/')
		path = spec;
	else if (strncmp(spec, "inet:", 5) == 0)
		return mproto_socket_inet(c, spec, spec + 5, AF_INET);
	else if (strncmp(spec, "inet6:", 6) == 0)
		return mproto_socket_inet(c, spec, spec + 6, AF_INET6);
	else
		return mproto_fail(c, "unknown socket form: %s", spec);
	c->fd = mproto_socket_unix(path);
	return c->fd >= 0 || mproto_fail(c, "connect %s: %s", path, strerror(errno));
}

static void mproto_socket_options(const mproto_conn *c)
{
	unsigned long ms = c->set.timeout_ms;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (long)(ms % 1000) * 1000 };
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (c->set.quick_ack) {   /* fails harmlessly on a UNIX socket */
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

/* ---- writing ------------------------------------------------------------- */

/* Writes every byte of v[0..n) (the array is consumed). MSG_NOSIGNAL: a
 * milter that closed the connection is an error, not a SIGPIPE. */
static bool mproto_writev_all(mproto_conn *c, struct iovec *v, int n)
{
	while (n > 0) {
		struct msghdr mh = { .msg_iov = v, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return mproto_fail(c, "timeout writing to the milter");
		if (w <= 0)
			return mproto_fail(c, "write to milter: %s",
			                   w < 0 ? strerror(errno) : "nothing written");
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
	return true;
}

bool mproto_flush(mproto_conn *c)
{
	struct iovec v = { c->out, c->out_len };
	bool ok = c->out_len == 0 || mproto_writev_all(c, &v, 1);
	c->out_len = 0;
	return ok;
}

/* Queues one packet whose data is the concatenation of parts[0..n); when
 * it does not fit in the buffer, the buffer and the packet go out in one
 * writev, the data uncopied. */
static bool mproto_send(mproto_conn *c, char cmd, const struct iovec *parts, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += parts[i].iov_len;
	if (len >= UINT32_MAX || n > 2 * MPROTO_MAX_MACROS + 1)
		return mproto_fail(c, "packet '%c' too large", cmd);
	if (c->set.trace != NULL)
		c->set.trace('>', cmd, len);
	uint32_t nlen = htonl((uint32_t)len + 1);
	char head[5];
	memcpy(head, &nlen, 4);
	head[4] = cmd;
	if (c->out_len + sizeof(head) + len <= sizeof(c->out)) {
		memcpy(c->out + c->out_len, head, sizeof(head));
		c->out_len += sizeof(head);
		for (size_t i = 0; i < n; i++) {
			memcpy(c->out + c->out_len, parts[i].iov_base, parts[i].iov_len);
			c->out_len += parts[i].iov_len;
		}
		return !c->set.write_each || mproto_flush(c);
	}
	struct iovec v[2 * MPROTO_MAX_MACROS + 3] = { { c->out, c->out_len }, { head, sizeof(head) } };
	for (size_t i = 0; i < n; i++)
		v[i + 2] = parts[i];
	c->out_len = 0;
	return mproto_writev_all(c, v, (int)n + 2);
}

static bool mproto_send1(mproto_conn *c, char cmd, const void *data, size_t len)
{
	struct iovec v = { (void *)data, len };
	return mproto_send(c, cmd, &v, data != NULL ? 1 : 0);
}

/* A SMFIC_MACRO packet for the command stage: "stage name\0value\0...". */
static bool mproto_macros(mproto_conn *c, char stage, const char *const *pairs, size_t n)
{
	struct iovec v[2 * MPROTO_MAX_MACROS + 1] = { { &stage, 1 } };
	size_t nv = 1;
	if (n > 2 * MPROTO_MAX_MACROS)
		return mproto_fail(c, "more than %d macros", MPROTO_MAX_MACROS);
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (pairs[i + 1] == NULL)
			continue;
		v[nv++] = (struct iovec){ (void *)pairs[i], strlen(pairs[i]) + 1 };
		v[nv++] = (struct iovec){ (void *)pairs[i + 1], strlen(pairs[i + 1]) + 1 };
	}
	return mproto_send(c, SMFIC_MACRO, v, nv);
}

bool mproto_macro(mproto_conn *c, char stage, const char *const *macros, size_t n)
{
	return mproto_macros(c, stage, macros, n);
}

/* ---- reading ------------------------------------------------------------- */

static bool mproto_read_all(mproto_conn *c, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t r = read(c->fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return mproto_fail(c, "timeout waiting for the milter");
		if (r <= 0)
			return mproto_fail(c, "read from milter: %s",
			                   r < 0 ? strerror(errno) : "connection closed");
		p += r;
		len -= (size_t)r;
	}
	if (c->set.quick_ack) {
		int one = 1;   /* Linux drops out of quick-ACK mode; re-arm it */
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	return true;
}

/* Reads one packet into c->in: command byte, data, a NUL added. The
 * length is checked before the packet is read. */
static bool mproto_recv(mproto_conn *c, char *cmd, const char **data, size_t *len)
{
	if (!mproto_flush(c))
		return false;
	uint32_t nlen;
	if (!mproto_read_all(c, &nlen, 4))
		return false;
	size_t plen = ntohl(nlen);
	if (plen < 1 || plen > MPROTO_MAX_PACKET)
		return mproto_fail(c, "bad packet length %zu from the milter", plen);
	if (plen + 1 > c->in_cap) {
		char *p = realloc(c->in, plen + 1);
		if (p == NULL)
			return mproto_fail(c, "out of memory");
		c->in = p;
		c->in_cap = plen + 1;
	}
	if (!mproto_read_all(c, c->in, plen))
		return false;
	c->in[plen] = '\0';
	*cmd = c->in[0];
	*data = c->in + 1;
	*len = plen - 1;
	if (c->set.trace != NULL)
		c->set.trace('<', *cmd, *len);
	return true;
}

/* ---- negotiation --------------------------------------------------------- */

/* Version 6, every action, the protocol bits offered; the milter answers
 * with what it wants (macro lists after the three words: ignored, every
 * step gets the macros its caller gives). */
static bool mproto_negotiate(mproto_conn *c)
{
	uint32_t offer[3] = { htonl(SMFI_PROT_VERSION), htonl(SMFI_CURR_ACTS),
	                      htonl(c->set.offer_prot) };
	char cmd;
	const char *data;
	size_t len;
	if (!mproto_send1(c, SMFIC_OPTNEG, offer, sizeof(offer)) || !mproto_recv(c, &cmd, &data, &len))
		return false;
	if (cmd != SMFIC_OPTNEG || len < MILTER_OPTLEN)
		return mproto_fail(c, "bad negotiation reply '%c' (%zu bytes)", cmd, len);
	uint32_t v[3];
	memcpy(v, data, sizeof(v));
	if (ntohl(v[0]) < 2 || ntohl(v[0]) > SMFI_PROT_VERSION)
		return mproto_fail(c, "milter speaks protocol version %u", (unsigned)ntohl(v[0]));
	c->actions = ntohl(v[1]);
	c->proto = ntohl(v[2]);
	if ((c->actions & ~(uint32_t)SMFI_CURR_ACTS) != 0 || (c->proto & ~c->set.offer_prot) != 0)
		return mproto_fail(c, "milter asks for options not offered (actions 0x%x, protocol 0x%x)",
		                   (unsigned)c->actions, (unsigned)c->proto);
	return true;
}

static void mproto_init(mproto_conn *c, const mproto_settings *set)
{
	c->fd = -1;
	c->set = *set;
	c->actions = c->proto = 0;
	c->out_len = 0;
	c->in = NULL;
	c->in_cap = 0;
	c->error[0] = '\0';
}

bool mproto_attach(mproto_conn *c, int fd, const mproto_settings *set)
{
	mproto_init(c, set);
	c->fd = fd;
	mproto_socket_options(c);
	return mproto_negotiate(c);
}

bool mproto_open(mproto_conn *c, const char *spec, const mproto_settings *set)
{
	mproto_init(c, set);
	if (!mproto_socket(c, spec))
		return false;
	mproto_socket_options(c);
	return mproto_negotiate(c);
}

void mproto_close(mproto_conn *c, bool quit)
{
	if (c->fd >= 0) {
		if (quit && mproto_send1(c, SMFIC_QUIT, NULL, 0))
			(void)mproto_flush(c);
		close(c->fd);
	}
	c->fd = -1;
	c->out_len = 0;
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

/* ---- the steps ----------------------------------------------------------- */

/* A reply outside end of message: progress reports skipped. */
static bool mproto_reply_read(mproto_conn *c, mproto_reply *r)
{
	char cmd;
	const char *data;
	size_t len;
	do {
		if (!mproto_recv(c, &cmd, &data, &len))
			return false;
	} while (cmd == SMFIR_PROGRESS);
	if (strchr("cartdsy", cmd) == NULL || cmd == '\0')
		return mproto_fail(c, "unexpected reply '%c' outside end of message", cmd);
	*r = (mproto_reply){ cmd, cmd == SMFIR_REPLYCODE ? data : NULL };
	return true;
}

/* Sends a step (its macros first) unless the milter skips it (skip bit);
 * reads its reply unless the milter sends none (noreply bit). */
static bool mproto_step(mproto_conn *c, char cmd, const char *const *macros, size_t n,
                        const struct iovec *parts, size_t nparts,
                        uint32_t skip, uint32_t noreply, mproto_reply *r)
{
	*r = (mproto_reply){ SMFIR_CONTINUE, NULL };
	bool skipped = (c->proto & skip) != 0;
	if (n > 0 && (!skipped || c->set.macros_always) && !mproto_macros(c, cmd, macros, n))
		return false;
	if (skipped)
		return true;
	if (!mproto_send(c, cmd, parts, nparts))
		return false;
	if ((c->proto & noreply) != 0)
		return true;
	return mproto_reply_read(c, r);
}

bool mproto_connect(mproto_conn *c, const char *const *macros, size_t n,
                    const char *host, const char *addr, uint16_t port, mproto_reply *r)
{
	/* "host\0 family port(16, network order) address\0" */
	char family = strchr(addr, ':') != NULL ? SMFIA_INET6 : SMFIA_INET;
	uint16_t nport = htons(port);
	struct iovec v[] = { { (void *)host, strlen(host) + 1 }, { &family, 1 },
	                     { &nport, 2 }, { (void *)addr, strlen(addr) + 1 } };
	return mproto_step(c, SMFIC_CONNECT, macros, n, v, 4, SMFIP_NOCONNECT, SMFIP_NR_CONN, r);
}

bool mproto_helo(mproto_conn *c, const char *name, mproto_reply *r)
{
	struct iovec v = { (void *)name, strlen(name) + 1 };
	return mproto_step(c, SMFIC_HELO, NULL, 0, &v, 1, SMFIP_NOHELO, SMFIP_NR_HELO, r);
}

/* MAIL and RCPT: "<address>\0" (no ESMTP arguments). */
static bool mproto_envelope(mproto_conn *c, char cmd, const char *const *macros, size_t n,
                            const char *addr, uint32_t skip, uint32_t noreply, mproto_reply *r)
{
	char arg[MPROTO_MAX_ADDR];
	int alen = snprintf(arg, sizeof(arg), "<%s>", addr);
	if (alen < 0 || (size_t)alen >= sizeof(arg))
		return mproto_fail(c, "address too long: %.40s...", addr);
	struct iovec v = { arg, (size_t)alen + 1 };
	return mproto_step(c, cmd, macros, n, &v, 1, skip, noreply, r);
}

bool mproto_mail(mproto_conn *c, const char *const *macros, size_t n,
                 const char *from, mproto_reply *r)
{
	return mproto_envelope(c, SMFIC_MAIL, macros, n, from, SMFIP_NOMAIL, SMFIP_NR_MAIL, r);
}

bool mproto_rcpt(mproto_conn *c, const char *const *macros, size_t n,
                 const char *to, mproto_reply *r)
{
	return mproto_envelope(c, SMFIC_RCPT, macros, n, to, SMFIP_NORCPT, SMFIP_NR_RCPT, r);
}

bool mproto_data(mproto_conn *c, const char *const *macros, size_t n, mproto_reply *r)
{
	return mproto_step(c, SMFIC_DATA, macros, n, NULL, 0, SMFIP_NODATA, SMFIP_NR_DATA, r);
}

bool mproto_header(mproto_conn *c, const char *name, const char *value, mproto_reply *r)
{
	/* Without HDR_LEADSPC the MTA drops the space after the colon. */
	if ((c->proto & SMFIP_HDR_LEADSPC) == 0 && (*value == ' ' || *value == '\t'))
		value++;
	struct iovec v[] = { { (void *)name, strlen(name) + 1 }, { (void *)value, strlen(value) + 1 } };
	return mproto_step(c, SMFIC_HEADER, NULL, 0, v, 2, SMFIP_NOHDRS, SMFIP_NR_HDR, r);
}

bool mproto_eoh(mproto_conn *c, const char *const *macros, size_t n, mproto_reply *r)
{
	return mproto_step(c, SMFIC_EOH, macros, n, NULL, 0, SMFIP_NOEOH, SMFIP_NR_EOH, r);
}

bool mproto_body(mproto_conn *c, const char *body, size_t len, size_t chunk, mproto_reply *r)
{
	*r = (mproto_reply){ SMFIR_CONTINUE, NULL };
	if (chunk == 0 || chunk > MILTER_CHUNK_SIZE)
		chunk = MILTER_CHUNK_SIZE;
	for (size_t off = 0; off < len && r->code == SMFIR_CONTINUE; off += chunk) {
		struct iovec v = { (void *)(body + off), len - off < chunk ? len - off : chunk };
		if (!mproto_step(c, SMFIC_BODY, NULL, 0, &v, 1, SMFIP_NOBODY, SMFIP_NR_BODY, r))
			return false;
	}
	if (r->code == SMFIR_SKIP)   /* the milter has seen enough */
		r->code = SMFIR_CONTINUE;
	return true;
}

bool mproto_abort(mproto_conn *c)
{
	return mproto_send1(c, SMFIC_ABORT, NULL, 0);
}

/* ---- end of message ------------------------------------------------------ */

bool mproto_eom(mproto_conn *c, const char *const *macros, size_t n)
{
	return (n == 0 || mproto_macros(c, SMFIC_BODYEOB, macros, n)) &&
	       mproto_send1(c, SMFIC_BODYEOB, NULL, 0);
}

bool mproto_is_final(char cmd)
{
	return cmd != '\0' && strchr("cartdy", cmd) != NULL;
}

/* "index(32) name\0 value\0" (indexed) or "name\0 value\0": both strings
 * must end inside the packet; the name must not be empty. */
static bool mproto_mod_fields(mproto_conn *c, mproto_mod *m, bool indexed)
{
	const char *p = m->data;
	size_t rest = m->len;
	if (indexed) {
		if (rest < 4)
			return mproto_fail(c, "short header modification '%c'", m->cmd);
		uint32_t n;
		memcpy(&n, p, 4);
		m->index = ntohl(n);
		p += 4;
		rest -= 4;
	}
	size_t nlen = strnlen(p, rest);
	if (nlen == 0 || nlen == rest)
		return mproto_fail(c, "malformed header modification '%c'", m->cmd);
	m->name = p;
	m->value = p + nlen + 1;
	rest -= nlen + 1;
	if (strnlen(m->value, rest) == rest)
		return mproto_fail(c, "header modification '%c' value without its NUL", m->cmd);
	return true;
}

bool mproto_eom_next(mproto_conn *c, mproto_mod *m)
{
	*m = (mproto_mod){ 0 };
	do {
		if (!mproto_recv(c, &m->cmd, &m->data, &m->len))
			return false;
	} while (m->cmd == SMFIR_PROGRESS);
	switch (m->cmd) {
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		return mproto_mod_fields(c, m, true);
	case SMFIR_ADDHEADER:
		return mproto_mod_fields(c, m, false);
	case SMFIR_REPLBODY: case SMFIR_QUARANTINE:
	case SMFIR_ADDRCPT: case SMFIR_DELRCPT: case SMFIR_ADDRCPT_PAR: case SMFIR_CHGFROM:
		return true;
	default:
		return mproto_is_final(m->cmd) ||
		       mproto_fail(c, "unexpected reply '%c' at end of message", m->cmd);
	}
}
