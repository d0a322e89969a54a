/* A client connection: startup, authentication against auth_file, login
 * response, then the per-transaction path (link a server, relay, release). */
#ifndef SLUICE_CLIENT_H
#define SLUICE_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>

#include "conn.h"
#include "gov.h"
#include "pool.h"

struct client_login;
struct txn_client;
struct admin_console;
struct slow_state;

/* CL_WAITING: in its pool's queue for a server; CL_GOV_WAIT: in the governor's queue for a slot,
 * or a statement held back by query_rate. */
enum client_state { CL_STARTUP, CL_AUTH, CL_WAIT_WELCOME, CL_ACTIVE, CL_WAITING, CL_GOV_WAIT };

struct client {
	struct conn c;          /* first member: a conn* is a client* */
	struct list node;       /* login list, pool waiting list or welcome waiters */
	struct list ready_node; /* in the worker's ready list */
	struct list pool_node;  /* in its pool's client list once logged in */
	enum client_state state;
	uint8_t discard;          /* skipping the rest of a refused transaction start */
	uint8_t release_deferred; /* transaction over while a message to the server was half sent */
	uint8_t is_unix;
	uint8_t served;       /* has had a server linked at least once (drain: first transaction) */
	uint8_t lost_txn;     /* its transaction died with its server (failover.c), 0 = no */
	uint8_t lost_ext_end; /* ... and it is ending the block with the extended protocol */
	uint8_t lost_ext_err; /* ... an error was sent for the current extended batch */
	uint8_t commit_sent;  /* the Query in flight is a COMMIT (08007 if the server dies) */
	uint8_t proxied;      /* a PROXY protocol header set addr/port */
	uint8_t route;        /* enum gov_route of the transaction being served (route.h) */
	struct pool *pool;
	struct server *server;
	struct client_login *login; /* only during login */
	struct client *cancel_next;
	uint32_t id, cancel_pid, cancel_key;
	char *vars[N_TRACK_VARS]; /* NULL: the pool's welcome value */
	struct txn_client *txn;   /* transaction-pooling session state (txnpool.h), or NULL */
	double connect_time, wait_start, last_activity;
	char addr[46];
	uint16_t port;
	struct gov_client gov;
	struct admin_console *admin; /* console client (virtual database pgbouncer/sluice) */
	struct slow_state *slow;     /* slow-query log state, NULL until needed (slowlog.c) */
};

/* Take an accepted socket; refuses (after reading the startup packet) when over max_client_conn. */
void client_accept(struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen,
                   int is_unix);
/* Close cl and log why; a linked server is released if clean, closed otherwise. */
void client_close(struct client *cl, const char *reason);
/* Send a FATAL ErrorResponse with sqlstate and close. */
void client_fatal(struct client *cl, const char *sqlstate, const char *msg);
/* Refuse the transaction the client is starting: ErrorResponse now, the rest of its
 * messages up to Query/Sync dropped, then ReadyForQuery — the connection stays usable. */
void client_fail_request(struct client *cl, const char *sqlstate, const char *msg,
                         const char *detail);
/* The pool's first server logged in: finish the login of a client waiting for it. */
void client_welcome(struct client *cl);
/* A server has been linked to this waiting client: continue its transaction. */
void client_linked(struct client *cl);
/* Effective value of tracked parameter i for cl. */
const char *client_var(const struct client *cl, int i);
/* Set cl's value of tracked parameter i (value equal to the pool's welcome is stored as NULL). */
void client_set_var(struct client *cl, int i, const char *value);
/* The client's TCP peer address as a sockaddr (0), or -1 for unix-socket clients. */
int client_sockaddr(const struct client *cl, struct sockaddr_storage *ss);
/* Write "C-<id>: db/user@addr:port" for logs. */
void client_describe(const struct client *cl, char *buf, size_t len);
/* An auth_query lookup finished: continue the login with secret ("" = unknown user). */
void client_auth_resume(struct client *cl, const char *secret);
/* The user name the client logs in as (during login, from its startup packet). */
const char *client_login_user(const struct client *cl);
/* Find the client holding a cancel key. */
struct client *cancel_lookup(struct worker *w, uint32_t pid, uint32_t key);
/* Forward a cancel request for cl to the server running its query (no-op if none). */
void cancel_forward(struct client *cl);
/* A CancelRequest(pid, key) arrived: pass it to the peer whose id the pid carries (peers.h), or
 * forward it for the local client holding the key, or pass it to the other process of an online
 * restart (handover.h); anything else is dropped. */
void cancel_request(struct worker *w, uint32_t pid, uint32_t key);
/* A cancel request passed on by the other process of an online restart: for our clients only,
 * never passed on again. */
void cancel_local(struct worker *w, uint32_t pid, uint32_t key);
/* Send CancelRequest(pid, key) to addr on a new non-blocking connection (the loop waits for the
 * connect, bounded by a timer); 0, or -1 with errno when it could not even start. */
int cancel_send(struct worker *w, const struct sockaddr_storage *addr, socklen_t addrlen,
                uint32_t pid, uint32_t key);
/* Register/unregister cl's cancel key. */
void cancel_register(struct worker *w, struct client *cl);
void cancel_unregister(struct worker *w, struct client *cl);

#define clog(cl, lvl, fmt, ...)                                                                    \
	do {                                                                                       \
		if ((lvl) <= log_threshold) {                                                      \
			char d_[200];                                                              \
			client_describe((cl), d_, sizeof(d_));                                     \
			log_emit((lvl), "%s " fmt, d_, ##__VA_ARGS__);                             \
		}                                                                                  \
	} while (0)
#define slog(srv, lvl, fmt, ...)                                                                   \
	do {                                                                                       \
		if ((lvl) <= log_threshold) {                                                      \
			char d_[200];                                                              \
			server_describe((srv), d_, sizeof(d_));                                    \
			log_emit((lvl), "%s " fmt, d_, ##__VA_ARGS__);                             \
		}                                                                                  \
	} while (0)

#endif
