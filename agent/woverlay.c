/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block write overlay: RAM -> cache partition -> server (woverlay.h).
 *
 * Memory layout (one region, page aligned parts):
 *
 *   header      magic, geometry, slot cursors, counters
 *   map         one u32 per image page: 0 = not here, else tier bit,
 *               dirty bit and slot + 1
 *   rev_ram     one u32 per RAM slot: the image page it holds
 *   rev_part    likewise for the partition's slots
 *   ram         the RAM tier's pages
 *
 * Slots are handed out in order and never freed: a page keeps its slot
 * for the life of the boot, so lookups and stores are O(1) and the sweep
 * walks only the slots in use. Data goes to its slot before the map entry
 * names it, so a daemon killed between the two leaves the page as it was.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_util.h"
#include "woverlay.h"

#define WOV_MAGIC "LBWOV001"
#define E_DIRTY (1u << 31)
#define E_PART (1u << 30)
#define E_SLOT (E_PART - 1)		/* slot + 1 */
#define MAX_PAGES ((uint64_t)UINT32_MAX)	/* 16 TiB */

struct wov_hdr {
	char magic[8];
	uint64_t image_size, ram_slots, part_slots, part_off;
	uint64_t ram_next, part_next;	/* slots in use */
	uint64_t dirty, server_bytes, written_back;
};

struct wov {
	struct wov_hdr *h;
	uint32_t *map, *rev_ram, *rev_part;
	uint8_t *ram;
	uint64_t npages;
	int part_fd, writeback;
	/* the sweep in progress: slots below *_end, next at *_pos */
	uint64_t sw_ram_pos, sw_ram_end, sw_part_pos, sw_part_end;
};

static size_t page_round(uint64_t n)
{
	return (size_t)((n + WOV_PAGE - 1) / WOV_PAGE * WOV_PAGE);
}

static uint64_t ram_slots(const struct wov_cfg *cfg)
{
	return MIN(cfg->ram_bytes / WOV_PAGE, (uint64_t)E_SLOT - 1);
}

static uint64_t part_slots(const struct wov_cfg *cfg)
{
	return cfg->part_fd < 0 ? 0 :
	       MIN(cfg->part_bytes / WOV_PAGE, (uint64_t)E_SLOT - 1);
}

size_t wov_mem_size(const struct wov_cfg *cfg)
{
	uint64_t npages = (cfg->image_size + WOV_PAGE - 1) / WOV_PAGE;

	return page_round(sizeof(struct wov_hdr)) + page_round(npages * 4) +
	       page_round(ram_slots(cfg) * 4) + page_round(part_slots(cfg) * 4) +
	       (size_t)ram_slots(cfg) * WOV_PAGE;
}

static void wov_layout(struct wov *w, const struct wov_cfg *cfg, uint8_t *m)
{
	w->h = (struct wov_hdr *)m;
	m += page_round(sizeof(struct wov_hdr));
	w->map = (uint32_t *)m;
	m += page_round(w->npages * 4);
	w->rev_ram = (uint32_t *)m;
	m += page_round(ram_slots(cfg) * 4);
	w->rev_part = (uint32_t *)m;
	m += page_round(part_slots(cfg) * 4);
	w->ram = m;
}

int wov_open(const struct wov_cfg *cfg, void *mem, struct wov **out)
{
	struct wov *w;

	if (!cfg->image_size ||
	    (cfg->image_size + WOV_PAGE - 1) / WOV_PAGE > MAX_PAGES)
		return -EFBIG;
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->npages = (cfg->image_size + WOV_PAGE - 1) / WOV_PAGE;
	w->part_fd = part_slots(cfg) ? cfg->part_fd : -1;
	w->writeback = cfg->writeback;
	wov_layout(w, cfg, mem);
	if (!memcmp(w->h->magic, WOV_MAGIC, 8)) {
		/* a replaced daemon: the same overlay, or refuse it */
		if (w->h->image_size != cfg->image_size ||
		    w->h->ram_slots != ram_slots(cfg) ||
		    w->h->part_slots != part_slots(cfg) ||
		    w->h->part_off != cfg->part_off) {
			free(w);
			return -EINVAL;
		}
	} else {
		w->h->image_size = cfg->image_size;
		w->h->ram_slots = ram_slots(cfg);
		w->h->part_slots = part_slots(cfg);
		w->h->part_off = cfg->part_off;
		memcpy(w->h->magic, WOV_MAGIC, 8);
	}
	*out = w;
	return 0;
}

void wov_close(struct wov *w)
{
	free(w);
}

int wov_writeback(const struct wov *w)
{
	return w->writeback;
}

/* Bytes of page pg inside the image (the last page may be short). */
static uint32_t page_len(const struct wov *w, uint64_t pg)
{
	return (uint32_t)MIN((uint64_t)WOV_PAGE,
			     w->h->image_size - pg * WOV_PAGE);
}

static off_t part_pos(const struct wov *w, uint32_t e)
{
	return (off_t)(w->h->part_off + (uint64_t)((e & E_SLOT) - 1) * WOV_PAGE);
}

static int pio_full(int fd, void *buf, size_t len, off_t pos, int wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? pwrite(fd, p, len, pos) : pread(fd, p, len, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		pos += n;
		len -= (size_t)n;
	}
	return 0;
}

/* len bytes at byte `at` of the page entry e names */
static int page_store(struct wov *w, uint32_t e, uint32_t at, const void *src,
		      uint32_t len)
{
	if (!(e & E_PART)) {
		if (src)
			memcpy(w->ram + (uint64_t)((e & E_SLOT) - 1) * WOV_PAGE +
			       at, src, len);
		else
			memset(w->ram + (uint64_t)((e & E_SLOT) - 1) * WOV_PAGE +
			       at, 0, len);
		return 0;
	}
	if (!src) {
		static const uint8_t zero[WOV_PAGE];

		src = zero;
	}
	return pio_full(w->part_fd, (void *)src, len, part_pos(w, e) + at, 1);
}

static int page_load(const struct wov *w, uint32_t e, uint32_t at, void *dst,
		     uint32_t len)
{
	if (!(e & E_PART)) {
		memcpy(dst, w->ram + (uint64_t)((e & E_SLOT) - 1) * WOV_PAGE + at,
		       len);
		return 0;
	}
	return pio_full(w->part_fd, dst, len, part_pos(w, e) + at, 0);
}

static void mark_dirty(struct wov *w, uint64_t pg)
{
	if (!(w->map[pg] & E_DIRTY)) {
		w->map[pg] |= E_DIRTY;
		w->h->dirty++;
	}
}

static void mark_clean(struct wov *w, uint64_t pg)
{
	if (w->map[pg] & E_DIRTY) {
		w->map[pg] &= ~E_DIRTY;
		w->h->dirty--;
	}
}

/* A new page: the first tier with a free slot gets data (a whole page,
 * or zeroes when data is NULL). 0 when every local tier is full. */
static uint32_t page_new(struct wov *w, uint64_t pg, const void *data,
			 uint32_t len)
{
	uint8_t page[WOV_PAGE];
	uint32_t e;

	if (data && len < WOV_PAGE) {	/* the image's short last page */
		memcpy(page, data, len);
		memset(page + len, 0, WOV_PAGE - len);
		data = page;
	}
	if (w->h->ram_next < w->h->ram_slots) {
		e = (uint32_t)(w->h->ram_next + 1);
		page_store(w, e, 0, data, WOV_PAGE);
		w->rev_ram[w->h->ram_next++] = (uint32_t)pg;
		return e;
	}
	if (w->h->part_next < w->h->part_slots) {
		e = (uint32_t)(w->h->part_next + 1) | E_PART;
		if (page_store(w, e, 0, data, WOV_PAGE) != 0)
			return 0;	/* the disk failed: the server has room */
		w->rev_part[w->h->part_next++] = (uint32_t)pg;
		return e;
	}
	return 0;
}

static void range_add(struct wov_range *r, uint64_t a, uint64_t b)
{
	uint64_t end = r->len ? MAX(r->off + r->len, b) : b;

	r->off = r->len ? MIN(r->off, a) : a;
	r->len = (uint32_t)(end - r->off);
}

/*
 * One page's share [a, b) of a write (src NULL: zeroes). 1 when it stayed
 * local, 0 when the server must take it, -EIO when the partition failed
 * under a page it already holds (its old bytes would be lost otherwise).
 */
static int page_write(struct wov *w, uint64_t pg, uint64_t a, uint64_t b,
		      const uint8_t *src, int through)
{
	uint64_t start = pg * WOV_PAGE;
	uint32_t e = w->map[pg];

	if (e) {
		if (page_store(w, e, (uint32_t)(a - start), src,
			       (uint32_t)(b - a)) != 0)
			return -EIO;
	} else if (a == start && b == start + page_len(w, pg) &&
		   (e = page_new(w, pg, src, (uint32_t)(b - a)))) {
		w->map[pg] = e;		/* published after the data */
	} else {
		return 0;
	}
	if (w->writeback && !through)
		mark_dirty(w, pg);
	else if (through && a == start && b == start + page_len(w, pg))
		mark_clean(w, pg);	/* the server gets all of it now */
	return 1;
}

static int range_write(struct wov *w, uint64_t off, uint64_t len,
		       const uint8_t *data, int through, struct wov_range *srv)
{
	uint64_t end, pg;
	int rc;

	srv->off = 0;
	srv->len = 0;
	if (off >= w->h->image_size || len == 0)
		return 0;
	end = MIN(off + len, w->h->image_size);
	for (pg = off / WOV_PAGE; pg * WOV_PAGE < end; pg++) {
		uint64_t a = MAX(off, pg * WOV_PAGE);
		uint64_t b = MIN(end, pg * WOV_PAGE + WOV_PAGE);

		rc = page_write(w, pg, a, b, data ? data + (a - off) : NULL,
				through);
		if (rc < 0)
			return rc;
		if (rc == 0)
			range_add(srv, a, b);
	}
	if (through) {
		srv->off = off;
		srv->len = (uint32_t)(end - off);
	}
	w->h->server_bytes += srv->len;
	return 0;
}

int wov_write(struct wov *w, uint64_t off, uint32_t len, const void *data,
	      int through, struct wov_range *srv)
{
	return range_write(w, off, len, data, through, srv);
}

int wov_zero(struct wov *w, uint64_t off, uint64_t len, struct wov_range *srv)
{
	uint64_t end, pg;
	int rc;

	srv->off = off;
	srv->len = 0;
	if (off >= w->h->image_size || len == 0)
		return 0;
	end = MIN(off + len, w->h->image_size);
	/* only pages held here: the server zeroes the whole range anyway */
	for (pg = off / WOV_PAGE; pg * WOV_PAGE < end; pg++) {
		uint64_t a = MAX(off, pg * WOV_PAGE);
		uint64_t b = MIN(end, pg * WOV_PAGE + WOV_PAGE);

		if (w->map[pg] &&
		    (rc = page_write(w, pg, a, b, NULL, 1)) < 0)
			return rc;
	}
	srv->len = (uint32_t)MIN(end - off, (uint64_t)UINT32_MAX);
	return 0;
}

int wov_covers(const struct wov *w, uint64_t off, uint32_t len)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);

	if (off >= end)
		return 0;
	for (pg = off / WOV_PAGE; pg * WOV_PAGE < end; pg++)
		if (!w->map[pg])
			return 0;
	return 1;
}

int wov_touches(const struct wov *w, uint64_t off, uint32_t len)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);

	if (!w->h->ram_next && !w->h->part_next)
		return 0;	/* nothing written yet: the common case */
	for (pg = off / WOV_PAGE; off < end && pg * WOV_PAGE < end; pg++)
		if (w->map[pg])
			return 1;
	return 0;
}

int wov_patch(const struct wov *w, uint64_t off, uint32_t len, void *buf)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);
	uint8_t *out = buf;

	for (pg = off / WOV_PAGE; off < end && pg * WOV_PAGE < end; pg++) {
		uint64_t a = MAX(off, pg * WOV_PAGE);
		uint64_t b = MIN(end, pg * WOV_PAGE + WOV_PAGE);

		if (w->map[pg] &&
		    page_load(w, w->map[pg], (uint32_t)(a - pg * WOV_PAGE),
			      out + (a - off), (uint32_t)(b - a)) != 0)
			return -EIO;
	}
	return 0;
}

void wov_sweep_start(struct wov *w)
{
	w->sw_ram_pos = 0;
	w->sw_ram_end = w->h->ram_next;
	w->sw_part_pos = 0;
	w->sw_part_end = w->h->part_next;
}

/*
 * The next run of dirty pages among slots [*pos, end) of one tier: pages
 * that follow each other both in the image and in the tier, so the run is
 * one memcpy or one pread and one server write.
 */
static int sweep_tier(struct wov *w, const uint32_t *rev, uint64_t *pos,
		      uint64_t end, uint32_t tier, void *buf, uint32_t max,
		      struct wov_range *run)
{
	uint64_t s, first, n;
	uint32_t e;

	for (s = *pos; s < end; s++)
		if (w->map[rev[s]] & E_DIRTY)
			break;
	if (s == end) {
		*pos = end;
		return 0;
	}
	first = rev[s];
	for (n = 1; s + n < end && (n + 1) * WOV_PAGE <= max; n++)
		if (rev[s + n] != first + n ||
		    !(w->map[first + n] & E_DIRTY))
			break;
	*pos = s + n;
	e = (uint32_t)(s + 1) | tier;
	run->off = first * WOV_PAGE;
	run->len = (uint32_t)MIN(n * WOV_PAGE, w->h->image_size - run->off);
	if (page_load(w, e, 0, buf, run->len) != 0) {
		*pos = s;	/* dirty still: the next sweep tries again */
		return -EIO;
	}
	for (; n; n--, first++)
		mark_clean(w, first);
	w->h->written_back += (run->len + WOV_PAGE - 1) / WOV_PAGE;
	return 1;
}

int wov_sweep_next(struct wov *w, void *buf, uint32_t max,
		   struct wov_range *run)
{
	int rc;

	if (max < WOV_PAGE)
		return -EINVAL;
	rc = sweep_tier(w, w->rev_ram, &w->sw_ram_pos, w->sw_ram_end, 0, buf,
			max, run);
	if (rc == 0)
		rc = sweep_tier(w, w->rev_part, &w->sw_part_pos,
				w->sw_part_end, E_PART, buf, max, run);
	return rc;
}

void wov_redirty(struct wov *w, uint64_t off, uint32_t len)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);

	for (pg = off / WOV_PAGE; off < end && pg * WOV_PAGE < end; pg++)
		if (w->map[pg])
			mark_dirty(w, pg);
}

void wov_stats(const struct wov *w, struct wov_stats *st)
{
	st->ram_pages = w->h->ram_next;
	st->part_pages = w->h->part_next;
	st->ram_slots = w->h->ram_slots;
	st->part_slots = w->h->part_slots;
	st->dirty_pages = w->h->dirty;
	st->server_bytes = w->h->server_bytes;
	st->written_back = w->h->written_back;
}
