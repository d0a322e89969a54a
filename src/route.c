/* Reads to replicas (see include/route.h).
 *
 * A transaction's route is decided once, when it asks for a server: its class's route = when
 * governance is on, else (read_only_routing, transaction pooling) prefer-replica for one that
 * opens with BEGIN ... READ ONLY. Whether a server fits is judged against the hosts' state now,
 * so a prefer-replica transaction waiting for a standby connection takes a primary one as soon
 * as the standbys stop qualifying, and a replica one waits until one qualifies again. */
#include "route.h"

#include <string.h>

#include "client.h"
#include "governor.h"
#include "hostsel.h"
#include "pool.h"
#include "server.h"
#include "sqlword.h"
#include "worker.h"

/* The statement text of a Query or Parse message body. */
static int statement_text(uint8_t type, const uint8_t *body, uint32_t len, const char **q,
                          size_t *qlen)
{
	if (type == 'Q') {
		*q = (const char *)body;
		*qlen = strnlen(*q, len);
		return 1;
	}
	if (type == 'P') {
		const char *name = (const char *)body;
		size_t n = strnlen(name, len);
		if (n >= len)
			return 0;
		*q = name + n + 1;
		*qlen = strnlen(*q, len - n - 1);
		return 1;
	}
	return 0;
}

void route_decide(struct client *cl, uint8_t type, const uint8_t *body, uint32_t len)
{
	struct worker *w = cl->c.w;
	const struct pool *pool = cl->pool;
	cl->route = ROUTE_PRIMARY;
	if (pool->db->entry.n_hosts <= 1)
		return;
	const struct governor_conf *gc = w->cfg->gov;
	if (gc && cl->gov.dt && cl->gov.cls >= 0 && cl->gov.cls < gc->n_classes &&
	    gc->classes[cl->gov.cls].route != ROUTE_PRIMARY) {
		cl->route = (uint8_t)gc->classes[cl->gov.cls].route;
		return;
	}
	const char *q;
	size_t qlen;
	if (w->cfg->read_only_routing && pool->pool_mode != POOL_SESSION &&
	    statement_text(type, body, len, &q, &qlen) && sql_begins_read_only(q, qlen))
		cl->route = ROUTE_PREFER_REPLICA;
}

/* What cl's transaction needs now: a standby connection, a primary one, or nothing yet. */
static enum route_kind need(const struct client *cl, int standby_ok)
{
	switch (cl->route) {
	case ROUTE_REPLICA:
		return standby_ok ? KIND_STANDBY : KIND_NONE;
	case ROUTE_PREFER_REPLICA:
		return standby_ok ? KIND_STANDBY : KIND_PRIMARY;
	default:
		return KIND_PRIMARY;
	}
}

int route_server_fits(const struct server *srv, const struct client *cl)
{
	if (cl->route == ROUTE_PRIMARY)
		return !srv->standby;
	struct pool *pool = srv->pool;
	int standby_ok = hostsel_has_standby(pool);
	enum route_kind k = need(cl, standby_ok);
	if (k == KIND_STANDBY)
		return srv->standby && hostsel_standby_usable(pool, srv->host_idx);
	return k == KIND_PRIMARY && !srv->standby;
}

enum route_kind route_launch_kind(struct pool *pool)
{
	static const enum srv_list coming[] = {SL_LOGIN, SL_TESTING}; /* will serve a waiter */
	int in_flight[3] = {0, 0, 0};
	struct list *it;
	for (int l = 0; l < 2; l++)
		list_for_each(it, &pool->servers[coming[l]])
		{
			const struct server *srv = list_entry(it, struct server, node);
			in_flight[srv->standby ? KIND_STANDBY : KIND_PRIMARY]++;
		}
	if (list_empty(&pool->waiting))
		return KIND_PRIMARY; /* min_pool_size, a login's first server: the primary */
	int standby_ok = hostsel_has_standby(pool);
	list_for_each(it, &pool->waiting)
	{
		enum route_kind k = need(list_entry(it, struct client, node), standby_ok);
		if (k == KIND_NONE)
			continue;
		if (in_flight[k] > 0)
			in_flight[k]--; /* that login will serve this waiter */
		else
			return k;
	}
	return KIND_NONE;
}
