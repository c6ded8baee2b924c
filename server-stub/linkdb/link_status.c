/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Client status (links.h, `linkboot status`): is a client online (a live
 * NBD or iSCSI session) and what that session has served, what it boots,
 * and the counters its agent last reported (the stats table,
 * db_stats_update()).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "db_internal.h"
#include "lb_util.h"
#include "links.h"

enum {
	Q_MAC, Q_NAME, Q_LAST_BOOT, Q_ONLINE, Q_SESSION_VERSION, Q_PEER,
	Q_UPTIME, Q_BYTES, Q_RAM_HITS, Q_RAM_MISSES, Q_SSD_HITS, Q_SSD_MISSES,
	Q_OVERLAY, Q_REPORTED, Q_PROTO, Q_SESSION_READ, Q_SESSION_WRITTEN,
	Q_SESSION_ERRORS, Q_MENU_PICKED, Q_COMMANDS,
};

/* Each client with its newest session (if any) and its last report. */
#define STATUS_SELECT \
	"SELECT c.mac, c.name, c.last_boot, s.id IS NOT NULL, s.version," \
	" s.peer, st.uptime_ms, st.bytes_from_server, st.ram_hits," \
	" st.ram_misses, st.ssd_hits, st.ssd_misses, st.overlay_bytes," \
	" st.time, s.proto, s.bytes_read, s.bytes_written, s.io_errors," \
	" IFNULL(c.menu_picked, '')," \
	" (SELECT count(*) FROM commands m WHERE m.mac = c.mac AND" \
	"  m.state IN ('pending', 'delivered') AND m.boot_seq = c.boot_seq)" \
	" FROM clients c" \
	" LEFT JOIN (SELECT mac, max(id) AS id FROM sessions" \
	"  WHERE lun = 0 GROUP BY mac) ls ON ls.mac = c.mac" \
	" LEFT JOIN sessions s ON s.id = ls.id" \
	" LEFT JOIN stats st ON st.mac = c.mac ORDER BY c.name"

static int64_t int_or_unknown(sqlite3_stmt *st, int col)
{
	return db_col_is_null(st, col) ? -1 : sqlite3_column_int64(st, col);
}

static void status_read(struct db *db, sqlite3_stmt *st, int server_up,
			struct link_status *s)
{
	struct link_info li;
	uint8_t m[6];
	int linked;

	memset(s, 0, sizeof(*s));
	db_col_text(st, Q_MAC, s->mac, sizeof(s->mac));
	db_col_text(st, Q_NAME, s->name, sizeof(s->name));
	linked = mac_parse(s->mac, m) == 0 && db_link_lookup(db, m, &li) == 0;
	s->online = server_up && sqlite3_column_int(st, Q_ONLINE);
	if (linked)
		snprintf(s->image, sizeof(s->image), "%s", li.image);
	/* an online client runs the version it booted, not the newest */
	if (s->online && !db_col_is_null(st, Q_SESSION_VERSION))
		s->version = sqlite3_column_int64(st, Q_SESSION_VERSION);
	else
		s->version = linked ? (int64_t)li.version : -1;
	s->uptime_ms = int_or_unknown(st, Q_UPTIME);
	s->bytes_from_server = int_or_unknown(st, Q_BYTES);
	s->ram_hits = sqlite3_column_int64(st, Q_RAM_HITS);
	s->ram_misses = sqlite3_column_int64(st, Q_RAM_MISSES);
	s->ssd_hits = sqlite3_column_int64(st, Q_SSD_HITS);
	s->ssd_misses = sqlite3_column_int64(st, Q_SSD_MISSES);
	s->overlay_bytes = int_or_unknown(st, Q_OVERLAY);
	db_col_text(st, Q_LAST_BOOT, s->last_boot, sizeof(s->last_boot));
	db_col_text(st, Q_PEER, s->peer, sizeof(s->peer));
	db_col_text(st, Q_REPORTED, s->report_time, sizeof(s->report_time));
	db_col_text(st, Q_MENU_PICKED, s->menu_picked, sizeof(s->menu_picked));
	s->commands_pending = sqlite3_column_int64(st, Q_COMMANDS);
	if (!s->online) {
		s->session_read = s->session_written = s->session_errors = -1;
		return;
	}
	db_col_text(st, Q_PROTO, s->proto, sizeof(s->proto));
	s->session_read = sqlite3_column_int64(st, Q_SESSION_READ);
	s->session_written = sqlite3_column_int64(st, Q_SESSION_WRITTEN);
	s->session_errors = sqlite3_column_int64(st, Q_SESSION_ERRORS);
}

int link_status_list(struct db *db, int server_up, struct link_status **rows,
		     size_t *n)
{
	struct link_status *r = NULL;
	size_t cap = 0;
	sqlite3_stmt *st;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = db_prepare(db, STATUS_SELECT, &st)) != 0)
		return rc;
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
		status_read(db, st, server_up, &r[(*n)++]);
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
