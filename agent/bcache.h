/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_BCACHE_H
#define LB_AGENT_BCACHE_H

/*
 * The agent's RAM block cache (layer 1 of the client cache, cache.h).
 *
 * Fixed-size blocks (default 64 KiB) of the root device, in one arena
 * allocated up front: memory is the configured size plus ~24 bytes per slot
 * and a bucket array. Lookup and eviction are O(1).
 *
 * Policy: segmented LRU (SLRU), two lists:
 *
 *   miss ──► probation (MRU ... LRU) ──► evicted first
 *                 │ second hit
 *                 ▼
 *            protected (MRU ... LRU) ── over its share ──► back to probation
 *
 * A block enters on probation and is protected only when read again. A
 * one-pass sequential read (a file copy, updatedb) therefore only churns
 * probation and cannot flush the hot boot blocks, which were hit twice;
 * bcache_lookup_part() tells a re-read from a pass going on through a
 * block in pieces smaller than it.
 * Plain LRU would lose them all to one big read; CLOCK alone likewise.
 *
 * Boot-pack blocks are inserted with BC_ONCE: the kernel keeps what it read
 * in its own page cache, so after the first hit the block leaves (we must
 * not just double the page cache).
 *
 * Concurrent requests for one block fetch it once: bcache_reserve() makes
 * the block PENDING; a second request sees PENDING and waits for the
 * first's bcache_commit()/bcache_abort() instead of fetching again.
 *
 * Single-threaded (the agent's serve loop). Pointers returned stay valid
 * until the next bcache_reserve().
 */

#include <stddef.h>
#include <stdint.h>

#define BC_DEFAULT_BLOCK_SIZE (64u * 1024)

enum bc_state {
	BC_ABSENT,
	BC_PENDING,
	BC_PRESENT,
};

/* bcache_reserve() flags */
#define BC_ONCE 0x1	/* drop after the first hit (boot pack) */

struct bc_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions;
	uint64_t once_dropped;	/* BC_ONCE blocks that left after a hit */
	uint64_t continued;	/* hits that went on reading, not re-reads */
};

struct bcache;

/*
 * A cache of `bytes` (rounded down to whole blocks; 0 or < 1 block = a
 * cache that holds nothing, every lookup misses). block_size: power of two,
 * 512..16 MiB. NULL on bad arguments or no memory.
 */
struct bcache *bcache_new(uint64_t bytes, uint32_t block_size);
void bcache_free(struct bcache *bc);

uint32_t bcache_block_size(const struct bcache *bc);
uint32_t bcache_slots(const struct bcache *bc);
const struct bc_stats *bcache_stats(const struct bcache *bc);

enum bc_state bcache_state(const struct bcache *bc, uint64_t blk);
/* Is blk a present BC_ONCE block (leaves on its next lookup)? */
int bcache_is_once(const struct bcache *bc, uint64_t blk);

/* Hit: the block's data (block_size bytes), counted; miss: NULL. */
const void *bcache_lookup(struct bcache *bc, uint64_t blk);
/*
 * The same for a read of bytes [from, to) of the block. Only a read that
 * reads bytes again (it starts before where the last read of the block
 * ended) is a re-use that protects the block; one that goes on where the
 * last stopped, or further on, continues a pass through it (a sequential
 * read in requests smaller than a block) and leaves it on probation, so a
 * one-pass read in 4 KiB pieces cannot flush the hot blocks either.
 */
const void *bcache_lookup_part(struct bcache *bc, uint64_t blk, uint32_t from,
			       uint32_t to);
/* The read that made blk come in ended at byte `to` of it. */
void bcache_note_read(struct bcache *bc, uint64_t blk, uint32_t to);

/*
 * Take a slot for blk (state -> PENDING), evicting the LRU of probation,
 * else of protected. Returns the buffer to fill, or NULL when every slot is
 * pending or the cache is empty/disabled, or blk is already cached/pending.
 */
void *bcache_reserve(struct bcache *bc, uint64_t blk, unsigned flags);
/* The fetch completed: the block becomes PRESENT (on probation). */
void bcache_commit(struct bcache *bc, uint64_t blk);
/* The fetch failed: the slot is freed. */
void bcache_abort(struct bcache *bc, uint64_t blk);
/* Forget blk (a write made it stale). Pending blocks are left alone. */
void bcache_invalidate(struct bcache *bc, uint64_t blk);

/* Self-check of the lists and hash chains (tests); 0 or -EUCLEAN. */
int bcache_check(const struct bcache *bc);

#endif
