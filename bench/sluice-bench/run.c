/* A run: worker threads, the once-a-second collection of their statistics (progress line and
 * timeline), and the merge at the end. The main thread owns a libev default loop with a
 * one-second timer, SIGINT/SIGTERM watchers (stop early, still write the report) and an ev_async
 * each worker signals when it has finished. */
#include "worker.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void wstats_reset(struct wstats *s)
{
	memset(s, 0, offsetof(struct wstats, lat));
	hist_reset(&s->lat);
	hist_reset(&s->conn);
}

void codes_add(struct code_count *t, const char *code, const char *sample, uint64_t n)
{
	int i;

	for (i = 0; i < STATS_MAX_CODES && t[i].code[0]; i++)
		if (strcmp(t[i].code, code) == 0)
			break;
	if (i == STATS_MAX_CODES)
		i = STATS_MAX_CODES - 1; /* the last slot collects what does not fit */
	if (!t[i].code[0]) {
		snprintf(t[i].code, sizeof(t[i].code), "%s",
		         i == STATS_MAX_CODES - 1 ? "other" : code);
		snprintf(t[i].sample, sizeof(t[i].sample), "%s", sample ? sample : "");
	}
	t[i].n += n;
}

void wstats_merge(struct wstats *d, const struct wstats *s)
{
	d->committed += s->committed;
	d->failed += s->failed;
	d->retries += s->retries;
	d->offered += s->offered;
	d->late += s->late;
	d->connects += s->connects;
	d->abandoned += s->abandoned;
	if (s->max_lag > d->max_lag)
		d->max_lag = s->max_lag;
	for (int i = 0; i < STATS_MAX_CODES && s->errors[i].code[0]; i++)
		codes_add(d->errors, s->errors[i].code, s->errors[i].sample, s->errors[i].n);
	for (int i = 0; i < STATS_MAX_CODES && s->retried[i].code[0]; i++)
		codes_add(d->retried, s->retried[i].code, s->retried[i].sample, s->retried[i].n);
	hist_merge(&d->lat, &s->lat);
	hist_merge(&d->conn, &s->conn);
}

/* ---- connection parameters ---- */

int connspec_set(struct connspec *cs, const char *kw, const char *val)
{
	if (!val)
		return 0;
	for (int i = 0; i < cs->n; i++) {
		if (strcmp(cs->kw[i], kw) == 0) {
			cs->val[i] = val;
			return 0;
		}
	}
	if (cs->n >= CONNSPEC_MAX)
		return -1;
	cs->kw[cs->n] = kw;
	cs->val[cs->n++] = val;
	cs->kw[cs->n] = cs->val[cs->n] = NULL;
	return 0;
}

int connspec_build(struct connspec *cs, const struct run_opts *o, const struct scenario *sc,
                   const char *dbname, const char *appname, char *err, size_t errlen)
{
	char *perr = NULL;

	memset(cs, 0, sizeof(*cs));
	/* lowest priority first: the scenario file, then --target, then -h/-p/-U */
	connspec_set(cs, "host", sc->host);
	if (sc->port) {
		snprintf(cs->port_buf, sizeof(cs->port_buf), "%d", sc->port);
		connspec_set(cs, "port", cs->port_buf);
	}
	connspec_set(cs, "user", sc->user);
	if (o->conninfo && o->conninfo[0]) {
		PQconninfoOption *opts = PQconninfoParse(o->conninfo, &perr);
		if (!opts) {
			snprintf(err, errlen, "bad connection string \"%s\": %s", o->conninfo,
			         perr ? perr : "out of memory");
			PQfreemem(perr);
			return -1;
		}
		cs->parsed = opts;
		for (PQconninfoOption *p = opts; p->keyword; p++)
			if (p->val && p->val[0] && strcmp(p->keyword, "dbname") != 0)
				connspec_set(cs, p->keyword, p->val);
	}
	connspec_set(cs, "host", o->host);
	connspec_set(cs, "port", o->port);
	connspec_set(cs, "user", o->user);
	connspec_set(cs, "dbname", dbname);
	connspec_set(cs, "application_name", appname);
	connspec_set(cs, "fallback_application_name", "sluice-bench");
	if (cs->n >= CONNSPEC_MAX) {
		snprintf(err, errlen, "too many connection parameters");
		return -1;
	}
	return 0;
}

void connspec_free(struct connspec *cs)
{
	if (cs->parsed)
		PQconninfoFree(cs->parsed);
	cs->parsed = NULL;
}

/* ---- the run ---- */

/* State of the main thread during a run (lives on run_bench's stack). */
struct mainctx {
	struct bench *b;
	int finished; /* workers that have exited */
	double last_tick;
	ev_timer tick;
	ev_async done;
	ev_signal sigint, sigterm;
	struct wstats *sec;  /* per workload: the second being collected */
	struct wstats *cumu; /* per workload: since the start, for the progress line */
};

static int tl_push(struct timeline *tl, const struct tl_point *p)
{
	if (tl->n == tl->cap) {
		int ncap = tl->cap ? tl->cap * 2 : 128;
		struct tl_point *np = realloc(tl->pt, (size_t)ncap * sizeof(*np));
		if (!np)
			return -1;
		tl->pt = np;
		tl->cap = ncap;
	}
	tl->pt[tl->n++] = *p;
	return 0;
}

static void progress_line(struct mainctx *m, double t)
{
	struct bench *b = m->b;
	const struct scenario *sc = b->sc;
	char line[2048];
	int len, any = 0;

	if (t < sc->warmup)
		len = snprintf(line, sizeof(line), "warmup %3.0fs/%.0fs", t, sc->warmup);
	else
		len = snprintf(line, sizeof(line), "%4.0fs/%.0fs", t - sc->warmup, sc->duration);
	for (int i = 0; i < sc->n_w && len < (int)sizeof(line) - 100; i++) {
		const struct tl_point *p = &b->tl[i].pt[b->tl[i].n - 1];
		len += snprintf(line + len, sizeof(line) - (size_t)len,
		                " | %s %.0f tps p99 %.1f ms", sc->w[i].name, p->tps, p->p99);
		if (m->sec[i].late) /* an arrival waited although a client was free */
			len += snprintf(line + len, sizeof(line) - (size_t)len,
			                " (sluice-bench behind: %llu late)",
			                (unsigned long long)m->sec[i].late);
	}
	for (int i = 0; i < sc->n_w; i++) {
		for (int j = 0; j < STATS_MAX_CODES && m->cumu[i].errors[j].code[0]; j++) {
			if (len >= (int)sizeof(line) - 40)
				break;
			len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s:%s=%llu",
			                any++ ? " " : " | errors ", sc->w[i].name,
			                m->cumu[i].errors[j].code,
			                (unsigned long long)m->cumu[i].errors[j].n);
		}
	}
	fprintf(stderr, "%s\n", line);
}

/* Take every worker's current second and append one timeline point per workload. */
static void collect(struct mainctx *m, int print)
{
	struct bench *b = m->b;
	int nw = b->sc->n_w;
	double now = mono_now(), span = now - m->last_tick;

	if (span < 0.05) /* the final collection right after a tick has nothing to say */
		return;
	for (int i = 0; i < nw; i++)
		wstats_reset(&m->sec[i]);
	for (int t = 0; t < b->n_threads; t++) {
		struct worker *wk = &b->workers[t];
		pthread_mutex_lock(&wk->mu);
		for (int i = 0; i < nw; i++) {
			wstats_merge(&m->sec[i], &wk->wt[i].iv);
			wstats_reset(&wk->wt[i].iv);
		}
		pthread_mutex_unlock(&wk->mu);
	}
	for (int i = 0; i < nw; i++) {
		const struct wstats *s = &m->sec[i];
		struct tl_point p = {
		    .t = now - b->t0,
		    .tps = (double)s->committed / span,
		    .p50 = (double)hist_percentile(&s->lat, 50) / 1000.0,
		    .p95 = (double)hist_percentile(&s->lat, 95) / 1000.0,
		    .p99 = (double)hist_percentile(&s->lat, 99) / 1000.0,
		    .max = (double)s->lat.max / 1000.0,
		    .errors = s->failed,
		    .retries = s->retries,
		};
		if (!s->lat.count)
			p.max = 0;
		tl_push(&b->tl[i], &p);
		wstats_merge(&m->cumu[i], s);
	}
	m->last_tick = now;
	if (print && b->opt->progress)
		progress_line(m, now - b->t0);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	collect(w->data, 1);
}

static void stop_all(struct bench *b)
{
	for (int t = 0; t < b->n_threads; t++)
		ev_async_send(b->workers[t].loop, &b->workers[t].stop_async);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct mainctx *m = w->data;

	if (!m->b->interrupted)
		fprintf(stderr, "sluice-bench: interrupted: finishing transactions in flight, then "
		                "writing the report\n");
	m->b->interrupted = 1;
	m->b->t_stop = mono_now();
	stop_all(m->b);
}

static void done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct mainctx *m = w->data;
	int n = 0;

	/* ev_async coalesces: count the workers that really are done */
	for (int t = 0; t < m->b->n_threads; t++)
		n += __atomic_load_n(&m->b->workers[t].finished, __ATOMIC_ACQUIRE);
	m->finished = n;
	if (n == m->b->n_threads)
		ev_break(loop, EVBREAK_ALL);
}

/* Give each worker its share of every workload. */
static int setup_workers(struct bench *b, struct ev_loop *main_loop, ev_async *done)
{
	const struct scenario *sc = b->sc;
	char err[512];

	b->workers = calloc((size_t)b->n_threads, sizeof(*b->workers));
	if (!b->workers)
		return -1;
	for (int t = 0; t < b->n_threads; t++) {
		struct worker *wk = &b->workers[t];
		wk->b = b;
		wk->id = t;
		wk->main_loop = main_loop;
		wk->done_async = done;
		pthread_mutex_init(&wk->mu, NULL);
		wk->loop = ev_loop_new(EVFLAG_AUTO);
		wk->wt = calloc((size_t)sc->n_w, sizeof(*wk->wt));
		if (!wk->loop || !wk->wt)
			return -1;
		for (int i = 0; i < sc->n_w; i++) {
			struct wl_thread *wt = &wk->wt[i];
			struct workload *w = &sc->w[i];
			wt->w = w;
			wt->n_clients = w->clients / b->n_threads + (t < w->clients % b->n_threads);
			wstats_reset(&wt->iv);
			wstats_reset(&wt->tot);
			wstats_reset(&wt->warm);
			if (connspec_build(&wt->cs, b->opt, sc, w->database, w->application_name,
			                   err, sizeof(err)) < 0) {
				fprintf(stderr, "sluice-bench: %s\n", err);
				return -1;
			}
		}
		if (worker_init_clients(wk) < 0)
			return -1;
	}
	return 0;
}

static void teardown_workers(struct bench *b)
{
	for (int t = 0; b->workers && t < b->n_threads; t++) {
		struct worker *wk = &b->workers[t];
		worker_free_clients(wk);
		for (int i = 0; wk->wt && i < b->sc->n_w; i++) {
			connspec_free(&wk->wt[i].cs);
			free(wk->wt[i].ledger);
		}
		free(wk->wt);
		if (wk->loop)
			ev_loop_destroy(wk->loop);
		pthread_mutex_destroy(&wk->mu);
	}
	free(b->workers);
	b->workers = NULL;
}

static void *thread_body(void *arg)
{
	struct worker *wk = arg;

	worker_main(wk);
	__atomic_store_n(&wk->finished, 1, __ATOMIC_RELEASE);
	ev_async_send(wk->main_loop, wk->done_async);
	return NULL;
}

int run_bench(struct bench *b)
{
	const struct scenario *sc = b->sc;
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct mainctx m = {.b = b};
	int started = 0, rc = -1;

	b->total = calloc((size_t)sc->n_w, sizeof(*b->total));
	b->warmup = calloc((size_t)sc->n_w, sizeof(*b->warmup));
	b->tl = calloc((size_t)sc->n_w, sizeof(*b->tl));
	m.sec = calloc((size_t)sc->n_w, sizeof(*m.sec));
	m.cumu = calloc((size_t)sc->n_w, sizeof(*m.cumu));
	if (!loop || !b->total || !b->warmup || !b->tl || !m.sec || !m.cumu) {
		fprintf(stderr, "sluice-bench: out of memory\n");
		goto out;
	}
	for (int i = 0; i < sc->n_w; i++) {
		wstats_reset(&b->total[i]);
		wstats_reset(&b->warmup[i]);
		wstats_reset(&m.cumu[i]);
	}
	ev_async_init(&m.done, done_cb);
	m.done.data = &m;
	ev_async_start(loop, &m.done);
	/* the clock starts a little ahead so every thread is ready when the first client starts */
	b->t0 = mono_now() + 0.2;
	b->t_window = b->t0 + sc->warmup;
	b->t_end = b->t_window + sc->duration;
	b->t_stop = b->t_end;
	if (setup_workers(b, loop, &m.done) < 0) {
		fprintf(stderr, "sluice-bench: cannot set up the worker threads\n");
		goto out;
	}
	for (; started < b->n_threads; started++)
		if (pthread_create(&b->workers[started].th, NULL, thread_body,
		                   &b->workers[started]) != 0) {
			fprintf(stderr, "sluice-bench: cannot start a thread\n");
			b->interrupted = 1;
			break;
		}
	ev_signal_init(&m.sigint, signal_cb, SIGINT);
	ev_signal_init(&m.sigterm, signal_cb, SIGTERM);
	m.sigint.data = m.sigterm.data = &m;
	ev_signal_start(loop, &m.sigint);
	ev_signal_start(loop, &m.sigterm);
	m.last_tick = b->t0;
	ev_timer_init(&m.tick, tick_cb, b->t0 + 1.0 - mono_now(), 1.0);
	m.tick.data = &m;
	ev_timer_start(loop, &m.tick);
	if (started < b->n_threads)
		stop_all(b);
	if (started > 0)
		ev_run(loop, 0);
	ev_timer_stop(loop, &m.tick);
	ev_signal_stop(loop, &m.sigint);
	ev_signal_stop(loop, &m.sigterm);
	ev_async_stop(loop, &m.done);
	for (int t = 0; t < started; t++)
		pthread_join(b->workers[t].th, NULL);
	collect(&m, 0);
	b->elapsed = mono_now() - b->t0;
	b->measured = fmax(0, fmin(b->t_stop, b->t_end) - b->t_window);
	for (int t = 0; t < started; t++) {
		for (int i = 0; i < sc->n_w; i++) {
			wstats_merge(&b->total[i], &b->workers[t].wt[i].tot);
			wstats_merge(&b->warmup[i], &b->workers[t].wt[i].warm);
		}
	}
	rc = started == b->n_threads ? 0 : -1;
out:
	free(m.sec);
	free(m.cumu);
	return rc;
}

int run_write_ledgers(struct bench *b, const char *dir)
{
	int rc = 0;

	for (int i = 0; i < b->sc->n_w; i++) {
		if (!b->sc->w[i].ledger)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/ledger-%s.txt", dir, b->sc->w[i].name);
		FILE *f = fopen(path, "w");
		if (!f) {
			perror(path);
			rc = -1;
			continue;
		}
		for (int t = 0; b->workers && t < b->n_threads; t++) {
			const struct wl_thread *wt = &b->workers[t].wt[i];
			for (size_t k = 0; k < wt->n_ledger; k++)
				fprintf(f, "%llu\n", (unsigned long long)wt->ledger[k]);
		}
		if (fclose(f) != 0) {
			perror(path);
			rc = -1;
		}
	}
	return rc;
}

void run_free(struct bench *b)
{
	teardown_workers(b);
	for (int i = 0; b->tl && i < b->sc->n_w; i++)
		free(b->tl[i].pt);
	free(b->tl);
	free(b->total);
	free(b->warmup);
	b->tl = NULL;
	b->total = b->warmup = NULL;
}

void bench_warn(struct bench *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sluice-bench: warning: %s\n", msg);
	if (b->n_warnings < (int)(sizeof(b->warnings) / sizeof(b->warnings[0])))
		b->warnings[b->n_warnings++] = strdup(msg);
}
