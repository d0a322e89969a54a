/* LISTEN/NOTIFY multiplexed in transaction and statement mode.
 *
 * Each pool (database, user) whose clients LISTEN gets one listener server connection of
 * sluice's own. A client's LISTEN registers it for the channel and makes the listener listen on
 * it; NotificationResponses the listener receives are copied to every registered client,
 * between messages (queued, at most max_notify_queue per client, while the client's server is
 * in the middle of sending it a message or its socket is full). A lost listener connection is
 * reconnected and every channel LISTENed again at once. The listener counts toward the pool's
 * size; it is closed when no channel is left. */
#ifndef SLUICE_LISTEN_H
#define SLUICE_LISTEN_H

#include <ev.h>
#include <stdint.h>

#include "list.h"

struct client;
struct server;
struct pool;

struct notify_listener {
	struct pool *pool;
	struct server *srv; /* NULL while reconnecting */
	struct list chans;  /* struct lchan */
	int n_chans;
	int ready;         /* logged in and LISTENed */
	double deaf_since; /* loop time the connection was lost, 0 if never */
	ev_timer retry;
	ev_timer flush; /* runs while some client has notifications queued */
};

/* Register cl for channel (exact name; pending: not delivered until listen_activate); returns 0
 * when the listener already listens on it, 1 when the client must wait (it is woken with
 * worker_schedule once the listener's LISTEN has run, and then calls again), -1 on out of memory.
 */
int listen_add(struct client *cl, const char *channel, int pending);
/* A LISTEN made inside a transaction block (pending: registered, not delivered) committed. */
void listen_activate(struct client *cl, const char *channel);
/* ... or did not: forget it unless it was already active before the block. */
void listen_drop_pending(struct client *cl, const char *channel);
/* Unregister cl from channel, or from every channel when channel is NULL. */
void listen_remove(struct client *cl, const char *channel);
/* 1 if cl listens on at least one channel (it is then an idle client that keeps no server). */
int listen_client_active(const struct client *cl);
/* The listener's LISTEN/UNLISTEN commands sent so far have all run: wake waiting clients. */
void listen_confirmed(struct server *srv);
/* The listener's server logged in: LISTEN every channel. */
void listen_server_ready(struct server *srv);
/* A NotificationResponse (whole message at p) arrived on a listener connection. */
void listen_notify(struct server *srv, const uint8_t *p, uint32_t total);
/* The listener's server connection is being closed: reconnect if channels remain. */
void listen_server_lost(struct server *srv);
/* Deliver notifications queued for cl (its server just finished a message). */
void listen_flush(struct client *cl);

#endif
