/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: boot tickets and credentials (lib/ticket.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ticket.h"

static const uint8_t key[TICKET_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static struct ticket sample(void)
{
	struct ticket t = {
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.ip = 0x050012c6,	/* 198.18.0.5 in network order */
		.expires = 1796300000,
		.nonce = { 9, 8, 7, 6, 5, 4, 3, 2 },
		.flags = TICKET_F_RESERVED_PORT,
	};
	return t;
}

static void test_ticket_round_trip(void **state)
{
	struct ticket t = sample(), got;
	char s[TICKET_STR_LEN + 1];

	(void)state;
	ticket_sign(key, &t, s);
	assert_int_equal(strlen(s), TICKET_STR_LEN);
	assert_memory_equal(s, "t1-525400123456c6120005", 23);
	assert_int_equal(ticket_verify(key, s, strlen(s), &got), 0);
	assert_memory_equal(got.mac, t.mac, 6);
	assert_int_equal(got.ip, t.ip);
	assert_int_equal(got.expires, t.expires);
	assert_memory_equal(got.nonce, t.nonce, TICKET_NONCE_LEN);
	assert_int_equal(got.flags, TICKET_F_RESERVED_PORT);
}

/* Every field is covered by the tag: flipping any hex digit is caught. */
static void test_ticket_every_digit_signed(void **state)
{
	struct ticket t = sample(), got;
	char s[TICKET_STR_LEN + 1];
	size_t i;

	(void)state;
	ticket_sign(key, &t, s);
	for (i = 3; i < TICKET_STR_LEN; i++) {
		char save = s[i];

		s[i] = save == '0' ? '1' : '0';
		if (ticket_verify(key, s, strlen(s), &got) != -EKEYREJECTED)
			fail_msg("digit %zu altered, ticket still accepted", i);
		s[i] = save;
	}
}

static void test_ticket_other_key(void **state)
{
	struct ticket t = sample(), got;
	uint8_t other[TICKET_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 9 };
	char s[TICKET_STR_LEN + 1];

	(void)state;
	ticket_sign(key, &t, s);
	assert_int_equal(ticket_verify(other, s, strlen(s), &got),
			 -EKEYREJECTED);
}

static void test_ticket_not_a_ticket(void **state)
{
	struct ticket t = sample(), got;
	char s[TICKET_STR_LEN + 2];

	(void)state;
	ticket_sign(key, &t, s);
	assert_int_equal(ticket_verify(key, s, TICKET_STR_LEN - 1, &got),
			 -EINVAL);
	s[5] = 'g';	/* not hex */
	assert_int_equal(ticket_verify(key, s, TICKET_STR_LEN, &got), -EINVAL);
	s[0] = 'c';
	assert_int_equal(ticket_verify(key, s, TICKET_STR_LEN, &got), -EINVAL);
	assert_int_equal(ticket_verify(key, "", 0, &got), -EINVAL);
	assert_false(ticket_shaped("t1-", 3));
}

static void test_cred_new_unique_and_hashed(void **state)
{
	char a[CRED_STR_LEN + 1], b[CRED_STR_LEN + 1];
	char ha[CRED_HASH_STR_LEN + 1], hb[CRED_HASH_STR_LEN + 1];

	(void)state;
	cred_new(a);
	cred_new(b);
	assert_int_equal(strlen(a), CRED_STR_LEN);
	assert_true(cred_shaped(a, strlen(a)));
	assert_string_not_equal(a, b);
	cred_hash(a, strlen(a), ha);
	cred_hash(b, strlen(b), hb);
	assert_int_equal(strlen(ha), CRED_HASH_STR_LEN);
	assert_string_not_equal(ha, hb);
	/* SHA-256("abc"), FIPS 180-2 appendix B.1 */
	cred_hash("abc", 3, ha);
	assert_string_equal(ha, "ba7816bf8f01cfea414140de5dae2223"
				"b00361a396177a9cb410ff61f20015ad");
}

static void test_san_chap_user_round_trip(void **state)
{
	struct ticket t = sample(), got;
	char user[SAN_USER_LEN + 1];

	(void)state;
	san_chap_user(&t, user);
	assert_string_equal(user, "lb1.525400123456.6b115ce0.0908070605040302");
	assert_int_equal(san_chap_user_parse(user, strlen(user), &got), 0);
	assert_memory_equal(got.mac, t.mac, 6);
	assert_int_equal(got.expires, t.expires);
	assert_memory_equal(got.nonce, t.nonce, TICKET_NONCE_LEN);
	user[16] = '-';
	assert_int_equal(san_chap_user_parse(user, strlen(user), &got), -EINVAL);
	assert_int_equal(san_chap_user_parse("lb1.", 4, &got), -EINVAL);
}

/* The secret depends on the key, the user name and the address; it is
 * what Microsoft's initiator accepts (12..16 characters). */
static void test_san_chap_secret(void **state)
{
	uint8_t other[TICKET_KEY_LEN] = { 9 };
	char a[SAN_SECRET_LEN + 1], b[SAN_SECRET_LEN + 1];
	const char *u = "lb1.525400123456.6b115ce0.0908070605040302";
	size_t i;

	(void)state;
	san_chap_secret(key, u, 0x050012c6, a);
	assert_int_equal(strlen(a), SAN_SECRET_LEN);
	for (i = 0; i < SAN_SECRET_LEN; i++)
		assert_non_null(strchr("abcdefghijkmnpqrstuvwxyz23456789", a[i]));
	san_chap_secret(key, u, 0x050012c6, b);
	assert_string_equal(a, b);
	san_chap_secret(key, u, 0x060012c6, b);
	assert_string_not_equal(a, b);
	san_chap_secret(other, u, 0x050012c6, b);
	assert_string_not_equal(a, b);
	san_chap_secret(key, "lb1.525400123456.6b115ce0.0908070605040303",
			0x050012c6, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_round_trip),
		cmocka_unit_test(test_ticket_every_digit_signed),
		cmocka_unit_test(test_ticket_other_key),
		cmocka_unit_test(test_ticket_not_a_ticket),
		cmocka_unit_test(test_cred_new_unique_and_hashed),
		cmocka_unit_test(test_san_chap_user_round_trip),
		cmocka_unit_test(test_san_chap_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
