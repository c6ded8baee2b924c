/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr with run-time levels; see include/lb_log.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
