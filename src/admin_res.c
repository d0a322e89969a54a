/* The admin result table (struct admin_res) and its JSON-lines rendering: what every command
 * produces and the admin socket sends. Pure code (no sockets), unit-tested. */
#include "admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_sock.h"

/* ---- result table ---- */

void admin_res_cols(struct admin_res *res, const char *spec)
{
	res->ncols = 0;
	while (*spec && res->ncols < ADMIN_MAX_COLS) {
		const char *colon = strchr(spec, ':');
		if (!colon)
			break;
		size_t len = (size_t)(colon - spec);
		if (len >= sizeof(res->colname[0]))
			len = sizeof(res->colname[0]) - 1;
		memcpy(res->colname[res->ncols], spec, len);
		res->colname[res->ncols][len] = '\0';
		res->coltype[res->ncols] = colon[1] == 'i'   ? AT_INT
		                           : colon[1] == 'n' ? AT_NUMERIC
		                                             : AT_TEXT;
		res->ncols++;
		spec = colon + 2;
		if (*spec == ',')
			spec++;
	}
	if (!res->tag[0])
		snprintf(res->tag, sizeof(res->tag), "SHOW");
}

void admin_row(struct admin_res *res)
{
	if (res->nrows == res->cap) {
		int cap = res->cap ? res->cap * 2 : 16;
		char **c = realloc(res->cells, (size_t)cap * (size_t)res->ncols * sizeof(*c));
		if (!c) {
			res->oom = 1;
			return;
		}
		res->cells = c;
		res->cap = cap;
	}
	memset(&res->cells[res->nrows * res->ncols], 0, (size_t)res->ncols * sizeof(char *));
	res->nrows++;
	res->cur = 0;
}

void admin_cell(struct admin_res *res, const char *s)
{
	if (res->oom || !res->nrows || res->cur >= res->ncols)
		return;
	char *copy = NULL;
	if (s && !(copy = strdup(s)))
		res->oom = 1;
	res->cells[(res->nrows - 1) * res->ncols + res->cur++] = copy;
}

void admin_cellf(struct admin_res *res, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	admin_cell(res, buf);
}

void admin_cell_int(struct admin_res *res, long long v)
{
	admin_cellf(res, "%lld", v);
}

static void free_cells(struct admin_res *res)
{
	for (int i = 0; i < res->nrows * res->ncols; i++)
		free(res->cells[i]);
	free(res->cells);
	res->cells = NULL;
	res->nrows = res->cap = res->cur = 0;
}

void admin_res_error(struct admin_res *res, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;
	free_cells(res);
	res->ncols = 0;
	res->error = 1;
	snprintf(res->sqlstate, sizeof(res->sqlstate), "%s", sqlstate);
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	res->wait = AW_NONE;
}

void admin_res_free(struct admin_res *res)
{
	free_cells(res);
}

/* ---- JSON lines ---- */

static void json_str(struct wbuf *b, const char *s)
{
	wb_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			wb_put(b, e, 2);
		} else if (c < 0x20) {
			char e[8];
			int n = snprintf(e, sizeof(e), "\\u%04x", c);
			wb_put(b, e, (size_t)n);
		} else {
			wb_put(b, s, 1);
		}
	}
	wb_put(b, "\"", 1);
}

/* A numeric cell as a JSON number when it is one (JSON has no inf, nan, hex or leading +). */
static int json_number(const char *s)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (!(*p >= '0' && *p <= '9'))
		return 0;
	char *end;
	strtod(s, &end);
	return !*end && !strpbrk(s, "xXnN");
}

void admin_res_json(const struct admin_res *res, const char *late_err, struct wbuf *b)
{
	if (res->error || late_err) {
		wb_put(b, "{\"ok\":false,\"sqlstate\":", 23);
		json_str(b, res->error ? res->sqlstate : "XX000");
		wb_put(b, ",\"error\":", 9);
		json_str(b, res->error ? res->msg : late_err);
		wb_put(b, "}\n", 2);
		return;
	}
	wb_put(b, "{\"ok\":true,\"tag\":", 17);
	json_str(b, res->tag);
	if (res->notice[0]) {
		wb_put(b, ",\"notice\":", 10);
		json_str(b, res->notice);
	}
	if (res->ncols) {
		wb_put(b, ",\"columns\":[", 12);
		for (int c = 0; c < res->ncols; c++) {
			if (c)
				wb_put(b, ",", 1);
			json_str(b, res->colname[c]);
		}
		wb_put(b, "],\"rows\":[", 10);
		for (int r = 0; r < res->nrows; r++) {
			wb_put(b, r ? ",{" : "{", r ? 2 : 1);
			for (int c = 0; c < res->ncols; c++) {
				const char *v = admin_res_cell(res, r, c);
				if (c)
					wb_put(b, ",", 1);
				json_str(b, res->colname[c]);
				wb_put(b, ":", 1);
				if (!v)
					wb_put(b, "null", 4);
				else if (res->coltype[c] != AT_TEXT && json_number(v))
					wb_put(b, v, strlen(v));
				else
					json_str(b, v);
			}
			wb_put(b, "}", 1);
		}
		wb_put(b, "]", 1);
	}
	wb_put(b, "}\n", 2);
}
