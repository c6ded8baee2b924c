/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iscsi_storm: N iSCSI initiators in one process (libiscsi's async API,
 * one poll() loop), each reading from one target. Not a test: a load
 * generator for bench/iscsi-peers.sh, the same for every server.
 *
 *   iscsi_storm -p HOST:PORT -T IQN [options]
 *     -c N        initiators (default 1), all logging in at once
 *     -q D        READs in flight per initiator (default 16)
 *     -m MODE     rand: random reads of -b bytes, time-based (-t)
 *                 seq:  sequential reads of -b bytes, time-based (-t)
 *                 trace: replay -f FILE once per initiator, in order, up
 *                        to -q in flight (a boot is a chain of reads: the
 *                        loader reads what the last read told it to)
 *     -b BYTES    read size for rand/seq (default 4096)
 *     -t SECONDS  duration for rand/seq (default 10)
 *     -f FILE     trace: "OFFSET LENGTH" per line (bytes, 512-aligned),
 *                 '#' comments
 *     -L LUN      (default 0)
 *
 * Prints one line of key=value: clients, ops, bytes, wall_s (first login
 * to last completion: for a storm, what a room of PCs waits), io_s (first
 * READ to last completion), iops, mib_s, lat_p50_us, lat_p99_us,
 * lat_max_us (READ issued -> status), login_p99_ms, failures (READs with
 * a status other than GOOD, plus initiators whose login failed or whose
 * connection broke). Exit 0 when failures == 0.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "stats.h"

#define BLOCK		512U

enum mode { MODE_RAND, MODE_SEQ, MODE_TRACE };

struct op {
	uint64_t off;
	uint32_t len;
};

struct client;

/* one READ in flight */
struct slot {
	struct client *cl;
	int64_t t0;			/* issued, ns */
};

struct client {
	struct iscsi_context *iscsi;
	int id;
	int logged_in;
	int dead;			/* login or connection failed */
	int done;			/* nothing more to issue or wait for */
	int inflight;
	size_t next;			/* trace: next op index */
	uint64_t seq_off;		/* seq: next offset */
	uint64_t rng;			/* rand: xorshift state */
	int64_t login_t0, login_ns;
	struct slot *slots;		/* -q of them, free ones have cl NULL */
};

struct run {
	enum mode mode;
	int depth;
	uint32_t bs;
	int lun;
	int64_t end_ns;			/* rand/seq: stop issuing */
	uint64_t size;			/* the LUN's bytes */
	struct op *trace;
	size_t ntrace;
	/* results */
	uint64_t ops, bytes, failures;
	int64_t *lat;			/* ns per completed READ */
	size_t nlat, caplat;
	int64_t io_t0, last_done;
};

static struct run R;

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

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The next READ of cl; 0 when it has none left. */
static int next_op(struct client *cl, struct op *o, int64_t now)
{
	uint64_t blocks;

	switch (R.mode) {
	case MODE_TRACE:
		if (cl->next >= R.ntrace)
			return 0;
		*o = R.trace[cl->next++];
		return 1;
	case MODE_RAND:
		if (now >= R.end_ns)
			return 0;
		blocks = (R.size - R.bs) / R.bs;
		o->off = (xorshift(&cl->rng) % (blocks + 1)) * R.bs;
		o->len = R.bs;
		return 1;
	case MODE_SEQ:
		if (now >= R.end_ns)
			return 0;
		if (cl->seq_off + R.bs > R.size)
			cl->seq_off = 0;
		o->off = cl->seq_off;
		o->len = R.bs;
		cl->seq_off += R.bs;
		return 1;
	}
	return 0;
}

static void issue(struct client *cl);

static void read_done(struct iscsi_context *iscsi, int status,
		      void *command_data, void *private_data)
{
	struct slot *s = private_data;
	struct client *cl = s->cl;
	struct scsi_task *task = command_data;
	int64_t t = now_ns();

	(void)iscsi;
	if (status == SCSI_STATUS_GOOD) {
		R.ops++;
		R.bytes += task->datain.size;
		lat_add(t - s->t0);
	} else {
		R.failures++;
		if (R.failures <= 5)
			fprintf(stderr, "client %d: READ failed: %s\n", cl->id,
				iscsi_get_error(cl->iscsi));
	}
	if (task)
		scsi_free_scsi_task(task);
	s->cl = NULL;
	cl->inflight--;
	R.last_done = t;
	issue(cl);
}

/* Fill cl's free slots with READs. */
static void issue(struct client *cl)
{
	int64_t t = now_ns();
	struct op o;
	int i;

	if (cl->dead)
		return;
	for (i = 0; i < R.depth && cl->inflight < R.depth; i++) {
		struct slot *s = &cl->slots[i];

		if (s->cl)
			continue;
		if (!next_op(cl, &o, t))
			break;
		s->cl = cl;
		s->t0 = t;
		if (!iscsi_read10_task(cl->iscsi, R.lun, (uint32_t)(o.off / BLOCK),
				       o.len, BLOCK, 0, 0, 0, 0, 0, read_done, s)) {
			fprintf(stderr, "client %d: read10_task: %s\n", cl->id,
				iscsi_get_error(cl->iscsi));
			s->cl = NULL;
			R.failures++;
			cl->dead = 1;
			break;
		}
		cl->inflight++;
	}
	if (cl->inflight == 0)
		cl->done = 1;
}

static void login_done(struct iscsi_context *iscsi, int status,
		       void *command_data, void *private_data)
{
	struct client *cl = private_data;

	(void)command_data;
	cl->login_ns = now_ns() - cl->login_t0;
	if (status != 0) {
		fprintf(stderr, "client %d: login failed: %s\n", cl->id,
			iscsi_get_error(iscsi));
		cl->dead = 1;
		R.failures++;
		return;
	}
	cl->logged_in = 1;
}

static int load_trace(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	size_t cap = 0;
	unsigned long long off, len;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%llu %llu", &off, &len) != 2 || len == 0 ||
		    off % BLOCK || len % BLOCK || len > (8U << 20)) {
			fprintf(stderr, "%s: bad line: %s", path, line);
			fclose(f);
			return -1;
		}
		if (R.ntrace == cap) {
			cap = cap ? cap * 2 : 1024;
			R.trace = realloc(R.trace, cap * sizeof(*R.trace));
			if (!R.trace) {
				fclose(f);
				return -1;
			}
		}
		R.trace[R.ntrace++] = (struct op){ off, (uint32_t)len };
	}
	fclose(f);
	return R.ntrace ? 0 : -1;
}

/* The LUN's size, from the first initiator (READ CAPACITY 16). */
static int lun_size(struct client *cl)
{
	struct scsi_task *t = iscsi_readcapacity16_sync(cl->iscsi, R.lun);
	struct scsi_readcapacity16 *rc16;

	if (!t || t->status != SCSI_STATUS_GOOD ||
	    !(rc16 = scsi_datain_unmarshall(t))) {
		fprintf(stderr, "READ CAPACITY 16: %s\n",
			iscsi_get_error(cl->iscsi));
		return -1;
	}
	R.size = (rc16->returned_lba + 1) * (uint64_t)rc16->block_length;
	scsi_free_scsi_task(t);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: iscsi_storm -p HOST:PORT -T IQN [-c N] [-q D] "
		"[-m rand|seq|trace] [-b BYTES] [-t SECONDS] [-f TRACE] "
		"[-L LUN]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *portal = NULL, *target = NULL, *tracef = NULL;
	int nclients = 1, opt, secs = 10, i, left, logging;
	struct client *cls;
	struct pollfd *pfd;
	int64_t t0, t_end, *logins;
	size_t nlog = 0;
	char name[96];

	R.depth = 16;
	R.bs = 4096;
	R.mode = MODE_RAND;
	while ((opt = getopt(argc, argv, "p:T:c:q:m:b:t:f:L:")) != -1) {
		switch (opt) {
		case 'p': portal = optarg; break;
		case 'T': target = optarg; break;
		case 'c': nclients = atoi(optarg); break;
		case 'q': R.depth = atoi(optarg); break;
		case 'b': R.bs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': secs = atoi(optarg); break;
		case 'f': tracef = optarg; break;
		case 'L': R.lun = atoi(optarg); break;
		case 'm':
			if (!strcmp(optarg, "rand")) R.mode = MODE_RAND;
			else if (!strcmp(optarg, "seq")) R.mode = MODE_SEQ;
			else if (!strcmp(optarg, "trace")) R.mode = MODE_TRACE;
			else usage();
			break;
		default: usage();
		}
	}
	if (!portal || !target || nclients < 1 || R.depth < 1 ||
	    R.bs == 0 || R.bs % BLOCK || secs < 1 ||
	    (R.mode == MODE_TRACE && !tracef))
		usage();
	if (R.mode == MODE_TRACE && load_trace(tracef) != 0)
		return 2;

	cls = calloc((size_t)nclients, sizeof(*cls));
	pfd = calloc((size_t)nclients, sizeof(*pfd));
	logins = calloc((size_t)nclients, sizeof(*logins));
	if (!cls || !pfd || !logins)
		return 2;
	/* everyone logs in at once: a room powered on together */
	t0 = now_ns();
	for (i = 0; i < nclients; i++) {
		struct client *cl = &cls[i];

		snprintf(name, sizeof(name), "iqn.2026-12.org.linkboot.bench:i%d",
			 i);
		cl->id = i;
		cl->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		cl->slots = calloc((size_t)R.depth, sizeof(*cl->slots));
		if (!cl->slots || !(cl->iscsi = iscsi_create_context(name)))
			return 2;
		iscsi_set_targetname(cl->iscsi, target);
		iscsi_set_session_type(cl->iscsi, ISCSI_SESSION_NORMAL);
		iscsi_set_header_digest(cl->iscsi, ISCSI_HEADER_DIGEST_NONE);
		/* a broken connection is a failure, not a silent retry */
		iscsi_set_noautoreconnect(cl->iscsi, 1);
		cl->login_t0 = now_ns();
		if (iscsi_full_connect_async(cl->iscsi, portal, R.lun,
					     login_done, cl) != 0) {
			fprintf(stderr, "client %d: connect: %s\n", i,
				iscsi_get_error(cl->iscsi));
			cl->dead = 1;
			R.failures++;
		}
	}
	logging = 1;
	R.io_t0 = 0;
	t_end = t0 + (int64_t)secs * 1000000000 * 20 + 60000000000LL;
	for (;;) {
		int64_t t = now_ns();

		if (t > t_end) {
			fprintf(stderr, "gave up: no progress\n");
			break;
		}
		/* all logged in (or failed): the READs begin, for a micro run
		 * after the logins so that only READs are timed */
		if (logging) {
			left = 0;
			for (i = 0; i < nclients; i++)
				if (!cls[i].logged_in && !cls[i].dead)
					left++;
			if (!left) {
				logging = 0;
				for (i = 0; i < nclients; i++)
					if (cls[i].logged_in)
						break;
				if (i == nclients)
					break;
				if (R.mode != MODE_TRACE &&
				    lun_size(&cls[i]) != 0)
					return 2;
				R.io_t0 = now_ns();
				R.end_ns = R.io_t0 + (int64_t)secs * 1000000000;
				for (i = 0; i < nclients; i++)
					if (cls[i].logged_in) {
						logins[nlog++] = cls[i].login_ns;
						issue(&cls[i]);
					}
			}
		}
		left = 0;
		for (i = 0; i < nclients; i++) {
			struct client *cl = &cls[i];

			pfd[i].fd = -1;
			pfd[i].events = 0;
			if (cl->dead || cl->done)
				continue;
			left++;
			pfd[i].fd = iscsi_get_fd(cl->iscsi);
			pfd[i].events = (short)iscsi_which_events(cl->iscsi);
		}
		if (!left)
			break;
		if (poll(pfd, (nfds_t)nclients, 1000) < 0 && errno != EINTR) {
			perror("poll");
			return 2;
		}
		for (i = 0; i < nclients; i++) {
			struct client *cl = &cls[i];

			if (pfd[i].fd < 0)
				continue;
			if (iscsi_service(cl->iscsi, pfd[i].revents) < 0) {
				fprintf(stderr, "client %d: %s\n", i,
					iscsi_get_error(cl->iscsi));
				cl->dead = 1;
				R.failures++;
			}
		}
	}
	{
		int64_t wall = (R.last_done ? R.last_done : now_ns()) - t0;
		int64_t io = R.last_done && R.io_t0 ? R.last_done - R.io_t0 : 0;
		double io_s = (double)io / 1e9;

		qsort(R.lat, R.nlat, sizeof(*R.lat), cmp_i64);
		qsort(logins, nlog, sizeof(*logins), cmp_i64);
		printf("clients=%d depth=%d ops=%" PRIu64 " bytes=%" PRIu64
		       " wall_s=%.3f io_s=%.3f iops=%.0f mib_s=%.1f"
		       " lat_p50_us=%.0f lat_p99_us=%.0f lat_max_us=%.0f"
		       " login_p99_ms=%.1f failures=%" PRIu64 "\n",
		       nclients, R.depth, R.ops, R.bytes, (double)wall / 1e9,
		       io_s, io_s > 0 ? (double)R.ops / io_s : 0,
		       io_s > 0 ? (double)R.bytes / io_s / 1048576 : 0,
		       (double)pct(R.lat, R.nlat, 0.50) / 1e3,
		       (double)pct(R.lat, R.nlat, 0.99) / 1e3,
		       (double)pct(R.lat, R.nlat, 1.0) / 1e3,
		       (double)pct(logins, nlog, 0.99) / 1e6, R.failures);
	}
	for (i = 0; i < nclients; i++) {
		if (cls[i].iscsi)
			iscsi_destroy_context(cls[i].iscsi);
		free(cls[i].slots);
	}
	free(cls);
	free(pfd);
	free(logins);
	free(R.lat);
	free(R.trace);
	return R.failures ? 1 : 0;
}
