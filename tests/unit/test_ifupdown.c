/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: keeping ifupdown off the boot NIC (agent/ifupdown.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/ifupdown.h"

static char out[4096];

static int rel(const char *in)
{
	return ifupdown_release_text(in, "eth0", out, sizeof(out));
}

/* what the Debian installer writes */
static void test_installer_file(void **state)
{
	(void)state;
	assert_int_equal(rel("source /etc/network/interfaces.d/*\n"
			     "\n"
			     "auto lo\n"
			     "iface lo inet loopback\n"
			     "\n"
			     "# The primary network interface\n"
			     "allow-hotplug eth0\n"
			     "iface eth0 inet dhcp\n"), 2);
	assert_string_equal(out, "source /etc/network/interfaces.d/*\n"
			    "\n"
			    "auto lo\n"
			    "iface lo inet loopback\n"
			    "\n"
			    "# The primary network interface\n"
			    "#linkboot: allow-hotplug eth0\n"
			    "#linkboot: iface eth0 inet dhcp\n");
}

/* a static stanza: its option lines go with it, the next stanza stays */
static void test_stanza_options(void **state)
{
	(void)state;
	assert_int_equal(rel("auto eth0\n"
			     "iface eth0 inet static\n"
			     "    address 198.18.0.50/24\n"
			     "\tgateway 198.18.0.1\n"
			     "iface eth0 inet6 auto\n"
			     "iface eth1 inet dhcp\n"
			     "    hostname pc\n"), 5);
	assert_string_equal(out, "#linkboot: auto eth0\n"
			    "#linkboot: iface eth0 inet static\n"
			    "#linkboot:     address 198.18.0.50/24\n"
			    "#linkboot: \tgateway 198.18.0.1\n"
			    "#linkboot: iface eth0 inet6 auto\n"
			    "iface eth1 inet dhcp\n"
			    "    hostname pc\n");
}

/* "auto lo eth0 eth1": only eth0 leaves the list */
static void test_list_keeps_others(void **state)
{
	(void)state;
	assert_int_equal(rel("auto lo eth0 eth1\n"), 1);
	assert_string_equal(out, "#linkboot: auto lo eth0 eth1\nauto lo eth1\n");
}

/* eth0 must match as a word: eth01, veth0 and "eth0:1" stay */
static void test_whole_word(void **state)
{
	const char *in = "auto eth01 veth0\niface eth0:1 inet dhcp\n"
			 "iface eth01 inet dhcp\n";

	(void)state;
	assert_int_equal(rel(in), 0);
	assert_string_equal(out, in);
}

/* comments and blank lines inside a hidden stanza are kept as they are */
static void test_comments_kept(void **state)
{
	(void)state;
	assert_int_equal(rel("iface eth0 inet dhcp\n# note\n\n"
			     "mapping eth1\n  script x\n"), 1);
	assert_string_equal(out, "#linkboot: iface eth0 inet dhcp\n# note\n\n"
			    "mapping eth1\n  script x\n");
}

/* no trailing newline: none is added */
static void test_no_final_newline(void **state)
{
	(void)state;
	assert_int_equal(rel("iface lo inet loopback"), 0);
	assert_string_equal(out, "iface lo inet loopback");
	assert_int_equal(rel("iface eth0 inet dhcp"), 1);
	assert_string_equal(out, "#linkboot: iface eth0 inet dhcp");
}

/* a too small output buffer is -ENOSPC, never an overflow */
static void test_small_buffer(void **state)
{
	char small[16];

	(void)state;
	assert_int_equal(ifupdown_release_text("iface eth0 inet dhcp\n", "eth0",
					       small, sizeof(small)), -ENOSPC);
	assert_int_equal(ifupdown_release_text("x", "eth0", small, 0), -ENOSPC);
	assert_int_equal(ifupdown_release_text("", "eth0", small, 1), 0);
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_installer_file),
		cmocka_unit_test(test_stanza_options),
		cmocka_unit_test(test_list_keeps_others),
		cmocka_unit_test(test_whole_word),
		cmocka_unit_test(test_comments_kept),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
