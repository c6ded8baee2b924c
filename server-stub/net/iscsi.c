/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iSCSI target (RFC 7143), one state machine per connection in the
 * server's epoll loop. Wire formats in lib/iscsi_wire.c (PDUs),
 * lib/iscsi_login.c (key negotiation, CHAP) and lib/scsi_cdb.c (SCSI
 * commands); here: sockets, buffers, sessions, policy (which disk a
 * target name serves) and the vdisk calls.
 *
 * One connection is one session (MaxConnections=1, ErrorRecoveryLevel=0):
 *
 *   login (security -> operational -> full feature)
 *     discovery session: Text Requests (SendTargets), Logout
 *     normal session:    SCSI commands on LUN 0 (the PC's system disk)
 *                        and its extra disks (LUN 1..7, disks.h), NOP,
 *                        TMF, Logout
 *
 * Data path, per wake-up (as in nbd.c): recv() as much as fits in rbuf,
 * handle every complete PDU in it, answer into tbuf (READ: one pread per
 * Data-In PDU straight into tbuf behind its header; WRITE data goes from
 * rbuf to the disk as each PDU arrives, so a write needs no buffer of its
 * own), then one send().
 *
 * A READ's Data-In is streamed (as nbd.c's long READs): its first piece
 * (whole Data-In PDUs, about ISCSI_READ_PIECE bytes of data) is queued
 * when the command is handled, each next one once the socket has taken
 * all but a short tail of the last (iscsi_read_step()). While a READ
 * streams, no further PDU is handled: they wait in rbuf or the socket,
 * and a command's Data-In goes out in one run, the same PDUs, sequence
 * numbers and status as if it had been queued whole; only our NOP-In
 * pings (§11.19) may go between its PDUs, whole PDUs as any other. A disk
 * error in a later piece ends the command with a SCSI Response after the
 * Data-In already queued (iscsi_read_step()).
 *
 * Memory: buffers are sized to what is in flight, not to the largest
 * command ever seen (200 booting PCs must not pin 200 x the largest
 * READ), and lent, not owned (netbuf.h, as nbd.c): a connection takes
 * both from the server's pools for a wake-up and gives back each one
 * that holds nothing it still needs (tbuf: nothing unsent and no READ
 * streaming), so an idle or waiting connection holds none. Both are
 * netbuf mappings of a fixed size:
 *
 *   rbuf  ISCSI_RBUF_SIZE, one whole PDU of our MaxRecvDataSegmentLength
 *   tbuf  ISCSI_TBUF_SIZE: below ISCSI_TX_HIGH unsent, room for one more
 *         answer, the largest being a READ's piece; a READ of any length
 *         (up to ISCSI_MAX_XFER) touches one piece plus a short tail
 *   a short unsent tail moves to the front after a partial send, so a
 *         connection answering small reads, or streaming a long one,
 *         touches the first pages only
 *   idle for ISCSI_TRIM_MS -> a connection still holding a buffer (a
 *         partial PDU, unsent answers) gives its pages back
 *         (iscsi_bufs_trim()), and so do the pools when nobody took
 *         from them for as long; the next PDU faults fresh ones in
 *
 * Above ISCSI_TX_HIGH unsent bytes (a streaming READ: above
 * ISCSI_TX_COMPACT) a connection stops reading until the socket drains,
 * and each wake-up does bounded work.
 *
 * Commands run to completion when they arrive (the vdisk is synchronous)
 * except READs, which stream, and writes, which wait for their data
 * (ISCSI_QUEUE_DEPTH task slots, and the command window (MaxCmdSN =
 * ExpCmdSN + free slots - 1) keeps an initiator within them, §4.2.2.1).
 *
 * Bad input: a PDU whose length cannot be trusted (header digest error, a
 * data segment over what we declared, garbage before login) closes the
 * connection, since the byte stream cannot be resynchronised; a PDU we
 * understand but refuse gets a Reject (§11.17) or a CHECK CONDITION, and
 * the connection goes on.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "boot_auth.h"
#include "db.h"
#include "disks.h"
#include "iscsi.h"
#include "listen.h"
#include "iscsi_login.h"
#include "iscsi_wire.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "netbuf.h"
#include "scsi_cdb.h"
#include "vdisk.h"

/* Our MaxRecvDataSegmentLength (§13.12): the largest data segment we
 * take; rbuf holds one whole PDU of it. */
#define ISCSI_MRDSL		(256U << 10)
#define ISCSI_RBUF_SIZE		(ISCSI_MRDSL + ISCSI_MAX_AHS + 64)
/* A READ's Data-In is queued in pieces of whole PDUs, at most this much
 * data each (or one PDU of it: no Data-In PDU is longer, §13.12 sets a
 * limit and shorter PDUs are always allowed). 256 KiB is the usual
 * MaxRecvDataSegmentLength (open-iscsi's, libiscsi's, ours), so such an
 * initiator gets one PDU per piece, cut as if the READ were queued whole;
 * one pread of 256 KiB costs little more per byte than one of 1 MiB, and
 * 200 connections streaming hold 200 pieces, not 200 READs. */
#define ISCSI_READ_PIECE	(256U << 10)
/* The largest answer in tbuf bytes: a READ's piece, or a NOP-In echoing
 * ISCSI_MRDSL bytes of ping data: the data plus one PDU's BHS, digests
 * and padding at most. */
#define ISCSI_ANSWER_MAX	(ISCSI_READ_PIECE + 64)
_Static_assert(ISCSI_MRDSL <= ISCSI_READ_PIECE, "a NOP-In echo fits");
/* Unsent bytes above which a connection stops answering and reading. The
 * socket buffer is what keeps the link busy; unsent bytes here are only
 * answers made ahead while it is full, and one piece's worth is enough. */
#define ISCSI_TX_HIGH		ISCSI_READ_PIECE
/* tbuf, kept for a connection's life and never grown: below ISCSI_TX_HIGH
 * unsent, the answers to one more PDU fit (ISCSI_ANSWER_MAX at most;
 * a streaming READ's next piece comes with less unsent), and a NOP-In
 * ping with them. */
#define ISCSI_TBUF_SIZE		(ISCSI_TX_HIGH + ISCSI_ANSWER_MAX + (4U << 10))
/* An unsent tail this short moves to tbuf's front after a partial send;
 * a streaming READ's next piece waits until no more is unsent, so it
 * goes right behind that tail. */
#define ISCSI_TX_COMPACT	(64U << 10)
/* A connection idle this long gives its buffers' pages back. */
#define ISCSI_TRIM_MS		2000
/* Work per wake-up: rounds of recv/answer/send before yielding. */
#define ISCSI_ROUNDS		8
/* Largest READ/WRITE (VPD 0xb0 MAXIMUM TRANSFER LENGTH). */
#define ISCSI_MAX_XFER		(8U << 20)
/* Commands waiting for data at once; the command window follows it. */
#define ISCSI_QUEUE_DEPTH	64
/* R2Ts outstanding per command we offer (§13.17). */
#define ISCSI_MAX_R2T		4
/* Logical block size: 512, what BIOS INT 13h and every initiator take. */
#define ISCSI_BLOCK		512U
#define ISCSI_BLOCK_SHIFT	9
/* A login must end within this. */
#define ISCSI_LOGIN_MS		30000
/* An idle full-feature connection gets a NOP-In ping after this, and is
 * dropped when nothing comes back within the same time again: a PC that
 * lost power frees its disk (the single writer of its overlay) within
 * 20 s. iPXE does not answer pings; its idle INT 13h session (the OS has
 * its own by then, or a boot menu waits) is dropped, and iPXE logs in
 * again at its next read (the same boot's credentials: a reconnect). */
#define ISCSI_PING_MS		10000
/* Accepts per wake-up of the listener. */
#define ISCSI_ACCEPT_BATCH	64
/* Answer text (SendTargets of many images) kept for continuation. */
#define ISCSI_TEXT_OUT_MAX	(64U << 10)
/* UNMAP parameter lists we take (SBC-3; VPD 0xb0 says 256). */
#define ISCSI_UNMAP_DESC	256U
#define ISCSI_PARAM_MAX		(8 + 16 * ISCSI_UNMAP_DESC)
/* Bytes written per vdisk_zero()/pattern write of WRITE SAME and UNMAP. */
#define ISCSI_ZERO_CHUNK	(64U << 20)
#define ISCSI_PATTERN_BUF	(64U << 10)
/* WRITE SAME covers this many blocks at most (VPD 0xb0 MAXIMUM WRITE
 * SAME LENGTH): initiators take it for a length they may also read and
 * write in one command (libiscsi does), so it equals ISCSI_MAX_XFER. */
#define ISCSI_MAX_WRITE_SAME	(ISCSI_MAX_XFER >> ISCSI_BLOCK_SHIFT)
/* Log lines per connection about commands outside the window. */
#define ISCSI_WINDOW_LOGS	5

enum iscsi_phase {
	ISCSI_PH_LOGIN,		/* login PDUs only */
	ISCSI_PH_FULL,		/* full feature phase */
	ISCSI_PH_CLOSING,	/* send what is queued, then close */
};

static const char *const iscsi_phase_names[] = {
	[ISCSI_PH_LOGIN] = "login",
	[ISCSI_PH_FULL] = "full feature",
	[ISCSI_PH_CLOSING] = "closing",
};

struct iscsi_server {
	struct lb_server *srv;
	struct loop_watch listen;	/* the listening socket */
	struct iscsi_conn *conns;	/* live connections */
	unsigned nconns;
	uint16_t next_tsih;		/* §11.12.6: non-zero, per session */
	struct iscsi_nego_cfg nego;	/* our side of negotiations */
	/* buffers lent to connections for a wake-up (netbuf.h) */
	struct netbuf_pool rpool, tpool; /* ISCSI_RBUF_SIZE / ISCSI_TBUF_SIZE */
};

/* One R2T's solicited sequence (§11.8). */
struct iscsi_r2t {
	int used;
	uint32_t ttt;			/* its Target Transfer Tag */
	uint32_t offset, len;		/* the buffer range it asks for */
	uint32_t got;			/* bytes of it received */
	uint32_t next_datasn;		/* §11.7.5: per sequence */
};

/* A command waiting for its Data-Out (writes, UNMAP, WRITE SAME). */
struct iscsi_task {
	int used;
	uint32_t itt;
	uint64_t lun;
	struct scsi_cdb cdb;
	uint32_t edtl;			/* Expected Data Transfer Length */
	uint32_t need;			/* bytes the CDB transfers */
	uint32_t xfer;			/* bytes we take: min(edtl, need) */
	uint32_t got;			/* bytes of [0, xfer) received */
	uint32_t unsol_end;		/* unsolicited data ends here */
	uint32_t unsol_datasn;		/* next DataSN of unsolicited data */
	uint32_t next_r2t;		/* buffer offset the next R2T asks */
	uint32_t r2tsn;			/* next R2TSN (§11.8.6) */
	struct iscsi_r2t r2t[ISCSI_MAX_R2T];
	uint32_t err;			/* a failed write's sense code */
	uint8_t *param;			/* UNMAP/WRITE SAME data, or NULL:
					 * the data goes to the disk */
};

/* A command's Data-In (§11.7) so far: where the next PDU starts and what
 * it carries. A READ streaming it keeps this in its connection. */
struct iscsi_stream {
	uint32_t itt;
	uint64_t lun;
	uint64_t off;			/* disk offset of the data's byte 0 */
	uint32_t len;			/* bytes the initiator gets */
	uint32_t done;			/* bytes queued so far */
	uint32_t in_burst;		/* of the sequence under way */
	uint32_t datasn;		/* the next PDU's DataSN (§11.7.5) */
	uint8_t rflags;			/* residual (§11.4.5) for the status */
	uint32_t residual;
};

/* A logical unit of a session: LUN 0 is the disk the target names, LUN
 * 1..DISK_LUN_MAX a PC's extra disks. */
struct iscsi_unit {
	struct vdisk *vd;		/* NULL: no LU at this LUN */
	struct scsi_lu lu;
	char serial[32];
	struct export_info ex;		/* extra disks (LUN 0: conn's ex) */
	int64_t session;		/* extra disks' db_session_add() row */
};

#define ISCSI_UNITS	(1 + DISK_LUN_MAX)

struct iscsi_conn {
	struct loop_watch w;		/* the connection's socket */
	struct iscsi_server *is;	/* owner */
	struct iscsi_conn *next;	/* in is->conns */
	char peer[48];			/* "127.0.0.1:51234" for logs */
	struct in_addr peer_addr;	/* the address alone: credentials
					 * are bound to it */
	int pc_target;			/* the login names a PC's disk */
	uint8_t target_mac[6];		/* that PC */
	char local[48];			/* our address:port (TargetAddress) */
	enum iscsi_phase phase;
	int dead;			/* closed; freed by iscsi_tick() */
	const char *bye;		/* why we close after CLOSING */
	int64_t deadline;		/* login / drain must end by then */
	int64_t last_rx;		/* last PDU from the initiator */
	int64_t ping_sent;		/* our NOP-In ping, 0 = none out */
	uint32_t ping_ttt;
	uint32_t events;		/* epoll interest now registered */
	/* login */
	int login_started;		/* the first Login PDU came */
	int stage;			/* current login stage (CSG) */
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	uint32_t login_itt;
	struct iscsi_nego nego;
	struct iscsi_nego_cfg nego_cfg;	/* per target (CHAP secrets) */
	char *text_in;			/* Login/Text data with C bit */
	size_t text_in_len;
	char *text_out;			/* answer text still to send */
	size_t text_out_len, text_out_off;
	uint32_t text_ttt;		/* continuation tag of text_out */
	/* sequence numbers (§4.2.2) */
	uint32_t statsn;		/* next StatSN */
	uint32_t exp_cmdsn, max_cmdsn;
	unsigned window_logs;
	/* the disks, once logged in to a normal session */
	struct export_info ex;		/* LUN 0's */
	int64_t session;		/* LUN 0's db_session_add() row, or -1;
					 * io is counted on it */
	struct iscsi_unit unit[ISCSI_UNITS];
	uint32_t lun_mask;		/* bit N: unit[N] is open */
	char target_name[ISCSI_NAME_MAX + 1];
	int hdigest, ddigest;		/* negotiated CRC32C digests */
	struct iscsi_task tasks[ISCSI_QUEUE_DEPTH];
	unsigned ntasks;
	struct iscsi_stream rd;		/* the READ streaming its Data-In,
					 * while rd.done < rd.len */
	uint32_t next_ttt;
	/* receive buffer: bytes [rstart, rend) not yet parsed */
	uint8_t *rbuf;
	size_t rcap, rstart, rend;
	/* transmit buffer: bytes [tstart, tend) not yet sent */
	uint8_t *tbuf;
	size_t tcap, tstart, tend;
	int rx_ready;			/* rbuf holds a PDU left for lack of
					 * tbuf room */
	int64_t last_io;		/* last wake-up (socket activity) */
	int trimmed;			/* buffers' pages given back since */
	/* counters for the close log line; io also for `linkboot status` */
	uint64_t ncmd;
	struct session_counters io;
};

static void iscsi_conn_close(struct iscsi_conn *c, const char *why);

/* ---- buffers (as nbd.c) ---- */

/* Room for n more bytes at tend. tbuf never grows: what is queued at
 * once is bounded (ISCSI_TBUF_SIZE), so -ENOBUFS is a bug's last guard. */
static int iscsi_tx_reserve(struct iscsi_conn *c, size_t n)
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
	return -ENOBUFS;
}

/* Room for a whole PDU of n bytes from rstart in rbuf (n is bounded by
 * ISCSI_RBUF_SIZE: rbuf never grows). */
static void iscsi_rx_compact(struct iscsi_conn *c)
{
	if (c->rstart > 0) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
}

static size_t iscsi_tx_pending(const struct iscsi_conn *c)
{
	return c->tend - c->tstart;
}

static size_t iscsi_rx_avail(const struct iscsi_conn *c)
{
	return c->rend - c->rstart;
}

/* Is a READ streaming its Data-In (iscsi_read_step())? */
static int iscsi_streaming(const struct iscsi_conn *c)
{
	return c->rd.done < c->rd.len;
}

/* Is tbuf too full for more answers now? A streaming READ's next piece
 * waits until the unsent tail is short enough to have moved to tbuf's
 * front (iscsi_send()), anything else until below ISCSI_TX_HIGH. */
static int iscsi_tx_full(const struct iscsi_conn *c)
{
	if (iscsi_streaming(c))
		return iscsi_tx_pending(c) > ISCSI_TX_COMPACT;
	return iscsi_tx_pending(c) >= ISCSI_TX_HIGH;
}

/* Both buffers, for a wake-up (or a ping). 0 or -ENOMEM. */
static int iscsi_bufs_borrow(struct iscsi_conn *c, int64_t now)
{
	struct iscsi_server *is = c->is;

	if (netbuf_take(&is->rpool, &c->rbuf, &c->rcap, now) != 0 ||
	    netbuf_take(&is->tpool, &c->tbuf, &c->tcap, now) != 0)
		return -ENOMEM;
	return 0;
}

/* Give back what holds nothing the connection still needs: tbuf with
 * nothing unsent and no READ streaming (its next piece goes there soon),
 * rbuf with no PDU or part of one. A write waiting for its Data-Out
 * keeps neither: its data goes to the disk as each PDU arrives. */
static void iscsi_bufs_return(struct iscsi_conn *c)
{
	if (c->tbuf && c->tstart == c->tend && !iscsi_streaming(c)) {
		c->tstart = c->tend = 0;
		netbuf_give(&c->is->tpool, &c->tbuf, &c->tcap);
	}
	if (c->rbuf && c->rstart == c->rend && !c->rx_ready) {
		c->rstart = c->rend = 0;
		netbuf_give(&c->is->rpool, &c->rbuf, &c->rcap);
	}
}

/* A connection idle with bytes still in a buffer (a partial PDU, answers
 * the peer does not read) keeps the buffer's mapping but not its empty
 * pages: a room of PCs idling would otherwise hold what their busiest
 * moment touched. */
static void iscsi_bufs_trim(struct iscsi_conn *c)
{
	if (c->tstart == c->tend && !iscsi_streaming(c)) {
		c->tstart = c->tend = 0;
		netbuf_drop_pages(c->tbuf, c->tcap);
	}
	if (c->rstart == c->rend && !c->rx_ready) {
		c->rstart = c->rend = 0;
		netbuf_drop_pages(c->rbuf, c->rcap);
	}
	c->trimmed = 1;
}

/* ---- PDUs out ---- */

/* The sequence numbers for a PDU now; MaxCmdSN never moves back
 * (§4.2.2.1: an initiator ignores one that does). */
static struct iscsi_sn iscsi_sn(struct iscsi_conn *c)
{
	uint32_t max = c->exp_cmdsn + (ISCSI_QUEUE_DEPTH - c->ntasks) - 1;

	if (iscsi_sn_lt(c->max_cmdsn, max))
		c->max_cmdsn = max;
	return (struct iscsi_sn){ c->statsn, c->exp_cmdsn, c->max_cmdsn };
}

/* Bytes a PDU with len data bytes takes with the negotiated digests. */
static size_t iscsi_pdu_size(const struct iscsi_conn *c, uint32_t len)
{
	size_t n = ISCSI_BHS_SIZE + (c->hdigest ? ISCSI_DIGEST_SIZE : 0);

	if (len)
		n += len + iscsi_pad(len) + (c->ddigest ? ISCSI_DIGEST_SIZE : 0);
	return n;
}

/* Where a PDU's data goes, behind its BHS (and header digest). */
static uint8_t *iscsi_pdu_data(const struct iscsi_conn *c, uint8_t *bhs)
{
	return bhs + ISCSI_BHS_SIZE + (c->hdigest ? ISCSI_DIGEST_SIZE : 0);
}

/* Finish the PDU at bhs (BHS built, len data bytes in place): digests,
 * padding; it joins the queue. */
static void iscsi_pdu_done(struct iscsi_conn *c, uint8_t *bhs, uint32_t len)
{
	uint8_t *d = iscsi_pdu_data(c, bhs);
	uint32_t pad = iscsi_pad(len);

	if (c->hdigest)
		iscsi_put_digest(bhs + ISCSI_BHS_SIZE,
				 iscsi_crc32c(bhs, ISCSI_BHS_SIZE));
	if (len) {
		memset(d + len, 0, pad);
		if (c->ddigest)
			iscsi_put_digest(d + len + pad,
					 iscsi_crc32c(d, len + pad));
	}
	c->tend = (size_t)(d - c->tbuf) + (len ? len + pad +
				(c->ddigest ? ISCSI_DIGEST_SIZE : 0) : 0);
}

/* Start a PDU with room for len data bytes; NULL when out of memory. */
static uint8_t *iscsi_pdu_begin(struct iscsi_conn *c, uint32_t len)
{
	if (iscsi_tx_reserve(c, iscsi_pdu_size(c, len)) != 0)
		return NULL;
	return c->tbuf + c->tend;
}

/* §11.17: Reject, with the rejected BHS as data. */
static int iscsi_reject(struct iscsi_conn *c, const uint8_t *bhs,
			uint8_t reason, const char *why)
{
	struct iscsi_sn sn = iscsi_sn(c);
	uint8_t *p;

	log_info("iscsi %s: %s (opcode 0x%02x): Reject 0x%02x: %s", c->peer,
		 iscsi_opcode_name(bhs[0] & ISCSI_OPCODE_MASK),
		 bhs[0] & ISCSI_OPCODE_MASK, reason, why);
	if (!(p = iscsi_pdu_begin(c, ISCSI_BHS_SIZE)))
		return -ENOMEM;
	iscsi_build_reject(p, ISCSI_BHS_SIZE, reason, &sn, 0);
	memcpy(iscsi_pdu_data(c, p), bhs, ISCSI_BHS_SIZE);
	iscsi_pdu_done(c, p, ISCSI_BHS_SIZE);
	c->statsn++;
	return 0;
}

/* §11.4: SCSI Response, with sense data when status is CHECK CONDITION. */
static int iscsi_scsi_rsp(struct iscsi_conn *c, uint32_t itt, uint8_t status,
			  uint32_t sense, int field, uint8_t rflags,
			  uint32_t residual, uint32_t exp_datasn)
{
	uint8_t sbuf[SCSI_SENSE_MAX], *p;
	struct iscsi_scsi_rsp r = {
		.itt = itt, .response = ISCSI_RSP_COMPLETED, .status = status,
		.residual_flags = rflags, .residual = residual,
		.exp_datasn = exp_datasn,
	};
	struct iscsi_sn sn;
	int slen = 0;

	if (status == SCSI_STATUS_CHECK_CONDITION) {
		slen = scsi_build_sense(sbuf, sizeof(sbuf), sense, 0, field);
		r.data_len = 2 + (uint32_t)slen;
	}
	if (!(p = iscsi_pdu_begin(c, r.data_len)))
		return -ENOMEM;
	sn = iscsi_sn(c);
	iscsi_build_scsi_rsp(p, ISCSI_BHS_SIZE, &r, &sn);
	if (slen)
		iscsi_put_sense(iscsi_pdu_data(c, p), r.data_len, sbuf,
				(uint16_t)slen);
	iscsi_pdu_done(c, p, r.data_len);
	c->statsn++;
	return 0;
}

static int iscsi_check_condition(struct iscsi_conn *c, uint32_t itt,
				 uint8_t opcode, uint32_t sense, int field)
{
	log_debug("iscsi %s: %s: CHECK CONDITION %x/%02x/%02x", c->peer,
		  scsi_opcode_name(opcode), SCSI_SENSE_KEY(sense),
		  SCSI_SENSE_ASC(sense), SCSI_SENSE_ASCQ(sense));
	return iscsi_scsi_rsp(c, itt, SCSI_STATUS_CHECK_CONDITION, sense,
			      field, 0, 0, 0);
}

/* Residual of a transfer of want bytes against the initiator's edtl
 * (§11.4.5): the flag, *residual set. */
static uint8_t iscsi_residual(uint32_t edtl, uint32_t want,
			      uint32_t *residual)
{
	if (edtl < want) {
		*residual = want - edtl;
		return ISCSI_FLAG_OVERFLOW;
	}
	if (edtl > want) {
		*residual = edtl - want;
		return ISCSI_FLAG_UNDERFLOW;
	}
	*residual = 0;
	return 0;
}

/* The open logical unit a LUN field addresses, or NULL. */
static struct iscsi_unit *iscsi_unit_of(struct iscsi_conn *c, uint64_t lun)
{
	int n = scsi_lun_decode(lun);

	if (n < 0 || n >= ISCSI_UNITS || !(c->lun_mask & 1U << n))
		return NULL;
	return &c->unit[n];
}

/* errno from the vdisk -> sense (the one mapping, like nbd_errno()),
 * counted as a failed I/O of the session. */
static uint32_t iscsi_disk_error(struct iscsi_conn *c, int rc, int writing)
{
	c->io.io_errors++;
	switch (err_errno(rc)) {
	case EROFS:
	case EPERM:
		return SCSI_ERR_WRITE_PROTECTED;
	case ENOSPC:
		/* SBC-3: thin provisioning out of space */
		return SCSI_ERR_SPACE_ALLOC_FAILED;
	case EINVAL:
		return SCSI_ERR_LBA_OUT_OF_RANGE;
	default:
		return writing ? SCSI_ERR_WRITE_ERROR : SCSI_ERR_READ_ERROR;
	}
}

/* The next Data-In PDU's data bytes at st: at most the initiator's
 * MaxRecvDataSegmentLength and ISCSI_READ_PIECE, never across a
 * MaxBurstLength boundary; st->in_burst counts the sequence so far,
 * *end_of_burst says the PDU ends it (F bit, §11.7.1). */
static uint32_t iscsi_data_in_cut(const struct iscsi_conn *c,
				  struct iscsi_stream *st, int *end_of_burst)
{
	uint32_t seg = c->nego.p.max_recv_dsl ? c->nego.p.max_recv_dsl : 8192;
	uint32_t burst = c->nego.p.max_burst;
	uint32_t n = MIN(MIN(seg, ISCSI_READ_PIECE), st->len - st->done);

	if (burst)
		n = MIN(n, burst - st->in_burst);
	st->in_burst += n;
	*end_of_burst = st->in_burst == burst;
	if (*end_of_burst)
		st->in_burst = 0;
	return n;
}

/* Where the next piece of st ends: whole PDUs, as many as ISCSI_ANSWER_MAX
 * bytes of tbuf hold (one at least); *tx set to those bytes. */
static uint32_t iscsi_piece_end(const struct iscsi_conn *c,
				const struct iscsi_stream *st, size_t *tx)
{
	struct iscsi_stream next = *st;
	uint32_t n;
	int end_of_burst;

	*tx = 0;
	while (next.done < next.len) {
		n = iscsi_data_in_cut(c, &next, &end_of_burst);
		if (*tx + iscsi_pdu_size(c, n) > ISCSI_ANSWER_MAX)
			break;
		*tx += iscsi_pdu_size(c, n);
		next.done += n;
	}
	return next.done;
}

/*
 * The next piece of st's Data-In (§11.7), its data read from the disk
 * (src NULL) or copied from src. The last PDU of the command carries the
 * status (S bit, phase collapse: GOOD only) and consumes a StatSN.
 * 0, -EIO: the disk failed (*err set; nothing of the piece is queued and
 * st stays as it was), or <0: no room in tbuf.
 */
static int iscsi_data_in_piece(struct iscsi_conn *c, struct iscsi_stream *st,
			       const uint8_t *src, uint32_t *err)
{
	struct iscsi_stream cur = *st;
	size_t start, tx;
	uint32_t end = iscsi_piece_end(c, st, &tx), n;
	struct iscsi_data_in d;
	struct iscsi_sn sn;
	int end_of_burst, rc;
	uint8_t *p;

	if ((rc = iscsi_tx_reserve(c, tx)) != 0)
		return rc;
	start = c->tend;
	while (cur.done < end) {
		n = iscsi_data_in_cut(c, &cur, &end_of_burst);
		p = c->tbuf + c->tend;
		if (src) {
			memcpy(iscsi_pdu_data(c, p), src + cur.done, n);
		} else if ((rc = vdisk_read(iscsi_unit_of(c, cur.lun)->vd,
					    iscsi_pdu_data(c, p),
					    cur.off + cur.done, n)) != 0) {
			c->tend = start;	/* nothing of the piece goes out */
			*err = iscsi_disk_error(c, rc, 0);
			log_warnx("iscsi %s: read at %llu, %u bytes: %s (CHECK "
				  "CONDITION after %u bytes of Data-In)",
				  c->peer, (unsigned long long)(cur.off +
				  cur.done), n, err_str(rc), st->done);
			return -EIO;
		}
		d = (struct iscsi_data_in){
			.final = cur.done + n == cur.len || end_of_burst,
			.has_status = cur.done + n == cur.len,
			.status = SCSI_STATUS_GOOD,
			.residual_flags = cur.rflags, .residual = cur.residual,
			.lun = cur.lun, .itt = cur.itt, .datasn = cur.datasn++,
			.offset = cur.done, .data_len = n,
		};
		sn = iscsi_sn(c);
		iscsi_build_data_in(p, ISCSI_BHS_SIZE, &d, &sn);
		iscsi_pdu_done(c, p, n);
		cur.done += n;
	}
	if (cur.done == cur.len)
		c->statsn++;	/* the S bit consumed one StatSN */
	if (!src)
		c->io.bytes_read += cur.done - st->done;
	*st = cur;
	return 0;
}

/*
 * The streaming READ's next piece, once the socket has taken all of the
 * last one but a short tail (iscsi_tx_full()). 1: progress, 0: wait for the
 * socket, <0: close. A disk error now cannot take back the Data-In
 * already queued (its data is right), and the status cannot ride on a
 * Data-In PDU: §11.7 sends the status and sense data of a command that
 * ends with an error in a SCSI Response PDU (§11.4, ExpDataSN: the
 * Data-In PDUs sent), so CHECK CONDITION follows them.
 */
static int iscsi_read_step(struct iscsi_conn *c)
{
	struct iscsi_stream st = c->rd;
	uint32_t err;
	int rc;

	if (iscsi_tx_full(c))
		return 0;
	rc = iscsi_data_in_piece(c, &c->rd, NULL, &err);
	if (rc == -EIO) {
		c->rd = (struct iscsi_stream){ 0 };
		rc = iscsi_scsi_rsp(c, st.itt, SCSI_STATUS_CHECK_CONDITION,
				    err, -1, 0, 0, st.datasn);
	}
	return rc < 0 ? rc : 1;
}

/* ---- SCSI commands ---- */

/* The logical unit of one of the session's disks (unit[n] has its vd). */
static void iscsi_lu_setup(struct iscsi_conn *c, unsigned n)
{
	struct iscsi_unit *u = &c->unit[n];
	uint32_t h1 = iscsi_crc32c(c->target_name, strlen(c->target_name));
	uint32_t h2 = iscsi_crc32c_update(0x4c42U + n, c->target_name,
					  strlen(c->target_name));
	struct scsi_lu *lu = &u->lu;

	/* a serial and NAA per target name and LUN: Windows tells disks
	 * apart by them (VPD 0x80/0x83), and two clients' targets on one
	 * image are two disks */
	snprintf(u->serial, sizeof(u->serial), "%08x%08x", h1, h2);
	*lu = (struct scsi_lu){
		.nblocks = vdisk_size(u->vd) >> ISCSI_BLOCK_SHIFT,
		.block_size = ISCSI_BLOCK,
		.phys_exp = 3,		/* 4 KiB physical blocks */
		.read_only = vdisk_read_only(u->vd),
		.vendor = "LINKBOOT", .product = "linkboot disk",
		.revision = "1.0", .serial = u->serial,
		.naa = (uint64_t)h1 << 28 ^ h2,
		.target_name = c->target_name, .rel_port = 1,
		.max_xfer_blocks = ISCSI_MAX_XFER >> ISCSI_BLOCK_SHIFT,
		.opt_xfer_blocks = (1U << 20) >> ISCSI_BLOCK_SHIFT,
		.max_unmap_desc = ISCSI_UNMAP_DESC,
		.max_unmap_blocks = 0xffffffffU,
		.unmap_granularity = 8,
		.max_write_same_blocks = ISCSI_MAX_WRITE_SAME,
	};
	lu->thin = !lu->read_only;
	lu->write_cache = !lu->read_only;
	c->lun_mask |= 1U << n;
}

/* Data-in commands answered from lib/scsi_cdb.c builders. */
static int iscsi_cmd_data_in(struct iscsi_conn *c, const struct iscsi_bhs *h,
			     const struct scsi_cdb *cdb)
{
	struct iscsi_unit *u = iscsi_unit_of(c, h->lun);
	/* INQUIRY of an empty LUN: LUN 0's data, marked "no LU here" */
	const struct scsi_lu *lu = u ? &u->lu : &c->unit[0].lu;
	uint8_t buf[1024];
	uint32_t err = SCSI_ERR_NONE, len, residual, edtl = iscsi_bhs_edtl(h);
	struct iscsi_stream st;
	uint8_t rflags;
	int n = -EINVAL;

	switch (cdb->opcode) {
	case SCSI_INQUIRY:
		if (!cdb->evpd)
			n = scsi_build_inquiry(buf, sizeof(buf), lu);
		else if ((n = scsi_build_vpd(buf, sizeof(buf), cdb->page_code,
					     lu)) == -ENOENT)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						     SCSI_ERR_INVALID_FIELD_CDB,
						     2);
		if (n > 0 && !u)
			buf[0] = 0x7f;	/* SPC-4: no LU here */
		break;
	case SCSI_MODE_SENSE_6:
	case SCSI_MODE_SENSE_10:
		n = scsi_build_mode_sense(buf, sizeof(buf), cdb, lu, &err);
		if (err)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						     err, 2);
		break;
	case SCSI_READ_CAPACITY_10:
		n = scsi_build_read_capacity10(buf, sizeof(buf), lu);
		break;
	case SCSI_SERVICE_ACTION_IN_16:
		if (cdb->service_action == SCSI_SAI_READ_CAPACITY_16) {
			n = scsi_build_read_capacity16(buf, sizeof(buf),
						       lu);
			break;
		}
		/* GET LBA STATUS */
		if (cdb->lba >= lu->nblocks)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						SCSI_ERR_LBA_OUT_OF_RANGE, -1);
		n = scsi_build_lba_status(buf, sizeof(buf), cdb->lba, lu);
		break;
	case SCSI_REPORT_LUNS:
		n = scsi_build_report_luns(buf, sizeof(buf), c->lun_mask);
		break;
	case SCSI_MAINTENANCE_IN:
		n = scsi_build_supported_opcodes(buf, sizeof(buf), cdb, &err);
		if (err)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						     err, 2);
		break;
	case SCSI_REQUEST_SENSE:
		/* autosense: no sense data is ever left pending */
		n = scsi_build_sense(buf, sizeof(buf), SCSI_ERR_NONE,
				     cdb->desc, -1);
		break;
	}
	if (n < 0)
		return iscsi_check_condition(c, h->itt, cdb->opcode,
					     SCSI_ERR_INTERNAL, -1);
	len = MIN((uint32_t)n, cdb->alloc_len);
	rflags = iscsi_residual(edtl, len, &residual);
	len = MIN(len, edtl);
	if (len == 0 || !(h->flags & ISCSI_CMD_READ))
		return iscsi_scsi_rsp(c, h->itt, SCSI_STATUS_GOOD, 0, -1,
				      rflags, residual, 0);
	/* all in one piece: buf is far smaller than ISCSI_READ_PIECE */
	st = (struct iscsi_stream){
		.itt = h->itt, .lun = h->lun, .len = len, .rflags = rflags,
		.residual = residual,
	};
	return iscsi_data_in_piece(c, &st, buf, &err);
}

static int iscsi_cmd_read(struct iscsi_conn *c, const struct iscsi_bhs *h,
			  const struct scsi_cdb *cdb)
{
	struct iscsi_unit *u = iscsi_unit_of(c, h->lun);
	uint64_t need = (uint64_t)cdb->blocks << ISCSI_BLOCK_SHIFT;
	uint32_t edtl = iscsi_bhs_edtl(h), residual, len, err = 0;
	struct iscsi_stream st;
	uint8_t rflags;
	int rc;

	if (!scsi_lba_ok(cdb->lba, cdb->blocks, u->lu.nblocks))
		return iscsi_check_condition(c, h->itt, cdb->opcode,
					     SCSI_ERR_LBA_OUT_OF_RANGE, -1);
	if (need > ISCSI_MAX_XFER)
		return iscsi_check_condition(c, h->itt, cdb->opcode,
					     SCSI_ERR_INVALID_FIELD_CDB,
					     cdb->len == 10 ? 7 : 10);
	rflags = iscsi_residual(edtl, (uint32_t)need, &residual);
	len = MIN((uint32_t)need, edtl);
	if (cdb->kind == SCSI_KIND_VERIFY || len == 0 ||
	    !(h->flags & ISCSI_CMD_READ))
		return iscsi_scsi_rsp(c, h->itt, SCSI_STATUS_GOOD, 0, -1,
				      rflags, residual, 0);
	st = (struct iscsi_stream){
		.itt = h->itt, .lun = h->lun,
		.off = cdb->lba << ISCSI_BLOCK_SHIFT, .len = len,
		.rflags = rflags, .residual = residual,
	};
	rc = iscsi_data_in_piece(c, &st, NULL, &err);
	if (rc == -EIO)
		return iscsi_check_condition(c, h->itt, cdb->opcode, err, -1);
	if (rc < 0)
		return rc;
	c->rd = st;	/* the rest, if any: iscsi_read_step() */
	return 0;
}

static int iscsi_cmd_sync(struct iscsi_conn *c, const struct iscsi_bhs *h,
			  const struct scsi_cdb *cdb)
{
	struct iscsi_unit *u = iscsi_unit_of(c, h->lun);
	int rc;

	if (!scsi_lba_ok(cdb->lba, cdb->blocks, u->lu.nblocks))
		return iscsi_check_condition(c, h->itt, cdb->opcode,
					     SCSI_ERR_LBA_OUT_OF_RANGE, -1);
	if ((rc = vdisk_flush(u->vd)) != 0)
		return iscsi_check_condition(c, h->itt, cdb->opcode,
					     iscsi_disk_error(c, rc, 1), -1);
	return iscsi_scsi_rsp(c, h->itt, SCSI_STATUS_GOOD, 0, -1, 0, 0, 0);
}

/* Zero blocks [lba, lba + blocks) in bounded pieces (UNMAP, WRITE SAME
 * with UNMAP: unmapped blocks read as zeroes, LBPRZ). */
static int iscsi_zero(struct iscsi_unit *u, uint64_t lba, uint64_t blocks,
		      int fua)
{
	uint64_t off = lba << ISCSI_BLOCK_SHIFT,
		 len = blocks << ISCSI_BLOCK_SHIFT;
	uint32_t n;
	int rc;

	while (len) {
		n = (uint32_t)MIN(len, (uint64_t)ISCSI_ZERO_CHUNK);
		if ((rc = vdisk_zero(u->vd, off, n, fua)) != 0)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

static int is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* WRITE SAME (SBC-3): the block in t->param repeated. */
static uint32_t iscsi_write_same(struct iscsi_conn *c,
				 const struct iscsi_task *t)
{
	struct iscsi_unit *u = iscsi_unit_of(c, t->lun);
	const struct scsi_cdb *cdb = &t->cdb;
	uint64_t blocks = cdb->blocks, lba = cdb->lba, i, left;
	uint8_t *pat;
	uint32_t n;
	int rc;

	if (blocks == 0)	/* WSNZ 0: to the end of the medium */
		blocks = u->lu.nblocks - lba;
	if (cdb->unmap || cdb->ndob || is_zero(t->param, ISCSI_BLOCK)) {
		rc = iscsi_zero(u, lba, blocks, 0);
		return rc ? iscsi_disk_error(c, rc, 1) : SCSI_ERR_NONE;
	}
	if (!(pat = malloc(ISCSI_PATTERN_BUF)))
		return SCSI_ERR_INTERNAL;
	for (i = 0; i < ISCSI_PATTERN_BUF / ISCSI_BLOCK; i++)
		memcpy(pat + i * ISCSI_BLOCK, t->param, ISCSI_BLOCK);
	for (left = blocks; left; left -= n / ISCSI_BLOCK) {
		n = (uint32_t)MIN(left * ISCSI_BLOCK,
				  (uint64_t)ISCSI_PATTERN_BUF);
		rc = vdisk_write(u->vd, pat, (lba + blocks - left)
				 << ISCSI_BLOCK_SHIFT, n, 0);
		if (rc != 0) {
			free(pat);
			return iscsi_disk_error(c, rc, 1);
		}
	}
	free(pat);
	c->io.bytes_written += blocks * ISCSI_BLOCK;
	return SCSI_ERR_NONE;
}

/* UNMAP (SBC-3): each descriptor's blocks zeroed. */
static uint32_t iscsi_unmap(struct iscsi_conn *c, const struct iscsi_task *t)
{
	struct iscsi_unit *u = iscsi_unit_of(c, t->lun);
	uint32_t ndesc, i, blocks, err;
	uint64_t lba;
	int rc;

	if ((err = scsi_unmap_check(t->param, t->xfer, &u->lu, &ndesc)))
		return err;
	for (i = 0; i < ndesc; i++) {
		scsi_unmap_desc(t->param, i, &lba, &blocks);
		if ((rc = iscsi_zero(u, lba, blocks, 0)) != 0)
			return iscsi_disk_error(c, rc, 1);
	}
	return SCSI_ERR_NONE;
}

static void iscsi_task_free(struct iscsi_conn *c, struct iscsi_task *t)
{
	free(t->param);
	memset(t, 0, sizeof(*t));
	c->ntasks--;
}

/* All data of t is in: act and answer. */
static int iscsi_task_complete(struct iscsi_conn *c, struct iscsi_task *t)
{
	uint32_t err = t->err, residual, itt = t->itt, datasn = t->r2tsn;
	uint8_t op = t->cdb.opcode, rflags;

	rflags = iscsi_residual(t->edtl, t->need, &residual);
	if (!err && t->cdb.kind == SCSI_KIND_WRITE_SAME)
		err = iscsi_write_same(c, t);
	else if (!err && t->cdb.kind == SCSI_KIND_UNMAP)
		err = iscsi_unmap(c, t);
	else if (!err)
		c->io.bytes_written += t->xfer;
	iscsi_task_free(c, t);
	if (err)
		return iscsi_check_condition(c, itt, op, err, -1);
	return iscsi_scsi_rsp(c, itt, SCSI_STATUS_GOOD, 0, -1, rflags,
			      residual, datasn);
}

/* Data for t at buffer offset off: the part inside [0, xfer) goes to the
 * disk (or t->param); what lies beyond is an initiator's residual and
 * is dropped. */
static void iscsi_task_data(struct iscsi_conn *c, struct iscsi_task *t,
			    uint32_t off, const uint8_t *data, uint32_t len)
{
	uint32_t n;
	int rc;

	if (off >= t->xfer || len == 0)
		return;
	n = MIN(len, t->xfer - off);
	if (t->param) {
		memcpy(t->param + off, data, n);
	} else if (!t->err) {
		rc = vdisk_write(iscsi_unit_of(c, t->lun)->vd, data,
				 (t->cdb.lba << ISCSI_BLOCK_SHIFT) + off, n,
				 t->cdb.fua);
		if (rc != 0) {
			t->err = iscsi_disk_error(c, rc, 1);
			log_warnx("iscsi %s: write at %llu, %u bytes: %s",
				  c->peer, (unsigned long long)
				  ((t->cdb.lba << ISCSI_BLOCK_SHIFT) + off), n,
				  err_str(rc));
		}
	}
	t->got += n;
}

/* Solicit what is missing (§11.8), up to MaxOutstandingR2T at once and
 * MaxBurstLength each. */
static int iscsi_send_r2ts(struct iscsi_conn *c, struct iscsi_task *t)
{
	uint32_t max_out = MIN(c->nego.p.max_outstanding_r2t,
			       (uint32_t)ISCSI_MAX_R2T), out = 0, i, len;
	struct iscsi_sn sn;
	uint8_t *p;

	for (i = 0; i < ISCSI_MAX_R2T; i++)
		out += t->r2t[i].used;
	for (i = 0; i < ISCSI_MAX_R2T && out < max_out &&
		    t->next_r2t < t->xfer; i++) {
		struct iscsi_r2t *r = &t->r2t[i];

		if (r->used)
			continue;
		len = MIN(c->nego.p.max_burst, t->xfer - t->next_r2t);
		*r = (struct iscsi_r2t){
			.used = 1, .offset = t->next_r2t, .len = len,
			/* tags never 0xffffffff (reserved) */
			.ttt = (c->next_ttt++ & 0x7fffffffU),
		};
		if (!(p = iscsi_pdu_begin(c, 0)))
			return -ENOMEM;
		sn = iscsi_sn(c);
		iscsi_build_r2t(p, ISCSI_BHS_SIZE, t->lun, t->itt, r->ttt, &sn,
				t->r2tsn++, r->offset, r->len);
		iscsi_pdu_done(c, p, 0);
		t->next_r2t += len;
		out++;
	}
	return 0;
}

static struct iscsi_task *iscsi_task_find(struct iscsi_conn *c, uint32_t itt)
{
	unsigned i;

	for (i = 0; i < ISCSI_QUEUE_DEPTH; i++)
		if (c->tasks[i].used && c->tasks[i].itt == itt)
			return &c->tasks[i];
	return NULL;
}

static struct iscsi_task *iscsi_task_new(struct iscsi_conn *c)
{
	unsigned i;

	for (i = 0; i < ISCSI_QUEUE_DEPTH; i++) {
		if (!c->tasks[i].used) {
			c->tasks[i].used = 1;
			c->ntasks++;
			return &c->tasks[i];
		}
	}
	return NULL;
}

/* Commands that take data from the initiator: WRITE, WRITE AND VERIFY,
 * WRITE SAME, UNMAP. data: the immediate data (§11.3.4). */
static int iscsi_cmd_write(struct iscsi_conn *c, const struct iscsi_bhs *h,
			   const struct scsi_cdb *cdb, const uint8_t *data)
{
	const struct scsi_lu *lu = &iscsi_unit_of(c, h->lun)->lu;
	uint32_t edtl = iscsi_bhs_edtl(h), err;
	uint64_t need;
	struct iscsi_task *t;

	if (lu->read_only)
		return iscsi_check_condition(c, h->itt, cdb->opcode,
					     SCSI_ERR_WRITE_PROTECTED, -1);
	switch (cdb->kind) {
	case SCSI_KIND_UNMAP:
		if (!lu->thin)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						     SCSI_ERR_INVALID_OPCODE,
						     -1);
		need = cdb->param_len;
		if (need > ISCSI_PARAM_MAX)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						SCSI_ERR_PARAM_LIST_LENGTH, -1);
		break;
	case SCSI_KIND_WRITE_SAME:
		if (!scsi_lba_ok(cdb->lba, cdb->blocks, lu->nblocks))
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						SCSI_ERR_LBA_OUT_OF_RANGE, -1);
		/* SBC-3: 0 blocks (WSNZ 0) = to the end of the disk;
		 * either way within MAXIMUM WRITE SAME LENGTH */
		if ((cdb->blocks ? cdb->blocks : lu->nblocks - cdb->lba) >
		    ISCSI_MAX_WRITE_SAME)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						SCSI_ERR_INVALID_FIELD_CDB,
						cdb->len == 10 ? 7 : 10);
		need = cdb->ndob ? 0 : ISCSI_BLOCK;
		/* SBC-3: the data-out buffer is exactly one block */
		if (!cdb->ndob && edtl != ISCSI_BLOCK)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						SCSI_ERR_INVALID_FIELD_CDB, -1);
		break;
	default:
		if (!scsi_lba_ok(cdb->lba, cdb->blocks, lu->nblocks))
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						SCSI_ERR_LBA_OUT_OF_RANGE, -1);
		need = (uint64_t)cdb->blocks << ISCSI_BLOCK_SHIFT;
		if (need > ISCSI_MAX_XFER)
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						SCSI_ERR_INVALID_FIELD_CDB, -1);
		break;
	}
	/* SAM-5: a tag already in use is an overlapped command */
	if (iscsi_task_find(c, h->itt))
		return iscsi_check_condition(c, h->itt, cdb->opcode,
					     SCSI_ERR_OVERLAPPED_COMMANDS, -1);
	if (!(t = iscsi_task_new(c)))
		return iscsi_scsi_rsp(c, h->itt, SCSI_STATUS_TASK_SET_FULL, 0,
				      -1, 0, 0, 0);
	t->itt = h->itt;
	t->lun = h->lun;
	t->cdb = *cdb;
	t->edtl = edtl;
	t->need = (uint32_t)need;
	t->xfer = MIN(t->need, (h->flags & ISCSI_CMD_WRITE) ? edtl : 0);
	if (cdb->kind == SCSI_KIND_UNMAP || cdb->kind == SCSI_KIND_WRITE_SAME) {
		if (t->xfer < t->need && !cdb->ndob) {
			/* a parameter list cut short by the initiator */
			err = cdb->kind == SCSI_KIND_UNMAP
			      ? SCSI_ERR_PARAM_LIST_LENGTH
			      : SCSI_ERR_INVALID_FIELD_CDB;
			iscsi_task_free(c, t);
			return iscsi_check_condition(c, h->itt, cdb->opcode,
						     err, -1);
		}
		if (t->xfer && !(t->param = calloc(1, t->xfer))) {
			iscsi_task_free(c, t);
			return iscsi_scsi_rsp(c, h->itt, SCSI_STATUS_BUSY, 0,
					      -1, 0, 0, 0);
		}
	}
	/* §13.10, §13.14: unsolicited data is the immediate data, and
	 * with InitialR2T=No Data-Out PDUs up to FirstBurstLength */
	t->unsol_end = c->nego.p.initial_r2t ? h->data_len
		       : MIN(edtl, c->nego.p.first_burst);
	if (t->unsol_end < h->data_len)
		t->unsol_end = h->data_len;
	iscsi_task_data(c, t, 0, data, h->data_len);
	t->next_r2t = MIN(t->unsol_end, t->xfer);
	if (t->got >= t->xfer)
		return iscsi_task_complete(c, t);
	return iscsi_send_r2ts(c, t);
}

/* §11.3: a SCSI Command in full feature phase. */
static int iscsi_scsi_cmd(struct iscsi_conn *c, const struct iscsi_bhs *h,
			  const uint8_t *data)
{
	struct scsi_cdb cdb;
	uint32_t err;

	c->ncmd++;
	if (h->ahs_words) /* §11.2.2: extended CDBs and bidi: not offered */
		return iscsi_check_condition(c, h->itt, h->cdb[0],
					     SCSI_ERR_INVALID_FIELD_CDB, 0);
	err = scsi_cdb_parse(h->cdb, &cdb);
	if (!iscsi_unit_of(c, h->lun) && cdb.opcode != SCSI_INQUIRY &&
	    cdb.opcode != SCSI_REPORT_LUNS)
		return iscsi_check_condition(c, h->itt, cdb.opcode,
					     SCSI_ERR_LUN_NOT_SUPPORTED, -1);
	if (err)
		return iscsi_check_condition(c, h->itt, cdb.opcode, err,
					     err == SCSI_ERR_INVALID_FIELD_CDB
					     ? cdb.bad_byte : -1);
	switch (cdb.kind) {
	case SCSI_KIND_READ:
	case SCSI_KIND_VERIFY:
		return iscsi_cmd_read(c, h, &cdb);
	case SCSI_KIND_WRITE:
	case SCSI_KIND_WRITE_SAME:
	case SCSI_KIND_UNMAP:
		return iscsi_cmd_write(c, h, &cdb, data);
	case SCSI_KIND_SYNC:
		return iscsi_cmd_sync(c, h, &cdb);
	case SCSI_KIND_DATA_IN:
		return iscsi_cmd_data_in(c, h, &cdb);
	default:	/* TEST UNIT READY, START STOP UNIT, PREVENT ALLOW */
		return iscsi_scsi_rsp(c, h->itt, SCSI_STATUS_GOOD, 0, -1, 0, 0,
				      0);
	}
}

/* A Data-Out sequence error at ErrorRecoveryLevel 0 (§7, error handling, leaves
 * nothing to recover with): the connection goes. */
static int iscsi_seq_error(struct iscsi_conn *c, const char *what,
			   uint32_t got, uint32_t want)
{
	log_warnx("iscsi %s: %s %u, expected %u: closing (ErrorRecoveryLevel "
		  "0)", c->peer, what, got, want);
	return -EPROTO;
}

/* §11.7: SCSI Data-Out, solicited by an R2T or unsolicited. */
static int iscsi_data_out(struct iscsi_conn *c, const struct iscsi_bhs *h,
			  const uint8_t *raw, const uint8_t *data)
{
	uint32_t ttt = iscsi_bhs_ttt(h), off = iscsi_bhs_buffer_offset(h);
	uint32_t datasn = iscsi_bhs_datasn(h), i;
	struct iscsi_task *t = iscsi_task_find(c, h->itt);
	struct iscsi_r2t *r = NULL;

	if (!t) {
		/* data of a command we answered already: refused up front
		 * (its unsolicited data still comes) or past its need */
		log_debug("iscsi %s: Data-Out for no task (ITT 0x%08x): "
			  "dropped", c->peer, h->itt);
		return 0;
	}
	if ((uint64_t)off + h->data_len > t->edtl)
		return iscsi_reject(c, raw, ISCSI_REJECT_PROTOCOL_ERROR,
				    "Data-Out past the expected length");
	if (ttt == ISCSI_RSVD_TAG) {
		if ((uint64_t)off + h->data_len > t->unsol_end)
			return iscsi_reject(c, raw, ISCSI_REJECT_PROTOCOL_ERROR,
					    "unsolicited data past "
					    "FirstBurstLength");
		if (datasn != t->unsol_datasn)
			return iscsi_seq_error(c, "Data-Out DataSN", datasn,
					       t->unsol_datasn);
		t->unsol_datasn++;
	} else {
		for (i = 0; i < ISCSI_MAX_R2T && !r; i++)
			if (t->r2t[i].used && t->r2t[i].ttt == ttt)
				r = &t->r2t[i];
		if (!r)
			return iscsi_reject(c, raw,
					    ISCSI_REJECT_INVALID_PDU_FIELD,
					    "unknown Target Transfer Tag");
		if (off < r->offset ||
		    (uint64_t)off + h->data_len > (uint64_t)r->offset + r->len)
			return iscsi_reject(c, raw, ISCSI_REJECT_PROTOCOL_ERROR,
					    "Data-Out outside its R2T");
		if (datasn != r->next_datasn)
			return iscsi_seq_error(c, "Data-Out DataSN", datasn,
					       r->next_datasn);
		r->next_datasn++;
		r->got += h->data_len;
	}
	iscsi_task_data(c, t, off, data, h->data_len);
	if (r && (h->final || r->got >= r->len))
		r->used = 0;
	if (t->got >= t->xfer)
		return iscsi_task_complete(c, t);
	if (r && !r->used)
		return iscsi_send_r2ts(c, t);
	return 0;
}

/* §11.18: NOP-Out: a ping to answer, or the answer to ours. */
static int iscsi_nop_out(struct iscsi_conn *c, const struct iscsi_bhs *h,
			 const uint8_t *data)
{
	uint32_t len = MIN(h->data_len, c->nego.p.max_recv_dsl);
	struct iscsi_sn sn;
	uint8_t *p;

	if (h->itt == ISCSI_RSVD_TAG) {
		if (iscsi_bhs_ttt(h) == c->ping_ttt)
			c->ping_sent = 0;
		return 0;
	}
	/* §11.19: the answer echoes the ping data, with the ITT */
	if (!(p = iscsi_pdu_begin(c, len)))
		return -ENOMEM;
	sn = iscsi_sn(c);
	iscsi_build_nop_in(p, ISCSI_BHS_SIZE, h->lun, h->itt, ISCSI_RSVD_TAG,
			   &sn, len);
	memcpy(iscsi_pdu_data(c, p), data, len);
	iscsi_pdu_done(c, p, len);
	c->statsn++;
	return 0;
}

/* Every command in progress ends: writes waiting for data, a READ
 * streaming its Data-In. */
static void iscsi_abort_all(struct iscsi_conn *c)
{
	unsigned i;

	for (i = 0; i < ISCSI_QUEUE_DEPTH; i++)
		if (c->tasks[i].used)
			iscsi_task_free(c, &c->tasks[i]);
	c->rd = (struct iscsi_stream){ 0 };
}

/* §11.5: Task Management Function Request. Only writes waiting for data
 * are ever in progress here; everything else already completed. */
static int iscsi_tmf(struct iscsi_conn *c, const struct iscsi_bhs *h)
{
	uint8_t fn = iscsi_bhs_tmf_function(h), rsp = ISCSI_TMF_RSP_COMPLETE;
	struct iscsi_task *t;
	struct iscsi_sn sn;
	uint8_t *p;

	switch (fn) {
	case ISCSI_TMF_ABORT_TASK:
		if ((t = iscsi_task_find(c, iscsi_bhs_ref_tag(h))))
			iscsi_task_free(c, t);
		/* §11.5.1 b/c: a task never received inside the window is
		 * complete, one outside it does not exist */
		else if (!iscsi_sn_in(h->w32, c->exp_cmdsn, c->max_cmdsn))
			rsp = ISCSI_TMF_RSP_NO_TASK;
		break;
	case ISCSI_TMF_ABORT_TASK_SET:
	case ISCSI_TMF_CLEAR_TASK_SET:
	case ISCSI_TMF_LUN_RESET:
		if (!iscsi_unit_of(c, h->lun))
			rsp = ISCSI_TMF_RSP_NO_LUN;
		else
			iscsi_abort_all(c);
		break;
	case ISCSI_TMF_TARGET_WARM_RESET:
		iscsi_abort_all(c);
		break;
	case ISCSI_TMF_CLEAR_ACA:	/* NORMACA is 0: no ACA to clear */
	case ISCSI_TMF_TARGET_COLD_RESET:
		rsp = ISCSI_TMF_RSP_NOT_SUPPORTED;
		break;
	case ISCSI_TMF_TASK_REASSIGN:	/* needs ErrorRecoveryLevel 2 */
		rsp = ISCSI_TMF_RSP_NO_REASSIGN;
		break;
	default:
		rsp = ISCSI_TMF_RSP_REJECTED;
		break;
	}
	log_info("iscsi %s: task management function %u -> %u", c->peer, fn,
		 rsp);
	if (!(p = iscsi_pdu_begin(c, 0)))
		return -ENOMEM;
	sn = iscsi_sn(c);
	iscsi_build_tmf_rsp(p, ISCSI_BHS_SIZE, rsp, h->itt, &sn);
	iscsi_pdu_done(c, p, 0);
	c->statsn++;
	return 0;
}

/* §11.14: Logout: answer, then close once it is sent. */
static int iscsi_logout(struct iscsi_conn *c, const struct iscsi_bhs *h)
{
	uint8_t reason = iscsi_bhs_logout_reason(h), rsp = ISCSI_LOGOUT_RSP_OK;
	struct iscsi_sn sn;
	uint8_t *p;

	if (reason == ISCSI_LOGOUT_RECOVERY)
		rsp = ISCSI_LOGOUT_RSP_NO_RECOVERY;
	else if (reason == ISCSI_LOGOUT_CONNECTION && iscsi_bhs_cid(h) != c->cid)
		rsp = ISCSI_LOGOUT_RSP_NO_CID;
	if (!(p = iscsi_pdu_begin(c, 0)))
		return -ENOMEM;
	sn = iscsi_sn(c);
	iscsi_build_logout_rsp(p, ISCSI_BHS_SIZE, rsp, h->itt, &sn, 0, 0);
	iscsi_pdu_done(c, p, 0);
	c->statsn++;
	if (rsp == ISCSI_LOGOUT_RSP_OK) {
		iscsi_abort_all(c);
		c->phase = ISCSI_PH_CLOSING;
		c->bye = "logout";
		c->deadline = now_ms() + ISCSI_LOGIN_MS;
	}
	return 0;
}

/* ---- text: SendTargets (§13.3, Appendix C) ---- */

/* TargetName + TargetAddress of one target into text_out. */
static int iscsi_add_target(struct iscsi_conn *c, const char *name)
{
	char addr[64];
	size_t pos = c->text_out_len;
	int rc;

	snprintf(addr, sizeof(addr), "%s,1", c->local);
	if ((rc = iscsi_text_add(c->text_out, ISCSI_TEXT_OUT_MAX, &pos,
				 "TargetName", name)) != 0 ||
	    (rc = iscsi_text_add(c->text_out, ISCSI_TEXT_OUT_MAX, &pos,
				 "TargetAddress", addr)) != 0)
		return rc;
	c->text_out_len = pos;
	return 0;
}

/* db_export_list callback: images are the targets a discovery lists;
 * NAME@VERSION is no iSCSI name ('@' is not allowed, RFC 3722) and
 * client tokens are never listed. */
static int iscsi_list_one(void *arg, const char *name, const char *desc)
{
	struct iscsi_conn *c = arg;
	char iqn[ISCSI_NAME_MAX + 1];

	(void)desc;
	if (strchr(name, '@') ||
	    (size_t)snprintf(iqn, sizeof(iqn), "%s%s", ISCSI_IQN_IMAGE, name)
	    >= sizeof(iqn))
		return 0;
	if (iscsi_add_target(c, iqn) != 0) {
		log_warnx("iscsi %s: SendTargets answer over %u bytes: "
			  "truncated", c->peer, ISCSI_TEXT_OUT_MAX);
		return 1;
	}
	return 0;
}

static int iscsi_image_resolve(struct db *db, const char *target,
			       struct export_info *ex);

static void iscsi_send_targets(struct iscsi_conn *c)
{
	struct export_info ex;
	int rc;

	if (c->nego.p.session_type == ISCSI_SESSION_NORMAL) {
		/* §13.3: in a normal session, only this session's target */
		iscsi_add_target(c, c->target_name);
	} else if (c->nego.send_targets == 1) {
		if ((rc = db_export_list(c->is->srv->db, iscsi_list_one, c)) < 0)
			log_warnx("iscsi %s: listing targets: %s", c->peer,
				  err_str(rc));
	} else if (c->nego.send_targets == 2 &&
		   iscsi_image_resolve(c->is->srv->db,
				       c->nego.send_targets_name, &ex) == 0) {
		iscsi_add_target(c, c->nego.send_targets_name);
	}
}

/* Queue the next piece of text_out as a Text Response (§11.11): up to
 * the initiator's MaxRecvDataSegmentLength; C and a tag when more
 * follows, and the initiator asks for it with an empty Text Request. */
static int iscsi_text_rsp(struct iscsi_conn *c, const struct iscsi_bhs *h)
{
	size_t left = c->text_out_len - c->text_out_off;
	uint32_t len = (uint32_t)MIN(left, (size_t)c->nego.p.max_recv_dsl);
	int final = len == left;
	struct iscsi_sn sn;
	uint8_t *p;

	if (!final && !c->text_ttt)
		c->text_ttt = 0x40000000U | (c->next_ttt++ & 0x3fffffffU);
	if (!(p = iscsi_pdu_begin(c, len)))
		return -ENOMEM;
	sn = iscsi_sn(c);
	iscsi_build_text_rsp(p, ISCSI_BHS_SIZE, final, !final, h->lun, h->itt,
			     final ? ISCSI_RSVD_TAG : c->text_ttt, &sn, len);
	memcpy(iscsi_pdu_data(c, p), c->text_out + c->text_out_off, len);
	iscsi_pdu_done(c, p, len);
	c->statsn++;
	c->text_out_off += len;
	if (final) {
		c->text_out_len = c->text_out_off = 0;
		c->text_ttt = 0;
	}
	return 0;
}

/* §11.10: Text Request in full feature phase. */
static int iscsi_text(struct iscsi_conn *c, const struct iscsi_bhs *h,
		      const uint8_t *raw, const uint8_t *data)
{
	size_t olen;
	int rc;

	if (c->text_ttt && iscsi_bhs_ttt(h) == c->text_ttt)
		return iscsi_text_rsp(c, h);	/* the rest of an answer */
	c->text_out_len = c->text_out_off = 0;
	c->text_ttt = 0;
	if (c->text_in_len + h->data_len > ISCSI_TEXT_MAX)
		return iscsi_reject(c, raw, ISCSI_REJECT_PROTOCOL_ERROR,
				    "text over 16 KiB");
	memcpy(c->text_in + c->text_in_len, data, h->data_len);
	c->text_in_len += h->data_len;
	if (h->cont) {
		/* §11.10.2: more text follows: answer empty, ask for it */
		return iscsi_text_rsp(c, h);
	}
	c->nego.stage = ISCSI_STAGE_FULL;
	rc = iscsi_nego_run(&c->nego, c->text_in, c->text_in_len, c->text_out,
			    ISCSI_TEXT_OUT_MAX, &olen);
	c->text_in_len = 0;
	if (rc != 0)
		return iscsi_reject(c, raw, ISCSI_REJECT_PROTOCOL_ERROR,
				    c->nego.why);
	c->text_out_len = olen;
	if (c->nego.send_targets)
		iscsi_send_targets(c);
	return iscsi_text_rsp(c, h);
}

/* ---- login (§6, §11.12) ---- */

/*
 * The targets (what a PC's boot script names, bootscript.h):
 *   iqn.2026-12.org.linkboot:image.NAME   image NAME, read-only, no login
 *                                          secret: images are public
 *   iqn.2026-12.org.linkboot:pc.<mac>      the disk of the PC with that
 *                                          MAC (12 hex digits), its link
 *                                          deciding everything; CHAP with
 *                                          the PC's boot credentials or
 *                                          an admin token (boot_auth.h)
 * The PC's MAC into mac; 1 for a PC target, 0 for anything else.
 */
static int iscsi_pc_target(const char *target, uint8_t mac[6])
{
	size_t pl = strlen(ISCSI_IQN_PC);

	return !strncmp(target, ISCSI_IQN_PC, pl) &&
	       strlen(target + pl) == 12 && mac_parse(target + pl, mac) == 0;
}

/* An image target: its read-only export. */
static int iscsi_image_resolve(struct db *db, const char *target,
			       struct export_info *ex)
{
	size_t il = strlen(ISCSI_IQN_IMAGE);

	if (!db)
		return -ESHUTDOWN;
	if (strncmp(target, ISCSI_IQN_IMAGE, il) != 0 || !target[il])
		return -ENOENT;
	return db_export_resolve(db, target + il, NULL, ex);
}

/* lib/iscsi_login.h chap_secret_for: a PC target's secret per CHAP_N. */
static int iscsi_chap_secret_for(void *arg, const char *name, uint8_t *secret,
				 size_t *len)
{
	struct iscsi_conn *c = arg;
	char s[SAN_SECRET_LEN + 1];
	int rc;

	if ((rc = boot_chap_secret(c->is->srv, name, c->peer_addr,
				   c->target_mac, s)) != 0)
		return rc;
	memcpy(secret, s, SAN_SECRET_LEN);
	*len = SAN_SECRET_LEN;
	sodium_memzero(s, sizeof(s));
	return 0;
}

/* What a login must prove (§12): CHAP for a PC's disk, nothing for a
 * discovery session or an image. TargetName comes in the first Login
 * Request of a normal session (§13.4). */
static void iscsi_target_auth(struct iscsi_conn *c, const char *text,
			      size_t len, int discovery)
{
	struct iscsi_nego_cfg *nc = &c->nego_cfg;
	char target[ISCSI_NAME_MAX + 1];
	const char *v;
	size_t vl;

	nc->chap_user = nc->chap_target_user = NULL;
	nc->chap_secret = nc->chap_target_secret = NULL;
	nc->chap_secret_len = nc->chap_target_secret_len = 0;
	nc->chap_secret_for = NULL;
	c->pc_target = 0;
	if (discovery || iscsi_text_get(text, len, "TargetName", &v, &vl) ||
	    vl >= sizeof(target))
		return;
	memcpy(target, v, vl);
	target[vl] = '\0';
	if (iscsi_pc_target(target, c->target_mac)) {
		c->pc_target = 1;
		nc->chap_secret_for = iscsi_chap_secret_for;
		nc->chap_arg = c;
	}
}

/* Queue a Login Response. */
static int iscsi_login_rsp(struct iscsi_conn *c, uint16_t status, int transit,
			   uint8_t nsg, const char *text, size_t len)
{
	struct iscsi_login_rsp r = {
		.transit = transit, .csg = (uint8_t)c->stage,
		.nsg = transit ? nsg : 0, .version_max = ISCSI_VERSION,
		.version_active = ISCSI_VERSION, .tsih = c->tsih,
		.itt = c->login_itt, .status = status,
		.data_len = (uint32_t)len,
	};
	struct iscsi_sn sn;
	uint8_t *p;

	memcpy(r.isid, c->isid, sizeof(r.isid));
	if (!(p = iscsi_pdu_begin(c, r.data_len)))
		return -ENOMEM;
	sn = iscsi_sn(c);
	iscsi_build_login_rsp(p, ISCSI_BHS_SIZE, &r, &sn);
	if (len)
		memcpy(iscsi_pdu_data(c, p), text, len);
	iscsi_pdu_done(c, p, r.data_len);
	c->statsn++;
	return 0;
}

/* §11.13.5: fail the login with status, then close. */
static int iscsi_login_fail(struct iscsi_conn *c, uint16_t status,
			    const char *why)
{
	char name[96];

	log_escape(name, sizeof(name), c->nego.p.initiator_name,
		   strlen(c->nego.p.initiator_name));
	log_info("iscsi %s: login of %s refused: %s (%s)", c->peer,
		 name[0] ? name : "(no InitiatorName yet)",
		 iscsi_login_status_name(status), why);
	c->tsih = 0;
	c->text_in_len = 0;
	if (iscsi_login_rsp(c, status, 0, 0, NULL, 0) != 0)
		return -ENOMEM;
	c->phase = ISCSI_PH_CLOSING;
	c->bye = "login refused";
	c->deadline = now_ms() + ISCSI_LOGIN_MS;
	return 0;
}

/* Target names hold no secret: logged as they are. */
static const char *iscsi_target_logname(const struct iscsi_conn *c,
					char *buf, size_t bufsz)
{
	return log_escape(buf, bufsz, c->target_name, strlen(c->target_name));
}

/*
 * §6.3.5 session reinstatement: a login with the InitiatorName and ISID
 * of a live session (and TSIH 0) replaces it at once, so a PC cut off
 * and booted again does not wait for its dead TCP connection. Also (as
 * nbd_supersede) a client's newest session to its own overlay wins: iPXE
 * picks a new ISID per boot, and Windows logs in with its own while
 * iPXE's connection, dead with the firmware, still looks alive here.
 */
static int iscsi_reinstate(struct iscsi_conn *c, int same_client)
{
	struct iscsi_conn *o;
	int n = 0;

	for (o = c->is->conns; o; o = o->next) {
		if (o == c || o->dead || o->phase == ISCSI_PH_CLOSING)
			continue;
		if (same_client
		    ? !(o->unit[0].vd && c->ex.client_mac[0] &&
			!strcmp(o->ex.client_mac, c->ex.client_mac) &&
			!strcmp(o->ex.image_id, c->ex.image_id) &&
			o->peer_addr.s_addr == c->peer_addr.s_addr)
		    : (memcmp(o->isid, c->isid, sizeof(c->isid)) != 0 ||
		       o->phase != ISCSI_PH_FULL ||
		       strcmp(o->nego.p.initiator_name,
			      c->nego.p.initiator_name) != 0))
			continue;
		log_warnx("iscsi %s: session replaced by a new login from %s",
			  o->peer, c->peer);
		iscsi_conn_close(o, same_client
				 ? "superseded by the same client's new session"
				 : "session reinstated (RFC 7143 6.3.5)");
		n++;
	}
	return n;
}

/* Extra disk lun of the PC: its LU, or a log line saying why it is
 * missing (the PC still boots from its system disk). */
static void iscsi_open_extra_disk(struct iscsi_conn *c, unsigned lun)
{
	const struct lb_config *cfg = c->is->srv->cfg;
	struct db *db = c->is->srv->db;
	struct iscsi_unit *u = &c->unit[lun];
	int rc;

	if ((rc = db_export_disk(db, &c->ex, lun, &u->ex)) != 0 ||
	    (rc = db_session_add(db, &u->ex, c->peer, "iscsi",
				 &u->session)) != 0) {
		log_warnx("iscsi %s: %s: disk %u: %s", c->peer,
			  c->ex.client_mac, lun, err_str(rc));
		u->session = -1;
		return;
	}
	u->ex.overlay_max = (uint64_t)cfg->overlay_max_mib << 20;
	if ((rc = vdisk_open(db, cfg->store_dir, cfg->state_dir, &u->ex,
			     &u->vd)) != 0) {
		log_warnx("iscsi %s: %s: disk %u (image %s v%u): %s", c->peer,
			  c->ex.client_mac, lun, u->ex.image_id,
			  u->ex.version, err_str(rc));
		u->vd = NULL;
		db_session_remove(db, u->session);
		u->session = -1;
		return;
	}
	iscsi_lu_setup(c, lun);
	log_info("iscsi %s: LUN %u: image %s v%u, %llu bytes, %s", c->peer,
		 lun, u->ex.image_id, u->ex.version,
		 (unsigned long long)vdisk_size(u->vd),
		 vdisk_read_only(u->vd) ? "read-only" :
		 u->ex.drop_at_boot ? "server overlay, dropped at the next "
		 "boot" : "server overlay, kept");
}

/* The PC's extra disks as LUN 1..7 (disks.h). */
static void iscsi_open_extra_disks(struct iscsi_conn *c)
{
	struct disk_entry d[DISK_LUN_MAX];
	unsigned n, i;
	int rc;

	if ((rc = db_client_disks(c->is->srv->db, c->ex.client_mac, d,
				  &n)) != 0) {
		log_warnx("iscsi %s: %s: extra disks: %s", c->peer,
			  c->ex.client_mac, err_str(rc));
		return;
	}
	for (i = 0; i < n; i++)
		iscsi_open_extra_disk(c, d[i].lun);
}

/* Every open LU closed, their session rows gone. */
static void iscsi_close_units(struct iscsi_conn *c)
{
	for (unsigned n = 0; n < ISCSI_UNITS; n++) {
		struct iscsi_unit *u = &c->unit[n];

		if (u->vd)
			vdisk_close(u->vd);
		u->vd = NULL;
		if (n > 0 && u->session >= 0 && c->is->srv->db)
			db_session_remove(c->is->srv->db, u->session);
		u->session = -1;
	}
	c->lun_mask = 0;
}

/* Open the disk of a normal session (the login's last step). */
static int iscsi_open_disk(struct iscsi_conn *c, const char **why)
{
	const struct lb_config *cfg = c->is->srv->cfg;
	struct db *db = c->is->srv->db;
	int rc;

	if (c->pc_target &&
	    (rc = boot_san_login(c->is->srv, c->nego.chap_name, c->peer_addr,
				 c->target_mac, &c->ex, why)) != 0)
		return rc;
	if ((rc = db_session_add(db, &c->ex, c->peer, "iscsi",
				 &c->session)) != 0) {
		*why = "session not recorded";
		c->session = -1;
		return rc;
	}
	c->ex.overlay_max = (uint64_t)cfg->overlay_max_mib << 20;
	rc = vdisk_open(db, cfg->store_dir, cfg->state_dir, &c->ex,
			&c->unit[0].vd);
	if (rc == -EBUSY && iscsi_reinstate(c, 1) > 0)
		rc = vdisk_open(db, cfg->store_dir, cfg->state_dir, &c->ex,
				&c->unit[0].vd);
	if (rc != 0) {
		*why = rc == -EBUSY ? "the disk is in use by a session from "
				      "another address" : "cannot open the disk";
		c->unit[0].vd = NULL;
		db_session_remove(db, c->session);
		c->session = -1;
		return rc;
	}
	iscsi_lu_setup(c, 0);
	if (c->ex.client_mac[0])
		iscsi_open_extra_disks(c);
	return 0;
}

static const char *iscsi_mode_name(const struct iscsi_conn *c)
{
	if (vdisk_read_only(c->unit[0].vd))
		return "read-only";
	return c->ex.write_mode == WRITE_SUPER ? "super (next version)"
					       : "server overlay";
}

/* The login's last step: session reinstatement, the disk, a TSIH. */
static int iscsi_login_finish(struct iscsi_conn *c, const char **why)
{
	char ini[96], tgt[128], detail[256];
	int rc;

	iscsi_reinstate(c, 0);
	if (c->nego.p.session_type == ISCSI_SESSION_NORMAL &&
	    (rc = iscsi_open_disk(c, why)) != 0)
		return rc;
	if (++c->is->next_tsih == 0)
		c->is->next_tsih = 1;
	c->tsih = c->is->next_tsih;
	log_escape(ini, sizeof(ini), c->nego.p.initiator_name,
		   strlen(c->nego.p.initiator_name));
	if (c->nego.p.session_type == ISCSI_SESSION_DISCOVERY) {
		log_info("iscsi %s: login %s -> discovery session", c->peer,
			 ini);
		return 0;
	}
	log_info("iscsi %s: login %s -> target %s image %s v%u, %llu bytes, "
		 "%s%s%s", c->peer, ini,
		 iscsi_target_logname(c, tgt, sizeof(tgt)), c->ex.image_id,
		 c->ex.version, (unsigned long long)vdisk_size(c->unit[0].vd),
		 iscsi_mode_name(c),
		 c->nego.auth == ISCSI_AUTH_CHAP ? ", CHAP" : "",
		 c->nego.p.header_digest || c->nego.p.data_digest
		 ? ", CRC32C digests" : "");
	if (c->ex.client_mac[0]) {
		snprintf(detail, sizeof(detail), "iscsi connect from %s, %s",
			 c->peer, iscsi_mode_name(c));
		db_record_event(c->is->srv->db, c->ex.client_mac, "iscsi",
				detail);
	}
	return 0;
}

/* The first Login PDU: session identity, version, the target. */
static int iscsi_login_first(struct iscsi_conn *c, const struct iscsi_bhs *h,
			     const char *text, size_t len, const char **why)
{
	const char *v;
	size_t vl;
	int discovery = 0;

	c->login_started = 1;
	memcpy(c->isid, h->isid, sizeof(c->isid));
	c->cid = iscsi_bhs_cid(h);
	c->login_itt = h->itt;
	/* §4.2.2.1: the Login carries the first CmdSN; we start StatSN
	 * where the initiator expects it */
	c->exp_cmdsn = h->cmdsn;
	c->max_cmdsn = h->cmdsn;
	c->statsn = h->exp_statsn;
	c->stage = h->csg;
	/* §11.12.4: Version-max >= 0 always holds; Version-min above
	 * ours means no common version */
	if (h->b3 > ISCSI_VERSION) {
		*why = "no common protocol version";
		return ISCSI_LOGIN_BAD_VERSION;
	}
	if (h->tsih != 0) {
		/* §6.3.6: continuing a session = MC/S: not offered */
		*why = "TSIH of another session (MaxConnections=1)";
		return ISCSI_LOGIN_NO_SESSION;
	}
	if (iscsi_text_get(text, len, "SessionType", &v, &vl) == 0 &&
	    vl == 9 && !memcmp(v, "Discovery", 9))
		discovery = 1;
	iscsi_target_auth(c, text, len, discovery);
	return ISCSI_LOGIN_OK;
}

/* After the first negotiation: who logs in to what (§6.1, §13.4-5). */
static uint16_t iscsi_login_names(struct iscsi_conn *c, const char **why)
{
	int rc;

	if (!c->nego.p.initiator_name[0]) {
		*why = "no InitiatorName";
		return ISCSI_LOGIN_MISSING_PARAM;
	}
	if (c->nego.p.session_type == ISCSI_SESSION_DISCOVERY ||
	    c->target_name[0])
		return ISCSI_LOGIN_OK;
	if (!c->nego.p.target_name[0]) {
		*why = "no TargetName";
		return ISCSI_LOGIN_MISSING_PARAM;
	}
	strcpy(c->target_name, c->nego.p.target_name);
	/* a PC's disk is decided once its login is authenticated */
	if (c->pc_target)
		return ISCSI_LOGIN_OK;
	rc = iscsi_image_resolve(c->is->srv->db, c->target_name, &c->ex);
	if (rc == -ENOENT) {
		*why = "no such target";
		return ISCSI_LOGIN_NOT_FOUND;
	}
	if (rc != 0) {
		*why = err_str(rc);
		return ISCSI_LOGIN_UNAVAILABLE;
	}
	return ISCSI_LOGIN_OK;
}

/* §11.12: a Login Request. */
static int iscsi_login(struct iscsi_conn *c, const struct iscsi_bhs *h,
		       const uint8_t *data)
{
	const char *why = NULL;
	char out[8192];
	size_t olen, len;
	uint16_t status;
	int transit = h->final, rc;

	if (c->text_in_len + h->data_len > ISCSI_TEXT_MAX)
		return iscsi_login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR,
					"login text over 16 KiB");
	memcpy(c->text_in + c->text_in_len, data, h->data_len);
	c->text_in_len += h->data_len;
	len = c->text_in_len;
	if (!c->login_started &&
	    (status = iscsi_login_first(c, h, c->text_in, len, &why)))
		return iscsi_login_fail(c, status, why);
	if (memcmp(h->isid, c->isid, sizeof(c->isid)) || h->itt != c->login_itt)
		return iscsi_login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR,
					"ISID or ITT changed during login");
	/* §11.12.3: CSG is where we are; stage 2 does not exist */
	if (h->csg != c->stage || h->csg == 2 || h->csg == ISCSI_STAGE_FULL)
		return iscsi_login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR,
					"wrong CSG");
	if (h->cont) {
		/* §11.12.2: text continues: an empty answer asks for more */
		if (transit)
			return iscsi_login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR,
						"both C and T set");
		return iscsi_login_rsp(c, ISCSI_LOGIN_OK, 0, 0, NULL, 0);
	}
	c->text_in_len = 0;
	c->nego.stage = c->stage;
	if ((rc = iscsi_nego_run(&c->nego, c->text_in, len, out, sizeof(out),
				 &olen)) != 0)
		return iscsi_login_fail(c, c->nego.status, c->nego.why);
	if ((status = iscsi_login_names(c, &why)) != ISCSI_LOGIN_OK)
		return iscsi_login_fail(c, status, why);
	/* §6.1: a login may skip the security stage (start at CSG 1) only
	 * when the target asks for no authentication */
	if (c->stage != ISCSI_STAGE_SECURITY && !iscsi_nego_auth_ok(&c->nego))
		return iscsi_login_fail(c, ISCSI_LOGIN_AUTH_FAILED,
					"the target requires CHAP");
	if (transit) {
		if (h->nsg <= c->stage || h->nsg == 2)
			return iscsi_login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR,
						"wrong NSG");
		if (c->stage == ISCSI_STAGE_SECURITY &&
		    !iscsi_nego_auth_ok(&c->nego)) {
			/* CHAP under way: stay (§6.2); none: refuse */
			if (c->nego.chap_state == ISCSI_CHAP_IDLE)
				return iscsi_login_fail(c,
					ISCSI_LOGIN_AUTH_FAILED,
					"the target requires CHAP");
			transit = 0;
		}
	}
	if (transit && h->nsg == ISCSI_STAGE_FULL &&
	    (rc = iscsi_login_finish(c, &why)) != 0)
		return iscsi_login_fail(c, rc == -ENOENT || rc == -EBUSY
					? ISCSI_LOGIN_UNAVAILABLE
					: ISCSI_LOGIN_TARGET_ERROR, why);
	if ((rc = iscsi_login_rsp(c, ISCSI_LOGIN_OK, transit, h->nsg, out,
				  olen)) != 0)
		return rc;
	if (!transit)
		return 0;
	c->stage = h->nsg;
	if (c->stage == ISCSI_STAGE_FULL) {
		/* §13.1: digests cover the PDUs after the last Login
		 * Response */
		c->phase = ISCSI_PH_FULL;
		c->deadline = 0;
		c->hdigest = c->nego.p.header_digest == ISCSI_DIGEST_CRC32C;
		c->ddigest = c->nego.p.data_digest == ISCSI_DIGEST_CRC32C;
	}
	return 0;
}

/* ---- PDUs in ---- */

/* Does this PDU carry a CmdSN that the window governs? (§4.2.2.1) */
static int iscsi_numbered(uint8_t opcode)
{
	return opcode == ISCSI_OP_SCSI_CMD || opcode == ISCSI_OP_NOP_OUT ||
	       opcode == ISCSI_OP_TMF_REQ || opcode == ISCSI_OP_TEXT_REQ ||
	       opcode == ISCSI_OP_LOGOUT_REQ;
}

/* §4.2.2.1: a non-immediate command outside [ExpCmdSN, MaxCmdSN] is
 * silently ignored (a log line, a few per connection). 1: go on. */
static int iscsi_window(struct iscsi_conn *c, const struct iscsi_bhs *h)
{
	if (h->immediate || !iscsi_numbered(h->opcode))
		return 1;
	if (!iscsi_sn_in(h->cmdsn, c->exp_cmdsn, c->max_cmdsn)) {
		if (c->window_logs++ < ISCSI_WINDOW_LOGS)
			log_info("iscsi %s: %s CmdSN %u outside [%u, %u]: "
				 "ignored", c->peer,
				 iscsi_opcode_name(h->opcode), h->cmdsn,
				 c->exp_cmdsn, c->max_cmdsn);
		return 0;
	}
	/* one connection: commands arrive in order, a gap cannot fill */
	c->exp_cmdsn = h->cmdsn + 1;
	return 1;
}

/* One PDU in full feature phase. */
static int iscsi_ffp_pdu(struct iscsi_conn *c, const struct iscsi_bhs *h,
			 const uint8_t *raw, const uint8_t *data)
{
	int rc = iscsi_check_bhs(h, ISCSI_MRDSL);

	if (rc == -EPROTO)
		return iscsi_reject(c, raw, ISCSI_REJECT_CMD_NOT_SUPPORTED,
				    "unknown opcode");
	if (rc == -EINVAL)
		return iscsi_reject(c, raw, ISCSI_REJECT_INVALID_PDU_FIELD,
				    "invalid field");
	if (!iscsi_window(c, h))
		return 0;
	switch (h->opcode) {
	case ISCSI_OP_SCSI_CMD:
		if (c->nego.p.session_type != ISCSI_SESSION_NORMAL)
			return iscsi_reject(c, raw, ISCSI_REJECT_PROTOCOL_ERROR,
					    "SCSI command in a discovery "
					    "session");
		return iscsi_scsi_cmd(c, h, data);
	case ISCSI_OP_DATA_OUT:
		return iscsi_data_out(c, h, raw, data);
	case ISCSI_OP_NOP_OUT:
		return iscsi_nop_out(c, h, data);
	case ISCSI_OP_TMF_REQ:
		return iscsi_tmf(c, h);
	case ISCSI_OP_TEXT_REQ:
		return iscsi_text(c, h, raw, data);
	case ISCSI_OP_LOGOUT_REQ:
		return iscsi_logout(c, h);
	case ISCSI_OP_SNACK_REQ:	/* ErrorRecoveryLevel 0 */
		return iscsi_reject(c, raw, ISCSI_REJECT_SNACK,
				    "SNACK needs ErrorRecoveryLevel > 0");
	default:	/* Login */
		return iscsi_reject(c, raw, ISCSI_REJECT_PROTOCOL_ERROR,
				    "Login in full feature phase");
	}
}

/* Largest data segment we take in a PDU of this opcode. */
static uint32_t iscsi_max_data(const struct iscsi_conn *c, uint8_t opcode)
{
	if (opcode == ISCSI_OP_LOGIN_REQ || opcode == ISCSI_OP_TEXT_REQ)
		return ISCSI_TEXT_MAX;
	return c->phase == ISCSI_PH_LOGIN ? 0 : ISCSI_MRDSL;
}

/* Parse and handle one PDU from rbuf, or first go on with a streaming
 * READ. 1: progress, 0: need more input or tbuf room, <0: close. */
static int iscsi_pdu_step(struct iscsi_conn *c)
{
	const uint8_t *p = c->rbuf + c->rstart, *data;
	size_t avail = iscsi_rx_avail(c), hlen, total;
	struct iscsi_bhs h;
	uint32_t pad;
	int rc;

	if (iscsi_streaming(c))
		return iscsi_read_step(c);
	if (iscsi_parse_bhs(p, avail, &h) != 0)
		return 0;
	if (h.data_len > iscsi_max_data(c, h.opcode)) {
		log_warnx("iscsi %s: %s with a %u-byte data segment (max %u): "
			  "closing", c->peer, iscsi_opcode_name(h.opcode),
			  h.data_len, iscsi_max_data(c, h.opcode));
		return -EMSGSIZE;
	}
	hlen = ISCSI_BHS_SIZE + (size_t)h.ahs_words * 4 +
	       (c->hdigest ? ISCSI_DIGEST_SIZE : 0);
	total = iscsi_pdu_len(&h, c->hdigest, c->ddigest);
	if (avail < total) {
		if (c->rstart + total > c->rcap)
			iscsi_rx_compact(c);
		return 0;
	}
	if (iscsi_tx_full(c)) {
		c->rx_ready = 1;
		return 0;
	}
	if (c->hdigest &&
	    iscsi_crc32c(p, hlen - ISCSI_DIGEST_SIZE) !=
	    iscsi_get_digest(p + hlen - ISCSI_DIGEST_SIZE)) {
		/* §7 (digest errors): the lengths cannot be trusted */
		log_warnx("iscsi %s: header digest error: closing", c->peer);
		return -EBADMSG;
	}
	data = p + hlen;
	pad = iscsi_pad(h.data_len);
	c->rstart += total;
	c->last_rx = now_ms();
	if (c->ddigest && h.data_len &&
	    iscsi_crc32c(data, h.data_len + pad) !=
	    iscsi_get_digest(data + h.data_len + pad))
		return iscsi_reject(c, p, ISCSI_REJECT_DATA_DIGEST,
				    "data digest error") < 0 ? -ENOMEM : 1;
	switch (c->phase) {
	case ISCSI_PH_LOGIN:
		if (h.opcode != ISCSI_OP_LOGIN_REQ) {
			/* §6: nothing but Login before it completes */
			log_warnx("iscsi %s: %s (opcode 0x%02x) before login: "
				  "closing", c->peer,
				  iscsi_opcode_name(h.opcode), h.opcode);
			return -EPROTO;
		}
		rc = iscsi_login(c, &h, data);
		break;
	case ISCSI_PH_FULL:
		rc = iscsi_ffp_pdu(c, &h, p, data);
		break;
	default:
		rc = 0;
		break;
	}
	return rc < 0 ? rc : 1;
}

/* Handle everything parsable in rbuf (bounded by tbuf). 0 or <0: close. */
static int iscsi_process(struct iscsi_conn *c)
{
	int rc;

	c->rx_ready = 0;
	for (;;) {
		if (c->phase == ISCSI_PH_CLOSING)
			return 0;
		if ((rc = iscsi_pdu_step(c)) <= 0)
			return rc;
	}
}

/* ---- socket I/O (as nbd.c) ---- */

static int iscsi_recv(struct iscsi_conn *c, int *drained)
{
	size_t room;
	ssize_t n;

	if (c->rstart == c->rend)
		c->rstart = c->rend = 0;
	else if (c->rend == c->rcap ||
		 (c->rstart > 0 && c->rcap - c->rend < ISCSI_BHS_SIZE * 16))
		iscsi_rx_compact(c);
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
	if ((size_t)n < room)
		*drained = 1;
	return 1;
}

static int iscsi_send(struct iscsi_conn *c)
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
		/* a short tail waiting for the socket goes to the front: the
		 * next answers reuse the pages just sent from */
		if (c->tstart < c->tend &&
		    c->tend - c->tstart <= ISCSI_TX_COMPACT) {
			memmove(c->tbuf, c->tbuf + c->tstart,
				c->tend - c->tstart);
			c->tend -= c->tstart;
			c->tstart = 0;
		}
	}
	c->tstart = c->tend = 0;
	return 0;
}

static int iscsi_set_events(struct iscsi_conn *c, uint32_t ev)
{
	int rc;

	if (ev == c->events)
		return 0;
	if ((rc = loop_mod(c->is->srv->loop, &c->w, ev)) != 0)
		return rc;
	c->events = ev;
	return 0;
}

/* Interest after a wake-up: EPOLLIN below the high mark and with no READ
 * streaming (the PDUs behind it wait), EPOLLOUT while replies wait, a
 * READ streams (even with nothing unsent: its next piece is due) or work
 * is left after the round budget. */
static void iscsi_rearm(struct iscsi_conn *c, int budget_spent)
{
	uint32_t ev = 0;

	if (c->phase == ISCSI_PH_CLOSING && !iscsi_tx_pending(c)) {
		iscsi_conn_close(c, c->bye);
		return;
	}
	if (!iscsi_streaming(c) && !iscsi_tx_full(c) &&
	    c->phase != ISCSI_PH_CLOSING)
		ev |= EPOLLIN;
	if (iscsi_tx_pending(c) || iscsi_streaming(c) || budget_spent)
		ev |= EPOLLOUT;
	if (iscsi_set_events(c, ev) != 0)
		iscsi_conn_close(c, "epoll");
}

static void iscsi_conn_io(struct loop_watch *w, uint32_t events,
			  int64_t now)
{
	struct iscsi_conn *c = w->arg;
	int round, rc = 0, drained = 0;

	if (c->dead)
		return;
	c->last_io = now;
	c->trimmed = 0;
	if (events & EPOLLERR) {
		iscsi_conn_close(c, "socket error");
		return;
	}
	if (iscsi_bufs_borrow(c, now) != 0) {
		iscsi_conn_close(c, "out of memory for its buffers");
		return;
	}
	rc = iscsi_send(c);
	for (round = 0; rc == 0 && round < ISCSI_ROUNDS; round++) {
		if (c->phase == ISCSI_PH_CLOSING)
			break;
		if (iscsi_tx_full(c))
			break;
		/* the PDUs behind a streaming READ wait in the socket */
		if (!c->rx_ready && !iscsi_streaming(c)) {
			drained = 0;
			if ((rc = iscsi_recv(c, &drained)) < 0)
				break;
		}
		if ((rc = iscsi_process(c)) < 0 || (rc = iscsi_send(c)) < 0)
			break;
		if (!c->rx_ready && !iscsi_streaming(c) && drained)
			break;
	}
	if (rc < 0) {
		iscsi_conn_close(c, rc == -ECONNRESET ? "peer closed"
						      : err_str(rc));
		return;
	}
	iscsi_bufs_return(c);
	iscsi_rearm(c, round == ISCSI_ROUNDS);
}

/* ---- connections ---- */

static void iscsi_conn_free(struct iscsi_conn *c)
{
	iscsi_abort_all(c);
	iscsi_close_units(c);
	netbuf_give(&c->is->rpool, &c->rbuf, &c->rcap);
	netbuf_give(&c->is->tpool, &c->tbuf, &c->tcap);
	free(c->text_in);
	free(c->text_out);
	sodium_memzero(&c->nego, sizeof(c->nego));
	free(c);
}

static void iscsi_conn_close(struct iscsi_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = 1;
	loop_del(c->is->srv->loop, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
	iscsi_abort_all(c);
	iscsi_close_units(c);
	if (c->session >= 0) {
		db_session_remove(c->is->srv->db, c->session);
		c->session = -1;
	}
	log_info("iscsi %s: closed in %s phase: %s (%llu commands, %llu bytes "
		 "read, %llu written)", c->peer, iscsi_phase_names[c->phase],
		 why ? why : "done", (unsigned long long)c->ncmd,
		 (unsigned long long)c->io.bytes_read,
		 (unsigned long long)c->io.bytes_written);
}

static void iscsi_addr_str(const struct sockaddr_in *sin, char *out,
			   size_t outsz)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(out, outsz, "%s:%u", ip, ntohs(sin->sin_port));
}

void iscsi_conn_adopt(struct iscsi_server *is, int fd,
		      const struct sockaddr_in *sin, int64_t now)
{
	uint8_t random[1 + ISCSI_CHAP_CHALLENGE_SIZE];
	struct sockaddr_in local;
	socklen_t llen = sizeof(local);
	struct iscsi_conn *c;
	int one = 1;

	if (!(c = calloc(1, sizeof(*c))))
		goto err_alloc;
	c->is = is;
	if (!(c->text_in = malloc(ISCSI_TEXT_MAX)) ||
	    !(c->text_out = malloc(ISCSI_TEXT_OUT_MAX)))
		goto err_bufs;
	iscsi_addr_str(sin, c->peer, sizeof(c->peer));
	c->peer_addr = sin->sin_addr;
	/* (a socketpair, as the fuzzer's, has no address of ours) */
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0 &&
	    local.sin_family == AF_INET)
		iscsi_addr_str(&local, c->local, sizeof(c->local));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->session = -1;
	for (unsigned n = 0; n < ISCSI_UNITS; n++)
		c->unit[n].session = -1;
	c->w = (struct loop_watch){ .fd = fd, .fn = iscsi_conn_io, .arg = c };
	c->phase = ISCSI_PH_LOGIN;
	c->deadline = now + ISCSI_LOGIN_MS;
	c->last_rx = now;
	c->last_io = now;
	c->nego_cfg = is->nego;
	randombytes_buf(random, sizeof(random));
	iscsi_nego_init(&c->nego, &c->nego_cfg, random);
	c->events = EPOLLIN;
	if (loop_add(is->srv->loop, &c->w, c->events) != 0)
		goto err_bufs;
	c->next = is->conns;
	is->conns = c;
	is->nconns++;
	log_debug("iscsi %s: connected", c->peer);
	return;
err_bufs:
	free(c->text_in);
	free(c->text_out);
	free(c);
err_alloc:
	log_warnx("iscsi: out of memory for a connection");
	close(fd);
}

static void iscsi_accept(struct loop_watch *w, uint32_t events UNUSED,
			 int64_t now)
{
	struct iscsi_server *is = w->arg;
	struct sockaddr_in sin;
	socklen_t len;
	int i, fd;

	for (i = 0; i < ISCSI_ACCEPT_BATCH; i++) {
		len = sizeof(sin);
		fd = accept4(w->fd, (struct sockaddr *)&sin, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("iscsi: accept");
			return;
		}
		if (is->nconns >= (unsigned)is->srv->cfg->iscsi_max_conns) {
			log_warnx("iscsi: %u connections (iscsi_max_conns): "
				  "refusing one", is->nconns);
			close(fd);
			continue;
		}
		iscsi_conn_adopt(is, fd, &sin, now);
	}
}

/* §11.19: a NOP-In ping to an idle initiator (ITT reserved, our TTT; it
 * does not take a StatSN). */
static void iscsi_ping(struct iscsi_conn *c, int64_t now)
{
	struct iscsi_sn sn;
	uint8_t *p;

	if (iscsi_bufs_borrow(c, now) != 0) {
		iscsi_conn_close(c, "out of memory for its buffers");
		return;
	}
	if (!(p = iscsi_pdu_begin(c, 0))) {
		iscsi_bufs_return(c);
		return;
	}
	c->ping_ttt = 0x20000000U | (c->next_ttt++ & 0x1fffffffU);
	sn = iscsi_sn(c);
	iscsi_build_nop_in(p, ISCSI_BHS_SIZE, 0, ISCSI_RSVD_TAG, c->ping_ttt,
			   &sn, 0);
	iscsi_pdu_done(c, p, 0);
	c->ping_sent = now;
	if (iscsi_send(c) < 0) {
		iscsi_conn_close(c, "send");
		return;
	}
	iscsi_bufs_return(c);
	iscsi_rearm(c, 0);
}

/* Keepalive of one full-feature connection; when it next needs a look.
 * While a READ streams, the socket taking its Data-In (a wake-up) shows
 * the initiator alive as well as a PDU from it: those wait behind the
 * stream, an answer to our ping too. */
static int64_t iscsi_keepalive(struct iscsi_conn *c, int64_t now)
{
	int64_t alive = c->last_rx;

	if (iscsi_streaming(c))
		alive = MAX(alive, c->last_io);
	if (c->ping_sent && alive >= c->ping_sent)
		c->ping_sent = 0;	/* something came back */
	if (c->ping_sent) {
		if (now >= c->ping_sent + ISCSI_PING_MS) {
			iscsi_conn_close(c, "no answer to NOP-In");
			return -1;
		}
		return c->ping_sent + ISCSI_PING_MS;
	}
	if (now >= alive + ISCSI_PING_MS) {
		iscsi_ping(c, now);
		return now + ISCSI_PING_MS;
	}
	return alive + ISCSI_PING_MS;
}

/* Free closed connections; deadlines (login, drain); keepalives. */
static int64_t iscsi_tick(void *arg, int64_t now)
{
	struct iscsi_server *is = arg;
	struct iscsi_conn **pp = &is->conns, *c;
	int64_t next = -1, t;

	/* nobody borrowed for a while: the pooled pages go back too */
	next = loop_sooner(next, netbuf_pool_idle(&is->rpool, now,
						  ISCSI_TRIM_MS));
	next = loop_sooner(next, netbuf_pool_idle(&is->tpool, now,
						  ISCSI_TRIM_MS));
	while ((c = *pp)) {
		if (!c->dead && c->deadline && now >= c->deadline)
			iscsi_conn_close(c, c->phase == ISCSI_PH_CLOSING
					    ? "peer does not read its answers"
					    : "login timeout");
		if (!c->dead && c->phase == ISCSI_PH_FULL)
			next = loop_sooner(next, iscsi_keepalive(c, now));
		if (c->dead) {
			*pp = c->next;
			is->nconns--;
			iscsi_conn_free(c);
			continue;
		}
		if (c->deadline)
			next = loop_sooner(next, c->deadline);
		next = loop_sooner(next, db_session_flush(is->srv->db,
							  c->session, &c->io,
							  now));
		if (!c->trimmed) {
			t = c->last_io + ISCSI_TRIM_MS;
			if (now >= t)
				iscsi_bufs_trim(c);
			else
				next = loop_sooner(next, t);
		}
		pp = &c->next;
	}
	return next;
}

/* Our side of every negotiation (§13): what we offer and take. */
static void iscsi_nego_defaults(struct iscsi_nego_cfg *nc)
{
	memset(nc, 0, sizeof(*nc));
	iscsi_params_default(&nc->ours);
	nc->ours.max_recv_dsl = ISCSI_MRDSL;
	/* data goes to the disk as it comes: any burst size is fine */
	nc->ours.max_burst = ISCSI_MAX_DSL;
	nc->ours.first_burst = ISCSI_MAX_DSL;
	nc->ours.max_outstanding_r2t = ISCSI_MAX_R2T;
	/* we take whatever the initiator prefers (OR/AND neutral values) */
	nc->ours.initial_r2t = 0;
	nc->ours.immediate_data = 1;
	nc->ours.data_pdu_in_order = 0;
	nc->ours.data_sequence_in_order = 0;
	nc->ours.max_connections = 1;
	nc->ours.error_recovery_level = 0;
	nc->ours.default_time2wait = 0;
	nc->ours.default_time2retain = 0;
	nc->tpgt = 1;
}

int iscsi_start(struct lb_server *srv)
{
	struct iscsi_server *is;
	int fd, rc;

	if (srv->cfg->iscsi_port == 0)
		return 0;
	if (sodium_init() < 0)
		return -ENOSYS;
	if (!(is = calloc(1, sizeof(*is))))
		return -ENOMEM;
	is->srv = srv;
	is->rpool.size = ISCSI_RBUF_SIZE;
	is->tpool.size = ISCSI_TBUF_SIZE;
	iscsi_nego_defaults(&is->nego);
	if ((fd = listen_tcp(srv, srv->cfg->iscsi_port, "iscsi")) < 0) {
		rc = fd;
		goto err_socket;
	}
	is->listen = (struct loop_watch){ .fd = fd, .fn = iscsi_accept,
					  .arg = is };
	if ((rc = loop_add(srv->loop, &is->listen, EPOLLIN)) != 0 ||
	    (rc = loop_add_ticker(srv->loop, iscsi_tick, is)) != 0)
		goto err_bind;
	srv->iscsi = is;
	log_info("iscsi: listening on %s:%d", inet_ntoa(srv->listen_ip),
		 srv->cfg->iscsi_port);
	return 0;
err_bind:
	close(fd);
err_socket:
	free(is);
	return rc;
}

void iscsi_stop(struct lb_server *srv)
{
	struct iscsi_server *is = srv->iscsi;
	struct iscsi_conn *c;

	if (!is)
		return;
	while ((c = is->conns)) {
		is->conns = c->next;
		iscsi_conn_close(c, "server stopping");
		iscsi_conn_free(c);
	}
	loop_del(srv->loop, &is->listen);
	close(is->listen.fd);
	netbuf_pool_free(&is->rpool);
	netbuf_pool_free(&is->tpool);
	free(is);
	srv->iscsi = NULL;
}
