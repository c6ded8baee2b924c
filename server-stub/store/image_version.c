/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Image versions (image_ops.h): add (v1), commit (the super client's
 * writes become a delta), merge (flatten the newest into a raw one),
 * rollback (move production), prune (remove what nobody can use).
 *
 * A new version is made in this order, so a failure leaves nothing
 * behind: its file, then <state>/boot/<id>/v<N>/ (block hashes, kernel,
 * initrd), then its row in one transaction; the undo removes the files.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bootpack_build.h"
#include "db_internal.h"
#include "delta.h"
#include "fileops.h"
#include "fs_check.h"
#include "image_internal.h"
#include "image_ops.h"
#include "lb_log.h"
#include "lb_util.h"
#include "store.h"
#include "store_db.h"

/* ---- what every new version gets ----------------------------------------- */

/* Kernel and initrd of version v from raw (its flat view), into its boot
 * dir: the image's own kernel and an initramfs of its own modules, or the
 * files given. Without a kernel the version still serves NBD clients. */
static int version_boot_files(struct db *db, const char *id, unsigned v,
			      const char *raw,
			      const struct store_identity *ident,
			      const char *kernel, const char *initrd,
			      struct image_boot *boot, char *why, size_t len)
{
	struct store_boot b;
	char dir[STORE_PATH_MAX];
	int rc;

	memset(boot, 0, sizeof(*boot));
	boot->no_linux_fs = !fs_has_linux(ident, boot->fs_types,
					  sizeof(boot->fs_types));
	boot->found = ext4_find_boot(raw, ident, &b) == 0;
	if (!boot->found && (kernel || initrd) && !(kernel && initrd))
		return db_why(why, len, ENOENT_IMAGE_KERNEL, "no "
			      "/boot/vmlinuz-<kver> with a matching "
			      "lib/modules/<kver> in v%u to pair with --%s: "
			      "give both --kernel FILE and --initrd FILE", v,
			      kernel ? "kernel" : "initrd");
	if (!boot->found && !(kernel && initrd))
		return 0;
	if (boot->found) {
		snprintf(boot->kver, sizeof(boot->kver), "%s", b.kver);
		snprintf(boot->kernel, sizeof(boot->kernel), "%s", b.kernel);
		boot->initrd_built = !initrd;
	}
	image_boot_dir(db, id, v, dir, sizeof(dir));
	rc = ext4_extract_boot(raw, ident, boot->found ? &b : NULL, dir,
			       kernel, initrd);
	if (rc)
		return db_why(why, len, rc, "kernel/initrd for v%u: %s", v,
			      err_str(rc));
	boot->has_boot = 1;
	return 0;
}

/* Was version v's kernel given (image add --kernel/--initrd) rather than
 * found in the disk? A found one has its kernel version recorded. */
static int boot_was_given(struct db *db, const char *id, unsigned v)
{
	sqlite3_stmt *st;
	int given = 0;

	if (db_prepare(db, "SELECT kver IS NULL OR kver = '' FROM versions "
		       "WHERE image_id = ?1 AND version = ?2", &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)v);
	if (sqlite3_step(st) == SQLITE_ROW)
		given = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return given;
}

/* A disk that was given its kernel and initrd (image add --kernel/--initrd:
 * a Windows disk, or a Linux one without /boot) and still has none of its
 * own keeps them in its next versions: they were never in the disk, so a
 * commit cannot have changed them. */
static int inherit_given_boot(struct db *db, const char *id,
			      struct image_commit_result *res, const char *raw,
			      const struct store_identity *ident, char *why,
			      size_t len)
{
	char dir[STORE_PATH_MAX], kernel[STORE_PATH_MAX + 16];
	char initrd[STORE_PATH_MAX + 16];
	struct stat st;

	if (res->boot.has_boot || !res->parent ||
	    !boot_was_given(db, id, res->parent))
		return 0;
	image_boot_dir(db, id, res->parent, dir, sizeof(dir));
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", dir);
	if (stat(kernel, &st) != 0 || stat(initrd, &st) != 0)
		return 0;
	return version_boot_files(db, id, res->version, raw, ident, kernel,
				  initrd, &res->boot, why, len);
}

/* The block-hash table of version v (and its index), and the SHA-256 of
 * the whole view. */
static int version_hashes(struct db *db, const char *id, unsigned v,
			  const char *raw, char sha[65],
			  const struct store_progress *progress)
{
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 16];
	struct vchain *c;
	int rc;

	image_boot_dir(db, id, v, dir, sizeof(dir));
	if ((rc = ext4_mkdirs(dir)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/hashes", dir);
	if ((rc = vchain_open(raw, NULL, 0, &c)) != 0)
		return rc;
	rc = store_hash_view(c, path, sha, progress);
	vchain_close(c);
	if (rc == 0 && hashidx_write(path) != 0)	/* agents do without */
		log_warnx("image: %s.idx not written", path);
	return rc;
}

/* The versions row; kernel/initrd/hashes are the paths HTTP serves. */
static int version_insert(struct db *db, const char *id, unsigned v,
			  unsigned parent, const char *file,
			  const struct image_boot *boot, const char *note)
{
	char vs[16], ps[16], k[128], i[128], h[128], now[DB_TIME_LEN];

	snprintf(vs, sizeof(vs), "%u", v);
	snprintf(ps, sizeof(ps), "%u", parent);
	snprintf(k, sizeof(k), "boot/%s/v%u/vmlinuz", id, v);
	snprintf(i, sizeof(i), "boot/%s/v%u/initrd.img", id, v);
	snprintf(h, sizeof(h), "boot/%s/v%u/hashes", id, v);
	db_now_iso(now);
	return image_sql(db, "INSERT INTO versions(image_id, version, parent, "
			 "file, state, kernel, initrd, kver, hashes, created, "
			 "note) VALUES(?1, ?2, ?3, ?4, 'production', ?5, ?6, "
			 "?7, ?8, ?9, ?10)", 10, id, vs, parent ? ps : NULL,
			 file, boot->has_boot ? k : NULL,
			 boot->has_boot ? i : NULL,
			 boot->kver[0] ? boot->kver : NULL, h, now, note);
}

/* Production follows the newest version (commit, merge). */
static int production_to_newest(struct db *db, const char *id)
{
	return image_sql(db, "UPDATE images SET production_version = (SELECT "
			 "MAX(version) FROM versions WHERE image_id = ?1) "
			 "WHERE id = ?1", 1, id);
}

static void version_boot_dir_rm(struct db *db, const char *id, unsigned v)
{
	char dir[STORE_PATH_MAX];

	image_boot_dir(db, id, v, dir, sizeof(dir));
	fileops_rm_tree(dir);
}

/* ---- add ------------------------------------------------------------------ */

/* Container formats we do not serve: their name (for the conversion). */
static const char *container_format(const char *path)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *name;
	} fmts[] = {
		{ "QFI\xfb", 4, "qcow2" },
		{ "KDMV", 4, "vmdk" },
		{ "vhdxfile", 8, "vhdx" },
		{ "<<< ", 4, "vdi" },
		{ "conectix", 8, "vhd" },	/* fixed VHD has it at the end */
	};
	char buf[8] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++)
		if (n >= (ssize_t)fmts[i].len &&
		    !memcmp(buf, fmts[i].magic, fmts[i].len))
			return fmts[i].name;
	return NULL;
}

/* A name we accept, a raw disk image file, a name nobody has. */
static int add_check(struct db *db, const struct image_add_opts *o,
		     char *why, size_t len)
{
	struct image_info other;
	const char *fmt;
	struct stat st;

	if (!o->name || !image_name_ok(o->name))
		return db_why(why, len, EINVAL_IMAGE_NAME, "bad name '%s': use "
			      "letters, digits, '.', '_', '-' (at most 63)",
			      o->name ? o->name : "");
	if (stat(o->file, &st) < 0)
		return db_why(why, len, -errno, "%s: %s", o->file,
			      strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return db_why(why, len, EMEDIUMTYPE_IMAGE_FILE, "%s: not a "
			      "regular, non-empty file", o->file);
	if ((fmt = container_format(o->file)) != NULL)
		return db_why(why, len, ENOTSUP_IMAGE_FORMAT, "%s is a %s file; "
			      "linkboot serves raw disk images:\n  qemu-img "
			      "convert -O raw %s IMAGE.raw", o->file, fmt,
			      o->file);
	if (image_find(db, o->name, &other, NULL, 0) == 0)
		return db_why(why, len, EEXIST_IMAGE_NAME, "an image named '%s' "
			      "exists (id %s)", o->name, other.id);
	return 0;
}

/* Where v1's file goes (res->path) and what its row says (file). */
static int add_place_file(struct db *db, const struct image_add_opts *o,
			  struct image_add_result *res, char *file,
			  size_t size, char *why, size_t len)
{
	int rc;

	if (mkdir(db_store_dir(db), 0750) < 0 && errno != EEXIST)
		rc = -errno;
	else
		rc = store_new_id(res->id);
	if (rc)
		return db_why(why, len, rc, "store %s: %s", db_store_dir(db),
			      err_str(rc));
	if (o->mode == IMPORT_IN_PLACE) {
		if (!realpath(o->file, res->path))
			return db_why(why, len, -errno, "%s: %s", o->file,
				      strerror(errno));
		snprintf(file, size, "%s", res->path);
	} else {
		snprintf(file, size, "%s.v1.raw", res->id);
		image_file_path(db, res->id, 1, "raw", res->path,
				sizeof(res->path));
	}
	rc = store_import(o->file, res->path, o->mode, o->progress,
			  &res->import);
	if (rc)
		return db_why(why, len, rc, "import %s -> %s: %s", o->file,
			      res->path, err_str(rc));
	return 0;
}

/* A disk with no Linux file system and no kernel given (Windows) can
 * only boot from its iSCSI disk: its PCs get `sanboot`. NULL: inherit. */
static const char *image_add_boot_mode(const struct image_add_result *res)
{
	return res->boot.no_linux_fs && !res->boot.has_boot ? "san" : NULL;
}

static int add_record(struct db *db, const struct image_add_opts *o,
		      const struct image_add_result *res, const char *file)
{
	char size[24], now[DB_TIME_LEN];
	const struct store_identity *id = &res->ident;
	int rc;

	db_now_iso(now);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)id->size);
	if ((rc = db_begin(db)) != 0)
		return rc;
	rc = image_sql(db, "INSERT INTO images(id, name, size, pt_type, "
		       "pt_uuid, identity, content_sha256, production_version,"
		       " created, boot_mode) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		       " 1, ?8, ?9)",
		       9, res->id, o->name, size,
		       id->pt_type[0] ? id->pt_type : NULL,
		       id->pt_uuid[0] ? id->pt_uuid : NULL, res->identity,
		       res->sha256, now, image_add_boot_mode(res));
	if (rc == 0)
		rc = version_insert(db, res->id, 1, 0, file, &res->boot,
				    "imported");
	if (rc == 0)
		rc = db_commit(db);
	if (rc)
		db_rollback(db);
	return rc;
}

/* Leave the source as it was; no boot files, no store file. */
static void add_undo(struct db *db, const struct image_add_opts *o,
		     const struct image_add_result *res)
{
	char dir[STORE_PATH_MAX];

	if (o->mode == IMPORT_MOVE)
		rename(res->path, o->file);
	else if (o->mode != IMPORT_IN_PLACE)
		unlink(res->path);
	snprintf(dir, sizeof(dir), "%s/boot/%s", db_state_dir(db), res->id);
	fileops_rm_tree(dir);
}

int image_add(struct db *db, const struct image_add_opts *o,
	      struct image_add_result *res, char *why, size_t len)
{
	char file[STORE_PATH_MAX];
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = add_check(db, o, why, len)) != 0 ||
	    (rc = add_place_file(db, o, res, file, sizeof(file), why,
				 len)) != 0)
		return rc;
	if ((rc = store_probe_identity(res->path, &res->ident)) != 0) {
		db_why(why, len, rc, "%s: %s", res->path, err_str(rc));
		goto undo;
	}
	store_identity_string(&res->ident, res->identity,
			      sizeof(res->identity));
	if ((rc = version_hashes(db, res->id, 1, res->path, res->sha256,
				 o->progress)) != 0) {
		db_why(why, len, rc, "hashing %s: %s", res->path, err_str(rc));
		goto undo;
	}
	if ((rc = version_boot_files(db, res->id, 1, res->path, &res->ident,
				     o->kernel, o->initrd, &res->boot, why,
				     len)) != 0)
		goto undo;
	if ((rc = add_record(db, o, res, file)) != 0) {
		image_db_failed(db, rc, why, len);
		goto undo;
	}
	return 0;
undo:
	add_undo(db, o, res);
	return rc;
}

/* ---- commit --------------------------------------------------------------- */

/* The MAC of the super client of an image: 1 if there is one. */
static int super_client_mac(struct db *db, const char *id, char mac[18])
{
	sqlite3_stmt *st;
	int found;

	mac[0] = '\0';
	if (db_prepare(db, "SELECT mac FROM clients WHERE image_id = ?1 AND "
		       "super != 0", &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((found = sqlite3_step(st) == SQLITE_ROW))
		db_col_text(st, 0, mac, 18);
	sqlite3_finalize(st);
	return found;
}

static int move_file(const char *from, const char *to)
{
	if (rename(from, to) == 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	return store_import(from, to, IMPORT_MOVE, NULL, NULL);
}

/* The super overlay, locked (the NBD server holds the lock while the
 * super client is attached) and made on the newest version: its fd. */
static int commit_overlay_open(struct db *db, const struct image_info *img,
			       const char *ovl, int *fd, char *why,
			       size_t len)
{
	struct delta_hdr h;
	char mac[18];
	int rc;

	if ((*fd = open(ovl, O_RDONLY | O_CLOEXEC)) < 0)
		return db_why(why, len, ENOENT_IMAGE_WRITES, "%s has no super "
			      "client writes (%s);\n  make a client super "
			      "(`linkboot client super MAC on`), boot it, "
			      "change the image, shut it down", img->name, ovl);
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0)
		rc = db_why(why, len, EBUSY_IMAGE_SUPER, "the super client of "
			    "%s is still connected: shut it down first",
			    img->name);
	else if ((rc = delta_read_hdr(*fd, &h)) != 0 ||
		 h.parent_version != img->latest)
		rc = db_why(why, len, ESTALE_IMAGE_WRITES, "%s was made on v%u, "
			    "the newest is v%u: not committed", ovl,
			    rc ? 0 : h.parent_version, img->latest);
	else if (super_client_mac(db, img->id, mac) &&
		 image_live_sessions(db, img->id, 0, mac) > 0)
		rc = db_why(why, len, EBUSY_IMAGE_SUPER, "the super client %s "
			    "is still connected: shut it down first", mac);
	if (rc) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

/* The newest version + the overlay, flat, in tmp: to check and read it
 * like a disk. */
static int commit_flat_view(struct db *db, const struct image_info *img,
			    const char *ovl, const char *tmp, char *why,
			    size_t len)
{
	const char *deltas[STORE_CHAIN_MAX + 1];
	struct store_chain *ch = malloc(sizeof(*ch));
	struct vchain *c = NULL;
	int rc;

	if (!ch)
		return -ENOMEM;
	if ((rc = store_chain_load(db_sqlite(db), db_store_dir(db),
				   db_state_dir(db), img->id, img->latest,
				   ch)) != 0) {
		free(ch);
		return db_why(why, len, rc, "cannot resolve %s v%u: %s",
			      img->name, img->latest, err_str(rc));
	}
	for (unsigned i = 1; i < ch->n; i++)
		deltas[i - 1] = ch->files[i];
	deltas[ch->n - 1] = ovl;
	unlink(tmp);
	if ((rc = vchain_open(ch->files[0], deltas, ch->n, &c)) == 0)
		rc = vchain_export_raw(c, tmp, 0);
	vchain_close(c);
	free(ch);
	if (rc)
		return db_why(why, len, rc, "cannot read %s v%u + %s: %s",
			      img->name, img->latest, ovl, err_str(rc));
	return 0;
}

/* The overlay becomes <id>.v<N>.delta, its row, production. */
static int commit_record(struct db *db, const struct image_info *img,
			 unsigned next, const char *ovl,
			 const struct image_boot *boot, char *why, size_t len)
{
	char file[STORE_PATH_MAX], dst[STORE_PATH_MAX];
	int rc;

	snprintf(file, sizeof(file), "%s.v%u.delta", img->id, next);
	image_file_path(db, img->id, next, "delta", dst, sizeof(dst));
	if ((rc = move_file(ovl, dst)) != 0)
		return db_why(why, len, rc, "%s -> %s: %s", ovl, dst,
			      err_str(rc));
	if ((rc = db_begin(db)) == 0 &&
	    (rc = version_insert(db, img->id, next, img->latest, file, boot,
				 "commit")) == 0 &&
	    (rc = production_to_newest(db, img->id)) == 0)
		rc = db_commit(db);
	if (rc) {
		image_db_failed(db, rc, why, len);
		db_rollback(db);
		move_file(dst, ovl);
	}
	return rc;
}

/* The new version's flat view is checked and hashed, its boot files
 * written; then the overlay is recorded as the version. */
static int commit_version(struct db *db, const struct image_info *img,
			  const char *ovl, const char *tmp, int force,
			  const struct store_progress *progress,
			  struct image_commit_result *res, char *why,
			  size_t len)
{
	struct store_identity ident;
	char sha[65];
	int rc;

	if ((rc = commit_flat_view(db, img, ovl, tmp, why, len)) != 0)
		return rc;
	if ((rc = store_probe_identity(tmp, &ident)) != 0)
		return db_why(why, len, rc, "%s: %s", tmp, err_str(rc));
	if ((rc = fs_check_clean(tmp, &ident, force, res->unchecked,
				 sizeof(res->unchecked), why, len)) != 0)
		return rc;
	res->version = img->latest + 1;
	res->parent = img->latest;
	if ((rc = version_hashes(db, img->id, res->version, tmp, sha,
				 progress)) != 0)
		db_why(why, len, rc, "hashing v%u: %s", res->version,
		       err_str(rc));
	else if ((rc = version_boot_files(db, img->id, res->version, tmp,
					  &ident, NULL, NULL, &res->boot, why,
					  len)) == 0 &&
		 (rc = inherit_given_boot(db, img->id, res, tmp, &ident, why,
					  len)) == 0)
		rc = commit_record(db, img, res->version, ovl, &res->boot, why,
				   len);
	if (rc)
		version_boot_dir_rm(db, img->id, res->version);
	return rc;
}

int image_commit(struct db *db, const char *name, int force,
		 const struct store_progress *progress,
		 struct image_commit_result *res, char *why, size_t len)
{
	char ovl[STORE_PATH_MAX], tmp[STORE_PATH_MAX];
	struct image_info img;
	int fd, rc;

	memset(res, 0, sizeof(*res));
	if ((rc = image_find(db, name, &img, why, len)) != 0)
		return rc;
	snprintf(ovl, sizeof(ovl), "%s/overlays/super-%s.ovl",
		 db_state_dir(db), img.id);
	if ((rc = commit_overlay_open(db, &img, ovl, &fd, why, len)) != 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s/commit-%s.raw", db_state_dir(db),
		 img.id);
	rc = commit_version(db, &img, ovl, tmp, force, progress, res, why,
			    len);
	unlink(tmp);
	close(fd);	/* drops the lock */
	if (rc)
		return rc;
	/* the new version boots like its parent: pack it from that trace */
	res->pack_rc = bootpack_build(db, img.id, res->version, res->parent,
				      &res->pack_blocks, &res->pack_bytes);
	return 0;
}

/* ---- merge ---------------------------------------------------------------- */

/* The flat file of the newest version as version next, with its hashes
 * and boot files. */
static int merge_write(struct db *db, const struct image_info *img,
		       struct vchain *c, unsigned next,
		       const struct store_progress *progress,
		       struct image_merge_result *res, char *why, size_t len)
{
	char dst[STORE_PATH_MAX], file[STORE_PATH_MAX], sha[65];
	struct store_identity ident;
	int rc;

	/* new files only: clients on the old chain keep reading it */
	image_file_path(db, img->id, next, "raw", dst, sizeof(dst));
	snprintf(file, sizeof(file), "%s.v%u.raw", img->id, next);
	if ((rc = vchain_export_raw(c, dst, 1)) != 0)
		return db_why(why, len, rc, "writing %s failed: %s", dst,
			      err_str(rc));
	if ((rc = store_probe_identity(dst, &ident)) != 0 ||
	    (rc = version_hashes(db, img->id, next, dst, sha, progress)) != 0)
		db_why(why, len, rc, "%s: %s", dst, err_str(rc));
	else if ((rc = version_boot_files(db, img->id, next, dst, &ident, NULL,
					  NULL, &res->boot, why, len)) == 0) {
		if ((rc = db_begin(db)) == 0 &&
		    (rc = version_insert(db, img->id, next, 0, file, &res->boot,
					 "merge")) == 0 &&
		    (!res->production ||
		     (rc = production_to_newest(db, img->id)) == 0))
			rc = db_commit(db);
		if (rc) {
			image_db_failed(db, rc, why, len);
			db_rollback(db);
		}
	}
	if (rc) {
		unlink(dst);
		version_boot_dir_rm(db, img->id, next);
	}
	return rc;
}

int image_merge(struct db *db, const char *name, int prune,
		const struct store_progress *progress,
		struct image_merge_result *res, char *why, size_t len)
{
	struct store_chain *ch = NULL;
	struct image_info img;
	struct vchain *c = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = image_find(db, name, &img, why, len)) != 0)
		return rc;
	if (!(ch = malloc(sizeof(*ch))))
		return -ENOMEM;
	res->from = img.latest;
	res->production = img.production == img.latest;
	if ((rc = store_chain_load(db_sqlite(db), db_store_dir(db),
				   db_state_dir(db), img.id, img.latest,
				   ch)) != 0 ||
	    (rc = store_chain_open(ch, &c)) != 0) {
		db_why(why, len, rc, "cannot open %s v%u: %s", img.name,
		       img.latest, err_str(rc));
		goto out;
	}
	res->files = ch->n;
	if (ch->n > 1) {
		res->version = img.latest + 1;
		rc = merge_write(db, &img, c, res->version, progress, res, why,
				 len);
	}
	/* re-read: production and latest moved */
	if (rc == 0 && prune && (rc = image_find(db, img.id, &img, why,
						 len)) == 0)
		rc = image_prune_versions(db, &img, &res->pruned);
out:
	vchain_close(c);
	free(ch);
	return rc;
}

/* ---- rollback ------------------------------------------------------------ */

/* The newest version before production that is not in maintenance. */
static unsigned version_before(struct db *db, const struct image_info *img)
{
	sqlite3_stmt *st;
	unsigned v = 0;

	if (db_prepare(db, "SELECT MAX(version) FROM versions WHERE image_id "
		       "= ?1 AND version < ?2 AND state != 'maintenance'",
		       &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, img->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, img->production);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (unsigned)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int image_rollback(struct db *db, const char *name, unsigned version,
		   unsigned *from, unsigned *to, char *why, size_t len)
{
	struct image_info img;
	char vs[16];
	int rc;

	if ((rc = image_find(db, name, &img, why, len)) != 0)
		return rc;
	if (version && !image_version_exists(db, img.id, version))
		return db_why(why, len, ENOENT_IMAGE_VERSION, "%s has no version"
			      " 'v%u'", img.name, version);
	if (!version && !(version = version_before(db, &img)))
		return db_why(why, len, ENOENT_IMAGE_BEFORE, "%s has no version "
			      "before v%u", img.name, img.production);
	if (image_chain_missing(db, img.id, version))
		return db_why(why, len, ENOENT_IMAGE_FILES, "files of %s v%u are "
			      "missing (`linkboot image repair --scan DIR`)",
			      img.name, version);
	snprintf(vs, sizeof(vs), "%u", version);
	/* kernel + initrd are per version: v's own, never another's */
	if ((rc = image_sql(db, "UPDATE images SET production_version = ?1 "
			    "WHERE id = ?2", 2, vs, img.id)) != 0)
		return image_db_failed(db, rc, why, len);
	if (from)
		*from = img.production;
	if (to)
		*to = version;
	return 0;
}

/* ---- prune ---------------------------------------------------------------- */

static void keep_set(uint8_t *keep, unsigned v)
{
	if (v < IMAGE_PRUNE_MAX)
		keep[v / 8] |= (uint8_t)(1u << (v % 8));
}

static int keep_has(const uint8_t *keep, unsigned v)
{
	return v < IMAGE_PRUNE_MAX && (keep[v / 8] & (1u << (v % 8)));
}

int image_pruned(const struct image_prune_result *res, unsigned v)
{
	return keep_has(res->removed, v);
}

/* Keep v and the versions it is a delta on. */
static void keep_chain(struct db *db, const char *id, unsigned v,
		       uint8_t *keep)
{
	struct store_chain *ch;

	if (v == 0 || v >= IMAGE_PRUNE_MAX || !(ch = malloc(sizeof(*ch))))
		return;
	if (store_chain_load(db_sqlite(db), db_store_dir(db), db_state_dir(db),
			     id, v, ch) == 0)
		for (unsigned i = 0; i < ch->n; i++)
			keep_set(keep, ch->versions[i]);
	free(ch);
}

/* Versions someone may still read: the roots of what to keep. */
static int keep_roots(struct db *db, const struct image_info *img,
		      uint8_t *keep)
{
	static const char *const sql[] = {
		"SELECT production_version, 1 FROM images WHERE id = ?1",
		"SELECT test_version, 1 FROM images WHERE id = ?1",
		"SELECT version, 1 FROM clients WHERE image_id = ?1",
		"SELECT overlay_base, 1 FROM clients WHERE image_id = ?1",
		/* extra disks: pinned ones, and what a boot or a kept
		 * overlay of one is on (disks.h) */
		"SELECT version, 1 FROM disks WHERE image_id = ?1",
		"SELECT version, 1 FROM disk_boots WHERE image_id = ?1",
		/* live sessions: a reconnect must find its files again */
		"SELECT version, pid FROM sessions WHERE image_id = ?1",
	};
	sqlite3_stmt *st;
	int rc;

	keep_chain(db, img->id, img->latest, keep);
	for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
		if ((rc = db_prepare(db, sql[i], &st)) != 0)
			return rc;
		sqlite3_bind_text(st, 1, img->id, -1, SQLITE_STATIC);
		/* the last query: only sessions of servers still alive */
		while (sqlite3_step(st) == SQLITE_ROW)
			if (i + 1 < ARRAY_SIZE(sql) ||
			    image_pid_alive(sqlite3_column_int64(st, 1)))
				keep_chain(db, img->id,
					   (unsigned)sqlite3_column_int64(st, 0),
					   keep);
		sqlite3_finalize(st);
	}
	return 0;
}

/* Its row, its file (ours only: an --in-place file is the admin's) and
 * its boot files. */
static int version_remove(struct db *db, const char *id, unsigned v,
			  const char *file)
{
	char path[STORE_PATH_MAX + 64], vs[16];
	int rc;

	snprintf(vs, sizeof(vs), "%u", v);
	if ((rc = image_sql(db, "DELETE FROM versions WHERE image_id = ?1 AND "
			    "version = ?2", 2, id, vs)) != 0)
		return rc;
	if (file[0] != '/') {
		image_resolve(db, file, path, sizeof(path));
		unlink(path);
	}
	version_boot_dir_rm(db, id, v);
	return 0;
}

int image_prune_versions(struct db *db, const struct image_info *img,
			 struct image_prune_result *res)
{
	uint8_t keep[IMAGE_PRUNE_MAX / 8] = { 0 };
	sqlite3_stmt *st;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = keep_roots(db, img, keep)) != 0 ||
	    (rc = db_prepare(db, "SELECT version, file FROM versions WHERE "
			     "image_id = ?1 ORDER BY version", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, img->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		unsigned v = (unsigned)sqlite3_column_int64(st, 0);
		char file[STORE_PATH_MAX];

		db_col_text(st, 1, file, sizeof(file));
		if (v >= IMAGE_PRUNE_MAX || keep_has(keep, v) || !file[0] ||
		    version_remove(db, img->id, v, file) != 0)
			continue;
		keep_set(res->removed, v);
		res->count++;
	}
	sqlite3_finalize(st);
	return 0;
}

int image_prune(struct db *db, const char *name,
		struct image_prune_result *res, char *why, size_t len)
{
	struct image_info img;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = image_find(db, name, &img, why, len)) != 0)
		return rc;
	if ((rc = image_prune_versions(db, &img, res)) != 0)
		return image_db_failed(db, rc, why, len);
	return 0;
}
