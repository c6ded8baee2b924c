/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BOOTPACK_H
#define LB_BOOTPACK_H

/*
 * Boot pack: the blocks that boots of one image version read first, in one
 * zlib stream, so an agent fills its cache with one HTTP GET instead of
 * hundreds of NBD round trips. Built by the server, decoded by the agent.
 *
 *   offset  size        field
 *   0       8           magic "LBPACK01"
 *   8       4  (le32)   block_size (power of two, 512..16 MiB)
 *   12      4  (le32)   nextents (<= BOOTPACK_MAX_EXTENTS)
 *   16      8  (le64)   image_size (bytes; the last block may be short,
 *                       it is zero-padded in the stream)
 *   24      4  (le32)   image version
 *   28      4  (le32)   crc32 of bytes 0..27 and the extent table
 *   32      12*n        extents: le64 first block, le32 block count
 *   ...                 zlib stream: the extents' blocks, in order
 *
 * Blocks are verified by the agent against the version's block-hash table,
 * like any other block from the network; the pack adds no trust.
 */

#include <stddef.h>
#include <stdint.h>

#define BOOTPACK_MAGIC "LBPACK01"
#define BOOTPACK_HDR_SIZE 32
#define BOOTPACK_EXTENT_SIZE 12
#define BOOTPACK_MAX_EXTENTS 65536

struct bp_extent {
	uint64_t first;		/* first block number */
	uint32_t count;		/* blocks */
};

struct bp_header {
	uint32_t block_size;
	uint32_t nextents;
	uint64_t image_size;
	uint32_t version;
};

/* Reads block blk (block_size bytes, zero-padded past the image end). */
typedef int (*bp_read_fn)(void *arg, uint64_t blk, void *buf);
/* Receives block blk; non-zero stops decoding and is returned. */
typedef int (*bp_block_fn)(void *arg, uint64_t blk, const void *data);

/*
 * Build a pack of the given extents into a malloc'ed buffer (*out, *outlen).
 * Extents must lie inside the image. 0 or -errno (-EINVAL bad extents,
 * -ENOMEM, or read_fn's error).
 */
int bootpack_encode(const struct bp_header *h, const struct bp_extent *ext,
		    bp_read_fn read_fn, void *arg, uint8_t **out,
		    size_t *outlen);

/*
 * Check a pack's header and extent table (no decompression). Fills *h.
 * -EBADMSG for a bad magic/crc/truncation, -EINVAL for bad fields.
 */
int bootpack_parse_header(const uint8_t *buf, size_t len, struct bp_header *h);

/*
 * Decode a whole pack, calling block_fn for each block in order with a
 * block_size buffer (scratch: block_fn copies what it keeps). 0 or -errno:
 * -EBADMSG for a corrupt/truncated stream or trailing garbage.
 */
int bootpack_decode(const uint8_t *buf, size_t len, bp_block_fn block_fn,
		    void *arg);

#endif
