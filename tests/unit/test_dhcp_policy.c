/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: the boot-file policy (RFC 4578 arch, iPXE / linkboot
 * user-class) and the full-mode lease pool (no double assignment, release,
 * decline, persistence round trip).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dhcp.h"

static const struct dhcp_boot_cfg cfg = {
	.bios_loader = "undionly.kpxe",
	.efi_loader = "snponly.efi",
	.arm64_loader = "arm64-efi/snponly.efi",
	.server_ip = 0x010012c6,	/* 198.18.0.1, network order */
	.http_port = 8080,
};

static struct dhcp_client pxe(int arch)
{
	struct dhcp_client c = {
		.mac = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef },
		.arch = arch, .pxe = 1,
	};
	return c;
}

static void choose(const struct dhcp_client *c, struct dhcp_boot *b)
{
	assert_int_equal(dhcp_boot_choose(&cfg, c, b), 0);
}

static void test_arch0_bios(void **state)
{
	struct dhcp_client c = pxe(0);
	struct dhcp_boot b;

	(void)state;
	choose(&c, &b);
	assert_int_equal(b.kind, DHCP_BOOT_TFTP);
	assert_string_equal(b.file, "undionly.kpxe");
	assert_string_equal(b.vendor_class, "PXEClient");
	assert_true(b.pxe_discovery);
	assert_false(b.ipxe_no_proxy);
}

static void test_arch7_and_9_efi(void **state)
{
	struct dhcp_client c = pxe(7);
	struct dhcp_boot b;

	(void)state;
	choose(&c, &b);
	assert_string_equal(b.file, "snponly.efi");
	c.arch = 9;	/* RFC 4578 errata */
	choose(&c, &b);
	assert_int_equal(b.kind, DHCP_BOOT_TFTP);
	assert_string_equal(b.file, "snponly.efi");
}

static void test_arch11_arm64(void **state)
{
	struct dhcp_client c = pxe(11);
	struct dhcp_boot b;

	(void)state;
	choose(&c, &b);
	assert_string_equal(b.file, "arm64-efi/snponly.efi");
}

static void test_arch16_http_boot(void **state)
{
	struct dhcp_client c = pxe(16);
	struct dhcp_boot b;

	(void)state;
	c.pxe = 0;
	c.http = 1;
	choose(&c, &b);
	assert_int_equal(b.kind, DHCP_BOOT_HTTP);
	assert_string_equal(b.file, "http://198.18.0.1:8080/snponly.efi");
	/* OVMF ignores the offer without HTTPClient */
	assert_string_equal(b.vendor_class, "HTTPClient");
	assert_false(b.pxe_discovery);
}

/* secure_boot on: x64 UEFI (PXE and HTTP) gets the signed shim, BIOS and
 * iPXE are unchanged; the link's setting wins over the server's. */
static void test_secure_boot_shim(void **state)
{
	struct dhcp_boot_cfg on = cfg;
	struct dhcp_client c;
	struct dhcp_boot b;
	int arch[] = { 7, 9 };
	size_t i;

	(void)state;
	on.secure_boot = SECURE_BOOT_ON;
	for (i = 0; i < 2; i++) {
		c = pxe(arch[i]);
		assert_int_equal(dhcp_boot_choose(&on, &c, &b), 0);
		assert_int_equal(b.kind, DHCP_BOOT_TFTP);
		assert_string_equal(b.file, "shimx64.efi");
		assert_true(b.pxe_discovery);
	}
	c = pxe(16);
	c.pxe = 0;
	c.http = 1;
	assert_int_equal(dhcp_boot_choose(&on, &c, &b), 0);
	assert_string_equal(b.file, "http://198.18.0.1:8080/shimx64.efi");
	assert_string_equal(b.vendor_class, "HTTPClient");
	c = pxe(0);		/* BIOS has no Secure Boot */
	assert_int_equal(dhcp_boot_choose(&on, &c, &b), 0);
	assert_string_equal(b.file, "undionly.kpxe");
	c = pxe(7);		/* iPXE already: the script, never shim */
	c.ipxe = 1;
	assert_int_equal(dhcp_boot_choose(&on, &c, &b), 0);
	assert_int_equal(b.kind, DHCP_BOOT_HTTP);
	assert_non_null(strstr(b.file, "/boot.ipxe?mac="));
	c = pxe(7);		/* the link says off */
	c.secure_boot = SECURE_BOOT_OFF;
	assert_int_equal(dhcp_boot_choose(&on, &c, &b), 0);
	assert_string_equal(b.file, "snponly.efi");
	c = pxe(7);		/* server auto (default): the link says on */
	c.secure_boot = SECURE_BOOT_ON;
	choose(&c, &b);
	assert_string_equal(b.file, "shimx64.efi");
	c = pxe(7);		/* auto and auto: nothing detectable, iPXE */
	choose(&c, &b);
	assert_string_equal(b.file, "snponly.efi");
}

static void test_ipxe_gets_script(void **state)
{
	struct dhcp_client c = pxe(0);
	struct dhcp_boot b;

	(void)state;
	c.ipxe = 1;
	choose(&c, &b);
	assert_int_equal(b.kind, DHCP_BOOT_HTTP);
	assert_string_equal(b.file,
			    "http://198.18.0.1:8080/boot.ipxe?mac=52:54:00:ab:cd:ef");
	assert_true(b.ipxe_no_proxy);
}

static void test_ipxe_efi_never_chains_loader(void **state)
{
	/* snponly.efi asks again with arch 7 + iPXE: script, no loop */
	struct dhcp_client c = pxe(7);
	struct dhcp_boot b;

	(void)state;
	c.ipxe = 1;
	choose(&c, &b);
	assert_null(strstr(b.file, "snponly.efi"));
	assert_non_null(strstr(b.file, "boot.ipxe?mac="));
}

static void test_linkboot_user_class(void **state)
{
	struct dhcp_client c = pxe(16);
	struct dhcp_boot b;

	(void)state;
	c.linkboot = c.ipxe = 1;
	choose(&c, &b);
	assert_non_null(strstr(b.file, "/boot.ipxe?mac=52:54:00:ab:cd:ef"));
}

static void test_not_pxe_no_boot(void **state)
{
	struct dhcp_client c = pxe(0);
	struct dhcp_boot b;

	(void)state;
	c.pxe = 0;
	choose(&c, &b);
	assert_int_equal(b.kind, DHCP_BOOT_NONE);
	assert_null(b.vendor_class);
}

static void test_unknown_arch_no_boot(void **state)
{
	struct dhcp_client c = pxe(6);	/* EFI ia32: no loader configured */
	struct dhcp_boot b;

	(void)state;
	choose(&c, &b);
	assert_int_equal(b.kind, DHCP_BOOT_NONE);
}

static void test_client_from_msg(void **state)
{
	/* SeaBIOS + iPXE ROM: 93=0, 60 PXEClient..., 77 iPXE, 175 */
	static const uint8_t opts[] = {
		53, 1, 1, 93, 2, 0, 0,
		60, 32, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', ':', 'A',
		'r', 'c', 'h', ':', '0', '0', '0', '0', '0', ':', 'U', 'N', 'D',
		'I', ':', '0', '0', '2', '0', '0', '1',
		77, 4, 'i', 'P', 'X', 'E', 175, 3, 0xb1, 1, 1, 255,
	};
	uint8_t buf[400] = { BOOTREQUEST, 1, 6 };
	struct dhcp_msg *m = malloc(sizeof(*m));
	struct dhcp_client c;

	(void)state;
	memcpy(buf + DHCP_FIXED_LEN, "\x63\x82\x53\x63", 4);
	memcpy(buf + DHCP_OPTIONS_OFF, opts, sizeof(opts));
	assert_int_equal(dhcp_parse(buf, sizeof(buf), m), 0);
	dhcp_client_from_msg(m, &c);
	assert_int_equal(c.arch, 0);
	assert_true(c.pxe);
	assert_true(c.ipxe);
	assert_false(c.linkboot);
	free(m);
}

static void test_arch_from_vendor_class(void **state)
{
	/* a ROM that forgets option 93 still says its arch in option 60 */
	static const char vc[] = "PXEClient:Arch:00007:UNDI:003000";
	uint8_t buf[400] = { BOOTREQUEST, 1, 6 };
	struct dhcp_msg *m = malloc(sizeof(*m));
	struct dhcp_client c;
	uint8_t *p = buf + DHCP_OPTIONS_OFF;

	(void)state;
	memcpy(buf + DHCP_FIXED_LEN, "\x63\x82\x53\x63", 4);
	*p++ = 53; *p++ = 1; *p++ = 1;
	*p++ = 60; *p++ = sizeof(vc) - 1;
	memcpy(p, vc, sizeof(vc) - 1);
	p += sizeof(vc) - 1;
	*p = 255;
	assert_int_equal(dhcp_parse(buf, sizeof(buf), m), 0);
	dhcp_client_from_msg(m, &c);
	assert_int_equal(c.arch, 7);
	free(m);
}

/* ---- lease pool ---- */

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 2, 0, 0, 0, 0, 0xb };
static const uint8_t mac_c[6] = { 2, 0, 0, 0, 0, 0xc };
#define IP(s) ntohl(inet_addr(s))
#define NOW 1000000

static void test_pool_range_parse(void **state)
{
	struct dhcp_pool p;

	(void)state;
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.12", -1), 0);
	assert_int_equal(p.count, 3);
	assert_true(dhcp_pool_in_range(&p, IP("198.18.0.12")));
	assert_false(dhcp_pool_in_range(&p, IP("198.18.0.13")));
	dhcp_pool_free(&p);
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.12,198.18.0.10", -1),
			 -ERANGE);
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10", -1), -EINVAL);
	assert_int_equal(dhcp_pool_init(&p, "x,198.18.0.10", -1), -EINVAL);
}

static void test_pool_no_double_assignment(void **state)
{
	struct dhcp_pool p;
	uint32_t a, b, c;

	(void)state;
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.11", -1), 0);
	a = dhcp_pool_pick(&p, mac_a, 0, NOW);
	assert_int_equal(dhcp_pool_take(&p, mac_a, a, LEASE_OFFERED,
					 NOW + 60, NOW), 0);
	b = dhcp_pool_pick(&p, mac_b, a, NOW);	/* asks for a's address */
	assert_int_not_equal(a, b);
	assert_int_equal(dhcp_pool_take(&p, mac_b, a, LEASE_BOUND,
					 NOW + 60, NOW), -EADDRINUSE);
	assert_int_equal(dhcp_pool_take(&p, mac_b, b, LEASE_BOUND,
					 NOW + 60, NOW), 0);
	/* full */
	c = dhcp_pool_pick(&p, mac_c, 0, NOW);
	assert_int_equal(c, 0);
	/* the same client gets its own address again */
	assert_int_equal(dhcp_pool_pick(&p, mac_a, 0, NOW), a);
	/* once the offer expires the address is free again */
	assert_int_equal(dhcp_pool_pick(&p, mac_c, 0, NOW + 61), a);
	dhcp_pool_free(&p);
}

static void test_pool_one_address_per_client(void **state)
{
	struct dhcp_pool p;

	(void)state;
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.19", -1), 0);
	assert_int_equal(dhcp_pool_take(&p, mac_a, IP("198.18.0.10"),
					 LEASE_BOUND, NOW + 60, NOW), 0);
	assert_int_equal(dhcp_pool_take(&p, mac_a, IP("198.18.0.15"),
					 LEASE_BOUND, NOW + 60, NOW), 0);
	assert_null(dhcp_pool_holder(&p, IP("198.18.0.10"), NOW));
	assert_non_null(dhcp_pool_holder(&p, IP("198.18.0.15"), NOW));
	dhcp_pool_free(&p);
}

static void test_pool_release(void **state)
{
	struct dhcp_pool p;
	uint32_t ip = IP("198.18.0.10");

	(void)state;
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.10", -1), 0);
	assert_int_equal(dhcp_pool_take(&p, mac_a, ip, LEASE_BOUND,
					 NOW + 60, NOW), 0);
	/* only the holder may release */
	assert_int_equal(dhcp_pool_release(&p, mac_b, ip, NOW), -ENOENT);
	assert_int_equal(dhcp_pool_release(&p, mac_a, ip, NOW), 0);
	assert_int_equal(dhcp_pool_pick(&p, mac_b, 0, NOW), ip);
	dhcp_pool_free(&p);
}

static void test_pool_declined_not_reused(void **state)
{
	static const uint8_t nobody[6];
	struct dhcp_pool p;
	uint32_t ip = IP("198.18.0.10");

	(void)state;
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.11", -1), 0);
	assert_int_equal(dhcp_pool_take(&p, nobody, ip, LEASE_DECLINED,
					 NOW + 60, NOW), 0);
	assert_int_equal(dhcp_pool_pick(&p, mac_a, ip, NOW), IP("198.18.0.11"));
	assert_int_equal(dhcp_pool_take(&p, nobody, ip, LEASE_BOUND,
					 NOW + 60, NOW), -EADDRINUSE);
	dhcp_pool_free(&p);
}

/* RFC 2131 §4.3.3: a DECLINE parks only an address offered or leased to
 * that client, and only for DHCP_DECLINE_HOLD */
static void test_pool_decline_only_own(void **state)
{
	struct dhcp_pool p;
	uint32_t a = IP("198.18.0.10"), free_ip = IP("198.18.0.11");

	(void)state;
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.13", -1), 0);
	assert_int_equal(dhcp_pool_take(&p, mac_a, a, LEASE_OFFERED,
					 NOW + 60, NOW), 0);
	assert_int_equal(dhcp_pool_decline(&p, mac_b, a, NOW), -ENOENT);
	assert_int_equal(dhcp_pool_decline(&p, mac_b, free_ip, NOW), -ENOENT);
	assert_int_equal(dhcp_pool_decline(&p, mac_b, IP("198.18.1.1"), NOW),
			 -ERANGE);
	assert_null(dhcp_pool_holder(&p, free_ip, NOW));
	assert_int_equal(dhcp_pool_decline(&p, mac_a, a, NOW), 0);
	/* parked: nobody gets it, not even when asking for it */
	assert_int_not_equal(dhcp_pool_pick(&p, mac_c, a, NOW), a);
	assert_int_equal(dhcp_pool_take(&p, mac_c, a, LEASE_BOUND, NOW + 60,
					 NOW), -EADDRINUSE);
	/* ... for DHCP_DECLINE_HOLD seconds, not a whole lease */
	assert_int_equal(dhcp_pool_pick(&p, mac_c, a,
					NOW + DHCP_DECLINE_HOLD), a);
	dhcp_pool_free(&p);
}

/* at most count / DHCP_DECLINE_SHARE parked: the next frees the oldest */
static void test_pool_decline_bounded(void **state)
{
	struct dhcp_pool p;
	uint8_t mac[6] = { 2, 0, 0, 0, 1, 0 };
	uint32_t ip[8], i, parked = 0;

	(void)state;
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.17", -1), 0);
	for (i = 0; i < 8; i++) {
		mac[5] = (uint8_t)i;
		ip[i] = dhcp_pool_pick(&p, mac, 0, NOW + i);
		assert_int_not_equal(ip[i], 0);
		assert_int_equal(dhcp_pool_take(&p, mac, ip[i], LEASE_OFFERED,
						 NOW + i + 60, NOW + i), 0);
		assert_int_equal(dhcp_pool_decline(&p, mac, ip[i], NOW + i),
				 i < 8 / DHCP_DECLINE_SHARE ? 0 : 1);
	}
	for (i = 0; i < p.count; i++) {
		const struct dhcp_lease *h =
			dhcp_pool_holder(&p, p.first + i, NOW + 8);

		parked += h && h->state == LEASE_DECLINED;
	}
	assert_int_equal(parked, 8 / DHCP_DECLINE_SHARE);
	/* the newest stays parked; a new client still gets an address */
	assert_int_equal(dhcp_pool_holder(&p, ip[7], NOW + 8)->state,
			 LEASE_DECLINED);
	assert_int_not_equal(dhcp_pool_pick(&p, mac_c, 0, NOW + 8), 0);
	dhcp_pool_free(&p);
}

static void test_pool_persist_roundtrip(void **state)
{
	char dir[] = "/tmp/test_dhcp_pool.XXXXXX";
	struct dhcp_pool p, q;
	int dirfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.20", dirfd), 0);
	assert_int_equal(dhcp_pool_take(&p, mac_a, IP("198.18.0.12"),
					 LEASE_BOUND, NOW + 3600, NOW), 0);
	assert_int_equal(dhcp_pool_take(&p, mac_b, IP("198.18.0.13"),
					 LEASE_OFFERED, NOW + 60, NOW), 0);
	assert_int_equal(dhcp_pool_take(&p, mac_c, IP("198.18.0.14"),
					 LEASE_BOUND, NOW + 10, NOW), 0);
	assert_int_equal(dhcp_pool_save(&p, NOW), 0);
	/* no temp file left behind */
	assert_int_equal(faccessat(dirfd, DHCP_LEASES_FILE ".tmp", F_OK, 0), -1);

	/* read back later: bound a survives, offer b was never saved, c
	 * has expired by then */
	assert_int_equal(dhcp_pool_init(&q, "198.18.0.10,198.18.0.20", dirfd), 0);
	assert_int_equal(dhcp_pool_load(&q, NOW + 100), 1);
	assert_memory_equal(dhcp_pool_holder(&q, IP("198.18.0.12"),
					     NOW + 100)->mac, mac_a, 6);
	assert_null(dhcp_pool_holder(&q, IP("198.18.0.13"), NOW + 100));
	assert_null(dhcp_pool_holder(&q, IP("198.18.0.14"), NOW + 100));
	assert_int_equal(dhcp_pool_pick(&q, mac_a, 0, NOW + 100),
			 IP("198.18.0.12"));
	dhcp_pool_free(&q);

	/* a smaller range drops leases outside it; junk lines are skipped */
	assert_int_equal(dhcp_pool_init(&q, "198.18.0.15,198.18.0.20", dirfd), 0);
	assert_int_equal(dhcp_pool_load(&q, NOW + 100), 0);
	dhcp_pool_free(&q);

	unlinkat(dirfd, DHCP_LEASES_FILE, 0);
	close(dirfd);
	rmdir(dir);
	dhcp_pool_free(&p);
}

static void test_pool_load_malformed(void **state)
{
	char dir[] = "/tmp/test_dhcp_pool.XXXXXX";
	struct dhcp_pool p;
	int dirfd, fd;
	static const char junk[] =
		"# comment\n"
		"garbage\n"
		"02:00:00:00:00:0a 198.18.0.11 99999999999\n"
		"zz:00:00:00:00:0b 198.18.0.12 99999999999\n"
		"02:00:00:00:00:0c 198.18.0.999 99999999999\n";

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	fd = openat(dirfd, DHCP_LEASES_FILE, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk) - 1),
			 (ssize_t)sizeof(junk) - 1);
	close(fd);
	assert_int_equal(dhcp_pool_init(&p, "198.18.0.10,198.18.0.20", dirfd), 0);
	assert_int_equal(dhcp_pool_load(&p, NOW), 1);
	dhcp_pool_free(&p);
	unlinkat(dirfd, DHCP_LEASES_FILE, 0);
	close(dirfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arch0_bios),
		cmocka_unit_test(test_arch7_and_9_efi),
		cmocka_unit_test(test_arch11_arm64),
		cmocka_unit_test(test_arch16_http_boot),
		cmocka_unit_test(test_secure_boot_shim),
		cmocka_unit_test(test_ipxe_gets_script),
		cmocka_unit_test(test_ipxe_efi_never_chains_loader),
		cmocka_unit_test(test_linkboot_user_class),
		cmocka_unit_test(test_not_pxe_no_boot),
		cmocka_unit_test(test_unknown_arch_no_boot),
		cmocka_unit_test(test_client_from_msg),
		cmocka_unit_test(test_arch_from_vendor_class),
		cmocka_unit_test(test_pool_range_parse),
		cmocka_unit_test(test_pool_no_double_assignment),
		cmocka_unit_test(test_pool_one_address_per_client),
		cmocka_unit_test(test_pool_release),
		cmocka_unit_test(test_pool_declined_not_reused),
		cmocka_unit_test(test_pool_decline_only_own),
		cmocka_unit_test(test_pool_decline_bounded),
		cmocka_unit_test(test_pool_persist_roundtrip),
		cmocka_unit_test(test_pool_load_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
