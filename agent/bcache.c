/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RAM block cache: SLRU with an O(1) hash index; see bcache.h. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bcache.h"
#include "lb_util.h"

#define BC_NIL UINT32_MAX
/* protected may hold at most this share of the slots (per mille) */
#define BC_PROTECTED_SHARE 800

enum bc_list_id {
	BC_LIST_FREE,
	BC_LIST_PENDING,
	BC_LIST_PROBATION,
	BC_LIST_PROTECTED,
	BC_NLISTS,
};

struct bc_entry {
	uint64_t blk;		/* device block number (valid unless free) */
	uint32_t hnext;		/* next entry in the hash bucket chain */
	uint32_t prev, next;	/* neighbours in the list it is on */
	uint8_t list;		/* enum bc_list_id */
	uint8_t flags;		/* BC_ONCE */
	uint8_t read_end;	/* where the last read of it ended, in
				 * 512-byte units (bcache_lookup_part) */
};

struct bc_list {
	uint32_t head;		/* MRU end */
	uint32_t tail;		/* LRU end */
	uint32_t count;
};

struct bcache {
	uint32_t block_size;
	uint32_t nslots;
	uint32_t protected_max;
	uint32_t bucket_mask;
	uint8_t *arena;			/* nslots * block_size */
	struct bc_entry *e;		/* nslots */
	uint32_t *buckets;		/* bucket_mask + 1 chain heads */
	struct bc_list lists[BC_NLISTS];
	struct bc_stats stats;
};

static uint32_t bc_hash(const struct bcache *bc, uint64_t blk)
{
	/* Fibonacci hashing: sequential block numbers spread evenly */
	return (uint32_t)((blk * 0x9e3779b97f4a7c15ull) >> 32) &
	       bc->bucket_mask;
}

static void bc_unlink(struct bcache *bc, uint32_t i)
{
	struct bc_entry *x = &bc->e[i];
	struct bc_list *l = &bc->lists[x->list];

	if (x->prev != BC_NIL)
		bc->e[x->prev].next = x->next;
	else
		l->head = x->next;
	if (x->next != BC_NIL)
		bc->e[x->next].prev = x->prev;
	else
		l->tail = x->prev;
	l->count--;
}

/* Insert at the MRU end of list id. */
static void bc_push(struct bcache *bc, uint32_t i, enum bc_list_id id)
{
	struct bc_entry *x = &bc->e[i];
	struct bc_list *l = &bc->lists[id];

	x->list = (uint8_t)id;
	x->prev = BC_NIL;
	x->next = l->head;
	if (l->head != BC_NIL)
		bc->e[l->head].prev = i;
	else
		l->tail = i;
	l->head = i;
	l->count++;
}

static void bc_move(struct bcache *bc, uint32_t i, enum bc_list_id id)
{
	bc_unlink(bc, i);
	bc_push(bc, i, id);
}

static uint32_t bc_find(const struct bcache *bc, uint64_t blk)
{
	uint32_t i;

	if (!bc->nslots)
		return BC_NIL;
	for (i = bc->buckets[bc_hash(bc, blk)]; i != BC_NIL; i = bc->e[i].hnext)
		if (bc->e[i].blk == blk)
			return i;
	return BC_NIL;
}

static void bc_hash_add(struct bcache *bc, uint32_t i)
{
	uint32_t *b = &bc->buckets[bc_hash(bc, bc->e[i].blk)];

	bc->e[i].hnext = *b;
	*b = i;
}

static void bc_hash_del(struct bcache *bc, uint32_t i)
{
	uint32_t *p = &bc->buckets[bc_hash(bc, bc->e[i].blk)];

	while (*p != i)
		p = &bc->e[*p].hnext;
	*p = bc->e[i].hnext;
}

/* Drop a cached or pending entry back to the free list. */
static void bc_release(struct bcache *bc, uint32_t i)
{
	bc_hash_del(bc, i);
	bc_move(bc, i, BC_LIST_FREE);
	bc->e[i].flags = 0;
}

struct bcache *bcache_new(uint64_t bytes, uint32_t block_size)
{
	struct bcache *bc;
	uint64_t nslots;
	uint32_t nb = 1, i;

	if (block_size < 512 || block_size > (16u << 20) ||
	    (block_size & (block_size - 1)))
		return NULL;
	nslots = bytes / block_size;
	if (nslots >= BC_NIL)
		return NULL;
	if (!(bc = calloc(1, sizeof(*bc))))
		return NULL;
	bc->block_size = block_size;
	bc->nslots = (uint32_t)nslots;
	bc->protected_max =
		(uint32_t)(nslots * BC_PROTECTED_SHARE / 1000);
	while (nb < nslots)
		nb <<= 1;
	bc->bucket_mask = nb - 1;
	for (i = 0; i < BC_NLISTS; i++)
		bc->lists[i] = (struct bc_list){ BC_NIL, BC_NIL, 0 };
	if (nslots) {
		bc->arena = malloc(nslots * block_size);
		bc->e = calloc(nslots, sizeof(*bc->e));
		bc->buckets = malloc((size_t)nb * sizeof(*bc->buckets));
		if (!bc->arena || !bc->e || !bc->buckets) {
			bcache_free(bc);
			return NULL;
		}
		memset(bc->buckets, 0xff, (size_t)nb * sizeof(*bc->buckets));
		for (i = 0; i < bc->nslots; i++)
			bc_push(bc, i, BC_LIST_FREE);
	}
	return bc;
}

void bcache_free(struct bcache *bc)
{
	if (!bc)
		return;
	free(bc->arena);
	free(bc->e);
	free(bc->buckets);
	free(bc);
}

uint32_t bcache_block_size(const struct bcache *bc)
{
	return bc->block_size;
}

uint32_t bcache_slots(const struct bcache *bc)
{
	return bc->nslots;
}

const struct bc_stats *bcache_stats(const struct bcache *bc)
{
	return &bc->stats;
}

enum bc_state bcache_state(const struct bcache *bc, uint64_t blk)
{
	uint32_t i = bc_find(bc, blk);

	if (i == BC_NIL)
		return BC_ABSENT;
	return bc->e[i].list == BC_LIST_PENDING ? BC_PENDING : BC_PRESENT;
}

int bcache_is_once(const struct bcache *bc, uint64_t blk)
{
	uint32_t i = bc_find(bc, blk);

	return i != BC_NIL && bc->e[i].list != BC_LIST_PENDING &&
	       (bc->e[i].flags & BC_ONCE);
}

static uint8_t *bc_data(const struct bcache *bc, uint32_t i)
{
	return bc->arena + (size_t)i * bc->block_size;
}

/* Keep protected within its share: its LRU goes back on probation. */
static void bc_balance(struct bcache *bc)
{
	while (bc->lists[BC_LIST_PROTECTED].count > bc->protected_max)
		bc_move(bc, bc->lists[BC_LIST_PROTECTED].tail,
			BC_LIST_PROBATION);
}

static uint8_t bc_units(const struct bcache *bc, uint32_t byte)
{
	/* blocks up to 64 KiB are exact; bigger ones round down */
	uint32_t u = byte / MAX(bc->block_size / 128, 512u);

	return (uint8_t)MIN(u, 128u);
}

/* A hit on entry i: promote (a re-use) or only refresh on probation. */
static const void *bc_hit(struct bcache *bc, uint32_t i, int reuse)
{
	bc->stats.hits++;
	if (bc->e[i].flags & BC_ONCE) {
		/* data stays intact until the slot is reused: the caller
		 * copies it out before its next reserve */
		bc_release(bc, i);
		bc->stats.once_dropped++;
		return bc_data(bc, i);
	}
	if (reuse || bc->e[i].list == BC_LIST_PROTECTED) {
		bc_move(bc, i, BC_LIST_PROTECTED);
		bc_balance(bc);
	} else {
		bc_move(bc, i, BC_LIST_PROBATION);	/* its MRU end */
		bc->stats.continued++;
	}
	return bc_data(bc, i);
}

const void *bcache_lookup(struct bcache *bc, uint64_t blk)
{
	uint32_t i = bc_find(bc, blk);

	if (i == BC_NIL || bc->e[i].list == BC_LIST_PENDING) {
		bc->stats.misses++;
		return NULL;
	}
	return bc_hit(bc, i, 1);
}

const void *bcache_lookup_part(struct bcache *bc, uint64_t blk, uint32_t from,
			       uint32_t to)
{
	uint32_t i = bc_find(bc, blk);
	int reuse;

	if (i == BC_NIL || bc->e[i].list == BC_LIST_PENDING) {
		bc->stats.misses++;
		return NULL;
	}
	reuse = bc_units(bc, from) < bc->e[i].read_end;
	bc->e[i].read_end = MAX(bc_units(bc, to), (uint8_t)1);
	return bc_hit(bc, i, reuse);
}

void bcache_note_read(struct bcache *bc, uint64_t blk, uint32_t to)
{
	uint32_t i = bc_find(bc, blk);

	if (i != BC_NIL)
		bc->e[i].read_end = MAX(bc_units(bc, to), (uint8_t)1);
}

/* A slot to reuse: free first, then probation's LRU, then protected's. */
static uint32_t bc_victim(struct bcache *bc)
{
	static const enum bc_list_id order[] = {
		BC_LIST_FREE, BC_LIST_PROBATION, BC_LIST_PROTECTED,
	};
	size_t k;

	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		uint32_t i = bc->lists[order[k]].tail;

		if (i == BC_NIL)
			continue;
		if (order[k] != BC_LIST_FREE) {
			bc_release(bc, i);
			bc->stats.evictions++;
		}
		return i;
	}
	return BC_NIL;
}

void *bcache_reserve(struct bcache *bc, uint64_t blk, unsigned flags)
{
	uint32_t i;

	if (!bc->nslots || bc_find(bc, blk) != BC_NIL)
		return NULL;
	if ((i = bc_victim(bc)) == BC_NIL)
		return NULL;
	bc->e[i].blk = blk;
	bc->e[i].flags = (uint8_t)(flags & BC_ONCE);
	bc->e[i].read_end = 0;
	bc_hash_add(bc, i);
	bc_move(bc, i, BC_LIST_PENDING);
	return bc_data(bc, i);
}

void bcache_commit(struct bcache *bc, uint64_t blk)
{
	uint32_t i = bc_find(bc, blk);

	if (i == BC_NIL || bc->e[i].list != BC_LIST_PENDING)
		return;
	bc_move(bc, i, BC_LIST_PROBATION);
	bc->stats.inserts++;
}

void bcache_abort(struct bcache *bc, uint64_t blk)
{
	uint32_t i = bc_find(bc, blk);

	if (i != BC_NIL && bc->e[i].list == BC_LIST_PENDING)
		bc_release(bc, i);
}

void bcache_invalidate(struct bcache *bc, uint64_t blk)
{
	uint32_t i = bc_find(bc, blk);

	if (i != BC_NIL && bc->e[i].list != BC_LIST_PENDING)
		bc_release(bc, i);
}

int bcache_check(const struct bcache *bc)
{
	uint32_t total = 0, l, i, n;

	for (l = 0; l < BC_NLISTS; l++) {
		uint32_t prev = BC_NIL;

		n = 0;
		for (i = bc->lists[l].head; i != BC_NIL; i = bc->e[i].next) {
			if (bc->e[i].list != l || bc->e[i].prev != prev ||
			    n > bc->nslots)
				return -EUCLEAN;
			/* a cached/pending block is found by its number */
			if (l != BC_LIST_FREE && bc_find(bc, bc->e[i].blk) != i)
				return -EUCLEAN;
			prev = i;
			n++;
		}
		if (n != bc->lists[l].count || bc->lists[l].tail != prev)
			return -EUCLEAN;
		total += n;
	}
	if (total != bc->nslots ||
	    bc->lists[BC_LIST_PROTECTED].count > bc->protected_max)
		return -EUCLEAN;
	return 0;
}
