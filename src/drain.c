/* Draining the worker (SIGTERM, SHUTDOWN WAIT_FOR_CLIENTS): stop accepting, let what runs finish,
 * serve what is queued and every client's first transaction, close each client at its next
 * transaction boundary with 57P01, and at shutdown_timeout cancel what still runs. */
#include "drain.h"

#include "client.h"
#include "log.h"
#include "server.h"
#include "sqlword.h"
#include "worker.h"

/* How long the last phase waits for cancel requests to reach the server before exiting. */
#define CANCEL_GRACE 2.0
/* A served client idle this long is closed without waiting for it to speak. Not at once: a
 * client that has just checked its connection (Odoo's pool runs a query before lending one out)
 * sends its real work within this time, and closing it in between would fail that work. */
#define DRAIN_IDLE_GRACE 0.1

static const char *const DRAIN_MSG = "sluice is shutting down (draining); reconnect";

void drain_start(struct worker *w)
{
	int clients = 0, busy = 0;
	struct list *it, *jt;
	if (w->shutdown == SHUTDOWN_DRAIN || w->shutdown == SHUTDOWN_FAST)
		return;
	w->shutdown = SHUTDOWN_DRAIN;
	w->drain_started = worker_now(w);
	w->drain_deadline_hit = 0;
	list_for_each(it, &w->pools)
	{
		struct pool *pool = list_entry(it, struct pool, node);
		clients += pool->n_clients;
		list_for_each(jt, &pool->clients)
		{
			struct client *cl = container_of(jt, struct client, pool_node);
			busy += cl->server && !server_is_clean(cl->server);
		}
	}
	log_info("drain started: no new connections; %d clients (%d in a transaction) are closed "
	         "at their next transaction boundary, at most %g s (shutdown_timeout)",
	         clients, busy, w->cfg->shutdown_timeout);
}

/* A client that may be closed now: between transactions, nothing queued, and it has been served
 * at least once (a client that logged in and has not run a transaction yet gets its first). In
 * session mode the session end is the boundary: only a client without a server qualifies. */
static int at_boundary(const struct client *cl)
{
	if (cl->state != CL_ACTIVE || cl->discard || !cl->served)
		return 0;
	return cl->server == NULL;
}

/* Statements a client uses to check or reset a pooled connection before lending it out:
 * psycopg2's reset() (ABORT, RESET ALL / DISCARD ALL, SET SESSION AUTHORIZATION DEFAULT), pool
 * validation queries (SELECT 1, an empty query), ROLLBACK. Leading blanks and comments skipped. */
static int check_like(const char *q, size_t len)
{
	static const char *const words[] = {
	    "ABORT", "ROLLBACK", "DISCARD", "RESET", "SET SESSION AUTHORIZATION", "SELECT 1", NULL};
	size_t i = sql_skip_blank(q, len);
	if (i >= len || q[i] == '\0' || q[i] == ';')
		return 1; /* empty query, or nothing but comments */
	return sql_starts_with(q, len, words);
}

int drain_refuse_start(struct client *cl, uint8_t type, const uint8_t *body, uint32_t len)
{
	if (cl->c.w->shutdown != SHUTDOWN_DRAIN || !cl->served || type != 'Q')
		return 0;
	if (!check_like((const char *)body, len))
		return 0; /* real work: serve it, the client may have checked just before */
	client_fatal(cl, "57P01", DRAIN_MSG);
	return 1;
}

int drain_step(struct worker *w)
{
	struct list *it, *n, *jt, *m;
	double now = worker_now(w);
	int left = 0;
	int timed_out =
	    w->cfg->shutdown_timeout > 0 && now - w->drain_started >= w->cfg->shutdown_timeout;

	if (w->drain_deadline_hit) {
		/* Last phase: cancels were sent; exit once they are out (or after a grace). */
		return w->n_cancels > 0 && now - w->drain_deadline_hit < CANCEL_GRACE;
	}
	if (timed_out) {
		int cancelled = 0, closed = 0;
		list_for_each(it, &w->pools)
		{
			struct pool *pool = list_entry(it, struct pool, node);
			list_for_each(jt, &pool->clients)
			{
				struct client *cl = container_of(jt, struct client, pool_node);
				if (cl->server && cl->server->expected_rfq) {
					cancel_forward(cl);
					cancelled++;
				}
			}
		}
		list_for_each_safe(it, n, &w->login_clients)
		{
			client_fatal(list_entry(it, struct client, node), "57P01", DRAIN_MSG);
			closed++;
		}
		list_for_each_safe(it, n, &w->pools)
		{
			struct pool *pool = list_entry(it, struct pool, node);
			list_for_each_safe(jt, m, &pool->clients)
			{
				client_fatal(container_of(jt, struct client, pool_node), "57P01",
				             "terminating connection: sluice drain reached "
				             "shutdown_timeout");
				closed++;
			}
			list_for_each_safe(jt, m, &pool->welcome_waiters)
			{
				client_fatal(list_entry(jt, struct client, node), "57P01",
				             DRAIN_MSG);
				closed++;
			}
			for (int l = 0; l < SL_COUNT; l++)
				list_for_each_safe(jt, m, &pool->servers[l])
				{
					server_close(list_entry(jt, struct server, node),
					             "shutdown_timeout");
				}
		}
		log_warn("drain: shutdown_timeout (%g s) reached: %d running queries cancelled, %d "
		         "clients closed",
		         w->cfg->shutdown_timeout, cancelled, closed);
		w->drain_deadline_hit = now;
		return w->n_cancels > 0;
	}
	list_for_each_safe(it, n, &w->login_clients)
	{
		left++; /* accepted before the drain: they finish logging in and get served */
	}
	list_for_each_safe(it, n, &w->pools)
	{
		struct pool *pool = list_entry(it, struct pool, node);
		list_for_each_safe(jt, m, &pool->clients)
		{
			struct client *cl = container_of(jt, struct client, pool_node);
			if (at_boundary(cl) && now - cl->last_activity >= DRAIN_IDLE_GRACE)
				client_fatal(cl, "57P01", DRAIN_MSG);
			else
				left++;
		}
		left += !list_empty(&pool->welcome_waiters);
		/* A pool nobody will use again gives its idle servers back now. */
		if (!pool->n_clients && list_empty(&pool->welcome_waiters))
			list_for_each_safe(jt, m, &pool->servers[SL_IDLE])
			{
				server_close(list_entry(jt, struct server, node), "draining");
			}
	}
	return left;
}
