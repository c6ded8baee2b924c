/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: boot ticket parsing and signature check (lib/ticket.c),
 * which the server runs on every POST /session body. */

#include <stddef.h>
#include <stdint.h>

#include "ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[TICKET_KEY_LEN] = { 42 };
	struct ticket t;

	ticket_verify(key, (const char *)data, size, &t);
	ticket_shaped((const char *)data, size);
	cred_shaped((const char *)data, size);
	return 0;
}
