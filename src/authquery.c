/* auth_query lookups over asynchronous libpq connections, and their cache. */
#include "authquery.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "client.h"
#include "log.h"
#include "worker.h"

#define AQ_CACHE_MAX 4096 /* entries; the oldest half is dropped when full */

struct aq_entry {
	char db[CFG_NAME_MAX], user[CFG_NAME_MAX];
	char secret[CFG_SECRET_MAX]; /* "" = not found */
	double fetched;
};

struct aq_lookup {
	struct aq_lookup *next;
	struct authq *aq;
	struct client *cl;
	PGconn *pg;
	ev_io io;
	ev_timer timer;
	int sent; /* query sent; now reading results */
	char db[CFG_NAME_MAX], user[CFG_NAME_MAX];
	char secret[CFG_SECRET_MAX];
	int found;
};

struct authq {
	struct worker *w;
	struct aq_lookup *pending;
	struct aq_entry *cache;
	int n_cache;
};

static struct authq *get_aq(struct worker *w)
{
	struct access_state *st = w->access;
	if (!st->aq) {
		st->aq = calloc(1, sizeof(*st->aq));
		if (st->aq)
			st->aq->w = w;
	}
	return st->aq;
}

const char *authquery_user(const struct client *cl)
{
	const struct sluice_config *cfg = cl->c.w->cfg;
	if (cl->pool && cl->pool->db->entry.auth_user[0])
		return cl->pool->db->entry.auth_user;
	return cfg->auth_user ? cfg->auth_user : "";
}

static const char *lookup_db(const struct client *cl)
{
	const struct sluice_config *cfg = cl->c.w->cfg;
	const struct db_entry *e = &cl->pool->db->entry;
	if (cfg->auth_dbname && *cfg->auth_dbname)
		return cfg->auth_dbname;
	return e->dbname[0] ? e->dbname : e->name;
}

static struct aq_entry *cache_find(struct authq *aq, const char *db, const char *user)
{
	for (int i = aq->n_cache - 1; i >= 0; i--)
		if (!strcmp(aq->cache[i].user, user) && (!db || !strcmp(aq->cache[i].db, db)))
			return &aq->cache[i];
	return NULL;
}

static void cache_put(struct authq *aq, const char *db, const char *user, const char *secret,
                      double now)
{
	struct aq_entry *e = cache_find(aq, db, user);
	if (!e) {
		if (!aq->cache && !(aq->cache = calloc(AQ_CACHE_MAX, sizeof(*aq->cache))))
			return;
		if (aq->n_cache == AQ_CACHE_MAX) {
			int half = AQ_CACHE_MAX / 2;
			OPENSSL_cleanse(aq->cache, (size_t)half * sizeof(*aq->cache));
			memmove(aq->cache, aq->cache + half, (size_t)half * sizeof(*aq->cache));
			aq->n_cache = half;
		}
		e = &aq->cache[aq->n_cache++];
	}
	snprintf(e->db, sizeof(e->db), "%s", db);
	snprintf(e->user, sizeof(e->user), "%s", user);
	snprintf(e->secret, sizeof(e->secret), "%s", secret);
	e->fetched = now;
}

const char *authquery_cached_secret(struct worker *w, const char *user)
{
	struct authq *aq = w->access ? w->access->aq : NULL;
	struct aq_entry *e = aq ? cache_find(aq, NULL, user) : NULL;
	return e && e->secret[0] ? e->secret : NULL;
}

static void lookup_free(struct aq_lookup *lk)
{
	struct authq *aq = lk->aq;
	for (struct aq_lookup **pp = &aq->pending; *pp; pp = &(*pp)->next)
		if (*pp == lk) {
			*pp = lk->next;
			break;
		}
	if (ev_is_active(&lk->io))
		ev_io_stop(aq->w->loop, &lk->io);
	if (ev_is_active(&lk->timer))
		ev_timer_stop(aq->w->loop, &lk->timer);
	if (lk->pg)
		PQfinish(lk->pg);
	OPENSSL_cleanse(lk, sizeof(*lk));
	free(lk);
}

/* The lookup is over: cache a definite answer and hand it to the waiting client. */
static void lookup_done(struct aq_lookup *lk, const char *error)
{
	struct authq *aq = lk->aq;
	struct client *cl = lk->cl;
	char secret[CFG_SECRET_MAX], err[256] = "", user[CFG_NAME_MAX];
	snprintf(secret, sizeof(secret), "%s", lk->found ? lk->secret : "");
	snprintf(user, sizeof(user), "%s", lk->user);
	if (error) {
		/* libpq's text ends with a newline and lives in the connection freed below. */
		snprintf(err, sizeof(err), "%s", error);
		size_t n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
	} else {
		cache_put(aq, lk->db, lk->user, secret, worker_now(aq->w));
	}
	lookup_free(lk);
	if (error) {
		log_warn("auth_query for user \"%s\" failed: %s", user, err);
		if (cl) {
			char msg[300];
			snprintf(msg, sizeof(msg), "authentication query failed: %s", err);
			client_fatal(cl, "08006", msg);
		}
	} else if (cl) {
		client_auth_resume(cl, secret);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
}

static void watch(struct aq_lookup *lk, int events)
{
	struct ev_loop *loop = lk->aq->w->loop;
	if (ev_is_active(&lk->io))
		ev_io_stop(loop, &lk->io);
	/* libpq may change sockets while it tries addresses: re-arm on the current one. */
	ev_io_set(&lk->io, PQsocket(lk->pg), events);
	ev_io_start(loop, &lk->io);
}

static void read_results(struct aq_lookup *lk)
{
	if (!PQconsumeInput(lk->pg)) {
		lookup_done(lk, PQerrorMessage(lk->pg));
		return;
	}
	while (!PQisBusy(lk->pg)) {
		PGresult *res = PQgetResult(lk->pg);
		if (!res) {
			lookup_done(lk, NULL);
			return;
		}
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			char err[256];
			snprintf(err, sizeof(err), "%s", PQresultErrorMessage(res));
			PQclear(res);
			lookup_done(lk, err);
			return;
		}
		/* A NULL password means the role has none: no password login, like "not found". */
		if (PQntuples(res) >= 1 && PQnfields(res) >= 2 && !PQgetisnull(res, 0, 1) &&
		    strlen(PQgetvalue(res, 0, 1)) < sizeof(lk->secret)) {
			snprintf(lk->secret, sizeof(lk->secret), "%s", PQgetvalue(res, 0, 1));
			lk->found = 1;
		}
		PQclear(res);
	}
	watch(lk, EV_READ);
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct aq_lookup *lk = io->data;
	(void)loop;
	(void)revents;
	if (lk->sent) {
		int f = PQflush(lk->pg);
		if (f < 0) {
			lookup_done(lk, PQerrorMessage(lk->pg));
			return;
		}
		if (f == 1) {
			watch(lk, EV_READ | EV_WRITE);
			if (revents & EV_READ)
				PQconsumeInput(lk->pg);
			return;
		}
		read_results(lk);
		return;
	}
	switch (PQconnectPoll(lk->pg)) {
	case PGRES_POLLING_READING:
		watch(lk, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch(lk, EV_WRITE);
		return;
	case PGRES_POLLING_OK: {
		const char *vals[1] = {lk->user};
		const char *q = lk->aq->w->cfg->auth_query;
		if (!PQsendQueryParams(lk->pg, q, 1, NULL, vals, NULL, NULL, 0)) {
			lookup_done(lk, PQerrorMessage(lk->pg));
			return;
		}
		lk->sent = 1;
		watch(lk, EV_READ | EV_WRITE);
		return;
	}
	default:
		lookup_done(lk, PQerrorMessage(lk->pg));
		return;
	}
}

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	lookup_done(t->data, "timed out (server_connect_timeout)");
}

static const char *const sslmodes[] = {"disable", "allow",     "prefer",
                                       "require", "verify-ca", "verify-full"};

int authquery_lookup(struct client *cl, char *secret, size_t secretlen)
{
	struct worker *w = cl->c.w;
	const struct sluice_config *cfg = w->cfg;
	struct authq *aq = get_aq(w);
	const char *db = lookup_db(cl), *user = client_login_user(cl);
	if (!aq)
		goto oom;
	struct aq_entry *e = cache_find(aq, db, user);
	if (e && cfg->auth_cache_ttl > 0 && worker_now(w) - e->fetched < cfg->auth_cache_ttl) {
		snprintf(secret, secretlen, "%s", e->secret);
		return 0;
	}
	const struct db_entry *de = &cl->pool->db->entry;
	const char *auser = authquery_user(cl);
	const char *apw = de->password[0] && !strcmp(de->user, auser)
	                      ? de->password
	                      : config_find_secret(cfg, auser);
	char port[16];
	snprintf(port, sizeof(port), "%d", de->port);
	/* The server side's TLS settings apply to this connection too. Without a CA file libpq
	 * uses its own default root certificate location. */
	const char *keys[12], *vals[12];
	int k = 0;
	keys[k] = "host", vals[k++] = de->host[0] ? de->host : "/var/run/postgresql";
	keys[k] = "port", vals[k++] = port;
	keys[k] = "dbname", vals[k++] = db;
	keys[k] = "user", vals[k++] = auser;
	keys[k] = "password", vals[k++] = apw ? apw : "";
	keys[k] = "sslmode", vals[k++] = sslmodes[cfg->server_tls_sslmode];
	keys[k] = "connect_timeout", vals[k++] = "0"; /* our own timer bounds it */
	keys[k] = "application_name", vals[k++] = "sluice auth_query";
	keys[k] = "passfile", vals[k++] = "/dev/null";
	if (cfg->server_tls_ca_file && *cfg->server_tls_ca_file)
		keys[k] = "sslrootcert", vals[k++] = cfg->server_tls_ca_file;
	keys[k] = NULL, vals[k] = NULL;
	struct aq_lookup *lk = calloc(1, sizeof(*lk));
	if (!lk)
		goto oom;
	lk->aq = aq;
	lk->cl = cl;
	snprintf(lk->db, sizeof(lk->db), "%s", db);
	snprintf(lk->user, sizeof(lk->user), "%s", user);
	lk->next = aq->pending;
	aq->pending = lk;
	ev_init(&lk->io, io_cb);
	lk->io.data = lk;
	ev_timer_init(&lk->timer, timeout_cb,
	              cfg->server_connect_timeout > 0 ? cfg->server_connect_timeout : 15, 0);
	lk->timer.data = lk;
	ev_timer_start(w->loop, &lk->timer);
	lk->pg = PQconnectStartParams(keys, vals, 0);
	if (!lk->pg || PQstatus(lk->pg) == CONNECTION_BAD || PQsetnonblocking(lk->pg, 1) < 0) {
		lookup_done(lk, lk->pg ? PQerrorMessage(lk->pg) : "out of memory");
		return -1;
	}
	watch(lk, EV_WRITE);
	return 1;
oom:
	client_fatal(cl, "53200", "out of memory");
	return -1;
}

void authquery_cancel(struct client *cl)
{
	struct authq *aq = cl->c.w->access ? cl->c.w->access->aq : NULL;
	for (struct aq_lookup *lk = aq ? aq->pending : NULL; lk; lk = lk->next)
		if (lk->cl == cl) {
			lookup_free(lk);
			return;
		}
}

void authquery_free(struct authq *aq)
{
	if (!aq)
		return;
	while (aq->pending)
		lookup_free(aq->pending);
	if (aq->cache) {
		OPENSSL_cleanse(aq->cache, AQ_CACHE_MAX * sizeof(*aq->cache));
		free(aq->cache);
	}
	free(aq);
}
