/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel + initrd per image version: the kernel comes out of the image
 * (ext4_fs.c), the initramfs is built by initramfs_build() over the same
 * image's lib/modules/<kver>, so a kernel is never paired with another
 * version's modules. Kept apart from ext4_fs.c because it links the
 * initramfs builder.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileops.h"
#include "initramfs.h"
#include "lb_err.h"
#include "lb_log.h"
#include "store.h"

static int copy_host_file(const char *src, const char *dst)
{
	int in, rc;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	rc = fileops_copy(in, dst, 0, NULL);
	close(in);
	return rc;
}

/* Does any partition of the image hold this file system? */
static int identity_has_fs(const struct store_identity *id, const char *fs)
{
	for (unsigned i = 0; i < id->nparts; i++)
		if (!strcmp(id->parts[i].type, fs))
			return 1;
	return 0;
}

/* The per-NIC initramfs set into out_dir and, joined, its initrd.img
 * (initramfs.h): a PC that names its NIC loads the core and one driver. */
static int build_initrd(const char *path, const struct store_identity *id,
			const struct store_boot *b, const char *out_dir,
			const char *out)
{
	struct initramfs_opts o = { 0 };
	char tmp[] = "/tmp/linkboot-modules.XXXXXX";
	int rc;

	if (!mkdtemp(tmp))
		return -errno;
	rc = ext4_modules_to_dir(path, id, b, tmp);
	if (rc == 0) {
		o.output = out;
		o.modules_root = tmp;
		o.kver = b->kver;
		o.no_xfs = !identity_has_fs(id, "xfs");
		rc = initramfs_build_split(&o, out_dir, NULL);
	} else {
		log_warnx("%s: could not extract lib/modules/%s: %s", path,
			  b->kver, err_str(rc));
	}
	fileops_rm_tree(tmp);
	return rc;
}

int ext4_extract_boot(const char *path, const struct store_identity *id,
		      const struct store_boot *b, const char *out_dir,
		      const char *kernel_file, const char *initrd_file)
{
	char dir[4096], dst[4200];
	int rc;

	snprintf(dir, sizeof(dir), "%s", out_dir);
	if ((rc = ext4_mkdirs(dir)) != 0)
		return rc;
	snprintf(dst, sizeof(dst), "%s/vmlinuz", out_dir);
	if (kernel_file) {
		rc = copy_host_file(kernel_file, dst);
	} else if (!b) {
		rc = -ENOENT;
	} else {
		rc = ext4_copy_kernel(path, id, b, dst);
	}
	if (rc)
		return rc;
	snprintf(dst, sizeof(dst), "%s/initrd.img", out_dir);
	if (initrd_file)
		return copy_host_file(initrd_file, dst);
	if (!b)
		return -ENOENT;
	return build_initrd(path, id, b, out_dir, dst);
}
