/* Session state that leaks nowhere, for pools in transaction and statement mode.
 *
 * - SET/RESET of parameters the server does not report (lock_timeout, search_path, ...)
 *   are read from the client's Query/Parse text and recorded as pending on the server;
 *   when the server says the transaction ended without error (ReadyForQuery 'I') they
 *   become part of the client's session and of the server's actual state. Linking a
 *   client to a server writes the SET/RESET differences in the same write as the
 *   tracked-parameter SETs, so the server is brought to exactly the client's session
 *   (and back to its login baseline for a client that set nothing) with no extra round
 *   trip.
 * - DISCARD ALL and DEALLOCATE of the client's own statements are answered by sluice.
 * - Session advisory locks, temp tables, WITH HOLD cursors and SQL PREPARE pin the
 *   client to its server (pin_policy = pin) or are refused (pin_policy = error).
 * - DROP/CREATE ... TEMPLATE/ALTER DATABASE close sluice's idle connections to that
 *   database first, so PostgreSQL does not see them as other users. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "listen.h"
#include "log.h"
#include "server.h"
#include "stmtclass.h"
#include "txnpool.h"
#include "worker.h"

#define SESS_MAX_VARS  64
#define SESS_VALUE_MAX 1024

struct txn_client *txn_client_get(struct client *cl)
{
	if (!cl->txn)
		cl->txn = calloc(1, sizeof(*cl->txn));
	return cl->txn;
}

struct txn_server *txn_server_get(struct server *srv)
{
	if (!srv->txn) {
		struct txn_server *ts = calloc(1, sizeof(*ts));
		int cap = srv->c.w->cfg->max_prepared_statements;
		if (ts && cap > 0 && ps_cache_init(&ts->cache, (uint32_t)cap) < 0) {
			free(ts);
			ts = NULL;
		}
		srv->txn = ts;
	}
	return srv->txn;
}

/* --- session variables --- */

static int vars_find(const struct sess_vars *sv, const char *name)
{
	for (int i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i].name, name))
			return i;
	return -1;
}

static int vars_set(struct sess_vars *sv, const char *name, const char *value)
{
	int i = vars_find(sv, name);
	char *nv = strdup(value);
	if (!nv)
		return -1;
	if (i >= 0) {
		free(sv->v[i].value);
		sv->v[i].value = nv;
		return 0;
	}
	if (sv->n == sv->cap) {
		int ncap = sv->cap ? sv->cap * 2 : 4;
		struct sess_var *n =
		    ncap <= SESS_MAX_VARS ? realloc(sv->v, (size_t)ncap * sizeof(*n)) : NULL;
		if (!n) {
			free(nv);
			return -1;
		}
		sv->v = n;
		sv->cap = ncap;
	}
	sv->v[sv->n].name = strdup(name);
	sv->v[sv->n].value = nv;
	if (!sv->v[sv->n].name) {
		free(nv);
		return -1;
	}
	sv->n++;
	return 0;
}

static void vars_del(struct sess_vars *sv, const char *name)
{
	int i = vars_find(sv, name);
	if (i < 0)
		return;
	free(sv->v[i].name);
	free(sv->v[i].value);
	sv->v[i] = sv->v[--sv->n];
}

void sess_vars_clear(struct sess_vars *sv)
{
	for (int i = 0; i < sv->n; i++) {
		free(sv->v[i].name);
		free(sv->v[i].value);
	}
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* Make dst hold exactly src's variables. */
static int vars_copy(struct sess_vars *dst, const struct sess_vars *src)
{
	for (int i = dst->n - 1; i >= 0; i--)
		if (vars_find(src, dst->v[i].name) < 0)
			vars_del(dst, dst->v[i].name);
	for (int i = 0; i < src->n; i++)
		if (vars_set(dst, src->v[i].name, src->v[i].value) < 0)
			return -1;
	return 0;
}

static int append(char *sql, size_t room, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l + 2 > room)
		return -1;
	memcpy(sql + *n, s, l);
	*n += l;
	sql[(*n)++] = ';';
	sql[*n] = 0;
	return 0;
}

size_t txn_link_sql(struct server *srv, struct client *cl, char *sql, size_t room)
{
	struct txn_client *tc = cl->txn;
	struct txn_server *ts = srv->txn;
	static const struct sess_vars none;
	const struct sess_vars *want = tc ? &tc->vars : &none;
	char one[SESS_VALUE_MAX + 128];
	size_t n = 0;
	if (!want->n && (!ts || !ts->vars.n))
		return 0;
	if (!(ts = txn_server_get(srv)))
		return 0;
	for (int i = 0; i < ts->vars.n; i++)
		if (vars_find(want, ts->vars.v[i].name) < 0 &&
		    (stmt_reset_sql(ts->vars.v[i].name, one, sizeof(one)) < 0 ||
		     append(sql, room, &n, one) < 0))
			goto overflow;
	for (int i = 0; i < want->n; i++) {
		int k = vars_find(&ts->vars, want->v[i].name);
		if (k >= 0 && !strcmp(ts->vars.v[k].value, want->v[i].value))
			continue;
		if (stmt_set_sql(want->v[i].name, want->v[i].value, one, sizeof(one)) < 0 ||
		    append(sql, room, &n, one) < 0)
			goto overflow;
	}
	if (vars_copy(&ts->vars, want) < 0)
		goto overflow;
	return n;
overflow:
	/* Cannot say it in one write: the server must not be reused with unknown state. */
	clog(cl, LOG_LVL_WARNING,
	     "session variables too large to re-apply; closing server after use");
	ts->dirty = 1;
	sql[0] = 0;
	return 0;
}

/* --- database commands --- */

static void close_idle_to_db(struct client *cl, const char *dbname, const char *why)
{
	struct worker *w = cl->c.w;
	struct list *it, *n, *s, *sn;
	if (!*dbname)
		return;
	list_for_each_safe(it, n, &w->pools)
	{
		struct pool *pool = list_entry(it, struct pool, node);
		const struct db_entry *e = &pool->db->entry;
		if (strcmp(e->dbname[0] ? e->dbname : e->name, dbname))
			continue;
		list_for_each_safe(s, sn, &pool->servers[SL_IDLE])
		{
			struct server *srv = list_entry(s, struct server, node);
			static const uint8_t terminate[5] = {'X', 0, 0, 0, 4};
			conn_send(&srv->c, terminate, sizeof(terminate));
			w->stats.db_cmd_closes++;
			server_close(srv, why);
		}
	}
}

/* --- pending session changes --- */

static void pend_add(struct server *srv, enum sess_op_kind kind, const char *name,
                     const char *value, size_t vlen)
{
	struct txn_server *ts = srv->txn;
	if (ts->npend == TXN_MAX_PENDING || vlen >= SESS_VALUE_MAX) {
		slog(srv, LOG_LVL_WARNING,
		     "session change not tracked (too many or too long); server closed after use");
		ts->dirty = 1;
		return;
	}
	struct sess_op *op = &ts->pend[ts->npend];
	op->kind = kind;
	op->name = name ? strdup(name) : NULL;
	op->value = value ? strndup(value, vlen) : NULL;
	if ((name && !op->name) || (value && !op->value)) {
		free(op->name);
		free(op->value);
		ts->dirty = 1;
		return;
	}
	ts->npend++;
}

/* Forget the pending ops; a LISTEN among them that did not commit goes away. */
static void pend_clear(struct server *srv)
{
	struct txn_server *ts = srv->txn;
	for (int i = 0; i < ts->npend; i++) {
		if (ts->pend[i].kind == SO_LISTEN && srv->client)
			listen_drop_pending(srv->client, ts->pend[i].name);
		free(ts->pend[i].name);
		free(ts->pend[i].value);
	}
	ts->npend = 0;
	ts->pend_err = 0;
}

static void pend_commit(struct server *srv)
{
	struct txn_server *ts = srv->txn;
	struct client *cl = srv->client;
	struct txn_client *tc = cl ? txn_client_get(cl) : NULL;
	for (int i = 0; i < ts->npend; i++) {
		struct sess_op *op = &ts->pend[i];
		switch (op->kind) {
		case SO_SET:
			if (vars_set(&ts->vars, op->name, op->value) < 0 ||
			    (tc && vars_set(&tc->vars, op->name, op->value) < 0))
				ts->dirty = 1;
			break;
		case SO_RESET:
			vars_del(&ts->vars, op->name);
			if (tc)
				vars_del(&tc->vars, op->name);
			break;
		case SO_LISTEN:
			if (cl)
				listen_activate(cl, op->name);
			break;
		case SO_UNLISTEN:
			if (cl)
				listen_remove(cl, op->name);
			break;
		case SO_UNLISTEN_ALL:
			if (cl)
				listen_remove(cl, NULL);
			break;
		case SO_DISCARD_ALL:
			/* The server dropped sluice's statements too: it cannot be reused. */
			ts->dirty = 1;
			if (cl)
				ps_client_clear(cl);
			/* fall through */
		case SO_RESET_ALL:
			sess_vars_clear(&ts->vars);
			if (tc)
				sess_vars_clear(&tc->vars);
			break;
		}
	}
	pend_clear(srv);
}

/* Record what the statements about to run on the server change in the session. */
static void note_effects(struct client *cl, const struct stmt_info *si)
{
	struct server *srv = cl->server;
	for (int i = 0; i < si->n; i++) {
		const struct stmt_item *it = &si->item[i];
		switch (it->kind) {
		case SK_SET:
		case SK_RESET:
			/* Reported parameters follow the client through ParameterStatus already. */
			if (track_var_index(it->name) >= 0)
				break;
			pend_add(srv, it->kind == SK_SET ? SO_SET : SO_RESET, it->name, it->value,
			         it->value_len);
			break;
		case SK_RESET_ALL:
			pend_add(srv, SO_RESET_ALL, NULL, NULL, 0);
			break;
		case SK_UNLISTEN_ALL:
			pend_add(srv, SO_UNLISTEN_ALL, NULL, NULL, 0);
			break;
		case SK_DISCARD_ALL:
			pend_add(srv, SO_DISCARD_ALL, NULL, NULL, 0);
			break;
		case SK_DEALLOCATE_ALL:
			if (cl->txn)
				ps_client_clear(cl);
			srv->txn->dirty = 1; /* sluice's own statements went too */
			break;
		case SK_ROLLBACK:
			pend_clear(srv); /* what this transaction SET is undone */
			break;
		case SK_DROP_DATABASE:
			close_idle_to_db(cl, it->name, "database is being dropped");
			break;
		case SK_CREATE_DATABASE:
			close_idle_to_db(cl, it->name,
			                 "database is being copied (CREATE DATABASE)");
			break;
		case SK_ALTER_DATABASE:
			close_idle_to_db(cl, it->name, "database is being altered");
			break;
		default:
			break;
		}
	}
	if (si->more)
		pend_add(srv, SO_SET, "?", "", SESS_VALUE_MAX); /* too many to follow: dirty */
	txn_pins_apply(cl, si);
}

/* --- hooks --- */

/* Text of a Query (without its terminating NUL) from the bytes at hand. */
static void query_text(const uint8_t *p, uint32_t avail, const char **sql, size_t *len)
{
	*sql = (const char *)p + PKT_HDR_LEN;
	*len = avail - PKT_HDR_LEN;
	if (*len && (*sql)[*len - 1] == 0)
		(*len)--;
}

static void send_error_ready(struct client *cl, const char *state, const char *msg,
                             const char *hint)
{
	struct wbuf b = {0};
	pkt_error(&b, 'E', "ERROR", state, msg, NULL, hint);
	pkt_ready(&b, 'I');
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
}

/* DISCARD ALL / DEALLOCATE answered without the server; returns the synth or SY_NONE. */
/* LISTEN / UNLISTEN as a query of their own go to the pool's listener connection; inside a
 * transaction block they take effect when it commits (pending on the server like a SET). */
static enum txn_synth listen_answer(struct client *cl, struct server *srv,
                                    const struct stmt_info *si)
{
	const struct stmt_item *it = &si->item[0];
	enum sess_op_kind op;
	if (si->n != 1 || si->more || (cl->txn && cl->txn->pins[PIN_LISTEN]))
		return SY_NONE; /* a LISTEN already sent to its server: UNLISTEN goes there too */
	if (it->kind == SK_LISTEN)
		op = SO_LISTEN;
	else if (it->kind == SK_UNLISTEN)
		op = SO_UNLISTEN;
	else if (it->kind == SK_UNLISTEN_ALL)
		op = SO_UNLISTEN_ALL;
	else
		return SY_NONE;
	if (srv && srv->txn_status != 'I' && op != SO_LISTEN) {
		pend_add(srv, op, op == SO_UNLISTEN_ALL ? NULL : it->name, NULL, 0);
	} else if (op == SO_LISTEN) {
		/* In a block: registered now but delivered only once the block commits. */
		int pending = srv && srv->txn_status != 'I';
		int r = listen_add(cl, it->name, pending);
		if (r < 0)
			return SY_NONE; /* out of memory: let the server answer (and pin) */
		if (r > 0)
			return SY_WAIT;
		if (pending)
			pend_add(srv, SO_LISTEN, it->name, NULL, 0);
	} else {
		listen_remove(cl, op == SO_UNLISTEN ? it->name : NULL);
	}
	return op == SO_LISTEN ? SY_LISTEN : SY_UNLISTEN;
}

static enum txn_synth local_answer(struct client *cl, struct server *srv,
                                   const struct stmt_info *si)
{
	struct txn_client *tc = cl->txn;
	enum txn_synth sy = listen_answer(cl, srv, si);
	if (sy != SY_NONE)
		return sy;
	if (txn_client_pinned(cl))
		return SY_NONE; /* the session objects live on the server: let it discard them */
	if (stmt_is_single(si, SK_DISCARD_ALL)) {
		if (tc) {
			sess_vars_clear(&tc->vars);
			ps_client_clear(cl);
			listen_remove(cl, NULL);
		}
		return SY_DISCARD_ALL;
	}
	if (stmt_is_single(si, SK_DEALLOCATE_ALL) && cl->c.w->cfg->max_prepared_statements > 0) {
		ps_client_clear(cl);
		return SY_DEALLOCATE_ALL;
	}
	if (stmt_is_single(si, SK_DEALLOCATE) && tc &&
	    ps_names_del(&tc->names, &cl->c.w->ps_reg, si->item[0].name))
		return SY_DEALLOCATE;
	return SY_NONE;
}

int txn_client_unlinked(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total,
                        uint32_t avail)
{
	struct stmt_info si;
	const char *sql;
	size_t len;
	if (type == 'C')
		return ps_client_close_unlinked(cl, p, total, avail);
	if (type != 'Q')
		return -1;
	if (avail < total && total <= cl->c.w->bufsize)
		return PKT_NEED_FULL;
	query_text(p, avail, &sql, &len);
	stmt_classify(sql, len, &si);
	enum txn_synth sy = local_answer(cl, NULL, &si);
	if (sy == SY_WAIT)
		return PKT_PAUSE;
	if (sy != SY_NONE) {
		txn_send_synth(cl, sy, 'I');
		return cl->c.closed ? PKT_GONE : PKT_HANDLED;
	}
	int cls = txn_pin_wanted(&si);
	if (cls >= 0 && cl->c.w->cfg->pin_policy == PIN_POLICY_ERROR) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "%s is not allowed in transaction pooling (pin_policy = error)",
		         txn_pin_name(cls));
		txn_refuse_log(cl, cls);
		send_error_ready(
		    cl, "0A000", msg,
		    "Use a session-mode pool for this client, or set pin_policy = pin.");
		if (avail < total)
			return PKT_SKIP; /* the rest of this Query streams into the void */
		return cl->c.closed ? PKT_GONE : PKT_HANDLED;
	}
	return -1;
}

/* Replace the whole message by a Query/Parse carrying refusal text (pin_policy = error). */
static int refuse_linked(struct client *cl, uint8_t type, const char *name, int cls)
{
	uint8_t b[600];
	char sqlbuf[480];
	int sl = txn_refusal_sql(cls, sqlbuf, sizeof(sqlbuf));
	size_t nl = name ? strlen(name) + 1 : 0, n = 0;
	if (sl < 0 || nl > 64)
		return -1;
	b[n++] = type;
	n += 4;
	if (type == 'P') {
		memcpy(b + n, name, nl);
		n += nl;
	}
	memcpy(b + n, sqlbuf, (size_t)sl + 1);
	n += (size_t)sl + 1;
	if (type == 'P') {
		b[n++] = 0; /* no parameter types */
		b[n++] = 0;
	}
	pg_put_u32(b + 1, (uint32_t)(n - 1));
	txn_refuse_log(cl, cls);
	conn_flush_forward(&cl->c);
	if (conn_send(&cl->server->c, b, n) < 0)
		return PKT_GONE;
	cl->c.skip_prefix = UINT32_MAX; /* the original is dropped entirely */
	return -1;
}

int txn_client_linked(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total,
                      uint32_t avail)
{
	struct server *srv = cl->server;
	struct txn_server *ts = txn_server_get(srv);
	struct stmt_info si;
	const char *sql;
	size_t len;
	if (!ts) {
		client_fatal(cl, "53200", "out of memory");
		return PKT_GONE;
	}
	switch (type) {
	case 'Q': {
		if (avail < total && total <= cl->c.w->bufsize)
			return PKT_NEED_FULL;
		query_text(p, avail, &sql, &len);
		stmt_classify(sql, len, &si);
		/* A Query ends any extended-protocol error skipping. */
		ts->skipping = 0;
		enum txn_synth sy = SY_NONE;
		if (!stmt_is_single(&si, SK_DISCARD_ALL) || srv->txn_status == 'I')
			sy = local_answer(cl, srv, &si);
		if (sy == SY_WAIT)
			return PKT_PAUSE;
		if (sy != SY_NONE) {
			int idle = !ts->qlen;
			txn_synth_answer(srv, 'Q', sy);
			/* Answered with nothing outstanding: the server may be free now. */
			if (idle && !cl->c.closed && srv->c.ops->post)
				srv->c.ops->post(&srv->c);
			return cl->c.closed ? PKT_GONE : PKT_HANDLED;
		}
		int cls = txn_pin_wanted(&si);
		if (txn_req_push(srv, 'Q', RA_FWD, SY_NONE, 0) < 0) {
			client_fatal(cl, "54000",
			             "too many pipelined requests for sluice to track");
			return PKT_GONE;
		}
		if (cls >= 0 && cl->c.w->cfg->pin_policy == PIN_POLICY_ERROR)
			return refuse_linked(cl, 'Q', NULL, cls);
		note_effects(cl, &si);
		return -1;
	}
	case 'P': {
		struct pkt_reader r;
		rd_init(&r, p + PKT_HDR_LEN, avail - PKT_HDR_LEN);
		const char *name = rd_cstr(&r), *q = name ? rd_cstr(&r) : NULL;
		if (ts->skipping)
			return -1; /* ignored by the server until Sync */
		if (!q && avail < total && total <= cl->c.w->bufsize)
			return PKT_NEED_FULL;
		if (q) {
			stmt_classify(q, strlen(q), &si);
			int cls = txn_pin_wanted(&si);
			if (cls >= 0 && cl->c.w->cfg->pin_policy == PIN_POLICY_ERROR) {
				if (*name && cl->c.w->cfg->max_prepared_statements > 0) {
					/* The client's name stands for the refusal from now on. */
					char body[480];
					int bl = txn_refusal_sql(cls, body, sizeof(body) - 2);
					if (bl < 0)
						return -1;
					body[bl + 1] = body[bl + 2] = 0;
					txn_refuse_log(cl, cls);
					return ps_parse_named(cl, name, (uint8_t *)body,
					                      (uint32_t)bl + 3);
				}
				if (txn_req_push(srv, 'P', RA_FWD, SY_NONE, 0) < 0)
					return PKT_GONE;
				return refuse_linked(cl, 'P', name, cls);
			}
			note_effects(cl, &si);
		}
		return ps_client_msg(cl, type, p, total, avail);
	}
	case 'B':
	case 'D':
	case 'C':
	case 'E':
		if (ts->skipping)
			return -1;
		return ps_client_msg(cl, type, p, total, avail);
	case 'S':
	case 'F':
		ts->skipping = 0;
		if (txn_req_push(srv, type, RA_FWD, SY_NONE, 0) < 0) {
			client_fatal(cl, "54000",
			             "too many pipelined requests for sluice to track");
			return PKT_GONE;
		}
		return -1;
	default:
		return -1;
	}
}

int txn_server_msg(struct server *srv, uint8_t type, const uint8_t *p, uint32_t total)
{
	struct txn_server *ts = srv->txn;
	if (type == 'E' && ts->npend)
		ts->pend_err = 1;
	if (type == 'Z' && total >= 6) {
		if (p[5] == 'I') {
			if (ts->npend && !ts->pend_err)
				pend_commit(srv);
			pend_clear(srv);
		} else if (p[5] == 'E' && ts->npend) {
			ts->pend_err = 1;
		}
	}
	return ps_server_msg(srv, type);
}

int txn_server_dirty(const struct server *srv)
{
	return srv->txn && (srv->txn->dirty || srv->txn->qlen);
}

int txn_server_alive(struct server *srv)
{
	uint8_t b;
	ssize_t n = recv(srv->c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 1;
	if (n > 0) {
		/* Something arrived while idle (a termination notice, usually): read it now. */
		conn_try_read(&srv->c);
		return !srv->c.closed;
	}
	txn_note_idle_drop(srv, n == 0 ? "closed by the server" : "socket error");
	server_close(srv, "server connection lost while idle");
	return 0;
}

void txn_note_idle_drop(struct server *srv, const char *why)
{
	srv->c.w->stats.idle_server_drops++;
	slog(srv, LOG_LVL_LOG, "idle server connection ended by the server (%s): dropped", why);
}

void txn_server_reset(struct server *srv, const char *sql)
{
	struct txn_server *ts = srv->txn;
	struct stmt_info si;
	if (!ts)
		return;
	stmt_classify(sql, strlen(sql), &si);
	for (int i = 0; i < si.n; i++) {
		enum stmt_kind k = si.item[i].kind;
		if (k == SK_DISCARD_ALL || k == SK_DEALLOCATE_ALL)
			ps_cache_clear(&ts->cache);
		if (k == SK_DISCARD_ALL || k == SK_RESET_ALL)
			sess_vars_clear(&ts->vars);
	}
}

void txn_client_closing(struct client *cl)
{
	if (cl->server && cl->server->txn && txn_client_pinned(cl))
		cl->server->txn->dirty = 1;
}

void txn_client_free(struct client *cl)
{
	struct txn_client *tc = cl->txn;
	if (!tc)
		return;
	listen_remove(cl, NULL);
	wb_free(&tc->notify_q);
	sess_vars_clear(&tc->vars);
	ps_names_clear(&tc->names, &cl->c.w->ps_reg);
	free(tc);
	cl->txn = NULL;
}

void txn_server_free(struct server *srv)
{
	struct txn_server *ts = srv->txn;
	if (!ts)
		return;
	sess_vars_clear(&ts->vars);
	ps_cache_free(&ts->cache);
	pend_clear(srv);
	free(ts->q);
	free(ts);
	srv->txn = NULL;
}
