/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_CREDENTIAL_H
#define LB_CREDENTIAL_H

/*
 * Client credentials in the link DB (schema v3 `credentials`): what opens
 * a PC's writable export, its overlay, and what authenticates its reports.
 * The secret itself ("c1-...", lib/ticket.h) is shown once and never
 * stored: rows hold its SHA-256.
 *
 *   boot   minted when a PC redeems its boot ticket (POST /session): bound
 *          to the address the ticket was issued to, fixed to the write
 *          mode and version decided then, valid until the PC's next boot
 *          (which deletes it). A pending super grant is consumed here and
 *          belongs to this one credential.
 *   admin  minted by `linkboot client token MAC`: for a VM or a tool that
 *          attaches a PC's disk by hand; optionally bound to an address;
 *          follows the link's write mode and version, never super.
 */

#include <netinet/in.h>
#include <stdint.h>

#include "db.h"
#include "ticket.h"

enum cred_kind {
	CRED_BOOT,
	CRED_ADMIN,
};

struct cred_info {
	char mac[18];
	enum cred_kind kind;
	char peer[INET_ADDRSTRLEN];	/* bound address, "" = any */
	int write_mode;			/* boot: enum write_mode; admin: -1 */
	int64_t boot_seq;		/* boot: its boot; admin: 0 */
	char image_id[40];		/* boot: pinned image, else "" */
	unsigned version;		/* boot: pinned version, else 0 */
	char hash[CRED_HASH_STR_LEN + 1];
};

/* A boot that began: the PC's new credential and what was decided. */
struct cred_boot {
	char cred[CRED_STR_LEN + 1];	/* a new random one, or "" when the
					 * caller named the credential */
	struct link_info link;		/* effective link; write_mode final */
	int64_t boot_seq;
};

/*
 * Begin a boot of client mac (the ticket checked by the caller): use up
 * the ticket's nonce (until expires, Unix seconds), delete the client's
 * older boot credentials, consume a pending super grant, count the boot
 * and record a credential bound to peer: name (a SAN boot's CHAP user
 * name), or a new random one in out->cred when name is NULL. One
 * transaction. 0; -EALREADY the nonce was used (a replayed ticket);
 * -ENOENT the client is gone or unlinked; other -errno.
 */
int cred_boot_begin(struct db *db, const uint8_t mac[6], const char *peer,
		    const uint8_t nonce[TICKET_NONCE_LEN], uint32_t expires,
		    const char *name, struct cred_boot *out);

/* Mint an admin credential (peer NULL or "" = any address). 0, -ENOENT
 * unknown client, other -errno. */
int cred_admin_mint(struct db *db, const char *mac, const char *peer,
		    char cred[CRED_STR_LEN + 1]);

/* Delete a client's admin credentials: how many, or -errno. */
int cred_admin_revoke(struct db *db, const char *mac);

/* The row of a credential string (any credential: a "c1-" one or a SAN
 * boot's CHAP user name): 0, -ENOENT (unknown or revoked). */
int cred_lookup(struct db *db, const char *s, size_t len,
		struct cred_info *out);

/* How many credentials of each kind a client holds (client show). */
int cred_count(struct db *db, const char *mac, unsigned *boot,
	       unsigned *admin);

#endif
