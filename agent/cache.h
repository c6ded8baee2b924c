/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_CACHE_H
#define LB_AGENT_CACHE_H

/*
 * The agent's cache stack: kernel read -> RAM (bcache) -> SSD (ssdcache)
 * -> server, with every block from the SSD or the network checked against
 * the booted version's block-hash table (lib/blockhash.h).
 *
 * Entry points follow nbdkit's cache filter: a kernel request [off, len)
 * is cut into a head (partial first block), a body (whole blocks) and a
 * tail (partial last block); the cache always works on whole blocks, so
 * a miss asks the server for the aligned span [first block, last block]
 * (clipped to the image end) and the reply fills every block of it.
 *
 *   cache_read()   1: served from RAM/SSD into out; 0: miss, *sp says
 *                  what to fetch (its blocks are PENDING in RAM, owned
 *                  by sp); CACHE_WAIT: another request is fetching one
 *                  of the blocks: try again after its fill (fetch once)
 *   cache_fill()   the server's data for sp arrived: verify every block,
 *                  fill RAM and SSD; -EBADMSG on a mismatch (nothing is
 *                  filled, the caller fetches again or fails with EIO)
 *   cache_abort()  the fetch failed: give the PENDING blocks back
 *
 * Single-threaded (the serve loop). Pure: no sockets, no clock, so the
 * unit tests drive it with an in-memory server.
 */

#include <stdint.h>
#include <sys/uio.h>

#include "blockhash.h"

#define CACHE_WAIT 2
/* largest aligned span: a 128 KiB request over 4 KiB blocks + head/tail */
#define CACHE_SPAN_MAX 34u
/* largest block: a server fetch is at most 128 KiB + 2 blocks */
#define CACHE_BS_MAX (64u * 1024)
#define CACHE_FETCH_MAX (128u * 1024 + 2 * CACHE_BS_MAX)

struct cache;
struct bcache;
struct ssdcache;

struct cache_span {
	uint64_t off;		/* byte offset of the first block */
	uint32_t len;		/* bytes to fetch (clipped to the image) */
	uint64_t first;		/* first block */
	uint32_t nblk;
	uint64_t gen;		/* write generation at reserve time */
	uint64_t koff;		/* the kernel's read it serves */
	uint32_t klen;
	unsigned tries;		/* verification failures so far */
	uint8_t *own[CACHE_SPAN_MAX];	/* RAM buffers we reserved, or NULL */
};

struct cache_stats {
	uint64_t ram_hits, ram_misses;		/* blocks */
	uint64_t ssd_hits, ssd_misses;		/* blocks */
	uint64_t ssd_corrupt;			/* SSD blocks that failed the check */
	uint64_t bytes_from_server;
	uint64_t verify_failed;			/* network blocks refetched */
	uint64_t zero_hits;			/* all-zero blocks, never fetched */
	uint64_t pack_blocks, pack_bad;		/* boot pack */
	uint64_t bytes_http;			/* table + pack downloads */
};

struct cache_cfg {
	uint64_t image_size;	/* export size */
	uint32_t block_size;	/* power of two; = the hash table's */
	uint64_t ram_bytes;	/* 0: no RAM cache */
	const uint8_t *hashes;	/* table (header + hashes) or NULL: unverified */
	uint64_t hashes_len;
	struct ssdcache *ssd;	/* NULL: no SSD layer; needs hashes */
	int ssd_fd;		/* closed by cache_free(), or -1 */
	/* a written export (server, super): its blocks that are not the
	 * version's (the server overlay's map, bit b = block b) are never
	 * checked against the table, answered as zero, kept on the SSD or
	 * taken from a boot pack; nor are the blocks this boot writes
	 * (cache_invalidate()). NULL with track_writes 0: a read-only
	 * export. */
	const uint8_t *written;
	uint64_t written_len;	/* bytes of written */
	int track_writes;
};

/* Largest image_size: what a block device can have (nbd_client.h). */
#define CACHE_IMAGE_MAX ((uint64_t)INT64_MAX)

/* 0 or -errno (-EINVAL: bad sizes or a table for another image, -EFBIG:
 * image_size over CACHE_IMAGE_MAX). The
 * hash table is copied; ssd and ssd_fd belong to the cache from then on
 * (closed on failure, or when there is no table to key the SSD by). */
int cache_new(const struct cache_cfg *cfg, struct cache **out);
void cache_free(struct cache *c);

int cache_verified(const struct cache *c);
int cache_has_ssd(const struct cache *c);
uint32_t cache_block_size(const struct cache *c);
const struct cache_stats *cache_stats(const struct cache *c);
struct bcache *cache_bcache(struct cache *c);

/* The span of whole blocks covering [off, off + len) (head/body/tail). */
int cache_span_of(const struct cache *c, uint64_t off, uint32_t len,
		  struct cache_span *sp);

int cache_read(struct cache *c, uint64_t off, uint32_t len, void *out,
	       struct cache_span *sp);
/*
 * The common hit without a copy: when every block of [off, off + len)
 * is a plain RAM block (not PENDING, not a boot pack BC_ONCE block),
 * count the hits and point iov[0..*niov) at the bytes inside the RAM
 * blocks: 1. They stay valid until the next call into the cache, so the
 * caller sends them first. 0: not that case (nothing counted; use
 * cache_read()). iov has room for CACHE_SPAN_MAX entries.
 */
int cache_peek(struct cache *c, uint64_t off, uint32_t len, struct iovec *iov,
	       unsigned *niov);
/* data: sp->len bytes from sp->off. On 0 the kernel's bytes are at
 * data + (off - sp->off). */
int cache_fill(struct cache *c, struct cache_span *sp, const void *data);
void cache_abort(struct cache *c, struct cache_span *sp);
/* A write/trim/zero: forget the blocks, and spans in flight become stale;
 * with track_writes the blocks are the PC's from now on (never checked). */
void cache_invalidate(struct cache *c, uint64_t off, uint64_t len);

/* With track_writes: [off, off + len) is the PC's from now on (a write-back
 * run of the overlay reaches the server; a replaced daemon's pages). */
void cache_mark_written(struct cache *c, uint64_t off, uint64_t len);
/* Is block blk the PC's own (not checked)? 1 or 0. */
int cache_block_written(const struct cache *c, uint64_t blk);

/* Is block blk (data of its real length) what the table says? 1 yes,
 * 0 no; 1 when unverified. */
int cache_block_ok(const struct cache *c, uint64_t blk, const void *data);

/* Boot pack: take block blk (verified) into RAM while the pack's head
 * fits in three quarters of it, and into the SSD; all-zero blocks are
 * skipped (read from nothing). 0, -EBADMSG when it fails the check
 * (skipped), or -ENOSPC: no SSD and RAM is full, stop here. */
int cache_preload(struct cache *c, uint64_t blk, const void *data);
/* Count bytes fetched over HTTP (hash table, boot pack). */
void cache_add_http_bytes(struct cache *c, uint64_t n);
/* Does the SSD hold block blk already? (An all-zero block is always
 * at hand: it is never fetched.) */
int cache_ssd_has(const struct cache *c, uint64_t blk);

/* The server traces this boot for the version's boot pack: until the
 * window ends (ms, the caller's clock) blocks come from RAM or the
 * server, never the SSD, so the trace lists all the boot reads. The SSD
 * is still filled. cache_tick() turns SSD reads back on. */
void cache_ssd_reads_off(struct cache *c, int64_t until);
void cache_tick(struct cache *c, int64_t now);

#endif
