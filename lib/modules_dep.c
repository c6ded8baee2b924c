/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel module dependency order from depmod's text files; see header. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "modules_dep.h"

#define MODDB_DEPTH_MAX 32

static int name_char(int c)
{
	return c == '-' ? '_' : c;
}

void moddb_name_of(const char *path, size_t len, char *out, size_t outsz)
{
	const char *base = path, *p;
	size_t n = 0;

	for (p = path; p < path + len; p++)
		if (*p == '/')
			base = p + 1;
	/* up to the first '.': "ext4.ko.xz" -> "ext4" */
	for (p = base; p < path + len && *p != '.' && n + 1 < outsz; p++)
		out[n++] = (char)name_char(*p);
	out[n] = '\0';
}

static int name_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++)
		if (!b[i] || name_char(a[i]) != name_char(b[i]))
			return 0;
	return b[i] == '\0';
}

/* Find the modules.dep line of NAME: sets *line to its start. */
static int dep_line(const struct moddb *db, const char *name,
		    const char **line)
{
	const char *p = db->dep;
	char mod[64];

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *colon = strchr(p, ':');

		if (!eol)
			eol = p + strlen(p);
		if (colon && colon < eol) {
			moddb_name_of(p, (size_t)(colon - p), mod, sizeof(mod));
			if (!strcmp(mod, name) || name_eq(mod, strlen(mod), name)) {
				*line = p;
				return 0;
			}
		}
		p = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

int moddb_find(const struct moddb *db, const char *name, char *out,
	       size_t outsz)
{
	const char *line, *colon;
	size_t len;

	if (dep_line(db, name, &line) != 0)
		return -ENOENT;
	colon = strchr(line, ':');
	len = (size_t)(colon - line);
	if (len >= outsz)
		return -ENAMETOOLONG;
	memcpy(out, line, len);
	out[len] = '\0';
	return 0;
}

static int list_has(const struct modlist *list, const char *path)
{
	unsigned i;

	for (i = 0; i < list->n; i++)
		if (!strcmp(list->e[i].path, path))
			return 1;
	return 0;
}

static int resolve(const struct moddb *db, const char *name,
		   struct modlist *list, int optional, int depth);

/* softdep NAME pre: a b post: c  -> resolve a, b (optional) */
static int resolve_softdeps(const struct moddb *db, const char *name,
			    struct modlist *list, int depth)
{
	const char *p = db->softdep;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		char word[64];
		int pre = 0, idx = 0;

		if (!eol)
			eol = p + strlen(p);
		while (p < eol) {
			size_t len;

			p += strspn(p, " \t");
			len = strcspn(p, " \t\n");
			if (len == 0 || p + len > eol)
				break;
			if (len < sizeof(word)) {
				memcpy(word, p, len);
				word[len] = '\0';
				if (idx == 0 && strcmp(word, "softdep") != 0)
					break;
				if (idx == 1 && !name_eq(word, len, name))
					break;
				if (idx >= 2) {
					if (!strcmp(word, "pre:"))
						pre = 1;
					else if (!strcmp(word, "post:"))
						pre = 0;
					else if (pre) {
						int rc = resolve(db, word, list,
								 1, depth + 1);

						if (rc == -E2BIG || rc == -ELOOP)
							return rc;
					}
				}
			}
			idx++;
			p += len;
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

struct alias_ctx {
	const struct moddb *db;
	struct modlist *list;
	int depth;
	int rc;
	int found;
};

static void alias_resolve_cb(const char *name, void *vctx)
{
	struct alias_ctx *c = vctx;
	int rc = resolve(c->db, name, c->list, 1, c->depth + 1);

	if (rc == 0)
		c->found = 1;
	else if (rc == -E2BIG || rc == -ELOOP)
		c->rc = rc;
}

static int resolve(const struct moddb *db, const char *name,
		   struct modlist *list, int optional, int depth)
{
	const char *line, *colon, *eol, *p;
	char path[MODPATH_MAX], dep[MODPATH_MAX], depname[64];
	const char *starts[64];
	size_t lens[64];
	int ndeps = 0, rc, i;

	if (depth > MODDB_DEPTH_MAX)
		return -ELOOP;
	if (moddb_find(db, name, path, sizeof(path)) != 0) {
		/* maybe an alias ("crypto-crc32c"): every match, optional */
		struct alias_ctx c = { db, list, depth, 0, 0 };

		moddb_alias_match(db, name, alias_resolve_cb, &c);
		if (c.rc)
			return c.rc;
		return c.found ? 0 : -ENOENT;
	}
	if (list_has(list, path))
		return 0;
	if ((rc = resolve_softdeps(db, name, list, depth)) != 0)
		return rc;
	dep_line(db, name, &line);
	colon = strchr(line, ':');
	eol = strchr(colon, '\n');
	if (!eol)
		eol = colon + strlen(colon);
	for (p = colon + 1; p < eol && ndeps < 64;) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t\n");
		if (len == 0)
			break;
		starts[ndeps] = p;
		lens[ndeps++] = len;
		p += len;
	}
	/* modprobe loads the dep list back to front */
	for (i = ndeps - 1; i >= 0; i--) {
		if (lens[i] >= sizeof(dep))
			continue;
		memcpy(dep, starts[i], lens[i]);
		dep[lens[i]] = '\0';
		moddb_name_of(dep, lens[i], depname, sizeof(depname));
		rc = resolve(db, depname, list, optional, depth + 1);
		if (rc != 0 && rc != -ENOENT)
			return rc;
	}
	if (list_has(list, path))	/* a dependency cycle pulled it in */
		return 0;
	if (list->n == MODLIST_MAX)
		return -E2BIG;
	memcpy(list->e[list->n].path, path, sizeof(path));
	list->e[list->n].optional = optional;
	list->n++;
	return 0;
}

int moddb_resolve(const struct moddb *db, const char *name,
		  struct modlist *list)
{
	return resolve(db, name, list, 0, 0);
}

void moddb_each_alias(const struct moddb *db,
		      void (*fn)(const char *pattern, const char *name,
				 void *ctx), void *ctx)
{
	const char *p = db->alias;
	char pat[256], name[64];

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *a, *b;
		size_t plen, nlen;

		if (!eol)
			eol = p + strlen(p);
		if (strncmp(p, "alias ", 6) != 0)
			goto next;
		a = p + 6;
		plen = strcspn(a, " \n");
		b = a + plen;
		if (b >= eol)
			goto next;
		b++;
		nlen = (size_t)(eol - b);
		if (plen >= sizeof(pat) || nlen == 0 || nlen >= sizeof(name))
			goto next;
		memcpy(pat, a, plen);
		pat[plen] = '\0';
		memcpy(name, b, nlen);
		name[nlen] = '\0';
		fn(pat, name, ctx);
next:
		p = *eol ? eol + 1 : eol;
	}
}

struct alias_match {
	const char *modalias;
	void (*cb)(const char *name, void *ctx);
	void *ctx;
	int n;
};

static void alias_match_one(const char *pattern, const char *name, void *arg)
{
	struct alias_match *m = arg;

	if (fnmatch(pattern, m->modalias, 0) == 0) {
		m->n++;
		m->cb(name, m->ctx);
	}
}

int moddb_alias_match(const struct moddb *db, const char *modalias,
		      void (*cb)(const char *name, void *ctx), void *ctx)
{
	struct alias_match m = { modalias, cb, ctx, 0 };

	moddb_each_alias(db, alias_match_one, &m);
	return m.n;
}

void moddb_match_sys(const struct moddb *db,
		     void (*fn)(const char *name, void *arg), void *arg)
{
	static const char *const buses[] = { "pci", "usb", "virtio" };
	size_t b;

	for (b = 0; b < sizeof(buses) / sizeof(buses[0]); b++) {
		char dir[64], path[400], alias[256];
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "/sys/bus/%s/devices", buses[b]);
		if (!(d = opendir(dir)))
			continue;
		while ((de = readdir(d))) {
			ssize_t n;
			int fd;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/modalias", dir,
				 de->d_name);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
				continue;
			n = read(fd, alias, sizeof(alias) - 1);
			close(fd);
			if (n <= 0)
				continue;
			alias[n] = '\0';
			alias[strcspn(alias, "\n")] = '\0';
			moddb_alias_match(db, alias, fn, arg);
		}
		closedir(d);
	}
}
