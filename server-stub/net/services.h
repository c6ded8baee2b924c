/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SERVICES_H
#define LB_SERVICES_H

/*
 * The protocol modules `linkboot serve` runs, in start order (stopped in
 * reverse). Each module owns one slot below: uncomment it and declare the
 * start/stop (and reload, if it copies live options) functions in its own
 * header, included here.
 */

#include "server.h"

#define SERVICES_TABLE \
	{ "db", db_service_start, db_service_stop, NULL }, \
	/* -- */ \
	{ "auth", boot_auth_start, boot_auth_stop, boot_auth_reload }, \
	/* -- */ \
	{ "dhcp", dhcp_start, dhcp_stop, dhcp_reload }, \
	/* -- */ \
	{ "ra", ra_start, ra_stop, NULL }, \
	/* -- */ \
	{ "tftp", tftp_start, tftp_stop, tftp_reload }, \
	/* -- */ \
	{ "http", http_start, http_stop, http_reload }, \
	/* -- */ \
	{ "nbd", nbd_start, nbd_stop, NULL }, \
	/* -- */

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

#endif
