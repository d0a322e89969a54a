/* The worker's security state and the client-side access hooks (see access.h). */
#include "access.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "authquery.h"
#include "client.h"
#include "governor.h"
#include "log.h"
#include "proxyproto.h"
#include "worker.h"

/* ---- building the state ---- */

static int parse_trusted(const char *list, struct access_state *st, char *err, size_t errlen)
{
	st->n_trusted = 0;
	if (!list)
		return 0;
	char buf[64];
	for (const char *p = list; *p;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		if (e == p)
			break;
		size_t n = (size_t)(e - p);
		if (n >= sizeof(buf) || st->n_trusted == PROXY_TRUSTED_MAX) {
			snprintf(err, errlen,
			         "proxy_protocol_trusted: too many or too long entries");
			return -1;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (hba_parse_cidr(buf, &st->trusted[st->n_trusted].family,
		                   st->trusted[st->n_trusted].addr,
		                   st->trusted[st->n_trusted].mask) < 0) {
			snprintf(err, errlen, "proxy_protocol_trusted: invalid network \"%s\"",
			         buf);
			return -1;
		}
		st->n_trusted++;
		p = e;
	}
	return 0;
}

static void warn_auth_file_mode(const struct sluice_config *cfg)
{
	struct stat sb;
	if (cfg->auth_file && *cfg->auth_file && stat(cfg->auth_file, &sb) == 0 &&
	    (sb.st_mode & (S_IRWXG | S_IRWXO)))
		log_warn("auth_file %s is accessible by group or others (mode 0%o): it holds "
		         "password secrets, make it 0600",
		         cfg->auth_file, (unsigned)(sb.st_mode & 07777));
}

int access_apply(struct worker *w, int initial)
{
	const struct sluice_config *cfg = w->cfg;
	struct access_state *old = w->access;
	struct access_state *st = calloc(1, sizeof(*st));
	char err[512];
	if (!st) {
		log_error("out of memory building the TLS/access state");
		return -1;
	}
	st->audit_fd = -1;
	if (tls_ctxs_build(cfg, &st->tls, err, sizeof(err)) < 0)
		goto fail;
	if (cfg->auth_type == AUTH_TYPE_HBA) {
		if (!cfg->auth_hba_file || !*cfg->auth_hba_file) {
			snprintf(err, sizeof(err), "auth_type = hba needs auth_hba_file");
			goto fail;
		}
		if (hba_load(cfg->auth_hba_file, &st->hba, err, sizeof(err)) < 0)
			goto fail;
	}
	if (parse_trusted(cfg->proxy_protocol_trusted, st, err, sizeof(err)) < 0)
		goto fail;
	/* What lasts across reloads moves over: the rate window and the auth_query cache. */
	if (old) {
		st->rate = old->rate;
		st->aq = old->aq;
		old->rate = NULL;
		old->aq = NULL;
		tls_ctxs_free(&old->tls); /* live connections keep their own references */
		hba_free(&old->hba);
		if (old->audit_fd >= 0)
			close(old->audit_fd);
		free(old);
	}
	w->access = st;
	audit_open(cfg->audit_log, &st->audit_fd); /* reopened on every reload: log rotation */
	warn_auth_file_mode(cfg);
	if (st->tls.client_side || st->tls.server_side)
		log_info("TLS: client side %s, server side %s", st->tls.client_side ? "on" : "off",
		         st->tls.server_side ? "on" : "off");
	return 0;
fail:
	tls_ctxs_free(&st->tls);
	hba_free(&st->hba);
	free(st);
	if (initial || !old) {
		log_error("%s", err);
		return -1;
	}
	log_error("reload: %s; keeping the previous TLS and access settings", err);
	return -1;
}

void access_free(struct worker *w)
{
	struct access_state *st = w->access;
	if (!st)
		return;
	authquery_free(st->aq);
	tls_ctxs_free(&st->tls);
	hba_free(&st->hba);
	free(st->rate);
	if (st->audit_fd >= 0)
		close(st->audit_fd);
	free(st);
	w->access = NULL;
}

/* ---- before the startup packet ---- */

static int peer_trusted(const struct access_state *st, const struct sockaddr *sa)
{
	for (int i = 0; i < st->n_trusted; i++)
		if (hba_addr_in(sa, st->trusted[i].family, st->trusted[i].addr,
		                st->trusted[i].mask))
			return 1;
	return 0;
}

static void client_tls_done(struct conn *c, int ok, const char *err)
{
	struct client *cl = (struct client *)c;
	if (ok <= 0) {
		cl->c.w->stats.logins_failed++;
		clog(cl, LOG_LVL_LOG, "closing: %s", err ? err : "TLS handshake failed");
		client_close(cl, err ? err : "TLS handshake failed");
		return;
	}
	if (cl->c.w->cfg->verbose)
		clog(cl, LOG_LVL_DEBUG, "TLS handshake done: %s", tls_version(c));
	/* The startup packet may already sit inside OpenSSL, where the socket will not announce
	 * it. Read from the loop, not from here: the handshake can finish while the handler that
	 * started it is still walking the plaintext buffer. */
	ev_feed_event(c->w->loop, &c->rio, EV_READ);
}

static int proxy_header(struct client *cl, uint32_t have, enum pkt_action *act)
{
	struct access_state *st = cl->c.w->access;
	struct sockaddr_storage ss;
	const uint8_t *buf = cl->c.rbuf + cl->c.scan;
	struct proxy_result pr;
	const char *why = NULL;
	if (client_sockaddr(cl, &ss) < 0 || !peer_trusted(st, (struct sockaddr *)&ss)) {
		client_fatal(cl, "08P01", "PROXY protocol header from an untrusted address");
		*act = PKT_GONE;
		return 1;
	}
	int n = proxy_parse(buf, have, &pr, &why);
	if (n < 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "invalid PROXY protocol header: %s", why);
		client_fatal(cl, "08P01", msg);
		*act = PKT_GONE;
		return 1;
	}
	if (n == 0) {
		*act = PKT_NEED_FULL;
		return 1;
	}
	cl->proxied = 1;
	if (pr.have_addr) {
		if (pr.src.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&pr.src;
			inet_ntop(AF_INET, &in->sin_addr, cl->addr, sizeof(cl->addr));
			cl->port = ntohs(in->sin_port);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&pr.src;
			inet_ntop(AF_INET6, &in6->sin6_addr, cl->addr, sizeof(cl->addr));
			cl->port = ntohs(in6->sin6_port);
		}
	}
	conn_consume(&cl->c, (uint32_t)n);
	worker_schedule(cl->c.w, cl); /* the startup packet may be right behind it */
	*act = PKT_NEED_FULL;
	return 1;
}

int access_pre_startup(struct client *cl, const uint8_t *p, uint32_t total, uint32_t avail,
                       enum pkt_action *act)
{
	struct worker *w = cl->c.w;
	struct access_state *st = w->access;
	uint32_t have = cl->c.rlen - cl->c.scan; /* everything buffered, not just this "packet" */
	if (cl->is_unix)
		return 0;
	if (w->cfg->proxy_protocol && !cl->proxied && !cl->c.tls && (p[0] == 'P' || p[0] == 0x0d))
		return proxy_header(cl, have, act);
	if (p[0] == 0x16 && !cl->c.tls && st->tls.client_side) {
		/* A TLS record (handshake) instead of a length: PostgreSQL 17's direct TLS. */
		if (tls_accept_start(&cl->c, st->tls.client_side, p, have, 1, client_tls_done) <
		    0) {
			client_close(cl, "could not start TLS");
			*act = PKT_GONE;
			return 1;
		}
		if (!cl->c.closed)
			conn_consume(&cl->c, have);
		*act = cl->c.closed ? PKT_GONE : PKT_NEED_FULL;
		return 1;
	}
	if (total != 8 || avail < 8 || pg_get_u32(p + 4) != PROTO_SSL)
		return 0;
	if (cl->c.tls) {
		client_fatal(cl, "08P01", "SSLRequest on an already encrypted connection");
		*act = PKT_GONE;
		return 1;
	}
	if (!st->tls.client_side)
		return 0; /* answered 'N' by the caller */
	if (have > 8) {
		/* Bytes sent before the handshake would be read as if they had been encrypted
		 * (CVE-2021-23214): refuse. */
		client_fatal(cl, "08P01", "received unencrypted data after SSL request");
		*act = PKT_GONE;
		return 1;
	}
	conn_queue(&cl->c, "S", 1);
	conn_consume(&cl->c, 8);
	if (cl->c.closed ||
	    tls_accept_start(&cl->c, st->tls.client_side, NULL, 0, 0, client_tls_done) < 0) {
		client_close(cl, "could not start TLS");
		*act = PKT_GONE;
		return 1;
	}
	*act = cl->c.closed ? PKT_GONE : PKT_NEED_FULL;
	return 1;
}

/* ---- after the startup packet ---- */

int access_rate_check(struct client *cl)
{
	struct worker *w = cl->c.w;
	struct access_state *st = w->access;
	int rate = w->cfg->client_conn_rate;
	if (rate <= 0 || cl->is_unix)
		return 0;
	if (!st->rate && !(st->rate = calloc(CONN_RATE_SLOTS, sizeof(*st->rate))))
		return 0;
	double now = worker_now(w);
	uint32_t h = 2166136261u;
	for (const char *s = cl->addr; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	/* A few probes; a full neighbourhood of busy addresses fails open rather than let one
	 * flood lock out others that happen to hash nearby. */
	struct rate_slot *slot = NULL;
	for (int i = 0; i < 8 && !slot; i++) {
		struct rate_slot *s = &st->rate[(h + (uint32_t)i) & (CONN_RATE_SLOTS - 1)];
		if (!strcmp(s->addr, cl->addr) || !s->addr[0] || now - s->window >= 2.0) {
			if (strcmp(s->addr, cl->addr) != 0) {
				snprintf(s->addr, sizeof(s->addr), "%s", cl->addr);
				s->window = now;
				s->count = 0;
			}
			slot = s;
		}
	}
	if (!slot)
		return 0;
	if (now - slot->window >= 1.0) {
		slot->window = now;
		slot->count = 0;
	}
	if (++slot->count <= rate)
		return 0;
	w->stats.clients_refused++;
	client_fatal(cl, "53300", "too many new connections from this address (client_conn_rate)");
	return -1;
}

/* tenant_isolation: a user named by some tenant's users = patterns may only reach databases of
 * one of those tenants. Returns the name of a tenant that claims the user, or NULL if allowed. */
static const char *isolation_refusal(const struct governor_conf *gc, const char *db,
                                     const char *user)
{
	const char *claimed = NULL;
	for (int i = 0; i < gc->n_tenants; i++) {
		const struct gov_tenant_conf *t = &gc->tenants[i];
		int user_in = 0;
		for (int k = 0; k < t->users.n && !user_in; k++)
			user_in = fnmatch(t->users.v[k], user, 0) == 0;
		if (!user_in)
			continue;
		int db_in = 0;
		if (!t->databases.n)
			db_in = !strcmp(t->name, db);
		for (int k = 0; k < t->databases.n && !db_in; k++)
			db_in = fnmatch(t->databases.v[k], db, 0) == 0;
		if (db_in)
			return NULL;
		if (!claimed)
			claimed = t->name;
	}
	return claimed;
}

static int refuse(struct client *cl, const char *msg)
{
	cl->c.w->stats.logins_failed++;
	client_fatal(cl, "28000", msg);
	return -1;
}

int access_login(struct client *cl, const char *db, const char *user, int *method)
{
	struct worker *w = cl->c.w;
	const struct sluice_config *cfg = w->cfg;
	char msg[300];
	int tls = cl->c.tls != NULL;
	if (cfg->client_tls_sslmode >= TLS_MODE_REQUIRE && !cl->is_unix && !tls)
		return refuse(cl, "TLS required (client_tls_sslmode): connect with sslmode=require "
		                  "or stricter");
	if (cfg->tenant_isolation && cfg->gov) {
		const char *t = isolation_refusal(cfg->gov, db, user);
		if (t) {
			snprintf(
			    msg, sizeof(msg),
			    "tenant isolation: user \"%s\" belongs to tenant \"%s\" and may not "
			    "connect to database \"%s\"",
			    user, t, db);
			return refuse(cl, msg);
		}
	}
	if (*method == AUTH_TYPE_HBA) {
		struct sockaddr_storage ss;
		int have_sa = client_sockaddr(cl, &ss) == 0, line = 0;
		*method = hba_match(&w->access->hba, cl->is_unix, tls, db, user,
		                    have_sa ? (struct sockaddr *)&ss : NULL, &line);
		if (*method < 0) {
			snprintf(
			    msg, sizeof(msg),
			    "no auth_hba_file entry for host \"%s\", user \"%s\", database \"%s\", "
			    "%s",
			    cl->addr, user, db, tls ? "TLS encryption" : "no encryption");
			return refuse(cl, msg);
		}
		if (*method == HBA_REJECT) {
			snprintf(msg, sizeof(msg),
			         "auth_hba_file line %d rejects connection for host \"%s\", user "
			         "\"%s\", database \"%s\"",
			         line, cl->addr, user, db);
			return refuse(cl, msg);
		}
	}
	if (*method == AUTH_TYPE_CERT) {
		char cn[CFG_NAME_MAX];
		if (!tls || tls_peer_cn(&cl->c, cn, sizeof(cn)) < 0 || strcmp(cn, user) != 0) {
			clog(cl, LOG_LVL_LOG, "certificate authentication failed: %s",
			     !tls ? "no TLS"
			     : !tls_peer_verified(&cl->c)
			         ? "no verified client certificate"
			         : "certificate CN differs from the user name");
			snprintf(msg, sizeof(msg),
			         "certificate authentication failed for user \"%s\"", user);
			return refuse(cl, msg);
		}
	}
	return 0;
}
