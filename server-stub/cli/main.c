/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linkboot: the diskless boot server and its CLI. */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "config.h"
#include "image_ops.h"
#include "lb_log.h"
#include "lb_util.h"
#include "privdrop.h"
#include "version.h"

static const struct command commands[] = {
	{ "serve", cmd_serve, "run the boot server (DHCP, TFTP, HTTP, NBD)" },
	{ "image", cmd_image, "add, version, commit, rollback, merge images" },
	/* -- */
	{ "client", cmd_client, "link client MACs to images" },
	{ "why", cmd_why, "everything known about one PC, and the next step" },
	/* -- */
	{ "initramfs", cmd_initramfs, "build the client initramfs" },
	/* -- */
	{ "status", cmd_status, "live clients, bytes served, cache hit rates" },
	/* -- */
	{ "doctor", cmd_doctor, "find what keeps PCs from booting" },
	/* -- */
	{ "backup", cmd_backup, "online copy of the link DB and images" },
	/* -- */
	{ "restore", cmd_restore, "restore a backup" },
	/* -- */
	{ "info", cmd_info, "print what a bug report needs" },
	{ "check", cmd_check, "validate configuration, link DB and images" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: linkboot [--version] [--help] COMMAND [ARGS...]\n"
		"\n"
		"Diskless network boot server: DHCP/proxyDHCP, TFTP, HTTP and NBD\n"
		"for PCs that boot the image linked to their MAC address.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\n"
		"Every command takes the server options (see `linkboot serve --help`),\n"
		"e.g. --state DIR; each is also a config key and a LINKBOOT_* variable.\n"
		"Run `linkboot COMMAND --help` for a command's usage.\n"
		"Exit status: 0 ok, 1 error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	struct lb_config cfg;
	const char *name;
	size_t i;

	log_init("linkboot", LOG_LEVEL_INFO);
	/*
	 * Everything linkboot creates is private to the user it runs as: the
	 * link DB holds the hashes of client credentials, dhcp.leases and the
	 * overlays hold clients' data, and <state>/boot is read by the server
	 * itself only. Outside systemd (UMask=0077 there) the caller's umask
	 * is usually 022; the explicit 0600/0700 modes where files are
	 * created say the same, this also covers SQLite's -wal/-shm and
	 * what fopen()/gzopen() create.
	 */
	umask(077);
	image_err_register();	/* err_str() of image operations */
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("linkboot %s\n", LINKBOOT_VERSION);
		return 0;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h") ||
	    !strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		int n, rc;

		if (strcmp(commands[i].name, name) != 0)
			continue;
		config_defaults(&cfg);
		/* the command line first (usage errors exit 2, and --config
		 * says which file to read), then files and environment with
		 * the command line again on top */
		n = config_parse_args(&cfg, argc - 1, argv + 1, 0);
		if (n < 0) {
			config_free(&cfg);
			return EXIT_USAGE;
		}
		if (config_load(&cfg) != 0) {
			config_free(&cfg);
			return 1;
		}
		rc = commands[i].run(&cfg, n, argv + 1);
		if (strcmp(name, "serve") != 0)
			privdrop_give_state(&cfg);
		config_free(&cfg);
		return rc;
	}
	fprintf(stderr, "linkboot: unknown command '%s' (see `linkboot --help`)\n",
		name);
	return EXIT_USAGE;
}
