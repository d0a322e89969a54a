/* Draining a worker for a rollout or node drain (SIGTERM, SHUTDOWN WAIT_FOR_CLIENTS). */
#ifndef SLUICE_DRAIN_H
#define SLUICE_DRAIN_H

struct worker;
struct client;

#include <stdint.h>

/* Enter drain mode (the caller has closed the listeners); logs what is left. */
void drain_start(struct worker *w);
/* Periodic: close clients at a boundary, enforce shutdown_timeout. Returns how much is left
 * (clients, or pending cancels in the last phase); 0 means the worker may exit. */
int drain_step(struct worker *w);
/* While draining, a client that has been served before starts a transaction with message
 * (type, body of len bytes): if it is a connection check (ABORT, DISCARD/RESET ALL, SELECT 1,
 * empty...), close the client with 57P01 and return 1, so the check fails and the client's pool
 * reconnects elsewhere; real work is served (returns 0). */
int drain_refuse_start(struct client *cl, uint8_t type, const uint8_t *body, uint32_t len);

#endif
