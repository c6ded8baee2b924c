/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BENCH_STATS_H
#define LB_BENCH_STATS_H

/* Percentiles of the bench load generators (nbd_storm, iscsi_storm,
 * agent_storm): sort the samples with cmp_i64, then pct(). */

#include <stddef.h>
#include <stdint.h>

static inline int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The p-th (0..1) of n sorted samples, nearest rank; 0 for none. */
static inline int64_t pct(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

#endif
