/* Wake-on-LAN: the AMD Magic Packet (6 x 0xFF, then the MAC 16 times). */
#ifndef LB_WOL_H
#define LB_WOL_H

#include <stddef.h>
#include <stdint.h>

#define WOL_PACKET_LEN 102

/* Fill out[102] with the magic packet for mac[6]. */
void wol_packet(const uint8_t mac[6], uint8_t out[WOL_PACKET_LEN]);

/*
 * Send the magic packet for mac[6] on interface ifname (NULL/"": any):
 * as a UDP broadcast to port 9 and, when ifname is given, as a raw
 * Ethernet frame with ethertype 0x0842. Returns how many ways it was
 * sent (>0), or a negative error code when none worked.
 */
int wol_send(const uint8_t mac[6], const char *ifname);

/*
 * wol_send(), and when subnet ("A.B.C.D/N", a PC's routed subnet) is
 * given, also UDP/9 to its directed broadcast address (RFC 919 §7), which
 * a router forwards onto that subnet when it is set to (e.g. Linux
 * bc_forwarding, Cisco "ip directed-broadcast"). As wol_send().
 */
int wol_wake(const uint8_t mac[6], const char *ifname, const char *subnet);

#endif
