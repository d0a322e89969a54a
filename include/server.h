/* A server connection: connect, log in (trust, cleartext, md5, SCRAM-SHA-256),
 * relay to its linked client, swallow replies to sluice's own queries. */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <stdint.h>
#include <sys/socket.h>

#include "conn.h"
#include "pool.h"

struct scram_client;
struct txn_server;

enum internal_kind {
	INTERNAL_NONE,
	INTERNAL_SET,
	INTERNAL_RESET,
	INTERNAL_CHECK,
	INTERNAL_PINCHECK, /* linked: how many advisory locks the client holds (txnpool.h) */
	INTERNAL_LISTEN    /* LISTEN/UNLISTEN on a pool's listener connection (listen.h) */
};

struct server {
	struct conn c;    /* first member: a conn* is a server* */
	struct list node; /* in one of its pool's state lists */
	enum srv_list list;
	struct pool *pool;
	struct client *client; /* linked client or NULL */
	uint32_t id;
	uint32_t be_pid, be_key;
	uint8_t logged_in, connecting, txn_status, unsynced, check_failed;
	int expected_rfq; /* ReadyForQuery owed for the client's Query/Sync/FunctionCall */
	int internal_rfq; /* ReadyForQuery owed for sluice's own queries (replies swallowed) */
	enum internal_kind internal;
	uint8_t
	    saw_fatal;   /* a FATAL/PANIC ErrorResponse was relayed: the client knows it is over */
	int gov_stmt_ms; /* statement_timeout set for a class: 0 none (baseline), -1 unknown */
	char vars[N_TRACK_VARS][VAR_VALUE_MAX]; /* the server's actual session values */
	double connect_time, state_since, request_time, last_used;
	struct scram_client *scram;
	struct welcome *welcome;          /* collected during login when the pool has none yet */
	struct txn_server *txn;           /* transaction-pooling state (txnpool.h), or NULL */
	struct notify_listener *listener; /* set on a pool's LISTEN connection (listen.h) */
	ev_timer connect_timer;
};

/* Start a non-blocking connection for pool; the server sits in SL_LOGIN until login ends. */
struct server *server_connect(struct pool *pool);
/* Close srv with a reason for the log; a linked client gets an error and is closed. */
void server_close(struct server *srv, const char *reason);
/* Link srv to cl: queue SETs for parameters that differ, then the client's bytes follow. */
void server_link(struct server *srv, struct client *cl);
/* Run one of sluice's own queries on an unlinked server (reset, check); replies are swallowed. */
void server_internal_query(struct server *srv, enum internal_kind kind, const char *sql);
/* 1 when srv can go back to the pool as it is: no transaction open, no reply owed. */
int server_is_clean(const struct server *srv);
/* A ReadyForQuery reached the client: release the server when the transaction (or statement)
 * is over. Deferred while the client is half-way through a message to this server. */
void server_boundary(struct server *srv);
/* Address of a database entry's server (unix socket path, IP literal, or a resolved name). */
int server_resolve(const struct db_entry *e, struct sockaddr_storage *ss, socklen_t *len, char *err,
                   size_t errlen);
/* Write "S-<id>: db/user@host:port" for logs. */
void server_describe(const struct server *srv, char *buf, size_t len);

#endif
