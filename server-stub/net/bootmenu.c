/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A PC's boot menu for iPXE and GRUB alike; see bootmenu.h. */

#include <stdio.h>
#include <string.h>

#include "boot_auth.h"
#include "bootmenu.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"

static void menu_labels(struct bootmenu *m)
{
	for (int i = 0; i < m->n; i++) {
		if (!strcmp(m->e[i], "local"))
			snprintf(m->label[i], sizeof(m->label[i]), "Local disk");
		else if (!strcmp(m->e[i], "rescue"))
			snprintf(m->label[i], sizeof(m->label[i]),
				 "Rescue shell");
		else
			snprintf(m->label[i], sizeof(m->label[i]), "%s",
				 m->e[i]);
	}
}

/* The pick of entry name: stored, and the link looked up again. */
static int menu_pick(struct lb_server *srv, const uint8_t mac[6],
		     const char *name, struct link_info *link)
{
	char id[40], macs[18], detail[128];
	const char *pick = name;
	int rc;

	mac_format(mac, macs);
	if (strcmp(name, "local") && strcmp(name, "rescue")) {
		if ((rc = db_image_id(srv->db, name, id)) != 0)
			return rc;
		pick = id;
	}
	if ((rc = db_menu_pick(srv->db, macs, strcmp(name, "local") ? pick :
			       NULL, name)) != 0)
		return rc;
	snprintf(detail, sizeof(detail), "menu: picked %s", name);
	db_record_event(srv->db, macs, "menu", detail);
	log_info("menu: %s picked %s", macs, name);
	return db_link_lookup(srv->db, mac, link);
}

/* The last boot's pick goes when the PC itself asks again (a GET from
 * anyone else changes nothing on the server). */
static void drop_pick(struct lb_server *srv, const uint8_t mac[6],
		      struct in_addr peer, struct link_info *link)
{
	char why[256];

	if (!(link->picked_other || link->rescue) ||
	    !boot_peer_is(srv, mac, peer, why, sizeof(why)))
		return;
	db_menu_pick(srv->db, link->mac, NULL, NULL);
	db_link_lookup(srv->db, mac, link);
}

enum bootmenu_step bootmenu_resolve(struct lb_server *srv, const uint8_t mac[6],
				    struct in_addr peer, unsigned entry,
				    int lookup_rc, struct link_info *link,
				    struct bootmenu *m)
{
	char why[256];
	int i;

	memset(m, 0, sizeof(*m));
	if (lookup_rc != 0 || !srv->db || link->image_missing)
		return BOOTMENU_NONE;
	/* woken at night to pre-stage: nobody is there to pick */
	if (link->prestage_version)
		return BOOTMENU_NONE;
	m->n = link_menu_split(link->menu, m->e);
	if (m->n < 2) {
		/* no menu (any more): an old pick must not stick */
		drop_pick(srv, mac, peer, link);
		return BOOTMENU_NONE;
	}
	menu_labels(m);
	m->def = 1;
	for (i = 0; i < m->n; i++)
		if (!strcmp(m->e[i], link->menu_default))
			m->def = i + 1;
	m->timeout = link->menu_timeout;
	if (entry == 0 && m->timeout > 0) {
		drop_pick(srv, mac, peer, link);
		return BOOTMENU_SHOW;
	}
	if (entry == 0)
		entry = (unsigned)m->def;
	if (entry > (unsigned)m->n)
		return BOOTMENU_SHOW;
	/* only the PC itself picks what it boots */
	if (!boot_peer_is(srv, mac, peer, why, sizeof(why)))
		return BOOTMENU_NONE;
	if (menu_pick(srv, mac, m->e[entry - 1], link) != 0) {
		log_warnx("menu %s: entry %u (%s) not recorded", link->mac,
			  entry, m->e[entry - 1]);
		return BOOTMENU_NONE;
	}
	return strcmp(m->e[entry - 1], "local") ? BOOTMENU_PICKED
						: BOOTMENU_LOCAL;
}
