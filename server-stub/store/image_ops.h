/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_IMAGE_OPS_H
#define LB_IMAGE_OPS_H

/*
 * Image operations: what `linkboot image ...` does, callable from anywhere
 * that holds a struct db (the CLI, a control channel, an iSCSI target, a
 * canary rollout): no argv, no printing. Files live where the DB says:
 * db_state_dir(db)/boot/<id>/v<N>/ (kernel, initrd, block hashes, boot
 * pack) and db_store_dir(db)/<id>.v<N>.raw|.delta (store.h).
 *
 * Images are immutable versions (like Citrix PVS vDisk versions): v1 is
 * raw, a commit adds a delta on the newest version, a merge flattens the
 * newest into a new raw one; files are named by image ID, so a rename is
 * one row and never breaks a link.
 *
 * Errors: 0 or a negative rc with a cause (err_str(rc): "the image is
 * linked to clients [image.14]"); when why is not NULL it receives a
 * sentence for the admin that names the value and the fix.
 * err_errno(rc) == EINVAL: the request is malformed (a usage error).
 * Long copies and hashes report through an optional progress callback.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "lb_err.h"
#include "store.h"
#include "store_db.h"

#define EINVAL_IMAGE_NAME	ERR(EINVAL, MOD_IMAGE, 0x01)
#define EINVAL_IMAGE_SETTING	ERR(EINVAL, MOD_IMAGE, 0x02)
#define EINVAL_IMAGE_NOTHING	ERR(EINVAL, MOD_IMAGE, 0x03)
#define EMEDIUMTYPE_IMAGE_FILE	ERR(EMEDIUMTYPE, MOD_IMAGE, 0x04)
#define ENOTSUP_IMAGE_FORMAT	ERR(ENOTSUP, MOD_IMAGE, 0x05)
#define ENOENT_IMAGE		ERR(ENOENT, MOD_IMAGE, 0x10)
#define ENOENT_IMAGE_VERSION	ERR(ENOENT, MOD_IMAGE, 0x11)
#define EEXIST_IMAGE_NAME	ERR(EEXIST, MOD_IMAGE, 0x12)
#define ENOENT_IMAGE_KERNEL	ERR(ENOENT, MOD_IMAGE, 0x13)
#define EBUSY_IMAGE_LINKED	ERR(EBUSY, MOD_IMAGE, 0x14)
#define EBUSY_IMAGE_IN_USE	ERR(EBUSY, MOD_IMAGE, 0x15)
#define ENOENT_IMAGE_WRITES	ERR(ENOENT, MOD_IMAGE, 0x16)
#define EBUSY_IMAGE_SUPER	ERR(EBUSY, MOD_IMAGE, 0x17)
#define ESTALE_IMAGE_WRITES	ERR(ESTALE, MOD_IMAGE, 0x18)
#define EUCLEAN_IMAGE_FS	ERR(EUCLEAN, MOD_IMAGE, 0x19)
#define ENOENT_IMAGE_FILES	ERR(ENOENT, MOD_IMAGE, 0x1a)
#define ENOENT_IMAGE_TRACE	ERR(ENOENT, MOD_IMAGE, 0x1b)
#define ENOENT_IMAGE_BEFORE	ERR(ENOENT, MOD_IMAGE, 0x1c)

#define IMAGE_NAME_MAX		63
#define IMAGE_PRUNE_MAX		4096	/* versions prune looks at */

/* Register the cause table (err_str); once, at start (main.c). */
void image_err_register(void);

/* ---- what there is ------------------------------------------------------- */

/* An image as `image list` shows it. */
struct image_info {
	char id[40];
	char name[64];
	uint64_t size;			/* bytes */
	char pt_type[16];		/* "gpt", "dos", "" = none */
	char pt_uuid[48];
	char identity[1024];		/* store_identity_string() */
	char sha256[65];		/* v1 content, at import */
	unsigned production;		/* 0 = none */
	unsigned test_version;		/* 0 = none */
	char test_group[64];
	unsigned latest;		/* the newest version */
	unsigned nversions;
	unsigned nclients;		/* clients linked to it by name */
	int missing;			/* a file of production is gone */
};

/* A version as `image versions` shows it. */
struct image_version {
	unsigned version;
	unsigned parent;		/* 0 = a raw base */
	char state[16];			/* maintenance, test, production */
	char kver[64];			/* "" = no kernel found */
	char file[STORE_PATH_MAX];	/* its own file, resolved */
	char created[24];
	uint64_t changed_bytes;		/* a delta: the blocks it holds */
	int users;			/* live NBD sessions on it */
	int missing;			/* a file of its chain is gone */
	int production;
};

/* A live NBD session on an image (rm refuses while there is one). */
struct image_session {
	unsigned version;
	char peer[64];
	char mac[18];			/* "" = an image export */
};

/* A client or group linked to an image (rm refuses while linked). */
struct image_link {
	char mac[18];			/* "group" for a group */
	char name[64];
};

/* By name, else by ID. ENOENT_IMAGE. */
int image_find(struct db *db, const char *name, struct image_info *out,
	       char *why, size_t why_len);

/* Every image by name: *rows (free() it), *n. */
int image_list(struct db *db, struct image_info **rows, size_t *n);

/* The versions of an image, oldest first: *rows (free() it), *n. */
int image_versions(struct db *db, const char *name, struct image_info *img,
		   struct image_version **rows, size_t *n, char *why,
		   size_t why_len);

/* Live sessions and links of an image: *rows (free() them), *n. */
int image_sessions(struct db *db, const char *image_id,
		   struct image_session **rows, size_t *n);
int image_links(struct db *db, const char *image_id,
		struct image_link **rows, size_t *n);

/* ---- add ------------------------------------------------------------------ */

struct image_add_opts {
	const char *name;
	const char *file;		/* a raw disk image */
	int mode;			/* enum store_import_mode */
	const char *kernel, *initrd;	/* host files; else from the image */
	const struct store_progress *progress;
};

/* The boot files of a new version. */
struct image_boot {
	int found;		/* a /boot/vmlinuz-<kver> with lib/modules */
	int has_boot;		/* vmlinuz + initrd.img written */
	char kver[64];
	char kernel[160];	/* its path in the image */
	int initrd_built;	/* from the image's modules */
	/* no partition holds a Linux file system (a Windows disk: NTFS,
	 * FAT): its PCs can only SAN-boot; fs_types names what it has */
	int no_linux_fs;
	char fs_types[64];
};

struct image_add_result {
	char id[STORE_ID_LEN + 1];
	struct store_identity ident;
	char identity[1024];
	char sha256[65];
	char path[STORE_PATH_MAX];	/* the version's file now */
	struct store_imported import;	/* a fallback to a copy, if any */
	struct image_boot boot;
};

/*
 * Import o->file as image o->name, v1: copy/reflink/move it into the
 * store (or record it in place), probe its identity, hash it, take its
 * kernel and build its initramfs. Without a kernel the image still serves
 * NBD clients (res->boot.has_boot == 0). Nothing is left behind on error.
 */
int image_add(struct db *db, const struct image_add_opts *o,
	      struct image_add_result *res, char *why, size_t why_len);

/* ---- settings ------------------------------------------------------------ */

/* Defaults clients of an image inherit, and its version pointers; NULL =
 * not given, "inherit" = cleared (test_group, test_version too). */
struct image_set_opts {
	const char *ram_cache;		/* MiB, 0..1048576 */
	const char *write;		/* ram, disk, server, super */
	const char *ssd_cache;		/* MiB, "auto" or "off" */
	const char *root;		/* linkboot.root= */
	const char *cmdline;		/* extra kernel arguments */
	const char *mark;		/* "VERSION=maintenance|test|production" */
	const char *test_group;
	const char *test_version;	/* "N" or "vN" */
	const char *production;		/* "N" or "vN" */
	const char *boot;		/* linux or san */
};

/* All given settings in one transaction; *changed: how many. */
int image_set(struct db *db, const char *name, const struct image_set_opts *o,
	      unsigned *changed, char *why, size_t why_len);

/* Links follow: they name the image ID. EEXIST_IMAGE_NAME if taken. */
int image_rename(struct db *db, const char *name, const char *new_name,
		 char *why, size_t why_len);

/* A version as admins write it: "N" or "vN" (1..1000000); -EINVAL. */
int image_version_parse(const char *s, unsigned *v);

/* Are image names like this accepted? (letters, digits, '.', '_', '-') */
int image_name_ok(const char *name);

/*
 * Remove an image: its rows, store files (not an --in-place file: that is
 * the admin's), boot files and super overlay. Refused while a version is
 * in use (EBUSY_IMAGE_IN_USE, force or not) or, without force, while
 * clients or groups are linked to it (EBUSY_IMAGE_LINKED); with force
 * they are unlinked (*unlinked: how many).
 */
int image_rm(struct db *db, const char *name, int force, unsigned *unlinked,
	     char *why, size_t why_len);

/* ---- versions ------------------------------------------------------------ */

struct image_commit_result {
	unsigned version, parent;
	struct image_boot boot;
	int pack_rc;			/* boot pack from the parent's trace:
					 * 0 built, ENOENT no trace, -errno */
	uint64_t pack_blocks, pack_bytes;
	char unchecked[128];		/* "1:ntfs ..." passed by force */
};

/*
 * The super client's writes (<state>/overlays/super-<id>.ovl) become the
 * next version, a delta, and production: only when the overlay was made
 * on the newest version, nobody has it attached, and every file system
 * in it is clean: ext (no journal to replay, e2fsck -fn passes), FAT (no
 * dirty flag). One we cannot check (NTFS, XFS, ...) refuses the commit
 * (EUCLEAN_IMAGE_FS) unless force; res->unchecked names those passed.
 */
int image_commit(struct db *db, const char *name, int force,
		 const struct store_progress *progress,
		 struct image_commit_result *res, char *why, size_t why_len);

/* Production back to version (0: the newest one before production that
 * is not in maintenance). *from, *to: the versions. */
int image_rollback(struct db *db, const char *name, unsigned version,
		   unsigned *from, unsigned *to, char *why, size_t why_len);

struct image_prune_result {
	unsigned count;					/* removed */
	uint8_t removed[IMAGE_PRUNE_MAX / 8];		/* bit per version */
};

struct image_merge_result {
	unsigned version;		/* the new raw one; 0: already raw */
	unsigned from;			/* the newest before */
	unsigned files;			/* in from's chain */
	int production;			/* production moved to it */
	struct image_boot boot;
	struct image_prune_result pruned;	/* with prune */
};

/* Flatten the newest version into a new raw one (old files stay: clients
 * may be reading them); then, with prune, image_prune(). */
int image_merge(struct db *db, const char *name, int prune,
		const struct store_progress *progress,
		struct image_merge_result *res, char *why, size_t why_len);

/* Remove the versions nobody can boot or is reading: not production,
 * test, pinned, an overlay's base or in use, nor their parents. */
int image_prune(struct db *db, const char *name,
		struct image_prune_result *res, char *why, size_t why_len);

/* Is version v in a prune result? */
int image_pruned(const struct image_prune_result *res, unsigned v);

/* ---- boot pack ------------------------------------------------------------ */

struct image_pack_result {
	char id[40];
	char name[64];
	unsigned version;
	uint64_t blocks, bytes;		/* built */
};

/* Build the boot pack of version (0: production) from its trace
 * (bootpack_build.h); with retrace instead forget trace and pack, so the
 * next client boot records a new trace. ENOENT_IMAGE_TRACE: no trace. */
int image_pack(struct db *db, const char *name, unsigned version,
	       int retrace, struct image_pack_result *res, char *why,
	       size_t why_len);

/* ---- repair --------------------------------------------------------------- */

/* A version whose file was missing, and where it was found. */
struct image_repair_item {
	char image[64];
	unsigned version;
	char was[STORE_PATH_MAX];	/* where the DB had it */
	uint64_t size;
	char found[STORE_PATH_MAX];	/* "" = not found */
	int reattached;			/* the DB points there now */
};

/* A file with a missing v1's identity but other content (a clone). */
struct image_repair_skip {
	char path[STORE_PATH_MAX];
	char image[64];
};

struct image_repair_result {
	struct image_repair_item *items;
	size_t nitems;
	struct image_repair_skip *skipped;
	size_t nskipped;
};

/*
 * Find moved or renamed image files under dir: v1 by identity (size,
 * partition table and file system UUIDs/labels) confirmed by its content
 * hash (clones share UUIDs), later versions by their store name, size and
 * delta header. Found files are re-attached. 0 when every missing file
 * was found; ENOENT_IMAGE_FILES when one was not (res says which).
 */
int image_repair_scan(struct db *db, const char *dir,
		      struct image_repair_result *res, char *why,
		      size_t why_len);
void image_repair_free(struct image_repair_result *res);

#endif
