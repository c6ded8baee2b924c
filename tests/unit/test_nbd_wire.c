/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: lib/nbd_wire (handshake options, requests, replies, chunks). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lb_err.h"
#include "nbd_wire.h"

static void test_greeting_roundtrip(void **state)
{
	uint8_t b[32];
	uint16_t f = 0;

	(void)state;
	assert_int_equal(nbd_build_greeting(b, sizeof(b), NBD_FLAG_FIXED_NEWSTYLE |
					    NBD_FLAG_NO_ZEROES), 18);
	assert_memory_equal(b, "NBDMAGICIHAVEOPT\x00\x03", 18);
	assert_int_equal(nbd_parse_greeting(b, 18, &f), 0);
	assert_int_equal(f, 3);
	assert_int_equal(nbd_parse_greeting(b, 17, &f), -EAGAIN);
	assert_int_equal(nbd_build_greeting(b, 17, 0), -ENOSPC);
}

static void test_greeting_oldstyle_rejected(void **state)
{
	uint8_t b[32];
	uint16_t f;

	(void)state;
	nbd_put64(b, NBD_MAGIC);
	nbd_put64(b + 8, NBD_OLD_MAGIC);
	assert_int_equal(nbd_parse_greeting(b, 18, &f), -EBADMSG);
}

static void test_client_flags(void **state)
{
	uint8_t b[4];
	uint32_t cf;
	uint16_t hf = NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES;

	(void)state;
	nbd_build_client_flags(b, sizeof(b), NBD_FLAG_C_FIXED_NEWSTYLE |
			       NBD_FLAG_C_NO_ZEROES);
	assert_int_equal(nbd_parse_client_flags(b, 4, hf, &cf), 0);
	assert_int_equal(cf, 3);
	assert_int_equal(nbd_parse_client_flags(b, 3, hf, &cf), -EAGAIN);
	/* NO_ZEROES not offered -> MUST drop */
	assert_int_equal(nbd_parse_client_flags(b, 4, NBD_FLAG_FIXED_NEWSTYLE,
						&cf), -EINVAL);
	nbd_put32(b, 1U << 7);
	assert_int_equal(nbd_parse_client_flags(b, 4, hf, &cf), -EINVAL);
}

static void test_opt_hdr_roundtrip(void **state)
{
	uint8_t b[16];
	struct nbd_opt_hdr h;

	(void)state;
	assert_int_equal(nbd_build_opt_hdr(b, sizeof(b), NBD_OPT_GO, 42), 16);
	assert_int_equal(nbd_parse_opt_hdr(b, 16, 4096, &h), 0);
	assert_int_equal(h.opt, NBD_OPT_GO);
	assert_int_equal(h.len, 42);
}

static void test_opt_hdr_truncated(void **state)
{
	uint8_t b[16];
	struct nbd_opt_hdr h;
	size_t i;

	(void)state;
	nbd_build_opt_hdr(b, sizeof(b), NBD_OPT_LIST, 0);
	for (i = 0; i < 16; i++)
		assert_int_equal(nbd_parse_opt_hdr(b, i, 4096, &h), -EAGAIN);
}

static void test_opt_hdr_oversized(void **state)
{
	uint8_t b[16];
	struct nbd_opt_hdr h;

	(void)state;
	nbd_build_opt_hdr(b, sizeof(b), NBD_OPT_EXPORT_NAME, 0xffffffffU);
	assert_int_equal(nbd_parse_opt_hdr(b, 16, 16384, &h), -EMSGSIZE);
	assert_int_equal(h.len, 0xffffffffU);
	nbd_build_opt_hdr(b, sizeof(b), NBD_OPT_EXPORT_NAME, 16385);
	assert_int_equal(nbd_parse_opt_hdr(b, 16, 16384, &h), -EMSGSIZE);
	nbd_build_opt_hdr(b, sizeof(b), NBD_OPT_EXPORT_NAME, 16384);
	assert_int_equal(nbd_parse_opt_hdr(b, 16, 16384, &h), 0);
}

static void test_opt_hdr_bad_magic(void **state)
{
	uint8_t b[16];
	struct nbd_opt_hdr h;

	(void)state;
	nbd_build_opt_hdr(b, sizeof(b), NBD_OPT_GO, 0);
	b[3] ^= 1;
	/* detected as soon as the 8 magic bytes are in */
	assert_int_equal(nbd_parse_opt_hdr(b, 8, 4096, &h), -EBADMSG);
	assert_int_equal(nbd_parse_opt_hdr(b, 16, 4096, &h), -EBADMSG);
	memcpy(b, "GET / HTTP/1.1\r\n", 16);
	assert_int_equal(nbd_parse_opt_hdr(b, 16, 4096, &h), -EBADMSG);
}

static void test_opt_go_parse(void **state)
{
	static const uint16_t infos[] = { NBD_INFO_BLOCK_SIZE, NBD_INFO_NAME };
	uint8_t b[64];
	struct nbd_opt_go go;
	int n;

	(void)state;
	n = nbd_build_opt_go(b, sizeof(b), "disk@2", infos, 2);
	assert_int_equal(n, 4 + 6 + 2 + 4);
	assert_int_equal(nbd_parse_opt_go(b, (size_t)n, &go), 0);
	assert_int_equal(go.name_len, 6);
	assert_memory_equal(go.name, "disk@2", 6);
	assert_int_equal(go.ninfo, 2);
	assert_int_equal(nbd_opt_go_info(&go, 0), NBD_INFO_BLOCK_SIZE);
	assert_int_equal(nbd_opt_go_info(&go, 1), NBD_INFO_NAME);
}

static void test_opt_go_empty_name(void **state)
{
	uint8_t b[8];
	struct nbd_opt_go go;
	int n;

	(void)state;
	n = nbd_build_opt_go(b, sizeof(b), "", NULL, 0);
	assert_int_equal(n, 6);
	assert_int_equal(nbd_parse_opt_go(b, 6, &go), 0);
	assert_int_equal(go.name_len, 0);
	assert_int_equal(go.ninfo, 0);
}

static void test_opt_go_truncated(void **state)
{
	static const uint16_t infos[] = { NBD_INFO_EXPORT };
	uint8_t b[64];
	struct nbd_opt_go go;
	int n, i;

	(void)state;
	n = nbd_build_opt_go(b, sizeof(b), "abc", infos, 1);
	for (i = 0; i < n; i++)
		assert_int_equal(nbd_parse_opt_go(b, (size_t)i, &go), -EINVAL);
	/* trailing garbage is malformed too */
	assert_int_equal(nbd_parse_opt_go(b, (size_t)n + 1, &go), -EINVAL);
}

static void test_opt_go_name_len_overflow(void **state)
{
	uint8_t b[16] = { 0 };
	struct nbd_opt_go go;

	(void)state;
	nbd_put32(b, 0xfffffffeU);	/* would wrap 4 + len + 2 */
	assert_int_equal(nbd_parse_opt_go(b, sizeof(b), &go), -EINVAL);
	nbd_put32(b, 11);		/* 4 + 11 = 15, no room for count */
	assert_int_equal(nbd_parse_opt_go(b, sizeof(b), &go), -EINVAL);
	nbd_put32(b, 10);		/* count 0 fits exactly */
	assert_int_equal(nbd_parse_opt_go(b, sizeof(b), &go), 0);
}

static void test_opt_reply_and_server(void **state)
{
	uint8_t b[128];
	struct nbd_opt_reply r;
	const char *name, *desc;
	uint32_t nl, dl;
	int n;

	(void)state;
	n = nbd_build_rep_server(b, sizeof(b), NBD_OPT_LIST, "img", "desc");
	assert_int_equal(n, 20 + 4 + 3 + 4);
	assert_int_equal(nbd_parse_opt_reply(b, (size_t)n, &r), 0);
	assert_int_equal(r.opt, NBD_OPT_LIST);
	assert_int_equal(r.type, NBD_REP_SERVER);
	assert_int_equal(r.len, 11);
	assert_int_equal(nbd_parse_rep_server(b + 20, r.len, &name, &nl, &desc,
					      &dl), 0);
	assert_memory_equal(name, "img", nl);
	assert_memory_equal(desc, "desc", dl);
	assert_int_equal(nbd_build_rep_server(b, 30, NBD_OPT_LIST, "img",
					      "desc"), -ENOSPC);
	/* name length larger than the reply */
	nbd_put32(b + 20, 8);
	assert_int_equal(nbd_parse_rep_server(b + 20, 7, &name, &nl, &desc,
					      &dl), -EINVAL);
	b[0] ^= 0xff;
	assert_int_equal(nbd_parse_opt_reply(b, 20, &r), -EBADMSG);
}

static void test_rep_error_text(void **state)
{
	uint8_t b[64];
	struct nbd_opt_reply r;
	int n;

	(void)state;
	n = nbd_build_rep_text(b, sizeof(b), 99, NBD_REP_ERR_UNSUP, NULL);
	assert_int_equal(n, 20);
	assert_int_equal(nbd_parse_opt_reply(b, 20, &r), 0);
	assert_int_equal(r.type, NBD_REP_ERR_UNSUP);
	assert_true(r.type & NBD_REP_FLAG_ERROR);
	assert_int_equal(r.len, 0);
	n = nbd_build_rep_text(b, sizeof(b), 7, NBD_REP_ERR_UNKNOWN, "nope");
	assert_int_equal(n, 24);
	assert_memory_equal(b + 20, "nope", 4);
}

static void test_rep_info_roundtrip(void **state)
{
	uint8_t b[128];
	struct nbd_info in;
	int n;

	(void)state;
	n = nbd_build_rep_info_export(b, sizeof(b), NBD_OPT_GO, 1ULL << 40,
				      NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
	assert_int_equal(n, 32);
	assert_int_equal(nbd_parse_rep_info(b + 20, 12, &in), 0);
	assert_int_equal(in.type, NBD_INFO_EXPORT);
	assert_true(in.size == 1ULL << 40);
	assert_int_equal(in.tflags, 3);
	assert_int_equal(nbd_parse_rep_info(b + 20, 11, &in), -EINVAL);

	n = nbd_build_rep_info_block_size(b, sizeof(b), NBD_OPT_GO, 1, 4096,
					  32 << 20);
	assert_int_equal(n, 34);
	assert_int_equal(nbd_parse_rep_info(b + 20, 14, &in), 0);
	assert_int_equal(in.min_block, 1);
	assert_int_equal(in.pref_block, 4096);
	assert_int_equal(in.max_block, 32 << 20);

	n = nbd_build_rep_info_text(b, sizeof(b), NBD_OPT_GO, NBD_INFO_NAME,
				    "x@1");
	assert_int_equal(n, 25);
	assert_int_equal(nbd_parse_rep_info(b + 20, 5, &in), 0);
	assert_int_equal(in.text_len, 3);
	assert_memory_equal(in.text, "x@1", 3);
	/* unknown info types are ignored, not errors */
	nbd_put16(b, 77);
	assert_int_equal(nbd_parse_rep_info(b, 9, &in), 0);
	assert_int_equal(in.type, 77);
}

static void test_export_name_reply(void **state)
{
	uint8_t b[140];
	uint64_t size;
	uint16_t tf;

	(void)state;
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(nbd_build_export_name_reply(b, sizeof(b), 4096, 1, 0),
			 134);
	assert_int_equal(b[133], 0);
	assert_int_equal(nbd_build_export_name_reply(b, sizeof(b), 4096, 1, 1),
			 10);
	assert_int_equal(nbd_parse_export_name_reply(b, 10, &size, &tf), 0);
	assert_true(size == 4096);
	assert_int_equal(tf, 1);
	assert_int_equal(nbd_build_export_name_reply(b, 133, 1, 1, 0), -ENOSPC);
}

static void test_request_roundtrip(void **state)
{
	struct nbd_request in = {
		.flags = NBD_CMD_FLAG_FUA, .type = NBD_CMD_WRITE,
		.handle = 0x0102030405060708ULL, .offset = 1ULL << 33,
		.length = 65536,
	}, out;
	uint8_t b[28];

	(void)state;
	assert_int_equal(nbd_build_request(b, sizeof(b), &in), 28);
	assert_memory_equal(b, "\x25\x60\x95\x13\x00\x01\x00\x01", 8);
	assert_int_equal(nbd_parse_request(b, 28, &out), 0);
	assert_int_equal(out.flags, in.flags);
	assert_int_equal(out.type, in.type);
	assert_true(out.handle == in.handle);
	assert_true(out.offset == in.offset);
	assert_int_equal(out.length, in.length);
}

static void test_request_truncated(void **state)
{
	struct nbd_request rq = { .type = NBD_CMD_READ, .length = 1 };
	uint8_t b[28];
	size_t i;

	(void)state;
	nbd_build_request(b, sizeof(b), &rq);
	for (i = 0; i < 28; i++)
		assert_int_equal(nbd_parse_request(b, i, &rq), -EAGAIN);
}

static void test_request_bad_magic(void **state)
{
	struct nbd_request rq = { .type = NBD_CMD_READ, .length = 1 };
	uint8_t b[28];

	(void)state;
	nbd_build_request(b, sizeof(b), &rq);
	b[0] = 0x26;
	assert_int_equal(nbd_parse_request(b, 4, &rq), -EBADMSG);
	assert_int_equal(nbd_parse_request(b, 28, &rq), -EBADMSG);
	/* extended-header requests are not negotiated: also bad magic */
	nbd_put32(b, NBD_EXTENDED_REQUEST_MAGIC);
	assert_int_equal(nbd_parse_request(b, 28, &rq), -EBADMSG);
}

static void test_simple_reply(void **state)
{
	uint8_t b[16];
	struct nbd_reply r;

	(void)state;
	assert_int_equal(nbd_build_simple_reply(b, sizeof(b), NBD_EINVAL, 7), 16);
	assert_memory_equal(b, "\x67\x44\x66\x98\x00\x00\x00\x16", 8);
	assert_int_equal(nbd_parse_reply(b, 15, &r), -EAGAIN);
	assert_int_equal(nbd_parse_reply(b, 16, &r), 0);
	assert_int_equal(r.structured, 0);
	assert_int_equal(r.error, NBD_EINVAL);
	assert_true(r.handle == 7);
	assert_int_equal(nbd_build_simple_reply(b, 15, 0, 7), -ENOSPC);
}

static void test_chunk_offset_data(void **state)
{
	uint8_t b[64];
	struct nbd_reply r;

	(void)state;
	assert_int_equal(nbd_build_chunk_offset_data(b, sizeof(b),
						     NBD_REPLY_FLAG_DONE, 9,
						     4096, 512), 28);
	assert_int_equal(nbd_parse_reply(b, 19, &r), -EAGAIN);
	assert_int_equal(nbd_parse_reply(b, 20, &r), 0);
	assert_int_equal(r.structured, 1);
	assert_int_equal(r.flags, NBD_REPLY_FLAG_DONE);
	assert_int_equal(r.type, NBD_REPLY_TYPE_OFFSET_DATA);
	assert_true(r.handle == 9);
	assert_int_equal(r.length, 8 + 512);
	assert_true(nbd_get64(b + 20) == 4096);
}

static void test_chunk_offset_hole(void **state)
{
	uint8_t b[64];
	struct nbd_reply r;

	(void)state;
	assert_int_equal(nbd_build_chunk_offset_hole(b, sizeof(b), 0, 3, 8192,
						     1024), 32);
	assert_int_equal(nbd_parse_reply(b, 32, &r), 0);
	assert_int_equal(r.type, NBD_REPLY_TYPE_OFFSET_HOLE);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.length, 12);
	assert_int_equal(nbd_get32(b + 28), 1024);
}

static void test_chunk_error(void **state)
{
	uint8_t b[64];
	struct nbd_reply r;
	const char *msg;
	uint16_t ml;
	uint32_t err;
	int n;

	(void)state;
	n = nbd_build_chunk_error(b, sizeof(b), NBD_REPLY_FLAG_DONE, 5,
				  NBD_EIO, "I/O error");
	assert_int_equal(n, 20 + 6 + 9);
	assert_int_equal(nbd_parse_reply(b, (size_t)n, &r), 0);
	assert_int_equal(r.type, NBD_REPLY_TYPE_ERROR);
	assert_true(r.type & NBD_REPLY_TYPE_ERROR_BIT);
	assert_int_equal(r.length, 15);
	assert_int_equal(nbd_parse_chunk_error(b + 20, r.length, &err, &msg,
					       &ml), 0);
	assert_int_equal(err, NBD_EIO);
	assert_memory_equal(msg, "I/O error", ml);
	/* message longer than the chunk */
	assert_int_equal(nbd_parse_chunk_error(b + 20, 10, &err, &msg, &ml),
			 -EINVAL);
	/* error 0 is not allowed in an error chunk */
	nbd_put32(b + 20, 0);
	assert_int_equal(nbd_parse_chunk_error(b + 20, r.length, &err, &msg,
					       &ml), -EINVAL);
	assert_int_equal(nbd_build_chunk_error(b, 30, 0, 5, NBD_EIO,
					       "I/O error"), -ENOSPC);
}

static void test_reply_bad_magic(void **state)
{
	uint8_t b[20] = { 0x12, 0x34, 0x56, 0x78 };
	struct nbd_reply r;

	(void)state;
	assert_int_equal(nbd_parse_reply(b, 20, &r), -EBADMSG);
}

#define TF_RW (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | \
	       NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES)
#define TF_RO (NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY | NBD_FLAG_SEND_FLUSH)

static int validate(uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
		    uint16_t tflags)
{
	struct nbd_request rq = { .type = type, .flags = flags, .offset = off,
				  .length = len };

	return nbd_validate_request(&rq, 1 << 20, tflags, 32 << 20, 0);
}

static void test_validate_range(void **state)
{
	(void)state;
	assert_int_equal(validate(NBD_CMD_READ, 0, 0, 1 << 20, TF_RO), 0);
	assert_int_equal(validate(NBD_CMD_READ, 0, 1, 1 << 20, TF_RO), -EINVAL);
	assert_int_equal(validate(NBD_CMD_READ, 0, (1 << 20) - 1, 1, TF_RO), 0);
	assert_int_equal(validate(NBD_CMD_READ, 0, 1 << 20, 1, TF_RO), -EINVAL);
	/* offset + length wraps around 2^64 */
	assert_int_equal(validate(NBD_CMD_READ, 0, UINT64_MAX, 2, TF_RO),
			 -EINVAL);
	assert_int_equal(validate(NBD_CMD_READ, 0, 0, 0, TF_RO), -EINVAL);
}

static void test_validate_oversized(void **state)
{
	struct nbd_request rq = { .type = NBD_CMD_READ, .length = 33 << 20 };

	(void)state;
	assert_int_equal(nbd_validate_request(&rq, 1ULL << 40, TF_RW, 32 << 20,
					      0), -EOVERFLOW);
	rq.type = NBD_CMD_WRITE;
	assert_int_equal(nbd_validate_request(&rq, 1ULL << 40, TF_RW, 32 << 20,
					      0), -EOVERFLOW);
	/* TRIM carries no payload: no size limit */
	rq.type = NBD_CMD_TRIM;
	assert_int_equal(nbd_validate_request(&rq, 1ULL << 40, TF_RW, 32 << 20,
					      0), 0);
}

static void test_validate_read_only(void **state)
{
	(void)state;
	assert_int_equal(validate(NBD_CMD_WRITE, 0, 0, 512, TF_RO), -EPERM);
	assert_int_equal(validate(NBD_CMD_WRITE, 0, 0, 512, TF_RW), 0);
	assert_int_equal(validate(NBD_CMD_FLUSH, 0, 0, 0, TF_RO), 0);
}

static void test_validate_flags_and_commands(void **state)
{
	(void)state;
	assert_int_equal(validate(NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 1, TF_RW),
			 0);
	assert_int_equal(validate(NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE |
				  NBD_CMD_FLAG_FUA, 0, 1, TF_RW), 0);
	/* FUA not advertised */
	assert_int_equal(validate(NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 1,
				  NBD_FLAG_HAS_FLAGS), -EINVAL);
	/* DF on READ needs structured replies */
	assert_int_equal(validate(NBD_CMD_READ, NBD_CMD_FLAG_DF, 0, 1, TF_RW),
			 -EINVAL);
	/* TRIM not advertised on this export */
	assert_int_equal(validate(NBD_CMD_TRIM, 0, 0, 1, NBD_FLAG_HAS_FLAGS),
			 -EINVAL);
	assert_int_equal(validate(NBD_CMD_BLOCK_STATUS, 0, 0, 1, TF_RW),
			 -EINVAL);
	assert_int_equal(validate(99, 0, 0, 1, TF_RW), -EINVAL);
	assert_int_equal(validate(NBD_CMD_DISC, 0, 0, 0, TF_RW), 0);
}

static void test_errno_mapping(void **state)
{
	(void)state;
	assert_int_equal(nbd_errno(0), 0);
	assert_int_equal(nbd_errno(-EROFS), NBD_EPERM);
	assert_int_equal(nbd_errno(-EIO), NBD_EIO);
	assert_int_equal(nbd_errno(-ENOSPC), NBD_ENOSPC);
	assert_int_equal(nbd_errno(-EDQUOT), NBD_ENOSPC);
	assert_int_equal(nbd_errno(-EOVERFLOW), NBD_EOVERFLOW);
	assert_int_equal(nbd_errno(-ENOENT), NBD_EINVAL);
	assert_int_equal(nbd_errno(EIO), NBD_EIO);
	/* a tagged rc maps by its errno */
	assert_int_equal(nbd_errno(ERR(ENOSPC, MOD_NBD, 3)), NBD_ENOSPC);
	assert_int_equal(nbd_wire_errno(NBD_ESHUTDOWN), ESHUTDOWN);
	assert_int_equal(nbd_wire_errno(12345), EINVAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nbd_opt_name(NBD_OPT_GO), "NBD_OPT_GO");
	assert_string_equal(nbd_rep_name(NBD_REP_ERR_UNSUP),
			    "NBD_REP_ERR_UNSUP");
	assert_string_equal(nbd_cmd_name(NBD_CMD_WRITE_ZEROES),
			    "NBD_CMD_WRITE_ZEROES");
	assert_string_equal(nbd_info_name(NBD_INFO_BLOCK_SIZE),
			    "NBD_INFO_BLOCK_SIZE");
	assert_string_equal(nbd_err_name(NBD_EOVERFLOW), "NBD_EOVERFLOW");
	assert_string_equal(nbd_opt_name(1000), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_roundtrip),
		cmocka_unit_test(test_greeting_oldstyle_rejected),
		cmocka_unit_test(test_client_flags),
		cmocka_unit_test(test_opt_hdr_roundtrip),
		cmocka_unit_test(test_opt_hdr_truncated),
		cmocka_unit_test(test_opt_hdr_oversized),
		cmocka_unit_test(test_opt_hdr_bad_magic),
		cmocka_unit_test(test_opt_go_parse),
		cmocka_unit_test(test_opt_go_empty_name),
		cmocka_unit_test(test_opt_go_truncated),
		cmocka_unit_test(test_opt_go_name_len_overflow),
		cmocka_unit_test(test_opt_reply_and_server),
		cmocka_unit_test(test_rep_error_text),
		cmocka_unit_test(test_rep_info_roundtrip),
		cmocka_unit_test(test_export_name_reply),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_truncated),
		cmocka_unit_test(test_request_bad_magic),
		cmocka_unit_test(test_simple_reply),
		cmocka_unit_test(test_chunk_offset_data),
		cmocka_unit_test(test_chunk_offset_hole),
		cmocka_unit_test(test_chunk_error),
		cmocka_unit_test(test_reply_bad_magic),
		cmocka_unit_test(test_validate_range),
		cmocka_unit_test(test_validate_oversized),
		cmocka_unit_test(test_validate_read_only),
		cmocka_unit_test(test_validate_flags_and_commands),
		cmocka_unit_test(test_errno_mapping),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
