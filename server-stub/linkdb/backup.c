/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot backup DEST` and `linkboot restore SRC`.
 *
 * Backup runs while the server serves (incumbents need the service
 * stopped): the link DB is copied with SQLite's online backup API in one
 * step, which reads one consistent snapshot while WAL lets the daemon and
 * the CLI go on writing (sqlite.org/backup.html). Image versions are
 * immutable files, so copying the store after the snapshot gives every
 * file the snapshot names. Layout of DEST:
 *
 *	DEST/linkboot.db	the DB snapshot
 *	DEST/store/...		image store files (versions, hash tables)
 *	DEST/boot/...		kernels, initrds, boot packs
 *	DEST/overlays/...	what PCs wrote: kept server overlays and the
 *				super client's next version (reflinked, an
 *				atomic snapshot of each file, where the
 *				file system can; else copied: a PC writing
 *				meanwhile may leave it between two of its
 *				flushes, as a power cut would)
 *	DEST/BACKUP		what, when, which linkboot
 *
 * Restore refuses while a server holds the state dir (its flock on
 * linkboot.pid), keeps the replaced DB as linkboot.db.before-restore, and
 * copies the files back.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "commands.h"
#include "db.h"
#include "fileops.h"
#include "db_internal.h"
#include "lb_err.h"
#include "lb_util.h"
#include "schema.h"
#include "version.h"

static const char usage_backup[] =
"Usage: linkboot backup [--state DIR] [--store DIR] DEST\n"
"\n"
"Copy the link DB (a consistent snapshot, SQLite online backup), the\n"
"image store, the boot files (kernels, initrds) and the overlays (what\n"
"PCs wrote: kept server overlays, the super client's writes) to DEST,\n"
"while the server keeps serving. DEST must be new or empty. Shows\n"
"progress on a terminal. Restore with `linkboot restore DEST`.\n";

static const char usage_restore[] =
"Usage: linkboot restore [--state DIR] [--store DIR] SRC\n"
"\n"
"Restore a backup made by `linkboot backup` into the state directory:\n"
"the link DB (the current one is kept as linkboot.db.before-restore),\n"
"the image store, the boot files and the overlays. The server must be\n"
"stopped first\n"
"(systemctl stop linkboot).\n";

/* Copy progress, shown on a terminal only. */
struct progress {
	const char *what;
	uint64_t total, done;
	int tty;
	int64_t last_ms;
};

static void progress_show(struct progress *p, int final)
{
	int64_t now = now_ms();

	if (!p->tty || (!final && now - p->last_ms < 200))
		return;
	p->last_ms = now;
	fprintf(stderr, "\r%s: %llu / %llu MiB (%d%%)%s", p->what,
		(unsigned long long)(p->done >> 20),
		(unsigned long long)(p->total >> 20),
		p->total ? (int)(p->done * 100 / p->total) : 100,
		final ? "\n" : "");
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX], *s;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	for (s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* fileops progress (bytes of one file) -> the whole copy's progress */
struct file_progress {
	struct progress *p;
	uint64_t base;		/* p->done before this file */
};

static void file_progress_fn(void *arg, const char *what, uint64_t done,
			     uint64_t total)
{
	struct file_progress *fp = arg;

	(void)what; (void)total;
	fp->p->done = fp->base + done;
	progress_show(fp->p, 0);
}

/* One file: a whole-file reflink (an atomic snapshot even of a live
 * overlay, btrfs/XFS) where the file system can, else a copy. */
static int copy_file(const char *src, const char *dst, struct progress *p)
{
	struct file_progress fp = { .p = p, .base = p->done };
	struct store_progress sp = { .fn = file_progress_fn, .arg = &fp };
	int in, rc;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	rc = fileops_copy(in, dst, FILEOPS_REFLINK, &sp);
	close(in);
	return rc;
}

/*
 * Walk src recursively: with copy == 0 sum regular file sizes into
 * p->total, else copy each file to the same relative path under dst.
 * Bounded depth: the store is flat or one level of per-image dirs.
 */
static int copy_tree(const char *src, const char *dst, struct progress *p,
		     int copy, int depth)
{
	char s[PATH_MAX], d[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *dir;
	int rc = 0;

	if (depth > 8)
		return -ELOOP;
	if (!(dir = opendir(src)))
		return errno == ENOENT ? 0 : -errno;
	if (copy && (rc = mkdir_p(dst)) != 0) {
		closedir(dir);
		return rc;
	}
	while (rc == 0 && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    strstr(de->d_name, ".part"))
			continue;
		if ((size_t)snprintf(s, sizeof(s), "%s/%s", src, de->d_name) >=
		    sizeof(s) ||
		    (size_t)snprintf(d, sizeof(d), "%s/%s", dst, de->d_name) >=
		    sizeof(d)) {
			rc = -ENAMETOOLONG;
			break;
		}
		if (lstat(s, &sb) < 0)
			continue;	/* removed meanwhile: not in use */
		if (S_ISDIR(sb.st_mode))
			rc = copy_tree(s, d, p, copy, depth + 1);
		else if (!S_ISREG(sb.st_mode))
			continue;
		else if (!copy)
			p->total += (uint64_t)sb.st_size;
		else if ((rc = copy_file(s, d, p)) != 0)
			fprintf(stderr, "\nlinkboot: copy %s -> %s: %s\n", s, d,
				err_str(rc));
	}
	closedir(dir);
	return rc;
}

static int copy_tree_progress(const char *what, const char *src,
			      const char *dst)
{
	struct progress p = { .what = what, .tty = isatty(2) };
	int rc;

	if ((rc = copy_tree(src, dst, &p, 0, 0)) != 0 ||
	    (rc = copy_tree(src, dst, &p, 1, 0)) != 0)
		return rc;
	progress_show(&p, 1);
	printf("%s: %llu bytes copied from %s\n", what,
	       (unsigned long long)p.done, src);
	return 0;
}

/* One-step online backup of src's main DB into the file dst_path. */
static int sqlite_copy(sqlite3 *src, const char *dst_path)
{
	sqlite3_backup *b;
	sqlite3 *dst;
	int rc;

	rc = sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(dst, 5000);
	if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
		rc = sqlite3_errcode(dst);
		goto out;
	}
	/* all pages in one step: one read transaction, one snapshot */
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	if (rc != SQLITE_OK)
		fprintf(stderr, "linkboot: DB copy to %s: %s\n", dst_path,
			dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
	sqlite3_close(dst);
	return rc == SQLITE_OK ? 0 : db_errno(rc);
}

/* "ok" from PRAGMA integrity_check, and the schema version. */
static int db_file_check(const char *path, int *version)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *s;
	int rc, ok = 0;

	*version = -1;
	if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "linkboot: %s: %s\n", path, sqlite3_errmsg(s));
		sqlite3_close(s);
		return -ENOENT;
	}
	if (sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	if (ok && sqlite3_prepare_v2(s, "SELECT value FROM meta WHERE key = "
				     "'schema_version'", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	rc = ok ? 0 : -EBADMSG;
	if (!ok)
		fprintf(stderr, "linkboot: %s: integrity check failed: %s\n",
			path, sqlite3_errmsg(s));
	sqlite3_close(s);
	return rc;
}

static int dir_is_empty(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int empty = 1;

	if (!d)
		return errno == ENOENT ? 1 : -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/* Is path (existing) the directory dir or below it? */
static int path_inside(const char *path, const char *dir)
{
	char p[PATH_MAX], d[PATH_MAX];
	size_t n;

	if (!realpath(path, p) || !realpath(dir, d))
		return 0;
	n = strlen(d);
	return !strncmp(p, d, n) && (p[n] == '\0' || p[n] == '/');
}

static const char *store_dir_of(const struct lb_config *cfg, char *buf,
				size_t size)
{
	if (cfg->store_dir)
		return cfg->store_dir;
	snprintf(buf, size, "%s/store", cfg->state_dir);
	return buf;
}

/* The single operand of backup/restore; EXIT_USAGE or 0. */
static int one_operand(int argc, char **argv, const char *usage,
		       const char **out)
{
	int i;

	*out = NULL;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return -1;
		}
		if (argv[i][0] == '-' || *out) {
			fprintf(stderr, "linkboot %s: unexpected argument '%s'\n%s",
				argv[0], argv[i], usage);
			return EXIT_USAGE;
		}
		*out = argv[i];
	}
	if (!*out) {
		fprintf(stderr, "linkboot %s: directory missing\n%s", argv[0],
			usage);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_backup(struct lb_config *cfg, int argc, char **argv)
{
	char path[PATH_MAX], src[PATH_MAX], store[PATH_MAX], now[DB_TIME_LEN];
	const char *dest;
	struct db *db;
	int rc, version;
	FILE *f;

	if ((rc = one_operand(argc, argv, usage_backup, &dest)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = dir_is_empty(dest)) <= 0) {
		fprintf(stderr, "linkboot backup: %s %s: give a new or empty "
			"directory\n", dest, rc < 0 ? err_str(rc) :
			"is not empty");
		return rc < 0 ? 1 : EXIT_USAGE;
	}
	if ((rc = mkdir_p(dest)) != 0) {
		fprintf(stderr, "linkboot backup: %s: %s\n", dest, err_str(rc));
		return 1;
	}
	snprintf(src, sizeof(src), "%s/boot", cfg->state_dir);
	if (path_inside(dest, store_dir_of(cfg, store, sizeof(store))) ||
	    path_inside(dest, src)) {
		fprintf(stderr, "linkboot backup: %s is inside the directories "
			"it copies (%s, %s): give a directory elsewhere\n",
			dest, store, src);
		rmdir(dest);
		return EXIT_USAGE;
	}
	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		fprintf(stderr, "linkboot backup: cannot open the link DB in %s: "
			"%s (give --state DIR)\n", cfg->state_dir,
			err_str(rc));
		return 1;
	}
	db_now_iso(now);
	snprintf(path, sizeof(path), "%s/%s", dest, DB_FILE_NAME);
	rc = sqlite_copy(db_sqlite(db), path);
	db_close(db);
	if (rc != 0 || (rc = db_file_check(path, &version)) != 0)
		return 1;
	printf("link DB: snapshot of %s/%s at %s, integrity ok\n",
	       cfg->state_dir, DB_FILE_NAME, now);
	snprintf(path, sizeof(path), "%s/store", dest);
	if (copy_tree_progress("store", store_dir_of(cfg, store,
						     sizeof(store)), path) != 0)
		return 1;
	snprintf(src, sizeof(src), "%s/boot", cfg->state_dir);
	snprintf(path, sizeof(path), "%s/boot", dest);
	if (copy_tree_progress("boot", src, path) != 0)
		return 1;
	snprintf(src, sizeof(src), "%s/overlays", cfg->state_dir);
	snprintf(path, sizeof(path), "%s/overlays", dest);
	if (copy_tree_progress("overlays", src, path) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/BACKUP", dest);
	if ((f = fopen(path, "w"))) {
		fprintf(f, "# linkboot backup: restore with `linkboot restore "
			"DIR`\nlinkboot=%s\nschema_version=%d\ntime=%s\n"
			"state=%s\n", LINKBOOT_VERSION, version, now,
			cfg->state_dir);
		fclose(f);
	}
	printf("backup complete: %s\n", dest);
	return 0;
}

int cmd_restore(struct lb_config *cfg, int argc, char **argv)
{
	char path[PATH_MAX], dst[PATH_MAX], store[PATH_MAX];
	sqlite3 *s = NULL;
	const char *src;
	struct db *db;
	int rc, version, pid;

	if ((rc = one_operand(argc, argv, usage_restore, &src)) != 0)
		return rc < 0 ? 0 : rc;
	if ((pid = db_server_pid(cfg->state_dir)) > 0) {
		fprintf(stderr, "linkboot restore: a linkboot server (pid %d) is "
			"using %s; stop it first (systemctl stop linkboot, or "
			"kill %d), then run restore again\n", pid,
			cfg->state_dir, pid);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", src, DB_FILE_NAME);
	if (db_file_check(path, &version) != 0) {
		fprintf(stderr, "linkboot restore: %s is not a usable backup "
			"(made by `linkboot backup DIR`?)\n", src);
		return 1;
	}
	if (version > DB_SCHEMA_VERSION) {
		fprintf(stderr, "linkboot restore: the backup has schema version "
			"%d, this linkboot knows up to %d: upgrade linkboot\n",
			version, DB_SCHEMA_VERSION);
		return 1;
	}
	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		fprintf(stderr, "linkboot restore: cannot open the link DB in "
			"%s: %s\n", cfg->state_dir, err_str(rc));
		return 1;
	}
	/* keep what we replace */
	snprintf(dst, sizeof(dst), "%s/%s.before-restore", cfg->state_dir,
		 DB_FILE_NAME);
	unlink(dst);
	rc = sqlite_copy(db_sqlite(db), dst);
	db_close(db);
	if (rc != 0)
		return 1;
	/* the backup API into the live file keeps its WAL consistent */
	if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(s);
		return 1;
	}
	snprintf(dst, sizeof(dst), "%s/%s", cfg->state_dir, DB_FILE_NAME);
	rc = sqlite_copy(s, dst);
	sqlite3_close(s);
	if (rc != 0)
		return 1;
	/* migrate if the backup is older; drop sessions of the old server */
	if (db_open(cfg->state_dir, &db) != 0)
		return 1;
	db_exec(db, "DELETE FROM sessions");
	db_close(db);
	printf("link DB restored from %s (previous one: %s.before-restore)\n",
	       path, DB_FILE_NAME);
	snprintf(path, sizeof(path), "%s/store", src);
	if (copy_tree_progress("store", path, store_dir_of(cfg, store,
							   sizeof(store))) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/boot", src);
	snprintf(dst, sizeof(dst), "%s/boot", cfg->state_dir);
	if (copy_tree_progress("boot", path, dst) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/overlays", src);
	snprintf(dst, sizeof(dst), "%s/overlays", cfg->state_dir);
	if (copy_tree_progress("overlays", path, dst) != 0)
		return 1;
	printf("restore complete: start the server (systemctl start "
	       "linkboot)\n");
	return 0;
}
