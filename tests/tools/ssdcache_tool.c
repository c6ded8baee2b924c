/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drive the agent's SSD cache (agent/ssdcache.c) on a file, for
 * tests/cache-torn.sh: a writer that is killed with SIGKILL mid-write,
 * then a checker that reopens the cache and verifies every block it still
 * returns. Blocks are a deterministic pattern of their number, so the
 * checker knows what each key's content must be.
 *
 *   ssdcache_tool write FILE BLOCKS   put blocks 0..BLOCKS-1 (prints each)
 *   ssdcache_tool check FILE BLOCKS   reopen; every hit must be exact
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/ssdcache.h"

#define BS 65536u

static void pattern(uint32_t n, uint8_t *b)
{
	uint32_t x = n * 2654435761u + 1;

	for (uint32_t i = 0; i < BS; i += 4) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		memcpy(b + i, &x, 4);
	}
}

static int open_cache(const char *path, int format, struct ssdcache **c,
		      int *fdp)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		return 1;
	}
	if ((rc = ssdcache_open(fd, (uint64_t)st.st_size, BS, format, c)) != 0) {
		fprintf(stderr, "ssdcache_open %s: %s\n", path, strerror(-rc));
		close(fd);
		return 1;
	}
	*fdp = fd;
	return 0;
}

static int do_write(const char *path, uint32_t blocks)
{
	static uint8_t b[BS];
	struct ssdcache *c;
	uint8_t key[SSDC_KEY_SIZE];
	int fd;

	if (open_cache(path, 1, &c, &fd))
		return 1;
	for (uint32_t n = 0; n < blocks; n++) {
		pattern(n, b);
		ssdcache_hash(b, BS, key);
		if (ssdcache_put(c, key, b) != 0) {
			fprintf(stderr, "put %u failed\n", n);
			return 1;
		}
		printf("wrote %u\n", n);
		fflush(stdout);
	}
	ssdcache_close(c);
	close(fd);
	return 0;
}

static int do_check(const char *path, uint32_t blocks)
{
	static uint8_t b[BS], got[BS];
	struct ssdcache *c;
	uint8_t key[SSDC_KEY_SIZE];
	uint32_t hits = 0, wrong = 0;
	int fd, rc;

	if (open_cache(path, 0, &c, &fd))
		return 1;
	for (uint32_t n = 0; n < blocks; n++) {
		pattern(n, b);
		ssdcache_hash(b, BS, key);
		rc = ssdcache_get(c, key, got);
		if (rc == 0) {
			hits++;
			if (memcmp(b, got, BS) != 0) {
				fprintf(stderr, "block %u: wrong bytes\n", n);
				wrong++;
			}
		} else if (rc != -ENOENT) {
			fprintf(stderr, "get %u: %s\n", n, strerror(-rc));
			return 1;
		}
	}
	/* still usable: a new block goes in and comes back (new to this
	 * run: an earlier check's block may sit in a flipped slot) */
	pattern(blocks + 7 + (uint32_t)getpid(), b);
	ssdcache_hash(b, BS, key);
	if ((rc = ssdcache_put(c, key, b)) != 0 ||
	    (rc = ssdcache_get(c, key, got)) != 0 || memcmp(b, got, BS) != 0) {
		fprintf(stderr, "a new block after the check: %s\n",
			rc ? strerror(-rc) : "wrong bytes");
		wrong++;
	}
	printf("hits=%u corrupt=%llu wrong=%u\n", hits,
	       (unsigned long long)ssdcache_stats(c)->corrupt, wrong);
	ssdcache_close(c);
	close(fd);
	return wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint32_t blocks;

	if (argc != 4) {
		fprintf(stderr, "usage: ssdcache_tool write|check FILE BLOCKS\n");
		return 2;
	}
	blocks = (uint32_t)strtoul(argv[3], NULL, 10);
	if (!strcmp(argv[1], "write"))
		return do_write(argv[2], blocks);
	if (!strcmp(argv[1], "check"))
		return do_check(argv[2], blocks);
	return 2;
}
