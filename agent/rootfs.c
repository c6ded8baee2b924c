/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The root: find it on /dev/nbdN with libblkid (linkboot.root=), mount it
 * read-only, put an overlayfs on top (write mode ram: upper on a
 * size-capped tmpfs, a full overlay is a clean ENOSPC; disk: upper on the
 * local PARTLABEL=linkboot-cache partition, wiped at boot), write the
 * per-client files into the upper layer, move /proc /sys /dev and
 * switch_root to the image's init.
 *
 * PID 1 only: the daemon never touches the nbd-backed root.
 */

#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ifupdown.h"
#include "lb_log.h"
#include "lb_util.h"

#define LOWER "/lower"
#define RW "/rw"
#define NEWROOT "/newroot"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* value of TAG for DEV, from a low-level probe; "" if none */
static void probe_tags(const char *dev, char *type, char *label, char *uuid,
		       size_t sz)
{
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	const char *v;

	type[0] = label[0] = uuid[0] = '\0';
	if (!pr)
		return;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_LABEL |
					  BLKID_SUBLKS_UUID);
	if (blkid_do_safeprobe(pr) == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
			snprintf(type, sz, "%s", v);
		if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
			snprintf(label, sz, "%s", v);
		if (blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
			snprintf(uuid, sz, "%s", v);
	}
	blkid_free_probe(pr);
}

static int is_root_fs(const char *type)
{
	return !strcmp(type, "ext4") || !strcmp(type, "ext3") ||
	       !strcmp(type, "ext2") || !strcmp(type, "xfs") ||
	       !strcmp(type, "btrfs");
}

#define ROOT_CANDS_MAX 16

struct root_cand {
	char dev[48];
	char type[64];
};

/*
 * Root candidates on /dev/nbdN, best first: the partition matching
 * linkboot.root; else every ext4 partition, then other Linux filesystems
 * (an image with a separate /boot has two: the caller keeps the one with
 * an init); the whole disk when there is no partition table.
 */
static int find_roots(const struct agent_cfg *cfg, int index,
		      struct root_cand *c, int max)
{
	char disk[32], type[64], label[64], uuid[64];
	struct root_cand other[ROOT_CANDS_MAX];
	blkid_probe pr;
	blkid_partlist pl;
	int i, n = 0, nc = 0, no_ = 0;

	snprintf(disk, sizeof(disk), "/dev/nbd%d", index);
	/* the first open triggers the kernel's partition scan */
	if (!(pr = blkid_new_probe_from_filename(disk))) {
		log_warn("root: open %s", disk);
		return -EIO;
	}
	blkid_probe_enable_partitions(pr, 1);
	if (blkid_do_fullprobe(pr) >= 0 && (pl = blkid_probe_get_partitions(pr)))
		n = blkid_partlist_numof_partitions(pl);
	else
		pl = NULL;
	if (n <= 0) {
		blkid_free_probe(pr);
		probe_tags(disk, type, label, uuid, sizeof(type));
		if (!type[0])
			return -ENOENT;
		snprintf(c[0].dev, sizeof(c[0].dev), "%s", disk);
		snprintf(c[0].type, sizeof(c[0].type), "%s", type);
		return 1;
	}
	for (i = 0; i < n && nc < max && no_ < ROOT_CANDS_MAX; i++) {
		blkid_partition par = blkid_partlist_get_partition(pl, i);
		int no = blkid_partition_get_partno(par);
		const char *pname = blkid_partition_get_name(par);
		struct root_cand *dst = NULL;
		char part[48];
		int j;

		snprintf(part, sizeof(part), "%sp%d", disk, no);
		/* udev-less: devtmpfs creates the node after the scan */
		for (j = 0; j < 50 && access(part, F_OK) != 0; j++)
			sleep_ms(100);
		probe_tags(part, type, label, uuid, sizeof(type));
		log_debug("root: %s type=%s label=%s uuid=%s partlabel=%s",
			  part, type, label, uuid, pname ? pname : "");
		if (cfg->root[0]) {
			const char *v = strchr(cfg->root, '=');

			if ((!strncmp(cfg->root, "LABEL=", 6) && !strcmp(v + 1, label)) ||
			    (!strncmp(cfg->root, "UUID=", 5) && !strcasecmp(v + 1, uuid)) ||
			    (!strncmp(cfg->root, "PARTLABEL=", 10) && pname &&
			     !strcmp(v + 1, pname)) ||
			    (!strncmp(cfg->root, "part", 4) &&
			     atoi(cfg->root + 4) == no))
				dst = &c[nc++];
		} else if (!strcmp(type, "ext4")) {
			dst = &c[nc++];
		} else if (is_root_fs(type)) {
			dst = &other[no_++];
		}
		if (dst) {
			snprintf(dst->dev, sizeof(dst->dev), "%s", part);
			snprintf(dst->type, sizeof(dst->type), "%s",
				 type[0] ? type : "ext4");
		}
	}
	blkid_free_probe(pr);
	for (i = 0; i < no_ && nc < max; i++)
		c[nc++] = other[i];
	return nc ? nc : -ENOENT;
}

/* nftw(): everything but the top directory itself */
static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	if (ftw->level == 0)
		return 0;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* everything under dir on dir's filesystem (not across mounts) */
static void wipe_dir(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int mount_upper(const struct agent_cfg *cfg)
{
	char opts[64];
	const char *cache;

	mkdir(RW, 0755);
	if (cfg->write_mode == WRITE_DISK) {
		int i;

		/* the disk driver was just loaded: its partitions may
		 * show up a moment later (bounded wait) */
		for (i = 0; i < 30; i++) {
			cache = blkid_evaluate_tag("PARTLABEL",
						   "linkboot-cache", NULL);
			if (cache)
				break;
			sleep_ms(100);
		}
		if (cache && mount(cache, RW, "ext4", MS_NOATIME, NULL) == 0) {
			log_info("root: overlay upper on %s (wiped)", cache);
			wipe_dir(RW);
			goto dirs;
		}
		log_warnx("root: write mode disk: no usable partition with "
			  "PARTLABEL=linkboot-cache%s%s (check: `sgdisk -c N:"
			  "linkboot-cache` and `mkfs.ext4` on it); using RAM",
			  cache ? " at " : "", cache ? cache : "");
	}
	if (cfg->overlay_mib)
		snprintf(opts, sizeof(opts), "size=%um,mode=0755",
			 cfg->overlay_mib);
	else
		snprintf(opts, sizeof(opts), "mode=0755");
	if (mount("linkboot-overlay", RW, "tmpfs", MS_NOSUID | MS_NODEV,
		  opts) != 0) {
		log_warn("root: tmpfs for the overlay (%s)", opts);
		return -errno;
	}
dirs:
	mkdir(RW "/upper", 0755);
	mkdir(RW "/work", 0755);
	return 0;
}

static int write_file(const char *path, const char *data)
{
	char dir[256], *slash;
	int fd;
	size_t len = strlen(data);

	snprintf(dir, sizeof(dir), "%s", path);
	/* mkdir -p of the parents, bounded by the path length */
	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	unlink(path);	/* may be a symlink into the image */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/*
 * fstab of an overlay root: the root line would make systemd-remount-fs
 * apply ext4 options to the overlay, and /boot, /boot/efi or swap on the
 * image's partitions would be mounted from the read-only nbd device.
 * Block-device lines are commented out (into the upper layer); tmpfs,
 * proc, network mounts stay.
 */
static void fstab_for_overlay(void)
{
	static char buf[16384], out[16384 + 2048];
	static const char *const blockspecs[] = {
		"UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=", "/dev/",
	};
	size_t o = 0, i;
	ssize_t n;
	char *line, *save;
	int fd, changed = 0;

	if ((fd = open(NEWROOT "/etc/fstab", O_RDONLY)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	o += (size_t)snprintf(out, sizeof(out), "# linkboot-agent: the root is "
			      "an overlay on the network disk; block devices "
			      "of the image are not mounted\n");
	for (line = strtok_r(buf, "\n", &save); line && o < sizeof(out);
	     line = strtok_r(NULL, "\n", &save)) {
		const char *p = line + strspn(line, " \t");
		int block = 0;

		for (i = 0; i < ARRAY_SIZE(blockspecs); i++)
			if (!strncmp(p, blockspecs[i], strlen(blockspecs[i])))
				block = 1;
		changed |= block;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s\n",
				      block ? "# linkboot: " : "", line);
	}
	if (changed && o < sizeof(out))
		write_file(NEWROOT "/etc/fstab", out);
}

/* per-client files, into the upper layer (server modes: the disk) */
static void write_client_files(const struct agent_cfg *cfg,
			       const struct net_state *ns)
{
	char buf[1024], mac[18], ip[16], gw[16];
	unsigned prefix = (unsigned)__builtin_popcount(ns->netmask.s_addr);

	if (cfg->hostname[0]) {
		/* the kernel's too, so early boot messages show it */
		if (sethostname(cfg->hostname, strlen(cfg->hostname)) != 0)
			log_warn("sethostname");
		snprintf(buf, sizeof(buf), "%s\n", cfg->hostname);
		write_file(NEWROOT "/etc/hostname", buf);
	}
	if (cfg->machine_id[0]) {
		snprintf(buf, sizeof(buf), "%s\n", cfg->machine_id);
		write_file(NEWROOT "/etc/machine-id", buf);
	}
	mac_format(ns->mac, mac);
	snprintf(ip, sizeof(ip), "%s", inet_ntoa(ns->ip));
	snprintf(gw, sizeof(gw), "%s", inet_ntoa(ns->gw));
	/* systemd-networkd: keep what the agent set up, never flush it */
	snprintf(buf, sizeof(buf),
		 "# Generated by linkboot-agent: the root disk is on this NIC.\n"
		 "[Match]\nMACAddress=%s\n\n[Network]\nDHCP=no\n"
		 "KeepConfiguration=yes\nLinkLocalAddressing=no\n"
		 "IPv6AcceptRA=no\nAddress=%s/%u\n%s%s%s",
		 mac, ip, prefix, ns->gw.s_addr ? "Gateway=" : "",
		 ns->gw.s_addr ? gw : "", ns->gw.s_addr ? "\n" : "");
	write_file(NEWROOT "/etc/systemd/network/00-linkboot-boot-nic.network",
		   buf);
	/*
	 * systemd-udevd: the NIC is already up, so the image's predictable
	 * name (ens3, enp0s3) cannot be applied ("already up, cannot
	 * rename"); udev 252 then leaves the device marked as renaming and
	 * networkd keeps it "pending" forever (wait-online times out after
	 * 2 min). Naming it what it is means no rename is attempted.
	 */
	snprintf(buf, sizeof(buf),
		 "# Generated by linkboot-agent: the root disk is on this NIC.\n"
		 "[Match]\nMACAddress=%s\n\n[Link]\nNamePolicy=\nName=%s\n",
		 mac, ns->ifname);
	write_file(NEWROOT "/etc/systemd/network/00-linkboot-boot-nic.link",
		   buf);
	/* NetworkManager: hands off */
	snprintf(buf, sizeof(buf),
		 "# Generated by linkboot-agent: the root disk is on this NIC.\n"
		 "[keyfile]\nunmanaged-devices=mac:%s\n", mac);
	write_file(NEWROOT "/etc/NetworkManager/conf.d/00-linkboot.conf", buf);
	ifupdown_release_nic(NEWROOT, ns->ifname);
}

static int move_to(const char *from, const char *to)
{
	mkdir(to, 0755);
	if (mount(from, to, NULL, MS_MOVE, NULL) != 0) {
		log_warn("root: move %s to %s", from, to);
		return -errno;
	}
	return 0;
}

static const char *find_init(const char *base)
{
	static const char *const inits[] = {
		"/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd",
		"/bin/init",
	};
	static char path[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(inits); i++) {
		snprintf(path, sizeof(path), "%s%s", base, inits[i]);
		if (access(path, X_OK) == 0)
			return inits[i];
	}
	return NULL;
}

/* mount candidates in turn; keep the first with an init */
static int mount_root(const struct agent_cfg *cfg, int nbd_index,
		      const char *mnt, unsigned long flags, char *dev,
		      size_t devsz, char *fstype, size_t fssz)
{
	struct root_cand c[ROOT_CANDS_MAX];
	int n, i, rc = -ENOENT;

	if ((n = find_roots(cfg, nbd_index, c, ROOT_CANDS_MAX)) < 0) {
		log_warnx("root: no %s on /dev/nbd%d (check: linkboot.root, "
			  "the image's partitions: `linkboot image show`)",
			  cfg->root[0] ? cfg->root : "Linux filesystem",
			  nbd_index);
		return n;
	}
	for (i = 0; i < n; i++) {
		int ext = !strncmp(c[i].type, "ext", 3);

		/* ext4 "norecovery": a read-only device cannot replay a
		 * journal */
		if (mount(c[i].dev, mnt, c[i].type, flags | MS_NOATIME,
			  (flags & MS_RDONLY) && ext ? "norecovery" : NULL) != 0 &&
		    mount(c[i].dev, mnt, c[i].type, flags | MS_NOATIME,
			  NULL) != 0) {
			rc = -errno;
			log_warn("root: mount %s (%s)", c[i].dev, c[i].type);
			continue;
		}
		if (find_init(mnt)) {
			strlcpy_chk(dev, c[i].dev, devsz);
			strlcpy_chk(fstype, c[i].type, fssz);
			return 0;
		}
		log_info("root: %s has no /sbin/init (a /boot?), trying the "
			 "next", c[i].dev);
		umount(mnt);
		rc = -ENOENT;
	}
	log_warnx("root: no partition with /sbin/init on /dev/nbd%d (check: "
		  "is this an OS image? set linkboot.root)", nbd_index);
	return rc;
}

int rootfs_boot(const struct agent_cfg *cfg, const struct net_state *ns,
		int nbd_index, int timeline_fd)
{
	char dev[48], fstype[64], opts[160], msg[64];
	const char *init;
	int rc, overlay = cfg->write_mode == WRITE_RAM ||
			  cfg->write_mode == WRITE_DISK;
	int64_t t_root;
	struct statfs sfs;

	mkdir(NEWROOT, 0755);
	mkdir(LOWER, 0755);
	if ((rc = mount_root(cfg, nbd_index, overlay ? LOWER : NEWROOT,
			     overlay ? MS_RDONLY : 0, dev, sizeof(dev),
			     fstype, sizeof(fstype))) != 0)
		return rc;
	if (overlay) {
		if ((rc = mount_upper(cfg)) != 0)
			return rc;
		snprintf(opts, sizeof(opts), "lowerdir=" LOWER ",upperdir=" RW
			 "/upper,workdir=" RW "/work");
		if (mount("overlay", NEWROOT, "overlay", 0, opts) != 0) {
			rc = -errno;
			log_warn("root: overlay (%s)", opts);
			return rc;
		}
	}
	t_root = now_ms();
	log_info("root: %s (%s) %s, write mode %s", dev, fstype,
		 overlay ? "read-only + overlay" : "read-write",
		 write_mode_name(cfg->write_mode));
	write_client_files(cfg, ns);
	if (overlay)
		fstab_for_overlay();
	if (!(init = find_init(NEWROOT)))
		return -ENOENT;
	if ((rc = move_to("/dev", NEWROOT "/dev")) != 0 ||
	    (rc = move_to("/proc", NEWROOT "/proc")) != 0 ||
	    (rc = move_to("/sys", NEWROOT "/sys")) != 0)
		return rc;
	if (chdir(NEWROOT) != 0)
		return -errno;
	/* free the initramfs (the agent runs from a memfd copy); only ever
	 * a ramfs/tmpfs root of PID 1 */
	if (getpid() == 1 && statfs("/", &sfs) == 0 &&
	    (sfs.f_type == 0x858458f6 /* RAMFS_MAGIC */ ||
	     sfs.f_type == 0x01021994 /* TMPFS_MAGIC */))
		wipe_dir("/");
	snprintf(msg, sizeof(msg), "%lld %lld\n", (long long)t_root,
		 (long long)now_ms());
	if (write(timeline_fd, msg, strlen(msg)) < 0)
		log_warn("timeline pipe");
	close(timeline_fd);
	if (mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 ||
	    chdir("/") != 0) {
		rc = -errno;
		log_warn("root: switch_root");
		return rc;
	}
	log_info("root: switch_root, exec %s", init);
	execl(init, init, (char *)NULL);
	rc = -errno;
	log_warn("root: exec %s", init);
	return rc;
}
