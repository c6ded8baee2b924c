/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A PC's NIC archive of the per-NIC initramfs; see nic_initrd.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initramfs.h"
#include "modules_dep.h"
#include "nic_initrd.h"

#define NIC_SUFFIX	"/nic.img"
#define NIC_MAP_MAX	(4u << 20)	/* a whole kernel's NICs: ~100 KiB */
#define BUS_TYPE_PCI	1		/* iPXE include/ipxe/device.h */

int nic_initrd_is(const char *path, size_t len)
{
	size_t sl = sizeof(NIC_SUFFIX) - 1;

	return len > 6 + sl && !strncmp(path, "/boot/", 6) &&
	       !memcmp(path + len - sl, NIC_SUFFIX, sl);
}

/* The version's map (INITRAMFS_NIC_MAP), NUL-terminated, malloc'ed. */
static int read_map(const struct lb_server *srv, const char *dir,
		    size_t dirlen, char **out)
{
	char path[600];
	struct stat st;
	char *map;
	ssize_t n;
	int fd, len;

	len = snprintf(path, sizeof(path), "%.*s/" INITRAMFS_NIC_MAP,
		       (int)dirlen, dir);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = files_open(srv, path, (size_t)len, &st)) < 0)
		return fd;
	if ((uint64_t)st.st_size > NIC_MAP_MAX ||
	    !(map = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -EFBIG;
	}
	n = pread(fd, map, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		free(map);
		return -EIO;
	}
	map[n] = '\0';
	*out = map;
	return 0;
}

/* busid "01VVVVDDDD" -> the modalias of a PCI Ethernet controller (class
 * 02, subclass 00); iPXE does not tell the subsystem IDs, so 0. */
static int busid_modalias(const char *busid, char *out, size_t outsz)
{
	unsigned type, vendor, device;
	int used = 0;

	if (strlen(busid) != 10 ||
	    strspn(busid, "0123456789abcdefABCDEF") != 10 ||
	    sscanf(busid, "%2x%4x%4x%n", &type, &vendor, &device, &used) != 3 ||
	    used != 10 || type != BUS_TYPE_PCI)
		return -EINVAL;
	snprintf(out, outsz, "pci:v%08Xd%08Xsv%08Xsd%08Xbc02sc00i00",
		 vendor, device, 0u, 0u);
	return 0;
}

/* The first matching archive: the map lists NIC drivers' own archives
 * before the core's (initramfs.c split_map_core). */
static void first_match(const char *name, void *arg)
{
	char *pick = arg;

	if (!pick[0] && strlen(name) < 64 &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
	    strlen(name))
		snprintf(pick, 64, "%s", name);
}

int nic_initrd_pick(const struct lb_server *srv, const char *path,
		    size_t len, const char *busid, char *out, size_t outsz,
		    char *pick, size_t picksz)
{
	size_t dirlen = len - (sizeof(NIC_SUFFIX) - 1);
	struct moddb db = { 0 };
	char modalias[96], name[64] = "";
	char *map = NULL;
	int rc;

	if ((rc = read_map(srv, path, dirlen, &map)) != 0)
		return rc;
	db.alias = map;
	if (busid_modalias(busid, modalias, sizeof(modalias)) == 0)
		moddb_alias_match(&db, modalias, first_match, name);
	free(map);
	if (name[0])
		snprintf(out, outsz, "%.*s/nic/%s.img", (int)dirlen, path,
			 name);
	else
		snprintf(out, outsz, "%.*s/" INITRAMFS_ALL_NICS, (int)dirlen,
			 path);
	snprintf(pick, picksz, "%s", name[0] ? name : "all");
	return 0;
}
