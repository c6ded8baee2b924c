/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_FILEOPS_H
#define LB_FILEOPS_H

/*
 * The server's one file copy and one directory removal: image import,
 * backup and restore copy files; version removal and temporary module
 * trees remove them.
 */

#include <stdint.h>

#include "store.h"

#define FILEOPS_REFLINK		0x1	/* try a whole-file reflink first: an
					 * atomic snapshot even of a file
					 * being written (btrfs, XFS) */
#define FILEOPS_NOREPLACE	0x2	/* dst must not exist */

/*
 * Copy the open file in to dst: through dst.part, fsync'ed, then renamed,
 * so a cut-off copy never looks complete; all-zero stretches become holes.
 * Progress reported as "copying" with bytes done of the source's size.
 * 0 or -errno (dst.part removed; -EEXIST with FILEOPS_NOREPLACE).
 */
int fileops_copy(int in, const char *dst, unsigned flags,
		 const struct store_progress *progress);

/* Remove dir and everything below it (not following symlinks); best
 * effort: what cannot go stays. */
void fileops_rm_tree(const char *dir);

#endif
