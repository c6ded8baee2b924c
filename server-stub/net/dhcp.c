/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DHCP service (RFC 2131/2132, PXE spec 2.1, RFC 4578): sockets, the
 * proxy/full state machine and logging. Wire format in lib/dhcp_wire.c,
 * boot-file policy in dhcp_policy.c, the lease pool in dhcp_lease.c.
 *
 *   proxy:  67  DISCOVER from a PXE/HTTP client -> OFFER, yiaddr 0, boot
 *               file, option 43 discovery control 8 (skip the 4011 round)
 *           4011 REQUEST/INFORM -> ACK with the same boot options
 *   full:   67  DISCOVER/REQUEST/DECLINE/RELEASE/INFORM with our own
 *               leases; 4011 as in proxy mode
 * Non-PXE clients are never answered in proxy mode.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "dhcp.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "listen.h"

struct dhcp_server;

/* One listening socket (port 67 or 4011). */
struct dhcp_sock {
	struct loop_watch w;
	struct dhcp_server *ds;
	int proxy_port;		/* 1 for the PXE boot server port (4011) */
};

/*
 * Addresses seen asked for by a MAC in proxy mode (a REQUEST's option 50
 * or ciaddr): the evidence dhcp_addr_of() gives boot_auth.c for a PC whose
 * HTTP request does not come from on-link. A small ring: the newest
 * DHCP_SEEN_MAX; older ones are forgotten, which costs such a PC a
 * refused boot ticket at worst, never a wrong one.
 */
#define DHCP_SEEN_MAX		256
#define DHCP_SEEN_SECONDS	900	/* a PC asks for its script well within */

struct dhcp_seen {
	uint8_t mac[6];
	uint32_t ip;			/* network order */
	time_t when;			/* wall clock */
};

struct dhcp_server {
	struct lb_server *srv;
	struct dhcp_seen seen[DHCP_SEEN_MAX];
	unsigned seen_next;		/* ring slot to write next */
	struct dhcp_sock main;		/* 67 */
	struct dhcp_sock pxe;		/* 4011 */
	struct dhcp_boot_cfg boot;	/* what dhcp_boot_choose() reads */
	struct dhcp_pool pool;		/* full mode only */
	uint32_t netmask;		/* full mode, network order */
	uint32_t router;		/* full mode, 0 = none */
	uint32_t dns;			/* full mode, 0 = none */
	int leases_dirty;		/* dhcp.leases behind the pool */
	int64_t leases_next;		/* monotonic ms of the next write */
	struct log_limit save_log;	/* "cannot write dhcp.leases" */
	struct log_limit decline_log;	/* ignored DECLINEs */
};

/* One request in flight: parsed message, where it came from, who it is. */
struct dhcp_req {
	struct dhcp_sock *s;
	struct dhcp_msg m;
	struct sockaddr_in from;
	int ifindex;			/* arrival interface (IP_PKTINFO) */
	struct dhcp_client c;
	struct dhcp_boot boot;
	char mac[18];
	char who[64];			/* "arch 0 (BIOS, iPXE)" for the log */
};

static const uint8_t pxe_discovery_opt[] = {
	PXE_OPT_DISCOVERY_CONTROL, 1, PXE_DISCOVERY_USE_BOOTFILE, 0xff
};
static const uint8_t ipxe_no_proxy_opt[] = {
	IPXE_OPT_NO_PXEDHCP, 1, 1, 0xff
};

static time_t wall_now(void)
{
	return time(NULL);
}

static const char *ip_str(uint32_t net, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = { .s_addr = net };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* -v: what the client said, escaped (peer data). */
static void dhcp_log_detail(const struct dhcp_req *r)
{
	const struct dhcp_optref *vc, *uc;
	char vcs[128] = "", ucs[64] = "";
	char from[INET_ADDRSTRLEN], ci[INET_ADDRSTRLEN], gi[INET_ADDRSTRLEN];

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	if ((vc = dhcp_opt(&r->m, DHCP_OPT_VENDOR_CLASS)))
		log_escape(vcs, sizeof(vcs), vc->data, vc->len);
	if ((uc = dhcp_opt(&r->m, DHCP_OPT_USER_CLASS)))
		log_escape(ucs, sizeof(ucs), uc->data, uc->len);
	log_debug("dhcp %s: %s from %s:%d xid %08x ciaddr %s giaddr %s "
		  "arch %d vendor-class \"%s\" user-class \"%s\"%s%s",
		  r->mac, dhcp_type_name(r->m.type),
		  ip_str(r->from.sin_addr.s_addr, from),
		  ntohs(r->from.sin_port), r->m.xid, ip_str(r->m.ciaddr, ci),
		  ip_str(r->m.giaddr, gi), r->c.arch, vcs,
		  ucs, dhcp_opt(&r->m, DHCP_OPT_IPXE_ENCAP) ? " opt175" : "",
		  r->m.overload ? " overload" : "");
}

/* The boot part of a reply: siaddr, file, 60, 66, 67, 97, 43, 175. */
static void dhcp_add_boot(struct dhcp_builder *b, const struct dhcp_req *r)
{
	const struct dhcp_server *ds = r->s->ds;
	const struct dhcp_boot *bt = &r->boot;
	const struct dhcp_optref *uuid;
	char ip[INET_ADDRSTRLEN];

	if (bt->vendor_class)
		dhcp_add_opt_str(b, DHCP_OPT_VENDOR_CLASS, bt->vendor_class);
	/* RFC 4578 §2.3 / PXE spec: echo the client's UUID */
	if ((uuid = dhcp_opt(&r->m, DHCP_OPT_CLIENT_UUID)))
		dhcp_add_opt(b, DHCP_OPT_CLIENT_UUID, uuid->data, uuid->len);
	if (bt->kind == DHCP_BOOT_NONE)
		return;
	dhcp_set_siaddr(b, ds->boot.server_ip);
	/* a URL over 127 bytes lives in option 67 only */
	dhcp_set_file(b, bt->file);
	if (bt->kind == DHCP_BOOT_TFTP)
		dhcp_add_opt_str(b, DHCP_OPT_TFTP_SERVER,
				 ip_str(ds->boot.server_ip, ip));
	dhcp_add_opt_str(b, DHCP_OPT_BOOTFILE, bt->file);
	if (bt->pxe_discovery && bt->vendor_class &&
	    !strcmp(bt->vendor_class, "PXEClient"))
		dhcp_add_opt(b, DHCP_OPT_VENDOR_ENCAP, pxe_discovery_opt,
			     sizeof(pxe_discovery_opt));
	if (bt->ipxe_no_proxy)
		dhcp_add_opt(b, DHCP_OPT_IPXE_ENCAP, ipxe_no_proxy_opt,
			     sizeof(ipxe_no_proxy_opt));
}

/*
 * RFC 2131 §4.1 "the server sends": relayed -> the relay's server port;
 * a client with an address (and not a NAK) -> unicast to ciaddr; else
 * broadcast. (Unicast to yiaddr before the client has the address would
 * need an ARP entry we cannot add portably: broadcast always works.)
 */
static void dhcp_send(const struct dhcp_req *r, const uint8_t *buf,
		      size_t len, int type)
{
	const struct dhcp_server *ds = r->s->ds;
	const struct lb_config *cfg = ds->srv->cfg;
	struct sockaddr_in to = { .sin_family = AF_INET };
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = {
		.msg_name = &to, .msg_namelen = sizeof(to),
		.msg_iov = &iov, .msg_iovlen = 1,
	};

	if (r->m.giaddr) {
		to.sin_addr.s_addr = r->m.giaddr;
		to.sin_port = htons((uint16_t)cfg->dhcp_port);
	} else if (r->s->proxy_port && r->from.sin_addr.s_addr) {
		/* PXE spec: boot server replies go back where they came from */
		to = r->from;
	} else if (r->m.ciaddr && type != DHCPNAK) {
		to.sin_addr.s_addr = r->m.ciaddr;
		to.sin_port = htons((uint16_t)cfg->dhcp_client_port);
	} else {
		to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
		to.sin_port = htons((uint16_t)cfg->dhcp_client_port);
	}
	if (r->ifindex && to.sin_addr.s_addr == htonl(INADDR_BROADCAST)) {
		/* a broadcast leaves by the interface the request came in on
		 * (unicast follows the routing table) */
		struct cmsghdr *cm;
		struct in_pktinfo *pi;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(*pi));
		pi = (struct in_pktinfo *)CMSG_DATA(cm);
		pi->ipi_ifindex = r->ifindex;
	}
	if (sendmsg(r->s->w.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_warn("dhcp %s: send %s to %s:%d", r->mac,
			 dhcp_type_name(type), inet_ntoa(to.sin_addr),
			 ntohs(to.sin_port));
}

static void dhcp_finish(const struct dhcp_req *r, struct dhcp_builder *b,
			int type)
{
	int n = dhcp_build_end(b);

	if (n < 0) {
		log_warnx("dhcp %s: %s not sent: %s", r->mac,
			  dhcp_type_name(type), err_str(n));
		return;
	}
	dhcp_send(r, b->buf, (size_t)n, type);
}

static const char *boot_desc(const struct dhcp_boot *bt)
{
	return bt->kind == DHCP_BOOT_NONE ? "no boot file" : bt->file;
}

/* A boot event for `linkboot status`: one per answer that hands out a boot
 * file (best effort, the DB logs its own errors). */
static void dhcp_record(const struct dhcp_req *r, const char *what,
			uint32_t ip_net)
{
	struct db *db = r->s->ds->srv->db;
	char detail[400], ip[INET_ADDRSTRLEN];

	if (!db || r->boot.kind == DHCP_BOOT_NONE)
		return;
	snprintf(detail, sizeof(detail), "%s %s %s %s", what, r->who,
		 ip_net ? ip_str(ip_net, ip) : "-", r->boot.file);
	db_record_event(db, r->mac, "dhcp", detail);
}

/* A request left unanswered, and why, for `linkboot why` (a PC that
 * "does not boot" is most often one nobody answered). */
static void dhcp_record_silence(const struct dhcp_req *r, const char *why)
{
	struct db *db = r->s->ds->srv->db;
	char detail[400];

	if (!db)
		return;
	snprintf(detail, sizeof(detail), "no answer to %s %s: %s",
		 dhcp_type_name(r->m.type), r->who, why);
	db_record_event(db, r->mac, "dhcp", detail);
}

/* ---- proxyDHCP (PXE spec §2.2.4 / §2.2.5) ---- */

static void dhcp_proxy_reply(struct dhcp_req *r, int type)
{
	const struct dhcp_server *ds = r->s->ds;
	uint8_t buf[DHCP_MAX_REPLY];
	struct dhcp_builder b;

	if (r->boot.kind == DHCP_BOOT_NONE) {
		log_info("dhcp %s: %s %s -> ignored (no boot file for this "
			 "arch)", r->mac, dhcp_type_name(r->m.type), r->who);
		dhcp_record_silence(r, "no boot file for this arch");
		return;
	}
	dhcp_reply_init(&b, buf, sizeof(buf), &r->m, type);
	/* proxy replies carry no address: yiaddr stays 0; ciaddr echoed */
	dhcp_set_ciaddr(&b, r->m.ciaddr);
	dhcp_add_opt_addr(&b, DHCP_OPT_SERVER_ID, ds->boot.server_ip);
	dhcp_add_boot(&b, r);
	log_info("dhcp %s: %s%s %s -> proxy %s %s", r->mac,
		 dhcp_type_name(r->m.type), r->s->proxy_port ? " (4011)" : "",
		 r->who,
		 type == DHCPOFFER ? "offer" : "ack", boot_desc(&r->boot));
	dhcp_record(r, type == DHCPOFFER ? "proxy-offer" : "proxy-ack", 0);
	dhcp_finish(r, &b, type);
}

static void dhcp_seen_record(struct dhcp_server *ds, const uint8_t mac[6],
			     uint32_t ip)
{
	struct dhcp_seen *e = &ds->seen[ds->seen_next];

	if (!ip)
		return;
	memcpy(e->mac, mac, 6);
	e->ip = ip;
	e->when = wall_now();
	ds->seen_next = (ds->seen_next + 1) % DHCP_SEEN_MAX;
}

static void dhcp_proxy_rx(struct dhcp_req *r)
{
	/* Never answer non-PXE clients: the site's DHCP server owns them. */
	if (!r->c.pxe && !r->c.http) {
		log_debug("dhcp %s: %s without PXEClient/HTTPClient: not ours",
			  r->mac, dhcp_type_name(r->m.type));
		return;
	}
	if (r->m.type == DHCPREQUEST)
		dhcp_seen_record(r->s->ds, r->c.mac, r->m.ciaddr ? r->m.ciaddr :
				 dhcp_opt_addr(&r->m, DHCP_OPT_REQUESTED_IP));
	if (r->s->proxy_port) {
		if (r->m.type == DHCPREQUEST || r->m.type == DHCPINFORM)
			dhcp_proxy_reply(r, DHCPACK);
		return;
	}
	if (r->m.type == DHCPDISCOVER)
		dhcp_proxy_reply(r, DHCPOFFER);
	/* REQUESTs on 67 go to the site's server (it has the address) */
}

/* ---- full DHCP (RFC 2131 §4.3) ---- */

static void dhcp_add_lease_opts(struct dhcp_builder *b,
				const struct dhcp_server *ds, int with_time)
{
	const struct lb_config *cfg = ds->srv->cfg;

	dhcp_add_opt_addr(b, DHCP_OPT_SERVER_ID, ds->boot.server_ip);
	if (with_time)
		dhcp_add_opt_u32(b, DHCP_OPT_LEASE_TIME,
				 (uint32_t)cfg->dhcp_lease_time);
	dhcp_add_opt_addr(b, DHCP_OPT_NETMASK, ds->netmask);
	if (ds->router)
		dhcp_add_opt_addr(b, DHCP_OPT_ROUTER, ds->router);
	if (ds->dns)
		dhcp_add_opt_addr(b, DHCP_OPT_DNS, ds->dns);
}

static void dhcp_full_reply(struct dhcp_req *r, int type, uint32_t ip_host)
{
	struct dhcp_server *ds = r->s->ds;
	uint8_t buf[DHCP_MAX_REPLY];
	struct dhcp_builder b;
	char ip[INET_ADDRSTRLEN];

	dhcp_reply_init(&b, buf, sizeof(buf), &r->m, type);
	if (type == DHCPNAK) {
		/* RFC 2131 table 3: NAK carries only 53, 54 (and 56);
		 * §4.1: a relay must broadcast it to the client */
		if (r->m.giaddr)
			dhcp_set_flags(&b, r->m.flags | DHCP_FLAG_BROADCAST);
		dhcp_add_opt_addr(&b, DHCP_OPT_SERVER_ID, ds->boot.server_ip);
		log_info("dhcp %s: %s -> nak", r->mac,
			 dhcp_type_name(r->m.type));
		dhcp_finish(r, &b, type);
		return;
	}
	if (r->m.type == DHCPINFORM) {
		/* RFC 2131 §4.3.5: no yiaddr, no lease time */
		dhcp_set_ciaddr(&b, r->m.ciaddr);
		dhcp_add_lease_opts(&b, ds, 0);
	} else {
		if (type == DHCPACK)
			dhcp_set_ciaddr(&b, r->m.ciaddr);
		dhcp_set_yiaddr(&b, htonl(ip_host));
		dhcp_add_lease_opts(&b, ds, 1);
	}
	dhcp_add_boot(&b, r);
	log_info("dhcp %s: %s %s -> %s %s %s", r->mac,
		 dhcp_type_name(r->m.type), r->who,
		 type == DHCPOFFER ? "offer" : "ack",
		 ip_host ? ip_str(htonl(ip_host), ip) : "-",
		 boot_desc(&r->boot));
	if (type == DHCPACK)
		dhcp_record(r, "ack", htonl(ip_host));
	dhcp_finish(r, &b, type);
}

/*
 * dhcp.leases is rewritten (temp file, fsync, rename: dhcp_pool_save()) by
 * the tick, at most once per DHCP_SAVE_MS, not once per REQUEST, RELEASE
 * or DECLINE inside the loop: a burst of boots costs one fsync a second.
 * A change is written at the first tick after it if the last write is
 * older than that, and at a clean stop. A crash loses at most the last
 * second's leases; their clients ask for the same addresses again in
 * INIT-REBOOT (RFC 2131 §3.2, §4.3.2) and get them unless taken meanwhile.
 */
#define DHCP_SAVE_MS	1000

static void dhcp_leases_changed(struct dhcp_server *ds)
{
	ds->leases_dirty = 1;
}

static void dhcp_leases_write(struct dhcp_server *ds, int64_t now)
{
	int rc = dhcp_pool_save(&ds->pool, wall_now());
	unsigned n;

	ds->leases_next = now + DHCP_SAVE_MS;
	if (rc == 0) {
		ds->leases_dirty = 0;
		return;
	}
	/* still dirty: the next tick tries again */
	if ((n = log_limit(&ds->save_log, now)))
		log_warnx("dhcp: cannot write %s/%s: %s (%u failures since the "
			  "last such line)", ds->srv->cfg->state_dir,
			  DHCP_LEASES_FILE, err_str(rc), n);
}

static int64_t dhcp_tick(void *arg, int64_t now)
{
	struct dhcp_server *ds = arg;

	if (!ds->leases_dirty)
		return -1;
	if (now < ds->leases_next)
		return ds->leases_next;
	dhcp_leases_write(ds, now);
	return ds->leases_dirty ? ds->leases_next : -1;
}

static void dhcp_full_discover(struct dhcp_req *r, time_t now)
{
	struct dhcp_server *ds = r->s->ds;
	uint32_t want = ntohl(dhcp_opt_addr(&r->m, DHCP_OPT_REQUESTED_IP));
	uint32_t ip = dhcp_pool_pick(&ds->pool, r->c.mac, want, now);
	const struct dhcp_lease *h;

	if (!ip) {
		log_warnx("dhcp %s: DISCOVER -> no free address in %s",
			  r->mac, ds->srv->cfg->dhcp_range);
		dhcp_record_silence(r, "no free address in the range");
		return;
	}
	/* keep a bound lease bound; otherwise hold the address briefly so
	 * two clients discovering at once are not offered the same one */
	h = dhcp_pool_holder(&ds->pool, ip, now);
	if (!h || h->state != LEASE_BOUND)
		dhcp_pool_take(&ds->pool, r->c.mac, ip, LEASE_OFFERED,
			       now + DHCP_OFFER_HOLD, now);
	dhcp_full_reply(r, DHCPOFFER, ip);
}

static void dhcp_full_request(struct dhcp_req *r, time_t now)
{
	struct dhcp_server *ds = r->s->ds;
	uint32_t sid = dhcp_opt_addr(&r->m, DHCP_OPT_SERVER_ID);
	uint32_t ip = ntohl(dhcp_opt_addr(&r->m, DHCP_OPT_REQUESTED_IP));
	int rc;

	if (sid && sid != ds->boot.server_ip) {
		/* §3.1.4: SELECTING another server's offer */
		dhcp_pool_forget_offer(&ds->pool, r->c.mac);
		log_debug("dhcp %s: REQUEST for another server", r->mac);
		return;
	}
	if (!ip)	/* §4.3.2 RENEWING/REBINDING: the address is ciaddr */
		ip = ntohl(r->m.ciaddr);
	if (!ip || !dhcp_pool_in_range(&ds->pool, ip)) {
		/* §4.3.2: a client on the wrong network is NAKed so it
		 * starts over; an address of this network that is not ours
		 * may be another server's: no record, stay silent */
		uint32_t mask = ntohl(ds->netmask);
		uint32_t net = ntohl(ds->boot.server_ip) & mask;

		if (!ip || (ip & mask) != net)
			dhcp_full_reply(r, DHCPNAK, 0);
		else
			log_debug("dhcp %s: REQUEST for %s, not in our range: "
				  "silent", r->mac,
				  inet_ntoa((struct in_addr){ htonl(ip) }));
		return;
	}
	rc = dhcp_pool_take(&ds->pool, r->c.mac, ip, LEASE_BOUND,
			    now + ds->srv->cfg->dhcp_lease_time, now);
	if (rc) {
		dhcp_full_reply(r, DHCPNAK, 0);
		return;
	}
	dhcp_leases_changed(ds);
	dhcp_full_reply(r, DHCPACK, ip);
}

/*
 * RFC 2131 §4.3.3: the client found the address we suggested in use; the
 * server "MUST mark the network address as not available". Only from the
 * client it was offered or leased to, and for DHCP_DECLINE_HOLD seconds
 * (dhcp_pool_decline()): otherwise any host could park the whole pool
 * with a DECLINE per address.
 */
static void dhcp_full_decline(struct dhcp_req *r, time_t now)
{
	struct dhcp_server *ds = r->s->ds;
	uint32_t ip = ntohl(dhcp_opt_addr(&r->m, DHCP_OPT_REQUESTED_IP));
	char ips[INET_ADDRSTRLEN];
	unsigned n;
	int rc;

	rc = dhcp_pool_decline(&ds->pool, r->c.mac, ip, now);
	if (rc == -ERANGE) {
		log_debug("dhcp %s: DECLINE %s, not in our range", r->mac,
			  ip_str(htonl(ip), ips));
		return;
	}
	if (rc < 0) {
		if ((n = log_limit(&ds->decline_log, now_ms())))
			log_info("dhcp %s: DECLINE %s, an address it was not "
				 "offered: ignored (%u such since the last "
				 "such line)", r->mac, ip_str(htonl(ip), ips),
				 n);
		return;
	}
	dhcp_leases_changed(ds);	/* it may have been a bound lease */
	log_info("dhcp %s: DECLINE %s -> address parked for %d s%s "
		 "(another host uses it? check the network)", r->mac,
		 ip_str(htonl(ip), ips), DHCP_DECLINE_HOLD,
		 rc == 1 ? ", the oldest parked one freed" : "");
}

static void dhcp_full_rx(struct dhcp_req *r)
{
	struct dhcp_server *ds = r->s->ds;
	time_t now = wall_now();
	uint32_t ip;
	char ips[INET_ADDRSTRLEN];

	switch (r->m.type) {
	case DHCPDISCOVER:
		dhcp_full_discover(r, now);
		break;
	case DHCPREQUEST:
		dhcp_full_request(r, now);
		break;
	case DHCPRELEASE:	/* §4.3.4 */
		ip = ntohl(r->m.ciaddr);
		if (dhcp_pool_release(&ds->pool, r->c.mac, ip, now) == 0) {
			dhcp_leases_changed(ds);
			log_info("dhcp %s: RELEASE %s", r->mac,
				 ip_str(r->m.ciaddr, ips));
		} else {
			log_debug("dhcp %s: RELEASE of %s it does not hold",
				  r->mac, ip_str(r->m.ciaddr, ips));
		}
		break;
	case DHCPDECLINE:
		dhcp_full_decline(r, now);
		break;
	case DHCPINFORM:
		dhcp_full_reply(r, DHCPACK, 0);
		break;
	default:
		log_debug("dhcp %s: %s ignored", r->mac,
			  dhcp_type_name(r->m.type));
	}
}

/*
 * A UEFI x64 PC's own --secure-boot (link DB), for the boot-file policy:
 * nothing in its request says whether its firmware enforces signatures.
 * Unknown or unlinked, or no DB: auto (the server's secure_boot).
 */
static void dhcp_client_secure_boot(const struct dhcp_server *ds,
				    struct dhcp_client *c)
{
	struct db *db = ds->srv->db;
	struct link_info link;

	c->secure_boot = SECURE_BOOT_AUTO;
	if (!db || c->ipxe || (c->arch != 7 && c->arch != 9 && c->arch != 16))
		return;
	if (db_link_lookup(db, c->mac, &link) == 0)
		c->secure_boot = link.secure_boot;
}

/* ---- receive ---- */

static void dhcp_handle(struct dhcp_sock *s, const uint8_t *buf, size_t len,
			const struct sockaddr_in *from, int ifindex)
{
	struct dhcp_server *ds = s->ds;
	struct dhcp_req *r;
	int rc;

	/* ~4 KiB of option index: keep it off the small loop stack */
	if (!(r = calloc(1, sizeof(*r)))) {
		log_warnx("dhcp: out of memory");
		return;
	}
	r->s = s;
	r->from = *from;
	r->ifindex = ifindex;
	if ((rc = dhcp_parse(buf, len, &r->m)) != 0) {
		log_debug("dhcp %s:%d: %zu bytes dropped: %s",
			  inet_ntoa(from->sin_addr), ntohs(from->sin_port),
			  len, err_str(rc));
		goto out;
	}
	if (r->m.op != BOOTREQUEST || r->m.htype != 1 || r->m.hlen != 6) {
		log_debug("dhcp %s:%d: dropped: op %u htype %u hlen %u "
			  "(only Ethernet BOOTREQUESTs)",
			  inet_ntoa(from->sin_addr), ntohs(from->sin_port),
			  r->m.op, r->m.htype, r->m.hlen);
		goto out;
	}
	dhcp_client_from_msg(&r->m, &r->c);
	mac_format(r->c.mac, r->mac);
	if (!r->m.type) {
		log_debug("dhcp %s: plain BOOTP request ignored", r->mac);
		goto out;
	}
	snprintf(r->who, sizeof(r->who), "arch %d (%s%s)", r->c.arch,
		 dhcp_arch_name(r->c.arch),
		 r->c.linkboot ? ", linkboot iPXE" : r->c.ipxe ? ", iPXE" : "");
	dhcp_log_detail(r);
	dhcp_client_secure_boot(ds, &r->c);
	if ((rc = dhcp_boot_choose(&ds->boot, &r->c, &r->boot)) != 0) {
		log_warnx("dhcp %s: boot file name too long: %s", r->mac,
			  err_str(rc));
		goto out;
	}
	if (ds->srv->cfg->dhcp_mode == DHCP_MODE_FULL && !s->proxy_port)
		dhcp_full_rx(r);
	else
		dhcp_proxy_rx(r);
out:
	free(r);
}

static void dhcp_readable(struct loop_watch *w, uint32_t events, int64_t now)
{
	struct dhcp_sock *s = w->arg;
	/* one byte more than we accept, to tell oversized from exact */
	uint8_t buf[DHCP_MAX_REQUEST + 1];
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_in from;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh;
	struct cmsghdr *cm;
	int budget, ifindex;
	ssize_t n;

	(void)events;
	(void)now;
	/* bounded: a flood cannot starve the other services */
	for (budget = 64; budget > 0; budget--) {
		mh = (struct msghdr){ .msg_name = &from,
					.msg_namelen = sizeof(from),
					.msg_iov = &iov, .msg_iovlen = 1,
					.msg_control = cbuf,
					.msg_controllen = sizeof(cbuf) };
		n = recvmsg(w->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("dhcp: recvmsg");
			return;
		}
		if ((size_t)n > DHCP_MAX_REQUEST) {
			log_debug("dhcp %s:%d: %zd bytes dropped: oversized",
				  inet_ntoa(from.sin_addr),
				  ntohs(from.sin_port), n);
			continue;
		}
		ifindex = 0;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_PKTINFO)
				ifindex = ((struct in_pktinfo *)
					   CMSG_DATA(cm))->ipi_ifindex;
		if (s->ds->srv->ifindex && ifindex &&
		    ifindex != s->ds->srv->ifindex)
			continue;	/* not our --interface */
		dhcp_handle(s, buf, (size_t)n, &from, ifindex);
	}
}

/* ---- setup ---- */

/* Ports 67 and 4011 on every address of --interface (or all): requests
 * are broadcast; IP_PKTINFO tells which interface one came in on; a DHCP
 * server on this host may hold port 67 too (SO_REUSEADDR: each broadcast
 * reaches both). */
static int dhcp_open(struct dhcp_server *ds, struct dhcp_sock *s, int port,
		     int proxy_port)
{
	int fd, rc;

	s->ds = ds;
	s->proxy_port = proxy_port;
	s->w.fd = -1;
	fd = listen_udp(ds->srv, port, LISTEN_ANY_ADDR | LISTEN_BROADCAST |
			LISTEN_PKTINFO | LISTEN_REUSEADDR,
			proxy_port ? "proxy" : "dhcp");
	if (fd < 0)
		return fd;
	s->w.fd = fd;
	s->w.fn = dhcp_readable;
	s->w.arg = s;
	if ((rc = loop_add(ds->srv->loop, &s->w, EPOLLIN)) != 0) {
		close(fd);
		s->w.fd = -1;
	}
	return rc;
}

static void dhcp_close(struct dhcp_server *ds, struct dhcp_sock *s)
{
	if (s->w.fd < 0)
		return;
	loop_del(ds->srv->loop, &s->w);
	close(s->w.fd);
	s->w.fd = -1;
}

static int parse_opt_addr(const char *what, const char *s, uint32_t *out)
{
	struct in_addr a;

	if (!s)
		return 0;
	if (inet_pton(AF_INET, s, &a) != 1) {
		log_err("--%s %s: not an IPv4 address", what, s);
		return -EINVAL;
	}
	*out = a.s_addr;
	return 0;
}

/* The netmask of the interface holding server_ip, else /24. */
static uint32_t dhcp_guess_netmask(uint32_t server_ip)
{
	struct ifaddrs *ifa, *p;
	uint32_t mask = htonl(0xffffff00);

	if (getifaddrs(&ifa) < 0)
		return mask;
	for (p = ifa; p; p = p->ifa_next)
		if (p->ifa_addr && p->ifa_netmask &&
		    p->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)p->ifa_addr)->sin_addr.s_addr ==
			    server_ip)
			mask = ((struct sockaddr_in *)p->ifa_netmask)
				       ->sin_addr.s_addr;
	freeifaddrs(ifa);
	return mask;
}

/* Full mode's options 1, 3 and 6 from the config (again on reload). */
static int dhcp_full_options(struct dhcp_server *ds)
{
	const struct lb_config *cfg = ds->srv->cfg;
	uint32_t netmask = dhcp_guess_netmask(ds->boot.server_ip);
	uint32_t router = 0, dns = 0;
	int rc;

	if ((rc = parse_opt_addr("dhcp-netmask", cfg->dhcp_netmask,
				 &netmask)) != 0 ||
	    (rc = parse_opt_addr("dhcp-router", cfg->dhcp_router,
				 &router)) != 0 ||
	    (rc = parse_opt_addr("dhcp-dns", cfg->dhcp_dns, &dns)) != 0)
		return rc;
	ds->netmask = netmask;
	ds->router = router;
	ds->dns = dns;
	return 0;
}

/* What the boot-file policy reads (again on reload). */
static void dhcp_boot_setup(struct dhcp_server *ds)
{
	const struct lb_config *cfg = ds->srv->cfg;

	ds->boot = (struct dhcp_boot_cfg){
		.bios_loader = cfg->bios_loader,
		.efi_loader = cfg->efi_loader,
		.arm64_loader = cfg->arm64_loader,
		.secure_boot = cfg->secure_boot,
		.server_ip = ds->srv->server_ip.s_addr,
		.http_port = cfg->http_port,
	};
}

static int dhcp_full_setup(struct dhcp_server *ds)
{
	const struct lb_config *cfg = ds->srv->cfg;
	int rc;

	if (!cfg->dhcp_range) {
		log_err("--dhcp full needs --dhcp-range START,END "
			"(e.g. 198.18.0.100,198.18.0.199)");
		return -EINVAL;
	}
	if ((rc = dhcp_pool_init(&ds->pool, cfg->dhcp_range,
				 ds->srv->state_dirfd)) != 0) {
		log_err("--dhcp-range %s: expected START,END IPv4 addresses, "
			"at most %d of them", cfg->dhcp_range, DHCP_POOL_MAX);
		return rc;
	}
	if ((rc = dhcp_full_options(ds)) != 0)
		return rc;
	rc = dhcp_pool_load(&ds->pool, wall_now());
	if (rc < 0)
		log_warnx("dhcp: cannot read %s/%s: %s (starting empty)",
			  cfg->state_dir, DHCP_LEASES_FILE, err_str(rc));
	else if (rc > 0)
		log_info("dhcp: %d leases restored", rc);
	return 0;
}

int dhcp_start(struct lb_server *srv)
{
	const struct lb_config *cfg = srv->cfg;
	struct dhcp_server *ds;
	int rc;

	if (cfg->dhcp_mode == DHCP_MODE_OFF)
		return 0;
	dhcp_wire_init();
	if (!(ds = calloc(1, sizeof(*ds))))
		return -ENOMEM;
	ds->srv = srv;
	ds->main.w.fd = ds->pxe.w.fd = -1;
	dhcp_boot_setup(ds);
	if (cfg->dhcp_mode == DHCP_MODE_FULL &&
	    ((rc = dhcp_full_setup(ds)) != 0 ||
	     (rc = loop_add_ticker(srv->loop, dhcp_tick, ds)) != 0))
		goto err;
	if ((rc = dhcp_open(ds, &ds->main, cfg->dhcp_port, 0)) != 0) {
		if (rc == -EADDRINUSE)
			log_err("dhcp: another DHCP server runs on this host: "
				"stop it, or run linkboot with --dhcp off and "
				"let that server send the boot options");
		goto err;
	}
	if (cfg->proxy_port &&
	    (rc = dhcp_open(ds, &ds->pxe, cfg->proxy_port, 1)) != 0)
		goto err_main;
	srv->dhcp = ds;
	log_info("dhcp: %s mode on ports %d and %d%s%s",
		 cfg->dhcp_mode == DHCP_MODE_FULL ? "full" : "proxy",
		 cfg->dhcp_port, cfg->proxy_port,
		 cfg->interface ? " on " : "",
		 cfg->interface ? cfg->interface : "");
	return 0;
err_main:
	dhcp_close(ds, &ds->main);
err:
	dhcp_pool_free(&ds->pool);
	free(ds);
	return rc;
}

/* The loader names point into srv->cfg, whose strings a reload
 * replaces: point at the new ones. */
void dhcp_reload(struct lb_server *srv)
{
	struct dhcp_server *ds = srv->dhcp;

	if (!ds)
		return;
	dhcp_boot_setup(ds);
	/* values were checked when the config was read: parse_opt_addr()
	 * cannot fail here, and keeps the old options if it did */
	if (srv->cfg->dhcp_mode == DHCP_MODE_FULL)
		dhcp_full_options(ds);
}

void dhcp_stop(struct lb_server *srv)
{
	struct dhcp_server *ds = srv->dhcp;

	if (!ds)
		return;
	dhcp_close(ds, &ds->pxe);
	dhcp_close(ds, &ds->main);
	/* no ACKed lease is lost across a clean stop */
	if (ds->leases_dirty)
		dhcp_leases_write(ds, now_ms());
	dhcp_pool_free(&ds->pool);
	free(ds);
	srv->dhcp = NULL;
}

int dhcp_addr_of(const struct lb_server *srv, const uint8_t mac[6],
		 uint32_t ip)
{
	const struct dhcp_server *ds = srv->dhcp;
	const struct dhcp_lease *l;
	time_t now = wall_now();
	unsigned i;

	if (!ds)
		return 0;
	if (srv->cfg->dhcp_mode == DHCP_MODE_FULL) {
		l = dhcp_pool_holder(&ds->pool, ntohl(ip), now);
		return l && l->state == LEASE_BOUND && !memcmp(l->mac, mac, 6);
	}
	for (i = 0; i < DHCP_SEEN_MAX; i++) {
		const struct dhcp_seen *e = &ds->seen[i];

		if (e->ip == ip && !memcmp(e->mac, mac, 6) &&
		    now - e->when <= DHCP_SEEN_SECONDS)
			return 1;
	}
	return 0;
}
