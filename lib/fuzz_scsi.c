/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for lib/scsi_cdb.c: the first 16 bytes are a CDB as an
 * initiator sends it, decoded and answered the way server-stub/iscsi.c
 * does (sense with the field pointer, INQUIRY/VPD, MODE SENSE, READ
 * CAPACITY); the rest is an UNMAP parameter list, checked against a small
 * disk and then walked descriptor by descriptor.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scsi_cdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct scsi_lu lu = {
		.nblocks = 2048, .block_size = 512, .phys_exp = 3, .thin = 1,
		.vendor = "LINKBOOT", .product = "fuzz", .revision = "1",
		.serial = "00ff", .naa = 1, .target_name = "iqn.x:y",
		.rel_port = 1, .max_xfer_blocks = 16384,
		.max_unmap_blocks = 1024, .max_unmap_desc = 8,
		.max_write_same_blocks = 16384,
	};
	uint8_t cdb[16] = { 0 }, out[1024];
	struct scsi_cdb c;
	uint32_t err, n, i, blocks;
	uint64_t lba;

	memcpy(cdb, data, size < 16 ? size : 16);
	err = scsi_cdb_parse(cdb, &c);
	(void)scsi_build_sense(out, sizeof(out), err, c.desc,
			       err == SCSI_ERR_INVALID_FIELD_CDB ? c.bad_byte
								 : -1);
	(void)scsi_opcode_name(c.opcode);
	(void)scsi_lba_ok(c.lba, c.blocks, lu.nblocks);
	if (err == SCSI_ERR_NONE && c.kind == SCSI_KIND_DATA_IN) {
		if (c.opcode == 0x12 && c.evpd)
			(void)scsi_build_vpd(out, sizeof(out), c.page_code, &lu);
		else if (c.opcode == 0x1a || c.opcode == 0x5a)
			(void)scsi_build_mode_sense(out, sizeof(out), &c, &lu,
						    &err);
		else
			(void)scsi_build_inquiry(out, sizeof(out), &lu);
	}
	if (size > 16 &&
	    scsi_unmap_check(data + 16, size - 16, &lu, &n) == SCSI_ERR_NONE)
		for (i = 0; i < n; i++)
			scsi_unmap_desc(data + 16, i, &lba, &blocks);
	return 0;
}
