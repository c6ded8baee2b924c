/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SHA256_X86_H
#define LB_SHA256_X86_H

/*
 * One-shot SHA-256 (FIPS 180-4) on the x86 SHA extensions (SHA-NI: Intel
 * since Goldmont/Ice Lake, AMD since Zen), chosen at run time by CPUID.
 * libsodium's SHA-256 is portable C: ~190 us per 64 KiB block on this
 * machine's EPYC, ~35 us here. The agent hashes every block it takes from
 * the SSD cache or the network (agent/cache.c), so this is its hit cost.
 */

#include <stddef.h>
#include <stdint.h>

/* 1 if this CPU has the SHA extensions (and SSSE3/SSE4.1 we also use). */
int sha256_x86_usable(void);

/* 0 and out filled, or -ENOTSUP (no SHA-NI, or not an x86-64 build). */
int sha256_x86(const void *data, size_t len, uint8_t out[32]);
/* n messages of len bytes each, hashed two at a time (interleaved);
 * 0 or -ENOTSUP. */
int sha256_x86_multi(const void *const data[], size_t len, size_t n,
		     uint8_t (*out)[32]);

#endif
