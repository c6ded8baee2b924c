/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Connection buffers as anonymous mappings: see netbuf.h for why. */

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "netbuf.h"

static size_t netbuf_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (n == 0)
		n = 1;
	return (n + page - 1) & ~(page - 1);
}

int netbuf_map(uint8_t **buf, size_t *cap, size_t n)
{
	void *p;

	n = netbuf_round(n);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

int netbuf_resize(uint8_t **buf, size_t *cap, size_t n)
{
	void *p;

	n = netbuf_round(n);
	if (n == *cap)
		return 0;
	p = mremap(*buf, *cap, n, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

void netbuf_drop_pages(uint8_t *buf, size_t cap)
{
	/* MADV_DONTNEED on private anonymous memory: the pages are freed
	 * now, and reads after it see zero-filled pages (madvise(2)) */
	if (buf && cap)
		madvise(buf, cap, MADV_DONTNEED);
}

void netbuf_unmap(uint8_t **buf, size_t *cap)
{
	if (*buf)
		munmap(*buf, *cap);
	*buf = NULL;
	*cap = 0;
}

int netbuf_take(struct netbuf_pool *p, uint8_t **buf, size_t *cap,
		int64_t now)
{
	p->used = now;
	p->trimmed = 0;
	if (*buf)
		return 0;
	if (p->n) {
		*buf = p->buf[--p->n];
		*cap = p->cap;
		return 0;
	}
	if (netbuf_map(buf, cap, p->size) != 0)
		return -ENOMEM;
	p->cap = *cap;
	return 0;
}

void netbuf_give(struct netbuf_pool *p, uint8_t **buf, size_t *cap)
{
	if (*buf && *cap == p->cap && p->n < NETBUF_POOL_MAX) {
		p->buf[p->n++] = *buf;
		*buf = NULL;
		*cap = 0;
		return;
	}
	netbuf_unmap(buf, cap);
}

int64_t netbuf_pool_idle(struct netbuf_pool *p, int64_t now, int64_t idle_ms)
{
	if (p->trimmed)
		return -1;
	if (now - p->used < idle_ms)
		return p->used + idle_ms;
	for (unsigned i = 0; i < p->n; i++)
		netbuf_drop_pages(p->buf[i], p->cap);
	p->trimmed = 1;
	return -1;
}

void netbuf_pool_free(struct netbuf_pool *p)
{
	while (p->n)
		netbuf_unmap(&p->buf[--p->n], &p->cap);
}
