/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_GRUBCFG_H
#define LB_GRUBCFG_H

/*
 * The GRUB configuration of the Secure Boot chain (README "Secure Boot"):
 * firmware -> shimx64.efi -> grubx64.efi (Debian's signed grubnetx64) ->
 * the image's own signed kernel + linkboot's initramfs.
 *
 * Debian's grubnetx64.efi.signed has the prefix "/grub" built in and a
 * memdisk grub.cfg that sources $prefix/x86_64-efi/grub.cfg if it exists,
 * else $prefix/grub.cfg; booted from the network its $prefix is
 * "(tftp,SERVER)/grub" (or http). It takes no per-MAC name by itself (its
 * `normal` is given the memdisk file, so GRUB's net_search_cfg does not
 * run), so:
 *
 *   grub/grub.cfg            the same for every PC (grubcfg_stub()): sources
 *                            grub/grub.cfg-$net_default_mac, and again
 *                            every 5 s while that returns (a screen)
 *   grub/grub.cfg-MAC        the PC's own (grubcfg_build()): the same link
 *   grub/grub.cfg-01-MAC     decisions and screens as boot.ipxe
 *                            (bootscript.c), ticket included; the 01- form
 *                            is GRUB's own net_search name (grub-mknetdir
 *                            builds), MAC with ':' or '-'
 *
 * Served over TFTP and HTTP, generated per request: nothing is on disk.
 * Values from the DB go through script_filter(); the MAC is re-formatted
 * from its parsed bytes.
 */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "bootscript.h"
#include "server.h"

enum grubcfg_name {
	GRUBCFG_NONE,		/* not a GRUB config name: a plain file */
	GRUBCFG_STUB,		/* grub/grub.cfg */
	GRUBCFG_PC,		/* grub/grub.cfg-MAC: *mac filled */
	GRUBCFG_BAD_MAC,	/* grub/grub.cfg-<not a MAC> */
	GRUBCFG_PC_MENU,	/* grub/grub.cfg-MAC.menu: its boot menu */
	GRUBCFG_PC_ENTRY,	/* grub/grub.cfg-MAC.eN: its menu's entry N */
};

/* What the sanitised served path rel names (lib/path.c path_sanitize). */
enum grubcfg_name grubcfg_name(const char *rel, uint8_t mac[6]);
/* The N of a GRUBCFG_PC_ENTRY name (1..LINK_MENU_MAX), else 0. */
unsigned grubcfg_entry(const char *rel);

/* Does the client's path (not yet sanitised) name a GRUB config? A cheap
 * test before a buffer is set aside for grubcfg_answer(). */
int grubcfg_is_name(const char *path, size_t len);

/* grub/grub.cfg. Returns the length, or -ENOSPC. */
int grubcfg_stub(char *out, size_t outsz);

/*
 * grub/grub.cfg-MAC for lookup_rc/link as db_link_lookup() returned them
 * (as bootscript_build()): the boot with p->ticket, or the screen that
 * says why not (unknown MAC: the exact `linkboot client add` command).
 * A SAN image cannot boot through GRUB: its screen says so. Returns the
 * length, or -ENOSPC.
 */
int grubcfg_build(char *out, size_t outsz, const uint8_t mac[6],
		  int lookup_rc, const struct link_info *link,
		  const struct bootscript_params *p);

/* A short word for logs: "stub", "boot", "unknown", ... */
const char *grubcfg_kind(int lookup_rc, const struct link_info *link);

/*
 * TFTP and HTTP: if path names a GRUB config, generate it for the client
 * at peer (DB lookup; a boot ticket only when boot_auth recognises peer
 * as the MAC, boot_auth.h) into out and return its length; *kind says
 * which for the log line. -ENOENT when path is no GRUB config name (serve
 * a file), -ENOSPC if out is too small.
 */
int grubcfg_answer(const struct lb_server *srv, const char *path,
		   size_t len, struct in_addr peer, char *out, size_t outsz,
		   const char **kind);

#endif
