/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_TFTP_WIRE_H
#define LB_TFTP_WIRE_H

/*
 * TFTP wire format: pure parse/build code, no sockets, no clock.
 *
 *   RFC 1350  the protocol: RRQ/WRQ/DATA/ACK/ERROR
 *   RFC 2347  option extension, OACK
 *   RFC 2348  blksize (8..65464)
 *   RFC 2349  timeout (1..255 s) and tsize
 *   RFC 7440  windowsize (1..65535)
 *
 * Parsed strings point into the caller's packet buffer; they stay valid as
 * long as that buffer does. Every request string the parser returns was NUL
 * terminated on the wire, so it is also a C string.
 */

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"

/* RFC 1350 §5, RFC 2347 (OACK) */
enum tftp_opcode {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,
};

/* RFC 1350 appendix "Error Codes", RFC 2347 (8) */
enum tftp_errcode {
	TFTP_EUNDEF = 0,	/* not defined, see message */
	TFTP_ENOTFOUND = 1,	/* file not found */
	TFTP_EACCESS = 2,	/* access violation */
	TFTP_ENOSPACE = 3,	/* disk full or allocation exceeded */
	TFTP_EBADOP = 4,	/* illegal TFTP operation */
	TFTP_EBADID = 5,	/* unknown transfer ID */
	TFTP_EEXISTS = 6,	/* file already exists */
	TFTP_ENOUSER = 7,	/* no such user */
	TFTP_EOPTNEG = 8,	/* option negotiation refused (RFC 2347) */
};

enum tftp_mode {
	TFTP_MODE_UNKNOWN = 0,
	TFTP_MODE_OCTET,
	TFTP_MODE_NETASCII,
	TFTP_MODE_MAIL,
};

#define TFTP_PORT		69
#define TFTP_BLKSIZE_DEFAULT	512	/* RFC 1350 */
#define TFTP_BLKSIZE_MIN	8	/* RFC 2348 */
#define TFTP_BLKSIZE_MAX	65464	/* RFC 2348 */
#define TFTP_TIMEOUT_MIN	1	/* RFC 2349 */
#define TFTP_TIMEOUT_MAX	255	/* RFC 2349 */
#define TFTP_WINDOWSIZE_MIN	1	/* RFC 7440 */
#define TFTP_WINDOWSIZE_MAX	65535	/* RFC 7440 */
#define TFTP_HDR_LEN		4	/* opcode + block number */
/* Options kept from one request; more are ignored (RFC 2347 allows it). */
#define TFTP_REQ_MAX_OPTS	16

/* Error causes (err_str() says which). */
#define EINVAL_TFTP_SHORT	ERR(EINVAL, MOD_TFTP, 0x01)
#define EINVAL_TFTP_OPCODE	ERR(EINVAL, MOD_TFTP, 0x02)
#define EINVAL_TFTP_FILENAME	ERR(EINVAL, MOD_TFTP, 0x03)
#define EINVAL_TFTP_MODE	ERR(EINVAL, MOD_TFTP, 0x04)
#define ENOBUFS_TFTP_BUILD	ERR(ENOBUFS, MOD_TFTP, 0x05)

struct tftp_option {
	const char *name;	/* as sent, NUL terminated */
	const char *value;	/* as sent, NUL terminated */
};

/* A parsed RRQ or WRQ (RFC 1350 §5 figure 5-1, RFC 2347 option list). */
struct tftp_request {
	int opcode;			/* TFTP_RRQ or TFTP_WRQ */
	const char *filename;		/* NUL terminated */
	size_t filename_len;
	const char *mode_str;		/* as sent */
	int mode;			/* enum tftp_mode */
	struct tftp_option opts[TFTP_REQ_MAX_OPTS];
	unsigned nopts;
	int trailing_garbage;		/* bytes after the last full option */
};

/*
 * Parse a request. Filename and mode must each be NUL terminated, else
 * -EINVAL (the server answers ERROR 4). After them come name/value pairs;
 * a pair cut short (no NUL) is trailing garbage: noted, not fatal, because
 * real firmware sends junk there (OpenBSD tftpd tolerates it too).
 */
int tftp_parse_request(const void *buf, size_t len, struct tftp_request *req);

/* Opcode of any packet, or -EINVAL when shorter than 2 bytes. */
int tftp_parse_opcode(const void *buf, size_t len);

/* ACK (RFC 1350): exactly opcode + block; extra bytes are tolerated. */
int tftp_parse_ack(const void *buf, size_t len, uint16_t *block);

/* DATA (RFC 1350): block, then 0..blksize bytes. */
int tftp_parse_data(const void *buf, size_t len, uint16_t *block,
		    const uint8_t **data, size_t *data_len);

/*
 * ERROR (RFC 1350): code, then a message that should be NUL terminated;
 * a missing NUL is tolerated (msg_len says how much there is).
 */
int tftp_parse_error(const void *buf, size_t len, uint16_t *code,
		     const char **msg, size_t *msg_len);

/* Option IDs the server negotiates. */
enum tftp_opt_id {
	TFTP_OPT_BLKSIZE,
	TFTP_OPT_TSIZE,
	TFTP_OPT_TIMEOUT,
	TFTP_OPT_WINDOWSIZE,
	TFTP_OPT_NIDS,
};

/* What this server is willing to do. */
struct tftp_limits {
	unsigned max_blksize;		/* <= TFTP_BLKSIZE_MAX */
	unsigned max_windowsize;	/* blocks in flight */
	size_t max_window_bytes;	/* windowsize * blksize cap (memory) */
	unsigned max_timeout_s;		/* longest timeout accepted; longer is
					 * declined (0 = TFTP_TIMEOUT_MAX) */
};

/* Result of negotiation: the parameters of the transfer and the OACK. */
struct tftp_negotiated {
	unsigned blksize;		/* 512 unless negotiated */
	unsigned windowsize;		/* 1 unless negotiated */
	unsigned timeout_s;		/* 0 = not negotiated */
	uint64_t tsize;			/* file size, if TFTP_OPT_TSIZE acked */
	/* accepted options, in the order the client sent them (for OACK) */
	uint8_t order[TFTP_OPT_NIDS];
	unsigned nacked;
};

/*
 * Negotiate the options of a request (pure). Unknown options are ignored
 * (RFC 2347), out-of-range values are declined (left out of the OACK) or,
 * where the RFC lets the server answer smaller, clamped. The first of
 * duplicated options wins. file_size answers tsize on a RRQ.
 * nacked == 0 means: no OACK, start with DATA 1 (RFC 2347).
 */
void tftp_negotiate(const struct tftp_request *req, uint64_t file_size,
		    const struct tftp_limits *lim, struct tftp_negotiated *neg);

/* Name of an option ID ("blksize"). */
const char *tftp_opt_name(enum tftp_opt_id id);

/* Builders: return the packet length, or ENOBUFS_TFTP_BUILD. */
int tftp_build_oack(void *buf, size_t size, const struct tftp_negotiated *neg);
int tftp_build_error(void *buf, size_t size, uint16_t code, const char *msg);
int tftp_build_ack(void *buf, size_t size, uint16_t block);
/* The 4-byte DATA header; the payload follows it (or goes in an iovec). */
void tftp_build_data_hdr(uint8_t hdr[TFTP_HDR_LEN], uint16_t block);

/* Human name of an error code ("file not found") for logs and messages. */
const char *tftp_errcode_str(unsigned code);

/* Case-insensitive ASCII compare of a wire string and a keyword. */
int tftp_streq(const char *a, const char *b);

/* Register the cause table with err_register(). */
void tftp_wire_register_errors(void);

#endif
