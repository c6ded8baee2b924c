/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The server's file copy and tree removal (fileops.h). */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileops.h"

#define COPY_CHUNK (1u << 20)

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Every byte of in to out (out sized to size at the end: holes stay). */
static int copy_bytes(int in, int out, uint64_t size,
		      const struct store_progress *progress)
{
	uint8_t *buf = malloc(COPY_CHUNK);
	uint64_t off = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (off < size) {
		ssize_t n = pread(in, buf, COPY_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;	/* shrank under us */
			break;
		}
		if (!all_zero(buf, (size_t)n) &&
		    pwrite(out, buf, (size_t)n, (off_t)off) != n) {
			rc = errno ? -errno : -EIO;
			break;
		}
		off += (uint64_t)n;
		store_progress_report(progress, "copying", off, size);
	}
	free(buf);
	if (rc == 0 && ftruncate(out, (off_t)size) < 0)
		rc = -errno;
	return rc;
}

int fileops_copy(int in, const char *dst, unsigned flags,
		 const struct store_progress *progress)
{
	char part[4096 + 8];
	struct stat st;
	int out, rc = 0;

	if ((size_t)snprintf(part, sizeof(part), "%s.part", dst) >= sizeof(part))
		return -ENAMETOOLONG;
	if ((flags & FILEOPS_NOREPLACE) && access(dst, F_OK) == 0)
		return -EEXIST;
	if (fstat(in, &st) < 0)
		return -errno;
	out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	if ((flags & FILEOPS_REFLINK) && ioctl(out, FICLONE, in) == 0)
		store_progress_report(progress, "copying", (uint64_t)st.st_size,
				      (uint64_t)st.st_size);
	else
		rc = copy_bytes(in, out, (uint64_t)st.st_size, progress);
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat2(AT_FDCWD, part, AT_FDCWD, dst,
				 (flags & FILEOPS_NOREPLACE) ?
				 RENAME_NOREPLACE : 0) < 0)
		rc = -errno;
	if (rc != 0)
		unlink(part);
	return rc;
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(p);
	return 0;	/* go on: best effort */
}

void fileops_rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
