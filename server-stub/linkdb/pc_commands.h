/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_PC_COMMANDS_H
#define LB_PC_COMMANDS_H

/*
 * Commands to running PCs: `linkboot client reboot|poweroff|message`
 * queues one for the PC's current boot; its agent fetches it (GET
 * /control with the boot's credential), acknowledges it (POST /control),
 * then carries it out. A command belongs to the boot it was given in:
 * when the PC boots again it expires, so a reboot queued for a PC that
 * is off never reboots its next boot. Kept in the link DB: a server
 * restart loses none.
 */

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define CMD_TEXT_MAX	200

struct pc_command {
	int64_t id;
	char mac[18];
	char kind[16];			/* reboot | poweroff | message */
	char text[CMD_TEXT_MAX + 1];
	char state[16];			/* pending | delivered | acked | expired */
	char created[24], acked[24];
};

/* "reboot", "poweroff", "message": 0, else -EINVAL. */
int cmd_kind_ok(const char *kind);

/* Queue kind (text for a message) for mac's current boot: 0 and *id;
 * -ENOENT: not a linked client; -EINVAL: bad kind or text. */
int cmd_queue(struct db *db, const char *mac, const char *kind,
	      const char *text, int64_t *id);

/* The oldest command not yet acknowledged for mac's boot boot_seq (it is
 * now delivered): 0, or -ENOENT when there is none. Commands of earlier
 * boots expire. */
int cmd_next(struct db *db, const char *mac, int64_t boot_seq,
	     struct pc_command *out);

/* mac's agent acknowledged command id: 0 (also when it already was),
 * -ENOENT: no such command of mac's. */
int cmd_ack(struct db *db, const char *mac, int64_t id);

/* Commands of mac ("" = every PC), newest first, at most max; *rows:
 * free(). 0 or -errno. */
int cmd_list(struct db *db, const char *mac, size_t max,
	     struct pc_command **rows, size_t *n);

/* One command's state now: 0 and state, or -ENOENT. */
int cmd_state(struct db *db, int64_t id, char state[16]);

#endif
