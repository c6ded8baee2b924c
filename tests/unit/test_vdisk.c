/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: vdisk (server-stub/store/vdisk.c) over a real link DB: version
 * chains from the versions table, read-only exports, a client's server
 * overlay (kept across reconnects, dropped at the next boot unless
 * keep_overlay, pinned when kept), the super client's overlay.
 */

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

#include "db.h"
#include "delta.h"
#include "store_db.h"
#include "vdisk.h"

#define ID	"0123456789abcdef"
#define MAC	"52:54:00:00:00:07"
#define SIZE	(4 * DELTA_BLOCK_SIZE + 1000)

struct fixture {
	char state[64], store[96];
	struct db *db;
	uint8_t v1[SIZE], v2[SIZE];
};

static void sql(struct fixture *f, const char *q)
{
	char *err = NULL;

	if (sqlite3_exec(db_sqlite(f->db), q, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", q, err);
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/* v1 raw (random), v2 = a delta changing block 1 */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[160];
	struct vchain *c;

	strcpy(f->state, "/tmp/test_vdisk.XXXXXX");
	assert_non_null(mkdtemp(f->state));
	snprintf(f->store, sizeof(f->store), "%s/store", f->state);
	assert_int_equal(mkdir(f->store, 0755), 0);
	for (size_t i = 0; i < SIZE; i++)
		f->v1[i] = (uint8_t)(i * 7 + (i >> 12));
	snprintf(path, sizeof(path), "%s/" ID ".v1.raw", f->store);
	write_file(path, f->v1, SIZE);
	memcpy(f->v2, f->v1, SIZE);
	memset(f->v2 + DELTA_BLOCK_SIZE + 10, 0x77, 100);
	assert_int_equal(vchain_open(path, NULL, 0, &c), 0);
	snprintf(path, sizeof(path), "%s/" ID ".v2.delta", f->store);
	assert_int_equal(vchain_attach_overlay(c, path, 0, 1, 0), 0);
	assert_int_equal(vchain_write(c, f->v2 + DELTA_BLOCK_SIZE + 10,
				      DELTA_BLOCK_SIZE + 10, 100, 0), 0);
	vchain_close(c);
	assert_int_equal(db_open(f->state, &f->db), 0);
	*state = f;
	sql(f, "INSERT INTO images(id, name, size, created) VALUES('" ID
	    "', 'demo', 263144, 'now');"
	    "INSERT INTO versions(image_id, version, parent, file, created) "
	    "VALUES('" ID "', 1, NULL, '" ID ".v1.raw', 'now'), "
	    "('" ID "', 2, 1, '" ID ".v2.delta', 'now');"
	    "INSERT INTO clients(mac, name, hostname, image_id, token, "
	    "machine_id, created) VALUES('" MAC "', 'PC-007', 'pc-007', '"
	    ID "', 'tok7', 'mid7', 'now');");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->state);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct export_info export(unsigned version, int mode, int ro)
{
	struct export_info ex;

	memset(&ex, 0, sizeof(ex));
	snprintf(ex.name, sizeof(ex.name), "demo@%u", version);
	strcpy(ex.image_id, ID);
	ex.version = version;
	ex.size = SIZE;
	ex.read_only = ro;
	ex.write_mode = mode;
	if (!ro && mode == WRITE_SERVER)
		strcpy(ex.client_mac, MAC);
	return ex;
}

static void assert_reads(struct vdisk *vd, const uint8_t *want)
{
	static uint8_t buf[SIZE];

	assert_int_equal(vdisk_size(vd), SIZE);
	assert_int_equal(vdisk_read(vd, buf, 0, SIZE), 0);
	assert_memory_equal(buf, want, SIZE);
}

static void test_read_only_versions(void **state)
{
	struct fixture *f = *state;
	struct export_info ex = export(1, WRITE_RAM, 1);
	struct vdisk *vd;

	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	assert_true(vdisk_read_only(vd));
	assert_reads(vd, f->v1);
	assert_int_equal(vdisk_write(vd, "x", 0, 1, 0), -EROFS);
	assert_int_equal(vdisk_zero(vd, 0, 1, 0), -EROFS);
	vdisk_close(vd);
	ex = export(2, WRITE_RAM, 1);
	/* store_dir NULL: <state>/store */
	assert_int_equal(vdisk_open(f->db, NULL, f->state, &ex, &vd), 0);
	assert_reads(vd, f->v2);
	vdisk_close(vd);
	ex = export(3, WRITE_RAM, 1);
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), -ENOENT);
	/* the file is not the size the image was imported with */
	ex = export(1, WRITE_RAM, 1);
	ex.size = SIZE + 512;
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), -EIO);
}

static void test_server_overlay_per_boot(void **state)
{
	struct fixture *f = *state;
	struct export_info ex = export(2, WRITE_SERVER, 0);
	static uint8_t want[SIZE];
	struct vdisk *vd;

	memcpy(want, f->v2, SIZE);
	ex.boot_seq = 4;
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	assert_false(vdisk_read_only(vd));
	assert_int_equal(vdisk_write(vd, "hello", SIZE - 5, 5, 1), 0);
	memcpy(want + SIZE - 5, "hello", 5);
	assert_reads(vd, want);
	vdisk_close(vd);
	/* a reconnect in the same boot keeps the writes */
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	assert_reads(vd, want);
	vdisk_close(vd);
	/* the client booted again: restored, whatever the clocks say */
	ex.boot_seq = 5;
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	assert_reads(vd, f->v2);
	vdisk_close(vd);
}

static void test_kept_overlay_pinned(void **state)
{
	struct fixture *f = *state;
	struct export_info ex = export(1, WRITE_SERVER, 0);
	struct vdisk *vd;
	sqlite3_stmt *st;

	sql(f, "UPDATE clients SET keep_overlay = 1");
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	assert_int_equal(vdisk_write(vd, "k", 0, 1, 0), 0);
	assert_int_equal(vdisk_flush(vd), 0);
	vdisk_close(vd);
	assert_int_equal(sqlite3_prepare_v2(db_sqlite(f->db),
		"SELECT overlay_base FROM clients", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	/* kept across boots */
	ex.boot_seq++;
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	{
		char c;

		assert_int_equal(vdisk_read(vd, &c, 0, 1), 0);
		assert_int_equal(c, 'k');
	}
	vdisk_close(vd);
	/* never laid over another version */
	ex = export(2, WRITE_SERVER, 0);
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), -ESTALE);
}

static void test_super_overlay(void **state)
{
	struct fixture *f = *state;
	struct export_info ex = export(2, WRITE_SUPER, 0);
	char path[160];
	struct vdisk *vd;
	struct stat sb;

	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	assert_int_equal(vdisk_zero(vd, 0, SIZE, 0), 0);
	vdisk_close(vd);
	snprintf(path, sizeof(path), "%s/overlays/super-" ID ".ovl", f->state);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(vdisk_open(f->db, f->store, f->state, &ex, &vd), 0);
	{
		static uint8_t zero[SIZE];

		assert_reads(vd, zero);
	}
	vdisk_close(vd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_only_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_overlay_per_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_overlay_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_super_overlay, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
