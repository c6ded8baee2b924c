/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_FUZZ_FIXTURE_H
#define LB_FUZZ_FIXTURE_H

/*
 * What the in-process server fuzzers (fuzz_nbd_server.c, fuzz_http_server.c,
 * fuzz_iscsi_server.c) share: a state directory made once per process the way an admin makes
 * one (`linkboot image add`, `linkboot client add`), a struct lb_server as
 * `linkboot serve` fills it, and a driver that feeds one fuzz input to
 * connections of the real protocol module through the loop (loop.c).
 *
 * The fixture, in a fresh directory under $TMPDIR (else /dev/shm, else
 * /tmp), removed at exit (after a crash, by the next run):
 *
 *   state/linkboot.db   image "demo" (v1, FUZZ_IMAGE_SIZE bytes, a kernel
 *                       and initrd given to `image add`)
 *                       and three clients of it, tokens fixed (below) so
 *                       seeds can name them
 *   state/boot/img      symlink to boot/<image id>: a fixed name for the
 *                       version's served files (hashes, hashes.idx)
 *   root/               --root: undionly.kpxe, empty, big.img (over a
 *                       socket buffer), ipxe/snponly.efi, out (a symlink
 *                       leaving the tree)
 *
 * Input layout (both fuzzers): byte 0 picks how the stream is cut, the
 * rest is what clients send.
 *
 *   byte 0 bits 0-2   chunk size: the bytes written per loop round
 *                     (whole, 1, 3, 8, 28, 100, 512, 4096), so messages
 *                     arrive split at every offset
 *          bit 3      two connections; byte 1 then says where the rest
 *                     splits (rest * byte1 / 256: first part to the first)
 *          bit 4      a one-connection limit (http_max_conns = 1)
 *          bit 5      hold: no EOF from the clients (below)
 *          bit 6      hang up: each client closes its socket after its
 *                     last byte, without reading the replies
 *
 * After its part is written, each client shuts down its sending side; the
 * run ends when the server has closed every connection. A server that
 * keeps a connection FUZZ_MAX_ROUNDS rounds after its peer's EOF aborts the
 * run: it would hold that connection until a timeout, or forever. With
 * hold, the clients stay connected: once FUZZ_QUIET_ROUNDS rounds pass
 * without a byte from the server, the run ends and the service's stop()
 * closes what is open (vdisks, sessions, files mid-send).
 */

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define FUZZ_IMAGE_NAME		"demo"
/* The clients' credentials (credential.h): fixed, so that seeds can name
 * them; 32 bytes like the client tokens the seeds were first made with
 * (a credential of another length is as good to the server). */
/* over 4 MiB: one READ outgrows the NBD server's first transmit buffer */
#define FUZZ_IMAGE_SIZE		((5 << 20) + 4096 + 1000)
/* write server: its own overlay on the server */
#define FUZZ_MAC_SERVER		"52:54:00:00:00:01"
#define FUZZ_TOKEN_SERVER	"c1-5e4e5e4e5e4e5e4e5e4e5e4e5e4e5"
/* the super client: writes make the next version */
#define FUZZ_MAC_SUPER		"52:54:00:00:00:02"
#define FUZZ_TOKEN_SUPER	"c1-5c5c5c5c5c5c5c5c5c5c5c5c5c5c5"
/* write ram: a read-only export */
#define FUZZ_MAC_RAM		"52:54:00:00:00:03"
#define FUZZ_TOKEN_RAM		"c1-7a7a7a7a7a7a7a7a7a7a7a7a7a7a7"

#define FUZZ_MAX_ROUNDS		100000
#define FUZZ_QUIET_ROUNDS	4

/* Build the fixture (once; aborts with a message if it cannot) and fill
 * *srv for one run: config (a copy in *cfg), link DB, served directories,
 * a new loop. */
void fuzz_server_init(struct lb_server *srv, struct lb_config *cfg);
/* Free what fuzz_server_init() made for the run (the loop). */
void fuzz_server_fini(struct lb_server *srv);

/* Start a service on 127.0.0.1 (a port picked once per process; picked
 * again if something took it). Aborts if it cannot. */
void fuzz_server_start(struct lb_server *srv,
		       int (*start)(struct lb_server *srv));

/* How a module takes a connection (nbd_conn_adopt, http_conn_adopt,
 * iscsi_conn_adopt). */
typedef void (*fuzz_adopt_fn)(struct lb_server *srv, int fd,
			      const struct sockaddr_in *sin, int64_t now);

/* Feed one input (layout above) to connections made with adopt and run
 * the loop until the server closed them all. */
void fuzz_server_run(struct lb_server *srv, fuzz_adopt_fn adopt,
		     const uint8_t *data, size_t size);

#endif
