/* Formatting an error message into a caller's buffer, shared by the parsers. */
#ifndef SLUICE_ERRFMT_H
#define SLUICE_ERRFMT_H

#include <stddef.h>

/* printf into err (at most errlen bytes, NUL-terminated); no-op when err is NULL or errlen 0. */
void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
