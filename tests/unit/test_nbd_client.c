/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests: the agent's NBD handshake (agent/nbd_client.c) against a
 * server whose bytes are queued on a socketpair beforehand (built with
 * lib/nbd_wire.c): the export sizes it accepts and refuses; the agent's
 * DHCP transaction IDs.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/agent.h"
#include "../../agent/nbd_client.h"
#include "nbd_wire.h"

/* Handshake against a server that answers NBD_OPT_GO with size (or, with
 * go == 0, only knows NBD_OPT_EXPORT_NAME). Returns the handshake's rc. */
static int handshake_with_size(uint64_t size, int go, uint64_t *got)
{
	uint8_t srv[512];
	size_t n = 0;
	struct nbd_client_conn c = { .fd = -1 };
	int sv[2], rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	n += (size_t)nbd_build_greeting(srv, sizeof(srv),
					NBD_FLAG_FIXED_NEWSTYLE |
					NBD_FLAG_NO_ZEROES);
	if (go) {
		n += (size_t)nbd_build_rep_info_export(srv + n, sizeof(srv) - n,
						       NBD_OPT_GO, size,
						       NBD_FLAG_HAS_FLAGS);
		n += (size_t)nbd_build_rep_text(srv + n, sizeof(srv) - n,
						NBD_OPT_GO, NBD_REP_ACK, NULL);
	} else {
		n += (size_t)nbd_build_rep_text(srv + n, sizeof(srv) - n,
						NBD_OPT_GO, NBD_REP_ERR_UNSUP,
						NULL);
		n += (size_t)nbd_build_export_name_reply(srv + n,
							 sizeof(srv) - n, size,
							 NBD_FLAG_HAS_FLAGS, 1);
	}
	/* all of it fits the socket buffer; the client's own bytes too */
	assert_int_equal(write(sv[1], srv, n), (ssize_t)n);
	c.fd = sv[0];
	rc = nbd_client_handshake(&c, "export");
	*got = c.size;
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static void test_export_size_sane(void **state)
{
	uint64_t got;

	(void)state;
	assert_int_equal(handshake_with_size(8 << 20, 1, &got), 0);
	assert_int_equal(got, 8 << 20);
	assert_int_equal(handshake_with_size(NBD_CLIENT_SIZE_MAX, 1, &got), 0);
	assert_int_equal(handshake_with_size(8 << 20, 0, &got), 0);
	assert_int_equal(got, 8 << 20);
}

/* a size no block device can have: refused, with either option */
static void test_export_size_near_2_64_refused(void **state)
{
	uint64_t got;

	(void)state;
	assert_int_equal(handshake_with_size(UINT64_MAX, 1, &got), -EFBIG);
	assert_int_equal(handshake_with_size(UINT64_MAX - 4095, 1, &got),
			 -EFBIG);
	assert_int_equal(handshake_with_size(NBD_CLIENT_SIZE_MAX + 1, 1, &got),
			 -EFBIG);
	assert_int_equal(handshake_with_size(UINT64_MAX, 0, &got), -EFBIG);
}

/* RFC 2131 §4.4.1: xid is random, not the clock mixed with the MAC */
static void test_dhcp_xid_random(void **state)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	uint32_t x[64], hi = 0;
	unsigned i, j;

	(void)state;
	for (i = 0; i < 64; i++) {
		x[i] = dhcp_new_xid(mac);
		for (j = 0; j < i; j++)
			assert_int_not_equal(x[i], x[j]);
		hi |= x[i] ^ x[0];
	}
	/* a clock^MAC mix keeps the MAC's bytes in the top 16 bits of
	 * every xid of a client; random ones differ there too */
	assert_true((hi >> 16) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_size_sane),
		cmocka_unit_test(test_export_size_near_2_64_refused),
		cmocka_unit_test(test_dhcp_xid_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
