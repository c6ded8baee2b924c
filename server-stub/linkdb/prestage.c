/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Overnight pre-staging of an image version; see prestage.h. */

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
#include "prestage.h"

/* The image's linked PCs (their own image or their group's), of group if
 * given: the same set a canary release picks from. */
#define PRESTAGE_PCS \
	"INSERT INTO prestage_pcs(prestage_id, mac) SELECT ?2, c.mac FROM" \
	" clients c LEFT JOIN groups g ON g.name = c.grp WHERE" \
	" COALESCE(c.image_id, g.image_id) = ?1 AND (?4 = '' OR c.grp = ?4)"

static int start_in_transaction(struct db *db, const char *id,
				unsigned version, int64_t at_unix,
				const char *group, unsigned stagger,
				int64_t *psid)
{
	char iso[DB_TIME_LEN];
	sqlite3_stmt *st;
	int rc;

	db_time_iso((int64_t)time(NULL), iso);
	if ((rc = db_prepare(db, "INSERT INTO prestages(image_id, version, "
			     "at_unix, stagger, created) VALUES(?1, ?2, ?3, "
			     "?4, ?5)", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_int64(st, 3, at_unix);
	sqlite3_bind_int64(st, 4, stagger);
	sqlite3_bind_text(st, 5, iso, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	*psid = (int64_t)sqlite3_last_insert_rowid(db_sqlite(db));
	return db_run(db, PRESTAGE_PCS, id, *psid, 0, group);
}

int prestage_start(struct db *db, const char *image, unsigned version,
		   int64_t at_unix, const char *group, unsigned stagger,
		   int64_t *psid, unsigned *npcs, char *why, size_t len)
{
	char id[40];
	int64_t n;
	int rc;

	if ((rc = db_image_id(db, image, id)) != 0)
		return db_why(why, len, rc, "%s: no such image (see `linkboot "
			      "image list`)", image);
	if (db_int(db, "SELECT 1 FROM versions WHERE image_id = ?1 AND "
		   "version = ?2", id, version) != 1)
		return db_why(why, len, ENOENT_LINK_VERSION, "%s has no version "
			      "%u (see `linkboot image versions %s`)", image,
			      version, image);
	if (db_int(db, "SELECT count(*) FROM prestages WHERE image_id = ?1 "
		   "AND state != 'done' AND ?2 = ?2", id, 0) > 0)
		return db_why(why, len, -EBUSY, "%s has a pre-staging scheduled "
			      "or running (`linkboot image prestages %s`)",
			      image, image);
	if (group && db_int(db, "SELECT 1 FROM groups WHERE name = ?1 AND "
			    "?2 = ?2", group, 0) != 1)
		return db_why(why, len, ENOENT_LINK_GROUP, "%s: no such group",
			      group);
	if ((rc = db_begin(db)) != 0)
		return db_why(why, len, rc, "database: %s", err_str(rc));
	rc = start_in_transaction(db, id, version, at_unix, group, stagger,
				  psid);
	n = rc ? 0 : db_int(db, "SELECT count(*) FROM prestage_pcs WHERE "
			    "prestage_id = ?2 AND ?1 = ?1", "", *psid);
	if (rc == 0 && n <= 0)
		rc = ENOENT_LINK_CLIENT;
	if (rc == 0)
		rc = db_commit(db);
	if (rc) {
		db_rollback(db);
		if (rc == ENOENT_LINK_CLIENT)
			return db_why(why, len, rc, "no PC boots %s%s%s: nothing "
				      "to pre-stage", image, group ?
				      " in group " : "", group ? group : "");
		return db_why(why, len, rc, "database: %s", err_str(rc));
	}
	*npcs = (unsigned)n;
	return 0;
}

/* ---- the tick ---------------------------------------------------------- */

static void pc_set(struct db *db, int64_t psid, const char *mac,
		   const char *state, const char *reason, int64_t woken)
{
	sqlite3_stmt *st;

	if (db_prepare(db, "UPDATE prestage_pcs SET state = ?3, reason = ?4, "
		       "woken_unix = CASE WHEN ?5 > 0 THEN ?5 ELSE woken_unix "
		       "END WHERE prestage_id = ?1 AND mac = ?2", &st) != 0)
		return;
	sqlite3_bind_int64(st, 1, psid);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	if (reason)
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, woken);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Why mac cannot stage image_id now (a sentence), or NULL: it can (its
 * link in *li). */
static const char *skip_reason(struct db *db, const char *mac,
			       const char *image_id, struct link_info *out)
{
	struct link_info li;
	uint8_t hw[6];

	if (mac_parse(mac, hw) != 0 || db_link_lookup(db, hw, &li) != 0)
		return "not linked any more";
	*out = li;
	if (strcmp(li.image_id, image_id) != 0)
		return "linked to another image now";
	if (li.boot_mode == BOOT_SAN)
		return "boots from a SAN disk: no agent, no cache to fill";
	if (!strcmp(li.ssd_cache, "off"))
		return "its SSD cache is off (--ssd-cache off)";
	if (db_int(db, "SELECT super FROM clients WHERE mac = ?1 AND ?2 = ?2",
		   mac, 0) == 1)
		return "the image's super client: its next boot writes the "
		       "next version";
	if (db_int(db, "SELECT 1 FROM sessions WHERE mac = ?1 AND lun = ?2",
		   mac, 0) == 1)
		return "running: someone may be using it";
	return NULL;
}

struct ps_run {
	int64_t id, stagger;
	char image[64], image_id[40];
	unsigned version;
};

/* Wake the next pending PCs of run r whose turn has come. */
static void wake_pending(struct db *db, const struct ps_run *r, int64_t now,
			 prestage_wake_fn wake, void *arg)
{
	struct link_info li;
	char mac[18];
	uint8_t hw[6];

	for (int guard = 0; guard < 10000; guard++) {
		int64_t last = db_int(db, "SELECT max(woken_unix) FROM "
				      "prestage_pcs WHERE prestage_id = ?2 AND "
				      "?1 = ?1", "", r->id);
		const char *skip;
		sqlite3_stmt *st;
		int rc;

		if (last > 0 && now - last < r->stagger)
			return;
		if (db_prepare(db, "SELECT mac FROM prestage_pcs WHERE "
			       "prestage_id = ?1 AND state = 'pending' ORDER BY "
			       "mac LIMIT 1", &st) != 0)
			return;
		sqlite3_bind_int64(st, 1, r->id);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			db_col_text(st, 0, mac, sizeof(mac));
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return;
		if ((skip = skip_reason(db, mac, r->image_id, &li))) {
			pc_set(db, r->id, mac, "skipped", skip, 0);
			log_info("prestage %s v%u: %s skipped: %s", r->image,
				 r->version, mac, skip);
			continue;
		}
		mac_parse(mac, hw);
		if ((rc = wake(arg, hw, li.wake_subnet)) <= 0) {
			char why[128];

			snprintf(why, sizeof(why), "no magic packet sent: %s",
				 err_str(rc));
			pc_set(db, r->id, mac, "failed", why, now);
			log_warnx("prestage %s v%u: %s: %s", r->image,
				  r->version, mac, why);
			continue;
		}
		pc_set(db, r->id, mac, "woken", NULL, now);
		log_info("prestage %s v%u: %s woken (magic packet)", r->image,
			 r->version, mac);
	}
}

/* Woken PCs silent for too long have failed; the run ends when no PC is
 * pending or woken. */
static void judge_run(struct db *db, const struct ps_run *r, int64_t now)
{
	char iso[DB_TIME_LEN], why[96];
	sqlite3_stmt *st;

	snprintf(why, sizeof(why), "no report within %d s of its magic packet "
		 "(did it wake? `linkboot why MAC`)", PRESTAGE_REPORT_WITHIN_S);
	if (db_prepare(db, "UPDATE prestage_pcs SET state = 'failed', reason = "
		       "?3 WHERE prestage_id = ?1 AND state = 'woken' AND "
		       "woken_unix + ?2 < ?4", &st) == 0) {
		sqlite3_bind_int64(st, 1, r->id);
		sqlite3_bind_int64(st, 2, PRESTAGE_REPORT_WITHIN_S);
		sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (db_int(db, "SELECT count(*) FROM prestage_pcs WHERE prestage_id = "
		   "?2 AND state IN ('pending', 'woken') AND ?1 = ?1", "",
		   r->id) != 0)
		return;
	db_time_iso(now, iso);
	db_run(db, "UPDATE prestages SET state = 'done', ended = ?4 WHERE "
		"id = ?2 AND ?1 = ?1 AND ?3 = ?3", "", r->id, 0, iso);
	log_info("prestage %s v%u: done: %lld staged, %lld failed, %lld "
		 "skipped (`linkboot image prestages %s`)", r->image,
		 r->version,
		 (long long)db_int(db, "SELECT count(*) FROM prestage_pcs WHERE "
				   "prestage_id = ?2 AND state = ?1", "done",
				   r->id),
		 (long long)db_int(db, "SELECT count(*) FROM prestage_pcs WHERE "
				   "prestage_id = ?2 AND state = ?1", "failed",
				   r->id),
		 (long long)db_int(db, "SELECT count(*) FROM prestage_pcs WHERE "
				   "prestage_id = ?2 AND state = ?1", "skipped",
				   r->id),
		 r->image);
}

void prestage_tick(struct db *db, int64_t now, prestage_wake_fn wake,
		   void *arg)
{
	struct ps_run *runs = NULL;
	sqlite3_stmt *st;
	size_t n = 0, cap = 0;

	if (db_prepare(db, "SELECT p.id, p.stagger, i.name, i.id, p.version, "
		       "p.state FROM prestages p JOIN images i ON i.id = "
		       "p.image_id WHERE p.state = 'running' OR (p.state = "
		       "'scheduled' AND p.at_unix <= ?1)", &st) != 0)
		return;
	sqlite3_bind_int64(st, 1, now);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ps_run *r = db_row_next(&runs, &n, &cap, sizeof(*runs));

		if (!r)
			break;
		r->id = sqlite3_column_int64(st, 0);
		r->stagger = sqlite3_column_int64(st, 1);
		db_col_text(st, 2, r->image, sizeof(r->image));
		db_col_text(st, 3, r->image_id, sizeof(r->image_id));
		r->version = (unsigned)sqlite3_column_int(st, 4);
		if (!strcmp((const char *)sqlite3_column_text(st, 5),
			    "scheduled"))
			log_info("prestage %s v%u: waking its PCs, %lld s apart",
				 r->image, r->version, (long long)r->stagger);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		db_run(db, "UPDATE prestages SET state = 'running' WHERE id = "
			"?2 AND ?1 = ?1 AND ?3 = ?3", "", runs[i].id, 0, NULL);
		wake_pending(db, &runs[i], now, wake, arg);
		judge_run(db, &runs[i], now);
	}
	free(runs);
}

/* ---- the PCs' side ----------------------------------------------------- */

#define PRESTAGE_WOKEN \
	" FROM prestage_pcs pp JOIN prestages p ON p.id = pp.prestage_id" \
	" WHERE pp.mac = ?1 AND pp.state = 'woken' AND p.state = 'running'"

int db_prestage_lookup(struct db *db, const char *mac, const char *image_id,
		       unsigned *version)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = db_prepare(db, "SELECT p.version" PRESTAGE_WOKEN
			     " AND p.image_id = ?2", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, image_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = (unsigned)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT :
	       db_errno(rc);
}

int db_prestage_report(struct db *db, const char *mac,
		       const struct prestage_report *r)
{
	int64_t psid = db_int(db, "SELECT p.id" PRESTAGE_WOKEN " AND ?2 = ?2",
			      mac, 0);
	sqlite3_stmt *st;
	int rc;

	if (psid < 0)
		return -ENOENT;
	if ((rc = db_prepare(db, "UPDATE prestage_pcs SET state = ?3, "
			     "fetched = ?4, bytes = ?5, had = ?6, reason = ?7 "
			     "WHERE prestage_id = ?1 AND mac = ?2", &st)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, psid);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->ok ? "done" : "failed", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)r->fetched);
	sqlite3_bind_int64(st, 5, (int64_t)r->bytes);
	sqlite3_bind_int64(st, 6, (int64_t)r->had);
	if (r->ok)
		sqlite3_bind_null(st, 7);
	else
		sqlite3_bind_text(st, 7, r->error, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int prestage_list(struct db *db, const char *image, struct prestage_pc **rows,
		  size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = db_prepare(db, "SELECT p.id, i.name, p.version, p.at_unix, "
			     "p.state, pp.mac, IFNULL(c.name, ''), pp.state, "
			     "IFNULL(pp.fetched, -1), IFNULL(pp.bytes, -1), "
			     "IFNULL(pp.had, -1), IFNULL(pp.reason, '') FROM "
			     "prestages p JOIN images i ON i.id = p.image_id "
			     "JOIN prestage_pcs pp ON pp.prestage_id = p.id "
			     "LEFT JOIN clients c ON c.mac = pp.mac WHERE ?1 = "
			     "'' OR i.name = ?1 ORDER BY p.id DESC, c.name",
			     &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, image, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct prestage_pc *r = db_row_next(rows, n, &cap,
						    sizeof(**rows));

		if (!r) {
			rc = SQLITE_NOMEM;
			break;
		}
		r->id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, r->image, sizeof(r->image));
		r->version = (unsigned)sqlite3_column_int(st, 2);
		db_time_iso(sqlite3_column_int64(st, 3), r->at);
		db_col_text(st, 4, r->run_state, sizeof(r->run_state));
		db_col_text(st, 5, r->mac, sizeof(r->mac));
		db_col_text(st, 6, r->name, sizeof(r->name));
		db_col_text(st, 7, r->state, sizeof(r->state));
		r->fetched = sqlite3_column_int64(st, 8);
		r->bytes = sqlite3_column_int64(st, 9);
		r->had = sqlite3_column_int64(st, 10);
		db_col_text(st, 11, r->reason, sizeof(r->reason));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}
