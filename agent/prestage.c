/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A boot woken for overnight pre-staging (server-stub/linkdb/prestage.h):
 * fill the SSD cache with an image version the PC will boot later, then
 * power off. Nothing is mounted and nothing is written but the cache.
 *
 * The version's block-hash table says what each block holds; the SSD
 * cache is keyed by the same hashes (ssdcache.h). So only the blocks the
 * cache lacks are read from the server, from the read-only export
 * NAME@VERSION, each checked against the table before it is kept: blocks
 * shared with the version the PC already runs cost nothing, and all-zero
 * blocks are never fetched (cache.c answers them from the table).
 *
 * The SSD cache is a ring: when it is smaller than the version, the
 * blocks written last stay. So the version's boot pack blocks (what its
 * boots read first) are staged last.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "agent.h"
#include "blockhash.h"
#include "bootpack.h"
#include "cache_setup.h"
#include "http_client.h"
#include "lb_endian.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "nbd_client.h"
#include "nbd_wire.h"
#include "ssdcache.h"

#define PRESTAGE_TABLE_MAX	(256u << 20)	/* as cache_setup.c */
#define PRESTAGE_READ_MAX	(1u << 20)	/* bytes per NBD read */
#define PRESTAGE_REPORT_MS	10000

struct prestage {
	const struct agent_cfg *cfg;
	uint8_t *table;
	struct blockhash_info bi;
	struct ssdcache *ssd;
	int ssd_fd;
	struct nbd_client_conn conn;
	uint8_t zero_key[SSDC_KEY_SIZE];
	uint8_t *in_pack;	/* bit per block: the boot pack has it; NULL:
				 * no pack */
	uint64_t pack_blocks;
	uint8_t *buf;
	uint64_t fetched, bytes, had, zero, bad;
};

static const uint8_t *block_key(const struct prestage *p, uint64_t blk)
{
	return p->table + blockhash_entry_off(blk);
}

/* Does the cache need block blk? (Whole blocks only: the SSD never holds
 * the short last one.) */
static int block_wanted(struct prestage *p, uint64_t blk)
{
	if (blockhash_block_len(&p->bi, blk) != p->bi.block_size)
		return 0;
	if (!memcmp(block_key(p, blk), p->zero_key, SSDC_KEY_SIZE)) {
		p->zero++;
		return 0;
	}
	if (ssdcache_contains(p->ssd, block_key(p, blk))) {
		p->had++;
		return 0;
	}
	return 1;
}

/* NBD_CMD_READ of [off, off + len) into p->buf (NBD protocol document,
 * "Transmission phase": a simple reply, then the data). */
static int nbd_read(struct prestage *p, uint64_t off, uint32_t len)
{
	struct nbd_request rq = { .type = NBD_CMD_READ, .handle = off,
				  .offset = off, .length = len };
	uint8_t h[NBD_REQUEST_SIZE], rh[NBD_SIMPLE_REPLY_SIZE];
	struct nbd_reply rep;
	int rc;

	nbd_build_request(h, sizeof(h), &rq);
	if ((rc = fd_write_full(p->conn.fd, h, sizeof(h))) != 0 ||
	    (rc = fd_read_full(p->conn.fd, rh, sizeof(rh))) != 0)
		return rc;
	if (nbd_parse_reply(rh, sizeof(rh), &rep) != 0 || rep.structured ||
	    rep.handle != off)
		return -EPROTO;
	if (rep.error)
		return -nbd_wire_errno(rep.error);
	return fd_read_full(p->conn.fd, p->buf, len);
}

/* Fetch the run of n wanted blocks from first; keep the ones that match
 * the table. */
static int fetch_run(struct prestage *p, uint64_t first, uint32_t n)
{
	uint32_t bs = p->bi.block_size;
	int rc;

	if ((rc = nbd_read(p, first * bs, n * bs)) != 0)
		return rc;
	p->bytes += (uint64_t)n * bs;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t key[SSDC_KEY_SIZE];
		const uint8_t *b = p->buf + (size_t)i * bs;

		ssdcache_hash(b, bs, key);
		if (memcmp(key, block_key(p, first + i), SSDC_KEY_SIZE)) {
			p->bad++;
			continue;
		}
		if ((rc = ssdcache_put(p->ssd, key, b)) != 0)
			return rc;
		p->fetched++;
	}
	return 0;
}

static int pack_has(const struct prestage *p, uint64_t blk)
{
	return p->in_pack && (p->in_pack[blk / 8] & (1u << (blk % 8)));
}

/* The blocks of one pass in order (pack: the boot pack's, else the
 * others); runs of wanted blocks go out as one read. */
static int fill_pass(struct prestage *p, int pack)
{
	uint32_t per_read = PRESTAGE_READ_MAX / p->bi.block_size;
	uint64_t blk, run_first = 0, step = p->bi.count / 10 + 1;
	uint32_t run = 0;
	int rc;

	if (per_read == 0)
		per_read = 1;
	for (blk = 0; blk < p->bi.count; blk++) {
		if (!pack && blk % step == 0)
			log_info("prestage: %llu%% (%llu blocks fetched, %llu "
				 "had)", (unsigned long long)(blk * 100 /
							      p->bi.count),
				 (unsigned long long)p->fetched,
				 (unsigned long long)p->had);
		if (pack_has(p, blk) == pack && block_wanted(p, blk)) {
			if (run == 0)
				run_first = blk;
			if (++run < per_read)
				continue;
		} else if (run == 0) {
			continue;
		}
		if ((rc = fetch_run(p, run_first, run)) != 0)
			return rc;
		run = 0;
	}
	return run ? fetch_run(p, run_first, run) : 0;
}

static int fill(struct prestage *p)
{
	int rc;

	if ((rc = fill_pass(p, 0)) != 0 || !p->in_pack)
		return rc;
	log_info("prestage: the boot pack's %llu blocks last (a small SSD "
		 "keeps them)", (unsigned long long)p->pack_blocks);
	return fill_pass(p, 1);
}

/* Which blocks the version's boot pack holds (none without a pack). */
static void load_pack_map(struct prestage *p)
{
	const char *slash = strrchr(p->cfg->prestage_hashes, '/');
	struct bp_header h;
	uint8_t *table;
	char path[192];

	if (!slash || snprintf(path, sizeof(path), "%.*s/boot.pack",
			       (int)(slash - p->cfg->prestage_hashes),
			       p->cfg->prestage_hashes) >= (int)sizeof(path) ||
	    pack_extents_get(p->cfg, path, &table, &h) != 0)
		return;
	if (h.block_size == p->bi.block_size &&
	    (p->in_pack = calloc(1, (size_t)(p->bi.count + 7) / 8))) {
		for (uint32_t i = 0; i < h.nextents; i++) {
			const uint8_t *e = table + BOOTPACK_HDR_SIZE +
					   (size_t)i * BOOTPACK_EXTENT_SIZE;
			uint64_t first = get_le64(e);
			uint32_t cnt = get_le32(e + 8);

			for (uint64_t b = first; b < first + cnt &&
			     b < p->bi.count; b++) {
				p->in_pack[b / 8] |= (uint8_t)(1u << (b % 8));
				p->pack_blocks++;
			}
		}
	}
	free(table);
}

static int open_ssd(struct prestage *p, char *why, size_t whysz)
{
	char dev[256];
	uint64_t size;
	int fd, rc;

	if (p->cfg->ssd_mode < 0) {
		snprintf(why, whysz, "the SSD cache is off (linkboot.ssd=off)");
		return -ENODEV;
	}
	if ((rc = cache_partition_open(p->cfg, &fd, &size, dev,
				       sizeof(dev))) != 0) {
		snprintf(why, whysz, "no SSD cache partition (PARTLABEL=%s): "
			 "%s", CACHE_PARTLABEL_NAME, err_str(rc));
		return rc;
	}
	if ((rc = ssdcache_open(fd, size, p->bi.block_size, 1, &p->ssd)) != 0) {
		close(fd);
		snprintf(why, whysz, "SSD cache %.160s: %s", dev, err_str(rc));
		return rc;
	}
	p->ssd_fd = fd;
	log_info("prestage: SSD cache %s, %llu slots of %u KiB", dev,
		 (unsigned long long)ssdcache_slots(p->ssd),
		 p->bi.block_size / 1024);
	return 0;
}

static int open_table(struct prestage *p, char *why, size_t whysz)
{
	size_t len;
	int rc;

	if ((rc = http_get(p->cfg, p->cfg->prestage_hashes, 0, 0,
			   PRESTAGE_TABLE_MAX, &p->table, &len)) != 0) {
		snprintf(why, whysz, "GET /%s: %s", p->cfg->prestage_hashes,
			 err_str(rc));
		return rc;
	}
	if ((rc = blockhash_hdr_parse(p->table, len, len, &p->bi)) != 0) {
		snprintf(why, whysz, "/%s is not a block-hash table",
			 p->cfg->prestage_hashes);
		return rc;
	}
	return 0;
}

static int open_export(struct prestage *p, char *why, size_t whysz)
{
	struct agent_cfg c = *p->cfg;
	int rc;

	snprintf(c.export_name, sizeof(c.export_name), "%s", p->cfg->prestage);
	if ((rc = nbd_client_connect(&c, &p->conn)) != 0) {
		snprintf(why, whysz, "NBD export %s: %s", p->cfg->prestage,
			 err_str(rc));
		return rc;
	}
	if (p->conn.size != p->bi.image_size) {
		snprintf(why, whysz, "export %s has %llu bytes, its table says "
			 "%llu", p->cfg->prestage,
			 (unsigned long long)p->conn.size,
			 (unsigned long long)p->bi.image_size);
		return -EPROTO;
	}
	return 0;
}

static int prestage_fill(struct prestage *p, char *why, size_t whysz)
{
	int rc;

	if ((rc = open_table(p, why, whysz)) != 0 ||
	    (rc = open_ssd(p, why, whysz)) != 0 ||
	    (rc = open_export(p, why, whysz)) != 0)
		return rc;
	if (!(p->buf = calloc(1, MAX(PRESTAGE_READ_MAX, p->bi.block_size)))) {
		snprintf(why, whysz, "out of memory");
		return -ENOMEM;
	}
	ssdcache_hash(p->buf, p->bi.block_size, p->zero_key);
	load_pack_map(p);
	if (ssdcache_slots(p->ssd) < p->bi.count)
		log_info("prestage: the SSD cache holds %llu blocks, the version "
			 "has %llu", (unsigned long long)ssdcache_slots(p->ssd),
			 (unsigned long long)p->bi.count);
	if ((rc = fill(p)) != 0)
		snprintf(why, whysz, "reading %s: %s", p->cfg->prestage,
			 err_str(rc));
	else if (p->bad)
		snprintf(why, whysz, "%llu blocks from the server did not "
			 "match the table (not kept)",
			 (unsigned long long)p->bad);
	return rc ? rc : p->bad ? -EBADMSG : 0;
}

/* POST /prestage: what was done, or why not. */
static void prestage_report(const struct prestage *p, int rc, const char *why)
{
	char body[256];
	struct http_call call = {
		.method = "POST", .path = "prestage", .body = body,
		.bearer = p->cfg->export_name, .max = 512,
		.timeout_ms = PRESTAGE_REPORT_MS,
	};
	uint8_t *resp = NULL;
	size_t len;
	int status;

	if (rc == 0)
		call.body_len = (size_t)snprintf(body, sizeof(body),
			"fetched=%llu\nbytes=%llu\nhad=%llu\n",
			(unsigned long long)p->fetched,
			(unsigned long long)p->bytes,
			(unsigned long long)p->had);
	else
		call.body_len = (size_t)snprintf(body, sizeof(body),
						 "error=%s\n", why);
	if (http_call(p->cfg, &call, &status, &resp, &len) != 0 || status != 200)
		log_warnx("prestage: the server did not take the report%s",
			  resp && len ? ": " : "");
	free(resp);
}

void prestage_run(const struct agent_cfg *cfg)
{
	struct prestage p = { .cfg = cfg, .conn.fd = -1, .ssd_fd = -1 };
	char why[256] = "";
	int64_t t0 = now_ms();
	int rc;

	log_info("prestage: woken to fill the SSD cache with %s",
		 cfg->prestage);
	rc = prestage_fill(&p, why, sizeof(why));
	if (rc == 0)
		log_info("prestage: %s staged in %lld ms: %llu blocks fetched "
			 "(%llu bytes), %llu already on the SSD, %llu zero",
			 cfg->prestage, (long long)(now_ms() - t0),
			 (unsigned long long)p.fetched,
			 (unsigned long long)p.bytes,
			 (unsigned long long)p.had,
			 (unsigned long long)p.zero);
	else
		log_warnx("prestage: %s failed: %s", cfg->prestage, why);
	prestage_report(&p, rc, why);
	nbd_client_close(&p.conn);
	ssdcache_close(p.ssd);
	if (p.ssd_fd >= 0) {
		fsync(p.ssd_fd);	/* the night's work reaches the disk */
		close(p.ssd_fd);
	}
	free(p.buf);
	free(p.in_pack);
	free(p.table);
	log_info("prestage: powering off");
	sync();
	reboot(RB_POWER_OFF);
	agent_panic("powering off after pre-staging", strerror(errno),
		    "the kernel's power management (ACPI)");
}
