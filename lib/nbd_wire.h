/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_NBD_WIRE_H
#define LB_NBD_WIRE_H

/*
 * The NBD protocol on the wire (NetworkBlockDevice/nbd doc/proto.md), for
 * both ends: the server (server-stub/net/nbd.c), the agent's client
 * (agent/nbd_client.c), the unit tests and the fuzzer. Pure parse/build
 * code: no sockets, no clock, no allocation. All integers are big-endian
 * on the wire ("Conventions").
 *
 * Parsers take (buf, len) and return 0, -EAGAIN when len is short of a
 * complete message (read more and call again), -EBADMSG for a wrong magic
 * (the peer does not speak NBD: close), -EINVAL for a malformed payload,
 * -EMSGSIZE for a length over the caller's limit. Builders write into buf
 * and return the number of bytes written, or -ENOSPC when bufsz is short.
 */

#include <stddef.h>
#include <stdint.h>

/* proto.md "Newstyle negotiation": greeting and option magics */
#define NBD_MAGIC			0x4e42444d41474943ULL /* "NBDMAGIC" */
#define NBD_IHAVEOPT			0x49484156454f5054ULL /* "IHAVEOPT" */
#define NBD_OLD_MAGIC			0x0000420281861253ULL /* oldstyle
							       * cliserv_magic */
/* proto.md "Fixed newstyle negotiation": option reply magic */
#define NBD_REP_MAGIC			0x0003e889045565a9ULL
/* proto.md "Request message", "Simple reply message",
 * "Structured reply chunk message" */
#define NBD_REQUEST_MAGIC		0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC		0x67446698U
#define NBD_STRUCTURED_REPLY_MAGIC	0x668e33efU
/* proto.md extended headers (NBD_OPT_EXTENDED_HEADERS): not negotiated by
 * linkboot, named so that a peer using them is recognised in logs */
#define NBD_EXTENDED_REQUEST_MAGIC	0x21e41c71U
#define NBD_EXTENDED_REPLY_MAGIC	0x6e8a278cU

#define NBD_DEFAULT_PORT		10809

/* proto.md "Handshake flags" (16 bits, server) */
#define NBD_FLAG_FIXED_NEWSTYLE		(1U << 0)
#define NBD_FLAG_NO_ZEROES		(1U << 1)
/* proto.md "Client flags" (32 bits) */
#define NBD_FLAG_C_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_C_NO_ZEROES		(1U << 1)

/* proto.md "Transmission flags" (16 bits) */
#define NBD_FLAG_HAS_FLAGS		(1U << 0)
#define NBD_FLAG_READ_ONLY		(1U << 1)
#define NBD_FLAG_SEND_FLUSH		(1U << 2)
#define NBD_FLAG_SEND_FUA		(1U << 3)
#define NBD_FLAG_ROTATIONAL		(1U << 4)
#define NBD_FLAG_SEND_TRIM		(1U << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES	(1U << 6)
#define NBD_FLAG_SEND_DF		(1U << 7)
#define NBD_FLAG_CAN_MULTI_CONN		(1U << 8)
#define NBD_FLAG_SEND_RESIZE		(1U << 9)
#define NBD_FLAG_SEND_CACHE		(1U << 10)
#define NBD_FLAG_SEND_FAST_ZERO		(1U << 11)
#define NBD_FLAG_BLOCK_STAT_PAYLOAD	(1U << 12)

/* proto.md "Option types" */
#define NBD_OPT_EXPORT_NAME		1
#define NBD_OPT_ABORT			2
#define NBD_OPT_LIST			3
#define NBD_OPT_PEEK_EXPORT		4	/* withdrawn */
#define NBD_OPT_STARTTLS		5
#define NBD_OPT_INFO			6
#define NBD_OPT_GO			7
#define NBD_OPT_STRUCTURED_REPLY	8
#define NBD_OPT_LIST_META_CONTEXT	9
#define NBD_OPT_SET_META_CONTEXT	10
#define NBD_OPT_EXTENDED_HEADERS	11

/* proto.md "Option reply types"; errors have bit 31 set */
#define NBD_REP_ACK			1
#define NBD_REP_SERVER			2
#define NBD_REP_INFO			3
#define NBD_REP_META_CONTEXT		4
#define NBD_REP_FLAG_ERROR		(1U << 31)
#define NBD_REP_ERR_UNSUP		(NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY		(NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID		(NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM		(NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD		(NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN		(NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN		(NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD	(NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG		(NBD_REP_FLAG_ERROR | 9)
#define NBD_REP_ERR_EXT_HEADER_REQD	(NBD_REP_FLAG_ERROR | 10)

/* proto.md "NBD_REP_INFO" information types (NBD_OPT_INFO/GO) */
#define NBD_INFO_EXPORT			0
#define NBD_INFO_NAME			1
#define NBD_INFO_DESCRIPTION		2
#define NBD_INFO_BLOCK_SIZE		3

/* proto.md "Request types" */
#define NBD_CMD_READ			0
#define NBD_CMD_WRITE			1
#define NBD_CMD_DISC			2
#define NBD_CMD_FLUSH			3
#define NBD_CMD_TRIM			4
#define NBD_CMD_CACHE			5
#define NBD_CMD_WRITE_ZEROES		6
#define NBD_CMD_BLOCK_STATUS		7
#define NBD_CMD_RESIZE			8

/* proto.md "Command flags" */
#define NBD_CMD_FLAG_FUA		(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE		(1U << 1)
#define NBD_CMD_FLAG_DF			(1U << 2)
#define NBD_CMD_FLAG_REQ_ONE		(1U << 3)
#define NBD_CMD_FLAG_FAST_ZERO		(1U << 4)
#define NBD_CMD_FLAG_PAYLOAD_LEN	(1U << 5)

/* proto.md "Structured reply flags" and "Structured reply types" */
#define NBD_REPLY_FLAG_DONE		(1U << 0)
#define NBD_REPLY_TYPE_NONE		0
#define NBD_REPLY_TYPE_OFFSET_DATA	1
#define NBD_REPLY_TYPE_OFFSET_HOLE	2
#define NBD_REPLY_TYPE_BLOCK_STATUS	5
#define NBD_REPLY_TYPE_BLOCK_STATUS_EXT	6
#define NBD_REPLY_TYPE_ERROR_BIT	(1U << 15)
#define NBD_REPLY_TYPE_ERROR		(NBD_REPLY_TYPE_ERROR_BIT | 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET	(NBD_REPLY_TYPE_ERROR_BIT | 2)

/* proto.md "Error values": the wire numbers (Linux-like, but fixed) */
#define NBD_EPERM			1
#define NBD_EIO				5
#define NBD_ENOMEM			12
#define NBD_EINVAL			22
#define NBD_ENOSPC			28
#define NBD_EOVERFLOW			75
#define NBD_ENOTSUP			95
#define NBD_ESHUTDOWN			108

/* proto.md "base:allocation metadata context" */
#define NBD_STATE_HOLE			(1U << 0)
#define NBD_STATE_ZERO			(1U << 1)

/* Fixed sizes of the messages (bytes on the wire). */
#define NBD_GREETING_SIZE		18	/* NBDMAGIC IHAVEOPT flags16 */
#define NBD_CLIENT_FLAGS_SIZE		4
#define NBD_OPT_HDR_SIZE		16	/* IHAVEOPT opt32 len32 */
#define NBD_OPT_REPLY_HDR_SIZE		20	/* magic64 opt32 type32 len32 */
#define NBD_EXPORT_NAME_REPLY_SIZE	134	/* size64 flags16 zeroes[124] */
#define NBD_EXPORT_NAME_REPLY_SHORT	10	/* with NBD_FLAG_C_NO_ZEROES */
#define NBD_REQUEST_SIZE		28
#define NBD_SIMPLE_REPLY_SIZE		16
#define NBD_STRUCTURED_REPLY_SIZE	20
#define NBD_OFFSET_DATA_HDR_SIZE	(NBD_STRUCTURED_REPLY_SIZE + 8)
#define NBD_INFO_EXPORT_SIZE		12	/* type16 size64 flags16 */
#define NBD_INFO_BLOCK_SIZE_SIZE	14	/* type16 min32 pref32 max32 */

/* proto.md "Conventions": strings SHOULD be <= 256, MUST be <= 4096 */
#define NBD_MAX_STRING			4096

/* An option header as the client sends it. */
struct nbd_opt_hdr {
	uint32_t opt;		/* NBD_OPT_* */
	uint32_t len;		/* bytes of option data that follow */
};

/* An option reply header as the server sends it. */
struct nbd_opt_reply {
	uint32_t opt;		/* the option answered */
	uint32_t type;		/* NBD_REP_* */
	uint32_t len;		/* bytes of reply data that follow */
};

/* NBD_OPT_INFO / NBD_OPT_GO data, parsed in place (pointers into buf). */
struct nbd_opt_go {
	const char *name;	/* not NUL-terminated */
	uint32_t name_len;
	uint16_t ninfo;		/* number of NBD_INFO_* requests */
	const uint8_t *info;	/* ninfo big-endian 16-bit values */
};

/* A transmission request (proto.md "Request message"). */
struct nbd_request {
	uint16_t flags;		/* NBD_CMD_FLAG_* */
	uint16_t type;		/* NBD_CMD_* */
	uint64_t handle;	/* opaque cookie echoed in the reply */
	uint64_t offset;
	uint32_t length;
};

/* A reply header: simple or one structured chunk. */
struct nbd_reply {
	int structured;		/* 0: simple reply, 1: structured chunk */
	uint32_t error;		/* simple: NBD_E*; structured: 0 */
	uint16_t flags;		/* structured: NBD_REPLY_FLAG_* */
	uint16_t type;		/* structured: NBD_REPLY_TYPE_* */
	uint64_t handle;
	uint32_t length;	/* structured: payload bytes that follow */
};

/* NBD_REP_INFO payload, as the client sees it. */
struct nbd_info {
	uint16_t type;		/* NBD_INFO_* */
	uint64_t size;		/* NBD_INFO_EXPORT */
	uint16_t tflags;	/* NBD_INFO_EXPORT */
	uint32_t min_block;	/* NBD_INFO_BLOCK_SIZE */
	uint32_t pref_block;
	uint32_t max_block;
	const char *text;	/* NBD_INFO_NAME / DESCRIPTION, not NUL-term. */
	uint32_t text_len;
};

/* Big-endian helpers (also used by the server and agent). */
uint16_t nbd_get16(const uint8_t *p);
uint32_t nbd_get32(const uint8_t *p);
uint64_t nbd_get64(const uint8_t *p);
void nbd_put16(uint8_t *p, uint16_t v);
void nbd_put32(uint8_t *p, uint32_t v);
void nbd_put64(uint8_t *p, uint64_t v);

/* ---- handshake (proto.md "Fixed newstyle negotiation") ---- */

/* S: greeting with handshake flags. Returns NBD_GREETING_SIZE. */
int nbd_build_greeting(uint8_t *buf, size_t bufsz, uint16_t hflags);
/* C: parse the greeting; -EBADMSG on wrong magics (incl. oldstyle). */
int nbd_parse_greeting(const uint8_t *buf, size_t len, uint16_t *hflags);

/* C: client flags. */
int nbd_build_client_flags(uint8_t *buf, size_t bufsz, uint32_t cflags);
/* S: parse client flags; -EINVAL for a flag the server did not offer
 * (proto.md "Client flags": the server MUST drop the connection). */
int nbd_parse_client_flags(const uint8_t *buf, size_t len, uint16_t hflags,
			   uint32_t *cflags);

/* C: option header; data (len bytes) follows separately. */
int nbd_build_opt_hdr(uint8_t *buf, size_t bufsz, uint32_t opt, uint32_t len);
/* S: option header; -EMSGSIZE when hdr->len > max_len (hdr is filled). */
int nbd_parse_opt_hdr(const uint8_t *buf, size_t len, uint32_t max_len,
		      struct nbd_opt_hdr *hdr);

/* S: option reply header; the len bytes of data follow. */
int nbd_build_opt_reply(uint8_t *buf, size_t bufsz, uint32_t opt,
			uint32_t type, uint32_t len);
/* C: option reply header. */
int nbd_parse_opt_reply(const uint8_t *buf, size_t len,
			struct nbd_opt_reply *rep);

/* S: data of NBD_OPT_INFO/GO: u32 namelen, name, u16 n, n x u16. */
int nbd_parse_opt_go(const uint8_t *data, size_t len, struct nbd_opt_go *go);
/* C: build that data. */
int nbd_build_opt_go(uint8_t *buf, size_t bufsz, const char *name,
		     const uint16_t *infos, uint16_t ninfo);
/* Info request i of a parsed NBD_OPT_GO. */
uint16_t nbd_opt_go_info(const struct nbd_opt_go *go, uint16_t i);

/* S: a complete NBD_REP_SERVER reply (header + u32 namelen, name, desc). */
int nbd_build_rep_server(uint8_t *buf, size_t bufsz, uint32_t opt,
			 const char *name, const char *desc);
/* C: NBD_REP_SERVER data: name and description (pointers into data). */
int nbd_parse_rep_server(const uint8_t *data, size_t len, const char **name,
			 uint32_t *name_len, const char **desc,
			 uint32_t *desc_len);

/* S: complete NBD_REP_INFO replies (header + payload). */
int nbd_build_rep_info_export(uint8_t *buf, size_t bufsz, uint32_t opt,
			      uint64_t size, uint16_t tflags);
int nbd_build_rep_info_block_size(uint8_t *buf, size_t bufsz, uint32_t opt,
				  uint32_t min, uint32_t pref, uint32_t max);
/* type NBD_INFO_NAME or NBD_INFO_DESCRIPTION */
int nbd_build_rep_info_text(uint8_t *buf, size_t bufsz, uint32_t opt,
			    uint16_t type, const char *text);
/* S: a complete reply with a text payload (errors carry a message). */
int nbd_build_rep_text(uint8_t *buf, size_t bufsz, uint32_t opt,
		       uint32_t type, const char *text);
/* C: NBD_REP_INFO data; -EINVAL when the payload size does not fit the
 * type (unknown types are returned with only type set). */
int nbd_parse_rep_info(const uint8_t *data, size_t len, struct nbd_info *info);

/* S: the NBD_OPT_EXPORT_NAME answer ("Newstyle negotiation"). */
int nbd_build_export_name_reply(uint8_t *buf, size_t bufsz, uint64_t size,
				uint16_t tflags, int no_zeroes);
/* C: parse it (needs 10 bytes; the caller skips 124 zeroes if sent). */
int nbd_parse_export_name_reply(const uint8_t *buf, size_t len,
				uint64_t *size, uint16_t *tflags);

/* ---- transmission (proto.md "Transmission") ---- */

int nbd_build_request(uint8_t *buf, size_t bufsz, const struct nbd_request *rq);
/* S: -EAGAIN short, -EBADMSG bad magic (close: the stream is lost). */
int nbd_parse_request(const uint8_t *buf, size_t len, struct nbd_request *rq);

/* S: simple reply header; READ data follows when error == 0. */
int nbd_build_simple_reply(uint8_t *buf, size_t bufsz, uint32_t error,
			   uint64_t handle);
/* S: structured chunk header; length payload bytes follow. */
int nbd_build_chunk_hdr(uint8_t *buf, size_t bufsz, uint16_t flags,
			uint16_t type, uint64_t handle, uint32_t length);
/* S: NBD_REPLY_TYPE_OFFSET_DATA header + offset; datalen bytes follow. */
int nbd_build_chunk_offset_data(uint8_t *buf, size_t bufsz, uint16_t flags,
				uint64_t handle, uint64_t offset,
				uint32_t datalen);
/* S: a complete NBD_REPLY_TYPE_OFFSET_HOLE chunk. */
int nbd_build_chunk_offset_hole(uint8_t *buf, size_t bufsz, uint16_t flags,
				uint64_t handle, uint64_t offset,
				uint32_t holelen);
/* S: a complete NBD_REPLY_TYPE_ERROR chunk (with DONE flag if asked). */
int nbd_build_chunk_error(uint8_t *buf, size_t bufsz, uint16_t flags,
			  uint64_t handle, uint32_t error, const char *msg);
/* C: reply header, either kind (-EAGAIN until the whole header is in). */
int nbd_parse_reply(const uint8_t *buf, size_t len, struct nbd_reply *rep);
/* C: NBD_REPLY_TYPE_ERROR(_OFFSET) payload. */
int nbd_parse_chunk_error(const uint8_t *data, size_t len, uint32_t *error,
			  const char **msg, uint16_t *msg_len);

/*
 * S: check a request against the export before acting on it (nbdkit
 * protocol.c validate_request): returns 0, or the negative errno to
 * answer with. -EINVAL: unknown command/flag, zero length or out of range
 * (proto.md "Request types"); -EOVERFLOW: READ/WRITE longer than
 * max_payload; -EPERM: a write to a read-only export ("Transmission
 * flags": NBD_FLAG_READ_ONLY); -ENOTSUP: a command not advertised.
 */
int nbd_validate_request(const struct nbd_request *rq, uint64_t size,
			 uint16_t tflags, uint32_t max_payload,
			 int structured);

/* errno (possibly an lb_err.h tagged rc, negative or positive) -> wire. */
uint32_t nbd_errno(int rc);
/* wire -> positive errno; unknown values read as EINVAL ("Error values"). */
int nbd_wire_errno(uint32_t err);

/* Names for logs ("NBD_OPT_GO"), "unknown" otherwise. */
const char *nbd_opt_name(uint32_t opt);
const char *nbd_rep_name(uint32_t type);
const char *nbd_info_name(uint16_t type);
const char *nbd_cmd_name(uint16_t type);
const char *nbd_err_name(uint32_t err);

#endif
