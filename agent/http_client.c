/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's HTTP/1.1 client (http_client.h). */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "cache_setup.h"
#include "http_client.h"
#include "http_wire.h"
#include "lb_log.h"
#include "lb_util.h"
#include "tcp.h"

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

static int request_head(const struct agent_cfg *cfg,
			const struct http_call *call, char *out, size_t outsz)
{
	char rng[64] = "", auth[128] = "", clen[48] = "";
	int n;

	if (call->range_end > call->range_first)
		snprintf(rng, sizeof(rng), "Range: bytes=%llu-%llu\r\n",
			 (unsigned long long)call->range_first,
			 (unsigned long long)call->range_end - 1);
	if (call->bearer)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
			 call->bearer);
	if (call->body)
		snprintf(clen, sizeof(clen), "Content-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n", call->body_len);
	n = snprintf(out, outsz, "%s /%s HTTP/1.1\r\nHost: %s\r\n%s%s%s"
		     "Connection: close\r\n\r\n", call->method, call->path,
		     cfg->http_host, rng, auth, clen);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : n;
}

/* The response head, up to the empty line: its length in head, the
 * status and Content-Length; what came after it stays in head. */
static int read_head(int fd, char *head, size_t *hlen, int *status,
		     uint64_t *clen, int64_t deadline)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = recv_some(fd, head + *hlen, HEAD_MAX - *hlen, deadline);
		if (n <= 0)
			return n < 0 ? (int)n : -EPROTO;
		*hlen += (size_t)n;
		rc = http_parse_response_head(head, *hlen, status, clen);
		if (rc != 0)
			return rc;
		if (*hlen == HEAD_MAX)
			return -EPROTO;
	}
}

int http_call(const struct agent_cfg *cfg, const struct http_call *call,
	      int *status, uint8_t **body, size_t *len)
{
	int64_t deadline = now_ms() + call->timeout_ms;
	char req[768], head[HEAD_MAX];
	size_t hlen = 0, hend, have;
	uint8_t *b = NULL;
	uint64_t clen;
	int fd, rc, n;
	ssize_t r;

	*body = NULL;
	*len = 0;
	if (!cfg->http.sin_port)
		return -ENOTCONN;
	if ((n = request_head(cfg, call, req, sizeof(req))) < 0)
		return n;
	if ((fd = tcp_connect(&cfg->http, call->timeout_ms,
			      call->tcp_flags)) < 0)
		return fd;
	if ((rc = send_all(fd, req, (size_t)n, deadline)) != 0 ||
	    (call->body && (rc = send_all(fd, call->body, call->body_len,
					  deadline)) != 0))
		goto out;
	if ((rc = read_head(fd, head, &hlen, status, &clen, deadline)) < 0)
		goto out;
	hend = (size_t)rc;
	if (clen == UINT64_MAX || clen > call->max) {
		rc = -EFBIG;
		goto out;
	}
	if (!(b = malloc((size_t)clen + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	have = MIN(hlen - hend, (size_t)clen);
	memcpy(b, head + hend, have);
	while (have < clen) {
		r = recv_some(fd, b + have, (size_t)clen - have, deadline);
		if (r <= 0) {
			rc = r < 0 ? (int)r : -EPROTO;
			goto out;
		}
		have += (size_t)r;
	}
	b[clen] = '\0';
	*body = b;
	*len = (size_t)clen;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

int http_get(const struct agent_cfg *cfg, const char *path,
	     uint64_t range_first, uint64_t range_end, size_t max,
	     uint8_t **body, size_t *len)
{
	struct http_call call = {
		.method = "GET", .path = path, .range_first = range_first,
		.range_end = range_end, .max = max,
		.timeout_ms = GET_TIMEOUT_MS,
	};
	int status, rc;

	if ((rc = http_call(cfg, &call, &status, body, len)) != 0)
		return rc;
	if (status == 200 || status == 206)
		return 0;
	free(*body);
	*body = NULL;
	*len = 0;
	return status == 404 ? -ENOENT : -EPROTO;
}
