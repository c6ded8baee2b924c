/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_AGENT_NBD_PROTO_H
#define LB_AGENT_NBD_PROTO_H

/*
 * The few NBD constants the agent needs (NBD proto.md), until
 * lib/nbd_wire.h (owned by the NBD work) lands in main; then switch.
 */

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define NBD_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_IHAVEOPT		0x49484156454F5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC		0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC	0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC	0x67446698u

/* handshake flags (server) / client flags */
#define NBD_FLAG_FIXED_NEWSTYLE	(1u << 0)
#define NBD_FLAG_NO_ZEROES	(1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE NBD_FLAG_FIXED_NEWSTYLE
#define NBD_FLAG_C_NO_ZEROES	NBD_FLAG_NO_ZEROES

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS	(1u << 0)
#define NBD_FLAG_READ_ONLY	(1u << 1)
#define NBD_FLAG_SEND_FLUSH	(1u << 2)
#define NBD_FLAG_SEND_FUA	(1u << 3)
#define NBD_FLAG_SEND_TRIM	(1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_CAN_MULTI_CONN	(1u << 8)

/* options */
#define NBD_OPT_EXPORT_NAME	1
#define NBD_OPT_ABORT		2
#define NBD_OPT_GO		7

#define NBD_REP_ACK		1
#define NBD_REP_INFO		3
#define NBD_REP_FLAG_ERROR	(1u << 31)
#define NBD_REP_ERR_UNSUP	(NBD_REP_FLAG_ERROR | 1)

#define NBD_INFO_EXPORT		0

/* commands */
#define NBD_CMD_READ		0
#define NBD_CMD_WRITE		1
#define NBD_CMD_DISC		2
#define NBD_CMD_FLUSH		3
#define NBD_CMD_TRIM		4
#define NBD_CMD_WRITE_ZEROES	6
#define NBD_CMD_FLAG_FUA	(1u << 0)

#define NBD_REQUEST_SIZE	28
#define NBD_SIMPLE_REPLY_SIZE	16

/* errors on the wire */
#define NBD_EPERM	1
#define NBD_EIO		5
#define NBD_ENOMEM	12
#define NBD_EINVAL	22
#define NBD_ENOSPC	28

struct nbd_req {
	uint16_t flags, type;
	uint64_t handle, offset;
	uint32_t len;
};

static inline void nbd_put16(uint8_t *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }
static inline void nbd_put32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static inline void nbd_put64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static inline uint16_t nbd_get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static inline uint32_t nbd_get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static inline uint64_t nbd_get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

/* NBD proto.md "Request message": 28 bytes */
static inline void nbd_req_build(uint8_t b[NBD_REQUEST_SIZE],
				 const struct nbd_req *r)
{
	nbd_put32(b, NBD_REQUEST_MAGIC);
	nbd_put16(b + 4, r->flags);
	nbd_put16(b + 6, r->type);
	nbd_put64(b + 8, r->handle);
	nbd_put64(b + 16, r->offset);
	nbd_put32(b + 24, r->len);
}

static inline int nbd_req_parse(const uint8_t b[NBD_REQUEST_SIZE],
				struct nbd_req *r)
{
	if (nbd_get32(b) != NBD_REQUEST_MAGIC)
		return -1;
	r->flags = nbd_get16(b + 4);
	r->type = nbd_get16(b + 6);
	r->handle = nbd_get64(b + 8);
	r->offset = nbd_get64(b + 16);
	r->len = nbd_get32(b + 24);
	return 0;
}

/* NBD proto.md "Simple reply message": 16 bytes */
static inline void nbd_reply_build(uint8_t b[NBD_SIMPLE_REPLY_SIZE],
				   uint32_t error, uint64_t handle)
{
	nbd_put32(b, NBD_SIMPLE_REPLY_MAGIC);
	nbd_put32(b + 4, error);
	nbd_put64(b + 8, handle);
}

#endif
