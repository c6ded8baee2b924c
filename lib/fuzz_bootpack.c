/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the agent's boot pack decoder (lib/bootpack.c). */

#include <stddef.h>
#include <stdint.h>

#include "bootpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *arg, uint64_t blk, const void *d)
{
	(void)arg;
	(void)blk;
	(void)d;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bootpack_decode(data, size, sink, NULL);
	return 0;
}
