/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_reads: the agent's serve loop (serve_socket() in agent/disk_serve.c,
 * what nbd.ko talks to) on a socketpair, with a RAM cache, against a real
 * server; this process plays nbd.ko. It reads ROUNDS blocks the cache has
 * not seen, one per round, SLEEP_S seconds apart, and compares each with
 * the image file: a server that closes the idle connection in between
 * (nbd_idle_timeout) or restarts must not cost the "kernel" a single
 * error. For tests/nbd-idle.sh.
 *
 *   agent_reads HOST PORT EXPORT IMAGE SLEEP_S ROUNDS
 *
 * Exit 0: every read right; 1: a read failed or differed; 2: usage.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../agent/cache.h"
#include "../../agent/nbd_client.h"
#include "lb_log.h"
#include "lb_util.h"
#include "nbd_wire.h"

#define READ_LEN	65536

struct agent_thread {
	const struct agent_cfg *cfg;
	struct cache *cache;
	int kfd;
	int rc;
};

static void *agent_main(void *arg)
{
	struct agent_thread *a = arg;

	a->rc = serve_socket(a->cfg, a->kfd, a->cache);
	return NULL;
}

/* One NBD_CMD_READ round trip on the "kernel" end. */
static int kernel_read(int fd, uint64_t handle, uint64_t off, void *buf)
{
	uint8_t h[NBD_REQUEST_SIZE], r[NBD_SIMPLE_REPLY_SIZE];
	struct nbd_request q = { .type = NBD_CMD_READ, .handle = handle,
				 .offset = off, .length = READ_LEN };
	struct nbd_reply rep;
	int rc;

	nbd_build_request(h, sizeof(h), &q);
	if ((rc = fd_write_full(fd, h, sizeof(h))) != 0 ||
	    (rc = fd_read_full(fd, r, sizeof(r))) != 0)
		return rc;
	if (nbd_parse_reply(r, sizeof(r), &rep) != 0 || rep.structured ||
	    rep.handle != handle)
		return -EPROTO;
	if (rep.error)
		return -EIO;
	return fd_read_full(fd, buf, READ_LEN);
}

int main(int argc, char **argv)
{
	static uint8_t got[READ_LEN], want[READ_LEN];
	struct agent_cfg cfg;
	struct nbd_client_conn probe = { .fd = -1 };
	struct cache_cfg cc = { .block_size = 65536, .ssd_fd = -1,
				.ram_bytes = 16u << 20 };
	struct agent_thread a = { 0 };
	pthread_t tid;
	unsigned sleep_s, rounds, i;
	int sv[2], img, rc;

	if (argc != 7) {
		fprintf(stderr, "usage: agent_reads HOST PORT EXPORT IMAGE "
			"SLEEP_S ROUNDS\n");
		return 2;
	}
	log_init("agent_reads", LOG_LEVEL_INFO);
	sleep_s = (unsigned)atoi(argv[5]);
	rounds = (unsigned)atoi(argv[6]);
	cmdline_defaults(&cfg);
	cfg.nservers = 1;
	cfg.server[0].sin_family = AF_INET;
	cfg.server[0].sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &cfg.server[0].sin_addr) != 1)
		return 2;
	snprintf(cfg.export_name, sizeof(cfg.export_name), "%s", argv[3]);
	if ((img = open(argv[4], O_RDONLY)) < 0) {
		perror(argv[4]);
		return 1;
	}
	/* the export's size, as the agent's main() learns it */
	if ((rc = nbd_client_connect(&cfg, &probe)) != 0) {
		fprintf(stderr, "agent_reads: connect: %s\n", strerror(-rc));
		return 1;
	}
	cc.image_size = probe.size;
	nbd_client_close(&probe);
	if ((rc = cache_new(&cc, &a.cache)) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fprintf(stderr, "agent_reads: cache/socketpair failed\n");
		return 1;
	}
	a.cfg = &cfg;
	a.kfd = sv[1];
	if (pthread_create(&tid, NULL, agent_main, &a) != 0)
		return 1;
	for (i = 0; i < rounds; i++) {
		/* a block the cache has not seen: the agent asks the server */
		uint64_t off = ((uint64_t)i * 3 * READ_LEN) %
			       (cc.image_size - READ_LEN + 1);

		off -= off % READ_LEN;
		if (i)
			sleep(sleep_s);
		if ((rc = kernel_read(sv[0], i + 1, off, got)) != 0) {
			printf("round %u: read at %llu: %s\n", i,
			       (unsigned long long)off, strerror(-rc));
			return 1;
		}
		if (pread(img, want, READ_LEN, (off_t)off) != READ_LEN ||
		    memcmp(got, want, READ_LEN) != 0) {
			printf("round %u: read at %llu: wrong data\n", i,
			       (unsigned long long)off);
			return 1;
		}
		printf("round %u: read at %llu ok\n", i,
		       (unsigned long long)off);
		fflush(stdout);
	}
	close(sv[0]);	/* "the kernel" hangs up: the loop returns */
	pthread_join(tid, NULL);
	close(sv[1]);
	cache_free(a.cache);
	close(img);
	return a.rc == 0 ? 0 : 1;
}
