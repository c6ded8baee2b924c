/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading Linux images without mounting them. Kernel + initrd per image
 * version: find /boot/vmlinuz-<kver> and
 * lib/modules/<kver> in the image's ext2/3/4 partitions with libext2fs
 * (io option "offset=N" opens the partition inside the image file; nothing
 * is mounted, no loop device, no root needed), copy the kernel out and
 * build the matching initramfs from the image's own modules, so a kernel
 * is never paired with another version's modules.
 *
 * A separate /boot partition is handled (ltsp#43/#105): the kernel may be
 * at the root of one partition and the modules in another.
 */

#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "store.h"

#define EXTRACT_MAX_DEPTH 16
#define EXTRACT_MAX_FILES 200000

static int ext4_fs_open(const char *path, const struct store_part *p,
		   ext2_filsys *fs)
{
	char opts[64];
	errcode_t err;

	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)p->off);
	err = ext2fs_open2(path, opts, EXT2_FLAG_64BITS, 0, 0, unix_io_manager,
			   fs);
	if (err) {
		log_debug("%s: partition %u: not ext2/3/4 (libext2fs error %ld)",
			  path, p->no, (long)err);
		return -EINVAL;
	}
	return 0;
}

static int is_ext(const struct store_part *p)
{
	return !strcmp(p->type, "ext2") || !strcmp(p->type, "ext3") ||
	       !strcmp(p->type, "ext4");
}

struct kernel_scan {
	char best[64];		/* newest kver seen so far */
	const char *prefix;	/* "vmlinuz-" */
	ext2_filsys fs;
	ext2_ino_t modules_dir;	/* 0 = do not require modules here */
	ext2_filsys mfs;	/* fs holding modules (may be another) */
};

static int has_modules(ext2_filsys fs, const char *kver)
{
	static const char *const roots[] = { "usr/lib/modules", "lib/modules" };
	char p[160];
	ext2_ino_t ino;

	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		snprintf(p, sizeof(p), "%s/%s", roots[i], kver);
		if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, p, &ino) == 0)
			return 1;
	}
	return 0;
}

static int scan_kernel(ext2_ino_t dir, int entry, struct ext2_dir_entry *d,
		       int offset, int blocksize, char *buf, void *priv)
{
	struct kernel_scan *ks = priv;
	int len = ext2fs_dirent_name_len(d);
	size_t plen = strlen(ks->prefix);
	char name[256], *kver;

	(void)dir; (void)entry; (void)offset; (void)blocksize; (void)buf;
	memcpy(name, d->name, (size_t)len);
	name[len] = '\0';
	if (strncmp(name, ks->prefix, plen) != 0 || len - (int)plen >= 64)
		return 0;
	kver = name + plen;
	/* vmlinuz-X.old and friends are not kernels we pair */
	if (!*kver || strstr(kver, ".old") || strstr(kver, ".bak"))
		return 0;
	if (ks->mfs && !has_modules(ks->mfs, kver))
		return 0;
	if (!ks->best[0] || strverscmp(kver, ks->best) > 0)
		snprintf(ks->best, sizeof(ks->best), "%s", kver);
	return 0;
}

/* Newest vmlinuz-<kver> in dir ("boot" or "" = fs root) with modules in mfs. */
static int newest_kernel(ext2_filsys fs, const char *dir, ext2_filsys mfs,
			 char kver[64])
{
	struct kernel_scan ks = { .prefix = "vmlinuz-", .fs = fs, .mfs = mfs };
	ext2_ino_t ino = EXT2_ROOT_INO;

	if (dir[0] && ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dir, &ino))
		return -ENOENT;
	if (ext2fs_dir_iterate2(fs, ino, 0, NULL, scan_kernel, &ks))
		return -EIO;
	if (!ks.best[0])
		return -ENOENT;
	memcpy(kver, ks.best, 64);
	return 0;
}

int ext4_find_boot(const char *path, const struct store_identity *id,
		   struct store_boot *out)
{
	ext2_filsys fs[STORE_MAX_PARTS] = { 0 };
	int rc = -ENOENT;

	memset(out, 0, sizeof(*out));
	out->kernel_part = out->modules_part = -1;
	for (unsigned i = 0; i < id->nparts; i++)
		if (is_ext(&id->parts[i]))
			ext4_fs_open(path, &id->parts[i], &fs[i]);
	/* a root file system with /boot inside it */
	for (unsigned i = 0; i < id->nparts && rc; i++) {
		if (fs[i] && newest_kernel(fs[i], "boot", fs[i], out->kver) == 0) {
			out->kernel_part = out->modules_part = (int)i;
			snprintf(out->kernel, sizeof(out->kernel),
				 "boot/vmlinuz-%s", out->kver);
			rc = 0;
		}
	}
	/* a separate /boot partition: kernels at its root */
	for (unsigned i = 0; i < id->nparts && rc; i++) {
		for (unsigned j = 0; j < id->nparts && rc && fs[i]; j++) {
			if (j == i || !fs[j])
				continue;
			if (newest_kernel(fs[i], "", fs[j], out->kver) == 0) {
				out->kernel_part = (int)i;
				out->modules_part = (int)j;
				snprintf(out->kernel, sizeof(out->kernel),
					 "vmlinuz-%s", out->kver);
				rc = 0;
			}
		}
	}
	for (unsigned i = 0; i < id->nparts; i++)
		if (fs[i])
			ext2fs_close_free(&fs[i]);
	return rc;
}

static int ext4_copy_file(ext2_filsys fs, ext2_ino_t ino, const char *dst)
{
	ext2_file_t file;
	char buf[65536];
	unsigned got;
	int fd, rc = 0;

	if (ext2fs_file_open(fs, ino, 0, &file))
		return -EIO;
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		if (ext2fs_file_read(file, buf, sizeof(buf), &got)) {
			rc = -EIO;
			break;
		}
		if (got == 0)
			break;
		if (write(fd, buf, got) != (ssize_t)got) {
			rc = -EIO;
			break;
		}
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
out:
	ext2fs_file_close(file);
	return rc;
}

struct tree_copy {
	ext2_filsys fs;
	char dst[4096];		/* current destination directory */
	int depth;
	unsigned files;
	int rc;
};

static int copy_tree(struct tree_copy *tc, ext2_ino_t dir);

static int copy_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *d,
		      int offset, int blocksize, char *buf, void *priv)
{
	struct tree_copy *tc = priv;
	int len = ext2fs_dirent_name_len(d);
	struct ext2_inode inode;
	size_t dlen = strlen(tc->dst);
	char name[256];

	(void)dir; (void)entry; (void)offset; (void)blocksize; (void)buf;
	memcpy(name, d->name, (size_t)len);
	name[len] = '\0';
	if (!strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
		return 0;
	if (++tc->files > EXTRACT_MAX_FILES || dlen + len + 2 >= sizeof(tc->dst)) {
		tc->rc = -E2BIG;
		return DIRENT_ABORT;
	}
	if (ext2fs_read_inode(tc->fs, d->inode, &inode)) {
		tc->rc = -EIO;
		return DIRENT_ABORT;
	}
	snprintf(tc->dst + dlen, sizeof(tc->dst) - dlen, "/%s", name);
	if (LINUX_S_ISDIR(inode.i_mode)) {
		if (mkdir(tc->dst, 0700) < 0 && errno != EEXIST)
			tc->rc = -errno;
		else
			tc->rc = copy_tree(tc, d->inode);
	} else if (LINUX_S_ISREG(inode.i_mode)) {
		tc->rc = ext4_copy_file(tc->fs, d->inode, tc->dst);
	}
	/* symlinks (build/, source/) point outside the image: skipped */
	tc->dst[dlen] = '\0';
	return tc->rc ? DIRENT_ABORT : 0;
}

static int copy_tree(struct tree_copy *tc, ext2_ino_t dir)
{
	if (++tc->depth > EXTRACT_MAX_DEPTH)
		return -ELOOP;
	if (ext2fs_dir_iterate2(tc->fs, dir, 0, NULL, copy_entry, tc) &&
	    !tc->rc)
		tc->rc = -EIO;
	tc->depth--;
	return tc->rc;
}

int ext4_mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* lib/modules/<kver> of the image -> tmp/lib/modules/<kver> */
/* Copy <usr/>lib/<sub> of the image to tmp/lib/<sub>. */
static int ext4_extract_lib(ext2_filsys fs, const char *sub, const char *tmp)
{
	static const char *const roots[] = { "usr/lib", "lib" };
	struct tree_copy tc = { .fs = fs };
	char src[160];
	ext2_ino_t ino = 0;
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(roots) && !ino; i++) {
		snprintf(src, sizeof(src), "%s/%s", roots[i], sub);
		if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, src, &ino))
			ino = 0;
	}
	if (!ino)
		return -ENOENT;
	snprintf(tc.dst, sizeof(tc.dst), "%s/lib/%s", tmp, sub);
	if ((rc = ext4_mkdirs(tc.dst)) != 0)
		return rc;
	return copy_tree(&tc, ino);
}

/*
 * lib/modules/<kver>, and lib/firmware when the image has one (the
 * initramfs takes the firmware its NIC drivers name from there; without
 * it, drivers that need firmware come up without). Missing firmware is
 * not an error.
 */
static int ext4_extract_modules(ext2_filsys fs, const char *kver, const char *tmp)
{
	char sub[128];
	int rc;

	snprintf(sub, sizeof(sub), "modules/%s", kver);
	if ((rc = ext4_extract_lib(fs, sub, tmp)) != 0)
		return rc;
	rc = ext4_extract_lib(fs, "firmware", tmp);
	if (rc && rc != -ENOENT)
		log_warnx("image: lib/firmware not extracted (%s): the initramfs "
			  "has no firmware", err_str(rc));
	return 0;
}

int ext4_copy_kernel(const char *path, const struct store_identity *id,
		     const struct store_boot *b, const char *dst)
{
	ext2_filsys fs;
	ext2_ino_t ino;
	int rc;

	if ((rc = ext4_fs_open(path, &id->parts[b->kernel_part], &fs)) != 0)
		return rc;
	if (ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, b->kernel,
				&ino))
		rc = -ENOENT;
	else
		rc = ext4_copy_file(fs, ino, dst);
	ext2fs_close_free(&fs);
	return rc;
}

int ext4_modules_to_dir(const char *path, const struct store_identity *id,
			const struct store_boot *b, const char *dir)
{
	ext2_filsys fs;
	int rc;

	if ((rc = ext4_fs_open(path, &id->parts[b->modules_part], &fs)) != 0)
		return rc;
	rc = ext4_extract_modules(fs, b->kver, dir);
	ext2fs_close_free(&fs);
	return rc;
}
