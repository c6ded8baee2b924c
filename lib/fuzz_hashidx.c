/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the block-hash table index parser (hashidx.h). */

#include <stddef.h>
#include <stdint.h>

#include "hashidx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hashidx_info hi;

	if (hashidx_parse(data, size, &hi) == 0 &&
	    HASHIDX_HDR_LEN + (uint64_t)hi.count * 32 != size)
		__builtin_trap();
	return 0;
}
