/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which boot file a DHCP client gets; pure, see dhcp.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "dhcp.h"
#include "lb_util.h"

void dhcp_client_from_msg(const struct dhcp_msg *m, struct dhcp_client *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->mac, m->chaddr, 6);
	c->arch = dhcp_opt_arch(m);
	c->pxe = dhcp_opt_has_prefix(m, DHCP_OPT_VENDOR_CLASS, "PXEClient");
	c->http = dhcp_opt_has_prefix(m, DHCP_OPT_VENDOR_CLASS, "HTTPClient");
	/* iPXE sends option 77 as a raw string, not RFC 3004 length-prefixed
	 * items; a substring match takes either spelling. */
	c->linkboot = dhcp_opt_contains(m, DHCP_OPT_USER_CLASS, "linkboot");
	c->ipxe = c->linkboot ||
		  dhcp_opt_contains(m, DHCP_OPT_USER_CLASS, "iPXE") ||
		  dhcp_opt(m, DHCP_OPT_IPXE_ENCAP) != NULL;
	/* PXE spec: "PXEClient:Arch:xxxxx:..." also says the arch, for
	 * clients that forget option 93 */
	if (c->arch < 0 && c->pxe) {
		const struct dhcp_optref *o =
			dhcp_opt(m, DHCP_OPT_VENDOR_CLASS);
		char buf[32];
		unsigned a;

		snprintf(buf, sizeof(buf), "%.*s", MIN((int)o->len, 31),
			 (const char *)o->data);
		if (sscanf(buf, "PXEClient:Arch:%5u", &a) == 1 && a < 65536)
			c->arch = (int)a;
	}
}

const char *dhcp_arch_name(int arch)
{
	/* RFC 4578 §2.1 and the IANA processor architecture registry */
	switch (arch) {
	case -1: return "none";
	case 0: return "BIOS";
	case 6: return "EFI ia32";
	case 7: return "EFI x64";
	case 9: return "EFI x64 (errata 9)";
	case 10: return "EFI arm32";
	case 11: return "EFI arm64";
	case 16: return "EFI x64 HTTP";
	case 19: return "EFI arm64 HTTP";
	default: return "unknown";
	}
}

static int boot_url(const struct dhcp_boot_cfg *cfg, struct dhcp_boot *out,
		    const char *path)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = cfg->server_ip };
	int n;

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	n = snprintf(out->file, sizeof(out->file), "http://%s:%d/%s", ip,
		     cfg->http_port, path);
	if (n < 0 || (size_t)n >= sizeof(out->file))
		return -ENAMETOOLONG;
	out->kind = DHCP_BOOT_HTTP;
	return 0;
}

static int boot_tftp(struct dhcp_boot *out, const char *file)
{
	if (!file || !*file)
		return 0;	/* no loader configured: no boot offer */
	if (strlcpy_chk(out->file, file, sizeof(out->file)) != 0)
		return -ENAMETOOLONG;
	out->kind = DHCP_BOOT_TFTP;
	return 0;
}

int dhcp_boot_choose(const struct dhcp_boot_cfg *cfg,
		     const struct dhcp_client *c, struct dhcp_boot *out)
{
	char path[64], mac[18];
	const char *efi;
	int sb;

	memset(out, 0, sizeof(*out));
	out->arch_name = dhcp_arch_name(c->arch);
	if (c->pxe)
		out->vendor_class = "PXEClient";
	else if (c->http)
		out->vendor_class = "HTTPClient";

	/* Already running iPXE (ours says "linkboot"): hand it the script.
	 * It never gets a loader again, so chain-loading cannot loop. */
	if (c->ipxe) {
		out->ipxe_no_proxy = 1;
		mac_format(c->mac, mac);
		snprintf(path, sizeof(path), "boot.ipxe?mac=%s", mac);
		return boot_url(cfg, out, path);
	}
	if (!c->pxe && !c->http)
		return 0;
	/* Secure Boot: the firmware runs only signed loaders, and iPXE is
	 * not; nothing in the request says whether Secure Boot is on, so
	 * the PC's link says it, else the server's config (secure_boot) */
	sb = c->secure_boot != SECURE_BOOT_AUTO ? c->secure_boot
						 : cfg->secure_boot;
	efi = sb == SECURE_BOOT_ON ? DHCP_SHIM : cfg->efi_loader;
	switch (c->arch) {
	case -1:	/* PXEClient without option 93: treat as BIOS */
	case 0:
		out->pxe_discovery = 1;
		return boot_tftp(out, cfg->bios_loader);
	case 7:
	case 9:		/* RFC 4578 errata 9: some firmware sends 9 for x64 */
		out->pxe_discovery = 1;
		return boot_tftp(out, efi);
	case 11:
		out->pxe_discovery = 1;
		return boot_tftp(out, cfg->arm64_loader);
	case 16:	/* UEFI HTTP boot: must see HTTPClient back */
		out->vendor_class = "HTTPClient";
		return boot_url(cfg, out, efi);
	case 19:
		out->vendor_class = "HTTPClient";
		return boot_url(cfg, out, cfg->arm64_loader);
	default:
		return 0;
	}
}
