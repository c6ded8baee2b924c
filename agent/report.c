/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reports to the server: HTTP/1.1 POST /report?mac=MAC to linkboot.http
 * with "key=value" lines (boot timeline in ms since kernel start, cache
 * counters), authenticated by the boot's credential. Best effort and
 * bounded (2 s): a report never holds up I/O for long.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "agent.h"
#include "http_client.h"
#include "lb_log.h"
#include "lb_util.h"
#include "ticket.h"

#define REPORT_TIMEOUT_MS 2000

struct agent_stats agent_stats;

static void read_boot_id(void)
{
	int fd;
	ssize_t n;

	if (agent_stats.boot_id[0])
		return;
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY)) < 0)
		return;
	n = read(fd, agent_stats.boot_id, sizeof(agent_stats.boot_id) - 1);
	close(fd);
	if (n > 0)
		agent_stats.boot_id[strcspn(agent_stats.boot_id, "\n")] = '\0';
	else
		agent_stats.boot_id[0] = '\0';
}

static void update_overlay_bytes(void)
{
	struct statfs st;

	/* the upper layer's tmpfs (or cache partition), see rootfs.c */
	if (statfs("/rw", &st) == 0 && st.f_blocks >= st.f_bfree)
		agent_stats.overlay_bytes = (uint64_t)(st.f_blocks -
					    st.f_bfree) * (uint64_t)st.f_bsize;
}

static int body_format(char *b, size_t bsz, const char *event,
		       const char *extra)
{
	struct agent_stats *s = &agent_stats;

	return snprintf(b, bsz,
		"event=%s\nboot_id=%s\nuptime_ms=%lld\n"
		"timeline=agent_start:%lld,net_up:%lld,nbd_connected:%lld,"
		"root_mounted:%lld,switch_root:%lld\n"
		"bytes_from_server=%llu\nram_hits=%llu\nram_misses=%llu\n"
		"ssd_hits=%llu\nssd_misses=%llu\noverlay_bytes=%llu\n"
		"reconnects=%llu\n%s%s",
		event, s->boot_id, (long long)now_ms(),
		(long long)s->t_start, (long long)s->t_net,
		(long long)s->t_nbd, (long long)s->t_root,
		(long long)s->t_switch,
		(unsigned long long)s->bytes_from_server,
		(unsigned long long)s->ram_hits,
		(unsigned long long)s->ram_misses,
		(unsigned long long)s->ssd_hits,
		(unsigned long long)s->ssd_misses,
		(unsigned long long)s->overlay_bytes,
		(unsigned long long)s->reconnects,
		extra ? extra : "", extra ? "\n" : "");
}

void report_send(const struct agent_cfg *cfg, const uint8_t mac[6],
		 const char *event, const char *extra)
{
	char body[1536], path[64], macs[18];
	struct http_call call = {
		.method = "POST", .path = path, .body = body,
		.bearer = cfg->export_name, .max = 512,
		.timeout_ms = REPORT_TIMEOUT_MS,
	};
	uint8_t *resp = NULL;
	size_t rlen;
	int blen, status = 0;

	/* a report speaks for this PC: only with its credential */
	if (!cfg->http.sin_port ||
	    !cred_shaped(cfg->export_name, strlen(cfg->export_name)))
		return;
	read_boot_id();
	update_overlay_bytes();
	mac_format(mac, macs);
	snprintf(path, sizeof(path), "report?mac=%s", macs);
	blen = body_format(body, sizeof(body), event, extra);
	if (blen < 0 || (size_t)blen >= sizeof(body))
		return;
	call.body_len = (size_t)blen;
	if (http_call(cfg, &call, &status, &resp, &rlen) == 0)
		log_debug("report %s sent: HTTP %d", event, status);
	free(resp);
}
