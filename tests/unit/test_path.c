/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: path confinement shared by TFTP and HTTP (lib/path.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lb_path.h"
#include "lb_util.h"

static int sanitize(const char *in, char *out, size_t outsz)
{
	return path_sanitize(in, strlen(in), out, outsz);
}

static void test_path_normalises(void **state)
{
	static const char *const cases[][2] = {
		{ "pxelinux.0", "pxelinux.0" },
		{ "/pxelinux.0", "pxelinux.0" },
		{ "//a///b/", "a/b" },
		{ "./a/./b", "a/b" },
		{ "\\boot\\bcd", "boot/bcd" },
		{ "a/..b/c..", "a/..b/c.." },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(sanitize(cases[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
}

static void test_path_traversal_denied(void **state)
{
	static const char *const bad[] = {
		"..", "../etc/passwd", "/../etc/passwd", "a/../../b", "a/..",
		"..\\windows", "a\\..\\b", "a/\x01b", "a\x7f",
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(sanitize(bad[i], out, sizeof(out)), -EACCES);
}

static void test_path_embedded_nul_denied(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(path_sanitize("a\0b", 3, out, sizeof(out)), -EACCES);
}

static void test_path_empty_and_long(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(sanitize("", out, sizeof(out)), -ENOENT);
	assert_int_equal(sanitize("/./", out, sizeof(out)), -ENOENT);
	assert_int_equal(sanitize("abcdefgh", out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(sanitize("abcdefg", out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_normalises),
		cmocka_unit_test(test_path_traversal_denied),
		cmocka_unit_test(test_path_embedded_nul_denied),
		cmocka_unit_test(test_path_empty_and_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
