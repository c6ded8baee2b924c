/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_WOVERLAY_H
#define LB_AGENT_WOVERLAY_H

/*
 * Block write overlay (cache layer 3) for the `server` and `super` write
 * modes: the root device is read-write and the kernel's writes land, page
 * by page (4 KiB), in the first tier with room:
 *
 *   1. RAM, up to linkboot.overlay MiB
 *   2. the cache partition (PARTLABEL linkboot-cache), when the PC has one
 *   3. the server (the client's overlay there: it answers ENOSPC when full)
 *
 * A page, once local, stays in its tier and is updated in place; reads of
 * local pages are answered (or patched) from it. A write that only partly
 * covers a page the overlay does not hold goes to the server, which has
 * the page's other bytes (no read-modify-write round trip here).
 *
 * Write-back (`super`, and `server` with `client keep on`): local pages
 * are dirty until a sweep started by the kernel's FLUSH has written them
 * to the server; the FLUSH is answered after that (NBD proto.md
 * "NBD_CMD_FLUSH": all completed writes are persisted). Without it
 * (`server`, keep off: the server drops the overlay at the next boot
 * anyway) local pages never travel.
 *
 * Everything lives in caller-provided memory (a memfd the supervisor
 * keeps, so a crashed and replaced disk daemon finds every page again)
 * plus the partition. Pure: no sockets, no clock; unit tests drive it.
 */

#include <stddef.h>
#include <stdint.h>

#define WOV_PAGE 4096u

struct wov;

struct wov_cfg {
	uint64_t image_size;	/* export size; at most 16 TiB */
	uint64_t ram_bytes;	/* RAM tier; rounded down to pages */
	int part_fd;		/* partition tier, or -1 */
	uint64_t part_off;	/* first byte of the tier on part_fd */
	uint64_t part_bytes;	/* its size */
	int writeback;		/* local pages must reach the server */
};

struct wov_stats {
	uint64_t ram_pages, part_pages;		/* in use */
	uint64_t ram_slots, part_slots;		/* capacity */
	uint64_t dirty_pages;
	uint64_t server_bytes;			/* written through to it */
	uint64_t written_back;			/* pages */
};

/* A byte range for the server ({0, 0}: nothing to send). */
struct wov_range {
	uint64_t off;
	uint32_t len;
};

/* Bytes of memory wov_open() needs for cfg. */
size_t wov_mem_size(const struct wov_cfg *cfg);
/* mem: wov_mem_size() bytes, zeroed for a new overlay, or the memory of
 * an overlay opened with the same cfg before (the daemon was replaced).
 * 0, -EFBIG (image too big), -EINVAL (mem holds another overlay). */
int wov_open(const struct wov_cfg *cfg, void *mem, struct wov **out);
void wov_close(struct wov *w);	/* keeps mem and part_fd */

/*
 * A kernel WRITE of len bytes at off. Pages that find a tier are stored;
 * *srv is what must still go to the server: the span from the first to the
 * last byte no local tier took (it may cover local pages too: harmless,
 * they are read from here and, with write-back, written again later).
 * through: FUA, the data must also reach the server now (*srv = all).
 * 0, or -EIO when the partition failed (its pages go to the server).
 */
int wov_write(struct wov *w, uint64_t off, uint32_t len, const void *data,
	      int through, struct wov_range *srv);
/* WRITE_ZEROES: local pages (partly) zeroed here; the server zeroes the
 * rest, so *srv is the whole range. */
int wov_zero(struct wov *w, uint64_t off, uint64_t len, struct wov_range *srv);

/* Are all pages of [off, off + len) local? */
int wov_covers(const struct wov *w, uint64_t off, uint32_t len);
/* Does any page of it hold local data? */
int wov_touches(const struct wov *w, uint64_t off, uint32_t len);
/* Copy the local pages' bytes over buf, which holds [off, off + len) from
 * below (the read cache or the server). 0 or -EIO. */
int wov_patch(const struct wov *w, uint64_t off, uint32_t len, void *buf);

/*
 * Write-back sweep. wov_sweep_start() marks the slots in use now; then
 * wov_sweep_next() hands out the next run of dirty pages from them (up to
 * max bytes, contiguous on disk) with the data copied to buf and the pages
 * marked clean: 1, or 0 when the sweep is done. A failed server write
 * gives its pages back with wov_redirty().
 */
void wov_sweep_start(struct wov *w);
int wov_sweep_next(struct wov *w, void *buf, uint32_t max,
		   struct wov_range *run);
void wov_redirty(struct wov *w, uint64_t off, uint32_t len);

int wov_writeback(const struct wov *w);
void wov_stats(const struct wov *w, struct wov_stats *st);

#endif
