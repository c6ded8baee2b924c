/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_NBD_H
#define LB_NBD_H

/*
 * The NBD server of `linkboot serve` (server-stub/net/nbd.c): fixed newstyle
 * handshake and transmission on --nbd-port, in the epoll loop, no threads.
 * Export names are resolved by the link DB (db_export_resolve); data goes
 * through the vdisk API. Wire format: lib/nbd_wire.h.
 */

#include "server.h"

/* Largest READ/WRITE payload we accept (proto.md "Block size
 * constraints": advertised as the maximum block size). */
#define NBD_MAX_PAYLOAD		(32U << 20)

/* Bind --listen:--nbd-port and register with the loop; 0 or -errno.
 * --nbd-port 0 turns the service off. */
int nbd_start(struct lb_server *srv);
/* Close every connection (vdisks released) and the listener. */
void nbd_stop(struct lb_server *srv);

/* Client mac began a new boot (its credential: cred_hash): close the
 * sessions of its earlier boots, whose credentials are gone. */
void nbd_client_rebooted(struct lb_server *srv, const char *mac,
			 const char *cred_hash);

/* Take a connected non-blocking socket from sin (for logs) as a new
 * client: greeting sent, handshake from here on. The accept path uses it,
 * and the fuzzer (fuzz_nbd_server.c) hands it one end of a socketpair.
 * fd is the connection's from now on (closed on failure). */
void nbd_conn_adopt(struct nbd_server *ns, int fd,
		    const struct sockaddr_in *sin, int64_t now);

#endif
