/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_STORE_H
#define LB_STORE_H

/*
 * The image store: files in a directory the server owns, named by image
 * ID (16 random hex digits) and version, never by the image's name, so a
 * rename cannot break a link:
 *
 *   <store>/<id>.v1.raw        raw base (or a path elsewhere: --in-place)
 *   <store>/<id>.v<N>.delta    delta on version N-1 (delta.h)
 *   <store>/<id>.v<N>.hashes   per-block SHA-256 table (blockhash.h)
 *
 * Pure file operations: no link DB here (image_ops.c records what these
 * find), and no printing: long operations report through a callback.
 */

#include <stdint.h>

#include "config.h"
#include "delta.h"

#define STORE_ID_LEN 16
#define STORE_MAX_PARTS 16

enum store_import_mode {
	IMPORT_COPY,		/* copy, sparse where the source is zero */
	IMPORT_REFLINK,		/* FICLONE, else copy (with a message) */
	IMPORT_MOVE,		/* rename, else copy + unlink */
	IMPORT_IN_PLACE,	/* leave it where it is, record its path */
};

struct store_part {
	unsigned no;		/* partition number (1..), 0 = whole disk */
	uint64_t off, size;	/* bytes */
	char type[24];		/* ext4, vfat, xfs, swap, ""... */
	char uuid[48];
	char label[64];
};

/* What identifies an image file when it has been moved or renamed. */
struct store_identity {
	uint64_t size;
	char pt_type[16];	/* "gpt", "dos", "" = none */
	char pt_uuid[48];
	unsigned nparts;
	struct store_part parts[STORE_MAX_PARTS];
};

/* Progress of a long copy or hash: what ("copying", "hashing"), bytes
 * done of total; called every few MiB and once at the end. */
struct store_progress {
	void (*fn)(void *arg, const char *what, uint64_t done, uint64_t total);
	void *arg;
};

/* What store_import() did: a reflink or a move across file systems falls
 * back to a copy. */
struct store_imported {
	int mode;		/* enum store_import_mode actually used */
	int fallback_rc;	/* why the mode asked for could not be */
	int source_left;	/* a move's copy is done, the source stays */
};

/* <store>, <store>/<id>.v<N>.raw|.delta|.hashes */
void store_dir_path(const struct lb_config *cfg, char *out, size_t outsz);
int store_file_path(const struct lb_config *cfg, const char *id,
		    unsigned version, const char *ext, char *out,
		    size_t outsz);
/* Resolve a versions.file value: absolute paths as is, else in <store>. */
void store_resolve(const struct lb_config *cfg, const char *file, char *out,
		   size_t outsz);
/* Create <store> (and its parents' last level) if missing. */
int store_mkdir(const struct lb_config *cfg);

/* 16 random lower-case hex digits. */
int store_new_id(char out[STORE_ID_LEN + 1]);

/* Import src as dst per mode (progress, done may be NULL).
 * IMPORT_IN_PLACE does nothing. 0 or -errno. */
int store_import(const char *src, const char *dst, int mode,
		 const struct store_progress *progress,
		 struct store_imported *done);

/* Probe partition table and file systems (libblkid). */
int store_probe_identity(const char *path, struct store_identity *id);
/* 'N:fstype:uuid:label;...' (the images.identity column). */
void store_identity_string(const struct store_identity *id, char *out,
			   size_t outsz);

/*
 * Hash the whole view of c: write the block-hash table to hashes_path
 * (atomically) and, when sha_hex is not NULL, the SHA-256 of the content.
 */
int store_hash_view(struct vchain *c, const char *hashes_path,
		    char sha_hex[65], const struct store_progress *progress);
/* SHA-256 of a whole file (repair: confirm a candidate). */
int store_sha256_file(const char *path, char sha_hex[65]);

/* Tell progress (NULL: nobody asked). */
void store_progress_report(const struct store_progress *progress,
			   const char *what, uint64_t done, uint64_t total);


/*
 * Kernel and modules of a Linux image, read from its ext2/3/4 partitions
 * with libext2fs, never mounted (ext4_extract.c). path is a raw disk image
 * (a version's merged view for deltas); partitions as probed into id.
 */
struct store_boot {
	char kver[64];		/* e.g. 6.1.0-56-amd64 */
	char kernel[160];	/* path inside its file system */
	int kernel_part;	/* index into id->parts */
	int modules_part;	/* partition holding lib/modules/<kver> */
};

/* 0, -ENOENT (no kernel with modules found), other -errno. */
int ext4_find_boot(const char *path, const struct store_identity *id,
		   struct store_boot *out);

/*
 * Write out_dir/vmlinuz (kernel_file, else the image's kernel) and
 * out_dir/initrd.img (initrd_file, else initramfs_build() over the image's
 * lib/modules/<kver>). b may be NULL when both files are given.
 */
int ext4_extract_boot(const char *path, const struct store_identity *id,
		      const struct store_boot *b, const char *out_dir,
		      const char *kernel_file, const char *initrd_file);

/* ext4_fs.c: the pieces (no initramfs builder involved). */
int ext4_mkdirs(char *path);
int ext4_copy_kernel(const char *path, const struct store_identity *id,
		     const struct store_boot *b, const char *dst);
int ext4_modules_to_dir(const char *path, const struct store_identity *id,
			const struct store_boot *b, const char *dir);

#endif
