/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Start of the cache stack (see cache_setup.h): hash table, SSD partition,
 * boot pack. Everything here is best effort: without a table the RAM
 * cache works unverified and the SSD layer is off; without a partition
 * there is no SSD layer; without a pack the first reads go to the server.
 */

#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bcache.h"
#include "blockhash.h"
#include "bootpack.h"
#include "cache.h"
#include "cache_setup.h"
#include "hashidx.h"
#include "http_client.h"
#include "lb_endian.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "ssdcache.h"

#define CACHE_PARTLABEL CACHE_PARTLABEL_NAME
#define TABLE_MAX (256u << 20)	/* 512 TiB of image at 64 KiB blocks */
#define PACK_MAX (512u << 20)
#define PART_WAIT_TRIES 30	/* x 100 ms: disk drivers probe late */

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Any local disk at all (not nbd, loop, ram, zram, cdrom)? */
static int any_disk(void)
{
	static const char *const skip[] = { "nbd", "loop", "ram", "zram", "sr" };
	struct dirent *de;
	DIR *d = opendir("/sys/block");
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		size_t i;

		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < ARRAY_SIZE(skip); i++)
			if (!strncmp(de->d_name, skip[i], strlen(skip[i])))
				break;
		found = i == ARRAY_SIZE(skip);
	}
	closedir(d);
	return found;
}

static int find_partition(char *dev, size_t devsz)
{
	int i;

	for (i = 0; i < PART_WAIT_TRIES; i++) {
		char *p = blkid_evaluate_tag("PARTLABEL", CACHE_PARTLABEL, NULL);

		if (p) {
			int rc = strlcpy_chk(dev, p, devsz);

			free(p);
			return rc ? -ENAMETOOLONG : 0;
		}
		/* no disk after a second: a diskless PC, do not wait */
		if (i >= 10 && !any_disk())
			break;
		pause_ms(100);
	}
	return -ENOENT;
}

static int dev_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) == 0 ? 0 : -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

int cache_partition_open(const struct agent_cfg *cfg, int *fdp,
			 uint64_t *sizep, char *dev, size_t devsz)
{
	uint64_t size;
	int fd, rc;

	rc = find_partition(dev, devsz);
	/* auto: a blank disk gets the partition (never any other disk) */
	if (rc == -ENOENT && cfg->ssd_mode == 0 && ssd_auto_create() == 0)
		rc = find_partition(dev, devsz);
	if (rc != 0) {
		log_info("cache: no partition with PARTLABEL=%s%s", CACHE_PARTLABEL,
			 cfg->ssd_mode == 0 ? " and no blank disk for one" : "");
		return rc;
	}
	/* O_EXCL: nobody mounts it under us */
	if ((fd = open(dev, O_RDWR | O_EXCL | O_CLOEXEC)) < 0) {
		rc = -errno;
		log_warn("cache: %s", dev);
		return rc;
	}
	if ((rc = dev_size(fd, &size)) != 0) {
		close(fd);
		return rc;
	}
	if (cfg->ssd_mode > 0)
		size = MIN(size, (uint64_t)cfg->ssd_mode << 20);
	*fdp = fd;
	*sizep = size;
	return 0;
}

static int ssd_open(const struct agent_cfg *cfg, uint32_t bs,
		    struct ssdcache **ssd, int *fdp)
{
	char dev[256];
	uint64_t size;
	int fd, rc;

	if (cfg->ssd_mode < 0)
		return -ENODEV;
	if (cfg->write_mode == WRITE_DISK) {
		/* the partition is the overlay's upper ext4 (rootfs.c) */
		log_info("cache: write mode disk uses %s for the overlay: no "
			 "SSD block cache", CACHE_PARTLABEL);
		return -ENODEV;
	}
	if ((rc = cache_partition_open(cfg, &fd, &size, dev, sizeof(dev)))) {
		log_info("cache: no SSD cache");
		return rc;
	}
	if ((rc = ssdcache_open(fd, size, bs, 1, ssd)) != 0) {
		log_warnx("cache: SSD cache on %s: %s", dev, err_str(rc));
		close(fd);
		return rc;
	}
	log_info("cache: SSD cache on %s, %llu MiB, %llu blocks", dev,
		 (unsigned long long)(size >> 20),
		 (unsigned long long)ssdcache_slots(*ssd));
	*fdp = fd;
	return 0;
}

/* A server/super export is the version plus the PC's writes. */
static int written_mode(const struct agent_cfg *cfg)
{
	return cfg->write_mode == WRITE_SERVER || cfg->write_mode == WRITE_SUPER;
}

/* The SSD read cache: read-only exports (a written export's cache
 * partition is its write overlay's second tier, overlay_setup.c). */
static int verified_mode(const struct agent_cfg *cfg)
{
	return cfg->hashes[0] && !written_mode(cfg);
}

#define OVERLAY_MAP_MAX	16384

/* "FIRST COUNT" lines into bm (nblocks bits); 0 or -EPROTO. */
static int map_parse_runs(const char *p, uint8_t *bm, uint64_t nblocks)
{
	unsigned long long first, count;
	int used;

	while (*p) {
		if (sscanf(p, "%llu %llu\n%n", &first, &count, &used) != 2 ||
		    first > nblocks || count > nblocks - first)
			return -EPROTO;
		for (uint64_t b = first; b < first + count; b++)
			bm[b / 8] |= (uint8_t)(1u << (b % 8));
		p += used;
	}
	return 0;
}

/*
 * A written export's blocks that are the PC's (its server overlay, GET
 * /overlay-map with the boot's credential): *bm (malloc'ed, bit b = block
 * b of block_size), the rest of the export is the version and is checked
 * against the table. 0 or -errno (then nothing is checked).
 */
static int fetch_overlay_map(const struct agent_cfg *cfg, uint32_t block_size,
			     uint64_t image_size, uint8_t **bm, size_t *bmlen)
{
	struct http_call call = {
		.method = "GET", .path = "overlay-map",
		.bearer = cfg->export_name, .max = OVERLAY_MAP_MAX,
		.timeout_ms = 10000,
	};
	unsigned long long nblocks;
	unsigned bs;
	uint8_t *body = NULL;
	size_t len;
	int status = 0, used = 0, rc;

	if ((rc = http_call(cfg, &call, &status, &body, &len)) != 0)
		return rc;
	rc = -EPROTO;
	if (status != 200 || sscanf((char *)body, "LBMAP1 %u %llu\n%n", &bs,
				    &nblocks, &used) != 2 || used == 0 ||
	    bs != block_size ||
	    nblocks != image_size / block_size + !!(image_size % block_size))
		goto out;
	*bmlen = (size_t)(nblocks / 8 + 1);
	rc = -ENOMEM;
	if (!(*bm = calloc(1, *bmlen)))
		goto out;
	if ((rc = map_parse_runs((char *)body + used, *bm, nblocks)) != 0) {
		free(*bm);
		*bm = NULL;
	}
out:
	if (rc && status != 200 && status)
		log_warnx("cache: GET /overlay-map: HTTP %d: %.*s", status,
			  (int)strcspn((char *)body, "\n"), (char *)body);
	free(body);
	return rc;
}

static void chunk_key(const uint8_t *chunk, uint8_t key[SSDC_KEY_SIZE])
{
	ssdcache_hash(chunk, HASHIDX_CHUNK, key);
}

/*
 * The table through its index (hashidx.h): chunks the SSD holds are read
 * from it (verified by ssdcache_get() against the index's key), the rest
 * come in one GET and go to the SSD for the next boot. *http: bytes
 * fetched. -ENOENT: the server has no index: the caller GETs the whole
 * table.
 */
static int table_via_ssd(const struct agent_cfg *cfg, struct ssdcache *ssd,
			 uint8_t **t, size_t *tlen, uint64_t *http)
{
	char path[200];
	struct hashidx_info hi;
	uint8_t *idx = NULL, *tab = NULL, *full = NULL, key[SSDC_KEY_SIZE];
	size_t ilen, flen;
	uint32_t i, missing = 0;
	int rc;

	if (snprintf(path, sizeof(path), "%s.idx", cfg->hashes) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((rc = http_get(cfg, path, 0, 0, TABLE_MAX, &idx, &ilen)) != 0)
		return rc;
	*http += ilen;
	if ((rc = hashidx_parse(idx, ilen, &hi)) != 0)
		goto out;
	rc = -ENOMEM;
	if (!(tab = malloc((size_t)hi.count * HASHIDX_CHUNK)))
		goto out;
	for (i = 0; i < hi.count; i++)
		if (ssdcache_get(ssd, idx + HASHIDX_HDR_LEN + (size_t)i * 32,
				 tab + (size_t)i * HASHIDX_CHUNK) != 0)
			missing++;
	if (missing) {
		if ((rc = http_get(cfg, cfg->hashes, 0, 0, TABLE_MAX, &full,
				   &flen)) != 0)
			goto out;
		*http += flen;
		rc = -EBADMSG;
		if (flen != hi.table_len)
			goto out;
		memset(tab, 0, (size_t)hi.count * HASHIDX_CHUNK);
		memcpy(tab, full, flen);
		for (i = 0; i < hi.count; i++) {
			uint8_t *c = tab + (size_t)i * HASHIDX_CHUNK;

			chunk_key(c, key);
			if (memcmp(key, idx + HASHIDX_HDR_LEN + (size_t)i * 32,
				   sizeof(key)) != 0)
				goto out;	/* torn transfer: no table */
			ssdcache_put(ssd, key, c);
		}
	}
	log_info("cache: block-hash table: %u of %u chunks from the SSD, %llu "
		 "bytes over HTTP", hi.count - missing, hi.count,
		 (unsigned long long)*http);
	*t = tab;
	*tlen = (size_t)hi.table_len;
	tab = NULL;
	rc = 0;
out:
	free(idx);
	free(tab);
	free(full);
	return rc;
}

/* The table, if the boot script named one and the server has it. */
static int fetch_table(const struct agent_cfg *cfg, struct ssdcache *ssd,
		       uint8_t **t, size_t *len, uint64_t *http)
{
	int rc;

	*http = 0;
	if (ssd && table_via_ssd(cfg, ssd, t, len, http) == 0)
		return 0;
	rc = http_get(cfg, cfg->hashes, 0, 0, TABLE_MAX, t, len);
	if (rc)
		log_warnx("cache: GET /%s: %s", cfg->hashes, err_str(rc));
	else
		*http += *len;
	return rc;
}

/* boot/<id>/v<N>/hashes -> boot/<id>/v<N>/boot.pack */
static int pack_path(const struct agent_cfg *cfg, char *out, size_t outsz)
{
	const char *slash = strrchr(cfg->hashes, '/');
	int n;

	if (!slash)
		return -EINVAL;
	n = snprintf(out, outsz, "%.*s/boot.pack",
		     (int)(slash - cfg->hashes), cfg->hashes);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

int pack_extents_get(const struct agent_cfg *cfg, const char *path,
		     uint8_t **table, struct bp_header *h)
{
	uint8_t *b = NULL;
	size_t len;
	uint32_t n;
	int rc;

	*table = NULL;
	if ((rc = http_get(cfg, path, 0, BOOTPACK_HDR_SIZE, PACK_MAX, &b, &len)))
		return rc;
	n = len >= 16 ? get_le32(b + 12) : 0;
	free(b);
	if (n == 0 || n > BOOTPACK_MAX_EXTENTS)
		return -EBADMSG;
	if ((rc = http_get(cfg, path, 0, BOOTPACK_HDR_SIZE +
			   (uint64_t)n * BOOTPACK_EXTENT_SIZE, PACK_MAX, &b,
			   &len)))
		return rc;
	if ((rc = bootpack_parse_header(b, len, h)) != 0) {
		free(b);
		return rc;
	}
	*table = b;
	return 0;
}

/* With a warm SSD, the pack is only worth its download if the SSD
 * misses some of its blocks: read its extent table first (Range). */
static int ssd_has_pack(const struct agent_cfg *cfg, struct cache *c,
			const char *path, uint64_t *nblocks)
{
	struct bp_header h;
	uint8_t *b = NULL;
	uint32_t i;
	int rc;

	*nblocks = 0;
	if ((rc = pack_extents_get(cfg, path, &b, &h)) != 0)
		return rc;
	rc = 1;
	for (i = 0; i < h.nextents; i++) {
		const uint8_t *e = b + BOOTPACK_HDR_SIZE +
				   (size_t)i * BOOTPACK_EXTENT_SIZE;
		uint64_t first = get_le64(e), k;
		uint32_t cnt = get_le32(e + 8);

		for (k = 0; k < cnt; k++, (*nblocks)++)
			if (!cache_ssd_has(c, first + k))
				rc = 0;
	}
	free(b);
	return rc;
}

/*
 * No pack yet: is it our boot the server traces for it (the version's
 * first client boot)? The trace lists what the server sends us; blocks
 * our SSD holds already (keyed by content: from other versions or
 * images) would be missing from it, and from every later pack. So the
 * traced boot reads past the SSD until the window ends.
 */
static void pack_traced(const struct agent_cfg *cfg, struct cache *c)
{
	char path[64], macs[18], text[64];
	long long ms = 0;
	uint8_t *b;
	size_t len;

	if (!cfg->has_mac || !cache_has_ssd(c))
		return;
	mac_format(cfg->mac, macs);
	snprintf(path, sizeof(path), "boottrace?mac=%s", macs);
	if (http_get(cfg, path, 0, 0, sizeof(text) - 1, &b, &len) != 0)
		return;		/* an older server: no such question */
	memcpy(text, b, len);
	text[len] = '\0';
	free(b);
	if (sscanf(text, "traced_ms=%lld", &ms) != 1 || ms <= 0)
		return;
	cache_ssd_reads_off(c, now_ms() + ms);
	log_info("cache: the server traces this boot for the boot pack: no "
		 "SSD reads for %lld s", (ms + 999) / 1000);
}

static int pack_block(void *arg, uint64_t blk, const void *data)
{
	/* a bad block is counted, skipped; a full RAM without SSD ends it */
	return cache_preload(arg, blk, data) == -ENOSPC ? -ENOSPC : 0;
}

static void pack_load(const struct agent_cfg *cfg, struct cache *c,
		      uint64_t image_size)
{
	int64_t t0 = now_ms();
	struct bp_header h;
	char path[200];
	uint64_t n;
	uint8_t *b;
	size_t len;
	int rc;

	if (pack_path(cfg, path, sizeof(path)) != 0)
		return;
	if (!cache_has_ssd(c) && bcache_slots(cache_bcache(c)) < 4)
		return;		/* nowhere to put it */
	if (cache_has_ssd(c) && ssd_has_pack(cfg, c, path, &n) == 1) {
		log_info("cache: the SSD holds all %llu blocks of the boot "
			 "pack: not fetched", (unsigned long long)n);
		return;
	}
	if ((rc = http_get(cfg, path, 0, 0, PACK_MAX, &b, &len)) != 0) {
		if (rc != -ENOENT)
			log_warnx("cache: GET /%s: %s", path, err_str(rc));
		else
			log_info("cache: no boot pack for this version yet");
		if (rc == -ENOENT)
			pack_traced(cfg, c);
		return;
	}
	cache_add_http_bytes(c, len);
	rc = bootpack_parse_header(b, len, &h);
	if (!rc && (h.block_size != cache_block_size(c) ||
		    h.image_size != image_size))
		rc = -ESTALE;
	if (!rc && (rc = bootpack_decode(b, len, pack_block, c)) == -ENOSPC) {
		log_info("cache: boot pack: RAM holds its first %llu blocks, no "
			 "SSD for the rest", (unsigned long long)
			 cache_stats(c)->pack_blocks);
		rc = 0;
	}
	if (rc)
		log_warnx("cache: boot pack /%s: %s", path, err_str(rc));
	else
		log_info("cache: boot pack: %llu blocks (%zu bytes) in %lld ms, "
			 "%llu failed verification",
			 (unsigned long long)cache_stats(c)->pack_blocks, len,
			 (long long)(now_ms() - t0),
			 (unsigned long long)cache_stats(c)->pack_bad);
	free(b);
}

/* Blocks the cache counts as the PC's own. */
static uint64_t map_count(const struct cache *c, uint64_t image_size)
{
	uint64_t n = 0, bs = cache_block_size(c);

	for (uint64_t b = 0; b * bs < image_size; b++)
		n += cache_block_written(c, b);
	return n;
}

struct cache *cache_setup(const struct agent_cfg *cfg, uint64_t image_size)
{
	struct cache_cfg cc = {
		.image_size = image_size,
		.block_size = BLOCKHASH_DEFAULT_BS,
		.ram_bytes = (uint64_t)cfg->ram_mib << 20,
		.ssd_fd = -1,
	};
	struct blockhash_info bi;
	struct cache *c;
	uint8_t *t = NULL, *map = NULL;
	size_t tlen = 0, maplen = 0;
	uint64_t http = 0;
	int rc;

	/* the SSD first: it may hold the table's chunks (64 KiB blocks,
	 * the size every table of ours has) */
	if (verified_mode(cfg))
		ssd_open(cfg, BLOCKHASH_DEFAULT_BS, &cc.ssd, &cc.ssd_fd);
	if (cfg->hashes[0] && fetch_table(cfg, cc.ssd, &t, &tlen,
					  &http) == 0) {
		if (blockhash_hdr_parse(t, tlen, tlen, &bi) == 0 &&
		    bi.image_size == image_size &&
		    bi.block_size == BLOCKHASH_DEFAULT_BS) {
			cc.hashes = t;
			cc.hashes_len = tlen;
			cc.block_size = bi.block_size;
		} else {
			tlen = 0;
			log_warnx("cache: /%s is not the table of this %llu-byte "
				  "export: ignored", cfg->hashes,
				  (unsigned long long)image_size);
		}
	}
	/* a written export: checked too, but for the PC's own blocks */
	if (cc.hashes && written_mode(cfg)) {
		if ((rc = fetch_overlay_map(cfg, cc.block_size, image_size,
					    &map, &maplen)) == 0) {
			cc.written = map;
			cc.written_len = maplen;
			cc.track_writes = 1;
		} else {
			log_warnx("cache: no overlay map (%s): blocks "
				  "unchecked", err_str(rc));
			cc.hashes = NULL;
			cc.hashes_len = 0;
		}
	}
	rc = cache_new(&cc, &c);
	free(t);
	free(map);
	if (rc) {
		log_warnx("cache: %s", err_str(rc));
		return NULL;
	}
	cache_add_http_bytes(c, http);
	if (cache_verified(c) && written_mode(cfg))
		log_info("cache: RAM %u MiB, %u KiB blocks, every block of the "
			 "version verified against /%s (the PC's own blocks "
			 "not: %llu in the server's overlay at start)",
			 cfg->ram_mib, cache_block_size(c) / 1024, cfg->hashes,
			 (unsigned long long)map_count(c, image_size));
	else if (cache_verified(c))
		log_info("cache: RAM %u MiB, SSD %s, %u KiB blocks, every block "
			 "verified against /%s", cfg->ram_mib,
			 cache_has_ssd(c) ? "on" : "off",
			 cache_block_size(c) / 1024, cfg->hashes);
	else
		log_info("cache: RAM %u MiB, %u KiB blocks, UNVERIFIED (no "
			 "block-hash table%s): SSD cache off", cfg->ram_mib,
			 cache_block_size(c) / 1024,
			 cfg->write_mode >= WRITE_SERVER ?
			 " or overlay map for a written export" :
			 " from the server");
	if (cache_verified(c))
		pack_load(cfg, c, image_size);
	return c;
}

void cache_export_stats(const struct cache *c)
{
	const struct cache_stats *st;

	if (!c)
		return;
	st = cache_stats(c);
	agent_stats.ram_hits = st->ram_hits;
	agent_stats.ram_misses = st->ram_misses;
	agent_stats.ssd_hits = st->ssd_hits;
	agent_stats.ssd_misses = st->ssd_misses;
	/* everything that came over the network: NBD, table, pack */
	agent_stats.bytes_from_server = st->bytes_from_server + st->bytes_http;
}

static unsigned pct(uint64_t part, uint64_t whole)
{
	return whole ? (unsigned)(part * 100 / whole) : 0;
}

void cache_log_stats(const struct cache *c)
{
	const struct cache_stats *st;

	if (!c)
		return;
	st = cache_stats(c);
	log_info("cache: RAM %llu hits / %llu misses (%u%%), SSD %llu hits / "
		 "%llu misses (%u%%), %llu zero blocks not fetched, %llu SSD "
		 "blocks failed verification, "
		 "%llu network blocks refetched; from server: %llu bytes NBD "
		 "+ %llu bytes HTTP",
		 (unsigned long long)st->ram_hits,
		 (unsigned long long)st->ram_misses,
		 pct(st->ram_hits, st->ram_hits + st->ram_misses),
		 (unsigned long long)st->ssd_hits,
		 (unsigned long long)st->ssd_misses,
		 pct(st->ssd_hits, st->ssd_hits + st->ssd_misses),
		 (unsigned long long)st->zero_hits,
		 (unsigned long long)st->ssd_corrupt,
		 (unsigned long long)st->verify_failed,
		 (unsigned long long)st->bytes_from_server,
		 (unsigned long long)st->bytes_http);
}
