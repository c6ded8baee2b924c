/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A one-partition GPT for a blank disk (UEFI 2.10 §5.2.3, §5.3); gpt.h. */

#include <errno.h>
#include <string.h>

#include <zlib.h>

#include "gpt.h"
#include "lb_endian.h"

#define MIB (1024u * 1024)

/* 0FC63DAF-8483-4772-8E79-3D69D8477DE4, first three fields little-endian */
const uint8_t gpt_type_linux_data[16] = {
	0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
	0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4,
};

/* §5.2.3 protective MBR: one 0xEE partition over the disk (capped). */
static void build_mbr(struct gpt_layout *g)
{
	uint8_t *e = g->mbr + 446;
	uint64_t n = g->nsectors - 1;

	memset(g->mbr, 0, sizeof(g->mbr));
	e[1] = 0x00;
	e[2] = 0x02;	/* CHS of LBA 1 */
	e[4] = 0xee;
	e[5] = e[6] = e[7] = 0xff;
	put_le32(e + 8, 1);
	put_le32(e + 12, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
	g->mbr[510] = 0x55;
	g->mbr[511] = 0xaa;
}

/* §5.3.2 header; crc32 over the 92 bytes with its own crc field zero. */
static void build_header(uint8_t *h, uint64_t my, uint64_t alt,
			 uint64_t first_usable, uint64_t last_usable,
			 const uint8_t disk_guid[16], uint64_t entries_lba,
			 uint32_t entries_crc)
{
	memset(h, 0, 4096);
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x00010000);
	put_le32(h + 12, 92);
	put_le64(h + 24, my);
	put_le64(h + 32, alt);
	put_le64(h + 40, first_usable);
	put_le64(h + 48, last_usable);
	memcpy(h + 56, disk_guid, 16);
	put_le64(h + 72, entries_lba);
	put_le32(h + 80, GPT_ENTRIES);
	put_le32(h + 84, GPT_ENTRY_SIZE);
	put_le32(h + 88, entries_crc);
	put_le32(h + 16, (uint32_t)crc32(0L, h, 92));
}

int gpt_build_single(struct gpt_layout *g, uint64_t bytes, uint32_t sector,
		     const uint8_t type_guid[16], const char *name,
		     uint64_t attrs, const uint8_t guids[32])
{
	uint64_t entry_sectors, last, first_usable, last_usable, align;
	uint8_t guid[16];
	uint32_t crc;
	size_t i, nlen = strlen(name);

	if ((sector != 512 && sector != 4096) || nlen == 0 || nlen > 36)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->sector = sector;
	g->nsectors = bytes / sector;
	if (bytes < 2 * MIB + 2 * GPT_ENTRIES_BYTES + 2 * (uint64_t)sector)
		return -ENOSPC;
	entry_sectors = GPT_ENTRIES_BYTES / sector;
	last = g->nsectors - 1;
	first_usable = 2 + entry_sectors;
	last_usable = last - 1 - entry_sectors;
	/* the partition: 1 MiB aligned at both ends */
	align = MIB / sector;
	g->part_first = align;
	g->part_last = (last_usable + 1) / align * align - 1;
	if (g->part_last <= g->part_first)
		return -ENOSPC;

	/* §5.3.3 the one entry */
	memcpy(g->entries, type_guid, 16);
	memcpy(guid, guids + 16, 16);
	guid[7] = (uint8_t)((guid[7] & 0x0f) | 0x40);	/* v4, mixed-endian */
	guid[8] = (uint8_t)((guid[8] & 0x3f) | 0x80);
	memcpy(g->entries + 16, guid, 16);
	put_le64(g->entries + 32, g->part_first);
	put_le64(g->entries + 40, g->part_last);
	put_le64(g->entries + 48, attrs);
	for (i = 0; i < nlen; i++)	/* UTF-16LE */
		g->entries[56 + 2 * i] = (uint8_t)name[i];
	crc = (uint32_t)crc32(0L, g->entries, GPT_ENTRIES_BYTES);

	memcpy(guid, guids, 16);
	guid[7] = (uint8_t)((guid[7] & 0x0f) | 0x40);
	guid[8] = (uint8_t)((guid[8] & 0x3f) | 0x80);
	build_mbr(g);
	build_header(g->primary, 1, last, first_usable, last_usable, guid, 2,
		     crc);
	build_header(g->backup, last, 1, first_usable, last_usable, guid,
		     last - entry_sectors, crc);
	g->primary_entries_off = 2ull * sector;
	g->backup_entries_off = (last - entry_sectors) * sector;
	g->backup_off = last * sector;
	return 0;
}
