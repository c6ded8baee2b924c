/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_TFTP_H
#define LB_TFTP_H

/*
 * The TFTP service of `linkboot serve`: read-only, files from files_open(),
 * one socket (TID) per transfer, options blksize/tsize/timeout/windowsize.
 * A request for a boot loader that comes from iPXE itself is answered with
 * a generated `#!ipxe` script that chains the HTTP boot script, so that a
 * router's fixed options 66/67 never make the chain loop.
 */

#include "server.h"

int tftp_start(struct lb_server *srv);
void tftp_stop(struct lb_server *srv);
/* SIGHUP: the loader names again. */
void tftp_reload(struct lb_server *srv);

#endif
