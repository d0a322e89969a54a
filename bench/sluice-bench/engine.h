/* The load engine of sluice-bench: worker threads, each with one libev loop driving its share of
 * every workload's clients through libpq's asynchronous API, and the statistics they record. */
#ifndef SLUICE_BENCH_ENGINE_H
#define SLUICE_BENCH_ENGINE_H

#include <pthread.h>
#include <stdint.h>

#include "hist.h"
#include "rng.h"
#include "scenario.h"

#define STATS_MAX_CODES 16
#define LATE_START_S    0.010 /* an open-loop start this late with a free client = bench is behind */

struct code_count {
	char code[6];
	uint64_t n;
	char sample[160]; /* first message seen with this code */
};

/* What one workload did (in one thread, or merged). */
struct wstats {
	uint64_t committed;
	uint64_t failed; /* transactions given up: errors[] by SQLSTATE */
	uint64_t retries;
	uint64_t offered; /* open loop: arrivals scheduled */
	uint64_t late; /* open loop: started > LATE_START_S after their time with a free client */
	uint64_t connects;  /* successful connections */
	uint64_t abandoned; /* cut off by the drain timeout */
	double max_lag;     /* open loop: worst start delay with a free client (seconds) */
	struct code_count errors[STATS_MAX_CODES];
	struct code_count retried[STATS_MAX_CODES];
	struct hist lat;  /* microseconds, from the intended start to the commit */
	struct hist conn; /* connection set-up, microseconds */
};

/* Reset all counters and histograms. */
void wstats_reset(struct wstats *s);
/* Add src into dst. */
void wstats_merge(struct wstats *dst, const struct wstats *src);
/* Count one occurrence of code in a code table (the 16th distinct code and later go to "other"). */
void codes_add(struct code_count *t, const char *code, const char *sample, uint64_t n);

/* Options of a run that do not come from the scenario file. */
struct run_opts {
	const char *conninfo; /* base libpq connection string (may be empty) */
	const char *host, *port, *user;
	int threads;
	int progress; /* print a line per second on stderr */
	int no_plots; /* do not run gnuplot (plots.gp and the timelines are still written) */
	const char *out_dir;
};

struct worker;

/* A whole run: the one runtime object of sluice-bench. */
struct bench {
	struct scenario *sc;
	const struct run_opts *opt;
	int n_threads;
	struct worker *workers;
	double t0;       /* CLOCK_MONOTONIC seconds at the start */
	double t_window; /* start of the measured window (t0 + warmup) */
	double t_end;    /* end of the measured window */
	/* filled by run_bench() for the report */
	struct wstats *total;  /* per workload, measured window */
	struct wstats *warmup; /* per workload, transactions that started during warmup */
	struct timeline *tl;   /* per workload */
	double elapsed;        /* actual seconds from start to the last transaction */
	double measured;       /* length of the measured window actually run */
	double t_stop;         /* when an interrupt stopped the run (t_end otherwise) */
	int interrupted;
	char started_at[32];
	char server_version[64];
	char target_id[256];     /* what identifies the target (pooler) when it says so */
	char target_source[128]; /* how target_id was found */
	char sluice_version[64]; /* the target's SHOW VERSION when it is sluice */
	struct poolstats *ps_before, *ps_after; /* the pooler's SHOW STATS around the run */
	char target_desc[512]; /* the connection parameters, without the password */
	int probe_connections; /* connections made to identify the target (not in the counts) */
	char *warnings[16];
	int n_warnings;
};

/* Add a warning for the report (and print it on stderr). */
void bench_warn(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One second of one workload, for the progress line and the plots. */
struct tl_point {
	double t; /* seconds since the start */
	double tps;
	double p50, p95, p99, max; /* ms */
	uint64_t errors, retries;
};

struct timeline {
	struct tl_point *pt;
	int n, cap;
};

/* Monotonic clock in seconds. */
double mono_now(void);
/* Run the scenario: connect, load, drain, merge statistics into b->total/b->warmup/b->tl.
 * Returns 0, or -1 when the run could not start (message on stderr). */
int run_bench(struct bench *b);
/* Write DIR/ledger-NAME.txt (one committed :ledger_id per line) for workloads with ledger = yes. */
int run_write_ledgers(struct bench *b, const char *dir);
/* Free everything run_bench allocated. */
void run_free(struct bench *b);

#define CONNSPEC_MAX 48

/* libpq connection parameters for one database: scenario file < --target conninfo < -h/-p/-U,
 * then dbname and application_name. The arrays are NULL-terminated, for PQconnectStartParams. */
struct connspec {
	const char *kw[CONNSPEC_MAX + 1];
	const char *val[CONNSPEC_MAX + 1];
	int n;
	void *parsed; /* PQconninfoOption array owning the conninfo's strings */
	char port_buf[8];
};

/* Fill cs for dbname/appname (appname may be NULL). Returns 0, or -1 with a message in err. */
int connspec_build(struct connspec *cs, const struct run_opts *o, const struct scenario *sc,
                   const char *dbname, const char *appname, char *err, size_t errlen);
/* Set (or replace) one parameter; val must outlive cs. Returns 0, or -1 when cs is full. */
int connspec_set(struct connspec *cs, const char *kw, const char *val);
/* Free what connspec_build allocated. */
void connspec_free(struct connspec *cs);

#endif
