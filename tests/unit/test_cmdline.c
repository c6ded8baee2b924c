/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the agent's kernel command line parser (agent/cmdline.c). */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/agent.h"

#define BASE "linkboot.server=198.18.0.1 linkboot.export=tok "

static struct agent_cfg cfg;
static char err[256];

static int parse(const char *s)
{
	cmdline_defaults(&cfg);
	return cmdline_parse(s, &cfg, err, sizeof(err));
}

/* a bad value is rejected and the message names the parameter */
static void assert_bad(const char *line, const char *key)
{
	assert_int_equal(parse(line), -EINVAL);
	if (!strstr(err, key))
		fail_msg("error '%s' does not name %s", err, key);
}

static void test_minimal_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("BOOT_IMAGE=vmlinuz quiet " BASE), 0);
	assert_int_equal(cfg.nservers, 1);
	assert_int_equal(ntohs(cfg.server[0].sin_port), 10809);
	assert_string_equal(cfg.export_name, "tok");
	assert_int_equal(cfg.write_mode, WRITE_RAM);
	assert_int_equal(cfg.ram_mib, 64);
	assert_int_equal(cfg.reconnect_s, 300);
	assert_int_equal(cfg.has_ip, 0);
	assert_int_equal(cfg.http.sin_port, 0);
}

static void test_every_key(void **state)
{
	char a[16];

	(void)state;
	assert_int_equal(parse(
		"linkboot.server=198.18.0.1:10810,198.18.0.2 "
		"linkboot.http=http://198.18.0.1:8080/ linkboot.export=abc "
		"linkboot.mac=52-54-00-12-34-56 linkboot.ip=198.18.0.10 "
		"linkboot.netmask=255.255.255.0 linkboot.gw=198.18.0.1 "
		"linkboot.dns=198.18.0.53 linkboot.root=PARTLABEL=root "
		"linkboot.write=server linkboot.overlay=512 linkboot.ram=256 "
		"linkboot.keep=1 "
		"linkboot.ssd=2048 linkboot.hostname=pc-01 "
		"linkboot.reconnect=30 linkboot.verbose=2 "
		"systemd.machine_id=0123456789ABCDEF0123456789abcdef "
		"initrd=initrd.img"), 0);
	assert_int_equal(cfg.nservers, 2);
	assert_int_equal(ntohs(cfg.server[0].sin_port), 10810);
	assert_int_equal(ntohs(cfg.server[1].sin_port), 10809);
	assert_int_equal(ntohs(cfg.http.sin_port), 8080);
	assert_string_equal(cfg.http_host, "198.18.0.1:8080");
	assert_int_equal(cfg.has_mac, 1);
	assert_int_equal(cfg.mac[5], 0x56);
	assert_int_equal(cfg.has_ip, 1);
	inet_ntop(AF_INET, &cfg.netmask, a, sizeof(a));
	assert_string_equal(a, "255.255.255.0");
	assert_int_equal(cfg.has_gw, 1);
	assert_int_equal(cfg.has_dns, 1);
	assert_string_equal(cfg.root, "PARTLABEL=root");
	assert_int_equal(cfg.write_mode, WRITE_SERVER);
	assert_int_equal(cfg.overlay_mib, 512);
	assert_int_equal(cfg.keep, 1);
	assert_int_equal(cfg.ram_mib, 256);
	assert_int_equal(cfg.ssd_mode, 2048);
	assert_string_equal(cfg.hostname, "pc-01");
	assert_int_equal(cfg.reconnect_s, 30);
	assert_int_equal(cfg.verbose, 2);
	assert_string_equal(cfg.machine_id, "0123456789abcdef0123456789abcdef");
}

static void test_netmask_prefix(void **state)
{
	char a[16];

	(void)state;
	assert_int_equal(parse(BASE "linkboot.ip=198.18.0.9 "
			       "linkboot.netmask=24"), 0);
	inet_ntop(AF_INET, &cfg.netmask, a, sizeof(a));
	assert_string_equal(a, "255.255.255.0");
}

static void test_empty_gateway_ok(void **state)
{
	(void)state;
	/* iPXE's ${gateway} is empty on a flat network */
	assert_int_equal(parse(BASE "linkboot.gw= linkboot.dns="), 0);
	assert_int_equal(cfg.has_gw, 0);
}

static void test_ssd_words(void **state)
{
	(void)state;
	assert_int_equal(parse(BASE "linkboot.ssd=off"), 0);
	assert_int_equal(cfg.ssd_mode, -1);
	assert_int_equal(parse(BASE "linkboot.ssd=auto"), 0);
	assert_int_equal(cfg.ssd_mode, 0);
}

static void test_root_forms(void **state)
{
	(void)state;
	assert_int_equal(parse(BASE "linkboot.root=LABEL=x"), 0);
	assert_int_equal(parse(BASE "linkboot.root=UUID=1234-abcd"), 0);
	assert_int_equal(parse(BASE "linkboot.root=part2"), 0);
	assert_string_equal(cfg.root, "part2");
}

static void test_unknown_key_ignored(void **state)
{
	(void)state;
	/* a newer server may send keys this agent does not know */
	assert_int_equal(parse(BASE "linkboot.future=1"), 0);
}

static void test_missing_required(void **state)
{
	(void)state;
	assert_int_equal(parse("linkboot.export=x"), -EINVAL);
	assert_non_null(strstr(err, "linkboot.server"));
	assert_int_equal(parse("linkboot.server=198.18.0.1"), -EINVAL);
	assert_non_null(strstr(err, "linkboot.export"));
	assert_int_equal(parse(BASE "linkboot.ip=198.18.0.9"), -EINVAL);
	assert_non_null(strstr(err, "linkboot.netmask"));
}

static void test_bad_values_named(void **state)
{
	(void)state;
	assert_bad("linkboot.server=example.com linkboot.export=x",
		   "linkboot.server");
	assert_bad("linkboot.server=198.18.0.1:0 linkboot.export=x",
		   "linkboot.server");
	assert_bad("linkboot.server=198.18.0.1:70000 linkboot.export=x",
		   "linkboot.server");
	assert_bad("linkboot.server=,, linkboot.export=x", "linkboot.server");
	assert_bad("linkboot.server=1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5 "
		   "linkboot.export=x", "linkboot.server");
	assert_bad(BASE "linkboot.http=ftp://198.18.0.1", "linkboot.http");
	assert_bad(BASE "linkboot.http=http://198.18.0.1/x", "linkboot.http");
	assert_bad("linkboot.server=198.18.0.1 linkboot.export=", "linkboot.export");
	assert_bad(BASE "linkboot.mac=52:54:00:12:34", "linkboot.mac");
	assert_bad(BASE "linkboot.ip=198.18.0.256", "linkboot.ip");
	assert_bad(BASE "linkboot.netmask=255.0.255.0", "linkboot.netmask");
	assert_bad(BASE "linkboot.netmask=33", "linkboot.netmask");
	assert_bad(BASE "linkboot.gw=gateway", "linkboot.gw");
	assert_bad(BASE "linkboot.dns=1.2.3", "linkboot.dns");
	assert_bad(BASE "linkboot.root=/dev/sda1", "linkboot.root");
	assert_bad(BASE "linkboot.root=LABEL=", "linkboot.root");
	assert_bad(BASE "linkboot.root=part0", "linkboot.root");
	assert_bad(BASE "linkboot.write=tmpfs", "linkboot.write");
	assert_bad(BASE "linkboot.overlay=-1", "linkboot.overlay");
	assert_bad(BASE "linkboot.keep=2", "linkboot.keep");
	assert_bad(BASE "linkboot.ram=lots", "linkboot.ram");
	assert_bad(BASE "linkboot.ssd=maybe", "linkboot.ssd");
	assert_bad(BASE "linkboot.hostname=bad_name", "linkboot.hostname");
	assert_bad(BASE "linkboot.hostname=-x", "linkboot.hostname");
	assert_bad(BASE "linkboot.reconnect=0", "linkboot.reconnect");
	assert_bad(BASE "linkboot.verbose=3", "linkboot.verbose");
	assert_bad(BASE "systemd.machine_id=xyz", "systemd.machine_id");
	assert_bad(BASE "systemd.machine_id=00000000000000000000000000000000",
		   "systemd.machine_id");
	assert_bad(BASE "linkboot.ram", "linkboot.ram");
	assert_bad(BASE "linkboot.prestage=demo", "linkboot.prestage");
	assert_bad(BASE "linkboot.prestage=@2", "linkboot.prestage");
	assert_bad(BASE "linkboot.prestage=demo@0", "linkboot.prestage");
	assert_bad(BASE "linkboot.prestage=de$mo@2", "linkboot.prestage");
	assert_bad(BASE "linkboot.prestage_hashes=../x", "linkboot.prestage_hashes");
}

/* a PC woken to pre-stage a version (prestage.h) */
static void test_prestage(void **state)
{
	(void)state;
	assert_int_equal(parse(BASE "linkboot.prestage=demo-1.x@12 "
			       "linkboot.prestage_hashes=boot/0123/v12/hashes"),
			 0);
	assert_string_equal(cfg.prestage, "demo-1.x@12");
	assert_string_equal(cfg.prestage_hashes, "boot/0123/v12/hashes");
}

static void test_overlong_word(void **state)
{
	char line[1200];

	(void)state;
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "linkboot.export=", 16);
	assert_int_equal(parse(line), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_netmask_prefix),
		cmocka_unit_test(test_empty_gateway_ok),
		cmocka_unit_test(test_ssd_words),
		cmocka_unit_test(test_root_forms),
		cmocka_unit_test(test_unknown_key_ignored),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_bad_values_named),
		cmocka_unit_test(test_overlong_word),
		cmocka_unit_test(test_prestage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
