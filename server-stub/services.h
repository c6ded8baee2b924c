/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SERVICES_H
#define LB_SERVICES_H

/*
 * The protocol modules `linkboot serve` runs, in start order. Each module
 * adds its line here and declares its start/stop below.
 */

#include "server.h"

#define SERVICES_TABLE \
	/* { "dhcp", dhcp_start, dhcp_stop }, */

#endif
