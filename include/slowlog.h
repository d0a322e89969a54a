/* Slow-transaction and slow-statement log: log_min_duration_transaction and
 * log_min_duration_statement. A transaction or statement slower than its threshold is logged with
 * tenant, class, database, user, application_name, server, queue wait and server time, and the
 * statement text cut to log_statement_max_length with literals replaced by `?` (unless
 * log_parameters = 1). log_sample_rate caps the lines per second so a flood cannot fill the disk.
 * Per-client state is allocated once, on the client's first logged-path message, never per
 * message; nothing happens when both thresholds are 0. */
#ifndef SLUICE_SLOWLOG_H
#define SLUICE_SLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct client;
struct server;

static inline int slowlog_enabled(const struct sluice_config *cfg)
{
	return cfg->log_min_duration_statement > 0 || cfg->log_min_duration_transaction > 0;
}
/* A message the client sends to its linked server (Query and Parse carry text; Query and Execute
 * start a statement; the first one starts the transaction). */
void slowlog_client_msg(struct client *cl, uint8_t type, const uint8_t *p, uint32_t avail);
/* The server answered everything it owed (ReadyForQuery): end of statement, and of the
 * transaction when txn_status is 'I'. */
void slowlog_ready(struct client *cl, const struct server *srv);
/* Free cl's state (client close). */
void slowlog_free(struct client *cl);
/* Copy SQL text into out (outlen > 0), replacing string and numeric literals by '?'. Returns
 * the length written. Exposed for unit tests. */
size_t slowlog_normalize(const char *sql, size_t len, char *out, size_t outlen);

#endif
