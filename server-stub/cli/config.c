/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options table: one entry = a long option, a config key, an env variable. */

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "lb_log.h"
#include "lb_util.h"

#define CONFIG_DIR "/etc/linkboot"
#define CONFIG_LINE_MAX 1024

enum opt_type {
	OPT_STR,
	OPT_INT,	/* 0 .. 2^30 */
	OPT_PORT,	/* 0 .. 65535 */
	OPT_BOOL,
	OPT_DHCP_MODE,
	OPT_SECURE_BOOT,	/* auto | on | off (enum secure_boot) */
	OPT_ADDR,	/* an IPv4 address, kept as text */
	OPT_RANGE,	/* "START,END", two IPv4 addresses, START <= END */
	OPT_CIDRS,	/* "ADDR[/BITS][,ADDR[/BITS]...]" */
};

/* What SIGHUP does with a changed value (config_apply_live()). */
enum opt_reload {
	RESTART,	/* read once at start: sockets, directories, modes */
	LIVE,		/* applied at once: read per request or connection,
			 * or handed to the service's reload() hook */
};

struct config_opt {
	const char *key;	/* snake_case; the option is --key-with-dashes */
	enum opt_type type;
	size_t off;		/* into struct lb_config */
	enum opt_reload reload;
	const char *arg;	/* argument name for --help */
	const char *help;
};

#define O(key, type, field, reload, arg, help) \
	{ key, type, offsetof(struct lb_config, field), reload, arg, help }

/*
 * The options. The reload column is the one place that says what a
 * reload applies; a LIVE option must be read where it is used (cfg->...
 * per request or connection), or be re-read by its service's reload()
 * hook (daemon.c): http_timeout (http), the loaders (tftp, dhcp),
 * dhcp_netmask/router/dns (dhcp), trusted_net (auth), verbose (daemon).
 */
static const struct config_opt config_opts[] = {
	O("config", OPT_STR, config_file, RESTART, "FILE|DIR", "read only this config file, or DIR/linkboot.conf + DIR/conf.d/*.conf (default DIR: " CONFIG_DIR ")"),
	O("state", OPT_STR, state_dir, RESTART, "DIR", "state: link DB, leases, boot packs"),
	O("store", OPT_STR, store_dir, RESTART, "DIR", "image store (files named by image ID)"),
	O("user", OPT_STR, user, RESTART, "USER", "started as root: drop to this user once ports are bound (default: linkboot if it exists; root keeps root)"),
	O("root", OPT_STR, root_dir, RESTART, "DIR", "extra files served over TFTP and HTTP"),
	O("ipxe_dir", OPT_STR, ipxe_dir, RESTART, "DIR", "stock iPXE binaries"),
	O("ipxe_build", OPT_STR, ipxe_build_dir, RESTART, "DIR", "custom iPXE build (ipxe-embed/), tried before --ipxe-dir"),
	O("listen", OPT_ADDR, listen, RESTART, "ADDR", "IPv4 address to listen on (0.0.0.0 = all)"),
	O("interface", OPT_STR, interface, RESTART, "IF", "serve on this interface only"),
	O("server_addr", OPT_ADDR, server_addr, RESTART, "ADDR", "address clients reach this server at (default: from --listen/--interface)"),
	O("dhcp", OPT_DHCP_MODE, dhcp_mode, RESTART, "MODE", "proxy (beside the site's DHCP), full (own leases) or off"),
	O("dhcp_range", OPT_RANGE, dhcp_range, RESTART, "START,END", "full mode: address range to lease"),
	O("dhcp_netmask", OPT_ADDR, dhcp_netmask, LIVE, "MASK", "full mode: subnet mask"),
	O("dhcp_router", OPT_ADDR, dhcp_router, LIVE, "ADDR", "full mode: default gateway"),
	O("dhcp_dns", OPT_ADDR, dhcp_dns, LIVE, "ADDR", "full mode: DNS server"),
	O("dhcp_lease_time", OPT_INT, dhcp_lease_time, LIVE, "SECONDS", "full mode: lease time"),
	O("dhcp_port", OPT_PORT, dhcp_port, RESTART, "PORT", "DHCP server port"),
	O("dhcp_client_port", OPT_PORT, dhcp_client_port, LIVE, "PORT", "DHCP client port answers go to"),
	O("proxy_port", OPT_PORT, proxy_port, RESTART, "PORT", "proxyDHCP (PXE boot server) port (0 = off)"),
	O("tftp_port", OPT_PORT, tftp_port, RESTART, "PORT", "TFTP port (0 = off)"),
	O("http_port", OPT_PORT, http_port, RESTART, "PORT", "HTTP port (0 = off)"),
	O("nbd_port", OPT_PORT, nbd_port, RESTART, "PORT", "NBD port (0 = off)"),
	O("iscsi_port", OPT_PORT, iscsi_port, RESTART, "PORT", "iSCSI port (0 = off)"),
	O("bios_loader", OPT_STR, bios_loader, LIVE, "FILE", "boot file for BIOS PXE (arch 0)"),
	O("efi_loader", OPT_STR, efi_loader, LIVE, "FILE", "boot file for x86-64 UEFI (arch 7, 9)"),
	O("arm64_loader", OPT_STR, arm64_loader, LIVE, "FILE", "boot file for ARM64 UEFI (arch 11)"),
	O("secure_boot", OPT_SECURE_BOOT, secure_boot, LIVE, "auto|on|off", "UEFI x64 PXE/HTTP clients get Debian's signed shim -> GRUB chain instead of iPXE: on, off, or auto (= per PC: `client set --secure-boot`; nothing in DHCP tells a Secure Boot PC, so auto alone gives iPXE)"),
	O("shim_dir", OPT_STR, shim_dir, RESTART, "DIR", "Secure Boot: shimx64.efi.signed and mmx64.efi.signed (Debian shim-signed, shim-helpers-amd64-signed)"),
	O("grub_signed_dir", OPT_STR, grub_signed_dir, RESTART, "DIR", "Secure Boot: grubnetx64.efi.signed (Debian grub-efi-amd64-signed), served as grubx64.efi"),
	O("router_advert", OPT_BOOL, router_advert, RESTART, "yes|no", "answer IPv6 router solicitations (iPXE waits ~15 s without)"),
	O("tftp_max_sessions", OPT_INT, tftp_max_sessions, LIVE, "N", "concurrent TFTP transfers"),
	O("tftp_max_per_ip", OPT_INT, tftp_max_per_ip, LIVE, "N", "concurrent TFTP transfers from one client address (0 = no cap)"),
	O("http_max_conns", OPT_INT, http_max_conns, LIVE, "N", "concurrent HTTP connections"),
	O("http_max_per_ip", OPT_INT, http_max_per_ip, LIVE, "N", "concurrent HTTP connections from one client address (0 = no cap)"),
	O("http_timeout", OPT_INT, http_timeout, LIVE, "SECONDS", "HTTP: close idle keep-alive connections, 408 for requests slower than this"),
	O("nbd_max_conns", OPT_INT, nbd_max_conns, LIVE, "N", "concurrent NBD connections"),
	O("nbd_max_per_ip", OPT_INT, nbd_max_per_ip, LIVE, "N", "concurrent NBD connections from one client address (0 = no cap)"),
	O("iscsi_max_conns", OPT_INT, iscsi_max_conns, LIVE, "N", "concurrent iSCSI connections"),
	O("nbd_idle_timeout", OPT_INT, nbd_idle_timeout, LIVE, "SECONDS", "close an NBD connection with no request for this long (0 = never; agents reconnect by themselves)"),
	O("boot_trace_seconds", OPT_INT, boot_trace_seconds, LIVE, "SECONDS", "boot packs: trace a version's first client boot for this long (0 = off)"),
	O("trusted_net", OPT_CIDRS, trusted_net, LIVE, "CIDR[,CIDR...]", "hand boot tickets to any host in these networks for the MAC it names, unchecked (only where every host is trusted, e.g. a relayed lab VLAN with port security; default: none)"),
	O("overlay_max", OPT_INT, overlay_max_mib, LIVE, "MiB", "a client's overlay on this server holds at most this much (write mode server; 0 = the image size); then writes fail with ENOSPC"),
	O("verbose", OPT_BOOL, verbose, LIVE, "yes|no", "log protocol detail (serve -v)"),
};

_Static_assert(ARRAY_SIZE(config_opts) <= CONFIG_NOPTS,
	       "raise CONFIG_NOPTS in config.h");

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
	cfg->secure_boot = SECURE_BOOT_AUTO;
	cfg->shim_dir = "/usr/lib/shim";
	cfg->grub_signed_dir = "/usr/lib/grub/x86_64-efi-signed";
	cfg->tftp_max_sessions = 256;
	/* per client address: a PC holds 1-4 NBD connections, a few HTTP
	 * ones and one TFTP transfer at a time; a flood from one host hits
	 * these long before the totals */
	cfg->tftp_max_per_ip = 8;
	cfg->http_max_conns = 1024;
	cfg->http_max_per_ip = 16;
	cfg->http_timeout = 30;
	cfg->nbd_max_conns = 1024;
	cfg->nbd_max_per_ip = 16;
	cfg->iscsi_max_conns = 1024;
	cfg->nbd_idle_timeout = 1800;
	cfg->boot_trace_seconds = 60;
}

void config_free(struct lb_config *cfg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cfg->owned); i++)
		free(cfg->owned[i]);
	config_defaults(cfg);
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

static int opt_is_string(const struct config_opt *o)
{
	return o->type == OPT_STR || o->type == OPT_ADDR ||
	       o->type == OPT_RANGE || o->type == OPT_CIDRS;
}

static size_t opt_index(const struct config_opt *o)
{
	return (size_t)(o - config_opts);
}

static const char **opt_str(struct lb_config *cfg, const struct config_opt *o)
{
	return (const char **)(void *)((char *)cfg + o->off);
}

static int *opt_int(struct lb_config *cfg, const struct config_opt *o)
{
	return (int *)(void *)((char *)cfg + o->off);
}

static const char *opt_get_str(const struct lb_config *cfg,
			       const struct config_opt *o)
{
	return *(const char *const *)(const void *)((const char *)cfg + o->off);
}

static int opt_get_int(const struct lb_config *cfg, const struct config_opt *o)
{
	return *(const int *)(const void *)((const char *)cfg + o->off);
}

static int valid_addr(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/* "START,END": two IPv4 addresses, START <= END */
static int valid_range(const char *s)
{
	const char *comma = strchr(s, ',');
	struct in_addr a, b;
	char first[INET_ADDRSTRLEN];

	if (!comma || (size_t)(comma - s) >= sizeof(first))
		return 0;
	memcpy(first, s, (size_t)(comma - s));
	first[comma - s] = '\0';
	return inet_pton(AF_INET, first, &a) == 1 &&
	       inet_pton(AF_INET, comma + 1, &b) == 1 &&
	       ntohl(a.s_addr) <= ntohl(b.s_addr);
}

/* "ADDR[/BITS]" separated by commas or spaces: the syntax boot_auth.c
 * trusted_parse() reads */
static int valid_cidrs(const char *s)
{
	char buf[CONFIG_LINE_MAX], *tok, *save = NULL;
	int n = 0;

	if (strlcpy_chk(buf, s, sizeof(buf)) != 0)
		return 0;
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save), n++) {
		char *slash = strchr(tok, '/');
		uint64_t bits;

		if (slash) {
			*slash = '\0';
			if (parse_u64(slash + 1, 0, 32, &bits) != 0)
				return 0;
		}
		if (!valid_addr(tok))
			return 0;
	}
	return n > 0;
}

static int parse_bool(const char *value, int *out)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "1") || !strcmp(value, "on"))
		*out = 1;
	else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		 !strcmp(value, "0") || !strcmp(value, "off"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

static int parse_dhcp_mode(const char *value, int *out)
{
	if (!strcmp(value, "off"))
		*out = DHCP_MODE_OFF;
	else if (!strcmp(value, "proxy"))
		*out = DHCP_MODE_PROXY;
	else if (!strcmp(value, "full"))
		*out = DHCP_MODE_FULL;
	else
		return -EINVAL;
	return 0;
}

int secure_boot_parse(const char *value)
{
	if (!strcmp(value, "auto"))
		return SECURE_BOOT_AUTO;
	if (!strcmp(value, "on"))
		return SECURE_BOOT_ON;
	if (!strcmp(value, "off"))
		return SECURE_BOOT_OFF;
	return -EINVAL;
}

const char *secure_boot_name(int v)
{
	switch (v) {
	case SECURE_BOOT_ON: return "on";
	case SECURE_BOOT_OFF: return "off";
	default: return "auto";
	}
}

/* Set a string option to copy (owned), or to a default's literal. */
static void opt_set_string(struct lb_config *cfg, const struct config_opt *o,
			   const char *value, char *copy)
{
	size_t i = opt_index(o);

	free(cfg->owned[i]);
	cfg->owned[i] = copy;
	*opt_str(cfg, o) = copy ? copy : value;
}

/* "key =" with nothing after it: the built-in default again. */
static void opt_reset(struct lb_config *cfg, const struct config_opt *o)
{
	struct lb_config d;

	config_defaults(&d);
	if (opt_is_string(o))
		opt_set_string(cfg, o, opt_get_str(&d, o), NULL);
	else
		*opt_int(cfg, o) = opt_get_int(&d, o);
}

static int config_set_opt(struct lb_config *cfg, const struct config_opt *o,
			  const char *value)
{
	uint64_t v;
	char *copy;
	int x;

	if (*value == '\0') {
		opt_reset(cfg, o);
		return 0;
	}
	switch (o->type) {
	case OPT_ADDR:
		if (!valid_addr(value))
			return -EINVAL;
		break;
	case OPT_RANGE:
		if (!valid_range(value))
			return -EINVAL;
		break;
	case OPT_CIDRS:
		if (!valid_cidrs(value))
			return -EINVAL;
		break;
	case OPT_STR:
		break;
	case OPT_INT:
	case OPT_PORT:
		if (parse_u64(value, 0, o->type == OPT_PORT ? 65535 : 1u << 30,
			      &v) != 0)
			return -EINVAL;
		*opt_int(cfg, o) = (int)v;
		return 0;
	case OPT_BOOL:
		if (parse_bool(value, &x) != 0)
			return -EINVAL;
		*opt_int(cfg, o) = x;
		return 0;
	case OPT_DHCP_MODE:
		if (parse_dhcp_mode(value, &x) != 0)
			return -EINVAL;
		*opt_int(cfg, o) = x;
		return 0;
	case OPT_SECURE_BOOT:
		if ((x = secure_boot_parse(value)) < 0)
			return -EINVAL;
		*opt_int(cfg, o) = x;
		return 0;
	}
	if (!(copy = strdup(value)))
		return -ENOMEM;
	opt_set_string(cfg, o, NULL, copy);
	return 0;
}

int config_set(struct lb_config *cfg, const char *key, const char *value)
{
	const struct config_opt *o = config_find(key);

	if (!o)
		return -ENOENT;
	return config_set_opt(cfg, o, value);
}

int config_set_arg(struct lb_config *cfg, const char *key, const char *value)
{
	const struct config_opt *o = config_find(key);
	int rc;

	if (!o)
		return -ENOENT;
	if ((rc = config_set_opt(cfg, o, value)) == 0)
		cfg->cmdline[opt_index(o)] = value;
	return rc;
}

int config_is_live(const char *key)
{
	const struct config_opt *o = config_find(key);

	return o ? o->reload == LIVE : -ENOENT;
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

static const char *const config_sections[] = {
	"server", "dhcp", "tftp", "http", "nbd", "iscsi", "defaults",
};

/* "[name]": a known section is for the reader; anything else is an
 * error, in particular the per-group / per-PC sections an old design
 * had here: those settings are in the link DB. */
static int config_section(const char *s, const char *path, int lineno)
{
	size_t n = strlen(s), i;

	if (n < 3 || s[n - 1] != ']') {
		log_err("config %s:%d: expected [section]", path, lineno);
		return -EINVAL;
	}
	if (!strncmp(s, "[group:", 7)) {
		log_err("config %s:%d: %s: per-group settings live in the link "
			"DB, not here: `linkboot client set --group G ...`",
			path, lineno, s);
		return -EINVAL;
	}
	if (!strncmp(s, "[mac:", 5)) {
		log_err("config %s:%d: %s: per-PC settings live in the link "
			"DB, not here: `linkboot client set MAC ...`", path,
			lineno, s);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(config_sections); i++)
		if (strlen(config_sections[i]) == n - 2 &&
		    !strncmp(s + 1, config_sections[i], n - 2))
			return 0;
	log_err("config %s:%d: unknown section %s (sections: [server] [dhcp] "
		"[tftp] [http] [nbd] [defaults])", path, lineno, s);
	return -EINVAL;
}

/* "key = value" */
static int config_key(struct lb_config *cfg, char *s, const char *path,
		      int lineno)
{
	const struct config_opt *o;
	char *eq = strchr(s, '=');
	const char *key, *value;
	int rc;

	if (!eq) {
		log_err("config %s:%d: expected key = value", path, lineno);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (!(o = config_find(key))) {
		log_err("config %s:%d: unknown key '%s' (see `linkboot serve "
			"--help`)", path, lineno, key);
		return -ENOENT;
	}
	if (o->off == offsetof(struct lb_config, config_file)) {
		log_err("config %s:%d: 'config' names the file to read: give "
			"it as --config or LINKBOOT_CONFIG", path, lineno);
		return -EINVAL;
	}
	if ((rc = config_set_opt(cfg, o, value)) != 0)
		log_err("config %s:%d: bad value '%s' for '%s' (expected %s)",
			path, lineno, value, key, o->arg);
	return rc;
}

/* Read path into cfg. Every error is logged (file:line), reading goes
 * on, so `linkboot check` shows them all; the first is returned. */
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
		size_t len = strlen(line);
		char *s;
		int r;

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' &&
		    !feof(f)) {
			int c;

			log_err("config %s:%d: line longer than %d bytes", path,
				lineno, CONFIG_LINE_MAX - 2);
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			r = -EINVAL;
		} else if (*(s = trim(line)) == '\0' || *s == '#' || *s == ';') {
			r = 0;
		} else if (*s == '[') {
			r = config_section(s, path, lineno);
		} else {
			r = config_key(cfg, s, path, lineno);
		}
		if (r && !rc)
			rc = r;
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

/* dir/ *.conf in name order (alphasort: strcoll, so "10-x" < "20-y" as
 * systemd's drop-ins); a later file overrides an earlier one's keys. */
static int config_load_dir(struct lb_config *cfg, const char *dir)
{
	struct dirent **names;
	char path[4096];
	int n, i, rc = 0, r;

	n = scandir(dir, &names, conf_d_filter, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		log_err("config %s: %s", dir, strerror(errno));
		return rc;
	}
	for (i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir,
			     names[i]->d_name) >= (int)sizeof(path)) {
			log_err("config %s/%s: path too long", dir,
				names[i]->d_name);
			r = -ENAMETOOLONG;
		} else {
			r = config_load_file(cfg, path, 1);
		}
		if (r && !rc)
			rc = r;
		free(names[i]);
	}
	free(names);
	return rc;
}

static int config_load_env(struct lb_config *cfg)
{
	char name[80];
	size_t i, j;
	int rc = 0;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++) {
		const char *v;

		snprintf(name, sizeof(name), "LINKBOOT_%s", config_opts[i].key);
		for (j = 0; name[j]; j++)
			name[j] = (char)toupper((unsigned char)name[j]);
		if (!(v = getenv(name)) || !*v)
			continue;
		if (config_set_opt(cfg, &config_opts[i], v) != 0) {
			log_err("environment %s: bad value '%s' (expected %s)",
				name, v, config_opts[i].arg);
			rc = -EINVAL;
		}
	}
	return rc;
}

/* The command line's options again, over files and environment. */
static int config_load_cmdline(struct lb_config *cfg)
{
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++)
		if (cfg->cmdline[i] &&
		    (rc = config_set_opt(cfg, &config_opts[i],
					 cfg->cmdline[i])) != 0)
			return rc;	/* checked when parsed: only ENOMEM */
	return 0;
}

/* dir/linkboot.conf (if there is one), then dir/conf.d/ *.conf */
static int config_load_tree(struct lb_config *cfg, const char *dir)
{
	char path[4096];
	int rc, r;

	if (snprintf(path, sizeof(path), "%s/linkboot.conf", dir) >=
	    (int)sizeof(path)) {
		log_err("config %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	rc = config_load_file(cfg, path, 0);
	snprintf(path, sizeof(path), "%s/conf.d", dir);	/* shorter */
	if ((r = config_load_dir(cfg, path)) != 0 && !rc)
		rc = r;
	return rc;
}

int config_load(struct lb_config *cfg)
{
	const char *cf = getenv("LINKBOOT_CONFIG");
	struct stat st;
	int rc, r;

	if (cfg->config_file)
		cf = cfg->config_file;
	if (!cf || !*cf)
		rc = config_load_tree(cfg, CONFIG_DIR);
	else if (stat(cf, &st) == 0 && S_ISDIR(st.st_mode))
		rc = config_load_tree(cfg, cf);	/* --config DIR */
	else
		rc = config_load_file(cfg, cf, 1);
	if ((r = config_load_env(cfg)) != 0 && !rc)
		rc = r;
	if (rc)
		return rc;
	return config_load_cmdline(cfg);
}

const char *config_source(const struct lb_config *cfg)
{
	const char *cf = getenv("LINKBOOT_CONFIG");

	if (cfg->config_file)
		cf = cfg->config_file;
	return cf && *cf ? cf : CONFIG_DIR;
}

int config_reread(const struct lb_config *cur, struct lb_config *next)
{
	int rc;

	config_defaults(next);
	memcpy(next->cmdline, cur->cmdline, sizeof(next->cmdline));
	/* --config first: it says which file to read */
	rc = config_load_cmdline(next);
	return rc ? rc : config_load(next);
}

/*
 * Options a command has of its own under a config option's name: there
 * the command's meaning wins (`client set MAC --secure-boot on` is the
 * PC's setting, not the server's).
 */
static const struct {
	const char *command, *key;
} command_own_opts[] = {
	{ "client", "secure-boot" },
};

static int command_owns(const char *command, const char *key)
{
	size_t i;

	for (i = 0; command && i < ARRAY_SIZE(command_own_opts); i++)
		if (!strcmp(command_own_opts[i].command, command) &&
		    !strcmp(command_own_opts[i].key, key))
			return 1;
	return 0;
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
		if (!(o = config_find(key)) || command_owns(argv[0], key)) {
			if (!strict || o) {
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
		cfg->cmdline[opt_index(o)] = val;
	}
	return 1 + nops;	/* new argc */
}

/* o's value in cfg as the config file spells it. */
static const char *opt_format(const struct lb_config *cfg,
			      const struct config_opt *o, char *buf,
			      size_t bufsz)
{
	static const char *const modes[] = { "off", "proxy", "full" };
	int v;

	if (opt_is_string(o))
		return opt_get_str(cfg, o) ? opt_get_str(cfg, o) : "";
	v = opt_get_int(cfg, o);
	switch (o->type) {
	case OPT_BOOL:
		return v ? "yes" : "no";
	case OPT_DHCP_MODE:
		return modes[(unsigned)v % ARRAY_SIZE(modes)];
	case OPT_SECURE_BOOT:
		return secure_boot_name(v);
	default:
		snprintf(buf, bufsz, "%d", v);
		return buf;
	}
}

static int opt_equal(const struct lb_config *a, const struct lb_config *b,
		     const struct config_opt *o)
{
	const char *x, *y;

	if (!opt_is_string(o))
		return opt_get_int(a, o) == opt_get_int(b, o);
	x = opt_get_str(a, o);
	y = opt_get_str(b, o);
	return x == y || (x && y && !strcmp(x, y));
}

/* Move o's value from next into cur; next keeps cur's old one (and the
 * string it owned, freed with next). */
static void opt_move(struct lb_config *cur, struct lb_config *next,
		     const struct config_opt *o)
{
	size_t i = opt_index(o);
	const char *s;
	char *owned;
	int v;

	if (!opt_is_string(o)) {
		v = *opt_int(cur, o);
		*opt_int(cur, o) = *opt_int(next, o);
		*opt_int(next, o) = v;
		return;
	}
	s = *opt_str(cur, o);
	*opt_str(cur, o) = *opt_str(next, o);
	*opt_str(next, o) = s;
	owned = cur->owned[i];
	cur->owned[i] = next->owned[i];
	next->owned[i] = owned;
}

int config_apply_live(struct lb_config *cur, struct lb_config *next)
{
	char a[24], b[24];
	int changed = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++) {
		const struct config_opt *o = &config_opts[i];
		const char *was, *now;

		if (opt_equal(cur, next, o))
			continue;
		was = opt_format(cur, o, a, sizeof(a));
		now = opt_format(next, o, b, sizeof(b));
		if (o->reload == RESTART) {
			log_warnx("reload: %s changed ('%s' -> '%s'): takes "
				  "effect after a restart", o->key, was, now);
			continue;
		}
		log_info("reload: %s = '%s' (was '%s')", o->key, now, was);
		opt_move(cur, next, o);
		changed++;
	}
	return changed;
}

void config_usage(FILE *out)
{
	char opt[64];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(config_opts); i++) {
		const struct config_opt *o = &config_opts[i];

		/* a bool needs no argument: --verbose, --router-advert=no */
		snprintf(opt, sizeof(opt), o->type == OPT_BOOL ? "--%s[=%s]"
			 : "--%s %s", o->key, o->arg);
		for (j = 2; opt[j] && opt[j] != ' ' && opt[j] != '['; j++)
			if (opt[j] == '_')
				opt[j] = '-';
		fprintf(out, "  %-32s %s%s\n", opt, o->help,
			o->reload == LIVE ? " [live]" : "");
	}
}

void config_dump(const struct lb_config *cfg, FILE *out)
{
	char buf[24];
	size_t i;

	fprintf(out, "[server]\n");
	for (i = 0; i < ARRAY_SIZE(config_opts); i++)
		fprintf(out, "%s = %s\n", config_opts[i].key,
			opt_format(cfg, &config_opts[i], buf, sizeof(buf)));
}
