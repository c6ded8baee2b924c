/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: MAC parsing, integer parsing, log escaping and rate limits,
 * error strings. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"

static void assert_mac(const char *in, const char *want)
{
	uint8_t mac[6];
	char out[18];

	assert_int_equal(mac_parse(in, mac), 0);
	mac_format(mac, out);
	assert_string_equal(out, want);
}

static void test_mac_spellings(void **state)
{
	(void)state;
	assert_mac("52:54:00:12:34:56", "52:54:00:12:34:56");
	assert_mac("52-54-00-12-34-56", "52:54:00:12:34:56");
	assert_mac("5254.0012.3456", "52:54:00:12:34:56");
	assert_mac("525400123456", "52:54:00:12:34:56");
	assert_mac("52:54:00:AB:cD:Ef", "52:54:00:ab:cd:ef");
	assert_mac("2:4:0:a:b:c", "02:04:00:0a:0b:0c");
}

static void test_mac_rejects(void **state)
{
	static const char *const bad[] = {
		"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52:54:00:12:34:5g",
		"52:54-00:12:34:56", ":52:54:00:12:34:56", "52::54:00:12:34:56",
		"52:54:00:12:34:56:", "5254.0012.345", "52540012345", "525:400:123:456",
		"52 54 00 12 34 56",
	};
	uint8_t mac[6];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (mac_parse(bad[i], mac) == 0)
			fail_msg("accepted bad MAC '%s'", bad[i]);
	}
	assert_int_equal(mac_parse(NULL, mac), -EINVAL);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_u64("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v),
			 -ERANGE);
}

static void test_log_escape(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(log_escape(out, sizeof(out), "a\nb\\", 4),
			    "a\\x0ab\\x5c");
	/* truncation never splits an escape and always terminates */
	assert_string_equal(log_escape(out, 6, "ab\x01", 3), "ab");
}

/* a peer-triggered warning: the first line, then one per LOG_LIMIT_MS with
 * the count of those held back */
static void test_log_limit(void **state)
{
	struct log_limit ll = { 0 };
	int64_t t = 5000;
	int i;

	(void)state;
	assert_int_equal(log_limit(&ll, t), 1);
	for (i = 0; i < 1000; i++)
		assert_int_equal(log_limit(&ll, t + i), 0);
	assert_int_equal(log_limit(&ll, t + LOG_LIMIT_MS - 1), 0);
	assert_int_equal(log_limit(&ll, t + LOG_LIMIT_MS), 1002);
	assert_int_equal(log_limit(&ll, t + LOG_LIMIT_MS + 1), 0);
	assert_int_equal(log_limit(&ll, t + 5 * LOG_LIMIT_MS), 2);
}

#define EINVAL_TEST_CAUSE ERR(EINVAL, MOD_TFTP, 0x01)

static void test_err_str(void **state)
{
	static const struct err_desc descs[] = {
		{ EINVAL_TEST_CAUSE, "invalid blksize" },
	};

	(void)state;
	err_register(MOD_TFTP, "tftp", descs, 1);
	assert_int_equal(err_errno(EINVAL_TEST_CAUSE), EINVAL);
	assert_string_equal(err_str(EINVAL_TEST_CAUSE),
			    "invalid blksize [tftp.01]");
	assert_string_equal(err_str(-ENOENT), strerror(ENOENT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_spellings),
		cmocka_unit_test(test_mac_rejects),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_limit),
		cmocka_unit_test(test_err_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
