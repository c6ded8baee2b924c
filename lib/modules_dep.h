/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_MODULES_DEP_H
#define LB_MODULES_DEP_H

/*
 * Kernel module dependency resolution from depmod's text files
 * (modules.dep, modules.softdep, modules.alias), pure code: the caller
 * reads the files, this orders the modules (like modprobe, without it).
 *
 * Order for a module M: M's softdep "pre:" modules (each may be an alias,
 * e.g. ext4's "crypto-crc32c" -> crc32c_generic; these are optional: a
 * failed load is not fatal), then M's modules.dep dependencies, each
 * resolved the same way, then M itself. Each module appears once.
 */

#include <stddef.h>

#define MODPATH_MAX 200

/* Under lib/modules/<kver>/: the index of each part of a split initramfs
 * (server-stub/store/initramfs.h), PART.dep and PART.alias, read after
 * modules.dep and modules.alias (agent/modules.c). */
#define MODDB_PART_INDEX "linkboot.d"
#define MODLIST_MAX 512

struct moddb {
	const char *dep;	/* modules.dep text, NUL-terminated */
	const char *softdep;	/* modules.softdep text or NULL */
	const char *alias;	/* modules.alias text or NULL */
};

struct modlist_entry {
	char path[MODPATH_MAX];	/* as in modules.dep: "kernel/fs/ext4/ext4.ko" */
	int optional;		/* pulled in by a softdep: may fail to load */
};

struct modlist {
	struct modlist_entry e[MODLIST_MAX];
	unsigned n;
};

/* Module name of a path: "kernel/fs/ext4/ext4.ko.xz" -> "ext4";
 * '-' becomes '_' as the kernel does. */
void moddb_name_of(const char *path, size_t len, char *out, size_t outsz);

/* Path of module NAME in modules.dep; 0 or -ENOENT. */
int moddb_find(const struct moddb *db, const char *name, char *out,
	       size_t outsz);

/*
 * Append NAME (a module name or an alias) and what it needs to *list in
 * load order. 0, -ENOENT (no such module), -E2BIG (list full), -ELOOP.
 */
int moddb_resolve(const struct moddb *db, const char *name,
		  struct modlist *list);

/* Call fn(pattern, name) for each "alias PATTERN NAME" line of db. */
void moddb_each_alias(const struct moddb *db,
		      void (*fn)(const char *pattern, const char *name,
				 void *ctx), void *ctx);

/* Call cb(name) for each module whose alias pattern matches MODALIAS
 * (e.g. "pci:v00008086d0000100Esv...", from /sys/.../modalias). Returns
 * the number of matches. */
int moddb_alias_match(const struct moddb *db, const char *modalias,
		      void (*cb)(const char *name, void *ctx), void *ctx);

/*
 * Match every device's modalias under /sys/bus/{pci,usb,virtio}/devices
 * against db, calling fn for each matching module (see moddb_alias_match).
 * Used by the agent (load the drivers this PC needs) and by `linkboot
 * initramfs --minimal` (keep the drivers this machine needs).
 */
void moddb_match_sys(const struct moddb *db,
		     void (*fn)(const char *name, void *arg), void *arg);

#endif
