/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_ENDIAN_H
#define LB_ENDIAN_H

/*
 * Little-endian fields of our on-disk and on-wire formats (block-hash
 * tables, boot packs, deltas, the SSD cache), byte by byte so they are
 * alignment- and host-order-free.
 */

#include <stdint.h>

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

#endif
