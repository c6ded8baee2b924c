/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC's extra disks (the server's disks.h: a room's game disk, a data
 * disk): each its own disk daemon on its own /dev/nbdN, export
 * "<credential>/<lun>", linked as /dev/linkboot/disk<lun>. /dev moves into
 * the root at switch_root, so the links stay for the image's own fstab or
 * udev rules. No cache: the RAM and SSD caches are for the system disk's
 * boot reads; writable disks write through to the server (their write
 * mode is kept there). A disk that fails to attach is logged and left
 * out: the PC still boots from its system disk.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "lb_err.h"
#include "lb_log.h"

#define DISKS_DIR "/dev/linkboot"

/* The disk's configuration: the boot's, with the export, mode and
 * caches of an extra disk. */
static void disk_cfg(const struct agent_cfg *cfg, const struct agent_disk *d,
		     struct agent_cfg *out)
{
	size_t n = strnlen(cfg->export_name, sizeof(cfg->export_name));

	*out = *cfg;
	/* "<credential>/<lun>"; a name that does not fit is refused by the
	 * server as unknown */
	if (n + 2 < sizeof(out->export_name)) {
		out->export_name[n] = '/';
		out->export_name[n + 1] = (char)('0' + d->lun % 10);
		out->export_name[n + 2] = '\0';
	}
	out->write_mode = d->writable ? WRITE_SERVER : WRITE_RAM;
	out->keep = 1;		/* the server decides what it keeps */
	out->ram_mib = 0;
	out->ssd_mode = -1;
	out->hashes[0] = '\0';
	out->ndisks = 0;
}

/* Fork the daemon of d; its /dev/nbdN index, or -errno. */
static int disk_daemon_start(const struct agent_cfg *cfg,
			     const struct agent_disk *d)
{
	static struct agent_cfg dcfg;	/* the child's copy (after fork) */
	int ready[2], index = -1;
	long long v = 0;
	char buf[64];
	ssize_t n;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) != 0)
		return -errno;
	if ((pid = fork()) < 0) {
		close(ready[0]);
		close(ready[1]);
		return -errno;
	}
	if (pid == 0) {
		close(ready[0]);
		disk_cfg(cfg, d, &dcfg);
		serve_daemon(&dcfg, NULL, ready[1], -1);
	}
	close(ready[1]);
	n = read(ready[0], buf, sizeof(buf) - 1);
	close(ready[0]);
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || sscanf(buf, "%d %lld", &index, &v) != 2)
		return -EPIPE;
	return index >= 0 ? index : (v < 0 ? (int)v : -EIO);
}

static void disk_link(unsigned lun, int index)
{
	char target[32], path[64];

	snprintf(target, sizeof(target), "../nbd%d", index);
	snprintf(path, sizeof(path), DISKS_DIR "/disk%u", lun);
	if (mkdir(DISKS_DIR, 0755) != 0 && errno != EEXIST)
		log_warn("disks: %s", DISKS_DIR);
	unlink(path);
	if (symlink(target, path) != 0)
		log_warn("disks: %s", path);
}

void extra_disks_attach(const struct agent_cfg *cfg)
{
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		const struct agent_disk *d = &cfg->disks[i];
		int index = disk_daemon_start(cfg, d);

		if (index < 0) {
			log_warnx("disks: disk %u not attached: %s (the PC "
				  "boots without it; see the server's log)",
				  d->lun, err_str(index));
			continue;
		}
		disk_link(d->lun, index);
		log_info("disks: disk %u is /dev/nbd%d (%s), linked as "
			 DISKS_DIR "/disk%u", d->lun, index,
			 d->writable ? "read-write" : "read-only", d->lun);
	}
}
