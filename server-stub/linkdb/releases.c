/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Canary releases of an image version; see releases.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "lb_log.h"
#include "lb_util.h"
#include "links.h"
#include "pc_commands.h"
#include "releases.h"

int db_health_report(struct db *db, const char *mac, int64_t boot_seq,
		     const char *system, int64_t now)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "INSERT OR REPLACE INTO health(mac, "
			     "boot_seq, unix, system) VALUES(?1, ?2, ?3, ?4)",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, boot_seq);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, system, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* The image's linked PCs (their own image or their group's), of group
 * if given, by name: the canaries are the first ones. */
#define RELEASE_CANDIDATES \
	"SELECT c.mac FROM clients c LEFT JOIN groups g ON g.name = c.grp" \
	" WHERE COALESCE(c.image_id, g.image_id) = ?1 AND (?2 = '' OR" \
	" c.grp = ?2) ORDER BY c.name"

static int pick_canaries(struct db *db, const char *id, const char *group,
			 unsigned want, int pct, char (**macs)[18], size_t *n)
{
	size_t cap = 0, all = 0;
	sqlite3_stmt *st;
	int rc;

	*macs = NULL;
	if ((rc = db_prepare(db, RELEASE_CANDIDATES, &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, group ? group : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (all == cap) {
			char (*nm)[18];

			cap = cap ? cap * 2 : 16;
			if (!(nm = realloc(*macs, cap * sizeof(**macs)))) {
				rc = SQLITE_NOMEM;
				break;
			}
			*macs = nm;
		}
		db_col_text(st, 0, (*macs)[all++], 18);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*macs);
		*macs = NULL;
		return db_errno(rc);
	}
	*n = pct ? (all * want + 99) / 100 : MIN((size_t)want, all);
	return 0;
}

static int start_in_transaction(struct db *db, const char *id, unsigned version,
				char (*macs)[18], size_t n,
				int64_t promote_after, int64_t boot_within,
				int64_t now, int64_t *rid)
{
	char iso[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_time_iso(now, iso);
	if ((rc = db_prepare(db, "INSERT INTO releases(image_id, version, "
			     "started, started_unix, promote_after, "
			     "boot_within) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_text(st, 3, iso, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, promote_after);
	sqlite3_bind_int64(st, 6, boot_within);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	*rid = (int64_t)sqlite3_last_insert_rowid(db_sqlite(db));
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		if ((rc = db_run(db, "INSERT INTO release_pcs(release_id, mac,"
				   " old_version, boot_seq) SELECT ?2, mac, "
				   "version, boot_seq FROM clients WHERE mac = "
				   "?1", macs[i], *rid, 0, NULL)) != 0 ||
		    (rc = db_run(db, "UPDATE clients SET version = ?2 WHERE "
				 "mac = ?1", macs[i], version, 0, NULL)) != 0)
			return rc;
		rc = SQLITE_DONE;
	}
	return 0;
}

int release_start(struct db *db, const char *image, unsigned version,
		  unsigned canary, int pct, const char *group,
		  int64_t promote_after, int64_t boot_within, int64_t *rid,
		  char *why, size_t len)
{
	char id[40], (*macs)[18] = NULL;
	size_t n = 0;
	int rc;

	if ((rc = db_image_id(db, image, id)) != 0)
		return db_why(why, len, rc, "%s: no such image (see `linkboot "
			      "image list`)", image);
	if (db_int(db, "SELECT 1 FROM versions WHERE image_id = ?1 AND "
		    "version = ?2", id, version) != 1)
		return db_why(why, len, ENOENT_LINK_VERSION, "%s has no version "
			      "%u (see `linkboot image versions %s`)", image,
			      version, image);
	if (db_int(db, "SELECT count(*) FROM releases WHERE image_id = ?1 "
		    "AND state = 'running' AND ?2 = ?2", id, 0) > 0)
		return db_why(why, len, -EBUSY, "%s has a release running "
			      "(`linkboot image releases %s`)", image, image);
	if ((rc = pick_canaries(db, id, group, canary, pct, &macs, &n)) != 0)
		return db_why(why, len, rc, "database: %s", err_str(rc));
	if (n == 0) {
		free(macs);
		return db_why(why, len, ENOENT_LINK_CLIENT, "no PC boots %s%s%s: "
			      "no canary to pick", image, group ? " in group " :
			      "", group ? group : "");
	}
	if ((rc = db_begin(db)) == 0) {
		rc = start_in_transaction(db, id, version, macs, n,
					  promote_after, boot_within,
					  (int64_t)time(NULL), rid);
		if (rc == 0)
			rc = db_commit(db);
		if (rc)
			db_rollback(db);
	}
	/* the running canaries reboot into it now; the others at their
	 * next boot */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int64_t cid;

		if (db_int(db, "SELECT 1 FROM sessions WHERE mac = ?1 AND "
			    "lun = ?2", macs[i], 0) == 1)
			cmd_queue(db, macs[i], "reboot", NULL, &cid);
	}
	free(macs);
	return rc ? db_why(why, len, rc, "database: %s", err_str(rc)) : 0;
}

/* A canary's verdict: 1 healthy, 0 not yet, -1 failed (why set). */
static int canary_verdict(struct db *db, int64_t rid, const char *mac,
			  int64_t now, int64_t started, int64_t within,
			  unsigned version, char *why, size_t len)
{
	sqlite3_stmt *st;
	int64_t start_seq = -1, cur = -1, hseq = -1, hunix = 0;
	int64_t ver = -1;
	char sys[32] = "";

	if (db_prepare(db, "SELECT p.boot_seq, c.boot_seq, (SELECT version "
		       "FROM credentials WHERE mac = c.mac AND kind = 'boot' "
		       "AND boot_seq = c.boot_seq), h.boot_seq, h.unix, "
		       "IFNULL(h.system, '') FROM release_pcs p JOIN clients c "
		       "ON c.mac = p.mac LEFT JOIN health h ON h.mac = p.mac "
		       "WHERE p.release_id = ?1 AND p.mac = ?2", &st) != 0)
		return 0;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		start_seq = sqlite3_column_int64(st, 0);
		cur = sqlite3_column_int64(st, 1);
		ver = db_col_is_null(st, 2) ? -1 : sqlite3_column_int64(st, 2);
		hseq = db_col_is_null(st, 3) ? -1 : sqlite3_column_int64(st, 3);
		hunix = sqlite3_column_int64(st, 4);
		db_col_text(st, 5, sys, sizeof(sys));
	}
	sqlite3_finalize(st);
	if (cur > start_seq && ver == version && hseq == cur) {
		if (!strcmp(sys, "degraded") || !strcmp(sys, "failed") ||
		    !strcmp(sys, "maintenance")) {
			snprintf(why, len, "%s: its system is %s on v%u", mac,
				 sys, version);
			return -1;
		}
		if (!strcmp(sys, "running") && now - hunix <= RELEASE_STALE_S)
			return 1;
	}
	if (now - started > within) {
		snprintf(why, len, "%s: no healthy report on v%u within %lld s%s",
			 mac, version, (long long)within, cur > start_seq &&
			 ver == version ? "" : " (it did not boot it)");
		return -1;
	}
	return 0;
}

/* Canaries follow their old pins again; rebooted when rolled back. */
static void release_restore(struct db *db, int64_t rid, int reboot)
{
	sqlite3_stmt *st;

	db_run(db, "UPDATE clients SET version = (SELECT old_version FROM "
		 "release_pcs p WHERE p.release_id = ?2 AND p.mac = "
		 "clients.mac) WHERE mac IN (SELECT mac FROM release_pcs WHERE "
		 "release_id = ?2) AND ?1 = ?1", "", rid, 0, NULL);
	if (!reboot || db_prepare(db, "SELECT mac FROM release_pcs WHERE "
				  "release_id = ?1", &st) != 0)
		return;
	sqlite3_bind_int64(st, 1, rid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char mac[18];
		int64_t cid;

		db_col_text(st, 0, mac, sizeof(mac));
		if (db_int(db, "SELECT 1 FROM sessions WHERE mac = ?1 AND "
			    "lun = ?2", mac, 0) == 1)
			cmd_queue(db, mac, "reboot", NULL, &cid);
	}
	sqlite3_finalize(st);
}

static void release_end(struct db *db, int64_t rid, const char *state,
			const char *reason, int64_t now)
{
	char iso[DB_TIME_LEN];
	sqlite3_stmt *st;

	db_time_iso(now, iso);
	if (db_prepare(db, "UPDATE releases SET state = ?2, reason = ?3, "
		       "ended = ?4 WHERE id = ?1", &st) != 0)
		return;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, iso, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Judge one running release; 1 when it ended. */
static int release_judge(struct db *db, const struct release *r,
			 const char *image_id, int64_t started,
			 int64_t healthy_since, int64_t now)
{
	char why[256] = "", mac[18];
	sqlite3_stmt *st;
	int all = 1, v = 0;

	if (db_prepare(db, "SELECT mac FROM release_pcs WHERE release_id = ?1",
		       &st) != 0)
		return 0;
	sqlite3_bind_int64(st, 1, r->id);
	while (sqlite3_step(st) == SQLITE_ROW && v >= 0) {
		db_col_text(st, 0, mac, sizeof(mac));
		v = canary_verdict(db, r->id, mac, now, started, r->boot_within,
				   r->version, why, sizeof(why));
		all &= v == 1;
	}
	sqlite3_finalize(st);
	if (v < 0) {
		release_restore(db, r->id, 1);
		release_end(db, r->id, "rolled_back", why, now);
		log_warnx("release %s v%u: rolled back: %s", r->image,
			  r->version, why);
		return 1;
	}
	if (!all) {
		db_run(db, "UPDATE releases SET healthy_since = NULL WHERE "
			 "id = ?2 AND ?1 = ?1", "", r->id, 0, NULL);
		return 0;
	}
	if (healthy_since <= 0) {
		db_run(db, "UPDATE releases SET healthy_since = ?3 WHERE "
			 "id = ?2 AND ?1 = ?1", "", r->id, now, NULL);
		return 0;
	}
	if (now - healthy_since < r->promote_after)
		return 0;
	db_run(db, "UPDATE images SET production_version = ?2 WHERE id = ?1",
		 image_id, r->version, 0, NULL);
	release_restore(db, r->id, 0);
	snprintf(why, sizeof(why), "every canary healthy for %lld s",
		 (long long)r->promote_after);
	release_end(db, r->id, "promoted", why, now);
	log_info("release %s v%u: promoted to production: %s", r->image,
		 r->version, why);
	return 1;
}

int release_tick(struct db *db, int64_t now)
{
	sqlite3_stmt *st;
	int ended = 0;
	struct running {
		struct release r;
		char image_id[40];
		int64_t started, healthy_since;
	} *run = NULL;
	size_t n = 0, cap = 0;

	if (db_prepare(db, "SELECT r.id, i.name, i.id, r.version, "
		       "r.started_unix, IFNULL(r.healthy_since, 0), "
		       "r.promote_after, r.boot_within FROM releases r JOIN "
		       "images i ON i.id = r.image_id WHERE r.state = 'running'",
		       &st) != 0)
		return 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct running *r = db_row_next(&run, &n, &cap, sizeof(*run));

		if (!r)
			break;
		r->r.id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, r->r.image, sizeof(r->r.image));
		db_col_text(st, 2, r->image_id, sizeof(r->image_id));
		r->r.version = (unsigned)sqlite3_column_int(st, 3);
		r->started = sqlite3_column_int64(st, 4);
		r->healthy_since = sqlite3_column_int64(st, 5);
		r->r.promote_after = sqlite3_column_int64(st, 6);
		r->r.boot_within = sqlite3_column_int64(st, 7);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++)
		ended += release_judge(db, &run[i].r, run[i].image_id,
				       run[i].started, run[i].healthy_since, now);
	free(run);
	return ended;
}

int release_list(struct db *db, const char *image, struct release **rows,
		 size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = db_prepare(db, "SELECT r.id, i.name, r.version, r.state, "
			     "IFNULL(r.reason, ''), r.started, (SELECT count(*) "
			     "FROM release_pcs p WHERE p.release_id = r.id), "
			     "r.promote_after, r.boot_within FROM releases r "
			     "JOIN images i ON i.id = r.image_id WHERE ?1 = '' "
			     "OR i.name = ?1 ORDER BY r.id DESC", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct release *r = db_row_next(rows, n, &cap, sizeof(**rows));

		if (!r) {
			rc = SQLITE_NOMEM;
			break;
		}
		r->id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, r->image, sizeof(r->image));
		r->version = (unsigned)sqlite3_column_int(st, 2);
		db_col_text(st, 3, r->state, sizeof(r->state));
		db_col_text(st, 4, r->reason, sizeof(r->reason));
		db_col_text(st, 5, r->started, sizeof(r->started));
		r->canaries = (unsigned)sqlite3_column_int(st, 6);
		r->promote_after = sqlite3_column_int64(st, 7);
		r->boot_within = sqlite3_column_int64(st, 8);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}
