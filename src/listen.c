/* See listen.h. Channels live per listener (per pool); a subscription links one client to one
 * channel and sits in two lists (the channel's and the client's), so a notification walks only
 * the clients of its channel and a leaving client only its own subscriptions. */
#include "listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "server.h"
#include "stmtclass.h"
#include "txnpool.h"
#include "worker.h"

struct lchan {
	struct list node; /* in the listener's chans */
	struct list subs; /* struct lsub.chan_node */
	int n_subs;
	uint8_t sent, confirmed; /* LISTEN sent on the current listener connection / it has run */
	uint64_t delivered;
	char name[STMT_NAME_MAX];
};

struct lsub {
	struct list chan_node;   /* in the channel's subs */
	struct list client_node; /* in the client's subs */
	struct client *cl;
	struct lchan *ch;
	uint8_t pending; /* LISTEN in a transaction block that has not committed yet */
};

static void retry_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void flush_cb(struct ev_loop *loop, ev_timer *t, int revents);

/* "LISTEN \"name\"" with the identifier quoted (double quotes doubled). */
static int channel_sql(const char *verb, const char *name, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%s \"", verb);
	for (const char *p = name; *p && n + 4 < len; p++) {
		if (*p == '"')
			out[n++] = '"';
		out[n++] = *p;
	}
	if (n + 2 >= len)
		return -1;
	out[n++] = '"';
	out[n] = 0;
	return 0;
}

static void send_cmd(struct notify_listener *l, const char *verb, const char *name)
{
	char sql[STMT_NAME_MAX * 2 + 32];
	if (!l->srv || !l->ready || channel_sql(verb, name, sql, sizeof(sql)) < 0)
		return;
	server_internal_query(l->srv, INTERNAL_LISTEN, sql);
}

static void start_connect(struct notify_listener *l)
{
	struct server *srv = server_connect(l->pool);
	if (!srv) {
		ev_timer_set(&l->retry, l->pool->w->cfg->server_login_retry + 0.1, 0);
		ev_timer_start(l->pool->w->loop, &l->retry);
		return;
	}
	srv->listener = l;
	l->srv = srv;
	l->ready = 0;
}

static struct notify_listener *get_listener(struct pool *pool)
{
	if (pool->listener)
		return pool->listener;
	struct notify_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->pool = pool;
	list_init(&l->chans);
	ev_timer_init(&l->retry, retry_cb, 1, 0);
	l->retry.data = l;
	ev_timer_init(&l->flush, flush_cb, 0.02, 0.02);
	l->flush.data = l;
	pool->listener = l;
	start_connect(l);
	return l;
}

/* No channel left: the listener connection goes. */
static void drop_listener(struct notify_listener *l)
{
	struct worker *w = l->pool->w;
	if (ev_is_active(&l->retry))
		ev_timer_stop(w->loop, &l->retry);
	if (ev_is_active(&l->flush))
		ev_timer_stop(w->loop, &l->flush);
	l->pool->listener = NULL;
	if (l->srv) {
		struct server *srv = l->srv;
		static const uint8_t terminate[5] = {'X', 0, 0, 0, 4};
		srv->listener = NULL;
		l->srv = NULL;
		conn_send(&srv->c, terminate, sizeof(terminate));
		server_close(srv, "no channel left to listen on");
	}
	free(l);
}

static struct lchan *find_chan(struct notify_listener *l, const char *name)
{
	struct list *it, *n;
	list_for_each_safe(it, n, &l->chans)
	{
		struct lchan *ch = list_entry(it, struct lchan, node);
		if (!strcmp(ch->name, name))
			return ch;
	}
	return NULL;
}

static struct txn_client *subs_of(struct client *cl)
{
	struct txn_client *tc = txn_client_get(cl);
	if (tc && !tc->subs.next)
		list_init(&tc->subs);
	return tc;
}

int listen_add(struct client *cl, const char *channel, int pending)
{
	struct txn_client *tc = subs_of(cl);
	struct notify_listener *l = tc ? get_listener(cl->pool) : NULL;
	struct list *it, *n;
	if (!l)
		return -1;
	list_for_each_safe(it, n, &tc->subs)
	{
		struct lchan *c = list_entry(it, struct lsub, client_node)->ch;
		if (!strcmp(c->name, channel)) {
			/* LISTEN twice is a no-op, as in PostgreSQL (or: woken after waiting). */
			if (c->confirmed) {
				tc->listen_wait = 0;
				return 0;
			}
			tc->listen_wait = 1;
			return 1;
		}
	}
	struct lchan *ch = find_chan(l, channel);
	if (!ch) {
		ch = calloc(1, sizeof(*ch));
		if (!ch)
			return -1;
		snprintf(ch->name, sizeof(ch->name), "%s", channel);
		list_init(&ch->subs);
		list_append(&l->chans, &ch->node);
		l->n_chans++;
		if (l->srv && l->ready) {
			send_cmd(l, "LISTEN", ch->name);
			ch->sent = 1;
		}
	}
	struct lsub *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->cl = cl;
	s->ch = ch;
	s->pending = (uint8_t)pending;
	list_append(&ch->subs, &s->chan_node);
	list_append(&tc->subs, &s->client_node);
	ch->n_subs++;
	tc->n_subs++;
	if (ch->confirmed)
		return 0;
	/* As in PostgreSQL, LISTEN answers once notifications committed after it will arrive. */
	tc->listen_wait = 1;
	return 1;
}

static void unsub(struct txn_client *tc, struct lsub *s)
{
	struct lchan *ch = s->ch;
	struct notify_listener *l = s->cl->pool->listener;
	list_del(&s->chan_node);
	list_del(&s->client_node);
	tc->n_subs--;
	free(s);
	if (--ch->n_subs)
		return;
	/* Nobody listens on this channel any more: neither does the listener. */
	send_cmd(l, "UNLISTEN", ch->name);
	list_del(&ch->node);
	free(ch);
	if (!--l->n_chans)
		drop_listener(l);
}

void listen_remove(struct client *cl, const char *channel)
{
	struct txn_client *tc = cl->txn;
	struct list *it, *n;
	if (!tc || !tc->n_subs)
		return;
	list_for_each_safe(it, n, &tc->subs)
	{
		struct lsub *s = list_entry(it, struct lsub, client_node);
		if (!channel || !strcmp(s->ch->name, channel))
			unsub(tc, s);
	}
	if (!tc->n_subs) {
		wb_free(&tc->notify_q);
		tc->n_notify_q = 0;
	}
}

static struct lsub *find_sub(struct client *cl, const char *channel)
{
	struct list *it, *n;
	if (!cl->txn || !cl->txn->n_subs)
		return NULL;
	list_for_each_safe(it, n, &cl->txn->subs)
	{
		struct lsub *s = list_entry(it, struct lsub, client_node);
		if (!strcmp(s->ch->name, channel))
			return s;
	}
	return NULL;
}

void listen_activate(struct client *cl, const char *channel)
{
	struct lsub *s = find_sub(cl, channel);
	if (s)
		s->pending = 0;
}

void listen_drop_pending(struct client *cl, const char *channel)
{
	struct lsub *s = find_sub(cl, channel);
	if (s && s->pending)
		unsub(cl->txn, s);
}

int listen_client_active(const struct client *cl)
{
	return cl->txn && cl->txn->n_subs > 0;
}

void listen_server_ready(struct server *srv)
{
	struct notify_listener *l = srv->listener;
	struct worker *w = srv->c.w;
	struct list *it, *n;
	char sql[8192];
	size_t len = 0;
	pool_server_move(srv, SL_ACTIVE); /* never handed to a client */
	l->ready = 1;
	list_for_each_safe(it, n, &l->chans)
	{
		struct lchan *ch = list_entry(it, struct lchan, node);
		char one[STMT_NAME_MAX * 2 + 32];
		if (channel_sql("LISTEN", ch->name, one, sizeof(one)) < 0)
			continue;
		if (len + strlen(one) + 2 >= sizeof(sql)) {
			server_internal_query(srv, INTERNAL_LISTEN, sql);
			len = 0;
		}
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s;", one);
		ch->sent = 1;
	}
	if (len)
		server_internal_query(srv, INTERNAL_LISTEN, sql);
	if (l->deaf_since > 0) {
		w->stats.listener_reconnects++;
		slog(srv, LOG_LVL_LOG,
		     "listener reconnected after %.1f s deaf; %d channel(s) listened again",
		     worker_now(w) - l->deaf_since, l->n_chans);
		l->deaf_since = 0;
	}
}

void listen_confirmed(struct server *srv)
{
	struct notify_listener *l = srv->listener;
	struct list *it, *n, *jt, *m;
	if (!l)
		return;
	list_for_each_safe(it, n, &l->chans)
	{
		struct lchan *ch = list_entry(it, struct lchan, node);
		if (!ch->sent || ch->confirmed)
			continue;
		ch->confirmed = 1;
		list_for_each_safe(jt, m, &ch->subs)
		{
			struct client *cl = list_entry(jt, struct lsub, chan_node)->cl;
			if (cl->txn->listen_wait)
				worker_schedule(cl->c.w, cl);
		}
	}
}

void listen_server_lost(struct server *srv)
{
	struct notify_listener *l = srv->listener;
	struct worker *w = srv->c.w;
	struct list *it, *n;
	/* Right away after a loss, then at server_login_retry pace while reconnecting fails. */
	double delay = l->deaf_since > 0 ? w->cfg->server_login_retry : 0.05;
	srv->listener = NULL;
	l->srv = NULL;
	l->ready = 0;
	list_for_each_safe(it, n, &l->chans)
	{
		struct lchan *ch = list_entry(it, struct lchan, node);
		ch->sent = ch->confirmed = 0;
	}
	if (l->deaf_since <= 0) {
		l->deaf_since = worker_now(w);
		slog(srv, LOG_LVL_WARNING, "listener connection lost; reconnecting (%d channel(s))",
		     l->n_chans);
	}
	ev_timer_set(&l->retry, delay > 0.05 ? delay : 0.05, 0);
	ev_timer_start(w->loop, &l->retry);
}

static void retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct notify_listener *l = t->data;
	(void)loop;
	(void)revents;
	if (!l->srv)
		start_connect(l);
}

/* Whether the client's stream is between messages: no server is sending it a message. */
static int at_boundary(const struct client *cl)
{
	return !cl->server || !cl->server->c.pkt_remain;
}

/* Send or queue one notification for cl; returns 1 if cl's queue is full (the caller closes it
 * once it no longer walks the channel, since closing unregisters it). */
static int deliver(struct client *cl, const uint8_t *p, uint32_t total)
{
	struct txn_client *tc = cl->txn;
	const struct sluice_config *cfg = cl->c.w->cfg;
	if (!tc->n_notify_q && at_boundary(cl) && !wb_pending(&cl->c.out)) {
		cl->c.w->stats.notifications_delivered++;
		conn_send(&cl->c, p, total);
		return 0;
	}
	if (tc->n_notify_q >= cfg->max_notify_queue)
		return 1;
	wb_put(&tc->notify_q, p, total);
	tc->n_notify_q++;
	/* Besides the client's own events (ReadyForQuery, socket drained), a short timer keeps
	 * trying while anything is queued, so nothing waits for the next notification. */
	struct notify_listener *l = cl->pool->listener;
	if (l && !ev_is_active(&l->flush))
		ev_timer_again(cl->c.w->loop, &l->flush);
	return 0;
}

static void flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct notify_listener *l = t->data;
	struct pool *pool = l->pool;
	struct list *it, *n, *jt, *m;
	int left;
	(void)revents;
restart:
	left = 0;
	list_for_each_safe(it, n, &l->chans)
	{
		struct lchan *ch = list_entry(it, struct lchan, node);
		list_for_each_safe(jt, m, &ch->subs)
		{
			struct client *cl = list_entry(jt, struct lsub, chan_node)->cl;
			if (!cl->txn->n_notify_q)
				continue;
			listen_flush(cl);
			if (cl->c.closed) {
				/* A failed send closed it, which may have freed channels or even
				 * the listener (and this timer): look again from the top. */
				if (pool->listener != l)
					return;
				goto restart;
			}
			if (cl->txn->n_notify_q)
				left = 1;
		}
	}
	if (!left)
		ev_timer_stop(loop, t);
}

void listen_flush(struct client *cl)
{
	struct txn_client *tc = cl->txn;
	if (!tc || !tc->n_notify_q || !at_boundary(cl) || wb_pending(&cl->c.out))
		return;
	cl->c.w->stats.notifications_delivered += (uint64_t)tc->n_notify_q;
	tc->n_notify_q = 0;
	/* Moved out first: a failing send closes the client, which frees its queue. */
	struct wbuf q = tc->notify_q;
	memset(&tc->notify_q, 0, sizeof(tc->notify_q));
	conn_send(&cl->c, q.data + q.off, wb_pending(&q));
	wb_free(&q);
}

void listen_notify(struct server *srv, const uint8_t *p, uint32_t total)
{
	struct notify_listener *l = srv->listener;
	struct pool *pool = l->pool;
	struct pkt_reader r;
	struct list *it, *n;
	char name[STMT_NAME_MAX];
	int overflow = 0;
	rd_init(&r, p + PKT_HDR_LEN, total - PKT_HDR_LEN);
	rd_u32(&r);
	const char *channel = rd_cstr(&r);
	struct lchan *ch = channel ? find_chan(l, channel) : NULL;
	if (!ch)
		return;
	snprintf(name, sizeof(name), "%s", ch->name);
	ch->delivered++;
	/* Every listening client gets it, in the order the listener received them. A send that
	 * fails closes only that client (its subscription goes; the walk's next one stays). */
	list_for_each_safe(it, n, &ch->subs)
	{
		struct lsub *s = list_entry(it, struct lsub, chan_node);
		struct client *cl = s->cl;
		if (s->pending)
			continue;
		listen_flush(cl);
		if (!cl->c.closed && deliver(cl, p, total)) {
			cl->txn->notify_overflow = 1;
			overflow = 1;
		}
	}
	/* Clients that do not read: closed one at a time, looking the channel up again since
	 * each close may free it (and the listener with it). */
	while (overflow) {
		struct client *victim = NULL;
		if (!pool->listener || !(ch = find_chan(pool->listener, name)))
			break;
		list_for_each_safe(it, n, &ch->subs)
		{
			struct client *cl = list_entry(it, struct lsub, chan_node)->cl;
			if (cl->txn->notify_overflow && !victim)
				victim = cl;
		}
		if (!victim)
			break;
		victim->txn->notify_overflow = 0;
		client_fatal(victim, "53400",
		             "client does not read its notifications (more than max_notify_queue "
		             "queued)");
	}
}
