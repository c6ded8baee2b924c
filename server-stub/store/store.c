/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image store files: import, identity, hashes (see store.h). */

#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockhash.h"
#include "lb_util.h"
#include "sha256.h"
#include "fileops.h"
#include "store.h"

#define COPY_CHUNK (1u << 20)

void store_dir_path(const struct lb_config *cfg, char *out, size_t outsz)
{
	if (cfg->store_dir)
		snprintf(out, outsz, "%s", cfg->store_dir);
	else
		snprintf(out, outsz, "%s/store", cfg->state_dir);
}

int store_file_path(const struct lb_config *cfg, const char *id,
		    unsigned version, const char *ext, char *out,
		    size_t outsz)
{
	char dir[4096];
	int n;

	store_dir_path(cfg, dir, sizeof(dir));
	n = snprintf(out, outsz, "%s/%s.v%u.%s", dir, id, version, ext);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

void store_resolve(const struct lb_config *cfg, const char *file, char *out,
		   size_t outsz)
{
	char dir[4096];

	if (file[0] == '/') {
		snprintf(out, outsz, "%s", file);
		return;
	}
	store_dir_path(cfg, dir, sizeof(dir));
	snprintf(out, outsz, "%s/%s", dir, file);
}

int store_mkdir(const struct lb_config *cfg)
{
	char dir[4096];

	if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	store_dir_path(cfg, dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int store_new_id(char out[STORE_ID_LEN + 1])
{
	uint8_t r[STORE_ID_LEN / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

void store_progress_report(const struct store_progress *progress,
			   const char *what, uint64_t done, uint64_t total)
{
	if (progress && progress->fn)
		progress->fn(progress->arg, what, done, total);
}

static int reflink_file(int in, const char *dst)
{
	int out, rc = 0;

	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	if (ioctl(out, FICLONE, in) < 0)
		rc = -errno;
	close(out);
	if (rc)
		unlink(dst);
	return rc;
}

int store_import(const char *src, const char *dst, int mode,
		 const struct store_progress *progress,
		 struct store_imported *done)
{
	struct store_imported d = { .mode = mode };
	struct stat st;
	int in, rc;

	if (mode == IMPORT_IN_PLACE)
		goto out_done;
	if (mode == IMPORT_MOVE) {
		if (rename(src, dst) == 0)
			goto out_done;
		if (errno != EXDEV)
			return -errno;
		/* on another file system: copy, then remove the source */
		d.fallback_rc = -EXDEV;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(in, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (mode == IMPORT_REFLINK) {
		rc = reflink_file(in, dst);
		if (rc == 0)
			goto out;
		d.mode = IMPORT_COPY;
		d.fallback_rc = rc;
	}
	rc = fileops_copy(in, dst, FILEOPS_NOREPLACE, progress);
	if (rc == 0 && mode == IMPORT_MOVE && unlink(src) < 0)
		d.source_left = 1;
out:
	close(in);
	if (rc)
		return rc;
out_done:
	if (done)
		*done = d;
	return 0;
}

static void probe_value(blkid_probe pr, const char *name, char *out,
			size_t outsz)
{
	const char *v = NULL;

	out[0] = '\0';
	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(out, outsz, "%s", v);
}

/* File system type, UUID and label of one range of the image. */
static void probe_fs(int fd, struct store_part *p)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)p->off,
				   (blkid_loff_t)p->size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
						  BLKID_SUBLKS_UUID |
						  BLKID_SUBLKS_LABEL);
		if (blkid_do_safeprobe(pr) == 0) {
			probe_value(pr, "TYPE", p->type, sizeof(p->type));
			probe_value(pr, "UUID", p->uuid, sizeof(p->uuid));
			probe_value(pr, "LABEL", p->label, sizeof(p->label));
		}
	}
	blkid_free_probe(pr);
}

int store_probe_identity(const char *path, struct store_identity *id)
{
	blkid_probe pr;
	blkid_partlist ls;
	struct stat st;
	int fd, n;

	memset(id, 0, sizeof(*id));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	id->size = (uint64_t)st.st_size;
	if (!(pr = blkid_new_probe())) {
		close(fd);
		return -ENOMEM;
	}
	blkid_probe_set_device(pr, fd, 0, 0);
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	ls = blkid_probe_get_partitions(pr);
	if (ls) {
		blkid_parttable tab = blkid_partlist_get_table(ls);
		const char *v;

		if (tab && (v = blkid_parttable_get_type(tab)))
			snprintf(id->pt_type, sizeof(id->pt_type), "%s", v);
		if (tab && (v = blkid_parttable_get_id(tab)))
			snprintf(id->pt_uuid, sizeof(id->pt_uuid), "%s", v);
		n = blkid_partlist_numof_partitions(ls);
		for (int i = 0; i < n && id->nparts < STORE_MAX_PARTS; i++) {
			blkid_partition par = blkid_partlist_get_partition(ls, i);
			struct store_part *p = &id->parts[id->nparts];

			if (!par)
				continue;
			p->no = (unsigned)blkid_partition_get_partno(par);
			p->off = (uint64_t)blkid_partition_get_start(par) * 512;
			p->size = (uint64_t)blkid_partition_get_size(par) * 512;
			if (p->off >= id->size)
				continue;
			if (p->size > id->size - p->off)
				p->size = id->size - p->off;
			probe_fs(fd, p);
			id->nparts++;
		}
	}
	if (id->nparts == 0) {
		/* a bare file system, no partition table */
		id->parts[0].off = 0;
		id->parts[0].size = id->size;
		probe_fs(fd, &id->parts[0]);
		if (id->parts[0].type[0])
			id->nparts = 1;
	}
	blkid_free_probe(pr);
	close(fd);
	return 0;
}

void store_identity_string(const struct store_identity *id, char *out,
			   size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < id->nparts && len < outsz; i++) {
		const struct store_part *p = &id->parts[i];
		int n = snprintf(out + len, outsz - len, "%s%u:%s:%s:%s",
				 i ? ";" : "", p->no, p->type, p->uuid,
				 p->label);

		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int store_hash_view(struct vchain *c, const char *hashes_path,
		    char sha_hex[65], const struct store_progress *progress)
{
	uint64_t size = vchain_size(c), nblocks;
	uint8_t hdr[BLOCKHASH_HDR_LEN], md[SHA256_LEN];
	uint8_t *buf = NULL;
	struct sha256_ctx all;
	char tmp[4200];
	FILE *f = NULL;
	int rc = -ENOMEM;

	blockhash_hdr_build(hdr, DELTA_BLOCK_SIZE, size);
	nblocks = blockhash_count(size, DELTA_BLOCK_SIZE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", hashes_path);
	if (!(buf = malloc(DELTA_BLOCK_SIZE)))
		goto out;
	if (!(f = fopen(tmp, "we"))) {
		rc = -errno;
		goto out;
	}
	rc = -EIO;
	if (fwrite(hdr, sizeof(hdr), 1, f) != 1)
		goto out;
	sha256_init(&all);
	for (uint64_t b = 0; b < nblocks; b++) {
		uint32_t n = (uint32_t)MIN((uint64_t)DELTA_BLOCK_SIZE,
					   size - b * DELTA_BLOCK_SIZE);
		int r = vchain_read(c, buf, b * DELTA_BLOCK_SIZE, n);

		if (r) {
			rc = r;
			goto out;
		}
		sha256(buf, n, md);
		sha256_update(&all, buf, n);
		if (fwrite(md, BLOCKHASH_LEN, 1, f) != 1)
			goto out;
		if ((b & 63) == 0 || b + 1 == nblocks)
			store_progress_report(progress, "hashing",
					      MIN((b + 1) * DELTA_BLOCK_SIZE,
						  size), size);
	}
	sha256_final(&all, md);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		goto out;
	if (sha_hex)
		hex(md, 32, sha_hex);
	rc = rename(tmp, hashes_path) < 0 ? -errno : 0;
out:
	if (f)
		fclose(f);
	if (rc)
		unlink(tmp);
	free(buf);
	return rc;
}

int store_sha256_file(const char *path, char sha_hex[65])
{
	uint8_t *buf, md[SHA256_LEN];
	struct sha256_ctx ctx;
	ssize_t n;
	int fd, rc = -EIO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(buf = malloc(COPY_CHUNK)))
		goto out;
	sha256_init(&ctx);
	while ((n = read(fd, buf, COPY_CHUNK)) > 0)
		sha256_update(&ctx, buf, (size_t)n);
	if (n == 0) {
		sha256_final(&ctx, md);
		hex(md, 32, sha_hex);
		rc = 0;
	}
out:
	free(buf);
	close(fd);
	return rc;
}
