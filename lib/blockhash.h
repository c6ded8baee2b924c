/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BLOCKHASH_H
#define LB_BLOCKHASH_H

/*
 * The per-block hash table of one image version (wire format shared by the
 * server, which builds it at import/commit and serves it over HTTP as
 * "boot/<image_id>/v<N>/hashes", and the agent, which verifies every block
 * it fetches or finds in its SSD cache against it).
 *
 *   offset  size  field (all integers little-endian)
 *   0       8     magic "LBHASH\0\1"
 *   8       4     format version (1)
 *   12      4     block size in bytes (power of two, 4 KiB .. 16 MiB)
 *   16      8     image size in bytes
 *   24      8     count = ceil(image size / block size)
 *   32      32*count  SHA-256 of each block; the last block is hashed
 *                 over its real (short) length, never padded
 *
 * Pure encode/decode: no I/O, no hashing (hashing: lib/sha256.c).
 */

#include <stddef.h>
#include <stdint.h>

#define BLOCKHASH_MAGIC		"LBHASH\0\1"
#define BLOCKHASH_VERSION	1
#define BLOCKHASH_HDR_LEN	32
#define BLOCKHASH_LEN		32	/* SHA-256 */
#define BLOCKHASH_BS_MIN	4096u
#define BLOCKHASH_BS_MAX	(16u << 20)
#define BLOCKHASH_DEFAULT_BS	65536u

struct blockhash_info {
	uint32_t version;
	uint32_t block_size;
	uint64_t image_size;
	uint64_t count;
};

/* Number of blocks of an image: ceil(size / block_size). */
uint64_t blockhash_count(uint64_t image_size, uint32_t block_size);

/* Total table length in bytes (header + hashes); 0 when it would overflow. */
uint64_t blockhash_table_len(uint64_t image_size, uint32_t block_size);

/* Write the 32-byte header. -EINVAL for a bad block size. */
int blockhash_hdr_build(uint8_t out[BLOCKHASH_HDR_LEN], uint32_t block_size,
			uint64_t image_size);

/*
 * Check a header (buf holds len bytes of the table, at least the header).
 * When total_len is non-zero it must equal header + count hashes exactly.
 * 0, -EINVAL (too short, bad magic, size, count), -ENOTSUP (version).
 */
int blockhash_hdr_parse(const uint8_t *buf, size_t len, uint64_t total_len,
			struct blockhash_info *out);

/* Byte offset of block i's hash in the table. */
static inline uint64_t blockhash_entry_off(uint64_t i)
{
	return BLOCKHASH_HDR_LEN + i * BLOCKHASH_LEN;
}

/* Length of block i (the last one may be short); 0 past the end. */
uint32_t blockhash_block_len(const struct blockhash_info *bi, uint64_t i);

#endif
