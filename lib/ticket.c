/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Boot tickets and client credentials (ticket.h). */

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "lb_endian.h"
#include "sha256.h"
#include "ticket.h"

#define TICKET_PREFIX	"t1-"
#define CRED_PREFIX	"c1-"
/* domain separation: what the key signs for one use is no good for another */
#define TICKET_CONTEXT	"linkboot boot ticket v1"
#define SAN_CONTEXT	"linkboot san chap v1"
#define SAN_PREFIX	"lb1."

static void ticket_pack(const struct ticket *t, uint8_t *p)
{
	memcpy(p, t->mac, 6);
	memcpy(p + 6, &t->ip, 4);
	put_le32(p + 10, t->expires);
	memcpy(p + 14, t->nonce, TICKET_NONCE_LEN);
	p[14 + TICKET_NONCE_LEN] = t->flags;
}

static void ticket_tag(const uint8_t key[TICKET_KEY_LEN], const uint8_t *fields,
		       size_t len, uint8_t tag[TICKET_TAG_LEN])
{
	crypto_auth_hmacsha256_state st;
	uint8_t full[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, key, TICKET_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)TICKET_CONTEXT,
				      sizeof(TICKET_CONTEXT));
	crypto_auth_hmacsha256_update(&st, fields, len);
	crypto_auth_hmacsha256_final(&st, full);
	memcpy(tag, full, TICKET_TAG_LEN);
	sodium_memzero(full, sizeof(full));
}

void ticket_sign(const uint8_t key[TICKET_KEY_LEN], const struct ticket *t,
		 char out[TICKET_STR_LEN + 1])
{
	uint8_t raw[TICKET_RAW_LEN];
	size_t flen = TICKET_RAW_LEN - TICKET_TAG_LEN;

	ticket_pack(t, raw);
	ticket_tag(key, raw, flen, raw + flen);
	memcpy(out, TICKET_PREFIX, 3);
	sodium_bin2hex(out + 3, TICKET_STR_LEN - 3 + 1, raw, sizeof(raw));
}

/* Exactly n lower- or upper-case hex digits into n / 2 bytes. */
static int hex_exact(const char *s, size_t n, uint8_t *out)
{
	size_t got = 0;

	if (sodium_hex2bin(out, n / 2, s, n, NULL, &got, NULL) != 0 ||
	    got != n / 2)
		return -EINVAL;
	return 0;
}

int ticket_verify(const uint8_t key[TICKET_KEY_LEN], const char *s,
		  size_t len, struct ticket *out)
{
	uint8_t raw[TICKET_RAW_LEN], tag[TICKET_TAG_LEN];
	size_t flen = TICKET_RAW_LEN - TICKET_TAG_LEN;
	int rc;

	if (!ticket_shaped(s, len) ||
	    hex_exact(s + 3, 2 * TICKET_RAW_LEN, raw) != 0)
		return -EINVAL;
	ticket_tag(key, raw, flen, tag);
	rc = crypto_verify_16(tag, raw + flen) == 0 ? 0 : -EKEYREJECTED;
	if (rc == 0) {
		memcpy(out->mac, raw, 6);
		memcpy(&out->ip, raw + 6, 4);
		out->expires = get_le32(raw + 10);
		memcpy(out->nonce, raw + 14, TICKET_NONCE_LEN);
		out->flags = raw[14 + TICKET_NONCE_LEN];
	}
	sodium_memzero(tag, sizeof(tag));
	return rc;
}

int ticket_shaped(const char *s, size_t len)
{
	return len == TICKET_STR_LEN && !memcmp(s, TICKET_PREFIX, 3);
}

int cred_shaped(const char *s, size_t len)
{
	return len >= 3 && !memcmp(s, CRED_PREFIX, 3);
}

void cred_new(char out[CRED_STR_LEN + 1])
{
	uint8_t raw[CRED_RAW_LEN];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, CRED_PREFIX, 3);
	sodium_bin2hex(out + 3, CRED_STR_LEN - 3 + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

void cred_hash(const char *cred, size_t len, char out[CRED_HASH_STR_LEN + 1])
{
	uint8_t h[SHA256_LEN];

	sha256(cred, len, h);
	sodium_bin2hex(out, CRED_HASH_STR_LEN + 1, h, sizeof(h));
}

void san_chap_user(const struct ticket *t, char out[SAN_USER_LEN + 1])
{
	char mac[13], nonce[2 * TICKET_NONCE_LEN + 1];

	sodium_bin2hex(mac, sizeof(mac), t->mac, 6);
	sodium_bin2hex(nonce, sizeof(nonce), t->nonce, TICKET_NONCE_LEN);
	snprintf(out, SAN_USER_LEN + 1, SAN_PREFIX "%s.%08x.%s", mac,
		 (unsigned)t->expires, nonce);
}

int san_chap_user_parse(const char *s, size_t len, struct ticket *t)
{
	uint8_t exp[4];

	memset(t, 0, sizeof(*t));
	if (len != SAN_USER_LEN || memcmp(s, SAN_PREFIX, 4) != 0 ||
	    s[16] != '.' || s[25] != '.' ||
	    hex_exact(s + 4, 12, t->mac) != 0 ||
	    hex_exact(s + 17, 8, exp) != 0 ||
	    hex_exact(s + 26, 2 * TICKET_NONCE_LEN, t->nonce) != 0)
		return -EINVAL;
	t->expires = (uint32_t)exp[0] << 24 | (uint32_t)exp[1] << 16 |
		     (uint32_t)exp[2] << 8 | exp[3];
	return 0;
}

void san_chap_secret(const uint8_t key[TICKET_KEY_LEN], const char *user,
		     uint32_t ip, char out[SAN_SECRET_LEN + 1])
{
	/* 32 symbols without look-alikes (no 0/o, 1/l): 5 bits each */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	crypto_auth_hmacsha256_state st;
	uint8_t h[crypto_auth_hmacsha256_BYTES];
	size_t i;

	crypto_auth_hmacsha256_init(&st, key, TICKET_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)SAN_CONTEXT,
				      sizeof(SAN_CONTEXT));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)user,
				      strlen(user));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)&ip, 4);
	crypto_auth_hmacsha256_final(&st, h);
	/* 16 x 5 bits: 80 bits */
	for (i = 0; i < SAN_SECRET_LEN; i++)
		out[i] = alphabet[h[i] & 31];
	out[SAN_SECRET_LEN] = '\0';
	sodium_memzero(h, sizeof(h));
}
