/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the iSCSI parsers a target feeds with peer bytes
 * (lib/iscsi_wire.c, lib/iscsi_login.c): the input is an initiator's byte
 * stream, cut into PDUs the way server-stub/iscsi.c does (BHS, checks,
 * total length with digests); the data of Login and Text Requests goes
 * through key negotiation, in the stage the PDU names, with CHAP
 * required so that its keys are parsed too. Binary values are decoded.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iscsi_login.h"
#include "iscsi_wire.h"

static void fuzz_text(struct iscsi_nego *n, const uint8_t *data, size_t len,
		      int stage)
{
	char out[8192];
	size_t olen, off = 0;
	struct iscsi_kv kv;
	uint8_t bin[ISCSI_CHAP_MAX_BINARY];

	while (iscsi_text_next((const char *)data, len, &off, &kv) > 0)
		(void)iscsi_decode_binary(kv.val, kv.val_len, bin, sizeof(bin));
	n->stage = stage;
	(void)iscsi_nego_run(n, (const char *)data, len, out, sizeof(out),
			     &olen);
	(void)iscsi_nego_auth_ok(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t random[1 + ISCSI_CHAP_CHALLENGE_SIZE] = { 1 };
	struct iscsi_nego_cfg cfg;
	struct iscsi_nego n;
	struct iscsi_bhs h;
	size_t off = 0, total;
	int hd = size & 1, dd = (size >> 1) & 1;

	memset(&cfg, 0, sizeof(cfg));
	iscsi_params_default(&cfg.ours);
	cfg.chap_secret = (const uint8_t *)"fuzz-secret-12";
	cfg.chap_secret_len = 14;
	cfg.chap_target_secret = (const uint8_t *)"fuzz-target-12";
	cfg.chap_target_secret_len = 14;
	iscsi_nego_init(&n, &cfg, random);
	while (iscsi_parse_bhs(data + off, size - off, &h) == 0) {
		(void)iscsi_check_bhs(&h, 262144);
		(void)iscsi_opcode_name(h.opcode);
		total = iscsi_pdu_len(&h, hd, dd);
		if (total > size - off)
			break;
		if (h.opcode == ISCSI_OP_LOGIN_REQ ||
		    h.opcode == ISCSI_OP_TEXT_REQ) {
			size_t d = ISCSI_BHS_SIZE + (size_t)h.ahs_words * 4 +
				   (hd ? ISCSI_DIGEST_SIZE : 0);

			fuzz_text(&n, data + off + d, h.data_len,
				  h.opcode == ISCSI_OP_TEXT_REQ
				  ? ISCSI_STAGE_FULL : h.csg);
		}
		off += total;
	}
	return 0;
}
