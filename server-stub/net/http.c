/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/1.1 server (RFC 9110, RFC 9112) inside the epoll loop; see http.h.
 *
 * One struct http_conn per TCP connection, one request answered at a time:
 *
 *   READ --complete head (+ body)--> WRITE --sent, keep-alive--> READ
 *     |                                |
 *     +--bad request / idle-----+      +--sent, close--> LINGER --EOF--> freed
 *                               v
 *                        error reply, close
 *
 * Pipelined requests wait in c->in and are parsed after the previous
 * response is sent, so responses go out in request order (RFC 9112 §9.3.2).
 * Files go out with sendfile() on the non-blocking socket; the response
 * head is sent with MSG_MORE so head and first data share a segment.
 * Parsing is lib/http_wire.c; this file holds sockets, timers and policy.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "boot_auth.h"
#include "bootmenu.h"
#include "bootpack_build.h"
#include "bootscript.h"
#include "grubcfg.h"
#include "credential.h"
#include "db.h"
#include "disks.h"
#include "http.h"
#include "nic_initrd.h"
#include "http_wire.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "listen.h"
#include "pc_commands.h"
#include "prestage.h"
#include "releases.h"
#include "script_text.h"
#include "vdisk.h"

#define HTTP_BODY_MAX		4096	/* POST /report body */
#define HTTP_IN_MAX		(HTTP_HEADER_MAX + HTTP_BODY_MAX)
#define HTTP_OUT_MAX		16384	/* response head + generated body */
#define HTTP_LINGER_MS		2000	/* drain after our close */
#define HTTP_SENDFILE_BUDGET	(16u << 20) /* bytes per event: fairness */
#define HTTP_ACCEPT_BURST	64
/* TCP keepalive: a vanished peer is found ~2 min after its last traffic
 * (http_timeout covers idle keep-alive connections already) */
#define HTTP_KEEPIDLE_S		60
#define HTTP_KEEPINTVL_S	10
#define HTTP_KEEPCNT		6

enum conn_state {
	CONN_READ,	/* waiting for (the rest of) a request */
	CONN_WRITE,	/* sending a response */
	CONN_LINGER,	/* shut down for writing, draining input */
};

struct http_server {
	struct lb_server *srv;
	struct loop_watch listen_w;
	struct http_conn *conns;	/* all live connections */
	unsigned nconns;
	int64_t accept_paused;		/* out of fds: accept again at, or 0 */
	struct log_limit accept_log;	/* the out-of-fds warning */
	struct log_limit refuse_log;	/* 503s at http_max_conns */
	struct log_limit per_ip_log;	/* 503s at http_max_per_ip */
	int64_t idle_ms;		/* http_timeout in ms: keep-alive idle and
					 * request head; twice that for a peer
					 * that stops reading a response */
	char server_addr[INET_ADDRSTRLEN]; /* for boot script URLs */
};

struct http_conn {
	struct loop_watch w;		/* the socket */
	struct http_server *hs;
	struct http_conn *prev, *next;
	struct in_addr addr;		/* client address (http_max_per_ip) */
	char peer[32];			/* "ADDR:PORT" for log lines */
	struct sockaddr_in peer_sa;	/* the same, for boot tickets */
	enum conn_state state;
	uint32_t events;		/* what w is registered for */
	int64_t deadline;		/* idle/stall timeout, ms */
	char in[HTTP_IN_MAX];		/* received, not yet answered */
	size_t in_len;
	size_t consumed;		/* bytes of in[] the current request used */
	int sent_continue;		/* 100 Continue already sent */
	char out[HTTP_OUT_MAX];		/* response head (+ generated body) */
	size_t out_len, out_off;
	int file_fd;			/* body from a file, or -1 */
	off_t file_off;
	uint64_t file_left;
	int close_after;		/* no keep-alive after this response */
	/* for the one log line per request */
	char log_method[HTTP_METHOD_MAX + 1];
	char log_path[160];
	char log_note[64];		/* e.g. " script=unknown" */
	int log_status;
	uint64_t log_bytes;		/* body bytes sent */
	uint64_t log_body_len;		/* body bytes promised */
	size_t log_head_len;
};

static void conn_free(struct http_conn *c);

/* ---- small helpers ---------------------------------------------------- */

static void conn_set_events(struct http_conn *c, uint32_t events)
{
	if (c->events == events)
		return;
	if (loop_mod(c->hs->srv->loop, &c->w, events) == 0)
		c->events = events;
}

static void http_date(char *out, size_t outsz)
{
	time_t t = time(NULL);
	struct tm tm;

	/* RFC 9110 §5.6.7: IMF-fixdate */
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/*
 * Queue a response: head built from r, then body (may be NULL), no file.
 * A HEAD response gets the head only (RFC 9110 §9.3.2).
 */
static int conn_queue(struct http_conn *c, struct http_response *r,
		      const char *body, size_t body_len, int head_only)
{
	char date[64];
	int n;

	http_date(date, sizeof(date));
	r->date = date;
	r->keep_alive = !c->close_after;
	n = http_format_head(c->out, sizeof(c->out), r);
	if (n < 0 || (size_t)n + (head_only ? 0 : body_len) > sizeof(c->out))
		return -ENOSPC;
	c->out_len = (size_t)n;
	c->log_head_len = (size_t)n;
	if (!head_only && body_len) {
		memcpy(c->out + n, body, body_len);
		c->out_len += body_len;
	}
	c->out_off = 0;
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		char esc[1024];

		log_debug("http %s: response head: %s", c->peer,
			  log_escape(esc, sizeof(esc), c->out, (size_t)n));
	}
	c->log_status = r->status;
	c->log_body_len = head_only ? 0 : body_len;
	c->state = CONN_WRITE;
	return 0;
}

/* Every error gets a short text body saying what was wrong. */
static void conn_error(struct http_conn *c, int status, const char *why,
		       const char *allow, int head_only)
{
	struct http_response r = {
		.status = status,
		.content_type = "text/plain; charset=utf-8",
		.allow = allow,
	};
	char body[256];
	int n;

	n = snprintf(body, sizeof(body), "%d %s: %s\n", status,
		     http_reason(status), why);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)sizeof(body) - 1;
	r.content_length = (uint64_t)n;
	if (conn_queue(c, &r, body, (size_t)n, head_only) != 0)
		c->close_after = 1;
}

/* What went wrong with a request head, in words, for the error body. */
static const char *parse_error_text(int rc)
{
	switch (rc) {
	case EINVAL_HTTP_REQLINE: return "malformed request line";
	case EINVAL_HTTP_METHOD: return "malformed method";
	case EINVAL_HTTP_TARGET: return "malformed request target";
	case EINVAL_HTTP_VERSION: return "malformed HTTP version";
	case EINVAL_HTTP_FIELD: return "malformed header field";
	case EINVAL_HTTP_FOLD: return "folded header lines are not accepted";
	case EINVAL_HTTP_CRLF: return "bare CR in the request";
	case EINVAL_HTTP_HOST: return "HTTP/1.1 needs exactly one Host field";
	case EINVAL_HTTP_LENGTH: return "bad Content-Length";
	case EINVAL_HTTP_PERCENT: return "bad percent-encoding in the path";
	case EINVAL_HTTP_NUL: return "%00 in the path";
	case ENOTSUP_HTTP_VERSION: return "only HTTP/1.0 and HTTP/1.1 are served";
	case ENOTSUP_HTTP_TE: return "Transfer-Encoding in requests is not supported";
	case E2BIG_HTTP_HEADERS: return "request header larger than 8 KiB";
	case E2BIG_HTTP_FIELDS: return "too many header fields";
	case ENAMETOOLONG_HTTP_URI: return "request target longer than 2 KiB";
	case -ENAMETOOLONG: return "path too long";
	default: return "bad request";
	}
}

/* ---- request handlers ------------------------------------------------- */

/*
 * GET /boot.ipxe?mac=MAC. Changes nothing on the server: a boot begins when
 * the PC's agent redeems the ticket in this script (POST /session), which
 * only the PC the server recognised at this address gets (boot_auth.h).
 */
static void handle_bootscript(struct http_conn *c, const struct http_request *req)
{
	struct lb_server *srv = c->hs->srv;
	char script[8192], macarg[64], ticket[TICKET_STR_LEN + 1] = "";
	char why[256] = "", user[SAN_USER_LEN + 1] = "";
	char secret[SAN_SECRET_LEN + 1] = "";
	struct bootscript_params p = {
		.server = c->hs->server_addr,
		.http_port = (unsigned)srv->cfg->http_port,
		.nbd_port = (unsigned)srv->cfg->nbd_port,
		.ticket = ticket,
		.no_ticket = why,
		.iscsi_port = (unsigned)srv->cfg->iscsi_port,
		.san_user = user,
		.san_secret = secret,
	};
	struct http_response r = {
		.status = 200,
		.content_type = "text/plain; charset=utf-8",
		.no_store = 1,	/* links change: never cache the script */
	};
	struct link_info link;
	struct bootmenu menu;
	enum bootmenu_step step;
	const char *kind;
	char entryarg[8];
	uint64_t entry = 0;
	uint8_t mac[6];
	int n, rc;

	if (http_query_get(req->query, req->query_len, "mac", macarg,
			   sizeof(macarg)) != 0 ||
	    mac_parse(macarg, mac) != 0) {
		n = bootscript_bad_mac(script, sizeof(script), &p);
		r.status = 400;
		goto out;
	}
	/* ?entry=N: the entry of its menu the PC picked (bootmenu.h) */
	if (http_query_get(req->query, req->query_len, "entry", entryarg,
			   sizeof(entryarg)) == 0 &&
	    parse_u64(entryarg, 1, LINK_MENU_MAX, &entry) != 0)
		entry = 0;
	memset(&link, 0, sizeof(link));
	if (!srv->db)
		rc = -ENODEV;
	else
		rc = db_link_lookup(srv->db, mac, &link);
	step = bootmenu_resolve(srv, mac, c->peer_sa.sin_addr, (unsigned)entry,
				rc, &link, &menu);
	p.menu = step == BOOTMENU_SHOW ? &menu : NULL;
	p.local = step == BOOTMENU_LOCAL;
	kind = p.menu ? "menu" : p.local ? "local" :
	       bootscript_kind(rc, rc == 0 ? &link : NULL);
	if ((!strcmp(kind, "boot") &&
	     boot_ticket_issue(srv, mac, c->peer_sa.sin_addr, ticket, why,
			       sizeof(why)) != 0) ||
	    (!strcmp(kind, "san") &&
	     boot_san_issue(srv, mac, c->peer_sa.sin_addr, user, secret, why,
			    sizeof(why)) != 0)) {
		kind = "unverified";
		log_warnx("http %s: no boot ticket for %s: %s", c->peer,
			  link.mac, why);
	}
	n = bootscript_build(script, sizeof(script), mac, rc,
			     rc == 0 ? &link : NULL, &p);
	sodium_memzero(ticket, sizeof(ticket));
	sodium_memzero(secret, sizeof(secret));
	snprintf(c->log_note, sizeof(c->log_note), " script=%s", kind);
	if (rc != 0 && rc != -ENOENT)
		log_warnx("http %s: boot script: link DB: %s", c->peer,
			  rc == -ENODEV ? "unavailable" : err_str(rc));
out:
	if (n < 0) {
		conn_error(c, 500, "boot script too long", NULL, 0);
		return;
	}
	r.content_length = (uint64_t)n;
	if (conn_queue(c, &r, script, (size_t)n, req->method == HTTP_HEAD) != 0)
		conn_error(c, 500, "response too long", NULL, 0);
	sodium_memzero(script, sizeof(script));
}

/*
 * GET /grub/grub.cfg[-MAC]: the Secure Boot chain's GRUB config, made per
 * request like /boot.ipxe (grubcfg.h). -ENOENT: path is no GRUB config
 * name, serve it as a file.
 */
static int handle_grubcfg(struct http_conn *c, const struct http_request *req,
			  const char *path, size_t len)
{
	char cfg[8192];
	struct http_response r = {
		.status = 200,
		.content_type = "text/plain; charset=utf-8",
		.no_store = 1,	/* links change: never cache it */
	};
	const char *kind = "";
	int n;

	n = grubcfg_answer(c->hs->srv, path, len, c->peer_sa.sin_addr, cfg,
			   sizeof(cfg), &kind);
	if (n == -ENOENT)
		return -ENOENT;
	snprintf(c->log_note, sizeof(c->log_note), " grub=%s", kind);
	if (n < 0) {
		conn_error(c, 500, "GRUB config too long", NULL, 0);
		return 0;
	}
	r.content_length = (uint64_t)n;
	if (conn_queue(c, &r, cfg, (size_t)n, req->method == HTTP_HEAD) != 0)
		conn_error(c, 500, "response too long", NULL, 0);
	sodium_memzero(cfg, sizeof(cfg));
	return 0;
}

/* A body's "key=value" line, copied into out; 0 or -ENOENT. */
static int body_value(const char *body, size_t len, const char *key,
		      char *out, size_t outsz)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		const char *line = body + i, *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;

		if (ll && line[ll - 1] == '\r')
			ll--;
		if (ll > klen && !memcmp(line, key, klen) && line[klen] == '=') {
			if (ll - klen - 1 >= outsz)
				return -ENOENT;
			memcpy(out, line + klen + 1, ll - klen - 1);
			out[ll - klen - 1] = '\0';
			return 0;
		}
		i = nl ? (size_t)(nl - body) + 1 : len;
	}
	return -ENOENT;
}

/* The status a refused boot ticket is answered with. */
static int session_status(int rc)
{
	if (rc == EBUSY_DB_LOCKED)
		return 503;	/* the agent retries; the ticket is unspent */
	switch (err_errno(rc)) {
	case EINVAL:
		return 400;
	case ENOENT:
		return 404;
	case ESHUTDOWN:
		return 503;
	case EIO:
	case ENOMEM:
	case EBUSY:
		return 500;
	default:
		return 403;
	}
}

/* The PC's extra disks for the agent, "disk=LUN MODE BYTES" lines
 * (disks.h): it attaches each as export "CREDENTIAL/LUN". */
static int session_disk_lines(struct lb_server *srv, const char *mac,
			      char *out, size_t outsz)
{
	struct disk_entry d[DISK_LUN_MAX];
	unsigned n, i;
	int len = 0, rc;

	if ((rc = db_client_disks(srv->db, mac, d, &n)) != 0) {
		log_warnx("http: %s: extra disks: %s", mac, err_str(rc));
		return 0;
	}
	for (i = 0; i < n; i++) {
		rc = snprintf(out + len, outsz - (size_t)len, "disk=%u %s %llu\n",
			      d[i].lun, disk_mode_name(d[i].mode),
			      (unsigned long long)d[i].size);
		if (rc < 0 || (size_t)rc >= outsz - (size_t)len)
			break;
		len += rc;
	}
	return len;
}

/*
 * POST /session, body "ticket=t1-...": the agent trades its boot ticket
 * for the credential of this boot (boot_auth.h). The answer is key=value
 * lines: credential, mac, write, keep, image, version, boot, and one
 * disk= line per extra disk.
 */
static void handle_session(struct http_conn *c, const char *body,
			   size_t body_len)
{
	struct lb_server *srv = c->hs->srv;
	struct http_response r = {
		.status = 200,
		.content_type = "text/plain; charset=utf-8",
		.no_store = 1,
	};
	char ticket[TICKET_STR_LEN + 2], text[1024];
	struct cred_boot b;
	const char *why = "";
	int n, rc;

	if (body_value(body, body_len, "ticket", ticket, sizeof(ticket)) != 0) {
		conn_error(c, 400, "POST /session needs a body line "
			   "ticket=TICKET", NULL, 0);
		return;
	}
	rc = boot_ticket_redeem(srv, ticket, strlen(ticket), &c->peer_sa, &b,
				&why);
	if (rc != 0) {
		log_warnx("http %s: boot ticket refused: %s", c->peer, why);
		snprintf(c->log_note, sizeof(c->log_note), " session=refused");
		conn_error(c, session_status(rc), why, NULL, 0);
		return;
	}
	n = snprintf(text, sizeof(text), "credential=%s\nmac=%s\nwrite=%s\n"
		     "keep=%d\nimage=%s\nversion=%u\nboot=%lld\n", b.cred,
		     b.link.mac, db_write_mode_name(b.link.write_mode),
		     b.link.write_mode == WRITE_SERVER && b.link.keep_overlay,
		     b.link.image, b.link.version, (long long)b.boot_seq);
	n += session_disk_lines(srv, b.link.mac, text + n, sizeof(text) - n);
	sodium_memzero(b.cred, sizeof(b.cred));
	{
		char ver[16];
		struct log_fields lf = { .mac = b.link.mac, .image = b.link.image,
					 .version = ver, .client_ip = c->peer };

		snprintf(ver, sizeof(ver), "%u", b.link.version);
		log_fields(LOG_LEVEL_INFO, &lf, "http %s: %s began boot %lld: "
			   "image %s v%u, write mode %s", c->peer, b.link.mac,
			   (long long)b.boot_seq, b.link.image, b.link.version,
			   db_write_mode_name(b.link.write_mode));
	}
	snprintf(c->log_note, sizeof(c->log_note), " session=%s", b.link.mac);
	r.content_length = (uint64_t)n;
	if (conn_queue(c, &r, text, (size_t)n, 0) != 0)
		conn_error(c, 500, "response too long", NULL, 0);
	sodium_memzero(text, sizeof(text));
}

/* The client an Authorization: Bearer credential belongs to, for requests
 * that speak for a PC (reports): 0 and its MAC, or -EACCES. */
static int http_cred_of(struct http_conn *c, const struct http_request *req,
			struct cred_info *ci);

static int http_client_of(struct http_conn *c, const struct http_request *req,
			  char mac[18])
{
	struct cred_info ci;

	if (http_cred_of(c, req, &ci) != 0)
		return -EACCES;
	memcpy(mac, ci.mac, 18);
	return 0;
}

/* The credential itself (its boot, its kind), checked as above. */
static int http_cred_of(struct http_conn *c, const struct http_request *req,
			struct cred_info *out)
{
	char cred[CRED_STR_LEN + 1], ip[INET_ADDRSTRLEN];
	struct cred_info ci;
	int rc;

	if (!req->bearer || req->bearer_len != CRED_STR_LEN ||
	    !c->hs->srv->db)
		return -EACCES;
	memcpy(cred, req->bearer, CRED_STR_LEN);
	cred[CRED_STR_LEN] = '\0';
	rc = cred_lookup(c->hs->srv->db, cred, CRED_STR_LEN, &ci);
	sodium_memzero(cred, sizeof(cred));
	if (rc != 0)
		return -EACCES;
	inet_ntop(AF_INET, &c->peer_sa.sin_addr, ip, sizeof(ip));
	if (ci.peer[0] && strcmp(ci.peer, ip) != 0)
		return -EACCES;
	*out = ci;
	return 0;
}

/*
 * POST /health, body "system=STATE" (systemd's is-system-running word, or
 * "running" when the image's ready marker exists): the running PC's
 * health, by its boot credential, for canary releases (releases.h).
 */
static void handle_health(struct http_conn *c, const struct http_request *req,
			  const char *body, size_t body_len)
{
	struct http_response r = {
		.status = 200, .content_type = "text/plain; charset=utf-8",
		.content_length = 3,
	};
	struct cred_info ci;
	char sys[32];
	int rc;

	if (http_cred_of(c, req, &ci) != 0 || ci.kind != CRED_BOOT) {
		conn_error(c, 403, "health comes from a running PC's agent: its "
			   "boot credential (Authorization: Bearer)", NULL, 0);
		return;
	}
	if (body_value(body, body_len, "system", sys, sizeof(sys)) != 0 ||
	    !sys[0] || strspn(sys, "abcdefghijklmnopqrstuvwxyz-") != strlen(sys)) {
		conn_error(c, 400, "POST /health needs a body line system=STATE "
			   "(lower-case letters)", NULL, 0);
		return;
	}
	if ((rc = db_health_report(c->hs->srv->db, ci.mac, ci.boot_seq, sys,
				   (int64_t)time(NULL))) != 0) {
		conn_error(c, 500, "the link DB failed", NULL, 0);
		return;
	}
	if (conn_queue(c, &r, "ok\n", 3, 0) != 0)
		c->close_after = 1;
}

/* "key=N" of a body into *v; -ENOENT when missing or not a number. */
static int body_u64(const char *body, size_t len, const char *key,
		    uint64_t *v)
{
	char num[24];

	if (body_value(body, len, key, num, sizeof(num)) != 0 ||
	    parse_u64(num, 0, INT64_MAX, v) != 0)
		return -ENOENT;
	return 0;
}

/*
 * POST /prestage: a PC woken to pre-stage a version is done (prestage.h),
 * by its boot credential. Body "fetched=N bytes=N had=N" lines, or
 * "error=TEXT". 409 when the PC was not woken for one.
 */
static void handle_prestage(struct http_conn *c, const struct http_request *req,
			    const char *body, size_t body_len)
{
	struct http_response r = {
		.status = 200, .content_type = "text/plain; charset=utf-8",
		.content_length = 3,
	};
	struct prestage_report rep = { .ok = 1 };
	struct cred_info ci;
	int rc;

	if (http_cred_of(c, req, &ci) != 0 || ci.kind != CRED_BOOT) {
		conn_error(c, 403, "a pre-staging is reported by the woken PC's "
			   "agent: its boot credential (Authorization: Bearer)",
			   NULL, 0);
		return;
	}
	if (body_value(body, body_len, "error", rep.error,
		       sizeof(rep.error)) == 0) {
		rep.ok = 0;
		script_filter(rep.error, sizeof(rep.error), rep.error, 1);
	} else if (body_u64(body, body_len, "fetched", &rep.fetched) != 0 ||
		   body_u64(body, body_len, "bytes", &rep.bytes) != 0 ||
		   body_u64(body, body_len, "had", &rep.had) != 0) {
		conn_error(c, 400, "POST /prestage needs body lines fetched=N, "
			   "bytes=N and had=N, or error=TEXT", NULL, 0);
		return;
	}
	rc = db_prestage_report(c->hs->srv->db, ci.mac, &rep);
	if (rc == -ENOENT) {
		conn_error(c, 409, "this PC was not woken for a pre-staging",
			   NULL, 0);
		return;
	}
	if (rc != 0) {
		conn_error(c, 500, "the link DB failed", NULL, 0);
		return;
	}
	if (rep.ok)
		log_info("prestage %s: done: %llu blocks fetched (%llu bytes), "
			 "%llu already on its SSD", ci.mac,
			 (unsigned long long)rep.fetched,
			 (unsigned long long)rep.bytes,
			 (unsigned long long)rep.had);
	else
		log_warnx("prestage %s: failed: %s", ci.mac, rep.error);
	if (conn_queue(c, &r, "ok\n", 3, 0) != 0)
		c->close_after = 1;
}

/*
 * GET /control: the next command for the running PC whose boot
 * credential asks (Authorization: Bearer): "id=N kind=K text=T" lines,
 * or "none". POST /control, body "ack=N": the agent took command N
 * (pc_commands.h), answered "ok"; acknowledging twice is no error.
 */
static void handle_control(struct http_conn *c, const struct http_request *req,
			   const char *body, size_t body_len)
{
	struct lb_server *srv = c->hs->srv;
	struct http_response r = {
		.status = 200, .content_type = "text/plain; charset=utf-8",
		.no_store = 1,
	};
	struct pc_command cmd;
	struct cred_info ci;
	char text[512], ack[24];
	uint64_t id;
	int n, rc;

	if (http_cred_of(c, req, &ci) != 0 || ci.kind != CRED_BOOT) {
		conn_error(c, 403, "commands go to a running PC's agent: its "
			   "boot credential (Authorization: Bearer)", NULL, 0);
		return;
	}
	if (req->method == HTTP_POST) {
		if (body_value(body, body_len, "ack", ack, sizeof(ack)) != 0 ||
		    parse_u64(ack, 1, INT64_MAX, &id) != 0) {
			conn_error(c, 400, "POST /control needs a body line "
				   "ack=ID", NULL, 0);
			return;
		}
		if ((rc = cmd_ack(srv->db, ci.mac, (int64_t)id)) != 0) {
			conn_error(c, rc == -ENOENT ? 404 : 500, rc == -ENOENT ?
				   "no such command of this PC" :
				   "the link DB failed", NULL, 0);
			return;
		}
		log_info("http %s: %s acknowledged command %llu", c->peer,
			 ci.mac, (unsigned long long)id);
		/* a body with its length: the agent's client reads by
		 * Content-Length (RFC 9112 6.3) */
		r.content_length = 3;
		if (conn_queue(c, &r, "ok\n", 3, 0) != 0)
			c->close_after = 1;
		return;
	}
	if ((rc = cmd_next(srv->db, ci.mac, ci.boot_seq, &cmd)) != 0) {
		if (rc != -ENOENT)
			log_warnx("http %s: commands of %s: %s", c->peer, ci.mac,
				  err_str(rc));
		r.content_length = 5;
		if (conn_queue(c, &r, "none\n", 5, 0) != 0)
			c->close_after = 1;
		return;
	}
	n = snprintf(text, sizeof(text), "id=%lld\nkind=%s\ntext=%s\n",
		     (long long)cmd.id, cmd.kind, cmd.text);
	log_info("http %s: command %lld (%s) delivered to %s", c->peer,
		 (long long)cmd.id, cmd.kind, ci.mac);
	r.content_length = (uint64_t)n;
	if (conn_queue(c, &r, text, (size_t)n, 0) != 0)
		conn_error(c, 500, "response too long", NULL, 0);
}

/* The runs of set bits of bm as "FIRST COUNT" lines into out, gaps of
 * fewer than merge clear blocks taken in: the bytes written, or -1 when
 * they do not fit. */
static int map_runs(const uint8_t *bm, uint64_t nblocks, uint64_t merge,
		    char *out, size_t outsz)
{
	uint64_t b = 0, first, end;
	size_t len = 0;
	int n;

	while (b < nblocks) {
		while (b < nblocks && !(bm[b / 8] >> (b % 8) & 1))
			b++;
		if (b == nblocks)
			break;
		first = b;
		for (end = b;; ) {
			while (b < nblocks && (bm[b / 8] >> (b % 8) & 1))
				b++;
			end = b;
			while (b < nblocks && b - end < merge &&
			       !(bm[b / 8] >> (b % 8) & 1))
				b++;
			if (b == nblocks || b - end >= merge)
				break;
		}
		n = snprintf(out + len, outsz - len, "%llu %llu\n",
			     (unsigned long long)first,
			     (unsigned long long)(end - first));
		if (n < 0 || (size_t)n >= outsz - len)
			return -1;
		len += (size_t)n;
		b = end;
	}
	return (int)len;
}

/*
 * GET /overlay-map (Authorization: Bearer, the boot's credential): the
 * blocks the PC's server overlay holds, so its agent checks every other
 * block against the version's hash table (vdisk.h vdisk_overlay_map).
 * Text: "LBMAP1 BLOCK_SIZE NBLOCKS" then "FIRST COUNT" runs. A map too
 * long for one answer is coarsened (small gaps counted as written):
 * more blocks go unchecked, none wrongly checked.
 */
static void handle_overlay_map(struct http_conn *c, const struct http_request *req)
{
	struct lb_server *srv = c->hs->srv;
	struct http_response r = {
		.status = 200,
		.content_type = "text/plain; charset=utf-8",
		.no_store = 1,
	};
	char cred[CRED_STR_LEN + 1], ip[INET_ADDRSTRLEN], body[12288];
	struct export_info ex;
	uint64_t nblocks = 0, merge;
	uint32_t bs = 0;
	uint8_t *bm = NULL;
	int n, head, rc;

	if (!req->bearer || req->bearer_len != CRED_STR_LEN || !srv->db) {
		conn_error(c, 403, "the overlay map needs the PC's credential "
			   "(Authorization: Bearer)", NULL, 0);
		return;
	}
	memcpy(cred, req->bearer, CRED_STR_LEN);
	cred[CRED_STR_LEN] = '\0';
	inet_ntop(AF_INET, &c->peer_sa.sin_addr, ip, sizeof(ip));
	rc = db_export_of_credential(srv->db, cred, ip, &ex);
	sodium_memzero(cred, sizeof(cred));
	if (rc != 0) {
		conn_error(c, 403, "not a credential of this address", NULL, 0);
		return;
	}
	if ((rc = vdisk_overlay_map(srv->cfg->state_dir, &ex, &bs, &nblocks,
				    &bm)) != 0) {
		log_warnx("http %s: overlay map of %s: %s", c->peer,
			  ex.client_mac, err_str(rc));
		conn_error(c, rc == -ESTALE ? 409 : 500, rc == -ESTALE ?
			   "the overlay is on another version" :
			   "the overlay cannot be read (see the server log)",
			   NULL, 0);
		return;
	}
	head = snprintf(body, sizeof(body), "LBMAP1 %u %llu\n", bs,
			(unsigned long long)nblocks);
	for (merge = 1, n = -1; n < 0 && merge <= nblocks + 1; merge *= 4)
		n = map_runs(bm, nblocks, merge, body + head,
			     sizeof(body) - (size_t)head);
	free(bm);
	if (n < 0)	/* cannot happen: one run covers everything */
		n = snprintf(body + head, sizeof(body) - (size_t)head,
			     "0 %llu\n", (unsigned long long)nblocks);
	r.content_length = (uint64_t)(head + n);
	if (conn_queue(c, &r, body, (size_t)(head + n), 0) != 0)
		conn_error(c, 500, "response too long", NULL, 0);
}

/*
 * POST /report: key=value lines from an agent, kept as an event and its
 * counters. Only with the PC's credential (Authorization: Bearer): a
 * report speaks for a PC, and nobody else may (status, stats).
 */
static void handle_report(struct http_conn *c, const struct http_request *req,
			  const char *body, size_t body_len)
{
	struct lb_server *srv = c->hs->srv;
	struct http_response r = { .status = 204, .no_body_length = 1 };
	char macs[18], text[HTTP_BODY_MAX + 1];
	size_t i;

	if (http_client_of(c, req, macs) != 0) {
		conn_error(c, 403, "reports need the PC's credential "
			   "(Authorization: Bearer)", NULL, 0);
		return;
	}
	/* keep printable ASCII and newlines; the rest becomes '?' */
	for (i = 0; i < body_len; i++) {
		unsigned char ch = (unsigned char)body[i];

		text[i] = (ch >= 0x20 && ch < 0x7f) || ch == '\n' ? (char)ch : '?';
	}
	text[body_len] = '\0';
	db_record_event(srv->db, macs, "report", text);
	conn_queue(c, &r, NULL, 0, 0);
}

/* GET /boottrace?mac=MAC: "traced_ms=N" (bootpack_build.h). */
static void handle_boottrace(struct http_conn *c, const struct http_request *req,
			     int head)
{
	struct http_response r = {
		.status = 200,
		.content_type = "text/plain; charset=utf-8",
		.no_store = 1,
	};
	char macarg[64], macs[18], text[64];
	uint8_t mac[6];
	int n;

	if (http_query_get(req->query, req->query_len, "mac", macarg,
			   sizeof(macarg)) != 0 || mac_parse(macarg, mac) != 0) {
		conn_error(c, 400, "GET /boottrace needs ?mac=MAC", NULL, head);
		return;
	}
	mac_format(mac, macs);
	n = snprintf(text, sizeof(text), "traced_ms=%lld\n",
		     (long long)bp_trace_left_ms(macs, now_ms()));
	r.content_length = (uint64_t)n;
	if (conn_queue(c, &r, text, (size_t)n, head) != 0)
		conn_error(c, 500, "response too long", NULL, 0);
}

/* A file from the served namespace, whole or one byte range. */
static void handle_file(struct http_conn *c, const struct http_request *req,
			const char *path, size_t path_len)
{
	struct http_response r = {
		.status = 200,
		.content_type = http_content_type(path),
		.accept_ranges = 1,
	};
	uint64_t first = 0, last = 0, size;
	struct stat st;
	int fd, rc;

	fd = files_open(c->hs->srv, path, path_len, &st);
	if (fd < 0) {
		int status = http_status(fd);

		conn_error(c, status,
			   status == 403 ? "path leaves the served directories" :
			   status == 404 ? "no such file" :
			   status == 414 ? "path too long" :
			   status == 503 ? "server busy, retry later" :
			   "cannot open the file",
			   NULL, req->method == HTTP_HEAD);
		return;
	}
	size = (uint64_t)st.st_size;
	r.content_length = size;
	/* RFC 9110 §14.2: Range only for GET; with If-Range we cannot
	 * validate (no ETag), so we send the whole file (§13.1.5) */
	if (req->range && req->method == HTTP_GET && !req->if_range) {
		rc = http_parse_range(req->range, req->range_len, size,
				      &first, &last);
		if (rc == -ERANGE) {
			close(fd);
			r.status = 416;
			r.range_size = size;
			r.content_type = "text/plain; charset=utf-8";
			r.content_length = sizeof("416 Range Not Satisfiable: "
						  "range starts past the end\n") - 1;
			conn_queue(c, &r, "416 Range Not Satisfiable: "
				   "range starts past the end\n",
				   (size_t)r.content_length, 0);
			return;
		}
		if (rc == 0) {
			r.status = 206;
			r.has_range = 1;
			r.range_first = first;
			r.range_last = last;
			r.range_size = size;
			r.content_length = last - first + 1;
		}
		/* -EINVAL (bad syntax) and -ENOTSUP (several ranges):
		 * ignored, the whole file with 200 */
	}
	if (conn_queue(c, &r, NULL, 0, 1) != 0) {
		close(fd);
		conn_error(c, 500, "response head too long", NULL, 0);
		return;
	}
	if (req->method == HTTP_HEAD || r.content_length == 0) {
		close(fd);
		return;
	}
	c->file_fd = fd;
	c->file_off = (off_t)(r.status == 206 ? first : 0);
	c->file_left = r.content_length;
	c->log_body_len = r.content_length;
}

/* GET /boot/<id>/v<N>/nic.img?busid=: the archive of the version's
 * per-NIC initramfs that drives the PC's NIC (nic_initrd.h). */
static void handle_nic_initrd(struct http_conn *c,
			      const struct http_request *req,
			      const char *path, size_t len)
{
	char busid[16] = "", file[600], pick[64];

	if (!req->query || http_query_get(req->query, req->query_len,
					  "busid", busid, sizeof(busid)) != 0)
		busid[0] = '\0';
	if (nic_initrd_pick(c->hs->srv, path, len, busid, file, sizeof(file),
			    pick, sizeof(pick)) != 0) {
		handle_file(c, req, path, len);	/* no such set: 404 */
		return;
	}
	log_info("http %s: NIC bus ID %s: initramfs drivers %s", c->peer,
		 busid[0] ? busid : "(none)", pick);
	handle_file(c, req, file, strlen(file));
}

static void log_request_head(struct http_conn *c, const char *buf, size_t len)
{
	char esc[1024];

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	log_debug("http %s: request head: %s", c->peer,
		  log_escape(esc, sizeof(esc), buf, len));
}

/* Route one complete request. */
static void conn_handle(struct http_conn *c, const struct http_request *req,
			const char *body, size_t body_len)
{
	char path[HTTP_URI_MAX + 1];
	int head = req->method == HTTP_HEAD;
	int n;

	snprintf(c->log_method, sizeof(c->log_method), "%s", req->method_name);
	log_escape(c->log_path, sizeof(c->log_path), req->path, req->path_len);
	if (!req->keep_alive)
		c->close_after = 1;
	n = http_percent_decode(req->path, req->path_len, path, sizeof(path));
	if (n < 0) {
		c->close_after = 1;
		conn_error(c, http_status(n), parse_error_text(n), NULL, head);
		return;
	}
	log_escape(c->log_path, sizeof(c->log_path), path, (size_t)n);
	if (req->query) {
		size_t pl = strlen(c->log_path);

		if (pl + 2 < sizeof(c->log_path)) {
			c->log_path[pl] = '?';
			log_escape(c->log_path + pl + 1, sizeof(c->log_path) - pl - 1,
				   req->query, req->query_len);
		}
	}
	if (!strcmp(path, "/boot.ipxe")) {
		if (req->method == HTTP_GET || head)
			handle_bootscript(c, req);
		else
			conn_error(c, 405, "the boot script is read with GET",
				   "GET, HEAD", 0);
	} else if (!strcmp(path, "/boottrace")) {
		if (req->method == HTTP_GET || head)
			handle_boottrace(c, req, head);
		else
			conn_error(c, 405, "the boot trace state is read with "
				   "GET", "GET, HEAD", 0);
	} else if (!strcmp(path, "/session")) {
		if (req->method == HTTP_POST)
			handle_session(c, body, body_len);
		else
			conn_error(c, 405, "a boot ticket is redeemed with POST",
				   "POST", head);
	} else if (!strcmp(path, "/overlay-map")) {
		if (req->method == HTTP_GET)
			handle_overlay_map(c, req);
		else
			conn_error(c, 405, "the overlay map is read with GET",
				   "GET", head);
	} else if (!strcmp(path, "/health")) {
		if (req->method == HTTP_POST)
			handle_health(c, req, body, body_len);
		else
			conn_error(c, 405, "health is reported with POST", "POST",
				   head);
	} else if (!strcmp(path, "/prestage")) {
		if (req->method == HTTP_POST)
			handle_prestage(c, req, body, body_len);
		else
			conn_error(c, 405, "a pre-staging is reported with POST",
				   "POST", head);
	} else if (!strcmp(path, "/control")) {
		if (req->method == HTTP_GET || req->method == HTTP_POST)
			handle_control(c, req, body, body_len);
		else
			conn_error(c, 405, "commands are read with GET and "
				   "acknowledged with POST", "GET, POST", head);
	} else if (!strcmp(path, "/report")) {
		if (req->method == HTTP_POST)
			handle_report(c, req, body, body_len);
		else
			conn_error(c, 405, "reports are sent with POST", "POST",
				   head);
	} else if ((req->method == HTTP_GET || head) &&
		   nic_initrd_is(path, (size_t)n)) {
		handle_nic_initrd(c, req, path, (size_t)n);
	} else if ((req->method == HTTP_GET || head) &&
		   handle_grubcfg(c, req, path, (size_t)n) == 0) {
		/* answered: the Secure Boot chain's GRUB config */
	} else if (req->method == HTTP_GET || head) {
		handle_file(c, req, path, (size_t)n);
	} else {
		conn_error(c, 405, "only GET and HEAD are served here",
			   "GET, HEAD", 0);
	}
}

/*
 * Parse and answer the next request in c->in. 1 = a response is queued,
 * 0 = more bytes needed.
 */
static int conn_next_request(struct http_conn *c)
{
	struct http_request req;
	int rc;

	rc = http_parse_request(c->in, c->in_len, &req);
	if (rc == 0) {
		if (c->in_len < HTTP_HEADER_MAX)
			return 0;
		rc = E2BIG_HTTP_HEADERS;
	}
	c->log_method[0] = '\0';
	snprintf(c->log_path, sizeof(c->log_path), "-");
	if (rc < 0) {
		/* the stream cannot be resynchronised: answer, then close */
		log_request_head(c, c->in, MIN(c->in_len, (size_t)512));
		log_info("http %s: bad request: %s", c->peer, err_str(rc));
		c->close_after = 1;
		snprintf(c->log_method, sizeof(c->log_method), "?");
		conn_error(c, http_status(rc), parse_error_text(rc), NULL, 0);
		return 1;
	}
	log_request_head(c, c->in, req.head_len);
	if (req.content_length > HTTP_BODY_MAX) {
		/* RFC 9110 §15.5.14: 413; the body is not read, so close */
		snprintf(c->log_method, sizeof(c->log_method), "%s",
			 req.method_name);
		log_escape(c->log_path, sizeof(c->log_path), req.path,
			   req.path_len);
		c->close_after = 1;
		conn_error(c, 413, "request body larger than 4 KiB", NULL, 0);
		return 1;
	}
	if (req.content_length > 0 &&
	    c->in_len < req.head_len + (size_t)req.content_length) {
		/* RFC 9110 §10.1.1: tell a waiting client to send the body */
		if (req.expect_continue && !c->sent_continue) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			c->sent_continue = 1;
			if (send(c->w.fd, cont, sizeof(cont) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				log_debug("http %s: 100 Continue: %s", c->peer,
					  strerror(errno));
		}
		return 0;
	}
	c->consumed = req.head_len + (size_t)MAX(req.content_length, 0);
	conn_handle(c, &req, c->in + req.head_len,
		    (size_t)MAX(req.content_length, 0));
	return 1;
}

/* ---- sending ---------------------------------------------------------- */

static void conn_log(struct http_conn *c, const char *note)
{
	log_info("http %s: %s \"%s\" %d %llu%s%s", c->peer,
		 c->log_method[0] ? c->log_method : "-", c->log_path,
		 c->log_status, (unsigned long long)c->log_bytes, c->log_note,
		 note);
}

/* 1 = response sent, 0 = blocked (wait for EPOLLOUT), <0 = connection dead */
static int conn_write(struct http_conn *c, int64_t now)
{
	uint64_t budget = HTTP_SENDFILE_BUDGET;

	while (c->out_off < c->out_len) {
		/* MSG_MORE: the head waits for the file's first bytes */
		ssize_t n = send(c->w.fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | (c->file_left ? MSG_MORE : 0));

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (c->out_off + (size_t)n > c->log_head_len)
			c->log_bytes += c->out_off + (size_t)n -
					MAX(c->out_off, c->log_head_len);
		c->out_off += (size_t)n;
		c->deadline = now + 2 * c->hs->idle_ms;
	}
	while (c->file_left) {
		size_t chunk = (size_t)MIN(c->file_left, (uint64_t)(1u << 30));
		ssize_t n;

		if (budget == 0)
			return 0;	/* let others run; still writable */
		n = sendfile(c->w.fd, c->file_fd, &c->file_off,
			     (size_t)MIN((uint64_t)chunk, budget));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return -EIO;	/* file shrank under us */
		c->file_left -= (uint64_t)n;
		c->log_bytes += (uint64_t)n;
		budget -= MIN(budget, (uint64_t)n);
		c->deadline = now + 2 * c->hs->idle_ms;
	}
	return 1;
}

/* The response is out: close or get ready for the next request. */
static void conn_response_done(struct http_conn *c, int64_t now)
{
	conn_log(c, "");
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	if (c->close_after) {
		/* RFC 9112 §9.6: half-close, then drain, so unread request
		 * bytes do not turn our close into an RST that eats the reply */
		shutdown(c->w.fd, SHUT_WR);
		c->state = CONN_LINGER;
		c->deadline = now + HTTP_LINGER_MS;
		return;
	}
	memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
	c->in_len -= c->consumed;
	c->consumed = 0;
	c->sent_continue = 0;
	c->out_len = c->out_off = 0;
	c->log_bytes = 0;
	c->log_note[0] = '\0';
	c->state = CONN_READ;
	c->deadline = now + c->hs->idle_ms;
}

/* Drive the state machine as far as it goes without blocking. */
static void conn_run(struct http_conn *c, int64_t now)
{
	for (;;) {
		if (c->state == CONN_READ) {
			if (!conn_next_request(c)) {
				conn_set_events(c, EPOLLIN | EPOLLRDHUP);
				return;
			}
		}
		if (c->state == CONN_WRITE) {
			int rc = conn_write(c, now);

			if (rc < 0) {
				char note[80];

				snprintf(note, sizeof(note), " (aborted: %s)",
					 err_str(rc));
				conn_log(c, note);
				conn_free(c);
				return;
			}
			if (rc == 0) {
				conn_set_events(c, EPOLLOUT);
				return;
			}
			conn_response_done(c, now);
		}
		if (c->state == CONN_LINGER) {
			conn_set_events(c, EPOLLIN | EPOLLRDHUP);
			return;
		}
	}
}

/* ---- receiving -------------------------------------------------------- */

/* Read what is there. 1 = got bytes or buffer full, 0 = nothing, <0 = EOF/error */
static int conn_read(struct http_conn *c)
{
	int got = 0;

	while (c->in_len < sizeof(c->in)) {
		ssize_t n = recv(c->w.fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len, 0);

		if (n > 0) {
			c->in_len += (size_t)n;
			got = 1;
			continue;
		}
		if (n == 0)
			return got ? 1 : -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return got;
		return -errno;
	}
	return 1;
}

static void conn_drain(struct http_conn *c)
{
	char sink[4096];
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		n = recv(c->w.fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break;	/* EOF or error: done lingering */
	}
	conn_free(c);
}

static void conn_event(struct loop_watch *w, uint32_t events, int64_t now)
{
	struct http_conn *c = w->arg;
	int rc;

	if (c->state == CONN_LINGER) {
		conn_drain(c);
		return;
	}
	if (c->state == CONN_READ) {
		size_t before = c->in_len;

		rc = conn_read(c);
		if (rc < 0 || (events & EPOLLERR)) {
			if (c->in_len)
				log_info("http %s: closed in the middle of a "
					 "request (%zu bytes)", c->peer, c->in_len);
			conn_free(c);
			return;
		}
		/* the whole request head must arrive within http_timeout of
		 * its first byte: trickling bytes does not extend it */
		if (rc > 0 && before == 0)
			c->deadline = now + c->hs->idle_ms;
	}
	conn_run(c, now);
}

/* ---- connections ------------------------------------------------------ */

static void conn_free(struct http_conn *c)
{
	struct http_server *hs = c->hs;

	loop_del(hs->srv->loop, &c->w);
	close(c->w.fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		hs->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	hs->nconns--;
	free(c);
}

/* At the connection limit: a best-effort 503 and close (RFC 9110 §15.6.4). */
static void http_refuse(int fd)
{
	static const char busy[] =
		"HTTP/1.1 503 Service Unavailable\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: 61\r\n"
		"Retry-After: 5\r\n"
		"Connection: close\r\n\r\n"
		"503 Service Unavailable: too many connections, retry later.\n";

	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("http: 503: %s", strerror(errno));
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* Live connections from addr. A scan: accepts are bounded per wake-up
 * and the list by http_max_conns, so no table to keep in step. */
static unsigned http_conns_from(const struct http_server *hs,
				struct in_addr addr)
{
	const struct http_conn *c;
	unsigned n = 0;

	for (c = hs->conns; c; c = c->next)
		n += c->addr.s_addr == addr.s_addr;
	return n;
}

void http_conn_adopt(struct http_server *hs, int fd,
		     const struct sockaddr_in *sin, int64_t now)
{
	const struct lb_config *cfg = hs->srv->cfg;
	struct http_conn *c;
	char addr[INET_ADDRSTRLEN];
	unsigned n;

	inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
	if (hs->nconns >= (unsigned)MAX(cfg->http_max_conns, 1)) {
		if ((n = log_limit(&hs->refuse_log, now)))
			log_warnx("http %s:%u: refused (503): %u connections "
				  "(http_max_conns; %u refused since the last "
				  "such line)", addr, ntohs(sin->sin_port),
				  hs->nconns, n);
		http_refuse(fd);
		return;
	}
	/* one host cannot take every slot (loopback included) */
	if (cfg->http_max_per_ip > 0 &&
	    http_conns_from(hs, sin->sin_addr) >= (unsigned)cfg->http_max_per_ip) {
		if ((n = log_limit(&hs->per_ip_log, now)))
			log_warnx("http %s:%u: refused (503): %d connections "
				  "from this address (http_max_per_ip; %u "
				  "refused since the last such line)", addr,
				  ntohs(sin->sin_port), cfg->http_max_per_ip, n);
		http_refuse(fd);
		return;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		log_warnx("http %s: out of memory", addr);
		close(fd);
		return;
	}
	sock_keepalive(fd, HTTP_KEEPIDLE_S, HTTP_KEEPINTVL_S, HTTP_KEEPCNT);
	c->hs = hs;
	c->addr = sin->sin_addr;
	c->w.fd = fd;
	c->w.fn = conn_event;
	c->w.arg = c;
	c->file_fd = -1;
	c->state = CONN_READ;
	c->deadline = now + c->hs->idle_ms;
	snprintf(c->peer, sizeof(c->peer), "%s:%u", addr, ntohs(sin->sin_port));
	c->peer_sa = *sin;
	if (loop_add(hs->srv->loop, &c->w, EPOLLIN | EPOLLRDHUP) != 0) {
		close(fd);
		free(c);
		return;
	}
	c->events = EPOLLIN | EPOLLRDHUP;
	c->next = hs->conns;
	if (hs->conns)
		hs->conns->prev = c;
	hs->conns = c;
	hs->nconns++;
	log_debug("http %s: connected", c->peer);
}

static void http_accept(struct loop_watch *w, uint32_t events UNUSED,
			int64_t now)
{
	struct http_server *hs = w->arg;
	int i;

	for (i = 0; i < HTTP_ACCEPT_BURST; i++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		int fd = accept4(w->fd, (struct sockaddr *)&sin, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* the listener stays readable: stop polling it
				 * for a while instead of spinning */
				unsigned n = log_limit(&hs->accept_log, now);

				if (n)
					log_warn("http: accept (pausing 1 s; %u "
						 "times since the last such "
						 "line; raise the fd limit or "
						 "lower http_max_conns)", n);
				if (loop_mod(hs->srv->loop, w, 0) == 0)
					hs->accept_paused = now + 1000;
			} else if (errno != EAGAIN && errno != EINTR &&
				   errno != ECONNABORTED) {
				log_warn("http: accept");
			}
			return;
		}
		http_conn_adopt(hs, fd, &sin, now);
	}
}

/* Timeouts: idle keep-alive closes quietly, a half request gets 408. */
static int64_t http_tick(void *arg, int64_t now)
{
	struct http_server *hs = arg;
	struct http_conn *c, *next;
	int64_t soonest = -1;

	if (hs->accept_paused) {
		if (now >= hs->accept_paused &&
		    loop_mod(hs->srv->loop, &hs->listen_w, EPOLLIN) == 0)
			hs->accept_paused = 0;
		else
			soonest = hs->accept_paused;
	}
	for (c = hs->conns; c; c = next) {
		next = c->next;
		if (now < c->deadline) {
			if (soonest < 0 || c->deadline < soonest)
				soonest = c->deadline;
			continue;
		}
		if (c->state == CONN_READ && c->in_len > 0) {
			/* RFC 9110 §15.5.9: 408, sent like any response (then
			 * half-close and drain, so the peer gets to read it) */
			snprintf(c->log_method, sizeof(c->log_method), "-");
			snprintf(c->log_path, sizeof(c->log_path), "-");
			snprintf(c->log_note, sizeof(c->log_note),
				 " (incomplete request after %lld s)",
				 (long long)(hs->idle_ms / 1000));
			c->close_after = 1;
			conn_error(c, 408, "the request did not arrive in time",
				   NULL, 0);
			c->deadline = now + 2 * hs->idle_ms;
			conn_run(c, now);	/* may free c */
			continue;
		} else if (c->state == CONN_WRITE) {
			conn_log(c, " (aborted: peer stopped reading)");
		}
		conn_free(c);
	}
	return soonest;
}

/* ---- service ---------------------------------------------------------- */

static int http_listen(struct http_server *hs)
{
	struct lb_server *srv = hs->srv;
	int fd, rc;

	fd = listen_tcp(srv, srv->cfg->http_port, "http");
	if (fd < 0)
		return fd;
	hs->listen_w.fd = fd;
	hs->listen_w.fn = http_accept;
	hs->listen_w.arg = hs;
	if ((rc = loop_add(srv->loop, &hs->listen_w, EPOLLIN)) != 0) {
		close(fd);
		return rc;
	}
	return 0;
}

static int64_t http_idle_ms(const struct lb_config *cfg)
{
	return cfg->http_timeout > 0 ? (int64_t)cfg->http_timeout * 1000
				     : 30000;
}

int http_start(struct lb_server *srv)
{
	struct http_server *hs;
	int rc;

	if (srv->cfg->http_port == 0) {
		log_info("http: off (http_port = 0)");
		return 0;
	}
	http_err_register();
	if (!(hs = calloc(1, sizeof(*hs))))
		return -ENOMEM;
	hs->srv = srv;
	hs->listen_w.fd = -1;
	hs->idle_ms = http_idle_ms(srv->cfg);
	inet_ntop(AF_INET, &srv->server_ip, hs->server_addr,
		  sizeof(hs->server_addr));
	if ((rc = http_listen(hs)) != 0)
		goto err;
	if ((rc = loop_add_ticker(srv->loop, http_tick, hs)) != 0)
		goto err_listen;
	srv->http = hs;
	log_info("http: listening on %s:%d%s%s", inet_ntoa(srv->listen_ip),
		 srv->cfg->http_port, srv->cfg->interface ? " on " : "",
		 srv->cfg->interface ? srv->cfg->interface : "");
	return 0;
err_listen:
	loop_del(srv->loop, &hs->listen_w);
	close(hs->listen_w.fd);
err:
	free(hs);
	return rc;
}

/* Connections waiting already keep their deadline; the next one they
 * get uses the new timeout. */
void http_reload(struct lb_server *srv)
{
	if (srv->http)
		srv->http->idle_ms = http_idle_ms(srv->cfg);
}

void http_stop(struct lb_server *srv)
{
	struct http_server *hs = srv->http;

	if (!hs)
		return;
	while (hs->conns)
		conn_free(hs->conns);
	loop_del(srv->loop, &hs->listen_w);
	close(hs->listen_w.fd);
	free(hs);
	srv->http = NULL;
}
