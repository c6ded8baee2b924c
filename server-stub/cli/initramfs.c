/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot initramfs -o FILE ...`: the client initramfs (store/initramfs.h
 * builds it; this parses the options and says what was written).
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "initramfs.h"

#ifndef LINKBOOT_LIBDIR
#define LINKBOOT_LIBDIR "/usr/local/lib/linkboot"
#endif

static void initramfs_usage(FILE *out)
{
	fprintf(out,
		"Usage: linkboot initramfs -o FILE|--split DIR\n"
		"                          [--kernel-version V | --modules DIR]\n"
		"                          [--minimal [--pci-ids VVVV:DDDD,...]]\n"
		"                          [--agent PATH] [--no-shell] [--no-xfs] [-q]\n"
		"\n"
		"Build the client initramfs: /init = linkboot-agent, nbd, overlay, ext4\n"
		"(+ crc32c), xfs, every ethernet/USB-net driver with its firmware, storage\n"
		"drivers, and their modules.dep/alias/softdep.\n"
		"\n"
		"  -o, --output FILE       write here (atomically)\n"
		"  --split DIR             the split set, as image versions have it:\n"
		"                          DIR/initrd-core.img, initrd-storage.img, one\n"
		"                          DIR/nic/NAME.img per NIC driver, nic-all.img\n"
		"                          and nic.alias (which archive drives a PCI NIC);\n"
		"                          with -o, FILE is all of them joined\n"
		"  --kernel-version V      modules of kernel V (default: running/newest)\n"
		"  --modules DIR           modules root holding lib/modules/V/ (or that\n"
		"                          lib/modules/V directory itself); default /\n"
		"  --minimal               only drivers this machine's devices need\n"
		"  --pci-ids LIST          with --minimal: also these NICs (lspci -n)\n"
		"  --agent PATH            linkboot-agent binary (default: next to\n"
		"                          linkboot, else " LINKBOOT_LIBDIR ")\n"
		"  --no-shell              leave out busybox (rescue shell)\n"
		"  --no-xfs                leave out xfs (the image has none)\n"
		"  -q, --quiet             print nothing on success\n");
}

/*
 * --modules may name lib/modules/V itself: then the root is what is
 * above it and V the kernel version. root and kv hold the strings.
 * 0, or EXIT_USAGE (message printed).
 */
static int modules_dir_split(struct initramfs_opts *o, char *root,
			     size_t root_size, char *kv, size_t kv_size)
{
	char dep[600];
	const char *base;
	struct stat st;
	char *tail;

	snprintf(dep, sizeof(dep), "%s/modules.dep", o->modules_root);
	if (stat(dep, &st) != 0)
		return 0;	/* a modules root */
	snprintf(root, root_size, "%s", o->modules_root);
	while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	base = strrchr(root, '/');
	snprintf(kv, kv_size, "%s", base ? base + 1 : root);
	if (!o->kver)
		o->kver = kv;
	if (!(tail = strstr(root, "/lib/modules/"))) {
		fprintf(stderr, "linkboot initramfs: --modules %s: expected "
			".../lib/modules/VERSION\n", o->modules_root);
		return EXIT_USAGE;
	}
	*tail = '\0';
	o->modules_root = root[0] ? root : "/";
	return 0;
}

/* Options into o; 0, -1 after --help, EXIT_USAGE. */
static int initramfs_parse(int argc, char **argv, struct initramfs_opts *o,
			   const char **split, int *quiet)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "kernel-version", required_argument, NULL, 'k' },
		{ "modules", required_argument, NULL, 'm' },
		{ "minimal", no_argument, NULL, 'M' },
		{ "pci-ids", required_argument, NULL, 'p' },
		{ "agent", required_argument, NULL, 'a' },
		{ "no-shell", no_argument, NULL, 'S' },
		{ "no-xfs", no_argument, NULL, 'X' },
		{ "split", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': o->output = optarg; break;
		case 'k': o->kver = optarg; break;
		case 'm': o->modules_root = optarg; break;
		case 'M': o->minimal = 1; break;
		case 'p': o->pci_ids = optarg; break;
		case 'a': o->agent = optarg; break;
		case 'S': o->no_shell = 1; break;
		case 'X': o->no_xfs = 1; break;
		case 's': *split = optarg; break;
		case 'q': *quiet = 1; break;
		case 'h': initramfs_usage(stdout); return -1;
		default: initramfs_usage(stderr); return EXIT_USAGE;
		}
	}
	if ((!o->output && !*split) || optind != argc ||
	    (*split && o->minimal)) {
		initramfs_usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* --split DIR: the per-NIC set. */
static int initramfs_split(const struct initramfs_opts *o, const char *dir,
			   int quiet)
{
	struct initramfs_split_result r;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "linkboot initramfs: %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	if (initramfs_build_split(o, dir, &r) != 0)
		return 1;	/* the builder logged what and why */
	if (!quiet)
		printf("%s: core %llu bytes, storage %llu bytes, %u NIC "
		       "archives, all NICs %llu bytes\n", dir,
		       (unsigned long long)r.core_bytes,
		       (unsigned long long)r.storage_bytes, r.nics,
		       (unsigned long long)r.all_nics_bytes);
	return 0;
}

int cmd_initramfs(struct lb_config *cfg, int argc, char **argv)
{
	static char root[512], kv[512];
	struct initramfs_result r;
	struct initramfs_opts o;
	const char *split = NULL;
	int quiet = 0, rc;

	(void)cfg;
	if ((rc = initramfs_parse(argc, argv, &o, &split, &quiet)) != 0)
		return rc < 0 ? 0 : rc;
	if (o.modules_root && (rc = modules_dir_split(&o, root, sizeof(root),
						      kv, sizeof(kv))) != 0)
		return rc;
	if (split)
		return initramfs_split(&o, split, quiet);
	if (initramfs_build(&o, &r) != 0)
		return 1;	/* the builder logged what and why */
	if (!quiet)
		printf("%s: kernel %s, %u modules, %u firmware files, %s%llu "
		       "bytes (%llu uncompressed)\n", o.output, r.kver,
		       r.modules, r.firmware, o.minimal ? "minimal, " : "",
		       (unsigned long long)r.bytes,
		       (unsigned long long)r.bytes_in);
	return 0;
}
