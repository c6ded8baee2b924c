/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_DHCP_H
#define LB_DHCP_H

/*
 * DHCP service: proxyDHCP (ports 67 + 4011, beside the site's DHCP server)
 * or full DHCP with our own leases. Sockets in dhcp.c, the boot-file policy
 * in dhcp_policy.c, leases in dhcp_lease.c; wire format in lib/dhcp_wire.c.
 */

#include <stdint.h>
#include <time.h>

#include "dhcp_wire.h"
#include "server.h"

int dhcp_start(struct lb_server *srv);
void dhcp_stop(struct lb_server *srv);
/* SIGHUP: the loader names, and in full mode the netmask, router and DNS
 * options again. */
void dhcp_reload(struct lb_server *srv);

/*
 * Has DHCP told us that mac uses ip (network order)? Full mode: ip is
 * leased (bound) to mac. Proxy mode: mac asked for ip in a REQUEST within
 * the last 15 minutes. 1 or 0 (also 0 with DHCP off).
 */
int dhcp_addr_of(const struct lb_server *srv, const uint8_t mac[6],
		 uint32_t ip);

/* ---- boot-file policy (pure; dhcp_policy.c) ---- */

/* What the request says about the client. */
struct dhcp_client {
	uint8_t mac[6];
	int arch;		/* RFC 4578 option 93, or -1 if absent */
	int pxe;		/* option 60 starts with "PXEClient" */
	int http;		/* option 60 starts with "HTTPClient" */
	int ipxe;		/* option 77 "iPXE" or option 175 present */
	int linkboot;		/* option 77 "linkboot": our own iPXE build */
	int secure_boot;	/* its link's --secure-boot (enum secure_boot,
				 * config.h; AUTO = the server's), from the
				 * DB: nothing in the request says it */
};

/* Where the policy reads the server side from. */
struct dhcp_boot_cfg {
	const char *bios_loader;
	const char *efi_loader;
	const char *arm64_loader;
	int secure_boot;	/* enum secure_boot (config.h), server-wide */
	uint32_t server_ip;	/* network order */
	int http_port;
};

enum dhcp_boot_kind {
	DHCP_BOOT_NONE,		/* not a boot client (or unknown arch) */
	DHCP_BOOT_TFTP,		/* a loader over TFTP: siaddr + file */
	DHCP_BOOT_HTTP,		/* a URL: UEFI HTTP boot, or the iPXE script */
};

struct dhcp_boot {
	enum dhcp_boot_kind kind;
	char file[256];		/* TFTP file name or http:// URL */
	const char *vendor_class; /* option 60 to send, or NULL */
	int pxe_discovery;	/* send option 43 discovery control 8 */
	int ipxe_no_proxy;	/* send option 175 with 176 = 1 */
	const char *arch_name;	/* for the log line: "BIOS", "EFI x64" */
};

/* Fill *c from a parsed request. */
void dhcp_client_from_msg(const struct dhcp_msg *m, struct dhcp_client *c);

/*
 * Choose what the client boots (RFC 4578 §2.1 option 93):
 *   iPXE already (77 "iPXE"/"linkboot", or 175) -> the boot script URL
 *     http://SERVER:PORT/boot.ipxe?mac=MAC, never a loader again (no
 *     chain-load loop);
 *   0 BIOS -> bios_loader, 7 and 9 EFI x64 -> efi_loader, 11 ARM64 ->
 *     arm64_loader, over TFTP;
 *   16 x64 UEFI HTTP boot -> http://SERVER:PORT/<efi_loader> with option 60
 *     "HTTPClient" (OVMF ignores the offer without it);
 *   7, 9 and 16 with secure_boot on (the link's, else the server's) ->
 *     DHCP_SHIM ("shimx64.efi", Debian's
 *     Microsoft-signed shim, which loads the signed GRUB) instead of
 *     efi_loader: iPXE is not signed, a Secure Boot firmware refuses it;
 *   anything else, or a client that is neither PXE nor HTTP nor iPXE ->
 *     DHCP_BOOT_NONE.
 * Returns 0, or -ENAMETOOLONG if the file name does not fit.
 */
/* The signed chain's first stage, as files.c serves it. */
#define DHCP_SHIM	"shimx64.efi"

int dhcp_boot_choose(const struct dhcp_boot_cfg *cfg,
		     const struct dhcp_client *c, struct dhcp_boot *out);

const char *dhcp_arch_name(int arch);

/* ---- leases (full mode; dhcp_lease.c) ---- */

enum dhcp_lease_state {
	LEASE_FREE,
	LEASE_OFFERED,		/* held for a client between OFFER and REQUEST */
	LEASE_BOUND,		/* ACKed, persisted */
	LEASE_DECLINED,		/* RFC 2131 §3.1.5: in use by someone else */
};

struct dhcp_lease {
	uint8_t mac[6];
	int state;		/* enum dhcp_lease_state */
	time_t expires;		/* wall clock; free after this */
};

/* The pool: one slot per address of the range, index = ip - first. */
struct dhcp_pool {
	uint32_t first;		/* host order */
	uint32_t count;
	struct dhcp_lease *slot;
	int dirfd;		/* <state> for dhcp.leases, or -1 */
};

#define DHCP_POOL_MAX		65536
#define DHCP_OFFER_HOLD		60	/* seconds an offered address is held */
/* A declined address is parked this long (dnsmasq: 10 min as well), not a
 * whole lease: the conflict it reports may be a PC that is gone soon. */
#define DHCP_DECLINE_HOLD	600
/* At most one in this many addresses of the pool is parked at a time. */
#define DHCP_DECLINE_SHARE	4
#define DHCP_LEASES_FILE	"dhcp.leases"

/* "START,END" (host order inclusive); -EINVAL / -ERANGE */
int dhcp_pool_init(struct dhcp_pool *p, const char *range, int dirfd);
void dhcp_pool_free(struct dhcp_pool *p);

/* Address the client has or should get: its own lease, else *want if free
 * and in range, else the first free slot. 0 (host order) if the pool is
 * full. Does not change the pool. */
uint32_t dhcp_pool_pick(const struct dhcp_pool *p, const uint8_t mac[6],
			uint32_t want, time_t now);
/* Which MAC holds ip (host order)? NULL if free/expired/out of range. */
const struct dhcp_lease *dhcp_pool_holder(const struct dhcp_pool *p,
					  uint32_t ip, time_t now);
int dhcp_pool_in_range(const struct dhcp_pool *p, uint32_t ip);
/* Hold ip for mac until expires; drops the MAC's other slots (one address
 * per client). -EADDRINUSE if someone else holds it, -ERANGE outside. */
int dhcp_pool_take(struct dhcp_pool *p, const uint8_t mac[6], uint32_t ip,
		   int state, time_t expires, time_t now);
/* RELEASE: free mac's lease on ip. -ENOENT if it is not mac's. */
int dhcp_pool_release(struct dhcp_pool *p, const uint8_t mac[6], uint32_t ip,
		      time_t now);
/*
 * DECLINE (RFC 2131 §4.3.3: the client found "the suggested network
 * address" in use): park ip for DHCP_DECLINE_HOLD seconds, but only if it
 * was offered or leased to mac, so nobody can park addresses it was never
 * given. At most count / DHCP_DECLINE_SHARE are parked: the next one frees
 * the parked address that expires first. 0 parked, 1 parked after freeing
 * another, -ENOENT not mac's, -ERANGE outside the pool.
 */
int dhcp_pool_decline(struct dhcp_pool *p, const uint8_t mac[6], uint32_t ip,
		      time_t now);
/* Drop mac's OFFERED slots (it chose another server). */
void dhcp_pool_forget_offer(struct dhcp_pool *p, const uint8_t mac[6]);

/*
 * Persist the bound leases as text ("MAC IP EXPIRES\n", expiry in Unix
 * seconds) with an atomic rewrite: temp file, fsync, rename. Load reads
 * them back, skipping expired, out-of-range or malformed lines.
 */
int dhcp_pool_save(const struct dhcp_pool *p, time_t now);
int dhcp_pool_load(struct dhcp_pool *p, time_t now);

#endif
