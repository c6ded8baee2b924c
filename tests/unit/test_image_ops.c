/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: image operations (server-stub/store/image_*.c) on a
 * temporary state dir with a real link DB and a small generated disk
 * image (sfdisk + mkfs.ext4 -d, 8 MiB, with a kernel and its modules):
 * add and its refusals (nothing left behind), set, rename (links stay),
 * rm (refused while linked or in use), commit (clean file systems only,
 * the super client detached, made on the newest version), rollback,
 * merge, prune, repair and pack: the version bookkeeping in the DB and
 * on disk.
 */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db.h"
#include "db_internal.h"
#include "delta.h"
#include "image_ops.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "links.h"

#define PT_UUID "11111111-2222-3333-4444-555555555555"
#define FS_UUID "0bbb0000-0000-4000-8000-000000000001"
#define KVER "6.1.0-t"
#define MAC1 "52:54:00:00:00:01"
#define MIB (1u << 20)

struct fx {
	char dir[64];
	char state[96];
	char img[128];		/* the generated disk image */
	char initrd[128];
	int plain;		/* img has no kernel (use_plain_image()) */
	struct db *db;
	char why[512];
};

static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* 8 MiB GPT disk, p1 = ext4 (1..7 MiB) with /boot/vmlinuz-KVER and
 * (unless plain) lib/modules/KVER; 7..8 MiB unallocated (as
 * tests/lib-image.sh). */
static int make_image(struct fx *f, const char *file, int plain)
{
	return run("cd %s && rm -rf root && mkdir -p root/boot "
		   "root/lib/modules/" KVER "/kernel && echo kernel > "
		   "root/boot/vmlinuz-" KVER " && echo 'kernel/nbd.ko:' > "
		   "root/lib/modules/" KVER "/modules.dep && echo m > "
		   "root/lib/modules/" KVER "/kernel/nbd.ko && %s"
		   "truncate -s 8M %s && printf 'label: gpt\\nlabel-id: "
		   PT_UUID "\\nstart=2048, size=12288, type=L\\n' | sfdisk -q "
		   "%s && mkfs.ext4 -q -F -E offset=1048576 -d root -U "
		   FS_UUID " -L ROOTFS %s 6M && echo initrd > initrd.img",
		   f->dir, plain ? "rm -r root/lib && " : "", file, file,
		   file);
}

/*
 * The version tests' image has no lib/modules: no kernel is found, so no
 * initramfs is built for the new versions (that needs the linkboot-agent
 * binary, which is not beside the unit test binaries; image-commit.sh
 * covers commits with a kernel).
 */
static void use_plain_image(struct fx *f)
{
	snprintf(f->img, sizeof(f->img), "%s/plain.img", f->dir);
	assert_int_equal(make_image(f, f->img, 1), 0);
	f->plain = 1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	log_set_level(LOG_LEVEL_ERR);
	image_err_register();
	strcpy(f->dir, "/tmp/test_image_ops.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	snprintf(f->initrd, sizeof(f->initrd), "%s/initrd.img", f->dir);
	*state = f;
	if (db_open(f->state, &f->db) != 0)
		return -1;
	if (run("(command -v sfdisk && command -v mkfs.ext4 && "
		"command -v e2fsck) >/dev/null") != 0)
		return 0;	/* the tests skip */
	return make_image(f, f->img, 0) ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	db_close(f->db);
	run("rm -rf %s", f->dir);
	free(f);
	return 0;
}

static void need_image(struct fx *f)
{
	if (access(f->img, R_OK) != 0)
		skip();
}

static int64_t sql_int(struct db *db, const char *fmt, ...)
{
	char q[512];
	sqlite3_stmt *st;
	va_list ap;
	int64_t v = -2;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	assert_int_equal(db_prepare(db, q, &st), 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 :
			sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int exists(const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return access(path, F_OK) == 0;
}

/* Add f->img as name (copy, the initrd given); its ID into id. */
static void add_demo(struct fx *f, const char *name, char id[40])
{
	struct image_add_opts o = { .name = name, .file = f->img,
				    .mode = IMPORT_COPY,
				    .initrd = f->plain ? NULL : f->initrd };
	struct image_add_result r;

	assert_int_equal(image_add(f->db, &o, &r, f->why, sizeof(f->why)), 0);
	snprintf(id, 40, "%s", r.id);
}

/* The super client's writes as the NBD server makes them: len bytes of
 * byte at off over version parent. */
static void write_overlay(struct fx *f, const char *id, unsigned parent,
			  uint64_t off, uint8_t byte, uint32_t len)
{
	char ovl[256], dir[160];
	struct vchain *c;
	uint8_t *buf = malloc(len);

	snprintf(dir, sizeof(dir), "%s/overlays", f->state);
	mkdir(dir, 0755);
	snprintf(ovl, sizeof(ovl), "%s/super-%s.ovl", dir, id);
	memset(buf, byte, len);
	assert_int_equal(vchain_open(f->img, NULL, 0, &c), 0);
	assert_int_equal(vchain_attach_overlay(c, ovl, 0, parent, 1), 0);
	assert_int_equal(vchain_write(c, buf, off, len, 1), 0);
	vchain_close(c);
	free(buf);
}

/* ---- add ------------------------------------------------------------------ */

static void test_add_records_v1(void **state)
{
	struct fx *f = *state;
	struct image_add_opts o = { .name = "demo", .file = f->img,
				    .mode = IMPORT_COPY, .initrd = f->initrd };
	struct image_add_result r;
	struct image_info img;

	need_image(f);
	assert_int_equal(image_add(f->db, &o, &r, NULL, 0), 0);
	assert_int_equal(strlen(r.id), 16);
	assert_string_equal(r.identity, "1:ext4:" FS_UUID ":ROOTFS");
	assert_true(r.boot.found && r.boot.has_boot);
	assert_string_equal(r.boot.kver, KVER);
	assert_false(r.boot.initrd_built);	/* the one given */
	assert_int_equal(run("cmp -s %s %s", f->img, r.path), 0);
	assert_true(exists("%s/boot/%s/v1/vmlinuz", f->state, r.id));
	assert_true(exists("%s/boot/%s/v1/hashes", f->state, r.id));
	assert_int_equal(image_find(f->db, "demo", &img, NULL, 0), 0);
	assert_int_equal(img.production, 1);
	assert_int_equal(img.latest, 1);
	assert_int_equal(img.size, 8 * MIB);
	assert_string_equal(img.pt_uuid, PT_UUID);
	assert_false(img.missing);
	/* by ID too */
	assert_int_equal(image_find(f->db, r.id, &img, NULL, 0), 0);
}

static void test_add_refusals_leave_nothing(void **state)
{
	struct fx *f = *state;
	struct image_add_opts o = { .name = "x", .mode = IMPORT_COPY };
	struct image_add_result r;
	char path[160], id[40];

	need_image(f);
	add_demo(f, "demo", id);
	o.file = f->img;
	o.name = "-bad";
	assert_int_equal(image_add(f->db, &o, &r, NULL, 0), EINVAL_IMAGE_NAME);
	o.name = "demo";
	assert_int_equal(image_add(f->db, &o, &r, f->why, sizeof(f->why)),
			 EEXIST_IMAGE_NAME);
	assert_non_null(strstr(f->why, "exists"));
	/* a qcow2 header: the conversion is named */
	snprintf(path, sizeof(path), "%s/x.qcow2", f->dir);
	assert_int_equal(run("printf 'QFI\\373xxxx' > %s", path), 0);
	o.name = "q";
	o.file = path;
	assert_int_equal(image_add(f->db, &o, &r, f->why, sizeof(f->why)),
			 ENOTSUP_IMAGE_FORMAT);
	assert_non_null(strstr(f->why, "qemu-img convert -O raw"));
	/* empty, missing */
	snprintf(path, sizeof(path), "%s/empty", f->dir);
	assert_int_equal(run("touch %s", path), 0);
	assert_int_equal(image_add(f->db, &o, &r, NULL, 0),
			 EMEDIUMTYPE_IMAGE_FILE);
	o.file = "/nonexistent/disk.img";
	assert_int_equal(image_add(f->db, &o, &r, NULL, 0), -ENOENT);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM images"), 1);
}

/* An image without a kernel and only --initrd: refused after the copy;
 * the store file and boot files go, a moved source comes back. */
static void test_add_without_kernel_undoes_the_move(void **state)
{
	struct fx *f = *state;
	char junk[160];
	struct image_add_opts o = { .name = "junk", .file = junk,
				    .mode = IMPORT_MOVE, .initrd = f->initrd };
	struct image_add_result r;

	need_image(f);
	snprintf(junk, sizeof(junk), "%s/junk.img", f->dir);
	assert_int_equal(run("head -c 65536 /dev/urandom > %s", junk), 0);
	assert_int_equal(image_add(f->db, &o, &r, f->why, sizeof(f->why)),
			 ENOENT_IMAGE_KERNEL);
	assert_non_null(strstr(f->why, "no /boot/vmlinuz"));
	assert_true(exists("%s", junk));
	assert_false(exists("%s", r.path));
	assert_false(exists("%s/boot/%s", f->state, r.id));
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM images"), 0);
	/* with neither file it is added: NBD clients can use it */
	o.initrd = NULL;
	o.mode = IMPORT_COPY;
	assert_int_equal(image_add(f->db, &o, &r, NULL, 0), 0);
	assert_false(r.boot.has_boot);
	assert_int_equal(sql_int(f->db, "SELECT kernel IS NULL FROM versions"),
			 1);
}

/* ---- list, set, rename, rm ------------------------------------------------ */

static void test_list_versions_missing(void **state)
{
	struct fx *f = *state;
	struct image_version *v;
	struct image_info *rows, img;
	char id[40];
	size_t n;

	need_image(f);
	add_demo(f, "demo", id);
	assert_int_equal(image_list(f->db, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].nversions, 1);
	assert_false(rows[0].missing);
	free(rows);
	assert_int_equal(run("rm %s/store/%s.v1.raw", f->state, id), 0);
	assert_int_equal(image_versions(f->db, "demo", &img, &v, &n, NULL, 0),
			 0);
	assert_int_equal(n, 1);
	assert_true(v[0].missing);
	assert_true(v[0].production);
	assert_int_equal(v[0].parent, 0);
	assert_string_equal(v[0].kver, KVER);
	free(v);
	assert_int_equal(image_versions(f->db, "nope", &img, &v, &n, f->why,
					sizeof(f->why)), ENOENT_IMAGE);
	assert_non_null(strstr(f->why, "no image 'nope'"));
}

static void test_set_settings(void **state)
{
	struct fx *f = *state;
	struct image_set_opts o = { .ram_cache = "128", .write = "server",
				    .mark = "1=test", .cmdline = "quiet" };
	unsigned changed;
	char id[40];

	need_image(f);
	add_demo(f, "demo", id);
	assert_int_equal(image_set(f->db, "demo", &o, &changed, NULL, 0), 0);
	assert_int_equal(changed, 4);
	assert_int_equal(sql_int(f->db, "SELECT ram_cache_mib FROM images"),
			 128);
	assert_int_equal(sql_int(f->db, "SELECT state = 'test' FROM versions"),
			 1);
	o = (struct image_set_opts){ .ram_cache = "inherit" };
	assert_int_equal(image_set(f->db, "demo", &o, NULL, NULL, 0), 0);
	assert_int_equal(sql_int(f->db, "SELECT ram_cache_mib FROM images"),
			 -1);
	/* refusals change nothing, all or none */
	o = (struct image_set_opts){ .ram_cache = "1", .write = "bogus" };
	assert_int_equal(image_set(f->db, "demo", &o, &changed, NULL, 0),
			 EINVAL_IMAGE_SETTING);
	assert_int_equal(changed, 0);
	o = (struct image_set_opts){ .ram_cache = "1", .production = "7" };
	assert_int_equal(image_set(f->db, "demo", &o, NULL, f->why,
				   sizeof(f->why)), ENOENT_IMAGE_VERSION);
	assert_non_null(strstr(f->why, "has no version '7'"));
	assert_int_equal(sql_int(f->db, "SELECT ram_cache_mib FROM images"),
			 -1);
	o = (struct image_set_opts){ .mark = "1=gone" };
	assert_int_equal(image_set(f->db, "demo", &o, NULL, NULL, 0),
			 EINVAL_IMAGE_SETTING);
	o = (struct image_set_opts){ 0 };
	assert_int_equal(image_set(f->db, "demo", &o, NULL, NULL, 0),
			 EINVAL_IMAGE_NOTHING);
}

static void test_rename_keeps_links(void **state)
{
	struct fx *f = *state;
	struct link_opts lo = { .image = "demo" };
	struct link_info li;
	uint8_t m[6];
	char id[40], other[40];

	need_image(f);
	add_demo(f, "demo", id);
	add_demo(f, "other", other);
	assert_int_equal(link_add(f->db, MAC1, &lo, NULL, NULL, NULL, 0), 0);
	assert_int_equal(image_rename(f->db, "demo", "lab", NULL, 0), 0);
	assert_int_equal(mac_parse(MAC1, m), 0);
	assert_int_equal(db_link_lookup(f->db, m, &li), 0);
	assert_string_equal(li.image, "lab");
	assert_string_equal(li.image_id, id);
	assert_int_equal(image_rename(f->db, "lab", "other", f->why,
				      sizeof(f->why)), EEXIST_IMAGE_NAME);
	assert_non_null(strstr(f->why, "'other' is taken"));
	assert_int_equal(image_rename(f->db, "lab", "a/b", NULL, 0),
			 EINVAL_IMAGE_NAME);
	assert_int_equal(image_rename(f->db, "demo", "x", NULL, 0),
			 ENOENT_IMAGE);
}

/* A live NBD session of this process on version v of the image. */
static void session_on(struct fx *f, const char *id, unsigned v)
{
	char q[256];

	snprintf(q, sizeof(q), "INSERT INTO sessions(pid, peer, mac, image_id,"
		 " version, since) VALUES(%d, '127.0.0.1:1', NULL, '%s', %u, "
		 "'x')", (int)getpid(), id, v);
	assert_int_equal(db_exec(f->db, q), 0);
}

static void test_rm_refused_while_linked_or_in_use(void **state)
{
	struct fx *f = *state;
	struct link_opts lo = { .image = "demo" };
	struct image_session *s;
	struct image_link *l;
	unsigned unlinked;
	char id[40];
	size_t n;

	need_image(f);
	add_demo(f, "demo", id);
	assert_int_equal(link_add(f->db, MAC1, &lo, NULL, NULL, NULL, 0), 0);
	assert_int_equal(image_rm(f->db, "demo", 0, &unlinked, f->why,
				  sizeof(f->why)), EBUSY_IMAGE_LINKED);
	assert_non_null(strstr(f->why, "--force"));
	assert_int_equal(image_links(f->db, id, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].mac, MAC1);
	free(l);
	/* a live session pins it even with force; a dead server's does not */
	session_on(f, id, 1);
	assert_int_equal(image_rm(f->db, "demo", 1, &unlinked, f->why,
				  sizeof(f->why)), EBUSY_IMAGE_IN_USE);
	assert_non_null(strstr(f->why, "1 live session"));
	assert_int_equal(image_sessions(f->db, id, &s, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].version, 1);
	free(s);
	assert_true(exists("%s/store/%s.v1.raw", f->state, id));
	assert_int_equal(db_exec(f->db, "UPDATE sessions SET pid = 999999999"),
			 0);
	assert_int_equal(image_rm(f->db, "demo", 1, &unlinked, NULL, 0), 0);
	assert_int_equal(unlinked, 1);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM images"), 0);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM clients WHERE "
				 "image_id IS NULL"), 1);
	assert_false(exists("%s/store/%s.v1.raw", f->state, id));
	assert_false(exists("%s/boot/%s", f->state, id));
	assert_true(exists("%s", f->img));
}

static void test_rm_leaves_an_in_place_file(void **state)
{
	struct fx *f = *state;
	struct image_add_opts o = { .name = "ip", .file = f->img,
				    .mode = IMPORT_IN_PLACE,
				    .initrd = f->initrd };
	struct image_add_result r;

	need_image(f);
	assert_int_equal(image_add(f->db, &o, &r, NULL, 0), 0);
	assert_string_equal(r.path, f->img);
	assert_int_equal(image_rm(f->db, "ip", 0, NULL, NULL, 0), 0);
	assert_true(exists("%s", f->img));
	assert_false(exists("%s/boot/%s", f->state, r.id));
}

/* ---- commit, rollback, merge, prune -------------------------------------- */

static int commit(struct fx *f, struct image_commit_result *r)
{
	f->why[0] = '\0';
	return image_commit(f->db, "demo", 0, NULL, r, f->why, sizeof(f->why));
}

static void test_commit_refusals(void **state)
{
	struct fx *f = *state;
	struct image_commit_result r;
	char id[40], ovl[256];
	int fd;

	need_image(f);
	use_plain_image(f);
	add_demo(f, "demo", id);
	assert_int_equal(commit(f, &r), ENOENT_IMAGE_WRITES);
	assert_non_null(strstr(f->why, "no super client writes"));
	/* the group descriptors of the ext4 at 1 MiB overwritten: unclean */
	write_overlay(f, id, 1, MIB + 2048, 0xa5, 64);
	assert_int_equal(commit(f, &r), EUCLEAN_IMAGE_FS);
	assert_non_null(strstr(f->why, "not clean"));
	snprintf(ovl, sizeof(ovl), "%s/overlays/super-%s.ovl", f->state, id);
	assert_true(exists("%s", ovl));		/* the writes are kept */
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM versions"), 1);
	assert_false(exists("%s/boot/%s/v2", f->state, id));
	/* a journal to replay (INCOMPAT_RECOVER in the superblock) */
	write_overlay(f, id, 1, MIB + 1024 + 0x60, 0x04, 1);
	assert_int_equal(commit(f, &r), EUCLEAN_IMAGE_FS);
	/* attached (the NBD server's flock) */
	write_overlay(f, id, 1, 120 * 65536, 0x5a, 65536);
	fd = open(ovl, O_RDONLY);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(commit(f, &r), EBUSY_IMAGE_SUPER);
	assert_non_null(strstr(f->why, "still connected"));
	close(fd);
	/* the super client's session, live */
	assert_int_equal(link_add(f->db, MAC1, &(struct link_opts){
				  .image = "demo", .write = "super" }, NULL,
				  NULL, NULL, 0), 0);
	assert_int_equal(db_exec(f->db, "INSERT INTO sessions(pid, peer, mac, "
				 "image_id, version, since) SELECT 1, 'p', '"
				 MAC1 "', id, 1, 'x' FROM images"), 0);
	assert_int_equal(commit(f, &r), EBUSY_IMAGE_SUPER);
	assert_non_null(strstr(f->why, MAC1));
}

/* commit v2, rollback, merge v3, prune v1 and v2. */
static void test_version_bookkeeping(void **state)
{
	struct fx *f = *state;
	struct image_commit_result r;
	struct image_merge_result *m = malloc(sizeof(*m));
	struct image_prune_result p;
	unsigned from, to;
	char id[40];

	need_image(f);
	use_plain_image(f);
	add_demo(f, "demo", id);
	/* outside the file system (block 120 = 7.5 MiB): clean */
	write_overlay(f, id, 1, 120 * 65536, 0x5a, 65536);
	assert_int_equal(commit(f, &r), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.parent, 1);
	assert_int_equal(r.pack_rc, -ENOENT);	/* v1 was never traced */
	assert_false(r.boot.has_boot);
	assert_int_equal(sql_int(f->db, "SELECT production_version FROM "
				 "images"), 2);
	assert_int_equal(sql_int(f->db, "SELECT parent FROM versions WHERE "
				 "version = 2"), 1);
	assert_true(exists("%s/store/%s.v2.delta", f->state, id));
	assert_false(exists("%s/overlays/super-%s.ovl", f->state, id));
	/* made on v1, the newest is v2: stale */
	write_overlay(f, id, 1, 121 * 65536, 0x11, 65536);
	assert_int_equal(commit(f, &r), ESTALE_IMAGE_WRITES);
	assert_non_null(strstr(f->why, "made on v1, the newest is v2"));
	run("rm -f %s/overlays/super-%s.ovl", f->state, id);

	assert_int_equal(image_rollback(f->db, "demo", 0, &from, &to, NULL, 0),
			 0);
	assert_int_equal(from, 2);
	assert_int_equal(to, 1);
	assert_int_equal(image_rollback(f->db, "demo", 0, NULL, NULL, NULL, 0),
			 ENOENT_IMAGE_BEFORE);
	assert_int_equal(image_rollback(f->db, "demo", 9, NULL, NULL, NULL, 0),
			 ENOENT_IMAGE_VERSION);
	assert_int_equal(image_rollback(f->db, "demo", 2, NULL, NULL, NULL, 0),
			 0);

	/* merge: v3 raw = v1 with block 120 replaced, production follows */
	assert_int_equal(image_merge(f->db, "demo", 0, NULL, m, NULL, 0), 0);
	assert_int_equal(m->version, 3);
	assert_int_equal(m->from, 2);
	assert_int_equal(m->files, 2);
	assert_true(m->production);
	assert_int_equal(sql_int(f->db, "SELECT parent FROM versions WHERE "
				 "version = 3"), -1);
	assert_int_equal(run("cp %s %s/want && head -c 65536 /dev/zero | "
			     "tr '\\0' '\\132' | dd of=%s/want bs=65536 "
			     "seek=120 conv=notrunc 2>/dev/null && cmp -s "
			     "%s/want %s/store/%s.v3.raw", f->img, f->dir,
			     f->dir, f->dir, f->state, id), 0);
	assert_int_equal(image_merge(f->db, "demo", 0, NULL, m, NULL, 0), 0);
	assert_int_equal(m->version, 0);	/* already raw */

	/* prune: a live session on v2 keeps v2 and its parent v1 */
	session_on(f, id, 2);
	assert_int_equal(image_prune(f->db, "demo", &p, NULL, 0), 0);
	assert_int_equal(p.count, 0);
	assert_int_equal(db_exec(f->db, "DELETE FROM sessions"), 0);
	assert_int_equal(image_prune(f->db, "demo", &p, NULL, 0), 0);
	assert_int_equal(p.count, 2);
	assert_true(image_pruned(&p, 1) && image_pruned(&p, 2));
	assert_false(image_pruned(&p, 3));
	assert_int_equal(sql_int(f->db, "SELECT group_concat(version) FROM "
				 "versions"), 3);
	assert_false(exists("%s/store/%s.v1.raw", f->state, id));
	assert_false(exists("%s/store/%s.v2.delta", f->state, id));
	assert_false(exists("%s/boot/%s/v1", f->state, id));
	assert_true(exists("%s/store/%s.v3.raw", f->state, id));
	free(m);
}

/* A client pinned to v1 keeps v1 from prune. */
static void test_prune_keeps_pinned(void **state)
{
	struct fx *f = *state;
	struct image_commit_result r;
	struct image_prune_result p;
	char id[40];

	need_image(f);
	use_plain_image(f);
	add_demo(f, "demo", id);
	write_overlay(f, id, 1, 120 * 65536, 0x5a, 65536);
	assert_int_equal(commit(f, &r), 0);
	write_overlay(f, id, 2, 121 * 65536, 0x5b, 65536);
	assert_int_equal(commit(f, &r), 0);
	assert_int_equal(r.version, 3);
	/* v3 is a delta on v2 on v1: all needed */
	assert_int_equal(image_prune(f->db, "demo", &p, NULL, 0), 0);
	assert_int_equal(p.count, 0);
	assert_int_equal(image_prune(f->db, "nope", &p, NULL, 0), ENOENT_IMAGE);
}

/* ---- repair, pack -------------------------------------------------------- */

static void test_repair_finds_moved_not_clones(void **state)
{
	struct fx *f = *state;
	struct image_repair_result r;
	char id[40], scan[160];

	need_image(f);
	add_demo(f, "demo", id);
	snprintf(scan, sizeof(scan), "%s/scan", f->dir);
	assert_int_equal(image_repair_scan(f->db, f->dir, &r, NULL, 0), 0);
	assert_int_equal(r.nitems, 0);
	image_repair_free(&r);
	/* moved out of the store; under scan/ only a clone (same UUIDs, a
	 * byte changed in the unallocated 7..8 MiB) */
	assert_int_equal(run("mkdir -p %s/a %s/b && mv %s/store/%s.v1.raw "
			     "%s/renamed.img && cp %s %s/a/clone.img && "
			     "printf X | dd of=%s/a/clone.img bs=1 "
			     "seek=7344128 conv=notrunc 2>/dev/null", scan,
			     scan, f->state, id, f->dir, f->img, scan, scan),
			 0);
	assert_int_equal(image_repair_scan(f->db, "/nonexistent", &r, NULL, 0),
			 -ENOENT);
	image_repair_free(&r);
	assert_int_equal(image_repair_scan(f->db, scan, &r, NULL, 0),
			 ENOENT_IMAGE_FILES);
	assert_int_equal(r.nitems, 1);
	assert_int_equal(r.items[0].version, 1);
	assert_false(r.items[0].reattached);
	assert_int_equal(r.nskipped, 1);
	assert_non_null(strstr(r.skipped[0].path, "clone.img"));
	image_repair_free(&r);
	assert_int_equal(sql_int(f->db, "SELECT file LIKE '%%.v1.raw' FROM "
				 "versions"), 1);
	/* the real one turns up under scan/b under another name */
	assert_int_equal(run("mv %s/renamed.img %s/b/", f->dir, scan), 0);
	assert_int_equal(image_repair_scan(f->db, scan, &r, NULL, 0), 0);
	assert_true(r.items[0].reattached);
	assert_non_null(strstr(r.items[0].found, "/scan/b/renamed.img"));
	image_repair_free(&r);
	assert_int_equal(sql_int(f->db, "SELECT file LIKE '%%/scan/b/"
				 "renamed.img' FROM versions"), 1);
}

static void test_pack_from_a_trace(void **state)
{
	struct fx *f = *state;
	struct image_pack_result r;
	char id[40];

	need_image(f);
	add_demo(f, "demo", id);
	assert_int_equal(image_pack(f->db, "demo", 0, 0, &r, NULL, 0),
			 ENOENT_IMAGE_TRACE);
	assert_int_equal(image_pack(f->db, "demo", 7, 0, &r, NULL, 0),
			 ENOENT_IMAGE_VERSION);
	assert_int_equal(run("printf '0\\n16\\n17\\n' > %s/boot/%s/v1/"
			     "boot.trace", f->state, id), 0);
	assert_int_equal(image_pack(f->db, "demo", 0, 0, &r, NULL, 0), 0);
	assert_int_equal(r.version, 1);
	assert_int_equal(r.blocks, 3);
	assert_true(exists("%s/boot/%s/v1/boot.pack", f->state, id));
	assert_int_equal(image_pack(f->db, "demo", 1, 1, &r, NULL, 0), 0);
	assert_false(exists("%s/boot/%s/v1/boot.pack", f->state, id));
	assert_false(exists("%s/boot/%s/v1/boot.trace", f->state, id));
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_add_records_v1),
		T(test_add_refusals_leave_nothing),
		T(test_add_without_kernel_undoes_the_move),
		T(test_list_versions_missing),
		T(test_set_settings),
		T(test_rename_keeps_links),
		T(test_rm_refused_while_linked_or_in_use),
		T(test_rm_leaves_an_in_place_file),
		T(test_commit_refusals),
		T(test_version_bookkeeping),
		T(test_prune_keeps_pinned),
		T(test_repair_finds_moved_not_clones),
		T(test_pack_from_a_trace),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
