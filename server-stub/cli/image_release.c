/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot image release NAME VERSION --canary N|P% ...` and `image
 * releases [NAME]`: argument parsing and printing for
 * server-stub/linkdb/releases.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "lb_err.h"
#include "lb_util.h"
#include "releases.h"
#include "table.h"

#define RELEASE_SECONDS_MAX (30LL * 24 * 3600)

static int release_usage(const char *fmt, const char *arg)
{
	fputs("linkboot image release: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nUsage: linkboot image release NAME VERSION --canary N|P% "
	      "--promote-after SECONDS [--group G] [--boot-within SECONDS]\n",
	      stderr);
	return EXIT_USAGE;
}

/* "N" or "P%": the count or percent. */
static int parse_canary(const char *s, unsigned *n, int *pct)
{
	uint64_t v;
	size_t len = strlen(s);
	char buf[16];

	*pct = len > 1 && s[len - 1] == '%';
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len - (size_t)*pct);
	buf[len - (size_t)*pct] = '\0';
	if (parse_u64(buf, 1, *pct ? 100 : 1000, &v) != 0)
		return -EINVAL;
	*n = (unsigned)v;
	return 0;
}

int image_release_cmd(struct db *db, int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *canary = NULL, *group = NULL;
	const char *promote = NULL, *within = NULL;
	uint64_t version, promote_s, within_s = RELEASE_BOOT_WITHIN_S;
	char why[512] = "";
	unsigned n = 0;
	int npos = 0, pct = 0, rc;
	int64_t id;

	for (int i = 1; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--canary") ? &canary :
			!strcmp(argv[i], "--group") ? &group :
			!strcmp(argv[i], "--promote-after") ? &promote :
			!strcmp(argv[i], "--boot-within") ? &within : NULL;

		if (slot && i + 1 < argc)
			*slot = argv[++i];
		else if (slot || argv[i][0] == '-')
			return release_usage("bad option '%s'", argv[i]);
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return release_usage("unexpected argument '%s'", argv[i]);
	}
	if (npos != 2 || parse_u64(pos[1], 1, UINT32_MAX, &version) != 0)
		return release_usage("%s", "give the image NAME and its VERSION");
	if (!canary || parse_canary(canary, &n, &pct) != 0)
		return release_usage("%s", "--canary N (1 to 1000 PCs) or P% "
				     "(1% to 100%)");
	if (!promote || parse_u64(promote, 1, RELEASE_SECONDS_MAX,
				  &promote_s) != 0)
		return release_usage("%s", "--promote-after SECONDS (1 to 30 "
				     "days)");
	if (within && parse_u64(within, 10, RELEASE_SECONDS_MAX, &within_s))
		return release_usage("%s", "--boot-within SECONDS (10 to 30 "
				     "days)");
	rc = release_start(db, pos[0], (unsigned)version, n, pct, group,
			   (int64_t)promote_s, (int64_t)within_s, &id, why,
			   sizeof(why));
	if (rc) {
		fprintf(stderr, "linkboot image release: %s\n", why[0] ? why :
			err_str(rc));
		return 1;
	}
	printf("release %lld: %s v%u on its canaries (running ones reboot "
	       "now); production after %llu s of health, rolled back when "
	       "one fails (`linkboot image releases %s`)\n", (long long)id,
	       pos[0], (unsigned)version, (unsigned long long)promote_s,
	       pos[0]);
	return 0;
}

static const struct table_col release_cols[] = {
	{ "ID", "id" }, { "IMAGE", "image" }, { "VERSION", "version" },
	{ "CANARIES", "canaries" }, { "STATE", "state" },
	{ "STARTED", "started" }, { "REASON", "reason" },
};

int image_list_args(int argc, char **argv, const char **image, int *format,
		    int *legend)
{
	int rc;

	*image = "";
	*format = TABLE_TEXT;
	*legend = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-legend"))
			*legend = 0;
		else if ((rc = table_parse_format_opt(argv[i], format)) < 0)
			return -1;
		else if (rc == 0 && !(*image)[0] && argv[i][0] != '-')
			*image = argv[i];
		else if (rc == 0)
			return i;
	}
	return 0;
}

int image_releases_cmd(struct db *db, int argc, char **argv)
{
	const char *image;
	int format, legend, rc;
	struct release *rows = NULL;
	struct table *t;
	size_t n = 0;

	if ((rc = image_list_args(argc, argv, &image, &format, &legend)) < 0)
		return EXIT_USAGE;
	if (rc > 0)
		return release_usage("unexpected argument '%s'", argv[rc]);
	if ((rc = release_list(db, image, &rows, &n)) != 0 ||
	    !(t = table_new(release_cols, ARRAY_SIZE(release_cols)))) {
		free(rows);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		table_row(t);
		table_int(t, rows[i].id);
		table_str(t, rows[i].image);
		table_int(t, rows[i].version);
		table_int(t, rows[i].canaries);
		table_str(t, rows[i].state);
		table_str(t, rows[i].started);
		table_str(t, rows[i].reason[0] ? rows[i].reason : NULL);
	}
	table_print(t, stdout, format, legend);
	table_free(t);
	free(rows);
	return 0;
}
