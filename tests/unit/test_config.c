/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: config values by type, "key =" resets, command-line options
 * kept over files (at start and on reread), sections, and what a reload
 * applies (live) or only reports (restart). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* A config file with text; its path in path (unlinked by the caller). */
static void write_conf(char path[64], const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_values_by_type(void **state)
{
	struct lb_config c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "nbd_port", "65535"), 0);
	assert_int_equal(c.nbd_port, 65535);
	assert_int_equal(config_set(&c, "nbd-port", "65536"), -EINVAL);
	assert_int_equal(config_set(&c, "nbd_port", "-1"), -EINVAL);
	assert_int_equal(c.nbd_port, 65535);
	assert_int_equal(config_set(&c, "http_timeout", "1073741824"), 0);
	assert_int_equal(config_set(&c, "http_timeout", "1073741825"), -EINVAL);
	assert_int_equal(config_set(&c, "router_advert", "off"), 0);
	assert_int_equal(c.router_advert, 0);
	assert_int_equal(config_set(&c, "router_advert", "maybe"), -EINVAL);
	assert_int_equal(config_set(&c, "dhcp", "full"), 0);
	assert_int_equal(c.dhcp_mode, DHCP_MODE_FULL);
	assert_int_equal(config_set(&c, "listen", "198.18.0.1"), 0);
	assert_string_equal(c.listen, "198.18.0.1");
	assert_int_equal(config_set(&c, "listen", "198.18.0"), -EINVAL);
	assert_int_equal(config_set(&c, "listen", "eth0"), -EINVAL);
	assert_string_equal(c.listen, "198.18.0.1");
	assert_int_equal(config_set(&c, "dhcp_range",
				    "198.18.0.10,198.18.0.10"), 0);
	assert_int_equal(config_set(&c, "dhcp_range",
				    "198.18.0.11,198.18.0.10"), -EINVAL);
	assert_int_equal(config_set(&c, "dhcp_range", "198.18.0.10"), -EINVAL);
	assert_int_equal(config_set(&c, "trusted_net",
				    "198.18.0.0/25, 198.18.0.200"), 0);
	assert_int_equal(config_set(&c, "trusted_net", "198.18.0.0/33"),
			 -EINVAL);
	assert_int_equal(config_set(&c, "trusted_net", "198.18.0.0/"), -EINVAL);
	assert_int_equal(config_set(&c, "trusted_net", ","), -EINVAL);
	assert_int_equal(config_set(&c, "no_such_key", "1"), -ENOENT);
	config_free(&c);
}

static void test_empty_value_is_the_default(void **state)
{
	struct lb_config c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "efi_loader", "my.efi"), 0);
	assert_int_equal(config_set(&c, "efi_loader", "other.efi"), 0);
	assert_string_equal(c.efi_loader, "other.efi");
	assert_int_equal(config_set(&c, "efi_loader", ""), 0);
	assert_string_equal(c.efi_loader, "snponly.efi");
	assert_int_equal(config_set(&c, "trusted_net", "198.18.0.128/25"), 0);
	assert_int_equal(config_set(&c, "trusted_net", ""), 0);
	assert_null(c.trusted_net);
	assert_int_equal(config_set(&c, "http_port", "8080"), 0);
	assert_int_equal(config_set(&c, "http_port", ""), 0);
	assert_int_equal(c.http_port, 80);
	config_free(&c);
}

static void test_args_operands_and_own_options(void **state)
{
	char a0[] = "serve", a1[] = "--http-port", a2[] = "9", a3[] = "-v",
	     a4[] = "--verbose", a5[] = "--own-flag", a6[] = "--root=/x",
	     a7[] = "--", a8[] = "--nbd-port";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL };
	struct lb_config c;
	int n;

	(void)state;
	config_defaults(&c);
	n = config_parse_args(&c, 9, argv, 0);
	assert_int_equal(n, 4);
	assert_string_equal(argv[1], "-v");
	assert_string_equal(argv[2], "--own-flag");
	assert_string_equal(argv[3], "--nbd-port");	/* after "--" */
	assert_int_equal(c.http_port, 9);
	assert_int_equal(c.verbose, 1);
	assert_string_equal(c.root_dir, "/x");
	assert_int_equal(c.nbd_port, 10809);
	config_free(&c);

	/* strict: a non-key option is a usage error */
	char b0[] = "x", b1[] = "--own-flag";
	char *argv2[] = { b0, b1, NULL };

	config_defaults(&c);
	assert_int_equal(config_parse_args(&c, 2, argv2, 1), -EINVAL);
	config_free(&c);
}

static void test_cmdline_over_file_at_load_and_reread(void **state)
{
	char path[64], cfgarg[80], portarg[] = "--http-port=9", a0[] = "serve";
	char *argv[] = { a0, cfgarg, portarg, NULL };
	struct lb_config c, next;

	(void)state;
	unsetenv("LINKBOOT_CONFIG");
	unsetenv("LINKBOOT_HTTP_PORT");
	unsetenv("LINKBOOT_NBD_PORT");
	write_conf(path, "[http]\nhttp_port = 8080\n[nbd]\nnbd_port = 1\n");
	snprintf(cfgarg, sizeof(cfgarg), "--config=%s", path);
	config_defaults(&c);
	assert_int_equal(config_parse_args(&c, 3, argv, 1), 1);
	assert_int_equal(config_load(&c), 0);
	assert_int_equal(c.http_port, 9);	/* argv over file */
	assert_int_equal(c.nbd_port, 1);	/* file over default */

	/* the file changes; a reread takes it, argv still on top */
	unlink(path);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs("http_port = 8081\nnbd_port = 2\n", f);
		fclose(f);
	}
	assert_int_equal(config_reread(&c, &next), 0);
	assert_int_equal(next.http_port, 9);
	assert_int_equal(next.nbd_port, 2);
	assert_string_equal(next.config_file, path);
	config_free(&next);

	/* the environment sits between file and argv */
	setenv("LINKBOOT_NBD_PORT", "3", 1);
	setenv("LINKBOOT_HTTP_PORT", "4", 1);
	assert_int_equal(config_reread(&c, &next), 0);
	assert_int_equal(next.nbd_port, 3);
	assert_int_equal(next.http_port, 9);
	unsetenv("LINKBOOT_NBD_PORT");
	unsetenv("LINKBOOT_HTTP_PORT");
	config_free(&next);
	config_free(&c);
	unlink(path);
}

static void test_set_arg_survives_reread(void **state)
{
	char path[64];
	struct lb_config c, next;

	(void)state;
	write_conf(path, "verbose = no\n");
	config_defaults(&c);
	assert_int_equal(config_set_arg(&c, "config", path), 0);
	assert_int_equal(config_set_arg(&c, "verbose", "yes"), 0);
	assert_int_equal(config_load(&c), 0);
	assert_int_equal(c.verbose, 1);
	assert_int_equal(config_reread(&c, &next), 0);
	assert_int_equal(next.verbose, 1);
	config_free(&next);
	config_free(&c);
	unlink(path);
}

static void test_sections(void **state)
{
	static const char *const bad[] = {
		"[group:lab]\n",
		"[mac:52:54:00:12:34:56]\n",
		"[unknown]\n",
		"[server\n",
		"http_port = 80\n[group:lab]\nnbd_port = 1\n",
	};
	char path[64];
	struct lb_config c;
	size_t i;

	(void)state;
	write_conf(path, "[tftp]\ntftp_port = 11\n[nbd]\nnbd_port = 12\n"
			 "[defaults]\nhttp_port = 13\n[server]\n[dhcp]\n"
			 "dhcp = off\n");
	config_defaults(&c);
	c.config_file = path;
	assert_int_equal(config_load(&c), 0);
	assert_int_equal(c.tftp_port, 11);
	assert_int_equal(c.nbd_port, 12);
	assert_int_equal(c.http_port, 13);
	assert_int_equal(c.dhcp_mode, DHCP_MODE_OFF);
	config_free(&c);
	unlink(path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_conf(path, bad[i]);
		config_defaults(&c);
		c.config_file = path;
		assert_int_equal(config_load(&c), -EINVAL);
		config_free(&c);
		unlink(path);
	}
}

static void test_apply_live_moves_live_reports_restart(void **state)
{
	struct lb_config cur, next;

	(void)state;
	config_defaults(&cur);
	config_defaults(&next);
	assert_int_equal(config_set(&cur, "trusted_net", "198.18.0.128/25"), 0);
	assert_int_equal(config_set(&next, "trusted_net", "198.18.0.0/24"), 0);
	assert_int_equal(config_set(&next, "http_timeout", "5"), 0);
	assert_int_equal(config_set(&next, "nbd_port", "1"), 0);
	assert_int_equal(config_set(&next, "store", "/elsewhere"), 0);
	assert_int_equal(config_apply_live(&cur, &next), 2);
	assert_int_equal(cur.http_timeout, 5);
	assert_string_equal(cur.trusted_net, "198.18.0.0/24");
	assert_int_equal(cur.nbd_port, 10809);		/* restart only */
	assert_null(cur.store_dir);
	assert_string_equal(next.trusted_net, "198.18.0.128/25");	/* the old */
	config_free(&next);	/* frees the old string, not the new */
	assert_string_equal(cur.trusted_net, "198.18.0.0/24");
	config_defaults(&next);
	assert_int_equal(config_set(&next, "trusted_net", "198.18.0.0/24"), 0);
	assert_int_equal(config_set(&next, "http_timeout", "5"), 0);
	assert_int_equal(config_apply_live(&cur, &next), 0);	/* same */
	config_free(&next);
	config_free(&cur);
}

static void test_is_live(void **state)
{
	(void)state;
	assert_int_equal(config_is_live("http_timeout"), 1);
	assert_int_equal(config_is_live("http-max-per-ip"), 1);
	assert_int_equal(config_is_live("verbose"), 1);
	assert_int_equal(config_is_live("nbd_port"), 0);
	assert_int_equal(config_is_live("interface"), 0);
	assert_int_equal(config_is_live("no_such_key"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_by_type),
		cmocka_unit_test(test_empty_value_is_the_default),
		cmocka_unit_test(test_args_operands_and_own_options),
		cmocka_unit_test(test_cmdline_over_file_at_load_and_reread),
		cmocka_unit_test(test_set_arg_survives_reread),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_apply_live_moves_live_reports_restart),
		cmocka_unit_test(test_is_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
