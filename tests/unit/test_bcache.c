/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the agent's RAM block cache (agent/bcache.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/bcache.h"

#define BS 4096u

static void fill(struct bcache *bc, uint64_t blk, unsigned flags)
{
	uint8_t *p = bcache_reserve(bc, blk, flags);

	assert_non_null(p);
	memset(p, (int)(blk & 0xff), BS);
	bcache_commit(bc, blk);
}

static void test_miss_then_hit(void **state)
{
	struct bcache *bc = bcache_new(8 * BS, BS);
	const uint8_t *p;

	(void)state;
	assert_non_null(bc);
	assert_null(bcache_lookup(bc, 5));
	fill(bc, 5, 0);
	p = bcache_lookup(bc, 5);
	assert_non_null(p);
	assert_int_equal(p[0], 5);
	assert_int_equal(p[BS - 1], 5);
	assert_int_equal(bcache_stats(bc)->hits, 1);
	assert_int_equal(bcache_stats(bc)->misses, 1);
	assert_int_equal(bcache_check(bc), 0);
	bcache_free(bc);
}

static void test_pending_fetched_once(void **state)
{
	struct bcache *bc = bcache_new(8 * BS, BS);

	(void)state;
	assert_non_null(bcache_reserve(bc, 9, 0));
	assert_int_equal(bcache_state(bc, 9), BC_PENDING);
	/* a second request for the same block must wait, not refetch */
	assert_null(bcache_reserve(bc, 9, 0));
	assert_null(bcache_lookup(bc, 9));
	bcache_abort(bc, 9);
	assert_int_equal(bcache_state(bc, 9), BC_ABSENT);
	assert_int_equal(bcache_check(bc), 0);
	bcache_free(bc);
}

static void test_all_pending_no_slot(void **state)
{
	struct bcache *bc = bcache_new(2 * BS, BS);

	(void)state;
	assert_non_null(bcache_reserve(bc, 1, 0));
	assert_non_null(bcache_reserve(bc, 2, 0));
	assert_null(bcache_reserve(bc, 3, 0));
	bcache_commit(bc, 1);
	assert_non_null(bcache_reserve(bc, 3, 0));
	assert_int_equal(bcache_state(bc, 1), BC_ABSENT);
	bcache_free(bc);
}

static void test_zero_size_cache_misses(void **state)
{
	struct bcache *bc = bcache_new(0, BS);

	(void)state;
	assert_non_null(bc);
	assert_null(bcache_reserve(bc, 1, 0));
	assert_null(bcache_lookup(bc, 1));
	assert_int_equal(bcache_check(bc), 0);
	bcache_free(bc);
}

static void test_bad_block_size(void **state)
{
	(void)state;
	assert_null(bcache_new(1 << 20, 3000));
	assert_null(bcache_new(1 << 20, 256));
}

/* Hot blocks read twice survive a sequential scan 10x the cache size. */
static void test_scan_resistant(void **state)
{
	struct bcache *bc = bcache_new(100 * BS, BS);
	uint64_t b;

	(void)state;
	for (b = 0; b < 50; b++) {
		fill(bc, b, 0);
		assert_non_null(bcache_lookup(bc, b));
	}
	for (b = 1000; b < 2000; b++) {
		if (!bcache_lookup(bc, b))
			fill(bc, b, 0);
	}
	for (b = 0; b < 50; b++)
		assert_int_equal(bcache_state(bc, b), BC_PRESENT);
	assert_int_equal(bcache_check(bc), 0);
	bcache_free(bc);
}

/* The same scan read in pieces smaller than a block (4 KiB requests of
 * 64 KiB blocks): going on through a block is not a re-use. */
static void test_scan_in_pieces_resistant(void **state)
{
	const uint32_t bs = 64 * 1024, piece = 4096;
	struct bcache *bc = bcache_new(100 * (uint64_t)bs, bs);
	uint64_t b;
	uint32_t at;

	(void)state;
	for (b = 0; b < 50; b++) {	/* hot: read, then read again */
		assert_non_null(bcache_reserve(bc, b, 0));
		bcache_commit(bc, b);
		bcache_note_read(bc, b, piece);
		assert_non_null(bcache_lookup_part(bc, b, 0, piece));
	}
	for (b = 1000; b < 1500; b++) {
		assert_non_null(bcache_reserve(bc, b, 0));
		bcache_commit(bc, b);
		bcache_note_read(bc, b, piece);
		for (at = piece; at < bs; at += piece)
			assert_non_null(bcache_lookup_part(bc, b, at,
							   at + piece));
	}
	assert_int_equal(bcache_stats(bc)->continued, 500 * 15);
	for (b = 0; b < 50; b++)
		assert_int_equal(bcache_state(bc, b), BC_PRESENT);
	/* a block read again from its start is protected */
	assert_non_null(bcache_lookup_part(bc, 1499, 0, piece));
	for (b = 2000; b < 2100; b++) {
		assert_non_null(bcache_reserve(bc, b, 0));
		bcache_commit(bc, b);
	}
	assert_int_equal(bcache_state(bc, 1499), BC_PRESENT);
	assert_int_equal(bcache_state(bc, 1498), BC_ABSENT);
	assert_int_equal(bcache_check(bc), 0);
	bcache_free(bc);
}

static void test_once_leaves_after_hit(void **state)
{
	struct bcache *bc = bcache_new(8 * BS, BS);
	const uint8_t *p;

	(void)state;
	fill(bc, 7, BC_ONCE);
	fill(bc, 8, 0);
	assert_true(bcache_is_once(bc, 7));
	assert_false(bcache_is_once(bc, 8));
	assert_false(bcache_is_once(bc, 9));	/* absent */
	p = bcache_lookup(bc, 7);
	assert_non_null(p);
	assert_int_equal(p[10], 7);
	assert_int_equal(bcache_state(bc, 7), BC_ABSENT);
	assert_false(bcache_is_once(bc, 7));
	assert_int_equal(bcache_stats(bc)->once_dropped, 1);
	assert_int_equal(bcache_check(bc), 0);
	bcache_free(bc);
}

static void test_invalidate(void **state)
{
	struct bcache *bc = bcache_new(8 * BS, BS);

	(void)state;
	fill(bc, 3, 0);
	bcache_invalidate(bc, 3);
	assert_int_equal(bcache_state(bc, 3), BC_ABSENT);
	assert_non_null(bcache_reserve(bc, 4, 0));
	bcache_invalidate(bc, 4);	/* pending: left to its fetch */
	assert_int_equal(bcache_state(bc, 4), BC_PENDING);
	bcache_free(bc);
}

/*
 * Reference model: the same SLRU with plain arrays and O(n) operations.
 * Random operations on both must leave the same blocks in the same states.
 */
#define SLOTS 16
#define UNIVERSE 64

struct model {
	uint64_t prob[SLOTS], prot[SLOTS], pend[SLOTS];
	int nprob, nprot, npend;
	int once[UNIVERSE];
	int prot_max;
};

static int m_find(const uint64_t *a, int n, uint64_t b)
{
	for (int i = 0; i < n; i++)
		if (a[i] == b)
			return i;
	return -1;
}

/* index 0 = MRU */
static void m_del(uint64_t *a, int *n, int i)
{
	memmove(a + i, a + i + 1, (size_t)(*n - i - 1) * sizeof(*a));
	(*n)--;
}

static void m_push(uint64_t *a, int *n, uint64_t b)
{
	memmove(a + 1, a, (size_t)*n * sizeof(*a));
	a[0] = b;
	(*n)++;
}

static int m_lookup(struct model *m, uint64_t b)
{
	int i;

	if ((i = m_find(m->prob, m->nprob, b)) >= 0) {
		m_del(m->prob, &m->nprob, i);
	} else if ((i = m_find(m->prot, m->nprot, b)) >= 0) {
		m_del(m->prot, &m->nprot, i);
	} else {
		return 0;
	}
	if (m->once[b])
		return 1;
	m_push(m->prot, &m->nprot, b);
	while (m->nprot > m->prot_max) {
		uint64_t v = m->prot[m->nprot - 1];

		m->nprot--;
		m_push(m->prob, &m->nprob, v);
	}
	return 1;
}

static int m_reserve(struct model *m, uint64_t b, int once)
{
	if (m_find(m->prob, m->nprob, b) >= 0 ||
	    m_find(m->prot, m->nprot, b) >= 0 ||
	    m_find(m->pend, m->npend, b) >= 0)
		return 0;
	if (m->nprob + m->nprot + m->npend == SLOTS) {
		if (m->nprob)
			m->nprob--;
		else if (m->nprot)
			m->nprot--;
		else
			return 0;
	}
	m->once[b] = once;
	m_push(m->pend, &m->npend, b);
	return 1;
}

static enum bc_state m_state(const struct model *m, uint64_t b)
{
	if (m_find(m->pend, m->npend, b) >= 0)
		return BC_PENDING;
	if (m_find(m->prob, m->nprob, b) >= 0 ||
	    m_find(m->prot, m->nprot, b) >= 0)
		return BC_PRESENT;
	return BC_ABSENT;
}

static void test_random_against_model(void **state)
{
	struct bcache *bc = bcache_new(SLOTS * BS, BS);
	struct model m = { .prot_max = SLOTS * 800 / 1000 };
	unsigned seed = 12345;
	int step, i;

	(void)state;
	for (step = 0; step < 200000; step++) {
		uint64_t b = (uint64_t)(rand_r(&seed) % UNIVERSE);
		int op = rand_r(&seed) % 10;

		if (op < 5) {
			int hit = bcache_lookup(bc, b) != NULL;

			assert_int_equal(hit, m_lookup(&m, b));
		} else if (op < 8) {
			int once = rand_r(&seed) % 4 == 0;
			int got = bcache_reserve(bc, b, once ? BC_ONCE : 0) != NULL;

			assert_int_equal(got, m_reserve(&m, b, once));
		} else if (m.npend) {
			/* finish the oldest pending fetch, mostly with success */
			uint64_t p = m.pend[m.npend - 1];

			m.npend--;
			if (op == 8) {
				bcache_commit(bc, p);
				m_push(m.prob, &m.nprob, p);
			} else {
				bcache_abort(bc, p);
			}
		}
		if (step % 1000 == 0)
			assert_int_equal(bcache_check(bc), 0);
		for (i = 0; i < UNIVERSE; i++)
			if (bcache_state(bc, (uint64_t)i) != m_state(&m, (uint64_t)i))
				fail_msg("step %d: block %d differs from model",
					 step, i);
	}
	bcache_free(bc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_then_hit),
		cmocka_unit_test(test_scan_in_pieces_resistant),
		cmocka_unit_test(test_pending_fetched_once),
		cmocka_unit_test(test_all_pending_no_slot),
		cmocka_unit_test(test_zero_size_cache_misses),
		cmocka_unit_test(test_bad_block_size),
		cmocka_unit_test(test_scan_resistant),
		cmocka_unit_test(test_once_leaves_after_hit),
		cmocka_unit_test(test_invalidate),
		cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
