/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel command line: the linkboot.* keys of include/lb_cmdline.h.
 * Every bad value is rejected with a message naming the parameter, so the
 * console says exactly which part of the boot script is wrong.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "ticket.h"
#include "lb_cmdline.h"
#include "lb_log.h"
#include "lb_util.h"

void cmdline_defaults(struct agent_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->write_mode = WRITE_RAM;
	cfg->ram_mib = 64;
	cfg->ssd_mode = -1;	/* only linkboot.ssd=auto may partition a disk */
	cfg->reconnect_s = 300;
	cfg->verbose = 0;
}

const char *write_mode_name(int mode)
{
	static const char *const names[] = { "ram", "disk", "server", "super" };

	return mode >= 0 && mode < 4 ? names[mode] : "?";
}

/* "ADDR[:PORT]" (IPv4; there is no DNS in the initramfs). */
static int parse_addr_port(const char *s, size_t len, unsigned defport,
			   struct sockaddr_in *sin)
{
	char buf[64];
	char *colon;
	uint64_t port = defport;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (parse_u64(colon + 1, 1, 65535, &port) != 0)
			return -EINVAL;
	}
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static int parse_servers(const char *v, struct agent_cfg *cfg)
{
	const char *p = v;

	cfg->nservers = 0;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (cfg->nservers == AGENT_MAX_SERVERS)
			return -E2BIG;
		if (parse_addr_port(p, len, LB_NBD_PORT_DEFAULT,
				    &cfg->server[cfg->nservers]) != 0)
			return -EINVAL;
		cfg->nservers++;
		p += len;
		if (*p == ',')
			p++;
	}
	return cfg->nservers ? 0 : -EINVAL;
}

/* "http://ADDR[:PORT][/]" */
static int parse_http(const char *v, struct agent_cfg *cfg)
{
	const char *host;
	size_t len;

	if (strncmp(v, "http://", 7) != 0)
		return -EINVAL;
	host = v + 7;
	len = strcspn(host, "/");
	if (host[len] == '/' && host[len + 1] != '\0')
		return -EINVAL;
	if (len >= sizeof(cfg->http_host))
		return -EINVAL;
	if (parse_addr_port(host, len, 80, &cfg->http) != 0)
		return -EINVAL;
	memcpy(cfg->http_host, host, len);
	cfg->http_host[len] = '\0';
	return 0;
}

static int parse_ip(const char *v, struct in_addr *a)
{
	return inet_pton(AF_INET, v, a) == 1 ? 0 : -EINVAL;
}

/* dotted mask or prefix length; must be contiguous */
static int parse_netmask(const char *v, struct in_addr *a)
{
	uint64_t n;
	uint32_t m;

	if (strchr(v, '.')) {
		if (parse_ip(v, a) != 0)
			return -EINVAL;
	} else {
		if (parse_u64(v, 0, 32, &n) != 0)
			return -EINVAL;
		a->s_addr = htonl(n ? ~0u << (32 - n) : 0);
	}
	m = ntohl(a->s_addr);
	if (m & (~m >> 1))	/* a 1 after a 0 */
		return -EINVAL;
	return 0;
}

static int parse_root(const char *v, char *out, size_t outsz)
{
	uint64_t n;

	if (!strncmp(v, "LABEL=", 6) || !strncmp(v, "UUID=", 5) ||
	    !strncmp(v, "PARTLABEL=", 10)) {
		if (!strchr(v, '=')[1])
			return -EINVAL;
	} else if (!strncmp(v, "part", 4)) {
		if (parse_u64(v + 4, 1, 128, &n) != 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return strlcpy_chk(out, v, outsz) ? -EINVAL : 0;
}

static int parse_write(const char *v, int *mode)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(v, write_mode_name(i))) {
			*mode = i;
			return 0;
		}
	return -EINVAL;
}

static int parse_uint(const char *v, uint64_t min, uint64_t max,
		      unsigned *out)
{
	uint64_t n;

	if (parse_u64(v, min, max, &n) != 0)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int parse_ssd(const char *v, int *mode)
{
	uint64_t n;

	if (!strcmp(v, "off"))
		*mode = -1;
	else if (!strcmp(v, "auto"))
		*mode = 0;
	else if (parse_u64(v, 1, 16u << 20, &n) == 0)
		*mode = (int)n;
	else
		return -EINVAL;
	return 0;
}

/* A path under the server's HTTP root: [A-Za-z0-9._/-], no "..". */
static int parse_served_path(const char *v, char *out, size_t outsz)
{
	const char *p;

	if (!*v || *v == '/' || strstr(v, ".."))
		return -EINVAL;
	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._/-", *p))
			return -EINVAL;
	return strlcpy_chk(out, v, outsz) ? -EINVAL : 0;
}

/* An image version's export, "NAME@N" (N a version number). */
static int parse_version_export(const char *v, char *out, size_t outsz)
{
	const char *at = strrchr(v, '@'), *p;
	uint64_t n;

	if (!at || at == v || parse_u64(at + 1, 1, UINT32_MAX, &n) != 0)
		return -EINVAL;
	for (p = v; p < at; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return -EINVAL;
	return strlcpy_chk(out, v, outsz) ? -EINVAL : 0;
}

/* RFC 1123 §2.1 host name: letters, digits, '-', '.', <= 63 chars */
static int parse_hostname(const char *v, char *out, size_t outsz)
{
	const char *p;

	if (!*v || *v == '-' || *v == '.' || strlen(v) > 63)
		return -EINVAL;
	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return -EINVAL;
	return strlcpy_chk(out, v, outsz) ? -EINVAL : 0;
}

/* machine-id(5): 32 lower-case hex digits, not all zero */
static int parse_machine_id(const char *v, char *out)
{
	int i, nonzero = 0;

	if (strlen(v) != 32)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)v[i]))
			return -EINVAL;
		out[i] = (char)tolower((unsigned char)v[i]);
		nonzero |= v[i] != '0';
	}
	out[32] = '\0';
	return nonzero ? 0 : -EINVAL;
}

static int cmdline_key(struct agent_cfg *cfg, const char *key, const char *v)
{
	uint64_t n;

	if (!strcmp(key, "linkboot.server"))
		return parse_servers(v, cfg);
	if (!strcmp(key, "linkboot.http"))
		return parse_http(v, cfg);
	if (!strcmp(key, "linkboot.export")) {
		if (!*v)
			return -EINVAL;
		return strlcpy_chk(cfg->export_name, v,
				   sizeof(cfg->export_name)) ? -EINVAL : 0;
	}
	if (!strcmp(key, "linkboot.ticket")) {
		if (!ticket_shaped(v, strlen(v)))
			return -EINVAL;
		memcpy(cfg->ticket, v, TICKET_STR_LEN + 1);
		return 0;
	}
	if (!strcmp(key, "linkboot.mac")) {
		cfg->has_mac = 1;
		return mac_parse(v, cfg->mac) ? -EINVAL : 0;
	}
	if (!strcmp(key, "linkboot.ip")) {
		cfg->has_ip = 1;
		return parse_ip(v, &cfg->ip);
	}
	if (!strcmp(key, "linkboot.netmask"))
		return parse_netmask(v, &cfg->netmask);
	if (!strcmp(key, "linkboot.gw")) {
		/* iPXE leaves ${gateway} empty on a flat network */
		if (!*v)
			return 0;
		cfg->has_gw = 1;
		return parse_ip(v, &cfg->gw);
	}
	if (!strcmp(key, "linkboot.dns")) {
		if (!*v)
			return 0;
		cfg->has_dns = 1;
		return parse_ip(v, &cfg->dns);
	}
	if (!strcmp(key, "linkboot.root"))
		return parse_root(v, cfg->root, sizeof(cfg->root));
	if (!strcmp(key, "linkboot.write"))
		return parse_write(v, &cfg->write_mode);
	if (!strcmp(key, "linkboot.overlay"))
		return parse_uint(v, 0, 1u << 24, &cfg->overlay_mib);
	if (!strcmp(key, "linkboot.keep"))
		return parse_uint(v, 0, 1, &cfg->keep);
	if (!strcmp(key, "linkboot.ram"))
		return parse_uint(v, 0, 1u << 20, &cfg->ram_mib);
	if (!strcmp(key, "linkboot.ssd"))
		return parse_ssd(v, &cfg->ssd_mode);
	if (!strcmp(key, "linkboot.hashes"))
		return parse_served_path(v, cfg->hashes, sizeof(cfg->hashes));
	if (!strcmp(key, "linkboot.prestage"))
		return parse_version_export(v, cfg->prestage,
					    sizeof(cfg->prestage));
	if (!strcmp(key, "linkboot.prestage_hashes"))
		return parse_served_path(v, cfg->prestage_hashes,
					 sizeof(cfg->prestage_hashes));
	if (!strcmp(key, "linkboot.hostname"))
		return parse_hostname(v, cfg->hostname, sizeof(cfg->hostname));
	if (!strcmp(key, "linkboot.reconnect"))
		return parse_uint(v, 1, 86400 * 7, &cfg->reconnect_s);
	if (!strcmp(key, "linkboot.verbose")) {
		if (parse_u64(v, 0, 2, &n) != 0)
			return -EINVAL;
		cfg->verbose = (int)n;
		return 0;
	}
	if (!strcmp(key, "systemd.machine_id"))
		return parse_machine_id(v, cfg->machine_id);
	return -ENOENT;	/* not ours */
}

int cmdline_parse(const char *text, struct agent_cfg *cfg, char *err,
		  size_t errsz)
{
	char word[512];
	const char *p = text;
	int rc;

	err[0] = '\0';
	while (*p) {
		size_t len;
		char *eq;

		p += strspn(p, " \t\n");
		len = strcspn(p, " \t\n");
		if (len == 0)
			break;
		if (len >= sizeof(word)) {
			snprintf(err, errsz, "kernel parameter '%.40s...' is "
				 "too long", p);
			return -E2BIG;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		p += len;
		eq = strchr(word, '=');
		if (!eq) {
			if (!strncmp(word, "linkboot.", 9)) {
				snprintf(err, errsz, "%s: missing '=VALUE'",
					 word);
				return -EINVAL;
			}
			continue;
		}
		*eq = '\0';
		rc = cmdline_key(cfg, word, eq + 1);
		if (rc == -ENOENT) {
			if (!strncmp(word, "linkboot.", 9)) {
				/* newer server, older agent: go on */
				log_info("unknown parameter %s ignored",
					 word);
			}
			continue;
		}
		if (rc != 0) {
			snprintf(err, errsz, "%s: bad value '%.64s'", word,
				 strcmp(word, "linkboot.ticket") ? eq + 1 :
				 "(not a boot ticket)");
			return -EINVAL;
		}
	}
	if (cfg->nservers == 0) {
		snprintf(err, errsz, "linkboot.server: missing (the boot "
			 "script must name the NBD server)");
		return -EINVAL;
	}
	if (!cfg->export_name[0] && !cfg->ticket[0]) {
		snprintf(err, errsz, "linkboot.ticket: missing (the boot "
			 "script hands one to a PC the server recognised; by "
			 "hand, give linkboot.export=IMAGE or an admin token)");
		return -EINVAL;
	}
	if (cfg->ticket[0] && !cfg->http.sin_port) {
		snprintf(err, errsz, "linkboot.http: missing (the boot ticket "
			 "is redeemed there)");
		return -EINVAL;
	}
	if (cfg->has_ip && !cfg->netmask.s_addr) {
		snprintf(err, errsz, "linkboot.netmask: missing (needed with "
			 "linkboot.ip)");
		return -EINVAL;
	}
	return 0;
}
