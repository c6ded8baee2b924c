/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: SHA-256 (lib/sha256.c) and its SHA-NI path (lib/sha256_x86.c)
 * against FIPS 180-4 example vectors and libsodium. On a CPU without the
 * SHA extensions the SHA-NI cases are skipped.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"
#include "sha256_x86.h"

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_vector(const char *msg, const char *want)
{
	uint8_t md[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];

	sha256(msg, strlen(msg), md);
	hex(md, got);
	assert_string_equal(got, want);
	if (sha256_x86_usable()) {
		assert_int_equal(sha256_x86(msg, strlen(msg), md), 0);
		hex(md, got);
		assert_string_equal(got, want);
	}
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf"): one and two blocks */
static void test_fips_vectors(void **state)
{
	(void)state;
	check_vector("abc", "ba7816bf8f01cfea414140de5dae2223"
			    "b00361a396177a9cb410ff61f20015ad");
	check_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		     "248d6a61d20638b8e5c026930c3e6039"
		     "a33ce45964ff2167f6ecedd419db06c1");
	check_vector("", "e3b0c44298fc1c149afbf4c8996fb924"
			 "27ae41e4649b934ca495991b7852b855");
}

/* Every padding case: lengths around the 55/56/64-byte edges, and sizes
 * the cache hashes (4 KiB, 64 KiB, a short last block). */
static void test_same_as_libsodium(void **state)
{
	static const size_t big[] = { 4096, 65536, 65536 - 1024, 100003 };
	uint8_t *d = malloc(100003), a[SHA256_LEN], b[SHA256_LEN];
	size_t len, i;

	(void)state;
	if (!sha256_x86_usable()) {
		free(d);
		skip();
	}
	assert_non_null(d);
	for (i = 0; i < 100003; i++)
		d[i] = (uint8_t)(i * 131 + (i >> 9));
	for (len = 0; len <= 300; len++) {
		crypto_hash_sha256(a, d + 1, len);	/* unaligned too */
		assert_int_equal(sha256_x86(d + 1, len, b), 0);
		assert_memory_equal(a, b, SHA256_LEN);
	}
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		crypto_hash_sha256(a, d, big[i]);
		sha256(d, big[i], b);
		assert_memory_equal(a, b, SHA256_LEN);
	}
	free(d);
}

/* sha256_multi(): pairs interleaved, an odd one alone, any length */
static void test_multi_same_as_one_by_one(void **state)
{
	static const size_t lens[] = { 0, 1, 55, 56, 63, 64, 119, 120, 4096,
				       65536 };
	enum { N = 5 };
	uint8_t *d[N], want[SHA256_LEN], got[N][SHA256_LEN];
	const void *p[N];
	size_t li, n, i, j;

	(void)state;
	for (i = 0; i < N; i++) {
		assert_non_null(d[i] = malloc(65536));
		for (j = 0; j < 65536; j++)
			d[i][j] = (uint8_t)(j * (3 + i) + i);
		p[i] = d[i];
	}
	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
		for (n = 0; n <= N; n++) {
			memset(got, 0, sizeof(got));
			sha256_multi(p, lens[li], n, got);
			for (i = 0; i < n; i++) {
				crypto_hash_sha256(want, d[i], lens[li]);
				assert_memory_equal(want, got[i], SHA256_LEN);
			}
		}
	for (i = 0; i < N; i++)
		free(d[i]);
}

/* One flipped bit changes the digest (the cache's corruption check). */
static void test_bit_flip_differs(void **state)
{
	uint8_t d[4096] = { 0 }, a[SHA256_LEN], b[SHA256_LEN];

	(void)state;
	sha256(d, sizeof(d), a);
	d[4000] ^= 0x10;
	sha256(d, sizeof(d), b);
	assert_memory_not_equal(a, b, SHA256_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_same_as_libsodium),
		cmocka_unit_test(test_multi_same_as_one_by_one),
		cmocka_unit_test(test_bit_flip_differs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
