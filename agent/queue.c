/* SPDX-License-Identifier: GPL-2.0-or-later */
/* In-flight request bookkeeping; see queue.h. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "queue.h"

int ioqueue_init(struct ioqueue *q, uint32_t bufsz)
{
	unsigned i;

	memset(q, 0, sizeof(*q));
	q->mem = mmap(NULL, (size_t)bufsz * IOQUEUE_SLOTS,
		      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (q->mem == MAP_FAILED) {
		q->mem = NULL;
		return -ENOMEM;
	}
	q->bufsz = bufsz;
	q->next_seq = 1;
	for (i = 0; i < IOQUEUE_SLOTS; i++)
		q->s[i].buf = q->mem + (size_t)i * bufsz;
	return 0;
}

void ioqueue_free(struct ioqueue *q)
{
	if (q->mem)
		munmap(q->mem, (size_t)q->bufsz * IOQUEUE_SLOTS);
	q->mem = NULL;
}

struct ioslot *ioqueue_get(struct ioqueue *q)
{
	unsigned i;

	for (i = 0; i < IOQUEUE_SLOTS; i++) {
		struct ioslot *s = &q->s[i];

		if (s->used)
			continue;
		s->used = 1;
		s->sent = 0;
		s->writeback = 0;
		s->seq = q->next_seq++;
		q->used++;
		return s;
	}
	return NULL;
}

void ioqueue_put(struct ioqueue *q, struct ioslot *s)
{
	if (!s->used)
		return;
	s->used = 0;
	s->sent = 0;
	q->used--;
}

struct ioslot *ioqueue_find(struct ioqueue *q, uint64_t h)
{
	unsigned i;

	for (i = 0; i < IOQUEUE_SLOTS; i++)
		if (q->s[i].used && q->s[i].sent && q->s[i].seq == h)
			return &q->s[i];
	return NULL;
}

unsigned ioqueue_requeue_all(struct ioqueue *q)
{
	unsigned i, n = 0;

	for (i = 0; i < IOQUEUE_SLOTS; i++)
		if (q->s[i].used) {
			q->s[i].sent = 0;
			n++;
		}
	return n;
}

struct ioslot *ioqueue_next_unsent(struct ioqueue *q)
{
	struct ioslot *best = NULL;
	unsigned i;

	for (i = 0; i < IOQUEUE_SLOTS; i++) {
		struct ioslot *s = &q->s[i];

		if (s->used && !s->sent && (!best || s->seq < best->seq))
			best = s;
	}
	return best;
}
