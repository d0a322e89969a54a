/* auth_file reader: PgBouncer's userlist.txt format, one `"user" "secret"` pair per line. */
#include "config_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Read a double-quoted token at *pp into buf ("" is an escaped quote). Returns 0, -1 when the
 * quote is not closed, -2 when the token does not fit in len bytes. */
static int read_quoted(const char **pp, char *buf, size_t len)
{
	const char *p = *pp + 1; /* past the opening quote */
	size_t n = 0;
	int too_long = 0;

	for (;;) {
		if (*p == '\0')
			return -1;
		if (*p == '"') {
			if (p[1] != '"')
				break;
			p++;
		}
		if (n + 1 < len)
			buf[n++] = *p;
		else
			too_long = 1;
		p++;
	}
	buf[n] = '\0';
	*pp = p + 1;
	return too_long ? -2 : 0;
}

/* Parse one line into e; 1 when it holds an entry, 0 for blank/comment, -1 with err. */
static int parse_line(const char *line, struct userlist_entry *e, const char *path, int lineno,
                      char *err, size_t errlen)
{
	const char *p = line + strspn(line, " \t");
	int rc;

	if (*p == '\0' || *p == ';' || *p == '#')
		return 0;
	if (*p != '"')
		goto syntax;
	rc = read_quoted(&p, e->name, sizeof(e->name));
	if (rc == -1)
		goto unterminated;
	if (rc == -2) {
		cfg_errf(err, errlen, "%s:%d: user name too long (max %d bytes)", path, lineno,
		         CFG_NAME_MAX - 1);
		return -1;
	}
	if (e->name[0] == '\0') {
		cfg_errf(err, errlen, "%s:%d: empty user name", path, lineno);
		return -1;
	}
	p += strspn(p, " \t");
	if (*p != '"')
		goto syntax;
	rc = read_quoted(&p, e->secret, sizeof(e->secret));
	if (rc == -1)
		goto unterminated;
	if (rc == -2) {
		cfg_errf(err, errlen, "%s:%d: %s: secret too long (max %d bytes)", path, lineno,
		         e->name, CFG_SECRET_MAX - 1);
		return -1;
	}
	return 1; /* anything after the second field is ignored */
syntax:
	cfg_errf(err, errlen, "%s:%d: expected \"user\" \"secret\"", path, lineno);
	return -1;
unterminated:
	cfg_errf(err, errlen, "%s:%d: unterminated quoted string", path, lineno);
	return -1;
}

int userlist_parse(const char *path, struct userlist_entry **out, char *err, size_t errlen)
{
	struct userlist_entry *arr = NULL, e;
	int n = 0, cap = 0, lineno = 0, rc = -1;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	FILE *f;

	*out = NULL;
	f = fopen(path, "r");
	if (!f) {
		cfg_errf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &linecap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		memset(&e, 0, sizeof(e));
		int got = parse_line(line, &e, path, lineno, err, errlen);
		if (got < 0)
			goto out;
		if (got == 0)
			continue;
		if (n == cap) {
			int ncap = cap ? cap * 2 : 16;
			struct userlist_entry *na = realloc(arr, (size_t)ncap * sizeof(*arr));
			if (!na) {
				cfg_errf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			arr = na;
			cap = ncap;
		}
		arr[n++] = e;
	}
	if (ferror(f)) {
		cfg_errf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	n = cfg_sort_dedupe(arr, n, sizeof(*arr));
	if (n < 0) {
		cfg_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = n;
out:
	free(arr);
	free(line);
	fclose(f);
	return rc;
}
