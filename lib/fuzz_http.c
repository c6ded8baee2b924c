/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the HTTP request parser and what the server does next
 * with a parsed head (percent-decoding, query lookup, Range).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	char path[HTTP_URI_MAX + 1], mac[64], head[1024];
	uint64_t first, last;
	struct http_response r = { .status = 200 };

	if (http_parse_request((const char *)data, size, &req) != 1)
		return 0;
	if (req.head_len > size || req.path + req.path_len > (const char *)data + size)
		__builtin_trap();
	http_percent_decode(req.path, req.path_len, path, sizeof(path));
	http_query_get(req.query, req.query_len, "mac", mac, sizeof(mac));
	if (req.range) {
		if (http_parse_range(req.range, req.range_len, 1000, &first,
				     &last) == 0 && (first > last || last >= 1000))
			__builtin_trap();
		http_parse_range(req.range, req.range_len, 0, &first, &last);
	}
	r.content_type = http_content_type(path);
	http_format_head(head, sizeof(head), &r);
	return 0;
}
