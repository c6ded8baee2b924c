/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the HTTP server's connections (server-stub/http.c),
 * in-process: per input, the HTTP service is started on a fresh loop as
 * `linkboot serve` starts it, one or two socketpair connections are handed
 * to it through http_conn_adopt() (the accept path's own entry), the input
 * is written to them in chunks while the loop runs, and the service is
 * stopped again. Behind it (fuzz_fixture.h): a real link DB, so
 * /boot.ipxe?mac= builds real scripts for linked MACs and POST /report
 * stores counters; /boottrace; files from --root and boot/img/v1/ (GET,
 * HEAD, Range, sendfile); pipelined and 100-continue requests.
 *
 * Run: build/fuzz/fuzz_http_server -close_fd_mask=3 CORPUS
 * server-stub/fuzz_http_server.d (see fuzz_nbd_server.c for the flags).
 */

#include <stddef.h>
#include <stdint.h>

#include "fuzz_fixture.h"
#include "http.h"

static void fuzz_http_adopt(struct lb_server *srv, int fd,
			    const struct sockaddr_in *sin, int64_t now)
{
	http_conn_adopt(srv->http, fd, sin, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_server srv;
	struct lb_config cfg;

	fuzz_server_init(&srv, &cfg);
	fuzz_server_start(&srv, http_start);
	fuzz_server_run(&srv, fuzz_http_adopt, data, size);
	http_stop(&srv);
	fuzz_server_fini(&srv);
	return 0;
}
