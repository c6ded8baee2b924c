/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_storm: N PCs switched on together, each the agent's own code: its
 * NBD client and cache stack in its serve loop (serve_socket(),
 * agent/disk_serve.c, one thread per PC), which this process drives over
 * a socketpair as nbd.ko would, replaying a boot's read trace. Not a
 * test: a load generator for bench/storm.sh (STORM_CLIENT=agent), so the
 * room is made of agents, with their block verification and caches, not
 * of libnbd clients (bench/nbd_storm.c). As on a PC (agent/supervisor.c)
 * the process's memory is locked, and each agent's cache and buffers are
 * made before the clock starts: on a PC that is its own CPU's work,
 * before its first READ; here 200 PCs' ~3.4 GiB would take turns on 2
 * cores inside the room's time.
 *
 *   agent_storm -s HOST:PORT -e EXPORT -f TRACE [-c N] [-q D] [-r MiB]
 *               [-t HASHES]
 *     -c N        PCs (default 1), all connecting at once
 *     -q D        READs in flight per PC (default 4, as nbd_storm)
 *     -r MiB      each agent's RAM cache (default 8)
 *     -t HASHES   the version's block-hash table: every block fetched is
 *                 checked against it, as on a PC
 *
 * Prints the line nbd_storm prints (clients, ops, bytes, wall_s,
 * lat_p50/p99/max_us, boot_p50/p99/max_s, failures) plus from_server
 * (bytes the agents' caches fetched). Exit 0 when failures == 0.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_bench.h"
#include "../agent/nbd_client.h"
#include "lb_util.h"
#include "nbd_wire.h"

#include "stats.h"

#define DEPTH_MAX	16
#define READ_MAX	(128u * 1024)	/* nbd.ko's max_sectors_kb here */
#define GIVE_UP_NS	(600LL * 1000000000)

struct pc {
	struct agent_thread agent;
	struct cache *cache;
	uint8_t *table;
	int fd;			/* "nbd.ko"'s end */
	size_t next;		/* next trace entry to send */
	unsigned inflight;
	int64_t sent_ns[DEPTH_MAX];	/* by handle slot */
	int64_t last_ns;
	int failed;
};

static struct {
	struct req *tr;
	size_t n;
	unsigned depth;
	int64_t *lat;
	size_t nlat;
	uint64_t bytes, failures;
	uint8_t *buf;
} R;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Send READs until D are in flight; the handle is trace index * DEPTH_MAX
 * + slot, so a reply says which read and which slot it ends. */
static int pc_send(struct pc *p)
{
	while (p->inflight < R.depth && p->next < R.n) {
		uint8_t h[NBD_REQUEST_SIZE];
		const struct req *r = &R.tr[p->next];
		unsigned slot;
		struct nbd_request q = { .type = NBD_CMD_READ };

		for (slot = 0; slot < R.depth && p->sent_ns[slot]; slot++)
			;
		q.handle = (uint64_t)p->next * DEPTH_MAX + slot;
		q.offset = r->off;
		q.length = MIN(r->len, READ_MAX);
		nbd_build_request(h, sizeof(h), &q);
		if (fd_write_full(p->fd, h, sizeof(h)) != 0)
			return -EIO;
		p->sent_ns[slot] = now_ns();
		p->inflight++;
		p->next++;
	}
	return 0;
}

/* One reply (its header is readable): the data read in full, blocking
 * (the agent's thread writes header and data together). */
static int pc_reply(struct pc *p)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];
	struct nbd_reply rep;
	size_t idx;
	unsigned slot;
	uint32_t len;

	if (fd_read_full(p->fd, h, sizeof(h)) != 0 ||
	    nbd_parse_reply(h, sizeof(h), &rep) != 0 || rep.structured)
		return -EIO;
	idx = (size_t)(rep.handle / DEPTH_MAX);
	slot = (unsigned)(rep.handle % DEPTH_MAX);
	if (idx >= R.n || slot >= R.depth || !p->sent_ns[slot])
		return -EIO;
	len = MIN(R.tr[idx].len, READ_MAX);
	if (rep.error) {
		R.failures++;
	} else if (fd_read_full(p->fd, R.buf, len) != 0) {
		return -EIO;
	} else {
		R.bytes += len;
	}
	p->last_ns = now_ns();
	R.lat[R.nlat++] = p->last_ns - p->sent_ns[slot];
	p->sent_ns[slot] = 0;
	p->inflight--;
	return 0;
}

static void pc_fail(struct pc *p, const char *why, int i)
{
	fprintf(stderr, "PC %d: %s\n", i, why);
	p->failed = 1;
	R.failures++;
}

/* Replay until every PC is done or failed (or 600 s went by). */
static void replay(struct pc *pcs, int n, struct pollfd *pfd)
{
	int64_t t0 = now_ns();
	int live = n;

	for (int i = 0; i < n; i++)
		if (pc_send(&pcs[i]) != 0)
			pc_fail(&pcs[i], "send", i);
	while (live > 0 && now_ns() - t0 < GIVE_UP_NS) {
		live = 0;
		for (int i = 0; i < n; i++) {
			struct pc *p = &pcs[i];

			pfd[i].fd = p->failed || (!p->inflight && p->next >= R.n)
				    ? -1 : p->fd;
			pfd[i].events = POLLIN;
			live += pfd[i].fd >= 0;
		}
		if (!live || poll(pfd, (nfds_t)n, 1000) < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (pc_reply(&pcs[i]) != 0 || pc_send(&pcs[i]) != 0)
				pc_fail(&pcs[i], "the agent's socket broke", i);
		}
	}
	for (int i = 0; i < n; i++)
		if (!pcs[i].failed && (pcs[i].inflight || pcs[i].next < R.n))
			pc_fail(&pcs[i], "not done after 600 s", i);
}

/* Each PC's cache, before the clock: a PC allocates (and, locked, faults
 * in) its own on its own CPU before its first READ; here 200 would take
 * turns on 2 cores inside the room's time. */
static int make_caches(struct pc *pcs, int n, unsigned ram_mib,
		       const char *hashes, uint64_t size)
{
	for (int i = 0; i < n; i++)
		if (!(pcs[i].cache = bench_make_cache(ram_mib, hashes, NULL,
						      size, &pcs[i].table)))
			return -1;
	return 0;
}

/* Every agent makes its loop's buffers (locked: faulted in now) and
 * waits at ready; the caller's wait there starts them all at once. On
 * failure some may wait at ready: the caller exits. */
static int start_agents(struct pc *pcs, int n, const struct agent_cfg *cfg,
			pthread_barrier_t *ready)
{
	for (int i = 0; i < n; i++)
		if (bench_agent_start(&pcs[i].agent, cfg, pcs[i].cache, -1,
				      ready, &pcs[i].fd))
			return -1;
	return 0;
}

static void report(struct pc *pcs, int n, int64_t wall, int64_t t0)
{
	int64_t *boot = calloc((size_t)n, sizeof(*boot));
	uint64_t from_server = 0;
	size_t nb = 0;

	for (int i = 0; i < n; i++) {
		if (!pcs[i].failed && pcs[i].last_ns)
			boot[nb++] = pcs[i].last_ns - t0;
		from_server += cache_stats(pcs[i].cache)->bytes_from_server;
	}
	qsort(R.lat, R.nlat, sizeof(*R.lat), cmp_i64);
	qsort(boot, nb, sizeof(*boot), cmp_i64);
	printf("clients=%d depth=%u ops=%zu bytes=%" PRIu64 " wall_s=%.3f "
	       "lat_p50_us=%.0f lat_p99_us=%.0f lat_max_us=%.0f "
	       "boot_p50_s=%.3f boot_p99_s=%.3f boot_max_s=%.3f "
	       "from_server=%" PRIu64 " failures=%" PRIu64 "\n",
	       n, R.depth, R.nlat, R.bytes, (double)wall / 1e9,
	       (double)pct(R.lat, R.nlat, 0.50) / 1e3,
	       (double)pct(R.lat, R.nlat, 0.99) / 1e3,
	       (double)pct(R.lat, R.nlat, 1.0) / 1e3,
	       (double)pct(boot, nb, 0.50) / 1e9,
	       (double)pct(boot, nb, 0.99) / 1e9,
	       (double)pct(boot, nb, 1.0) / 1e9, from_server, R.failures);
	free(boot);
}

static int usage(void)
{
	fprintf(stderr, "usage: agent_storm -s HOST:PORT -e EXPORT -f TRACE "
		"[-c N] [-q D] [-r MiB] [-t HASHES]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *export = "", *trace = NULL, *hashes = NULL;
	unsigned ram_mib = 8;
	int n = 1, opt, rc;
	struct agent_cfg cfg;
	struct nbd_client_conn probe = { .fd = -1 };
	struct pc *pcs;
	struct pollfd *pfd;
	char host[64];
	unsigned port;
	int64_t t0, wall;
	pthread_barrier_t ready;

	R.depth = 4;
	while ((opt = getopt(argc, argv, "s:e:f:c:q:r:t:")) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'e': export = optarg; break;
		case 'f': trace = optarg; break;
		case 'c': n = atoi(optarg); break;
		case 'q': R.depth = (unsigned)atoi(optarg); break;
		case 'r': ram_mib = (unsigned)atoi(optarg); break;
		case 't': hashes = optarg; break;
		default: return usage();
		}
	}
	if (!server || !trace || n < 1 || R.depth < 1 || R.depth > DEPTH_MAX ||
	    sscanf(server, "%63[^:]:%u", host, &port) != 2)
		return usage();
	cmdline_defaults(&cfg);
	cfg.nservers = 1;
	cfg.server[0].sin_family = AF_INET;
	cfg.server[0].sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &cfg.server[0].sin_addr) != 1)
		return usage();
	snprintf(cfg.export_name, sizeof(cfg.export_name), "%s", export);
	if (bench_load_trace(trace, &R.tr, &R.n) != 0 || !R.n) {
		fprintf(stderr, "agent_storm: cannot read trace %s\n", trace);
		return 1;
	}
	/* the export's size, for the caches: one handshake first */
	if (nbd_client_connect(&cfg, &probe) != 0) {
		fprintf(stderr, "agent_storm: no NBD server at %s\n", server);
		return 1;
	}
	nbd_client_close(&probe);
	pcs = calloc((size_t)n, sizeof(*pcs));
	pfd = calloc((size_t)n, sizeof(*pfd));
	R.lat = calloc(R.n * (size_t)n, sizeof(*R.lat));
	R.buf = malloc(READ_MAX);
	if (!pcs || !pfd || !R.lat || !R.buf)
		return 1;
	if ((rc = bench_lock_memory()) != 0)
		fprintf(stderr, "agent_storm: mlockall: %s (the agents' caches "
			"fault in during the run, unlike on a PC)\n",
			strerror(-rc));
	if (make_caches(pcs, n, ram_mib, hashes, probe.size) != 0) {
		fprintf(stderr, "agent_storm: cannot make %d caches\n", n);
		return 1;
	}
	if (pthread_barrier_init(&ready, NULL, (unsigned)n + 1) != 0 ||
	    start_agents(pcs, n, &cfg, &ready) != 0) {
		fprintf(stderr, "agent_storm: cannot start %d agents\n", n);
		return 1;
	}
	pthread_barrier_wait(&ready);
	t0 = now_ns();
	/* the room's wall time: from all agents let go at once (each then
	 * connects to the server itself) to the last READ done */
	replay(pcs, n, pfd);
	wall = 0;
	for (int i = 0; i < n; i++)
		if (pcs[i].last_ns - t0 > wall)
			wall = pcs[i].last_ns - t0;
	report(pcs, n, wall, t0);
	for (int i = 0; i < n; i++) {
		bench_agent_stop(&pcs[i].agent, pcs[i].fd);
		cache_free(pcs[i].cache);
		free(pcs[i].table);
	}
	return R.failures ? 1 : 0;
}
