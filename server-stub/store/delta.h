/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_DELTA_H
#define LB_DELTA_H

/*
 * Image versions on disk. v1 is a raw disk image; v2.. are delta files on
 * top of their parent, and so are write overlays (a client's `server`
 * overlay, the super client's next version).
 *
 * Delta file (integers little-endian):
 *
 *   0          4 KiB header: magic "LBDELTA1", version 1, block size,
 *              disk size, bitmap offset (4096), data offset, parent version
 *   4096       bitmap: bit i (byte i/8, bit i%8) set = block i is in here
 *   data_off   block i at data_off + i * block_size (a sparse file: only
 *              changed blocks take space; data_off is block-aligned)
 *
 * A block's data is written before its bitmap bit, so a crash leaves at
 * worst an unreferenced block, never a set bit over garbage.
 *
 * A chain (struct vchain) stacks a raw base, deltas oldest to newest and
 * optionally one writable overlay; an in-memory owner map (one byte per
 * block: which layer holds its newest copy) makes a read one pread per run
 * of blocks from the same layer, with no allocation.
 */

#include <stdint.h>

#include "lb_err.h"

/* An overlay write refused for room (nothing of it written, nothing
 * before it lost; reads go on): the client's cap (--overlay-max), or the
 * overlays' file system down to the free space kept for everyone else. */
#define ENOSPC_OVERLAY_MAX	ERR(ENOSPC, MOD_IMAGE, 0x30)
#define ENOSPC_OVERLAY_RESERVE	ERR(ENOSPC, MOD_IMAGE, 0x31)

#define DELTA_MAGIC		"LBDELTA1"
#define DELTA_VERSION		1
#define DELTA_HDR_LEN		4096u
#define DELTA_BLOCK_SIZE	65536u
#define VCHAIN_MAX_LAYERS	250	/* owner map is one byte per block */

struct delta_hdr {
	uint32_t version;
	uint32_t block_size;
	uint64_t disk_size;
	uint64_t bitmap_off;
	uint64_t data_off;
	uint32_t parent_version;	/* version this delta applies to */
};

/* Pure encode/decode of the header. Parse: 0, -EINVAL, -ENOTSUP. */
void delta_hdr_init(struct delta_hdr *h, uint64_t disk_size,
		    uint32_t block_size, uint32_t parent_version);
void delta_hdr_build(const struct delta_hdr *h, uint8_t out[DELTA_HDR_LEN]);
int delta_hdr_parse(const uint8_t *buf, size_t len, struct delta_hdr *out);
uint64_t delta_nblocks(const struct delta_hdr *h);
uint64_t delta_bitmap_len(const struct delta_hdr *h);

/* Create an empty delta file (exclusive). 0 or -errno. */
int delta_create(const char *path, uint64_t disk_size, uint32_t block_size,
		 uint32_t parent_version);

/* Read a delta header from an open file. */
int delta_read_hdr(int fd, struct delta_hdr *out);

/* Number of blocks present in a delta file (for `image versions`). */
int delta_count_blocks(const char *path, uint64_t *blocks);
/* A delta file's header and bitmap (*bm: malloc'ed, delta_bitmap_len()
 * bytes; bits past the last block clear). 0 or -errno. */
int delta_read_map(const char *path, struct delta_hdr *h, uint8_t **bm);

struct vchain;

/*
 * Open base (raw) and deltas[0..n-1] (oldest first) read-only. size: the
 * disk size (the raw base may be shorter only if it is the same size: we
 * check equality). 0 or -errno (-EINVAL for a delta of another size).
 */
int vchain_open(const char *base, const char *const *deltas, unsigned n,
		struct vchain **out);

/*
 * Add a writable overlay on top (created when missing, or reset to empty
 * when reset != 0). max_bytes bounds its data (0 = no bound); writes past it
 * fail with -ENOSPC and change nothing. parent_version goes into a new
 * overlay's header; an existing one with another parent gives -ESTALE.
 * An overlay has one writer at a time (flock): -EBUSY while another chain
 * has it attached.
 */
int vchain_attach_overlay(struct vchain *c, const char *path,
			  uint64_t max_bytes, uint32_t parent_version,
			  int reset);

/* Refuse new overlay blocks (ENOSPC_OVERLAY_RESERVE) once its file
 * system would have less than this many bytes free: the server's disk
 * never fills up. */
void vchain_set_min_free(struct vchain *c, uint64_t bytes);

uint64_t vchain_size(const struct vchain *c);
int vchain_has_overlay(const struct vchain *c);
/* Bytes of data in the overlay. */
uint64_t vchain_overlay_bytes(const struct vchain *c);

int vchain_read(struct vchain *c, void *buf, uint64_t off, uint32_t len);
/* Write/zero/flush need an overlay: -EROFS without. */
int vchain_write(struct vchain *c, const void *buf, uint64_t off,
		 uint32_t len, int fua);
int vchain_zero(struct vchain *c, uint64_t off, uint32_t len, int fua);
int vchain_flush(struct vchain *c);
void vchain_close(struct vchain *c);

/*
 * Write the whole view of c to a new raw file (merge: flatten the chain);
 * the file is written sparse where blocks are all zero; durable: fsync it
 * (a new version), not for a scratch copy (commit's e2fsck). 0 or -errno.
 */
int vchain_export_raw(struct vchain *c, const char *path, int durable);

#endif
