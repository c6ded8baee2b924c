/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the one-partition GPT of `linkboot.ssd=auto` (lib/gpt.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "gpt.h"

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get64((const uint8_t[8]){ p[0], p[1], p[2], p[3] });
}

static void check_header(const uint8_t *h, uint64_t my, uint64_t alt,
			 uint64_t entries_lba, const struct gpt_layout *g)
{
	uint8_t copy[92];

	assert_memory_equal(h, "EFI PART", 8);
	assert_int_equal(get32(h + 12), 92);
	memcpy(copy, h, 92);
	memset(copy + 16, 0, 4);
	assert_int_equal(get32(h + 16), (uint32_t)crc32(0L, copy, 92));
	assert_int_equal(get64(h + 24), my);
	assert_int_equal(get64(h + 32), alt);
	assert_int_equal(get64(h + 72), entries_lba);
	assert_int_equal(get32(h + 80), GPT_ENTRIES);
	assert_int_equal(get32(h + 88),
			 (uint32_t)crc32(0L, g->entries, GPT_ENTRIES_BYTES));
	/* the partition lies inside the usable LBAs */
	assert_true(g->part_first >= get64(h + 40));
	assert_true(g->part_last <= get64(h + 48));
}

static void test_layout_512(void **state)
{
	static struct gpt_layout g;
	uint8_t guids[32];
	uint64_t last = (64ull << 20) / 512 - 1;

	(void)state;
	memset(guids, 0xa5, sizeof(guids));
	assert_int_equal(gpt_build_single(&g, 64ull << 20, 512,
					  gpt_type_linux_data, "linkboot-cache",
					  GPT_ATTR_NO_AUTO, guids), 0);
	assert_int_equal(g.mbr[450], 0xee);
	assert_int_equal(g.mbr[510], 0x55);
	assert_int_equal(g.mbr[511], 0xaa);
	assert_int_equal(g.part_first, 2048);
	assert_int_equal((g.part_last + 1) % 2048, 0);
	check_header(g.primary, 1, last, 2, &g);
	check_header(g.backup, last, 1, last - 32, &g);
	assert_int_equal(g.backup_off, last * 512);
	assert_int_equal(g.backup_entries_off, (last - 32) * 512);
	assert_memory_equal(g.entries, gpt_type_linux_data, 16);
	assert_int_equal(get64(g.entries + 48), GPT_ATTR_NO_AUTO);
	assert_int_equal(g.entries[56], 'l');
	assert_int_equal(g.entries[57], 0);
	assert_int_equal(g.entries[56 + 2 * 13], 'e');
	assert_int_equal((g.entries[16 + 7] & 0xf0), 0x40);	/* v4 GUID */
}

static void test_layout_4k(void **state)
{
	static struct gpt_layout g;
	uint8_t guids[32] = { 0 };

	(void)state;
	assert_int_equal(gpt_build_single(&g, 1ull << 30, 4096,
					  gpt_type_linux_data, "x", 0, guids), 0);
	assert_int_equal(g.part_first, 256);
	check_header(g.primary, 1, (1ull << 30) / 4096 - 1, 2, &g);
}

static void test_refused(void **state)
{
	static struct gpt_layout g;
	uint8_t guids[32] = { 0 };

	(void)state;
	assert_int_equal(gpt_build_single(&g, 1 << 20, 512,
					  gpt_type_linux_data, "x", 0, guids),
			 -ENOSPC);
	assert_int_equal(gpt_build_single(&g, 1 << 30, 1024,
					  gpt_type_linux_data, "x", 0, guids),
			 -EINVAL);
	assert_int_equal(gpt_build_single(&g, 1 << 30, 512,
					  gpt_type_linux_data, "", 0, guids),
			 -EINVAL);
	assert_int_equal(gpt_build_single(&g, 1 << 30, 512, gpt_type_linux_data,
					  "0123456789012345678901234567890123456",
					  0, guids), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_512),
		cmocka_unit_test(test_layout_4k),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
