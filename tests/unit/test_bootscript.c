/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: server-stub/net/bootscript.c, the generated iPXE script. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bootscript.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
#define TICKET "t1-5254" "00abcdef" "c6120005" "00000000" "0102030405060708" \
	"01" "00112233445566778899aabbccddeeff"
static const struct bootscript_params params = {
	.server = "198.18.0.1", .http_port = 8080, .nbd_port = 10809,
	.ticket = TICKET,
};

static void demo_link(struct link_info *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->mac, sizeof(l->mac), "52:54:00:ab:cd:ef");
	snprintf(l->name, sizeof(l->name), "PC-001");
	snprintf(l->hostname, sizeof(l->hostname), "pc-001");
	snprintf(l->image, sizeof(l->image), "demo");
	snprintf(l->image_id, sizeof(l->image_id), "0123abcd");
	l->version = 3;
	snprintf(l->kernel, sizeof(l->kernel), "boot/0123abcd/v3/vmlinuz");
	snprintf(l->initrd, sizeof(l->initrd), "boot/0123abcd/v3/initrd.img");
	snprintf(l->cmdline, sizeof(l->cmdline), "console=ttyS0 quiet");
	l->ram_cache_mib = 512;
	snprintf(l->ssd_cache, sizeof(l->ssd_cache), "auto");
	l->write_mode = WRITE_RAM;
	snprintf(l->machine_id, sizeof(l->machine_id),
		 "0123456789abcdef0123456789abcdef");
}

static const char *build(int rc, const struct link_info *l)
{
	static char out[8192];

	assert_true(bootscript_build(out, sizeof(out), mac, rc, l, &params) > 0);
	assert_int_equal(strncmp(out, "#!ipxe\n", 7), 0);
	return out;
}

/* The line of s that starts with prefix, as a string. */
static const char *line_of(const char *s, const char *prefix)
{
	static char line[2048];
	const char *p = s;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (!strncmp(p, prefix, strlen(prefix)) && n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			return line;
		}
		p = nl ? nl + 1 : NULL;
	}
	fail_msg("no line starting with '%s' in:\n%s", prefix, s);
	return NULL;
}

static void test_linked_boots(void **state)
{
	struct link_info l;
	const char *s, *k;

	(void)state;
	demo_link(&l);
	s = build(0, &l);
	assert_non_null(strstr(line_of(s, "echo linkboot: PC-001"),
			       "52:54:00:ab:cd:ef) boots image demo version 3"));
	k = line_of(s, "kernel ");
	assert_non_null(strstr(k, "kernel http://198.18.0.1:8080/boot/0123abcd/v3/vmlinuz initrd=initrd.img ${lb-args} console=ttyS0 quiet || goto failed"));
	assert_non_null(strstr(line_of(s, "initrd "), "initrd --name initrd.img http://198.18.0.1:8080/boot/0123abcd/v3/initrd.img || goto failed"));
	assert_non_null(strstr(s, "\nboot || goto failed\n"));
	assert_non_null(strstr(s, "\n:failed\n"));
	assert_non_null(strstr(s, "chain --replace --autofree http://198.18.0.1:8080/boot.ipxe?mac=52:54:00:ab:cd:ef || goto failed"));
}

/* A version with the split initramfs: the core, the storage drivers only
 * for a PC with a local disk, the NIC's archive by iPXE's busid. */
static void test_split_initrd(void **state)
{
	static const char *const disk[][2] = {
		{ "auto", "ram" }, { "1024", "ram" }, { "off", "disk" },
	};
	const char *base = "http://198.18.0.1:8080/boot/0123abcd/v3/";
	char want[300];
	struct link_info l;
	const char *s;

	(void)state;
	demo_link(&l);
	l.split_initrd = 1;
	snprintf(l.ssd_cache, sizeof(l.ssd_cache), "off");
	s = build(0, &l);
	assert_non_null(strstr(line_of(s, "kernel "), "/v3/vmlinuz initrd=initrd.img initrd=nic.img ${lb-args}"));
	snprintf(want, sizeof(want), "initrd --name initrd.img %sinitrd-core.img || goto failed\n"
		 "set lb-step initrd %snic.img?busid=${busid:hexraw}\n"
		 "initrd --name nic.img %snic.img?busid=${busid:hexraw} || goto failed\n",
		 base, base, base);
	assert_non_null(strstr(s, want));
	assert_null(strstr(s, "storage"));
	assert_null(strstr(s, "/initrd.img"));
	for (size_t i = 0; i < sizeof(disk) / sizeof(disk[0]); i++) {
		snprintf(l.ssd_cache, sizeof(l.ssd_cache), "%s", disk[i][0]);
		l.write_mode = db_write_mode_parse(disk[i][1]);
		s = build(0, &l);
		assert_non_null(strstr(line_of(s, "kernel "), "initrd=initrd.img initrd=storage.img initrd=nic.img "));
		snprintf(want, sizeof(want), "initrd --name storage.img %sinitrd-storage.img || goto failed\n", base);
		assert_non_null(strstr(s, want));
	}
}

static void test_linked_cmdline_keys(void **state)
{
	struct link_info l;
	const char *s, *a;

	(void)state;
	demo_link(&l);
	s = build(0, &l);
	a = line_of(s, "set lb-args linkboot.server=");
	assert_non_null(strstr(a, "linkboot.server=198.18.0.1:10809 "));
	assert_non_null(strstr(a, "linkboot.http=http://198.18.0.1:8080 "));
	assert_non_null(strstr(a, "linkboot.ticket=" TICKET " "));
	assert_null(strstr(a, "linkboot.export="));
	assert_non_null(strstr(a, "linkboot.mac=${mac} linkboot.ip=${ip} linkboot.netmask=${netmask}"));
	/* gw/dns only when iPXE has them */
	assert_non_null(strstr(s, "\nisset ${gateway} && set lb-args ${lb-args} linkboot.gw=${gateway} ||\n"));
	assert_non_null(strstr(s, "\nisset ${dns} && set lb-args ${lb-args} linkboot.dns=${dns} ||\n"));
	a = line_of(s, "set lb-args ${lb-args} linkboot.write=");
	assert_non_null(strstr(a, "linkboot.write=ram linkboot.ram=512"));
	assert_non_null(strstr(a, "linkboot.ssd=auto"));
	assert_non_null(strstr(a, "linkboot.hostname=pc-001"));
	assert_non_null(strstr(a, "systemd.machine_id=0123456789abcdef0123456789abcdef"));
	assert_null(strstr(a, "linkboot.root="));	/* empty: agent default */
}

static void test_write_modes_and_root(void **state)
{
	struct link_info l;
	const char *s;

	(void)state;
	demo_link(&l);
	l.write_mode = WRITE_SUPER;
	snprintf(l.root, sizeof(l.root), "LABEL=root");
	s = build(0, &l);
	assert_non_null(strstr(s, "linkboot.write=super "));
	assert_non_null(strstr(s, " linkboot.root=LABEL=root"));
	l.write_mode = WRITE_DISK;
	assert_non_null(strstr(build(0, &l), "linkboot.write=disk "));
	l.write_mode = WRITE_SERVER;
	assert_non_null(strstr(build(0, &l), "linkboot.write=server "));
	assert_null(strstr(build(0, &l), "linkboot.keep"));
	l.keep_overlay = 1;	/* the agent's overlay writes back */
	assert_non_null(strstr(build(0, &l), " linkboot.keep=1"));
	assert_null(strstr(build(0, &l), "linkboot.overlay="));
	l.overlay_mib = 256;	/* client --overlay */
	assert_non_null(strstr(build(0, &l), " linkboot.overlay=256"));
}

static void test_db_values_filtered(void **state)
{
	struct link_info l;
	const char *s;

	(void)state;
	demo_link(&l);
	snprintf(l.name, sizeof(l.name), "evil${x}\nshell");
	snprintf(l.cmdline, sizeof(l.cmdline), "a || shell && \"q\" \\x #c");
	snprintf(l.hostname, sizeof(l.hostname), "h ost");
	s = build(0, &l);
	/* nothing iPXE would interpret gets through from the DB */
	assert_null(strstr(s, "${x}"));
	assert_null(strstr(s, "\nshell"));
	assert_null(strstr(s, "|| shell"));
	assert_null(strstr(s, "\"q\""));
	assert_null(strstr(s, "\\x"));
	assert_non_null(strstr(s, "evil__x__shell"));
	assert_non_null(strstr(s, "linkboot.hostname=h_ost"));
	assert_non_null(strstr(s, "a __ shell __ _q_ _x _c"));
}

static void test_unknown_mac_screen(void **state)
{
	const char *s;

	(void)state;
	s = build(-ENOENT, NULL);
	assert_non_null(strstr(s, "not linked"));
	assert_non_null(strstr(s, "MAC address:  52:54:00:ab:cd:ef"));
	assert_non_null(strstr(s, "boot server:  198.18.0.1"));
	assert_non_null(strstr(s, "echo   linkboot client add 52:54:00:ab:cd:ef --image IMAGE\n"));
	/* retries every 5 s with the same URL */
	assert_non_null(strstr(s, "\n:retry\nsleep 5\nchain --replace --autofree http://198.18.0.1:8080/boot.ipxe?mac=52:54:00:ab:cd:ef || goto retry\n"));
	assert_null(strstr(s, "kernel "));
	assert_string_equal(bootscript_kind(-ENOENT, NULL), "unknown");
}

static void test_image_missing_screen(void **state)
{
	struct link_info l;
	const char *s;

	(void)state;
	demo_link(&l);
	l.image_missing = 1;
	s = build(0, &l);
	assert_non_null(strstr(s, "linkboot image repair --scan DIR"));
	assert_non_null(strstr(s, "image demo"));
	assert_non_null(strstr(s, "52:54:00:ab:cd:ef"));
	assert_non_null(strstr(s, "sleep 5\n"));
	assert_null(strstr(s, "\nkernel "));
	assert_string_equal(bootscript_kind(0, &l), "image-missing");
}

static void test_no_kernel_screen(void **state)
{
	struct link_info l;
	const char *s;

	(void)state;
	demo_link(&l);
	l.initrd[0] = '\0';
	s = build(0, &l);
	assert_non_null(strstr(s, "has no kernel or initrd"));
	assert_null(strstr(s, "\nkernel "));
}

static void test_db_unavailable_screen(void **state)
{
	const char *s;

	(void)state;
	s = build(-ENODEV, NULL);
	assert_non_null(strstr(s, "link DB unavailable"));
	assert_non_null(strstr(s, "52:54:00:ab:cd:ef"));
	assert_non_null(strstr(s, "goto retry"));
	s = build(-EIO, NULL);
	assert_non_null(strstr(s, "cannot read its link DB"));
}

/* A linked PC the server did not recognise gets no ticket, and a screen
 * that says why, then retries. */
static void test_unverified_screen(void **state)
{
	struct bootscript_params p = params;
	struct link_info l;
	char out[8192];

	(void)state;
	demo_link(&l);
	p.ticket = "";
	p.no_ticket = "198.18.0.9 is 52:54:00:00:00:09 on this network, "
		      "not this PC; $(x) || y";
	assert_true(bootscript_build(out, sizeof(out), mac, 0, &l, &p) > 0);
	assert_non_null(strstr(out, "cannot tell that this request comes from "
				    "the PC with MAC 52:54:00:ab:cd:ef"));
	assert_non_null(strstr(out, "198.18.0.9 is 52:54:00:00:00:09 on this "
				    "network, not this PC_ __x_ __ y"));
	assert_null(strstr(out, "linkboot.ticket"));
	assert_null(strstr(out, "\nkernel "));
	assert_non_null(strstr(out, "goto retry"));
}

/* A SAN PC: its own initiator and target names and the boot's CHAP
 * credentials, sanboot, no kernel; without credentials, no boot. */
static void test_san_boot(void **state)
{
	struct bootscript_params p = params;
	struct link_info l;
	const char *s;
	char out[8192];

	(void)state;
	demo_link(&l);
	l.boot_mode = BOOT_SAN;
	p.iscsi_port = 3260;
	p.san_user = "lb1.5254" "00abcdef.6b115ce0.0908070605040302";
	p.san_secret = "abcdefghijkmnpqr";
	assert_true(bootscript_build(out, sizeof(out), mac, 0, &l, &p) > 0);
	s = out;
	assert_non_null(strstr(s, "boots image demo version 3 from its iSCSI disk"));
	assert_non_null(strstr(s, "\nset initiator-iqn iqn.2026-12.org.linkboot.pc:525400abcdef\n"));
	assert_non_null(strstr(s, "\nset username lb1.525400abcdef.6b115ce0.0908070605040302\n"));
	assert_non_null(strstr(s, "\nset password abcdefghijkmnpqr\n"));
	assert_non_null(strstr(s, "\nsanboot iscsi:198.18.0.1:6:3260:0:iqn.2026-12.org.linkboot:pc.525400abcdef || goto failed\n"));
	assert_null(strstr(s, "\nkernel "));
	assert_null(strstr(s, "linkboot.ticket"));
	assert_string_equal(bootscript_kind(0, &l), "san");
	assert_null(strstr(s, "sanhook"));
	/* the super client: the disk hooked, the admin's installer script
	 * if there is one, else the hooked disk boots */
	l.write_mode = WRITE_SUPER;
	assert_true(bootscript_build(out, sizeof(out), mac, 0, &l, &p) > 0);
	assert_non_null(strstr(s, "\nsanhook --drive 0x80 iscsi:198.18.0.1:6:3260:0:iqn.2026-12.org.linkboot:pc.525400abcdef || goto failed\n"));
	assert_non_null(strstr(s, "\nchain --autofree http://198.18.0.1:8080/install/demo.ipxe ||\n"));
	assert_non_null(strstr(s, "\nsanboot --drive 0x80 || goto failed\n"));
	p.san_user = "";
	assert_true(bootscript_build(out, sizeof(out), mac, 0, &l, &p) > 0);
	assert_null(strstr(out, "sanboot"));
	assert_non_null(strstr(out, "cannot tell that this request comes from"));
}

static void test_bad_mac_script(void **state)
{
	char out[1024];

	(void)state;
	assert_true(bootscript_bad_mac(out, sizeof(out), &params) > 0);
	assert_int_equal(strncmp(out, "#!ipxe\n", 7), 0);
	assert_non_null(strstr(out, "mac="));
}

static void test_small_buffer(void **state)
{
	struct link_info l;
	char out[64];

	(void)state;
	demo_link(&l);
	assert_int_equal(bootscript_build(out, sizeof(out), mac, 0, &l, &params),
			 -ENOSPC);
	assert_int_equal(bootscript_build(out, 0, mac, 0, &l, &params), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linked_boots),
		cmocka_unit_test(test_linked_cmdline_keys),
		cmocka_unit_test(test_write_modes_and_root),
		cmocka_unit_test(test_db_values_filtered),
		cmocka_unit_test(test_unknown_mac_screen),
		cmocka_unit_test(test_image_missing_screen),
		cmocka_unit_test(test_no_kernel_screen),
		cmocka_unit_test(test_db_unavailable_screen),
		cmocka_unit_test(test_unverified_screen),
		cmocka_unit_test(test_san_boot),
		cmocka_unit_test(test_split_initrd),
		cmocka_unit_test(test_bad_mac_script),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
