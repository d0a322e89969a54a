/* SHOW views: PgBouncer's (same column names and order as PgBouncer 1.18, with the columns
 * later versions appended kept at the end) and sluice's governor views. Everything is read on
 * the worker thread from the live structures; nothing here changes state. */
#include "admin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "gov.h"
#include "gov_override.h"
#include "governor.h"
#include "health.h"
#include "hostsel.h"
#include "pool.h"
#include "server.h"
#include "worker.h"

static void cell_time(struct admin_res *res, double t)
{
	char buf[64];
	time_t s = (time_t)t;
	struct tm tm;
	if (t <= 0) {
		admin_cell(res, NULL);
		return;
	}
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	admin_cell(res, buf);
}

static void cell_ptr(struct admin_res *res, const void *p)
{
	if (p)
		admin_cellf(res, "%p", p);
	else
		admin_cell(res, "");
}

static void show_help(struct admin_res *res)
{
	snprintf(res->notice, sizeof(res->notice),
	         "Console usage\n"
	         "\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION|STATE\n"
	         "\tSHOW SOCKETS|ACTIVE_SOCKETS|LISTS|MEM|DNS_HOSTS|DNS_ZONES|HOSTS\n"
	         "\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS\n"
	         "\tSHOW TENANTS|CLASSES|TENANT <name>|CLASS <name>|RUNTIME\n"
	         "\tSET key = arg\n"
	         "\tSET TENANT <name> <key> = <value>\n"
	         "\tSET CLASS <name> <key> = <value>\n"
	         "\tRESET TENANT <name> [<key>]\n"
	         "\tRESET CLASS <name> [<key>]\n"
	         "\tRELOAD\n"
	         "\tPAUSE [<db>]\n"
	         "\tRESUME [<db>]\n"
	         "\tDISABLE <db>\n"
	         "\tENABLE <db>\n"
	         "\tRECONNECT [<db>]\n"
	         "\tKILL <db>\n"
	         "\tKILL_CLIENT <id>\n"
	         "\tSUSPEND (not supported)\n"
	         "\tSHUTDOWN [WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS]\n"
	         "\tRESOLVE [host]\n"
	         "\tWAIT_CLOSE [<db>]");
	snprintf(res->tag, sizeof(res->tag), "SHOW");
}

static void show_pools(struct worker *w, struct admin_res *res)
{
	struct list *it, *jt;
	double now = worker_now(w);
	admin_res_cols(res, "database:t,user:t,cl_active:i,cl_waiting:i,cl_active_cancel_req:i,"
	                    "cl_waiting_cancel_req:i,sv_active:i,sv_active_cancel:i,"
	                    "sv_being_canceled:i,sv_idle:i,sv_used:i,sv_tested:i,sv_login:i,"
	                    "maxwait:i,maxwait_us:i,pool_mode:t");
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		int waiting = 0;
		double maxwait = 0;
		list_for_each(jt, &p->clients)
		{
			struct client *cl = container_of(jt, struct client, pool_node);
			if (cl->state == CL_WAITING || cl->state == CL_GOV_WAIT) {
				waiting++;
				double wt =
				    cl->state == CL_WAITING ? cl->wait_start : cl->gov.wt.enqueued;
				if (wt > 0 && now - wt > maxwait)
					maxwait = now - wt;
			}
		}
		/* sv_used: idle servers that need server_check_query before reuse. */
		int used = 0;
		list_for_each(jt, &p->servers[SL_IDLE])
		{
			struct server *s = list_entry(jt, struct server, node);
			used += w->cfg->server_check_query && *w->cfg->server_check_query &&
			        now - s->last_used > w->cfg->server_check_delay;
		}
		admin_row(res);
		admin_cell(res, p->db->entry.name);
		admin_cell(res, p->user->name);
		admin_cell_int(res, p->n_clients - waiting);
		admin_cell_int(res, waiting);
		admin_cell_int(res, 0);
		admin_cell_int(res, 0);
		admin_cell_int(res, p->n_servers[SL_ACTIVE]);
		admin_cell_int(res, 0);
		admin_cell_int(res, 0);
		admin_cell_int(res, p->n_servers[SL_IDLE] - used);
		admin_cell_int(res, used);
		admin_cell_int(res, p->n_servers[SL_TESTING]);
		admin_cell_int(res, p->n_servers[SL_LOGIN]);
		admin_cell_int(res, (long long)maxwait);
		admin_cell_int(res, (long long)((maxwait - (long long)maxwait) * 1e6));
		admin_cell(res, pool_mode_name(p->pool_mode));
	}
}

/* Per-database totals: xacts, queries, recv, sent, xact_us, query_us, wait_us. */
static void db_totals(struct worker *w, const char *db, uint64_t t[7], uint64_t *waits)
{
	struct list *it;
	memset(t, 0, 7 * sizeof(uint64_t));
	*waits = 0;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (db && strcmp(p->db->entry.name, db))
			continue;
		t[0] += p->stat_xacts;
		t[1] += p->stat_queries;
		t[2] += p->stat_recv;
		t[3] += p->stat_sent;
		t[4] += p->stat_xact_us;
		t[5] += p->stat_query_us;
		t[6] += p->stat_wait_us;
		*waits += p->stat_waits;
	}
}

static struct admin_avg *avg_for(struct worker *w, const char *db)
{
	struct admin_state *a = w->admin;
	for (int i = 0; i < a->n_avgs; i++)
		if (!strcmp(a->avgs[i].db, db))
			return &a->avgs[i];
	struct admin_avg *n = realloc(a->avgs, (size_t)(a->n_avgs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	a->avgs = n;
	struct admin_avg *x = &a->avgs[a->n_avgs++];
	memset(x, 0, sizeof(*x));
	snprintf(x->db, sizeof(x->db), "%s", db);
	return x;
}

void admin_stats_tick(struct worker *w)
{
	struct admin_state *a = w->admin;
	double now = worker_now(w), period = w->cfg->stats_period > 0 ? w->cfg->stats_period : 60;
	if (now - a->avg_at < period)
		return;
	double dt = a->avg_at > 0 ? now - a->avg_at : period;
	a->avg_at = now;
	struct list *it;
	list_for_each(it, &w->pdbs)
	{
		struct pool_db *d = list_entry(it, struct pool_db, node);
		struct admin_avg *x = avg_for(w, d->entry.name);
		uint64_t t[7], waits;
		if (!x)
			continue;
		db_totals(w, d->entry.name, t, &waits);
		uint64_t dx = t[0] - x->prev[0], dq = t[1] - x->prev[1], dw = waits - x->prev_waits;
		if (x->seen) {
			x->avg[0] = (double)dx / dt;
			x->avg[1] = (double)dq / dt;
			x->avg[2] = (double)(t[2] - x->prev[2]) / dt;
			x->avg[3] = (double)(t[3] - x->prev[3]) / dt;
			x->avg[4] = dx ? (double)(t[4] - x->prev[4]) / (double)dx : 0;
			x->avg[5] = dq ? (double)(t[5] - x->prev[5]) / (double)dq : 0;
			x->avg[6] = dw ? (double)(t[6] - x->prev[6]) / (double)dw : 0;
		}
		memcpy(x->prev, t, sizeof(t));
		x->prev_waits = waits;
		x->seen = 1;
	}
}

/* The distinct database names that have pools, in pool_db order. */
static void show_stats(struct worker *w, struct admin_res *res, int totals, int avgs)
{
	struct list *it;
	char spec[600] = "database:t";
	static const char *const tot[] = {
	    "total_xact_count", "total_query_count", "total_received", "total_sent",
	    "total_xact_time",  "total_query_time",  "total_wait_time"};
	static const char *const av[] = {"avg_xact_count", "avg_query_count", "avg_recv",
	                                 "avg_sent",       "avg_xact_time",   "avg_query_time",
	                                 "avg_wait_time"};
	static const char *const plain[] = {"xact_count", "query_count", "bytes_received",
	                                    "bytes_sent", "xact_time",   "query_time",
	                                    "wait_time"};
	for (int i = 0; i < 7; i++) {
		if (totals)
			snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), ",%s:n",
			         avgs ? tot[i] : plain[i]);
	}
	for (int i = 0; i < 7; i++) {
		if (avgs)
			snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), ",%s:n",
			         totals ? av[i] : plain[i]);
	}
	admin_res_cols(res, spec);
	list_for_each(it, &w->pdbs)
	{
		struct pool_db *d = list_entry(it, struct pool_db, node);
		uint64_t t[7], waits;
		db_totals(w, d->entry.name, t, &waits);
		struct admin_avg *x = avg_for(w, d->entry.name);
		admin_row(res);
		admin_cell(res, d->entry.name);
		for (int i = 0; totals && i < 7; i++)
			admin_cellf(res, "%llu", (unsigned long long)t[i]);
		for (int i = 0; avgs && i < 7; i++)
			admin_cellf(res, "%.0f", x ? x->avg[i] : 0.0);
	}
}

static void show_totals(struct worker *w, struct admin_res *res)
{
	static const char *const names[] = {
	    "total_xact_count", "total_query_count", "total_client_bytes", "total_server_bytes",
	    "total_xact_time",  "total_query_time",  "total_wait_time",    "avg_xact_count",
	    "avg_query_count",  "avg_client_bytes",  "avg_server_bytes",   "avg_xact_time",
	    "avg_query_time",   "avg_wait_time"};
	uint64_t t[7], waits;
	double avg[7] = {0};
	struct admin_state *a = w->admin;
	db_totals(w, NULL, t, &waits);
	for (int i = 0; i < a->n_avgs; i++)
		for (int k = 0; k < 4; k++)
			avg[k] += a->avgs[i].avg[k];
	for (int i = 0; i < a->n_avgs; i++)
		for (int k = 4; k < 7; k++)
			if (a->avgs[i].avg[k] > avg[k])
				avg[k] = a->avgs[i].avg[k]; /* the slowest database's average */
	admin_res_cols(res, "name:t,value:n");
	for (int i = 0; i < 14; i++) {
		admin_row(res);
		admin_cell(res, names[i]);
		if (i < 7)
			admin_cellf(res, "%llu", (unsigned long long)t[i]);
		else
			admin_cellf(res, "%.0f", avg[i - 7]);
	}
}

#define CONN_COLS                                                                                  \
	"type:t,user:t,database:t,state:t,addr:t,port:i,local_addr:t,local_port:i,"                \
	"connect_time:t,request_time:t,wait:i,wait_us:i,close_needed:i,ptr:t,link:t,"              \
	"remote_pid:i,tls:t,application_name:t"
#define SOCK_COLS                                                                                  \
	",recv_pos:i,pkt_pos:i,pkt_remain:i,send_pos:i,send_remain:i,pkt_avail:i,send_avail:i"

static void local_addr(int fd, char *addr, size_t len, int *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	*port = 0;
	snprintf(addr, len, "%s", "");
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)len);
		*port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)len);
		*port = ntohs(in6->sin6_port);
	} else {
		snprintf(addr, len, "unix");
	}
}

static void sock_cols(struct admin_res *res, const struct conn *c)
{
	admin_cell_int(res, c->rlen);
	admin_cell_int(res, c->scan);
	admin_cell_int(res, c->pkt_remain);
	admin_cell_int(res, c->send_pos);
	admin_cell_int(res, wb_pending(&c->out));
	admin_cell_int(res, c->rlen - c->scan);
	admin_cell_int(res, c->scan - c->send_pos);
}

struct client_rows {
	struct admin_res *res;
	int sockets, active_only;
	double now;
};

static void client_row(struct client *cl, void *arg)
{
	struct client_rows *cr = arg;
	struct admin_res *res = cr->res;
	char la[64];
	int lp;
	if (!cl->pool || cl->c.closed)
		return;
	int waiting = cl->state == CL_WAITING || cl->state == CL_GOV_WAIT;
	const char *state =
	    cl->state == CL_STARTUP || cl->state == CL_AUTH || cl->state == CL_WAIT_WELCOME
	        ? "login"
	    : waiting                 ? "waiting"
	    : cl->server || cl->admin ? "active"
	                              : "idle";
	if (cr->active_only && !cl->c.rbuf && !wb_pending(&cl->c.out))
		return;
	double wt = !waiting                  ? 0
	            : cl->state == CL_WAITING ? cr->now - cl->wait_start
	                                      : cr->now - cl->gov.wt.enqueued;
	local_addr(cl->c.fd, la, sizeof(la), &lp);
	admin_row(res);
	admin_cell(res, "C");
	admin_cell(res, cl->pool->user->name);
	admin_cell(res, cl->pool->db->entry.name);
	if (cr->sockets)
		admin_cellf(res, "cl_%s", state);
	else
		admin_cell(res, state);
	admin_cell(res, cl->addr);
	admin_cell_int(res, cl->port);
	admin_cell(res, la);
	admin_cell_int(res, lp);
	cell_time(res, cl->connect_time);
	cell_time(res, cl->last_activity);
	admin_cell_int(res, (long long)wt);
	admin_cell_int(res, (long long)((wt - (long long)wt) * 1e6));
	admin_cell_int(res, 0);
	cell_ptr(res, cl);
	cell_ptr(res, cl->server);
	admin_cell_int(res, 0);
	admin_cell(res, "");
	admin_cell(res, client_var(cl, VAR_APPLICATION_NAME));
	if (cr->sockets)
		sock_cols(res, &cl->c);
	else {
		admin_cell_int(res, 0);
		admin_cell_int(res, cl->id);
	}
}

static void show_clients(struct worker *w, struct admin_res *res, int sockets, int active_only)
{
	struct list *it, *jt;
	struct client_rows cr = {res, sockets, active_only, worker_now(w)};
	admin_res_cols(res,
	               sockets ? CONN_COLS SOCK_COLS : CONN_COLS ",prepared_statements:i,id:i");
	list_for_each(it, &w->login_clients)
	{
		client_row(list_entry(it, struct client, node), &cr);
	}
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		list_for_each(jt, &p->welcome_waiters)
		{
			client_row(list_entry(jt, struct client, node), &cr);
		}
		list_for_each(jt, &p->clients)
		{
			client_row(container_of(jt, struct client, pool_node), &cr);
		}
	}
	admin_console_foreach(w, client_row, &cr);
}

static void server_rows(struct worker *w, struct admin_res *res, int sockets, int active_only)
{
	static const char *const st[SL_COUNT] = {"new", "idle", "active", "tested"};
	struct list *it, *jt;
	double now = worker_now(w);
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		for (int l = 0; l < SL_COUNT; l++)
			list_for_each(jt, &p->servers[l])
			{
				struct server *s = list_entry(jt, struct server, node);
				char la[64], ra[64];
				int lp, rp = 0;
				if (active_only && !s->c.rbuf && !wb_pending(&s->c.out))
					continue;
				const char *state = st[l];
				if (l == SL_IDLE && w->cfg->server_check_query &&
				    *w->cfg->server_check_query &&
				    now - s->last_used > w->cfg->server_check_delay)
					state = "used";
				local_addr(s->c.fd, la, sizeof(la), &lp);
				snprintf(ra, sizeof(ra), "%s",
				         p->db->entry.host[0] ? p->db->entry.host : "unix");
				rp = p->db->entry.port > 0 ? p->db->entry.port : 5432;
				admin_row(res);
				admin_cell(res, "S");
				admin_cell(res, p->server_user);
				admin_cell(res, p->db->entry.name);
				if (sockets)
					admin_cellf(res, "sv_%s", state);
				else
					admin_cell(res, state);
				admin_cell(res, ra);
				admin_cell_int(res, rp);
				admin_cell(res, la);
				admin_cell_int(res, lp);
				cell_time(res, s->connect_time);
				cell_time(res,
				          s->request_time > 0 ? s->request_time : s->last_used);
				admin_cell_int(res, 0);
				admin_cell_int(res, 0);
				admin_cell_int(res, p->db->reconnect_at > s->connect_time);
				cell_ptr(res, s);
				cell_ptr(res, s->client);
				admin_cell_int(res, s->be_pid);
				admin_cell(res, "");
				admin_cell(res, s->client
				                    ? client_var(s->client, VAR_APPLICATION_NAME)
				                    : "");
				if (sockets)
					sock_cols(res, &s->c);
				else {
					admin_cell_int(res, 0);
					admin_cell_int(res, s->id);
				}
			}
	}
}

static void show_servers(struct worker *w, struct admin_res *res)
{
	admin_res_cols(res, CONN_COLS ",prepared_statements:i,id:i");
	server_rows(w, res, 0, 0);
}

static void show_sockets(struct worker *w, struct admin_res *res, int active_only)
{
	show_clients(w, res, 1, active_only);
	server_rows(w, res, 1, active_only);
}

static void show_databases(struct worker *w, struct admin_res *res)
{
	struct list *it;
	admin_res_cols(res, "name:t,host:t,port:i,database:t,force_user:t,pool_size:i,"
	                    "min_pool_size:i,reserve_pool:i,pool_mode:t,max_connections:i,"
	                    "current_connections:i,paused:i,disabled:i");
	admin_row(res); /* the console's own virtual database, as PgBouncer lists it */
	admin_cell(res, "pgbouncer");
	admin_cell(res, NULL);
	admin_cell_int(res, w->cfg->listen_port);
	admin_cell(res, "pgbouncer");
	admin_cell(res, "pgbouncer");
	admin_cell_int(res, 2);
	admin_cell_int(res, 0);
	admin_cell_int(res, 0);
	admin_cell(res, "statement");
	admin_cell_int(res, 0);
	admin_cell_int(res, 0);
	admin_cell_int(res, 0);
	admin_cell_int(res, 0);
	for (int i = 0; i < w->cfg->n_dbs; i++) {
		const struct db_entry *e = &w->cfg->dbs[i];
		struct pool_db *d = NULL;
		list_for_each(it, &w->pdbs)
		{
			struct pool_db *x = list_entry(it, struct pool_db, node);
			if (!strcmp(x->entry.name, e->name))
				d = x;
		}
		admin_row(res);
		admin_cell(res, e->name);
		admin_cell(res, e->host[0] ? e->host : NULL);
		admin_cell_int(res, e->port > 0 ? e->port : 5432);
		admin_cell(res, e->dbname[0] ? e->dbname : e->name);
		admin_cell(res, e->user[0] ? e->user : NULL);
		admin_cell_int(res, e->pool_size >= 0 ? e->pool_size : w->cfg->default_pool_size);
		admin_cell_int(res,
		               e->min_pool_size >= 0 ? e->min_pool_size : w->cfg->min_pool_size);
		admin_cell_int(res,
		               e->reserve_pool >= 0 ? e->reserve_pool : w->cfg->reserve_pool_size);
		admin_cell(res,
		           e->pool_mode != POOL_MODE_UNSET ? pool_mode_name(e->pool_mode) : NULL);
		admin_cell_int(res, e->max_db_connections >= 0 ? e->max_db_connections
		                                               : w->cfg->max_db_connections);
		admin_cell_int(res, d ? d->server_count : 0);
		admin_cell_int(res, (d && d->paused) || w->admin->paused);
		admin_cell_int(res, d ? d->disabled : 0);
	}
	/* Databases served through the "*" fallback entry, once used. */
	list_for_each(it, &w->pdbs)
	{
		struct pool_db *d = list_entry(it, struct pool_db, node);
		if (!d->from_fallback || d->removed)
			continue;
		admin_row(res);
		admin_cell(res, d->entry.name);
		admin_cell(res, d->entry.host[0] ? d->entry.host : NULL);
		admin_cell_int(res, d->entry.port > 0 ? d->entry.port : 5432);
		admin_cell(res, d->entry.dbname);
		admin_cell(res, d->entry.user[0] ? d->entry.user : NULL);
		admin_cell_int(res, d->entry.pool_size >= 0 ? d->entry.pool_size
		                                            : w->cfg->default_pool_size);
		admin_cell_int(res, w->cfg->min_pool_size);
		admin_cell_int(res, w->cfg->reserve_pool_size);
		admin_cell(res, NULL);
		admin_cell_int(res, w->cfg->max_db_connections);
		admin_cell_int(res, d->server_count);
		admin_cell_int(res, d->paused || w->admin->paused);
		admin_cell_int(res, d->disabled);
	}
}

static void show_users(struct worker *w, struct admin_res *res)
{
	struct list *it;
	admin_res_cols(res, "name:t,pool_mode:t");
	list_for_each(it, &w->pusers)
	{
		struct pool_user *u = list_entry(it, struct pool_user, node);
		admin_row(res);
		admin_cell(res, u->name);
		admin_cell(res,
		           u->pool_mode != POOL_MODE_UNSET ? pool_mode_name(u->pool_mode) : NULL);
	}
}

static void show_config(struct worker *w, struct admin_res *res)
{
	const char *name, *def, *doc;
	int reloadable;
	char val[1024];
	/* Exactly PgBouncer's four columns: pgbouncer_exporter refuses any other count. Where a
	 * value comes from is in SHOW RUNTIME. */
	admin_res_cols(res, "key:t,value:t,default:t,changeable:t");
	for (int i = 0; config_key_at(i, &name, &def, &doc, &reloadable) == 0; i++) {
		config_key_value(w->cfg, name, val, sizeof(val));
		admin_row(res);
		admin_cell(res, name);
		admin_cell(res, val);
		admin_cell(res, def);
		admin_cell(res, reloadable ? "yes" : "no");
	}
}

/* Every runtime value (SET key, SET TENANT, SET CLASS) with the file's value it overrides. */
static void show_runtime(struct worker *w, struct admin_res *res)
{
	static const char *const scopes[] = {"config", "tenant", "class"};
	enum ovr_scope scope;
	const char *name, *key, *value, *file_value;
	admin_res_cols(res, "scope:t,name:t,key:t,value:t,file_value:t");
	for (int i = 0; ovr_get(w, i, &scope, &name, &key, &value, &file_value) == 0; i++) {
		admin_row(res);
		admin_cell(res, scopes[scope]);
		admin_cell(res, name);
		admin_cell(res, key);
		admin_cell(res, value);
		admin_cell(res, file_value);
	}
}

static void show_lists(struct worker *w, struct admin_res *res)
{
	struct list *it;
	int dbs = 0, users = 0, pools = 0, servers = 0, used = 0;
	list_for_each(it, &w->pdbs) dbs++;
	list_for_each(it, &w->pusers) users++;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		pools++;
		servers += pool_server_total(p);
		used += p->n_clients;
	}
	list_for_each(it, &w->login_clients) used++;
	const char *names[] = {"databases",    "users",         "pools",        "free_clients",
	                       "used_clients", "login_clients", "free_servers", "used_servers",
	                       "dns_names",    "dns_zones",     "dns_queries",  "dns_pending"};
	int login = 0;
	list_for_each(it, &w->login_clients) login++;
	int names_n = 0;
	list_for_each(it, &w->dns.entries) names_n++;
	long long vals[] = {dbs,
	                    users,
	                    pools,
	                    0,
	                    used + w->admin->n_consoles,
	                    login,
	                    0,
	                    servers,
	                    names_n,
	                    0,
	                    w->dns.queries,
	                    dns_pending(&w->dns)};
	admin_res_cols(res, "list:t,items:i");
	for (int i = 0; i < 12; i++) {
		admin_row(res);
		admin_cell(res, names[i]);
		admin_cell_int(res, vals[i]);
	}
}

static void show_mem(struct worker *w, struct admin_res *res)
{
	struct list *it;
	int pools = 0, servers = 0;
	list_for_each(it, &w->pools)
	{
		pools++;
		servers += pool_server_total(list_entry(it, struct pool, node));
	}
	admin_res_cols(res, "name:t,size:i,used:i,free:i,memtotal:i");
	struct {
		const char *name;
		size_t size;
		long long used, free;
	} rows[] = {
	    {"pool_cache", sizeof(struct pool), pools, 0},
	    {"server_cache", sizeof(struct server), servers, 0},
	    {"client_cache", sizeof(struct client), w->n_clients, 0},
	    {"iobuf_cache", w->bufs.obj_size, (long long)(w->bufs.n_total - w->bufs.n_free),
	     (long long)w->bufs.n_free},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		admin_row(res);
		admin_cell(res, rows[i].name);
		admin_cell_int(res, (long long)rows[i].size);
		admin_cell_int(res, rows[i].used);
		admin_cell_int(res, rows[i].free);
		admin_cell_int(res, (long long)rows[i].size * (rows[i].used + rows[i].free));
	}
}

/* PgBouncer's columns; ttl is the seconds left before the next use resolves the name again. */
static void show_dns_hosts(struct worker *w, struct admin_res *res)
{
	admin_res_cols(res, "hostname:t,ttl:i,addrs:t");
	struct list *it;
	double now = worker_now(w);
	list_for_each(it, &w->dns.entries)
	{
		struct dns_entry *e = list_entry(it, struct dns_entry, node);
		char addrs[DNS_MAX_ADDRS * 48];
		dns_addrs_str(e, addrs, sizeof(addrs));
		admin_row(res);
		admin_cell(res, e->name);
		admin_cell_int(res, e->expires > now ? (long long)(e->expires - now + 0.999) : 0);
		admin_cell(res, addrs);
	}
}

/* Hosts of multi-host entries: the health checker's view and this worker's connections. */
static void show_hosts(struct worker *w, struct admin_res *res)
{
	admin_res_cols(res, "database:t,host:t,port:i,role:t,state:t,lag:t,last_check:t,"
	                    "last_error:t,target_session_attrs:t,selected:t,sv_active:i,"
	                    "sv_idle:i,sv_other:i");
	struct hostsel_row r;
	for (int i = 0; hostsel_row(w, i, &r) == 0; i++) {
		admin_row(res);
		admin_cell(res, r.db);
		admin_cell(res, r.host);
		admin_cell_int(res, r.port);
		admin_cell(res, host_role_name(r.role));
		admin_cell(res, host_state_name(r.state));
		if (r.role == HOST_ROLE_STANDBY && r.state != HOST_DOWN)
			admin_cellf(res, "%.3f", r.lag);
		else
			admin_cell(res, NULL);
		cell_time(res, r.last_check);
		admin_cell(res, r.suspect         ? "server connection failed; checking again"
		                : r.last_error[0] ? r.last_error
		                                  : NULL);
		admin_cell(res, r.tsa);
		admin_cell(res, r.selected ? "yes" : "no");
		admin_cell_int(res, r.sv_active);
		admin_cell_int(res, r.sv_idle);
		admin_cell_int(res, r.sv_other);
	}
}

static void show_state(struct worker *w, struct admin_res *res)
{
	admin_res_cols(res, "key:t,value:t");
	admin_row(res);
	admin_cell(res, "active");
	admin_cell(res, !w->admin->paused && !w->shutdown && !w->admin->draining ? "yes" : "no");
	admin_row(res);
	admin_cell(res, "paused");
	admin_cell(res, w->admin->paused ? "yes" : "no");
	admin_row(res);
	admin_cell(res, "suspended");
	admin_cell(res, "no");
}

int admin_show(struct worker *w, const char *view, const char *name, struct admin_res *res)
{
	if (!strcmp(view, "HELP"))
		show_help(res);
	else if (!strcmp(view, "POOLS"))
		show_pools(w, res);
	else if (!strcmp(view, "STATS"))
		show_stats(w, res, 1, 1);
	else if (!strcmp(view, "STATS_TOTALS"))
		show_stats(w, res, 1, 0);
	else if (!strcmp(view, "STATS_AVERAGES"))
		show_stats(w, res, 0, 1);
	else if (!strcmp(view, "TOTALS"))
		show_totals(w, res);
	else if (!strcmp(view, "CLIENTS"))
		show_clients(w, res, 0, 0);
	else if (!strcmp(view, "SERVERS"))
		show_servers(w, res);
	else if (!strcmp(view, "SOCKETS"))
		show_sockets(w, res, 0);
	else if (!strcmp(view, "ACTIVE_SOCKETS"))
		show_sockets(w, res, 1);
	else if (!strcmp(view, "DATABASES"))
		show_databases(w, res);
	else if (!strcmp(view, "USERS"))
		show_users(w, res);
	else if (!strcmp(view, "CONFIG"))
		show_config(w, res);
	else if (!strcmp(view, "RUNTIME"))
		show_runtime(w, res);
	else if (!strcmp(view, "LISTS"))
		show_lists(w, res);
	else if (!strcmp(view, "MEM"))
		show_mem(w, res);
	else if (!strcmp(view, "STATE"))
		show_state(w, res);
	else if (!strcmp(view, "VERSION")) {
		admin_res_cols(res, "version:t");
		admin_row(res);
		admin_cell(res, "sluice " SLUICE_VERSION);
	} else if (!strcmp(view, "DNS_HOSTS"))
		show_dns_hosts(w, res);
	else if (!strcmp(view, "HOSTS"))
		show_hosts(w, res);
	else if (!strcmp(view, "DNS_ZONES"))
		admin_res_cols(res, "zonename:t,serial:i,count:i");
	else if (!strcmp(view, "FDS"))
		admin_res_error(res, "0A000",
		                "SHOW FDS is not supported by sluice: it serves PgBouncer's online "
		                "restart (-R), which sluice does not do");
	else if (!strcmp(view, "TENANTS"))
		return admin_show_tenants(w, res, NULL);
	else if (!strcmp(view, "TENANT"))
		return admin_show_tenants(w, res, name);
	else if (!strcmp(view, "CLASSES"))
		return admin_show_classes(w, res, NULL);
	else if (!strcmp(view, "CLASS"))
		return admin_show_classes(w, res, name);
	else
		return -1;
	return 0;
}
