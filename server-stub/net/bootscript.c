/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The generated iPXE boot script (GET /boot.ipxe?mac=MAC); see bootscript.h.
 *
 * iPXE expands ${...} and splits words on spaces before it runs a line, and
 * treats "||", "&&", quotes and backslashes specially. So every value that
 * comes from the DB goes through script_filter() (a closed set of bytes,
 * everything else becomes '_'), and the only client-supplied value, the
 * MAC, is re-formatted from its parsed bytes.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bootscript.h"
#include "initramfs.h"
#include "script_text.h"
#include "ticket.h"
#include "lb_cmdline.h"
#include "lb_err.h"
#include "lb_util.h"

const char *bootscript_write_mode(int mode)
{
	switch (mode) {
	case WRITE_DISK:
		return "disk";
	case WRITE_SERVER:
		return "server";
	case WRITE_SUPER:
		return "super";
	default:
		return "ram";
	}
}

static void script_header(struct sbuf *sb, const char *mac)
{
	sb_printf(sb, "#!ipxe\n"
		  "# linkboot boot script for %s: generated per request "
		  "from the link DB, do not edit\n", mac);
}

/*
 * The end of every error screen: wait 5 s, then fetch this script again
 * (--replace: the retry does not nest), so that fixing the link on the
 * server boots the PC with no hand on it.
 */
static void script_retry(struct sbuf *sb, const char *mac,
			 const struct bootscript_params *p)
{
	sb_printf(sb,
		  "echo\n"
		  "echo linkboot: checking again every 5 seconds...\n"
		  ":retry\n"
		  "sleep 5\n"
		  "chain --replace --autofree http://%s:%u/boot.ipxe?mac=%s || "
		  "goto retry\n", p->server, p->http_port, mac);
}

static void script_banner(struct sbuf *sb)
{
	sb_printf(sb, "echo\necho ===================================="
		  "====================================\n");
}

static void script_unknown(struct sbuf *sb, const char *mac,
			   const struct bootscript_params *p)
{
	script_banner(sb);
	sb_printf(sb,
		  "echo linkboot: this PC is not linked to an image yet.\n"
		  "echo\n"
		  "echo   MAC address:  %s\n"
		  "echo   boot server:  %s\n"
		  "echo\n"
		  "echo To boot it, run on the server (IMAGE: see `linkboot image list`):\n"
		  "echo\n"
		  "echo   linkboot client add %s --image IMAGE\n",
		  mac, p->server, mac);
	script_banner(sb);
	script_retry(sb, mac, p);
}

static void script_image_missing(struct sbuf *sb, const char *mac,
				 const struct link_info *link,
				 const struct bootscript_params *p)
{
	char image[sizeof(link->image)], id[sizeof(link->image_id)];

	script_banner(sb);
	sb_printf(sb,
		  "echo linkboot: the image file of image %s (id %s), linked to "
		  "this PC, is missing on the server.\n"
		  "echo\n"
		  "echo   MAC address:  %s\n"
		  "echo   boot server:  %s\n"
		  "echo\n"
		  "echo If the file was moved, re-attach it on the server with:\n"
		  "echo\n"
		  "echo   linkboot image repair --scan DIR\n"
		  "echo\n"
		  "echo (DIR: the directory the image file is in now)\n",
		  script_filter(image, sizeof(image), link->image, 0),
		  script_filter(id, sizeof(id), link->image_id, 0),
		  mac, p->server);
	script_banner(sb);
	script_retry(sb, mac, p);
}

static void script_no_kernel(struct sbuf *sb, const char *mac,
			     const struct link_info *link,
			     const struct bootscript_params *p)
{
	char image[sizeof(link->image)];

	script_banner(sb);
	sb_printf(sb,
		  "echo linkboot: image %s version %u has no kernel or initrd "
		  "on the server.\n"
		  "echo   MAC address:  %s\n"
		  "echo   boot server:  %s\n"
		  "echo Check it on the server with: linkboot check\n",
		  script_filter(image, sizeof(image), link->image, 0),
		  link->version, mac, p->server);
	script_banner(sb);
	script_retry(sb, mac, p);
}

/* A linked PC the server could not recognise: no ticket, say why. */
static void script_unverified(struct sbuf *sb, const char *mac,
			      const struct bootscript_params *p)
{
	char why[256];

	script_banner(sb);
	sb_printf(sb,
		  "echo linkboot: the server cannot tell that this request comes "
		  "from the PC with MAC %s,\n"
		  "echo so it hands out no boot ticket:\n"
		  "echo   %s\n"
		  "echo   boot server:  %s\n"
		  "echo See the server log (journalctl -u linkboot) and the "
		  "README's threat model.\n",
		  mac, script_filter(why, sizeof(why), p->no_ticket ?
				     p->no_ticket : "no ticket", 1),
		  p->server);
	script_banner(sb);
	script_retry(sb, mac, p);
}

static void script_db_error(struct sbuf *sb, const char *mac, int rc,
			    const struct bootscript_params *p)
{
	char why[96];

	script_banner(sb);
	sb_printf(sb,
		  "echo linkboot: the boot server cannot read its link DB (%s).\n"
		  "echo   MAC address:  %s\n"
		  "echo   boot server:  %s\n"
		  "echo See the server log: journalctl -u linkboot\n",
		  script_filter(why, sizeof(why),
				rc == -ENODEV ? "link DB unavailable"
					      : err_str(rc), 1),
		  mac, p->server);
	script_banner(sb);
	script_retry(sb, mac, p);
}

/* Does the agent use a local disk on this boot: an SSD cache, the
 * overlay on the cache partition (write mode disk), a pre-staging? */
static int link_uses_local_disk(const struct link_info *link)
{
	return strcmp(link->ssd_cache, "off") != 0 ||
	       link->write_mode == WRITE_DISK || link->prestage_version;
}

/* The initrds one boot loads: iPXE's image name and the served path. */
struct initrd_plan {
	struct {
		const char *name;
		char url[300];
	} e[3];
	unsigned n;
};

static void plan_add(struct initrd_plan *pl, const char *name,
		     const char *dir, int dirlen, const char *file)
{
	pl->e[pl->n].name = name;
	snprintf(pl->e[pl->n].url, sizeof(pl->e[pl->n].url), "%.*s%s%s",
		 dirlen, dir, dirlen ? "/" : "", file);
	pl->n++;
}

/*
 * The version's one initrd; or its split initramfs (store/initramfs.h):
 * the core, the storage drivers when the PC uses a local disk, then the
 * archive for the NIC iPXE booted from, which the server picks by the
 * NIC's bus ID (PCI vendor and device; an unknown one gets every NIC
 * driver).
 */
static void initrd_plan(struct initrd_plan *pl, const struct boot_text *t,
			const struct link_info *link)
{
	const char *slash = strrchr(t->initrd, '/');
	int dir = slash ? (int)(slash - t->initrd) : 0;

	pl->n = 0;
	if (!link->split_initrd) {
		plan_add(pl, "initrd.img", "", 0, t->initrd);
		return;
	}
	plan_add(pl, "initrd.img", t->initrd, dir, INITRAMFS_CORE);
	if (link_uses_local_disk(link))
		plan_add(pl, "storage.img", t->initrd, dir, INITRAMFS_STORAGE);
	plan_add(pl, "nic.img", t->initrd, dir, "nic.img?busid=${busid:hexraw}");
}

/*
 * The boot itself. The kernel command line follows include/lb_cmdline.h;
 * gw/dns are added only when iPXE has them (isset), so the agent never
 * sees an empty "linkboot.gw=". Every step names itself in lb-step so the
 * failure screen says what failed.
 */
static void script_boot(struct sbuf *sb, const char *mac,
			const struct link_info *link,
			const struct bootscript_params *p)
{
	struct initrd_plan plan;
	struct boot_text t;
	unsigned i;

	boot_text_fill(&t, link, p->ticket);
	sb_printf(sb, "echo linkboot: %s (%s) boots image %s version %u\n",
		  t.name[0] ? t.name : "client", mac, t.image, link->version);
	sb_printf(sb,
		  "set lb-args linkboot.server=%s:%u linkboot.http=http://%s:%u "
		  "linkboot.ticket=%s linkboot.mac=${mac} linkboot.ip=${ip} "
		  "linkboot.netmask=${netmask}\n",
		  p->server, p->nbd_port, p->server, p->http_port, t.ticket);
	sb_printf(sb,
		  "isset ${gateway} && set lb-args ${lb-args} "
		  "linkboot.gw=${gateway} ||\n"
		  "isset ${dns} && set lb-args ${lb-args} linkboot.dns=${dns} ||\n");
	sb_printf(sb, "set lb-args ${lb-args}");
	boot_text_agent_args(sb, &t, link);
	sb_printf(sb, "\n");
	initrd_plan(&plan, &t, link);
	sb_printf(sb,
		  "set lb-step kernel http://%s:%u/%s\n"
		  "kernel http://%s:%u/%s",
		  p->server, p->http_port, t.kernel,
		  p->server, p->http_port, t.kernel);
	/* EFI stub: each initrd=NAME names an initrd image */
	for (i = 0; i < plan.n; i++)
		sb_printf(sb, " initrd=%s", plan.e[i].name);
	sb_printf(sb, " ${lb-args}%s%s || goto failed\n",
		  t.extra[0] ? " " : "", t.extra);
	for (i = 0; i < plan.n; i++)
		sb_printf(sb,
			  "set lb-step initrd http://%s:%u/%s\n"
			  "initrd --name %s http://%s:%u/%s || goto failed\n",
			  p->server, p->http_port, plan.e[i].url,
			  plan.e[i].name, p->server, p->http_port,
			  plan.e[i].url);
	sb_printf(sb, "set lb-step boot\nboot || goto failed\n");
	sb_printf(sb,
		  ":failed\n"
		  "echo linkboot: ${lb-step} failed (the reason is above).\n"
		  "echo linkboot: boot server %s, HTTP port %u, retrying in 10 "
		  "seconds...\n"
		  "sleep 10\n"
		  "chain --replace --autofree http://%s:%u/boot.ipxe?mac=%s || "
		  "goto failed\n",
		  p->server, p->http_port, p->server, p->http_port, mac);
}

void bootscript_san_iqns(const uint8_t mac[6], char initiator[BOOTSCRIPT_IQN_MAX],
			 char target[BOOTSCRIPT_IQN_MAX])
{
	char hex[13];

	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	snprintf(initiator, BOOTSCRIPT_IQN_MAX, ISCSI_IQN_INITIATOR "%s", hex);
	snprintf(target, BOOTSCRIPT_IQN_MAX, ISCSI_IQN_PC "%s", hex);
}

/*
 * The super client of a SAN image can install its OS: the disk is hooked
 * as drive 0x80 (with its iBFT) and <root>/install/IMAGE.ipxe, when the
 * admin put one there (a Windows installer through wimboot, say), runs
 * with it; without one, the hooked disk boots. ipxe.org/cmd/sanhook,
 * ipxe.org/cmd/sanboot (no URI: boot a drive hooked before).
 */
static void script_san_install(struct sbuf *sb, const char *image,
			       const char *tgt,
			       const struct bootscript_params *p)
{
	sb_printf(sb,
		  "set lb-step sanhook iscsi:%s:6:%u:0:%s\n"
		  "sanhook --drive 0x80 iscsi:%s:6:%u:0:%s || goto failed\n"
		  "echo linkboot: super client: running /install/%s.ipxe with "
		  "the disk hooked, if there is one\n"
		  "chain --autofree http://%s:%u/install/%s.ipxe ||\n"
		  "set lb-step sanboot --drive 0x80\n"
		  "sanboot --drive 0x80 || goto failed\n",
		  p->server, p->iscsi_port, tgt, p->server, p->iscsi_port, tgt,
		  image, p->server, p->http_port, image);
}

/*
 * A SAN boot: iPXE logs in to the PC's own target with the boot's CHAP
 * credentials and boots from the disk (BIOS: INT 13h; UEFI: a block I/O
 * device and \EFI\BOOT\BOOTX64.EFI), leaving an iBFT with the same names
 * and credentials for the OS's own initiator. iPXE's URI:
 * iscsi:<server>:<protocol>:<port>:<LUN>:<target> (6 = TCP).
 */
static void script_sanboot(struct sbuf *sb, const char *mac,
			   const uint8_t macb[6], const struct link_info *link,
			   const struct bootscript_params *p)
{
	char name[sizeof(link->name)], image[sizeof(link->image)];
	char user[SAN_USER_LEN + 1], secret[SAN_SECRET_LEN + 1];
	char ini[BOOTSCRIPT_IQN_MAX], tgt[BOOTSCRIPT_IQN_MAX];

	script_filter(name, sizeof(name), link->name, 0);
	script_filter(image, sizeof(image), link->image, 0);
	script_filter(user, sizeof(user), p->san_user, 0);
	script_filter(secret, sizeof(secret), p->san_secret, 0);
	bootscript_san_iqns(macb, ini, tgt);
	sb_printf(sb, "echo linkboot: %s (%s) boots image %s version %u from "
		  "its iSCSI disk\n", name[0] ? name : "client", mac, image,
		  link->version);
	sb_printf(sb,
		  "set initiator-iqn %s\n"
		  "set username %s\n"
		  "set password %s\n",
		  ini, user, secret);
	if (link->write_mode == WRITE_SUPER)
		script_san_install(sb, image, tgt, p);
	else
		sb_printf(sb,
			  "set lb-step sanboot iscsi:%s:6:%u:0:%s\n"
			  "sanboot iscsi:%s:6:%u:0:%s || goto failed\n",
			  p->server, p->iscsi_port, tgt, p->server,
			  p->iscsi_port, tgt);
	sb_printf(sb,
		  ":failed\n"
		  "echo linkboot: ${lb-step} failed (the reason is above).\n"
		  "echo linkboot: boot server %s, iSCSI port %u, retrying in 10 "
		  "seconds...\n"
		  "sleep 10\n"
		  "chain --replace --autofree http://%s:%u/boot.ipxe?mac=%s || "
		  "goto failed\n",
		  p->server, p->iscsi_port, p->server, p->http_port, mac);
}

/*
 * The menu: an item per entry, the default taken after the timeout (or
 * on Esc), then this script again for the entry picked, which the server
 * records (bootmenu.c). iPXE's choose: --timeout in ms.
 */
static void script_menu(struct sbuf *sb, const char *mac,
			const struct link_info *link,
			const struct bootscript_params *p)
{
	const struct bootmenu *m = p->menu;
	char name[sizeof(link->name)];

	script_filter(name, sizeof(name), link->name, 0);
	sb_printf(sb, "menu linkboot: %s (%s)\n", name[0] ? name : "PC", mac);
	for (int i = 0; i < m->n; i++) {
		char label[sizeof(m->label[0])];

		script_filter(label, sizeof(label), m->label[i], 1);
		sb_printf(sb, "item %d %s\n", i + 1, label);
	}
	sb_printf(sb,
		  "choose --default %d --timeout %u lb-entry || "
		  "set lb-entry %d\n"
		  "echo linkboot: entry ${lb-entry}\n"
		  ":retry\n"
		  "chain --replace --autofree http://%s:%u/boot.ipxe?mac=%s"
		  "&entry=${lb-entry} || goto failed\n"
		  "exit\n"
		  ":failed\n"
		  "echo linkboot: the boot server did not answer; retrying in "
		  "5 seconds...\n"
		  "sleep 5\n"
		  "goto retry\n",
		  m->def, m->timeout * 1000, m->def, p->server, p->http_port,
		  mac);
}

/* Entry 'local': the firmware's next boot device (the PC's own disk). */
static void script_local(struct sbuf *sb, const char *mac)
{
	sb_printf(sb, "echo linkboot: %s boots from its own disk (menu entry "
		  "local)\n"
		  "exit\n", mac);
}

int bootscript_build(char *out, size_t outsz, const uint8_t mac[6],
		     int lookup_rc, const struct link_info *link,
		     const struct bootscript_params *p)
{
	struct sbuf sb = { .p = out, .size = outsz };
	char macs[18];

	if (outsz == 0)
		return -ENOSPC;
	out[0] = '\0';
	mac_format(mac, macs);
	script_header(&sb, macs);
	if (lookup_rc == -ENOENT)
		script_unknown(&sb, macs, p);
	else if (lookup_rc != 0 || !link)
		script_db_error(&sb, macs, lookup_rc ? lookup_rc : -ENODEV, p);
	else if (link->image_missing)
		script_image_missing(&sb, macs, link, p);
	else if (p->menu)
		script_menu(&sb, macs, link, p);
	else if (p->local)
		script_local(&sb, macs);
	else if (link->boot_mode == BOOT_SAN && p->san_user && p->san_user[0])
		script_sanboot(&sb, macs, mac, link, p);
	else if (link->boot_mode == BOOT_SAN || !p->ticket || !p->ticket[0])
		script_unverified(&sb, macs, p);
	else if (!link->kernel[0] || !link->initrd[0])
		script_no_kernel(&sb, macs, link, p);
	else
		script_boot(&sb, macs, link, p);
	return sb_done(&sb);
}

int bootscript_bad_mac(char *out, size_t outsz,
		       const struct bootscript_params *p)
{
	struct sbuf sb = { .p = out, .size = outsz };

	if (outsz == 0)
		return -ENOSPC;
	sb_printf(&sb,
		  "#!ipxe\n"
		  "echo linkboot: bad request: /boot.ipxe needs ?mac=MAC "
		  "(e.g. mac=${mac}): missing or not a MAC address\n"
		  "echo linkboot: boot server %s, HTTP port %u\n",
		  p->server, p->http_port);
	return sb_done(&sb);
}

const char *bootscript_kind(int lookup_rc, const struct link_info *link)
{
	if (lookup_rc == -ENOENT)
		return "unknown";
	if (lookup_rc != 0 || !link)
		return "db-error";
	if (link->image_missing)
		return "image-missing";
	if (link->boot_mode == BOOT_SAN)
		return "san";	/* or "unverified": the caller knows */
	if (!link->kernel[0] || !link->initrd[0])
		return "no-kernel";
	return "boot";	/* or "unverified": the caller knows the ticket */
}
