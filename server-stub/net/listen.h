/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_LISTEN_H
#define LB_LISTEN_H

/*
 * The services' listening sockets, made in one place so that --listen and
 * --interface mean the same for every service (TFTP, HTTP, NBD, DHCP, and
 * any new one):
 *
 *   address     --listen (srv->listen_ip), 0.0.0.0 = all
 *   interface   --interface: SO_BINDTODEVICE, so nothing arriving on another
 *               interface reaches the socket, not even a packet for this
 *               interface's own address routed in elsewhere. A failure is
 *               fatal: serving every interface is not what was asked.
 *   flags       non-blocking, close-on-exec; TCP: SO_REUSEADDR (a restart
 *               while old connections sit in TIME_WAIT). UDP only with
 *               LISTEN_REUSEADDR: two sockets on one UDP port split its
 *               unicast traffic, so a taken port must fail to bind.
 *
 * what is the service's name as the options spell it ("http" for
 * --http-port): a failure is logged as what failed plus the fix, e.g.
 *
 *   http: TCP port 80 is in use by nginx (pid 812): stop it, or give
 *   linkboot another --http-port (`linkboot doctor` checks every port)
 *
 * Both return the socket, or -errno after logging.
 *
 *	if ((fd = listen_tcp(srv, cfg->nbd_port, "nbd")) < 0)
 *		return fd;
 */

#include <stddef.h>

#include "server.h"

/* A bound, listening TCP socket, its accept queue as deep as the kernel
 * allows. */
int listen_tcp(const struct lb_server *srv, int port, const char *what);

enum listen_udp_flags {
	/* bind 0.0.0.0 whatever --listen says: DHCP requests are broadcast,
	 * and a broadcast only reaches a socket bound to INADDR_ANY */
	LISTEN_ANY_ADDR = 1 << 0,
	/* SO_BROADCAST: answers to 255.255.255.255 (DHCP) */
	LISTEN_BROADCAST = 1 << 1,
	/* IP_PKTINFO: each datagram's local address and interface */
	LISTEN_PKTINFO = 1 << 2,
	/* SO_REUSEADDR: share the port with another such socket; each
	 * broadcast reaches both (proxyDHCP beside a DHCP server running
	 * on the same host) */
	LISTEN_REUSEADDR = 1 << 3,
};

/* A bound UDP socket; flags are enum listen_udp_flags. */
int listen_udp(const struct lb_server *srv, int port, unsigned flags,
	       const char *what);

/*
 * Who holds port (type SOCK_STREAM: a listening TCP socket; SOCK_DGRAM: a
 * UDP socket), IPv4 or IPv6, in this network namespace: "nginx (pid 812)",
 * else "another program" (gone, or another user's and we may not look).
 * A bounded scan of /proc: for error messages and `linkboot doctor`.
 */
void listen_port_owner(int type, int port, char *out, size_t outsz);

#endif
