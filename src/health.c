/* The health checker (control plane). Every health_check_period it opens a libpq connection to
 * each host of each multi-host [databases] entry (PQconnectStartParams/PQconnectPoll and
 * PQsendQuery driven by ev_io watchers on the main thread's loop, bounded by
 * health_check_timeout), asks whether the host is in recovery, whether it is read-only and how
 * far a standby's replay lags, and posts a snapshot of every host to the worker (WMSG_HOSTS).
 * The worker routes by it (hostsel.c) and never waits for a probe. A worker that sees a server
 * connection fail calls health_wake() so the next probe runs at once, not a period later.
 *
 * Single-host entries are not probed: there is nothing to choose, and the pool's own retries
 * (failover_hold_timeout) already notice when the server is back. */
#include "health.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "runtime.h"
#include "worker.h"

#define PROBE_SQL                                                                                  \
	"SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on', "            \
	"CASE WHEN NOT pg_is_in_recovery() THEN 0 "                                                \
	"WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "                        \
	"ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"

struct probe {
	struct health *hc;
	struct host_info info;
	char dbname[CFG_NAME_MAX], user[CFG_NAME_MAX];
	char password[CFG_SECRET_MAX];
	PGconn *pg;
	ev_io io;
	ev_timer timeout;
	int sent;  /* query sent; reading the answer */
	int again; /* woken while in flight: probe once more when this one ends */
	double started;
};

struct health {
	struct runtime *rt;
	ev_timer period;
	ev_async wake;
	struct probe *p;
	int n;
};

static const char *const role_names[] = {"unknown", "primary", "standby"};
static const char *const state_names[] = {"unchecked", "up", "down", "lagging", "no-login"};

const char *host_role_name(int role)
{
	return role >= 0 && role <= HOST_ROLE_STANDBY ? role_names[role] : "?";
}

const char *host_state_name(int state)
{
	return state >= 0 && state <= HOST_NOLOGIN ? state_names[state] : "?";
}

/* Who the probe logs in as: the entry's forced user=, else auth_user (the role auth_query
 * already uses), else the first auth_file user with a plaintext password that is not one of
 * admin_users/stats_users. libpq needs the
 * password itself, so md5 and SCRAM secrets cannot be used. */
static void probe_login(const struct sluice_config *cfg, const struct db_entry *e, struct probe *p)
{
	const char *user = e->user[0]                          ? e->user
	                   : e->auth_user[0]                   ? e->auth_user
	                   : cfg->auth_user && *cfg->auth_user ? cfg->auth_user
	                                                       : NULL;
	const char *pw = NULL;
	if (user) {
		pw = e->password[0] && !strcmp(user, e->user) ? e->password
		                                              : config_find_secret(cfg, user);
	} else {
		for (int i = 0; i < cfg->n_userlist && !user; i++) {
			const char *s = cfg->userlist[i].secret, *name = cfg->userlist[i].name;
			/* console-only users are rarely database roles */
			if (strncmp(s, "md5", 3) && strncmp(s, "SCRAM-SHA-256$", 14) &&
			    !config_list_has(cfg->admin_users, name, 0) &&
			    !config_list_has(cfg->stats_users, name, 0))
				user = name, pw = s;
		}
	}
	snprintf(p->user, sizeof(p->user), "%s", user ? user : "postgres");
	snprintf(p->password, sizeof(p->password), "%s",
	         pw && strncmp(pw, "md5", 3) && strncmp(pw, "SCRAM-SHA-256$", 14) ? pw : "");
}

static void post_report(struct health *hc)
{
	struct host_report *r = malloc(sizeof(*r) + (size_t)hc->n * sizeof(r->h[0]));
	struct worker_msg *m = calloc(1, sizeof(*m));
	if (!r || !m) {
		free(r);
		free(m);
		return;
	}
	r->n = hc->n;
	for (int i = 0; i < hc->n; i++)
		r->h[i] = hc->p[i].info;
	m->type = WMSG_HOSTS;
	m->data = r;
	worker_post(&hc->rt->worker, m);
}

static void probe_stop(struct probe *p)
{
	struct ev_loop *loop = p->hc->rt->loop;
	if (ev_is_active(&p->io))
		ev_io_stop(loop, &p->io);
	if (ev_is_active(&p->timeout))
		ev_timer_stop(loop, &p->timeout);
	if (p->pg)
		PQfinish(p->pg);
	p->pg = NULL;
	p->sent = 0;
}

static void probe_start(struct probe *p);

/* A probe ended: record the outcome, log changes, tell the worker. error NULL: success. */
static void probe_done(struct probe *p, const char *error)
{
	struct host_info *h = &p->info;
	int old_state = h->state, old_role = h->role;
	char err[256] = "";
	if (error) {
		snprintf(err, sizeof(err), "%s", error);
		size_t n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		for (char *c = err; *c; c++)
			if (*c == '\n')
				*c = ' ';
	}
	probe_stop(p);
	h->probe_started = p->started;
	h->last_check = ev_now(p->hc->rt->loop);
	if (error) {
		/* A host that answers but refuses the probe's login is not down: its role is
		 * just unknown. Anything else (refused, timed out, starting up) is down. */
		int nologin = strstr(err, "password") || strstr(err, "authentication") ||
		              strstr(err, "does not exist") || strstr(err, "pg_hba.conf");
		h->state = nologin ? HOST_NOLOGIN : HOST_DOWN;
		h->role = HOST_ROLE_UNKNOWN;
		snprintf(h->last_error, sizeof(h->last_error), "%s", err);
	} else {
		const struct sluice_config *cfg = p->hc->rt->cfg;
		h->state = h->role == HOST_ROLE_STANDBY && h->lag > cfg->max_replica_lag
		               ? HOST_LAGGING
		               : HOST_UP;
		h->last_error[0] = '\0';
	}
	if (h->state != old_state || h->role != old_role) {
		if (h->state == HOST_DOWN || h->state == HOST_NOLOGIN)
			log_warn("health check: %s host %s:%d is %s: %s", h->db,
			         h->host[0] ? h->host : "unix", h->port, host_state_name(h->state),
			         h->last_error);
		else
			log_info("health check: %s host %s:%d is %s, %s (lag %.1f s)", h->db,
			         h->host[0] ? h->host : "unix", h->port, host_state_name(h->state),
			         host_role_name(h->role), h->lag);
	}
	post_report(p->hc);
	if (p->again) {
		p->again = 0;
		probe_start(p);
	}
}

static void watch(struct probe *p, int events)
{
	struct ev_loop *loop = p->hc->rt->loop;
	if (ev_is_active(&p->io))
		ev_io_stop(loop, &p->io);
	/* libpq may change sockets while it tries addresses: re-arm on the current one. */
	ev_io_set(&p->io, PQsocket(p->pg), events);
	ev_io_start(loop, &p->io);
}

static void read_answer(struct probe *p)
{
	if (!PQconsumeInput(p->pg)) {
		probe_done(p, PQerrorMessage(p->pg));
		return;
	}
	while (!PQisBusy(p->pg)) {
		PGresult *res = PQgetResult(p->pg);
		if (!res) {
			probe_done(p, NULL);
			return;
		}
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			char err[256];
			snprintf(err, sizeof(err), "health check query failed: %s",
			         PQresultErrorMessage(res));
			PQclear(res);
			probe_done(p, err);
			return;
		}
		if (PQntuples(res) == 1 && PQnfields(res) == 3) {
			p->info.role =
			    PQgetvalue(res, 0, 0)[0] == 't' ? HOST_ROLE_STANDBY : HOST_ROLE_PRIMARY;
			p->info.read_only = PQgetvalue(res, 0, 1)[0] == 't';
			p->info.lag = PQgetisnull(res, 0, 2) ? 0 : atof(PQgetvalue(res, 0, 2));
		}
		PQclear(res);
	}
	watch(p, EV_READ);
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct probe *p = io->data;
	(void)loop;
	if (p->sent) {
		int f = PQflush(p->pg);
		if (f < 0) {
			probe_done(p, PQerrorMessage(p->pg));
			return;
		}
		if (f == 1) {
			watch(p, EV_READ | EV_WRITE);
			if (revents & EV_READ)
				PQconsumeInput(p->pg);
			return;
		}
		read_answer(p);
		return;
	}
	switch (PQconnectPoll(p->pg)) {
	case PGRES_POLLING_READING:
		watch(p, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch(p, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		if (!PQsendQuery(p->pg, PROBE_SQL)) {
			probe_done(p, PQerrorMessage(p->pg));
			return;
		}
		p->sent = 1;
		watch(p, EV_READ | EV_WRITE);
		return;
	default:
		probe_done(p, PQerrorMessage(p->pg));
		return;
	}
}

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct probe *p = t->data;
	char msg[128];
	(void)loop;
	(void)revents;
	snprintf(msg, sizeof(msg), "no answer within %g s (health_check_timeout)",
	         p->hc->rt->cfg->health_check_timeout);
	probe_done(p, msg);
}

static const char *const sslmodes[] = {"disable", "allow",     "prefer",
                                       "require", "verify-ca", "verify-full"};

static void probe_start(struct probe *p)
{
	struct health *hc = p->hc;
	const struct sluice_config *cfg = hc->rt->cfg;
	char port[16];
	if (p->pg) {
		p->again = 1;
		return;
	}
	ev_now_update(hc->rt->loop);
	p->started = ev_now(hc->rt->loop);
	snprintf(port, sizeof(port), "%d", p->info.port);
	const char *keys[12], *vals[12];
	int k = 0;
	keys[k] = "host", vals[k++] = p->info.host[0] ? p->info.host : "/var/run/postgresql";
	keys[k] = "port", vals[k++] = port;
	keys[k] = "dbname", vals[k++] = p->dbname;
	keys[k] = "user", vals[k++] = p->user;
	keys[k] = "password", vals[k++] = p->password;
	keys[k] = "sslmode", vals[k++] = sslmodes[cfg->server_tls_sslmode];
	keys[k] = "connect_timeout", vals[k++] = "0"; /* our own timer bounds it */
	keys[k] = "application_name", vals[k++] = "sluice health check";
	keys[k] = "passfile", vals[k++] = "/dev/null";
	if (cfg->server_tls_ca_file && *cfg->server_tls_ca_file)
		keys[k] = "sslrootcert", vals[k++] = cfg->server_tls_ca_file;
	keys[k] = NULL, vals[k] = NULL;
	ev_timer_set(&p->timeout, cfg->health_check_timeout, 0);
	ev_timer_start(hc->rt->loop, &p->timeout);
	p->pg = PQconnectStartParams(keys, vals, 0);
	if (!p->pg || PQstatus(p->pg) == CONNECTION_BAD || PQsetnonblocking(p->pg, 1) < 0) {
		probe_done(p, p->pg ? PQerrorMessage(p->pg) : "out of memory");
		return;
	}
	watch(p, EV_WRITE);
}

static void probe_all(struct health *hc)
{
	for (int i = 0; i < hc->n; i++)
		if (!hc->p[i].pg)
			probe_start(&hc->p[i]);
}

static void period_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	probe_all(t->data);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct health *hc = a->data;
	(void)loop;
	(void)revents;
	/* A probe already in flight may have started before the failure: run one more. */
	for (int i = 0; i < hc->n; i++)
		probe_start(&hc->p[i]);
}

void health_wake(struct runtime *rt)
{
	if (rt && rt->health)
		ev_async_send(rt->loop, &rt->health->wake);
}

static void free_probes(struct health *hc)
{
	for (int i = 0; i < hc->n; i++) {
		probe_stop(&hc->p[i]);
		OPENSSL_cleanse(hc->p[i].password, sizeof(hc->p[i].password));
	}
	free(hc->p);
	hc->p = NULL;
	hc->n = 0;
}

/* The hosts of the current snapshot; a host already known keeps its last state. */
static int build(struct health *hc)
{
	const struct sluice_config *cfg = hc->rt->cfg;
	int n = 0;
	for (int d = 0; d < cfg->n_dbs; d++)
		if (cfg->dbs[d].n_hosts > 1)
			n += cfg->dbs[d].n_hosts;
	struct probe *np = n ? calloc((size_t)n, sizeof(*np)) : NULL;
	if (n && !np)
		return -1;
	int k = 0;
	for (int d = 0; d < cfg->n_dbs; d++) {
		const struct db_entry *e = &cfg->dbs[d];
		if (e->n_hosts <= 1)
			continue;
		for (int i = 0; i < e->n_hosts; i++, k++) {
			struct probe *p = &np[k];
			p->hc = hc;
			struct host_info *h = &p->info;
			snprintf(h->db, sizeof(h->db), "%s", e->name);
			h->idx = i;
			snprintf(h->host, sizeof(h->host), "%s", e->hosts[i].host);
			h->port = e->hosts[i].port;
			for (int j = 0; j < hc->n; j++) {
				const struct host_info *o = &hc->p[j].info;
				if (!strcmp(o->db, h->db) && !strcmp(o->host, h->host) &&
				    o->port == h->port) {
					*h = *o;
					h->idx = i;
				}
			}
			/* "*" has no database of its own: probe the maintenance database. */
			snprintf(p->dbname, sizeof(p->dbname), "%s",
			         e->dbname[0]           ? e->dbname
			         : strcmp(e->name, "*") ? e->name
			                                : "postgres");
			probe_login(cfg, e, p);
			ev_init(&p->io, io_cb);
			p->io.data = p;
			ev_init(&p->timeout, timeout_cb);
			p->timeout.data = p;
		}
	}
	free_probes(hc);
	hc->p = np;
	hc->n = n;
	return 0;
}

int health_init(struct runtime *rt)
{
	struct health *hc = calloc(1, sizeof(*hc));
	if (!hc)
		return -1;
	hc->rt = rt;
	rt->health = hc;
	ev_async_init(&hc->wake, wake_cb);
	hc->wake.data = hc;
	ev_async_start(rt->loop, &hc->wake);
	ev_init(&hc->period, period_cb);
	hc->period.data = hc;
	health_reconfigure(rt);
	return 0;
}

void health_reconfigure(struct runtime *rt)
{
	struct health *hc = rt->health;
	if (!hc)
		return;
	if (build(hc) < 0)
		log_error("health check: out of memory; host states are not updated");
	if (hc->n)
		log_info("health check: probing %d host(s) every %g s (health_check_period)", hc->n,
		         rt->cfg->health_check_period);
	ev_timer_stop(rt->loop, &hc->period);
	if (hc->n) {
		ev_timer_set(&hc->period, 0, rt->cfg->health_check_period);
		ev_timer_start(rt->loop, &hc->period);
	}
	post_report(hc); /* the worker forgets hosts that are gone */
}

void health_free(struct runtime *rt)
{
	struct health *hc = rt->health;
	if (!hc)
		return;
	ev_timer_stop(rt->loop, &hc->period);
	ev_async_stop(rt->loop, &hc->wake);
	free_probes(hc);
	free(hc);
	rt->health = NULL;
}
