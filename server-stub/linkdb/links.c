/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Client links (links.h): each operation checks what it was given (and
 * says which field is wrong and how to fix it), then writes the clients
 * table in one transaction. Only what the admin set is stored; the
 * effective values (client -> group -> image -> built-in) are worked out
 * at lookup time by db_link_lookup() (db.c), so a changed image default
 * reaches every client that inherits it.
 */

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "credential.h"
#include "db.h"
#include "disks.h"
#include "db_internal.h"
#include "lb_err.h"
#include "lb_util.h"
#include "links.h"

#define LINK_NAME_MAX_SEQ	99999
#define LINK_LABEL_MAX		63

static const struct err_desc link_errs[] = {
	{ EBUSY_DB_LOCKED, "the link DB is locked by another process "
	  "(nothing changed; try again)" },
	{ EINVAL_LINK_MAC, "not a MAC address" },
	{ EINVAL_LINK_NAME, "bad client name" },
	{ EINVAL_LINK_HOSTNAME, "bad host name" },
	{ EINVAL_LINK_GROUP, "bad group name" },
	{ EINVAL_LINK_RAM_CACHE, "bad RAM cache size" },
	{ EINVAL_LINK_SSD_CACHE, "bad SSD cache size" },
	{ EINVAL_LINK_WRITE, "bad write mode" },
	{ EINVAL_LINK_OVERLAY, "bad overlay size" },
	{ EINVAL_LINK_BOOT, "bad boot mode" },
	{ EINVAL_LINK_MENU, "bad boot menu" },
	{ EINVAL_LINK_SECURE_BOOT, "bad Secure Boot setting" },
	{ EINVAL_LINK_WAKE_SUBNET, "bad wake subnet" },
	{ EINVAL_LINK_VERSION, "bad version number" },
	{ EINVAL_LINK_NO_IMAGE, "no image for the client" },
	{ EINVAL_LINK_NOTHING, "nothing to change" },
	{ EINVAL_LINK_PER_MAC, "a per-client field given for a group" },
	{ ENOENT_LINK_IMAGE, "no such image" },
	{ ENOENT_LINK_VERSION, "the image has no such version" },
	{ ENOENT_LINK_CLIENT, "not a linked client" },
	{ ENOENT_LINK_GROUP, "no client in that group" },
	{ ENOENT_LINK_UNLINKED, "the client has no image" },
	{ EEXIST_LINK_CLIENT, "the client is already linked" },
	{ EEXIST_LINK_NAME, "another client has that name" },
	{ EBUSY_LINK_SUPER, "another client is the super client of the image" },
	{ EBUSY_LINK_SUPER_MOVE, "the super client cannot move" },
	{ ENOSPC_LINK_NAMES, "no free default client name" },
	{ EINVAL_DISK_LUN, "bad LUN" },
	{ EINVAL_DISK_MODE, "bad disk write mode" },
	{ ENOENT_DISK, "no disk at that LUN" },
	{ EEXIST_DISK_LUN, "a disk is already at that LUN" },
	{ ENOSPC_DISK_LUNS, "no free LUN" },
};

void links_err_register(void)
{
	err_register(MOD_DB, "db", link_errs, ARRAY_SIZE(link_errs));
}

/*
 * The stored fields, in the order the INSERT names them. clearable: the
 * value "inherit" (for the group also "none") stores NULL.
 */
enum link_field_id {
	F_IMAGE, F_NAME, F_HOSTNAME, F_GROUP, F_RAM_CACHE, F_SSD_CACHE,
	F_WRITE, F_VERSION, F_OVERLAY, F_BOOT, F_SECURE_BOOT, F_MENU,
	F_MENU_DEFAULT, F_MENU_TIMEOUT, F_WAKE_SUBNET, F_COUNT,
};

static const struct link_field {
	const char *column;
	size_t opt;		/* offset in struct link_opts */
	int integer;		/* bound as a number */
	int clearable;
} link_fields[F_COUNT] = {
	[F_IMAGE] = { "image_id", offsetof(struct link_opts, image), 0, 0 },
	[F_NAME] = { "name", offsetof(struct link_opts, name), 0, 0 },
	[F_HOSTNAME] = { "hostname", offsetof(struct link_opts, hostname), 0, 0 },
	[F_GROUP] = { "grp", offsetof(struct link_opts, group), 0, 1 },
	[F_RAM_CACHE] = { "ram_cache_mib", offsetof(struct link_opts, ram_cache), 1, 1 },
	[F_SSD_CACHE] = { "ssd_cache", offsetof(struct link_opts, ssd_cache), 0, 1 },
	[F_WRITE] = { "write_mode", offsetof(struct link_opts, write), 0, 1 },
	[F_VERSION] = { "version", offsetof(struct link_opts, version), 1, 1 },
	[F_OVERLAY] = { "overlay_mib", offsetof(struct link_opts, overlay), 1, 1 },
	[F_BOOT] = { "boot_mode", offsetof(struct link_opts, boot), 0, 1 },
	[F_SECURE_BOOT] = { "secure_boot",
			    offsetof(struct link_opts, secure_boot), 0, 1 },
	[F_MENU] = { "menu", offsetof(struct link_opts, menu), 0, 1 },
	[F_MENU_DEFAULT] = { "menu_default",
			     offsetof(struct link_opts, menu_default), 0, 1 },
	[F_MENU_TIMEOUT] = { "menu_timeout",
			     offsetof(struct link_opts, menu_timeout), 1, 1 },
	[F_WAKE_SUBNET] = { "wake_subnet",
			    offsetof(struct link_opts, wake_subnet), 0, 1 },
};

/* What an operation stores: given[f] set, value[f] NULL = SQL NULL. */
struct link_values {
	int given[F_COUNT];
	const char *value[F_COUNT];
	char image_id[40];
};

static const char *opt_of(const struct link_opts *o, enum link_field_id f)
{
	return *(const char *const *)((const char *)o + link_fields[f].opt);
}

static int is_inherit(const char *v)
{
	return v && !strcmp(v, "inherit");
}

/* write "super" is the super flag and its grant, never a stored mode */
static int wants_super(const struct link_opts *o)
{
	return o->write && !strcmp(o->write, "super");
}

static int db_failed(struct db *db, int rc, char *why, size_t len)
{
	if (rc == EBUSY_DB_LOCKED)	/* SQLite's "database is locked"
					 * does not say by whom */
		return db_why(why, len, rc, "%s", err_str(rc));
	return db_why(why, len, rc, "database: %s",
		      sqlite3_errmsg(db_sqlite(db)));
}

/* ---- checks that need no DB: each names the field and the fix ---------- */

int link_menu_split(const char *menu, char out[LINK_MENU_MAX][64])
{
	int n = 0;

	while (menu && *menu) {
		size_t l = strcspn(menu, ",");

		if (n == LINK_MENU_MAX || l == 0 || l >= 64)
			return -EINVAL;
		memcpy(out[n], menu, l);
		out[n][l] = '\0';
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)out[n][i]) &&
			    !strchr("._-", out[n][i]))
				return -EINVAL;
		n++;
		menu += l + (menu[l] == ',');
	}
	return n;
}

static int number_in(const char *v, uint64_t min, uint64_t max);

static int check_menu(const struct link_opts *o, char *why, size_t len)
{
	char e[LINK_MENU_MAX][64];
	const char *v;
	int n = 0, i;

	if ((v = o->menu) && !is_inherit(v) &&
	    (n = link_menu_split(v, e)) < 1)
		return db_why(why, len, EINVAL_LINK_MENU, "--menu '%s': give up "
			      "to %d entries, comma-separated: image names, "
			      "'local' (the PC's own disk), 'rescue' (its image's "
			      "rescue shell), e.g. lab,win,local", v,
			      LINK_MENU_MAX);
	if ((v = o->menu_timeout) && !is_inherit(v) && !number_in(v, 0, 3600))
		return db_why(why, len, EINVAL_LINK_MENU, "--menu-timeout '%s': "
			      "give seconds, 0 to 3600", v);
	if ((v = o->menu_default) && !is_inherit(v) && o->menu &&
	    !is_inherit(o->menu)) {
		for (i = 0; i < n && strcmp(e[i], v); i++)
			;
		if (i == n)
			return db_why(why, len, EINVAL_LINK_MENU, "--menu-default "
				      "'%s': not an entry of --menu '%s'", v,
				      o->menu);
	}
	return 0;
}

int link_mac(const char *in, char out[18], char *why, size_t len)
{
	uint8_t m[6];

	if (!in || mac_parse(in, m) != 0)
		return db_why(why, len, EINVAL_LINK_MAC, "MAC '%s': not a MAC "
			      "address (write it like 52:54:00:12:34:56)",
			      in ? in : "");
	mac_format(m, out);
	return 0;
}

/* Names: letters, digits, '-', and for all but host names '_' and '.';
 * a host name neither begins nor ends with '-' (RFC 1123 §2.1). */
static int check_label(const char *field, const char *s, int hostname,
		       int rc, char *why, size_t len)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > LINK_LABEL_MAX)
		return db_why(why, len, rc, "--%s '%s': must be 1 to 63 "
			      "characters", field, s);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' ||
		    (!hostname && (c == '_' || c == '.')))
			continue;
		return db_why(why, len, rc, "--%s '%s': use letters, digits "
			      "and '-'%s only", field, s,
			      hostname ? "" : " (and '_', '.')");
	}
	if (hostname && (s[0] == '-' || s[n - 1] == '-'))
		return db_why(why, len, rc, "--hostname '%s': must not begin "
			      "or end with '-' (RFC 1123)", s);
	return 0;
}

static int number_in(const char *v, uint64_t min, uint64_t max)
{
	uint64_t x;

	return parse_u64(v, min, max, &x) == 0;
}

static int check_labels(const struct link_opts *o, char *why, size_t len)
{
	int rc;

	if (o->name && (rc = check_label("name", o->name, 0,
					 EINVAL_LINK_NAME, why, len)) != 0)
		return rc;
	if (o->hostname && (rc = check_label("hostname", o->hostname, 1,
					     EINVAL_LINK_HOSTNAME, why,
					     len)) != 0)
		return rc;
	if (o->group && (rc = check_label("group", o->group, 0,
					  EINVAL_LINK_GROUP, why, len)) != 0)
		return rc;
	return 0;
}

static int check_sizes(const struct link_opts *o, char *why, size_t len)
{
	const char *v;

	if ((v = o->ram_cache) && !is_inherit(v) && !number_in(v, 0, 1u << 20))
		return db_why(why, len, EINVAL_LINK_RAM_CACHE, "--ram-cache "
			      "'%s': give the RAM cache size in MiB, 0 to "
			      "1048576 (e.g. 256)", v);
	if ((v = o->ssd_cache) && !is_inherit(v) && strcmp(v, "auto") &&
	    strcmp(v, "off") && !number_in(v, 1, 1u << 24))
		return db_why(why, len, EINVAL_LINK_SSD_CACHE, "--ssd-cache "
			      "'%s': give a size in MiB, 'auto' (the whole "
			      "linkboot-cache partition) or 'off'", v);
	if ((v = o->overlay) && !is_inherit(v) && !number_in(v, 1, 1u << 24))
		return db_why(why, len, EINVAL_LINK_OVERLAY, "--overlay '%s': "
			      "give the RAM for the PC's writes in MiB (e.g. "
			      "256) or 'inherit'", v);
	return 0;
}

int link_opts_check(const struct link_opts *o, char *why, size_t len)
{
	const char *v;
	int rc;

	if ((rc = check_labels(o, why, len)) != 0 ||
	    (rc = check_sizes(o, why, len)) != 0)
		return rc;
	if ((v = o->write) && !is_inherit(v) && db_write_mode_parse(v) < 0)
		return db_why(why, len, EINVAL_LINK_WRITE, "--write '%s': give "
			      "ram, disk, server or super", v);
	if ((v = o->boot) && !is_inherit(v) && db_boot_mode_parse(v) < 0)
		return db_why(why, len, EINVAL_LINK_BOOT, "--boot '%s': give "
			      "linux (kernel + root over NBD), san (the PC's "
			      "iSCSI disk, e.g. Windows) or 'inherit'", v);
	if ((v = o->secure_boot) && !is_inherit(v) && strcmp(v, "on") &&
	    strcmp(v, "off"))
		return db_why(why, len, EINVAL_LINK_SECURE_BOOT, "--secure-boot "
			      "'%s': give on (the PC's firmware has Secure Boot "
			      "on: signed shim + GRUB), off (iPXE) or auto (the "
			      "server's secure_boot)", v);
	if ((v = o->wake_subnet) && !is_inherit(v) && cidr_broadcast(v, 8, 30,
								NULL) != 0)
		return db_why(why, len, EINVAL_LINK_WAKE_SUBNET, "--wake-subnet "
			      "'%s': give the PC's routed subnet as A.B.C.D/N "
			      "(N 8 to 30; its router must forward directed "
			      "broadcasts) or 'inherit'", v);
	if ((v = o->version) && !is_inherit(v) && !number_in(v, 1, INT32_MAX))
		return db_why(why, len, EINVAL_LINK_VERSION, "--version '%s': "
			      "give a version number (`linkboot image list`) "
			      "or 'inherit'", v);
	return check_menu(o, why, len);
}

static int fields_given(const struct link_opts *o)
{
	for (int f = 0; f < F_COUNT; f++)
		if (opt_of(o, (enum link_field_id)f) &&
		    !(f == F_WRITE && wants_super(o)))
			return 1;
	return 0;
}

/* ---- lookups ------------------------------------------------------------ */

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_errno(rc);
}

/* Does the one-text-parameter query find a row? 1, 0 or -errno. */
static int row_exists(struct db *db, const char *sql, const char *a,
		      const char *b)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, sql, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static int client_exists(struct db *db, const char *mac)
{
	return row_exists(db, "SELECT 1 FROM clients WHERE mac = ?1", mac,
			  NULL);
}

/* A name another client than mac (may be "") already has. */
static int name_taken(struct db *db, const char *name, const char *mac)
{
	return row_exists(db, "SELECT 1 FROM clients WHERE name = ?1 AND "
			  "mac != ?2", name, mac);
}

static int image_id_of_name(struct db *db, const char *name, char id[40],
			    char *why, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT id FROM images WHERE name = ?1",
			     &st)) != 0)
		return db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_text(st, 0, id, 40);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return db_failed(db, db_errno(rc), why, len);
	return db_why(why, len, ENOENT_LINK_IMAGE, "--image '%s': no such "
		      "image (see `linkboot image list`; add one with "
		      "`linkboot image add NAME FILE`)", name);
}

/*
 * A pinned version must exist in the image the client will boot: the one
 * given, else (one client) its current one. A group's clients may be on
 * several images: there only a given image is checked.
 */
static int check_version_exists(struct db *db, const char *version,
				const char *image_id, const char *mac,
				char *why, size_t len)
{
	char own[40], name[64];
	sqlite3_stmt *st;
	int rc, found;

	if (!version || is_inherit(version))
		return 0;
	if (!image_id && mac && db_client_image(db, mac, own, sizeof(own)) == 0)
		image_id = own;
	if (!image_id)
		return 0;
	if ((rc = db_prepare(db, "SELECT name, EXISTS (SELECT 1 FROM versions"
			     " WHERE image_id = ?1 AND version = ?2) FROM "
			     "images WHERE id = ?1", &st)) != 0)
		return db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, atoll(version));
	rc = sqlite3_step(st);
	found = rc == SQLITE_ROW && sqlite3_column_int(st, 1);
	db_col_text(st, 0, name, sizeof(name));
	sqlite3_finalize(st);
	if (found)
		return 0;
	return db_why(why, len, ENOENT_LINK_VERSION, "--version %s: image %s "
		      "has no such version (see `linkboot image versions %s`)",
		      version, name, name);
}

/* Every image a menu names exists (a missing one could not boot). */
static int check_menu_images(struct db *db, const char *menu, char *why,
			     size_t len)
{
	char e[LINK_MENU_MAX][64], id[40];
	int n, rc;

	if (!menu || is_inherit(menu) || (n = link_menu_split(menu, e)) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (!strcmp(e[i], "local") || !strcmp(e[i], "rescue"))
			continue;
		if ((rc = image_id_of_name(db, e[i], id, why, len)) != 0)
			return db_why(why, len, rc, "--menu: entry '%s' is no "
				      "image (see `linkboot image list`), nor "
				      "'local' or 'rescue'", e[i]);
	}
	return 0;
}

/* Resolve o into what is stored (image name -> ID, "inherit" -> NULL). */
static int link_values(struct db *db, const struct link_opts *o,
		       const char *mac, struct link_values *v, char *why,
		       size_t len)
{
	int rc;

	memset(v, 0, sizeof(*v));
	for (int f = 0; f < F_COUNT; f++) {
		const char *val = opt_of(o, (enum link_field_id)f);

		if (!val || (f == F_WRITE && wants_super(o)))
			continue;
		v->given[f] = 1;
		if (link_fields[f].clearable && (is_inherit(val) ||
		    (f == F_GROUP && !strcmp(val, "none"))))
			val = NULL;
		v->value[f] = val;
	}
	if (o->image) {
		if ((rc = image_id_of_name(db, o->image, v->image_id, why,
					   len)) != 0)
			return rc;
		v->value[F_IMAGE] = v->image_id;
	}
	if ((rc = check_menu_images(db, o->menu, why, len)) != 0)
		return rc;
	return check_version_exists(db, o->version,
				    o->image ? v->image_id : NULL, mac, why,
				    len);
}

static int ensure_group(struct db *db, const struct link_values *v)
{
	sqlite3_stmt *st;
	int rc;

	if (!v->value[F_GROUP])
		return 0;
	if ((rc = db_prepare(db, "INSERT OR IGNORE INTO groups(name) "
			     "VALUES(?1)", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, v->value[F_GROUP], -1, SQLITE_STATIC);
	rc = step_done(st);
	sqlite3_finalize(st);
	return rc;
}

static void bind_value(sqlite3_stmt *st, int idx, enum link_field_id f,
		       const char *val)
{
	if (!val)
		sqlite3_bind_null(st, idx);
	else if (link_fields[f].integer)
		sqlite3_bind_int64(st, idx, atoll(val));
	else
		sqlite3_bind_text(st, idx, val, -1, SQLITE_STATIC);
}

/* ---- the super client ---------------------------------------------------- */

/* Another client with the same effective image that is the super client. */
static int super_other(struct db *db, const char *mac, const char *image_id,
		       char *busy_mac)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT c.mac FROM clients c LEFT JOIN "
				 "groups g ON g.name = c.grp WHERE c.super = 1"
				 " AND c.mac != ?1 AND COALESCE(c.image_id, "
				 "g.image_id) = ?2", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, image_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (busy_mac)
			db_col_text(st, 0, busy_mac, 18);
		rc = -EBUSY;
	} else {
		rc = rc == SQLITE_DONE ? 0 : db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The super flag and a pending grant (credential.h), inside a transaction. */
static int super_update(struct db *db, const char *mac, int on,
			char *busy_mac)
{
	char image_id[40];
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_client_image(db, mac, image_id, sizeof(image_id))) != 0)
		return rc;
	if (on && (rc = super_other(db, mac, image_id, busy_mac)) != 0)
		return rc;
	if ((rc = db_prepare(db, "UPDATE clients SET super = ?1, super_token ="
				 " ?2 WHERE mac = ?3", &st)) != 0)
		return rc;
	sqlite3_bind_int(st, 1, on ? 1 : 0);
	sqlite3_bind_text(st, 2, on ? DB_SUPER_PENDING : NULL, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 3, mac, -1, SQLITE_STATIC);
	rc = step_done(st);
	sqlite3_finalize(st);
	return rc;
}

/* super_update() with the admin's reason. */
static int super_set(struct db *db, const char *mac, int on, char *why,
		     size_t len)
{
	char other[18] = "";
	int rc = super_update(db, mac, on, other);

	if (rc == -ENOENT)
		return db_why(why, len, ENOENT_LINK_UNLINKED, "%s is not linked "
			      "to an image (link it with `linkboot client add "
			      "%s --image NAME`)", mac, mac);
	if (rc == -EBUSY)
		return db_why(why, len, EBUSY_LINK_SUPER, "%s: %s is already the "
			      "super client of this image; run `linkboot client"
			      " super %s off` first", mac, other, other);
	return rc ? db_failed(db, rc, why, len) : 0;
}

/* After BEGIN IMMEDIATE and the work that returned rc: COMMIT, or roll
 * the whole operation back. */
static int end_transaction(struct db *db, int rc, char *why, size_t len)
{
	if (rc == 0 && (rc = db_commit(db)) != 0)
		rc = db_failed(db, rc, why, len);
	if (rc)
		db_rollback(db);
	return rc;
}

static int begin(struct db *db, char *why, size_t len)
{
	int rc = db_begin(db);

	return rc ? db_failed(db, rc, why, len) : 0;
}

int db_client_super(struct db *db, const char *mac, int on, char *busy_mac)
{
	int rc;

	if ((rc = db_begin(db)) != 0)
		return rc;
	rc = super_update(db, mac, on, busy_mac);
	if (rc == 0)
		rc = db_commit(db);
	if (rc)
		db_rollback(db);
	return rc;
}

int db_client_image(struct db *db, const char *mac, char *image_id,
		    size_t size)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT COALESCE(c.image_id, g.image_id) "
				 "FROM clients c LEFT JOIN groups g ON "
				 "g.name = c.grp WHERE c.mac = ?", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && !db_col_is_null(st, 0)) {
		db_col_text(st, 0, image_id, size);
		rc = 0;
	} else {
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT :
			db_errno(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int db_image_id(struct db *db, const char *name, char id[40])
{
	return image_id_of_name(db, name, id, NULL, 0);
}

int db_menu_pick(struct db *db, const char *mac, const char *pick,
		 const char *label)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "UPDATE clients SET boot_pick = ?2, "
			     "menu_picked = IFNULL(?3, menu_picked) WHERE "
			     "mac = ?1", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pick, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
	rc = step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int link_super(struct db *db, const char *mac_in, int on, char *why,
	       size_t len)
{
	char mac[18];
	int rc;

	if ((rc = link_mac(mac_in, mac, why, len)) != 0 ||
	    (rc = begin(db, why, len)) != 0)
		return rc;
	return end_transaction(db, super_set(db, mac, on, why, len), why, len);
}

/* ---- add ------------------------------------------------------------------ */

static int next_free_name(struct db *db, char *out, size_t size)
{
	int n, rc;

	for (n = 1; n <= LINK_NAME_MAX_SEQ; n++) {
		snprintf(out, size, LINK_NAME_PATTERN, n);
		if ((rc = name_taken(db, out, "")) <= 0)
			return rc;
	}
	return ENOSPC_LINK_NAMES;
}

/* The name given (if free) or the next free PC-NNN; the host name given
 * or the name in lower case. */
static int pick_names(struct db *db, const char *mac,
		      const struct link_opts *o, char name[64],
		      char host[64], char *why, size_t len)
{
	int rc;

	if (o->name) {
		snprintf(name, 64, "%s", o->name);
		if ((rc = name_taken(db, name, mac)) > 0)
			return db_why(why, len, EEXIST_LINK_NAME, "--name %s: "
				      "another client has that name (see "
				      "`linkboot client list`)", name);
	} else if ((rc = next_free_name(db, name, 64)) == ENOSPC_LINK_NAMES) {
		return db_why(why, len, rc, "no free name like PC-001 left: "
			      "give --name");
	}
	if (rc < 0)
		return db_failed(db, rc, why, len);
	snprintf(host, 64, "%s", o->hostname ? o->hostname : name);
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!o->hostname && check_label("hostname", host, 1,
					EINVAL_LINK_HOSTNAME, NULL, 0) != 0)
		return db_why(why, len, EINVAL_LINK_HOSTNAME, "name %s is no "
			      "host name (letters, digits and '-'): give "
			      "--hostname for it", name);
	return 0;
}

static int insert_client(struct db *db, const char *mac, const char *name,
			 const char *host, const struct link_values *v,
			 char *why, size_t len)
{
	char token[DB_TOKEN_HEX + 1], machine_id[DB_TOKEN_HEX + 1];
	char now[DB_TIME_LEN], sql[512];
	size_t n;
	sqlite3_stmt *st;
	int rc;

	/* clients.token is unread since schema v3 but UNIQUE NOT NULL */
	if ((rc = db_random_hex(token, DB_TOKEN_HEX)) != 0 ||
	    (rc = db_random_hex(machine_id, DB_TOKEN_HEX)) != 0)
		return db_why(why, len, rc, "no random numbers: %s",
			      err_str(rc));
	n = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO clients(mac, "
			     "token, machine_id, created");
	for (int f = 0; f < F_COUNT; f++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", %s",
				      link_fields[f].column);
	n += (size_t)snprintf(sql + n, sizeof(sql) - n, ") VALUES(?1, ?2, "
			      "?3, ?4");
	for (int f = 0; f < F_COUNT; f++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", ?%d", f + 5);
	snprintf(sql + n, sizeof(sql) - n, ")");
	if ((rc = db_prepare(db, sql, &st)) != 0)
		return db_failed(db, rc, why, len);
	db_now_iso(now);
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	for (int f = 0; f < F_COUNT; f++)
		bind_value(st, f + 5, (enum link_field_id)f,
			   f == F_NAME ? name : f == F_HOSTNAME ? host :
			   v->value[f]);
	rc = step_done(st);
	sqlite3_finalize(st);
	if (rc == -EEXIST)
		return db_why(why, len, EEXIST_LINK_CLIENT, "%s is already "
			      "linked (change it with `linkboot client set %s "
			      "...`)", mac, mac);
	return rc ? db_failed(db, rc, why, len) : 0;
}

static int add_in_transaction(struct db *db, const char *mac,
			      const struct link_opts *o, char name[64],
			      char host[64], char *why, size_t len)
{
	struct link_values v;
	int rc;

	if ((rc = link_values(db, o, NULL, &v, why, len)) != 0 ||
	    (rc = pick_names(db, mac, o, name, host, why, len)) != 0)
		return rc;
	if ((rc = ensure_group(db, &v)) != 0)
		return db_failed(db, rc, why, len);
	if ((rc = insert_client(db, mac, name, host, &v, why, len)) != 0)
		return rc;
	return wants_super(o) ? super_set(db, mac, 1, why, len) : 0;
}

int link_add(struct db *db, const char *mac_in, const struct link_opts *o,
	     char *name, char *hostname, char *why, size_t len)
{
	char mac[18], n[64], h[64];
	int rc;

	if ((rc = link_mac(mac_in, mac, why, len)) != 0 ||
	    (rc = link_opts_check(o, why, len)) != 0)
		return rc;
	if (!o->image && !o->group)
		return db_why(why, len, EINVAL_LINK_NO_IMAGE, "--image NAME "
			      "missing (which image should %s boot? see "
			      "`linkboot image list`)", mac);
	if ((rc = begin(db, why, len)) != 0)
		return rc;
	rc = add_in_transaction(db, mac, o, n, h, why, len);
	if ((rc = end_transaction(db, rc, why, len)) != 0)
		return rc;
	if (name)
		snprintf(name, 64, "%s", n);
	if (hostname)
		snprintf(hostname, 64, "%s", h);
	return 0;
}

/* ---- set ------------------------------------------------------------------ */

/* "UPDATE clients SET <given columns> WHERE <key_column> = ?1". */
static int update_clients(struct db *db, const char *key_column,
			  const char *key, const struct link_values *v,
			  unsigned *changed)
{
	char sql[512];
	size_t n;
	sqlite3_stmt *st;
	int rc, idx = 2;

	n = (size_t)snprintf(sql, sizeof(sql), "UPDATE clients SET ");
	for (int f = 0; f < F_COUNT; f++) {
		if (!v->given[f])
			continue;
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s = ?%d",
				      idx > 2 ? ", " : "",
				      link_fields[f].column, idx);
		idx++;
	}
	snprintf(sql + n, sizeof(sql) - n, " WHERE %s = ?1", key_column);
	if ((rc = db_prepare(db, sql, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	idx = 2;
	for (int f = 0; f < F_COUNT; f++)
		if (v->given[f])
			bind_value(st, idx++, (enum link_field_id)f,
				   v->value[f]);
	rc = step_done(st);
	sqlite3_finalize(st);
	if (rc == 0 && changed)
		*changed = (unsigned)sqlite3_changes(db_sqlite(db));
	return rc;
}

/* Would this change move a super client to another image or group (and
 * leave two super clients on one image)? */
static int moves_super(struct db *db, const char *mac, const char *group,
		       const struct link_opts *o)
{
	if (mac && (o->image || o->group))
		return row_exists(db, "SELECT 1 FROM clients WHERE mac = ?1 "
				  "AND super = 1", mac, NULL);
	if (!mac && o->image)
		return row_exists(db, "SELECT 1 FROM clients WHERE grp = ?1 "
				  "AND super = 1", group, NULL);
	return 0;
}

static int set_in_transaction(struct db *db, const char *mac,
			      const struct link_opts *o, char *why,
			      size_t len)
{
	struct link_values v;
	int rc;

	if ((rc = client_exists(db, mac)) <= 0)
		return rc < 0 ? db_failed(db, rc, why, len) :
			db_why(why, len, ENOENT_LINK_CLIENT, "%s is not linked "
			       "(link it with `linkboot client add %s --image "
			       "NAME`)", mac, mac);
	if ((rc = link_values(db, o, mac, &v, why, len)) != 0)
		return rc;
	if ((rc = ensure_group(db, &v)) != 0)
		return db_failed(db, rc, why, len);
	if (o->name && name_taken(db, o->name, mac) > 0)
		return db_why(why, len, EEXIST_LINK_NAME, "--name %s: another "
			      "client has that name (see `linkboot client "
			      "list`)", o->name);
	if (moves_super(db, mac, NULL, o) > 0)
		return db_why(why, len, EBUSY_LINK_SUPER_MOVE, "%s is the super "
			      "client of its image: run `linkboot client super "
			      "%s off` before moving it to another image or "
			      "group", mac, mac);
	if (fields_given(o) && (rc = update_clients(db, "mac", mac, &v,
						    NULL)) != 0)
		return db_failed(db, rc, why, len);
	return wants_super(o) ? super_set(db, mac, 1, why, len) : 0;
}

int link_set(struct db *db, const char *mac_in, const struct link_opts *o,
	     char *why, size_t len)
{
	char mac[18];
	int rc;

	if ((rc = link_mac(mac_in, mac, why, len)) != 0 ||
	    (rc = link_opts_check(o, why, len)) != 0)
		return rc;
	if (!fields_given(o) && !wants_super(o))
		return db_why(why, len, EINVAL_LINK_NOTHING, "nothing to "
			      "change: give --image, --ram-cache, --ssd-cache,"
			      " --write, --overlay, ...");
	if ((rc = begin(db, why, len)) != 0)
		return rc;
	return end_transaction(db, set_in_transaction(db, mac, o, why, len),
			      why, len);
}

static int group_in_transaction(struct db *db, const char *group,
				const struct link_opts *o, unsigned *changed,
				char *why, size_t len)
{
	struct link_values v;
	int rc;

	if ((rc = link_values(db, o, NULL, &v, why, len)) != 0)
		return rc;
	if (moves_super(db, NULL, group, o) > 0)
		return db_why(why, len, EBUSY_LINK_SUPER_MOVE, "a client of the "
			      "group is the super client of its image: run "
			      "`linkboot client super MAC off` before moving "
			      "it to another image or group");
	if ((rc = update_clients(db, "grp", group, &v, changed)) != 0)
		return db_failed(db, rc, why, len);
	if (*changed == 0)
		return db_why(why, len, ENOENT_LINK_GROUP, "no client is in "
			      "group %s (see `linkboot client list -j`; put "
			      "one there with `linkboot client set MAC --group "
			      "%s`)", group, group);
	return 0;
}

int link_set_group(struct db *db, const char *group,
		   const struct link_opts *o, unsigned *changed, char *why,
		   size_t len)
{
	unsigned n = 0;
	int rc;

	if (!group || !strcmp(group, "none"))
		return db_why(why, len, EINVAL_LINK_GROUP, "--group: give the "
			      "group whose clients to change");
	if ((rc = check_label("group", group, 0, EINVAL_LINK_GROUP, why,
			      len)) != 0 ||
	    (rc = link_opts_check(o, why, len)) != 0)
		return rc;
	if (o->name || o->hostname || o->group || wants_super(o))
		return db_why(why, len, EINVAL_LINK_PER_MAC, "--name, "
			      "--hostname, --group and --write super: set "
			      "them per MAC (names are unique, one super "
			      "client per image)");
	if (!fields_given(o))
		return db_why(why, len, EINVAL_LINK_NOTHING, "nothing to "
			      "change: give --image, --ram-cache, --ssd-cache,"
			      " --write, --overlay, ...");
	if ((rc = begin(db, why, len)) != 0)
		return rc;
	rc = end_transaction(db, group_in_transaction(db, group, o, &n, why,
						     len), why, len);
	if (changed)
		*changed = rc ? 0 : n;
	return rc;
}

int link_relink(struct db *db, const char *mac, const char *image,
		const char *group, char *why, size_t len)
{
	struct link_opts o = { .image = image, .group = group };

	return link_set(db, mac, &o, why, len);
}

/* ---- rm, keep ------------------------------------------------------------ */

/* One statement on one client: ?1 = mac, ?2 = value (if it has one). */
static int update_one(struct db *db, const char *sql, const char *mac_in,
		      int value, char *why, size_t len)
{
	char mac[18];
	sqlite3_stmt *st;
	int rc;

	if ((rc = link_mac(mac_in, mac, why, len)) != 0)
		return rc;
	if ((rc = db_prepare(db, sql, &st)) != 0)
		return db_failed(db, rc, why, len);
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) > 1)
		sqlite3_bind_int(st, 2, value);
	rc = step_done(st);
	sqlite3_finalize(st);
	if (rc)
		return db_failed(db, rc, why, len);
	if (sqlite3_changes(db_sqlite(db)) == 0)
		return db_why(why, len, ENOENT_LINK_CLIENT, "%s is not linked "
			      "(see `linkboot client list`)", mac);
	return 0;
}

int link_rm(struct db *db, const char *mac, char *why, size_t len)
{
	/* its credentials go with it (ON DELETE CASCADE) */
	return update_one(db, "DELETE FROM clients WHERE mac = ?1", mac, 0,
			  why, len);
}

int link_keep(struct db *db, const char *mac, int on, char *why, size_t len)
{
	return update_one(db, "UPDATE clients SET keep_overlay = ?2 WHERE "
			  "mac = ?1", mac, on ? 1 : 0, why, len);
}

/* ---- list, show ---------------------------------------------------------- */

#define ENTRY_SELECT \
	"SELECT c.mac, c.name, c.hostname, c.last_boot, c.super," \
	" c.keep_overlay, EXISTS (SELECT 1 FROM sessions s WHERE" \
	" s.mac = c.mac), c.grp, c.boot_seq, c.machine_id FROM clients c" \
	" WHERE ?1 = '' OR c.mac = ?1 ORDER BY c.name"

static void entry_read(struct db *db, sqlite3_stmt *st, struct link_entry *e)
{
	unsigned nboot, nadmin;
	uint8_t m[6];

	memset(e, 0, sizeof(*e));
	db_col_text(st, 0, e->mac, sizeof(e->mac));
	db_col_text(st, 1, e->name, sizeof(e->name));
	db_col_text(st, 2, e->hostname, sizeof(e->hostname));
	db_col_text(st, 3, e->last_boot, sizeof(e->last_boot));
	e->super = sqlite3_column_int(st, 4);
	e->keep_overlay = sqlite3_column_int(st, 5);
	e->online = sqlite3_column_int(st, 6);
	db_col_text(st, 7, e->group, sizeof(e->group));
	e->boots = sqlite3_column_int64(st, 8);
	db_col_text(st, 9, e->machine_id, sizeof(e->machine_id));
	e->linked = mac_parse(e->mac, m) == 0 &&
		db_link_lookup(db, m, &e->link) == 0;
	if (cred_count(db, e->mac, &nboot, &nadmin) == 0)
		e->admin_tokens = nadmin;
}

/* Entries where mac is "" (all) or that MAC. */
static int entries(struct db *db, const char *mac, struct link_entry **rows,
		   size_t *n)
{
	struct link_entry *r = NULL;
	size_t cap = 0;
	sqlite3_stmt *st;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = db_prepare(db, ENTRY_SELECT, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			void *p = realloc(r, (cap = cap ? 2 * cap : 16) *
					  sizeof(*r));

			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			r = p;
		}
		entry_read(db, st, &r[(*n)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(r);
		*n = 0;
		return db_errno(rc);
	}
	*rows = r;
	return 0;
}

int link_list(struct db *db, struct link_entry **rows, size_t *n)
{
	return entries(db, "", rows, n);
}

int link_show(struct db *db, const char *mac_in, struct link_entry *out,
	      char *why, size_t len)
{
	struct link_entry *r;
	char mac[18];
	size_t n;
	int rc;

	if ((rc = link_mac(mac_in, mac, why, len)) != 0)
		return rc;
	if ((rc = entries(db, mac, &r, &n)) != 0)
		return db_failed(db, rc, why, len);
	if (n == 0)
		rc = db_why(why, len, ENOENT_LINK_CLIENT, "%s is not linked "
			    "(see `linkboot client list`)", mac);
	else
		*out = r[0];
	free(r);
	return rc;
}
