/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr with run-time levels; see include/lb_log.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lb_log.h"

static const char *log_progname = "linkboot";
static int log_level = LOG_LEVEL_INFO;
static int log_journal;	/* stderr is the journal: prefix <N>, no time */

void log_init(const char *progname, int level)
{
	log_progname = progname;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_vlog(int level, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[1024];
	char stamp[32] = "";

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>", level);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: ", stamp, ts.tv_nsec / 1000000,
			log_progname);
	}
	if (with_errno)
		fprintf(stderr, "%s: %s\n", msg, strerror(saved));
	else
		fprintf(stderr, "%s\n", msg);
	errno = saved;
}

/* Append "NAME=value\n" when value is set and single-line (the native
 * protocol's simple form; a newline would need the binary form). */
static size_t journal_field(char *buf, size_t len, size_t o, const char *name,
			    const char *value)
{
	int n;

	if (!value || strchr(value, '\n') || o >= len)
		return o;
	n = snprintf(buf + o, len - o, "%s=%s\n", name, value);
	return n > 0 && (size_t)n < len - o ? o + (size_t)n : o;
}

/* One datagram to the journal socket; 0 if it was taken. */
static int journal_send(const char *msg, int level, const struct log_fields *f)
{
	const char *path = getenv("LINKBOOT_JOURNAL_SOCKET");
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	char buf[2048], prio[4];
	size_t o = 0;
	int fd, rc = -1;

	if (!path)
		path = "/run/systemd/journal/socket";
	if (strlen(path) >= sizeof(to.sun_path))
		return -1;
	strcpy(to.sun_path, path);
	snprintf(prio, sizeof(prio), "%d", level);
	o = journal_field(buf, sizeof(buf), o, "MESSAGE", msg);
	o = journal_field(buf, sizeof(buf), o, "PRIORITY", prio);
	o = journal_field(buf, sizeof(buf), o, "SYSLOG_IDENTIFIER", log_progname);
	o = journal_field(buf, sizeof(buf), o, "MAC", f->mac);
	o = journal_field(buf, sizeof(buf), o, "IMAGE", f->image);
	o = journal_field(buf, sizeof(buf), o, "VERSION", f->version);
	o = journal_field(buf, sizeof(buf), o, "CLIENT_IP", f->client_ip);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (sendto(fd, buf, o, MSG_DONTWAIT, (struct sockaddr *)&to,
		   sizeof(to)) == (ssize_t)o)
		rc = 0;
	close(fd);
	return rc;
}

static void log_stderr(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(level, 0, fmt, ap);
	va_end(ap);
}

void log_fields(int level, const struct log_fields *f, const char *fmt, ...)
{
	int saved = errno;
	char msg[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!(log_journal || getenv("LINKBOOT_JOURNAL_SOCKET")) ||
	    journal_send(msg, level, f) != 0)
		log_stderr(level, "%s", msg);
	errno = saved;
}

#define LOG_FN(name, level, with_errno)			\
	void name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		log_vlog(level, with_errno, fmt, ap);	\
		va_end(ap);				\
	}

LOG_FN(log_err, LOG_LEVEL_ERR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

unsigned log_limit(struct log_limit *ll, int64_t now)
{
	unsigned n;

	if (ll->next && now < ll->next) {
		ll->held++;
		return 0;
	}
	n = ll->held + 1;
	ll->held = 0;
	ll->next = now + LOG_LIMIT_MS;
	return n;
}

char *log_escape(char *out, size_t outsz, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t o = 0;
	size_t i;

	if (outsz == 0)
		return out;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}
