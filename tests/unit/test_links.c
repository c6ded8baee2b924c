/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: client link operations (server-stub/linkdb/links.c) on a
 * temporary state dir with a real link DB: add/set/rm/super/keep, a group
 * set, relink, inheritance (client -> group -> image -> built-in) as the
 * boot script sees it, every refusal with its cause and its reason; extra
 * disks (disks.c): LUNs, modes, a client's disk over its group's, the
 * version a boot keeps, what a removed disk forgets.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "credential.h"
#include "db.h"
#include "db_internal.h"
#include "disks.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "links.h"

#define IMG "00112233445566aa"
#define IMG2 "ffeeddccbbaa9988"
#define MAC1 "52:54:00:00:00:01"
#define MAC2 "52:54:00:00:00:02"
#define MAC3 "52:54:00:00:00:03"

struct fx {
	char dir[64];
	struct db *db;
	char why[320];
};

static void sql(struct db *db, const char *s)
{
	assert_int_equal(db_exec(db, s), 0);
}

/* One integer the query returns (-1 for NULL). */
static int64_t sql_int(struct db *db, const char *q)
{
	sqlite3_stmt *st;
	int64_t v = -2;

	assert_int_equal(db_prepare(db, q, &st), 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 :
			sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Images "win" (v1..v3, production 2, defaults 128 MiB, disk) and
 * "lin" (v1, no defaults); group "lab" on win with 96 MiB. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	log_set_level(LOG_LEVEL_ERR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_links.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(db_open(f->dir, &f->db), 0);
	sql(f->db, "INSERT INTO images(id, name, size, ram_cache_mib,"
		" write_mode, production_version, created) VALUES"
		" ('" IMG "', 'win', 4096, 128, 'disk', 2, 'x'),"
		" ('" IMG2 "', 'lin', 4096, NULL, NULL, 1, 'x');"
		"INSERT INTO versions(image_id, version, file, created) VALUES"
		" ('" IMG "', 1, 'a', 'x'), ('" IMG "', 2, 'b', 'x'),"
		" ('" IMG "', 3, 'c', 'x'), ('" IMG2 "', 1, 'd', 'x');"
		"INSERT INTO groups(name, image_id, ram_cache_mib) VALUES"
		" ('lab', '" IMG "', 96);");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static int lookup(struct db *db, const char *mac, struct link_info *li)
{
	uint8_t m[6];

	assert_int_equal(mac_parse(mac, m), 0);
	return db_link_lookup(db, m, li);
}

static int add(struct fx *f, const char *mac, const struct link_opts *o)
{
	f->why[0] = '\0';
	return link_add(f->db, mac, o, NULL, NULL, f->why, sizeof(f->why));
}

static int set(struct fx *f, const char *mac, const struct link_opts *o)
{
	f->why[0] = '\0';
	return link_set(f->db, mac, o, f->why, sizeof(f->why));
}

static int64_t clients(struct fx *f)
{
	return sql_int(f->db, "SELECT count(*) FROM clients");
}

/* ---- add ------------------------------------------------------------------ */

static void test_add_defaults(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };
	struct link_info li;
	char name[64], host[64];

	assert_int_equal(link_add(f->db, "52-54-00-00-00-01", &o, name, host,
				  NULL, 0), 0);
	assert_string_equal(name, "PC-001");
	assert_string_equal(host, "pc-001");
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_string_equal(li.image, "win");
	assert_int_equal(li.version, 2);		/* production */
	assert_int_equal(li.ram_cache_mib, 128);	/* the image's */
	assert_int_equal(li.write_mode, WRITE_DISK);
	assert_string_equal(li.ssd_cache, "off");	/* built-in */
	assert_int_equal(strlen(li.machine_id), 32);
	/* the next one gets the next free name */
	assert_int_equal(link_add(f->db, MAC2, &o, name, NULL, NULL, 0), 0);
	assert_string_equal(name, "PC-002");
}

/* The boot mode: the client's, else the image's, else linux. */
static void test_boot_mode_inherits(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };
	struct link_info li;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.boot_mode, BOOT_LINUX);
	sql(f->db, "UPDATE images SET boot_mode = 'san'");
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.boot_mode, BOOT_SAN);
	o = (struct link_opts){ .boot = "linux" };
	assert_int_equal(set(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.boot_mode, BOOT_LINUX);
	o.boot = "inherit";
	assert_int_equal(set(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.boot_mode, BOOT_SAN);
}

static void test_add_next_free_name_skips_taken(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win", .name = "PC-001" };
	char name[64];

	assert_int_equal(add(f, MAC1, &o), 0);
	o.name = NULL;
	assert_int_equal(link_add(f->db, MAC2, &o, name, NULL, NULL, 0), 0);
	assert_string_equal(name, "PC-002");
}

static void test_inherit_client_group_image_builtin(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .group = "lab" };
	struct link_info li;

	/* the group gives the image and the RAM cache */
	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_string_equal(li.image, "win");
	assert_int_equal(li.ram_cache_mib, 96);
	/* the client's own value wins; "inherit" gives it back */
	o = (struct link_opts){ .ram_cache = "512", .ssd_cache = "auto" };
	assert_int_equal(set(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.ram_cache_mib, 512);
	assert_string_equal(li.ssd_cache, "auto");
	o = (struct link_opts){ .ram_cache = "inherit", .ssd_cache = "inherit" };
	assert_int_equal(set(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.ram_cache_mib, 96);
	assert_string_equal(li.ssd_cache, "off");
	/* out of the group: no image left (the group gave it) */
	o = (struct link_opts){ .group = "none" };
	assert_int_equal(set(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), -ENOENT);
	/* an image without defaults: the built-in ones */
	o = (struct link_opts){ .image = "lin" };
	assert_int_equal(set(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.ram_cache_mib, DB_DEFAULT_RAM_CACHE_MIB);
	assert_int_equal(li.write_mode, DB_DEFAULT_WRITE_MODE);
}

static void test_add_unknown_image(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "nope" };

	assert_int_equal(add(f, MAC1, &o), ENOENT_LINK_IMAGE);
	assert_non_null(strstr(f->why, "--image 'nope': no such image"));
	assert_int_equal(clients(f), 0);
	/* the tag says the cause without the reason */
	assert_non_null(strstr(err_str(ENOENT_LINK_IMAGE), "no such image [db."));
}

static void test_add_duplicate_mac_and_name(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win", .name = "LAB-1" };

	assert_int_equal(add(f, MAC1, &o), 0);
	/* the same MAC again (its own name is no clash): already linked */
	assert_int_equal(add(f, "525400000001", &o), EEXIST_LINK_CLIENT);
	assert_non_null(strstr(f->why, "already linked"));
	o.name = "LAB-1";
	assert_int_equal(add(f, MAC2, &o), EEXIST_LINK_NAME);
	assert_non_null(strstr(f->why, "another client has that name"));
	assert_int_equal(clients(f), 1);
}

static void test_add_version_must_exist(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "lin", .version = "3" };

	assert_int_equal(add(f, MAC1, &o), ENOENT_LINK_VERSION);
	assert_non_null(strstr(f->why, "image lin has no such version"));
	o.image = "win";
	assert_int_equal(add(f, MAC1, &o), 0);
}

static void test_add_needs_image_or_group(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .ram_cache = "64" };

	assert_int_equal(add(f, MAC1, &o), EINVAL_LINK_NO_IMAGE);
	assert_non_null(strstr(f->why, "--image NAME missing"));
}

/* Each bad value: the cause of its field and a reason that names it. */
static void test_bad_fields_name_the_field(void **state)
{
	static const struct {
		struct link_opts o;
		int rc;
		const char *why;
	} bad[] = {
		{ { .image = "win", .ram_cache = "lots" }, EINVAL_LINK_RAM_CACHE,
		  "--ram-cache 'lots'" },
		{ { .image = "win", .ram_cache = "1048577" },
		  EINVAL_LINK_RAM_CACHE, "--ram-cache" },
		{ { .image = "win", .ssd_cache = "big" }, EINVAL_LINK_SSD_CACHE,
		  "--ssd-cache 'big'" },
		{ { .image = "win", .ssd_cache = "0" }, EINVAL_LINK_SSD_CACHE,
		  "--ssd-cache '0'" },
		{ { .image = "win", .write = "tmpfs" }, EINVAL_LINK_WRITE,
		  "--write 'tmpfs'" },
		{ { .image = "win", .overlay = "0" }, EINVAL_LINK_OVERLAY,
		  "--overlay '0'" },
		{ { .image = "win", .boot = "pxe" }, EINVAL_LINK_BOOT,
		  "--boot 'pxe'" },
		{ { .image = "win", .version = "0" }, EINVAL_LINK_VERSION,
		  "--version '0'" },
		{ { .image = "win", .hostname = "a b" }, EINVAL_LINK_HOSTNAME,
		  "--hostname 'a b'" },
		{ { .image = "win", .hostname = "-pc" }, EINVAL_LINK_HOSTNAME,
		  "RFC 1123" },
		{ { .image = "win", .name = "" }, EINVAL_LINK_NAME,
		  "1 to 63 characters" },
		{ { .image = "win", .group = "a/b" }, EINVAL_LINK_GROUP,
		  "--group 'a/b'" },
		/* a name that is no host name needs --hostname */
		{ { .image = "win", .name = "lab_1" }, EINVAL_LINK_HOSTNAME,
		  "give --hostname" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(add(f, MAC1, &bad[i].o), bad[i].rc);
		assert_int_equal(err_errno(bad[i].rc), EINVAL);
		if (!strstr(f->why, bad[i].why))
			fail_msg("case %zu: '%s' lacks '%s'", i, f->why,
				 bad[i].why);
	}
	assert_int_equal(add(f, "zz:54", &bad[0].o), EINVAL_LINK_MAC);
	assert_non_null(strstr(f->why, "MAC 'zz:54'"));
	assert_int_equal(clients(f), 0);
}

/* ---- set ------------------------------------------------------------------ */

static void test_set_one_client(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };
	struct link_info li;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(add(f, MAC2, &o), 0);
	o = (struct link_opts){ .write = "server", .version = "3",
				.overlay = "128", .name = "PC-001" };
	assert_int_equal(set(f, "5254.0000.0001", &o), 0);	/* own name: ok */
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.write_mode, WRITE_SERVER);
	assert_int_equal(li.version, 3);
	assert_int_equal(li.overlay_mib, 128);
	/* the other client is untouched */
	assert_int_equal(lookup(f->db, MAC2, &li), 0);
	assert_int_equal(li.version, 2);
	/* a pinned version is checked against the client's own image */
	o = (struct link_opts){ .version = "9" };
	assert_int_equal(set(f, MAC1, &o), ENOENT_LINK_VERSION);
	assert_non_null(strstr(f->why, "image win has no such version"));
	o = (struct link_opts){ .version = "inherit" };
	assert_int_equal(set(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.version, 2);
}

static void test_set_refusals(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(add(f, MAC2, &o), 0);
	o = (struct link_opts){ 0 };
	assert_int_equal(set(f, MAC1, &o), EINVAL_LINK_NOTHING);
	o = (struct link_opts){ .ram_cache = "1" };
	assert_int_equal(set(f, MAC3, &o), ENOENT_LINK_CLIENT);
	assert_non_null(strstr(f->why, MAC3 " is not linked"));
	o = (struct link_opts){ .name = "PC-002" };
	assert_int_equal(set(f, MAC1, &o), EEXIST_LINK_NAME);
	o = (struct link_opts){ .image = "gone" };
	assert_int_equal(set(f, MAC1, &o), ENOENT_LINK_IMAGE);
	/* nothing of a refused set was applied */
	o = (struct link_opts){ .ram_cache = "7", .image = "gone" };
	assert_int_equal(set(f, MAC1, &o), ENOENT_LINK_IMAGE);
	assert_int_equal(sql_int(f->db, "SELECT ram_cache_mib FROM clients "
				 "WHERE mac = '" MAC1 "'"), -1);
}

static void test_set_group(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win", .group = "lab" };
	struct link_info li;
	unsigned n = 99;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(add(f, MAC2, &o), 0);
	o = (struct link_opts){ .image = "win" };
	assert_int_equal(add(f, MAC3, &o), 0);
	o = (struct link_opts){ .ssd_cache = "2048" };
	assert_int_equal(link_set_group(f->db, "lab", &o, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_int_equal(lookup(f->db, MAC2, &li), 0);
	assert_string_equal(li.ssd_cache, "2048");
	assert_int_equal(lookup(f->db, MAC3, &li), 0);
	assert_string_equal(li.ssd_cache, "off");
	/* a group nobody is in; per-client fields; nothing */
	assert_int_equal(link_set_group(f->db, "empty", &o, &n, f->why,
					sizeof(f->why)), ENOENT_LINK_GROUP);
	assert_int_equal(n, 0);
	assert_non_null(strstr(f->why, "no client is in group empty"));
	o = (struct link_opts){ .name = "X" };
	assert_int_equal(link_set_group(f->db, "lab", &o, &n, NULL, 0),
			 EINVAL_LINK_PER_MAC);
	o = (struct link_opts){ .write = "super" };
	assert_int_equal(link_set_group(f->db, "lab", &o, &n, NULL, 0),
			 EINVAL_LINK_PER_MAC);
	o = (struct link_opts){ 0 };
	assert_int_equal(link_set_group(f->db, "lab", &o, &n, NULL, 0),
			 EINVAL_LINK_NOTHING);
	assert_int_equal(link_set_group(f->db, "none", &o, &n, NULL, 0),
			 EINVAL_LINK_GROUP);
}

static void test_relink_moves_image_and_group(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };
	struct link_info li;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(link_relink(f->db, MAC1, "lin", "lab", NULL, 0), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_string_equal(li.image, "lin");
	assert_string_equal(li.group, "lab");
	assert_int_equal(li.ram_cache_mib, 96);	/* the group's now */
	assert_int_equal(link_relink(f->db, MAC1, "nope", NULL, NULL, 0),
			 ENOENT_LINK_IMAGE);
}

/* ---- super, keep, rm ------------------------------------------------------ */

static void test_super_one_per_image(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };
	struct link_info li;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(add(f, MAC2, &o), 0);
	assert_int_equal(link_super(f->db, MAC1, 1, NULL, 0), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.write_mode, WRITE_SUPER);
	assert_int_equal(link_super(f->db, MAC2, 1, f->why, sizeof(f->why)),
			 EBUSY_LINK_SUPER);
	assert_non_null(strstr(f->why, MAC1 " is already the super client"));
	/* the super client cannot move away from its image */
	assert_int_equal(link_relink(f->db, MAC1, "lin", NULL, f->why,
				     sizeof(f->why)), EBUSY_LINK_SUPER_MOVE);
	assert_non_null(strstr(f->why, "super " MAC1 " off"));
	assert_int_equal(link_super(f->db, MAC1, 0, NULL, 0), 0);
	assert_int_equal(link_super(f->db, MAC2, 1, NULL, 0), 0);
	assert_int_equal(link_super(f->db, MAC3, 1, NULL, 0),
			 ENOENT_LINK_UNLINKED);
}

/* --write super is the grant, in the same transaction as the link: a
 * refused grant leaves no link behind. */
static void test_add_super_is_atomic(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win", .write = "super" };
	struct link_info li;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.write_mode, WRITE_SUPER);
	/* "super" is never stored as a mode */
	assert_int_equal(sql_int(f->db, "SELECT write_mode IS NULL FROM "
				 "clients WHERE mac = '" MAC1 "'"), 1);
	assert_int_equal(add(f, MAC2, &o), EBUSY_LINK_SUPER);
	assert_int_equal(clients(f), 1);
}

static void test_keep_and_rm(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };
	char cred[CRED_STR_LEN + 1];
	struct cred_info ci;
	struct link_info li;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(link_keep(f->db, MAC1, 1, NULL, 0), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.keep_overlay, 1);
	assert_int_equal(link_keep(f->db, MAC2, 1, NULL, 0), ENOENT_LINK_CLIENT);
	/* rm takes the client's credentials with it */
	assert_int_equal(cred_admin_mint(f->db, MAC1, NULL, cred), 0);
	assert_int_equal(link_rm(f->db, "525400000001", NULL, 0), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), -ENOENT);
	assert_int_equal(cred_lookup(f->db, cred, strlen(cred), &ci), -ENOENT);
	assert_int_equal(link_rm(f->db, MAC1, f->why, sizeof(f->why)),
			 ENOENT_LINK_CLIENT);
	assert_non_null(strstr(f->why, "is not linked"));
}

/* ---- list, show, status --------------------------------------------------- */

static void test_list_and_show(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win", .name = "B" };
	struct link_entry *rows, e;
	char cred[CRED_STR_LEN + 1];
	size_t n;

	assert_int_equal(add(f, MAC1, &o), 0);
	o = (struct link_opts){ .group = "lab", .name = "A" };
	assert_int_equal(add(f, MAC2, &o), 0);
	sql(f->db, "UPDATE groups SET image_id = NULL");	/* MAC2: none */
	assert_int_equal(cred_admin_mint(f->db, MAC1, NULL, cred), 0);
	assert_int_equal(link_list(f->db, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].name, "A");	/* by name */
	assert_false(rows[0].linked);
	assert_string_equal(rows[0].group, "lab");
	assert_true(rows[1].linked);
	assert_string_equal(rows[1].link.image, "win");
	assert_int_equal(rows[1].admin_tokens, 1);
	free(rows);
	assert_int_equal(link_show(f->db, MAC1, &e, NULL, 0), 0);
	assert_string_equal(e.hostname, "b");
	assert_int_equal(link_show(f->db, MAC3, &e, NULL, 0),
			 ENOENT_LINK_CLIENT);
}

static void test_status_online_needs_a_server(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "win" };
	struct link_status *rows;
	size_t n;

	assert_int_equal(add(f, MAC1, &o), 0);
	sql(f->db, "INSERT INTO sessions(pid, peer, mac, image_id, version,"
		" since) VALUES(1, 'p', '" MAC1 "', '" IMG "', 1, 'x');"
		"INSERT INTO stats(mac, time, uptime_ms, ram_hits, ram_misses)"
		" VALUES('" MAC1 "', 't', 5000, 3, 1)");
	assert_int_equal(link_status_list(f->db, 0, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_false(rows[0].online);
	assert_int_equal(rows[0].version, 2);	/* what it would boot */
	assert_int_equal(rows[0].uptime_ms, 5000);
	assert_int_equal(rows[0].bytes_from_server, -1);	/* unknown */
	free(rows);
	assert_int_equal(link_status_list(f->db, 1, &rows, &n), 0);
	assert_true(rows[0].online);
	assert_int_equal(rows[0].version, 1);	/* what it booted */
	assert_string_equal(rows[0].peer, "p");
	free(rows);
}

/* ---- extra disks ------------------------------------------------------- */

static int disk(struct fx *f, const char *owner, int group, const char *image,
		unsigned lun, const char *mode, const char *version,
		unsigned *got)
{
	f->why[0] = '\0';
	return disk_add(f->db, owner, group, image, lun, mode, version, got,
			f->why, sizeof(f->why));
}

/* The export of mac's disk lun in boot boot_seq. */
static int disk_export(struct fx *f, const char *mac, int64_t boot_seq,
		       unsigned lun, struct export_info *out)
{
	struct export_info sys = { .boot_seq = boot_seq };

	snprintf(sys.client_mac, sizeof(sys.client_mac), "%s", mac);
	return db_export_disk(f->db, &sys, lun, out);
}

static void test_disk_luns_modes_and_groups(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "lin", .group = "lab" };
	struct disk_entry d[DISK_LUN_MAX];
	unsigned lun = 0, n;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(add(f, MAC2, &o), 0);
	assert_int_equal(disk(f, "lab", 1, "win", 0, NULL, NULL, &lun), 0);
	assert_int_equal(lun, 1);		/* the lowest free */
	/* a client's next free LUN skips its group's: nothing is hidden */
	assert_int_equal(disk(f, MAC1, 0, "lin", 0, "server", NULL, &lun), 0);
	assert_int_equal(lun, 2);
	/* given at a LUN its group uses, the client's own wins there */
	assert_int_equal(disk(f, MAC2, 0, "lin", 1, "ram", NULL, &lun), 0);
	assert_int_equal(db_client_disks(f->db, MAC1, d, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].image, "win");
	assert_true(d[0].group);
	assert_int_equal(d[0].mode, DISK_RO);
	assert_int_equal(d[0].serves, 2);	/* win's production */
	assert_int_equal(d[1].mode, DISK_SERVER);
	assert_int_equal(db_client_disks(f->db, MAC2, d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].image, "lin");
	assert_int_equal(d[0].mode, DISK_RAM);
}

static void test_disk_refusals(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "lin" };

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(disk(f, MAC1, 0, "win", 1, NULL, NULL, NULL), 0);
	assert_int_equal(disk(f, MAC1, 0, "win", 1, NULL, NULL, NULL),
			 EEXIST_DISK_LUN);
	assert_non_null(strstr(f->why, "already has a disk at LUN 1"));
	assert_int_equal(disk(f, MAC1, 0, "win", 8, NULL, NULL, NULL),
			 EINVAL_DISK_LUN);
	assert_int_equal(disk(f, MAC1, 0, "win", 2, "rw", NULL, NULL),
			 EINVAL_DISK_MODE);
	assert_int_equal(disk(f, MAC1, 0, "nope", 2, NULL, NULL, NULL),
			 ENOENT_LINK_IMAGE);
	assert_int_equal(disk(f, MAC1, 0, "win", 2, NULL, "9", NULL),
			 ENOENT_LINK_VERSION);
	assert_int_equal(disk(f, MAC3, 0, "win", 2, NULL, NULL, NULL),
			 ENOENT_LINK_CLIENT);
	assert_int_equal(disk(f, "nogroup", 1, "win", 2, NULL, NULL, NULL),
			 ENOENT_LINK_GROUP);
	for (unsigned l = 2; l <= DISK_LUN_MAX; l++)
		assert_int_equal(disk(f, MAC1, 0, "win", l, NULL, NULL, NULL),
				 0);
	assert_int_equal(disk(f, MAC1, 0, "win", 0, NULL, NULL, NULL),
			 ENOSPC_DISK_LUNS);
	assert_int_equal(disk_rm(f->db, MAC1, 0, 1, f->why, sizeof(f->why)),
			 0);
	assert_int_equal(disk_rm(f->db, MAC1, 0, 1, f->why, sizeof(f->why)),
			 ENOENT_DISK);
	/* unlinking the client takes its disks */
	assert_int_equal(link_rm(f->db, MAC1, f->why, sizeof(f->why)), 0);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM disks"), 0);
}

static void test_disk_boot_keeps_its_version(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "lin" };
	struct export_info ex;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(disk(f, MAC1, 0, "win", 1, "ram", NULL, NULL), 0);
	assert_int_equal(disk_export(f, MAC1, 1, 1, &ex), 0);
	assert_int_equal(ex.version, 2);
	assert_int_equal(ex.lun, 1);
	assert_true(ex.overlay_fresh);
	assert_true(ex.drop_at_boot);
	assert_false(ex.read_only);
	db_disk_boot_mark(f->db, &ex);		/* attached */
	sql(f->db, "UPDATE images SET production_version = 3 WHERE id = '"
	    IMG "'");
	/* the same boot reconnecting: its version, its writes */
	assert_int_equal(disk_export(f, MAC1, 1, 1, &ex), 0);
	assert_int_equal(ex.version, 2);
	assert_false(ex.overlay_fresh);
	/* the next boot: the new production version, afresh */
	assert_int_equal(disk_export(f, MAC1, 2, 1, &ex), 0);
	assert_int_equal(ex.version, 3);
	assert_true(ex.overlay_fresh);
	assert_int_equal(disk_export(f, MAC1, 2, 2, &ex), -ENOENT);
}

static void test_disk_server_mode_keeps_and_rm_forgets(void **state)
{
	struct fx *f = *state;
	struct link_opts o = { .image = "lin" };
	struct export_info ex;

	assert_int_equal(add(f, MAC1, &o), 0);
	assert_int_equal(disk(f, MAC1, 0, "win", 1, "server", NULL, NULL), 0);
	assert_int_equal(disk_export(f, MAC1, 1, 1, &ex), 0);
	assert_false(ex.drop_at_boot);
	db_disk_boot_mark(f->db, &ex);
	sql(f->db, "UPDATE images SET production_version = 3 WHERE id = '"
	    IMG "'");
	/* kept writes stay on the version they were made on */
	assert_int_equal(disk_export(f, MAC1, 5, 1, &ex), 0);
	assert_int_equal(ex.version, 2);
	assert_false(ex.overlay_fresh);
	assert_int_equal(disk_rm(f->db, MAC1, 0, 1, f->why, sizeof(f->why)),
			 0);
	assert_int_equal(disk(f, MAC1, 0, "win", 1, "server", NULL, NULL), 0);
	assert_int_equal(disk_export(f, MAC1, 5, 1, &ex), 0);
	assert_int_equal(ex.version, 3);
	assert_true(ex.overlay_fresh);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_add_defaults),
		T(test_boot_mode_inherits),
		T(test_add_next_free_name_skips_taken),
		T(test_inherit_client_group_image_builtin),
		T(test_add_unknown_image),
		T(test_add_duplicate_mac_and_name),
		T(test_add_version_must_exist),
		T(test_add_needs_image_or_group),
		T(test_bad_fields_name_the_field),
		T(test_set_one_client),
		T(test_set_refusals),
		T(test_set_group),
		T(test_relink_moves_image_and_group),
		T(test_super_one_per_image),
		T(test_add_super_is_atomic),
		T(test_keep_and_rm),
		T(test_list_and_show),
		T(test_status_online_needs_a_server),
		T(test_disk_luns_modes_and_groups),
		T(test_disk_refusals),
		T(test_disk_boot_keeps_its_version),
		T(test_disk_server_mode_keeps_and_rm_forgets),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
