/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_DB_INTERNAL_H
#define LB_DB_INTERNAL_H

/*
 * The link DB as the CLI and the image store see it: the raw SQLite handle,
 * transactions, time stamps, random IDs, and the operations on client links
 * that need more than one statement. Protocol modules use db.h only.
 *
 * Built-in defaults (the last step of client -> group -> image -> built-in):
 * RAM cache 64 MiB (small enough for a 512 MiB PC or QEMU guest, and it
 * holds the blocks a Linux boot reads twice), SSD cache off (a local
 * partition is opt-in: it is wiped and reused), write mode ram (restore on
 * reboot, as users of CCBoot and LTSP expect).
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct lb_server;
struct sqlite3;

#define DB_FILE_NAME		"linkboot.db"
#define DB_LOCK_NAME		"linkboot.pid"	/* flock'ed by `serve` */
#define DB_DEFAULT_RAM_CACHE_MIB 64
#define DB_DEFAULT_MENU_TIMEOUT 5	/* seconds */
#define DB_DEFAULT_SSD_CACHE	"off"
#define DB_DEFAULT_WRITE_MODE	WRITE_RAM
#define DB_EVENTS_KEEP		10000	/* rows kept in events */
#define DB_TIME_LEN		21	/* "2026-11-25T15:50:03Z" + NUL */
#define DB_TOKEN_HEX		32	/* tokens, machine IDs: 32 hex digits */

struct sqlite3 *db_sqlite(struct db *db);
const char *db_state_dir(const struct db *db);

/* Image files live in the store dir: --store, else <state>/store. */
const char *db_store_dir(const struct db *db);
int db_set_store_dir(struct db *db, const char *dir);

/* Open a DB file by path (restore, tests). Same checks as db_open(). */
int db_open_path(const char *path, struct db **out);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or -errno. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Prepare one statement; 0 or -errno (the SQLite message is logged). */
struct sqlite3_stmt;
int db_prepare(struct db *db, const char *sql, struct sqlite3_stmt **st);

/*
 * The same for a statement the daemon runs for every connection (a boot
 * storm runs each hundreds of times a second): prepared once and kept,
 * keyed by the address of sql, which must be a string literal. Give it
 * back with db_unprepare(), never sqlite3_finalize(); a statement already
 * in use is prepared afresh and finalized there.
 */
int db_prepare_kept(struct db *db, const char *sql, struct sqlite3_stmt **st);
void db_unprepare(struct db *db, struct sqlite3_stmt *st);
/* Column text into out (size bytes, "" for NULL); is the column NULL? */
void db_col_text(struct sqlite3_stmt *st, int col, char *out, size_t size);
/* The next zeroed row of a growing array (*rows, *n used, *cap room, rows
 * of size bytes): its address, *n counted; NULL when out of memory (the
 * array is left as it was). */
void *db_row_next(void *rows, size_t *n, size_t *cap, size_t size);
/* One statement with text ?1 and ?4 (NULL: "") and integers ?2, ?3:
 * 0 or -errno. */
int db_run(struct db *db, const char *sql, const char *t, int64_t a,
	   int64_t b, const char *t2);
/* The first column of a query with text ?1 and integer ?2 as an integer
 * (-1: no row, NULL or an error). */
int64_t db_int(struct db *db, const char *sql, const char *t, int64_t a);
int db_col_is_null(struct sqlite3_stmt *st, int col);

/* Run SQL without results; 0 or -errno (the SQLite message is logged). */
int db_exec(struct db *db, const char *sql);

/* SQLite result code -> -errno (BUSY -> EBUSY_DB_LOCKED, CONSTRAINT ->
 * -EEXIST...). */
int db_errno(int sqlite_rc);

/* Current time as ISO-8601 UTC, out[DB_TIME_LEN]. */
void db_now_iso(char *out);
void db_time_iso(int64_t unix_secs, char *out);

/* nhex random lower-case hex digits (getrandom) + NUL; 0 or -errno. */
int db_random_hex(char *out, size_t nhex);

/*
 * The reason for an admin, for operations that take "char *why, size_t
 * why_len" (links.h, image_ops.h): format it into why when why is not
 * NULL; return rc, so a refusal is one line: return db_why(why, len,
 * ENOENT_LINK_IMAGE, "--image '%s': no such image", name);
 */
int db_why(char *why, size_t why_len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));


/*
 * clients.super_token: NULL = no grant; "pending" = the next boot writes
 * the next version; "bound:<hash>" = the boot of that credential does
 * (credential.c takes the grant when the boot begins).
 */
#define DB_SUPER_PENDING	"pending"
#define DB_SUPER_BOUND		"bound:"

/*
 * Mark a client the super client of its image with a grant that its next
 * boot takes (credential.h), or clear both (on == 0); its own transaction
 * (links.c; link_super() is the same with a reason for the admin).
 * -ENOENT unknown MAC or no image, -EBUSY another client of the same image
 * is the super client (its MAC in busy_mac[18] if given).
 */
int db_client_super(struct db *db, const char *mac, int on, char *busy_mac);

/* The effective image ID of a client (client's, else its group's). */
int db_client_image(struct db *db, const char *mac, char *image_id,
		    size_t size);

/* Is a `linkboot serve` holding this state dir? pid or 0, -errno. */
int db_server_pid(const char *state_dir);

/* `linkboot serve` "db" service slot (services.h). */
int db_service_start(struct lb_server *srv);
void db_service_stop(struct lb_server *srv);

#endif
