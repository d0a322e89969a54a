/* Pools: server connections for one (database, user) pair, the clients waiting
 * for one, and the limits that decide when a new server connection may open. */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

#include <stdint.h>

#include "config.h"
#include "list.h"
#include "scram.h"

struct worker;
struct client;
struct server;
struct gov_domain;
struct gov_dt;
struct notify_listener;

/* Session parameters that clients expect to keep across transactions; all are
 * GUC_REPORT in PostgreSQL, so the server tells us every change by ParameterStatus. */
enum track_var {
	VAR_APPLICATION_NAME,
	VAR_CLIENT_ENCODING,
	VAR_DATESTYLE,
	VAR_TIMEZONE,
	VAR_INTERVALSTYLE,
	VAR_STANDARD_CONFORMING_STRINGS,
	N_TRACK_VARS
};

/* Index of a tracked parameter by (case-insensitive) name, or -1. */
int track_var_index(const char *name);
/* Canonical name of tracked parameter i. */
const char *track_var_name(int i);

#define MAX_WELCOME   24
#define VAR_VALUE_MAX 128

/* A server's ParameterStatus set as seen at login: replayed to clients at their login. */
struct welcome {
	int n;
	char name[MAX_WELCOME][64];
	char value[MAX_WELCOME][VAR_VALUE_MAX];
};

/* Per client-facing database name: its [databases] entry and connection count. */
struct pool_db {
	struct list node;
	struct db_entry entry; /* copy; refreshed on reload */
	int from_fallback;     /* created from the "*" entry */
	int server_count;      /* server connections across this database's pools */
	int removed;           /* gone from the config at the last reload */
	uint8_t paused;        /* admin PAUSE/KILL: new transactions wait */
	uint8_t disabled;      /* admin DISABLE: new logins refused */
	double reconnect_at;   /* admin RECONNECT: servers connected before this are replaced */
};

/* Per client user: its [users] entry and connection count. */
struct pool_user {
	struct list node;
	char name[CFG_NAME_MAX];
	int pool_mode;            /* POOL_MODE_UNSET unless [users] says */
	int max_user_connections; /* -1 unless [users] says */
	int server_count;
	struct gov_domain *gov; /* governor capacity domain, NULL until needed */
	/* SCRAM keys recovered from a client's login, to log in to the server with a stored secret.
	 */
	int have_scram_keys;
	unsigned char scram_client_key[32];
	/* SCRAM secret derived from a plaintext auth_file password (PBKDF2 is costly: once). */
	struct scram_secret *derived;
	char derived_from[CFG_SECRET_MAX];
};

enum srv_list { SL_LOGIN, SL_IDLE, SL_ACTIVE, SL_TESTING, SL_COUNT };

struct pool {
	struct list node;
	struct worker *w;
	struct pool_db *db;
	struct pool_user *user;
	char server_user[CFG_NAME_MAX];

	struct list servers[SL_COUNT];
	int n_servers[SL_COUNT];
	struct list waiting; /* clients waiting for a server, arrival order */
	int n_waiting;
	struct list welcome_waiters; /* clients whose login waits for the first server */
	struct list clients;         /* logged-in clients (struct client.pool_node) */
	int n_clients;

	struct welcome welcome;
	int have_welcome;
	const char *welcome_var[N_TRACK_VARS]; /* tracked parameters in welcome, NULL if absent */

	/* Effective settings (entry, [users], then main section). */
	int pool_mode, pool_size, min_pool_size, reserve_pool, max_db_connections;

	double last_connect_failure; /* loop time of the last failed server login, 0 if none */
	double holding_since;        /* transactions held since this time (server away), 0 = no */
	int last_failure_transient;
	char last_error[256];

	uint64_t stat_xacts, stat_queries, stat_wait_us, stat_waits;
	/* PgBouncer-style counters: bytes from/to clients, server time in transactions and
	 * queries (microseconds). */
	uint64_t stat_recv, stat_sent, stat_xact_us, stat_query_us;
	struct gov_dt *gov_dt; /* its tenant in its user's governor domain; NULL when off */
	struct notify_listener *listener; /* LISTEN multiplexing (listen.h), or NULL */
};

/* Find or create the pool for (database name, user); NULL with the reason in errbuf and its
 * SQLSTATE when the database is unknown (no entry and no "*" fallback) or on out of memory. */
struct pool *pool_get(struct worker *w, const char *dbname, const char *user, char *errbuf,
                      size_t errlen, const char **sqlstate);
/* Re-derive every pool's effective settings from the worker's current config. */
void pool_apply_config(struct worker *w);
/* Ask for a server for cl: 0 linked now, 1 queued (the client is paused), -1 refused
 * (an error has been sent to the client). */
int pool_request_server(struct client *cl);
/* A server finished login or a reset/check query: give it to the next waiter or park it idle. */
void pool_server_ready(struct server *srv);
/* The client is done with its server (transaction or session end). */
void pool_release_server(struct client *cl);
/* Remove a waiting client from its pool's queue. */
void pool_unwait(struct client *cl);
/* Open a server connection for pool if the limits allow; returns 1 if one was started. */
int pool_launch(struct pool *pool, int allow_reserve);
/* Open server connections for pool's waiters now (a host became usable, or has room or a connect
 * token again), as many as they need and the limits allow. */
void pool_kick(struct pool *pool);
/* A server login failed: fail waiters if nothing else can serve them, or — transient failures
 * (unreachable, restarting) with failover_hold_timeout > 0 — hold them while sluice retries every
 * health_check_period. */
void pool_connect_failed(struct pool *pool, const char *why, int transient);
/* A server login succeeded: end a hold (logs how long the server was away). */
void pool_server_back(struct pool *pool);
/* Periodic work: timeouts, reserve pool, min_pool_size, idle server lifetime. */
void pool_janitor(struct worker *w);
/* Move srv to list l of its pool (one function owns state changes and counts). */
void pool_server_move(struct server *srv, enum srv_list l);
/* Adopt a server's login ParameterStatus set as the pool's welcome set. */
void pool_set_welcome(struct pool *pool, const struct welcome *wl);
/* Total server connections of pool. */
int pool_server_total(const struct pool *pool);
/* Free every pool, database and user entry (worker teardown). */
void pool_free_all(struct worker *w);

#endif
