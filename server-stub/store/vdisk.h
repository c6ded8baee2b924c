/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_VDISK_H
#define LB_VDISK_H

/*
 * A virtual disk: one image version (a raw base plus a chain of deltas),
 * optionally with a write overlay (a client's `server` overlay or the super
 * client's next-version delta). What the NBD server serves.
 *
 * Owned by the image-store module (store.c / vdisk.c); the NBD server codes
 * against this header only. All calls are synchronous on local files (pread/
 * pwrite on page-cached data), bounded by the caller's request size.
 * Errors: -EIO, -ENOSPC (overlay full), -EROFS (read-only), -EINVAL (out of
 * range); the NBD server maps them with nbd_errno().
 */

#include <stdint.h>

#include "db.h"

struct vdisk;

/* Open the disk an export resolved to; overlays are created on demand.
 * A version in use stays pinned until vdisk_close(). 0, -ENOENT (version
 * or file gone), -ESTALE (a kept overlay made on another version), -EBUSY
 * (the overlay is attached by another connection: one writer), -EIO. */
int vdisk_open(struct db *db, const char *store_dir, const char *state_dir,
	       const struct export_info *ex, struct vdisk **out);
void vdisk_close(struct vdisk *vd);

uint64_t vdisk_size(const struct vdisk *vd);
int vdisk_read_only(const struct vdisk *vd);

int vdisk_read(struct vdisk *vd, void *buf, uint64_t off, uint32_t len);
int vdisk_write(struct vdisk *vd, const void *buf, uint64_t off, uint32_t len,
		int fua);
/* Zero a range (TRIM and WRITE_ZEROES both read back as zeroes here). */
int vdisk_zero(struct vdisk *vd, uint64_t off, uint32_t len, int fua);
int vdisk_flush(struct vdisk *vd);

/*
 * Which blocks of ex's disk its server overlay holds (the PC's own
 * writes, kept or of this boot; the super client's next version): what
 * the agent must not check against the version's block-hash table. Read
 * from the overlay file, without attaching it. *bm: malloc'ed, bit b
 * (byte b / 8, bit b % 8) = block b, *nblocks blocks of *block_size;
 * no overlay = all clear. -ESTALE: the overlay is on another version
 * (its next attach drops it or refuses). Exports that write nothing on
 * the server (ram, disk, image names) have an empty map.
 */
int vdisk_overlay_map(const char *state_dir, const struct export_info *ex,
		      uint32_t *block_size, uint64_t *nblocks, uint8_t **bm);

#endif
