/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The services' listening sockets; see listen.h. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_log.h"
#include "lb_util.h"
#include "listen.h"

/* /proc/net/tcp "st" of a listening socket (include/net/tcp_states.h) */
#define TCP_STATE_LISTEN 0x0a
/* bounds of the /proc scan: processes looked at, fds per process */
#define OWNER_SCAN_PROCS 65536
#define OWNER_SCAN_FDS 65536

/* The inode of a socket on port in /proc/net/<proto>, or 0. */
static unsigned long port_inode(const char *proto, int port, int listening)
{
	char path[64], line[512];
	unsigned long inode = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/%s", proto);
	if (!(f = fopen(path, "re")))
		return 0;
	while (!inode && fgets(line, sizeof(line), f)) {
		unsigned lport, st;
		unsigned long ino;

		/* sl local_address:port rem_address:port st tx:rx tr:when
		 * retrnsmt uid timeout inode; addresses are 8 or 32 hex digits */
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x "
				 "%*s %*s %*s %*s %*s %lu", &lport, &st, &ino) != 3)
			continue;
		if ((int)lport == port && ino &&
		    (!listening || st == TCP_STATE_LISTEN))
			inode = ino;
	}
	fclose(f);
	return inode;
}

/* Does process pid (a /proc entry name) hold socket:[inode]? */
static int pid_holds(const char *pid, const char *want)
{
	char path[600], link[64];
	struct dirent *q;
	DIR *fds;
	int found = 0, n = 0;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	if (!(fds = opendir(path)))
		return 0;	/* gone, or not ours to look at */
	while (!found && (q = readdir(fds)) && n++ < OWNER_SCAN_FDS) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, q->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		found = !strcmp(link, want);
	}
	closedir(fds);
	return found;
}

/* "comm (pid N)" of the process holding socket inode. */
static int inode_owner(unsigned long inode, char *out, size_t outsz)
{
	char want[64], path[300], comm[64] = "?";
	struct dirent *p;
	DIR *proc;
	FILE *f;
	int n = 0;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if (!(proc = opendir("/proc")))
		return -errno;
	while ((p = readdir(proc)) && n++ < OWNER_SCAN_PROCS) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9' ||
		    !pid_holds(p->d_name, want))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
		if ((f = fopen(path, "re"))) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(out, outsz, "%.63s (pid %.16s)", comm, p->d_name);
		closedir(proc);
		return 0;
	}
	closedir(proc);
	return -ENOENT;
}

void listen_port_owner(int type, int port, char *out, size_t outsz)
{
	int tcp = type == SOCK_STREAM;
	const char *protos[2] = { tcp ? "tcp" : "udp", tcp ? "tcp6" : "udp6" };
	unsigned long inode;
	size_t i;

	/* an IPv6 socket on [::] (not V6ONLY) takes the IPv4 port too */
	for (i = 0; i < ARRAY_SIZE(protos); i++)
		if ((inode = port_inode(protos[i], port, tcp)) &&
		    inode_owner(inode, out, outsz) == 0)
			return;
	snprintf(out, outsz, "another program");
}

/* Log why binding what's port failed, with the fix. */
static void listen_bind_failed(const struct lb_server *srv, int type,
			       int port, struct in_addr addr, const char *what)
{
	const char *proto = type == SOCK_STREAM ? "TCP" : "UDP";
	char owner[128], ip[INET_ADDRSTRLEN];
	int err = errno;

	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	switch (err) {
	case EADDRINUSE:
		listen_port_owner(type, port, owner, sizeof(owner));
		log_err("%s: %s port %d is in use by %s: stop it, or give "
			"linkboot another --%s-port (`linkboot doctor` checks "
			"every port)", what, proto, port, owner, what);
		break;
	case EACCES:
		log_err("%s: %s port %d needs root or CAP_NET_BIND_SERVICE "
			"(the systemd unit grants it), or a --%s-port above "
			"1023", what, proto, port, what);
		break;
	case EADDRNOTAVAIL:
		log_err("%s: --listen %s is not an address of this host (see "
			"`ip -4 addr`; 0.0.0.0 = all)", what, ip);
		break;
	default:
		log_err("%s: cannot bind %s %s:%d%s%s: %s", what, proto, ip,
			port, srv->cfg->interface ? " on " : "",
			srv->cfg->interface ? srv->cfg->interface : "",
			strerror(err));
	}
	errno = err;
}

/* Restrict fd to --interface, if one is given. */
static int listen_bind_device(const struct lb_server *srv, int fd,
			      const char *what)
{
	const char *ifname = srv->cfg->interface;

	if (!ifname || setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				  (socklen_t)strlen(ifname)) == 0)
		return 0;
	if (errno == ENODEV)
		log_err("%s: --interface %s: no such interface (see `ip link`)",
			what, ifname);
	else if (errno == EPERM)
		log_err("%s: --interface %s: binding to an interface needs "
			"CAP_NET_RAW here (the systemd unit grants it)", what,
			ifname);
	else
		log_warn("%s: --interface %s: SO_BINDTODEVICE", what, ifname);
	return -errno;
}

/* A socket of type, bound to --listen (or any) and --interface. */
static int listen_socket(const struct lb_server *srv, int type, int port,
			 int any_addr, int reuse_addr, const char *what)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr = srv->listen_ip,
	};
	int one = 1, fd, rc;

	if (any_addr)
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		log_warn("%s: socket", what);
		return rc;
	}
	if (reuse_addr &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		rc = -errno;
		log_warn("%s: SO_REUSEADDR", what);
		goto err;
	}
	if ((rc = listen_bind_device(srv, fd, what)) != 0)
		goto err;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		rc = -errno;
		listen_bind_failed(srv, type, port, sin.sin_addr, what);
		goto err;
	}
	return fd;
err:
	close(fd);
	return rc;
}

/*
 * The accept queue of every TCP service: as deep as the kernel allows
 * (net.core.somaxconn caps it; 4096 since Linux 5.4). A room switched on
 * at once connects faster than one loop cycle accepts, and a full queue
 * drops the PC's handshake ACK: its connection then waits for the
 * server's SYN-ACK retransmit (1 s, 3 s, ...), and an NBD client, which
 * waits for the server to speak first, sits that long in front of an
 * open-looking socket. With 128, 129 of 300 PCs got in while the loop
 * was held up (tests/listen-backlog.sh).
 */
int listen_tcp(const struct lb_server *srv, int port, const char *what)
{
	int fd, rc;

	if ((fd = listen_socket(srv, SOCK_STREAM, port, 0, 1, what)) < 0)
		return fd;
	if (listen(fd, SOMAXCONN) < 0) {
		rc = -errno;
		log_warn("%s: listen on TCP port %d", what, port);
		close(fd);
		return rc;
	}
	return fd;
}

int listen_udp(const struct lb_server *srv, int port, unsigned flags,
	       const char *what)
{
	int one = 1, fd, rc;

	fd = listen_socket(srv, SOCK_DGRAM, port, flags & LISTEN_ANY_ADDR,
			   flags & LISTEN_REUSEADDR, what);
	if (fd < 0)
		return fd;
	if (((flags & LISTEN_BROADCAST) &&
	     setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0) ||
	    ((flags & LISTEN_PKTINFO) &&
	     setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)) {
		rc = -errno;
		log_warn("%s: setsockopt on UDP port %d", what, port);
		close(fd);
		return rc;
	}
	return fd;
}
