/* Prometheus exposition of sluice's counters (see include/metrics.h and docs/metrics.md). */
#include "metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "client.h"
#include "gov.h"
#include "governor.h"
#include "health.h"
#include "hostcap.h"
#include "hostsel.h"
#include "pool.h"
#include "worker.h"

/* jemalloc's control interface when the executable links jemalloc (weak: absent otherwise). */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

static const double bounds[METRICS_NB] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};

int metrics_init(struct worker *w)
{
	w->admin->hist = calloc(1, sizeof(struct metrics_hist));
	return w->admin->hist ? 0 : -1;
}

void metrics_free(struct worker *w)
{
	free(w->admin->hist);
	w->admin->hist = NULL;
}

static int bucket(double secs)
{
	int i = 0;
	while (i < METRICS_NB && secs > bounds[i])
		i++;
	return i;
}

void metrics_observe_xact(struct worker *w, double secs)
{
	struct metrics_hist *h = w->admin ? w->admin->hist : NULL;
	if (!h)
		return;
	h->xact[bucket(secs)]++;
	h->xact_sum += secs;
	h->xact_n++;
}

void metrics_observe_wait(struct worker *w, double secs)
{
	struct metrics_hist *h = w->admin ? w->admin->hist : NULL;
	if (!h)
		return;
	h->wait[bucket(secs)]++;
	h->wait_sum += secs;
	h->wait_n++;
}

static void out(struct wbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct wbuf *b, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		wb_put(b, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* A label value with \, " and newline escaped, into buf. */
static const char *esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void head(struct wbuf *b, const char *name, const char *type, const char *help)
{
	out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void hist(struct wbuf *b, const char *name, const char *help, const uint64_t *cnt,
                 double sum, uint64_t n)
{
	uint64_t cum = 0;
	head(b, name, "histogram", help);
	for (int i = 0; i < METRICS_NB; i++) {
		cum += cnt[i];
		out(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
	}
	out(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)n);
	out(b, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, (unsigned long long)n);
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

static long long resident_bytes(void)
{
	long long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld %lld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

/* Per-pool families: one metric name, one line per pool. */
enum pool_field {
	PF_CL_ACTIVE,
	PF_CL_WAITING,
	PF_SV_ACTIVE,
	PF_SV_IDLE,
	PF_SV_TESTED,
	PF_SV_LOGIN,
};

static void pool_gauge(struct worker *w, struct wbuf *b, const char *name, const char *statekey,
                       const char *const states[], const enum pool_field fields[], int nstates,
                       const char *help)
{
	struct list *it, *jt;
	char d[160], u[160];
	head(b, name, "gauge", help);
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		int waiting = 0;
		list_for_each(jt, &p->clients)
		{
			struct client *cl = container_of(jt, struct client, pool_node);
			waiting += cl->state == CL_WAITING || cl->state == CL_GOV_WAIT;
		}
		for (int s = 0; s < nstates; s++) {
			long long v = 0;
			switch (fields[s]) {
			case PF_CL_ACTIVE:
				v = p->n_clients - waiting;
				break;
			case PF_CL_WAITING:
				v = waiting;
				break;
			case PF_SV_ACTIVE:
				v = p->n_servers[SL_ACTIVE];
				break;
			case PF_SV_IDLE:
				v = p->n_servers[SL_IDLE];
				break;
			case PF_SV_TESTED:
				v = p->n_servers[SL_TESTING];
				break;
			case PF_SV_LOGIN:
				v = p->n_servers[SL_LOGIN];
				break;
			}
			out(b, "%s{database=\"%s\",user=\"%s\",%s=\"%s\"} %lld\n", name,
			    esc(p->db->entry.name, d, sizeof(d)), esc(p->user->name, u, sizeof(u)),
			    statekey, states[s], v);
		}
	}
}

#define POOL_COUNTER(NAME, HELP, EXPR)                                                             \
	do {                                                                                       \
		head(b, NAME, "counter", HELP);                                                    \
		list_for_each(it, &w->pools)                                                       \
		{                                                                                  \
			struct pool *p = list_entry(it, struct pool, node);                        \
			out(b, "%s{database=\"%s\",user=\"%s\"} %.6f\n", NAME,                     \
			    esc(p->db->entry.name, d, sizeof(d)),                                  \
			    esc(p->user->name, u, sizeof(u)), (double)(EXPR));                     \
		}                                                                                  \
	} while (0)

static void tenants(struct worker *w, struct wbuf *b)
{
	struct list *it, *jt;
	char t[160];
	double now = worker_now(w);
	static const struct {
		const char *name, *type, *help;
		int field;
	} fam[] = {
	    {"sluice_tenant_server_connections", "gauge",
	     "Server connections (slots) held by the tenant's transactions.", 0},
	    {"sluice_tenant_clients", "gauge", "Client connections of the tenant.", 1},
	    {"sluice_tenant_queued", "gauge", "Transactions of the tenant waiting for a slot.", 2},
	    {"sluice_tenant_max_server_conn", "gauge",
	     "The tenant's max_server_conn in effect (0: unlimited).", 3},
	    {"sluice_tenant_admitted_total", "counter", "Transactions given a slot.", 4},
	    {"sluice_tenant_rate_delayed_total", "counter",
	     "Transactions delayed by xact_rate before getting a slot.", 5},
	    {"sluice_tenant_statements_delayed_total", "counter",
	     "Statements held back by query_rate.", 6},
	    {"sluice_tenant_login_refused_total", "counter",
	     "Logins refused for the tenant's max_client_conn.", 7},
	    {"sluice_tenant_wait_seconds_total", "counter",
	     "Time the tenant's transactions spent queued.", 8},
	    {"sluice_tenant_server_seconds_total", "counter",
	     "Server time used by the tenant's finished transactions.", 9},
	    {"sluice_tenant_xact_tokens", "gauge",
	     "Tokens in the tenant's xact_rate bucket (-1: unlimited).", 10},
	};
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		head(b, fam[f].name, fam[f].type, fam[f].help);
		list_for_each(it, &w->gov.tenants)
		{
			struct gov_tenant *gt = list_entry(it, struct gov_tenant, node);
			struct sched_counters c = {0};
			int held = 0;
			list_for_each(jt, &gt->dts)
			{
				struct gov_dt *dt = list_entry(jt, struct gov_dt, node);
				held += dt->st.in_use;
				c.admitted += dt->st.c.admitted;
				c.delayed += dt->st.c.delayed;
				c.wait_time += dt->st.c.wait_time;
				c.server_time += dt->st.c.server_time;
			}
			double v = 0;
			switch (fam[f].field) {
			case 0:
				v = held;
				break;
			case 1:
				v = gt->n_clients;
				break;
			case 2:
				v = gt->n_queued;
				break;
			case 3:
				v = gt->conf ? gt->conf->max_server_conn : 0;
				break;
			case 4:
				v = (double)c.admitted;
				break;
			case 5:
				v = (double)c.delayed;
				break;
			case 6:
				v = (double)gt->st.stmt_delayed;
				break;
			case 7:
				v = (double)gt->st.login_refused;
				break;
			case 8:
				v = c.wait_time;
				break;
			case 9:
				v = c.server_time;
				break;
			case 10:
				v = tb_level(&gt->xact_tb, now);
				break;
			}
			out(b, "%s{tenant=\"%s\"} %.6f\n", fam[f].name, esc(gt->name, t, sizeof(t)),
			    v);
		}
	}
	head(b, "sluice_tenant_shed_total", "counter",
	     "Transactions refused by the governor, by reason.");
	list_for_each(it, &w->gov.tenants)
	{
		struct gov_tenant *gt = list_entry(it, struct gov_tenant, node);
		esc(gt->name, t, sizeof(t));
		out(b, "sluice_tenant_shed_total{tenant=\"%s\",reason=\"queue_full\"} %llu\n", t,
		    (unsigned long long)gt->st.queue_full);
		out(b, "sluice_tenant_shed_total{tenant=\"%s\",reason=\"queue_timeout\"} %llu\n", t,
		    (unsigned long long)gt->st.timed_out);
		out(b, "sluice_tenant_shed_total{tenant=\"%s\",reason=\"rate\"} %llu\n", t,
		    (unsigned long long)gt->st.rate_shed);
	}
}

static void classes(struct worker *w, struct wbuf *b)
{
	const struct governor_conf *gc = w->cfg->gov;
	struct list *it;
	char c[160];
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"sluice_class_in_use", "gauge", "Slots held by transactions of the class."},
	    {"sluice_class_queued", "gauge", "Transactions of the class waiting for a slot."},
	    {"sluice_class_admitted_total", "counter", "Transactions of the class given a slot."},
	    {"sluice_class_shed_total", "counter", "Transactions of the class refused."},
	    {"sluice_class_rate_delayed_total", "counter",
	     "Transactions of the class delayed by rate limits."},
	    {"sluice_class_wait_seconds_total", "counter",
	     "Time transactions of the class spent queued."},
	    {"sluice_class_server_seconds_total", "counter",
	     "Server time used by finished transactions of the class."},
	};
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		head(b, fam[f].name, fam[f].type, fam[f].help);
		for (int i = 0; gc && i < gc->n_classes; i++) {
			double v = 0;
			list_for_each(it, &w->pusers)
			{
				struct pool_user *pu = list_entry(it, struct pool_user, node);
				if (!pu->gov || i >= pu->gov->s.n_classes)
					continue;
				const struct sched_class *sc = &pu->gov->s.cls[i];
				double x[] = {sc->in_use,
				              sc->n_waiting,
				              (double)sc->c.admitted,
				              (double)sc->c.shed,
				              (double)sc->c.delayed,
				              sc->c.wait_time,
				              sc->c.server_time};
				v += x[f];
			}
			out(b, "%s{class=\"%s\"} %.6f\n", fam[f].name,
			    esc(gc->classes[i].name, c, sizeof(c)), v);
		}
	}
}

/* Hosts of multi-host entries (hostsel.c) and the failover counters. */
static void hosts(struct worker *w, struct wbuf *b)
{
	char d[160], h[600];
	struct hostsel_row r;
	struct hostsel_stats st = hostsel_stats(w);
	head(b, "sluice_host_up", "gauge",
	     "1 when the health checker reached the host of a multi-host entry and it is usable.");
	for (int i = 0; hostsel_row(w, i, &r) == 0; i++)
		out(b, "sluice_host_up{database=\"%s\",host=\"%s\",port=\"%d\"} %d\n",
		    esc(r.db, d, sizeof(d)), esc(r.host, h, sizeof(h)), r.port,
		    r.state == HOST_UP || r.state == HOST_LAGGING);
	head(
	    b, "sluice_host_role", "gauge",
	    "1 for the host's role as the health checker last saw it (primary, standby, unknown).");
	for (int i = 0; hostsel_row(w, i, &r) == 0; i++)
		out(b, "sluice_host_role{database=\"%s\",host=\"%s\",port=\"%d\",role=\"%s\"} 1\n",
		    esc(r.db, d, sizeof(d)), esc(r.host, h, sizeof(h)), r.port,
		    host_role_name(r.role));
	head(b, "sluice_host_replica_lag_seconds", "gauge", "Replay lag of a standby host.");
	for (int i = 0; hostsel_row(w, i, &r) == 0; i++)
		if (r.role == HOST_ROLE_STANDBY)
			out(b,
			    "sluice_host_replica_lag_seconds{database=\"%s\",host=\"%s\",port=\"%"
			    "d\"} "
			    "%.3f\n",
			    esc(r.db, d, sizeof(d)), esc(r.host, h, sizeof(h)), r.port, r.lag);
	struct hostcap_row hr;
	head(b, "sluice_host_server_connections", "gauge",
	     "Server connections open or opening to the host (max_host_connections counts these).");
	for (int i = 0; hostcap_row(w, i, &hr) == 0; i++)
		out(b, "sluice_host_server_connections{host=\"%s\",port=\"%d\"} %d\n",
		    esc(hr.host, h, sizeof(h)), hr.port, hr.servers);
	head(b, "sluice_host_connects_delayed_total", "counter",
	     "New server connections put off by server_connect_rate.");
	for (int i = 0; hostcap_row(w, i, &hr) == 0; i++)
		out(b, "sluice_host_connects_delayed_total{host=\"%s\",port=\"%d\"} %llu\n",
		    esc(hr.host, h, sizeof(h)), hr.port, (unsigned long long)hr.delayed);
	head(b, "sluice_host_connects_capped_total", "counter",
	     "New server connections refused at max_host_connections (the transaction waited).");
	for (int i = 0; hostcap_row(w, i, &hr) == 0; i++)
		out(b, "sluice_host_connects_capped_total{host=\"%s\",port=\"%d\"} %llu\n",
		    esc(hr.host, h, sizeof(h)), hr.port, (unsigned long long)hr.capped);
	head(b, "sluice_failover_primary_lost_total", "counter",
	     "Times the primary of a read-write/primary entry was lost.");
	out(b, "sluice_failover_primary_lost_total %llu\n", (unsigned long long)st.primary_lost);
	head(b, "sluice_failover_new_primary_total", "counter",
	     "Times a new primary (or the old one back) was found after a loss.");
	out(b, "sluice_failover_new_primary_total %llu\n", (unsigned long long)st.new_primary);
	head(b, "sluice_failover_released_transactions_total", "counter",
	     "Held transactions released to a new primary.");
	out(b, "sluice_failover_released_transactions_total %llu\n",
	    (unsigned long long)st.released);
	head(b, "sluice_failover_host_failures_total", "counter",
	     "Server connections to hosts of multi-host entries that failed (each wakes the "
	     "health checker).");
	out(b, "sluice_failover_host_failures_total %llu\n", (unsigned long long)st.host_failures);
	head(b, "sluice_routed_transactions_total", "counter",
	     "Transactions routed as reads (a class's route = replica/prefer-replica, "
	     "read_only_routing), by where they ran.");
	out(b, "sluice_routed_transactions_total{ran_on=\"standby\"} %llu\n",
	    (unsigned long long)st.routed_standby);
	out(b, "sluice_routed_transactions_total{ran_on=\"primary\"} %llu\n",
	    (unsigned long long)st.routed_primary);
	head(b, "sluice_failover_last_recovery_seconds", "gauge",
	     "Primary lost to new primary found, the last time.");
	out(b, "sluice_failover_last_recovery_seconds %.3f\n", st.last_recovery_s);
}

int metrics_render(struct worker *w, struct wbuf *b)
{
	struct list *it;
	char d[160], u[160], why[64];
	double now = ev_time();
	const struct worker_stats *st = &w->stats;

	head(b, "sluice_info", "gauge", "Always 1; the version is a label.");
	out(b, "sluice_info{version=\"%s\"} 1\n", SLUICE_VERSION);
	head(b, "sluice_uptime_seconds", "gauge", "Seconds since sluice started.");
	out(b, "sluice_uptime_seconds %.3f\n", now - w->admin->started);
	head(b, "process_start_time_seconds", "gauge", "Start time of the process (Unix time).");
	out(b, "process_start_time_seconds %.3f\n", w->admin->started);
	long fds = count_fds();
	if (fds >= 0) {
		head(b, "process_open_fds", "gauge", "Open file descriptors.");
		out(b, "process_open_fds %ld\n", fds);
	}
	long long rss = resident_bytes();
	if (rss >= 0) {
		head(b, "process_resident_memory_bytes", "gauge", "Resident memory size.");
		out(b, "process_resident_memory_bytes %lld\n", rss);
	}
	if (mallctl) {
		uint64_t epoch = 1;
		size_t alloc = 0, resident = 0, sz = sizeof(size_t), esz = sizeof(epoch);
		mallctl("epoch", &epoch, &esz, &epoch, esz);
		if (mallctl("stats.allocated", &alloc, &sz, NULL, 0) == 0 &&
		    mallctl("stats.resident", &resident, &sz, NULL, 0) == 0) {
			head(b, "sluice_memory_allocated_bytes", "gauge",
			     "Bytes allocated by the application (jemalloc stats.allocated).");
			out(b, "sluice_memory_allocated_bytes %zu\n", alloc);
			head(b, "sluice_memory_resident_bytes", "gauge",
			     "Bytes in physically resident allocator pages (jemalloc "
			     "stats.resident).");
			out(b, "sluice_memory_resident_bytes %zu\n", resident);
		}
	}
	head(b, "sluice_ready", "gauge", "1 when /readyz answers 200.");
	out(b, "sluice_ready %d\n", admin_ready(w, why, sizeof(why)));
	head(b, "sluice_paused", "gauge", "1 while a global PAUSE is in effect.");
	out(b, "sluice_paused %d\n", w->admin->paused);
	head(b, "sluice_client_connections", "gauge", "Client connections open (all states).");
	out(b, "sluice_client_connections %d\n", w->n_clients);
	head(b, "sluice_clients_accepted_total", "counter", "Client connections accepted.");
	out(b, "sluice_clients_accepted_total %llu\n", (unsigned long long)st->clients_accepted);
	head(b, "sluice_clients_refused_total", "counter",
	     "Client connections refused for connection limits.");
	out(b, "sluice_clients_refused_total %llu\n", (unsigned long long)st->clients_refused);
	head(b, "sluice_logins_total", "counter", "Client logins, by result.");
	out(b, "sluice_logins_total{result=\"ok\"} %llu\n", (unsigned long long)st->logins_ok);
	out(b, "sluice_logins_total{result=\"failed\"} %llu\n",
	    (unsigned long long)st->logins_failed);
	head(b, "sluice_server_connects_total", "counter", "Server connections started.");
	out(b, "sluice_server_connects_total %llu\n", (unsigned long long)st->server_connects);
	head(b, "sluice_server_connect_failures_total", "counter",
	     "Server connections that failed to connect or log in.");
	out(b, "sluice_server_connect_failures_total %llu\n",
	    (unsigned long long)st->server_connect_failures);
	head(b, "sluice_query_wait_timeouts_total", "counter",
	     "Clients refused after query_wait_timeout.");
	out(b, "sluice_query_wait_timeouts_total %llu\n", (unsigned long long)st->wait_timeouts);
	head(b, "sluice_received_bytes_total", "counter", "Bytes read from all sockets.");
	out(b, "sluice_received_bytes_total %llu\n", (unsigned long long)st->bytes_in);
	head(b, "sluice_sent_bytes_total", "counter", "Bytes written to all sockets.");
	out(b, "sluice_sent_bytes_total %llu\n", (unsigned long long)st->bytes_out);

	static const char *const cstates[] = {"active", "waiting"};
	static const enum pool_field cf[] = {PF_CL_ACTIVE, PF_CL_WAITING};
	pool_gauge(w, b, "sluice_pool_clients", "state", cstates, cf, 2,
	           "Client connections of the pool by state (active: idle or linked; waiting: "
	           "queued for a server or a governor slot).");
	static const char *const sstates[] = {"active", "idle", "tested", "login"};
	static const enum pool_field sf[] = {PF_SV_ACTIVE, PF_SV_IDLE, PF_SV_TESTED, PF_SV_LOGIN};
	pool_gauge(w, b, "sluice_pool_servers", "state", sstates, sf, 4,
	           "Server connections of the pool by state.");
	head(b, "sluice_pool_paused", "gauge",
	     "1 while new transactions of the pool wait (PAUSE).");
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		out(b, "sluice_pool_paused{database=\"%s\",user=\"%s\"} %d\n",
		    esc(p->db->entry.name, d, sizeof(d)), esc(p->user->name, u, sizeof(u)),
		    admin_pool_paused(p));
	}
	POOL_COUNTER("sluice_pool_transactions_total", "Transactions pooled.", p->stat_xacts);
	POOL_COUNTER("sluice_pool_queries_total", "Queries (Query and Execute messages) pooled.",
	             p->stat_queries);
	POOL_COUNTER("sluice_pool_received_bytes_total", "Bytes received from the pool's clients.",
	             p->stat_recv);
	POOL_COUNTER("sluice_pool_sent_bytes_total", "Bytes sent to the pool's clients.",
	             p->stat_sent);
	POOL_COUNTER("sluice_pool_transaction_seconds_total",
	             "Time server connections spent in transactions.", p->stat_xact_us / 1e6);
	POOL_COUNTER("sluice_pool_query_seconds_total", "Time server connections spent in queries.",
	             p->stat_query_us / 1e6);
	POOL_COUNTER("sluice_pool_wait_seconds_total",
	             "Time clients waited in the pool's queue for a server.",
	             p->stat_wait_us / 1e6);
	tenants(w, b);
	classes(w, b);
	hosts(w, b);
	struct metrics_hist *h = w->admin->hist;
	hist(b, "sluice_transaction_duration_seconds",
	     "Time a transaction held its server connection.", h->xact, h->xact_sum, h->xact_n);
	hist(b, "sluice_queue_wait_seconds",
	     "Time a transaction waited for a server connection or a governor slot.", h->wait,
	     h->wait_sum, h->wait_n);
	return b->oom ? -1 : 0;
}
