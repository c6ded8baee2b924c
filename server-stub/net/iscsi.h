/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_ISCSI_H
#define LB_ISCSI_H

/*
 * The iSCSI target of `linkboot serve` (server-stub/iscsi.c): RFC 7143
 * login (discovery and normal sessions, AuthMethod None or CHAP), full
 * feature phase with one LUN per target (SBC-3 block commands) on
 * --iscsi-port, in the epoll loop, no threads. Windows PCs boot from it
 * (iPXE sanboot, then the Windows initiator through the iBFT). Target
 * names are mapped to disks by iscsi_target_resolve() (the policy hook);
 * data goes through the vdisk API. Wire formats: lib/iscsi_wire.h,
 * lib/iscsi_login.h, lib/scsi_cdb.h.
 */

#include "server.h"

/* The target name prefix: "<prefix>image.NAME" serves image NAME read-
 * only, "<prefix>OTHER" the NBD export OTHER (e.g. a client token). */
#define ISCSI_IQN_PREFIX	"iqn.2026-12.org.linkboot:"
#define ISCSI_IQN_IMAGE		ISCSI_IQN_PREFIX "image."
#define ISCSI_IQN_PC		ISCSI_IQN_PREFIX "pc."
/* the initiator name a PC's boot script gives it */
#define ISCSI_IQN_INITIATOR	"iqn.2026-12.org.linkboot.pc:"

/* Bind --listen:--iscsi-port and register with the loop; 0 or -errno.
 * --iscsi-port 0 turns the service off. */
int iscsi_start(struct lb_server *srv);
/* Close every connection (vdisks released) and the listener. */
void iscsi_stop(struct lb_server *srv);

/* Take a connected non-blocking socket from sin (for logs) as a new
 * initiator: login from here on. The accept path uses it, and the fuzzer
 * (fuzz_iscsi_server.c) hands it one end of a socketpair. fd is the
 * connection's from now on (closed on failure). */
void iscsi_conn_adopt(struct iscsi_server *is, int fd,
		      const struct sockaddr_in *sin, int64_t now);

#endif
