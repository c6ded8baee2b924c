/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Virtual disks for the NBD server (vdisk.h): an image version's chain
 * (raw base + deltas, bitmaps in memory, see delta.h) plus, by write mode,
 * a write overlay:
 *
 *   server  <state>/overlays/<mac>.ovl, the client's own; dropped at its
 *           next boot (the next redeemed boot ticket) unless
 *           keep_overlay; a kept overlay is pinned to the version it was
 *           made on (-ESTALE on another)
 *   super   <state>/overlays/super-<image_id>.ovl, becomes the next
 *           version at `linkboot image commit`
 *
 * The version stays pinned while open: its files are held open (a merge or
 * rm unlinks, the inodes live on until vdisk_close()), and the NBD server
 * records the session in the sessions table that `image rm` checks.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "delta.h"
#include "disks.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "store.h"
#include "store_db.h"
#include "vdisk.h"

/* Keep this much free where overlays live: a full server disk would stop
 * every client, a full overlay only the one writing. */
#define VDISK_MIN_FREE (256ull << 20)

struct vdisk {
	struct vchain *chain;
	int read_only;
	char image_id[40];
	unsigned version;
};

/* versions.file: absolute (an --in-place import) or in the store dir */
static int chain_file_path(const char *store_dir, const char *state_dir,
			   const char *file, char out[STORE_PATH_MAX])
{
	int n;

	if (file[0] == '/')
		n = snprintf(out, STORE_PATH_MAX, "%s", file);
	else if (store_dir)
		n = snprintf(out, STORE_PATH_MAX, "%s/%s", store_dir, file);
	else
		n = snprintf(out, STORE_PATH_MAX, "%s/store/%s", state_dir, file);
	return n < 0 || n >= STORE_PATH_MAX ? -ENAMETOOLONG : 0;
}

static void chain_reverse(struct store_chain *ch)
{
	char tmp[STORE_PATH_MAX];

	for (unsigned i = 0, j = ch->n - 1; i < j; i++, j--) {
		unsigned v = ch->versions[i];

		ch->versions[i] = ch->versions[j];
		ch->versions[j] = v;
		memcpy(tmp, ch->files[i], STORE_PATH_MAX);
		memcpy(ch->files[i], ch->files[j], STORE_PATH_MAX);
		memcpy(ch->files[j], tmp, STORE_PATH_MAX);
	}
}

int store_chain_load(sqlite3 *s, const char *store_dir, const char *state_dir,
		     const char *image_id, unsigned version,
		     struct store_chain *out)
{
	sqlite3_stmt *st = NULL;
	unsigned v = version;
	int rc = 0;

	out->n = 0;
	if (sqlite3_prepare_v2(s, "SELECT parent, file FROM versions "
			       "WHERE image_id = ?1 AND version = ?2", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	for (;;) {
		const char *file;
		int step;

		if (out->n == STORE_CHAIN_MAX) {
			rc = -E2BIG;
			break;
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, v);
		step = sqlite3_step(st);
		if (step != SQLITE_ROW) {
			rc = step == SQLITE_DONE ? -ENOENT : -EIO;
			break;
		}
		file = (const char *)sqlite3_column_text(st, 1);
		if (!file) {
			rc = -EIO;
			break;
		}
		rc = chain_file_path(store_dir, state_dir, file,
				     out->files[out->n]);
		if (rc)
			break;
		out->versions[out->n++] = v;
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			break;
		/* parents are always older: a cycle is a corrupt DB */
		if (sqlite3_column_int64(st, 0) >= v ||
		    sqlite3_column_int64(st, 0) < 1) {
			rc = -ELOOP;
			break;
		}
		v = (unsigned)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	/* found newest first: base first from here on */
	chain_reverse(out);
	return 0;
}

int store_chain_open(const struct store_chain *ch, struct vchain **out)
{
	const char *deltas[STORE_CHAIN_MAX];

	if (ch->n == 0)
		return -ENOENT;
	for (unsigned i = 1; i < ch->n; i++)
		deltas[i - 1] = ch->files[i];
	return vchain_open(ch->files[0], deltas, ch->n - 1, out);
}

/*
 * keep_overlay of a client (1, 0, or -errno), and whether its overlay was
 * written in another boot than boot_seq (clients.overlay_boot; a boot
 * begins when the PC redeems its ticket, credential.h). A reconnect in
 * the same boot finds its own overlay; the next boot starts afresh.
 */
static int client_overlay_policy(sqlite3 *s, const char *mac, int64_t boot_seq,
				 int *other_boot)
{
	sqlite3_stmt *st;
	int rc = 0;

	*other_boot = 0;
	if (sqlite3_prepare_v2(s, "SELECT keep_overlay, overlay_boot FROM "
			       "clients WHERE mac = ?1", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		rc = sqlite3_column_int(st, 0) != 0;
		*other_boot = sqlite3_column_type(st, 1) == SQLITE_NULL ||
			      sqlite3_column_int64(st, 1) != boot_seq;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The overlay now belongs to this boot. */
static void mark_overlay_boot(sqlite3 *s, const char *mac, int64_t boot_seq)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s, "UPDATE clients SET overlay_boot = ?1 WHERE "
			       "mac = ?2", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, boot_seq);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("vdisk: overlay boot of %s not recorded: %s", mac,
			  sqlite3_errmsg(s));
	sqlite3_finalize(st);
}

/* A kept overlay belongs to its version: record it for the link lookup. */
static void pin_overlay_base(sqlite3 *s, const char *mac, unsigned version)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s, "UPDATE clients SET overlay_base = ?1 WHERE "
			       "mac = ?2 AND overlay_base IS NULL", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("vdisk: overlay base of %s not recorded: %s", mac,
			  sqlite3_errmsg(s));
	sqlite3_finalize(st);
}

static int attach_overlay(struct vdisk *vd, sqlite3 *s, const char *state_dir,
			  const struct export_info *ex)
{
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 64];
	uint64_t max = vdisk_size(vd);
	int keep = 0, other_boot = 0, rc;

	snprintf(dir, sizeof(dir), "%s/overlays", state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (ex->write_mode == WRITE_SUPER) {
		snprintf(path, sizeof(path), "%s/super-%s.ovl", dir,
			 ex->image_id);
		keep = 1;
	} else if (ex->lun) {
		/* an extra disk: its link DB row (disks.c) says whether this
		 * boot starts it afresh */
		if (!ex->client_mac[0] || strchr(ex->client_mac, '/'))
			return -EINVAL;
		snprintf(path, sizeof(path), "%s/%s.disk%u.ovl", dir,
			 ex->client_mac, ex->lun);
		keep = !ex->drop_at_boot;
		other_boot = ex->overlay_fresh;
	} else {
		if (!ex->client_mac[0] || strchr(ex->client_mac, '/'))
			return -EINVAL;
		snprintf(path, sizeof(path), "%s/%s.ovl", dir, ex->client_mac);
		keep = client_overlay_policy(s, ex->client_mac, ex->boot_seq,
					     &other_boot);
		if (keep < 0)
			return keep;
		if (ex->drop_at_boot)
			keep = 0;
		if (ex->overlay_max && ex->overlay_max < max)
			max = ex->overlay_max;	/* --overlay-max */
	}
	/* restore on reboot: a client's own overlay starts empty each boot */
	rc = vchain_attach_overlay(vd->chain, path, max, ex->version,
				   ex->lun ? other_boot : !keep && other_boot);
	if (rc == -ESTALE && !keep) {
		/* made on an older version and not kept: start afresh */
		log_info("vdisk %s: overlay %s was made on another version, dropped",
			 ex->label, path);
		rc = vchain_attach_overlay(vd->chain, path, max, ex->version,
					   1);
	} else if (rc == -ESTALE) {
		log_warnx("vdisk %s: overlay %s is pinned to another version than v%u; "
			  "link the client to its base version or drop the overlay",
			  ex->label, path, ex->version);
	}
	if (rc == 0 && keep && ex->write_mode == WRITE_SERVER && !ex->lun)
		pin_overlay_base(s, ex->client_mac, ex->version);
	if (rc == 0 && ex->write_mode == WRITE_SERVER && !ex->lun)
		mark_overlay_boot(s, ex->client_mac, ex->boot_seq);
	if (rc == 0)
		vchain_set_min_free(vd->chain, VDISK_MIN_FREE);
	return rc;
}

/* The overlay file attach_overlay() uses for ex; "" for none. */
static void overlay_path(const char *state_dir, const struct export_info *ex,
			 char *path, size_t size)
{
	path[0] = '\0';
	if (ex->read_only || strchr(ex->client_mac, '/'))
		return;
	if (ex->write_mode == WRITE_SUPER)
		snprintf(path, size, "%s/overlays/super-%s.ovl", state_dir,
			 ex->image_id);
	else if (ex->write_mode == WRITE_SERVER && ex->client_mac[0] &&
		 ex->lun)
		snprintf(path, size, "%s/overlays/%s.disk%u.ovl", state_dir,
			 ex->client_mac, ex->lun);
	else if (ex->write_mode == WRITE_SERVER && ex->client_mac[0])
		snprintf(path, size, "%s/overlays/%s.ovl", state_dir,
			 ex->client_mac);
}

int vdisk_overlay_map(const char *state_dir, const struct export_info *ex,
		      uint32_t *block_size, uint64_t *nblocks, uint8_t **bm)
{
	char path[STORE_PATH_MAX + 64];
	struct delta_hdr h;
	int rc;

	overlay_path(state_dir, ex, path, sizeof(path));
	*bm = NULL;
	rc = path[0] ? delta_read_map(path, &h, bm) : -ENOENT;
	if (rc == -ENOENT) {
		/* nothing written on the server yet */
		delta_hdr_init(&h, ex->size, DELTA_BLOCK_SIZE, ex->version);
		if (!(*bm = calloc(1, delta_bitmap_len(&h) + 1)))
			return -ENOMEM;
		rc = 0;
	}
	if (rc == 0 && (h.parent_version != ex->version ||
			h.disk_size != ex->size)) {
		free(*bm);
		*bm = NULL;
		return -ESTALE;
	}
	if (rc == 0) {
		*block_size = h.block_size;
		*nblocks = delta_nblocks(&h);
	}
	return rc;
}

int vdisk_open(struct db *db, const char *store_dir, const char *state_dir,
	       const struct export_info *ex, struct vdisk **out)
{
	struct store_chain *ch;
	struct vdisk *vd;
	int rc;

	if (!(vd = calloc(1, sizeof(*vd))) || !(ch = malloc(sizeof(*ch)))) {
		free(vd);
		return -ENOMEM;
	}
	snprintf(vd->image_id, sizeof(vd->image_id), "%s", ex->image_id);
	vd->version = ex->version;
	rc = store_chain_load(db_sqlite(db), store_dir, state_dir,
			      ex->image_id, ex->version, ch);
	if (rc == 0)
		rc = store_chain_open(ch, &vd->chain);
	if (rc) {
		log_warnx("vdisk %s: image %s v%u: %s", ex->label, ex->image_id,
			  ex->version, err_str(rc));
		goto err;
	}
	/* an --in-place file changed under us: never serve a different disk */
	if (ex->size && vchain_size(vd->chain) != ex->size) {
		log_warnx("vdisk %s: image file %s is %llu bytes, the image was "
			  "imported with %llu; re-import it", ex->label,
			  ch->files[0], (unsigned long long)vchain_size(vd->chain),
			  (unsigned long long)ex->size);
		rc = -EIO;
		goto err;
	}
	vd->read_only = ex->read_only || (ex->write_mode != WRITE_SERVER &&
					  ex->write_mode != WRITE_SUPER);
	if (!vd->read_only &&
	    (rc = attach_overlay(vd, db_sqlite(db), state_dir, ex)) != 0) {
		log_warnx("vdisk %s: overlay: %s", ex->label, err_str(rc));
		goto err;
	}
	free(ch);
	db_disk_boot_mark(db, ex);
	*out = vd;
	return 0;
err:
	vchain_close(vd->chain);
	free(vd);
	free(ch);
	/* what the NBD server can tell the client apart; the rest is EIO */
	return rc == -ENOENT || rc == -ESTALE || rc == -EBUSY ? rc : -EIO;
}

void vdisk_close(struct vdisk *vd)
{
	if (!vd)
		return;
	vchain_close(vd->chain);
	free(vd);
}

uint64_t vdisk_size(const struct vdisk *vd)
{
	return vchain_size(vd->chain);
}

int vdisk_read_only(const struct vdisk *vd)
{
	return vd->read_only;
}

int vdisk_read(struct vdisk *vd, void *buf, uint64_t off, uint32_t len)
{
	return vchain_read(vd->chain, buf, off, len);
}

int vdisk_write(struct vdisk *vd, const void *buf, uint64_t off, uint32_t len,
		int fua)
{
	if (vd->read_only)
		return -EROFS;
	return vchain_write(vd->chain, buf, off, len, fua);
}

int vdisk_zero(struct vdisk *vd, uint64_t off, uint32_t len, int fua)
{
	if (vd->read_only)
		return -EROFS;
	return vchain_zero(vd->chain, off, len, fua);
}

int vdisk_flush(struct vdisk *vd)
{
	return vchain_flush(vd->chain);
}
