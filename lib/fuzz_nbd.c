/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD parsers a server feeds with peer bytes
 * (lib/nbd_wire.c): the input is a client's byte stream, parsed the way
 * server-stub/net/nbd.c does: client flags, then options (header + data,
 * NBD_OPT_GO data parsed), then, after the first NBD_OPT_GO or
 * NBD_OPT_EXPORT_NAME, requests validated against a small export. The
 * client-side reply parsers get the same bytes.
 */

#include <stddef.h>
#include <stdint.h>

#include "nbd_wire.h"

#define FUZZ_MAX_OPT_LEN (16U << 10)
#define FUZZ_MAX_PAYLOAD (32U << 20)

static void fuzz_client_side(const uint8_t *p, size_t len)
{
	struct nbd_reply r;
	struct nbd_opt_reply orep;
	struct nbd_info info;
	const char *s1, *s2;
	uint32_t l1, l2, err;
	uint16_t ml, hf;

	nbd_parse_greeting(p, len, &hf);
	nbd_parse_opt_reply(p, len, &orep);
	nbd_parse_rep_info(p, len, &info);
	nbd_parse_rep_server(p, len, &s1, &l1, &s2, &l2);
	if (nbd_parse_reply(p, len, &r) == 0 && r.structured && len >= 20)
		nbd_parse_chunk_error(p + 20, len - 20, &err, &s1, &ml);
}

static size_t fuzz_options(const uint8_t *p, size_t len, int *go)
{
	struct nbd_opt_hdr h;
	struct nbd_opt_go g;
	size_t off = 0;
	uint16_t i;

	while (!*go && off < len) {
		if (nbd_parse_opt_hdr(p + off, len - off, FUZZ_MAX_OPT_LEN,
				      &h) != 0)
			return len;
		if (len - off - NBD_OPT_HDR_SIZE < h.len)
			return len;
		off += NBD_OPT_HDR_SIZE;
		if ((h.opt == NBD_OPT_GO || h.opt == NBD_OPT_INFO) &&
		    nbd_parse_opt_go(p + off, h.len, &g) == 0) {
			for (i = 0; i < g.ninfo; i++)
				(void)nbd_opt_go_info(&g, i);
			*go = h.opt == NBD_OPT_GO;
		}
		if (h.opt == NBD_OPT_EXPORT_NAME)
			*go = 1;
		off += h.len;
	}
	return off;
}

static void fuzz_requests(const uint8_t *p, size_t len)
{
	struct nbd_request rq;
	size_t off = 0;
	int rc;

	while (nbd_parse_request(p + off, len - off, &rq) == 0) {
		rc = nbd_validate_request(&rq, 1 << 20, NBD_FLAG_HAS_FLAGS |
					  NBD_FLAG_SEND_FLUSH |
					  NBD_FLAG_SEND_FUA |
					  NBD_FLAG_SEND_TRIM |
					  NBD_FLAG_SEND_WRITE_ZEROES,
					  FUZZ_MAX_PAYLOAD, (int)(len & 1));
		(void)nbd_errno(rc);
		off += NBD_REQUEST_SIZE;
		if (rq.type == NBD_CMD_WRITE) {
			if (len - off < rq.length)
				return;
			off += rq.length;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t cflags;
	size_t off;
	int go = 0;

	fuzz_client_side(data, size);
	if (nbd_parse_client_flags(data, size, NBD_FLAG_FIXED_NEWSTYLE |
				   NBD_FLAG_NO_ZEROES, &cflags) != 0)
		return 0;
	off = NBD_CLIENT_FLAGS_SIZE;
	off += fuzz_options(data + off, size - off, &go);
	if (go && off < size)
		fuzz_requests(data + off, size - off);
	return 0;
}
