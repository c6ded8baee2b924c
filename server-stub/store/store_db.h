/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_STORE_DB_H
#define LB_STORE_DB_H

/*
 * The image store's view of the link DB (schema.h: images, versions,
 * sessions): version chains, pins. Shared by vdisk.c and image.c.
 */

#include <sqlite3.h>
#include <stdint.h>

#include "db.h"
#include "db_internal.h"

#define STORE_PATH_MAX 4096
#define STORE_CHAIN_MAX 64	/* `image merge` keeps chains short */

/* A version's chain: raw base first, then deltas up to the version. */
struct store_chain {
	unsigned n;			/* files, base included */
	unsigned versions[STORE_CHAIN_MAX];
	char files[STORE_CHAIN_MAX][STORE_PATH_MAX];	/* resolved paths */
};

/*
 * Resolve (image_id, version) to its files (store_dir NULL: <state>/store).
 * 0, -ENOENT (no such version), -ELOOP (parent cycle), -E2BIG.
 * The struct is big: allocate it.
 */
int store_chain_load(sqlite3 *s, const char *store_dir, const char *state_dir,
		     const char *image_id, unsigned version,
		     struct store_chain *out);

/* Open a chain read-only. */
struct vchain;
int store_chain_open(const struct store_chain *ch, struct vchain **out);

#endif
