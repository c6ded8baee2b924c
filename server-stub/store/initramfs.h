/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_INITRAMFS_H
#define LB_INITRAMFS_H

#include <stdint.h>

#include "modules_dep.h"

/*
 * The client initramfs builder (contract between `linkboot initramfs`,
 * owned by the agent work, and `linkboot image add`/`commit`, which pair
 * each image version's kernel with a matching initramfs).
 *
 * Output: a gzip'ed newc cpio with /init = linkboot-agent (static), the
 * kernel modules it may need (nbd, overlay, ext4 + deps incl. crc32c,
 * xfs, every ethernet driver + firmware, nvme/ahci/sd_mod/usb-storage),
 * their modules.dep / modules.alias (so the agent loads the NIC driver the
 * PC has, from its modalias).
 */

struct initramfs_opts {
	const char *output;	/* file to write (atomically: tmp + rename) */
	const char *modules_root;	/* dir holding lib/modules/<kver>/ ("/"
					 * for the host) */
	const char *kver;	/* kernel version; NULL = the only/newest one */
	const char *agent;	/* linkboot-agent binary; NULL = default:
				 * next to /proc/self/exe, else
				 * /usr/local/lib/linkboot/linkboot-agent */
	int minimal;		/* only what this machine needs */
	const char *pci_ids;	/* with minimal: also the drivers of these
				 * PCI NICs, "VVVV:DDDD[,...]" (lspci -n) */
	int no_shell;		/* leave out busybox (the rescue shell) */
	int no_xfs;		/* the image has no XFS file system */
};

/* What was written. */
struct initramfs_result {
	char kver[128];
	unsigned modules;	/* kernel modules */
	unsigned firmware;	/* firmware files */
	uint64_t bytes;		/* the file */
	uint64_t bytes_in;	/* uncompressed */
};

/* 0 or -errno, after logging what failed and what to check; res (may be
 * NULL) says what was written. Prints nothing. */
int initramfs_build(const struct initramfs_opts *o,
		    struct initramfs_result *res);

/*
 * The same modules as initramfs_build() writes into one file, split so a
 * PC loads only what it needs (iPXE loads several initrds; the kernel
 * unpacks them in order: Documentation/driver-api/early-userspace/
 * buffer-format.rst). Into dir:
 *
 *   INITRAMFS_CORE       /init, the shell, nbd, overlay, ext4 (xfs), virtio
 *                        NIC; modules.dep/.alias/.softdep/.builtin
 *   INITRAMFS_STORAGE    SATA/NVMe/USB/virtio disk drivers: only for a PC
 *                        with local storage (an SSD cache, write mode disk)
 *   nic/NAME.img         NIC driver NAME, what it needs beyond the core,
 *                        its firmware
 *   nic/core.img         nothing more: for NICs the core drives
 *   INITRAMFS_ALL_NICS   every NIC driver (the PC's NIC is unknown)
 *   INITRAMFS_NIC_MAP    "alias pci:v...d... ARCHIVE" lines (the
 *                        modules.alias form) naming which nic/ archive
 *                        drives a PCI NIC; written last, so its presence
 *                        says the set is whole
 *
 * A part's index is INITRAMFS_PART_INDEX/PART.dep and .alias under
 * lib/modules/<kver>/, lines for its own modules only: the agent reads
 * them after modules.dep/.alias (agent/modules.c), so no part overwrites
 * another's.
 */
#define INITRAMFS_CORE		"initrd-core.img"
#define INITRAMFS_STORAGE	"initrd-storage.img"
#define INITRAMFS_ALL_NICS	"nic-all.img"
#define INITRAMFS_NIC_MAP	"nic.alias"
#define INITRAMFS_PART_INDEX	MODDB_PART_INDEX

struct initramfs_split_result {
	unsigned nics;		/* nic/NAME.img archives */
	uint64_t core_bytes, storage_bytes, all_nics_bytes;
};

/* 0 or -errno, as initramfs_build(). With o->output, that file is
 * written too: core, storage and all NICs as one initrd. */
int initramfs_build_split(const struct initramfs_opts *o, const char *dir,
			  struct initramfs_split_result *res);

#endif
