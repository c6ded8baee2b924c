/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Boot pack encode/decode; see bootpack.h for the format. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bootpack.h"
#include "lb_endian.h"

static int bp_check_fields(const struct bp_header *h)
{
	if (h->block_size < 512 || h->block_size > (16u << 20) ||
	    (h->block_size & (h->block_size - 1)) ||
	    h->nextents > BOOTPACK_MAX_EXTENTS || h->image_size == 0)
		return -EINVAL;
	return 0;
}

static int bp_check_extent(const struct bp_header *h, uint64_t first,
			   uint32_t count)
{
	uint64_t nblocks = (h->image_size + h->block_size - 1) / h->block_size;

	if (count == 0 || first >= nblocks || count > nblocks - first)
		return -EINVAL;
	return 0;
}

static size_t bp_table_size(uint32_t n)
{
	return BOOTPACK_HDR_SIZE + (size_t)n * BOOTPACK_EXTENT_SIZE;
}

/* crc32 over the header's first 28 bytes and the extent table */
static uint32_t bp_crc(const uint8_t *buf, uint32_t n)
{
	uLong c = crc32(0L, buf, 28);

	return (uint32_t)crc32(c, buf + BOOTPACK_HDR_SIZE,
			       (uInt)(n * BOOTPACK_EXTENT_SIZE));
}

static int bp_deflate_all(z_stream *zs, uint8_t **out, size_t *cap, int flush)
{
	int zrc;

	do {
		if (zs->avail_out == 0) {
			size_t used = *cap;
			uint8_t *p = realloc(*out, *cap * 2);

			if (!p)
				return -ENOMEM;
			*out = p;
			*cap *= 2;
			zs->next_out = p + used;
			zs->avail_out = (uInt)(*cap - used);
		}
		zrc = deflate(zs, flush);
		if (zrc == Z_STREAM_ERROR)
			return -EIO;
	} while (zs->avail_out == 0 || (flush == Z_FINISH && zrc != Z_STREAM_END));
	return 0;
}

int bootpack_encode(const struct bp_header *h, const struct bp_extent *ext,
		    bp_read_fn read_fn, void *arg, uint8_t **out,
		    size_t *outlen)
{
	size_t tbl = bp_table_size(h->nextents);
	size_t cap = tbl + 65536;
	uint8_t *buf = NULL, *blk = NULL;
	z_stream zs = { 0 };
	uint32_t i, j;
	int rc;

	if ((rc = bp_check_fields(h)) != 0)
		return rc;
	for (i = 0; i < h->nextents; i++)
		if ((rc = bp_check_extent(h, ext[i].first, ext[i].count)) != 0)
			return rc;
	if (!(buf = malloc(cap)) || !(blk = malloc(h->block_size))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(buf, BOOTPACK_MAGIC, 8);
	put_le32(buf + 8, h->block_size);
	put_le32(buf + 12, h->nextents);
	put_le64(buf + 16, h->image_size);
	put_le32(buf + 24, h->version);
	for (i = 0; i < h->nextents; i++) {
		uint8_t *e = buf + BOOTPACK_HDR_SIZE + (size_t)i * BOOTPACK_EXTENT_SIZE;

		put_le64(e, ext[i].first);
		put_le32(e + 8, ext[i].count);
	}
	put_le32(buf + 28, bp_crc(buf, h->nextents));
	if (deflateInit(&zs, Z_DEFAULT_COMPRESSION) != Z_OK) {
		rc = -ENOMEM;
		goto out;
	}
	zs.next_out = buf + tbl;
	zs.avail_out = (uInt)(cap - tbl);
	for (i = 0; i < h->nextents; i++) {
		for (j = 0; j < ext[i].count; j++) {
			if ((rc = read_fn(arg, ext[i].first + j, blk)) != 0)
				goto out_z;
			zs.next_in = blk;
			zs.avail_in = h->block_size;
			if ((rc = bp_deflate_all(&zs, &buf, &cap, Z_NO_FLUSH)))
				goto out_z;
		}
	}
	if ((rc = bp_deflate_all(&zs, &buf, &cap, Z_FINISH)) != 0)
		goto out_z;
	*outlen = cap - zs.avail_out;
	*out = buf;
	buf = NULL;
out_z:
	deflateEnd(&zs);
out:
	free(buf);
	free(blk);
	return rc;
}

int bootpack_parse_header(const uint8_t *buf, size_t len, struct bp_header *h)
{
	uint32_t i;
	int rc;

	if (len < BOOTPACK_HDR_SIZE || memcmp(buf, BOOTPACK_MAGIC, 8) != 0)
		return -EBADMSG;
	h->block_size = get_le32(buf + 8);
	h->nextents = get_le32(buf + 12);
	h->image_size = get_le64(buf + 16);
	h->version = get_le32(buf + 24);
	if ((rc = bp_check_fields(h)) != 0)
		return rc;
	if (len < bp_table_size(h->nextents) ||
	    get_le32(buf + 28) != bp_crc(buf, h->nextents))
		return -EBADMSG;
	for (i = 0; i < h->nextents; i++) {
		const uint8_t *e = buf + BOOTPACK_HDR_SIZE +
				   (size_t)i * BOOTPACK_EXTENT_SIZE;

		if ((rc = bp_check_extent(h, get_le64(e), get_le32(e + 8))))
			return rc;
	}
	return 0;
}

/* Inflate exactly one block into blk; -EBADMSG if the stream ends early. */
static int bp_inflate_block(z_stream *zs, uint8_t *blk, uint32_t size)
{
	int zrc;

	zs->next_out = blk;
	zs->avail_out = size;
	while (zs->avail_out) {
		zrc = inflate(zs, Z_NO_FLUSH);
		if (zrc == Z_STREAM_END && zs->avail_out)
			return -EBADMSG;
		if (zrc != Z_OK && zrc != Z_STREAM_END)
			return zrc == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
		if (zrc == Z_OK && zs->avail_in == 0 && zs->avail_out)
			return -EBADMSG;
	}
	return 0;
}

int bootpack_decode(const uint8_t *buf, size_t len, bp_block_fn block_fn,
		    void *arg)
{
	struct bp_header h;
	z_stream zs = { 0 };
	uint8_t *blk, tail;
	uint32_t i, j;
	size_t tbl;
	int rc;

	if ((rc = bootpack_parse_header(buf, len, &h)) != 0)
		return rc;
	tbl = bp_table_size(h.nextents);
	if (!(blk = malloc(h.block_size)))
		return -ENOMEM;
	if (inflateInit(&zs) != Z_OK) {
		free(blk);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)(buf + tbl);
	zs.avail_in = (uInt)(len - tbl);
	for (i = 0; i < h.nextents && !rc; i++) {
		const uint8_t *e = buf + BOOTPACK_HDR_SIZE +
				   (size_t)i * BOOTPACK_EXTENT_SIZE;
		uint64_t first = get_le64(e);
		uint32_t count = get_le32(e + 8);

		for (j = 0; j < count && !rc; j++) {
			rc = bp_inflate_block(&zs, blk, h.block_size);
			if (!rc)
				rc = block_fn(arg, first + j, blk);
		}
	}
	if (!rc) {
		/* the stream must end exactly here, with nothing after it */
		zs.next_out = &tail;
		zs.avail_out = 1;
		if (inflate(&zs, Z_FINISH) != Z_STREAM_END || zs.avail_in)
			rc = -EBADMSG;
	}
	inflateEnd(&zs);
	free(blk);
	return rc;
}
