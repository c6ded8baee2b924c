/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel modules, without modprobe: finit_module(2) in the order
 * lib/modules_dep.c computes from modules.dep/softdep/alias. The fixed set
 * is what the root needs (ext4 + its softdep crc32c, overlay, nbd); NIC and
 * storage drivers come from the devices' modaliases in /sys, so a PC gets
 * the driver for the hardware it has, not a fixed list.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "lb_log.h"
#include "lb_util.h"
#include "modules_dep.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static char moddir[128];
static struct modlist loaded;	/* what we already tried, by path */

/* A whole file, NUL-terminated, malloc'ed; NULL if unreadable. */
static char *read_text_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !(buf = malloc((size_t)st.st_size + 1)))
		goto out;
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
out:
	close(fd);
	return buf;
}

/* Append file path to the malloc'ed text *buf (NULL: none yet); 0, or
 * -errno when it cannot be read. */
static int append_text_file(char **buf, const char *path)
{
	char *more = read_text_file(path), *joined;
	size_t have = *buf ? strlen(*buf) : 0;

	if (!more)
		return -ENOENT;
	if (!*buf) {
		*buf = more;
		return 0;
	}
	if (!(joined = realloc(*buf, have + strlen(more) + 1))) {
		free(more);
		return -ENOMEM;
	}
	strcpy(joined + have, more);
	free(more);
	*buf = joined;
	return 0;
}

static int part_index_filter(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/*
 * modules.EXT, then the index of every part of a split initramfs
 * (MODDB_PART_INDEX/PART.EXT, modules_dep.h) the boot loader gave us:
 * the core, the storage drivers, this PC's NIC driver each bring their
 * own. NULL when modules.EXT itself is missing.
 */
static char *read_index(const char *ext)
{
	char path[420], *text = NULL;
	struct dirent **names;
	int n;

	snprintf(path, sizeof(path), "%s/modules.%s", moddir, ext);
	if (append_text_file(&text, path) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/" MODDB_PART_INDEX, moddir);
	if ((n = scandir(path, &names, part_index_filter, alphasort)) < 0)
		return text;
	for (int i = 0; i < n; i++) {
		const char *dot = strrchr(names[i]->d_name, '.');

		if (dot && !strcmp(dot + 1, ext)) {
			snprintf(path, sizeof(path), "%s/" MODDB_PART_INDEX
				 "/%s", moddir, names[i]->d_name);
			if (append_text_file(&text, path) != 0)
				log_warnx("cannot read %s", path);
		}
		free(names[i]);
	}
	free(names);
	return text;
}

/* Loaded (or tried) before, by path. */
static int already_tried(const char *path)
{
	unsigned i;

	for (i = 0; i < loaded.n; i++)
		if (!strcmp(loaded.e[i].path, path))
			return 1;
	return 0;
}

static int load_module_file(const char *path, const char *params,
			    int optional)
{
	char full[400];
	size_t len = strlen(path);
	int fd, flags = 0, rc = 0;

	if (already_tried(path))
		return 0;
	if (loaded.n < MODLIST_MAX)
		strlcpy_chk(loaded.e[loaded.n++].path, path, MODPATH_MAX);
	snprintf(full, sizeof(full), "%s/%s", moddir, path);
	if ((fd = open(full, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("module %s: open", full);
		return -errno;
	}
	if (len > 3 && (!strcmp(path + len - 3, ".xz") ||
			!strcmp(path + len - 3, ".gz") ||
			!strcmp(path + len - 4, ".zst")))
		flags = MODULE_INIT_COMPRESSED_FILE;
	if (syscall(SYS_finit_module, fd, params ? params : "", flags) != 0 &&
	    errno != EEXIST) {
		rc = -errno;
		/* crc32c_intel without SSE4.2 says ENODEV: fine, generic */
		if (optional)
			log_debug("module %s: %s (optional)", path,
				  strerror(errno));
		else
			log_warn("module %s", path);
	} else {
		log_debug("module %s loaded", path);
	}
	close(fd);
	return rc;
}

static int load_resolved(const struct moddb *db, const char *name,
			 const char *params)
{
	static struct modlist order;
	unsigned i;
	int rc;

	order.n = 0;
	if ((rc = moddb_resolve(db, name, &order)) != 0)
		return rc;
	for (i = 0; i < order.n; i++) {
		int last = i + 1 == order.n;

		rc = load_module_file(order.e[i].path, last ? params : NULL,
			      order.e[i].optional);
		if (last && rc != 0)
			return rc;
	}
	return 0;
}

/* Only drivers we need before the root is up: NICs, virtio, storage. */
static int wanted_driver(const char *path)
{
	static const char *const dirs[] = {
		"kernel/drivers/net/", "kernel/drivers/virtio/",
		"kernel/drivers/block/", "kernel/drivers/nvme/",
		"kernel/drivers/ata/", "kernel/drivers/scsi/",
		"kernel/drivers/usb/host/", "kernel/drivers/usb/storage/",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			return 1;
	return 0;
}

struct alias_load {
	const struct moddb *db;
	int nloaded;
};

static void alias_load_cb(const char *name, void *vctx)
{
	struct alias_load *a = vctx;
	char path[MODPATH_MAX];

	if (moddb_find(a->db, name, path, sizeof(path)) != 0 ||
	    !wanted_driver(path) || already_tried(path))
		return;
	if (load_resolved(a->db, name, NULL) == 0) {
		log_info("driver %s (from modalias)", name);
		a->nloaded++;
	}
}

/* The drivers of this PC's devices, from their modaliases. */
static int load_from_sys(const struct moddb *db)
{
	struct alias_load a = { db, 0 };

	moddb_match_sys(db, alias_load_cb, &a);
	return a.nloaded;
}

int modules_load_all(unsigned nbds_max)
{
	/* sd_mod: SATA/SAS/USB disks (the SSD cache) hang off SCSI hosts,
	 * whose devices appear after their host driver loaded, so no PCI
	 * modalias names it */
	static const char *const fixed[] = { "ext4", "overlay", "sd_mod" };
	struct utsname u;
	char path[200], params[32];
	struct moddb db;
	char *dep, *softdep, *alias;
	size_t i;
	int pass, rc = 0;

	uname(&u);
	snprintf(moddir, sizeof(moddir), "/lib/modules/%s", u.release);
	snprintf(path, sizeof(path), "%s/modules.dep", moddir);
	if (!(dep = read_index("dep"))) {
		log_warn("cannot read %s (the initramfs was built for another "
			 "kernel? rebuild it with `linkboot initramfs "
			 "--kernel-version %s`)", path, u.release);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/modules.softdep", moddir);
	softdep = read_text_file(path);
	alias = read_index("alias");
	db.dep = dep;
	db.softdep = softdep;
	db.alias = alias;

	/* NICs first: PCI/USB devices, then the virtio devices that
	 * virtio_pci creates; a few passes, bounded */
	for (pass = 0; pass < 3; pass++)
		if (load_from_sys(&db) == 0)
			break;
	for (i = 0; i < ARRAY_SIZE(fixed); i++) {
		int r = load_resolved(&db, fixed[i], NULL);

		/* built in, or absent: the mount says whether it matters */
		if (r != 0 && r != -ENOENT && !rc)
			rc = r;
	}
	snprintf(params, sizeof(params), "nbds_max=%u", nbds_max);
	if ((rc = load_resolved(&db, "nbd", params)) == -ENOENT &&
	    access("/sys/module/nbd", F_OK) == 0)
		rc = 0;	/* built in */
	free(dep);
	free(softdep);
	free(alias);
	return rc;
}
