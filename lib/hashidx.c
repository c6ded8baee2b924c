/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block-hash table index: see hashidx.h. */

#include <errno.h>
#include <string.h>

#include "hashidx.h"
#include "lb_endian.h"

void hashidx_hdr_build(uint8_t out[HASHIDX_HDR_LEN], uint64_t table_len)
{
	memcpy(out, HASHIDX_MAGIC, 8);
	put_le32(out + 8, HASHIDX_CHUNK);
	put_le32(out + 12, (uint32_t)((table_len + HASHIDX_CHUNK - 1) /
				      HASHIDX_CHUNK));
	put_le64(out + 16, table_len);
}

int hashidx_parse(const uint8_t *buf, size_t len, struct hashidx_info *out)
{
	if (len < HASHIDX_HDR_LEN || memcmp(buf, HASHIDX_MAGIC, 8) != 0)
		return -EINVAL;
	out->chunk = get_le32(buf + 8);
	out->count = get_le32(buf + 12);
	out->table_len = get_le64(buf + 16);
	if (out->chunk != HASHIDX_CHUNK || out->table_len == 0 ||
	    out->table_len > HASHIDX_MAX_TABLE ||
	    out->count != (out->table_len + HASHIDX_CHUNK - 1) / HASHIDX_CHUNK ||
	    len != HASHIDX_HDR_LEN + (size_t)out->count * 32)
		return -EINVAL;
	return 0;
}
