/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Path confinement for TFTP and HTTP; see include/lb_path.h. */

#include <errno.h>
#include <string.h>

#include "lb_path.h"

int path_sanitize(const char *in, size_t inlen, char *out, size_t outsz)
{
	size_t i = 0, o = 0;

	if (outsz == 0)
		return -ENAMETOOLONG;
	while (i < inlen) {
		size_t start, len;

		/* skip separators */
		while (i < inlen && (in[i] == '/' || in[i] == '\\'))
			i++;
		start = i;
		while (i < inlen && in[i] != '/' && in[i] != '\\') {
			unsigned char c = (unsigned char)in[i];

			if (c < 0x20 || c == 0x7f)
				return -EACCES;
			i++;
		}
		len = i - start;
		if (len == 0 || (len == 1 && in[start] == '.'))
			continue;
		if (len == 2 && in[start] == '.' && in[start + 1] == '.')
			return -EACCES;
		if (o + (o ? 1 : 0) + len + 1 > outsz)
			return -ENAMETOOLONG;
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + start, len);
		o += len;
	}
	out[o] = '\0';
	return o ? 0 : -ENOENT;
}
