/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SCSI block commands, target side: CDBs in, data out; see scsi_cdb.h. */

#include <errno.h>
#include <string.h>

#include "scsi_cdb.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* Copy s into an n-byte field padded with spaces (SPC-4 ASCII). */
static void put_ascii(uint8_t *p, const char *s, size_t n)
{
	size_t l = s ? strlen(s) : 0;

	memset(p, ' ', n);
	memcpy(p, s, l < n ? l : n);
}

int scsi_lba_ok(uint64_t lba, uint64_t blocks, uint64_t nblocks)
{
	return lba <= nblocks && blocks <= nblocks - lba;
}

/* ---- CDB decoding ---- */

static uint32_t bad_field(struct scsi_cdb *c, unsigned byte)
{
	c->bad_byte = (uint8_t)byte;
	return SCSI_ERR_INVALID_FIELD_CDB;
}

/* READ/WRITE/VERIFY (10)(12)(16): byte 1 is xxPROTECT(7-5) DPO(4)
 * FUA(3) (SBC-3). */
static uint32_t parse_rw(const uint8_t *cdb, struct scsi_cdb *c, int kind)
{
	c->kind = kind;
	c->protect = cdb[1] >> 5;
	c->dpo = (cdb[1] >> 4) & 1;
	c->fua = (cdb[1] >> 3) & 1;
	c->bytchk = (cdb[1] >> 1) & 3;
	switch (c->len) {
	case 10:
		c->lba = get32(cdb + 2);
		c->blocks = get16(cdb + 7);
		break;
	case 12:
		c->lba = get32(cdb + 2);
		c->blocks = get32(cdb + 6);
		break;
	default:
		c->lba = get64(cdb + 2);
		c->blocks = get32(cdb + 10);
		break;
	}
	/* SBC-3: no protection information here, so a non-zero
	 * xxPROTECT is an invalid field */
	if (c->protect)
		return bad_field(c, 1);
	/* VERIFY with BYTCHK compares against data-out: not offered */
	if (kind == SCSI_KIND_VERIFY && c->bytchk)
		return bad_field(c, 1);
	return SCSI_ERR_NONE;
}

static unsigned cdb_length(uint8_t opcode)
{
	/* SPC-4: the group code (bits 7-5) gives the length */
	switch (opcode >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	default:
		return 16;
	}
}

static uint32_t parse_write_same(const uint8_t *cdb, struct scsi_cdb *c)
{
	c->kind = SCSI_KIND_WRITE_SAME;
	c->protect = cdb[1] >> 5;
	c->anchor = (cdb[1] >> 4) & 1;
	c->unmap = (cdb[1] >> 3) & 1;
	if (c->len == 10) {
		c->lba = get32(cdb + 2);
		c->blocks = get16(cdb + 7);
	} else {
		c->ndob = cdb[1] & 1;	/* SBC-4: no data-out buffer */
		c->lba = get64(cdb + 2);
		c->blocks = get32(cdb + 10);
	}
	/* SBC-3: ANCHOR needs ANC_SUP (we have none) */
	if (c->protect || c->anchor)
		return bad_field(c, 1);
	return SCSI_ERR_NONE;
}

static uint32_t parse_data_in(const uint8_t *cdb, struct scsi_cdb *c)
{
	c->kind = SCSI_KIND_DATA_IN;
	switch (c->opcode) {
	case SCSI_INQUIRY:	/* SPC-4 */
		c->evpd = cdb[1] & 1;
		c->page_code = cdb[2];
		c->alloc_len = get16(cdb + 3);
		if (cdb[1] & 0x02)	/* CMDDT (obsolete): SPC-4 says check */
			return bad_field(c, 1);
		if (!c->evpd && c->page_code)
			return bad_field(c, 2);
		return SCSI_ERR_NONE;
	case SCSI_MODE_SENSE_6:	/* SPC-4 */
	case SCSI_MODE_SENSE_10:
		c->dbd = (cdb[1] >> 3) & 1;
		c->pc = cdb[2] >> 6;
		c->page_code = cdb[2] & 0x3f;
		c->subpage = cdb[3];
		if (c->opcode == SCSI_MODE_SENSE_6) {
			c->alloc_len = cdb[4];
		} else {
			c->llbaa = (cdb[1] >> 4) & 1;
			c->alloc_len = get16(cdb + 7);
		}
		return SCSI_ERR_NONE;
	case SCSI_READ_CAPACITY_10:	/* SBC-3 */
		c->lba = get32(cdb + 2);
		c->pmi = cdb[8] & 1;
		c->alloc_len = 8;
		if (!c->pmi && c->lba)
			return bad_field(c, 2);
		return SCSI_ERR_NONE;
	case SCSI_SERVICE_ACTION_IN_16:
		c->service_action = cdb[1] & 0x1f;
		/* SBC-3 READ CAPACITY(16), GET LBA STATUS: LBA
		 * at 2, allocation length at 10 */
		c->lba = get64(cdb + 2);
		c->alloc_len = get32(cdb + 10);
		if (c->service_action == SCSI_SAI_GET_LBA_STATUS)
			return SCSI_ERR_NONE;
		if (c->service_action != SCSI_SAI_READ_CAPACITY_16)
			return bad_field(c, 1);
		c->pmi = cdb[14] & 1;
		if (!c->pmi && c->lba)
			return bad_field(c, 2);
		return SCSI_ERR_NONE;
	case SCSI_REPORT_LUNS:	/* SPC-4 */
		c->select_report = cdb[2];
		c->alloc_len = get32(cdb + 6);
		if (c->select_report > 2)
			return bad_field(c, 2);
		/* SPC-3: less than 16 is an invalid field */
		if (c->alloc_len < 16)
			return bad_field(c, 6);
		return SCSI_ERR_NONE;
	case SCSI_MAINTENANCE_IN:	/* SPC-4 */
		c->service_action = cdb[1] & 0x1f;
		if (c->service_action != SCSI_MI_REPORT_SUPPORTED_OPCODES)
			return bad_field(c, 1);
		c->rctd = cdb[2] >> 7;
		c->options = cdb[2] & 0x07;
		c->req_opcode = cdb[3];
		c->req_sa = get16(cdb + 4);
		c->alloc_len = get32(cdb + 6);
		if (c->options > 2)
			return bad_field(c, 2);
		return SCSI_ERR_NONE;
	case SCSI_REQUEST_SENSE:	/* SPC-4 */
		c->desc = cdb[1] & 1;
		c->alloc_len = cdb[4];
		return SCSI_ERR_NONE;
	}
	return SCSI_ERR_INVALID_OPCODE;
}

uint32_t scsi_cdb_parse(const uint8_t *cdb, struct scsi_cdb *c)
{
	memset(c, 0, sizeof(*c));
	c->opcode = cdb[0];
	c->len = cdb_length(cdb[0]);
	switch (c->opcode) {
	case SCSI_TEST_UNIT_READY:
	case SCSI_PREVENT_ALLOW:
		return SCSI_ERR_NONE;
	case SCSI_START_STOP_UNIT:	/* SBC-3 */
		c->immed = cdb[1] & 1;
		return SCSI_ERR_NONE;
	case SCSI_READ_10:
	case SCSI_READ_12:
	case SCSI_READ_16:
		return parse_rw(cdb, c, SCSI_KIND_READ);
	case SCSI_WRITE_10:
	case SCSI_WRITE_12:
	case SCSI_WRITE_16:
	case SCSI_WRITE_VERIFY_10:
	case SCSI_WRITE_VERIFY_12:
	case SCSI_WRITE_VERIFY_16:
		return parse_rw(cdb, c, SCSI_KIND_WRITE);
	case SCSI_VERIFY_10:
	case SCSI_VERIFY_12:
	case SCSI_VERIFY_16:
		return parse_rw(cdb, c, SCSI_KIND_VERIFY);
	case SCSI_WRITE_SAME_10:
	case SCSI_WRITE_SAME_16:
		return parse_write_same(cdb, c);
	case SCSI_UNMAP:	/* SBC-3 */
		c->kind = SCSI_KIND_UNMAP;
		c->anchor = cdb[1] & 1;
		c->param_len = get16(cdb + 7);
		if (c->anchor)
			return bad_field(c, 1);
		return SCSI_ERR_NONE;
	case SCSI_SYNCHRONIZE_CACHE_10:	/* SBC-3 */
	case SCSI_SYNCHRONIZE_CACHE_16:
		c->kind = SCSI_KIND_SYNC;
		c->immed = (cdb[1] >> 1) & 1;
		if (c->opcode == SCSI_SYNCHRONIZE_CACHE_10) {
			c->lba = get32(cdb + 2);
			c->blocks = get16(cdb + 7);
		} else {
			c->lba = get64(cdb + 2);
			c->blocks = get32(cdb + 10);
		}
		return SCSI_ERR_NONE;
	default:
		return parse_data_in(cdb, c);
	}
}

/* ---- sense data (SPC-4) ---- */

int scsi_build_sense(uint8_t *buf, size_t bufsz, uint32_t code,
		     int descriptor, int field)
{
	size_t n = descriptor ? 8 + (field >= 0 ? 8 : 0)
			      : SCSI_SENSE_FIXED_SIZE;
	uint8_t *sks;

	if (bufsz < n)
		return -ENOSPC;
	memset(buf, 0, n);
	if (descriptor) {
		/* 0x72 current, key, ASC, ASCQ, length at 7 */
		buf[0] = 0x72;
		buf[1] = SCSI_SENSE_KEY(code);
		buf[2] = SCSI_SENSE_ASC(code);
		buf[3] = SCSI_SENSE_ASCQ(code);
		buf[7] = (uint8_t)(n - 8);
		/* sense key specific descriptor, type 0x02 */
		if (field >= 0) {
			buf[8] = 0x02;
			buf[9] = 0x06;
			sks = buf + 12;
		} else {
			sks = NULL;
		}
	} else {
		/* 0x70 current, key at 2, additional length 10 */
		buf[0] = 0x70;
		buf[2] = SCSI_SENSE_KEY(code);
		buf[7] = SCSI_SENSE_FIXED_SIZE - 8;
		buf[12] = SCSI_SENSE_ASC(code);
		buf[13] = SCSI_SENSE_ASCQ(code);
		sks = field >= 0 ? buf + 15 : NULL;
	}
	/* SKSV, C/D = 1 (the error is in the CDB), field */
	if (sks) {
		sks[0] = 0x80 | 0x40;
		put16(sks + 1, (uint16_t)field);
	}
	return (int)n;
}

/* ---- INQUIRY (SPC-4) ---- */

#define INQUIRY_SIZE 96
/* a SCSI name string designator: an iSCSI name (223 bytes) with
 * ",t,0x0001", NUL-terminated and padded to 4 */
#define SCSI_NAME_PAD 256

int scsi_build_inquiry(uint8_t *buf, size_t bufsz, const struct scsi_lu *lu)
{
	/* version descriptors: SAM-5, iSCSI, SPC-4, SBC-3 */
	static const uint16_t versions[] = { 0x00a0, 0x0960, 0x0460, 0x04c0 };
	size_t i;

	if (bufsz < INQUIRY_SIZE)
		return -ENOSPC;
	memset(buf, 0, INQUIRY_SIZE);
	buf[0] = 0x00;		/* qualifier 0, direct access block device */
	buf[2] = 0x06;		/* VERSION: SPC-4 */
	buf[3] = 0x12;		/* HISUP, RESPONSE DATA FORMAT 2 */
	buf[4] = INQUIRY_SIZE - 5;
	buf[7] = 0x02;		/* CMDQUE: tagged commands */
	put_ascii(buf + 8, lu->vendor, 8);
	put_ascii(buf + 16, lu->product, 16);
	put_ascii(buf + 32, lu->revision, 4);
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		put16(buf + 58 + 2 * i, versions[i]);
	return INQUIRY_SIZE;
}

/* VPD page header (SPC-4): device type, page, length. */
static int vpd_start(uint8_t *buf, size_t bufsz, uint8_t page, size_t len)
{
	if (bufsz < 4 + len)
		return -ENOSPC;
	memset(buf, 0, 4 + len);
	buf[1] = page;
	put16(buf + 2, (uint16_t)len);
	return (int)(4 + len);
}

static const uint8_t vpd_pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };

/* One designation descriptor at p; returns its size. */
static size_t vpd_designator(uint8_t *p, uint8_t proto_codeset,
			     uint8_t piv_assoc_type, const void *id,
			     size_t len)
{
	p[0] = proto_codeset;
	p[1] = piv_assoc_type;
	p[2] = 0;
	p[3] = (uint8_t)len;
	memcpy(p + 4, id, len);
	return 4 + len;
}

/* Device Identification: the LU as NAA 3 and T10 vendor ID, the
 * target port by its relative number and (iSCSI) its SCSI name string,
 * the target device by its name. */
static int vpd_device_id(uint8_t *buf, size_t bufsz, const struct scsi_lu *lu)
{
	uint8_t tmp[8 + 64], *p = buf + 4, name[SCSI_NAME_PAD];
	size_t n, l, serial_len = lu->serial ? strlen(lu->serial) : 0;
	uint64_t naa = (3ULL << 60) | (lu->naa & 0x0fffffffffffffffULL);

	if (bufsz < 4 + 12 + 12 + 8 + 8 + 64 + 2 * (4 + sizeof(name)))
		return -ENOSPC;
	memset(buf, 0, 4);
	buf[1] = 0x83;
	/* NAA 3h, locally assigned: binary, LU, type 3 */
	put64(tmp, naa);
	p += vpd_designator(p, 0x01, 0x03, tmp, 8);
	/* T10 vendor ID: ASCII, LU, type 1 */
	if (serial_len > 64)
		serial_len = 64;
	put_ascii(tmp, lu->vendor, 8);
	memcpy(tmp + 8, lu->serial, serial_len);
	p += vpd_designator(p, 0x02, 0x01, tmp, 8 + serial_len);
	/* relative target port: protocol 5 (iSCSI), PIV,
	 * association 1 (port), type 4 */
	memset(tmp, 0, 4);
	put16(tmp + 2, lu->rel_port);
	p += vpd_designator(p, 0x51, 0x80 | 0x10 | 0x04, tmp, 4);
	if (lu->target_name) {
		/* SCSI name strings: UTF-8, NUL-terminated,
		 * padded to a multiple of 4; the port's name carries the
		 * portal group tag (RFC 7143 §13.9 ",t,0x0001") */
		l = strlen(lu->target_name);
		if (l > SCSI_NAME_PAD - 16)
			l = SCSI_NAME_PAD - 16;
		memset(name, 0, sizeof(name));
		memcpy(name, lu->target_name, l);
		memcpy(name + l, ",t,0x0001", 9);
		n = (l + 9 + 1 + 3) & ~(size_t)3;
		p += vpd_designator(p, 0x53, 0x80 | 0x10 | 0x08, name, n);
		memset(name + l, 0, sizeof(name) - l);
		n = (l + 1 + 3) & ~(size_t)3;
		p += vpd_designator(p, 0x53, 0x80 | 0x20 | 0x08, name, n);
	}
	put16(buf + 2, (uint16_t)(p - buf - 4));
	return (int)(p - buf);
}

int scsi_build_vpd(uint8_t *buf, size_t bufsz, uint8_t page,
		   const struct scsi_lu *lu)
{
	size_t l;
	int n;

	switch (page) {
	case 0x00:	/* Supported VPD pages */
		if ((n = vpd_start(buf, bufsz, page, sizeof(vpd_pages))) > 0)
			memcpy(buf + 4, vpd_pages, sizeof(vpd_pages));
		return n;
	case 0x80:	/* Unit Serial Number */
		l = lu->serial ? strlen(lu->serial) : 0;
		if (l > 64)
			l = 64;
		if ((n = vpd_start(buf, bufsz, page, l)) > 0)
			memcpy(buf + 4, lu->serial, l);
		return n;
	case 0x83:
		return vpd_device_id(buf, bufsz, lu);
	case 0xb0:	/* SBC-3 Block Limits */
		if ((n = vpd_start(buf, bufsz, page, 0x3c)) < 0)
			return n;
		put16(buf + 6, 1);			/* optimal granularity */
		put32(buf + 8, lu->max_xfer_blocks);
		put32(buf + 12, lu->opt_xfer_blocks);
		if (lu->thin) {
			put32(buf + 20, lu->max_unmap_blocks);
			put32(buf + 24, lu->max_unmap_desc);
			put32(buf + 28, lu->unmap_granularity);
		}
		put64(buf + 36, lu->max_write_same_blocks);
		return n;
	case 0xb1:	/* SBC-3 Block Device Characteristics */
		if ((n = vpd_start(buf, bufsz, page, 0x3c)) < 0)
			return n;
		put16(buf + 4, 0x0001);	/* non-rotating medium */
		return n;
	case 0xb2:	/* SBC-3 Logical Block Provisioning */
		if ((n = vpd_start(buf, bufsz, page, 4)) < 0)
			return n;
		if (lu->thin) {
			/* LBPU, LBPWS, LBPWS10, LBPRZ (unmapped blocks
			 * read as zero: vdisk_zero) */
			buf[5] = 0x80 | 0x40 | 0x20 | 0x04;
			buf[6] = 0x02;	/* thin provisioned */
		}
		return n;
	default:
		return -ENOENT;
	}
}

/* ---- READ CAPACITY (SBC-3) ---- */

int scsi_build_read_capacity10(uint8_t *buf, size_t bufsz,
			       const struct scsi_lu *lu)
{
	uint64_t last = lu->nblocks ? lu->nblocks - 1 : 0;

	if (bufsz < 8)
		return -ENOSPC;
	/* over 2^32 blocks: 0xffffffff tells to use READ CAPACITY(16) */
	put32(buf, last > 0xffffffffULL ? 0xffffffffU : (uint32_t)last);
	put32(buf + 4, lu->block_size);
	return 8;
}

int scsi_build_read_capacity16(uint8_t *buf, size_t bufsz,
			       const struct scsi_lu *lu)
{
	if (bufsz < 32)
		return -ENOSPC;
	memset(buf, 0, 32);
	put64(buf, lu->nblocks ? lu->nblocks - 1 : 0);
	put32(buf + 8, lu->block_size);
	buf[13] = lu->phys_exp & 0x0f;
	if (lu->thin)
		buf[14] = 0x80 | 0x40;	/* LBPME, LBPRZ */
	return 32;
}

int scsi_build_lba_status(uint8_t *buf, size_t bufsz, uint64_t lba,
			  const struct scsi_lu *lu)
{
	uint64_t left = lu->nblocks - lba;

	if (bufsz < 24)
		return -ENOSPC;
	memset(buf, 0, 24);
	put32(buf, 20);		/* PARAMETER DATA LENGTH: n - 3 */
	put64(buf + 8, lba);
	put32(buf + 16, left > 0xffffffffULL ? 0xffffffffU : (uint32_t)left);
	buf[20] = 0;		/* PROVISIONING STATUS: mapped */
	return 24;
}

/* ---- REPORT SUPPORTED OPERATION CODES (SPC-4) ---- */

/* Every command scsi_cdb_parse() accepts, with its CDB usage data: a bit
 * is set where the device server looks at the CDB; DPO and FUA
 * are set on READ/WRITE, the PROTECT fields are not (they are refused). */
static const struct scsi_opcode_usage {
	uint8_t opcode;
	uint8_t has_sa;
	uint16_t sa;
	uint8_t len;
	uint8_t usage[16];
} scsi_usage[] = {
	{ SCSI_TEST_UNIT_READY, 0, 0, 6, { 0x00, 0, 0, 0, 0, 0x07 } },
	{ SCSI_REQUEST_SENSE, 0, 0, 6, { 0x03, 0x01, 0, 0, 0xff, 0x07 } },
	{ SCSI_INQUIRY, 0, 0, 6, { 0x12, 0x01, 0xff, 0xff, 0xff, 0x07 } },
	{ SCSI_MODE_SENSE_6, 0, 0, 6, { 0x1a, 0x08, 0xff, 0xff, 0xff, 0x07 } },
	{ SCSI_START_STOP_UNIT, 0, 0, 6, { 0x1b, 0x01, 0, 0, 0, 0x07 } },
	{ SCSI_PREVENT_ALLOW, 0, 0, 6, { 0x1e, 0, 0, 0, 0, 0x07 } },
	{ SCSI_READ_CAPACITY_10, 0, 0, 10,
	  { 0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0x07 } },
	{ SCSI_READ_10, 0, 0, 10,
	  { 0x28, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_WRITE_10, 0, 0, 10,
	  { 0x2a, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_WRITE_VERIFY_10, 0, 0, 10,
	  { 0x2e, 0x12, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_VERIFY_10, 0, 0, 10,
	  { 0x2f, 0x10, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_SYNCHRONIZE_CACHE_10, 0, 0, 10,
	  { 0x35, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_WRITE_SAME_10, 0, 0, 10,
	  { 0x41, 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_UNMAP, 0, 0, 10, { 0x42, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_MODE_SENSE_10, 0, 0, 10,
	  { 0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0x07 } },
	{ SCSI_READ_16, 0, 0, 16,
	  { 0x88, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_WRITE_16, 0, 0, 16,
	  { 0x8a, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_WRITE_VERIFY_16, 0, 0, 16,
	  { 0x8e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_VERIFY_16, 0, 0, 16,
	  { 0x8f, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_SYNCHRONIZE_CACHE_16, 0, 0, 16,
	  { 0x91, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_WRITE_SAME_16, 0, 0, 16,
	  { 0x93, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_SERVICE_ACTION_IN_16, 1, SCSI_SAI_READ_CAPACITY_16, 16,
	  { 0x9e, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x01, 0x07 } },
	{ SCSI_SERVICE_ACTION_IN_16, 1, SCSI_SAI_GET_LBA_STATUS, 16,
	  { 0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_REPORT_LUNS, 0, 0, 12,
	  { 0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x07 } },
	{ SCSI_MAINTENANCE_IN, 1, SCSI_MI_REPORT_SUPPORTED_OPCODES, 12,
	  { 0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
	    0x07 } },
	{ SCSI_READ_12, 0, 0, 12,
	  { 0xa8, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
	    0x07 } },
	{ SCSI_WRITE_12, 0, 0, 12,
	  { 0xaa, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
	    0x07 } },
	{ SCSI_WRITE_VERIFY_12, 0, 0, 12,
	  { 0xae, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
	    0x07 } },
	{ SCSI_VERIFY_12, 0, 0, 12,
	  { 0xaf, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
	    0x07 } },
};

#define SCSI_NUSAGE (sizeof(scsi_usage) / sizeof(scsi_usage[0]))

/* the command timeouts descriptor (no timeouts to tell). */
static size_t put_timeouts(uint8_t *p)
{
	memset(p, 0, 12);
	put16(p, 0x0a);
	return 12;
}

int scsi_build_supported_opcodes(uint8_t *buf, size_t bufsz,
				 const struct scsi_cdb *c, uint32_t *err)
{
	const struct scsi_opcode_usage *u = NULL;
	size_t i, n = 4, each = c->rctd ? 20 : 8;
	uint8_t *p;

	*err = SCSI_ERR_NONE;
	if (c->options == 0) {	/* all commands */
		if (bufsz < 4 + SCSI_NUSAGE * each)
			return -ENOSPC;
		for (i = 0; i < SCSI_NUSAGE; i++) {
			p = buf + n;
			memset(p, 0, 8);
			p[0] = scsi_usage[i].opcode;
			put16(p + 2, scsi_usage[i].sa);
			p[5] = (uint8_t)((c->rctd ? 0x02 : 0) |
					 scsi_usage[i].has_sa);
			put16(p + 6, scsi_usage[i].len);
			n += 8;
			if (c->rctd)
				n += put_timeouts(buf + n);
		}
		put32(buf, (uint32_t)(n - 4));
		return (int)n;
	}
	for (i = 0; i < SCSI_NUSAGE && !u; i++)
		if (scsi_usage[i].opcode == c->req_opcode)
			u = &scsi_usage[i];
	/* options 1 names a command without service actions, 2
	 * one with; asking the other way is an invalid field */
	if (u && (c->options == 1 ? u->has_sa : !u->has_sa)) {
		*err = SCSI_ERR_INVALID_FIELD_CDB;
		return -EINVAL;
	}
	if (u && c->options == 2) {
		for (u = NULL, i = 0; i < SCSI_NUSAGE && !u; i++)
			if (scsi_usage[i].opcode == c->req_opcode &&
			    scsi_usage[i].sa == c->req_sa)
				u = &scsi_usage[i];
	}
	if (bufsz < 4 + 16 + 12)
		return -ENOSPC;
	memset(buf, 0, 4);
	if (!u) {
		buf[1] = 0x01;	/* SUPPORT: not supported */
		return 4;
	}
	buf[1] = (uint8_t)((c->rctd ? 0x80 : 0) | 0x03);	/* supported */
	put16(buf + 2, u->len);
	memcpy(buf + 4, u->usage, u->len);
	n = 4 + u->len;
	if (c->rctd)
		n += put_timeouts(buf + n);
	return (int)n;
}

/* ---- MODE SENSE (SPC-4; caching page SBC-3) ---- */

#define MODE_CACHING	0x08
#define MODE_CONTROL	0x0a
#define MODE_ALL	0x3f

/* One mode page at p for page control pc; returns its size. */
static size_t mode_page(uint8_t *p, uint8_t page, uint8_t pc,
			const struct scsi_lu *lu)
{
	int changeable = pc == 1;

	switch (page) {
	case MODE_CACHING:	/* SBC-3: 20 bytes */
		memset(p, 0, 20);
		p[0] = MODE_CACHING;
		p[1] = 0x12;
		if (!changeable && lu->write_cache)
			p[2] = 0x04;	/* WCE */
		return 20;
	case MODE_CONTROL:	/* SPC-4: 12 bytes */
		memset(p, 0, 12);
		p[0] = MODE_CONTROL;
		p[1] = 0x0a;
		if (!changeable) {
			p[3] = 0x10;	/* unrestricted reordering */
			if (lu->read_only)
				p[4] = 0x08;	/* SWP */
			put16(p + 8, 0xffff);	/* busy timeout: none */
		}
		return 12;
	}
	return 0;
}

int scsi_build_mode_sense(uint8_t *buf, size_t bufsz, const struct scsi_cdb *c,
			  const struct scsi_lu *lu, uint32_t *err)
{
	int ten = c->opcode == SCSI_MODE_SENSE_10;
	int longlba = ten && c->llbaa;
	size_t hdr = ten ? 8 : 4, bd = c->dbd ? 0 : (longlba ? 16 : 8);
	size_t n, need = hdr + bd + 20 + 12;
	uint8_t *p;

	*err = SCSI_ERR_NONE;
	if (c->pc == 3) {
		*err = SCSI_ERR_SAVING_NOT_SUPPORTED;
		return -EINVAL;
	}
	if ((c->page_code != MODE_CACHING && c->page_code != MODE_CONTROL &&
	     c->page_code != MODE_ALL) ||
	    (c->subpage && !(c->page_code == MODE_ALL && c->subpage == 0xff))) {
		*err = SCSI_ERR_INVALID_FIELD_CDB;
		return -EINVAL;
	}
	if (bufsz < need)
		return -ENOSPC;
	memset(buf, 0, hdr + bd);
	p = buf + hdr;
	if (bd == 8) {
		/* SBC-3 short LBA block descriptor */
		put32(p, lu->nblocks > 0xffffffffULL ? 0xffffffffU
						     : (uint32_t)lu->nblocks);
		put32(p + 4, lu->block_size & 0xffffff);
	} else if (bd == 16) {
		/* long LBA block descriptor */
		put64(p, lu->nblocks);
		put32(p + 12, lu->block_size);
	}
	p += bd;
	if (c->page_code == MODE_ALL) {
		p += mode_page(p, MODE_CACHING, c->pc, lu);
		p += mode_page(p, MODE_CONTROL, c->pc, lu);
	} else {
		p += mode_page(p, c->page_code, c->pc, lu);
	}
	n = (size_t)(p - buf);
	/* SBC-3: device-specific parameter: WP, DPOFUA */
	if (ten) {
		put16(buf, (uint16_t)(n - 2));
		buf[3] = (uint8_t)((lu->read_only ? 0x80 : 0) | 0x10);
		buf[4] = longlba ? 1 : 0;
		put16(buf + 6, (uint16_t)bd);
	} else {
		buf[0] = (uint8_t)(n - 1);
		buf[2] = (uint8_t)((lu->read_only ? 0x80 : 0) | 0x10);
		buf[3] = (uint8_t)bd;
	}
	return (int)n;
}

int scsi_build_report_luns(uint8_t *buf, size_t bufsz, uint32_t luns)
{
	size_t n = 8;

	if (bufsz < 8)
		return -ENOSPC;
	memset(buf, 0, 8);
	for (unsigned lun = 0; lun < 32; lun++) {
		if (!(luns & 1U << lun))
			continue;
		if (n + 8 > bufsz)
			return -ENOSPC;
		put64(buf + n, scsi_lun_encode(lun));
		n += 8;
	}
	put32(buf, (uint32_t)(n - 8));	/* LUN LIST LENGTH */
	return (int)n;
}

/* SAM-5 4.7.7.2: address method 00b (peripheral), bus 0, the LUN in the
 * second byte; the other six bytes zero. */
int scsi_lun_decode(uint64_t field)
{
	if (field & ~(0xffULL << 48))
		return -1;
	return (int)(field >> 48 & 0xff);
}

uint64_t scsi_lun_encode(unsigned n)
{
	return (uint64_t)(n & 0xff) << 48;
}

/* ---- UNMAP (SBC-3) ---- */

uint32_t scsi_unmap_check(const uint8_t *p, size_t len,
			  const struct scsi_lu *lu, uint32_t *ndesc)
{
	uint64_t lba, total = 0;
	uint32_t i, n, bdl;

	*ndesc = 0;
	if (len == 0)
		return SCSI_ERR_NONE;	/* "not an error", nothing to do */
	if (len < 8)
		return SCSI_ERR_PARAM_LIST_LENGTH;
	bdl = get16(p + 2);
	/* a descriptor the list claims but did not send: the initiator's
	 * lengths disagree */
	if ((size_t)bdl > len - 8)
		return SCSI_ERR_PARAM_LIST_LENGTH;
	n = bdl / 16;
	if (n > lu->max_unmap_desc)
		return SCSI_ERR_INVALID_FIELD_PARAM;
	for (i = 0; i < n; i++) {
		const uint8_t *d = p + 8 + 16 * i;

		lba = get64(d);
		if (!scsi_lba_ok(lba, get32(d + 8), lu->nblocks))
			return SCSI_ERR_LBA_OUT_OF_RANGE;
		total += get32(d + 8);
	}
	if (total > lu->max_unmap_blocks)
		return SCSI_ERR_INVALID_FIELD_PARAM;
	*ndesc = n;
	return SCSI_ERR_NONE;
}

void scsi_unmap_desc(const uint8_t *p, uint32_t i, uint64_t *lba,
		     uint32_t *blocks)
{
	*lba = get64(p + 8 + 16 * i);
	*blocks = get32(p + 8 + 16 * i + 8);
}

const char *scsi_opcode_name(uint8_t opcode)
{
	switch (opcode) {
	case SCSI_TEST_UNIT_READY: return "TEST UNIT READY";
	case SCSI_REQUEST_SENSE: return "REQUEST SENSE";
	case SCSI_INQUIRY: return "INQUIRY";
	case SCSI_MODE_SENSE_6: return "MODE SENSE(6)";
	case SCSI_START_STOP_UNIT: return "START STOP UNIT";
	case SCSI_PREVENT_ALLOW: return "PREVENT ALLOW MEDIUM REMOVAL";
	case SCSI_READ_CAPACITY_10: return "READ CAPACITY(10)";
	case SCSI_READ_10: return "READ(10)";
	case SCSI_WRITE_10: return "WRITE(10)";
	case SCSI_WRITE_VERIFY_10: return "WRITE AND VERIFY(10)";
	case SCSI_VERIFY_10: return "VERIFY(10)";
	case SCSI_SYNCHRONIZE_CACHE_10: return "SYNCHRONIZE CACHE(10)";
	case SCSI_WRITE_SAME_10: return "WRITE SAME(10)";
	case SCSI_UNMAP: return "UNMAP";
	case SCSI_MODE_SENSE_10: return "MODE SENSE(10)";
	case SCSI_READ_16: return "READ(16)";
	case SCSI_WRITE_16: return "WRITE(16)";
	case SCSI_WRITE_VERIFY_16: return "WRITE AND VERIFY(16)";
	case SCSI_VERIFY_16: return "VERIFY(16)";
	case SCSI_SYNCHRONIZE_CACHE_16: return "SYNCHRONIZE CACHE(16)";
	case SCSI_WRITE_SAME_16: return "WRITE SAME(16)";
	case SCSI_SERVICE_ACTION_IN_16: return "SERVICE ACTION IN(16)";
	case SCSI_REPORT_LUNS: return "REPORT LUNS";
	case SCSI_MAINTENANCE_IN: return "MAINTENANCE IN";
	case SCSI_READ_12: return "READ(12)";
	case SCSI_WRITE_12: return "WRITE(12)";
	case SCSI_WRITE_VERIFY_12: return "WRITE AND VERIFY(12)";
	case SCSI_VERIFY_12: return "VERIFY(12)";
	default: return "unknown";
	}
}
