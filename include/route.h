/* Reads to replicas: which transactions may run on a standby of a multi-host [databases] entry
 * (a class's route =, read_only_routing), and which server connections fit them. Server
 * connections to standbys live in the same pool as those to the primary (so a tenant's quotas
 * count across both) and are marked; a transaction only ever gets a server of its kind. */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stdint.h>

struct client;
struct pool;
struct server;

/* What a new server connection of a pool should be for. */
enum route_kind { KIND_NONE, KIND_PRIMARY, KIND_STANDBY };

/* Decide cl->route for the transaction that starts with message type/body (the class's
 * route, or read_only_routing's look at BEGIN ... READ ONLY); ROUTE_PRIMARY for entries with
 * one host. */
void route_decide(struct client *cl, uint8_t type, const uint8_t *body, uint32_t len);
/* 1 when srv may serve cl's transaction by cl->route and the hosts' current state. */
int route_server_fits(const struct server *srv, const struct client *cl);
/* The kind of server connection the pool's waiters need next (logins in flight counted), or
 * KIND_NONE when every waiter is covered or can only wait (route = replica, no standby). */
enum route_kind route_launch_kind(struct pool *pool);

#endif
