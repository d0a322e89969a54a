/* Per-host connection ceiling and connect rate (see include/hostcap.h).
 *
 * Each worker keeps a small list of the host:port pairs its pools connect to, with the number of
 * server connections there and a token bucket for server_connect_rate. pool_launch() asks
 * hostcap_admit() before opening a connection. At the ceiling, an idle connection of another pool
 * to the same host is closed to make room (as max_db_connections does); when none is idle the
 * pool waits, and pool_server_ready() hands a released connection to a waiting pool of the same
 * host (hostcap_starving), so pools share a full host in turn instead of the busiest keeping it.
 * Without a token, one timer per worker fires when the next token exists and relaunches every
 * pool that has waiters: nothing polls, nothing fails. */
#include "hostcap.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "ratelimit.h"
#include "server.h"
#include "worker.h"

struct hostcap {
	struct hostcap *next;
	char host[CFG_HOST_MAX];
	int port;
	int n; /* server connections open or opening */
	struct token_bucket tb;
	int tb_ready;
	uint64_t delayed, capped;
	double last_cap_log;
};

struct hostcap_state {
	struct hostcap *list;
	ev_timer kick;
};

static void kick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	struct list *it, *n;
	(void)loop;
	(void)revents;
	list_for_each_safe(it, n, &w->pools) pool_kick(list_entry(it, struct pool, node));
}

static struct hostcap_state *state(struct worker *w)
{
	if (!w->hostcap) {
		w->hostcap = calloc(1, sizeof(*w->hostcap));
		if (w->hostcap) {
			ev_init(&w->hostcap->kick, kick_cb);
			w->hostcap->kick.data = w;
		}
	}
	return w->hostcap;
}

/* Relaunch waiting pools in `after` seconds (sooner if already due sooner). */
static void kick(struct worker *w, double after)
{
	struct hostcap_state *st = state(w);
	if (!st)
		return;
	if (ev_is_active(&st->kick)) {
		if (ev_timer_remaining(w->loop, &st->kick) <= after)
			return;
		ev_timer_stop(w->loop, &st->kick);
	}
	ev_timer_set(&st->kick, after, 0);
	ev_timer_start(w->loop, &st->kick);
}

static struct hostcap *get(struct worker *w, const char *host, int port)
{
	struct hostcap_state *st = state(w);
	if (!st)
		return NULL;
	for (struct hostcap *h = st->list; h; h = h->next)
		if (h->port == port && !strcmp(h->host, host))
			return h;
	struct hostcap *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	snprintf(h->host, sizeof(h->host), "%s", host);
	h->port = port;
	h->next = st->list;
	st->list = h;
	return h;
}

/* Close an idle server connection to hc of a pool other than pool; 1 if one was closed. */
static int evict_idle_on(struct pool *pool, struct hostcap *hc)
{
	struct list *it, *s;
	list_for_each(it, &pool->w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (p == pool)
			continue;
		list_for_each(s, &p->servers[SL_IDLE])
		{
			struct server *srv = list_entry(s, struct server, node);
			if (srv->hostcap == hc) {
				server_close(srv, "evicted for max_host_connections");
				return 1;
			}
		}
	}
	return 0;
}

int hostcap_admit(struct pool *pool, const char *host, int port, struct hostcap **out)
{
	struct worker *w = pool->w;
	const struct sluice_config *cfg = w->cfg;
	double now = worker_now(w);
	struct hostcap *hc = get(w, host, port);
	*out = hc;
	if (!hc)
		return 1; /* out of memory: no limit rather than no connection */
	int cap = cfg->max_host_connections;
	if (cap > 0 && hc->n >= cap && !(evict_idle_on(pool, hc) && hc->n < cap)) {
		hc->capped++;
		if (now - hc->last_cap_log >=
		    10) { /* a full host is a state, not an event per try */
			hc->last_cap_log = now;
			log_warn(
			    "%s:%d: max_host_connections (%d) reached; %s/%s waits for a server "
			    "connection to be released",
			    host[0] ? host : "unix", port, cap, pool->db->entry.name,
			    pool->user->name);
		}
		return 0;
	}
	double rate = cfg->server_connect_rate;
	if (rate > 0) {
		/* A quarter second of burst: a few connections at once, then the steady rate. */
		double burst = rate / 4 < 1 ? 1 : rate / 4;
		if (!hc->tb_ready) {
			tb_init(&hc->tb, rate, burst, now);
			hc->tb_ready = 1;
		} else {
			tb_set(&hc->tb, rate, burst, now); /* a reload may have changed it */
		}
		if (!tb_take(&hc->tb, now, 1)) {
			hc->delayed++;
			kick(w, tb_wait(&hc->tb, now, 1));
			return 0;
		}
	}
	return 1;
}

void hostcap_opened(struct hostcap *hc)
{
	if (hc)
		hc->n++;
}

void hostcap_closed(struct worker *w, struct hostcap *hc)
{
	if (!hc)
		return;
	hc->n--;
	int cap = w->cfg->max_host_connections;
	if (cap > 0 && hc->n == cap - 1)
		kick(w, 0); /* room again: the pools that waited for it try now */
}

struct pool *hostcap_starving(struct server *srv)
{
	struct worker *w = srv->c.w;
	struct hostcap *hc = srv->hostcap;
	int cap = w->cfg->max_host_connections;
	if (!hc || cap <= 0 || hc->n < cap)
		return NULL;
	struct list *it;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (p == srv->pool || p->db->removed)
			continue;
		int in_flight = p->n_servers[SL_LOGIN] + p->n_servers[SL_TESTING];
		if (p->n_waiting <= in_flight && (list_empty(&p->welcome_waiters) || in_flight))
			continue;
		if (pool_server_total(p) >= p->pool_size)
			continue;
		const struct db_entry *e = &p->db->entry;
		for (int i = 0; i < e->n_hosts; i++) {
			if (e->hosts[i].port == hc->port && !strcmp(e->hosts[i].host, hc->host))
				return p;
		}
	}
	return NULL;
}

int hostcap_row(struct worker *w, int i, struct hostcap_row *row)
{
	struct hostcap *h = w->hostcap ? w->hostcap->list : NULL;
	for (; h && i > 0; i--)
		h = h->next;
	if (!h)
		return -1;
	row->host = h->host[0] ? h->host : "unix";
	row->port = h->port;
	row->servers = h->n;
	row->delayed = h->delayed;
	row->capped = h->capped;
	return 0;
}

double hostcap_lifetime_factor(double jitter)
{
	uint32_t r = 0;
	if (jitter <= 0)
		return 1;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0x80000000u;
	double u = (double)r / 4294967296.0;
	return 1 - (jitter > 1 ? 1 : jitter) * u;
}

void hostcap_free(struct worker *w)
{
	struct hostcap_state *st = w->hostcap;
	if (!st)
		return;
	if (ev_is_active(&st->kick))
		ev_timer_stop(w->loop, &st->kick);
	while (st->list) {
		struct hostcap *h = st->list;
		st->list = h->next;
		free(h);
	}
	free(st);
	w->hostcap = NULL;
}
