/* A server connection lost under a client's transaction: what the client is told, and how it
 * sees the rolled-back transaction until it ends the block (see src/failover.c). */
#ifndef SLUICE_FAILOVER_H
#define SLUICE_FAILOVER_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct server;

/* What the lost server connection was doing, taken before it is closed. */
struct failover_loss {
	int expected_rfq;
	uint8_t unsynced, txn_status, saw_fatal, mid_message;
};

/* Record srv's state and forward the complete messages it had already read to its client. */
void failover_capture(struct server *srv, struct failover_loss *fl);
/* cl's server connection is gone (already unlinked): tell the client (now, or at its next
 * message), or close it when its session state or protocol position is lost. */
void failover_server_lost(struct client *cl, const struct failover_loss *fl, const char *reason);
/* A message from a client whose transaction was lost (cl->lost_txn): answered by sluice as
 * PostgreSQL answers an aborted transaction block. Returns an enum pkt_action. */
int failover_client_msg(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total,
                        uint32_t avail);
/* 1 if the statement text starts with COMMIT or END. */
int failover_is_commit(const char *q, size_t len);

#endif
