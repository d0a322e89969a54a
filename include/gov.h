/* The traffic governor on the transaction path: tenants, classes, token buckets and the slot
 * scheduler wired to clients and pools. The policy itself is pure code elsewhere (govsched.h,
 * ratelimit.h, classify.h, governor.h); this file owns the runtime state of one worker.
 *
 * A slot is permission for one transaction (a session in session mode) to hold a server
 * connection. A client asks for one before its pool is asked for a server and gives it back when
 * the server goes back to the pool; in between it may wait in the scheduler (its tenant's queue
 * for its class). Capacity domain = the login role (struct pool_user), capacity
 * max_user_connections; each tenant's allotment inside it is max_server_conn (capped by its
 * pools' pool_size). Without a [tenant_defaults]/[tenant.*]/[class.*] section none of this runs.
 */
#ifndef SLUICE_GOV_H
#define SLUICE_GOV_H

#include <ev.h>
#include <stdint.h>

#include "classify.h"
#include "config.h"
#include "govsched.h"
#include "list.h"
#include "ratelimit.h"

struct worker;
struct client;
struct pool;
struct pool_user;
struct gov_tenant_conf;

/* Counters kept by the glue (the scheduler keeps admitted/queued/shed/delayed/times). */
struct gov_tenant_stats {
	uint64_t login_refused; /* logins refused for the tenant's max_client_conn */
	uint64_t queue_full;    /* transactions shed because max_queue was reached */
	uint64_t timed_out;     /* transactions shed after queue_timeout */
	uint64_t rate_shed;     /* shed because the rate-limit wait exceeded queue_timeout */
	uint64_t stmt_delayed;  /* statements held back by query_rate inside a transaction */
	double stmt_delay_time; /* seconds those statements were held back */
};

/* A tenant on this worker. */
struct gov_tenant {
	struct list node; /* in worker gov.tenants */
	char name[CFG_NAME_MAX];
	int is_auto;                        /* not a [tenant.NAME]: the defaults, named by db */
	const struct gov_tenant_conf *conf; /* in the worker's config snapshot */
	struct token_bucket xact_tb, query_tb;
	int n_clients;   /* logged-in and logging-in clients counted against max_client_conn */
	int n_queued;    /* transactions waiting in the scheduler, all domains */
	struct list dts; /* struct gov_dt: this tenant in each capacity domain */
	struct gov_tenant_stats st;
};

/* A capacity domain: one scheduler over the server connections of one login role. */
struct gov_domain {
	struct sched s;
	struct pool_user *user;
	int unbounded; /* no max_user_connections: only tenant-level rules apply */
	struct list waiting[SCHED_MAX_CLASSES]; /* clients queued, arrival order (timeouts) */
};

/* A tenant inside one domain (its scheduler state there). */
struct gov_dt {
	struct list node; /* in gov_tenant.dts */
	struct gov_tenant *t;
	struct gov_domain *d;
	struct sched_tenant st;
};

/* Per-client governor state (embedded in struct client). */
struct gov_client {
	struct sched_waiter wt;    /* queued in the scheduler */
	struct list wait_node;     /* in its domain's waiting list while queued */
	struct list delay_node;    /* in the worker's delayed list while a statement is held */
	struct gov_tenant *tenant; /* counted against max_client_conn; NULL if not */
	struct gov_dt *dt;         /* where the slot is held or the transaction queued */
	int cls;                   /* class of the current (or next) transaction */
	int login_cls;             /* class from the login facts, -1 = resolve again */
	uint8_t holding;           /* holds a slot */
	uint8_t queued;            /* waiting in the scheduler */
	uint8_t qtoken;   /* a query_rate token is already reserved for the next statement */
	uint8_t delayed;  /* a statement is held back by query_rate */
	double started;   /* slot start time */
	double resume_at; /* when a held-back statement may go */
	char option_class[CLASSIFY_NAME_MAX]; /* from -c sluice.class=NAME, "" if none */
};

/* Worker-wide governor state. */
struct gov_state {
	struct list tenants;
	struct list delayed; /* clients with a statement held back by query_rate */
	ev_timer timer;      /* next rate-delayed waiter or held-back statement */
	int n_classes;
	char cls_names[SCHED_MAX_CLASSES][CLASSIFY_NAME_MAX]; /* class index -> name */
};

enum gov_verdict { GOV_GO, GOV_WAIT, GOV_SHED };

/* Set up / tear down the worker's governor state. */
void gov_worker_init(struct worker *w);
void gov_worker_free(struct worker *w);
/* After a config (re)load: re-resolve tenants, classes, limits and capacities live. */
void gov_apply_config(struct worker *w);
/* A client's login reached its pool: count it against its tenant's max_client_conn. Returns 0,
 * or -1 with a message for a 53300 refusal. No-op when the governor is off. */
int gov_client_login(struct client *cl, char *err, size_t errlen);
/* The client goes away: leave the queue, give back a slot, uncount it. */
void gov_client_gone(struct client *cl);
/* The client starts a transaction with message (type, body of len bytes available): classify,
 * rate-limit and admit. GOV_GO: a slot is held, ask the pool; GOV_WAIT: queued (the client is
 * paused and resumed by the worker later); GOV_SHED: an error has been sent
 * (client_fail_request), the client stays usable. */
enum gov_verdict gov_admit(struct client *cl, uint8_t type, const uint8_t *body, uint32_t len);
/* A statement (Query or Execute) inside a transaction: 0 go, 1 held back by query_rate (the
 * client is paused and resumed later). */
int gov_statement(struct client *cl);
/* The transaction (or session) is over: give back the slot and serve the next waiters. */
void gov_release(struct client *cl);
/* Periodic: shed waiters past their class's queue_timeout. */
void gov_janitor(struct worker *w);
/* statement_timeout in ms for cl's current transaction, 0 when its class sets none. */
int gov_statement_timeout_ms(const struct client *cl);
/* The client's application_name changed: re-classify at its next transaction. */
void gov_client_facts_changed(struct client *cl);
/* Strip -c sluice.class=NAME from a startup options value into cl; rest gets what is left.
 * Returns 0, or -1 with a message in err (invalid class name). */
int gov_startup_options(struct client *cl, const char *options, char *rest, size_t restlen,
                        char *err, size_t errlen);

#endif
