/* The admin command language: parsing (pure), the result table, and the commands that change
 * state (PAUSE, RESUME, KILL, SET, RELOAD, ...). SHOW views are in admin_views.c; the doors
 * (console, socket, HTTP) only render what this produces. */
#include "admin.h"
#include "dns.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "gov_override.h"
#include "log.h"
#include "pool.h"
#include "runtime.h"
#include "server.h"
#include "worker.h"

/* ---- parsing ---- */

#define MAX_TOKENS 8

/* Split into tokens: words, "quoted identifiers" ("" escapes a quote), 'quoted values' (''
 * escapes), and '=' on its own. Returns the count, or -1 on an unterminated quote or too many
 * tokens. */
static int tokenize(const char *s, char tok[MAX_TOKENS][ADMIN_ARG_MAX])
{
	int n = 0;
	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (n == MAX_TOKENS)
			return -1;
		size_t len = 0;
		char *out = tok[n];
		if (*s == '"' || *s == '\'') {
			char q = *s++;
			for (;;) {
				if (!*s)
					return -1;
				if (*s == q) {
					if (s[1] != q)
						break;
					s++;
				}
				if (len + 1 >= ADMIN_ARG_MAX)
					return -1;
				out[len++] = *s++;
			}
			s++;
		} else if (*s == '=') {
			out[len++] = *s++;
		} else {
			while (*s && !isspace((unsigned char)*s) && *s != '=' && *s != '"' &&
			       *s != '\'') {
				if (len + 1 >= ADMIN_ARG_MAX)
					return -1;
				out[len++] = *s++;
			}
		}
		out[len] = '\0';
		n++;
	}
	return n;
}

static void upcase(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static const struct {
	const char *word;
	enum admin_verb verb;
	int db_arg; /* 0 none, 1 optional, 2 required */
} simple_verbs[] = {
    {"PAUSE", AV_PAUSE, 1},   {"RESUME", AV_RESUME, 1},           {"DISABLE", AV_DISABLE, 2},
    {"ENABLE", AV_ENABLE, 2}, {"RECONNECT", AV_RECONNECT, 1},     {"RESOLVE", AV_RESOLVE, 1},
    {"KILL", AV_KILL, 2},     {"KILL_CLIENT", AV_KILL_CLIENT, 2}, {"SUSPEND", AV_SUSPEND, 0},
    {"RELOAD", AV_RELOAD, 0}, {"WAIT_CLOSE", AV_WAIT_CLOSE, 1},
};

int admin_parse(const char *sql, struct admin_cmd *cmd, char *err, size_t errlen)
{
	char buf[1024], tok[MAX_TOKENS][ADMIN_ARG_MAX], verb[ADMIN_ARG_MAX];
	size_t len = strlen(sql);
	memset(cmd, 0, sizeof(*cmd));
	while (len && isspace((unsigned char)sql[len - 1]))
		len--;
	if (len && sql[len - 1] == ';')
		len--;
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "command too long");
		return -1;
	}
	memcpy(buf, sql, len);
	buf[len] = '\0';
	int n = strchr(buf, ';') ? -1 : tokenize(buf, tok);
	if (n <= 0)
		goto invalid;
	snprintf(verb, sizeof(verb), "%s", tok[0]);
	upcase(verb);
	if (!strcmp(verb, "SHOW")) {
		if (n < 2)
			goto invalid;
		cmd->verb = AV_SHOW;
		snprintf(cmd->arg, sizeof(cmd->arg), "%s", tok[1]);
		upcase(cmd->arg);
		if (!strcmp(cmd->arg, "TENANT") || !strcmp(cmd->arg, "CLASS")) {
			if (n != 3) {
				snprintf(err, errlen, "SHOW %s needs a name", cmd->arg);
				return -1;
			}
			snprintf(cmd->arg2, sizeof(cmd->arg2), "%s", tok[2]);
			return 0;
		}
		if (n != 2)
			goto invalid;
		return 0;
	}
	if (!strcmp(verb, "SET")) {
		char scope[ADMIN_ARG_MAX];
		snprintf(scope, sizeof(scope), "%s", n > 1 ? tok[1] : "");
		upcase(scope);
		if ((!strcmp(scope, "TENANT") || !strcmp(scope, "CLASS")) && n == 6 &&
		    !strcmp(tok[4], "=")) {
			cmd->verb = !strcmp(scope, "TENANT") ? AV_SET_TENANT : AV_SET_CLASS;
			snprintf(cmd->arg, sizeof(cmd->arg), "%s", tok[2]);
			snprintf(cmd->key, sizeof(cmd->key), "%s", tok[3]);
			snprintf(cmd->value, sizeof(cmd->value), "%s", tok[5]);
			return 0;
		}
		if (!strcmp(scope, "TENANT") || !strcmp(scope, "CLASS")) {
			snprintf(err, errlen, "usage: SET %s name key = value", scope);
			return -1;
		}
		if (n == 4 && !strcmp(tok[2], "=")) {
			cmd->verb = AV_SET;
			snprintf(cmd->key, sizeof(cmd->key), "%s", tok[1]);
			snprintf(cmd->value, sizeof(cmd->value), "%s", tok[3]);
			return 0;
		}
		if (n == 3 && !strcmp(tok[2], "=")) { /* SET key = (empty) */
			cmd->verb = AV_SET;
			snprintf(cmd->key, sizeof(cmd->key), "%s", tok[1]);
			return 0;
		}
		snprintf(err, errlen, "usage: SET key = value");
		return -1;
	}
	if (!strcmp(verb, "RESET")) {
		char scope[ADMIN_ARG_MAX];
		snprintf(scope, sizeof(scope), "%s", n > 1 ? tok[1] : "");
		upcase(scope);
		if ((strcmp(scope, "TENANT") && strcmp(scope, "CLASS")) || n < 3 || n > 4) {
			snprintf(err, errlen,
			         "usage: RESET TENANT name [key] | RESET CLASS name [key]");
			return -1;
		}
		cmd->verb = !strcmp(scope, "TENANT") ? AV_RESET_TENANT : AV_RESET_CLASS;
		snprintf(cmd->arg, sizeof(cmd->arg), "%s", tok[2]);
		if (n == 4)
			snprintf(cmd->key, sizeof(cmd->key), "%s", tok[3]);
		return 0;
	}
	if (!strcmp(verb, "SHUTDOWN")) {
		cmd->verb = AV_SHUTDOWN;
		if (n > 2)
			goto invalid;
		if (n == 2) {
			snprintf(cmd->arg2, sizeof(cmd->arg2), "%s", tok[1]);
			upcase(cmd->arg2);
			if (strcmp(cmd->arg2, "WAIT_FOR_SERVERS") &&
			    strcmp(cmd->arg2, "WAIT_FOR_CLIENTS"))
				goto invalid;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(simple_verbs) / sizeof(simple_verbs[0]); i++) {
		if (strcmp(verb, simple_verbs[i].word))
			continue;
		cmd->verb = simple_verbs[i].verb;
		if (n > 2 || (n == 2 && !simple_verbs[i].db_arg))
			goto invalid;
		if (n == 1 && simple_verbs[i].db_arg == 2) {
			snprintf(err, errlen,
			         cmd->verb == AV_KILL_CLIENT ? "a client id is required"
			                                     : "a database is required");
			return -1;
		}
		if (n == 2)
			snprintf(cmd->arg, sizeof(cmd->arg), "%s", tok[1]);
		if (cmd->verb == AV_KILL_CLIENT) {
			for (const char *p = cmd->arg; *p; p++)
				if (!isdigit((unsigned char)*p)) {
					snprintf(err, errlen, "invalid client id \"%s\"", cmd->arg);
					return -1;
				}
		}
		return 0;
	}
invalid:
	snprintf(err, errlen, "invalid command '%s', use SHOW HELP;", buf);
	return -1;
}

int admin_cmd_readonly(const struct admin_cmd *cmd)
{
	return cmd->verb == AV_SHOW;
}

/* ---- state-changing commands ---- */

static struct pool_db *find_db(struct worker *w, const char *name)
{
	struct list *it;
	list_for_each(it, &w->pdbs)
	{
		struct pool_db *d = list_entry(it, struct pool_db, node);
		if (!strcmp(d->entry.name, name) && !d->removed)
			return d;
	}
	return NULL;
}

/* A database the command may name: one in use, or one the config lists. */
static int db_exists(struct worker *w, const char *name)
{
	return find_db(w, name) || config_find_db(w->cfg, name);
}

int admin_pool_paused(const struct pool *pool)
{
	const struct admin_state *a = pool->w->admin;
	return pool->db->paused || (a && a->paused);
}

static int in_scope(const struct pool *p, const char *db)
{
	return !*db || !strcmp(p->db->entry.name, db);
}

static void close_idle(struct worker *w, const char *db, const char *why)
{
	struct list *it, *jt, *m;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (!in_scope(p, db))
			continue;
		list_for_each_safe(jt, m, &p->servers[SL_IDLE])
		{
			server_close(list_entry(jt, struct server, node), why);
		}
	}
}

/* Servers of the scope still working (PAUSE completes when none are). */
static int busy_servers(struct worker *w, const char *db)
{
	struct list *it;
	int n = 0;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (in_scope(p, db))
			n += p->n_servers[SL_ACTIVE] + p->n_servers[SL_TESTING];
	}
	return n;
}

/* Servers of the scope marked by RECONNECT and not closed yet. */
static int close_needed(struct worker *w, const char *db)
{
	struct list *it, *jt;
	int n = 0;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (!in_scope(p, db) || !p->db->reconnect_at)
			continue;
		for (int l = 0; l < SL_COUNT; l++)
			list_for_each(jt, &p->servers[l])
			{
				n += list_entry(jt, struct server, node)->connect_time <
				     p->db->reconnect_at;
			}
	}
	return n;
}

/* After RESUME: the clients that queued while paused get servers. */
static void kick_waiters(struct worker *w)
{
	struct list *it;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (admin_pool_paused(p))
			continue;
		while (p->n_waiting > p->n_servers[SL_LOGIN] + p->n_servers[SL_TESTING] &&
		       pool_launch(p, 0))
			;
	}
}

static void kill_db(struct worker *w, const char *db)
{
	struct list *it, *n, *jt, *m;
	list_for_each_safe(it, n, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (!in_scope(p, db))
			continue;
		list_for_each_safe(jt, m, &p->clients)
		{
			client_fatal(container_of(jt, struct client, pool_node), "57P01",
			             "terminating connection due to administrator command (KILL)");
		}
		list_for_each_safe(jt, m, &p->welcome_waiters)
		{
			client_fatal(list_entry(jt, struct client, node), "57P01",
			             "terminating connection due to administrator command (KILL)");
		}
		for (int l = 0; l < SL_COUNT; l++)
			list_for_each_safe(jt, m, &p->servers[l])
			{
				server_close(list_entry(jt, struct server, node), "KILL command");
			}
	}
}

struct find_client {
	uint32_t id;
	struct client *found;
};

static void match_console(struct client *cl, void *arg)
{
	struct find_client *f = arg;
	if (cl->id == f->id)
		f->found = cl;
}

static struct client *find_client(struct worker *w, uint32_t id)
{
	struct list *it, *jt;
	list_for_each(it, &w->login_clients)
	{
		struct client *cl = list_entry(it, struct client, node);
		if (cl->id == id)
			return cl;
	}
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		list_for_each(jt, &p->clients)
		{
			struct client *cl = container_of(jt, struct client, pool_node);
			if (cl->id == id)
				return cl;
		}
		list_for_each(jt, &p->welcome_waiters)
		{
			struct client *cl = list_entry(jt, struct client, node);
			if (cl->id == id)
				return cl;
		}
	}
	struct find_client f = {id, NULL};
	admin_console_foreach(w, match_console, &f);
	return f.found;
}

/* PAUSE/DISABLE/KILL may name a database no client has used yet: the flag lands on its
 * pool_db, created here through the normal lookup when needed. */
static struct pool_db *db_for_flags(struct worker *w, const char *db, struct admin_res *res)
{
	struct pool_db *d = find_db(w, db);
	if (d)
		return d;
	/* A database served through the "*" entry is known once a client has used it: a typo
	 * must not create one. */
	const struct db_entry *e = config_find_db(w->cfg, db);
	if (!e) {
		admin_res_error(res, "3D000", "no such database: %s", db);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		admin_res_error(res, "53200", "out of memory");
		return NULL;
	}
	d->entry = *e; /* as pool_get will find it */
	list_append(&w->pdbs, &d->node);
	return d;
}

static void cmd_set(struct worker *w, const struct admin_cmd *cmd, enum ovr_scope scope,
                    struct admin_res *res)
{
	char err[300];
	if (ovr_set(w, scope, cmd->arg, cmd->key, cmd->value, err, sizeof(err)) < 0) {
		admin_res_error(res, "22023", "SET failed: %s", err);
		return;
	}
	snprintf(res->tag, sizeof(res->tag), "SET");
}

void admin_exec(struct worker *w, const struct admin_cmd *cmd, int is_admin, struct admin_res *res)
{
	struct admin_state *a = w->admin;
	const char *db = cmd->arg;
	struct pool_db *d;
	char err[300];

	if (!is_admin && !admin_cmd_readonly(cmd)) {
		admin_res_error(res, "42501", "admin access needed");
		return;
	}
	switch (cmd->verb) {
	case AV_SHOW:
		if (admin_show(w, cmd->arg, cmd->arg2, res) < 0 && !res->error)
			admin_res_error(res, "42601", "invalid command 'SHOW %s', use SHOW HELP;",
			                cmd->arg);
		if (res->oom)
			admin_res_error(res, "53200", "out of memory");
		return;
	case AV_SET:
		cmd_set(w, cmd, OVR_MAIN, res);
		return;
	case AV_SET_TENANT:
		cmd_set(w, cmd, OVR_TENANT, res);
		return;
	case AV_SET_CLASS:
		cmd_set(w, cmd, OVR_CLASS, res);
		return;
	case AV_RESET_TENANT:
	case AV_RESET_CLASS:
		if (ovr_reset(w, cmd->verb == AV_RESET_TENANT ? OVR_TENANT : OVR_CLASS, cmd->arg,
		              cmd->key[0] ? cmd->key : NULL, err, sizeof(err)) < 0) {
			admin_res_error(res, "22023", "RESET failed: %s", err);
			return;
		}
		snprintf(res->tag, sizeof(res->tag), "RESET");
		return;
	case AV_PAUSE:
		if (*db) {
			if (!(d = db_for_flags(w, db, res)))
				return;
			if (d->paused || a->paused) {
				admin_res_error(res, "55000", "already suspended/paused");
				return;
			}
			d->paused = 1;
		} else {
			if (a->paused) {
				admin_res_error(res, "55000", "already suspended/paused");
				return;
			}
			a->paused = 1;
		}
		log_info("PAUSE command issued%s%s", *db ? " for " : "", db);
		close_idle(w, db, "PAUSE command");
		snprintf(res->tag, sizeof(res->tag), "PAUSE");
		res->wait = AW_PAUSE;
		snprintf(res->wait_db, sizeof(res->wait_db), "%s", db);
		return;
	case AV_RESUME:
		if (*db) {
			d = find_db(w, db);
			if (!d || !d->paused) {
				admin_res_error(res, "55000", "database %s is not paused", db);
				return;
			}
			d->paused = 0;
		} else {
			struct list *it;
			int any = a->paused;
			list_for_each(it, &w->pdbs)
			{
				struct pool_db *x = list_entry(it, struct pool_db, node);
				any |= x->paused;
				x->paused = 0;
			}
			if (!any) {
				admin_res_error(res, "55000", "pooler is not paused/suspended");
				return;
			}
			a->paused = 0;
		}
		log_info("RESUME command issued%s%s", *db ? " for " : "", db);
		kick_waiters(w);
		snprintf(res->tag, sizeof(res->tag), "RESUME");
		return;
	case AV_DISABLE:
	case AV_ENABLE:
		if (!(d = db_for_flags(w, db, res)))
			return;
		d->disabled = cmd->verb == AV_DISABLE;
		log_info("%s command issued for %s", d->disabled ? "DISABLE" : "ENABLE", db);
		snprintf(res->tag, sizeof(res->tag), "%s", d->disabled ? "DISABLE" : "ENABLE");
		return;
	case AV_RECONNECT: {
		struct list *it;
		if (*db && !db_exists(w, db)) {
			admin_res_error(res, "3D000", "no such database: %s", db);
			return;
		}
		double now = worker_now(w);
		list_for_each(it, &w->pdbs)
		{
			struct pool_db *x = list_entry(it, struct pool_db, node);
			if (!*db || !strcmp(x->entry.name, db))
				x->reconnect_at = now + 1e-6; /* servers connected until now */
		}
		close_idle(w, db, "RECONNECT command");
		log_info("RECONNECT command issued%s%s", *db ? " for " : "", db);
		snprintf(res->tag, sizeof(res->tag), "RECONNECT");
		return;
	}
	case AV_RESOLVE: {
		/* Host names are resolved again now; connections follow a changed address as for a
		 * TTL expiry (new ones go to the new address, idle ones close when next released).
		 */
		int n = dns_refresh(&w->dns, *db ? db : NULL);
		if (*db && !n) {
			admin_res_error(res, "42704",
			                "host name \"%s\" is not in use (see SHOW DNS_HOSTS)", db);
			return;
		}
		log_info("RESOLVE command issued%s%s: %d host names resolved again",
		         *db ? " for " : "", db, n);
		snprintf(res->tag, sizeof(res->tag), "RESOLVE");
		return;
	}
	case AV_KILL:
		if (!(d = db_for_flags(w, db, res)))
			return;
		d->paused = 1; /* new clients wait until RESUME, as with PgBouncer */
		log_info("KILL command issued for %s", db);
		kill_db(w, db);
		snprintf(res->tag, sizeof(res->tag), "KILL");
		return;
	case AV_KILL_CLIENT: {
		struct client *cl = find_client(w, (uint32_t)strtoul(db, NULL, 10));
		if (!cl || cl->c.closed) {
			admin_res_error(res, "42704", "client %s not found", db);
			return;
		}
		log_info("KILL_CLIENT command issued for client %s", db);
		client_fatal(cl, "57P01",
		             "terminating connection due to administrator command (KILL_CLIENT)");
		snprintf(res->tag, sizeof(res->tag), "KILL_CLIENT");
		return;
	}
	case AV_SUSPEND:
		admin_res_error(res, "0A000",
		                "SUSPEND is not supported by sluice: it only serves PgBouncer's "
		                "online restart; use PAUSE/RESUME, or SHUTDOWN WAIT_FOR_CLIENTS to "
		                "drain");
		return;
	case AV_SHUTDOWN:
		snprintf(res->tag, sizeof(res->tag), "SHUTDOWN");
		if (!cmd->arg2[0]) {
			log_info("SHUTDOWN command issued");
			res->close_after = 1;
			worker_shutdown(w, WSHUT_FAST);
		} else if (!strcmp(cmd->arg2, "WAIT_FOR_SERVERS")) {
			log_info("SHUTDOWN WAIT_FOR_SERVERS command issued");
			worker_shutdown(w, WSHUT_SAFE);
		} else {
			log_info("SHUTDOWN WAIT_FOR_CLIENTS command issued");
			worker_shutdown(w, WSHUT_WAIT_CLIENTS);
		}
		return;
	case AV_RELOAD:
		a->reload_requested++;
		runtime_request_reload(w->rt, a->reload_requested);
		snprintf(res->tag, sizeof(res->tag), "RELOAD");
		res->wait = AW_RELOAD;
		res->wait_gen = a->reload_requested;
		return;
	case AV_WAIT_CLOSE:
		if (*db && !db_exists(w, db)) {
			admin_res_error(res, "3D000", "no such database: %s", db);
			return;
		}
		snprintf(res->tag, sizeof(res->tag), "WAIT_CLOSE");
		res->wait = AW_WAIT_CLOSE;
		snprintf(res->wait_db, sizeof(res->wait_db), "%s", db);
		return;
	}
}

void admin_run_line(struct worker *w, const char *line, int is_admin, struct admin_res *res)
{
	struct admin_cmd cmd;
	char err[512];
	if (admin_parse(line, &cmd, err, sizeof(err)) < 0) {
		admin_res_error(res, "42601", "%s", err);
		return;
	}
	admin_exec(w, &cmd, is_admin, res);
}

/* ---- waiting commands ---- */

static const char *wait_status(struct worker *w, struct admin_waiter *wt, int *done)
{
	struct admin_state *a = w->admin;
	*done = 0;
	switch (wt->kind) {
	case AW_PAUSE:
		/* A RESUME (or a KILL ending) while PAUSE waits ends the wait too. */
		*done = !busy_servers(w, wt->db);
		if (*done)
			close_idle(w, wt->db, "PAUSE command");
		return NULL;
	case AW_WAIT_CLOSE:
		*done = !close_needed(w, wt->db);
		return NULL;
	case AW_RELOAD:
		*done = (int32_t)(a->reload_done - wt->gen) >= 0;
		return *done && a->reload_err[0] ? a->reload_err : NULL;
	case AW_NONE:
		*done = 1;
		return NULL;
	}
	return NULL;
}

void admin_wait(struct worker *w, const struct admin_res *res, struct admin_waiter *wt)
{
	int done;
	wt->kind = res->wait;
	wt->gen = res->wait_gen;
	snprintf(wt->db, sizeof(wt->db), "%s", res->wait_db);
	const char *err = wait_status(w, wt, &done);
	if (done) {
		list_init(&wt->node);
		wt->done(wt, err);
		return;
	}
	list_append(&w->admin->waiters, &wt->node);
}

void admin_unwait(struct admin_waiter *wt)
{
	list_del(&wt->node);
}

void admin_tick(struct worker *w)
{
	struct admin_state *a = w->admin;
	struct list *it, *n;
	if (!a)
		return;
	/* Servers that went idle in a paused pool (logins finishing, resets) are closed. */
	if (a->paused) {
		close_idle(w, "", "pooler paused");
	} else {
		list_for_each(it, &w->pools)
		{
			struct pool *p = list_entry(it, struct pool, node);
			if (p->db->paused && p->n_servers[SL_IDLE])
				close_idle(w, p->db->entry.name, "database paused");
		}
	}
	list_for_each_safe(it, n, &a->waiters)
	{
		struct admin_waiter *wt = list_entry(it, struct admin_waiter, node);
		int done;
		const char *err = wait_status(w, wt, &done);
		if (done) {
			list_del(&wt->node);
			wt->done(wt, err);
		}
	}
	admin_stats_tick(w);
	/* SHUTDOWN WAIT_FOR_CLIENTS: the last client (consoles aside) has left. */
	if (a->draining && w->n_clients - a->n_consoles <= 0) {
		log_info("all clients have left, exiting");
		ev_break(w->loop, EVBREAK_ALL);
	}
}

void admin_reloaded(struct worker *w, uint32_t gen, const char *err)
{
	struct admin_state *a = w->admin;
	if (!a)
		return;
	if ((int32_t)(gen - a->reload_done) > 0)
		a->reload_done = gen;
	snprintf(a->reload_err, sizeof(a->reload_err), "%s", err ? err : "");
	admin_tick(w);
}

int admin_ready(struct worker *w, char *why, size_t len)
{
	struct list *it;
	int pools = 0, failing = 0;
	if (w->shutdown || (w->admin && w->admin->draining)) {
		snprintf(why, len, "shutting down");
		return 0;
	}
	if (w->admin && w->admin->paused) {
		snprintf(why, len, "paused");
		return 0;
	}
	double now = worker_now(w);
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		pools++;
		failing += !pool_server_total(p) && p->last_connect_failure &&
		           now - p->last_connect_failure < w->cfg->server_login_retry;
	}
	if (pools && failing == pools) {
		snprintf(why, len, "no backend reachable");
		return 0;
	}
	snprintf(why, len, "ready");
	return 1;
}
