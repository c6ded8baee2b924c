/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Write-back of the block write overlay (woverlay.h), in the serving child
 * (disk_daemon.h): a kernel FLUSH is answered after a sweep has written
 * every page dirty at its arrival to the server and the server has flushed
 * them (NBD proto.md "NBD_CMD_FLUSH": completed writes persisted).
 *
 *   FLUSH --> SWEEP_RUNS: runs of dirty pages, one WRITE slot each
 *               | all handed out (or a read error)
 *             SWEEP_DRAIN: their replies come back
 *               | none left in flight
 *             the server's FLUSH (or the error) --> every FLUSH held
 *
 * FLUSHes that arrive during a sweep wait for the next one. The sweep's
 * writes are slots like any other: resent after a reconnect, at most
 * WB_SLOTS_MAX at once so reads keep moving.
 */

#include <string.h>

#include "disk_daemon.h"
#include "lb_log.h"
#include "nbd_wire.h"

#define WB_RUN_MAX (128u * 1024)	/* one write-back server write */
#define WB_SLOTS_MAX (IOQUEUE_SLOTS / 2)	/* reads keep the others */

/* ioslot.writeback: whose request the slot carries */
enum { WB_WRITE = 1, WB_FLUSH };

static void sweep_begin(struct disk_daemon *d)
{
	wov_sweep_start(d->wov);
	d->sweep = SWEEP_RUNS;
	d->wb_error = 0;
}

/* The sweep's outcome to the FLUSHes it held; the next ones start theirs. */
static void flush_done(struct disk_daemon *d, uint32_t error)
{
	unsigned i;

	for (i = 0; i < d->nflush_now; i++)
		serve_reply_kernel(d, d->flush_now[i], error, NULL, 0);
	d->nflush_now = 0;
	if (d->nflush_next) {
		memcpy(d->flush_now, d->flush_next,
		       d->nflush_next * sizeof(d->flush_now[0]));
		d->nflush_now = d->nflush_next;
		d->nflush_next = 0;
		sweep_begin(d);
	}
}

/* Every run handed out and answered: the server's FLUSH, or the error. */
static void sweep_end(struct disk_daemon *d)
{
	struct ioslot *sl;

	if (d->wb_error) {
		d->sweep = SWEEP_IDLE;
		flush_done(d, d->wb_error);
		return;
	}
	if (!(sl = ioqueue_get(&d->q)))
		return;		/* a slot frees up: pumped again then */
	d->sweep = SWEEP_IDLE;
	sl->writeback = WB_FLUSH;
	memset(&sl->req, 0, sizeof(sl->req));
	sl->req.type = NBD_CMD_FLUSH;
	sl->req.handle = sl->seq;
	if (d->conn.fd >= 0)
		serve_send_slot(d, sl);
}

/* The next run of dirty pages as a WRITE in the free slot sl; none left
 * (or the cache partition failed): the sweep drains. */
static void sweep_write_next(struct disk_daemon *d, struct ioslot *sl)
{
	struct wov_range run;
	int rc;

	if ((rc = wov_sweep_next(d->wov, sl->buf, WB_RUN_MAX, &run)) <= 0) {
		ioqueue_put(&d->q, sl);
		if (rc < 0) {
			log_warnx("overlay: reading the cache partition for "
				  "write-back failed: FLUSH fails with EIO "
				  "(check the disk: dmesg)");
			d->wb_error = NBD_EIO;
		}
		d->sweep = SWEEP_DRAIN;
		return;
	}
	/* the server's copy of these blocks becomes the PC's: a replaced
	 * daemon whose map predates it must not check them (cache.h) */
	cache_mark_written(d->cache, run.off, run.len);
	sl->writeback = WB_WRITE;
	memset(&sl->req, 0, sizeof(sl->req));
	sl->req.type = NBD_CMD_WRITE;
	sl->req.offset = run.off;
	sl->req.length = run.len;
	sl->req.handle = sl->seq;
	d->wb_inflight++;
	if (d->conn.fd >= 0)
		serve_send_slot(d, sl);
}

void writeback_pump(struct disk_daemon *d)
{
	struct ioslot *sl;

	while (d->sweep == SWEEP_RUNS && d->wb_inflight < WB_SLOTS_MAX &&
	       !d->expired && (sl = ioqueue_get(&d->q)))
		sweep_write_next(d, sl);
	if (d->sweep == SWEEP_RUNS && d->expired) {
		d->sweep = SWEEP_DRAIN;
		d->wb_error = NBD_EIO;
	}
	if (d->sweep == SWEEP_DRAIN && !d->wb_inflight)
		sweep_end(d);
}

int writeback_flush(struct disk_daemon *d, uint64_t handle)
{
	if (d->expired)
		return serve_reply_kernel(d, handle, NBD_EIO, NULL, 0);
	if (!d->nflush_now) {
		d->flush_now[d->nflush_now++] = handle;
		sweep_begin(d);
	} else {
		d->flush_next[d->nflush_next++] = handle;
	}
	writeback_pump(d);
	return 0;
}

/* A write-back the server refused: the pages stay dirty, the next FLUSH
 * tries again; this one fails. */
static void writeback_refused(struct disk_daemon *d, struct ioslot *sl,
			      uint32_t error)
{
	wov_redirty(d->wov, sl->req.offset, sl->req.length);
	d->wb_error = error;
	if (error == NBD_ENOSPC)
		serve_overlay_full_msg(d);
	else
		log_warnx("overlay: the server refused a write-back at "
			  "%llu+%u (error %u): FLUSH fails",
			  (unsigned long long)sl->req.offset, sl->req.length,
			  error);
}

void writeback_reply(struct disk_daemon *d, struct ioslot *sl,
		     uint32_t error)
{
	int kind = sl->writeback;

	if (kind == WB_WRITE) {
		if (error)
			writeback_refused(d, sl, error);
		d->wb_inflight--;
	}
	ioqueue_put(&d->q, sl);
	if (kind == WB_FLUSH)
		flush_done(d, error);
	writeback_pump(d);
}
