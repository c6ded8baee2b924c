/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

/*
 * Server configuration. Each long option is a config key and an environment
 * variable, as in LTSP: --tftp-port / tftp_port= / LINKBOOT_TFTP_PORT.
 * Precedence: built-in default < config file < environment < command line.
 *
 * The config file is INI: /etc/linkboot/linkboot.conf, then
 * /etc/linkboot/conf.d/ *.conf in name order (or --config FILE). Keys may
 * appear under [server], [dhcp], [tftp], [http], [nbd] or [defaults]; the
 * section is for humans, the key names one option. An unknown key is an
 * error naming file and line: config edits are never silently ignored
 * (netboot.xyz#957).
 */

#include <stdio.h>

enum dhcp_mode {
	DHCP_MODE_OFF,
	DHCP_MODE_PROXY,
	DHCP_MODE_FULL,
};

struct lb_config {
	const char *config_file;	/* explicit --config, else NULL */
	const char *state_dir;		/* DB, leases, boot packs */
	const char *store_dir;		/* image files, named by image ID */
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
	int tftp_max_sessions;
	int http_max_conns;
	int http_timeout;		/* seconds: idle / slow request */
	int nbd_max_conns;
	int iscsi_max_conns;
	/* iSCSI CHAP (temporary: one set for every target, see
	 * iscsi_target_chap()); NULL/"" = no CHAP */
	const char *iscsi_chap_user;
	const char *iscsi_chap_secret;
	const char *iscsi_chap_target_secret;
	int boot_trace_seconds;		/* boot pack trace window, 0 = off */
	int overlay_max_mib;		/* per-client server overlay, 0 = size */
	int verbose;
};

/* Fill *cfg with built-in defaults. */
void config_defaults(struct lb_config *cfg);

/*
 * Load config files then environment into cfg. Returns 0, or -errno after
 * printing an error that names file:line and key.
 */
int config_load(struct lb_config *cfg);

/*
 * Parse "--key=value" / "--key value" arguments of `linkboot serve` (and
 * other commands sharing these options). Options are consumed, operands are
 * moved to argv[1..]; returns the new argc, or -EINVAL after printing what
 * was wrong (the caller exits 2). With strict == 0 an option that is not a
 * config key is left in argv for the command's own parser.
 */
int config_parse_args(struct lb_config *cfg, int argc, char **argv,
		      int strict);

/* Set one option by its key name ("tftp_port" or "tftp-port"). */
int config_set(struct lb_config *cfg, const char *key, const char *value);

/* Print the options table (for --help). */
void config_usage(FILE *out);

/* Print the effective configuration as INI (for `linkboot info`). */
void config_dump(const struct lb_config *cfg, FILE *out);

#endif
