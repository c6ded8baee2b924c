/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `linkboot serve`: set up the server and run the loop. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "privdrop.h"
#include "server.h"
#include "services.h"

/* Started in this order, stopped in reverse. */
static const struct lb_service services[] = {
	SERVICES_TABLE
	{ NULL, NULL, NULL },
};

/* Run after a reload changed live options, in this order. */
static void (*const reload_hooks[])(struct lb_server *srv) = {
	SERVICES_RELOAD
};

static struct lb_server *signal_srv;

static void on_signal(int sig)
{
	if (!signal_srv)
		return;
	if (sig == SIGHUP)
		signal_srv->reload = 1;
	else
		signal_srv->stop = 1;
}

static void serve_signals(struct lb_server *srv)
{
	/* SA_RESTART: a routine reload must not fail a blocking read or
	 * write elsewhere with EINTR; epoll_wait() returns EINTR anyway
	 * (signal(7)), so the loop sees the flag at once */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	signal_srv = srv;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* systemd's sd_notify protocol, without libsystemd: one datagram. */
static void serve_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	strcpy(sun.sun_path, path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
	close(fd);
}

static int64_t serve_watchdog_tick(void *arg, int64_t now)
{
	int64_t *next = arg;

	if (now >= *next) {
		serve_notify("WATCHDOG=1");
		*next = now + 1000;
	}
	return *next;
}

/* First IPv4 address of ifname (or of any up, non-loopback interface). */
static int serve_if_addr(const char *ifname, struct in_addr *out)
{
	struct ifaddrs *ifa, *p;
	int rc = -ENOENT;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET)
			continue;
		if (ifname ? strcmp(p->ifa_name, ifname) != 0
			   : (p->ifa_flags & IFF_LOOPBACK) != 0)
			continue;
		*out = ((struct sockaddr_in *)p->ifa_addr)->sin_addr;
		rc = 0;
		break;
	}
	freeifaddrs(ifa);
	return rc;
}

static int serve_addresses(struct lb_server *srv)
{
	const struct lb_config *cfg = srv->cfg;

	if (inet_pton(AF_INET, cfg->listen, &srv->listen_ip) != 1) {
		log_err("--listen %s: not an IPv4 address", cfg->listen);
		return -EINVAL;
	}
	if (cfg->interface &&
	    !(srv->ifindex = (int)if_nametoindex(cfg->interface))) {
		log_err("--interface %s: no such interface (see `ip link`)",
			cfg->interface);
		return -ENODEV;
	}
	if (cfg->server_addr) {
		if (inet_pton(AF_INET, cfg->server_addr, &srv->server_ip) != 1) {
			log_err("--server-addr %s: not an IPv4 address",
				cfg->server_addr);
			return -EINVAL;
		}
	} else if (srv->listen_ip.s_addr != htonl(INADDR_ANY)) {
		srv->server_ip = srv->listen_ip;
	} else if (serve_if_addr(cfg->interface, &srv->server_ip) != 0) {
		log_err("cannot tell which address clients reach this server at: "
			"give --server-addr, --listen or --interface");
		return -EADDRNOTAVAIL;
	}
	return 0;
}

/* Open a served directory; missing optional ones are just absent (-1). */
static int serve_open_dir(const char *path, const char *what, int required)
{
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && (required || errno != ENOENT))
		log_warn("%s %s", what, path);
	return fd;
}

static int serve_dirs(struct lb_server *srv)
{
	const struct lb_config *cfg = srv->cfg;
	char boot[4096];

	if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		log_warn("state directory %s (give --state DIR)", cfg->state_dir);
		return -errno;
	}
	snprintf(boot, sizeof(boot), "%s/boot", cfg->state_dir);
	if (mkdir(boot, 0700) < 0 && errno != EEXIST) {
		log_warn("boot directory %s", boot);
		return -errno;
	}
	srv->state_dirfd = serve_open_dir(cfg->state_dir, "state directory", 1);
	srv->boot_dirfd = serve_open_dir(boot, "boot directory", 1);
	srv->root_dirfd = serve_open_dir(cfg->root_dir, "--root", 1);
	srv->ipxe_build_dirfd = serve_open_dir(cfg->ipxe_build_dir,
					       "--ipxe-build", 1);
	srv->ipxe_dirfd = serve_open_dir(cfg->ipxe_dir, "--ipxe-dir", 0);
	srv->shim_dirfd = serve_open_dir(cfg->shim_dir, "--shim-dir", 0);
	srv->grub_signed_dirfd = serve_open_dir(cfg->grub_signed_dir,
						"--grub-signed-dir", 0);
	if (srv->state_dirfd < 0 || srv->boot_dirfd < 0 ||
	    (cfg->root_dir && srv->root_dirfd < 0) ||
	    (cfg->ipxe_build_dir && srv->ipxe_build_dirfd < 0))
		return -ENOENT;
	if (srv->ipxe_dirfd < 0 && !cfg->ipxe_build_dir)
		log_warnx("no iPXE binaries in %s: PXE clients cannot chainload "
			  "(apt-get install ipxe, or give --ipxe-dir)",
			  cfg->ipxe_dir);
	if (cfg->secure_boot == SECURE_BOOT_ON &&
	    (srv->shim_dirfd < 0 || srv->grub_signed_dirfd < 0))
		log_warnx("secure_boot on, but no %s or %s: Secure Boot PCs "
			  "cannot boot (apt-get install shim-signed "
			  "shim-helpers-amd64-signed grub-efi-amd64-signed)",
			  cfg->shim_dir, cfg->grub_signed_dir);
	return 0;
}

static void serve_close_dirs(struct lb_server *srv)
{
	int *fds[] = { &srv->state_dirfd, &srv->boot_dirfd, &srv->root_dirfd,
		       &srv->ipxe_build_dirfd, &srv->ipxe_dirfd,
		       &srv->shim_dirfd, &srv->grub_signed_dirfd };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * File descriptors. Each connection or transfer may hold this many; the
 * reserve covers the listeners, epoll, the DB (+ -wal, -shm), the served
 * directories and stdio (about 20 at start).
 */
#define FDS_PER_HTTP	2	/* socket + the file being sent */
#define FDS_PER_NBD	4	/* socket + base image + deltas/overlay */
#define FDS_PER_TFTP	2	/* socket + the file being sent */
#define FDS_RESERVE	32

/* The fds cfg's limits need, for the services that run (running's ports). */
static uint64_t serve_fds_needed(const struct lb_config *cfg,
				 const struct lb_config *running)
{
	uint64_t n = FDS_RESERVE;

	if (running->http_port)
		n += (uint64_t)FDS_PER_HTTP * (unsigned)cfg->http_max_conns;
	if (running->nbd_port)
		n += (uint64_t)FDS_PER_NBD * (unsigned)cfg->nbd_max_conns;
	if (running->tftp_port)
		n += (uint64_t)FDS_PER_TFTP * (unsigned)cfg->tftp_max_sessions;
	return n;
}

/* Scale a limit by have/need, keeping at least one. */
static int serve_scale(int max, uint64_t have, uint64_t need)
{
	uint64_t v = (uint64_t)(unsigned)max * have / need;

	return v < 1 ? 1 : (int)v;
}

/*
 * The soft RLIMIT_NOFILE is often 1024 outside systemd while the default
 * limits allow 1024 HTTP + 1024 NBD + 256 TFTP: raise it toward the hard
 * limit (no privilege needed). If the connection limits still do not fit,
 * lower them, so the server refuses connections at its own limits (503,
 * a closed socket, ERROR "busy") before accept() or open() ever fail.
 * running says which services run: cfg itself at start, the running
 * config when a reload checks its new limits.
 */
static void serve_fd_budget(struct lb_config *cfg,
			    const struct lb_config *running)
{
	uint64_t need = serve_fds_needed(cfg, running), have, conns;
	struct rlimit rl;
	int h = cfg->http_max_conns, n = cfg->nbd_max_conns;
	int t = cfg->tftp_max_sessions;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need &&
	    rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need
			      : MIN((rlim_t)need, rl.rlim_max);
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("fd limit raised from %llu to %llu (hard "
				 "limit %llu)", (unsigned long long)old,
				 (unsigned long long)rl.rlim_cur,
				 (unsigned long long)rl.rlim_max);
		else
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	have = rl.rlim_cur > FDS_RESERVE ? rl.rlim_cur - FDS_RESERVE : 0;
	conns = need - FDS_RESERVE;
	cfg->http_max_conns = serve_scale(h, have, conns);
	cfg->nbd_max_conns = serve_scale(n, have, conns);
	cfg->tftp_max_sessions = serve_scale(t, have, conns);
	log_warnx("fd limit %llu (hard %llu) is below the %llu the connection "
		  "limits need (%d per HTTP connection, %d per NBD, %d per "
		  "TFTP transfer, %d spare): lowered http_max_conns %d -> %d, "
		  "nbd_max_conns %d -> %d, tftp_max_sessions %d -> %d (raise "
		  "LimitNOFILE= or `ulimit -Hn`, or set these limits lower)",
		  (unsigned long long)rl.rlim_cur,
		  (unsigned long long)rl.rlim_max, (unsigned long long)need,
		  FDS_PER_HTTP, FDS_PER_NBD, FDS_PER_TFTP, FDS_RESERVE,
		  h, cfg->http_max_conns, n, cfg->nbd_max_conns,
		  t, cfg->tftp_max_sessions);
}

/* sd_notify while reloading: RELOADING=1 with the time (what systemd's
 * Type=notify-reload wants; Type=notify shows "reloading"), READY=1 after. */
static void serve_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
			 (unsigned long long)ts.tv_nsec / 1000);
	serve_notify(msg);
}

/*
 * SIGHUP: read files and environment again (the command line still
 * wins), apply the live options, name the changed ones that need a
 * restart. A config with errors changes nothing: the errors are logged
 * with file:line and the server runs on as it was.
 */
static void serve_reload(struct lb_server *srv)
{
	struct lb_config next;
	size_t i;
	int n;

	serve_notify_reloading();
	log_info("reload: reading the configuration again (SIGHUP)");
	if (config_reread(srv->cfg, &next) != 0) {
		log_err("reload failed: fix the errors above (`linkboot check` "
			"shows them)%s; still running with the previous "
			"configuration", privdrop_hint(srv));
		config_free(&next);
		serve_notify("READY=1");
		return;
	}
	/* the new limits as they will run (compared as such) */
	serve_fd_budget(&next, srv->cfg);
	n = config_apply_live(srv->cfg, &next);
	log_set_level(srv->cfg->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	/* before next (holding the old strings) is freed: modules that
	 * copied pointers into srv->cfg take the new ones */
	for (i = 0; n > 0 && i < ARRAY_SIZE(reload_hooks); i++)
		reload_hooks[i](srv);
	config_free(&next);
	log_info("reloaded (%d option%s changed live)", n, n == 1 ? "" : "s");
	serve_notify("READY=1");
}

static int64_t serve_reload_tick(void *arg, int64_t now UNUSED)
{
	struct lb_server *srv = arg;

	/* the signal interrupted epoll_wait(): the loop comes here at once */
	if (srv->reload) {
		srv->reload = 0;
		serve_reload(srv);
	}
	return -1;
}

static void serve_usage(FILE *out)
{
	fprintf(out,
		"Usage: linkboot serve [OPTIONS]\n"
		"\n"
		"Run the boot server: DHCP (proxy, full or off), TFTP, HTTP and NBD\n"
		"for the clients linked in the DB (links are read per request).\n"
		"Runs in the foreground. SIGHUP (systemctl reload linkboot) reads\n"
		"the config files and environment again and applies the options\n"
		"marked [live]; the others are logged as needing a restart.\n"
		"\n"
		"Options (each is also a config key in /etc/linkboot/linkboot.conf\n"
		"and an environment variable, e.g. --tftp-port / tftp_port = /\n"
		"LINKBOOT_TFTP_PORT; the command line wins):\n");
	config_usage(out);
	fprintf(out,
		"  %-32s %s\n"
		"\n"
		"Config file example:\n"
		"  [server]\n"
		"  interface = eth1\n"
		"  [dhcp]\n"
		"  dhcp = full\n"
		"  dhcp_range = 198.18.0.100,198.18.0.199\n",
		"-v", "the same as --verbose");
}

int cmd_serve(struct lb_config *cfg, int argc, char **argv)
{
	struct lb_server srv = {
		.cfg = cfg, .root_dirfd = -1, .ipxe_build_dirfd = -1,
		.ipxe_dirfd = -1, .state_dirfd = -1, .boot_dirfd = -1,
		.shim_dirfd = -1, .grub_signed_dirfd = -1,
	};
	int64_t watchdog_next = 0;
	size_t started = 0;
	int rc, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			/* --verbose is the config key; -v counts as it, on
			 * the command line (kept over files on reload) */
			config_set_arg(cfg, "verbose", "yes");
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			serve_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "linkboot serve: unexpected '%s' (see --help)\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (cfg->verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if ((rc = privdrop_init(&srv)) != 0 ||
	    (rc = serve_addresses(&srv)) != 0 || (rc = serve_dirs(&srv)) != 0)
		goto err_setup;
	serve_fd_budget(cfg, cfg);
	if (!(srv.loop = loop_new())) {
		rc = -ENOMEM;
		goto err_setup;
	}
	serve_signals(&srv);
	if ((rc = loop_add_ticker(srv.loop, serve_reload_tick, &srv)) != 0)
		goto err_start;
	for (started = 0; services[started].name; started++) {
		if ((rc = services[started].start(&srv)) != 0) {
			log_err("%s: not started: %s", services[started].name,
				err_str(rc));
			goto err_start;
		}
	}
	/* every port is bound and every file needing root open: drop */
	if ((rc = privdrop_apply(&srv)) != 0) {
		log_err("not serving: could not drop privileges (see above)");
		goto err_start;
	}
	if (getenv("WATCHDOG_USEC"))
		loop_add_ticker(srv.loop, serve_watchdog_tick, &watchdog_next);
	log_info("serving at %s (dhcp %s, tftp %d, http %d, nbd %d, iscsi %d)",
		 inet_ntoa(srv.server_ip),
		 cfg->dhcp_mode == DHCP_MODE_FULL ? "full" :
		 cfg->dhcp_mode == DHCP_MODE_PROXY ? "proxy" : "off",
		 cfg->tftp_port, cfg->http_port, cfg->nbd_port,
		 cfg->iscsi_port);
	serve_notify("READY=1");
	rc = loop_run(srv.loop, &srv.stop);
	serve_notify("STOPPING=1");
	log_info("stopping");
err_start:
	while (started-- > 0)
		if (services[started].stop)
			services[started].stop(&srv);
	loop_free(srv.loop);
err_setup:
	serve_close_dirs(&srv);
	privdrop_free(&srv);
	return rc ? 1 : 0;
}
