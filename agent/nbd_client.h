/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_NBD_CLIENT_H
#define LB_AGENT_NBD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"

/*
 * The largest export accepted: a Linux block device's size is a loff_t
 * (nbd.ko refuses a negative one), and with at most 2^63 - 1 bytes the
 * cache's and overlay's "size + block - 1" and "blocks x block size" sums
 * cannot wrap. A server claiming more is broken or hostile: the handshake
 * fails with -EFBIG.
 */
#define NBD_CLIENT_SIZE_MAX	((uint64_t)INT64_MAX)

/* One TCP connection to an NBD server, in transmission phase. */
struct nbd_client_conn {
	int fd;			/* -1 when down */
	uint64_t size;		/* export size, bytes */
	uint16_t flags;		/* transmission flags (NBD_FLAG_*) */
	unsigned server;	/* index into cfg->server[] */
};

/* Connect to the servers in turn (starting at c->server) and negotiate
 * the export; 0 or -errno, with what failed logged. */
int nbd_client_connect(const struct agent_cfg *cfg,
		       struct nbd_client_conn *c);
void nbd_client_close(struct nbd_client_conn *c);
/* The handshake alone, on a connected c->fd (any stream socket; the
 * bench uses it over AF_UNIX): 0 with c->size/flags set, or -errno. */
int nbd_client_handshake(struct nbd_client_conn *c, const char *name);

/* Full read/write helpers on blocking sockets: 0 or -errno (EOF: -EPIPE). */
int fd_read_full(int fd, void *buf, size_t len);
int fd_write_full(int fd, const void *buf, size_t len);

#endif
