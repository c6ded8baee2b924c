/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 through libsodium; see sha256.h. */

#include "sha256.h"
#include "sha256_x86.h"

/* sodium_init() picks CPU-specific code paths; idempotent and cheap after
 * the first call, as its documentation allows. */
static void sha256_lib_init(void)
{
	static int done;

	if (!done) {
		/* < 0 only if no entropy source exists: hashing still works */
		int rc = sodium_init();

		done = 1;
		(void)rc;
	}
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	/* SHA-NI when the CPU has it: 5x libsodium's portable C */
	if (sha256_x86(data, len, out) == 0)
		return;
	sha256_lib_init();
	crypto_hash_sha256(out, data, len);
}

void sha256_multi(const void *const data[], size_t len, size_t n,
		  uint8_t (*out)[SHA256_LEN])
{
	size_t i;

	if (sha256_x86_multi(data, len, n, out) == 0)
		return;
	for (i = 0; i < n; i++)
		sha256(data[i], len, out[i]);
}

void sha256_init(struct sha256_ctx *c)
{
	sha256_lib_init();
	crypto_hash_sha256_init(&c->st);
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	crypto_hash_sha256_update(&c->st, data, len);
}

void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	crypto_hash_sha256_final(&c->st, out);
}
