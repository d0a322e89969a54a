/* First keyword of a statement (see include/sqlword.h). */
#include "sqlword.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

size_t sql_skip_blank(const char *q, size_t len)
{
	size_t i = 0;
	for (;;) {
		while (i < len && isspace((unsigned char)q[i]))
			i++;
		if (i + 1 < len && q[i] == '/' && q[i + 1] == '*') {
			const char *e = memmem(q + i + 2, len - i - 2, "*/", 2);
			if (!e)
				return len;
			i = (size_t)(e - q) + 2;
		} else if (i + 1 < len && q[i] == '-' && q[i + 1] == '-') {
			const char *e = memchr(q + i, '\n', len - i);
			if (!e)
				return len;
			i = (size_t)(e - q) + 1;
		} else {
			return i;
		}
	}
}

int sql_starts_with(const char *q, size_t len, const char *const *words)
{
	size_t i = sql_skip_blank(q, len);
	for (int k = 0; words[k]; k++) {
		size_t n = strlen(words[k]);
		if (len - i >= n && !strncasecmp(q + i, words[k], n) &&
		    (len - i == n || !isalnum((unsigned char)q[i + n])))
			return 1;
	}
	return 0;
}

/* The next token of q from *i: a keyword (letters, upper-cased into w) or one punctuation
 * byte; 0 at the end of the text. Comments and blanks between tokens are skipped. */
static int next_token(const char *q, size_t len, size_t *i, char *w, size_t wlen)
{
	*i += sql_skip_blank(q + *i, len - *i);
	if (*i >= len)
		return 0;
	if (!isalpha((unsigned char)q[*i])) {
		w[0] = q[(*i)++];
		w[1] = 0;
		return 1;
	}
	size_t n = 0;
	while (*i < len && (isalnum((unsigned char)q[*i]) || q[*i] == '_')) {
		if (n + 1 < wlen)
			w[n++] = (char)toupper((unsigned char)q[*i]);
		(*i)++;
	}
	w[n] = 0;
	return 1;
}

int sql_begins_read_only(const char *q, size_t len)
{
	char w[24];
	size_t i = 0;
	if (!next_token(q, len, &i, w, sizeof(w)))
		return 0;
	if (!strcmp(w, "START")) {
		if (!next_token(q, len, &i, w, sizeof(w)) || strcmp(w, "TRANSACTION"))
			return 0;
	} else if (strcmp(w, "BEGIN")) {
		return 0;
	}
	int ro = 0, first = 1;
	for (;;) {
		if (!next_token(q, len, &i, w, sizeof(w)) || !strcmp(w, ";"))
			return ro;
		if (first && (!strcmp(w, "WORK") || !strcmp(w, "TRANSACTION"))) {
			first = 0;
			continue;
		}
		first = 0;
		if (!strcmp(w, ","))
			continue;
		if (!strcmp(w, "READ")) {
			if (!next_token(q, len, &i, w, sizeof(w)))
				return 0;
			if (!strcmp(w, "ONLY"))
				ro = 1;
			else if (!strcmp(w, "WRITE"))
				ro = 0;
			else
				return 0;
		} else if (!strcmp(w, "ISOLATION")) {
			if (!next_token(q, len, &i, w, sizeof(w)) || strcmp(w, "LEVEL") ||
			    !next_token(q, len, &i, w, sizeof(w)))
				return 0;
			if (!strcmp(w, "REPEATABLE") || !strcmp(w, "READ")) {
				char v[24];
				if (!next_token(q, len, &i, v, sizeof(v)))
					return 0;
				if (!strcmp(w, "REPEATABLE")
				        ? strcmp(v, "READ")
				        : strcmp(v, "COMMITTED") && strcmp(v, "UNCOMMITTED"))
					return 0;
			} else if (strcmp(w, "SERIALIZABLE")) {
				return 0;
			}
		} else if (!strcmp(w, "NOT")) {
			if (!next_token(q, len, &i, w, sizeof(w)) || strcmp(w, "DEFERRABLE"))
				return 0;
		} else if (strcmp(w, "DEFERRABLE")) {
			return 0;
		}
	}
}
