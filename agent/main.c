/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linkboot-agent: the client's /init. Boot steps in order; each failure
 * says what failed, why and what to check, then retries or drops to a
 * rescue shell. PID 1 never exits (agent_panic()).
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "version.h"

#define AGENT_ARGV0 "@linkboot-agent"	/* '@': systemd's killall spares us */
/* the system disk, a spare for the supervisor's reattach, extra disks */
#define NBDS_MAX (2 + AGENT_MAX_DISKS)

/* the only mutable state of PID 1 */
static struct agent_cfg cfg;
static struct net_state net;
static int net_is_up;

extern char **environ;

void agent_panic(const char *what, const char *why, const char *check)
{
	static const char *const shells[] = { "/bin/sh", "/bin/busybox" };
	char extra[512];
	size_t i;
	int n;

	fprintf(stderr,
		"\n*** linkboot-agent: %s failed\n"
		"***   why:   %s\n"
		"***   check: %s\n", what, why, check);
	if (net_is_up) {
		snprintf(extra, sizeof(extra), "error_what=%s\nerror_why=%s",
			 what, why);
		report_send(&cfg, net.mac, "error", extra);
	}
	/* PID 1 must never exit: rescue shells, then wait forever */
	for (n = 0;; n++) {
		for (i = 0; i < ARRAY_SIZE(shells); i++) {
			pid_t pid;

			if (access(shells[i], X_OK) != 0)
				continue;
			fprintf(stderr, "*** rescue shell (%s); exit to get "
				"another\n", shells[i]);
			if ((pid = fork()) == 0) {
				execl(shells[i], "sh", (char *)NULL);
				_exit(127);
			}
			while (pid > 0 && waitpid(pid, NULL, 0) < 0 &&
			       errno == EINTR)
				;
			break;
		}
		if (i == ARRAY_SIZE(shells) && n % 60 == 0)
			fprintf(stderr, "*** no shell in the initramfs; fix the "
				"above and reboot the PC\n");
		sleep(i == ARRAY_SIZE(shells) ? 60 : 1);
	}
}

/*
 * The initramfs is freed at switch_root: run from a memfd copy of
 * ourselves, with argv[0] "@..." (systemd leaves such processes alone at
 * shutdown).
 */
static void reexec_from_memfd(char **argv)
{
	char *nargv[8];
	int in, mfd, i;
	struct stat st;
	off_t off = 0;

	if (getenv("LINKBOOT_AGENT_MEMFD"))
		return;
	if ((in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(in, &st) != 0)
		goto fail;
	if ((mfd = memfd_create("linkboot-agent", MFD_CLOEXEC)) < 0)
		goto fail;
	while (off < st.st_size)
		if (sendfile(mfd, in, &off, (size_t)(st.st_size - off)) <= 0)
			goto fail;
	close(in);
	nargv[0] = AGENT_ARGV0;
	for (i = 1; i < 7 && argv[i]; i++)
		nargv[i] = argv[i];
	nargv[i] = NULL;
	setenv("LINKBOOT_AGENT_MEMFD", "1", 1);
	syscall(SYS_execveat, mfd, "", nargv, environ, AT_EMPTY_PATH);
fail:
	log_warn("agent: cannot re-run from memory; continuing from the "
		 "initramfs");
}

/* a mount of its own (the re-run from the memfd finds them done) */
static int is_mountpoint(const char *path)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat("/", &b) == 0 && a.st_dev != b.st_dev;
}

static void mount_early(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	if (!is_mountpoint("/proc"))
		mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		      NULL);
	if (!is_mountpoint("/sys"))
		mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		      NULL);
	if (!is_mountpoint("/dev") &&
	    mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") != 0)
		log_warn("mount devtmpfs");
}

static void console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void read_cmdline(void)
{
	char buf[4096], err[256];
	ssize_t n;
	int fd;

	cmdline_defaults(&cfg);
	if ((fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC)) < 0)
		agent_panic("reading /proc/cmdline", strerror(errno),
			    "is /proc mounted?");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	if (cmdline_parse(buf, &cfg, err, sizeof(err)) != 0)
		agent_panic("kernel command line", err,
			    "the boot script (GET /boot.ipxe?mac=...) or the "
			    "linkboot.* parameters you typed");
	if (cfg.verbose >= 1)
		log_set_level(LOG_LEVEL_DEBUG);
}

static void bring_net_up(void)
{
	int i, rc = -EIO;

	/* bounded retries: a switch port may still be in STP listening */
	for (i = 0; i < 3; i++) {
		if ((rc = net_up(&cfg, &net)) == 0)
			break;
		sleep(2);
	}
	if (rc != 0)
		agent_panic("network setup", err_str(rc),
			    "NIC driver (in the initramfs?), cable/link, "
			    "linkboot.mac, linkboot.ip/netmask or DHCP");
	net_is_up = 1;
	agent_stats.t_net = now_ms();
}

/* The boot ticket for this boot's credential, before anything speaks to
 * the server for this PC. */
static void begin_session(void)
{
	char why[384];
	int rc;

	if (cfg.ticket[0] && (rc = session_begin(&cfg, why, sizeof(why))) != 0)
		agent_panic("starting this boot on the server", why,
			    "the server log (journalctl -u linkboot); reboot "
			    "the PC for a new ticket");
	report_send(&cfg, net.mac, "net_up", NULL);
}

/* Fork the disk daemon; returns the nbd index once the kernel has it, and
 * in *timeline_w the pipe for the root's timeline (rootfs_boot()). */
static int start_daemon(int *timeline_w)
{
	int ready[2], timeline[2], index = -1;
	long long v = 0;
	char buf[64];
	ssize_t n;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(timeline, O_CLOEXEC) != 0)
		agent_panic("pipe", strerror(errno), "memory");
	if ((pid = fork()) < 0)
		agent_panic("fork", strerror(errno), "memory");
	if (pid == 0) {
		close(ready[0]);
		close(timeline[1]);
		serve_daemon(&cfg, &net, ready[1], timeline[0]);
	}
	close(ready[1]);
	close(timeline[0]);
	n = read(ready[0], buf, sizeof(buf) - 1);
	close(ready[0]);
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || sscanf(buf, "%d %lld", &index, &v) != 2 || index < 0)
		agent_panic("NBD setup", n <= 0 ? "the disk daemon died" :
			    err_str((int)v),
			    "the messages above; server reachable? the PC "
			    "still linked (`linkboot client show MAC`)?");
	agent_stats.t_nbd = v;
	*timeline_w = timeline[1];
	return index;
}

int main(int argc, char **argv)
{
	int index, timeline_w, rc;

	(void)argc;
	if (getpid() == 1) {
		mount_early();
		console_stdio();
		reexec_from_memfd(argv);
	}
	/* re-run done: the image's init must not inherit our marker */
	unsetenv("LINKBOOT_AGENT_MEMFD");
	agent_stats.t_start = now_ms();
	log_init("linkboot-agent", LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	log_info("linkboot-agent %s starting", LINKBOOT_VERSION);
	if (getpid() != 1) {
		fprintf(stderr, "linkboot-agent: runs as /init (PID 1) of the "
			"linkboot initramfs; build one with `linkboot "
			"initramfs -o FILE`\n");
		return 2;
	}
	read_cmdline();
	if ((rc = modules_load_all(NBDS_MAX)) != 0)
		agent_panic("loading kernel modules", err_str(rc),
			    "the initramfs matches this kernel (`linkboot "
			    "initramfs --kernel-version $(uname -r)`)");
	bring_net_up();
	begin_session();
	if (cfg.prestage[0])
		prestage_run(&cfg);
	/* before the disk daemon: tests find the serving process as the
	 * newest agent process */
	control_start(&cfg);
	index = start_daemon(&timeline_w);
	extra_disks_attach(&cfg);
	rc = rootfs_boot(&cfg, &net, index, timeline_w);
	agent_panic("mounting the root", err_str(rc),
		    "the messages above; linkboot.root and the image");
}
