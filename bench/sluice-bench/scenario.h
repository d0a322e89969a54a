/* sluice-bench scenarios: one ini file, read with sluice's own configuration reader
 * (config_load), with a [scenario] section and one [workload.NAME] section per kind of traffic.
 * See bench/README.md for every key. */
#ifndef SLUICE_BENCH_SCENARIO_H
#define SLUICE_BENCH_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "script.h"

#define SCEN_MAX_RETRY_CODES 8

struct workload {
	char *name;
	char *database;
	char *application_name; /* NULL: libpq's default (none) */
	int clients;
	double rate; /* open loop: transactions per second for the whole workload; 0: closed */
	double think_time; /* closed loop: pause after each transaction (seconds) */
	int extended;      /* 1: extended protocol (PQsendQueryParams), 0: simple */
	char retry[SCEN_MAX_RETRY_CODES][6];
	int n_retry;
	int retry_max;        /* attempts after the first one */
	double retry_backoff; /* base: the wait before attempt k is uniform in [0, base * 2^k) */
	int reconnect;        /* 1: a new connection for every transaction */
	int ledger;           /* 1: record every committed :ledger_id in DIR/ledger-NAME.txt */
	double slo_p99;       /* seconds, 0: none (used by capacity runs) */
	char *script_path;
	char *init_path; /* optional, run by `init` in this workload's database */
	struct script *script;
};

struct scenario {
	char *path;
	char *name;
	double duration, warmup, ramp, drain_timeout; /* seconds */
	uint64_t seed;
	int64_t scale;
	int threads;                  /* 0: one per CPU, at most 2 */
	char *host, *user, *maint_db; /* NULL: not given */
	int port;                     /* 0: not given */
	char *init_path;              /* run by `init` in every tenant database */
	double max_p99_ratio, min_tps_ratio,
	    max_error_rate; /* promotion-gate thresholds, 0 = unset */
	struct workload *w;
	int n_w;
};

/* Load a scenario file and the scripts it names. Returns a new scenario, or NULL with
 * "file:line: key: reason" in err. Warnings (unknown sections) go to stderr. */
struct scenario *scenario_load(const char *path, char *err, size_t errlen);
/* Free a scenario (NULL allowed). */
void scenario_free(struct scenario *sc);
/* Keep only the workloads named in the comma-separated list (order of the file). Returns 0, or -1
 * with a message when a name is unknown. */
int scenario_keep_only(struct scenario *sc, const char *names, char *err, size_t errlen);
/* Strip a trailing " ; comment" or " # comment" from an ini value, in place. */
void scenario_strip_comment(char *v);
/* Parse "40001, 40P01" into codes; returns the count or -1 for an invalid code. */
int scenario_parse_codes(const char *s, char codes[][6], int max);

#endif
