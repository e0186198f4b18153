/*
 * metrics_http.c - the MetricsSocket endpoint (metrics_http.h), a thin
 * layer over libmicrohttpd: we bind the socket, the library parses HTTP
 * and runs one polling thread (epoll) for every client.
 */
#include "metrics_http.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef DKIMD_HAVE_MHD
#include <microhttpd.h>
#endif

#include "metrics.h"

static int metrics_http_fd = -1;
static int metrics_http_family;

/* Socket's address resolution, as libmilter does it for inet: sockets. */
bool metrics_http_listen(const config_socket *s, char *why, size_t size)
{
	int family = AF_INET;
	int fd = config_socket_listen_inet(s, 64, SOCK_CLOEXEC | SOCK_NONBLOCK, &family,
	                                   why, size);
	if (fd < 0)
		return false;
	metrics_http_family = family;
	metrics_http_fd = fd;
	return true;
}

#ifdef DKIMD_HAVE_MHD

static struct MHD_Daemon *metrics_http_daemon;
static atomic_uint metrics_http_active;   /* connections open */

/*
 * Over METRICS_HTTP_MAX_CONNECTIONS, a new connection is closed at once.
 * (libmicrohttpd's own limit stops accepting instead: the clients over it
 * would wait in the kernel's queue, and a scrape behind them.) The
 * library's limit stays as a backstop a little above ours.
 */
static enum MHD_Result metrics_http_accept(void *cls, const struct sockaddr *addr,
                                           socklen_t addrlen)
{
	(void)cls;
	(void)addr;
	(void)addrlen;
	return atomic_load(&metrics_http_active) < METRICS_HTTP_MAX_CONNECTIONS ? MHD_YES : MHD_NO;
}

static void metrics_http_notify(void *cls, struct MHD_Connection *conn, void **socket_state,
                                enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)conn;
	(void)socket_state;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&metrics_http_active, 1);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		atomic_fetch_sub(&metrics_http_active, 1);
}

const char *metrics_http_library(void)
{
	return MHD_get_version();
}

static enum MHD_Result metrics_http_reply(struct MHD_Connection *conn, unsigned status,
                                          const char *text, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	                                                         MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	enum MHD_Result ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

/*
 * Every request is answered at its first call, before any body is read
 * (the library then closes the connection rather than read the body).
 */
static enum MHD_Result metrics_http_handle(void *cls, struct MHD_Connection *conn,
                                           const char *url, const char *method,
                                           const char *version, const char *upload_data,
                                           size_t *upload_data_size, void **state)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)state;
	if (strcmp(url, "/metrics") != 0)
		return metrics_http_reply(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return metrics_http_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "GET");
	size_t len = 0;
	char *text = metrics_render(&len);
	if (text == NULL)
		return metrics_http_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	/* The text exposition format, version 0.0.4. */
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

bool metrics_http_start(char *why, size_t size)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	if (metrics_http_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	metrics_http_daemon = MHD_start_daemon(
		flags, 0, metrics_http_accept, NULL, metrics_http_handle, NULL,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)metrics_http_fd,
		MHD_OPTION_NOTIFY_CONNECTION, metrics_http_notify, NULL,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_MAX_CONNECTIONS + 4,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_HTTP_MEMORY,
		MHD_OPTION_END);
	if (metrics_http_daemon == NULL) {
		snprintf(why, size, "libmicrohttpd could not start");
		return false;
	}
	return true;
}

void metrics_http_stop(void)
{
	if (metrics_http_daemon != NULL) {
		MHD_stop_daemon(metrics_http_daemon);   /* closes the socket too */
		metrics_http_daemon = NULL;
		metrics_http_fd = -1;
	}
	if (metrics_http_fd >= 0) {
		close(metrics_http_fd);
		metrics_http_fd = -1;
	}
}

#else /* !DKIMD_HAVE_MHD */

const char *metrics_http_library(void)
{
	return NULL;
}

bool metrics_http_start(char *why, size_t size)
{
	snprintf(why, size, "this build has no HTTP server (configure found no libmicrohttpd)");
	return false;
}

void metrics_http_stop(void)
{
	if (metrics_http_fd >= 0) {
		close(metrics_http_fd);
		metrics_http_fd = -1;
	}
}

#endif
