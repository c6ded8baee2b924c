/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

/*
 * Server configuration. Each long option is a config key and an environment
 * variable, as in LTSP: --tftp-port / tftp_port= / LINKBOOT_TFTP_PORT.
 * Precedence: built-in default < config file < environment < command line.
 *
 * The config file is INI: /etc/linkboot/linkboot.conf, then
 * /etc/linkboot/conf.d/ *.conf in name order, later files overriding
 * earlier ones; --config FILE (or LINKBOOT_CONFIG) reads only FILE,
 * --config DIR reads DIR/linkboot.conf and DIR/conf.d instead. Keys may appear
 * under [server], [dhcp], [tftp], [http], [nbd] or [defaults]; the section
 * is for humans, the key names one option. An unknown key, a bad value and
 * any other section ([group:NAME], [mac:...]: per-group and per-PC settings
 * live in the link DB) are errors naming file and line: config edits are
 * never silently ignored (netboot.xyz#957). "key =" with no value restores
 * the built-in default.
 *
 * SIGHUP (`systemctl reload linkboot`) reads files and environment again,
 * the command line still on top (config_reread), and applies the options
 * marked live in config.c's table; a changed restart-only option is
 * reported and keeps its running value (config_apply_live).
 */

#include <stdio.h>

/* Room for the options table (config.c checks it at compile time). */
#define CONFIG_NOPTS 48

enum dhcp_mode {
	DHCP_MODE_OFF,
	DHCP_MODE_PROXY,
	DHCP_MODE_FULL,
};

/*
 * Which loader a UEFI x64 PC gets (config secure_boot, a link's
 * --secure-boot): Debian's signed shim -> GRUB chain (on) or iPXE (off).
 * auto: a link's auto defers to the server's; the server's auto is iPXE,
 * since nothing in a DHCP request says whether Secure Boot is on.
 */
enum secure_boot {
	SECURE_BOOT_AUTO,
	SECURE_BOOT_ON,
	SECURE_BOOT_OFF,
};

/* "auto" | "on" | "off" -> enum secure_boot, or -EINVAL; and back. */
int secure_boot_parse(const char *value);
const char *secure_boot_name(int v);

struct lb_config {
	const char *config_file;	/* --config FILE|DIR, else NULL */
	const char *state_dir;		/* DB, leases, boot packs */
	const char *store_dir;		/* image files, named by image ID */
	const char *user;		/* --user: drop root to this user */
	const char *root_dir;		/* extra files for TFTP/HTTP, or NULL */
	const char *ipxe_dir;		/* stock iPXE binaries (Debian) */
	const char *ipxe_build_dir;	/* custom iPXE build, tried first */
	const char *listen;		/* address to bind; "0.0.0.0" = all */
	const char *interface;		/* bind to this interface, or NULL */
	const char *server_addr;	/* address clients reach us at (URLs,
					 * DHCP siaddr); default: derived */
	int dhcp_mode;			/* enum dhcp_mode */
	const char *dhcp_range;		/* "START,END" (full mode) */
	const char *dhcp_netmask;	/* full mode: option 1 */
	const char *dhcp_router;	/* full mode: option 3 */
	const char *dhcp_dns;		/* full mode: option 6 */
	int dhcp_lease_time;		/* full mode: seconds */
	int dhcp_port;			/* 67 */
	int dhcp_client_port;		/* 68 */
	int proxy_port;			/* 4011 */
	int tftp_port;			/* 69 */
	int http_port;			/* 80 */
	int nbd_port;			/* 10809 */
	int iscsi_port;			/* 3260 */
	const char *bios_loader;	/* arch 0 */
	const char *efi_loader;		/* arch 7/9 */
	const char *arm64_loader;	/* arch 11 */
	int router_advert;		/* answer IPv6 router solicitations */
	int secure_boot;		/* enum secure_boot, server-wide */
	const char *shim_dir;		/* Debian's signed shim + MokManager */
	const char *grub_signed_dir;	/* Debian's signed network GRUB */
	int tftp_max_sessions;
	int tftp_max_per_ip;		/* transfers per client address, 0 = no cap */
	int http_max_conns;
	int http_max_per_ip;		/* connections per client address, 0 = no cap */
	int http_timeout;		/* seconds: idle / slow request */
	int nbd_max_conns;
	int nbd_max_per_ip;		/* connections per client address, 0 = no cap */
	int iscsi_max_conns;
	int nbd_idle_timeout;		/* seconds without a request, 0 = off */
	int boot_trace_seconds;		/* boot pack trace window, 0 = off */
	int overlay_max_mib;		/* per-client server overlay, 0 = size */
	const char *trusted_net;	/* "CIDR,..." whose hosts get boot
					 * tickets unchecked, or NULL */
	int verbose;			/* log protocol detail (debug level) */

	/* not options: how this configuration came about */
	const char *cmdline[CONFIG_NOPTS]; /* per option (table order): its
					 * value on the command line, or NULL;
					 * re-applied over files on reload */
	char *owned[CONFIG_NOPTS];	/* per option: the string this config
					 * allocated for it (config_free) */
};

/* Fill *cfg with built-in defaults. */
void config_defaults(struct lb_config *cfg);

/* Free the strings cfg allocated; cfg then holds defaults. */
void config_free(struct lb_config *cfg);

/*
 * Load config files then environment into cfg, then the command line's
 * options again on top (config_parse_args() recorded them). Returns 0, or
 * -errno after logging every error with file:line and key.
 */
int config_load(struct lb_config *cfg);

/*
 * Parse "--key=value" / "--key value" arguments of `linkboot serve` (and
 * other commands sharing these options). Options are applied and recorded
 * in cfg->cmdline, operands are moved to argv[1..]; returns the new argc,
 * or -EINVAL after printing what was wrong (the caller exits 2). With
 * strict == 0 an option that is not a config key is left in argv for the
 * command's own parser. Call before config_load().
 */
int config_parse_args(struct lb_config *cfg, int argc, char **argv,
		      int strict);

/* Set one option by its key name ("tftp_port" or "tftp-port"): 0,
 * -ENOENT (no such key), -EINVAL (bad value), -ENOMEM. */
int config_set(struct lb_config *cfg, const char *key, const char *value);

/* The same, as if given on the command line (a short option such as
 * serve's -v): it keeps precedence over files on reload. value must live
 * as long as cfg. */
int config_set_arg(struct lb_config *cfg, const char *key, const char *value);

/* The config file or directory config_load() reads. */
const char *config_source(const struct lb_config *cfg);

/*
 * Read the configuration again as at start, for SIGHUP: defaults, files,
 * environment, then cur's command-line options, into *next (which the
 * caller frees with config_free). 0, or -errno after logging file:line.
 */
int config_reread(const struct lb_config *cur, struct lb_config *next);

/*
 * Apply a reread configuration: every live option whose value differs is
 * moved from next into cur and logged ("http_timeout = 5 (was 30)"); a
 * changed restart-only option is logged ("nbd_port changed (10809 ->
 * 10810): takes effect after a restart") and cur keeps its value. Returns
 * the number of live options changed.
 */
int config_apply_live(struct lb_config *cur, struct lb_config *next);

/* Is key ("http_timeout" or "http-timeout") applied by a reload? 1, 0, or
 * -ENOENT. */
int config_is_live(const char *key);

/* Print the options table (for --help); live options are marked. */
void config_usage(FILE *out);

/* Print the effective configuration as INI (for `linkboot info`). */
void config_dump(const struct lb_config *cfg, FILE *out);

#endif
