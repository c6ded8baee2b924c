/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linkboot.ssd=auto: when no partition has PARTLABEL linkboot-cache, the
 * first whole local disk that is blank gets a GPT with one such partition
 * (lib/gpt.c). "Blank" is strict: libblkid finds no partition table and
 * no filesystem/RAID/LVM signature, and the first and last MiB are all
 * zero bytes. A disk with anything on it is never touched.
 */

#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "cache_setup.h"
#include "gpt.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"

#define AUTO_MIN_BYTES (64ull << 20)
#define ZERO_CHECK (1u << 20)

/* /sys/block/DISK/FILE as a number. */
static int read_sys_block_u64(const char *disk, const char *file,
			      uint64_t *v)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/%s/%s", disk, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return parse_u64(buf, 0, UINT64_MAX, v) ? -EINVAL : 0;
}

/* A fixed, writable, whole local disk (not nbd/loop/ram/cdrom/dm/md). */
static int is_candidate_disk(const char *name)
{
	static const char *const skip[] = {
		"nbd", "loop", "ram", "zram", "sr", "dm-", "md", "fd",
	};
	uint64_t removable = 1, ro = 1, sectors = 0;

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (!strncmp(name, skip[i], strlen(skip[i])))
			return 0;
	if (read_sys_block_u64(name, "removable", &removable) || removable ||
	    read_sys_block_u64(name, "ro", &ro) || ro ||
	    read_sys_block_u64(name, "size", &sectors))
		return 0;
	return sectors * 512 >= AUTO_MIN_BYTES;
}

/* The ZERO_CHECK bytes at off are all zero (buf: room for them). */
static int zero_mib_at(int fd, uint64_t off, uint8_t *buf)
{
	if (pread(fd, buf, ZERO_CHECK, (off_t)off) != (ssize_t)ZERO_CHECK)
		return 0;
	for (size_t i = 0; i < ZERO_CHECK; i++)
		if (buf[i])
			return 0;
	return 1;
}

/* libblkid: 1 when it finds nothing at all on the device. */
static int blkid_finds_nothing(int fd)
{
	blkid_probe pr = blkid_new_probe();
	int rc = -1;

	if (!pr)
		return 0;
	if (blkid_probe_set_device(pr, fd, 0, 0) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_enable_partitions(pr, 1);
		rc = blkid_do_safeprobe(pr);
	}
	blkid_free_probe(pr);
	return rc == 1;
}

static int is_blank(int fd, uint64_t size)
{
	uint8_t *buf = malloc(ZERO_CHECK);
	int blank;

	if (!buf)
		return 0;
	blank = blkid_finds_nothing(fd) && zero_mib_at(fd, 0, buf) &&
		zero_mib_at(fd, size - ZERO_CHECK, buf);
	free(buf);
	return blank;
}

static int pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
	return pwrite(fd, p, n, (off_t)off) == (ssize_t)n ? 0 : -EIO;
}

/* Backup first, the MBR last: a torn write leaves no valid table. */
static int write_gpt(int fd, uint64_t size, const char *dev)
{
	static struct gpt_layout g;
	uint8_t guids[32];
	int sector = 512, rc;

	if (ioctl(fd, BLKSSZGET, &sector) != 0)
		sector = 512;
	if (getrandom(guids, sizeof(guids), 0) != (ssize_t)sizeof(guids))
		return -EIO;
	rc = gpt_build_single(&g, size, (uint32_t)sector, gpt_type_linux_data,
			      CACHE_PARTLABEL_NAME,
			      GPT_ATTR_NO_AUTO | GPT_ATTR_HIDDEN, guids);
	if (rc)
		return rc;
	if ((rc = pwrite_full(fd, g.entries, GPT_ENTRIES_BYTES,
			      g.backup_entries_off)) ||
	    (rc = pwrite_full(fd, g.backup, (size_t)sector, g.backup_off)) ||
	    (rc = pwrite_full(fd, g.entries, GPT_ENTRIES_BYTES,
			      g.primary_entries_off)) ||
	    (rc = pwrite_full(fd, g.primary, (size_t)sector, (uint64_t)sector)) ||
	    (rc = fsync(fd) ? -errno : 0) ||
	    (rc = pwrite_full(fd, g.mbr, sizeof(g.mbr), 0)) ||
	    (rc = fsync(fd) ? -errno : 0))
		return rc;
	if (ioctl(fd, BLKRRPART) != 0)
		log_warn("cache: BLKRRPART %s", dev);
	log_info("cache: ssd auto: %s was blank: created GPT partition %s "
		 "(%llu MiB, hidden, no automount)", dev, CACHE_PARTLABEL_NAME,
		 (unsigned long long)((g.part_last - g.part_first + 1) *
				      (uint64_t)sector >> 20));
	return 0;
}

int ssd_auto_create(void)
{
	struct dirent *de;
	DIR *d = opendir("/sys/block");
	int rc = -ENODEV;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char dev[300];
		uint64_t size;
		int fd;

		if (de->d_name[0] == '.' || !is_candidate_disk(de->d_name))
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		/* O_EXCL: fails if anything has it (or a partition) open */
		if ((fd = open(dev, O_RDWR | O_EXCL | O_CLOEXEC)) < 0)
			continue;
		if (ioctl(fd, BLKGETSIZE64, &size) != 0 ||
		    size < AUTO_MIN_BYTES || !is_blank(fd, size)) {
			log_info("cache: ssd auto: %s is not blank (or too "
				 "small): not touched", dev);
			close(fd);
			continue;
		}
		rc = write_gpt(fd, size, dev);
		close(fd);
		if (rc == 0)
			break;
		log_warnx("cache: ssd auto: %s: %s", dev, err_str(rc));
	}
	closedir(d);
	return rc;
}
