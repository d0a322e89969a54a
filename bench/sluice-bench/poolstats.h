/* Queue wait as the pooler reports it: SHOW STATS on the target's admin console (database
 * "pgbouncer"; sluice and PgBouncer both answer it for admin_users/stats_users), read before and
 * after the run. PostgreSQL itself has no such console: then the figures stay unknown. */
#ifndef SLUICE_BENCH_POOLSTATS_H
#define SLUICE_BENCH_POOLSTATS_H

#include <stdint.h>

struct bench;
struct run_opts;

#define POOLSTATS_MAX_DBS 64

/* One database's counters from SHOW STATS. */
struct poolstats_db {
	char name[64];
	uint64_t xacts;   /* total_xact_count */
	uint64_t wait_us; /* total_wait_time: microseconds clients waited for a server */
};

struct poolstats {
	int ok; /* the console answered */
	int n;
	struct poolstats_db db[POOLSTATS_MAX_DBS];
};

/* Read SHOW STATS from the target's admin console into s (s->ok = 0 when it does not answer,
 * after at most a few seconds). Blocking: call it from the main thread, outside the run. */
void poolstats_read(const struct bench *b, const struct run_opts *o, struct poolstats *s);
/* Mean queue wait per transaction of database db between two readings, in ms; -1 when unknown
 * (no console, or the database is not listed, or no transaction ran). */
double poolstats_wait_ms(const struct poolstats *before, const struct poolstats *after,
                         const char *db, uint64_t *xacts);

#endif
