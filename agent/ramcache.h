/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_RAMCACHE_H
#define LB_AGENT_RAMCACHE_H

/*
 * A plain RAM block cache: direct-mapped, 4 KiB blocks, sized once at
 * start (linkboot.ram MiB), locked in memory. A slot holds one block; a
 * new block evicts whatever shared its slot. No allocation after init.
 */

#include <stdint.h>

#define RAMCACHE_BLOCK 4096u

struct ramcache {
	uint64_t nslots;	/* 0 = cache off */
	uint64_t *tags;		/* block number + 1; 0 = empty */
	uint8_t *data;		/* nslots * RAMCACHE_BLOCK */
};

int ramcache_init(struct ramcache *c, unsigned mib);
void ramcache_free(struct ramcache *c);
/* 1 and the block copied to out on a hit, 0 on a miss */
int ramcache_get(struct ramcache *c, uint64_t blk, void *out);
void ramcache_put(struct ramcache *c, uint64_t blk, const void *in);
void ramcache_invalidate(struct ramcache *c, uint64_t first, uint64_t n);

#endif
