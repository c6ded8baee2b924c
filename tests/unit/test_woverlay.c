/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: the block write overlay (agent/woverlay.c). The "server" is
 * a byte array that takes every range wov_write()/wov_zero() hand it; a
 * read is the server's bytes patched by the overlay, and must equal the
 * reference model (every write applied in order) whatever tier took it.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/woverlay.h"

#define PG WOV_PAGE
#define IMG (64u * PG - 1000)		/* last page short */

static uint8_t server[64 * PG], model[64 * PG];

struct fixture {
	struct wov_cfg cfg;
	void *mem;
	struct wov *w;
	char path[64];
};

static void fx_open(struct fixture *f, uint64_t ram_pages, uint64_t part_pages,
		    int writeback)
{
	memset(f, 0, sizeof(*f));
	f->cfg.image_size = IMG;
	f->cfg.ram_bytes = ram_pages * PG;
	f->cfg.part_fd = -1;
	f->cfg.writeback = writeback;
	if (part_pages) {
		strcpy(f->path, "/tmp/test_woverlay.XXXXXX");
		f->cfg.part_fd = mkstemp(f->path);
		assert_true(f->cfg.part_fd >= 0);
		unlink(f->path);
		f->cfg.part_off = 8192;	/* the tier need not start at 0 */
		f->cfg.part_bytes = part_pages * PG;
		assert_int_equal(ftruncate(f->cfg.part_fd, 8192 +
					   part_pages * PG), 0);
	}
	f->mem = calloc(1, wov_mem_size(&f->cfg));
	assert_non_null(f->mem);
	assert_int_equal(wov_open(&f->cfg, f->mem, &f->w), 0);
	for (size_t i = 0; i < sizeof(server); i++)
		server[i] = model[i] = (uint8_t)(i * 13 + 5);
}

static void fx_close(struct fixture *f)
{
	wov_close(f->w);
	free(f->mem);
	if (f->cfg.part_fd >= 0)
		close(f->cfg.part_fd);
}

static void to_server(const struct wov_range *r, const uint8_t *data,
		      uint64_t data_off)
{
	if (r->len)
		memcpy(server + r->off, data + (r->off - data_off), r->len);
}

static void do_write(struct fixture *f, uint64_t off, uint32_t len,
		     uint8_t seed, int fua)
{
	uint8_t buf[8 * PG];
	struct wov_range r;

	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 3);
	assert_int_equal(wov_write(f->w, off, len, buf, fua, &r), 0);
	to_server(&r, buf, off);
	memcpy(model + off, buf, len);
}

static void check_read(struct fixture *f, uint64_t off, uint32_t len)
{
	uint8_t buf[8 * PG];

	memcpy(buf, server + off, len);
	assert_int_equal(wov_patch(f->w, off, len, buf), 0);
	assert_memory_equal(buf, model + off, len);
}

static void test_ram_read_your_writes(void **state)
{
	struct fixture f;
	struct wov_stats st;
	struct wov_range r;
	uint8_t buf[PG];

	(void)state;
	fx_open(&f, 8, 0, 0);
	assert_false(wov_touches(f.w, 0, IMG));
	do_write(&f, 3 * PG, 2 * PG, 1, 0);
	assert_true(wov_covers(f.w, 3 * PG, 2 * PG));
	assert_true(wov_touches(f.w, 2 * PG, 2 * PG));
	assert_false(wov_covers(f.w, 2 * PG, 2 * PG));
	check_read(&f, 2 * PG, 4 * PG);
	/* nothing went to the server */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(wov_write(f.w, 3 * PG + 100, 50, buf, 0, &r), 0);
	assert_int_equal(r.len, 0);
	memset(model + 3 * PG + 100, 0, 50);
	check_read(&f, 3 * PG, PG);
	wov_stats(f.w, &st);
	assert_int_equal(st.ram_pages, 2);
	assert_int_equal(st.server_bytes, 0);
	assert_int_equal(st.dirty_pages, 0);	/* no write-back */
	fx_close(&f);
}

static void test_tiers_spill_in_order(void **state)
{
	struct fixture f;
	struct wov_stats st;
	uint8_t buf[5 * PG];
	struct wov_range r;

	(void)state;
	fx_open(&f, 2, 2, 0);
	memset(buf, 0xab, sizeof(buf));
	/* 5 pages: 2 to RAM, 2 to the partition, the last to the server */
	assert_int_equal(wov_write(f.w, 10 * PG, 5 * PG, buf, 0, &r), 0);
	assert_int_equal(r.off, 14 * PG);
	assert_int_equal(r.len, PG);
	to_server(&r, buf, 10 * PG);
	memcpy(model + 10 * PG, buf, 5 * PG);
	wov_stats(f.w, &st);
	assert_int_equal(st.ram_pages, 2);
	assert_int_equal(st.part_pages, 2);
	assert_int_equal(st.server_bytes, PG);
	check_read(&f, 9 * PG, 7 * PG);
	/* the partition really holds pages 12 and 13 */
	assert_int_equal(pread(f.cfg.part_fd, buf, PG, 8192), PG);
	assert_int_equal(buf[0], 0xab);
	/* every tier full: a new page goes to the server (which may say
	 * ENOSPC), local pages still take rewrites */
	do_write(&f, 20 * PG, PG, 9, 0);
	do_write(&f, 11 * PG, PG, 7, 0);
	wov_stats(f.w, &st);
	assert_int_equal(st.server_bytes, 2 * PG);
	check_read(&f, 9 * PG, 8 * PG);
	check_read(&f, 20 * PG, PG);
	fx_close(&f);
}

static void test_unaligned_write_of_absent_page_goes_to_server(void **state)
{
	struct fixture f;
	uint8_t buf[3 * PG];
	struct wov_range r;

	(void)state;
	fx_open(&f, 8, 0, 0);
	memset(buf, 1, sizeof(buf));
	/* 100 bytes into page 5: the rest of its sector is on the server */
	assert_int_equal(wov_write(f.w, 5 * PG + 612, 100, buf, 0, &r), 0);
	assert_int_equal(r.off, 5 * PG + 612);
	assert_int_equal(r.len, 100);
	assert_false(wov_touches(f.w, 5 * PG, PG));
	/* pages 4 (whole) .. 6 (100 bytes): 4 local, 6 to the server */
	assert_int_equal(wov_write(f.w, 4 * PG, 2 * PG + 100, buf, 0, &r), 0);
	assert_int_equal(r.off, 6 * PG);
	assert_int_equal(r.len, 100);
	fx_close(&f);
}

/* ext4 with 1 KiB blocks writes at 1 KiB offsets: sectors, not pages */
static void test_sector_writes_stay_local(void **state)
{
	struct fixture f;
	struct wov_stats st;
	uint8_t buf[3 * PG];
	struct wov_range r;

	(void)state;
	fx_open(&f, 8, 0, 1);
	memset(buf, 7, sizeof(buf));
	assert_int_equal(wov_write(f.w, 5 * PG + 1024, 2 * PG, buf, 0, &r), 0);
	assert_int_equal(r.len, 0);
	memcpy(model + 5 * PG + 1024, buf, 2 * PG);
	assert_true(wov_covers(f.w, 5 * PG + 1024, 2 * PG));
	assert_false(wov_covers(f.w, 5 * PG, 2 * PG));
	assert_true(wov_touches(f.w, 5 * PG, 1024 + 512));
	assert_false(wov_touches(f.w, 5 * PG, 1024));
	check_read(&f, 4 * PG, 4 * PG);
	/* a 512-byte sector of a fresh page */
	do_write(&f, 9 * PG + 3 * 512, 512, 4, 0);
	check_read(&f, 9 * PG, PG);
	/* the sweep writes exactly the dirty sectors back */
	wov_sweep_start(f.w);
	while (wov_sweep_next(f.w, buf, sizeof(buf), &r) == 1) {
		assert_int_equal(r.off % 512, 0);
		memcpy(server + r.off, buf, r.len);
	}
	assert_memory_equal(server, model, sizeof(model));
	wov_stats(f.w, &st);
	assert_int_equal(st.ram_pages, 4);
	assert_int_equal(st.dirty_pages, 0);
	fx_close(&f);
}

/* A run never carries sectors that are not dirty (nor valid) here. */
static void test_sweep_run_stops_at_a_gap(void **state)
{
	struct fixture f;
	struct wov_range run;
	uint8_t buf[4 * PG];
	int n = 0;

	(void)state;
	fx_open(&f, 8, 0, 1);
	do_write(&f, 10 * PG, PG, 1, 0);		/* slot 0: all */
	do_write(&f, 11 * PG + 1024, PG - 1024, 2, 0);	/* slot 1: 2..7 */
	do_write(&f, 12 * PG, 1024, 3, 0);		/* slot 2: 0..1 */
	wov_sweep_start(f.w);
	while (wov_sweep_next(f.w, buf, sizeof(buf), &run) == 1) {
		memcpy(server + run.off, buf, run.len);
		n++;
	}
	assert_int_equal(n, 2);	/* page 10; pages 11 (from 1 KiB) + 12 */
	assert_memory_equal(server, model, sizeof(model));
	fx_close(&f);
}

static void test_short_last_page(void **state)
{
	struct fixture f;
	uint64_t last = (IMG / PG) * PG;

	(void)state;
	fx_open(&f, 4, 0, 1);
	do_write(&f, last, IMG - last, 3, 0);	/* covers the whole page */
	assert_true(wov_covers(f.w, last, IMG - last));
	check_read(&f, last - PG, PG + (IMG - last));
	fx_close(&f);
}

static void test_writeback_sweep(void **state)
{
	struct fixture f;
	struct wov_stats st;
	struct wov_range run;
	uint8_t buf[4 * PG];
	int n = 0;

	(void)state;
	fx_open(&f, 4, 4, 1);
	do_write(&f, 0, 3 * PG, 1, 0);		/* RAM slots 0-2 */
	do_write(&f, 8 * PG, 2 * PG, 2, 0);	/* RAM 3, partition 0 */
	do_write(&f, 30 * PG, PG, 3, 1);	/* FUA: to the server now */
	wov_stats(f.w, &st);
	assert_int_equal(st.dirty_pages, 5);
	assert_memory_not_equal(server, model, 3 * PG);
	wov_sweep_start(f.w);
	do_write(&f, 40 * PG, PG, 4, 0);	/* after the sweep began */
	while (wov_sweep_next(f.w, buf, sizeof(buf), &run) == 1) {
		memcpy(server + run.off, buf, run.len);
		n++;
	}
	/* runs: pages 0-2, page 8 (RAM), page 9 (partition) */
	assert_int_equal(n, 3);
	assert_memory_equal(server, model, 10 * PG);
	wov_stats(f.w, &st);
	assert_int_equal(st.dirty_pages, 1);	/* page 40: the next sweep */
	assert_int_equal(st.written_back, 5);
	/* a failed server write gives its pages back */
	wov_redirty(f.w, 0, 2 * PG);
	wov_stats(f.w, &st);
	assert_int_equal(st.dirty_pages, 3);
	wov_sweep_start(f.w);
	n = 0;
	while (wov_sweep_next(f.w, buf, PG, &run) == 1)	/* small max */
		n++;
	assert_int_equal(n, 3);
	wov_stats(f.w, &st);
	assert_int_equal(st.dirty_pages, 0);
	fx_close(&f);
}

static void test_partial_fua_keeps_page_dirty(void **state)
{
	struct fixture f;
	struct wov_stats st;

	(void)state;
	fx_open(&f, 4, 0, 1);
	do_write(&f, 2 * PG, PG, 1, 0);
	do_write(&f, 2 * PG + 8, 8, 2, 1);	/* the server got 8 bytes */
	wov_stats(f.w, &st);
	assert_int_equal(st.dirty_pages, 1);	/* the rest still not */
	do_write(&f, 2 * PG, PG, 3, 1);
	wov_stats(f.w, &st);
	assert_int_equal(st.dirty_pages, 0);
	assert_memory_equal(server + 2 * PG, model + 2 * PG, PG);
	fx_close(&f);
}

static void test_replaced_daemon_finds_pages(void **state)
{
	struct fixture f;
	struct wov *again;
	struct wov_cfg other;

	(void)state;
	fx_open(&f, 2, 2, 1);
	do_write(&f, 5 * PG, 4 * PG, 6, 0);
	wov_close(f.w);
	assert_int_equal(wov_open(&f.cfg, f.mem, &again), 0);
	f.w = again;
	check_read(&f, 4 * PG, 6 * PG);
	other = f.cfg;
	other.ram_bytes = 3 * PG;
	assert_int_equal(wov_open(&other, f.mem, &again), -EINVAL);
	fx_close(&f);
}

static void test_zeroes(void **state)
{
	struct fixture f;
	struct wov_range r;

	(void)state;
	fx_open(&f, 2, 2, 0);
	do_write(&f, 0, 4 * PG, 8, 0);		/* 2 RAM + 2 partition */
	assert_int_equal(wov_zero(f.w, 100, 4 * PG, &r), 0);
	assert_int_equal(r.off, 100);
	assert_int_equal(r.len, 4 * PG);
	memset(server + r.off, 0, r.len);
	memset(model + 100, 0, 4 * PG);
	check_read(&f, 0, 6 * PG);
	fx_close(&f);
}

static void test_big_image_refused(void **state)
{
	struct wov_cfg cfg = { .image_size = (uint64_t)1 << 45, .part_fd = -1 };
	struct wov *w;
	uint64_t m = 0;

	(void)state;
	assert_int_equal(wov_open(&cfg, &m, &w), -EFBIG);
	/* near 2^64 "size + page - 1" wrapped to a handful of pages: the
	 * overlay opened, with a page map far too small for the image */
	cfg.image_size = UINT64_MAX - 100;
	assert_int_equal(wov_open(&cfg, &m, &w), -EFBIG);
	cfg.image_size = UINT64_MAX;
	assert_int_equal(wov_open(&cfg, &m, &w), -EFBIG);
}

/* Random writes, zeroes, FUAs and sweeps against the model. */
static void test_random_against_model(void **state)
{
	struct fixture f;
	struct wov_range run, r;
	uint8_t buf[8 * PG];
	unsigned i;

	(void)state;
	srand(42);
	fx_open(&f, 6, 10, 1);
	for (i = 0; i < 4000; i++) {
		uint64_t off = (uint64_t)rand() % IMG;
		uint32_t len = 1 + (uint32_t)rand() % (uint32_t)(4 * PG);
		int op = rand() % 10;

		switch (rand() % 4) {	/* page, sector, or byte aligned */
		case 0:
			off &= ~(uint64_t)(PG - 1);
			len = (len + PG - 1) & ~(PG - 1);
			break;
		case 1:
		case 2:
			off &= ~(uint64_t)511;
			len = (len + 511) & ~511u;
			break;
		}
		len = (uint32_t)(off + len > IMG ? IMG - off : len);
		if (op < 6) {
			do_write(&f, off, len, (uint8_t)i, op == 5);
		} else if (op == 6) {
			assert_int_equal(wov_zero(f.w, off, len, &r), 0);
			memset(server + r.off, 0, r.len);
			memset(model + off, 0, len);
		} else if (op == 7) {
			wov_sweep_start(f.w);
			while (wov_sweep_next(f.w, buf, sizeof(buf), &run) == 1)
				memcpy(server + run.off, buf, run.len);
		} else {
			check_read(&f, off, len);
		}
	}
	/* a last sweep: the server alone now holds what the model does */
	wov_sweep_start(f.w);
	while (wov_sweep_next(f.w, buf, sizeof(buf), &run) == 1)
		memcpy(server + run.off, buf, run.len);
	assert_memory_equal(server, model, IMG);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ram_read_your_writes),
		cmocka_unit_test(test_tiers_spill_in_order),
		cmocka_unit_test(test_unaligned_write_of_absent_page_goes_to_server),
		cmocka_unit_test(test_sector_writes_stay_local),
		cmocka_unit_test(test_sweep_run_stops_at_a_gap),
		cmocka_unit_test(test_short_last_page),
		cmocka_unit_test(test_writeback_sweep),
		cmocka_unit_test(test_partial_fua_keeps_page_dirty),
		cmocka_unit_test(test_replaced_daemon_finds_pages),
		cmocka_unit_test(test_zeroes),
		cmocka_unit_test(test_big_image_refused),
		cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
