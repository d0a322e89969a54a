/* Report files (see report.h). JSON is written by hand: the structure is fixed and small, and
 * every string goes through one escaping function. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "poolstats.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* A finite number (JSON has no NaN or infinity). */
static void json_num(FILE *f, double v)
{
	fprintf(f, "%.3f", isfinite(v) ? v : 0.0);
}

static double ms(uint64_t us)
{
	return (double)us / 1000.0;
}

static void json_codes(FILE *f, const struct code_count *t)
{
	fputc('{', f);
	for (int i = 0; i < STATS_MAX_CODES && t[i].code[0]; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, t[i].code);
		fprintf(f, ": %llu", (unsigned long long)t[i].n);
	}
	fputc('}', f);
}

static void json_samples(FILE *f, const struct code_count *t)
{
	fputc('{', f);
	for (int i = 0; i < STATS_MAX_CODES && t[i].code[0]; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, t[i].code);
		fputs(": ", f);
		json_str(f, t[i].sample);
	}
	fputc('}', f);
}

static void json_latency(FILE *f, const struct hist *h)
{
	fputs("{\"p50\": ", f);
	json_num(f, ms(hist_percentile(h, 50)));
	fputs(", \"p95\": ", f);
	json_num(f, ms(hist_percentile(h, 95)));
	fputs(", \"p99\": ", f);
	json_num(f, ms(hist_percentile(h, 99)));
	fputs(", \"p99_9\": ", f);
	json_num(f, ms(hist_percentile(h, 99.9)));
	fputs(", \"max\": ", f);
	json_num(f, h->count ? ms(h->max) : 0);
	fputs(", \"min\": ", f);
	json_num(f, h->count ? ms(h->min) : 0);
	fputs(", \"mean\": ", f);
	json_num(f, hist_mean(h) / 1000.0);
	fprintf(f, ", \"samples\": %llu}", (unsigned long long)h->count);
}

static double tps_of(const struct bench *b, uint64_t n)
{
	return b->measured > 0 ? (double)n / b->measured : 0;
}

static void json_workload(FILE *f, const struct bench *b, int i)
{
	const struct workload *w = &b->sc->w[i];
	const struct wstats *s = &b->total[i];
	const struct timeline *tl = &b->tl[i];
	uint64_t tries = s->committed + s->failed;

	fputs("    ", f);
	json_str(f, w->name);
	fputs(": {\n      \"database\": ", f);
	json_str(f, w->database);
	fputs(", \"application_name\": ", f);
	json_str(f, w->application_name);
	fprintf(f, ", \"clients\": %d, \"mode\": \"%s\", \"protocol\": \"%s\",\n", w->clients,
	        w->rate > 0 ? "open" : "closed", w->extended ? "extended" : "simple");
	fputs("      \"rate\": ", f);
	json_num(f, w->rate);
	fputs(", \"think_time_ms\": ", f);
	json_num(f, w->think_time * 1000);
	fputs(", \"slo_p99_ms\": ", f);
	json_num(f, w->slo_p99 * 1000);
	fputs(", \"script\": ", f);
	json_str(f, w->script_path);
	fprintf(f, ",\n      \"committed\": %llu, \"failed\": %llu, \"tps\": ",
	        (unsigned long long)s->committed, (unsigned long long)s->failed);
	json_num(f, tps_of(b, s->committed));
	fprintf(f, ", \"offered\": %llu, \"offered_tps\": ", (unsigned long long)s->offered);
	json_num(f, w->rate > 0 ? tps_of(b, s->offered) : tps_of(b, tries));
	fputs(", \"error_rate\": ", f);
	json_num(f, tries ? (double)s->failed / (double)tries : 0);
	fputs(",\n      \"latency_ms\": ", f);
	json_latency(f, &s->lat);
	fputs(",\n      \"errors\": ", f);
	json_codes(f, s->errors);
	fputs(", \"error_messages\": ", f);
	json_samples(f, s->errors);
	fprintf(f, ",\n      \"retries\": %llu, \"retries_by_sqlstate\": ",
	        (unsigned long long)s->retries);
	json_codes(f, s->retried);
	double qw_ms = b->ps_before && b->ps_after
	                   ? poolstats_wait_ms(b->ps_before, b->ps_after, w->database, NULL)
	                   : -1;
	fputs(",\n      \"queue_wait_ms\": ", f);
	if (qw_ms < 0)
		fputs("null", f);
	else
		json_num(f, qw_ms);
	fprintf(f, ",\n      \"warmup_committed\": %llu, \"warmup_failed\": %llu",
	        (unsigned long long)b->warmup[i].committed,
	        (unsigned long long)b->warmup[i].failed);
	fprintf(f, ", \"abandoned\": %llu, \"connections\": %llu, \"connect_ms\": ",
	        (unsigned long long)s->abandoned, (unsigned long long)s->connects);
	json_latency(f, &s->conn);
	fprintf(f, ",\n      \"schedule\": {\"late_starts\": %llu, \"max_lag_ms\": ",
	        (unsigned long long)s->late);
	json_num(f, s->max_lag * 1000);
	fputs("},\n      \"queue_wait_ms\": null,\n      \"timeline\": [", f);
	for (int k = 0; k < tl->n; k++) {
		const struct tl_point *p = &tl->pt[k];
		fprintf(f, "%s[%.1f, %.1f, %.3f, %.3f, %.3f, %.3f, %llu, %llu]", k ? ", " : "",
		        p->t, p->tps, p->p50, p->p95, p->p99, p->max, (unsigned long long)p->errors,
		        (unsigned long long)p->retries);
	}
	fputs("]\n    }", f);
}

static int write_json(struct bench *b, const char *path)
{
	const struct scenario *sc = b->sc;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs("{\n  \"scenario\": {\"name\": ", f);
	json_str(f, sc->name);
	fputs(", \"file\": ", f);
	json_str(f, sc->path);
	fputs(", \"duration_s\": ", f);
	json_num(f, sc->duration);
	fputs(", \"measured_s\": ", f);
	json_num(f, b->measured);
	fputs(", \"warmup_s\": ", f);
	json_num(f, sc->warmup);
	fputs(", \"ramp_s\": ", f);
	json_num(f, sc->ramp);
	fprintf(f, ", \"seed\": %llu, \"scale\": %lld, \"threads\": %d, \"interrupted\": %s,\n",
	        (unsigned long long)sc->seed, (long long)sc->scale, b->n_threads,
	        b->interrupted ? "true" : "false");
	fputs("    \"started_at\": ", f);
	json_str(f, b->started_at);
	fputs(", \"target\": ", f);
	json_str(f, b->target_desc);
	fputs(",\n    \"thresholds\": {\"max_p99_ratio\": ", f);
	json_num(f, sc->max_p99_ratio);
	fputs(", \"min_tps_ratio\": ", f);
	json_num(f, sc->min_tps_ratio);
	fputs(", \"max_error_rate\": ", f);
	json_num(f, sc->max_error_rate);
	fputs("}},\n  \"versions\": {\"sluice_bench\": ", f);
	json_str(f, SLUICE_VERSION);
	fputs(", \"postgresql\": ", f);
	json_str(f, b->server_version);
	fputs(", \"target\": ", f);
	json_str(f, b->target_id);
	fputs(", \"target_source\": ", f);
	json_str(f, b->target_source);
	fputs(", \"sluice\": ", f);
	json_str(f, b->sluice_version);
	fprintf(f, "},\n  \"probe_connections\": %d,\n  \"workloads\": {\n", b->probe_connections);
	for (int i = 0; i < sc->n_w; i++) {
		json_workload(f, b, i);
		fputs(i + 1 < sc->n_w ? ",\n" : "\n", f);
	}
	fputs("  },\n  \"warnings\": [", f);
	for (int i = 0; i < b->n_warnings; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, b->warnings[i]);
	}
	fputs("]\n}\n", f);
	return fclose(f);
}

static void md_codes(FILE *f, const struct code_count *t)
{
	if (!t[0].code[0]) {
		fputs("0", f);
		return;
	}
	for (int i = 0; i < STATS_MAX_CODES && t[i].code[0]; i++)
		fprintf(f, "%s%s: %llu", i ? ", " : "", t[i].code, (unsigned long long)t[i].n);
}

/* The pooler's mean queue wait for database db, for the Markdown report. */
static const char *qwait_str(const struct bench *b, const char *db, char *buf, size_t len)
{
	uint64_t x = 0;
	double v =
	    b->ps_before && b->ps_after ? poolstats_wait_ms(b->ps_before, b->ps_after, db, &x) : -1;
	if (v < 0)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.2f ms", v);
	return buf;
}

static int write_md(struct bench *b, const char *path, int plots)
{
	const struct scenario *sc = b->sc;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "# sluice-bench: %s\n\n", sc->name);
	fprintf(f, "- scenario: `%s`, seed %llu, scale %lld, %d threads\n", sc->path,
	        (unsigned long long)sc->seed, (long long)sc->scale, b->n_threads);
	fprintf(f, "- started %s; warmup %.0f s, measured %.1f s%s\n", b->started_at, sc->warmup,
	        b->measured, b->interrupted ? " (interrupted)" : "");
	fprintf(f, "- target: `%s`\n", b->target_desc);
	fprintf(f, "- versions: PostgreSQL %s; target %s%s%s; sluice %s; sluice-bench %s\n\n",
	        b->server_version[0] ? b->server_version : "unknown",
	        b->target_id[0] ? b->target_id : "not identified",
	        b->target_source[0] ? " via " : "", b->target_source,
	        b->sluice_version[0] ? b->sluice_version : "not reported", SLUICE_VERSION);
	fputs("| workload | database | mode | clients | offered tps | achieved tps | committed | "
	      "p50 ms | p95 ms | p99 ms | max ms | errors | retries | queue wait |\n"
	      "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
	      f);
	for (int i = 0; i < sc->n_w; i++) {
		const struct workload *w = &sc->w[i];
		const struct wstats *s = &b->total[i];
		char offered[32], qw[32];
		if (w->rate > 0)
			snprintf(offered, sizeof(offered), "%.1f", w->rate);
		else
			snprintf(offered, sizeof(offered), "closed");
		fprintf(f,
		        "| %s | %s | %s | %d | %s | %.1f | %llu | %.2f | %.2f | %.2f | %.2f | %llu "
		        "| %llu | %s |\n",
		        w->name, w->database, w->rate > 0 ? "open" : "closed", w->clients, offered,
		        tps_of(b, s->committed), (unsigned long long)s->committed,
		        ms(hist_percentile(&s->lat, 50)), ms(hist_percentile(&s->lat, 95)),
		        ms(hist_percentile(&s->lat, 99)), s->lat.count ? ms(s->lat.max) : 0,
		        (unsigned long long)s->failed, (unsigned long long)s->retries,
		        qwait_str(b, w->database, qw, sizeof(qw)));
	}
	if (b->ps_before && b->ps_before->ok)
		fputs(
		    "\nQueue wait: the pooler's own figure, `total_wait_time / total_xact_count` "
		    "of its `SHOW STATS` for the workload's database between the start and the end "
		    "of the run (warmup included; shared by the workloads of one database).\n",
		    f);
	else
		fputs(
		    "\nQueue wait: n/a, the target has no admin console that answers `SHOW STATS` "
		    "for this user (PostgreSQL itself, or a pooler without admin_users/stats_users "
		    "for it).\n",
		    f);
	for (int i = 0; i < sc->n_w; i++) {
		const struct workload *w = &sc->w[i];
		const struct wstats *s = &b->total[i];
		char qw[32];
		fprintf(f, "\n## %s\n\n| figure | value |\n|---|---|\n", w->name);
		fprintf(f, "| application_name | %s |\n| protocol | %s |\n",
		        w->application_name ? w->application_name : "",
		        w->extended ? "extended" : "simple");
		if (w->rate > 0)
			fprintf(f, "| offered rate | %.1f tps (%llu arrivals in the window) |\n",
			        w->rate, (unsigned long long)s->offered);
		else
			fprintf(f, "| think time | %.0f ms |\n", w->think_time * 1000);
		fprintf(f, "| achieved rate | %.1f tps |\n", tps_of(b, s->committed));
		fprintf(f,
		        "| latency p50 / p95 / p99 / p99.9 / max | %.2f / %.2f / %.2f / %.2f / "
		        "%.2f ms |\n",
		        ms(hist_percentile(&s->lat, 50)), ms(hist_percentile(&s->lat, 95)),
		        ms(hist_percentile(&s->lat, 99)), ms(hist_percentile(&s->lat, 99.9)),
		        s->lat.count ? ms(s->lat.max) : 0);
		fputs("| errors by SQLSTATE | ", f);
		md_codes(f, s->errors);
		fputs(" |\n| retries by SQLSTATE | ", f);
		md_codes(f, s->retried);
		fprintf(f, " |\n| connections (p50 / p99 connect ms) | %llu (%.2f / %.2f) |\n",
		        (unsigned long long)s->connects, ms(hist_percentile(&s->conn, 50)),
		        ms(hist_percentile(&s->conn, 99)));
		if (w->rate > 0)
			fprintf(f,
			        "| starts late with a free client (bench behind) | %llu, worst "
			        "%.1f ms |\n",
			        (unsigned long long)s->late, s->max_lag * 1000);
		fprintf(f, "| queue wait as the pooler reports it (database %s) | %s |\n",
		        w->database, qwait_str(b, w->database, qw, sizeof(qw)));
		if (s->abandoned)
			fprintf(f, "| abandoned at the drain timeout | %llu |\n",
			        (unsigned long long)s->abandoned);
		for (int k = 0; k < STATS_MAX_CODES && s->errors[k].code[0]; k++)
			fprintf(f, "\n- `%s`: %s", s->errors[k].code, s->errors[k].sample);
		if (s->errors[0].code[0])
			fputc('\n', f);
		if (plots)
			fprintf(f, "\n![%s](workload-%s.png)\n", w->name, w->name);
	}
	if (plots)
		fputs("\n## All workloads\n\n![p99 latency](latency-p99.png)\n\n![throughput]"
		      "(throughput.png)\n",
		      f); /* latency-p99.png is missing when nothing committed at all */
	if (b->n_warnings) {
		fputs("\n## Warnings\n\n", f);
		for (int i = 0; i < b->n_warnings; i++)
			fprintf(f, "- %s\n", b->warnings[i]);
	}
	return fclose(f);
}

/* ---- plots ---- */

static int write_timelines(struct bench *b, const char *dir)
{
	char path[4096];

	for (int i = 0; i < b->sc->n_w; i++) {
		const struct timeline *tl = &b->tl[i];
		snprintf(path, sizeof(path), "%s/timeline-%s.tsv", dir, b->sc->w[i].name);
		FILE *f = fopen(path, "w");
		if (!f)
			return -1;
		fputs("# t_s\ttps\tp50_ms\tp95_ms\tp99_ms\tmax_ms\terrors\tretries\n", f);
		for (int k = 0; k < tl->n; k++) {
			const struct tl_point *p = &tl->pt[k];
			fprintf(f, "%.1f\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%llu\t%llu\n", p->t, p->tps,
			        p->p50, p->p95, p->p99, p->max, (unsigned long long)p->errors,
			        (unsigned long long)p->retries);
		}
		if (fclose(f) != 0)
			return -1;
	}
	return 0;
}

static int has_latency(const struct timeline *tl)
{
	for (int k = 0; k < tl->n; k++)
		if (tl->pt[k].p50 > 0)
			return 1;
	return 0;
}

static int write_gp(struct bench *b, const char *path)
{
	const struct scenario *sc = b->sc;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(
	    "# gnuplot script written by sluice-bench; run it in this directory: gnuplot plots.gp\n"
	    "set terminal pngcairo size 1100,650 noenhanced\n"
	    "set datafile separator '\\t'\n"
	    "set grid\n"
	    "set key outside right top\n"
	    "set xlabel 'seconds since start'\n",
	    f);
	if (sc->warmup > 0)
		fprintf(f, "set arrow from %.1f, graph 0 to %.1f, graph 1 nohead dt 2\n",
		        sc->warmup, sc->warmup);
	int any_lat = 0;
	for (int i = 0; i < sc->n_w; i++) {
		const char *n = sc->w[i].name;
		fprintf(f,
		        "set output 'workload-%s.png'\nset multiplot layout 2,1 title '%s: %s'\n",
		        n, sc->name, n);
		/* gnuplot refuses a plot with no defined point: a workload that committed nothing
		 * gets an empty panel that says so */
		if (has_latency(&b->tl[i])) {
			any_lat = 1;
			fprintf(
			    f,
			    "set ylabel 'latency ms (log)'\nset logscale y\n"
			    "plot 'timeline-%s.tsv' using 1:($3>0?$3:NaN) with lines title 'p50', "
			    "'' using 1:($4>0?$4:NaN) with lines title 'p95', "
			    "'' using 1:($5>0?$5:NaN) with lines title 'p99', "
			    "'' using 1:($6>0?$6:NaN) with lines dt 3 title 'max'\n"
			    "unset logscale y\n",
			    n);
		} else {
			fputs("set ylabel 'latency ms'\nset yrange [0:1]\n"
			      "set label 1 'no committed transaction' at graph 0.5, 0.5 center\n"
			      "plot -1 notitle\nunset label 1\nset autoscale y\n",
			      f);
		}
		fprintf(f,
		        "set ylabel 'per second'\n"
		        "plot 'timeline-%s.tsv' using 1:2 with lines title 'committed tps', "
		        "'' using 1:7 with impulses title 'errors', '' using 1:8 with points title "
		        "'retries'\n"
		        "unset multiplot\n",
		        n);
	}
	if (any_lat) {
		int k = 0;
		fputs("set output 'latency-p99.png'\nset title 'p99 latency per workload'\n"
		      "set ylabel 'ms (log)'\nset logscale y\nplot ",
		      f);
		for (int i = 0; i < sc->n_w; i++)
			if (has_latency(&b->tl[i]))
				fprintf(f,
				        "%s'timeline-%s.tsv' using 1:($5>0?$5:NaN) with lines "
				        "title '%s'",
				        k++ ? ", " : "", sc->w[i].name, sc->w[i].name);
		fputs("\nunset logscale y\n", f);
	}
	fputs("set output 'throughput.png'\n"
	      "set title 'committed transactions per second per workload'\nset ylabel 'tps'\nplot ",
	      f);
	for (int i = 0; i < sc->n_w; i++)
		fprintf(f, "%s'timeline-%s.tsv' using 1:2 with lines title '%s'", i ? ", " : "",
		        sc->w[i].name, sc->w[i].name);
	fputs("\n", f);
	return fclose(f);
}

/* Run gnuplot on plots.gp in dir; 0 when the PNGs were made. */
static int run_gnuplot(const char *dir)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (chdir(dir) != 0)
			_exit(126);
		/* its warnings (e.g. "empty x range" on a one-second run) go to a file */
		int fd = open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execlp("gnuplot", "gnuplot", "plots.gp", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return 1; /* not installed */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int report_write(struct bench *b, const char *dir)
{
	char path[4096];
	int plots = 0;

	if (write_timelines(b, dir) < 0) {
		fprintf(stderr, "sluice-bench: %s: cannot write the timelines: %s\n", dir,
		        strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/plots.gp", dir);
	if (write_gp(b, path) < 0) {
		fprintf(stderr, "sluice-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	switch (b->opt->no_plots ? 2 : run_gnuplot(dir)) {
	case 2:
		break; /* --no-plots */
	case 0:
		plots = 1;
		break;
	case 1:
		bench_warn(b,
		           "gnuplot not found (Debian: apt-get install gnuplot-nox): no PNG plots; "
		           "plots.gp and the timeline files are there to render them later");
		break;
	default:
		bench_warn(b, "gnuplot failed (see gnuplot.log): no PNG plots");
		break;
	}
	snprintf(path, sizeof(path), "%s/report.json", dir);
	if (write_json(b, path) != 0) {
		fprintf(stderr, "sluice-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/report.md", dir);
	if (write_md(b, path, plots) != 0) {
		fprintf(stderr, "sluice-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}
