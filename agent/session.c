/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The boot's credential: linkboot.ticket from the kernel command line is
 * traded once, as root from a reserved port, for the credential of this
 * boot (POST /session, server-stub/net/boot_auth.h). The credential lives in
 * the agent's memory only (the NBD export name and the reports' bearer);
 * the ticket left in /proc/cmdline is spent. The server's answer also
 * fixes the write mode: it may differ from the script's (a super grant
 * taken by another boot meanwhile).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "http_client.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "tcp.h"

#define SESSION_TIMEOUT_MS	10000
#define SESSION_RETRY_S		2
#define SESSION_BODY_MAX	1024

/* The value of "key=" in a key=value body, copied into out; 0, -ENOENT. */
static int kv_get(const char *body, const char *key, char *out, size_t outsz)
{
	size_t klen = strlen(key);
	const char *p = body;

	while (p && *p) {
		size_t ll = strcspn(p, "\n");

		if (ll > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			if (ll - klen - 1 >= outsz)
				return -ENOENT;
			memcpy(out, p + klen + 1, ll - klen - 1);
			out[ll - klen - 1] = '\0';
			return 0;
		}
		p = p[ll] ? p + ll + 1 : NULL;
	}
	return -ENOENT;
}

static int write_mode_from(const char *s)
{
	int m;

	for (m = WRITE_RAM; m <= WRITE_SUPER; m++)
		if (!strcmp(s, write_mode_name(m)))
			return m;
	return -EINVAL;
}

/* The "disk=LUN MODE BYTES" lines: the PC's extra disks. A line this
 * agent cannot read is skipped with a warning (a newer server). */
static void session_disks(struct agent_cfg *cfg, const char *body)
{
	const char *p = body;

	cfg->ndisks = 0;
	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		unsigned lun;
		char mode[16];

		if (strncmp(p, "disk=", 5) != 0)
			continue;
		if (sscanf(p + 5, "%u %15s", &lun, mode) != 2 || lun < 1 ||
		    lun > AGENT_MAX_DISKS || cfg->ndisks >= AGENT_MAX_DISKS) {
			log_warnx("session: extra disk line not understood: "
				  "%.*s", (int)strcspn(p, "\n"), p);
			continue;
		}
		cfg->disks[cfg->ndisks].lun = lun;
		cfg->disks[cfg->ndisks].writable = strcmp(mode, "ro") != 0;
		cfg->ndisks++;
	}
}

/* Take what the server decided from a 200 answer. */
static int session_take(struct agent_cfg *cfg, const char *body)
{
	char cred[sizeof(cfg->export_name)], mode[16], keep[4] = "0";
	int m;

	if (kv_get(body, "credential", cred, sizeof(cred)) != 0 ||
	    kv_get(body, "write", mode, sizeof(mode)) != 0 ||
	    (m = write_mode_from(mode)) < 0)
		return -EPROTO;
	kv_get(body, "keep", keep, sizeof(keep));
	if (m != cfg->write_mode)
		log_warnx("session: the server says write mode %s (the boot "
			  "script said %s)", mode, write_mode_name(cfg->write_mode));
	memcpy(cfg->export_name, cred, sizeof(cred));
	sodium_memzero(cred, sizeof(cred));
	cfg->write_mode = m;
	cfg->keep = keep[0] == '1';
	session_disks(cfg, body);
	return 0;
}

int session_begin(struct agent_cfg *cfg, char *why, size_t whysz)
{
	char req[sizeof(cfg->ticket) + 16];
	struct http_call call = {
		.method = "POST", .path = "session", .body = req,
		.max = SESSION_BODY_MAX, .timeout_ms = SESSION_TIMEOUT_MS,
		.tcp_flags = TCP_RESERVED_PORT,
	};
	int64_t give_up = now_ms() + (int64_t)cfg->reconnect_s * 1000;
	uint8_t *body = NULL;
	size_t len;
	int status = 0, rc, tries;

	call.body_len = (size_t)snprintf(req, sizeof(req), "ticket=%s\n",
					 cfg->ticket);
	/* a server that restarts, or answers 503 (its link DB locked for
	 * a moment), is waited for; a refusal is final */
	for (tries = 1;; tries++) {
		rc = http_call(cfg, &call, &status, &body, &len);
		if ((rc == 0 && status != 503) || now_ms() >= give_up)
			break;
		if (tries <= 3 || tries % 15 == 0)
			log_warnx("session: redeeming the boot ticket at %s: %s; "
				  "retrying", cfg->http_host, rc ? err_str(rc) :
				  "HTTP 503 (server busy)");
		if (rc == 0) {
			free(body);
			body = NULL;
		}
		sleep(SESSION_RETRY_S);
	}
	sodium_memzero(req, sizeof(req));
	sodium_memzero(cfg->ticket, sizeof(cfg->ticket));
	if (rc != 0) {
		snprintf(why, whysz, "no answer from %s: %s", cfg->http_host,
			 err_str(rc));
		return rc;
	}
	if (status == 200 && (rc = session_take(cfg, (char *)body)) == 0) {
		log_info("session: boot credential received, write mode %s",
			 write_mode_name(cfg->write_mode));
	} else {
		/* the server's reason is the first line of its answer */
		snprintf(why, whysz, "the server refused the boot ticket "
			 "(HTTP %d): %.*s", status,
			 (int)strcspn((char *)body, "\n"), (char *)body);
		rc = rc ? rc : -EACCES;
	}
	sodium_memzero(body, len);
	free(body);
	return rc;
}
