/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nbd_storm: N NBD clients in one process (libnbd's async API, one epoll
 * loop), each replaying a boot's read trace against one export: a room of
 * PCs switched on together. Not a test: the load generator of
 * bench/storm.sh, the same for every server.
 *
 *   nbd_storm -u URI -f TRACE [-c N] [-q D] [-l LOG]
 *     -u URI      nbd://HOST:PORT/EXPORT
 *     -f TRACE    "OFFSET LENGTH" per line (bytes), '#' comments
 *     -c N        clients (default 1), all connecting at once
 *     -q D        READs in flight per client (default 4: a boot is a
 *                 chain of reads, the loader reads what the last read
 *                 told it to)
 *     -l LOG      one line per READ: "issued_us latency_us client op"
 *                 (issued: since the first connect), to see where in
 *                 the run a tail comes from
 *
 * Prints one line of key=value: clients, ops, bytes, wall_s (first
 * connect to last completion: what the room waits), lat_p50_us,
 * lat_p99_us, lat_max_us (READ issued -> done), connect_p99_ms,
 * boot_p50_s / boot_p99_s / boot_max_s (one client's connect -> its last
 * READ), failures (failed READs, clients whose connection failed or
 * broke). Exit 0 when failures == 0.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <libnbd.h>

#include "stats.h"

#define MAX_READ	(8U << 20)
#define MAX_EVENTS	256

struct op {
	uint64_t off;
	uint32_t len;
};

struct client;

struct slot {
	struct client *cl;
	int64_t t0;		/* issued, ns */
	size_t op;		/* its index in the trace */
	uint8_t *buf;
};

struct client {
	struct nbd_handle *nbd;
	int fd;			/* registered with epoll, or -1 */
	uint32_t ev;		/* the events registered */
	int id;
	int ready, dead, done, inflight;
	size_t next;		/* next trace op */
	int64_t t0, connect_ns, last_ns;
	struct slot *slots;
};

static struct {
	int depth;
	struct op *trace;
	size_t ntrace;
	uint64_t ops, bytes, failures;
	int64_t *lat;
	size_t nlat, caplat;
	int64_t last_done;
	uint32_t maxlen;	/* the trace's largest READ */
	FILE *log;		/* -l, or NULL */
	int64_t t0;		/* first connect */
} R;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lat_add(int64_t ns)
{
	if (R.nlat == R.caplat) {
		R.caplat = R.caplat ? R.caplat * 2 : 65536;
		if (!(R.lat = realloc(R.lat, R.caplat * sizeof(*R.lat)))) {
			perror("realloc");
			exit(2);
		}
	}
	R.lat[R.nlat++] = ns;
}

static void issue(struct client *cl);

static int read_done(void *user_data, int *error)
{
	struct slot *s = user_data;
	struct client *cl = s->cl;
	int64_t t = now_ns();

	if (*error == 0) {
		R.ops++;
		lat_add(t - s->t0);
		if (R.log)
			fprintf(R.log, "%lld %lld %d %zu\n",
				(long long)(s->t0 - R.t0) / 1000,
				(long long)(t - s->t0) / 1000, cl->id, s->op);
	} else {
		R.failures++;
		if (R.failures <= 5)
			fprintf(stderr, "client %d: READ failed: %s\n", cl->id,
				strerror(*error));
	}
	s->cl = NULL;
	cl->inflight--;
	cl->last_ns = t;
	R.last_done = t;
	return 1;	/* retire the command */
}

/* Fill cl's free slots with the trace's next READs. */
static void issue(struct client *cl)
{
	int64_t t = now_ns();

	if (cl->dead || !cl->ready)
		return;
	for (int i = 0; i < R.depth && cl->next < R.ntrace; i++) {
		struct slot *s = &cl->slots[i];
		struct op o;

		if (s->cl)
			continue;
		s->op = cl->next;
		o = R.trace[cl->next++];
		s->cl = cl;
		s->t0 = t;
		R.bytes += o.len;
		if (nbd_aio_pread(cl->nbd, s->buf, o.len, o.off,
				  (nbd_completion_callback){ .callback = read_done,
							     .user_data = s },
				  0) < 0) {
			fprintf(stderr, "client %d: pread: %s\n", cl->id,
				nbd_get_error());
			s->cl = NULL;
			cl->dead = 1;
			R.failures++;
			return;
		}
		cl->inflight++;
	}
	if (cl->inflight == 0 && cl->next >= R.ntrace)
		cl->done = 1;
}

/* Fill buf by read(): the kernel writes every page once (see main()). */
static int prefault(int zero, uint8_t *buf, size_t len)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		if ((r = read(zero, buf + done, len - done)) <= 0) {
			perror("read /dev/zero");
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

static int load_trace(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	unsigned long long off, len;
	size_t cap = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%llu %llu", &off, &len) != 2 || len == 0 ||
		    len > MAX_READ) {
			fprintf(stderr, "%s: bad line: %s", path, line);
			fclose(f);
			return -1;
		}
		if (R.ntrace == cap) {
			cap = cap ? cap * 2 : 1024;
			if (!(R.trace = realloc(R.trace, cap * sizeof(*R.trace)))) {
				fclose(f);
				return -1;
			}
		}
		R.trace[R.ntrace++] = (struct op){ off, (uint32_t)len };
		if (len > R.maxlen)
			R.maxlen = (uint32_t)len;
	}
	fclose(f);
	return R.ntrace ? 0 : -1;
}

/* One client's step after epoll: connection progress, completions. */
static void service(struct client *cl, short revents)
{
	unsigned dir;

	if (cl->dead || cl->done)
		return;
	dir = nbd_aio_get_direction(cl->nbd);
	if ((revents & (POLLIN | POLLHUP | POLLERR)) &&
	    (dir & LIBNBD_AIO_DIRECTION_READ) && nbd_aio_notify_read(cl->nbd) < 0)
		goto dead;
	if ((revents & POLLOUT) && (dir & LIBNBD_AIO_DIRECTION_WRITE) &&
	    nbd_aio_notify_write(cl->nbd) < 0)
		goto dead;
	if (nbd_aio_is_dead(cl->nbd))
		goto dead;
	if (!cl->ready && nbd_aio_is_ready(cl->nbd)) {
		cl->ready = 1;
		cl->connect_ns = now_ns() - cl->t0;
	}
	issue(cl);
	return;
dead:
	fprintf(stderr, "client %d: %s\n", cl->id, nbd_get_error());
	cl->dead = 1;
	R.failures++;
}

/*
 * Keep cl's epoll registration in step with what libnbd waits for (an
 * epoll loop costs per ready client; poll() over all N cost per client per
 * wake-up). 1: still running, 0: done or dead (no longer watched).
 */
static int watch(int ep, struct client *cl)
{
	struct epoll_event e = { .data.ptr = cl };
	unsigned dir;

	if (cl->dead || cl->done) {
		if (cl->fd >= 0)
			epoll_ctl(ep, EPOLL_CTL_DEL, cl->fd, NULL);
		cl->fd = -1;
		return 0;
	}
	dir = nbd_aio_get_direction(cl->nbd);
	e.events = (dir & LIBNBD_AIO_DIRECTION_READ ? EPOLLIN : 0) |
		   (dir & LIBNBD_AIO_DIRECTION_WRITE ? EPOLLOUT : 0);
	if (cl->fd < 0) {
		if ((cl->fd = nbd_aio_get_fd(cl->nbd)) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, cl->fd, &e) < 0) {
			fprintf(stderr, "client %d: no socket to watch\n",
				cl->id);
			cl->fd = -1;
			cl->dead = 1;
			R.failures++;
			return 0;
		}
	} else if (e.events != cl->ev &&
		   epoll_ctl(ep, EPOLL_CTL_MOD, cl->fd, &e) < 0) {
		perror("epoll_ctl");
		exit(2);
	}
	cl->ev = e.events;
	return 1;
}

static short revents_of(uint32_t ev)
{
	return (short)((ev & EPOLLIN ? POLLIN : 0) |
		       (ev & EPOLLOUT ? POLLOUT : 0) |
		       (ev & EPOLLHUP ? POLLHUP : 0) |
		       (ev & EPOLLERR ? POLLERR : 0));
}

/* At give-up: what the clients still running wait for. */
static void stuck(const struct client *cls, int n)
{
	for (int i = 0, shown = 0; i < n && shown < 10; i++) {
		const struct client *cl = &cls[i];

		if (cl->dead || cl->done)
			continue;
		shown++;
		fprintf(stderr, "client %d: ready %d, %d READs in flight "
			"(libnbd: %ld), trace op %zu of %zu, libnbd waits "
			"for %u, watched for 0x%x\n", cl->id, cl->ready,
			cl->inflight, (long)nbd_aio_in_flight(cl->nbd),
			cl->next, R.ntrace, nbd_aio_get_direction(cl->nbd),
			cl->ev);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: nbd_storm -u URI -f TRACE [-c N] [-q D] "
		"[-l LOG]\n");
	exit(2);
}

static void report(struct client *cls, int n, int64_t t0)
{
	int64_t *conn = calloc((size_t)n, sizeof(*conn));
	int64_t *boot = calloc((size_t)n, sizeof(*boot));
	size_t nc = 0, nb = 0;

	if (!conn || !boot)
		exit(2);
	for (int i = 0; i < n; i++) {
		if (cls[i].ready)
			conn[nc++] = cls[i].connect_ns;
		if (cls[i].done && cls[i].last_ns)
			boot[nb++] = cls[i].last_ns - cls[i].t0;
	}
	qsort(R.lat, R.nlat, sizeof(*R.lat), cmp_i64);
	qsort(conn, nc, sizeof(*conn), cmp_i64);
	qsort(boot, nb, sizeof(*boot), cmp_i64);
	printf("clients=%d depth=%d ops=%" PRIu64 " bytes=%" PRIu64
	       " wall_s=%.3f lat_p50_us=%.0f lat_p99_us=%.0f lat_max_us=%.0f"
	       " connect_p99_ms=%.1f boot_p50_s=%.3f boot_p99_s=%.3f"
	       " boot_max_s=%.3f failures=%" PRIu64 "\n",
	       n, R.depth, R.ops, R.bytes,
	       (double)((R.last_done ? R.last_done : now_ns()) - t0) / 1e9,
	       (double)pct(R.lat, R.nlat, 0.50) / 1e3,
	       (double)pct(R.lat, R.nlat, 0.99) / 1e3,
	       (double)pct(R.lat, R.nlat, 1.0) / 1e3,
	       (double)pct(conn, nc, 0.99) / 1e6,
	       (double)pct(boot, nb, 0.50) / 1e9,
	       (double)pct(boot, nb, 0.99) / 1e9,
	       (double)pct(boot, nb, 1.0) / 1e9, R.failures);
	free(conn);
	free(boot);
}

int main(int argc, char **argv)
{
	const char *uri = NULL, *tracef = NULL;
	int n = 1, opt, i, left = 0;
	struct client *cls;
	struct epoll_event evs[MAX_EVENTS];
	int64_t t0, give_up;
	int ep, zero;

	R.depth = 4;
	while ((opt = getopt(argc, argv, "u:f:c:q:l:")) != -1) {
		switch (opt) {
		case 'u': uri = optarg; break;
		case 'f': tracef = optarg; break;
		case 'c': n = atoi(optarg); break;
		case 'q': R.depth = atoi(optarg); break;
		case 'l':
			if (!(R.log = fopen(optarg, "w"))) {
				perror(optarg);
				return 2;
			}
			break;
		default: usage();
		}
	}
	if (!uri || !tracef || n < 1 || R.depth < 1 || R.depth > 64)
		usage();
	if (load_trace(tracef) != 0)
		return 2;
	cls = calloc((size_t)n, sizeof(*cls));
	if (!cls || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 2;
	/* The READ buffers are faulted in before the clock starts, and by the
	 * kernel: recv() is what writes them. On this VM the kernel's first
	 * write into a user page costs ~9 us even after the process wrote it
	 * itself (50 MiB into 200 buffers by recv(): 0.43 GB/s the first time,
	 * 3.9 GB/s the next; memset() first changed nothing). Prefaulted by
	 * memset(), 200 PCs x 4 x 64 KiB cost the generator ~0.15 s of copying
	 * in its first 0.3 s, which landed on the first READs' latency whatever
	 * the server. */
	if ((zero = open("/dev/zero", O_RDONLY | O_CLOEXEC)) < 0) {
		perror("/dev/zero");
		return 2;
	}
	for (i = 0; i < n; i++) {
		struct client *cl = &cls[i];

		if (!(cl->slots = calloc((size_t)R.depth, sizeof(*cl->slots))))
			return 2;
		for (int k = 0; k < R.depth; k++)
			if (!(cl->slots[k].buf = malloc(R.maxlen)) ||
			    prefault(zero, cl->slots[k].buf, R.maxlen) != 0)
				return 2;
	}
	close(zero);
	R.t0 = t0 = now_ns();
	for (i = 0; i < n; i++) {
		struct client *cl = &cls[i];

		cl->id = i;
		cl->t0 = now_ns();
		/* libnbd zeroes each READ's buffer first by default: work of
		 * the load generator, not of the server under test */
		if (!(cl->nbd = nbd_create()) ||
		    nbd_set_pread_initialize(cl->nbd, false) < 0 ||
		    nbd_aio_connect_uri(cl->nbd, uri) < 0) {
			fprintf(stderr, "client %d: connect: %s\n", i,
				nbd_get_error());
			cl->dead = 1;
			R.failures++;
		}
		cl->fd = -1;
		/* on loopback the handshake may be over before the call
		 * returns: no event will tell us, so look now */
		service(cl, 0);
		if (watch(ep, cl))
			left++;
	}
	/* bounded: a stuck server ends the run as a failure */
	give_up = t0 + 600LL * 1000000000;
	while (left > 0) {
		int nev;

		if (now_ns() > give_up) {
			fprintf(stderr, "gave up after 600 s\n");
			R.failures++;
			stuck(cls, n);
			break;
		}
		nev = epoll_wait(ep, evs, MAX_EVENTS, 1000);
		if (nev < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 2;
		}
		for (i = 0; i < nev; i++) {
			struct client *cl = evs[i].data.ptr;

			if (cl->dead || cl->done)
				continue;
			service(cl, revents_of(evs[i].events));
			if (!watch(ep, cl))
				left--;
		}
	}
	report(cls, n, t0);
	for (i = 0; i < n; i++) {
		if (cls[i].nbd)
			nbd_close(cls[i].nbd);
		for (int k = 0; cls[i].slots && k < R.depth; k++)
			free(cls[i].slots[k].buf);
		free(cls[i].slots);
	}
	free(cls);
	close(ep);
	free(R.lat);
	free(R.trace);
	if (R.log && fclose(R.log) != 0) {
		perror("-l");
		return 2;
	}
	return R.failures ? 1 : 0;
}
