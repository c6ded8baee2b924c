/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_MD5_H
#define LB_MD5_H

/*
 * MD5 (RFC 1321), for iSCSI CHAP (RFC 7143 §12.1.3: CHAP_A=5 is MD5, as
 * RFC 1994 defines CHAP). Not for anything else: MD5 is broken as a
 * collision-resistant hash; CHAP only needs it as a keyed one-way step.
 */

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_SIZE 16

struct md5_ctx {
	uint32_t state[4];	/* A B C D (RFC 1321 §3.3) */
	uint64_t bytes;		/* message length so far */
	uint8_t block[64];	/* a partial 64-byte block */
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t len);
void md5_final(struct md5_ctx *c, uint8_t out[MD5_DIGEST_SIZE]);
/* One call: out = MD5(data). */
void md5(const void *data, size_t len, uint8_t out[MD5_DIGEST_SIZE]);

#endif
