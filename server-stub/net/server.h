/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_SERVER_H
#define LB_SERVER_H

/*
 * The running server (`linkboot serve`): configuration, the loop, the
 * directories it serves from, and one state pointer per protocol module.
 * One instance, built in daemon.c and passed to every module.
 */

#include <netinet/in.h>
#include <sys/stat.h>

#include "config.h"
#include "loop.h"

struct db;
struct dhcp_server;
struct tftp_server;
struct http_server;
struct nbd_server;
struct boot_auth;
struct iscsi_server;
struct privdrop;

struct lb_server {
	struct lb_config *cfg;
	struct loop *loop;
	struct in_addr listen_ip;	/* bound address (INADDR_ANY = all) */
	struct in_addr server_ip;	/* address clients reach us at */
	int ifindex;			/* --interface, or 0 */
	/* served directories, opened once as dirfds (-1 = none) */
	int root_dirfd;			/* --root */
	int ipxe_build_dirfd;		/* --ipxe-build */
	int ipxe_dirfd;			/* --ipxe-dir */
	int shim_dirfd;			/* --shim-dir (Secure Boot) */
	int grub_signed_dirfd;		/* --grub-signed-dir (Secure Boot) */
	int state_dirfd;		/* --state */
	int boot_dirfd;			/* <state>/boot: kernels, initrds, packs */
	struct db *db;			/* link DB (NULL until opened) */
	struct boot_auth *auth;		/* boot ticket key, trusted nets */
	struct dhcp_server *dhcp;
	struct tftp_server *tftp;
	struct http_server *http;
	struct nbd_server *nbd;
	struct iscsi_server *iscsi;
	struct privdrop *priv;		/* --user, Landlock (privdrop.c) */
	volatile int stop;		/* set by SIGTERM/SIGINT */
	volatile int reload;		/* set by SIGHUP, cleared when done */
};

/*
 * A protocol module. start() binds its sockets and registers them with the
 * loop (0 or -errno, after logging what failed and the fix); stop() closes
 * everything and frees its state. Registered in daemon.c's table (services.h).
 */
struct lb_service {
	const char *name;
	int (*start)(struct lb_server *srv);
	void (*stop)(struct lb_server *srv);
};

/*
 * The files TFTP and HTTP serve: a client path is sanitised (lib/path.c),
 * then looked up, in order, in --root, --ipxe-build, --ipxe-dir, and for
 * "boot/..." in <state>/boot (kernels/initrds of image versions);
 * shimx64.efi, mmx64.efi and grubx64.efi, unless --root has them, are
 * Debian's signed files in --shim-dir / --grub-signed-dir. Opened
 * with openat2(RESOLVE_BENEATH); the fd is fstat'ed, only regular files.
 * Returns an fd (O_RDONLY|O_CLOEXEC), fills *st; or -ENOENT, -EACCES,
 * -ENAMETOOLONG, -EMFILE/-ENFILE (out of fds).
 */
int files_open(const struct lb_server *srv, const char *path, size_t len,
	       struct stat *st);

#endif
