/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the benches that run the agent's code; see agent_bench.h. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_bench.h"
#include "../agent/disk_daemon.h"
#include "../agent/ssdcache.h"

int bench_load_trace(const char *path, struct req **out, size_t *n)
{
	unsigned long long off;
	unsigned len;
	size_t cap = 0;
	char line[256];
	FILE *f = fopen(path, "r");

	*out = NULL;
	*n = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%llu %u", &off, &len) != 2)
			continue;
		if (*n == cap) {
			struct req *r;

			cap = cap ? cap * 2 : 4096;
			if (!(r = realloc(*out, cap * sizeof(**out)))) {
				fclose(f);
				return -ENOMEM;
			}
			*out = r;
		}
		(*out)[(*n)++] = (struct req){ off, len };
	}
	fclose(f);
	return 0;
}

uint8_t *bench_load_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size)) &&
	    read(fd, b, (size_t)st.st_size) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

struct cache *bench_make_cache(unsigned ram_mib, const char *hashes,
			       const char *ssd, uint64_t size,
			       uint8_t **table)
{
	struct cache_cfg cc = { .block_size = 65536, .ssd_fd = -1,
				.image_size = size,
				.ram_bytes = (uint64_t)ram_mib << 20 };
	struct cache *cache;
	size_t tlen = 0;
	int rc;

	*table = NULL;
	if (hashes && (*table = bench_load_file(hashes, &tlen))) {
		cc.hashes = *table;
		cc.hashes_len = tlen;
	}
	if (ssd) {
		struct stat st;

		cc.ssd_fd = open(ssd, O_RDWR);
		if (cc.ssd_fd < 0 || fstat(cc.ssd_fd, &st) != 0 ||
		    ssdcache_open(cc.ssd_fd, (uint64_t)st.st_size, 65536, 1,
				  &cc.ssd) != 0) {
			fprintf(stderr, "%s: cannot open as SSD cache\n", ssd);
			return NULL;
		}
	}
	if ((rc = cache_new(&cc, &cache)) != 0) {
		fprintf(stderr, "cache_new: %s\n", strerror(-rc));
		return NULL;
	}
	return cache;
}

static void *agent_main(void *arg)
{
	struct agent_thread *a = arg;
	struct disk_daemon *d;

	if (a->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(a->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			fprintf(stderr, "bench: cannot pin to CPU %d\n", a->cpu);
	}
	d = serve_socket_prepare(a->cfg, a->kfd, a->cache);
	if (a->ready)	/* even without buffers: the others wait there too */
		pthread_barrier_wait(a->ready);
	a->rc = d ? serve_socket_run(d) : -ENOMEM;
	return NULL;
}

int bench_lock_memory(void)
{
	return mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? 0 : -errno;
}

int bench_agent_start(struct agent_thread *a, const struct agent_cfg *cfg,
		      struct cache *cache, int cpu, pthread_barrier_t *ready,
		      int *kfd)
{
	pthread_attr_t attr;
	int sv[2], rc;

	/* what attach_kernel() gives nbd.ko */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	a->cfg = cfg;
	a->cache = cache;
	a->kfd = sv[1];
	a->cpu = cpu;
	a->ready = ready;
	/* under mlockall(MCL_FUTURE) a thread's whole stack is faulted in
	 * when it starts: 8 MiB by default, 1 MiB is plenty for the loop */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1U << 20);
	rc = pthread_create(&a->tid, &attr, agent_main, a);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		close(sv[0]);
		close(sv[1]);
		return -EAGAIN;
	}
	*kfd = sv[0];
	return 0;
}

int bench_agent_stop(struct agent_thread *a, int kfd)
{
	close(kfd);
	pthread_join(a->tid, NULL);
	close(a->kfd);
	return a->rc;
}
