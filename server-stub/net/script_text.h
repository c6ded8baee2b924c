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

/* A link's values as they go into a script or config, each filtered
 * (script_filter(); the image's kernel arguments keep their spaces). */
struct link_info;
struct boot_text {
	char name[64], image[64], id[40];
	char kernel[256], initrd[256], ticket[128];
	char root[64], ssd[16], host[64], mid[33], extra[512];
};

void boot_text_fill(struct boot_text *t, const struct link_info *link,
		    const char *ticket);

/* The agent's arguments both loaders pass after linkboot.mac (write mode,
 * caches, root, hashes, names): " linkboot.write=..." onwards, without
 * the image's own arguments. */
void boot_text_agent_args(struct sbuf *sb, const struct boot_text *t,
			  const struct link_info *link);

#endif
