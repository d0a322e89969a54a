/* Server side: connect, log in, relay to the linked client, and run sluice's
 * own queries (parameter SETs, reset, check) with their replies swallowed. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "access.h"
#include "authquery.h"
#include "client.h"
#include "failover.h"
#include "hostcap.h"
#include "hostsel.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "governor.h"
#include "route.h"
#include "md5auth.h"
#include "scram.h"
#include "slowlog.h"
#include "tls.h"
#include "txnpool.h"
#include "worker.h"

static const struct conn_ops server_ops;

/* The host srv connects to: its pick among a multi-host entry's hosts (hostsel.c). */
static const struct db_host *srv_host(const struct server *srv)
{
	const struct db_entry *e = &srv->pool->db->entry;
	return &e->hosts[srv->host_idx < e->n_hosts ? srv->host_idx : 0];
}

void server_describe(const struct server *srv, char *buf, size_t len)
{
	const struct db_entry *e = &srv->pool->db->entry;
	const struct db_host *h = srv_host(srv);
	snprintf(buf, len, "S-%u: %s/%s@%s:%d", srv->id, e->name, srv->pool->server_user,
	         h->host[0] ? h->host : "unix", h->port);
}

int server_is_clean(const struct server *srv)
{
	return srv->logged_in && !srv->expected_rfq && !srv->internal_rfq &&
	       srv->txn_status == 'I' && !srv->unsynced && !srv->c.pkt_remain && !srv->c.closed;
}

static void free_login_state(struct server *srv)
{
	if (srv->scram) {
		OPENSSL_cleanse(srv->scram, sizeof(*srv->scram));
		free(srv->scram);
		srv->scram = NULL;
	}
	free(srv->welcome);
	srv->welcome = NULL;
	if (ev_is_active(&srv->connect_timer))
		ev_timer_stop(srv->c.w->loop, &srv->connect_timer);
}

void server_close(struct server *srv, const char *reason)
{
	struct pool *pool = srv->pool;
	struct worker *w = srv->c.w;
	if (srv->c.closed)
		return;
	if (w->cfg->log_disconnections)
		slog(srv, LOG_LVL_LOG, "closing because: %s (age=%.0fs)", reason,
		     worker_now(w) - srv->connect_time);
	dns_cancel(&srv->dns_wait);
	free_login_state(srv);
	txn_server_free(srv);
	if (srv->listener)
		listen_server_lost(srv);
	list_del(&srv->node);
	pool->n_servers[srv->list]--;
	pool->db->server_count--;
	pool->user->server_count--;
	hostcap_closed(w, srv->hostcap);
	struct client *cl = srv->client;
	struct failover_loss fl;
	if (cl)
		failover_capture(srv, &fl);
	srv->client = NULL;
	conn_unlink(&srv->c);
	conn_close(&srv->c);
	if (cl) {
		cl->server = NULL;
		conn_unlink(&cl->c);
		failover_server_lost(cl, &fl, reason);
	}
}

static void server_send(struct server *srv, struct wbuf *b)
{
	if (b->oom) {
		server_close(srv, "out of memory");
		return;
	}
	conn_queue(&srv->c, b->data, b->len);
}

void server_internal_query(struct server *srv, enum internal_kind kind, const char *sql)
{
	struct wbuf b = {0};
	pkt_query(&b, sql);
	if (kind == INTERNAL_RESET)
		srv->gov_stmt_ms = -1; /* a reset query may or may not reset statement_timeout */
	srv->internal = kind;
	srv->internal_rfq++;
	server_send(srv, &b);
	wb_free(&b);
}

void server_link(struct server *srv, struct client *cl)
{
	char sql[8192];
	size_t n = 0;
	srv->client = cl;
	cl->server = srv;
	cl->served = 1;
	if (cl->route != ROUTE_PRIMARY)
		hostsel_note_routed(srv->c.w, srv->standby);
	conn_link(&cl->c, &srv->c);
	conn_link(&srv->c, &cl->c);
	pool_server_move(srv, SL_ACTIVE);
	srv->last_used = worker_now(srv->c.w);
	/* Reconcile the server's session with what this client expects; the replies are
	 * swallowed, and the client's own first message follows in the same write. */
	for (int i = 0; i < N_TRACK_VARS; i++) {
		const char *want = client_var(cl, i);
		char lit[2 * VAR_VALUE_MAX + 8];
		if (!*want || !strcmp(want, srv->vars[i]))
			continue;
		if (sql_quote_literal(want, lit, sizeof(lit)) < 0)
			continue;
		int m = snprintf(sql + n, sizeof(sql) - n, "SET %s = %s;", track_var_name(i), lit);
		if (m < 0 || (size_t)m >= sizeof(sql) - n)
			break;
		n += (size_t)m;
	}
	/* The class's statement_timeout, or back to the server's own value after one. */
	int want = gov_statement_timeout_ms(cl);
	if (want != srv->gov_stmt_ms) {
		int m =
		    want ? snprintf(sql + n, sizeof(sql) - n, "SET statement_timeout = %d;", want)
		         : snprintf(sql + n, sizeof(sql) - n, "RESET statement_timeout;");
		if (m > 0 && (size_t)m < sizeof(sql) - n) {
			n += (size_t)m;
			srv->gov_stmt_ms = want;
		}
	}
	/* Then the client's own tracked session state (an explicit SET of the client wins). */
	if (cl->pool->pool_mode != POOL_SESSION)
		n += txn_link_sql(srv, cl, sql + n, sizeof(sql) - n);
	if (n)
		server_internal_query(srv, INTERNAL_SET, sql);
}

/* --- login --- */

static const char *server_secret(struct server *srv)
{
	const struct db_entry *e = &srv->pool->db->entry;
	if (e->password[0])
		return e->password;
	const char *s = config_find_secret(srv->c.w->cfg, srv->pool->server_user);
	return s ? s : authquery_cached_secret(srv->c.w, srv->pool->server_user);
}

/* transient: the server could not be reached or is (re)starting — worth holding transactions
 * for (failover_hold_timeout); otherwise (authentication, unknown database) fail at once. */
static void login_failed_as(struct server *srv, const char *why, int transient)
{
	struct pool *pool = srv->pool;
	srv->c.w->stats.server_connect_failures++;
	slog(srv, LOG_LVL_WARNING, "server login failed: %s", why);
	if (transient || srv->standby)
		hostsel_server_failed(srv, why, 1);
	/* The name may point elsewhere now (failover by DNS): ask again at once. */
	if (srv->dns && dns_refresh(&srv->c.w->dns, srv->dns->name))
		slog(srv, LOG_LVL_LOG, "resolving \"%s\" again", srv->dns->name);
	int standby = srv->standby;
	server_close(srv, "server login failed");
	if (standby) {
		/* A standby for routed reads: it is out until the checker looks again (marked
		 * above); the waiters take another standby, the primary (prefer-replica), or wait.
		 */
		pool_kick(pool);
		return;
	}
	pool_connect_failed(pool, why, transient);
}

static void login_failed(struct server *srv, const char *why)
{
	login_failed_as(srv, why, 0);
}

static int handle_auth(struct server *srv, const uint8_t *body, uint32_t len)
{
	struct pkt_reader r;
	struct wbuf b = {0};
	rd_init(&r, body, len);
	uint32_t code = rd_u32(&r);
	const char *secret = server_secret(srv);
	const char *user = srv->pool->server_user;
	const char *err = NULL;
	switch (code) {
	case AUTH_OK:
		return 0;
	case AUTH_CLEARTEXT:
		if (!secret || md5_is_secret(secret) || scram_is_secret(secret)) {
			login_failed(srv, "server asks for a cleartext password and no plaintext "
			                  "password is configured for this user");
			return -1;
		}
		pkt_password(&b, secret);
		break;
	case AUTH_MD5: {
		const uint8_t *salt = rd_bytes(&r, 4);
		char resp[36];
		if (!salt || !secret || scram_is_secret(secret) ||
		    md5_client_response(secret, user, salt, resp) < 0) {
			login_failed(srv,
			             "server asks for md5 authentication and no usable password "
			             "is configured for this user");
			return -1;
		}
		pkt_password(&b, resp);
		break;
	}
	case AUTH_SASL: {
		int found = 0, plus = 0;
		const char *mech;
		while ((mech = rd_cstr(&r)) && *mech) {
			if (!strcmp(mech, "SCRAM-SHA-256"))
				found = 1;
			else if (!strcmp(mech, "SCRAM-SHA-256-PLUS") && srv->c.tls)
				plus = found = 1;
		}
		if (!found || !secret || md5_is_secret(secret)) {
			login_failed(srv, found ? "server asks for SCRAM and no usable password is "
			                          "configured for this user"
			                        : "server offers no supported SASL mechanism");
			return -1;
		}
		if (scram_is_secret(secret) && !srv->pool->user->have_scram_keys) {
			login_failed(srv, "SCRAM secret in auth_file but no client has logged in "
			                  "with SCRAM yet to provide its key");
			return -1;
		}
		srv->scram = calloc(1, sizeof(*srv->scram));
		char out[SCRAM_MAX_MSG + 1];
		int n;
		/* Over TLS, bind the exchange to the server's certificate when it offers that. */
		unsigned char cb[64];
		int cblen = plus ? tls_server_end_point(&srv->c, cb, sizeof(cb)) : -1;
		if (!srv->scram || scram_client_init(srv->scram, NULL, NULL) < 0 ||
		    (cblen > 0 &&
		     scram_client_channel_binding(srv->scram, cb, (size_t)cblen) < 0) ||
		    (n = scram_client_first(srv->scram, out, sizeof(out))) < 0) {
			login_failed(srv, "SCRAM initialisation failed");
			return -1;
		}
		pkt_sasl_initial(&b, cblen > 0 ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256", out,
		                 (size_t)n);
		if (cblen > 0)
			slog(srv, LOG_LVL_DEBUG, "SCRAM-SHA-256-PLUS (tls-server-end-point)");
		break;
	}
	case AUTH_SASL_CONTINUE: {
		char out[SCRAM_MAX_MSG + 1];
		int n;
		struct scram_secret sec;
		size_t dlen = rd_left(&r);
		const char *data = (const char *)rd_bytes(&r, dlen);
		if (!srv->scram || !secret) {
			login_failed(srv, "unexpected SASL continue");
			return -1;
		}
		if (scram_is_secret(secret)) {
			scram_parse_secret(secret, &sec);
			n = scram_client_final(srv->scram, data, dlen, NULL,
			                       srv->pool->user->scram_client_key, &sec, out,
			                       sizeof(out), &err);
			OPENSSL_cleanse(&sec, sizeof(sec));
		} else {
			n = scram_client_final(srv->scram, data, dlen, secret, NULL, NULL, out,
			                       sizeof(out), &err);
		}
		if (n < 0) {
			char msg[200];
			snprintf(msg, sizeof(msg), "SCRAM exchange failed: %s", err ? err : "?");
			login_failed(srv, msg);
			return -1;
		}
		pkt_sasl_response(&b, out, (size_t)n);
		break;
	}
	case AUTH_SASL_FINAL: {
		size_t dlen = rd_left(&r);
		const char *data = (const char *)rd_bytes(&r, dlen);
		if (!srv->scram || scram_client_verify_final(srv->scram, data, dlen, &err) < 0) {
			char msg[200];
			snprintf(msg, sizeof(msg), "SCRAM server signature invalid: %s",
			         err ? err : "?");
			login_failed(srv, msg);
			return -1;
		}
		return 0;
	}
	default: {
		char msg[100];
		snprintf(msg, sizeof(msg), "unsupported authentication method %u requested", code);
		login_failed(srv, msg);
		return -1;
	}
	}
	server_send(srv, &b);
	wb_free(&b);
	return srv->c.closed ? -1 : 0;
}

/* Record a ParameterStatus; with_client also updates the linked client's view. */
static void note_param(struct server *srv, const uint8_t *body, uint32_t len, int with_client)
{
	struct pkt_reader r;
	rd_init(&r, body, len);
	const char *name = rd_cstr(&r), *value = rd_cstr(&r);
	if (!name || !value)
		return;
	int i = track_var_index(name);
	if (i >= 0) {
		snprintf(srv->vars[i], sizeof(srv->vars[i]), "%s", value);
		if (with_client && srv->client)
			client_set_var(srv->client, i, value);
	}
	struct welcome *wl = srv->welcome;
	if (wl) {
		int k;
		for (k = 0; k < wl->n; k++)
			if (!strcmp(wl->name[k], name))
				break;
		if (k < MAX_WELCOME) {
			snprintf(wl->name[k], sizeof(wl->name[k]), "%s", name);
			snprintf(wl->value[k], sizeof(wl->value[k]), "%s", value);
			if (k == wl->n)
				wl->n++;
		}
	}
}

/* "SQLSTATE message" of an ErrorResponse, for logs. */
static void error_text(const uint8_t *body, uint32_t len, char *out, size_t outlen,
                       char sqlstate[6])
{
	struct pkt_reader r;
	const char *msg = "", *code = "";
	rd_init(&r, body, len);
	for (;;) {
		uint8_t f = rd_u8(&r);
		if (!f || r.err)
			break;
		const char *v = rd_cstr(&r);
		if (!v)
			break;
		if (f == 'M')
			msg = v;
		else if (f == 'C')
			code = v;
	}
	snprintf(sqlstate, 6, "%s", *code ? code : "08006");
	snprintf(out, outlen, "%s", msg);
}

static enum pkt_action login_packet(struct server *srv, uint8_t type, const uint8_t *p,
                                    uint32_t total)
{
	const uint8_t *body = p + PKT_HDR_LEN;
	uint32_t len = total - PKT_HDR_LEN;
	struct pool *pool = srv->pool;
	switch (type) {
	case 'R':
		return handle_auth(srv, body, len) < 0 ? PKT_GONE : PKT_HANDLED;
	case 'S':
		note_param(srv, body, len, 0);
		return PKT_HANDLED;
	case 'K':
		if (len >= 8) {
			srv->be_pid = pg_get_u32(body);
			srv->be_key = pg_get_u32(body + 4);
		}
		return PKT_HANDLED;
	case 'E': {
		char msg[256], state[6];
		error_text(body, len, msg, sizeof(msg), state);
		/* Starting up or shutting down (57P0x), cannot connect now (08xxx), too many
		 * connections (53300): a restart or failover in progress, worth waiting for. */
		int transient = !strncmp(state, "57P0", 4) || !strncmp(state, "08", 2) ||
		                !strcmp(state, "53300");
		/* Clients waiting for this pool's first login learn why it failed, unless they
		 * are held for the server to come back. */
		struct list *it, *n;
		if (!transient || srv->c.w->cfg->failover_hold_timeout <= 0)
			list_for_each_safe(it, n, &pool->welcome_waiters)
			{
				struct client *cl = list_entry(it, struct client, node);
				if (pool_server_total(pool) <= 1)
					client_fatal(cl, state, msg);
			}
		login_failed_as(srv, msg, transient);
		return PKT_GONE;
	}
	case 'Z':
		srv->logged_in = 1;
		srv->txn_status = total >= 6 ? p[5] : 'I';
		if (!pool->have_welcome && srv->welcome)
			pool_set_welcome(pool, srv->welcome);
		free_login_state(srv);
		pool->last_connect_failure = 0;
		pool_server_back(pool);
		if (srv->c.w->cfg->log_connections)
			slog(srv, LOG_LVL_LOG, "login ok (connect took %.0f ms)",
			     (worker_now(srv->c.w) - srv->connect_time) * 1000);
		{
			struct list *it, *n;
			list_for_each_safe(it, n, &pool->welcome_waiters)
			{
				struct client *cl = list_entry(it, struct client, node);
				client_welcome(cl);
			}
		}
		if (srv->listener) {
			listen_server_ready(srv);
			return srv->c.closed ? PKT_GONE : PKT_HANDLED;
		}
		pool_server_ready(srv);
		return srv->c.closed ? PKT_GONE : PKT_HANDLED;
	case 'N':
	case 'v':
		return PKT_HANDLED;
	default:
		login_failed(srv, "unexpected message during login");
		return PKT_GONE;
	}
}

static enum pkt_action internal_packet(struct server *srv, uint8_t type, const uint8_t *p,
                                       uint32_t total)
{
	switch (type) {
	case 'Z':
		srv->internal_rfq--;
		srv->txn_status = p[5];
		if (srv->internal_rfq == 0) {
			enum internal_kind kind = srv->internal;
			srv->internal = INTERNAL_NONE;
			if (kind == INTERNAL_PINCHECK) {
				txn_pincheck_done(srv);
				return srv->c.closed ? PKT_GONE : PKT_HANDLED;
			}
			if (kind == INTERNAL_LISTEN) {
				listen_confirmed(srv);
				return srv->c.closed ? PKT_GONE : PKT_HANDLED;
			}
			if (kind != INTERNAL_SET) {
				if (srv->check_failed || srv->txn_status != 'I') {
					server_close(srv, kind == INTERNAL_CHECK
					                      ? "server check query failed"
					                      : "server reset query failed");
					return PKT_GONE;
				}
				pool_server_ready(srv);
				return srv->c.closed ? PKT_GONE : PKT_HANDLED;
			}
		}
		return PKT_HANDLED;
	case 'S':
		note_param(srv, p + PKT_HDR_LEN, total - PKT_HDR_LEN, 1);
		return PKT_HANDLED;
	case 'A':
		if (srv->listener)
			listen_notify(srv, p, total);
		return srv->c.closed ? PKT_GONE : PKT_HANDLED;
	case 'D':
		if (srv->internal == INTERNAL_PINCHECK)
			txn_pincheck_row(srv, p + PKT_HDR_LEN, total - PKT_HDR_LEN);
		return PKT_HANDLED;
	case 'E': {
		char msg[256], state[6];
		error_text(p + PKT_HDR_LEN, total - PKT_HDR_LEN, msg, sizeof(msg), state);
		slog(srv, LOG_LVL_WARNING, "error from sluice's own query: %s %s", state, msg);
		srv->check_failed = 1;
		return PKT_HANDLED;
	}
	default:
		return PKT_SKIP;
	}
}

static enum pkt_action server_packet(struct conn *c, uint8_t type, const uint8_t *p, uint32_t total,
                                     uint32_t avail)
{
	struct server *srv = (struct server *)c;
	if (total < PKT_HDR_LEN) {
		server_close(srv, "invalid packet length from server");
		return PKT_GONE;
	}
	/* Messages sluice looks into must be whole; they are all small. */
	int inspect = type == 'Z' || type == 'S' || !srv->logged_in || srv->internal_rfq ||
	              (!srv->client && type == 'E') || (srv->listener && type == 'A');
	if (inspect && avail < total) {
		if (total > c->w->bufsize &&
		    !(srv->internal_rfq && type != 'Z' && type != 'S' && type != 'E')) {
			server_close(srv, "message from server too long to inspect");
			return PKT_GONE;
		}
		if (total <= c->w->bufsize)
			return PKT_NEED_FULL;
	}
	if (!srv->logged_in)
		return login_packet(srv, type, p, total);
	if (srv->internal_rfq)
		return internal_packet(srv, type, p, total);
	if (srv->client) {
		enum pkt_action act = PKT_FORWARD;
		if (type == 'E' && avail >= 11 && p[5] == 'S' &&
		    (!memcmp(p + 6, "FATAL", 5) || !memcmp(p + 6, "PANIC", 5))) {
			char emsg[256], state[6] = "";
			if (avail >= total)
				error_text(p + PKT_HDR_LEN, total - PKT_HDR_LEN, emsg, sizeof(emsg),
				           state);
			/* The server is shutting down or terminated this backend (57P01..03): in
			 * transaction pooling that ends the server connection, not the client's
			 * — keep the FATAL from the client and handle the loss (failover.c). */
			if (!strncmp(state, "57P0", 4) && srv->pool->pool_mode != POOL_SESSION &&
			    !(srv->client->txn && txn_client_pinned(srv->client))) {
				slog(srv, LOG_LVL_LOG, "server ends the connection: %s %s", state,
				     emsg);
				return PKT_SKIP;
			}
			srv->saw_fatal = 1;
		}
		if (srv->txn) {
			act = (enum pkt_action)txn_server_msg(srv, type, p, total);
			if (act == PKT_SKIP || act == PKT_GONE)
				return act;
		}
		srv->pool->stat_sent += total;
		if (type == 'Z') {
			srv->txn_status = p[5];
			srv->state_since = worker_now(c->w);
			if (srv->expected_rfq > 0) {
				double now = worker_now(c->w);
				srv->pool->stat_query_us +=
				    (uint64_t)((now - srv->request_time) * 1e6);
				srv->request_time =
				    now; /* the next pipelined request runs from here */
				srv->expected_rfq--;
			}
			return PKT_FORWARD_POST;
		}
		if (type == 'S')
			note_param(srv, p + PKT_HDR_LEN, total - PKT_HDR_LEN, 1);
		return act;
	}
	/* Unlinked server: only asynchronous messages are expected. */
	switch (type) {
	case 'S':
		note_param(srv, p + PKT_HDR_LEN, total - PKT_HDR_LEN, 0);
		return PKT_HANDLED;
	case 'E': {
		char msg[256], state[6];
		error_text(p + PKT_HDR_LEN, total - PKT_HDR_LEN, msg, sizeof(msg), state);
		char why[300];
		snprintf(why, sizeof(why), "server sent an error while idle: %s %s", state, msg);
		txn_note_idle_drop(srv, why);
		server_close(srv, why);
		return PKT_GONE;
	}
	case 'A':
		if (srv->listener) {
			listen_notify(srv, p, total);
			return srv->c.closed ? PKT_GONE : PKT_HANDLED;
		}
		return PKT_SKIP;
	case 'N':
		return PKT_SKIP;
	default:
		server_close(srv, "unexpected message from idle server");
		return PKT_GONE;
	}
}

/* After a ReadyForQuery reached the client: is the transaction (or statement) over? */
static void server_post(struct conn *c)
{
	struct server *srv = (struct server *)c;
	txn_server_post(srv);
	server_boundary(srv);
}

void server_boundary(struct server *srv)
{
	struct conn *c = &srv->c;
	struct client *cl = srv->client;
	if (!cl || srv->expected_rfq > 0 || srv->unsynced || srv->c.closed)
		return;
	if (cl->c.pkt_remain && !cl->c.pkt_skip && cl->c.dst == c) {
		/* The server answered (a COPY it rejected) while the client is still streaming a
		 * message to it: the rest of that message belongs to this server, or its framing
		 * breaks. The client's post hook comes back here once the message is through. */
		cl->release_deferred = 1;
		cl->c.post_pending = 1;
		return;
	}
	slowlog_ready(cl, srv);
	struct pool *pool = srv->pool;
	if (pool->pool_mode == POOL_STATEMENT && srv->txn_status != 'I') {
		client_fatal(cl, "25000",
		             "transaction blocks not allowed in statement pooling mode");
		return;
	}
	if (cl->txn && txn_client_pinned(cl) && txn_pin_recheck(srv))
		return; /* session objects live on this server: the client keeps it */
	if (pool->pool_mode != POOL_SESSION && srv->txn_status == 'I') {
		double held = worker_now(c->w) - srv->last_used; /* set when it was linked */
		pool->stat_xact_us += (uint64_t)(held * 1e6);
		metrics_observe_xact(c->w, held);
		pool->stat_xacts++;
		c->w->stats.xacts++;
		pool_release_server(cl);
	}
}

static void server_failed(struct conn *c, const char *reason)
{
	struct server *srv = (struct server *)c;
	if (!srv->logged_in) {
		char msg[300];
		snprintf(msg, sizeof(msg), "%s",
		         !strcmp(reason, "unexpected eof")
		             ? "server closed the connection during login"
		             : reason);
		login_failed_as(srv, msg, 1);
		return;
	}
	if (!srv->client)
		txn_note_idle_drop(srv, reason);
	hostsel_server_failed(srv, reason, 0);
	server_close(srv, reason);
}

static const struct conn_ops server_ops = {
    .packet = server_packet,
    .post = server_post,
    .failed = server_failed,
};

static void send_startup(struct server *srv);

/* server_tls_sslmode decides what the SSLRequest's answer means. */
static void server_tls_done(struct conn *c, int ok, const char *err)
{
	struct server *srv = (struct server *)c;
	char msg[300];
	if (ok < 0) {
		snprintf(msg, sizeof(msg), "TLS connection to server failed: %s", err);
		/* A reset or EOF during the handshake is a server going away (failover, restart):
		 * hold like a refused connect. A certificate or protocol failure stays fatal. */
		int gone = strstr(err, "reset") || strstr(err, "eof") || strstr(err, "EOF") ||
		           strstr(err, "Broken pipe") || strstr(err, "timed out");
		login_failed_as(srv, msg, gone);
		return;
	}
	if (ok == 0 && c->w->cfg->server_tls_sslmode >= TLS_MODE_REQUIRE) {
		login_failed(srv, "server does not support TLS and server_tls_sslmode requires it");
		return;
	}
	send_startup(srv);
}

static void connect_next(struct server *srv, const char *why);

/* The non-blocking connect finished (or failed): send the StartupMessage. */
static void connect_done_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct server *srv = io->data;
	int err = 0;
	socklen_t l = sizeof(err);
	(void)loop;
	(void)revents;
	ev_io_stop(srv->c.w->loop, &srv->c.wio);
	conn_restore_write_cb(&srv->c);
	if (getsockopt(srv->c.fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		err = errno;
	if (err) {
		char msg[200];
		snprintf(msg, sizeof(msg), "connect failed: %s", strerror(err));
		connect_next(srv, msg);
		return;
	}
	srv->connecting = 0;
	const struct db_host *e = srv_host(srv);
	SSL_CTX *tctx = srv->c.w->access->tls.server_side;
	if (tctx && e->host[0] && e->host[0] != '/') { /* never over Unix sockets */
		int full = srv->c.w->cfg->server_tls_sslmode == TLS_MODE_VERIFY_FULL;
		if (tls_connect_start(&srv->c, tctx, e->host, full, server_tls_done) < 0)
			login_failed(srv, "could not start TLS towards the server");
		return;
	}
	send_startup(srv);
}

static void send_startup(struct server *srv)
{
	const struct db_entry *e = &srv->pool->db->entry;
	struct wbuf b = {0};
	size_t st = pkt_begin(&b, 0);
	pkt_put_u32(&b, PROTO_V3);
	/* user and database always; the entry's optional startup parameters when set. */
	const char *params[][2] = {
	    {"user", srv->pool->server_user},
	    {"database", e->dbname[0] ? e->dbname : e->name},
	    {"application_name", e->application_name},
	    {"client_encoding", e->client_encoding},
	    {"datestyle", e->datestyle},
	    {"timezone", e->timezone},
	};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (!params[i][1][0])
			continue;
		pkt_put_cstr(&b, params[i][0]);
		pkt_put_cstr(&b, params[i][1]);
	}
	pkt_put_u8(&b, 0);
	pkt_end(&b, st);
	server_send(srv, &b);
	wb_free(&b);
	if (!srv->c.closed)
		ev_io_start(srv->c.w->loop, &srv->c.rio);
}

static void connect_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct server *srv = t->data;
	(void)loop;
	(void)revents;
	login_failed_as(srv,
	                srv->c.fd < 0
	                    ? "server_connect_timeout: the host name was not resolved in time"
	                    : "server_connect_timeout: no answer from the server in time",
	                srv->c.fd < 0);
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

int server_resolve(struct worker *w, const char *host, int port, struct dns_waiter *wt,
                   const struct dns_entry **dns, struct sockaddr_storage *ss, socklen_t *len,
                   char *err, size_t errlen)
{
	memset(ss, 0, sizeof(*ss));
	*dns = NULL;
	if (!host[0] || host[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		int n = snprintf(un->sun_path, sizeof(un->sun_path), "%s/.s.PGSQL.%d",
		                 host[0] ? host : "/var/run/postgresql", port);
		if (n < 0 || (size_t)n >= sizeof(un->sun_path)) {
			snprintf(err, errlen, "unix socket path too long");
			return -1;
		}
		*len = sizeof(*un);
		return 0;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		*len = sizeof(*in);
		set_port(ss, port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		*len = sizeof(*in6);
		set_port(ss, port);
		return 0;
	}
	/* Host names: the worker's asynchronous resolver and cache (dns.c). */
	const struct dns_entry *e;
	int st = dns_lookup(&w->dns, host, wt, &e);
	if (st == DNS_PENDING)
		return 1;
	if (st != DNS_OK || e->n == 0) {
		snprintf(err, errlen, "%s", e ? e->err : "could not resolve host");
		return -1;
	}
	*dns = e;
	memcpy(ss, &e->addrs[0], e->lens[0]);
	*len = e->lens[0];
	set_port(ss, port);
	return 0;
}

int server_addr_stale(const struct server *srv)
{
	return srv->dns && srv->dns->gen != srv->dns_gen && srv->dns->n > 0 &&
	       !dns_has_addr(srv->dns, &srv->addr);
}

static const char *server_host(const struct server *srv)
{
	return srv_host(srv)->host;
}

/* Connect to srv->addr; on an immediate failure try the name's next address. */
static void connect_addr(struct server *srv);

/* The address srv tried failed: the name's next address, or a failed login that re-resolves
 * the name at once (it may have moved: failover by DNS). */
static void connect_next(struct server *srv, const char *why)
{
	char a[INET6_ADDRSTRLEN + 8];
	if (srv->dns && srv->addr_idx + 1 < srv->dns->n) {
		dns_addr_str(&srv->addr, a, sizeof(a));
		srv->addr_idx++;
		memcpy(&srv->addr, &srv->dns->addrs[srv->addr_idx], srv->dns->lens[srv->addr_idx]);
		srv->addrlen = srv->dns->lens[srv->addr_idx];
		set_port(&srv->addr, srv_host(srv)->port);
		char b[INET6_ADDRSTRLEN];
		dns_addr_str(&srv->addr, b, sizeof(b));
		slog(srv, LOG_LVL_WARNING, "%s (%s); trying the next address of \"%s\": %s", why, a,
		     server_host(srv), b);
		connect_addr(srv);
		return;
	}
	login_failed_as(srv, why, 1);
}

static void dns_done(struct dns_waiter *wt, const struct dns_entry *e);

/* Resolve (or take from the cache) srv's host, then connect. */
static void resolve_and_connect(struct server *srv)
{
	const struct db_host *de = srv_host(srv);
	char err[256];
	int rc = server_resolve(srv->c.w, de->host, de->port, &srv->dns_wait, &srv->dns, &srv->addr,
	                        &srv->addrlen, err, sizeof(err));
	if (rc == 1)
		return; /* dns_done continues; the connect timer bounds the wait */
	if (rc < 0) {
		login_failed_as(srv, err, 1);
		return;
	}
	srv->addr_idx = 0;
	srv->dns_gen = srv->dns ? srv->dns->gen : 0;
	connect_addr(srv);
}

static void dns_done(struct dns_waiter *wt, const struct dns_entry *e)
{
	struct server *srv = (struct server *)((char *)wt - offsetof(struct server, dns_wait));
	if (e->status != DNS_OK || e->n == 0) {
		login_failed_as(srv, e->err, 1);
		return;
	}
	/* Take the answer as it is: looking up again could start another query when this one
	 * failed and kept the previous addresses (the entry is then already due again). */
	srv->dns = e;
	memcpy(&srv->addr, &e->addrs[0], e->lens[0]);
	srv->addrlen = e->lens[0];
	set_port(&srv->addr, srv_host(srv)->port);
	srv->addr_idx = 0;
	srv->dns_gen = e->gen;
	connect_addr(srv);
}

static void connect_addr(struct server *srv)
{
	struct worker *w = srv->c.w;
	char err[256];
	int fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, sizeof(err), "socket: %s", strerror(errno));
		login_failed_as(srv, err, 1);
		return;
	}
	if (srv->addr.ss_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (w->cfg->tcp_keepalive)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	conn_set_fd(&srv->c, fd);
	int rc = connect(fd, (struct sockaddr *)&srv->addr, srv->addrlen);
	if (rc < 0 && errno != EINPROGRESS && errno != EAGAIN) {
		snprintf(err, sizeof(err), "connect failed: %s", strerror(errno));
		connect_next(srv, err);
		return;
	}
	/* Wait for writability to learn the connect result. */
	ev_set_cb(&srv->c.wio, connect_done_cb);
	ev_io_start(w->loop, &srv->c.wio);
}

struct server *server_connect(struct pool *pool)
{
	struct worker *w = pool->w;
	char why[512];
	enum route_kind kind = route_launch_kind(pool);
	int host_idx;
	if (kind == KIND_NONE)
		return NULL;
	if (kind == KIND_STANDBY) {
		host_idx = hostsel_pick_standby(pool);
		if (host_idx < 0)
			return NULL; /* none qualifies now: routed reads wait or take the primary */
	} else if ((host_idx = hostsel_pick(pool, why, sizeof(why))) < 0) {
		/* no host fits target_session_attrs now: hold, as for a refusal */
		pool_connect_failed(pool, why, 1);
		return NULL;
	}
	const struct db_host *dh = &pool->db->entry.hosts[host_idx];
	struct hostcap *hc;
	if (!hostcap_admit(pool, dh->host, dh->port, &hc))
		return NULL; /* the host is full or at its connect rate: the waiters stay queued */
	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		pool_connect_failed(pool, "out of memory", 0);
		return NULL;
	}
	srv->host_idx = host_idx;
	srv->standby = kind == KIND_STANDBY;
	srv->hostcap = hc;
	hostcap_opened(hc);
	srv->life_factor = hostcap_lifetime_factor(w->cfg->server_lifetime_jitter / 100.0);
	conn_init(&srv->c, w, -1, &server_ops, 1); /* the socket comes with the address */
	srv->pool = pool;
	srv->id = ++w->next_server_id;
	srv->txn_status = 'I';
	srv->connecting = 1;
	srv->connect_time = srv->state_since = srv->last_used = worker_now(w);
	list_init(&srv->node);
	list_init(&srv->dns_wait.node);
	srv->dns_wait.done = dns_done;
	srv->list = SL_LOGIN;
	list_append(&pool->servers[SL_LOGIN], &srv->node);
	pool->n_servers[SL_LOGIN]++;
	pool->db->server_count++;
	pool->user->server_count++;
	w->stats.server_connects++;
	if (!pool->have_welcome)
		srv->welcome = calloc(1, sizeof(*srv->welcome));
	if (w->cfg->log_connections)
		slog(srv, LOG_LVL_LOG, "new connection to server");
	if (w->cfg->server_connect_timeout > 0) {
		ev_timer_init(&srv->connect_timer, connect_timeout_cb,
		              w->cfg->server_connect_timeout, 0);
		srv->connect_timer.data = srv;
		ev_timer_start(w->loop, &srv->connect_timer);
	}
	resolve_and_connect(srv);
	return srv->c.closed ? NULL : srv;
}
