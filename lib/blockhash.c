/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-block hash table header: encode and check (see blockhash.h). */

#include <errno.h>
#include <string.h>

#include "blockhash.h"
#include "lb_endian.h"

static int block_size_ok(uint32_t bs)
{
	return bs >= BLOCKHASH_BS_MIN && bs <= BLOCKHASH_BS_MAX &&
	       (bs & (bs - 1)) == 0;
}

uint64_t blockhash_count(uint64_t image_size, uint32_t block_size)
{
	if (!block_size)
		return 0;
	return image_size / block_size + (image_size % block_size != 0);
}

uint64_t blockhash_table_len(uint64_t image_size, uint32_t block_size)
{
	uint64_t n = blockhash_count(image_size, block_size);

	if (n > (UINT64_MAX - BLOCKHASH_HDR_LEN) / BLOCKHASH_LEN)
		return 0;
	return BLOCKHASH_HDR_LEN + n * BLOCKHASH_LEN;
}

int blockhash_hdr_build(uint8_t out[BLOCKHASH_HDR_LEN], uint32_t block_size,
			uint64_t image_size)
{
	if (!block_size_ok(block_size))
		return -EINVAL;
	memcpy(out, BLOCKHASH_MAGIC, 8);
	put_le32(out + 8, BLOCKHASH_VERSION);
	put_le32(out + 12, block_size);
	put_le64(out + 16, image_size);
	put_le64(out + 24, blockhash_count(image_size, block_size));
	return 0;
}

int blockhash_hdr_parse(const uint8_t *buf, size_t len, uint64_t total_len,
			struct blockhash_info *out)
{
	struct blockhash_info bi;

	if (len < BLOCKHASH_HDR_LEN || memcmp(buf, BLOCKHASH_MAGIC, 8) != 0)
		return -EINVAL;
	bi.version = get_le32(buf + 8);
	if (bi.version != BLOCKHASH_VERSION)
		return -ENOTSUP;
	bi.block_size = get_le32(buf + 12);
	bi.image_size = get_le64(buf + 16);
	bi.count = get_le64(buf + 24);
	if (!block_size_ok(bi.block_size) ||
	    bi.count != blockhash_count(bi.image_size, bi.block_size) ||
	    blockhash_table_len(bi.image_size, bi.block_size) == 0)
		return -EINVAL;
	if (total_len &&
	    total_len != blockhash_table_len(bi.image_size, bi.block_size))
		return -EINVAL;
	*out = bi;
	return 0;
}

uint32_t blockhash_block_len(const struct blockhash_info *bi, uint64_t i)
{
	uint64_t start;

	if (i >= bi->count)
		return 0;
	start = i * bi->block_size;
	return (uint32_t)(bi->image_size - start < bi->block_size ?
			  bi->image_size - start : bi->block_size);
}
