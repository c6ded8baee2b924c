/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_SSDCACHE_H
#define LB_AGENT_SSDCACHE_H

/*
 * Persistent block cache on a local partition (PARTLABEL linkboot-cache),
 * layer 2 of the client cache.
 *
 * Blocks are keyed by their content hash (SHA-256 of the block_size bytes,
 * the last block of an image zero-padded) from the image version's
 * block-hash table, not by position: a block that keeps its content across
 * a new version, a merge or a rollback stays a hit, so an image update does
 * not empty every PC's cache.
 *
 * On-disk layout (all little-endian):
 *
 *   0            superblock (4 KiB): magic "LBSSDC01", format version,
 *                block_size, nslots, index/data offsets, crc32
 *   index_off    nslots index entries of 64 bytes:
 *                key[32] | seq le64 | valid le32 | crc32 le32 | pad[16]
 *   data_off     nslots blocks of block_size
 *
 * Slots are written as a ring (log-structured, kind to SSDs): the oldest
 * block is replaced. A put invalidates the slot's entry, writes the data,
 * then writes the new entry; every get re-hashes the data and compares it
 * with the key. So a torn write (power cut, kill -9) or a flipped bit is a
 * miss and a refetch, never wrong data returned.
 *
 * Memory: 16 bytes per slot (key prefix + seq) plus an open-addressing
 * table of 8 bytes per slot: 24 MiB for a 100 GiB cache of 64 KiB blocks.
 */

#include <stddef.h>
#include <stdint.h>

#define SSDC_KEY_SIZE 32

struct ssdc_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t corrupt;	/* entries whose data failed verification */
	uint64_t writes;
};

struct ssdcache;

/*
 * Open the cache on fd (a partition or file of dev_size bytes). A device
 * without our superblock, or with another block size, is formatted when
 * `format` is set (the caller found it by PARTLABEL), else -ENODATA.
 * -ENOSPC if the device cannot hold a single block.
 */
int ssdcache_open(int fd, uint64_t dev_size, uint32_t block_size, int format,
		  struct ssdcache **out);
void ssdcache_close(struct ssdcache *c);

/* 0 and buf filled with verified data; -ENOENT miss; -EIO read error. */
int ssdcache_get(struct ssdcache *c, const uint8_t key[SSDC_KEY_SIZE],
		 void *buf);
/* n (<= SSDC_GET_MAX) gets at once: all read, then hashed together
 * (faster than one by one); rc[i] as ssdcache_get() for each. Returns 0
 * when all hit, else the first failure (-EINVAL: n too big). A buffer
 * whose block failed the check holds garbage. */
#define SSDC_GET_MAX 34
int ssdcache_get_many(struct ssdcache *c, const uint8_t *const keys[],
		      void *const bufs[], size_t n, int rc[]);
/* Store a block whose content hashes to key (caller verified it). */
int ssdcache_put(struct ssdcache *c, const uint8_t key[SSDC_KEY_SIZE],
		 const void *buf);
int ssdcache_contains(const struct ssdcache *c,
		      const uint8_t key[SSDC_KEY_SIZE]);

uint64_t ssdcache_slots(const struct ssdcache *c);
const struct ssdc_stats *ssdcache_stats(const struct ssdcache *c);

/* SHA-256 of len bytes (lib/sha256.c). */
void ssdcache_hash(const void *data, uint32_t len, uint8_t key[SSDC_KEY_SIZE]);
/* keys[i] = ssdcache_hash(data[i], len) for n blocks of one length. */
void ssdcache_hash_multi(const void *const data[], uint32_t len, size_t n,
			 uint8_t (*keys)[SSDC_KEY_SIZE]);

#endif
