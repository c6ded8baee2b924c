/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_QUEUE_H
#define LB_AGENT_QUEUE_H

/*
 * In-flight requests between the kernel and the server. Each kernel
 * request that needs the server takes a slot (with a preallocated buffer:
 * no allocation on the I/O path) until the server's reply is passed back.
 * When the connection drops, every slot goes back to "unsent" and is sent
 * again, in arrival order, on the next connection: the kernel never sees
 * the outage, only a pause.
 */

#include <stdint.h>

#include "nbd_wire.h"

#define IOQUEUE_SLOTS 32

struct ioslot {
	int used;
	int sent;		/* on the current server connection */
	uint64_t seq;		/* arrival order; also the wire handle */
	uint64_t kernel_handle;	/* the kernel's handle, echoed back */
	struct nbd_request req;	/* as sent to the server (handle = seq) */
	uint8_t *buf;		/* payload: write data / read reply */
	int writeback;		/* the overlay's own WRITE or FLUSH (writeback.c):
				 * no kernel reply */
};

struct ioqueue {
	struct ioslot s[IOQUEUE_SLOTS];
	uint32_t bufsz;		/* bytes per slot buffer */
	uint8_t *mem;		/* IOQUEUE_SLOTS * bufsz */
	uint64_t next_seq;
	unsigned used;
};

int ioqueue_init(struct ioqueue *q, uint32_t bufsz);
void ioqueue_free(struct ioqueue *q);
/* a free slot, marked used, with a fresh seq; NULL when full */
struct ioslot *ioqueue_get(struct ioqueue *q);
void ioqueue_put(struct ioqueue *q, struct ioslot *s);
/* the sent slot with wire handle h, or NULL (protocol error) */
struct ioslot *ioqueue_find(struct ioqueue *q, uint64_t h);
/* connection lost: everything in flight must be sent again */
unsigned ioqueue_requeue_all(struct ioqueue *q);
/* the oldest used slot not yet sent on this connection, or NULL */
struct ioslot *ioqueue_next_unsent(struct ioqueue *q);

#endif
