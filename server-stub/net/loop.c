/* SPDX-License-Identifier: GPL-2.0-or-later */
/* epoll loop; see loop.h. */

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lb_util.h"
#include "loop.h"

#define LOOP_MAX_TICKERS 16
#define LOOP_MAX_EVENTS 64
/* Upper bound on a sleep so a lost wake-up costs at most this much. */
#define LOOP_MAX_SLEEP_MS 1000

struct loop {
	int epfd;
	int stopped;
	unsigned ntickers;
	struct loop_ticker tickers[LOOP_MAX_TICKERS];
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_del(struct loop *l, struct loop_watch *w)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int loop_add_ticker(struct loop *l, int64_t (*tick)(void *, int64_t),
		    void *arg)
{
	if (l->ntickers == LOOP_MAX_TICKERS)
		return -ENOSPC;
	l->tickers[l->ntickers++] = (struct loop_ticker){ tick, arg };
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stopped = 1;
}

/* Run every ticker; returns the sleep until the earliest deadline. */
static int loop_run_tickers(struct loop *l, int64_t now)
{
	int64_t next = now + LOOP_MAX_SLEEP_MS;
	unsigned i;

	for (i = 0; i < l->ntickers; i++) {
		int64_t t = l->tickers[i].tick(l->tickers[i].arg, now);

		if (t >= 0 && t < next)
			next = t;
	}
	return next <= now ? 0 : (int)(next - now);
}

int loop_run(struct loop *l, volatile int *stop)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	while (!l->stopped && !(stop && *stop)) {
		int timeout = loop_run_tickers(l, now_ms());
		int n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, timeout);
		int64_t now = now_ms();
		int i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			struct loop_watch *w = evs[i].data.ptr;

			w->fn(w, evs[i].events, now);
		}
	}
	return 0;
}
