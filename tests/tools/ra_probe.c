/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ra_probe: send one IPv6 router solicitation (RFC 4861 §4.1) to ff02::2
 * on an interface and print the first router advertisement that comes back,
 * as key=value lines (from, hoplimit, lifetime, curhoplimit, flags). For
 * tests/dhcp-ra.sh. Exit 0 on an RA, 1 on none within the wait, 2 on error.
 *
 *   ra_probe -i IF [-w MS]
 */

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_util.h"

int main(int argc, char **argv)
{
	const char *ifname = NULL;
	int wait_ms = 3000, c, fd, one = 1, hops = 255;
	struct nd_router_solicit rs = { .nd_rs_type = ND_ROUTER_SOLICIT };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	struct icmp6_filter filt;
	int64_t end;

	while ((c = getopt(argc, argv, "i:w:")) != -1) {
		if (c == 'i')
			ifname = optarg;
		else if (c == 'w')
			wait_ms = atoi(optarg);
		else
			return 2;
	}
	if (!ifname || !(to.sin6_scope_id = if_nametoindex(ifname))) {
		fprintf(stderr, "usage: ra_probe -i IF [-w MS]\n");
		return 2;
	}
	inet_pton(AF_INET6, "ff02::2", &to.sin6_addr);
	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ND_ROUTER_ADVERT, &filt);
	if (fd < 0 ||
	    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
		       (socklen_t)strlen(ifname)) < 0) {
		perror("ra_probe: socket");
		return 2;
	}
	if (sendto(fd, &rs, sizeof(rs), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0) {
		perror("ra_probe: sendto");
		return 2;
	}
	end = now_ms() + wait_ms;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint8_t buf[1500];
		char cbuf[CMSG_SPACE(sizeof(int))], addr[INET6_ADDRSTRLEN];
		struct sockaddr_in6 from;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;
		const struct nd_router_advert *ra = (const void *)buf;
		int64_t left = end - now_ms();
		int hl = -1;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		if ((n = recvmsg(fd, &mh, 0)) < (ssize_t)sizeof(*ra))
			continue;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_HOPLIMIT)
				memcpy(&hl, CMSG_DATA(cm), sizeof(hl));
		inet_ntop(AF_INET6, &from.sin6_addr, addr, sizeof(addr));
		printf("from=%s\nhoplimit=%d\nlifetime=%u\ncurhoplimit=%u\n"
		       "flags=%02x\nlength=%zd\n", addr, hl,
		       ntohs(ra->nd_ra_router_lifetime), ra->nd_ra_curhoplimit,
		       ra->nd_ra_flags_reserved, n);
		return 0;
	}
	fprintf(stderr, "ra_probe: no router advertisement within %d ms\n",
		wait_ms);
	return 1;
}
