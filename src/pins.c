/* Pins: session objects (advisory locks, temp tables, WITH HOLD cursors, SQL PREPARE, and a
 * LISTEN that could not be multiplexed) that keep a client on its server connection in
 * transaction pooling, or are refused under pin_policy = error. Part of the state described
 * in txnpool.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "server.h"
#include "stmtclass.h"
#include "txnpool.h"
#include "worker.h"

static const char *const pin_names[N_PIN_CLASS] = {"session advisory lock", "temporary table",
                                                   "WITH HOLD cursor", "SQL PREPARE", "LISTEN"};

const char *txn_pin_name(int cls)
{
	return pin_names[cls];
}

int txn_client_pinned(const struct client *cl)
{
	const struct txn_client *tc = cl->txn;
	if (!tc)
		return 0;
	for (int i = 0; i < N_PIN_CLASS; i++)
		if (tc->pins[i] > 0)
			return 1;
	return 0;
}

/* The first pin class a statement would take, or -1. */
int txn_pin_wanted(const struct stmt_info *si)
{
	if (si->advisory_lock)
		return PIN_ADVISORY;
	for (int i = 0; i < si->n; i++) {
		switch (si->item[i].kind) {
		case SK_CREATE_TEMP:
			return PIN_TEMP;
		case SK_DECLARE_HOLD:
			return PIN_HOLD;
		case SK_PREPARE:
			return PIN_PREPARE;
		case SK_LISTEN:
			return PIN_LISTEN;
		default:
			break;
		}
	}
	return -1;
}

static void pin_take(struct client *cl, struct txn_client *tc, int cls)
{
	if (!tc->pin_logged) {
		tc->pin_logged = 1;
		clog(cl, LOG_LVL_LOG, "pinned to its server connection: %s", pin_names[cls]);
	}
	cl->c.w->stats.pins[cls]++;
	tc->pins[cls]++;
}

static void pin_drop(struct txn_client *tc, int cls, int all)
{
	if (all || tc->pins[cls] <= 1)
		tc->pins[cls] = 0;
	else
		tc->pins[cls]--;
}

/* Pins taken and released by statements being sent to the server. Counting is by
 * statement, not by object: a CLOSE or DEALLOCATE releases one, so a client that
 * declares two WITH HOLD cursors stays pinned until both are closed (or DISCARD ALL). */
void txn_pins_apply(struct client *cl, const struct stmt_info *si)
{
	struct txn_client *tc = txn_client_get(cl);
	if (!tc)
		return;
	/* pg_try_advisory_lock may not get the lock and pg_advisory_unlock may not hold it: the
	 * count is a guess until the server is asked at the end of the transaction. */
	if (si->advisory_lock || si->advisory_unlock || si->advisory_unlock_all) {
		tc->adv_unsure = 1;
		tc->adv_gen++;
	}
	if (si->advisory_unlock_all)
		tc->pins[PIN_ADVISORY] = 0;
	for (int i = 0; i < si->advisory_lock; i++)
		pin_take(cl, tc, PIN_ADVISORY);
	for (int i = 0; i < si->advisory_unlock && tc->pins[PIN_ADVISORY]; i++)
		pin_drop(tc, PIN_ADVISORY, 0);
	for (int i = 0; i < si->n; i++) {
		const struct stmt_item *it = &si->item[i];
		switch (it->kind) {
		case SK_CREATE_TEMP:
			pin_take(cl, tc, PIN_TEMP);
			break;
		case SK_DECLARE_HOLD:
			pin_take(cl, tc, PIN_HOLD);
			break;
		case SK_PREPARE:
			pin_take(cl, tc, PIN_PREPARE);
			break;
		case SK_LISTEN:
			pin_take(cl, tc, PIN_LISTEN);
			break;
		case SK_UNLISTEN:
			if (tc->pins[PIN_LISTEN])
				pin_drop(tc, PIN_LISTEN, 0);
			break;
		case SK_UNLISTEN_ALL:
			pin_drop(tc, PIN_LISTEN, 1);
			break;
		case SK_DISCARD_ALL:
			memset(tc->pins, 0, sizeof(tc->pins));
			break;
		case SK_DISCARD_TEMP:
			pin_drop(tc, PIN_TEMP, 1);
			break;
		case SK_CLOSE_ALL:
			pin_drop(tc, PIN_HOLD, 1);
			break;
		case SK_CLOSE:
			if (tc->pins[PIN_HOLD])
				pin_drop(tc, PIN_HOLD, 0);
			break;
		case SK_DEALLOCATE_ALL:
			pin_drop(tc, PIN_PREPARE, 1);
			break;
		case SK_DEALLOCATE:
			if (tc->pins[PIN_PREPARE])
				pin_drop(tc, PIN_PREPARE, 0);
			break;
		default:
			break;
		}
	}
}

int txn_pin_recheck(struct server *srv)
{
	struct txn_client *tc = srv->client->txn;
	if (!tc->adv_unsure || !tc->pins[PIN_ADVISORY])
		return 1;
	tc->adv_unsure = 0;
	tc->adv_check_gen = tc->adv_gen;
	server_internal_query(srv, INTERNAL_PINCHECK,
	                      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = "
	                      "pg_backend_pid() AND granted");
	return 1;
}

void txn_pincheck_row(struct server *srv, const uint8_t *body, uint32_t len)
{
	struct txn_client *tc = srv->client ? srv->client->txn : NULL;
	struct pkt_reader r;
	char num[16];
	rd_init(&r, body, len);
	if (!tc || rd_u16(&r) != 1)
		return;
	uint32_t l = rd_u32(&r);
	const uint8_t *v = l < sizeof(num) ? rd_bytes(&r, l) : NULL;
	if (!v)
		return;
	memcpy(num, v, l);
	num[l] = 0;
	/* The client may have sent more lock calls while the check ran: then it is stale, and
	 * the next transaction end asks again. */
	if (tc->adv_gen == tc->adv_check_gen)
		tc->pins[PIN_ADVISORY] = atoi(num);
}

void txn_pincheck_done(struct server *srv)
{
	/* Run the release decision again with the exact count. */
	if (srv->client && srv->c.ops->post)
		srv->c.ops->post(&srv->c);
}

/* pin_policy = error: the text that makes PostgreSQL itself raise the refusal, so it
 * arrives in protocol order and fails an open transaction block as a real error would. */
int txn_refusal_sql(int cls, char *out, size_t len)
{
	int n = snprintf(out, len,
	                 "DO $sluice$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = "
	                 "'%s is not allowed in transaction pooling (pin_policy = error)', HINT = "
	                 "'Use a session-mode pool for this client, or set pin_policy = pin.'; "
	                 "END$sluice$",
	                 pin_names[cls]);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

void txn_refuse_log(struct client *cl, int cls)
{
	clog(cl, LOG_LVL_WARNING, "refused %s (pin_policy = error)", pin_names[cls]);
}
