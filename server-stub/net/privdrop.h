/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_PRIVDROP_H
#define LB_PRIVDROP_H

/*
 * Privilege separation of `linkboot serve`, in two steps like OpenBSD
 * tftpd's main(): privdrop_init() before anything is opened (so a wrong
 * --user fails at once), privdrop_apply() once every socket is bound and
 * every file that needs root is open:
 *
 *   1. chown the state tree (and --store) to the user, walking dirfds
 *      without following symlinks;
 *   2. setgroups (the user's groups), setresgid, setresuid; setuid(0)
 *      must then fail;
 *   3. PR_SET_NO_NEW_PRIVS;
 *   4. Landlock: read-write state and store, read-only served dirs and
 *      config, the files the loaded binary needs to exec itself again
 *      (boot pack builds), /proc/net/arp; nothing else.
 *
 * Which user: --user USER; as root without it, `linkboot` if that user
 * exists, else root is kept with a warning (`--user root` keeps it
 * quietly). Started unprivileged (systemd User=), only steps 3-4 run.
 */

#include "server.h"

/* Resolve the user to drop to (0, or -errno after logging why). */
int privdrop_init(struct lb_server *srv);

/* Drop (0, or -errno after logging why: the server must not run on). */
int privdrop_apply(struct lb_server *srv);

/*
 * For the other commands, run as root while the server runs as its user:
 * give what root just created in the state tree (image files, boot
 * packs) to the owner of the state directory, so the server can open it.
 * Nothing when not root or when root owns the state directory.
 */
void privdrop_give_state(const struct lb_config *cfg);

/* Free what privdrop_init() allocated. */
void privdrop_free(struct lb_server *srv);

/* A hint for an EACCES the sandbox may have caused ("" when none). */
const char *privdrop_hint(const struct lb_server *srv);

#endif
