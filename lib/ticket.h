/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_TICKET_H
#define LB_TICKET_H

/*
 * Boot tickets and client credentials: the two secrets a PC holds.
 *
 * A boot ticket is what the boot script hands a PC that the server has
 * recognised (its MAC seen at the address asking). It is stateless: the
 * server signs the fields with its own key (HMAC-SHA-256, truncated to
 * 128 bits) and keeps nothing until the ticket is redeemed:
 *
 *   "t1-" hex( mac[6] | ipv4[4] | expires[4] | nonce[8] | flags[1] | tag[16] )
 *
 * expires is Unix time, little-endian like our other formats; flags bit 0
 * asks the redeemer to come from a reserved port (< 1024: root on the PC,
 * not a user of it).
 * The agent trades it once (POST /session) for a credential:
 *
 *   "c1-" hex( 16 random bytes )
 *
 * which it uses as its NBD export name and HTTP bearer token for the rest
 * of the boot. The server stores only the credential's SHA-256.
 *
 * Pure code: no clock, no sockets; libsodium for the MAC and randomness.
 */

#include <stddef.h>
#include <stdint.h>

#define TICKET_KEY_LEN		32
#define TICKET_NONCE_LEN	8
#define TICKET_TAG_LEN		16
#define TICKET_RAW_LEN		(6 + 4 + 4 + TICKET_NONCE_LEN + 1 + \
				 TICKET_TAG_LEN)
#define TICKET_STR_LEN		(3 + 2 * TICKET_RAW_LEN)	/* no NUL */
#define TICKET_F_RESERVED_PORT	0x01

#define CRED_RAW_LEN		16
#define CRED_STR_LEN		(3 + 2 * CRED_RAW_LEN)		/* no NUL */
#define CRED_HASH_STR_LEN	64				/* hex SHA-256 */

struct ticket {
	uint8_t mac[6];
	uint32_t ip;			/* IPv4, network order */
	uint32_t expires;		/* Unix seconds */
	uint8_t nonce[TICKET_NONCE_LEN];
	uint8_t flags;			/* TICKET_F_* */
};

/* Sign t into out (TICKET_STR_LEN + 1 bytes). */
void ticket_sign(const uint8_t key[TICKET_KEY_LEN], const struct ticket *t,
		 char out[TICKET_STR_LEN + 1]);

/*
 * Parse and check the signature of a ticket string of len bytes. 0, or
 * -EINVAL (not a ticket: wrong prefix, length or hex), -EKEYREJECTED (a
 * ticket, but not signed with key: forged, altered, or from before a key
 * change). Expiry and binding are the caller's: they need the clock and
 * the peer.
 */
int ticket_verify(const uint8_t key[TICKET_KEY_LEN], const char *s,
		  size_t len, struct ticket *out);

/* Is s (len bytes) shaped like a ticket / a credential? For callers that
 * must not log secrets: they print only the prefix of such strings. */
int ticket_shaped(const char *s, size_t len);
int cred_shaped(const char *s, size_t len);

/*
 * SAN boots (iPXE sanboot, then the OS's own iSCSI initiator through the
 * iBFT) have no agent to redeem a ticket: their boot script carries iSCSI
 * CHAP credentials instead, derived, not stored:
 *
 *   user    "lb1." hex(mac) "." hex(expires) "." hex(nonce)       42 bytes
 *   secret  16 letters and digits (80 bits) from HMAC-SHA-256(key,
 *           user | ipv4)
 *
 * The secret is bound to the address the script was served to; 16
 * characters because Microsoft's initiator takes CHAP secrets of 12 to 16.
 * The target recomputes the secret from the user name and the peer
 * address; the user name's nonce tells one boot from the next.
 */
#define SAN_USER_LEN		(4 + 12 + 1 + 8 + 1 + 2 * TICKET_NONCE_LEN)
#define SAN_SECRET_LEN		16

/* The CHAP user name of a SAN boot (t: mac, expires, nonce). */
void san_chap_user(const struct ticket *t, char out[SAN_USER_LEN + 1]);
/* Parse one back into t (ip and flags cleared): 0 or -EINVAL. */
int san_chap_user_parse(const char *s, size_t len, struct ticket *t);
/* The CHAP secret of user at ip (network order). */
void san_chap_secret(const uint8_t key[TICKET_KEY_LEN], const char *user,
		     uint32_t ip, char out[SAN_SECRET_LEN + 1]);

/* A new random credential string (CRED_STR_LEN + 1 bytes). */
void cred_new(char out[CRED_STR_LEN + 1]);

/* Hex SHA-256 of a credential string: what the server stores and looks
 * up (CRED_HASH_STR_LEN + 1 bytes). */
void cred_hash(const char *cred, size_t len, char out[CRED_HASH_STR_LEN + 1]);

#endif
