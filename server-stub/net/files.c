/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The served file namespace shared by TFTP and HTTP; see server.h. */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lb_path.h"
#include "server.h"

#define FILES_PATH_MAX 1024

static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		/* symlinks may point around inside the tree, never out */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	if (fd < 0)
		return errno == EXDEV ? -EACCES : -errno;
	return (int)fd;
}

/* Open rel under dirfd; only a regular file counts as found. */
static int files_try(int dirfd, const char *rel, struct stat *st)
{
	int fd;

	if (dirfd < 0)
		return -ENOENT;
	if ((fd = open_beneath(dirfd, rel)) < 0)
		return fd;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	/* readers use blocking sendfile/pread on a regular file */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/*
 * The Secure Boot chain (README "Secure Boot"), served under the names the
 * chain asks for: the PC's firmware loads shimx64.efi (DHCP boot file);
 * shim then asks for grubx64.efi, and MokManager mmx64.efi when a key
 * enrolment is pending, from the directory it was itself loaded from
 * (shim netboot.c). Debian ships them with a .signed suffix; the GRUB is
 * the network build (tftp, http, efinet built in).
 */
static const struct {
	const char *name;	/* as served */
	int grub;		/* in grub_signed_dir, else shim_dir */
	const char *file;	/* as Debian installs it */
} signed_files[] = {
	{ "shimx64.efi", 0, "shimx64.efi.signed" },	/* shim-signed */
	{ "mmx64.efi", 0, "mmx64.efi.signed" },	/* shim-helpers-amd64-signed */
	{ "grubx64.efi", 1, "grubnetx64.efi.signed" },	/* grub-efi-amd64-signed */
};

/* rel is a name of the signed chain: its fd (a file of that name in
 * --root first); else -ENOENT (and the usual search finds nothing new). */
static int files_signed(const struct lb_server *srv, const char *rel,
			struct stat *st)
{
	size_t i;
	int rc;

	for (i = 0; i < sizeof(signed_files) / sizeof(signed_files[0]); i++) {
		if (strcmp(rel, signed_files[i].name))
			continue;
		if ((rc = files_try(srv->root_dirfd, rel, st)) != -ENOENT)
			return rc;
		return files_try(signed_files[i].grub ? srv->grub_signed_dirfd :
				 srv->shim_dirfd, signed_files[i].file, st);
	}
	return -ENOENT;
}

int files_open(const struct lb_server *srv, const char *path, size_t len,
	       struct stat *st)
{
	const int dirs[] = { srv->root_dirfd, srv->ipxe_build_dirfd,
			     srv->ipxe_dirfd };
	char rel[FILES_PATH_MAX];
	int rc, denied = 0;
	size_t i;

	if ((rc = path_sanitize(path, len, rel, sizeof(rel))) != 0)
		return rc;
	if (strncmp(rel, "boot/", 5) == 0)
		return files_try(srv->boot_dirfd, rel + 5, st);
	if ((rc = files_signed(srv, rel, st)) != -ENOENT)
		return rc;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		rc = files_try(dirs[i], rel, st);
		/* out of fds is no "not found": the caller says "busy" */
		if (rc >= 0 || rc == -EMFILE || rc == -ENFILE)
			return rc;
		if (rc == -EACCES)
			denied = 1;
	}
	return denied ? -EACCES : -ENOENT;
}
