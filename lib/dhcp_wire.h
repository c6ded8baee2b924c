/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_DHCP_WIRE_H
#define LB_DHCP_WIRE_H

/*
 * DHCP messages (RFC 2131 §2, options RFC 2132), pure parse/build: no
 * sockets, no clock. Used by server-stub/net/dhcp.c, the unit tests, the test
 * probe (tests/tools/dhcp_probe.c) and the fuzzer.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+---------------+---------------+
 *  |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
 *  |                            xid (4)                            |
 *  |           secs (2)            |           flags (2)           |
 *  |          ciaddr (4) / yiaddr (4) / siaddr (4) / giaddr (4)    |
 *  |                          chaddr (16)                          |
 *  |                          sname (64)                           |
 *  |                          file (128)                           |
 *  |  magic cookie 99.130.83.99 (4) | options (variable)           |
 *  +---------------------------------------------------------------+
 */

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"

#define DHCP_FIXED_LEN		236	/* op .. file */
#define DHCP_OPTIONS_OFF	240	/* after the magic cookie */
#define DHCP_SNAME_OFF		44
#define DHCP_SNAME_LEN		64
#define DHCP_FILE_OFF		108
#define DHCP_FILE_LEN		128
/* RFC 2131 §2: a client must accept 576-byte messages; BOOTP (RFC 951)
 * relays and old PXE ROMs expect at least 300 bytes. */
#define DHCP_MIN_LEN		300
#define DHCP_MAX_REPLY		576
/* Largest request we look at; anything bigger is dropped as oversized. */
#define DHCP_MAX_REQUEST	1500

#define BOOTREQUEST		1
#define BOOTREPLY		2
#define DHCP_FLAG_BROADCAST	0x8000

/* RFC 2132 §9.6 message types */
enum dhcp_msg_type {
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
	DHCPINFORM = 8,
};

/* Option codes, as the RFCs name them */
enum dhcp_opt {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_NETMASK = 1,		/* RFC 2132 §3.3 */
	DHCP_OPT_ROUTER = 3,		/* RFC 2132 §3.5 */
	DHCP_OPT_DNS = 6,		/* RFC 2132 §3.8 */
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_VENDOR_ENCAP = 43,	/* RFC 2132 §8.4; PXE spec §2.4 */
	DHCP_OPT_REQUESTED_IP = 50,	/* RFC 2132 §9.1 */
	DHCP_OPT_LEASE_TIME = 51,	/* RFC 2132 §9.2 */
	DHCP_OPT_OVERLOAD = 52,		/* RFC 2132 §9.3 */
	DHCP_OPT_MSG_TYPE = 53,		/* RFC 2132 §9.6 */
	DHCP_OPT_SERVER_ID = 54,	/* RFC 2132 §9.7 */
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_RENEWAL_T1 = 58,
	DHCP_OPT_REBINDING_T2 = 59,
	DHCP_OPT_VENDOR_CLASS = 60,	/* RFC 2132 §9.13 */
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_TFTP_SERVER = 66,	/* RFC 2132 §9.4 */
	DHCP_OPT_BOOTFILE = 67,		/* RFC 2132 §9.5 */
	DHCP_OPT_USER_CLASS = 77,	/* RFC 3004 (iPXE: raw string) */
	DHCP_OPT_CLIENT_ARCH = 93,	/* RFC 4578 §2.1 */
	DHCP_OPT_CLIENT_NDI = 94,	/* RFC 4578 §2.2 */
	DHCP_OPT_CLIENT_UUID = 97,	/* RFC 4578 §2.3 */
	DHCP_OPT_IPXE_ENCAP = 175,	/* iPXE's encapsulated options */
	DHCP_OPT_END = 255,
};

/* iPXE sub-option of 175: "don't wait for proxyDHCP" (iPXE dhcp.h) */
#define IPXE_OPT_NO_PXEDHCP	176
/* PXE spec §2.4.2: sub-option 6 of 43, PXE_DISCOVERY_CONTROL */
#define PXE_OPT_DISCOVERY_CONTROL 6
/* bit 3: use the boot file in this offer, no discovery, no menu */
#define PXE_DISCOVERY_USE_BOOTFILE 0x08

/* One option as found in a request: points into the caller's buffer. */
struct dhcp_optref {
	const uint8_t *data;	/* NULL when absent */
	uint8_t len;
};

/* A parsed request. Valid only as long as the buffer it was parsed from. */
struct dhcp_msg {
	uint8_t op;
	uint8_t htype;
	uint8_t hlen;
	uint8_t hops;
	uint32_t xid;		/* host order (opaque; copied back as is) */
	uint16_t secs;
	uint16_t flags;		/* host order */
	uint32_t ciaddr;	/* network order, like struct in_addr */
	uint32_t yiaddr;
	uint32_t siaddr;
	uint32_t giaddr;
	uint8_t chaddr[16];
	int type;		/* option 53, or 0 (plain BOOTP) */
	int overload;		/* option 52 value applied (0..3) */
	unsigned ndup;		/* options seen more than once */
	/* First occurrence of each option (dnsmasq option_find: the first
	 * wins; RFC 3396 concatenation is not done, see dhcp_parse()). */
	struct dhcp_optref opt[256];
};

#define EINVAL_DHCP_SHORT	ERR(EINVAL, MOD_DHCP, 0x01)
#define EINVAL_DHCP_COOKIE	ERR(EINVAL, MOD_DHCP, 0x02)
#define EINVAL_DHCP_OPTLEN	ERR(EINVAL, MOD_DHCP, 0x03)
#define EINVAL_DHCP_HLEN	ERR(EINVAL, MOD_DHCP, 0x04)
#define EINVAL_DHCP_TYPE	ERR(EINVAL, MOD_DHCP, 0x05)
#define EMSGSIZE_DHCP_BIG	ERR(EMSGSIZE, MOD_DHCP, 0x06)
#define ENOSPC_DHCP_REPLY	ERR(ENOSPC, MOD_DHCP, 0x07)

/* Register the cause table above with err_str(). */
void dhcp_wire_init(void);

/*
 * Parse a DHCP/BOOTP message of len bytes. Checks the fixed header, the
 * magic cookie and every option length against the bytes left; applies
 * option overload (52) to the file and sname fields. Returns 0 or a
 * negative rc (EINVAL_DHCP_*, EMSGSIZE_DHCP_BIG).
 */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m);

/* Option lookup helpers: NULL/-1 when absent or of the wrong length. */
const struct dhcp_optref *dhcp_opt(const struct dhcp_msg *m, int code);
/* option as a 4-byte address, network order; 0 if absent/malformed */
uint32_t dhcp_opt_addr(const struct dhcp_msg *m, int code);
/* RFC 4578 §2.1: first architecture type in option 93, or -1 */
int dhcp_opt_arch(const struct dhcp_msg *m);
/* does option code's data start with prefix? */
int dhcp_opt_has_prefix(const struct dhcp_msg *m, int code,
			const char *prefix);
/* does option code's data contain s anywhere? */
int dhcp_opt_contains(const struct dhcp_msg *m, int code, const char *s);

const char *dhcp_type_name(int type);

/* A reply (or a request, for the probe) being built into a caller buffer. */
struct dhcp_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;		/* bytes used, options included */
	int err;		/* first error (ENOSPC), sticky */
};

/*
 * Start a message: zero the buffer, fixed header from the arguments, the
 * cookie, option 53 = type. For a reply, dhcp_reply_init() copies xid,
 * htype/hlen, flags, giaddr and chaddr from the request (RFC 2131 §4.3.1
 * table 3).
 */
void dhcp_build_init(struct dhcp_builder *b, uint8_t *buf, size_t cap,
		     uint8_t op, uint32_t xid, const uint8_t *chaddr,
		     uint8_t hlen, int type);
void dhcp_reply_init(struct dhcp_builder *b, uint8_t *buf, size_t cap,
		     const struct dhcp_msg *req, int type);

/* Fixed fields; addresses in network order. */
void dhcp_set_ciaddr(struct dhcp_builder *b, uint32_t a);
void dhcp_set_yiaddr(struct dhcp_builder *b, uint32_t a);
void dhcp_set_siaddr(struct dhcp_builder *b, uint32_t a);
void dhcp_set_giaddr(struct dhcp_builder *b, uint32_t a);
void dhcp_set_flags(struct dhcp_builder *b, uint16_t flags);
/* file field: -ENAMETOOLONG (field left empty) if it does not fit */
int dhcp_set_file(struct dhcp_builder *b, const char *file);

/* Append an option; errors are sticky in b->err (checked at the end). */
void dhcp_add_opt(struct dhcp_builder *b, int code, const void *data,
		  size_t len);
void dhcp_add_opt_str(struct dhcp_builder *b, int code, const char *s);
void dhcp_add_opt_u32(struct dhcp_builder *b, int code, uint32_t host);
void dhcp_add_opt_addr(struct dhcp_builder *b, int code, uint32_t net);

/*
 * Append the end option and pad to DHCP_MIN_LEN. Returns the message length,
 * or a negative rc (ENOSPC_DHCP_REPLY) if anything did not fit.
 */
int dhcp_build_end(struct dhcp_builder *b);

#endif
