/* A data-plane worker: one thread, one libev loop, and everything the data path
 * touches (listeners, clients, servers, pools, buffers, cancel keys, counters). */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "dns.h"
#include "gov.h"
#include "handover.h"
#include "list.h"
#include "pscache.h"
#include "slab.h"

struct runtime;
struct client;
struct admin_state;
struct access_state;
struct hostsel;
struct hostcap_state;

#define MAX_LISTENERS 16

enum worker_msg_type {
	WMSG_RELOAD,
	WMSG_RELOAD_FAILED,
	WMSG_SHUTDOWN_FAST,
	WMSG_SHUTDOWN_SAFE,
	WMSG_DRAIN,
	WMSG_HOSTS /* the health checker's host snapshot (data: struct host_report) */
};

/* worker.shutdown: SAFE is PgBouncer's SIGINT (wait for servers to be released, serve nothing
 * new); FAST closes everything now; DRAIN (SIGTERM, SHUTDOWN WAIT_FOR_CLIENTS) keeps serving
 * queued and first transactions and closes each client at its next transaction boundary. */
enum worker_shutdown { SHUTDOWN_NONE, SHUTDOWN_SAFE, SHUTDOWN_FAST, SHUTDOWN_DRAIN };

/* A control-plane message to a worker (config snapshot handover, shutdown). */
struct worker_msg {
	struct worker_msg *next;
	enum worker_msg_type type;
	struct sluice_config *cfg; /* WMSG_RELOAD: ownership moves to the worker */
	uint32_t gen;              /* admin RELOAD generation this reload answers (0: a signal) */
	char err[256];             /* WMSG_RELOAD_FAILED: why */
	void *data;                /* WMSG_HOSTS: a malloc'd struct host_report, moves too */
};

/* Per-worker counters (summed by readers; written only by the worker thread). */
struct worker_stats {
	uint64_t clients_accepted, clients_refused, logins_ok, logins_failed;
	uint64_t server_connects, server_connect_failures;
	uint64_t xacts, queries, wait_timeouts, bytes_in, bytes_out;
	uint64_t failover_lost; /* transactions whose server connection died under them */
	/* Transaction pooling (txnpool.h): servers dropped after the server ended them while idle,
	 * idle servers closed for DROP/CREATE/ALTER DATABASE, pins by class, prepared statements
	 * prepared on servers / answered from a server's cache / evicted. */
	uint64_t idle_server_drops, db_cmd_closes, pins[5];
	uint64_t ps_server_prepares, ps_local_parses, ps_evictions;
	uint64_t listener_reconnects, notifications_delivered;
};

struct worker {
	struct runtime *rt;
	struct ev_loop *loop;
	pthread_t thread;
	const struct sluice_config *cfg; /* current snapshot (owned) */

	struct slab bufs;
	uint32_t bufsize;

	ev_io listeners[MAX_LISTENERS];
	char listener_what[MAX_LISTENERS][HANDOVER_WHAT_MAX];
	int n_listeners;
	int listening;
	int listeners_shared;       /* passed to a newer process: keep the unix socket file */
	ev_io handover_io;          /* online restart requests (handover.c) */
	int handover_fd;            /* -1 when none */
	unsigned long handover_ino; /* inode of our hand-over socket file */
	/* Online restart with one config (one peer id): cancel requests whose key is not ours go
	 * to the process before us (pred) and after us (succ) over their private unix sockets;
	 * ours is cancel_path, served by cancel_io (handover.c). */
	ev_io cancel_io;
	int cancel_fd; /* -1 when none */
	char cancel_path[108], pred_cancel[108], succ_cancel[108];

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
	int shutdown;                     /* enum worker_shutdown */
	double drain_started, drain_deadline_hit; /* loop times; 0 = not yet */
	int n_cancels;                            /* cancel requests being forwarded */
	uint32_t next_client_id, next_server_id;
	struct worker_stats stats;
	struct gov_state gov;          /* tenants, classes, rate-delay timer */
	struct ps_registry ps_reg;     /* protocol-level prepared statements by body (pscache.h) */
	struct admin_state *admin;     /* console, admin socket, HTTP, runtime overrides */
	struct access_state *access;   /* TLS contexts, HBA rules, auth_query (access.h) */
	struct dns_cache dns;          /* asynchronous resolver and host name cache (dns.h) */
	struct hostsel *hostsel;       /* host roles from the health checker (hostsel.h) */
	struct hostcap_state *hostcap; /* per-host ceiling and connect rate (hostcap.h) */
};

/* Shutdown modes started from the admin console/socket (same as the signals, plus waiting for
 * clients to leave on their own). */
enum worker_shutdown_mode { WSHUT_SAFE = 1, WSHUT_FAST = 2, WSHUT_WAIT_CLIENTS = 3 };
/* Begin a shutdown from the worker thread itself. */
void worker_shutdown(struct worker *w, enum worker_shutdown_mode mode);

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
