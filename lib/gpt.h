/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_GPT_H
#define LB_GPT_H

/*
 * A GPT with one partition over a whole blank disk (UEFI 2.10 §5.3), for
 * the agent's `linkboot.ssd=auto`: the cache partition it creates. Pure
 * build code: the caller writes the pieces at the offsets given.
 *
 *   LBA 0                    protective MBR (§5.2.3)
 *   LBA 1                    primary header
 *   LBA 2 ..                 partition entries (128 x 128 bytes)
 *   1 MiB .. end - entries   the partition (1 MiB aligned)
 *   end - 1 - entries ..     backup entries
 *   last LBA                 backup header
 */

#include <stddef.h>
#include <stdint.h>

#define GPT_ENTRIES 128
#define GPT_ENTRY_SIZE 128
#define GPT_ENTRIES_BYTES (GPT_ENTRIES * GPT_ENTRY_SIZE)
/* partition attributes: systemd's "do not automount" + "hidden"
 * (desktops do not offer to mount the cache) */
#define GPT_ATTR_NO_AUTO (1ull << 63)
#define GPT_ATTR_HIDDEN (1ull << 62)

struct gpt_layout {
	uint32_t sector;		/* logical sector size: 512 or 4096 */
	uint64_t nsectors;
	uint64_t part_first, part_last;	/* LBAs, inclusive */
	/* the pieces, each to be written at its byte offset */
	uint8_t mbr[512];		/* at 0 */
	uint8_t primary[4096];		/* header sector at 1 * sector */
	uint8_t backup[4096];		/* header sector at last LBA */
	uint8_t entries[GPT_ENTRIES_BYTES];
	uint64_t primary_entries_off, backup_entries_off, backup_off;
};

/*
 * Lay out a disk of `bytes` with one partition named `name` (ASCII,
 * <= 36 chars) of type type_guid, attributes attrs. guids: 32 random bytes
 * (disk GUID, partition GUID). 0, -EINVAL (sector size, name), -ENOSPC
 * (disk smaller than 2 MiB).
 */
int gpt_build_single(struct gpt_layout *g, uint64_t bytes, uint32_t sector,
		     const uint8_t type_guid[16], const char *name,
		     uint64_t attrs, const uint8_t guids[32]);

/* The Linux filesystem data type GUID, in on-disk (mixed-endian) order. */
extern const uint8_t gpt_type_linux_data[16];

#endif
