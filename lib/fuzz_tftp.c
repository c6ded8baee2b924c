/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the TFTP request parser and option negotiation, plus
 * the OACK built from the result (lib/tftp_wire.c only).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tftp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tftp_limits lim = {
		.max_blksize = TFTP_BLKSIZE_MAX,
		.max_windowsize = 64,
		.max_window_bytes = 1024 * 1024,
	};
	struct tftp_request req;
	struct tftp_negotiated neg;
	uint8_t oack[512];
	const uint8_t *d;
	const char *msg;
	size_t dlen, mlen;
	uint16_t block, code;
	int len;

	if (tftp_parse_request(data, size, &req) == 0) {
		/* every string handed out must be inside the packet and end */
		if (strlen(req.filename) != req.filename_len)
			__builtin_trap();
		tftp_negotiate(&req, size, &lim, &neg);
		if (neg.blksize < TFTP_BLKSIZE_MIN || neg.blksize > TFTP_BLKSIZE_MAX ||
		    neg.windowsize < 1 || neg.windowsize > 64)
			__builtin_trap();
		len = tftp_build_oack(oack, sizeof(oack), &neg);
		if (len > (int)sizeof(oack))
			__builtin_trap();
	}
	tftp_parse_ack(data, size, &block);
	tftp_parse_data(data, size, &block, &d, &dlen);
	tftp_parse_error(data, size, &code, &msg, &mlen);
	return 0;
}
