/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_RXBUF_H
#define LB_AGENT_RXBUF_H

/*
 * A receive buffer for one stream socket: one recv() takes whatever the
 * socket holds (many NBD requests or replies), and the serve loop parses
 * them out of it, instead of two or three read()s per message. A message
 * whose head is in but whose payload is still on the way is completed
 * with blocking reads, as a whole-message read would.
 */

#include <stddef.h>
#include <stdint.h>

struct rxbuf {
	uint8_t *buf;
	size_t cap;
	size_t start, end;	/* unparsed bytes: [start, end) */
};

/* cap bytes of anonymous memory; 0 or -ENOMEM. */
int rxbuf_init(struct rxbuf *b, size_t cap);
void rxbuf_free(struct rxbuf *b);

static inline size_t rxbuf_avail(const struct rxbuf *b)
{
	return b->end - b->start;
}

/* The unparsed bytes; valid until the next rxbuf_fill()/rxbuf_need(). */
static inline uint8_t *rxbuf_data(const struct rxbuf *b)
{
	return b->buf + b->start;
}

/* n parsed bytes are done with (their memory stays as it is until the
 * next fill, so a message may be used after it is consumed). */
static inline void rxbuf_consume(struct rxbuf *b, size_t n)
{
	b->start += n;
}

/* A new connection: nothing buffered. */
static inline void rxbuf_reset(struct rxbuf *b)
{
	b->start = b->end = 0;
}

/* What fd has now, without waiting: >0 bytes taken, -EAGAIN nothing (or
 * no room: the caller must parse first), -EPIPE end of stream, -errno. */
int rxbuf_fill(struct rxbuf *b, int fd);
/* At least n unparsed bytes (n <= cap), reading what is missing from fd
 * and waiting for it. 0 or -errno (-EPIPE: end of stream). */
int rxbuf_need(struct rxbuf *b, int fd, size_t n);
/* n bytes into dst: the buffered ones first, the rest straight from fd
 * (a payload that goes to a buffer of its own anyway). 0 or -errno. */
int rxbuf_copy_out(struct rxbuf *b, int fd, void *dst, size_t n);

#endif
