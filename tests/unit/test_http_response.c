/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: HTTP response heads, client side (lib/http_wire.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http_wire.h"

static int parse(const char *s, int *status, uint64_t *clen)
{
	return http_parse_response_head(s, strlen(s), status, clen);
}

static void test_ok_with_length(void **state)
{
	const char *r = "HTTP/1.1 200 OK\r\nContent-Type: x\r\n"
			"content-length:  1234 \r\n\r\nBODY";
	uint64_t clen;
	int st;

	(void)state;
	assert_int_equal(parse(r, &st, &clen), (int)strlen(r) - 4);
	assert_int_equal(st, 200);
	assert_int_equal(clen, 1234);
}

static void test_partial_and_no_reason(void **state)
{
	uint64_t clen;
	int st;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 206 Partial Content\r\nContent-Le",
			       &st, &clen), 0);
	assert_int_equal(parse("HTTP/1.0 404\r\nContent-Length: 0\r\n\r\n",
			       &st, &clen), 35);
	assert_int_equal(st, 404);
	assert_int_equal(clen, 0);
}

static void test_no_length(void **state)
{
	uint64_t clen;
	int st;

	(void)state;
	assert_true(parse("HTTP/1.1 200 OK\r\n\r\n", &st, &clen) > 0);
	assert_int_equal(clen, UINT64_MAX);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 600 X\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	};
	uint64_t clen;
	int st;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &st, &clen), -EPROTO);
}

static void test_head_too_long(void **state)
{
	static char big[HTTP_RESPONSE_HEAD_MAX + 100];
	uint64_t clen;
	int st;

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	assert_int_equal(http_parse_response_head(big, sizeof(big), &st, &clen),
			 -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_with_length),
		cmocka_unit_test(test_partial_and_no_reason),
		cmocka_unit_test(test_no_length),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_head_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
