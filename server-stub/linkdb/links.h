/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_LINKS_H
#define LB_LINKS_H

/*
 * Client links as operations: what `linkboot client ...` does, callable
 * from anywhere that holds a struct db (the CLI, a control channel, a
 * canary rollout), without argv and without printing.
 *
 * Options are the admin's strings, as given: NULL = not given (left as it
 * is), "inherit" = cleared (the client follows its group, then its image,
 * then the built-in default). Every operation is one transaction: it is
 * applied whole or not at all, and the running server sees it at the
 * client's next request.
 *
 * Errors: 0 or a negative rc, tagged with a cause (err_str(rc): "no such
 * image [db.10]"). When why is not NULL it receives a sentence for the
 * admin that names the field, the value and the fix, e.g.
 * "--ram-cache 'lots': give the RAM cache size in MiB, 0 to 1048576 (e.g.
 * 256)". err_errno(rc) == EINVAL means the request itself is malformed
 * (a usage error), anything else a refusal or a failure of the state.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "lb_err.h"

/* Malformed requests: the field and the fix are in why. */
#define EINVAL_LINK_MAC		ERR(EINVAL, MOD_DB, 0x01)
#define EINVAL_LINK_NAME	ERR(EINVAL, MOD_DB, 0x02)
#define EINVAL_LINK_HOSTNAME	ERR(EINVAL, MOD_DB, 0x03)
#define EINVAL_LINK_GROUP	ERR(EINVAL, MOD_DB, 0x04)
#define EINVAL_LINK_RAM_CACHE	ERR(EINVAL, MOD_DB, 0x05)
#define EINVAL_LINK_SSD_CACHE	ERR(EINVAL, MOD_DB, 0x06)
#define EINVAL_LINK_WRITE	ERR(EINVAL, MOD_DB, 0x07)
#define EINVAL_LINK_OVERLAY	ERR(EINVAL, MOD_DB, 0x08)
#define EINVAL_LINK_VERSION	ERR(EINVAL, MOD_DB, 0x09)
#define EINVAL_LINK_NO_IMAGE	ERR(EINVAL, MOD_DB, 0x0a)
#define EINVAL_LINK_NOTHING	ERR(EINVAL, MOD_DB, 0x0b)
#define EINVAL_LINK_PER_MAC	ERR(EINVAL, MOD_DB, 0x0c)
#define EINVAL_LINK_BOOT	ERR(EINVAL, MOD_DB, 0x0d)
#define EINVAL_LINK_MENU	ERR(EINVAL, MOD_DB, 0x0f)
/* Refusals: the state does not allow it. */
#define ENOENT_LINK_IMAGE	ERR(ENOENT, MOD_DB, 0x10)
#define ENOENT_LINK_VERSION	ERR(ENOENT, MOD_DB, 0x11)
#define ENOENT_LINK_CLIENT	ERR(ENOENT, MOD_DB, 0x12)
#define ENOENT_LINK_GROUP	ERR(ENOENT, MOD_DB, 0x13)
#define ENOENT_LINK_UNLINKED	ERR(ENOENT, MOD_DB, 0x14)
#define EEXIST_LINK_CLIENT	ERR(EEXIST, MOD_DB, 0x15)
#define EEXIST_LINK_NAME	ERR(EEXIST, MOD_DB, 0x16)
#define EBUSY_LINK_SUPER	ERR(EBUSY, MOD_DB, 0x17)
#define EBUSY_LINK_SUPER_MOVE	ERR(EBUSY, MOD_DB, 0x18)
#define ENOSPC_LINK_NAMES	ERR(ENOSPC, MOD_DB, 0x19)
#define EINVAL_LINK_SECURE_BOOT	ERR(EINVAL, MOD_DB, 0x1a)
#define EINVAL_LINK_WAKE_SUBNET	ERR(EINVAL, MOD_DB, 0x1b)

#define LINK_NAME_PATTERN	"PC-%03d"	/* default client names */

/* The fields of a link as the admin gives them (see above). */
struct link_opts {
	const char *image;	/* image name (`linkboot image list`) */
	const char *name;	/* client name; add: the next free PC-NNN */
	const char *hostname;	/* add: the name in lower case */
	const char *group;	/* "none": out of its group */
	const char *ram_cache;	/* MiB, 0..1048576 */
	const char *ssd_cache;	/* MiB, "auto" or "off" */
	const char *write;	/* ram, disk, server, or super: the super
				 * client (link_super()), never stored */
	const char *version;	/* pin a version; "inherit": production */
	const char *overlay;	/* MiB of RAM for the PC's writes */
	const char *boot;	/* linux or san (enum boot_mode) */
	const char *secure_boot; /* on, off; "inherit" (the CLI's "auto"):
				  * the server's secure_boot */
	const char *menu;	/* boot menu: entries comma-separated (image
				 * names, local, rescue); 2+ show a menu */
	const char *menu_default; /* an entry (default: the first) */
	const char *menu_timeout; /* seconds, 0..3600 (default 5) */
	const char *wake_subnet; /* "A.B.C.D/N": magic packets also go to
				  * its directed broadcast (a routed room) */
};

/* One client as `client list` / `client show` show it. */
struct link_entry {
	char mac[18];
	char name[64];
	char hostname[64];
	char group[64];		/* "" = none */
	char last_boot[24];	/* ISO-8601 UTC, "" = never */
	char machine_id[33];
	int linked;		/* it has an image (its own or its group's);
				 * then link holds the effective values */
	struct link_info link;
	int super;		/* the super client of its image */
	int keep_overlay;
	int online;		/* a live NBD session row */
	int64_t boots;		/* boots counted (redeemed tickets) */
	unsigned admin_tokens;	/* `client token` credentials */
};

/* One client as `linkboot status` shows it: what it runs now and what
 * its agent last reported. -1 / "" = not known (no report yet). */
struct link_status {
	char mac[18];
	char name[64];
	char image[64];		/* "" = not linked */
	int64_t version;	/* online: the one it booted; else the one
				 * it would boot; -1 = not linked */
	int online;
	int64_t uptime_ms;
	int64_t bytes_from_server;
	int64_t ram_hits, ram_misses, ssd_hits, ssd_misses;
	int64_t overlay_bytes;
	char last_boot[24];
	char peer[64];		/* its newest session's peer */
	char report_time[24];
	/* online: its newest session, as the server counts it (-1: none) */
	char proto[8];		/* "nbd", "iscsi" */
	int64_t session_read, session_written, session_errors;
	char menu_picked[64];	/* its boot menu's entry, "" = none */
	int64_t commands_pending; /* not yet acknowledged (pc_commands.h) */
};

#define LINK_MENU_MAX	8

/* A menu's entries into out: their count, or -EINVAL (over LINK_MENU_MAX
 * entries, an empty one, one of 64+ bytes or outside [A-Za-z0-9._-]). */
int link_menu_split(const char *menu, char out[LINK_MENU_MAX][64]);

/* The ID of image name: 0, ENOENT_LINK_IMAGE, -errno. */
int db_image_id(struct db *db, const char *name, char id[40]);

/* The PC picked entry pick (an image ID, "rescue") for this boot (NULL:
 * none, its link's image), shown as label (NULL: left as it is). */
int db_menu_pick(struct db *db, const char *mac, const char *pick,
		 const char *label);

/* Register the cause table (err_str). db_open() does it. */
void links_err_register(void);

/*
 * Link the PC with network card mac (any common spelling) as o says; o
 * needs an image, or a group that has one. name/hostname (64 bytes each,
 * may be NULL) receive what the client is called. With write "super" the
 * client is also made the super client, in the same transaction.
 */
int link_add(struct db *db, const char *mac, const struct link_opts *o,
	     char *name, char *hostname, char *why, size_t why_len);

/* Change the given fields of one client. group moves it (or "none"). */
int link_set(struct db *db, const char *mac, const struct link_opts *o,
	     char *why, size_t why_len);

/* Change the given fields of every client in group at once (not name,
 * hostname, group, nor write "super"). *changed: how many clients. */
int link_set_group(struct db *db, const char *group,
		   const struct link_opts *o, unsigned *changed, char *why,
		   size_t why_len);

/* Move a client to another image and/or group (NULL: unchanged). */
int link_relink(struct db *db, const char *mac, const char *image,
		const char *group, char *why, size_t why_len);

/* Remove a client's link (its credentials go with it). */
int link_rm(struct db *db, const char *mac, char *why, size_t why_len);

/* The super client of its image (on: its next boot writes the next
 * version), or not; one per image. */
int link_super(struct db *db, const char *mac, int on, char *why,
	       size_t why_len);

/* Keep the client's server overlay across boots, or drop it at each. */
int link_keep(struct db *db, const char *mac, int on, char *why,
	      size_t why_len);

/* Every client, by name: *rows (free() it) and *n. */
int link_list(struct db *db, struct link_entry **rows, size_t *n);

/* One client; ENOENT_LINK_CLIENT if mac is not a client. */
int link_show(struct db *db, const char *mac, struct link_entry *out,
	      char *why, size_t why_len);

/* Every client's status, by name: *rows (free() it), *n. server_up:
 * is a server running? Without one, session rows left by a crashed
 * server do not make a client online. */
int link_status_list(struct db *db, int server_up, struct link_status **rows,
		     size_t *n);

/* The checks of the fields alone (no DB): every operation makes them;
 * a caller may make them before it opens the DB. */
int link_opts_check(const struct link_opts *o, char *why, size_t why_len);

/* mac in any common spelling -> "52:54:00:12:34:56"; EINVAL_LINK_MAC. */
int link_mac(const char *in, char out[18], char *why, size_t why_len);

#endif
