/* SQL statement classification for transaction pooling: which statements of a
 * Query (or a Parse) change session state that must follow the client (SET,
 * RESET), can be answered by sluice (DISCARD ALL, DEALLOCATE), need one backend
 * for the whole session (advisory locks, temp tables, WITH HOLD cursors, SQL
 * PREPARE), or touch a whole database (DROP/CREATE DATABASE). Pure functions over
 * the message text: no allocation, never reads past the given length. */
#ifndef SLUICE_STMTCLASS_H
#define SLUICE_STMTCLASS_H

#include <stddef.h>

#define STMT_NAME_MAX  64 /* PostgreSQL's NAMEDATALEN */
#define STMT_MAX_ITEMS 8  /* statements of one Query examined; the rest only for pins */

enum stmt_kind {
	SK_OTHER,
	SK_SET,             /* session-level SET: name, value */
	SK_SET_LOCAL,       /* SET LOCAL / SET TRANSACTION: nothing to track */
	SK_RESET,           /* RESET name (also SET name TO DEFAULT) */
	SK_RESET_ALL,       /* RESET ALL */
	SK_DISCARD_ALL,     /* DISCARD ALL */
	SK_DISCARD_TEMP,    /* DISCARD TEMP / TEMPORARY */
	SK_DEALLOCATE,      /* DEALLOCATE [PREPARE] name */
	SK_DEALLOCATE_ALL,  /* DEALLOCATE [PREPARE] ALL */
	SK_PREPARE,         /* PREPARE name ...: SQL-level prepared statement */
	SK_DECLARE_HOLD,    /* DECLARE name ... WITH HOLD */
	SK_CLOSE,           /* CLOSE name */
	SK_CLOSE_ALL,       /* CLOSE ALL */
	SK_CREATE_TEMP,     /* CREATE TEMP/TEMPORARY TABLE|VIEW|SEQUENCE (not ON COMMIT DROP) */
	SK_LISTEN,          /* LISTEN channel */
	SK_UNLISTEN,        /* UNLISTEN channel */
	SK_UNLISTEN_ALL,    /* UNLISTEN * */
	SK_DROP_DATABASE,   /* DROP DATABASE name: name */
	SK_CREATE_DATABASE, /* CREATE DATABASE new ... [TEMPLATE name]: name is the template (""
	                       none) */
	SK_ALTER_DATABASE,  /* ALTER DATABASE name RENAME ...: name */
	SK_ROLLBACK,        /* ROLLBACK / ABORT of the whole transaction (not TO SAVEPOINT) */
};

struct stmt_item {
	enum stmt_kind kind;
	char name[STMT_NAME_MAX]; /* GUC (lower case), statement, cursor, channel or database */
	const char *value;        /* SK_SET: value text as written (points into the input) */
	size_t value_len;
};

struct stmt_info {
	int n;                   /* items filled (at most STMT_MAX_ITEMS) */
	int more;                /* the text had more statements than items */
	int advisory_lock;       /* session-level pg_advisory_lock / pg_try_advisory_lock calls */
	int advisory_unlock;     /* pg_advisory_unlock calls */
	int advisory_unlock_all; /* pg_advisory_unlock_all calls */
	struct stmt_item item[STMT_MAX_ITEMS];
};

/* Classify the statements in sql[0..len) (a Query's text or a Parse's query; need not be
 * NUL-terminated). Returns the number of items filled. */
int stmt_classify(const char *sql, size_t len, struct stmt_info *out);
/* 1 when the text is exactly one statement of kind k (answering it locally is safe). */
int stmt_is_single(const struct stmt_info *si, enum stmt_kind k);
/* Write the SQL that sets tracked session variable name to value (SET ROLE, SET SESSION
 * AUTHORIZATION and SESSION CHARACTERISTICS keep their own syntax). -1 if it does not fit. */
int stmt_set_sql(const char *name, const char *value, char *out, size_t outlen);
/* Write the SQL that brings name back to the connection's default. -1 if it does not fit. */
int stmt_reset_sql(const char *name, char *out, size_t outlen);

#endif
