/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the DHCP request parser (lib/dhcp_wire.c): parse,
 * then touch everything the server reads from a parsed request, and build
 * a reply from it, so an index or length slip shows up under ASan.
 * Seeds in lib/fuzz_dhcp.d/ (PXE ROM discovers, overload, iPXE).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dhcp_msg m;
	uint8_t reply[DHCP_MAX_REPLY];
	struct dhcp_builder b;
	volatile unsigned sum = 0;
	int code;

	if (dhcp_parse(data, size, &m) != 0)
		return 0;
	for (code = 0; code < 256; code++) {
		const struct dhcp_optref *o = dhcp_opt(&m, code);
		size_t i;

		if (!o)
			continue;
		for (i = 0; i < o->len; i++)
			sum += o->data[i];
	}
	sum += (unsigned)dhcp_opt_arch(&m);
	sum += (unsigned)dhcp_opt_has_prefix(&m, DHCP_OPT_VENDOR_CLASS, "PXEClient");
	sum += (unsigned)dhcp_opt_contains(&m, DHCP_OPT_USER_CLASS, "iPXE");
	sum += dhcp_opt_addr(&m, DHCP_OPT_REQUESTED_IP);
	(void)dhcp_type_name(m.type);

	dhcp_reply_init(&b, reply, sizeof(reply), &m, DHCPOFFER);
	if (dhcp_opt(&m, DHCP_OPT_CLIENT_UUID))
		dhcp_add_opt(&b, DHCP_OPT_CLIENT_UUID,
			     dhcp_opt(&m, DHCP_OPT_CLIENT_UUID)->data,
			     dhcp_opt(&m, DHCP_OPT_CLIENT_UUID)->len);
	if (dhcp_opt(&m, DHCP_OPT_VENDOR_CLASS))
		dhcp_add_opt(&b, DHCP_OPT_VENDOR_CLASS,
			     dhcp_opt(&m, DHCP_OPT_VENDOR_CLASS)->data,
			     dhcp_opt(&m, DHCP_OPT_VENDOR_CLASS)->len);
	dhcp_set_file(&b, "undionly.kpxe");
	if (dhcp_build_end(&b) > 0 && reply[0] != BOOTREPLY)
		abort();
	(void)sum;
	return 0;
}
