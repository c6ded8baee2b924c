/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TFTP wire format; see tftp_wire.h. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb_util.h"
#include "tftp_wire.h"

static const struct err_desc tftp_err_descs[] = {
	{ EINVAL_TFTP_SHORT, "TFTP packet too short" },
	{ EINVAL_TFTP_OPCODE, "unexpected TFTP opcode" },
	{ EINVAL_TFTP_FILENAME, "TFTP request without a NUL-terminated file name" },
	{ EINVAL_TFTP_MODE, "TFTP request without a NUL-terminated mode" },
	{ ENOBUFS_TFTP_BUILD, "TFTP packet does not fit the buffer" },
};

void tftp_wire_register_errors(void)
{
	err_register(MOD_TFTP, "tftp", tftp_err_descs,
		     ARRAY_SIZE(tftp_err_descs));
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int tftp_streq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = *a, cb = *b;

		if (ca >= 'A' && ca <= 'Z')
			ca = (char)(ca - 'A' + 'a');
		if (cb >= 'A' && cb <= 'Z')
			cb = (char)(cb - 'A' + 'a');
		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

int tftp_parse_opcode(const void *buf, size_t len)
{
	if (len < 2)
		return EINVAL_TFTP_SHORT;
	return get_be16(buf);
}

/*
 * The next NUL-terminated string at *pos, or NULL when there is no NUL
 * before end (the string is cut short).
 */
static const char *next_str(const uint8_t *buf, size_t len, size_t *pos,
			    size_t *slen)
{
	const uint8_t *start = buf + *pos;
	const uint8_t *nul;

	if (*pos >= len)
		return NULL;
	nul = memchr(start, '\0', len - *pos);
	if (!nul)
		return NULL;
	*slen = (size_t)(nul - start);
	*pos += *slen + 1;
	return (const char *)start;
}

static int mode_from_str(const char *s)
{
	if (tftp_streq(s, "octet"))
		return TFTP_MODE_OCTET;
	if (tftp_streq(s, "netascii"))
		return TFTP_MODE_NETASCII;
	if (tftp_streq(s, "mail"))
		return TFTP_MODE_MAIL;
	return TFTP_MODE_UNKNOWN;
}

int tftp_parse_request(const void *buf, size_t len, struct tftp_request *req)
{
	const uint8_t *p = buf;
	size_t pos = 2, slen;
	int op;

	memset(req, 0, sizeof(*req));
	if ((op = tftp_parse_opcode(buf, len)) < 0)
		return op;
	if (op != TFTP_RRQ && op != TFTP_WRQ)
		return EINVAL_TFTP_OPCODE;
	req->opcode = op;
	/* RFC 1350 §5: | opcode | filename | 0 | mode | 0 | */
	if (!(req->filename = next_str(p, len, &pos, &req->filename_len)))
		return EINVAL_TFTP_FILENAME;
	if (!(req->mode_str = next_str(p, len, &pos, &slen)))
		return EINVAL_TFTP_MODE;
	req->mode = mode_from_str(req->mode_str);
	/* RFC 2347: | opt1 | 0 | value1 | 0 | ... */
	while (pos < len) {
		size_t at = pos;
		const char *name = next_str(p, len, &pos, &slen);
		const char *value = name ? next_str(p, len, &pos, &slen) : NULL;

		if (!value) {
			/* cut-short pair: ignore it and what follows */
			req->trailing_garbage = (int)(len - at);
			break;
		}
		if (req->nopts < TFTP_REQ_MAX_OPTS)
			req->opts[req->nopts++] =
				(struct tftp_option){ name, value };
	}
	return 0;
}

int tftp_parse_ack(const void *buf, size_t len, uint16_t *block)
{
	const uint8_t *p = buf;

	if (len < TFTP_HDR_LEN)
		return EINVAL_TFTP_SHORT;
	if (get_be16(p) != TFTP_ACK)
		return EINVAL_TFTP_OPCODE;
	*block = get_be16(p + 2);
	return 0;
}

int tftp_parse_data(const void *buf, size_t len, uint16_t *block,
		    const uint8_t **data, size_t *data_len)
{
	const uint8_t *p = buf;

	if (len < TFTP_HDR_LEN)
		return EINVAL_TFTP_SHORT;
	if (get_be16(p) != TFTP_DATA)
		return EINVAL_TFTP_OPCODE;
	*block = get_be16(p + 2);
	*data = p + TFTP_HDR_LEN;
	*data_len = len - TFTP_HDR_LEN;
	return 0;
}

int tftp_parse_error(const void *buf, size_t len, uint16_t *code,
		     const char **msg, size_t *msg_len)
{
	const uint8_t *p = buf;
	const uint8_t *nul;

	if (len < TFTP_HDR_LEN)
		return EINVAL_TFTP_SHORT;
	if (get_be16(p) != TFTP_ERROR)
		return EINVAL_TFTP_OPCODE;
	*code = get_be16(p + 2);
	*msg = (const char *)(p + TFTP_HDR_LEN);
	nul = memchr(p + TFTP_HDR_LEN, '\0', len - TFTP_HDR_LEN);
	*msg_len = nul ? (size_t)(nul - (p + TFTP_HDR_LEN))
		       : len - TFTP_HDR_LEN;
	return 0;
}

/*
 * A decimal option value: digits only, no sign, no spaces; values above
 * max saturate at max + 1 so "too big" stays distinguishable.
 */
static int opt_number(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v <= max)
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v > max ? max + 1 : v;
	return 0;
}

/* Each handler: 1 = accepted (goes into the OACK), 0 = declined. */
typedef int (*tftp_opt_fn)(const char *value, uint64_t file_size,
			   const struct tftp_limits *lim,
			   struct tftp_negotiated *neg);

/* RFC 2348: 8..65464; the server may answer with a smaller size. */
static int tftp_opt_blksize(const char *value, uint64_t file_size,
			    const struct tftp_limits *lim,
			    struct tftp_negotiated *neg)
{
	uint64_t v;

	(void)file_size;
	if (opt_number(value, TFTP_BLKSIZE_MAX, &v) < 0 ||
	    v < TFTP_BLKSIZE_MIN)
		return 0;
	neg->blksize = (unsigned)MIN(v, (uint64_t)lim->max_blksize);
	return 1;
}

/* RFC 2349: on a RRQ the client sends 0, the server answers the size. */
static int tftp_opt_tsize(const char *value, uint64_t file_size,
			  const struct tftp_limits *lim,
			  struct tftp_negotiated *neg)
{
	uint64_t v;

	(void)lim;
	if (opt_number(value, 1000000000000000000ULL, &v) < 0)
		return 0;
	/* curl's tftp.c fails on "tsize 0" in an OACK ("invalid tsize");
	 * leaving it out is allowed (RFC 2349) and costs nothing here */
	if (file_size == 0)
		return 0;
	neg->tsize = file_size;
	return 1;
}

/*
 * RFC 2349: 1..255 seconds, and "the specified timeout value must match the
 * value specified by the client": unlike blksize it cannot be answered
 * smaller, so a value above what the server allows is declined (the
 * transfer then runs on the server's own timer).
 */
static int tftp_opt_timeout(const char *value, uint64_t file_size,
			    const struct tftp_limits *lim,
			    struct tftp_negotiated *neg)
{
	unsigned max = lim->max_timeout_s ? lim->max_timeout_s
					  : TFTP_TIMEOUT_MAX;
	uint64_t v;

	(void)file_size;
	if (opt_number(value, TFTP_TIMEOUT_MAX, &v) < 0 ||
	    v < TFTP_TIMEOUT_MIN || v > TFTP_TIMEOUT_MAX || v > max)
		return 0;
	neg->timeout_s = (unsigned)v;
	return 1;
}

/* RFC 7440 §3: 1..65535 blocks; the server may answer with fewer. */
static int tftp_opt_windowsize(const char *value, uint64_t file_size,
			       const struct tftp_limits *lim,
			       struct tftp_negotiated *neg)
{
	uint64_t v;

	(void)file_size;
	if (opt_number(value, TFTP_WINDOWSIZE_MAX, &v) < 0 ||
	    v < TFTP_WINDOWSIZE_MIN || v > TFTP_WINDOWSIZE_MAX)
		return 0;
	neg->windowsize = (unsigned)MAX(1, MIN(v, (uint64_t)lim->max_windowsize));
	return 1;
}

static const struct {
	const char *name;
	tftp_opt_fn fn;
} tftp_options[TFTP_OPT_NIDS] = {
	[TFTP_OPT_BLKSIZE] = { "blksize", tftp_opt_blksize },
	[TFTP_OPT_TSIZE] = { "tsize", tftp_opt_tsize },
	[TFTP_OPT_TIMEOUT] = { "timeout", tftp_opt_timeout },
	[TFTP_OPT_WINDOWSIZE] = { "windowsize", tftp_opt_windowsize },
};

const char *tftp_opt_name(enum tftp_opt_id id)
{
	return (unsigned)id < TFTP_OPT_NIDS ? tftp_options[id].name : "?";
}

void tftp_negotiate(const struct tftp_request *req, uint64_t file_size,
		    const struct tftp_limits *lim, struct tftp_negotiated *neg)
{
	unsigned seen = 0, i, id;

	memset(neg, 0, sizeof(*neg));
	neg->blksize = TFTP_BLKSIZE_DEFAULT;
	neg->windowsize = 1;
	for (i = 0; i < req->nopts; i++) {
		for (id = 0; id < TFTP_OPT_NIDS; id++)
			if (tftp_streq(req->opts[i].name, tftp_options[id].name))
				break;
		/* RFC 2347: unknown options are ignored; first of a duplicate wins */
		if (id == TFTP_OPT_NIDS || (seen & (1u << id)))
			continue;
		seen |= 1u << id;
		if (tftp_options[id].fn(req->opts[i].value, file_size, lim, neg))
			neg->order[neg->nacked++] = (uint8_t)id;
	}
	/* the preallocated window buffer bounds blksize * windowsize */
	if (neg->windowsize > 1 &&
	    (size_t)neg->windowsize * neg->blksize > lim->max_window_bytes)
		neg->windowsize = (unsigned)MAX((size_t)1, lim->max_window_bytes /
							     neg->blksize);
}

/* Append "str\0" at buf[*pos]; -1 when it does not fit. */
static int put_str(uint8_t *buf, size_t size, size_t *pos, const char *str)
{
	size_t n = strlen(str) + 1;

	if (n > size - *pos)
		return -1;
	memcpy(buf + *pos, str, n);
	*pos += n;
	return 0;
}

int tftp_build_oack(void *buf, size_t size, const struct tftp_negotiated *neg)
{
	uint8_t *p = buf;
	size_t pos = 2;
	unsigned i;

	if (size < 2)
		return ENOBUFS_TFTP_BUILD;
	put_be16(p, TFTP_OACK);
	for (i = 0; i < neg->nacked; i++) {
		char val[24];

		switch (neg->order[i]) {
		case TFTP_OPT_BLKSIZE:
			snprintf(val, sizeof(val), "%u", neg->blksize);
			break;
		case TFTP_OPT_TSIZE:
			snprintf(val, sizeof(val), "%llu",
				 (unsigned long long)neg->tsize);
			break;
		case TFTP_OPT_TIMEOUT:
			snprintf(val, sizeof(val), "%u", neg->timeout_s);
			break;
		case TFTP_OPT_WINDOWSIZE:
			snprintf(val, sizeof(val), "%u", neg->windowsize);
			break;
		default:
			continue;
		}
		if (put_str(p, size, &pos, tftp_opt_name(neg->order[i])) < 0 ||
		    put_str(p, size, &pos, val) < 0)
			return ENOBUFS_TFTP_BUILD;
	}
	return (int)pos;
}

int tftp_build_error(void *buf, size_t size, uint16_t code, const char *msg)
{
	uint8_t *p = buf;
	size_t pos = TFTP_HDR_LEN;

	if (size < TFTP_HDR_LEN)
		return ENOBUFS_TFTP_BUILD;
	put_be16(p, TFTP_ERROR);
	put_be16(p + 2, code);
	if (put_str(p, size, &pos, msg ? msg : tftp_errcode_str(code)) < 0)
		return ENOBUFS_TFTP_BUILD;
	return (int)pos;
}

int tftp_build_ack(void *buf, size_t size, uint16_t block)
{
	if (size < TFTP_HDR_LEN)
		return ENOBUFS_TFTP_BUILD;
	put_be16(buf, TFTP_ACK);
	put_be16((uint8_t *)buf + 2, block);
	return TFTP_HDR_LEN;
}

void tftp_build_data_hdr(uint8_t hdr[TFTP_HDR_LEN], uint16_t block)
{
	put_be16(hdr, TFTP_DATA);
	put_be16(hdr + 2, block);
}

const char *tftp_errcode_str(unsigned code)
{
	static const char *const names[] = {
		[TFTP_EUNDEF] = "error",
		[TFTP_ENOTFOUND] = "file not found",
		[TFTP_EACCESS] = "access violation",
		[TFTP_ENOSPACE] = "disk full or allocation exceeded",
		[TFTP_EBADOP] = "illegal TFTP operation",
		[TFTP_EBADID] = "unknown transfer ID",
		[TFTP_EEXISTS] = "file already exists",
		[TFTP_ENOUSER] = "no such user",
		[TFTP_EOPTNEG] = "option negotiation refused",
	};

	return code < ARRAY_SIZE(names) ? names[code] : "unknown error";
}
