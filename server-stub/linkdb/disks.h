/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_DISKS_H
#define LB_DISKS_H

/*
 * Extra disks: a client (or every client of a group) gets, beside its
 * system disk (LUN 0), disks from other images at LUN 1..7 (a room's
 * game or data disk). A SAN PC sees them as more LUNs of its iSCSI
 * target; a Linux PC's agent attaches each as one more NBD export
 * ("CREDENTIAL/N") and links it as /dev/linkboot/diskN.
 *
 * Each disk has its own write mode:
 *   ro      read-only, shared by every PC that has it
 *   ram     writes go to a server overlay of that PC and disk, dropped
 *           when the PC boots again (restore on reboot)
 *   server  the same overlay, kept across boots
 * A client's own disk at a LUN hides its group's disk at that LUN.
 *
 * A boot keeps the version its disk began with (disk_boots): a new
 * production version reaches a PC at its next boot, never under a
 * mounted file system. A kept (server) overlay stays on the version it
 * was made on until the disk is removed.
 *
 * Errors as links.h: a negative tagged rc and a sentence in why.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "lb_err.h"

#define DISK_LUN_MAX	7

#define EINVAL_DISK_LUN		ERR(EINVAL, MOD_DB, 0x21)
#define EINVAL_DISK_MODE	ERR(EINVAL, MOD_DB, 0x22)
#define ENOENT_DISK		ERR(ENOENT, MOD_DB, 0x23)
#define EEXIST_DISK_LUN		ERR(EEXIST, MOD_DB, 0x24)
#define ENOSPC_DISK_LUNS	ERR(ENOSPC, MOD_DB, 0x25)

enum disk_mode {
	DISK_RO,
	DISK_RAM,
	DISK_SERVER,
};

/* "ro" "ram" "server" <-> enum disk_mode; -EINVAL_DISK_MODE if unknown. */
int disk_mode_parse(const char *s);
const char *disk_mode_name(int mode);

/* One extra disk as stored (disk_list) or as a client has it
 * (db_client_disks: its own, else its group's). */
struct disk_entry {
	char owner[64];		/* the client's MAC or the group's name */
	int group;		/* owner is a group */
	unsigned lun;		/* 1..DISK_LUN_MAX */
	char image[64];		/* image name */
	char image_id[40];
	unsigned version;	/* pinned, 0 = the image's production */
	unsigned serves;	/* the version a new boot gets now */
	int mode;		/* enum disk_mode */
	uint64_t size;		/* bytes */
};

/* Give owner (a MAC, or with group a group name) the disk image at lun
 * (0 = the lowest free one; the one chosen in *lun_out) with mode (NULL =
 * "ro") and version (NULL = production). One transaction. */
int disk_add(struct db *db, const char *owner, int group, const char *image,
	     unsigned lun, const char *mode, const char *version,
	     unsigned *lun_out, char *why, size_t why_len);

/* Remove owner's disk at lun; its overlays are dropped at the next
 * attach (the disk starts afresh if given again). */
int disk_rm(struct db *db, const char *owner, int group, unsigned lun,
	    char *why, size_t why_len);

/* Stored disks, by owner then LUN; owner NULL = all. *rows: free(). */
int disk_list(struct db *db, const char *owner, int group,
	      struct disk_entry **rows, size_t *n, char *why, size_t why_len);

/* The disks client mac (lower-case colon form) boots with, LUN order;
 * out holds DISK_LUN_MAX. 0 or -errno. */
int db_client_disks(struct db *db, const char *mac,
		    struct disk_entry out[DISK_LUN_MAX], unsigned *n);

/* The export of the extra disk at lun of the client that sys (its system
 * disk's export, resolved from a credential) belongs to: -ENOENT if it
 * has none there. */
int db_export_disk(struct db *db, const struct export_info *sys,
		   unsigned lun, struct export_info *out);

/* An extra disk was attached (vdisk_open): its version and overlay now
 * belong to ex's boot. Best effort, logged. */
void db_disk_boot_mark(struct db *db, const struct export_info *ex);

#endif
