/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot client disk add|rm|list`: argument parsing and printing for
 * the extra-disk operations of server-stub/linkdb/disks.h.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "db_internal.h"
#include "disks.h"
#include "lb_err.h"
#include "lb_util.h"
#include "links.h"
#include "table.h"

#define WHY_LEN 512

static const char usage_disk[] =
"Usage: linkboot client disk add MAC|--group G IMAGE [--lun N]\n"
"                                [--write ro|ram|server] [--version N]\n"
"       linkboot client disk rm MAC|--group G LUN\n"
"       linkboot client disk list [MAC|--group G] [-j|--json=short|pretty]\n"
"                                 [--no-legend]\n"
"\n"
"Extra disks beside a PC's system disk (a room's game or data disk), from\n"
"other images, for one PC or every PC of a group (a PC's own disk at a LUN\n"
"hides its group's there). A SAN PC sees them as LUN 1 to 7 of its iSCSI\n"
"target; a Linux PC's agent attaches each and links it as\n"
"/dev/linkboot/diskN. --lun: 1 to 7 (default: the lowest free one).\n"
"--write: ro (read-only, shared; the default), ram (writes kept on the\n"
"server for this boot only) or server (writes kept across boots).\n"
"--version pins a version; else the image's production version, taken at\n"
"each boot (a running PC keeps the version its boot began with). `list`\n"
"with a MAC shows the disks that PC boots with, its group's included.\n"
"Changes take effect at the PC's next boot.\n";

struct disk_args {
	const char *pos[3];
	int npos;
	const char *group, *lun, *write, *version;
	int format, legend, help;
};

static int disk_usage(const char *fmt, const char *arg)
{
	fputs("linkboot client disk: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nRun `linkboot client disk --help` for usage.\n", stderr);
	return EXIT_USAGE;
}

/* The value of option argv[*i] ("--x V" or "--x=V") into *out. */
static int take_value(int argc, char **argv, int *i, const char *name,
		      const char **out)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 1;
}

static int disk_parse(int argc, char **argv, struct disk_args *a)
{
	static const char *const names[] = {
		"--group", "--lun", "--write", "--version",
	};
	const char **slots[] = { &a->group, &a->lun, &a->write, &a->version };
	int rc;

	memset(a, 0, sizeof(*a));
	a->legend = 1;
	for (int i = 1; i < argc; i++) {
		size_t k;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			a->help = 1;
			continue;
		}
		if (!strcmp(argv[i], "--no-legend")) {
			a->legend = 0;
			continue;
		}
		if ((rc = table_parse_format_opt(argv[i], &a->format)) != 0) {
			if (rc < 0)
				return EXIT_USAGE;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(names); k++)
			if ((rc = take_value(argc, argv, &i, names[k],
					     slots[k])) != 0)
				break;
		if (k < ARRAY_SIZE(names) && rc < 0)
			return disk_usage("option %s needs a value", names[k]);
		if (k < ARRAY_SIZE(names))
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return disk_usage("unknown option '%s'", argv[i]);
		if (a->npos >= (int)ARRAY_SIZE(a->pos))
			return disk_usage("unexpected argument '%s'", argv[i]);
		a->pos[a->npos++] = argv[i];
	}
	return 0;
}

static int disk_open(struct lb_config *cfg, struct db **db)
{
	int rc = db_open(cfg->state_dir, db);

	if (rc != 0) {
		fprintf(stderr, "linkboot client disk: cannot open the link DB "
			"in %s: %s (give --state DIR)\n", cfg->state_dir,
			err_str(rc));
		return 1;
	}
	return 0;
}

static int disk_failed(int rc, const char *why)
{
	fprintf(stderr, "linkboot client disk: %s\n", why[0] ? why :
		err_str(rc));
	return err_errno(rc) == EINVAL ? EXIT_USAGE : 1;
}

/* The owner: MAC (first operand) or --group; *first = next operand. */
static int disk_owner(const struct disk_args *a, const char **owner,
		      int *group, int *first)
{
	*group = a->group != NULL;
	*owner = a->group;
	*first = 0;
	if (!a->group) {
		if (a->npos < 1)
			return disk_usage("%s", "give a MAC or --group G");
		*owner = a->pos[0];
		*first = 1;
	}
	return 0;
}

static int disk_number(const char *s, const char *what, unsigned *out)
{
	uint64_t v;

	if (parse_u64(s, 1, DISK_LUN_MAX, &v) != 0)
		return disk_usage(what, s);
	*out = (unsigned)v;
	return 0;
}

static int disk_add_cmd(struct lb_config *cfg, const struct disk_args *a)
{
	char why[WHY_LEN] = "";
	const char *owner;
	unsigned lun = 0;
	struct db *db;
	int group, first, rc;

	if ((rc = disk_owner(a, &owner, &group, &first)) != 0)
		return rc;
	if (a->npos != first + 1)
		return disk_usage("%s", "give one IMAGE after the MAC or group");
	if (a->lun && (rc = disk_number(a->lun, "--lun '%s': give 1 to 7 "
					"(LUN 0 is the system disk)", &lun)))
		return rc;
	if (disk_open(cfg, &db) != 0)
		return 1;
	rc = disk_add(db, owner, group, a->pos[first], lun, a->write,
		      a->version, &lun, why, sizeof(why));
	db_close(db);
	if (rc)
		return disk_failed(rc, why);
	printf("%s%s: disk %u is image %s (%s), from its next boot\n",
	       group ? "group " : "", owner, lun, a->pos[first],
	       a->write ? a->write : "ro");
	return 0;
}

static int disk_rm_cmd(struct lb_config *cfg, const struct disk_args *a)
{
	char why[WHY_LEN] = "";
	const char *owner;
	unsigned lun;
	struct db *db;
	int group, first, rc;

	if ((rc = disk_owner(a, &owner, &group, &first)) != 0)
		return rc;
	if (a->npos != first + 1)
		return disk_usage("%s", "give the LUN after the MAC or group");
	if ((rc = disk_number(a->pos[first], "LUN '%s': give 1 to 7", &lun)))
		return rc;
	if (disk_open(cfg, &db) != 0)
		return 1;
	rc = disk_rm(db, owner, group, lun, why, sizeof(why));
	db_close(db);
	if (rc)
		return disk_failed(rc, why);
	printf("%s%s: disk %u removed, from its next boot\n",
	       group ? "group " : "", owner, lun);
	return 0;
}

static const struct table_col disk_cols[] = {
	{ "OWNER", "owner" }, { "LUN", "lun" }, { "IMAGE", "image" },
	{ "VERSION", "version" }, { "WRITE", "write_mode" },
	{ "SIZE", "size_bytes" }, { "PINNED", "pinned" },
	{ "GROUP", "group" },
};

static int disk_row(struct table *t, const struct disk_entry *d)
{
	if (table_row(t) || table_str(t, d->owner) || table_int(t, d->lun) ||
	    table_str(t, d->image) || table_int(t, d->serves) ||
	    table_str(t, disk_mode_name(d->mode)) ||
	    table_bytes(t, (int64_t)d->size) || table_bool(t, d->version != 0) ||
	    table_bool(t, d->group))
		return -ENOMEM;
	return 0;
}

/* A MAC: the disks it boots with; else what is stored. */
static int disk_rows(struct db *db, const struct disk_args *a,
		     struct disk_entry **rows, size_t *n, char *why,
		     size_t len)
{
	char mac[18];
	unsigned nd;
	int rc;

	if (a->group || a->npos == 0)
		return disk_list(db, a->group, a->group != NULL, rows, n, why,
				 len);
	if ((rc = link_mac(a->pos[0], mac, why, len)) != 0)
		return rc;
	if (!(*rows = calloc(DISK_LUN_MAX, sizeof(**rows))))
		return -ENOMEM;
	rc = db_client_disks(db, mac, *rows, &nd);
	*n = nd;
	return rc;
}

static int disk_list_cmd(struct lb_config *cfg, const struct disk_args *a)
{
	struct disk_entry *rows = NULL;
	char why[WHY_LEN] = "";
	struct table *t = NULL;
	struct db *db;
	size_t n = 0;
	int rc;

	if (a->npos > (a->group ? 0 : 1))
		return disk_usage("unexpected argument '%s'", a->pos[a->npos - 1]);
	if (disk_open(cfg, &db) != 0)
		return 1;
	rc = disk_rows(db, a, &rows, &n, why, sizeof(why));
	db_close(db);
	if (rc) {
		free(rows);
		return disk_failed(rc, why);
	}
	if (!(t = table_new(disk_cols, ARRAY_SIZE(disk_cols))))
		rc = 1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (disk_row(t, &rows[i]) != 0)
			rc = 1;
	if (rc == 0)
		table_print(t, stdout, a->format, a->legend);
	table_free(t);
	free(rows);
	return rc;
}

int cmd_client_disk(struct lb_config *cfg, int argc, char **argv)
{
	struct disk_args a;
	const char *verb = argc > 1 ? argv[1] : "";
	int rc;

	if (argc < 2 || !strcmp(verb, "--help") || !strcmp(verb, "-h") ||
	    !strcmp(verb, "help")) {
		fputs(usage_disk, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if ((rc = disk_parse(argc - 1, argv + 1, &a)) != 0)
		return rc;
	if (a.help) {
		fputs(usage_disk, stdout);
		return 0;
	}
	if (!strcmp(verb, "add"))
		return disk_add_cmd(cfg, &a);
	if (!strcmp(verb, "rm") || !strcmp(verb, "remove"))
		return disk_rm_cmd(cfg, &a);
	if (!strcmp(verb, "list") || !strcmp(verb, "ls"))
		return disk_list_cmd(cfg, &a);
	return disk_usage("unknown command '%s' (add, rm, list)", verb);
}
