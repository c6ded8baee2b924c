/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BOOT_AUTH_H
#define LB_BOOT_AUTH_H

/*
 * How a PC proves who it is before it gets a writable disk (see the
 * README's threat model):
 *
 *   1. GET /boot.ipxe?mac=M from address A. The server hands a boot
 *      ticket (lib/ticket.h) only when it can tell that A is M: the
 *      kernel's neighbour table maps A to M (A is on-link: the ARP
 *      answer came from M's NIC), or, for a PC behind a router, DHCP
 *      leased A to M (full mode) or saw M ask for A (proxy mode), or A is
 *      in --trusted-net. Otherwise the PC's screen says why, and no
 *      ticket. The ticket is signed, not stored: the GET changes nothing.
 *   2. The agent, as root from a reserved port (< 1024) of address A,
 *      trades the ticket once (POST /session) for a credential bound to
 *      A (credential.h). That starts the boot: the previous boot's
 *      credential and sessions end, a non-kept overlay starts afresh, a
 *      pending super grant becomes this boot's.
 *   3. The agent uses the credential for NBD and reports; it never
 *      leaves the agent's memory. The ticket left in /proc/cmdline is
 *      spent.
 */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "credential.h"
#include "server.h"
#include "ticket.h"

/* A ticket is good for this long after the script was served: enough
 * for the kernel and initramfs to load over a slow link. */
#define BOOT_TICKET_SECONDS	600
/* <state>/ticket.key: the key tickets are signed with (0600). */
#define BOOT_TICKET_KEY_FILE	"ticket.key"

/* `linkboot serve` "auth" service slot (services.h): loads or makes the
 * key, parses --trusted-net. */
int boot_auth_start(struct lb_server *srv);
void boot_auth_stop(struct lb_server *srv);
/* SIGHUP: trusted_net again (a list it cannot use keeps the old one). */
void boot_auth_reload(struct lb_server *srv);

/*
 * A ticket for mac, asked for from peer (step 1 above). 0 and the ticket
 * in out; or -EACCES with the reason in why (for the PC's screen), e.g.
 * "198.18.0.9 is 52:54:00:aa:bb:cc on this network".
 */
/* Is the asker at peer the PC with mac (--trusted-net, its neighbour
 * entry, DHCP's lease)? 1 yes, 0 no; why says how, or why not. */
int boot_peer_is(const struct lb_server *srv, const uint8_t mac[6],
		 struct in_addr peer, char *why, size_t whysz);

int boot_ticket_issue(const struct lb_server *srv, const uint8_t mac[6],
		      struct in_addr peer, char out[TICKET_STR_LEN + 1],
		      char *why, size_t whysz);

/*
 * A SAN boot's iSCSI CHAP user name and secret for mac, asked for from
 * peer (lib/ticket.h): the same recognition as a ticket; the iSCSI
 * target checks them at login (boot_san_login()). 0, or -EACCES + why.
 */
int boot_san_issue(const struct lb_server *srv, const uint8_t mac[6],
		   struct in_addr peer, char user[SAN_USER_LEN + 1],
		   char secret[SAN_SECRET_LEN + 1], char *why, size_t whysz);

/*
 * The iSCSI CHAP secret of CHAP user name, for a login to the target of
 * the PC with target_mac from peer: a SAN boot's user name (lb1.*: its MAC
 * must be the target's; the secret is bound to peer) or an admin token
 * (`client token MAC --iscsi`: c1-*). 0, or -ENOENT (no secret: the CHAP
 * check fails).
 */
int boot_chap_secret(const struct lb_server *srv, const char *name,
		     struct in_addr peer, const uint8_t target_mac[6],
		     char out[SAN_SECRET_LEN + 1]);

/*
 * After CHAP passed with name: the disk of the PC with target_mac. A SAN
 * boot's user name begins the PC's boot at its first login (the boot's
 * credential is that name: later logins of the same boot, the OS's own
 * initiator after iPXE's, reconnect to it; a newer boot ends it) and runs
 * the PC's link: restore-on-reboot (write ram or disk) is a server overlay
 * dropped at the next boot. An admin token opens the PC's link as it is.
 * 0, or -errno with why: -ETIMEDOUT the boot's credentials are older than
 * a ticket lives, -EALREADY a newer boot exists, -EACCES not this PC's.
 */
int boot_san_login(struct lb_server *srv, const char *name,
		   struct in_addr peer, const uint8_t target_mac[6],
		   struct export_info *ex, const char **why);

/* The key in <state>/ticket.key, made on first use (the CLI's `client
 * token --iscsi` needs it too). 0 or -errno. */
int boot_auth_key_load(int state_dirfd, uint8_t key[TICKET_KEY_LEN]);

/*
 * Redeem a ticket (step 2), sent from peer. 0 and the boot in out; or
 * -errno with why a person can act on: -EINVAL not a ticket,
 * -EKEYREJECTED forged or signed with another key, -ETIMEDOUT expired,
 * -EACCES issued to another address, -EPERM not from a reserved port,
 * -EALREADY already redeemed, -ENOENT the PC is no longer linked.
 */
int boot_ticket_redeem(struct lb_server *srv, const char *s, size_t len,
		       const struct sockaddr_in *peer, struct cred_boot *out,
		       const char **why);

/*
 * The hardware address of an on-link IPv4 neighbour, from the text of
 * /proc/net/arp (complete entries only). 0, or -ENOENT. Pure: unit tests
 * feed it a table.
 */
int arp_table_find(const char *text, struct in_addr ip, uint8_t mac[6]);

#endif
