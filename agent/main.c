/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linkboot-agent: the client's /init and disk daemon (filled by the agent issue). */

#include <stdio.h>

#include "lb_log.h"
#include "version.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_init("linkboot-agent", LOG_LEVEL_INFO);
	printf("linkboot-agent %s\n", LINKBOOT_VERSION);
	return 0;
}
