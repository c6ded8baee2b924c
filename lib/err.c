/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error cause tables and err_str(); see include/lb_err.h. */

#include <stdio.h>
#include <string.h>

#include "lb_err.h"

struct err_table {
	const char *name;
	const struct err_desc *descs;
	unsigned n;
};

static struct err_table err_tables[MOD_MAX];

void err_register(enum err_module mod, const char *name,
		  const struct err_desc *descs, unsigned n)
{
	if (mod <= MOD_NONE || mod >= MOD_MAX)
		return;
	err_tables[mod] = (struct err_table){ name, descs, n };
}

const char *err_str(int rc)
{
	static char buf[160];
	unsigned v = rc < 0 ? (unsigned)-rc : (unsigned)rc;
	unsigned mod = (v >> 16) & 0xff;
	unsigned cause = (v >> 8) & 0xff;
	const struct err_table *t;
	unsigned i;

	if (mod == MOD_NONE || mod >= MOD_MAX)
		return strerror((int)(v & 0xff));
	t = &err_tables[mod];
	for (i = 0; i < t->n; i++) {
		if (t->descs[i].rc == rc) {
			snprintf(buf, sizeof(buf), "%s [%s.%02x]",
				 t->descs[i].msg, t->name, cause);
			return buf;
		}
	}
	snprintf(buf, sizeof(buf), "%s [%u.%02x]", strerror((int)(v & 0xff)),
		 mod, cause);
	return buf;
}
