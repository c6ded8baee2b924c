/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iSCSI key negotiation and CHAP, target side; see iscsi_login.h. */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "iscsi_login.h"
#include "md5.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

void iscsi_params_default(struct iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->header_digest = ISCSI_DIGEST_NONE;		/* §13.1 */
	p->data_digest = ISCSI_DIGEST_NONE;
	p->max_connections = 1;				/* §13.2 */
	p->initial_r2t = 1;				/* §13.10 */
	p->immediate_data = 1;				/* §13.11 */
	p->max_recv_dsl = 8192;				/* §13.12 */
	p->max_burst = 262144;				/* §13.13 */
	p->first_burst = 65536;				/* §13.14 */
	p->default_time2wait = 2;			/* §13.15 */
	p->default_time2retain = 20;			/* §13.16 */
	p->max_outstanding_r2t = 1;			/* §13.17 */
	p->data_pdu_in_order = 1;			/* §13.18 */
	p->data_sequence_in_order = 1;			/* §13.19 */
	p->error_recovery_level = 0;			/* §13.20 */
	p->session_type = ISCSI_SESSION_NORMAL;		/* §13.21 */
}

/* ---- the key table (§12, §13) ---- */

enum key_kind {
	K_LIST,		/* §5.2.1: first of the initiator's values we support */
	K_MIN,		/* §5.2.2: numerical, result = minimum */
	K_MAX,		/* §5.2.2: numerical, result = maximum */
	K_OR,		/* §5.2.2: boolean, result = OR */
	K_AND,		/* §5.2.2: boolean, result = AND */
	K_DECL_NUM,	/* declarative number: recorded, not answered */
	K_DECL_TEXT,	/* declarative text: recorded, not answered */
	K_SESSION_TYPE,	/* §13.21 */
	K_AUTH_METHOD,	/* §12.1 */
	K_SEND_TARGETS,	/* §13.3 */
	K_TARGET_ONLY,	/* a key only targets send: Irrelevant */
	K_OBSOLETE,	/* §13.25: markers, answered Reject */
	K_CHAP,		/* §12.1.3: CHAP_A/I/C/N/R */
};

/* where a key may appear */
#define W_LOGIN		0x1
#define W_FFP		0x2

/* the answer a key gets in this request (struct iscsi_nego answer[]) */
enum {
	ANS_NONE,
	ANS_VALUE,
	ANS_REJECT,
	ANS_IRRELEVANT,
};

struct iscsi_key {
	const char *name;
	enum key_kind kind;
	unsigned where;
	uint32_t lo, hi;		/* numbers: the valid range */
	size_t off;			/* field of struct iscsi_params */
	size_t size;			/* text fields: their size */
	const char *const *values;	/* K_LIST: what we support */
};

static const char *const digest_values[] = { "None", "CRC32C", NULL };
static const char *const task_reporting_values[] = { "RFC3720", NULL };

#define P(field) offsetof(struct iscsi_params, field)
#define NUM(n, k, w, lo, hi, f) { n, k, w, lo, hi, P(f), 0, NULL }
#define TXT(n, f) { n, K_DECL_TEXT, W_LOGIN, 0, 0, P(f), \
		    sizeof(((struct iscsi_params *)0)->f), NULL }
#define OTHER(n, k, w) { n, k, w, 0, 0, 0, 0, NULL }

enum {
	KEY_FIRST_BURST = 7,
	KEY_AUTH_METHOD = 18,
};

static const struct iscsi_key iscsi_keys[] = {
	/* §13.1 */
	{ "HeaderDigest", K_LIST, W_LOGIN, 0, 0, P(header_digest), 0,
	  digest_values },
	{ "DataDigest", K_LIST, W_LOGIN, 0, 0, P(data_digest), 0,
	  digest_values },
	NUM("MaxConnections", K_MIN, W_LOGIN, 1, 65535, max_connections),
	NUM("InitialR2T", K_OR, W_LOGIN, 0, 1, initial_r2t),
	NUM("ImmediateData", K_AND, W_LOGIN, 0, 1, immediate_data),
	/* §13.12: declarative, and may change in full feature phase */
	NUM("MaxRecvDataSegmentLength", K_DECL_NUM, W_LOGIN | W_FFP, 512,
	    ISCSI_MAX_DSL, max_recv_dsl),
	NUM("MaxBurstLength", K_MIN, W_LOGIN, 512, ISCSI_MAX_DSL, max_burst),
	[KEY_FIRST_BURST] = NUM("FirstBurstLength", K_MIN, W_LOGIN, 512,
				ISCSI_MAX_DSL, first_burst),
	NUM("DefaultTime2Wait", K_MAX, W_LOGIN, 0, 3600, default_time2wait),
	NUM("DefaultTime2Retain", K_MIN, W_LOGIN, 0, 3600,
	    default_time2retain),
	NUM("MaxOutstandingR2T", K_MIN, W_LOGIN, 1, 65535,
	    max_outstanding_r2t),
	NUM("DataPDUInOrder", K_OR, W_LOGIN, 0, 1, data_pdu_in_order),
	NUM("DataSequenceInOrder", K_OR, W_LOGIN, 0, 1,
	    data_sequence_in_order),
	NUM("ErrorRecoveryLevel", K_MIN, W_LOGIN, 0, 2, error_recovery_level),
	OTHER("SessionType", K_SESSION_TYPE, W_LOGIN),
	TXT("InitiatorName", initiator_name),
	TXT("InitiatorAlias", initiator_alias),
	TXT("TargetName", target_name),
	[KEY_AUTH_METHOD] = OTHER("AuthMethod", K_AUTH_METHOD, W_LOGIN),
	/* §13.23 */
	{ "TaskReporting", K_LIST, W_LOGIN, 0, 0, P(task_reporting), 0,
	  task_reporting_values },
	OTHER("SendTargets", K_SEND_TARGETS, W_FFP),
	OTHER("TargetAlias", K_TARGET_ONLY, W_LOGIN | W_FFP),
	OTHER("TargetAddress", K_TARGET_ONLY, W_LOGIN | W_FFP),
	OTHER("TargetPortalGroupTag", K_TARGET_ONLY, W_LOGIN | W_FFP),
	/* §13.25: "SHOULD respond with the constant Reject" (markers),
	 * "MUST" for the intervals */
	OTHER("IFMarker", K_OBSOLETE, W_LOGIN | W_FFP),
	OTHER("OFMarker", K_OBSOLETE, W_LOGIN | W_FFP),
	OTHER("IFMarkInt", K_OBSOLETE, W_LOGIN | W_FFP),
	OTHER("OFMarkInt", K_OBSOLETE, W_LOGIN | W_FFP),
	OTHER("CHAP_A", K_CHAP, W_LOGIN),
	OTHER("CHAP_I", K_CHAP, W_LOGIN),
	OTHER("CHAP_C", K_CHAP, W_LOGIN),
	OTHER("CHAP_N", K_CHAP, W_LOGIN),
	OTHER("CHAP_R", K_CHAP, W_LOGIN),
};

_Static_assert(ARRAY_SIZE(iscsi_keys) <= 40, "answer[] too small");

static uint32_t *param_u32(struct iscsi_params *p, const struct iscsi_key *k)
{
	return (uint32_t *)(void *)((char *)p + k->off);
}

static uint32_t param_get(const struct iscsi_params *p,
			  const struct iscsi_key *k)
{
	return *(const uint32_t *)(const void *)((const char *)p + k->off);
}

/* ---- key=value text (§5.1) ---- */

/* §5.1: key-name characters: letters, digits, '.', '-', '+', '@', '_';
 * and '#' of the public extension keys "X#name" (§13.22) */
static int key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' ||
	       c == '@' || c == '_' || c == '#';
}

static int key_allows_long_value(const char *key, size_t len)
{
	/* §12.1.3 CHAP binary values; §13.3 SendTargets answers are ours */
	return (len == 6 && (!memcmp(key, "CHAP_C", 6) ||
			     !memcmp(key, "CHAP_R", 6)));
}

int iscsi_text_next(const char *text, size_t len, size_t *off,
		    struct iscsi_kv *kv)
{
	const char *p, *end, *eq;
	size_t i = *off, n;

	while (i < len && text[i] == '\0')
		i++;
	if (i >= len) {
		*off = len;
		return 0;
	}
	p = text + i;
	end = memchr(p, '\0', len - i);
	n = end ? (size_t)(end - p) : len - i;
	if (!(eq = memchr(p, '=', n)))
		return -EPROTO;
	kv->key = p;
	kv->key_len = (size_t)(eq - p);
	kv->val = eq + 1;
	kv->val_len = n - kv->key_len - 1;
	if (kv->key_len == 0 || kv->key_len > ISCSI_KEY_MAX)
		return -EPROTO;
	for (i = 0; i < kv->key_len; i++)
		if (!key_char_ok(kv->key[i]))
			return -EPROTO;
	if (kv->val_len > (key_allows_long_value(kv->key, kv->key_len)
			   ? ISCSI_LONG_VALUE_MAX : ISCSI_VALUE_MAX))
		return -EPROTO;
	*off = (size_t)(p - text) + n + (end ? 1 : 0);
	return 1;
}

int iscsi_text_get(const char *text, size_t len, const char *key,
		   const char **val, size_t *val_len)
{
	struct iscsi_kv kv;
	size_t off = 0, klen = strlen(key);
	int rc;

	while ((rc = iscsi_text_next(text, len, &off, &kv)) > 0) {
		if (kv.key_len == klen && !memcmp(kv.key, key, klen)) {
			*val = kv.val;
			*val_len = kv.val_len;
			return 0;
		}
	}
	return rc < 0 ? rc : -ENOENT;
}

int iscsi_text_add(char *out, size_t outsz, size_t *pos, const char *key,
		   const char *val)
{
	size_t kl = strlen(key), vl = strlen(val);

	if (*pos + kl + 1 + vl + 1 > outsz)
		return -ENOSPC;
	memcpy(out + *pos, key, kl);
	out[*pos + kl] = '=';
	memcpy(out + *pos + kl + 1, val, vl);
	out[*pos + kl + 1 + vl] = '\0';
	*pos += kl + vl + 2;
	return 0;
}

/* ---- values (§5.1) ---- */

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int decode_hex(const char *v, size_t len, uint8_t *out, size_t outsz)
{
	size_t i, n = (len + 1) / 2;
	int hi, lo;

	if (len == 0)
		return -EINVAL;
	if (n > outsz)
		return -ENOSPC;
	/* an odd digit count: the first byte has one digit */
	for (i = 0; i < n; i++) {
		size_t j = 2 * i - (len & 1);

		hi = (len & 1) && i == 0 ? 0 : hex_nibble(v[j]);
		lo = hex_nibble(v[j + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)n;
}

static int decode_base64(const char *v, size_t len, uint8_t *out,
			 size_t outsz)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0, d, pad = 0;

	for (i = 0; i < len; i++) {
		if (v[i] == '=') {
			pad++;
			continue;
		}
		if (pad || (d = b64_value(v[i])) < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outsz)
				return -ENOSPC;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2 || n == 0)
		return -EINVAL;
	return (int)n;
}

int iscsi_decode_binary(const char *v, size_t len, uint8_t *out,
			size_t outsz)
{
	if (len < 3 || v[0] != '0')
		return -EINVAL;
	if (v[1] == 'x' || v[1] == 'X')
		return decode_hex(v + 2, len - 2, out, outsz);
	if (v[1] == 'b' || v[1] == 'B')
		return decode_base64(v + 2, len - 2, out, outsz);
	return -EINVAL;
}

int iscsi_encode_hex(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (outsz < 2 * n + 3)
		return -ENOSPC;
	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < n; i++) {
		out[2 + 2 * i] = digits[in[i] >> 4];
		out[3 + 2 * i] = digits[in[i] & 15];
	}
	out[2 + 2 * n] = '\0';
	return 0;
}

/* §5.1 numerical-value: decimal or 0x hex, at most 64 bits. */
static int parse_number(const char *v, size_t len, uint64_t *out)
{
	uint64_t x = 0;
	size_t i = 0;
	int base = 10, d;

	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		d = base == 16 ? hex_nibble(v[i])
			       : (v[i] >= '0' && v[i] <= '9' ? v[i] - '0' : -1);
		if (d < 0 || x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -EINVAL;
		x = x * (uint64_t)base + (uint64_t)d;
	}
	*out = x;
	return 0;
}

static int value_is(const char *v, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(v, s, len);
}

/* ---- negotiation ---- */

void iscsi_nego_init(struct iscsi_nego *n, const struct iscsi_nego_cfg *cfg,
		     const uint8_t *random)
{
	memset(n, 0, sizeof(*n));
	n->cfg = cfg;
	iscsi_params_default(&n->p);
	n->chap_id = random[0];
	memcpy(n->chap_challenge, random + 1, ISCSI_CHAP_CHALLENGE_SIZE);
}

static int nego_fail(struct iscsi_nego *n, int rc, uint16_t status,
		     const char *why)
{
	n->status = status;
	n->why = why;
	return rc;
}

static const struct iscsi_key *key_find(const char *name, size_t len,
					size_t *index)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(iscsi_keys); i++) {
		if (value_is(name, len, iscsi_keys[i].name)) {
			*index = i;
			return &iscsi_keys[i];
		}
	}
	return NULL;
}

/* §5.2.1: the first value of the initiator's comma list that we support
 * (ok(arg, value) says which); -1 when none is. */
static int list_pick(const char *v, size_t len,
		     int (*ok)(const void *arg, const char *s, size_t l),
		     const void *arg)
{
	size_t i = 0, j;
	int r;

	while (i <= len) {
		for (j = i; j < len && v[j] != ','; j++)
			;
		if ((r = ok(arg, v + i, j - i)) >= 0)
			return r;
		i = j + 1;
	}
	return -1;
}

static int list_ok_table(const void *arg, const char *s, size_t l)
{
	const char *const *vals = arg;
	int i;

	for (i = 0; vals[i]; i++)
		if (value_is(s, l, vals[i]))
			return i;
	return -1;
}

static int chap_required(const struct iscsi_nego_cfg *cfg)
{
	return cfg->chap_secret || cfg->chap_secret_for;
}

static int list_ok_auth(const void *arg, const char *s, size_t l)
{
	const struct iscsi_nego_cfg *cfg = arg;

	/* a target with a secret accepts CHAP only; one without, None */
	if (chap_required(cfg) ? value_is(s, l, "CHAP") : value_is(s, l, "None"))
		return chap_required(cfg) ? ISCSI_AUTH_CHAP : ISCSI_AUTH_NONE;
	return -1;
}

static int list_ok_chap_a(const void *arg, const char *s, size_t l)
{
	uint64_t x;

	(void)arg;
	return parse_number(s, l, &x) == 0 && x == ISCSI_CHAP_MD5 ? 0 : -1;
}

/* CHAP keys of one request, in the request's buffer. */
struct chap_in {
	struct iscsi_kv a, i, c, n, r;
	int has_a, has_i, has_c, has_n, has_r;
};

static void chap_collect(struct chap_in *ch, const struct iscsi_kv *kv)
{
	static const char names[] = "AICNR";
	const char *w = strchr(names, kv->key[5]);
	struct iscsi_kv *slot[] = { &ch->a, &ch->i, &ch->c, &ch->n, &ch->r };
	int *has[] = { &ch->has_a, &ch->has_i, &ch->has_c, &ch->has_n,
		       &ch->has_r };

	if (!w)
		return;
	*slot[w - names] = *kv;
	*has[w - names] = 1;
}

/* A numeric or boolean key's new value; ANS_* for the answer. */
static int nego_number(struct iscsi_nego *n, const struct iscsi_key *k,
		       const char *v, size_t len)
{
	uint32_t ours = param_get(&n->cfg->ours, k), *res = param_u32(&n->p, k);
	uint64_t x;

	if (k->kind == K_OR || k->kind == K_AND) {
		if (value_is(v, len, "Yes"))
			x = 1;
		else if (value_is(v, len, "No"))
			x = 0;
		else
			return ANS_REJECT;
		*res = k->kind == K_OR ? (x || ours) : (x && ours);
		return ANS_VALUE;
	}
	if (parse_number(v, len, &x) != 0 || x < k->lo || x > k->hi)
		return ANS_REJECT;
	switch (k->kind) {
	case K_MIN:
		*res = (uint32_t)x < ours ? (uint32_t)x : ours;
		return ANS_VALUE;
	case K_MAX:
		*res = (uint32_t)x > ours ? (uint32_t)x : ours;
		return ANS_VALUE;
	default:	/* K_DECL_NUM */
		*res = (uint32_t)x;
		return ANS_NONE;
	}
}

/* One table key of the request. 0, or <0 to fail the negotiation. */
static int nego_key(struct iscsi_nego *n, size_t idx, const struct iscsi_kv *kv,
		    struct chap_in *ch)
{
	const struct iscsi_key *k = &iscsi_keys[idx];
	const char *v = kv->val;
	size_t len = kv->val_len;
	int r;

	/* §5.2: values answering keys we offered: we offer none but
	 * declarations, so there is nothing to do with them */
	if (value_is(v, len, "NotUnderstood") || value_is(v, len, "Irrelevant") ||
	    value_is(v, len, "Reject"))
		return 0;
	if (!(k->where & (n->stage == ISCSI_STAGE_FULL ? W_FFP : W_LOGIN))) {
		/* §6.4: only some keys may be negotiated after login */
		n->answer[idx] = n->stage == ISCSI_STAGE_FULL ? ANS_REJECT
							      : ANS_IRRELEVANT;
		return 0;
	}
	switch (k->kind) {
	case K_LIST:
		r = list_pick(v, len, list_ok_table, k->values);
		if (r < 0) {
			n->answer[idx] = ANS_REJECT;
			return 0;
		}
		*param_u32(&n->p, k) = (uint32_t)r;
		n->answer[idx] = ANS_VALUE;
		return 0;
	case K_MIN:
	case K_MAX:
	case K_OR:
	case K_AND:
	case K_DECL_NUM:
		n->answer[idx] = (uint8_t)nego_number(n, k, v, len);
		return 0;
	case K_DECL_TEXT:
		if (len == 0 || len >= k->size)
			return nego_fail(n, -EPROTO, ISCSI_LOGIN_INITIATOR_ERROR,
					 "name empty or too long");
		memcpy((char *)&n->p + k->off, v, len);
		((char *)&n->p + k->off)[len] = '\0';
		return 0;
	case K_SESSION_TYPE:
		if (value_is(v, len, "Normal"))
			n->p.session_type = ISCSI_SESSION_NORMAL;
		else if (value_is(v, len, "Discovery"))
			n->p.session_type = ISCSI_SESSION_DISCOVERY;
		else
			return nego_fail(n, -EPROTO,
					 ISCSI_LOGIN_NO_SESSION_TYPE,
					 "unknown SessionType");
		return 0;
	case K_AUTH_METHOD:
		if (n->stage != ISCSI_STAGE_SECURITY) {
			n->answer[idx] = ANS_IRRELEVANT;
			return 0;
		}
		r = list_pick(v, len, list_ok_auth, n->cfg);
		if (r < 0)
			return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
					 chap_required(n->cfg)
					 ? "the target requires CHAP"
					 : "no common AuthMethod (None)");
		n->auth = r;
		if (r == ISCSI_AUTH_CHAP)
			n->chap_state = ISCSI_CHAP_WAIT_A;
		n->answer[idx] = ANS_VALUE;
		return 0;
	case K_SEND_TARGETS:
		if (len == 0) {
			n->send_targets = 3;
		} else if (value_is(v, len, "All")) {
			n->send_targets = 1;
		} else if (len <= ISCSI_NAME_MAX) {
			n->send_targets = 2;
			memcpy(n->send_targets_name, v, len);
			n->send_targets_name[len] = '\0';
		} else {
			n->answer[idx] = ANS_REJECT;
		}
		return 0;
	case K_TARGET_ONLY:
		n->answer[idx] = ANS_IRRELEVANT;
		return 0;
	case K_OBSOLETE:
		n->answer[idx] = ANS_REJECT;
		return 0;
	case K_CHAP:
		if (n->stage != ISCSI_STAGE_SECURITY ||
		    n->auth != ISCSI_AUTH_CHAP)
			return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
					 "CHAP key without AuthMethod=CHAP");
		chap_collect(ch, kv);
		return 0;
	}
	return 0;
}

/* CHAP_A: answer CHAP_A=5 with our CHAP_I and CHAP_C. */
static int chap_challenge(struct iscsi_nego *n, const struct chap_in *ch,
			  char *out, size_t outsz, size_t *pos)
{
	char hex[2 * ISCSI_CHAP_CHALLENGE_SIZE + 3], id[4];

	if (n->chap_state != ISCSI_CHAP_WAIT_A)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP_A out of order");
	if (list_pick(ch->a.val, ch->a.val_len, list_ok_chap_a, NULL) < 0)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP_A without 5 (MD5)");
	snprintf(id, sizeof(id), "%u", n->chap_id);
	iscsi_encode_hex(n->chap_challenge, sizeof(n->chap_challenge), hex,
			 sizeof(hex));
	n->chap_state = ISCSI_CHAP_WAIT_R;
	if (iscsi_text_add(out, outsz, pos, "CHAP_A", "5") ||
	    iscsi_text_add(out, outsz, pos, "CHAP_I", id) ||
	    iscsi_text_add(out, outsz, pos, "CHAP_C", hex))
		return nego_fail(n, -ENOSPC, ISCSI_LOGIN_TARGET_ERROR,
				 "answer too long");
	return 0;
}

/* Mutual CHAP: the initiator's CHAP_I/CHAP_C, answered with our CHAP_N
 * and CHAP_R (§12.1.3). */
static int chap_mutual(struct iscsi_nego *n, const struct chap_in *ch,
		       char *out, size_t outsz, size_t *pos)
{
	const struct iscsi_nego_cfg *cfg = n->cfg;
	uint8_t c[ISCSI_CHAP_MAX_BINARY], r[MD5_DIGEST_SIZE];
	char hex[2 * MD5_DIGEST_SIZE + 3];
	uint64_t id;
	int clen;

	if (!ch->has_i || !ch->has_c)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP_I without CHAP_C or back");
	if (!cfg->chap_target_secret)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "mutual CHAP asked, no target secret set");
	if (parse_number(ch->i.val, ch->i.val_len, &id) != 0 || id > 255)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "bad CHAP_I");
	clen = iscsi_decode_binary(ch->c.val, ch->c.val_len, c, sizeof(c));
	if (clen <= 0)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "bad CHAP_C");
	/* §12.1.3: a challenge equal to the one we sent would let the
	 * initiator reflect our own question back to us */
	if ((size_t)clen == sizeof(n->chap_challenge) &&
	    !memcmp(c, n->chap_challenge, sizeof(n->chap_challenge)))
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP_C reflects our challenge");
	iscsi_chap_response((uint8_t)id, cfg->chap_target_secret,
			    cfg->chap_target_secret_len, c, (size_t)clen, r);
	iscsi_encode_hex(r, sizeof(r), hex, sizeof(hex));
	if (iscsi_text_add(out, outsz, pos, "CHAP_N",
			   cfg->chap_target_user ? cfg->chap_target_user
						 : n->p.target_name) ||
	    iscsi_text_add(out, outsz, pos, "CHAP_R", hex))
		return nego_fail(n, -ENOSPC, ISCSI_LOGIN_TARGET_ERROR,
				 "answer too long");
	return 0;
}

/* CHAP_N + CHAP_R: check the initiator's response (RFC 1994 §4.1). */
static int chap_verify(struct iscsi_nego *n, const struct chap_in *ch,
		       char *out, size_t outsz, size_t *pos)
{
	const struct iscsi_nego_cfg *cfg = n->cfg;
	uint8_t want[MD5_DIGEST_SIZE], got[ISCSI_CHAP_MAX_BINARY];
	uint8_t derived[ISCSI_CHAP_MAX_BINARY];
	const uint8_t *secret = cfg->chap_secret;
	size_t secret_len = cfg->chap_secret_len;
	int glen, name_bad;

	if (n->chap_state != ISCSI_CHAP_WAIT_R || !ch->has_n || !ch->has_r)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP_N/CHAP_R missing or out of order");
	if (ch->n.val_len >= sizeof(n->chap_name))
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP_N too long");
	memcpy(n->chap_name, ch->n.val, ch->n.val_len);
	n->chap_name[ch->n.val_len] = '\0';
	name_bad = cfg->chap_user &&
		   !value_is(ch->n.val, ch->n.val_len, cfg->chap_user);
	if (cfg->chap_secret_for) {
		/* a name the callback does not know gets a random secret:
		 * the response check still runs, and fails */
		secret_len = sizeof(derived);
		if (cfg->chap_secret_for(cfg->chap_arg, n->chap_name, derived,
					 &secret_len) != 0) {
			randombytes_buf(derived, sizeof(derived));
			secret_len = sizeof(derived);
			name_bad = 1;
		}
		secret = derived;
	}
	glen = iscsi_decode_binary(ch->r.val, ch->r.val_len, got, sizeof(got));
	iscsi_chap_response(n->chap_id, secret, secret_len,
			    n->chap_challenge, sizeof(n->chap_challenge), want);
	sodium_memzero(derived, sizeof(derived));
	/* the name check and the response check both run: the time taken
	 * says nothing about which one failed */
	int resp_bad = glen != MD5_DIGEST_SIZE ||
		       sodium_memcmp(got, want, MD5_DIGEST_SIZE) != 0;
	if (name_bad | resp_bad) {
		n->chap_name[0] = '\0';
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP response does not match");
	}
	if (ch->has_i || ch->has_c) {
		int rc = chap_mutual(n, ch, out, outsz, pos);

		if (rc)
			return rc;
	}
	n->chap_state = ISCSI_CHAP_DONE;
	return 0;
}

static int chap_step(struct iscsi_nego *n, const struct chap_in *ch,
		     char *out, size_t outsz, size_t *pos)
{
	int rc;

	if (ch->has_a && (rc = chap_challenge(n, ch, out, outsz, pos)) != 0)
		return rc;
	if (ch->has_n || ch->has_r)
		return chap_verify(n, ch, out, outsz, pos);
	if (ch->has_i || ch->has_c)
		return nego_fail(n, -EACCES, ISCSI_LOGIN_AUTH_FAILED,
				 "CHAP_I/CHAP_C without CHAP_N/CHAP_R");
	return 0;
}

/* The answer of table key idx, from the final values of this request. */
static int nego_answer(struct iscsi_nego *n, size_t idx, char *out,
		       size_t outsz, size_t *pos)
{
	const struct iscsi_key *k = &iscsi_keys[idx];
	uint32_t x = param_get(&n->p, k);
	const char *val;
	char num[16];

	switch (n->answer[idx]) {
	case ANS_REJECT:
		val = "Reject";
		break;
	case ANS_IRRELEVANT:
		val = "Irrelevant";
		break;
	default:
		if (idx == KEY_AUTH_METHOD)
			val = n->auth == ISCSI_AUTH_CHAP ? "CHAP" : "None";
		else if (k->kind == K_LIST)
			val = k->values[x];
		else if (k->kind == K_OR || k->kind == K_AND)
			val = x ? "Yes" : "No";
		else {
			snprintf(num, sizeof(num), "%u", x);
			val = num;
		}
		break;
	}
	return iscsi_text_add(out, outsz, pos, k->name, val);
}

/* Declarations of ours due in this answer (§13.9, §13.12). */
static int nego_declare(struct iscsi_nego *n, char *out, size_t outsz,
			size_t *pos)
{
	char num[16];

	if (n->stage == ISCSI_STAGE_FULL)
		return 0;
	if (!n->tpgt_declared && n->p.session_type == ISCSI_SESSION_NORMAL) {
		snprintf(num, sizeof(num), "%u", n->cfg->tpgt);
		if (iscsi_text_add(out, outsz, pos, "TargetPortalGroupTag", num))
			return -ENOSPC;
		n->tpgt_declared = 1;
	}
	if (!n->mrdsl_declared && n->stage == ISCSI_STAGE_OPERATIONAL) {
		snprintf(num, sizeof(num), "%u", n->cfg->ours.max_recv_dsl);
		if (iscsi_text_add(out, outsz, pos, "MaxRecvDataSegmentLength",
				   num))
			return -ENOSPC;
		n->mrdsl_declared = 1;
	}
	return 0;
}

int iscsi_nego_run(struct iscsi_nego *n, const char *text, size_t len,
		   char *out, size_t outsz, size_t *outlen)
{
	struct chap_in ch = { 0 };
	const struct iscsi_key *k;
	struct iscsi_kv kv;
	size_t off = 0, pos = 0, idx;
	int rc;

	*outlen = 0;
	memset(n->answer, 0, sizeof(n->answer));
	n->send_targets = 0;
	/* keys may come again in a new Text negotiation, never twice in
	 * one login (§5.2: a key is negotiated once) */
	if (n->stage == ISCSI_STAGE_FULL)
		n->seen = 0;
	while ((rc = iscsi_text_next(text, len, &off, &kv)) > 0) {
		if (!(k = key_find(kv.key, kv.key_len, &idx))) {
			/* §5.2: NotUnderstood, also for X- and X# keys
			 * (§13.22) of other vendors */
			char key[ISCSI_KEY_MAX + 1];

			memcpy(key, kv.key, kv.key_len);
			key[kv.key_len] = '\0';
			if (iscsi_text_add(out, outsz, &pos, key,
					   "NotUnderstood"))
				return nego_fail(n, -ENOSPC,
						 ISCSI_LOGIN_TARGET_ERROR,
						 "answer too long");
			continue;
		}
		(void)k;
		if (n->seen & (1ULL << idx))
			return nego_fail(n, -EPROTO,
					 ISCSI_LOGIN_INITIATOR_ERROR,
					 "a key sent twice");
		n->seen |= 1ULL << idx;
		if ((rc = nego_key(n, idx, &kv, &ch)) != 0)
			return rc;
	}
	if (rc < 0)
		return nego_fail(n, -EPROTO, ISCSI_LOGIN_INITIATOR_ERROR,
				 "malformed key=value text");
	/* §13.14: FirstBurstLength is irrelevant with InitialR2T=Yes and
	 * ImmediateData=No, and never exceeds MaxBurstLength */
	if (n->p.first_burst > n->p.max_burst)
		n->p.first_burst = n->p.max_burst;
	if (n->answer[KEY_FIRST_BURST] == ANS_VALUE && n->p.initial_r2t &&
	    !n->p.immediate_data)
		n->answer[KEY_FIRST_BURST] = ANS_IRRELEVANT;
	for (idx = 0; idx < ARRAY_SIZE(iscsi_keys); idx++)
		if (n->answer[idx] != ANS_NONE &&
		    nego_answer(n, idx, out, outsz, &pos) != 0)
			return nego_fail(n, -ENOSPC, ISCSI_LOGIN_TARGET_ERROR,
					 "answer too long");
	if ((rc = chap_step(n, &ch, out, outsz, &pos)) != 0)
		return rc;
	if (nego_declare(n, out, outsz, &pos) != 0)
		return nego_fail(n, -ENOSPC, ISCSI_LOGIN_TARGET_ERROR,
				 "answer too long");
	*outlen = pos;
	return 0;
}

int iscsi_nego_auth_ok(const struct iscsi_nego *n)
{
	if (chap_required(n->cfg))
		return n->chap_state == ISCSI_CHAP_DONE;
	return 1;
}

void iscsi_chap_response(uint8_t id, const uint8_t *secret, size_t secret_len,
			 const uint8_t *challenge, size_t challenge_len,
			 uint8_t out[16])
{
	struct md5_ctx c;

	md5_init(&c);
	md5_update(&c, &id, 1);
	md5_update(&c, secret, secret_len);
	md5_update(&c, challenge, challenge_len);
	md5_final(&c, out);
	sodium_memzero(&c, sizeof(c));
}
