/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_IMAGE_INTERNAL_H
#define LB_IMAGE_INTERNAL_H

/*
 * What the image operations share (image_ops.c: lookups and settings,
 * image_version.c: add/commit/merge/rollback/prune, image_repair.c,
 * bootpack_build.c: pack). Not for callers: they use image_ops.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "image_ops.h"

/* Paths; each 0, or -ENAMETOOLONG when out was too small. */
/* <state>/boot/<id>/v<N>: kernel, initrd, hashes, boot pack. */
int image_boot_dir(struct db *db, const char *id, unsigned v, char *out,
		   size_t size);
/* <store>/<id>.v<N>.<ext> */
int image_file_path(struct db *db, const char *id, unsigned v,
		    const char *ext, char *out, size_t size);
/* A versions.file value: absolute as is, else in <store>. */
int image_resolve(struct db *db, const char *file, char *out, size_t size);

/* Has image id a version v? 1 or 0. */
int image_version_exists(struct db *db, const char *id, unsigned v);
/* Is a file of v's chain (or the chain itself) missing? 1 or 0. */
int image_chain_missing(struct db *db, const char *id, unsigned v);
/* How many live sessions of live servers are on image id (v 0: any
 * version; mac NULL: anyone's). -errno on DB errors. */
int image_live_sessions(struct db *db, const char *id, unsigned v,
			const char *mac);
/* Is the process that recorded a session alive? */
int image_pid_alive(int64_t pid);

/* Run one statement with n text parameters (NULL = SQL NULL). 0 or
 * -errno (-EEXIST for a constraint). */
int image_sql(struct db *db, const char *sql, int n, ...);
/* why = "database: <SQLite's message>"; returns rc. */
int image_db_failed(struct db *db, int rc, char *why, size_t len);


/* The versions of img nobody needs go: files, boot files, rows. */
int image_prune_versions(struct db *db, const struct image_info *img,
			 struct image_prune_result *res);

#endif
