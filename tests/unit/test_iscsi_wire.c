/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: lib/iscsi_wire (BHS, PDU lengths, builders, CRC32C) and
 * lib/iscsi_login (key negotiation, CHAP, MD5). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi_login.h"
#include "iscsi_wire.h"
#include "md5.h"

/* ---- BHS ---- */

static void test_bhs_parse_scsi_command(void **state)
{
	uint8_t b[48] = { 0x41, 0xa1, 0, 0, 0, 0, 0x02, 0x00,
			  0, 1, 0, 0, 0, 0, 0, 0,
			  0x12, 0x34, 0x56, 0x78, 0, 0, 0x10, 0,
			  0, 0, 0, 7, 0, 0, 0, 9, 0x2a };
	struct iscsi_bhs h;

	(void)state;
	assert_int_equal(iscsi_parse_bhs(b, 47, &h), -EAGAIN);
	assert_int_equal(iscsi_parse_bhs(b, 48, &h), 0);
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_CMD);
	assert_true(h.immediate);
	assert_true(h.final);
	assert_int_equal(h.flags & ISCSI_CMD_WRITE, ISCSI_CMD_WRITE);
	assert_int_equal(h.data_len, 512);
	assert_int_equal(h.lun, 0x0001000000000000ULL);
	assert_int_equal(h.itt, 0x12345678);
	assert_int_equal(iscsi_bhs_edtl(&h), 4096);
	assert_int_equal(h.cmdsn, 7);
	assert_int_equal(h.exp_statsn, 9);
	assert_int_equal(h.cdb[0], 0x2a);
}

static void test_bhs_parse_login_stages(void **state)
{
	uint8_t b[48] = { 0x43, 0x87, 0, 0 };
	struct iscsi_bhs h;

	(void)state;
	b[8] = 0x80;
	b[14] = 0x12;
	b[15] = 0x34;
	b[20] = 0x00;
	b[21] = 0x05;
	iscsi_parse_bhs(b, 48, &h);
	assert_int_equal(h.opcode, ISCSI_OP_LOGIN_REQ);
	assert_true(h.final);		/* T */
	assert_false(h.cont);
	assert_int_equal(h.csg, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(h.nsg, ISCSI_STAGE_FULL);
	assert_int_equal(h.isid[0], 0x80);
	assert_int_equal(h.tsih, 0x1234);
	assert_int_equal(iscsi_bhs_cid(&h), 5);
}

static void test_bhs_datalen_padding(void **state)
{
	struct iscsi_bhs h = { .data_len = 5, .ahs_words = 2 };

	(void)state;
	/* 48 + 8 AHS + 5 data + 3 pad */
	assert_int_equal(iscsi_pdu_len(&h, 0, 0), 64);
	/* + header digest + data digest */
	assert_int_equal(iscsi_pdu_len(&h, 1, 1), 72);
	h.data_len = 0;
	/* no data: no data digest either */
	assert_int_equal(iscsi_pdu_len(&h, 1, 1), 60);
	assert_int_equal(iscsi_pad(0), 0);
	assert_int_equal(iscsi_pad(1), 3);
	assert_int_equal(iscsi_pad(4), 0);
	assert_int_equal(iscsi_pad(8191), 1);
}

static void test_bhs_check(void **state)
{
	struct iscsi_bhs h = { .opcode = 0x1c, .final = 1 };

	(void)state;
	assert_int_equal(iscsi_check_bhs(&h, 8192), -EPROTO);
	h.opcode = ISCSI_OP_NOP_IN;	/* a target opcode from a peer */
	assert_int_equal(iscsi_check_bhs(&h, 8192), -EPROTO);
	h.opcode = ISCSI_OP_NOP_OUT;
	assert_int_equal(iscsi_check_bhs(&h, 8192), 0);
	h.final = 0;
	assert_int_equal(iscsi_check_bhs(&h, 8192), -EINVAL);
	h = (struct iscsi_bhs){ .opcode = ISCSI_OP_SCSI_CMD, .data_len = 512,
				.flags = ISCSI_FLAG_FINAL | ISCSI_CMD_READ };
	assert_int_equal(iscsi_check_bhs(&h, 8192), -EINVAL);
	h.flags |= ISCSI_CMD_WRITE;
	assert_int_equal(iscsi_check_bhs(&h, 8192), 0);
	h.data_len = 8193;
	assert_int_equal(iscsi_check_bhs(&h, 8192), -EMSGSIZE);
	/* login text has its own bound */
	h.opcode = ISCSI_OP_LOGIN_REQ;
	assert_int_equal(iscsi_check_bhs(&h, 8192), 0);
}

static void test_sn_serial_arithmetic(void **state)
{
	(void)state;
	assert_true(iscsi_sn_lt(1, 2));
	assert_false(iscsi_sn_lt(2, 2));
	assert_true(iscsi_sn_lt(0xfffffffe, 3));	/* wraps */
	assert_false(iscsi_sn_lt(3, 0xfffffffe));
	assert_true(iscsi_sn_in(0, 0xfffffff0, 5));
	assert_false(iscsi_sn_in(6, 0xfffffff0, 5));
	assert_false(iscsi_sn_in(0xffffffef, 0xfffffff0, 5));
}

/* ---- CRC32C (RFC 3720 Appendix B.4 examples, kept by RFC 7143) ---- */

static void test_crc32c_vectors(void **state)
{
	uint8_t b[32];
	int i;

	(void)state;
	assert_int_equal(iscsi_crc32c("123456789", 9), 0xe3069283);
	memset(b, 0, sizeof(b));
	assert_int_equal(iscsi_crc32c(b, 32), 0x8a9136aa);
	memset(b, 0xff, sizeof(b));
	assert_int_equal(iscsi_crc32c(b, 32), 0x62a8ab43);
	for (i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	assert_int_equal(iscsi_crc32c(b, 32), 0x46dd794e);
	for (i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	assert_int_equal(iscsi_crc32c(b, 32), 0x113fdb5c);
	/* in pieces = at once */
	assert_int_equal(iscsi_crc32c_update(iscsi_crc32c_update(~0U, b, 13),
					     b + 13, 19) ^ ~0U,
			 iscsi_crc32c(b, 32));
}

static void test_digest_byte_order(void **state)
{
	uint8_t d[4], zero[32] = { 0 };

	(void)state;
	/* B.4: 32 zero bytes -> "aa 36 91 8a" on the wire */
	iscsi_put_digest(d, iscsi_crc32c(zero, 32));
	assert_memory_equal(d, "\xaa\x36\x91\x8a", 4);
	assert_int_equal(iscsi_get_digest(d), 0x8a9136aa);
}

/* ---- target PDUs ---- */

static const struct iscsi_sn sn = { 0x10, 0x20, 0x3f };

static void test_build_login_rsp(void **state)
{
	struct iscsi_login_rsp r = {
		.transit = 1, .csg = 1, .nsg = 3, .isid = { 1, 2, 3, 4, 5, 6 },
		.tsih = 7, .itt = 0xabcd, .status = ISCSI_LOGIN_NOT_FOUND,
		.data_len = 10,
	};
	uint8_t b[48];

	(void)state;
	assert_int_equal(iscsi_build_login_rsp(b, 47, &r, &sn), -ENOSPC);
	assert_int_equal(iscsi_build_login_rsp(b, 48, &r, &sn), 48);
	assert_int_equal(b[0], ISCSI_OP_LOGIN_RSP);
	assert_int_equal(b[1], 0x80 | 1 << 2 | 3);
	assert_int_equal(iscsi_get24(b + 5), 10);
	assert_memory_equal(b + 8, "\1\2\3\4\5\6\0\7", 8);
	assert_int_equal(iscsi_get32(b + 16), 0xabcd);
	assert_int_equal(iscsi_get32(b + 24), 0x10);
	assert_int_equal(iscsi_get32(b + 28), 0x20);
	assert_int_equal(iscsi_get32(b + 32), 0x3f);
	assert_int_equal(b[36], 2);
	assert_int_equal(b[37], 3);
}

static void test_build_scsi_rsp_sense_residual(void **state)
{
	struct iscsi_scsi_rsp r = {
		.itt = 5, .status = 2, .residual_flags = ISCSI_FLAG_UNDERFLOW,
		.residual = 512, .data_len = 20,
	};
	uint8_t b[48], d[32], sense[18] = { 0x70 };

	(void)state;
	iscsi_build_scsi_rsp(b, sizeof(b), &r, &sn);
	assert_int_equal(b[0], ISCSI_OP_SCSI_RSP);
	assert_int_equal(b[1], 0x80 | ISCSI_FLAG_UNDERFLOW);
	assert_int_equal(b[3], 2);
	assert_int_equal(iscsi_get32(b + 44), 512);
	assert_int_equal(iscsi_put_sense(d, 19, sense, 18), -ENOSPC);
	assert_int_equal(iscsi_put_sense(d, sizeof(d), sense, 18), 20);
	assert_int_equal(iscsi_get16(d), 18);
	assert_int_equal(d[2], 0x70);
}

static void test_build_data_in_status(void **state)
{
	struct iscsi_data_in di = {
		.has_status = 1, .residual_flags = ISCSI_FLAG_OVERFLOW,
		.residual = 9, .lun = 0, .itt = 1, .datasn = 3, .offset = 8192,
		.data_len = 100,
	};
	uint8_t b[48];

	(void)state;
	iscsi_build_data_in(b, sizeof(b), &di, &sn);
	/* S implies F; O with S */
	assert_int_equal(b[1], 0x80 | ISCSI_FLAG_OVERFLOW | ISCSI_DATA_STATUS);
	assert_int_equal(iscsi_get32(b + 20), ISCSI_RSVD_TAG);
	assert_int_equal(iscsi_get32(b + 24), 0x10);
	assert_int_equal(iscsi_get32(b + 36), 3);
	assert_int_equal(iscsi_get32(b + 40), 8192);
	assert_int_equal(iscsi_get32(b + 44), 9);
	/* without status: no StatSN, no residual, no O bit */
	di.has_status = 0;
	di.final = 0;
	iscsi_build_data_in(b, sizeof(b), &di, &sn);
	assert_int_equal(b[1], 0);
	assert_int_equal(iscsi_get32(b + 24), 0);
	assert_int_equal(iscsi_get32(b + 44), 0);
}

static void test_build_others(void **state)
{
	uint8_t b[48];

	(void)state;
	iscsi_build_r2t(b, sizeof(b), 0, 1, 0x77, &sn, 2, 65536, 262144);
	assert_int_equal(b[0], ISCSI_OP_R2T);
	assert_int_equal(iscsi_get32(b + 20), 0x77);
	assert_int_equal(iscsi_get32(b + 36), 2);
	assert_int_equal(iscsi_get32(b + 40), 65536);
	assert_int_equal(iscsi_get32(b + 44), 262144);
	iscsi_build_nop_in(b, sizeof(b), 0, ISCSI_RSVD_TAG, 0x55, &sn, 0);
	assert_int_equal(b[0], ISCSI_OP_NOP_IN);
	assert_int_equal(iscsi_get32(b + 16), ISCSI_RSVD_TAG);
	iscsi_build_reject(b, sizeof(b), ISCSI_REJECT_PROTOCOL_ERROR, &sn, 0);
	assert_int_equal(b[0], ISCSI_OP_REJECT);
	assert_int_equal(b[2], 4);
	assert_int_equal(iscsi_get24(b + 5), 48);
	iscsi_build_logout_rsp(b, sizeof(b), 0, 9, &sn, 2, 20);
	assert_int_equal(b[0], ISCSI_OP_LOGOUT_RSP);
	assert_int_equal(iscsi_get16(b + 40), 2);
	assert_int_equal(iscsi_get16(b + 42), 20);
	iscsi_build_tmf_rsp(b, sizeof(b), ISCSI_TMF_RSP_NO_TASK, 9, &sn);
	assert_int_equal(b[0], ISCSI_OP_TMF_RSP);
	assert_int_equal(b[2], 1);
	iscsi_build_async(b, sizeof(b), 0, &sn, ISCSI_ASYNC_LOGOUT_REQUEST, 0,
			  0, 0, 5, 0);
	assert_int_equal(b[0], ISCSI_OP_ASYNC);
	assert_int_equal(b[36], 1);
	assert_int_equal(iscsi_get16(b + 42), 5);
	iscsi_build_text_rsp(b, sizeof(b), 0, 1, 0, 3, 0x99, &sn, 10);
	assert_int_equal(b[1], ISCSI_FLAG_CONTINUE);
	assert_int_equal(iscsi_get32(b + 20), 0x99);
	assert_string_equal(iscsi_opcode_name(ISCSI_OP_R2T), "R2T");
	assert_string_equal(iscsi_opcode_name(0x1d), "unknown");
}

/* ---- negotiation ---- */

static struct iscsi_nego_cfg cfg;
static uint8_t rnd[1 + ISCSI_CHAP_CHALLENGE_SIZE];

static void nego_setup(struct iscsi_nego *n, int stage)
{
	memset(&cfg, 0, sizeof(cfg));
	iscsi_params_default(&cfg.ours);
	cfg.ours.max_recv_dsl = 262144;
	cfg.ours.max_burst = 1048576;
	cfg.ours.first_burst = 262144;
	cfg.ours.max_outstanding_r2t = 4;
	cfg.ours.initial_r2t = 0;
	cfg.ours.immediate_data = 1;
	cfg.ours.data_pdu_in_order = 0;
	cfg.ours.data_sequence_in_order = 0;
	cfg.ours.default_time2wait = 0;
	cfg.ours.default_time2retain = 0;
	cfg.tpgt = 1;
	memset(rnd, 0x5a, sizeof(rnd));
	rnd[0] = 7;
	iscsi_nego_init(n, &cfg, rnd);
	n->stage = stage;
}

/* Run keys given as "a=b|c=d" ('|' = NUL); answer copied with '|'. */
static int nego(struct iscsi_nego *n, const char *keys, char *ans,
		size_t anssz)
{
	char in[2048], out[4096];
	size_t len = strlen(keys), olen, i;
	int rc;

	memcpy(in, keys, len);
	for (i = 0; i < len; i++)
		if (in[i] == '|')
			in[i] = '\0';
	in[len++] = '\0';
	rc = iscsi_nego_run(n, in, len, out, sizeof(out), &olen);
	if (ans) {
		for (i = 0; i < olen && i < anssz - 1; i++)
			ans[i] = out[i] ? out[i] : '|';
		ans[i] = '\0';
	}
	return rc;
}

static void test_login_initialr2t_or(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "InitialR2T=No", a, sizeof(a)), 0);
	assert_non_null(strstr(a, "InitialR2T=No|"));
	assert_int_equal(n.p.initial_r2t, 0);
	cfg.ours.initial_r2t = 1;	/* OR with a target that says Yes */
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	cfg.ours.initial_r2t = 1;
	assert_int_equal(nego(&n, "InitialR2T=No", a, sizeof(a)), 0);
	assert_non_null(strstr(a, "InitialR2T=Yes|"));
}

static void test_login_immediatedata_and(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "ImmediateData=No|DataPDUInOrder=Yes",
			      a, sizeof(a)), 0);
	assert_non_null(strstr(a, "ImmediateData=No|"));
	assert_non_null(strstr(a, "DataPDUInOrder=Yes|"));
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "ImmediateData=Maybe", a, sizeof(a)), 0);
	assert_non_null(strstr(a, "ImmediateData=Reject|"));
}

static void test_login_numbers_min_max(void **state)
{
	struct iscsi_nego n;
	char a[1024];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "MaxBurstLength=16776192|"
			      "FirstBurstLength=0x1000|DefaultTime2Wait=2|"
			      "DefaultTime2Retain=20|MaxConnections=8|"
			      "ErrorRecoveryLevel=2|MaxOutstandingR2T=1",
			      a, sizeof(a)), 0);
	assert_non_null(strstr(a, "MaxBurstLength=1048576|"));
	assert_non_null(strstr(a, "FirstBurstLength=4096|"));
	assert_non_null(strstr(a, "DefaultTime2Wait=2|"));	/* max */
	assert_non_null(strstr(a, "DefaultTime2Retain=0|"));	/* min */
	assert_non_null(strstr(a, "MaxConnections=1|"));
	assert_non_null(strstr(a, "ErrorRecoveryLevel=0|"));
	assert_non_null(strstr(a, "MaxOutstandingR2T=1|"));
	assert_int_equal(n.p.max_burst, 1048576);
}

static void test_login_number_out_of_range_reject(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "MaxBurstLength=100|MaxConnections=x1|"
			      "MaxRecvDataSegmentLength=99999999999999999999",
			      a, sizeof(a)), 0);
	assert_non_null(strstr(a, "MaxBurstLength=Reject|"));
	assert_non_null(strstr(a, "MaxConnections=Reject|"));
	assert_non_null(strstr(a, "MaxRecvDataSegmentLength=Reject|"));
	assert_int_equal(n.p.max_burst, 262144);	/* unchanged */
}

static void test_login_declarative_mrdsl(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "MaxRecvDataSegmentLength=65536|"
			      "InitiatorName=iqn.x:y", a, sizeof(a)), 0);
	/* declarations are not answered; ours and TPGT are declared */
	assert_int_equal(n.p.max_recv_dsl, 65536);
	assert_string_equal(n.p.initiator_name, "iqn.x:y");
	assert_null(strstr(a, "MaxRecvDataSegmentLength=65536"));
	assert_non_null(strstr(a, "MaxRecvDataSegmentLength=262144|"));
	assert_non_null(strstr(a, "TargetPortalGroupTag=1|"));
	/* declared once */
	assert_int_equal(nego(&n, "HeaderDigest=None", a, sizeof(a)), 0);
	assert_null(strstr(a, "TargetPortalGroupTag"));
}

static void test_login_list_first_supported(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "HeaderDigest=CRC32C,None|"
			      "DataDigest=Foo,None|TaskReporting=FastAbort",
			      a, sizeof(a)), 0);
	assert_non_null(strstr(a, "HeaderDigest=CRC32C|"));
	assert_non_null(strstr(a, "DataDigest=None|"));
	assert_non_null(strstr(a, "TaskReporting=Reject|"));
	assert_int_equal(n.p.header_digest, ISCSI_DIGEST_CRC32C);
}

static void test_login_unknown_and_private_keys(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "X-com.example.Foo=1|X#bar=2|Whatever=3|"
			      "iSCSIProtocolLevel=1", a, sizeof(a)), 0);
	assert_non_null(strstr(a, "X-com.example.Foo=NotUnderstood|"));
	assert_non_null(strstr(a, "X#bar=NotUnderstood|"));
	assert_non_null(strstr(a, "Whatever=NotUnderstood|"));
	assert_non_null(strstr(a, "iSCSIProtocolLevel=NotUnderstood|"));
}

static void test_login_obsolete_markers_reject(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "IFMarker=No|OFMarkInt=2048~2048|"
			      "TargetAlias=x", a, sizeof(a)), 0);
	assert_non_null(strstr(a, "IFMarker=Reject|"));
	assert_non_null(strstr(a, "OFMarkInt=Reject|"));
	assert_non_null(strstr(a, "TargetAlias=Irrelevant|"));
}

static void test_login_first_burst_irrelevant(void **state)
{
	struct iscsi_nego n;
	char a[512];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "FirstBurstLength=65536|InitialR2T=Yes|"
			      "ImmediateData=No", a, sizeof(a)), 0);
	assert_non_null(strstr(a, "FirstBurstLength=Irrelevant|"));
	/* and never above MaxBurstLength */
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "MaxBurstLength=4096|FirstBurstLength=8192",
			      a, sizeof(a)), 0);
	assert_non_null(strstr(a, "FirstBurstLength=4096|"));
}

static void test_login_duplicate_key(void **state)
{
	struct iscsi_nego n;

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "MaxBurstLength=4096|MaxBurstLength=8192",
			      NULL, 0), -EPROTO);
	assert_int_equal(n.status, ISCSI_LOGIN_INITIATOR_ERROR);
	/* across PDUs of one login, too */
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "MaxBurstLength=4096", NULL, 0), 0);
	assert_int_equal(nego(&n, "MaxBurstLength=4096", NULL, 0), -EPROTO);
	/* but a new Text negotiation in full feature phase may repeat */
	nego_setup(&n, ISCSI_STAGE_FULL);
	assert_int_equal(nego(&n, "SendTargets=All", NULL, 0), 0);
	assert_int_equal(nego(&n, "SendTargets=All", NULL, 0), 0);
	assert_int_equal(n.send_targets, 1);
}

static void test_login_malformed_text(void **state)
{
	struct iscsi_nego n;
	char key[80], val[300];

	(void)state;
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "NoEqualsSign", NULL, 0), -EPROTO);
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "=value", NULL, 0), -EPROTO);
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, "Bad Key=1", NULL, 0), -EPROTO);
	/* key of 64 bytes, value of 256: over the limits (§6.1) */
	memset(key, 'K', 64);
	strcpy(key + 64, "=1");
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, key, NULL, 0), -EPROTO);
	strcpy(val, "InitiatorAlias=");
	memset(val + 15, 'v', 256);
	val[15 + 256] = '\0';
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, val, NULL, 0), -EPROTO);
	val[15 + 255] = '\0';
	nego_setup(&n, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(nego(&n, val, NULL, 0), 0);
}

static void test_login_session_type(void **state)
{
	struct iscsi_nego n;

	(void)state;
	nego_setup(&n, ISCSI_STAGE_SECURITY);
	assert_int_equal(nego(&n, "SessionType=Discovery|AuthMethod=None",
			      NULL, 0), 0);
	assert_int_equal(n.p.session_type, ISCSI_SESSION_DISCOVERY);
	assert_true(iscsi_nego_auth_ok(&n));
	nego_setup(&n, ISCSI_STAGE_SECURITY);
	assert_int_equal(nego(&n, "SessionType=Weird", NULL, 0), -EPROTO);
	assert_int_equal(n.status, ISCSI_LOGIN_NO_SESSION_TYPE);
}

static void test_text_get_and_next(void **state)
{
	const char t[] = "A=1\0\0B=two\0C=";
	struct iscsi_kv kv;
	const char *v;
	size_t off = 0, vl;

	(void)state;
	assert_int_equal(iscsi_text_get(t, sizeof(t) - 1, "B", &v, &vl), 0);
	assert_int_equal(vl, 3);
	assert_memory_equal(v, "two", 3);
	assert_int_equal(iscsi_text_get(t, sizeof(t) - 1, "Z", &v, &vl),
			 -ENOENT);
	assert_int_equal(iscsi_text_next(t, sizeof(t) - 1, &off, &kv), 1);
	assert_int_equal(iscsi_text_next(t, sizeof(t) - 1, &off, &kv), 1);
	assert_int_equal(iscsi_text_next(t, sizeof(t) - 1, &off, &kv), 1);
	assert_int_equal(kv.val_len, 0);	/* "C=" unterminated, empty */
	assert_int_equal(iscsi_text_next(t, sizeof(t) - 1, &off, &kv), 0);
}

/* ---- MD5 and CHAP ---- */

static void test_chap_md5_rfc_vector(void **state)
{
	/* RFC 1321 §A.5 test suite */
	static const struct { const char *in, *hex; } v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz",
		  "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		  "0123456789", "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890123456789012345678"
		  "9012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a" },
	};
	uint8_t d[16];
	char hex[40];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5(v[i].in, strlen(v[i].in), d);
		for (j = 0; j < 16; j++)
			snprintf(hex + 2 * j, 3, "%02x", d[j]);
		assert_string_equal(hex, v[i].hex);
	}
}

static void test_decode_binary(void **state)
{
	uint8_t b[8];
	char hex[20];

	(void)state;
	assert_int_equal(iscsi_decode_binary("0x0aff", 6, b, sizeof(b)), 2);
	assert_memory_equal(b, "\x0a\xff", 2);
	assert_int_equal(iscsi_decode_binary("0xfff", 5, b, sizeof(b)), 2);
	assert_memory_equal(b, "\x0f\xff", 2);
	assert_int_equal(iscsi_decode_binary("0bAQID", 6, b, sizeof(b)), 3);
	assert_memory_equal(b, "\1\2\3", 3);
	assert_int_equal(iscsi_decode_binary("0bAQI=", 6, b, sizeof(b)), 2);
	assert_int_equal(iscsi_decode_binary("0xzz", 4, b, sizeof(b)), -EINVAL);
	assert_int_equal(iscsi_decode_binary("12", 2, b, sizeof(b)), -EINVAL);
	assert_int_equal(iscsi_decode_binary("0x112233445566778899", 20, b,
					     sizeof(b)), -ENOSPC);
	assert_int_equal(iscsi_encode_hex((const uint8_t *)"\x01\xab", 2, hex,
					  sizeof(hex)), 0);
	assert_string_equal(hex, "0x01ab");
}

/* The initiator's CHAP_R for our challenge with secret. */
static void chap_answer(const struct iscsi_nego *n, const char *secret,
			char *hex, size_t hexsz)
{
	uint8_t r[16];

	iscsi_chap_response(n->chap_id, (const uint8_t *)secret,
			    strlen(secret), n->chap_challenge,
			    sizeof(n->chap_challenge), r);
	iscsi_encode_hex(r, 16, hex, hexsz);
}

static void chap_setup(struct iscsi_nego *n, const char *target_secret)
{
	nego_setup(n, ISCSI_STAGE_SECURITY);
	cfg.chap_secret = (const uint8_t *)"initiator-secret";
	cfg.chap_secret_len = 16;
	cfg.chap_user = "alice";
	if (target_secret) {
		cfg.chap_target_secret = (const uint8_t *)target_secret;
		cfg.chap_target_secret_len = strlen(target_secret);
		cfg.chap_target_user = "tgt";
	}
}

static void test_chap_one_way(void **state)
{
	struct iscsi_nego n;
	char a[512], keys[256], hex[40];

	(void)state;
	chap_setup(&n, NULL);
	/* a target with a secret does not take None */
	assert_int_equal(nego(&n, "AuthMethod=None", a, sizeof(a)), -EACCES);
	chap_setup(&n, NULL);
	assert_int_equal(nego(&n, "InitiatorName=iqn.a:b|AuthMethod=CHAP,None",
			      a, sizeof(a)), 0);
	assert_non_null(strstr(a, "AuthMethod=CHAP|"));
	assert_false(iscsi_nego_auth_ok(&n));
	assert_int_equal(nego(&n, "CHAP_A=7,5", a, sizeof(a)), 0);
	assert_non_null(strstr(a, "CHAP_A=5|CHAP_I=7|CHAP_C=0x5a5a"));
	chap_answer(&n, "initiator-secret", hex, sizeof(hex));
	snprintf(keys, sizeof(keys), "CHAP_N=alice|CHAP_R=%s", hex);
	assert_int_equal(nego(&n, keys, a, sizeof(a)), 0);
	assert_true(iscsi_nego_auth_ok(&n));
}

static void test_chap_wrong_secret_or_name(void **state)
{
	struct iscsi_nego n;
	char keys[256], hex[40];

	(void)state;
	chap_setup(&n, NULL);
	nego(&n, "AuthMethod=CHAP|CHAP_A=5", NULL, 0);
	chap_answer(&n, "initiator-secreT", hex, sizeof(hex));
	snprintf(keys, sizeof(keys), "CHAP_N=alice|CHAP_R=%s", hex);
	assert_int_equal(nego(&n, keys, NULL, 0), -EACCES);
	assert_int_equal(n.status, ISCSI_LOGIN_AUTH_FAILED);
	chap_setup(&n, NULL);
	nego(&n, "AuthMethod=CHAP|CHAP_A=5", NULL, 0);
	chap_answer(&n, "initiator-secret", hex, sizeof(hex));
	snprintf(keys, sizeof(keys), "CHAP_N=mallory|CHAP_R=%s", hex);
	assert_int_equal(nego(&n, keys, NULL, 0), -EACCES);
	/* MD5 is the only CHAP_A we take */
	chap_setup(&n, NULL);
	assert_int_equal(nego(&n, "AuthMethod=CHAP|CHAP_A=6,7", NULL, 0),
			 -EACCES);
	/* a response before the challenge */
	chap_setup(&n, NULL);
	assert_int_equal(nego(&n, "AuthMethod=CHAP|CHAP_N=alice|CHAP_R=0x00",
			      NULL, 0), -EACCES);
}

static void test_chap_mutual(void **state)
{
	struct iscsi_nego n;
	char a[512], keys[256], hex[40], want[40];
	uint8_t r[16];

	(void)state;
	chap_setup(&n, "target-secret-1");
	nego(&n, "AuthMethod=CHAP|CHAP_A=5", NULL, 0);
	chap_answer(&n, "initiator-secret", hex, sizeof(hex));
	snprintf(keys, sizeof(keys),
		 "CHAP_N=alice|CHAP_R=%s|CHAP_I=9|CHAP_C=0x0102030405", hex);
	assert_int_equal(nego(&n, keys, a, sizeof(a)), 0);
	iscsi_chap_response(9, (const uint8_t *)"target-secret-1", 15,
			    (const uint8_t *)"\1\2\3\4\5", 5, r);
	iscsi_encode_hex(r, 16, want, sizeof(want));
	snprintf(keys, sizeof(keys), "CHAP_N=tgt|CHAP_R=%s|", want);
	assert_non_null(strstr(a, keys));
	assert_true(iscsi_nego_auth_ok(&n));
}

static void test_chap_reflection_refused(void **state)
{
	struct iscsi_nego n;
	char keys[256], hex[40], ours[80];

	(void)state;
	chap_setup(&n, "target-secret-1");
	nego(&n, "AuthMethod=CHAP|CHAP_A=5", NULL, 0);
	chap_answer(&n, "initiator-secret", hex, sizeof(hex));
	iscsi_encode_hex(n.chap_challenge, sizeof(n.chap_challenge), ours,
			 sizeof(ours));
	snprintf(keys, sizeof(keys), "CHAP_N=alice|CHAP_R=%s|CHAP_I=7|"
		 "CHAP_C=%s", hex, ours);
	assert_int_equal(nego(&n, keys, NULL, 0), -EACCES);
	assert_false(iscsi_nego_auth_ok(&n));
	/* mutual CHAP without a target secret */
	chap_setup(&n, NULL);
	nego(&n, "AuthMethod=CHAP|CHAP_A=5", NULL, 0);
	chap_answer(&n, "initiator-secret", hex, sizeof(hex));
	snprintf(keys, sizeof(keys), "CHAP_N=alice|CHAP_R=%s|CHAP_I=7|"
		 "CHAP_C=0x11", hex);
	assert_int_equal(nego(&n, keys, NULL, 0), -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bhs_parse_scsi_command),
		cmocka_unit_test(test_bhs_parse_login_stages),
		cmocka_unit_test(test_bhs_datalen_padding),
		cmocka_unit_test(test_bhs_check),
		cmocka_unit_test(test_sn_serial_arithmetic),
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_digest_byte_order),
		cmocka_unit_test(test_build_login_rsp),
		cmocka_unit_test(test_build_scsi_rsp_sense_residual),
		cmocka_unit_test(test_build_data_in_status),
		cmocka_unit_test(test_build_others),
		cmocka_unit_test(test_login_initialr2t_or),
		cmocka_unit_test(test_login_immediatedata_and),
		cmocka_unit_test(test_login_numbers_min_max),
		cmocka_unit_test(test_login_number_out_of_range_reject),
		cmocka_unit_test(test_login_declarative_mrdsl),
		cmocka_unit_test(test_login_list_first_supported),
		cmocka_unit_test(test_login_unknown_and_private_keys),
		cmocka_unit_test(test_login_obsolete_markers_reject),
		cmocka_unit_test(test_login_first_burst_irrelevant),
		cmocka_unit_test(test_login_duplicate_key),
		cmocka_unit_test(test_login_malformed_text),
		cmocka_unit_test(test_login_session_type),
		cmocka_unit_test(test_text_get_and_next),
		cmocka_unit_test(test_chap_md5_rfc_vector),
		cmocka_unit_test(test_decode_binary),
		cmocka_unit_test(test_chap_one_way),
		cmocka_unit_test(test_chap_wrong_secret_or_name),
		cmocka_unit_test(test_chap_mutual),
		cmocka_unit_test(test_chap_reflection_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
