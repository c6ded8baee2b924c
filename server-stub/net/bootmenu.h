/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BOOTMENU_H
#define LB_BOOTMENU_H

/*
 * A PC's boot menu (links.h --menu), the same for iPXE (bootscript.c) and
 * GRUB (grubcfg.c): a request without an entry shows the menu (and drops
 * the last boot's pick); a request for entry N, from the PC itself (the
 * ticket's recognition, boot_auth.h), records the pick, which the link
 * lookup then applies until the next menu (db.h link_info picked_other,
 * rescue), and the entry's script follows. A menu of one entry, or a
 * timeout of 0, boots its default entry straight through.
 */

#include <netinet/in.h>
#include <stdint.h>

#include "db.h"
#include "links.h"
#include "server.h"

enum bootmenu_step {
	BOOTMENU_NONE,		/* no menu: the link as it is */
	BOOTMENU_SHOW,		/* show the menu */
	BOOTMENU_PICKED,	/* an entry picked: *link is now its link */
	BOOTMENU_LOCAL,		/* the PC's own disk: back to the firmware */
};

struct bootmenu {
	int n;				/* entries */
	char e[LINK_MENU_MAX][64];
	char label[LINK_MENU_MAX][80];	/* what the screen shows */
	int def;			/* default entry, 1-based */
	unsigned timeout;		/* seconds */
};

/* entry: 0 = none asked, else 1-based. lookup_rc / link: db_link_lookup()
 * for mac, looked up again when a pick changes it. */
enum bootmenu_step bootmenu_resolve(struct lb_server *srv, const uint8_t mac[6],
				    struct in_addr peer, unsigned entry,
				    int lookup_rc, struct link_info *link,
				    struct bootmenu *m);

#endif
