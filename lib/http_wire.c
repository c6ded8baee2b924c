/* SPDX-License-Identifier: GPL-2.0-or-later */
/* HTTP/1.1 request parsing and response heads; see http_wire.h. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_wire.h"
#include "lb_util.h"

/* RFC 9110 §5.6.2: tchar, the bytes of a token (methods, field names). */
static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Find the line starting at buf[pos]: *line_len excludes the line end, *next
 * is the offset after it. 1 = found, 0 = no LF yet, <0 = bare CR.
 */
static int next_line(const char *buf, size_t len, size_t pos,
		     size_t *line_len, size_t *next)
{
	const char *lf = memchr(buf + pos, '\n', len - pos);
	const char *cr;
	size_t end;

	if (!lf) {
		/* a CR not followed by LF is a broken line end already */
		cr = memchr(buf + pos, '\r', len - pos);
		if (cr && (size_t)(cr - buf) + 1 < len)
			return EINVAL_HTTP_CRLF;
		return 0;
	}
	end = (size_t)(lf - buf);
	*next = end + 1;
	if (end > pos && buf[end - 1] == '\r')
		end--;
	/* RFC 9112 §2.2: a bare CR inside a line is invalid */
	if (memchr(buf + pos, '\r', end - pos))
		return EINVAL_HTTP_CRLF;
	*line_len = end - pos;
	return 1;
}

static int parse_method(const char *s, size_t n, struct http_request *req)
{
	size_t i;

	if (n == 0 || n > HTTP_METHOD_MAX)
		return EINVAL_HTTP_METHOD;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return EINVAL_HTTP_METHOD;
	memcpy(req->method_name, s, n);
	req->method_name[n] = '\0';
	/* RFC 9110 §9.1: method names are case-sensitive */
	if (!strcmp(req->method_name, "GET"))
		req->method = HTTP_GET;
	else if (!strcmp(req->method_name, "HEAD"))
		req->method = HTTP_HEAD;
	else if (!strcmp(req->method_name, "POST"))
		req->method = HTTP_POST;
	else
		req->method = HTTP_OTHER;
	return 0;
}

/*
 * RFC 9112 §3.2: origin-form "/path?query", absolute-form
 * "http://host/path?query" (a server MUST accept it, §3.2.2), and
 * asterisk-form "*" for OPTIONS only.
 */
static int parse_target(const char *s, size_t n, struct http_request *req)
{
	const char *q;
	size_t i;

	if (n > HTTP_URI_MAX)
		return ENAMETOOLONG_HTTP_URI;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		/* no CTLs, no spaces, no 8-bit bytes, no fragment */
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return EINVAL_HTTP_TARGET;
	}
	if (n == 1 && s[0] == '*' && req->method == HTTP_OTHER &&
	    !strcmp(req->method_name, "OPTIONS")) {
		req->path = s;
		req->path_len = 1;
		return 0;
	}
	if (n >= 7 && (!strncasecmp(s, "http://", 7) ||
		       (n >= 8 && !strncasecmp(s, "https://", 8)))) {
		size_t skip = s[4] == ':' ? 7 : 8;
		const char *slash = memchr(s + skip, '/', n - skip);
		const char *qm = memchr(s + skip, '?', n - skip);

		if (slash && qm && qm < slash)
			slash = NULL;
		if (!slash) {
			/* "http://host" or "http://host?q": path is "/" */
			req->path = "/";
			req->path_len = 1;
			req->query = qm ? qm + 1 : NULL;
			req->query_len = qm ? (size_t)(s + n - qm - 1) : 0;
			return skip < n && s[skip] != '?' && s[skip] != '/'
			       ? 0 : EINVAL_HTTP_TARGET;
		}
		if (slash == s + skip)
			return EINVAL_HTTP_TARGET;	/* empty authority */
		n -= (size_t)(slash - s);
		s = slash;
	}
	if (s[0] != '/')
		return EINVAL_HTTP_TARGET;
	req->path = s;
	req->path_len = n;
	if ((q = memchr(s, '?', n)) != NULL) {
		req->path_len = (size_t)(q - s);
		req->query = q + 1;
		req->query_len = n - req->path_len - 1;
	}
	return 0;
}

/* RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT */
static int parse_version(const char *s, size_t n, struct http_request *req)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' ||
	    s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
		return EINVAL_HTTP_VERSION;
	if (s[5] != '1')
		return ENOTSUP_HTTP_VERSION;	/* 505 */
	/* RFC 9110 §2.5: a higher minor is answered as the highest we know */
	req->minor = s[7] == '0' ? 0 : 1;
	return 0;
}

static int parse_request_line(const char *s, size_t n,
			      struct http_request *req)
{
	const char *sp1 = memchr(s, ' ', n), *sp2;
	int rc;

	if (!sp1)
		return EINVAL_HTTP_REQLINE;	/* HTTP/0.9 "GET /" too */
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (!sp2)
		return EINVAL_HTTP_REQLINE;
	if ((rc = parse_method(s, (size_t)(sp1 - s), req)) != 0 ||
	    (rc = parse_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), req)) != 0)
		return rc;
	return parse_version(sp2 + 1, n - (size_t)(sp2 + 1 - s), req);
}

/* Does the comma-separated token list v contain tok (case-insensitive)? */
static int list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tl && !strncasecmp(v + start, tok, tl))
			return 1;
	}
	return 0;
}

static int parse_content_length(const char *v, size_t n, int64_t *out)
{
	int64_t x = 0;
	size_t i;

	if (n == 0 || n > 15)
		return EINVAL_HTTP_LENGTH;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return EINVAL_HTTP_LENGTH;
		x = x * 10 + (v[i] - '0');
	}
	/* RFC 9112 §6.3: differing duplicates are unrecoverable */
	if (*out >= 0 && *out != x)
		return EINVAL_HTTP_LENGTH;
	*out = x;
	return 0;
}

struct field_state {
	unsigned hosts;
	int conn_close, conn_keep_alive;
};

/* RFC 9112 §5: field-line = field-name ":" OWS field-value OWS */
static int parse_field(const char *s, size_t n, struct http_request *req,
		       struct field_state *fs)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t name_len, vn, i;

	/* RFC 9112 §5.2: obs-fold is rejected with 400 */
	if (s[0] == ' ' || s[0] == '\t')
		return EINVAL_HTTP_FOLD;
	if (!colon || colon == s)
		return EINVAL_HTTP_FIELD;
	name_len = (size_t)(colon - s);
	/* RFC 9112 §5.1: no whitespace between name and colon; tchars only */
	for (i = 0; i < name_len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return EINVAL_HTTP_FIELD;
	v = colon + 1;
	vn = n - name_len - 1;
	while (vn && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	for (i = 0; i < vn; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return EINVAL_HTTP_FIELD;	/* NUL and CTLs */
	}
#define IS(name) (name_len == sizeof(name) - 1 && \
		  !strncasecmp(s, name, sizeof(name) - 1))
	if (IS("Host")) {
		fs->hosts++;
	} else if (IS("Connection")) {
		fs->conn_close |= list_has(v, vn, "close");
		fs->conn_keep_alive |= list_has(v, vn, "keep-alive");
	} else if (IS("Content-Length")) {
		return parse_content_length(v, vn, &req->content_length);
	} else if (IS("Transfer-Encoding")) {
		/* RFC 9112 §6.1: no chunked request bodies here: 501 */
		return ENOTSUP_HTTP_TE;
	} else if (IS("Range")) {
		req->range = v;
		req->range_len = vn;
	} else if (IS("If-Range")) {
		req->if_range = 1;
	} else if (IS("Authorization")) {
		/* RFC 9110 §11.1: the scheme is case-insensitive; RFC 6750
		 * §2.1: "Bearer" 1*SP token68 */
		if (vn > 7 && !strncasecmp(v, "Bearer ", 7)) {
			req->bearer = v + 7;
			req->bearer_len = vn - 7;
			while (req->bearer_len && *req->bearer == ' ')
				req->bearer++, req->bearer_len--;
		}
	} else if (IS("Expect")) {
		req->expect_continue = list_has(v, vn, "100-continue");
	}
#undef IS
	return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	struct field_state fs = { 0 };
	size_t pos = 0, line_len = 0, next = 0;
	int rc, blank;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	/* RFC 9112 §2.2: ignore at least one empty line before a request */
	for (blank = 0; blank < 2; blank++) {
		if (pos < len && buf[pos] == '\n')
			pos++;
		else if (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
			pos += 2;
	}
	rc = next_line(buf, len, pos, &line_len, &next);
	if (rc == 0)
		return len - pos > HTTP_URI_MAX + HTTP_METHOD_MAX + 16 ?
		       ENAMETOOLONG_HTTP_URI : 0;
	if (rc < 0)
		return rc;
	if (memchr(buf + pos, '\0', line_len))
		return EINVAL_HTTP_REQLINE;
	if ((rc = parse_request_line(buf + pos, line_len, req)) != 0)
		return rc;
	for (;;) {
		pos = next;
		if (pos > HTTP_HEADER_MAX)
			return E2BIG_HTTP_HEADERS;
		rc = next_line(buf, len, pos, &line_len, &next);
		if (rc == 0)
			return len >= HTTP_HEADER_MAX ? E2BIG_HTTP_HEADERS : 0;
		if (rc < 0)
			return rc;
		if (line_len == 0)
			break;
		if (++req->nfields > HTTP_HEADERS_MAX)
			return E2BIG_HTTP_FIELDS;
		if ((rc = parse_field(buf + pos, line_len, req, &fs)) != 0)
			return rc;
	}
	if (next > HTTP_HEADER_MAX)
		return E2BIG_HTTP_HEADERS;
	/* RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host */
	if ((req->minor == 1 && fs.hosts != 1) || fs.hosts > 1)
		return EINVAL_HTTP_HOST;
	/* RFC 9112 §9.3: persistence */
	req->keep_alive = !fs.conn_close &&
			  (req->minor == 1 || fs.conn_keep_alive);
	req->head_len = next;
	return 1;
}

int http_status(int rc)
{
	switch (rc) {
	case ENOTSUP_HTTP_VERSION:
		return 505;
	case ENOTSUP_HTTP_TE:
		return 501;
	case E2BIG_HTTP_HEADERS:
	case E2BIG_HTTP_FIELDS:
		return 431;
	case ENAMETOOLONG_HTTP_URI:
		return 414;
	}
	switch (err_errno(rc)) {
	case 0:
		return 200;
	case EINVAL:
		return 400;
	case ENOENT:
	case ENOTDIR:
		return 404;
	case EACCES:
	case EPERM:
		return 403;
	case ENAMETOOLONG:
		return 414;
	case ERANGE:
		return 416;
	case EMSGSIZE:
	case EFBIG:
		return 413;
	case EBUSY:
	case EAGAIN:
	case EMFILE:	/* out of fds: overloaded for now (RFC 9110 §15.6.4) */
	case ENFILE:
		return 503;
	default:
		return 500;
	}
}

const char *http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 204, "No Content" },
		{ 206, "Partial Content" }, { 400, "Bad Request" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 416, "Range Not Satisfiable" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

int http_percent_decode(const char *in, size_t len, char *out, size_t outsz)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return EINVAL_HTTP_PERCENT;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return EINVAL_HTTP_PERCENT;
			c = hi << 4 | lo;
			i += 2;
		}
		/* %00 would cut the path short of what the checks saw */
		if (c == 0)
			return EINVAL_HTTP_NUL;
		if (o + 1 >= outsz)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	if (outsz == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (int)o;
}

int http_query_get(const char *query, size_t qlen, const char *key,
		   char *out, size_t outsz)
{
	size_t kl = strlen(key), i = 0;

	if (!query)
		return -ENOENT;
	while (i < qlen) {
		const char *amp = memchr(query + i, '&', qlen - i);
		size_t end = amp ? (size_t)(amp - query) : qlen;

		if (end - i > kl && !memcmp(query + i, key, kl) &&
		    query[i + kl] == '=') {
			int rc = http_percent_decode(query + i + kl + 1,
						     end - i - kl - 1, out, outsz);
			return rc < 0 ? rc : 0;
		}
		i = end + 1;
	}
	return -ENOENT;
}

/* Decimal digits at v[*i..]; saturates at UINT64_MAX. -1 = no digit. */
static int parse_digits(const char *v, size_t n, size_t *i, uint64_t *out)
{
	uint64_t x = 0;
	size_t start = *i;

	while (*i < n && v[*i] >= '0' && v[*i] <= '9') {
		unsigned d = (unsigned)(v[*i] - '0');

		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
		(*i)++;
	}
	*out = x;
	return *i > start ? 0 : -1;
}

int http_parse_range(const char *v, size_t n, uint64_t size,
		     uint64_t *first, uint64_t *last)
{
	uint64_t a, b;
	size_t i = 6;
	int has_first, has_last;

	/* RFC 9110 §14.1: range-unit is case-insensitive */
	if (n < 7 || strncasecmp(v, "bytes=", 6) != 0)
		return -EINVAL;
	if (memchr(v, ',', n))
		return -ENOTSUP;	/* multipart/byteranges: not done */
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	has_first = parse_digits(v, n, &i, &a) == 0;
	if (i >= n || v[i] != '-')
		return -EINVAL;
	i++;
	has_last = parse_digits(v, n, &i, &b) == 0;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i != n || (!has_first && !has_last))
		return -EINVAL;
	if (!has_first) {
		/* §14.1.2 suffix-range: the last b bytes; "-0" is unsatisfiable */
		if (b == 0 || size == 0)
			return -ERANGE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 0;
	}
	if (has_last && b < a)
		return -EINVAL;		/* §14.1.1: invalid, so ignored */
	if (a >= size)
		return -ERANGE;		/* §14.1.3: first-pos past the end */
	*first = a;
	*last = !has_last || b >= size ? size - 1 : b;
	return 0;
}

const char *http_content_type(const char *path)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		/* iPXE scripts: iPXE looks at the #!ipxe magic, browsers
		 * should show them */
		{ "ipxe", "text/plain; charset=utf-8" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "cfg", "text/plain; charset=utf-8" },
		{ "conf", "text/plain; charset=utf-8" },
		{ "sh", "text/plain; charset=utf-8" },
		{ "html", "text/html; charset=utf-8" },
		{ "json", "application/json" },
		{ "iso", "application/x-iso9660-image" },
		{ "gz", "application/gzip" },
		{ "xz", "application/x-xz" },
		{ "zst", "application/zstd" },
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');
	size_t i;

	if (dot && dot[1]) {
		for (i = 0; i < ARRAY_SIZE(types); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	}
	return "application/octet-stream";
}

int http_format_head(char *out, size_t outsz, const struct http_response *r)
{
	size_t o = 0;
	int n;

#define PUT(...) do { \
		n = snprintf(out + o, outsz - o, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= outsz - o) \
			return -ENOSPC; \
		o += (size_t)n; \
	} while (0)
	if (outsz == 0)
		return -ENOSPC;
	PUT("HTTP/1.1 %d %s\r\nServer: linkboot\r\n", r->status,
	    http_reason(r->status));
	if (r->date)
		PUT("Date: %s\r\n", r->date);
	if (r->content_type)
		PUT("Content-Type: %s\r\n", r->content_type);
	if (!r->no_body_length)
		PUT("Content-Length: %" PRIu64 "\r\n", r->content_length);
	if (r->has_range)
		PUT("Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
		    r->range_first, r->range_last, r->range_size);
	if (r->unsatisfied_size || r->status == 416)
		PUT("Content-Range: bytes */%" PRIu64 "\r\n", r->range_size);
	if (r->accept_ranges)
		PUT("Accept-Ranges: bytes\r\n");
	if (r->allow)
		PUT("Allow: %s\r\n", r->allow);
	if (r->no_store)
		PUT("Cache-Control: no-store\r\n");
	PUT("Connection: %s\r\n\r\n", r->keep_alive ? "keep-alive" : "close");
#undef PUT
	return (int)o;
}

static const struct err_desc http_errs[] = {
	{ EINVAL_HTTP_REQLINE, "malformed HTTP request line" },
	{ EINVAL_HTTP_METHOD, "malformed HTTP method" },
	{ EINVAL_HTTP_TARGET, "malformed HTTP request target" },
	{ EINVAL_HTTP_VERSION, "malformed HTTP version" },
	{ EINVAL_HTTP_FIELD, "malformed HTTP header field" },
	{ EINVAL_HTTP_FOLD, "folded HTTP header line" },
	{ EINVAL_HTTP_CRLF, "bare CR in HTTP request" },
	{ EINVAL_HTTP_HOST, "HTTP/1.1 request without exactly one Host" },
	{ EINVAL_HTTP_LENGTH, "bad HTTP Content-Length" },
	{ EINVAL_HTTP_PERCENT, "bad percent-encoding" },
	{ EINVAL_HTTP_NUL, "%00 in HTTP path" },
	{ ENOTSUP_HTTP_VERSION, "unsupported HTTP version" },
	{ ENOTSUP_HTTP_TE, "HTTP Transfer-Encoding in a request" },
	{ E2BIG_HTTP_HEADERS, "HTTP request head too large" },
	{ E2BIG_HTTP_FIELDS, "too many HTTP header fields" },
	{ ENAMETOOLONG_HTTP_URI, "HTTP request target too long" },
};

void http_err_register(void)
{
	err_register(MOD_HTTP, "http", http_errs, ARRAY_SIZE(http_errs));
}

/* RFC 9112 §4: status-line = HTTP-version SP status-code SP [reason] */
static int parse_status_line(const char *p, size_t len, int *status)
{
	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || (len > 12 && p[12] != ' '))
		return -EPROTO;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	return 0;
}

static int parse_response_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 19)
		return -EPROTO;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EPROTO;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

int http_parse_response_head(const char *buf, size_t len, int *status,
			     uint64_t *content_length)
{
	const char *end = NULL, *line, *eol;
	size_t i;

	for (i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' &&
		    buf[i - 2] == '\n' && buf[i - 3] == '\r') {
			end = buf + i + 1;
			break;
		}
	if (!end)
		return len > HTTP_RESPONSE_HEAD_MAX ? -EPROTO : 0;
	*content_length = UINT64_MAX;
	eol = memchr(buf, '\r', (size_t)(end - buf));
	if (parse_status_line(buf, (size_t)(eol - buf), status) != 0)
		return -EPROTO;
	for (line = eol + 2; line < end - 2; line = eol + 2) {
		const char *colon;

		eol = memchr(line, '\r', (size_t)(end - line));
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon)
			return -EPROTO;
		if ((size_t)(colon - line) == 14 &&
		    !strncasecmp(line, "Content-Length", 14)) {
			if (*content_length != UINT64_MAX ||
			    parse_response_length(colon + 1,
						 (size_t)(eol - colon - 1),
						 content_length) != 0)
				return -EPROTO;	/* §6.3: never guess */
		} else if ((size_t)(colon - line) == 17 &&
			   !strncasecmp(line, "Transfer-Encoding", 17)) {
			return -EPROTO;		/* we never ask for chunks */
		}
	}
	return (int)(end - buf);
}
