/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's TCP connect (tcp.h). */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lb_util.h"
#include "tcp.h"

#define RESV_FIRST	600	/* below: ports of well-known services */
#define RESV_LAST	1023

/* A free reserved port, tried from a random start, each port once. */
static int bind_reserved(int fd)
{
	unsigned n = RESV_LAST - RESV_FIRST + 1, start = 0, i;
	struct sockaddr_in me = { .sin_family = AF_INET };

	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) < 0)
		start = (unsigned)getpid();
	for (i = 0; i < n; i++) {
		me.sin_port = htons((uint16_t)(RESV_FIRST + (start + i) % n));
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -errno;	/* EACCES: not root */
	}
	return -EADDRINUSE;
}

int tcp_connect(const struct sockaddr_in *to, int timeout_ms, unsigned flags)
{
	struct pollfd p;
	int fd, rc, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if ((flags & TCP_RESERVED_PORT) && (rc = bind_reserved(fd)) != 0)
		goto fail;
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) != 0 &&
	    errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0) {
		rc = rc == 0 ? -ETIMEDOUT : -errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err) {
		rc = err ? -err : -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

int tcp_set_blocking(int fd, int timeout_ms)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -errno;
	return 0;
}
