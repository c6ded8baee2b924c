/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Image operations (image_ops.h): what there is (find, list, versions,
 * sessions, links), settings (set, rename) and rm. The version
 * bookkeeping (add, commit, merge, rollback, prune) is image_version.c,
 * repair is image_repair.c, the boot pack bootpack_build.c.
 */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "delta.h"
#include "fileops.h"
#include "image_internal.h"
#include "image_ops.h"
#include "lb_log.h"
#include "lb_util.h"
#include "store_db.h"

static const struct err_desc image_errs[] = {
	{ EINVAL_IMAGE_NAME, "bad image name" },
	{ EINVAL_IMAGE_SETTING, "bad image setting" },
	{ EINVAL_IMAGE_NOTHING, "nothing to change" },
	{ EMEDIUMTYPE_IMAGE_FILE, "not a regular, non-empty file" },
	{ ENOTSUP_IMAGE_FORMAT, "a container format, not a raw disk image" },
	{ ENOENT_IMAGE, "no such image" },
	{ ENOENT_IMAGE_VERSION, "the image has no such version" },
	{ EEXIST_IMAGE_NAME, "an image has that name" },
	{ ENOENT_IMAGE_KERNEL, "no kernel with modules in the image" },
	{ EBUSY_IMAGE_LINKED, "the image is linked to clients" },
	{ EBUSY_IMAGE_IN_USE, "a version of the image is in use" },
	{ ENOENT_IMAGE_WRITES, "no super client writes to commit" },
	{ EBUSY_IMAGE_SUPER, "the super client is still connected" },
	{ ESTALE_IMAGE_WRITES, "the writes were made on an older version" },
	{ EUCLEAN_IMAGE_FS, "a file system in the image is not clean" },
	{ ENOENT_IMAGE_FILES, "files of the image are missing" },
	{ ENOENT_IMAGE_TRACE, "no boot trace yet" },
	{ ENOENT_IMAGE_BEFORE, "no version before production" },
	{ ENOSPC_OVERLAY_MAX, "the client's server overlay is at its cap "
	  "(--overlay-max)" },
	{ ENOSPC_OVERLAY_RESERVE, "the overlays' file system is nearly full "
	  "(256 MiB are kept free for the other clients)" },
};

void image_err_register(void)
{
	err_register(MOD_IMAGE, "image", image_errs, ARRAY_SIZE(image_errs));
}

/* ---- shared helpers (image_internal.h) ---------------------------------- */

/* 0, or -ENAMETOOLONG when out was too small (it holds what fitted). */
static int fitted(int n, size_t size)
{
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int image_boot_dir(struct db *db, const char *id, unsigned v, char *out,
		   size_t size)
{
	return fitted(snprintf(out, size, "%s/boot/%s/v%u", db_state_dir(db),
			       id, v), size);
}

int image_file_path(struct db *db, const char *id, unsigned v,
		    const char *ext, char *out, size_t size)
{
	return fitted(snprintf(out, size, "%s/%s.v%u.%s", db_store_dir(db), id,
			       v, ext), size);
}

int image_resolve(struct db *db, const char *file, char *out, size_t size)
{
	if (file[0] == '/')
		return fitted(snprintf(out, size, "%s", file), size);
	return fitted(snprintf(out, size, "%s/%s", db_store_dir(db), file),
		      size);
}

int image_version_parse(const char *s, unsigned *v)
{
	uint64_t x;

	if (*s == 'v')
		s++;
	if (parse_u64(s, 1, 1000000, &x) != 0)
		return -EINVAL;
	*v = (unsigned)x;
	return 0;
}

int image_sql(struct db *db, const char *sql, int n, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if ((rc = db_prepare(db, sql, &st)) != 0)
		return rc;
	va_start(ap, n);
	for (int i = 1; i <= n; i++)
		sqlite3_bind_text(st, i, va_arg(ap, const char *), -1,
				  SQLITE_TRANSIENT);
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int image_db_failed(struct db *db, int rc, char *why, size_t len)
{
	if (rc == EBUSY_DB_LOCKED)	/* SQLite's "database is locked"
					 * does not say by whom */
		return db_why(why, len, rc, "%s", err_str(rc));
	return db_why(why, len, rc, "database: %s",
		      sqlite3_errmsg(db_sqlite(db)));
}

int image_version_exists(struct db *db, const char *id, unsigned v)
{
	sqlite3_stmt *st;
	int found;

	if (db_prepare(db, "SELECT 1 FROM versions WHERE image_id = ?1 AND "
		       "version = ?2", &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int image_chain_missing(struct db *db, const char *id, unsigned v)
{
	struct store_chain *ch = malloc(sizeof(*ch));
	struct stat st;
	int missing = 0;

	if (!ch)
		return 0;
	if (store_chain_load(db_sqlite(db), db_store_dir(db), db_state_dir(db),
			     id, v, ch) != 0) {
		free(ch);
		return 1;
	}
	for (unsigned i = 0; i < ch->n && !missing; i++)
		missing = stat(ch->files[i], &st) < 0 || !S_ISREG(st.st_mode);
	free(ch);
	return missing;
}

int image_pid_alive(int64_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

#define SESSIONS_SELECT \
	"SELECT pid, version, peer, mac FROM sessions WHERE image_id = ?1" \
	" AND (?2 = 0 OR version = ?2) AND (?3 IS NULL OR mac = ?3)"

/* Sessions of a server that died are not counted. */
int image_live_sessions(struct db *db, const char *id, unsigned v,
			const char *mac)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	if ((rc = db_prepare(db, SESSIONS_SELECT, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	sqlite3_bind_text(st, 3, mac, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		n += image_pid_alive(sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	return n;
}

/* ---- find, list ---------------------------------------------------------- */

#define IMAGE_SELECT \
	"SELECT i.id, i.name, i.size, i.pt_type, i.pt_uuid, i.identity," \
	" i.content_sha256, i.production_version, i.test_version," \
	" i.test_group, (SELECT MAX(version) FROM versions v WHERE" \
	" v.image_id = i.id), (SELECT COUNT(*) FROM versions v WHERE" \
	" v.image_id = i.id), (SELECT COUNT(*) FROM clients c WHERE" \
	" c.image_id = i.id) FROM images i "

static void image_read(struct db *db, sqlite3_stmt *st, struct image_info *r)
{
	memset(r, 0, sizeof(*r));
	db_col_text(st, 0, r->id, sizeof(r->id));
	db_col_text(st, 1, r->name, sizeof(r->name));
	r->size = (uint64_t)sqlite3_column_int64(st, 2);
	db_col_text(st, 3, r->pt_type, sizeof(r->pt_type));
	db_col_text(st, 4, r->pt_uuid, sizeof(r->pt_uuid));
	db_col_text(st, 5, r->identity, sizeof(r->identity));
	db_col_text(st, 6, r->sha256, sizeof(r->sha256));
	r->production = (unsigned)sqlite3_column_int64(st, 7);
	r->test_version = (unsigned)sqlite3_column_int64(st, 8);
	db_col_text(st, 9, r->test_group, sizeof(r->test_group));
	r->latest = (unsigned)sqlite3_column_int64(st, 10);
	r->nversions = (unsigned)sqlite3_column_int64(st, 11);
	r->nclients = (unsigned)sqlite3_column_int64(st, 12);
	r->missing = image_chain_missing(db, r->id, r->production);
}

int image_find(struct db *db, const char *name, struct image_info *out,
	       char *why, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, IMAGE_SELECT "WHERE i.name = ?1 OR i.id = ?1",
			     &st)) != 0)
		return image_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		image_read(db, st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return image_db_failed(db, db_errno(rc), why, len);
	return db_why(why, len, ENOENT_IMAGE, "no image '%s' (see `linkboot "
		      "image list`)", name);
}

/*
 * The rows of a query in a growing array of size-byte elements: read_row
 * fills one from the statement (ctx is its own) and says whether to keep
 * it. 0 or -errno.
 */
static int rows_collect(struct db *db, sqlite3_stmt *st, size_t size,
			int (*read_row)(struct db *, sqlite3_stmt *,
					const void *ctx, void *out),
			const void *ctx, void **rows, size_t *n)
{
	char *r = NULL;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			void *p = realloc(r, (cap = cap ? 2 * cap : 8) * size);

			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			r = p;
		}
		*n += (size_t)read_row(db, st, ctx, r + *n * size);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(r);
		*n = 0;
		return db_errno(rc);
	}
	*rows = r;
	return 0;
}

static int image_read_row(struct db *db, sqlite3_stmt *st, const void *ctx,
			  void *out)
{
	(void)ctx;
	image_read(db, st, out);
	return 1;
}

int image_list(struct db *db, struct image_info **rows, size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, IMAGE_SELECT "ORDER BY i.name", &st)) != 0)
		return rc;
	return rows_collect(db, st, sizeof(**rows), image_read_row, NULL,
			    (void **)rows, n);
}

/* ---- versions, sessions, links ----------------------------------------- */

static int version_read(struct db *db, sqlite3_stmt *st, const void *ctx,
			void *out)
{
	const struct image_info *img = ctx;
	struct image_version *v = out;
	char file[STORE_PATH_MAX];
	uint64_t blocks = 0;

	memset(v, 0, sizeof(*v));
	v->version = (unsigned)sqlite3_column_int64(st, 0);
	v->parent = (unsigned)sqlite3_column_int64(st, 1);
	db_col_text(st, 2, file, sizeof(file));
	image_resolve(db, file, v->file, sizeof(v->file));
	db_col_text(st, 3, v->state, sizeof(v->state));
	db_col_text(st, 4, v->kver, sizeof(v->kver));
	db_col_text(st, 5, v->created, sizeof(v->created));
	if (v->parent && delta_count_blocks(v->file, &blocks) == 0)
		v->changed_bytes = blocks * DELTA_BLOCK_SIZE;
	v->users = image_live_sessions(db, img->id, v->version, NULL);
	v->missing = image_chain_missing(db, img->id, v->version);
	v->production = v->version == img->production;
	return 1;
}

int image_versions(struct db *db, const char *name, struct image_info *img,
		   struct image_version **rows, size_t *n, char *why,
		   size_t len)
{
	sqlite3_stmt *st;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = image_find(db, name, img, why, len)) != 0)
		return rc;
	if ((rc = db_prepare(db, "SELECT version, parent, file, state, kver, "
			     "created FROM versions WHERE image_id = ?1 ORDER "
			     "BY version", &st)) != 0)
		return image_db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, img->id, -1, SQLITE_STATIC);
	rc = rows_collect(db, st, sizeof(**rows), version_read, img,
			  (void **)rows, n);
	return rc ? image_db_failed(db, rc, why, len) : 0;
}

/* Sessions of a server that died do not count. */
static int session_read(struct db *db, sqlite3_stmt *st, const void *ctx,
			void *out)
{
	struct image_session *s = out;

	(void)db;
	(void)ctx;
	if (!image_pid_alive(sqlite3_column_int64(st, 0)))
		return 0;
	memset(s, 0, sizeof(*s));
	s->version = (unsigned)sqlite3_column_int64(st, 1);
	db_col_text(st, 2, s->peer, sizeof(s->peer));
	db_col_text(st, 3, s->mac, sizeof(s->mac));
	return 1;
}

int image_sessions(struct db *db, const char *image_id,
		   struct image_session **rows, size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, SESSIONS_SELECT, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, 0);
	sqlite3_bind_null(st, 3);
	return rows_collect(db, st, sizeof(**rows), session_read, NULL,
			    (void **)rows, n);
}

static int link_read(struct db *db, sqlite3_stmt *st, const void *ctx,
		     void *out)
{
	struct image_link *l = out;

	(void)db;
	(void)ctx;
	db_col_text(st, 0, l->mac, sizeof(l->mac));
	db_col_text(st, 1, l->name, sizeof(l->name));
	return 1;
}

int image_links(struct db *db, const char *image_id,
		struct image_link **rows, size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT mac, name FROM clients WHERE "
			     "image_id = ?1 UNION SELECT 'group', name FROM "
			     "groups WHERE image_id = ?1", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	return rows_collect(db, st, sizeof(**rows), link_read, NULL,
			    (void **)rows, n);
}

/* ---- set ------------------------------------------------------------------ */

int image_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > IMAGE_NAME_MAX || s[0] == '-' || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int is_inherit(const char *v)
{
	return !strcmp(v, "inherit");
}

static int number_in(const char *v, uint64_t min, uint64_t max)
{
	uint64_t x;

	return parse_u64(v, min, max, &x) == 0;
}

/* One column of images = val ("inherit": NULL; integer columns bound as
 * numbers). */
static int set_column(struct db *db, const struct image_info *img,
		      const char *column, const char *val, int integer)
{
	char sql[128];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql), "UPDATE images SET %s = ?1 WHERE id = ?2",
		 column);
	if ((rc = db_prepare(db, sql, &st)) != 0)
		return rc;
	if (is_inherit(val))
		sqlite3_bind_null(st, 1);
	else if (integer)
		sqlite3_bind_int64(st, 1, atoll(val));
	else
		sqlite3_bind_text(st, 1, val, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, img->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* The defaults clients inherit: checked, then stored. */
static int set_defaults(struct db *db, const struct image_info *img,
			const struct image_set_opts *o, char *why, size_t len)
{
	const char *v;
	int rc = 0;

	if ((v = o->ram_cache) && !is_inherit(v) && !number_in(v, 0, 1 << 20))
		return db_why(why, len, EINVAL_IMAGE_SETTING, "--ram-cache "
			      "MiB: '%s'", v);
	if ((v = o->write) && !is_inherit(v) && db_write_mode_parse(v) < 0)
		return db_why(why, len, EINVAL_IMAGE_SETTING, "--write "
			      "ram|disk|server|super");
	if ((v = o->ssd_cache) && !is_inherit(v) && strcmp(v, "off") &&
	    strcmp(v, "auto") && !number_in(v, 1, 1 << 24))
		return db_why(why, len, EINVAL_IMAGE_SETTING, "--ssd-cache "
			      "MiB|auto|off");
	if ((v = o->boot) && !is_inherit(v) && db_boot_mode_parse(v) < 0)
		return db_why(why, len, EINVAL_IMAGE_SETTING, "--boot "
			      "linux|san");
	if (o->ram_cache)
		rc = set_column(db, img, "ram_cache_mib", o->ram_cache, 1);
	if (!rc && o->write)
		rc = set_column(db, img, "write_mode", o->write, 0);
	if (!rc && o->ssd_cache)
		rc = set_column(db, img, "ssd_cache", o->ssd_cache, 0);
	if (!rc && o->boot)
		rc = set_column(db, img, "boot_mode", o->boot, 0);
	if (!rc && o->root)
		rc = set_column(db, img, "root", o->root, 0);
	if (!rc && o->cmdline)
		rc = set_column(db, img, "cmdline", o->cmdline, 0);
	if (!rc && o->test_group)
		rc = set_column(db, img, "test_group", o->test_group, 0);
	return rc ? image_db_failed(db, rc, why, len) : 0;
}

/* A version of img as the admin wrote it ("2", "v2"). */
static int version_of(struct db *db, const struct image_info *img,
		      const char *s, unsigned *v, char *why, size_t len)
{
	if (image_version_parse(s, v) != 0 ||
	    !image_version_exists(db, img->id, *v))
		return db_why(why, len, ENOENT_IMAGE_VERSION, "%s has no version "
			      "'%s' (see `linkboot image versions %s`)",
			      img->name, s, img->name);
	return 0;
}

/* --mark VERSION=maintenance|test|production */
static int set_mark(struct db *db, const struct image_info *img,
		    const char *arg, char *why, size_t len)
{
	const char *eq = strchr(arg, '=');
	char vs[16];
	unsigned v;
	int rc;

	if (!eq || (size_t)(eq - arg) >= sizeof(vs))
		return db_why(why, len, EINVAL_IMAGE_SETTING, "--mark "
			      "VERSION=maintenance|test|production");
	memcpy(vs, arg, (size_t)(eq - arg));
	vs[eq - arg] = '\0';
	if (strcmp(eq + 1, "maintenance") && strcmp(eq + 1, "test") &&
	    strcmp(eq + 1, "production"))
		return db_why(why, len, EINVAL_IMAGE_SETTING, "state '%s': "
			      "maintenance, test or production", eq + 1);
	if ((rc = version_of(db, img, vs, &v, why, len)) != 0)
		return rc;
	snprintf(vs, sizeof(vs), "%u", v);
	rc = image_sql(db, "UPDATE versions SET state = ?1 WHERE image_id = ?2"
		       " AND version = ?3", 3, eq + 1, img->id, vs);
	return rc ? image_db_failed(db, rc, why, len) : 0;
}

/* test_version / production_version = a version that exists. */
static int set_pointer(struct db *db, const struct image_info *img,
		       const char *column, const char *arg, char *why,
		       size_t len)
{
	char vs[16];
	unsigned v;
	int rc;

	if (is_inherit(arg) && strcmp(column, "production_version") != 0)
		rc = set_column(db, img, column, arg, 1);
	else if ((rc = version_of(db, img, arg, &v, why, len)) != 0)
		return rc;
	else {
		snprintf(vs, sizeof(vs), "%u", v);
		rc = set_column(db, img, column, vs, 1);
	}
	return rc ? image_db_failed(db, rc, why, len) : 0;
}

static unsigned set_count(const struct image_set_opts *o)
{
	const char *const f[] = {
		o->ram_cache, o->write, o->ssd_cache, o->root, o->cmdline,
		o->mark, o->test_group, o->test_version, o->production,
		o->boot,
	};
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		n += f[i] != NULL;
	return n;
}

static int set_in_transaction(struct db *db, const struct image_info *img,
			      const struct image_set_opts *o, char *why,
			      size_t len)
{
	int rc;

	if ((rc = set_defaults(db, img, o, why, len)) != 0)
		return rc;
	if (o->mark && (rc = set_mark(db, img, o->mark, why, len)) != 0)
		return rc;
	if (o->test_version && (rc = set_pointer(db, img, "test_version",
						 o->test_version, why,
						 len)) != 0)
		return rc;
	if (o->production && (rc = set_pointer(db, img, "production_version",
					       o->production, why, len)) != 0)
		return rc;
	return 0;
}

int image_set(struct db *db, const char *name, const struct image_set_opts *o,
	      unsigned *changed, char *why, size_t len)
{
	struct image_info img;
	int rc;

	if (changed)
		*changed = 0;
	if (set_count(o) == 0)
		return db_why(why, len, EINVAL_IMAGE_NOTHING, "nothing to "
			      "change: give --ram-cache, --write, --mark, "
			      "--production, ...");
	if ((rc = image_find(db, name, &img, why, len)) != 0)
		return rc;
	if ((rc = db_begin(db)) != 0)
		return image_db_failed(db, rc, why, len);
	rc = set_in_transaction(db, &img, o, why, len);
	if (rc == 0 && (rc = db_commit(db)) != 0)
		rc = image_db_failed(db, rc, why, len);
	if (rc) {
		db_rollback(db);
		return rc;
	}
	if (changed)
		*changed = set_count(o);
	return 0;
}

int image_rename(struct db *db, const char *name, const char *new_name,
		 char *why, size_t len)
{
	struct image_info img;
	int rc;

	if (!image_name_ok(new_name))
		return db_why(why, len, EINVAL_IMAGE_NAME, "bad name '%s': use "
			      "letters, digits, '.', '_', '-' (at most 63)",
			      new_name);
	if ((rc = image_find(db, name, &img, why, len)) != 0)
		return rc;
	rc = image_sql(db, "UPDATE images SET name = ?1 WHERE id = ?2", 2,
		       new_name, img.id);
	if (rc == -EEXIST)
		return db_why(why, len, EEXIST_IMAGE_NAME, "'%s' is taken",
			      new_name);
	return rc ? image_db_failed(db, rc, why, len) : 0;
}

/* ---- rm ------------------------------------------------------------------- */

/* Our files of an image (not an --in-place file: the admin's), resolved,
 * in one block of STORE_PATH_MAX strings. */
static int image_own_files(struct db *db, const char *id, char **files,
			   size_t *n)
{
	sqlite3_stmt *st;
	char *all = NULL;
	int rc;

	*n = 0;
	if ((rc = db_prepare(db, "SELECT file FROM versions WHERE image_id = "
			     "?1 AND file NOT LIKE '/%'", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char file[STORE_PATH_MAX];
		void *p = realloc(all, (*n + 1) * STORE_PATH_MAX);

		if (!p) {
			rc = SQLITE_NOMEM;
			break;
		}
		all = p;
		db_col_text(st, 0, file, sizeof(file));
		image_resolve(db, file, all + (*n)++ * STORE_PATH_MAX,
			      STORE_PATH_MAX);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(all);
		*n = 0;
		return db_errno(rc);
	}
	*files = all;
	return 0;
}

static int rm_rows(struct db *db, const char *id)
{
	int rc;

	if ((rc = db_begin(db)) != 0)
		return rc;
	if ((rc = image_sql(db, "UPDATE clients SET image_id = NULL, version "
			    "= NULL WHERE image_id = ?1", 1, id)) == 0 &&
	    (rc = image_sql(db, "UPDATE groups SET image_id = NULL WHERE "
			    "image_id = ?1", 1, id)) == 0 &&
	    (rc = image_sql(db, "DELETE FROM versions WHERE image_id = ?1", 1,
			    id)) == 0 &&
	    (rc = image_sql(db, "DELETE FROM images WHERE id = ?1", 1,
			    id)) == 0)
		rc = db_commit(db);
	if (rc)
		db_rollback(db);
	return rc;
}

/* Store files, boot files, the super overlay: after the rows are gone. */
static void rm_files(struct db *db, const char *id, const char *files,
		     size_t n)
{
	char path[STORE_PATH_MAX + 64];

	for (size_t i = 0; i < n; i++) {
		const char *f = files + i * STORE_PATH_MAX;

		if (unlink(f) < 0 && errno != ENOENT)
			log_warn("image rm: %s", f);
	}
	snprintf(path, sizeof(path), "%s/boot/%s", db_state_dir(db), id);
	fileops_rm_tree(path);
	snprintf(path, sizeof(path), "%s/overlays/super-%s.ovl",
		 db_state_dir(db), id);
	unlink(path);
}

/* How many clients and groups have the image as an extra disk (their
 * rows go with the image: ON DELETE CASCADE), or -errno. */
static int extra_disk_users(struct db *db, const char *id)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT count(*) FROM disks WHERE image_id "
			     "= ?1", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -EIO;
	sqlite3_finalize(st);
	return rc;
}

/* Refused while in use (always) or linked (without force). */
static int rm_allowed(struct db *db, const struct image_info *img, int force,
		      int *linked, char *why, size_t len)
{
	struct image_link *links;
	size_t n;
	int busy, rc;

	/* a version in use is never deleted, force or not */
	if ((busy = image_live_sessions(db, img->id, 0, NULL)) > 0)
		return db_why(why, len, EBUSY_IMAGE_IN_USE, "%s is in use by %d"
			      " live session%s: shut those clients down first",
			      img->name, busy, busy == 1 ? "" : "s");
	if ((rc = image_links(db, img->id, &links, &n)) != 0)
		return image_db_failed(db, rc, why, len);
	free(links);
	*linked = (int)n;
	if (n > 0 && !force)
		return db_why(why, len, EBUSY_IMAGE_LINKED, "%s is linked to %zu "
			      "client%s/group%s: link them to another image "
			      "(`linkboot client set MAC --image OTHER`) or use"
			      " --force to unlink them", img->name, n,
			      n == 1 ? "" : "s", n == 1 ? "" : "s");
	if ((rc = extra_disk_users(db, img->id)) < 0)
		return image_db_failed(db, rc, why, len);
	*linked += rc;
	if (rc > 0 && !force)
		return db_why(why, len, EBUSY_IMAGE_LINKED, "%s is an extra disk "
			      "of %d client%s/group%s (`linkboot client disk "
			      "list`): remove it there or use --force to remove "
			      "those disks too", img->name, rc, rc == 1 ? "" : "s",
			      rc == 1 ? "" : "s");
	return 0;
}

int image_rm(struct db *db, const char *name, int force, unsigned *unlinked,
	     char *why, size_t len)
{
	struct image_info img;
	char *files = NULL;
	size_t nfiles = 0;
	int rc, linked = 0;

	if (unlinked)
		*unlinked = 0;
	if ((rc = image_find(db, name, &img, why, len)) != 0 ||
	    (rc = rm_allowed(db, &img, force, &linked, why, len)) != 0)
		return rc;
	if ((rc = image_own_files(db, img.id, &files, &nfiles)) != 0 ||
	    (rc = rm_rows(db, img.id)) != 0) {
		free(files);
		return image_db_failed(db, rc, why, len);
	}
	rm_files(db, img.id, files, nfiles);
	free(files);
	if (unlinked)
		*unlinked = (unsigned)linked;
	return 0;
}
