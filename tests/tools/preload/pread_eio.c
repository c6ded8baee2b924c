/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LD_PRELOAD shim for the tests: a disk with a bad stretch. Once the file
 * named by LB_EIO_FILE holds "INODE OFFSET", a pread() of the file with
 * that inode that reaches OFFSET fails with EIO; every other pread() is
 * libc's. The test writes the file when it wants the fault, e.g. after
 * `linkboot image add` put the image in the store (the server, started
 * before, cannot be told an inode on its command line).
 *
 *   LD_PRELOAD=build/tests/tools/pread_eio.so LB_EIO_FILE=$TMP/eio \
 *       linkboot serve ...
 *   echo "$(stat -c %i "$F") $((12 << 20))" >"$TMP/eio"
 *
 * tests/iscsi-read-stream.sh: a READ whose Data-In fails half way.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef ssize_t pread_fn(int fd, void *buf, size_t len, off_t off);

/* Does [off, off + len) of fd reach the bad stretch? */
static int in_bad_stretch(int fd, size_t len, off_t off)
{
	const char *path = getenv("LB_EIO_FILE");
	unsigned long long ino, from;
	struct stat st;
	FILE *f;
	int n;

	if (!path || !(f = fopen(path, "re")))
		return 0;
	n = fscanf(f, "%llu %llu", &ino, &from);
	fclose(f);
	return n == 2 && (unsigned long long)off + len > from &&
	       fstat(fd, &st) == 0 && st.st_ino == ino;
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	static pread_fn *libc_pread;

	if (in_bad_stretch(fd, len, off)) {
		errno = EIO;
		return -1;
	}
	if (!libc_pread)
		libc_pread = (pread_fn *)dlsym(RTLD_NEXT, "pread");
	return libc_pread(fd, buf, len, off);
}
