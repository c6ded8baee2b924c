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

#endif
