/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Boot tickets: issued to a recognised PC, redeemed by its agent
 * (boot_auth.h). */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "boot_auth.h"
#include "dhcp.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "nbd.h"

#define TRUSTED_NETS_MAX	16
#define ARP_TABLE_MAX		(16u << 20)	/* ~200k neighbours */

struct boot_auth {
	uint8_t key[TICKET_KEY_LEN];
	struct {
		uint32_t net, mask;	/* network order */
	} trusted[TRUSTED_NETS_MAX];
	unsigned ntrusted;
	int arp_fd;		/* /proc/net/arp, opened at start: after the
				 * privilege drop Landlock would refuse a new
				 * open (procfs inodes are not stable) */
};

/* ---- the key ------------------------------------------------------------ */

static int key_read(int fd, uint8_t key[TICKET_KEY_LEN])
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0)
		return -errno;
	/* a key others can read lets them mint tickets for any PC */
	if (st.st_mode & 077) {
		log_warnx("auth: %s is readable by others (mode %03o): "
			  "anyone who read it can forge boot tickets; fix the "
			  "mode (chmod 600) and remove the file so a new key "
			  "is made", BOOT_TICKET_KEY_FILE,
			  (unsigned)(st.st_mode & 0777));
		return -EPERM;
	}
	n = read(fd, key, TICKET_KEY_LEN);
	if (n != TICKET_KEY_LEN) {
		log_warnx("auth: %s is %s: remove it and a new key is made "
			  "(tickets in flight are then refused: those PCs boot "
			  "again)", BOOT_TICKET_KEY_FILE,
			  n < 0 ? "unreadable" : "too short");
		return n < 0 ? -errno : -EBADMSG;
	}
	return 0;
}

/* <state>/ticket.key, made with 32 random bytes on the first start. */
int boot_auth_key_load(int state_dirfd, uint8_t key[TICKET_KEY_LEN])
{
	int fd, rc;

	fd = openat(state_dirfd, BOOT_TICKET_KEY_FILE,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		rc = key_read(fd, key);
		close(fd);
		return rc;
	}
	if (errno != ENOENT)
		return -errno;
	fd = openat(state_dirfd, BOOT_TICKET_KEY_FILE,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	randombytes_buf(key, TICKET_KEY_LEN);
	rc = write(fd, key, TICKET_KEY_LEN) == TICKET_KEY_LEN &&
	     fsync(fd) == 0 ? 0 : -EIO;
	close(fd);
	if (rc != 0)
		unlinkat(state_dirfd, BOOT_TICKET_KEY_FILE, 0);
	else
		log_info("auth: made a new boot ticket key (%s)",
			 BOOT_TICKET_KEY_FILE);
	return rc;
}

/* ---- trusted networks ---------------------------------------------------- */

static int trusted_parse(struct boot_auth *a, const char *list)
{
	char buf[512], *tok, *save = NULL;

	if (!list || !*list)
		return 0;
	if (strlcpy_chk(buf, list, sizeof(buf)) != 0)
		return -ENAMETOOLONG;
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		char *slash = strchr(tok, '/');
		uint64_t bits = 32;
		struct in_addr in;

		if (slash) {
			*slash = '\0';
			if (parse_u64(slash + 1, 0, 32, &bits) != 0)
				goto bad;
		}
		if (inet_pton(AF_INET, tok, &in) != 1)
			goto bad;
		if (a->ntrusted == TRUSTED_NETS_MAX) {
			log_warnx("auth: --trusted-net: at most %d networks",
				  TRUSTED_NETS_MAX);
			return -E2BIG;
		}
		a->trusted[a->ntrusted].mask = bits ?
			htonl(~0u << (32 - bits)) : 0;
		a->trusted[a->ntrusted].net = in.s_addr &
			a->trusted[a->ntrusted].mask;
		a->ntrusted++;
		continue;
bad:
		log_warnx("auth: --trusted-net: \"%s\" is not ADDR or ADDR/BITS",
			  tok);
		return -EINVAL;
	}
	return 0;
}

static int trusted_has(const struct boot_auth *a, struct in_addr ip)
{
	unsigned i;

	for (i = 0; i < a->ntrusted; i++)
		if ((ip.s_addr & a->trusted[i].mask) == a->trusted[i].net)
			return 1;
	return 0;
}

/* ---- who is asking -------------------------------------------------------- */

int arp_table_find(const char *text, struct in_addr ip, uint8_t mac[6])
{
	const char *line = text;

	/* "IP address  HW type  Flags  HW address  Mask  Device", header
	 * first (net/ipv4/arp.c arp_seq_show) */
	while ((line = strchr(line, '\n')) != NULL) {
		char addr[64], hw[64];
		unsigned type, flags;
		struct in_addr a;

		line++;
		if (sscanf(line, "%63s 0x%x 0x%x %63s", addr, &type, &flags,
			   hw) != 4)
			continue;
		/* ATF_COM: resolved; an incomplete entry says nothing */
		if (!(flags & 0x2) || inet_pton(AF_INET, addr, &a) != 1 ||
		    a.s_addr != ip.s_addr)
			continue;
		return mac_parse(hw, mac) == 0 ? 0 : -ENOENT;
	}
	return -ENOENT;
}

/* The neighbour table entry for ip: 0, -ENOENT (not on-link), -errno.
 * The table is read again from the start of the kept file each time (a
 * seq_file makes it anew at offset 0). */
static int arp_lookup(int fd, struct in_addr ip, uint8_t mac[6])
{
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap), *p;
	int rc;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		free(buf);
		return -ENOENT;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 < cap)
			continue;
		if (cap >= ARP_TABLE_MAX || !(p = realloc(buf, cap * 2)))
			break;
		buf = p;
		cap *= 2;
	}
	buf[len] = '\0';
	rc = arp_table_find(buf, ip, mac);
	free(buf);
	return rc;
}

/*
 * Is peer the PC with mac? 1 yes (how in why), 0 no (why says so). An
 * on-link peer is judged by its neighbour entry alone: DHCP packets are
 * easier to forge than the source address of the ARP reply the TCP
 * connection needed.
 */
int boot_peer_is(const struct lb_server *srv, const uint8_t mac[6],
		 struct in_addr peer, char *why, size_t whysz)
{
	const struct boot_auth *a = srv->auth;
	char ip[INET_ADDRSTRLEN], seen[18];
	uint8_t hw[6];

	inet_ntop(AF_INET, &peer, ip, sizeof(ip));
	if (trusted_has(a, peer)) {
		snprintf(why, whysz, "%s is in --trusted-net", ip);
		return 1;
	}
	if (arp_lookup(a->arp_fd, peer, hw) == 0) {
		if (!memcmp(hw, mac, 6)) {
			snprintf(why, whysz, "%s is on-link with this MAC", ip);
			return 1;
		}
		mac_format(hw, seen);
		snprintf(why, whysz, "%s is %s on this network, not this PC",
			 ip, seen);
		return 0;
	}
	if (dhcp_addr_of(srv, mac, peer.s_addr)) {
		snprintf(why, whysz, "DHCP gave %s to this MAC", ip);
		return 1;
	}
	snprintf(why, whysz, "%s is not on-link and DHCP did not give it to "
		 "this MAC; a PC behind a router needs --dhcp full, its DHCP "
		 "relayed to this server, or --trusted-net", ip);
	return 0;
}

/* ---- tickets ---------------------------------------------------------------- */

/* The fields of a new boot's ticket, for a recognised peer only. */
static int ticket_fields(const struct lb_server *srv, const uint8_t mac[6],
			 struct in_addr peer, struct ticket *t, char *why,
			 size_t whysz)
{
	if (!srv->auth) {
		snprintf(why, whysz, "the server has no ticket key");
		return -EACCES;
	}
	if (!boot_peer_is(srv, mac, peer, why, whysz))
		return -EACCES;
	memset(t, 0, sizeof(*t));
	memcpy(t->mac, mac, 6);
	t->ip = peer.s_addr;
	t->expires = (uint32_t)time(NULL) + BOOT_TICKET_SECONDS;
	randombytes_buf(t->nonce, sizeof(t->nonce));
	return 0;
}

int boot_ticket_issue(const struct lb_server *srv, const uint8_t mac[6],
		      struct in_addr peer, char out[TICKET_STR_LEN + 1],
		      char *why, size_t whysz)
{
	struct ticket t;
	int rc;

	out[0] = '\0';
	if ((rc = ticket_fields(srv, mac, peer, &t, why, whysz)) != 0)
		return rc;
	t.flags = TICKET_F_RESERVED_PORT;
	ticket_sign(srv->auth->key, &t, out);
	return 0;
}

int boot_san_issue(const struct lb_server *srv, const uint8_t mac[6],
		   struct in_addr peer, char user[SAN_USER_LEN + 1],
		   char secret[SAN_SECRET_LEN + 1], char *why, size_t whysz)
{
	struct ticket t;
	int rc;

	user[0] = secret[0] = '\0';
	if ((rc = ticket_fields(srv, mac, peer, &t, why, whysz)) != 0)
		return rc;
	san_chap_user(&t, user);
	san_chap_secret(srv->auth->key, user, peer.s_addr, secret);
	return 0;
}

int boot_ticket_redeem(struct lb_server *srv, const char *s, size_t len,
		       const struct sockaddr_in *peer, struct cred_boot *out,
		       const char **why)
{
	char ip[INET_ADDRSTRLEN], hash[CRED_HASH_STR_LEN + 1];
	struct ticket t;
	int rc;

	if (!srv->auth || !srv->db) {
		*why = "the server cannot check tickets now (see its log)";
		return -ESHUTDOWN;
	}
	rc = ticket_verify(srv->auth->key, s, len, &t);
	if (rc == -EINVAL) {
		*why = "not a boot ticket";
		return rc;
	}
	if (rc != 0) {
		*why = "ticket not signed by this server (forged, altered, or "
		       "from before its key changed): boot the PC again";
		return rc;
	}
	if ((int64_t)t.expires < (int64_t)time(NULL)) {
		*why = "ticket expired: boot the PC again";
		return -ETIMEDOUT;
	}
	if (t.ip != peer->sin_addr.s_addr) {
		*why = "ticket issued to another address (did the PC's address "
		       "change between iPXE and the agent?)";
		return -EACCES;
	}
	/* root on the PC, not any user of it: ports below 1024 */
	if ((t.flags & TICKET_F_RESERVED_PORT) && ntohs(peer->sin_port) >= 1024) {
		*why = "ticket must be redeemed from a reserved port";
		return -EPERM;
	}
	inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof(ip));
	rc = cred_boot_begin(srv->db, t.mac, ip, t.nonce, t.expires, NULL, out);
	if (rc == -EALREADY)
		*why = "ticket already used: boot the PC again";
	else if (rc == -ENOENT)
		*why = "this PC is no longer linked to an image";
	else if (rc == EBUSY_DB_LOCKED)
		*why = "the link DB is locked by another process: try again";
	else if (rc != 0)
		*why = "the link DB failed (see the server log)";
	if (rc != 0)
		return rc;
	cred_hash(out->cred, CRED_STR_LEN, hash);
	nbd_client_rebooted(srv, out->link.mac, hash);
	return 0;
}

/* ---- SAN logins ------------------------------------------------------------- */

int boot_chap_secret(const struct lb_server *srv, const char *name,
		     struct in_addr peer, const uint8_t target_mac[6],
		     char out[SAN_SECRET_LEN + 1])
{
	size_t len = strlen(name);
	struct ticket t;

	if (!srv->auth)
		return -ENOENT;
	if (san_chap_user_parse(name, len, &t) == 0) {
		if (memcmp(t.mac, target_mac, 6) != 0)
			return -ENOENT;
		san_chap_secret(srv->auth->key, name, peer.s_addr, out);
		return 0;
	}
	if (cred_shaped(name, len)) {
		san_chap_secret(srv->auth->key, name, 0, out);
		return 0;
	}
	return -ENOENT;
}

/* The first login of a SAN boot: it begins. */
static int san_boot_begin(struct lb_server *srv, const char *name,
			  const struct ticket *t, const char *ip,
			  const char **why)
{
	struct cred_boot b;
	char hash[CRED_HASH_STR_LEN + 1];
	int rc;

	if ((int64_t)t->expires < (int64_t)time(NULL)) {
		*why = "the boot's credentials are too old (served more than "
		       "10 minutes ago, no login since): boot the PC again";
		return -ETIMEDOUT;
	}
	rc = cred_boot_begin(srv->db, t->mac, ip, t->nonce, t->expires, name,
			     &b);
	if (rc == -EALREADY)
		*why = "credentials of an earlier boot of this PC: it booted "
		       "again since";
	else if (rc == -ENOENT)
		*why = "this PC is no longer linked to an image";
	else if (rc != 0)
		*why = "the link DB failed (see the server log)";
	if (rc != 0)
		return rc;
	cred_hash(name, strlen(name), hash);
	nbd_client_rebooted(srv, b.link.mac, hash);
	log_info("iscsi: %s began boot %lld from %s: image %s v%u, write mode "
		 "%s", b.link.mac, (long long)b.boot_seq, ip, b.link.image,
		 b.link.version, db_write_mode_name(b.link.write_mode));
	return 0;
}

int boot_san_login(struct lb_server *srv, const char *name,
		   struct in_addr peer, const uint8_t target_mac[6],
		   struct export_info *ex, const char **why)
{
	char ip[INET_ADDRSTRLEN], mac[18];
	struct cred_info ci;
	struct ticket t;
	int rc, san;

	if (!srv->db) {
		*why = "link DB not open";
		return -ESHUTDOWN;
	}
	inet_ntop(AF_INET, &peer, ip, sizeof(ip));
	san = san_chap_user_parse(name, strlen(name), &t) == 0;
	rc = cred_lookup(srv->db, name, strlen(name), &ci);
	if (san && rc == -ENOENT && (rc = san_boot_begin(srv, name, &t, ip,
							  why)) != 0)
		return rc;
	if (!san && (rc != 0 || ci.kind != CRED_ADMIN)) {
		*why = "not an admin token of this PC";
		return -EACCES;
	}
	if ((rc = db_export_of_credential(srv->db, name, ip, ex)) != 0) {
		*why = rc == -EACCES ? "credentials bound to another address" :
		       rc == -ENOENT ? "credentials of an earlier boot" :
		       "the link DB failed (see the server log)";
		return rc;
	}
	mac_format(target_mac, mac);
	if (strcmp(ex->client_mac, mac) != 0) {
		*why = "credentials of another PC";
		return -EACCES;
	}
	/* no agent keeps a PC's writes: ram and disk are a server overlay
	 * that the next boot drops */
	if (ex->write_mode == WRITE_RAM || ex->write_mode == WRITE_DISK) {
		ex->write_mode = WRITE_SERVER;
		ex->read_only = 0;
		ex->drop_at_boot = 1;
	}
	return 0;
}

/* ---- service ---------------------------------------------------------------- */

int boot_auth_start(struct lb_server *srv)
{
	struct boot_auth *a;
	int rc;

	if (sodium_init() < 0)
		return -EIO;
	if (!(a = sodium_malloc(sizeof(*a))))
		return -ENOMEM;
	memset(a, 0, sizeof(*a));
	if ((rc = trusted_parse(a, srv->cfg->trusted_net)) != 0)
		goto err;
	if ((rc = boot_auth_key_load(srv->state_dirfd, a->key)) != 0) {
		log_warnx("auth: %s/%s: %s", srv->cfg->state_dir,
			  BOOT_TICKET_KEY_FILE, err_str(rc));
		goto err;
	}
	if (a->ntrusted)
		log_warnx("auth: hosts in %s get boot tickets for any MAC they "
			  "name (--trusted-net)", srv->cfg->trusted_net);
	if ((a->arp_fd = open("/proc/net/arp", O_RDONLY | O_CLOEXEC)) < 0)
		log_warn("auth: /proc/net/arp (no on-link check: only DHCP "
			 "and --trusted-net vouch for PCs)");
	srv->auth = a;
	return 0;
err:
	sodium_free(a);
	return rc;
}

void boot_auth_reload(struct lb_server *srv)
{
	struct boot_auth *a = srv->auth;
	uint8_t old[sizeof(a->trusted)];
	unsigned nold;

	if (!a)
		return;
	memcpy(old, a->trusted, sizeof(old));
	nold = a->ntrusted;
	a->ntrusted = 0;
	if (trusted_parse(a, srv->cfg->trusted_net) != 0) {
		memcpy(a->trusted, old, sizeof(old));
		a->ntrusted = nold;
		log_warnx("auth: keeping the previous --trusted-net (%u "
			  "networks)", a->ntrusted);
		return;
	}
	if (a->ntrusted)
		log_warnx("auth: hosts in %s get boot tickets for any MAC they "
			  "name (--trusted-net)", srv->cfg->trusted_net);
}

void boot_auth_stop(struct lb_server *srv)
{
	if (srv->auth && srv->auth->arp_fd >= 0)
		close(srv->auth->arp_fd);
	/* sodium_free wipes it */
	sodium_free(srv->auth);
	srv->auth = NULL;
}
