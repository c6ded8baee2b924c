/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_UTIL_H
#define LB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define UNUSED __attribute__((unused))

/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

/* Bounded string copy; returns -ENAMETOOLONG when src did not fit. */
int strlcpy_chk(char *dst, const char *src, size_t dstsz);

/*
 * MAC addresses. Accepts the common spellings: 52:54:00:12:34:56,
 * 52-54-00-12-34-56, 5254.0012.3456, 525400123456, upper or lower case.
 * Formats as lower-case colon form (what users and iPXE's ${mac} show).
 */
int mac_parse(const char *s, uint8_t mac[6]);
void mac_format(const uint8_t mac[6], char out[18]);

/*
 * TCP keepalive on a connected socket: the first probe after idle_s without
 * traffic, then every intvl_s, the peer declared dead after cnt unanswered
 * ones (the socket then reports ETIMEDOUT). 0 or -errno.
 */
int sock_keepalive(int fd, int idle_s, int intvl_s, int cnt);

/* Parse a decimal unsigned integer in [min, max]; -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "A.B.C.D/N" with N in [min_bits, max_bits]: the subnet's directed
 * broadcast address (RFC 919 §7: host part all ones) into *bcast (network
 * order; may be NULL). 0 or -EINVAL. */
int cidr_broadcast(const char *s, unsigned min_bits, unsigned max_bits,
		   uint32_t *bcast);

#endif
