/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SERVICES_H
#define LB_SERVICES_H

/*
 * The protocol modules `linkboot serve` runs, in start order (stopped in
 * reverse). Each module owns one slot below: uncomment it and declare the
 * start/stop functions in its own header, included here.
 */

#include "server.h"

#define SERVICES_TABLE \
	{ "db", db_service_start, db_service_stop }, \
	/* -- */ \
	{ "auth", boot_auth_start, boot_auth_stop }, \
	/* -- */ \
	{ "dhcp", dhcp_start, dhcp_stop }, \
	/* -- */ \
	{ "ra", ra_start, ra_stop }, \
	/* -- */ \
	{ "tftp", tftp_start, tftp_stop }, \
	/* -- */ \
	{ "http", http_start, http_stop }, \
	/* -- */ \
	{ "nbd", nbd_start, nbd_stop }, \
	/* -- */ \
	{ "iscsi", iscsi_start, iscsi_stop }, \
	/* -- */

/*
 * After SIGHUP changed live options in srv->cfg (config.c's table says
 * which are live), these re-read what their module copied from srv->cfg
 * at start; each does nothing if its service is off. They cannot fail: a
 * value one cannot use is logged and the old one kept. A module whose live
 * options are all read from srv->cfg where used needs none.
 */
#define SERVICES_RELOAD \
	boot_auth_reload, \
	dhcp_reload, \
	tftp_reload, \
	http_reload,

/* db module headers */
#include "db_internal.h"

/* auth module headers */
#include "boot_auth.h"

/* dhcp module headers */
#include "dhcp.h"

/* ra module headers */
#include "ra.h"

/* tftp module headers */
#include "tftp.h"

/* http module headers */
#include "http.h"

/* nbd module headers */
#include "nbd.h"

/* iscsi module headers */
#include "iscsi.h"

#endif
