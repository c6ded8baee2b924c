/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_BOOTPACK_BUILD_H
#define LB_BOOTPACK_BUILD_H

/*
 * Boot packs, server side: the blocks a version's first boot read, which
 * agents stream into their cache before they need them.
 *
 * Recording: the NBD server calls bp_trace_begin() when a client's token
 * session enters transmission, bp_trace_read() for every READ,
 * bp_trace_tick() from its ticker and bp_trace_end() at close. The 64 KiB
 * blocks read in the first --boot-trace-seconds (default 60) are written,
 * in first-read order, one decimal block number a line, to
 * <state>/boot/<image_id>/v<N>/boot.trace when the window ends (or the
 * session, if sooner) — once per version (its first client boot); later
 * boots are not traced. Then a detached child builds the pack (the event
 * loop never compresses).
 *
 * Building: bootpack_build() reads the trace's blocks from the version's
 * files and writes <state>/boot/<image_id>/v<N>/boot.pack (lib/bootpack.h),
 * served over HTTP beside the block-hash table. image_pack() (`linkboot
 * image pack NAME`) runs it; image_commit() runs it for the new version
 * with the previous version's trace (a boot reads the same places), kept
 * in the new version's boot.trace.base. The new version's own first boot is still
 * traced and the pack rebuilt from both traces: that boot ran on a PC
 * whose SSD already held the parent's blocks (content-keyed), so its own
 * trace holds only the blocks that changed.
 *
 * The trace is what the agent fetched, not what the kernel read: blocks
 * it found in its SSD are not in it (hence bp_trace_left_ms()), nor
 * all-zero blocks, which agents answer from the block-hash table.
 */

#include <stdint.h>

#include "db.h"

#define BP_BLOCK_SIZE 65536u	/* = the block-hash table's */

struct lb_config;
struct bp_trace;

struct bp_trace *bp_trace_begin(const struct lb_config *cfg,
				const struct export_info *ex, uint64_t size);
void bp_trace_read(struct bp_trace *t, uint64_t off, uint32_t len);
/*
 * GET /boottrace?mac=MAC (http.c): is this client's boot being traced
 * now? ms left of its window, or 0. The agent of the traced boot then
 * reads past its SSD for the window: the trace lists what the server
 * sends, so blocks the SSD already held (it is keyed by content: other
 * versions, other images) would be missing from it, and from the pack.
 */
int64_t bp_trace_left_ms(const char *mac, int64_t now);

/* From the NBD ticker: at the window's end the trace is written (and the
 * pack built) even if the client reads nothing more and stays up for
 * hours. Returns when to call again (absolute ms), or -1. */
int64_t bp_trace_tick(struct bp_trace *t, int64_t now);
void bp_trace_end(struct bp_trace *t);

/*
 * Build the pack of (image_id, version) from the trace of trace_version
 * (0: the same version). 0 or -errno (-ENOENT: no trace yet); *nblocks and
 * *bytes say what was written.
 */
int bootpack_build(struct db *db, const char *image_id, unsigned version,
		   unsigned trace_version, uint64_t *nblocks, uint64_t *bytes);

/* Write <hashes_path>.idx (lib/hashidx.h) for a block-hash table. */
int hashidx_write(const char *hashes_path);

#endif
