/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef LB_TABLE_H
#define LB_TABLE_H

/*
 * Output of list-style CLI commands: an aligned table with a legend (the
 * column headers) and a "N rows" footer, or JSON as systemd's tools print
 * it with -j/--json=short|pretty: an array of objects, snake_case keys.
 *
 *	struct table *t = table_new(cols, ARRAY_SIZE(cols));
 *	table_row(t);
 *	table_str(t, "52:54:00:12:34:56"); table_int(t, 64); table_null(t);
 *	table_print(t, stdout, fmt, legend); table_free(t);
 */

#include <stdint.h>
#include <stdio.h>

enum table_format {
	TABLE_TEXT,
	TABLE_JSON_SHORT,	/* one line */
	TABLE_JSON_PRETTY,	/* indented */
};

struct table_col {
	const char *header;	/* text legend, e.g. "LAST BOOT" */
	const char *key;	/* JSON key, e.g. "last_boot" */
};

struct table;

struct table *table_new(const struct table_col *cols, unsigned ncols);
void table_free(struct table *t);

/* Start a row, then add its cells left to right. 0 or -ENOMEM. */
int table_row(struct table *t);
int table_str(struct table *t, const char *s);	/* NULL = null / "-" */
int table_int(struct table *t, int64_t v);
int table_bool(struct table *t, int v);		/* "yes"/"no", true/false */
int table_null(struct table *t);		/* "-" / null */
/* A cell shown as text in the table, as a number in JSON (e.g. "64M"). */
int table_num_text(struct table *t, int64_t v, const char *text);

/* A yes/no shown as its own text in the table ("MISSING"), true/false
 * in JSON. */
int table_bool_text(struct table *t, int v, const char *text);

/* Sizes: "1.5G" in the table, bytes in JSON. */
int table_bytes(struct table *t, int64_t bytes);

/* Print rows; legend = headers and footer (text only). A line ends at
 * its last non-empty cell: no trailing blanks. */
void table_print(const struct table *t, FILE *out, int format, int legend);

/* Print one JSON object (a single row) instead of an array: `show`. */
void table_print_object(const struct table *t, FILE *out, int format);

/* Row 0 as "HEADER: value" lines (text `show`). */
void table_print_fields(const struct table *t, FILE *out);

/* "-j" / "--json[=short|pretty|off]" -> *format; 1 if arg was one, 0 if
 * not, -EINVAL for a bad value (message printed). -j is pretty on a
 * terminal and short otherwise (as systemd's tools do); --json alone is
 * pretty. */
int table_parse_format_opt(const char *arg, int *format);

/* A JSON string literal with escapes. */
void json_print_string(FILE *out, const char *s);

#endif
