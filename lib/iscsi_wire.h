/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_ISCSI_WIRE_H
#define LB_ISCSI_WIRE_H

/*
 * iSCSI PDUs on the wire (RFC 7143 §11), for the target in
 * server-stub/iscsi.c, the unit tests and the fuzzer. Pure parse/build
 * code: no sockets, no clock, no allocation. Integers are big-endian,
 * except the CRC32C digests (RFC 7143 §13.1: least significant byte first,
 * as the RFC's Appendix B.4 examples show).
 *
 * Every PDU starts with the 48-byte Basic Header Segment (BHS, §11.2.1).
 * A PDU on the wire is
 *
 *   BHS(48) | AHS (TotalAHSLength * 4) | HeaderDigest(4)? |
 *   data (DataSegmentLength, padded to 4) | DataDigest(4)?
 *
 * (the data digest only when there is data). Builders write the BHS of a
 * target PDU; the caller places the data behind it (padding and digests
 * through iscsi_pad() and iscsi_crc32c()). They return ISCSI_BHS_SIZE, or
 * -ENOSPC when bufsz is short.
 */

#include <stddef.h>
#include <stdint.h>

#define ISCSI_PORT		3260
#define ISCSI_BHS_SIZE		48
#define ISCSI_DIGEST_SIZE	4
/* §11.2.1.5: DataSegmentLength is 24 bits */
#define ISCSI_MAX_DSL		0xffffffU
/* §11.2.1.4 (TotalAHSLength is 8 bits, in 4-byte words) */
#define ISCSI_MAX_AHS		(255U * 4)
/* RFC 3722 / RFC 7143 iSCSI name properties: at most 223 bytes */
#define ISCSI_NAME_MAX		223
/* the "reserved" tag value (§11.2.1.8, §11.7.4) */
#define ISCSI_RSVD_TAG		0xffffffffU

/* §11.2.1.2: opcodes, initiator to target */
#define ISCSI_OP_NOP_OUT	0x00
#define ISCSI_OP_SCSI_CMD	0x01
#define ISCSI_OP_TMF_REQ	0x02
#define ISCSI_OP_LOGIN_REQ	0x03
#define ISCSI_OP_TEXT_REQ	0x04
#define ISCSI_OP_DATA_OUT	0x05
#define ISCSI_OP_LOGOUT_REQ	0x06
#define ISCSI_OP_SNACK_REQ	0x10
/* target to initiator */
#define ISCSI_OP_NOP_IN		0x20
#define ISCSI_OP_SCSI_RSP	0x21
#define ISCSI_OP_TMF_RSP	0x22
#define ISCSI_OP_LOGIN_RSP	0x23
#define ISCSI_OP_TEXT_RSP	0x24
#define ISCSI_OP_DATA_IN	0x25
#define ISCSI_OP_LOGOUT_RSP	0x26
#define ISCSI_OP_R2T		0x31
#define ISCSI_OP_ASYNC		0x32
#define ISCSI_OP_REJECT		0x3f

/* byte 0 */
#define ISCSI_IMMEDIATE		0x40
#define ISCSI_OPCODE_MASK	0x3f
/* byte 1: the F(inal) bit of most PDUs */
#define ISCSI_FLAG_FINAL	0x80
/* §11.3: SCSI Command byte 1 */
#define ISCSI_CMD_READ		0x40
#define ISCSI_CMD_WRITE		0x20
#define ISCSI_CMD_ATTR_MASK	0x07
/* §11.4.1, §11.7.5: residual bits of SCSI Response / Data-In */
#define ISCSI_FLAG_BIDI_OVERFLOW	0x10
#define ISCSI_FLAG_BIDI_UNDERFLOW	0x08
#define ISCSI_FLAG_OVERFLOW	0x04
#define ISCSI_FLAG_UNDERFLOW	0x02
/* §11.7.1: Data-In A(cknowledge) and S(tatus) bits */
#define ISCSI_DATA_ACK		0x40
#define ISCSI_DATA_STATUS	0x01
/* §11.10.2, §11.12.2: Login/Text C(ontinue), Login T(ransit) */
#define ISCSI_FLAG_CONTINUE	0x40
#define ISCSI_LOGIN_TRANSIT	0x80

/* §11.12.3: login stages (CSG/NSG) */
#define ISCSI_STAGE_SECURITY	0
#define ISCSI_STAGE_OPERATIONAL	1
#define ISCSI_STAGE_FULL	3

/* §11.12.4, §11.13.4: version numbers (0x00 is RFC 7143's) */
#define ISCSI_VERSION		0x00

/* §11.13.5: Login Response Status-Class / Status-Detail, as class << 8 |
 * detail */
#define ISCSI_LOGIN_OK			0x0000
#define ISCSI_LOGIN_INITIATOR_ERROR	0x0200
#define ISCSI_LOGIN_AUTH_FAILED		0x0201
#define ISCSI_LOGIN_FORBIDDEN		0x0202
#define ISCSI_LOGIN_NOT_FOUND		0x0203
#define ISCSI_LOGIN_TARGET_REMOVED	0x0204
#define ISCSI_LOGIN_BAD_VERSION		0x0205
#define ISCSI_LOGIN_TOO_MANY_CONNS	0x0206
#define ISCSI_LOGIN_MISSING_PARAM	0x0207
#define ISCSI_LOGIN_NO_SESSION_SPAN	0x0208
#define ISCSI_LOGIN_NO_SESSION_TYPE	0x0209
#define ISCSI_LOGIN_NO_SESSION		0x020a
#define ISCSI_LOGIN_INVALID_REQUEST	0x020b
#define ISCSI_LOGIN_TARGET_ERROR	0x0300
#define ISCSI_LOGIN_UNAVAILABLE		0x0301
#define ISCSI_LOGIN_NO_RESOURCES	0x0302

/* §11.4.2: SCSI Response "Response" */
#define ISCSI_RSP_COMPLETED	0x00
#define ISCSI_RSP_TARGET_FAILURE 0x01

/* §11.5.1: task management functions */
#define ISCSI_TMF_ABORT_TASK		1
#define ISCSI_TMF_ABORT_TASK_SET	2
#define ISCSI_TMF_CLEAR_ACA		3
#define ISCSI_TMF_CLEAR_TASK_SET	4
#define ISCSI_TMF_LUN_RESET		5
#define ISCSI_TMF_TARGET_WARM_RESET	6
#define ISCSI_TMF_TARGET_COLD_RESET	7
#define ISCSI_TMF_TASK_REASSIGN		8
/* §11.6.1: TMF responses */
#define ISCSI_TMF_RSP_COMPLETE		0
#define ISCSI_TMF_RSP_NO_TASK		1
#define ISCSI_TMF_RSP_NO_LUN		2
#define ISCSI_TMF_RSP_ALLEGIANT		3
#define ISCSI_TMF_RSP_NO_REASSIGN	4
#define ISCSI_TMF_RSP_NOT_SUPPORTED	5
#define ISCSI_TMF_RSP_AUTH_FAILED	6
#define ISCSI_TMF_RSP_REJECTED		255

/* §11.14.5: logout reason codes; §11.15.1: responses */
#define ISCSI_LOGOUT_SESSION		0
#define ISCSI_LOGOUT_CONNECTION		1
#define ISCSI_LOGOUT_RECOVERY		2
#define ISCSI_LOGOUT_RSP_OK		0
#define ISCSI_LOGOUT_RSP_NO_CID		1
#define ISCSI_LOGOUT_RSP_NO_RECOVERY	2
#define ISCSI_LOGOUT_RSP_FAILED		3

/* §11.17.1: Reject reasons */
#define ISCSI_REJECT_DATA_DIGEST	0x02
#define ISCSI_REJECT_SNACK		0x03
#define ISCSI_REJECT_PROTOCOL_ERROR	0x04
#define ISCSI_REJECT_CMD_NOT_SUPPORTED	0x05
#define ISCSI_REJECT_IMMEDIATE		0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS	0x07
#define ISCSI_REJECT_INVALID_DATA_ACK	0x08
#define ISCSI_REJECT_INVALID_PDU_FIELD	0x09
#define ISCSI_REJECT_OUT_OF_RESOURCES	0x0a
#define ISCSI_REJECT_WAITING_LOGOUT	0x0c

/* §11.9.1: AsyncEvent codes */
#define ISCSI_ASYNC_SCSI		0
#define ISCSI_ASYNC_LOGOUT_REQUEST	1
#define ISCSI_ASYNC_DROP_CONNECTION	2
#define ISCSI_ASYNC_DROP_SESSION	3
#define ISCSI_ASYNC_NEGOTIATE		4

/*
 * A BHS from the initiator, every field decoded by position. Which of them
 * mean something depends on the opcode (§11.3-§11.18); the comments name
 * the PDUs that use each one.
 */
struct iscsi_bhs {
	uint8_t opcode;		/* ISCSI_OP_* (I bit removed) */
	int immediate;		/* the I bit */
	uint8_t flags;		/* byte 1 whole: F, R/W/ATTR, T/C/CSG/NSG,
				 * TMF function, logout reason */
	int final;		/* F: most PDUs; T (transit) for Login */
	int cont;		/* C: Login, Text */
	uint8_t csg, nsg;	/* Login stages */
	uint8_t b2, b3;		/* bytes 2-3: Login version max/min */
	uint8_t ahs_words;	/* TotalAHSLength (4-byte words) */
	uint32_t data_len;	/* DataSegmentLength */
	uint64_t lun;		/* bytes 8-15: LUN (raw SAM encoding) */
	uint8_t isid[6];	/* Login: bytes 8-13 */
	uint16_t tsih;		/* Login: bytes 14-15 */
	uint32_t itt;		/* Initiator Task Tag */
	uint32_t w20;		/* bytes 20-23: EDTL (SCSI Command), TTT
				 * (Data-Out, NOP-Out, Text), Referenced
				 * Task Tag (TMF), CID << 16 (Login/Logout) */
	uint32_t cmdsn;		/* bytes 24-27 */
	uint32_t exp_statsn;	/* bytes 28-31 */
	uint32_t w32;		/* bytes 32-35: RefCmdSN (TMF) */
	uint32_t w36;		/* bytes 36-39: DataSN (Data-Out),
				 * ExpDataSN (TMF), BegRun (SNACK) */
	uint32_t w40;		/* bytes 40-43: Buffer Offset (Data-Out) */
	const uint8_t *cdb;	/* bytes 32-47 (SCSI Command), in the
				 * caller's buffer */
};

/* Named views of the opcode-specific words. */
#define iscsi_bhs_edtl(h)		((h)->w20)
#define iscsi_bhs_ttt(h)		((h)->w20)
#define iscsi_bhs_ref_tag(h)		((h)->w20)
#define iscsi_bhs_cid(h)		((uint16_t)((h)->w20 >> 16))
#define iscsi_bhs_datasn(h)		((h)->w36)
#define iscsi_bhs_buffer_offset(h)	((h)->w40)
#define iscsi_bhs_tmf_function(h)	((uint8_t)((h)->flags & 0x7f))
#define iscsi_bhs_logout_reason(h)	((uint8_t)((h)->flags & 0x7f))

/* The sequence numbers every target PDU carries at bytes 24-35
 * (§11.4.8-9 and the same place in the other responses). */
struct iscsi_sn {
	uint32_t statsn;
	uint32_t exp_cmdsn;
	uint32_t max_cmdsn;
};

/* Big-endian helpers. */
uint16_t iscsi_get16(const uint8_t *p);
uint32_t iscsi_get24(const uint8_t *p);
uint32_t iscsi_get32(const uint8_t *p);
uint64_t iscsi_get64(const uint8_t *p);
void iscsi_put16(uint8_t *p, uint16_t v);
void iscsi_put24(uint8_t *p, uint32_t v);
void iscsi_put32(uint8_t *p, uint32_t v);
void iscsi_put64(uint8_t *p, uint64_t v);

/* Serial number arithmetic on 32-bit sequence numbers (§4.2.2.1 refers
 * to RFC 1982): a < b, and a in [lo, hi]. */
int iscsi_sn_lt(uint32_t a, uint32_t b);
int iscsi_sn_in(uint32_t a, uint32_t lo, uint32_t hi);

/* Bytes of padding after a data segment of len bytes (§11.2.3). */
static inline uint32_t iscsi_pad(uint32_t len)
{
	return (4 - (len & 3)) & 3;
}

/* Parse a BHS: 0, or -EAGAIN when len < 48. Fields are not checked
 * against the opcode here; see iscsi_check_bhs(). */
int iscsi_parse_bhs(const uint8_t *buf, size_t len, struct iscsi_bhs *h);

/* Total bytes of a PDU whose BHS is h, with the negotiated digests. */
size_t iscsi_pdu_len(const struct iscsi_bhs *h, int header_digest,
		     int data_digest);

/*
 * Check what a target can check from the BHS alone, before the rest of
 * the PDU is read: -EPROTO for an opcode an initiator never sends,
 * -EMSGSIZE for a DataSegmentLength over max_dsl (the
 * MaxRecvDataSegmentLength we declared; Login and Text use their own
 * bound), -EINVAL for a field RFC 7143 fixes and the PDU breaks (a Data-
 * Out or NOP-Out without F, a SCSI Command with data but no W bit...).
 */
int iscsi_check_bhs(const struct iscsi_bhs *h, uint32_t max_dsl);

/* CRC32C (Castagnoli, reflected 0x82f63b78): iscsi_crc32c() is the whole
 * digest (initial ~0, final xor); iscsi_crc32c_update() continues a run
 * started with ~0U (xor the result with ~0U at the end). */
uint32_t iscsi_crc32c_update(uint32_t crc, const void *data, size_t len);
uint32_t iscsi_crc32c(const void *data, size_t len);
/* Write / read a digest at p (least significant byte first). */
void iscsi_put_digest(uint8_t *p, uint32_t crc);
uint32_t iscsi_get_digest(const uint8_t *p);

/* ---- target PDUs (§11) ---- */

/* §11.13: Login Response. */
struct iscsi_login_rsp {
	int transit, cont;
	uint8_t csg, nsg;
	uint8_t version_max, version_active;
	uint8_t isid[6];
	uint16_t tsih;
	uint32_t itt;
	uint16_t status;	/* ISCSI_LOGIN_*: class << 8 | detail */
	uint32_t data_len;
};
int iscsi_build_login_rsp(uint8_t *buf, size_t bufsz,
			  const struct iscsi_login_rsp *r,
			  const struct iscsi_sn *sn);

/* §11.11: Text Response (ttt: ISCSI_RSVD_TAG when final). */
int iscsi_build_text_rsp(uint8_t *buf, size_t bufsz, int final, int cont,
			 uint64_t lun, uint32_t itt, uint32_t ttt,
			 const struct iscsi_sn *sn, uint32_t data_len);

/* §11.4: SCSI Response. residual_flags: ISCSI_FLAG_(UNDER|OVER)FLOW.
 * data_len: 0, or 2 + sense length (see iscsi_put_sense()). */
struct iscsi_scsi_rsp {
	uint32_t itt;
	uint8_t response;	/* ISCSI_RSP_* */
	uint8_t status;		/* SCSI status (SAM): 0 GOOD, 2 CHECK
				 * CONDITION... */
	uint8_t residual_flags;
	uint32_t residual;
	uint32_t exp_datasn;	/* Data-In/R2T PDUs sent for the task */
	uint32_t data_len;
};
int iscsi_build_scsi_rsp(uint8_t *buf, size_t bufsz,
			 const struct iscsi_scsi_rsp *r,
			 const struct iscsi_sn *sn);
/* The SCSI Response data segment for sense data (§11.4.7.2): SenseLength
 * (2 bytes) then the sense bytes. Returns 2 + len, or -ENOSPC. */
int iscsi_put_sense(uint8_t *buf, size_t bufsz, const uint8_t *sense,
		    uint16_t len);

/* §11.7: SCSI Data-In. With status: the S bit, status and residuals;
 * the sn's statsn is sent only then (§11.7.4). */
struct iscsi_data_in {
	int final;
	int has_status;
	uint8_t status;
	uint8_t residual_flags;
	uint32_t residual;
	uint64_t lun;
	uint32_t itt;
	uint32_t datasn;
	uint32_t offset;
	uint32_t data_len;
};
int iscsi_build_data_in(uint8_t *buf, size_t bufsz,
			const struct iscsi_data_in *d,
			const struct iscsi_sn *sn);

/* §11.8: R2T (statsn is the next StatSN; it does not advance). */
int iscsi_build_r2t(uint8_t *buf, size_t bufsz, uint64_t lun, uint32_t itt,
		    uint32_t ttt, const struct iscsi_sn *sn, uint32_t r2tsn,
		    uint32_t offset, uint32_t len);

/* §11.19: NOP-In: an answer (itt of the NOP-Out, ttt = reserved) or a
 * ping of ours (itt = reserved, ttt ours). */
int iscsi_build_nop_in(uint8_t *buf, size_t bufsz, uint64_t lun, uint32_t itt,
		       uint32_t ttt, const struct iscsi_sn *sn,
		       uint32_t data_len);

/* §11.15: Logout Response. */
int iscsi_build_logout_rsp(uint8_t *buf, size_t bufsz, uint8_t response,
			   uint32_t itt, const struct iscsi_sn *sn,
			   uint16_t time2wait, uint16_t time2retain);

/* §11.17: Reject; the data segment (48 bytes) is the rejected BHS. */
int iscsi_build_reject(uint8_t *buf, size_t bufsz, uint8_t reason,
		       const struct iscsi_sn *sn, uint32_t datasn);

/* §11.6: Task Management Function Response. */
int iscsi_build_tmf_rsp(uint8_t *buf, size_t bufsz, uint8_t response,
			uint32_t itt, const struct iscsi_sn *sn);

/* §11.9: Asynchronous Message (p3 = Time2Wait for ISCSI_ASYNC_LOGOUT_
 * REQUEST). */
int iscsi_build_async(uint8_t *buf, size_t bufsz, uint64_t lun,
		      const struct iscsi_sn *sn, uint8_t event, uint8_t vcode,
		      uint16_t p1, uint16_t p2, uint16_t p3, uint32_t data_len);

/* Names for logs ("SCSI Command"), "unknown" otherwise. */
const char *iscsi_opcode_name(uint8_t opcode);
const char *iscsi_login_status_name(uint16_t status);

#endif
