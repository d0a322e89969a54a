/* Governor scheduler: reservations, ceilings, priorities and least-attained-service fair sharing
 * across tenants (see include/sched.h for the rules). */
#include "govsched.h"

#include <limits.h>
#include <math.h>

static struct sched_waiter *waiter_of(struct list *node)
{
	return list_entry(node, struct sched_waiter, node);
}

static struct sched_tq *tq_of(struct list *node)
{
	return list_entry(node, struct sched_tq, node);
}

static void counters_zero(struct sched_counters *c)
{
	c->admitted = c->queued = c->shed = c->delayed = 0;
	c->wait_time = c->server_time = 0;
}

static void sort_classes(struct sched *s)
{
	/* Insertion sort, stable: priority descending, then index ascending. */
	for (int i = 0; i < s->n_classes; i++)
		s->order[i] = i;
	for (int i = 1; i < s->n_classes; i++) {
		int v = s->order[i], j = i - 1;
		while (j >= 0 && s->cls[s->order[j]].priority < s->cls[v].priority) {
			s->order[j + 1] = s->order[j];
			j--;
		}
		s->order[j + 1] = v;
	}
}

void sched_init(struct sched *s, int capacity, int n_classes)
{
	if (n_classes < 1)
		n_classes = 1;
	if (n_classes > SCHED_MAX_CLASSES)
		n_classes = SCHED_MAX_CLASSES;
	s->capacity = capacity > 0 ? capacity : 0;
	s->in_use = 0;
	s->n_waiting = 0;
	s->n_classes = n_classes;
	for (int i = 0; i < SCHED_MAX_CLASSES; i++) {
		struct sched_class *c = &s->cls[i];
		c->priority = 0;
		c->reserve = 0;
		c->max = INT_MAX;
		c->in_use = 0;
		c->n_waiting = 0;
		c->share_reserve = 0;
		c->share_reserve_pct = 0;
		c->share_max = 100;
		c->share_max_pct = 1;
		list_init(&c->active);
		counters_zero(&c->c);
	}
	sort_classes(s);
}

void sched_set_class(struct sched *s, int i, int priority, int reserve, int max)
{
	struct sched_class *c;

	if (i < 0 || i >= s->n_classes)
		return;
	c = &s->cls[i];
	c->priority = priority;
	c->reserve = reserve > 0 ? reserve : 0;
	c->max = max < c->reserve ? c->reserve : max;
	sort_classes(s);
}

void sched_set_class_share(struct sched *s, int i, double reserve, int reserve_pct, double max,
                           int max_pct)
{
	struct sched_class *c;

	if (i < 0 || i >= s->n_classes)
		return;
	c = &s->cls[i];
	c->share_reserve = reserve > 0 ? reserve : 0;
	c->share_reserve_pct = reserve_pct != 0;
	c->share_max = max > 0 ? max : 0;
	c->share_max_pct = max_pct != 0;
}

void sched_resize(struct sched *s, int capacity)
{
	s->capacity = capacity > 0 ? capacity : 0;
}

int sched_slots(double value, int is_percent, int capacity)
{
	double v;

	if (capacity <= 0 || !(value > 0))
		return 0;
	if (is_percent) {
		/* Subtract a hair so that e.g. 30% of 10 is 3, not 4 from rounding noise. */
		v = ceil(value * capacity / 100.0 - 1e-9);
		if (v < 1)
			v = 1;
	} else {
		v = floor(value);
	}
	return v > capacity ? capacity : (int)v;
}

void sched_tenant_init(struct sched_tenant *t, double weight, int max_slots)
{
	t->weight = weight > 0 ? weight : 1;
	t->max_slots = max_slots > 0 ? max_slots : 0;
	t->in_use = 0;
	t->n_waiting = 0;
	for (int i = 0; i < SCHED_MAX_CLASSES; i++) {
		struct sched_tq *q = &t->q[i];
		q->owner = t;
		list_init(&q->waiters);
		list_init(&q->node);
		q->n_waiting = 0;
		q->running = 0;
		q->service = 0;
		q->start_sum = 0;
	}
	counters_zero(&t->c);
}

int sched_tenant_idle(const struct sched_tenant *t)
{
	return t->in_use == 0 && t->n_waiting == 0;
}

void sched_waiter_init(struct sched_waiter *w)
{
	w->tenant = NULL;
	w->cls = 0;
	w->enqueued = 0;
	w->not_before = 0;
	list_init(&w->node);
}

static double tq_vtime(const struct sched_tq *q, double now)
{
	double w = q->owner->weight > 0 ? q->owner->weight : 1;

	return (q->service + q->running * now - q->start_sum) / w;
}

double sched_vtime(const struct sched_tenant *t, int cls, double now)
{
	return tq_vtime(&t->q[cls], now);
}

/* Lowest virtual time among the tenants active in class c (other than skip), or -1 if none. */
static double min_active_vtime(const struct sched_class *c, const struct sched_tq *skip, double now)
{
	double best = -1;

	for (struct list *n = c->active.next; n != &c->active; n = n->next) {
		const struct sched_tq *q = tq_of(n);
		double v;
		if (q == skip)
			continue;
		v = tq_vtime(q, now);
		if (best < 0 || v < best)
			best = v;
	}
	return best;
}

/* The virtual time q would have if it became active now (idling banks no credit). */
static double effective_vtime(const struct sched *s, const struct sched_tq *q, int cls, double now)
{
	double v = tq_vtime(q, now), m;

	if (!list_empty(&q->node))
		return v;
	m = min_active_vtime(&s->cls[cls], q, now);
	return m > v ? m : v;
}

static void activate(struct sched *s, struct sched_tq *q, int cls, double now)
{
	double v;

	if (!list_empty(&q->node))
		return;
	v = effective_vtime(s, q, cls, now);
	q->service += (v - tq_vtime(q, now)) * q->owner->weight;
	list_append(&s->cls[cls].active, &q->node);
}

static void maybe_deactivate(struct sched_tq *q)
{
	if (q->n_waiting == 0 && q->running == 0)
		list_del(&q->node);
}

/* Class-level rules: capacity, ceiling, own reserve or unreserved capacity. */
static int class_may_take(const struct sched *s, int cls)
{
	const struct sched_class *c = &s->cls[cls];
	long reserved = 0, borrowed = 0;

	if (s->in_use >= s->capacity || c->in_use >= c->max)
		return 0;
	if (c->in_use < c->reserve)
		return 1;
	for (int i = 0; i < s->n_classes; i++) {
		reserved += s->cls[i].reserve;
		if (s->cls[i].in_use > s->cls[i].reserve)
			borrowed += s->cls[i].in_use - s->cls[i].reserve;
	}
	return borrowed < s->capacity - reserved;
}

/* Slots class i has inside a tenant allotment of cap slots: reserve and ceiling. */
static void share_slots(const struct sched_class *c, int cap, int *reserve, int *max)
{
	*reserve = sched_slots(c->share_reserve, c->share_reserve_pct, cap);
	*max = sched_slots(c->share_max, c->share_max_pct, cap);
	if (*max < *reserve)
		*max = *reserve;
}

/* Tenant-level rules: max_slots, then the class's reserve and ceiling at tenant scale (own
 * reserve, or the tenant's unreserved slots not already borrowed by its other classes). */
static int tenant_may_take(const struct sched *s, const struct sched_tenant *t, int cls)
{
	int cap = t->max_slots, res, max;
	long reserved = 0, borrowed = 0;

	if (cap <= 0)
		return 1;
	if (t->in_use >= cap)
		return 0;
	share_slots(&s->cls[cls], cap, &res, &max);
	if (t->q[cls].running >= max)
		return 0;
	if (t->q[cls].running < res)
		return 1;
	for (int i = 0; i < s->n_classes; i++) {
		int r, m;
		share_slots(&s->cls[i], cap, &r, &m);
		reserved += r;
		if (t->q[i].running > r)
			borrowed += t->q[i].running - r;
	}
	return borrowed < cap - reserved;
}

int sched_may_take(const struct sched *s, const struct sched_tenant *t, int cls)
{
	if (cls < 0 || cls >= s->n_classes)
		return 0;
	return tenant_may_take(s, t, cls) && class_may_take(s, cls);
}

/* The tenant queue in class cls whose eligible head would be served next, or NULL. */
static struct sched_tq *best_in_class(const struct sched *s, int cls, double now, double *vt)
{
	const struct sched_class *c = &s->cls[cls];
	struct sched_tq *best = NULL;
	double bv = 0;

	if (c->n_waiting == 0)
		return NULL;
	for (struct list *n = c->active.next; n != &c->active; n = n->next) {
		struct sched_tq *q = tq_of(n);
		double v;
		if (q->n_waiting == 0 || waiter_of(q->waiters.next)->not_before > now ||
		    !tenant_may_take(s, q->owner, cls))
			continue;
		v = tq_vtime(q, now);
		if (!best || v < bv) {
			best = q;
			bv = v;
		}
	}
	if (vt)
		*vt = bv;
	return best;
}

void sched_enqueue(struct sched *s, struct sched_waiter *w, struct sched_tenant *t, int cls,
                   double now, double not_before)
{
	struct sched_tq *q = &t->q[cls];

	w->tenant = t;
	w->cls = cls;
	w->enqueued = now;
	w->not_before = not_before;
	activate(s, q, cls, now);
	list_append(&q->waiters, &w->node);
	q->n_waiting++;
	t->n_waiting++;
	s->cls[cls].n_waiting++;
	s->n_waiting++;
	t->c.queued++;
	s->cls[cls].c.queued++;
	if (not_before > now) {
		t->c.delayed++;
		s->cls[cls].c.delayed++;
	}
}

/* Unlink w and account its wait. */
static void dequeue(struct sched *s, struct sched_waiter *w, double now)
{
	struct sched_tenant *t = w->tenant;
	struct sched_tq *q = &t->q[w->cls];
	struct sched_class *c = &s->cls[w->cls];
	double waited = now > w->enqueued ? now - w->enqueued : 0;

	list_del(&w->node);
	q->n_waiting--;
	t->n_waiting--;
	c->n_waiting--;
	s->n_waiting--;
	t->c.wait_time += waited;
	c->c.wait_time += waited;
	maybe_deactivate(q);
}

void sched_remove(struct sched *s, struct sched_waiter *w, double now, int shed)
{
	if (list_empty(&w->node) || !w->tenant)
		return;
	if (shed)
		sched_count_shed(s, w->tenant, w->cls);
	dequeue(s, w, now);
}

void sched_count_shed(struct sched *s, struct sched_tenant *t, int cls)
{
	t->c.shed++;
	if (cls >= 0 && cls < s->n_classes)
		s->cls[cls].c.shed++;
}

/* 1 if tenant queue h would not hold more than its weighted share of class cls's slots (in use
 * plus the one being handed out, split by weight across the tenants active in the class). */
static int within_share(const struct sched *s, int cls, const struct sched_tq *h)
{
	const struct sched_class *c = &s->cls[cls];
	double sum = 0;
	for (struct list *n = c->active.next; n != &c->active; n = n->next)
		sum += tq_of(n)->owner->weight;
	if (sum <= 0)
		return 1;
	return h->running + 1 <= ceil((c->in_use + 1) * h->owner->weight / sum - 1e-9);
}

struct sched_waiter *sched_pick_hint(struct sched *s, double now, struct sched_tenant *hint,
                                     double slack)
{
	if (s->n_waiting == 0)
		return NULL;
	for (int k = 0; k < s->n_classes; k++) {
		int cls = s->order[k];
		struct sched_tq *q, *h;
		struct sched_waiter *w;
		double bv;
		if (s->cls[cls].n_waiting == 0 || !class_may_take(s, cls))
			continue;
		q = best_in_class(s, cls, now, &bv);
		if (!q)
			continue;
		/* Affinity: the tenant that freed the slot keeps it while that leaves it within its
		 * weighted share of the class and within slack of the leader's virtual time, which
		 * saves moving a server connection between pools on every transaction. */
		h = hint ? &hint->q[cls] : NULL;
		if (h && h != q && h->n_waiting && waiter_of(h->waiters.next)->not_before <= now &&
		    tenant_may_take(s, hint, cls) && tq_vtime(h, now) <= bv + slack &&
		    within_share(s, cls, h))
			q = h;
		w = waiter_of(q->waiters.next);
		dequeue(s, w, now);
		return w;
	}
	return NULL;
}

struct sched_waiter *sched_pick(struct sched *s, double now)
{
	return sched_pick_hint(s, now, NULL, 0);
}

double sched_next_eligible(const struct sched *s, double now)
{
	double best = -1;

	for (int cls = 0; cls < s->n_classes; cls++) {
		const struct sched_class *c = &s->cls[cls];
		if (c->n_waiting == 0)
			continue;
		for (struct list *n = c->active.next; n != &c->active; n = n->next) {
			const struct sched_tq *q = tq_of(n);
			double nb;
			if (q->n_waiting == 0)
				continue;
			nb = waiter_of(q->waiters.next)->not_before;
			if (nb > now && (best < 0 || nb < best))
				best = nb;
		}
	}
	return best;
}

int sched_admit_now(const struct sched *s, const struct sched_tenant *t, int cls, double now)
{
	if (!sched_may_take(s, t, cls) || t->q[cls].n_waiting > 0)
		return 0;
	for (int k = 0; k < s->n_classes; k++) {
		int c = s->order[k];
		double v;
		if (c == cls) {
			/* Same class: the waiter goes first unless the arrival's tenant is strictly
			 * behind in attained service. */
			if (best_in_class(s, c, now, &v) &&
			    v <= effective_vtime(s, &t->q[cls], cls, now))
				return 0;
			return 1;
		}
		if (class_may_take(s, c) && best_in_class(s, c, now, NULL))
			return 0;
	}
	return 1;
}

double sched_start(struct sched *s, struct sched_tenant *t, int cls, double now)
{
	struct sched_tq *q = &t->q[cls];

	activate(s, q, cls, now);
	q->running++;
	q->start_sum += now;
	t->in_use++;
	s->cls[cls].in_use++;
	s->in_use++;
	t->c.admitted++;
	s->cls[cls].c.admitted++;
	return now;
}

void sched_finish(struct sched *s, struct sched_tenant *t, int cls, double started, double now)
{
	struct sched_tq *q = &t->q[cls];
	double held = now > started ? now - started : 0;

	if (q->running <= 0)
		return;
	q->running--;
	q->start_sum = q->running ? q->start_sum - started : 0;
	q->service += held;
	t->in_use--;
	s->cls[cls].in_use--;
	s->in_use--;
	t->c.server_time += held;
	s->cls[cls].c.server_time += held;
	maybe_deactivate(q);
}
