/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_H
#define LB_AGENT_H

/*
 * linkboot-agent: the client's /init and, after switch_root, the disk
 * daemon between nbd.ko (over a socketpair) and the server (over TCP).
 *
 *   PID 1 (main.c)                       disk daemon (fork of PID 1,
 *                                          disk_daemon.h)
 *   cmdline -> modules -> net  --fork-->  supervisor.c: nbd_client
 *                                           handshake, cache, overlay
 *                                           (overlay_setup.c), CONNECT
 *   wait "ready" <--------------pipe----  "INDEX T_NBD", then fork:
 *   rootfs mount + overlay + switch_root    supervisor: waits; a crashed
 *   ("T_ROOT T_SWITCH" --pipe--> child)       serving child is replaced on
 *                                             a new socketpair (RECONFIGURE)
 *                                           serving child (disk_serve.c,
 *                                             writeback.c): serve loop,
 *                                             reconnect, write-back, DHCP
 *                                             renew, reports
 */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "cmdline.h"

/* Boot timeline and counters (report.c). Lives in the daemon after fork. */
struct agent_stats {
	int64_t t_start, t_net, t_nbd, t_root, t_switch;	/* now_ms() */
	uint64_t bytes_from_server, ram_hits, ram_misses;
	uint64_t ssd_hits, ssd_misses, overlay_bytes;
	uint64_t reconnects;
	char boot_id[40];
};
extern struct agent_stats agent_stats;

/* main.c */
void agent_panic(const char *what, const char *why, const char *check)
	__attribute__((noreturn));

/* modules.c: load the fixed set + NIC drivers from modaliases. */
int modules_load_all(unsigned nbds_max);

/* net.c */
struct net_state {
	int ifindex;
	char ifname[16];
	uint8_t mac[6];
	struct in_addr ip, netmask, gw, dns, dhcp_server;
	uint32_t lease_s;	/* 0 = static */
	int64_t lease_start_ms;
	uint32_t xid;
};
int net_up(const struct agent_cfg *cfg, struct net_state *ns);
/* called periodically by the daemon: renew a DHCP lease at T1 */
void net_tick(struct net_state *ns, int64_t now);

/* dhcp_client.c */
int dhcp_acquire(struct net_state *ns, unsigned timeout_s);
int dhcp_renew(struct net_state *ns);
/* A fresh transaction ID (getrandom()); exposed for the unit test. */
uint32_t dhcp_new_xid(const uint8_t mac[6]);

/* rtnl helpers (net.c) */
int rtnl_link_up(int ifindex);
int rtnl_addr_add(int ifindex, struct in_addr ip, unsigned prefix);
int rtnl_route_default(int ifindex, struct in_addr gw);

/* session.c: trade cfg->ticket for this boot's credential (into
 * cfg->export_name; the server's write mode into cfg). 0, or -errno with
 * the reason a person can act on in why. */
int session_begin(struct agent_cfg *cfg, char *why, size_t whysz);

/* report.c: POST key=value lines to linkboot.http /report?mac=MAC, with
 * the boot's credential as bearer (without one, nothing is sent) */
void report_send(const struct agent_cfg *cfg, const uint8_t mac[6],
		 const char *event, const char *extra);

/* rootfs.c: mount /dev/nbdN's root, overlay, switch_root (never returns
 * on success); just before switch_root, "T_ROOT T_SWITCH\n" (now_ms())
 * to timeline_fd, for the boot report. */
int rootfs_boot(const struct agent_cfg *cfg, const struct net_state *ns,
		int nbd_index, int timeline_fd);

/* supervisor.c: the disk daemon; writes "INDEX T_NBD\n" (or "-1 RC\n")
 * to ready_fd, then serves forever. The serving child reads PID 1's
 * timeline from timeline_fd. ns NULL (an extra disk): no reports, no
 * DHCP upkeep, timeline_fd -1. */
void serve_daemon(const struct agent_cfg *cfg, struct net_state *ns,
		  int ready_fd, int timeline_fd) __attribute__((noreturn));
/* disk_serve.c: the same serve loop on a socket end the caller gives (a
 * bench or test playing nbd.ko on a host without it); returns when the
 * peer closes or disconnects: 0, or -errno. */
struct cache;
int serve_socket(const struct agent_cfg *cfg, int kfd, struct cache *cache);
/* The same in two steps, for a bench starting many agents at once: the
 * loop's buffers (NULL: no memory), then connect and serve, which frees
 * what the first step made. */
struct disk_daemon;
struct disk_daemon *serve_socket_prepare(const struct agent_cfg *cfg, int kfd,
					 struct cache *cache);
int serve_socket_run(struct disk_daemon *d);

/* control.c: fork the process that fetches, acknowledges and carries out
 * the server's commands (reboot, poweroff, message) for this boot. */
void control_start(const struct agent_cfg *cfg);

/* prestage.c: woken for a pre-staging (linkboot.prestage): fill the SSD
 * cache with that version's blocks it lacks, report, power off. */
void prestage_run(const struct agent_cfg *cfg) __attribute__((noreturn));

/* extra_disks.c: a disk daemon per extra disk of cfg (the session's
 * disk= lines), each linked as /dev/linkboot/diskN; failures logged. */
void extra_disks_attach(const struct agent_cfg *cfg);

#endif
