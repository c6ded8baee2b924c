/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: delta files and version chains (server-stub/store/delta.c).
 * Every chain is checked against a plain in-memory model of the disk.
 */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "delta.h"

#define BS	DELTA_BLOCK_SIZE
/* not a multiple of the block size: the last block is short */
#define DISK	(8 * BS + 4096 + 512)

struct fixture {
	char dir[64];
	char base[128], d2[128], d3[128], ov[128], merged[128];
	uint8_t *model;		/* what the disk must read as */
};

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	strcpy(f->dir, "/tmp/test_delta.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->base, sizeof(f->base), "%s/base", f->dir);
	snprintf(f->d2, sizeof(f->d2), "%s/v2", f->dir);
	snprintf(f->d3, sizeof(f->d3), "%s/v3", f->dir);
	snprintf(f->ov, sizeof(f->ov), "%s/ovl", f->dir);
	snprintf(f->merged, sizeof(f->merged), "%s/merged", f->dir);
	f->model = malloc(DISK);
	fill(f->model, DISK, 1);
	fd = open(f->base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->model, DISK), DISK);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f->model);
	free(f);
	return 0;
}

static void assert_chain_matches(struct vchain *c, const uint8_t *model)
{
	uint8_t *buf = malloc(DISK);
	/* odd offsets and lengths across block boundaries */
	static const struct { uint64_t off; uint32_t len; } probes[] = {
		{ 0, 1 }, { BS - 1, 2 }, { BS - 100, BS + 200 },
		{ 3 * BS + 7, 2 * BS }, { DISK - 1, 1 }, { DISK - 600, 600 },
		{ 0, DISK },
	};

	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		memset(buf, 0xee, probes[i].len);
		assert_int_equal(vchain_read(c, buf, probes[i].off,
					     probes[i].len), 0);
		if (memcmp(buf, model + probes[i].off, probes[i].len) != 0)
			fail_msg("mismatch at probe %zu (off %llu len %u)", i,
				 (unsigned long long)probes[i].off,
				 probes[i].len);
	}
	free(buf);
}

/* Write through an overlay and into the model alike. */
static void wr(struct vchain *c, uint8_t *model, uint64_t off, uint32_t len,
	       unsigned seed)
{
	uint8_t *buf = malloc(len);

	fill(buf, len, seed);
	assert_int_equal(vchain_write(c, buf, off, len, 0), 0);
	memcpy(model + off, buf, len);
	free(buf);
}

/* v2 and v3 as deltas, with overlapping writes, then read back. */
static void build_v2_v3(struct fixture *f)
{
	struct vchain *c;
	const char *d[2] = { f->d2, f->d3 };

	assert_int_equal(vchain_open(f->base, NULL, 0, &c), 0);
	assert_int_equal(vchain_attach_overlay(c, f->d2, 0, 1, 0), 0);
	wr(c, f->model, 10, 100, 2);		/* partial first block */
	wr(c, f->model, BS - 5, 10, 3);		/* straddles blocks 0/1 */
	wr(c, f->model, 4 * BS, 2 * BS, 4);	/* two whole blocks */
	assert_int_equal(vchain_zero(c, 7 * BS, BS, 0), 0);
	memset(f->model + 7 * BS, 0, BS);
	wr(c, f->model, DISK - 300, 300, 5);	/* short last block */
	assert_chain_matches(c, f->model);
	assert_int_equal(vchain_flush(c), 0);
	vchain_close(c);

	assert_int_equal(vchain_open(f->base, d, 1, &c), 0);
	assert_int_equal(vchain_attach_overlay(c, f->d3, 0, 2, 0), 0);
	wr(c, f->model, 50, 20, 6);		/* over v2's write */
	wr(c, f->model, 4 * BS + BS / 2, BS, 7); /* half of v2's two blocks */
	assert_int_equal(vchain_zero(c, 7 * BS + 10, 10, 0), 0);
	memset(f->model + 7 * BS + 10, 0, 10);
	assert_chain_matches(c, f->model);
	vchain_close(c);
}

static void test_chain_read_your_writes(void **state)
{
	struct fixture *f = *state;
	const char *d[2] = { f->d2, f->d3 };
	struct vchain *c;
	uint64_t blocks;

	build_v2_v3(f);
	/* reopened read-only, the chain reads what was written */
	assert_int_equal(vchain_open(f->base, d, 2, &c), 0);
	assert_false(vchain_has_overlay(c));
	assert_chain_matches(c, f->model);
	assert_int_equal(vchain_write(c, "x", 0, 1, 0), -EROFS);
	assert_int_equal(vchain_read(c, f->model, DISK, 1), -EINVAL);
	vchain_close(c);
	/* v2 holds blocks 0, 1, 4, 5, 7, 8 */
	assert_int_equal(delta_count_blocks(f->d2, &blocks), 0);
	assert_int_equal(blocks, 6);
}

static void test_merge_equivalence(void **state)
{
	struct fixture *f = *state;
	const char *d[2] = { f->d2, f->d3 };
	struct vchain *c, *m;
	struct stat st;

	build_v2_v3(f);
	assert_int_equal(vchain_open(f->base, d, 2, &c), 0);
	assert_int_equal(vchain_export_raw(c, f->merged, 1), 0);
	vchain_close(c);
	assert_int_equal(stat(f->merged, &st), 0);
	assert_int_equal(st.st_size, DISK);
	assert_int_equal(vchain_open(f->merged, NULL, 0, &m), 0);
	assert_chain_matches(m, f->model);
	vchain_close(m);
	/* an existing target is never overwritten */
	assert_int_equal(vchain_open(f->base, d, 2, &c), 0);
	assert_int_equal(vchain_export_raw(c, f->merged, 0), -EEXIST);
	vchain_close(c);
}

static void test_overlay_full_enospc_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct vchain *c;
	uint8_t *big = malloc(3 * BS);

	assert_int_equal(vchain_open(f->base, NULL, 0, &c), 0);
	/* room for two blocks */
	assert_int_equal(vchain_attach_overlay(c, f->ov, 2 * BS, 1, 0), 0);
	wr(c, f->model, 100, 10, 8);			/* block 0 */
	wr(c, f->model, 2 * BS + 1, 10, 9);		/* block 2 */
	wr(c, f->model, 2 * BS + 100, 10, 10);		/* block 2 again: ok */
	assert_int_equal(vchain_overlay_bytes(c), 2 * BS);
	fill(big, 3 * BS, 11);
	/* blocks 0..2: one of them is new -> refused as a whole */
	assert_int_equal(vchain_write(c, big, 0, 3 * BS, 0), ENOSPC_OVERLAY_MAX);
	assert_int_equal(vchain_write(c, big, 5 * BS, 1, 0), ENOSPC_OVERLAY_MAX);
	assert_int_equal(vchain_zero(c, 6 * BS, BS, 0), ENOSPC_OVERLAY_MAX);
	assert_chain_matches(c, f->model);
	vchain_close(c);
	/* and it is all still there after a reopen */
	assert_int_equal(vchain_open(f->base, NULL, 0, &c), 0);
	assert_int_equal(vchain_attach_overlay(c, f->ov, 2 * BS, 1, 0), 0);
	assert_chain_matches(c, f->model);
	vchain_close(c);
	free(big);
}

static void test_overlay_pinned_to_parent(void **state)
{
	struct fixture *f = *state;
	struct vchain *c;
	uint8_t b;

	assert_int_equal(vchain_open(f->base, NULL, 0, &c), 0);
	assert_int_equal(vchain_attach_overlay(c, f->ov, 0, 1, 0), 0);
	wr(c, f->model, 0, 1, 12);
	vchain_close(c);
	assert_int_equal(vchain_open(f->base, NULL, 0, &c), 0);
	/* made on v1: refused on top of another version */
	assert_int_equal(vchain_attach_overlay(c, f->ov, 0, 2, 0), -ESTALE);
	/* one writer at a time */
	{
		struct vchain *c2;

		assert_int_equal(vchain_attach_overlay(c, f->ov, 0, 1, 0), 0);
		assert_int_equal(vchain_open(f->base, NULL, 0, &c2), 0);
		assert_int_equal(vchain_attach_overlay(c2, f->ov, 0, 1, 0), -EBUSY);
		vchain_close(c2);
		vchain_close(c);
		assert_int_equal(vchain_open(f->base, NULL, 0, &c), 0);
	}
	/* reset drops it */
	assert_int_equal(vchain_attach_overlay(c, f->ov, 0, 2, 1), 0);
	assert_int_equal(vchain_overlay_bytes(c), 0);
	assert_int_equal(vchain_read(c, &b, 0, 1), 0);
	fill(f->model, 1, 1);
	assert_int_equal(b, f->model[0]);
	vchain_close(c);
}

static void test_hdr_rejects_garbage(void **state)
{
	uint8_t buf[DELTA_HDR_LEN];
	struct delta_hdr h, out;

	(void)state;
	delta_hdr_init(&h, DISK, BS, 3);
	delta_hdr_build(&h, buf);
	assert_int_equal(delta_hdr_parse(buf, sizeof(buf), &out), 0);
	assert_int_equal(out.parent_version, 3);
	assert_int_equal(out.data_off % BS, 0);
	assert_int_equal(delta_hdr_parse(buf, 10, &out), -EINVAL);
	buf[12] = 1;	/* block size 65537 */
	assert_int_equal(delta_hdr_parse(buf, sizeof(buf), &out), -EINVAL);
	delta_hdr_build(&h, buf);
	buf[32] = 1;	/* data offset not aligned */
	assert_int_equal(delta_hdr_parse(buf, sizeof(buf), &out), -EINVAL);
	delta_hdr_build(&h, buf);
	buf[8] = 9;
	assert_int_equal(delta_hdr_parse(buf, sizeof(buf), &out), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_read_your_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_equivalence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_full_enospc_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_pinned_to_parent, setup, teardown),
		cmocka_unit_test(test_hdr_rejects_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
