/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: module load order from depmod's files (lib/modules_dep.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "modules_dep.h"

/* the Debian 6.1 lines that matter (DESIGN.md "Verified") */
static const char dep[] =
	"kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko "
	"kernel/fs/jbd2/jbd2.ko\n"
	"kernel/lib/crc16.ko:\n"
	"kernel/fs/mbcache.ko:\n"
	"kernel/fs/jbd2/jbd2.ko:\n"
	"kernel/crypto/crc32c_generic.ko:\n"
	"kernel/arch/x86/crypto/crc32c-intel.ko:\n"
	"kernel/fs/overlayfs/overlay.ko:\n"
	"kernel/drivers/block/nbd.ko:\n"
	"kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
	"kernel/net/core/failover.ko\n"
	"kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
	"kernel/net/core/failover.ko:\n"
	"kernel/drivers/net/ethernet/intel/e1000/e1000.ko:\n"
	"kernel/a.ko: kernel/b.ko\n"
	"kernel/b.ko: kernel/a.ko\n";
static const char softdep[] =
	"# Soft dependencies extracted from modules themselves.\n"
	"softdep ext4 pre: crypto-crc32c\n"
	"softdep virtio_net pre: nosuchmodule\n";
static const char alias[] =
	"alias crypto-crc32c crc32c_intel\n"
	"alias crypto-crc32c crc32c_generic\n"
	"alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n";

static const struct moddb db = { dep, softdep, alias };

static int pos(const struct modlist *l, const char *path)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].path, path))
			return (int)i;
	return -1;
}

static void test_ext4_order_with_softdep(void **state)
{
	static struct modlist l;
	int e;

	(void)state;
	l.n = 0;
	assert_int_equal(moddb_resolve(&db, "ext4", &l), 0);
	e = pos(&l, "kernel/fs/ext4/ext4.ko");
	assert_int_equal(e, (int)l.n - 1);
	/* softdep crc32c is not in depends=: it must still come first */
	assert_true(pos(&l, "kernel/crypto/crc32c_generic.ko") >= 0);
	assert_true(pos(&l, "kernel/crypto/crc32c_generic.ko") < e);
	assert_true(l.e[pos(&l, "kernel/crypto/crc32c_generic.ko")].optional);
	assert_true(pos(&l, "kernel/lib/crc16.ko") < e);
	assert_true(pos(&l, "kernel/fs/mbcache.ko") < e);
	assert_true(pos(&l, "kernel/fs/jbd2/jbd2.ko") < e);
	assert_false(l.e[e].optional);
}

static void test_nested_deps_once(void **state)
{
	static struct modlist l;

	(void)state;
	l.n = 0;
	assert_int_equal(moddb_resolve(&db, "virtio_net", &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.e[0].path, "kernel/net/core/failover.ko");
	assert_string_equal(l.e[1].path, "kernel/drivers/net/net_failover.ko");
	assert_string_equal(l.e[2].path, "kernel/drivers/net/virtio_net.ko");
	/* resolving again adds nothing */
	assert_int_equal(moddb_resolve(&db, "virtio-net", &l), 0);
	assert_int_equal(l.n, 3);
}

static void test_dash_underscore(void **state)
{
	char path[MODPATH_MAX];

	(void)state;
	assert_int_equal(moddb_find(&db, "crc32c_intel", path, sizeof(path)), 0);
	assert_string_equal(path, "kernel/arch/x86/crypto/crc32c-intel.ko");
	assert_int_equal(moddb_find(&db, "crc32c-generic", path, sizeof(path)), 0);
}

static void test_missing(void **state)
{
	static struct modlist l;

	(void)state;
	l.n = 0;
	assert_int_equal(moddb_resolve(&db, "nosuch", &l), -ENOENT);
	assert_int_equal(l.n, 0);
}

static void test_cycle_terminates(void **state)
{
	static struct modlist l;

	(void)state;
	l.n = 0;
	assert_int_equal(moddb_resolve(&db, "a", &l), -ELOOP);
}

static void count_cb(const char *name, void *ctx)
{
	if (!strcmp(name, "e1000"))
		(*(int *)ctx)++;
}

static void test_alias_match(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(moddb_alias_match(&db,
		"pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
		count_cb, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(moddb_alias_match(&db,
		"pci:v00008086d000010D3sv00001AF4sd00001100bc02sc00i00",
		count_cb, &n), 0);
}

static void test_name_of(void **state)
{
	char n[64];
	const char *p = "kernel/drivers/net/usb/r8152.ko.xz";

	(void)state;
	moddb_name_of(p, strlen(p), n, sizeof(n));
	assert_string_equal(n, "r8152");
	p = "kernel/x/snd-hda-intel.ko";
	moddb_name_of(p, strlen(p), n, sizeof(n));
	assert_string_equal(n, "snd_hda_intel");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext4_order_with_softdep),
		cmocka_unit_test(test_nested_deps_once),
		cmocka_unit_test(test_dash_underscore),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_cycle_terminates),
		cmocka_unit_test(test_alias_match),
		cmocka_unit_test(test_name_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
