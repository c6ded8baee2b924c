/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: the agent's cache stack (agent/cache.c), driven with an
 * in-memory "server" (the image bytes) and an SSD cache on a temp file.
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

#include "../../agent/bcache.h"
#include "../../agent/cache.h"
#include "../../agent/ssdcache.h"
#include "blockhash.h"

#define BS 4096u
#define NBLK 40u
#define IMG_SIZE (NBLK * BS - 1024)	/* last block short */

#define ZERO_BLK 33u	/* an all-zero block, when zero_image is set */

static uint8_t img[NBLK * BS];
static uint8_t table[BLOCKHASH_HDR_LEN + NBLK * BLOCKHASH_LEN];
static size_t table_len;
static int zero_image;

static void make_image(void)
{
	uint64_t b, n = blockhash_count(IMG_SIZE, BS);

	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 7 + i / 4096);
	memset(img + IMG_SIZE, 0, sizeof(img) - IMG_SIZE);
	if (zero_image)
		memset(img + ZERO_BLK * BS, 0, BS);
	assert_int_equal(blockhash_hdr_build(table, BS, IMG_SIZE), 0);
	for (b = 0; b < n; b++)
		ssdcache_hash(img + b * BS, blockhash_block_len(&(struct
			      blockhash_info){ 1, BS, IMG_SIZE, n }, b),
			      table + blockhash_entry_off(b));
	table_len = (size_t)blockhash_table_len(IMG_SIZE, BS);
}

static struct cache *new_cache(uint64_t ram, int verified, struct ssdcache *ssd,
			       int fd)
{
	struct cache_cfg cfg = {
		.image_size = IMG_SIZE, .block_size = BS, .ram_bytes = ram,
		.hashes = verified ? table : NULL, .hashes_len = table_len,
		.ssd = ssd, .ssd_fd = fd,
	};
	struct cache *c;

	make_image();
	cfg.hashes_len = table_len;
	assert_int_equal(cache_new(&cfg, &c), 0);
	return c;
}

/* Read through the cache like the serve loop (agent/disk_serve.c): miss -> "server" -> fill. */
static void read_via(struct cache *c, uint64_t off, uint32_t len, uint8_t *out)
{
	struct cache_span sp;
	int rc = cache_read(c, off, len, out, &sp);

	if (rc == 0) {
		uint8_t *data = malloc(sp.len);

		assert_non_null(data);
		memcpy(data, img + sp.off, sp.len);
		assert_int_equal(cache_fill(c, &sp, data), 0);
		memcpy(out, data + (off - sp.off), len);
		free(data);
	} else {
		assert_int_equal(rc, 1);
	}
	assert_memory_equal(out, img + off, len);
}

static void test_span_head_body_tail(void **state)
{
	struct cache *c = new_cache(16 * BS, 1, NULL, -1);
	struct cache_span sp;

	(void)state;
	/* head 100 bytes into block 2, body block 3, tail into block 4 */
	assert_int_equal(cache_span_of(c, 2 * BS + 100, 2 * BS + 10, &sp), 0);
	assert_int_equal(sp.first, 2);
	assert_int_equal(sp.nblk, 3);
	assert_int_equal(sp.off, 2 * BS);
	assert_int_equal(sp.len, 3 * BS);
	/* aligned: exactly the blocks */
	assert_int_equal(cache_span_of(c, 4 * BS, 2 * BS, &sp), 0);
	assert_int_equal(sp.nblk, 2);
	/* the short last block: span clipped to the image end */
	assert_int_equal(cache_span_of(c, IMG_SIZE - 512, 512, &sp), 0);
	assert_int_equal(sp.first, NBLK - 1);
	assert_int_equal(sp.len, BS - 1024);
	/* past the end, empty */
	assert_int_equal(cache_span_of(c, IMG_SIZE - 512, 1024, &sp), -EINVAL);
	assert_int_equal(cache_span_of(c, 0, 0, &sp), -EINVAL);
	cache_free(c);
}

static void test_unaligned_miss_then_hit(void **state)
{
	struct cache *c = new_cache(16 * BS, 1, NULL, -1);
	struct cache_span sp;
	uint8_t out[3 * BS];

	(void)state;
	read_via(c, BS + 513, 2 * BS, out);
	assert_int_equal(cache_stats(c)->bytes_from_server, 3 * BS);
	/* any part of blocks 1..3 is now a RAM hit */
	assert_int_equal(cache_read(c, BS + 7, 2 * BS + 100, out, &sp), 1);
	assert_memory_equal(out, img + BS + 7, 2 * BS + 100);
	assert_int_equal(cache_stats(c)->bytes_from_server, 3 * BS);
	/* the short last block */
	read_via(c, IMG_SIZE - 3000, 3000, out);
	assert_int_equal(cache_read(c, IMG_SIZE - 100, 100, out, &sp), 1);
	assert_memory_equal(out, img + IMG_SIZE - 100, 100);
	cache_free(c);
}

static void test_bad_network_block_not_cached(void **state)
{
	struct cache *c = new_cache(16 * BS, 1, NULL, -1);
	struct cache_span sp;
	uint8_t out[BS], data[2 * BS];

	(void)state;
	assert_int_equal(cache_read(c, 5 * BS, 2 * BS, data, &sp), 0);
	memcpy(data, img + 5 * BS, 2 * BS);
	data[BS + 17] ^= 0x40;		/* one wrong bit in block 6 */
	assert_int_equal(cache_fill(c, &sp, data), -EBADMSG);
	assert_int_equal(sp.tries, 1);
	assert_int_equal(cache_stats(c)->verify_failed, 1);
	/* still pending (the caller refetches), never present */
	assert_int_equal(cache_read(c, 6 * BS, BS, out, &sp), CACHE_WAIT);
	assert_int_equal(cache_read(c, 5 * BS, 2 * BS, data, &sp), CACHE_WAIT);
	cache_abort(c, &sp);
	cache_free(c);

	/* refetch with good data after a bad one */
	c = new_cache(16 * BS, 1, NULL, -1);
	assert_int_equal(cache_read(c, 5 * BS, 2 * BS, data, &sp), 0);
	memcpy(data, img + 5 * BS, 2 * BS);
	data[3] ^= 1;
	assert_int_equal(cache_fill(c, &sp, data), -EBADMSG);
	data[3] ^= 1;
	assert_int_equal(cache_fill(c, &sp, data), 0);
	assert_int_equal(cache_read(c, 6 * BS, BS, out, &sp), 1);
	assert_memory_equal(out, img + 6 * BS, BS);
	cache_free(c);
}

/* Gather iov into buf; total length. */
static size_t gather(const struct iovec *iov, unsigned n, uint8_t *buf)
{
	size_t k = 0;

	for (unsigned i = 0; i < n; i++) {
		memcpy(buf + k, iov[i].iov_base, iov[i].iov_len);
		k += iov[i].iov_len;
	}
	return k;
}

/* cache_peek(): all-RAM spans point into the blocks (the image's short
 * last block too); anything else is left to cache_read(), uncounted. */
static void test_peek_ram_blocks(void **state)
{
	struct cache *c = new_cache(16 * BS, 1, NULL, -1);
	struct iovec iov[CACHE_SPAN_MAX];
	struct cache_span sp;
	uint8_t out[4 * BS];
	unsigned n;

	(void)state;
	assert_int_equal(cache_peek(c, 3 * BS + 5, 2 * BS, iov, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cache_stats(c)->ram_hits + cache_stats(c)->ram_misses,
			 0);
	read_via(c, 3 * BS, 3 * BS, out);
	assert_int_equal(cache_peek(c, 3 * BS + 5, 2 * BS, iov, &n), 1);
	assert_int_equal(n, 3);
	assert_int_equal(gather(iov, n, out), 2 * BS);
	assert_memory_equal(out, img + 3 * BS + 5, 2 * BS);
	assert_int_equal(cache_stats(c)->ram_hits, 3);
	/* block 6 absent: not all in RAM */
	assert_int_equal(cache_peek(c, 5 * BS, 2 * BS, iov, &n), 0);
	/* the image's last block is short */
	read_via(c, IMG_SIZE - 100, 100, out);
	assert_int_equal(cache_peek(c, IMG_SIZE - 3000, 3000, iov, &n), 1);
	assert_int_equal(gather(iov, n, out), 3000);
	assert_memory_equal(out, img + IMG_SIZE - 3000, 3000);
	/* pending: the fetch owns it */
	assert_int_equal(cache_read(c, 20 * BS, BS, out, &sp), 0);
	assert_int_equal(cache_peek(c, 20 * BS, BS, iov, &n), 0);
	cache_abort(c, &sp);
	/* no SSD: a boot pack block is a plain RAM block (its re-reads
	 * would go to the server otherwise), peek serves it */
	assert_int_equal(cache_preload(c, 30, img + 30 * BS), 0);
	assert_int_equal(cache_peek(c, 30 * BS, BS, iov, &n), 1);
	assert_int_equal(gather(iov, n, out), BS);
	assert_memory_equal(out, img + 30 * BS, BS);
	assert_int_equal(bcache_check(cache_bcache(c)), 0);
	cache_free(c);
}

static void test_unverified_takes_any(void **state)
{
	struct cache *c = new_cache(16 * BS, 0, NULL, -1);
	struct cache_span sp;
	uint8_t data[BS];

	(void)state;
	assert_false(cache_verified(c));
	assert_int_equal(cache_read(c, 0, BS, data, &sp), 0);
	memset(data, 0xee, BS);
	assert_int_equal(cache_fill(c, &sp, data), 0);
	assert_int_equal(cache_read(c, 0, 10, data, &sp), 1);
	assert_int_equal(data[0], 0xee);
	cache_free(c);
}

static void test_fetch_once(void **state)
{
	struct cache *c = new_cache(16 * BS, 1, NULL, -1);
	struct cache_span a, b;
	uint8_t out[2 * BS];

	(void)state;
	assert_int_equal(cache_read(c, 8 * BS, 2 * BS, out, &a), 0);
	/* a second request overlapping a pending block waits */
	assert_int_equal(cache_read(c, 9 * BS + 5, 10, out, &b), CACHE_WAIT);
	assert_int_equal(cache_fill(c, &a, img + 8 * BS), 0);
	assert_int_equal(cache_read(c, 9 * BS + 5, 10, out, &b), 1);
	assert_memory_equal(out, img + 9 * BS + 5, 10);
	assert_int_equal(cache_stats(c)->bytes_from_server, 2 * BS);
	cache_free(c);
}

static void test_abort_frees(void **state)
{
	struct cache *c = new_cache(16 * BS, 1, NULL, -1);
	struct cache_span a;
	uint8_t out[BS];

	(void)state;
	assert_int_equal(cache_read(c, 0, BS, out, &a), 0);
	cache_abort(c, &a);
	assert_int_equal(cache_read(c, 0, BS, out, &a), 0);
	cache_abort(c, &a);
	cache_free(c);
}

static void test_write_during_fetch_is_not_cached(void **state)
{
	struct cache *c = new_cache(16 * BS, 0, NULL, -1);	/* server mode */
	struct cache_span a;
	uint8_t out[BS];

	(void)state;
	read_via(c, 3 * BS, BS, out);
	cache_invalidate(c, 3 * BS + 10, 1);
	assert_int_equal(cache_read(c, 3 * BS, BS, out, &a), 0);
	cache_invalidate(c, 3 * BS, 512);	/* lands while in flight */
	assert_int_equal(cache_fill(c, &a, img + 3 * BS), 0);
	/* not committed: the next read goes to the server again */
	assert_int_equal(cache_read(c, 3 * BS, BS, out, &a), 0);
	cache_abort(c, &a);
	cache_free(c);
}

static void test_table_of_other_image_refused(void **state)
{
	struct cache_cfg cfg = {
		.image_size = IMG_SIZE + 4096, .block_size = BS,
		.ram_bytes = BS, .hashes = table, .ssd_fd = -1,
	};
	struct cache *c;

	(void)state;
	make_image();
	cfg.hashes_len = table_len;
	assert_int_equal(cache_new(&cfg, &c), -EINVAL);
	cfg.image_size = IMG_SIZE;
	cfg.hashes_len = table_len - 1;	/* truncated */
	assert_int_not_equal(cache_new(&cfg, &c), 0);
}

static int ssd_file(struct ssdcache **ssd)
{
	char path[] = "/tmp/test_cache_ssdXXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(ssdcache_open(fd, 1 << 20, BS, 1, ssd), 0);
	return fd;
}

static void test_ssd_layer_survives_ram_loss(void **state)
{
	struct ssdcache *ssd;
	struct cache *c;
	struct cache_span sp;
	uint8_t out[3 * BS];
	int fd = ssd_file(&ssd), fd2;

	(void)state;
	c = new_cache(0, 1, ssd, fd);	/* no RAM: every hit is the SSD's */
	assert_true(cache_has_ssd(c));
	read_via(c, 10 * BS + 1, 2 * BS, out);
	assert_int_equal(cache_stats(c)->bytes_from_server, 3 * BS);
	assert_int_equal(cache_read(c, 10 * BS, 3 * BS, out, &sp), 1);
	assert_memory_equal(out, img + 10 * BS, 3 * BS);
	assert_int_equal(cache_stats(c)->ssd_hits, 3);
	assert_true(cache_ssd_has(c, 11));
	assert_false(cache_ssd_has(c, 14));
	/* "reboot": a new stack on the same device */
	fd2 = dup(fd);
	cache_free(c);
	assert_int_equal(ssdcache_open(fd2, 1 << 20, BS, 0, &ssd), 0);
	c = new_cache(4 * BS, 1, ssd, fd2);
	assert_int_equal(cache_read(c, 11 * BS + 9, 100, out, &sp), 1);
	assert_memory_equal(out, img + 11 * BS + 9, 100);
	assert_int_equal(cache_stats(c)->bytes_from_server, 0);
	/* the SSD hit was read straight into RAM: the next is a RAM hit */
	assert_int_equal(cache_stats(c)->ssd_hits, 1);
	assert_int_equal(bcache_state(cache_bcache(c), 11), BC_PRESENT);
	assert_int_equal(cache_read(c, 11 * BS, BS, out, &sp), 1);
	assert_memory_equal(out, img + 11 * BS, BS);
	assert_int_equal(cache_stats(c)->ssd_hits, 1);
	assert_int_equal(cache_stats(c)->ram_hits, 1);
	cache_free(c);
}

/* A span partly in RAM, partly on the SSD: the SSD blocks are read and
 * checked together, land in RAM; a span with a block nowhere is a miss
 * that does not read the SSD at all. */
static void test_span_ram_and_ssd_blocks(void **state)
{
	struct ssdcache *ssd;
	struct cache *c;
	struct cache_span sp;
	uint8_t out[4 * BS];
	int fd = ssd_file(&ssd), fd2;

	(void)state;
	c = new_cache(0, 1, ssd, fd);
	read_via(c, 0, 4 * BS, out);		/* SSD: blocks 0..3 */
	fd2 = dup(fd);
	cache_free(c);
	assert_int_equal(ssdcache_open(fd2, 1 << 20, BS, 0, &ssd), 0);
	c = new_cache(8 * BS, 1, ssd, fd2);
	read_via(c, BS, BS, out);		/* RAM: block 1 */
	assert_int_equal(cache_stats(c)->ssd_hits, 1);
	/* blocks 0..4: 4 is nowhere, so nothing is read from the SSD */
	assert_int_equal(cache_read(c, 100, 5 * BS - 200, out, &sp), 0);
	assert_int_equal(cache_stats(c)->ssd_hits, 1);
	cache_abort(c, &sp);
	/* blocks 0..3 unaligned: 1 from RAM, 0, 2, 3 from the SSD */
	assert_int_equal(cache_read(c, 100, 4 * BS - 200, out, &sp), 1);
	assert_memory_equal(out, img + 100, 4 * BS - 200);
	assert_int_equal(cache_stats(c)->ssd_hits, 4);
	assert_int_equal(cache_stats(c)->ram_hits, 2);	/* both reads */
	for (unsigned b = 0; b < 4; b++)
		assert_int_equal(bcache_state(cache_bcache(c), b), BC_PRESENT);
	assert_int_equal(bcache_check(cache_bcache(c)), 0);
	assert_int_equal(cache_stats(c)->bytes_from_server, 0);
	cache_free(c);
}

static void test_corrupt_ssd_block_refetched(void **state)
{
	struct ssdcache *ssd;
	struct cache *c;
	struct cache_span sp;
	uint8_t out[BS], byte;
	int fd = ssd_file(&ssd), fd2;
	off_t off;

	(void)state;
	c = new_cache(0, 1, ssd, fd);
	read_via(c, 20 * BS, BS, out);
	fd2 = dup(fd);
	cache_free(c);
	/* flip a byte in every data block slot of the device */
	for (off = 0; off < (1 << 20); off += BS) {
		if (pread(fd2, &byte, 1, off + 100) != 1)
			break;
		if (off < 2 * BS)	/* superblock + index */
			continue;
		byte ^= 0xff;
		assert_int_equal(pwrite(fd2, &byte, 1, off + 100), 1);
	}
	assert_int_equal(ssdcache_open(fd2, 1 << 20, BS, 0, &ssd), 0);
	c = new_cache(4 * BS, 1, ssd, fd2);
	/* the SSD has the key but the data fails: a miss, not wrong data */
	assert_int_equal(cache_read(c, 20 * BS, BS, out, &sp), 0);
	assert_int_equal(cache_stats(c)->ssd_misses, 1);
	assert_int_equal(cache_stats(c)->ssd_corrupt, 1);
	/* the RAM slot the bad data was read into went back: the fetch
	 * owns a fresh one, nobody can hit the bad bytes */
	assert_non_null(sp.own[0]);
	assert_int_equal(bcache_state(cache_bcache(c), 20), BC_PENDING);
	assert_int_equal(bcache_check(cache_bcache(c)), 0);
	assert_int_equal(cache_fill(c, &sp, img + 20 * BS), 0);
	assert_int_equal(cache_read(c, 20 * BS, BS, out, &sp), 1);
	assert_memory_equal(out, img + 20 * BS, BS);
	cache_free(c);
}

/* A new version that changes one block: its other blocks stay SSD hits
 * (the SSD is keyed by content, not position). */
static void test_new_version_keeps_ssd_blocks(void **state)
{
	struct ssdcache *ssd;
	struct cache *c;
	struct cache_span sp;
	uint8_t out[4 * BS];
	int fd = ssd_file(&ssd), fd2;

	(void)state;
	c = new_cache(0, 1, ssd, fd);
	read_via(c, 0, 4 * BS, out);		/* v1: blocks 0..3 */
	fd2 = dup(fd);
	cache_free(c);				/* closes fd */
	/* v2: block 2 changed (its table entry is the new bytes' hash) */
	img[2 * BS + 5] ^= 0x5a;
	ssdcache_hash(img + 2 * BS, BS, table + blockhash_entry_off(2));
	{
		struct cache_cfg cfg = {
			.image_size = IMG_SIZE, .block_size = BS,
			.hashes = table, .hashes_len = table_len,
			.ssd_fd = fd2,
		};

		assert_int_equal(ssdcache_open(fd2, 1 << 20, BS, 0, &cfg.ssd), 0);
		assert_int_equal(cache_new(&cfg, &c), 0);
	}
	assert_int_equal(cache_read(c, 0, 2 * BS, out, &sp), 1);
	assert_int_equal(cache_read(c, 3 * BS, BS, out, &sp), 1);
	assert_int_equal(cache_stats(c)->ssd_hits, 3);
	/* the changed block is not in the SSD: fetched */
	assert_int_equal(cache_read(c, 2 * BS, BS, out, &sp), 0);
	assert_int_equal(cache_fill(c, &sp, img + 2 * BS), 0);
	assert_int_equal(cache_stats(c)->ssd_corrupt, 0);
	cache_free(c);
}

static void test_preload_verified_and_reread(void **state)
{
	struct cache *c = new_cache(16 * BS, 1, NULL, -1);
	struct cache_span sp;
	uint8_t out[BS], bad[BS];

	(void)state;
	assert_int_equal(cache_preload(c, 7, img + 7 * BS), 0);
	memcpy(bad, img + 8 * BS, BS);
	bad[0] ^= 1;
	assert_int_equal(cache_preload(c, 8, bad), -EBADMSG);
	assert_int_equal(cache_stats(c)->pack_bad, 1);
	assert_int_equal(cache_read(c, 8 * BS, BS, out, &sp), 0);
	cache_abort(c, &sp);
	/* blkid on the disk, on the partition, then the mount: the kernel
	 * drops its page cache at each last close and reads it again */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cache_read(c, 7 * BS, BS, out, &sp), 1);
		assert_memory_equal(out, img + 7 * BS, BS);
	}
	assert_int_equal(cache_stats(c)->ram_misses, 1);
	cache_free(c);
}

/* With an SSD a pack block leaves RAM once all of it was read (the
 * page cache has it now); the kernel's re-reads are SSD hits, never the
 * server's. */
static void test_preload_once_with_ssd(void **state)
{
	struct ssdcache *ssd;
	int fd = ssd_file(&ssd);
	struct cache *c = new_cache(16 * BS, 1, ssd, fd);
	struct cache_span sp;
	uint8_t out[BS];

	(void)state;
	assert_int_equal(cache_preload(c, 7, img + 7 * BS), 0);
	assert_int_equal(bcache_state(cache_bcache(c), 7), BC_PRESENT);
	assert_int_equal(cache_read(c, 7 * BS, BS, out, &sp), 1);
	assert_int_not_equal(bcache_state(cache_bcache(c), 7), BC_PRESENT);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(cache_read(c, 7 * BS, BS, out, &sp), 1);
		assert_memory_equal(out, img + 7 * BS, BS);
	}
	assert_true(cache_stats(c)->ssd_hits >= 1);
	assert_int_equal(cache_stats(c)->bytes_from_server, 0);
	cache_free(c);
}

/* A pack bigger than RAM (no SSD): RAM keeps its head, the first reads,
 * and a quarter for the boot's other blocks. */
static void test_preload_keeps_head(void **state)
{
	struct cache *c = new_cache(8 * BS, 1, NULL, -1);
	struct cache_span sp;
	uint8_t out[BS];
	uint64_t b;

	(void)state;
	/* 3/4 of 8 slots; then the decoding can stop (no SSD) */
	for (b = 10; b < 16; b++)
		assert_int_equal(cache_preload(c, b, img + b * BS), 0);
	assert_int_equal(cache_preload(c, 16, img + 16 * BS), -ENOSPC);
	assert_int_equal(cache_stats(c)->pack_blocks, 6);
	for (b = 10; b < 16; b++)
		assert_int_equal(cache_read(c, b * BS, BS, out, &sp), 1);
	for (b = 16; b < 20; b++) {
		assert_int_equal(cache_read(c, b * BS, BS, out, &sp), 0);
		cache_abort(c, &sp);
	}
	cache_free(c);
}

/* The table says the block is zeroes: never fetched, never kept, and
 * "held" for the pack check (ssd_has_pack). */
static void test_zero_block_not_fetched(void **state)
{
	struct cache *c;
	struct cache_span sp;
	uint8_t out[3 * BS];
	uint32_t i;

	(void)state;
	zero_image = 1;
	c = new_cache(8 * BS, 1, NULL, -1);
	zero_image = 0;
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(cache_read(c, ZERO_BLK * BS + 100, 1000, out, &sp), 1);
	for (i = 0; i < 1000; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(cache_stats(c)->zero_hits, 1);
	assert_int_equal(cache_stats(c)->ram_misses, 0);
	assert_true(cache_ssd_has(c, ZERO_BLK));
	assert_false(cache_ssd_has(c, ZERO_BLK + 1));
	/* a pack's zero block takes no RAM slot */
	assert_int_equal(cache_preload(c, ZERO_BLK, img + ZERO_BLK * BS), 0);
	assert_int_equal(bcache_state(cache_bcache(c), ZERO_BLK), BC_ABSENT);
	/* a span around it: its neighbours come from the server, the zero
	 * block is not reserved (no one waits for it) */
	assert_int_equal(cache_read(c, (ZERO_BLK - 1) * BS, 3 * BS, out, &sp), 0);
	assert_null(sp.own[1]);
	assert_int_equal(cache_fill(c, &sp, img + (ZERO_BLK - 1) * BS), 0);
	assert_int_equal(cache_read(c, (ZERO_BLK - 1) * BS, 3 * BS, out, &sp), 1);
	assert_memory_equal(out, img + (ZERO_BLK - 1) * BS, 3 * BS);
	assert_int_equal(bcache_state(cache_bcache(c), ZERO_BLK), BC_ABSENT);
	cache_free(c);
}

/* The boot the server traces reads past the SSD until the window ends,
 * so the trace (what the server sent) lists every block it read. */
static void test_traced_boot_skips_ssd(void **state)
{
	struct ssdcache *ssd;
	struct cache *c;
	struct cache_span sp;
	uint8_t out[BS];
	int fd = ssd_file(&ssd);

	(void)state;
	c = new_cache(0, 1, ssd, fd);	/* no RAM: a hit is the SSD's */
	assert_int_equal(cache_preload(c, 5, img + 5 * BS), 0);
	assert_true(cache_ssd_has(c, 5));
	cache_ssd_reads_off(c, 1000);
	assert_int_equal(cache_read(c, 5 * BS, BS, out, &sp), 0);
	assert_int_equal(cache_fill(c, &sp, img + 5 * BS), 0);
	assert_int_equal(cache_stats(c)->ssd_hits, 0);
	assert_int_equal(cache_stats(c)->ssd_misses, 1);
	cache_tick(c, 999);
	assert_int_equal(cache_read(c, 5 * BS, BS, out, &sp), 0);
	cache_abort(c, &sp);
	cache_tick(c, 1000);
	assert_int_equal(cache_read(c, 5 * BS, BS, out, &sp), 1);
	assert_memory_equal(out, img + 5 * BS, BS);
	assert_int_equal(cache_stats(c)->ssd_hits, 1);
	cache_free(c);
}

/* An export size from the server near 2^64 must not wrap the block
 * arithmetic ("size + block - 1" was 0 blocks): refused with -EFBIG; the
 * largest accepted still spans its last block right. */
static void test_image_size_over_max_refused(void **state)
{
	struct cache_cfg cfg = { .block_size = BS, .ram_bytes = 16 * BS,
				 .ssd_fd = -1 };
	struct cache_span sp;
	struct cache *c;

	(void)state;
	cfg.image_size = UINT64_MAX - 100;
	assert_int_equal(cache_new(&cfg, &c), -EFBIG);
	assert_null(c);
	cfg.image_size = CACHE_IMAGE_MAX + 1;
	assert_int_equal(cache_new(&cfg, &c), -EFBIG);
	cfg.image_size = CACHE_IMAGE_MAX;
	assert_int_equal(cache_new(&cfg, &c), 0);
	assert_int_equal(cache_span_of(c, CACHE_IMAGE_MAX - 1, 1, &sp), 0);
	assert_int_equal(sp.first, CACHE_IMAGE_MAX / BS);
	assert_int_equal(sp.off + sp.len, CACHE_IMAGE_MAX);
	assert_int_equal(cache_span_of(c, CACHE_IMAGE_MAX, 1, &sp), -EINVAL);
	cache_free(c);
}

/* A written export (server/super): the version's blocks are checked,
 * the PC's own are not: those in the server overlay's map at start, and
 * those written since (a write, a write-back run). Its own blocks are
 * never answered as zero nor taken from a boot pack. */
static void test_written_export_checks_the_version_only(void **state)
{
	uint8_t map[NBLK / 8 + 1] = { 0 }, data[2 * BS], out[2 * BS];
	struct cache_cfg cfg = {
		.image_size = IMG_SIZE, .block_size = BS, .ram_bytes = 16 * BS,
		.hashes = table, .ssd_fd = -1, .written = map,
		.written_len = sizeof(map), .track_writes = 1,
	};
	struct cache_span sp;
	struct cache *c;

	(void)state;
	zero_image = 1;
	make_image();
	zero_image = 0;
	cfg.hashes_len = table_len;
	map[7 / 8] |= 1u << (7 % 8);		/* block 7: in the overlay */
	assert_int_equal(cache_new(&cfg, &c), 0);
	assert_true(cache_verified(c));
	assert_true(cache_block_written(c, 7));
	assert_false(cache_block_written(c, 8));
	/* block 7 holds the PC's bytes: taken; block 8 must be the version's */
	assert_int_equal(cache_read(c, 7 * BS, 2 * BS, out, &sp), 0);
	memcpy(data, img + 7 * BS, sizeof(data));
	memset(data, 0x5a, BS);
	assert_int_equal(cache_fill(c, &sp, data), 0);
	cache_invalidate(c, 7 * BS, BS);	/* forget it for the next case */
	assert_int_equal(cache_read(c, 7 * BS, 2 * BS, out, &sp), 0);
	data[BS + 9] ^= 1;
	assert_int_equal(cache_fill(c, &sp, data), -EBADMSG);
	cache_abort(c, &sp);
	/* a write makes a block the PC's: any data, no zero answer, no
	 * pack block */
	assert_int_equal(cache_read(c, ZERO_BLK * BS, BS, out, &sp), 1);
	assert_int_equal(cache_stats(c)->zero_hits, 1);
	cache_invalidate(c, ZERO_BLK * BS + 100, 10);
	assert_true(cache_block_written(c, ZERO_BLK));
	assert_int_equal(cache_read(c, ZERO_BLK * BS, BS, out, &sp), 0);
	memset(data, 0x77, BS);
	assert_int_equal(cache_fill(c, &sp, data), 0);
	assert_int_equal(cache_preload(c, 7, img + 7 * BS), 0);
	assert_int_equal(cache_stats(c)->pack_blocks, 0);
	/* a write-back run marks without dropping RAM */
	cache_mark_written(c, 20 * BS, 2 * BS);
	assert_true(cache_block_written(c, 21));
	assert_false(cache_block_written(c, 22));
	cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_span_head_body_tail),
		cmocka_unit_test(test_unaligned_miss_then_hit),
		cmocka_unit_test(test_bad_network_block_not_cached),
		cmocka_unit_test(test_peek_ram_blocks),
		cmocka_unit_test(test_unverified_takes_any),
		cmocka_unit_test(test_fetch_once),
		cmocka_unit_test(test_abort_frees),
		cmocka_unit_test(test_write_during_fetch_is_not_cached),
		cmocka_unit_test(test_table_of_other_image_refused),
		cmocka_unit_test(test_ssd_layer_survives_ram_loss),
		cmocka_unit_test(test_span_ram_and_ssd_blocks),
		cmocka_unit_test(test_corrupt_ssd_block_refetched),
		cmocka_unit_test(test_preload_verified_and_reread),
		cmocka_unit_test(test_preload_once_with_ssd),
		cmocka_unit_test(test_preload_keeps_head),
		cmocka_unit_test(test_zero_block_not_fetched),
		cmocka_unit_test(test_traced_boot_skips_ssd),
		cmocka_unit_test(test_new_version_keeps_ssd_blocks),
		cmocka_unit_test(test_image_size_over_max_refused),
		cmocka_unit_test(test_written_export_checks_the_version_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
