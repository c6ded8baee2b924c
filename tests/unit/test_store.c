/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: image store files (server-stub/store/store.c): identity probing of
 * small generated images (sfdisk + mkfs.ext4 -d, a few MiB in a temp dir),
 * import modes, the block-hash table of a version.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "blockhash.h"
#include "store.h"

#define PT_UUID "11111111-2222-3333-4444-555555555555"
#define FS_UUID "0bbb0000-0000-4000-8000-000000000001"

struct fixture {
	char dir[64];
	char img[128];
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

/* 8 MiB GPT image: p1 ext4 (6 MiB at 1 MiB) with /boot/vmlinuz-X. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/test_store.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	*state = f;
	if (run("command -v sfdisk >/dev/null && command -v mkfs.ext4 >/dev/null") != 0)
		return 0;	/* tests skip */
	return run("cd %s && mkdir -p root/boot root/lib/modules/6.1.0-t && "
		   "echo kernel > root/boot/vmlinuz-6.1.0-t && "
		   "echo dep > root/lib/modules/6.1.0-t/modules.dep && "
		   "mkdir -p root/lib/firmware/rtl_nic && "
		   "echo fw > root/lib/firmware/rtl_nic/rtl8168h-2.fw && "
		   "truncate -s 8M disk.img && "
		   "printf 'label: gpt\\nlabel-id: " PT_UUID "\\n"
		   "start=2048, size=12288, type=L\\n' | sfdisk -q disk.img && "
		   "mkfs.ext4 -q -F -E offset=1048576 -d root -U " FS_UUID
		   " -L ROOTFS disk.img 6M", f->dir) ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	run("rm -rf %s", f->dir);
	free(f);
	return 0;
}

static void need_image(struct fixture *f)
{
	if (access(f->img, R_OK) != 0)
		skip();
}

static void test_identity_gpt_ext4(void **state)
{
	struct fixture *f = *state;
	struct store_identity id;
	char s[512];

	need_image(f);
	assert_int_equal(store_probe_identity(f->img, &id), 0);
	assert_int_equal(id.size, 8 << 20);
	assert_string_equal(id.pt_type, "gpt");
	assert_string_equal(id.pt_uuid, PT_UUID);
	assert_int_equal(id.nparts, 1);
	assert_int_equal(id.parts[0].no, 1);
	assert_int_equal(id.parts[0].off, 1 << 20);
	assert_int_equal(id.parts[0].size, 6 << 20);
	store_identity_string(&id, s, sizeof(s));
	assert_string_equal(s, "1:ext4:" FS_UUID ":ROOTFS");
}

static void test_identity_bare_fs_and_garbage(void **state)
{
	struct fixture *f = *state;
	struct store_identity id;
	char path[160];

	need_image(f);
	snprintf(path, sizeof(path), "%s/bare.img", f->dir);
	assert_int_equal(run("mkfs.ext4 -q -F -L BARE %s 2M >/dev/null 2>&1", path), 0);
	assert_int_equal(store_probe_identity(path, &id), 0);
	assert_string_equal(id.pt_type, "");
	assert_int_equal(id.nparts, 1);
	assert_int_equal(id.parts[0].no, 0);
	assert_string_equal(id.parts[0].label, "BARE");
	/* random bytes: no identity, no crash */
	snprintf(path, sizeof(path), "%s/junk.img", f->dir);
	assert_int_equal(run("head -c 1048576 /dev/urandom > %s", path), 0);
	assert_int_equal(store_probe_identity(path, &id), 0);
	assert_int_equal(id.nparts, 0);
	assert_int_equal(store_probe_identity("/nonexistent/x", &id), -ENOENT);
}

static void test_find_kernel(void **state)
{
	struct fixture *f = *state;
	struct store_identity id;
	struct store_boot b;
	char out[160];

	need_image(f);
	assert_int_equal(store_probe_identity(f->img, &id), 0);
	assert_int_equal(ext4_find_boot(f->img, &id, &b), 0);
	assert_string_equal(b.kver, "6.1.0-t");
	assert_string_equal(b.kernel, "boot/vmlinuz-6.1.0-t");
	assert_int_equal(b.kernel_part, 0);
	/* the kernel and the modules tree come out unchanged */
	snprintf(out, sizeof(out), "%s/vmlinuz", f->dir);
	assert_int_equal(ext4_copy_kernel(f->img, &id, &b, out), 0);
	assert_int_equal(run("cmp -s %s %s/root/boot/vmlinuz-6.1.0-t", out,
			     f->dir), 0);
	snprintf(out, sizeof(out), "%s/mods", f->dir);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(ext4_modules_to_dir(f->img, &id, &b, out), 0);
	assert_int_equal(run("diff -r %s/lib %s/root/lib", out, f->dir), 0);
}

/*
 * A separate /boot partition (kernels at its root) and a merged-/usr root
 * (/lib -> usr/lib): ltsp#43/#105. p1 = boot, p2 = root. Two kernels: the
 * newest one with modules wins, one without modules is never paired.
 */
static void test_find_kernel_separate_boot(void **state)
{
	struct fixture *f = *state;
	struct store_identity id;
	struct store_boot b;
	char img[160], out[160];

	need_image(f);
	snprintf(img, sizeof(img), "%s/split.img", f->dir);
	assert_int_equal(run("cd %s && mkdir -p boot r/usr/lib/modules/6.1.0-b && "
			     "ln -s usr/lib r/lib && "
			     "echo k6.1 > boot/vmlinuz-6.1.0-b && "
			     "echo k9 > boot/vmlinuz-9.9.9-nomods && "
			     "echo k5 > boot/vmlinuz-5.10.0-old && "
			     "mkdir -p r/usr/lib/modules/5.10.0-old && "
			     "echo dep > r/usr/lib/modules/6.1.0-b/modules.dep && "
			     "truncate -s 12M split.img && "
			     "printf 'label: dos\nstart=2048, size=6144, type=83\n"
			     "start=8192, size=14336, type=83\n' | sfdisk -q split.img && "
			     "mkfs.ext4 -q -F -E offset=1048576 -d boot -L BOOT split.img 3M && "
			     "mkfs.ext4 -q -F -E offset=4194304 -d r -L ROOT split.img 7M",
			     f->dir), 0);
	assert_int_equal(store_probe_identity(img, &id), 0);
	assert_string_equal(id.pt_type, "dos");
	assert_int_equal(id.nparts, 2);
	assert_int_equal(ext4_find_boot(img, &id, &b), 0);
	assert_string_equal(b.kver, "6.1.0-b");
	assert_string_equal(b.kernel, "vmlinuz-6.1.0-b");
	assert_int_equal(b.kernel_part, 0);
	assert_int_equal(b.modules_part, 1);
	snprintf(out, sizeof(out), "%s/mods", f->dir);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(ext4_modules_to_dir(img, &id, &b, out), 0);
	assert_int_equal(run("test -f %s/lib/modules/6.1.0-b/modules.dep", out), 0);
}

static void test_no_kernel(void **state)
{
	struct fixture *f = *state;
	struct store_identity id;
	struct store_boot b;
	char path[160];

	need_image(f);
	snprintf(path, sizeof(path), "%s/empty.img", f->dir);
	assert_int_equal(run("mkfs.ext4 -q -F %s 2M >/dev/null 2>&1", path), 0);
	assert_int_equal(store_probe_identity(path, &id), 0);
	assert_int_equal(ext4_find_boot(path, &id, &b), -ENOENT);
}

/* What the last progress report said. */
static struct {
	char what[16];
	uint64_t done, total;
	unsigned calls;
} seen;

static void progress_seen(void *arg, const char *what, uint64_t done,
			  uint64_t total)
{
	(void)arg;
	snprintf(seen.what, sizeof(seen.what), "%s", what);
	seen.done = done;
	seen.total = total;
	seen.calls++;
}

static const struct store_progress progress = { .fn = progress_seen };

static void test_import_copy_and_hash(void **state)
{
	struct fixture *f = *state;
	char dst[160], hp[160], sha[65], sha2[65];
	struct blockhash_info bi;
	struct vchain *c;
	uint8_t hdr[BLOCKHASH_HDR_LEN];
	struct stat st;
	int fd;

	need_image(f);
	snprintf(dst, sizeof(dst), "%s/copy.raw", f->dir);
	snprintf(hp, sizeof(hp), "%s/copy.hashes", f->dir);
	assert_int_equal(store_import(f->img, dst, IMPORT_COPY, &progress,
				      NULL), 0);
	assert_int_equal(run("cmp -s %s %s", f->img, dst), 0);
	/* progress: the whole size, at the end */
	assert_string_equal(seen.what, "copying");
	assert_true(seen.calls > 0);
	assert_int_equal(seen.done, 8 << 20);
	assert_int_equal(seen.total, 8 << 20);
	/* never overwrites */
	assert_int_equal(store_import(f->img, dst, IMPORT_COPY, NULL, NULL),
			 -EEXIST);
	assert_int_equal(vchain_open(dst, NULL, 0, &c), 0);
	assert_int_equal(store_hash_view(c, hp, sha, &progress), 0);
	assert_string_equal(seen.what, "hashing");
	assert_int_equal(seen.done, 8 << 20);
	vchain_close(c);
	assert_int_equal(store_sha256_file(f->img, sha2), 0);
	assert_string_equal(sha, sha2);
	assert_int_equal(stat(hp, &st), 0);
	assert_int_equal(st.st_size, blockhash_table_len(8 << 20, 65536));
	fd = open(hp, O_RDONLY);
	assert_int_equal(read(fd, hdr, sizeof(hdr)), sizeof(hdr));
	close(fd);
	assert_int_equal(blockhash_hdr_parse(hdr, sizeof(hdr),
					     (uint64_t)st.st_size, &bi), 0);
	assert_int_equal(bi.count, 128);
}

static void test_import_move_and_reflink(void **state)
{
	struct fixture *f = *state;
	char a[160], b[160], c[160];
	struct store_imported im;

	need_image(f);
	snprintf(a, sizeof(a), "%s/a.raw", f->dir);
	snprintf(b, sizeof(b), "%s/b.raw", f->dir);
	snprintf(c, sizeof(c), "%s/c.raw", f->dir);
	/* a reflink where the file system has none is a copy, and says so */
	assert_int_equal(store_import(f->img, a, IMPORT_REFLINK, NULL, &im), 0);
	assert_int_equal(run("cmp -s %s %s", f->img, a), 0);
	assert_true(im.mode == IMPORT_REFLINK ? im.fallback_rc == 0 :
		    im.mode == IMPORT_COPY && im.fallback_rc < 0);
	assert_int_equal(store_import(a, b, IMPORT_MOVE, NULL, &im), 0);
	assert_int_equal(im.mode, IMPORT_MOVE);
	assert_int_equal(im.fallback_rc, 0);	/* same file system: rename */
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(run("cmp -s %s %s", f->img, b), 0);
	/* in place: nothing happens to either side */
	assert_int_equal(store_import(b, c, IMPORT_IN_PLACE, NULL, &im), 0);
	assert_int_equal(im.mode, IMPORT_IN_PLACE);
	assert_int_equal(access(c, F_OK), -1);
}

static void test_new_id(void **state)
{
	char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];

	(void)state;
	assert_int_equal(store_new_id(a), 0);
	assert_int_equal(store_new_id(b), 0);
	assert_int_equal(strlen(a), 16);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_gpt_ext4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_bare_fs_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_kernel_separate_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_copy_and_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_move_and_reflink, setup, teardown),
		cmocka_unit_test(test_new_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
