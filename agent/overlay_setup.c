/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block write overlay's set-up (woverlay.h) for the disk daemon
 * (disk_daemon.h). A read-write root gets one; its tiers:
 *
 *   RAM              linkboot.overlay MiB (WOV_RAM_DEFAULT_MIB), in a
 *                    memfd made in the supervisor, so every serving child
 *                    it starts finds the same pages
 *   cache partition  PARTLABEL linkboot-cache, when the PC has one and
 *                    linkboot.ssd is not off
 *   the server       the client's overlay there
 *
 * The supervisor keeps no mapping of the memfd (its pages fill only as
 * the OS writes); the serving child maps it (overlay_attach()).
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cache_setup.h"
#include "disk_daemon.h"
#include "lb_err.h"
#include "lb_log.h"

#define WOV_RAM_DEFAULT_MIB 64
#define WOV_PART_OFF (1u << 20)	/* the SSD cache's superblock is below */

/* The cache partition as the overlay's second tier: the SSD read cache's
 * superblock goes (verified modes format it again; its blocks are keyed
 * and checked, so pages written over its ring are misses, not data). */
static void overlay_partition(struct disk_daemon *d)
{
	static const uint8_t zero[WOV_PAGE];
	struct wov_cfg *wc = &d->wov_cfg;
	char dev[256];
	uint64_t size;
	int fd;

	if (d->cfg->ssd_mode < 0 ||
	    cache_partition_open(d->cfg, &fd, &size, dev, sizeof(dev)) != 0)
		return;
	if (size < WOV_PART_OFF + 16 * WOV_PAGE ||
	    pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero)) {
		log_warnx("overlay: %s is too small or not writable: not used",
			  dev);
		close(fd);
		return;
	}
	wc->part_fd = fd;
	wc->part_off = WOV_PART_OFF;
	wc->part_bytes = size - WOV_PART_OFF;
	log_info("overlay: %s (PARTLABEL=%s), %llu MiB, holds writes once "
		 "RAM is full", dev, CACHE_PARTLABEL_NAME,
		 (unsigned long long)(wc->part_bytes >> 20));
}

/* The tiers from the command line, and the cache partition if any. */
static void overlay_tiers(struct disk_daemon *d)
{
	const struct agent_cfg *cfg = d->cfg;
	struct wov_cfg *wc = &d->wov_cfg;

	memset(wc, 0, sizeof(*wc));
	wc->image_size = d->conn.size;
	wc->ram_bytes = (uint64_t)(cfg->overlay_mib ? cfg->overlay_mib :
				   WOV_RAM_DEFAULT_MIB) << 20;
	wc->part_fd = -1;
	/* kept (or super) overlays must reach the server at every FLUSH */
	wc->writeback = cfg->write_mode == WRITE_SUPER || cfg->keep;
	overlay_partition(d);
}

/* The overlay's memory: a memfd, formatted by wov_open() through a mapping
 * dropped again. 0 with d->wov_memfd set, or -errno. */
static int overlay_memfd(struct disk_daemon *d)
{
	struct wov *w;
	void *mem;
	int fd, rc;

	d->wov_len = wov_mem_size(&d->wov_cfg);
	if ((fd = memfd_create("linkboot-overlay", MFD_CLOEXEC)) < 0)
		return -errno;
	if (ftruncate(fd, (off_t)d->wov_len) != 0 ||
	    (mem = mmap(NULL, d->wov_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0)) == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if ((rc = wov_open(&d->wov_cfg, mem, &w)) == 0)
		wov_close(w);
	munmap(mem, d->wov_len);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	d->wov_memfd = fd;
	return 0;
}

void overlay_setup(struct disk_daemon *d)
{
	struct wov_cfg *wc = &d->wov_cfg;
	int rc;

	overlay_tiers(d);
	if ((rc = overlay_memfd(d)) != 0) {
		log_warnx("overlay: cannot set up the block write overlay (%s): "
			  "writes go to the server", err_str(rc));
		if (wc->part_fd >= 0)
			close(wc->part_fd);
		wc->part_fd = -1;
		return;
	}
	log_info("overlay: block writes go to RAM (%u MiB)%s, then the server; "
		 "%s", (unsigned)(wc->ram_bytes >> 20),
		 wc->part_fd >= 0 ? ", then the cache partition" : "",
		 wc->writeback ? "written back to the server at every FLUSH" :
		 "kept on this PC until the tiers are full (the server drops "
		 "this overlay at the next boot)");
}

/* Locked page by page as it fills (a fault allocates under
 * PR_SET_IO_FLUSHER: no recursion into the device we serve). */
int overlay_attach(struct disk_daemon *d)
{
	void *mem;
	int rc;

	if (mlockall(MCL_FUTURE | MCL_ONFAULT) != 0)
		log_warn("mlockall(MCL_ONFAULT)");
	mem = mmap(NULL, d->wov_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		   d->wov_memfd, 0);
	if (mem == MAP_FAILED) {
		log_warn("overlay: mmap");
		return -ENOMEM;
	}
	if ((rc = wov_open(&d->wov_cfg, mem, &d->wov)) != 0)
		log_warnx("overlay: %s", err_str(rc));
	return rc;
}
