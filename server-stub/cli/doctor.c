/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot doctor`: find what keeps PCs from booting, and say the fix.
 * The incumbents' top complaints are "no boot filename", "image not found"
 * and a second DHCP server handing out boot files (ltsp#446); each check
 * here answers one of them. One line per finding: ok / warn / FAIL.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "commands.h"
#include "db.h"
#include "db_internal.h"
#include "lb_err.h"
#include "dhcp_wire.h"
#include "lb_util.h"
#include "listen.h"
#include "store.h"

#define DOCTOR_DHCP_WAIT_MS 3000

struct doctor {
	const struct lb_config *cfg;
	int fails;
	int warns;
	int server_pid;		/* a linkboot serve on this state dir, or 0 */
};

static void report(struct doctor *d, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct doctor *d, const char *level, const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(level, "FAIL"))
		d->fails++;
	else if (!strcmp(level, "warn"))
		d->warns++;
	printf("%-5s ", level);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void check_port(struct doctor *d, const char *what, int type, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	char owner[128];
	int fd;

	if (port <= 0)
		return;
	inet_pton(AF_INET, d->cfg->listen, &sin.sin_addr);
	if ((fd = socket(AF_INET, type | SOCK_CLOEXEC, 0)) < 0) {
		report(d, "FAIL", "%s port %d: socket: %s", what, port,
		       strerror(errno));
		return;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		report(d, "ok", "%s port %d is free", what, port);
	} else if (errno == EADDRINUSE) {
		listen_port_owner(type, port, owner, sizeof(owner));
		if (strncmp(owner, "linkboot ", 9) == 0)
			report(d, "ok", "%s port %d is served by %s", what, port,
			       owner);
		else
			report(d, "FAIL", "%s port %d is taken by %s: stop it, or "
			       "move linkboot with --%s-port", what, port, owner,
			       what);
	} else if (errno == EACCES) {
		report(d, "warn", "%s port %d needs root or CAP_NET_BIND_SERVICE "
		       "(the systemd unit grants it)", what, port);
	} else {
		report(d, "FAIL", "%s port %d: bind %s: %s", what, port,
		       d->cfg->listen, strerror(errno));
	}
	close(fd);
}

static void check_ports(struct doctor *d)
{
	const struct lb_config *c = d->cfg;

	if (c->dhcp_mode != DHCP_MODE_OFF)
		check_port(d, "dhcp", SOCK_DGRAM, c->dhcp_port);
	if (c->dhcp_mode == DHCP_MODE_PROXY)
		check_port(d, "proxy", SOCK_DGRAM, c->proxy_port);
	check_port(d, "tftp", SOCK_DGRAM, c->tftp_port);
	check_port(d, "http", SOCK_STREAM, c->http_port);
	check_port(d, "nbd", SOCK_STREAM, c->nbd_port);
	check_port(d, "iscsi", SOCK_STREAM, c->iscsi_port);
}

static void check_loaders(struct doctor *d)
{
	const struct lb_config *c = d->cfg;
	const char *names[] = { c->bios_loader, c->efi_loader };
	const char *dirs[] = { c->root_dir, c->ipxe_build_dir, c->ipxe_dir };
	char path[4096];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		for (j = 0; j < ARRAY_SIZE(dirs); j++) {
			if (!dirs[j])
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[j], names[i]);
			if (access(path, R_OK) == 0)
				break;
		}
		if (j < ARRAY_SIZE(dirs))
			report(d, "ok", "boot file %s: %s", names[i], path);
		else
			report(d, "FAIL", "boot file %s is in none of --root, "
			       "--ipxe-build, --ipxe-dir: PXE clients get no boot "
			       "filename (apt-get install ipxe)", names[i]);
	}
}

/* Every version's files and boot files exist (image not found). */
static void check_images(struct doctor *d)
{
	struct lb_config cfg = *d->cfg;
	sqlite3_stmt *st = NULL;
	struct db *db;
	char path[4096];
	int n = 0, missing = 0, rc;

	if ((rc = db_open(cfg.state_dir, &db)) != 0) {
		report(d, "FAIL", "link DB in %s: %s (give --state DIR)",
		       cfg.state_dir, err_str(rc));
		return;
	}
	if (!cfg.store_dir)
		cfg.store_dir = db_store_dir(db);
	if (sqlite3_prepare_v2(db_sqlite(db),
			       "SELECT i.name, v.version, v.file, v.kernel, v.initrd "
			       "FROM versions v JOIN images i ON i.id = v.image_id "
			       "ORDER BY i.name, v.version", -1, &st, NULL) != SQLITE_OK) {
		report(d, "FAIL", "link DB query: %s", sqlite3_errmsg(db_sqlite(db)));
		db_close(db);
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int v = sqlite3_column_int(st, 1);
		const char *file = (const char *)sqlite3_column_text(st, 2);

		n++;
		store_resolve(&cfg, file ? file : "", path, sizeof(path));
		if (access(path, R_OK) != 0) {
			missing++;
			report(d, "FAIL", "image %s v%d: file %s is missing: if it "
			       "was moved, run `linkboot image repair --scan DIR`",
			       name, v, path);
		}
		for (int k = 3; k <= 4; k++) {
			const char *bf = (const char *)sqlite3_column_text(st, k);

			if (!bf || !*bf)
				continue;
			snprintf(path, sizeof(path), "%s/%s", cfg.state_dir, bf);
			if (access(path, R_OK) != 0 && access(bf, R_OK) != 0)
				report(d, "FAIL", "image %s v%d: boot file %s is "
				       "missing: re-add the version's kernel with "
				       "`linkboot image add --kernel/--initrd`",
				       name, v, bf);
		}
	}
	sqlite3_finalize(st);
	if (n == 0)
		report(d, "warn", "no images yet: `linkboot image add NAME FILE`");
	else if (!missing)
		report(d, "ok", "%d image version%s, all files present", n,
		       n == 1 ? "" : "s");
	db_close(db);
}

static int iface_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		rc = 0;
	}
	close(fd);
	return rc;
}

/* RFC 2131 §2: the BOOTP "file" field, 128 bytes at offset 108 */
#define BOOTP_FILE_OFF 108

static void describe_offer(struct doctor *d, const struct dhcp_msg *m,
			   const uint8_t *raw, const struct sockaddr_in *from)
{
	uint32_t sid = dhcp_opt_addr(m, DHCP_OPT_SERVER_ID);
	const struct dhcp_optref *bf = dhcp_opt(m, DHCP_OPT_BOOTFILE);
	struct in_addr a = { .s_addr = sid ? sid : from->sin_addr.s_addr };
	struct in_addr y = { .s_addr = m->yiaddr };
	char server[INET_ADDRSTRLEN], yi[INET_ADDRSTRLEN];
	int pxe = dhcp_opt_has_prefix(m, DHCP_OPT_VENDOR_CLASS, "PXEClient");
	/* a file field in use (not overloaded with options) is a boot file */
	int file_field = !(m->overload & 1) && raw[BOOTP_FILE_OFF] != 0;
	int boots = (bf && bf->len) || file_field || pxe;

	inet_ntop(AF_INET, &a, server, sizeof(server));
	inet_ntop(AF_INET, &y, yi, sizeof(yi));
	if (d->server_pid && strcmp(server, d->cfg->server_addr ?
				    d->cfg->server_addr : "") == 0) {
		report(d, "ok", "dhcp: offer from this linkboot server %s", server);
		return;
	}
	if (boots && d->cfg->dhcp_mode != DHCP_MODE_OFF)
		report(d, "warn", "dhcp: %s also offers a boot file (%s): PCs "
		       "may chain its loader instead of ours. Remove its PXE/"
		       "66/67 options, or run linkboot with --dhcp off and let "
		       "it point at this server", server,
		       bf && bf->len ? "option 67" :
		       file_field ? "file field" : "PXEClient");
	else
		report(d, "ok", "dhcp: %s offers addresses (%s)%s", server, yi,
		       d->cfg->dhcp_mode == DHCP_MODE_FULL ?
		       " — but linkboot runs --dhcp full: two servers lease "
		       "addresses, use --dhcp proxy" : "");
}

/* Broadcast one PXE DISCOVER and list who answers (ltsp#446). */
static void check_dhcp_servers(struct doctor *d)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)d->cfg->dhcp_client_port) };
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)d->cfg->dhcp_port),
				  .sin_addr.s_addr = htonl(INADDR_BROADCAST) };
	static const uint8_t arch0[2] = { 0, 0 };
	uint8_t buf[1500], mac[6] = { 0x02, 0x6c, 0x62, 0, 0, 1 };
	const char *ifname = d->cfg->interface;
	struct dhcp_builder b;
	int fd, one = 1, len, offers = 0;
	uint32_t xid;
	int64_t end;

	if (!ifname) {
		report(d, "warn", "dhcp: give --interface IF to look for other "
		       "DHCP servers on that network");
		return;
	}
	iface_mac(ifname, mac);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
		       (socklen_t)strlen(ifname)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		report(d, "warn", "dhcp: cannot probe on %s (%s): run as root",
		       ifname, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	db_random_hex((char *)buf, 8);
	xid = (uint32_t)strtoul((char *)buf, NULL, 16);
	dhcp_build_init(&b, buf, sizeof(buf), 1, xid, mac, 6, 1 /* DISCOVER */);
	dhcp_set_flags(&b, 0x8000);	/* answer by broadcast: no address yet */
	dhcp_add_opt_str(&b, DHCP_OPT_VENDOR_CLASS,
			 "PXEClient:Arch:00000:UNDI:002001");
	dhcp_add_opt(&b, 93, arch0, sizeof(arch0));
	if ((len = dhcp_build_end(&b)) < 0 ||
	    sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0) {
		report(d, "warn", "dhcp: probe not sent on %s: %s", ifname,
		       strerror(errno));
		close(fd);
		return;
	}
	end = now_ms() + DOCTOR_DHCP_WAIT_MS;
	for (int64_t left; (left = end - now_ms()) > 0;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct dhcp_msg m;
		ssize_t n;

		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0 || dhcp_parse(buf, (size_t)n, &m) != 0 ||
		    m.op != 2 || m.xid != xid || m.type != 2 /* OFFER */)
			continue;
		offers++;
		describe_offer(d, &m, buf, &from);
	}
	close(fd);
	if (!offers)
		report(d, d->cfg->dhcp_mode == DHCP_MODE_PROXY ? "FAIL" : "ok",
		       "dhcp: no DHCP server answered on %s within %d s%s",
		       ifname, DOCTOR_DHCP_WAIT_MS / 1000,
		       d->cfg->dhcp_mode == DHCP_MODE_PROXY ?
		       ": proxy mode needs the site's DHCP server (or use --dhcp full)" : "");
}

/* A firewall whose input policy drops needs our ports opened. */
static void check_firewall(struct doctor *d)
{
	char line[512];
	int dropping = 0;
	FILE *p;

	if (access("/usr/sbin/nft", X_OK) != 0) {
		report(d, "ok", "firewall: nft not installed, not checked");
		return;
	}
	if (!(p = popen("/usr/sbin/nft list ruleset 2>/dev/null", "re")))
		return;
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "hook input") && strstr(line, "policy drop"))
			dropping = 1;
	pclose(p);
	if (dropping)
		report(d, "warn", "firewall: an nftables input chain drops by "
		       "default: allow udp %d,%d,%d and tcp %d,%d,%d",
		       d->cfg->dhcp_port, d->cfg->proxy_port, d->cfg->tftp_port,
		       d->cfg->http_port, d->cfg->nbd_port, d->cfg->iscsi_port);
	else
		report(d, "ok", "firewall: no dropping input policy");
}

static void doctor_usage(FILE *out)
{
	fprintf(out,
		"Usage: linkboot doctor [--no-probe]\n"
		"\n"
		"Checks what keeps PCs from booting: ports taken by other\n"
		"programs, missing iPXE boot files, missing image files, other DHCP\n"
		"servers on --interface's network handing out boot files, and a\n"
		"dropping firewall. Each finding names the fix.\n"
		"Exit status: 0 nothing failed, 1 something did, 2 usage error.\n");
}

int cmd_doctor(struct lb_config *cfg, int argc, char **argv)
{
	struct doctor d = { .cfg = cfg };
	int probe = 1, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-probe")) {
			probe = 0;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			doctor_usage(stdout);
			return 0;
		} else {
			doctor_usage(stderr);
			return EXIT_USAGE;
		}
	}
	d.server_pid = db_server_pid(cfg->state_dir);
	if (d.server_pid > 0)
		report(&d, "ok", "linkboot serve is running (pid %d)", d.server_pid);
	else
		report(&d, "warn", "no linkboot serve running on %s",
		       cfg->state_dir);
	check_ports(&d);
	check_loaders(&d);
	check_images(&d);
	if (probe)
		check_dhcp_servers(&d);
	check_firewall(&d);
	printf("%d failed, %d warning%s\n", d.fails, d.warns,
	       d.warns == 1 ? "" : "s");
	return d.fails ? 1 : 0;
}
