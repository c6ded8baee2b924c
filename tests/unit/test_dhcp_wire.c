/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: DHCP option parsing edges and reply building (lib/dhcp_wire). */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dhcp_wire.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A request: fixed header + cookie, then the given option bytes. */
static size_t mkreq(uint8_t *buf, size_t cap, const uint8_t *opts,
		    size_t optlen)
{
	static const uint8_t cookie[4] = { 99, 130, 83, 99 };

	assert_true(DHCP_OPTIONS_OFF + optlen <= cap);
	memset(buf, 0, cap);
	buf[0] = BOOTREQUEST;
	buf[1] = 1;
	buf[2] = 6;
	buf[4] = 0xde; buf[5] = 0xad; buf[6] = 0xbe; buf[7] = 0xef;
	memcpy(buf + 28, mac, 6);
	memcpy(buf + DHCP_FIXED_LEN, cookie, 4);
	if (optlen)
		memcpy(buf + DHCP_OPTIONS_OFF, opts, optlen);
	return DHCP_OPTIONS_OFF + optlen;
}

static struct dhcp_msg *parse_ok(const uint8_t *opts, size_t optlen)
{
	static uint8_t buf[1500];
	struct dhcp_msg *m = malloc(sizeof(*m));
	size_t n = mkreq(buf, sizeof(buf), opts, optlen);

	assert_non_null(m);
	assert_int_equal(dhcp_parse(buf, n, m), 0);
	return m;
}

static int parse_rc(const uint8_t *opts, size_t optlen)
{
	uint8_t buf[1500];
	struct dhcp_msg *m = malloc(sizeof(*m));
	size_t n = mkreq(buf, sizeof(buf), opts, optlen);
	int rc;

	assert_non_null(m);
	rc = dhcp_parse(buf, n, m);
	free(m);
	return rc;
}

static void test_parse_discover_fields(void **state)
{
	static const uint8_t o[] = { 53, 1, 1, 93, 2, 0, 7, 255 };
	struct dhcp_msg *m = parse_ok(o, sizeof(o));

	(void)state;
	assert_int_equal(m->type, DHCPDISCOVER);
	assert_int_equal(m->op, BOOTREQUEST);
	assert_int_equal(m->xid, 0xdeadbeef);
	assert_memory_equal(m->chaddr, mac, 6);
	assert_int_equal(dhcp_opt_arch(m), 7);
	free(m);
}

static void test_parse_pad_and_end(void **state)
{
	/* pads anywhere, and nothing after the end option is read */
	static const uint8_t o[] = { 0, 0, 53, 1, 3, 0, 255, 60, 3, 'a', 'b' };
	struct dhcp_msg *m = parse_ok(o, sizeof(o));

	(void)state;
	assert_int_equal(m->type, DHCPREQUEST);
	assert_null(dhcp_opt(m, 60));
	free(m);
}

static void test_parse_no_end_accepted(void **state)
{
	static const uint8_t o[] = { 53, 1, 1, 60, 3, 'P', 'X', 'E' };
	struct dhcp_msg *m = parse_ok(o, sizeof(o));

	(void)state;
	assert_true(dhcp_opt_has_prefix(m, 60, "PXE"));
	free(m);
}

static void test_parse_truncated_header(void **state)
{
	uint8_t buf[DHCP_OPTIONS_OFF];
	struct dhcp_msg m;

	(void)state;
	mkreq(buf, sizeof(buf), NULL, 0);
	assert_int_equal(dhcp_parse(buf, DHCP_OPTIONS_OFF - 1, &m),
			 EINVAL_DHCP_SHORT);
	assert_int_equal(dhcp_parse(buf, 0, &m), EINVAL_DHCP_SHORT);
}

static void test_parse_bad_cookie(void **state)
{
	uint8_t buf[300];
	struct dhcp_msg m;
	size_t n = mkreq(buf, sizeof(buf), NULL, 0);

	(void)state;
	buf[DHCP_FIXED_LEN] = 0;
	assert_int_equal(dhcp_parse(buf, n, &m), EINVAL_DHCP_COOKIE);
}

static void test_parse_overlong_option(void **state)
{
	/* option 60 claims 10 bytes, 3 are left */
	static const uint8_t o[] = { 53, 1, 1, 60, 10, 'a', 'b', 'c' };

	(void)state;
	assert_int_equal(parse_rc(o, sizeof(o)), EINVAL_DHCP_OPTLEN);
}

static void test_parse_length_byte_missing(void **state)
{
	/* a code as the very last byte, no length */
	static const uint8_t o[] = { 53, 1, 1, 60 };

	(void)state;
	assert_int_equal(parse_rc(o, sizeof(o)), EINVAL_DHCP_OPTLEN);
}

static void test_parse_duplicate_first_wins(void **state)
{
	static const uint8_t o[] = { 53, 1, 1, 93, 2, 0, 0, 93, 2, 0, 7, 255 };
	struct dhcp_msg *m = parse_ok(o, sizeof(o));

	(void)state;
	assert_int_equal(dhcp_opt_arch(m), 0);
	assert_int_equal(m->ndup, 1);
	free(m);
}

static void test_parse_bad_msg_type(void **state)
{
	static const uint8_t o1[] = { 53, 2, 1, 1, 255 };
	static const uint8_t o2[] = { 53, 1, 9, 255 };
	static const uint8_t o3[] = { 53, 0, 255 };

	(void)state;
	assert_int_equal(parse_rc(o1, sizeof(o1)), EINVAL_DHCP_TYPE);
	assert_int_equal(parse_rc(o2, sizeof(o2)), EINVAL_DHCP_TYPE);
	assert_int_equal(parse_rc(o3, sizeof(o3)), EINVAL_DHCP_TYPE);
}

static void test_parse_hlen_over_16(void **state)
{
	uint8_t buf[300];
	struct dhcp_msg m;
	size_t n = mkreq(buf, sizeof(buf), NULL, 0);

	(void)state;
	buf[2] = 17;
	assert_int_equal(dhcp_parse(buf, n, &m), EINVAL_DHCP_HLEN);
}

static void test_parse_oversized(void **state)
{
	static uint8_t buf[DHCP_MAX_REQUEST + 1];
	struct dhcp_msg m;

	(void)state;
	mkreq(buf, sizeof(buf), NULL, 0);
	assert_int_equal(dhcp_parse(buf, sizeof(buf), &m), EMSGSIZE_DHCP_BIG);
}

static void test_parse_arch_odd_length(void **state)
{
	static const uint8_t o[] = { 53, 1, 1, 93, 3, 0, 7, 0, 255 };
	struct dhcp_msg *m = parse_ok(o, sizeof(o));

	(void)state;
	assert_int_equal(dhcp_opt_arch(m), -1);
	free(m);
}

static void test_parse_overload_file_and_sname(void **state)
{
	static const uint8_t o[] = { 53, 1, 1, 52, 1, 3, 255 };
	uint8_t buf[400];
	struct dhcp_msg *m = malloc(sizeof(*m));
	size_t n = mkreq(buf, sizeof(buf), o, sizeof(o));

	(void)state;
	/* option 93 in the file field, option 60 in sname */
	memcpy(buf + DHCP_FILE_OFF, "\x5d\x02\x00\x0b\xff", 5);
	memcpy(buf + DHCP_SNAME_OFF, "\x3c\x03PXE\xff", 6);
	assert_int_equal(dhcp_parse(buf, n, m), 0);
	assert_int_equal(m->overload, 3);
	assert_int_equal(dhcp_opt_arch(m), 11);
	assert_true(dhcp_opt_has_prefix(m, 60, "PXE"));
	free(m);
}

static void test_parse_overload_bad_area(void **state)
{
	static const uint8_t o[] = { 53, 1, 1, 52, 1, 1, 255 };
	uint8_t buf[400];
	struct dhcp_msg m;
	size_t n = mkreq(buf, sizeof(buf), o, sizeof(o));

	(void)state;
	/* last option of the file field runs past its 128 bytes */
	memset(buf + DHCP_FILE_OFF, 0, DHCP_FILE_LEN);
	buf[DHCP_FILE_OFF + DHCP_FILE_LEN - 2] = 60;
	buf[DHCP_FILE_OFF + DHCP_FILE_LEN - 1] = 5;
	assert_int_equal(dhcp_parse(buf, n, &m), EINVAL_DHCP_OPTLEN);
}

static void test_opt_contains_user_class(void **state)
{
	/* RFC 3004 form (length-prefixed) and iPXE's raw string */
	static const uint8_t o[] = { 53, 1, 1, 77, 5, 4, 'i', 'P', 'X', 'E', 255 };
	struct dhcp_msg *m = parse_ok(o, sizeof(o));

	(void)state;
	assert_true(dhcp_opt_contains(m, 77, "iPXE"));
	assert_false(dhcp_opt_contains(m, 77, "linkboot"));
	assert_false(dhcp_opt_contains(m, 60, "iPXE"));
	free(m);
}

/* Build a reply and parse it back. */
static void test_build_offer_roundtrip(void **state)
{
	static const uint8_t o[] = { 53, 1, 1, 255 };
	uint8_t buf[DHCP_MAX_REPLY];
	struct dhcp_msg *req = parse_ok(o, sizeof(o));
	struct dhcp_msg *rep = malloc(sizeof(*rep));
	struct dhcp_builder b;
	int n;

	(void)state;
	req->flags = DHCP_FLAG_BROADCAST;
	dhcp_reply_init(&b, buf, sizeof(buf), req, DHCPOFFER);
	dhcp_set_yiaddr(&b, inet_addr("198.18.0.100"));
	dhcp_set_siaddr(&b, inet_addr("198.18.0.1"));
	assert_int_equal(dhcp_set_file(&b, "undionly.kpxe"), 0);
	dhcp_add_opt_addr(&b, DHCP_OPT_SERVER_ID, inet_addr("198.18.0.1"));
	dhcp_add_opt_u32(&b, DHCP_OPT_LEASE_TIME, 3600);
	dhcp_add_opt_str(&b, DHCP_OPT_VENDOR_CLASS, "PXEClient");
	n = dhcp_build_end(&b);
	assert_int_equal(n, DHCP_MIN_LEN);	/* padded for BOOTP relays */
	assert_int_equal(dhcp_parse(buf, (size_t)n, rep), 0);
	assert_int_equal(rep->op, BOOTREPLY);
	assert_int_equal(rep->type, DHCPOFFER);
	assert_int_equal(rep->xid, 0xdeadbeef);
	assert_int_equal(rep->flags, DHCP_FLAG_BROADCAST);
	assert_memory_equal(rep->chaddr, mac, 6);
	assert_int_equal(rep->yiaddr, inet_addr("198.18.0.100"));
	assert_int_equal(rep->siaddr, inet_addr("198.18.0.1"));
	assert_string_equal((const char *)buf + DHCP_FILE_OFF, "undionly.kpxe");
	assert_int_equal(dhcp_opt_addr(rep, DHCP_OPT_SERVER_ID),
			 inet_addr("198.18.0.1"));
	assert_memory_equal(dhcp_opt(rep, DHCP_OPT_LEASE_TIME)->data,
			    "\x00\x00\x0e\x10", 4);
	assert_true(dhcp_opt_has_prefix(rep, 60, "PXEClient"));
	free(req);
	free(rep);
}

static void test_build_ack_keeps_giaddr(void **state)
{
	static const uint8_t o[] = { 53, 1, 3, 255 };
	uint8_t buf[DHCP_MAX_REPLY];
	struct dhcp_msg *req = parse_ok(o, sizeof(o));
	struct dhcp_msg *rep = malloc(sizeof(*rep));
	struct dhcp_builder b;
	int n;

	(void)state;
	req->giaddr = inet_addr("198.18.0.254");
	dhcp_reply_init(&b, buf, sizeof(buf), req, DHCPACK);
	n = dhcp_build_end(&b);
	assert_true(n > 0);
	assert_int_equal(dhcp_parse(buf, (size_t)n, rep), 0);
	assert_int_equal(rep->type, DHCPACK);
	assert_int_equal(rep->giaddr, inet_addr("198.18.0.254"));
	free(req);
	free(rep);
}

static void test_build_overflow_is_sticky(void **state)
{
	uint8_t buf[DHCP_MIN_LEN];
	uint8_t big[200] = { 0 };
	struct dhcp_builder b;

	(void)state;
	dhcp_build_init(&b, buf, sizeof(buf), BOOTREPLY, 1, mac, 6, DHCPACK);
	/* 243 bytes used + 202 > 300: does not fit */
	dhcp_add_opt(&b, 43, big, sizeof(big));
	assert_int_equal(b.err, ENOSPC_DHCP_REPLY);
	/* a small one that would fit does not clear the error */
	dhcp_add_opt(&b, 60, "PXEClient", 9);
	assert_int_equal(dhcp_build_end(&b), ENOSPC_DHCP_REPLY);
}

static void test_build_file_too_long(void **state)
{
	uint8_t buf[DHCP_MAX_REPLY];
	char name[200];
	struct dhcp_builder b;

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	dhcp_build_init(&b, buf, sizeof(buf), BOOTREPLY, 1, mac, 6, DHCPACK);
	assert_int_equal(dhcp_set_file(&b, name), -ENAMETOOLONG);
	assert_int_equal(buf[DHCP_FILE_OFF], 0);
	assert_true(dhcp_build_end(&b) > 0);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(dhcp_type_name(DHCPDISCOVER), "DISCOVER");
	assert_string_equal(dhcp_type_name(DHCPINFORM), "INFORM");
	assert_string_equal(dhcp_type_name(42), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_discover_fields),
		cmocka_unit_test(test_parse_pad_and_end),
		cmocka_unit_test(test_parse_no_end_accepted),
		cmocka_unit_test(test_parse_truncated_header),
		cmocka_unit_test(test_parse_bad_cookie),
		cmocka_unit_test(test_parse_overlong_option),
		cmocka_unit_test(test_parse_length_byte_missing),
		cmocka_unit_test(test_parse_duplicate_first_wins),
		cmocka_unit_test(test_parse_bad_msg_type),
		cmocka_unit_test(test_parse_hlen_over_16),
		cmocka_unit_test(test_parse_oversized),
		cmocka_unit_test(test_parse_arch_odd_length),
		cmocka_unit_test(test_parse_overload_file_and_sname),
		cmocka_unit_test(test_parse_overload_bad_area),
		cmocka_unit_test(test_opt_contains_user_class),
		cmocka_unit_test(test_build_offer_roundtrip),
		cmocka_unit_test(test_build_ack_keeps_giaddr),
		cmocka_unit_test(test_build_overflow_is_sticky),
		cmocka_unit_test(test_build_file_too_long),
		cmocka_unit_test(test_type_names),
	};

	dhcp_wire_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
