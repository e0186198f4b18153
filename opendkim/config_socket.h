/*
 * config_socket.h - the milter socket spec of Socket, -p and MetricsSocket
 * (opendkim.conf(5)), parsed, and a listening TCP socket opened from it.
 */
#ifndef ODK_CONFIG_SOCKET_H
#define ODK_CONFIG_SOCKET_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	CONFIG_SOCK_LOCAL = 0,  /* local:/path, unix:/path, /path */
	CONFIG_SOCK_INET,       /* inet:PORT[@HOST|@[IP]] */
	CONFIG_SOCK_INET6       /* inet6:PORT[@HOST|@[IP]] */
} config_socket_family;

typedef struct {
	config_socket_family family;
	char *spec;             /* the milter form for smfi_setconn():
	                         * "local:/path" or "inet:PORT@HOST" as given
	                         * (unix: and bare paths rewritten to local:) */
	char *path;             /* LOCAL: the socket path */
	unsigned port;          /* INET*: 1..65535 */
	char *host;             /* INET*: host name or IP without brackets;
	                         * NULL = every interface */
} config_socket;

/*
 * Parses a Socket value (also the -p flag). On error returns false and
 * writes the reason to why. out must be freed with config_socket_free.
 */
bool config_socket_parse(const char *spec, config_socket *out, char *why,
                         size_t why_size);
void config_socket_free(config_socket *sock);

/*
 * Opens a listening TCP socket on an inet:/inet6: spec as libmilter does
 * (resolve, socket, SO_REUSEADDR, bind, listen with backlog); sock_flags go
 * to socket(2) (SOCK_CLOEXEC...). Returns the descriptor and, when family is
 * not NULL, its address family; on error -1 with the failing step in why.
 */
int config_socket_listen_inet(const config_socket *s, int backlog, int sock_flags,
                              int *family, char *why, size_t why_size);

#endif
