/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The disk daemon's process (disk_daemon.h): serve_daemon() is forked
 * from PID 1 and becomes the supervisor.
 *
 *   serve_daemon: first connect, cache stack, write overlay (memfd),
 *       |         NBD_CMD_CONNECT, "INDEX T_NBD" to PID 1
 *   supervise <--------------------------------------------+
 *       | fork                                             |
 *   serving child (disk_serve.c) ... crashes               |
 *       | waitpid: exit 0 = kernel disconnected: done       |
 *   respawn_socket: new socketpair, NBD_CMD_RECONFIGURE ---+
 *
 * The supervisor holds no socket end, no server connection and no big
 * buffer: only the serving child does, so the kernel sees EOF when it
 * dies, and the overlay's memfd keeps the written pages for the next.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk_daemon.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "nbd_kernel.h"
#include "nbd_wire.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

/* The daemon's process: out of the boot's session and signals, never the
 * OOM killer's pick, no recursion into our own device under reclaim. */
static void harden(void)
{
	int fd;

	/* our own session: no console ^C, no hangup from the image's init */
	setsid();
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, serve_on_sigusr1);

	/* reclaim may write to the device we serve: do not recurse into it */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0)
		log_warn("prctl(PR_SET_IO_FLUSHER)");
	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) >= 0) {
		if (write(fd, "-1000", 5) != 5)
			log_warn("oom_score_adj");
		close(fd);
	}
}

/* Kernel requests no larger than our buffers (SERVE_BUFSZ). */
static void set_max_sectors(int index)
{
	char path[96], val[16];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/block/nbd%d/queue/max_sectors_kb",
		 index);
	n = snprintf(val, sizeof(val), "%u", SERVE_BUFSZ / 1024);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 ||
	    write(fd, val, (size_t)n) != n)
		log_warn("%s", path);
	if (fd >= 0)
		close(fd);
}

/* The server may still be starting: retried for linkboot.reconnect. */
static int first_connect(struct disk_daemon *d)
{
	int64_t start = now_ms();
	int backoff = 500, rc;

	for (;;) {
		if ((rc = nbd_client_connect(d->cfg, &d->conn)) == 0)
			return 0;
		if (now_ms() - start > (int64_t)d->cfg->reconnect_s * 1000)
			return rc;
		usleep((useconds_t)backoff * 1000);
		backoff = MIN(backoff * 2, BACKOFF_MAX_MS);
	}
}

/* NBD_CMD_CONNECT: /dev/nbdN on a new socketpair, our end in d->kfd. */
static int attach_kernel(struct disk_daemon *d)
{
	uint64_t flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	d->read_only = !serve_export_writable(d);
	if (d->read_only)
		flags |= NBD_FLAG_READ_ONLY;
	else
		flags |= d->conn.flags & (NBD_FLAG_SEND_FUA |
					  NBD_FLAG_SEND_TRIM |
					  NBD_FLAG_SEND_WRITE_ZEROES);
	d->index = -1;
	rc = nbd_kernel_connect(sv[0], d->conn.size, 512, flags,
				d->cfg->reconnect_s, &d->index);
	close(sv[0]);	/* the kernel holds its own reference */
	if (rc != 0) {
		close(sv[1]);
		return rc;
	}
	d->kfd = sv[1];
	set_max_sectors(d->index);
	return 0;
}

/* The serving child: buffers, cache and overlay in locked memory, then
 * the serve loop until the kernel disconnects (exit 0). */
static void serve_child(struct disk_daemon *d) __attribute__((noreturn));
static void serve_child(struct disk_daemon *d)
{
	int rc;

	if ((!d->kbuf && serve_alloc(d) != 0) || serve_cache(d) != 0)
		_exit(1);
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0)
		log_warn("prctl(PR_SET_IO_FLUSHER)");
	/* everything is allocated: lock it, no page faults on the I/O path */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		log_warn("mlockall");
	if (d->wov_memfd >= 0 && overlay_attach(d) != 0)
		_exit(1);
	rc = serve_loop(d);
	log_info("nbd%d: kernel disconnected (%s); daemon exits", d->index,
		 err_str(rc));
	_exit(0);
}

/* After a crash: a new socketpair for the same /dev/nbdN; the next child
 * starts with the server down and reconnects at its first loop turn. */
static int respawn_socket(struct disk_daemon *d)
{
	int sv[2], rc = -EIO, i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	/* the kernel marks the old socket dead when it sees EOF: retry */
	for (i = 0; i < 50; i++) {
		if ((rc = nbd_kernel_reconfigure(d->index, sv[0])) == 0)
			break;
		usleep(100000);
	}
	close(sv[0]);
	if (rc != 0) {
		close(sv[1]);
		log_warnx("nbd%d: NBD_CMD_RECONFIGURE: %s", d->index,
			  err_str(rc));
		return rc;
	}
	d->kfd = sv[1];
	d->conn.fd = -1;
	d->down_since = now_ms();
	d->next_attempt = 0;
	d->backoff_ms = BACKOFF_MIN_MS;
	d->expired = 0;
	return 0;
}

/* What only the serving child may hold: the socketpair's end (so the
 * kernel sees EOF when it dies), the server connection, PID 1's pipe, the
 * buffers and the cache. */
static void leave_to_child(struct disk_daemon *d)
{
	if (d->kfd >= 0)
		close(d->kfd);
	d->kfd = -1;
	nbd_client_close(&d->conn);
	if (d->timeline_fd >= 0)
		close(d->timeline_fd);
	d->timeline_fd = -1;
	serve_release(d);
}

/*
 * The supervisor: holds no socket end and no big buffer, only waits. A
 * crashed serving child is replaced (new socketpair + NBD_CMD_RECONFIGURE,
 * DESIGN.md "Verified") and the mounted root continues. Requests the dead
 * child had in flight stay stuck in the kernel (we set no NBD_ATTR_TIMEOUT:
 * one would also kill our socket during a long server outage); new ones
 * are served.
 */
static void supervise(struct disk_daemon *d) __attribute__((noreturn));
static void supervise(struct disk_daemon *d)
{
	unsigned restarts = 0;
	int st;

	for (;;) {
		pid_t pid = fork();

		if (pid < 0) {
			log_warn("agent: fork; serving without a supervisor");
			serve_child(d);
		}
		if (pid == 0)
			serve_child(d);
		leave_to_child(d);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			_exit(0);	/* the kernel disconnected: done */
		restarts++;
		log_warnx("nbd%d: disk daemon died (%s %d); starting a new one "
			  "(#%u)", d->index, WIFSIGNALED(st) ? "signal" : "exit",
			  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
			  restarts);
		sleep(MIN(restarts, 5u));
		while (respawn_socket(d) != 0)
			sleep(5);
	}
}

/* Before the kernel's first request: connection, cache (hash table,
 * SSD, boot pack), overlay, then /dev/nbdN. 0 or -errno, logged. */
static int daemon_start(struct disk_daemon *d)
{
	int rc;

	if ((rc = serve_alloc(d)) != 0)
		return rc;
	if ((rc = first_connect(d)) != 0) {
		log_warnx("nbd: no server answered for %u s (check: `linkboot "
			  "serve` running, NBD port open, linkboot.server, "
			  "the PC still linked)", d->cfg->reconnect_s);
		return rc;
	}
	if ((rc = serve_cache(d)) != 0)
		return rc;
	/* before the kernel has the device: blkid's scan for the cache
	 * partition would read it, and nobody serves it yet */
	if (serve_export_writable(d))
		overlay_setup(d);
	agent_stats.t_nbd = now_ms();
	if ((rc = attach_kernel(d)) != 0) {
		log_warnx("nbd: NBD_CMD_CONNECT: %s (check: nbd.ko loaded "
			  "with nbds_max, a free /dev/nbdN)", err_str(rc));
		return rc;
	}
	log_info("nbd%d: %llu bytes from %s:%u, %s, RAM cache %u MiB",
		 d->index, (unsigned long long)d->conn.size,
		 inet_ntoa(d->cfg->server[d->conn.server].sin_addr),
		 ntohs(d->cfg->server[d->conn.server].sin_port),
		 d->read_only ? "read-only" : "read-write", d->cfg->ram_mib);
	return 0;
}

void serve_daemon(const struct agent_cfg *cfg, struct net_state *ns,
		  int ready_fd, int timeline_fd)
{
	static struct disk_daemon d;
	char msg[64];
	int rc, len;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.ns = ns;
	d.conn.fd = -1;
	d.kfd = -1;
	d.wov_memfd = -1;
	d.timeline_fd = timeline_fd;
	harden();
	if ((rc = daemon_start(&d)) != 0) {
		len = snprintf(msg, sizeof(msg), "-1 %d\n", rc);
		if (write(ready_fd, msg, (size_t)len) < 0)
			log_warn("ready pipe");
		_exit(1);
	}
	len = snprintf(msg, sizeof(msg), "%d %lld\n", d.index,
		       (long long)agent_stats.t_nbd);
	if (write(ready_fd, msg, (size_t)len) != len)
		log_warn("ready pipe");
	close(ready_fd);
	if (ns)
		report_send(cfg, ns->mac, "nbd_connected", NULL);
	supervise(&d);
}
