/* Pools: which server a client gets, when a new one may be opened, and the
 * janitor's periodic timeouts. Waiters are served in arrival order. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "client.h"
#include "hostcap.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "server.h"
#include "txnpool.h"
#include "worker.h"

static int login_failing(struct pool *pool);
static int holding(const struct pool *pool);

static const char *const track_names[N_TRACK_VARS] = {
    "application_name", "client_encoding", "DateStyle",
    "TimeZone",         "IntervalStyle",   "standard_conforming_strings"};

int track_var_index(const char *name)
{
	for (int i = 0; i < N_TRACK_VARS; i++)
		if (!strcasecmp(name, track_names[i]))
			return i;
	return -1;
}

const char *track_var_name(int i)
{
	return track_names[i];
}

void pool_set_welcome(struct pool *pool, const struct welcome *wl)
{
	pool->welcome = *wl;
	pool->have_welcome = 1;
	/* Resolved once: every link compares each client's parameters with these. */
	for (int i = 0; i < N_TRACK_VARS; i++) {
		pool->welcome_var[i] = NULL;
		for (int k = 0; k < pool->welcome.n; k++)
			if (!strcasecmp(pool->welcome.name[k], track_names[i]))
				pool->welcome_var[i] = pool->welcome.value[k];
	}
}

int pool_server_total(const struct pool *pool)
{
	int n = 0;
	for (int i = 0; i < SL_COUNT; i++)
		n += pool->n_servers[i];
	return n;
}

void pool_server_move(struct server *srv, enum srv_list l)
{
	struct pool *pool = srv->pool;
	list_del(&srv->node);
	pool->n_servers[srv->list]--;
	srv->list = l;
	pool->n_servers[l]++;
	list_append(&pool->servers[l], &srv->node);
	srv->state_since = worker_now(pool->w);
}

static void pool_settings(struct pool *pool, const struct sluice_config *cfg)
{
	const struct db_entry *e = &pool->db->entry;
	pool->pool_mode = pool->user->pool_mode != POOL_MODE_UNSET ? pool->user->pool_mode
	                  : e->pool_mode != POOL_MODE_UNSET        ? e->pool_mode
	                                                           : cfg->pool_mode;
	pool->pool_size = e->pool_size >= 0 ? e->pool_size : cfg->default_pool_size;
	pool->min_pool_size = e->min_pool_size >= 0 ? e->min_pool_size : cfg->min_pool_size;
	pool->reserve_pool = e->reserve_pool >= 0 ? e->reserve_pool : cfg->reserve_pool_size;
	pool->max_db_connections =
	    e->max_db_connections >= 0 ? e->max_db_connections : cfg->max_db_connections;
}

/* The [databases] entry for a client-facing name, falling back to "*". */
static int lookup_entry(const struct sluice_config *cfg, const char *name, struct db_entry *out,
                        int *fallback)
{
	const struct db_entry *e = config_find_db(cfg, name);
	*fallback = 0;
	if (!e) {
		e = config_find_db(cfg, "*");
		*fallback = 1;
	}
	if (!e)
		return -1;
	*out = *e;
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (*fallback && !out->dbname[0])
		snprintf(out->dbname, sizeof(out->dbname), "%s", name);
	return 0;
}

static void user_settings(struct pool_user *pu, const struct sluice_config *cfg)
{
	const struct user_entry *ue = config_find_user(cfg, pu->name);
	pu->pool_mode = ue ? ue->pool_mode : POOL_MODE_UNSET;
	pu->max_user_connections = ue && ue->max_user_connections >= 0 ? ue->max_user_connections
	                                                               : cfg->max_user_connections;
}

struct pool *pool_get(struct worker *w, const char *dbname, const char *user, char *errbuf,
                      size_t errlen, const char **sqlstate)
{
	struct list *it, *n;
	struct pool_db *pdb = NULL;
	struct pool_user *pu = NULL;
	list_for_each_safe(it, n, &w->pdbs)
	{
		struct pool_db *d = list_entry(it, struct pool_db, node);
		if (!strcmp(d->entry.name, dbname) && !d->removed)
			pdb = d;
	}
	if (!pdb) {
		struct db_entry e;
		int fb;
		if (lookup_entry(w->cfg, dbname, &e, &fb) < 0) {
			snprintf(errbuf, errlen, "no such database: %s", dbname);
			*sqlstate = "3D000";
			return NULL;
		}
		pdb = calloc(1, sizeof(*pdb));
		if (!pdb)
			goto oom;
		pdb->entry = e;
		pdb->from_fallback = fb;
		list_append(&w->pdbs, &pdb->node);
	}
	list_for_each_safe(it, n, &w->pusers)
	{
		struct pool_user *u = list_entry(it, struct pool_user, node);
		if (!strcmp(u->name, user))
			pu = u;
	}
	if (!pu) {
		pu = calloc(1, sizeof(*pu));
		if (!pu)
			goto oom;
		snprintf(pu->name, sizeof(pu->name), "%s", user);
		user_settings(pu, w->cfg);
		list_append(&w->pusers, &pu->node);
	}
	list_for_each_safe(it, n, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (p->db == pdb && p->user == pu)
			return p;
	}
	struct pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		goto oom;
	pool->w = w;
	pool->db = pdb;
	pool->user = pu;
	snprintf(pool->server_user, sizeof(pool->server_user), "%s",
	         pdb->entry.user[0] ? pdb->entry.user : user);
	for (int i = 0; i < SL_COUNT; i++)
		list_init(&pool->servers[i]);
	list_init(&pool->waiting);
	list_init(&pool->welcome_waiters);
	list_init(&pool->clients);
	pool_settings(pool, w->cfg);
	list_append(&w->pools, &pool->node);
	return pool;
oom:
	snprintf(errbuf, errlen, "out of memory");
	*sqlstate = "53200";
	return NULL;
}

void pool_apply_config(struct worker *w)
{
	struct list *it, *n;
	list_for_each_safe(it, n, &w->pdbs)
	{
		struct pool_db *d = list_entry(it, struct pool_db, node);
		struct db_entry e;
		int fb;
		if (lookup_entry(w->cfg, d->entry.name, &e, &fb) < 0) {
			d->removed = 1; /* existing clients finish; new logins are refused */
			continue;
		}
		d->removed = 0;
		d->from_fallback = fb;
		d->entry = e;
	}
	list_for_each_safe(it, n, &w->pusers)
	{
		user_settings(list_entry(it, struct pool_user, node), w->cfg);
	}
	list_for_each_safe(it, n, &w->pools)
	{
		pool_settings(list_entry(it, struct pool, node), w->cfg);
	}
}

/* Close one idle server of another pool sharing this pool's database or user, to make
 * room under max_db_connections / max_user_connections. */
static int evict_idle(struct pool *pool, int same_db)
{
	struct list *it, *n;
	list_for_each_safe(it, n, &pool->w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (p == pool || (same_db ? p->db != pool->db : p->user != pool->user))
			continue;
		struct list *s = list_first(&p->servers[SL_IDLE]);
		if (s) {
			server_close(list_entry(s, struct server, node),
			             same_db ? "evicted for max_db_connections"
			                     : "evicted for max_user_connections");
			return 1;
		}
	}
	return 0;
}

/* Routed reads: the pool is full, and waiters need a connection of the other kind (standby or
 * primary) than the idle ones: close the longest idle of those to make room. */
static int evict_other_kind(struct pool *pool, enum route_kind k)
{
	struct list *it;
	if (list_empty(&pool->waiting))
		return 0;
	list_for_each(it, &pool->servers[SL_IDLE])
	{
		struct server *srv = list_entry(it, struct server, node);
		if (srv->standby != (k == KIND_STANDBY)) {
			server_close(srv,
			             k == KIND_STANDBY
			                 ? "replaced by a standby connection for routed reads"
			                 : "replaced by a primary connection for waiting writes");
			return 1;
		}
	}
	return 0;
}

int pool_launch(struct pool *pool, int allow_reserve)
{
	struct worker *w = pool->w;
	if (w->shutdown && w->shutdown != SHUTDOWN_DRAIN)
		return 0;
	enum route_kind kind = route_launch_kind(pool);
	if (kind == KIND_NONE)
		return 0; /* every waiter is covered by a login in flight, or waits for a standby */
	int limit = pool->pool_size + (allow_reserve ? pool->reserve_pool : 0);
	if (pool_server_total(pool) >= limit &&
	    !(evict_other_kind(pool, kind) && pool_server_total(pool) < limit))
		return 0;
	if (pool->max_db_connections > 0 && pool->db->server_count >= pool->max_db_connections &&
	    !(evict_idle(pool, 1) && pool->db->server_count < pool->max_db_connections))
		return 0;
	if (pool->user->max_user_connections > 0 &&
	    pool->user->server_count >= pool->user->max_user_connections &&
	    !(evict_idle(pool, 0) && pool->user->server_count < pool->user->max_user_connections))
		return 0;
	if (allow_reserve && pool_server_total(pool) >= pool->pool_size)
		log_info("%s/%s: taking connection from reserve_pool", pool->db->entry.name,
		         pool->user->name);
	return server_connect(pool) != NULL;
}

void pool_kick(struct pool *p)
{
	if (p->db->removed || (!p->n_waiting && list_empty(&p->welcome_waiters)))
		return;
	if (!list_empty(&p->welcome_waiters) && !p->n_servers[SL_LOGIN])
		pool_launch(p, 1);
	while (p->n_servers[SL_LOGIN] + p->n_servers[SL_TESTING] < p->n_waiting &&
	       pool_launch(p, 0))
		;
}

void pool_unwait(struct client *cl)
{
	if (cl->state == CL_WAITING) {
		list_del(&cl->node);
		cl->pool->n_waiting--;
		cl->state = CL_ACTIVE;
	}
}

int pool_request_server(struct client *cl)
{
	struct pool *pool = cl->pool;
	struct worker *w = pool->w;
	if (w->shutdown && w->shutdown != SHUTDOWN_DRAIN) {
		client_fatal(cl, "57P01", "sluice is shutting down");
		return -1;
	}
	/* PAUSE: the transaction queues like any other and no server is handed out or opened
	 * until RESUME. */
	int paused = admin_pool_paused(pool);
	struct list *idle = &pool->servers[SL_IDLE], *last = idle;
	/* Most recently used first, of the kind the transaction's route wants (route.h); servers
	 * the server side ended while they sat idle (pg_terminate_backend) are closed on the way.
	 */
	for (struct list *it = paused ? idle : idle->prev; it != idle;) {
		struct server *s = list_entry(it, struct server, node);
		struct list *prev = it->prev;
		if (!txn_server_alive(s)) {
			it = prev == idle ? idle : idle->prev; /* closing may have moved others */
			continue;
		}
		if (route_server_fits(s, cl)) {
			last = it;
			break;
		}
		it = prev;
	}
	if (last != idle) {
		/* Most recently used first: its caches are warm and the rest can age out. */
		struct server *srv = list_entry(last, struct server, node);
		const struct sluice_config *cfg = w->cfg;
		if (cfg->server_check_query && *cfg->server_check_query &&
		    cfg->server_check_delay >= 0 &&
		    worker_now(w) - srv->last_used > cfg->server_check_delay) {
			pool_server_move(srv, SL_TESTING);
			srv->check_failed = 0;
			server_internal_query(srv, INTERNAL_CHECK, cfg->server_check_query);
		} else {
			server_link(srv, cl);
			return 0;
		}
	} else if (!paused && login_failing(pool) && !holding(pool)) {
		char msg[400], detail[100];
		snprintf(msg, sizeof(msg), "server unreachable: %s", pool->last_error);
		snprintf(detail, sizeof(detail),
		         "sluice retries the server in %.0f s (server_login_retry)",
		         w->cfg->server_login_retry - (worker_now(w) - pool->last_connect_failure));
		client_fail_request(cl, "08006", msg, detail);
		return -1;
	}
	cl->state = CL_WAITING;
	cl->wait_start = worker_now(w);
	list_del(&cl->node);
	list_append(&pool->waiting, &cl->node);
	pool->n_waiting++;
	if (!paused && pool->n_servers[SL_LOGIN] + pool->n_servers[SL_TESTING] < pool->n_waiting &&
	    !login_failing(pool))
		pool_launch(pool, 0);
	return cl->state == CL_WAITING ? 1 : -1;
}

/* Transactions for this pool wait for the server to come back rather than fail. */
static int holding(const struct pool *pool)
{
	return pool->last_failure_transient && pool->w->cfg->failover_hold_timeout > 0;
}

static int login_failing(struct pool *pool)
{
	struct worker *w = pool->w;
	const struct sluice_config *cfg = w->cfg;
	/* While holding, try again every health_check_period (a restart or failover is
	 * usually over in seconds); otherwise PgBouncer's server_login_retry. */
	double retry = holding(pool) && cfg->health_check_period < cfg->server_login_retry
	                   ? cfg->health_check_period
	                   : cfg->server_login_retry;
	return !pool_server_total(pool) && pool->last_connect_failure &&
	       worker_now(w) - pool->last_connect_failure < retry;
}

/* Another pool of the same user (or database) that needs a server connection and cannot open one
 * because this pool's connections fill max_user_connections (max_db_connections): a client
 * waiting for its first login there, or waiters without a login in flight. */
static struct pool *starving_peer(struct pool *pool)
{
	struct worker *w = pool->w;
	int user_full = pool->user->max_user_connections > 0 &&
	                pool->user->server_count >= pool->user->max_user_connections;
	int db_full =
	    pool->max_db_connections > 0 && pool->db->server_count >= pool->max_db_connections;
	struct list *it;
	if (!user_full && !db_full)
		return NULL;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (p == pool ||
		    !((user_full && p->user == pool->user) || (db_full && p->db == pool->db)))
			continue;
		int in_flight = p->n_servers[SL_LOGIN] + p->n_servers[SL_TESTING];
		int needs = !list_empty(&p->welcome_waiters) ? !p->n_servers[SL_LOGIN]
		                                             : p->n_waiting > in_flight;
		if (needs && pool_server_total(p) < p->pool_size && !p->db->removed &&
		    !login_failing(p))
			return p;
	}
	return NULL;
}

void pool_server_ready(struct server *srv)
{
	struct pool *pool = srv->pool;
	struct worker *w = pool->w;
	if (srv->c.closed)
		return;
	if (w->shutdown && w->shutdown != SHUTDOWN_DRAIN) {
		server_close(srv, "shutting down");
		return;
	}
	struct list *first = NULL, *it;
	if (!admin_pool_paused(pool))
		list_for_each(it, &pool->waiting) if (route_server_fits(
		                                          srv, list_entry(it, struct client, node)))
		{
			first = it;
			break;
		}
	if (first) {
		struct client *cl = list_entry(first, struct client, node);
		pool_unwait(cl);
		double waited = worker_now(w) - cl->wait_start;
		pool->stat_wait_us += (uint64_t)(waited * 1e6);
		pool->stat_waits++;
		metrics_observe_wait(w, waited);
		server_link(srv, cl);
		client_linked(cl);
		return;
	}
	/* Nobody here wants it, but a pool sharing the cap is stuck: hand the capacity over now
	 * rather than when that pool happens to retry (the evict_idle it would do anyway). */
	struct pool *peer = starving_peer(pool);
	if (peer) {
		server_close(srv, peer->user == pool->user ? "evicted for max_user_connections"
		                                           : "evicted for max_db_connections");
		pool_launch(peer, !list_empty(&peer->welcome_waiters));
		return;
	}
	if ((peer = hostcap_starving(srv))) {
		server_close(srv, "evicted for max_host_connections");
		pool_launch(peer, !list_empty(&peer->welcome_waiters));
		return;
	}
	pool_server_move(srv, SL_IDLE);
	/* Waiters that this one does not fit (routed reads and writes): a connection of their
	 * kind, replacing an idle one of the other kind when the pool is full. */
	if (pool->n_waiting && !admin_pool_paused(pool))
		pool_kick(pool);
}

void pool_release_server(struct client *cl)
{
	struct server *srv = cl->server;
	struct pool *pool = srv->pool;
	struct worker *w = pool->w;
	const struct sluice_config *cfg = w->cfg;
	gov_release(cl); /* waiters it admits resume after this server has found its place */
	cl->server = NULL;
	srv->client = NULL;
	conn_unlink(&cl->c);
	conn_unlink(&srv->c);
	srv->last_used = worker_now(w);
	if (txn_server_dirty(srv)) {
		server_close(srv, "session state sluice cannot restore");
		if (pool->n_waiting)
			pool_launch(pool, 0);
		return;
	}
	if (worker_now(w) - srv->connect_time >=
	        cfg->server_lifetime * srv->life_factor || /* 0: once */
	    srv->connect_time < pool->db->reconnect_at ||  /* admin RECONNECT */
	    server_addr_stale(srv)) {                      /* the name moved */
		server_close(srv, srv->connect_time < pool->db->reconnect_at ? "RECONNECT command"
		                  : server_addr_stale(srv)
		                      ? "host name now resolves to another address"
		                      : "server lifetime over");
		if (pool->n_waiting)
			pool_launch(pool, 0);
		return;
	}
	if ((pool->pool_mode == POOL_SESSION || cfg->server_reset_query_always) &&
	    cfg->server_reset_query && *cfg->server_reset_query) {
		pool_server_move(srv, SL_TESTING);
		srv->check_failed = 0;
		txn_server_reset(srv, cfg->server_reset_query);
		server_internal_query(srv, INTERNAL_RESET, cfg->server_reset_query);
		return;
	}
	pool_server_ready(srv);
}

void pool_connect_failed(struct pool *pool, const char *why, int transient)
{
	struct worker *w = pool->w;
	struct list *it, *n;
	pool->last_connect_failure = worker_now(w);
	pool->last_failure_transient = transient;
	snprintf(pool->last_error, sizeof(pool->last_error), "%s", why);
	if (pool_server_total(pool))
		return; /* others can still serve the waiters */
	if (holding(pool)) {
		if (!pool->holding_since) {
			pool->holding_since = worker_now(w);
			log_warn("%s/%s: server unreachable (%s): holding %d waiting transactions "
			         "for up to %g s (failover_hold_timeout), retrying every %g s",
			         pool->db->entry.name, pool->user->name, why, pool->n_waiting,
			         w->cfg->failover_hold_timeout, w->cfg->health_check_period);
		}
		return; /* the janitor retries and sheds what waited longer than the hold */
	}
	list_for_each_safe(it, n, &pool->waiting)
	{
		struct client *cl = list_entry(it, struct client, node);
		char msg[400];
		snprintf(msg, sizeof(msg), "server unreachable: %s", why);
		client_fail_request(cl, "08006", msg, NULL);
	}
	list_for_each_safe(it, n, &pool->welcome_waiters)
	{
		struct client *cl = list_entry(it, struct client, node);
		char msg[400];
		snprintf(msg, sizeof(msg), "server unreachable: %s", why);
		client_fatal(cl, "08006", msg);
	}
}

void pool_server_back(struct pool *pool)
{
	struct worker *w = pool->w;
	if (!pool->holding_since)
		return;
	log_info("%s/%s: server reachable again after %.0f ms; releasing %d held transactions",
	         pool->db->entry.name, pool->user->name,
	         (worker_now(w) - pool->holding_since) * 1000, pool->n_waiting);
	pool->holding_since = 0;
	pool->last_failure_transient = 0;
}

static void janitor_pool(struct pool *pool)
{
	struct worker *w = pool->w;
	const struct sluice_config *cfg = w->cfg;
	double now = worker_now(w);
	struct list *it, *n;

	list_for_each_safe(it, n, &pool->waiting)
	{
		struct client *cl = list_entry(it, struct client, node);
		if (pool->holding_since && now - cl->wait_start > cfg->failover_hold_timeout) {
			char msg[400];
			snprintf(msg, sizeof(msg),
			         "server unreachable for %.0f s (failover_hold_timeout = %g s): %s",
			         now - pool->holding_since, cfg->failover_hold_timeout,
			         pool->last_error);
			client_fail_request(
			    cl, "08006", msg,
			    "The transaction was not started; it is safe to retry.");
			continue;
		}
		if (cfg->query_wait_timeout > 0 && now - cl->wait_start > cfg->query_wait_timeout) {
			char msg[200];
			w->stats.wait_timeouts++;
			snprintf(msg, sizeof(msg),
			         "query_wait_timeout: no server connection for %s/%s became free "
			         "within %g s",
			         pool->db->entry.name, pool->user->name, cfg->query_wait_timeout);
			client_fail_request(
			    cl, "57014", msg,
			    "The transaction was not started; it is safe to retry.");
		}
	}
	list_for_each_safe(it, n, &pool->welcome_waiters)
	{
		struct client *cl = list_entry(it, struct client, node);
		if (cfg->client_login_timeout > 0 &&
		    now - cl->connect_time > cfg->client_login_timeout)
			client_fatal(cl, "08006", "client_login_timeout (server down?)");
		else if (pool->holding_since && now - cl->connect_time > cfg->failover_hold_timeout)
			client_fatal(cl, "08006", "server unreachable (failover_hold_timeout)");
	}
	/* A first login held for an unreachable server: try again when the retry interval says. */
	if (!list_empty(&pool->welcome_waiters) && !pool->n_servers[SL_LOGIN] &&
	    !login_failing(pool))
		pool_launch(pool, 1);
	/* Reserve pool: a waiter waited long enough to be allowed an extra connection. */
	struct list *first = list_first(&pool->waiting);
	if (first) {
		struct client *cl = list_entry(first, struct client, node);
		int in_flight = pool->n_servers[SL_LOGIN] + pool->n_servers[SL_TESTING];
		if (in_flight < pool->n_waiting && !login_failing(pool)) {
			if (!pool_launch(pool, 0) && pool->reserve_pool > 0 &&
			    now - cl->wait_start >= cfg->reserve_pool_timeout)
				pool_launch(pool, 1);
		}
	}
	/* Linked servers: query and idle-in-transaction timeouts. */
	list_for_each_safe(it, n, &pool->servers[SL_ACTIVE])
	{
		struct server *srv = list_entry(it, struct server, node);
		if (!srv->client)
			continue;
		if (cfg->query_timeout > 0 && srv->expected_rfq &&
		    now - srv->request_time > cfg->query_timeout)
			client_fatal(srv->client, "57014", "query_timeout");
		else if (cfg->idle_transaction_timeout > 0 && !srv->expected_rfq &&
		         srv->txn_status != 'I' &&
		         now - srv->state_since > cfg->idle_transaction_timeout)
			client_fatal(srv->client, "25P03", "idle_transaction_timeout");
	}
	if (cfg->client_idle_timeout > 0) {
		list_for_each_safe(it, n, &pool->clients)
		{
			struct client *cl = container_of(it, struct client, pool_node);
			/* A client whose only state is LISTEN is waiting for notifications. */
			if (!cl->server && cl->state == CL_ACTIVE && !listen_client_active(cl) &&
			    now - cl->last_activity > cfg->client_idle_timeout)
				client_fatal(cl, "08P01", "client_idle_timeout");
		}
	}
	/* Idle servers: lifetime and idle timeout, keeping min_pool_size. */
	list_for_each_safe(it, n, &pool->servers[SL_IDLE])
	{
		struct server *srv = list_entry(it, struct server, node);
		if (now - srv->connect_time >= cfg->server_lifetime * srv->life_factor)
			server_close(srv, "server lifetime over");
		else if (server_addr_stale(srv))
			server_close(srv, "host name now resolves to another address");
		else if (cfg->server_idle_timeout > 0 &&
		         now - srv->last_used > cfg->server_idle_timeout &&
		         pool_server_total(pool) > pool->min_pool_size)
			server_close(srv, "server idle timeout");
	}
	if (pool->min_pool_size > 0 && !pool->db->removed && !login_failing(pool) &&
	    pool_server_total(pool) < pool->min_pool_size && !pool->n_servers[SL_LOGIN])
		pool_launch(pool, 0);
}

void pool_janitor(struct worker *w)
{
	struct list *it, *n;
	double now = worker_now(w);
	list_for_each_safe(it, n, &w->login_clients)
	{
		struct client *cl = list_entry(it, struct client, node);
		if (w->cfg->client_login_timeout > 0 &&
		    now - cl->connect_time > w->cfg->client_login_timeout)
			client_fatal(cl, "08P01", "client_login_timeout");
	}
	list_for_each_safe(it, n, &w->pools)
	{
		janitor_pool(list_entry(it, struct pool, node));
	}
}

void pool_free_all(struct worker *w)
{
	struct list *it, *n;
	list_for_each_safe(it, n, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		list_del(&p->node);
		free(p);
	}
	list_for_each_safe(it, n, &w->pdbs)
	{
		struct pool_db *d = list_entry(it, struct pool_db, node);
		list_del(&d->node);
		free(d);
	}
	list_for_each_safe(it, n, &w->pusers)
	{
		struct pool_user *u = list_entry(it, struct pool_user, node);
		list_del(&u->node);
		free(u->derived);
		free(u);
	}
}
