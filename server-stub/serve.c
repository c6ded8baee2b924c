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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "lb_log.h"
#include "lb_util.h"
#include "server.h"
#include "services.h"

/* Started in this order, stopped in reverse. */
static const struct lb_service services[] = {
	SERVICES_TABLE
	{ NULL, NULL, NULL },
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
	struct sigaction sa = { .sa_handler = on_signal };

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

	if (mkdir(cfg->state_dir, 0755) < 0 && errno != EEXIST) {
		log_warn("state directory %s (give --state DIR)", cfg->state_dir);
		return -errno;
	}
	snprintf(boot, sizeof(boot), "%s/boot", cfg->state_dir);
	if (mkdir(boot, 0755) < 0 && errno != EEXIST) {
		log_warn("boot directory %s", boot);
		return -errno;
	}
	srv->state_dirfd = serve_open_dir(cfg->state_dir, "state directory", 1);
	srv->boot_dirfd = serve_open_dir(boot, "boot directory", 1);
	srv->root_dirfd = serve_open_dir(cfg->root_dir, "--root", 1);
	srv->ipxe_build_dirfd = serve_open_dir(cfg->ipxe_build_dir,
					       "--ipxe-build", 1);
	srv->ipxe_dirfd = serve_open_dir(cfg->ipxe_dir, "--ipxe-dir", 0);
	if (srv->state_dirfd < 0 || srv->boot_dirfd < 0 ||
	    (cfg->root_dir && srv->root_dirfd < 0) ||
	    (cfg->ipxe_build_dir && srv->ipxe_build_dirfd < 0))
		return -ENOENT;
	if (srv->ipxe_dirfd < 0 && !cfg->ipxe_build_dir)
		log_warnx("no iPXE binaries in %s: PXE clients cannot chainload "
			  "(apt-get install ipxe, or give --ipxe-dir)",
			  cfg->ipxe_dir);
	return 0;
}

static void serve_close_dirs(struct lb_server *srv)
{
	int *fds[] = { &srv->state_dirfd, &srv->boot_dirfd, &srv->root_dirfd,
		       &srv->ipxe_build_dirfd, &srv->ipxe_dirfd };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void serve_usage(FILE *out)
{
	fprintf(out,
		"Usage: linkboot serve [OPTIONS]\n"
		"\n"
		"Run the boot server: DHCP (proxy, full or off), TFTP, HTTP and NBD\n"
		"for the clients linked in the DB. Runs in the foreground; SIGHUP\n"
		"re-reads nothing that needs it (links are read per request).\n"
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
		"-v, --verbose", "log protocol detail");
}

int cmd_serve(struct lb_config *cfg, int argc, char **argv)
{
	struct lb_server srv = {
		.cfg = cfg, .root_dirfd = -1, .ipxe_build_dirfd = -1,
		.ipxe_dirfd = -1, .state_dirfd = -1, .boot_dirfd = -1,
	};
	int64_t watchdog_next = 0;
	size_t started = 0;
	int rc, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			cfg->verbose++;
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
	if ((rc = serve_addresses(&srv)) != 0 || (rc = serve_dirs(&srv)) != 0)
		goto err_setup;
	if (!(srv.loop = loop_new())) {
		rc = -ENOMEM;
		goto err_setup;
	}
	serve_signals(&srv);
	for (started = 0; services[started].name; started++) {
		if ((rc = services[started].start(&srv)) != 0) {
			log_err("%s: not started: %s", services[started].name,
				strerror(-rc));
			goto err_start;
		}
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
	return rc ? 1 : 0;
}
