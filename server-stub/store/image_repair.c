/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `image repair --scan DIR` (image_ops.h): versions whose file is gone
 * are looked for under DIR and re-attached where they are now.
 *
 * What a file must match: v1 its identity (size, partition table UUID,
 * file system types/UUIDs/labels) and, since clones share all of those,
 * its content hash; a later version (a delta or a merged raw file, always
 * made by us) its store name, its size and, for a delta, the parent
 * version in its header.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "delta.h"
#include "image_internal.h"
#include "image_ops.h"
#include "store.h"

#define REPAIR_MAX_DEPTH	8
#define REPAIR_MAX_FILES	100000
#define REPAIR_MAX_SKIPS	64

/* A missing version and what a file must match to be it. */
struct repair_want {
	struct image_repair_item *item;
	char id[40];
	char name[64];		/* store file name; "" for v1 */
	unsigned parent;	/* 0 = raw */
	char pt_uuid[48], identity[1024], sha256[65];
};

struct repair_scan {
	struct repair_want *want;
	size_t nwant;
	unsigned files;
	struct image_repair_result *res;
};

static struct repair_scan *repair_state;	/* nftw has no user pointer */

static void repair_skipped(struct repair_scan *rs, const char *path,
			   const char *image)
{
	struct image_repair_result *res = rs->res;
	struct image_repair_skip *s;

	if (res->nskipped == REPAIR_MAX_SKIPS)
		return;
	if (!(s = realloc(res->skipped, (res->nskipped + 1) * sizeof(*s))))
		return;
	res->skipped = s;
	s = &res->skipped[res->nskipped++];
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->image, sizeof(s->image), "%s", image);
}

/* Is path v1 of w? Same identity, and same content (a clone is not). */
static int is_first_version(struct repair_scan *rs, struct repair_want *w,
			    const char *path)
{
	struct store_identity ident;
	char identity[1024], sha[65];

	if (store_probe_identity(path, &ident) != 0)
		return 0;
	store_identity_string(&ident, identity, sizeof(identity));
	if (strcmp(ident.pt_uuid, w->pt_uuid) || strcmp(identity, w->identity))
		return 0;
	if (store_sha256_file(path, sha) != 0 || strcmp(sha, w->sha256)) {
		repair_skipped(rs, path, w->item->image);
		return 0;
	}
	return 1;
}

/* Is path a later version of w? Our name for it and a fitting header. */
static int is_later_version(const struct repair_want *w, const char *path,
			    const struct stat *st)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct delta_hdr h;
	int fd, rc;

	if (strcmp(base, w->name) != 0)
		return 0;
	if (!w->parent)
		return (uint64_t)st->st_size == w->item->size;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	rc = delta_read_hdr(fd, &h);
	close(fd);
	return rc == 0 && h.disk_size == w->item->size &&
	       h.parent_version == w->parent;
}

static int matches(struct repair_scan *rs, struct repair_want *w,
		   const char *path, const struct stat *st)
{
	if (w->name[0])
		return is_later_version(w, path, st);
	return (uint64_t)st->st_size == w->item->size &&
	       is_first_version(rs, w, path);
}

static int repair_visit(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	struct repair_scan *rs = repair_state;

	if (ftw->level > REPAIR_MAX_DEPTH || ++rs->files > REPAIR_MAX_FILES)
		return 1;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	for (size_t i = 0; i < rs->nwant; i++) {
		struct repair_want *w = &rs->want[i];
		char abs[PATH_MAX];

		if (w->item->found[0] || !matches(rs, w, path, st) ||
		    !realpath(path, abs))
			continue;
		snprintf(w->item->found, sizeof(w->item->found), "%s", abs);
		break;
	}
	return 0;
}

#define MISSING_SELECT \
	"SELECT i.name, i.id, v.version, v.file, i.size, i.pt_uuid," \
	" i.identity, i.content_sha256, v.parent FROM versions v JOIN" \
	" images i ON i.id = v.image_id ORDER BY i.name, v.version"

static void want_read(struct db *db, sqlite3_stmt *st, const char *path,
		      struct image_repair_item *item, struct repair_want *w)
{
	char file[STORE_PATH_MAX];
	const char *base;

	(void)db;
	memset(item, 0, sizeof(*item));
	memset(w, 0, sizeof(*w));
	w->item = item;
	db_col_text(st, 0, item->image, sizeof(item->image));
	db_col_text(st, 1, w->id, sizeof(w->id));
	item->version = (unsigned)sqlite3_column_int64(st, 2);
	snprintf(item->was, sizeof(item->was), "%s", path);
	item->size = (uint64_t)sqlite3_column_int64(st, 4);
	db_col_text(st, 5, w->pt_uuid, sizeof(w->pt_uuid));
	db_col_text(st, 6, w->identity, sizeof(w->identity));
	db_col_text(st, 7, w->sha256, sizeof(w->sha256));
	w->parent = (unsigned)sqlite3_column_int64(st, 8);
	if (item->version > 1) {
		db_col_text(st, 3, file, sizeof(file));
		base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
		/* ours: "<id>.v<N>.delta|raw", always short */
		if (strlen(base) < sizeof(w->name))
			memcpy(w->name, base, strlen(base) + 1);
	}
}

/* Every version whose file is gone: res->items, and what to match. */
static int repair_collect(struct db *db, struct image_repair_result *res,
			  struct repair_want **want)
{
	sqlite3_stmt *st;
	int rc;

	*want = NULL;
	if ((rc = db_prepare(db, MISSING_SELECT, &st)) != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char file[STORE_PATH_MAX], path[STORE_PATH_MAX];
		struct image_repair_item *items;
		struct repair_want *w;
		struct stat sb;

		db_col_text(st, 3, file, sizeof(file));
		image_resolve(db, file, path, sizeof(path));
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			continue;
		items = realloc(res->items, (res->nitems + 1) * sizeof(*items));
		if (items)
			res->items = items;
		w = realloc(*want, (res->nitems + 1) * sizeof(*w));
		if (w)
			*want = w;
		if (!items || !w) {
			rc = SQLITE_NOMEM;
			break;
		}
		want_read(db, st, path, &res->items[res->nitems],
			  &(*want)[res->nitems]);
		res->nitems++;
	}
	sqlite3_finalize(st);
	/* the items moved while the array grew */
	for (size_t i = 0; *want && i < res->nitems; i++)
		(*want)[i].item = &res->items[i];
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* The DB points at the files found. 0 if every missing one was. */
static int repair_attach(struct db *db, struct repair_scan *rs)
{
	int rc = 0;

	for (size_t i = 0; i < rs->nwant; i++) {
		struct image_repair_item *item = rs->want[i].item;
		char vs[16];

		if (!item->found[0]) {
			rc = ENOENT_IMAGE_FILES;
			continue;
		}
		snprintf(vs, sizeof(vs), "%u", item->version);
		if (image_sql(db, "UPDATE versions SET file = ?1 WHERE image_id "
			      "= ?2 AND version = ?3", 3, item->found,
			      rs->want[i].id, vs) == 0)
			item->reattached = 1;
		else
			rc = ENOENT_IMAGE_FILES;
	}
	return rc;
}

int image_repair_scan(struct db *db, const char *dir,
		      struct image_repair_result *res, char *why, size_t len)
{
	struct repair_scan rs = { .res = res };
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = repair_collect(db, res, &rs.want)) != 0) {
		free(rs.want);
		return image_db_failed(db, rc, why, len);
	}
	rs.nwant = res->nitems;
	if (rs.nwant == 0)
		return 0;
	repair_state = &rs;
	rc = nftw(dir, repair_visit, 32, FTW_PHYS) < 0 ? -errno : 0;
	repair_state = NULL;
	if (rc)
		db_why(why, len, rc, "%s: %s", dir, err_str(rc));
	else if ((rc = repair_attach(db, &rs)) != 0)
		db_why(why, len, rc, "not every missing file was found under %s",
		       dir);
	free(rs.want);
	return rc;
}

void image_repair_free(struct image_repair_result *res)
{
	free(res->items);
	free(res->skipped);
	memset(res, 0, sizeof(*res));
}
