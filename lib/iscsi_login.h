/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_ISCSI_LOGIN_H
#define LB_ISCSI_LOGIN_H

/*
 * iSCSI text negotiation (RFC 7143 §5, keys §12-§13) and CHAP (§12.1.3,
 * RFC 1994), target side. Pure code: no sockets, no clock, no allocation;
 * the caller supplies the random CHAP challenge.
 *
 * A Login or Text Request carries key=value pairs, each ended by a NUL
 * (§5.1). iscsi_nego_run() answers one request's keys against a
 * declarative table (iscsi_login.c iscsi_keys[]): list keys take the
 * first value of the initiator's list that we support, numbers take the
 * minimum or maximum of both sides, booleans AND or OR, declarations are
 * recorded. Keys we do not know are answered NotUnderstood; a value out
 * of range Reject; a key that does not apply Irrelevant (§5.2).
 */

#include <stddef.h>
#include <stdint.h>

#include "iscsi_wire.h"

/* §5.1: key names are at most 63 bytes, values at most 255, except
 * where a key says otherwise: CHAP_C/CHAP_R binary values (§12.1.3:
 * up to 1024 bytes, hex-encoded 2 + 2048 characters) */
#define ISCSI_KEY_MAX		63
#define ISCSI_VALUE_MAX		255
#define ISCSI_LONG_VALUE_MAX	8192
/* bytes of key=value text we accept in one negotiation step (the
 * request's data, continued with the C bit) */
#define ISCSI_TEXT_MAX		(16U << 10)

#define ISCSI_CHAP_MD5		5	/* CHAP_A value (RFC 1994 §4.1) */
#define ISCSI_CHAP_CHALLENGE_SIZE 32	/* bytes we challenge with */
#define ISCSI_CHAP_MAX_BINARY	1024	/* §12.1.3: CHAP_C length limit */
#define ISCSI_CHAP_SECRET_MAX	255

enum iscsi_session_type {
	ISCSI_SESSION_NORMAL,
	ISCSI_SESSION_DISCOVERY,
};

enum iscsi_digest {
	ISCSI_DIGEST_NONE,
	ISCSI_DIGEST_CRC32C,
};

enum iscsi_auth {
	ISCSI_AUTH_UNSET,
	ISCSI_AUTH_NONE,
	ISCSI_AUTH_CHAP,
};

/* Operational parameters of a session and its connection (§13). */
struct iscsi_params {
	uint32_t header_digest;		/* enum iscsi_digest */
	uint32_t data_digest;
	uint32_t max_connections;
	uint32_t initial_r2t;		/* 0/1 */
	uint32_t immediate_data;
	uint32_t max_recv_dsl;		/* in ours: what we declare; in the
					 * result: what the initiator
					 * declared (our PDUs' limit) */
	uint32_t max_burst;
	uint32_t first_burst;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint32_t max_outstanding_r2t;
	uint32_t data_pdu_in_order;
	uint32_t data_sequence_in_order;
	uint32_t error_recovery_level;
	uint32_t session_type;		/* enum iscsi_session_type */
	uint32_t task_reporting;	/* 0: RFC3720 */
	char initiator_name[ISCSI_NAME_MAX + 1];
	char initiator_alias[ISCSI_VALUE_MAX + 1];
	char target_name[ISCSI_NAME_MAX + 1];
};

/* The RFC 7143 defaults (§13), as both sides hold them before any key. */
void iscsi_params_default(struct iscsi_params *p);

/* The target's side of a negotiation. */
struct iscsi_nego_cfg {
	struct iscsi_params ours;	/* our values and limits */
	uint16_t tpgt;			/* TargetPortalGroupTag (§13.9) */
	/* CHAP (§12.1.3): required when chap_secret or chap_secret_for is
	 * set; mutual CHAP (the initiator's own challenge) needs
	 * chap_target_secret */
	const char *chap_user;		/* expected CHAP_N, NULL = any */
	const uint8_t *chap_secret;
	size_t chap_secret_len;
	/* or a secret per CHAP_N (derived, not stored): 0 and the secret
	 * in secret[*len] (at most ISCSI_CHAP_MAX_BINARY), or -ENOENT */
	int (*chap_secret_for)(void *arg, const char *name, uint8_t *secret,
			       size_t *len);
	void *chap_arg;
	const char *chap_target_user;	/* our CHAP_N in mutual CHAP */
	const uint8_t *chap_target_secret;
	size_t chap_target_secret_len;
};

enum iscsi_chap_state {
	ISCSI_CHAP_IDLE,	/* AuthMethod=CHAP not agreed yet */
	ISCSI_CHAP_WAIT_A,	/* waiting for CHAP_A */
	ISCSI_CHAP_WAIT_R,	/* challenge sent, waiting for CHAP_N/R */
	ISCSI_CHAP_DONE,	/* initiator authenticated */
};

/* One connection's negotiation. */
struct iscsi_nego {
	const struct iscsi_nego_cfg *cfg;
	struct iscsi_params p;		/* the result so far */
	int stage;			/* ISCSI_STAGE_* of this request */
	uint64_t seen;			/* table keys negotiated in this login
					 * (a second time is an error) */
	uint8_t answer[40];		/* per table key: the answer due for
					 * this request (see iscsi_login.c) */
	int auth;			/* enum iscsi_auth */
	int chap_state;			/* enum iscsi_chap_state */
	uint8_t chap_id;		/* CHAP_I we sent */
	uint8_t chap_challenge[ISCSI_CHAP_CHALLENGE_SIZE];
	int mrdsl_declared;		/* our MaxRecvDataSegmentLength sent */
	int tpgt_declared;		/* our TargetPortalGroupTag sent */
	int send_targets;		/* SendTargets asked in this request:
					 * 0 no, 1 All, 2 one (name below),
					 * 3 empty value (this session's) */
	char send_targets_name[ISCSI_NAME_MAX + 1];
	char chap_name[ISCSI_NAME_MAX + 1]; /* the CHAP_N that passed */
	uint16_t status;		/* failure: Login status (ISCSI_LOGIN_*) */
	const char *why;		/* failure: what, for the log */
};

/* Start a connection's negotiation. random: 1 + ISCSI_CHAP_CHALLENGE_SIZE
 * random bytes (CHAP_I and CHAP_C, used if CHAP is agreed). */
void iscsi_nego_init(struct iscsi_nego *n, const struct iscsi_nego_cfg *cfg,
		     const uint8_t *random);

/*
 * Answer the keys of one request (text, len bytes) into out (outsz bytes,
 * key=value\0 pairs), *outlen set. n->stage says where we are:
 * ISCSI_STAGE_SECURITY/OPERATIONAL for a Login, ISCSI_STAGE_FULL for a
 * Text Request. Returns 0, or a negative errno with n->status (the Login
 * status to fail with) and n->why set: -EPROTO for malformed text or a
 * key sent twice in one login (§5.2: a protocol error), -EACCES for an
 * authentication failure, -ENOSPC when the answer does not fit out.
 */
int iscsi_nego_run(struct iscsi_nego *n, const char *text, size_t len,
		   char *out, size_t outsz, size_t *outlen);

/* May the login leave the security stage? (no CHAP required, or CHAP
 * done; AuthMethod=None agreed when nothing is required). */
int iscsi_nego_auth_ok(const struct iscsi_nego *n);

/* ---- key=value text ---- */

struct iscsi_kv {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
};

/* Next pair from text at *off: 1 with kv filled, 0 at the end, -EPROTO
 * for a malformed pair (no '=', an empty or over-long key, a value over
 * its limit). Empty strings between NULs are skipped. */
int iscsi_text_next(const char *text, size_t len, size_t *off,
		    struct iscsi_kv *kv);
/* The value of key in text: 0, or -ENOENT (-EPROTO if malformed). */
int iscsi_text_get(const char *text, size_t len, const char *key,
		   const char **val, size_t *val_len);
/* Append key=value\0 to out at *pos: 0 or -ENOSPC. */
int iscsi_text_add(char *out, size_t outsz, size_t *pos, const char *key,
		   const char *val);

/* §5.1 binary-value: "0x" hex or "0b" base64 into out. Returns the byte
 * count, -EINVAL (bad encoding) or -ENOSPC. */
int iscsi_decode_binary(const char *v, size_t len, uint8_t *out,
			size_t outsz);
/* "0x" + hex of in, NUL-terminated: 0 or -ENOSPC. */
int iscsi_encode_hex(const uint8_t *in, size_t n, char *out, size_t outsz);

/* CHAP response (RFC 1994 §4.1): MD5(id || secret || challenge). */
void iscsi_chap_response(uint8_t id, const uint8_t *secret, size_t secret_len,
			 const uint8_t *challenge, size_t challenge_len,
			 uint8_t out[16]);

#endif
