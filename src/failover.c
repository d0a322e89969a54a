/* A server connection lost under a client's transaction (server crash, restart, failover): in
 * transaction pooling the client stays connected. It gets one ErrorResponse with
 * failover_sqlstate (08007 when its COMMIT was in flight) — at once when it was waiting for an
 * answer, otherwise in answer to its next message — and then sees a failed transaction, as
 * PostgreSQL would show it: everything but ROLLBACK/COMMIT gets 25P02 until the block ends.
 * Session mode (and a client pinned to its server) loses session state: 57P01 and close. */
#include "failover.h"

#include <string.h>
#include <strings.h>

#include "client.h"
#include "log.h"
#include "server.h"
#include "sqlword.h"
#include "txnpool.h"
#include "worker.h"

enum { LOST_NONE, LOST_FAILED, LOST_PENDING };

#define LOST_MSG    "server connection lost (%s); the transaction was rolled back"
#define LOST_DETAIL "sluice keeps this connection; retry the transaction."

static void send_error(struct client *cl, const char *sqlstate, const char *msg, const char *detail,
                       char ready)
{
	struct wbuf b = {0};
	pkt_error(&b, 'E', "ERROR", sqlstate, msg, detail, NULL);
	if (ready)
		pkt_ready(&b, ready);
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
}

static void send_simple(struct client *cl, char type, const char *tag, char ready)
{
	struct wbuf b = {0};
	size_t s = pkt_begin(&b, type);
	if (tag)
		pkt_put_cstr(&b, tag);
	pkt_end(&b, s);
	if (ready)
		pkt_ready(&b, ready);
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
}

static const char *const COMMIT_WORDS[] = {"COMMIT", "END", NULL};
static const char *const ROLLBACK_WORDS[] = {"ROLLBACK", "ABORT", NULL};

int failover_is_commit(const char *q, size_t len)
{
	return sql_starts_with(q, len, COMMIT_WORDS) && !sql_starts_with(q, len, ROLLBACK_WORDS);
}

/* ROLLBACK TO [SAVEPOINT] does not end the block: the savepoint died with the server. */
static int ends_block(const char *q, size_t len, int *is_commit)
{
	*is_commit = failover_is_commit(q, len);
	if (*is_commit)
		return 1;
	if (!sql_starts_with(q, len, ROLLBACK_WORDS))
		return 0;
	const char *to = NULL;
	for (size_t i = 0; i + 3 < len && !to; i++)
		if (!strncasecmp(q + i, " TO ", 4) || !strncasecmp(q + i, " TO\n", 4))
			to = q + i;
	return !to;
}

void failover_capture(struct server *srv, struct failover_loss *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->expected_rfq = srv->expected_rfq;
	fl->unsynced = srv->unsynced;
	fl->txn_status = srv->txn_status;
	fl->saw_fatal = srv->saw_fatal;
	/* Complete messages already read from the server still reach the client; a message
	 * half forwarded leaves the client's protocol stream unrecoverable. */
	fl->mid_message = srv->c.pkt_remain > 0;
	if (!fl->mid_message && srv->c.dst)
		conn_flush_forward(&srv->c);
}

void failover_server_lost(struct client *cl, const struct failover_loss *fl, const char *reason)
{
	struct worker *w = cl->c.w;
	const struct sluice_config *cfg = w->cfg;
	char msg[300];
	gov_release(cl);
	int session = cl->pool->pool_mode == POOL_SESSION || (cl->txn && txn_client_pinned(cl));
	if (session || fl->mid_message || fl->saw_fatal) {
		snprintf(msg, sizeof(msg), "server connection lost: %s", reason);
		client_fatal(cl, session ? "57P01" : "08006", msg);
		return;
	}
	if (cl->c.pkt_remain > 0)
		cl->c.pkt_skip = 1; /* the rest of a message the client was streaming */
	w->stats.failover_lost++;
	if (fl->expected_rfq <= 0) {
		/* Idle inside a transaction: it hears about it when it next speaks. */
		if (fl->txn_status != 'I') {
			cl->lost_txn = LOST_PENDING;
			clog(cl, LOG_LVL_WARNING,
			     "server connection lost (%s) while idle in a transaction; the client "
			     "is "
			     "told at its next message",
			     reason);
		}
		return;
	}
	if (cl->commit_sent) {
		snprintf(
		    msg, sizeof(msg),
		    "server connection lost (%s) while COMMIT was in flight; the transaction may "
		    "or may not have committed",
		    reason);
		send_error(cl, "08007", msg, "Check whether its effects are there before retrying.",
		           fl->unsynced ? 0 : 'I');
		clog(cl, LOG_LVL_WARNING, "%s", msg);
	} else {
		char ready = fl->txn_status == 'I' ? 'I' : 'E';
		snprintf(msg, sizeof(msg), LOST_MSG, reason);
		if (ready == 'E')
			cl->lost_txn = LOST_FAILED;
		send_error(cl, cfg->failover_sqlstate, msg, LOST_DETAIL, fl->unsynced ? 0 : ready);
		clog(cl, LOG_LVL_WARNING, "%s; sent %s", msg, cfg->failover_sqlstate);
	}
	/* Further pipelined requests that were on their way to the dead server. */
	for (int k = 1; k < fl->expected_rfq; k++)
		send_error(cl, cl->lost_txn ? "25P02" : cfg->failover_sqlstate,
		           "server connection lost; request not run", NULL,
		           cl->lost_txn ? 'E' : 'I');
	cl->commit_sent = 0;
	if (fl->unsynced) {
		/* The client is in the middle of an extended-protocol batch: skip to its Sync. */
		cl->discard = 1;
	}
}

/* ---- the client's messages while its transaction is lost ---- */

static void end_lost(struct client *cl)
{
	cl->lost_txn = LOST_NONE;
	cl->lost_ext_end = 0;
}

int failover_client_msg(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total,
                        uint32_t avail)
{
	const struct sluice_config *cfg = cl->c.w->cfg;
	const char *q = (const char *)p + PKT_HDR_LEN;
	uint32_t have = (avail < total ? avail : total) - PKT_HDR_LEN;
	char msg[200];
	int is_commit = 0;

	if ((type == 'Q' || type == 'P') && avail < total && total <= cl->c.w->bufsize)
		return PKT_NEED_FULL;
	if (type == 'P') { /* skip the statement name */
		const char *z = memchr(q, 0, have);
		have = z ? have - (uint32_t)(z + 1 - q) : 0;
		q = z ? z + 1 : q;
	}
	switch (type) {
	case 'X':
		client_close(cl, "client close request");
		return PKT_GONE;
	case 'Q':
		if (ends_block(q, have, &is_commit)) {
			if (is_commit && cl->lost_txn == LOST_PENDING) {
				snprintf(msg, sizeof(msg), LOST_MSG, "before COMMIT");
				send_error(cl, cfg->failover_sqlstate, msg, LOST_DETAIL, 'I');
			} else {
				send_simple(cl, 'C', "ROLLBACK", 'I');
			}
			end_lost(cl);
		} else if (cl->lost_txn == LOST_PENDING) {
			snprintf(msg, sizeof(msg), LOST_MSG, "while idle in the transaction");
			send_error(cl, cfg->failover_sqlstate, msg, LOST_DETAIL, 'E');
			cl->lost_txn = LOST_FAILED;
		} else {
			send_error(cl, "25P02",
			           "current transaction is aborted, commands ignored until end of "
			           "transaction block",
			           NULL, 'E');
		}
		return avail < total ? PKT_SKIP : PKT_HANDLED;
	case 'P':
		if (ends_block(q, have, &is_commit) &&
		    !(is_commit && cl->lost_txn == LOST_PENDING)) {
			/* A driver ending the block with the extended protocol (JDBC rollback()).
			 */
			cl->lost_ext_end = 1;
			send_simple(cl, '1', NULL, 0);
			return avail < total ? PKT_SKIP : PKT_HANDLED;
		}
		break;
	case 'B':
		if (cl->lost_ext_end) {
			send_simple(cl, '2', NULL, 0);
			return PKT_SKIP;
		}
		break;
	case 'D':
		if (cl->lost_ext_end) {
			send_simple(cl, 'n', NULL, 0);
			return PKT_SKIP;
		}
		break;
	case 'E':
		if (cl->lost_ext_end) {
			send_simple(cl, 'C', "ROLLBACK", 0);
			return PKT_SKIP;
		}
		break;
	case 'C':
		if (cl->lost_ext_end) {
			send_simple(cl, '3', NULL, 0);
			return PKT_SKIP;
		}
		break;
	case 'H':
		return PKT_SKIP;
	case 'S': {
		struct wbuf b = {0};
		cl->lost_ext_err = 0;
		pkt_ready(&b, cl->lost_ext_end ? 'I' : 'E');
		conn_queue(&cl->c, b.data, b.len);
		wb_free(&b);
		if (cl->lost_ext_end)
			end_lost(cl);
		return PKT_HANDLED;
	}
	default:
		return PKT_SKIP; /* COPY data and the like of the lost transaction */
	}
	/* Any other extended-protocol message: one error, then skip to Sync. */
	if (cl->lost_txn == LOST_PENDING) {
		snprintf(msg, sizeof(msg), LOST_MSG, "while idle in the transaction");
		send_error(cl, cfg->failover_sqlstate, msg, LOST_DETAIL, 0);
		cl->lost_txn = LOST_FAILED;
	} else if (!cl->lost_ext_err) {
		send_error(cl, "25P02",
		           "current transaction is aborted, commands ignored until end of "
		           "transaction block",
		           NULL, 0);
	}
	cl->lost_ext_err = 1;
	return PKT_SKIP;
}
