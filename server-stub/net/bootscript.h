/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BOOTSCRIPT_H
#define LB_BOOTSCRIPT_H

/*
 * The iPXE script `GET /boot.ipxe?mac=MAC` returns: built from the client's
 * link (server-stub/linkdb/db.h) as a pure function, so it is unit tested without
 * a DB. Only the parsed MAC (re-formatted) and DB values filtered to a safe
 * set of bytes reach the script; nothing else the client sent.
 */

#include <stddef.h>
#include <stdint.h>

#include "bootmenu.h"
#include "db.h"
#include "iscsi.h"

struct bootscript_params {
	const char *server;	/* dotted quad clients reach us at */
	unsigned http_port;
	unsigned nbd_port;
	const char *ticket;	/* this boot's ticket (boot_auth.h), or ""
				 * when the server could not tell the asker
				 * is this PC: then no_ticket says why */
	const char *no_ticket;
	/* SAN boots: the iSCSI target's port and this boot's CHAP user and
	 * secret (lib/ticket.h), instead of a ticket */
	unsigned iscsi_port;
	const char *san_user, *san_secret;
	/* the PC's boot menu (bootmenu.h): show it, or its entry 'local'
	 * was picked (back to the firmware's next boot device) */
	const struct bootmenu *menu;
	int menu_page;		/* GRUB: this is the menu's own file */
	int local;
};

/* The iSCSI names of a PC's disk: its own initiator name and target
 * (ISCSI_IQN_INITIATOR<mac> / ISCSI_IQN_PC<mac>, iscsi.h; mac as 12 hex
 * digits); out needs BOOTSCRIPT_IQN_MAX bytes. */
#define BOOTSCRIPT_IQN_MAX	64
void bootscript_san_iqns(const uint8_t mac[6], char initiator[BOOTSCRIPT_IQN_MAX],
			 char target[BOOTSCRIPT_IQN_MAX]);

/*
 * Write the script for the client with this MAC into out. lookup_rc is
 * what db_link_lookup() returned (link is used only when it is 0):
 *   0        boot the linked image with p->ticket (or the repair screen if
 *            image_missing, or the "who are you" screen without a ticket)
 *   -ENOENT  unknown/unlinked MAC: the "link me" screen, retried every 5 s
 *   -ENODEV  no link DB: an error screen, retried
 *   other    DB error screen, retried
 * Returns the script length, or -ENOSPC.
 */
int bootscript_build(char *out, size_t outsz, const uint8_t mac[6],
		     int lookup_rc, const struct link_info *link,
		     const struct bootscript_params *p);

/* The script answered to a missing or unparsable mac= (with a 400). */
int bootscript_bad_mac(char *out, size_t outsz,
		       const struct bootscript_params *p);

/* "ram" | "disk" | "server" | "super": linkboot.write= (lb_cmdline.h) */
const char *bootscript_write_mode(int mode);

/* One short word for logs and boot events: "boot", "unknown", ... */
const char *bootscript_kind(int lookup_rc, const struct link_info *link);

#endif
