/* Transaction pooling without caveats: the state that must follow a client from
 * one server connection to the next, and the hooks the client/server state
 * machines call. Only pools in transaction or statement mode use any of it.
 *
 * Client side (struct txn_client, cl->txn): session-level SETs it ran (its virtual
 * session), its protocol-level prepared statements, and pins (advisory locks, temp
 * tables, WITH HOLD cursors, SQL PREPARE) that keep it on one server.
 * Server side (struct txn_server, srv->txn): the session variables actually applied,
 * the statements prepared under sluice's names (LRU), and a queue with one entry per
 * request sent, so that answers sluice makes up (ParseComplete for a statement the
 * server already has, CloseComplete, DEALLOCATE) reach the client in protocol order
 * and answers to requests sluice injected (Parse, Close) are swallowed.
 *
 * sessstate.c owns session variables, pins, local answers and database commands;
 * prepared.c owns the request queue and statement renaming. */
#ifndef SLUICE_TXNPOOL_H
#define SLUICE_TXNPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "pscache.h"

struct client;
struct server;

/* One session variable: name (lower case) and the value text as the client wrote it. */
struct sess_var {
	char *name, *value;
};

struct sess_vars {
	int n, cap;
	struct sess_var *v;
};

/* LISTEN pins only when it cannot be multiplexed (inside a longer query or a Parse). */
enum pin_class { PIN_ADVISORY, PIN_TEMP, PIN_HOLD, PIN_PREPARE, PIN_LISTEN, N_PIN_CLASS };

struct txn_client {
	struct sess_vars vars; /* session-level SETs of non-reported parameters */
	struct ps_names names; /* protocol-level prepared statements */
	int pins[N_PIN_CLASS]; /* held session objects per class (0: none) */
	uint8_t pin_logged;    /* the first pin was logged */
	uint8_t adv_unsure;    /* advisory lock calls ran: ask the server how many are held */
	/* Advisory lock calls seen, and their number when the running pg_locks check was sent
	 * (an answer older than the latest call is stale). */
	uint32_t adv_gen, adv_check_gen;
	/* LISTEN subscriptions (listen.c); next == NULL until first used. */
	struct list subs;
	int n_subs;
	/* Notifications waiting for a message boundary or a drained socket. */
	struct wbuf notify_q;
	int n_notify_q;
	uint8_t notify_overflow; /* more than max_notify_queue waiting: to be closed */
	uint8_t listen_wait;     /* paused until the listener confirms a LISTEN */
};

/* What sluice does with the answer to one request sent to the server. */
enum txn_req_act {
	RA_FWD,     /* the client's own request: answer forwarded */
	RA_SWALLOW, /* injected by sluice: answer dropped (an error still reaches the client) */
	RA_SYNTH,   /* answered by sluice: nothing was sent, the answer is made up in order */
};

enum txn_synth {
	SY_NONE,
	SY_PARSE,          /* ParseComplete */
	SY_CLOSE,          /* CloseComplete */
	SY_DEALLOCATE,     /* CommandComplete DEALLOCATE + ReadyForQuery */
	SY_DEALLOCATE_ALL, /* CommandComplete DEALLOCATE ALL + ReadyForQuery */
	SY_DISCARD_ALL,    /* CommandComplete DISCARD ALL + ReadyForQuery */
	SY_LISTEN,         /* CommandComplete LISTEN + ReadyForQuery */
	SY_UNLISTEN,       /* CommandComplete UNLISTEN + ReadyForQuery */
	SY_WAIT,           /* not yet: the client pauses and the message is handled again */
};

struct txn_req {
	uint8_t kind;  /* request type: P B D(portal) d(statement) E C S Q F */
	uint8_t act;   /* enum txn_req_act */
	uint8_t synth; /* enum txn_synth for RA_SYNTH */
	uint8_t pad;
	uint32_t id; /* statement id a Parse/Close concerns, 0 if none */
};

/* Session-state change seen in the current transaction, applied when it commits. */
enum sess_op_kind {
	SO_SET,
	SO_RESET,
	SO_RESET_ALL,
	SO_DISCARD_ALL,
	SO_LISTEN,      /* LISTEN in a transaction block: registered when it commits */
	SO_UNLISTEN,    /* UNLISTEN name in a block */
	SO_UNLISTEN_ALL /* UNLISTEN * (in a block, or sent to the server in a longer query) */
};

struct sess_op {
	enum sess_op_kind kind;
	char *name, *value;
};

#define TXN_MAX_PENDING 8

struct txn_server {
	struct sess_vars vars; /* session variables applied here (differences from login) */
	struct ps_cache cache; /* statement ids prepared here as sluice_<id> */
	struct txn_req *q;     /* ring of requests awaiting an answer */
	uint32_t qcap, qhead, qlen;
	struct sess_op pend[TXN_MAX_PENDING];
	int npend;
	uint8_t pend_err; /* an error since the pending ops were seen: they did not happen */
	uint8_t skipping; /* after an error the server ignores requests up to Sync */
	uint8_t dirty;    /* state sluice cannot restore: close instead of reuse */
};

/* --- sessstate.c --- */

/* Client message before it has a server (transaction/statement mode): answers DISCARD ALL,
 * DEALLOCATE and protocol Close of its statements itself, refuses pins under
 * pin_policy = error. Returns a pkt_action, or -1 to continue (link a server). */
int txn_client_unlinked(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total,
                        uint32_t avail);
/* Client message with a server linked: tracks SET/RESET/pins/DROP DATABASE in Query and
 * Parse text, renames prepared statements (prepared.c). Returns a pkt_action, or -1 to
 * continue with the normal forwarding path. */
int txn_client_linked(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total,
                      uint32_t avail);
/* Server message while linked: consumes the request queue, commits session changes at
 * ReadyForQuery. Returns the action for the message (PKT_FORWARD normally). */
int txn_server_msg(struct server *srv, uint8_t type, const uint8_t *p, uint32_t total);
/* After a forwarded server message: emit answers sluice owes that are now in order. */
void txn_server_post(struct server *srv);
/* Append to sql the SETs/RESETs that make srv's session variables equal cl's (written with the
 * tracked-parameter SETs at link); returns bytes appended. */
size_t txn_link_sql(struct server *srv, struct client *cl, char *sql, size_t room);
/* 1 while cl holds session objects that keep it on its server. */
int txn_client_pinned(const struct client *cl);
/* A pinned client's transaction ended on srv: 1 if it stays pinned (or a check of its advisory
 * locks was started: txn_pincheck_done decides then), 0 if it can let the server go. */
int txn_pin_recheck(struct server *srv);
/* The DataRow / the end of that check. */
void txn_pincheck_row(struct server *srv, const uint8_t *body, uint32_t len);
void txn_pincheck_done(struct server *srv);
/* 1 if srv must be closed rather than reused (state sluice could not track). */
int txn_server_dirty(const struct server *srv);
/* An idle server is about to be handed out: 1 if it is usable, 0 if it turned out to be gone
 * (terminated by the server; it has been closed and counted). */
int txn_server_alive(struct server *srv);
/* An unlinked, logged-in server was lost (terminated while idle): count and log quietly. */
void txn_note_idle_drop(struct server *srv, const char *why);
/* The client is leaving: a server it is pinned to holds its session objects and must not be
 * reused. */
void txn_client_closing(struct client *cl);
/* server_reset_query is about to run on srv: forget what it will undo (DISCARD ALL and
 * DEALLOCATE ALL drop sluice's statements, RESET ALL and DISCARD ALL the session variables). */
void txn_server_reset(struct server *srv, const char *sql);
/* Free the client's / server's transaction-pooling state. */
void txn_client_free(struct client *cl);
void txn_server_free(struct server *srv);

/* Shared by sessstate.c and prepared.c. */
struct txn_client *txn_client_get(struct client *cl);
struct txn_server *txn_server_get(struct server *srv);
void sess_vars_clear(struct sess_vars *sv);

/* --- pins.c --- */

/* Name of a pin class for messages ("session advisory lock", ...). */
const char *txn_pin_name(int cls);
/* The first pin class the statements would take, or -1. */
struct stmt_info;
int txn_pin_wanted(const struct stmt_info *si);
/* Pins taken and released by statements being sent to cl's server. */
void txn_pins_apply(struct client *cl, const struct stmt_info *si);
/* The DO block that makes the server raise the pin_policy = error refusal; -1 if too long. */
int txn_refusal_sql(int cls, char *out, size_t len);
/* Log a refusal. */
void txn_refuse_log(struct client *cl, int cls);

/* --- prepared.c --- */

/* Append a request to srv's queue; -1 when the queue cannot grow (the client is closed). */
int txn_req_push(struct server *srv, uint8_t kind, enum txn_req_act act, enum txn_synth synth,
                 uint32_t id);
/* Answer now when nothing is outstanding, otherwise queue the made-up answer in order. */
void txn_synth_answer(struct server *srv, uint8_t kind, enum txn_synth synth);
/* Send a made-up answer to client cl (status: ReadyForQuery's transaction status). */
void txn_send_synth(struct client *cl, enum txn_synth synth, char status);
/* Protocol-level Parse/Bind/Describe/Close of a named statement with a server linked.
 * Returns a pkt_action or -1 to continue. */
int ps_client_msg(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total,
                  uint32_t avail);
/* A named Parse whose whole body (after the name) is at hand: record the client's name and
 * prepare it on the linked server unless it is cached there. Returns a pkt_action. */
int ps_parse_named(struct client *cl, const char *name, const uint8_t *body, uint32_t blen);
/* Protocol Close of a client's statement without a server: answered at once. Returns a
 * pkt_action or -1 to continue. */
int ps_client_close_unlinked(struct client *cl, const uint8_t *p, uint32_t total, uint32_t avail);
/* Server answer bookkeeping (see txn_server_msg). */
int ps_server_msg(struct server *srv, uint8_t type);
/* Forget the client's prepared statements (DISCARD ALL, DEALLOCATE ALL). */
void ps_client_clear(struct client *cl);

#endif
