/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot status`: one line per client (link_status_list(), links.h):
 * online, what it boots, uptime, bytes read from the server, RAM and SSD
 * cache hit rates and overlay use as its agent last reported them.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "db_internal.h"
#include "lb_err.h"
#include "lb_util.h"
#include "links.h"
#include "prestage.h"
#include "releases.h"
#include "table.h"

static const char usage_status[] =
"Usage: linkboot status [-j|--json=short|pretty] [--no-legend]\n"
"\n"
"Show every linked client: online (a live NBD or iSCSI session: its\n"
"protocol), image and version it runs, what that session has read and\n"
"written and its failed I/O as the server counts them (SAN PCs have no\n"
"agent), uptime, bytes read from the server, RAM and SSD cache hit rates\n"
"and overlay use as its agent last reported them, and its last boot.\n"
"JSON: an array of objects; sizes in bytes, times ISO-8601 UTC, hit rates\n"
"in percent (null before the first report).\n";

static const struct table_col status_cols[] = {
	{ "MAC", "mac" }, { "NAME", "name" }, { "IMAGE", "image" },
	{ "VERSION", "version" }, { "ONLINE", "online" },
	{ "READ", "session_bytes_read" }, { "WRITTEN", "session_bytes_written" },
	{ "IO ERR", "session_io_errors" }, { "UPTIME", "uptime_ms" }, { "FROM SERVER", "bytes_from_server" },
	{ "RAM HIT", "ram_hit_percent" }, { "SSD HIT", "ssd_hit_percent" },
	{ "OVERLAY", "overlay_bytes" }, { "LAST BOOT", "last_boot" },
	{ "MENU", "menu_picked" }, { "CMDS", "commands_pending" },
	/* JSON only */
	{ "PEER", "peer" }, { "REPORTED", "report_time" },
	{ "PROTOCOL", "protocol" },
};
#define STATUS_TEXT_COLS (ARRAY_SIZE(status_cols) - 3)

static void str_or_null(struct table *t, const char *s)
{
	table_str(t, s[0] ? s : NULL);
}

static void bytes_or_null(struct table *t, int64_t v)
{
	if (v < 0)
		table_null(t);
	else
		table_bytes(t, v);
}

static void uptime_cell(struct table *t, int64_t ms)
{
	int64_t s = ms / 1000;
	char text[32];

	if (ms < 0) {
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
static void rate_cell(struct table *t, int64_t hits, int64_t misses)
{
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

static int status_row(struct table *t, const struct link_status *s)
{
	if (table_row(t) != 0)
		return -ENOMEM;
	table_str(t, s->mac);
	table_str(t, s->name);
	str_or_null(t, s->image);
	if (s->version < 0)
		table_null(t);
	else
		table_int(t, s->version);
	/* the protocol tells a SAN PC from a Linux one at a glance */
	table_bool_text(t, s->online, s->online ? s->proto : "no");
	bytes_or_null(t, s->session_read);
	bytes_or_null(t, s->session_written);
	if (s->session_errors < 0)
		table_null(t);
	else
		table_int(t, s->session_errors);
	uptime_cell(t, s->uptime_ms);
	bytes_or_null(t, s->bytes_from_server);
	rate_cell(t, s->ram_hits, s->ram_misses);
	rate_cell(t, s->ssd_hits, s->ssd_misses);
	bytes_or_null(t, s->overlay_bytes);
	str_or_null(t, s->last_boot);
	str_or_null(t, s->menu_picked);	/* its boot menu's entry */
	table_int(t, s->commands_pending);
	str_or_null(t, s->peer);
	str_or_null(t, s->report_time);
	str_or_null(t, s->online ? s->proto : "");
	return 0;
}

/* -j/--json=..., --no-legend; EXIT_USAGE, -1 after --help, or 0. */
static int status_parse(int argc, char **argv, int *format, int *legend)
{
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_status, stdout);
			return -1;
		}
		if (!strcmp(argv[i], "--no-legend")) {
			*legend = 0;
			continue;
		}
		rc = table_parse_format_opt(argv[i], format);
		if (rc < 0)
			return EXIT_USAGE;
		if (rc == 0) {
			fprintf(stderr, "linkboot status: unknown argument '%s'\n"
				"Usage: linkboot status [-j|--json=short|pretty] "
				"[--no-legend]\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* Canary releases running, and the last one that ended: a line each
 * above the table (`linkboot image releases` has them all). */
static void release_lines(struct db *db)
{
	struct release *r = NULL;
	size_t n = 0, ended = 0;

	if (release_list(db, "", &r, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int running = !strcmp(r[i].state, "running");

		if (!running && ended++)
			continue;
		printf("release %lld: %s v%u on %u canar%s: %s%s%s\n",
		       (long long)r[i].id, r[i].image, r[i].version,
		       r[i].canaries, r[i].canaries == 1 ? "y" : "ies",
		       running ? "running" : !strcmp(r[i].state, "promoted") ?
		       "promoted to production" : "ROLLED BACK",
		       r[i].reason[0] ? ": " : "", r[i].reason);
	}
	if (n)
		printf("\n");
	free(r);
}

/* The PCs of run id in states: "3 done, 1 failed, ..." into out. */
static void prestage_counts(const struct prestage_pc *r, size_t n, int64_t id,
			    char *out, size_t len)
{
	static const char *const states[] = { "pending", "woken", "done",
					      "failed", "skipped" };
	size_t used = 0;

	out[0] = '\0';
	for (size_t s = 0; s < ARRAY_SIZE(states) && used < len; s++) {
		unsigned k = 0;

		for (size_t i = 0; i < n; i++)
			k += r[i].id == id && !strcmp(r[i].state, states[s]);
		if (k)
			used += (size_t)snprintf(out + used, len - used, "%s%u %s",
						 used ? ", " : "", k, states[s]);
	}
}

/* Pre-stagings not done yet, and the last one that ended: a line each
 * (`linkboot image prestages` has them PC by PC). */
static void prestage_lines(struct db *db)
{
	struct prestage_pc *r = NULL;
	size_t n = 0, lines = 0, ended = 0;
	char counts[160];

	if (prestage_list(db, "", &r, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int done = !strcmp(r[i].run_state, "done");

		if ((i && r[i].id == r[i - 1].id) || (done && ended++))
			continue;
		prestage_counts(r, n, r[i].id, counts, sizeof(counts));
		printf("prestage %lld: %s v%u from %s: %s (%s)\n",
		       (long long)r[i].id, r[i].image, r[i].version, r[i].at,
		       r[i].run_state, counts);
		lines++;
	}
	if (lines)
		printf("\n");
	free(r);
}

int cmd_status(struct lb_config *cfg, int argc, char **argv)
{
	int format = TABLE_TEXT, legend = 1, rc;
	struct link_status *rows = NULL;
	struct table *t = NULL;
	struct db *db;
	size_t n = 0;

	if ((rc = status_parse(argc, argv, &format, &legend)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		fprintf(stderr, "linkboot status: cannot open the link DB in %s: "
			"%s (give --state DIR)\n", cfg->state_dir, err_str(rc));
		return 1;
	}
	if (cfg->store_dir)
		db_set_store_dir(db, cfg->store_dir);
	rc = link_status_list(db, db_server_pid(cfg->state_dir) > 0, &rows, &n);
	if (rc == 0 && format == TABLE_TEXT && legend) {
		release_lines(db);
		prestage_lines(db);
	}
	db_close(db);
	if (rc) {
		fprintf(stderr, "linkboot status: %s\n", err_str(rc));
		return 1;
	}
	t = table_new(status_cols, format == TABLE_TEXT ? STATUS_TEXT_COLS :
		      ARRAY_SIZE(status_cols));
	for (size_t i = 0; t && i < n; i++)
		if (status_row(t, &rows[i]) != 0)
			rc = 1;
	if (!t)
		rc = 1;
	else if (rc == 0)
		table_print(t, stdout, format, legend);
	table_free(t);
	free(rows);
	return rc;
}
