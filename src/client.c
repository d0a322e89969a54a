/* Client side: startup packet, authentication, login response, and the
 * per-message decisions of the transaction path (link, relay, refuse). */
#include "client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "access.h"
#include "admin.h"
#include "audit.h"
#include "authquery.h"
#include "drain.h"
#include "failover.h"
#include "log.h"
#include "md5auth.h"
#include "scram.h"
#include "listen.h"
#include "route.h"
#include "server.h"
#include "slowlog.h"
#include "tls.h"
#include "txnpool.h"
#include "worker.h"

enum login_auth { LA_NONE, LA_CLEARTEXT, LA_MD5, LA_SCRAM_FIRST, LA_SCRAM_FINAL };

/* What only the login phase needs; freed once the client is in. */
struct client_login {
	char user[CFG_NAME_MAX];
	char dbname[CFG_NAME_MAX];
	char *startup_vars[N_TRACK_VARS];
	enum login_auth auth;
	unsigned char salt[4];
	const char *secret; /* points into the config snapshot */
	int unknown_user;
	struct scram_server scram;
	struct scram_secret scram_secret;
	char err[160];
	const char *err_state;
	int method;     /* auth method chosen by access_login() (auth_type or the HBA rule) */
	int aq_pending; /* an auth_query lookup is running for this client */
	char aq_secret[CFG_SECRET_MAX];
};

static const struct conn_ops client_ops;

static void login_free(struct client *cl)
{
	struct client_login *lg = cl->login;
	if (!lg)
		return;
	if (lg->aq_pending)
		authquery_cancel(cl);
	for (int i = 0; i < N_TRACK_VARS; i++)
		free(lg->startup_vars[i]);
	OPENSSL_cleanse(lg, sizeof(*lg));
	free(lg);
	cl->login = NULL;
}

void client_describe(const struct client *cl, char *buf, size_t len)
{
	const char *db = cl->pool ? cl->pool->db->entry.name : cl->login ? cl->login->dbname : "";
	const char *user = cl->pool ? cl->pool->user->name : cl->login ? cl->login->user : "";
	if (cl->is_unix)
		snprintf(buf, len, "C-%u: %s/%s@unix(%u)", cl->id, *db ? db : "(nodb)",
		         *user ? user : "(nouser)", cl->port);
	else
		snprintf(buf, len, "C-%u: %s/%s@%s:%u", cl->id, *db ? db : "(nodb)",
		         *user ? user : "(nouser)", cl->addr, cl->port);
}

const char *client_var(const struct client *cl, int i)
{
	if (cl->vars[i])
		return cl->vars[i];
	return cl->pool && cl->pool->welcome_var[i] ? cl->pool->welcome_var[i] : "";
}

void client_set_var(struct client *cl, int i, const char *value)
{
	if (cl->vars[i] && !strcmp(cl->vars[i], value))
		return;
	if (i == VAR_APPLICATION_NAME)
		gov_client_facts_changed(cl); /* classes may match on it */
	free(cl->vars[i]);
	cl->vars[i] = NULL;
	const char *def = cl->pool ? cl->pool->welcome_var[i] : NULL;
	if (def && !strcmp(def, value))
		return;
	cl->vars[i] = strdup(value);
}

int client_sockaddr(const struct client *cl, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (cl->is_unix)
		return -1;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, cl->addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(cl->port);
		return 0;
	}
	if (inet_pton(AF_INET6, cl->addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(cl->port);
		return 0;
	}
	return -1;
}

/* --- refusing and closing --- */

static void client_send_error(struct client *cl, const char *severity, const char *sqlstate,
                              const char *msg, const char *detail)
{
	struct wbuf b = {0};
	pkt_error(&b, 'E', severity, sqlstate, msg, detail, NULL);
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
}

void client_fatal(struct client *cl, const char *sqlstate, const char *msg)
{
	if (cl->c.closed)
		return;
	if (cl->c.w->cfg->log_pooler_errors)
		clog(cl, LOG_LVL_WARNING, "pooler error: %s", msg);
	if (cl->login && cl->state != CL_ACTIVE)
		audit_login(cl, cl->login->user, cl->login->dbname, 0, sqlstate, msg);
	client_send_error(cl, "FATAL", sqlstate, msg, NULL);
	client_close(cl, msg);
}

void client_fail_request(struct client *cl, const char *sqlstate, const char *msg,
                         const char *detail)
{
	if (cl->c.closed)
		return;
	if (cl->c.w->cfg->log_pooler_errors)
		clog(cl, LOG_LVL_WARNING, "pooler error: %s", msg);
	pool_unwait(cl);
	gov_release(cl); /* a slot taken for a transaction that will not run */
	cl->state = CL_ACTIVE;
	cl->discard = 1;
	client_send_error(cl, "ERROR", sqlstate, msg, detail);
	worker_schedule(cl->c.w, cl);
}

void client_close(struct client *cl, const char *reason)
{
	struct worker *w = cl->c.w;
	if (cl->c.closed)
		return;
	int logged_in =
	    cl->state == CL_ACTIVE || cl->state == CL_WAITING || cl->state == CL_GOV_WAIT;
	if (logged_in ? w->cfg->log_disconnections : w->cfg->log_connections)
		clog(cl, LOG_LVL_LOG, "closing because: %s (age=%.0fs)", reason,
		     worker_now(w) - cl->connect_time);
	txn_client_closing(cl);
	if (cl->server) {
		struct server *srv = cl->server;
		if (server_is_clean(srv)) {
			pool_release_server(cl);
		} else {
			cl->server = NULL;
			srv->client = NULL;
			conn_unlink(&srv->c);
			conn_unlink(&cl->c);
			server_close(srv, "client disconnected while the server was not ready");
		}
	}
	pool_unwait(cl);
	gov_client_gone(cl);
	admin_console_gone(cl);
	list_del(&cl->node);
	list_del(&cl->ready_node);
	cancel_unregister(w, cl);
	if (logged_in && cl->pool) {
		cl->pool->n_clients--;
		list_del(&cl->pool_node);
	}
	w->n_clients--;
	login_free(cl);
	txn_client_free(cl);
	slowlog_free(cl);
	for (int i = 0; i < N_TRACK_VARS; i++) {
		free(cl->vars[i]);
		cl->vars[i] = NULL;
	}
	conn_close(&cl->c);
}

/* --- login --- */

static int ignored_param(const struct sluice_config *cfg, const char *name)
{
	return config_list_has(cfg->ignore_startup_parameters, name, 1);
}

static int startup_param(void *arg, const char *name, const char *value)
{
	struct client *cl = arg;
	struct client_login *lg = cl->login;
	int i;
	if (!strcmp(name, "user")) {
		snprintf(lg->user, sizeof(lg->user), "%s", value);
	} else if (!strcmp(name, "database")) {
		snprintf(lg->dbname, sizeof(lg->dbname), "%s", value);
	} else if ((i = track_var_index(name)) >= 0) {
		free(lg->startup_vars[i]);
		lg->startup_vars[i] = strdup(value);
	} else if (!strcmp(name, "options")) {
		/* -c sluice.class=NAME is for sluice; anything else follows the usual rule. */
		char rest[512];
		if (gov_startup_options(cl, value, rest, sizeof(rest), lg->err, sizeof(lg->err)) <
		    0) {
			lg->err_state = "08P01";
			return 1;
		}
		if (rest[0] && !ignored_param(cl->c.w->cfg, name)) {
			snprintf(lg->err, sizeof(lg->err), "unsupported startup parameter: %s",
			         name);
			lg->err_state = "08P01";
			return 1;
		}
	} else if (!strcmp(name, "replication")) {
		snprintf(lg->err, sizeof(lg->err), "replication connections are not supported");
		lg->err_state = "08P01";
		return 1;
	} else if (!ignored_param(cl->c.w->cfg, name)) {
		snprintf(lg->err, sizeof(lg->err), "unsupported startup parameter: %s", name);
		lg->err_state = "08P01";
		return 1;
	}
	return 0;
}

/* Everything checked: tell the client it is in. Needs the pool's welcome parameters. */
void client_welcome(struct client *cl)
{
	struct worker *w = cl->c.w;
	struct pool *pool = cl->pool;
	struct wbuf b = {0};
	list_del(&cl->node);
	for (int i = 0; i < N_TRACK_VARS; i++)
		if (cl->login && cl->login->startup_vars[i])
			client_set_var(cl, i, cl->login->startup_vars[i]);
	login_free(cl);
	audit_login(cl, pool->user->name, pool->db->entry.name, 1, NULL, NULL);
	pkt_auth(&b, AUTH_OK, NULL, 0);
	for (int k = 0; k < pool->welcome.n; k++) {
		int i = track_var_index(pool->welcome.name[k]);
		pkt_param_status(&b, pool->welcome.name[k],
		                 i >= 0 ? client_var(cl, i) : pool->welcome.value[k]);
	}
	cancel_register(w, cl);
	pkt_backend_key(&b, cl->cancel_pid, cl->cancel_key);
	pkt_ready(&b, 'I');
	cl->state = CL_ACTIVE;
	pool->n_clients++;
	list_append(&pool->clients, &cl->pool_node);
	w->stats.logins_ok++;
	cl->last_activity = worker_now(w);
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
	if (!cl->c.closed)
		worker_schedule(w, cl); /* messages pipelined after the login */
}

static void login_done(struct client *cl)
{
	struct pool *pool = cl->pool;
	struct worker *w = cl->c.w;
	if (pool->have_welcome) {
		client_welcome(cl);
		return;
	}
	if (!pool_server_total(pool) && pool->last_connect_failure &&
	    !(pool->last_failure_transient && w->cfg->failover_hold_timeout > 0) &&
	    worker_now(w) - pool->last_connect_failure < w->cfg->server_login_retry) {
		char msg[400];
		snprintf(msg, sizeof(msg),
		         "server login has been failing, try again later (server_login_retry): %s",
		         pool->last_error);
		client_fatal(cl, "08006", msg);
		return;
	}
	/* The first client of a pool waits for one server login to learn the welcome set. */
	cl->state = CL_WAIT_WELCOME;
	list_del(&cl->node);
	list_append(&pool->welcome_waiters, &cl->node);
	if (!pool->n_servers[SL_LOGIN])
		pool_launch(pool, 1);
}

static void auth_fail(struct client *cl)
{
	char msg[160];
	cl->c.w->stats.logins_failed++;
	snprintf(msg, sizeof(msg), "password authentication failed for user \"%s\"",
	         cl->login->user);
	client_fatal(cl, "28P01", msg);
}

static void send_auth_request(struct client *cl, uint32_t code, const void *data, size_t len)
{
	struct wbuf b = {0};
	pkt_auth(&b, code, data, len);
	conn_queue(&cl->c, b.data, b.len);
	wb_free(&b);
}

static void start_scram(struct client *cl)
{
	struct client_login *lg = cl->login;
	static const char mech[] = "SCRAM-SHA-256\0"; /* list ends with an empty string */
	/* Over TLS, channel binding to sluice's certificate is offered too (preferred first). */
	static const char mech_plus[] = "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0";
	lg->auth = LA_SCRAM_FIRST;
	if (cl->c.tls)
		send_auth_request(cl, AUTH_SASL, mech_plus, sizeof(mech_plus));
	else
		send_auth_request(cl, AUTH_SASL, mech, sizeof(mech));
}

static void run_auth(struct client *cl);

/* Pick and start the authentication exchange: auth_type, or the method of the matching HBA
 * rule; a user missing from auth_file is looked up with auth_query when that is configured. */
static void begin_auth(struct client *cl)
{
	struct worker *w = cl->c.w;
	const struct sluice_config *cfg = w->cfg;
	struct client_login *lg = cl->login;
	lg->secret = config_find_secret(cfg, lg->user);
	if (!lg->secret && cl->pool->db->entry.password[0] && cl->pool->db->entry.user[0] &&
	    !strcmp(cl->pool->db->entry.user, lg->user))
		lg->secret = cl->pool->db->entry.password;
	lg->method = cfg->auth_type;
	if (access_login(cl, lg->dbname, lg->user, &lg->method) < 0)
		return;
	int needs_secret = lg->method == AUTH_TYPE_PLAIN || lg->method == AUTH_TYPE_MD5 ||
	                   lg->method == AUTH_TYPE_SCRAM;
	if (!lg->secret && needs_secret && *authquery_user(cl)) {
		int r = authquery_lookup(cl, lg->aq_secret, sizeof(lg->aq_secret));
		if (r < 0)
			return;
		if (r > 0) {
			lg->aq_pending = 1; /* client_auth_resume() continues */
			return;
		}
		lg->secret = lg->aq_secret[0] ? lg->aq_secret : NULL;
	}
	run_auth(cl);
}

void client_auth_resume(struct client *cl, const char *secret)
{
	struct client_login *lg = cl->login;
	if (cl->c.closed || !lg)
		return;
	lg->aq_pending = 0;
	snprintf(lg->aq_secret, sizeof(lg->aq_secret), "%s", secret);
	lg->secret = lg->aq_secret[0] ? lg->aq_secret : NULL;
	run_auth(cl);
}

const char *client_login_user(const struct client *cl)
{
	return cl->login ? cl->login->user : cl->pool ? cl->pool->user->name : "";
}

static void run_auth(struct client *cl)
{
	const struct sluice_config *cfg = cl->c.w->cfg;
	struct client_login *lg = cl->login;
	switch (lg->method) {
	case AUTH_TYPE_ANY:
	case AUTH_TYPE_CERT: /* the certificate was checked by access_login() */
		login_done(cl);
		return;
	case AUTH_TYPE_TRUST:
		if (cfg->n_userlist && !lg->secret) {
			/* Same answer as a wrong password: do not reveal which users exist. */
			clog(cl, LOG_LVL_LOG, "no such user: %s", lg->user);
			auth_fail(cl);
			return;
		}
		login_done(cl);
		return;
	case AUTH_TYPE_PLAIN:
		lg->auth = LA_CLEARTEXT;
		send_auth_request(cl, AUTH_CLEARTEXT, NULL, 0);
		return;
	case AUTH_TYPE_MD5:
		/* As PgBouncer: a user stored with a SCRAM secret is asked for SCRAM instead. */
		if (lg->secret && scram_is_secret(lg->secret)) {
			start_scram(cl);
			return;
		}
		lg->auth = LA_MD5;
		RAND_bytes(lg->salt, sizeof(lg->salt));
		send_auth_request(cl, AUTH_MD5, lg->salt, sizeof(lg->salt));
		return;
	case AUTH_TYPE_SCRAM:
	default:
		start_scram(cl);
		return;
	}
}

static void handle_password(struct client *cl, const uint8_t *body, uint32_t len)
{
	struct client_login *lg = cl->login;
	struct pkt_reader r;
	rd_init(&r, body, len);
	if (lg->auth == LA_CLEARTEXT || lg->auth == LA_MD5) {
		const char *pw = rd_cstr(&r);
		if (!pw || !lg->secret) {
			auth_fail(cl);
			return;
		}
		int ok = 0;
		if (lg->auth == LA_MD5) {
			ok = md5_verify(lg->secret, lg->user, lg->salt, pw);
		} else if (md5_is_secret(lg->secret)) {
			char s[36];
			md5_make_secret(pw, lg->user, s);
			ok = strlen(s) == strlen(lg->secret) &&
			     !CRYPTO_memcmp(s, lg->secret, strlen(s));
		} else if (scram_is_secret(lg->secret)) {
			struct scram_secret stored, derived;
			ok = !scram_parse_secret(lg->secret, &stored) &&
			     !scram_secret_from_password(pw, stored.salt, stored.salt_len,
			                                 stored.iterations, &derived) &&
			     !CRYPTO_memcmp(stored.stored_key, derived.stored_key, 32);
		} else {
			ok = strlen(pw) == strlen(lg->secret) &&
			     !CRYPTO_memcmp(pw, lg->secret, strlen(pw));
		}
		if (!ok) {
			auth_fail(cl);
			return;
		}
		login_done(cl);
		return;
	}
	if (lg->auth == LA_SCRAM_FIRST) {
		const char *mech = rd_cstr(&r);
		uint32_t dlen = rd_u32(&r);
		const uint8_t *data = (!r.err && dlen <= rd_left(&r)) ? rd_bytes(&r, dlen) : NULL;
		int plus = mech && cl->c.tls && !strcmp(mech, "SCRAM-SHA-256-PLUS");
		if (!mech || (!plus && strcmp(mech, "SCRAM-SHA-256") != 0) || !data || !dlen ||
		    plus != (data[0] == 'p')) {
			client_fatal(cl, "08P01", "invalid SASL initial response");
			return;
		}
		if (!lg->secret) {
			lg->unknown_user = 1;
		} else if (scram_is_secret(lg->secret)) {
			scram_parse_secret(lg->secret, &lg->scram_secret);
		} else if (md5_is_secret(lg->secret)) {
			client_fatal(cl, "28000",
			             "SCRAM authentication failed: the stored password is an md5 "
			             "secret");
			return;
		} else {
			struct pool_user *pu = cl->pool->user;
			if (!pu->derived || strcmp(pu->derived_from, lg->secret)) {
				if (!pu->derived)
					pu->derived = calloc(1, sizeof(*pu->derived));
				if (!pu->derived || scram_secret_from_password(lg->secret, NULL, 0,
				                                               0, pu->derived)) {
					client_fatal(cl, "XX000", "could not derive SCRAM secret");
					return;
				}
				snprintf(pu->derived_from, sizeof(pu->derived_from), "%s",
				         lg->secret);
			}
			lg->scram_secret = *pu->derived;
		}
		if (lg->unknown_user)
			scram_mock_secret(lg->user, cl->c.w->scram_mock_key,
			                  sizeof(cl->c.w->scram_mock_key), &lg->scram_secret);
		char out[SCRAM_MAX_MSG + 1];
		const char *err = NULL;
		int n;
		unsigned char cb[64];
		int cblen = cl->c.tls ? tls_own_end_point(&cl->c, cb, sizeof(cb)) : -1;
		if (scram_server_init(&lg->scram, &lg->scram_secret, NULL) < 0 ||
		    (cblen > 0 &&
		     scram_server_channel_binding(&lg->scram, cb, (size_t)cblen) < 0) ||
		    (n = scram_server_first(&lg->scram, (const char *)data, dlen, out, sizeof(out),
		                            &err)) < 0) {
			char msg[200];
			snprintf(msg, sizeof(msg), "invalid SCRAM message: %s", err ? err : "?");
			client_fatal(cl, "08P01", msg);
			return;
		}
		lg->auth = LA_SCRAM_FINAL;
		send_auth_request(cl, AUTH_SASL_CONTINUE, out, (size_t)n);
		return;
	}
	if (lg->auth == LA_SCRAM_FINAL) {
		char out[SCRAM_MAX_MSG + 1];
		unsigned char client_key[SCRAM_KEY_LEN];
		const char *err = NULL;
		int n = scram_server_final(&lg->scram, (const char *)body, len, out, sizeof(out),
		                           client_key, &err);
		if (n == -2) {
			char msg[200];
			snprintf(msg, sizeof(msg), "invalid SCRAM message: %s", err ? err : "?");
			client_fatal(cl, "08P01", msg);
			return;
		}
		if (n < 0 || lg->unknown_user) {
			auth_fail(cl);
			return;
		}
		/* Keep the ClientKey so the server login can use the same stored secret. */
		if (scram_is_secret(lg->secret)) {
			memcpy(cl->pool->user->scram_client_key, client_key, SCRAM_KEY_LEN);
			cl->pool->user->have_scram_keys = 1;
		}
		OPENSSL_cleanse(client_key, sizeof(client_key));
		send_auth_request(cl, AUTH_SASL_FINAL, out, (size_t)n);
		login_done(cl);
		return;
	}
	client_fatal(cl, "08P01", "unexpected password message");
}

static enum pkt_action handle_startup(struct client *cl, const uint8_t *p, uint32_t total,
                                      uint32_t avail)
{
	struct worker *w = cl->c.w;
	enum pkt_action act;
	if (access_pre_startup(cl, p, total, avail, &act)) /* PROXY header, TLS */
		return act;
	if (total < 8 || total > STARTUP_MAX_LEN) {
		client_fatal(cl, "08P01", "invalid startup packet length");
		return PKT_GONE;
	}
	if (avail < total)
		return PKT_NEED_FULL;
	uint32_t code = pg_get_u32(p + 4);
	if (code == PROTO_SSL || code == PROTO_GSSENC) {
		if (total != 8) {
			client_fatal(cl, "08P01", "invalid SSL negotiation packet");
			return PKT_GONE;
		}
		conn_queue(&cl->c, "N", 1); /* no TLS here (access_pre_startup said): plain text */
		return cl->c.closed ? PKT_GONE : PKT_HANDLED;
	}
	if (code == PROTO_CANCEL) {
		if (total == 16)
			cancel_request(w, pg_get_u32(p + 8), pg_get_u32(p + 12));
		/* A cancel connection gets no answer, as with PostgreSQL. */
		w->n_clients--;
		list_del(&cl->node);
		login_free(cl);
		cl->state = CL_STARTUP;
		conn_close(&cl->c);
		return PKT_GONE;
	}
	if (code >> 16 != 3) {
		client_fatal(cl, "0A000", "unsupported frontend protocol");
		return PKT_GONE;
	}
	cl->login = calloc(1, sizeof(*cl->login));
	if (!cl->login) {
		client_fatal(cl, "53200", "out of memory");
		return PKT_GONE;
	}
	if (startup_parse(p + 8, total - 8, startup_param, cl) < 0) {
		client_fatal(cl, "08P01", "invalid startup packet");
		return PKT_GONE;
	}
	if (cl->login->err_state) {
		client_fatal(cl, cl->login->err_state, cl->login->err);
		return PKT_GONE;
	}
	if (!cl->login->user[0]) {
		client_fatal(cl, "28000", "no user name specified in startup packet");
		return PKT_GONE;
	}
	if (!cl->login->dbname[0])
		snprintf(cl->login->dbname, sizeof(cl->login->dbname), "%s", cl->login->user);
	if (w->cfg->log_connections)
		clog(cl, LOG_LVL_LOG, "login attempt: db=%s user=%s tls=%s", cl->login->dbname,
		     cl->login->user, tls_version(&cl->c));
	if (w->n_clients > w->cfg->max_client_conn) {
		w->stats.clients_refused++;
		client_fatal(cl, "53300", "no more connections allowed (max_client_conn)");
		return PKT_GONE;
	}
	if (access_rate_check(cl) < 0)
		return PKT_GONE;
	if (w->shutdown && w->shutdown != SHUTDOWN_DRAIN) {
		client_fatal(cl, "57P01", "sluice is shutting down");
		return PKT_GONE;
	}
	const char *state = "3D000";
	char err[160];
	if (admin_is_console_db(cl->login->dbname)) {
		if (admin_console_login(cl, cl->login->dbname, cl->login->user) < 0)
			return PKT_GONE;
		cl->c.startup_mode = 0;
		cl->state = CL_AUTH;
		begin_auth(cl);
		return cl->c.closed ? PKT_GONE : PKT_HANDLED;
	}
	cl->pool = pool_get(w, cl->login->dbname, cl->login->user, err, sizeof(err), &state);
	if (!cl->pool) {
		client_fatal(cl, state, err);
		return PKT_GONE;
	}
	if (admin_db_disabled(cl->pool)) {
		snprintf(err, sizeof(err), "database does not allow connections: %s",
		         cl->login->dbname);
		client_fatal(cl, "57P03", err);
		return PKT_GONE;
	}
	if (gov_client_login(cl, err, sizeof(err)) < 0) {
		w->stats.clients_refused++;
		client_fatal(cl, "53300", err);
		return PKT_GONE;
	}
	cl->c.startup_mode = 0;
	cl->state = CL_AUTH;
	begin_auth(cl);
	return cl->c.closed ? PKT_GONE : PKT_HANDLED;
}

/* After a refused transaction start: drop messages up to the end of that request. */
static enum pkt_action handle_discard(struct client *cl, uint8_t type)
{
	if (type == 'X') {
		client_close(cl, "client close request");
		return PKT_GONE;
	}
	if (type == 'Q' || type == 'S') {
		struct wbuf b = {0};
		pkt_ready(&b, cl->lost_txn ? 'E' : 'I');
		conn_queue(&cl->c, b.data, b.len);
		wb_free(&b);
		cl->discard = 0;
	}
	return cl->c.closed ? PKT_GONE : PKT_SKIP;
}

static enum pkt_action client_packet(struct conn *c, uint8_t type, const uint8_t *p, uint32_t total,
                                     uint32_t avail)
{
	struct client *cl = (struct client *)c;
	struct worker *w = c->w;
	if (cl->state == CL_STARTUP)
		return handle_startup(cl, p, total, avail);
	if (total < PKT_HDR_LEN || total - 1 > (uint32_t)w->cfg->max_packet_size) {
		client_fatal(cl, "08P01",
		             total < PKT_HDR_LEN ? "invalid packet length" : "message too long");
		return PKT_GONE;
	}
	if (cl->state == CL_AUTH) {
		if (type != 'p') {
			client_fatal(cl, "08P01",
			             "expected a password message during authentication");
			return PKT_GONE;
		}
		if (total > 4096) {
			client_fatal(cl, "08P01", "password message too long");
			return PKT_GONE;
		}
		if (avail < total)
			return PKT_NEED_FULL;
		handle_password(cl, p + PKT_HDR_LEN, total - PKT_HDR_LEN);
		return c->closed ? PKT_GONE : PKT_HANDLED;
	}
	if (cl->state == CL_WAIT_WELCOME || cl->state == CL_WAITING || cl->state == CL_GOV_WAIT)
		return PKT_PAUSE;
	cl->last_activity = worker_now(w);
	if (cl->admin)
		return admin_console_packet(cl, type, p, total, avail);
	if (cl->discard)
		return handle_discard(cl, type);
	if (cl->lost_txn && !cl->server)
		return (enum pkt_action)failover_client_msg(cl, type, p, total, avail);
	int txn = cl->pool->pool_mode != POOL_SESSION;
	if (!cl->server) {
		if (type == 'X') {
			client_close(cl, "client close request");
			return PKT_GONE;
		}
		/* Before anything answers it locally: while draining, a connection check is
		 * where a pooled client learns to reconnect elsewhere. */
		if (w->shutdown == SHUTDOWN_DRAIN &&
		    drain_refuse_start(cl, type, p + PKT_HDR_LEN,
		                       (avail < total ? avail : total) - PKT_HDR_LEN))
			return PKT_GONE;
		int a = txn ? txn_client_unlinked(cl, type, p, total, avail) : -1;
		if (a >= 0)
			return (enum pkt_action)a;
		if (!cl->gov.holding) {
			uint32_t have = avail < total ? avail : total;
			enum gov_verdict v = gov_admit(cl, type, p + PKT_HDR_LEN,
			                               have > PKT_HDR_LEN ? have - PKT_HDR_LEN : 0);
			if (c->closed)
				return PKT_GONE;
			if (v == GOV_WAIT)
				return PKT_PAUSE;
			if (v == GOV_SHED)
				return handle_discard(cl, type);
		}
		uint32_t have = avail < total ? avail : total;
		route_decide(cl, type, p + PKT_HDR_LEN,
		             have > PKT_HDR_LEN ? have - PKT_HDR_LEN : 0);
		int r = pool_request_server(cl);
		if (c->closed)
			return PKT_GONE;
		if (r > 0)
			return PKT_PAUSE;
		if (r < 0)
			return handle_discard(cl, type);
	}
	struct server *srv = cl->server;
	/* query_rate: a statement over the tenant's rate waits here, before anything is counted. */
	if ((type == 'Q' || type == 'E') && gov_statement(cl))
		return PKT_PAUSE;
	if (txn && type != 'X') {
		int a = txn_client_linked(cl, type, p, total, avail);
		if (a >= 0)
			return (enum pkt_action)a;
	}
	switch (type) {
	case 'X':
		client_close(cl, "client close request");
		return PKT_GONE;
	case 'Q':
	case 'S':
	case 'F':
		if (!srv->expected_rfq)
			srv->request_time = worker_now(w);
		srv->expected_rfq++;
		if (type == 'Q') {
			w->stats.queries++;
			cl->pool->stat_queries++;
			uint32_t have = (avail < total ? avail : total) - PKT_HDR_LEN;
			cl->commit_sent = failover_is_commit((const char *)p + PKT_HDR_LEN, have);
		}
		break;
	case 'E':
		w->stats.queries++;
		cl->pool->stat_queries++;
		break;
	default:
		break;
	}
	cl->pool->stat_recv += total;
	/* An extended-protocol message after the last Sync leaves the server mid-request until
	 * the next Sync; COPY data belongs to the Query that started it. */
	if (type == 'Q' || type == 'S' || type == 'F')
		srv->unsynced = 0;
	else if (type && strchr("PBDECH", type))
		srv->unsynced = 1;
	if (slowlog_enabled(w->cfg))
		slowlog_client_msg(cl, type, p, avail < total ? avail : total);
	return PKT_FORWARD;
}

void client_linked(struct client *cl)
{
	cl->state = CL_ACTIVE;
	worker_schedule(cl->c.w, cl);
}

static void client_failed(struct conn *c, const char *reason)
{
	struct client *cl = (struct client *)c;
	client_close(cl, !strcmp(reason, "unexpected eof") ? "client unexpected eof" : reason);
}

static void client_drained(struct conn *c)
{
	listen_flush((struct client *)c); /* notifications held while the socket was full */
}

/* The message a transaction's end was waiting for has streamed through (server_boundary). */
static void client_post(struct conn *c)
{
	struct client *cl = (struct client *)c;
	if (!cl->release_deferred)
		return;
	cl->release_deferred = 0;
	if (cl->server)
		server_boundary(cl->server);
}

static const struct conn_ops client_ops = {
    .packet = client_packet,
    .post = client_post,
    .drained = client_drained,
    .failed = client_failed,
};

void client_accept(struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen,
                   int is_unix)
{
	struct client *cl = calloc(1, sizeof(*cl));
	(void)salen;
	if (!cl) {
		close(fd);
		return;
	}
	conn_init(&cl->c, w, fd, &client_ops, 0);
	cl->c.startup_mode = 1;
	cl->state = CL_STARTUP;
	cl->id = ++w->next_client_id;
	cl->is_unix = (uint8_t)is_unix;
	cl->connect_time = cl->last_activity = worker_now(w);
	list_init(&cl->node);
	list_init(&cl->ready_node);
	list_init(&cl->pool_node);
	sched_waiter_init(&cl->gov.wt);
	list_init(&cl->gov.wait_node);
	list_init(&cl->gov.delay_node);
	cl->gov.login_cls = -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, cl->addr, sizeof(cl->addr));
		cl->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, cl->addr, sizeof(cl->addr));
		cl->port = ntohs(in6->sin6_port);
	} else {
		snprintf(cl->addr, sizeof(cl->addr), "unix");
		cl->port = (uint16_t)(w->cfg->listen_port);
	}
	list_append(&w->login_clients, &cl->node);
	w->n_clients++;
	w->stats.clients_accepted++;
	/* TCP listeners defer the accept until the startup packet is there: read it now. */
	if (!is_unix)
		conn_try_read(&cl->c);
}
