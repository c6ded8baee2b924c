/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_CACHE_SETUP_H
#define LB_AGENT_CACHE_SETUP_H

/*
 * The daemon's start of the cache stack (cache.h): fetch the booted
 * version's block-hash table (linkboot.hashes) over HTTP, find and open
 * the SSD cache partition (PARTLABEL linkboot-cache, libblkid), then
 * stream the version's boot pack into RAM (unless the SSD has it all).
 */

#include <stddef.h>
#include <stdint.h>

struct agent_cfg;
struct cache;

/* http_client.c: GET /path from linkboot.http; range_end > range_first asks
 * for bytes [range_first, range_end) only (the server may send all).
 * *body is malloc'ed. -ENOENT for a 404. */
int http_get(const struct agent_cfg *cfg, const char *path,
	     uint64_t range_first, uint64_t range_end, size_t max,
	     uint8_t **body, size_t *len);

#define CACHE_PARTLABEL_NAME "linkboot-cache"

/* ssd_auto.c: GPT + partition CACHE_PARTLABEL_NAME on the first blank
 * whole disk. 0, or -ENODEV when no disk qualifies. */
int ssd_auto_create(void);

/* Find (or, with linkboot.ssd=auto, create) and open the cache partition,
 * exclusively; size capped by linkboot.ssd=MiB. 0 or -errno (-ENOENT: none). */
int cache_partition_open(const struct agent_cfg *cfg, int *fd, uint64_t *size,
			 char *dev, size_t devsz);

/* A version's boot pack header and extent table (HTTP Range GETs of path,
 * "boot/<id>/v<N>/boot.pack"), without its blocks: 0 with *table
 * (malloc'ed: BOOTPACK_HDR_SIZE + h->nextents extents) and *h; -ENOENT:
 * no pack. */
struct bp_header;
int pack_extents_get(const struct agent_cfg *cfg, const char *path,
		     uint8_t **table, struct bp_header *h);

/* The stack for an export of image_size bytes (NULL: out of memory). */
struct cache *cache_setup(const struct agent_cfg *cfg, uint64_t image_size);

/* Copy the cache's counters into agent_stats (for reports). */
void cache_export_stats(const struct cache *c);

/* One log line: per-layer hits, bytes from the server, failed checks. */
void cache_log_stats(const struct cache *c);

#endif
