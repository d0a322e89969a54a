/* Host selection for multi-host [databases] entries, on the worker: which host a new server
 * connection goes to (target_session_attrs, by the health checker's last report), and the
 * failover events (primary lost, new primary) that hold and release transactions. */
#ifndef SLUICE_HOSTSEL_H
#define SLUICE_HOSTSEL_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct pool;
struct server;
struct host_report;

/* Failover counters (metrics). */
struct hostsel_stats {
	uint64_t primary_lost, new_primary, released, host_failures;
	uint64_t routed_standby, routed_primary; /* routed-read transactions by where they ran */
	double last_recovery_s;                  /* primary lost to new primary, the last time */
};

/* One row of SHOW HOSTS / the host metrics. */
struct hostsel_row {
	const char *db, *host, *tsa, *last_error;
	int idx, port, role, state, read_only, suspect, selected;
	double lag, last_check;
	int sv_active, sv_idle, sv_other; /* this worker's server connections to the host */
};

/* Host index for pool's next server connection (0 for single-host entries), or -1 with the
 * reason in why when no host satisfies target_session_attrs now (the caller holds). */
int hostsel_pick(struct pool *pool, char *why, size_t len);
/* Host index of the least busy standby of pool's entry that routed reads may use now (a
 * standby by the checker's last report, up, lag within max_replica_lag, no failed login since
 * that report), or -1. */
int hostsel_pick_standby(struct pool *pool);
/* 1 when pool's entry has such a standby now. */
int hostsel_has_standby(struct pool *pool);
/* 1 when host idx of pool's entry is such a standby now. */
int hostsel_standby_usable(struct pool *pool, int idx);
/* Count a routed-read transaction (route replica/prefer-replica, read_only_routing) by where
 * it runs. */
void hostsel_note_routed(struct worker *w, int to_standby);
/* A server connection to srv's host failed (at_login: could not connect or log in, which marks
 * the host down until the checker has looked again). Wakes the checker at once. */
void hostsel_server_failed(struct server *srv, const char *why, int at_login);
/* A report from the checker (ownership moves in): log and act on role changes. */
void hostsel_report(struct worker *w, struct host_report *r);
/* Row i of SHOW HOSTS; 0, or -1 past the end. */
int hostsel_row(struct worker *w, int i, struct hostsel_row *row);
/* The failover counters (zeros before any report). */
struct hostsel_stats hostsel_stats(struct worker *w);
/* Free the worker's host state. */
void hostsel_free(struct worker *w);

#endif
