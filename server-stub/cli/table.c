/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tables and JSON for the CLI (see table.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"

#define MAXW(a, b) ((a) > (b) ? (a) : (b))

enum cell_kind { CELL_NULL, CELL_STR, CELL_NUM, CELL_BOOL };

struct cell {
	int kind;		/* enum cell_kind */
	char *text;		/* what the table shows */
	char *json;		/* CELL_NUM / CELL_BOOL: the JSON literal */
};

struct table {
	const struct table_col *cols;
	unsigned ncols;
	struct cell *cells;	/* nrows * ncols */
	size_t nrows, ncells, cap;
};

struct table *table_new(const struct table_col *cols, unsigned ncols)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cols = cols;
	t->ncols = ncols;
	return t;
}

void table_free(struct table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->ncells; i++) {
		free(t->cells[i].text);
		free(t->cells[i].json);
	}
	free(t->cells);
	free(t);
}

int table_row(struct table *t)
{
	size_t need = (t->nrows + 1) * t->ncols;

	/* pad a short previous row so columns stay aligned */
	while (t->ncells < t->nrows * t->ncols)
		if (table_null(t) != 0)
			return -ENOMEM;
	if (need > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16 * t->ncols;
		struct cell *c;

		while (cap < need)
			cap *= 2;
		if (!(c = realloc(t->cells, cap * sizeof(*c))))
			return -ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	t->nrows++;
	return 0;
}

static int table_add(struct table *t, int kind, const char *text,
		     const char *json)
{
	struct cell *c;

	if (t->ncells >= t->nrows * t->ncols)
		return -EINVAL;	/* more cells than columns */
	c = &t->cells[t->ncells];
	c->kind = kind;
	c->text = strdup(text);
	c->json = json ? strdup(json) : NULL;
	if (!c->text || (json && !c->json)) {
		free(c->text);
		free(c->json);
		return -ENOMEM;
	}
	t->ncells++;
	return 0;
}

int table_str(struct table *t, const char *s)
{
	return s ? table_add(t, CELL_STR, s, NULL) : table_null(t);
}

int table_int(struct table *t, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return table_add(t, CELL_NUM, buf, buf);
}

int table_num_text(struct table *t, int64_t v, const char *text)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return table_add(t, CELL_NUM, text, buf);
}

int table_bytes(struct table *t, int64_t v)
{
	static const char units[] = "BKMGTP";
	double d = (double)v;
	char text[24];
	unsigned u = 0;

	while (d >= 1024 && u + 1 < sizeof(units) - 1) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(text, sizeof(text), "%" PRId64 "B", v);
	else
		snprintf(text, sizeof(text), "%.1f%c", d, units[u]);
	return table_num_text(t, v, text);
}

int table_bool(struct table *t, int v)
{
	return table_add(t, CELL_BOOL, v ? "yes" : "no", v ? "true" : "false");
}

int table_bool_text(struct table *t, int v, const char *text)
{
	return table_add(t, CELL_BOOL, text, v ? "true" : "false");
}

int table_null(struct table *t)
{
	return table_add(t, CELL_NULL, "-", "null");
}

void json_print_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	for (; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static const struct cell *table_cell(const struct table *t, size_t row,
				     unsigned col)
{
	size_t i = row * t->ncols + col;
	static const struct cell none = { CELL_NULL, "-", "null" };

	return i < t->ncells ? &t->cells[i] : &none;
}

static void table_print_json_row(const struct table *t, FILE *out, size_t row,
				 int pretty, const char *indent)
{
	unsigned c;

	fputs("{", out);
	for (c = 0; c < t->ncols; c++) {
		const struct cell *cell = table_cell(t, row, c);

		if (pretty)
			fprintf(out, "\n%s  ", indent);
		json_print_string(out, t->cols[c].key);
		fputs(pretty ? ": " : ":", out);
		if (cell->kind == CELL_STR)
			json_print_string(out, cell->text);
		else
			fputs(cell->json, out);
		if (c + 1 < t->ncols)
			fputc(',', out);
	}
	if (pretty)
		fprintf(out, "\n%s", indent);
	fputs("}", out);
}

static void table_print_json(const struct table *t, FILE *out, int pretty)
{
	size_t r;

	fputc('[', out);
	for (r = 0; r < t->nrows; r++) {
		if (pretty)
			fputs("\n  ", out);
		table_print_json_row(t, out, r, pretty, pretty ? "  " : "");
		if (r + 1 < t->nrows)
			fputc(',', out);
	}
	fputs(pretty && t->nrows ? "\n]\n" : "]\n", out);
}

void table_print_object(const struct table *t, FILE *out, int format)
{
	if (t->nrows == 0) {
		fputs("null\n", out);
		return;
	}
	table_print_json_row(t, out, 0, format == TABLE_JSON_PRETTY, "");
	fputc('\n', out);
}

/* The cells of a line up to its last non-empty one, padded to width. */
static void table_print_line(FILE *out, const char *const *cells,
			     unsigned n, const size_t *width)
{
	unsigned c, last = 0;

	for (c = 0; c < n; c++)
		if (cells[c][0])
			last = c;
	for (c = 0; c <= last; c++)
		if (c == last)
			fprintf(out, "%s\n", cells[c]);
		else
			fprintf(out, "%-*s ", (int)width[c], cells[c]);
}

void table_print(const struct table *t, FILE *out, int format, int legend)
{
	const char **cells;
	size_t *w, r;
	unsigned c;

	if (format != TABLE_TEXT) {
		table_print_json(t, out, format == TABLE_JSON_PRETTY);
		return;
	}
	w = calloc(t->ncols, sizeof(*w));
	cells = calloc(t->ncols, sizeof(*cells));
	if (!w || !cells)
		goto out;
	for (c = 0; c < t->ncols; c++) {
		w[c] = legend ? strlen(t->cols[c].header) : 0;
		for (r = 0; r < t->nrows; r++)
			w[c] = MAXW(w[c], strlen(table_cell(t, r, c)->text));
	}
	if (legend) {
		for (c = 0; c < t->ncols; c++)
			cells[c] = t->cols[c].header;
		table_print_line(out, cells, t->ncols, w);
	}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++)
			cells[c] = table_cell(t, r, c)->text;
		table_print_line(out, cells, t->ncols, w);
	}
	if (legend)
		fprintf(out, "\n%zu %s listed.\n", t->nrows,
			t->nrows == 1 ? "entry" : "entries");
out:
	free(cells);
	free(w);
}

int table_parse_format_opt(const char *arg, int *format)
{
	const char *v;

	if (!strcmp(arg, "-j")) {
		*format = isatty(STDOUT_FILENO) ? TABLE_JSON_PRETTY :
			TABLE_JSON_SHORT;
		return 1;
	}
	if (!strcmp(arg, "--json")) {
		*format = TABLE_JSON_PRETTY;
		return 1;
	}
	if (strncmp(arg, "--json=", 7) != 0)
		return 0;
	v = arg + 7;
	if (!strcmp(v, "short")) {
		*format = TABLE_JSON_SHORT;
	} else if (!strcmp(v, "pretty")) {
		*format = TABLE_JSON_PRETTY;
	} else if (!strcmp(v, "off")) {
		*format = TABLE_TEXT;
	} else {
		fprintf(stderr, "linkboot: --json=%s: expected short, pretty "
				"or off\n", v);
		return -EINVAL;
	}
	return 1;
}

void table_print_fields(const struct table *t, FILE *out)
{
	size_t w = 0;
	unsigned c;

	for (c = 0; c < t->ncols; c++)
		w = MAXW(w, strlen(t->cols[c].header));
	for (c = 0; t->nrows && c < t->ncols; c++)
		fprintf(out, "%*s: %s\n", (int)w, t->cols[c].header,
			table_cell(t, 0, c)->text);
}
