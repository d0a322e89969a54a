/* sluice's own SHOW views of the governor: TENANTS, TENANT name, CLASSES, CLASS name. Limits as
 * in effect (file or runtime, with the source shown), live counts and the decision counters. */
#include "admin.h"

#include <stdio.h>
#include <string.h>

#include "gov.h"
#include "gov_override.h"
#include "governor.h"
#include "pool.h"
#include "worker.h"

/* ---- governor views ---- */

static void tenant_row(struct worker *w, struct admin_res *res, struct gov_tenant *t)
{
	const struct gov_tenant_conf *c = t->conf;
	double now = worker_now(w);
	struct sched_counters sum = {0};
	int held = 0;
	struct list *it;
	char keys[512];
	list_for_each(it, &t->dts)
	{
		struct gov_dt *dt = list_entry(it, struct gov_dt, node);
		held += dt->st.in_use;
		sum.admitted += dt->st.c.admitted;
		sum.queued += dt->st.c.queued;
		sum.shed += dt->st.c.shed;
		sum.delayed += dt->st.c.delayed;
		sum.wait_time += dt->st.c.wait_time;
		sum.server_time += dt->st.c.server_time;
	}
	int n = ovr_list(w, OVR_TENANT, t->name, keys, sizeof(keys));
	admin_row(res);
	admin_cell(res, t->name);
	admin_cell(res, t->is_auto ? "auto" : "named");
	admin_cell_int(res, c ? c->max_server_conn : 0);
	admin_cell_int(res, c ? c->max_client_conn : 0);
	admin_cellf(res, "%g", c ? c->xact_rate : 0);
	admin_cellf(res, "%g", c ? c->xact_burst : 0);
	admin_cellf(res, "%g", c ? c->query_rate : 0);
	admin_cellf(res, "%g", c ? c->query_burst : 0);
	admin_cell_int(res, c ? c->weight : 1);
	admin_cell_int(res, c ? c->max_queue : 0);
	admin_cell_int(res, held);
	admin_cell_int(res, t->n_clients);
	admin_cell_int(res, t->n_queued);
	double xl = tb_level(&t->xact_tb, now), ql = tb_level(&t->query_tb, now);
	if (xl < 0)
		admin_cell(res, NULL);
	else
		admin_cellf(res, "%.3f", xl);
	if (ql < 0)
		admin_cell(res, NULL);
	else
		admin_cellf(res, "%.3f", ql);
	admin_cellf(res, "%llu", (unsigned long long)sum.admitted);
	admin_cellf(res, "%llu", (unsigned long long)sum.queued);
	admin_cellf(res, "%llu", (unsigned long long)sum.shed);
	admin_cellf(res, "%llu", (unsigned long long)t->st.queue_full);
	admin_cellf(res, "%llu", (unsigned long long)t->st.timed_out);
	admin_cellf(res, "%llu", (unsigned long long)t->st.rate_shed);
	admin_cellf(res, "%llu", (unsigned long long)sum.delayed);
	admin_cellf(res, "%llu", (unsigned long long)t->st.stmt_delayed);
	admin_cellf(res, "%llu", (unsigned long long)t->st.login_refused);
	admin_cellf(res, "%.6f", sum.wait_time);
	admin_cellf(res, "%.6f", sum.server_time);
	admin_cell(res, n ? "runtime" : "file");
	admin_cell(res, keys);
}

#define TENANT_COLS                                                                                \
	"tenant:t,kind:t,max_server_conn:i,max_client_conn:i,xact_rate:n,xact_burst:n,"            \
	"query_rate:n,query_burst:n,weight:i,max_queue:i,server_conn:i,clients:i,queued:i,"        \
	"xact_tokens:n,query_tokens:n,admitted:n,queued_total:n,shed:n,shed_queue_full:n,"         \
	"shed_timeout:n,shed_rate:n,rate_delayed:n,stmt_delayed:n,login_refused:n,wait_time:n,"    \
	"server_time:n,source:t,runtime:t"

int admin_show_tenants(struct worker *w, struct admin_res *res, const char *name)
{
	struct list *it;
	int found = 0;
	admin_res_cols(res, TENANT_COLS);
	list_for_each(it, &w->gov.tenants)
	{
		struct gov_tenant *t = list_entry(it, struct gov_tenant, node);
		if (name && strcmp(t->name, name))
			continue;
		tenant_row(w, res, t);
		found++;
	}
	/* Named tenants nobody has used yet are shown too, with their limits and zero counts. */
	const struct governor_conf *gc = w->cfg->gov;
	for (int i = 0; gc && i < gc->n_tenants; i++) {
		const char *tn = gc->tenants[i].name;
		int seen = 0;
		if (name && strcmp(tn, name))
			continue;
		list_for_each(it, &w->gov.tenants)
		{
			struct gov_tenant *t = list_entry(it, struct gov_tenant, node);
			seen |= !t->is_auto && !strcmp(t->name, tn);
		}
		if (seen)
			continue;
		struct gov_tenant tmp;
		memset(&tmp, 0, sizeof(tmp));
		snprintf(tmp.name, sizeof(tmp.name), "%s", tn);
		tmp.conf = ovr_tenant_conf(w, tn, &gc->tenants[i]);
		list_init(&tmp.dts);
		tb_init(&tmp.xact_tb, tmp.conf->xact_rate, tmp.conf->xact_burst, worker_now(w));
		tb_init(&tmp.query_tb, tmp.conf->query_rate, tmp.conf->query_burst, worker_now(w));
		tenant_row(w, res, &tmp);
		found++;
	}
	if (name && !found) {
		admin_res_error(res, "42704", "no such tenant: %s", name);
		return 0;
	}
	return 0;
}

int admin_show_classes(struct worker *w, struct admin_res *res, const char *name)
{
	const struct governor_conf *gc = w->cfg->gov;
	struct list *it;
	int found = 0;
	admin_res_cols(res, "class:t,priority:i,reserve:t,max:t,queue_timeout:n,"
	                    "statement_timeout:n,overload_sqlstate:t,route:t,in_use:i,queued:i,"
	                    "admitted:n,queued_total:n,shed:n,rate_delayed:n,wait_time:n,"
	                    "server_time:n,source:t,runtime:t");
	for (int i = 0; gc && i < gc->n_classes; i++) {
		const struct gov_class_conf *c = &gc->classes[i];
		struct sched_counters sum = {0};
		int in_use = 0, waiting = 0;
		char keys[512];
		if (name && strcmp(c->name, name))
			continue;
		list_for_each(it, &w->pusers)
		{
			struct pool_user *pu = list_entry(it, struct pool_user, node);
			if (!pu->gov || i >= pu->gov->s.n_classes)
				continue;
			const struct sched_class *sc = &pu->gov->s.cls[i];
			in_use += sc->in_use;
			waiting += sc->n_waiting;
			sum.admitted += sc->c.admitted;
			sum.queued += sc->c.queued;
			sum.shed += sc->c.shed;
			sum.delayed += sc->c.delayed;
			sum.wait_time += sc->c.wait_time;
			sum.server_time += sc->c.server_time;
		}
		int n = ovr_list(w, OVR_CLASS, c->name, keys, sizeof(keys));
		admin_row(res);
		admin_cell(res, c->name);
		admin_cell_int(res, c->priority);
		admin_cellf(res, "%g%s", c->reserve, c->reserve_pct ? "%" : "");
		admin_cellf(res, "%g%s", c->max, c->max_pct ? "%" : "");
		admin_cellf(res, "%g", c->queue_timeout);
		admin_cellf(res, "%g", c->statement_timeout);
		admin_cell(res, c->overload_sqlstate);
		admin_cell(res, governor_route_name(c->route));
		admin_cell_int(res, in_use);
		admin_cell_int(res, waiting);
		admin_cellf(res, "%llu", (unsigned long long)sum.admitted);
		admin_cellf(res, "%llu", (unsigned long long)sum.queued);
		admin_cellf(res, "%llu", (unsigned long long)sum.shed);
		admin_cellf(res, "%llu", (unsigned long long)sum.delayed);
		admin_cellf(res, "%.6f", sum.wait_time);
		admin_cellf(res, "%.6f", sum.server_time);
		admin_cell(res, n ? "runtime" : "file");
		admin_cell(res, keys);
		found++;
	}
	if (name && !found)
		admin_res_error(res, "42704", "no such class: %s", name);
	return 0;
}
