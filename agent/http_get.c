/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small blocking HTTP/1.1 GET for the agent's start (block-hash table,
 * boot pack) from linkboot.http. Bounded: connect, each read and the
 * whole transfer have timeouts, the body has a size cap. The head is
 * parsed by lib/http_wire.c (RFC 9112 §6.3: Content-Length, which our
 * server always sends).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "cache_setup.h"
#include "http_wire.h"
#include "lb_log.h"
#include "lb_util.h"

#define GET_TIMEOUT_MS 20000
#define HEAD_MAX 4096

static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left = deadline - now_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)left);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			int rc;

			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
				return rc;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read up to n bytes; 0 bytes read means EOF. */
static ssize_t recv_some(int fd, void *p, size_t n, int64_t deadline)
{
	for (;;) {
		ssize_t r = recv(fd, p, n, 0);
		int rc;

		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
			return rc;
	}
}

static int connect_http(const struct agent_cfg *cfg, int64_t deadline)
{
	int fd, err = 0, rc;
	socklen_t elen = sizeof(err);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&cfg->http,
		    sizeof(cfg->http)) != 0 && errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err) {
		rc = err ? -err : -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

int http_get(const struct agent_cfg *cfg, const char *path,
	     uint64_t range_first, uint64_t range_end, size_t max,
	     uint8_t **body, size_t *len)
{
	int64_t deadline = now_ms() + GET_TIMEOUT_MS;
	char req[512], head[HEAD_MAX], rng[64] = "";
	size_t hlen = 0, hend, have;
	uint8_t *b = NULL;
	uint64_t clen;
	int fd, rc, status;
	ssize_t n;

	*body = NULL;
	*len = 0;
	if (!cfg->http.sin_port)
		return -ENOTCONN;
	if (range_end > range_first)
		snprintf(rng, sizeof(rng), "Range: bytes=%llu-%llu\r\n",
			 (unsigned long long)range_first,
			 (unsigned long long)range_end - 1);
	n = snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: %s\r\n%s"
		     "Connection: close\r\n\r\n", path, cfg->http_host, rng);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -ENAMETOOLONG;
	if ((fd = connect_http(cfg, deadline)) < 0)
		return fd;
	if ((rc = send_all(fd, req, (size_t)n, deadline)) != 0)
		goto out;
	/* the head, up to the empty line */
	for (;;) {
		n = recv_some(fd, head + hlen, HEAD_MAX - hlen, deadline);
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EPROTO;
			goto out;
		}
		hlen += (size_t)n;
		rc = http_parse_response_head(head, hlen, &status, &clen);
		if (rc < 0)
			goto out;
		if (rc > 0)
			break;
		if (hlen == HEAD_MAX) {
			rc = -EPROTO;
			goto out;
		}
	}
	hend = (size_t)rc;
	if (status == 404) {
		rc = -ENOENT;
		goto out;
	}
	if (status != 200 && status != 206) {
		rc = -EPROTO;
		goto out;
	}
	if (clen == UINT64_MAX || clen > max) {
		rc = -EFBIG;
		goto out;
	}
	if (!(b = malloc(clen ? (size_t)clen : 1))) {
		rc = -ENOMEM;
		goto out;
	}
	have = MIN(hlen - hend, (size_t)clen);
	memcpy(b, head + hend, have);
	while (have < clen) {
		n = recv_some(fd, b + have, (size_t)clen - have, deadline);
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EPROTO;
			goto out;
		}
		have += (size_t)n;
	}
	*body = b;
	*len = (size_t)clen;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}
