/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TFTP service (RFC 1350, 2347, 2348, 2349, 7440); see tftp.h.
 *
 * Sockets, sessions and timers live here; the packet formats and option
 * negotiation are in lib/tftp_wire.c. One struct tftp_xfer per transfer,
 * each with its own UDP socket: its port is the server's TID (RFC 1350 §4).
 *
 * Data path: a window of blocks is read with one pread() into the transfer's
 * preallocated buffer and sent with one sendmmsg(), each datagram being a
 * 4-byte header iovec plus a slice of that buffer (no copy).
 *
 *   acked        sent                       nblocks
 *     |           |                            |
 *   --+-----------+----------------------------+
 *     ^ client has all up to here
 *                 ^ last block sent of the current window
 *
 * Block numbers are absolute (64 bit) inside, 16 bit on the wire: block
 * 65536 goes out as 0, as tftp-hpa and iPXE expect.
 *
 * Netascii mode is refused with ERROR 0 (boot files are binary; the
 * conversion would also make tsize wrong). WRQ is refused with ERROR 2.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_err.h"
#include "lb_log.h"
#include "lb_path.h"
#include "lb_util.h"
#include "grubcfg.h"
#include "listen.h"
#include "server.h"
#include "tftp.h"
#include "tftp_wire.h"

/* Most blocks in flight; also the size of the sendmmsg() scratch arrays. */
#define TFTP_MAX_WINDOW		64
/* Window buffer cap per transfer: 256 transfers stay below 256 MiB. */
#define TFTP_MAX_WINDOW_BYTES	(1024 * 1024)
#define TFTP_RETRY_MS		1000	/* first retransmission */
#define TFTP_RETRY_MAX_MS	8000	/* backoff cap */
#define TFTP_MAX_RETRIES	6	/* then give up (~40 s) */
/* RFC 2349 timeouts above this are declined: a silent client then holds
 * its slot ~35 s at most, not 7 x 255 s = 30 min. U-Boot asks 5 (its
 * default); iPXE, OVMF and PXE ROMs do not ask at all. */
#define TFTP_MAX_TIMEOUT_S	5
/* A transfer's whole life: a client that ACKs just often enough to make
 * progress cannot hold a slot for ever (lock-step at blksize 1432 and a
 * 5 ms round trip, 100 MiB take ~6 min). */
#define TFTP_LIFETIME_MS	(15 * 60 * 1000)
#define TFTP_RX_BATCH		64	/* packets per wake-up, bounded */
/* Duplicate ACKs this soon after a window resend are echoes of the gap. */
#define TFTP_DUP_ACK_MS		50
/* Read-ahead per transfer: one pread() serves many small blocks. */
#define TFTP_READAHEAD		(64 * 1024)
/* An address that just fetched a loader and asks again is iPXE. */
#define TFTP_RECENT_MS		30000
#define TFTP_RECENT_SLOTS	32
/*
 * iPXE's RRQ (src/net/udp/tftp.c tftp_send_rrq: "octet", "blksize" with
 * tftp_request_blksize, default TFTP_MAX_BLKSIZE = 1432 in
 * src/include/ipxe/tftp.h, then "tsize" "0"): exactly these options.
 */
#define IPXE_BLKSIZE		"1432"

enum tftp_loader {
	LOADER_BIOS,
	LOADER_EFI,
	LOADER_ARM64,
	LOADER_N,
};

/* One transfer (like iPXE struct tftp_request). */
struct tftp_xfer {
	struct tftp_xfer *next;		/* in tftp_server.xfers */
	struct tftp_server *ts;
	struct loop_watch watch;	/* our socket: its port is our TID */
	struct sockaddr_in peer;	/* client address and TID */
	char peer_str[24];		/* "a.b.c.d:port" for logs */
	char name[160];			/* requested file name, escaped */
	char opts[160];			/* requested options, escaped */
	int file_fd;			/* served file, or -1 for script */
	char *script;			/* generated text (malloc'ed): the
					 * iPXE chain script or a GRUB config */
	char script_what[40];		/* it, for the log lines */
	int loader;			/* enum tftp_loader requested, or -1 */
	int is_script;			/* answering with script, not file */
	uint64_t size;			/* bytes to send */
	struct tftp_negotiated neg;	/* blksize, windowsize, ... */
	uint64_t nblocks;		/* size / blksize + 1 (last is short) */
	uint64_t acked;			/* highest block the client ACKed */
	uint64_t sent;			/* highest block sent so far */
	int oack_pending;		/* OACK sent, waiting for ACK 0 */
	uint8_t *buf;			/* read buffer (window or read-ahead) */
	size_t buf_size;		/* its size */
	uint64_t buf_off;		/* file offset of buf[0] */
	size_t buf_len;			/* valid bytes in buf */
	uint64_t win_first;		/* first block of the last window sent */
	int64_t win_sent_at;		/* when it was sent */
	int64_t deadline;		/* retransmit when now >= this */
	unsigned retries;		/* retransmissions since progress */
	int64_t started;		/* RRQ accepted at (TFTP_LIFETIME_MS) */
	int dead;			/* torn down, freed by the tick */
};

struct tftp_recent {
	struct in_addr ip;
	int loader;
	int64_t when;			/* 0 = free slot */
};

struct tftp_server {
	struct lb_server *srv;
	struct loop_watch watch;	/* port 69 (--tftp-port) */
	struct tftp_xfer *xfers;	/* live transfers */
	unsigned nxfers;
	int64_t next_tick;		/* earliest deadline (lower bound) */
	char loaders[LOADER_N][256];	/* sanitised loader names, "" = none */
	struct tftp_recent recent[TFTP_RECENT_SLOTS];
	unsigned recent_next;
	struct log_limit busy_log;	/* out-of-fds refusals */
	struct log_limit full_log;	/* refusals at tftp_max_sessions */
	struct log_limit per_ip_log;	/* refusals at tftp_max_per_ip */
	uint8_t pkt[65536];		/* receive buffer */
	/* sendmmsg() scratch, shared: one thread, one window at a time */
	struct mmsghdr msgs[TFTP_MAX_WINDOW];
	struct iovec iov[TFTP_MAX_WINDOW][2];
	uint8_t hdrs[TFTP_MAX_WINDOW][TFTP_HDR_LEN];
};

/* Where a request arrived: we answer from there, sized for that link. */
struct tftp_dst {
	struct in_addr addr;		/* local address the client sent to */
	unsigned max_blksize;		/* interface MTU - IP - UDP - TFTP */
};

static const struct tftp_limits tftp_limits = {
	.max_blksize = TFTP_BLKSIZE_MAX,
	.max_windowsize = TFTP_MAX_WINDOW,
	.max_window_bytes = TFTP_MAX_WINDOW_BYTES,
	.max_timeout_s = TFTP_MAX_TIMEOUT_S,
};

static int debug_on(void)
{
	return log_get_level() >= LOG_LEVEL_DEBUG;
}

static void addr_str(const struct sockaddr_in *sin, char *out, size_t sz)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(out, sz, "%s:%u", ip, ntohs(sin->sin_port));
}

/* One errno -> TFTP error code mapping (like nbdkit nbd_errno()). */
static uint16_t tftp_errcode(int rc)
{
	switch (err_errno(rc)) {
	case ENOENT:
	case ENOTDIR:
	case EISDIR:
		return TFTP_ENOTFOUND;
	case EACCES:
	case EPERM:
	case EXDEV:
	case ELOOP:
	case ENAMETOOLONG:
		return TFTP_EACCESS;
	case EINVAL:
		return TFTP_EBADOP;
	default:
		return TFTP_EUNDEF;
	}
}

static void send_error(int fd, const struct sockaddr_in *to, uint16_t code,
		       const char *msg)
{
	uint8_t buf[256];
	int len = tftp_build_error(buf, sizeof(buf), code, msg);

	if (len > 0)
		sendto(fd, buf, (size_t)len, MSG_DONTWAIT,
		       (const struct sockaddr *)to, sizeof(*to));
}

static void human_bytes(uint64_t n, char *out, size_t sz)
{
	if (n >= 10 * 1024 * 1024)
		snprintf(out, sz, "%llu MiB", (unsigned long long)(n >> 20));
	else if (n >= 1024)
		snprintf(out, sz, "%llu KiB", (unsigned long long)(n >> 10));
	else
		snprintf(out, sz, "%llu bytes", (unsigned long long)n);
}

static uint64_t xfer_bytes_done(const struct tftp_xfer *x)
{
	return MIN(x->acked * x->neg.blksize, x->size);
}

static void xfer_remember_loader(struct tftp_xfer *x, int64_t now)
{
	struct tftp_server *ts = x->ts;
	struct tftp_recent *r = &ts->recent[ts->recent_next];

	r->ip = x->peer.sin_addr;
	r->loader = x->loader;
	r->when = now ? now : 1;
	ts->recent_next = (ts->recent_next + 1) % TFTP_RECENT_SLOTS;
}

/* Close and free; only from the transfer's own callback or the tick. */
static void xfer_free(struct tftp_xfer *x)
{
	struct tftp_server *ts = x->ts;
	struct tftp_xfer **pp;

	for (pp = &ts->xfers; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			ts->nxfers--;
			break;
		}
	}
	if (x->watch.fd >= 0) {
		loop_del(ts->srv->loop, &x->watch);
		close(x->watch.fd);
	}
	if (x->file_fd >= 0)
		close(x->file_fd);
	free(x->script);
	free(x->buf);
	free(x);
}

/*
 * End a transfer (like iPXE tftp_done): one log line with the outcome,
 * then the socket and file are closed. why == NULL means success.
 */
static void xfer_done(struct tftp_xfer *x, const char *why, int64_t now)
{
	char done[32];

	human_bytes(xfer_bytes_done(x), done, sizeof(done));
	if (!why) {
		log_info("tftp %s: RRQ \"%s\"%s%s -> %s sent%s", x->peer_str,
			 x->name, x->opts[0] ? " " : "", x->opts, done,
			 x->is_script ? x->script_what : "");
		if (x->loader >= 0 && !x->is_script)
			xfer_remember_loader(x, now);
	} else {
		log_info("tftp %s: RRQ \"%s\"%s%s -> %s after %s sent",
			 x->peer_str, x->name, x->opts[0] ? " " : "", x->opts,
			 why, done);
	}
	xfer_free(x);
}

/* Mark for freeing by the tick (when called from another watch's event). */
static void xfer_kill(struct tftp_xfer *x, const char *why)
{
	log_info("tftp %s: RRQ \"%s\" -> %s", x->peer_str, x->name, why);
	x->dead = 1;
	x->deadline = 0;
	x->ts->next_tick = 0;
	if (x->watch.fd >= 0) {
		loop_del(x->ts->srv->loop, &x->watch);
		close(x->watch.fd);
		x->watch.fd = -1;
	}
}

static int64_t xfer_timeout_ms(const struct tftp_xfer *x)
{
	int64_t base = x->neg.timeout_s ? x->neg.timeout_s * 1000
					: TFTP_RETRY_MS;
	int64_t t = base << MIN(x->retries, 4u);

	return x->neg.timeout_s ? base : MIN(t, (int64_t)TFTP_RETRY_MAX_MS);
}

static void xfer_arm(struct tftp_xfer *x, int64_t now)
{
	x->deadline = now + xfer_timeout_ms(x);
	if (x->deadline < x->ts->next_tick)
		x->ts->next_tick = x->deadline;
}

/*
 * Make buf hold the bytes of blocks [first, first + count); returns their
 * start in buf, or -errno. One pread() fills the whole buffer, so with
 * windowsize 1 (tftp-hpa, curl, iPXE) most ACKs cost no read at all.
 */
static ssize_t xfer_fill(struct tftp_xfer *x, uint64_t first, uint64_t count)
{
	uint64_t off = (first - 1) * x->neg.blksize;
	size_t want = (size_t)MIN(count * x->neg.blksize, x->size - off);
	size_t len, got = 0;

	if (off >= x->buf_off && off + want <= x->buf_off + x->buf_len)
		return (ssize_t)(off - x->buf_off);
	len = (size_t)MIN((uint64_t)x->buf_size, x->size - off);
	if (x->is_script) {
		memcpy(x->buf, x->script + off, len);
	} else {
		while (got < len) {
			ssize_t n = pread(x->file_fd, x->buf + got, len - got,
					  (off_t)(off + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				break;
			got += (size_t)n;
		}
		if (got < want)
			return -EIO;	/* file shrank under us */
		len = got;
	}
	x->buf_off = off;
	x->buf_len = len;
	return 0;
}

/* Send blocks first .. first + windowsize - 1 (not beyond the last). */
static int xfer_send_window(struct tftp_xfer *x, uint64_t first, int64_t now)
{
	struct tftp_server *ts = x->ts;
	uint64_t count = MIN((uint64_t)x->neg.windowsize, x->nblocks - first + 1);
	uint64_t off = (first - 1) * x->neg.blksize;
	size_t left = (size_t)MIN(count * x->neg.blksize, x->size - off);
	ssize_t at;
	unsigned i;

	if ((at = xfer_fill(x, first, count)) < 0)
		return (int)at;
	for (i = 0; i < count; i++) {
		size_t n = MIN(left, (size_t)x->neg.blksize);

		tftp_build_data_hdr(ts->hdrs[i], (uint16_t)(first + i));
		ts->iov[i][0] = (struct iovec){ ts->hdrs[i], TFTP_HDR_LEN };
		ts->iov[i][1] = (struct iovec){
			x->buf + at + (size_t)i * x->neg.blksize, n };
		ts->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &x->peer,
			.msg_namelen = sizeof(x->peer),
			.msg_iov = ts->iov[i],
			.msg_iovlen = 2,
		};
		left -= n;
	}
	/* a full socket buffer loses the tail: the timer resends it */
	if (sendmmsg(x->watch.fd, ts->msgs, (unsigned)count, MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN && errno != ENOBUFS)
		return -errno;
	if (debug_on())
		log_debug("tftp %s: DATA %llu..%llu (wire %u..%u)", x->peer_str,
			  (unsigned long long)first,
			  (unsigned long long)(first + count - 1),
			  (unsigned)(uint16_t)first,
			  (unsigned)(uint16_t)(first + count - 1));
	x->sent = MAX(x->sent, first + count - 1);
	x->win_first = first;
	x->win_sent_at = now;
	xfer_arm(x, now);
	return 0;
}

static int xfer_send_oack(struct tftp_xfer *x, int64_t now)
{
	uint8_t buf[512];
	int len = tftp_build_oack(buf, sizeof(buf), &x->neg);

	if (len < 0)
		return len;
	if (sendto(x->watch.fd, buf, (size_t)len, MSG_DONTWAIT,
		   (struct sockaddr *)&x->peer, sizeof(x->peer)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	if (debug_on())
		log_debug("tftp %s: OACK (%d bytes)", x->peer_str, len);
	xfer_arm(x, now);
	return 0;
}

/*
 * A client that sees a gap in a window ACKs its last in-order block, often
 * once per out-of-order block that follows. The first such ACK resends the
 * window; the others, arriving while that resend is fresh, must not each
 * resend it again (a windowed Sorcerer's Apprentice).
 */
static int xfer_just_resent(const struct tftp_xfer *x, int64_t now)
{
	return x->win_first == x->acked + 1 &&
	       now - x->win_sent_at < TFTP_DUP_ACK_MS;
}

/* 1 when the transfer ended (and is freed), else 0. */
static int xfer_rx_ack(struct tftp_xfer *x, uint16_t block, int64_t now)
{
	uint64_t inflight = x->sent - x->acked;
	uint16_t diff;
	int rc;

	if (x->oack_pending) {
		/* RFC 2347: the client confirms the OACK with ACK 0 */
		if (block != 0)
			return 0;
		x->oack_pending = 0;
		x->retries = 0;
		rc = xfer_send_window(x, 1, now);
		goto out;
	}
	diff = (uint16_t)(block - (uint16_t)x->acked);
	if (diff == 0) {
		/*
		 * RFC 7440 §4: with a window, an ACK of the last in-order
		 * block asks us to resend from there. With windowsize 1 a
		 * duplicate ACK is ignored: answering it is the Sorcerer's
		 * Apprentice bug (RFC 1123 §4.2.3.1).
		 */
		if (x->neg.windowsize > 1 && inflight > 0 &&
		    !xfer_just_resent(x, now))
			rc = xfer_send_window(x, x->acked + 1, now);
		else
			return 0;
		goto out;
	}
	if (diff > inflight)
		return 0;	/* stale or from the future: ignore */
	x->acked += diff;
	x->retries = 0;
	if (x->acked >= x->nblocks) {
		xfer_done(x, NULL, now);
		return 1;
	}
	rc = xfer_send_window(x, x->acked + 1, now);
out:
	if (rc < 0) {
		char why[96];

		snprintf(why, sizeof(why), "read error: %s", err_str(rc));
		send_error(x->watch.fd, &x->peer, TFTP_EUNDEF, "read error");
		xfer_done(x, why, now);
		return 1;
	}
	return 0;
}

/* A packet on the transfer's socket; 1 when the transfer ended. */
static int xfer_rx(struct tftp_xfer *x, const uint8_t *pkt, size_t len,
		   const struct sockaddr_in *from, int64_t now)
{
	char why[160], msg[96];
	const char *m;
	size_t mlen;
	uint16_t block, code;
	int op;

	if (from->sin_addr.s_addr != x->peer.sin_addr.s_addr ||
	    from->sin_port != x->peer.sin_port) {
		char who[24];

		/* RFC 1350 §4: unknown TID -> ERROR 5 to it, go on */
		addr_str(from, who, sizeof(who));
		log_debug("tftp %s: packet from unknown TID %s", x->peer_str, who);
		send_error(x->watch.fd, from, TFTP_EBADID, "unknown transfer ID");
		return 0;
	}
	op = tftp_parse_opcode(pkt, len);
	if (op == TFTP_ACK && tftp_parse_ack(pkt, len, &block) == 0) {
		if (debug_on())
			log_debug("tftp %s: ACK %u", x->peer_str, block);
		return xfer_rx_ack(x, block, now);
	}
	if (op == TFTP_ERROR && tftp_parse_error(pkt, len, &code, &m, &mlen) == 0) {
		/* e.g. OVMF: ERROR 8 once it has read tsize, then re-requests */
		log_escape(msg, sizeof(msg), m, mlen);
		snprintf(why, sizeof(why), "client ERROR %u \"%s\"", code, msg);
		xfer_done(x, why, now);
		return 1;
	}
	if (op == TFTP_RRQ || op == TFTP_WRQ)
		return 0;	/* a retransmitted request sent to our TID */
	send_error(x->watch.fd, from, TFTP_EBADOP, "unexpected packet");
	snprintf(why, sizeof(why), "unexpected packet (opcode %d, %zu bytes)",
		 op, len);
	xfer_done(x, why, now);
	return 1;
}

static void xfer_on_event(struct loop_watch *w, uint32_t events, int64_t now)
{
	struct tftp_xfer *x = w->arg;
	struct sockaddr_in from;

	socklen_t flen = sizeof(from);
	ssize_t n;

	(void)events;
	if (x->dead)
		return;
	/*
	 * One datagram per event: epoll is level-triggered, so another one
	 * waiting brings us back, and the lock-step case (one ACK per wake-up)
	 * saves the recvfrom() that would only say EAGAIN.
	 */
	n = recvfrom(w->fd, x->ts->pkt, sizeof(x->ts->pkt), MSG_DONTWAIT,
		     (struct sockaddr *)&from, &flen);
	if (n < 0)
		return;	/* EAGAIN, or an ICMP error: the timer copes */
	if (flen < sizeof(from) || from.sin_family != AF_INET)
		return;
	xfer_rx(x, x->ts->pkt, (size_t)n, &from, now);
}

/* Sanitised names of the configured loaders, for comparison. */
static void tftp_init_loaders(struct tftp_server *ts)
{
	const struct lb_config *cfg = ts->srv->cfg;
	const char *names[LOADER_N] = { cfg->bios_loader, cfg->efi_loader,
					cfg->arm64_loader };
	int i;

	for (i = 0; i < LOADER_N; i++)
		if (!names[i] || path_sanitize(names[i], strlen(names[i]),
					       ts->loaders[i],
					       sizeof(ts->loaders[i])) != 0)
			ts->loaders[i][0] = '\0';
}

static int tftp_loader_of(const struct tftp_server *ts,
			  const struct tftp_request *req)
{
	char rel[256];
	int i;

	if (path_sanitize(req->filename, req->filename_len, rel,
			  sizeof(rel)) != 0)
		return -1;
	for (i = 0; i < LOADER_N; i++)
		if (ts->loaders[i][0] && !strcmp(rel, ts->loaders[i]))
			return i;
	return -1;
}

/*
 * Is this RRQ from iPXE? iPXE (src/net/udp/tftp.c tftp_send_rrq) sends
 * "octet", "blksize" 1432 and "tsize" 0 and nothing else; stock PXE ROMs
 * and OVMF do not (OVMF adds windowsize and asks 1468). Failing that: the
 * same address completed this very loader moments ago, so whatever asks
 * again is the loader we sent.
 */
static int tftp_from_ipxe(struct tftp_server *ts, const struct tftp_request *req,
			  const struct sockaddr_in *peer, int loader,
			  int64_t now)
{
	int blksize = 0, tsize = 0;
	unsigned i;

	for (i = 0; i < req->nopts; i++) {
		if (tftp_streq(req->opts[i].name, "blksize") &&
		    !strcmp(req->opts[i].value, IPXE_BLKSIZE))
			blksize++;
		else if (tftp_streq(req->opts[i].name, "tsize") &&
			 !strcmp(req->opts[i].value, "0"))
			tsize++;
	}
	if (req->nopts == 2 && blksize == 1 && tsize == 1)
		return 1;
	for (i = 0; i < TFTP_RECENT_SLOTS; i++) {
		const struct tftp_recent *r = &ts->recent[i];

		if (r->when && r->loader == loader &&
		    r->ip.s_addr == peer->sin_addr.s_addr &&
		    now - r->when < TFTP_RECENT_MS)
			return 1;
	}
	return 0;
}

#define TFTP_CHAIN_SCRIPT_MAX	256
/* A GRUB config with its ticket and command line fits (grubcfg.h) */
#define TFTP_GRUBCFG_MAX	8192

static int tftp_make_script(struct tftp_xfer *x)
{
	const struct lb_server *srv = x->ts->srv;
	char ip[INET_ADDRSTRLEN];
	int n;

	if (!(x->script = malloc(TFTP_CHAIN_SCRIPT_MAX)))
		return -ENOMEM;
	inet_ntop(AF_INET, &srv->server_ip, ip, sizeof(ip));
	/* ${mac} is expanded by iPXE, not by us */
	n = snprintf(x->script, TFTP_CHAIN_SCRIPT_MAX,
		     "#!ipxe\nchain http://%s:%d/boot.ipxe?mac=${mac}\n", ip,
		     srv->cfg->http_port);
	x->size = (uint64_t)MAX(n, 0);
	x->is_script = 1;
	snprintf(x->script_what, sizeof(x->script_what),
		 " (iPXE chain script)");
	return 0;
}

/*
 * The Secure Boot chain's GRUB asks for its configuration (grubcfg.h):
 * made now from the link DB, for the address asking. 0 and the text in
 * x->script; -ENOENT when the name is no GRUB config (a file, then).
 */
static int tftp_make_grubcfg(struct tftp_xfer *x,
			     const struct tftp_request *req)
{
	const char *kind = "";
	int n;

	if (!grubcfg_is_name(req->filename, req->filename_len))
		return -ENOENT;
	if (!(x->script = malloc(TFTP_GRUBCFG_MAX)))
		return -ENOMEM;
	n = grubcfg_answer(x->ts->srv, req->filename, req->filename_len,
			   x->peer.sin_addr, x->script, TFTP_GRUBCFG_MAX,
			   &kind);
	if (n < 0) {
		free(x->script);
		x->script = NULL;
		return n;
	}
	x->size = (uint64_t)n;
	x->is_script = 1;
	snprintf(x->script_what, sizeof(x->script_what), " (GRUB config: %s)",
		 kind);
	return 0;
}

static void format_opts(const struct tftp_request *req, char *out, size_t sz)
{
	size_t o = 0;
	unsigned i;

	out[0] = '\0';
	for (i = 0; i < req->nopts && o + 1 < sz; i++) {
		char name[32], value[32];

		log_escape(name, sizeof(name), req->opts[i].name,
			   strlen(req->opts[i].name));
		log_escape(value, sizeof(value), req->opts[i].value,
			   strlen(req->opts[i].value));
		o += (size_t)snprintf(out + o, sz - o, "%s%s=%s", i ? " " : "",
				      name, value);
	}
	if (o >= sz)
		out[sz - 1] = '\0';
}

/* The transfer's own socket on the address the client sent to. */
static int xfer_socket(const struct tftp_server *ts,
		       const struct in_addr *local)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = *local };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int sndbuf = 1024 * 1024;

	(void)ts;
	if (fd < 0)
		return -errno;
	/* room for a whole window: a full buffer drops the window's tail */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* Open what the request names: the file, or the iPXE chain script. */
static int xfer_open(struct tftp_xfer *x, const struct tftp_request *req,
		     int64_t now)
{
	struct tftp_server *ts = x->ts;
	struct stat st;
	int fd, rc;

	x->loader = tftp_loader_of(ts, req);
	/* the script chains HTTP: with HTTP off, serve the loader as asked */
	if (x->loader >= 0 && ts->srv->cfg->http_port > 0 &&
	    tftp_from_ipxe(ts, req, &x->peer, x->loader, now))
		return tftp_make_script(x);
	if ((rc = tftp_make_grubcfg(x, req)) != -ENOENT)
		return rc;
	fd = files_open(ts->srv, req->filename, req->filename_len, &st);
	if (fd < 0)
		return fd;
	x->file_fd = fd;
	x->size = (uint64_t)st.st_size;
	return 0;
}

static struct tftp_xfer *tftp_find_peer(struct tftp_server *ts,
					const struct sockaddr_in *peer)
{
	struct tftp_xfer *x;

	for (x = ts->xfers; x; x = x->next)
		if (!x->dead && x->peer.sin_addr.s_addr == peer->sin_addr.s_addr &&
		    x->peer.sin_port == peer->sin_port)
			return x;
	return NULL;
}

/* Reply to a refused request from the listening socket, and log it. */
static void tftp_refuse(struct tftp_server *ts, const struct sockaddr_in *peer,
			const char *what, uint16_t code, const char *msg)
{
	char who[24];

	addr_str(peer, who, sizeof(who));
	log_info("tftp %s: %s -> ERROR %u \"%s\"", who, what, code, msg);
	send_error(ts->watch.fd, peer, code, msg);
}

static int tftp_out_of_fds(int rc)
{
	return rc == -EMFILE || rc == -ENFILE;
}

/* No fd for the file or the transfer socket: ERROR "busy" (the client
 * retries), and a rate-limited line, since every RRQ would log one. */
static void tftp_refuse_busy(struct tftp_server *ts,
			     const struct sockaddr_in *peer, const char *what,
			     int rc, int64_t now)
{
	char who[24];
	unsigned n;

	if ((n = log_limit(&ts->busy_log, now))) {
		addr_str(peer, who, sizeof(who));
		log_warnx("tftp %s: %s -> ERROR %u \"server busy\": %s (%u "
			  "times since the last such line; raise the fd limit "
			  "or lower tftp_max_sessions)", who, what, TFTP_EUNDEF,
			  err_str(rc), n);
	}
	send_error(ts->watch.fd, peer, TFTP_EUNDEF, "server busy, retry later");
}

/* Live transfers from addr (a scan: at most tftp_max_sessions). */
static unsigned tftp_xfers_from(const struct tftp_server *ts,
				struct in_addr addr)
{
	const struct tftp_xfer *x;
	unsigned n = 0;

	for (x = ts->xfers; x; x = x->next)
		n += !x->dead && x->peer.sin_addr.s_addr == addr.s_addr;
	return n;
}

/* At tftp_max_sessions, or tftp_max_per_ip transfers from this address
 * (loopback included)? Then a rate-limited line: each RRQ would log one. */
static int tftp_over_cap(struct tftp_server *ts, const struct sockaddr_in *peer,
			 const char *what, int64_t now)
{
	const struct lb_config *cfg = ts->srv->cfg;
	char who[24];
	unsigned n;

	addr_str(peer, who, sizeof(who));
	if (ts->nxfers >= (unsigned)cfg->tftp_max_sessions) {
		if ((n = log_limit(&ts->full_log, now)))
			log_info("tftp %s: %s -> ERROR %u \"server busy\": %u "
				 "transfers (tftp_max_sessions; %u refused "
				 "since the last such line)", who, what,
				 TFTP_EUNDEF, ts->nxfers, n);
		return 1;
	}
	if (cfg->tftp_max_per_ip > 0 &&
	    tftp_xfers_from(ts, peer->sin_addr) >= (unsigned)cfg->tftp_max_per_ip) {
		if ((n = log_limit(&ts->per_ip_log, now)))
			log_info("tftp %s: %s -> ERROR %u \"server busy\": %d "
				 "transfers from this address (tftp_max_per_ip; "
				 "%u refused since the last such line)", who,
				 what, TFTP_EUNDEF, cfg->tftp_max_per_ip, n);
		return 1;
	}
	return 0;
}

static void tftp_rx_rrq(struct tftp_server *ts, const struct tftp_request *req,
			const struct sockaddr_in *peer,
			const struct tftp_dst *dst, int64_t now)
{
	struct tftp_limits lim = tftp_limits;
	struct tftp_xfer *x, *old;
	char what[400], name[160], opts[160];
	int rc;

	log_escape(name, sizeof(name), req->filename, req->filename_len);
	format_opts(req, opts, sizeof(opts));
	snprintf(what, sizeof(what), "%s \"%s\"%s%s",
		 req->opcode == TFTP_RRQ ? "RRQ" : "WRQ", name,
		 opts[0] ? " " : "", opts);
	if (req->opcode == TFTP_WRQ) {
		tftp_refuse(ts, peer, what, TFTP_EACCESS, "read-only server");
		return;
	}
	if (req->mode == TFTP_MODE_NETASCII) {
		tftp_refuse(ts, peer, what, TFTP_EUNDEF,
			    "netascii mode not supported, use octet");
		return;
	}
	if (req->mode != TFTP_MODE_OCTET) {
		tftp_refuse(ts, peer, what, TFTP_EBADOP, "unknown transfer mode");
		return;
	}
	if ((old = tftp_find_peer(ts, peer))) {
		/* our OACK or DATA 1 is on its way or was lost: the timer resends */
		if (old->acked == 0)
			return;
		xfer_kill(old, "restarted by a new request");
	}
	if (tftp_over_cap(ts, peer, what, now)) {
		send_error(ts->watch.fd, peer, TFTP_EUNDEF,
			   "server busy, retry later");
		return;
	}
	if (!(x = calloc(1, sizeof(*x)))) {
		tftp_refuse(ts, peer, what, TFTP_EUNDEF, "out of memory");
		return;
	}
	x->ts = ts;
	x->peer = *peer;
	x->started = now;
	x->file_fd = -1;
	x->watch.fd = -1;
	memcpy(x->name, name, sizeof(x->name));
	memcpy(x->opts, opts, sizeof(x->opts));
	addr_str(peer, x->peer_str, sizeof(x->peer_str));
	if ((rc = xfer_open(x, req, now)) != 0 && tftp_out_of_fds(rc)) {
		tftp_refuse_busy(ts, peer, what, rc, now);
		goto err_free;
	}
	if (rc != 0) {
		tftp_refuse(ts, peer, what, tftp_errcode(rc),
			    tftp_errcode(rc) == TFTP_ENOTFOUND ? "file not found"
			    : tftp_errcode(rc) == TFTP_EACCESS ? "access violation"
			    : err_str(rc));
		goto err_free;
	}
	/* no IP fragments: a lost fragment loses the whole block */
	lim.max_blksize = MIN(lim.max_blksize, dst->max_blksize);
	tftp_negotiate(req, x->size, &lim, &x->neg);
	log_debug("tftp %s: blksize %u windowsize %u timeout %u s, %llu bytes",
		  x->peer_str, x->neg.blksize, x->neg.windowsize,
		  x->neg.timeout_s ? x->neg.timeout_s : TFTP_RETRY_MS / 1000,
		  (unsigned long long)x->size);
	x->nblocks = x->size / x->neg.blksize + 1;
	x->buf_size = MAX((size_t)x->neg.windowsize * x->neg.blksize,
			  (size_t)TFTP_READAHEAD);
	x->buf_size = (size_t)MIN((uint64_t)x->buf_size, MAX(x->size, 1));
	x->buf = malloc(x->buf_size);
	if (!x->buf) {
		tftp_refuse(ts, peer, what, TFTP_EUNDEF, "out of memory");
		goto err_free;
	}
	if ((rc = xfer_socket(ts, &dst->addr)) < 0 && tftp_out_of_fds(rc)) {
		tftp_refuse_busy(ts, peer, what, rc, now);
		goto err_free;
	}
	if (rc < 0) {
		log_warnx("tftp %s: transfer socket: %s", x->peer_str,
			  err_str(rc));
		tftp_refuse(ts, peer, what, TFTP_EUNDEF, "no socket");
		goto err_free;
	}
	x->watch = (struct loop_watch){ .fd = rc, .fn = xfer_on_event, .arg = x };
	if ((rc = loop_add(ts->srv->loop, &x->watch, EPOLLIN)) != 0) {
		close(x->watch.fd);
		x->watch.fd = -1;
		tftp_refuse(ts, peer, what, TFTP_EUNDEF, "no socket");
		goto err_free;
	}
	x->next = ts->xfers;
	ts->xfers = x;
	ts->nxfers++;
	log_info("tftp %s: %s%s", x->peer_str, what,
		 x->is_script ? x->script_what : "");
	/* RFC 2347: OACK when any option was accepted, else DATA 1 at once */
	if (x->neg.nacked) {
		x->oack_pending = 1;
		rc = xfer_send_oack(x, now);
	} else {
		rc = xfer_send_window(x, 1, now);
	}
	if (rc < 0)
		xfer_kill(x, "send failed");
	return;
err_free:
	if (x->file_fd >= 0)
		close(x->file_fd);
	free(x->script);
	free(x->buf);
	free(x);
}

/* A packet on the listening port. */
static void tftp_rx_request(struct tftp_server *ts, const uint8_t *pkt,
			    size_t len, const struct sockaddr_in *peer,
			    const struct tftp_dst *dst, int64_t now)
{
	struct tftp_request req;
	char what[64];
	int op = tftp_parse_opcode(pkt, len);
	int rc;

	if (debug_on()) {
		char who[24];

		addr_str(peer, who, sizeof(who));
		log_debug("tftp %s: %zu bytes to the server port, opcode %d",
			  who, len, op);
	}
	switch (op) {
	case TFTP_RRQ:
	case TFTP_WRQ:
		if ((rc = tftp_parse_request(pkt, len, &req)) != 0) {
			snprintf(what, sizeof(what), "malformed request (%zu bytes)",
				 len);
			tftp_refuse(ts, peer, what, TFTP_EBADOP, err_str(rc));
			return;
		}
		tftp_rx_rrq(ts, &req, peer, dst, now);
		return;
	case TFTP_ERROR:
		return;	/* never answer an error with an error */
	case TFTP_DATA:
	case TFTP_ACK:
	case TFTP_OACK:
		send_error(ts->watch.fd, peer, TFTP_EBADID, "unknown transfer ID");
		return;
	default:
		if (op < 0)
			return;	/* runt: nothing to answer to */
		snprintf(what, sizeof(what), "opcode %d (%zu bytes)", op, len);
		tftp_refuse(ts, peer, what, TFTP_EBADOP, "illegal TFTP operation");
		return;
	}
}

/* Largest block that fits the interface MTU unfragmented (RFC 2348 §1). */
static unsigned tftp_if_blksize(int fd, int ifindex)
{
	struct ifreq ifr = { 0 };
	int room;

	if (ifindex <= 0 || !if_indextoname((unsigned)ifindex, ifr.ifr_name) ||
	    ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return TFTP_BLKSIZE_MAX;
	room = ifr.ifr_mtu - 20 - 8 - TFTP_HDR_LEN;	/* IPv4, UDP, TFTP */
	if (room < TFTP_BLKSIZE_DEFAULT)
		return TFTP_BLKSIZE_DEFAULT;
	return (unsigned)MIN(room, TFTP_BLKSIZE_MAX);
}

static void tftp_on_listen(struct loop_watch *w, uint32_t events, int64_t now)
{
	struct tftp_server *ts = w->arg;
	unsigned i;

	(void)events;
	for (i = 0; i < TFTP_RX_BATCH; i++) {
		struct sockaddr_in peer;
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { ts->pkt, sizeof(ts->pkt) };
		struct msghdr mh = {
			.msg_name = &peer, .msg_namelen = sizeof(peer),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		struct tftp_dst dst = { ts->srv->listen_ip, TFTP_BLKSIZE_MAX };
		struct cmsghdr *c;
		ssize_t n = recvmsg(w->fd, &mh, MSG_DONTWAIT);

		if (n < 0)
			return;
		if (mh.msg_namelen < sizeof(peer) || peer.sin_family != AF_INET)
			continue;
		/* answer from the address the client talked to */
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP &&
			    c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				dst.addr = pi.ipi_spec_dst;
				dst.max_blksize = tftp_if_blksize(w->fd,
								  pi.ipi_ifindex);
			}
		}
		tftp_rx_request(ts, ts->pkt, (size_t)n, &peer, &dst, now);
	}
}

/* Retransmit what timed out, give up after TFTP_MAX_RETRIES or
 * TFTP_LIFETIME_MS, free dead. */
static int64_t tftp_tick(void *arg, int64_t now)
{
	struct tftp_server *ts = arg;
	struct tftp_xfer *x, *next;
	int64_t earliest = -1;

	if (!ts->xfers || now < ts->next_tick)
		return ts->xfers ? ts->next_tick : -1;
	for (x = ts->xfers; x; x = next) {
		next = x->next;
		if (x->dead) {
			xfer_free(x);
			continue;
		}
		if (now - x->started >= TFTP_LIFETIME_MS) {
			send_error(x->watch.fd, &x->peer, TFTP_EUNDEF,
				   "transfer too slow");
			xfer_done(x, "transfer took longer than 15 min", now);
			continue;
		}
		if (now >= x->deadline) {
			int rc;

			if (x->retries >= TFTP_MAX_RETRIES) {
				xfer_done(x, x->acked + 1 >= x->nblocks
						     ? "timed out waiting for the last ACK"
						     : "timed out, client gone",
					  now);
				continue;
			}
			x->retries++;
			log_debug("tftp %s: retransmit %u (block %llu)",
				  x->peer_str, x->retries,
				  (unsigned long long)x->acked + 1);
			rc = x->oack_pending ? xfer_send_oack(x, now)
					     : xfer_send_window(x, x->acked + 1, now);
			if (rc < 0) {
				xfer_done(x, "send failed", now);
				continue;
			}
		}
		if (earliest < 0 || x->deadline < earliest)
			earliest = x->deadline;
	}
	ts->next_tick = earliest < 0 ? INT64_MAX : earliest;
	return earliest;
}

int tftp_start(struct lb_server *srv)
{
	const struct lb_config *cfg = srv->cfg;
	struct tftp_server *ts;
	int fd, rc;

	if (cfg->tftp_port <= 0)
		return 0;	/* --tftp-port 0: off */
	tftp_wire_register_errors();
	if (!(ts = calloc(1, sizeof(*ts))))
		return -ENOMEM;
	ts->srv = srv;
	ts->next_tick = INT64_MAX;
	tftp_init_loaders(ts);
	/* IP_PKTINFO: each transfer answers from the address it was sent to */
	if ((fd = listen_udp(srv, cfg->tftp_port, LISTEN_PKTINFO, "tftp")) < 0) {
		rc = fd;
		goto err_free;
	}
	ts->watch = (struct loop_watch){ .fd = fd, .fn = tftp_on_listen, .arg = ts };
	if ((rc = loop_add(srv->loop, &ts->watch, EPOLLIN)) != 0 ||
	    (rc = loop_add_ticker(srv->loop, tftp_tick, ts)) != 0)
		goto err_close;
	srv->tftp = ts;
	log_info("tftp: listening on %s:%d%s%s (max %d transfers)",
		 inet_ntoa(srv->listen_ip), cfg->tftp_port,
		 cfg->interface ? " on " : "",
		 cfg->interface ? cfg->interface : "", cfg->tftp_max_sessions);
	return 0;
err_close:
	close(fd);
err_free:
	free(ts);
	return rc;
}

void tftp_reload(struct lb_server *srv)
{
	if (srv->tftp)
		tftp_init_loaders(srv->tftp);
}

void tftp_stop(struct lb_server *srv)
{
	struct tftp_server *ts = srv->tftp;

	if (!ts)
		return;
	while (ts->xfers)
		xfer_free(ts->xfers);
	loop_del(srv->loop, &ts->watch);
	close(ts->watch.fd);
	free(ts);
	srv->tftp = NULL;
}
