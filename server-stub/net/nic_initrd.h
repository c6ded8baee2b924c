/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_NIC_INITRD_H
#define LB_NIC_INITRD_H

/*
 * GET /boot/<id>/v<N>/nic.img?busid=HEX: the archive of a version's
 * per-NIC initramfs (store/initramfs.h) that drives the PC's NIC. The boot
 * script (bootscript.c) asks for it with iPXE's ${busid:hexraw}: bus
 * type, vendor, device, 5 bytes (iPXE's netdev setting "busid", struct
 * device_description; type 1 is PCI). A NIC the version has no archive
 * for, or a busid that is missing or not PCI, gets every NIC driver.
 */

#include <stddef.h>

#include "server.h"

/* Is path (decoded, "/boot/.../nic.img") such a request? */
int nic_initrd_is(const char *path, size_t len);

/*
 * The served path of the archive for busid (may be "" or garbage) into
 * out ("/boot/<id>/v<N>/nic/NAME.img" or ".../nic-all.img"); pick names
 * the archive for the log ("e1000e", "core", "all"). 0, or -errno when
 * the version has no per-NIC set (its map cannot be read).
 */
int nic_initrd_pick(const struct lb_server *srv, const char *path,
		    size_t len, const char *busid, char *out, size_t outsz,
		    char *pick, size_t picksz);

#endif
