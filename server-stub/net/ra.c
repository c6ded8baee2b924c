/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv6 router-solicitation responder; see ra.h. RFC 4861 §4.1, §4.2, §6.2. */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "ra.h"

/*
 * RFC 4861 §6.2.6 asks for 3 s between multicast RAs, but a client that
 * solicits just after an RA went out (a PC booting beside another) would
 * then wait its full RS retransmit: we answer every RS and only cap floods
 * with a token bucket of RA_BURST RAs, refilled at RA_RATE per second.
 */
#define RA_BURST	20
#define RA_RATE		20

struct ra_server {
	struct loop_watch w;
	struct lb_server *srv;
	int64_t refilled;	/* now_ms() of the last token refill */
	unsigned tokens;	/* RAs we may send right now */
	unsigned sent;		/* RAs sent (for the debug log) */
};

static int ra_take_token(struct ra_server *ra, int64_t now)
{
	int64_t add = (now - ra->refilled) * RA_RATE / 1000;

	if (add > 0) {
		ra->tokens = (unsigned)MIN((int64_t)RA_BURST,
					   (int64_t)ra->tokens + add);
		ra->refilled = now;
	}
	if (!ra->tokens)
		return 0;
	ra->tokens--;
	return 1;
}

/* server.h has no ra slot; one responder per process, owned here. */
static struct ra_server *ra_instance;

static int ra_join(int fd, unsigned ifindex)
{
	struct ipv6_mreq mr = { .ipv6mr_interface = ifindex };

	/* ff02::2 all-routers: where RSs are sent (RFC 4861 §6.3.7) */
	inet_pton(AF_INET6, "ff02::2", &mr.ipv6mr_multiaddr);
	return setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr));
}

static int ra_join_all(int fd, const struct lb_server *srv)
{
	struct if_nameindex *ifs, *i;
	int joined = 0;

	if (srv->ifindex)
		return ra_join(fd, (unsigned)srv->ifindex) == 0;
	if (!(ifs = if_nameindex()))
		return 0;
	for (i = ifs; i->if_index; i++)
		if (strcmp(i->if_name, "lo") != 0 && ra_join(fd, i->if_index) == 0)
			joined++;
	if_freenameindex(ifs);
	return joined;
}

/* RFC 4861 §4.2: an RA that says "no default router, nothing to learn". */
static int ra_send(struct ra_server *ra, unsigned ifindex)
{
	/* The rest is zero: checksum (the kernel fills it for IPPROTO_ICMPV6
	 * sockets), cur hop limit (unspecified), flags (no DHCPv6: M/O
	 * clear), router lifetime (not a default router). Not spelled out:
	 * the last three are one union in <netinet/icmp6.h>, and designating
	 * two of its members drops the first initializer. */
	struct nd_router_advert adv = {
		.nd_ra_type = ND_ROUTER_ADVERT,
		.nd_ra_code = 0,
	};
	struct sockaddr_in6 to = {
		.sin6_family = AF_INET6,
		.sin6_scope_id = ifindex,
	};

	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
	if (sendto(ra->w.fd, &adv, sizeof(adv), MSG_DONTWAIT,
		   (struct sockaddr *)&to, sizeof(to)) < 0) {
		int rc = -errno;

		/* EADDRNOTAVAIL: our link-local is still in DAD */
		log_debug("ra: send on ifindex %u: %s", ifindex,
			  err_str(rc));
		return rc;
	}
	ra->sent++;
	return 0;
}

static void ra_readable(struct loop_watch *w, uint32_t events, int64_t now)
{
	struct ra_server *ra = w->arg;
	uint8_t buf[1280];
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
	struct sockaddr_in6 from;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh;
	struct cmsghdr *cm;
	char addr[INET6_ADDRSTRLEN];
	int budget, hops;
	unsigned ifindex;
	ssize_t n;

	(void)events;
	for (budget = 32; budget > 0; budget--) {
		mh = (struct msghdr){ .msg_name = &from,
					.msg_namelen = sizeof(from),
					.msg_iov = &iov, .msg_iovlen = 1,
					.msg_control = cbuf,
					.msg_controllen = sizeof(cbuf) };
		if ((n = recvmsg(w->fd, &mh, MSG_DONTWAIT)) < 0)
			return;
		ifindex = from.sin6_scope_id;
		hops = -1;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != IPPROTO_IPV6)
				continue;
			if (cm->cmsg_type == IPV6_PKTINFO)
				ifindex = ((struct in6_pktinfo *)CMSG_DATA(cm))
						  ->ipi6_ifindex;
			else if (cm->cmsg_type == IPV6_HOPLIMIT)
				memcpy(&hops, CMSG_DATA(cm), sizeof(hops));
		}
		inet_ntop(AF_INET6, &from.sin6_addr, addr, sizeof(addr));
		/* RFC 4861 §6.1.1: hop limit 255, code 0, ICMP length >= 8 */
		if (n < 8 || buf[0] != ND_ROUTER_SOLICIT || buf[1] != 0 ||
		    (hops >= 0 && hops != 255)) {
			log_debug("ra %s: invalid RS dropped", addr);
			continue;
		}
		if (ra->srv->ifindex && ifindex != (unsigned)ra->srv->ifindex)
			continue;
		if (!ra_take_token(ra, now)) {
			log_debug("ra %s: RS rate-capped", addr);
			continue;
		}
		if (ra_send(ra, ifindex) == 0) {
			log_debug("ra %s: RS -> RA (lifetime 0) to ff02::1",
				  addr);
		}
	}
}

int ra_start(struct lb_server *srv)
{
	struct icmp6_filter filt;
	struct ra_server *ra;
	int one = 1, hops = 255, off = 0, fd;

	if (!srv->cfg->router_advert)
		return 0;
	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMPV6);
	if (fd < 0) {
		log_warn("ra: no IPv6 router advertisements (iPXE may wait "
			 "~15 s at \"Configuring\"; needs CAP_NET_RAW and IPv6)");
		return 0;
	}
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filt);
	/* RFC 4861 §6.1.2 / §4.2: ND is sent with hop limit 255 */
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0) {
		log_warn("ra: setsockopt; running without router advertisements");
		close(fd);
		return 0;
	}
	if (!ra_join_all(fd, srv))
		log_warnx("ra: could not join ff02::2 on any interface; "
			  "router solicitations will go unanswered");
	if (!(ra = calloc(1, sizeof(*ra)))) {
		close(fd);
		return 0;
	}
	ra->srv = srv;
	ra->tokens = RA_BURST;
	ra->refilled = now_ms();
	ra->w.fd = fd;
	ra->w.fn = ra_readable;
	ra->w.arg = ra;
	if (loop_add(srv->loop, &ra->w, EPOLLIN) != 0) {
		log_warn("ra: loop_add; running without router advertisements");
		close(fd);
		free(ra);
		return 0;
	}
	ra_instance = ra;
	return 0;
}

void ra_stop(struct lb_server *srv)
{
	struct ra_server *ra = ra_instance;

	if (!ra)
		return;
	loop_del(srv->loop, &ra->w);
	close(ra->w.fd);
	free(ra);
	ra_instance = NULL;
}
