/*
 * metrics_http.h - the MetricsSocket endpoint: GET /metrics answered with
 * metrics_render()'s text, through libmicrohttpd, on a thread of its own.
 *
 * Two steps, because the daemon forks after opening its sockets and a
 * fork keeps no threads: metrics_http_listen binds the socket (before the
 * fork, as root if need be, so that an address in use is said on the
 * terminal and in the exit status); metrics_http_start serves it (after).
 *
 * Hostile clients: at most METRICS_HTTP_MAX_CONNECTIONS at once (more are
 * closed at accept), each with a small memory pool (a larger request is
 * refused by the library) and an idle timeout; anything but GET /metrics
 * gets 404 or 405. A client that keeps sending a byte now and then is not
 * idle: it holds its slot (no more than METRICS_HTTP_MAX_CONNECTIONS of
 * them can, and the mail does not notice). Nothing here touches the milter's threads or locks:
 * rendering reads the atomic counters only.
 *
 * Errors: false with the reason in why.
 */
#ifndef OPENDKIM_METRICS_HTTP_H
#define OPENDKIM_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "odkconfig.h"

#define METRICS_HTTP_MAX_CONNECTIONS 16
#define METRICS_HTTP_TIMEOUT 5          /* seconds of idleness allowed */
#define METRICS_HTTP_MEMORY 16384       /* bytes per connection for the request */

/* Built with libmicrohttpd: its version ("0.9.75"); else NULL. */
const char *metrics_http_library(void);

/* Binds and listens on s (inet: or inet6:). */
bool metrics_http_listen(const config_socket *s, char *why, size_t size);

/* Serves the socket of metrics_http_listen. */
bool metrics_http_start(char *why, size_t size);

/* Stops serving and closes the socket (nothing when not started). */
void metrics_http_stop(void);

#endif /* OPENDKIM_METRICS_HTTP_H */
