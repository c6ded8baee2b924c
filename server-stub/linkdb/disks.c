/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extra disks of clients and groups (disks.h): the operations the CLI
 * calls, and what the NBD and iSCSI servers resolve a client's extra
 * disk to.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "disks.h"
#include "links.h"
#include "lb_log.h"
#include "lb_util.h"

static const char *const disk_modes[] = {
	[DISK_RO] = "ro", [DISK_RAM] = "ram", [DISK_SERVER] = "server",
};

int disk_mode_parse(const char *s)
{
	for (size_t m = 0; s && m < ARRAY_SIZE(disk_modes); m++)
		if (!strcmp(s, disk_modes[m]))
			return (int)m;
	return EINVAL_DISK_MODE;
}

const char *disk_mode_name(int mode)
{
	return mode >= 0 && (size_t)mode < ARRAY_SIZE(disk_modes)
	       ? disk_modes[mode] : "?";
}

static int disk_db_failed(struct db *db, int rc, char *why, size_t len)
{
	if (rc == EBUSY_DB_LOCKED)
		return db_why(why, len, rc, "%s", err_str(rc));
	return db_why(why, len, rc, "database: %s",
		      sqlite3_errmsg(db_sqlite(db)));
}

/* The owner as stored: a MAC in canonical form, or a group that has a
 * client or a groups row. */
static int owner_check(struct db *db, const char *in, int group,
		       char out[64], char *why, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if (!group)
		return link_mac(in, out, why, len);
	if (!in[0] || strlen(in) >= 64)
		return db_why(why, len, EINVAL_LINK_GROUP, "--group '%s': give "
			      "a group name of 1 to 63 characters", in);
	snprintf(out, 64, "%s", in);
	if ((rc = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM clients WHERE "
			     "grp = ?1) OR EXISTS (SELECT 1 FROM groups WHERE "
			     "name = ?1)", &st)) != 0)
		return disk_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (rc < 0)
		return disk_db_failed(db, -EIO, why, len);
	if (rc == 0)
		return db_why(why, len, ENOENT_LINK_GROUP, "--group %s: no "
			      "client is in that group (`linkboot client set "
			      "MAC --group %s` puts one there)", out, out);
	return 0;
}

static int client_check(struct db *db, const char *mac, char *why, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT 1 FROM clients WHERE mac = ?1",
			     &st)) != 0)
		return disk_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return disk_db_failed(db, db_errno(rc), why, len);
	return db_why(why, len, ENOENT_LINK_CLIENT, "%s is not linked: link "
		      "it first (`linkboot client add %s --image IMAGE`)", mac,
		      mac);
}

/* The image and (if given) its version: id, or a sentence. */
static int image_check(struct db *db, const char *image, const char *version,
		       char id[40], unsigned *v, char *why, size_t len)
{
	uint64_t want = 0;
	sqlite3_stmt *st;
	int rc, has;

	if (version && parse_u64(version, 1, INT_MAX, &want) != 0)
		return db_why(why, len, EINVAL_LINK_VERSION, "--version '%s': "
			      "give a version number (see `linkboot image "
			      "versions %s`)", version, image);
	if ((rc = db_prepare(db, "SELECT id, EXISTS (SELECT 1 FROM versions "
			     "WHERE image_id = images.id AND version = ?2) "
			     "FROM images WHERE name = ?1", &st)) != 0)
		return disk_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)want);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_text(st, 0, id, 40);
	has = rc == SQLITE_ROW && sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return db_why(why, len, ENOENT_LINK_IMAGE, "%s: no such image "
			      "(see `linkboot image list`)", image);
	if (rc != SQLITE_ROW)
		return disk_db_failed(db, db_errno(rc), why, len);
	if (want && !has)
		return db_why(why, len, ENOENT_LINK_VERSION, "--version %llu: "
			      "image %s has no such version (see `linkboot "
			      "image versions %s`)", (unsigned long long)want,
			      image, image);
	*v = (unsigned)want;
	return 0;
}

#define OWNER_MATCH \
	" (CASE WHEN ?2 THEN grp = ?1 AND mac IS NULL" \
	" ELSE mac = ?1 AND grp IS NULL END)"

/* The lowest LUN owner has free (ENOSPC_DISK_LUNS when none); a client's
 * group's disks count as used, so a new disk never hides one. */
static int free_lun(struct db *db, const char *owner, int group,
		    unsigned *lun, char *why, size_t len)
{
	unsigned used = 0;
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT lun FROM disks WHERE" OWNER_MATCH
			     " OR (NOT ?2 AND grp = (SELECT grp FROM clients "
			     "WHERE mac = ?1))", &st)) != 0)
		return disk_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, group);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		used |= 1U << (sqlite3_column_int(st, 0) & 31);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return disk_db_failed(db, db_errno(rc), why, len);
	for (*lun = 1; *lun <= DISK_LUN_MAX; (*lun)++)
		if (!(used & 1U << *lun))
			return 0;
	return db_why(why, len, ENOSPC_DISK_LUNS, "%s has disks at every LUN "
		      "1 to %d: remove one first (`linkboot client disk rm`)",
		      owner, DISK_LUN_MAX);
}

static int disk_insert(struct db *db, const char *owner, int group,
		       unsigned lun, const char *image_id, unsigned version,
		       int mode, char *why, size_t len)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_now_iso(now);
	if ((rc = db_prepare(db, "INSERT INTO disks(mac, grp, lun, image_id, "
			     "version, mode, created) VALUES(?1, ?2, ?3, ?4, "
			     "?5, ?6, ?7)", &st)) != 0)
		return disk_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, group ? 2 : 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)lun);
	sqlite3_bind_text(st, 4, image_id, -1, SQLITE_STATIC);
	if (version)
		sqlite3_bind_int(st, 5, (int)version);
	sqlite3_bind_text(st, 6, disk_mode_name(mode), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return db_why(why, len, EEXIST_DISK_LUN, "%s already has a disk "
			      "at LUN %u (see `linkboot client disk list`)",
			      owner, lun);
	return rc == SQLITE_DONE ? 0 : disk_db_failed(db, db_errno(rc), why,
						      len);
}

static int add_in_transaction(struct db *db, const char *owner, int group,
			      const char *image, unsigned lun, int mode,
			      const char *version, unsigned *lun_out,
			      char *why, size_t len)
{
	char id[40];
	unsigned v = 0;
	int rc;

	if ((rc = image_check(db, image, version, id, &v, why, len)) != 0)
		return rc;
	if (!group && (rc = client_check(db, owner, why, len)) != 0)
		return rc;
	if (!lun && (rc = free_lun(db, owner, group, &lun, why, len)) != 0)
		return rc;
	if ((rc = disk_insert(db, owner, group, lun, id, v, mode, why,
			      len)) != 0)
		return rc;
	if (lun_out)
		*lun_out = lun;
	return 0;
}

int disk_add(struct db *db, const char *owner_in, int group, const char *image,
	     unsigned lun, const char *mode_s, const char *version,
	     unsigned *lun_out, char *why, size_t len)
{
	char owner[64];
	int mode = disk_mode_parse(mode_s ? mode_s : "ro"), rc;

	if (mode < 0)
		return db_why(why, len, mode, "--write '%s': give ro, ram "
			      "(restore on reboot) or server (kept)", mode_s);
	if (lun > DISK_LUN_MAX)
		return db_why(why, len, EINVAL_DISK_LUN, "--lun %u: give 1 to "
			      "%d (LUN 0 is the system disk)", lun,
			      DISK_LUN_MAX);
	if ((rc = owner_check(db, owner_in, group, owner, why, len)) != 0)
		return rc;
	if ((rc = db_begin(db)) != 0)
		return disk_db_failed(db, rc, why, len);
	rc = add_in_transaction(db, owner, group, image, lun, mode, version,
				lun_out, why, len);
	if (rc == 0 && (rc = db_commit(db)) != 0)
		rc = disk_db_failed(db, rc, why, len);
	if (rc)
		db_rollback(db);
	return rc;
}

/* A removed disk's pins go, so the same LUN given again starts afresh
 * (a group's: not those of its clients that have their own disk there). */
#define DISK_FORGET_BOOTS \
	"DELETE FROM disk_boots WHERE lun = ?3 AND (CASE WHEN ?2 THEN mac " \
	"IN (SELECT c.mac FROM clients c WHERE c.grp = ?1 AND NOT EXISTS " \
	"(SELECT 1 FROM disks o WHERE o.mac = c.mac AND o.lun = ?3)) " \
	"ELSE mac = ?1 END)"

/* One owner/LUN statement; the rows it changed, or -errno. */
static int disk_run(struct db *db, const char *sql, const char *owner,
		    int group, unsigned lun)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, group);
	sqlite3_bind_int(st, 3, (int)lun);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? sqlite3_changes(db_sqlite(db))
				 : db_errno(rc);
}

static int rm_in_transaction(struct db *db, const char *owner, int group,
			     unsigned lun, char *why, size_t len)
{
	int rc = disk_run(db, DISK_FORGET_BOOTS, owner, group, lun);

	if (rc >= 0)
		rc = disk_run(db, "DELETE FROM disks WHERE lun = ?3 AND"
			      OWNER_MATCH, owner, group, lun);
	if (rc < 0)
		return disk_db_failed(db, rc, why, len);
	if (rc == 0)
		return db_why(why, len, ENOENT_DISK, "%s has no disk at LUN %u "
			      "(see `linkboot client disk list`)", owner, lun);
	return 0;
}

int disk_rm(struct db *db, const char *owner_in, int group, unsigned lun,
	    char *why, size_t len)
{
	char owner[64];
	int rc;

	if (lun < 1 || lun > DISK_LUN_MAX)
		return db_why(why, len, EINVAL_DISK_LUN, "LUN %u: give 1 to %d",
			      lun, DISK_LUN_MAX);
	if (group)
		snprintf(owner, sizeof(owner), "%s", owner_in);
	else if ((rc = link_mac(owner_in, owner, why, len)) != 0)
		return rc;
	if ((rc = db_begin(db)) != 0)
		return disk_db_failed(db, rc, why, len);
	rc = rm_in_transaction(db, owner, group, lun, why, len);
	if (rc == 0 && (rc = db_commit(db)) != 0)
		rc = disk_db_failed(db, rc, why, len);
	if (rc)
		db_rollback(db);
	return rc;
}

/* The columns disk_read() takes, for a disks row d joined to images i. */
#define DISK_COLUMNS \
	"IFNULL(d.mac, d.grp), d.grp IS NOT NULL, d.lun, i.name, i.id," \
	" IFNULL(d.version, 0), IFNULL(d.version, COALESCE(" \
	"i.production_version, (SELECT max(version) FROM versions WHERE" \
	" image_id = i.id))), d.mode, i.size"

static void disk_read(sqlite3_stmt *st, struct disk_entry *e)
{
	memset(e, 0, sizeof(*e));
	db_col_text(st, 0, e->owner, sizeof(e->owner));
	e->group = sqlite3_column_int(st, 1);
	e->lun = (unsigned)sqlite3_column_int(st, 2);
	db_col_text(st, 3, e->image, sizeof(e->image));
	db_col_text(st, 4, e->image_id, sizeof(e->image_id));
	e->version = (unsigned)sqlite3_column_int(st, 5);
	e->serves = (unsigned)sqlite3_column_int(st, 6);
	e->mode = disk_mode_parse((const char *)sqlite3_column_text(st, 7));
	if (e->mode < 0)
		e->mode = DISK_RO;
	e->size = (uint64_t)sqlite3_column_int64(st, 8);
}

int disk_list(struct db *db, const char *owner_in, int group,
	      struct disk_entry **rows, size_t *n, char *why, size_t len)
{
	struct disk_entry *v = NULL, *nv;
	char owner[64] = "";
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if (owner_in && !group &&
	    (rc = link_mac(owner_in, owner, why, len)) != 0)
		return rc;
	if (owner_in && group)
		snprintf(owner, sizeof(owner), "%s", owner_in);
	if ((rc = db_prepare(db, "SELECT " DISK_COLUMNS " FROM disks d JOIN "
			     "images i ON i.id = d.image_id WHERE ?1 = '' OR"
			     " (CASE WHEN ?2 THEN d.grp = ?1 ELSE d.mac = ?1"
			     " END) ORDER BY d.grp IS NOT NULL, 1, d.lun",
			     &st)) != 0)
		return disk_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, group);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		disk_read(st, &v[(*n)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		*n = 0;
		return disk_db_failed(db, db_errno(rc), why, len);
	}
	*rows = v;
	return 0;
}

/* A client's own disks, then its group's at LUNs it has none at. */
#define CLIENT_DISKS \
	"SELECT " DISK_COLUMNS " FROM disks d JOIN images i ON" \
	" i.id = d.image_id WHERE d.mac = ?1 OR (d.grp = (SELECT grp FROM" \
	" clients WHERE mac = ?1) AND NOT EXISTS (SELECT 1 FROM disks o" \
	" WHERE o.mac = ?1 AND o.lun = d.lun)) ORDER BY d.lun"

int db_client_disks(struct db *db, const char *mac,
		    struct disk_entry out[DISK_LUN_MAX], unsigned *n)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((rc = db_prepare(db, CLIENT_DISKS, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < DISK_LUN_MAX)
		disk_read(st, &out[(*n)++]);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_errno(rc);
}

/* The version and boot an attached disk last had (disk_boots), if the
 * same image: 1, 0 (none), or -errno. */
static int disk_boot_of(struct db *db, const char *mac, unsigned lun,
			const char *image_id, unsigned *version,
			int64_t *boot_seq)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT version, boot_seq FROM disk_boots "
			     "WHERE mac = ?1 AND lun = ?2 AND image_id = ?3",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)lun);
	sqlite3_bind_text(st, 3, image_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = (unsigned)sqlite3_column_int(st, 0);
		*boot_seq = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* The version this boot of the disk serves, and whether its overlay
 * starts empty: a boot keeps what it began with; a kept overlay keeps
 * its version; anything else takes what the disk serves now. */
static int disk_pick_version(struct db *db, const struct disk_entry *d,
			     const struct export_info *sys,
			     struct export_info *out)
{
	unsigned version = 0;
	int64_t boot_seq = -1;
	int had = disk_boot_of(db, sys->client_mac, d->lun, d->image_id,
			       &version, &boot_seq);

	if (had < 0)
		return had;
	if (had && (boot_seq == sys->boot_seq || d->mode == DISK_SERVER)) {
		out->version = version;
		out->overlay_fresh = 0;
	} else {
		out->version = d->serves;
		out->overlay_fresh = 1;
	}
	return out->version ? 0 : -ENOENT;
}

int db_export_disk(struct db *db, const struct export_info *sys, unsigned lun,
		   struct export_info *out)
{
	struct disk_entry disks[DISK_LUN_MAX], *d = NULL;
	unsigned n, i;
	int rc;

	if (!sys->client_mac[0] || lun < 1 || lun > DISK_LUN_MAX)
		return -ENOENT;
	if ((rc = db_client_disks(db, sys->client_mac, disks, &n)) != 0)
		return rc;
	for (i = 0; i < n && !d; i++)
		if (disks[i].lun == lun)
			d = &disks[i];
	if (!d)
		return -ENOENT;
	*out = *sys;
	out->lun = lun;
	snprintf(out->image_id, sizeof(out->image_id), "%s", d->image_id);
	out->size = d->size;
	out->read_only = d->mode == DISK_RO;
	out->write_mode = d->mode == DISK_RO ? WRITE_RAM : WRITE_SERVER;
	out->drop_at_boot = d->mode == DISK_RAM;
	snprintf(out->label, sizeof(out->label), "disk %u of %s", lun,
		 sys->client_mac);
	return disk_pick_version(db, d, sys, out);
}

void db_disk_boot_mark(struct db *db, const struct export_info *ex)
{
	sqlite3_stmt *st;

	if (!ex->lun || !ex->client_mac[0])
		return;
	if (db_prepare(db, "INSERT OR REPLACE INTO disk_boots(mac, lun, "
		       "image_id, version, boot_seq) VALUES(?1, ?2, ?3, ?4, "
		       "?5)", &st) != 0)
		return;
	sqlite3_bind_text(st, 1, ex->client_mac, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)ex->lun);
	sqlite3_bind_text(st, 3, ex->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)ex->version);
	sqlite3_bind_int64(st, 5, ex->boot_seq);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("db: %s: boot of disk %u not recorded: %s",
			  ex->client_mac, ex->lun,
			  sqlite3_errmsg(db_sqlite(db)));
	sqlite3_finalize(st);
}
