/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot status`: one line per client from the link DB: is it online
 * (a live NBD session), what it boots, and the counters its agent last
 * reported (stats table): uptime, bytes read from the server, RAM and SSD
 * cache hit rates, overlay use.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "commands.h"
#include "db.h"
#include "db_internal.h"
#include "lb_err.h"
#include "lb_util.h"
#include "table.h"

static const char usage_status[] =
"Usage: linkboot status [-j|--json=short|pretty] [--no-legend]\n"
"\n"
"Show every linked client: online (a live NBD session), image and version\n"
"it runs, uptime, bytes read from the server, RAM and SSD cache hit rates\n"
"and overlay use as its agent last reported them, and its last boot.\n"
"JSON: an array of objects; sizes in bytes, times ISO-8601 UTC, hit rates\n"
"in percent (null before the first report).\n";

static const struct table_col status_cols[] = {
	{ "MAC", "mac" }, { "NAME", "name" }, { "IMAGE", "image" },
	{ "VERSION", "version" }, { "ONLINE", "online" },
	{ "UPTIME", "uptime_ms" }, { "FROM SERVER", "bytes_from_server" },
	{ "RAM HIT", "ram_hit_percent" }, { "SSD HIT", "ssd_hit_percent" },
	{ "OVERLAY", "overlay_bytes" }, { "LAST BOOT", "last_boot" },
	{ "PEER", "peer" }, { "REPORTED", "report_time" },
};

enum {
	Q_MAC, Q_NAME, Q_LAST_BOOT, Q_ONLINE, Q_SESSION_VERSION, Q_PEER,
	Q_UPTIME, Q_BYTES, Q_RAM_HITS, Q_RAM_MISSES, Q_SSD_HITS, Q_SSD_MISSES,
	Q_OVERLAY, Q_REPORTED,
};

static void status_int_or_null(struct table *t, sqlite3_stmt *st, int col,
			       int bytes)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		table_null(t);
	else if (bytes)
		table_bytes(t, sqlite3_column_int64(st, col));
	else
		table_int(t, sqlite3_column_int64(st, col));
}

static void status_uptime(struct table *t, sqlite3_stmt *st)
{
	int64_t ms = sqlite3_column_int64(st, Q_UPTIME), s = ms / 1000;
	char text[32];

	if (sqlite3_column_type(st, Q_UPTIME) == SQLITE_NULL) {
		table_null(t);
		return;
	}
	if (s >= 86400)
		snprintf(text, sizeof(text), "%dd%02dh", (int)(s / 86400),
			 (int)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(text, sizeof(text), "%dh%02dm", (int)(s / 3600),
			 (int)(s % 3600 / 60));
	else
		snprintf(text, sizeof(text), "%dm%02ds", (int)(s / 60),
			 (int)(s % 60));
	table_num_text(t, ms, text);
}

/* hits / (hits + misses) in percent, or null without data */
static void status_rate(struct table *t, sqlite3_stmt *st, int hits_col)
{
	int64_t hits = sqlite3_column_int64(st, hits_col),
		misses = sqlite3_column_int64(st, hits_col + 1);
	char text[8];
	int64_t pct;

	if (hits + misses <= 0) {
		table_null(t);
		return;
	}
	pct = (hits * 100 + (hits + misses) / 2) / (hits + misses);
	snprintf(text, sizeof(text), "%d%%", (int)pct);
	table_num_text(t, pct, text);
}

/* server_up: a crashed server leaves its sessions rows behind until the
 * next start clears them; without a server nobody is online. */
static int status_row(struct db *db, struct table *t, sqlite3_stmt *st,
		      int server_up)
{
	const char *mac = (const char *)sqlite3_column_text(st, Q_MAC);
	struct link_info li;
	uint8_t m[6];
	int linked, online = server_up && sqlite3_column_int(st, Q_ONLINE);

	linked = mac_parse(mac, m) == 0 && db_link_lookup(db, m, &li) == 0;
	if (table_row(t) != 0)
		return -ENOMEM;
	table_str(t, mac);
	table_str(t, (const char *)sqlite3_column_text(st, Q_NAME));
	table_str(t, linked ? li.image : NULL);
	/* an online client runs the version it booted, not the newest */
	if (online && sqlite3_column_type(st, Q_SESSION_VERSION) != SQLITE_NULL)
		table_int(t, sqlite3_column_int(st, Q_SESSION_VERSION));
	else if (linked)
		table_int(t, li.version);
	else
		table_null(t);
	table_bool(t, online);
	status_uptime(t, st);
	status_int_or_null(t, st, Q_BYTES, 1);
	status_rate(t, st, Q_RAM_HITS);
	status_rate(t, st, Q_SSD_HITS);
	status_int_or_null(t, st, Q_OVERLAY, 1);
	table_str(t, (const char *)sqlite3_column_text(st, Q_LAST_BOOT));
	table_str(t, (const char *)sqlite3_column_text(st, Q_PEER));
	table_str(t, (const char *)sqlite3_column_text(st, Q_REPORTED));
	return 0;
}

int cmd_status(struct lb_config *cfg, int argc, char **argv)
{
	int format = TABLE_TEXT, legend = 1, i, rc, server_up;
	sqlite3_stmt *st = NULL;
	struct table *t = NULL;
	struct db *db;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_status, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--no-legend")) {
			legend = 0;
			continue;
		}
		rc = table_parse_format_opt(argv[i], &format);
		if (rc < 0)
			return EXIT_USAGE;
		if (rc == 0) {
			fprintf(stderr, "linkboot status: unknown argument '%s'\n"
				"Usage: linkboot status [-j|--json=short|pretty] "
				"[--no-legend]\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		fprintf(stderr, "linkboot status: cannot open the link DB in %s: "
			"%s (give --state DIR)\n", cfg->state_dir,
			strerror(err_errno(rc)));
		return 1;
	}
	if (cfg->store_dir)
		db_set_store_dir(db, cfg->store_dir);
	rc = 1;
	t = table_new(status_cols, format == TABLE_TEXT ?
		      ARRAY_SIZE(status_cols) - 2 : ARRAY_SIZE(status_cols));
	if (!t || sqlite3_prepare_v2(db_sqlite(db),
		"SELECT c.mac, c.name, c.last_boot, s.id IS NOT NULL, s.version,"
		" s.peer, st.uptime_ms, st.bytes_from_server, st.ram_hits,"
		" st.ram_misses, st.ssd_hits, st.ssd_misses, st.overlay_bytes,"
		" st.time FROM clients c"
		" LEFT JOIN (SELECT mac, max(id) AS id FROM sessions"
		"  GROUP BY mac) ls ON ls.mac = c.mac"
		" LEFT JOIN sessions s ON s.id = ls.id"
		" LEFT JOIN stats st ON st.mac = c.mac ORDER BY c.name",
		-1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "linkboot status: %s\n",
			sqlite3_errmsg(db_sqlite(db)));
		goto out;
	}
	server_up = db_server_pid(cfg->state_dir) > 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		if (status_row(db, t, st, server_up) != 0)
			goto out;
	table_print(t, stdout, format, legend);
	rc = 0;
out:
	sqlite3_finalize(st);
	table_free(t);
	db_close(db);
	return rc;
}
