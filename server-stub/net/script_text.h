/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SCRIPT_TEXT_H
#define LB_SCRIPT_TEXT_H

/*
 * Text the server writes for a boot loader to run: the iPXE script
 * (bootscript.c) and the GRUB configuration (grubcfg.c).
 */

#include <stddef.h>

/* A bounded string builder; overflow is reported once, by sb_done(). */
struct sbuf {
	char *p;
	size_t size, len;
	int overflow;
};

void sb_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The length written, or -ENOSPC if anything did not fit. */
int sb_done(struct sbuf *sb);

/*
 * Copy src into dst keeping only bytes that mean nothing to either
 * parser: letters, digits and "._-:/@+,=%~" (and spaces when `spaces`).
 * No '$', no quotes, no backslash, no '|', '&', ';', '<', '>', '(', ')',
 * '{', '}', '#', no control bytes: iPXE expands ${..} and splits on
 * "||"/"&&"; GRUB's lexer (GRUB manual "Shell-like scripting") also treats
 * ';', '<', '>', '(', ')', '{', '}' as metacharacters. Returns dst.
 */
const char *script_filter(char *dst, size_t dstsz, const char *src,
			  int spaces);

#endif
