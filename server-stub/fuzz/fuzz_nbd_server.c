/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD server's own state machine
 * (server-stub/nbd.c), in-process: per input, the NBD service is started
 * on a fresh loop as `linkboot serve` starts it, one or two socketpair
 * connections are handed to it through nbd_conn_adopt() (the accept
 * path's own entry), the input is written to them in chunks while the
 * loop runs, and the service is stopped again. The link DB behind it is
 * real (fuzz_fixture.h): image "demo" and client tokens resolve, GO and
 * EXPORT_NAME open vdisks, WRITE/TRIM/FLUSH reach a client's server
 * overlay and the super client's next-version overlay. nbdkit's
 * server/fuzzer.c runs a whole server per input; this is the same idea
 * without the fork.
 *
 * Run: build/fuzz/fuzz_nbd_server -close_fd_mask=3 CORPUS
 * server-stub/fuzz_nbd_server.d (-close_fd_mask=3: the server's log
 * lines, all formatted at debug level, go nowhere; LB_FUZZ_LOG=6 keeps
 * only info and up, for reading a reproducer's log).
 */

#include <stddef.h>
#include <stdint.h>

#include "fuzz_fixture.h"
#include "nbd.h"

static void fuzz_nbd_adopt(struct lb_server *srv, int fd,
			   const struct sockaddr_in *sin, int64_t now)
{
	nbd_conn_adopt(srv->nbd, fd, sin, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_server srv;
	struct lb_config cfg;

	fuzz_server_init(&srv, &cfg);
	fuzz_server_start(&srv, nbd_start);
	fuzz_server_run(&srv, fuzz_nbd_adopt, data, size);
	nbd_stop(&srv);
	fuzz_server_fini(&srv);
	return 0;
}
