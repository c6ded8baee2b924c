/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The link DB: SQLite in WAL mode, shared by the daemon and the CLI.
 *
 * Nothing is cached: every boot script, export name and status line is a
 * fresh query, so `linkboot client add` takes effect at the client's next
 * request without a restart. busy_timeout lets a CLI write and a daemon read
 * wait for each other instead of failing.
 *
 * Schema: schema.h (DB_SCHEMA_V1). meta.schema_version says which version a
 * file has; db_migrate() runs the steps from it up to DB_SCHEMA_VERSION in
 * one transaction, and refuses a file written by a newer linkboot.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "credential.h"
#include "config.h"
#include "db.h"
#include "db_internal.h"
#include "disks.h"
#include "initramfs.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "links.h"
#include "loop.h"
#include "prestage.h"
#include "releases.h"
#include "schema.h"
#include "server.h"
#include "wol.h"

#define DB_BUSY_TIMEOUT_MS 5000
/* The daemon's one loop serves every PC: it must not stall for seconds on
 * a lock another process holds (an admin's sqlite3, a stuck backup).
 * A CLI write holds the lock for milliseconds; longer is answered with
 * "locked, try again" (EBUSY_DB_LOCKED) and the PC retries. */
#define DB_DAEMON_BUSY_TIMEOUT_MS 250
#define STR_(x) #x
#define STR(x) STR_(x)

/* db_prepare_kept(): the handshake's statements and a few more */
#define DB_KEPT_MAX	16

struct db {
	sqlite3 *sql;
	struct {
		const char *sql;	/* the literal's address: the key */
		sqlite3_stmt *st;
	} kept[DB_KEPT_MAX];
	char *state_dir;	/* NULL when opened by path */
	char *store_dir;	/* image files */
	int lock_fd;		/* `serve`'s flock on linkboot.pid, or -1 */
	int64_t release_due;	/* db_release_tick()'s next run (ms) */
};

/* ---- small helpers ---------------------------------------------------- */

sqlite3 *db_sqlite(struct db *db)
{
	return db->sql;
}

const char *db_state_dir(const struct db *db)
{
	return db->state_dir ? db->state_dir : ".";
}

const char *db_store_dir(const struct db *db)
{
	return db->store_dir;
}

int db_set_store_dir(struct db *db, const char *dir)
{
	char *copy = strdup(dir);

	if (!copy)
		return -ENOMEM;
	free(db->store_dir);
	db->store_dir = copy;
	return 0;
}

int db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY_DB_LOCKED;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

int db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(db->sql, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_warnx("db: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return db_errno(rc);
	}
	return 0;
}

int db_begin(struct db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

void db_time_iso(int64_t secs, char *out)
{
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, DB_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void db_now_iso(char *out)
{
	db_time_iso((int64_t)time(NULL), out);
}

int db_why(char *why, size_t why_len, int rc, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int db_random_hex(char *out, size_t nhex)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t buf[64];
	size_t i, n = (nhex + 1) / 2;
	ssize_t got;

	if (n > sizeof(buf))
		return -EINVAL;
	got = getrandom(buf, n, 0);
	if (got < 0)
		return -errno;
	if ((size_t)got != n)
		return -EIO;
	for (i = 0; i < nhex; i++)
		out[i] = hex[(buf[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[nhex] = '\0';
	return 0;
}

static const char *const write_mode_names[] = {
	[WRITE_RAM] = "ram",
	[WRITE_DISK] = "disk",
	[WRITE_SERVER] = "server",
	[WRITE_SUPER] = "super",
};

static const char *const boot_mode_names[] = {
	[BOOT_LINUX] = "linux",
	[BOOT_SAN] = "san",
};

int db_boot_mode_parse(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(boot_mode_names); i++)
		if (!strcmp(s, boot_mode_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *db_boot_mode_name(int mode)
{
	if (mode < 0 || (size_t)mode >= ARRAY_SIZE(boot_mode_names))
		return "?";
	return boot_mode_names[mode];
}

int db_write_mode_parse(const char *s)
{
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(write_mode_names); i++)
		if (!strcmp(s, write_mode_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *db_write_mode_name(int mode)
{
	if (mode < 0 || (size_t)mode >= ARRAY_SIZE(write_mode_names))
		return "?";
	return write_mode_names[mode];
}

/* flags: SQLITE_PREPARE_* (0 is sqlite3_prepare_v2()'s behaviour) */
static int db_prepare_flags(struct db *db, const char *sql, unsigned flags,
			    sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v3(db->sql, sql, -1, flags, st, NULL);

	if (rc != SQLITE_OK) {
		log_warnx("db: %s: %s", sqlite3_errmsg(db->sql), sql);
		return db_errno(rc);
	}
	return 0;
}

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **st)
{
	return db_prepare_flags(db, sql, 0, st);
}

void db_col_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(out, size, "%s", s ? (const char *)s : "");
}

int db_prepare_kept(struct db *db, const char *sql, sqlite3_stmt **st)
{
	unsigned i;
	int rc;

	for (i = 0; i < DB_KEPT_MAX && db->kept[i].sql; i++)
		if (db->kept[i].sql == sql) {
			if (sqlite3_stmt_busy(db->kept[i].st))
				return db_prepare(db, sql, st);
			*st = db->kept[i].st;
			return 0;
		}
	if (i == DB_KEPT_MAX)
		return db_prepare(db, sql, st);
	if ((rc = db_prepare_flags(db, sql, SQLITE_PREPARE_PERSISTENT, st)) != 0)
		return rc;
	db->kept[i].sql = sql;
	db->kept[i].st = *st;
	return 0;
}

void db_unprepare(struct db *db, sqlite3_stmt *st)
{
	for (unsigned i = 0; i < DB_KEPT_MAX && db->kept[i].sql; i++)
		if (db->kept[i].st == st) {
			/* reset: no read transaction left open by it */
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

int db_run(struct db *db, const char *sql, const char *t, int64_t a,
	   int64_t b, const char *t2)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	sqlite3_bind_text(st, 4, t2 ? t2 : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_errno(rc);
}

int64_t db_int(struct db *db, const char *sql, const char *t, int64_t a)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (db_prepare(db, sql, &st) != 0)
		return -1;
	sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a);
	if (sqlite3_step(st) == SQLITE_ROW && !db_col_is_null(st, 0))
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void *db_row_next(void *rows, size_t *n, size_t *cap, size_t size)
{
	void **arr = rows;
	uint8_t *row;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, ncap * size);

		if (!p)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	row = (uint8_t *)*arr + (*n)++ * size;
	memset(row, 0, size);
	return row;
}

int db_col_is_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

/* ---- schema and migrations ------------------------------------------- */

/*
 * One step per schema version: steps[N] takes a file from version N to
 * N + 1. Version 0 is an empty file. A new schema version appends a step
 * (ALTER TABLE ...) and bumps DB_SCHEMA_VERSION; schema.h's V1 never
 * changes.
 */
static const char *const migrations[DB_SCHEMA_VERSION] = {
	/* 0 -> 1 */ DB_SCHEMA_V1
	"INSERT INTO meta(key, value) VALUES('schema_version', '1');",
	/* 1 -> 2: RAM for a client's writes (overlay tmpfs / block overlay) */
	"ALTER TABLE clients ADD COLUMN overlay_mib INTEGER;",
	/* 2 -> 3: credentials per boot, traded for a signed boot ticket,
	 * instead of one token per client that any GET of the boot script
	 * handed out (credential.h). clients.token stays, unread: SQLite
	 * cannot drop a UNIQUE column. A minted super token becomes a grant
	 * that the next boot's credential consumes. */
	DB_SCHEMA_V3
	"UPDATE clients SET super_token = CASE WHEN super = 1 AND "
	"super_token IS NOT NULL AND super_token NOT LIKE 'bound:%' "
	"THEN 'pending' ELSE NULL END;",
	/* 3 -> 4: boot mode per image and client (linux | san) */
	DB_SCHEMA_V4,
	/* 4 -> 5: session counters (proto, bytes, I/O errors) */
	DB_SCHEMA_V5,
	/* 5 -> 6: extra disks of clients and groups */
	DB_SCHEMA_V6,
	/* 6 -> 7: a client's Secure Boot setting */
	DB_SCHEMA_V7,
	/* 7 -> 8: boot menus */
	DB_SCHEMA_V8,
	/* 8 -> 9: commands to running PCs */
	DB_SCHEMA_V9,
	/* 9 -> 10: canary releases, health reports */
	DB_SCHEMA_V10,
	/* 10 -> 11: overnight pre-staging */
	DB_SCHEMA_V11,
};

/* Schema version of an open file: 0 for an empty file. */
static int db_schema_version(struct db *db, int *version)
{
	sqlite3_stmt *st;
	int rc, tables;

	if ((rc = db_prepare(db, "SELECT count(*) FROM sqlite_master "
				 "WHERE type = 'table'", &st)) != 0)
		return rc;
	rc = sqlite3_step(st);
	tables = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (tables < 0)
		return db_errno(rc);
	if (tables == 0) {
		*version = 0;
		return 0;
	}
	rc = sqlite3_prepare_v2(db->sql, "SELECT value FROM meta WHERE "
				"key = 'schema_version'", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db: %s is not a linkboot DB (no meta table)",
			  sqlite3_db_filename(db->sql, "main"));
		return -EBADMSG;
	}
	rc = sqlite3_step(st);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (*version < 0) {
		log_warnx("db: %s has no schema_version",
			  sqlite3_db_filename(db->sql, "main"));
		return -EBADMSG;
	}
	return 0;
}

static int db_migrate(struct db *db)
{
	int rc, version = 0, v;

	/* the common case reads only: `status` works on a read-only DB */
	if ((rc = db_schema_version(db, &version)) != 0)
		return rc;
	if (version == DB_SCHEMA_VERSION)
		return 0;
	/* else check again under the write lock: one process migrates */
	if ((rc = db_begin(db)) != 0)
		return rc;
	if ((rc = db_schema_version(db, &version)) != 0)
		goto err;
	if (version > DB_SCHEMA_VERSION) {
		log_warnx("db: %s has schema version %d, this linkboot knows "
			  "up to %d: upgrade linkboot, or restore a backup made "
			  "by this version (`linkboot restore DIR`)",
			  sqlite3_db_filename(db->sql, "main"), version,
			  DB_SCHEMA_VERSION);
		rc = -EPROTONOSUPPORT;
		goto err;
	}
	for (v = version; v < DB_SCHEMA_VERSION; v++) {
		if ((rc = db_exec(db, migrations[v])) != 0)
			goto err;
		if (version > 0)	/* an existing file, not a new one */
			log_info("db: migrated schema %d -> %d", v, v + 1);
	}
	if (version != DB_SCHEMA_VERSION) {
		char sql[128];

		snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%d' "
			 "WHERE key = 'schema_version'", DB_SCHEMA_VERSION);
		if ((rc = db_exec(db, sql)) != 0)
			goto err;
	}
	return db_commit(db);
err:
	db_rollback(db);
	return rc;
}

/* ---- open / close ------------------------------------------------------ */

int db_open_path(const char *path, struct db **out)
{
	struct db *db;
	int rc;

	/* whoever holds a DB can say what a link operation's rc means */
	links_err_register();
	if (!(db = calloc(1, sizeof(*db))))
		return -ENOMEM;
	db->lock_fd = -1;
	rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db: %s: %s", path,
			  db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
		rc = db_errno(rc);
		goto err;
	}
	sqlite3_busy_timeout(db->sql, DB_BUSY_TIMEOUT_MS);
	/* WAL: the daemon reads while the CLI writes; NORMAL sync is
	 * durable at checkpoints and never corrupts (sqlite.org/wal.html) */
	if ((rc = db_exec(db, "PRAGMA journal_mode = WAL;"
			      "PRAGMA synchronous = NORMAL;"
			      "PRAGMA foreign_keys = ON;")) != 0)
		goto err;
	if ((rc = db_migrate(db)) != 0)
		goto err;
	*out = db;
	return 0;
err:
	sqlite3_close(db->sql);
	free(db);
	return rc;
}

int db_open(const char *state_dir, struct db **out)
{
	char path[PATH_MAX];
	struct db *db;
	int rc;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		log_warn("db: state directory %s (give --state DIR)", state_dir);
		return rc;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
			     DB_FILE_NAME) >= sizeof(path))
		return -ENAMETOOLONG;
	if ((rc = db_open_path(path, &db)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/store", state_dir);
	if (!(db->state_dir = strdup(state_dir)) ||
	    db_set_store_dir(db, path) != 0) {
		db_close(db);
		return -ENOMEM;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (unsigned i = 0; i < DB_KEPT_MAX && db->kept[i].sql; i++)
		sqlite3_finalize(db->kept[i].st);
	sqlite3_close_v2(db->sql);
	if (db->lock_fd >= 0)
		close(db->lock_fd);
	free(db->state_dir);
	free(db->store_dir);
	free(db);
}

/* ---- links -------------------------------------------------------------- */

/* One client's effective link, as read by link_query(). */
struct link_row {
	struct link_info li;
	uint64_t size;			/* image size, bytes */
	int super;			/* clients.super */
	char super_token[80];		/* see DB_SUPER_PENDING */
	char file[256];			/* version file in the store dir */
};

/*
 * Effective values in one statement: COALESCE walks client -> group ->
 * image; built-in defaults fill what is still NULL (db_internal.h).
 */
#define LINK_SELECT \
	"SELECT c.mac, c.name, c.hostname, IFNULL(c.grp, ''), i.name, i.id," \
	" c.version, i.production_version, i.test_version, i.test_group," \
	" IFNULL(i.root, ''), IFNULL(i.cmdline, ''), c.boot_seq," \
	" COALESCE(c.ram_cache_mib, g.ram_cache_mib, i.ram_cache_mib)," \
	" COALESCE(c.ssd_cache, g.ssd_cache, i.ssd_cache)," \
	" COALESCE(c.write_mode, g.write_mode, i.write_mode)," \
	" c.machine_id, c.super, IFNULL(c.super_token, ''), i.size," \
	" c.keep_overlay, c.overlay_mib, COALESCE(c.boot_mode, i.boot_mode)," \
	" c.secure_boot, IFNULL(c.boot_pick, ''), COALESCE(c.image_id," \
	" g.image_id), IFNULL(c.menu, ''), IFNULL(c.menu_default, '')," \
	" c.menu_timeout, IFNULL(c.menu_picked, ''), i.boot_mode," \
	" IFNULL(c.wake_subnet, '')" \
	" FROM clients c LEFT JOIN groups g ON g.name = c.grp" \
	" JOIN images i ON i.id = COALESCE(NULLIF(NULLIF(c.boot_pick," \
	" 'rescue'), ''), c.image_id, g.image_id) "

/* The version a client boots: pinned, else the test version for the
 * image's test group, else production (else the newest there is). */
static int link_pick_version(struct db *db, sqlite3_stmt *st,
			     struct link_info *li)
{
	const unsigned char *test_group = sqlite3_column_text(st, 9);
	sqlite3_stmt *q;
	int rc;

	if (!db_col_is_null(st, 6) && !li->picked_other) {
		li->version = (unsigned)sqlite3_column_int(st, 6);
		return 0;
	}
	if (!db_col_is_null(st, 8) && test_group && li->group[0] &&
	    !strcmp((const char *)test_group, li->group)) {
		li->version = (unsigned)sqlite3_column_int(st, 8);
		return 0;
	}
	if (!db_col_is_null(st, 7)) {
		li->version = (unsigned)sqlite3_column_int(st, 7);
		return 0;
	}
	if ((rc = db_prepare(db, "SELECT max(version) FROM versions "
				 "WHERE image_id = ?", &q)) != 0)
		return rc;
	sqlite3_bind_text(q, 1, li->image_id, -1, SQLITE_STATIC);
	li->version = sqlite3_step(q) == SQLITE_ROW ?
		(unsigned)sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	return 0;
}

/* "boot/<id>/v1/vmlinuz" whether the store wrote it with "boot/" or not. */
static void link_boot_path(const unsigned char *s, char *out, size_t size)
{
	const char *p = (const char *)s;

	if (!p || !*p) {
		out[0] = '\0';
		return;
	}
	while (*p == '/')
		p++;
	snprintf(out, size, "%s%s", strncmp(p, "boot/", 5) ? "boot/" : "", p);
}

/* Is the per-NIC set (store/initramfs.h) whole next to li->initrd? Its
 * map is written last, so its presence says so. */
static int link_has_split_initrd(const struct db *db, const char *initrd)
{
	const char *slash = strrchr(initrd, '/');
	char path[PATH_MAX];
	struct stat sb;

	if (!slash)
		return 0;
	snprintf(path, sizeof(path), "%s/%.*s/" INITRAMFS_NIC_MAP,
		 db_state_dir(db), (int)(slash - initrd), initrd);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Kernel, initrd and file of the chosen version; image_missing if the
 * version row or its file is gone. */
static int link_version_files(struct db *db, struct link_row *r)
{
	struct link_info *li = &r->li;
	char path[PATH_MAX];
	sqlite3_stmt *q;
	struct stat sb;
	int rc;

	if ((rc = db_prepare(db, "SELECT file, kernel, initrd FROM versions "
				 "WHERE image_id = ? AND version = ?", &q)) != 0)
		return rc;
	sqlite3_bind_text(q, 1, li->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, (int)li->version);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		db_col_text(q, 0, r->file, sizeof(r->file));
		link_boot_path(sqlite3_column_text(q, 1), li->kernel,
			       sizeof(li->kernel));
		link_boot_path(sqlite3_column_text(q, 2), li->initrd,
			       sizeof(li->initrd));
		li->split_initrd = link_has_split_initrd(db, li->initrd);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW) {
		li->image_missing = 1;
		return rc == SQLITE_DONE ? 0 : db_errno(rc);
	}
	if (r->file[0] == '/')
		snprintf(path, sizeof(path), "%s", r->file);
	else
		snprintf(path, sizeof(path), "%s/%s",
			 db->store_dir ? db->store_dir : ".", r->file);
	li->image_missing = stat(path, &sb) < 0 || !S_ISREG(sb.st_mode);
	return 0;
}

/*
 * The boot menu and this boot's pick (LINK_SELECT's last columns). A
 * pick of another image than the link's boots it as the image says, in
 * restore-on-reboot mode (the PC's server overlay belongs to its own
 * image), at its production version; 'rescue' is the link's own image
 * into the image's rescue target.
 */
static void link_menu_columns(sqlite3_stmt *st, struct link_info *li)
{
	char pick[40], own[40];

	db_col_text(st, 24, pick, sizeof(pick));
	db_col_text(st, 25, own, sizeof(own));
	db_col_text(st, 26, li->menu, sizeof(li->menu));
	db_col_text(st, 27, li->menu_default, sizeof(li->menu_default));
	li->menu_timeout = db_col_is_null(st, 28) ? DB_DEFAULT_MENU_TIMEOUT :
		(unsigned)sqlite3_column_int(st, 28);
	db_col_text(st, 29, li->menu_picked, sizeof(li->menu_picked));
	li->picked_other = pick[0] && strcmp(pick, "rescue") &&
			   strcmp(pick, own) != 0;
	li->rescue = !strcmp(pick, "rescue");
	if (li->picked_other) {
		const unsigned char *mode = sqlite3_column_text(st, 30);

		if (li->write_mode == WRITE_SERVER)
			li->write_mode = WRITE_RAM;
		li->keep_overlay = 0;
		/* the picked image boots as it says (a SAN entry), not as
		 * the link's own --boot */
		li->boot_mode = mode ? db_boot_mode_parse((const char *)mode)
				     : BOOT_LINUX;
		if (li->boot_mode < 0)
			li->boot_mode = BOOT_LINUX;
	}
	if (li->rescue && strlen(li->cmdline) + 32 < sizeof(li->cmdline))
		strcat(li->cmdline, li->cmdline[0] ? " systemd.unit=rescue.target"
				    : "systemd.unit=rescue.target");
}

/* The client row where `column` = key ("mac"). */
static int link_query(struct db *db, const char *column, const char *key,
		      struct link_row *r)
{
	char sql[1024];
	struct link_info *li = &r->li;
	const unsigned char *s;
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(sql, sizeof(sql), LINK_SELECT "WHERE c.%s = ?", column);
	if ((rc = db_prepare(db, sql, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	}
	db_col_text(st, 0, li->mac, sizeof(li->mac));
	db_col_text(st, 1, li->name, sizeof(li->name));
	db_col_text(st, 2, li->hostname, sizeof(li->hostname));
	db_col_text(st, 3, li->group, sizeof(li->group));
	db_col_text(st, 4, li->image, sizeof(li->image));
	db_col_text(st, 5, li->image_id, sizeof(li->image_id));
	db_col_text(st, 10, li->root, sizeof(li->root));
	db_col_text(st, 11, li->cmdline, sizeof(li->cmdline));
	li->boot_seq = sqlite3_column_int64(st, 12);
	li->ram_cache_mib = db_col_is_null(st, 13) ? DB_DEFAULT_RAM_CACHE_MIB :
		(unsigned)sqlite3_column_int(st, 13);
	s = sqlite3_column_text(st, 14);
	snprintf(li->ssd_cache, sizeof(li->ssd_cache), "%s",
		 s ? (const char *)s : DB_DEFAULT_SSD_CACHE);
	s = sqlite3_column_text(st, 15);
	li->write_mode = db_write_mode_parse((const char *)s);
	/* super is granted by the super flag + grant only, never by a mode */
	if (li->write_mode < 0 || li->write_mode == WRITE_SUPER)
		li->write_mode = DB_DEFAULT_WRITE_MODE;
	db_col_text(st, 16, li->machine_id, sizeof(li->machine_id));
	r->super = sqlite3_column_int(st, 17);
	db_col_text(st, 18, r->super_token, sizeof(r->super_token));
	r->size = (uint64_t)sqlite3_column_int64(st, 19);
	li->keep_overlay = sqlite3_column_int(st, 20);
	li->overlay_mib = (unsigned)sqlite3_column_int(st, 21);	/* NULL: 0 */
	s = sqlite3_column_text(st, 22);
	li->boot_mode = db_boot_mode_parse((const char *)s);
	if (li->boot_mode < 0)
		li->boot_mode = BOOT_LINUX;	/* NULL: built-in */
	s = sqlite3_column_text(st, 23);
	li->secure_boot = s ? secure_boot_parse((const char *)s) : 0;
	if (li->secure_boot < 0)
		li->secure_boot = SECURE_BOOT_AUTO;
	link_menu_columns(st, li);
	db_col_text(st, 31, li->wake_subnet, sizeof(li->wake_subnet));
	rc = link_pick_version(db, st, li);
	sqlite3_finalize(st);
	if (rc == 0)
		rc = link_version_files(db, r);
	return rc;
}

int db_link_lookup(struct db *db, const uint8_t mac[6], struct link_info *out)
{
	struct link_row r;
	char m[18];
	int rc;

	mac_format(mac, m);
	if ((rc = link_query(db, "mac", m, &r)) != 0)
		return rc;
	/* the super client's next boot writes the next version */
	if (r.super && !strcmp(r.super_token, DB_SUPER_PENDING))
		r.li.write_mode = WRITE_SUPER;
	if (db_prestage_lookup(db, m, r.li.image_id,
			       &r.li.prestage_version) != 0)
		r.li.prestage_version = 0;
	*out = r.li;
	return 0;
}

/* ---- exports ----------------------------------------------------------- */

/* "NAME" or "NAME@N": an image version, read-only. */
static int export_image(struct db *db, const char *name,
			struct export_info *out)
{
	char image[128];
	const char *at = strrchr(name, '@');
	uint64_t want = 0;
	sqlite3_stmt *st;
	int rc;

	if (at) {
		if ((size_t)(at - name) >= sizeof(image) ||
		    parse_u64(at + 1, 1, INT_MAX, &want) != 0)
			return -ENOENT;
		memcpy(image, name, (size_t)(at - name));
		image[at - name] = '\0';
	} else {
		snprintf(image, sizeof(image), "%s", name);
	}
	rc = db_prepare_kept(db,
		"SELECT i.id, i.size, v.version FROM images i JOIN versions v"
		" ON v.image_id = i.id WHERE i.name = ?1 AND v.version ="
		" CASE WHEN ?2 > 0 THEN ?2 ELSE COALESCE(i.production_version,"
		" (SELECT max(version) FROM versions WHERE image_id = i.id)) END",
		&st);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)want);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_text(st, 0, out->image_id, sizeof(out->image_id));
		out->size = (uint64_t)sqlite3_column_int64(st, 1);
		out->version = (unsigned)sqlite3_column_int(st, 2);
		out->read_only = 1;
		out->write_mode = WRITE_RAM;
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	}
	db_unprepare(db, st);
	return rc;
}

static void export_from_link(const struct link_row *r, int write_mode,
			     struct export_info *out)
{
	snprintf(out->image_id, sizeof(out->image_id), "%s", r->li.image_id);
	out->version = r->li.version;
	out->size = r->size;
	out->write_mode = write_mode;
	/* ram/disk: writes stay in the client's overlayfs, the disk is RO */
	out->read_only = write_mode == WRITE_RAM || write_mode == WRITE_DISK;
	snprintf(out->client_mac, sizeof(out->client_mac), "%s", r->li.mac);
	snprintf(out->label, sizeof(out->label), "credential of %s",
		 r->li.mac);
}

/* A boot credential runs the version its boot began with, whatever the
 * link says now (a running PC never changes version under its feet). */
static int export_pin_boot_version(struct db *db, const struct cred_info *ci,
				   struct export_info *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!strcmp(ci->image_id, out->image_id) && ci->version == out->version)
		return 0;
	if ((rc = db_prepare(db, "SELECT size FROM images WHERE id = ?1 AND "
			     "EXISTS (SELECT 1 FROM versions WHERE image_id = "
			     "?1 AND version = ?2)", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, ci->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)ci->version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->image_id, sizeof(out->image_id), "%s",
			 ci->image_id);
		out->version = ci->version;
		out->size = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* A client credential: its client's link, bound address, write mode. */
static int export_credential(struct db *db, const char *name,
			     const char *peer_ip, struct export_info *out)
{
	struct cred_info ci;
	struct link_row r;
	char bound[sizeof(DB_SUPER_BOUND) + CRED_HASH_STR_LEN];
	int mode, rc;

	if ((rc = cred_lookup(db, name, strlen(name), &ci)) != 0)
		return rc;
	if (ci.peer[0] && (!peer_ip || strcmp(ci.peer, peer_ip) != 0))
		return -EACCES;
	if ((rc = link_query(db, "mac", ci.mac, &r)) != 0)
		return rc;
	mode = ci.kind == CRED_BOOT ? ci.write_mode : r.li.write_mode;
	snprintf(bound, sizeof(bound), DB_SUPER_BOUND "%s", ci.hash);
	if (mode == WRITE_SUPER && (!r.super || strcmp(r.super_token, bound)))
		return -EACCES;	/* `client super MAC off` since the boot */
	export_from_link(&r, mode, out);
	out->cred_kind = (int)ci.kind;
	snprintf(out->cred_hash, sizeof(out->cred_hash), "%s", ci.hash);
	snprintf(out->peer_ip, sizeof(out->peer_ip), "%s",
		 peer_ip ? peer_ip : "");
	out->boot_seq = ci.kind == CRED_BOOT ? ci.boot_seq : r.li.boot_seq;
	if (ci.kind == CRED_BOOT)
		return export_pin_boot_version(db, &ci, out);
	return 0;
}

/* "CREDENTIAL" (the system disk) or "CREDENTIAL/N" (extra disk N). */
static int export_credential_disk(struct db *db, const char *name,
				  const char *peer_ip, struct export_info *out)
{
	char cred[CRED_STR_LEN + 1];
	const char *slash = strchr(name, '/');
	struct export_info sys;
	uint64_t lun;
	int rc;

	if (!slash)
		return export_credential(db, name, peer_ip, out);
	if ((size_t)(slash - name) != CRED_STR_LEN ||
	    parse_u64(slash + 1, 1, DISK_LUN_MAX, &lun) != 0)
		return -ENOENT;
	memcpy(cred, name, CRED_STR_LEN);
	cred[CRED_STR_LEN] = '\0';
	memset(&sys, 0, sizeof(sys));
	rc = export_credential(db, cred, peer_ip, &sys);
	explicit_bzero(cred, sizeof(cred));
	if (rc != 0)
		return rc;
	/* the name as asked stays (NBD_INFO_NAME echoes it) */
	memcpy(sys.name, out->name, sizeof(sys.name));
	return db_export_disk(db, &sys, (unsigned)lun, out);
}

int db_export_of_credential(struct db *db, const char *cred,
			    const char *peer_ip, struct export_info *out)
{
	memset(out, 0, sizeof(*out));
	return export_credential(db, cred, peer_ip, out);
}

int db_export_resolve(struct db *db, const char *name, const char *peer_ip,
		      struct export_info *out)
{
	size_t len = strlen(name);

	memset(out, 0, sizeof(*out));
	out->cred_kind = -1;
	if (len == 0 || len >= sizeof(out->name))
		return -ENOENT;
	memcpy(out->name, name, len + 1);
	if (cred_shaped(name, len))
		return export_credential_disk(db, out->name, peer_ip, out);
	snprintf(out->label, sizeof(out->label), "%s", name);
	return export_image(db, name, out);
}

int db_export_list(struct db *db,
		   int (*fn)(void *arg, const char *name, const char *desc),
		   void *arg)
{
	sqlite3_stmt *st;
	int rc;

	/* each image, then each of its versions; tokens never */
	rc = db_prepare(db,
		"SELECT i.name, NULL, 'production version ' || IFNULL("
		" i.production_version, (SELECT max(version) FROM versions"
		" WHERE image_id = i.id)) FROM images i"
		" WHERE EXISTS (SELECT 1 FROM versions WHERE image_id = i.id)"
		" UNION ALL SELECT i.name, v.version, v.state ||"
		" IFNULL(': ' || v.note, '') FROM images i JOIN versions v"
		" ON v.image_id = i.id ORDER BY 1, 2", &st);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char name[160];
		const char *desc = (const char *)sqlite3_column_text(st, 2);

		if (db_col_is_null(st, 1))
			db_col_text(st, 0, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s@%d",
				 sqlite3_column_text(st, 0),
				 sqlite3_column_int(st, 1));
		if (fn(arg, name, desc ? desc : "") != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* ---- events, sessions, stats -------------------------------------------- */

int db_client_events(struct db *db, const char *mac, unsigned max,
		     char *out, size_t outsz)
{
	sqlite3_stmt *st;
	size_t len = 0;
	int rc;

	out[0] = '\0';
	if ((rc = db_prepare(db, "SELECT time, kind, IFNULL(detail, '') FROM "
			     "(SELECT id, time, kind, detail FROM events WHERE "
			     "mac = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < outsz) {
		/* the report's first line says what it is; the rest are
		 * counters (status has them) */
		const char *detail = (const char *)sqlite3_column_text(st, 2);
		int n = snprintf(out + len, outsz - len, "%s%s %s %.*s",
				 len ? " | " : "",
				 (const char *)sqlite3_column_text(st, 0),
				 (const char *)sqlite3_column_text(st, 1),
				 (int)strcspn(detail, "\n"), detail);

		if (n < 0)
			break;
		len += (size_t)n;
	}
	if (len >= outsz)
		out[outsz - 1] = '\0';
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_errno(rc);
}

int db_client_timeline(struct db *db, const char *mac, char *out, size_t outsz)
{
	sqlite3_stmt *st;
	int rc;

	out[0] = '\0';
	if ((rc = db_prepare(db, "SELECT IFNULL(timeline, '') FROM stats WHERE "
			     "mac = ?1", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		db_col_text(st, 0, out, outsz);
	sqlite3_finalize(st);
	return 0;
}

void db_record_event(struct db *db, const char *mac, const char *kind,
		     const char *detail)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_now_iso(now);
	if (db_prepare_kept(db, "INSERT INTO events(time, mac, kind, detail) "
				"VALUES(?, ?, ?, ?)", &st) != 0)
		return;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mac && *mac ? mac : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		log_warnx("db: event not recorded: %s", sqlite3_errmsg(db->sql));
	db_unprepare(db, st);
	if (rc != SQLITE_DONE)
		return;
	/* bounded: drop what is older than the newest DB_EVENTS_KEEP rows */
	if (sqlite3_last_insert_rowid(db->sql) % 100 == 0)
		db_exec(db, "DELETE FROM events WHERE id <= (SELECT max(id) "
			    "FROM events) - " STR(DB_EVENTS_KEEP));
	if (!mac || !*mac)
		return;
	/* an agent report carries its counters: the latest go to stats */
	if (!strcmp(kind, "report") && detail &&
	    (rc = db_stats_update(db, mac, detail)) != 0)
		log_warnx("db: report from %s: counters not stored: %s", mac,
			  rc == -EINVAL ? "a value is not a decimal number" :
			  err_str(rc));
	if (!strcmp(kind, "nbd") || !strcmp(kind, "dhcp") ||
	    !strcmp(kind, "report")) {
		if (db_prepare(db, "UPDATE clients SET last_seen = ?1 WHERE "
			       "mac = ?2", &st) != 0)
			return;
		sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
}

int db_session_add(struct db *db, const struct export_info *ei,
		   const char *peer, const char *proto, int64_t *id)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_now_iso(now);
	if ((rc = db_prepare_kept(db, "INSERT INTO sessions(pid, peer, mac, "
				 "image_id, version, since, proto, lun) VALUES(?, "
				 "?, ?, ?, ?, ?, ?, ?)", &st)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)getpid());
	sqlite3_bind_text(st, 2, peer ? peer : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ei->client_mac[0] ? ei->client_mac : NULL,
			  -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ei->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, (int)ei->version);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, proto, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, (int)ei->lun);
	rc = sqlite3_step(st);
	db_unprepare(db, st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	if (id)
		*id = (int64_t)sqlite3_last_insert_rowid(db->sql);
	return 0;
}

void db_session_remove(struct db *db, int64_t id)
{
	sqlite3_stmt *st;

	if (db_prepare_kept(db, "DELETE FROM sessions WHERE id = ?", &st) != 0)
		return;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("db: session %lld not removed: %s", (long long)id,
			  sqlite3_errmsg(db->sql));
	db_unprepare(db, st);
}

int64_t db_session_flush(struct db *db, int64_t id,
			 struct session_counters *c, int64_t now)
{
	uint64_t sum = c->bytes_read + c->bytes_written + c->io_errors;
	sqlite3_stmt *st;

	if (id < 0 || sum == c->flushed)
		return -1;
	if (now < c->flush_at)
		return c->flush_at;
	c->flushed = sum;
	c->flush_at = now + DB_SESSION_FLUSH_MS;
	if (db_prepare_kept(db, "UPDATE sessions SET bytes_read = ?2, "
			    "bytes_written = ?3, io_errors = ?4 WHERE id = ?1",
			    &st) != 0)
		return c->flush_at;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->bytes_read);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->bytes_written);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)c->io_errors);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("db: session %lld counters not written: %s",
			  (long long)id, sqlite3_errmsg(db->sql));
	db_unprepare(db, st);
	return c->flush_at;
}

/* stats columns an agent report may set; index = bind parameter - 2 */
static const struct stats_key {
	const char *key;
	int text;
} stats_keys[] = {
	{ "boot_id", 1 }, { "uptime_ms", 0 }, { "bytes_from_server", 0 },
	{ "ram_hits", 0 }, { "ram_misses", 0 }, { "ssd_hits", 0 },
	{ "ssd_misses", 0 }, { "overlay_bytes", 0 }, { "timeline", 1 },
};

static int stats_bind_line(sqlite3_stmt *st, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	char num[24];
	uint64_t v;
	size_t i, klen;

	if (!eq)
		return 0;	/* not key=value: ignored like unknown keys */
	klen = (size_t)(eq - line);
	for (i = 0; i < ARRAY_SIZE(stats_keys); i++) {
		if (strlen(stats_keys[i].key) != klen ||
		    memcmp(stats_keys[i].key, line, klen) != 0)
			continue;
		eq++;
		len -= klen + 1;
		if (stats_keys[i].text) {
			if (len > 4096)
				return -EINVAL;
			sqlite3_bind_text(st, (int)i + 3, eq, (int)len,
					  SQLITE_TRANSIENT);
			return 0;
		}
		if (len == 0 || len >= sizeof(num))
			return -EINVAL;
		memcpy(num, eq, len);
		num[len] = '\0';
		if (parse_u64(num, 0, INT64_MAX, &v) != 0)
			return -EINVAL;
		sqlite3_bind_int64(st, (int)i + 3, (sqlite3_int64)v);
		return 0;
	}
	return 0;
}

int db_stats_update(struct db *db, const char *mac, const char *kv_body)
{
	char now[DB_TIME_LEN];
	const char *p = kv_body, *nl;
	sqlite3_stmt *st;
	int rc;

	rc = db_prepare(db, "INSERT OR REPLACE INTO stats(mac, time, boot_id,"
			" uptime_ms, bytes_from_server, ram_hits, ram_misses,"
			" ssd_hits, ssd_misses, overlay_bytes, timeline)"
			" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			&st);
	if (rc != 0)
		return rc;
	db_now_iso(now);
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	while (*p) {
		size_t len;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && p[len - 1] == '\r')
			len--;
		if ((rc = stats_bind_line(st, p, len)) != 0)
			goto out;
		if (!nl)
			break;
		p = nl + 1;
	}
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 :
		db_errno(sqlite3_errcode(db->sql));
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---- the daemon's side -------------------------------------------------- */

int db_server_pid(const char *state_dir)
{
	char path[PATH_MAX], buf[32] = "";
	ssize_t n;
	int fd, pid = 0;

	snprintf(path, sizeof(path), "%s/%s", state_dir, DB_LOCK_NAME);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);	/* nobody holds it: no server */
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0)
		pid = atoi(buf);
	return pid > 0 ? pid : 1;
}

/* Hold <state>/linkboot.pid locked while serving, so `restore` can tell. */
static int db_lock_state(struct db *db)
{
	char path[PATH_MAX], buf[32];
	int fd, len;

	snprintf(path, sizeof(path), "%s/%s", db_state_dir(db), DB_LOCK_NAME);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_warn("db: %s", path);
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = -errno;

		log_warnx("db: another linkboot serve uses %s (see %s); stop it "
			  "first (systemctl stop linkboot)", db_state_dir(db),
			  path);
		close(fd);
		return rc == -EWOULDBLOCK ? -EBUSY : rc;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)len) != len)
		log_warn("db: %s", path);
	db->lock_fd = fd;
	return 0;
}

/* Log every version whose file is gone, with the command that fixes it. */
static void db_check_files(struct db *db)
{
	sqlite3_stmt *st;
	int missing = 0;

	if (db_prepare(db, "SELECT i.name, v.version, v.file FROM versions v "
			   "JOIN images i ON i.id = v.image_id ORDER BY 1, 2",
			   &st) != 0)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *file = (const char *)sqlite3_column_text(st, 2);
		char path[PATH_MAX];
		struct stat sb;

		if (!file)
			continue;
		if (file[0] == '/')
			snprintf(path, sizeof(path), "%s", file);
		else
			snprintf(path, sizeof(path), "%s/%s", db->store_dir,
				 file);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			continue;
		missing++;
		log_warnx("db: image %s@%d: file %s is missing; if it was "
			  "moved, run `linkboot image repair --scan DIR` with "
			  "the directory it is in now", sqlite3_column_text(st, 0),
			  sqlite3_column_int(st, 1), path);
	}
	sqlite3_finalize(st);
	if (missing)
		log_warnx("db: %d image version file(s) missing: clients of "
			  "those images see the repair command on screen",
			  missing);
}

/* Canary releases are judged here, every RELEASE_TICK_MS (releases.h). */
#define RELEASE_TICK_MS 5000

/* A pre-staging's magic packet, on the serving interface (wol.h). */
static int db_prestage_wake(void *arg, const uint8_t mac[6],
			    const char *subnet)
{
	struct lb_server *srv = arg;

	return wol_wake(mac, srv->cfg->interface, subnet);
}

static int64_t db_release_tick(void *arg, int64_t now)
{
	struct lb_server *srv = arg;
	struct db *db = srv->db;

	if (!db)
		return -1;
	/* the loop runs its tickers on every turn, thousands of turns a
	 * second in a boot storm: the queries run only when due */
	if (now < db->release_due)
		return db->release_due;
	release_tick(db, (int64_t)time(NULL));
	prestage_tick(db, (int64_t)time(NULL), db_prestage_wake, srv);
	db->release_due = now + RELEASE_TICK_MS;
	return db->release_due;
}

int db_service_start(struct lb_server *srv)
{
	const struct lb_config *cfg = srv->cfg;
	struct db *db;
	int rc;

	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		log_warnx("db: cannot open %s/%s: %s", cfg->state_dir,
			  DB_FILE_NAME, err_str(rc));
		return rc;
	}
	if (cfg->store_dir && (rc = db_set_store_dir(db, cfg->store_dir)) != 0)
		goto err;
	if ((rc = db_lock_state(db)) != 0)
		goto err;
	sqlite3_busy_timeout(db->sql, DB_DAEMON_BUSY_TIMEOUT_MS);
	/* sessions of a previous run are gone with its connections */
	if ((rc = db_exec(db, "DELETE FROM sessions")) != 0)
		goto err;
	db_check_files(db);
	srv->db = db;
	if (srv->loop && (rc = loop_add_ticker(srv->loop, db_release_tick,
					       srv)) != 0) {
		srv->db = NULL;
		goto err;
	}
	log_info("db: %s/%s, store %s", cfg->state_dir, DB_FILE_NAME,
		 db->store_dir);
	return 0;
err:
	db_close(db);
	return rc;
}

void db_service_stop(struct lb_server *srv)
{
	sqlite3_stmt *st;

	if (!srv->db)
		return;
	if (db_prepare(srv->db, "DELETE FROM sessions WHERE pid = ?", &st) == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)getpid());
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	db_close(srv->db);
	srv->db = NULL;
}
