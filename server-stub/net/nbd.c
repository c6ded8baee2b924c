/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD server: fixed newstyle handshake and transmission phase
 * (NetworkBlockDevice/nbd doc/proto.md), one state machine per connection
 * in the server's epoll loop. Wire format in lib/nbd_wire.c; here: sockets,
 * buffers, policy (which export, which flags) and the vdisk calls.
 *
 * Data path, per wake-up of a connection:
 *
 *   recv() as much as fits in rbuf  -->  parse every complete request in
 *   rbuf, answer each into tbuf (READ: pread straight into tbuf after the
 *   reply header; WRITE: vdisk_write straight from rbuf)  -->  one send()
 *   of tbuf (many replies, header and data contiguous)
 *
 * so a queue of 16 small reads costs one recv, 16 preads and one send.
 * While fewer than NBD_TX_HIGH reply bytes wait in tbuf the connection goes
 * on reading and answering (preads overlap the peer's reads); above it, a
 * peer that reads slowly keeps its replies in tbuf and is not read from
 * (EPOLLOUT only) until they drain: it never blocks the loop, and each
 * wake-up does a bounded amount of work so one busy client cannot starve
 * the others.
 *
 * Memory: buffers are sized to what is in flight, not to the largest
 * request ever seen. They are mapped with the connection (NBD_RBUF_SIZE,
 * NBD_TBUF_SIZE: every request up to 1 MiB fits, so there is no malloc
 * and no syscall per request) and:
 *
 *   READ longer than tbuf's free room -> streamed: header, then pieces of
 *       NBD_READ_PIECE read as the socket drains (tbuf never grows for it)
 *   WRITE longer than rbuf -> rbuf grows for it (only a writable export,
 *       i.e. a client token, gets there), shrinks back once drained
 *   idle for NBD_TRIM_MS -> the pages of both buffers go back to the
 *       system (madvise); the next request faults fresh ones in
 *
 * so a connection holds at most NBD_TBUF_SIZE plus one WRITE, and an idle
 * one next to nothing.
 *
 * Bad input: a wrong magic or unknown client flag closes the connection
 * (the byte stream cannot be resynchronised); a request we refuse gets an
 * NBD error reply (nbd_errno()) and the connection goes on, including an
 * oversized WRITE, whose payload is skipped first (nbd_rq_write_invalid).
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
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "bootpack_build.h"
#include "credential.h"
#include "db.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "listen.h"
#include "nbd.h"
#include "nbd_wire.h"
#include "netbuf.h"
#include "vdisk.h"

/* Longest option we read: NBD_OPT_GO with a 4096-byte name and a few info
 * requests fits; anything longer is not a real client ("Termination of the
 * session during option haggling": a server MAY hard-disconnect a client
 * whose behaviour constitutes a denial of service). */
#define NBD_MAX_OPT_LEN		(16U << 10)
/* Buffer sizes kept for a connection's life. tbuf holds a batch of
 * replies: NBD_TX_HIGH unsent plus a 1 MiB READ fit twice over; rbuf takes
 * a burst of small requests. Pages never touched cost no memory. */
#define NBD_RBUF_SIZE		(256U << 10)
#define NBD_TBUF_SIZE		((4U << 20) + (64U << 10))
/* rbuf grows for a WRITE and stays up to this (1 MiB WRITEs, the kernel's
 * and qemu's largest, cost no remap each); beyond it, only while used. */
#define NBD_RBUF_KEEP		((1U << 20) + (64U << 10))
/* Hard caps: one WRITE request in rbuf; a reply that outgrows tbuf is a
 * handshake reply (long NBD_OPT_LIST), far below this. */
#define NBD_RBUF_MAX		(NBD_REQUEST_SIZE + NBD_MAX_PAYLOAD)
#define NBD_TBUF_MAX		(NBD_TBUF_SIZE + (1U << 20))
/* A long READ is queued in pieces of this size. */
#define NBD_READ_PIECE		(1U << 20)
/* A connection idle this long gives its buffers' pages back. */
#define NBD_TRIM_MS		2000
/* TCP keepalive: a peer that vanished (power cut, cable) is found ~2 min
 * after its last traffic, whatever nbd_idle_timeout says. */
#define NBD_KEEPIDLE_S		60
#define NBD_KEEPINTVL_S		10
#define NBD_KEEPCNT		6
/* Room kept for non-READ replies and error chunks. */
#define NBD_REPLY_ROOM		(NBD_STRUCTURED_REPLY_SIZE + 6 + 128)
/* Unsent reply bytes above which a connection stops answering (and
 * reading) until the socket drains. */
#define NBD_TX_HIGH		(1U << 20)
/* Work per wake-up: rounds of recv/answer/send before yielding. */
#define NBD_ROUNDS		8
/* Options answered per round: each NBD_OPT_INFO/GO is a link DB lookup
 * (~25 us), so a wake-up costs at most NBD_ROUNDS x this many. */
#define NBD_OPTS_PER_ROUND	8
/*
 * Options per connection. A real client sends fewer than 20 (qemu, libnbd:
 * STRUCTURED_REPLY, a few meta contexts, GO); `nbdinfo --list` sends LIST
 * and an INFO per export. More than this is a flood: proto.md
 * "Termination of the session during option haggling": "if a server
 * believes a client's behaviour constitutes a denial of service, it MAY
 * initiate a hard disconnect".
 */
#define NBD_MAX_OPTS		256
/* Refused options and requests logged per connection; the rest are only
 * counted in its close line (a peer must not fill the journal). */
#define NBD_LOG_REFUSALS	8
/* A client must finish the handshake within this; also the time queued
 * replies get to drain after NBD_CMD_DISC. */
#define NBD_HANDSHAKE_MS	30000
/* Accepts per wake-up of the listener. */
#define NBD_ACCEPT_BATCH	64
/* The block sizes we advertise (proto.md "Block size constraints"). */
#define NBD_MIN_BLOCK		1
#define NBD_PREF_BLOCK		4096

enum nbd_phase {
	NBD_PH_CLIENT_FLAGS,	/* greeting sent, waiting for client flags */
	NBD_PH_OPTIONS,		/* option haggling */
	NBD_PH_TRANSMISSION,	/* requests */
	NBD_PH_CLOSING,		/* send what is queued, then close */
};

static const char *const nbd_phase_names[] = {
	[NBD_PH_CLIENT_FLAGS] = "client-flags",
	[NBD_PH_OPTIONS] = "options",
	[NBD_PH_TRANSMISSION] = "transmission",
	[NBD_PH_CLOSING] = "closing",
};

struct nbd_server {
	struct lb_server *srv;
	/* buffers lent to connections for a wake-up (netbuf.h) */
	struct netbuf_pool rpool, tpool; /* NBD_RBUF_SIZE / NBD_TBUF_SIZE */
	struct loop_watch listen;	/* the listening socket */
	struct nbd_conn *conns;		/* live connections */
	unsigned nconns;		/* length of conns */
	int64_t accept_paused;		/* out of fds: accept again at, or 0 */
	struct log_limit accept_log;	/* the out-of-fds warning */
	struct log_limit flood_log;	/* too many options */
	struct log_limit refuse_log;	/* refusals at nbd_max_conns */
	struct log_limit per_ip_log;	/* refusals at nbd_max_per_ip */
};

struct nbd_conn {
	struct loop_watch w;		/* the connection's socket */
	struct nbd_server *ns;		/* owner */
	struct nbd_conn *next;		/* in ns->conns */
	struct in_addr addr;		/* client address (nbd_max_per_ip;
					 * credentials are bound to it) */
	char peer[48];			/* "127.0.0.1:51234" for logs */
	enum nbd_phase phase;
	int dead;			/* closed; freed by nbd_tick() */
	const char *bye;		/* why we close after CLOSING */
	int64_t deadline;		/* handshake must end by then, or 0 */
	uint32_t events;		/* epoll interest now registered */
	uint32_t cflags;		/* client flags (NBD_FLAG_C_*) */
	int structured;			/* NBD_OPT_STRUCTURED_REPLY agreed */
	unsigned nopts;			/* options received so far */
	/* the export, once chosen */
	struct export_info ex;
	struct vdisk *vd;		/* NULL during the handshake */
	int64_t session;		/* db_session_add() row, or -1 */
	uint64_t size;			/* export size in bytes */
	uint16_t tflags;		/* transmission flags we sent */
	/* receive buffer: bytes [rstart, rend) not yet parsed */
	uint8_t *rbuf;
	size_t rcap, rstart, rend;
	/* transmit buffer: bytes [tstart, tend) not yet sent */
	uint8_t *tbuf;
	size_t tcap, tstart, tend;
	int rx_ready;			/* rbuf holds a request we left for
					 * lack of tbuf room */
	/* a READ too long for tbuf, queued in pieces (nbd_read_piece()) */
	uint64_t rd_off;		/* next offset to read */
	uint32_t rd_left;		/* bytes still to queue */
	int64_t last_io;		/* last wake-up with I/O (ms) */
	int trimmed;			/* buffers' pages given back since */
	/* an invalid WRITE whose payload we are skipping (see
	 * nbd_rq_write_invalid()) */
	uint64_t discard;		/* payload bytes still to skip */
	uint64_t discard_handle;
	uint32_t discard_error;		/* NBD_E* to answer once skipped */
	/* counters for the close log line; io also for `linkboot status` */
	uint64_t nreq;
	struct session_counters io;
	uint64_t nrefused;		/* error replies (options, requests) */
	struct bp_trace *trace;		/* boot pack trace, or NULL */
};

static void nbd_conn_close(struct nbd_conn *c, const char *why);

/* Log this refusal? The first NBD_LOG_REFUSALS of a connection, yes. */
static int nbd_log_refusal(struct nbd_conn *c)
{
	return c->nrefused++ < NBD_LOG_REFUSALS;
}

/* ---- buffers ---- */

/* Both buffers, for a wake-up (or the greeting). 0 or -ENOMEM. */
static int nbd_bufs_borrow(struct nbd_conn *c, int64_t now)
{
	struct nbd_server *ns = c->ns;

	if (netbuf_take(&ns->rpool, &c->rbuf, &c->rcap, now) != 0 ||
	    netbuf_take(&ns->tpool, &c->tbuf, &c->tcap, now) != 0)
		return -ENOMEM;
	return 0;
}

/* Give back what holds nothing the connection still needs. */
static void nbd_bufs_return(struct nbd_conn *c)
{
	if (c->tbuf && c->tstart == c->tend && !c->rd_left) {
		c->tstart = c->tend = 0;
		netbuf_give(&c->ns->tpool, &c->tbuf, &c->tcap);
	}
	/* an rbuf grown for 1 MiB WRITEs stays: that writer sends more */
	if (c->rbuf && c->rcap == c->ns->rpool.cap && c->rstart == c->rend &&
	    !c->rx_ready) {
		c->rstart = c->rend = 0;
		netbuf_give(&c->ns->rpool, &c->rbuf, &c->rcap);
	}
}

/* Buffers are netbuf mappings (netbuf.h): shrunk and trimmed at once. */

/* Make room for n more bytes at tend (tbuf grows if one reply needs it). */
static int nbd_tx_reserve(struct nbd_conn *c, size_t n)
{
	if (c->tstart == c->tend)
		c->tstart = c->tend = 0;
	if (c->tend + n <= c->tcap)
		return 0;
	if (c->tstart > 0) {
		memmove(c->tbuf, c->tbuf + c->tstart, c->tend - c->tstart);
		c->tend -= c->tstart;
		c->tstart = 0;
		if (c->tend + n <= c->tcap)
			return 0;
	}
	if (c->tend + n > NBD_TBUF_MAX)
		return -ENOMEM;
	return netbuf_resize(&c->tbuf, &c->tcap, c->tend + n);
}

/* Room for a whole message of n bytes from rstart in rbuf. */
static int nbd_rx_reserve(struct nbd_conn *c, size_t n)
{
	if (c->rstart + n <= c->rcap)
		return 0;
	if (c->rstart > 0) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
		if (n <= c->rcap)
			return 0;
	}
	if (n > NBD_RBUF_MAX)
		return -ENOMEM;
	/* a WRITE up to 1 MiB grows rbuf once, to the size it then keeps */
	return netbuf_resize(&c->rbuf, &c->rcap, MAX(n, NBD_RBUF_KEEP));
}

static size_t nbd_tx_pending(const struct nbd_conn *c)
{
	return c->tend - c->tstart;
}

static size_t nbd_rx_avail(const struct nbd_conn *c)
{
	return c->rend - c->rstart;
}

/* A buffer grown past what a connection keeps goes back to that size as
 * soon as it is empty: one big WRITE or a long handshake reply does not
 * pin its memory for the connection's life. (Shrinking a mapping cannot
 * fail in practice; if it did, the buffer would just stay as it is.) */
static void nbd_bufs_fit(struct nbd_conn *c)
{
	if (c->tcap > NBD_TBUF_SIZE && c->tstart == c->tend) {
		c->tstart = c->tend = 0;
		netbuf_resize(&c->tbuf, &c->tcap, NBD_TBUF_SIZE);
	}
	if (c->rcap > NBD_RBUF_KEEP && c->rstart == c->rend) {
		c->rstart = c->rend = 0;
		netbuf_resize(&c->rbuf, &c->rcap, NBD_RBUF_KEEP);
	}
}

/* An idle connection keeps its buffers' mappings but not their pages:
 * a thousand connections that each once read a few MiB would otherwise
 * hold gigabytes while doing nothing. */
static void nbd_bufs_trim(struct nbd_conn *c)
{
	nbd_bufs_fit(c);
	if (c->tstart == c->tend && !c->rd_left) {
		c->tstart = c->tend = 0;
		netbuf_drop_pages(c->tbuf, c->tcap);
	}
	if (c->rstart == c->rend && !c->discard) {
		c->rstart = c->rend = 0;
		netbuf_drop_pages(c->rbuf, c->rcap);
	}
	c->trimmed = 1;
}

/* ---- handshake: option replies ---- */

/* Queue an option reply with an optional text payload (error message). */
static int nbd_opt_reply(struct nbd_conn *c, uint32_t opt, uint32_t type,
			 const char *msg)
{
	size_t need = NBD_OPT_REPLY_HDR_SIZE + (msg ? strlen(msg) : 0);
	int n, rc;

	if ((rc = nbd_tx_reserve(c, need)) != 0)
		return rc;
	n = nbd_build_rep_text(c->tbuf + c->tend, c->tcap - c->tend, opt,
			       type, msg);
	if (n < 0)
		return n;
	c->tend += (size_t)n;
	/* ERR_UNSUP is routine (qemu and libnbd probe meta contexts) */
	if (type == NBD_REP_ERR_UNSUP)
		log_debug("nbd %s: %s (%u) -> %s", c->peer, nbd_opt_name(opt),
			  opt, nbd_rep_name(type));
	else if ((type & NBD_REP_FLAG_ERROR) && nbd_log_refusal(c))
		log_info("nbd %s: %s (%u) -> %s%s%s", c->peer, nbd_opt_name(opt),
			 opt, nbd_rep_name(type), msg ? ": " : "",
			 msg ? msg : "");
	return 0;
}

/* db_export_list callback: one NBD_REP_SERVER per export. */
static int nbd_list_one(void *arg, const char *name, const char *desc)
{
	struct nbd_conn *c = arg;
	size_t need = NBD_OPT_REPLY_HDR_SIZE + 4 + strlen(name) +
		      (desc ? strlen(desc) : 0);
	int n;

	if (nbd_tx_reserve(c, need) != 0)
		return -ENOMEM;
	n = nbd_build_rep_server(c->tbuf + c->tend, c->tcap - c->tend,
				 NBD_OPT_LIST, name, desc);
	if (n < 0)
		return 0;	/* a name over 4096 bytes: leave it out */
	c->tend += (size_t)n;
	return 0;
}

/* proto.md "Option types": NBD_OPT_LIST */
static int nbd_opt_list(struct nbd_conn *c, uint32_t len)
{
	struct db *db = c->ns->srv->db;
	int rc;

	if (len != 0)
		return nbd_opt_reply(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
				     "NBD_OPT_LIST takes no data");
	if (!db)
		return nbd_opt_reply(c, NBD_OPT_LIST, NBD_REP_ERR_SHUTDOWN,
				     "link DB not open");
	if ((rc = db_export_list(db, nbd_list_one, c)) < 0) {
		log_warnx("nbd %s: listing exports: %s", c->peer,
			  err_str(rc));
		return nbd_opt_reply(c, NBD_OPT_LIST, NBD_REP_ERR_POLICY,
				     "cannot list exports");
	}
	return nbd_opt_reply(c, NBD_OPT_LIST, NBD_REP_ACK, NULL);
}

/* Transmission flags for an export. Read-only exports get
 * NBD_FLAG_CAN_MULTI_CONN: there is no cache to be coherent about. */
static uint16_t nbd_export_tflags(int read_only, int structured)
{
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH;

	if (read_only)
		f |= NBD_FLAG_READ_ONLY | NBD_FLAG_CAN_MULTI_CONN;
	else
		f |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
		     NBD_FLAG_SEND_WRITE_ZEROES;
	/* READ answers are never fragmented, so NBD_CMD_FLAG_DF is free */
	if (structured)
		f |= NBD_FLAG_SEND_DF;
	return f;
}

/* What vdisk_open() will decide without opening it (NBD_OPT_INFO must
 * not create overlays): only `server` and `super` clients write here; a
 * `ram`/`disk` client's writes stay on the client (overlayfs). */
static int nbd_export_read_only(const struct export_info *ex)
{
	return ex->read_only || (ex->write_mode != WRITE_SERVER &&
				 ex->write_mode != WRITE_SUPER);
}

/* What a log line may say of a name a client sent: a credential or a
 * ticket only by its first characters, anything else escaped. */
static const char *nbd_name_for_log(char *out, size_t outsz, const char *name,
				    uint32_t len)
{
	if (cred_shaped(name, len) || ticket_shaped(name, len))
		snprintf(out, outsz, "%.6s...", name);
	else
		log_escape(out, outsz, name, len);
	return out;
}

/* Resolve a client-supplied name (not NUL-terminated) into c->ex. */
static int nbd_resolve(struct nbd_conn *c, const char *name, uint32_t len,
		       char *why, size_t whysz)
{
	char esc[160], nm[NBD_MAX_STRING + 1], ip[INET_ADDRSTRLEN];
	int rc;

	if (!c->ns->srv->db) {
		snprintf(why, whysz, "link DB not open");
		return -ESHUTDOWN;
	}
	/* proto.md "Option types": names are at most NBD_MAX_STRING bytes;
	 * NBD_OPT_EXPORT_NAME hands us the raw option length */
	if (len > NBD_MAX_STRING) {
		snprintf(why, whysz, "export name of %u bytes (max %u)", len,
			 NBD_MAX_STRING);
		return -ENAMETOOLONG;
	}
	if (memchr(name, '\0', len) || len == 0) {
		/* proto.md: an empty name asks for the default export;
		 * linkboot has none (every disk is named) */
		snprintf(why, whysz, len ? "export name contains NUL"
					 : "no default export: give a name");
		return -ENOENT;
	}
	memcpy(nm, name, len);
	nm[len] = '\0';
	/* a credential is bound to the address it was issued to */
	inet_ntop(AF_INET, &c->addr, ip, sizeof(ip));
	rc = db_export_resolve(c->ns->srv->db, nm, ip, &c->ex);
	sodium_memzero(nm, sizeof(nm));
	if (rc != 0) {
		nbd_name_for_log(esc, sizeof(esc), name, len);
		snprintf(why, whysz, "export \"%s\": %s", esc,
			 rc == -ENOENT ? "no such export" :
			 rc == -EACCES ? "not for this address (a PC's "
					 "credential is bound to its address)" :
			 err_str(rc));
		return rc;
	}
	return 0;
}

/*
 * A client's overlay has one writer. When its agent reconnects after a
 * power cut, a cable pull or a crash, the old TCP session may still look
 * alive here (no FIN ever came): the client's newest connection from the
 * same address is the live one, so older sessions of the same client and
 * export from that address are closed. A connection from another address
 * never ends a session: it is refused (-EBUSY) instead.
 * Returns how many were closed.
 */
static int nbd_supersede(struct nbd_conn *c)
{
	struct nbd_conn *o;
	int n = 0;

	if (!c->ex.client_mac[0])
		return 0;
	for (o = c->ns->conns; o; o = o->next) {
		if (o == c || o->dead || !o->vd ||
		    strcmp(o->ex.client_mac, c->ex.client_mac) != 0 ||
		    strcmp(o->ex.image_id, c->ex.image_id) != 0 ||
		    o->ex.lun != c->ex.lun ||	/* its extra disks */
		    o->addr.s_addr != c->addr.s_addr)
			continue;
		log_warnx("nbd %s: client %s connected again from %s: closing "
			  "its old session", o->peer, o->ex.client_mac, c->peer);
		nbd_conn_close(o, "superseded by the same client's new session");
		n++;
	}
	return n;
}

void nbd_client_rebooted(struct lb_server *srv, const char *mac,
			 const char *cred_hash)
{
	struct nbd_conn *o;

	if (!srv->nbd)
		return;
	for (o = srv->nbd->conns; o; o = o->next) {
		if (o->dead || o->ex.cred_kind != CRED_BOOT ||
		    strcmp(o->ex.client_mac, mac) != 0 ||
		    !strcmp(o->ex.cred_hash, cred_hash))
			continue;
		log_info("nbd %s: client %s booted again: closing the session "
			 "of its previous boot", o->peer, mac);
		nbd_conn_close(o, "the client booted again");
	}
}

/* Open the vdisk of c->ex and fix the transmission flags. */
static int nbd_open_export(struct nbd_conn *c, char *why, size_t whysz)
{
	const struct lb_config *cfg = c->ns->srv->cfg;
	struct db *db = c->ns->srv->db;
	int rc;

	/* a live session pins the version: never deleted while in use */
	if ((rc = db_session_add(db, &c->ex, c->peer, "nbd",
				 &c->session)) != 0) {
		snprintf(why, whysz, "export %s: %s", c->ex.label, err_str(rc));
		c->session = -1;
		return rc;
	}
	c->ex.overlay_max = (uint64_t)cfg->overlay_max_mib << 20;
	rc = vdisk_open(db, cfg->store_dir, cfg->state_dir, &c->ex, &c->vd);
	if (rc == -EBUSY && nbd_supersede(c) > 0)
		rc = vdisk_open(db, cfg->store_dir, cfg->state_dir, &c->ex,
				&c->vd);
	if (rc != 0) {
		snprintf(why, whysz, "export %s: cannot open disk: %s",
			 c->ex.label, rc == -EBUSY ? "in use by a session "
			 "from another address" : err_str(rc));
		c->vd = NULL;
		db_session_remove(db, c->session);
		c->session = -1;
		return rc;
	}
	c->size = vdisk_size(c->vd);
	c->tflags = nbd_export_tflags(vdisk_read_only(c->vd), c->structured);
	return 0;
}

static const char *nbd_mode_name(const struct export_info *ex)
{
	if (nbd_export_read_only(ex))
		return "read-only";
	switch (ex->write_mode) {
	case WRITE_SERVER:
		return "server overlay";
	case WRITE_SUPER:
		return "super (next version)";
	default:
		return "read-write";
	}
}

/* Enter the transmission phase: one log line per connection. */
static void nbd_enter_transmission(struct nbd_conn *c)
{
	char detail[256];
	char ver[16], ip[INET_ADDRSTRLEN];
	struct log_fields lf = {
		.mac = c->ex.client_mac[0] ? c->ex.client_mac : NULL,
		.image = c->ex.image_id, .version = ver, .client_ip = ip,
	};

	c->phase = NBD_PH_TRANSMISSION;
	c->deadline = 0;
	c->trace = bp_trace_begin(c->ns->srv->cfg, &c->ex, c->size);
	snprintf(ver, sizeof(ver), "%u", c->ex.version);
	inet_ntop(AF_INET, &c->addr, ip, sizeof(ip));
	/* a credential is a secret: the label says whose it is; journald
	 * fields (MAC=, IMAGE=, ...) for `journalctl MAC=...` */
	log_fields(LOG_LEVEL_INFO, &lf, "nbd %s: export %s: image %s v%u, "
		   "%llu bytes, %s%s", c->peer, c->ex.label, c->ex.image_id,
		   c->ex.version, (unsigned long long)c->size,
		   nbd_mode_name(&c->ex),
		   c->structured ? ", structured replies" : "");
	if (c->ex.client_mac[0]) {
		snprintf(detail, sizeof(detail), "nbd connect from %s, %s",
			 c->peer, nbd_mode_name(&c->ex));
		db_record_event(c->ns->srv->db, c->ex.client_mac, "nbd",
				detail);
	}
}

/* Map a resolve/open failure to an option error reply. */
static uint32_t nbd_rep_err_for(int rc)
{
	switch (err_errno(rc)) {
	case ENOENT:
		return NBD_REP_ERR_UNKNOWN;
	case ESHUTDOWN:
		return NBD_REP_ERR_SHUTDOWN;
	default:
		return NBD_REP_ERR_POLICY;
	}
}

/* The NBD_REP_INFO replies a client asked for, then NBD_INFO_EXPORT
 * (proto.md "NBD_OPT_INFO and NBD_OPT_GO": the server MUST send
 * NBD_INFO_EXPORT, MAY ignore other requests). */
static int nbd_opt_go_infos(struct nbd_conn *c, uint32_t opt,
			    const struct nbd_opt_go *go, uint64_t size,
			    uint16_t tflags)
{
	char desc[160];
	uint8_t *p;
	uint16_t i, t;
	int n, rc;

	for (i = 0; i < go->ninfo; i++) {
		t = nbd_opt_go_info(go, i);
		if ((rc = nbd_tx_reserve(c, 64 + NBD_MAX_STRING)) != 0)
			return rc;
		p = c->tbuf + c->tend;
		switch (t) {
		case NBD_INFO_BLOCK_SIZE:
			n = nbd_build_rep_info_block_size(p, c->tcap - c->tend,
							  opt, NBD_MIN_BLOCK,
							  NBD_PREF_BLOCK,
							  NBD_MAX_PAYLOAD);
			break;
		case NBD_INFO_NAME:
			n = nbd_build_rep_info_text(p, c->tcap - c->tend, opt,
						    NBD_INFO_NAME, c->ex.name);
			break;
		case NBD_INFO_DESCRIPTION:
			snprintf(desc, sizeof(desc), "linkboot image %s v%u%s",
				 c->ex.image_id, c->ex.version,
				 nbd_export_read_only(&c->ex) ? " (read-only)"
							      : "");
			n = nbd_build_rep_info_text(p, c->tcap - c->tend, opt,
						    NBD_INFO_DESCRIPTION, desc);
			break;
		default:
			continue;	/* NBD_INFO_EXPORT comes below */
		}
		if (n > 0)
			c->tend += (size_t)n;
	}
	if ((rc = nbd_tx_reserve(c, 64)) != 0)
		return rc;
	n = nbd_build_rep_info_export(c->tbuf + c->tend, c->tcap - c->tend,
				      opt, size, tflags);
	c->tend += (size_t)n;
	return 0;
}

/* proto.md "Option types": NBD_OPT_INFO and NBD_OPT_GO */
static int nbd_opt_info_go(struct nbd_conn *c, uint32_t opt,
			   const uint8_t *data, uint32_t len)
{
	struct nbd_opt_go go;
	char why[256];
	int rc;

	if (nbd_parse_opt_go(data, len, &go) != 0)
		return nbd_opt_reply(c, opt, NBD_REP_ERR_INVALID,
				     "malformed option data");
	if ((rc = nbd_resolve(c, go.name, go.name_len, why, sizeof(why))) != 0)
		return nbd_opt_reply(c, opt, nbd_rep_err_for(rc), why);
	if (opt == NBD_OPT_INFO) {
		/* no disk opened just to describe it */
		rc = nbd_opt_go_infos(c, opt, &go, c->ex.size,
				      nbd_export_tflags(nbd_export_read_only(&c->ex),
							c->structured));
		return rc ? rc : nbd_opt_reply(c, opt, NBD_REP_ACK, NULL);
	}
	if ((rc = nbd_open_export(c, why, sizeof(why))) != 0) {
		log_warnx("nbd %s: %s", c->peer, why);
		return nbd_opt_reply(c, opt, nbd_rep_err_for(rc), why);
	}
	if ((rc = nbd_opt_go_infos(c, opt, &go, c->size, c->tflags)) != 0 ||
	    (rc = nbd_opt_reply(c, opt, NBD_REP_ACK, NULL)) != 0)
		return rc;
	nbd_enter_transmission(c);
	return 0;
}

/* proto.md "Newstyle negotiation": NBD_OPT_EXPORT_NAME. It cannot fail
 * politely: an unknown export MUST terminate the session. */
static int nbd_opt_export_name(struct nbd_conn *c, const uint8_t *data,
			       uint32_t len)
{
	char why[256];
	int n, rc;

	if ((rc = nbd_resolve(c, (const char *)data, len, why,
			      sizeof(why))) != 0 ||
	    (rc = nbd_open_export(c, why, sizeof(why))) != 0) {
		log_warnx("nbd %s: NBD_OPT_EXPORT_NAME: %s: closing", c->peer,
			  why);
		c->phase = NBD_PH_CLOSING;
		c->bye = "NBD_OPT_EXPORT_NAME failed";
		return 0;
	}
	if ((rc = nbd_tx_reserve(c, NBD_EXPORT_NAME_REPLY_SIZE)) != 0)
		return rc;
	n = nbd_build_export_name_reply(c->tbuf + c->tend, c->tcap - c->tend,
					c->size, c->tflags,
					c->cflags & NBD_FLAG_C_NO_ZEROES);
	c->tend += (size_t)n;
	nbd_enter_transmission(c);
	return 0;
}

/* One complete option (header parsed, len data bytes at data). */
static int nbd_handle_option(struct nbd_conn *c, uint32_t opt,
			     const uint8_t *data, uint32_t len)
{
	if (c->ns->srv->cfg->verbose)
		log_debug("nbd %s: %s (%u), %u bytes", c->peer,
			  nbd_opt_name(opt), opt, len);
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		return nbd_opt_export_name(c, data, len);
	case NBD_OPT_ABORT:
		/* "The server MUST reply with NBD_REP_ACK" */
		c->phase = NBD_PH_CLOSING;
		c->bye = "client aborted (NBD_OPT_ABORT)";
		return nbd_opt_reply(c, opt, NBD_REP_ACK, NULL);
	case NBD_OPT_LIST:
		return nbd_opt_list(c, len);
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return nbd_opt_info_go(c, opt, data, len);
	case NBD_OPT_STRUCTURED_REPLY:
		if (len != 0)
			return nbd_opt_reply(c, opt, NBD_REP_ERR_INVALID,
					     "option takes no data");
		c->structured = 1;
		return nbd_opt_reply(c, opt, NBD_REP_ACK, NULL);
	case NBD_OPT_STARTTLS:
		/* "NOTLS mode": ERR_POLICY or ERR_UNSUP */
		return nbd_opt_reply(c, opt, NBD_REP_ERR_POLICY,
				     "TLS is not offered by this server");
	default:
		/* "Option types": unknown (or unimplemented) -> ERR_UNSUP */
		return nbd_opt_reply(c, opt, NBD_REP_ERR_UNSUP, NULL);
	}
}

/* Parse handshake messages from rbuf. 1: progress, 0: need more, <0: close */
static int nbd_handshake_step(struct nbd_conn *c)
{
	const uint8_t *p = c->rbuf + c->rstart;
	size_t avail = nbd_rx_avail(c);
	struct nbd_opt_hdr hdr;
	int rc;

	if (c->phase == NBD_PH_CLIENT_FLAGS) {
		rc = nbd_parse_client_flags(p, avail, NBD_FLAG_FIXED_NEWSTYLE |
					    NBD_FLAG_NO_ZEROES, &c->cflags);
		if (rc == -EAGAIN)
			return 0;
		if (rc != 0) {
			/* "Client flags": unknown flag -> drop the connection */
			log_warnx("nbd %s: bad client flags 0x%08x: closing",
				  c->peer, nbd_get32(p));
			return rc;
		}
		c->rstart += NBD_CLIENT_FLAGS_SIZE;
		c->phase = NBD_PH_OPTIONS;
		return 1;
	}
	rc = nbd_parse_opt_hdr(p, avail, NBD_MAX_OPT_LEN, &hdr);
	if (rc == -EAGAIN)
		return 0;
	if (rc == -EBADMSG) {
		log_warnx("nbd %s: bad option magic: not an NBD client, closing",
			  c->peer);
		return rc;
	}
	if (rc == -EMSGSIZE) {
		log_warnx("nbd %s: %s with %u bytes of data (max %u): closing",
			  c->peer, nbd_opt_name(hdr.opt), hdr.len,
			  NBD_MAX_OPT_LEN);
		return rc;
	}
	if (avail < NBD_OPT_HDR_SIZE + (size_t)hdr.len)
		return nbd_rx_reserve(c, NBD_OPT_HDR_SIZE + hdr.len);
	/* replies the peer does not read stop the reading, as in the
	 * transmission phase */
	if (nbd_tx_pending(c) >= NBD_TX_HIGH) {
		c->rx_ready = 1;
		return 0;
	}
	if (++c->nopts > NBD_MAX_OPTS) {
		unsigned n = log_limit(&c->ns->flood_log, now_ms());

		if (n)
			log_warnx("nbd %s: more than %u options: a flood, not a "
				  "client; closing (%u such connections since "
				  "the last such line)", c->peer, NBD_MAX_OPTS,
				  n);
		return -EPROTO;
	}
	c->rstart += NBD_OPT_HDR_SIZE + hdr.len;
	if ((rc = nbd_handle_option(c, hdr.opt, p + NBD_OPT_HDR_SIZE,
				    hdr.len)) != 0)
		return rc;
	return 1;
}

/* ---- transmission ---- */

/* Queue a reply without data (simple, or an error chunk for READ when
 * structured replies are on: proto.md "Structured reply chunk message"
 * forbids simple replies to NBD_CMD_READ then). */
static int nbd_reply_status(struct nbd_conn *c, const struct nbd_request *rq,
			    int rc)
{
	uint32_t err = nbd_errno(rc);
	int n;

	if (err)
		c->io.io_errors++;
	if ((n = nbd_tx_reserve(c, NBD_REPLY_ROOM)) != 0)
		return n;
	if (err && c->structured && rq->type == NBD_CMD_READ)
		n = nbd_build_chunk_error(c->tbuf + c->tend, c->tcap - c->tend,
					  NBD_REPLY_FLAG_DONE, rq->handle, err,
					  strerror(err_errno(rc)));
	else
		n = nbd_build_simple_reply(c->tbuf + c->tend, c->tcap - c->tend,
					   err, rq->handle);
	c->tend += (size_t)n;
	if (err && nbd_log_refusal(c))
		log_info("nbd %s: %s (%u) offset %llu length %u: %s (%s)",
			 c->peer, nbd_cmd_name(rq->type), rq->type,
			 (unsigned long long)rq->offset, rq->length,
			 nbd_err_name(err), err_str(rc));
	return 0;
}

/* Free bytes in tbuf once what is unsent is moved to its start. */
static size_t nbd_tx_room(const struct nbd_conn *c)
{
	return c->tcap - nbd_tx_pending(c);
}

/*
 * NBD_CMD_READ: data read straight into tbuf behind its reply header. A
 * READ that does not fit the room left (up to NBD_MAX_PAYLOAD may be
 * asked) goes out as its header and first piece now, the rest piece by
 * piece as the socket drains (nbd_read_piece()); the reply is the same
 * bytes on the wire, and tbuf never grows for it.
 */
static int nbd_rq_read(struct nbd_conn *c, const struct nbd_request *rq)
{
	size_t hdr = c->structured ? NBD_OFFSET_DATA_HDR_SIZE
				   : NBD_SIMPLE_REPLY_SIZE;
	uint32_t now_len = rq->length;
	uint8_t *p;
	int rc;

	if (hdr + rq->length > nbd_tx_room(c))
		now_len = MIN(rq->length, NBD_READ_PIECE);
	if ((rc = nbd_tx_reserve(c, hdr + now_len)) != 0)
		return nbd_reply_status(c, rq, rc);
	p = c->tbuf + c->tend;
	if ((rc = vdisk_read(c->vd, p + hdr, rq->offset, now_len)) != 0)
		return nbd_reply_status(c, rq, rc);
	if (c->structured)
		nbd_build_chunk_offset_data(p, hdr, NBD_REPLY_FLAG_DONE,
					    rq->handle, rq->offset,
					    rq->length);
	else
		nbd_build_simple_reply(p, hdr, 0, rq->handle);
	c->tend += hdr + now_len;
	c->rd_off = rq->offset + now_len;
	c->rd_left = rq->length - now_len;
	c->io.bytes_read += rq->length;
	bp_trace_read(c->trace, rq->offset, rq->length);
	return 0;
}

/* The next piece of a streamed READ. 1: queued, 0: tbuf full, <0: close.
 * Its header already said "no error": a read error now cannot be told to
 * the client, so the connection ends (proto.md "Simple reply message":
 * an error after the header is sent needs a disconnect; the same holds
 * for the data chunk whose length is already on the wire). */
static int nbd_read_piece(struct nbd_conn *c)
{
	uint32_t n = MIN(c->rd_left, NBD_READ_PIECE);
	int rc;

	if (nbd_tx_pending(c) >= NBD_TX_HIGH) {
		c->rx_ready = 1;
		return 0;
	}
	if ((rc = nbd_tx_reserve(c, n)) != 0)
		return rc;
	if ((rc = vdisk_read(c->vd, c->tbuf + c->tend, c->rd_off, n)) != 0) {
		log_warnx("nbd %s: NBD_CMD_READ offset %llu: %s after the "
			  "reply began: closing", c->peer,
			  (unsigned long long)c->rd_off, err_str(rc));
		return rc;
	}
	c->tend += n;
	c->rd_off += n;
	c->rd_left -= n;
	return 1;
}

/* Execute one valid request; WRITE data (if any) at payload. */
static int nbd_rq_execute(struct nbd_conn *c, const struct nbd_request *rq,
			  const uint8_t *payload)
{
	int fua = (rq->flags & NBD_CMD_FLAG_FUA) != 0;
	int rc;

	switch (rq->type) {
	case NBD_CMD_READ:
		return nbd_rq_read(c, rq);
	case NBD_CMD_WRITE:
		rc = vdisk_write(c->vd, payload, rq->offset, rq->length, fua);
		if (rc == 0)
			c->io.bytes_written += rq->length;
		break;
	case NBD_CMD_FLUSH:
		rc = vdisk_flush(c->vd);
		break;
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		/* NBD_CMD_FLAG_NO_HOLE: we write zeroes either way, which
		 * is what it asks for */
		rc = vdisk_zero(c->vd, rq->offset, rq->length, fua);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	return nbd_reply_status(c, rq, rc);
}

/*
 * A WRITE we refuse (too long, out of range, read-only export): its payload
 * is on the wire right behind the header. We skip it and then answer the
 * error, rather than close, so the stream stays in step and the client's
 * other requests in flight complete normally; an NBD client sees a clean
 * EOVERFLOW/EINVAL/EPERM for this one request. Skipping costs network
 * reads only, never memory (no buffer grows for it), and is bounded by
 * the 32-bit length field (proto.md "Block size constraints" lets the
 * server either skip the data or disconnect).
 */
static void nbd_rq_write_invalid(struct nbd_conn *c,
				 const struct nbd_request *rq, int rc)
{
	c->discard = rq->length;
	c->discard_handle = rq->handle;
	c->discard_error = nbd_errno(rc);
	if (nbd_log_refusal(c))
		log_info("nbd %s: NBD_CMD_WRITE offset %llu length %u: %s, "
			 "skipping its data", c->peer,
			 (unsigned long long)rq->offset, rq->length,
			 nbd_err_name(c->discard_error));
}

/* Skip discarded WRITE data in rbuf; answer once all is skipped. */
static int nbd_discard_step(struct nbd_conn *c)
{
	size_t n = MIN((uint64_t)nbd_rx_avail(c), c->discard);
	int rc;

	c->rstart += n;
	c->discard -= n;
	if (c->discard)
		return 0;
	if ((rc = nbd_tx_reserve(c, NBD_SIMPLE_REPLY_SIZE)) != 0)
		return rc;
	nbd_build_simple_reply(c->tbuf + c->tend, NBD_SIMPLE_REPLY_SIZE,
			       c->discard_error, c->discard_handle);
	c->tend += NBD_SIMPLE_REPLY_SIZE;
	return 1;
}

/* Parse and answer one request from rbuf. 1: progress, 0: need more input
 * or tbuf space, <0: close. */
static int nbd_request_step(struct nbd_conn *c)
{
	const uint8_t *p = c->rbuf + c->rstart;
	size_t avail = nbd_rx_avail(c);
	struct nbd_request rq;
	int rc;

	if (c->rd_left)
		return nbd_read_piece(c);
	if (c->discard)
		return nbd_discard_step(c);
	rc = nbd_parse_request(p, avail, &rq);
	if (rc == -EAGAIN)
		return 0;
	if (rc != 0) {
		/* the stream is lost: no way to find the next request */
		log_warnx("nbd %s: bad request magic 0x%08x: closing", c->peer,
			  nbd_get32(p));
		return rc;
	}
	rc = nbd_validate_request(&rq, c->size, c->tflags, NBD_MAX_PAYLOAD,
				  c->structured);
	if (rc == 0 && rq.type == NBD_CMD_WRITE &&
	    avail < NBD_REQUEST_SIZE + (size_t)rq.length)
		return nbd_rx_reserve(c, NBD_REQUEST_SIZE + rq.length);
	/* a batch stops at NBD_TX_HIGH unsent (tbuf grows for one reply) */
	if (nbd_tx_pending(c) >= NBD_TX_HIGH) {
		c->rx_ready = 1;
		return 0;
	}
	c->rstart += NBD_REQUEST_SIZE;
	c->nreq++;
	if (c->ns->srv->cfg->verbose)
		log_debug("nbd %s: %s flags 0x%x offset %llu length %u",
			  c->peer, nbd_cmd_name(rq.type), rq.flags,
			  (unsigned long long)rq.offset, rq.length);
	if (rq.type == NBD_CMD_DISC) {
		/* "Terminating the transmission phase": soft disconnect;
		 * replies already queued still go out */
		c->phase = NBD_PH_CLOSING;
		c->bye = "client disconnected (NBD_CMD_DISC)";
		/* queued replies get a bounded time to drain */
		c->deadline = now_ms() + NBD_HANDSHAKE_MS;
		return 1;
	}
	if (rc != 0) {
		if (rq.type == NBD_CMD_WRITE) {
			nbd_rq_write_invalid(c, &rq, rc);
			return 1;
		}
		rc = nbd_reply_status(c, &rq, rc);
		return rc < 0 ? rc : 1;
	}
	rc = nbd_rq_execute(c, &rq, p + NBD_REQUEST_SIZE);
	if (rq.type == NBD_CMD_WRITE)
		c->rstart += rq.length;
	return rc < 0 ? rc : 1;
}

/* Answer what is parsable in rbuf, bounded by tbuf and, during the
 * handshake, by NBD_OPTS_PER_ROUND (the rest waits for the next round:
 * rx_ready). 0 or <0: close. */
static int nbd_process(struct nbd_conn *c)
{
	unsigned opts = 0;
	int rc;

	c->rx_ready = 0;
	for (;;) {
		if (c->phase == NBD_PH_CLOSING)
			return 0;
		if (c->phase == NBD_PH_TRANSMISSION) {
			rc = nbd_request_step(c);
		} else if (opts++ == NBD_OPTS_PER_ROUND) {
			c->rx_ready = 1;
			return 0;
		} else {
			rc = nbd_handshake_step(c);
		}
		if (rc <= 0)
			return rc;
	}
}

/* ---- socket I/O ---- */

/* Read what is there. 1: got bytes, 0: nothing (EAGAIN), <0: EOF/error. */
static int nbd_recv(struct nbd_conn *c, int *drained)
{
	size_t room;
	ssize_t n;

	if (c->rstart == c->rend)
		c->rstart = c->rend = 0;
	else if (c->rend == c->rcap ||
		 (c->rstart > 0 && c->rcap - c->rend < NBD_REQUEST_SIZE * 16)) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	room = c->rcap - c->rend;
	if (room == 0)
		return 0;
	n = recv(c->w.fd, c->rbuf + c->rend, room, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*drained = 1;
			return 0;
		}
		return -errno;
	}
	if (n == 0)
		return -ECONNRESET;
	c->rend += (size_t)n;
	/* a short read means the socket is empty: skip the EAGAIN call */
	if ((size_t)n < room)
		*drained = 1;
	return 1;
}

/* Send what is queued. 0: all sent or would block, <0: error. */
static int nbd_send(struct nbd_conn *c)
{
	ssize_t n;

	while (c->tstart < c->tend) {
		n = send(c->w.fd, c->tbuf + c->tstart, c->tend - c->tstart,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->tstart += (size_t)n;
	}
	c->tstart = c->tend = 0;
	return 0;
}

static int nbd_set_events(struct nbd_conn *c, uint32_t ev)
{
	int rc;

	if (ev == c->events)
		return 0;
	if ((rc = loop_mod(c->ns->srv->loop, &c->w, ev)) != 0)
		return rc;
	c->events = ev;
	return 0;
}

/* One wake-up of a connection: bounded rounds of recv/answer/send. */
static void nbd_conn_io(struct loop_watch *w, uint32_t events, int64_t now)
{
	struct nbd_conn *c = w->arg;
	int round, rc = 0, drained = 0;
	uint32_t ev;

	if (c->dead)
		return;
	c->last_io = now;
	c->trimmed = 0;
	if (events & EPOLLERR) {
		nbd_conn_close(c, "socket error");
		return;
	}
	if (nbd_bufs_borrow(c, now) != 0) {
		nbd_conn_close(c, "out of memory for its buffers");
		return;
	}
	/* replies left from the last wake-up (EPOLLOUT) go first */
	rc = nbd_send(c);
	for (round = 0; rc == 0 && round < NBD_ROUNDS; round++) {
		if (c->phase == NBD_PH_CLOSING)
			break;
		/* Back-pressure: with NBD_TX_HIGH unsent, wait for EPOLLOUT.
		 * Below it we go on reading and answering while the kernel
		 * drains the socket, so preads overlap the peer's reads. */
		if (nbd_tx_pending(c) >= NBD_TX_HIGH)
			break;
		if (!c->rx_ready) {
			drained = 0;
			if ((rc = nbd_recv(c, &drained)) < 0)
				break;
		}
		if ((rc = nbd_process(c)) < 0 || (rc = nbd_send(c)) < 0)
			break;
		if (!c->rx_ready && drained)
			break;	/* socket read empty and all parsed */
	}
	if (rc < 0) {
		nbd_conn_close(c, rc == -ECONNRESET ? "peer closed"
						      : err_str(rc));
		return;
	}
	if (c->phase == NBD_PH_CLOSING && !nbd_tx_pending(c)) {
		nbd_conn_close(c, c->bye);
		return;
	}
	nbd_bufs_fit(c);
	nbd_bufs_return(c);
	/* EPOLLOUT while replies wait (it fires when the socket drains),
	 * or when work is left in rbuf after the round budget (it fires at
	 * once, after the other connections had their turn). */
	ev = 0;
	if (nbd_tx_pending(c) < NBD_TX_HIGH && c->phase != NBD_PH_CLOSING)
		ev |= EPOLLIN;
	if (nbd_tx_pending(c) || round == NBD_ROUNDS)
		ev |= EPOLLOUT;
	if (nbd_set_events(c, ev) != 0)
		nbd_conn_close(c, "epoll");
}

/* ---- connections ---- */

static void nbd_conn_free(struct nbd_conn *c)
{
	if (c->vd)
		vdisk_close(c->vd);
	netbuf_give(&c->ns->rpool, &c->rbuf, &c->rcap);
	netbuf_give(&c->ns->tpool, &c->tbuf, &c->tcap);
	free(c);
}

/* Close the socket now (a callback may drop its own watch); the memory
 * goes in nbd_tick(), since another event for c may be pending. */
static void nbd_conn_close(struct nbd_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = 1;
	loop_del(c->ns->srv->loop, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
	if (c->vd) {
		vdisk_close(c->vd);
		c->vd = NULL;
	}
	if (c->session >= 0) {
		db_session_remove(c->ns->srv->db, c->session);
		c->session = -1;
	}
	bp_trace_end(c->trace);
	c->trace = NULL;
	log_info("nbd %s: closed in %s phase: %s (%llu requests, %llu bytes "
		 "read, %llu written, %llu refused)", c->peer,
		 nbd_phase_names[c->phase], why ? why : "done",
		 (unsigned long long)c->nreq, (unsigned long long)c->io.bytes_read,
		 (unsigned long long)c->io.bytes_written,
		 (unsigned long long)c->nrefused);
}

void nbd_conn_adopt(struct nbd_server *ns, int fd,
		    const struct sockaddr_in *sin, int64_t now)
{
	struct nbd_conn *c;
	char ip[INET_ADDRSTRLEN];
	int one = 1, n;

	if (!(c = calloc(1, sizeof(*c))))
		goto err_alloc;
	c->ns = ns;
	if (nbd_bufs_borrow(c, now) != 0)
		goto err_bufs;
	c->last_io = now;
	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(sin->sin_port));
	c->addr = sin->sin_addr;
	/* replies are batched into one send(): no need for Nagle */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sock_keepalive(fd, NBD_KEEPIDLE_S, NBD_KEEPINTVL_S, NBD_KEEPCNT);
	c->session = -1;
	c->w = (struct loop_watch){ .fd = fd, .fn = nbd_conn_io, .arg = c };
	c->phase = NBD_PH_CLIENT_FLAGS;
	c->deadline = now + NBD_HANDSHAKE_MS;
	/* proto.md "Fixed newstyle negotiation": greeting first */
	n = nbd_build_greeting(c->tbuf, c->tcap, NBD_FLAG_FIXED_NEWSTYLE |
			       NBD_FLAG_NO_ZEROES);
	c->tend = (size_t)n;
	c->events = EPOLLIN;
	if (loop_add(ns->srv->loop, &c->w, c->events) != 0)
		goto err_bufs;
	c->next = ns->conns;
	ns->conns = c;
	ns->nconns++;
	log_debug("nbd %s: connected", c->peer);
	nbd_send(c);
	if (c->tend > c->tstart)
		nbd_set_events(c, EPOLLOUT);
	nbd_bufs_return(c);
	return;
err_bufs:
	netbuf_give(&ns->rpool, &c->rbuf, &c->rcap);
	netbuf_give(&ns->tpool, &c->tbuf, &c->tcap);
	free(c);
err_alloc:
	log_warnx("nbd: out of memory for a connection");
	close(fd);
}

/*
 * Out of fds (or kernel memory): the listener stays readable while the
 * backlog waits, so polling it would spin the loop. Stop for a second,
 * as HTTP does; connections queue in the backlog meanwhile. The warning
 * is rate-limited: a shortage that lasts must not flood the journal.
 */
static void nbd_accept_pause(struct nbd_server *ns, int64_t now)
{
	unsigned n;

	if ((n = log_limit(&ns->accept_log, now)))
		log_warn("nbd: accept (pausing 1 s; %u times since the last "
			 "such line; raise the fd limit or lower "
			 "nbd_max_conns)", n);
	if (loop_mod(ns->srv->loop, &ns->listen, 0) == 0)
		ns->accept_paused = now + 1000;
}

/* Live connections from addr (a scan: the list is bounded by
 * nbd_max_conns, accepts per wake-up by NBD_ACCEPT_BATCH). */
static unsigned nbd_conns_from(const struct nbd_server *ns,
			       struct in_addr addr)
{
	const struct nbd_conn *c;
	unsigned n = 0;

	for (c = ns->conns; c; c = c->next)
		n += !c->dead && c->addr.s_addr == addr.s_addr;
	return n;
}

/* Over nbd_max_conns, or over nbd_max_per_ip for this client address
 * (loopback included)? Then the connection is closed before the greeting,
 * with a rate-limited line. */
static int nbd_refuse(struct nbd_server *ns, const struct sockaddr_in *sin,
		      int64_t now)
{
	const struct lb_config *cfg = ns->srv->cfg;
	char ip[INET_ADDRSTRLEN];
	unsigned n;

	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	if (ns->nconns >= (unsigned)cfg->nbd_max_conns) {
		if ((n = log_limit(&ns->refuse_log, now)))
			log_warnx("nbd %s:%u: refused: %u connections "
				  "(nbd_max_conns; %u refused since the last "
				  "such line)", ip, ntohs(sin->sin_port),
				  ns->nconns, n);
		return 1;
	}
	if (cfg->nbd_max_per_ip > 0 &&
	    nbd_conns_from(ns, sin->sin_addr) >= (unsigned)cfg->nbd_max_per_ip) {
		if ((n = log_limit(&ns->per_ip_log, now)))
			log_warnx("nbd %s:%u: refused: %d connections from this "
				  "address (nbd_max_per_ip; %u refused since "
				  "the last such line)", ip,
				  ntohs(sin->sin_port), cfg->nbd_max_per_ip, n);
		return 1;
	}
	return 0;
}

static void nbd_accept(struct loop_watch *w, uint32_t events UNUSED,
		       int64_t now)
{
	struct nbd_server *ns = w->arg;
	struct sockaddr_in sin;
	socklen_t len;
	int i, fd;

	for (i = 0; i < NBD_ACCEPT_BATCH; i++) {
		len = sizeof(sin);
		fd = accept4(w->fd, (struct sockaddr *)&sin, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				nbd_accept_pause(ns, now);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
				 errno != EINTR && errno != ECONNABORTED)
				log_warn("nbd: accept");
			return;
		}
		if (nbd_refuse(ns, &sin, now)) {
			close(fd);
			continue;
		}
		nbd_conn_adopt(ns, fd, &sin, now);
	}
}

/*
 * nbd_idle_timeout: a connection in the transmission phase that sent no
 * request (and has nothing left to receive) for that long is closed. The
 * agent reconnects at once and transparently when it next needs the
 * server (agent/serve.c conn_lost(): nothing in flight, nothing lost);
 * other clients see EOF, as after a server restart. 1 when closed, else
 * *next is lowered to when c is due.
 */
static int nbd_idle_check(struct nbd_conn *c, int64_t now, int64_t *next)
{
	int64_t idle_ms = (int64_t)c->ns->srv->cfg->nbd_idle_timeout * 1000;
	char why[64];

	if (idle_ms <= 0 || c->phase != NBD_PH_TRANSMISSION)
		return 0;
	if (now - c->last_io < idle_ms || nbd_tx_pending(c) || c->rd_left) {
		*next = loop_sooner(*next, c->last_io + idle_ms);
		return 0;
	}
	snprintf(why, sizeof(why), "idle for %d s (nbd_idle_timeout)",
		 c->ns->srv->cfg->nbd_idle_timeout);
	nbd_conn_close(c, why);
	return 1;
}

/* Free closed connections; close those stuck in the handshake or idle too
 * long; trim idle ones' buffers; end boot pack traces whose window is
 * over. */
static int64_t nbd_tick(void *arg, int64_t now)
{
	struct nbd_server *ns = arg;
	struct nbd_conn **pp = &ns->conns, *c;
	int64_t next = -1;

	if (ns->accept_paused) {
		if (now >= ns->accept_paused &&
		    loop_mod(ns->srv->loop, &ns->listen, EPOLLIN) == 0)
			ns->accept_paused = 0;
		else
			next = ns->accept_paused;
	}
	/* nobody borrowed for a while: the pooled pages go back too */
	next = loop_sooner(next, netbuf_pool_idle(&ns->rpool, now, NBD_TRIM_MS));
	next = loop_sooner(next, netbuf_pool_idle(&ns->tpool, now, NBD_TRIM_MS));
	while ((c = *pp)) {
		if (!c->dead && c->deadline && now >= c->deadline)
			nbd_conn_close(c, c->phase == NBD_PH_CLOSING
					  ? "peer does not read its replies"
					  : "handshake timeout");
		if (c->dead) {
			*pp = c->next;
			ns->nconns--;
			nbd_conn_free(c);
			continue;
		}
		if (c->deadline)
			next = loop_sooner(next, c->deadline);
		next = loop_sooner(next, db_session_flush(ns->srv->db,
							  c->session, &c->io,
							  now));
		if (!c->trimmed) {
			int64_t t = c->last_io + NBD_TRIM_MS;

			if (now >= t)
				nbd_bufs_trim(c);
			else
				next = loop_sooner(next, t);
		}
		if (nbd_idle_check(c, now, &next))
			continue;	/* closed: the next pass frees it */
		if (c->trace)
			next = loop_sooner(next, bp_trace_tick(c->trace, now));
		pp = &c->next;
	}
	return next;
}

int nbd_start(struct lb_server *srv)
{
	struct nbd_server *ns;
	int fd, rc;

	if (srv->cfg->nbd_port == 0)
		return 0;
	if (!(ns = calloc(1, sizeof(*ns))))
		return -ENOMEM;
	ns->srv = srv;
	ns->rpool.size = NBD_RBUF_SIZE;
	ns->tpool.size = NBD_TBUF_SIZE;
	if ((fd = listen_tcp(srv, srv->cfg->nbd_port, "nbd")) < 0) {
		rc = fd;
		goto err_socket;
	}
	ns->listen = (struct loop_watch){ .fd = fd, .fn = nbd_accept,
					  .arg = ns };
	if ((rc = loop_add(srv->loop, &ns->listen, EPOLLIN)) != 0 ||
	    (rc = loop_add_ticker(srv->loop, nbd_tick, ns)) != 0)
		goto err_bind;
	srv->nbd = ns;
	log_info("nbd: listening on %s:%d%s%s", inet_ntoa(srv->listen_ip),
		 srv->cfg->nbd_port, srv->cfg->interface ? " on " : "",
		 srv->cfg->interface ? srv->cfg->interface : "");
	return 0;
err_bind:
	close(fd);
err_socket:
	free(ns);
	return rc;
}

void nbd_stop(struct lb_server *srv)
{
	struct nbd_server *ns = srv->nbd;
	struct nbd_conn *c;

	if (!ns)
		return;
	while ((c = ns->conns)) {
		ns->conns = c->next;
		nbd_conn_close(c, "server stopping");
		nbd_conn_free(c);
	}
	loop_del(srv->loop, &ns->listen);
	close(ns->listen.fd);
	netbuf_pool_free(&ns->rpool);
	netbuf_pool_free(&ns->tpool);
	free(ns);
	srv->nbd = NULL;
}
