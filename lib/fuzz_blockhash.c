/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the block-hash table header the agent downloads. */

#include <stddef.h>
#include <stdint.h>

#include "blockhash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blockhash_info bi;

	if (blockhash_hdr_parse(data, size, size, &bi) == 0) {
		(void)blockhash_block_len(&bi, 0);
		(void)blockhash_block_len(&bi, bi.count - 1);
	}
	return 0;
}
