/* Host selection and failover events for multi-host [databases] entries (worker side).
 *
 * The health checker (health.c, control plane) sends a snapshot of every host after each
 * probe. New server connections go to a host that satisfies the entry's target_session_attrs
 * by that snapshot; hosts the checker has not judged yet (or cannot log in to) are tried in
 * order, as libpq does. A connection that cannot be made marks its host down here at once
 * ("suspect") and wakes the checker, so the next report comes within one probe, not one
 * period. With no suitable host, hostsel_pick() fails and the pool holds its transactions
 * (failover_hold_timeout, pool.c); the report that shows a new primary relaunches them. */
#include "hostsel.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "dns.h"
#include "health.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "worker.h"

struct hs_host {
	double suspect_since; /* a login to it failed at this time; 0: none */
};

struct hs_db {
	char name[CFG_NAME_MAX];
	int primary;         /* host index of the known primary, -1 */
	double lost_since;   /* primary lost at, 0: not in a failover */
	unsigned rr;         /* round robin for target_session_attrs any/standby */
	unsigned rr_standby; /* tie-break among equally busy standbys for routed reads */
};

struct hostsel {
	struct host_report *rep;
	struct hs_host *hh; /* parallel to rep->h */
	struct hs_db *dbs;
	int n_dbs;
	struct hostsel_stats st;
};

static struct hostsel *get_hs(struct worker *w)
{
	if (!w->hostsel)
		w->hostsel = calloc(1, sizeof(*w->hostsel));
	return w->hostsel;
}

/* The name the checker knows a pool's entry by ("*" for databases from the fallback). */
static const char *entry_name(const struct pool_db *d)
{
	return d->from_fallback ? "*" : d->entry.name;
}

static int find_host(const struct hostsel *hs, const char *db, int idx)
{
	for (int k = 0; hs && hs->rep && k < hs->rep->n; k++)
		if (hs->rep->h[k].idx == idx && !strcmp(hs->rep->h[k].db, db))
			return k;
	return -1;
}

static struct hs_db *get_db(struct hostsel *hs, const char *name)
{
	for (int i = 0; i < hs->n_dbs; i++)
		if (!strcmp(hs->dbs[i].name, name))
			return &hs->dbs[i];
	struct hs_db *n = realloc(hs->dbs, (size_t)(hs->n_dbs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	hs->dbs = n;
	struct hs_db *d = &hs->dbs[hs->n_dbs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->primary = -1;
	return d;
}

static int suspect(const struct hostsel *hs, int k)
{
	return hs->hh[k].suspect_since > 0 &&
	       hs->hh[k].suspect_since >= hs->rep->h[k].probe_started;
}

enum { H_UNKNOWN, H_UP, H_DOWN };

static int judge(const struct hostsel *hs, int k)
{
	if (k < 0)
		return H_UNKNOWN;
	const struct host_info *h = &hs->rep->h[k];
	if (suspect(hs, k) || h->state == HOST_DOWN)
		return H_DOWN;
	if (h->state == HOST_UP || h->state == HOST_LAGGING)
		return H_UP;
	return H_UNKNOWN;
}

static int matches(const struct host_info *h, int tsa)
{
	switch (tsa) {
	case TSA_READ_WRITE:
		return h->role == HOST_ROLE_PRIMARY && !h->read_only;
	case TSA_PRIMARY:
		return h->role == HOST_ROLE_PRIMARY;
	case TSA_STANDBY:
	case TSA_PREFER_STANDBY:
		return h->role == HOST_ROLE_STANDBY && h->state == HOST_UP;
	default:
		return 1;
	}
}

/* The host for a new connection of entry e (checker name db): a judged-up host that matches,
 * round robin for any/standby (PgBouncer spreads a multi-host entry's connections), first in
 * order for primaries; else the first host not judged yet; else -1. */
static int pick(struct hostsel *hs, const struct db_entry *e, const char *db, int advance,
                char *why, size_t len)
{
	int tsa = e->target_session_attrs, n = e->n_hosts;
	struct hs_db *d = hs ? get_db(hs, db) : NULL;
	unsigned start =
	    d && (tsa == TSA_ANY || tsa == TSA_STANDBY || tsa == TSA_PREFER_STANDBY) ? d->rr : 0;
	for (int pass = 0; pass < 2; pass++) {
		int want = pass == 0 ? tsa : TSA_ANY; /* prefer-standby falls back to any host */
		if (pass == 1 && tsa != TSA_PREFER_STANDBY)
			break;
		for (int j = 0; j < n; j++) {
			int i = (int)((start + (unsigned)j) % (unsigned)n);
			int k = find_host(hs, db, i);
			if (k >= 0 && judge(hs, k) == H_UP && matches(&hs->rep->h[k], want)) {
				if (advance && d)
					d->rr = (unsigned)i + 1;
				return i;
			}
		}
	}
	int down = 0;
	for (int i = 0; i < n; i++) {
		int k = find_host(hs, db, i);
		if (judge(hs, k) == H_UNKNOWN)
			return i;
		down += judge(hs, k) == H_DOWN;
	}
	if (tsa == TSA_ANY && down == n) {
		/* Every host looks down: try them in turn anyway, as PgBouncer would. */
		int i = d ? (int)(d->rr++ % (unsigned)n) : 0;
		return i;
	}
	size_t o = (size_t)snprintf(why, len,
	                            "no host of \"%s\" is usable for target_session_attrs=%s:", db,
	                            config_tsa_name(tsa));
	for (int i = 0; i < n && o < len; i++) {
		int k = find_host(hs, db, i);
		const struct host_info *h = &hs->rep->h[k];
		o += (size_t)snprintf(why + o, len - o, "%s %s:%d %s", i ? "," : "",
		                      h->host[0] ? h->host : "unix", h->port,
		                      judge(hs, k) == H_DOWN ? "down" : host_role_name(h->role));
	}
	return -1;
}

int hostsel_pick(struct pool *pool, char *why, size_t len)
{
	const struct db_entry *e = &pool->db->entry;
	if (e->n_hosts <= 1)
		return 0;
	return pick(get_hs(pool->w), e, entry_name(pool->db), 1, why, len);
}

static int usable_standby(const struct hostsel *hs, int k)
{
	return k >= 0 && !suspect(hs, k) && hs->rep->h[k].role == HOST_ROLE_STANDBY &&
	       hs->rep->h[k].state == HOST_UP;
}

int hostsel_standby_usable(struct pool *pool, int idx)
{
	struct hostsel *hs = pool->w->hostsel;
	if (pool->db->entry.n_hosts <= 1 || !hs || !hs->rep)
		return 0;
	return usable_standby(hs, find_host(hs, entry_name(pool->db), idx));
}

int hostsel_has_standby(struct pool *pool)
{
	for (int i = 0; i < pool->db->entry.n_hosts; i++)
		if (hostsel_standby_usable(pool, i))
			return 1;
	return 0;
}

/* This worker's server connections to host idx of database db, across its pools. */
static int host_load(struct worker *w, const char *db, int idx)
{
	int n = 0;
	struct list *it, *s;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (strcmp(entry_name(p->db), db))
			continue;
		for (int l = 0; l < SL_COUNT; l++)
			list_for_each(s, &p->servers[l]) n +=
			    list_entry(s, struct server, node)->host_idx == idx;
	}
	return n;
}

int hostsel_pick_standby(struct pool *pool)
{
	const struct db_entry *e = &pool->db->entry;
	struct hostsel *hs = pool->w->hostsel;
	if (e->n_hosts <= 1 || !hs || !hs->rep)
		return -1;
	const char *db = entry_name(pool->db);
	struct hs_db *d = get_db(hs, db);
	unsigned start = d ? d->rr_standby : 0;
	int best = -1, best_load = 0;
	for (int j = 0; j < e->n_hosts; j++) {
		int i = (int)((start + (unsigned)j) % (unsigned)e->n_hosts);
		if (!usable_standby(hs, find_host(hs, db, i)))
			continue;
		int load = host_load(pool->w, db, i);
		if (best < 0 || load < best_load)
			best = i, best_load = load;
	}
	if (best >= 0 && d)
		d->rr_standby = (unsigned)best + 1;
	return best;
}

void hostsel_note_routed(struct worker *w, int to_standby)
{
	struct hostsel *hs = get_hs(w);
	if (hs && to_standby)
		hs->st.routed_standby++;
	else if (hs)
		hs->st.routed_primary++;
}

static int db_waiting(struct worker *w, const char *db)
{
	int n = 0;
	struct list *it, *i2;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (strcmp(entry_name(p->db), db))
			continue;
		n += p->n_waiting;
		list_for_each(i2, &p->welcome_waiters) n++;
	}
	return n;
}

/* Idle connections to a host that is gone or no longer primary are closed now: handing one
 * out would fail its transaction. Linked ones end with their transaction (failover.c). */
static void close_idle_where(struct worker *w, const char *db, int idx, int routed_only,
                             const char *reason)
{
	struct list *it, *s, *sn;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (strcmp(entry_name(p->db), db))
			continue;
		list_for_each_safe(s, sn, &p->servers[SL_IDLE])
		{
			struct server *srv = list_entry(s, struct server, node);
			if (srv->host_idx == idx && (!routed_only || srv->standby))
				server_close(srv, reason);
		}
	}
}

static void close_idle_to(struct worker *w, const char *db, int idx, const char *reason)
{
	close_idle_where(w, db, idx, 0, reason);
}

static int wants_primary(const struct sluice_config *cfg, const char *db)
{
	const struct db_entry *e = config_find_db(cfg, db);
	return e && (e->target_session_attrs == TSA_READ_WRITE ||
	             e->target_session_attrs == TSA_PRIMARY);
}

static void primary_lost(struct worker *w, struct hs_db *d, const struct host_info *h,
                         const char *why)
{
	struct hostsel *hs = w->hostsel;
	if (d->lost_since)
		return;
	d->lost_since = worker_now(w);
	hs->st.primary_lost++;
	log_warn("%s: primary %s:%d lost (%s)", d->name, h->host[0] ? h->host : "unix", h->port,
	         why);
	log_warn("%s: holding %d transactions for up to %g s (failover_hold_timeout) until the "
	         "health checker finds a primary",
	         d->name, db_waiting(w, d->name), w->cfg->failover_hold_timeout);
	close_idle_to(w, d->name, h->idx, "primary lost");
	d->primary = -1;
}

void hostsel_server_failed(struct server *srv, const char *why, int at_login)
{
	struct worker *w = srv->c.w;
	const struct db_entry *e = &srv->pool->db->entry;
	if (e->n_hosts <= 1)
		return;
	struct hostsel *hs = get_hs(w);
	const char *db = entry_name(srv->pool->db);
	int k = find_host(hs, db, srv->host_idx);
	if (hs)
		hs->st.host_failures++;
	health_wake(w->rt);
	if (!at_login || k < 0)
		return;
	hs->hh[k].suspect_since = worker_now(w);
	struct hs_db *d = get_db(hs, db);
	if (d && d->primary == srv->host_idx && wants_primary(w->cfg, db))
		primary_lost(w, d, &hs->rep->h[k], why);
	else
		close_idle_to(w, db, srv->host_idx, "host unreachable");
}

/* A usable host appeared for pools that are holding or waiting: launch for their waiters now
 * instead of at their next retry. */
static void relaunch(struct worker *w, const char *db)
{
	struct list *it;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (strcmp(entry_name(p->db), db))
			continue;
		p->last_connect_failure = 0; /* a usable host now: no back-off */
		pool_kick(p);
	}
}

static void close_idle_routed(struct worker *w, const char *db, int idx, int k)
{
	struct hostsel *hs = w->hostsel;
	const char *why = k < 0                                     ? "host unknown"
	                  : judge(hs, k) == H_DOWN                  ? "standby down"
	                  : hs->rep->h[k].role != HOST_ROLE_STANDBY ? "host no longer a standby"
	                  : hs->rep->h[k].state == HOST_LAGGING     ? "standby lagging"
	                                                            : "standby not usable";
	close_idle_where(w, db, idx, 1, why);
}

static void db_update(struct worker *w, struct hs_db *d)
{
	struct hostsel *hs = w->hostsel;
	const struct db_entry *e = config_find_db(w->cfg, d->name);
	if (!e || e->n_hosts <= 1)
		return;
	int cur = -1, k_cur = -1;
	for (int i = 0; i < e->n_hosts && cur < 0; i++) {
		int k = find_host(hs, d->name, i);
		if (k >= 0 && judge(hs, k) == H_UP && hs->rep->h[k].role == HOST_ROLE_PRIMARY)
			cur = i, k_cur = k;
	}
	int primary = wants_primary(w->cfg, d->name);
	if (d->primary >= 0 && cur != d->primary && !d->lost_since) {
		int k = find_host(hs, d->name, d->primary);
		if (k >= 0) {
			const struct host_info *h = &hs->rep->h[k];
			const char *why = judge(hs, k) == H_DOWN ? h->last_error
			                  : h->role == HOST_ROLE_STANDBY
			                      ? "it is in recovery now"
			                      : "its role is unknown now";
			if (primary)
				primary_lost(w, d, h, why[0] ? why : "down");
			else
				close_idle_to(w, d->name, d->primary, "host no longer primary");
		}
		d->primary = -1;
	}
	if (cur >= 0 && (cur != d->primary || d->lost_since)) {
		const struct host_info *h = &hs->rep->h[k_cur];
		if (d->lost_since) {
			double took = worker_now(w) - d->lost_since;
			int n = db_waiting(w, d->name);
			hs->st.new_primary++;
			hs->st.released += (uint64_t)n;
			hs->st.last_recovery_s = took;
			log_warn("%s: new primary %s:%d after %.0f ms", d->name,
			         h->host[0] ? h->host : "unix", h->port, took * 1000);
			log_info("%s: released %d held transactions to %s:%d", d->name, n,
			         h->host[0] ? h->host : "unix", h->port);
			d->lost_since = 0;
		} else {
			log_info("%s: primary is %s:%d (health check)", d->name,
			         h->host[0] ? h->host : "unix", h->port);
		}
		d->primary = cur;
	}
	/* Routed reads: idle connections to a host that is no longer a usable standby (promoted,
	 * lagging, down) are closed; a usable standby may serve waiting routed reads. */
	int standby_ok = 0;
	for (int i = 0; i < e->n_hosts; i++) {
		int k = find_host(hs, d->name, i);
		if (usable_standby(hs, k))
			standby_ok = 1;
		else
			close_idle_routed(w, d->name, i, k);
	}
	char why[8];
	if (standby_ok || pick(hs, e, d->name, 0, why, sizeof(why)) >= 0)
		relaunch(w, d->name);
}

void hostsel_report(struct worker *w, struct host_report *r)
{
	struct hostsel *hs = get_hs(w);
	struct hs_host *hh = r ? calloc((size_t)r->n + 1, sizeof(*hh)) : NULL;
	if (!hs || !r || !hh) {
		free(r);
		free(hh);
		return;
	}
	/* Suspect marks survive into the new snapshot until a probe that started later. */
	for (int k = 0; hs->rep && k < hs->rep->n; k++)
		for (int j = 0; j < r->n; j++)
			if (!strcmp(r->h[j].db, hs->rep->h[k].db) &&
			    !strcmp(r->h[j].host, hs->rep->h[k].host) &&
			    r->h[j].port == hs->rep->h[k].port)
				hh[j] = hs->hh[k];
	/* A host name whose health check fails may point elsewhere now (failover by DNS): the
	 * worker's cache asks again at once rather than at the TTL. Literal addresses and names no
	 * server connection has used are not in the cache, so this is a no-op for them. */
	for (int j = 0; j < r->n; j++) {
		if (r->h[j].state != HOST_DOWN || !r->h[j].host[0])
			continue;
		int was_down = 0;
		for (int k = 0; hs->rep && k < hs->rep->n; k++)
			if (!strcmp(r->h[j].db, hs->rep->h[k].db) &&
			    r->h[j].idx == hs->rep->h[k].idx)
				was_down = hs->rep->h[k].state == HOST_DOWN;
		if (dns_refresh(&w->dns, r->h[j].host) && !was_down)
			log_info("%s: health check of %s:%d failed; resolving \"%s\" again",
			         r->h[j].db, r->h[j].host, r->h[j].port, r->h[j].host);
	}
	free(hs->rep);
	free(hs->hh);
	hs->rep = r;
	hs->hh = hh;
	for (int k = 0; k < r->n; k++)
		if (k == 0 || strcmp(r->h[k].db, r->h[k - 1].db)) {
			struct hs_db *d = get_db(hs, r->h[k].db);
			if (d)
				db_update(w, d);
		}
}

int hostsel_row(struct worker *w, int i, struct hostsel_row *row)
{
	struct hostsel *hs = w->hostsel;
	if (!hs || !hs->rep || i < 0 || i >= hs->rep->n)
		return -1;
	const struct host_info *h = &hs->rep->h[i];
	memset(row, 0, sizeof(*row));
	row->db = h->db;
	row->idx = h->idx;
	row->host = h->host[0] ? h->host : "unix";
	row->port = h->port;
	row->role = h->role;
	row->state = suspect(hs, i) ? HOST_DOWN : h->state;
	row->suspect = suspect(hs, i);
	row->read_only = h->read_only;
	row->lag = h->lag;
	row->last_check = h->last_check;
	row->last_error = h->last_error;
	const struct db_entry *e = config_find_db(w->cfg, h->db);
	row->tsa = e ? config_tsa_name(e->target_session_attrs) : "";
	char why[8];
	row->selected =
	    e && e->n_hosts > h->idx && pick(hs, e, h->db, 0, why, sizeof(why)) == h->idx;
	struct list *it, *s;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (strcmp(entry_name(p->db), h->db))
			continue;
		for (int l = 0; l < SL_COUNT; l++)
			list_for_each(s, &p->servers[l])
			{
				struct server *srv = list_entry(s, struct server, node);
				if (srv->host_idx != h->idx)
					continue;
				if (l == SL_ACTIVE)
					row->sv_active++;
				else if (l == SL_IDLE)
					row->sv_idle++;
				else
					row->sv_other++;
			}
	}
	return 0;
}

struct hostsel_stats hostsel_stats(struct worker *w)
{
	struct hostsel_stats z = {0};
	return w->hostsel ? w->hostsel->st : z;
}

void hostsel_free(struct worker *w)
{
	struct hostsel *hs = w->hostsel;
	if (!hs)
		return;
	free(hs->rep);
	free(hs->hh);
	free(hs->dbs);
	free(hs);
	w->hostsel = NULL;
}
