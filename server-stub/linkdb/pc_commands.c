/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Commands to running PCs in the link DB; see commands.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pc_commands.h"
#include "db_internal.h"
#include "lb_util.h"

int cmd_kind_ok(const char *kind)
{
	return kind && (!strcmp(kind, "reboot") || !strcmp(kind, "poweroff") ||
			!strcmp(kind, "message")) ? 0 : -EINVAL;
}

/* A message reaches consoles and terminals: printable ASCII only. */
static int text_ok(const char *kind, const char *text)
{
	if (strcmp(kind, "message"))
		return !text || !text[0];
	if (!text || !text[0] || strlen(text) > CMD_TEXT_MAX)
		return 0;
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return 0;
	return 1;
}

int cmd_queue(struct db *db, const char *mac, const char *kind,
	      const char *text, int64_t *id)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	if (cmd_kind_ok(kind) != 0 || !text_ok(kind, text))
		return -EINVAL;
	db_now_iso(now);
	if ((rc = db_prepare(db, "INSERT INTO commands(mac, kind, text, "
			     "boot_seq, created) SELECT mac, ?2, ?3, boot_seq, "
			     "?4 FROM clients WHERE mac = ?1", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text && text[0] ? text : NULL, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	if (sqlite3_changes(db_sqlite(db)) == 0)
		return -ENOENT;
	*id = (int64_t)sqlite3_last_insert_rowid(db_sqlite(db));
	return 0;
}

/* Commands of boots before the client's current one can never run. */
static void cmd_expire(struct db *db, const char *mac)
{
	sqlite3_stmt *st;

	if (db_prepare(db, "UPDATE commands SET state = 'expired' WHERE "
		       "state IN ('pending', 'delivered') AND (?1 = '' OR "
		       "mac = ?1) AND boot_seq < (SELECT boot_seq FROM clients "
		       "c WHERE c.mac = commands.mac)", &st) != 0)
		return;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static void cmd_read(sqlite3_stmt *st, struct pc_command *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	db_col_text(st, 1, c->mac, sizeof(c->mac));
	db_col_text(st, 2, c->kind, sizeof(c->kind));
	db_col_text(st, 3, c->text, sizeof(c->text));
	db_col_text(st, 4, c->state, sizeof(c->state));
	db_col_text(st, 5, c->created, sizeof(c->created));
	db_col_text(st, 6, c->acked, sizeof(c->acked));
}

#define CMD_COLUMNS "id, mac, kind, IFNULL(text, ''), state, created, " \
		    "IFNULL(acked, '')"

int cmd_next(struct db *db, const char *mac, int64_t boot_seq,
	     struct pc_command *out)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	cmd_expire(db, mac);
	if ((rc = db_prepare(db, "SELECT " CMD_COLUMNS " FROM commands WHERE "
			     "mac = ?1 AND boot_seq = ?2 AND state IN "
			     "('pending', 'delivered') ORDER BY id LIMIT 1",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, boot_seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		cmd_read(st, out);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	db_now_iso(now);
	if (db_prepare(db, "UPDATE commands SET state = 'delivered', "
		       "delivered = IFNULL(delivered, ?2) WHERE id = ?1",
		       &st) == 0) {
		sqlite3_bind_int64(st, 1, out->id);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	return 0;
}

int cmd_ack(struct db *db, const char *mac, int64_t id)
{
	char now[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_now_iso(now);
	if ((rc = db_prepare(db, "UPDATE commands SET state = 'acked', acked = "
			     "IFNULL(acked, ?3) WHERE id = ?1 AND mac = ?2 AND "
			     "state != 'expired'", &st)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	return sqlite3_changes(db_sqlite(db)) ? 0 : -ENOENT;
}

int cmd_list(struct db *db, const char *mac, size_t max,
	     struct pc_command **rows, size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	*rows = NULL;
	*n = 0;
	cmd_expire(db, mac);
	if (!(*rows = calloc(max ? max : 1, sizeof(**rows))))
		return -ENOMEM;
	if ((rc = db_prepare(db, "SELECT " CMD_COLUMNS " FROM commands WHERE "
			     "?1 = '' OR mac = ?1 ORDER BY id DESC LIMIT ?2",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		cmd_read(st, &(*rows)[(*n)++]);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_errno(rc);
}

int cmd_state(struct db *db, int64_t id, char state[16])
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT state FROM commands WHERE id = ?1",
			     &st)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_text(st, 0, state, 16);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
}
