/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot client reboot|poweroff|message` and `client commands`:
 * argument parsing and printing for the commands to running PCs of
 * server-stub/linkdb/pc_commands.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "db.h"
#include "lb_err.h"
#include "lb_util.h"
#include "links.h"
#include "pc_commands.h"
#include "table.h"

#define WHY_LEN 512
#define WAIT_MAX 3600

static const char usage_control[] =
"Usage: linkboot client reboot|poweroff MAC|--group G|--all [--wait SECONDS]\n"
"       linkboot client message MAC|--group G|--all TEXT [--wait SECONDS]\n"
"       linkboot client commands [MAC] [-j|--json=short|pretty] [--no-legend]\n"
"\n"
"Commands to running PCs, through their agents: reboot and poweroff go\n"
"through the image's own init (clean), a message is shown on the PC's\n"
"console and terminals (wall) and in its journal. Each PC's agent fetches\n"
"its commands from the server, acknowledges each, then carries it out; a\n"
"command belongs to the PC's current boot and expires when it boots again\n"
"(a PC that is off gets nothing at its next boot). --wait: wait up to\n"
"SECONDS for every acknowledgement (exit 1 if one is missing). `commands`\n"
"lists the last commands and their state (pending, delivered, acked,\n"
"expired).\n";

static int control_usage(const char *fmt, const char *arg)
{
	fputs("linkboot client: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nRun `linkboot client reboot --help` for usage.\n", stderr);
	return EXIT_USAGE;
}

struct control_args {
	const char *pos[2];
	int npos, all, help, format, legend;
	const char *group, *wait;
};

static int control_parse(int argc, char **argv, struct control_args *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->legend = 1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "--help") || !strcmp(s, "-h"))
			a->help = 1;
		else if (!strcmp(s, "--all"))
			a->all = 1;
		else if (!strcmp(s, "--no-legend"))
			a->legend = 0;
		else if ((rc = table_parse_format_opt(s, &a->format)) != 0) {
			if (rc < 0)
				return EXIT_USAGE;
		} else if (!strcmp(s, "--group") || !strcmp(s, "--wait")) {
			if (i + 1 >= argc)
				return control_usage("option %s needs a value", s);
			*(s[2] == 'g' ? &a->group : &a->wait) = argv[++i];
		} else if (s[0] == '-' && s[1]) {
			return control_usage("unknown option '%s'", s);
		} else if (a->npos < 2) {
			a->pos[a->npos++] = s;
		} else {
			return control_usage("unexpected argument '%s'", s);
		}
	}
	return 0;
}

/* The PCs addressed: one MAC, a group's, all; *rows: free(). */
static int control_targets(struct db *db, const struct control_args *a,
			   const char *mac, struct link_entry **rows, size_t *n)
{
	char why[WHY_LEN] = "";
	size_t k = 0;
	int rc;

	if (mac) {
		if (!(*rows = calloc(1, sizeof(**rows))))
			return -ENOMEM;
		if ((rc = link_show(db, mac, *rows, why, sizeof(why))) != 0) {
			fprintf(stderr, "linkboot client: %s\n", why[0] ? why :
				err_str(rc));
			return rc;
		}
		*n = 1;
		return 0;
	}
	if ((rc = link_list(db, rows, n)) != 0)
		return rc;
	for (size_t i = 0; i < *n; i++)
		if (a->all || !strcmp((*rows)[i].group, a->group))
			(*rows)[k++] = (*rows)[i];
	*n = k;
	if (k == 0) {
		fprintf(stderr, "linkboot client: %s\n", a->all ? "no client is "
			"linked" : "no client is in that group");
		return -ENOENT;
	}
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for every id to be acked, up to secs; the number missing. */
static int control_wait(struct db *db, const struct link_entry *pcs,
			const int64_t *ids, size_t n, unsigned secs)
{
	int64_t end = mono_ms() + (int64_t)secs * 1000;
	char state[16];
	size_t left;

	do {
		left = 0;
		for (size_t i = 0; i < n; i++)
			if (ids[i] > 0 && cmd_state(db, ids[i], state) == 0 &&
			    strcmp(state, "acked"))
				left++;
		if (!left || mono_ms() >= end)
			break;
		usleep(250000);
	} while (1);
	for (size_t i = 0; i < n; i++) {
		if (ids[i] <= 0 || cmd_state(db, ids[i], state) != 0)
			continue;
		if (!strcmp(state, "acked"))
			printf("%s: acknowledged\n", pcs[i].mac);
		else
			printf("%s: not acknowledged in %u s (%s)\n",
			       pcs[i].mac, secs, state);
	}
	return (int)left;
}

static int control_send(struct lb_config *cfg, const char *kind,
			const struct control_args *a)
{
	const char *mac = NULL, *text = NULL;
	struct link_entry *pcs = NULL;
	int64_t *ids = NULL;
	uint64_t wait = 0;
	struct db *db;
	size_t n = 0;
	int rc, bad = 0, want = !strcmp(kind, "message");

	if (a->npos != (a->group || a->all ? 0 : 1) + want)
		return control_usage("%s", want ? "give MAC|--group G|--all and "
				     "the TEXT" : "give MAC, --group G or --all");
	if (!a->group && !a->all)
		mac = a->pos[0];
	if (want)
		text = a->pos[a->npos - 1];
	if (a->wait && parse_u64(a->wait, 1, WAIT_MAX, &wait) != 0)
		return control_usage("--wait '%s': give 1 to 3600 seconds",
				     a->wait);
	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		fprintf(stderr, "linkboot client: cannot open the link DB in "
			"%s: %s\n", cfg->state_dir, err_str(rc));
		return 1;
	}
	if ((rc = control_targets(db, a, mac, &pcs, &n)) != 0 ||
	    !(ids = calloc(n, sizeof(*ids)))) {
		db_close(db);
		free(pcs);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		rc = cmd_queue(db, pcs[i].mac, kind, text, &ids[i]);
		if (rc == -EINVAL) {
			fprintf(stderr, "linkboot client: message '%s': give 1 "
				"to %d printable ASCII characters\n", text,
				CMD_TEXT_MAX);
			bad = EXIT_USAGE;
			break;
		}
		if (rc) {
			printf("%s: not queued: %s\n", pcs[i].mac, err_str(rc));
			bad = 1;
			continue;
		}
		printf("%s: %s queued (command %lld)%s\n", pcs[i].mac, kind,
		       (long long)ids[i], pcs[i].online ? "" :
		       ", the PC is not running: it expires at its next boot");
	}
	if (!bad && wait && control_wait(db, pcs, ids, n, (unsigned)wait))
		bad = 1;
	db_close(db);
	free(pcs);
	free(ids);
	return bad;
}

static const struct table_col cmd_cols[] = {
	{ "ID", "id" }, { "MAC", "mac" }, { "KIND", "kind" },
	{ "STATE", "state" }, { "CREATED", "created" }, { "ACKED", "acked" },
	{ "TEXT", "text" },
};

static int control_list(struct lb_config *cfg, const struct control_args *a)
{
	struct pc_command *rows = NULL;
	char mac[18] = "", why[WHY_LEN] = "";
	struct table *t;
	struct db *db;
	size_t n = 0;
	int rc;

	if (a->npos > 1)
		return control_usage("unexpected argument '%s'", a->pos[1]);
	if (a->npos && link_mac(a->pos[0], mac, why, sizeof(why)) != 0)
		return control_usage("%s", why);
	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		fprintf(stderr, "linkboot client: cannot open the link DB in "
			"%s: %s\n", cfg->state_dir, err_str(rc));
		return 1;
	}
	rc = cmd_list(db, mac, 200, &rows, &n);
	db_close(db);
	if (rc || !(t = table_new(cmd_cols, ARRAY_SIZE(cmd_cols)))) {
		free(rows);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		table_row(t);
		table_int(t, rows[i].id);
		table_str(t, rows[i].mac);
		table_str(t, rows[i].kind);
		table_str(t, rows[i].state);
		table_str(t, rows[i].created);
		table_str(t, rows[i].acked[0] ? rows[i].acked : NULL);
		table_str(t, rows[i].text[0] ? rows[i].text : NULL);
	}
	table_print(t, stdout, a->format, a->legend);
	table_free(t);
	free(rows);
	return 0;
}

int cmd_client_control(struct lb_config *cfg, int argc, char **argv)
{
	struct control_args a;
	int rc;

	if ((rc = control_parse(argc, argv, &a)) != 0)
		return rc;
	if (a.help) {
		fputs(usage_control, stdout);
		return 0;
	}
	if (!strcmp(argv[0], "commands"))
		return control_list(cfg, &a);
	if (a.group && a.all)
		return control_usage("%s", "give --group G or --all, not both");
	return control_send(cfg, argv[0], &a);
}
