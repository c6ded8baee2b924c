/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SCSI_CDB_H
#define LB_SCSI_CDB_H

/*
 * SCSI commands of a direct-access block device, as a target answers them:
 * CDB decoding (SBC-3, SPC-4) and the data a target returns (sense
 * data, INQUIRY and VPD pages,
 * READ CAPACITY, MODE SENSE, REPORT LUNS) and the UNMAP parameter list
 * (SBC-3). Pure code: no I/O, no allocation. Used by
 * server-stub/iscsi.c; transport-neutral. Field positions follow the
 * T10 drafts of SPC-4 and SBC-3; comments name the command, page or
 * field rather than section numbers, which move between revisions.
 *
 * Errors are sense codes: SCSI_SENSE(key, asc, ascq), e.g.
 * SCSI_ERR_INVALID_FIELD_CDB, for the CHECK CONDITION the command ends
 * with. Builders write into buf (bufsz bytes) and return the full length
 * of the data (callers send min(length, allocation length)); -ENOSPC when
 * bufsz is short.
 */

#include <stddef.h>
#include <stdint.h>

/* SAM-5 status codes */
#define SCSI_STATUS_GOOD		0x00
#define SCSI_STATUS_CHECK_CONDITION	0x02
#define SCSI_STATUS_BUSY		0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL	0x28
#define SCSI_STATUS_TASK_ABORTED	0x40

/* operation codes (SPC-4 operation code list, SBC-3 commands) */
#define SCSI_TEST_UNIT_READY		0x00
#define SCSI_REQUEST_SENSE		0x03
#define SCSI_READ_6			0x08
#define SCSI_WRITE_6			0x0a
#define SCSI_INQUIRY			0x12
#define SCSI_MODE_SELECT_6		0x15
#define SCSI_MODE_SENSE_6		0x1a
#define SCSI_START_STOP_UNIT		0x1b
#define SCSI_PREVENT_ALLOW		0x1e
#define SCSI_READ_CAPACITY_10		0x25
#define SCSI_READ_10			0x28
#define SCSI_WRITE_10			0x2a
#define SCSI_WRITE_VERIFY_10		0x2e
#define SCSI_VERIFY_10			0x2f
#define SCSI_SYNCHRONIZE_CACHE_10	0x35
#define SCSI_WRITE_SAME_10		0x41
#define SCSI_UNMAP			0x42
#define SCSI_MODE_SENSE_10		0x5a
#define SCSI_READ_16			0x88
#define SCSI_WRITE_16			0x8a
#define SCSI_WRITE_VERIFY_16		0x8e
#define SCSI_VERIFY_16			0x8f
#define SCSI_SYNCHRONIZE_CACHE_16	0x91
#define SCSI_WRITE_SAME_16		0x93
#define SCSI_SERVICE_ACTION_IN_16	0x9e
#define SCSI_REPORT_LUNS		0xa0
#define SCSI_MAINTENANCE_IN		0xa3
#define SCSI_READ_12			0xa8
#define SCSI_WRITE_12			0xaa
#define SCSI_WRITE_VERIFY_12		0xae
#define SCSI_VERIFY_12			0xaf
/* SERVICE ACTION IN(16) service actions (SBC-3) */
#define SCSI_SAI_READ_CAPACITY_16	0x10
#define SCSI_SAI_GET_LBA_STATUS		0x12
/* MAINTENANCE IN service action (SPC-4) */
#define SCSI_MI_REPORT_SUPPORTED_OPCODES 0x0c

/* sense keys (SPC-4) */
#define SCSI_KEY_NO_SENSE		0x0
#define SCSI_KEY_NOT_READY		0x2
#define SCSI_KEY_MEDIUM_ERROR		0x3
#define SCSI_KEY_HARDWARE_ERROR		0x4
#define SCSI_KEY_ILLEGAL_REQUEST	0x5
#define SCSI_KEY_UNIT_ATTENTION		0x6
#define SCSI_KEY_DATA_PROTECT		0x7
#define SCSI_KEY_ABORTED_COMMAND	0xb

#define SCSI_SENSE(key, asc, ascq) \
	((uint32_t)(key) << 16 | (uint32_t)(asc) << 8 | (uint32_t)(ascq))
#define SCSI_SENSE_KEY(s)	((uint8_t)((s) >> 16))
#define SCSI_SENSE_ASC(s)	((uint8_t)((s) >> 8))
#define SCSI_SENSE_ASCQ(s)	((uint8_t)(s))

/* additional sense codes we answer with (SPC-4 Annex D.2) */
#define SCSI_ERR_NONE			0
#define SCSI_ERR_INVALID_OPCODE		SCSI_SENSE(0x5, 0x20, 0x00)
#define SCSI_ERR_LBA_OUT_OF_RANGE	SCSI_SENSE(0x5, 0x21, 0x00)
#define SCSI_ERR_INVALID_FIELD_CDB	SCSI_SENSE(0x5, 0x24, 0x00)
#define SCSI_ERR_LUN_NOT_SUPPORTED	SCSI_SENSE(0x5, 0x25, 0x00)
#define SCSI_ERR_INVALID_FIELD_PARAM	SCSI_SENSE(0x5, 0x26, 0x00)
#define SCSI_ERR_PARAM_LIST_LENGTH	SCSI_SENSE(0x5, 0x1a, 0x00)
#define SCSI_ERR_SAVING_NOT_SUPPORTED	SCSI_SENSE(0x5, 0x39, 0x00)
#define SCSI_ERR_WRITE_PROTECTED	SCSI_SENSE(0x7, 0x27, 0x00)
#define SCSI_ERR_SPACE_ALLOC_FAILED	SCSI_SENSE(0x7, 0x27, 0x07)
#define SCSI_ERR_READ_ERROR		SCSI_SENSE(0x3, 0x11, 0x00)
#define SCSI_ERR_WRITE_ERROR		SCSI_SENSE(0x3, 0x0c, 0x00)
#define SCSI_ERR_INTERNAL		SCSI_SENSE(0x4, 0x44, 0x00)
#define SCSI_ERR_COMMANDS_CLEARED	SCSI_SENSE(0x6, 0x2f, 0x00)
#define SCSI_ERR_OVERLAPPED_COMMANDS	SCSI_SENSE(0xb, 0x4e, 0x00)

/* sense data sizes */
#define SCSI_SENSE_FIXED_SIZE		18
#define SCSI_SENSE_MAX			32

/* What a CDB asks for, decoded by position (SBC-3, SPC-4). */
enum scsi_kind {
	SCSI_KIND_OTHER,	/* no data (TUR, START STOP UNIT...) */
	SCSI_KIND_READ,		/* data from the medium: lba, blocks */
	SCSI_KIND_WRITE,	/* data to the medium: lba, blocks */
	SCSI_KIND_VERIFY,	/* VERIFY: nothing to compare with BYTCHK 0 */
	SCSI_KIND_WRITE_SAME,	/* one block (or none, NDOB) repeated */
	SCSI_KIND_UNMAP,	/* parameter list in */
	SCSI_KIND_SYNC,		/* SYNCHRONIZE CACHE */
	SCSI_KIND_DATA_IN,	/* returns data built here (INQUIRY...) */
};

struct scsi_cdb {
	uint8_t opcode;
	uint8_t service_action;	/* 0x9e */
	int kind;		/* enum scsi_kind */
	unsigned len;		/* CDB length by its group code */
	uint64_t lba;
	uint32_t blocks;	/* transfer length / number of blocks */
	uint32_t alloc_len;	/* data-in commands */
	uint32_t param_len;	/* UNMAP, MODE SELECT */
	uint8_t fua, dpo;
	uint8_t protect;	/* RDPROTECT / WRPROTECT / VRPROTECT */
	uint8_t bytchk;		/* VERIFY, WRITE AND VERIFY */
	uint8_t evpd, page_code, subpage, pc, dbd, llbaa;
	uint8_t unmap, anchor, ndob, immed, desc, pmi;
	uint8_t select_report;	/* REPORT LUNS */
	uint8_t rctd, options;	/* REPORT SUPPORTED OPERATION CODES */
	uint8_t req_opcode;
	uint16_t req_sa;
	uint8_t bad_byte;	/* INVALID FIELD IN CDB: the field (SPC-4
				 * field pointer) */
};

/*
 * Decode cdb (16 bytes; shorter CDBs are read from the front). Returns
 * SCSI_ERR_NONE, or a sense code: SCSI_ERR_INVALID_OPCODE for a command
 * this block device does not have, SCSI_ERR_INVALID_FIELD_CDB for a field
 * it cannot honour (protection information asked for, reserved bits
 * initiators rely on being checked, page code without EVPD...), with
 * c->bad_byte set.
 */
uint32_t scsi_cdb_parse(const uint8_t *cdb, struct scsi_cdb *c);

/* Is [lba, lba + blocks) inside a disk of nblocks? (no overflow) */
int scsi_lba_ok(uint64_t lba, uint64_t blocks, uint64_t nblocks);

/* The logical unit a target describes. */
struct scsi_lu {
	uint64_t nblocks;
	uint32_t block_size;		/* 512 */
	uint8_t phys_exp;		/* log2(logical blocks per physical) */
	int read_only;
	int thin;			/* UNMAP / WRITE SAME UNMAP supported
					 * (LBPME, VPD 0xb2) */
	int write_cache;		/* WCE in the caching mode page */
	const char *vendor;		/* 8 chars (padded with spaces) */
	const char *product;		/* 16 */
	const char *revision;		/* 4 */
	const char *serial;		/* VPD 0x80, <= 64 chars */
	uint64_t naa;			/* VPD 0x83 NAA 3 (locally assigned),
					 * low 60 bits used */
	const char *target_name;	/* VPD 0x83 SCSI name string, or NULL */
	uint16_t rel_port;		/* relative target port id */
	uint32_t max_xfer_blocks;	/* VPD 0xb0 */
	uint32_t opt_xfer_blocks;
	uint32_t max_unmap_blocks;
	uint32_t max_unmap_desc;
	uint32_t unmap_granularity;
	uint64_t max_write_same_blocks;
};

/* Sense data for code: fixed format (SPC-4, response code 0x70)
 * or descriptor format (0x72). With field >= 0, a sense-key
 * specific field pointer to CDB byte field. Returns its
 * length. */
int scsi_build_sense(uint8_t *buf, size_t bufsz, uint32_t code,
		     int descriptor, int field);

/* SPC-4 standard INQUIRY data (96 bytes). */
int scsi_build_inquiry(uint8_t *buf, size_t bufsz, const struct scsi_lu *lu);
/* SPC-4 / SBC-3 VPD page; -ENOENT for a page we do not have. */
int scsi_build_vpd(uint8_t *buf, size_t bufsz, uint8_t page,
		   const struct scsi_lu *lu);
/* SBC-3 READ CAPACITY(10) data (8 bytes) / (16) (32 bytes). */
int scsi_build_read_capacity10(uint8_t *buf, size_t bufsz,
			       const struct scsi_lu *lu);
int scsi_build_read_capacity16(uint8_t *buf, size_t bufsz,
			       const struct scsi_lu *lu);
/* SBC-3 GET LBA STATUS from lba: one descriptor, "mapped" to the
 * end of the disk (24 bytes). Unmapped blocks read as zeroes anyway
 * (LBPRZ), so telling them apart is only an optimisation we skip. */
int scsi_build_lba_status(uint8_t *buf, size_t bufsz, uint64_t lba,
			  const struct scsi_lu *lu);
/* SPC-4 MODE SENSE(6)/(10) for c: pages 0x08 (caching), 0x0a
 * (control), 0x3f (all). Returns the length, or a negative value with
 * *err set (unknown page, saved values asked). */
int scsi_build_mode_sense(uint8_t *buf, size_t bufsz, const struct scsi_cdb *c,
			  const struct scsi_lu *lu, uint32_t *err);
/* SPC-4 REPORT SUPPORTED OPERATION CODES for c (the commands
 * scsi_cdb_parse() accepts, with their CDB usage data). Returns the
 * length, or a negative value with *err set. */
int scsi_build_supported_opcodes(uint8_t *buf, size_t bufsz,
				 const struct scsi_cdb *c, uint32_t *err);
/* SPC-4 REPORT LUNS: the LUNs whose bits are set in luns (bit N = LUN N,
 * N < 32), in SAM-5 peripheral device addressing. */
int scsi_build_report_luns(uint8_t *buf, size_t bufsz, uint32_t luns);
/* A LUN field (iSCSI BHS bytes 8-15) in SAM-5 4.7 single level
 * peripheral device addressing: its LUN 0..255, or -1 for any other
 * form (another address method, a hierarchical LUN). */
int scsi_lun_decode(uint64_t field);
/* LUN n as such a field. */
uint64_t scsi_lun_encode(unsigned n);

/*
 * SBC-3 UNMAP parameter list (p, len bytes received): checks it
 * against the disk and the limits we advertised in VPD 0xb0. Returns
 * SCSI_ERR_NONE with *ndesc descriptors to apply (scsi_unmap_desc()),
 * or the sense code: PARAMETER LIST LENGTH ERROR for a list shorter than
 * its header or than its descriptors claim, INVALID FIELD IN PARAMETER
 * LIST over the limits, LBA OUT OF RANGE past the end of the disk.
 */
uint32_t scsi_unmap_check(const uint8_t *p, size_t len,
			  const struct scsi_lu *lu, uint32_t *ndesc);
void scsi_unmap_desc(const uint8_t *p, uint32_t i, uint64_t *lba,
		     uint32_t *blocks);

const char *scsi_opcode_name(uint8_t opcode);

#endif
