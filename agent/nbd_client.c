/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD client to the linkboot server: fixed newstyle handshake with
 * NBD_OPT_GO, falling back to NBD_OPT_EXPORT_NAME (NBD proto.md
 * "Handshake"). Simple replies only. TCP_NODELAY (small requests must not
 * wait for Nagle), keepalive and TCP_USER_TIMEOUT so a pulled cable is
 * noticed and the serve loop reconnects.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "nbd_client.h"
#include "nbd_wire.h"
#include "tcp.h"

#define NBD_CONNECT_TIMEOUT_MS 5000
#define NBD_HANDSHAKE_TIMEOUT_S 10

int fd_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* TCP to the server, tuned for NBD: blocking, with the handshake's
 * timeouts (the serve loop sets its own later). */
static int nbd_tcp_connect(const struct sockaddr_in *sin)
{
	int fd, one = 1, idle = 5, intvl = 2, cnt = 3, rc;
	unsigned user_timeout = 15000;

	if ((fd = tcp_connect(sin, NBD_CONNECT_TIMEOUT_MS, 0)) < 0)
		return fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
		   sizeof(user_timeout));
	if ((rc = tcp_set_blocking(fd, NBD_HANDSHAKE_TIMEOUT_S * 1000)) != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int send_option(int fd, uint32_t opt, const void *data, uint32_t len)
{
	uint8_t h[NBD_OPT_HDR_SIZE];
	int rc;

	nbd_build_opt_hdr(h, sizeof(h), opt, len);
	if ((rc = fd_write_full(fd, h, sizeof(h))) != 0)
		return rc;
	return len ? fd_write_full(fd, data, len) : 0;
}

/* NBD proto.md NBD_OPT_GO: replies until NBD_REP_ACK; INFO_EXPORT gives
 * size and flags. 1 = server does not know GO (use EXPORT_NAME). */
static int opt_go(struct nbd_client_conn *c, const char *name)
{
	uint8_t buf[4 + 256 + 2], rep[NBD_OPT_REPLY_HDR_SIZE], data[256];
	struct nbd_opt_reply r;
	struct nbd_info info;
	int rc, got_info = 0, i, n;

	if ((n = nbd_build_opt_go(buf, sizeof(buf), name, NULL, 0)) < 0)
		return n;
	if ((rc = send_option(c->fd, NBD_OPT_GO, buf, (uint32_t)n)) != 0)
		return rc;
	/* bounded: a server that never ACKs is not one we can use */
	for (i = 0; i < 32; i++) {
		if ((rc = fd_read_full(c->fd, rep, sizeof(rep))) != 0)
			return rc;
		if (nbd_parse_opt_reply(rep, sizeof(rep), &r) != 0 ||
		    r.opt != NBD_OPT_GO || r.len > sizeof(data))
			return -EPROTO;
		if (r.len && (rc = fd_read_full(c->fd, data, r.len)) != 0)
			return rc;
		if (r.type == NBD_REP_ACK)
			return got_info ? 0 : -EPROTO;
		if (r.type == NBD_REP_ERR_UNSUP)
			return 1;
		if (r.type & NBD_REP_FLAG_ERROR) {
			char msg[128];

			/* the export name is this client's secret token:
			 * the console shows only enough to tell tokens apart */
			log_escape(msg, sizeof(msg), data, r.len);
			log_warnx("nbd: server refused export \"%.6s...\": %s: "
				  "%s%s", name, nbd_rep_name(r.type), msg,
				  r.type == NBD_REP_ERR_UNKNOWN ?
				  " (check: is this MAC still linked? "
				  "`linkboot client list` on the server)" : "");
			return r.type == NBD_REP_ERR_UNKNOWN ? -ENXIO : -EBUSY;
		}
		if (r.type == NBD_REP_INFO &&
		    nbd_parse_rep_info(data, r.len, &info) == 0 &&
		    info.type == NBD_INFO_EXPORT) {
			c->size = info.size;
			c->flags = info.tflags;
			got_info = 1;
		}
	}
	return -EPROTO;
}

static int opt_export_name(struct nbd_client_conn *c, const char *name,
			   int nozero)
{
	uint8_t buf[NBD_EXPORT_NAME_REPLY_SIZE];
	int rc;

	if ((rc = send_option(c->fd, NBD_OPT_EXPORT_NAME, name,
			      (uint32_t)strlen(name))) != 0)
		return rc;
	/* proto.md: the server closes on an unknown name */
	if ((rc = fd_read_full(c->fd, buf, nozero ? NBD_EXPORT_NAME_REPLY_SHORT :
			       NBD_EXPORT_NAME_REPLY_SIZE)) != 0)
		return rc == -EPIPE ? -ENOENT : rc;
	return nbd_parse_export_name_reply(buf, NBD_EXPORT_NAME_REPLY_SHORT,
					   &c->size, &c->flags) ? -EPROTO : 0;
}

int nbd_client_handshake(struct nbd_client_conn *c, const char *name)
{
	uint8_t h[NBD_GREETING_SIZE], cf[NBD_CLIENT_FLAGS_SIZE];
	uint16_t hflags;
	int rc;

	if ((rc = fd_read_full(c->fd, h, sizeof(h))) != 0)
		return rc;
	/* oldstyle or not NBD at all */
	if (nbd_parse_greeting(h, sizeof(h), &hflags) != 0 ||
	    !(hflags & NBD_FLAG_FIXED_NEWSTYLE))
		return -EPROTO;
	nbd_build_client_flags(cf, sizeof(cf), NBD_FLAG_C_FIXED_NEWSTYLE |
			       (hflags & NBD_FLAG_NO_ZEROES));
	if ((rc = fd_write_full(c->fd, cf, sizeof(cf))) != 0)
		return rc;
	rc = opt_go(c, name);
	if (rc == 1)
		rc = opt_export_name(c, name, hflags & NBD_FLAG_NO_ZEROES);
	if (rc == 0 && c->size > NBD_CLIENT_SIZE_MAX) {
		log_warnx("nbd: the server says the export is %llu bytes, more "
			  "than a block device can have (%llu): refusing it "
			  "(check the image and the server)",
			  (unsigned long long)c->size,
			  (unsigned long long)NBD_CLIENT_SIZE_MAX);
		return -EFBIG;
	}
	return rc;
}

int nbd_client_connect(const struct agent_cfg *cfg,
		       struct nbd_client_conn *c)
{
	unsigned i;
	int rc = -ENOTCONN;

	for (i = 0; i < cfg->nservers; i++) {
		unsigned s = (c->server + i) % cfg->nservers;
		const struct sockaddr_in *sin = &cfg->server[s];
		struct timeval tv = { 30, 0 };

		c->fd = nbd_tcp_connect(sin);
		if (c->fd < 0) {
			rc = c->fd;
			log_warnx("nbd: connect %s:%u: %s", inet_ntoa(sin->sin_addr),
				  ntohs(sin->sin_port), err_str(rc));
			continue;
		}
		if ((rc = nbd_client_handshake(c, cfg->export_name)) != 0) {
			log_warnx("nbd: %s:%u: handshake: %s",
				  inet_ntoa(sin->sin_addr),
				  ntohs(sin->sin_port), err_str(rc));
			nbd_client_close(c);
			continue;
		}
		/* a reply mid-way that stalls this long is a dead server */
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		c->server = s;
		return 0;
	}
	return rc;
}

void nbd_client_close(struct nbd_client_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
