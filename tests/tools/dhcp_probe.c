/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dhcp_probe: send one DHCP request built with lib/dhcp_wire and print the
 * reply as key=value lines, for the dhcp-*.sh tests. busybox udhcpc covers
 * normal leases; this covers what udhcpc cannot: proxy offers (yiaddr 0),
 * the 4011 boot-server round, and option 93/77/175 variants. It can also
 * send raw bytes from a file (malformed packets).
 *
 *   dhcp_probe [-i IF] [-s ADDR] [-p PORT] [-l PORT] [-t TYPE] [-m MAC]
 *              [-c CIADDR] [-g GIADDR] [-x CODE:HEX]... [-F SERVERID]
 *              [-w MS] [-r RAWFILE] [-n]
 *
 * -t: discover|request|inform|release|decline. -F: only accept replies
 * whose option 54 is SERVERID. -n: expect no reply (exit 0 if none).
 * -r: send the file's bytes as they are and exit. Exit 0 ok, 1 no reply
 * (or an unexpected one with -n), 2 usage.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dhcp_wire.h"
#include "lb_log.h"
#include "lb_util.h"

#define MAX_XOPTS 16

struct xopt {
	int code;
	uint8_t data[255];
	size_t len;
};

static int hexdecode(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static void print_hex(const char *key, const struct dhcp_optref *o)
{
	size_t i;

	if (!o)
		return;
	printf("%s=", key);
	for (i = 0; i < o->len; i++)
		printf("%02x", o->data[i]);
	printf("\n");
}

static void print_str(const char *key, const struct dhcp_optref *o)
{
	char buf[1024];

	if (!o)
		return;
	printf("%s=%s\n", key, log_escape(buf, sizeof(buf), o->data, o->len));
}

static void print_reply(const struct dhcp_msg *m, const uint8_t *buf,
			const struct sockaddr_in *from)
{
	struct in_addr a;
	char file[DHCP_FILE_LEN + 1];

	printf("from=%s:%d\n", inet_ntoa(from->sin_addr),
	       ntohs(from->sin_port));
	printf("type=%s\n", dhcp_type_name(m->type));
	a.s_addr = m->yiaddr;
	printf("yiaddr=%s\n", inet_ntoa(a));
	a.s_addr = m->siaddr;
	printf("siaddr=%s\n", inet_ntoa(a));
	a.s_addr = m->ciaddr;
	printf("ciaddr=%s\n", inet_ntoa(a));
	memcpy(file, buf + DHCP_FILE_OFF, DHCP_FILE_LEN);
	file[DHCP_FILE_LEN] = '\0';
	printf("file=%s\n", m->overload & 1 ? "" : file);
	a.s_addr = dhcp_opt_addr(m, DHCP_OPT_SERVER_ID);
	printf("opt54=%s\n", inet_ntoa(a));
	if (dhcp_opt(m, DHCP_OPT_NETMASK)) {
		a.s_addr = dhcp_opt_addr(m, DHCP_OPT_NETMASK);
		printf("opt1=%s\n", inet_ntoa(a));
	}
	if (dhcp_opt(m, DHCP_OPT_LEASE_TIME))
		print_hex("opt51", dhcp_opt(m, DHCP_OPT_LEASE_TIME));
	print_str("opt60", dhcp_opt(m, DHCP_OPT_VENDOR_CLASS));
	print_str("opt66", dhcp_opt(m, DHCP_OPT_TFTP_SERVER));
	print_str("opt67", dhcp_opt(m, DHCP_OPT_BOOTFILE));
	print_hex("opt43", dhcp_opt(m, DHCP_OPT_VENDOR_ENCAP));
	print_hex("opt97", dhcp_opt(m, DHCP_OPT_CLIENT_UUID));
	print_hex("opt175", dhcp_opt(m, DHCP_OPT_IPXE_ENCAP));
	fflush(stdout);
}

static int parse_type(const char *s)
{
	static const char *const names[] = { "discover", "request",
					     "decline", "release", "inform" };
	static const int types[] = { DHCPDISCOVER, DHCPREQUEST, DHCPDECLINE,
				     DHCPRELEASE, DHCPINFORM };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return types[i];
	return -1;
}

static int64_t mono_ms(void)
{
	return now_ms();
}

static void usage(void)
{
	fprintf(stderr, "usage: dhcp_probe [-i IF] [-s ADDR] [-p PORT] "
			"[-l PORT] [-t TYPE] [-m MAC] [-c CIADDR] [-g GIADDR] "
			"[-x CODE:HEX]... [-F SERVERID] [-w MS] [-r FILE] [-n]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *server = "255.255.255.255", *raw = NULL;
	int port = 67, lport = 68, type = DHCPDISCOVER, wait_ms = 3000;
	int expect_none = 0, nx = 0, one = 1, fd, c, got = 0;
	uint32_t ciaddr = 0, giaddr = 0, filter = 0, xid;
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static struct xopt xo[MAX_XOPTS];
	uint8_t buf[DHCP_MAX_REQUEST + 1];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct dhcp_builder b;
	struct in_addr a;
	ssize_t len;
	int64_t end;

	while ((c = getopt(argc, argv, "i:s:p:l:t:m:c:g:x:F:w:r:n")) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 's': server = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'l': lport = atoi(optarg); break;
		case 't':
			if ((type = parse_type(optarg)) < 0)
				usage();
			break;
		case 'm':
			if (mac_parse(optarg, mac) != 0)
				usage();
			break;
		case 'c':
		case 'g':
		case 'F':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				usage();
			*(c == 'c' ? &ciaddr : c == 'g' ? &giaddr : &filter) =
				a.s_addr;
			break;
		case 'x': {
			char *colon = strchr(optarg, ':');

			if (nx == MAX_XOPTS || !colon)
				usage();
			xo[nx].code = atoi(optarg);
			if (hexdecode(colon + 1, xo[nx].data,
				      sizeof(xo[nx].data), &xo[nx].len) != 0)
				usage();
			nx++;
			break;
		}
		case 'w': wait_ms = atoi(optarg); break;
		case 'r': raw = optarg; break;
		case 'n': expect_none = 1; break;
		default: usage();
		}
	}

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				  (socklen_t)strlen(ifname)) < 0)) {
		perror("dhcp_probe: socket");
		return 2;
	}
	sin.sin_port = htons((uint16_t)lport);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("dhcp_probe: bind");
		return 2;
	}
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, server, &sin.sin_addr) != 1)
		usage();

	if (raw) {
		FILE *f = fopen(raw, "rb");
		size_t n;

		if (!f) {
			perror(raw);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&sin,
			   sizeof(sin)) < 0) {
			perror("dhcp_probe: sendto");
			return 2;
		}
		return 0;
	}

	srand((unsigned)(time(NULL) ^ getpid()));
	xid = (uint32_t)rand();
	dhcp_build_init(&b, buf, DHCP_MAX_REPLY, BOOTREQUEST, xid, mac, 6,
			type);
	dhcp_set_ciaddr(&b, ciaddr);
	dhcp_set_giaddr(&b, giaddr);
	if (!ciaddr && !giaddr)
		dhcp_set_flags(&b, DHCP_FLAG_BROADCAST);
	for (c = 0; c < nx; c++)
		dhcp_add_opt(&b, xo[c].code, xo[c].data, xo[c].len);
	if ((len = dhcp_build_end(&b)) < 0) {
		fprintf(stderr, "dhcp_probe: request too big\n");
		return 2;
	}
	if (sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&sin,
		   sizeof(sin)) < 0) {
		perror("dhcp_probe: sendto");
		return 2;
	}

	/* bounded: one wait of at most wait_ms for a matching reply */
	end = mono_ms() + wait_ms;
	while (!got) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct dhcp_msg *m;
		int64_t left = end - mono_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		len = recvfrom(fd, buf, sizeof(buf), 0,
			       (struct sockaddr *)&from, &fl);
		if (len < 0)
			continue;
		if (!(m = malloc(sizeof(*m))))
			return 2;
		if (dhcp_parse(buf, (size_t)len, m) == 0 &&
		    m->op == BOOTREPLY && m->xid == xid &&
		    (!filter || dhcp_opt_addr(m, DHCP_OPT_SERVER_ID) == filter)) {
			print_reply(m, buf, &from);
			got = 1;
		}
		free(m);
	}
	close(fd);
	if (expect_none)
		return got ? 1 : 0;
	if (!got)
		fprintf(stderr, "dhcp_probe: no reply within %d ms\n", wait_ms);
	return got ? 0 : 1;
}
