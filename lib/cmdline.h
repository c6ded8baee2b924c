/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_CMDLINE_PARSE_H
#define LB_CMDLINE_PARSE_H

/*
 * The agent's kernel command line parser (keys: include/lb_cmdline.h).
 * Pure code, in lib/ so the fuzzer (lib/fuzz_cmdline.c) and unit tests
 * use exactly what the agent runs.
 */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "ticket.h"

#define AGENT_MAX_SERVERS 4
#define AGENT_MAX_DISKS 7	/* extra disks, LUN 1..7 (server disks.h) */

enum write_mode {
	WRITE_RAM = 0,	/* overlayfs, upper on a size-capped tmpfs */
	WRITE_DISK,	/* overlayfs, upper on PARTLABEL=linkboot-cache */
	WRITE_SERVER,	/* block writes to the client's overlay on the server */
	WRITE_SUPER,	/* block writes become the image's next version */
};

/* Everything the kernel command line says (include/lb_cmdline.h). */
struct agent_cfg {
	struct sockaddr_in server[AGENT_MAX_SERVERS];	/* NBD servers */
	unsigned nservers;
	struct sockaddr_in http;	/* report endpoint; port 0 = none */
	char http_host[64];		/* Host: header */
	char export_name[256];		/* NBD export: the credential the
					 * ticket was traded for, an image
					 * name, or an admin token */
	char ticket[TICKET_STR_LEN + 1]; /* linkboot.ticket: spent at start */
	uint8_t mac[6];			/* boot NIC */
	int has_mac;
	struct in_addr ip, netmask, gw, dns;	/* static config if has_ip */
	int has_ip, has_gw, has_dns;
	char root[128];			/* LABEL=|UUID=|PARTLABEL=|partN|"" */
	int write_mode;			/* enum write_mode */
	unsigned overlay_mib;		/* ram: tmpfs cap, 0 = half of RAM;
					 * server/super: RAM tier of the
					 * block overlay, 0 = default */
	unsigned keep;			/* server: the overlay is kept */
	unsigned ram_mib;		/* RAM cache size, 0 = off */
	int ssd_mode;			/* -1 off, 0 auto, >0 MiB */
	char hashes[160];		/* served path of the block-hash table */
	/* woken to pre-stage a version (server-stub/linkdb/prestage.h):
	 * its read-only export "NAME@VERSION" and its block-hash table */
	char prestage[128];
	char prestage_hashes[160];
	char hostname[64];		/* "" = leave alone */
	char machine_id[33];		/* "" = leave alone */
	unsigned reconnect_s;		/* longest outage to ride out */
	int verbose;
	/* extra disks the server's session answer lists ("disk=" lines):
	 * each is export "<credential>/<lun>" */
	struct agent_disk {
		unsigned lun;
		int writable;		/* ram or server mode: writes go to
					 * the server */
	} disks[AGENT_MAX_DISKS];
	unsigned ndisks;
};

/* Parse /proc/cmdline text; on error err names the parameter. */
void cmdline_defaults(struct agent_cfg *cfg);
int cmdline_parse(const char *text, struct agent_cfg *cfg, char *err,
		  size_t errsz);
const char *write_mode_name(int mode);

#endif
