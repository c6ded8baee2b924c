/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Privilege separation of `linkboot serve`: user, groups, no_new_privs,
 * Landlock (privdrop.h says the steps and why in this order). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <link.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lb_log.h"
#include "lb_util.h"
#include "privdrop.h"

/* Rights newer than the uapi header this may be built with (Debian 12
 * ships Landlock ABI 2's); the kernel's ABI version says which apply. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION	(1U << 0)
#endif

#define CHOWN_MAX_DEPTH	16	/* the state tree is a few levels deep */

struct privdrop {
	char *user;		/* the user to drop to, NULL = keep root */
	uid_t uid;
	gid_t gid;
	int landlock_abi;	/* 0 = the kernel has no Landlock */
};

/* --- step 0: which user ------------------------------------------------ */

int privdrop_init(struct lb_server *srv)
{
	const char *want = srv->cfg->user;
	struct privdrop *pd;
	struct passwd *pw;

	if (!(pd = calloc(1, sizeof(*pd))))
		return -ENOMEM;
	srv->priv = pd;
	if (geteuid() != 0) {
		/* already unprivileged (systemd User=): nothing to switch */
		if (want && (!(pw = getpwnam(want)) || pw->pw_uid != geteuid())) {
			log_err("--user %s: only root can switch users (running "
				"as uid %u): drop --user, or start as root",
				want, (unsigned)geteuid());
			return -EPERM;
		}
		return 0;
	}
	if (want && !strcmp(want, "root"))
		return 0;	/* asked for: keep root */
	errno = 0;
	pw = getpwnam(want ? want : "linkboot");
	if (!pw) {
		if (want) {
			log_err("--user %s: no such user (create one: useradd "
				"--system --no-create-home --shell "
				"/usr/sbin/nologin %s)", want, want);
			return -ENOENT;
		}
		log_warnx("running as root: no --user given and no user "
			  "'linkboot' exists; the server keeps root after "
			  "binding (give --user USER, or `--user root` to "
			  "keep root knowingly)");
		return 0;
	}
	if (pw->pw_uid == 0) {
		log_err("--user %s: has uid 0, that is root", pw->pw_name);
		return -EINVAL;
	}
	if (!(pd->user = strdup(pw->pw_name)))
		return -ENOMEM;
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	return 0;
}

void privdrop_free(struct lb_server *srv)
{
	if (!srv->priv)
		return;
	free(srv->priv->user);
	free(srv->priv);
	srv->priv = NULL;
}

/* --- step 1: hand the state tree to the user -------------------------- */

/*
 * Give dirfd's entries (and, below, their entries) to uid:gid. Root walks
 * a tree its future user could have written to, so: openat(O_NOFOLLOW) of
 * each directory relative to its parent's fd, fchownat(AT_SYMLINK_NOFOLLOW)
 * and no symlink followed (a swapped path component cannot redirect it);
 * a regular file with more than one link is skipped, since it could be a
 * hard link to a file outside the tree.
 */
static int chown_tree(int dirfd, const char *path, uid_t uid, gid_t gid,
		      int root_only, int depth)
{
	struct dirent *de;
	int fd, rc = 0;
	DIR *d;

	if (depth > CHOWN_MAX_DEPTH)
		return 0;
	if ((fd = dup(dirfd)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		log_warn("privdrop: %s", path);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;	/* gone meanwhile */
		if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			log_warnx("privdrop: %s/%s: not chowned (%lu hard "
				  "links)", path, de->d_name,
				  (unsigned long)st.st_nlink);
			continue;
		}
		if ((st.st_uid != uid || st.st_gid != gid) &&
		    (!root_only || st.st_uid == 0) &&
		    fchownat(dirfd, de->d_name, uid, gid,
			     AT_SYMLINK_NOFOLLOW) != 0) {
			log_warn("privdrop: chown %s/%s", path, de->d_name);
			rc = rc ? rc : -errno;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		sub = openat(dirfd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		{
			char child[4096];

			snprintf(child, sizeof(child), "%s/%s", path,
				 de->d_name);
			if (chown_tree(sub, child, uid, gid, root_only,
				       depth + 1) && !rc)
				rc = -EPERM;
		}
		close(sub);
	}
	closedir(d);
	return rc;
}

/* path and everything below it (root_only: what root owns) */
static int chown_dir(const char *path, uid_t uid, gid_t gid, int root_only)
{
	int fd, rc;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fchown(fd, uid, gid) != 0) {
		rc = -errno;
		log_warn("privdrop: chown %s", path);
	} else {
		rc = chown_tree(fd, path, uid, gid, root_only, 0);
	}
	close(fd);
	return rc;
}

void privdrop_give_state(const struct lb_config *cfg)
{
	struct stat st;

	if (geteuid() != 0 || stat(cfg->state_dir, &st) != 0 || st.st_uid == 0)
		return;
	if (chown_dir(cfg->state_dir, st.st_uid, st.st_gid, 1) != 0 ||
	    chown_dir(cfg->store_dir, st.st_uid, st.st_gid, 1) != 0)
		log_warnx("%s: some files stay root's: the server (uid %u) "
			  "cannot open them until its next start",
			  cfg->state_dir, (unsigned)st.st_uid);
}

/* --- step 2: the user -------------------------------------------------- */

static int drop_user(const struct privdrop *pd)
{
	uid_t r, e, s;

	/* the user's own groups (a served dir may be readable through one),
	 * never root's */
	if (initgroups(pd->user, pd->gid) != 0 &&
	    setgroups(0, NULL) != 0) {
		log_warn("privdrop: setgroups");
		return -errno;
	}
	if (setresgid(pd->gid, pd->gid, pd->gid) != 0) {
		log_warn("privdrop: setresgid %u", (unsigned)pd->gid);
		return -errno;
	}
	if (setresuid(pd->uid, pd->uid, pd->uid) != 0) {
		log_warn("privdrop: setresuid %u", (unsigned)pd->uid);
		return -errno;
	}
	/* saved ids too, and no capability left to get root back with */
	if (getresuid(&r, &e, &s) != 0 || r != pd->uid || e != pd->uid ||
	    s != pd->uid || setuid(0) == 0 || setgid(0) == 0) {
		log_err("privdrop: root can still be regained after dropping "
			"to %s: refusing to run", pd->user);
		return -EPERM;
	}
	return 0;
}

/* The user must reach its directories by path (vdisk opens overlays by
 * name): a parent closed to it (a 0700 /tmp/x) shows here, not later. */
static int check_reachable(const char *dir, const char *what,
			   const struct privdrop *pd)
{
	if (!dir || access(dir, R_OK | W_OK | X_OK) == 0)
		return 0;
	log_err("privdrop: %s %s is not writable by user %s: %s (chown it "
		"to %s, and make its parent directories searchable)", what,
		dir, pd->user, strerror(errno), pd->user);
	return -EACCES;
}

/* --- step 4: Landlock --------------------------------------------------- */

#define FS_FILE	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
		 LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_TRUNCATE | \
		 LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define FS_READ	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* the state tree: DB, leases, overlays, boot packs (link() + rename()) */
#define FS_RW	(FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | \
		 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
		 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
		 LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER | \
		 LANDLOCK_ACCESS_FS_TRUNCATE)

/* What each ABI version knows (Documentation/userspace-api/landlock.rst:
 * best effort, drop the rights the running kernel lacks). */
static __u64 landlock_handled(int abi)
{
	__u64 all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return all;
}

static int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
			 LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

/* Allow access under path (a directory, or one file: file rights only).
 * A path that does not exist is skipped. */
static int landlock_allow(int ruleset, const char *path, __u64 access,
			  __u64 handled)
{
	struct landlock_path_beneath_attr pb = { 0 };
	struct stat st;
	int rc = 0;

	if (!path || !*path)
		return 0;
	if ((pb.parent_fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : (log_warn("landlock: %s", path), -errno);
	if (fstat(pb.parent_fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= FS_FILE;
	pb.allowed_access = access & handled;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
		    &pb, 0) != 0) {
		rc = -errno;
		log_warn("landlock: rule for %s", path);
	}
	close(pb.parent_fd);
	return rc;
}

/* The loaded binary and its libraries, to exec itself again (the boot
 * pack builder, bootpack_build.c): execute for the binary and the ELF
 * interpreter, read for every shared object. */
struct landlock_ctx {
	int ruleset;
	__u64 handled;
};

static int landlock_add_object(struct dl_phdr_info *info, size_t size UNUSED,
			       void *arg)
{
	const struct landlock_ctx *ll = arg;

	/* "" is the main program, linux-vdso.so.1 has no file */
	if (info->dlpi_name && info->dlpi_name[0] == '/')
		landlock_allow(ll->ruleset, info->dlpi_name,
			       LANDLOCK_ACCESS_FS_READ_FILE |
				       LANDLOCK_ACCESS_FS_EXECUTE,
			       ll->handled);
	return 0;
}

/* src itself if a directory, else the directory holding it */
static const char *config_dir(const char *src, char *buf, size_t size)
{
	struct stat st;
	char *slash;

	if (stat(src, &st) == 0 && S_ISDIR(st.st_mode))
		return src;
	snprintf(buf, size, "%s", src);
	if (!(slash = strrchr(buf, '/')))
		return ".";
	if (slash == buf)
		slash[1] = '\0';	/* "/x.conf": "/" */
	else
		*slash = '\0';
	return buf;
}

/* A sanitizer build's reports (ASAN_OPTIONS=log_path=DIR/x: at exit,
 * after the drop) must reach their directory, or the report is lost. */
static int landlock_allow_sanitizer_logs(int ruleset, __u64 handled)
{
	static const char *const vars[] = {
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
	};
	char dir[4096], *slash;
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		const char *o = getenv(vars[i]), *p;
		size_t n;

		if (!o || !(p = strstr(o, "log_path=")))
			continue;
		p += strlen("log_path=");
		n = strcspn(p, ": ,");
		if (n == 0 || n >= sizeof(dir) || p[0] != '/')
			continue;
		memcpy(dir, p, n);
		dir[n] = '\0';
		if ((slash = strrchr(dir, '/')) && slash != dir)
			*slash = '\0';
		rc |= landlock_allow(ruleset, dir, FS_RW, handled);
	}
#ifdef __SANITIZE_ADDRESS__
	/* LeakSanitizer stops the world at exit through /proc/PID/task */
	rc |= landlock_allow(ruleset, "/proc", FS_READ, handled);
#endif
	return rc;
}

static int landlock_rules(int ruleset, const struct lb_server *srv,
			  __u64 handled)
{
	const struct lb_config *cfg = srv->cfg;
	const __u64 exe = LANDLOCK_ACCESS_FS_READ_FILE |
			  LANDLOCK_ACCESS_FS_EXECUTE;
	char self[4096], conf[4096];
	ssize_t n;
	struct landlock_ctx ll = { ruleset, handled };
	int rc = 0;

	rc |= landlock_allow(ruleset, cfg->state_dir, FS_RW, handled);
	rc |= landlock_allow(ruleset, cfg->store_dir, FS_RW, handled);
	rc |= landlock_allow(ruleset, cfg->root_dir, FS_READ, handled);
	rc |= landlock_allow(ruleset, cfg->ipxe_dir, FS_READ, handled);
	rc |= landlock_allow(ruleset, cfg->ipxe_build_dir, FS_READ, handled);
	rc |= landlock_allow(ruleset, cfg->shim_dir, FS_READ, handled);
	rc |= landlock_allow(ruleset, cfg->grub_signed_dir, FS_READ, handled);
	/* SIGHUP reads the config again (DIR + conf.d, or a file): a file's
	 * directory, since an editor replaces the file (a new inode) */
	rc |= landlock_allow(ruleset, config_dir(config_source(cfg), conf,
						 sizeof(conf)),
			     FS_READ, handled);
	/* boot_auth.c: is the asking address on-link, with which MAC? */
	rc |= landlock_allow(ruleset, "/proc/net/arp",
			     LANDLOCK_ACCESS_FS_READ_FILE, handled);
	/* SQLite seeds its PRNG from it in a fresh process (the builder) */
	rc |= landlock_allow(ruleset, "/dev/urandom",
			     LANDLOCK_ACCESS_FS_READ_FILE, handled);
	rc |= landlock_allow(ruleset, "/etc/ld.so.cache",
			     LANDLOCK_ACCESS_FS_READ_FILE, handled);
	rc |= landlock_allow_sanitizer_logs(ruleset, handled);
	/* a binary the server's user cannot reach (a root-only build
	 * directory) only costs the boot pack builder its exec: a warning,
	 * and the builder's own error when it runs */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if (landlock_allow(ruleset, self, exe, handled) != 0)
			log_warnx("landlock: %s is out of the server's reach: "
				  "boot packs cannot be built (install the "
				  "binary where user %s can run it)", self,
				  srv->priv && srv->priv->user ?
				  srv->priv->user : "root");
	}
	dl_iterate_phdr(landlock_add_object, &ll);
	return rc ? -EINVAL : 0;
}

static int landlock_apply(struct lb_server *srv)
{
	struct privdrop *pd = srv->priv;
	struct landlock_ruleset_attr attr = { 0 };
	int ruleset, rc;

	if (!(pd->landlock_abi = landlock_abi())) {
		log_warnx("landlock: not in this kernel (%s): the file system "
			  "is limited by the user's permissions only",
			  strerror(errno));
		return 0;
	}
	attr.handled_access_fs = landlock_handled(pd->landlock_abi);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr,
			       sizeof(attr), 0);
	if (ruleset < 0) {
		log_warn("landlock: create ruleset");
		return -errno;
	}
	rc = landlock_rules(ruleset, srv, attr.handled_access_fs);
	if (rc == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		rc = -errno;
		log_warn("landlock: restrict_self");
	}
	close(ruleset);
	if (rc)
		return rc;
	/* prove it: the root directory is outside what is allowed */
	if ((rc = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		close(rc);
		log_err("landlock: / is still readable after restricting");
		return -EPERM;
	}
	log_info("landlock: ABI v%d: files limited to %s (read-write)%s%s, "
		 "served and config dirs (read-only); / is not readable: %s",
		 pd->landlock_abi, srv->cfg->state_dir,
		 srv->cfg->store_dir ? ", " : "",
		 srv->cfg->store_dir ? srv->cfg->store_dir : "",
		 strerror(errno));
	return 0;
}

/* --- all steps ---------------------------------------------------------- */

int privdrop_apply(struct lb_server *srv)
{
	struct privdrop *pd = srv->priv;
	const struct lb_config *cfg = srv->cfg;
	int rc;

	if (pd->user) {
		/* files root made (the DB at its first open, ticket.key,
		 * leases, `linkboot image` output) become the user's */
		if ((rc = chown_dir(cfg->state_dir, pd->uid, pd->gid, 0)) != 0 ||
		    (rc = chown_dir(cfg->store_dir, pd->uid, pd->gid, 0)) != 0) {
			log_err("privdrop: cannot give %s to user %s: %s",
				cfg->state_dir, pd->user, strerror(-rc));
			return rc;
		}
		if ((rc = drop_user(pd)) != 0 ||
		    (rc = check_reachable(cfg->state_dir, "state directory",
					  pd)) != 0 ||
		    (rc = check_reachable(cfg->store_dir, "store directory",
					  pd)) != 0)
			return rc;
		log_info("privdrop: running as user %s (uid %u, gid %u)",
			 pd->user, (unsigned)pd->uid, (unsigned)pd->gid);
	}
	/* execve() can never grant privileges again (setuid binaries, file
	 * capabilities); Landlock requires it of an unprivileged caller */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_warn("privdrop: PR_SET_NO_NEW_PRIVS");
		return -errno;
	}
	/* SQLite's temporary files (large sorts) go where it may write */
	setenv("SQLITE_TMPDIR", cfg->state_dir, 0);
	return landlock_apply(srv);
}

const char *privdrop_hint(const struct lb_server *srv)
{
	if (!srv->priv || !srv->priv->landlock_abi)
		return "";
	return " (the server reads files only under its state, store, "
	       "served and config directories: Landlock)";
}
