/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compressed kernel modules and firmware (decompress.h). The initramfs
 * holds them uncompressed, so any kernel loads them: finit_module() takes
 * a compressed module only with CONFIG_MODULE_DECOMPRESS, which Debian's
 * kernels lack, while Ubuntu's and Fedora's ship .ko.zst/.ko.xz.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "decompress.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcmp(s + n - m, suffix);
}

const char *compressed_suffix(const char *name)
{
	static const char *const suffixes[] = { ".xz", ".zst", ".gz" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (ends_with(name, suffixes[i]))
			return name + strlen(name) - strlen(suffixes[i]);
	return NULL;
}

/* Room for want more bytes and a NUL after len in *buf. */
static int buf_grow(char **buf, size_t *cap, size_t len, size_t want)
{
	char *p;

	if (len + want + 1 <= *cap)
		return 0;
	if (len + want + 1 > DECOMPRESS_MAX)
		return -EFBIG;
	*cap = *cap ? *cap * 2 : 1 << 20;
	while (*cap < len + want + 1)
		*cap *= 2;
	if (*cap > DECOMPRESS_MAX)
		*cap = DECOMPRESS_MAX;
	if (!(p = realloc(*buf, *cap)))
		return -ENOMEM;
	*buf = p;
	return 0;
}

static int gunzip_file(const char *path, char **out, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	size_t cap = 0;
	int n, rc = 0;

	*out = NULL;
	*len = 0;
	if (!gz)
		return errno ? -errno : -EIO;
	for (;;) {
		if ((rc = buf_grow(out, &cap, *len, 65536)) != 0)
			break;
		if ((n = gzread(gz, *out + *len, 65536)) < 0) {
			rc = -EIO;
			break;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	gzclose(gz);
	return rc;
}

/* The standard output of `prog -dc path`, all of it. */
static int read_child(int fd, char **out, size_t *len)
{
	size_t cap = 0;
	ssize_t n;
	int rc;

	for (;;) {
		if ((rc = buf_grow(out, &cap, *len, 65536)) != 0)
			return rc;
		n = read(fd, *out + *len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

static int run_decompressor(const char *prog, const char *path, char **out,
			    size_t *len)
{
	int pipefd[2], status, rc;
	pid_t pid;

	*out = NULL;
	*len = 0;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -errno;
	if ((pid = fork()) < 0) {
		rc = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return rc;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(pipefd[1], STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execlp(prog, prog, "-dc", "--", path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	rc = read_child(pipefd[0], out, len);
	close(pipefd[0]);	/* a child still writing gets EPIPE */
	if (waitpid(pid, &status, 0) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = -EIO;	/* 127: the program is missing */
	if (rc == 0 && !*out && (*out = malloc(1)) == NULL)
		rc = -ENOMEM;
	if (rc) {
		free(*out);
		*out = NULL;
		*len = 0;
		return rc;
	}
	(*out)[*len] = '\0';
	return 0;
}

int decompress_file(const char *path, char **out, size_t *len)
{
	const char *suffix = compressed_suffix(path);
	int rc;

	if (!suffix)
		return -ENOTSUP;
	if (!strcmp(suffix, ".gz")) {
		if ((rc = gunzip_file(path, out, len)) != 0) {
			free(*out);
			*out = NULL;
			return rc;
		}
		if (!*out && !(*out = malloc(1)))
			return -ENOMEM;
		(*out)[*len] = '\0';
		return 0;
	}
	return run_decompressor(!strcmp(suffix, ".xz") ? "xz" : "zstd", path,
				out, len);
}
