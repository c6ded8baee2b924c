/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the SSD cache's on-disk state (ssdcache.c) as a
 * damaged, torn or hostile disk would present it: a cache is formatted on
 * a memfd, then the input is written over its index (and, when asked,
 * over its superblock and the first blocks), and the cache is opened again
 * and used: gets of the keys the index names, a put, a get of that.
 * Nothing may crash, leak or hang, and no get may return data that does
 * not hash to its key.
 *
 * Input: byte 0 flags, then the bytes written.
 *   bit 0  write from offset 0 (the superblock too), else from the index
 *   bit 1  give each 64-byte index entry a valid crc32 (its bytes 44..47),
 *          so the loader sees entries that pass its check and the fuzzer
 *          need not solve crc32
 */

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "lb_endian.h"
#include "ssdcache.h"

#define FZ_BS		4096u
#define FZ_DEV		(64u * 1024)
#define FZ_SB		4096u
#define FZ_ENTRY	64u

static void fix_crcs(uint8_t *p, size_t len, size_t at)
{
	/* entries start at FZ_SB; at is where p lands on the device */
	for (size_t off = 0; off + FZ_ENTRY <= len; off++) {
		if ((at + off) < FZ_SB || (at + off - FZ_SB) % FZ_ENTRY)
			continue;
		put_le32(p + off + 44, (uint32_t)crc32(0L, p + off, 44));
		off += FZ_ENTRY - 1;
	}
}

static void use_cache(int fd, const uint8_t *data, size_t size)
{
	static uint8_t buf[FZ_BS], img[FZ_DEV];
	uint8_t key[SSDC_KEY_SIZE], got[SSDC_KEY_SIZE];
	struct ssdcache *c;

	if (ssdcache_open(fd, FZ_DEV, FZ_BS, 0, &c) != 0)
		return;
	if (pread(fd, img, sizeof(img), 0) != (ssize_t)sizeof(img))
		goto out;
	/* every key the index names: a hit must be the right bytes */
	for (size_t off = FZ_SB; off + FZ_ENTRY <= 2 * FZ_SB; off += FZ_ENTRY) {
		if (ssdcache_get(c, img + off, buf) == 0) {
			ssdcache_hash(buf, FZ_BS, got);
			if (memcmp(got, img + off, SSDC_KEY_SIZE))
				__builtin_trap();
		}
		(void)ssdcache_contains(c, img + off);
	}
	memset(buf, size ? data[size - 1] : 0x5a, sizeof(buf));
	ssdcache_hash(buf, FZ_BS, key);
	if (ssdcache_put(c, key, buf) == 0 && ssdcache_get(c, key, buf) == 0) {
		ssdcache_hash(buf, FZ_BS, got);
		if (memcmp(got, key, SSDC_KEY_SIZE))
			__builtin_trap();
	}
out:
	ssdcache_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t patch[FZ_DEV];
	struct ssdcache *c;
	size_t at, len;
	int fd;

	if (size < 1)
		return 0;
	if ((fd = memfd_create("ssdc", MFD_CLOEXEC)) < 0)
		return 0;
	if (ftruncate(fd, FZ_DEV) != 0 ||
	    ssdcache_open(fd, FZ_DEV, FZ_BS, 1, &c) != 0) {
		close(fd);
		return 0;
	}
	ssdcache_close(c);
	at = (data[0] & 1) ? 0 : FZ_SB;
	len = size - 1 < FZ_DEV - at ? size - 1 : FZ_DEV - at;
	memcpy(patch, data + 1, len);
	if (data[0] & 2)
		fix_crcs(patch, len, at);
	if (pwrite(fd, patch, len, (off_t)at) == (ssize_t)len)
		use_cache(fd, data + 1, size - 1);
	close(fd);
	return 0;
}
