/* The first keyword of a statement's text, for the few places that look at one without the
 * full classifier (stmtclass.h): drain checks, lost-transaction handling. Pure functions. */
#ifndef SLUICE_SQLWORD_H
#define SLUICE_SQLWORD_H

#include <stddef.h>

/* Offset of the first byte of q (len bytes) after blanks and SQL comments; len if none. */
size_t sql_skip_blank(const char *q, size_t len);
/* 1 if the statement starts (after blanks and comments) with one of words (NULL-terminated
 * list; case-insensitive; a word may contain spaces, and must end at a non-alphanumeric). */
int sql_starts_with(const char *q, size_t len, const char *const *words);

/* 1 if q starts (blanks and comments aside) with a BEGIN [WORK|TRANSACTION] or START
 * TRANSACTION statement whose transaction modes (any order, commas optional, ISOLATION LEVEL
 * and [NOT] DEFERRABLE in between) make it READ ONLY; 0 otherwise, also for anything that is
 * not such a statement. For read_only_routing. */
int sql_begins_read_only(const char *q, size_t len);

#endif
