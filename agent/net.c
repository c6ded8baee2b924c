/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Boot NIC: find it by linkboot.mac, bring it up and configure it with
 * rtnetlink (rtnetlink(7)): the static address iPXE got (linkboot.ip...),
 * else our own DHCP client (dhcp_client.c), renewed for the life of the PC.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"

struct nlreq {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	} u;
	char attrs[256];
};

static void nl_attr(struct nlreq *r, unsigned short type, const void *data,
		    size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)r +
					       NLMSG_ALIGN(r->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Send one request, wait for its ack; 0 or -errno from the kernel. */
static int rtnl_talk(struct nlreq *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	struct nlmsghdr *nh;
	struct timeval tv = { 5, 0 };
	ssize_t n;
	int fd, rc = -EIO;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->nh.nlmsg_seq = 1;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	if ((n = recv(fd, buf, sizeof(buf), 0)) < 0) {
		rc = -errno;
		goto out;
	}
	for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n);
	     nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(nh);

			rc = e->error;
			break;
		}
	}
out:
	close(fd);
	return rc;
}

int rtnl_link_up(int ifindex)
{
	struct nlreq r;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.u.ifi.ifi_family = AF_UNSPEC;
	r.u.ifi.ifi_index = ifindex;
	r.u.ifi.ifi_flags = IFF_UP;
	r.u.ifi.ifi_change = IFF_UP;
	return rtnl_talk(&r);
}

int rtnl_addr_add(int ifindex, struct in_addr ip, unsigned prefix)
{
	struct nlreq r;
	struct in_addr brd;
	int rc;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.u.ifa.ifa_family = AF_INET;
	r.u.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.u.ifa.ifa_index = (unsigned)ifindex;
	r.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	nl_attr(&r, IFA_LOCAL, &ip, 4);
	nl_attr(&r, IFA_ADDRESS, &ip, 4);
	brd.s_addr = ip.s_addr | htonl(prefix ? ~(~0u << (32 - prefix)) : ~0u);
	if (prefix < 31)
		nl_attr(&r, IFA_BROADCAST, &brd, 4);
	rc = rtnl_talk(&r);
	return rc == -EEXIST ? 0 : rc;
}

int rtnl_route_default(int ifindex, struct in_addr gw)
{
	struct nlreq r;
	uint32_t oif = (uint32_t)ifindex;
	int rc;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_NEWROUTE;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.u.rt.rtm_family = AF_INET;
	r.u.rt.rtm_table = RT_TABLE_MAIN;
	r.u.rt.rtm_protocol = RTPROT_BOOT;
	r.u.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	r.u.rt.rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_GATEWAY, &gw, 4);
	nl_attr(&r, RTA_OIF, &oif, 4);
	rc = rtnl_talk(&r);
	return rc == -EEXIST ? 0 : rc;
}

/* /sys/class/net/IFNAME/ATTR's first line. */
static int read_net_attr(const char *ifname, const char *attr, char *buf,
			 size_t bufsz)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, bufsz - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The boot NIC: the one with linkboot.mac, else the first ethernet one. */
static int find_nic(const struct agent_cfg *cfg, struct net_state *ns)
{
	struct dirent *de;
	char buf[64];
	DIR *d;
	int rc = -ENODEV;

	if (!(d = opendir("/sys/class/net")))
		return -errno;
	while ((de = readdir(d))) {
		uint8_t mac[6];

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "lo") ||
		    strlen(de->d_name) >= sizeof(ns->ifname))
			continue;
		if (read_net_attr(de->d_name, "type", buf, sizeof(buf)) != 0 ||
		    strcmp(buf, "1") != 0)	/* ARPHRD_ETHER */
			continue;
		if (read_net_attr(de->d_name, "address", buf, sizeof(buf)) != 0 ||
		    mac_parse(buf, mac) != 0)
			continue;
		if (cfg->has_mac && memcmp(mac, cfg->mac, 6) != 0)
			continue;
		strcpy(ns->ifname, de->d_name);
		memcpy(ns->mac, mac, 6);
		ns->ifindex = (int)if_nametoindex(de->d_name);
		rc = 0;
		break;
	}
	closedir(d);
	return rc;
}

static unsigned mask_prefix(struct in_addr m)
{
	return (unsigned)__builtin_popcount(m.s_addr);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int net_up(const struct agent_cfg *cfg, struct net_state *ns)
{
	char mac[18], buf[16];
	int rc, i;

	memset(ns, 0, sizeof(*ns));
	/* the driver was just loaded: its netdev may take a moment */
	for (i = 0; i < 50; i++) {
		if ((rc = find_nic(cfg, ns)) == 0)
			break;
		sleep_ms(100);
	}
	if (rc != 0) {
		if (cfg->has_mac)
			mac_format(cfg->mac, mac);
		log_warnx("net: no network interface%s%s (check: is the NIC "
			  "driver in the initramfs? `linkboot initramfs` "
			  "without --minimal includes all)",
			  cfg->has_mac ? " with MAC " : "",
			  cfg->has_mac ? mac : "");
		return rc;
	}
	mac_format(ns->mac, mac);
	if ((rc = rtnl_link_up(ns->ifindex)) != 0) {
		log_warnx("net: %s up: %s", ns->ifname, err_str(rc));
		return rc;
	}
	/* wait for the carrier, bounded: a cable may be plugged late */
	for (i = 0; i < 100; i++) {
		if (read_net_attr(ns->ifname, "carrier", buf, sizeof(buf)) == 0 &&
		    !strcmp(buf, "1"))
			break;
		sleep_ms(100);
	}
	if (cfg->has_ip) {
		ns->ip = cfg->ip;
		ns->netmask = cfg->netmask;
		ns->gw = cfg->gw;
		ns->dns = cfg->dns;
	} else if ((rc = dhcp_acquire(ns, 60)) != 0) {
		log_warnx("net: %s (%s): no DHCP answer (check: cable, DHCP "
			  "server or proxy on this segment)", ns->ifname, mac);
		return rc;
	}
	if ((rc = rtnl_addr_add(ns->ifindex, ns->ip,
				mask_prefix(ns->netmask))) != 0) {
		log_warnx("net: %s address: %s", ns->ifname, err_str(rc));
		return rc;
	}
	if (ns->gw.s_addr && (rc = rtnl_route_default(ns->ifindex, ns->gw))) {
		log_warnx("net: default route via %s: %s", inet_ntoa(ns->gw),
			  err_str(rc));
		return rc;
	}
	log_info("net: %s %s %s/%u%s", ns->ifname, mac, inet_ntoa(ns->ip),
		 mask_prefix(ns->netmask), ns->lease_s ? " (DHCP)" : "");
	return 0;
}

void net_tick(struct net_state *ns, int64_t now)
{
	/* RFC 2131 §4.4.5: renew at T1 = half the lease */
	if (!ns->lease_s || ns->lease_s == 0xffffffffu)
		return;
	if (now - ns->lease_start_ms < (int64_t)ns->lease_s * 500)
		return;
	if (dhcp_renew(ns) != 0) {
		/* try again in a minute, the lease is still valid */
		ns->lease_start_ms += 60000;
	}
}
