/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by bootscript.c and grubcfg.c; see script_text.h. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bootscript.h"
#include "db.h"
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

void boot_text_fill(struct boot_text *t, const struct link_info *link,
		    const char *ticket)
{
	script_filter(t->name, sizeof(t->name), link->name, 0);
	script_filter(t->id, sizeof(t->id), link->image_id, 0);
	script_filter(t->image, sizeof(t->image), link->image, 0);
	script_filter(t->kernel, sizeof(t->kernel), link->kernel, 0);
	script_filter(t->initrd, sizeof(t->initrd), link->initrd, 0);
	script_filter(t->ticket, sizeof(t->ticket), ticket ? ticket : "", 0);
	script_filter(t->root, sizeof(t->root), link->root, 0);
	script_filter(t->ssd, sizeof(t->ssd), link->ssd_cache, 0);
	script_filter(t->host, sizeof(t->host), link->hostname, 0);
	script_filter(t->mid, sizeof(t->mid), link->machine_id, 0);
	script_filter(t->extra, sizeof(t->extra), link->cmdline, 1);
}

void boot_text_agent_args(struct sbuf *sb, const struct boot_text *t,
			  const struct link_info *link)
{
	sb_printf(sb, " linkboot.write=%s linkboot.ram=%u",
		  bootscript_write_mode(link->write_mode), link->ram_cache_mib);
	if (link->overlay_mib)
		sb_printf(sb, " linkboot.overlay=%u", link->overlay_mib);
	if (link->write_mode == WRITE_SERVER && link->keep_overlay)
		sb_printf(sb, " linkboot.keep=1");	/* write-back, woverlay.h */
	if (t->root[0])
		sb_printf(sb, " linkboot.root=%s", t->root);
	if (t->ssd[0])
		sb_printf(sb, " linkboot.ssd=%s", t->ssd);
	if (t->id[0])	/* the agent verifies blocks against it */
		sb_printf(sb, " linkboot.hashes=boot/%s/v%u/hashes", t->id,
			  link->version);
	/* woken to fill its SSD cache with this version (prestage.h): the
	 * agent reads the version's blocks it lacks and powers off */
	if (t->id[0] && link->prestage_version)
		sb_printf(sb, " linkboot.prestage=%s@%u linkboot.prestage_hashes="
			  "boot/%s/v%u/hashes", t->image, link->prestage_version,
			  t->id, link->prestage_version);
	if (t->host[0])
		sb_printf(sb, " linkboot.hostname=%s", t->host);
	if (t->mid[0])
		sb_printf(sb, " systemd.machine_id=%s", t->mid);
}
