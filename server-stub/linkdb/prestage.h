/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_PRESTAGE_H
#define LB_PRESTAGE_H

/*
 * Overnight pre-staging: `linkboot image prestage NAME VERSION --at HH:MM`
 * fills the SSD caches of the image's PCs with the version before anyone
 * boots it, so the morning's boots read it from their own disks.
 *
 * At the time given, the server's tick wakes the PCs one by one (a magic
 * packet every `stagger` seconds, so a room does not storm the server).
 * A woken PC's next boot script carries linkboot.prestage=NAME@VERSION:
 * its agent fetches the version's block-hash table, reads from the server
 * only the blocks its SSD cache lacks (by content hash, so blocks shared
 * with the version it already has cost nothing), reports what it did
 * (POST /prestage) and powers the PC off. Its root is never mounted,
 * nothing is written, its link is not changed.
 *
 * A PC is skipped, with the reason kept, when it is running (someone may
 * be using it), boots from a SAN disk (no agent, no cache), has its SSD
 * cache off, or is its image's super client (its next boot writes the
 * next version). A woken PC that does not report within
 * PRESTAGE_REPORT_WITHIN_S has failed. When no PC is left pending or
 * woken, the run is done and one log line sums it up.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define PRESTAGE_REPORT_WITHIN_S	1800	/* boot + fill + report */
#define PRESTAGE_STAGGER_S		10	/* default between two PCs */

/* One PC of a run as `linkboot image prestages` shows it. */
struct prestage_pc {
	int64_t id;		/* the run */
	char image[64];
	unsigned version;
	char at[24];		/* ISO-8601 UTC: when the waking starts */
	char run_state[16];	/* scheduled | running | done */
	char mac[18];
	char name[64];
	char state[16];		/* pending | woken | done | failed | skipped */
	int64_t fetched, bytes, had;	/* -1: not reported */
	char reason[192];
};

/* What an agent reports when it is done (POST /prestage). */
struct prestage_report {
	int ok;			/* 0: failed, error says why */
	uint64_t fetched;	/* blocks read from the server */
	uint64_t bytes;		/* their bytes */
	uint64_t had;		/* blocks its SSD cache already held */
	char error[160];
};

/* Sends a magic packet to mac (and to its link's wake subnet, "" =
 * none); >0 on success, <0 -errno. */
typedef int (*prestage_wake_fn)(void *arg, const uint8_t mac[6],
				const char *subnet);

/* Schedule image version for the image's PCs (of group, if given) at
 * at_unix, stagger seconds apart. 0 with *id and *npcs; else a tagged
 * error and why. */
int prestage_start(struct db *db, const char *image, unsigned version,
		   int64_t at_unix, const char *group, unsigned stagger,
		   int64_t *id, unsigned *npcs, char *why, size_t why_len);

/* Start the runs that are due and wake their PCs; the server's tick. */
void prestage_tick(struct db *db, int64_t now, prestage_wake_fn wake,
		   void *arg);

/* The version mac's next boot stages, of image_id: 0 with *version, or
 * -ENOENT when it is not woken for a pre-staging. */
int db_prestage_lookup(struct db *db, const char *mac, const char *image_id,
		       unsigned *version);

/* The woken PC mac reports; -ENOENT when it was not woken for one. */
int db_prestage_report(struct db *db, const char *mac,
		       const struct prestage_report *r);

/* The PCs of every run (image "": all images), newest run first.
 * *rows: free(). */
int prestage_list(struct db *db, const char *image, struct prestage_pc **rows,
		  size_t *n);

#endif
