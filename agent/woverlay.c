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

#define WOV_MAGIC "LBWOV002"
#define E_PART (1u << 31)
#define E_SLOT (E_PART - 1)		/* slot + 1 */
#define MAX_PAGES ((uint64_t)UINT32_MAX)	/* 16 TiB */
#define SECT 512u			/* nbd.ko's logical block size */
#define SPP (WOV_PAGE / SECT)		/* sectors per page: one mask bit */

struct wov_hdr {
	char magic[8];
	uint64_t image_size, ram_slots, part_slots, part_off;
	uint64_t ram_next, part_next;	/* slots in use */
	uint64_t dirty, server_bytes, written_back;	/* dirty: slots */
};

/* A slot: the image page it holds, which of its sectors are here (valid)
 * and which of those the server has not seen yet (dirty). */
struct wov_slot {
	uint32_t page;
	uint8_t valid, dirty;
	uint16_t unused;
};

struct wov {
	struct wov_hdr *h;
	uint32_t *map;
	struct wov_slot *sram, *spart;
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

/* Pages of the image, without "size + page - 1" wrapping near 2^64; 0 for
 * an image over MAX_PAGES pages (wov_open() says -EFBIG). */
static uint64_t wov_npages(uint64_t image_size)
{
	uint64_t n = image_size / WOV_PAGE + (image_size % WOV_PAGE != 0);

	return n > MAX_PAGES ? 0 : n;
}

size_t wov_mem_size(const struct wov_cfg *cfg)
{
	uint64_t npages = wov_npages(cfg->image_size);

	return page_round(sizeof(struct wov_hdr)) + page_round(npages * 4) +
	       page_round(ram_slots(cfg) * sizeof(struct wov_slot)) +
	       page_round(part_slots(cfg) * sizeof(struct wov_slot)) +
	       (size_t)ram_slots(cfg) * WOV_PAGE;
}

static void wov_layout(struct wov *w, const struct wov_cfg *cfg, uint8_t *m)
{
	w->h = (struct wov_hdr *)m;
	m += page_round(sizeof(struct wov_hdr));
	w->map = (uint32_t *)m;
	m += page_round(w->npages * 4);
	w->sram = (struct wov_slot *)m;
	m += page_round(ram_slots(cfg) * sizeof(struct wov_slot));
	w->spart = (struct wov_slot *)m;
	m += page_round(part_slots(cfg) * sizeof(struct wov_slot));
	w->ram = m;
}

int wov_open(const struct wov_cfg *cfg, void *mem, struct wov **out)
{
	struct wov *w;

	if (!cfg->image_size || !wov_npages(cfg->image_size))
		return -EFBIG;
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->npages = wov_npages(cfg->image_size);
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

static struct wov_slot *slot_of(const struct wov *w, uint32_t e)
{
	return e & E_PART ? &w->spart[(e & E_SLOT) - 1] :
			    &w->sram[(e & E_SLOT) - 1];
}

/* Sectors of page pg that [a, b) overlaps, and those it covers whole (the
 * image's last sector may be short: it ends at the image's end). */
static uint8_t touch_mask(uint64_t pg, uint64_t a, uint64_t b)
{
	uint64_t start = pg * WOV_PAGE;
	unsigned k0 = (unsigned)((a - start) / SECT);
	unsigned k1 = (unsigned)((b - start + SECT - 1) / SECT);

	return (uint8_t)(((1u << k1) - 1) & ~((1u << k0) - 1));
}

static uint8_t full_mask(const struct wov *w, uint64_t pg, uint64_t a,
			 uint64_t b)
{
	uint64_t start = pg * WOV_PAGE;
	uint8_t m = 0;
	unsigned k;

	for (k = 0; k < SPP; k++) {
		uint64_t s0 = start + k * SECT;
		uint64_t s1 = MIN(s0 + SECT, w->h->image_size);

		if (s0 < s1 && s0 >= a && s1 <= b)
			m |= (uint8_t)(1u << k);
	}
	return m;
}

static off_t part_pos(const struct wov *w, uint32_t e)
{
	return (off_t)(w->h->part_off + (uint64_t)((e & E_SLOT) - 1) * WOV_PAGE);
}

static uint8_t *ram_page(const struct wov *w, uint32_t e)
{
	return w->ram + (uint64_t)((e & E_SLOT) - 1) * WOV_PAGE;
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

/* len bytes at byte `at` of the page entry e names (src NULL: zeroes) */
static int page_store(struct wov *w, uint32_t e, uint32_t at, const void *src,
		      uint32_t len)
{
	static const uint8_t zero[WOV_PAGE];

	if (!(e & E_PART)) {
		if (src)
			memcpy(ram_page(w, e) + at, src, len);
		else
			memset(ram_page(w, e) + at, 0, len);
		return 0;
	}
	return pio_full(w->part_fd, (void *)(src ? src : zero), len,
			part_pos(w, e) + at, 1);
}

static int page_load(const struct wov *w, uint32_t e, uint32_t at, void *dst,
		     uint32_t len)
{
	if (!(e & E_PART)) {
		memcpy(dst, ram_page(w, e) + at, len);
		return 0;
	}
	return pio_full(w->part_fd, dst, len, part_pos(w, e) + at, 0);
}

static void set_dirty(struct wov *w, struct wov_slot *sl, uint8_t dirty)
{
	if (!sl->dirty && dirty)
		w->h->dirty++;
	else if (sl->dirty && !dirty)
		w->h->dirty--;
	sl->dirty = dirty;
}

/* A slot for page pg in the first tier with room; its sectors are not
 * valid yet. 0 when every local tier is full. */
static uint32_t slot_new(struct wov *w, uint64_t pg)
{
	struct wov_slot *sl;
	uint32_t e;

	if (w->h->ram_next < w->h->ram_slots) {
		e = (uint32_t)(w->h->ram_next + 1);
		sl = &w->sram[w->h->ram_next++];
	} else if (w->h->part_next < w->h->part_slots) {
		e = (uint32_t)(w->h->part_next + 1) | E_PART;
		sl = &w->spart[w->h->part_next++];
	} else {
		return 0;
	}
	sl->page = (uint32_t)pg;
	sl->valid = sl->dirty = 0;
	return e;
}

/* The piece [*a, *b) of page pg inside [off, end). */
static void page_piece(uint64_t pg, uint64_t off, uint64_t end, uint64_t *a,
		       uint64_t *b)
{
	*a = MAX(off, pg * WOV_PAGE);
	*b = MIN(end, pg * WOV_PAGE + WOV_PAGE);
}

static void range_add(struct wov_range *r, uint64_t a, uint64_t b)
{
	uint64_t end = r->len ? MAX(r->off + r->len, b) : b;

	r->off = r->len ? MIN(r->off, a) : a;
	r->len = (uint32_t)(end - r->off);
}

/*
 * One page's share [a, b) of a write (src NULL: zeroes). The sectors it
 * covers whole become (or stay) local when a tier has room; sectors
 * already local take any bytes in place. 1 when all of [a, b) stayed
 * local, 0 when the server must take it too, -EIO when the partition
 * failed (its old bytes would be lost otherwise).
 */
static int page_write(struct wov *w, uint64_t pg, uint64_t a, uint64_t b,
		      const uint8_t *src, int through, int may_alloc)
{
	uint64_t start = pg * WOV_PAGE;
	uint8_t touch = touch_mask(pg, a, b), full = full_mask(w, pg, a, b);
	uint32_t e = w->map[pg];
	struct wov_slot *sl;
	uint8_t local;

	if (!e && full && may_alloc)
		e = slot_new(w, pg);
	if (!e)
		return 0;
	sl = slot_of(w, e);
	local = (uint8_t)((sl->valid | full) & touch);
	if (!local)
		return 0;
	/* bytes of sectors that stay not valid are written but never read */
	if (page_store(w, e, (uint32_t)(a - start), src, (uint32_t)(b - a)))
		return -EIO;
	sl->valid |= local;
	w->map[pg] = e;		/* published after the data */
	if (w->writeback && !through)
		set_dirty(w, sl, sl->dirty | local);
	else if (through)	/* the server gets [a, b) now */
		set_dirty(w, sl, sl->dirty & (uint8_t)~full);
	return (touch & ~local) ? 0 : 1;
}

static int range_write(struct wov *w, uint64_t off, uint64_t len,
		       const uint8_t *data, int through, int may_alloc,
		       struct wov_range *srv)
{
	uint64_t end, pg;
	int rc;

	srv->off = 0;
	srv->len = 0;
	if (off >= w->h->image_size || len == 0)
		return 0;
	end = MIN(off + len, w->h->image_size);
	for (pg = off / WOV_PAGE; pg * WOV_PAGE < end; pg++) {
		uint64_t a, b;

		page_piece(pg, off, end, &a, &b);

		rc = page_write(w, pg, a, b, data ? data + (a - off) : NULL,
				through, may_alloc);
		if (rc < 0)
			return rc;
		if (rc == 0)
			range_add(srv, a, b);
	}
	if (through) {
		srv->off = off;
		srv->len = (uint32_t)MIN(end - off, (uint64_t)UINT32_MAX);
	}
	return 0;
}

int wov_write(struct wov *w, uint64_t off, uint32_t len, const void *data,
	      int through, struct wov_range *srv)
{
	int rc = range_write(w, off, len, data, through, 1, srv);

	w->h->server_bytes += srv->len;
	return rc;
}

int wov_zero(struct wov *w, uint64_t off, uint64_t len, struct wov_range *srv)
{
	/* only sectors held here; the server zeroes the whole range */
	return range_write(w, off, len, NULL, 1, 0, srv);
}

/* Sectors of page pg held here among those [a, b) overlaps. */
static uint8_t local_mask(const struct wov *w, uint64_t pg, uint64_t a,
			  uint64_t b)
{
	uint32_t e = w->map[pg];

	return e ? (uint8_t)(slot_of(w, e)->valid & touch_mask(pg, a, b)) : 0;
}

int wov_covers(const struct wov *w, uint64_t off, uint32_t len)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);

	if (off >= end)
		return 0;
	for (pg = off / WOV_PAGE; pg * WOV_PAGE < end; pg++) {
		uint64_t a, b;

		page_piece(pg, off, end, &a, &b);

		if (local_mask(w, pg, a, b) != touch_mask(pg, a, b))
			return 0;
	}
	return 1;
}

int wov_touches(const struct wov *w, uint64_t off, uint32_t len)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);

	if (!w->h->ram_next && !w->h->part_next)
		return 0;	/* nothing written yet: the common case */
	for (pg = off / WOV_PAGE; off < end && pg * WOV_PAGE < end; pg++) {
		uint64_t a, b;

		page_piece(pg, off, end, &a, &b);
		if (local_mask(w, pg, a, b))
			return 1;
	}
	return 0;
}

/* Copy page pg's local sectors within [a, b) to out (= byte a). */
static int patch_page(const struct wov *w, uint64_t pg, uint64_t a,
		      uint64_t b, uint8_t *out)
{
	uint64_t start = pg * WOV_PAGE;
	uint8_t m = local_mask(w, pg, a, b);
	unsigned k = 0;

	while (m >> k) {
		unsigned k1;
		uint64_t x, y;

		if (!(m & (1u << k))) {
			k++;
			continue;
		}
		for (k1 = k; k1 < SPP && (m & (1u << k1)); k1++)
			;
		/* a run of local sectors [k, k1), clipped to [a, b) */
		x = MAX(a, start + k * SECT);
		y = MIN(b, start + k1 * SECT);
		if (page_load(w, w->map[pg], (uint32_t)(x - start),
			      out + (x - a), (uint32_t)(y - x)) != 0)
			return -EIO;
		k = k1;
	}
	return 0;
}

int wov_patch(const struct wov *w, uint64_t off, uint32_t len, void *buf)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);
	uint8_t *out = buf;

	for (pg = off / WOV_PAGE; off < end && pg * WOV_PAGE < end; pg++) {
		uint64_t a, b;

		page_piece(pg, off, end, &a, &b);

		if (w->map[pg] && patch_page(w, pg, a, b, out + (a - off)))
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

/* First run of dirty sectors [*k0, *k1) of a slot. */
static void dirty_run(const struct wov_slot *sl, unsigned *k0, unsigned *k1)
{
	unsigned k = 0;

	while (!(sl->dirty & (1u << k)))
		k++;
	*k0 = k;
	while (k < SPP && (sl->dirty & (1u << k)))
		k++;
	*k1 = k;
}

/*
 * The next run of dirty sectors among slots [*pos, end) of one tier: it
 * may go on into the following slots while they hold the following image
 * pages and their dirty sectors continue it, so the run is one memcpy or
 * one pread and one server write.
 */
static int sweep_tier(struct wov *w, struct wov_slot *slots, uint64_t *pos,
		      uint64_t end, uint32_t tier, void *buf, uint32_t max,
		      struct wov_range *run)
{
	uint64_t s, n;
	unsigned k0, k1, j0, j1;
	uint32_t len;

	for (s = *pos; s < end && !slots[s].dirty; s++)
		;
	if ((*pos = s) == end)
		return 0;
	dirty_run(&slots[s], &k0, &k1);
	len = (k1 - k0) * SECT;
	for (n = 1; k1 == SPP && s + n < end &&
		    slots[s + n].page == slots[s].page + n &&
		    slots[s + n].dirty; n++) {
		dirty_run(&slots[s + n], &j0, &j1);
		if (j0 != 0 || len + j1 * SECT > max)
			break;
		len += j1 * SECT;
		k1 = j1;
		if (j1 != SPP) {
			n++;
			break;
		}
	}
	/* n slots: the first from sector k0, the last up to sector k1 */
	run->off = (uint64_t)slots[s].page * WOV_PAGE + k0 * SECT;
	run->len = (uint32_t)MIN((uint64_t)len, w->h->image_size - run->off);
	if (page_load(w, (uint32_t)(s + 1) | tier, k0 * SECT, buf, run->len))
		return -EIO;	/* dirty still: the next sweep tries again */
	for (uint64_t i = 0; i < n; i++) {
		struct wov_slot *sl = &slots[s + i];
		unsigned from = i ? 0 : k0, to = i + 1 < n ? SPP : k1;
		uint8_t m = (uint8_t)(((1u << to) - 1) & ~((1u << from) - 1));

		set_dirty(w, sl, sl->dirty & (uint8_t)~m);
	}
	w->h->written_back += n;
	*pos = slots[s + n - 1].dirty ? s + n - 1 : s + n;
	return 1;
}

int wov_sweep_next(struct wov *w, void *buf, uint32_t max,
		   struct wov_range *run)
{
	int rc;

	if (max < WOV_PAGE)
		return -EINVAL;
	rc = sweep_tier(w, w->sram, &w->sw_ram_pos, w->sw_ram_end, 0, buf,
			max, run);
	if (rc == 0)
		rc = sweep_tier(w, w->spart, &w->sw_part_pos, w->sw_part_end,
				E_PART, buf, max, run);
	return rc;
}

void wov_redirty(struct wov *w, uint64_t off, uint32_t len)
{
	uint64_t pg, end = MIN(off + len, w->h->image_size);

	for (pg = off / WOV_PAGE; off < end && pg * WOV_PAGE < end; pg++) {
		uint64_t a, b;
		uint8_t m;

		page_piece(pg, off, end, &a, &b);
		if ((m = local_mask(w, pg, a, b))) {
			struct wov_slot *sl = slot_of(w, w->map[pg]);

			set_dirty(w, sl, sl->dirty | m);
		}
	}
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
