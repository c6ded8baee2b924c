/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SHA-256 on the x86 SHA extensions; see sha256_x86.h. Checked against
 * libsodium in tests/unit/test_sha256.c.
 *
 * SHA256RNDS2 does two rounds on a state split as ABEF and CDGH (not the
 * ABCD/EFGH of FIPS 180-4 §6.2.2), so the state is shuffled into that
 * form before the blocks and back after. SHA256MSG1/MSG2 compute the
 * message schedule (§6.2.2 step 1) four words at a time:
 *
 *   W[t..t+3] = MSG2(MSG1(W[t-16..], W[t-12..]) + W[t-7..t-4], W[t-4..])
 */

#include <errno.h>
#include <string.h>

#include "sha256_x86.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <cpuid.h>
#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* FIPS 180-4 §4.2.2 */
static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 §5.3.3 */
static const uint32_t sha256_h0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

int sha256_x86_usable(void)
{
	static int usable = -1;
	unsigned a, b, c, d;

	if (usable >= 0)
		return usable;
	usable = 0;
	/* leaf 1 ECX: bit 9 SSSE3, bit 19 SSE4.1; leaf 7 EBX: bit 29 SHA */
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 9)) &&
	    (c & (1u << 19)) && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
	    (b & (1u << 29)))
		usable = 1;
	return usable;
}

#define SHA_LANES_MAX 3

/*
 * Process n 64-byte blocks of nw independent messages (p[k] into st[k],
 * ABCDEFGH words in host order), round for round: one message's
 * SHA256RNDS2 runs while another's result is still in flight, so two or
 * three messages cost little more than one (Zen 4, 64 KiB each: 36 us
 * alone, ~20 us each in pairs or threes). Inlined into one function per
 * nw, so every loop over lanes unrolls and the state stays in registers.
 */
SHA_TARGET static inline __attribute__((always_inline)) void
sha256_x86_lanes(uint32_t *const st[], const uint8_t *const p[], size_t n,
		 const int nw)
{
	/* big-endian words of the message, per 32-bit lane */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll,
					     0x0405060700010203ll);
	__m128i abef[SHA_LANES_MAX], cdgh[SHA_LANES_MAX];
	__m128i save_abef[SHA_LANES_MAX], save_cdgh[SHA_LANES_MAX];
	__m128i msg[SHA_LANES_MAX], w[SHA_LANES_MAX][4], tmp;
	size_t off;
	int g, k;

#pragma GCC unroll 3
	for (k = 0; k < nw; k++) {
		tmp = _mm_loadu_si128((const __m128i *)&st[k][0]);   /* DCBA */
		cdgh[k] = _mm_loadu_si128((const __m128i *)&st[k][4]); /* HGFE */
		tmp = _mm_shuffle_epi32(tmp, 0xb1);			/* CDAB */
		cdgh[k] = _mm_shuffle_epi32(cdgh[k], 0x1b);		/* EFGH */
		abef[k] = _mm_alignr_epi8(tmp, cdgh[k], 8);		/* ABEF */
		cdgh[k] = _mm_blend_epi16(cdgh[k], tmp, 0xf0);		/* CDGH */
	}
	for (off = 0; n; n--, off += 64) {
	#pragma GCC unroll 3
	for (k = 0; k < nw; k++) {
			save_abef[k] = abef[k];
			save_cdgh[k] = cdgh[k];
		}
#pragma GCC unroll 16
		for (g = 0; g < 16; g++) {
		#pragma GCC unroll 3
	for (k = 0; k < nw; k++) {
				/* w[k][g & 3] holds W of group g - 4 */
				__m128i *wg = &w[k][g & 3];

				if (g < 4) {
					*wg = _mm_shuffle_epi8(_mm_loadu_si128(
						(const __m128i *)(p[k] + off +
								  16 * g)),
						bswap);
				} else {
					tmp = _mm_sha256msg1_epu32(
						*wg, w[k][(g - 3) & 3]);
					tmp = _mm_add_epi32(tmp, _mm_alignr_epi8(
						w[k][(g - 1) & 3],
						w[k][(g - 2) & 3], 4));
					*wg = _mm_sha256msg2_epu32(
						tmp, w[k][(g - 1) & 3]);
				}
				msg[k] = _mm_add_epi32(*wg, _mm_load_si128(
					(const __m128i *)&sha256_k[4 * g]));
			}
		#pragma GCC unroll 3
	for (k = 0; k < nw; k++)
				cdgh[k] = _mm_sha256rnds2_epu32(cdgh[k], abef[k],
								msg[k]);
		#pragma GCC unroll 3
	for (k = 0; k < nw; k++)
				abef[k] = _mm_sha256rnds2_epu32(abef[k], cdgh[k],
					_mm_shuffle_epi32(msg[k], 0x0e));
		}
	#pragma GCC unroll 3
	for (k = 0; k < nw; k++) {
			abef[k] = _mm_add_epi32(abef[k], save_abef[k]);
			cdgh[k] = _mm_add_epi32(cdgh[k], save_cdgh[k]);
		}
	}
#pragma GCC unroll 3
	for (k = 0; k < nw; k++) {
		tmp = _mm_shuffle_epi32(abef[k], 0x1b);			/* FEBA */
		cdgh[k] = _mm_shuffle_epi32(cdgh[k], 0xb1);		/* DCHG */
		abef[k] = _mm_blend_epi16(tmp, cdgh[k], 0xf0);		/* DCBA */
		cdgh[k] = _mm_alignr_epi8(cdgh[k], tmp, 8);		/* HGFE */
		_mm_storeu_si128((__m128i *)&st[k][0], abef[k]);
		_mm_storeu_si128((__m128i *)&st[k][4], cdgh[k]);
	}
}

SHA_TARGET static void sha256_x86_lanes1(uint32_t *const st[],
					 const uint8_t *const p[], size_t n)
{
	sha256_x86_lanes(st, p, n, 1);
}

SHA_TARGET static void sha256_x86_lanes2(uint32_t *const st[],
					 const uint8_t *const p[], size_t n)
{
	sha256_x86_lanes(st, p, n, 2);
}

SHA_TARGET static void sha256_x86_lanes3(uint32_t *const st[],
					 const uint8_t *const p[], size_t n)
{
	sha256_x86_lanes(st, p, n, 3);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 §5.1.1: the message's last bytes, 0x80, zeroes and the
 * length in bits (64-bit BE), in one block or, when fewer than 9 bytes
 * are left, two. Returns the padded length (64 or 128). */
static size_t sha256_pad(const uint8_t *d, size_t len, uint8_t last[128])
{
	uint64_t bits = (uint64_t)len * 8;
	size_t full = len / 64, rest = len % 64, nlast;
	int i;

	memset(last, 0, 128);
	if (rest)
		memcpy(last, d + full * 64, rest);
	last[rest] = 0x80;
	nlast = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		last[nlast - 1 - i] = (uint8_t)(bits >> (8 * i));
	return nlast;
}

static void sha256_out(const uint32_t st[8], uint8_t out[32])
{
	int i;

	for (i = 0; i < 8; i++)
		put_be32(out + 4 * i, st[i]);
}

/* nw (1..3) messages of len bytes, to the end: full blocks, padding. */
static void sha256_x86_run(const void *const data[], size_t len, int nw,
			   uint8_t (*out)[32])
{
	static void (*const lanes[SHA_LANES_MAX + 1])(uint32_t *const [],
		const uint8_t *const [], size_t) = {
		NULL, sha256_x86_lanes1, sha256_x86_lanes2, sha256_x86_lanes3,
	};
	uint8_t last[SHA_LANES_MAX][128];
	uint32_t st[SHA_LANES_MAX][8], *sp[SHA_LANES_MAX];
	const uint8_t *p[SHA_LANES_MAX];
	size_t nlast = 0;
	int k;

	for (k = 0; k < nw; k++) {
		memcpy(st[k], sha256_h0, sizeof(st[k]));
		sp[k] = st[k];
		p[k] = data[k];
	}
	if (len / 64)
		lanes[nw](sp, p, len / 64);
	for (k = 0; k < nw; k++) {
		nlast = sha256_pad(data[k], len, last[k]);
		p[k] = last[k];
	}
	lanes[nw](sp, p, nlast / 64);
	for (k = 0; k < nw; k++)
		sha256_out(st[k], out[k]);
}

int sha256_x86(const void *data, size_t len, uint8_t out[32])
{
	const void *d[1] = { data };

	if (!sha256_x86_usable())
		return -ENOTSUP;
	sha256_x86_run(d, len, 1, (uint8_t (*)[32])out);
	return 0;
}

int sha256_x86_multi(const void *const data[], size_t len, size_t n,
		     uint8_t (*out)[32])
{
	size_t i = 0;

	if (!sha256_x86_usable())
		return -ENOTSUP;
	/* pairs, and three at the end rather than one alone */
	for (; n - i >= 2 && n - i != 3; i += 2)
		sha256_x86_run(data + i, len, 2, out + i);
	if (n > i)
		sha256_x86_run(data + i, len, (int)(n - i), out + i);
	return 0;
}

#else	/* not x86-64: libsodium does it all */

int sha256_x86_usable(void)
{
	return 0;
}

int sha256_x86(const void *data, size_t len, uint8_t out[32])
{
	(void)data;
	(void)len;
	(void)out;
	return -ENOTSUP;
}

int sha256_x86_multi(const void *const data[], size_t len, size_t n,
		     uint8_t (*out)[32])
{
	(void)data;
	(void)len;
	(void)n;
	(void)out;
	return -ENOTSUP;
}

#endif
