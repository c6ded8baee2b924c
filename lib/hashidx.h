/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_HASHIDX_H
#define LB_HASHIDX_H

/*
 * Index of a block-hash table ("boot/<id>/v<N>/hashes.idx" beside
 * "hashes"): the SHA-256 of each 64 KiB chunk of the table, each chunk
 * zero-padded to the chunk size. The agent keeps table chunks in its SSD
 * cache under these keys, so a warm PC fetches the index (a few bytes per
 * 2 GiB of image) instead of the whole table on every boot.
 *
 *   offset  size      field (little-endian)
 *   0       8         magic "LBHIDX01"
 *   8       4         chunk size (= 65536)
 *   12      4         count = ceil(table_len / chunk size)
 *   16      8         table_len
 *   24      32*count  SHA-256 of each zero-padded chunk
 *
 * Pure build/parse: hashing is the caller's.
 */

#include <stddef.h>
#include <stdint.h>

#define HASHIDX_MAGIC "LBHIDX01"
#define HASHIDX_HDR_LEN 24
#define HASHIDX_CHUNK 65536u
#define HASHIDX_MAX_TABLE (1ull << 32)

struct hashidx_info {
	uint32_t chunk;
	uint32_t count;
	uint64_t table_len;
};

void hashidx_hdr_build(uint8_t out[HASHIDX_HDR_LEN], uint64_t table_len);
/* 0, or -EINVAL: bad magic/sizes, or len != header + count hashes. */
int hashidx_parse(const uint8_t *buf, size_t len, struct hashidx_info *out);

#endif
