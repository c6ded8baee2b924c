/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_RA_H
#define LB_RA_H

/*
 * IPv6 router-solicitation responder (--router-advert, default on).
 * iPXE waits ~15 s at "Configuring" for a router advertisement; answering
 * each RS with an RA that advertises nothing (router lifetime 0, no prefix,
 * RFC 4861 §4.2) ends that wait. Needs CAP_NET_RAW: without it (or without
 * IPv6) one warning is logged and the server runs on without it.
 */

#include "server.h"

int ra_start(struct lb_server *srv);
void ra_stop(struct lb_server *srv);

#endif
