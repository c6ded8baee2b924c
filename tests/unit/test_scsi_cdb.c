/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: lib/scsi_cdb (CDB decoding, sense, INQUIRY/VPD, READ
 * CAPACITY, MODE SENSE, REPORT LUNS, UNMAP parameter lists). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_cdb.h"

static const struct scsi_lu lu = {
	.nblocks = 1000, .block_size = 512, .phys_exp = 3, .thin = 1,
	.write_cache = 1, .vendor = "LINKBOOT", .product = "disk",
	.revision = "1.0", .serial = "0123abcd", .naa = 0x123456789abcdefULL,
	.target_name = "iqn.2026-12.org.linkboot:image.x", .rel_port = 1,
	.max_xfer_blocks = 16384, .opt_xfer_blocks = 2048,
	.max_unmap_blocks = 500, .max_unmap_desc = 2, .unmap_granularity = 8,
	.max_write_same_blocks = 16384,
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void test_read10_decode(void **state)
{
	uint8_t cdb[16] = { 0x28, 0x18, 0, 0, 1, 0, 0, 0, 8, 0 };
	struct scsi_cdb c;

	(void)state;
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_NONE);
	assert_int_equal(c.kind, SCSI_KIND_READ);
	assert_int_equal(c.len, 10);
	assert_int_equal(c.lba, 256);
	assert_int_equal(c.blocks, 8);
	assert_true(c.dpo);
	assert_true(c.fua);
}

static void test_rw16_12_decode(void **state)
{
	uint8_t r16[16] = { 0x8a, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0 };
	uint8_t r12[16] = { 0xa8, 0, 0, 0, 0, 9, 0, 0, 0x10, 0 };
	struct scsi_cdb c;

	(void)state;
	assert_int_equal(scsi_cdb_parse(r16, &c), SCSI_ERR_NONE);
	assert_int_equal(c.kind, SCSI_KIND_WRITE);
	assert_int_equal(c.lba, 1ULL << 32);
	assert_int_equal(c.blocks, 65536);
	assert_int_equal(scsi_cdb_parse(r12, &c), SCSI_ERR_NONE);
	assert_int_equal(c.len, 12);
	assert_int_equal(c.lba, 9);
	assert_int_equal(c.blocks, 0x1000);
}

static void test_rdprotect_invalid(void **state)
{
	uint8_t cdb[16] = { 0x28, 0x20 };
	struct scsi_cdb c;

	(void)state;
	/* SBC-3 §4.22.2: no protection information -> invalid field */
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
	assert_int_equal(c.bad_byte, 1);
	cdb[0] = 0x8a;	/* WRPROTECT */
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
}

static void test_inquiry_fields(void **state)
{
	uint8_t cdb[16] = { 0x12, 0, 0x80, 0, 0xff, 0 };
	struct scsi_cdb c;

	(void)state;
	/* a page code without EVPD */
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
	assert_int_equal(c.bad_byte, 2);
	cdb[1] = 1;
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_NONE);
	assert_int_equal(c.alloc_len, 0xff);
	assert_int_equal(c.page_code, 0x80);
	cdb[1] = 2;	/* CMDDT */
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
}

static void test_read_capacity_pmi(void **state)
{
	uint8_t rc10[16] = { 0x25, 0, 0, 0, 0, 1 };
	uint8_t rc16[16] = { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 };
	struct scsi_cdb c;

	(void)state;
	assert_int_equal(scsi_cdb_parse(rc10, &c), SCSI_ERR_INVALID_FIELD_CDB);
	rc10[8] = 1;	/* PMI: the LBA is allowed */
	assert_int_equal(scsi_cdb_parse(rc10, &c), SCSI_ERR_NONE);
	assert_int_equal(scsi_cdb_parse(rc16, &c), SCSI_ERR_NONE);
	assert_int_equal(c.alloc_len, 32);
	rc16[1] = 0x12;	/* GET LBA STATUS */
	rc16[9] = 5;
	assert_int_equal(scsi_cdb_parse(rc16, &c), SCSI_ERR_NONE);
	assert_int_equal(c.lba, 5);
	rc16[1] = 0x13;	/* another service action */
	assert_int_equal(scsi_cdb_parse(rc16, &c), SCSI_ERR_INVALID_FIELD_CDB);
}

static void test_report_luns_alloc_len(void **state)
{
	uint8_t cdb[16] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 15 };
	struct scsi_cdb c;
	uint8_t b[16], many[40];

	(void)state;
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
	cdb[9] = 16;
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_NONE);
	cdb[2] = 3;	/* SELECT REPORT */
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
	assert_int_equal(scsi_build_report_luns(b, sizeof(b), 1), 16);
	assert_int_equal(be32(b), 8);
	/* LUNs 0, 1 and 5: three entries, peripheral addressing */
	assert_int_equal(scsi_build_report_luns(many, sizeof(many), 0x23), 32);
	assert_int_equal(be32(many), 24);
	assert_int_equal(many[8 + 1], 0);
	assert_int_equal(many[16 + 1], 1);
	assert_int_equal(many[24 + 1], 5);
	assert_int_equal(scsi_build_report_luns(b, sizeof(b), 0x23), -ENOSPC);
	assert_int_equal(scsi_lun_decode(scsi_lun_encode(5)), 5);
	assert_int_equal(scsi_lun_decode(0), 0);
	assert_int_equal(scsi_lun_decode(0x4001000000000000ULL), -1);
	assert_int_equal(scsi_lun_decode(1), -1);
}

static void test_unknown_opcode(void **state)
{
	uint8_t cdb[16] = { 0xd0 };
	struct scsi_cdb c;

	(void)state;
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_OPCODE);
	cdb[0] = 0x08;	/* READ(6): not offered */
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_OPCODE);
}

static void test_write_same_unmap_anchor(void **state)
{
	uint8_t cdb[16] = { 0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 4 };
	struct scsi_cdb c;

	(void)state;
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_NONE);
	assert_int_equal(c.kind, SCSI_KIND_WRITE_SAME);
	assert_true(c.unmap);
	assert_int_equal(c.lba, 9);
	assert_int_equal(c.blocks, 4);
	cdb[1] = 0x18;	/* ANCHOR without ANC_SUP */
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
	cdb[0] = 0x42;	/* UNMAP with ANCHOR */
	cdb[1] = 1;
	assert_int_equal(scsi_cdb_parse(cdb, &c), SCSI_ERR_INVALID_FIELD_CDB);
}

static void test_lba_range(void **state)
{
	(void)state;
	assert_true(scsi_lba_ok(0, 1000, 1000));
	assert_true(scsi_lba_ok(1000, 0, 1000));
	assert_false(scsi_lba_ok(999, 2, 1000));
	assert_false(scsi_lba_ok(1001, 0, 1000));
	/* no wrap past 2^64 */
	assert_false(scsi_lba_ok(UINT64_MAX, 2, 1000));
}

static void test_sense_fixed_and_descriptor(void **state)
{
	uint8_t s[32];

	(void)state;
	assert_int_equal(scsi_build_sense(s, sizeof(s),
					  SCSI_ERR_LBA_OUT_OF_RANGE, 0, -1), 18);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[2], 0x05);
	assert_int_equal(s[7], 10);
	assert_int_equal(s[12], 0x21);
	assert_int_equal(s[13], 0x00);
	assert_int_equal(s[15], 0);	/* no SKSV */
	scsi_build_sense(s, sizeof(s), SCSI_ERR_INVALID_FIELD_CDB, 0, 2);
	assert_int_equal(s[15], 0xc0);	/* SKSV, C/D */
	assert_int_equal(s[17], 2);
	assert_int_equal(scsi_build_sense(s, sizeof(s),
					  SCSI_ERR_WRITE_PROTECTED, 1, -1), 8);
	assert_int_equal(s[0], 0x72);
	assert_int_equal(s[1], 0x07);
	assert_int_equal(s[2], 0x27);
	assert_int_equal(scsi_build_sense(s, 10, SCSI_ERR_NONE, 0, -1), -ENOSPC);
}

static void test_inquiry_standard(void **state)
{
	uint8_t b[128];

	(void)state;
	assert_int_equal(scsi_build_inquiry(b, sizeof(b), &lu), 96);
	assert_int_equal(b[0], 0);
	assert_int_equal(b[2], 6);		/* SPC-4 */
	assert_int_equal(b[3] & 0x0f, 2);	/* response data format */
	assert_int_equal(b[4], 91);
	assert_memory_equal(b + 8, "LINKBOOT", 8);
	assert_memory_equal(b + 16, "disk            ", 16);
	assert_int_equal(b[58] << 8 | b[59], 0x00a0);
}

static void test_vpd_pages(void **state)
{
	uint8_t b[1024];
	int n, i, found_naa = 0, found_name = 0;

	(void)state;
	n = scsi_build_vpd(b, sizeof(b), 0x00, &lu);
	assert_int_equal(n, 4 + 6);
	assert_memory_equal(b + 4, "\x00\x80\x83\xb0\xb1\xb2", 6);
	n = scsi_build_vpd(b, sizeof(b), 0x80, &lu);
	assert_int_equal(b[3], 8);
	assert_memory_equal(b + 4, "0123abcd", 8);
	n = scsi_build_vpd(b, sizeof(b), 0xb0, &lu);
	assert_int_equal(n, 64);
	assert_int_equal(be32(b + 8), 16384);	/* max transfer */
	assert_int_equal(be32(b + 20), 500);	/* max unmap LBA count */
	assert_int_equal(be32(b + 24), 2);	/* max descriptors */
	n = scsi_build_vpd(b, sizeof(b), 0xb1, &lu);
	assert_int_equal(b[4] << 8 | b[5], 1);	/* non-rotating */
	n = scsi_build_vpd(b, sizeof(b), 0xb2, &lu);
	assert_int_equal(n, 8);
	assert_int_equal(b[5] & 0xc0, 0xc0);	/* LBPU, LBPWS */
	assert_int_equal(b[6] & 7, 2);		/* thin */
	n = scsi_build_vpd(b, sizeof(b), 0x83, &lu);
	assert_int_equal((b[2] << 8 | b[3]) + 4, n);
	for (i = 4; i < n; i += 4 + b[i + 3]) {
		if ((b[i + 1] & 0x0f) == 3) {
			found_naa = 1;
			assert_int_equal(b[i + 4] >> 4, 3);	/* NAA 3 */
		}
		if ((b[i + 1] & 0x0f) == 8 && (b[i + 1] & 0x30) == 0x20) {
			found_name = 1;
			assert_string_equal((char *)b + i + 4, lu.target_name);
			assert_int_equal(b[i + 3] % 4, 0);
		}
	}
	assert_true(found_naa);
	assert_true(found_name);
	assert_int_equal(scsi_build_vpd(b, sizeof(b), 0x89, &lu), -ENOENT);
}

static void test_read_capacity_data(void **state)
{
	struct scsi_lu big = lu;
	uint8_t b[32];

	(void)state;
	assert_int_equal(scsi_build_read_capacity10(b, sizeof(b), &lu), 8);
	assert_int_equal(be32(b), 999);
	assert_int_equal(be32(b + 4), 512);
	big.nblocks = 1ULL << 33;
	scsi_build_read_capacity10(b, sizeof(b), &big);
	assert_int_equal(be32(b), 0xffffffff);
	assert_int_equal(scsi_build_read_capacity16(b, sizeof(b), &big), 32);
	assert_int_equal(be32(b), 1);
	assert_int_equal(be32(b + 4), 0xffffffff);
	assert_int_equal(b[13], 3);
	assert_int_equal(b[14] & 0xc0, 0xc0);	/* LBPME, LBPRZ */
}

static void test_lba_status(void **state)
{
	uint8_t b[32];

	(void)state;
	assert_int_equal(scsi_build_lba_status(b, sizeof(b), 100, &lu), 24);
	assert_int_equal(be32(b), 20);
	assert_int_equal(be32(b + 12), 100);
	assert_int_equal(be32(b + 16), 900);	/* to the end */
	assert_int_equal(b[20], 0);		/* mapped */
}

static void test_supported_opcodes(void **state)
{
	uint8_t all[16] = { 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 4, 0 };
	uint8_t one[16] = { 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0 };
	uint8_t sa[16] = { 0xa3, 0x0c, 0x82, 0x9e, 0, 0x10, 0, 0, 1, 0 };
	struct scsi_cdb c;
	uint8_t b[1024];
	uint32_t err;
	int n, i, seen_read16 = 0;

	(void)state;
	assert_int_equal(scsi_cdb_parse(all, &c), SCSI_ERR_NONE);
	n = scsi_build_supported_opcodes(b, sizeof(b), &c, &err);
	assert_true(n > 4 && (n - 4) % 8 == 0);
	assert_int_equal(be32(b), (uint32_t)n - 4);
	for (i = 4; i < n; i += 8)
		if (b[i] == 0x88 && (b[i + 6] << 8 | b[i + 7]) == 16)
			seen_read16 = 1;
	assert_true(seen_read16);
	/* one command: READ(10) with DPO and FUA in its usage data */
	assert_int_equal(scsi_cdb_parse(one, &c), SCSI_ERR_NONE);
	n = scsi_build_supported_opcodes(b, sizeof(b), &c, &err);
	assert_int_equal(n, 4 + 10);
	assert_int_equal(b[1] & 7, 3);
	assert_int_equal(b[4], 0x28);
	assert_int_equal(b[5], 0x18);
	/* with a service action, and RCTD: the timeouts descriptor too */
	assert_int_equal(scsi_cdb_parse(sa, &c), SCSI_ERR_NONE);
	n = scsi_build_supported_opcodes(b, sizeof(b), &c, &err);
	assert_int_equal(n, 4 + 16 + 12);
	assert_int_equal(b[1], 0x83);
	/* READ(10) has no service actions: options 2 is an invalid field */
	one[2] = 2;
	scsi_cdb_parse(one, &c);
	assert_true(scsi_build_supported_opcodes(b, sizeof(b), &c, &err) < 0);
	assert_int_equal(err, SCSI_ERR_INVALID_FIELD_CDB);
	/* a command we do not have: SUPPORT = 1 */
	one[2] = 1;
	one[3] = 0xd0;
	scsi_cdb_parse(one, &c);
	assert_int_equal(scsi_build_supported_opcodes(b, sizeof(b), &c, &err), 4);
	assert_int_equal(b[1] & 7, 1);
}

static void test_mode_sense(void **state)
{
	uint8_t ms6[16] = { 0x1a, 0, 0x08, 0, 0xff };
	uint8_t ms10[16] = { 0x5a, 0x10, 0x3f, 0, 0, 0, 0, 1, 0 };
	struct scsi_lu ro = lu;
	struct scsi_cdb c;
	uint8_t b[256];
	uint32_t err;
	int n;

	(void)state;
	scsi_cdb_parse(ms6, &c);
	n = scsi_build_mode_sense(b, sizeof(b), &c, &lu, &err);
	assert_int_equal(n, 4 + 8 + 20);
	assert_int_equal(b[0], n - 1);
	assert_int_equal(b[3], 8);		/* block descriptor */
	assert_int_equal(be32(b + 4), 1000);
	assert_int_equal(b[12], 0x08);
	assert_int_equal(b[14] & 0x04, 0x04);	/* WCE */
	ro.read_only = 1;
	scsi_build_mode_sense(b, sizeof(b), &c, &ro, &err);
	assert_int_equal(b[2] & 0x80, 0x80);	/* WP */
	/* MODE SENSE(10), LLBAA, all pages */
	scsi_cdb_parse(ms10, &c);
	n = scsi_build_mode_sense(b, sizeof(b), &c, &lu, &err);
	assert_int_equal(n, 8 + 16 + 20 + 12);
	assert_int_equal(b[4] & 1, 1);		/* LONGLBA */
	assert_int_equal(b[7], 16);
	assert_int_equal(b[8 + 16 + 20], 0x0a);	/* control page last */
	/* DBD: no descriptor */
	ms6[1] = 0x08;
	scsi_cdb_parse(ms6, &c);
	assert_int_equal(scsi_build_mode_sense(b, sizeof(b), &c, &lu, &err),
			 4 + 20);
	/* saved values, an unknown page, a subpage */
	ms6[2] = 0xc8;
	scsi_cdb_parse(ms6, &c);
	assert_true(scsi_build_mode_sense(b, sizeof(b), &c, &lu, &err) < 0);
	assert_int_equal(err, SCSI_ERR_SAVING_NOT_SUPPORTED);
	ms6[2] = 0x19;
	scsi_cdb_parse(ms6, &c);
	assert_true(scsi_build_mode_sense(b, sizeof(b), &c, &lu, &err) < 0);
	assert_int_equal(err, SCSI_ERR_INVALID_FIELD_CDB);
	ms6[2] = 0x3f;
	ms6[3] = 0xff;
	scsi_cdb_parse(ms6, &c);
	assert_true(scsi_build_mode_sense(b, sizeof(b), &c, &lu, &err) > 0);
}

/* An UNMAP list: header then descriptors (lba, blocks). */
static size_t unmap_list(uint8_t *p, const uint64_t *d, int n, int claim)
{
	int i, j;

	memset(p, 0, 8 + 16 * n);
	p[1] = (uint8_t)(6 + 16 * claim);
	p[3] = (uint8_t)(16 * claim);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 8; j++)
			p[8 + 16 * i + j] = (uint8_t)(d[2 * i] >> (56 - 8 * j));
		for (j = 0; j < 4; j++)
			p[16 + 16 * i + j] =
				(uint8_t)(d[2 * i + 1] >> (24 - 8 * j));
	}
	return 8 + 16 * (size_t)n;
}

static void test_unmap_list_ok(void **state)
{
	const uint64_t d[] = { 10, 20, 990, 10 };
	uint8_t p[64];
	uint32_t n, blocks;
	uint64_t lba;
	size_t len = unmap_list(p, d, 2, 2);

	(void)state;
	assert_int_equal(scsi_unmap_check(p, len, &lu, &n), SCSI_ERR_NONE);
	assert_int_equal(n, 2);
	scsi_unmap_desc(p, 1, &lba, &blocks);
	assert_int_equal(lba, 990);
	assert_int_equal(blocks, 10);
	/* a zero parameter list length is no error */
	assert_int_equal(scsi_unmap_check(p, 0, &lu, &n), SCSI_ERR_NONE);
	assert_int_equal(n, 0);
}

static void test_unmap_short_header(void **state)
{
	uint8_t p[8] = { 0 };
	uint32_t n;

	(void)state;
	assert_int_equal(scsi_unmap_check(p, 7, &lu, &n),
			 SCSI_ERR_PARAM_LIST_LENGTH);
}

static void test_unmap_descriptor_past_end(void **state)
{
	const uint64_t d[] = { 10, 20 };
	uint8_t p[64];
	uint32_t n;
	size_t len = unmap_list(p, d, 1, 2);	/* claims 2, sends 1 */

	(void)state;
	assert_int_equal(scsi_unmap_check(p, len, &lu, &n),
			 SCSI_ERR_PARAM_LIST_LENGTH);
	assert_int_equal(n, 0);
}

static void test_unmap_limits_and_range(void **state)
{
	const uint64_t three[] = { 1, 1, 2, 1, 3, 1 };
	const uint64_t past[] = { 995, 10 };
	const uint64_t wrap[] = { UINT64_MAX, 2 };
	const uint64_t many[] = { 0, 300, 300, 300 };
	uint8_t p[128];
	uint32_t n;
	size_t len;

	(void)state;
	len = unmap_list(p, three, 3, 3);	/* > max_unmap_desc */
	assert_int_equal(scsi_unmap_check(p, len, &lu, &n),
			 SCSI_ERR_INVALID_FIELD_PARAM);
	len = unmap_list(p, past, 1, 1);
	assert_int_equal(scsi_unmap_check(p, len, &lu, &n),
			 SCSI_ERR_LBA_OUT_OF_RANGE);
	len = unmap_list(p, wrap, 1, 1);
	assert_int_equal(scsi_unmap_check(p, len, &lu, &n),
			 SCSI_ERR_LBA_OUT_OF_RANGE);
	len = unmap_list(p, many, 2, 2);	/* 600 > max LBA count */
	assert_int_equal(scsi_unmap_check(p, len, &lu, &n),
			 SCSI_ERR_INVALID_FIELD_PARAM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read10_decode),
		cmocka_unit_test(test_rw16_12_decode),
		cmocka_unit_test(test_rdprotect_invalid),
		cmocka_unit_test(test_inquiry_fields),
		cmocka_unit_test(test_read_capacity_pmi),
		cmocka_unit_test(test_report_luns_alloc_len),
		cmocka_unit_test(test_unknown_opcode),
		cmocka_unit_test(test_write_same_unmap_anchor),
		cmocka_unit_test(test_lba_range),
		cmocka_unit_test(test_sense_fixed_and_descriptor),
		cmocka_unit_test(test_inquiry_standard),
		cmocka_unit_test(test_vpd_pages),
		cmocka_unit_test(test_read_capacity_data),
		cmocka_unit_test(test_lba_status),
		cmocka_unit_test(test_supported_opcodes),
		cmocka_unit_test(test_mode_sense),
		cmocka_unit_test(test_unmap_list_ok),
		cmocka_unit_test(test_unmap_short_header),
		cmocka_unit_test(test_unmap_descriptor_past_end),
		cmocka_unit_test(test_unmap_limits_and_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
