/* Governance configuration: [tenant_defaults], [tenant.NAME] and [class.NAME] sections of the
 * ini file (kept raw by config_load in cfg->extra_sections) parsed and validated into plain
 * structs. Pure code: no sockets, no globals. */
#ifndef SLUICE_GOVERNOR_H
#define SLUICE_GOVERNOR_H

#include "classify.h"
#include "config.h"
#include "govsched.h"

#include <stddef.h>

/* A list of glob patterns (databases =, users =). */
struct gov_globs {
	char **v;
	int n;
};

struct gov_tenant_conf {
	char name[CFG_NAME_MAX]; /* "" for [tenant_defaults] (auto tenants use the database name) */
	struct gov_globs databases;
	struct gov_globs users;
	int max_server_conn; /* 0 = unlimited */
	int max_client_conn; /* 0 = unlimited */
	double xact_rate;    /* per second, 0 = unlimited */
	double xact_burst;   /* 0 = same as rate */
	double query_rate;
	double query_burst;
	int weight;    /* 1..10000 */
	int max_queue; /* waiting transactions; 0 = none may wait */
	const char *file;
	int line;
};

/* Where a class's transactions run (route =): the entry's primary, a standby only, or a
 * standby when one qualifies and the primary otherwise. */
enum gov_route { ROUTE_PRIMARY, ROUTE_REPLICA, ROUTE_PREFER_REPLICA };

struct gov_class_conf {
	char name[CLASSIFY_NAME_MAX];
	char *match_text; /* the match = value as written, NULL for none */
	struct classify_ruleset match;
	int priority;
	double reserve; /* slots, or percent when reserve_pct */
	int reserve_pct;
	double max; /* slots, or percent when max_pct */
	int max_pct;
	double queue_timeout;     /* seconds, 0 = none */
	double statement_timeout; /* seconds, 0 = none */
	char overload_sqlstate[6];
	int route; /* enum gov_route */
	const char *file;
	int line;
};

struct governor_conf {
	struct gov_tenant_conf defaults;
	struct gov_tenant_conf *tenants; /* named tenants, file order */
	int n_tenants;
	struct gov_class_conf *classes; /* file order, "default" last */
	int n_classes;                  /* 1..SCHED_MAX_CLASSES */
};

/* "primary", "replica" or "prefer-replica". */
const char *governor_route_name(int route);
/* Parse the governance sections of cfg into *out. Returns 0, or -1 with "file:line: key: reason"
 * in err (nothing to free then). Unknown keys are errors. */
int governor_conf_load(const struct sluice_config *cfg, struct governor_conf *out, char *err,
                       size_t errlen);
/* Release what governor_conf_load allocated (safe on a zeroed struct). */
void governor_conf_free(struct governor_conf *conf);

/* The tenant for a login: the first named tenant (file order) whose databases and users patterns
 * match (an empty list matches anything; a tenant with neither list matches the database named
 * like the tenant). None: the defaults, *is_auto = 1, and the tenant's name is the database. */
const struct gov_tenant_conf *governor_tenant_for(const struct governor_conf *conf,
                                                  const char *database, const char *user,
                                                  int *is_auto);
/* Index of the first class (file order, default last) whose match rules accept the facts. */
int governor_class_for(const struct governor_conf *conf, const struct classify_facts *facts);
/* Index of the class named name, or -1. */
int governor_class_index(const struct governor_conf *conf, const char *name);

/* Effective settings as text, one field per call: fills *key and buf for field i and returns 0,
 * or returns -1 past the last field. Fields: name and every key of the section. */
int governor_tenant_field(const struct gov_tenant_conf *t, int i, const char **key, char *buf,
                          size_t len);
int governor_class_field(const struct gov_class_conf *c, int i, const char **key, char *buf,
                         size_t len);

/* Runtime change of one key (SET TENANT / SET CLASS): parse value with the file's rules into
 * *t / *c. Returns 0, or -1 with the reason in err (nothing changed then). Mapping keys
 * (databases, users, match) are refused: they stay in the file. */
int governor_tenant_set(struct gov_tenant_conf *t, const char *key, const char *value, char *err,
                        size_t errlen);
int governor_class_set(struct gov_class_conf *c, const char *key, const char *value, char *err,
                       size_t errlen);
/* One key's current value as text (as governor_*_field); 0, or -1 if the key is unknown. */
int governor_tenant_key_value(const struct gov_tenant_conf *t, const char *key, char *buf,
                              size_t len);
int governor_class_key_value(const struct gov_class_conf *c, const char *key, char *buf,
                             size_t len);

#endif
