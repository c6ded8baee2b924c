/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Is a file system in an image clean? (fs_check.h) `image commit` asks it
 * of the super client's writes before they become the version every PC
 * boots: a journal left to replay or a dirty FAT would be replayed or
 * "repaired" differently by each PC's own OS.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db_internal.h"
#include "fs_check.h"
#include "image_ops.h"
#include "lb_util.h"

/* blkid's TYPE values of file systems a Linux root lives on */
static const char *const linux_fs[] = {
	"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs",
};

/* partitions that hold no file system to check */
static int fs_none(const char *type)
{
	return !type[0] || !strcmp(type, "swap");
}

static int fs_is_linux(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(linux_fs); i++)
		if (!strcmp(type, linux_fs[i]))
			return 1;
	return 0;
}

int fs_has_linux(const struct store_identity *ident, char *types,
		 size_t size)
{
	size_t used = 0;
	int found = 0;

	types[0] = '\0';
	for (unsigned i = 0; i < ident->nparts; i++) {
		const char *t = ident->parts[i].type;
		int n;

		found |= fs_is_linux(t);
		if (fs_none(t) || used >= size)
			continue;
		n = snprintf(types + used, size - used, "%s%s",
			     used ? " " : "", t);
		used += n > 0 ? (size_t)n : 0;
	}
	return found;
}

static int read_at(const char *raw, uint64_t off, void *buf, size_t n)
{
	int fd = open(raw, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = pread(fd, buf, n, (off_t)off);
	close(fd);
	if (got < 0)
		return -errno;
	return (size_t)got == n ? 0 : -EIO;
}

/*
 * ext4 superblock (1024 bytes in): s_state at 0x3a (EXT2_VALID_FS = 1),
 * s_feature_incompat at 0x60 (EXT3_FEATURE_INCOMPAT_RECOVER = 0x4: the
 * journal holds transactions, i.e. not unmounted cleanly).
 */
static int ext_needs_recovery(const char *raw, const struct store_part *p)
{
	uint8_t sb[0x64];

	if (read_at(raw, p->off + 1024, sb, sizeof(sb)) != 0)
		return 0;	/* e2fsck says the rest */
	return (sb[0x60] & 0x4) || !(sb[0x3a] & 0x1);
}

/* e2fsck -fn of the partition at off in raw: its exit status, or -errno. */
static int e2fsck_exit_status(const char *raw, uint64_t off)
{
	char dev[STORE_PATH_MAX + 48];
	int status;
	pid_t pid;

	/* e2fsprogs unix_io: "file?offset=N" opens a partition in place */
	snprintf(dev, sizeof(dev), "%s?offset=%llu", raw,
		 (unsigned long long)off);
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("e2fsck", "e2fsck", "-fn", dev, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/*
 * FAT (Microsoft's FAT specification, "FAT Volume Initialization" and
 * "FAT[1]"): the boot sector's BS_Reserved1 byte (offset 0x25 on
 * FAT12/16, 0x41 on FAT32; BPB_FATSz16 at 0x16 is 0 on FAT32) has bit 0
 * set while a volume is mounted (Linux's fat driver and Windows both set
 * it); FAT32's FAT[1] entry clears its ClnShutBit (0x08000000) the same
 * way. Either one means the volume was not unmounted cleanly.
 */
static int fat_dirty(const char *raw, const struct store_part *p)
{
	uint8_t bs[512], fat1[8];
	uint16_t fatsz16, reserved, bytes_per_sector;
	int fat32;

	if (read_at(raw, p->off, bs, sizeof(bs)) != 0)
		return -EIO;
	bytes_per_sector = (uint16_t)(bs[0x0b] | bs[0x0c] << 8);
	reserved = (uint16_t)(bs[0x0e] | bs[0x0f] << 8);
	fatsz16 = (uint16_t)(bs[0x16] | bs[0x17] << 8);
	fat32 = fatsz16 == 0;
	if (bs[fat32 ? 0x41 : 0x25] & 0x01)
		return 1;
	if (!fat32 || bytes_per_sector < 512)
		return 0;
	if (read_at(raw, p->off + (uint64_t)reserved * bytes_per_sector, fat1,
		    sizeof(fat1)) != 0)
		return -EIO;
	return !(fat1[7] & 0x08);	/* FAT[1], little-endian, bit 27 */
}

#define FS_FIX "refused: the file system must be clean so PCs never " \
	"replay a journal;\n  boot the super client again and shut it down " \
	"cleanly"

static int ext_check(const char *raw, const struct store_part *p,
		     char *why, size_t len)
{
	int status;

	if (ext_needs_recovery(raw, p))
		return db_why(why, len, EUCLEAN_IMAGE_FS, "partition %u (%s %s)"
			      " was not unmounted cleanly (its journal needs "
			      "recovery): " FS_FIX, p->no, p->type, p->label);
	if ((status = e2fsck_exit_status(raw, p->off)) < 0)
		return db_why(why, len, status, "e2fsck: %s", err_str(status));
	if (status != 0)
		return db_why(why, len, EUCLEAN_IMAGE_FS, "partition %u (%s %s) "
			      "is not clean (e2fsck -fn exit %d): " FS_FIX,
			      p->no, p->type, p->label, status);
	return 0;
}

static int fat_check(const char *raw, const struct store_part *p,
		     char *why, size_t len)
{
	int dirty = fat_dirty(raw, p);

	if (dirty < 0)
		return db_why(why, len, dirty, "partition %u (%s): %s", p->no,
			      p->type, err_str(dirty));
	if (dirty)
		return db_why(why, len, EUCLEAN_IMAGE_FS, "partition %u (%s %s)"
			      " is marked dirty (mounted, never unmounted): "
			      FS_FIX, p->no, p->type, p->label);
	return 0;
}

static void unchecked_add(char *list, size_t size, const struct store_part *p)
{
	size_t used = strlen(list);

	snprintf(list + used, size - used, "%s%u:%s", used ? " " : "", p->no,
		 p->type);
}

int fs_check_clean(const char *raw, const struct store_identity *ident,
		   int force, char *unchecked, size_t unchecked_len,
		   char *why, size_t len)
{
	int rc;

	unchecked[0] = '\0';
	for (unsigned i = 0; i < ident->nparts; i++) {
		const struct store_part *p = &ident->parts[i];

		if (fs_none(p->type))
			continue;
		if (!strncmp(p->type, "ext", 3))
			rc = ext_check(raw, p, why, len);
		else if (!strcmp(p->type, "vfat"))
			rc = fat_check(raw, p, why, len);
		else if (force)
			rc = (unchecked_add(unchecked, unchecked_len, p), 0);
		else
			rc = db_why(why, len, EUCLEAN_IMAGE_FS, "partition %u "
				    "(%s %s) cannot be checked here; make sure "
				    "the super client shut down fully (Windows: "
				    "Fast Startup and hibernation off, \"Shut "
				    "down\", not \"Restart\"), then commit with "
				    "--force", p->no, p->type, p->label);
		if (rc)
			return rc;
	}
	return 0;
}
