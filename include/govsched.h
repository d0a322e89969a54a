/* (Named govsched.h, not sched.h, which would shadow the system <sched.h>.)
 * Governor scheduler over one capacity domain (e.g. one server pool) of `capacity` slots; a slot is
 * permission for one transaction to hold a server connection. Pure code over plain structs: no
 * sockets, no clock (time is always passed in as `now`, seconds), no allocation.
 *
 * Rules. A class may hold its own reserve plus unreserved capacity (capacity - sum of reserves,
 * shared and work-conserving), never more than its ceiling `max`, and the domain never more than
 * `capacity`. No class may use another class's reserve, even an unused one. A tenant never holds
 * more than its max_slots (0 = unlimited) in this domain. Inside a tenant with max_slots the same
 * reserve/ceiling rules hold at tenant scale (sched_set_class_share), so one tenant's reporting
 * cannot fill that tenant's own allotment and starve its checkout either.
 *
 * Choice when a slot frees (sched_pick): classes by priority (higher first; ties: lower index)
 * among those with an eligible waiter allowed to take a slot; inside a class, least attained
 * service across tenants: virtual time = (completed server-seconds + elapsed time of running
 * transactions) / weight, lowest first (so tenants are charged for server time held, not for
 * transaction count); a tenant that becomes active again in a class starts at
 * max(its own, minimum of the active tenants) so idling banks no credit; FIFO inside
 * tenant+class. A waiter is eligible once now >= not_before; only the head of a tenant+class
 * queue is considered (strict FIFO: a delayed head delays those behind it).
 *
 * Lowered capacity or ceilings are reached as transactions end; nothing is ever forced. */
#ifndef SLUICE_GOVSCHED_H
#define SLUICE_GOVSCHED_H

#include "list.h"

#include <stdint.h>

#define SCHED_MAX_CLASSES 16

/* Decision counters, kept per tenant and per class. Times are seconds. */
struct sched_counters {
	uint64_t admitted;  /* slots taken (sched_start) */
	uint64_t queued;    /* waiters enqueued */
	uint64_t shed;      /* waiters removed as shed, plus sched_count_shed calls */
	uint64_t delayed;   /* waiters enqueued with a not_before in the future (rate limits) */
	double wait_time;   /* total time waiters spent queued (picked or removed) */
	double server_time; /* total slot time of finished transactions */
};

struct sched_class {
	int priority; /* higher is served first */
	int reserve;  /* slots held back for this class */
	int max;      /* ceiling in slots (INT_MAX: none) */
	int in_use;
	int n_waiting;
	/* The same reserve and ceiling applied inside each tenant's own max_slots (see
	 * sched_set_class_share); percentages of the tenant's allotment, or plain counts. */
	double share_reserve, share_max;
	uint8_t share_reserve_pct, share_max_pct;
	struct list active; /* tenants with waiters or running transactions in this class */
	struct sched_counters c;
};

struct sched {
	int capacity;
	int in_use;
	int n_classes;
	int n_waiting;
	struct sched_class cls[SCHED_MAX_CLASSES];
	int order[SCHED_MAX_CLASSES]; /* class indexes by priority, highest first */
};

struct sched_tenant;

/* Per tenant+class state inside a tenant. */
struct sched_tq {
	struct sched_tenant *owner;
	struct list waiters; /* FIFO of struct sched_waiter */
	struct list node;    /* in sched_class.active while waiting or running */
	int n_waiting;
	int running;
	double service;   /* completed server-seconds in this class */
	double start_sum; /* sum of the start times of running transactions */
};

/* A tenant as seen by one scheduler; embed it in the caller's tenant struct. Its queues, in_use
 * and max_slots belong to that one struct sched (one capacity domain); a limit spanning several
 * domains needs a check in the caller (or one sched for them all). */
struct sched_tenant {
	double weight; /* share when tenants compete (> 0) */
	int max_slots; /* 0 = unlimited */
	int in_use;
	int n_waiting;
	struct sched_tq q[SCHED_MAX_CLASSES];
	struct sched_counters c;
};

/* A queued transaction; embed it in the client struct. */
struct sched_waiter {
	struct sched_tenant *tenant;
	int cls;
	double enqueued;
	double not_before; /* not eligible before this time */
	struct list node;  /* detached (list_empty) when not queued */
};

/* Start a scheduler with capacity slots and n_classes classes (1..SCHED_MAX_CLASSES), each with
 * priority 0, no reserve and no ceiling. */
void sched_init(struct sched *s, int capacity, int n_classes);
/* Set (or change live) class i: priority, reserve and max in resolved slots (see sched_slots). A
 * max below the reserve is raised to it. */
void sched_set_class(struct sched *s, int i, int priority, int reserve, int max);
/* Set (or change live) the reserve and ceiling class i has inside every tenant with a max_slots:
 * values are percentages of the tenant's max_slots when *_pct, else slot counts (as sched_slots).
 * The default is no reserve and a 100% ceiling, i.e. no tenant-level class rule. */
void sched_set_class_share(struct sched *s, int i, double reserve, int reserve_pct, double max,
                           int max_pct);
/* Live capacity change; re-resolve reserves and ceilings with sched_set_class afterwards if they
 * are percentages. */
void sched_resize(struct sched *s, int capacity);
/* Resolve a reserve/max value to slots: a percentage of capacity rounded up (a non-zero
 * percentage gives at least 1 slot), or a plain count; either way clamped to 0..capacity. */
int sched_slots(double value, int is_percent, int capacity);

/* Initialise a tenant (weight <= 0 is taken as 1). Change weight/max_slots live by assignment. */
void sched_tenant_init(struct sched_tenant *t, double weight, int max_slots);
/* 1 if the tenant has no waiters and no running transactions (safe to free). */
int sched_tenant_idle(const struct sched_tenant *t);
/* Initialise a waiter (detached). */
void sched_waiter_init(struct sched_waiter *w);

/* Queue w for tenant t in class cls; it becomes eligible at not_before (<= now: at once). */
void sched_enqueue(struct sched *s, struct sched_waiter *w, struct sched_tenant *t, int cls,
                   double now, double not_before);
/* Take w out of its queue (timeout, cancel, disconnect); shed != 0 counts it as shed. No-op if
 * w is not queued. */
void sched_remove(struct sched *s, struct sched_waiter *w, double now, int shed);
/* Count a transaction refused without queueing (queue full, etc.). */
void sched_count_shed(struct sched *s, struct sched_tenant *t, int cls);
/* The waiter that gets the next free slot, removed from its queue, or NULL if none may take one
 * now. Call sched_start for it at once (pick does not take the slot). */
struct sched_waiter *sched_pick(struct sched *s, double now);
/* sched_pick, except that the head of tenant hint's queue in the chosen class is taken instead of
 * the fairness leader's when hint's virtual time is within slack of the leader's (the caller
 * passes the tenant whose transaction just freed the slot, so that its server connection can be
 * reused instead of moved; the fairness lag this allows is bounded by slack). */
struct sched_waiter *sched_pick_hint(struct sched *s, double now, struct sched_tenant *hint,
                                     double slack);
/* Absolute time the earliest delayed waiter (queue head with not_before > now) becomes eligible,
 * or -1 if there is none. */
double sched_next_eligible(const struct sched *s, double now);
/* 1 if a new arrival of tenant t in class cls may take a slot immediately: the rules allow it,
 * the tenant has nothing queued in cls, and no eligible waiter that could use the slot would be
 * served before it by sched_pick (no barging). On 1, call sched_start. */
int sched_admit_now(const struct sched *s, const struct sched_tenant *t, int cls, double now);
/* 1 if tenant t in class cls may take a slot now under the capacity/reserve/ceiling/max_slots
 * rules alone (ignoring waiters). */
int sched_may_take(const struct sched *s, const struct sched_tenant *t, int cls);

/* Take a slot for tenant t in class cls; returns the start time to pass to sched_finish. */
double sched_start(struct sched *s, struct sched_tenant *t, int cls, double now);
/* Release a slot taken at started, charging now - started server-seconds to the tenant. */
void sched_finish(struct sched *s, struct sched_tenant *t, int cls, double started, double now);
/* The tenant's current virtual time in class cls (for tests and SHOW output). */
double sched_vtime(const struct sched_tenant *t, int cls, double now);

#endif
