/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iSCSI PDUs: pure parse/build for the target; see iscsi_wire.h. */

#include <errno.h>
#include <string.h>

#include "iscsi_wire.h"

uint16_t iscsi_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t iscsi_get24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

uint32_t iscsi_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

uint64_t iscsi_get64(const uint8_t *p)
{
	return ((uint64_t)iscsi_get32(p) << 32) | iscsi_get32(p + 4);
}

void iscsi_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void iscsi_put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

void iscsi_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void iscsi_put64(uint8_t *p, uint64_t v)
{
	iscsi_put32(p, (uint32_t)(v >> 32));
	iscsi_put32(p + 4, (uint32_t)v);
}

/* RFC 1982 serial arithmetic with SERIAL_BITS = 32 */
int iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000U;
}

int iscsi_sn_in(uint32_t a, uint32_t lo, uint32_t hi)
{
	return !iscsi_sn_lt(a, lo) && !iscsi_sn_lt(hi, a);
}

int iscsi_parse_bhs(const uint8_t *buf, size_t len, struct iscsi_bhs *h)
{
	if (len < ISCSI_BHS_SIZE)
		return -EAGAIN;
	h->opcode = buf[0] & ISCSI_OPCODE_MASK;
	h->immediate = (buf[0] & ISCSI_IMMEDIATE) != 0;
	h->flags = buf[1];
	h->final = (buf[1] & ISCSI_FLAG_FINAL) != 0;
	h->cont = (buf[1] & ISCSI_FLAG_CONTINUE) != 0;
	/* §11.12.3: CSG in bits 3-2, NSG in bits 1-0 */
	h->csg = (buf[1] >> 2) & 3;
	h->nsg = buf[1] & 3;
	h->b2 = buf[2];
	h->b3 = buf[3];
	h->ahs_words = buf[4];
	h->data_len = iscsi_get24(buf + 5);
	h->lun = iscsi_get64(buf + 8);
	memcpy(h->isid, buf + 8, 6);
	h->tsih = iscsi_get16(buf + 14);
	h->itt = iscsi_get32(buf + 16);
	h->w20 = iscsi_get32(buf + 20);
	h->cmdsn = iscsi_get32(buf + 24);
	h->exp_statsn = iscsi_get32(buf + 28);
	h->w32 = iscsi_get32(buf + 32);
	h->w36 = iscsi_get32(buf + 36);
	h->w40 = iscsi_get32(buf + 40);
	h->cdb = buf + 32;
	return 0;
}

size_t iscsi_pdu_len(const struct iscsi_bhs *h, int header_digest,
		     int data_digest)
{
	size_t n = ISCSI_BHS_SIZE + (size_t)h->ahs_words * 4;

	if (header_digest)
		n += ISCSI_DIGEST_SIZE;
	if (h->data_len) {
		n += h->data_len + iscsi_pad(h->data_len);
		if (data_digest)
			n += ISCSI_DIGEST_SIZE;
	}
	return n;
}

int iscsi_check_bhs(const struct iscsi_bhs *h, uint32_t max_dsl)
{
	switch (h->opcode) {
	case ISCSI_OP_NOP_OUT:
		/* §11.18: F is 1 */
		if (!h->final)
			return -EINVAL;
		break;
	case ISCSI_OP_SCSI_CMD:
		/* §11.3.1: immediate data goes with W only */
		if (h->data_len && !(h->flags & ISCSI_CMD_WRITE))
			return -EINVAL;
		break;
	case ISCSI_OP_DATA_OUT:
	case ISCSI_OP_TMF_REQ:
	case ISCSI_OP_LOGOUT_REQ:
	case ISCSI_OP_SNACK_REQ:
		break;
	case ISCSI_OP_LOGIN_REQ:
	case ISCSI_OP_TEXT_REQ:
		/* their data is bounded by the key/value limits, not by
		 * the negotiated MaxRecvDataSegmentLength (§13.12: the
		 * default 8192 holds during login) */
		return 0;
	default:
		return -EPROTO;
	}
	if (h->data_len > max_dsl)
		return -EMSGSIZE;
	return 0;
}

/* ---- CRC32C (RFC 7143 §13.1; RFC 3385 chose the polynomial) ---- */

/*
 * Slicing by 8: table[k][b] is the CRC of byte b followed by k zero bytes,
 * so eight input bytes cost eight lookups and no per-bit loop. The table
 * is derived from the polynomial on first use (a pure function of a
 * constant: every caller would compute the same bytes).
 */
#define CRC32C_POLY 0x82f63b78U

static uint32_t crc32c_table[8][256];
static int crc32c_ready;

static void crc32c_init(void)
{
	uint32_t c;
	unsigned i, k, b;

	for (i = 0; i < 256; i++) {
		c = i;
		for (b = 0; b < 8; b++)
			c = (c >> 1) ^ (CRC32C_POLY & (0U - (c & 1)));
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc32c_table[k][i] =
				(crc32c_table[k - 1][i] >> 8) ^
				crc32c_table[0][crc32c_table[k - 1][i] & 0xff];
	crc32c_ready = 1;
}

uint32_t iscsi_crc32c_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t lo, hi;

	if (!crc32c_ready)
		crc32c_init();
	while (len >= 8) {
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
			    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		     (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc32c_table[7][lo & 0xff] ^
		      crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^
		      crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^
		      crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^
		      crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

uint32_t iscsi_crc32c(const void *data, size_t len)
{
	return iscsi_crc32c_update(~0U, data, len) ^ ~0U;
}

void iscsi_put_digest(uint8_t *p, uint32_t crc)
{
	p[0] = (uint8_t)crc;
	p[1] = (uint8_t)(crc >> 8);
	p[2] = (uint8_t)(crc >> 16);
	p[3] = (uint8_t)(crc >> 24);
}

uint32_t iscsi_get_digest(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* ---- target PDUs ---- */

/* Zero a BHS and set the fields every target PDU has. */
static int bhs_start(uint8_t *buf, size_t bufsz, uint8_t opcode,
		     uint8_t flags, uint32_t data_len, uint32_t itt)
{
	if (bufsz < ISCSI_BHS_SIZE)
		return -ENOSPC;
	if (data_len > ISCSI_MAX_DSL)
		return -EINVAL;
	memset(buf, 0, ISCSI_BHS_SIZE);
	buf[0] = opcode;
	buf[1] = flags;
	iscsi_put24(buf + 5, data_len);
	iscsi_put32(buf + 16, itt);
	return 0;
}

static void bhs_put_sn(uint8_t *buf, const struct iscsi_sn *sn)
{
	iscsi_put32(buf + 24, sn->statsn);
	iscsi_put32(buf + 28, sn->exp_cmdsn);
	iscsi_put32(buf + 32, sn->max_cmdsn);
}

int iscsi_build_login_rsp(uint8_t *buf, size_t bufsz,
			  const struct iscsi_login_rsp *r,
			  const struct iscsi_sn *sn)
{
	uint8_t flags = (uint8_t)((r->transit ? ISCSI_LOGIN_TRANSIT : 0) |
				  (r->cont ? ISCSI_FLAG_CONTINUE : 0) |
				  (r->csg & 3) << 2 | (r->nsg & 3));
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_LOGIN_RSP, flags,
			    r->data_len, r->itt)) != 0)
		return rc;
	buf[2] = r->version_max;
	buf[3] = r->version_active;
	memcpy(buf + 8, r->isid, 6);
	iscsi_put16(buf + 14, r->tsih);
	bhs_put_sn(buf, sn);
	buf[36] = (uint8_t)(r->status >> 8);
	buf[37] = (uint8_t)r->status;
	return ISCSI_BHS_SIZE;
}

int iscsi_build_text_rsp(uint8_t *buf, size_t bufsz, int final, int cont,
			 uint64_t lun, uint32_t itt, uint32_t ttt,
			 const struct iscsi_sn *sn, uint32_t data_len)
{
	uint8_t flags = (uint8_t)((final ? ISCSI_FLAG_FINAL : 0) |
				  (cont ? ISCSI_FLAG_CONTINUE : 0));
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_TEXT_RSP, flags, data_len,
			    itt)) != 0)
		return rc;
	iscsi_put64(buf + 8, lun);
	iscsi_put32(buf + 20, ttt);
	bhs_put_sn(buf, sn);
	return ISCSI_BHS_SIZE;
}

int iscsi_build_scsi_rsp(uint8_t *buf, size_t bufsz,
			 const struct iscsi_scsi_rsp *r,
			 const struct iscsi_sn *sn)
{
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_SCSI_RSP,
			    ISCSI_FLAG_FINAL | (r->residual_flags & 0x1e),
			    r->data_len, r->itt)) != 0)
		return rc;
	buf[2] = r->response;
	buf[3] = r->status;
	/* §11.4.6: SNACK Tag (bytes 20-23) stays 0 without SNACK */
	bhs_put_sn(buf, sn);
	iscsi_put32(buf + 36, r->exp_datasn);
	iscsi_put32(buf + 44, r->residual);
	return ISCSI_BHS_SIZE;
}

int iscsi_put_sense(uint8_t *buf, size_t bufsz, const uint8_t *sense,
		    uint16_t len)
{
	if (bufsz < 2 + (size_t)len)
		return -ENOSPC;
	iscsi_put16(buf, len);
	memcpy(buf + 2, sense, len);
	return 2 + len;
}

int iscsi_build_data_in(uint8_t *buf, size_t bufsz,
			const struct iscsi_data_in *d,
			const struct iscsi_sn *sn)
{
	uint8_t flags = d->final ? ISCSI_FLAG_FINAL : 0;
	int rc;

	/* §11.7.1: S implies F; status and residuals only with S */
	if (d->has_status)
		flags = ISCSI_FLAG_FINAL | ISCSI_DATA_STATUS |
			(d->residual_flags & (ISCSI_FLAG_OVERFLOW |
					      ISCSI_FLAG_UNDERFLOW));
	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_DATA_IN, flags, d->data_len,
			    d->itt)) != 0)
		return rc;
	iscsi_put64(buf + 8, d->lun);
	iscsi_put32(buf + 20, ISCSI_RSVD_TAG);
	bhs_put_sn(buf, sn);
	if (d->has_status) {
		buf[3] = d->status;
		iscsi_put32(buf + 44, d->residual);
	} else {
		/* §11.7.4: StatSN only when S is set */
		iscsi_put32(buf + 24, 0);
	}
	iscsi_put32(buf + 36, d->datasn);
	iscsi_put32(buf + 40, d->offset);
	return ISCSI_BHS_SIZE;
}

int iscsi_build_r2t(uint8_t *buf, size_t bufsz, uint64_t lun, uint32_t itt,
		    uint32_t ttt, const struct iscsi_sn *sn, uint32_t r2tsn,
		    uint32_t offset, uint32_t len)
{
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_R2T, ISCSI_FLAG_FINAL, 0,
			    itt)) != 0)
		return rc;
	iscsi_put64(buf + 8, lun);
	iscsi_put32(buf + 20, ttt);
	bhs_put_sn(buf, sn);
	iscsi_put32(buf + 36, r2tsn);
	iscsi_put32(buf + 40, offset);
	iscsi_put32(buf + 44, len);
	return ISCSI_BHS_SIZE;
}

int iscsi_build_nop_in(uint8_t *buf, size_t bufsz, uint64_t lun, uint32_t itt,
		       uint32_t ttt, const struct iscsi_sn *sn,
		       uint32_t data_len)
{
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL,
			    data_len, itt)) != 0)
		return rc;
	iscsi_put64(buf + 8, lun);
	iscsi_put32(buf + 20, ttt);
	bhs_put_sn(buf, sn);
	return ISCSI_BHS_SIZE;
}

int iscsi_build_logout_rsp(uint8_t *buf, size_t bufsz, uint8_t response,
			   uint32_t itt, const struct iscsi_sn *sn,
			   uint16_t time2wait, uint16_t time2retain)
{
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_LOGOUT_RSP, ISCSI_FLAG_FINAL,
			    0, itt)) != 0)
		return rc;
	buf[2] = response;
	bhs_put_sn(buf, sn);
	iscsi_put16(buf + 40, time2wait);
	iscsi_put16(buf + 42, time2retain);
	return ISCSI_BHS_SIZE;
}

int iscsi_build_reject(uint8_t *buf, size_t bufsz, uint8_t reason,
		       const struct iscsi_sn *sn, uint32_t datasn)
{
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_REJECT, ISCSI_FLAG_FINAL,
			    ISCSI_BHS_SIZE, ISCSI_RSVD_TAG)) != 0)
		return rc;
	buf[2] = reason;
	bhs_put_sn(buf, sn);
	iscsi_put32(buf + 36, datasn);
	return ISCSI_BHS_SIZE;
}

int iscsi_build_tmf_rsp(uint8_t *buf, size_t bufsz, uint8_t response,
			uint32_t itt, const struct iscsi_sn *sn)
{
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_TMF_RSP, ISCSI_FLAG_FINAL, 0,
			    itt)) != 0)
		return rc;
	buf[2] = response;
	bhs_put_sn(buf, sn);
	return ISCSI_BHS_SIZE;
}

int iscsi_build_async(uint8_t *buf, size_t bufsz, uint64_t lun,
		      const struct iscsi_sn *sn, uint8_t event, uint8_t vcode,
		      uint16_t p1, uint16_t p2, uint16_t p3, uint32_t data_len)
{
	int rc;

	if ((rc = bhs_start(buf, bufsz, ISCSI_OP_ASYNC, ISCSI_FLAG_FINAL,
			    data_len, ISCSI_RSVD_TAG)) != 0)
		return rc;
	iscsi_put64(buf + 8, lun);
	bhs_put_sn(buf, sn);
	buf[36] = event;
	buf[37] = vcode;
	iscsi_put16(buf + 38, p1);
	iscsi_put16(buf + 40, p2);
	iscsi_put16(buf + 42, p3);
	return ISCSI_BHS_SIZE;
}

const char *iscsi_opcode_name(uint8_t opcode)
{
	switch (opcode) {
	case ISCSI_OP_NOP_OUT: return "NOP-Out";
	case ISCSI_OP_SCSI_CMD: return "SCSI Command";
	case ISCSI_OP_TMF_REQ: return "Task Management Function Request";
	case ISCSI_OP_LOGIN_REQ: return "Login Request";
	case ISCSI_OP_TEXT_REQ: return "Text Request";
	case ISCSI_OP_DATA_OUT: return "SCSI Data-Out";
	case ISCSI_OP_LOGOUT_REQ: return "Logout Request";
	case ISCSI_OP_SNACK_REQ: return "SNACK Request";
	case ISCSI_OP_NOP_IN: return "NOP-In";
	case ISCSI_OP_SCSI_RSP: return "SCSI Response";
	case ISCSI_OP_TMF_RSP: return "Task Management Function Response";
	case ISCSI_OP_LOGIN_RSP: return "Login Response";
	case ISCSI_OP_TEXT_RSP: return "Text Response";
	case ISCSI_OP_DATA_IN: return "SCSI Data-In";
	case ISCSI_OP_LOGOUT_RSP: return "Logout Response";
	case ISCSI_OP_R2T: return "R2T";
	case ISCSI_OP_ASYNC: return "Asynchronous Message";
	case ISCSI_OP_REJECT: return "Reject";
	default: return "unknown";
	}
}

const char *iscsi_login_status_name(uint16_t status)
{
	switch (status) {
	case ISCSI_LOGIN_OK: return "success";
	case ISCSI_LOGIN_INITIATOR_ERROR: return "initiator error";
	case ISCSI_LOGIN_AUTH_FAILED: return "authentication failure";
	case ISCSI_LOGIN_FORBIDDEN: return "authorization failure";
	case ISCSI_LOGIN_NOT_FOUND: return "not found";
	case ISCSI_LOGIN_TARGET_REMOVED: return "target removed";
	case ISCSI_LOGIN_BAD_VERSION: return "unsupported version";
	case ISCSI_LOGIN_TOO_MANY_CONNS: return "too many connections";
	case ISCSI_LOGIN_MISSING_PARAM: return "missing parameter";
	case ISCSI_LOGIN_NO_SESSION_SPAN: return "can't include in session";
	case ISCSI_LOGIN_NO_SESSION_TYPE: return "session type not supported";
	case ISCSI_LOGIN_NO_SESSION: return "session does not exist";
	case ISCSI_LOGIN_INVALID_REQUEST: return "invalid during login";
	case ISCSI_LOGIN_TARGET_ERROR: return "target error";
	case ISCSI_LOGIN_UNAVAILABLE: return "service unavailable";
	case ISCSI_LOGIN_NO_RESOURCES: return "out of resources";
	default: return "unknown";
	}
}
