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

#endif
