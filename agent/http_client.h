/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_HTTP_CLIENT_H
#define LB_AGENT_HTTP_CLIENT_H

/*
 * The agent's small blocking HTTP/1.1 client to linkboot.http: block-hash
 * tables and boot packs (GET), the boot ticket's redemption and reports
 * (POST). Bounded: connect, each read and the whole exchange share one
 * deadline; bodies have a size cap. Heads are parsed by lib/http_wire.c
 * (RFC 9112 §6.3: Content-Length, which our server always sends).
 */

#include <stddef.h>
#include <stdint.h>

struct agent_cfg;

struct http_call {
	const char *method;		/* "GET" or "POST" */
	const char *path;		/* without the leading '/' */
	const char *bearer;		/* Authorization: Bearer, or NULL */
	const char *body;		/* POST body, body_len bytes */
	size_t body_len;
	uint64_t range_first, range_end; /* GET bytes [first, end) if end >
					  * first (the server may send all) */
	size_t max;			/* largest response body accepted */
	int timeout_ms;			/* the whole exchange */
	unsigned tcp_flags;		/* TCP_RESERVED_PORT (tcp.h) */
};

/*
 * Make the call. 0 with the status and the body (malloc'ed, NUL-ended,
 * len bytes before the NUL) whatever the status; or -errno when no
 * answer came (-ETIMEDOUT, -ECONNREFUSED, -EFBIG over max, -EPROTO).
 */
int http_call(const struct agent_cfg *cfg, const struct http_call *call,
	      int *status, uint8_t **body, size_t *len);

#endif
