/* Script helpers that do not need the parser: reading files, rendering a statement with its
 * variables as text, and the :scale substitution of init scripts. */
#include "script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *script_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;
		free(buf);
		fclose(f);
		errno = e ? e : EIO;
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

struct script *script_load(const char *path, char *err, size_t errlen)
{
	char *text = script_read_file(path);
	struct script *s;

	if (!text) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	s = script_parse(path, text, err, errlen);
	free(text);
	return s;
}

static int ensure(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 256;
	while (ncap < need)
		ncap *= 2;
	char *nb = realloc(*buf, ncap);
	if (!nb)
		return -1;
	*buf = nb;
	*cap = ncap;
	return 0;
}

int script_render(const struct script_step *st, const int64_t *vars, char **buf, size_t *cap)
{
	size_t len = 0;

	for (int i = 0; i < st->n_pieces; i++) {
		const struct sql_piece *pc = &st->pieces[i];
		if (ensure(buf, cap, len + pc->len + 24) < 0)
			return -1;
		memcpy(*buf + len, pc->text, pc->len);
		len += pc->len;
		if (pc->var >= 0)
			len += (size_t)sprintf(*buf + len, "%" PRId64, vars[pc->var]);
	}
	if (ensure(buf, cap, len + 1) < 0)
		return -1;
	(*buf)[len] = '\0';
	return 0;
}

char *script_subst_scale(const char *text, int64_t scale)
{
	size_t cap = strlen(text) + 64, len = 0;
	char *out = malloc(cap);
	const char *p = text;

	if (!out)
		return NULL;
	while (*p) {
		/* ":scale" not preceded by ':' (a cast) and not followed by a name character */
		if (p[0] == ':' && strncmp(p + 1, "scale", 5) == 0 && (p == text || p[-1] != ':') &&
		    !(p[6] == '_' || (p[6] >= 'a' && p[6] <= 'z') || (p[6] >= 'A' && p[6] <= 'Z') ||
		      (p[6] >= '0' && p[6] <= '9'))) {
			if (ensure(&out, &cap, len + 24) < 0)
				goto oom;
			len += (size_t)sprintf(out + len, "%" PRId64, scale);
			p += 6;
			continue;
		}
		if (ensure(&out, &cap, len + 2) < 0)
			goto oom;
		out[len++] = *p++;
	}
	out[len] = '\0';
	return out;
oom:
	free(out);
	return NULL;
}
