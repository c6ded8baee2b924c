/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's cache stack: RAM -> SSD -> server, verified; see cache.h. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bcache.h"
#include "cache.h"
#include "lb_log.h"
#include "lb_util.h"
#include "ssdcache.h"

/*
 * Which 4 KiB pages of a boot pack block the kernel has read: the block
 * leaves RAM (BC_ONCE) when all of them were, since the kernel reads a
 * 64 KiB block in pieces, in any order. Direct-mapped by block number;
 * a block whose entry was taken by another leaves when a read reaches
 * its end.
 */
struct once_entry {
	uint64_t tag;		/* block + 1; 0 = free */
	uint32_t pages;		/* bit i: page i was read */
};

#define ONCE_PAGE 4096u

struct cache {
	uint64_t image_size;
	uint32_t block_size;
	uint64_t nblocks;
	uint8_t *hashes;	/* count * 32 bytes, or NULL: unverified */
	uint8_t *written;	/* bit b: block b is the PC's (cache.h), or
				 * NULL: a read-only export */
	struct bcache *ram;
	struct ssdcache *ssd;
	int ssd_fd;
	uint64_t gen;		/* bumped by every write */
	uint8_t *scratch;	/* CACHE_FETCH_MAX: SSD reads without a
				 * RAM slot, boot pack blocks kept */
	uint32_t nscratch;	/* blocks scratch holds (>= 4) */
	struct once_entry *once;	/* nonce entries, or NULL */
	uint32_t nonce;
	uint8_t zero_key[SSDC_KEY_SIZE];	/* hash of an all-zero block */
	uint32_t pack_ram;	/* boot pack blocks put into RAM */
	int64_t ssd_off_until;	/* ms: no SSD reads before, 0 = reads on */
	struct cache_stats st;
};

static int load_table(struct cache *c, const struct cache_cfg *cfg)
{
	struct blockhash_info bi;
	int rc;

	rc = blockhash_hdr_parse(cfg->hashes, (size_t)cfg->hashes_len,
				 cfg->hashes_len, &bi);
	if (rc)
		return rc;
	/* a table of another version/size would make every block "bad" */
	if (bi.image_size != cfg->image_size || bi.block_size > CACHE_BS_MAX)
		return -EINVAL;
	c->block_size = bi.block_size;
	if (!(c->hashes = malloc((size_t)bi.count * BLOCKHASH_LEN)))
		return -ENOMEM;
	memcpy(c->hashes, cfg->hashes + BLOCKHASH_HDR_LEN,
	       (size_t)bi.count * BLOCKHASH_LEN);
	return 0;
}

static void drop_ssd(const struct cache_cfg *cfg)
{
	ssdcache_close(cfg->ssd);
	if (cfg->ssd && cfg->ssd_fd >= 0)
		close(cfg->ssd_fd);
}

int cache_new(const struct cache_cfg *cfg, struct cache **out)
{
	struct cache *c;
	int rc = -ENOMEM;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		drop_ssd(cfg);
		return -ENOMEM;
	}
	c->ssd_fd = -1;
	c->image_size = cfg->image_size;
	c->block_size = cfg->block_size;
	/* below this, block arithmetic ("size + block - 1", "(last + 1) x
	 * block") cannot wrap */
	rc = -EFBIG;
	if (c->image_size > CACHE_IMAGE_MAX)
		goto fail;
	if (cfg->hashes && (rc = load_table(c, cfg)) != 0)
		goto fail;
	rc = -EINVAL;
	if (c->block_size < 4096 || c->block_size > CACHE_BS_MAX ||
	    (c->block_size & (c->block_size - 1)))
		goto fail;
	c->nblocks = c->image_size / c->block_size +
		     (c->image_size % c->block_size != 0);
	c->nscratch = CACHE_FETCH_MAX / c->block_size;
	rc = -ENOMEM;
	if (!(c->ram = bcache_new(cfg->ram_bytes, c->block_size)) ||
	    !(c->scratch = malloc(CACHE_FETCH_MAX)))
		goto fail;
	memset(c->scratch, 0, c->block_size);
	ssdcache_hash(c->scratch, c->block_size, c->zero_key);
	if (cfg->track_writes &&
	    !(c->written = calloc(1, c->nblocks / 8 + 1)))
		goto fail;
	if (c->written && cfg->written)
		memcpy(c->written, cfg->written,
		       MIN(cfg->written_len, c->nblocks / 8 + 1));
	/* content-keyed SSD blocks are only safe with the table */
	if (c->hashes) {
		c->ssd = cfg->ssd;
		c->ssd_fd = cfg->ssd_fd;
	} else {
		drop_ssd(cfg);
	}
	*out = c;
	return 0;
fail:
	drop_ssd(cfg);
	free(c->hashes);
	free(c->written);
	bcache_free(c->ram);
	free(c->scratch);
	free(c);
	return rc;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	ssdcache_close(c->ssd);
	if (c->ssd_fd >= 0)
		close(c->ssd_fd);
	bcache_free(c->ram);
	free(c->hashes);
	free(c->written);
	free(c->scratch);
	free(c->once);
	free(c);
}

int cache_verified(const struct cache *c)
{
	return c->hashes != NULL;
}

int cache_has_ssd(const struct cache *c)
{
	return c->ssd != NULL;
}

uint32_t cache_block_size(const struct cache *c)
{
	return c->block_size;
}

const struct cache_stats *cache_stats(const struct cache *c)
{
	return &c->st;
}

struct bcache *cache_bcache(struct cache *c)
{
	return c->ram;
}

/* Real length of block blk: the image's last block may be short. */
static uint32_t block_len(const struct cache *c, uint64_t blk)
{
	uint64_t start = blk * c->block_size;

	if (start >= c->image_size)
		return 0;
	return (uint32_t)MIN((uint64_t)c->block_size, c->image_size - start);
}

static const uint8_t *block_key(const struct cache *c, uint64_t blk)
{
	return c->hashes + blk * BLOCKHASH_LEN;
}

/* Is block blk the PC's own (its server overlay, this boot's writes)? */
static int block_written(const struct cache *c, uint64_t blk)
{
	return c->written && blk < c->nblocks &&
	       (c->written[blk / 8] >> (blk % 8) & 1);
}

int cache_block_written(const struct cache *c, uint64_t blk)
{
	return block_written(c, blk);
}

int cache_span_of(const struct cache *c, uint64_t off, uint32_t len,
		  struct cache_span *sp)
{
	uint64_t last;

	if (len == 0 || off >= c->image_size || len > c->image_size - off)
		return -EINVAL;
	memset(sp, 0, sizeof(*sp));
	sp->first = off / c->block_size;
	last = (off + len - 1) / c->block_size;
	if (last - sp->first + 1 > CACHE_SPAN_MAX)
		return -E2BIG;
	sp->nblk = (uint32_t)(last - sp->first + 1);
	sp->koff = off;
	sp->klen = len;
	sp->off = sp->first * c->block_size;
	sp->len = (uint32_t)(MIN((last + 1) * c->block_size, c->image_size) -
			     sp->off);
	return 0;
}

int cache_block_ok(const struct cache *c, uint64_t blk, const void *data)
{
	uint8_t got[SSDC_KEY_SIZE];

	if (!c->hashes || block_written(c, blk))
		return 1;
	if (blk >= c->nblocks)
		return 0;
	ssdcache_hash(data, block_len(c, blk), got);
	return memcmp(got, block_key(c, blk), SSDC_KEY_SIZE) == 0;
}

/*
 * Does the table say block blk is all zeroes? Such blocks (most of an
 * image: unused space between files and partitions) are answered here,
 * never fetched nor kept, in every boot. This matters for the boot pack:
 * the traced boot's SSD is keyed by content, so all zero blocks but the
 * first were SSD hits there and never reached the server's trace.
 */
static int block_is_zero(const struct cache *c, uint64_t blk)
{
	return c->hashes && block_len(c, blk) == c->block_size &&
	       !block_written(c, blk) &&
	       memcmp(block_key(c, blk), c->zero_key, SSDC_KEY_SIZE) == 0;
}

int cache_ssd_has(const struct cache *c, uint64_t blk)
{
	if (blk >= c->nblocks)
		return 0;
	if (block_is_zero(c, blk))
		return 1;
	return c->ssd && block_len(c, blk) == c->block_size &&
	       !block_written(c, blk) &&
	       ssdcache_contains(c->ssd, block_key(c, blk));
}

/* Copy the part of block blk (at src; NULL: zeroes) that [off, off + len)
 * wants. */
static void copy_part(const struct cache *c, uint64_t blk, const uint8_t *src,
		      uint64_t off, uint32_t len, uint8_t *out)
{
	uint64_t bstart = blk * c->block_size;
	uint64_t from = MAX(bstart, off);
	uint64_t to = MIN(bstart + block_len(c, blk), off + len);

	if (to <= from)
		return;
	if (src)
		memcpy(out + (from - off), src + (from - bstart), to - from);
	else
		memset(out + (from - off), 0, to - from);
}

/* Put a verified block into RAM (flags: BC_ONCE for the boot pack). */
static void ram_put(struct cache *c, uint64_t blk, const uint8_t *src,
		    unsigned flags)
{
	uint32_t n = block_len(c, blk);
	uint8_t *p = bcache_reserve(c->ram, blk, flags);

	if (!p)
		return;
	memcpy(p, src, n);
	memset(p + n, 0, c->block_size - n);
	bcache_commit(c->ram, blk);
}

/* The SSD holds whole blocks only: the short last block stays off it. */
static void ssd_put(struct cache *c, uint64_t blk, const uint8_t *src)
{
	if (c->ssd && block_len(c, blk) == c->block_size &&
	    !block_is_zero(c, blk) && !block_written(c, blk))
		ssdcache_put(c->ssd, block_key(c, blk), src);
}

static struct once_entry *once_slot(const struct cache *c, uint64_t blk)
{
	return &c->once[(blk * 0x9e3779b97f4a7c15ull >> 32) % c->nonce];
}

/* A read [off, off + len) hit pack block blk: has all of it been read? */
static int once_all_read(struct cache *c, uint64_t blk, uint64_t off,
			 uint32_t len)
{
	uint64_t bstart = blk * c->block_size, bend = bstart + c->block_size;
	uint64_t from = MAX(off, bstart), to = MIN(off + len, bend);
	uint32_t npages = c->block_size / ONCE_PAGE, all, p;
	struct once_entry *e;

	if (!c->once || npages > 32 || (e = once_slot(c, blk))->tag != blk + 1)
		return off + len >= bend;	/* untracked */
	for (p = (uint32_t)((from - bstart) / ONCE_PAGE);
	     p < npages && bstart + (uint64_t)p * ONCE_PAGE < to; p++)
		e->pages |= 1u << p;
	all = npages == 32 ? UINT32_MAX : (1u << npages) - 1;
	if (e->pages != all)
		return 0;
	e->tag = 0;
	return 1;
}

static void once_track(struct cache *c, uint64_t blk)
{
	struct once_entry *e;

	if (!c->once) {
		c->nonce = MAX(bcache_slots(c->ram) * 2, 64u);
		if (!(c->once = calloc(c->nonce, sizeof(*c->once))))
			return;
	}
	e = once_slot(c, blk);
	e->tag = blk + 1;
	e->pages = 0;
}

/* Bytes [*from, *to) of block blk that a read [off, off + len) covers. */
static void part_of(const struct cache *c, uint64_t blk, uint64_t off,
		    uint32_t len, uint32_t *from, uint32_t *to)
{
	uint64_t bstart = blk * c->block_size;

	*from = (uint32_t)(MAX(off, bstart) - bstart);
	*to = (uint32_t)(MIN(off + len, bstart + c->block_size) - bstart);
}

/* Block blk from RAM, part copied out. 1 hit, 0 not. */
static int ram_block(struct cache *c, uint64_t blk, uint64_t off, uint32_t len,
		     uint8_t *out)
{
	const uint8_t *p;
	uint64_t before;
	uint32_t from, to;

	if (block_is_zero(c, blk)) {
		c->st.zero_hits++;
		copy_part(c, blk, NULL, off, len, out);
		return 1;
	}
	before = bcache_stats(c->ram)->once_dropped;
	part_of(c, blk, off, len, &from, &to);
	if (!(p = bcache_lookup_part(c->ram, blk, from, to))) {
		c->st.ram_misses++;
		return 0;
	}
	c->st.ram_hits++;
	copy_part(c, blk, p, off, len, out);
	/* a boot pack block leaves after its first hit, but the kernel
	 * reads a 64 KiB block in pieces: it stays until every piece was
	 * read */
	if (bcache_stats(c->ram)->once_dropped != before &&
	    !once_all_read(c, blk, off, len)) {
		memcpy(c->scratch, p, c->block_size);
		ram_put(c, blk, c->scratch, BC_ONCE);
	}
	return 1;
}

/* Does the SSD claim block blk? (Whole blocks only; checked on read.) */
static int ssd_claims(struct cache *c, uint64_t blk)
{
	if (!c->ssd || block_len(c, blk) != c->block_size ||
	    block_written(c, blk))
		return 0;
	if (c->ssd_off_until) {
		c->st.ssd_misses++;	/* not served by it (traced boot) */
		return 0;
	}
	if (ssdcache_contains(c->ssd, block_key(c, blk)))
		return 1;
	c->st.ssd_misses++;
	return 0;
}

/*
 * Up to c->nscratch SSD blocks of one span, read and hashed together
 * (ssdcache_get_many(): two at a time on SHA-NI), each straight into a
 * RAM slot that becomes visible only once its block passed the check
 * (scratch when RAM has no slot); parts copied out. 1 all hit, 0 not.
 */
static int ssd_batch(struct cache *c, const uint64_t *blks, uint32_t n,
		     uint64_t off, uint32_t len, uint8_t *out)
{
	const uint8_t *keys[CACHE_SPAN_MAX];
	void *bufs[CACHE_SPAN_MAX];
	uint8_t *slot[CACHE_SPAN_MAX];
	int rc[CACHE_SPAN_MAX], all = 1;
	uint32_t i;

	for (i = 0; i < n; i++) {
		keys[i] = block_key(c, blks[i]);
		slot[i] = bcache_reserve(c->ram, blks[i], 0);
		bufs[i] = slot[i] ? slot[i] :
			  c->scratch + (size_t)i * c->block_size;
	}
	ssdcache_get_many(c->ssd, keys, bufs, n, rc);
	for (i = 0; i < n; i++) {
		if (rc[i] == 0) {
			c->st.ssd_hits++;
			if (slot[i]) {
				uint32_t from, to;

				bcache_commit(c->ram, blks[i]);
				part_of(c, blks[i], off, len, &from, &to);
				bcache_note_read(c->ram, blks[i], to);
			}
			copy_part(c, blks[i], bufs[i], off, len, out);
			continue;
		}
		all = 0;
		if (slot[i])
			bcache_abort(c->ram, blks[i]);
		c->st.ssd_misses++;
		/* the SSD had the key (ssd_claims()): a torn or flipped
		 * block, forgotten by the SSD cache, never returned */
		if (rc[i] == -ENOENT && ++c->st.ssd_corrupt <= 10)
			log_warnx("cache: SSD block for image block %llu "
				  "failed verification: fetched from the "
				  "server instead",
				  (unsigned long long)blks[i]);
	}
	return all;
}

static int ssd_blocks(struct cache *c, const uint64_t *blks, uint32_t n,
		      uint64_t off, uint32_t len, uint8_t *out)
{
	uint32_t i, k;
	int all = 1;

	for (i = 0; i < n; i += k) {
		k = MIN(n - i, c->nscratch);
		if (!ssd_batch(c, blks + i, k, off, len, out))
			all = 0;
	}
	return all;
}

int cache_peek(struct cache *c, uint64_t off, uint32_t len, struct iovec *iov,
	       unsigned *niov)
{
	struct cache_span sp;
	uint32_t i;

	*niov = 0;
	if (cache_span_of(c, off, len, &sp) != 0)
		return 0;
	for (i = 0; i < sp.nblk; i++)
		if (bcache_state(c->ram, sp.first + i) != BC_PRESENT ||
		    bcache_is_once(c->ram, sp.first + i))
			return 0;
	/* no reserve below: every pointer stays valid until we return */
	for (i = 0; i < sp.nblk; i++) {
		uint64_t blk = sp.first + i;
		const uint8_t *p;
		uint32_t from, to;

		part_of(c, blk, off, len, &from, &to);
		p = bcache_lookup_part(c->ram, blk, from, to);
		c->st.ram_hits++;
		iov[i].iov_base = (void *)(uintptr_t)(p + from);
		iov[i].iov_len = to - from;
	}
	*niov = sp.nblk;
	return 1;
}

int cache_read(struct cache *c, uint64_t off, uint32_t len, void *out,
	       struct cache_span *sp)
{
	uint64_t ssd[CACHE_SPAN_MAX];
	uint32_t i, nssd = 0;
	int rc;

	if ((rc = cache_span_of(c, off, len, sp)) != 0)
		return rc;
	/* fetch once: someone already asked the server for one of these */
	for (i = 0; i < sp->nblk; i++)
		if (bcache_state(c->ram, sp->first + i) == BC_PENDING)
			return CACHE_WAIT;
	/* RAM hits at once; the rest must all be on the SSD, else the
	 * span is a miss and the SSD is not read at all */
	for (i = 0; i < sp->nblk; i++) {
		uint64_t blk = sp->first + i;

		if (ram_block(c, blk, off, len, out))
			continue;
		if (!ssd_claims(c, blk))
			break;
		ssd[nssd++] = blk;
	}
	if (i == sp->nblk && ssd_blocks(c, ssd, nssd, off, len, out))
		return 1;
	/* miss: the whole span comes from the server; its blocks we do
	 * not hold become PENDING, owned by sp */
	for (i = 0; i < sp->nblk; i++)
		sp->own[i] = block_is_zero(c, sp->first + i) ? NULL :
			     bcache_reserve(c->ram, sp->first + i, 0);
	sp->gen = c->gen;
	return 0;
}

/* Is every block of the server's data for sp what the table says? The
 * whole blocks are hashed together (two at a time on SHA-NI), a short
 * last block of the image alone. */
static int span_ok(const struct cache *c, const struct cache_span *sp,
		   const uint8_t *d)
{
	uint8_t got[CACHE_SPAN_MAX][SSDC_KEY_SIZE];
	const void *blocks[CACHE_SPAN_MAX] = { NULL };
	uint64_t which[CACHE_SPAN_MAX];
	uint32_t i, n = 0;

	if (!c->hashes)
		return 1;
	for (i = 0; i < sp->nblk; i++) {
		uint64_t blk = sp->first + i;

		if (blk >= c->nblocks)
			return 0;
		if (block_written(c, blk))
			continue;	/* the PC's own data */
		if (block_len(c, blk) == c->block_size) {
			which[n] = blk;
			blocks[n++] = d + (uint64_t)i * c->block_size;
		} else if (!cache_block_ok(c, blk, d + (uint64_t)i *
					   c->block_size)) {
			return 0;
		}
	}
	ssdcache_hash_multi(blocks, c->block_size, n, got);
	for (i = 0; i < n; i++)
		if (memcmp(got[i], block_key(c, which[i]), SSDC_KEY_SIZE) != 0)
			return 0;
	return 1;
}

/* The kernel's read that brought blk in: later reads that go on from
 * there continue it (bcache_lookup_part()). */
static void note_kernel_read(struct cache *c, const struct cache_span *sp,
			     uint64_t blk)
{
	uint32_t from, to;

	part_of(c, blk, sp->koff, sp->klen, &from, &to);
	bcache_note_read(c->ram, blk, to);
}

int cache_fill(struct cache *c, struct cache_span *sp, const void *data)
{
	const uint8_t *d = data;
	uint32_t i;

	c->st.bytes_from_server += sp->len;
	if (!span_ok(c, sp, d)) {
		c->st.verify_failed++;
		sp->tries++;
		return -EBADMSG;
	}
	for (i = 0; i < sp->nblk; i++) {
		uint64_t blk = sp->first + i;
		const uint8_t *src = d + (uint64_t)i * c->block_size;
		uint32_t n = block_len(c, blk);

		if (sp->own[i]) {
			/* a write since we asked: the data may be stale */
			if (sp->gen == c->gen) {
				memcpy(sp->own[i], src, n);
				memset(sp->own[i] + n, 0, c->block_size - n);
				bcache_commit(c->ram, blk);
				note_kernel_read(c, sp, blk);
			} else {
				bcache_abort(c->ram, blk);
			}
			sp->own[i] = NULL;
		}
		if (sp->gen == c->gen)
			ssd_put(c, blk, src);
	}
	return 0;
}

void cache_abort(struct cache *c, struct cache_span *sp)
{
	uint32_t i;

	for (i = 0; i < sp->nblk; i++)
		if (sp->own[i]) {
			bcache_abort(c->ram, sp->first + i);
			sp->own[i] = NULL;
		}
}

void cache_invalidate(struct cache *c, uint64_t off, uint64_t len)
{
	uint64_t b, first, last;

	c->gen++;
	if (len == 0 || off >= c->image_size)
		return;
	first = off / c->block_size;
	last = (MIN(off + len, c->image_size) - 1) / c->block_size;
	for (b = first; b <= last; b++)
		bcache_invalidate(c->ram, b);
	cache_mark_written(c, off, len);
}

void cache_mark_written(struct cache *c, uint64_t off, uint64_t len)
{
	uint64_t b, last;

	if (!c || !c->written || len == 0 || off >= c->image_size)
		return;
	last = (MIN(off + len, c->image_size) - 1) / c->block_size;
	for (b = off / c->block_size; b <= last; b++)
		c->written[b / 8] |= (uint8_t)(1u << (b % 8));
}

int cache_preload(struct cache *c, uint64_t blk, const void *data)
{
	uint32_t ram_max = bcache_slots(c->ram) / 4 * 3;

	if (blk >= c->nblocks)
		return -EINVAL;
	/* no SSD, and RAM holds the pack's head: the rest has nowhere to go */
	if (!c->ssd && c->pack_ram >= ram_max)
		return -ENOSPC;
	if (block_written(c, blk))
		return 0;	/* the pack has the version's, not the PC's */
	if (!cache_block_ok(c, blk, data)) {
		c->st.pack_bad++;
		return -EBADMSG;
	}
	c->st.pack_blocks++;
	if (block_is_zero(c, blk))
		return 0;	/* read from nothing: block_is_zero() */
	if (bcache_state(c->ram, blk) != BC_ABSENT)
		return 0;
	if (c->ssd) {
		/*
		 * With an SSD a pack block leaves RAM once the kernel has
		 * read all of it (BC_ONCE: the page cache has it then, RAM
		 * must not double it); the kernel's re-reads before the
		 * mount (blkid on the disk, on the partition, the mount:
		 * the last close of a block device drops its page cache)
		 * are SSD hits.
		 */
		ram_put(c, blk, data, BC_ONCE);
		once_track(c, blk);
		ssd_put(c, blk, data);
		return 0;
	}
	/*
	 * Without one those re-reads would go to the server: plain RAM
	 * blocks. The pack is in first-read order: RAM keeps its head, the
	 * first reads, and leaves a quarter to the boot's other blocks
	 * (later pack blocks would push the first ones out).
	 */
	ram_put(c, blk, data, 0);
	c->pack_ram++;
	return 0;
}

void cache_add_http_bytes(struct cache *c, uint64_t n)
{
	c->st.bytes_http += n;
}

void cache_ssd_reads_off(struct cache *c, int64_t until)
{
	c->ssd_off_until = until;
}

void cache_tick(struct cache *c, int64_t now)
{
	if (c && c->ssd_off_until && now >= c->ssd_off_until) {
		c->ssd_off_until = 0;
		log_info("cache: boot trace window over: SSD reads on");
	}
}
