/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot client ...`: link client MACs to images (CCBoot's "image
 * link"). Every change is one SQLite transaction in the shared link DB; the
 * running server reads it at the client's next request, no restart.
 *
 * Exit status: 0 ok, 1 runtime error (unknown image, duplicate name, DB),
 * 2 usage error (bad option or value; the message names the field).
 */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <sodium.h>
#include <sqlite3.h>

#include "commands.h"
#include "credential.h"
#include "db.h"
#include "db_internal.h"
#include "lb_err.h"
#include "lb_util.h"
#include "table.h"

#define NAME_PATTERN	"PC-%03d"	/* default client names */
#define NAME_MAX_SEQ	99999

/* Options of add/set; NULL = not given. */
struct client_opts {
	const char *image, *name, *hostname, *group;
	const char *ram_cache, *ssd_cache, *write, *version, *overlay;
	const char *peer;	/* token: the address it is bound to */
	int revoke;		/* token --revoke */
	int format;		/* enum table_format */
	int legend;
	int help;
};

static const struct client_opt_def {
	const char *name;
	size_t off;
} client_opt_defs[] = {
	{ "image", offsetof(struct client_opts, image) },
	{ "name", offsetof(struct client_opts, name) },
	{ "hostname", offsetof(struct client_opts, hostname) },
	{ "group", offsetof(struct client_opts, group) },
	{ "ram-cache", offsetof(struct client_opts, ram_cache) },
	{ "ssd-cache", offsetof(struct client_opts, ssd_cache) },
	{ "write", offsetof(struct client_opts, write) },
	{ "version", offsetof(struct client_opts, version) },
	{ "overlay", offsetof(struct client_opts, overlay) },
	{ "peer", offsetof(struct client_opts, peer) },
};

static const char usage_add[] =
"Usage: linkboot client add MAC --image NAME [OPTIONS]\n"
"\n"
"Link the PC with network card MAC to image NAME. The PC boots it at its\n"
"next boot (or at once, if it waits on the \"unknown MAC\" screen).\n"
"MAC may be written 52:54:00:12:34:56, 52-54-00-12-34-56, 5254.0012.3456\n"
"or 525400123456, in any case.\n"
"\n"
"Options (unset values inherit: client -> group -> image -> built-in):\n"
"  --image NAME        image to boot (`linkboot image list`); may come\n"
"                      from --group instead\n"
"  --name N            client name (default: next free " NAME_PATTERN ")\n"
"  --hostname H        host name (default: the name, lower case)\n"
"  --group G           group (shared settings, test versions)\n"
"  --ram-cache MiB     client RAM block cache (built-in 64)\n"
"  --ssd-cache MiB|auto|off   local SSD cache partition (built-in off)\n"
"  --write ram|disk|server|super   where writes go (built-in ram:\n"
"                      discarded at reboot); super = `client super MAC on`\n"
"  --version N         pin an image version (default: follow production)\n"
"  --overlay MiB       RAM for the PC's writes: write ram: the overlay's\n"
"                      size (default half the PC's RAM); server/super: the\n"
"                      RAM tier before the cache partition and the server\n"
"                      (default 64)\n";

static const char usage_set[] =
"Usage: linkboot client set MAC [OPTIONS]\n"
"       linkboot client set --group G [OPTIONS]\n"
"\n"
"Change a client's link, or (with --group and no MAC) the same fields for\n"
"every client in group G at once. Takes the options of `client add`;\n"
"the value `inherit` clears --ram-cache, --ssd-cache, --write, --version or\n"
"--overlay\n"
"so the client follows its group / image again. With a MAC, --group moves\n"
"the client into group G (`--group none`: out of its group). Takes\n"
"effect at the client's next boot.\n";

static const char usage_rm[] =
"Usage: linkboot client rm MAC\n"
"\n"
"Remove the client's link. The PC shows the unknown-MAC screen at its next\n"
"boot; a running PC keeps its image until it reboots.\n";

static const char usage_list[] =
"Usage: linkboot client list [-j|--json=short|pretty] [--no-legend]\n"
"\n"
"List linked clients: MAC, name, image, version, cache, write mode, last\n"
"boot, online. Values shown are the effective ones (inherited ones too).\n"
"JSON: an array of objects; sizes in bytes, times ISO-8601 UTC.\n";

static const char usage_show[] =
"Usage: linkboot client show MAC [-j|--json=short|pretty]\n"
"\n"
"Show one client's link with effective values, its machine ID, how many\n"
"boots it made and how many admin tokens (`client token`) it has.\n";

static const char usage_super[] =
"Usage: linkboot client super MAC on|off\n"
"\n"
"Make MAC the super client of its image: its next boot writes to the\n"
"server, and its writes become the image's next version (`linkboot image\n"
"commit`). `on` grants that to the next boot only: the boot takes the grant\n"
"when its agent redeems its boot ticket, and no other boot or host can use\n"
"it; the boot after that is an ordinary one again. One super client per\n"
"image at a time.\n";

static const char usage_token[] =
"Usage: linkboot client token MAC [--peer ADDR]\n"
"       linkboot client token MAC --revoke\n"
"\n"
"Mint an admin token for MAC's disk: an NBD export name that opens the PC's\n"
"link as the PC's own boots do (its image, version and write mode, its\n"
"server overlay), for a VM (qemu nbd://SERVER/TOKEN) or a tool. Printed\n"
"once; the server keeps only its hash. --peer binds it to one IPv4 address.\n"
"It never writes a new version (that is the super client's boot). --revoke\n"
"deletes all of MAC's admin tokens; sessions already open go on until they\n"
"close.\n";

static const char usage_keep[] =
"Usage: linkboot client keep MAC on|off\n"
"\n"
"With --write server: keep the client's server-side overlay across boots\n"
"(on), or drop it at every boot (off, the default).\n";

static const char usage_client[] =
"Usage: linkboot client COMMAND [ARGS...]\n"
"\n"
"Link client MACs to images. Commands:\n"
"  add MAC --image NAME [OPTIONS]   link a PC\n"
"  set MAC|--group G [OPTIONS]      change a link, or a whole group\n"
"  rm MAC                           remove a link\n"
"  list [-j] [--no-legend]          list links\n"
"  show MAC [-j]                    one link in detail\n"
"  super MAC on|off                 the super client (writes a new version)\n"
"  keep MAC on|off                  keep a server overlay across boots\n"
"  token MAC [--peer ADDR|--revoke] an admin token for the PC's disk\n"
"Run `linkboot client COMMAND --help` for details. Changes take effect\n"
"at the client's next boot; the server needs no restart.\n";

static int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("linkboot client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (usage) {
		const char *nl = strchr(usage, '\n');

		fprintf(stderr, "%.*s\n", (int)(nl ? nl - usage : 0), usage);
	}
	return EXIT_USAGE;
}

static int runtime_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int runtime_error(const char *fmt, ...)
{
	va_list ap;

	fputs("linkboot client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Parse options; operands go to pos[]. 0 or EXIT_USAGE. */
static int client_parse(int argc, char **argv, const char *usage,
			struct client_opts *o, const char **pos, int *npos,
			int maxpos)
{
	int i, rc;
	size_t k;

	memset(o, 0, sizeof(*o));
	o->legend = 1;
	*npos = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		size_t nlen;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = 1;
			continue;
		}
		if ((rc = table_parse_format_opt(a, &o->format)) != 0) {
			if (rc < 0)
				return EXIT_USAGE;
			continue;
		}
		if (!strcmp(a, "--no-legend")) {
			o->legend = 0;
			continue;
		}
		if (!strcmp(a, "--revoke")) {
			o->revoke = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0)
				return usage_error(usage, "unknown option '%s'", a);
			if (*npos >= maxpos)
				return usage_error(usage, "unexpected argument '%s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		val = strchr(a + 2, '=');
		nlen = val ? (size_t)(val - a - 2) : strlen(a + 2);
		for (k = 0; k < ARRAY_SIZE(client_opt_defs); k++)
			if (strlen(client_opt_defs[k].name) == nlen &&
			    !strncmp(client_opt_defs[k].name, a + 2, nlen))
				break;
		if (k == ARRAY_SIZE(client_opt_defs))
			return usage_error(usage, "unknown option '%s'", a);
		if (val) {
			val++;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return usage_error(usage, "option --%s needs a value",
					   client_opt_defs[k].name);
		}
		*(const char **)((char *)o + client_opt_defs[k].off) = val;
	}
	return 0;
}

static int parse_mac_arg(const char *s, const char *usage, char mac[18])
{
	uint8_t m[6];

	if (mac_parse(s, m) != 0)
		return usage_error(usage, "MAC '%s': not a MAC address (write it "
				   "like 52:54:00:12:34:56)", s);
	mac_format(m, mac);
	return 0;
}

/* ---- field validation: each names the field and the fix -------------- */

static int check_label(const char *field, const char *s, int hostname)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63)
		return usage_error(NULL, "--%s '%s': must be 1 to 63 characters",
				   field, s);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || (!hostname && (c == '_' || c == '.')))
			continue;
		return usage_error(NULL, "--%s '%s': use letters, digits and "
				   "'-'%s only", field, s,
				   hostname ? "" : " (and '_', '.')");
	}
	if (hostname && (s[0] == '-' || s[n - 1] == '-'))
		return usage_error(NULL, "--hostname '%s': must not begin or "
				   "end with '-' (RFC 1123)", s);
	return 0;
}

static int check_fields(const struct client_opts *o)
{
	uint64_t v;
	int rc;

	if (o->name && (rc = check_label("name", o->name, 0)) != 0)
		return rc;
	if (o->hostname && (rc = check_label("hostname", o->hostname, 1)) != 0)
		return rc;
	if (o->group && (rc = check_label("group", o->group, 0)) != 0)
		return rc;
	if (o->ram_cache && strcmp(o->ram_cache, "inherit") &&
	    parse_u64(o->ram_cache, 0, 1u << 20, &v) != 0)
		return usage_error(NULL, "--ram-cache '%s': give the RAM cache "
				   "size in MiB, 0 to 1048576 (e.g. 256)",
				   o->ram_cache);
	if (o->ssd_cache && strcmp(o->ssd_cache, "inherit") &&
	    strcmp(o->ssd_cache, "auto") && strcmp(o->ssd_cache, "off") &&
	    parse_u64(o->ssd_cache, 1, 1u << 24, &v) != 0)
		return usage_error(NULL, "--ssd-cache '%s': give a size in MiB, "
				   "'auto' (the whole linkboot-cache partition) "
				   "or 'off'", o->ssd_cache);
	if (o->write && strcmp(o->write, "inherit") &&
	    db_write_mode_parse(o->write) < 0)
		return usage_error(NULL, "--write '%s': give ram, disk, server "
				   "or super", o->write);
	if (o->overlay && strcmp(o->overlay, "inherit") &&
	    parse_u64(o->overlay, 1, 1u << 24, &v) != 0)
		return usage_error(NULL, "--overlay '%s': give the RAM for the "
				   "PC's writes in MiB (e.g. 256) or 'inherit'",
				   o->overlay);
	if (o->version && strcmp(o->version, "inherit") &&
	    parse_u64(o->version, 1, INT32_MAX, &v) != 0)
		return usage_error(NULL, "--version '%s': give a version number "
				   "(`linkboot image list`) or 'inherit'",
				   o->version);
	return 0;
}

/* ---- DB helpers ------------------------------------------------------- */

static int client_open(struct lb_config *cfg, struct db **db)
{
	int rc = db_open(cfg->state_dir, db);

	if (rc != 0) {
		fprintf(stderr, "linkboot client: cannot open the link DB in %s: "
			"%s (give --state DIR)\n", cfg->state_dir,
			strerror(err_errno(rc)));
		return 1;
	}
	if (cfg->store_dir)
		db_set_store_dir(*db, cfg->store_dir);
	return 0;
}

static int sql_step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	fprintf(stderr, "linkboot client: %s\n", sqlite3_errmsg(db_sqlite(db)));
	return db_errno(rc);
}

/* Image ID of an image name; 1 (message printed) if there is none. */
static int find_image(struct db *db, const char *name, char id[40])
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db_sqlite(db), "SELECT id FROM images WHERE "
			       "name = ?", -1, &st, NULL) != SQLITE_OK)
		return runtime_error("%s", sqlite3_errmsg(db_sqlite(db)));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(id, 40, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return runtime_error("--image '%s': no such image (see `linkboot "
				     "image list`; add one with `linkboot image "
				     "add NAME FILE`)", name);
	return 0;
}

static int check_version(struct db *db, const char *image_id,
			 const char *image, const char *version)
{
	sqlite3_stmt *st;
	int rc;

	if (!version || !strcmp(version, "inherit") || !image_id)
		return 0;
	if (sqlite3_prepare_v2(db_sqlite(db), "SELECT 1 FROM versions WHERE "
			       "image_id = ? AND version = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return runtime_error("%s", sqlite3_errmsg(db_sqlite(db)));
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, atoi(version));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return runtime_error("--version %s: image %s has no such version "
				     "(see `linkboot image show %s`)", version,
				     image ? image : image_id, image ? image : "");
	return 0;
}

static int ensure_group(struct db *db, const char *group)
{
	sqlite3_stmt *st;
	int rc;

	if (!group || !strcmp(group, "none"))
		return 0;
	if (sqlite3_prepare_v2(db_sqlite(db), "INSERT OR IGNORE INTO groups"
			       "(name) VALUES(?)", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	rc = sql_step_done(db, st);
	sqlite3_finalize(st);
	return rc;
}

static int name_taken(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db_sqlite(db), "SELECT 1 FROM clients WHERE "
			       "name = ?", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc;
}

static int next_free_name(struct db *db, char *out, size_t size)
{
	int n, rc;

	for (n = 1; n <= NAME_MAX_SEQ; n++) {
		snprintf(out, size, NAME_PATTERN, n);
		if ((rc = name_taken(db, out)) <= 0)
			return rc;
	}
	return -ENOSPC;
}

/* Bind an optional field: NULL = leave NULL; "inherit" = NULL. */
static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (!v || !strcmp(v, "inherit") || !strcmp(v, "none"))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_opt_int(sqlite3_stmt *st, int i, const char *v)
{
	if (!v || !strcmp(v, "inherit"))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, atoll(v));
}

/* "super" is not stored as a mode: it is the super flag + token. */
static const char *stored_write(const char *w)
{
	return w && !strcmp(w, "super") ? NULL : w;
}

static int client_make_super(struct db *db, const char *mac)
{
	char other[18] = "";
	int rc = db_client_super(db, mac, 1, other);

	if (rc == -EBUSY)
		return runtime_error("%s: %s is already the super client of this "
				     "image; run `linkboot client super %s off` "
				     "first", mac, other, other);
	if (rc != 0)
		return runtime_error("%s: super: %s", mac, strerror(err_errno(rc)));
	printf("%s is the super client: its next boot writes the next "
	       "version (granted to that boot only)\n", mac);
	return 0;
}

/* ---- verbs ------------------------------------------------------------ */

static int client_add(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18], image_id[40] = "", name[64], host[64], token[33],
	     machine_id[33], now[DB_TIME_LEN];
	struct client_opts o;
	const char *pos[1];
	sqlite3_stmt *st = NULL;
	struct db *db;
	int npos, rc, i;

	if ((rc = client_parse(argc, argv, usage_add, &o, pos, &npos, 1)) != 0)
		return rc;
	if (o.help) {
		fputs(usage_add, stdout);
		return 0;
	}
	if (npos != 1)
		return usage_error(usage_add, "MAC missing");
	if ((rc = parse_mac_arg(pos[0], usage_add, mac)) != 0 ||
	    (rc = check_fields(&o)) != 0)
		return rc;
	if (!o.image && !o.group)
		return usage_error(usage_add, "--image NAME missing (which image "
				   "should %s boot? see `linkboot image list`)",
				   mac);
	if (client_open(cfg, &db) != 0)
		return 1;
	rc = 1;
	if (db_begin(db) != 0)
		goto out;
	if (o.image && find_image(db, o.image, image_id) != 0)
		goto out;
	if (check_version(db, o.image ? image_id : NULL, o.image, o.version))
		goto out;
	if (o.name) {
		snprintf(name, sizeof(name), "%s", o.name);
		if (name_taken(db, name) > 0) {
			runtime_error("--name %s: another client has that name "
				      "(see `linkboot client list`)", name);
			goto out;
		}
	} else if (next_free_name(db, name, sizeof(name)) != 0) {
		runtime_error("no free name like PC-001 left: give --name");
		goto out;
	}
	snprintf(host, sizeof(host), "%s", o.hostname ? o.hostname : name);
	for (i = 0; host[i]; i++)
		host[i] = (char)tolower((unsigned char)host[i]);
	if (!o.hostname && check_label("hostname", host, 1) != 0) {
		fprintf(stderr, "linkboot client: give --hostname for name %s\n",
			name);
		rc = EXIT_USAGE;
		goto out;
	}
	if (db_random_hex(token, DB_TOKEN_HEX) != 0 ||
	    db_random_hex(machine_id, DB_TOKEN_HEX) != 0 ||
	    ensure_group(db, o.group) != 0)
		goto out;
	db_now_iso(now);
	if (sqlite3_prepare_v2(db_sqlite(db),
		"INSERT INTO clients(mac, name, hostname, grp, image_id, version,"
		" ram_cache_mib, ssd_cache, write_mode, token, machine_id,"
		" created, overlay_mib) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		" ?9, ?10, ?11, ?12, ?13)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
	bind_opt_text(st, 4, o.group);
	bind_opt_text(st, 5, image_id[0] ? image_id : NULL);
	bind_opt_int(st, 6, o.version);
	bind_opt_int(st, 7, o.ram_cache);
	bind_opt_text(st, 8, o.ssd_cache);
	bind_opt_text(st, 9, stored_write(o.write));
	sqlite3_bind_text(st, 10, token, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, now, -1, SQLITE_STATIC);
	bind_opt_int(st, 13, o.overlay);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_errcode(db_sqlite(db)) == SQLITE_CONSTRAINT)
			runtime_error("%s is already linked (change it with "
				      "`linkboot client set %s ...`)", mac, mac);
		else
			runtime_error("%s", sqlite3_errmsg(db_sqlite(db)));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (db_commit(db) != 0)
		goto out;
	printf("%s linked as %s (%s)%s%s\n", mac, name, host,
	       o.image ? " to image " : "", o.image ? o.image : "");
	rc = 0;
	if (o.write && !strcmp(o.write, "super"))
		rc = client_make_super(db, mac);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return rc;
}

/* SET clause for the fields given; the WHERE binds ?1. */
static void set_clause(const struct client_opts *o, int with_group,
		       char *sql, size_t size)
{
	size_t n = 0;

#define SETF(opt, col, idx) \
	if (opt) \
		n += (size_t)snprintf(sql + n, size - n, "%s" col " = ?" #idx, \
				      n ? ", " : "")
	SETF(o->image, "image_id", 2);
	SETF(o->name, "name", 3);
	SETF(o->hostname, "hostname", 4);
	if (with_group) {
		SETF(o->group, "grp", 5);
	}
	SETF(o->ram_cache, "ram_cache_mib", 6);
	SETF(o->ssd_cache, "ssd_cache", 7);
	SETF(o->write && strcmp(o->write, "super"), "write_mode", 8);
	SETF(o->version, "version", 9);
	SETF(o->overlay, "overlay_mib", 10);
#undef SETF
}

/* Is the client (or, without a MAC, any client of the group) a super
 * client? Moving it would leave two super clients on one image. */
static int super_in(struct db *db, const char *mac, const char *group)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db_sqlite(db), "SELECT 1 FROM clients WHERE "
			       "super = 1 AND (mac = ?1 OR (?1 = '' AND grp = "
			       "?2))", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, group ? group : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc;
}

static int client_set(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18] = "", image_id[40] = "", sql[512], set[384] = "";
	struct client_opts o;
	const char *pos[1], *key;
	sqlite3_stmt *st = NULL;
	struct db *db;
	int npos, rc, changed;

	if ((rc = client_parse(argc, argv, usage_set, &o, pos, &npos, 1)) != 0)
		return rc;
	if (o.help) {
		fputs(usage_set, stdout);
		return 0;
	}
	if (npos == 1 && (rc = parse_mac_arg(pos[0], usage_set, mac)) != 0)
		return rc;
	if (npos == 0 && (!o.group || !strcmp(o.group, "none")))
		return usage_error(usage_set, "give a MAC or --group G");
	if ((rc = check_fields(&o)) != 0)
		return rc;
	if (!mac[0] && (o.name || o.hostname))
		return usage_error(usage_set, "--name/--hostname: set them per "
				   "MAC, names are unique");
	set_clause(&o, mac[0] != 0, set, sizeof(set));
	if (!set[0] && !(o.write && !strcmp(o.write, "super")))
		return usage_error(usage_set, "nothing to change: give --image, "
				   "--ram-cache, --ssd-cache, --write, "
				   "--overlay, ...");
	if (client_open(cfg, &db) != 0)
		return 1;
	rc = 1;
	if (db_begin(db) != 0)
		goto out;
	if (o.image && find_image(db, o.image, image_id) != 0)
		goto out;
	if (o.version && check_version(db, o.image ? image_id : NULL, o.image,
				       o.version) != 0)
		goto out;
	if (mac[0] && o.group && ensure_group(db, o.group) != 0)
		goto out;
	if (o.name && name_taken(db, o.name) > 0) {
		runtime_error("--name %s: another client has that name", o.name);
		goto out;
	}
	if ((o.image || (mac[0] && o.group)) && super_in(db, mac, o.group)) {
		runtime_error("%s is the super client of its image: run "
			      "`linkboot client super %s off` before moving "
			      "it to another image or group", mac[0] ? mac :
			      "a client of the group", mac[0] ? mac : "MAC");
		goto out;
	}
	key = mac[0] ? mac : o.group;
	changed = 0;
	if (set[0]) {
		snprintf(sql, sizeof(sql), "UPDATE clients SET %s WHERE %s = ?1",
			 set, mac[0] ? "mac" : "grp");
		if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) !=
		    SQLITE_OK) {
			runtime_error("%s", sqlite3_errmsg(db_sqlite(db)));
			goto out;
		}
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, image_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, o.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, o.hostname, -1, SQLITE_STATIC);
		bind_opt_text(st, 5, o.group);
		bind_opt_int(st, 6, o.ram_cache);
		bind_opt_text(st, 7, o.ssd_cache);
		bind_opt_text(st, 8, o.write);
		bind_opt_int(st, 9, o.version);
		bind_opt_int(st, 10, o.overlay);
		if (sqlite3_step(st) != SQLITE_DONE) {
			runtime_error("%s", sqlite3_errmsg(db_sqlite(db)));
			goto out;
		}
		changed = sqlite3_changes(db_sqlite(db));
		sqlite3_finalize(st);
		st = NULL;
	}
	if (!mac[0] && !changed) {
		runtime_error("no client is in group %s (see `linkboot client "
			      "list -j`; put one there with `linkboot client "
			      "set MAC --group %s`)", o.group, o.group);
		goto out;
	}
	if (mac[0] && !changed && set[0]) {
		runtime_error("%s is not linked (link it with `linkboot client "
			      "add %s --image NAME`)", mac, mac);
		goto out;
	}
	if (db_commit(db) != 0)
		goto out;
	if (mac[0])
		printf("%s updated\n", mac);
	else
		printf("group %s: %d client(s) updated\n", o.group, changed);
	rc = 0;
	if (mac[0] && o.write && !strcmp(o.write, "super"))
		rc = client_make_super(db, mac);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return rc;
}

/* Verbs taking MAC [on|off]: rm, super, keep. */
static int client_mac_verb(struct lb_config *cfg, int argc, char **argv,
			   const char *usage, int want_onoff, char *mac,
			   int *on, struct db **db)
{
	struct client_opts o;
	const char *pos[2];
	int npos, rc;

	if ((rc = client_parse(argc, argv, usage, &o, pos, &npos, 2)) != 0)
		return rc;
	if (o.help) {
		fputs(usage, stdout);
		return -1;
	}
	if (npos < 1)
		return usage_error(usage, "MAC missing");
	if (npos != 1 + want_onoff)
		return usage_error(usage, want_onoff ? "give on or off after "
				   "the MAC" : "unexpected argument '%s'",
				   pos[npos - 1]);
	if ((rc = parse_mac_arg(pos[0], usage, mac)) != 0)
		return rc;
	if (want_onoff) {
		if (!strcmp(pos[1], "on"))
			*on = 1;
		else if (!strcmp(pos[1], "off"))
			*on = 0;
		else
			return usage_error(usage, "'%s': give on or off", pos[1]);
	}
	return client_open(cfg, db);
}

static int exec_mac(struct db *db, const char *sql, const char *mac, int v)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK)
		return runtime_error("%s", sqlite3_errmsg(db_sqlite(db)));
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return runtime_error("%s", sqlite3_errmsg(db_sqlite(db)));
	if (sqlite3_changes(db_sqlite(db)) == 0)
		return runtime_error("%s is not linked (see `linkboot client "
				     "list`)", mac);
	return 0;
}

static int client_rm(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18];
	struct db *db;
	int rc;

	if ((rc = client_mac_verb(cfg, argc, argv, usage_rm, 0, mac, NULL,
				  &db)) != 0)
		return rc < 0 ? 0 : rc;
	rc = exec_mac(db, "DELETE FROM clients WHERE mac = ?1 AND ?2 = ?2",
		      mac, 0);
	if (rc == 0)
		printf("%s unlinked\n", mac);
	db_close(db);
	return rc;
}

static int client_keep(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18];
	struct db *db;
	int rc, on = 0;

	if ((rc = client_mac_verb(cfg, argc, argv, usage_keep, 1, mac, &on,
				  &db)) != 0)
		return rc < 0 ? 0 : rc;
	rc = exec_mac(db, "UPDATE clients SET keep_overlay = ?2 WHERE mac = ?1",
		      mac, on);
	if (rc == 0)
		printf("%s: server overlay %s across boots\n", mac,
		       on ? "kept" : "dropped");
	db_close(db);
	return rc;
}

static int client_super(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18], id[40];
	struct db *db;
	int rc, on = 0;

	if ((rc = client_mac_verb(cfg, argc, argv, usage_super, 1, mac, &on,
				  &db)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = db_client_image(db, mac, id, sizeof(id))) == -ENOENT) {
		rc = runtime_error("%s is not linked to an image (link it with "
				   "`linkboot client add %s --image NAME`)",
				   mac, mac);
	} else if (on) {
		rc = client_make_super(db, mac);
	} else if ((rc = db_client_super(db, mac, 0, NULL)) == 0) {
		printf("%s is no longer the super client\n", mac);
	} else {
		rc = runtime_error("%s: %s", mac, strerror(err_errno(rc)));
	}
	db_close(db);
	return rc;
}

static int client_token(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18], cred[CRED_STR_LEN + 1];
	struct client_opts o;
	const char *pos[1];
	struct in_addr in;
	struct db *db;
	int npos, rc;

	if ((rc = client_parse(argc, argv, usage_token, &o, pos, &npos, 1)))
		return rc;
	if (o.help) {
		fputs(usage_token, stdout);
		return 0;
	}
	if (npos != 1)
		return usage_error(usage_token, "MAC missing");
	if ((rc = parse_mac_arg(pos[0], usage_token, mac)) != 0)
		return rc;
	if (o.peer && inet_pton(AF_INET, o.peer, &in) != 1)
		return usage_error(usage_token, "--peer '%s': not an IPv4 "
				   "address", o.peer);
	if (o.peer && o.revoke)
		return usage_error(usage_token, "--peer and --revoke: one or "
				   "the other");
	if (client_open(cfg, &db) != 0)
		return 1;
	if (o.revoke) {
		rc = cred_admin_revoke(db, mac);
		if (rc >= 0)
			printf("%s: %d admin token(s) revoked\n", mac, rc);
	} else if ((rc = cred_admin_mint(db, mac, o.peer, cred)) == 0) {
		/* the token alone on stdout: scripts take it from there */
		printf("%s\n", cred);
		fprintf(stderr, "linkboot client: admin token for %s%s%s "
			"(shown once; `client token %s --revoke` ends it)\n",
			mac, o.peer ? ", from " : "", o.peer ? o.peer : "", mac);
		sodium_memzero(cred, sizeof(cred));
	}
	db_close(db);
	if (rc == -ENOENT)
		return runtime_error("%s is not a client (see `linkboot client "
				     "list`)", mac);
	return rc < 0 ? runtime_error("%s: %s", mac, err_str(rc)) : 0;
}

/* ---- list / show ------------------------------------------------------ */

static const struct table_col list_cols[] = {
	{ "MAC", "mac" }, { "NAME", "name" }, { "IMAGE", "image" },
	{ "VERSION", "version" }, { "CACHE", "ram_cache_bytes" },
	{ "SSD", "ssd_cache" }, { "WRITE", "write_mode" },
	{ "LAST BOOT", "last_boot" }, { "ONLINE", "online" },
	/* show, JSON: the rest */
	{ "HOSTNAME", "hostname" }, { "GROUP", "group" },
	{ "SUPER", "super" }, { "KEEP OVERLAY", "keep_overlay" },
	{ "IMAGE MISSING", "image_missing" }, { "BOOTS", "boots" },
	{ "ADMIN TOKENS", "admin_tokens" },
	{ "MACHINE ID", "machine_id" }, { "OVERLAY RAM", "overlay_ram_bytes" },
};
#define LIST_TEXT_COLS 9

static int client_row(struct db *db, struct table *t, sqlite3_stmt *st)
{
	struct link_info li;
	uint8_t m[6];
	char cache[32];
	const char *mac = (const char *)sqlite3_column_text(st, 0);
	unsigned nboot, nadmin;
	int linked;

	linked = mac_parse(mac, m) == 0 && db_link_lookup(db, m, &li) == 0;
	if (table_row(t) != 0)
		return -ENOMEM;
	table_str(t, mac);
	table_str(t, (const char *)sqlite3_column_text(st, 1));
	if (linked) {
		table_str(t, li.image);
		table_int(t, li.version);
		snprintf(cache, sizeof(cache), "%uM", li.ram_cache_mib);
		table_num_text(t, (int64_t)li.ram_cache_mib << 20, cache);
		table_str(t, li.ssd_cache);
		table_str(t, db_write_mode_name(sqlite3_column_int(st, 4) ?
						WRITE_SUPER : li.write_mode));
	} else {
		table_null(t); table_null(t); table_null(t); table_null(t);
		table_null(t);
	}
	table_str(t, (const char *)sqlite3_column_text(st, 3));
	table_bool(t, sqlite3_column_int(st, 6));
	table_str(t, (const char *)sqlite3_column_text(st, 2));
	table_str(t, (const char *)sqlite3_column_text(st, 7));
	table_bool(t, sqlite3_column_int(st, 4));
	table_bool(t, sqlite3_column_int(st, 5));
	if (linked)
		table_bool(t, li.image_missing);
	else
		table_null(t);
	table_int(t, sqlite3_column_int64(st, 8));
	table_int(t, cred_count(db, mac, &nboot, &nadmin) == 0 ? nadmin : 0);
	table_str(t, (const char *)sqlite3_column_text(st, 9));
	if (linked && li.overlay_mib) {
		snprintf(cache, sizeof(cache), "%uM", li.overlay_mib);
		table_num_text(t, (int64_t)li.overlay_mib << 20, cache);
	} else {
		table_null(t);	/* the agent's default */
	}
	return 0;
}

static int client_list_show(struct lb_config *cfg, int argc, char **argv,
			    int show)
{
	const char *usage = show ? usage_show : usage_list;
	struct client_opts o;
	const char *pos[1];
	char mac[18] = "";
	sqlite3_stmt *st = NULL;
	struct table *t = NULL;
	struct db *db;
	int npos, rc, n = 0;

	if ((rc = client_parse(argc, argv, usage, &o, pos, &npos,
			       show ? 1 : 0)) != 0)
		return rc;
	if (o.help) {
		fputs(usage, stdout);
		return 0;
	}
	if (show && npos != 1)
		return usage_error(usage, "MAC missing");
	if (show && (rc = parse_mac_arg(pos[0], usage, mac)) != 0)
		return rc;
	if (client_open(cfg, &db) != 0)
		return 1;
	rc = 1;
	/* JSON and show carry every column; the text list the first ones */
	t = table_new(list_cols, show || o.format != TABLE_TEXT ?
		      ARRAY_SIZE(list_cols) : LIST_TEXT_COLS);
	if (!t || sqlite3_prepare_v2(db_sqlite(db),
		"SELECT c.mac, c.name, c.hostname, c.last_boot, c.super,"
		" c.keep_overlay, EXISTS (SELECT 1 FROM sessions s WHERE"
		" s.mac = c.mac), c.grp, c.boot_seq, c.machine_id FROM clients c"
		" WHERE ?1 = '' OR c.mac = ?1 ORDER BY c.name", -1, &st,
		NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (client_row(db, t, st) != 0)
			goto out;
		n++;
	}
	if (show && n == 0) {
		runtime_error("%s is not linked (see `linkboot client list`)", mac);
		goto out;
	}
	if (show && o.format != TABLE_TEXT) {
		table_print_object(t, stdout, o.format);
	} else if (show) {
		table_print_fields(t, stdout);
	} else {
		table_print(t, stdout, o.format, o.legend);
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	table_free(t);
	db_close(db);
	return rc;
}

/* ---- dispatch --------------------------------------------------------- */

int cmd_client(struct lb_config *cfg, int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(struct lb_config *, int, char **);
	} verbs[] = {
		{ "add", client_add }, { "set", client_set },
		{ "rm", client_rm }, { "remove", client_rm },
		{ "keep", client_keep }, { "super", client_super },
		{ "token", client_token },
	};
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_client, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "list") || !strcmp(argv[1], "ls"))
		return client_list_show(cfg, argc - 1, argv + 1, 0);
	if (!strcmp(argv[1], "show"))
		return client_list_show(cfg, argc - 1, argv + 1, 1);
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[1], verbs[i].verb))
			return verbs[i].fn(cfg, argc - 1, argv + 1);
	fprintf(stderr, "linkboot client: unknown command '%s'\n%s", argv[1],
		usage_client);
	return EXIT_USAGE;
}
