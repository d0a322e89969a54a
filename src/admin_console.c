/* The admin console: the virtual database "pgbouncer" (or "sluice") reached with a normal
 * login by admin_users and stats_users, answering the simple query protocol itself. Console
 * clients are ordinary struct client objects (same accept, auth and close paths) attached to a
 * virtual pool that has no servers; their queries come here instead of going to a pool.
 * Also the lifecycle of the worker's admin state (admin_init/admin_free). */
#include "admin.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "gov_override.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "admin_sock.h"
#include "pool.h"
#include "worker.h"

#define ADMIN_QUERY_MAX 4096

/* Per console client (cl->admin). */
struct admin_console {
	struct client *cl;
	int is_admin;
	int busy;      /* a command is parked (PAUSE, RELOAD, WAIT_CLOSE) */
	int ext_error; /* an extended-protocol message was refused; skip up to Sync */
	struct admin_waiter wt;
	struct admin_res res;
};

/* A virtual pool per (console database name, user): no servers, only console clients. */
struct console_pool {
	struct list node;
	struct pool pool;
	struct pool_db db;
	struct pool_user user;
};

int admin_is_console_db(const char *dbname)
{
	return !strcmp(dbname, "pgbouncer") || !strcmp(dbname, "sluice");
}

static void console_welcome(struct welcome *wl)
{
	static const char *const kv[][2] = {
	    {"server_version", "15.0 (sluice " SLUICE_VERSION ")"},
	    {"server_encoding", "UTF8"},
	    {"client_encoding", "UTF8"},
	    {"DateStyle", "ISO"},
	    {"TimeZone", "UTC"},
	    {"IntervalStyle", "postgres"},
	    {"standard_conforming_strings", "on"},
	    {"integer_datetimes", "on"},
	    {"application_name", ""},
	};
	memset(wl, 0, sizeof(*wl));
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		snprintf(wl->name[wl->n], sizeof(wl->name[0]), "%s", kv[i][0]);
		snprintf(wl->value[wl->n], sizeof(wl->value[0]), "%s", kv[i][1]);
		wl->n++;
	}
}

static struct pool *console_pool(struct worker *w, const char *dbname, const char *user)
{
	struct admin_state *a = w->admin;
	struct list *it;
	list_for_each(it, &a->admin_pools)
	{
		struct console_pool *cp = list_entry(it, struct console_pool, node);
		if (!strcmp(cp->db.entry.name, dbname) && !strcmp(cp->user.name, user))
			return &cp->pool;
	}
	struct console_pool *cp = calloc(1, sizeof(*cp));
	if (!cp)
		return NULL;
	struct welcome wl;
	snprintf(cp->db.entry.name, sizeof(cp->db.entry.name), "%s", dbname);
	snprintf(cp->user.name, sizeof(cp->user.name), "%s", user);
	cp->db.entry.port = w->cfg->listen_port;
	cp->user.pool_mode = POOL_MODE_UNSET;
	cp->user.max_user_connections = -1;
	cp->pool.w = w;
	cp->pool.db = &cp->db;
	cp->pool.user = &cp->user;
	cp->pool.pool_mode = POOL_STATEMENT;
	for (int i = 0; i < SL_COUNT; i++)
		list_init(&cp->pool.servers[i]);
	list_init(&cp->pool.waiting);
	list_init(&cp->pool.welcome_waiters);
	list_init(&cp->pool.clients);
	console_welcome(&wl);
	pool_set_welcome(&cp->pool, &wl);
	list_append(&a->admin_pools, &cp->node);
	return &cp->pool;
}

int admin_console_login(struct client *cl, const char *dbname, const char *user)
{
	struct worker *w = cl->c.w;
	const struct sluice_config *cfg = w->cfg;
	int is_admin = config_list_has(cfg->admin_users, user, 0);
	/* As PgBouncer: with auth_type = any, anyone may look (stats) but not steer. */
	if (!is_admin && !config_list_has(cfg->stats_users, user, 0) &&
	    cfg->auth_type != AUTH_TYPE_ANY) {
		client_fatal(cl, "28000",
		             "not allowed to use the admin console (user is in neither admin_users "
		             "nor stats_users)");
		return -1;
	}
	struct admin_console *con = calloc(1, sizeof(*con));
	cl->pool = con ? console_pool(w, dbname, user) : NULL;
	if (!con || !cl->pool) {
		free(con);
		client_fatal(cl, "53200", "out of memory");
		return -1;
	}
	con->cl = cl;
	con->is_admin = is_admin;
	list_init(&con->wt.node);
	cl->admin = con;
	w->admin->n_consoles++;
	return 0;
}

static void put_row_desc(struct wbuf *b, const struct admin_res *res)
{
	size_t m = pkt_begin(b, 'T');
	pkt_put_u16(b, (uint16_t)res->ncols);
	for (int i = 0; i < res->ncols; i++) {
		uint32_t oid = res->coltype[i] == AT_INT       ? 20
		               : res->coltype[i] == AT_NUMERIC ? 1700
		                                               : 25;
		pkt_put_cstr(b, res->colname[i]);
		pkt_put_u32(b, 0);
		pkt_put_u16(b, 0);
		pkt_put_u32(b, oid);
		pkt_put_u16(b, oid == 20 ? 8 : 0xffff);
		pkt_put_u32(b, 0xffffffffu);
		pkt_put_u16(b, 0);
	}
	pkt_end(b, m);
}

/* Write res as the answer to one Query: rows or error, then ReadyForQuery. */
static void render(struct client *cl, const struct admin_res *res, const char *late_err)
{
	struct wbuf b = {0};
	if (res->error || late_err) {
		pkt_error(&b, 'E', "ERROR", res->error ? res->sqlstate : "XX000",
		          res->error ? res->msg : late_err, NULL, NULL);
	} else {
		if (res->notice[0]) {
			const char *nl = strchr(res->notice, '\n');
			char head[128];
			size_t hl = nl ? (size_t)(nl - res->notice) : strlen(res->notice);
			if (hl >= sizeof(head))
				hl = sizeof(head) - 1;
			memcpy(head, res->notice, hl);
			head[hl] = '\0';
			pkt_error(&b, 'N', "NOTICE", "00000", head, nl ? nl + 1 : NULL, NULL);
		}
		if (res->ncols) {
			put_row_desc(&b, res);
			for (int r = 0; r < res->nrows; r++) {
				size_t m = pkt_begin(&b, 'D');
				pkt_put_u16(&b, (uint16_t)res->ncols);
				for (int c = 0; c < res->ncols; c++) {
					const char *v = admin_res_cell(res, r, c);
					if (!v) {
						pkt_put_u32(&b, 0xffffffffu);
						continue;
					}
					size_t len = strlen(v);
					pkt_put_u32(&b, (uint32_t)len);
					wb_put(&b, v, len);
				}
				pkt_end(&b, m);
			}
		}
		size_t m = pkt_begin(&b, 'C');
		if (res->ncols && !strcmp(res->tag, "SHOW"))
			pkt_put_cstr(&b, "SHOW");
		else
			pkt_put_cstr(&b, res->tag);
		pkt_end(&b, m);
	}
	pkt_ready(&b, 'I');
	if (b.oom) {
		wb_free(&b);
		client_fatal(cl, "53200", "out of memory");
		return;
	}
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
}

static void console_done(struct admin_waiter *wt, const char *err)
{
	struct admin_console *con = container_of(wt, struct admin_console, wt);
	struct client *cl = con->cl;
	if (cl->c.closed)
		return;
	render(cl, &con->res, err);
	admin_res_free(&con->res);
	memset(&con->res, 0, sizeof(con->res));
	con->busy = 0;
	worker_schedule(cl->c.w, cl); /* messages that arrived meanwhile */
}

static void console_query(struct client *cl, const char *sql)
{
	struct admin_console *con = cl->admin;
	struct worker *w = cl->c.w;
	const char *s = sql;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s) {
		struct wbuf b = {0};
		size_t m = pkt_begin(&b, 'I'); /* EmptyQueryResponse */
		pkt_end(&b, m);
		pkt_ready(&b, 'I');
		conn_queue(&cl->c, b.data, b.len);
		wb_free(&b);
		return;
	}
	memset(&con->res, 0, sizeof(con->res));
	admin_run_line(w, s, con->is_admin, &con->res);
	if (cl->c.closed) { /* SHUTDOWN closed everyone, this client too */
		admin_res_free(&con->res);
		return;
	}
	if (con->res.wait != AW_NONE) {
		con->busy = 1;
		con->wt.done = console_done;
		admin_wait(w, &con->res, &con->wt);
		return;
	}
	render(cl, &con->res, NULL);
	admin_res_free(&con->res);
	memset(&con->res, 0, sizeof(con->res));
}

static void send_error(struct client *cl, const char *state, const char *msg, int ready)
{
	struct wbuf b = {0};
	pkt_error(&b, 'E', "ERROR", state, msg, NULL, NULL);
	if (ready)
		pkt_ready(&b, 'I');
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
}

enum pkt_action admin_console_packet(struct client *cl, uint8_t type, const uint8_t *p,
                                     uint32_t total, uint32_t avail)
{
	struct admin_console *con = cl->admin;
	if (con->busy)
		return PKT_PAUSE;
	switch (type) {
	case 'X':
		client_close(cl, "client close request");
		return PKT_GONE;
	case 'Q': {
		if (total > ADMIN_QUERY_MAX) {
			send_error(cl, "54000", "admin command too long", 1);
			return cl->c.closed ? PKT_GONE : PKT_SKIP;
		}
		if (avail < total)
			return PKT_NEED_FULL;
		char sql[ADMIN_QUERY_MAX];
		uint32_t len = total - PKT_HDR_LEN;
		memcpy(sql, p + PKT_HDR_LEN, len);
		sql[len ? len - 1 : 0] = '\0'; /* the body is a C string; never trust its NUL */
		console_query(cl, sql);
		return cl->c.closed ? PKT_GONE : PKT_HANDLED;
	}
	case 'S':
		if (avail < total)
			return PKT_NEED_FULL;
		con->ext_error = 0;
		{
			struct wbuf b = {0};
			pkt_ready(&b, 'I');
			conn_queue(&cl->c, b.data, b.len);
			wb_free(&b);
		}
		return cl->c.closed ? PKT_GONE : PKT_HANDLED;
	default:
		if (!con->ext_error) {
			con->ext_error = 1;
			send_error(cl, "0A000",
			           "the admin console supports only the simple query protocol", 0);
		}
		return cl->c.closed ? PKT_GONE : PKT_SKIP;
	}
}

void admin_console_gone(struct client *cl)
{
	struct admin_console *con = cl->admin;
	if (!con)
		return;
	if (con->busy)
		admin_unwait(&con->wt);
	admin_res_free(&con->res);
	cl->c.w->admin->n_consoles--;
	free(con);
	cl->admin = NULL;
}

void admin_console_foreach(struct worker *w, void (*fn)(struct client *cl, void *arg), void *arg)
{
	struct list *it, *jt, *n;
	if (!w->admin)
		return;
	list_for_each(it, &w->admin->admin_pools)
	{
		struct console_pool *cp = list_entry(it, struct console_pool, node);
		list_for_each_safe(jt, n, &cp->pool.clients)
		{
			fn(container_of(jt, struct client, pool_node), arg);
		}
	}
}

static void close_one(struct client *cl, void *arg)
{
	client_fatal(cl, "57P01", arg);
}

void admin_console_close_all(struct worker *w, const char *why)
{
	admin_console_foreach(w, close_one, (void *)why);
}

int admin_db_disabled(const struct pool *pool)
{
	return pool->db->disabled;
}

/* ---- admin state lifecycle ---- */

int admin_init(struct worker *w)
{
	struct admin_state *a = calloc(1, sizeof(*a));
	if (!a)
		return -1;
	w->admin = a;
	list_init(&a->waiters);
	list_init(&a->consoles);
	list_init(&a->admin_pools);
	a->started = ev_time();
	a->avg_at = 0;
	if (ovr_init(w) < 0 || metrics_init(w) < 0)
		return -1;
	if (admin_sock_init(w) < 0)
		return -1;
	http_init(w); /* a busy port is logged, not fatal */
	return 0;
}

void admin_free(struct worker *w)
{
	struct admin_state *a = w->admin;
	struct list *it, *n;
	if (!a)
		return;
	http_free(w);
	admin_sock_free(w);
	metrics_free(w);
	ovr_free(w);
	list_for_each_safe(it, n, &a->admin_pools)
	{
		struct console_pool *cp = list_entry(it, struct console_pool, node);
		free(cp->user.derived);
		free(cp);
	}
	free(a->avgs);
	free(a);
	w->admin = NULL;
}
