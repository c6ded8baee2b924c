/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The disk daemon: answers nbd.ko's requests on the socketpair from the
 * RAM cache or the server, and hides the network from the kernel.
 *
 *   nbd.ko --socketpair--> [ kernel fd ] serve loop [ server fd ] --TCP-->
 *                              |  cache hit (RAM/SSD): answer at once
 *                              |  miss: ioqueue slot, send the block-
 *                              |  aligned span, verify, fill, answer
 *                              |  server gone: requeue all, reconnect
 *                              |  with backoff, send again in order
 *
 * Runs forked from PID 1 (only this process holds the socketpair's end,
 * so the kernel sees EOF if it dies), locked in memory, PR_SET_IO_FLUSHER,
 * never touches the nbd-backed root (DESIGN.md "Verified").
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cache.h"
#include "cache_setup.h"
#include "lb_log.h"
#include "lb_util.h"
#include "nbd_client.h"
#include "nbd_kernel.h"
#include "nbd_wire.h"
#include "queue.h"
#include "woverlay.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

#define SERVE_BUFSZ (128u * 1024)	/* = max_sectors_kb we set */
/* a slot holds the largest kernel request widened to whole cache blocks */
#define SLOT_BUFSZ CACHE_FETCH_MAX
#define REPORT_EVERY_MS 60000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define VERIFY_TRIES 3		/* refetches of a block that fails its hash */
#define WOV_RAM_DEFAULT_MIB 64
#define WOV_PART_OFF (1u << 20)	/* the SSD cache's superblock is below */
#define WB_RUN_MAX (128u * 1024)	/* one write-back server write */
#define WB_SLOTS_MAX (IOQUEUE_SLOTS / 2)	/* reads keep the others */
#define FULL_MSG_EVERY_MS 30000

/* A kernel READ behind an ioqueue slot (same index): what the kernel
 * asked, and the span of whole blocks we fetch for it (cache.h). */
struct serve_read {
	uint64_t off;
	uint32_t len;
	int waiting;		/* another slot fetches one of its blocks */
	struct cache_span sp;
};

struct serve {
	const struct agent_cfg *cfg;
	struct net_state *ns;		/* NULL: serve_socket(), no upkeep */
	int kfd;			/* our end of the socketpair */
	int index;			/* /dev/nbdN */
	struct nbd_client_conn conn;
	struct ioqueue q;
	struct cache *cache;		/* RAM -> SSD -> server (cache.h) */
	struct serve_read rd[IOQUEUE_SLOTS];
	uint8_t *kbuf;			/* cache-hit reply buffer */
	int64_t down_since;		/* 0 = connected */
	int64_t next_attempt;
	int backoff_ms;
	int expired;			/* outage longer than reconnect_s */
	int read_only;
	int info_fd;			/* PID 1's timeline, or -1 */
	/* block write overlay (woverlay.h): its memory is a memfd the
	 * supervisor keeps, so a replaced daemon finds every page again */
	struct wov *wov;
	struct wov_cfg wov_cfg;
	int wov_memfd;
	size_t wov_len;
	/* write-back: kernel FLUSHes wait for a sweep of the dirty pages;
	 * those that came during a sweep wait for the next one */
	int sweeping;
	unsigned wb_inflight;
	uint32_t wb_error;		/* NBD_E* of a failed write-back */
	unsigned nflush_now, nflush_next, nflush_ready;
	uint64_t flush_now[IOQUEUE_SLOTS], flush_next[IOQUEUE_SLOTS];
	int64_t full_logged;		/* last "overlay full" message */
};

/* SIGUSR1: send a report now (a shutdown script's last counters) */
static volatile sig_atomic_t report_asked;

static void on_usr1(int sig)
{
	(void)sig;
	report_asked = 1;
}

static void harden(void)
{
	int fd;

	/* our own session: no console ^C, no hangup from the image's init */
	setsid();
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);

	/* reclaim may write to the device we serve: do not recurse into it */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0)
		log_warn("prctl(PR_SET_IO_FLUSHER)");
	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) >= 0) {
		if (write(fd, "-1000", 5) != 5)
			log_warn("oom_score_adj");
		close(fd);
	}
}

/* All of iov[0..n), resuming after partial sends. 0 or -errno. */
static int send_iov_full(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		for (; n > 0 && (size_t)k >= iov->iov_len; iov++, n--)
			k -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* NBD proto.md "Simple reply message": header and data in one sendmsg,
 * so a hit costs the kernel's reader one wakeup, not two. */
static int reply_kernel(struct serve *s, uint64_t handle, uint32_t error,
			const void *data, uint32_t len)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)(uintptr_t)data, .iov_len = len },
	};

	nbd_build_simple_reply(h, sizeof(h), error, handle);
	return send_iov_full(s->kfd, iov, !error && len ? 2 : 1);
}

/* A RAM hit straight from the cache's blocks (cache_peek()): iov[1..n]
 * is the data, iov[0] is set here to the header. No copy into kbuf. */
static int reply_kernel_iov(struct serve *s, uint64_t handle,
			    struct iovec *iov, unsigned n)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];

	nbd_build_simple_reply(h, sizeof(h), 0, handle);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	return send_iov_full(s->kfd, iov, (int)n + 1);
}

static struct serve_read *slot_read(struct serve *s, struct ioslot *sl)
{
	return &s->rd[sl - s->q.s];
}

/* The overlay's "full" console message, at most every 30 s. */
static void overlay_full_msg(struct serve *s)
{
	struct wov_stats st = { 0 };
	int64_t now = now_ms();

	if (s->full_logged && now - s->full_logged < FULL_MSG_EVERY_MS)
		return;
	s->full_logged = now;
	if (s->wov)
		wov_stats(s->wov, &st);
	log_warnx("linkboot: WRITE OVERLAY FULL: RAM (%llu MiB), cache "
		  "partition (%llu MiB) and this PC's overlay on the server "
		  "are full: writes fail with ENOSPC until the OS frees space; "
		  "nothing written so far is lost (check: the server's "
		  "overlay limit and free disk, `linkboot status`)",
		  (unsigned long long)(st.ram_slots * WOV_PAGE >> 20),
		  (unsigned long long)(st.part_slots * WOV_PAGE >> 20));
}

/* A read's bytes go to the kernel with the overlay's pages on top. */
static int reply_read(struct serve *s, uint64_t handle, uint32_t error,
		      uint8_t *data, uint64_t off, uint32_t len)
{
	if (!error && s->wov && wov_touches(s->wov, off, len) &&
	    wov_patch(s->wov, off, len, data) != 0) {
		log_warnx("overlay: reading the cache partition failed at "
			  "%llu+%u: EIO (check the disk: dmesg)",
			  (unsigned long long)off, len);
		error = NBD_EIO;
	}
	return reply_kernel(s, handle, error, data, len);
}

static void conn_lost(struct serve *s, const char *why)
{
	unsigned n;

	if (s->conn.fd < 0)
		return;
	nbd_client_close(&s->conn);
	n = ioqueue_requeue_all(&s->q);
	s->down_since = now_ms();
	s->next_attempt = s->down_since + BACKOFF_MIN_MS;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->expired = 0;
	agent_stats.reconnects++;
	/* with nothing in flight this is routine: the server closes idle
	 * connections (nbd_idle_timeout) and we reconnect before the next
	 * request needs it */
	if (n == 0)
		log_info("nbd: server connection closed (%s) with no request "
			 "in flight (server idle timeout or restart); "
			 "reconnecting", why);
	else
		log_warnx("nbd: server connection lost (%s), %u request%s in "
			  "flight will be sent again; reconnecting for up to "
			  "%u s", why, n, n == 1 ? "" : "s",
			  s->cfg->reconnect_s);
}

static int send_slot(struct serve *s, struct ioslot *sl)
{
	uint8_t h[NBD_REQUEST_SIZE];
	int rc;

	nbd_build_request(h, sizeof(h), &sl->req);
	if ((rc = fd_write_full(s->conn.fd, h, sizeof(h))) == 0 &&
	    sl->req.type == NBD_CMD_WRITE)
		rc = fd_write_full(s->conn.fd, sl->buf, sl->req.length);
	if (rc != 0) {
		conn_lost(s, strerror(-rc));
		return rc;
	}
	sl->sent = 1;
	return 0;
}

static void send_unsent(struct serve *s)
{
	struct ioslot *sl;

	while (s->conn.fd >= 0 && (sl = ioqueue_next_unsent(&s->q)))
		if (send_slot(s, sl) != 0)
			return;
}

/*
 * Write-back (woverlay.h): a kernel FLUSH is answered after a sweep has
 * written every page dirty at its arrival to the server and the server has
 * flushed them (NBD proto.md "NBD_CMD_FLUSH": completed writes persisted).
 * FLUSHes that arrive during a sweep wait for the next one. The sweep's
 * writes are slots like any other: resent after a reconnect, at most
 * WB_SLOTS_MAX at once so reads keep moving.
 */
enum { WB_WRITE = 1, WB_FLUSH };

static void writeback_pump(struct serve *s);

static void sweep_begin(struct serve *s)
{
	wov_sweep_start(s->wov);
	s->sweeping = 1;
	s->wb_error = 0;
}

static void flush_done(struct serve *s, uint32_t error)
{
	unsigned i;

	for (i = 0; i < s->nflush_now; i++)
		reply_kernel(s, s->flush_now[i], error, NULL, 0);
	s->nflush_now = 0;
	if (s->nflush_next) {
		memcpy(s->flush_now, s->flush_next,
		       s->nflush_next * sizeof(s->flush_now[0]));
		s->nflush_now = s->nflush_next;
		s->nflush_next = 0;
		sweep_begin(s);
	}
}

/* Every run handed out and answered: the server's FLUSH, or the error. */
static void sweep_end(struct serve *s)
{
	struct ioslot *sl;

	if (s->wb_error) {
		s->sweeping = 0;
		flush_done(s, s->wb_error);
		return;
	}
	if (!(sl = ioqueue_get(&s->q)))
		return;		/* a slot frees up: pumped again then */
	s->sweeping = 0;
	sl->writeback = WB_FLUSH;
	memset(&sl->req, 0, sizeof(sl->req));
	sl->req.type = NBD_CMD_FLUSH;
	sl->req.handle = sl->seq;
	if (s->conn.fd >= 0)
		send_slot(s, sl);
}

static void writeback_pump(struct serve *s)
{
	struct wov_range run;
	struct ioslot *sl;
	int rc;

	while (s->sweeping == 1 && s->wb_inflight < WB_SLOTS_MAX &&
	       !s->expired && (sl = ioqueue_get(&s->q))) {
		if ((rc = wov_sweep_next(s->wov, sl->buf, WB_RUN_MAX,
					 &run)) <= 0) {
			ioqueue_put(&s->q, sl);
			if (rc < 0) {
				log_warnx("overlay: reading the cache partition "
					  "for write-back failed: FLUSH fails "
					  "with EIO (check the disk: dmesg)");
				s->wb_error = NBD_EIO;
			}
			s->sweeping = 2;
			break;
		}
		sl->writeback = WB_WRITE;
		memset(&sl->req, 0, sizeof(sl->req));
		sl->req.type = NBD_CMD_WRITE;
		sl->req.offset = run.off;
		sl->req.length = run.len;
		sl->req.handle = sl->seq;
		s->wb_inflight++;
		if (s->conn.fd >= 0)
			send_slot(s, sl);
	}
	if (s->sweeping == 1 && s->expired) {
		s->sweeping = 2;
		s->wb_error = NBD_EIO;
	}
	if (s->sweeping == 2 && !s->wb_inflight)
		sweep_end(s);
}

/* A kernel FLUSH in write-back mode. */
static int flush_hold(struct serve *s, uint64_t handle)
{
	if (s->expired)
		return reply_kernel(s, handle, NBD_EIO, NULL, 0);
	if (!s->nflush_now) {
		s->flush_now[s->nflush_now++] = handle;
		sweep_begin(s);
	} else {
		s->flush_next[s->nflush_next++] = handle;
	}
	writeback_pump(s);
	return 0;
}

/* The server answered one of the sweep's own requests. */
static void writeback_reply(struct serve *s, struct ioslot *sl,
			    uint32_t error)
{
	int kind = sl->writeback;

	if (kind == WB_WRITE) {
		if (error) {
			/* the pages stay dirty: the next FLUSH tries again */
			wov_redirty(s->wov, sl->req.offset, sl->req.length);
			s->wb_error = error;
			if (error == NBD_ENOSPC)
				overlay_full_msg(s);
			else
				log_warnx("overlay: the server refused a "
					  "write-back at %llu+%u (error %u): "
					  "FLUSH fails",
					  (unsigned long long)sl->req.offset,
					  sl->req.length, error);
		}
		s->wb_inflight--;
	}
	ioqueue_put(&s->q, sl);
	if (kind == WB_FLUSH)
		flush_done(s, error);
	writeback_pump(s);
}

/* outage longer than linkboot.reconnect: fail what waits, with EIO */
static void fail_all(struct serve *s)
{
	unsigned i;

	for (i = 0; i < IOQUEUE_SLOTS; i++) {
		struct ioslot *sl = &s->q.s[i];

		if (!sl->used)
			continue;
		if (sl->writeback) {
			writeback_reply(s, sl, NBD_EIO);
			continue;
		}
		cache_abort(s->cache, &s->rd[i].sp);
		s->rd[i].waiting = 0;
		reply_kernel(s, sl->kernel_handle, NBD_EIO, NULL, 0);
		ioqueue_put(&s->q, sl);
	}
}

static void try_reconnect(struct serve *s, int64_t now)
{
	uint64_t old_size = s->conn.size;
	char msg[128];

	if (now < s->next_attempt)
		return;
	if (nbd_client_connect(s->cfg, &s->conn) == 0) {
		if (s->conn.size != old_size)
			log_warnx("nbd: export size changed %llu -> %llu "
				  "after reconnect; keeping the old size",
				  (unsigned long long)old_size,
				  (unsigned long long)s->conn.size);
		s->conn.size = old_size;
		log_info("nbd: reconnected after %lld ms, resending %u "
			 "request(s)", (long long)(now_ms() - s->down_since),
			 s->q.used);
		snprintf(msg, sizeof(msg), "outage_ms=%lld",
			 (long long)(now_ms() - s->down_since));
		s->down_since = 0;
		s->expired = 0;
		send_unsent(s);
		if (s->ns)
			report_send(s->cfg, s->ns->mac, "reconnected", msg);
		return;
	}
	s->backoff_ms = MIN(s->backoff_ms * 2, BACKOFF_MAX_MS);
	s->next_attempt = now_ms() + s->backoff_ms;
	if (!s->expired &&
	    now - s->down_since > (int64_t)s->cfg->reconnect_s * 1000) {
		s->expired = 1;
		log_warnx("nbd: server unreachable for more than %u s "
			  "(linkboot.reconnect): failing %u request(s) with "
			  "EIO; still trying (check: server running? cable? "
			  "`linkboot status` on the server)",
			  s->cfg->reconnect_s, s->q.used);
		fail_all(s);
	}
}

/*
 * A READ: from RAM/SSD at once, or the slot asks the server for the span
 * of whole blocks around it, or (fetch once) waits for the slot that
 * already asks for one of its blocks.
 */
static int read_request(struct serve *s, const struct nbd_request *r)
{
	struct iovec iov[1 + CACHE_SPAN_MAX];
	struct ioslot *sl;
	struct serve_read *rd;
	unsigned n;
	int rc;

	if (s->wov && wov_covers(s->wov, r->offset, r->length))
		/* written here: all local */
		return reply_read(s, r->handle, 0, s->kbuf, r->offset,
				  r->length);
	/* the common case: all in RAM, sent from the blocks themselves
	 * (unless the overlay has bytes to lay over them) */
	if (!(s->wov && wov_touches(s->wov, r->offset, r->length)) &&
	    cache_peek(s->cache, r->offset, r->length, iov + 1, &n))
		return reply_kernel_iov(s, r->handle, iov, n);
	sl = ioqueue_get(&s->q);	/* poll: one is free */
	rd = slot_read(s, sl);
	rc = cache_read(s->cache, r->offset, r->length, s->kbuf, &rd->sp);
	if (rc == 1 || rc < 0 || s->expired) {
		if (rc == 0)
			cache_abort(s->cache, &rd->sp);
		ioqueue_put(&s->q, sl);
		return reply_read(s, r->handle, rc == 1 ? 0 : rc < 0 ?
				  NBD_EINVAL : NBD_EIO, s->kbuf, r->offset,
				  r->length);
	}
	rd->off = r->offset;
	rd->len = r->length;
	rd->waiting = rc == CACHE_WAIT;
	sl->kernel_handle = r->handle;
	sl->req = *r;
	sl->req.offset = rd->sp.off;
	sl->req.length = rd->sp.len;
	sl->req.handle = sl->seq;
	if (s->conn.fd < 0)
		log_debug("nbd: read %llu+%u waits for the server",
			  (unsigned long long)r->offset, r->length);
	if (!rd->waiting && s->conn.fd >= 0)
		send_slot(s, sl);
	return 0;
}

/* A fill landed: the reads waiting for its blocks try again. */
static void wake_waiters(struct serve *s)
{
	unsigned i;

	for (i = 0; i < IOQUEUE_SLOTS; i++) {
		struct serve_read *rd = &s->rd[i];
		struct ioslot *sl = &s->q.s[i];
		int rc;

		if (!sl->used || !rd->waiting)
			continue;
		if (sl->sent) {	/* resent after a reconnect: the reply
				 * answers it like any fetch */
			rd->waiting = 0;
			continue;
		}
		rc = cache_read(s->cache, rd->off, rd->len, s->kbuf, &rd->sp);
		if (rc == CACHE_WAIT)
			continue;
		rd->waiting = 0;
		if (rc == 0) {		/* its fetch failed: ours now */
			if (s->conn.fd >= 0)
				send_slot(s, sl);
			continue;
		}
		reply_read(s, sl->kernel_handle, rc == 1 ? 0 : NBD_EIO,
			   s->kbuf, rd->off, rd->len);
		ioqueue_put(&s->q, sl);
	}
}

/*
 * The server's data for a READ slot: verified and cached by cache_fill();
 * a block that fails its hash is fetched again (VERIFY_TRIES), then the
 * kernel gets EIO, never the wrong bytes. 1: sent again, keep the slot.
 */
static int read_reply(struct serve *s, struct ioslot *sl, uint32_t *error,
		      const uint8_t **data)
{
	struct serve_read *rd = slot_read(s, sl);
	int rc;

	*data = sl->buf + (rd->off - rd->sp.off);
	rd->waiting = 0;	/* a waiter resent after a reconnect */
	if (*error) {
		cache_abort(s->cache, &rd->sp);
		return 0;
	}
	rc = cache_fill(s->cache, &rd->sp, sl->buf);
	if (rc == -EBADMSG && rd->sp.tries < VERIFY_TRIES) {
		log_warnx("nbd: blocks at %llu+%u failed verification against "
			  "the block-hash table: fetching again",
			  (unsigned long long)rd->sp.off, rd->sp.len);
		sl->sent = 0;
		if (s->conn.fd >= 0)
			send_slot(s, sl);
		return 1;
	}
	if (rc) {
		log_warnx("nbd: blocks at %llu+%u still fail verification "
			  "after %u fetches: EIO (server serves another "
			  "version than linkboot.hashes?)",
			  (unsigned long long)rd->sp.off, rd->sp.len,
			  rd->sp.tries);
		cache_abort(s->cache, &rd->sp);
		*error = NBD_EIO;
	}
	return 0;
}

/*
 * A WRITE or WRITE_ZEROES: the overlay's local tiers take what they can
 * (woverlay.h); the rest still goes to the server in this slot, narrowed.
 * 1: answered here, 0: send the slot, <0: the kernel is gone.
 */
static int overlay_write(struct serve *s, struct nbd_request *r,
			 struct ioslot *sl)
{
	struct wov_range srv;
	int rc;

	if (r->type == NBD_CMD_WRITE)
		rc = wov_write(s->wov, r->offset, r->length, sl->buf,
			       !!(r->flags & NBD_CMD_FLAG_FUA), &srv);
	else
		rc = wov_zero(s->wov, r->offset, r->length, &srv);
	if (rc == 0 && srv.len) {
		if (r->type == NBD_CMD_WRITE) {
			memmove(sl->buf, sl->buf + (srv.off - r->offset),
				srv.len);
			r->offset = srv.off;
			r->length = srv.len;
		}
		return 0;
	}
	ioqueue_put(&s->q, sl);
	if (rc)
		log_warnx("overlay: writing the cache partition failed at "
			  "%llu+%u: EIO (check the disk: dmesg)",
			  (unsigned long long)r->offset, r->length);
	rc = reply_kernel(s, r->handle, rc ? NBD_EIO : 0, NULL, 0);
	return rc < 0 ? rc : 1;
}

/* A request from nbd.ko (NBD proto.md "Transmission"). <0: kernel gone. */
static int kernel_request(struct serve *s)
{
	uint8_t h[NBD_REQUEST_SIZE];
	struct nbd_request r;
	struct ioslot *sl;
	int rc;

	if ((rc = fd_read_full(s->kfd, h, sizeof(h))) != 0)
		return rc;
	if (nbd_parse_request(h, sizeof(h), &r) != 0)
		return -EPROTO;
	if (r.type == NBD_CMD_DISC)
		return -ESHUTDOWN;
	if ((r.type == NBD_CMD_READ || r.type == NBD_CMD_WRITE) &&
	    r.length > SERVE_BUFSZ) {
		/* cannot happen with max_sectors_kb set; drain and refuse */
		log_warnx("nbd: kernel request of %u bytes > %u", r.length,
			  SERVE_BUFSZ);
		if (r.type == NBD_CMD_WRITE) {
			uint32_t left = r.length;

			while (left) {
				uint32_t n = MIN(left, SERVE_BUFSZ);

				if ((rc = fd_read_full(s->kfd, s->kbuf, n)))
					return rc;
				left -= n;
			}
		}
		return reply_kernel(s, r.handle, NBD_EINVAL, NULL, 0);
	}
	if (r.type == NBD_CMD_READ)
		return read_request(s, &r);
	if (r.type == NBD_CMD_WRITE || r.type == NBD_CMD_TRIM ||
	    r.type == NBD_CMD_WRITE_ZEROES) {
		/* write data must be read off the socket in any case */
		sl = ioqueue_get(&s->q);	/* poll guarantees one is free */
		if (r.type == NBD_CMD_WRITE &&
		    (rc = fd_read_full(s->kfd, sl->buf, r.length)) != 0)
			return rc;
		if (s->read_only) {
			ioqueue_put(&s->q, sl);
			return reply_kernel(s, r.handle, NBD_EPERM, NULL, 0);
		}
		cache_invalidate(s->cache, r.offset, r.length);
		if (s->wov && r.type != NBD_CMD_TRIM &&
		    (rc = overlay_write(s, &r, sl)) != 0)
			return rc < 0 ? rc : 0;
	} else if (r.type == NBD_CMD_FLUSH && s->read_only) {
		return reply_kernel(s, r.handle, 0, NULL, 0);
	} else if (r.type != NBD_CMD_FLUSH) {
		return reply_kernel(s, r.handle, NBD_EINVAL, NULL, 0);
	} else if (s->wov && wov_writeback(s->wov)) {
		return flush_hold(s, r.handle);
	} else {
		sl = ioqueue_get(&s->q);
	}
	if (s->expired) {	/* past the outage bound: fail fast */
		ioqueue_put(&s->q, sl);
		return reply_kernel(s, r.handle, NBD_EIO, NULL, 0);
	}
	sl->kernel_handle = r.handle;
	sl->req = r;
	sl->req.handle = sl->seq;
	if (s->conn.fd < 0)
		log_debug("nbd: request %llu+%u waits for the server",
			  (unsigned long long)r.offset, r.length);
	if (s->conn.fd >= 0)
		send_slot(s, sl);
	return 0;
}

static int server_reply(struct serve *s)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];
	struct nbd_reply rep;
	const uint8_t *data;
	struct ioslot *sl;
	uint32_t error;
	int rc;

	if ((rc = fd_read_full(s->conn.fd, h, sizeof(h))) != 0) {
		conn_lost(s, rc == -EPIPE ? "server closed" : strerror(-rc));
		return 0;
	}
	/* simple replies only: we never ask for structured ones */
	if (nbd_parse_reply(h, sizeof(h), &rep) != 0 || rep.structured ||
	    !(sl = ioqueue_find(&s->q, rep.handle))) {
		conn_lost(s, "bad reply from server");
		return 0;
	}
	error = rep.error;
	if (sl->writeback) {
		writeback_reply(s, sl, error);
		return 0;
	}
	if (error == NBD_ENOSPC)
		overlay_full_msg(s);
	if (sl->req.type == NBD_CMD_READ && !error &&
	    (rc = fd_read_full(s->conn.fd, sl->buf, sl->req.length))) {
		conn_lost(s, strerror(-rc));
		return 0;
	}
	data = sl->buf;
	if (sl->req.type == NBD_CMD_READ && read_reply(s, sl, &error, &data))
		return 0;
	if (sl->req.type == NBD_CMD_READ)
		rc = reply_read(s, sl->kernel_handle, error, (uint8_t *)data,
				slot_read(s, sl)->off, slot_read(s, sl)->len);
	else
		rc = reply_kernel(s, sl->kernel_handle, error, NULL, 0);
	ioqueue_put(&s->q, sl);
	wake_waiters(s);
	cache_export_stats(s->cache);
	return rc;
}

static void set_max_sectors(int index)
{
	char path[96], val[16];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/block/nbd%d/queue/max_sectors_kb",
		 index);
	n = snprintf(val, sizeof(val), "%u", SERVE_BUFSZ / 1024);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 ||
	    write(fd, val, (size_t)n) != n)
		log_warn("%s", path);
	if (fd >= 0)
		close(fd);
}

static int first_connect(struct serve *s)
{
	int64_t start = now_ms();
	int backoff = 500, rc;

	for (;;) {
		if ((rc = nbd_client_connect(s->cfg, &s->conn)) == 0)
			return 0;
		if (now_ms() - start > (int64_t)s->cfg->reconnect_s * 1000)
			return rc;
		usleep((useconds_t)backoff * 1000);
		backoff = MIN(backoff * 2, BACKOFF_MAX_MS);
	}
}

/* root served read-only unless writes go to the server */
static int export_writable(const struct serve *s)
{
	return (s->cfg->write_mode == WRITE_SERVER ||
		s->cfg->write_mode == WRITE_SUPER) &&
	       !(s->conn.flags & NBD_FLAG_READ_ONLY);
}

static int attach_kernel(struct serve *s)
{
	uint64_t flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	s->read_only = !export_writable(s);
	if (s->read_only)
		flags |= NBD_FLAG_READ_ONLY;
	else
		flags |= s->conn.flags & (NBD_FLAG_SEND_FUA |
					  NBD_FLAG_SEND_TRIM |
					  NBD_FLAG_SEND_WRITE_ZEROES);
	s->index = -1;
	rc = nbd_kernel_connect(sv[0], s->conn.size, 512, flags,
				s->cfg->reconnect_s, &s->index);
	close(sv[0]);	/* the kernel holds its own reference */
	if (rc != 0) {
		close(sv[1]);
		return rc;
	}
	s->kfd = sv[1];
	set_max_sectors(s->index);
	return 0;
}

static void overlay_stats(struct serve *s, int log)
{
	struct wov_stats st;

	if (!s->wov)
		return;
	wov_stats(s->wov, &st);
	agent_stats.overlay_bytes = (st.ram_pages + st.part_pages) * WOV_PAGE +
				    st.server_bytes;
	if (log)
		log_info("overlay: RAM %llu of %llu MiB, cache partition %llu "
			 "of %llu MiB, %llu MiB sent to the server, %llu "
			 "pages dirty, %llu written back",
			 (unsigned long long)(st.ram_pages * WOV_PAGE >> 20),
			 (unsigned long long)(st.ram_slots * WOV_PAGE >> 20),
			 (unsigned long long)(st.part_pages * WOV_PAGE >> 20),
			 (unsigned long long)(st.part_slots * WOV_PAGE >> 20),
			 (unsigned long long)(st.server_bytes >> 20),
			 (unsigned long long)st.dirty_pages,
			 (unsigned long long)st.written_back);
}

static void report_stats(struct serve *s, const char *event)
{
	int log = strcmp(event, "periodic") != 0;

	cache_export_stats(s->cache);
	overlay_stats(s, log);
	if (log)
		cache_log_stats(s->cache);
	if (s->ns)
		report_send(s->cfg, s->ns->mac, event, NULL);
}

/* PID 1 tells us when the root was mounted and switch_root happens */
static void read_info(struct serve *s)
{
	char buf[64];
	long long t_root, t_switch;
	ssize_t n = read(s->info_fd, buf, sizeof(buf) - 1);

	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%lld %lld", &t_root, &t_switch) == 2) {
			agent_stats.t_root = t_root;
			agent_stats.t_switch = t_switch;
			log_info("boot: agent start %lld ms, net up +%lld, nbd "
				 "+%lld, root mounted +%lld, switch_root +%lld",
				 (long long)agent_stats.t_start,
				 (long long)(agent_stats.t_net - agent_stats.t_start),
				 (long long)(agent_stats.t_nbd - agent_stats.t_start),
				 t_root - agent_stats.t_start,
				 t_switch - agent_stats.t_start);
			report_send(s->cfg, s->ns->mac, "switch_root", NULL);
		}
	}
	close(s->info_fd);
	s->info_fd = -1;
}

/* Until the kernel goes: its reason (-EPIPE: EOF, -ESHUTDOWN: DISC). */
static int serve_loop(struct serve *s)
{
	int64_t last_report = now_ms();

	for (;;) {
		struct pollfd p[3];
		int64_t now;
		int n = 0, rc;

		p[0].fd = s->kfd;
		p[0].events = s->q.used < IOQUEUE_SLOTS &&
			      s->nflush_next < IOQUEUE_SLOTS ? POLLIN : 0;
		p[0].revents = 0;
		n = 1;
		if (s->conn.fd >= 0) {
			p[1].fd = s->conn.fd;
			p[1].events = POLLIN;
			p[1].revents = 0;
			n = 2;
		}
		p[2].fd = s->info_fd;	/* poll ignores a negative fd */
		p[2].events = POLLIN;
		p[2].revents = 0;
		if (n == 1) {
			p[1].fd = -1;
			p[1].events = 0;
			p[1].revents = 0;
		}
		if (poll(p, 3, s->conn.fd >= 0 ? 1000 : 100) < 0 &&
		    errno != EINTR)
			log_warn("poll");
		now = now_ms();
		if (n == 2 && (p[1].revents & (POLLIN | POLLERR | POLLHUP)))
			server_reply(s);
		if (p[0].events && (p[0].revents & (POLLIN | POLLERR | POLLHUP))) {
			if ((rc = kernel_request(s)) != 0)
				return rc;
		}
		if (p[2].revents)
			read_info(s);
		if (s->conn.fd < 0)
			try_reconnect(s, now);
		if (s->nflush_now)
			writeback_pump(s);	/* a FLUSH may wait for a slot */
		if (s->ns)
			net_tick(s->ns, now);
		cache_tick(s->cache, now);
		if (report_asked) {
			report_asked = 0;
			report_stats(s, "requested");
		}
		if (now - last_report >= REPORT_EVERY_MS) {
			last_report = now;
			report_stats(s, "periodic");
		}
	}
}

static int serve_alloc(struct serve *s)
{
	/* a slot holds a request's span of whole blocks (cache.h) */
	if (ioqueue_init(&s->q, SLOT_BUFSZ) != 0 ||
	    (s->kbuf = mmap(NULL, SERVE_BUFSZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		s->kbuf = NULL;
		log_warnx("agent: cannot allocate the I/O buffers");
		return -ENOMEM;
	}
	return 0;
}

/* The cache stack needs the export's size: after the first connect. */
static int serve_cache(struct serve *s)
{
	if (s->cache)
		return 0;
	if (!(s->cache = cache_setup(s->cfg, s->conn.size))) {
		log_warnx("agent: cannot allocate %u MiB of RAM cache (check "
			  "linkboot.ram against the PC's memory)",
			  s->cfg->ram_mib);
		return -ENOMEM;
	}
	return 0;
}

static void serve_release(struct serve *s)
{
	ioqueue_free(&s->q);
	cache_free(s->cache);	/* the child keeps its own copy */
	s->cache = NULL;
	if (s->kbuf)
		munmap(s->kbuf, SERVE_BUFSZ);
	s->kbuf = NULL;
}

/* The cache partition as the overlay's second tier: the SSD read cache's
 * superblock goes (verified modes format it again; its blocks are keyed
 * and checked, so pages written over its ring are misses, not data). */
static void overlay_partition(struct serve *s)
{
	static const uint8_t zero[WOV_PAGE];
	struct wov_cfg *wc = &s->wov_cfg;
	char dev[256];
	uint64_t size;
	int fd;

	if (s->cfg->ssd_mode < 0 ||
	    cache_partition_open(s->cfg, &fd, &size, dev, sizeof(dev)) != 0)
		return;
	if (size < WOV_PART_OFF + 16 * WOV_PAGE ||
	    pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero)) {
		log_warnx("overlay: %s is too small or not writable: not used",
			  dev);
		close(fd);
		return;
	}
	wc->part_fd = fd;
	wc->part_off = WOV_PART_OFF;
	wc->part_bytes = size - WOV_PART_OFF;
	log_info("overlay: %s (PARTLABEL=%s), %llu MiB, holds writes once "
		 "RAM is full", dev, CACHE_PARTLABEL_NAME,
		 (unsigned long long)(wc->part_bytes >> 20));
}

/*
 * A read-write root gets the block write overlay (woverlay.h). Its memory
 * is a memfd made here, in the supervisor, so the daemons it starts share
 * it; the supervisor itself never maps it (its pages fill only as the OS
 * writes). Without it, writes go straight to the server as before.
 */
static void overlay_setup(struct serve *s)
{
	const struct agent_cfg *cfg = s->cfg;
	struct wov_cfg *wc = &s->wov_cfg;
	struct wov *w = NULL;
	void *mem = MAP_FAILED;
	int rc = -ENOMEM;

	memset(wc, 0, sizeof(*wc));
	wc->image_size = s->conn.size;
	wc->ram_bytes = (uint64_t)(cfg->overlay_mib ? cfg->overlay_mib :
				   WOV_RAM_DEFAULT_MIB) << 20;
	wc->part_fd = -1;
	/* kept (or super) overlays must reach the server at every FLUSH */
	wc->writeback = cfg->write_mode == WRITE_SUPER || cfg->keep;
	overlay_partition(s);
	s->wov_len = wov_mem_size(wc);
	if ((s->wov_memfd = memfd_create("linkboot-overlay", MFD_CLOEXEC)) < 0 ||
	    ftruncate(s->wov_memfd, (off_t)s->wov_len) != 0 ||
	    (mem = mmap(NULL, s->wov_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			s->wov_memfd, 0)) == MAP_FAILED ||
	    (rc = wov_open(wc, mem, &w)) != 0) {
		log_warnx("overlay: cannot set up the block write overlay (%s): "
			  "writes go to the server", strerror(rc ? -rc : errno));
		if (s->wov_memfd >= 0)
			close(s->wov_memfd);
		s->wov_memfd = -1;
		if (wc->part_fd >= 0)
			close(wc->part_fd);
		if (mem != MAP_FAILED)
			munmap(mem, s->wov_len);
		return;
	}
	wov_close(w);
	munmap(mem, s->wov_len);
	log_info("overlay: block writes go to RAM (%u MiB)%s, then the server; "
		 "%s", (unsigned)(wc->ram_bytes >> 20),
		 wc->part_fd >= 0 ? ", then the cache partition" : "",
		 wc->writeback ? "written back to the server at every FLUSH" :
		 "kept on this PC until the tiers are full (the server drops "
		 "this overlay at the next boot)");
}

/* In the daemon: map the supervisor's overlay memory, locked page by page
 * as it fills (a fault allocates under PR_SET_IO_FLUSHER: no recursion). */
static int overlay_attach(struct serve *s)
{
	void *mem;
	int rc;

	if (mlockall(MCL_FUTURE | MCL_ONFAULT) != 0)
		log_warn("mlockall(MCL_ONFAULT)");
	mem = mmap(NULL, s->wov_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		   s->wov_memfd, 0);
	if (mem == MAP_FAILED) {
		log_warn("overlay: mmap");
		return -ENOMEM;
	}
	if ((rc = wov_open(&s->wov_cfg, mem, &s->wov)) != 0)
		log_warnx("overlay: %s", strerror(-rc));
	return rc;
}

static void serve_child(struct serve *s) __attribute__((noreturn));
static void serve_child(struct serve *s)
{
	int rc;

	if ((!s->kbuf && serve_alloc(s) != 0) || serve_cache(s) != 0)
		_exit(1);
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0)
		log_warn("prctl(PR_SET_IO_FLUSHER)");
	/* everything is allocated: lock it, no page faults on the I/O path */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		log_warn("mlockall");
	if (s->wov_memfd >= 0 && overlay_attach(s) != 0)
		_exit(1);
	rc = serve_loop(s);
	log_info("nbd%d: kernel disconnected (%s); daemon exits", s->index,
		 strerror(-rc));
	_exit(0);
}

/* After a crash: a new socketpair for the same /dev/nbdN. */
static int respawn_socket(struct serve *s)
{
	int sv[2], rc = -EIO, i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	/* the kernel marks the old socket dead when it sees EOF: retry */
	for (i = 0; i < 50; i++) {
		if ((rc = nbd_kernel_reconfigure(s->index, sv[0])) == 0)
			break;
		usleep(100000);
	}
	close(sv[0]);
	if (rc != 0) {
		close(sv[1]);
		log_warnx("nbd%d: NBD_CMD_RECONFIGURE: %s", s->index,
			  strerror(-rc));
		return rc;
	}
	s->kfd = sv[1];
	s->conn.fd = -1;
	s->down_since = now_ms();
	s->next_attempt = 0;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->expired = 0;
	return 0;
}

/*
 * The supervisor: holds no socket end and no big buffer, only waits. A
 * crashed server child is replaced (new socketpair + NBD_CMD_RECONFIGURE,
 * DESIGN.md "Verified") and the mounted root continues. Requests the dead
 * child had in flight stay stuck in the kernel (we set no NBD_ATTR_TIMEOUT:
 * one would also kill our socket during a long server outage); new ones
 * are served.
 */
static void supervise(struct serve *s) __attribute__((noreturn));
static void supervise(struct serve *s)
{
	unsigned restarts = 0;
	int st;

	for (;;) {
		pid_t pid = fork();

		if (pid < 0) {
			log_warn("agent: fork; serving without a supervisor");
			serve_child(s);
		}
		if (pid == 0)
			serve_child(s);
		/* only the serving process may hold the socketpair's end */
		if (s->kfd >= 0)
			close(s->kfd);
		s->kfd = -1;
		nbd_client_close(&s->conn);
		if (s->info_fd >= 0)
			close(s->info_fd);
		s->info_fd = -1;
		serve_release(s);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			_exit(0);	/* the kernel disconnected: done */
		restarts++;
		log_warnx("nbd%d: disk daemon died (%s %d); starting a new one "
			  "(#%u)", s->index, WIFSIGNALED(st) ? "signal" : "exit",
			  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
			  restarts);
		sleep(MIN(restarts, 5u));
		while (respawn_socket(s) != 0)
			sleep(5);
	}
}

void serve_daemon(const struct agent_cfg *cfg, struct net_state *ns,
		  int ready_fd, int info_fd)
{
	static struct serve s;
	char msg[64];
	int rc, len;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.ns = ns;
	s.conn.fd = -1;
	s.kfd = -1;
	s.wov_memfd = -1;
	s.info_fd = info_fd;
	harden();
	if ((rc = serve_alloc(&s)) != 0)
		goto fail;
	if ((rc = first_connect(&s)) != 0) {
		log_warnx("nbd: no server answered for %u s (check: `linkboot "
			  "serve` running, NBD port open, linkboot.server, "
			  "the PC still linked)", cfg->reconnect_s);
		goto fail;
	}
	/* hash table, SSD, boot pack: before the kernel's first read */
	if ((rc = serve_cache(&s)) != 0)
		goto fail;
	/* before the kernel has the device: blkid's scan for the cache
	 * partition would read it, and nobody serves it yet */
	if (export_writable(&s))
		overlay_setup(&s);
	agent_stats.t_nbd = now_ms();
	if ((rc = attach_kernel(&s)) != 0) {
		log_warnx("nbd: NBD_CMD_CONNECT: %s (check: nbd.ko loaded "
			  "with nbds_max, a free /dev/nbdN)", strerror(-rc));
		goto fail;
	}
	log_info("nbd%d: %llu bytes from %s:%u, %s, RAM cache %u MiB",
		 s.index, (unsigned long long)s.conn.size,
		 inet_ntoa(cfg->server[s.conn.server].sin_addr),
		 ntohs(cfg->server[s.conn.server].sin_port),
		 s.read_only ? "read-only" : "read-write", cfg->ram_mib);
	len = snprintf(msg, sizeof(msg), "%d %lld\n", s.index,
		       (long long)agent_stats.t_nbd);
	if (write(ready_fd, msg, (size_t)len) != len)
		log_warn("ready pipe");
	close(ready_fd);
	report_send(cfg, ns->mac, "nbd_connected", NULL);
	supervise(&s);
fail:
	len = snprintf(msg, sizeof(msg), "-1 %d\n", rc);
	if (write(ready_fd, msg, (size_t)len) < 0)
		log_warn("ready pipe");
	_exit(1);
}

/*
 * The same loop on a socket the caller hands us instead of nbd.ko's
 * socketpair (bench/cache_replay.c plays the kernel on the host, which
 * has no nbd.ko): connect to cfg's server, serve kfd with cache until its
 * peer closes or sends NBD_CMD_DISC. None of serve_daemon()'s process
 * setup (fork, supervisor, mlockall, signals), no DHCP upkeep, no
 * reports. kfd and cache stay the caller's.
 */
int serve_socket(const struct agent_cfg *cfg, int kfd, struct cache *cache)
{
	struct serve *s;
	int rc;

	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->cfg = cfg;
	s->conn.fd = -1;
	s->kfd = kfd;
	s->index = -1;
	s->info_fd = -1;
	s->wov_memfd = -1;	/* no write overlay here */
	s->cache = cache;
	if ((rc = serve_alloc(s)) != 0)
		goto out;
	if ((rc = nbd_client_connect(cfg, &s->conn)) != 0)
		goto out;
	s->read_only = !export_writable(s);
	rc = serve_loop(s);
	if (rc == -EPIPE || rc == -ESHUTDOWN)
		rc = 0;
out:
	nbd_client_close(&s->conn);
	s->cache = NULL;
	serve_release(s);
	free(s);
	return rc;
}
