/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: lib/http_wire.c (request heads, ranges, percent-decoding). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_wire.h"

static int parse(const char *s, struct http_request *req)
{
	return http_parse_request(s, strlen(s), req);
}

static int parse_status(const char *s)
{
	struct http_request req;
	int rc = parse(s, &req);

	return rc == 1 ? 200 : rc == 0 ? 0 : http_status(rc);
}

static void test_simple_get(void **state)
{
	const char *s = "GET /a/b.bin?x=1 HTTP/1.1\r\nHost: h\r\n\r\nNEXT";
	struct http_request req;

	(void)state;
	assert_int_equal(parse(s, &req), 1);
	assert_int_equal(req.method, HTTP_GET);
	assert_int_equal(req.path_len, 8);
	assert_memory_equal(req.path, "/a/b.bin", 8);
	assert_int_equal(req.query_len, 3);
	assert_memory_equal(req.query, "x=1", 3);
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.keep_alive, 1);
	assert_int_equal(req.content_length, -1);
	assert_int_equal(req.head_len, strlen(s) - 4);	/* pipelined "NEXT" */
}

/* RFC 6750 §2.1 bearer tokens; another scheme is not one */
static void test_authorization_bearer(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST /report HTTP/1.1\r\nHost: h\r\n"
			       "authorization: bearer  c1-abc\r\n\r\n", &req), 1);
	assert_int_equal(req.bearer_len, 6);
	assert_memory_equal(req.bearer, "c1-abc", 6);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
			       "Authorization: Basic dTpw\r\n\r\n", &req), 1);
	assert_null(req.bearer);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
			       "Authorization: Bearer\r\n\r\n", &req), 1);
	assert_null(req.bearer);
}

static void test_bare_lf_accepted(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("HEAD / HTTP/1.1\nHost: h\n\n", &req), 1);
	assert_int_equal(req.method, HTTP_HEAD);
}

static void test_leading_empty_line_skipped(void **state)
{
	(void)state;
	assert_int_equal(parse_status("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
}

static void test_incomplete_needs_more(void **state)
{
	(void)state;
	assert_int_equal(parse_status(""), 0);
	assert_int_equal(parse_status("GET / HT"), 0);
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: h\r\n"), 0);
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: h\r\n\r"), 0);
}

static void test_bare_cr_rejected(void **state)
{
	(void)state;
	assert_int_equal(parse_status("GET / HTTP/1.1\rHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n"), 400);
}

static void test_folding_rejected(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  2\r\n\r\n",
			       &req), EINVAL_HTTP_FOLD);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n",
			       &req), EINVAL_HTTP_FOLD);
}

static void test_field_syntax(void **state)
{
	(void)state;
	/* RFC 9112 §5.1: space before the colon */
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01" "b\r\n\r\n"), 400);
}

static void test_request_line_errors(void **state)
{
	(void)state;
	assert_int_equal(parse_status("GET /\r\n\r\n"), 400);	/* HTTP/0.9 */
	assert_int_equal(parse_status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET a HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET /a#f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void test_nul_in_request_line(void **state)
{
	static const char s[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_request req;

	(void)state;
	assert_true(http_parse_request(s, sizeof(s) - 1, &req) < 0);
}

static void test_versions(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse_status("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
	assert_int_equal(parse_status("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
	assert_int_equal(parse_status("GET / HTTP/1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), 400);
	/* RFC 9110 §2.5: 1.2 is answered as 1.1 */
	assert_int_equal(parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n", &req), 1);
	assert_int_equal(req.minor, 1);
}

static void test_host_required_for_1_1(void **state)
{
	(void)state;
	assert_int_equal(parse_status("GET / HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET / HTTP/1.0\r\n\r\n"), 200);
}

static void test_keep_alive_rules(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req), 1);
	assert_int_equal(req.keep_alive, 0);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req), 1);
	assert_int_equal(req.keep_alive, 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", &req), 1);
	assert_int_equal(req.keep_alive, 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", &req), 1);
	assert_int_equal(req.keep_alive, 1);
}

static void test_absolute_form(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET http://example/x/y?q HTTP/1.1\r\nHost: h\r\n\r\n", &req), 1);
	assert_int_equal(req.path_len, 4);
	assert_memory_equal(req.path, "/x/y", 4);
	assert_int_equal(req.query_len, 1);
	assert_int_equal(parse("GET HTTP://example HTTP/1.1\r\nHost: h\r\n\r\n", &req), 1);
	assert_int_equal(req.path_len, 1);
	assert_int_equal(parse("GET http://example?mac=1 HTTP/1.1\r\nHost: h\r\n\r\n", &req), 1);
	assert_int_equal(req.query_len, 5);
	assert_int_equal(parse_status("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_status("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void test_asterisk_form(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &req), 1);
	assert_int_equal(req.method, HTTP_OTHER);
	assert_int_equal(parse_status("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void test_methods(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("POST /report HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", &req), 1);
	assert_int_equal(req.method, HTTP_POST);
	assert_int_equal(req.content_length, 5);
	assert_int_equal(parse("DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", &req), 1);
	assert_int_equal(req.method, HTTP_OTHER);
	assert_string_equal(req.method_name, "DELETE");
	/* RFC 9110 §9.1: case-sensitive */
	assert_int_equal(parse("get / HTTP/1.1\r\nHost: h\r\n\r\n", &req), 1);
	assert_int_equal(req.method, HTTP_OTHER);
	assert_int_equal(parse_status("AVERYVERYLONGMETHOD / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void test_content_length(void **state)
{
	(void)state;
	assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
	assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n"), 400);
	assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
	assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"), 200);
	assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999\r\n\r\n"), 400);
	assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), 501);
}

static void test_header_too_large(void **state)
{
	size_t n = HTTP_HEADER_MAX + 100;
	char *s = malloc(n + 1);
	struct http_request req;
	int hl;

	(void)state;
	assert_non_null(s);
	hl = snprintf(s, n, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	memset(s + hl, 'a', n - (size_t)hl);
	s[n] = '\0';
	/* no end in sight: 431 once the bound is reached */
	assert_int_equal(http_parse_request(s, n, &req), E2BIG_HTTP_HEADERS);
	memcpy(s + n - 4, "\r\n\r\n", 4);
	assert_int_equal(http_parse_request(s, n, &req), E2BIG_HTTP_HEADERS);
	assert_int_equal(http_status(E2BIG_HTTP_HEADERS), 431);
	free(s);
}

static void test_too_many_fields(void **state)
{
	char s[4096];
	size_t o;
	int i;

	(void)state;
	o = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 0; i < HTTP_HEADERS_MAX + 1; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "X: %d\r\n", i);
	snprintf(s + o, sizeof(s) - o, "\r\n");
	assert_int_equal(parse_status(s), 431);
}

static void test_uri_too_long(void **state)
{
	size_t n = HTTP_URI_MAX + 64;
	char *s = malloc(n + 64);
	struct http_request req;

	(void)state;
	assert_non_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', n);
	/* not even complete: still 414, we know it is too long */
	assert_int_equal(http_parse_request(s, n, &req), ENAMETOOLONG_HTTP_URI);
	memcpy(s + n, " HTTP/1.1\r\nHost: h\r\n\r\n", 22);
	assert_int_equal(http_parse_request(s, n + 22, &req), ENAMETOOLONG_HTTP_URI);
	assert_int_equal(http_status(ENAMETOOLONG_HTTP_URI), 414);
	free(s);
}

static void test_percent_decode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(http_percent_decode("/a%20b", 6, out, sizeof(out)), 4);
	assert_string_equal(out, "/a b");
	assert_int_equal(http_percent_decode("/%2e%2E/x", 9, out, sizeof(out)), 5);
	assert_string_equal(out, "/../x");	/* path_sanitize refuses it */
	assert_int_equal(http_percent_decode("/a+b", 4, out, sizeof(out)), 4);
	assert_string_equal(out, "/a+b");
	assert_int_equal(http_percent_decode("/a%00b", 6, out, sizeof(out)), EINVAL_HTTP_NUL);
	assert_int_equal(http_percent_decode("/a%", 3, out, sizeof(out)), EINVAL_HTTP_PERCENT);
	assert_int_equal(http_percent_decode("/a%4", 4, out, sizeof(out)), EINVAL_HTTP_PERCENT);
	assert_int_equal(http_percent_decode("/a%zz", 5, out, sizeof(out)), EINVAL_HTTP_PERCENT);
	assert_int_equal(http_percent_decode("/abcdef", 7, out, 4), -ENAMETOOLONG);
	assert_int_equal(http_status(EINVAL_HTTP_NUL), 400);
}

static void test_query_get(void **state)
{
	const char *q = "a=1&mac=52%3A54:00:12:34:56&b=";
	char out[32];

	(void)state;
	assert_int_equal(http_query_get(q, strlen(q), "mac", out, sizeof(out)), 0);
	assert_string_equal(out, "52:54:00:12:34:56");
	assert_int_equal(http_query_get(q, strlen(q), "b", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_query_get(q, strlen(q), "ma", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_get(NULL, 0, "mac", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_get("mac=%00", 7, "mac", out, sizeof(out)), EINVAL_HTTP_NUL);
}

static void assert_range(const char *v, uint64_t size, int want_rc,
			 uint64_t want_first, uint64_t want_last)
{
	uint64_t first = 77, last = 77;

	assert_int_equal(http_parse_range(v, strlen(v), size, &first, &last),
			 want_rc);
	if (want_rc == 0) {
		assert_int_equal(first, want_first);
		assert_int_equal(last, want_last);
	}
}

static void test_range_forms(void **state)
{
	(void)state;
	assert_range("bytes=0-499", 1000, 0, 0, 499);
	assert_range("bytes=500-", 1000, 0, 500, 999);
	assert_range("bytes=-100", 1000, 0, 900, 999);
	assert_range("BYTES=1-1", 1000, 0, 1, 1);
	assert_range("bytes= 1-2 ", 1000, 0, 1, 2);
}

static void test_range_clamped(void **state)
{
	(void)state;
	assert_range("bytes=900-5000", 1000, 0, 900, 999);
	assert_range("bytes=-5000", 1000, 0, 0, 999);
	assert_range("bytes=0-99999999999999999999999", 1000, 0, 0, 999);
}

static void test_range_unsatisfiable(void **state)
{
	(void)state;
	assert_range("bytes=1000-", 1000, -ERANGE, 0, 0);
	assert_range("bytes=1000-2000", 1000, -ERANGE, 0, 0);
	assert_range("bytes=-0", 1000, -ERANGE, 0, 0);
	assert_range("bytes=0-", 0, -ERANGE, 0, 0);
	assert_range("bytes=-1", 0, -ERANGE, 0, 0);
	assert_range("bytes=99999999999999999999999-", 1000, -ERANGE, 0, 0);
	assert_int_equal(http_status(-ERANGE), 416);
}

static void test_range_invalid_ignored(void **state)
{
	(void)state;
	assert_range("bytes=5-1", 1000, -EINVAL, 0, 0);
	assert_range("bytes=-", 1000, -EINVAL, 0, 0);
	assert_range("bytes=", 1000, -EINVAL, 0, 0);
	assert_range("bytes=a-b", 1000, -EINVAL, 0, 0);
	assert_range("bytes=1-2x", 1000, -EINVAL, 0, 0);
	assert_range("items=0-1", 1000, -EINVAL, 0, 0);
	assert_range("bytes 0-1", 1000, -EINVAL, 0, 0);
}

static void test_range_multi_not_supported(void **state)
{
	(void)state;
	assert_range("bytes=0-1,5-6", 1000, -ENOTSUP, 0, 0);
	assert_range("bytes=0-1, 5-", 1000, -ENOTSUP, 0, 0);
}

static void test_content_type(void **state)
{
	(void)state;
	assert_string_equal(http_content_type("/boot/x.ipxe"), "text/plain; charset=utf-8");
	assert_string_equal(http_content_type("/undionly.kpxe"), "application/octet-stream");
	assert_string_equal(http_content_type("/a.d/vmlinuz"), "application/octet-stream");
	assert_string_equal(http_content_type("/x."), "application/octet-stream");
	assert_string_equal(http_content_type("/X.JSON"), "application/json");
}

static void test_format_head(void **state)
{
	struct http_response r = {
		.status = 206, .content_type = "application/octet-stream",
		.content_length = 10, .has_range = 1, .range_first = 5,
		.range_last = 14, .range_size = 100, .keep_alive = 1,
	};
	char out[512], tiny[16];

	(void)state;
	assert_true(http_format_head(out, sizeof(out), &r) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 206 Partial Content\r\n"));
	assert_non_null(strstr(out, "Content-Length: 10\r\n"));
	assert_non_null(strstr(out, "Content-Range: bytes 5-14/100\r\n"));
	assert_non_null(strstr(out, "Connection: keep-alive\r\n\r\n"));
	r = (struct http_response){ .status = 416, .range_size = 100 };
	assert_true(http_format_head(out, sizeof(out), &r) > 0);
	assert_non_null(strstr(out, "Content-Range: bytes */100\r\n"));
	assert_non_null(strstr(out, "Connection: close\r\n"));
	r = (struct http_response){ .status = 405, .allow = "GET, HEAD" };
	assert_true(http_format_head(out, sizeof(out), &r) > 0);
	assert_non_null(strstr(out, "Allow: GET, HEAD\r\n"));
	assert_int_equal(http_format_head(tiny, sizeof(tiny), &r), -ENOSPC);
}

static void test_err_str(void **state)
{
	(void)state;
	http_err_register();
	assert_non_null(strstr(err_str(EINVAL_HTTP_FOLD), "folded"));
	assert_non_null(strstr(err_str(EINVAL_HTTP_FOLD), "[http."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_bare_lf_accepted),
		cmocka_unit_test(test_leading_empty_line_skipped),
		cmocka_unit_test(test_incomplete_needs_more),
		cmocka_unit_test(test_bare_cr_rejected),
		cmocka_unit_test(test_folding_rejected),
		cmocka_unit_test(test_field_syntax),
		cmocka_unit_test(test_request_line_errors),
		cmocka_unit_test(test_nul_in_request_line),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_host_required_for_1_1),
		cmocka_unit_test(test_keep_alive_rules),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_asterisk_form),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_authorization_bearer),
		cmocka_unit_test(test_header_too_large),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_uri_too_long),
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_query_get),
		cmocka_unit_test(test_range_forms),
		cmocka_unit_test(test_range_clamped),
		cmocka_unit_test(test_range_unsatisfiable),
		cmocka_unit_test(test_range_invalid_ignored),
		cmocka_unit_test(test_range_multi_not_supported),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_format_head),
		cmocka_unit_test(test_err_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
