/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC's end of the server's commands (the server's pc_commands.h):
 * a small process forked before switch_root that asks the server every
 * few seconds (GET /control with the boot's credential, which lives in
 * this process's memory only), acknowledges a command (POST /control)
 * and then carries it out through the image's own means:
 *
 *   reboot    systemd: SIGINT to PID 1 (ctrl-alt-del.target, a clean
 *             reboot); else the image's `reboot`, else SIGTERM to PID 1
 *             (busybox init)
 *   poweroff  systemd: SIGRTMIN+4 to PID 1 (poweroff.target); else the
 *             image's `poweroff`, else SIGUSR2 to PID 1 (busybox init)
 *   message   the console and the kernel log (the journal takes it from
 *             there), and `wall` to logged-in users when the image has it
 *
 * Every 30 s it also reports the image's health (POST /health: systemd's
 * is-system-running, or the /run/linkboot-ready marker of an image
 * without systemd), which canary releases are judged by.
 *
 * Acknowledging first and remembering what ran means a command runs at
 * most once, even when an answer is lost and the server sends it again.
 * A server that is down is asked again later: the process outlives
 * restarts. After switch_root the image's files are reached through
 * /proc/1/root (this process keeps the initramfs as its root).
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "http_client.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"

#define CONTROL_POLL_S		5
#define CONTROL_TIMEOUT_MS	4000
#define CONTROL_SEEN		32	/* ids remembered */
#define IMAGE_ROOT		"/proc/1/root"
#define HEALTH_EVERY		6	/* polls: a health report every 30 s */

struct control {
	const struct agent_cfg *cfg;
	long long seen[CONTROL_SEEN];
	unsigned nseen;
};

/* The value of key= in a key=value body into out; 0 or -ENOENT. */
static int body_get(const char *body, const char *key, char *out, size_t sz)
{
	size_t kl = strlen(key);

	for (const char *p = body; p && *p; ) {
		size_t ll = strcspn(p, "\n");

		if (ll > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(out, sz, "%.*s", (int)(ll - kl - 1), p + kl + 1);
			return 0;
		}
		p = p[ll] ? p + ll + 1 : NULL;
	}
	return -ENOENT;
}

/* After switch_root our /proc moved with the image: mount our own. */
static void proc_ready(void)
{
	struct stat st;

	if (stat("/proc/1", &st) != 0 &&
	    (mkdir("/proc", 0555) == 0 || errno == EEXIST) &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) != 0)
		log_warn("control: mount /proc");
}

static int image_has_systemd(void)
{
	struct stat st;

	return stat(IMAGE_ROOT "/run/systemd/system", &st) == 0;
}

/* Run the image's own prog (in its root) with arg; 0 when it ran and
 * exited 0, else -1. Bounded: a child that hangs is left after 10 s. */
static int image_run(const char *prog, const char *arg)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (chroot(IMAGE_ROOT) != 0 || chdir("/") != 0)
			_exit(127);
		execlp(prog, prog, arg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
		usleep(100000);
	}
	return -1;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		log_warn("control: %s", path);
	close(fd);
}

static void do_message(const char *text)
{
	char line[300];

	snprintf(line, sizeof(line), "linkboot message: %s\n", text);
	write_file(IMAGE_ROOT "/dev/console", line);
	snprintf(line, sizeof(line), "<5>linkboot: message: %s\n", text);
	write_file(IMAGE_ROOT "/dev/kmsg", line);
	image_run("wall", text);
}

static void do_power(int reboot)
{
	if (image_has_systemd()) {
		/* systemd(1) SIGNALS: SIGINT ctrl-alt-del.target (reboot),
		 * SIGRTMIN+4 poweroff.target: both clean */
		kill(1, reboot ? SIGINT : SIGRTMIN + 4);
		return;
	}
	if (image_run(reboot ? "reboot" : "poweroff", NULL) == 0)
		return;
	/* busybox init: SIGTERM reboots, SIGUSR2 powers off */
	kill(1, reboot ? SIGTERM : SIGUSR2);
}

/* The image's own word for its state: systemd's `systemctl
 * is-system-running` (running, degraded, starting, ...), or, without
 * systemd, "running" once the image made /run/linkboot-ready. */
static void system_state(char *out, size_t sz)
{
	struct stat st;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	snprintf(out, sz, "unknown");
	if (!image_has_systemd()) {
		snprintf(out, sz, "%s", stat(IMAGE_ROOT "/run/linkboot-ready",
					     &st) == 0 ? "running" : "starting");
		return;
	}
	if (pipe2(fds, O_CLOEXEC) != 0 || (pid = fork()) < 0)
		return;
	if (pid == 0) {
		dup2(fds[1], 1);
		if (chroot(IMAGE_ROOT) != 0 || chdir("/") != 0)
			_exit(127);
		execlp("systemctl", "systemctl", "is-system-running",
		       (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, sz - 1);
	close(fds[0]);
	for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) != pid; i++)
		usleep(100000);
	if (n > 0) {
		out[n] = '\0';
		out[strcspn(out, "\n")] = '\0';
	} else {
		snprintf(out, sz, "unknown");
	}
}

/* POST /health: what canary releases judge this PC by. */
static void health_report(struct control *c)
{
	char body[64], state[32];
	struct http_call call = {
		.method = "POST", .path = "health", .body = body,
		.bearer = c->cfg->export_name, .max = 512,
		.timeout_ms = CONTROL_TIMEOUT_MS,
	};
	uint8_t *resp = NULL;
	size_t len;
	int status;

	proc_ready();
	system_state(state, sizeof(state));
	call.body_len = (size_t)snprintf(body, sizeof(body), "system=%s\n",
					 state);
	if (http_call(c->cfg, &call, &status, &resp, &len) == 0 &&
	    status != 200)
		log_warnx("control: health report: HTTP %d", status);
	free(resp);
}

static int seen(struct control *c, long long id)
{
	for (unsigned i = 0; i < c->nseen && i < CONTROL_SEEN; i++)
		if (c->seen[i] == id)
			return 1;
	c->seen[c->nseen++ % CONTROL_SEEN] = id;
	return 0;
}

static int control_ack(struct control *c, long long id)
{
	char body[32];
	struct http_call call = {
		.method = "POST", .path = "control", .body = body,
		.bearer = c->cfg->export_name, .max = 512,
		.timeout_ms = CONTROL_TIMEOUT_MS,
	};
	uint8_t *resp = NULL;
	size_t len;
	int status = 0, rc;

	call.body_len = (size_t)snprintf(body, sizeof(body), "ack=%lld\n", id);
	rc = http_call(c->cfg, &call, &status, &resp, &len);
	free(resp);
	return rc ? rc : status == 200 ? 0 : -EPROTO;
}

/* One ask: a command acknowledged and carried out, or nothing. */
static void control_poll(struct control *c)
{
	struct http_call call = {
		.method = "GET", .path = "control",
		.bearer = c->cfg->export_name, .max = 1024,
		.timeout_ms = CONTROL_TIMEOUT_MS,
	};
	char id_s[24], kind[16], text[256];
	uint8_t *body = NULL;
	long long id;
	size_t len;
	int status = 0;

	if (http_call(c->cfg, &call, &status, &body, &len) != 0 ||
	    status != 200 ||
	    body_get((char *)body, "id", id_s, sizeof(id_s)) != 0 ||
	    body_get((char *)body, "kind", kind, sizeof(kind)) != 0) {
		free(body);
		return;
	}
	if (body_get((char *)body, "text", text, sizeof(text)) != 0)
		text[0] = '\0';
	free(body);
	id = atoll(id_s);
	if (control_ack(c, id) != 0) {
		log_warnx("control: command %lld (%s): the acknowledgement "
			  "failed; asking again later", id, kind);
		return;
	}
	if (seen(c, id))
		return;	/* ran already: the server missed our first ack */
	log_info("control: command %lld: %s%s%s", id, kind, text[0] ? ": " :
		 "", text);
	proc_ready();
	if (!strcmp(kind, "message"))
		do_message(text);
	else if (!strcmp(kind, "reboot") || !strcmp(kind, "poweroff"))
		do_power(!strcmp(kind, "reboot"));
	else
		log_warnx("control: command %lld: unknown kind '%s'", id, kind);
}

void control_start(const struct agent_cfg *cfg)
{
	static struct control c;
	pid_t pid;

	if (!cfg->http.sin_port ||
	    !cred_shaped(cfg->export_name, strlen(cfg->export_name)))
		return;	/* no server to ask, or no boot credential */
	if ((pid = fork()) < 0) {
		log_warn("control: fork");
		return;
	}
	if (pid > 0)
		return;
	c.cfg = cfg;
	signal(SIGCHLD, SIG_DFL);
	signal(SIGUSR1, SIG_IGN);	/* "report now" is for the disk daemons */
	for (unsigned n = 1;; n++) {
		sleep(CONTROL_POLL_S);
		control_poll(&c);
		if (n % HEALTH_EVERY == 2)
			health_report(&c);
	}
}
