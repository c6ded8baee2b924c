/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_LOG_H
#define LB_LOG_H

/*
 * Logging, always built in; the level is set at run time (OpenBSD log.c).
 * One line per event. Lines go to stderr, which is the journal under systemd
 * (a "<N>" syslog level prefix is added when JOURNAL_STREAM is set) and the
 * console for the agent.
 *
 *   log_warn()  appends ": strerror(errno)"
 *   log_warnx() does not
 *   log_debug() only with -v (level >= LOG_LEVEL_DEBUG)
 *
 * Strings that come from the network must go through log_escape() first
 * (dnsmasq sanitise()): a peer must not be able to forge log lines.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void log_init(const char *progname, int level);
void log_set_level(int level);
int log_get_level(void);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vlog(int level, int with_errno, const char *fmt, va_list ap);

/*
 * A boot event with journald fields. Under systemd (JOURNAL_STREAM set) it
 * goes to the journal's native protocol socket (systemd.journal-fields(7):
 * MESSAGE=, PRIORITY=, and MAC=, IMAGE=, VERSION=, CLIENT_IP= when not
 * NULL) so `journalctl MAC=...` finds a PC's boots; LINKBOOT_JOURNAL_SOCKET
 * names another socket (tests). Otherwise, or when the socket fails, the
 * line goes to stderr as log_vlog() prints it.
 */
struct log_fields {
	const char *mac, *image, *version, *client_ip;
};
void log_fields(int level, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * One call site's rate limit, for lines a peer can trigger at will (a full
 * fd table, a host over its connection cap): the first line goes out, then
 * at most one per LOG_LIMIT_MS, saying how many were held back (dnsmasq
 * counts its dropped log lines the same way). Zero-initialise.
 *
 *	if ((n = log_limit(&s->busy_log, now)))
 *		log_warnx("... (%u times since the last such line)", n);
 */
#define LOG_LIMIT_MS	10000

struct log_limit {
	int64_t next;		/* monotonic ms of the next line allowed */
	unsigned held;		/* lines held back since the last one */
};

/* 0: hold this line back; else 1 + the number held back before it. */
unsigned log_limit(struct log_limit *ll, int64_t now);

/*
 * Copy at most len bytes of untrusted data into out (size outsz, always
 * NUL-terminated), replacing non-printable bytes by \xNN. Returns out.
 */
char *log_escape(char *out, size_t outsz, const void *data, size_t len);

#endif
