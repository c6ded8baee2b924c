/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: CLI tables and JSON output (server-stub/cli/table.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "table.h"

static const struct table_col cols[] = {
	{ "MAC", "mac" }, { "SIZE", "size_bytes" }, { "ONLINE", "online" },
};

/* Render into a string the caller frees. */
static char *render(const struct table *t, int format, int legend)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	table_print(t, f, format, legend);
	fclose(f);
	return buf;
}

static struct table *sample(void)
{
	struct table *t = table_new(cols, 3);

	assert_non_null(t);
	assert_int_equal(table_row(t), 0);
	assert_int_equal(table_str(t, "52:54:00:12:34:56"), 0);
	assert_int_equal(table_bytes(t, 1572864), 0);
	assert_int_equal(table_bool(t, 1), 0);
	assert_int_equal(table_row(t), 0);
	assert_int_equal(table_str(t, "a\"b\\c\n\x01"), 0);
	assert_int_equal(table_null(t), 0);
	/* third cell left out: padded with null */
	return t;
}

static void test_json_short(void **state)
{
	struct table *t = sample();
	char *s = render(t, TABLE_JSON_SHORT, 1);

	(void)state;
	assert_string_equal(s,
		"[{\"mac\":\"52:54:00:12:34:56\",\"size_bytes\":1572864,"
		"\"online\":true},{\"mac\":\"a\\\"b\\\\c\\n\\u0001\","
		"\"size_bytes\":null,\"online\":null}]\n");
	free(s);
	table_free(t);
}

static void test_text_aligned_with_legend(void **state)
{
	struct table *t = sample();
	char *s = render(t, TABLE_TEXT, 1);

	(void)state;
	assert_non_null(strstr(s, "MAC               SIZE ONLINE\n"));
	assert_non_null(strstr(s, "52:54:00:12:34:56 1.5M yes\n"));
	assert_non_null(strstr(s, "\n2 entries listed.\n"));
	free(s);
	s = render(t, TABLE_TEXT, 0);
	assert_null(strstr(s, "MAC"));
	assert_null(strstr(s, "listed"));
	free(s);
	table_free(t);
}

/* A line ends at its last non-empty cell; a yes/no with its own text. */
static void test_text_no_trailing_blanks(void **state)
{
	static const struct table_col c2[] = {
		{ "FILE", "missing" }, { "", "production" },
	};
	struct table *t = table_new(c2, 2);
	char *s;

	(void)state;
	assert_int_equal(table_row(t), 0);
	assert_int_equal(table_bool_text(t, 1, "MISSING"), 0);
	assert_int_equal(table_bool_text(t, 0, ""), 0);
	assert_int_equal(table_row(t), 0);
	assert_int_equal(table_bool_text(t, 0, "ok"), 0);
	assert_int_equal(table_bool_text(t, 1, "(production)"), 0);
	s = render(t, TABLE_TEXT, 1);
	assert_string_equal(s, "FILE\nMISSING\nok      (production)\n"
			    "\n2 entries listed.\n");
	free(s);
	s = render(t, TABLE_JSON_SHORT, 1);
	assert_string_equal(s, "[{\"missing\":true,\"production\":false},"
			    "{\"missing\":false,\"production\":true}]\n");
	free(s);
	table_free(t);
}

static void test_empty_json_array(void **state)
{
	struct table *t = table_new(cols, 3);
	char *s = render(t, TABLE_JSON_PRETTY, 1);

	(void)state;
	assert_string_equal(s, "[]\n");
	free(s);
	table_free(t);
}

static void test_too_many_cells(void **state)
{
	struct table *t = table_new(cols, 1);

	(void)state;
	assert_int_equal(table_row(t), 0);
	assert_int_equal(table_str(t, "x"), 0);
	assert_int_equal(table_str(t, "y"), -EINVAL);
	table_free(t);
}

static void test_format_option(void **state)
{
	int fmt = -1;

	(void)state;
	/* -j: pretty for a person at a terminal, one line for a pipe */
	assert_int_equal(table_parse_format_opt("-j", &fmt), 1);
	assert_int_equal(fmt, isatty(STDOUT_FILENO) ? TABLE_JSON_PRETTY :
			 TABLE_JSON_SHORT);
	assert_int_equal(table_parse_format_opt("--json", &fmt), 1);
	assert_int_equal(fmt, TABLE_JSON_PRETTY);
	assert_int_equal(table_parse_format_opt("--json=short", &fmt), 1);
	assert_int_equal(fmt, TABLE_JSON_SHORT);
	assert_int_equal(table_parse_format_opt("--json=off", &fmt), 1);
	assert_int_equal(fmt, TABLE_TEXT);
	assert_int_equal(table_parse_format_opt("--jsonx", &fmt), 0);
	assert_int_equal(table_parse_format_opt("--image", &fmt), 0);
	assert_int_equal(table_parse_format_opt("--json=yaml", &fmt), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_short),
		cmocka_unit_test(test_text_aligned_with_legend),
		cmocka_unit_test(test_text_no_trailing_blanks),
		cmocka_unit_test(test_empty_json_array),
		cmocka_unit_test(test_too_many_cells),
		cmocka_unit_test(test_format_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
