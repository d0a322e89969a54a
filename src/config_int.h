/* Private interface between the configuration sources: config.c (ini reader and loader),
 * config_keys.c (main-section key table), config_dbs.c ([databases]/[users] lines) and
 * userlist.c (auth_file). Not for other modules. */
#ifndef SLUICE_CONFIG_INT_H
#define SLUICE_CONFIG_INT_H

#include "config.h"

#include <stdarg.h>

/* Outcome of config_key_set. */
enum cfg_set_result {
	CFG_SET_ERROR = -1,      /* invalid value; reason filled */
	CFG_SET_OK = 0,          /* applied */
	CFG_SET_UNKNOWN = 1,     /* not a key sluice or PgBouncer knows */
	CFG_SET_UNSUPPORTED = 2, /* a PgBouncer key sluice does not implement yet */
};

/* Set every main-section key of a zeroed snapshot to its table default; 0, or -1 on OOM. */
int config_keys_defaults(struct sluice_config *cfg, char *reason, size_t rlen);
/* Apply one main-section key = value. basedir (absolute, may be NULL) resolves relative path
 * values. On CFG_SET_ERROR, reason gets the text after "file:line: key: ". */
int config_key_set(struct sluice_config *cfg, const char *key, const char *value,
                   const char *basedir, char *reason, size_t rlen);
/* Free the strings owned by table keys. */
void config_keys_free(struct sluice_config *cfg);
/* Parse a pool_mode name (case-insensitive); -1 when invalid. */
int config_pool_mode_parse(const char *s);

/* Parse one [databases] line (name = value) into db, with defaults for what is not given;
 * -1 with reason ("name: ...", without file:line) on error. */
int cfg_db_parse(struct db_entry *db, const char *name, const char *value, char *reason,
                 size_t rlen);
/* The same for one [users] line. */
int cfg_user_parse(struct user_entry *u, const char *name, const char *value, char *reason,
                   size_t rlen);

/* Sort an array of n records of size sz whose first member is a NUL-terminated name, keeping
 * only the last record of each name (the one defined later wins). Returns the new count or -1. */
int cfg_sort_dedupe(void *arr, int n, size_t sz);

/* snprintf into err (err may be NULL or errlen 0). */
void cfg_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
