/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Client credentials in the link DB (credential.h). */

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "credential.h"
#include "db_internal.h"
#include "lb_log.h"
#include "lb_util.h"

static const char *const cred_kind_names[] = {
	[CRED_BOOT] = "boot",
	[CRED_ADMIN] = "admin",
};

/* A step that changes rows: 0, or -errno. */
static int step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(sqlite3_errcode(db_sqlite(db)));
}

/* Record a ticket's nonce; -EALREADY if it was redeemed before. Nonces of
 * tickets that have expired anyway are dropped first, so the table holds
 * at most the tickets of the last ticket lifetime. */
static int ticket_nonce_use(struct db *db, const uint8_t nonce[TICKET_NONCE_LEN],
			    uint32_t expires)
{
	char hex[2 * TICKET_NONCE_LEN + 1], now[24];
	sqlite3_stmt *st;
	int rc;

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if ((rc = db_prepare(db, "DELETE FROM used_tickets WHERE expires < ?1",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	if ((rc = step_done(db, st)) != 0)
		return rc;
	sodium_bin2hex(hex, sizeof(hex), nonce, TICKET_NONCE_LEN);
	if ((rc = db_prepare(db, "INSERT INTO used_tickets(nonce, expires) "
			     "VALUES(?1, ?2)", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)expires);
	rc = step_done(db, st);
	return rc == -EEXIST ? -EALREADY : rc;
}

/* The super grant of mac, if pending, now belongs to credential hash. */
static int super_grant_take(struct db *db, const char *mac, const char *hash)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "UPDATE clients SET super_token = 'bound:' "
			     "|| ?1 WHERE mac = ?2 AND super = 1 AND "
			     "super_token = 'pending'", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	if ((rc = step_done(db, st)) != 0)
		return rc;
	return sqlite3_changes(db_sqlite(db)) == 1 ? 0 : -ENOENT;
}

/* Count the boot; its number. */
static int boot_count(struct db *db, const char *mac, int64_t *seq)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_now_iso(now);
	if ((rc = db_prepare(db, "UPDATE clients SET boot_seq = boot_seq + 1,"
			     " last_boot = ?1, last_seen = ?1 WHERE mac = ?2 "
			     "RETURNING boot_seq", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT :
		db_errno(rc);
}

static int cred_insert(struct db *db, const char *hash, const char *mac,
		       enum cred_kind kind, const char *peer,
		       const struct link_info *boot_link, int64_t boot_seq)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_now_iso(now);
	if ((rc = db_prepare(db, "INSERT INTO credentials(hash, mac, kind, "
			     "peer, write_mode, boot_seq, image_id, version,"
			     " created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
			     " ?9)", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cred_kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, peer && *peer ? peer : NULL, -1,
			  SQLITE_STATIC);
	if (boot_link) {
		sqlite3_bind_text(st, 5, db_write_mode_name(boot_link->write_mode),
				  -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)boot_seq);
		sqlite3_bind_text(st, 7, boot_link->image_id, -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)boot_link->version);
	}
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	return step_done(db, st);
}

static int cred_delete(struct db *db, const char *mac, enum cred_kind kind)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "DELETE FROM credentials WHERE mac = ?1 AND "
			     "kind = ?2", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cred_kind_names[kind], -1, SQLITE_STATIC);
	if ((rc = step_done(db, st)) != 0)
		return rc;
	return sqlite3_changes(db_sqlite(db));
}

int cred_boot_begin(struct db *db, const uint8_t mac[6], const char *peer,
		    const uint8_t nonce[TICKET_NONCE_LEN], uint32_t expires,
		    const char *name, struct cred_boot *out)
{
	char hash[CRED_HASH_STR_LEN + 1];
	struct link_info *li = &out->link;
	int rc;

	memset(out, 0, sizeof(*out));
	if (name) {
		cred_hash(name, strlen(name), hash);
	} else {
		cred_new(out->cred);
		cred_hash(out->cred, CRED_STR_LEN, hash);
	}
	if ((rc = db_begin(db)) != 0)
		return rc;
	if ((rc = ticket_nonce_use(db, nonce, expires)) != 0 ||
	    (rc = db_link_lookup(db, mac, li)) != 0)
		goto err;
	/* db_link_lookup() said super: the grant is pending, and ours now
	 * (BEGIN IMMEDIATE: no other boot can take it in between) */
	if (li->write_mode == WRITE_SUPER &&
	    (rc = super_grant_take(db, li->mac, hash)) != 0)
		goto err;
	if ((rc = cred_delete(db, li->mac, CRED_BOOT)) < 0 ||
	    (rc = boot_count(db, li->mac, &out->boot_seq)) != 0 ||
	    (rc = cred_insert(db, hash, li->mac, CRED_BOOT, peer, li,
			      out->boot_seq)) != 0)
		goto err;
	if ((rc = db_commit(db)) != 0)
		goto err;
	return 0;
err:
	db_rollback(db);
	sodium_memzero(out->cred, sizeof(out->cred));
	return rc;
}

int cred_admin_mint(struct db *db, const char *mac, const char *peer,
		    char cred[CRED_STR_LEN + 1])
{
	char hash[CRED_HASH_STR_LEN + 1];
	int rc;

	cred_new(cred);
	cred_hash(cred, CRED_STR_LEN, hash);
	rc = cred_insert(db, hash, mac, CRED_ADMIN, peer, NULL, 0);
	if (rc != 0)
		sodium_memzero(cred, CRED_STR_LEN + 1);
	/* the foreign key names an unknown client */
	return rc == -EEXIST ? -ENOENT : rc;
}

int cred_admin_revoke(struct db *db, const char *mac)
{
	return cred_delete(db, mac, CRED_ADMIN);
}

int cred_lookup(struct db *db, const char *s, size_t len,
		struct cred_info *out)
{
	char hash[CRED_HASH_STR_LEN + 1], mode[16];
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > 256)
		return -ENOENT;
	cred_hash(s, len, hash);
	if ((rc = db_prepare(db, "SELECT hash, mac, kind, IFNULL(peer, ''), "
			     "IFNULL(write_mode, ''), IFNULL(boot_seq, 0), "
			     "IFNULL(image_id, ''), IFNULL(version, 0) FROM "
			     "credentials WHERE hash = ?1", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_text(st, 0, out->hash, sizeof(out->hash));
		db_col_text(st, 1, out->mac, sizeof(out->mac));
		out->kind = strcmp((const char *)sqlite3_column_text(st, 2),
				   "boot") ? CRED_ADMIN : CRED_BOOT;
		db_col_text(st, 3, out->peer, sizeof(out->peer));
		db_col_text(st, 4, mode, sizeof(mode));
		out->write_mode = out->kind == CRED_BOOT ?
			db_write_mode_parse(mode) : -1;
		out->boot_seq = sqlite3_column_int64(st, 5);
		db_col_text(st, 6, out->image_id, sizeof(out->image_id));
		out->version = (unsigned)sqlite3_column_int64(st, 7);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	}
	sqlite3_finalize(st);
	/* the index found it; compare the whole hash in constant time */
	if (rc == 0 && sodium_memcmp(out->hash, hash, CRED_HASH_STR_LEN) != 0)
		rc = -ENOENT;
	if (rc == 0 && out->kind == CRED_BOOT && out->write_mode < 0)
		rc = -EBADMSG;	/* a row we did not write */
	return rc;
}

int cred_count(struct db *db, const char *mac, unsigned *boot,
	       unsigned *admin)
{
	sqlite3_stmt *st;
	int rc;

	*boot = *admin = 0;
	if ((rc = db_prepare(db, "SELECT kind, count(*) FROM credentials "
			     "WHERE mac = ?1 GROUP BY kind", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		unsigned n = (unsigned)sqlite3_column_int(st, 1);

		if (k && !strcmp(k, "boot"))
			*boot = n;
		else
			*admin += n;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}
