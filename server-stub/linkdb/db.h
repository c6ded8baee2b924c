/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_DB_H
#define LB_DB_H

/*
 * The link DB (SQLite, WAL) as the protocol modules see it. The CLI and the
 * running daemon share the file: every lookup reads the current state, so a
 * `linkboot client add` takes effect at the client's next request.
 *
 * Owned by the image-store/link-DB module (db.c); this header is the
 * contract the HTTP boot script and the NBD server code against. The
 * daemon opens it once: srv->db (see services.h "db" slot).
 */

#include <stdint.h>

#include "lb_err.h"

/* Another process holds the link DB's lock (an admin's sqlite3, a stuck
 * tool) for longer than we wait: nothing changed, try again. */
#define EBUSY_DB_LOCKED		ERR(EBUSY, MOD_DB, 0x20)

struct db;

/* How a PC boots its image. */
enum boot_mode {
	BOOT_LINUX,	/* kernel + linkboot initramfs, root over NBD */
	BOOT_SAN,	/* iPXE sanboot of an iSCSI disk (Windows-class PCs) */
};

enum write_mode {
	WRITE_RAM,	/* overlayfs, upper on tmpfs (default) */
	WRITE_DISK,	/* overlayfs, upper on the local cache partition */
	WRITE_SERVER,	/* block overlay kept on the server, per client */
	WRITE_SUPER,	/* the super client: writes become the next version */
};

/* "linux" "san" <-> enum boot_mode; -EINVAL if unknown. */
int db_boot_mode_parse(const char *s);
const char *db_boot_mode_name(int mode);

/* "ram" "disk" "server" "super" <-> enum write_mode; -EINVAL if unknown. */
int db_write_mode_parse(const char *s);
const char *db_write_mode_name(int mode);

/* Everything the boot script needs for one client (effective values:
 * client link, else its group, else the image's defaults). */
struct link_info {
	char mac[18];		/* lower-case colon form */
	char name[64];		/* client name, e.g. PC-001 */
	char hostname[64];
	char group[64];
	char image[64];		/* image name (for humans and messages) */
	char image_id[40];	/* store ID (file names, URLs) */
	unsigned version;	/* version this client boots */
	char kernel[256];	/* path served over HTTP, e.g.
				 * "boot/<image_id>/v1/vmlinuz"; "" = none */
	char initrd[256];	/* likewise, the linkboot initramfs */
	int split_initrd;	/* the version has the split set next to
				 * initrd (store/initramfs.h): core, storage
				 * if used, the PC's own NIC driver */
	char root[64];		/* linkboot.root= value, "" = agent default */
	char cmdline[512];	/* extra kernel arguments of the image */
	unsigned ram_cache_mib;
	char ssd_cache[16];	/* "off", "auto" or a MiB number */
	int write_mode;		/* enum write_mode */
	int keep_overlay;	/* server mode: the overlay outlives the boot */
	unsigned overlay_mib;	/* RAM for writes, 0 = the agent's default */
	char machine_id[33];	/* 32 lower-case hex digits */
	int image_missing;	/* the image file is gone: the boot script
				 * shows `linkboot image repair --scan DIR` */
	int64_t boot_seq;	/* boots counted so far (credential.h) */
	int boot_mode;		/* enum boot_mode */
	/* boot menu (links.h): entries, comma-separated ("" = none), the
	 * default entry, seconds to wait; what the PC picked this boot */
	char menu[256];
	char menu_default[64];
	unsigned menu_timeout;
	char menu_picked[64];
	int picked_other;	/* this boot runs another image of its menu */
	int rescue;		/* this boot is the menu's rescue entry */
	int secure_boot;	/* enum secure_boot (config.h): the client's
				 * --secure-boot, AUTO = the server's */
	char wake_subnet[20];	/* "" or A.B.C.D/N (links.h) */
	unsigned prestage_version; /* woken to pre-stage this version of
				    * its image (prestage.h), 0 = no */
};

/* Open (create, migrate) <state_dir>/linkboot.db. 0 or -errno. */
int db_open(const char *state_dir, struct db **out);
void db_close(struct db *db);

/* 0, -ENOENT for an unknown or unlinked MAC, other -errno on DB errors. */
int db_link_lookup(struct db *db, const uint8_t mac[6], struct link_info *out);

/*
 * An NBD export name resolved: "NAME" or "NAME@VERSION" (an image version,
 * read-only, for anyone), or a client credential ("c1-...", credential.h:
 * that client's link and overlay), or "CREDENTIAL/N": that client's extra
 * disk at LUN N (disks.h).
 */
struct export_info {
	char name[128];		/* as asked; a credential: never log it */
	char label[48];		/* for logs: the name, or "credential of MAC" */
	char image_id[40];
	unsigned version;
	uint64_t size;		/* bytes */
	int read_only;		/* NAME / NAME@VERSION exports are */
	int write_mode;		/* a credential: the client's write mode */
	char client_mac[18];	/* a credential: whose overlay; else "" */
	int cred_kind;		/* enum cred_kind, or -1 for an image name */
	char cred_hash[65];	/* a credential: its hash (revocation) */
	char peer_ip[16];	/* a credential: the address it came from */
	int64_t boot_seq;	/* a credential: the client's boot it serves;
				 * a non-kept overlay of another boot is
				 * dropped */
	int drop_at_boot;	/* a server overlay that is never kept (a SAN
				 * PC's restore-on-reboot), whatever
				 * client keep says */
	uint64_t overlay_max;	/* set by NBD: a client overlay's cap in
				 * bytes, 0 = the image size */
	unsigned lun;		/* 0: the client's system disk; 1..7: one
				 * of its extra disks (disks.h) */
	int overlay_fresh;	/* an extra disk whose overlay starts empty
				 * (another boot of a `ram` disk, a new
				 * disk) */
};

/*
 * Resolve an export name asked for from peer_ip (dotted quad). 0;
 * -ENOENT no such export (or a revoked credential); -EACCES a credential
 * bound to another address, or a super credential whose grant was
 * withdrawn; other -errno.
 */
int db_export_resolve(struct db *db, const char *name, const char *peer_ip,
		      struct export_info *out);

/* The same for a credential string of any form (a SAN boot's CHAP user
 * name too); name stays empty: never echo a credential. */
int db_export_of_credential(struct db *db, const char *cred,
			    const char *peer_ip, struct export_info *out);

/* Call fn for every listable export (NBD_OPT_LIST): images, NAME@VERSION.
 * Client tokens are never listed. Stops early when fn returns non-zero. */
int db_export_list(struct db *db,
		   int (*fn)(void *arg, const char *name, const char *desc),
		   void *arg);

/* Record a boot event for `linkboot status` (DHCP, script, NBD connect,
 * agent reports). kind: "dhcp", "script", "nbd", "report". detail: free
 * text. Best effort: errors are logged, not returned. A "report" detail
 * is also parsed as db_stats_update()'s key=value lines (`status`). */
void db_record_event(struct db *db, const char *mac, const char *kind,
		     const char *detail);

/* The client's last max events, oldest first, as "TIME KIND DETAIL"
 * joined by " | " into out (`linkboot why`). 0 or -errno. */
int db_client_events(struct db *db, const char *mac, unsigned max,
		     char *out, size_t outsz);
/* Its agent's last boot timeline (a report's timeline=), "" if none. */
int db_client_timeline(struct db *db, const char *mac, char *out,
		       size_t outsz);

/* Live NBD and iSCSI sessions (so versions in use are never deleted, and
 * `status` shows who is online and what it was served). Called by the
 * servers at export selection / login and at disconnect; proto: "nbd",
 * "iscsi". 0 or -errno; *id names the row for db_session_remove(). */
int db_session_add(struct db *db, const struct export_info *ei,
		   const char *peer, const char *proto, int64_t *id);
void db_session_remove(struct db *db, int64_t id);

/* What a session has served so far, as its server counts it. */
struct session_counters {
	uint64_t bytes_read, bytes_written, io_errors;
	/* kept by db_session_flush() */
	uint64_t flushed;		/* sum of the three when last written */
	int64_t flush_at;		/* next write, ms (0: at the first) */
};

/* Write c to session id's row when it changed and DB_SESSION_FLUSH_MS
 * have passed since the last write: the servers call it from their tick.
 * The time of the next call wanted, or -1 when nothing is pending. */
#define DB_SESSION_FLUSH_MS 5000
int64_t db_session_flush(struct db *db, int64_t id,
			 struct session_counters *c, int64_t now);

/* An agent's counters report: key=value lines, one per line. Keys:
 * boot_id (text), uptime_ms, bytes_from_server, ram_hits, ram_misses,
 * ssd_hits, ssd_misses, overlay_bytes (decimal integers), timeline (text,
 * the rest of the line). Unknown keys are ignored (newer agents); a bad
 * number is -EINVAL. Replaces the client's previous report. 0 or -errno. */
int db_stats_update(struct db *db, const char *mac, const char *kv_body);

#endif
