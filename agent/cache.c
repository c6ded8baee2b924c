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

struct cache {
	uint64_t image_size;
	uint32_t block_size;
	uint64_t nblocks;
	uint8_t *hashes;	/* count * 32 bytes, or NULL: unverified */
	struct bcache *ram;
	struct ssdcache *ssd;
	int ssd_fd;
	uint64_t gen;		/* bumped by every write */
	uint8_t *scratch;	/* one block: SSD reads, hash checks */
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
	if (cfg->hashes && (rc = load_table(c, cfg)) != 0)
		goto fail;
	rc = -EINVAL;
	if (c->block_size < 4096 || c->block_size > CACHE_BS_MAX ||
	    (c->block_size & (c->block_size - 1)))
		goto fail;
	c->nblocks = (c->image_size + c->block_size - 1) / c->block_size;
	rc = -ENOMEM;
	if (!(c->ram = bcache_new(cfg->ram_bytes, c->block_size)) ||
	    !(c->scratch = malloc(c->block_size)))
		goto fail;
	memset(c->scratch, 0, c->block_size);
	ssdcache_hash(c->scratch, c->block_size, c->zero_key);
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
	free(c->scratch);
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
	sp->off = sp->first * c->block_size;
	sp->len = (uint32_t)(MIN((last + 1) * c->block_size, c->image_size) -
			     sp->off);
	return 0;
}

int cache_block_ok(const struct cache *c, uint64_t blk, const void *data)
{
	uint8_t got[SSDC_KEY_SIZE];

	if (!c->hashes)
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
	       memcmp(block_key(c, blk), c->zero_key, SSDC_KEY_SIZE) == 0;
}

int cache_ssd_has(const struct cache *c, uint64_t blk)
{
	if (blk >= c->nblocks)
		return 0;
	if (block_is_zero(c, blk))
		return 1;
	return c->ssd && block_len(c, blk) == c->block_size &&
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

/* Put a verified block into RAM. */
static void ram_put(struct cache *c, uint64_t blk, const uint8_t *src)
{
	uint32_t n = block_len(c, blk);
	uint8_t *p = bcache_reserve(c->ram, blk, 0);

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
	    !block_is_zero(c, blk))
		ssdcache_put(c->ssd, block_key(c, blk), src);
}

/* Block blk from RAM or the SSD, part copied out. 1 found, 0 not. */
static int local_block(struct cache *c, uint64_t blk, uint64_t off,
		       uint32_t len, uint8_t *out)
{
	const uint8_t *p;
	uint64_t before;

	if (block_is_zero(c, blk)) {
		c->st.zero_hits++;
		copy_part(c, blk, NULL, off, len, out);
		return 1;
	}
	if ((p = bcache_lookup(c->ram, blk))) {
		c->st.ram_hits++;
		copy_part(c, blk, p, off, len, out);
		return 1;
	}
	c->st.ram_misses++;
	if (!c->ssd || block_len(c, blk) != c->block_size)
		return 0;
	if (c->ssd_off_until) {
		c->st.ssd_misses++;	/* not served by it (traced boot) */
		return 0;
	}
	/* ssdcache_get() hashes what it read against the key: a torn or
	 * flipped block is a miss (and forgotten), never returned */
	before = ssdcache_stats(c->ssd)->corrupt;
	if (ssdcache_get(c->ssd, block_key(c, blk), c->scratch) != 0) {
		c->st.ssd_misses++;
		if (ssdcache_stats(c->ssd)->corrupt != before) {
			c->st.ssd_corrupt++;
			if (c->st.ssd_corrupt <= 10)
				log_warnx("cache: SSD block for image block "
					  "%llu failed verification: fetched "
					  "from the server instead",
					  (unsigned long long)blk);
		}
		return 0;
	}
	c->st.ssd_hits++;
	ram_put(c, blk, c->scratch);
	copy_part(c, blk, c->scratch, off, len, out);
	return 1;
}

int cache_read(struct cache *c, uint64_t off, uint32_t len, void *out,
	       struct cache_span *sp)
{
	uint32_t i;
	int rc;

	if ((rc = cache_span_of(c, off, len, sp)) != 0)
		return rc;
	/* fetch once: someone already asked the server for one of these */
	for (i = 0; i < sp->nblk; i++)
		if (bcache_state(c->ram, sp->first + i) == BC_PENDING)
			return CACHE_WAIT;
	for (i = 0; i < sp->nblk; i++)
		if (!local_block(c, sp->first + i, off, len, out))
			break;
	if (i == sp->nblk)
		return 1;
	/* miss: the whole span comes from the server; its blocks we do
	 * not hold become PENDING, owned by sp */
	for (i = 0; i < sp->nblk; i++)
		sp->own[i] = block_is_zero(c, sp->first + i) ? NULL :
			     bcache_reserve(c->ram, sp->first + i, 0);
	sp->gen = c->gen;
	return 0;
}

int cache_fill(struct cache *c, struct cache_span *sp, const void *data)
{
	const uint8_t *d = data;
	uint32_t i;

	c->st.bytes_from_server += sp->len;
	for (i = 0; i < sp->nblk; i++)
		if (!cache_block_ok(c, sp->first + i,
				    d + (uint64_t)i * c->block_size)) {
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
}

int cache_preload(struct cache *c, uint64_t blk, const void *data)
{
	uint32_t ram_max = bcache_slots(c->ram) / 4 * 3;

	if (blk >= c->nblocks)
		return -EINVAL;
	/* no SSD, and RAM holds the pack's head: the rest has nowhere to go */
	if (!c->ssd && c->pack_ram >= ram_max)
		return -ENOSPC;
	if (!cache_block_ok(c, blk, data)) {
		c->st.pack_bad++;
		return -EBADMSG;
	}
	c->st.pack_blocks++;
	if (block_is_zero(c, blk))
		return 0;	/* read from nothing: block_is_zero() */
	/*
	 * Plain RAM blocks, not read-once ones: before the root is mounted
	 * the kernel reads the same blocks two or three times (blkid on
	 * the disk, on the partition, then the mount; the last close of a
	 * block device drops its page cache). The pack is in first-read
	 * order: RAM keeps its head, the first reads, and leaves a quarter
	 * to the boot's other blocks (later pack blocks would push the
	 * first ones out); the SSD, if any, takes it all.
	 */
	if (c->pack_ram < ram_max && bcache_state(c->ram, blk) == BC_ABSENT) {
		ram_put(c, blk, data);
		c->pack_ram++;
	}
	ssd_put(c, blk, data);
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
