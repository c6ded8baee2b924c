/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The serving child of the disk daemon (disk_daemon.h): answers nbd.ko's
 * requests on the socketpair from the cache or the server, and hides the
 * network from the kernel.
 *
 *   nbd.ko --socketpair--> [ kernel fd ] serve loop [ server fd ] --TCP-->
 *                              |  cache hit (RAM/SSD): answer at once
 *                              |  miss: ioqueue slot, send the block-
 *                              |  aligned span, verify, fill, answer
 *                              |  server gone: requeue all, reconnect
 *                              |  with backoff, send again in order
 *
 * Each wake-up takes what each socket holds in one recv() (rxbuf.h) and
 * handles every whole message in it: a READ's data is verified, cached
 * and sent to the kernel from where it was received.
 *
 * Runs forked from the supervisor (only this process holds the
 * socketpair's end, so the kernel sees EOF if it dies), locked in memory,
 * PR_SET_IO_FLUSHER, never touches the nbd-backed root (DESIGN.md
 * "Verified").
 */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cache_setup.h"
#include "disk_daemon.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "nbd_wire.h"

/* a slot holds the largest kernel request widened to whole cache blocks */
#define SLOT_BUFSZ CACHE_FETCH_MAX
/* Received, not yet parsed: the server's replies (two of the largest, so
 * a long one rarely needs its head moved to the front) and the kernel's
 * requests (headers, and whatever part of a WRITE's data came with them;
 * the rest is read straight into its slot). */
#define SRX_BUFSZ (2 * (NBD_SIMPLE_REPLY_SIZE + SLOT_BUFSZ))
#define KRX_BUFSZ (64u * 1024)
#define REPORT_EVERY_MS 60000
#define VERIFY_TRIES 3		/* refetches of a block that fails its hash */
#define FULL_MSG_EVERY_MS 30000

static volatile sig_atomic_t report_asked;

void serve_on_sigusr1(int sig)
{
	(void)sig;
	report_asked = 1;
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
int serve_reply_kernel(struct disk_daemon *d, uint64_t handle, uint32_t error,
		       const void *data, uint32_t len)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)(uintptr_t)data, .iov_len = len },
	};

	nbd_build_simple_reply(h, sizeof(h), error, handle);
	return send_iov_full(d->kfd, iov, !error && len ? 2 : 1);
}

/* A RAM hit straight from the cache's blocks (cache_peek()): iov[1..n]
 * is the data, iov[0] is set here to the header. No copy into kbuf. */
static int reply_kernel_iov(struct disk_daemon *d, uint64_t handle,
			    struct iovec *iov, unsigned n)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];

	nbd_build_simple_reply(h, sizeof(h), 0, handle);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	return send_iov_full(d->kfd, iov, (int)n + 1);
}

static struct pending_read *read_of_slot(struct disk_daemon *d,
					 struct ioslot *sl)
{
	return &d->rd[sl - d->q.s];
}

void serve_overlay_full_msg(struct disk_daemon *d)
{
	struct wov_stats st = { 0 };
	int64_t now = now_ms();

	if (d->full_logged && now - d->full_logged < FULL_MSG_EVERY_MS)
		return;
	d->full_logged = now;
	if (d->wov)
		wov_stats(d->wov, &st);
	log_warnx("linkboot: WRITE OVERLAY FULL: RAM (%llu MiB), cache "
		  "partition (%llu MiB) and this PC's overlay on the server "
		  "are full: writes fail with ENOSPC until the OS frees space; "
		  "nothing written so far is lost (check: the server's "
		  "overlay limit and free disk, `linkboot status`)",
		  (unsigned long long)(st.ram_slots * WOV_PAGE >> 20),
		  (unsigned long long)(st.part_slots * WOV_PAGE >> 20));
}

/* A read's bytes go to the kernel with the overlay's pages on top. */
static int reply_read(struct disk_daemon *d, uint64_t handle,
		      uint32_t error, uint8_t *data, uint64_t off,
		      uint32_t len)
{
	if (!error && d->wov && wov_touches(d->wov, off, len) &&
	    wov_patch(d->wov, off, len, data) != 0) {
		log_warnx("overlay: reading the cache partition failed at "
			  "%llu+%u: EIO (check the disk: dmesg)",
			  (unsigned long long)off, len);
		error = NBD_EIO;
	}
	return serve_reply_kernel(d, handle, error, data, len);
}

/* The server went away: what was in flight goes back to unsent, to be
 * sent again in order once try_reconnect() succeeds. */
static void conn_lost(struct disk_daemon *d, const char *why)
{
	unsigned n;

	if (d->conn.fd < 0)
		return;
	nbd_client_close(&d->conn);
	rxbuf_reset(&d->srx);	/* a part of a reply is no use to the next
				 * connection */
	n = ioqueue_requeue_all(&d->q);
	d->down_since = now_ms();
	d->next_attempt = d->down_since + BACKOFF_MIN_MS;
	d->backoff_ms = BACKOFF_MIN_MS;
	d->expired = 0;
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
			  d->cfg->reconnect_s);
}

int serve_send_slot(struct disk_daemon *d, struct ioslot *sl)
{
	uint8_t h[NBD_REQUEST_SIZE];
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = sizeof(h) },
		{ .iov_base = sl->buf, .iov_len = sl->req.length },
	};
	int rc;

	nbd_build_request(h, sizeof(h), &sl->req);
	rc = send_iov_full(d->conn.fd, iov,
			   sl->req.type == NBD_CMD_WRITE ? 2 : 1);
	if (rc != 0) {
		conn_lost(d, err_str(rc));
		return rc;
	}
	sl->sent = 1;
	return 0;
}

/* After a reconnect: the requeued slots, oldest first. */
static void send_unsent(struct disk_daemon *d)
{
	struct ioslot *sl;

	while (d->conn.fd >= 0 && (sl = ioqueue_next_unsent(&d->q)))
		if (serve_send_slot(d, sl) != 0)
			return;
}

/* outage longer than linkboot.reconnect: fail what waits, with EIO */
static void fail_all(struct disk_daemon *d)
{
	unsigned i;

	for (i = 0; i < IOQUEUE_SLOTS; i++) {
		struct ioslot *sl = &d->q.s[i];

		if (!sl->used)
			continue;
		if (sl->writeback) {
			writeback_reply(d, sl, NBD_EIO);
			continue;
		}
		cache_abort(d->cache, &d->rd[i].sp);
		d->rd[i].waiting = 0;
		serve_reply_kernel(d, sl->kernel_handle, NBD_EIO, NULL, 0);
		ioqueue_put(&d->q, sl);
	}
}

/* While down, at most once per backoff: the servers in turn; past
 * linkboot.reconnect what waits fails with EIO (and new requests too,
 * until the server is back). */
static void try_reconnect(struct disk_daemon *d, int64_t now)
{
	uint64_t old_size = d->conn.size;
	char msg[128];

	if (now < d->next_attempt)
		return;
	if (nbd_client_connect(d->cfg, &d->conn) == 0) {
		if (d->conn.size != old_size)
			log_warnx("nbd: export size changed %llu -> %llu "
				  "after reconnect; keeping the old size",
				  (unsigned long long)old_size,
				  (unsigned long long)d->conn.size);
		d->conn.size = old_size;
		log_info("nbd: reconnected after %lld ms, resending %u "
			 "request(s)", (long long)(now_ms() - d->down_since),
			 d->q.used);
		snprintf(msg, sizeof(msg), "outage_ms=%lld",
			 (long long)(now_ms() - d->down_since));
		d->down_since = 0;
		d->expired = 0;
		send_unsent(d);
		if (d->ns)
			report_send(d->cfg, d->ns->mac, "reconnected", msg);
		return;
	}
	d->backoff_ms = MIN(d->backoff_ms * 2, BACKOFF_MAX_MS);
	d->next_attempt = now_ms() + d->backoff_ms;
	if (!d->expired &&
	    now - d->down_since > (int64_t)d->cfg->reconnect_s * 1000) {
		d->expired = 1;
		log_warnx("nbd: server unreachable for more than %u s "
			  "(linkboot.reconnect): failing %u request(s) with "
			  "EIO; still trying (check: server running? cable? "
			  "`linkboot status` on the server)",
			  d->cfg->reconnect_s, d->q.used);
		fail_all(d);
	}
}

/*
 * A READ: from RAM/SSD at once, or the slot asks the server for the span
 * of whole blocks around it, or (fetch once) waits for the slot that
 * already asks for one of its blocks.
 */
static int read_request(struct disk_daemon *d, const struct nbd_request *r)
{
	struct iovec iov[1 + CACHE_SPAN_MAX];
	struct ioslot *sl;
	struct pending_read *rd;
	unsigned n;
	int rc;

	if (d->wov && wov_covers(d->wov, r->offset, r->length))
		/* written here: all local */
		return reply_read(d, r->handle, 0, d->kbuf, r->offset,
				  r->length);
	/* the common case: all in RAM, sent from the blocks themselves
	 * (unless the overlay has bytes to lay over them) */
	if (!(d->wov && wov_touches(d->wov, r->offset, r->length)) &&
	    cache_peek(d->cache, r->offset, r->length, iov + 1, &n))
		return reply_kernel_iov(d, r->handle, iov, n);
	sl = ioqueue_get(&d->q);	/* slot_free() said one is */
	rd = read_of_slot(d, sl);
	rc = cache_read(d->cache, r->offset, r->length, d->kbuf, &rd->sp);
	if (rc == 1 || rc < 0 || d->expired) {
		if (rc == 0)
			cache_abort(d->cache, &rd->sp);
		ioqueue_put(&d->q, sl);
		return reply_read(d, r->handle, rc == 1 ? 0 : rc < 0 ?
				  NBD_EINVAL : NBD_EIO, d->kbuf, r->offset,
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
	if (d->conn.fd < 0)
		log_debug("nbd: read %llu+%u waits for the server",
			  (unsigned long long)r->offset, r->length);
	if (!rd->waiting && d->conn.fd >= 0)
		serve_send_slot(d, sl);
	return 0;
}

/* A fill landed: the reads waiting for its blocks try again. */
static void wake_waiters(struct disk_daemon *d)
{
	unsigned i;

	for (i = 0; i < IOQUEUE_SLOTS; i++) {
		struct pending_read *rd = &d->rd[i];
		struct ioslot *sl = &d->q.s[i];
		int rc;

		if (!sl->used || !rd->waiting)
			continue;
		if (sl->sent) {	/* resent after a reconnect: the reply
				 * answers it like any fetch */
			rd->waiting = 0;
			continue;
		}
		rc = cache_read(d->cache, rd->off, rd->len, d->kbuf, &rd->sp);
		if (rc == CACHE_WAIT)
			continue;
		rd->waiting = 0;
		if (rc == 0) {		/* its fetch failed: ours now */
			if (d->conn.fd >= 0)
				serve_send_slot(d, sl);
			continue;
		}
		reply_read(d, sl->kernel_handle, rc == 1 ? 0 : NBD_EIO,
			   d->kbuf, rd->off, rd->len);
		ioqueue_put(&d->q, sl);
	}
}

/*
 * The server's data for a READ slot (span: the blocks it asked for, where
 * they were received): verified and cached by cache_fill(); a block that
 * fails its hash is fetched again (VERIFY_TRIES), then the kernel gets
 * EIO, never the wrong bytes. 1: sent again, keep the slot.
 */
static int read_reply(struct disk_daemon *d, struct ioslot *sl,
		      uint8_t *span, uint32_t *error, uint8_t **data)
{
	struct pending_read *rd = read_of_slot(d, sl);
	int rc;

	*data = span + (rd->off - rd->sp.off);
	rd->waiting = 0;	/* a waiter resent after a reconnect */
	if (*error) {
		cache_abort(d->cache, &rd->sp);
		return 0;
	}
	rc = cache_fill(d->cache, &rd->sp, span);
	if (rc == -EBADMSG && rd->sp.tries < VERIFY_TRIES) {
		log_warnx("nbd: blocks at %llu+%u failed verification against "
			  "the block-hash table: fetching again",
			  (unsigned long long)rd->sp.off, rd->sp.len);
		sl->sent = 0;
		if (d->conn.fd >= 0)
			serve_send_slot(d, sl);
		return 1;
	}
	if (rc) {
		log_warnx("nbd: blocks at %llu+%u still fail verification "
			  "after %u fetches: EIO (server serves another "
			  "version than linkboot.hashes?)",
			  (unsigned long long)rd->sp.off, rd->sp.len,
			  rd->sp.tries);
		cache_abort(d->cache, &rd->sp);
		*error = NBD_EIO;
	}
	return 0;
}

/*
 * A WRITE or WRITE_ZEROES: the overlay's local tiers take what they can
 * (woverlay.h); the rest still goes to the server in this slot, narrowed.
 * 1: answered here, 0: send the slot, <0: the kernel is gone.
 */
static int overlay_write(struct disk_daemon *d, struct nbd_request *r,
			 struct ioslot *sl)
{
	struct wov_range srv;
	int rc;

	if (r->type == NBD_CMD_WRITE)
		rc = wov_write(d->wov, r->offset, r->length, sl->buf,
			       !!(r->flags & NBD_CMD_FLAG_FUA), &srv);
	else
		rc = wov_zero(d->wov, r->offset, r->length, &srv);
	if (rc == 0 && srv.len) {
		if (r->type == NBD_CMD_WRITE) {
			memmove(sl->buf, sl->buf + (srv.off - r->offset),
				srv.len);
			r->offset = srv.off;
			r->length = srv.len;
		}
		return 0;
	}
	ioqueue_put(&d->q, sl);
	if (rc)
		log_warnx("overlay: writing the cache partition failed at "
			  "%llu+%u: EIO (check the disk: dmesg)",
			  (unsigned long long)r->offset, r->length);
	rc = serve_reply_kernel(d, r->handle, rc ? NBD_EIO : 0, NULL, 0);
	return rc < 0 ? rc : 1;
}

/* Beyond max_sectors_kb (cannot happen once it is set): its data is
 * drained and the request refused. */
static int refuse_oversized(struct disk_daemon *d, const struct nbd_request *r)
{
	uint32_t left = r->length;
	int rc;

	log_warnx("nbd: kernel request of %u bytes > %u", r->length,
		  SERVE_BUFSZ);
	while (r->type == NBD_CMD_WRITE && left) {
		uint32_t n = MIN(left, SERVE_BUFSZ);

		if ((rc = rxbuf_copy_out(&d->krx, d->kfd, d->kbuf, n)))
			return rc;
		left -= n;
	}
	return serve_reply_kernel(d, r->handle, NBD_EINVAL, NULL, 0);
}

/* A request the server answers, in its slot sl; sent now if connected. */
static int forward_request(struct disk_daemon *d, const struct nbd_request *r,
			   struct ioslot *sl)
{
	if (d->expired) {	/* past the outage bound: fail fast */
		ioqueue_put(&d->q, sl);
		return serve_reply_kernel(d, r->handle, NBD_EIO, NULL, 0);
	}
	sl->kernel_handle = r->handle;
	sl->req = *r;
	sl->req.handle = sl->seq;
	if (d->conn.fd < 0)
		log_debug("nbd: request %llu+%u waits for the server",
			  (unsigned long long)r->offset, r->length);
	if (d->conn.fd >= 0)
		serve_send_slot(d, sl);
	return 0;
}

/* WRITE, TRIM, WRITE_ZEROES: to the overlay, else to the server. */
static int write_request(struct disk_daemon *d, struct nbd_request *r)
{
	/* slot_free() said one is free; write data must be read off the
	 * socket in any case */
	struct ioslot *sl = ioqueue_get(&d->q);
	int rc;

	if (r->type == NBD_CMD_WRITE &&
	    (rc = rxbuf_copy_out(&d->krx, d->kfd, sl->buf, r->length)) != 0)
		return rc;
	if (d->read_only) {
		ioqueue_put(&d->q, sl);
		return serve_reply_kernel(d, r->handle, NBD_EPERM, NULL, 0);
	}
	cache_invalidate(d->cache, r->offset, r->length);
	if (d->wov && r->type != NBD_CMD_TRIM &&
	    (rc = overlay_write(d, r, sl)) != 0)
		return rc < 0 ? rc : 0;
	return forward_request(d, r, sl);
}

/* FLUSH: nothing to do read-only; a write-back overlay sweeps first. */
static int flush_request(struct disk_daemon *d, const struct nbd_request *r)
{
	if (d->read_only)
		return serve_reply_kernel(d, r->handle, 0, NULL, 0);
	if (d->wov && wov_writeback(d->wov))
		return writeback_flush(d, r->handle);
	return forward_request(d, r, ioqueue_get(&d->q));
}

/* A request from nbd.ko (NBD proto.md "Transmission"), its header in
 * krx. <0: kernel gone. */
static int kernel_request(struct disk_daemon *d)
{
	struct nbd_request r;

	if (nbd_parse_request(rxbuf_data(&d->krx), NBD_REQUEST_SIZE, &r) != 0)
		return -EPROTO;
	rxbuf_consume(&d->krx, NBD_REQUEST_SIZE);
	switch (r.type) {
	case NBD_CMD_DISC:
		return -ESHUTDOWN;
	case NBD_CMD_READ:
		if (r.length > SERVE_BUFSZ)
			return refuse_oversized(d, &r);
		return read_request(d, &r);
	case NBD_CMD_WRITE:
		if (r.length > SERVE_BUFSZ)
			return refuse_oversized(d, &r);
		return write_request(d, &r);
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		return write_request(d, &r);
	case NBD_CMD_FLUSH:
		return flush_request(d, &r);
	default:
		return serve_reply_kernel(d, r.handle, NBD_EINVAL, NULL, 0);
	}
}

/* Room for one more request that may need a slot: a READ miss, a WRITE,
 * a FLUSH each take one (or a FLUSH waits in flush_next). */
static int slot_free(const struct disk_daemon *d)
{
	return d->q.used < IOQUEUE_SLOTS && d->nflush_next < IOQUEUE_SLOTS;
}

static int kernel_request_ready(const struct disk_daemon *d)
{
	return slot_free(d) && rxbuf_avail(&d->krx) >= NBD_REQUEST_SIZE;
}

/* Every whole request received, while slots are free; the rest waits in
 * krx for slots (a reply frees one). <0: kernel gone. */
static int kernel_requests(struct disk_daemon *d)
{
	int rc;

	while (kernel_request_ready(d))
		if ((rc = kernel_request(d)) != 0)
			return rc;
	return 0;
}

/* A reply from the server at the head of srx, to the slot whose wire
 * handle it carries; a READ's data is used where it was received. A
 * broken connection or reply is a lost connection: the slots are sent
 * again after the reconnect. */
static int server_reply(struct disk_daemon *d)
{
	struct nbd_reply rep;
	uint8_t *data;
	struct ioslot *sl;
	uint32_t error;
	int rc;

	/* simple replies only: we never ask for structured ones */
	if (nbd_parse_reply(rxbuf_data(&d->srx), NBD_SIMPLE_REPLY_SIZE,
			    &rep) != 0 || rep.structured ||
	    !(sl = ioqueue_find(&d->q, rep.handle))) {
		conn_lost(d, "bad reply from server");
		return 0;
	}
	error = rep.error;
	if (sl->writeback) {
		rxbuf_consume(&d->srx, NBD_SIMPLE_REPLY_SIZE);
		writeback_reply(d, sl, error);
		return 0;
	}
	if (error == NBD_ENOSPC)
		serve_overlay_full_msg(d);
	if (sl->req.type != NBD_CMD_READ || error) {
		rxbuf_consume(&d->srx, NBD_SIMPLE_REPLY_SIZE);
		rc = serve_reply_kernel(d, sl->kernel_handle, error, NULL, 0);
		goto done;
	}
	if ((rc = rxbuf_need(&d->srx, d->conn.fd, NBD_SIMPLE_REPLY_SIZE +
			     (size_t)sl->req.length)) != 0) {
		conn_lost(d, rc == -EPIPE ? "server closed" : err_str(rc));
		return 0;
	}
	/* consumed first: a refetch below may lose the connection, which
	 * empties srx; the bytes stay where they are until the next fill */
	data = rxbuf_data(&d->srx) + NBD_SIMPLE_REPLY_SIZE;
	rxbuf_consume(&d->srx, NBD_SIMPLE_REPLY_SIZE + sl->req.length);
	if (read_reply(d, sl, data, &error, &data))
		return 0;
	rc = reply_read(d, sl->kernel_handle, error, data,
			read_of_slot(d, sl)->off, read_of_slot(d, sl)->len);
done:
	ioqueue_put(&d->q, sl);
	wake_waiters(d);
	cache_export_stats(d->cache);
	return rc;
}

/* What the server sent since the last wake-up, every whole reply of it
 * (and the rest of one whose head came). */
static void server_replies(struct disk_daemon *d)
{
	int rc = rxbuf_fill(&d->srx, d->conn.fd);

	if (rc < 0 && rc != -EAGAIN) {
		conn_lost(d, rc == -EPIPE ? "server closed" : err_str(rc));
		return;
	}
	while (d->conn.fd >= 0 &&
	       rxbuf_avail(&d->srx) >= NBD_SIMPLE_REPLY_SIZE)
		server_reply(d);
}

int serve_export_writable(const struct disk_daemon *d)
{
	return (d->cfg->write_mode == WRITE_SERVER ||
		d->cfg->write_mode == WRITE_SUPER) &&
	       !(d->conn.flags & NBD_FLAG_READ_ONLY);
}

/* The overlay's use into agent_stats, and the console when log. */
static void overlay_stats(struct disk_daemon *d, int log)
{
	struct wov_stats st;

	if (!d->wov)
		return;
	wov_stats(d->wov, &st);
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

/* A report to the server; asked-for ones also on the console. */
static void report_stats(struct disk_daemon *d, const char *event)
{
	int log = strcmp(event, "periodic") != 0;

	cache_export_stats(d->cache);
	overlay_stats(d, log);
	if (log)
		cache_log_stats(d->cache);
	if (d->ns)
		report_send(d->cfg, d->ns->mac, event, NULL);
}

/* PID 1 tells us when the root was mounted and switch_root happens (its
 * "T_ROOT T_SWITCH" line): logged and reported once. */
static void read_pid1_timeline(struct disk_daemon *d)
{
	char buf[64];
	long long t_root, t_switch;
	ssize_t n = read(d->timeline_fd, buf, sizeof(buf) - 1);

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
			report_send(d->cfg, d->ns->mac, "switch_root", NULL);
		}
	}
	close(d->timeline_fd);
	d->timeline_fd = -1;
}

/* Between two polls: reconnect, write-back, DHCP, cache, reports. */
static void upkeep(struct disk_daemon *d, int64_t now, int64_t *last_report)
{
	if (d->conn.fd < 0)
		try_reconnect(d, now);
	if (d->nflush_now)
		writeback_pump(d);	/* a FLUSH may wait for a slot */
	if (d->ns)
		net_tick(d->ns, now);
	cache_tick(d->cache, now);
	if (report_asked) {
		report_asked = 0;
		report_stats(d, "requested");
	}
	if (now - *last_report >= REPORT_EVERY_MS) {
		*last_report = now;
		report_stats(d, "periodic");
	}
}

/* A wake-up per batch: every reply the server has sent, then every
 * request nbd.ko has queued (as slots allow), each from one recv(). */
int serve_loop(struct disk_daemon *d)
{
	const short ready = POLLIN | POLLERR | POLLHUP;
	int64_t last_report = now_ms();
	int rc, timeout;

	for (;;) {
		/* poll ignores a negative fd: the server while down, PID 1's
		 * pipe once read */
		struct pollfd p[3] = {
			{ .fd = d->kfd, .events = slot_free(d) ? POLLIN : 0 },
			{ .fd = d->conn.fd, .events = POLLIN },
			{ .fd = d->timeline_fd, .events = POLLIN },
		};
		int64_t now;

		timeout = kernel_request_ready(d) ? 0 :
			  d->conn.fd >= 0 ? 1000 : 100;
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			log_warn("poll");
		now = now_ms();
		if (p[1].revents & ready)
			server_replies(d);
		if (p[0].events && (p[0].revents & ready) &&
		    (rc = rxbuf_fill(&d->krx, d->kfd)) < 0 && rc != -EAGAIN)
			return rc;
		if ((rc = kernel_requests(d)) != 0)
			return rc;
		if (p[2].revents)
			read_pid1_timeline(d);
		upkeep(d, now, &last_report);
	}
}

int serve_alloc(struct disk_daemon *d)
{
	/* a slot holds a request's span of whole blocks (cache.h) */
	if (ioqueue_init(&d->q, SLOT_BUFSZ) != 0 ||
	    rxbuf_init(&d->krx, KRX_BUFSZ) != 0 ||
	    rxbuf_init(&d->srx, SRX_BUFSZ) != 0 ||
	    (d->kbuf = mmap(NULL, SERVE_BUFSZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		d->kbuf = NULL;
		log_warnx("agent: cannot allocate the I/O buffers");
		return -ENOMEM;
	}
	return 0;
}

int serve_cache(struct disk_daemon *d)
{
	if (d->cache)
		return 0;
	if (!(d->cache = cache_setup(d->cfg, d->conn.size))) {
		log_warnx("agent: cannot allocate %u MiB of RAM cache (check "
			  "linkboot.ram against the PC's memory)",
			  d->cfg->ram_mib);
		return -ENOMEM;
	}
	return 0;
}

void serve_release(struct disk_daemon *d)
{
	ioqueue_free(&d->q);
	rxbuf_free(&d->krx);
	rxbuf_free(&d->srx);
	cache_free(d->cache);	/* the child keeps its own copy */
	d->cache = NULL;
	if (d->kbuf)
		munmap(d->kbuf, SERVE_BUFSZ);
	d->kbuf = NULL;
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
	struct disk_daemon *d = serve_socket_prepare(cfg, kfd, cache);

	return d ? serve_socket_run(d) : -ENOMEM;
}

/* Everything serve_socket_prepare() made; the cache stays the caller's. */
static void serve_socket_free(struct disk_daemon *d)
{
	nbd_client_close(&d->conn);
	d->cache = NULL;
	serve_release(d);
	free(d);
}

struct disk_daemon *serve_socket_prepare(const struct agent_cfg *cfg, int kfd,
					 struct cache *cache)
{
	struct disk_daemon *d;

	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	d->cfg = cfg;
	d->conn.fd = -1;
	d->kfd = kfd;
	d->index = -1;
	d->timeline_fd = -1;
	d->wov_memfd = -1;	/* no write overlay here */
	d->cache = cache;
	if (serve_alloc(d) != 0) {
		serve_socket_free(d);
		return NULL;
	}
	return d;
}

int serve_socket_run(struct disk_daemon *d)
{
	int rc;

	if ((rc = nbd_client_connect(d->cfg, &d->conn)) == 0) {
		d->read_only = !serve_export_writable(d);
		rc = serve_loop(d);
		if (rc == -EPIPE || rc == -ESHUTDOWN)
			rc = 0;
	}
	serve_socket_free(d);
	return rc;
}
