/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: server-stub/net/grubcfg.c, the Secure Boot chain's GRUB
 * configuration (names, screens, the boot, filtering of DB values). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "grubcfg.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
#define TICKET "t1-525400abcdef"
static const struct bootscript_params params = {
	.server = "198.18.0.1", .http_port = 8080, .nbd_port = 10809,
	.ticket = TICKET,
};

static void demo_link(struct link_info *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "PC-001");
	snprintf(l->hostname, sizeof(l->hostname), "pc-001");
	snprintf(l->image, sizeof(l->image), "demo");
	snprintf(l->image_id, sizeof(l->image_id), "0123abcd");
	l->version = 3;
	snprintf(l->kernel, sizeof(l->kernel), "boot/0123abcd/v3/vmlinuz");
	snprintf(l->initrd, sizeof(l->initrd), "boot/0123abcd/v3/initrd.img");
	snprintf(l->cmdline, sizeof(l->cmdline), "console=ttyS0 quiet");
	l->ram_cache_mib = 512;
	l->write_mode = WRITE_SERVER;
	l->keep_overlay = 1;
}

static const char *build(int rc, const struct link_info *l,
			 const struct bootscript_params *p)
{
	static char out[8192];

	assert_true(grubcfg_build(out, sizeof(out), mac, rc, l, p) > 0);
	return out;
}

static void test_names(void **state)
{
	uint8_t m[6];

	(void)state;
	assert_int_equal(grubcfg_name("grub/grub.cfg", m), GRUBCFG_STUB);
	assert_int_equal(grubcfg_name("grub/grub.cfg-52:54:00:ab:cd:ef", m),
			 GRUBCFG_PC);
	assert_memory_equal(m, mac, 6);
	memset(m, 0, 6);
	assert_int_equal(grubcfg_name("grub/grub.cfg-01-52-54-00-ab-cd-ef", m),
			 GRUBCFG_PC);
	assert_memory_equal(m, mac, 6);
	assert_int_equal(grubcfg_name("grub/grub.cfg-", m), GRUBCFG_BAD_MAC);
	assert_int_equal(grubcfg_name("grub/grub.cfg-x", m), GRUBCFG_BAD_MAC);
	assert_int_equal(grubcfg_name("grub/grub.cfg-02-52-54-00-ab-cd-ef", m),
			 GRUBCFG_BAD_MAC);
	assert_int_equal(grubcfg_name("grub/x86_64-efi/grub.cfg", m),
			 GRUBCFG_NONE);
	assert_int_equal(grubcfg_name("grubx64.efi", m), GRUBCFG_NONE);
	assert_int_equal(grubcfg_name("grub/grub.cfgx", m), GRUBCFG_NONE);
}

static void test_stub_sources_pc_config(void **state)
{
	char out[1024];

	(void)state;
	assert_true(grubcfg_stub(out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "set lb_cfg=\"$prefix/grub.cfg-"
				    "$net_default_mac\"\n"));
	assert_non_null(strstr(out, "source \"$lb_cfg\"\n"));
	assert_non_null(strstr(out, "while true; do\n\tsleep 5\n"));
	assert_int_equal(grubcfg_stub(out, 10), -ENOSPC);
}

static void test_unknown_screen(void **state)
{
	const char *s;

	(void)state;
	s = build(-ENOENT, NULL, &params);
	assert_non_null(strstr(s, "echo '  linkboot client add "
				  "52:54:00:ab:cd:ef --image IMAGE'\n"));
	assert_non_null(strstr(s, "not linked to an image yet"));
	assert_null(strstr(s, "\nlinux "));
}

static void test_boot(void **state)
{
	struct link_info l;
	const char *s;

	(void)state;
	demo_link(&l);
	s = build(0, &l, &params);
	assert_non_null(strstr(s, "\nlinux /boot/0123abcd/v3/vmlinuz "
		"linkboot.server=198.18.0.1:10809 "
		"linkboot.http=http://198.18.0.1:8080 linkboot.ticket=" TICKET
		" linkboot.mac=52:54:00:ab:cd:ef linkboot.write=server "
		"linkboot.ram=512 linkboot.keep=1 "
		"linkboot.hashes=boot/0123abcd/v3/hashes "
		"linkboot.hostname=pc-001 console=ttyS0 quiet\n"));
	assert_non_null(strstr(s, "\ninitrd /boot/0123abcd/v3/initrd.img\n"
				  "boot\n"));
	assert_non_null(strstr(s, "boots image demo version 3"));
	/* the agent asks DHCP: no iPXE variables */
	assert_null(strstr(s, "${"));
}

/* DB values cannot inject GRUB syntax: no ';', quotes, '$', newlines. */
static void test_db_values_filtered(void **state)
{
	struct link_info l;
	const char *s, *lx;

	(void)state;
	demo_link(&l);
	snprintf(l.cmdline, sizeof(l.cmdline), "a; reboot $x 'q' \"d\" {e}\nboot");
	snprintf(l.image, sizeof(l.image), "de'mo\n");
	s = build(0, &l, &params);
	lx = strstr(s, "\nlinux ");
	assert_non_null(lx);
	assert_non_null(strstr(lx, " a_ reboot _x _q_ _d_ _e__boot\n"));
	assert_non_null(strstr(s, "boots image de_mo_ version"));
}

static void test_screens(void **state)
{
	struct bootscript_params nt = params;
	struct link_info l;

	(void)state;
	demo_link(&l);
	nt.ticket = "";
	nt.no_ticket = "198.18.0.9 is not 52:54:00:ab:cd:ef";
	assert_non_null(strstr(build(0, &l, &nt), "hands out no boot ticket"));
	assert_null(strstr(build(0, &l, &nt), "\nlinux "));
	l.boot_mode = BOOT_SAN;
	assert_non_null(strstr(build(0, &l, &params), "needs iPXE"));
	assert_null(strstr(build(0, &l, &params), "\nlinux "));
	demo_link(&l);
	l.image_missing = 1;
	assert_non_null(strstr(build(0, &l, &params), "image repair --scan"));
	demo_link(&l);
	l.kernel[0] = '\0';
	assert_non_null(strstr(build(0, &l, &params), "no kernel or initrd"));
	assert_non_null(strstr(build(-EIO, NULL, &params), "cannot read its "
				   "link DB"));
}

static void test_too_small(void **state)
{
	struct link_info l;
	char out[64];

	(void)state;
	demo_link(&l);
	assert_int_equal(grubcfg_build(out, sizeof(out), mac, 0, &l, &params),
			 -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_stub_sources_pc_config),
		cmocka_unit_test(test_unknown_screen),
		cmocka_unit_test(test_boot),
		cmocka_unit_test(test_db_values_filtered),
		cmocka_unit_test(test_screens),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
