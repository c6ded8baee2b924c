/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A stream socket's receive buffer (rxbuf.h). */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "lb_util.h"
#include "nbd_client.h"
#include "rxbuf.h"

int rxbuf_init(struct rxbuf *b, size_t cap)
{
	*b = (struct rxbuf){ 0 };
	b->buf = mmap(NULL, cap, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->buf == MAP_FAILED) {
		b->buf = NULL;
		return -ENOMEM;
	}
	b->cap = cap;
	return 0;
}

void rxbuf_free(struct rxbuf *b)
{
	if (b->buf)
		munmap(b->buf, b->cap);
	*b = (struct rxbuf){ 0 };
}

/* The unparsed bytes to the front, so the tail has room: moved only when
 * that room is short of want, and then they are a message's head, not a
 * long run. */
static void rxbuf_make_room(struct rxbuf *b, size_t want)
{
	size_t n = rxbuf_avail(b);

	if (n == 0) {
		rxbuf_reset(b);
		return;
	}
	if (b->cap - b->end >= want || b->start == 0)
		return;
	memmove(b->buf, b->buf + b->start, n);
	b->start = 0;
	b->end = n;
}

int rxbuf_fill(struct rxbuf *b, int fd)
{
	ssize_t k;

	/* a quarter of the buffer at least per recv, so a stream of small
	 * messages is not read a few bytes at a time at the tail */
	rxbuf_make_room(b, b->cap / 4);
	if (b->end == b->cap)
		return -EAGAIN;
	do
		k = recv(fd, b->buf + b->end, b->cap - b->end, MSG_DONTWAIT);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (k == 0)
		return -EPIPE;
	b->end += (size_t)k;
	return (int)k;
}

int rxbuf_need(struct rxbuf *b, int fd, size_t n)
{
	size_t have = rxbuf_avail(b);
	int rc;

	if (have >= n)
		return 0;
	if (n > b->cap)
		return -EMSGSIZE;
	rxbuf_make_room(b, n - have);	/* n <= cap: it fits now */
	if ((rc = fd_read_full(fd, b->buf + b->end, n - have)) != 0)
		return rc;
	b->end += n - have;
	return 0;
}

int rxbuf_copy_out(struct rxbuf *b, int fd, void *dst, size_t n)
{
	size_t have = MIN(rxbuf_avail(b), n);

	memcpy(dst, rxbuf_data(b), have);
	rxbuf_consume(b, have);
	return have == n ? 0 : fd_read_full(fd, (uint8_t *)dst + have,
					    n - have);
}
