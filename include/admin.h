/* The admin command language shared by the console (virtual database "pgbouncer"/"sluice"),
 * the admin unix socket and, for reading, the HTTP endpoints. Commands are parsed into a
 * struct admin_cmd (pure code, unit-tested), executed on the worker thread into a struct
 * admin_res (a small table plus a command tag or an error), and rendered by whichever door
 * the command came through (PostgreSQL protocol or JSON lines).
 *
 * Everything runs on the worker's loop: reading counters needs no locks, and a command that
 * must wait for the data path (PAUSE, RELOAD, WAIT_CLOSE) is parked as a waiter checked by the
 * janitor instead of blocking. */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "list.h"

struct worker;
struct client;
struct pool;

#define ADMIN_MAX_COLS 40
#define ADMIN_ARG_MAX  128

enum admin_verb {
	AV_SHOW,
	AV_SET,          /* SET key = value (main section) */
	AV_SET_TENANT,   /* SET TENANT name key = value */
	AV_SET_CLASS,    /* SET CLASS name key = value */
	AV_RESET_TENANT, /* RESET TENANT name [key] */
	AV_RESET_CLASS,  /* RESET CLASS name [key] */
	AV_PAUSE,
	AV_RESUME,
	AV_DISABLE,
	AV_ENABLE,
	AV_RECONNECT,
	AV_RESOLVE,
	AV_KILL,
	AV_KILL_CLIENT,
	AV_SUSPEND,
	AV_SHUTDOWN,
	AV_RELOAD,
	AV_WAIT_CLOSE,
};

/* A parsed command. Names are as written (unquoted); view and option words upper-cased. */
struct admin_cmd {
	enum admin_verb verb;
	char arg[ADMIN_ARG_MAX];   /* SHOW: view; db for PAUSE..; tenant/class name; client id */
	char arg2[ADMIN_ARG_MAX];  /* SHOW TENANT/CLASS: the name; SHUTDOWN: WAIT_FOR_* */
	char key[ADMIN_ARG_MAX];   /* SET */
	char value[ADMIN_ARG_MAX]; /* SET */
};

enum admin_coltype { AT_TEXT, AT_INT, AT_NUMERIC };

/* What a command must wait for before its answer is complete. */
enum admin_wait { AW_NONE, AW_PAUSE, AW_RELOAD, AW_WAIT_CLOSE };

/* The outcome of one command: either an error, or a tag with an optional table and notice. */
struct admin_res {
	int ncols;
	char colname[ADMIN_MAX_COLS][40];
	uint8_t coltype[ADMIN_MAX_COLS];
	char **cells; /* nrows * ncols, NULL = SQL NULL */
	int nrows, cap, cur;
	char tag[96];
	int error;
	char sqlstate[6];
	char msg[512];
	char notice[1024]; /* NOTICE text (SHOW HELP), "" if none */
	int oom;
	int close_after; /* SHUTDOWN: the connection goes away with the process */
	enum admin_wait wait;
	char wait_db[ADMIN_ARG_MAX]; /* AW_PAUSE / AW_WAIT_CLOSE scope, "" = all */
	uint32_t wait_gen;           /* AW_RELOAD: reload generation that completes it */
};

/* A requester parked until its command completes (embedded in a console client or socket
 * session). done() is called once, on the worker thread, with err NULL on success. */
struct admin_waiter {
	struct list node;
	enum admin_wait kind;
	char db[ADMIN_ARG_MAX];
	uint32_t gen;
	void (*done)(struct admin_waiter *wt, const char *err);
};

/* Per-database averages over the last stats_period (SHOW STATS avg_* columns). */
struct admin_avg {
	char db[64];
	uint64_t prev[7]; /* xacts, queries, recv, sent, xact_us, query_us, wait_us */
	uint64_t prev_waits;
	double avg[7];
	int seen;
};

/* Worker-owned admin state (w->admin). */
struct admin_state {
	int paused;     /* global PAUSE in effect */
	int draining;   /* SHUTDOWN WAIT_FOR_CLIENTS: exit when the last client has left */
	int n_consoles; /* console clients (not counted as clients to drain) */
	struct list waiters;
	struct list consoles;      /* logged-in console clients (struct client.pool_node) */
	struct list admin_pools;   /* virtual "pgbouncer"/"sluice" pools, one per user */
	uint32_t reload_requested; /* generations asked of the control plane */
	uint32_t reload_done;      /* generations the worker has applied (or that failed) */
	char reload_err[256];
	double started;
	double avg_at;
	struct admin_avg *avgs;
	int n_avgs;
	struct gov_overrides *ovr; /* runtime SET TENANT/CLASS/key layer */
	struct admin_sock *sock;
	struct http_server *http;
	struct metrics_hist *hist;
};

/* ---- parsing (pure) ---- */

/* Parse one command (an optional trailing ';' is allowed). Returns 0, or -1 with a message
 * in err (the same wording for every door). */
int admin_parse(const char *sql, struct admin_cmd *cmd, char *err, size_t errlen);
/* 1 if the command only reads (allowed to stats_users). */
int admin_cmd_readonly(const struct admin_cmd *cmd);

/* ---- result table ---- */

/* Declare the columns from a spec "name:t,name:i,name:n" (t text, i integer, n numeric). */
void admin_res_cols(struct admin_res *res, const char *spec);
/* Start a row; then add exactly ncols cells. */
void admin_row(struct admin_res *res);
void admin_cell(struct admin_res *res, const char *s); /* NULL: SQL NULL */
void admin_cellf(struct admin_res *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void admin_cell_int(struct admin_res *res, long long v);
/* Set an error (sqlstate, message); the table, if any, is dropped. */
void admin_res_error(struct admin_res *res, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Cell text (NULL for SQL NULL). */
static inline const char *admin_res_cell(const struct admin_res *res, int row, int col)
{
	return res->cells[row * res->ncols + col];
}
/* Free the cells (the struct itself is the caller's). */
void admin_res_free(struct admin_res *res);

/* ---- execution (worker thread) ---- */

/* Set up / free the worker's admin state (console pools, socket, HTTP listener). -1 on a
 * fatal error (logged). */
int admin_init(struct worker *w);
void admin_free(struct worker *w);
/* Run one command for a requester that may (is_admin) or may only SHOW. */
void admin_exec(struct worker *w, const struct admin_cmd *cmd, int is_admin, struct admin_res *res);
/* Parse and run a command line into res (parse errors become res errors). */
void admin_run_line(struct worker *w, const char *line, int is_admin, struct admin_res *res);
/* Park a requester until res->wait is satisfied; done() may be called before this returns. */
void admin_wait(struct worker *w, const struct admin_res *res, struct admin_waiter *wt);
/* Forget a parked requester (its connection went away). */
void admin_unwait(struct admin_waiter *wt);
/* A normal client logging in to a database DISABLEd by the admin: 1 (refuse it). */
int admin_db_disabled(const struct pool *pool);
/* Periodic (janitor): complete waiters, refresh averages. */
void admin_tick(struct worker *w);
/* The worker applied a new config snapshot (err NULL) or a reload failed (err set). */
void admin_reloaded(struct worker *w, uint32_t gen, const char *err);
/* 1 while new transactions of pool must wait (PAUSE/KILL of it or of everything). */
int admin_pool_paused(const struct pool *pool);
/* 1 when readiness should be reported (not paused, not shutting down, a backend reachable);
 * why gets the reason otherwise. */
int admin_ready(struct worker *w, char *why, size_t len);

/* ---- views (admin_views.c) ---- */

/* Fill res for SHOW view [name]; -1 if the view is unknown. */
int admin_show(struct worker *w, const char *view, const char *name, struct admin_res *res);
/* SHOW TENANTS / TENANT name (name NULL: all) and SHOW CLASSES / CLASS name (admin_gov_views.c);
 * an unknown name sets an error in res. Return 0. */
int admin_show_tenants(struct worker *w, struct admin_res *res, const char *name);
int admin_show_classes(struct worker *w, struct admin_res *res, const char *name);
/* Refresh the per-database averages (every stats_period). */
void admin_stats_tick(struct worker *w);

/* ---- console (admin_console.c): the PostgreSQL-protocol door ---- */

/* 1 if dbname is the admin console's virtual database. */
int admin_is_console_db(const char *dbname);
/* Set up cl (after its startup packet) as a console client: checks admin_users/stats_users and
 * gives it a virtual pool for dbname. Returns 0, or -1 with a FATAL already sent. */
int admin_console_login(struct client *cl, const char *dbname, const char *user);
/* A message from a logged-in console client (the client's conn_ops packet callback). */
enum pkt_action admin_console_packet(struct client *cl, uint8_t type, const uint8_t *p,
                                     uint32_t total, uint32_t avail);
/* A console client goes away: forget any parked command. */
void admin_console_gone(struct client *cl);
/* Apply every console client (for SHOW CLIENTS): call fn for each. */
void admin_console_foreach(struct worker *w, void (*fn)(struct client *cl, void *arg), void *arg);
/* Close every console client (shutdown). */
void admin_console_close_all(struct worker *w, const char *why);

#endif
