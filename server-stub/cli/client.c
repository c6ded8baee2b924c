/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot client ...`: link client MACs to images (CCBoot's "image
 * link"). Every change is one SQLite transaction in the shared link DB; the
 * running server reads it at the client's next request, no restart.
 *
 * Exit status: 0 ok, 1 runtime error (unknown image, duplicate name, DB),
 * 2 usage error (bad option or value; the message names the field).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <sodium.h>

#include "boot_auth.h"
#include "bootscript.h"
#include "commands.h"
#include "credential.h"
#include "db.h"
#include "db_internal.h"
#include "lb_err.h"
#include "wol.h"
#include "lb_util.h"
#include "links.h"
#include "table.h"

#define WHY_LEN 320	/* a link operation's reason for the admin */

/* Options of every verb; NULL = not given. */
struct client_opts {
	struct link_opts link;	/* add/set: the fields of the link */
	const char *peer;	/* token: the address it is bound to */
	int revoke;		/* token --revoke */
	int iscsi;		/* token --iscsi */
	int format;		/* enum table_format */
	int legend;
	int help;
};

static const struct client_opt_def {
	const char *name;
	size_t off;
} client_opt_defs[] = {
	{ "image", offsetof(struct client_opts, link.image) },
	{ "name", offsetof(struct client_opts, link.name) },
	{ "hostname", offsetof(struct client_opts, link.hostname) },
	{ "group", offsetof(struct client_opts, link.group) },
	{ "ram-cache", offsetof(struct client_opts, link.ram_cache) },
	{ "ssd-cache", offsetof(struct client_opts, link.ssd_cache) },
	{ "write", offsetof(struct client_opts, link.write) },
	{ "version", offsetof(struct client_opts, link.version) },
	{ "overlay", offsetof(struct client_opts, link.overlay) },
	{ "boot", offsetof(struct client_opts, link.boot) },
	{ "secure-boot", offsetof(struct client_opts, link.secure_boot) },
	{ "menu", offsetof(struct client_opts, link.menu) },
	{ "menu-default", offsetof(struct client_opts, link.menu_default) },
	{ "menu-timeout", offsetof(struct client_opts, link.menu_timeout) },
	{ "wake-subnet", offsetof(struct client_opts, link.wake_subnet) },
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
"  --name N            client name (default: next free " LINK_NAME_PATTERN ")\n"
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
"                      (default 64)\n"
"  --boot linux|san    linux (built-in): kernel + initramfs, root over NBD;\n"
"                      san: iPXE boots the PC's iSCSI disk (Windows-class\n"
"                      PCs), same image, versions and write modes\n"
"  --secure-boot on|off|auto   on: the PC's UEFI firmware has Secure Boot\n"
"                      on, so DHCP hands it Debian's signed shim -> GRUB\n"
"                      chain instead of iPXE (which such a PC refuses);\n"
"                      off: iPXE; auto (built-in): the server's\n"
"                      secure_boot, since DHCP cannot tell\n"
"  --menu E1,E2,...    a boot menu (iPXE and GRUB alike): image names,\n"
"                      'local' (the PC's own disk), 'rescue' (the image's\n"
"                      rescue shell); one entry boots straight through.\n"
"                      Another image than the link's boots restore-on-\n"
"                      reboot (ram), at its production version\n"
"  --menu-default E    the entry taken when the time is up (default: the\n"
"                      first)\n"
"  --menu-timeout S    seconds the menu waits (built-in 5; 0: no wait)\n"
"  --wake-subnet A.B.C.D/N   the PC's routed subnet: Wake-on-LAN (client\n"
"                      wake, image prestage) also sends to its directed\n"
"                      broadcast (its router must forward those)\n";

static const char usage_set[] =
"Usage: linkboot client set MAC [OPTIONS]\n"
"       linkboot client set --group G [OPTIONS]\n"
"\n"
"Change a client's link, or (with --group and no MAC) the same fields for\n"
"every client in group G at once. Takes the options of `client add`;\n"
"the value `inherit` clears --ram-cache, --ssd-cache, --write, --version,\n"
"--overlay, --boot, --secure-boot, --menu* or --wake-subnet so the client\n"
"follows its group /\n"
"image (or the server's secure_boot) again. With a\n"
"MAC, --group moves\n"
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
"Usage: linkboot client token MAC [--peer ADDR] [--iscsi]\n"
"       linkboot client token MAC --revoke\n"
"\n"
"Mint an admin token for MAC's disk: an NBD export name that opens the PC's\n"
"link as the PC's own boots do (its image, version and write mode, its\n"
"server overlay), for a VM (qemu nbd://SERVER/TOKEN) or a tool. Printed\n"
"once; the server keeps only its hash. --peer binds it to one IPv4 address.\n"
"It never writes a new version (that is the super client's boot). --iscsi\n"
"also prints the PC's iSCSI target and the CHAP user (the token) and secret\n"
"that open it (iscsi://USER%SECRET@SERVER/TARGET/0). --revoke deletes all of\n"
"MAC's admin tokens; sessions already open go on until they close.\n";

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
"  disk add|rm|list ...             extra disks (LUN 1-7) of a PC or group\n"
"  reboot|poweroff|message ...      commands to running PCs (their agents)\n"
"  commands [MAC]                   those commands and their state\n"
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
		if (!strcmp(a, "--iscsi")) {
			o->iscsi = 1;
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
		/* --secure-boot auto = no setting of its own: the server's */
		if (!strcmp(client_opt_defs[k].name, "secure-boot") &&
		    !strcmp(val, "auto"))
			val = "inherit";
		*(const char **)((char *)o + client_opt_defs[k].off) = val;
	}
	return 0;
}

static int parse_mac_arg(const char *s, const char *usage, char mac[18])
{
	char why[WHY_LEN];

	if (link_mac(s, mac, why, sizeof(why)) != 0)
		return usage_error(usage, "%s", why);
	return 0;
}

static int client_open(struct lb_config *cfg, struct db **db)
{
	int rc = db_open(cfg->state_dir, db);

	if (rc != 0) {
		fprintf(stderr, "linkboot client: cannot open the link DB in %s: "
			"%s (give --state DIR)\n", cfg->state_dir, err_str(rc));
		return 1;
	}
	if (cfg->store_dir)
		db_set_store_dir(*db, cfg->store_dir);
	return 0;
}

/*
 * A link operation said no: its reason, and the exit code. A malformed
 * request is a usage error (2); when it was the request's shape rather
 * than one field's value, the usage line follows.
 */
static int op_failed(const char *usage, int rc, const char *why)
{
	const char *msg = why[0] ? why : err_str(rc);

	if (err_errno(rc) != EINVAL)
		return runtime_error("%s", msg);
	if (rc == EINVAL_LINK_NO_IMAGE || rc == EINVAL_LINK_NOTHING ||
	    rc == EINVAL_LINK_PER_MAC)
		return usage_error(usage, "%s", msg);
	return usage_error(NULL, "%s", msg);
}

static int wants_super(const struct client_opts *o)
{
	return o->link.write && !strcmp(o->link.write, "super");
}

static void print_super_on(const char *mac)
{
	printf("%s is the super client: its next boot writes the next "
	       "version (granted to that boot only)\n", mac);
}

/* ---- verbs ------------------------------------------------------------ */

static int client_add(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18], name[64], host[64], why[WHY_LEN] = "";
	struct client_opts o;
	const char *pos[1];
	struct db *db;
	int npos, rc;

	if ((rc = client_parse(argc, argv, usage_add, &o, pos, &npos, 1)) != 0)
		return rc;
	if (o.help) {
		fputs(usage_add, stdout);
		return 0;
	}
	if (npos != 1)
		return usage_error(usage_add, "MAC missing");
	if ((rc = parse_mac_arg(pos[0], usage_add, mac)) != 0)
		return rc;
	if ((rc = link_opts_check(&o.link, why, sizeof(why))) != 0)
		return op_failed(usage_add, rc, why);
	if (client_open(cfg, &db) != 0)
		return 1;
	rc = link_add(db, mac, &o.link, name, host, why, sizeof(why));
	db_close(db);
	if (rc)
		return op_failed(usage_add, rc, why);
	printf("%s linked as %s (%s)%s%s\n", mac, name, host,
	       o.link.image ? " to image " : "",
	       o.link.image ? o.link.image : "");
	if (wants_super(&o))
		print_super_on(mac);
	return 0;
}

static int client_set(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18] = "", why[WHY_LEN] = "";
	struct client_opts o;
	const char *pos[1], *group;
	unsigned changed = 0;
	struct db *db;
	int npos, rc;

	if ((rc = client_parse(argc, argv, usage_set, &o, pos, &npos, 1)) != 0)
		return rc;
	if (o.help) {
		fputs(usage_set, stdout);
		return 0;
	}
	if (npos == 1 && (rc = parse_mac_arg(pos[0], usage_set, mac)) != 0)
		return rc;
	group = o.link.group;
	if (npos == 0 && (!group || !strcmp(group, "none")))
		return usage_error(usage_set, "give a MAC or --group G");
	if ((rc = link_opts_check(&o.link, why, sizeof(why))) != 0)
		return op_failed(usage_set, rc, why);
	if (client_open(cfg, &db) != 0)
		return 1;
	if (mac[0]) {
		rc = link_set(db, mac, &o.link, why, sizeof(why));
	} else {
		o.link.group = NULL;	/* the selector, not a new group */
		rc = link_set_group(db, group, &o.link, &changed, why,
				    sizeof(why));
	}
	db_close(db);
	if (rc)
		return op_failed(usage_set, rc, why);
	if (mac[0])
		printf("%s updated\n", mac);
	else
		printf("group %s: %u client(s) updated\n", group, changed);
	if (mac[0] && wants_super(&o))
		print_super_on(mac);
	return 0;
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

static int client_rm(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18], why[WHY_LEN] = "";
	struct db *db;
	int rc;

	if ((rc = client_mac_verb(cfg, argc, argv, usage_rm, 0, mac, NULL,
				  &db)) != 0)
		return rc < 0 ? 0 : rc;
	rc = link_rm(db, mac, why, sizeof(why));
	db_close(db);
	if (rc)
		return op_failed(usage_rm, rc, why);
	printf("%s unlinked\n", mac);
	return 0;
}

static int client_keep(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18], why[WHY_LEN] = "";
	struct db *db;
	int rc, on = 0;

	if ((rc = client_mac_verb(cfg, argc, argv, usage_keep, 1, mac, &on,
				  &db)) != 0)
		return rc < 0 ? 0 : rc;
	rc = link_keep(db, mac, on, why, sizeof(why));
	db_close(db);
	if (rc)
		return op_failed(usage_keep, rc, why);
	printf("%s: server overlay %s across boots\n", mac,
	       on ? "kept" : "dropped");
	return 0;
}

static int client_super(struct lb_config *cfg, int argc, char **argv)
{
	char mac[18], why[WHY_LEN] = "";
	struct db *db;
	int rc, on = 0;

	if ((rc = client_mac_verb(cfg, argc, argv, usage_super, 1, mac, &on,
				  &db)) != 0)
		return rc < 0 ? 0 : rc;
	rc = link_super(db, mac, on, why, sizeof(why));
	db_close(db);
	if (rc)
		return op_failed(usage_super, rc, why);
	if (on)
		print_super_on(mac);
	else
		printf("%s is no longer the super client\n", mac);
	return 0;
}

/* An admin token's iSCSI login: target, CHAP user and secret (the secret
 * is derived from the server's ticket key, boot_auth.h). */
static int print_iscsi_login(const struct lb_config *cfg, const char *mac,
			     const char *cred)
{
	char ini[BOOTSCRIPT_IQN_MAX], tgt[BOOTSCRIPT_IQN_MAX];
	char secret[SAN_SECRET_LEN + 1];
	uint8_t key[TICKET_KEY_LEN], m[6];
	int dirfd, rc;

	if ((dirfd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY |
			  O_CLOEXEC)) < 0)
		return -errno;
	rc = boot_auth_key_load(dirfd, key);
	close(dirfd);
	if (rc != 0)
		return rc;
	mac_parse(mac, m);
	bootscript_san_iqns(m, ini, tgt);
	san_chap_secret(key, cred, 0, secret);
	printf("iscsi_target=%s\nchap_user=%s\nchap_secret=%s\n", tgt, cred,
	       secret);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(secret, sizeof(secret));
	return 0;
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
		if (o.iscsi)
			rc = print_iscsi_login(cfg, mac, cred);
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
	{ "BOOT", "boot_mode" }, { "SECURE BOOT", "secure_boot" },
	{ "MENU", "menu" }, { "MENU DEFAULT", "menu_default" },
	{ "MENU PICKED", "menu_picked" }, { "WAKE SUBNET", "wake_subnet" },
};
#define LIST_TEXT_COLS 9

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

static void mib_cell(struct table *t, unsigned mib)
{
	char text[32];

	snprintf(text, sizeof(text), "%uM", mib);
	table_num_text(t, (int64_t)mib << 20, text);
}

/* What the client boots with: its effective values. */
static void client_link_cells(struct table *t, const struct link_entry *e)
{
	const struct link_info *li = &e->link;

	if (!e->linked) {
		for (int i = 0; i < 5; i++)
			table_null(t);
		return;
	}
	table_str(t, li->image);
	table_int(t, li->version);
	mib_cell(t, li->ram_cache_mib);
	table_str(t, li->ssd_cache);
	table_str(t, db_write_mode_name(e->super ? WRITE_SUPER :
					li->write_mode));
}

static int client_row(struct table *t, const struct link_entry *e)
{
	if (table_row(t) != 0)
		return -ENOMEM;
	table_str(t, e->mac);
	table_str(t, e->name);
	client_link_cells(t, e);
	table_str(t, or_null(e->last_boot));
	table_bool(t, e->online);
	table_str(t, e->hostname);
	table_str(t, or_null(e->group));
	table_bool(t, e->super);
	table_bool(t, e->keep_overlay);
	if (e->linked)
		table_bool(t, e->link.image_missing);
	else
		table_null(t);
	table_int(t, e->boots);
	table_int(t, e->admin_tokens);
	table_str(t, e->machine_id);
	if (e->linked && e->link.overlay_mib)
		mib_cell(t, e->link.overlay_mib);
	else
		table_null(t);	/* the agent's default */
	if (e->linked)
		table_str(t, db_boot_mode_name(e->link.boot_mode));
	else
		table_null(t);
	if (e->linked)	/* auto: the server's secure_boot decides */
		table_str(t, secure_boot_name(e->link.secure_boot));
	else
		table_null(t);
	table_str(t, e->linked ? or_null(e->link.menu) : NULL);
	table_str(t, e->linked ? or_null(e->link.menu_default) : NULL);
	/* the text list has fewer columns: cells past them are dropped */
	table_str(t, e->linked ? or_null(e->link.menu_picked) : NULL);
	table_str(t, e->linked ? or_null(e->link.wake_subnet) : NULL);
	return 0;
}

/* The entries to print: every client, or the one of show. */
static int client_entries(struct db *db, const char *mac,
			  struct link_entry **rows, size_t *n)
{
	char why[WHY_LEN] = "";
	int rc;

	if (!mac[0]) {
		if ((rc = link_list(db, rows, n)) != 0)
			return runtime_error("%s", err_str(rc));
		return 0;
	}
	if (!(*rows = malloc(sizeof(**rows))))
		return 1;
	if ((rc = link_show(db, mac, *rows, why, sizeof(why))) != 0)
		return op_failed(usage_show, rc, why);
	*n = 1;
	return 0;
}

static int client_list_show(struct lb_config *cfg, int argc, char **argv,
			    int show)
{
	const char *usage = show ? usage_show : usage_list;
	struct link_entry *rows = NULL;
	struct client_opts o;
	const char *pos[1];
	char mac[18] = "";
	struct table *t = NULL;
	struct db *db;
	size_t n = 0;
	int npos, rc;

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
	rc = client_entries(db, mac, &rows, &n);
	db_close(db);
	/* JSON and show carry every column; the text list the first ones */
	if (rc == 0 && !(t = table_new(list_cols, show || o.format != TABLE_TEXT ?
				       ARRAY_SIZE(list_cols) : LIST_TEXT_COLS)))
		rc = 1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (client_row(t, &rows[i]) != 0)
			rc = 1;
	if (rc == 0 && show && o.format != TABLE_TEXT)
		table_print_object(t, stdout, o.format);
	else if (rc == 0 && show)
		table_print_fields(t, stdout);
	else if (rc == 0)
		table_print(t, stdout, o.format, o.legend);
	table_free(t);
	free(rows);
	return rc;
}

/* ---- wake ------------------------------------------------------------- */

static const char usage_wake[] =
"Usage: linkboot client wake MAC|--group G|--all [--stagger SECONDS]\n"
"                            [--interface IF] [--wait SECONDS]\n"
"Send Wake-on-LAN magic packets (UDP/9 broadcast, and an Ethernet frame\n"
"of type 0x0842 on IF; for a PC with --wake-subnet also UDP/9 to that\n"
"subnet's directed broadcast) to one PC, a group's PCs or every linked PC,\n"
"SECONDS apart (default 1, at most 60). --wait: then follow each PC until\n"
"it is online (a live session), at most SECONDS; exit 1 if one did not\n"
"come up.\n";

#define WAKE_STAGGER_MAX 60
#define WAKE_WAIT_MAX 3600

static int wake_one(const char *mac, const char *ifname, const char *subnet)
{
	uint8_t hw[6];
	int rc;

	if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &hw[0], &hw[1],
		   &hw[2], &hw[3], &hw[4], &hw[5]) != 6)
		return runtime_error("bad MAC %s", mac);
	rc = wol_wake(hw, ifname, subnet);
	if (rc < 0) {
		printf("woke %s: failed: %s\n", mac, err_str(rc));
		return 1;
	}
	printf("woke %s: sent\n", mac);
	fflush(stdout);
	return 0;
}

/* Is the PC online (a live session) now? */
static int wake_online(struct lb_config *cfg, const char *mac)
{
	struct link_entry e;
	char why[WHY_LEN];
	struct db *db;
	int on;

	if (db_open(cfg->state_dir, &db) != 0)
		return 0;
	on = link_show(db, mac, &e, why, sizeof(why)) == 0 && e.online;
	db_close(db);
	return on;
}

/* --wait: each woken PC's progress until it is online, bounded by secs;
 * the number that did not come up. */
static int wake_wait(struct lb_config *cfg, char (*macs)[18], size_t n,
		     long secs)
{
	time_t t0 = time(NULL);
	int *up = calloc(n, sizeof(*up));
	size_t left = n;

	if (!up)
		return (int)n;
	while (left && time(NULL) - t0 <= secs) {
		for (size_t i = 0; i < n; i++) {
			if (up[i] || !wake_online(cfg, macs[i]))
				continue;
			up[i] = 1;
			left--;
			printf("%s: online after %lld s\n", macs[i],
			       (long long)(time(NULL) - t0));
			fflush(stdout);
		}
		if (left)
			sleep(1);
	}
	for (size_t i = 0; i < n; i++)
		if (!up[i])
			printf("%s: not online after %ld s (Wake-on-LAN on in "
			       "its firmware? cable? `linkboot why %s`)\n",
			       macs[i], secs, macs[i]);
	free(up);
	return (int)left;
}

static int client_wake(struct lb_config *cfg, int argc, char **argv)
{
	const char *group = NULL, *mac_arg = NULL, *ifname = cfg->interface;
	struct link_entry *rows = NULL;
	char (*macs)[18] = NULL;
	long stagger = 1, wait = 0;
	size_t n = 0, woken = 0;
	int all = 0, rc = 0, fail = 0;
	char mac[18] = "";
	struct db *db;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_wake, stdout);
			return 0;
		} else if (!strcmp(a, "--all")) {
			all = 1;
		} else if (!strcmp(a, "--wait") && i + 1 < argc) {
			char *end;

			wait = strtol(argv[++i], &end, 10);
			if (*end || wait < 1 || wait > WAKE_WAIT_MAX)
				return usage_error(usage_wake, "--wait: 1..%d "
						   "seconds", WAKE_WAIT_MAX);
		} else if ((!strcmp(a, "--group") || !strcmp(a, "--stagger") ||
			    !strcmp(a, "--interface")) && i + 1 < argc) {
			if (!strcmp(a, "--group")) {
				group = argv[++i];
			} else if (!strcmp(a, "--interface")) {
				ifname = argv[++i];
			} else {
				char *end;

				stagger = strtol(argv[++i], &end, 10);
				if (*end || stagger < 0 || stagger > WAKE_STAGGER_MAX)
					return usage_error(usage_wake,
						"--stagger: 0..%d seconds",
						WAKE_STAGGER_MAX);
			}
		} else if (a[0] == '-') {
			return usage_error(usage_wake, "unknown option %s", a);
		} else if (!mac_arg) {
			mac_arg = a;
		} else {
			return usage_error(usage_wake, "one MAC only");
		}
	}
	if (!!mac_arg + !!group + all != 1)
		return usage_error(usage_wake, "give one of MAC, --group G, --all");
	if (mac_arg && (rc = parse_mac_arg(mac_arg, usage_wake, mac)) != 0)
		return rc;
	if (client_open(cfg, &db) != 0)
		return 1;
	rc = client_entries(db, mac, &rows, &n);
	db_close(db);
	if (rc != 0)
		return rc;
	if (!(macs = calloc(n ? n : 1, sizeof(*macs)))) {
		free(rows);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (group && strcmp(rows[i].group, group) != 0)
			continue;
		if (woken > 0 && stagger > 0)
			sleep((unsigned)stagger);
		memcpy(macs[woken++], rows[i].mac, 18);
		if (wake_one(rows[i].mac, ifname, rows[i].linked ?
			     rows[i].link.wake_subnet : NULL) != 0)
			fail = 1;
	}
	free(rows);
	if (woken == 0) {
		free(macs);
		return runtime_error(group ? "no client in group %s" :
				     "no clients linked", group ? group : "");
	}
	if (!fail && wait && wake_wait(cfg, macs, woken, wait) > 0)
		fail = 1;
	free(macs);
	return fail;
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
		{ "token", client_token }, { "wake", client_wake },
		{ "disk", cmd_client_disk },
		{ "reboot", cmd_client_control },
		{ "poweroff", cmd_client_control },
		{ "message", cmd_client_control },
		{ "commands", cmd_client_control },
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
