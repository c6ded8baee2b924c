/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_FS_CHECK_H
#define LB_FS_CHECK_H

#include <stddef.h>

#include "store.h"

/* Does the image hold a Linux root candidate (ext2/3/4, XFS, Btrfs, ...)?
 * A disk without one (Windows: NTFS, FAT) can only boot over iSCSI.
 * types: the partitions' file system types, space-separated ("": none). */
int fs_has_linux(const struct store_identity *ident, char *types,
		 size_t size);

/*
 * Is every file system of raw (a flat image) clean, so that PCs never boot
 * one a crash left half-written? ext: no journal to replay and e2fsck -fn
 * passes; FAT: the dirty flags clear. Others (NTFS, XFS, Btrfs, ...) cannot
 * be checked here: refused, unless force, when *unchecked lists them
 * ("1:ntfs 3:xfs"). 0, or EUCLEAN_IMAGE_FS / -errno with why.
 */
int fs_check_clean(const char *raw, const struct store_identity *ident,
		   int force, char *unchecked, size_t unchecked_len,
		   char *why, size_t len);

#endif
