/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_DISK_DAEMON_H
#define LB_AGENT_DISK_DAEMON_H

/*
 * The disk daemon between nbd.ko (a socketpair) and the server (TCP), in
 * four files that share struct disk_daemon:
 *
 *   supervisor.c     serve_daemon(): first connect, cache, overlay,
 *                    NBD_CMD_CONNECT, "ready" to PID 1; then the supervisor
 *                    that forks the serving child and replaces it (new
 *                    socketpair, NBD_CMD_RECONFIGURE) when it crashes
 *   overlay_setup.c  the block write overlay's memory (a memfd the
 *                    supervisor keeps) and tiers (RAM, cache partition)
 *   disk_serve.c     the serving child's loop: kernel requests <-> cache
 *                    and server, reconnect, reports; serve_socket()
 *   writeback.c      a kernel FLUSH with a write-back overlay: a sweep of
 *                    the dirty pages to the server, then its FLUSH
 */

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "cache.h"
#include "nbd_client.h"
#include "queue.h"
#include "rxbuf.h"
#include "woverlay.h"

#define SERVE_BUFSZ (128u * 1024)	/* = max_sectors_kb we set */
#define BACKOFF_MIN_MS 100		/* first reconnect attempt */
#define BACKOFF_MAX_MS 5000		/* doubling stops here */

/* A kernel READ behind an ioqueue slot (same index): what the kernel
 * asked, and the span of whole blocks we fetch for it (cache.h). */
struct pending_read {
	uint64_t off;			/* the kernel's offset ... */
	uint32_t len;			/* ... and length */
	int waiting;			/* another slot fetches one of its
					 * blocks: woken by its fill */
	struct cache_span sp;		/* whole blocks asked of the server */
};

/* What a sweep is doing (writeback.c). */
enum wb_sweep {
	SWEEP_IDLE = 0,
	SWEEP_RUNS,			/* handing out runs of dirty pages */
	SWEEP_DRAIN,			/* all handed out: waiting for replies */
};

/*
 * One daemon, filled in by serve_daemon() before the first fork. After
 * each fork the supervisor drops the socket end, the server connection,
 * PID 1's pipe, the I/O buffers and the cache (it only waits): the serving
 * child has them, and a replacement child allocates its own.
 */
struct disk_daemon {
	const struct agent_cfg *cfg;	/* the kernel command line */
	struct net_state *ns;		/* DHCP renewal and reports; NULL in
					 * serve_socket(): no upkeep */
	int kfd;			/* our end of the socketpair with
					 * nbd.ko (serving child only), or -1 */
	int index;			/* N of /dev/nbdN, -1 before CONNECT */
	struct nbd_client_conn conn;	/* to the server; fd -1 while down */
	struct ioqueue q;		/* requests that need the server */
	struct cache *cache;		/* RAM -> SSD -> server (cache.h) */
	struct pending_read rd[IOQUEUE_SLOTS];	/* per slot of q */
	uint8_t *kbuf;			/* cache-hit reply buffer,
					 * SERVE_BUFSZ */
	struct rxbuf krx;		/* nbd.ko's requests, received */
	struct rxbuf srx;		/* the server's replies, received */
	int read_only;			/* nbd.ko was told READ_ONLY */
	int timeline_fd;		/* PID 1's "T_ROOT T_SWITCH" pipe,
					 * or -1 once read */

	/* reconnect (disk_serve.c) */
	int64_t down_since;		/* now_ms() of the loss; 0 = up */
	int64_t next_attempt;		/* now_ms() of the next try */
	int backoff_ms;			/* the wait after a failed try */
	int expired;			/* down longer than reconnect_s:
					 * requests fail with EIO */

	/* block write overlay (woverlay.h): its memory is a memfd the
	 * supervisor keeps, so a replaced child finds every page again */
	struct wov *wov;		/* in the serving child, or NULL */
	struct wov_cfg wov_cfg;		/* tiers, made by overlay_setup() */
	int wov_memfd;			/* the overlay's memory, or -1: none */
	size_t wov_len;			/* bytes of it */
	int64_t full_logged;		/* now_ms() of the last "overlay
					 * full" message */

	/* write-back (writeback.c): kernel FLUSHes wait for a sweep of the
	 * dirty pages; those that came during a sweep wait for the next */
	enum wb_sweep sweep;
	unsigned wb_inflight;		/* the sweep's writes at the server */
	uint32_t wb_error;		/* NBD_E* of a failed write-back */
	unsigned nflush_now;		/* FLUSHes answered by this sweep */
	unsigned nflush_next;		/* FLUSHes for the next one */
	uint64_t flush_now[IOQUEUE_SLOTS];	/* their kernel handles */
	uint64_t flush_next[IOQUEUE_SLOTS];
};

/* disk_serve.c */
/* Until the kernel goes: its reason (-EPIPE: EOF, -ESHUTDOWN: DISC). */
int serve_loop(struct disk_daemon *d);
/* The I/O buffers (slots, kbuf, krx, srx) and the cache stack (after the first
 * connect: it needs the export's size); 0 or -ENOMEM, logged. */
int serve_alloc(struct disk_daemon *d);
int serve_cache(struct disk_daemon *d);
/* Frees both (the supervisor, after the fork: the child has its copy). */
void serve_release(struct disk_daemon *d);
/* The root is served read-write only when writes go to the server and
 * the server allows them. */
int serve_export_writable(const struct disk_daemon *d);
/* SIGUSR1: a report at the next loop turn (a shutdown script's last
 * counters). */
void serve_on_sigusr1(int sig);
/* NBD proto.md "Simple reply message" to the kernel; 0 or -errno. */
int serve_reply_kernel(struct disk_daemon *d, uint64_t handle,
		       uint32_t error, const void *data, uint32_t len);
/* Sends a slot's request; on failure the connection is dropped (and the
 * slot sent again after the reconnect). 0 or -errno. */
int serve_send_slot(struct disk_daemon *d, struct ioslot *sl);
/* The overlay's "full" console message, at most every 30 s. */
void serve_overlay_full_msg(struct disk_daemon *d);

/* writeback.c */
/* A kernel FLUSH with a write-back overlay: answered after a sweep. */
int writeback_flush(struct disk_daemon *d, uint64_t handle);
/* The server answered one of a sweep's own slots. */
void writeback_reply(struct disk_daemon *d, struct ioslot *sl,
		     uint32_t error);
/* Hands out more of the sweep (as slots free up); ends it when done. */
void writeback_pump(struct disk_daemon *d);

/* overlay_setup.c */
/* In the supervisor, before nbd.ko has the device: the memfd and the
 * tiers; on failure (logged) wov_memfd stays -1, writes go to the server. */
void overlay_setup(struct disk_daemon *d);
/* In the serving child: map and open it. 0 or -errno (logged). */
int overlay_attach(struct disk_daemon *d);

#endif
