/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_RELEASES_H
#define LB_RELEASES_H

/*
 * Canary releases: `linkboot image release NAME VERSION --canary N|P%`
 * pins a few of the image's PCs (of a group, if given) to the new
 * version and asks the running ones to reboot (pc_commands.h); the
 * others never see it. Their agents report health (POST /health: the
 * image's systemd state, or its ready marker). The server's tick
 * judges:
 *   every canary booted the version and is healthy (system running, a
 *   report in the last RELEASE_STALE_S) for promote_after seconds
 *     -> the version becomes production, the canaries follow it again
 *   one canary failed: its system degraded/failed/maintenance, or no
 *   healthy report within boot_within seconds of the release's start
 *     -> rolled back: the canaries get their old pins back and reboot
 * Either way a log line and `linkboot image releases` / `status` say
 * which and why.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define RELEASE_STALE_S		90	/* a heartbeat older is no health */
#define RELEASE_BOOT_WITHIN_S	600	/* default bound to boot and report */

struct release {
	int64_t id;
	char image[64];
	unsigned version;
	char state[16];			/* running | promoted | rolled_back */
	char reason[256];
	char started[24];
	unsigned canaries, healthy;
	int64_t promote_after, boot_within;
};

/* Start a release of image version (canary: count, or percent when pct),
 * of the image's PCs in group (NULL: all of them). 0 and *id; tagged
 * error + why. */
int release_start(struct db *db, const char *image, unsigned version,
		  unsigned canary, int pct, const char *group,
		  int64_t promote_after, int64_t boot_within, int64_t *id,
		  char *why, size_t why_len);

/* Judge every running release at now (Unix seconds); the server's tick.
 * Returns how many ended. */
int release_tick(struct db *db, int64_t now);

/* Releases, newest first (image "": all). *rows: free(). */
int release_list(struct db *db, const char *image, struct release **rows,
		 size_t *n);

/* An agent's health report for mac's boot boot_seq: system is systemd's
 * state word ("running", "degraded", ...). 0 or -errno. */
int db_health_report(struct db *db, const char *mac, int64_t boot_seq,
		     const char *system, int64_t now);

#endif
