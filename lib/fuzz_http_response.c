/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: HTTP response heads as the agent parses them. */

#include <stddef.h>
#include <stdint.h>

#include "http_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t clen;
	int status, n;

	n = http_parse_response_head((const char *)data, size, &status, &clen);
	if (n > 0 && ((size_t)n > size || status < 100 || status > 599))
		__builtin_trap();
	return 0;
}
