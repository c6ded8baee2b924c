/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot image prestage NAME VERSION --at HH:MM|now ...` and `image
 * prestages [NAME]`: argument parsing and printing for
 * server-stub/linkdb/prestage.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "db.h"
#include "lb_err.h"
#include "lb_util.h"
#include "prestage.h"
#include "table.h"

static int prestage_usage(const char *fmt, const char *arg)
{
	fputs("linkboot image prestage: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nUsage: linkboot image prestage NAME VERSION --at HH:MM|now "
	      "[--group G] [--stagger SECONDS]\n", stderr);
	return EXIT_USAGE;
}

/* "now", or "HH:MM" local time: its next coming (today, else tomorrow). */
static int parse_at(const char *s, time_t now, time_t *at)
{
	unsigned hh, mm;
	char end;
	struct tm tm;

	if (!strcmp(s, "now")) {
		*at = now;
		return 0;
	}
	if (sscanf(s, "%2u:%2u%c", &hh, &mm, &end) != 2 || hh > 23 || mm > 59 ||
	    strlen(s) != 5)
		return -EINVAL;
	localtime_r(&now, &tm);
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if ((*at = mktime(&tm)) <= now) {
		tm.tm_mday++;
		tm.tm_isdst = -1;
		*at = mktime(&tm);
	}
	return 0;
}

int image_prestage_cmd(struct db *db, int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *at_s = NULL, *group = NULL;
	const char *stagger_s = NULL;
	uint64_t version, stagger = PRESTAGE_STAGGER_S;
	char why[512] = "", when[32];
	unsigned npcs = 0;
	time_t now = time(NULL), at;
	struct tm tm;
	int npos = 0, rc;
	int64_t id;

	for (int i = 1; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--at") ? &at_s :
			!strcmp(argv[i], "--group") ? &group :
			!strcmp(argv[i], "--stagger") ? &stagger_s : NULL;

		if (slot && i + 1 < argc)
			*slot = argv[++i];
		else if (slot || argv[i][0] == '-')
			return prestage_usage("bad option '%s'", argv[i]);
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return prestage_usage("unexpected argument '%s'", argv[i]);
	}
	if (npos != 2 || parse_u64(pos[1], 1, UINT32_MAX, &version) != 0)
		return prestage_usage("%s", "give the image NAME and its VERSION");
	if (!at_s || parse_at(at_s, now, &at) != 0)
		return prestage_usage("%s", "--at HH:MM (the next such local "
				      "time) or --at now");
	if (stagger_s && parse_u64(stagger_s, 0, 3600, &stagger) != 0)
		return prestage_usage("%s", "--stagger SECONDS between two PCs "
				      "(0 to 3600)");
	rc = prestage_start(db, pos[0], (unsigned)version, (int64_t)at, group,
			    (unsigned)stagger, &id, &npcs, why, sizeof(why));
	if (rc) {
		fprintf(stderr, "linkboot image prestage: %s\n", why[0] ? why :
			err_str(rc));
		return 1;
	}
	localtime_r(&at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("prestage %lld: %s v%u into the SSD caches of %u PC%s, woken "
	       "%llu s apart from %s by the running server (`linkboot image "
	       "prestages %s`)\n", (long long)id, pos[0], (unsigned)version,
	       npcs, npcs == 1 ? "" : "s", (unsigned long long)stagger, when,
	       pos[0]);
	return 0;
}

static const struct table_col prestage_cols[] = {
	{ "ID", "id" }, { "IMAGE", "image" }, { "VERSION", "version" },
	{ "AT", "at" }, { "RUN", "run_state" }, { "MAC", "mac" },
	{ "NAME", "name" }, { "STATE", "state" }, { "FETCHED", "fetched" },
	{ "BYTES", "bytes" }, { "HAD", "had" }, { "REASON", "reason" },
};

static void table_count(struct table *t, int64_t v)
{
	if (v < 0)
		table_str(t, NULL);
	else
		table_int(t, v);
}

int image_prestages_cmd(struct db *db, int argc, char **argv)
{
	const char *image;
	int format, legend, rc;
	struct prestage_pc *rows = NULL;
	struct table *t;
	size_t n = 0;

	if ((rc = image_list_args(argc, argv, &image, &format, &legend)) < 0)
		return EXIT_USAGE;
	if (rc > 0)
		return prestage_usage("unexpected argument '%s'", argv[rc]);
	if ((rc = prestage_list(db, image, &rows, &n)) != 0 ||
	    !(t = table_new(prestage_cols, ARRAY_SIZE(prestage_cols)))) {
		free(rows);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		table_row(t);
		table_int(t, rows[i].id);
		table_str(t, rows[i].image);
		table_int(t, rows[i].version);
		table_str(t, rows[i].at);
		table_str(t, rows[i].run_state);
		table_str(t, rows[i].mac);
		table_str(t, rows[i].name);
		table_str(t, rows[i].state);
		table_count(t, rows[i].fetched);
		table_count(t, rows[i].bytes);
		table_count(t, rows[i].had);
		table_str(t, rows[i].reason[0] ? rows[i].reason : NULL);
	}
	table_print(t, stdout, format, legend);
	table_free(t);
	free(rows);
	return 0;
}
