/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NBD wire format: pure parse/build for server and client; see nbd_wire.h. */

#include <errno.h>
#include <string.h>

#include "lb_err.h"
#include "nbd_wire.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

uint16_t nbd_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t nbd_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

uint64_t nbd_get64(const uint8_t *p)
{
	return ((uint64_t)nbd_get32(p) << 32) | nbd_get32(p + 4);
}

void nbd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void nbd_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void nbd_put64(uint8_t *p, uint64_t v)
{
	nbd_put32(p, (uint32_t)(v >> 32));
	nbd_put32(p + 4, (uint32_t)v);
}

/* ---- handshake ---- */

int nbd_build_greeting(uint8_t *buf, size_t bufsz, uint16_t hflags)
{
	if (bufsz < NBD_GREETING_SIZE)
		return -ENOSPC;
	nbd_put64(buf, NBD_MAGIC);
	nbd_put64(buf + 8, NBD_IHAVEOPT);
	nbd_put16(buf + 16, hflags);
	return NBD_GREETING_SIZE;
}

int nbd_parse_greeting(const uint8_t *buf, size_t len, uint16_t *hflags)
{
	if (len < 16)
		return -EAGAIN;
	/* proto.md "Oldstyle negotiation" is not supported (no names). */
	if (nbd_get64(buf) != NBD_MAGIC || nbd_get64(buf + 8) != NBD_IHAVEOPT)
		return -EBADMSG;
	if (len < NBD_GREETING_SIZE)
		return -EAGAIN;
	*hflags = nbd_get16(buf + 16);
	return 0;
}

int nbd_build_client_flags(uint8_t *buf, size_t bufsz, uint32_t cflags)
{
	if (bufsz < NBD_CLIENT_FLAGS_SIZE)
		return -ENOSPC;
	nbd_put32(buf, cflags);
	return NBD_CLIENT_FLAGS_SIZE;
}

int nbd_parse_client_flags(const uint8_t *buf, size_t len, uint16_t hflags,
			   uint32_t *cflags)
{
	uint32_t known = NBD_FLAG_C_FIXED_NEWSTYLE;

	if (len < NBD_CLIENT_FLAGS_SIZE)
		return -EAGAIN;
	*cflags = nbd_get32(buf);
	if (hflags & NBD_FLAG_NO_ZEROES)
		known |= NBD_FLAG_C_NO_ZEROES;
	/* proto.md "Client flags": unknown or unoffered flag -> drop */
	if (*cflags & ~known)
		return -EINVAL;
	return 0;
}

int nbd_build_opt_hdr(uint8_t *buf, size_t bufsz, uint32_t opt, uint32_t len)
{
	if (bufsz < NBD_OPT_HDR_SIZE)
		return -ENOSPC;
	nbd_put64(buf, NBD_IHAVEOPT);
	nbd_put32(buf + 8, opt);
	nbd_put32(buf + 12, len);
	return NBD_OPT_HDR_SIZE;
}

int nbd_parse_opt_hdr(const uint8_t *buf, size_t len, uint32_t max_len,
		      struct nbd_opt_hdr *hdr)
{
	/* Check the magic as soon as it is in, so garbage closes early. */
	if (len >= 8 && nbd_get64(buf) != NBD_IHAVEOPT)
		return -EBADMSG;
	if (len < NBD_OPT_HDR_SIZE)
		return -EAGAIN;
	hdr->opt = nbd_get32(buf + 8);
	hdr->len = nbd_get32(buf + 12);
	if (hdr->len > max_len)
		return -EMSGSIZE;
	return 0;
}

int nbd_build_opt_reply(uint8_t *buf, size_t bufsz, uint32_t opt,
			uint32_t type, uint32_t len)
{
	if (bufsz < NBD_OPT_REPLY_HDR_SIZE)
		return -ENOSPC;
	nbd_put64(buf, NBD_REP_MAGIC);
	nbd_put32(buf + 8, opt);
	nbd_put32(buf + 12, type);
	nbd_put32(buf + 16, len);
	return NBD_OPT_REPLY_HDR_SIZE;
}

int nbd_parse_opt_reply(const uint8_t *buf, size_t len,
			struct nbd_opt_reply *rep)
{
	if (len >= 8 && nbd_get64(buf) != NBD_REP_MAGIC)
		return -EBADMSG;
	if (len < NBD_OPT_REPLY_HDR_SIZE)
		return -EAGAIN;
	rep->opt = nbd_get32(buf + 8);
	rep->type = nbd_get32(buf + 12);
	rep->len = nbd_get32(buf + 16);
	return 0;
}

/*
 * proto.md "NBD_OPT_INFO and NBD_OPT_GO" data:
 *   32 bits name length, name, 16 bits number of requests, that many
 *   16-bit NBD_INFO_* values. Every length is checked against what is left.
 */
int nbd_parse_opt_go(const uint8_t *data, size_t len, struct nbd_opt_go *go)
{
	size_t left = len;
	uint32_t nlen;

	if (left < 4)
		return -EINVAL;
	nlen = nbd_get32(data);
	left -= 4;
	if (nlen > NBD_MAX_STRING || nlen > left)
		return -EINVAL;
	go->name = (const char *)data + 4;
	go->name_len = nlen;
	left -= nlen;
	if (left < 2)
		return -EINVAL;
	go->ninfo = nbd_get16(data + 4 + nlen);
	left -= 2;
	if (left != (size_t)go->ninfo * 2)
		return -EINVAL;
	go->info = data + 4 + nlen + 2;
	return 0;
}

uint16_t nbd_opt_go_info(const struct nbd_opt_go *go, uint16_t i)
{
	return nbd_get16(go->info + 2 * (size_t)i);
}

int nbd_build_opt_go(uint8_t *buf, size_t bufsz, const char *name,
		     const uint16_t *infos, uint16_t ninfo)
{
	size_t nlen = strlen(name), need = 4 + nlen + 2 + 2 * (size_t)ninfo;
	uint16_t i;

	if (nlen > NBD_MAX_STRING)
		return -EINVAL;
	if (bufsz < need)
		return -ENOSPC;
	nbd_put32(buf, (uint32_t)nlen);
	memcpy(buf + 4, name, nlen);
	nbd_put16(buf + 4 + nlen, ninfo);
	for (i = 0; i < ninfo; i++)
		nbd_put16(buf + 6 + nlen + 2 * (size_t)i, infos[i]);
	return (int)need;
}

/* proto.md "Option reply types": NBD_REP_SERVER = u32 namelen, name, desc */
int nbd_build_rep_server(uint8_t *buf, size_t bufsz, uint32_t opt,
			 const char *name, const char *desc)
{
	size_t nlen = strlen(name), dlen = desc ? strlen(desc) : 0;
	size_t plen = 4 + nlen + dlen;

	if (nlen > NBD_MAX_STRING || dlen > NBD_MAX_STRING)
		return -EINVAL;
	if (bufsz < NBD_OPT_REPLY_HDR_SIZE + plen)
		return -ENOSPC;
	nbd_build_opt_reply(buf, bufsz, opt, NBD_REP_SERVER, (uint32_t)plen);
	nbd_put32(buf + 20, (uint32_t)nlen);
	memcpy(buf + 24, name, nlen);
	if (dlen)
		memcpy(buf + 24 + nlen, desc, dlen);
	return (int)(NBD_OPT_REPLY_HDR_SIZE + plen);
}

int nbd_parse_rep_server(const uint8_t *data, size_t len, const char **name,
			 uint32_t *name_len, const char **desc,
			 uint32_t *desc_len)
{
	uint32_t nlen;

	if (len < 4)
		return -EINVAL;
	nlen = nbd_get32(data);
	/* "MUST be no larger than the reply packet header length - 4" */
	if (nlen > len - 4)
		return -EINVAL;
	*name = (const char *)data + 4;
	*name_len = nlen;
	*desc = (const char *)data + 4 + nlen;
	*desc_len = (uint32_t)(len - 4 - nlen);
	return 0;
}

int nbd_build_rep_info_export(uint8_t *buf, size_t bufsz, uint32_t opt,
			      uint64_t size, uint16_t tflags)
{
	if (bufsz < NBD_OPT_REPLY_HDR_SIZE + NBD_INFO_EXPORT_SIZE)
		return -ENOSPC;
	nbd_build_opt_reply(buf, bufsz, opt, NBD_REP_INFO, NBD_INFO_EXPORT_SIZE);
	nbd_put16(buf + 20, NBD_INFO_EXPORT);
	nbd_put64(buf + 22, size);
	nbd_put16(buf + 30, tflags);
	return NBD_OPT_REPLY_HDR_SIZE + NBD_INFO_EXPORT_SIZE;
}

int nbd_build_rep_info_block_size(uint8_t *buf, size_t bufsz, uint32_t opt,
				  uint32_t min, uint32_t pref, uint32_t max)
{
	if (bufsz < NBD_OPT_REPLY_HDR_SIZE + NBD_INFO_BLOCK_SIZE_SIZE)
		return -ENOSPC;
	nbd_build_opt_reply(buf, bufsz, opt, NBD_REP_INFO,
			    NBD_INFO_BLOCK_SIZE_SIZE);
	nbd_put16(buf + 20, NBD_INFO_BLOCK_SIZE);
	nbd_put32(buf + 22, min);
	nbd_put32(buf + 26, pref);
	nbd_put32(buf + 30, max);
	return NBD_OPT_REPLY_HDR_SIZE + NBD_INFO_BLOCK_SIZE_SIZE;
}

int nbd_build_rep_info_text(uint8_t *buf, size_t bufsz, uint32_t opt,
			    uint16_t type, const char *text)
{
	size_t tlen = strlen(text);

	if (tlen > NBD_MAX_STRING)
		return -EINVAL;
	if (bufsz < NBD_OPT_REPLY_HDR_SIZE + 2 + tlen)
		return -ENOSPC;
	nbd_build_opt_reply(buf, bufsz, opt, NBD_REP_INFO, (uint32_t)(2 + tlen));
	nbd_put16(buf + 20, type);
	memcpy(buf + 22, text, tlen);
	return (int)(NBD_OPT_REPLY_HDR_SIZE + 2 + tlen);
}

int nbd_build_rep_text(uint8_t *buf, size_t bufsz, uint32_t opt,
		       uint32_t type, const char *text)
{
	size_t tlen = text ? strlen(text) : 0;

	if (tlen > NBD_MAX_STRING)
		return -EINVAL;
	if (bufsz < NBD_OPT_REPLY_HDR_SIZE + tlen)
		return -ENOSPC;
	nbd_build_opt_reply(buf, bufsz, opt, type, (uint32_t)tlen);
	if (tlen)
		memcpy(buf + 20, text, tlen);
	return (int)(NBD_OPT_REPLY_HDR_SIZE + tlen);
}

int nbd_parse_rep_info(const uint8_t *data, size_t len, struct nbd_info *info)
{
	memset(info, 0, sizeof(*info));
	if (len < 2)
		return -EINVAL;
	info->type = nbd_get16(data);
	switch (info->type) {
	case NBD_INFO_EXPORT:
		if (len != NBD_INFO_EXPORT_SIZE)
			return -EINVAL;
		info->size = nbd_get64(data + 2);
		info->tflags = nbd_get16(data + 10);
		return 0;
	case NBD_INFO_BLOCK_SIZE:
		if (len != NBD_INFO_BLOCK_SIZE_SIZE)
			return -EINVAL;
		info->min_block = nbd_get32(data + 2);
		info->pref_block = nbd_get32(data + 6);
		info->max_block = nbd_get32(data + 10);
		return 0;
	case NBD_INFO_NAME:
	case NBD_INFO_DESCRIPTION:
		if (len - 2 > NBD_MAX_STRING)
			return -EINVAL;
		info->text = (const char *)data + 2;
		info->text_len = (uint32_t)(len - 2);
		return 0;
	default:
		/* proto.md: a client MUST ignore information types it
		 * does not recognise */
		return 0;
	}
}

int nbd_build_export_name_reply(uint8_t *buf, size_t bufsz, uint64_t size,
				uint16_t tflags, int no_zeroes)
{
	size_t n = no_zeroes ? NBD_EXPORT_NAME_REPLY_SHORT
			     : NBD_EXPORT_NAME_REPLY_SIZE;

	if (bufsz < n)
		return -ENOSPC;
	nbd_put64(buf, size);
	nbd_put16(buf + 8, tflags);
	if (!no_zeroes)
		memset(buf + 10, 0, 124);
	return (int)n;
}

int nbd_parse_export_name_reply(const uint8_t *buf, size_t len,
				uint64_t *size, uint16_t *tflags)
{
	if (len < NBD_EXPORT_NAME_REPLY_SHORT)
		return -EAGAIN;
	*size = nbd_get64(buf);
	*tflags = nbd_get16(buf + 8);
	return 0;
}

/* ---- transmission ---- */

int nbd_build_request(uint8_t *buf, size_t bufsz, const struct nbd_request *rq)
{
	if (bufsz < NBD_REQUEST_SIZE)
		return -ENOSPC;
	nbd_put32(buf, NBD_REQUEST_MAGIC);
	nbd_put16(buf + 4, rq->flags);
	nbd_put16(buf + 6, rq->type);
	nbd_put64(buf + 8, rq->handle);
	nbd_put64(buf + 16, rq->offset);
	nbd_put32(buf + 24, rq->length);
	return NBD_REQUEST_SIZE;
}

int nbd_parse_request(const uint8_t *buf, size_t len, struct nbd_request *rq)
{
	if (len >= 4 && nbd_get32(buf) != NBD_REQUEST_MAGIC)
		return -EBADMSG;
	if (len < NBD_REQUEST_SIZE)
		return -EAGAIN;
	rq->flags = nbd_get16(buf + 4);
	rq->type = nbd_get16(buf + 6);
	rq->handle = nbd_get64(buf + 8);
	rq->offset = nbd_get64(buf + 16);
	rq->length = nbd_get32(buf + 24);
	return 0;
}

int nbd_build_simple_reply(uint8_t *buf, size_t bufsz, uint32_t error,
			   uint64_t handle)
{
	if (bufsz < NBD_SIMPLE_REPLY_SIZE)
		return -ENOSPC;
	nbd_put32(buf, NBD_SIMPLE_REPLY_MAGIC);
	nbd_put32(buf + 4, error);
	nbd_put64(buf + 8, handle);
	return NBD_SIMPLE_REPLY_SIZE;
}

int nbd_build_chunk_hdr(uint8_t *buf, size_t bufsz, uint16_t flags,
			uint16_t type, uint64_t handle, uint32_t length)
{
	if (bufsz < NBD_STRUCTURED_REPLY_SIZE)
		return -ENOSPC;
	nbd_put32(buf, NBD_STRUCTURED_REPLY_MAGIC);
	nbd_put16(buf + 4, flags);
	nbd_put16(buf + 6, type);
	nbd_put64(buf + 8, handle);
	nbd_put32(buf + 16, length);
	return NBD_STRUCTURED_REPLY_SIZE;
}

/* proto.md "NBD_REPLY_TYPE_OFFSET_DATA": 64-bit offset, then data */
int nbd_build_chunk_offset_data(uint8_t *buf, size_t bufsz, uint16_t flags,
				uint64_t handle, uint64_t offset,
				uint32_t datalen)
{
	if (bufsz < NBD_OFFSET_DATA_HDR_SIZE || datalen > UINT32_MAX - 8)
		return -ENOSPC;
	nbd_build_chunk_hdr(buf, bufsz, flags, NBD_REPLY_TYPE_OFFSET_DATA,
			    handle, 8 + datalen);
	nbd_put64(buf + 20, offset);
	return NBD_OFFSET_DATA_HDR_SIZE;
}

/* proto.md "NBD_REPLY_TYPE_OFFSET_HOLE": 64-bit offset, 32-bit length */
int nbd_build_chunk_offset_hole(uint8_t *buf, size_t bufsz, uint16_t flags,
				uint64_t handle, uint64_t offset,
				uint32_t holelen)
{
	if (bufsz < NBD_STRUCTURED_REPLY_SIZE + 12)
		return -ENOSPC;
	nbd_build_chunk_hdr(buf, bufsz, flags, NBD_REPLY_TYPE_OFFSET_HOLE,
			    handle, 12);
	nbd_put64(buf + 20, offset);
	nbd_put32(buf + 28, holelen);
	return NBD_STRUCTURED_REPLY_SIZE + 12;
}

/* proto.md "NBD_REPLY_TYPE_ERROR": 32-bit error, 16-bit msg length, msg */
int nbd_build_chunk_error(uint8_t *buf, size_t bufsz, uint16_t flags,
			  uint64_t handle, uint32_t error, const char *msg)
{
	size_t mlen = msg ? strlen(msg) : 0;

	if (mlen > NBD_MAX_STRING)
		mlen = NBD_MAX_STRING;
	if (bufsz < NBD_STRUCTURED_REPLY_SIZE + 6 + mlen)
		return -ENOSPC;
	nbd_build_chunk_hdr(buf, bufsz, flags, NBD_REPLY_TYPE_ERROR, handle,
			    (uint32_t)(6 + mlen));
	nbd_put32(buf + 20, error);
	nbd_put16(buf + 24, (uint16_t)mlen);
	if (mlen)
		memcpy(buf + 26, msg, mlen);
	return (int)(NBD_STRUCTURED_REPLY_SIZE + 6 + mlen);
}

int nbd_parse_reply(const uint8_t *buf, size_t len, struct nbd_reply *rep)
{
	uint32_t magic;

	if (len < 4)
		return -EAGAIN;
	magic = nbd_get32(buf);
	memset(rep, 0, sizeof(*rep));
	if (magic == NBD_SIMPLE_REPLY_MAGIC) {
		if (len < NBD_SIMPLE_REPLY_SIZE)
			return -EAGAIN;
		rep->error = nbd_get32(buf + 4);
		rep->handle = nbd_get64(buf + 8);
		return 0;
	}
	if (magic != NBD_STRUCTURED_REPLY_MAGIC)
		return -EBADMSG;
	if (len < NBD_STRUCTURED_REPLY_SIZE)
		return -EAGAIN;
	rep->structured = 1;
	rep->flags = nbd_get16(buf + 4);
	rep->type = nbd_get16(buf + 6);
	rep->handle = nbd_get64(buf + 8);
	rep->length = nbd_get32(buf + 16);
	return 0;
}

int nbd_parse_chunk_error(const uint8_t *data, size_t len, uint32_t *error,
			  const char **msg, uint16_t *msg_len)
{
	uint16_t mlen;

	if (len < 6)
		return -EINVAL;
	*error = nbd_get32(data);
	mlen = nbd_get16(data + 4);
	/* NBD_REPLY_TYPE_ERROR_OFFSET adds 8 bytes after the message */
	if (mlen > len - 6)
		return -EINVAL;
	*msg = (const char *)data + 6;
	*msg_len = mlen;
	/* "The server MUST NOT send an error of 0" */
	if (*error == 0)
		return -EINVAL;
	return 0;
}

/* Which transmission flag must have been advertised for each command. */
static uint16_t nbd_cmd_needs(uint16_t type)
{
	switch (type) {
	case NBD_CMD_FLUSH:
		return NBD_FLAG_SEND_FLUSH;
	case NBD_CMD_TRIM:
		return NBD_FLAG_SEND_TRIM;
	case NBD_CMD_WRITE_ZEROES:
		return NBD_FLAG_SEND_WRITE_ZEROES;
	case NBD_CMD_CACHE:
		return NBD_FLAG_SEND_CACHE;
	default:
		return 0;
	}
}

static uint16_t nbd_cmd_allowed_flags(uint16_t type, uint16_t tflags,
				      int structured)
{
	uint16_t fua = (tflags & NBD_FLAG_SEND_FUA) ? NBD_CMD_FLAG_FUA : 0;

	switch (type) {
	case NBD_CMD_READ:
		/* NBD_CMD_FLAG_DF only with NBD_FLAG_SEND_DF, which needs
		 * structured replies ("Transmission flags") */
		return (structured && (tflags & NBD_FLAG_SEND_DF))
		       ? NBD_CMD_FLAG_DF : 0;
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
		return fua;
	case NBD_CMD_WRITE_ZEROES:
		return fua | NBD_CMD_FLAG_NO_HOLE |
		       ((tflags & NBD_FLAG_SEND_FAST_ZERO)
			? NBD_CMD_FLAG_FAST_ZERO : 0);
	default:
		return 0;
	}
}

int nbd_validate_request(const struct nbd_request *rq, uint64_t size,
			 uint16_t tflags, uint32_t max_payload,
			 int structured)
{
	uint16_t needs;

	switch (rq->type) {
	case NBD_CMD_READ:
	case NBD_CMD_WRITE:
	case NBD_CMD_DISC:
	case NBD_CMD_FLUSH:
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
	case NBD_CMD_CACHE:
		break;
	default:
		/* proto.md "Request types": unknown command -> EINVAL */
		return -EINVAL;
	}
	needs = nbd_cmd_needs(rq->type);
	if (needs && !(tflags & needs))
		return -EINVAL;
	if (rq->flags & ~nbd_cmd_allowed_flags(rq->type, tflags, structured))
		return -EINVAL;
	if ((tflags & NBD_FLAG_READ_ONLY) &&
	    (rq->type == NBD_CMD_WRITE || rq->type == NBD_CMD_TRIM ||
	     rq->type == NBD_CMD_WRITE_ZEROES))
		return -EPERM;
	if (rq->type == NBD_CMD_DISC)
		return 0;
	if (rq->type == NBD_CMD_FLUSH)
		/* "length and offset are reserved ... MUST be zero" is a
		 * client MUST; we accept any, like nbd-server */
		return 0;
	/* proto.md "Block size constraints": a request longer than the
	 * maximum block size with a payload -> EOVERFLOW (READ) / EINVAL;
	 * we answer EOVERFLOW for READ and WRITE alike. */
	if ((rq->type == NBD_CMD_READ || rq->type == NBD_CMD_WRITE) &&
	    rq->length > max_payload)
		return -EOVERFLOW;
	/* "Request types": length 0 is unspecified; reject it */
	if (rq->length == 0)
		return -EINVAL;
	/* out of range, without overflowing: offset + length > size */
	if (rq->offset > size || rq->length > size - rq->offset)
		return -EINVAL;
	return 0;
}

uint32_t nbd_errno(int rc)
{
	switch (err_errno(rc < 0 ? rc : -rc)) {
	case 0:
		return 0;
	case EPERM:
	case EROFS:
	case EACCES:
		return NBD_EPERM;
	case EIO:
		return NBD_EIO;
	case ENOMEM:
		return NBD_ENOMEM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return NBD_ENOSPC;
	case EOVERFLOW:
		return NBD_EOVERFLOW;
	case ENOTSUP:
		return NBD_ENOTSUP;
	case ESHUTDOWN:
		return NBD_ESHUTDOWN;
	case EINVAL:
	default:
		/* "Error values": EINVAL is the catch-all */
		return NBD_EINVAL;
	}
}

int nbd_wire_errno(uint32_t err)
{
	switch (err) {
	case 0:
		return 0;
	case NBD_EPERM:
		return EPERM;
	case NBD_EIO:
		return EIO;
	case NBD_ENOMEM:
		return ENOMEM;
	case NBD_ENOSPC:
		return ENOSPC;
	case NBD_EOVERFLOW:
		return EOVERFLOW;
	case NBD_ENOTSUP:
		return ENOTSUP;
	case NBD_ESHUTDOWN:
		return ESHUTDOWN;
	default:
		return EINVAL;
	}
}

/* ---- names for logs ---- */

struct nbd_name {
	uint32_t v;
	const char *name;
};

static const char *nbd_lookup(const struct nbd_name *t, size_t n, uint32_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return "unknown";
}

#define N(x) { x, #x }
static const struct nbd_name opt_names[] = {
	N(NBD_OPT_EXPORT_NAME), N(NBD_OPT_ABORT), N(NBD_OPT_LIST),
	N(NBD_OPT_PEEK_EXPORT), N(NBD_OPT_STARTTLS), N(NBD_OPT_INFO),
	N(NBD_OPT_GO), N(NBD_OPT_STRUCTURED_REPLY),
	N(NBD_OPT_LIST_META_CONTEXT), N(NBD_OPT_SET_META_CONTEXT),
	N(NBD_OPT_EXTENDED_HEADERS),
};
static const struct nbd_name rep_names[] = {
	N(NBD_REP_ACK), N(NBD_REP_SERVER), N(NBD_REP_INFO),
	N(NBD_REP_META_CONTEXT), N(NBD_REP_ERR_UNSUP), N(NBD_REP_ERR_POLICY),
	N(NBD_REP_ERR_INVALID), N(NBD_REP_ERR_PLATFORM),
	N(NBD_REP_ERR_TLS_REQD), N(NBD_REP_ERR_UNKNOWN),
	N(NBD_REP_ERR_SHUTDOWN), N(NBD_REP_ERR_BLOCK_SIZE_REQD),
	N(NBD_REP_ERR_TOO_BIG), N(NBD_REP_ERR_EXT_HEADER_REQD),
};
static const struct nbd_name info_names[] = {
	N(NBD_INFO_EXPORT), N(NBD_INFO_NAME), N(NBD_INFO_DESCRIPTION),
	N(NBD_INFO_BLOCK_SIZE),
};
static const struct nbd_name cmd_names[] = {
	N(NBD_CMD_READ), N(NBD_CMD_WRITE), N(NBD_CMD_DISC), N(NBD_CMD_FLUSH),
	N(NBD_CMD_TRIM), N(NBD_CMD_CACHE), N(NBD_CMD_WRITE_ZEROES),
	N(NBD_CMD_BLOCK_STATUS), N(NBD_CMD_RESIZE),
};
static const struct nbd_name err_names[] = {
	{ 0, "OK" }, N(NBD_EPERM), N(NBD_EIO), N(NBD_ENOMEM), N(NBD_EINVAL),
	N(NBD_ENOSPC), N(NBD_EOVERFLOW), N(NBD_ENOTSUP), N(NBD_ESHUTDOWN),
};
#undef N

const char *nbd_opt_name(uint32_t opt)
{
	return nbd_lookup(opt_names, ARRAY_SIZE(opt_names), opt);
}

const char *nbd_rep_name(uint32_t type)
{
	return nbd_lookup(rep_names, ARRAY_SIZE(rep_names), type);
}

const char *nbd_info_name(uint16_t type)
{
	return nbd_lookup(info_names, ARRAY_SIZE(info_names), type);
}

const char *nbd_cmd_name(uint16_t type)
{
	return nbd_lookup(cmd_names, ARRAY_SIZE(cmd_names), type);
}

const char *nbd_err_name(uint32_t err)
{
	return nbd_lookup(err_names, ARRAY_SIZE(err_names), err);
}
