/* sluice-bench: an Odoo-shaped, multi-tenant load generator for PostgreSQL endpoints (sluice,
 * PgBouncer or PostgreSQL itself). Command line, target identification and the run's outline;
 * the engine is in engine.c/run.c, reports in report.c.
 *
 *   sluice-bench init FILE [-h HOST] [-p PORT] [-U USER] [--target CONNINFO] [--scale N]
 *   sluice-bench run  FILE [-h HOST] [-p PORT] [-U USER] [--target CONNINFO] [--duration 60s]
 *                     [--warmup 5s] [--scale N] [--seed N] [--threads N] [--only NAME,...]
 *                     [--clients NAME=N] [--rate NAME=TPS] [--no-plots] [--quiet|--progress]
 *                     --out DIR
 */
#include "init.h"
#include "report.h"
#include "poolstats.h"

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --clients NAME=N / --rate NAME=R: change one workload for this run (capacity searches). */
struct override {
	const char *spec;
	int is_rate;
};

static int apply_override(struct scenario *sc, const struct override *ov)
{
	const char *opt = ov->is_rate ? "--rate" : "--clients";
	const char *eq = strchr(ov->spec, '=');
	char *end;

	if (!eq) {
		fprintf(stderr, "sluice-bench: %s: expected WORKLOAD=VALUE\n", opt);
		return -1;
	}
	for (int i = 0; i < sc->n_w; i++) {
		struct workload *w = &sc->w[i];
		if (strlen(w->name) != (size_t)(eq - ov->spec) ||
		    strncmp(w->name, ov->spec, (size_t)(eq - ov->spec)) != 0)
			continue;
		double v = strtod(eq + 1, &end);
		if (end == eq + 1 || *end || !(v >= 0) || (!ov->is_rate && (v < 1 || v > 100000))) {
			fprintf(stderr, "sluice-bench: %s: bad value in %s\n", opt, ov->spec);
			return -1;
		}
		if (ov->is_rate) {
			if (w->think_time > 0 && v > 0) {
				fprintf(stderr,
				        "sluice-bench: --rate: %s is a closed-loop workload "
				        "(think_time)\n",
				        w->name);
				return -1;
			}
			w->rate = v;
		} else {
			w->clients = (int)v;
		}
		return 0;
	}
	fprintf(stderr, "sluice-bench: %s: no workload named %.*s\n", opt, (int)(eq - ov->spec),
	        ov->spec);
	return -1;
}

static void usage(FILE *f)
{
	fputs("usage:\n"
	      "  sluice-bench init SCENARIO.ini [-h HOST] [-p PORT] [-U USER] [--target CONNINFO]\n"
	      "                    [--scale N]\n"
	      "  sluice-bench run  SCENARIO.ini [-h HOST] [-p PORT] [-U USER] [--target CONNINFO]\n"
	      "                    [--duration 60s] [--warmup 5s] [--scale N] [--seed N]\n"
	      "                    [--threads N] [--only NAME,...] [--clients NAME=N]\n"
	      "                    [--rate NAME=TPS] [--no-plots] [--quiet | --progress]\n"
	      "                    --out DIR\n"
	      "  sluice-bench --version | --help\n"
	      "The password comes from PGPASSWORD or ~/.pgpass, as for psql.\n",
	      f);
}

static int mkdir_p(const char *dir)
{
	char *copy = strdup(dir);
	int rc = 0;

	if (!copy)
		return -1;
	for (char *p = copy + 1; *p && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(copy, 0755) < 0 && errno != EEXIST)
		rc = -1;
	free(copy);
	return rc;
}

/* What the target is. PostgreSQL reports server_version at login (through a pooler too, as the
 * backend's), which costs no transaction. A pooler is identified by its admin console when it
 * answers SHOW VERSION there (sluice and PgBouncer do for admin_users/stats_users); a
 * sluice_version ParameterStatus at login is taken too, should a build send one. */
static int identify_target(struct bench *b, const struct run_opts *o)
{
	const struct workload *w = &b->sc->w[0];
	struct connspec cs;
	char err[512];
	PGconn *c;
	const char *v;
	int len = 0;

	if (connspec_build(&cs, o, b->sc, w->database, w->application_name, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice-bench: %s\n", err);
		return -1;
	}
	for (int i = 0; i < cs.n; i++) {
		if (!strcmp(cs.kw[i], "password") || !strcmp(cs.kw[i], "dbname") ||
		    !strcmp(cs.kw[i], "application_name") ||
		    !strcmp(cs.kw[i], "fallback_application_name"))
			continue;
		len += snprintf(b->target_desc + len, sizeof(b->target_desc) - (size_t)len,
		                "%s%s=%s", len ? " " : "", cs.kw[i], cs.val[i]);
		if (len >= (int)sizeof(b->target_desc))
			break;
	}
	c = PQconnectdbParams(cs.kw, cs.val, 0);
	b->probe_connections++;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "sluice-bench: cannot connect to %s (database %s): %s",
		        b->target_desc, w->database, PQerrorMessage(c));
		PQfinish(c);
		connspec_free(&cs);
		return -1;
	}
	v = PQparameterStatus(c, "server_version");
	snprintf(b->server_version, sizeof(b->server_version), "%s", v ? v : "");
	v = PQparameterStatus(c, "sluice_version");
	if (v) {
		snprintf(b->sluice_version, sizeof(b->sluice_version), "%s", v);
		snprintf(b->target_id, sizeof(b->target_id), "sluice %s", v);
		snprintf(b->target_source, sizeof(b->target_source),
		         "ParameterStatus sluice_version");
	}
	PQfinish(c);
	connspec_free(&cs);
	if (b->target_id[0])
		return 0;

	/* the admin console: a separate database name, so the tenants' counters are untouched */
	if (connspec_build(&cs, o, b->sc, "pgbouncer", "sluice-bench", err, sizeof(err)) < 0)
		return 0;
	connspec_set(&cs, "connect_timeout", "3");
	c = PQconnectdbParams(cs.kw, cs.val, 0);
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "SHOW VERSION");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
			snprintf(b->target_id, sizeof(b->target_id), "%s", PQgetvalue(r, 0, 0));
			snprintf(b->target_source, sizeof(b->target_source),
			         "SHOW VERSION on the admin console (database pgbouncer)");
			const char *id = PQgetvalue(r, 0, 0);
			if (!strncmp(id, "sluice ", 7))
				snprintf(b->sluice_version, sizeof(b->sluice_version), "%s",
				         id + 7);
		}
		PQclear(r);
	}
	PQfinish(c);
	connspec_free(&cs);
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* a connection storm needs one descriptor per client */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void print_summary(const struct bench *b)
{
	printf("%-20s %10s %10s %10s %10s %10s %8s %8s\n", "workload", "committed", "tps", "p50 ms",
	       "p99 ms", "max ms", "errors", "retries");
	for (int i = 0; i < b->sc->n_w; i++) {
		const struct wstats *s = &b->total[i];
		printf("%-20s %10llu %10.1f %10.2f %10.2f %10.2f %8llu %8llu\n", b->sc->w[i].name,
		       (unsigned long long)s->committed,
		       b->measured > 0 ? (double)s->committed / b->measured : 0,
		       (double)hist_percentile(&s->lat, 50) / 1000,
		       (double)hist_percentile(&s->lat, 99) / 1000,
		       s->lat.count ? (double)s->lat.max / 1000 : 0, (unsigned long long)s->failed,
		       (unsigned long long)s->retries);
	}
}

/* Warnings about the run itself, for the report. */
static void check_run(struct bench *b)
{
	for (int i = 0; i < b->sc->n_w; i++) {
		const struct wstats *s = &b->total[i];
		if (b->sc->w[i].rate > 0 && s->late > 0)
			bench_warn(
			    b,
			    "%s: sluice-bench fell behind its open-loop schedule: %llu "
			    "transactions started more than %.0f ms late although a client was "
			    "free (worst %.1f ms); the machine running sluice-bench is too busy",
			    b->sc->w[i].name, (unsigned long long)s->late, LATE_START_S * 1000,
			    s->max_lag * 1000);
		if (s->abandoned)
			bench_warn(b,
			           "%s: %llu transactions were still running at the drain timeout",
			           b->sc->w[i].name, (unsigned long long)s->abandoned);
	}
}

static int cmd_run(struct bench *b, struct run_opts *o)
{
	time_t now = time(NULL);
	struct tm tm;
	int rc = 1;

	if (!o->out_dir) {
		fprintf(stderr, "sluice-bench: run needs --out DIR\n");
		return 2;
	}
	if (mkdir_p(o->out_dir) < 0) {
		fprintf(stderr, "sluice-bench: cannot create %s: %s\n", o->out_dir,
		        strerror(errno));
		return 1;
	}
	raise_nofile();
	if (identify_target(b, o) < 0)
		return 1;
	gmtime_r(&now, &tm);
	strftime(b->started_at, sizeof(b->started_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct poolstats before, after;
	poolstats_read(b, o, &before);
	int ran = run_bench(b) == 0;
	if (ran) {
		poolstats_read(b, o, &after);
		b->ps_before = &before;
		b->ps_after = &after;
	}
	if (ran) {
		check_run(b);
		if (run_write_ledgers(b, o->out_dir) == 0 && report_write(b, o->out_dir) == 0) {
			print_summary(b);
			printf("report: %s/report.md\n", o->out_dir);
			rc = b->interrupted ? 130 : 0;
		}
	}
	run_free(b);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"host", required_argument, NULL, 'h'},
	                                         {"port", required_argument, NULL, 'p'},
	                                         {"user", required_argument, NULL, 'U'},
	                                         {"target", required_argument, NULL, 'd'},
	                                         {"duration", required_argument, NULL, 'T'},
	                                         {"warmup", required_argument, NULL, 'W'},
	                                         {"scale", required_argument, NULL, 's'},
	                                         {"seed", required_argument, NULL, 'S'},
	                                         {"threads", required_argument, NULL, 'j'},
	                                         {"out", required_argument, NULL, 'o'},
	                                         {"quiet", no_argument, NULL, 'q'},
	                                         {"progress", no_argument, NULL, 'P'},
	                                         {"only", required_argument, NULL, 'O'},
	                                         {"clients", required_argument, NULL, 'C'},
	                                         {"rate", required_argument, NULL, 'R'},
	                                         {"help", no_argument, NULL, 'H'},
	                                         {"version", no_argument, NULL, 'V'},
	                                         {"no-plots", no_argument, NULL, 'N'},
	                                         {NULL, 0, NULL, 0}};
	struct run_opts o = {.progress = isatty(STDERR_FILENO)};
	struct override over[32];
	int n_over = 0;
	struct bench b = {0};
	const char *cmd, *file, *dur = NULL, *warm = NULL, *scale = NULL, *seed = NULL,
	                        *only = NULL;
	char err[1024];
	long long n;
	int c, rc;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-?"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("sluice-bench %s\n", SLUICE_VERSION);
		return 0;
	}
	if (argc < 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "init"))) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	file = argv[2];
	optind = 3;
	while ((c = getopt_long(argc, argv, "h:p:U:d:T:j:o:qs:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			o.host = optarg;
			break;
		case 'p':
			o.port = optarg;
			break;
		case 'U':
			o.user = optarg;
			break;
		case 'd':
			o.conninfo = optarg;
			break;
		case 'T':
			dur = optarg;
			break;
		case 'W':
			warm = optarg;
			break;
		case 's':
			scale = optarg;
			break;
		case 'S':
			seed = optarg;
			break;
		case 'O':
			only = optarg;
			break;
		case 'N':
			o.no_plots = 1;
			break;
		case 'C':
		case 'R':
			if (n_over >= (int)(sizeof(over) / sizeof(over[0]))) {
				fprintf(stderr,
				        "sluice-bench: too many --clients/--rate options\n");
				return 2;
			}
			over[n_over].is_rate = c == 'R';
			over[n_over++].spec = optarg;
			break;
		case 'o':
			o.out_dir = optarg;
			break;
		case 'q':
			o.progress = 0;
			break;
		case 'P':
			o.progress = 1;
			break;
		case 'H':
			usage(stdout);
			return 0;
		case 'V':
			printf("sluice-bench %s\n", SLUICE_VERSION);
			return 0;
		case 'j':
			if (config_parse_int(optarg, &n) < 0 || n < 1 || n > 64) {
				fprintf(stderr, "sluice-bench: --threads: expected 1 to 64\n");
				return 2;
			}
			o.threads = (int)n;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluice-bench: unexpected argument: %s\n", argv[optind]);
		return 2;
	}
	b.sc = scenario_load(file, err, sizeof(err));
	if (!b.sc) {
		fprintf(stderr, "sluice-bench: %s\n", err);
		return 2;
	}
	rc = 2;
	if (dur && (config_parse_duration(dur, &b.sc->duration) < 0 || b.sc->duration <= 0)) {
		fprintf(stderr, "sluice-bench: --duration: expected a duration such as 60s\n");
		goto out;
	}
	if (warm && (config_parse_duration(warm, &b.sc->warmup) < 0 || b.sc->warmup < 0)) {
		fprintf(stderr, "sluice-bench: --warmup: expected a duration such as 5s\n");
		goto out;
	}
	if (scale) {
		if (config_parse_int(scale, &n) < 0 || n < 1 || n > 1000000) {
			fprintf(stderr, "sluice-bench: --scale: expected 1 to 1000000\n");
			goto out;
		}
		b.sc->scale = n;
	}
	if (seed) {
		if (config_parse_int(seed, &n) < 0 || n < 0) {
			fprintf(stderr, "sluice-bench: --seed: expected a non-negative integer\n");
			goto out;
		}
		b.sc->seed = (uint64_t)n;
	}
	for (int i = 0; i < n_over; i++) {
		if (apply_override(b.sc, &over[i]) < 0)
			goto out;
	}
	if (only && scenario_keep_only(b.sc, only, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice-bench: --only: %s\n", err);
		goto out;
	}
	b.opt = &o;
	if (!strcmp(cmd, "init")) {
		rc = bench_init(b.sc, &o) == 0 ? 0 : 1;
		goto out;
	}
	b.n_threads = o.threads ? o.threads : b.sc->threads;
	if (!b.n_threads) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		b.n_threads = cpus >= 2 ? 2 : 1;
	}
	rc = cmd_run(&b, &o);
out:
	for (int i = 0; i < b.n_warnings; i++)
		free(b.warnings[i]);
	scenario_free(b.sc);
	return rc;
}
