/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BENCH_AGENT_BENCH_H
#define LB_BENCH_AGENT_BENCH_H

/*
 * What the benches that run the agent's own code share (cache_replay.c,
 * agent_storm.c): a read trace, the agent's cache stack, and its serve
 * loop (serve_socket(), agent/disk_serve.c) in a thread on one end of a
 * socketpair whose other end the bench drives as nbd.ko would.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../agent/agent.h"
#include "../agent/cache.h"

struct req {
	uint64_t off;
	uint32_t len;
};

/* "OFFSET LENGTH" lines ('#' lines skipped); 0 or -errno. */
int bench_load_trace(const char *path, struct req **out, size_t *n);
/* A whole file, malloc'ed; NULL if unreadable. */
uint8_t *bench_load_file(const char *path, size_t *len);

/* RAM cache of ram_mib, verified by the table in file hashes (NULL:
 * unverified), an SSD file ssd (NULL: none); *table is the loaded table
 * (free it after the cache). NULL on failure, said on stderr. */
struct cache *bench_make_cache(unsigned ram_mib, const char *hashes,
			       const char *ssd, uint64_t size,
			       uint8_t **table);

struct agent_thread {
	pthread_t tid;
	const struct agent_cfg *cfg;
	struct cache *cache;
	int kfd;		/* the agent's end */
	int cpu;		/* pin the agent's thread there, or -1 */
	pthread_barrier_t *ready;	/* waited on between the buffers and
					 * the connect, or NULL */
	int rc;
};

/* Lock this process's memory now and later (mlockall), as the agent's
 * supervisor locks the disk daemon (agent/supervisor.c): the agents'
 * caches and buffers are then faulted in when allocated, not by the
 * boot's first reads. 0 or -errno. */
int bench_lock_memory(void);

/* Start the agent's serve loop; 0 and *kfd = our ("kernel") end. With
 * ready, the agent makes its buffers, waits there, then connects. */
int bench_agent_start(struct agent_thread *a, const struct agent_cfg *cfg,
		      struct cache *cache, int cpu, pthread_barrier_t *ready,
		      int *kfd);
/* "The kernel" hangs up: the loop sees EOF and returns its result. */
int bench_agent_stop(struct agent_thread *a, int kfd);

#endif
