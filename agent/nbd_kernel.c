/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nbd.ko's generic netlink interface (drivers/block/nbd.c, nbd-netlink.h). */

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_err.h"
#include "lb_log.h"
#include "nbd_kernel.h"

struct genl_buf {
	union {
		struct nlmsghdr nh;
		char raw[1024];
	} u;
};

static struct nlattr *attr_put(struct genl_buf *b, uint16_t type,
			       const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(b->u.raw +
					     NLMSG_ALIGN(b->u.nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	b->u.nh.nlmsg_len = NLMSG_ALIGN(b->u.nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static void nest_end(struct genl_buf *b, struct nlattr *a)
{
	a->nla_len = (uint16_t)(b->u.raw + b->u.nh.nlmsg_len - (char *)a);
}

static void genl_init(struct genl_buf *b, uint16_t family, uint8_t cmd)
{
	struct genlmsghdr *g;

	memset(b, 0, sizeof(*b));
	b->u.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	b->u.nh.nlmsg_type = family;
	b->u.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	b->u.nh.nlmsg_seq = 1;
	g = NLMSG_DATA(&b->u.nh);
	g->cmd = cmd;
	g->version = 1;
}

/*
 * Send b, read replies until the ack. cb sees each genl attribute of a
 * data reply. Returns 0 or the kernel's -errno.
 */
static int genl_talk(int fd, struct genl_buf *b,
		     void (*cb)(const struct nlattr *a, void *ctx), void *ctx)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[8192];
	int i;

	if (sendto(fd, b, b->u.nh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	for (i = 0; i < 8; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (n < 0)
			return -errno;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n);
		     nh = NLMSG_NEXT(nh, n)) {
			const char *p, *end;

			if (nh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			p = (const char *)NLMSG_DATA(nh) + GENL_HDRLEN;
			end = (const char *)nh + nh->nlmsg_len;
			while (cb && p + NLA_HDRLEN <= end) {
				const struct nlattr *a = (const void *)p;

				if (a->nla_len < NLA_HDRLEN ||
				    p + a->nla_len > end)
					break;
				cb(a, ctx);
				p += NLA_ALIGN(a->nla_len);
			}
		}
	}
	return -EPROTO;
}

static void family_cb(const struct nlattr *a, void *ctx)
{
	if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
		memcpy(ctx, (const char *)a + NLA_HDRLEN, 2);
}

static int nbd_family(int fd, uint16_t *family)
{
	struct genl_buf b;
	int rc;

	*family = 0;
	genl_init(&b, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	attr_put(&b, CTRL_ATTR_FAMILY_NAME, NBD_GENL_FAMILY_NAME,
		 sizeof(NBD_GENL_FAMILY_NAME));
	if ((rc = genl_talk(fd, &b, family_cb, family)) != 0)
		return rc;
	return *family ? 0 : -ENOENT;
}

static void index_cb(const struct nlattr *a, void *ctx)
{
	if ((a->nla_type & NLA_TYPE_MASK) == NBD_ATTR_INDEX)
		memcpy(ctx, (const char *)a + NLA_HDRLEN, 4);
}

static void put_socket(struct genl_buf *b, int sockfd)
{
	struct nlattr *socks, *item;
	uint32_t fd32 = (uint32_t)sockfd;

	socks = attr_put(b, NBD_ATTR_SOCKETS | NLA_F_NESTED, NULL, 0);
	item = attr_put(b, NBD_SOCK_ITEM | NLA_F_NESTED, NULL, 0);
	attr_put(b, NBD_SOCK_FD, &fd32, 4);
	nest_end(b, item);
	nest_end(b, socks);
}

static int genl_open(uint16_t *family)
{
	struct timeval tv = { 10, 0 };
	int fd, rc;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((rc = nbd_family(fd, family)) != 0) {
		log_warnx("nbd: generic netlink family \"nbd\": %s (check: "
			  "is nbd.ko in the initramfs and loaded?)",
			  err_str(rc));
		close(fd);
		return rc;
	}
	return fd;
}

int nbd_kernel_connect(int sockfd, uint64_t size, uint32_t blksize,
		       uint64_t server_flags, uint64_t dead_conn_timeout_s,
		       int *index)
{
	struct genl_buf b;
	uint64_t bs = blksize, cflags = 0;
	uint32_t idx = 0xffffffffu, want;
	uint16_t family;
	int fd, rc;

	if ((fd = genl_open(&family)) < 0)
		return fd;
	genl_init(&b, family, NBD_CMD_CONNECT);
	if (*index >= 0) {
		want = (uint32_t)*index;
		attr_put(&b, NBD_ATTR_INDEX, &want, 4);
	}
	attr_put(&b, NBD_ATTR_SIZE_BYTES, &size, 8);
	attr_put(&b, NBD_ATTR_BLOCK_SIZE_BYTES, &bs, 8);
	attr_put(&b, NBD_ATTR_SERVER_FLAGS, &server_flags, 8);
	attr_put(&b, NBD_ATTR_CLIENT_FLAGS, &cflags, 8);
	/* no NBD_ATTR_TIMEOUT: the socketpair never times out, the agent
	 * alone deals with the network */
	attr_put(&b, NBD_ATTR_DEAD_CONN_TIMEOUT, &dead_conn_timeout_s, 8);
	put_socket(&b, sockfd);
	rc = genl_talk(fd, &b, index_cb, &idx);
	close(fd);
	if (rc != 0)
		return rc;
	if (idx == 0xffffffffu)
		return -EPROTO;
	*index = (int)idx;
	return 0;
}

int nbd_kernel_reconfigure(int index, int sockfd)
{
	struct genl_buf b;
	uint32_t idx = (uint32_t)index;
	uint16_t family;
	int fd, rc;

	if ((fd = genl_open(&family)) < 0)
		return fd;
	genl_init(&b, family, NBD_CMD_RECONFIGURE);
	attr_put(&b, NBD_ATTR_INDEX, &idx, 4);
	put_socket(&b, sockfd);
	rc = genl_talk(fd, &b, NULL, NULL);
	close(fd);
	return rc;
}
