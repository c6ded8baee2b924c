/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: block-hash table header encode/decode (lib/blockhash.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "blockhash.h"

static void test_roundtrip(void **state)
{
	uint8_t hdr[BLOCKHASH_HDR_LEN];
	struct blockhash_info bi;
	uint64_t size = 3 * 65536 + 100;

	(void)state;
	assert_int_equal(blockhash_hdr_build(hdr, 65536, size), 0);
	assert_int_equal(blockhash_hdr_parse(hdr, sizeof(hdr),
					     blockhash_table_len(size, 65536), &bi), 0);
	assert_int_equal(bi.version, BLOCKHASH_VERSION);
	assert_int_equal(bi.block_size, 65536);
	assert_int_equal(bi.image_size, size);
	assert_int_equal(bi.count, 4);
	assert_int_equal(blockhash_entry_off(3), 32 + 3 * 32);
	assert_int_equal(blockhash_block_len(&bi, 0), 65536);
	assert_int_equal(blockhash_block_len(&bi, 3), 100);
	assert_int_equal(blockhash_block_len(&bi, 4), 0);
}

static void test_exact_multiple_has_no_short_block(void **state)
{
	uint8_t hdr[BLOCKHASH_HDR_LEN];
	struct blockhash_info bi;

	(void)state;
	assert_int_equal(blockhash_hdr_build(hdr, 4096, 8192), 0);
	assert_int_equal(blockhash_hdr_parse(hdr, sizeof(hdr), 0, &bi), 0);
	assert_int_equal(bi.count, 2);
	assert_int_equal(blockhash_block_len(&bi, 1), 4096);
}

static void test_bad_block_sizes(void **state)
{
	uint8_t hdr[BLOCKHASH_HDR_LEN];

	(void)state;
	assert_int_equal(blockhash_hdr_build(hdr, 0, 1), -EINVAL);
	assert_int_equal(blockhash_hdr_build(hdr, 2048, 1), -EINVAL);
	assert_int_equal(blockhash_hdr_build(hdr, 65537, 1), -EINVAL);
	assert_int_equal(blockhash_hdr_build(hdr, 32u << 20, 1), -EINVAL);
}

static void test_rejects_corrupt(void **state)
{
	uint8_t hdr[BLOCKHASH_HDR_LEN], bad[BLOCKHASH_HDR_LEN];
	struct blockhash_info bi;

	(void)state;
	assert_int_equal(blockhash_hdr_build(hdr, 65536, 65536), 0);
	/* short */
	assert_int_equal(blockhash_hdr_parse(hdr, 31, 0, &bi), -EINVAL);
	/* magic */
	memcpy(bad, hdr, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(blockhash_hdr_parse(bad, sizeof(bad), 0, &bi), -EINVAL);
	/* future version */
	memcpy(bad, hdr, sizeof(bad));
	bad[8] = 2;
	assert_int_equal(blockhash_hdr_parse(bad, sizeof(bad), 0, &bi), -ENOTSUP);
	/* count disagrees with the size */
	memcpy(bad, hdr, sizeof(bad));
	bad[24] = 2;
	assert_int_equal(blockhash_hdr_parse(bad, sizeof(bad), 0, &bi), -EINVAL);
	/* table truncated */
	assert_int_equal(blockhash_hdr_parse(hdr, sizeof(hdr), 32 + 31, &bi),
			 -EINVAL);
	/* a count so large the table length overflows */
	memcpy(bad, hdr, sizeof(bad));
	memset(bad + 16, 0xff, 8);
	memset(bad + 24, 0xff, 8);
	assert_int_not_equal(blockhash_hdr_parse(bad, sizeof(bad), 0, &bi), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_exact_multiple_has_no_short_block),
		cmocka_unit_test(test_bad_block_sizes),
		cmocka_unit_test(test_rejects_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
