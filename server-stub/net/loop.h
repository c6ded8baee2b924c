/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_LOOP_H
#define LB_LOOP_H

/*
 * The server's single event loop: one epoll set, no threads.
 *
 * A protocol module embeds a struct loop_watch per socket and registers it;
 * the loop calls watch->fn when the socket is ready. Timers are not kept
 * here: each service has a tick() that the loop calls every iteration with
 * the current time and that returns when it next needs to run, so protocol
 * timeouts are testable with a fake clock (dnsmasq check_tftp_listeners).
 */

#include <stdint.h>

struct loop;

struct loop_watch {
	int fd;
	/* events: EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP as returned by epoll */
	void (*fn)(struct loop_watch *w, uint32_t events, int64_t now);
	void *arg;	/* owner's object */
};

struct loop_ticker {
	/* Returns the absolute ms time it next wants to run, or -1. */
	int64_t (*tick)(void *arg, int64_t now);
	void *arg;
};

/* The earlier of two tick times, -1 meaning "no need". */
static inline int64_t loop_sooner(int64_t a, int64_t b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* events: EPOLLIN | EPOLLOUT ...; 0 or -errno */
int loop_add(struct loop *l, struct loop_watch *w, uint32_t events);
int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events);
void loop_del(struct loop *l, struct loop_watch *w);
int loop_add_ticker(struct loop *l, int64_t (*tick)(void *, int64_t),
		    void *arg);

/* Run until loop_stop() or a signal handler sets *stop; returns 0/-errno. */
int loop_run(struct loop *l, volatile int *stop);
void loop_stop(struct loop *l);

#endif

/*
 * Lifetime rule: a callback may close and free its *own* watch, but must not
 * free another watch (its event may be pending in this round); mark it dead
 * and free it from the module's tick().
 */
