/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's own DHCP client (RFC 2131), used when iPXE did not pass
 * linkboot.ip. It asks for broadcast replies (RFC 2131 §4.1, flags B bit)
 * so a plain UDP socket bound to the NIC receives them before the
 * interface has an address; same client-id (option 61, RFC 2132 §9.14)
 * for acquire and every renewal so the server keeps our lease.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "lb_log.h"
#include "lb_util.h"

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_MAGIC 0x63825363u

enum { DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK,
       DHCPNAK };

struct bootp {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t sname[64];
	uint8_t file[128];
	uint32_t magic;
	uint8_t options[312];
} __attribute__((packed));

struct lease {
	int type;
	struct in_addr yiaddr, mask, router, dns, server;
	uint32_t lease_s;
};

static size_t opt_put(uint8_t *o, size_t at, uint8_t code, const void *d,
		      uint8_t len)
{
	o[at] = code;
	o[at + 1] = len;
	memcpy(o + at + 2, d, len);
	return at + 2 + len;
}

/* A DISCOVER or REQUEST (renew: RENEWING, from our address); its length. */
static size_t build_msg(struct bootp *b, const struct net_state *ns,
			int type, const struct lease *offer, int renew)
{
	static const uint8_t params[] = { 1, 3, 6, 12, 15, 51, 54, 58 };
	uint8_t cid[7], t = (uint8_t)type;
	size_t at = 0;

	memset(b, 0, sizeof(*b));
	b->op = 1;
	b->htype = 1;
	b->hlen = 6;
	b->xid = htonl(ns->xid);
	if (renew)
		b->ciaddr = ns->ip.s_addr;
	else
		b->flags = htons(0x8000);
	memcpy(b->chaddr, ns->mac, 6);
	b->magic = htonl(DHCP_MAGIC);
	at = opt_put(b->options, at, 53, &t, 1);
	cid[0] = 1;
	memcpy(cid + 1, ns->mac, 6);
	at = opt_put(b->options, at, 61, cid, 7);
	if (type == DHCPREQUEST && !renew) {
		at = opt_put(b->options, at, 50, &offer->yiaddr, 4);
		at = opt_put(b->options, at, 54, &offer->server, 4);
	}
	at = opt_put(b->options, at, 55, params, sizeof(params));
	b->options[at++] = 255;
	return offsetof(struct bootp, options) + MAX(at, 64);
}

/* A server's reply to our xid and MAC, into l; -EINVAL if it is not one. */
static int parse_reply(const uint8_t *buf, size_t len,
		       const struct net_state *ns, struct lease *l)
{
	const struct bootp *b = (const void *)buf;
	size_t i, olen;

	if (len < offsetof(struct bootp, options) || b->op != 2 ||
	    ntohl(b->xid) != ns->xid || memcmp(b->chaddr, ns->mac, 6) ||
	    ntohl(b->magic) != DHCP_MAGIC)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->yiaddr.s_addr = b->yiaddr;
	olen = len - offsetof(struct bootp, options);
	for (i = 0; i < olen;) {
		uint8_t code = b->options[i], n;

		if (code == 255)
			break;
		if (code == 0) {
			i++;
			continue;
		}
		if (i + 2 > olen || i + 2 + b->options[i + 1] > olen)
			return -EINVAL;	/* RFC 2132 §2: length past end */
		n = b->options[i + 1];
		const uint8_t *d = b->options + i + 2;
		switch (code) {
		case 53: if (n >= 1) l->type = d[0]; break;
		case 1: if (n >= 4) memcpy(&l->mask, d, 4); break;
		case 3: if (n >= 4) memcpy(&l->router, d, 4); break;
		case 6: if (n >= 4) memcpy(&l->dns, d, 4); break;
		case 54: if (n >= 4) memcpy(&l->server, d, 4); break;
		case 51:
			if (n >= 4) {
				memcpy(&l->lease_s, d, 4);
				l->lease_s = ntohl(l->lease_s);
			}
			break;
		}
		i += 2u + n;
	}
	return l->type ? 0 : -EINVAL;
}

/* UDP port 68 on our NIC only, broadcasts allowed. */
static int open_client_socket(const struct net_state *ns)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(DHCP_CLIENT_PORT) };
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ns->ifname,
		       (socklen_t)strlen(ns->ifname)) != 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* send msg to dst, wait up to ms for a reply of one of the wanted types */
static int send_wait_reply(int fd, const struct net_state *ns,
			   const void *msg, size_t len, struct in_addr dst,
			   int want1, int want2, int ms, struct lease *l)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(DHCP_SERVER_PORT),
				  .sin_addr = dst };
	uint8_t buf[1500];
	int64_t end = now_ms() + ms;

	if (sendto(fd, msg, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
			continue;
		if (parse_reply(buf, (size_t)n, ns, l) == 0 &&
		    (l->type == want1 || l->type == want2))
			return 0;
	}
}

/* An ACK's lease becomes ours (a /24 and an hour when it omits them). */
static void apply_lease(struct net_state *ns, const struct lease *l)
{
	ns->ip = l->yiaddr;
	ns->netmask = l->mask.s_addr ? l->mask : (struct in_addr){ htonl(0xffffff00) };
	ns->gw = l->router;
	ns->dns = l->dns;
	ns->dhcp_server = l->server;
	ns->lease_s = l->lease_s ? l->lease_s : 3600;
	ns->lease_start_ms = now_ms();
}

/*
 * RFC 2131 §4.4.1: "a random number" for xid. A clock mixed with MAC bytes
 * is predictable: a host on the LAN could answer first with an offer of
 * its own (a boot server, a root disk). getrandom() without GRND_NONBLOCK
 * could stall /init on an early-boot kernel whose pool is not ready yet;
 * then (only then) such a mix is better than nothing.
 */
uint32_t dhcp_new_xid(const uint8_t mac[6])
{
	uint32_t x;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) == (ssize_t)sizeof(x))
		return x;
	return (uint32_t)now_ms() ^ ((uint32_t)mac[5] << 24 |
				     (uint32_t)mac[4] << 16);
}

int dhcp_acquire(struct net_state *ns, unsigned timeout_s)
{
	struct in_addr bcast = { INADDR_BROADCAST };
	struct bootp msg;
	struct lease offer, ack;
	int64_t end = now_ms() + (int64_t)timeout_s * 1000;
	int fd, wait = 1000, rc = -ETIMEDOUT;
	size_t len;

	if ((fd = open_client_socket(ns)) < 0)
		return fd;
	ns->xid = dhcp_new_xid(ns->mac);
	while (now_ms() < end) {
		len = build_msg(&msg, ns, DHCPDISCOVER, NULL, 0);
		if (send_wait_reply(fd, ns, &msg, len, bcast, DHCPOFFER, 0,
				    wait, &offer) != 0) {
			/* RFC 2131 §4.1: back off, bounded */
			wait = MIN(wait * 2, 8000);
			continue;
		}
		len = build_msg(&msg, ns, DHCPREQUEST, &offer, 0);
		if (send_wait_reply(fd, ns, &msg, len, bcast, DHCPACK, DHCPNAK,
				    4000, &ack) != 0 || ack.type != DHCPACK)
			continue;
		apply_lease(ns, &ack);
		log_info("dhcp: %s lease %u s from %s", inet_ntoa(ack.yiaddr),
			 ns->lease_s, inet_ntoa(ack.server));
		rc = 0;
		break;
	}
	close(fd);
	return rc;
}

int dhcp_renew(struct net_state *ns)
{
	struct bootp msg;
	struct lease ack;
	size_t len;
	int fd, rc;

	if ((fd = open_client_socket(ns)) < 0)
		return fd;
	ns->xid = dhcp_new_xid(ns->mac);
	len = build_msg(&msg, ns, DHCPREQUEST, NULL, 1);
	/* RFC 2131 §4.4.5: RENEWING, unicast to the leasing server */
	rc = send_wait_reply(fd, ns, &msg, len, ns->dhcp_server, DHCPACK,
			     DHCPNAK, 3000, &ack);
	close(fd);
	if (rc != 0)
		return rc;
	if (ack.type != DHCPACK || ack.yiaddr.s_addr != ns->ip.s_addr) {
		log_warnx("dhcp: renewal of %s refused (NAK); keeping the "
			  "address, the root disk depends on it",
			  inet_ntoa(ns->ip));
		return -EACCES;
	}
	ns->lease_s = ack.lease_s ? ack.lease_s : ns->lease_s;
	ns->lease_start_ms = now_ms();
	log_debug("dhcp: renewed %s for %u s", inet_ntoa(ns->ip), ns->lease_s);
	return 0;
}
