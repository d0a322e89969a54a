/* Clients of one worker thread: a state machine per client over libpq's asynchronous API,
 * driven by the worker's libev loop (one io watcher and one timer per client, nothing polls).
 *
 * Open loop: each workload's share of arrivals in this thread is a Poisson process; an arrival
 * goes to a free client, or waits (implicitly: the process' next time stays in the past) until
 * one is free. Latency is measured from the arrival's intended time, so time spent waiting for a
 * client, a connection or a retry is part of what the user feels and queueing is not hidden.
 * Closed loop: each client runs transactions back to back, with an optional think time. */
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cstate {
	CS_WAIT_START, /* ramp: not started yet */
	CS_CONNECTING,
	CS_IDLE,      /* open loop: waiting for an arrival */
	CS_THINK,     /* closed loop: pausing */
	CS_RUN,       /* statements of a transaction in flight */
	CS_ROLLBACK,  /* ROLLBACK after an error inside a transaction block */
	CS_BACKOFF,   /* waiting before a retry */
	CS_RECONNECT, /* waiting before connecting again */
	CS_PAUSE,     /* one loop round after a failure without I/O */
	CS_DONE,
};

struct client {
	struct worker *wk;
	struct wl_thread *wt;
	int id; /* number of the client within its workload */
	PGconn *conn;
	ev_io io;
	int io_fd, io_events;
	ev_timer tm;
	int state;
	int step;    /* script step being run */
	int attempt; /* 0 for the first try of a transaction */
	int pending; /* a transaction waits for the connection being made */
	int in_txn;  /* a transaction has started and not ended */
	int had_error;
	double intended;   /* when the current transaction should have started */
	double conn_start; /* when the current connection attempt began */
	double reconnect_delay;
	double idle_since; /* open loop: when it last became free */
	uint64_t seq;
	char err_code[6];
	char err_msg[160];
	struct client *next_idle;
	struct rng rng;
	int64_t vars[SCRIPT_MAX_VARS];
};

static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void become_ready(struct client *c);
static void start_txn(struct client *c, double intended);
static void send_step(struct client *c);
static void connect_begin(struct client *c);
static void dispatch(struct wl_thread *wt);
static void stop_clients(struct worker *wk);

/* ---- statistics ---- */

static void copy_msg(char *dst, size_t len, const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");
	snprintf(dst, len, "%.*s", (int)n, msg ? msg : "");
}

/* Record the outcome of a transaction that started at c->intended. */
static void record(struct client *c, int ok, const char *code, const char *msg)
{
	struct worker *wk = c->wk;
	struct wl_thread *wt = c->wt;
	struct bench *b = wk->b;
	double now = mono_now();
	uint64_t us = (uint64_t)llround((now - c->intended) * 1e6);
	struct wstats *s = c->intended < b->t_window ? &wt->warm
	                   : c->intended < b->t_end  ? &wt->tot
	                                             : NULL;

	pthread_mutex_lock(&wk->mu);
	if (ok) {
		wt->iv.committed++;
		hist_record(&wt->iv.lat, us);
	} else {
		wt->iv.failed++;
		codes_add(wt->iv.errors, code, msg, 1);
	}
	pthread_mutex_unlock(&wk->mu);
	if (!s)
		return;
	if (ok) {
		s->committed++;
		hist_record(&s->lat, us);
		if (c->wt->w->ledger && s == &wt->tot) {
			if (wt->n_ledger == wt->cap_ledger) {
				size_t ncap = wt->cap_ledger ? wt->cap_ledger * 2 : 4096;
				uint64_t *nl = realloc(wt->ledger, ncap * sizeof(*nl));
				if (nl) {
					wt->ledger = nl;
					wt->cap_ledger = ncap;
				}
			}
			if (wt->n_ledger < wt->cap_ledger)
				wt->ledger[wt->n_ledger++] = (uint64_t)c->vars[SCRIPT_VAR_LEDGER];
		}
	} else {
		s->failed++;
		codes_add(s->errors, code, msg, 1);
	}
}

static void record_retry(struct client *c)
{
	struct wl_thread *wt = c->wt;
	struct bench *b = c->wk->b;

	pthread_mutex_lock(&c->wk->mu);
	wt->iv.retries++;
	codes_add(wt->iv.retried, c->err_code, c->err_msg, 1);
	pthread_mutex_unlock(&c->wk->mu);
	struct wstats *s = c->intended < b->t_window ? &wt->warm
	                   : c->intended < b->t_end  ? &wt->tot
	                                             : NULL;
	if (s) {
		s->retries++;
		codes_add(s->retried, c->err_code, c->err_msg, 1);
	}
}

/* ---- watchers ---- */

static void watch(struct client *c, int fd, int events)
{
	if (fd == c->io_fd && events == c->io_events && ev_is_active(&c->io))
		return;
	ev_io_stop(c->wk->loop, &c->io);
	c->io_fd = fd;
	c->io_events = events;
	if (fd >= 0 && events) {
		ev_io_set(&c->io, fd, events);
		ev_io_start(c->wk->loop, &c->io);
	}
}

static void unwatch(struct client *c)
{
	ev_io_stop(c->wk->loop, &c->io);
	c->io_fd = -1;
	c->io_events = 0;
}

static void set_timer(struct client *c, double after, int state)
{
	c->state = state;
	ev_timer_stop(c->wk->loop, &c->tm);
	ev_timer_set(&c->tm, after > 0 ? after : 0, 0);
	ev_timer_start(c->wk->loop, &c->tm);
}

static void drop_conn(struct client *c)
{
	unwatch(c);
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
}

static void client_done(struct client *c)
{
	struct worker *wk = c->wk;

	if (c->state == CS_DONE)
		return;
	ev_timer_stop(wk->loop, &c->tm);
	drop_conn(c);
	c->state = CS_DONE;
	if (--wk->live == 0)
		ev_break(wk->loop, EVBREAK_ALL);
}

/* ---- transactions ---- */

/* After a transaction (committed or given up): the next one, a pause, or the end. */
static void after_txn(struct client *c)
{
	c->in_txn = 0;
	if (c->wt->w->reconnect)
		drop_conn(c);
	if (c->wk->stopping) {
		client_done(c);
		return;
	}
	become_ready(c);
}

static void txn_fail(struct client *c, const char *code, const char *msg)
{
	record(c, 0, code, msg);
	after_txn(c);
}

/* A transaction failed before any I/O: the next one starts from the loop, not from here, so a
 * closed-loop client whose script always fails cannot recurse without end. */
static void fail_soon(struct client *c, const char *code, const char *msg)
{
	record(c, 0, code, msg);
	c->in_txn = 0;
	if (c->wt->w->reconnect)
		drop_conn(c);
	if (c->wk->stopping) {
		client_done(c);
		return;
	}
	set_timer(c, 0, CS_PAUSE);
}

static int is_retryable(const struct workload *w, const char *code)
{
	for (int i = 0; i < w->n_retry; i++)
		if (strcmp(w->retry[i], code) == 0)
			return 1;
	return 0;
}

/* The attempt ended with c->err_code and the connection is usable. */
static void attempt_failed(struct client *c)
{
	const struct workload *w = c->wt->w;

	if (is_retryable(w, c->err_code) && c->attempt < w->retry_max && !c->wk->stopping) {
		/* Odoo waits uniform(0, 2^tries) seconds before trying again */
		double wait = rng_unit(&c->rng) * w->retry_backoff * ldexp(1.0, c->attempt);
		record_retry(c);
		c->attempt++;
		set_timer(c, wait, CS_BACKOFF);
		return;
	}
	txn_fail(c, c->err_code, c->err_msg);
}

/* The connection broke: the transaction in flight (if any) failed with 08006. */
static void conn_lost(struct client *c)
{
	char msg[160];

	if (c->state == CS_IDLE) { /* the server closed a connection waiting for an arrival */
		for (struct client **p = &c->wt->idle; *p; p = &(*p)->next_idle)
			if (*p == c) {
				*p = c->next_idle;
				break;
			}
	}

	copy_msg(msg, sizeof(msg), c->conn ? PQerrorMessage(c->conn) : "connection lost");
	drop_conn(c);
	if (c->in_txn) {
		c->in_txn = 0;
		record(c, 0, "08006", msg);
	}
	if (c->wk->stopping) {
		client_done(c);
		return;
	}
	if (c->wt->w->reconnect) {
		become_ready(c);
		return;
	}
	c->reconnect_delay = c->reconnect_delay > 0 ? fmin(c->reconnect_delay * 2, 2.0) : 0.05;
	set_timer(c, c->reconnect_delay, CS_RECONNECT);
}

static void start_attempt(struct client *c)
{
	c->state = CS_RUN;
	c->had_error = 0;
	c->step = 0;
	send_step(c);
}

static void start_txn(struct client *c, double intended)
{
	const struct script *s = c->wt->w->script;
	char code[6], msg[160];

	c->intended = intended;
	c->attempt = 0;
	c->in_txn = 1;
	c->seq++;
	c->vars[SCRIPT_VAR_SCALE] = c->wk->b->sc->scale;
	c->vars[SCRIPT_VAR_CLIENT] = c->id;
	c->vars[SCRIPT_VAR_LEDGER] = (int64_t)(((uint64_t)c->id << 32) | (c->seq & 0xffffffffu));
	/* all \set lines at once: a retry runs the same request again with the same values */
	if (script_eval_sets(s, c->vars, &c->rng, code, msg, sizeof(msg)) < 0) {
		fail_soon(c, code, msg);
		return;
	}
	if (!c->conn) { /* reconnect = yes: this transaction opens its connection */
		c->pending = 1;
		connect_begin(c);
		return;
	}
	start_attempt(c);
}

static void flush_and_watch(struct client *c)
{
	int r = PQflush(c->conn);

	if (r < 0) {
		conn_lost(c);
		return;
	}
	watch(c, PQsocket(c->conn), EV_READ | (r == 1 ? EV_WRITE : 0));
}

static void send_step(struct client *c)
{
	const struct script *s = c->wt->w->script;
	struct worker *wk = c->wk;
	const struct script_step *st;
	int ok;

	while (c->step < s->n_steps && s->steps[c->step].is_set)
		c->step++;
	if (c->step >= s->n_steps) { /* every statement done: committed */
		record(c, 1, NULL, NULL);
		after_txn(c);
		return;
	}
	st = &s->steps[c->step];
	if (c->wt->w->extended) {
		char vbuf[SCRIPT_MAX_VARS][24];
		const char *vals[SCRIPT_MAX_VARS];
		for (int i = 0; i < st->n_params; i++) {
			snprintf(vbuf[i], sizeof(vbuf[i]), "%lld",
			         (long long)c->vars[st->params[i]]);
			vals[i] = vbuf[i];
		}
		ok = PQsendQueryParams(c->conn, st->ext, st->n_params, NULL, vals, NULL, NULL, 0);
	} else {
		if (script_render(st, c->vars, &wk->sqlbuf, &wk->sqlcap) < 0) {
			fail_soon(c, "53200", "sluice-bench: out of memory");
			return;
		}
		ok = PQsendQuery(c->conn, wk->sqlbuf);
	}
	if (!ok) {
		conn_lost(c);
		return;
	}
	flush_and_watch(c);
}

/* Every result of the statement (or of the ROLLBACK) has arrived. */
static void statement_done(struct client *c)
{
	if (c->state == CS_ROLLBACK) {
		attempt_failed(c);
		return;
	}
	if (!c->had_error) {
		c->step++;
		send_step(c);
		return;
	}
	PGTransactionStatusType ts = PQtransactionStatus(c->conn);
	if (ts == PQTRANS_INERROR || ts == PQTRANS_INTRANS) {
		c->state = CS_ROLLBACK;
		if (!PQsendQuery(c->conn, "ROLLBACK")) {
			conn_lost(c);
			return;
		}
		flush_and_watch(c);
		return;
	}
	attempt_failed(c);
}

static void on_result(struct client *c, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_FATAL_ERROR && !c->had_error && c->state == CS_RUN) {
		const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		c->had_error = 1;
		snprintf(c->err_code, sizeof(c->err_code), "%s", code ? code : "XX000");
		copy_msg(c->err_msg, sizeof(c->err_msg),
		         PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	}
}

static void on_io_run(struct client *c, int revents)
{
	if (revents & EV_WRITE) {
		int r = PQflush(c->conn);
		if (r < 0) {
			conn_lost(c);
			return;
		}
		if (r == 0)
			watch(c, PQsocket(c->conn), EV_READ);
	}
	if (!(revents & EV_READ))
		return;
	if (!PQconsumeInput(c->conn)) {
		conn_lost(c);
		return;
	}
	while (!PQisBusy(c->conn)) {
		PGresult *res = PQgetResult(c->conn);
		if (!res) {
			statement_done(c);
			return;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			PQclear(res);
			if (c->in_txn) {
				c->in_txn = 0;
				record(c, 0, "0A000",
				       "sluice-bench: COPY is not supported in scripts");
			}
			drop_conn(c);
			c->wt->w->reconnect ? become_ready(c) : connect_begin(c);
			return;
		}
		on_result(c, res);
		PQclear(res);
	}
	if (PQstatus(c->conn) == CONNECTION_BAD)
		conn_lost(c);
}

/* ---- connections ---- */

static void connect_failed(struct client *c)
{
	char msg[160];
	const char *m = c->conn ? PQerrorMessage(c->conn) : "out of memory";
	const char *fatal = strstr(m, "FATAL:");

	/* libpq keeps a FATAL's SQLSTATE to itself: keep its text, which says what happened */
	copy_msg(msg, sizeof(msg), fatal ? fatal : m);
	drop_conn(c);
	record(c, 0, "08001", msg); /* a user who cannot connect sees an error too */
	c->in_txn = 0;
	c->pending = 0;
	if (c->wk->stopping) {
		client_done(c);
		return;
	}
	c->reconnect_delay = c->reconnect_delay > 0 ? fmin(c->reconnect_delay * 2, 2.0) : 0.05;
	set_timer(c, c->reconnect_delay, CS_RECONNECT);
}

static void connected(struct client *c)
{
	uint64_t us = (uint64_t)llround((mono_now() - c->conn_start) * 1e6);

	pthread_mutex_lock(&c->wk->mu);
	c->wt->iv.connects++;
	hist_record(&c->wt->iv.conn, us);
	pthread_mutex_unlock(&c->wk->mu);
	c->wt->tot.connects++;
	hist_record(&c->wt->tot.conn, us);
	c->reconnect_delay = 0;
	if (PQsetnonblocking(c->conn, 1) != 0) {
		conn_lost(c);
		return;
	}
	watch(c, PQsocket(c->conn), EV_READ); /* an idle connection still notices a close */
	if (c->pending) {
		c->pending = 0;
		start_attempt(c);
		return;
	}
	if (c->wk->stopping) {
		client_done(c);
		return;
	}
	become_ready(c);
}

/* While connecting, libpq may close its socket and open another (next address of a host name,
 * SSL or GSS fallback), which can get the same descriptor number: re-register it every time. */
static void watch_connecting(struct client *c, int events)
{
	unwatch(c);
	watch(c, PQsocket(c->conn), events);
}

static void connect_poll(struct client *c)
{
	switch (PQconnectPoll(c->conn)) {
	case PGRES_POLLING_READING:
		watch_connecting(c, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch_connecting(c, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		connected(c);
		return;
	default:
		connect_failed(c);
		return;
	}
}

static void connect_begin(struct client *c)
{
	const struct connspec *cs = &c->wt->cs;

	c->state = CS_CONNECTING;
	c->conn_start = mono_now();
	if (!c->pending)
		c->intended = c->conn_start; /* a failure is recorded at this time */
	c->conn = PQconnectStartParams(cs->kw, cs->val, 0);
	if (!c->conn || PQstatus(c->conn) == CONNECTION_BAD) {
		connect_failed(c);
		return;
	}
	/* libpq's first step after PQconnectStart is to wait for the socket to be writable */
	watch_connecting(c, EV_WRITE);
}

/* ---- scheduling ---- */

/* The end timer may fire a little after the end of the window (a busy loop): a transaction must
 * not start after it, as it would be counted nowhere. Stops the worker and this client. */
static int past_end(struct client *c)
{
	if (mono_now() < c->wk->b->t_end)
		return 0;
	stop_clients(c->wk);
	client_done(c);
	return 1;
}

static void become_ready(struct client *c)
{
	const struct workload *w = c->wt->w;

	if (w->rate > 0) {
		c->state = CS_IDLE;
		c->idle_since = mono_now();
		c->next_idle = c->wt->idle;
		c->wt->idle = c;
		dispatch(c->wt);
		return;
	}
	if (w->think_time > 0 && c->seq > 0) {
		set_timer(c, w->think_time, CS_THINK);
		return;
	}
	if (!past_end(c))
		start_txn(c, mono_now());
}

/* Hand every arrival that is due to a free client; then sleep until the next one. */
static void dispatch(struct wl_thread *wt)
{
	struct worker *wk = wt->idle ? wt->idle->wk : NULL;
	double now;

	if (!wk)
		return; /* no free client: the next one to finish calls us */
	now = mono_now();
	while (wt->idle && wt->arr.next <= now && !wk->stopping) {
		if (wt->arr.next >= wk->b->t_end) { /* the end timer is late: stop now */
			stop_clients(wk);
			return;
		}
		struct client *c = wt->idle;
		double t = arrival_take(&wt->arr);
		/* late = waited although this client was free: time before it was free is queueing
		 * (part of the latency), time after it is sluice-bench being slow */
		double lag = now - (t > c->idle_since ? t : c->idle_since);
		wt->idle = c->next_idle;
		if (t >= wk->b->t_window && t < wk->b->t_end) {
			wt->tot.offered++;
			if (lag > LATE_START_S)
				wt->tot.late++;
			if (lag > wt->tot.max_lag)
				wt->tot.max_lag = lag;
		}
		pthread_mutex_lock(&wk->mu);
		wt->iv.offered++;
		if (lag > LATE_START_S)
			wt->iv.late++;
		if (lag > wt->iv.max_lag)
			wt->iv.max_lag = lag;
		pthread_mutex_unlock(&wk->mu);
		start_txn(c, t);
		now = mono_now();
	}
	ev_timer_stop(wk->loop, &wt->arr_timer);
	if (wt->idle && !wk->stopping) {
		ev_timer_set(&wt->arr_timer, wt->arr.next - now, 0);
		ev_timer_start(wk->loop, &wt->arr_timer);
	}
}

static void arrival_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	dispatch(w->data);
}

static void client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *c = w->data;

	switch (c->state) {
	case CS_WAIT_START:
		if (c->wt->w->reconnect)
			become_ready(c);
		else
			connect_begin(c);
		return;
	case CS_THINK:
		if (!past_end(c))
			start_txn(c, mono_now());
		return;
	case CS_BACKOFF:
		start_attempt(c);
		return;
	case CS_PAUSE:
		become_ready(c);
		return;
	case CS_RECONNECT:
		if (c->wt->w->reconnect)
			become_ready(c);
		else
			connect_begin(c);
		return;
	default:
		return;
	}
}

static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;

	if (c->state == CS_CONNECTING)
		connect_poll(c);
	else if (c->state == CS_RUN || c->state == CS_ROLLBACK)
		on_io_run(c, revents);
	else if (c->conn && (revents & EV_READ) && !PQconsumeInput(c->conn))
		conn_lost(c); /* an idle connection that the server closed */
}

/* ---- the worker thread ---- */

/* The measured window is over (or the run was interrupted): no new transaction starts; the ones
 * in flight finish (they are part of the window) until the drain timeout. */
static void stop_clients(struct worker *wk)
{
	if (wk->stopping)
		return;
	wk->stopping = 1;
	for (int i = 0; i < wk->b->sc->n_w; i++) {
		ev_timer_stop(wk->loop, &wk->wt[i].arr_timer);
		wk->wt[i].idle = NULL;
	}
	for (int i = 0; i < wk->n_clients; i++) {
		struct client *c = &wk->clients[i];
		switch (c->state) {
		case CS_WAIT_START:
		case CS_IDLE:
		case CS_THINK:
		case CS_PAUSE:
		case CS_RECONNECT:
			client_done(c);
			break;
		case CS_CONNECTING:
			if (!c->pending)
				client_done(c);
			break;
		default:
			break; /* a transaction in flight or waiting to be retried finishes */
		}
	}
	if (wk->live > 0) {
		ev_timer_set(&wk->drain_timer, wk->b->sc->drain_timeout, 0);
		ev_timer_start(wk->loop, &wk->drain_timer);
	}
}

static void end_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	stop_clients(w->data);
}

static void stop_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	stop_clients(w->data);
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct worker *wk = w->data;

	for (int i = 0; i < wk->n_clients; i++) {
		struct client *c = &wk->clients[i];
		if (c->state == CS_DONE)
			continue;
		if (c->in_txn) {
			c->wt->tot.abandoned++;
			pthread_mutex_lock(&wk->mu);
			c->wt->iv.abandoned++;
			pthread_mutex_unlock(&wk->mu);
		}
		client_done(c);
	}
}

int worker_init_clients(struct worker *wk)
{
	struct bench *b = wk->b;
	int n = 0, k = 0;

	for (int i = 0; i < b->sc->n_w; i++)
		n += wk->wt[i].n_clients;
	wk->clients = calloc((size_t)(n ? n : 1), sizeof(*wk->clients));
	if (!wk->clients)
		return -1;
	wk->n_clients = n;
	ev_async_init(&wk->stop_async, stop_async_cb);
	wk->stop_async.data = wk;
	ev_async_start(wk->loop, &wk->stop_async);
	for (int i = 0; i < b->sc->n_w; i++) {
		struct wl_thread *wt = &wk->wt[i];
		const struct workload *w = wt->w;
		ev_timer_init(&wt->arr_timer, arrival_cb, 0, 0);
		wt->arr_timer.data = wt;
		/* each thread's share of the rate is an independent Poisson process: together they
		 * make one Poisson process of the whole rate */
		arrival_init(&wt->arr, w->rate * wt->n_clients / w->clients, b->sc->seed,
		             ((uint64_t)i << 16) | (uint64_t)wk->id | (UINT64_C(1) << 40), b->t0);
		for (int j = 0; j < wt->n_clients; j++) {
			struct client *c = &wk->clients[k++];
			c->wk = wk;
			c->wt = wt;
			c->id =
			    wk->id + j * b->n_threads; /* clients are dealt to threads in turn */
			c->io_fd = -1;
			rng_seed(&c->rng, b->sc->seed, ((uint64_t)i << 24) | (uint64_t)c->id);
			ev_io_init(&c->io, client_io_cb, -1, 0);
			c->io.data = c;
			ev_timer_init(&c->tm, client_timer_cb, 0, 0);
			c->tm.data = c;
		}
	}
	return 0;
}

void worker_main(struct worker *wk)
{
	struct bench *b = wk->b;
	double now = mono_now();

	wk->live = wk->n_clients;
	ev_timer_init(&wk->end_timer, end_cb, b->t_end - now, 0);
	wk->end_timer.data = wk;
	ev_timer_start(wk->loop, &wk->end_timer);
	ev_timer_init(&wk->drain_timer, drain_cb, 0, 0);
	wk->drain_timer.data = wk;
	for (int i = 0; i < wk->n_clients; i++) {
		struct client *c = &wk->clients[i];
		/* ramp: the workload's clients start evenly spread over the ramp */
		double at = b->sc->ramp * c->id / c->wt->w->clients;
		set_timer(c, b->t0 + at - now, CS_WAIT_START);
	}
	if (wk->live > 0)
		ev_run(wk->loop, 0);
}

void worker_free_clients(struct worker *wk)
{
	for (int i = 0; i < wk->n_clients; i++)
		if (wk->clients[i].conn)
			PQfinish(wk->clients[i].conn);
	free(wk->clients);
	free(wk->sqlbuf);
}
