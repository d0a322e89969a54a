/* Per-host limits on new server connections, on the worker: max_host_connections (a ceiling on
 * server connections to one host:port across every database and user) and server_connect_rate
 * (new connections per second per host), so a failover, a restart or a RECONNECT ramps up
 * instead of hitting the new primary with every pool's connections at once (see src/hostcap.c). */
#ifndef SLUICE_HOSTCAP_H
#define SLUICE_HOSTCAP_H

#include <stdint.h>

struct worker;
struct pool;
struct server;

/* One host:port as [databases] names it (not the resolved address). */
struct hostcap;

/* A row of the per-host figures (metrics). */
struct hostcap_row {
	const char *host;
	int port;
	int servers;              /* server connections open or opening */
	uint64_t delayed, capped; /* connects put off by the rate / refused at the ceiling */
};

/* May pool open a server connection to host:port now? 1 (counted: call hostcap_opened), or 0:
 * the ceiling is reached (an idle connection of another pool there was not found to close) or
 * the rate has no token (a relaunch is scheduled for when it has). The pool's waiters stay
 * queued either way. *out receives the host's entry (NULL on out of memory, then 1). */
int hostcap_admit(struct pool *pool, const char *host, int port, struct hostcap **out);
/* srv (to hc) was created / closed. A close under a full ceiling relaunches waiting pools. */
void hostcap_opened(struct hostcap *hc);
void hostcap_closed(struct worker *w, struct hostcap *hc);
/* srv is about to go idle: another pool waits for room at srv's host's full ceiling, so srv
 * should be closed and that pool launched (the fair hand-over); NULL when none. */
struct pool *hostcap_starving(struct server *srv);
/* Row i of the per-host figures; 0, or -1 past the end. */
int hostcap_row(struct worker *w, int i, struct hostcap_row *row);
/* The fraction of server_lifetime a new server connection gets: 1 - jitter * u, u uniform in
 * [0, 1), so lifetime closes of connections opened together spread out. */
double hostcap_lifetime_factor(double jitter);
/* Free the worker's host table. */
void hostcap_free(struct worker *w);

#endif
