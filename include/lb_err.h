/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_ERR_H
#define LB_ERR_H

/*
 * Error codes.
 *
 * Functions return 0 or a negative "rc". An rc is a plain negative errno, or
 * one that also carries a cause ID so that a log line says *which* EINVAL it
 * was (like iPXE's __einfo_uniqify):
 *
 *	#define EINVAL_TFTP_BLKSIZE ERR(EINVAL, MOD_TFTP, 0x01)
 *
 *	 31      24 23     16 15      8 7       0
 *	+----------+---------+---------+---------+
 *	| 0        | module  | cause   | errno   |   (then negated)
 *	+----------+---------+---------+---------+
 *
 * err_errno(rc) gives back the errno (for errno-to-wire mappings such as
 * nbd_errno()), err_str(rc) a message like "invalid blksize [tftp.01]".
 * Causes are described in a table beside each module (struct err_desc).
 */

#include <errno.h>

enum err_module {
	MOD_NONE = 0,
	MOD_CONF,
	MOD_DHCP,
	MOD_TFTP,
	MOD_HTTP,
	MOD_NBD,
	MOD_DB,
	MOD_IMAGE,
	MOD_AGENT,
	MOD_CACHE,
	MOD_MAX,
};

#define ERR(errnum, mod, cause) \
	(-(int)(((unsigned)(mod) << 16) | ((unsigned)(cause) << 8) | (unsigned)(errnum)))

/* errnos here are all < 256 */
static inline int err_errno(int rc)
{
	return rc < 0 ? (-rc) & 0xff : rc;
}

struct err_desc {
	int rc;			/* the full ERR() value */
	const char *msg;	/* what went wrong, in words a user understands */
};

/*
 * Register a module's cause table (called once at start by each module that
 * has one; the table must stay valid).
 */
void err_register(enum err_module mod, const char *name,
		  const struct err_desc *descs, unsigned n);

/* "message [mod.NN]" for a tagged rc, strerror() for a plain one. */
const char *err_str(int rc);

#endif
