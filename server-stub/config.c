/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options table: one entry = a long option, a config key, an env variable. */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lb_log.h"
#include "lb_util.h"

#define CONFIG_DIR "/etc/linkboot"
#define CONFIG_LINE_MAX 1024

enum opt_type {
	OPT_STR,
	OPT_INT,
	OPT_BOOL,
	OPT_DHCP_MODE,
};

struct config_opt {
	const char *key;	/* snake_case; the option is --key-with-dashes */
	enum opt_type type;
	size_t off;		/* into struct lb_config */
	const char *arg;	/* argument name for --help */
	const char *help;
};

#define O(key, type, field, arg, help) \
	{ key, type, offsetof(struct lb_config, field), arg, help }

static const struct config_opt config_opts[] = {
	O("config", OPT_STR, config_file, "FILE", "config file (default " CONFIG_DIR "/linkboot.conf + conf.d/*.conf)"),
	O("state", OPT_STR, state_dir, "DIR", "state: link DB, leases, boot packs"),
	O("store", OPT_STR, store_dir, "DIR", "image store (files named by image ID)"),
	O("root", OPT_STR, root_dir, "DIR", "extra files served over TFTP and HTTP"),
	O("ipxe_dir", OPT_STR, ipxe_dir, "DIR", "stock iPXE binaries"),
	O("ipxe_build", OPT_STR, ipxe_build_dir, "DIR", "custom iPXE build (ipxe-embed/), tried before --ipxe-dir"),
	O("listen", OPT_STR, listen, "ADDR", "IPv4 address to listen on (0.0.0.0 = all)"),
	O("interface", OPT_STR, interface, "IF", "serve on this interface only"),
	O("server_addr", OPT_STR, server_addr, "ADDR", "address clients reach this server at (default: from --listen/--interface)"),
	O("dhcp", OPT_DHCP_MODE, dhcp_mode, "MODE", "proxy (beside the site's DHCP), full (own leases) or off"),
	O("dhcp_range", OPT_STR, dhcp_range, "START,END", "full mode: address range to lease"),
	O("dhcp_netmask", OPT_STR, dhcp_netmask, "MASK", "full mode: subnet mask"),
	O("dhcp_router", OPT_STR, dhcp_router, "ADDR", "full mode: default gateway"),
	O("dhcp_dns", OPT_STR, dhcp_dns, "ADDR", "full mode: DNS server"),
	O("dhcp_lease_time", OPT_INT, dhcp_lease_time, "SECONDS", "full mode: lease time"),
	O("dhcp_port", OPT_INT, dhcp_port, "PORT", "DHCP server port"),
	O("dhcp_client_port", OPT_INT, dhcp_client_port, "PORT", "DHCP client port answers go to"),
	O("proxy_port", OPT_INT, proxy_port, "PORT", "proxyDHCP (PXE boot server) port"),
	O("tftp_port", OPT_INT, tftp_port, "PORT", "TFTP port (0 = off)"),
	O("http_port", OPT_INT, http_port, "PORT", "HTTP port (0 = off)"),
	O("nbd_port", OPT_INT, nbd_port, "PORT", "NBD port (0 = off)"),
	O("iscsi_port", OPT_INT, iscsi_port, "PORT", "iSCSI port (0 = off)"),
	O("bios_loader", OPT_STR, bios_loader, "FILE", "boot file for BIOS PXE (arch 0)"),
	O("efi_loader", OPT_STR, efi_loader, "FILE", "boot file for x86-64 UEFI (arch 7, 9)"),
	O("arm64_loader", OPT_STR, arm64_loader, "FILE", "boot file for ARM64 UEFI (arch 11)"),
	O("router_advert", OPT_BOOL, router_advert, "yes|no", "answer IPv6 router solicitations (iPXE waits ~15 s without)"),
	O("tftp_max_sessions", OPT_INT, tftp_max_sessions, "N", "concurrent TFTP transfers"),
	O("http_max_conns", OPT_INT, http_max_conns, "N", "concurrent HTTP connections"),
	O("http_timeout", OPT_INT, http_timeout, "SECONDS", "HTTP: close idle keep-alive connections, 408 for requests slower than this"),
	O("nbd_max_conns", OPT_INT, nbd_max_conns, "N", "concurrent NBD connections"),
	O("iscsi_max_conns", OPT_INT, iscsi_max_conns, "N", "concurrent iSCSI connections"),
	O("iscsi_chap_user", OPT_STR, iscsi_chap_user, "NAME", "iSCSI: the CHAP_N initiators must give (default: any)"),
	O("iscsi_chap_secret", OPT_STR, iscsi_chap_secret, "SECRET", "iSCSI: require CHAP with this secret for every target (temporary: per-link secrets later)"),
	O("iscsi_chap_target_secret", OPT_STR, iscsi_chap_target_secret, "SECRET", "iSCSI: the target's own secret for mutual CHAP"),
	O("boot_trace_seconds", OPT_INT, boot_trace_seconds, "SECONDS", "boot packs: trace a version's first client boot for this long (0 = off)"),
	O("overlay_max", OPT_INT, overlay_max_mib, "MiB", "a client's overlay on this server holds at most this much (write mode server; 0 = the image size); then writes fail with ENOSPC"),
};

void config_defaults(struct lb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->state_dir = "/var/lib/linkboot";
	cfg->store_dir = NULL;	/* default: <state>/store, see below */
	cfg->ipxe_dir = "/usr/lib/ipxe";
	cfg->listen = "0.0.0.0";
	cfg->dhcp_mode = DHCP_MODE_PROXY;
	cfg->dhcp_lease_time = 3600;
	cfg->dhcp_port = 67;
	cfg->dhcp_client_port = 68;
	cfg->proxy_port = 4011;
	cfg->tftp_port = 69;
	cfg->http_port = 80;
	cfg->nbd_port = 10809;
	cfg->iscsi_port = 3260;
	cfg->bios_loader = "undionly.kpxe";
	cfg->efi_loader = "snponly.efi";
	cfg->arm64_loader = "arm64-efi/snponly.efi";
	cfg->router_advert = 1;
	cfg->tftp_max_sessions = 256;
	cfg->http_max_conns = 1024;
	cfg->http_timeout = 30;
	cfg->nbd_max_conns = 1024;
	cfg->iscsi_max_conns = 1024;
	cfg->boot_trace_seconds = 60;
}

static const struct config_opt *config_find(const char *key)
{
	char norm[64];
	size_t i;

	for (i = 0; key[i] && i < sizeof(norm) - 1; i++)
		norm[i] = key[i] == '-' ? '_' : key[i];
	norm[i] = '\0';
	for (i = 0; i < ARRAY_SIZE(config_opts); i++)
		if (strcmp(config_opts[i].key, norm) == 0)
			return &config_opts[i];
	return NULL;
}

/*
 * Strings set from files, environment and arguments live until exit (the
 * config is read a few times per run); they are kept here so a value that
 * is set again frees the old copy and exit frees the rest.
 */
static char *config_strings[2 * ARRAY_SIZE(config_opts)];

static void config_free_strings(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_strings); i++) {
		free(config_strings[i]);
		config_strings[i] = NULL;
	}
}

/* Record copy as owned, releasing old if it was ours. */
static void config_own(const char *old, char *copy)
{
	static int registered;
	size_t i, slot = ARRAY_SIZE(config_strings);

	if (!registered) {
		atexit(config_free_strings);
		registered = 1;
	}
	for (i = 0; i < ARRAY_SIZE(config_strings); i++) {
		if (old && config_strings[i] == old) {
			free(config_strings[i]);
			config_strings[i] = NULL;
		}
		if (!config_strings[i] && slot == ARRAY_SIZE(config_strings))
			slot = i;
	}
	/* more distinct strings than slots cannot happen (two per option);
	 * if it did, the copy would just live until exit */
	if (slot < ARRAY_SIZE(config_strings))
		config_strings[slot] = copy;
}

static int config_set_opt(struct lb_config *cfg, const struct config_opt *o,
			  const char *value)
{
	char *field = (char *)cfg + o->off;
	uint64_t v;
	char *copy;

	switch (o->type) {
	case OPT_STR:
		if (!(copy = strdup(value)))
			return -ENOMEM;
		config_own(*(const char **)field, copy);
		*(const char **)field = copy;
		return 0;
	case OPT_INT:
		if (parse_u64(value, 0, 1u << 30, &v) != 0)
			return -EINVAL;
		*(int *)field = (int)v;
		return 0;
	case OPT_BOOL:
		if (!strcmp(value, "yes") || !strcmp(value, "true") ||
		    !strcmp(value, "1") || !strcmp(value, "on"))
			*(int *)field = 1;
		else if (!strcmp(value, "no") || !strcmp(value, "false") ||
			 !strcmp(value, "0") || !strcmp(value, "off"))
			*(int *)field = 0;
		else
			return -EINVAL;
		return 0;
	case OPT_DHCP_MODE:
		if (!strcmp(value, "off"))
			*(int *)field = DHCP_MODE_OFF;
		else if (!strcmp(value, "proxy"))
			*(int *)field = DHCP_MODE_PROXY;
		else if (!strcmp(value, "full"))
			*(int *)field = DHCP_MODE_FULL;
		else
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

int config_set(struct lb_config *cfg, const char *key, const char *value)
{
	const struct config_opt *o = config_find(key);

	if (!o)
		return -ENOENT;
	return config_set_opt(cfg, o, value);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int config_load_file(struct lb_config *cfg, const char *path,
			    int must_exist)
{
	char line[CONFIG_LINE_MAX];
	FILE *f = fopen(path, "re");
	int lineno = 0;
	int rc = 0;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		rc = -errno;
		log_err("config %s: cannot open: %s", path, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line);
		char *eq;
		int r;

		lineno++;
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			/* [group:NAME] / [mac:..] hold link defaults read by
			 * the link DB code, not server options */
			if (!strncmp(s, "[group:", 7) || !strncmp(s, "[mac:", 5))
				break;
			continue;
		}
		if (!(eq = strchr(s, '='))) {
			log_err("config %s:%d: expected key = value", path,
				lineno);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		r = config_set(cfg, trim(s), trim(eq + 1));
		if (r == -ENOENT) {
			log_err("config %s:%d: unknown key '%s' (see `linkboot serve --help`)",
				path, lineno, trim(s));
			rc = r;
			break;
		} else if (r) {
			log_err("config %s:%d: bad value for '%s'", path,
				lineno, trim(s));
			rc = r;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int conf_d_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	       !strcmp(d->d_name + n - 5, ".conf");
}

static int config_load_dir(struct lb_config *cfg, const char *dir)
{
	struct dirent **names;
	char path[4096];
	int n, i, rc = 0;

	n = scandir(dir, &names, conf_d_filter, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (!rc)
			rc = config_load_file(cfg, path, 1);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int config_load_env(struct lb_config *cfg)
{
	char name[80];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++) {
		const char *v;

		snprintf(name, sizeof(name), "LINKBOOT_%s", config_opts[i].key);
		for (j = 0; name[j]; j++)
			name[j] = (char)toupper((unsigned char)name[j]);
		if (!(v = getenv(name)) || !*v)
			continue;
		if (config_set_opt(cfg, &config_opts[i], v) != 0) {
			log_err("environment %s: bad value '%s'", name, v);
			return -EINVAL;
		}
	}
	return 0;
}

int config_load(struct lb_config *cfg)
{
	const char *cf = getenv("LINKBOOT_CONFIG");
	int rc;

	if (cfg->config_file)
		cf = cfg->config_file;
	if (cf) {
		rc = config_load_file(cfg, cf, 1);
	} else {
		rc = config_load_file(cfg, CONFIG_DIR "/linkboot.conf", 0);
		if (!rc)
			rc = config_load_dir(cfg, CONFIG_DIR "/conf.d");
	}
	if (!rc)
		rc = config_load_env(cfg);
	return rc;
}

int config_parse_args(struct lb_config *cfg, int argc, char **argv,
		      int strict)
{
	int i, nops = 0;

	/* operands are collected at the front, options consumed in place */
	for (i = 1; i < argc; i++) {
		const struct config_opt *o;
		char key[64];
		const char *arg = argv[i];
		const char *val = NULL;
		const char *eq;
		int rc;

		if (strcmp(arg, "--") == 0) {
			while (++i < argc)
				argv[1 + nops++] = argv[i];
			break;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			argv[1 + nops++] = argv[i];
			continue;
		}
		eq = strchr(arg + 2, '=');
		snprintf(key, sizeof(key), "%.*s",
			 (int)(eq ? eq - (arg + 2) : (ptrdiff_t)strlen(arg + 2)),
			 arg + 2);
		if (!(o = config_find(key))) {
			if (!strict) {
				/* the command's own option: leave it */
				argv[1 + nops++] = argv[i];
				continue;
			}
			fprintf(stderr, "linkboot: unknown option '--%s' (see --help)\n",
				key);
			return -EINVAL;
		}
		if (eq) {
			val = eq + 1;
		} else if (o->type == OPT_BOOL) {
			val = "yes";
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "linkboot: option '--%s' needs %s\n",
				key, o->arg);
			return -EINVAL;
		}
		if ((rc = config_set_opt(cfg, o, val)) != 0) {
			fprintf(stderr, "linkboot: bad value '%s' for --%s (expected %s)\n",
				val, key, o->arg);
			return rc;
		}
	}
	return 1 + nops;	/* new argc */
}

void config_usage(FILE *out)
{
	char opt[64];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++) {
		const struct config_opt *o = &config_opts[i];

		snprintf(opt, sizeof(opt), "--%s %s", o->key, o->arg);
		for (j = 2; opt[j] && opt[j] != ' '; j++)
			if (opt[j] == '_')
				opt[j] = '-';
		fprintf(out, "  %-32s %s\n", opt, o->help);
	}
}

void config_dump(const struct lb_config *cfg, FILE *out)
{
	size_t i;

	fprintf(out, "[server]\n");
	for (i = 0; i < ARRAY_SIZE(config_opts); i++) {
		const struct config_opt *o = &config_opts[i];
		const char *field = (const char *)cfg + o->off;
		static const char *const modes[] = { "off", "proxy", "full" };

		switch (o->type) {
		case OPT_STR: {
			const char *s = *(const char *const *)field;

			fprintf(out, "%s = %s\n", o->key, s ? s : "");
			break;
		}
		case OPT_INT:
			fprintf(out, "%s = %d\n", o->key, *(const int *)field);
			break;
		case OPT_BOOL:
			fprintf(out, "%s = %s\n", o->key,
				*(const int *)field ? "yes" : "no");
			break;
		case OPT_DHCP_MODE:
			fprintf(out, "%s = %s\n", o->key,
				modes[*(const int *)field % 3]);
			break;
		}
	}
}
