/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `linkboot info` (bug report dump) and `linkboot check` (like dnsmasq --test). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "commands.h"
#include "lb_util.h"
#include "version.h"

int cmd_info(struct lb_config *cfg, int argc, char **argv)
{
	struct utsname u;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "Usage: linkboot info\n");
		return EXIT_USAGE;
	}
	printf("linkboot %s\n", LINKBOOT_VERSION);
	if (uname(&u) == 0)
		printf("kernel %s %s %s\n", u.sysname, u.release, u.machine);
	printf("\n# effective configuration\n");
	config_dump(cfg, stdout);
	return 0;
}

static int check_dir(const char *what, const char *path, int quiet)
{
	struct stat st;

	if (!path)
		return 0;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "check: %s %s: %s\n", what, path,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (!quiet)
		printf("ok: %s %s\n", what, path);
	return 0;
}

static int check_loader(const struct lb_config *cfg, const char *name,
			int quiet)
{
	const char *dirs[] = { cfg->root_dir, cfg->ipxe_build_dir,
			       cfg->ipxe_dir };
	char path[4096];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (!dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, R_OK) == 0) {
			if (!quiet)
				printf("ok: boot file %s\n", path);
			return 0;
		}
	}
	fprintf(stderr, "check: boot file %s not found in --root, --ipxe-build "
			"or --ipxe-dir (apt-get install ipxe)\n", name);
	return 1;
}

int cmd_check(struct lb_config *cfg, int argc, char **argv)
{
	int quiet = 0, bad = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			quiet = 1;
		} else {
			fprintf(stderr, "Usage: linkboot check [-q]\n");
			return EXIT_USAGE;
		}
	}
	/* the configuration itself was parsed by main(): errors exit there */
	bad |= check_dir("--root", cfg->root_dir, quiet);
	bad |= check_dir("--ipxe-build", cfg->ipxe_build_dir, quiet);
	bad |= check_loader(cfg, cfg->bios_loader, quiet);
	bad |= check_loader(cfg, cfg->efi_loader, quiet);
	if (!bad && !quiet)
		printf("configuration ok\n");
	return bad ? 1 : 0;
}
