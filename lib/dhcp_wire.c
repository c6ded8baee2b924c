/* SPDX-License-Identifier: GPL-2.0-or-later */
/* DHCP message parse/build (RFC 2131, RFC 2132); see dhcp_wire.h. */

#include <errno.h>
#include <string.h>

#include "dhcp_wire.h"
#include "lb_util.h"

static const uint8_t dhcp_cookie[4] = { 99, 130, 83, 99 };

static const struct err_desc dhcp_errs[] = {
	{ EINVAL_DHCP_SHORT, "DHCP message shorter than its fixed header" },
	{ EINVAL_DHCP_COOKIE, "DHCP message without the magic cookie" },
	{ EINVAL_DHCP_OPTLEN, "DHCP option longer than the bytes left" },
	{ EINVAL_DHCP_HLEN, "DHCP hardware address length over 16" },
	{ EINVAL_DHCP_TYPE, "DHCP message type option malformed" },
	{ EMSGSIZE_DHCP_BIG, "DHCP message oversized" },
	{ ENOSPC_DHCP_REPLY, "DHCP reply does not fit its buffer" },
};

void dhcp_wire_init(void)
{
	err_register(MOD_DHCP, "dhcp", dhcp_errs, ARRAY_SIZE(dhcp_errs));
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t get_raw32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * Walk one option area (the options field, or file/sname under overload).
 * Every length is checked against the bytes left before it is used
 * (dnsmasq option_find1). Pad (0) is one byte; end (255) stops. An area
 * that runs out without an end option is accepted: several PXE ROMs and
 * relays send it so, and nothing after it is lost. A duplicate keeps the
 * first occurrence (RFC 3396 long-option concatenation is not done: no
 * option we read is ever longer than 255 bytes).
 */
static int dhcp_parse_area(const uint8_t *p, size_t len, struct dhcp_msg *m)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i];
		uint8_t olen;

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_OPT_END)
			return 0;
		if (len - i < 2)
			return EINVAL_DHCP_OPTLEN;
		olen = p[i + 1];
		if ((size_t)olen > len - i - 2)
			return EINVAL_DHCP_OPTLEN;
		if (m->opt[code].data)
			m->ndup++;
		else
			m->opt[code] = (struct dhcp_optref){ p + i + 2, olen };
		i += 2 + (size_t)olen;
	}
	return 0;
}

int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
	const struct dhcp_optref *o;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > DHCP_MAX_REQUEST)
		return EMSGSIZE_DHCP_BIG;
	if (len < DHCP_OPTIONS_OFF)
		return EINVAL_DHCP_SHORT;
	if (memcmp(buf + DHCP_FIXED_LEN, dhcp_cookie, 4) != 0)
		return EINVAL_DHCP_COOKIE;
	m->op = buf[0];
	m->htype = buf[1];
	m->hlen = buf[2];
	m->hops = buf[3];
	if (m->hlen > 16)
		return EINVAL_DHCP_HLEN;
	m->xid = get_be32(buf + 4);
	m->secs = (uint16_t)(buf[8] << 8 | buf[9]);
	m->flags = (uint16_t)(buf[10] << 8 | buf[11]);
	m->ciaddr = get_raw32(buf + 12);
	m->yiaddr = get_raw32(buf + 16);
	m->siaddr = get_raw32(buf + 20);
	m->giaddr = get_raw32(buf + 24);
	memcpy(m->chaddr, buf + 28, 16);

	if ((rc = dhcp_parse_area(buf + DHCP_OPTIONS_OFF,
				  len - DHCP_OPTIONS_OFF, m)) != 0)
		return rc;
	/* RFC 2132 §9.3: 1 = file holds options, 2 = sname, 3 = both; file
	 * is read before sname. Other values: the fields are plain. */
	if ((o = dhcp_opt(m, DHCP_OPT_OVERLOAD)) && o->len == 1 &&
	    o->data[0] >= 1 && o->data[0] <= 3) {
		m->overload = o->data[0];
		if ((m->overload & 1) &&
		    (rc = dhcp_parse_area(buf + DHCP_FILE_OFF, DHCP_FILE_LEN,
					  m)) != 0)
			return rc;
		if ((m->overload & 2) &&
		    (rc = dhcp_parse_area(buf + DHCP_SNAME_OFF,
					  DHCP_SNAME_LEN, m)) != 0)
			return rc;
	}
	if ((o = dhcp_opt(m, DHCP_OPT_MSG_TYPE))) {
		if (o->len != 1 || o->data[0] < DHCPDISCOVER ||
		    o->data[0] > DHCPINFORM)
			return EINVAL_DHCP_TYPE;
		m->type = o->data[0];
	}
	return 0;
}

const struct dhcp_optref *dhcp_opt(const struct dhcp_msg *m, int code)
{
	if (code < 0 || code > 255 || !m->opt[code].data)
		return NULL;
	return &m->opt[code];
}

uint32_t dhcp_opt_addr(const struct dhcp_msg *m, int code)
{
	const struct dhcp_optref *o = dhcp_opt(m, code);

	if (!o || o->len != 4)
		return 0;
	return get_raw32(o->data);
}

int dhcp_opt_arch(const struct dhcp_msg *m)
{
	const struct dhcp_optref *o = dhcp_opt(m, DHCP_OPT_CLIENT_ARCH);

	/* RFC 4578 §2.1: a list of 16-bit types; we use the first */
	if (!o || o->len < 2 || o->len % 2)
		return -1;
	return o->data[0] << 8 | o->data[1];
}

int dhcp_opt_has_prefix(const struct dhcp_msg *m, int code,
			const char *prefix)
{
	const struct dhcp_optref *o = dhcp_opt(m, code);
	size_t n = strlen(prefix);

	return o && o->len >= n && memcmp(o->data, prefix, n) == 0;
}

int dhcp_opt_contains(const struct dhcp_msg *m, int code, const char *s)
{
	const struct dhcp_optref *o = dhcp_opt(m, code);
	size_t n = strlen(s);

	return o && n && memmem(o->data, o->len, s, n) != NULL;
}

const char *dhcp_type_name(int type)
{
	static const char *const names[] = {
		"BOOTP", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
		"ACK", "NAK", "RELEASE", "INFORM",
	};

	if (type < 0 || (size_t)type >= ARRAY_SIZE(names))
		return "?";
	return names[type];
}

void dhcp_build_init(struct dhcp_builder *b, uint8_t *buf, size_t cap,
		     uint8_t op, uint32_t xid, const uint8_t *chaddr,
		     uint8_t hlen, int type)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->err = 0;
	if (cap < DHCP_MIN_LEN) {
		b->err = ENOSPC_DHCP_REPLY;
		return;
	}
	memset(buf, 0, cap);
	buf[0] = op;
	buf[1] = 1;	/* htype: Ethernet (RFC 1700) */
	buf[2] = hlen > 16 ? 16 : hlen;
	buf[4] = (uint8_t)(xid >> 24);
	buf[5] = (uint8_t)(xid >> 16);
	buf[6] = (uint8_t)(xid >> 8);
	buf[7] = (uint8_t)xid;
	if (chaddr)
		memcpy(buf + 28, chaddr, buf[2]);
	memcpy(buf + DHCP_FIXED_LEN, dhcp_cookie, 4);
	b->len = DHCP_OPTIONS_OFF;
	if (type) {
		uint8_t t = (uint8_t)type;

		dhcp_add_opt(b, DHCP_OPT_MSG_TYPE, &t, 1);
	}
}

void dhcp_reply_init(struct dhcp_builder *b, uint8_t *buf, size_t cap,
		     const struct dhcp_msg *req, int type)
{
	dhcp_build_init(b, buf, cap, BOOTREPLY, req->xid, req->chaddr,
			req->hlen, type);
	if (b->err)
		return;
	buf[1] = req->htype;
	dhcp_set_flags(b, req->flags);
	dhcp_set_giaddr(b, req->giaddr);
}

static void put_raw32(struct dhcp_builder *b, size_t off, uint32_t v)
{
	if (!b->err)
		memcpy(b->buf + off, &v, 4);
}

void dhcp_set_ciaddr(struct dhcp_builder *b, uint32_t a) { put_raw32(b, 12, a); }
void dhcp_set_yiaddr(struct dhcp_builder *b, uint32_t a) { put_raw32(b, 16, a); }
void dhcp_set_siaddr(struct dhcp_builder *b, uint32_t a) { put_raw32(b, 20, a); }
void dhcp_set_giaddr(struct dhcp_builder *b, uint32_t a) { put_raw32(b, 24, a); }

void dhcp_set_flags(struct dhcp_builder *b, uint16_t flags)
{
	if (b->err)
		return;
	b->buf[10] = (uint8_t)(flags >> 8);
	b->buf[11] = (uint8_t)flags;
}

int dhcp_set_file(struct dhcp_builder *b, const char *file)
{
	size_t n = strlen(file);

	if (b->err)
		return b->err;
	/* the field is NUL-terminated: at most 127 characters */
	if (n >= DHCP_FILE_LEN)
		return -ENAMETOOLONG;
	memcpy(b->buf + DHCP_FILE_OFF, file, n);
	return 0;
}

void dhcp_add_opt(struct dhcp_builder *b, int code, const void *data,
		  size_t len)
{
	if (b->err)
		return;
	/* keep one byte for the end option */
	if (code <= DHCP_OPT_PAD || code >= DHCP_OPT_END || len > 255 ||
	    b->len + 2 + len + 1 > b->cap) {
		b->err = ENOSPC_DHCP_REPLY;
		return;
	}
	b->buf[b->len++] = (uint8_t)code;
	b->buf[b->len++] = (uint8_t)len;
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
}

void dhcp_add_opt_str(struct dhcp_builder *b, int code, const char *s)
{
	dhcp_add_opt(b, code, s, strlen(s));
}

void dhcp_add_opt_u32(struct dhcp_builder *b, int code, uint32_t host)
{
	uint8_t v[4] = { (uint8_t)(host >> 24), (uint8_t)(host >> 16),
			 (uint8_t)(host >> 8), (uint8_t)host };

	dhcp_add_opt(b, code, v, 4);
}

void dhcp_add_opt_addr(struct dhcp_builder *b, int code, uint32_t net)
{
	dhcp_add_opt(b, code, &net, 4);
}

int dhcp_build_end(struct dhcp_builder *b)
{
	if (b->err)
		return b->err;
	if (b->len + 1 > b->cap)
		return ENOSPC_DHCP_REPLY;
	b->buf[b->len++] = DHCP_OPT_END;
	/* the buffer was zeroed: padding is already there */
	if (b->len < DHCP_MIN_LEN && b->cap >= DHCP_MIN_LEN)
		b->len = DHCP_MIN_LEN;
	return (int)b->len;
}
