/*
 * linkboot why MAC: what the server knows about one PC, in boot order
 * (its link, what it would boot, its last boots), and one next step
 * that fixes the most likely reason it does not boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "db.h"
#include "db_internal.h"
#include "disks.h"
#include "lb_err.h"
#include "lb_util.h"
#include "links.h"
#include "table.h"

static const char usage_why[] =
"Usage: linkboot why MAC [-j|--json[=pretty]]\n"
"Everything the server knows about one PC, and the next step to fix it.\n";

static const struct table_col why_cols[] = {
	{ "MAC", "mac" }, { "KNOWN", "known" }, { "IMAGE", "image" },
	{ "VERSION", "version" }, { "IMAGE MISSING", "image_missing" },
	{ "GROUP", "group" }, { "WRITE", "write_mode" },
	{ "BOOT", "boot_mode" }, { "EXTRA DISKS", "extra_disks" },
	{ "BOOTS", "boots" },
	{ "LAST BOOT", "last_boot" }, { "ONLINE", "online" },
	{ "LAST REPORT", "last_report" }, { "PEER", "peer" },
	{ "TIMELINE", "timeline" }, { "RECENT", "recent_events" },
	{ "NEXT STEP", "next_step" },
};

/* The one most likely fix, from the first thing that is wrong. */
static void why_next_step(const char *mac, int known,
			  const struct link_entry *e, char *out, size_t len)
{
	if (!known)
		snprintf(out, len, "linkboot client add %s --image IMAGE "
			 "(see `linkboot image list`)", mac);
	else if (!e->linked)
		snprintf(out, len, "linkboot client set %s --image IMAGE "
			 "(it has no image, nor has its group)", mac);
	else if (e->link.image_missing)
		snprintf(out, len, "the file of image %s v%u is missing (its "
			 "screen says so): if it was moved, linkboot image "
			 "repair --scan DIR; else linkboot image list",
			 e->link.image, e->link.version);
	else if (!e->last_boot[0])
		snprintf(out, len, "never booted: check its cabling, PXE in "
			 "its firmware, `--interface` and proxy DHCP mode "
			 "(linkboot doctor)");
	else
		snprintf(out, len, "none: it booted at %s%s", e->last_boot,
			 e->online ? " and is online" : "");
}

/* "LUN IMAGE vN MODE" per extra disk, comma-separated; "" = none. */
static void why_disks(struct db *db, const char *mac, char *out, size_t len)
{
	struct disk_entry d[DISK_LUN_MAX];
	size_t used = 0;
	unsigned n;

	out[0] = '\0';
	if (db_client_disks(db, mac, d, &n) != 0)
		return;
	for (unsigned i = 0; i < n && used < len; i++) {
		int k = snprintf(out + used, len - used, "%s%u %s v%u %s",
				 i ? ", " : "", d[i].lun, d[i].image,
				 d[i].serves, disk_mode_name(d[i].mode));
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

struct why_extra {
	char disks[512];
	char timeline[512];
	char events[2048];
};

static int why_row(struct table *t, const char *mac, int known,
		   const struct link_entry *e, const struct link_status *st,
		   const struct why_extra *x)
{
	char next[256];
	int lk = known && e->linked;

	why_next_step(mac, known, e, next, sizeof(next));
	if (table_row(t) != 0)
		return 1;
	table_str(t, mac);
	table_bool(t, known);
	if (lk) {
		table_str(t, e->link.image);
		table_int(t, e->link.version);
		table_bool(t, e->link.image_missing);
	} else {
		table_null(t);
		table_null(t);
		table_null(t);
	}
	table_str(t, known && e->group[0] ? e->group : NULL);
	if (lk) {
		table_str(t, db_write_mode_name(e->super ? WRITE_SUPER :
						e->link.write_mode));
		table_str(t, db_boot_mode_name(e->link.boot_mode));
	} else {
		table_null(t);
		table_null(t);
	}
	table_str(t, x->disks[0] ? x->disks : NULL);
	if (known) {
		table_int(t, e->boots);
		table_str(t, e->last_boot[0] ? e->last_boot : NULL);
		table_bool(t, e->online);
	} else {
		table_null(t);
		table_null(t);
		table_null(t);
	}
	table_str(t, st && st->report_time[0] ? st->report_time : NULL);
	table_str(t, st && st->peer[0] ? st->peer : NULL);
	table_str(t, x->timeline[0] ? x->timeline : NULL);
	table_str(t, x->events[0] ? x->events : NULL);
	return table_str(t, next) != 0;
}

int cmd_why(struct lb_config *cfg, int argc, char **argv)
{
	const char *mac_arg = NULL;
	struct link_entry e;
	struct link_status *sts = NULL, *st = NULL;
	size_t nst = 0;
	char why[256] = "", mac[18];
	static struct why_extra x;
	int format = TABLE_TEXT, known = 1, rc;
	struct table *t;
	struct db *db;

	memset(&e, 0, sizeof(e));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_why, stdout);
			return 0;
		}
		int f = table_parse_format_opt(argv[i], &format);

		if (f < 0)
			return EXIT_USAGE;
		if (f == 1)
			continue;
		if (argv[i][0] == '-' || mac_arg) {
			fprintf(stderr, "linkboot why: unexpected %s\n%s",
				argv[i], usage_why);
			return EXIT_USAGE;
		}
		mac_arg = argv[i];
	}
	if (!mac_arg) {
		fprintf(stderr, "linkboot why: MAC missing\n%s", usage_why);
		return EXIT_USAGE;
	}
	if (link_mac(mac_arg, mac, why, sizeof(why)) != 0) {
		fprintf(stderr, "linkboot why: %s\n", why);
		return EXIT_USAGE;
	}
	if ((rc = db_open(cfg->state_dir, &db)) != 0) {
		fprintf(stderr, "linkboot why: cannot open the link DB in %s: "
			"%s\n", cfg->state_dir, err_str(rc));
		return 1;
	}
	if (cfg->store_dir)
		db_set_store_dir(db, cfg->store_dir);
	rc = link_show(db, mac, &e, why, sizeof(why));
	why_disks(db, mac, x.disks, sizeof(x.disks));
	/* what the server saw of it: DHCP answers, scripts, sessions,
	 * reports, menu picks */
	db_client_events(db, mac, 8, x.events, sizeof(x.events));
	db_client_timeline(db, mac, x.timeline, sizeof(x.timeline));
	/* the agent's last report and session peer (`linkboot status`) */
	if (rc == 0 && link_status_list(db, 0, &sts, &nst) == 0)
		for (size_t i = 0; i < nst && !st; i++)
			if (!strcmp(sts[i].mac, mac))
				st = &sts[i];
	db_close(db);
	if (rc == ENOENT_LINK_CLIENT) {
		known = 0;
	} else if (rc != 0) {
		fprintf(stderr, "linkboot why: %s\n", why[0] ? why : err_str(rc));
		return 1;
	}
	if (!(t = table_new(why_cols, ARRAY_SIZE(why_cols)))) {
		free(sts);
		return 1;
	}
	rc = why_row(t, mac, known, &e, st, &x);
	if (rc == 0 && format != TABLE_TEXT)
		table_print_object(t, stdout, format);
	else if (rc == 0)
		table_print_fields(t, stdout);
	table_free(t);
	free(sts);
	return rc;
}
