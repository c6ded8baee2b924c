/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Persistent content-addressed block cache; see ssdcache.h. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lb_endian.h"
#include "sha256.h"
#include "ssdcache.h"

#define SSDC_MAGIC "LBSSDC01"
#define SSDC_FORMAT 1
#define SSDC_SB_SIZE 4096
#define SSDC_ENTRY_SIZE 64
#define SSDC_EMPTY UINT32_MAX

struct ssdc_slot {
	uint64_t prefix;	/* first 8 key bytes; 0 with seq 0 = empty */
	uint64_t seq;		/* write order; 0 = empty */
};

struct ssdcache {
	int fd;
	uint32_t block_size;
	uint64_t nslots;
	uint64_t index_off;
	uint64_t data_off;
	uint64_t head;		/* next slot to write */
	uint64_t seq;		/* last sequence number written */
	struct ssdc_slot *slots;
	uint32_t *table;	/* open addressing: slot index or EMPTY */
	uint64_t table_mask;
	uint8_t *scratch;	/* block_size, for verification */
	struct ssdc_stats stats;
};

void ssdcache_hash(const void *data, uint32_t len, uint8_t key[SSDC_KEY_SIZE])
{
	sha256(data, len, key);
}

void ssdcache_hash_multi(const void *const data[], uint32_t len, size_t n,
			 uint8_t (*keys)[SSDC_KEY_SIZE])
{
	sha256_multi(data, len, n, keys);
}

static uint64_t key_prefix(const uint8_t key[SSDC_KEY_SIZE])
{
	return get_le64(key);
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (uint8_t *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const uint8_t *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Slots that fit: superblock, then per slot one entry and one block. */
static uint64_t ssdc_layout(uint64_t dev_size, uint32_t bs, uint64_t *index_off,
			    uint64_t *data_off)
{
	uint64_t n, isz;

	if (dev_size < SSDC_SB_SIZE + 4096 + bs)
		return 0;
	n = (dev_size - SSDC_SB_SIZE - 4096) / ((uint64_t)bs + SSDC_ENTRY_SIZE);
	if (n >= SSDC_EMPTY)
		n = SSDC_EMPTY - 1;
	for (; n; n--) {
		isz = (n * SSDC_ENTRY_SIZE + 4095) & ~4095ull;
		if (SSDC_SB_SIZE + isz + n * bs <= dev_size)
			break;
	}
	*index_off = SSDC_SB_SIZE;
	*data_off = SSDC_SB_SIZE + ((n * SSDC_ENTRY_SIZE + 4095) & ~4095ull);
	return n;
}

static void ssdc_sb_encode(const struct ssdcache *c, uint8_t *sb)
{
	memset(sb, 0, SSDC_SB_SIZE);
	memcpy(sb, SSDC_MAGIC, 8);
	put_le32(sb + 8, SSDC_FORMAT);
	put_le32(sb + 12, c->block_size);
	put_le64(sb + 16, c->nslots);
	put_le64(sb + 24, c->index_off);
	put_le64(sb + 32, c->data_off);
	put_le32(sb + 40, (uint32_t)crc32(0L, sb, 40));
}

static int ssdc_sb_matches(const struct ssdcache *c, const uint8_t *sb)
{
	uint8_t want[SSDC_SB_SIZE];

	ssdc_sb_encode(c, want);
	return memcmp(want, sb, 44) == 0;
}

static void ssdc_entry_encode(uint8_t *e, const uint8_t *key, uint64_t seq,
			      int valid)
{
	memset(e, 0, SSDC_ENTRY_SIZE);
	if (valid) {
		memcpy(e, key, SSDC_KEY_SIZE);
		put_le64(e + 32, seq);
		put_le32(e + 40, 1);
	}
	put_le32(e + 44, (uint32_t)crc32(0L, e, 44));
}

static uint64_t ssdc_probe_start(const struct ssdcache *c, uint64_t prefix)
{
	return (prefix * 0x9e3779b97f4a7c15ull >> 17) & c->table_mask;
}

static void ssdc_table_insert(struct ssdcache *c, uint64_t slot)
{
	uint64_t i = ssdc_probe_start(c, c->slots[slot].prefix);

	while (c->table[i] != SSDC_EMPTY)
		i = (i + 1) & c->table_mask;
	c->table[i] = (uint32_t)slot;
}

static uint64_t ssdc_table_find(const struct ssdcache *c, uint64_t prefix,
				uint64_t *pos)
{
	uint64_t i = ssdc_probe_start(c, prefix);

	for (; c->table[i] != SSDC_EMPTY; i = (i + 1) & c->table_mask) {
		if (c->slots[c->table[i]].prefix == prefix &&
		    c->slots[c->table[i]].seq) {
			*pos = i;
			return c->table[i];
		}
	}
	return UINT64_MAX;
}

/* Linear-probing delete: re-insert the rest of the cluster. */
static void ssdc_table_delete(struct ssdcache *c, uint64_t pos)
{
	uint64_t i = (pos + 1) & c->table_mask;

	c->table[pos] = SSDC_EMPTY;
	while (c->table[i] != SSDC_EMPTY) {
		uint32_t s = c->table[i];

		c->table[i] = SSDC_EMPTY;
		ssdc_table_insert(c, s);
		i = (i + 1) & c->table_mask;
	}
}

static int ssdc_format(struct ssdcache *c)
{
	uint8_t sb[SSDC_SB_SIZE];
	uint8_t *zero;
	uint64_t off, end = c->data_off;
	int rc = 0;

	/* an all-zero entry has a bad crc, so zeroes read as "invalid" */
	if (!(zero = calloc(1, 1 << 20)))
		return -ENOMEM;
	for (off = c->index_off; off < end && !rc; off += 1 << 20)
		rc = pwrite_all(c->fd, zero,
				(size_t)(end - off < (1 << 20) ? end - off : 1 << 20),
				off);
	free(zero);
	if (rc)
		return rc;
	ssdc_sb_encode(c, sb);
	if ((rc = pwrite_all(c->fd, sb, sizeof(sb), 0)) != 0)
		return rc;
	return fdatasync(c->fd) < 0 ? -errno : 0;
}

static int ssdc_load_index(struct ssdcache *c)
{
	const size_t chunk = 4096;
	uint8_t buf[4096];
	uint64_t i, best = 0;
	int rc;

	for (i = 0; i < c->nslots; i++) {
		uint8_t *e = buf + (i * SSDC_ENTRY_SIZE) % chunk;

		if ((i * SSDC_ENTRY_SIZE) % chunk == 0 &&
		    (rc = pread_all(c->fd, buf, chunk,
				    c->index_off + i * SSDC_ENTRY_SIZE)) != 0)
			return rc;
		if (get_le32(e + 44) != (uint32_t)crc32(0L, e, 44) ||
		    get_le32(e + 40) != 1)
			continue;	/* empty or torn: a miss */
		c->slots[i].prefix = key_prefix(e);
		c->slots[i].seq = get_le64(e + 32);
		ssdc_table_insert(c, i);
		if (c->slots[i].seq > c->seq) {
			c->seq = c->slots[i].seq;
			best = i;
		}
	}
	c->head = c->seq ? (best + 1) % c->nslots : 0;
	return 0;
}

int ssdcache_open(int fd, uint64_t dev_size, uint32_t block_size, int format,
		  struct ssdcache **out)
{
	uint8_t sb[SSDC_SB_SIZE];
	struct ssdcache *c;
	uint64_t tsize = 1;
	int rc;

	if (block_size < 512 || (block_size & (block_size - 1)))
		return -EINVAL;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->fd = fd;
	c->block_size = block_size;
	c->nslots = ssdc_layout(dev_size, block_size, &c->index_off,
				&c->data_off);
	if (!c->nslots) {
		rc = -ENOSPC;
		goto err;
	}
	while (tsize < c->nslots * 2)
		tsize <<= 1;
	c->table_mask = tsize - 1;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->table = malloc(tsize * sizeof(*c->table));
	c->scratch = malloc(block_size);
	if (!c->slots || !c->table || !c->scratch) {
		rc = -ENOMEM;
		goto err;
	}
	memset(c->table, 0xff, tsize * sizeof(*c->table));
	if ((rc = pread_all(fd, sb, sizeof(sb), 0)) != 0)
		goto err;
	if (!ssdc_sb_matches(c, sb)) {
		if (!format) {
			rc = -ENODATA;
			goto err;
		}
		if ((rc = ssdc_format(c)) != 0)
			goto err;
	}
	if ((rc = ssdc_load_index(c)) != 0)
		goto err;
	*out = c;
	return 0;
err:
	ssdcache_close(c);
	return rc;
}

void ssdcache_close(struct ssdcache *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->table);
	free(c->scratch);
	free(c);
}

/* Forget a slot in memory and on disk (invalid entry). */
static int ssdc_drop(struct ssdcache *c, uint64_t slot, uint64_t pos)
{
	uint8_t e[SSDC_ENTRY_SIZE];

	ssdc_table_delete(c, pos);
	c->slots[slot] = (struct ssdc_slot){ 0, 0 };
	ssdc_entry_encode(e, NULL, 0, 0);
	return pwrite_all(c->fd, e, sizeof(e),
			  c->index_off + slot * SSDC_ENTRY_SIZE);
}

int ssdcache_contains(const struct ssdcache *c,
		      const uint8_t key[SSDC_KEY_SIZE])
{
	uint64_t pos;

	return ssdc_table_find(c, key_prefix(key), &pos) != UINT64_MAX;
}

int ssdcache_get_many(struct ssdcache *c, const uint8_t *const keys[],
		      void *const bufs[], size_t n, int rc[])
{
	uint8_t got[SSDC_GET_MAX][SSDC_KEY_SIZE];
	const void *data[SSDC_GET_MAX] = { NULL };
	uint64_t pos[SSDC_GET_MAX], slot[SSDC_GET_MAX];
	size_t i, nread = 0, idx[SSDC_GET_MAX];
	int all = 0;

	if (n > SSDC_GET_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		slot[i] = ssdc_table_find(c, key_prefix(keys[i]), &pos[i]);
		if (slot[i] == UINT64_MAX) {
			rc[i] = -ENOENT;
		} else if (pread_all(c->fd, bufs[i], c->block_size,
				     c->data_off + slot[i] * c->block_size)) {
			rc[i] = -EIO;
		} else {
			rc[i] = 0;
			idx[nread] = i;
			data[nread++] = bufs[i];
		}
	}
	/* end-to-end check: only data that hashes to the key is returned;
	 * the blocks are hashed together (two at a time on SHA-NI) */
	ssdcache_hash_multi(data, c->block_size, nread, got);
	for (i = 0; i < nread; i++) {
		size_t k = idx[i];

		if (memcmp(got[i], keys[k], SSDC_KEY_SIZE) == 0)
			continue;
		c->stats.corrupt++;
		rc[k] = -ENOENT;
		/* the slot may have been dropped for an earlier duplicate */
		if (c->slots[slot[k]].seq &&
		    ssdc_table_find(c, key_prefix(keys[k]), &pos[k]) == slot[k])
			ssdc_drop(c, slot[k], pos[k]);
	}
	for (i = 0; i < n; i++) {
		if (rc[i] == 0)
			c->stats.hits++;
		else
			c->stats.misses++;
		if (rc[i] != 0 && all == 0)
			all = rc[i];
	}
	return all;
}

int ssdcache_get(struct ssdcache *c, const uint8_t key[SSDC_KEY_SIZE],
		 void *buf)
{
	const uint8_t *keys[1] = { key };
	void *bufs[1] = { buf };
	int rc[1];

	ssdcache_get_many(c, keys, bufs, 1, rc);
	return rc[0];
}

int ssdcache_put(struct ssdcache *c, const uint8_t key[SSDC_KEY_SIZE],
		 const void *buf)
{
	uint8_t e[SSDC_ENTRY_SIZE];
	uint64_t slot = c->head, pos;
	int rc;

	if (ssdcache_contains(c, key))
		return 0;
	/* 1. the slot's old block is forgotten before it is overwritten */
	if (c->slots[slot].seq) {
		uint64_t i = ssdc_probe_start(c, c->slots[slot].prefix);

		while (c->table[i] != slot)
			i = (i + 1) & c->table_mask;
		pos = i;
		if ((rc = ssdc_drop(c, slot, pos)) != 0)
			return rc;
	}
	/* 2. data, 3. the entry that makes it findable */
	if ((rc = pwrite_all(c->fd, buf, c->block_size,
			     c->data_off + slot * c->block_size)) != 0)
		return rc;
	c->seq++;
	ssdc_entry_encode(e, key, c->seq, 1);
	if ((rc = pwrite_all(c->fd, e, sizeof(e),
			     c->index_off + slot * SSDC_ENTRY_SIZE)) != 0)
		return rc;
	c->slots[slot] = (struct ssdc_slot){ key_prefix(key), c->seq };
	ssdc_table_insert(c, slot);
	c->head = (slot + 1) % c->nslots;
	c->stats.writes++;
	return 0;
}

uint64_t ssdcache_slots(const struct ssdcache *c)
{
	return c->nslots;
}

const struct ssdc_stats *ssdcache_stats(const struct ssdcache *c)
{
	return &c->stats;
}
