/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/cache.sh's driver (not a test): replay a read trace ("OFFSET
 * LENGTH" lines) over NBD, either through the agent's cache stack
 * (agent/cache.c: RAM -> SSD file -> server, verified) or straight to the
 * server (for nbdkit's cache filter in front of it). One request at a
 * time, like a boot's dependent reads; prints latency percentiles.
 *
 *   cache_replay [-r RAM_MIB] [-t HASHES] [-s SSD_FILE] [-p PASSES]
 *                HOST PORT EXPORT TRACE
 *
 * Built by bench/cache.sh against build/libagent.a and build/liblb.a.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../agent/agent.h"
#include "../agent/cache.h"
#include "../agent/nbd_client.h"
#include "nbd_wire.h"
#include "../agent/ssdcache.h"
#include "lb_util.h"

struct req {
	uint64_t off;
	uint32_t len;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int nbd_read(struct nbd_conn *c, uint64_t off, uint32_t len, void *buf)
{
	static uint64_t handle;
	uint8_t h[NBD_REQUEST_SIZE], r[NBD_SIMPLE_REPLY_SIZE];
	struct nbd_request q = { .type = NBD_CMD_READ, .handle = ++handle,
				 .offset = off, .length = len };
	struct nbd_reply rep;
	int rc;

	nbd_build_request(h, sizeof(h), &q);
	if ((rc = fd_write_full(c->fd, h, sizeof(h))) != 0 ||
	    (rc = fd_read_full(c->fd, r, sizeof(r))) != 0)
		return rc;
	if (nbd_parse_reply(r, sizeof(r), &rep) != 0 || rep.structured ||
	    rep.error)
		return -EIO;
	return fd_read_full(c->fd, buf, len);
}

static int load_trace(const char *path, struct req **out, size_t *n)
{
	unsigned long long off;
	unsigned len;
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	*out = NULL;
	*n = 0;
	if (!f)
		return -errno;
	while (fscanf(f, "%llu %u", &off, &len) == 2) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4096;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				return -ENOMEM;
		}
		(*out)[(*n)++] = (struct req){ off, len };
	}
	fclose(f);
	return 0;
}

static uint8_t *load_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		return NULL;
	b = malloc((size_t)st.st_size);
	if (b && read(fd, b, (size_t)st.st_size) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct agent_cfg cfg;
	struct nbd_conn conn = { .fd = -1 };
	struct cache *cache = NULL;
	struct cache_cfg cc = { .block_size = 65536, .ssd_fd = -1 };
	const char *hashes = NULL, *ssd = NULL;
	unsigned ram_mib = 0, passes = 1;
	struct req *tr;
	size_t n, tlen = 0;
	uint8_t *buf, *out, *table = NULL;
	int64_t *lat;
	int opt, rc;

	while ((opt = getopt(argc, argv, "r:t:s:p:")) != -1) {
		switch (opt) {
		case 'r': ram_mib = (unsigned)atoi(optarg); break;
		case 't': hashes = optarg; break;
		case 's': ssd = optarg; break;
		case 'p': passes = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 4) {
		fprintf(stderr, "usage: cache_replay [-r MiB] [-t HASHES] "
			"[-s SSD] [-p PASSES] HOST PORT EXPORT TRACE\n");
		return 2;
	}
	cmdline_defaults(&cfg);
	cfg.nservers = 1;
	cfg.server[0].sin_family = AF_INET;
	cfg.server[0].sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	inet_pton(AF_INET, argv[optind], &cfg.server[0].sin_addr);
	snprintf(cfg.export_name, sizeof(cfg.export_name), "%s",
		 argv[optind + 2]);
	if (load_trace(argv[optind + 3], &tr, &n) != 0 || n == 0 ||
	    nbd_client_connect(&cfg, &conn) != 0) {
		fprintf(stderr, "cache_replay: trace or connect failed\n");
		return 1;
	}
	if (hashes || ram_mib || ssd) {
		cc.image_size = conn.size;
		cc.ram_bytes = (uint64_t)ram_mib << 20;
		if (hashes && (table = load_file(hashes, &tlen))) {
			cc.hashes = table;
			cc.hashes_len = tlen;
		}
		if (ssd) {
			struct stat st;

			cc.ssd_fd = open(ssd, O_RDWR);
			if (cc.ssd_fd < 0 || fstat(cc.ssd_fd, &st) != 0 ||
			    ssdcache_open(cc.ssd_fd, (uint64_t)st.st_size,
					  65536, 1, &cc.ssd) != 0)
				return 1;
		}
		if ((rc = cache_new(&cc, &cache)) != 0) {
			fprintf(stderr, "cache_new: %s\n", strerror(-rc));
			return 1;
		}
	}
	buf = malloc(CACHE_FETCH_MAX);
	out = malloc(CACHE_FETCH_MAX);
	lat = calloc(n, sizeof(*lat));
	for (unsigned p = 0; p < passes; p++) {
		uint64_t bytes = 0;

		for (size_t i = 0; i < n; i++) {
			struct cache_span sp;
			int64_t t0 = now_us();

			if (tr[i].len > 128 * 1024 || tr[i].off + tr[i].len > conn.size)
				continue;
			if (!cache) {
				rc = nbd_read(&conn, tr[i].off, tr[i].len, out);
				bytes += tr[i].len;
			} else if ((rc = cache_read(cache, tr[i].off, tr[i].len,
						    out, &sp)) == 0) {
				rc = nbd_read(&conn, sp.off, sp.len, buf);
				bytes += sp.len;
				if (!rc)
					rc = cache_fill(cache, &sp, buf);
			} else {
				rc = rc == 1 ? 0 : -EIO;
			}
			if (rc) {
				fprintf(stderr, "read %llu+%u: %s\n",
					(unsigned long long)tr[i].off,
					tr[i].len, strerror(-rc));
				return 1;
			}
			lat[i] = now_us() - t0;
		}
		qsort(lat, n, sizeof(*lat), cmp64);
		printf("pass %u: %zu reads, p50 %lld us, p99 %lld us, max %lld "
		       "us, %llu bytes over NBD", p + 1, n,
		       (long long)lat[n / 2], (long long)lat[n * 99 / 100],
		       (long long)lat[n - 1], (unsigned long long)bytes);
		if (cache)
			printf(", RAM hits %llu, SSD hits %llu",
			       (unsigned long long)cache_stats(cache)->ram_hits,
			       (unsigned long long)cache_stats(cache)->ssd_hits);
		printf("\n");
	}
	cache_free(cache);
	nbd_client_close(&conn);
	free(tr);
	free(buf);
	free(out);
	free(lat);
	free(table);
	return 0;
}
