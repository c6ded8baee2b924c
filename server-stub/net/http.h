/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_HTTP_H
#define LB_HTTP_H

/*
 * The HTTP/1.1 service of `linkboot serve` (server-stub/net/http.c): files from
 * the served namespace (server.h files_open()) with GET/HEAD/Range and
 * sendfile, the generated boot script GET /boot.ipxe?mac=MAC, and agent
 * reports POST /report?mac=MAC. Off when http_port is 0.
 */

#include "server.h"

int http_start(struct lb_server *srv);
void http_stop(struct lb_server *srv);
/* SIGHUP: http_timeout again. */
void http_reload(struct lb_server *srv);

/* Take a connected non-blocking socket from sin as a new connection (or
 * refuse it with 503 at http_max_conns). The accept path uses it, and the
 * fuzzer (fuzz_http_server.c) hands it one end of a socketpair. fd is the
 * connection's from now on (closed on failure). */
void http_conn_adopt(struct http_server *hs, int fd,
		     const struct sockaddr_in *sin, int64_t now);

#endif
