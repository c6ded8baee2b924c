/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_PATH_H
#define LB_PATH_H

#include <stddef.h>

/*
 * Turn a path a client asked for (TFTP filename, HTTP URL path, already
 * percent-decoded) into a relative path below the served directory, or fail:
 *   - backslashes become slashes (PXE clients of Windows heritage send them)
 *   - leading slashes are dropped: "/pxelinux.0" means "pxelinux.0"
 *   - "." and empty components are removed
 *   - ".." anywhere, a NUL inside, or control bytes -> -EACCES
 * The result never starts with '/' and never contains "..". The kernel
 * enforces the same again at open time (openat2 RESOLVE_BENEATH), so a
 * symlink cannot escape either.
 * Returns 0, -EACCES (traversal / bad byte), -ENAMETOOLONG, -ENOENT (empty).
 */
int path_sanitize(const char *in, size_t inlen, char *out, size_t outsz);

#endif
