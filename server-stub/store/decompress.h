/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_DECOMPRESS_H
#define LB_DECOMPRESS_H

#include <stddef.h>

/* Largest file decompress_file() returns (a module or a firmware file). */
#define DECOMPRESS_MAX (256u << 20)

/* The compression suffix of name (".xz", ".zst", ".gz") or NULL: how
 * distributions ship kernel modules and firmware (kmod, the kernel's
 * firmware loader know the same three). */
const char *compressed_suffix(const char *name);

/* The whole decompressed content of path (by its suffix): *out (free()
 * it, NUL-terminated beyond *len). gzip through zlib; xz and zstd through
 * the xz and zstd programs. 0, -ENOTSUP (no known suffix), -EFBIG, -EIO. */
int decompress_file(const char *path, char **out, size_t *len);

#endif
