/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keep Debian's ifupdown off the boot NIC (see ifupdown.h for why).
 *
 * interfaces(5): a file is a list of stanzas; a stanza starts with one of
 * the keywords "iface", "mapping", "auto", "allow-<class>", "source",
 * "source-directory" (also "no-auto-down", "no-scripts", "rename" in
 * ifupdown 0.8), and every other non-comment line is an option of the
 * "iface" or "mapping" stanza above it.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ifupdown.h"
#include "lb_log.h"

#define IFUPDOWN_MAX_FILE (64 * 1024)
#define MARK "#linkboot: "

/* output cursor: appends stop counting once the buffer is full */
struct outbuf {
	char *p;
	size_t sz, len;
	int full;
};

static void out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->full || o->len + n + 1 > o->sz) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_str(struct outbuf *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* length of the word at s (up to whitespace or end of line) */
static size_t word_len(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static int word_is(const char *w, size_t n, const char *kw)
{
	return n == strlen(kw) && !memcmp(w, kw, n);
}

/* a keyword that starts a new stanza (ends the options of the last one) */
static int is_stanza_keyword(const char *w, size_t n)
{
	static const char *const kws[] = {
		"iface", "mapping", "auto", "source", "source-directory",
		"no-auto-down", "no-scripts", "rename",
	};
	size_t i;

	if (n > 6 && !memcmp(w, "allow-", 6))
		return 1;
	for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (word_is(w, n, kws[i]))
			return 1;
	return 0;
}

/* "auto" and "allow-<class>" list interfaces to bring up */
static int is_bringup_list(const char *w, size_t n)
{
	return word_is(w, n, "auto") || (n > 6 && !memcmp(w, "allow-", 6));
}

/*
 * "auto eth0 eth1" without IFNAME: "#linkboot: auto eth0 eth1\nauto eth1".
 * Returns 1 if IFNAME was on the line.
 */
static int drop_from_list(struct outbuf *o, const char *line, const char *end,
			  const char *kw, size_t kwlen, const char *ifname)
{
	const char *s = skip_ws(kw + kwlen, end);
	char rest[512];
	size_t rlen = 0, n;
	int found = 0;

	for (; s < end; s = skip_ws(s + n, end)) {
		n = word_len(s, end);
		if (word_is(s, n, ifname)) {
			found = 1;
			continue;
		}
		if (rlen + n + 2 > sizeof(rest))
			return 0;	/* absurd line: leave it */
		rest[rlen++] = ' ';
		memcpy(rest + rlen, s, n);
		rlen += n;
	}
	if (!found)
		return 0;
	out_str(o, MARK);
	out_add(o, line, (size_t)(end - line));
	out_str(o, "\n");
	if (rlen) {
		out_add(o, kw, kwlen);
		out_add(o, rest, rlen);
		out_str(o, "\n");
	}
	return 1;
}

int ifupdown_release_text(const char *in, const char *ifname, char *out,
			  size_t outsz)
{
	struct outbuf o = { out, outsz, 0, 0 };
	const char *line, *end, *w, *a;
	size_t wn, an;
	int hidden = 0, changed = 0;

	if (outsz == 0)
		return -ENOSPC;
	out[0] = '\0';
	for (line = in; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		w = skip_ws(line, end);
		wn = word_len(w, end);
		if (wn == 0 || *w == '#')
			goto keep;	/* blank or comment */
		if (is_stanza_keyword(w, wn)) {
			hidden = 0;
			a = skip_ws(w + wn, end);
			an = word_len(a, end);
			if (word_is(w, wn, "iface") && word_is(a, an, ifname)) {
				hidden = 1;
			} else if (is_bringup_list(w, wn)) {
				if (drop_from_list(&o, line, end, w, wn, ifname)) {
					changed++;
					continue;
				}
				goto keep;
			}
		}
		if (hidden) {
			out_str(&o, MARK);
			changed++;
		}
keep:
		out_add(&o, line, (size_t)(end - line));
		if (*end)
			out_str(&o, "\n");
	}
	return o.full ? -ENOSPC : changed;
}

static int release_file(const char *path, const char *ifname)
{
	static char in[IFUPDOWN_MAX_FILE], out[IFUPDOWN_MAX_FILE + 4096];
	ssize_t n, len = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	while (len < (ssize_t)sizeof(in) - 1 &&
	       (n = read(fd, in + len, sizeof(in) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	in[len] = '\0';
	if ((rc = ifupdown_release_text(in, ifname, out, sizeof(out))) <= 0) {
		if (rc < 0)
			log_warnx("ifupdown: %s too big to rewrite; %s may be "
				  "reconfigured by ifupdown", path, ifname);
		return 0;
	}
	unlink(path);	/* may be a symlink into the image */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	len = (ssize_t)strlen(out);
	if (fd < 0 || write(fd, out, (size_t)len) != len) {
		log_warn("ifupdown: rewrite %s", path);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	log_info("ifupdown: %s: %s left to the agent (%d line%s commented "
		 "out)", path, ifname, rc, rc == 1 ? "" : "s");
	return 1;
}

int ifupdown_release_nic(const char *root, const char *ifname)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int changed = 0;

	snprintf(path, sizeof(path), "%s/etc/network/interfaces", root);
	changed += release_file(path, ifname);
	snprintf(path, sizeof(path), "%s/etc/network/interfaces.d", root);
	if (!(d = opendir(path)))
		return changed;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/etc/network/interfaces.d/%s",
			 root, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			changed += release_file(path, ifname);
	}
	closedir(d);
	return changed;
}
