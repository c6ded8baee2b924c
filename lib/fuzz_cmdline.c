/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the agent's kernel command line parser (lib/cmdline.c). */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmdline.h"
#include "lb_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[8192];
	static struct agent_cfg cfg;
	char err[256];

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	log_set_level(LOG_LEVEL_ERR);
	cmdline_defaults(&cfg);
	cmdline_parse(text, &cfg, err, sizeof(err));
	return 0;
}
