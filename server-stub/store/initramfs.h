/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_INITRAMFS_H
#define LB_INITRAMFS_H

#include <stdint.h>

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

#endif
