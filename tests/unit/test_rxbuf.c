/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: the serve loop's receive buffer (agent/rxbuf.c) on a real
 * socketpair: many messages per recv, a message cut anywhere, the head
 * moved to the front only when the tail is short, end of stream. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/rxbuf.h"

struct fx {
	int sv[2];		/* sv[0] is read through b, sv[1] writes */
	struct rxbuf b;
};

static int setup(void **state)
{
	static struct fx f;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, f.sv) != 0 ||
	    rxbuf_init(&f.b, 4096) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rxbuf_free(&f->b);
	close(f->sv[0]);
	close(f->sv[1]);
	return 0;
}

static void put(struct fx *f, const void *p, size_t n)
{
	assert_int_equal(write(f->sv[1], p, n), (ssize_t)n);
}

static void test_empty_is_eagain(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), -EAGAIN);
	assert_int_equal(rxbuf_avail(&f->b), 0);
}

static void test_many_messages_one_recv(void **state)
{
	struct fx *f = *state;
	char msg[8];
	int i;

	for (i = 0; i < 10; i++) {
		memset(msg, 'a' + i, sizeof(msg));
		put(f, msg, sizeof(msg));
	}
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), 80);
	for (i = 0; i < 10; i++) {
		assert_true(rxbuf_avail(&f->b) >= 8);
		assert_int_equal(rxbuf_data(&f->b)[7], 'a' + i);
		rxbuf_consume(&f->b, 8);
	}
	assert_int_equal(rxbuf_avail(&f->b), 0);
}

/* A message whose head came: rxbuf_need() waits for the rest, and a
 * head near the end moves to the front so the whole message is
 * contiguous. */
static void test_need_completes_cut_message(void **state)
{
	struct fx *f = *state;
	uint8_t big[3000], junk[3000];

	memset(junk, 'j', sizeof(junk));
	put(f, junk, sizeof(junk));
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), 3000);
	rxbuf_consume(&f->b, 2990);	/* 10 bytes left at offset 2990 */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	put(f, big, sizeof(big));
	/* needs 3010 contiguous from 2990: only fits after a move */
	assert_int_equal(rxbuf_need(&f->b, f->sv[0], 3010), 0);
	assert_int_equal(f->b.start, 0);
	assert_int_equal(rxbuf_data(&f->b)[9], 'j');
	assert_memory_equal(rxbuf_data(&f->b) + 10, big, sizeof(big));
	rxbuf_consume(&f->b, 3010);
	assert_int_equal(rxbuf_avail(&f->b), 0);
	assert_int_equal(rxbuf_need(&f->b, f->sv[0], 4097), -EMSGSIZE);
}

/* A payload larger than what was buffered: the buffered part, then the
 * rest straight from the socket, in order. */
static void test_copy_out_spans_buffer_and_socket(void **state)
{
	struct fx *f = *state;
	uint8_t src[6000], dst[6000];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 13 + 1);
	put(f, src, 2000);
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), 2000);
	put(f, src + 2000, 4000);
	assert_int_equal(rxbuf_copy_out(&f->b, f->sv[0], dst, 6000), 0);
	assert_memory_equal(dst, src, sizeof(src));
	assert_int_equal(rxbuf_avail(&f->b), 0);
}

static void test_end_of_stream(void **state)
{
	struct fx *f = *state;
	uint8_t x[16];

	put(f, "abc", 3);
	shutdown(f->sv[1], SHUT_WR);
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), 3);
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), -EPIPE);
	/* a message cut by the end: an error, not a short message */
	assert_int_equal(rxbuf_need(&f->b, f->sv[0], 10), -EPIPE);
	assert_int_equal(rxbuf_copy_out(&f->b, f->sv[0], x, 10), -EPIPE);
}

/* Full of unparsed bytes: nothing more is taken until they are parsed. */
static void test_full_buffer_waits_for_parse(void **state)
{
	struct fx *f = *state;
	uint8_t blk[4096] = { 0 };

	put(f, blk, sizeof(blk));
	put(f, blk, 100);
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), 4096);
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), -EAGAIN);
	rxbuf_consume(&f->b, 4096);
	assert_int_equal(rxbuf_fill(&f->b, f->sv[0]), 100);
	assert_int_equal(f->b.start, 0);	/* emptied: back to the front */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_is_eagain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_messages_one_recv,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_need_completes_cut_message,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_copy_out_spans_buffer_and_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_of_stream, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_full_buffer_waits_for_parse, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
