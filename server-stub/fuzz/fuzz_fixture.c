/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The server fuzzers' fixture and driver; see fuzz_fixture.h. Not part of
 * the server: the Makefile links it into build/fuzz/fuzz_*_server only.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "credential.h"
#include "db_internal.h"
#include "fuzz_fixture.h"
#include "initramfs.h"
#include "lb_log.h"
#include "lb_util.h"

static struct {
	int ready;
	char dir[PATH_MAX - 64];	/* everything below is in here */
	char state[PATH_MAX], root[PATH_MAX];
	struct lb_config cfg;		/* what each run copies */
	struct lb_server srv;		/* DB and dirfds; a loop per run */
} fx;

/* Say why, where libFuzzer's report goes (-close_fd_mask=3 sends stderr
 * to /dev/null), then crash so the input is kept. */
static void fuzz_fail(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	__sanitizer_report_error_summary(msg);
	abort();
}

static void fuzz_die(const char *what, int rc)
{
	char msg[PATH_MAX + 128];

	snprintf(msg, sizeof(msg), "fuzz fixture: %s: %s", what,
		 rc ? strerror(rc < 0 ? -rc : rc) : "failed");
	fuzz_fail(msg);
}

/* ---- fixture ---------------------------------------------------------- */

/* A file of size bytes that no two offsets of read alike (a misplaced
 * read shows), under dir. */
static void fuzz_write_file(const char *dir, const char *name, size_t size)
{
	char path[PATH_MAX + 64];
	uint8_t buf[4096];
	size_t off, i, n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		       0644)) < 0)
		fuzz_die(path, errno);
	for (off = 0; off < size; off += n) {
		n = MIN(sizeof(buf), size - off);
		for (i = 0; i < n; i++)
			buf[i] = (uint8_t)((off + i) * 7 + ((off + i) >> 12));
		if (write(fd, buf, n) != (ssize_t)n)
			fuzz_die(path, errno);
	}
	close(fd);
}

/* Run a `linkboot` command in-process, as main.c would. */
static void fuzz_cli(int (*cmd)(struct lb_config *, int, char **), ...)
{
	char *argv[16];
	va_list ap;
	int argc = 0;

	va_start(ap, cmd);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (cmd(&fx.cfg, argc, argv) != 0)
		fuzz_die(argv[0], 0);
}

static void fuzz_sql(const char *sql)
{
	if (sqlite3_exec(db_sqlite(fx.srv.db), sql, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fuzz_die(sql, 0);
	}
}

/* A credential row for cred (the hash only, as credential.c writes it):
 * kind admin, or a boot of mode with the version the link has now. */
static void fuzz_credential(const char *cred, const char *mac,
			    const char *kind, const char *mode)
{
	char hash[CRED_HASH_STR_LEN + 1], sql[1024];

	cred_hash(cred, strlen(cred), hash);
	snprintf(sql, sizeof(sql), "INSERT INTO credentials(hash, mac, kind, "
		 "write_mode, boot_seq, image_id, version, created) SELECT "
		 "'%s', '%s', '%s', %s%s%s, 1, id, 1, 'now' FROM images;",
		 hash, mac, kind, mode ? "'" : "", mode ? mode : "NULL",
		 mode ? "'" : "");
	fuzz_sql(sql);
	if (mode && !strcmp(mode, "super")) {
		snprintf(sql, sizeof(sql), "UPDATE clients SET super = 1, "
			 "super_token = 'bound:%s', boot_seq = 1 WHERE mac = "
			 "'%s';", hash, mac);
		fuzz_sql(sql);
	}
}

/* The version's split initramfs (store/initramfs.h), small stand-ins:
 * the boot scripts load its parts, GET .../nic.img?busid= picks one. */
static void fuzz_make_split_initrd(void)
{
	static const char map[] =
		"alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n"
		"alias pci:v000010ECd*sv*sd*bc02sc00i* r8169\n"
		"alias pci:v00001AF4d*sv*sd*bc*sc*i* core\n";
	char dir[PATH_MAX], nic[PATH_MAX + 8];
	int fd;

	snprintf(dir, sizeof(dir), "%s/boot/img/v1", fx.state);
	snprintf(nic, sizeof(nic), "%s/nic", dir);
	if (mkdir(nic, 0755) != 0)
		fuzz_die(nic, errno);
	fuzz_write_file(dir, INITRAMFS_CORE, 3000);
	fuzz_write_file(dir, INITRAMFS_STORAGE, 2000);
	fuzz_write_file(dir, INITRAMFS_ALL_NICS, 2500);
	fuzz_write_file(nic, "e1000.img", 900);
	fuzz_write_file(nic, "core.img", 100);
	snprintf(nic, sizeof(nic), "%s/" INITRAMFS_NIC_MAP, dir);
	if ((fd = open(nic, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		       0644)) < 0 ||
	    write(fd, map, sizeof(map) - 1) != (ssize_t)(sizeof(map) - 1))
		fuzz_die(nic, errno);
	close(fd);
}

/* Image "demo" and its clients, made by the CLI's own code; then their
 * credentials, fixed so that seeds can use them, and boot/img names the
 * image's boot directory. */
static void fuzz_make_db(void)
{
	char img[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX];
	char link[PATH_MAX + 16];
	sqlite3_stmt *st;

	fuzz_write_file(fx.dir, "demo.raw", FUZZ_IMAGE_SIZE);
	fuzz_write_file(fx.dir, "vmlinuz", 5000);
	fuzz_write_file(fx.dir, "initrd.img", 7000);
	snprintf(img, sizeof(img), "%s/demo.raw", fx.dir);
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", fx.dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", fx.dir);
	/* a kernel and initrd: boot scripts are the full ones */
	fuzz_cli(cmd_image, "image", "add", FUZZ_IMAGE_NAME, img, "--kernel",
		 kernel, "--initrd", initrd, NULL);
	fuzz_cli(cmd_client, "client", "add", FUZZ_MAC_SERVER, "--image",
		 FUZZ_IMAGE_NAME, "--write", "server", NULL);
	fuzz_cli(cmd_client, "client", "add", FUZZ_MAC_SUPER, "--image",
		 FUZZ_IMAGE_NAME, "--write", "super", NULL);
	fuzz_cli(cmd_client, "client", "add", FUZZ_MAC_RAM, "--image",
		 FUZZ_IMAGE_NAME, NULL);
	/* what `linkboot serve` does first (services.h "db" slot) */
	if (db_service_start(&fx.srv) != 0)
		fuzz_die("link DB", 0);
	fuzz_credential(FUZZ_TOKEN_SERVER, FUZZ_MAC_SERVER, "admin", NULL);
	fuzz_credential(FUZZ_TOKEN_RAM, FUZZ_MAC_RAM, "admin", NULL);
	/* the super client's boot took its grant */
	fuzz_credential(FUZZ_TOKEN_SUPER, FUZZ_MAC_SUPER, "boot", "super");
	/* and it was woken for a pre-staging: POST /prestage is taken, its
	 * boot script carries linkboot.prestage (prestage.h) */
	if (sqlite3_exec(db_sqlite(fx.srv.db),
			 "INSERT INTO prestages(image_id, version, at_unix, "
			 "stagger, created, state) SELECT id, 1, 0, 0, 'fuzz', "
			 "'running' FROM images; INSERT INTO prestage_pcs("
			 "prestage_id, mac, state, woken_unix) VALUES("
			 "last_insert_rowid(), '" FUZZ_MAC_SUPER "', 'woken', "
			 "strftime('%s', 'now'))", NULL, NULL, NULL) != SQLITE_OK)
		fuzz_die("prestage rows", 0);
	if (sqlite3_prepare_v2(db_sqlite(fx.srv.db), "SELECT id FROM images",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		fuzz_die("image id", 0);
	snprintf(link, sizeof(link), "%s/boot/img", fx.state);
	if (symlink((const char *)sqlite3_column_text(st, 0), link) != 0)
		fuzz_die(link, errno);
	sqlite3_finalize(st);
	fuzz_make_split_initrd();
}

/* --root: files of a few sizes, a subdirectory, a directory where a
 * file is asked for, and a symlink out of the tree (403). */
static void fuzz_make_root(void)
{
	char path[PATH_MAX + 16];

	fuzz_write_file(fx.root, "undionly.kpxe", 3000);
	fuzz_write_file(fx.root, "empty", 0);
	/* larger than a socket buffer: a response that waits for EPOLLOUT */
	fuzz_write_file(fx.root, "big.img", (1 << 20) + 17);
	snprintf(path, sizeof(path), "%s/ipxe", fx.root);
	if (mkdir(path, 0755) != 0)
		fuzz_die(path, errno);
	fuzz_write_file(path, "snponly.efi", 20000);
	snprintf(path, sizeof(path), "%s/out", fx.root);
	if (symlink("/etc/hostname", path) != 0)
		fuzz_die(path, errno);
}

static int fuzz_open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		fuzz_die(path, errno);
	return fd;
}

static int fuzz_rm_one(const char *path, const struct stat *st UNUSED,
		       int flag UNUSED, struct FTW *ftw UNUSED)
{
	remove(path);
	return 0;
}

/*
 * A crashed fuzzer (the point of fuzzing) leaves its directory: an image,
 * overlays, a DB. Directories are named by their process ID, so the next
 * run removes those whose process is gone, not a parallel job's.
 */
static void fuzz_rm_stale(const char *tmp)
{
	char path[PATH_MAX];
	struct dirent *e;
	long pid;
	DIR *d;

	if (!(d = opendir(tmp)))
		return;
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "linkboot-fuzz.%ld.", &pid) != 1 ||
		    pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name);
		nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

static void fuzz_fixture_free(void)
{
	int *fds[] = { &fx.srv.state_dirfd, &fx.srv.boot_dirfd,
		       &fx.srv.root_dirfd };
	size_t i;

	db_service_stop(&fx.srv);
	for (i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	nftw(fx.dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A TCP port free on 127.0.0.1 now. The listener the service opens is
 * never connected to (connections come from socketpair()), it only has to
 * bind. */
static int fuzz_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		fuzz_die("a free port on 127.0.0.1", errno);
	close(fd);
	return ntohs(sin.sin_port);
}

static void fuzz_fixture_make(void)
{
	const char *tmp = getenv("TMPDIR");
	char boot[PATH_MAX + 8];
	const char *lvl;

	/* tmpfs when there is one: SQLite and overlay writes sync */
	if (!tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	fuzz_rm_stale(tmp);
	snprintf(fx.dir, sizeof(fx.dir), "%s/linkboot-fuzz.%ld.XXXXXX", tmp,
		 (long)getpid());
	if (!mkdtemp(fx.dir))
		fuzz_die(fx.dir, errno);
	snprintf(fx.state, sizeof(fx.state), "%s/state", fx.dir);
	snprintf(fx.root, sizeof(fx.root), "%s/root", fx.dir);
	snprintf(boot, sizeof(boot), "%s/boot", fx.state);
	if (mkdir(fx.state, 0755) != 0 || mkdir(boot, 0755) != 0 ||
	    mkdir(fx.root, 0755) != 0)
		fuzz_die(fx.dir, errno);
	log_init("linkboot", LOG_LEVEL_INFO);
	/* a peer may not stop the server with SIGPIPE (serve.c does this) */
	signal(SIGPIPE, SIG_IGN);

	config_defaults(&fx.cfg);
	fx.cfg.state_dir = fx.state;
	fx.cfg.root_dir = fx.root;
	fx.cfg.ipxe_dir = NULL;		/* nothing from this machine */
	fx.cfg.listen = "127.0.0.1";
	fx.cfg.server_addr = "198.18.0.1";
	fx.cfg.dhcp_mode = DHCP_MODE_OFF;
	/* a trace written at session end forks `linkboot image pack` from
	 * /proc/self/exe, here the fuzzer: no traces */
	fx.cfg.boot_trace_seconds = 0;
	fx.cfg.verbose = 1;		/* every log line is formatted */
	fx.cfg.nbd_port = fx.cfg.http_port = fx.cfg.iscsi_port =
		fuzz_free_port();
	fx.srv = (struct lb_server){
		.cfg = &fx.cfg, .root_dirfd = -1, .ipxe_build_dirfd = -1,
		.ipxe_dirfd = -1, .state_dirfd = -1, .boot_dirfd = -1,
		.shim_dirfd = -1, .grub_signed_dirfd = -1,
	};
	inet_pton(AF_INET, fx.cfg.listen, &fx.srv.listen_ip);
	inet_pton(AF_INET, fx.cfg.server_addr, &fx.srv.server_ip);

	fuzz_make_db();
	fuzz_make_root();
	fx.srv.state_dirfd = fuzz_open_dir(fx.state);
	fx.srv.boot_dirfd = fuzz_open_dir(boot);
	fx.srv.root_dirfd = fuzz_open_dir(fx.root);
	atexit(fuzz_fixture_free);

	/* LB_FUZZ_LOG=6 for info only; by default every debug line is
	 * formatted too (run with -close_fd_mask=3 to keep it quiet) */
	lvl = getenv("LB_FUZZ_LOG");
	log_set_level(lvl ? atoi(lvl) : LOG_LEVEL_DEBUG);
	fx.ready = 1;
}

void fuzz_server_init(struct lb_server *srv, struct lb_config *cfg)
{
	if (!fx.ready)
		fuzz_fixture_make();
	*cfg = fx.cfg;
	*srv = fx.srv;
	srv->cfg = cfg;
	if (!(srv->loop = loop_new()))
		fuzz_die("loop_new", errno);
}

void fuzz_server_fini(struct lb_server *srv)
{
	loop_free(srv->loop);
	srv->loop = NULL;
}

void fuzz_server_start(struct lb_server *srv,
		       int (*start)(struct lb_server *srv))
{
	int tries, rc = 0;

	for (tries = 0; tries < 8; tries++) {
		if ((rc = start(srv)) != -EADDRINUSE)
			break;
		fx.cfg.nbd_port = fx.cfg.http_port = fx.cfg.iscsi_port =
			fuzz_free_port();
		srv->cfg->nbd_port = srv->cfg->http_port =
			srv->cfg->iscsi_port = fx.cfg.nbd_port;
	}
	if (rc != 0)
		fuzz_die("service start", rc);
}

/* ---- driver ----------------------------------------------------------- */

struct fuzz_client {
	int fd;			/* our end of the socketpair */
	const uint8_t *data;	/* what this client sends */
	size_t len, off;
	int done;		/* all sent (or the server closed) */
	int hung_up;		/* we closed our end (fd -1) */
	int closed;		/* the server closed its end */
};

struct fuzz_run {
	struct loop *loop;
	struct fuzz_client cl[2];
	unsigned ncl;
	size_t chunk;		/* bytes written per round */
	int hold;		/* no EOF: stop the service with them open */
	int hang_up;		/* close after the last byte, read nothing */
	unsigned rounds;	/* since every client was done sending */
	unsigned quiet;		/* rounds in a row without a reply byte */
	unsigned after;		/* rounds since every connection closed */
};

/* Read (and drop) what the server sent; note its close. 1 if anything
 * came. */
static int fuzz_client_drain(struct fuzz_client *c)
{
	static uint8_t sink[1 << 16];
	ssize_t n;
	int got = 0;

	if (c->closed || c->hung_up)
		return 0;
	while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0)
		got = 1;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		c->closed = 1;
	return got;
}

/* The next chunk. After the last one, shut our side (the server sees EOF
 * once it has read everything); or not (hold); or close it (hang_up: an
 * unread reply turns into ECONNRESET on the server's side, a reply being
 * sent into EPIPE). */
static void fuzz_client_send(struct fuzz_client *c, size_t chunk,
			     const struct fuzz_run *r)
{
	ssize_t n;

	if (c->done)
		return;
	if (c->off < c->len && !c->closed) {
		n = send(c->fd, c->data + c->off, MIN(chunk, c->len - c->off),
			 MSG_NOSIGNAL);
		if (n > 0)
			c->off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			c->closed = 1;	/* EPIPE: the server closed first */
	}
	if (c->off == c->len || c->closed) {
		if (r->hang_up) {
			close(c->fd);
			c->fd = -1;
			c->hung_up = 1;
		} else if (!r->hold) {
			shutdown(c->fd, SHUT_WR);
		}
		c->done = 1;
	}
}

static void fuzz_stuck(const char *what)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "fuzz: %u loop rounds after the last "
		 "input byte, the server %s", FUZZ_MAX_ROUNDS, what);
	fuzz_fail(msg);
}

/* A loop ticker, so each round is: send a chunk, the server's turn
 * (epoll), and the replies read at the next round. */
static int64_t fuzz_tick(void *arg, int64_t now)
{
	struct fuzz_run *r = arg;
	unsigned i, open = 0, sending = 0;
	int got = 0;

	for (i = 0; i < r->ncl; i++) {
		got |= fuzz_client_drain(&r->cl[i]);
		fuzz_client_send(&r->cl[i], r->chunk, r);
		open += !r->cl[i].closed && !r->cl[i].hung_up;
		sending += !r->cl[i].done;
	}
	r->quiet = got ? 0 : r->quiet + 1;
	/* a few rounds after the last close: closed connections are freed
	 * by the module's tick, a hung-up one gets its error */
	if ((!open && ++r->after > FUZZ_QUIET_ROUNDS) ||
	    (r->hold && !sending && r->quiet >= FUZZ_QUIET_ROUNDS))
		loop_stop(r->loop);
	else if (open && !sending && ++r->rounds > FUZZ_MAX_ROUNDS)
		fuzz_stuck(r->hold ? "still sends" :
			   "keeps a connection whose peer sent EOF (it would "
			   "hold it until a timeout, or forever)");
	return now;	/* never sleep in epoll_wait */
}

/* Byte 0 (and 1): see fuzz_fixture.h. */
static void fuzz_split(struct fuzz_run *r, const uint8_t *data, size_t size)
{
	static const size_t chunks[8] = { SIZE_MAX, 1, 3, 8, 28, 100, 512,
					  4096 };
	uint8_t hdr = size ? data[0] : 0;
	size_t split;

	data += size ? 1 : 0;
	size -= size ? 1 : 0;
	r->chunk = chunks[hdr & 7];
	r->hold = (hdr & 0x20) != 0;
	r->hang_up = (hdr & 0x40) != 0;
	r->ncl = 1;
	r->cl[0].data = data;
	r->cl[0].len = size;
	if (!(hdr & 8))
		return;
	split = size ? size * data[0] / 256 : 0;
	data += size ? 1 : 0;
	size -= size ? 1 : 0;
	r->ncl = 2;
	r->cl[0].data = data;
	r->cl[0].len = MIN(split, size);
	r->cl[1].data = data + r->cl[0].len;
	r->cl[1].len = size - r->cl[0].len;
}

void fuzz_server_run(struct lb_server *srv, fuzz_adopt_fn adopt,
		     const uint8_t *data, size_t size)
{
	struct fuzz_run r = { .loop = srv->loop };
	int limit = size && (data[0] & 0x10);
	unsigned i;
	int sv[2];

	srv->cfg->http_max_conns = limit ? 1 : fx.cfg.http_max_conns;
	srv->cfg->nbd_max_conns = limit ? 1 : fx.cfg.nbd_max_conns;
	fuzz_split(&r, data, size);
	for (i = 0; i < r.ncl; i++) {
		/* as accept4() gives it: non-blocking, close-on-exec */
		struct sockaddr_in sin = {
			.sin_family = AF_INET,
			.sin_port = htons((uint16_t)(40001 + i)),
			.sin_addr.s_addr = htonl(0xc6120064),	/* 198.18.0.100 */
		};

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			       SOCK_CLOEXEC, 0, sv) != 0)
			fuzz_die("socketpair", errno);
		r.cl[i].fd = sv[0];
		adopt(srv, sv[1], &sin, now_ms());
	}
	if (loop_add_ticker(srv->loop, fuzz_tick, &r) != 0)
		fuzz_die("loop_add_ticker", 0);
	loop_run(srv->loop, &srv->stop);
	for (i = 0; i < r.ncl; i++)
		if (r.cl[i].fd >= 0)
			close(r.cl[i].fd);
}
