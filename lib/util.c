/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by server and agent; see include/lb_util.h. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lb_util.h"

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sock_keepalive(int fd, int idle_s, int intvl_s, int cnt)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s,
		       sizeof(idle_s)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl_s,
		       sizeof(intvl_s)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0)
		return -errno;
	return 0;
}

int strlcpy_chk(char *dst, const char *src, size_t dstsz)
{
	size_t n = strlen(src);

	if (dstsz == 0)
		return -ENAMETOOLONG;
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mac_parse(const char *s, uint8_t mac[6])
{
	int nibbles[12];
	int n = 0;
	char sep = 0;
	int group = 0;	/* hex digits since the last separator */
	const char *p;

	if (!s)
		return -EINVAL;
	for (p = s; *p; p++) {
		int v = hexval((unsigned char)*p);

		if (v >= 0) {
			if (n == 12)
				return -EINVAL;
			nibbles[n++] = v;
			group++;
			continue;
		}
		if (*p != ':' && *p != '-' && *p != '.')
			return -EINVAL;
		/* one separator kind throughout, never leading or doubled */
		if ((sep && *p != sep) || group == 0)
			return -EINVAL;
		sep = *p;
		/* colon/dash groups are 1-2 digits ("0:1:..." is what some
		 * tools print), Cisco dotted groups are exactly 4 */
		if (sep == '.' ? group != 4 : group > 2)
			return -EINVAL;
		if (sep != '.' && group == 1) {
			/* left-pad a single digit group */
			nibbles[n] = nibbles[n - 1];
			nibbles[n - 1] = 0;
			if (++n > 12)
				return -EINVAL;
		}
		group = 0;
	}
	if (sep && sep != '.' && group == 1 && n < 12) {
		nibbles[n] = nibbles[n - 1];
		nibbles[n - 1] = 0;
		n++;
	}
	if (n != 12 || (sep && group == 0))
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(nibbles[2 * i] << 4 | nibbles[2 * i + 1]);
	return 0;
}

void mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cidr_broadcast(const char *s, unsigned min_bits, unsigned max_bits,
		   uint32_t *bcast)
{
	const char *slash = strchr(s, '/');
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	uint64_t bits;
	uint32_t mask;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) ||
	    parse_u64(slash + 1, min_bits, max_bits, &bits) != 0 || bits > 32)
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	mask = bits ? 0xffffffffu << (32 - bits) : 0;
	if (bcast)
		*bcast = htonl((ntohl(a.s_addr) & mask) | ~mask);
	return 0;
}
