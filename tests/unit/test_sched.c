/* Unit tests for the governor scheduler (src/sched.c): direct API checks plus closed-loop
 * simulations over many rounds with a fake clock. */
#include <criterion/criterion.h>

#include "govsched.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- simulation harness ---- */

#define SIM_CLIENTS 256
#define SIM_TENANTS 4

struct sim_client {
	struct sched_waiter w;
	int tenant, cls;
	double dur;   /* mean transaction length (jittered +-50% unless fixed) */
	double until; /* stops issuing transactions after this time */
	int running;
	double started, end;
};

struct sim {
	struct sched s;
	struct sched_tenant t[SIM_TENANTS];
	struct sim_client c[SIM_CLIENTS];
	int nc;
	double now;
	unsigned rng;
	int jitter;
	int max_in_use[SCHED_MAX_CLASSES]; /* highest in_use seen per class */
	int tenant_max_in_use[SIM_TENANTS];
	/* optional per-step check */
	void (*check)(struct sim *);
	long steps;
};

static double rnd(struct sim *m)
{
	m->rng = m->rng * 1103515245u + 12345u;
	return ((m->rng >> 8) & 0xffff) / 65536.0;
}

static void sim_init(struct sim *m, int capacity, int n_classes)
{
	memset(m, 0, sizeof(*m));
	sched_init(&m->s, capacity, n_classes);
	for (int i = 0; i < SIM_TENANTS; i++)
		sched_tenant_init(&m->t[i], 1, 0);
	m->rng = 42;
	m->jitter = 1;
}

static void sim_clients(struct sim *m, int n, int tenant, int cls, double dur, double until)
{
	for (int i = 0; i < n; i++) {
		struct sim_client *c = &m->c[m->nc++];
		cr_assert(m->nc <= SIM_CLIENTS);
		sched_waiter_init(&c->w);
		c->tenant = tenant;
		c->cls = cls;
		c->dur = dur;
		c->until = until;
	}
}

static void sim_observe(struct sim *m)
{
	for (int i = 0; i < m->s.n_classes; i++)
		if (m->s.cls[i].in_use > m->max_in_use[i])
			m->max_in_use[i] = m->s.cls[i].in_use;
	for (int i = 0; i < SIM_TENANTS; i++)
		if (m->t[i].in_use > m->tenant_max_in_use[i])
			m->tenant_max_in_use[i] = m->t[i].in_use;
	if (m->check)
		m->check(m);
}

static void sim_start(struct sim *m, struct sim_client *c)
{
	c->started = sched_start(&m->s, &m->t[c->tenant], c->cls, m->now);
	c->end = m->now + c->dur * (m->jitter ? 0.5 + rnd(m) : 1.0);
	c->running = 1;
}

static void sim_arrive(struct sim *m, struct sim_client *c)
{
	if (m->now >= c->until)
		return;
	if (sched_admit_now(&m->s, &m->t[c->tenant], c->cls, m->now))
		sim_start(m, c);
	else
		sched_enqueue(&m->s, &c->w, &m->t[c->tenant], c->cls, m->now, 0);
}

static void sim_fill(struct sim *m)
{
	struct sched_waiter *w;

	while ((w = sched_pick(&m->s, m->now)))
		sim_start(m, container_of(w, struct sim_client, w));
}

/* Start all clients at time now (in order), then fill. */
static void sim_begin(struct sim *m)
{
	for (int i = 0; i < m->nc; i++)
		if (!m->c[i].running && list_empty(&m->c[i].w.node))
			sim_arrive(m, &m->c[i]);
	sim_fill(m);
	sim_observe(m);
}

/* Run events up to time t_end. */
static void sim_run(struct sim *m, double t_end)
{
	for (;;) {
		struct sim_client *next = NULL;
		for (int i = 0; i < m->nc; i++)
			if (m->c[i].running && (!next || m->c[i].end < next->end))
				next = &m->c[i];
		if (!next || next->end > t_end)
			break;
		m->now = next->end;
		next->running = 0;
		sched_finish(&m->s, &m->t[next->tenant], next->cls, next->started, m->now);
		sim_fill(m);
		sim_arrive(m, next);
		sim_fill(m);
		sim_observe(m);
		m->steps++;
	}
	m->now = t_end;
}

static void server_times(struct sim *m, double *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = m->t[i].c.server_time;
}

static void assert_share(double got, double want, const char *what)
{
	cr_assert(fabs(got - want) <= want * 0.05, "%s: share %.4f, expected %.4f (+-5%%)", what,
	          got, want);
}

/* Two saturating tenants with weights wa:wb and mean lengths da, db; returns A's share of
 * server time over [100, 1100). */
static double weighted_run(double wa, double wb, double da, double db, int capacity)
{
	static struct sim m;
	double before[2], after[2];

	sim_init(&m, capacity, 1);
	m.t[0].weight = wa;
	m.t[1].weight = wb;
	sim_clients(&m, 3 * capacity, 0, 0, da, 1e9);
	sim_clients(&m, 3 * capacity, 1, 0, db, 1e9);
	sim_begin(&m);
	sim_run(&m, 100);
	server_times(&m, before, 2);
	sim_run(&m, 1100);
	server_times(&m, after, 2);
	double a = after[0] - before[0], b = after[1] - before[1];
	cr_assert(a + b > 0.95 * capacity * 1000, "capacity wasted: %f", a + b);
	return a / (a + b);
}

/* ---- fairness ---- */

Test(sched, weighted_shares_equal_lengths)
{
	assert_share(weighted_run(3, 1, 0.01, 0.01, 10), 0.75, "3:1 equal lengths");
	assert_share(weighted_run(1, 1, 0.02, 0.02, 10), 0.5, "1:1 equal lengths");
}

Test(sched, weighted_shares_unequal_lengths)
{
	/* Charged by server time: the tenant with 5x longer transactions does not get 5x. */
	assert_share(weighted_run(3, 1, 0.01, 0.05, 10), 0.75, "3:1, B 5x longer");
	assert_share(weighted_run(3, 1, 0.05, 0.01, 10), 0.75, "3:1, A 5x longer");
	assert_share(weighted_run(1, 1, 0.2, 0.01, 8), 0.5, "1:1, A 20x longer");
}

Test(sched, three_tenants_weights)
{
	static struct sim m;
	double before[3], after[3], tot = 0;
	double w[3] = {1, 2, 5};

	sim_init(&m, 16, 1);
	for (int i = 0; i < 3; i++) {
		m.t[i].weight = w[i];
		sim_clients(&m, 40, i, 0, 0.01 * (i + 1), 1e9);
	}
	sim_begin(&m);
	sim_run(&m, 50);
	server_times(&m, before, 3);
	sim_run(&m, 550);
	server_times(&m, after, 3);
	for (int i = 0; i < 3; i++)
		tot += after[i] - before[i];
	for (int i = 0; i < 3; i++)
		assert_share((after[i] - before[i]) / tot, w[i] / 8, "1:2:5");
}

Test(sched, returning_tenant_banks_no_credit)
{
	static struct sim m;
	double before[2], after[2];

	sim_init(&m, 10, 1);
	sim_clients(&m, 30, 0, 0, 0.01, 1e9);
	sim_begin(&m);
	sim_run(&m, 200); /* A alone for 200 s: B's own virtual time stays 0 */
	sim_clients(&m, 30, 1, 0, 0.01, 1e9);
	m.now = 200;
	sim_begin(&m);
	server_times(&m, before, 2);
	sim_run(&m, 210);
	server_times(&m, after, 2);
	double a = after[0] - before[0], b = after[1] - before[1];
	assert_share(b / (a + b), 0.5, "returning tenant B");
}

Test(sched, tenant_max_slots)
{
	static struct sim m;

	sim_init(&m, 10, 1);
	m.t[0].max_slots = 3;
	sim_clients(&m, 20, 0, 0, 0.01, 1e9);
	sim_clients(&m, 20, 1, 0, 0.01, 1e9);
	sim_begin(&m);
	sim_run(&m, 100);
	cr_assert_eq(m.tenant_max_in_use[0], 3);
	cr_assert_eq(m.tenant_max_in_use[1], 7, "the other tenant takes what is left");
	/* A alone: still capped at 3 (capacity idles rather than exceed the tenant limit). */
	sim_init(&m, 10, 1);
	m.t[0].max_slots = 3;
	sim_clients(&m, 20, 0, 0, 0.01, 1e9);
	sim_begin(&m);
	sim_run(&m, 10);
	cr_assert_eq(m.tenant_max_in_use[0], 3);
}

/* ---- classes ---- */

static int reserve_violations;

static void check_reserve(struct sim *m)
{
	/* Class 1 (checkout) has reserve 3: whenever it has waiters it must hold >= 3 slots,
	 * and class 0 may never hold more than capacity - 3. */
	if (m->s.cls[1].n_waiting > 0 && m->s.cls[1].in_use < 3)
		reserve_violations++;
	if (m->s.cls[0].in_use > m->s.capacity - 3)
		reserve_violations++;
}

Test(sched, reservation_holds_under_flood)
{
	static struct sim m;
	double before, after;

	sim_init(&m, 10, 2);
	/* reporting: high priority, long transactions, floods; checkout: reserve 3. */
	sched_set_class(&m.s, 0, 100, 0, 10);
	sched_set_class(&m.s, 1, 0, 3, 10);
	sim_clients(&m, 60, 0, 0, 1.0, 1e9);
	sim_clients(&m, 8, 1, 1, 0.01, 1e9);
	reserve_violations = 0;
	m.check = check_reserve;
	sim_begin(&m);
	sim_run(&m, 50);
	before = m.s.cls[1].c.server_time;
	sim_run(&m, 550);
	after = m.s.cls[1].c.server_time;
	cr_assert_eq(reserve_violations, 0);
	cr_assert_eq(m.max_in_use[0], 7);
	cr_assert(after - before >= 3 * 500 * 0.97, "checkout got %f server-seconds",
	          after - before);
}

Test(sched, reserve_not_used_by_others_even_when_idle)
{
	static struct sim m;

	sim_init(&m, 10, 2);
	sched_set_class(&m.s, 0, 100, 0, 10);
	sched_set_class(&m.s, 1, 0, 4, 10);
	sim_clients(&m, 40, 0, 0, 0.05, 1e9);
	sim_begin(&m);
	sim_run(&m, 100);
	cr_assert_eq(m.max_in_use[0], 6);
}

Test(sched, ceiling_never_exceeded)
{
	static struct sim m;

	sim_init(&m, 10, 2);
	sched_set_class(&m.s, 0, 100, 0, 4);
	sched_set_class(&m.s, 1, 0, 0, 10);
	sim_clients(&m, 50, 0, 0, 0.3, 1e9);
	sim_begin(&m);
	sim_run(&m, 50);
	cr_assert_eq(m.max_in_use[0], 4, "alone: capped at its ceiling");
	/* With the other class saturating too, still 4, and the other class gets the rest. */
	sim_clients(&m, 50, 1, 1, 0.02, 1e9);
	m.now = 50;
	sim_begin(&m);
	sim_run(&m, 150);
	cr_assert_eq(m.max_in_use[0], 4);
	cr_assert_eq(m.max_in_use[1], 6);
}

Test(sched, lone_class_borrows_all_unreserved)
{
	static struct sim m;
	double before, after;

	sim_init(&m, 10, 3);
	sched_set_class(&m.s, 0, 10, 0, 10);
	sched_set_class(&m.s, 1, 50, 2, 10); /* idle, reserve 2 */
	sched_set_class(&m.s, 2, 0, 1, 10);  /* idle, reserve 1 */
	sim_clients(&m, 30, 0, 0, 0.01, 1e9);
	sim_begin(&m);
	sim_run(&m, 10);
	before = m.s.cls[0].c.server_time;
	sim_run(&m, 110);
	after = m.s.cls[0].c.server_time;
	cr_assert_eq(m.max_in_use[0], 7);
	cr_assert(after - before >= 7 * 100 * 0.98, "used %f of 700", after - before);
	/* A class borrows on top of its own reserve. */
	sim_init(&m, 10, 2);
	sched_set_class(&m.s, 0, 0, 3, 10);
	sched_set_class(&m.s, 1, 0, 2, 10);
	sim_clients(&m, 30, 0, 0, 0.01, 1e9);
	sim_begin(&m);
	sim_run(&m, 10);
	cr_assert(m.max_in_use[0] <= 8);
}

Test(sched, priority_then_low_class_not_starved_when_high_idle)
{
	static struct sim m;
	double low_before;

	sim_init(&m, 10, 2);
	sched_set_class(&m.s, 0, 100, 0, 10);
	sched_set_class(&m.s, 1, 1, 0, 10);
	sim_clients(&m, 30, 0, 0, 0.01, 20); /* high class stops at t=20 */
	sim_clients(&m, 30, 1, 1, 0.01, 1e9);
	sim_begin(&m);
	sim_run(&m, 19);
	low_before = m.s.cls[1].c.server_time;
	cr_assert(low_before < 0.2, "low class ran while high saturated: %f", low_before);
	sim_run(&m, 21);
	cr_assert_eq(m.s.cls[0].in_use, 0);
	sim_run(&m, 121);
	cr_assert(m.s.cls[1].c.server_time - low_before >= 10 * 100 * 0.97);
	cr_assert_eq(m.s.n_waiting, m.s.cls[1].n_waiting);
}

/* ---- direct API ---- */

Test(sched, slots_resolution)
{
	cr_assert_eq(sched_slots(30, 1, 10), 3);
	cr_assert_eq(sched_slots(25, 1, 10), 3, "percent rounds up");
	cr_assert_eq(sched_slots(1, 1, 10), 1, "non-zero percent gives at least one slot");
	cr_assert_eq(sched_slots(0, 1, 10), 0);
	cr_assert_eq(sched_slots(100, 1, 7), 7);
	cr_assert_eq(sched_slots(5, 0, 10), 5);
	cr_assert_eq(sched_slots(50, 0, 10), 10, "clamped to capacity");
	cr_assert_eq(sched_slots(33.3, 1, 3), 1);
	cr_assert_eq(sched_slots(30, 1, 0), 0);
}

Test(sched, fifo_and_counters)
{
	struct sched s;
	struct sched_tenant t;
	struct sched_waiter w[3];

	sched_init(&s, 1, 1);
	sched_tenant_init(&t, 1, 0);
	cr_assert(sched_admit_now(&s, &t, 0, 0));
	double st = sched_start(&s, &t, 0, 0);
	cr_assert_not(sched_admit_now(&s, &t, 0, 0), "no free slot");
	for (int i = 0; i < 3; i++) {
		sched_waiter_init(&w[i]);
		sched_enqueue(&s, &w[i], &t, 0, 1 + i, 0);
	}
	cr_assert_null(sched_pick(&s, 4), "slot still taken");
	sched_finish(&s, &t, 0, st, 5);
	cr_assert_eq(sched_pick(&s, 5), &w[0]);
	sched_start(&s, &t, 0, 5);
	sched_remove(&s, &w[1], 6, 1);
	sched_remove(&s, &w[1], 6, 1); /* second removal is a no-op */
	cr_assert_eq(t.n_waiting, 1);
	sched_finish(&s, &t, 0, 5, 7);
	cr_assert_eq(sched_pick(&s, 7), &w[2]);
	sched_count_shed(&s, &t, 0);
	cr_assert_eq(t.c.admitted, 2);
	cr_assert_eq(t.c.queued, 3);
	cr_assert_eq(t.c.shed, 2);
	cr_assert_eq(s.cls[0].c.shed, 2);
	cr_assert_float_eq(t.c.server_time, 7, 1e-9);
	cr_assert_float_eq(t.c.wait_time, (5 - 1) + (6 - 2) + (7 - 3), 1e-9);
	cr_assert(sched_tenant_idle(&t));
	cr_assert(list_empty(&s.cls[0].active));
}

Test(sched, no_barging)
{
	struct sched s;
	struct sched_tenant a, b;
	struct sched_waiter w;

	sched_init(&s, 3, 2);
	sched_set_class(&s, 0, 10, 0, 3);
	sched_set_class(&s, 1, 0, 0, 3);
	sched_tenant_init(&a, 1, 0);
	sched_tenant_init(&b, 4, 0);
	/* A delayed waiter of tenant a; slots are free. */
	sched_waiter_init(&w);
	sched_enqueue(&s, &w, &a, 0, 0, 5);
	cr_assert(sched_admit_now(&s, &b, 0, 1), "the waiter is not eligible yet");
	cr_assert_not(sched_admit_now(&s, &a, 0, 1), "FIFO inside a tenant: a must queue");
	/* Once eligible, a new arrival may not take the slot ahead of it. */
	cr_assert_not(sched_admit_now(&s, &b, 0, 5));
	cr_assert_not(sched_admit_now(&s, &b, 1, 5), "lower class may not pass it either");
	/* a holds a slot from 5 (admitted earlier); an idle tenant b enters at a's virtual time,
	 * so it banks no credit and the waiter still goes first. */
	double st = sched_start(&s, &a, 0, 5);
	cr_assert_not(sched_admit_now(&s, &b, 0, 8), "idle tenant: tie, waiter first");
	/* b becomes active at 7 at a's virtual time (2); by 8 it has 2 + 1/4 against a's 3: b is
	 * behind in weighted service and goes first. */
	sched_start(&s, &b, 0, 7);
	cr_assert(sched_admit_now(&s, &b, 0, 8), "b is behind a in service");
	cr_assert_eq(sched_pick(&s, 8), &w);
	sched_start(&s, &a, 0, 8);
	cr_assert_not(sched_admit_now(&s, &b, 0, 8), "no slot left");
	sched_finish(&s, &a, 0, st, 9);
	cr_assert(sched_admit_now(&s, &b, 1, 9));
}

Test(sched, not_before_delays)
{
	struct sched s;
	struct sched_tenant a, b;
	struct sched_waiter w1, w2, w3;

	sched_init(&s, 4, 1);
	sched_tenant_init(&a, 1, 0);
	sched_tenant_init(&b, 1, 0);
	sched_waiter_init(&w1);
	sched_waiter_init(&w2);
	sched_waiter_init(&w3);
	cr_assert_float_eq(sched_next_eligible(&s, 0), -1, 1e-9);
	sched_enqueue(&s, &w1, &a, 0, 0, 5);
	sched_enqueue(&s, &w2, &a, 0, 0, 1); /* behind w1: FIFO, waits for it */
	sched_enqueue(&s, &w3, &b, 0, 0, 3);
	cr_assert_eq(a.c.delayed, 2);
	cr_assert_float_eq(sched_next_eligible(&s, 0), 3, 1e-9);
	cr_assert_null(sched_pick(&s, 2.9));
	cr_assert_eq(sched_pick(&s, 3), &w3);
	cr_assert_float_eq(sched_next_eligible(&s, 3), 5, 1e-9);
	cr_assert_null(sched_pick(&s, 4.99));
	cr_assert_eq(sched_pick(&s, 5), &w1);
	cr_assert_eq(sched_pick(&s, 5), &w2);
	cr_assert_float_eq(sched_next_eligible(&s, 5), -1, 1e-9);
}

Test(sched, live_resize_and_ceiling_change)
{
	static struct sim m;

	sim_init(&m, 10, 1);
	m.jitter = 0;
	sim_clients(&m, 30, 0, 0, 1.0, 1e9);
	sim_begin(&m);
	cr_assert_eq(m.s.in_use, 10);
	sched_resize(&m.s, 4); /* nothing is forced: the 10 running keep going */
	cr_assert_eq(m.s.in_use, 10);
	cr_assert_null(sched_pick(&m.s, 0));
	sim_run(&m, 0.5);
	cr_assert_eq(m.s.in_use, 10);
	sim_run(&m, 1.0); /* all 10 end at t=1: only 4 restart */
	cr_assert_eq(m.s.in_use, 4);
	m.max_in_use[0] = 0;
	sim_run(&m, 20);
	cr_assert_eq(m.max_in_use[0], 4);
	cr_assert_eq(m.s.in_use, 4);
	/* Grow: the next pick fills the new capacity at once. */
	sched_resize(&m.s, 8);
	sim_fill(&m);
	cr_assert_eq(m.s.in_use, 8);
	/* Lower the class ceiling live: reached as transactions end. */
	sched_set_class(&m.s, 0, 0, 0, 2);
	cr_assert_eq(m.s.in_use, 8);
	m.max_in_use[0] = 0;
	sim_run(&m, 22);
	cr_assert(m.max_in_use[0] <= 8);
	cr_assert_eq(m.s.in_use, 2);
	m.max_in_use[0] = 0;
	sim_run(&m, 40);
	cr_assert_eq(m.max_in_use[0], 2);
}

Test(sched, class_order_by_priority)
{
	struct sched s;

	sched_init(&s, 10, 4);
	sched_set_class(&s, 0, 5, 0, 10);
	sched_set_class(&s, 1, 50, 0, 10);
	sched_set_class(&s, 2, 5, 0, 10);
	sched_set_class(&s, 3, -1, 0, 10);
	cr_assert_eq(s.order[0], 1);
	cr_assert_eq(s.order[1], 0);
	cr_assert_eq(s.order[2], 2);
	cr_assert_eq(s.order[3], 3);
	sched_set_class(&s, 2, 3, 5, 1);
	cr_assert_eq(s.cls[2].max, 5, "max below reserve is raised to it");
}

/* ---- class shares inside a tenant's allotment ---- */

Test(sched, tenant_share_reserve_and_ceiling)
{
	struct sched s;
	struct sched_tenant t;
	double now = 0;

	/* Unbounded domain; the tenant holds at most 10 slots. Class 1 (checkout) keeps 30% of
	 * them, class 0 (reporting) may use at most 50%. */
	sched_init(&s, 1000, 2);
	sched_set_class_share(&s, 0, 0, 0, 50, 1);
	sched_set_class_share(&s, 1, 30, 1, 100, 1);
	sched_tenant_init(&t, 1, 10);
	int reporting = 0;
	while (sched_may_take(&s, &t, 0)) {
		sched_start(&s, &t, 0, now);
		reporting++;
	}
	cr_assert_eq(reporting, 5, "reporting stops at its 50%% ceiling inside the tenant");
	int checkout = 0;
	while (sched_may_take(&s, &t, 1)) {
		sched_start(&s, &t, 1, now);
		checkout++;
	}
	cr_assert_eq(checkout, 5, "checkout gets the rest of the tenant's 10");
	cr_assert_eq(t.in_use, 10);
}

Test(sched, tenant_share_reserve_not_borrowed)
{
	struct sched s;
	struct sched_tenant t;

	/* Without a ceiling, reporting still cannot take the 3 slots checkout keeps in the tenant,
	 * even while checkout is idle. */
	sched_init(&s, 1000, 2);
	sched_set_class_share(&s, 1, 3, 0, 100, 1);
	sched_tenant_init(&t, 1, 10);
	int n = 0;
	while (sched_may_take(&s, &t, 0)) {
		sched_start(&s, &t, 0, 0);
		n++;
	}
	cr_assert_eq(n, 7);
	cr_assert(sched_may_take(&s, &t, 1), "checkout's reserve is there");
}

Test(sched, tenant_without_max_slots_has_no_share_rules)
{
	struct sched s;
	struct sched_tenant t;

	sched_init(&s, 20, 2);
	sched_set_class_share(&s, 0, 0, 0, 10, 1);
	sched_tenant_init(&t, 1, 0);
	int n = 0;
	while (sched_may_take(&s, &t, 0)) {
		sched_start(&s, &t, 0, 0);
		n++;
	}
	cr_assert_eq(n, 20, "only the domain capacity limits an unlimited tenant");
}

/* ---- affinity: the tenant that freed a slot keeps it within its share ---- */

Test(sched, pick_hint_keeps_share_and_converges)
{
	/* Two tenants, weights 3:1, 4 slots, always busy with equal transactions. With the hint
	 * (the tenant that just finished), the allocation settles at 3:1 and stays there: slots
	 * move between tenants only a handful of times. */
	struct sched s;
	struct sched_tenant t[2];
	struct sched_waiter w[16];
	int owner_of_slot[4], running_tenant[16], moves = 0, done[2] = {0, 0};
	double end[16];
	sched_init(&s, 4, 1);
	sched_tenant_init(&t[0], 3, 0);
	sched_tenant_init(&t[1], 1, 0);
	for (int i = 0; i < 16; i++) {
		sched_waiter_init(&w[i]);
		sched_enqueue(&s, &w[i], &t[i % 2], 0, 0, 0);
		running_tenant[i] = -1;
	}
	for (int k = 0; k < 4; k++)
		owner_of_slot[k] = -1;
	double now = 0;
	struct sched_tenant *hint = NULL;
	int hint_slot = -1;
	for (int round = 0; round < 4000; round++) {
		struct sched_waiter *x;
		while ((x = sched_pick_hint(&s, now, hint, 0.25))) {
			int i = (int)(x - w), tn = (int)(x->tenant - t), slot = hint_slot;
			if (slot < 0)
				for (int k = 0; k < 4; k++)
					if (owner_of_slot[k] == -2 || owner_of_slot[k] == -1) {
						slot = k;
						break;
					}
			if (owner_of_slot[slot] >= 0 && owner_of_slot[slot] != tn)
				moves++;
			owner_of_slot[slot] = tn;
			sched_start(&s, x->tenant, 0, now);
			running_tenant[i] = slot;
			end[i] = now + 0.02;
			hint = NULL;
			hint_slot = -1;
		}
		/* finish the earliest running transaction */
		int first = -1;
		for (int i = 0; i < 16; i++)
			if (running_tenant[i] >= 0 && (first < 0 || end[i] < end[first]))
				first = i;
		now = end[first];
		int tn = first % 2;
		sched_finish(&s, &t[tn], 0, now - 0.02, now);
		done[tn]++;
		hint = &t[tn];
		hint_slot = running_tenant[first];
		running_tenant[first] = -1;
		sched_enqueue(&s, &w[first], &t[tn], 0, now, now);
	}
	double ratio = (double)done[0] / done[1];
	cr_assert(ratio > 2.85 && ratio < 3.15, "weights 3:1 gave %.3f", ratio);
	cr_assert(moves < 40, "slots moved between tenants %d times", moves);
}
