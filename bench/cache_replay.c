/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/cache.sh's driver (not a test): replay a read trace ("OFFSET
 * LENGTH" lines) one request at a time, like a boot's dependent reads,
 * and print latency percentiles per pass. Every timed read is one NBD
 * round trip from this process (playing nbd.ko) to:
 *
 *   plain            an NBD server at HOST PORT (TCP) or HOST = a unix
 *                    socket path: e.g. nbdkit's cache filter
 *   -r/-t/-s         the agent's serve loop (serve_socket() in
 *                    agent/disk_serve.c, the code nbd.ko talks to) on an AF_UNIX socketpair,
 *                    in a thread, with its cache stack (agent/cache.c: RAM
 *                    -> SSD file -> the server at HOST PORT, verified)
 *   ... -d           the cache stack called directly, no NBD round trip
 *                    to the agent (what the cache alone costs)
 *
 *   cache_replay [-r RAM_MIB] [-t HASHES] [-s SSD_FILE] [-d] [-p PASSES]
 *                [-c IMAGE] [-A CPU] HOST PORT EXPORT TRACE
 *
 * -c: compare every read with the image file (outside the timing).
 * -A CPU: pin the agent's serve thread to CPU (the replay itself is
 *         pinned from outside, by taskset).
 *
 * Built by bench/cache.sh with agent_bench.c against build/libagent.a and
 * build/liblb.a.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_bench.h"
#include "../agent/nbd_client.h"
#include "nbd_wire.h"
#include "../agent/ssdcache.h"
#include "lb_util.h"

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One NBD_CMD_READ round trip on fd (NBD proto.md "Transmission"). */
static int nbd_read(int fd, uint64_t off, uint32_t len, void *buf)
{
	static uint64_t handle;
	uint8_t h[NBD_REQUEST_SIZE], r[NBD_SIMPLE_REPLY_SIZE];
	struct nbd_request q = { .type = NBD_CMD_READ, .handle = ++handle,
				 .offset = off, .length = len };
	struct nbd_reply rep;
	int rc;

	nbd_build_request(h, sizeof(h), &q);
	if ((rc = fd_write_full(fd, h, sizeof(h))) != 0 ||
	    (rc = fd_read_full(fd, r, sizeof(r))) != 0)
		return rc;
	if (nbd_parse_reply(r, sizeof(r), &rep) != 0 || rep.structured ||
	    rep.error || rep.handle != handle)
		return -EIO;
	return fd_read_full(fd, buf, len);
}

/* nbdkit -U PATH: the same handshake as over TCP */
static int unix_connect(const char *path, const char *export,
			struct nbd_client_conn *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		return -errno;
	return nbd_client_handshake(c, export);
}

static int cache_direct_read(struct cache *cache, int sfd, uint64_t off,
			     uint32_t len, uint8_t *out, uint8_t *buf)
{
	struct cache_span sp;
	int rc;

	if ((rc = cache_read(cache, off, len, out, &sp)) == 1)
		return 0;
	if (rc != 0)
		return -EIO;
	if ((rc = nbd_read(sfd, sp.off, sp.len, buf)) != 0 ||
	    (rc = cache_fill(cache, &sp, buf)) != 0)
		cache_abort(cache, &sp);
	return rc;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct agent_cfg cfg;
	struct nbd_client_conn conn = { .fd = -1 };
	struct agent_thread agent;
	struct cache *cache = NULL;
	struct cache_stats last = { 0 };
	const char *hashes = NULL, *ssd = NULL, *host, *image = NULL;
	unsigned ram_mib = 0, passes = 1;
	int direct = 0, fd = -1, imgfd = -1, agent_cpu = -1, opt, rc;
	struct req *tr;
	size_t n;
	uint8_t *buf, *out, *want, *table = NULL;
	int64_t *lat;

	while ((opt = getopt(argc, argv, "r:t:s:p:dc:A:")) != -1) {
		switch (opt) {
		case 'r': ram_mib = (unsigned)atoi(optarg); break;
		case 't': hashes = optarg; break;
		case 's': ssd = optarg; break;
		case 'p': passes = (unsigned)atoi(optarg); break;
		case 'd': direct = 1; break;
		case 'c': image = optarg; break;
		case 'A': agent_cpu = atoi(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 4) {
		fprintf(stderr, "usage: cache_replay [-r MiB] [-t HASHES] "
			"[-s SSD] [-d] [-p PASSES] [-c IMAGE] [-A CPU] HOST PORT "
			"EXPORT TRACE\n");
		return 2;
	}
	host = argv[optind];
	cmdline_defaults(&cfg);
	cfg.nservers = 1;
	cfg.server[0].sin_family = AF_INET;
	cfg.server[0].sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	inet_pton(AF_INET, host, &cfg.server[0].sin_addr);
	snprintf(cfg.export_name, sizeof(cfg.export_name), "%s",
		 argv[optind + 2]);
	if (bench_load_trace(argv[optind + 3], &tr, &n) != 0 || n == 0 ||
	    (host[0] == '/' ? unix_connect(host, cfg.export_name, &conn) :
	     nbd_client_connect(&cfg, &conn)) != 0) {
		fprintf(stderr, "cache_replay: trace or connect failed\n");
		return 1;
	}
	fd = conn.fd;
	if (image && (imgfd = open(image, O_RDONLY)) < 0) {
		perror(image);
		return 1;
	}
	if (hashes || ram_mib || ssd) {
		if (!(cache = bench_make_cache(ram_mib, hashes, ssd, conn.size,
					 &table)))
			return 1;
		/* like serve_child(): no page faults on the I/O path */
		if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
			perror("cache_replay: mlockall");
		if (!direct) {
			/* the agent connects to the server itself */
			nbd_client_close(&conn);
			if ((rc = bench_agent_start(&agent, &cfg, cache,
						    agent_cpu, NULL, &fd)) != 0)
				return 1;
		}
	}
	buf = malloc(CACHE_FETCH_MAX);
	out = malloc(CACHE_FETCH_MAX);
	want = malloc(CACHE_FETCH_MAX);
	lat = calloc(n, sizeof(*lat));
	for (unsigned p = 0; p < passes; p++) {
		uint64_t bytes = 0;
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			int64_t t0 = now_us();

			if (tr[i].len > 128 * 1024 ||
			    tr[i].off + tr[i].len > conn.size)
				continue;
			if (cache && direct)
				rc = cache_direct_read(cache, fd, tr[i].off,
						       tr[i].len, out, buf);
			else
				rc = nbd_read(fd, tr[i].off, tr[i].len, out);
			if (rc) {
				fprintf(stderr, "read %llu+%u: %s\n",
					(unsigned long long)tr[i].off,
					tr[i].len, strerror(-rc));
				return 1;
			}
			lat[m++] = now_us() - t0;
			bytes += tr[i].len;
			if (imgfd >= 0 &&
			    (pread(imgfd, want, tr[i].len, (off_t)tr[i].off) !=
			     (ssize_t)tr[i].len ||
			     memcmp(want, out, tr[i].len) != 0)) {
				fprintf(stderr, "read %llu+%u: wrong data\n",
					(unsigned long long)tr[i].off,
					tr[i].len);
				return 1;
			}
		}
		qsort(lat, m, sizeof(*lat), cmp64);
		printf("pass %u: %zu reads, p50 %lld us, p90 %lld us, p99 %lld "
		       "us, max %lld us, %llu bytes read", p + 1, m,
		       (long long)lat[m / 2], (long long)lat[m * 90 / 100],
		       (long long)lat[m * 99 / 100], (long long)lat[m - 1],
		       (unsigned long long)bytes);
		if (cache) {
			/* the serve thread is idle in poll() between passes */
			const struct cache_stats *st = cache_stats(cache);

			printf(", blocks: RAM hits %llu, SSD hits %llu, from "
			       "server %llu bytes",
			       (unsigned long long)(st->ram_hits - last.ram_hits),
			       (unsigned long long)(st->ssd_hits - last.ssd_hits),
			       (unsigned long long)(st->bytes_from_server -
						    last.bytes_from_server));
			last = *st;
		}
		printf("\n");
		fflush(stdout);
	}
	if (cache && !direct && (rc = bench_agent_stop(&agent, fd)) != 0)
		fprintf(stderr, "serve_socket: %s\n", strerror(-rc));
	cache_free(cache);
	nbd_client_close(&conn);
	free(tr);
	free(buf);
	free(out);
	free(want);
	free(lat);
	if (imgfd >= 0)
		close(imgfd);
	free(table);
	return 0;
}
