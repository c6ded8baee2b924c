/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: server-stub/net/boot_auth.c, reading the neighbour table. */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot_auth.h"

/* what net/ipv4/arp.c prints (columns padded with spaces) */
static const char table[] =
	"IP address       HW type     Flags       HW address            Mask     Device\n"
	"198.18.0.5       0x1         0x2         52:54:00:12:34:56     *        tap0\n"
	"198.18.0.6       0x1         0x0         00:00:00:00:00:00     *        tap0\n"
	"198.18.0.50      0x1         0x6         52:54:00:aa:bb:cc     *        tap0\n";

static int find(const char *ip, uint8_t mac[6])
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
	return arp_table_find(table, a, mac);
}

static void test_arp_complete_entry(void **state)
{
	static const uint8_t want[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	uint8_t mac[6];

	(void)state;
	assert_int_equal(find("198.18.0.5", mac), 0);
	assert_memory_equal(mac, want, 6);
	/* 198.18.0.5 is not a prefix match of 198.18.0.50 or the reverse */
	assert_int_equal(find("198.18.0.50", mac), 0);
	assert_int_equal(mac[3], 0xaa);
}

static void test_arp_incomplete_or_absent(void **state)
{
	uint8_t mac[6];

	(void)state;
	/* an incomplete entry (no ATF_COM) says nothing about who it is */
	assert_int_equal(find("198.18.0.6", mac), -ENOENT);
	assert_int_equal(find("198.18.0.7", mac), -ENOENT);
	assert_int_equal(find("127.0.0.1", mac), -ENOENT);
}

static void test_arp_header_only_and_garbage(void **state)
{
	struct in_addr a = { .s_addr = htonl(0xc6120005) };
	uint8_t mac[6];

	(void)state;
	assert_int_equal(arp_table_find("IP address HW type\n", a, mac), -ENOENT);
	assert_int_equal(arp_table_find("", a, mac), -ENOENT);
	assert_int_equal(arp_table_find("x\n198.18.0.5 0x1 0x2 zz:54\n", a,
					mac), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_complete_entry),
		cmocka_unit_test(test_arp_incomplete_or_absent),
		cmocka_unit_test(test_arp_header_only_and_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
