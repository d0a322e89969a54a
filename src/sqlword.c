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
