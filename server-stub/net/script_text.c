/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by bootscript.c and grubcfg.c; see script_text.h. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "script_text.h"

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->p + sb->len, sb->size - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->size - sb->len) {
		sb->overflow = 1;
		return;
	}
	sb->len += (size_t)n;
}

int sb_done(struct sbuf *sb)
{
	return sb->overflow ? -ENOSPC : (int)sb->len;
}

const char *script_filter(char *dst, size_t dstsz, const char *src,
			  int spaces)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)src[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._-:/@+,=%~", c) ||
		    (spaces && c == ' '))
			dst[i] = (char)c;
		else
			dst[i] = '_';
	}
	dst[i] = '\0';
	return dst;
}
