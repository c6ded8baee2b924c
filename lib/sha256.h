/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SHA256_H
#define LB_SHA256_H

/*
 * SHA-256, the project's one strong hash (image content hashes, per-block
 * hash tables, their index, SSD cache keys), from libsodium on both sides:
 * it links statically into the agent without pulling in a TLS stack,
 * dlopen() or name resolution.
 */

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256_ctx {
	crypto_hash_sha256_state st;
};

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* n messages of the same length: out[i] = sha256(data[i]), faster than
 * one by one where the CPU can interleave them (sha256_x86.h). */
void sha256_multi(const void *const data[], size_t len, size_t n,
		  uint8_t (*out)[SHA256_LEN]);
void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);

#endif
