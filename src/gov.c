/* The governor's runtime glue (see include/gov.h): tenants and capacity domains of one worker,
 * admission of each transaction, the waiting queue, shedding, rate delays and live reconfig. */
#include "gov.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "governor.h"
#include "gov_override.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "server.h"
#include "worker.h"

/* How far (in weighted server-seconds) a tenant may run ahead of the fairness leader and still
 * keep the slot its own transaction just freed. Moving a slot to another database's pool costs
 * closing one server connection and opening another (tens of ms of login); keeping it costs a
 * bounded, temporary unfairness. 0.25 s lets a tenant keep a slot for a dozen 20 ms transactions
 * before its server connection changes hands. */
#define GOV_AFFINITY_SLACK 0.25

#define RETRY_DETAIL "The transaction was not started; it is safe to retry."

static struct gov_dt *dt_of(struct sched_tenant *st)
{
	return container_of(st, struct gov_dt, st);
}

static struct client *client_of_waiter(struct sched_waiter *wt)
{
	return container_of(wt, struct client, gov.wt);
}

/* ---- tenants, domains, pools ---- */

static struct gov_tenant *tenant_get(struct worker *w, const struct gov_tenant_conf *tc,
                                     int is_auto, const char *dbname)
{
	const char *name = is_auto ? dbname : tc->name;
	struct list *it;
	list_for_each(it, &w->gov.tenants)
	{
		struct gov_tenant *t = list_entry(it, struct gov_tenant, node);
		if (t->is_auto == is_auto && !strcmp(t->name, name))
			return t;
	}
	struct gov_tenant *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->is_auto = is_auto;
	t->conf = ovr_tenant_conf(w, name, tc); /* runtime SET TENANT values, if any */
	list_init(&t->dts);
	tb_init(&t->xact_tb, t->conf->xact_rate, t->conf->xact_burst, worker_now(w));
	tb_init(&t->query_tb, t->conf->query_rate, t->conf->query_burst, worker_now(w));
	list_append(&w->gov.tenants, &t->node);
	log_debug("governor: new %s tenant %s", is_auto ? "auto" : "named", t->name);
	return t;
}

/* Resolve the domain's capacity and class rules from the current config. */
static void domain_configure(struct worker *w, struct gov_domain *d)
{
	const struct governor_conf *gc = w->cfg->gov;
	int cap = d->user->max_user_connections;
	d->unbounded = !gc || cap <= 0;
	sched_resize(&d->s, d->unbounded ? INT_MAX / 2 : cap);
	for (int i = 0; i < d->s.n_classes; i++) {
		if (!gc) {
			sched_set_class(&d->s, i, 0, 0, INT_MAX);
			sched_set_class_share(&d->s, i, 0, 0, 100, 1);
			continue;
		}
		const struct gov_class_conf *c = &gc->classes[i];
		if (d->unbounded)
			sched_set_class(&d->s, i, c->priority, 0, INT_MAX);
		else
			sched_set_class(&d->s, i, c->priority,
			                sched_slots(c->reserve, c->reserve_pct, cap),
			                sched_slots(c->max, c->max_pct, cap));
		sched_set_class_share(&d->s, i, c->reserve, c->reserve_pct, c->max, c->max_pct);
	}
}

static struct gov_domain *domain_get(struct worker *w, struct pool_user *pu)
{
	if (pu->gov)
		return pu->gov;
	struct gov_domain *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->user = pu;
	for (int i = 0; i < SCHED_MAX_CLASSES; i++)
		list_init(&d->waiting[i]);
	sched_init(&d->s, 0, w->gov.n_classes);
	domain_configure(w, d);
	pu->gov = d;
	return d;
}

/* A tenant's allotment in a domain: max_server_conn, capped by the pool_size of its pools there
 * (so that class reserves inside the tenant are shares of what it can really hold). */
static int dt_max_slots(struct worker *w, struct gov_dt *dt)
{
	if (!w->cfg->gov || !dt->t->conf)
		return 0;
	int m = dt->t->conf->max_server_conn, sum = 0;
	struct list *it;
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (p->gov_dt == dt)
			sum += p->pool_size;
	}
	if (sum > 0 && (m <= 0 || sum < m))
		m = sum;
	return m;
}

static void pool_attach(struct worker *w, struct pool *p)
{
	const struct governor_conf *gc = w->cfg->gov;
	int is_auto = 0;
	if (!gc)
		return;
	const struct gov_tenant_conf *tc =
	    governor_tenant_for(gc, p->db->entry.name, p->user->name, &is_auto);
	struct gov_tenant *t = tenant_get(w, tc, is_auto, p->db->entry.name);
	struct gov_domain *d = domain_get(w, p->user);
	if (!t || !d)
		return;
	struct gov_dt *dt = NULL;
	struct list *it;
	list_for_each(it, &t->dts)
	{
		struct gov_dt *x = list_entry(it, struct gov_dt, node);
		if (x->d == d)
			dt = x;
	}
	if (!dt) {
		dt = calloc(1, sizeof(*dt));
		if (!dt)
			return;
		dt->t = t;
		dt->d = d;
		sched_tenant_init(&dt->st, t->conf->weight, 0);
		list_append(&t->dts, &dt->node);
	}
	p->gov_dt = dt;
	dt->st.max_slots = dt_max_slots(w, dt);
}

/* ---- timer: rate-delayed waiters and held-back statements ---- */

static void arm_timer(struct worker *w)
{
	double now = worker_now(w), next = -1;
	struct list *it;
	list_for_each(it, &w->pusers)
	{
		struct pool_user *pu = list_entry(it, struct pool_user, node);
		if (!pu->gov || !pu->gov->s.n_waiting)
			continue;
		double t = sched_next_eligible(&pu->gov->s, now);
		if (t > 0 && (next < 0 || t < next))
			next = t;
	}
	list_for_each(it, &w->gov.delayed)
	{
		struct client *cl = container_of(it, struct client, gov.delay_node);
		if (next < 0 || cl->gov.resume_at < next)
			next = cl->gov.resume_at;
	}
	ev_timer_stop(w->loop, &w->gov.timer);
	if (next < 0)
		return;
	double after = next - now;
	ev_timer_set(&w->gov.timer, after > 0.0002 ? after : 0.0002, 0);
	ev_timer_start(w->loop, &w->gov.timer);
}

static void take_slot(struct client *cl, struct gov_dt *dt, int cls, double now)
{
	cl->gov.dt = dt;
	cl->gov.cls = cls;
	cl->gov.started = sched_start(&dt->d->s, &dt->st, cls, now);
	cl->gov.holding = 1;
}

static void unqueue(struct client *cl, double now, int shed)
{
	struct gov_dt *dt = cl->gov.dt;
	if (!cl->gov.queued)
		return;
	sched_remove(&dt->d->s, &cl->gov.wt, now, shed);
	list_del(&cl->gov.wait_node);
	cl->gov.queued = 0;
	dt->t->n_queued--;
}

/* Hand freed slots to the waiters the scheduler picks; they resume at the end of this loop
 * iteration (worker_schedule), never from inside the caller. */
static void dispatch(struct worker *w, struct gov_domain *d, struct gov_dt *freed_by)
{
	double now = worker_now(w);
	struct sched_waiter *wt;
	struct sched_tenant *hint = freed_by ? &freed_by->st : NULL;
	while ((wt = sched_pick_hint(&d->s, now, hint, GOV_AFFINITY_SLACK))) {
		hint = NULL; /* one slot was freed: the others go by fairness alone */
		struct client *cl = client_of_waiter(wt);
		struct gov_dt *dt = dt_of(wt->tenant);
		list_del(&cl->gov.wait_node);
		cl->gov.queued = 0;
		dt->t->n_queued--;
		metrics_observe_wait(w, now - wt->enqueued);
		take_slot(cl, dt, wt->cls, now);
		cl->state = CL_ACTIVE;
		worker_schedule(w, cl);
	}
}

static void dispatch_all(struct worker *w)
{
	struct list *it;
	list_for_each(it, &w->pusers)
	{
		struct pool_user *pu = list_entry(it, struct pool_user, node);
		if (pu->gov && pu->gov->s.n_waiting)
			dispatch(w, pu->gov, NULL);
	}
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	double now = worker_now(w);
	struct list *it, *n;
	(void)loop;
	(void)revents;
	dispatch_all(w);
	list_for_each_safe(it, n, &w->gov.delayed)
	{
		struct client *cl = container_of(it, struct client, gov.delay_node);
		if (cl->gov.resume_at > now + 0.0001)
			continue;
		list_del(&cl->gov.delay_node);
		cl->gov.delayed = 0;
		cl->state = CL_ACTIVE;
		worker_schedule(w, cl);
	}
	arm_timer(w);
}

/* ---- worker lifecycle and reconfiguration ---- */

void gov_worker_init(struct worker *w)
{
	list_init(&w->gov.tenants);
	list_init(&w->gov.delayed);
	ev_timer_init(&w->gov.timer, timer_cb, 0, 0);
	w->gov.timer.data = w;
	w->gov.n_classes = 0;
}

void gov_worker_free(struct worker *w)
{
	struct list *it, *n, *it2, *n2;
	ev_timer_stop(w->loop, &w->gov.timer);
	list_for_each_safe(it, n, &w->gov.tenants)
	{
		struct gov_tenant *t = list_entry(it, struct gov_tenant, node);
		list_for_each_safe(it2, n2, &t->dts)
		{
			free(list_entry(it2, struct gov_dt, node));
		}
		list_del(&t->node);
		free(t);
	}
	list_for_each(it, &w->pusers)
	{
		struct pool_user *pu = list_entry(it, struct pool_user, node);
		free(pu->gov);
		pu->gov = NULL;
	}
	list_for_each(it, &w->pools)
	{
		list_entry(it, struct pool, node)->gov_dt = NULL;
	}
}

/* The class list changed (names or order): move every queued and running transaction of the
 * domain to the class of the same name (or default) in a freshly initialised scheduler. */
static void domain_remap(struct worker *w, struct gov_domain *d, const int *map, int n_new)
{
	double now = worker_now(w);
	struct list moved, *it, *n;
	list_init(&moved);
	for (int i = 0; i < d->s.n_classes; i++) {
		list_for_each_safe(it, n, &d->waiting[i])
		{
			struct client *cl = container_of(it, struct client, gov.wait_node);
			sched_remove(&d->s, &cl->gov.wt, now, 0);
			list_del(&cl->gov.wait_node);
			cl->gov.cls = map[i];
			list_append(&moved, &cl->gov.wait_node);
		}
	}
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		struct list *c;
		list_for_each(c, &p->clients)
		{
			struct client *cl = container_of(c, struct client, pool_node);
			if (cl->gov.holding && cl->gov.dt->d == d)
				sched_finish(&d->s, &cl->gov.dt->st, cl->gov.cls, cl->gov.started,
				             now);
		}
	}
	sched_init(&d->s, d->s.capacity, n_new);
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		struct list *c;
		list_for_each(c, &p->clients)
		{
			struct client *cl = container_of(c, struct client, pool_node);
			if (cl->gov.holding && cl->gov.dt->d == d)
				take_slot(cl, cl->gov.dt, map[cl->gov.cls], now);
		}
	}
	list_for_each_safe(it, n, &moved)
	{
		struct client *cl = container_of(it, struct client, gov.wait_node);
		list_del(&cl->gov.wait_node);
		sched_enqueue(&d->s, &cl->gov.wt, &cl->gov.dt->st, cl->gov.cls, now, now);
		list_append(&d->waiting[cl->gov.cls], &cl->gov.wait_node);
	}
}

void gov_apply_config(struct worker *w)
{
	const struct governor_conf *gc = w->cfg->gov;
	double now = worker_now(w);
	int n_new = gc ? gc->n_classes : 1;
	int changed = n_new != w->gov.n_classes, map[SCHED_MAX_CLASSES];
	struct list *it;

	for (int i = 0; i < n_new; i++) {
		const char *nm = gc ? gc->classes[i].name : "default";
		changed |= strcmp(nm, w->gov.cls_names[i]) != 0;
	}
	if (changed) {
		for (int i = 0; i < w->gov.n_classes; i++) {
			map[i] = n_new - 1; /* "default" is always last */
			for (int k = 0; gc && k < n_new; k++)
				if (!strcmp(gc->classes[k].name, w->gov.cls_names[i]))
					map[i] = k;
		}
		list_for_each(it, &w->pusers)
		{
			struct pool_user *pu = list_entry(it, struct pool_user, node);
			if (pu->gov)
				domain_remap(w, pu->gov, map, n_new);
		}
		for (int i = 0; i < n_new; i++)
			snprintf(w->gov.cls_names[i], sizeof(w->gov.cls_names[i]), "%s",
			         gc ? gc->classes[i].name : "default");
		if (w->gov.n_classes)
			log_info("governor: class list changed; queued and running transactions "
			         "moved to the classes of the same name (or default)");
		w->gov.n_classes = n_new;
	}
	/* Every client re-classifies at its next transaction (rules may have changed). */
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		struct list *c;
		list_for_each(c, &p->clients)
		{
			container_of(c, struct client, pool_node)->gov.login_cls = -1;
		}
	}
	/* Tenants get the new snapshot's settings; limits change live. */
	list_for_each(it, &w->gov.tenants)
	{
		struct gov_tenant *t = list_entry(it, struct gov_tenant, node);
		const struct gov_tenant_conf *tc = NULL;
		for (int i = 0; gc && !t->is_auto && i < gc->n_tenants; i++)
			if (!strcmp(gc->tenants[i].name, t->name))
				tc = &gc->tenants[i];
		t->conf = gc ? ovr_tenant_conf(w, t->name, tc ? tc : &gc->defaults) : NULL;
		tb_set(&t->xact_tb, t->conf ? t->conf->xact_rate : 0,
		       t->conf ? t->conf->xact_burst : 0, now);
		tb_set(&t->query_tb, t->conf ? t->conf->query_rate : 0,
		       t->conf ? t->conf->query_burst : 0, now);
	}
	/* A pool whose tenant mapping changed moves once it has no clients (its running
	 * transactions keep the tenant they were admitted under). */
	list_for_each(it, &w->pools)
	{
		struct pool *p = list_entry(it, struct pool, node);
		if (!p->gov_dt)
			continue;
		int is_auto = 0;
		const struct gov_tenant_conf *tc =
		    gc ? governor_tenant_for(gc, p->db->entry.name, p->user->name, &is_auto) : NULL;
		const char *want = tc ? (is_auto ? p->db->entry.name : tc->name) : NULL;
		struct gov_tenant *t = p->gov_dt->t;
		if (want && t->is_auto == is_auto && !strcmp(t->name, want))
			continue;
		if (!p->n_clients)
			p->gov_dt = NULL; /* attached again at the next login */
		else if (gc)
			log_info("governor: %s/%s now maps to tenant %s; it moves when its clients "
			         "have left",
			         p->db->entry.name, p->user->name, want);
	}
	list_for_each(it, &w->pusers)
	{
		struct pool_user *pu = list_entry(it, struct pool_user, node);
		if (pu->gov)
			domain_configure(w, pu->gov);
	}
	list_for_each(it, &w->gov.tenants)
	{
		struct gov_tenant *t = list_entry(it, struct gov_tenant, node);
		struct list *d;
		list_for_each(d, &t->dts)
		{
			struct gov_dt *dt = list_entry(d, struct gov_dt, node);
			dt->st.weight = t->conf && t->conf->weight > 0 ? t->conf->weight : 1;
			dt->st.max_slots = dt_max_slots(w, dt);
		}
	}
	dispatch_all(w);
	arm_timer(w);
}

/* ---- clients ---- */

int gov_client_login(struct client *cl, char *err, size_t errlen)
{
	struct worker *w = cl->c.w;
	if (!w->cfg->gov)
		return 0;
	if (!cl->pool->gov_dt)
		pool_attach(w, cl->pool);
	if (!cl->pool->gov_dt)
		return 0;
	struct gov_tenant *t = cl->pool->gov_dt->t;
	int mc = t->conf->max_client_conn;
	if (mc > 0 && t->n_clients >= mc) {
		t->st.login_refused++;
		snprintf(err, errlen,
		         "no more connections allowed for tenant \"%s\" (max_client_conn = %d)",
		         t->name, mc);
		return -1;
	}
	t->n_clients++;
	cl->gov.tenant = t;
	cl->gov.login_cls = -1;
	return 0;
}

void gov_client_gone(struct client *cl)
{
	unqueue(cl, worker_now(cl->c.w), 0);
	if (cl->gov.delayed) {
		list_del(&cl->gov.delay_node);
		cl->gov.delayed = 0;
	}
	gov_release(cl);
	if (cl->gov.tenant) {
		cl->gov.tenant->n_clients--;
		cl->gov.tenant = NULL;
	}
}

/* The first class whose rules of one explicit kind (option, comment) accept tag; else the class
 * named tag; else -1. An explicit request beats the implicit facts (application_name, ...). */
static int explicit_class(const struct governor_conf *gc, enum classify_kind kind, const char *tag)
{
	struct classify_facts f;
	memset(&f, 0, sizeof(f));
	if (kind == CLASSIFY_OPTION)
		f.option_class = tag;
	else
		f.comment_class = tag;
	for (int i = 0; i < gc->n_classes; i++)
		if (classify_match(&gc->classes[i].match, &f))
			return i;
	return governor_class_index(gc, tag);
}

static int classify_client(struct client *cl, const struct governor_conf *gc, uint8_t type,
                           const uint8_t *body, uint32_t len)
{
	if (type == 'Q' || type == 'P') {
		const char *q = (const char *)body;
		size_t qlen = len;
		if (type == 'P') { /* skip the statement name */
			const char *z = memchr(q, 0, qlen);
			qlen = z ? qlen - (size_t)(z + 1 - q) : 0;
			q = z ? z + 1 : q;
		}
		char tag[CLASSIFY_NAME_MAX];
		if (qlen && classify_comment(q, qlen, tag, sizeof(tag))) {
			int i = explicit_class(gc, CLASSIFY_COMMENT, tag);
			if (i >= 0)
				return i;
			clog(cl, LOG_LVL_DEBUG, "governor: unknown class in comment tag: %s", tag);
		}
	}
	if (cl->gov.login_cls < 0) {
		int i = -1;
		if (cl->gov.option_class[0])
			i = explicit_class(gc, CLASSIFY_OPTION, cl->gov.option_class);
		if (i < 0) {
			struct classify_facts f;
			struct sockaddr_storage ss;
			memset(&f, 0, sizeof(f));
			memset(&ss, 0, sizeof(ss));
			f.application_name = client_var(cl, VAR_APPLICATION_NAME);
			f.user = cl->pool->user->name;
			f.database = cl->pool->db->entry.name;
			if (!cl->is_unix && client_sockaddr(cl, &ss) == 0)
				f.addr = (const struct sockaddr *)&ss;
			i = governor_class_for(gc, &f);
		}
		cl->gov.login_cls = i;
	}
	return cl->gov.login_cls;
}

static void shed(struct client *cl, const struct gov_class_conf *cc, const char *msg)
{
	client_fail_request(cl, cc->overload_sqlstate, msg, RETRY_DETAIL);
}

enum gov_verdict gov_admit(struct client *cl, uint8_t type, const uint8_t *body, uint32_t len)
{
	struct worker *w = cl->c.w;
	const struct governor_conf *gc = w->cfg->gov;
	if (!gc)
		return GOV_GO;
	if (!cl->pool->gov_dt)
		pool_attach(w, cl->pool);
	struct gov_dt *dt = cl->pool->gov_dt;
	if (!dt)
		return GOV_GO;
	struct gov_tenant *t = dt->t;
	struct gov_domain *d = dt->d;
	double now = worker_now(w);
	int cls = classify_client(cl, gc, type, body, len);
	if (cls < 0 || cls >= d->s.n_classes)
		cls = d->s.n_classes - 1;
	const struct gov_class_conf *cc = &gc->classes[cls];
	char msg[300];

	cl->gov.dt = dt;
	cl->gov.cls = cls;
	/* Reserve the rate tokens now (GCRA): arrivals queue up behind each other in time. */
	double nb = tb_reserve(&t->xact_tb, now, 1);
	if (t->query_tb.rate > 0) {
		double q = tb_reserve(&t->query_tb, now, 1);
		cl->gov.qtoken = 1;
		if (q > nb)
			nb = q;
	}
	if (nb > 0 && cc->queue_timeout > 0 && nb > cc->queue_timeout) {
		tb_refund(&t->xact_tb, now, 1);
		if (cl->gov.qtoken) {
			tb_refund(&t->query_tb, now, 1);
			cl->gov.qtoken = 0;
		}
		t->st.rate_shed++;
		sched_count_shed(&d->s, &dt->st, cls);
		snprintf(msg, sizeof(msg),
		         "tenant \"%s\" class \"%s\": over its rate limit (xact_rate = %g/s, "
		         "query_rate = %g/s) by more than queue_timeout (%g s)",
		         t->name, cc->name, t->conf->xact_rate, t->conf->query_rate,
		         cc->queue_timeout);
		shed(cl, cc, msg);
		return GOV_SHED;
	}
	if (nb <= 0 && sched_admit_now(&d->s, &dt->st, cls, now)) {
		take_slot(cl, dt, cls, now);
		return GOV_GO;
	}
	if (t->n_queued >= t->conf->max_queue) {
		tb_refund(&t->xact_tb, now, 1);
		if (cl->gov.qtoken) {
			tb_refund(&t->query_tb, now, 1);
			cl->gov.qtoken = 0;
		}
		t->st.queue_full++;
		sched_count_shed(&d->s, &dt->st, cls);
		snprintf(
		    msg, sizeof(msg),
		    "tenant \"%s\" class \"%s\": too many transactions waiting (max_queue = %d)",
		    t->name, cc->name, t->conf->max_queue);
		shed(cl, cc, msg);
		return GOV_SHED;
	}
	sched_enqueue(&d->s, &cl->gov.wt, &dt->st, cls, now, now + nb);
	list_append(&d->waiting[cls], &cl->gov.wait_node);
	cl->gov.queued = 1;
	t->n_queued++;
	cl->state = CL_GOV_WAIT;
	/* A slot may be free already while the rate delay runs: the timer releases it. */
	if (nb > 0)
		arm_timer(w);
	return GOV_WAIT;
}

int gov_statement(struct client *cl)
{
	struct worker *w = cl->c.w;
	if (!w->cfg->gov || !cl->gov.dt)
		return 0;
	struct gov_tenant *t = cl->gov.dt->t;
	if (cl->gov.qtoken) { /* reserved at admission or before a held-back statement */
		cl->gov.qtoken = 0;
		return 0;
	}
	if (t->query_tb.rate <= 0)
		return 0;
	double now = worker_now(w);
	double wait = tb_reserve(&t->query_tb, now, 1);
	if (wait <= 0)
		return 0;
	cl->gov.qtoken = 1;
	cl->gov.delayed = 1;
	cl->gov.resume_at = now + wait;
	list_append(&w->gov.delayed, &cl->gov.delay_node);
	t->st.stmt_delayed++;
	t->st.stmt_delay_time += wait;
	cl->state = CL_GOV_WAIT;
	arm_timer(w);
	return 1;
}

void gov_release(struct client *cl)
{
	if (!cl->gov.holding)
		return;
	struct worker *w = cl->c.w;
	struct gov_dt *dt = cl->gov.dt;
	sched_finish(&dt->d->s, &dt->st, cl->gov.cls, cl->gov.started, worker_now(w));
	cl->gov.holding = 0;
	cl->gov.qtoken = 0; /* an unused statement token of the transaction is not carried over */
	if (dt->d->s.n_waiting) {
		dispatch(w, dt->d, dt);
		arm_timer(w);
	}
}

void gov_janitor(struct worker *w)
{
	const struct governor_conf *gc = w->cfg->gov;
	double now = worker_now(w);
	struct list *it;
	if (!gc)
		return;
	list_for_each(it, &w->pusers)
	{
		struct pool_user *pu = list_entry(it, struct pool_user, node);
		struct gov_domain *d = pu->gov;
		if (!d || !d->s.n_waiting)
			continue;
		for (int i = 0; i < d->s.n_classes && i < gc->n_classes; i++) {
			const struct gov_class_conf *cc = &gc->classes[i];
			struct list *first;
			if (cc->queue_timeout <= 0)
				continue;
			/* Arrival order: the head is the one that has waited longest. */
			while ((first = list_first(&d->waiting[i]))) {
				struct client *cl =
				    container_of(first, struct client, gov.wait_node);
				char msg[300];
				if (now - cl->gov.wt.enqueued <= cc->queue_timeout)
					break;
				struct gov_tenant *t = cl->gov.dt->t;
				unqueue(cl, now, 1);
				t->st.timed_out++;
				snprintf(msg, sizeof(msg),
				         "tenant \"%s\" class \"%s\": no server connection within "
				         "queue_timeout (%g s)",
				         t->name, cc->name, cc->queue_timeout);
				shed(cl, cc, msg);
			}
		}
	}
}

int gov_statement_timeout_ms(const struct client *cl)
{
	const struct governor_conf *gc = cl->c.w->cfg->gov;
	if (!gc || !cl->gov.holding || cl->gov.cls >= gc->n_classes)
		return 0;
	double ms = gc->classes[cl->gov.cls].statement_timeout * 1000.0;
	return ms >= INT_MAX ? INT_MAX : (int)(ms + 0.5);
}

void gov_client_facts_changed(struct client *cl)
{
	cl->gov.login_cls = -1;
}

int gov_startup_options(struct client *cl, const char *options, char *rest, size_t restlen,
                        char *err, size_t errlen)
{
	char name[CLASSIFY_NAME_MAX];
	int r = classify_strip_option(options, name, sizeof(name), rest, restlen);
	if (r < 0) {
		snprintf(err, errlen, "invalid sluice.class in startup options");
		return -1;
	}
	if (r == 1)
		snprintf(cl->gov.option_class, sizeof(cl->gov.option_class), "%s", name);
	return 0;
}
