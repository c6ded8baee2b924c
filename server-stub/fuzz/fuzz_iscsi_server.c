/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the iSCSI target's own state machine
 * (server-stub/net/iscsi.c), in-process, as fuzz_nbd_server.c does for
 * NBD: per input, the iSCSI service is started on a fresh loop as
 * `linkboot serve` starts it, one or two socketpair connections are handed
 * to it through iscsi_conn_adopt() (the accept path's own entry), the
 * input is written to them in chunks while the loop runs (layout in
 * fuzz_fixture.h), and the service is stopped again. The link DB is real:
 * the target iqn.2026-12.org.linkboot:image.demo logs in without CHAP and
 * opens the image's vdisk, so SCSI commands, R2T/Data-Out and the lent
 * buffers (netbuf.h) are reached; lib/fuzz_iscsi.c covers the parsers.
 *
 * Run: build/fuzz/fuzz_iscsi_server -close_fd_mask=3 CORPUS
 * server-stub/fuzz/fuzz_iscsi_server.d
 */

#include <stddef.h>
#include <stdint.h>

#include "fuzz_fixture.h"
#include "iscsi.h"

static void fuzz_iscsi_adopt(struct lb_server *srv, int fd,
			     const struct sockaddr_in *sin, int64_t now)
{
	iscsi_conn_adopt(srv->iscsi, fd, sin, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_server srv;
	struct lb_config cfg;

	fuzz_server_init(&srv, &cfg);
	fuzz_server_start(&srv, iscsi_start);
	fuzz_server_run(&srv, fuzz_iscsi_adopt, data, size);
	iscsi_stop(&srv);
	fuzz_server_fini(&srv);
	return 0;
}
