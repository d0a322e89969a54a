/* Internals shared by engine.c (clients of one worker thread) and run.c (threads, clock,
 * progress, merging). Not used elsewhere. */
#ifndef SLUICE_BENCH_WORKER_H
#define SLUICE_BENCH_WORKER_H

#include <ev.h>
#include <libpq-fe.h>

#include "engine.h"

struct client;

/* One workload's share of one worker thread. */
struct wl_thread {
	struct workload *w;
	int n_clients;
	struct connspec cs;
	struct client *idle; /* open loop: clients waiting for the next arrival */
	struct arrival arr;
	ev_timer arr_timer;
	struct wstats iv;   /* the current second; guarded by the worker's mu */
	struct wstats tot;  /* measured window; the worker's own until it has exited */
	struct wstats warm; /* transactions that started during warmup */
	uint64_t *ledger;
	size_t n_ledger, cap_ledger;
};

struct worker {
	struct bench *b;
	int id;
	pthread_t th;
	struct ev_loop *loop;
	pthread_mutex_t mu;
	struct wl_thread *wt;
	struct client *clients;
	int n_clients;
	int live; /* clients not finished */
	int stopping;
	int finished; /* set (atomically) when the thread is about to exit */
	ev_timer end_timer, drain_timer;
	ev_async stop_async;
	ev_async *done_async; /* the main loop's: signalled when this worker has finished */
	struct ev_loop *main_loop;
	char *sqlbuf;
	size_t sqlcap;
};

/* Set up the clients of a worker (after its wl_threads and loop exist). Returns 0 or -1. */
int worker_init_clients(struct worker *wk);
/* Runs the worker's loop until every client has finished. */
void worker_main(struct worker *wk);
/* Ledger ids of a workload's thread share are in wk->wt[i].ledger (see run.c / report.c). */
/* Free the clients (after the thread has been joined). */
void worker_free_clients(struct worker *wk);

#endif
