/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client initramfs (initramfs.h), a gzip'ed newc cpio
 * (Documentation/driver-api/early-userspace/buffer-format.rst) written
 * here with zlib, no external cpio:
 *
 *   /init                    linkboot-agent (static)
 *   /dev/console             so the kernel gives /init a console
 *   /bin/busybox, /bin/sh    rescue shell, when the host has a static one
 *   /lib/modules/KVER/...    nbd, overlay, ext4 (+ crc32c_generic), xfs,
 *                            every ethernet + USB net driver, storage
 *                            drivers, their deps; modules.dep/alias/
 *                            softdep for that set
 *   /lib/firmware/...        what those drivers reference (modinfo
 *                            firmware=), when the modules root has it
 *
 * Modules and firmware a distribution ships compressed (.ko.xz, .ko.zst,
 * foo.bin.xz) go in uncompressed, under their plain names, so the agent
 * loads them on kernels without CONFIG_MODULE_DECOMPRESS too.
 *
 * --minimal keeps only the NIC/storage drivers this machine's /sys
 * modaliases (or --pci-ids) need. The command itself is cli/initramfs.c.
 */

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "decompress.h"
#include "initramfs.h"
#include "lb_err.h"
#include "lb_log.h"
#include "lb_util.h"
#include "modules_dep.h"

#define CPIO_MAX_DIRS 1024

/* Modules the agent needs whatever the PC (DESIGN.md "Verified"). */
/* where `make install` puts the agent (Makefile LIBDIR) */
#ifndef LINKBOOT_LIBDIR
#define LINKBOOT_LIBDIR "/usr/local/lib/linkboot"
#endif

static const char *const core_modules[] = {
	"nbd", "overlay", "ext4", "crc32c_generic", "xfs",
	"virtio_pci", "virtio_net",
};

/* storage, for the local cache partition: a PC that has none (ssd off,
 * the default) never loads them, so the split set keeps them apart */
static const char *const storage_modules[] = {
	"sd_mod", "nvme", "ahci", "ata_piix", "usb_storage", "uas",
	"virtio_blk", "virtio_scsi",
	"xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd",
};

/* every module under these is a NIC driver */
static const char *const nic_dirs[] = {
	"kernel/drivers/net/ethernet/", "kernel/drivers/net/usb/",
};

struct cpio {
	gzFile gz;
	unsigned ino;
	uint64_t bytes_in;
	char dirs[CPIO_MAX_DIRS][128];	/* emitted directories */
	unsigned ndirs;
};

static int cpio_header(struct cpio *c, const char *name, unsigned mode,
		       uint64_t size, unsigned rmaj, unsigned rmin)
{
	char h[111];
	size_t nlen = strlen(name) + 1;
	static const char pad[4];

	snprintf(h, sizeof(h),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->ino, mode, 0u, 0u, (mode & S_IFMT) == S_IFDIR ? 2u : 1u,
		 0u, (unsigned)size, 0u, 0u, rmaj, rmin, (unsigned)nlen, 0u);
	if (gzwrite(c->gz, h, 110) != 110 ||
	    gzwrite(c->gz, name, (unsigned)nlen) != (int)nlen)
		return -EIO;
	/* header + name padded to 4 */
	if ((110 + nlen) % 4 &&
	    gzwrite(c->gz, pad, (unsigned)(4 - (110 + nlen) % 4)) <= 0)
		return -EIO;
	return 0;
}

static int cpio_pad(struct cpio *c, uint64_t size)
{
	static const char pad[4];

	if (size % 4 && gzwrite(c->gz, pad, (unsigned)(4 - size % 4)) <= 0)
		return -EIO;
	return 0;
}

/* mkdir -p inside the archive */
static int cpio_dirs(struct cpio *c, const char *path)
{
	char dir[256];
	char *slash;
	unsigned i;
	int rc;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		for (i = 0; i < c->ndirs; i++)
			if (!strcmp(c->dirs[i], dir))
				break;
		if (i == c->ndirs) {
			if (c->ndirs == CPIO_MAX_DIRS || strlen(dir) >= 128)
				return -E2BIG;
			strcpy(c->dirs[c->ndirs++], dir);
			if ((rc = cpio_header(c, dir, S_IFDIR | 0755, 0, 0, 0)))
				return rc;
		}
		*slash = '/';
	}
	return 0;
}

static int cpio_data(struct cpio *c, const char *name, unsigned mode,
		     const void *data, size_t len)
{
	int rc;

	if ((rc = cpio_dirs(c, name)) != 0 ||
	    (rc = cpio_header(c, name, S_IFREG | mode, len, 0, 0)) != 0)
		return rc;
	if (len && gzwrite(c->gz, data, (unsigned)len) != (int)len)
		return -EIO;
	c->bytes_in += len;
	return cpio_pad(c, len);
}

static int cpio_file(struct cpio *c, const char *name, const char *src,
		     unsigned mode)
{
	char buf[65536];
	struct stat st;
	uint64_t left;
	int fd, rc;

	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || st.st_size > 0x7fffffff) {
		close(fd);
		return -EFBIG;
	}
	if ((rc = cpio_dirs(c, name)) != 0 ||
	    (rc = cpio_header(c, name, S_IFREG | mode, (uint64_t)st.st_size,
			      0, 0)) != 0)
		goto out;
	for (left = (uint64_t)st.st_size; left;) {
		ssize_t n = read(fd, buf, MIN(sizeof(buf), left));

		if (n <= 0) {
			rc = -EIO;	/* file shrank under us */
			goto out;
		}
		if (gzwrite(c->gz, buf, (unsigned)n) != (int)n) {
			rc = -EIO;
			goto out;
		}
		left -= (uint64_t)n;
	}
	c->bytes_in += (uint64_t)st.st_size;
	rc = cpio_pad(c, (uint64_t)st.st_size);
out:
	close(fd);
	return rc;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* --- module selection ------------------------------------------------ */

struct sel {
	struct moddb db;
	struct modlist list;	/* selected, in load order */
	const char *moddir;
};

static void sel_add(struct sel *s, const char *name, int quiet_missing)
{
	int rc = moddb_resolve(&s->db, name, &s->list);

	if (rc == -ENOENT && !quiet_missing)
		log_debug("initramfs: module %s not found (built in?)", name);
	else if (rc != 0 && rc != -ENOENT)
		log_warnx("initramfs: module %s: %s", name, err_str(rc));
}

/* Call fn(name) for every NIC driver of the modules root (nic_dirs). */
static void each_nic_module(const struct sel *s,
			    void (*fn)(const char *name, void *arg), void *arg)
{
	const char *p = s->db.dep;
	char name[64];

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *colon = strchr(p, ':');
		size_t i;

		if (!eol)
			eol = p + strlen(p);
		for (i = 0; colon && colon < eol && i < ARRAY_SIZE(nic_dirs); i++)
			if (!strncmp(p, nic_dirs[i], strlen(nic_dirs[i]))) {
				moddb_name_of(p, (size_t)(colon - p), name,
					      sizeof(name));
				fn(name, arg);
				break;
			}
		p = *eol ? eol + 1 : eol;
	}
}

static void sel_add_cb(const char *name, void *arg)
{
	sel_add(arg, name, 0);
}

static void sel_nic_dirs(struct sel *s)
{
	each_nic_module(s, sel_add_cb, s);
}

static void alias_add_cb(const char *name, void *ctx)
{
	struct sel *s = ctx;
	char path[MODPATH_MAX];

	/* only drivers the agent loads before the root: NIC, storage, bus */
	if (moddb_find(&s->db, name, path, sizeof(path)) != 0)
		return;
	if (strncmp(path, "kernel/drivers/net/", 19) &&
	    strncmp(path, "kernel/drivers/virtio/", 22) &&
	    strncmp(path, "kernel/drivers/ata/", 19) &&
	    strncmp(path, "kernel/drivers/nvme/", 20) &&
	    strncmp(path, "kernel/drivers/scsi/", 20) &&
	    strncmp(path, "kernel/drivers/block/", 21) &&
	    strncmp(path, "kernel/drivers/usb/", 19))
		return;
	sel_add(s, name, 0);
}

/* --minimal: this machine's devices */
static void sel_from_sys(struct sel *s)
{
	moddb_match_sys(&s->db, alias_add_cb, s);
}

/* --pci-ids 8086:100e,10ec:8168: network-class modaliases */
static int sel_from_pci_ids(struct sel *s, const char *ids)
{
	const char *p = ids;

	while (*p) {
		unsigned v, d;
		char alias[96];
		int used = 0;

		if (sscanf(p, "%4x:%4x%n", &v, &d, &used) != 2 || used != 9) {
			log_warnx("initramfs: --pci-ids: bad '%.20s' (want "
				  "VVVV:DDDD[,VVVV:DDDD...], as `lspci -n` "
				  "prints)", p);
			return -EINVAL;
		}
		snprintf(alias, sizeof(alias),
			 "pci:v%08Xd%08Xsv%08Xsd%08Xbc02sc00i00", v, d, 0u, 0u);
		if (moddb_alias_match(&s->db, alias, alias_add_cb, s) == 0)
			log_warnx("initramfs: no driver for PCI %04x:%04x in "
				  "this kernel", v, d);
		p += used;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* "kernel/x/e1000.ko.xz" -> "kernel/x/e1000.ko": the name a module has in
 * the initramfs (cpio_modules() decompresses it). */
static void module_plain_name(char *out, size_t size, const char *path)
{
	const char *suffix = compressed_suffix(path);
	size_t n = suffix ? (size_t)(suffix - path) : strlen(path);

	snprintf(out, size, "%.*s", (int)n, path);
}

/* A modules.dep line with every module path's compression suffix
 * dropped (the line never grows): "a.ko.xz: b.ko.zst" -> "a.ko: b.ko". */
static size_t dep_line_plain(char *out, const char *line, size_t len)
{
	size_t o = 0, i = 0;

	while (i < len) {
		size_t tok = i;
		char word[MODPATH_MAX];

		while (i < len && line[i] != ' ' && line[i] != ':' &&
		       line[i] != '\n')
			i++;
		if (i - tok < sizeof(word)) {
			memcpy(word, line + tok, i - tok);
			word[i - tok] = '\0';
			module_plain_name(out + o, i - tok + 1, word);
			o += strlen(out + o);
		} else {
			memcpy(out + o, line + tok, i - tok);
			o += i - tok;
		}
		if (i < len)
			out[o++] = line[i++];
	}
	return o;
}

/*
 * The selected modules from the first-th on, as a sorted list of keys
 * (their paths for modules.dep, their names for modules.alias) to look
 * lines up in: a distribution kernel's index has tens of thousands of
 * lines, too many to walk the selection for each.
 */
#define SEL_KEY_MAX	MODPATH_MAX

struct sel_keys {
	char (*v)[SEL_KEY_MAX];
	size_t n;
};

static int key_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int sel_keys_make(struct sel_keys *k, const struct sel *s,
			 size_t first, int names)
{
	k->n = 0;
	if (!(k->v = calloc(s->list.n - first + 1, sizeof(*k->v))))
		return -ENOMEM;
	for (size_t i = first; i < s->list.n; i++) {
		const char *path = s->list.e[i].path;

		if (names)
			moddb_name_of(path, strlen(path), k->v[k->n++],
				      SEL_KEY_MAX);
		else if (strlen(path) < SEL_KEY_MAX)
			snprintf(k->v[k->n++], SEL_KEY_MAX, "%s", path);
	}
	qsort(k->v, k->n, sizeof(*k->v), key_cmp);
	return 0;
}

static int sel_keys_has(const struct sel_keys *k, const char *key, size_t len)
{
	char want[SEL_KEY_MAX];

	if (len >= sizeof(want))
		return 0;
	memcpy(want, key, len);
	want[len] = '\0';
	return bsearch(want, k->v, k->n, sizeof(*k->v), key_cmp) != NULL;
}

/* modules.dep lines of the selected modules from the first-th on only */
static char *filter_dep(const struct sel *s, size_t first, size_t *olen)
{
	const char *p = s->db.dep;
	struct sel_keys k;
	size_t o = 0;
	char *out;

	if (sel_keys_make(&k, s, first, 0) != 0)
		return NULL;
	if (!(out = malloc(strlen(p) + 1))) {
		free(k.v);
		return NULL;
	}
	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *colon = strchr(p, ':');
		size_t len;

		if (!eol)
			eol = p + strlen(p);
		len = (size_t)(eol - p) + (*eol ? 1 : 0);
		if (colon && colon < eol &&
		    sel_keys_has(&k, p, (size_t)(colon - p)))
			o += dep_line_plain(out + o, p, len);
		p += len;
	}
	free(k.v);
	*olen = o;
	return out;
}

struct alias_filter {
	struct sel_keys names;
	char *out;
	size_t cap, o;
};

static void alias_keep(const char *pattern, const char *name, void *ctx)
{
	struct alias_filter *f = ctx;
	char n[SEL_KEY_MAX];
	int len;

	/* modules.alias may spell a name with '-'; module names use '_' */
	snprintf(n, sizeof(n), "%s", name);
	for (char *q = n; *q; q++)
		if (*q == '-')
			*q = '_';
	if (!sel_keys_has(&f->names, n, strlen(n)))
		return;
	len = snprintf(f->out + f->o, f->cap - f->o, "alias %s %s\n", pattern,
		       name);
	if (len > 0 && (size_t)len < f->cap - f->o)
		f->o += (size_t)len;
}

/* modules.alias lines of the selected modules from the first-th on only */
static char *filter_alias(const struct sel *s, size_t first, size_t *olen)
{
	struct alias_filter f = { .cap = (s->db.alias ? strlen(s->db.alias)
					  : 0) + 1 };

	if (sel_keys_make(&f.names, s, first, 1) != 0)
		return NULL;
	if ((f.out = malloc(f.cap))) {
		f.out[0] = '\0';
		moddb_each_alias(&s->db, alias_keep, &f);
	}
	free(f.names.v);
	*olen = f.o;
	return f.out;
}

static int is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* src, decompressed, as name in the archive */
static int cpio_decompressed(struct cpio *c, const char *name,
			     const char *src, char **data, size_t *len)
{
	int rc;

	if ((rc = decompress_file(src, data, len)) != 0) {
		log_warnx("initramfs: %s: cannot decompress: %s", src,
			  err_str(rc));
		return rc;
	}
	return cpio_data(c, name, 0644, *data, *len);
}

/* Firmware fw (a path under fwroot) as lib/firmware/fw: as it is, or
 * from fw.xz / fw.zst, decompressed. 1 added, 0 not in this root. */
static int add_one_firmware(struct cpio *c, const char *fwroot,
			    const char *fw)
{
	static const char *const suffixes[] = { "", ".xz", ".zst" };
	char src[1024], dst[300];

	snprintf(dst, sizeof(dst), "lib/firmware/%s", fw);
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		char *data = NULL;
		size_t len;
		int rc;

		snprintf(src, sizeof(src), "%s/%s%s", fwroot, fw, suffixes[i]);
		if (!is_regular(src))
			continue;
		if (!*suffixes[i])
			rc = cpio_file(c, dst, src, 0644);
		else
			rc = cpio_decompressed(c, dst, src, &data, &len);
		free(data);
		return rc ? rc : 1;
	}
	return 0;	/* not in this modules root: skip */
}

/* modinfo "firmware=NAME" strings in a module (its .modinfo section) */
static int add_firmware(struct cpio *c, const char *buf, size_t len,
			const char *fwroot, unsigned *nfw)
{
	int rc;

	for (size_t i = 0; i + 9 < len; i++) {
		const char *fw;

		if (memcmp(buf + i, "firmware=", 9) != 0 ||
		    (i > 0 && buf[i - 1] != '\0'))
			continue;
		fw = buf + i + 9;
		if (strnlen(fw, len - i - 9) >= 200 || strstr(fw, ".."))
			continue;
		if ((rc = add_one_firmware(c, fwroot, fw)) < 0)
			return rc;
		*nfw += (unsigned)rc;
	}
	return 0;
}

static int find_kver(const char *root, char *kver, size_t sz)
{
	char dir[512];
	struct dirent *de;
	DIR *d;
	struct utsname u;

	if (!strcmp(root, "/") && uname(&u) == 0) {
		snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
		if (access(dir, F_OK) == 0)
			return strlcpy_chk(kver, u.release, sz);
	}
	snprintf(dir, sizeof(dir), "%s/lib/modules", root);
	if (!(d = opendir(dir)))
		return -ENOENT;
	kver[0] = '\0';
	/* the newest by version-ish string order */
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strverscmp(de->d_name, kver) > 0)
			strlcpy_chk(kver, de->d_name, sz);
	closedir(d);
	return kver[0] ? 0 : -ENOENT;
}

static int default_agent(char *out, size_t sz)
{
	char self[300];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(out, sz, "%s/linkboot-agent", self);
			if (access(out, R_OK) == 0)
				return 0;
		}
	}
	snprintf(out, sz, "%s/linkboot-agent", LINKBOOT_LIBDIR);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

/* A static ELF (no PT_INTERP): a dynamic busybox would not run in the
 * initramfs, which has no libraries. */
static int is_static_elf(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum > 64)
		goto out;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
			  (uint64_t)i * sizeof(ph))) != (ssize_t)sizeof(ph))
			goto out;
		if (ph.p_type == PT_INTERP)
			goto out;
	}
	rc = 1;
out:
	close(fd);
	return rc;
}

/* One build: what is read from the modules root and what is written. */
struct initramfs_build {
	struct sel sel;
	struct cpio cpio;
	char kver[128];
	char moddir[400];
	char *dep, *softdep, *alias, *builtin;	/* module index files */
	size_t builtin_len;
	unsigned nfirmware;
};

static void build_free(struct initramfs_build *b)
{
	free(b->dep);
	free(b->softdep);
	free(b->alias);
	free(b->builtin);
	free(b);
}

/* lib/modules/<kver>/modules.{dep,softdep,alias,builtin} of the root. */
static int build_read_index(struct initramfs_build *b,
			    const struct initramfs_opts *o, const char *root)
{
	char path[700];
	int rc;

	if (o->kver)
		snprintf(b->kver, sizeof(b->kver), "%s", o->kver);
	else if ((rc = find_kver(root, b->kver, sizeof(b->kver))) != 0) {
		log_warnx("initramfs: no kernel modules under %s/lib/modules "
			  "(give --modules DIR or --kernel-version V)", root);
		return rc;
	}
	snprintf(b->moddir, sizeof(b->moddir), "%s/lib/modules/%s", root,
		 b->kver);
	snprintf(path, sizeof(path), "%s/modules.dep", b->moddir);
	if (!(b->dep = slurp(path, NULL))) {
		log_warnx("initramfs: cannot read %s (check: run `depmod -b "
			  "%s %s`)", path, root, b->kver);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/modules.softdep", b->moddir);
	b->softdep = slurp(path, NULL);
	snprintf(path, sizeof(path), "%s/modules.alias", b->moddir);
	b->alias = slurp(path, NULL);
	snprintf(path, sizeof(path), "%s/modules.builtin", b->moddir);
	b->builtin = slurp(path, &b->builtin_len);
	return 0;
}

static void sel_add_list(struct sel *s, const char *const *names, size_t n,
			 const struct initramfs_opts *o)
{
	for (size_t i = 0; i < n; i++)
		if (!o->no_xfs || strcmp(names[i], "xfs"))
			sel_add(s, names[i], 1);
}

/* The modules the agent needs whatever the PC (core_modules). */
static void build_select_core(struct initramfs_build *b,
			      const struct initramfs_opts *o)
{
	struct sel *s = &b->sel;

	s->db.dep = b->dep;
	s->db.softdep = b->softdep;
	s->db.alias = b->alias;
	s->moddir = b->moddir;
	sel_add_list(s, core_modules, ARRAY_SIZE(core_modules), o);
}

/* The modules to take: the agent's own, then every NIC driver, or with
 * minimal only what this machine's devices (and pci_ids) need. */
static int build_select(struct initramfs_build *b,
			const struct initramfs_opts *o)
{
	build_select_core(b, o);
	sel_add_list(&b->sel, storage_modules, ARRAY_SIZE(storage_modules),
		     o);
	if (!o->minimal) {
		sel_nic_dirs(&b->sel);
		return 0;
	}
	sel_from_sys(&b->sel);
	return o->pci_ids ? sel_from_pci_ids(&b->sel, o->pci_ids) : 0;
}

/* /dev/console, so the kernel gives /init a console; the mount points. */
static int cpio_base_tree(struct cpio *c)
{
	int rc;

	if ((rc = cpio_header(c, "dev", S_IFDIR | 0755, 0, 0, 0)) != 0 ||
	    (rc = cpio_header(c, "dev/console", S_IFCHR | 0600, 0, 5, 1)) ||
	    (rc = cpio_header(c, "proc", S_IFDIR | 0755, 0, 0, 0)) != 0 ||
	    (rc = cpio_header(c, "sys", S_IFDIR | 0755, 0, 0, 0)) != 0)
		return rc;
	return cpio_header(c, "newroot", S_IFDIR | 0755, 0, 0, 0);
}

/* Debian busybox-static: a rescue shell for agent_panic(). */
static int cpio_busybox(struct cpio *c)
{
	int rc;

	if (access("/bin/busybox", X_OK) != 0 || !is_static_elf("/bin/busybox"))
		return 0;
	if ((rc = cpio_file(c, "bin/busybox", "/bin/busybox", 0755)) ||
	    (rc = cpio_header(c, "bin/sh", S_IFLNK | 0777, 7, 0, 0)))
		return rc;
	if (gzwrite(c->gz, "busybox", 7) != 7)
		return -EIO;
	return cpio_pad(c, 7);
}

/* The selected modules from the first-th on, and the firmware they
 * reference. */
static int cpio_modules(struct initramfs_build *b, const char *root,
			size_t first)
{
	const struct modlist *l = &b->sel.list;
	char fwroot[700];
	int rc;

	snprintf(fwroot, sizeof(fwroot), "%s/lib/firmware", root);
	for (size_t i = first; i < l->n; i++) {
		char src[700], dst[400], *data = NULL;
		size_t len = 0;

		snprintf(src, sizeof(src), "%s/%s", b->moddir, l->e[i].path);
		snprintf(dst, sizeof(dst), "lib/modules/%s/", b->kver);
		module_plain_name(dst + strlen(dst), sizeof(dst) - strlen(dst),
				  l->e[i].path);
		if (compressed_suffix(src)) {
			rc = cpio_decompressed(&b->cpio, dst, src, &data, &len);
		} else if ((rc = cpio_file(&b->cpio, dst, src, 0644)) != 0) {
			log_warnx("initramfs: %s: %s", src, err_str(rc));
		} else {
			data = slurp(src, &len);
		}
		if (rc == 0 && data)
			rc = add_firmware(&b->cpio, data, len, fwroot,
					  &b->nfirmware);
		free(data);
		if (rc)
			return rc;
	}
	return 0;
}

static int cpio_index_file(struct initramfs_build *b, const char *name,
			   const char *data, size_t len)
{
	char path[300];

	snprintf(path, sizeof(path), "lib/modules/%s/%s", b->kver, name);
	return cpio_data(&b->cpio, path, 0644, data, len);
}

/*
 * The index of the selected modules from the first-th on. part NULL: the
 * whole archive's, modules.dep and .alias (softdep, builtin as is); else
 * a part of the split set's, INITRAMFS_PART_INDEX/PART.dep and .alias,
 * which the agent reads after modules.dep/.alias (agent/modules.c), so
 * parts never overwrite each other's index.
 */
static int cpio_module_index(struct initramfs_build *b, size_t first,
			     const char *part)
{
	char dep[80] = "modules.dep", alias[80] = "modules.alias";
	char *fdep, *falias = NULL;
	size_t len;
	int rc = -ENOMEM;

	if (part) {
		snprintf(dep, sizeof(dep), INITRAMFS_PART_INDEX "/%s.dep", part);
		snprintf(alias, sizeof(alias), INITRAMFS_PART_INDEX "/%s.alias",
			 part);
	}
	if ((fdep = filter_dep(&b->sel, first, &len)) == NULL ||
	    (rc = cpio_index_file(b, dep, fdep, len)) != 0)
		goto out;
	rc = -ENOMEM;
	if ((falias = filter_alias(&b->sel, first, &len)) == NULL ||
	    (rc = cpio_index_file(b, alias, falias, len)) != 0)
		goto out;
	if (!part && b->softdep &&
	    (rc = cpio_index_file(b, "modules.softdep", b->softdep,
				  strlen(b->softdep))) != 0)
		goto out;
	if (!part && b->builtin &&
	    (rc = cpio_index_file(b, "modules.builtin", b->builtin,
				  b->builtin_len)) != 0)
		goto out;
	rc = cpio_header(&b->cpio, "TRAILER!!!", 0, 0, 0, 0);
out:
	free(fdep);
	free(falias);
	return rc;
}

/*
 * One archive into the open c->gz: the agent and its tree, then the
 * selected modules and their index; or, for a part of the split set
 * (part != NULL), only the modules from the first-th on and their own
 * index (the core goes before it: the kernel unpacks the archives in
 * order, buffer-format.rst).
 */
static int cpio_write_part(struct initramfs_build *b, const char *part,
			   size_t first, const struct initramfs_opts *o,
			   const char *agent, const char *root)
{
	int rc;

	if (!part) {
		if ((rc = cpio_file(&b->cpio, "init", agent, 0755)) != 0) {
			log_warnx("initramfs: agent %s: %s", agent,
				  err_str(rc));
			return rc;
		}
		if ((rc = cpio_base_tree(&b->cpio)) != 0 ||
		    (!o->no_shell && (rc = cpio_busybox(&b->cpio)) != 0))
			return rc;
	}
	if ((rc = cpio_modules(b, root, first)) != 0)
		return rc;
	return cpio_module_index(b, first, part);
}

/* Write one archive to a temporary file, then rename it to output. */
static int build_write(struct initramfs_build *b, const char *output,
		       const char *part, size_t first,
		       const struct initramfs_opts *o, const char *agent,
		       const char *root)
{
	char tmp[512];
	int rc;

	memset(&b->cpio, 0, sizeof(b->cpio));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", output, (int)getpid());
	if (!(b->cpio.gz = gzopen(tmp, "wb6"))) {
		rc = -errno;
		log_warn("initramfs: create %s", tmp);
		return rc ? rc : -EIO;
	}
	rc = cpio_write_part(b, part, first, o, agent, root);
	if (gzclose(b->cpio.gz) != Z_OK && rc == 0)
		rc = -EIO;
	b->cpio.gz = NULL;
	if (rc == 0 && rename(tmp, output) != 0) {
		rc = -errno;
		log_warn("initramfs: rename to %s", output);
	}
	if (rc) {
		unlink(tmp);
		log_warnx("initramfs: %s not written: %s", output,
			  err_str(rc));
	}
	return rc;
}

/* The agent binary to put in as /init. */
static int build_agent(const struct initramfs_opts *o, char *agent,
		       size_t size)
{
	if (o->agent) {
		snprintf(agent, size, "%s", o->agent);
		return 0;
	}
	if (default_agent(agent, size) == 0)
		return 0;
	log_warnx("initramfs: linkboot-agent not found next to this binary "
		  "nor in " LINKBOOT_LIBDIR " (give --agent PATH; `make` "
		  "builds build/linkboot-agent)");
	return -ENOENT;
}

int initramfs_build(const struct initramfs_opts *o,
		    struct initramfs_result *res)
{
	const char *root = o->modules_root ? o->modules_root : "/";
	struct initramfs_build *b = calloc(1, sizeof(*b));
	char agent[400];
	struct stat st;
	int rc;

	if (!b)
		return -ENOMEM;
	if ((rc = build_read_index(b, o, root)) != 0 ||
	    (rc = build_select(b, o)) != 0 ||
	    (rc = build_agent(o, agent, sizeof(agent))) != 0)
		goto out;
	if ((rc = build_write(b, o->output, NULL, 0, o, agent, root)) != 0 ||
	    !res)
		goto out;
	memset(res, 0, sizeof(*res));
	snprintf(res->kver, sizeof(res->kver), "%s", b->kver);
	res->modules = (unsigned)b->sel.list.n;
	res->firmware = b->nfirmware;
	res->bytes = stat(o->output, &st) == 0 ? (uint64_t)st.st_size : 0;
	res->bytes_in = b->cpio.bytes_in;
out:
	build_free(b);
	return rc;
}

/* --- the split set: a core, storage, one archive per NIC ------------- */

struct split {
	struct initramfs_build *b;
	const struct initramfs_opts *o;
	const char *agent, *root, *dir;
	size_t core_n;		/* the core's modules: list.e[0..core_n) */
	FILE *map;		/* INITRAMFS_NIC_MAP, being written */
	unsigned archives;
	int rc;
};

struct map_module {
	FILE *map;
	const char *module, *archive;
};

static void map_module_alias(const char *pattern, const char *name,
			     void *arg)
{
	const struct map_module *m = arg;
	char n[64];

	moddb_name_of(name, strlen(name), n, sizeof(n));
	if (!strncmp(pattern, "pci:", 4) && !strcmp(n, m->module))
		fprintf(m->map, "alias %s %s\n", pattern, m->archive);
}

/* module's PCI alias lines into the NIC map, each naming archive; only
 * PCI: a PC names its NIC by iPXE's busid, vendor and device. */
static void split_map_module(struct split *sp, const char *module,
			     const char *archive)
{
	struct map_module m = { sp->map, module, archive };

	moddb_each_alias(&sp->b->sel.db, map_module_alias, &m);
}

/* One part: what follows the core in the selection, into dir/name. */
static int split_part(struct split *sp, const char *name, const char *part)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
	return build_write(sp->b, path, part, sp->core_n, sp->o, sp->agent,
			   sp->root);
}

/* nic/NAME.img: NAME and its dependencies the core lacks (a USB NIC's
 * usbcore too, though the storage part has it: a PC without local
 * storage does not load that one). */
static void split_nic_cb(const char *name, void *arg)
{
	struct split *sp = arg;
	struct sel *s = &sp->b->sel;
	char file[100];

	if (sp->rc)
		return;
	s->list.n = (unsigned)sp->core_n;
	sel_add(s, name, 0);
	if (s->list.n == sp->core_n)
		return;		/* in the core already, or not found */
	snprintf(file, sizeof(file), "nic/%s.img", name);
	sp->rc = split_part(sp, file, "nic");
	if (sp->rc == 0) {
		split_map_module(sp, name, name);
		sp->archives++;
	}
}

/* PCI devices a core module drives (virtio_pci for virtio-net) answer
 * with nic/core.img; written after the NIC archives' lines, so a NIC
 * driver's own archive is the first match. */
static void split_map_core(struct split *sp)
{
	const struct modlist *l = &sp->b->sel.list;
	char name[64];

	for (size_t i = 0; i < sp->core_n; i++) {
		moddb_name_of(l->e[i].path, strlen(l->e[i].path), name,
			      sizeof(name));
		split_map_module(sp, name, "core");
	}
}

/* Append file src to out. */
static int append_file(FILE *out, const char *src)
{
	char buf[65536];
	FILE *in = fopen(src, "rb");
	size_t n;
	int rc = 0;

	if (!in)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			rc = -EIO;
			break;
		}
	if (ferror(in))
		rc = -EIO;
	fclose(in);
	return rc;
}

/* o->output: core, storage and all NIC drivers as one file (for loaders
 * that take one initrd). The kernel unpacks gzip members one after
 * another (buffer-format.rst), so the archives are joined as they are,
 * not compressed again. */
static int split_join(struct split *sp)
{
	const char *const parts[] = { INITRAMFS_CORE, INITRAMFS_STORAGE,
				      INITRAMFS_ALL_NICS };
	char tmp[720], path[700];
	FILE *out;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", sp->o->output, (int)getpid());
	if (!(out = fopen(tmp, "wb")))
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(parts) && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", sp->dir, parts[i]);
		rc = append_file(out, path);
	}
	if (fclose(out) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, sp->o->output) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		log_warnx("initramfs: %s not written: %s", sp->o->output,
			  err_str(rc));
	}
	return rc;
}

/* Everything but the map, which is written last: its presence says the
 * set is whole (initramfs.h). */
static int split_write_archives(struct split *sp)
{
	struct sel *s = &sp->b->sel;
	char path[700];
	int rc;

	snprintf(path, sizeof(path), "%s/" INITRAMFS_CORE, sp->dir);
	if ((rc = build_write(sp->b, path, NULL, 0, sp->o, sp->agent,
			      sp->root)) != 0)
		return rc;
	sel_add_list(s, storage_modules, ARRAY_SIZE(storage_modules), sp->o);
	if ((rc = split_part(sp, INITRAMFS_STORAGE, "storage")) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/nic", sp->dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -errno;
	s->list.n = (unsigned)sp->core_n;
	if ((rc = split_part(sp, "nic/core.img", "nic")) != 0)
		return rc;
	each_nic_module(s, split_nic_cb, sp);
	if (sp->rc)
		return sp->rc;
	s->list.n = (unsigned)sp->core_n;
	split_map_core(sp);
	sel_nic_dirs(s);
	if ((rc = split_part(sp, INITRAMFS_ALL_NICS, "nic")) != 0)
		return rc;
	return sp->o->output ? split_join(sp) : 0;
}

static int split_write(struct split *sp)
{
	char tmp[720], map[700];
	int rc;

	snprintf(map, sizeof(map), "%s/" INITRAMFS_NIC_MAP, sp->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", map, (int)getpid());
	if (!(sp->map = fopen(tmp, "w")))
		return -errno;
	rc = split_write_archives(sp);
	if (fclose(sp->map) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, map) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		log_warnx("initramfs: split set in %s not written: %s",
			  sp->dir, err_str(rc));
	}
	return rc;
}

static uint64_t file_size(const char *dir, const char *name)
{
	char path[700];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int initramfs_build_split(const struct initramfs_opts *o, const char *dir,
			  struct initramfs_split_result *res)
{
	const char *root = o->modules_root ? o->modules_root : "/";
	struct initramfs_build *b = calloc(1, sizeof(*b));
	struct split sp = { .b = b, .o = o, .root = root, .dir = dir };
	char agent[400];
	int rc;

	if (!b)
		return -ENOMEM;
	if ((rc = build_read_index(b, o, root)) != 0 ||
	    (rc = build_agent(o, agent, sizeof(agent))) != 0)
		goto out;
	build_select_core(b, o);
	sp.agent = agent;
	sp.core_n = b->sel.list.n;
	if ((rc = split_write(&sp)) != 0 || !res)
		goto out;
	memset(res, 0, sizeof(*res));
	res->nics = sp.archives;
	res->core_bytes = file_size(dir, INITRAMFS_CORE);
	res->storage_bytes = file_size(dir, INITRAMFS_STORAGE);
	res->all_nics_bytes = file_size(dir, INITRAMFS_ALL_NICS);
out:
	build_free(b);
	return rc;
}
