/*
 * Wake-on-LAN. The magic packet is the AMD "Magic Packet Technology"
 * white paper's format: 6 bytes of 0xFF then the target MAC repeated 16
 * times, anywhere in a frame. We send it the two ways NICs listen for:
 * a UDP datagram to port 9 (discard) on the broadcast address, and a
 * raw Ethernet frame with ethertype 0x0842 to ff:ff:ff:ff:ff:ff.
 */
#include "wol.h"
#include "lb_util.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>

#define WOL_UDP_PORT 9
#define WOL_ETHERTYPE 0x0842

void wol_packet(const uint8_t mac[6], uint8_t out[WOL_PACKET_LEN])
{
	memset(out, 0xff, 6);
	for (int i = 0; i < 16; i++)
		memcpy(out + 6 + 6 * i, mac, 6);
}

/* UDP/9 to dst (a broadcast address), bound to ifname when given. */
static int wol_send_udp(const uint8_t pkt[WOL_PACKET_LEN], const char *ifname,
			uint32_t dst)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(WOL_UDP_PORT),
				  .sin_addr.s_addr = dst };
	int one = 1, rc = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) != 0 ||
	    (ifname && ifname[0] &&
	     setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
			(socklen_t)strlen(ifname) + 1) != 0) ||
	    sendto(fd, pkt, WOL_PACKET_LEN, 0, (struct sockaddr *)&to,
		   sizeof(to)) != WOL_PACKET_LEN)
		rc = -errno;
	close(fd);
	return rc;
}

/* A raw Ethernet frame, ethertype 0x0842, broadcast on ifname. */
static int wol_send_ether(const uint8_t pkt[WOL_PACKET_LEN], const char *ifname)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(WOL_ETHERTYPE),
				  .sll_halen = ETH_ALEN };
	int rc = 0, fd;

	if (!(to.sll_ifindex = (int)if_nametoindex(ifname)))
		return -errno;
	memset(to.sll_addr, 0xff, ETH_ALEN);
	if ((fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC,
			 htons(WOL_ETHERTYPE))) < 0)
		return -errno;
	if (sendto(fd, pkt, WOL_PACKET_LEN, 0, (struct sockaddr *)&to,
		   sizeof(to)) != WOL_PACKET_LEN)
		rc = -errno;
	close(fd);
	return rc;
}

int wol_send(const uint8_t mac[6], const char *ifname)
{
	uint8_t pkt[WOL_PACKET_LEN];
	int sent = 0, rc, first_err;

	wol_packet(mac, pkt);
	rc = first_err = wol_send_udp(pkt, ifname, htonl(INADDR_BROADCAST));
	if (rc == 0)
		sent++;
	if (ifname && ifname[0]) {
		rc = wol_send_ether(pkt, ifname);
		if (rc == 0)
			sent++;
		else if (first_err == 0)
			first_err = rc;
	}
	return sent ? sent : first_err;
}

int wol_wake(const uint8_t mac[6], const char *ifname, const char *subnet)
{
	uint8_t pkt[WOL_PACKET_LEN];
	uint32_t bcast;
	int sent, rc;

	sent = wol_send(mac, ifname);
	if (!subnet || !subnet[0])
		return sent;
	if (cidr_broadcast(subnet, 8, 30, &bcast) != 0)
		return sent > 0 ? sent : -EINVAL;
	wol_packet(mac, pkt);
	/* routed: not bound to the serving interface */
	rc = wol_send_udp(pkt, NULL, bcast);
	if (rc == 0)
		return sent > 0 ? sent + 1 : 1;
	return sent > 0 ? sent : rc;
}
