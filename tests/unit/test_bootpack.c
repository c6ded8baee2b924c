/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: boot pack encode/decode (lib/bootpack.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bootpack.h"

#define BS 4096u

/* block b is filled with a pattern derived from b */
static int read_pattern(void *arg, uint64_t blk, void *buf)
{
	(void)arg;
	for (uint32_t i = 0; i < BS; i++)
		((uint8_t *)buf)[i] = (uint8_t)(blk * 31 + i / 7);
	return 0;
}

struct seen {
	uint64_t blks[64];
	int n;
	int bad;
};

static int collect(void *arg, uint64_t blk, const void *data)
{
	struct seen *s = arg;
	uint8_t want[BS];

	read_pattern(NULL, blk, want);
	if (memcmp(want, data, BS) != 0)
		s->bad++;
	if (s->n < 64)
		s->blks[s->n++] = blk;
	return 0;
}

static const struct bp_extent exts[] = { { 0, 3 }, { 10, 2 }, { 99, 1 } };

static void encode(uint8_t **buf, size_t *len)
{
	struct bp_header h = { .block_size = BS, .nextents = 3,
			       .image_size = 100 * BS, .version = 2 };

	assert_int_equal(bootpack_encode(&h, exts, read_pattern, NULL, buf, len), 0);
}

static void test_roundtrip(void **state)
{
	static const uint64_t want[] = { 0, 1, 2, 10, 11, 99 };
	struct bp_header h;
	struct seen s = { .n = 0 };
	uint8_t *buf;
	size_t len;

	(void)state;
	encode(&buf, &len);
	assert_int_equal(bootpack_parse_header(buf, len, &h), 0);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.nextents, 3);
	assert_int_equal(bootpack_decode(buf, len, collect, &s), 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.bad, 0);
	assert_memory_equal(s.blks, want, sizeof(want));
	free(buf);
}

static void test_header_crc_detects_flip(void **state)
{
	struct bp_header h;
	uint8_t *buf;
	size_t len;

	(void)state;
	encode(&buf, &len);
	buf[BOOTPACK_HDR_SIZE + 2] ^= 1;	/* an extent's block number */
	assert_int_equal(bootpack_parse_header(buf, len, &h), -EBADMSG);
	free(buf);
}

static void test_truncated_stream(void **state)
{
	struct seen s = { .n = 0 };
	uint8_t *buf;
	size_t len;

	(void)state;
	encode(&buf, &len);
	assert_int_equal(bootpack_decode(buf, len - 5, collect, &s), -EBADMSG);
	assert_int_equal(bootpack_decode(buf, 20, collect, &s), -EBADMSG);
	free(buf);
}

static void test_trailing_garbage(void **state)
{
	struct seen s = { .n = 0 };
	uint8_t *buf, *big;
	size_t len;

	(void)state;
	encode(&buf, &len);
	big = malloc(len + 3);
	memcpy(big, buf, len);
	memset(big + len, 0xaa, 3);
	assert_int_equal(bootpack_decode(big, len + 3, collect, &s), -EBADMSG);
	free(big);
	free(buf);
}

static void test_corrupt_data(void **state)
{
	struct seen s = { .n = 0 };
	uint8_t *buf;
	size_t len;
	int rc;

	(void)state;
	encode(&buf, &len);
	buf[len - 2] ^= 0xff;	/* inside the adler32 trailer */
	rc = bootpack_decode(buf, len, collect, &s);
	assert_int_equal(rc, -EBADMSG);
	free(buf);
}

static void test_extent_outside_image_rejected(void **state)
{
	struct bp_header h = { .block_size = BS, .nextents = 1,
			       .image_size = 10 * BS };
	struct bp_extent e = { 9, 2 };
	uint8_t *buf = NULL;
	size_t len;

	(void)state;
	assert_int_equal(bootpack_encode(&h, &e, read_pattern, NULL, &buf, &len),
			 -EINVAL);
	h.block_size = 1000;
	e.count = 1;
	assert_int_equal(bootpack_encode(&h, &e, read_pattern, NULL, &buf, &len),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_header_crc_detects_flip),
		cmocka_unit_test(test_truncated_stream),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_corrupt_data),
		cmocka_unit_test(test_extent_outside_image_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
