/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `linkboot image ...`: the image store as admins see it (like `ltsp image`
 * and Citrix PVS vDisk versions). Each verb parses its arguments, calls
 * one image operation (store/image_ops.h) and prints what it did; lists
 * go through the table writer (table.h: -j, --json=short|pretty,
 * --no-legend).
 *
 * Exit status: 0 ok, 1 runtime error, 2 usage error.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "db_internal.h"
#include "image_ops.h"
#include "lb_err.h"
#include "lb_util.h"
#include "table.h"

#define WHY_LEN 512	/* an image operation's reason for the admin */
#define PROGRESS_MS 200	/* between two progress lines */

/* One `image` invocation: configuration and the open DB. */
struct image_cli {
	struct lb_config *cfg;
	struct db *db;
};

static const char usage[] =
"Usage: linkboot image COMMAND [ARGS...]\n"
"\n"
"Commands:\n"
"  add NAME FILE [--reflink|--move|--in-place] [--kernel F --initrd F]\n"
"                      import a raw disk image as NAME v1 (copy by default)\n"
"  list [-j|--json=short|pretty] [--no-legend]\n"
"                      images, versions, sizes, missing files\n"
"  pack NAME [--version N] [--retrace]  build the boot pack from a client\n"
"                      boot's trace (--retrace: record a new trace)\n"
"  versions NAME [-j] [--no-legend]  the versions of NAME\n"
"  set NAME [--ram-cache MiB] [--write ram|disk|server|super]\n"
"           [--boot linux|san]\n"
"           [--ssd-cache MiB|auto|off] [--rootfs SPEC] [--cmdline ARGS]\n"
"           [--mark VERSION=maintenance|test|production]\n"
"           [--test-group G] [--test-version N] [--production N]\n"
"                      defaults clients of NAME inherit ('inherit' clears)\n"
"  rename OLD NEW      rename (links follow: they name the image ID)\n"
"  rm NAME [--force]   remove; refuses while clients are linked (--force\n"
"                      unlinks them) or a version is in use\n"
"  commit NAME [--force]  the super client's writes become the next\n"
"                      version; refused while a file system in them is\n"
"                      not clean (ext, FAT) or cannot be checked (NTFS,\n"
"                      XFS, ...: --force commits those unchecked)\n"
"  rollback NAME [V]   production back to V (default: the one before)\n"
"  merge NAME [--prune]  flatten the newest version into a new raw one\n"
"                      (old files stay: clients may be reading them)\n"
"  prune NAME          remove versions nobody can boot or is reading (not\n"
"                      production/test/pinned/in use, nor their parents)\n"
"  repair --scan DIR   find moved/renamed image files by identity\n"
"  release NAME V --canary N|P% --promote-after S [--group G]\n"
"                      [--boot-within S]  a canary release: a few PCs\n"
"                      boot V first; all healthy for S seconds -> V is\n"
"                      production; one failing -> rolled back\n"
"  releases [NAME] [-j]  releases and their state (and why)\n"
"  prestage NAME V --at HH:MM|now [--group G] [--stagger S]\n"
"                      overnight pre-staging: the running server wakes\n"
"                      the image's PCs S seconds apart (default 10); each\n"
"                      fetches the blocks of V its SSD cache lacks and\n"
"                      powers off\n"
"  prestages [NAME] [-j]  pre-stagings, PC by PC: woken, done (blocks\n"
"                      fetched, bytes, blocks it had), failed or skipped\n"
"\n"
"--rootfs is the image's root file system (linkboot.root=), --mark a\n"
"version's state: --root and --state are server options that every\n"
"command takes.\n";

/* ---- output helpers ------------------------------------------------------ */

/* An operation said no: "image VERB: why"; 2 for a malformed request. */
static int op_failed(const char *verb, int rc, const char *why)
{
	fprintf(stderr, "image %s: %s\n", verb, why[0] ? why : err_str(rc));
	return err_errno(rc) == EINVAL ? EXIT_USAGE : 1;
}

/* A progress line on stderr, when it is a terminal. */
static void progress_print(void *arg, const char *what, uint64_t done,
			   uint64_t total)
{
	int64_t *last = arg, now = now_ms();

	if (!isatty(STDERR_FILENO) ||
	    (done < total && now - *last < PROGRESS_MS))
		return;
	*last = now;
	fprintf(stderr, "\r%s %3u%% %llu/%llu MiB%s", what,
		total ? (unsigned)(done * 100 / total) : 100,
		(unsigned long long)(done >> 20),
		(unsigned long long)(total >> 20), done >= total ? "\n" : "");
}

static int64_t progress_last;
static const struct store_progress progress = {
	.fn = progress_print, .arg = &progress_last,
};

/* What a new version boots, or why PXE clients cannot boot it yet. */
static void print_boot(unsigned v, const struct image_boot *b)
{
	if (b->found)
		printf("v%u: kernel %s (%s)%s\n", v, b->kernel, b->kver,
		       b->initrd_built ? ", initramfs built from its modules" :
		       "");
	if (b->no_linux_fs && !b->has_boot)
		printf("v%u: no Linux file system (%s): its PCs boot from "
		       "their iSCSI disk (boot mode san); NBD clients can "
		       "use it now\n", v,
		       b->fs_types[0] ? b->fs_types : "none yet");
	/* an initrd needs the image's own modules, a kernel its file;
	 * without them the image still serves VMs and tools over NBD */
	else if (!b->has_boot)
		fprintf(stderr, "image: warning: no /boot/vmlinuz-<kver> with a "
			"matching lib/modules/<kver> in v%u: PXE clients of it "
			"cannot boot until a version has one (or give --kernel "
			"FILE --initrd FILE); NBD clients can use it now\n", v);
}

/* -j, --json=..., --no-legend among argv; the rest stay, in order. argc
 * left, or -1 for a bad --json value. */
static int list_opts(int argc, char **argv, int *format, int *legend)
{
	int n = 1, rc;

	*format = TABLE_TEXT;
	*legend = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-legend"))
			*legend = 0;
		else if ((rc = table_parse_format_opt(argv[i], format)) < 0)
			return -1;
		else if (rc == 0)
			argv[n++] = argv[i];
	}
	return n;
}

static void print_missing_hint(int missing)
{
	if (missing)
		fprintf(stderr, "image files are missing: if they were moved, run "
			"`linkboot image repair --scan DIR`\n");
}

/* ---- add ------------------------------------------------------------------ */

static int add_parse(int argc, char **argv, struct image_add_opts *o)
{
	int n = 0;

	memset(o, 0, sizeof(*o));
	o->mode = IMPORT_COPY;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--copy"))
			o->mode = IMPORT_COPY;
		else if (!strcmp(argv[i], "--reflink"))
			o->mode = IMPORT_REFLINK;
		else if (!strcmp(argv[i], "--move"))
			o->mode = IMPORT_MOVE;
		else if (!strcmp(argv[i], "--in-place"))
			o->mode = IMPORT_IN_PLACE;
		else if (!strcmp(argv[i], "--kernel") && i + 1 < argc)
			o->kernel = argv[++i];
		else if (!strcmp(argv[i], "--initrd") && i + 1 < argc)
			o->initrd = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "image add: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		} else if (n++ == 0) {
			o->name = argv[i];
		} else {
			o->file = argv[i];
		}
	}
	if (n != 2) {
		fprintf(stderr, "Usage: linkboot image add NAME FILE "
			"[--reflink|--move|--in-place] [--kernel F --initrd F]\n");
		return -EINVAL;
	}
	return 0;
}

/* A reflink or a cross-file-system move that became a copy. */
static void print_import(const struct image_add_opts *o,
			 const struct store_imported *im)
{
	if (o->mode == IMPORT_MOVE && im->fallback_rc)
		fprintf(stderr, "%s was on another file system: copied, then "
			"removed\n", o->file);
	else if (o->mode == IMPORT_REFLINK && im->fallback_rc)
		fprintf(stderr, "reflink not possible here (%s): copied "
			"instead\n", err_str(im->fallback_rc));
	if (im->source_left)
		fprintf(stderr, "copied, but could not remove %s\n", o->file);
}

static int cli_add(struct image_cli *ic, int argc, char **argv)
{
	struct image_add_result *r;
	struct image_add_opts o;
	char why[WHY_LEN] = "";
	int rc;

	if (add_parse(argc, argv, &o) != 0)
		return EXIT_USAGE;
	o.progress = &progress;
	if (!(r = malloc(sizeof(*r))))
		return 1;
	if ((rc = image_add(ic->db, &o, r, why, sizeof(why))) != 0) {
		free(r);
		return op_failed("add", rc, why);
	}
	print_import(&o, &r->import);
	print_boot(1, &r->boot);
	printf("image %s: id %s, %llu bytes, %s%s%s, partitions %s\n"
	       "  sha256 %s\n  file %s\n", o.name, r->id,
	       (unsigned long long)r->ident.size,
	       r->ident.pt_type[0] ? r->ident.pt_type : "no partition table",
	       r->ident.pt_uuid[0] ? " " : "", r->ident.pt_uuid,
	       r->identity[0] ? r->identity : "-", r->sha256, r->path);
	free(r);
	return 0;
}

/* ---- list, versions ------------------------------------------------------ */

static const struct table_col list_cols[] = {
	{ "NAME", "name" }, { "ID", "id" }, { "SIZE", "size" },
	{ "VERS", "versions" }, { "PROD", "production_version" },
	{ "TEST", "test_version" }, { "CLIENTS", "clients" },
	{ "STATE", "missing" },
	/* JSON only */
	{ "PT TYPE", "pt_type" }, { "PT UUID", "pt_uuid" },
};
#define LIST_TEXT_COLS 8

/* "v2" in the table, 2 in JSON; 0 = none */
static void version_cell(struct table *t, unsigned v)
{
	char text[16];

	if (!v) {
		table_null(t);
		return;
	}
	snprintf(text, sizeof(text), "v%u", v);
	table_num_text(t, v, text);
}

static void image_row(struct table *t, const struct image_info *img)
{
	table_row(t);
	table_str(t, img->name);
	table_str(t, img->id);
	table_int(t, (int64_t)img->size);
	table_int(t, img->nversions);
	version_cell(t, img->production);
	version_cell(t, img->test_version);
	table_int(t, img->nclients);
	table_bool_text(t, img->missing, img->missing ? "MISSING" : "ok");
	table_str(t, img->pt_type[0] ? img->pt_type : NULL);
	table_str(t, img->pt_uuid[0] ? img->pt_uuid : NULL);
}

static int cli_list(struct image_cli *ic, int argc, char **argv)
{
	struct image_info *rows;
	struct table *t;
	int format, legend, missing = 0, rc;
	size_t n;

	if (list_opts(argc, argv, &format, &legend) != 1) {
		fprintf(stderr, "Usage: linkboot image list "
			"[-j|--json=short|pretty] [--no-legend]\n");
		return EXIT_USAGE;
	}
	if ((rc = image_list(ic->db, &rows, &n)) != 0)
		return op_failed("list", rc, "");
	if (!(t = table_new(list_cols, format == TABLE_TEXT ? LIST_TEXT_COLS :
			    ARRAY_SIZE(list_cols)))) {
		free(rows);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		image_row(t, &rows[i]);
		missing |= rows[i].missing;
	}
	table_print(t, stdout, format, legend);
	table_free(t);
	free(rows);
	print_missing_hint(missing);
	return 0;
}

static const struct table_col version_cols[] = {
	{ "VER", "version" }, { "PARENT", "parent" }, { "STATE", "state" },
	{ "KERNEL", "kver" }, { "CHANGED", "changed_bytes" },
	{ "USERS", "users" }, { "FILE", "missing" },
	{ "CREATED", "created" }, { "", "production" },
	/* JSON only */
	{ "PATH", "file" },
};
#define VERSION_TEXT_COLS 9

static void version_row(struct table *t, const struct image_version *v)
{
	char changed[32] = "raw";

	table_row(t);
	version_cell(t, v->version);
	version_cell(t, v->parent);
	table_str(t, v->state);
	table_str(t, v->kver[0] ? v->kver : NULL);
	if (v->parent)
		snprintf(changed, sizeof(changed), "%lluK",
			 (unsigned long long)(v->changed_bytes >> 10));
	table_num_text(t, (int64_t)v->changed_bytes, changed);
	table_int(t, v->users);
	table_bool_text(t, v->missing, v->missing ? "MISSING" : "ok");
	table_str(t, v->created);
	table_bool_text(t, v->production, v->production ? "(production)" : "");
	table_str(t, v->file);
}

static int cli_versions(struct image_cli *ic, int argc, char **argv)
{
	struct image_version *rows;
	struct image_info img;
	char why[WHY_LEN] = "";
	struct table *t;
	int format, legend, missing = 0, rc;
	size_t n;

	if (list_opts(argc, argv, &format, &legend) != 2) {
		fprintf(stderr, "Usage: linkboot image versions NAME "
			"[-j|--json=short|pretty] [--no-legend]\n");
		return EXIT_USAGE;
	}
	if ((rc = image_versions(ic->db, argv[1], &img, &rows, &n, why,
				 sizeof(why))) != 0)
		return op_failed("versions", rc, why);
	if (!(t = table_new(version_cols, format == TABLE_TEXT ?
			    VERSION_TEXT_COLS : ARRAY_SIZE(version_cols)))) {
		free(rows);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		version_row(t, &rows[i]);
		missing |= rows[i].missing;
	}
	table_print(t, stdout, format, legend);
	table_free(t);
	free(rows);
	print_missing_hint(missing);
	return 0;
}

/* ---- set, rename, rm ----------------------------------------------------- */

static const struct set_opt {
	const char *name;
	size_t off;		/* in struct image_set_opts */
} set_opts[] = {
	{ "--ram-cache", offsetof(struct image_set_opts, ram_cache) },
	{ "--write", offsetof(struct image_set_opts, write) },
	{ "--ssd-cache", offsetof(struct image_set_opts, ssd_cache) },
	{ "--rootfs", offsetof(struct image_set_opts, root) },
	{ "--cmdline", offsetof(struct image_set_opts, cmdline) },
	{ "--mark", offsetof(struct image_set_opts, mark) },
	{ "--test-group", offsetof(struct image_set_opts, test_group) },
	{ "--test-version", offsetof(struct image_set_opts, test_version) },
	{ "--production", offsetof(struct image_set_opts, production) },
	{ "--boot", offsetof(struct image_set_opts, boot) },
};

static int set_parse(int argc, char **argv, struct image_set_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 2; i < argc; i += 2) {
		size_t k;

		for (k = 0; k < ARRAY_SIZE(set_opts); k++)
			if (!strcmp(argv[i], set_opts[k].name))
				break;
		if (k == ARRAY_SIZE(set_opts)) {
			fprintf(stderr, "image set: unknown option '%s'\n",
				argv[i]);
			return -EINVAL;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "image set: %s needs a value\n", argv[i]);
			return -EINVAL;
		}
		*(const char **)((char *)o + set_opts[k].off) = argv[i + 1];
	}
	return 0;
}

static int cli_set(struct image_cli *ic, int argc, char **argv)
{
	struct image_set_opts o;
	char why[WHY_LEN] = "";
	unsigned changed;
	int rc;

	if (argc < 3 || argv[1][0] == '-') {
		fprintf(stderr, "%s", usage);
		return EXIT_USAGE;
	}
	if (set_parse(argc, argv, &o) != 0)
		return EXIT_USAGE;
	if ((rc = image_set(ic->db, argv[1], &o, &changed, why,
			    sizeof(why))) != 0)
		return op_failed("set", rc, why);
	printf("image %s: %u setting%s changed\n", argv[1], changed,
	       changed == 1 ? "" : "s");
	return 0;
}

static int cli_rename(struct image_cli *ic, int argc, char **argv)
{
	char why[WHY_LEN] = "";
	struct image_info img;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "Usage: linkboot image rename OLD NEW\n");
		return EXIT_USAGE;
	}
	/* the old name, for the message (argv[1] may be the ID) */
	if (image_find(ic->db, argv[1], &img, NULL, 0) != 0)
		snprintf(img.name, sizeof(img.name), "%s", argv[1]);
	if ((rc = image_rename(ic->db, argv[1], argv[2], why,
			       sizeof(why))) != 0)
		return op_failed("rename", rc, why);
	printf("image %s is now %s (id %s; links unchanged)\n", img.name,
	       argv[2], img.id);
	return 0;
}

/* Who keeps an image from going: live sessions, or linked clients. */
static void print_rm_refusal(struct image_cli *ic, const char *name, int rc)
{
	struct image_session *s = NULL;
	struct image_link *l = NULL;
	struct image_info img;
	size_t n = 0;

	if (image_find(ic->db, name, &img, NULL, 0) != 0)
		return;
	if (rc == EBUSY_IMAGE_IN_USE &&
	    image_sessions(ic->db, img.id, &s, &n) == 0)
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "  in use: v%u by %s%s%s\n",
				s[i].version, s[i].peer, s[i].mac[0] ? " " : "",
				s[i].mac);
	if (rc == EBUSY_IMAGE_LINKED && image_links(ic->db, img.id, &l, &n) == 0)
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "  linked: %s %s\n", l[i].mac,
				l[i].name);
	free(s);
	free(l);
}

static int cli_rm(struct image_cli *ic, int argc, char **argv)
{
	char why[WHY_LEN] = "";
	const char *name = NULL;
	int force = 0, n = 0, rc;
	unsigned unlinked;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			force = 1;
		else if (n++ == 0)
			name = argv[i];
	}
	if (n != 1) {
		fprintf(stderr, "Usage: linkboot image rm NAME [--force]\n");
		return EXIT_USAGE;
	}
	if ((rc = image_rm(ic->db, name, force, &unlinked, why,
			   sizeof(why))) != 0) {
		int status = op_failed("rm", rc, why);

		print_rm_refusal(ic, name, rc);
		return status;
	}
	printf("image %s removed%s\n", name,
	       unlinked ? " (its clients are unlinked)" : "");
	return 0;
}

/* ---- commit, rollback, merge, prune ------------------------------------- */

static int one_name(int argc, const char *use)
{
	if (argc == 2)
		return 0;
	fprintf(stderr, "Usage: linkboot image %s\n", use);
	return EXIT_USAGE;
}

static void print_pack(const char *name, const char *id, unsigned v,
		       uint64_t blocks, uint64_t bytes)
{
	printf("image %s: boot pack v%u: %llu blocks (%llu MiB of image), "
	       "%llu bytes -> boot/%s/v%u/boot.pack\n", name, v,
	       (unsigned long long)blocks,
	       (unsigned long long)(blocks * 65536 >> 20),
	       (unsigned long long)bytes, id, v);
}

static int cli_commit(struct image_cli *ic, int argc, char **argv)
{
	struct image_commit_result r;
	char why[WHY_LEN] = "";
	struct image_info img;
	int rc, force = 0;

	if (argc == 3 && (!strcmp(argv[2], "--force") ||
			  !strcmp(argv[2], "-f"))) {
		force = 1;
		argc--;
	}
	if ((rc = one_name(argc, "commit NAME [--force]")) != 0)
		return rc;
	if ((rc = image_commit(ic->db, argv[1], force, &progress, &r, why,
			       sizeof(why))) != 0)
		return op_failed("commit", rc, why);
	if (r.unchecked[0])
		fprintf(stderr, "image %s: not checked (--force): partition "
			"%s\n", argv[1], r.unchecked);
	print_boot(r.version, &r.boot);
	printf("image %s: v%u committed (delta on v%u) and is production; "
	       "`linkboot image rollback %s` goes back\n", argv[1], r.version,
	       r.parent, argv[1]);
	if (image_find(ic->db, argv[1], &img, NULL, 0) != 0)
		return 0;
	if (r.pack_rc == 0)
		print_pack(img.name, img.id, r.version, r.pack_blocks,
			   r.pack_bytes);
	else if (r.pack_rc != -ENOENT)
		fprintf(stderr, "image %s: boot pack v%u: %s (rebuild it with "
			"`linkboot image pack %s`)\n", img.name, r.version,
			err_str(r.pack_rc), img.name);
	return 0;
}

static int cli_rollback(struct image_cli *ic, int argc, char **argv)
{
	char why[WHY_LEN] = "";
	unsigned v = 0, from, to;
	int rc;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "Usage: linkboot image rollback NAME [VERSION]\n");
		return EXIT_USAGE;
	}
	if (argc == 3 && image_version_parse(argv[2], &v) != 0) {
		fprintf(stderr, "image rollback: %s has no version '%s'\n",
			argv[1], argv[2]);
		return 1;
	}
	if ((rc = image_rollback(ic->db, argv[1], v, &from, &to, why,
				 sizeof(why))) != 0)
		return op_failed("rollback", rc, why);
	printf("image %s: production is v%u (was v%u); clients boot it at "
	       "their next boot\n", argv[1], to, from);
	return 0;
}

static void print_pruned(const char *name,
			 const struct image_prune_result *p)
{
	for (unsigned v = 1; v < IMAGE_PRUNE_MAX; v++)
		if (image_pruned(p, v))
			printf("image %s: v%u removed\n", name, v);
	if (!p->count)
		printf("image %s: every version is still needed\n", name);
}

static int cli_merge(struct image_cli *ic, int argc, char **argv)
{
	struct image_merge_result *r;
	char why[WHY_LEN] = "";
	int rc, prune = 0;

	if (argc == 3 && !strcmp(argv[2], "--prune")) {
		prune = 1;
		argc--;
	}
	if ((rc = one_name(argc, "merge NAME [--prune]")) != 0)
		return rc;
	if (!(r = malloc(sizeof(*r))))
		return 1;
	if ((rc = image_merge(ic->db, argv[1], prune, &progress, r, why,
			      sizeof(why))) != 0) {
		free(r);
		return op_failed("merge", rc, why);
	}
	if (r->version == 0) {
		printf("image %s: v%u is already a raw version\n", argv[1],
		       r->from);
	} else {
		print_boot(r->version, &r->boot);
		printf("image %s: v%u = v%u flattened into one raw file (%u "
		       "files -> 1)%s\n", argv[1], r->version, r->from, r->files,
		       r->production ? "; it is production" : "");
	}
	if (prune)
		print_pruned(argv[1], &r->pruned);
	free(r);
	return 0;
}

static int cli_prune(struct image_cli *ic, int argc, char **argv)
{
	struct image_prune_result r;
	char why[WHY_LEN] = "";
	int rc;

	if ((rc = one_name(argc, "prune NAME")) != 0)
		return rc;
	if ((rc = image_prune(ic->db, argv[1], &r, why, sizeof(why))) != 0)
		return op_failed("prune", rc, why);
	print_pruned(argv[1], &r);
	return 0;
}

/* ---- repair, pack -------------------------------------------------------- */

static void print_repair(const struct image_repair_result *r)
{
	for (size_t i = 0; i < r->nitems; i++)
		printf("missing: %s v%u (%s, %llu bytes)\n", r->items[i].image,
		       r->items[i].version, r->items[i].was,
		       (unsigned long long)r->items[i].size);
	for (size_t i = 0; i < r->nskipped; i++)
		printf("skipped %s: same identity as %s, different content "
		       "(a clone or a changed copy?)\n", r->skipped[i].path,
		       r->skipped[i].image);
	for (size_t i = 0; i < r->nitems; i++)
		if (r->items[i].reattached)
			printf("re-attached: %s v%u = %s\n", r->items[i].image,
			       r->items[i].version, r->items[i].found);
		else
			printf("not found: %s v%u\n", r->items[i].image,
			       r->items[i].version);
}

static int cli_repair(struct image_cli *ic, int argc, char **argv)
{
	struct image_repair_result r;
	char why[WHY_LEN] = "";
	const char *dir = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scan") && i + 1 < argc)
			dir = argv[++i];
		else if (!strncmp(argv[i], "--scan=", 7))
			dir = argv[i] + 7;
		else
			dir = NULL, i = argc;
	}
	if (!dir) {
		fprintf(stderr, "Usage: linkboot image repair --scan DIR\n");
		return EXIT_USAGE;
	}
	rc = image_repair_scan(ic->db, dir, &r, why, sizeof(why));
	if (rc == 0 && r.nitems == 0)
		printf("no image files are missing\n");
	print_repair(&r);
	image_repair_free(&r);
	if (rc == ENOENT_IMAGE_FILES)
		return 1;	/* the list says which */
	return rc ? op_failed("repair", rc, why) : 0;
}

static int cli_pack(struct image_cli *ic, int argc, char **argv)
{
	static const char use[] =
		"Usage: linkboot image pack NAME [--version N] [--retrace]\n"
		"  --retrace  forget the trace: the next client boot records "
		"a new one\n";
	struct image_pack_result r;
	char why[WHY_LEN] = "";
	uint64_t v = 0;
	int rc, retrace = 0;

	if (argc >= 3 && !strcmp(argv[argc - 1], "--retrace")) {
		retrace = 1;
		argc--;
	}
	if (argc == 4 && !strcmp(argv[2], "--version")) {
		if (parse_u64(argv[3], 1, UINT32_MAX, &v) != 0) {
			fprintf(stderr, "image pack: bad version '%s'\n%s",
				argv[3], use);
			return EXIT_USAGE;
		}
	} else if (argc != 2) {
		fprintf(stderr, "%s", use);
		return EXIT_USAGE;
	}
	rc = image_pack(ic->db, argv[1], (unsigned)v, retrace, &r, why,
			sizeof(why));
	if (rc == ENOENT_IMAGE_TRACE) {
		fprintf(stderr, "image pack: %s: boot one client of it (the "
			"server records its first %d s), then run this again\n",
			why, ic->cfg->boot_trace_seconds);
		return 1;
	}
	if (rc)
		return op_failed("pack", rc, why);
	if (retrace)
		printf("image %s: v%u: trace and pack removed; the next client "
		       "boot records a new trace\n", r.name, r.version);
	else
		print_pack(r.name, r.id, r.version, r.blocks, r.bytes);
	return 0;
}

/* canary releases: image_release.c */
static int cli_release(struct image_cli *ic, int argc, char **argv)
{
	return image_release_cmd(ic->db, argc, argv);
}

static int cli_releases(struct image_cli *ic, int argc, char **argv)
{
	return image_releases_cmd(ic->db, argc, argv);
}

/* overnight pre-staging: image_prestage.c */
static int cli_prestage(struct image_cli *ic, int argc, char **argv)
{
	return image_prestage_cmd(ic->db, argc, argv);
}

static int cli_prestages(struct image_cli *ic, int argc, char **argv)
{
	return image_prestages_cmd(ic->db, argc, argv);
}

/* ---- entry ---------------------------------------------------------------- */

static const struct image_cmd {
	const char *name;
	int (*run)(struct image_cli *ic, int argc, char **argv);
} image_cmds[] = {
	{ "add", cli_add },
	{ "list", cli_list },
	{ "ls", cli_list },
	{ "versions", cli_versions },
	{ "set", cli_set },
	{ "rename", cli_rename },
	{ "rm", cli_rm },
	{ "commit", cli_commit },
	{ "rollback", cli_rollback },
	{ "merge", cli_merge },
	{ "prune", cli_prune },
	{ "repair", cli_repair },
	{ "pack", cli_pack },
	{ "release", cli_release },
	{ "releases", cli_releases },
	{ "prestage", cli_prestage },
	{ "prestages", cli_prestages },
};

static int looks_like_mark(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq && (!strcmp(eq + 1, "maintenance") || !strcmp(eq + 1, "test") ||
		      !strcmp(eq + 1, "production"));
}

static int image_open(struct lb_config *cfg, struct db **db)
{
	int rc;

	/* `--state 2=test` reads as a version mark, but --state DIR is the
	 * server option: never create a dir named so */
	if (looks_like_mark(cfg->state_dir)) {
		fprintf(stderr, "image: --state is the state directory; mark a "
			"version with --mark %s\n", cfg->state_dir);
		return EXIT_USAGE;
	}
	if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "image: state directory %s: %s (give --state "
			"DIR)\n", cfg->state_dir, strerror(errno));
		return 1;
	}
	if ((rc = db_open(cfg->state_dir, db)) != 0) {
		fprintf(stderr, "image: link DB in %s: %s\n", cfg->state_dir,
			err_str(rc));
		return 1;
	}
	if (cfg->store_dir && (rc = db_set_store_dir(*db, cfg->store_dir))) {
		db_close(*db);
		return 1;
	}
	return 0;
}

int cmd_image(struct lb_config *cfg, int argc, char **argv)
{
	struct image_cli ic = { .cfg = cfg };
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc < 2 ? stderr : stdout, "%s", usage);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(image_cmds); i++) {
		if (strcmp(image_cmds[i].name, argv[1]) != 0)
			continue;
		for (int a = 2; a < argc; a++)
			if (!strcmp(argv[a], "--help")) {
				printf("%s", usage);
				return 0;
			}
		if ((rc = image_open(cfg, &ic.db)) != 0)
			return rc;
		rc = image_cmds[i].run(&ic, argc - 1, argv + 1);
		db_close(ic.db);
		return rc;
	}
	fprintf(stderr, "image: unknown command '%s'\n\n%s", argv[1], usage);
	return EXIT_USAGE;
}
