/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the agent's persistent SSD cache (agent/ssdcache.c). */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/ssdcache.h"

#define BS 4096u
#define DEV (256u * 1024)	/* 256 KiB: ~60 slots */

static int tmpdev(void)
{
	char path[] = "/tmp/test_ssdcache.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, DEV), 0);
	return fd;
}

static void block(uint8_t *b, unsigned seed, uint8_t key[32])
{
	for (unsigned i = 0; i < BS; i++)
		b[i] = (uint8_t)(seed * 7 + i);
	memcpy(b + 1, &seed, sizeof(seed));	/* distinct seeds, distinct blocks */
	ssdcache_hash(b, BS, key);
}

static void test_put_get_and_persist(void **state)
{
	uint8_t b[BS], out[BS], key[32];
	struct ssdcache *c;
	int fd = tmpdev();

	(void)state;
	assert_int_equal(ssdcache_open(fd, DEV, BS, 1, &c), 0);
	block(b, 1, key);
	assert_int_equal(ssdcache_get(c, key, out), -ENOENT);
	assert_int_equal(ssdcache_put(c, key, b), 0);
	assert_int_equal(ssdcache_get(c, key, out), 0);
	assert_memory_equal(b, out, BS);
	ssdcache_close(c);
	/* reboot: the block is still there */
	assert_int_equal(ssdcache_open(fd, DEV, BS, 0, &c), 0);
	assert_int_equal(ssdcache_get(c, key, out), 0);
	assert_memory_equal(b, out, BS);
	assert_int_equal(ssdcache_stats(c)->hits, 1);
	ssdcache_close(c);
	close(fd);
}

static void test_not_ours_without_format(void **state)
{
	struct ssdcache *c;
	int fd = tmpdev();

	(void)state;
	assert_int_equal(ssdcache_open(fd, DEV, BS, 0, &c), -ENODATA);
	assert_int_equal(ssdcache_open(fd, 8192, BS, 1, &c), -ENOSPC);
	close(fd);
}

static void test_corrupt_block_is_a_miss(void **state)
{
	uint8_t b[BS], out[BS], key[32], byte;
	struct ssdcache *c;
	int fd = tmpdev();
	off_t off;

	(void)state;
	assert_int_equal(ssdcache_open(fd, DEV, BS, 1, &c), 0);
	block(b, 2, key);
	assert_int_equal(ssdcache_put(c, key, b), 0);
	ssdcache_close(c);
	/* flip one byte of the data area: first slot's data is its last
	 * write, found by scanning for the pattern's first byte */
	for (off = 4096; off < DEV; off += BS) {
		assert_int_equal(pread(fd, &byte, 1, off), 1);
		if (byte == b[0] && off >= 8192)
			break;
	}
	assert_true(off < DEV);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, off + 0), 1);
	assert_int_equal(ssdcache_open(fd, DEV, BS, 0, &c), 0);
	assert_int_equal(ssdcache_get(c, key, out), -ENOENT);
	assert_int_equal(ssdcache_stats(c)->corrupt, 1);
	/* dropped for good, then refilled */
	assert_false(ssdcache_contains(c, key));
	assert_int_equal(ssdcache_put(c, key, b), 0);
	assert_int_equal(ssdcache_get(c, key, out), 0);
	ssdcache_close(c);
	close(fd);
}

/* Several gets at once (the cache's multi-block spans): each block gets
 * its own verdict; a corrupt one is dropped, the others are returned. */
static void test_get_many_each_checked(void **state)
{
	uint8_t b[5][BS], out[5][BS], key[5][32], head[5], byte;
	const uint8_t *keys[5];
	void *bufs[5];
	int rc[5], i, fd = tmpdev();
	struct ssdcache *c;
	off_t off;

	(void)state;
	assert_int_equal(ssdcache_open(fd, DEV, BS, 1, &c), 0);
	for (i = 0; i < 4; i++) {
		block(b[i], 10 + (unsigned)i, key[i]);
		if (i != 2)		/* block 2 is never stored */
			assert_int_equal(ssdcache_put(c, key[i], b[i]), 0);
	}
	ssdcache_close(c);
	/* flip a byte of block 1's data on the device */
	for (off = 8192; off < DEV; off += BS) {
		assert_int_equal(pread(fd, head, 5, off), 5);
		if (memcmp(head, b[1], 5) == 0)
			break;
	}
	assert_true(off < DEV);
	assert_int_equal(pread(fd, &byte, 1, off + 100), 1);
	byte ^= 0x01;
	assert_int_equal(pwrite(fd, &byte, 1, off + 100), 1);
	assert_int_equal(ssdcache_open(fd, DEV, BS, 0, &c), 0);
	/* 0, 1 (corrupt), 2 (absent), 3, and 0 again */
	for (i = 0; i < 5; i++) {
		keys[i] = key[i == 4 ? 0 : i];
		bufs[i] = out[i];
	}
	assert_int_equal(ssdcache_get_many(c, keys, bufs, 5, rc), -ENOENT);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], -ENOENT);
	assert_int_equal(rc[2], -ENOENT);
	assert_int_equal(rc[3], 0);
	assert_int_equal(rc[4], 0);
	assert_memory_equal(out[0], b[0], BS);
	assert_memory_equal(out[3], b[3], BS);
	assert_memory_equal(out[4], b[0], BS);
	assert_int_equal(ssdcache_stats(c)->corrupt, 1);
	assert_int_equal(ssdcache_stats(c)->hits, 3);
	assert_int_equal(ssdcache_stats(c)->misses, 2);
	assert_false(ssdcache_contains(c, key[1]));
	assert_true(ssdcache_contains(c, key[3]));
	assert_int_equal(ssdcache_get_many(c, keys, bufs, SSDC_GET_MAX + 1, rc),
			 -EINVAL);
	ssdcache_close(c);
	close(fd);
}

static void test_torn_entry_ignored(void **state)
{
	uint8_t b[BS], key[32], junk[64];
	struct ssdcache *c;
	int fd = tmpdev();

	(void)state;
	assert_int_equal(ssdcache_open(fd, DEV, BS, 1, &c), 0);
	block(b, 3, key);
	assert_int_equal(ssdcache_put(c, key, b), 0);
	ssdcache_close(c);
	/* a half-written index entry: bytes of the key changed, old crc */
	assert_int_equal(pread(fd, junk, 64, 4096), 64);
	junk[5] ^= 0xff;
	assert_int_equal(pwrite(fd, junk, 64, 4096), 64);
	assert_int_equal(ssdcache_open(fd, DEV, BS, 0, &c), 0);
	assert_false(ssdcache_contains(c, key));
	ssdcache_close(c);
	close(fd);
}

static void test_ring_replaces_oldest(void **state)
{
	uint8_t b[BS], out[BS], first[32], key[32];
	struct ssdcache *c;
	uint64_t n, i;
	int fd = tmpdev();

	(void)state;
	assert_int_equal(ssdcache_open(fd, DEV, BS, 1, &c), 0);
	n = ssdcache_slots(c);
	assert_true(n > 10);
	block(b, 100, first);
	assert_int_equal(ssdcache_put(c, first, b), 0);
	for (i = 1; i < n; i++) {
		block(b, 100 + (unsigned)i, key);
		assert_int_equal(ssdcache_put(c, key, b), 0);
	}
	assert_true(ssdcache_contains(c, first));
	block(b, 5000, key);
	assert_int_equal(ssdcache_put(c, key, b), 0);
	assert_false(ssdcache_contains(c, first));
	ssdcache_close(c);
	/* after reopen the ring continues after the newest entry */
	assert_int_equal(ssdcache_open(fd, DEV, BS, 0, &c), 0);
	assert_int_equal(ssdcache_get(c, key, out), 0);
	block(b, 101, key);
	assert_true(ssdcache_contains(c, key));
	block(b, 6000, first);
	assert_int_equal(ssdcache_put(c, first, b), 0);
	block(b, 101, key);
	assert_false(ssdcache_contains(c, key));	/* next oldest went */
	ssdcache_close(c);
	close(fd);
}

static void test_block_size_change_reformats(void **state)
{
	uint8_t b[BS], key[32];
	struct ssdcache *c;
	int fd = tmpdev();

	(void)state;
	assert_int_equal(ssdcache_open(fd, DEV, BS, 1, &c), 0);
	block(b, 9, key);
	assert_int_equal(ssdcache_put(c, key, b), 0);
	ssdcache_close(c);
	assert_int_equal(ssdcache_open(fd, DEV, 2 * BS, 0, &c), -ENODATA);
	assert_int_equal(ssdcache_open(fd, DEV, 2 * BS, 1, &c), 0);
	assert_false(ssdcache_contains(c, key));
	ssdcache_close(c);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_and_persist),
		cmocka_unit_test(test_not_ours_without_format),
		cmocka_unit_test(test_corrupt_block_is_a_miss),
		cmocka_unit_test(test_get_many_each_checked),
		cmocka_unit_test(test_torn_entry_ignored),
		cmocka_unit_test(test_ring_replaces_oldest),
		cmocka_unit_test(test_block_size_change_reformats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
