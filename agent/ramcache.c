/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RAM block cache; see ramcache.h. */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ramcache.h"

int ramcache_init(struct ramcache *c, unsigned mib)
{
	size_t bytes;

	memset(c, 0, sizeof(*c));
	if (mib == 0)
		return 0;
	c->nslots = (uint64_t)mib * (1024 * 1024 / RAMCACHE_BLOCK);
	bytes = (size_t)c->nslots * (RAMCACHE_BLOCK + sizeof(uint64_t));
	c->data = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->data == MAP_FAILED) {
		c->data = NULL;
		c->nslots = 0;
		return -ENOMEM;
	}
	c->tags = (uint64_t *)(c->data + c->nslots * RAMCACHE_BLOCK);
	return 0;
}

void ramcache_free(struct ramcache *c)
{
	if (c->data)
		munmap(c->data, (size_t)c->nslots *
		       (RAMCACHE_BLOCK + sizeof(uint64_t)));
	memset(c, 0, sizeof(*c));
}

static uint64_t slot_of(const struct ramcache *c, uint64_t blk)
{
	return blk % c->nslots;
}

int ramcache_get(struct ramcache *c, uint64_t blk, void *out)
{
	uint64_t s;

	if (!c->nslots)
		return 0;
	s = slot_of(c, blk);
	if (c->tags[s] != blk + 1)
		return 0;
	memcpy(out, c->data + s * RAMCACHE_BLOCK, RAMCACHE_BLOCK);
	return 1;
}

void ramcache_put(struct ramcache *c, uint64_t blk, const void *in)
{
	uint64_t s;

	if (!c->nslots)
		return;
	s = slot_of(c, blk);
	memcpy(c->data + s * RAMCACHE_BLOCK, in, RAMCACHE_BLOCK);
	c->tags[s] = blk + 1;
}

void ramcache_invalidate(struct ramcache *c, uint64_t first, uint64_t n)
{
	uint64_t b;

	if (!c->nslots)
		return;
	for (b = first; b < first + n; b++) {
		uint64_t s = slot_of(c, b);

		if (c->tags[s] == b + 1)
			c->tags[s] = 0;
	}
}
