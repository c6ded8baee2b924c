/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot image ...`: the image store as admins see it (like `ltsp image`
 * and Citrix PVS vDisk versions). Images are immutable versions: v1 raw,
 * v2.. deltas (delta.h); files are named by image ID (store.h), so a rename
 * is one DB row and never breaks a link.
 *
 * Per version, under <state>/boot/<id>/v<N>/: vmlinuz, initrd.img (built
 * from that version's own modules) and hashes (blockhash.h), served over
 * HTTP as boot/<id>/v<N>/...
 *
 * Exit status: 0 ok, 1 runtime error, 2 usage error.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootpack_build.h"
#include "commands.h"
#include "delta.h"
#include "lb_log.h"
#include "lb_util.h"
#include "store.h"
#include "store_db.h"

#define REPAIR_MAX_DEPTH 8
#define REPAIR_MAX_FILES 100000

/* One `image` invocation: configuration and the open DB. */
struct image_ctx {
	struct lb_config *cfg;
	struct db *db;
	sqlite3 *s;
	char store[STORE_PATH_MAX];
};

/* An images row (what the commands need of it). */
struct image_row {
	char id[40];
	char name[64];
	uint64_t size;
	char pt_uuid[48];
	char identity[1024];
	char sha256[65];
	unsigned production;	/* 0 = none */
	unsigned latest;	/* newest version */
};

static const char usage[] =
"Usage: linkboot image COMMAND [ARGS...]\n"
"\n"
"Commands:\n"
"  add NAME FILE [--reflink|--move|--in-place] [--kernel F --initrd F]\n"
"                      import a raw disk image as NAME v1 (copy by default)\n"
"  list [-j|--json]    images, versions, sizes, missing files\n"
"  pack NAME [--version N] [--retrace]  build the boot pack from a client\n"
"                      boot's trace (--retrace: record a new trace)\n"
"  versions NAME [-j]  the versions of NAME\n"
"  set NAME [--ram-cache MiB] [--write ram|disk|server|super]\n"
"           [--ssd-cache MiB|auto|off] [--rootfs SPEC] [--cmdline ARGS]\n"
"           [--mark VERSION=maintenance|test|production]\n"
"           [--test-group G] [--test-version N] [--production N]\n"
"                      defaults clients of NAME inherit\n"
"  rename OLD NEW      rename (links follow: they name the image ID)\n"
"  rm NAME [--force]   remove; refuses while clients are linked (--force\n"
"                      unlinks them) or a version is in use\n"
"  commit NAME         the super client's writes become the next version\n"
"  rollback NAME [V]   production back to V (default: the one before)\n"
"  merge NAME [--prune]  flatten the newest version into a new raw one\n"
"                      (old files stay: clients may be reading them)\n"
"  prune NAME          remove versions nobody can boot or is reading (not\n"
"                      production/test/pinned/in use, nor their parents)\n"
"  repair --scan DIR   find moved/renamed image files by identity\n"
"\n"
"--rootfs and --mark stand for the --root / --state of the issue text:\n"
"--root and --state are server options (every command takes them).\n";

/* ---- small helpers ------------------------------------------------------ */

static void iso_now(char out[24])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int sql_prep(struct image_ctx *ic, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ic->s, sql, -1, st, NULL) != SQLITE_OK) {
		fprintf(stderr, "image: database: %s\n", sqlite3_errmsg(ic->s));
		return -EIO;
	}
	return 0;
}

/* Run one statement with text parameters (NULL = SQL NULL). */
static int sql_exec(struct image_ctx *ic, const char *sql, int n, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if ((rc = sql_prep(ic, sql, &st)) != 0)
		return rc;
	va_start(ap, n);
	for (int i = 1; i <= n; i++)
		sqlite3_bind_text(st, i, va_arg(ap, const char *), -1,
				  SQLITE_TRANSIENT);
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "image: database: %s\n", sqlite3_errmsg(ic->s));
		return rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
	}
	return 0;
}

static void col_copy(sqlite3_stmt *st, int col, char *out, size_t outsz)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	snprintf(out, outsz, "%s", v ? (const char *)v : "");
}

/* By name, else by ID. 0, -ENOENT (message printed). */
static int image_find_q(struct image_ctx *ic, const char *name,
			struct image_row *r, int quiet)
{
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = sql_prep(ic, "SELECT i.id, i.name, i.size, i.pt_uuid, "
			   "i.identity, i.content_sha256, "
			   "i.production_version, "
			   "(SELECT MAX(version) FROM versions v "
			   " WHERE v.image_id = i.id) "
			   "FROM images i WHERE i.name = ?1 OR i.id = ?1",
			   &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (!quiet)
			fprintf(stderr, "image: no image '%s' (see `linkboot image list`)\n",
				name);
		return -ENOENT;
	}
	col_copy(st, 0, r->id, sizeof(r->id));
	col_copy(st, 1, r->name, sizeof(r->name));
	r->size = (uint64_t)sqlite3_column_int64(st, 2);
	col_copy(st, 3, r->pt_uuid, sizeof(r->pt_uuid));
	col_copy(st, 4, r->identity, sizeof(r->identity));
	col_copy(st, 5, r->sha256, sizeof(r->sha256));
	r->production = (unsigned)sqlite3_column_int64(st, 6);
	r->latest = (unsigned)sqlite3_column_int64(st, 7);
	sqlite3_finalize(st);
	return 0;
}

static int image_find(struct image_ctx *ic, const char *name,
		      struct image_row *r)
{
	return image_find_q(ic, name, r, 0);
}

static int version_exists(struct image_ctx *ic, const char *id, unsigned v)
{
	sqlite3_stmt *st;
	int found;

	if (sql_prep(ic, "SELECT 1 FROM versions WHERE image_id = ? AND version = ?",
		     &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static void boot_dir(struct image_ctx *ic, const char *id, unsigned v,
		     char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/boot/%s/v%u", ic->cfg->state_dir, id, v);
}

/* Is a process that recorded a session still alive? */
static int pid_alive(int64_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/*
 * Live sessions on an image (version 0 = any), optionally only a MAC's.
 * Sessions of a server that died are not counted.
 */
static int sessions_live(struct image_ctx *ic, const char *id, unsigned v,
			 const char *mac, int print)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sql_prep(ic, "SELECT pid, peer, mac, version FROM sessions "
		     "WHERE image_id = ?1 AND (?2 = 0 OR version = ?2) "
		     "AND (?3 IS NULL OR mac = ?3)", &st) != 0)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	sqlite3_bind_text(st, 3, mac, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!pid_alive(sqlite3_column_int64(st, 0)))
			continue;
		n++;
		if (print)
			fprintf(stderr, "  in use: v%lld by %s%s%s\n",
				(long long)sqlite3_column_int64(st, 3),
				sqlite3_column_text(st, 1),
				sqlite3_column_text(st, 2) ? " " : "",
				sqlite3_column_text(st, 2) ?
				(const char *)sqlite3_column_text(st, 2) : "");
	}
	sqlite3_finalize(st);
	return n;
}

static void version_file_path(struct image_ctx *ic, const char *file,
			      char *out, size_t outsz)
{
	store_resolve(ic->cfg, file, out, outsz);
}

/* ---- add ---------------------------------------------------------------- */

struct add_opts {
	int mode;
	const char *kernel, *initrd;
};

/* Kernel and initrd of a version, from the view in `raw` (a raw image). */
static int version_boot_files(struct image_ctx *ic, const char *id,
			      unsigned v, const char *raw,
			      const struct store_identity *ident,
			      const char *kernel, const char *initrd,
			      char kver[64])
{
	struct store_boot b;
	char dir[STORE_PATH_MAX];
	int rc, found;

	kver[0] = '\0';
	found = ext4_find_boot(raw, ident, &b) == 0;
	if (!found && (kernel || initrd) && !(kernel && initrd)) {
		fprintf(stderr, "image: no /boot/vmlinuz-<kver> with a matching "
			"lib/modules/<kver> in v%u to pair with --%s: give both "
			"--kernel FILE and --initrd FILE\n", v,
			kernel ? "kernel" : "initrd");
		return -ENOENT;
	}
	if (!found && !(kernel && initrd)) {
		/* an initrd needs the image's own modules, a kernel its file;
		 * without them the image still serves VMs and tools over NBD
		 * (and, later, non-Linux clients), PXE clients get a screen */
		fprintf(stderr, "image: warning: no /boot/vmlinuz-<kver> with a "
			"matching lib/modules/<kver> in v%u: PXE clients of it "
			"cannot boot until a version has one (or give --kernel "
			"FILE --initrd FILE); NBD clients can use it now\n", v);
		return 0;
	}
	if (found)
		snprintf(kver, 64, "%s", b.kver);
	boot_dir(ic, id, v, dir, sizeof(dir));
	rc = ext4_extract_boot(raw, ident, found ? &b : NULL, dir, kernel,
			       initrd);
	if (rc) {
		fprintf(stderr, "image: kernel/initrd for v%u: %s\n", v,
			strerror(-rc));
		return rc;
	}
	if (found)
		printf("v%u: kernel %s (%s)%s\n", v, b.kernel, b.kver,
		       initrd ? "" : ", initramfs built from its modules");
	return 0;
}

static int hash_raw(struct image_ctx *ic, const char *id, unsigned v,
		    const char *raw, char sha[65])
{
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 16];
	struct vchain *c;
	int rc;

	boot_dir(ic, id, v, dir, sizeof(dir));
	if ((rc = ext4_mkdirs(dir)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/hashes", dir);
	if ((rc = vchain_open(raw, NULL, 0, &c)) != 0)
		return rc;
	rc = store_hash_view(c, path, sha);
	vchain_close(c);
	if (rc == 0 && hashidx_write(path) != 0)	/* agents do without */
		fprintf(stderr, "image: %s.idx not written\n", path);
	return rc;
}

/* Insert a versions row; kernel/initrd/hashes are the served paths. */
static int version_insert(struct image_ctx *ic, const char *id, unsigned v,
			  unsigned parent, const char *file, const char *kver,
			  const char *note)
{
	char vs[16], ps[16], k[128], i[128], h[128], now[24];

	snprintf(vs, sizeof(vs), "%u", v);
	snprintf(ps, sizeof(ps), "%u", parent);
	char path[STORE_PATH_MAX + 160];
	int has_boot;

	snprintf(k, sizeof(k), "boot/%s/v%u/vmlinuz", id, v);
	snprintf(i, sizeof(i), "boot/%s/v%u/initrd.img", id, v);
	snprintf(h, sizeof(h), "boot/%s/v%u/hashes", id, v);
	/* a version without a kernel (see version_boot_files) has none */
	snprintf(path, sizeof(path), "%s/%s", ic->cfg->state_dir, k);
	has_boot = access(path, R_OK) == 0;
	iso_now(now);
	return sql_exec(ic, "INSERT INTO versions(image_id, version, parent, "
			"file, state, kernel, initrd, kver, hashes, created, note) "
			"VALUES(?1, ?2, ?3, ?4, 'production', ?5, ?6, ?7, ?8, ?9, ?10)",
			10, id, vs, parent ? ps : NULL, file,
			has_boot ? k : NULL, has_boot ? i : NULL,
			kver[0] ? kver : NULL, h, now, note);
}

static void rm_tree(const char *dir);

/* Container formats we do not serve: name them and the conversion. */
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

static int add_parse(int argc, char **argv, struct add_opts *o)
{
	int n = 1;

	memset(o, 0, sizeof(*o));
	o->mode = IMPORT_COPY;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--copy"))
			o->mode = IMPORT_COPY;
		else if (!strcmp(argv[i], "--reflink"))
			o->mode = IMPORT_REFLINK;
		else if (!strcmp(argv[i], "--move"))
			o->mode = IMPORT_MOVE;
		else if (!strcmp(argv[i], "--in-place"))
			o->mode = IMPORT_IN_PLACE;
		else if (!strcmp(argv[i], "--kernel") && i + 1 < argc)
			o->kernel = argv[++i];
		else if (!strcmp(argv[i], "--initrd") && i + 1 < argc)
			o->initrd = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "image add: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		} else {
			argv[n++] = argv[i];
		}
	}
	if (n != 3) {
		fprintf(stderr, "Usage: linkboot image add NAME FILE "
			"[--reflink|--move|--in-place] [--kernel F --initrd F]\n");
		return -EINVAL;
	}
	return 0;
}

static int image_add(struct image_ctx *ic, int argc, char **argv)
{
	struct store_identity ident;
	struct image_row r;
	struct add_opts o;
	char id[STORE_ID_LEN + 1], final[STORE_PATH_MAX], file[STORE_PATH_MAX];
	char identity[1024], sha[65], kver[64], now[24], size[24], bdir[STORE_PATH_MAX];
	const char *name, *src, *fmt;
	struct stat st;
	int rc;

	if (add_parse(argc, argv, &o) != 0)
		return EXIT_USAGE;
	name = argv[1];
	src = argv[2];
	if (!name_ok(name)) {
		fprintf(stderr, "image add: bad name '%s': use letters, digits, "
			"'.', '_', '-' (at most 63)\n", name);
		return EXIT_USAGE;
	}
	if (stat(src, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		fprintf(stderr, "image add: %s: %s\n", src,
			errno ? strerror(errno) : "not a regular, non-empty file");
		return 1;
	}
	if ((fmt = container_format(src)) != NULL) {
		fprintf(stderr, "image add: %s is a %s file; linkboot serves raw "
			"disk images:\n  qemu-img convert -O raw %s IMAGE.raw\n",
			src, fmt, src);
		return 1;
	}
	if ((rc = image_find_q(ic, name, &r, 1)) == 0) {
		fprintf(stderr, "image add: an image named '%s' exists (id %s)\n",
			name, r.id);
		return 1;
	}
	if ((rc = store_mkdir(ic->cfg)) != 0 || (rc = store_new_id(id)) != 0) {
		fprintf(stderr, "image add: store %s: %s\n", ic->store,
			strerror(-rc));
		return 1;
	}
	if (o.mode == IMPORT_IN_PLACE) {
		if (!realpath(src, final)) {
			fprintf(stderr, "image add: %s: %s\n", src, strerror(errno));
			return 1;
		}
		snprintf(file, sizeof(file), "%s", final);
	} else {
		snprintf(file, sizeof(file), "%s.v1.raw", id);
		store_file_path(ic->cfg, id, 1, "raw", final, sizeof(final));
	}
	if ((rc = store_import(src, final, o.mode)) != 0) {
		fprintf(stderr, "image add: import %s -> %s: %s\n", src, final,
			strerror(-rc));
		return 1;
	}
	if ((rc = store_probe_identity(final, &ident)) != 0)
		goto undo;
	store_identity_string(&ident, identity, sizeof(identity));
	if ((rc = hash_raw(ic, id, 1, final, sha)) != 0) {
		fprintf(stderr, "image add: hashing %s: %s\n", final, strerror(-rc));
		goto undo;
	}
	if ((rc = version_boot_files(ic, id, 1, final, &ident, o.kernel,
				     o.initrd, kver)) != 0)
		goto undo;
	iso_now(now);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)ident.size);
	if ((rc = sql_exec(ic, "BEGIN IMMEDIATE", 0)) != 0)
		goto undo;
	rc = sql_exec(ic, "INSERT INTO images(id, name, size, pt_type, pt_uuid, "
		      "identity, content_sha256, production_version, created) "
		      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8)", 8, id, name,
		      size, ident.pt_type[0] ? ident.pt_type : NULL,
		      ident.pt_uuid[0] ? ident.pt_uuid : NULL, identity, sha, now);
	if (rc == 0)
		rc = version_insert(ic, id, 1, 0, file, kver, "imported");
	if (rc == 0)
		rc = sql_exec(ic, "COMMIT", 0);
	if (rc) {
		sql_exec(ic, "ROLLBACK", 0);
		goto undo;
	}
	printf("image %s: id %s, %llu bytes, %s%s%s, partitions %s\n"
	       "  sha256 %s\n  file %s\n", name, id,
	       (unsigned long long)ident.size,
	       ident.pt_type[0] ? ident.pt_type : "no partition table",
	       ident.pt_uuid[0] ? " " : "", ident.pt_uuid,
	       identity[0] ? identity : "-", sha, final);
	return 0;
undo:
	/* leave the source as it was */
	if (o.mode == IMPORT_MOVE)
		rename(final, src);
	else if (o.mode != IMPORT_IN_PLACE)
		unlink(final);
	snprintf(bdir, sizeof(bdir), "%s/boot/%s", ic->cfg->state_dir, id);
	rm_tree(bdir);
	return 1;
}

/* ---- list, versions ----------------------------------------------------- */

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int json_opt(int argc, char **argv, int *json)
{
	int n = 1;

	*json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strncmp(argv[i], "--json", 6))
			*json = 1;
		else
			argv[n++] = argv[i];
	}
	return n;
}

/* Does every file of a version's chain exist? */
static int chain_missing(struct image_ctx *ic, const char *id, unsigned v,
			 char *first_missing, size_t sz)
{
	struct store_chain *ch = malloc(sizeof(*ch));
	struct stat st;
	int missing = 0;

	if (!ch)
		return 0;
	if (store_chain_load(ic->s, ic->cfg->store_dir, ic->cfg->state_dir, id,
			     v, ch) != 0) {
		free(ch);
		return 1;
	}
	for (unsigned i = 0; i < ch->n && !missing; i++) {
		if (stat(ch->files[i], &st) < 0 || !S_ISREG(st.st_mode)) {
			missing = 1;
			if (first_missing)
				snprintf(first_missing, sz, "%s", ch->files[i]);
		}
	}
	free(ch);
	return missing;
}

static int image_list(struct image_ctx *ic, int argc, char **argv)
{
	sqlite3_stmt *st;
	int json, n = 0, missing_any = 0;

	if (json_opt(argc, argv, &json) != 1) {
		fprintf(stderr, "Usage: linkboot image list [-j|--json]\n");
		return EXIT_USAGE;
	}
	if (sql_prep(ic, "SELECT i.name, i.id, i.size, i.production_version, "
		     "i.test_version, (SELECT COUNT(*) FROM versions v WHERE "
		     "v.image_id = i.id), (SELECT COUNT(*) FROM clients c WHERE "
		     "c.image_id = i.id), i.pt_type, i.pt_uuid "
		     "FROM images i ORDER BY i.name", &st) != 0)
		return 1;
	if (json)
		putchar('[');
	else
		printf("%-20s %-16s %12s %5s %4s %4s %7s %s\n", "NAME", "ID",
		       "SIZE", "VERS", "PROD", "TEST", "CLIENTS", "STATE");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *id = (const char *)sqlite3_column_text(st, 1);
		unsigned prod = (unsigned)sqlite3_column_int64(st, 3);
		int missing = chain_missing(ic, id, prod, NULL, 0);

		missing_any |= missing;
		if (json) {
			printf("%s{\"name\":", n ? "," : "");
			json_str(name);
			printf(",\"id\":");
			json_str(id);
			printf(",\"size\":%lld,\"production_version\":%u,"
			       "\"test_version\":%lld,\"versions\":%d,"
			       "\"clients\":%d,\"pt_type\":",
			       (long long)sqlite3_column_int64(st, 2), prod,
			       (long long)sqlite3_column_int64(st, 4),
			       sqlite3_column_int(st, 5),
			       sqlite3_column_int(st, 6));
			json_str((const char *)sqlite3_column_text(st, 7));
			printf(",\"pt_uuid\":");
			json_str((const char *)sqlite3_column_text(st, 8));
			printf(",\"missing\":%s}", missing ? "true" : "false");
		} else {
			char test[16] = "-";

			if (sqlite3_column_type(st, 4) != SQLITE_NULL)
				snprintf(test, sizeof(test), "v%lld",
					 (long long)sqlite3_column_int64(st, 4));
			printf("%-20s %-16s %12lld %5d   v%-2u %4s %7d %s\n", name,
			       id, (long long)sqlite3_column_int64(st, 2),
			       sqlite3_column_int(st, 5), prod, test,
			       sqlite3_column_int(st, 6),
			       missing ? "MISSING" : "ok");
		}
		n++;
	}
	sqlite3_finalize(st);
	if (json)
		printf("]\n");
	else
		printf("\n%d image%s\n", n, n == 1 ? "" : "s");
	if (missing_any)
		fprintf(stderr, "image files are missing: if they were moved, run "
			"`linkboot image repair --scan DIR`\n");
	return 0;
}

static int image_versions(struct image_ctx *ic, int argc, char **argv)
{
	struct image_row r;
	sqlite3_stmt *st;
	int json, n = 0, missing_any = 0;

	if (json_opt(argc, argv, &json) != 2) {
		fprintf(stderr, "Usage: linkboot image versions NAME [-j|--json]\n");
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	if (sql_prep(ic, "SELECT version, parent, file, state, kver, created, "
		     "note FROM versions WHERE image_id = ? ORDER BY version",
		     &st) != 0)
		return 1;
	sqlite3_bind_text(st, 1, r.id, -1, SQLITE_STATIC);
	if (json)
		putchar('[');
	else
		printf("%-4s %-6s %-11s %-20s %-10s %-5s %-7s %s\n", "VER", "PARENT",
		       "STATE", "KERNEL", "CHANGED", "USERS", "FILE", "CREATED");
	while (sqlite3_step(st) == SQLITE_ROW) {
		unsigned v = (unsigned)sqlite3_column_int64(st, 0);
		int is_delta = sqlite3_column_type(st, 1) != SQLITE_NULL;
		char path[STORE_PATH_MAX], changed[32] = "raw", pointer[32] = "";
		const char *kver = (const char *)sqlite3_column_text(st, 4);
		int users = sessions_live(ic, r.id, v, NULL, 0);
		int missing = chain_missing(ic, r.id, v, NULL, 0);
		uint64_t blocks = 0;

		missing_any |= missing;
		version_file_path(ic, (const char *)sqlite3_column_text(st, 2),
				  path, sizeof(path));
		if (is_delta && delta_count_blocks(path, &blocks) == 0)
			snprintf(changed, sizeof(changed), "%lluK",
				 (unsigned long long)(blocks * DELTA_BLOCK_SIZE >> 10));
		if (v == r.production)
			snprintf(pointer, sizeof(pointer), " (production)");
		if (json) {
			printf("%s{\"version\":%u,\"parent\":", n ? "," : "", v);
			if (is_delta)
				printf("%lld", (long long)sqlite3_column_int64(st, 1));
			else
				printf("null");
			printf(",\"state\":");
			json_str((const char *)sqlite3_column_text(st, 3));
			printf(",\"kver\":");
			json_str(kver);
			printf(",\"changed_bytes\":%llu,\"users\":%d,"
			       "\"production\":%s,\"missing\":%s,\"file\":",
			       (unsigned long long)(blocks * DELTA_BLOCK_SIZE),
			       users, v == r.production ? "true" : "false",
			       missing ? "true" : "false");
			json_str(path);
			printf(",\"created\":");
			json_str((const char *)sqlite3_column_text(st, 5));
			printf("}");
		} else {
			char parent[16] = "-";

			if (is_delta)
				snprintf(parent, sizeof(parent), "v%lld",
					 (long long)sqlite3_column_int64(st, 1));
			printf("v%-3u %-6s %-11s %-20s %-10s %-5d %-7s %s%s\n", v,
			       parent, sqlite3_column_text(st, 3),
			       kver ? kver : "-", changed, users,
			       missing ? "MISSING" : "ok",
			       sqlite3_column_text(st, 5), pointer);
		}
		n++;
	}
	sqlite3_finalize(st);
	if (json)
		printf("]\n");
	if (missing_any)
		fprintf(stderr, "image files are missing: if they were moved, run "
			"`linkboot image repair --scan DIR`\n");
	return 0;
}

/* ---- set, rename -------------------------------------------------------- */

static int parse_version_arg(const char *s, unsigned *v)
{
	uint64_t x;

	if (*s == 'v')
		s++;
	if (parse_u64(s, 1, 1000000, &x) != 0)
		return -EINVAL;
	*v = (unsigned)x;
	return 0;
}

static int set_column(struct image_ctx *ic, const struct image_row *r,
		      const char *col, const char *val)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "UPDATE images SET %s = ?1 WHERE id = ?2", col);
	return sql_exec(ic, sql, 2, val, r->id);
}

static int set_mark(struct image_ctx *ic, const struct image_row *r,
		    const char *arg)
{
	const char *eq = strchr(arg, '=');
	char vs[16];
	unsigned v;

	if (!eq || (size_t)(eq - arg) >= sizeof(vs)) {
		fprintf(stderr, "image set: --mark VERSION=maintenance|test|production\n");
		return -EINVAL;
	}
	memcpy(vs, arg, (size_t)(eq - arg));
	vs[eq - arg] = '\0';
	if (parse_version_arg(vs, &v) != 0 || !version_exists(ic, r->id, v)) {
		fprintf(stderr, "image set: %s has no version '%s'\n", r->name, vs);
		return -EINVAL;
	}
	if (strcmp(eq + 1, "maintenance") && strcmp(eq + 1, "test") &&
	    strcmp(eq + 1, "production")) {
		fprintf(stderr, "image set: state '%s': maintenance, test or production\n",
			eq + 1);
		return -EINVAL;
	}
	snprintf(vs, sizeof(vs), "%u", v);
	return sql_exec(ic, "UPDATE versions SET state = ?1 WHERE image_id = ?2 "
			"AND version = ?3", 3, eq + 1, r->id, vs);
}

static int set_version_ptr(struct image_ctx *ic, const struct image_row *r,
			   const char *col, const char *arg)
{
	char vs[16];
	unsigned v;

	if (parse_version_arg(arg, &v) != 0 || !version_exists(ic, r->id, v)) {
		fprintf(stderr, "image set: %s has no version '%s' "
			"(see `linkboot image versions %s`)\n", r->name, arg,
			r->name);
		return -EINVAL;
	}
	snprintf(vs, sizeof(vs), "%u", v);
	return set_column(ic, r, col, vs);
}

static int image_set(struct image_ctx *ic, int argc, char **argv)
{
	struct image_row r;
	int rc = 0, changes = 0;
	uint64_t x;

	if (argc < 3 || argv[1][0] == '-') {
		fprintf(stderr, "%s", usage);
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	if (sql_exec(ic, "BEGIN IMMEDIATE", 0) != 0)
		return 1;
	for (int i = 2; i < argc && rc == 0; i += 2, changes++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			fprintf(stderr, "image set: %s needs a value\n", opt);
			rc = -EINVAL;
		} else if (!strcmp(opt, "--ram-cache")) {
			if (parse_u64(val, 0, 1 << 20, &x) != 0) {
				fprintf(stderr, "image set: --ram-cache MiB: '%s'\n", val);
				rc = -EINVAL;
			} else {
				rc = set_column(ic, &r, "ram_cache_mib", val);
			}
		} else if (!strcmp(opt, "--write")) {
			if (strcmp(val, "ram") && strcmp(val, "disk") &&
			    strcmp(val, "server") && strcmp(val, "super")) {
				fprintf(stderr, "image set: --write ram|disk|server|super\n");
				rc = -EINVAL;
			} else {
				rc = set_column(ic, &r, "write_mode", val);
			}
		} else if (!strcmp(opt, "--ssd-cache")) {
			if (strcmp(val, "off") && strcmp(val, "auto") &&
			    parse_u64(val, 1, 1 << 24, &x) != 0) {
				fprintf(stderr, "image set: --ssd-cache MiB|auto|off\n");
				rc = -EINVAL;
			} else {
				rc = set_column(ic, &r, "ssd_cache", val);
			}
		} else if (!strcmp(opt, "--rootfs")) {
			rc = set_column(ic, &r, "root", val);
		} else if (!strcmp(opt, "--cmdline")) {
			rc = set_column(ic, &r, "cmdline", val);
		} else if (!strcmp(opt, "--mark")) {
			rc = set_mark(ic, &r, val);
		} else if (!strcmp(opt, "--test-group")) {
			rc = set_column(ic, &r, "test_group", val);
		} else if (!strcmp(opt, "--test-version")) {
			rc = set_version_ptr(ic, &r, "test_version", val);
		} else if (!strcmp(opt, "--production")) {
			rc = set_version_ptr(ic, &r, "production_version", val);
		} else {
			fprintf(stderr, "image set: unknown option '%s'\n", opt);
			rc = -EINVAL;
		}
	}
	if (rc || sql_exec(ic, "COMMIT", 0) != 0) {
		sql_exec(ic, "ROLLBACK", 0);
		return rc == -EINVAL ? EXIT_USAGE : 1;
	}
	printf("image %s: %d setting%s changed\n", r.name, changes,
	       changes == 1 ? "" : "s");
	return 0;
}

static int image_rename(struct image_ctx *ic, int argc, char **argv)
{
	struct image_row r;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "Usage: linkboot image rename OLD NEW\n");
		return EXIT_USAGE;
	}
	if (!name_ok(argv[2])) {
		fprintf(stderr, "image rename: bad name '%s'\n", argv[2]);
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	rc = sql_exec(ic, "UPDATE images SET name = ?1 WHERE id = ?2", 2,
		      argv[2], r.id);
	if (rc == -EEXIST)
		fprintf(stderr, "image rename: '%s' is taken\n", argv[2]);
	if (rc)
		return 1;
	printf("image %s is now %s (id %s; links unchanged)\n", r.name, argv[2],
	       r.id);
	return 0;
}

/* ---- rm ----------------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Print the clients linked to an image; their number. */
static int linked_clients(struct image_ctx *ic, const char *id, int print)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sql_prep(ic, "SELECT mac, name FROM clients WHERE image_id = ?1 "
		     "UNION SELECT 'group', name FROM groups WHERE image_id = ?1",
		     &st) != 0)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (print)
			fprintf(stderr, "  linked: %s %s\n",
				sqlite3_column_text(st, 0),
				sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static int image_rm(struct image_ctx *ic, int argc, char **argv)
{
	char path[STORE_PATH_MAX + 64];
	struct image_row r;
	sqlite3_stmt *st;
	int force = 0, n = 0, linked, busy;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			force = 1;
		else
			argv[++n] = argv[i];
	}
	if (n != 1) {
		fprintf(stderr, "Usage: linkboot image rm NAME [--force]\n");
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	/* a version in use is never deleted, --force or not */
	busy = sessions_live(ic, r.id, 0, NULL, 0);
	if (busy > 0) {
		fprintf(stderr, "image rm: %s is in use by %d live session%s:\n",
			r.name, busy, busy == 1 ? "" : "s");
		sessions_live(ic, r.id, 0, NULL, 1);
		fprintf(stderr, "shut those clients down first\n");
		return 1;
	}
	linked = linked_clients(ic, r.id, 0);
	if (linked > 0 && !force) {
		fprintf(stderr, "image rm: %s is linked to %d client%s/group%s:\n",
			r.name, linked, linked == 1 ? "" : "s",
			linked == 1 ? "" : "s");
		linked_clients(ic, r.id, 1);
		fprintf(stderr, "link them to another image (`linkboot client set "
			"MAC --image OTHER`) or use --force to unlink them\n");
		return 1;
	}
	if (sql_exec(ic, "BEGIN IMMEDIATE", 0) != 0)
		return 1;
	if (sql_exec(ic, "UPDATE clients SET image_id = NULL, version = NULL "
		     "WHERE image_id = ?1", 1, r.id) ||
	    sql_exec(ic, "UPDATE groups SET image_id = NULL WHERE image_id = ?1",
		     1, r.id) ||
	    sql_prep(ic, "SELECT file FROM versions WHERE image_id = ?", &st)) {
		sql_exec(ic, "ROLLBACK", 0);
		return 1;
	}
	sqlite3_bind_text(st, 1, r.id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *file = (const char *)sqlite3_column_text(st, 0);

		/* an --in-place file is the admin's, not ours to delete */
		if (!file || file[0] == '/')
			continue;
		version_file_path(ic, file, path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("image rm: %s", path);
	}
	sqlite3_finalize(st);
	if (sql_exec(ic, "DELETE FROM versions WHERE image_id = ?1", 1, r.id) ||
	    sql_exec(ic, "DELETE FROM images WHERE id = ?1", 1, r.id) ||
	    sql_exec(ic, "COMMIT", 0)) {
		sql_exec(ic, "ROLLBACK", 0);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/boot/%s", ic->cfg->state_dir, r.id);
	rm_tree(path);
	snprintf(path, sizeof(path), "%s/overlays/super-%s.ovl",
		 ic->cfg->state_dir, r.id);
	unlink(path);
	printf("image %s removed%s\n", r.name,
	       linked > 0 ? " (its clients are unlinked)" : "");
	return 0;
}

/* ---- commit, merge, rollback -------------------------------------------- */

/*
 * ext4 superblock (1024 bytes in): s_state at 0x3a (EXT2_VALID_FS = 1),
 * s_feature_incompat at 0x60 (EXT3_FEATURE_INCOMPAT_RECOVER = 0x4: the
 * journal holds transactions, i.e. not unmounted cleanly).
 */
static int fs_needs_recovery(const char *raw, const struct store_part *p)
{
	uint8_t sb[0x64];
	int fd = open(raw, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, sb, sizeof(sb), (off_t)(p->off + 1024));
	close(fd);
	if (n != (ssize_t)sizeof(sb))
		return 0;
	return (sb[0x60] & 0x4) || !(sb[0x3a] & 0x1);
}

/* e2fsck -fn on every ext partition of a raw file: clean = 0. */
static int fs_clean(const char *raw, const struct store_identity *ident)
{
	for (unsigned i = 0; i < ident->nparts; i++) {
		const struct store_part *p = &ident->parts[i];
		char dev[STORE_PATH_MAX + 48];
		int status;
		pid_t pid;

		if (strncmp(p->type, "ext", 3) != 0)
			continue;
		if (fs_needs_recovery(raw, p)) {
			fprintf(stderr, "image commit: partition %u (%s %s) was not "
				"unmounted cleanly (its journal needs recovery)\n",
				p->no, p->type, p->label);
			return -EUCLEAN;
		}
		/* e2fsprogs unix_io: "file?offset=N" opens a partition in place */
		snprintf(dev, sizeof(dev), "%s?offset=%llu", raw,
			 (unsigned long long)p->off);
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			if (null >= 0) {
				dup2(null, STDOUT_FILENO);
				dup2(null, STDERR_FILENO);
			}
			execlp("e2fsck", "e2fsck", "-fn", dev, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "image commit: partition %u (%s %s) is not "
				"clean (e2fsck -fn exit %d)\n", p->no, p->type,
				p->label, WIFEXITED(status) ?
				WEXITSTATUS(status) : -1);
			return -EUCLEAN;
		}
	}
	return 0;
}

/* Super client of an image (its MAC), if any. */
static void super_client(struct image_ctx *ic, const char *id, char mac[18])
{
	sqlite3_stmt *st;

	mac[0] = '\0';
	if (sql_prep(ic, "SELECT mac FROM clients WHERE image_id = ? AND super != 0",
		     &st) != 0)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		col_copy(st, 0, mac, 18);
	sqlite3_finalize(st);
}

static int move_file(const char *from, const char *to)
{
	if (rename(from, to) == 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	return store_import(from, to, IMPORT_MOVE);
}

static int image_commit(struct image_ctx *ic, int argc, char **argv)
{
	char ovl[STORE_PATH_MAX], tmp[STORE_PATH_MAX] = "", dst[STORE_PATH_MAX];
	char file[STORE_PATH_MAX], mac[18], sha[65], kver[64], bdir[STORE_PATH_MAX];
	const char *deltas[STORE_CHAIN_MAX + 1];
	struct store_identity ident;
	struct store_chain *ch = NULL;
	struct delta_hdr h;
	struct image_row r;
	struct vchain *c = NULL;
	unsigned next;
	int fd, rc = 1;

	if (argc != 2) {
		fprintf(stderr, "Usage: linkboot image commit NAME\n");
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	snprintf(ovl, sizeof(ovl), "%s/overlays/super-%s.ovl", ic->cfg->state_dir,
		 r.id);
	if ((fd = open(ovl, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "image commit: %s has no super client writes (%s);\n"
			"  make a client super (`linkboot client super MAC on`), "
			"boot it, change the image, shut it down\n", r.name, ovl);
		return 1;
	}
	/* the NBD server holds this lock while the super client is attached */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		fprintf(stderr, "image commit: the super client of %s is still "
			"connected: shut it down first\n", r.name);
		return 1;
	}
	rc = delta_read_hdr(fd, &h);
	if (rc || h.parent_version != r.latest) {
		close(fd);
		fprintf(stderr, "image commit: %s was made on v%u, the newest is v%u: "
			"not committed\n", ovl, rc ? 0 : h.parent_version, r.latest);
		return 1;
	}
	super_client(ic, r.id, mac);
	if (mac[0] && sessions_live(ic, r.id, 0, mac, 0) > 0) {
		close(fd);
		fprintf(stderr, "image commit: the super client %s is still "
			"connected: shut it down first\n", mac);
		return 1;
	}
	/* the merged view, flat, to check and read it like a disk */
	rc = 1;
	if (!(ch = malloc(sizeof(*ch))) ||
	    store_chain_load(ic->s, ic->cfg->store_dir, ic->cfg->state_dir, r.id,
			     r.latest, ch) != 0) {
		fprintf(stderr, "image commit: cannot resolve %s v%u\n", r.name,
			r.latest);
		goto out;
	}
	for (unsigned i = 1; i < ch->n; i++)
		deltas[i - 1] = ch->files[i];
	deltas[ch->n - 1] = ovl;
	snprintf(tmp, sizeof(tmp), "%s/commit-%s.raw", ic->cfg->state_dir, r.id);
	unlink(tmp);
	if (vchain_open(ch->files[0], deltas, ch->n, &c) != 0 ||
	    vchain_export_raw(c, tmp, 0) != 0) {
		fprintf(stderr, "image commit: cannot read %s v%u + %s\n", r.name,
			r.latest, ovl);
		goto out;
	}
	if (store_probe_identity(tmp, &ident) != 0 || fs_clean(tmp, &ident) != 0) {
		fprintf(stderr, "image commit: refused: the file system must be "
			"clean so clients never replay a journal;\n  boot the super "
			"client again and shut it down cleanly\n");
		goto out;
	}
	next = r.latest + 1;
	if (hash_raw(ic, r.id, next, tmp, sha) != 0 ||
	    version_boot_files(ic, r.id, next, tmp, &ident, NULL, NULL, kver) != 0)
		goto out_boot;
	snprintf(file, sizeof(file), "%s.v%u.delta", r.id, next);
	store_file_path(ic->cfg, r.id, next, "delta", dst, sizeof(dst));
	if (move_file(ovl, dst) != 0) {
		fprintf(stderr, "image commit: %s -> %s: %s\n", ovl, dst,
			strerror(errno));
		goto out_boot;
	}
	if (sql_exec(ic, "BEGIN IMMEDIATE", 0) ||
	    version_insert(ic, r.id, next, r.latest, file, kver, "commit") ||
	    sql_exec(ic, "UPDATE images SET production_version = "
		     "(SELECT MAX(version) FROM versions WHERE image_id = ?1) "
		     "WHERE id = ?1", 1, r.id) ||
	    sql_exec(ic, "COMMIT", 0)) {
		sql_exec(ic, "ROLLBACK", 0);
		move_file(dst, ovl);
		goto out_boot;
	}
	printf("image %s: v%u committed (delta on v%u) and is production; "
	       "`linkboot image rollback %s` goes back\n", r.name, next, r.latest,
	       r.name);
	bootpack_after_commit(ic->cfg, ic->s, r.id, r.name, next, r.latest);
	rc = 0;
	goto out;
out_boot:
	boot_dir(ic, r.id, next, bdir, sizeof(bdir));
	rm_tree(bdir);
out:
	vchain_close(c);
	if (tmp[0])
		unlink(tmp);
	free(ch);
	close(fd);	/* drops the lock */
	return rc;
}

static int prune_versions(struct image_ctx *ic, const struct image_row *r);

static int image_merge(struct image_ctx *ic, int argc, char **argv)
{
	char dst[STORE_PATH_MAX], file[STORE_PATH_MAX], sha[65], kver[64];
	char bdir[STORE_PATH_MAX];
	struct store_identity ident;
	struct store_chain *ch;
	struct image_row r;
	struct vchain *c = NULL;
	unsigned next;
	int rc = 1, prune = 0;

	if (argc == 3 && !strcmp(argv[2], "--prune")) {
		prune = 1;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "Usage: linkboot image merge NAME [--prune]\n");
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	if (!(ch = malloc(sizeof(*ch))))
		return 1;
	if (store_chain_load(ic->s, ic->cfg->store_dir, ic->cfg->state_dir, r.id,
			     r.latest, ch) != 0 || store_chain_open(ch, &c) != 0) {
		fprintf(stderr, "image merge: cannot open %s v%u\n", r.name, r.latest);
		goto out;
	}
	if (ch->n == 1) {
		printf("image %s: v%u is already a raw version\n", r.name, r.latest);
		rc = 0;
		goto out;
	}
	next = r.latest + 1;
	/* new files only: clients on the old chain keep reading it */
	store_file_path(ic->cfg, r.id, next, "raw", dst, sizeof(dst));
	snprintf(file, sizeof(file), "%s.v%u.raw", r.id, next);
	if (vchain_export_raw(c, dst, 1) != 0) {
		fprintf(stderr, "image merge: writing %s failed\n", dst);
		goto out;
	}
	if (store_probe_identity(dst, &ident) != 0 ||
	    hash_raw(ic, r.id, next, dst, sha) != 0 ||
	    version_boot_files(ic, r.id, next, dst, &ident, NULL, NULL, kver) != 0)
		goto out_undo;
	if (sql_exec(ic, "BEGIN IMMEDIATE", 0) ||
	    version_insert(ic, r.id, next, 0, file, kver, "merge") ||
	    (r.production == r.latest &&
	     sql_exec(ic, "UPDATE images SET production_version = "
		      "(SELECT MAX(version) FROM versions WHERE image_id = ?1) "
		      "WHERE id = ?1", 1, r.id)) ||
	    sql_exec(ic, "COMMIT", 0)) {
		sql_exec(ic, "ROLLBACK", 0);
		goto out_undo;
	}
	printf("image %s: v%u = v%u flattened into one raw file (%u files -> 1)%s\n",
	       r.name, next, r.latest, ch->n,
	       r.production == r.latest ? "; it is production" : "");
	rc = 0;
	if (prune) {
		char id[40];

		/* re-read: production and latest moved */
		snprintf(id, sizeof(id), "%s", r.id);
		if (image_find(ic, id, &r) != 0 || prune_versions(ic, &r) != 0)
			rc = 1;
	}
	goto out;
out_undo:
	unlink(dst);
	boot_dir(ic, r.id, next, bdir, sizeof(bdir));
	rm_tree(bdir);
out:
	vchain_close(c);
	free(ch);
	return rc;
}

static int image_rollback(struct image_ctx *ic, int argc, char **argv)
{
	struct image_row r;
	sqlite3_stmt *st;
	char vs[16];
	unsigned v = 0;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "Usage: linkboot image rollback NAME [VERSION]\n");
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	if (argc == 3) {
		if (parse_version_arg(argv[2], &v) != 0 ||
		    !version_exists(ic, r.id, v)) {
			fprintf(stderr, "image rollback: %s has no version '%s'\n",
				r.name, argv[2]);
			return 1;
		}
	} else {
		/* the newest version before production not in maintenance */
		if (sql_prep(ic, "SELECT MAX(version) FROM versions WHERE "
			     "image_id = ? AND version < ? AND state != "
			     "'maintenance'", &st) != 0)
			return 1;
		sqlite3_bind_text(st, 1, r.id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, r.production);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = (unsigned)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (v == 0) {
			fprintf(stderr, "image rollback: %s has no version before v%u\n",
				r.name, r.production);
			return 1;
		}
	}
	if (chain_missing(ic, r.id, v, NULL, 0)) {
		fprintf(stderr, "image rollback: files of %s v%u are missing "
			"(`linkboot image repair --scan DIR`)\n", r.name, v);
		return 1;
	}
	snprintf(vs, sizeof(vs), "%u", v);
	if (set_column(ic, &r, "production_version", vs) != 0)
		return 1;
	/* kernel + initrd are per version: v's own, never another's modules */
	printf("image %s: production is v%u (was v%u); clients boot it at "
	       "their next boot\n", r.name, v, r.production);
	return 0;
}

/* ---- prune -------------------------------------------------------------- */

#define PRUNE_MAX_VERSIONS 4096

/* Mark v and its ancestors as needed. */
static void prune_keep(struct image_ctx *ic, const char *id, unsigned v,
		       uint8_t *keep)
{
	struct store_chain *ch = malloc(sizeof(*ch));

	if (!ch)
		return;
	if (v && v < PRUNE_MAX_VERSIONS &&
	    store_chain_load(ic->s, ic->cfg->store_dir, ic->cfg->state_dir, id,
			     v, ch) == 0)
		for (unsigned i = 0; i < ch->n; i++)
			if (ch->versions[i] < PRUNE_MAX_VERSIONS)
				keep[ch->versions[i]] = 1;
	free(ch);
}

/* Versions someone may still read: roots of what to keep. */
static int prune_roots(struct image_ctx *ic, const struct image_row *r,
		       uint8_t *keep)
{
	static const char *const sql[] = {
		"SELECT production_version FROM images WHERE id = ?1",
		"SELECT test_version FROM images WHERE id = ?1",
		"SELECT version FROM clients WHERE image_id = ?1",
		"SELECT overlay_base FROM clients WHERE image_id = ?1",
	};
	sqlite3_stmt *st;

	prune_keep(ic, r->id, r->latest, keep);
	for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
		if (sql_prep(ic, sql[i], &st) != 0)
			return -EIO;
		sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW)
			prune_keep(ic, r->id,
				   (unsigned)sqlite3_column_int64(st, 0), keep);
		sqlite3_finalize(st);
	}
	/* live sessions: a reconnect must find its files again */
	if (sql_prep(ic, "SELECT pid, version FROM sessions WHERE image_id = ?1",
		     &st) != 0)
		return -EIO;
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (pid_alive(sqlite3_column_int64(st, 0)))
			prune_keep(ic, r->id,
				   (unsigned)sqlite3_column_int64(st, 1), keep);
	sqlite3_finalize(st);
	return 0;
}

/* Remove the versions of r nobody needs: files, boot files, rows. */
static int prune_versions(struct image_ctx *ic, const struct image_row *r)
{
	uint8_t *keep = calloc(PRUNE_MAX_VERSIONS, 1);
	char path[STORE_PATH_MAX + 64], vs[16];
	sqlite3_stmt *st;
	unsigned removed = 0;
	int rc;

	if (!keep)
		return -ENOMEM;
	if ((rc = prune_roots(ic, r, keep)) != 0 ||
	    (rc = sql_prep(ic, "SELECT version, file FROM versions WHERE "
			   "image_id = ?1 ORDER BY version", &st)) != 0) {
		free(keep);
		return rc;
	}
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		unsigned v = (unsigned)sqlite3_column_int64(st, 0);
		const char *file = (const char *)sqlite3_column_text(st, 1);

		if (v >= PRUNE_MAX_VERSIONS || keep[v] || !file)
			continue;
		snprintf(vs, sizeof(vs), "%u", v);
		if (sql_exec(ic, "DELETE FROM versions WHERE image_id = ?1 AND "
			     "version = ?2", 2, r->id, vs) != 0)
			continue;
		/* an --in-place file is the admin's, not ours to delete */
		if (file[0] != '/') {
			version_file_path(ic, file, path, sizeof(path));
			unlink(path);
		}
		boot_dir(ic, r->id, v, path, sizeof(path));
		rm_tree(path);
		printf("image %s: v%u removed\n", r->name, v);
		removed++;
	}
	sqlite3_finalize(st);
	free(keep);
	if (!removed)
		printf("image %s: every version is still needed\n", r->name);
	return 0;
}

static int image_prune(struct image_ctx *ic, int argc, char **argv)
{
	struct image_row r;

	if (argc != 2) {
		fprintf(stderr, "Usage: linkboot image prune NAME\n");
		return EXIT_USAGE;
	}
	if (image_find(ic, argv[1], &r) != 0)
		return 1;
	return prune_versions(ic, &r) == 0 ? 0 : 1;
}

/* ---- repair ------------------------------------------------------------- */

/*
 * A version whose file is gone, and what it must match: v1 by identity
 * and content hash (it may have been renamed); later versions (deltas,
 * merged raw files, always made by us) by their store name, size and, for
 * deltas, the header's parent version.
 */
struct repair_want {
	char image[64], id[40], file[STORE_PATH_MAX];
	char name[64];		/* store file name, "" for v1 */
	unsigned version, parent;	/* parent 0 = raw */
	uint64_t size;
	char pt_uuid[48], identity[1024], sha256[65];
	int found;
};

struct repair_scan {
	struct image_ctx *ic;
	struct repair_want *want;
	unsigned nwant;
	unsigned files;
};

static struct repair_scan *repair_state;	/* nftw has no user pointer */

static int repair_try(struct repair_want *w, const char *path)
{
	struct store_identity ident;
	char identity[1024], sha[65];

	if (store_probe_identity(path, &ident) != 0)
		return 0;
	store_identity_string(&ident, identity, sizeof(identity));
	if (strcmp(ident.pt_uuid, w->pt_uuid) || strcmp(identity, w->identity))
		return 0;
	/* clones share UUIDs: only the content hash tells them apart */
	if (store_sha256_file(path, sha) != 0 || strcmp(sha, w->sha256)) {
		printf("skipped %s: same identity as %s, different content "
		       "(a clone or a changed copy?)\n", path, w->image);
		return 0;
	}
	return 1;
}

/* A later version's file: our name for it, and a fitting header. */
static int repair_try_named(struct repair_want *w, const char *path,
			    const struct stat *st)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct delta_hdr h;
	int fd, rc;

	if (strcmp(base, w->name) != 0)
		return 0;
	if (!w->parent)
		return (uint64_t)st->st_size == w->size;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	rc = delta_read_hdr(fd, &h);
	close(fd);
	return rc == 0 && h.disk_size == w->size &&
	       h.parent_version == w->parent;
}

static int repair_visit(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	struct repair_scan *rs = repair_state;

	if (ftw->level > REPAIR_MAX_DEPTH || ++rs->files > REPAIR_MAX_FILES)
		return 1;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	for (unsigned i = 0; i < rs->nwant; i++) {
		struct repair_want *w = &rs->want[i];
		char abs[PATH_MAX];

		if (w->found)
			continue;
		if (w->name[0] ? !repair_try_named(w, path, st) :
		    (uint64_t)st->st_size != w->size || !repair_try(w, path))
			continue;
		if (!realpath(path, abs))
			continue;
		snprintf(w->file, sizeof(w->file), "%s", abs);
		w->found = 1;
		break;
	}
	return 0;
}

static int repair_collect(struct image_ctx *ic, struct repair_want **out,
			  unsigned *n)
{
	struct repair_want *want = NULL;
	sqlite3_stmt *st;
	unsigned cap = 0;

	*n = 0;
	if (sql_prep(ic, "SELECT i.name, i.id, v.version, v.file, i.size, "
		     "i.pt_uuid, i.identity, i.content_sha256, v.parent "
		     "FROM versions v JOIN images i ON i.id = v.image_id "
		     "ORDER BY i.name, v.version", &st) != 0)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char path[STORE_PATH_MAX];
		struct stat sb;
		struct repair_want *w;

		version_file_path(ic, (const char *)sqlite3_column_text(st, 3),
				  path, sizeof(path));
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			continue;
		if (*n == cap) {
			void *p = realloc(want, (cap = cap ? 2 * cap : 8) * sizeof(*want));

			if (!p)
				break;
			want = p;
		}
		w = &want[(*n)++];
		memset(w, 0, sizeof(*w));
		col_copy(st, 0, w->image, sizeof(w->image));
		col_copy(st, 1, w->id, sizeof(w->id));
		w->version = (unsigned)sqlite3_column_int64(st, 2);
		w->size = (uint64_t)sqlite3_column_int64(st, 4);
		col_copy(st, 5, w->pt_uuid, sizeof(w->pt_uuid));
		col_copy(st, 6, w->identity, sizeof(w->identity));
		col_copy(st, 7, w->sha256, sizeof(w->sha256));
		w->parent = (unsigned)sqlite3_column_int64(st, 8);
		if (w->version > 1) {
			const char *f = (const char *)sqlite3_column_text(st, 3);
			const char *b = f && strrchr(f, '/') ? strrchr(f, '/') + 1 : f;

			snprintf(w->name, sizeof(w->name), "%s", b ? b : "");
		}
		printf("missing: %s v%u (%s, %llu bytes)\n", w->image, w->version,
		       path, (unsigned long long)w->size);
	}
	sqlite3_finalize(st);
	*out = want;
	return 0;
}

static int image_repair(struct image_ctx *ic, int argc, char **argv)
{
	struct repair_scan rs = { .ic = ic };
	const char *dir = NULL;
	unsigned fixed = 0;
	char vs[16];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scan") && i + 1 < argc)
			dir = argv[++i];
		else if (!strncmp(argv[i], "--scan=", 7))
			dir = argv[i] + 7;
		else
			dir = NULL, i = argc;
	}
	if (!dir) {
		fprintf(stderr, "Usage: linkboot image repair --scan DIR\n");
		return EXIT_USAGE;
	}
	if (repair_collect(ic, &rs.want, &rs.nwant) != 0)
		return 1;
	if (rs.nwant == 0) {
		printf("no image files are missing\n");
		return 0;
	}
	repair_state = &rs;
	if (nftw(dir, repair_visit, 32, FTW_PHYS) < 0) {
		fprintf(stderr, "image repair: %s: %s\n", dir, strerror(errno));
		free(rs.want);
		return 1;
	}
	repair_state = NULL;
	for (unsigned i = 0; i < rs.nwant; i++) {
		struct repair_want *w = &rs.want[i];

		if (!w->found) {
			printf("not found: %s v%u\n", w->image, w->version);
			continue;
		}
		snprintf(vs, sizeof(vs), "%u", w->version);
		if (sql_exec(ic, "UPDATE versions SET file = ?1 WHERE image_id = ?2 "
			     "AND version = ?3", 3, w->file, w->id, vs) == 0) {
			printf("re-attached: %s v%u = %s\n", w->image, w->version,
			       w->file);
			fixed++;
		}
	}
	free(rs.want);
	return fixed == rs.nwant ? 0 : 1;
}

/* ---- entry -------------------------------------------------------------- */

static int image_pack(struct image_ctx *ic, int argc, char **argv)
{
	return bootpack_cmd(ic->cfg, ic->s, argc, argv);
}

static const struct image_cmd {
	const char *name;
	int (*run)(struct image_ctx *ic, int argc, char **argv);
} image_cmds[] = {
	{ "add", image_add },
	{ "list", image_list },
	{ "ls", image_list },
	{ "versions", image_versions },
	{ "set", image_set },
	{ "rename", image_rename },
	{ "rm", image_rm },
	{ "commit", image_commit },
	{ "rollback", image_rollback },
	{ "merge", image_merge },
	{ "prune", image_prune },
	{ "repair", image_repair },
	{ "pack", image_pack },
};

static int looks_like_mark(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq && (!strcmp(eq + 1, "maintenance") || !strcmp(eq + 1, "test") ||
		      !strcmp(eq + 1, "production"));
}

int cmd_image(struct lb_config *cfg, int argc, char **argv)
{
	struct image_ctx ic = { .cfg = cfg };
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc < 2 ? stderr : stdout, "%s", usage);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(image_cmds); i++) {
		if (strcmp(image_cmds[i].name, argv[1]) != 0)
			continue;
		for (int a = 2; a < argc; a++)
			if (!strcmp(argv[a], "--help")) {
				printf("%s", usage);
				return 0;
			}
		/* `--state 2=test` (the spelling) was taken by the
		 * server option --state DIR: never create a dir named so */
		if (looks_like_mark(cfg->state_dir)) {
			fprintf(stderr, "image: --state is the state directory; "
				"mark a version with --mark %s\n", cfg->state_dir);
			return EXIT_USAGE;
		}
		store_dir_path(cfg, ic.store, sizeof(ic.store));
		if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "image: state directory %s: %s (give --state DIR)\n",
				cfg->state_dir, strerror(errno));
			return 1;
		}
		if ((rc = db_open(cfg->state_dir, &ic.db)) != 0) {
			fprintf(stderr, "image: link DB in %s: %s\n", cfg->state_dir,
				strerror(-rc));
			return 1;
		}
		if (cfg->store_dir &&
		    (rc = db_set_store_dir(ic.db, cfg->store_dir)) != 0) {
			db_close(ic.db);
			return 1;
		}
		ic.s = db_sqlite(ic.db);
		rc = image_cmds[i].run(&ic, argc - 1, argv + 1);
		db_close(ic.db);
		return rc;
	}
	fprintf(stderr, "image: unknown command '%s'\n\n%s", argv[1], usage);
	return EXIT_USAGE;
}
