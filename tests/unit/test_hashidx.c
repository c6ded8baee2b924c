/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the block-hash table index format (lib/hashidx.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hashidx.h"

static uint8_t buf[HASHIDX_HDR_LEN + 3 * 32];

static void test_roundtrip(void **state)
{
	struct hashidx_info hi;

	(void)state;
	hashidx_hdr_build(buf, 2 * HASHIDX_CHUNK + 1);	/* 3 chunks */
	assert_int_equal(hashidx_parse(buf, sizeof(buf), &hi), 0);
	assert_int_equal(hi.count, 3);
	assert_int_equal(hi.chunk, HASHIDX_CHUNK);
	assert_int_equal(hi.table_len, 2 * HASHIDX_CHUNK + 1);
}

static void test_bad(void **state)
{
	struct hashidx_info hi;

	(void)state;
	hashidx_hdr_build(buf, 2 * HASHIDX_CHUNK + 1);
	assert_int_equal(hashidx_parse(buf, sizeof(buf) - 1, &hi), -EINVAL);
	assert_int_equal(hashidx_parse(buf, 10, &hi), -EINVAL);
	buf[12] = 4;					/* count lies */
	assert_int_equal(hashidx_parse(buf, sizeof(buf), &hi), -EINVAL);
	hashidx_hdr_build(buf, 2 * HASHIDX_CHUNK + 1);
	buf[0] = 'X';
	assert_int_equal(hashidx_parse(buf, sizeof(buf), &hi), -EINVAL);
	hashidx_hdr_build(buf, 0);			/* empty table */
	assert_int_equal(hashidx_parse(buf, HASHIDX_HDR_LEN, &hi), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
