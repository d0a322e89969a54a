/* The health checker: on the control plane (main thread's loop), libpq's asynchronous API
 * probes every host of multi-host [databases] entries each health_check_period and sends what
 * it learns (role, state, lag) to the worker as a struct host_report (see src/health.c). */
#ifndef SLUICE_HEALTH_H
#define SLUICE_HEALTH_H

#include "config.h"

struct runtime;
struct health;

enum host_role { HOST_ROLE_UNKNOWN = 0, HOST_ROLE_PRIMARY, HOST_ROLE_STANDBY };
/* UNCHECKED: no probe has finished yet; NOLOGIN: the host answers but the probe could not log
 * in (credentials, unknown database), so its role is unknown. */
enum host_state { HOST_UNCHECKED = 0, HOST_UP, HOST_DOWN, HOST_LAGGING, HOST_NOLOGIN };

/* What the checker knows about one host of one [databases] entry. */
struct host_info {
	char db[CFG_NAME_MAX]; /* the entry's client-facing name */
	int idx;               /* index into the entry's hosts[] */
	char host[CFG_HOST_MAX];
	int port;
	int role;      /* enum host_role */
	int state;     /* enum host_state */
	int read_only; /* transaction_read_only is on (libpq's read-write test) */
	double lag;    /* replay lag of a standby in seconds, 0 for a primary */
	double probe_started, last_check; /* loop times (ev_time based, like worker_now) */
	char last_error[256];
};

/* A snapshot of every host, sent to the worker after each probe (one allocation). */
struct host_report {
	int n;
	struct host_info h[];
};

/* Start the checker on rt's loop from rt->cfg; 0, or -1 on out of memory. */
int health_init(struct runtime *rt);
/* rt->cfg was replaced (reload): probe the hosts of the new snapshot, keeping what is known. */
void health_reconfigure(struct runtime *rt);
/* Stop every probe and free the checker. */
void health_free(struct runtime *rt);
/* Probe every host now rather than at the next period (any thread: a server connection to a
 * host failed). */
void health_wake(struct runtime *rt);
/* Names for SHOW HOSTS, logs and metrics. */
const char *host_role_name(int role);
const char *host_state_name(int state);

#endif
