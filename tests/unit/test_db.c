/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the link DB (schema, migrations, link lookup inheritance,
 * export names, super tokens, stats reports) on a temporary state dir. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "credential.h"
#include "db.h"
#include "db_internal.h"
#include "lb_log.h"
#include "lb_util.h"
#include "schema.h"

#define IMG "00112233445566aa"
#define MAC1 "52:54:00:00:00:01"
#define MAC2 "52:54:00:00:00:02"
#define MAC3 "52:54:00:00:00:03"

struct fx {
	char dir[64];
	struct db *db;
};

static void sql(struct db *db, const char *s)
{
	assert_int_equal(db_exec(db, s), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	log_set_level(LOG_LEVEL_ERR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_db.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(db_open(f->dir, &f->db), 0);
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

/* An image with versions 1..3 (3 = test), production 2; three clients. */
static void populate(struct db *db)
{
	sql(db, "INSERT INTO images(id, name, size, ram_cache_mib, ssd_cache,"
		" write_mode, cmdline, production_version, test_version,"
		" test_group, created) VALUES('" IMG "', 'win', 4096, 128,"
		" 'auto', 'disk', 'quiet', 2, 3, 'testers', 'x');"
		"INSERT INTO versions(image_id, version, file, kernel, initrd,"
		" created) VALUES"
		" ('" IMG "', 1, '" IMG ".v1', '" IMG "/v1/vmlinuz', NULL, 'x'),"
		" ('" IMG "', 2, '" IMG ".v2', 'boot/" IMG "/v2/vmlinuz',"
		"  '" IMG "/v2/initrd', 'x'),"
		" ('" IMG "', 3, '" IMG ".v3', NULL, NULL, 'x');"
		"INSERT INTO groups(name, image_id, ram_cache_mib) VALUES"
		" ('lab', '" IMG "', 96), ('testers', '" IMG "', NULL);"
		"INSERT INTO clients(mac, name, hostname, grp, image_id, token,"
		" machine_id, created) VALUES"
		" ('" MAC1 "', 'PC-001', 'pc-001', NULL, '" IMG "', 'tok1',"
		"  'aaaa', 'x'),"
		" ('" MAC2 "', 'PC-002', 'pc-002', 'lab', NULL, 'tok2', 'bbbb',"
		"  'x'),"
		" ('" MAC3 "', 'PC-003', 'pc-003', 'testers', NULL, 'tok3',"
		"  'cccc', 'x');");
}

static int lookup(struct db *db, const char *mac, struct link_info *li)
{
	uint8_t m[6];

	assert_int_equal(mac_parse(mac, m), 0);
	return db_link_lookup(db, m, li);
}

static void test_schema_create_reopen(void **state)
{
	struct fx *f = *state;
	sqlite3_stmt *st;

	populate(f->db);
	db_close(f->db);
	assert_int_equal(db_open(f->dir, &f->db), 0);
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT (SELECT value FROM meta WHERE key = 'schema_version'),"
		" (SELECT count(*) FROM clients)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), DB_SCHEMA_VERSION);
	assert_int_equal(sqlite3_column_int(st, 1), 3);
	sqlite3_finalize(st);
}

/* Write a fixture file with the sqlite3 library directly. */
static void fixture(const char *path, const char *script)
{
	sqlite3 *s;

	unlink(path);
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	if (script)
		assert_int_equal(sqlite3_exec(s, script, NULL, NULL, NULL),
				 SQLITE_OK);
	sqlite3_close(s);
}

static void test_migrate_v0_empty_file(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct db *db;

	snprintf(path, sizeof(path), "%s/v0.db", f->dir);
	fixture(path, NULL);
	assert_int_equal(db_open_path(path, &db), 0);
	assert_int_equal(db_exec(db, "SELECT count(*) FROM sessions"), 0);
	db_close(db);
}

static void test_migrate_v1_fixture_keeps_rows(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct link_info li;
	struct db *db;

	snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	fixture(path, DB_SCHEMA_V1
		"INSERT INTO meta VALUES('schema_version', '1');"
		"INSERT INTO images(id, name, size, created) VALUES('" IMG "',"
		" 'win', 1, 'x');"
		"INSERT INTO clients(mac, name, hostname, image_id, token,"
		" machine_id, created) VALUES('" MAC1 "', 'PC-001', 'pc-001', '"
		IMG "', 't', 'm', 'x');");
	assert_int_equal(db_open_path(path, &db), 0);
	assert_int_equal(lookup(db, MAC1, &li), 0);
	assert_string_equal(li.name, "PC-001");
	db_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct db *db = NULL;

	snprintf(path, sizeof(path), "%s/v99.db", f->dir);
	fixture(path, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
		"INSERT INTO meta VALUES('schema_version', '99');");
	assert_int_equal(db_open_path(path, &db), -EPROTONOSUPPORT);
	assert_null(db);
}

static void test_foreign_db_refused(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct db *db = NULL;

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	fixture(path, "CREATE TABLE t(x);");
	assert_int_equal(db_open_path(path, &db), -EBADMSG);
}

static void test_lookup_builtin_defaults(void **state)
{
	struct fx *f = *state;
	struct link_info li;

	populate(f->db);
	sql(f->db, "UPDATE images SET ram_cache_mib = NULL, ssd_cache = NULL,"
		   " write_mode = NULL");
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.ram_cache_mib, DB_DEFAULT_RAM_CACHE_MIB);
	assert_string_equal(li.ssd_cache, DB_DEFAULT_SSD_CACHE);
	assert_int_equal(li.write_mode, DB_DEFAULT_WRITE_MODE);
}

static void test_lookup_image_defaults(void **state)
{
	struct fx *f = *state;
	struct link_info li;

	populate(f->db);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_string_equal(li.mac, MAC1);
	assert_string_equal(li.image, "win");
	assert_string_equal(li.image_id, IMG);
	assert_int_equal(li.ram_cache_mib, 128);
	assert_string_equal(li.ssd_cache, "auto");
	assert_int_equal(li.write_mode, WRITE_DISK);
	assert_string_equal(li.cmdline, "quiet");
	assert_string_equal(li.machine_id, "aaaa");
	assert_int_equal(li.boot_seq, 0);
}

static void test_lookup_group_over_image(void **state)
{
	struct fx *f = *state;
	struct link_info li;

	populate(f->db);
	assert_int_equal(lookup(f->db, MAC2, &li), 0);
	assert_string_equal(li.group, "lab");
	assert_string_equal(li.image_id, IMG);	/* image from the group */
	assert_int_equal(li.ram_cache_mib, 96);
	assert_string_equal(li.ssd_cache, "auto");	/* group NULL: image */
}

static void test_lookup_client_over_group(void **state)
{
	struct fx *f = *state;
	struct link_info li;

	populate(f->db);
	sql(f->db, "UPDATE clients SET ram_cache_mib = 32, write_mode ="
		   " 'server' WHERE mac = '" MAC2 "'");
	assert_int_equal(lookup(f->db, MAC2, &li), 0);
	assert_int_equal(li.ram_cache_mib, 32);
	assert_int_equal(li.write_mode, WRITE_SERVER);
}

static void test_lookup_unknown_mac(void **state)
{
	struct fx *f = *state;
	struct link_info li;

	populate(f->db);
	assert_int_equal(lookup(f->db, "52:54:00:ff:ff:ff", &li), -ENOENT);
	/* known MAC but no image, neither own nor group's: unlinked */
	sql(f->db, "UPDATE clients SET image_id = NULL WHERE mac = '" MAC1 "'");
	assert_int_equal(lookup(f->db, MAC1, &li), -ENOENT);
}

static void test_lookup_versions(void **state)
{
	struct fx *f = *state;
	struct link_info li;

	populate(f->db);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.version, 2);		/* production */
	assert_string_equal(li.kernel, "boot/" IMG "/v2/vmlinuz");
	assert_string_equal(li.initrd, "boot/" IMG "/v2/initrd");
	assert_int_equal(lookup(f->db, MAC3, &li), 0);
	assert_int_equal(li.version, 3);		/* test group */
	assert_string_equal(li.kernel, "");
	sql(f->db, "UPDATE clients SET version = 1 WHERE mac = '" MAC3 "'");
	assert_int_equal(lookup(f->db, MAC3, &li), 0);
	assert_int_equal(li.version, 1);		/* pinned */
	assert_string_equal(li.kernel, "boot/" IMG "/v1/vmlinuz");
}

static void test_lookup_image_missing(void **state)
{
	struct fx *f = *state;
	struct link_info li;
	char path[160];
	int fd;

	populate(f->db);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.image_missing, 1);
	snprintf(path, sizeof(path), "%s/store", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/store/" IMG ".v2", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.image_missing, 0);
}

static void test_export_name_and_version(void **state)
{
	struct fx *f = *state;
	struct export_info ei;

	populate(f->db);
	assert_int_equal(db_export_resolve(f->db, "win", NULL, &ei), 0);
	assert_string_equal(ei.image_id, IMG);
	assert_int_equal(ei.version, 2);
	assert_int_equal(ei.size, 4096);
	assert_true(ei.read_only);
	assert_string_equal(ei.client_mac, "");
	assert_int_equal(db_export_resolve(f->db, "win@3", NULL, &ei), 0);
	assert_int_equal(ei.version, 3);
	assert_true(ei.read_only);
	assert_int_equal(db_export_resolve(f->db, "win@9", NULL, &ei), -ENOENT);
	assert_int_equal(db_export_resolve(f->db, "win@", NULL, &ei), -ENOENT);
	assert_int_equal(db_export_resolve(f->db, "win@x", NULL, &ei), -ENOENT);
	assert_int_equal(db_export_resolve(f->db, "nope", NULL, &ei), -ENOENT);
	assert_int_equal(db_export_resolve(f->db, "", NULL, &ei), -ENOENT);
}

static const uint8_t mac1[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };

/* A boot of MAC1 from peer with nonce byte n: its credential. */
static int boot(struct db *db, const char *peer, uint8_t n,
		struct cred_boot *b)
{
	uint8_t nonce[TICKET_NONCE_LEN] = { n };

	return cred_boot_begin(db, mac1, peer, nonce, 4000000000u, NULL, b);
}

static void test_export_admin_credential(void **state)
{
	struct fx *f = *state;
	char c1[CRED_STR_LEN + 1], c3[CRED_STR_LEN + 1];
	struct export_info ei;
	sqlite3_stmt *st;

	populate(f->db);
	assert_int_equal(cred_admin_mint(f->db, MAC1, NULL, c1), 0);
	assert_int_equal(strlen(c1), CRED_STR_LEN);
	assert_int_equal(db_export_resolve(f->db, c1, "127.0.0.1", &ei), 0);
	assert_string_equal(ei.client_mac, MAC1);
	assert_string_equal(ei.label, "credential of " MAC1);
	assert_int_equal(ei.version, 2);
	assert_int_equal(ei.write_mode, WRITE_DISK);
	assert_true(ei.read_only);	/* disk mode: overlayfs on the client */
	sql(f->db, "UPDATE clients SET write_mode = 'server' WHERE mac = '"
		   MAC3 "'");
	assert_int_equal(cred_admin_mint(f->db, MAC3, NULL, c3), 0);
	assert_int_equal(db_export_resolve(f->db, c3, "127.0.0.1", &ei), 0);
	assert_int_equal(ei.version, 3);
	assert_int_equal(ei.write_mode, WRITE_SERVER);
	assert_false(ei.read_only);
	/* the rows hold hashes, never the secrets */
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT count(*) FROM credentials WHERE length(hash) = 64 AND "
		"hash NOT LIKE 'c1-%'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	/* an unknown credential, a revoked one, and a client that is gone */
	c1[10] ^= 1;
	assert_int_equal(db_export_resolve(f->db, c1, NULL, &ei), -ENOENT);
	assert_int_equal(cred_admin_revoke(f->db, MAC3), 1);
	assert_int_equal(db_export_resolve(f->db, c3, NULL, &ei), -ENOENT);
	assert_int_equal(cred_admin_mint(f->db, "52:54:00:ff:ff:ff", NULL, c3),
			 -ENOENT);
}

static void test_credential_bound_to_peer(void **state)
{
	struct fx *f = *state;
	char c[CRED_STR_LEN + 1];
	struct export_info ei;

	populate(f->db);
	assert_int_equal(cred_admin_mint(f->db, MAC1, "198.18.0.5", c), 0);
	assert_int_equal(db_export_resolve(f->db, c, "198.18.0.5", &ei), 0);
	assert_int_equal(db_export_resolve(f->db, c, "198.18.0.6", &ei),
			 -EACCES);
	assert_int_equal(db_export_resolve(f->db, c, NULL, &ei), -EACCES);
}

static void test_boot_credential(void **state)
{
	struct fx *f = *state;
	struct cred_boot b1, b2, b3;
	struct export_info ei;
	struct link_info li;

	populate(f->db);
	sql(f->db, "UPDATE clients SET write_mode = 'server' WHERE mac = '"
		   MAC1 "'");
	assert_int_equal(boot(f->db, "198.18.0.5", 1, &b1), 0);
	assert_int_equal(b1.boot_seq, 1);
	assert_int_equal(b1.link.write_mode, WRITE_SERVER);
	assert_int_equal(db_export_resolve(f->db, b1.cred, "198.18.0.5", &ei), 0);
	assert_int_equal(ei.cred_kind, CRED_BOOT);
	assert_int_equal(ei.boot_seq, 1);
	assert_false(ei.read_only);
	/* another host with the credential gets nothing */
	assert_int_equal(db_export_resolve(f->db, b1.cred, "198.18.0.9", &ei),
			 -EACCES);
	/* the same ticket twice: the second is a replay */
	assert_int_equal(boot(f->db, "198.18.0.5", 1, &b2), -EALREADY);
	assert_int_equal(db_export_resolve(f->db, b1.cred, "198.18.0.5", &ei), 0);
	/* the next boot ends the previous one's credential */
	assert_int_equal(boot(f->db, "198.18.0.7", 2, &b3), 0);
	assert_int_equal(b3.boot_seq, 2);
	assert_int_equal(db_export_resolve(f->db, b1.cred, "198.18.0.5", &ei),
			 -ENOENT);
	assert_int_equal(db_export_resolve(f->db, b3.cred, "198.18.0.7", &ei), 0);
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.boot_seq, 2);
	/* an unlinked client cannot begin a boot */
	sql(f->db, "UPDATE clients SET image_id = NULL WHERE mac = '" MAC1 "'");
	assert_int_equal(boot(f->db, "198.18.0.5", 3, &b2), -ENOENT);
}

/* A running PC keeps its version when production moves on. */
static void test_boot_pins_version(void **state)
{
	struct fx *f = *state;
	char c[CRED_STR_LEN + 1];
	struct cred_boot b;
	struct export_info ei;

	populate(f->db);
	assert_int_equal(boot(f->db, "198.18.0.5", 1, &b), 0);
	assert_int_equal(cred_admin_mint(f->db, MAC1, NULL, c), 0);
	sql(f->db, "UPDATE images SET production_version = 1");
	assert_int_equal(db_export_resolve(f->db, b.cred, "198.18.0.5", &ei), 0);
	assert_int_equal(ei.version, 2);
	/* an admin token follows the link */
	assert_int_equal(db_export_resolve(f->db, c, "198.18.0.5", &ei), 0);
	assert_int_equal(ei.version, 1);
}

static void test_super_grant_one_boot(void **state)
{
	struct fx *f = *state;
	struct cred_boot b1, b2;
	struct export_info ei;
	struct link_info li;

	populate(f->db);
	assert_int_equal(db_client_super(f->db, MAC1, 1, NULL), 0);
	/* the next boot script says super */
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_equal(li.write_mode, WRITE_SUPER);
	/* the boot takes the grant */
	assert_int_equal(boot(f->db, "198.18.0.5", 1, &b1), 0);
	assert_int_equal(b1.link.write_mode, WRITE_SUPER);
	assert_int_equal(db_export_resolve(f->db, b1.cred, "198.18.0.5", &ei), 0);
	assert_int_equal(ei.write_mode, WRITE_SUPER);
	assert_false(ei.read_only);
	/* reconnects of that boot (server restart) still write */
	assert_int_equal(db_export_resolve(f->db, b1.cred, "198.18.0.5", &ei), 0);
	assert_int_equal(ei.write_mode, WRITE_SUPER);
	/* nobody else's script or boot gets it */
	assert_int_equal(lookup(f->db, MAC1, &li), 0);
	assert_int_not_equal(li.write_mode, WRITE_SUPER);
	assert_int_equal(boot(f->db, "198.18.0.5", 2, &b2), 0);
	assert_int_equal(b2.link.write_mode, WRITE_DISK);
	assert_int_equal(db_export_resolve(f->db, b1.cred, "198.18.0.5", &ei),
			 -ENOENT);
}

static void test_super_off_revokes_grant(void **state)
{
	struct fx *f = *state;
	struct cred_boot b;
	struct export_info ei;

	populate(f->db);
	assert_int_equal(db_client_super(f->db, MAC1, 1, NULL), 0);
	assert_int_equal(boot(f->db, "198.18.0.5", 1, &b), 0);
	assert_int_equal(db_client_super(f->db, MAC1, 0, NULL), 0);
	assert_int_equal(db_export_resolve(f->db, b.cred, "198.18.0.5", &ei),
			 -EACCES);
}

static void test_one_super_client_per_image(void **state)
{
	struct fx *f = *state;
	char busy[18] = "";

	populate(f->db);
	assert_int_equal(db_client_super(f->db, MAC1, 1, NULL), 0);
	/* MAC2 has the same image through its group */
	assert_int_equal(db_client_super(f->db, MAC2, 1, busy), -EBUSY);
	assert_string_equal(busy, MAC1);
	/* granting the same client again is fine */
	assert_int_equal(db_client_super(f->db, MAC1, 1, NULL), 0);
	assert_int_equal(db_client_super(f->db, MAC1, 0, NULL), 0);
	assert_int_equal(db_client_super(f->db, MAC2, 1, NULL), 0);
	assert_int_equal(db_client_super(f->db, "52:54:00:ff:ff:ff", 1, NULL),
			 -ENOENT);
}

/* A v2 file's minted super token becomes a pending grant; a used one,
 * nothing: after the upgrade the super client's next boot writes. */
static void test_migrate_v2_super_token(void **state)
{
	struct fx *f = *state;
	char path[128];
	sqlite3_stmt *st;
	struct db *db;

	snprintf(path, sizeof(path), "%s/v2.db", f->dir);
	fixture(path, DB_SCHEMA_V1
		"INSERT INTO meta VALUES('schema_version', '2');"
		"ALTER TABLE clients ADD COLUMN overlay_mib INTEGER;"
		"INSERT INTO clients(mac, name, hostname, token, machine_id,"
		" super, super_token, created) VALUES"
		" ('" MAC1 "', 'a', 'a', 't1', 'm', 1, 'abc', 'x'),"
		" ('" MAC2 "', 'b', 'b', 't2', 'm', 1, 'bound:def', 'x');");
	assert_int_equal(db_open_path(path, &db), 0);
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(db),
		"SELECT group_concat(IFNULL(super_token, '-') || boot_seq, ',')"
		" FROM (SELECT * FROM clients ORDER BY mac)", -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "pending0,-0");
	sqlite3_finalize(st);
	db_close(db);
}

struct list_acc {
	char names[512];
	int n;
};

static int list_fn(void *arg, const char *name, const char *desc)
{
	struct list_acc *a = arg;

	(void)desc;
	strcat(a->names, name);
	strcat(a->names, " ");
	a->n++;
	return 0;
}

static int list_stop(void *arg, const char *name, const char *desc)
{
	(void)name;
	(void)desc;
	return ++*(int *)arg >= 2;
}

static void test_export_list_excludes_tokens(void **state)
{
	struct fx *f = *state;
	char cred[CRED_STR_LEN + 1];
	struct list_acc a = { "", 0 };
	int n = 0;

	populate(f->db);
	assert_int_equal(cred_admin_mint(f->db, MAC1, NULL, cred), 0);
	assert_int_equal(db_export_list(f->db, list_fn, &a), 0);
	assert_string_equal(a.names, "win win@1 win@2 win@3 ");
	assert_null(strstr(a.names, "c1-"));
	assert_int_equal(db_export_list(f->db, list_stop, &n), 0);
	assert_int_equal(n, 2);
}

static void test_stats_update(void **state)
{
	struct fx *f = *state;
	sqlite3_stmt *st;

	assert_int_equal(db_stats_update(f->db, MAC1,
		"boot_id=abc\nuptime_ms=1500\r\nbytes_from_server=123456\n"
		"ram_hits=90\nram_misses=10\nfuture_key=1\nnoequals\n"
		"timeline=dhcp:10 nbd:200\n"), 0);
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT boot_id, uptime_ms, bytes_from_server, ram_hits,"
		" ssd_hits, timeline FROM stats WHERE mac = '" MAC1 "'", -1, &st,
		NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "abc");
	assert_int_equal(sqlite3_column_int64(st, 1), 1500);
	assert_int_equal(sqlite3_column_int64(st, 2), 123456);
	assert_int_equal(sqlite3_column_int64(st, 3), 90);
	assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL);
	assert_string_equal(sqlite3_column_text(st, 5), "dhcp:10 nbd:200");
	sqlite3_finalize(st);
	assert_int_equal(db_stats_update(f->db, MAC1, "ram_hits=-1\n"), -EINVAL);
	assert_int_equal(db_stats_update(f->db, MAC1, "ram_hits=\n"), -EINVAL);
	assert_int_equal(db_stats_update(f->db, MAC1,
		"uptime_ms=99999999999999999999999\n"), -EINVAL);
}

static void test_report_event_updates_stats(void **state)
{
	struct fx *f = *state;
	sqlite3_stmt *st;

	populate(f->db);
	db_record_event(f->db, MAC1, "report", "ram_hits=7\nram_misses=3\n");
	db_record_event(f->db, MAC2, "report", "ram_hits=oops\n");
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT (SELECT ram_hits FROM stats WHERE mac = '" MAC1 "'),"
		" (SELECT count(*) FROM stats WHERE mac = '" MAC2 "'),"
		" (SELECT count(*) FROM events WHERE kind = 'report'),"
		" (SELECT last_seen IS NOT NULL FROM clients WHERE mac = '"
		MAC1 "')", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 7);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	assert_int_equal(sqlite3_column_int(st, 2), 2);
	assert_int_equal(sqlite3_column_int(st, 3), 1);
	sqlite3_finalize(st);
}

static void test_sessions_and_events(void **state)
{
	struct fx *f = *state;
	char cred[CRED_STR_LEN + 1];
	struct export_info ei;
	sqlite3_stmt *st;
	int64_t id;

	populate(f->db);
	assert_int_equal(cred_admin_mint(f->db, MAC1, NULL, cred), 0);
	assert_int_equal(db_export_resolve(f->db, cred, "127.0.0.1", &ei), 0);
	assert_int_equal(db_session_add(f->db, &ei, "127.0.0.1:4000", "nbd", &id), 0);
	db_record_event(f->db, MAC1, "nbd", "connect");
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT (SELECT count(*) FROM sessions WHERE mac = '" MAC1 "'),"
		" (SELECT last_seen IS NOT NULL FROM clients WHERE mac = '" MAC1
		"'), (SELECT count(*) FROM events)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	assert_int_equal(sqlite3_column_int(st, 2), 1);
	sqlite3_finalize(st);
	db_session_remove(f->db, id);
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT count(*) FROM sessions", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
}

/* What a session served reaches its row at the first flush, then at most
 * every DB_SESSION_FLUSH_MS, and only when it changed. */
static void test_session_counters_flush(void **state)
{
	struct fx *f = *state;
	char cred[CRED_STR_LEN + 1];
	struct session_counters io = { 0 };
	struct export_info ei;
	sqlite3_stmt *st;
	int64_t id;

	populate(f->db);
	assert_int_equal(cred_admin_mint(f->db, MAC1, NULL, cred), 0);
	assert_int_equal(db_export_resolve(f->db, cred, "127.0.0.1", &ei), 0);
	assert_int_equal(db_session_add(f->db, &ei, "127.0.0.1:3260", "iscsi",
					&id), 0);
	assert_int_equal(db_session_flush(f->db, id, &io, 1000), -1);
	io.bytes_read = 4096;
	io.io_errors = 1;
	assert_int_equal(db_session_flush(f->db, id, &io, 1000),
			 1000 + DB_SESSION_FLUSH_MS);
	io.bytes_written = 512;		/* not due yet: the row keeps 0 */
	assert_int_equal(db_session_flush(f->db, id, &io, 2000),
			 1000 + DB_SESSION_FLUSH_MS);
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT proto, bytes_read, bytes_written, io_errors FROM "
		"sessions", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "iscsi");
	assert_int_equal(sqlite3_column_int(st, 1), 4096);
	assert_int_equal(sqlite3_column_int(st, 2), 0);
	assert_int_equal(sqlite3_column_int(st, 3), 1);
	sqlite3_finalize(st);
	assert_int_equal(db_session_flush(f->db, id, &io,
					  1000 + DB_SESSION_FLUSH_MS),
			 1000 + 2 * DB_SESSION_FLUSH_MS);
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT bytes_written FROM sessions", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 512);
	sqlite3_finalize(st);
	assert_int_equal(db_session_flush(f->db, id, &io, 99999), -1);
}

static void test_events_bounded(void **state)
{
	struct fx *f = *state;
	sqlite3_stmt *st;
	int i;

	sql(f->db, "BEGIN");
	for (i = 0; i < DB_EVENTS_KEEP + 300; i++)
		db_record_event(f->db, NULL, "dhcp", "x");
	sql(f->db, "COMMIT");
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT count(*) FROM events", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int(st, 0) <= DB_EVENTS_KEEP + 100);
	sqlite3_finalize(st);
}

static void test_time_and_random(void **state)
{
	char t[DB_TIME_LEN], a[DB_TOKEN_HEX + 1], b[DB_TOKEN_HEX + 1];
	size_t i;

	(void)state;
	db_time_iso(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
	assert_int_equal(db_random_hex(a, DB_TOKEN_HEX), 0);
	assert_int_equal(db_random_hex(b, DB_TOKEN_HEX), 0);
	assert_int_equal(strlen(a), DB_TOKEN_HEX);
	for (i = 0; i < DB_TOKEN_HEX; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_int_equal(db_write_mode_parse("server"), WRITE_SERVER);
	assert_int_equal(db_write_mode_parse("tmpfs"), -EINVAL);
	assert_int_equal(db_write_mode_parse(NULL), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_schema_create_reopen),
		T(test_migrate_v0_empty_file),
		T(test_migrate_v1_fixture_keeps_rows),
		T(test_newer_schema_refused),
		T(test_foreign_db_refused),
		T(test_lookup_builtin_defaults),
		T(test_lookup_image_defaults),
		T(test_lookup_group_over_image),
		T(test_lookup_client_over_group),
		T(test_lookup_unknown_mac),
		T(test_lookup_versions),
		T(test_lookup_image_missing),
		T(test_export_name_and_version),
		T(test_export_admin_credential),
		T(test_credential_bound_to_peer),
		T(test_boot_credential),
		T(test_boot_pins_version),
		T(test_super_grant_one_boot),
		T(test_super_off_revokes_grant),
		T(test_migrate_v2_super_token),
		T(test_one_super_client_per_image),
		T(test_export_list_excludes_tokens),
		T(test_stats_update),
		T(test_report_event_updates_stats),
		T(test_sessions_and_events),
		T(test_session_counters_flush),
		T(test_events_bounded),
		cmocka_unit_test(test_time_and_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
