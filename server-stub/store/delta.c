/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Delta files and version chains: see delta.h for the format. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "delta.h"
#include "lb_endian.h"
#include "lb_log.h"
#include "lb_util.h"

/* One file of a chain: the raw base (data_off 0) or a delta. */
struct layer {
	int fd;
	uint64_t data_off;	/* where block 0 starts in the file */
};

struct vchain {
	uint64_t size;		/* disk size, bytes */
	uint32_t bs;		/* block size */
	uint64_t nblocks;
	unsigned nlayers;	/* base + deltas (+ overlay) */
	struct layer layers[VCHAIN_MAX_LAYERS + 2];
	uint8_t *owner;		/* per block: index of the newest layer */
	/* the writable overlay, if any: layers[ov] */
	int ov;			/* layer index, -1 = none */
	struct delta_hdr ov_hdr;
	uint8_t *ov_bitmap;	/* its bitmap, mirrored on disk */
	uint64_t ov_blocks;	/* bits set */
	uint64_t ov_max_blocks;	/* bound, 0 = none */
	uint64_t ov_min_free;	/* keep this much free on its file system */
	uint8_t *scratch;	/* one block, for read-modify-write */
};

uint64_t delta_nblocks(const struct delta_hdr *h)
{
	return h->disk_size / h->block_size +
	       (h->disk_size % h->block_size != 0);
}

uint64_t delta_bitmap_len(const struct delta_hdr *h)
{
	return (delta_nblocks(h) + 7) / 8;
}

void delta_hdr_init(struct delta_hdr *h, uint64_t disk_size,
		    uint32_t block_size, uint32_t parent_version)
{
	uint64_t end;

	memset(h, 0, sizeof(*h));
	h->version = DELTA_VERSION;
	h->block_size = block_size;
	h->disk_size = disk_size;
	h->bitmap_off = DELTA_HDR_LEN;
	h->parent_version = parent_version;
	end = DELTA_HDR_LEN + delta_bitmap_len(h);
	h->data_off = (end + block_size - 1) / block_size * block_size;
}

void delta_hdr_build(const struct delta_hdr *h, uint8_t out[DELTA_HDR_LEN])
{
	memset(out, 0, DELTA_HDR_LEN);
	memcpy(out, DELTA_MAGIC, 8);
	put_le32(out + 8, h->version);
	put_le32(out + 12, h->block_size);
	put_le64(out + 16, h->disk_size);
	put_le64(out + 24, h->bitmap_off);
	put_le64(out + 32, h->data_off);
	put_le32(out + 40, h->parent_version);
}

int delta_hdr_parse(const uint8_t *buf, size_t len, struct delta_hdr *out)
{
	struct delta_hdr h;
	uint32_t bs;

	if (len < 44 || memcmp(buf, DELTA_MAGIC, 8) != 0)
		return -EINVAL;
	h.version = get_le32(buf + 8);
	if (h.version != DELTA_VERSION)
		return -ENOTSUP;
	h.block_size = bs = get_le32(buf + 12);
	h.disk_size = get_le64(buf + 16);
	h.bitmap_off = get_le64(buf + 24);
	h.data_off = get_le64(buf + 32);
	h.parent_version = get_le32(buf + 40);
	if (bs < 4096 || bs > (16u << 20) || (bs & (bs - 1)) ||
	    h.disk_size == 0 || h.disk_size > (1ull << 50) ||
	    h.bitmap_off < DELTA_HDR_LEN ||
	    h.data_off % bs != 0 ||
	    h.data_off < h.bitmap_off + delta_bitmap_len(&h))
		return -EINVAL;
	*out = h;
	return 0;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* past EOF of a sparse file: zeroes */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int delta_read_hdr(int fd, struct delta_hdr *out)
{
	uint8_t buf[64];
	int rc;

	if ((rc = pread_full(fd, buf, sizeof(buf), 0)) != 0)
		return rc;
	return delta_hdr_parse(buf, sizeof(buf), out);
}

static int delta_write_new(int fd, const struct delta_hdr *h)
{
	uint8_t hdr[DELTA_HDR_LEN];
	int rc;

	delta_hdr_build(h, hdr);
	if (ftruncate(fd, 0) < 0)
		return -errno;
	if ((rc = pwrite_full(fd, hdr, sizeof(hdr), 0)) != 0)
		return rc;
	/* the bitmap and data start as holes: all zero */
	if (ftruncate(fd, (off_t)(h->data_off +
				  delta_nblocks(h) * h->block_size)) < 0)
		return -errno;
	return 0;
}

int delta_create(const char *path, uint64_t disk_size, uint32_t block_size,
		 uint32_t parent_version)
{
	struct delta_hdr h;
	int fd, rc;

	delta_hdr_init(&h, disk_size, block_size, parent_version);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = delta_write_new(fd, &h);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}

static int read_bitmap(int fd, const struct delta_hdr *h, uint8_t **out)
{
	uint64_t len = delta_bitmap_len(h);
	uint8_t *bm;
	int rc;

	if (!(bm = malloc(len ? len : 1)))
		return -ENOMEM;
	if ((rc = pread_full(fd, bm, len, h->bitmap_off)) != 0) {
		free(bm);
		return rc;
	}
	/* bits past the last block are ignored, never trusted */
	if (delta_nblocks(h) % 8)
		bm[len - 1] &= (uint8_t)((1u << (delta_nblocks(h) % 8)) - 1);
	*out = bm;
	return 0;
}

static uint64_t bitmap_count(const uint8_t *bm, uint64_t len)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < len; i++)
		n += (uint64_t)__builtin_popcount(bm[i]);
	return n;
}

int delta_count_blocks(const char *path, uint64_t *blocks)
{
	struct delta_hdr h;
	uint8_t *bm;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	rc = delta_read_hdr(fd, &h);
	if (rc == 0 && (rc = read_bitmap(fd, &h, &bm)) == 0) {
		*blocks = bitmap_count(bm, delta_bitmap_len(&h));
		free(bm);
	}
	close(fd);
	return rc;
}

int delta_read_map(const char *path, struct delta_hdr *h, uint8_t **bm)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	rc = delta_read_hdr(fd, h);
	if (rc == 0)
		rc = read_bitmap(fd, h, bm);
	close(fd);
	return rc;
}

static int bit_test(const uint8_t *bm, uint64_t i)
{
	return (bm[i / 8] >> (i % 8)) & 1;
}

static void chain_mark_layer(struct vchain *c, const uint8_t *bm,
			     uint8_t layer)
{
	for (uint64_t i = 0; i < c->nblocks; i++)
		if (bit_test(bm, i))
			c->owner[i] = layer;
}

/* Add one read-only delta on top of what is open. */
static int chain_add_delta(struct vchain *c, const char *path)
{
	struct delta_hdr h;
	uint8_t *bm;
	int fd, rc;

	if (c->nlayers >= VCHAIN_MAX_LAYERS)
		return -E2BIG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((rc = delta_read_hdr(fd, &h)) != 0)
		goto err;
	if (h.disk_size != c->size || h.block_size != c->bs) {
		log_warnx("delta %s: disk size %llu / block size %u, chain has %llu / %u",
			  path, (unsigned long long)h.disk_size, h.block_size,
			  (unsigned long long)c->size, c->bs);
		rc = -EINVAL;
		goto err;
	}
	if ((rc = read_bitmap(fd, &h, &bm)) != 0)
		goto err;
	c->layers[c->nlayers].fd = fd;
	c->layers[c->nlayers].data_off = h.data_off;
	chain_mark_layer(c, bm, (uint8_t)c->nlayers);
	c->nlayers++;
	free(bm);
	return 0;
err:
	close(fd);
	return rc;
}

int vchain_open(const char *base, const char *const *deltas, unsigned n,
		struct vchain **out)
{
	struct vchain *c;
	struct stat st;
	int fd, rc;

	if ((fd = open(base, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		rc = fstat(fd, &st) < 0 ? -errno : -EINVAL;
		close(fd);
		return rc;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return -ENOMEM;
	}
	c->size = (uint64_t)st.st_size;
	c->bs = DELTA_BLOCK_SIZE;
	c->nblocks = c->size / c->bs + (c->size % c->bs != 0);
	c->layers[0].fd = fd;
	c->layers[0].data_off = 0;
	c->nlayers = 1;
	c->ov = -1;
	c->owner = calloc(c->nblocks, 1);
	c->scratch = malloc(c->bs);
	if (!c->owner || !c->scratch) {
		rc = -ENOMEM;
		goto err;
	}
	for (unsigned i = 0; i < n; i++)
		if ((rc = chain_add_delta(c, deltas[i])) != 0)
			goto err;
	*out = c;
	return 0;
err:
	vchain_close(c);
	return rc;
}

int vchain_attach_overlay(struct vchain *c, const char *path,
			  uint64_t max_bytes, uint32_t parent_version,
			  int reset)
{
	struct delta_hdr h;
	uint8_t *bm = NULL;
	int fd, rc;

	if (c->ov >= 0 || c->nlayers >= VCHAIN_MAX_LAYERS)
		return -EBUSY;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/*
	 * One writer per overlay: two chains would each trust their own
	 * in-memory bitmap and undo each other's bits (a reconnect racing
	 * the old connection, `image commit` while the super client runs).
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto err;
	}
	rc = reset ? -ENODATA : delta_read_hdr(fd, &h);
	if (rc == -EINVAL) {
		struct stat st;

		/* a file we just created is empty: initialise it */
		if (fstat(fd, &st) == 0 && st.st_size == 0)
			rc = -ENODATA;
	}
	if (rc == -ENODATA) {
		delta_hdr_init(&h, c->size, c->bs, parent_version);
		if ((rc = delta_write_new(fd, &h)) != 0)
			goto err;
	} else if (rc != 0) {
		log_warnx("overlay %s: not a delta file", path);
		goto err;
	} else if (h.disk_size != c->size || h.block_size != c->bs) {
		rc = -EINVAL;
		goto err;
	} else if (h.parent_version != parent_version) {
		/* a kept overlay belongs to the version it was made on */
		rc = -ESTALE;
		goto err;
	}
	if ((rc = read_bitmap(fd, &h, &bm)) != 0)
		goto err;
	c->ov = (int)c->nlayers;
	c->layers[c->ov].fd = fd;
	c->layers[c->ov].data_off = h.data_off;
	c->nlayers++;
	c->ov_hdr = h;
	c->ov_bitmap = bm;
	c->ov_blocks = bitmap_count(bm, delta_bitmap_len(&h));
	/* a partial last block still takes a whole one */
	c->ov_max_blocks = (max_bytes + c->bs - 1) / c->bs;
	chain_mark_layer(c, bm, (uint8_t)c->ov);
	return 0;
err:
	close(fd);
	return rc;
}

void vchain_set_min_free(struct vchain *c, uint64_t bytes)
{
	c->ov_min_free = bytes;
}

uint64_t vchain_size(const struct vchain *c)
{
	return c->size;
}

int vchain_has_overlay(const struct vchain *c)
{
	return c->ov >= 0;
}

uint64_t vchain_overlay_bytes(const struct vchain *c)
{
	return c->ov_blocks * c->bs;
}

static int check_range(const struct vchain *c, uint64_t off, uint32_t len)
{
	if (off > c->size || len > c->size - off)
		return -EINVAL;
	return 0;
}

int vchain_read(struct vchain *c, void *buf, uint64_t off, uint32_t len)
{
	uint8_t *p = buf;
	int rc;

	if ((rc = check_range(c, off, len)) != 0)
		return rc;
	while (len) {
		uint64_t b = off / c->bs;
		uint8_t who = c->owner[b];
		uint64_t run_end = (b + 1) * c->bs;
		uint32_t n;

		/* extend the run while the next blocks live in the same layer */
		while (run_end < off + len && c->owner[run_end / c->bs] == who)
			run_end += c->bs;
		n = (uint32_t)MIN(run_end - off, (uint64_t)len);
		rc = pread_full(c->layers[who].fd, p, n,
				c->layers[who].data_off + off);
		if (rc)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static uint32_t block_len(const struct vchain *c, uint64_t b)
{
	uint64_t start = b * c->bs;

	return (uint32_t)MIN((uint64_t)c->bs, c->size - start);
}

/* Blocks in [off, off+len) that the overlay does not hold yet. */
static uint64_t new_blocks(const struct vchain *c, uint64_t off, uint32_t len)
{
	uint64_t n = 0;

	for (uint64_t b = off / c->bs; b * c->bs < off + len; b++)
		if (c->owner[b] != c->ov)
			n++;
	return n;
}

/* Set block b's bit: in memory, then the bitmap byte on disk. */
static int overlay_mark(struct vchain *c, uint64_t b)
{
	int rc;

	c->ov_bitmap[b / 8] |= (uint8_t)(1u << (b % 8));
	rc = pwrite_full(c->layers[c->ov].fd, &c->ov_bitmap[b / 8], 1,
			 c->ov_hdr.bitmap_off + b / 8);
	if (rc) {
		c->ov_bitmap[b / 8] &= (uint8_t)~(1u << (b % 8));
		return rc;
	}
	c->owner[b] = (uint8_t)c->ov;
	c->ov_blocks++;
	return 0;
}

/*
 * Write part of one block (data == NULL: zeroes). A block new to the
 * overlay is completed from the layers below first (read-modify-write), so
 * the overlay only ever holds whole blocks.
 */
static int overlay_write_block(struct vchain *c, uint64_t b, uint32_t inner,
			       const uint8_t *data, uint32_t n)
{
	struct layer *ov = &c->layers[c->ov];
	uint32_t blen = block_len(c, b);
	uint64_t boff = ov->data_off + b * c->bs;
	int rc;

	if (c->owner[b] == c->ov) {
		if (data)
			return pwrite_full(ov->fd, data, n, boff + inner);
		memset(c->scratch, 0, n);
		return pwrite_full(ov->fd, c->scratch, n, boff + inner);
	}
	if (inner == 0 && n == blen && !data) {
		/* whole block of zeroes: a hole reads back as zeroes */
		if (fallocate(ov->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)boff, blen) < 0) {
			memset(c->scratch, 0, blen);
			if ((rc = pwrite_full(ov->fd, c->scratch, blen, boff)))
				return rc;
		}
		return overlay_mark(c, b);
	}
	if (inner != 0 || n != blen) {
		struct layer *lo = &c->layers[c->owner[b]];

		rc = pread_full(lo->fd, c->scratch, blen,
				lo->data_off + b * c->bs);
		if (rc)
			return rc;
	}
	if (data)
		memcpy(c->scratch + inner, data, n);
	else
		memset(c->scratch + inner, 0, n);
	if ((rc = pwrite_full(ov->fd, c->scratch, blen, boff)) != 0)
		return rc;
	return overlay_mark(c, b);
}

/* Room for n more blocks: under the bound and the free-space reserve. */
static int overlay_room(struct vchain *c, uint64_t n)
{
	struct statvfs sv;

	if (n == 0)
		return 0;
	if (c->ov_max_blocks && c->ov_blocks + n > c->ov_max_blocks)
		return ENOSPC_OVERLAY_MAX;
	if (c->ov_min_free &&
	    fstatvfs(c->layers[c->ov].fd, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < c->ov_min_free + n * c->bs)
		return ENOSPC_OVERLAY_RESERVE;
	return 0;
}

static int overlay_write(struct vchain *c, const uint8_t *data, uint64_t off,
			 uint32_t len, int fua)
{
	int rc;

	if (c->ov < 0)
		return -EROFS;
	if ((rc = check_range(c, off, len)) != 0)
		return rc;
	/* check the bound first: a refused write changes nothing */
	if ((rc = overlay_room(c, new_blocks(c, off, len))) != 0)
		return rc;
	while (len) {
		uint64_t b = off / c->bs;
		uint32_t inner = (uint32_t)(off % c->bs);
		uint32_t n = MIN(c->bs - inner, len);

		if ((rc = overlay_write_block(c, b, inner, data, n)) != 0)
			return rc;
		if (data)
			data += n;
		off += n;
		len -= n;
	}
	if (fua && fdatasync(c->layers[c->ov].fd) < 0)
		return -errno;
	return 0;
}

int vchain_write(struct vchain *c, const void *buf, uint64_t off,
		 uint32_t len, int fua)
{
	return overlay_write(c, buf, off, len, fua);
}

int vchain_zero(struct vchain *c, uint64_t off, uint32_t len, int fua)
{
	return overlay_write(c, NULL, off, len, fua);
}

int vchain_flush(struct vchain *c)
{
	if (c->ov < 0)
		return 0;
	if (fdatasync(c->layers[c->ov].fd) < 0)
		return -errno;
	return 0;
}

void vchain_close(struct vchain *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nlayers; i++)
		close(c->layers[i].fd);
	free(c->owner);
	free(c->ov_bitmap);
	free(c->scratch);
	free(c);
}

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

int vchain_export_raw(struct vchain *c, const char *path, int durable)
{
	uint8_t *buf;
	int fd, rc = 0;

	if (!(buf = malloc(c->bs)))
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (uint64_t b = 0; b < c->nblocks && rc == 0; b++) {
		uint32_t n = block_len(c, b);

		rc = vchain_read(c, buf, b * c->bs, n);
		if (rc == 0 && !all_zero(buf, n))
			rc = pwrite_full(fd, buf, n, b * c->bs);
	}
	if (rc == 0 && ftruncate(fd, (off_t)c->size) < 0)
		rc = -errno;
	if (rc == 0 && durable && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc)
		unlink(path);
out:
	free(buf);
	return rc;
}
