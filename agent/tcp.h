/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_TCP_H
#define LB_AGENT_TCP_H

/*
 * The agent's one TCP connect: non-blocking connect bounded by a timeout,
 * optionally from a reserved local port (600..1023, as bindresvport(3)
 * picks them): the server takes that as "root on this PC" when the boot
 * ticket is redeemed (server-stub/net/boot_auth.h). Returns a connected,
 * non-blocking socket (close-on-exec), or -errno (-ETIMEDOUT).
 */

#include <netinet/in.h>

#define TCP_RESERVED_PORT	0x1	/* bind a port below 1024 first */

int tcp_connect(const struct sockaddr_in *to, int timeout_ms, unsigned flags);

/* Clear O_NONBLOCK and set send/receive timeouts (for blocking I/O). */
int tcp_set_blocking(int fd, int timeout_ms);

#endif
