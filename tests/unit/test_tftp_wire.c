/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: TFTP wire format and option negotiation (lib/tftp_wire.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lb_util.h"
#include "tftp_wire.h"

static const struct tftp_limits lim = {
	.max_blksize = TFTP_BLKSIZE_MAX,
	.max_windowsize = 64,
	.max_window_bytes = 1024 * 1024,
};

/*
 * Build a request from NUL-separated pieces: rrq("f\0octet\0blksize\0"
 * "1432\0", n). The literal's own final NUL is not part of the packet.
 */
static size_t rrq(uint8_t *buf, uint16_t op, const char *body, size_t n)
{
	buf[0] = (uint8_t)(op >> 8);
	buf[1] = (uint8_t)op;
	memcpy(buf + 2, body, n);
	return n + 2;
}

#define RRQ(buf, lit) rrq(buf, TFTP_RRQ, lit, sizeof(lit) - 1)

/* Parse and negotiate; file size 1000. */
static void nego(const uint8_t *buf, size_t len, struct tftp_negotiated *neg)
{
	struct tftp_request req;

	assert_int_equal(tftp_parse_request(buf, len, &req), 0);
	tftp_negotiate(&req, 1000, &lim, neg);
}

static int acked(const struct tftp_negotiated *neg, enum tftp_opt_id id)
{
	unsigned i;

	for (i = 0; i < neg->nacked; i++)
		if (neg->order[i] == id)
			return 1;
	return 0;
}

static void test_rrq_plain(void **state)
{
	struct tftp_request req;
	uint8_t b[128];
	size_t n = RRQ(b, "pxelinux.0\0octet\0");

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.opcode, TFTP_RRQ);
	assert_string_equal(req.filename, "pxelinux.0");
	assert_int_equal(req.filename_len, 10);
	assert_int_equal(req.mode, TFTP_MODE_OCTET);
	assert_int_equal(req.nopts, 0);
	assert_int_equal(req.trailing_garbage, 0);
}

static void test_wrq_parsed(void **state)
{
	struct tftp_request req;
	uint8_t b[128];
	size_t n = rrq(b, TFTP_WRQ, "x\0octet\0", 8);

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.opcode, TFTP_WRQ);
}

static void test_mode_case_insensitive(void **state)
{
	struct tftp_request req;
	uint8_t b[128];
	size_t n = RRQ(b, "f\0OcTeT\0");

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.mode, TFTP_MODE_OCTET);
	n = RRQ(b, "f\0NETASCII\0");
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.mode, TFTP_MODE_NETASCII);
	n = RRQ(b, "f\0binary\0");
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.mode, TFTP_MODE_UNKNOWN);
}

static void test_filename_missing_nul(void **state)
{
	struct tftp_request req;
	uint8_t b[128];
	size_t n = RRQ(b, "pxelinux.0");

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), EINVAL_TFTP_FILENAME);
}

static void test_mode_missing_nul(void **state)
{
	struct tftp_request req;
	uint8_t b[128];
	size_t n = RRQ(b, "f\0octet");

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), EINVAL_TFTP_MODE);
}

static void test_runt_and_bad_opcode(void **state)
{
	struct tftp_request req;
	uint8_t b[8] = { 0, 1 };

	(void)state;
	assert_int_equal(tftp_parse_request(b, 0, &req), EINVAL_TFTP_SHORT);
	assert_int_equal(tftp_parse_request(b, 1, &req), EINVAL_TFTP_SHORT);
	assert_int_equal(tftp_parse_request(b, 2, &req), EINVAL_TFTP_FILENAME);
	b[1] = TFTP_ACK;
	assert_int_equal(tftp_parse_request(b, 4, &req), EINVAL_TFTP_OPCODE);
}

static void test_option_value_missing_nul(void **state)
{
	struct tftp_request req;
	uint8_t b[128];
	size_t n = RRQ(b, "f\0octet\0tsize\0000\0blksize\0001432");

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.nopts, 1);
	assert_string_equal(req.opts[0].name, "tsize");
	assert_int_equal(req.trailing_garbage, 12);
}

static void test_trailing_garbage(void **state)
{
	struct tftp_request req;
	struct tftp_negotiated neg;
	uint8_t b[128];
	/* Apple OpenFirmware style junk after the last pair */
	size_t n = RRQ(b, "f\0octet\0blksize\0001024\0\xff\xfe");

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.nopts, 1);
	assert_int_equal(req.trailing_garbage, 2);
	tftp_negotiate(&req, 1000, &lim, &neg);
	assert_int_equal(neg.blksize, 1024);
}

static void test_blksize_7_declined(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\0007\0"), &neg);
	assert_int_equal(neg.blksize, 512);
	assert_false(acked(&neg, TFTP_OPT_BLKSIZE));
	assert_int_equal(neg.nacked, 0);
}

static void test_blksize_8_ok(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\0008\0"), &neg);
	assert_int_equal(neg.blksize, 8);
	assert_true(acked(&neg, TFTP_OPT_BLKSIZE));
}

static void test_blksize_65464_ok(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\00065464\0"), &neg);
	assert_int_equal(neg.blksize, 65464);
}

/* RFC 2348: the OACK may carry a smaller value than asked: clamp */
static void test_blksize_65465_clamped(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\00065465\0"), &neg);
	assert_int_equal(neg.blksize, 65464);
	assert_true(acked(&neg, TFTP_OPT_BLKSIZE));
	nego(b, RRQ(b, "f\0octet\0blksize\000999999999999999999999\0"), &neg);
	assert_int_equal(neg.blksize, 65464);
}

static void test_blksize_not_a_number(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\0-1\0"), &neg);
	assert_int_equal(neg.blksize, 512);
	nego(b, RRQ(b, "f\0octet\0blksize\0\0"), &neg);
	assert_int_equal(neg.blksize, 512);
	nego(b, RRQ(b, "f\0octet\0blksize\0 1024\0"), &neg);
	assert_int_equal(neg.blksize, 512);
	assert_int_equal(neg.nacked, 0);
}

static void test_blksize_server_limit(void **state)
{
	struct tftp_limits small = lim;
	struct tftp_request req;
	struct tftp_negotiated neg;
	uint8_t b[128];
	size_t n = RRQ(b, "f\0octet\0blksize\0004096\0");

	(void)state;
	small.max_blksize = 1468;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	tftp_negotiate(&req, 1, &small, &neg);
	assert_int_equal(neg.blksize, 1468);
}

static void test_tsize_reply(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128], o[128];
	int len;

	(void)state;
	nego(b, RRQ(b, "f\0octet\0tsize\0000\0"), &neg);
	assert_true(acked(&neg, TFTP_OPT_TSIZE));
	assert_int_equal(neg.tsize, 1000);
	len = tftp_build_oack(o, sizeof(o), &neg);
	assert_int_equal(len, 2 + 6 + 5);
	assert_memory_equal(o, "\0\6tsize\0" "1000\0", 13);
}

static void test_tsize_empty_file_declined(void **state)
{
	struct tftp_request req;
	struct tftp_negotiated neg;
	uint8_t b[128];
	size_t n = RRQ(b, "f\0octet\0tsize\0000\0");

	(void)state;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	tftp_negotiate(&req, 0, &lim, &neg);
	assert_int_equal(neg.nacked, 0);
}

static void test_tsize_garbage_declined(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0tsize\0abc\0"), &neg);
	assert_int_equal(neg.nacked, 0);
}

static void test_timeout_range(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0timeout\0000\0"), &neg);
	assert_false(acked(&neg, TFTP_OPT_TIMEOUT));
	nego(b, RRQ(b, "f\0octet\0timeout\0001\0"), &neg);
	assert_int_equal(neg.timeout_s, 1);
	nego(b, RRQ(b, "f\0octet\0timeout\000255\0"), &neg);
	assert_int_equal(neg.timeout_s, 255);
	nego(b, RRQ(b, "f\0octet\0timeout\000256\0"), &neg);
	assert_false(acked(&neg, TFTP_OPT_TIMEOUT));
	assert_int_equal(neg.timeout_s, 0);
}

/* RFC 2349: the OACK must echo the client's value, so one above the
 * server's limit is declined, never answered smaller */
static void test_timeout_over_limit_declined(void **state)
{
	struct tftp_limits strict = lim;
	struct tftp_request req;
	struct tftp_negotiated neg;
	uint8_t b[128];
	size_t n;

	(void)state;
	strict.max_timeout_s = 5;
	n = RRQ(b, "f\0octet\0timeout\0005\0");
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	tftp_negotiate(&req, 1000, &strict, &neg);
	assert_true(acked(&neg, TFTP_OPT_TIMEOUT));
	assert_int_equal(neg.timeout_s, 5);
	n = RRQ(b, "f\0octet\0timeout\000255\0blksize\0001024\0");
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	tftp_negotiate(&req, 1000, &strict, &neg);
	assert_false(acked(&neg, TFTP_OPT_TIMEOUT));
	assert_int_equal(neg.timeout_s, 0);
	assert_int_equal(neg.nacked, 1);	/* blksize still goes */
}

static void test_windowsize(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0windowsize\0004\0"), &neg);
	assert_int_equal(neg.windowsize, 4);
	nego(b, RRQ(b, "f\0octet\0windowsize\0000\0"), &neg);
	assert_int_equal(neg.windowsize, 1);
	assert_false(acked(&neg, TFTP_OPT_WINDOWSIZE));
	nego(b, RRQ(b, "f\0octet\0windowsize\00065535\0"), &neg);
	assert_int_equal(neg.windowsize, 64);	/* server max, RFC 7440 §3 */
	nego(b, RRQ(b, "f\0octet\0windowsize\00065536\0"), &neg);
	assert_false(acked(&neg, TFTP_OPT_WINDOWSIZE));
}

static void test_windowsize_bounded_by_memory(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\00065464\0windowsize\00064\0"), &neg);
	assert_int_equal(neg.blksize, 65464);
	assert_int_equal(neg.windowsize, (1024 * 1024) / 65464);
}

static void test_duplicate_options_first_wins(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\0001024\0BLKSIZE\0002048\0"), &neg);
	assert_int_equal(neg.blksize, 1024);
	assert_int_equal(neg.nacked, 1);
}

static void test_unknown_options_skipped(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0multicast\0\0blksize\0001432\0x\0y\0"), &neg);
	assert_int_equal(neg.nacked, 1);
	assert_int_equal(neg.blksize, 1432);
}

static void test_option_names_case_insensitive(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0BlkSize\0001468\0TSIZE\0000\0"), &neg);
	assert_int_equal(neg.blksize, 1468);
	assert_true(acked(&neg, TFTP_OPT_TSIZE));
}

/* OVMF: tsize=0 blksize=1468 windowsize=4, answered in that order */
static void test_oack_ovmf(void **state)
{
	static const char want[] =
		"\0\6tsize\0" "1000\0blksize\0" "1468\0windowsize\0" "4";
	struct tftp_negotiated neg;
	uint8_t b[128], o[128];
	int len;

	(void)state;
	nego(b, RRQ(b, "f\0octet\0tsize\0000\0blksize\0001468\0windowsize\0004\0"),
	     &neg);
	len = tftp_build_oack(o, sizeof(o), &neg);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(o, want, sizeof(want));
}

static void test_oack_too_small_buffer(void **state)
{
	struct tftp_negotiated neg;
	uint8_t b[128], o[8];

	(void)state;
	nego(b, RRQ(b, "f\0octet\0blksize\0001468\0"), &neg);
	assert_int_equal(tftp_build_oack(o, sizeof(o), &neg), ENOBUFS_TFTP_BUILD);
}

static void test_error_build(void **state)
{
	uint8_t o[64];
	int len;

	(void)state;
	len = tftp_build_error(o, sizeof(o), TFTP_ENOTFOUND, "file not found");
	assert_int_equal(len, 4 + 15);
	assert_memory_equal(o, "\0\5\0\1file not found\0", 19);
	len = tftp_build_error(o, sizeof(o), TFTP_EACCESS, NULL);
	assert_memory_equal(o, "\0\5\0\2access violation\0", 21);
	assert_int_equal(tftp_build_error(o, 10, 0, "too long a message"),
			 ENOBUFS_TFTP_BUILD);
}

static void test_error_parse(void **state)
{
	const char *msg;
	size_t mlen;
	uint16_t code;

	(void)state;
	assert_int_equal(tftp_parse_error("\0\5\0\10abort\0", 10, &code, &msg,
					  &mlen), 0);
	assert_int_equal(code, TFTP_EOPTNEG);
	assert_int_equal(mlen, 5);
	/* message without NUL: tolerated */
	assert_int_equal(tftp_parse_error("\0\5\0\0ab", 6, &code, &msg, &mlen), 0);
	assert_int_equal(mlen, 2);
	assert_int_equal(tftp_parse_error("\0\5\0", 3, &code, &msg, &mlen),
			 EINVAL_TFTP_SHORT);
}

static void test_ack_data(void **state)
{
	uint8_t b[8], h[TFTP_HDR_LEN];
	const uint8_t *d;
	size_t dlen;
	uint16_t blk;

	(void)state;
	assert_int_equal(tftp_build_ack(b, sizeof(b), 65535), 4);
	assert_int_equal(tftp_parse_ack(b, 4, &blk), 0);
	assert_int_equal(blk, 65535);
	assert_int_equal(tftp_parse_ack(b, 3, &blk), EINVAL_TFTP_SHORT);
	tftp_build_data_hdr(h, 0);	/* block 65536 wraps to 0 */
	memcpy(b, h, 4);
	b[4] = 'x';
	assert_int_equal(tftp_parse_data(b, 5, &blk, &d, &dlen), 0);
	assert_int_equal(blk, 0);
	assert_int_equal(dlen, 1);
	assert_int_equal(tftp_parse_ack(b, 5, &blk), EINVAL_TFTP_OPCODE);
}

static void test_too_many_options(void **state)
{
	struct tftp_request req;
	uint8_t b[512];
	size_t n = 0;
	int i;

	(void)state;
	memcpy(b, "\0\1f\0octet\0", 10);
	n = 10;
	for (i = 0; i < 40; i++) {
		memcpy(b + n, "a\0b\0", 4);
		n += 4;
	}
	memcpy(b + n, "blksize\0" "1024\0", 13);
	n += 13;
	assert_int_equal(tftp_parse_request(b, n, &req), 0);
	assert_int_equal(req.nopts, TFTP_REQ_MAX_OPTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rrq_plain),
		cmocka_unit_test(test_wrq_parsed),
		cmocka_unit_test(test_mode_case_insensitive),
		cmocka_unit_test(test_filename_missing_nul),
		cmocka_unit_test(test_mode_missing_nul),
		cmocka_unit_test(test_runt_and_bad_opcode),
		cmocka_unit_test(test_option_value_missing_nul),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_blksize_7_declined),
		cmocka_unit_test(test_blksize_8_ok),
		cmocka_unit_test(test_blksize_65464_ok),
		cmocka_unit_test(test_blksize_65465_clamped),
		cmocka_unit_test(test_blksize_not_a_number),
		cmocka_unit_test(test_blksize_server_limit),
		cmocka_unit_test(test_tsize_reply),
		cmocka_unit_test(test_tsize_empty_file_declined),
		cmocka_unit_test(test_tsize_garbage_declined),
		cmocka_unit_test(test_timeout_range),
		cmocka_unit_test(test_timeout_over_limit_declined),
		cmocka_unit_test(test_windowsize),
		cmocka_unit_test(test_windowsize_bounded_by_memory),
		cmocka_unit_test(test_duplicate_options_first_wins),
		cmocka_unit_test(test_unknown_options_skipped),
		cmocka_unit_test(test_option_names_case_insensitive),
		cmocka_unit_test(test_oack_ovmf),
		cmocka_unit_test(test_oack_too_small_buffer),
		cmocka_unit_test(test_error_build),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_ack_data),
		cmocka_unit_test(test_too_many_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
