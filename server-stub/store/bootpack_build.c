/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Boot pack traces and builds, server side: see bootpack_build.h. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


#include "bootpack.h"
#include "bootpack_build.h"
#include "credential.h"
#include "config.h"
#include "delta.h"
#include "hashidx.h"
#include "image_internal.h"
#include "image_ops.h"
#include "sha256.h"
#include "lb_endian.h"
#include "lb_log.h"
#include "lb_util.h"
#include "store_db.h"
#include "db_internal.h"
#include "lb_err.h"

#define TRACE_MAX_BLOCKS (1u << 20)	/* 64 GiB read in the window */

struct bp_trace {
	const struct lb_config *cfg;
	char image_id[40];
	unsigned version;
	char mac[18];		/* the client booting */
	uint64_t nblocks;	/* of the image */
	int64_t t0;
	uint8_t *seen;		/* bitmap, nblocks bits */
	uint64_t *order;	/* blocks in first-read order */
	uint32_t n, cap;
	int done;		/* window over: written (or given up) */
	struct bp_trace *next;	/* tracing sessions */
};

/* Sessions tracing now: one per version is enough (a boot storm of a
 * fresh version must not hold a bitmap per client). */
static struct bp_trace *tracing;

static int being_traced(const struct export_info *ex)
{
	const struct bp_trace *t;

	for (t = tracing; t; t = t->next)
		if (t->version == ex->version &&
		    !strcmp(t->image_id, ex->image_id))
			return 1;
	return 0;
}

static void version_dir(const struct lb_config *cfg, const char *id,
			unsigned v, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/boot/%s/v%u", cfg->state_dir, id, v);
}

static int file_exists(const char *dir, const char *name)
{
	char path[STORE_PATH_MAX + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

struct bp_trace *bp_trace_begin(const struct lb_config *cfg,
				const struct export_info *ex, uint64_t size)
{
	char dir[STORE_PATH_MAX];
	struct bp_trace *t;
	struct stat st;

	/* PCs' boots only (a boot credential), and one trace per version */
	if (cfg->boot_trace_seconds <= 0 || ex->cred_kind != CRED_BOOT ||
	    !ex->image_id[0] || size == 0)
		return NULL;
	version_dir(cfg, ex->image_id, ex->version, dir, sizeof(dir));
	if (stat(dir, &st) != 0 || file_exists(dir, "boot.trace") ||
	    being_traced(ex))
		return NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return NULL;
	t->cfg = cfg;
	snprintf(t->image_id, sizeof(t->image_id), "%s", ex->image_id);
	snprintf(t->mac, sizeof(t->mac), "%s", ex->client_mac);
	t->version = ex->version;
	t->nblocks = (size + BP_BLOCK_SIZE - 1) / BP_BLOCK_SIZE;
	t->t0 = now_ms();
	if (!(t->seen = calloc((size_t)(t->nblocks + 7) / 8, 1))) {
		free(t);
		return NULL;
	}
	t->next = tracing;
	tracing = t;
	return t;
}

static int trace_add(struct bp_trace *t, uint64_t blk)
{
	if (t->seen[blk / 8] & (1u << (blk % 8)))
		return 0;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 1024;
		uint64_t *o;

		if (cap > TRACE_MAX_BLOCKS ||
		    !(o = realloc(t->order, cap * sizeof(*o))))
			return -ENOMEM;
		t->order = o;
		t->cap = cap;
	}
	t->seen[blk / 8] |= (uint8_t)(1u << (blk % 8));
	t->order[t->n++] = blk;
	return 0;
}

/* Build the version's pack in a detached grandchild: the event loop
 * goes on serving while it reads and compresses. */
static void build_detached(const struct lb_config *cfg, const char *id,
			   unsigned v)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_warn("boot pack: fork");
		return;
	}
	if (pid == 0) {
		char vs[16];
		const char *argv[12];
		int n = 0;

		if (fork() != 0)
			_exit(0);	/* the grandchild is init's */
		/* no listening socket of ours may outlive a server restart;
		 * and SQLite must not be used across fork(): a fresh
		 * `linkboot image pack` does the work */
		close_range(3, ~0u, 0);
		snprintf(vs, sizeof(vs), "%u", v);
		argv[n++] = "linkboot";
		argv[n++] = "image";
		argv[n++] = "--state";
		argv[n++] = cfg->state_dir;
		if (cfg->store_dir) {
			argv[n++] = "--store";
			argv[n++] = cfg->store_dir;
		}
		argv[n++] = "pack";
		argv[n++] = id;
		argv[n++] = "--version";
		argv[n++] = vs;
		argv[n] = NULL;
		execv("/proc/self/exe", (char *const *)argv);
		log_warn("boot pack: exec /proc/self/exe");
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static void trace_write(struct bp_trace *t)
{
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 32];
	char tmp[STORE_PATH_MAX + 48];
	FILE *f;
	uint32_t i;
	int ok;

	t->done = 1;
	if (t->n == 0)
		return;
	version_dir(t->cfg, t->image_id, t->version, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/boot.trace", dir);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if (!(f = fopen(tmp, "we"))) {
		log_warn("boot pack: %s", tmp);
		return;
	}
	for (i = 0; i < t->n; i++)
		fprintf(f, "%llu\n", (unsigned long long)t->order[i]);
	ok = fflush(f) == 0 && !ferror(f);
	fclose(f);
	/* link(), not rename(): the first boot's trace wins a race */
	if (!ok || link(tmp, path) != 0) {
		unlink(tmp);
		return;
	}
	unlink(tmp);
	log_info("boot pack: %s v%u: trace of %u blocks (first %d s of a "
		 "client boot) in %s", t->image_id, t->version, t->n,
		 t->cfg->boot_trace_seconds, path);
	/* a pack from the parent's trace alone (image commit) lacks what
	 * this version reads anew: build it again from both */
	if (!file_exists(dir, "boot.pack") || file_exists(dir, "boot.trace.base"))
		build_detached(t->cfg, t->image_id, t->version);
}

void bp_trace_read(struct bp_trace *t, uint64_t off, uint32_t len)
{
	uint64_t b, last;

	if (!t || t->done || len == 0)
		return;
	if (now_ms() - t->t0 > (int64_t)t->cfg->boot_trace_seconds * 1000) {
		trace_write(t);
		return;
	}
	last = (off + len - 1) / BP_BLOCK_SIZE;
	for (b = off / BP_BLOCK_SIZE; b <= last && b < t->nblocks; b++)
		if (trace_add(t, b) != 0) {
			t->done = 1;	/* out of memory: no trace */
			return;
		}
}

int64_t bp_trace_left_ms(const char *mac, int64_t now)
{
	const struct bp_trace *t;
	int64_t end;

	for (t = tracing; t; t = t->next) {
		if (t->done || strcasecmp(t->mac, mac) != 0)
			continue;
		end = t->t0 + (int64_t)t->cfg->boot_trace_seconds * 1000;
		return end > now ? end - now : 0;
	}
	return 0;
}

int64_t bp_trace_tick(struct bp_trace *t, int64_t now)
{
	int64_t end;

	if (!t || t->done)
		return -1;
	end = t->t0 + (int64_t)t->cfg->boot_trace_seconds * 1000;
	if (now <= end)
		return end + 1;
	trace_write(t);
	return -1;
}

void bp_trace_end(struct bp_trace *t)
{
	struct bp_trace **pp;

	if (!t)
		return;
	for (pp = &tracing; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	/* a boot shorter than the window (or a client gone early) */
	if (!t->done)
		trace_write(t);
	free(t->seen);
	free(t->order);
	free(t);
}

/* ---- building ---------------------------------------------------------- */

struct trace_list {
	uint64_t *blk;		/* blocks, first-read order */
	uint32_t n, cap;
	uint8_t *seen;		/* bitmap of nblocks bits */
	uint64_t nblocks;
};

/* Append the blocks of one trace file not listed yet. 0, -errno
 * (-ENOENT: no such file). */
static int trace_append(struct trace_list *tl, const char *path)
{
	unsigned long long b;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fscanf(f, "%llu", &b) == 1) {
		if (b >= tl->nblocks)
			continue;	/* a trace of another size: skip */
		if (tl->seen[b / 8] & (1u << (b % 8)))
			continue;
		if (tl->n == tl->cap) {
			uint32_t cap = tl->cap ? tl->cap * 2 : 1024;
			uint64_t *nv;

			if (cap > TRACE_MAX_BLOCKS ||
			    !(nv = realloc(tl->blk, cap * sizeof(*nv)))) {
				fclose(f);
				return -ENOMEM;
			}
			tl->blk = nv;
			tl->cap = cap;
		}
		tl->seen[b / 8] |= (uint8_t)(1u << (b % 8));
		tl->blk[tl->n++] = b;
	}
	fclose(f);
	return 0;
}

/*
 * The trace a pack of the version in dir is built from: its own boot's
 * (boot.trace), then what it inherited at `image commit` (boot.trace.base,
 * the parent's). A commit's first boot is often traced on a PC whose SSD
 * already holds the parent's blocks: its own trace then lists only what
 * changed, and a pack of it alone would miss the rest of the boot.
 * -ENOENT when the version has neither.
 */
static int load_trace(const char *dir, uint64_t nblocks, uint64_t **out,
		      uint32_t *n)
{
	char path[STORE_PATH_MAX + 32];
	struct trace_list tl = { .nblocks = nblocks };
	int rc, found = 0;

	*out = NULL;
	*n = 0;
	if (!(tl.seen = calloc((size_t)(nblocks + 7) / 8, 1)))
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/boot.trace", dir);
	rc = trace_append(&tl, path);
	found |= rc == 0;
	if (rc == 0 || rc == -ENOENT) {
		snprintf(path, sizeof(path), "%s/boot.trace.base", dir);
		rc = trace_append(&tl, path);
		found |= rc == 0;
	}
	free(tl.seen);
	if (rc == -ENOENT)
		rc = found ? 0 : -ENOENT;
	if (rc) {
		free(tl.blk);
		return rc;
	}
	*out = tl.blk;
	*n = tl.n;
	return 0;
}

/* Write blocks as a trace file (one decimal block a line), atomically. */
static int trace_save(const char *path, const uint64_t *blk, uint32_t n)
{
	char tmp[STORE_PATH_MAX + 48];
	FILE *f;
	uint32_t i;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if (!(f = fopen(tmp, "we")))
		return -errno;
	for (i = 0; i < n; i++)
		fprintf(f, "%llu\n", (unsigned long long)blk[i]);
	ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
	fclose(f);
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* Runs of consecutive blocks, in trace order, become extents. */
static uint32_t make_extents(const uint64_t *blk, uint32_t n,
			     struct bp_extent *ext)
{
	uint32_t i, ne = 0;

	for (i = 0; i < n; i++) {
		if (ne && ext[ne - 1].first + ext[ne - 1].count == blk[i] &&
		    ext[ne - 1].count < UINT32_MAX) {
			ext[ne - 1].count++;
			continue;
		}
		if (ne == BOOTPACK_MAX_EXTENTS)
			break;
		ext[ne].first = blk[i];
		ext[ne].count = 1;
		ne++;
	}
	return ne;
}

struct read_ctx {
	struct vchain *c;
	uint64_t size;
};

static int read_block(void *arg, uint64_t blk, void *buf)
{
	struct read_ctx *rc = arg;
	uint64_t off = blk * BP_BLOCK_SIZE;
	uint32_t n = (uint32_t)MIN((uint64_t)BP_BLOCK_SIZE, rc->size - off);

	memset((uint8_t *)buf + n, 0, BP_BLOCK_SIZE - n);
	return vchain_read(rc->c, buf, off, n);
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[STORE_PATH_MAX + 48];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -errno;
	while (len && rc == 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0) {
			buf += w;
			len -= (size_t)w;
		}
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/* The blocks of the trace of trace_version (a commit's new version
 * keeps its parent's, joined with its own first boot's by load_trace(),
 * in boot.trace.base). */
static int pack_trace(struct db *db, const char *image_id, unsigned version,
		      unsigned trace_version, uint64_t size, uint64_t **blk,
		      uint32_t *n)
{
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 32];
	int rc;

	image_boot_dir(db, image_id, trace_version ? trace_version : version,
		       dir, sizeof(dir));
	if ((rc = load_trace(dir, (size + BP_BLOCK_SIZE - 1) / BP_BLOCK_SIZE,
			     blk, n)) != 0)
		return rc;
	if (trace_version && trace_version != version) {
		image_boot_dir(db, image_id, version, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/boot.trace.base", dir);
		if ((rc = trace_save(path, *blk, *n)) != 0)
			return rc;
	}
	return *n ? 0 : -ENODATA;
}

/* Encode the traced blocks of rd and write <boot dir>/boot.pack. */
static int pack_write(struct db *db, const char *image_id, unsigned version,
		      struct read_ctx *rd, const uint64_t *blk, uint32_t n,
		      uint64_t *nblocks, uint64_t *bytes)
{
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 32];
	struct bp_header h = { .block_size = BP_BLOCK_SIZE,
			       .image_size = rd->size, .version = version };
	struct bp_extent *ext;
	uint8_t *pack = NULL;
	size_t packlen = 0;
	int rc;

	if (!(ext = calloc(MIN(n, BOOTPACK_MAX_EXTENTS), sizeof(*ext))))
		return -ENOMEM;
	h.nextents = make_extents(blk, n, ext);
	image_boot_dir(db, image_id, version, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/boot.pack", dir);
	if ((rc = bootpack_encode(&h, ext, read_block, rd, &pack,
				  &packlen)) == 0 &&
	    (rc = write_file(path, pack, packlen)) == 0) {
		for (uint32_t i = 0; i < h.nextents; i++)
			*nblocks += ext[i].count;
		*bytes = packlen;
	}
	free(ext);
	free(pack);
	return rc;
}

int bootpack_build(struct db *db, const char *image_id, unsigned version,
		   unsigned trace_version, uint64_t *nblocks, uint64_t *bytes)
{
	struct store_chain *ch;
	struct read_ctx rd = { 0 };
	uint64_t *blk = NULL;
	uint32_t n = 0;
	int rc;

	*nblocks = 0;
	*bytes = 0;
	if (!(ch = malloc(sizeof(*ch))))
		return -ENOMEM;
	if ((rc = store_chain_load(db_sqlite(db), db_store_dir(db),
				   db_state_dir(db), image_id, version,
				   ch)) == 0 &&
	    (rc = store_chain_open(ch, &rd.c)) == 0) {
		rd.size = vchain_size(rd.c);
		if ((rc = pack_trace(db, image_id, version, trace_version,
				     rd.size, &blk, &n)) == 0)
			rc = pack_write(db, image_id, version, &rd, blk, n,
					nblocks, bytes);
		vchain_close(rd.c);
	}
	free(ch);
	free(blk);
	return rc;
}

/* ---- image pack (image_ops.h) -------------------------------------------- */

/* The version of an image to pack: v, else production (else the newest). */
static int pack_target(struct db *db, const char *name, unsigned v,
		       struct image_pack_result *res, char *why, size_t len)
{
	struct image_info img;
	int rc;

	if ((rc = image_find(db, name, &img, why, len)) != 0)
		return rc;
	snprintf(res->id, sizeof(res->id), "%s", img.id);
	snprintf(res->name, sizeof(res->name), "%s", img.name);
	res->version = v ? v : img.production ? img.production : img.latest;
	if (!image_version_exists(db, img.id, res->version))
		return db_why(why, len, ENOENT_IMAGE_VERSION, "%s has no version"
			      " %u (linkboot image versions %s)", img.name,
			      res->version, img.name);
	return 0;
}

/* Forget the trace (and the pack built from it): the next boot traces. */
static int pack_forget(struct db *db, const struct image_pack_result *res,
		       char *why, size_t len)
{
	static const char *const files[] = {
		"boot.trace", "boot.trace.base", "boot.pack",
	};
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 32];

	image_boot_dir(db, res->id, res->version, dir, sizeof(dir));
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			return db_why(why, len, -errno, "%s: %s", path,
				      strerror(errno));
	}
	return 0;
}

int image_pack(struct db *db, const char *name, unsigned version,
	       int retrace, struct image_pack_result *res, char *why,
	       size_t len)
{
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = pack_target(db, name, version, res, why, len)) != 0)
		return rc;
	if (retrace)
		return pack_forget(db, res, why, len);
	rc = bootpack_build(db, res->id, res->version, 0, &res->blocks,
			    &res->bytes);
	if (rc == -ENOENT)
		return db_why(why, len, ENOENT_IMAGE_TRACE, "%s v%u has no boot "
			      "trace yet", res->name, res->version);
	if (rc)
		return db_why(why, len, rc, "%s v%u: %s", res->name,
			      res->version, err_str(rc));
	return 0;
}

/* ---- block-hash table index (hashidx.h) --------------------------------- */

int hashidx_write(const char *hashes_path)
{
	char path[STORE_PATH_MAX + 16];
	uint8_t hdr[HASHIDX_HDR_LEN], *chunk = NULL;
	uint8_t *idx = NULL;
	struct stat st;
	size_t n, idxlen;
	uint32_t i, count;
	int fd, rc = -ENOMEM;

	if ((fd = open(hashes_path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > HASHIDX_MAX_TABLE) {
		close(fd);
		return -EINVAL;
	}
	hashidx_hdr_build(hdr, (uint64_t)st.st_size);
	count = get_le32(hdr + 12);
	idxlen = HASHIDX_HDR_LEN + (size_t)count * 32;
	if (!(chunk = malloc(HASHIDX_CHUNK)) || !(idx = malloc(idxlen)))
		goto out;
	memcpy(idx, hdr, sizeof(hdr));
	for (i = 0; i < count; i++) {
		ssize_t r;

		memset(chunk, 0, HASHIDX_CHUNK);
		for (n = 0; n < HASHIDX_CHUNK; n += (size_t)r) {
			r = pread(fd, chunk + n, HASHIDX_CHUNK - n,
				  (off_t)i * HASHIDX_CHUNK + (off_t)n);
			if (r < 0) {
				rc = -errno;
				goto out;
			}
			if (r == 0)
				break;	/* the last chunk: zero-padded */
		}
		sha256(chunk, HASHIDX_CHUNK, idx + HASHIDX_HDR_LEN + (size_t)i * 32);
	}
	snprintf(path, sizeof(path), "%s.idx", hashes_path);
	rc = write_file(path, idx, idxlen);
out:
	close(fd);
	free(chunk);
	free(idx);
	return rc;
}
