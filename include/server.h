/* A server connection: connect, log in (trust, cleartext, md5, SCRAM-SHA-256),
 * relay to its linked client, swallow replies to sluice's own queries. */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <stdint.h>
#include <sys/socket.h>

#include "conn.h"
#include "dns.h"
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
	/* Where it connects: a host name's cache entry (NULL for IP literals and unix sockets),
	 * the address tried (index into the entry's list) and, once chosen, that address. */
	struct dns_waiter dns_wait;
	const struct dns_entry *dns;
	uint32_t dns_gen;
	int addr_idx;
	int host_idx;            /* which host of a multi-host entry (hostsel.h); 0 otherwise */
	int standby;             /* opened to a standby for routed reads (route.h) */
	struct hostcap *hostcap; /* its host's ceiling and connect rate (hostcap.h) */
	double life_factor;      /* its share of server_lifetime (server_lifetime_jitter) */
	socklen_t addrlen;
	struct sockaddr_storage addr;
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
/* Address of one host of a database entry (unix socket directory, IP literal, or a host name
 * from w's DNS cache, never blocking). 0: *ss is the (first) address and *dns the name's entry
 * (NULL for literals and sockets; its addrs[] are the others to try); 1: the lookup is pending
 * and wt->done runs when it ends (dns_cancel(wt) to stop waiting); -1: err says why. */
int server_resolve(struct worker *w, const char *host, int port, struct dns_waiter *wt,
                   const struct dns_entry **dns, struct sockaddr_storage *ss, socklen_t *len,
                   char *err, size_t errlen);
/* 1 when srv's host name now resolves to other addresses than the one srv is connected to. */
int server_addr_stale(const struct server *srv);
/* Write "S-<id>: db/user@host:port" for logs. */
void server_describe(const struct server *srv, char *buf, size_t len);

#endif
