/* A data-plane worker: one thread, one libev loop, and everything the data path
 * touches (listeners, clients, servers, pools, buffers, cancel keys, counters). */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "gov.h"
#include "list.h"
#include "slab.h"

struct runtime;
struct client;
struct access_state;

#define MAX_LISTENERS 16

enum worker_msg_type { WMSG_RELOAD, WMSG_SHUTDOWN_FAST, WMSG_SHUTDOWN_SAFE };

/* A control-plane message to a worker (config snapshot handover, shutdown). */
struct worker_msg {
	struct worker_msg *next;
	enum worker_msg_type type;
	struct sluice_config *cfg; /* WMSG_RELOAD: ownership moves to the worker */
};

/* Per-worker counters (summed by readers; written only by the worker thread). */
struct worker_stats {
	uint64_t clients_accepted, clients_refused, logins_ok, logins_failed;
	uint64_t server_connects, server_connect_failures;
	uint64_t xacts, queries, wait_timeouts, bytes_in, bytes_out;
};

struct worker {
	struct runtime *rt;
	struct ev_loop *loop;
	pthread_t thread;
	const struct sluice_config *cfg; /* current snapshot (owned) */

	struct slab bufs;
	uint32_t bufsize;

	ev_io listeners[MAX_LISTENERS];
	int n_listeners;
	int listening;

	struct list pools;         /* struct pool */
	struct list pdbs, pusers;  /* struct pool_db, struct pool_user */
	struct list login_clients; /* clients before login completes */
	int n_clients;             /* every client connection, for max_client_conn */

	struct client **cancel_tab; /* open hash on the cancel key */
	uint32_t cancel_mask;

	struct list ready; /* clients whose buffered bytes should be walked again */
	struct list dead;  /* closed conns freed at the end of the loop iteration */
	ev_prepare prepare;
	ev_timer janitor;

	ev_async wake;
	pthread_mutex_t inbox_lock;
	struct worker_msg *inbox;

	unsigned char scram_mock_key[32]; /* per process run: stable mock salts for unknown users */
	int shutdown;                     /* 0, or 1 safe (finish transactions), 2 fast */
	uint32_t next_client_id, next_server_id;
	struct worker_stats stats;
	struct gov_state gov;        /* tenants, classes, rate-delay timer */
	struct access_state *access; /* TLS contexts, HBA rules, auth_query (access.h) */
};

/* Create the worker's loop and open its listeners; -1 with a logged reason on failure. */
int worker_init(struct worker *w, struct runtime *rt, struct sluice_config *cfg);
/* Start the worker thread. */
int worker_start(struct worker *w);
/* Hand a message to the worker (any thread). */
void worker_post(struct worker *w, struct worker_msg *m);
/* Wait for the worker thread to end and free what it owns. */
void worker_join(struct worker *w);
/* Queue a client for another pass over its buffered bytes at the end of this loop iteration. */
void worker_schedule(struct worker *w, struct client *cl);
/* Monotonic-ish loop time in seconds. */
static inline double worker_now(struct worker *w)
{
	return ev_now(w->loop);
}

#endif
