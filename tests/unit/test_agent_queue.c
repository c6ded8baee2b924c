/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: in-flight request bookkeeping across reconnects
 * (agent/queue.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/queue.h"

static struct ioqueue q;

static int setup(void **state)
{
	(void)state;
	return ioqueue_init(&q, 4096);
}

static int teardown(void **state)
{
	(void)state;
	ioqueue_free(&q);
	return 0;
}

static void test_get_until_full(void **state)
{
	struct ioslot *s[IOQUEUE_SLOTS];
	unsigned i;

	(void)state;
	for (i = 0; i < IOQUEUE_SLOTS; i++) {
		assert_non_null(s[i] = ioqueue_get(&q));
		/* every slot has its own buffer */
		memset(s[i]->buf, (int)i, 4096);
	}
	assert_null(ioqueue_get(&q));
	assert_int_equal(q.used, IOQUEUE_SLOTS);
	for (i = 0; i < IOQUEUE_SLOTS; i++)
		assert_int_equal(s[i]->buf[4095], (uint8_t)i);
	ioqueue_put(&q, s[3]);
	assert_non_null(ioqueue_get(&q));
}

static void test_find_only_sent(void **state)
{
	struct ioslot *a;

	(void)state;
	a = ioqueue_get(&q);
	/* not yet sent: a reply with its handle is a protocol error */
	assert_null(ioqueue_find(&q, a->seq));
	a->sent = 1;
	assert_ptr_equal(ioqueue_find(&q, a->seq), a);
	assert_null(ioqueue_find(&q, a->seq + 1000));
	ioqueue_put(&q, a);
	assert_null(ioqueue_find(&q, a->seq));
}

static void test_requeue_resends_in_order(void **state)
{
	struct ioslot *a, *b, *c, *n;

	(void)state;
	a = ioqueue_get(&q);
	b = ioqueue_get(&q);
	c = ioqueue_get(&q);
	a->sent = b->sent = c->sent = 1;
	/* b answered before the connection dropped */
	ioqueue_put(&q, b);
	assert_null(ioqueue_next_unsent(&q));
	assert_int_equal(ioqueue_requeue_all(&q), 2);
	/* a reply from the old connection must not match */
	assert_null(ioqueue_find(&q, a->seq));
	n = ioqueue_next_unsent(&q);
	assert_ptr_equal(n, a);
	n->sent = 1;
	n = ioqueue_next_unsent(&q);
	assert_ptr_equal(n, c);
	n->sent = 1;
	assert_null(ioqueue_next_unsent(&q));
	assert_ptr_equal(ioqueue_find(&q, c->seq), c);
}

static void test_seq_unique_after_reuse(void **state)
{
	struct ioslot *a;
	uint64_t first;

	(void)state;
	a = ioqueue_get(&q);
	first = a->seq;
	ioqueue_put(&q, a);
	a = ioqueue_get(&q);
	/* same slot, new handle: a late reply cannot hit the new request */
	assert_true(a->seq > first);
}

static void test_double_put_harmless(void **state)
{
	struct ioslot *a;

	(void)state;
	a = ioqueue_get(&q);
	ioqueue_put(&q, a);
	ioqueue_put(&q, a);
	assert_int_equal(q.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_until_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_only_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requeue_resends_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_unique_after_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_put_harmless, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
