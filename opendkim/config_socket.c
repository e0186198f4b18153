/*
 * config_socket.c - the milter socket spec (Socket, -p, MetricsSocket):
 * local:/path, unix:/path, /path, inet:PORT[@HOST|@[IP]],
 * inet6:PORT[@HOST|@[IP]], as in opendkim.conf(5); and the listening TCP
 * socket opened from one as libmilter does.
 *
 * Interface: config_socket.h.
 *
 * Errors: parsing and listening return false / -1 with the reason written
 * to the caller's buffer. Nothing is printed.
 */
#include "config_socket.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void config_socket_free(config_socket *sock)
{
	if (sock == NULL)
		return;
	free(sock->spec);
	free(sock->path);
	free(sock->host);
	memset(sock, 0, sizeof(*sock));
}

static bool config_socket_local(const char *path, config_socket *out,
                                char *why, size_t why_size)
{
	struct sockaddr_un sun;

	if (*path == '\0') {
		snprintf(why, why_size, "no socket path");
		return false;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, why_size, "socket path longer than %zu bytes",
		         sizeof(sun.sun_path) - 1);
		return false;
	}
	out->family = CONFIG_SOCK_LOCAL;
	out->path = strdup(path);
	if (out->path == NULL || asprintf(&out->spec, "local:%s", path) < 0) {
		out->spec = NULL;
		snprintf(why, why_size, "out of memory");
		return false;
	}
	return true;
}

/* HOST of inet:PORT@HOST: a host name or a [bracketed] literal address. */
static bool config_socket_host(const char *host, config_socket *out,
                               char *why, size_t why_size)
{
	unsigned char buf[16];
	size_t len = strlen(host);
	int af = out->family == CONFIG_SOCK_INET ? AF_INET : AF_INET6;

	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']') {
			snprintf(why, why_size, "unbalanced brackets");
			return false;
		}
		out->host = strndup(host + 1, len - 2);
		if (out->host != NULL && inet_pton(af, out->host, buf) != 1) {
			snprintf(why, why_size, "'%s' is not an IPv%c address",
			         out->host, af == AF_INET ? '4' : '6');
			return false;
		}
	} else {
		if (len == 0 || len > 253 ||
		    strspn(host, "abcdefghijklmnopqrstuvwxyz"
		                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") != len) {
			snprintf(why, why_size, "bad host '%s'", host);
			return false;
		}
		out->host = strdup(host);
	}
	if (out->host == NULL) {
		snprintf(why, why_size, "out of memory");
		return false;
	}
	return true;
}

/* PORT: decimal digits only (leading zeros allowed), 1..65535. */
static bool config_socket_port(const char *text, unsigned *port)
{
	unsigned long v = 0;

	if (*text == '\0')
		return false;
	for (; *text != '\0'; text++) {
		if (!isdigit((unsigned char)*text))
			return false;
		v = v * 10 + (unsigned long)(*text - '0');
		if (v > 65535)
			return false;
	}
	if (v == 0)
		return false;
	*port = (unsigned)v;
	return true;
}

static bool config_socket_inet(const char *rest, config_socket *out,
                               char *why, size_t why_size)
{
	const char *at = strchr(rest, '@');
	size_t plen = at ? (size_t)(at - rest) : strlen(rest);
	char port[8];

	if (plen == 0 || plen >= sizeof(port)) {
		snprintf(why, why_size, "missing or bad port");
		return false;
	}
	memcpy(port, rest, plen);
	port[plen] = '\0';
	if (!config_socket_port(port, &out->port)) {
		snprintf(why, why_size, "port must be a number from 1 to 65535");
		return false;
	}
	if (at != NULL && !config_socket_host(at + 1, out, why, why_size))
		return false;
	return true;
}

bool config_socket_parse(const char *spec, config_socket *out, char *why,
                         size_t why_size)
{
	bool ok;

	memset(out, 0, sizeof(*out));
	if (strncasecmp(spec, "local:", 6) == 0)
		ok = config_socket_local(spec + 6, out, why, why_size);
	else if (strncasecmp(spec, "unix:", 5) == 0)
		ok = config_socket_local(spec + 5, out, why, why_size);
	else if (spec[0] == '/')
		ok = config_socket_local(spec, out, why, why_size);
	else if (strncasecmp(spec, "inet:", 5) == 0) {
		out->family = CONFIG_SOCK_INET;
		ok = config_socket_inet(spec + 5, out, why, why_size);
	} else if (strncasecmp(spec, "inet6:", 6) == 0) {
		out->family = CONFIG_SOCK_INET6;
		ok = config_socket_inet(spec + 6, out, why, why_size);
	} else {
		snprintf(why, why_size, "expected local:/path, unix:/path, "
		         "inet:PORT[@HOST] or inet6:PORT[@HOST]");
		ok = false;
	}
	if (ok && out->spec == NULL && (out->spec = strdup(spec)) == NULL) {
		snprintf(why, why_size, "out of memory");
		ok = false;
	}
	if (!ok)
		config_socket_free(out);
	return ok;
}

int config_socket_listen_inet(const config_socket *s, int backlog, int sock_flags,
                              int *family, char *why, size_t why_size)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%u", s->port);
	hints.ai_family = s->family == CONFIG_SOCK_INET6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(s->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, why_size, "cannot resolve %s: %s",
		         s->host != NULL ? s->host : "*", gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | sock_flags, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else if (family != NULL) {
		*family = res->ai_family;
	}
	freeaddrinfo(res);
	return fd;
}
