/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The GRUB configuration of the Secure Boot chain; see grubcfg.h.
 *
 * GRUB's script (GRUB manual "Shell-like scripting") expands $var and
 * ${var}, splits words on blanks and treats quotes, '\', ';', '|', '&',
 * '<', '>', '(', ')', '{', '}' and a leading '#' specially. Every fixed
 * text below is single-quoted (no expansion inside); every DB value went
 * through script_filter(), which keeps none of those bytes.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "boot_auth.h"
#include "bootmenu.h"
#include "config.h"
#include "grubcfg.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_path.h"
#include "lb_util.h"
#include "script_text.h"
#include "ticket.h"

#define GRUBCFG_STUB_NAME	"grub/grub.cfg"
#define GRUBCFG_PC_PREFIX	"grub/grub.cfg-"
/* GRUB net_search_cfg (grub-core/net/net.c): "grub.cfg-01-" + MAC with
 * '-', 01 being the ARP hardware type of Ethernet */
#define GRUBCFG_HWTYPE		"01-"

/* ".menu" or ".eN" after the MAC (the menu's own files): which, and the
 * MAC alone in m (at most 20 bytes + NUL). */
static enum grubcfg_name pc_part(const char *rel, char m[24], unsigned *entry)
{
	const char *dot = strrchr(rel, '.');
	size_t len = dot ? (size_t)(dot - rel) : strlen(rel);
	enum grubcfg_name kind = GRUBCFG_PC;
	uint64_t n;

	*entry = 0;
	if (dot && !strcmp(dot, ".menu")) {
		kind = GRUBCFG_PC_MENU;
	} else if (dot && dot[1] == 'e' &&
		   parse_u64(dot + 2, 1, LINK_MENU_MAX, &n) == 0) {
		kind = GRUBCFG_PC_ENTRY;
		*entry = (unsigned)n;
	} else {
		len = strlen(rel);
	}
	if (len > 20)
		len = 21;	/* too long for a MAC: refused below */
	memcpy(m, rel, MIN(len, (size_t)23));
	m[MIN(len, (size_t)23)] = '\0';
	return kind;
}

enum grubcfg_name grubcfg_name(const char *rel, uint8_t mac[6])
{
	enum grubcfg_name kind;
	unsigned entry;
	char buf[24];
	const char *m;

	if (!strcmp(rel, GRUBCFG_STUB_NAME))
		return GRUBCFG_STUB;
	if (strncmp(rel, GRUBCFG_PC_PREFIX, strlen(GRUBCFG_PC_PREFIX)) != 0)
		return GRUBCFG_NONE;
	kind = pc_part(rel + strlen(GRUBCFG_PC_PREFIX), buf, &entry);
	m = buf;
	/* "01-aa-bb-cc-dd-ee-ff": 3 + 17 bytes; a bare MAC has 17 */
	if (strlen(m) == 20 && !strncmp(m, GRUBCFG_HWTYPE, 3))
		m += 3;
	return mac_parse(m, mac) == 0 ? kind : GRUBCFG_BAD_MAC;
}

unsigned grubcfg_entry(const char *rel)
{
	unsigned entry = 0;
	char buf[24];

	if (!strncmp(rel, GRUBCFG_PC_PREFIX, strlen(GRUBCFG_PC_PREFIX)))
		pc_part(rel + strlen(GRUBCFG_PC_PREFIX), buf, &entry);
	return entry;
}

int grubcfg_is_name(const char *path, size_t len)
{
	char rel[256];
	uint8_t mac[6];

	return path_sanitize(path, len, rel, sizeof(rel)) == 0 &&
	       grubcfg_name(rel, mac) != GRUBCFG_NONE;
}

/*
 * The memdisk config of Debian's grubnetx64 sources this. It fetches the
 * PC's own config; that one returns only after a screen (unknown PC, no
 * ticket, a failed boot), so it is fetched again every 5 s: fixing the
 * link on the server boots the PC with no hand on it, as with iPXE.
 * `source`, not `configfile`: no new menu context per retry.
 */
int grubcfg_stub(char *out, size_t outsz)
{
	struct sbuf sb = { .p = out, .size = outsz };

	if (outsz == 0)
		return -ENOSPC;
	sb_printf(&sb,
		  "# linkboot: the same for every PC; the PC's own "
		  "configuration follows\n"
		  "set timeout=0\n"
		  "set lb_cfg=\"$prefix/grub.cfg-$net_default_mac\"\n"
		  "echo \"linkboot: GRUB (Secure Boot chain), fetching "
		  "$lb_cfg\"\n"
		  "source \"$lb_cfg\"\n"
		  "while true; do\n"
		  "\tsleep 5\n"
		  "\tsource \"$lb_cfg\"\n"
		  "done\n");
	return sb_done(&sb);
}

static void cfg_banner(struct sbuf *sb)
{
	sb_printf(sb, "echo\necho '===================================="
		  "===================================='\n");
}

/* The end of every screen: the stub fetches this file again. */
static void cfg_retry(struct sbuf *sb)
{
	sb_printf(sb, "echo\necho 'linkboot: checking again every 5 "
		  "seconds...'\n");
}

static void cfg_unknown(struct sbuf *sb, const char *mac,
			const struct bootscript_params *p)
{
	cfg_banner(sb);
	sb_printf(sb,
		  "echo 'linkboot: this PC is not linked to an image yet.'\n"
		  "echo\n"
		  "echo '  MAC address:  %s'\n"
		  "echo '  boot server:  %s'\n"
		  "echo\n"
		  "echo 'To boot it, run on the server (IMAGE: see `linkboot "
		  "image list`):'\n"
		  "echo\n"
		  "echo '  linkboot client add %s --image IMAGE'\n",
		  mac, p->server, mac);
	cfg_banner(sb);
	cfg_retry(sb);
}

static void cfg_image_missing(struct sbuf *sb, const char *mac,
			      const struct link_info *link,
			      const struct bootscript_params *p)
{
	char image[sizeof(link->image)], id[sizeof(link->image_id)];

	cfg_banner(sb);
	sb_printf(sb,
		  "echo 'linkboot: the image file of image %s (id %s), linked "
		  "to this PC, is missing on the server.'\n"
		  "echo\n"
		  "echo '  MAC address:  %s'\n"
		  "echo '  boot server:  %s'\n"
		  "echo\n"
		  "echo 'If the file was moved, re-attach it on the server "
		  "with:'\n"
		  "echo\n"
		  "echo '  linkboot image repair --scan DIR'\n"
		  "echo\n"
		  "echo '(DIR: the directory the image file is in now)'\n",
		  script_filter(image, sizeof(image), link->image, 0),
		  script_filter(id, sizeof(id), link->image_id, 0),
		  mac, p->server);
	cfg_banner(sb);
	cfg_retry(sb);
}

static void cfg_no_kernel(struct sbuf *sb, const char *mac,
			  const struct link_info *link,
			  const struct bootscript_params *p)
{
	char image[sizeof(link->image)];

	cfg_banner(sb);
	sb_printf(sb,
		  "echo 'linkboot: image %s version %u has no kernel or initrd "
		  "on the server.'\n"
		  "echo '  MAC address:  %s'\n"
		  "echo '  boot server:  %s'\n"
		  "echo 'Check it on the server with: linkboot check'\n",
		  script_filter(image, sizeof(image), link->image, 0),
		  link->version, mac, p->server);
	cfg_banner(sb);
	cfg_retry(sb);
}

/* GRUB has no iSCSI initiator: a SAN image needs iPXE (sanboot). */
static void cfg_san(struct sbuf *sb, const char *mac,
		    const struct link_info *link,
		    const struct bootscript_params *p)
{
	char image[sizeof(link->image)];

	cfg_banner(sb);
	sb_printf(sb,
		  "echo 'linkboot: image %s is booted from iSCSI (SAN boot), "
		  "which needs iPXE;'\n"
		  "echo 'the Secure Boot chain (shim, GRUB) cannot boot it.'\n"
		  "echo '  MAC address:  %s'\n"
		  "echo '  boot server:  %s'\n"
		  "echo 'Turn Secure Boot off in this PC firmware and set "
		  "secure_boot off on the server.'\n",
		  script_filter(image, sizeof(image), link->image, 0), mac,
		  p->server);
	cfg_banner(sb);
	cfg_retry(sb);
}

static void cfg_unverified(struct sbuf *sb, const char *mac,
			   const struct bootscript_params *p)
{
	char why[256];

	cfg_banner(sb);
	sb_printf(sb,
		  "echo 'linkboot: the server cannot tell that this request "
		  "comes from the PC with MAC %s,'\n"
		  "echo 'so it hands out no boot ticket:'\n"
		  "echo '  %s'\n"
		  "echo '  boot server:  %s'\n"
		  "echo 'See the server log (journalctl -u linkboot) and the "
		  "README threat model.'\n",
		  mac, script_filter(why, sizeof(why), p->no_ticket ?
				     p->no_ticket : "no ticket", 1),
		  p->server);
	cfg_banner(sb);
	cfg_retry(sb);
}

static void cfg_db_error(struct sbuf *sb, const char *mac, int rc,
			 const struct bootscript_params *p)
{
	char why[96];

	cfg_banner(sb);
	sb_printf(sb,
		  "echo 'linkboot: the boot server cannot read its link DB "
		  "(%s).'\n"
		  "echo '  MAC address:  %s'\n"
		  "echo '  boot server:  %s'\n"
		  "echo 'See the server log: journalctl -u linkboot'\n",
		  script_filter(why, sizeof(why),
				rc == -ENODEV ? "link DB unavailable"
					      : err_str(rc), 1),
		  mac, p->server);
	cfg_banner(sb);
	cfg_retry(sb);
}

/*
 * The boot: the kernel command line of include/lb_cmdline.h, as
 * bootscript.c writes it, less what only iPXE knows (linkboot.ip,
 * netmask, gw, dns: GRUB has no variable for the netmask): without
 * linkboot.ip the agent asks DHCP, which gives it the address GRUB had.
 * The files come from $root, the device GRUB itself was loaded from
 * ((tftp,SERVER), or http); the kernel is the image's own, which GRUB
 * has shim verify (Debian's signed kernel: Debian's key, in shim).
 */
static void cfg_boot(struct sbuf *sb, const char *mac,
		     const struct link_info *link,
		     const struct bootscript_params *p)
{
	struct boot_text t;

	boot_text_fill(&t, link, p->ticket);
	sb_printf(sb, "echo 'linkboot: %s (%s) boots image %s version %u "
		  "(Secure Boot chain: shim, GRUB)'\n",
		  t.name[0] ? t.name : "client", mac, t.image, link->version);
	sb_printf(sb, "echo 'linkboot: loading the kernel /%s'\n", t.kernel);
	sb_printf(sb,
		  "linux /%s linkboot.server=%s:%u linkboot.http=http://%s:%u "
		  "linkboot.ticket=%s linkboot.mac=%s",
		  t.kernel, p->server, p->nbd_port, p->server, p->http_port,
		  t.ticket, mac);
	boot_text_agent_args(sb, &t, link);
	if (t.extra[0])
		sb_printf(sb, " %s", t.extra);
	sb_printf(sb, "\n");
	sb_printf(sb,
		  "echo 'linkboot: loading the initramfs /%s'\n"
		  "initrd /%s\n"
		  "boot\n", t.initrd, t.initrd);
	/* only a failed linux/initrd/boot gets here; GRUB printed why */
	sb_printf(sb,
		  "echo 'linkboot: the boot failed (the reason is above).'\n"
		  "echo 'linkboot: boot server %s, retrying in 5 seconds...'\n",
		  p->server);
}

/* The PC's config when it has a menu: GRUB shows a menu only when a
 * config file ends, and the stub's loop never does: configfile runs the
 * menu's file in a menu context of its own. */
static void cfg_menu_jump(struct sbuf *sb, const char *mac)
{
	sb_printf(sb, "configfile \"$prefix/grub.cfg-%s.menu\"\n", mac);
}

/* The menu: an entry per item, each sourcing its own file (the server
 * records the pick when GRUB fetches it, bootmenu.c); GRUB's timeout is
 * in seconds, its default 0-based. */
static void cfg_menu(struct sbuf *sb, const char *mac,
		     const struct bootmenu *m)
{
	sb_printf(sb, "set timeout=%u\nset default=%d\n", m->timeout,
		  m->def - 1);
	for (int i = 0; i < m->n; i++) {
		char label[sizeof(m->label[0])];

		script_filter(label, sizeof(label), m->label[i], 1);
		sb_printf(sb, "menuentry '%s' {\n"
			  "\tsource \"$prefix/grub.cfg-%s.e%d\"\n}\n", label,
			  mac, i + 1);
	}
}

int grubcfg_build(char *out, size_t outsz, const uint8_t mac[6],
		  int lookup_rc, const struct link_info *link,
		  const struct bootscript_params *p)
{
	struct sbuf sb = { .p = out, .size = outsz };
	char macs[18];

	if (outsz == 0)
		return -ENOSPC;
	out[0] = '\0';
	mac_format(mac, macs);
	sb_printf(&sb, "# linkboot GRUB configuration for %s: generated per "
		  "request from the link DB, do not edit\n", macs);
	if (lookup_rc == -ENOENT)
		cfg_unknown(&sb, macs, p);
	else if (lookup_rc != 0 || !link)
		cfg_db_error(&sb, macs, lookup_rc ? lookup_rc : -ENODEV, p);
	else if (link->image_missing)
		cfg_image_missing(&sb, macs, link, p);
	else if (p->menu && p->menu_page)
		cfg_menu(&sb, macs, p->menu);
	else if (p->menu)
		cfg_menu_jump(&sb, macs);
	else if (p->local)
		sb_printf(&sb, "echo 'linkboot: %s boots from its own disk "
			  "(menu entry local)'\nexit\n", macs);
	else if (link->boot_mode == BOOT_SAN)
		cfg_san(&sb, macs, link, p);
	else if (!p->ticket || !p->ticket[0])
		cfg_unverified(&sb, macs, p);
	else if (!link->kernel[0] || !link->initrd[0])
		cfg_no_kernel(&sb, macs, link, p);
	else
		cfg_boot(&sb, macs, link, p);
	return sb_done(&sb);
}

static int grubcfg_bad_mac(char *out, size_t outsz, const char *server)
{
	struct sbuf sb = { .p = out, .size = outsz };

	sb_printf(&sb,
		  "echo 'linkboot: bad request: grub/grub.cfg-MAC needs the "
		  "MAC address ($net_default_mac)'\n"
		  "echo 'linkboot: boot server %s'\n", server);
	return sb_done(&sb);
}

const char *grubcfg_kind(int lookup_rc, const struct link_info *link)
{
	return bootscript_kind(lookup_rc, link);
}

int grubcfg_answer(const struct lb_server *srv, const char *path,
		   size_t len, struct in_addr peer, char *out, size_t outsz,
		   const char **kind)
{
	char rel[256], server[INET_ADDRSTRLEN], why[256] = "";
	char ticket[TICKET_STR_LEN + 1] = "";
	struct bootscript_params p = {
		.server = server,
		.http_port = (unsigned)srv->cfg->http_port,
		.nbd_port = (unsigned)srv->cfg->nbd_port,
		.ticket = ticket,
		.no_ticket = why,
	};
	struct link_info link;
	struct bootmenu menu;
	enum bootmenu_step step;
	uint8_t mac[6];
	int n, rc;

	if (path_sanitize(path, len, rel, sizeof(rel)) != 0)
		return -ENOENT;
	inet_ntop(AF_INET, &srv->server_ip, server, sizeof(server));
	switch (grubcfg_name(rel, mac)) {
	case GRUBCFG_NONE:
		return -ENOENT;
	case GRUBCFG_STUB:
		*kind = "stub";
		return grubcfg_stub(out, outsz);
	case GRUBCFG_BAD_MAC:
		*kind = "bad-mac";
		return grubcfg_bad_mac(out, outsz, server);
	case GRUBCFG_PC:
	case GRUBCFG_PC_MENU:
	case GRUBCFG_PC_ENTRY:
		break;
	}
	memset(&link, 0, sizeof(link));
	rc = srv->db ? db_link_lookup(srv->db, mac, &link) : -ENODEV;
	step = bootmenu_resolve((struct lb_server *)srv, mac, peer,
				grubcfg_entry(rel), rc, &link, &menu);
	p.menu = step == BOOTMENU_SHOW ? &menu : NULL;
	p.menu_page = grubcfg_name(rel, mac) == GRUBCFG_PC_MENU;
	p.local = step == BOOTMENU_LOCAL;
	*kind = p.menu ? "menu" : p.local ? "local" :
		grubcfg_kind(rc, rc == 0 ? &link : NULL);
	if (!strcmp(*kind, "boot") &&
	    boot_ticket_issue(srv, mac, peer, ticket, why, sizeof(why)) != 0) {
		*kind = "unverified";
		log_warnx("grub %s: no boot ticket for %s: %s", inet_ntoa(peer),
			  link.mac, why);
	}
	if (rc != 0 && rc != -ENOENT)
		log_warnx("grub %s: link DB: %s", inet_ntoa(peer),
			  rc == -ENODEV ? "unavailable" : err_str(rc));
	n = grubcfg_build(out, outsz, mac, rc, rc == 0 ? &link : NULL, &p);
	sodium_memzero(ticket, sizeof(ticket));
	return n;
}
