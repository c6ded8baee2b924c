/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_NETBUF_H
#define LB_NETBUF_H

/*
 * A connection's receive or transmit buffer (nbd.c, iscsi.c): an
 * anonymous mapping rather than malloc()ed memory, so that its memory
 * goes back to the system the moment we say so. mremap() shrinks a
 * buffer grown for one big request in place, and netbuf_drop_pages()
 * hands an idle connection's pages back while keeping the mapping (the
 * next request faults fresh zero pages in). glibc would keep freed heap
 * memory, and its sliding mmap threshold moves multi-MiB blocks onto the
 * heap after the first free().
 *
 * Sizes are rounded up to whole pages; *cap is the rounded size. All
 * return 0 or -ENOMEM; on failure the buffer is left as it was.
 *
 *	if ((rc = netbuf_map(&c->tbuf, &c->tcap, 1 << 20)) != 0)
 *		goto err_bufs;
 *	...
 *	netbuf_drop_pages(c->tbuf, c->tcap);	   (idle: no RSS left)
 *	netbuf_unmap(&c->tbuf, &c->tcap);
 */

#include <stddef.h>
#include <stdint.h>

int netbuf_map(uint8_t **buf, size_t *cap, size_t n);
/* Resize to n bytes; the first min(old, n) bytes stay. */
int netbuf_resize(uint8_t **buf, size_t *cap, size_t n);
/* The pages of [buf, buf + cap) go back; the contents become zeroes. */
void netbuf_drop_pages(uint8_t *buf, size_t cap);
/* Unmap (NULL is fine); *buf = NULL, *cap = 0. */
void netbuf_unmap(uint8_t **buf, size_t *cap);

/*
 * Buffers lent, not owned: a connection holds its buffers only while
 * bytes wait in them (a partial request, unsent replies) and gives them
 * back at the end of its wake-up. A thousand PCs reading at once then
 * keep about as many buffers as have replies the kernel could not take
 * yet, not a thousand of each; pooled ones stay mapped and their pages
 * warm for the next borrower, until nobody borrowed for a while.
 *
 *	if (netbuf_take(&srv->tpool, &c->tbuf, &c->tcap, now) != 0)
 *		close: out of memory
 *	... the wake-up ...
 *	if (c->tstart == c->tend)
 *		netbuf_give(&srv->tpool, &c->tbuf, &c->tcap);
 *	tick: next = netbuf_pool_idle(&srv->tpool, now, TRIM_MS);
 */
#define NETBUF_POOL_MAX		64

struct netbuf_pool {
	uint8_t *buf[NETBUF_POOL_MAX];
	unsigned n;
	size_t size;			/* asked of netbuf_map() */
	size_t cap;			/* what it gave (whole pages), or 0 */
	int64_t used;			/* last take (ms) */
	int trimmed;			/* pooled pages given back since */
};

/* *buf from the pool, or a new mapping of p->size; a buffer the caller
 * still holds (*buf != NULL) stays. 0 or -ENOMEM. */
int netbuf_take(struct netbuf_pool *p, uint8_t **buf, size_t *cap,
		int64_t now);
/* A buffer of the pool's size goes back to it (while it has room), any
 * other is unmapped; *buf = NULL. */
void netbuf_give(struct netbuf_pool *p, uint8_t **buf, size_t *cap);
/* Nobody took for idle_ms: the pooled buffers' pages go back. The time
 * the next call is wanted, or -1. */
int64_t netbuf_pool_idle(struct netbuf_pool *p, int64_t now, int64_t idle_ms);
void netbuf_pool_free(struct netbuf_pool *p);

#endif
