/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_HTTP_WIRE_H
#define LB_HTTP_WIRE_H

/*
 * HTTP/1.1 wire format (RFC 9110 semantics, RFC 9112 message syntax): pure
 * parse/build code, no sockets, no clock. Used by server-stub/net/http.c, the
 * agent's report sender, the unit tests and lib/fuzz_http.c.
 */

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"

#define HTTP_HEADER_MAX	8192	/* request line + header fields, bytes */
#define HTTP_URI_MAX	2048	/* request-target, bytes */
#define HTTP_METHOD_MAX	16
#define HTTP_HEADERS_MAX 64	/* header field lines */

/* Causes a request is refused for; http_status() maps each to a status. */
#define EINVAL_HTTP_REQLINE	ERR(EINVAL, MOD_HTTP, 0x01)
#define EINVAL_HTTP_METHOD	ERR(EINVAL, MOD_HTTP, 0x02)
#define EINVAL_HTTP_TARGET	ERR(EINVAL, MOD_HTTP, 0x03)
#define EINVAL_HTTP_VERSION	ERR(EINVAL, MOD_HTTP, 0x04)
#define EINVAL_HTTP_FIELD	ERR(EINVAL, MOD_HTTP, 0x05)
#define EINVAL_HTTP_FOLD	ERR(EINVAL, MOD_HTTP, 0x06)
#define EINVAL_HTTP_CRLF	ERR(EINVAL, MOD_HTTP, 0x07)
#define EINVAL_HTTP_HOST	ERR(EINVAL, MOD_HTTP, 0x08)
#define EINVAL_HTTP_LENGTH	ERR(EINVAL, MOD_HTTP, 0x09)
#define EINVAL_HTTP_PERCENT	ERR(EINVAL, MOD_HTTP, 0x0a)
#define EINVAL_HTTP_NUL		ERR(EINVAL, MOD_HTTP, 0x0b)
#define ENOTSUP_HTTP_VERSION	ERR(ENOTSUP, MOD_HTTP, 0x0c)
#define ENOTSUP_HTTP_TE		ERR(ENOTSUP, MOD_HTTP, 0x0d)
#define E2BIG_HTTP_HEADERS	ERR(E2BIG, MOD_HTTP, 0x0e)
#define ENAMETOOLONG_HTTP_URI	ERR(ENAMETOOLONG, MOD_HTTP, 0x0f)
#define E2BIG_HTTP_FIELDS	ERR(E2BIG, MOD_HTTP, 0x10)

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_OTHER,	/* a valid token we do not implement: 405 */
};

/*
 * A parsed request head. The const char * fields point into the buffer
 * given to http_parse_request() and are valid as long as it is.
 */
struct http_request {
	enum http_method method;
	char method_name[HTTP_METHOD_MAX + 1];
	const char *path;	/* origin-form path, still percent-encoded */
	size_t path_len;
	const char *query;	/* after '?', or NULL */
	size_t query_len;
	int minor;		/* HTTP/1.<minor>: 0 or 1 */
	int keep_alive;		/* RFC 9112 §9.3: 1.1 default, 1.0 opt-in */
	const char *range;	/* Range field value, or NULL */
	size_t range_len;
	int if_range;		/* If-Range present: send the whole file */
	const char *bearer;	/* Authorization: Bearer <this>, or NULL */
	size_t bearer_len;
	int expect_continue;	/* Expect: 100-continue */
	int64_t content_length;	/* -1 = no body */
	size_t head_len;	/* bytes of request line + fields + blank line */
	unsigned nfields;
};

/*
 * Parse one request head from buf[0..len). Returns 1 with *req filled,
 * 0 when more bytes are needed, or a negative rc (see http_status()).
 * A single LF is accepted as a line end (RFC 9112 §2.2); a bare CR is not.
 */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/* RFC 9110 §15: the status a parse/serve rc is answered with. */
int http_status(int rc);
const char *http_reason(int status);

/*
 * Percent-decode (RFC 3986 §2.1) in[0..len) into out (NUL-terminated).
 * %00 and malformed escapes are refused; "+" stays "+" (paths are not
 * form data). Returns the decoded length or -EINVAL_HTTP_*, -ENAMETOOLONG.
 */
int http_percent_decode(const char *in, size_t len, char *out, size_t outsz);

/*
 * Find key in an application/x-www-form-urlencoded query ("a=1&mac=..")
 * and decode its value into out. 0, -ENOENT, or a decode error.
 */
int http_query_get(const char *query, size_t qlen, const char *key,
		   char *out, size_t outsz);

/*
 * RFC 9110 §14.1.2 byte ranges against a representation of `size` bytes.
 * Returns 0 with [*first, *last] (inclusive) to send as 206,
 * -ERANGE when unsatisfiable (416, §14.1.3 / §15.5.17),
 * -EINVAL when the field is not a valid single byte range (ignored: 200),
 * -ENOTSUP for several ranges (we answer 200 with the whole file).
 */
int http_parse_range(const char *v, size_t len, uint64_t size,
		     uint64_t *first, uint64_t *last);

/* Content-Type for a served path, by extension. */
const char *http_content_type(const char *path);

/* A response head to build with http_format_head(). */
struct http_response {
	int status;
	const char *content_type;	/* NULL: no Content-Type */
	uint64_t content_length;
	int has_range;			/* 206: Content-Range first-last/size */
	uint64_t range_first, range_last, range_size;
	int unsatisfied_size;		/* 416: Content-Range: bytes * /size */
	const char *allow;		/* 405: Allow value */
	int keep_alive;			/* else "Connection: close" */
	int no_store;			/* generated content: Cache-Control */
	int no_body_length;		/* 204/304: no Content-Length */
	int accept_ranges;		/* files: Accept-Ranges: bytes */
	const char *date;		/* IMF-fixdate (RFC 9110 §5.6.7) or NULL */
};

/* Returns bytes written (without NUL) or -ENOSPC. */
int http_format_head(char *out, size_t outsz, const struct http_response *r);

/*
 * Client side (the agent's GET): a response head, buf holding len bytes.
 * Returns the head's length (through the empty line) with *status and
 * *content_length (UINT64_MAX when absent) set, 0 when more bytes are
 * needed, -EPROTO for a malformed head (RFC 9112 §4 status line, §6.3
 * body length: Content-Length only, no chunked coding).
 */
#define HTTP_RESPONSE_HEAD_MAX 8192
int http_parse_response_head(const char *buf, size_t len, int *status,
			     uint64_t *content_length);

/* Register the cause table above for err_str() ("... [http.0e]"). */
void http_err_register(void);

#endif
