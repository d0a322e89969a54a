/* TLS: contexts from the config, non-blocking handshakes on the libev loop, and the
 * recv/send look-alikes the relay uses for TLS connections. */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "worker.h"

#define PG_ALPN "\x0apostgresql" /* ALPN wire form: length byte, then the name */

/* ---- contexts ---- */

int tls_parse_protocols(const char *s, int *min_version, int *max_version)
{
	static const struct {
		const char *name;
		int lo, hi;
	} words[] = {
	    {"tlsv1.0", TLS1_VERSION, TLS1_VERSION},
	    {"tlsv1", TLS1_VERSION, TLS1_VERSION},
	    {"tlsv1.1", TLS1_1_VERSION, TLS1_1_VERSION},
	    {"tlsv1.2", TLS1_2_VERSION, TLS1_2_VERSION},
	    {"tlsv1.3", TLS1_3_VERSION, TLS1_3_VERSION},
	    {"all", TLS1_VERSION, TLS1_3_VERSION},
	    {"legacy", TLS1_VERSION, TLS1_3_VERSION},
	    {"secure", TLS1_2_VERSION, TLS1_3_VERSION},
	};
	int lo = 0, hi = 0;
	const char *p = s ? s : "";
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t' || *p == ':')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ' && *e != '\t' && *e != ':')
			e++;
		if (e == p)
			break;
		size_t n = (size_t)(e - p), i;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == n && !strncasecmp(words[i].name, p, n))
				break;
		if (i == sizeof(words) / sizeof(words[0]))
			return -1;
		if (!lo || words[i].lo < lo)
			lo = words[i].lo;
		if (words[i].hi > hi)
			hi = words[i].hi;
		p = e;
	}
	if (!lo) /* empty: the secure default */
		lo = TLS1_2_VERSION, hi = TLS1_3_VERSION;
	*min_version = lo;
	*max_version = hi;
	return 0;
}

static void ssl_errf(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char buf[200] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s: %s", what, file ? " " : "", file ? file : "",
	         buf[0] ? buf : "unknown error");
	ERR_clear_error();
}

/* Settings both directions share: versions, ciphers, options. */
static int ctx_common(SSL_CTX *ctx, const char *side, const char *protocols, const char *ciphers,
                      char *err, size_t errlen)
{
	int lo, hi;
	if (tls_parse_protocols(protocols, &lo, &hi) < 0) {
		snprintf(err, errlen, "%s_tls_protocols: unknown value \"%s\"", side, protocols);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, lo);
	SSL_CTX_set_max_proto_version(ctx, hi);
	if (ciphers && *ciphers && strcasecmp(ciphers, "default") != 0) {
		/* PgBouncer's named sets, mapped onto one strong OpenSSL list; anything else is an
		 * OpenSSL cipher string used as written. */
		const char *list = ciphers;
		if (!strcasecmp(ciphers, "secure") || !strcasecmp(ciphers, "fast") ||
		    !strcasecmp(ciphers, "normal"))
			list = "HIGH:!aNULL:!MD5:!3DES:!RC4";
		else if (!strcasecmp(ciphers, "all"))
			list = "ALL:!aNULL";
		if (SSL_CTX_set_cipher_list(ctx, list) != 1) {
			snprintf(err, errlen, "%s_tls_ciphers: no usable cipher in \"%s\"", side,
			         ciphers);
			ERR_clear_error();
			return -1;
		}
	}
	/* No compression (CRIME), no renegotiation (a cheap CPU drain for an attacker), and a
	 * peer that drops the TCP connection without close_notify is an ordinary EOF: the
	 * PostgreSQL protocol delimits its own messages. RELEASE_BUFFERS keeps an idle TLS
	 * connection from holding OpenSSL's 2 x 16 KiB record buffers. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel = NULL;
	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, (const unsigned char *)PG_ALPN, sizeof(PG_ALPN) - 1,
	                          in, inlen) == OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	/* A client that offers ALPN without "postgresql" speaks something else: refuse, as
	 * PostgreSQL 17 does. */
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Client certificates are requested whenever a CA is configured, but below verify-ca a
 * certificate that does not verify only means "not verified" (auth_type = cert then refuses). */
static int verify_record_only(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

static SSL_CTX *build_client_side(const struct sluice_config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ssl_errf(err, errlen, "client TLS context", NULL);
		return NULL;
	}
	if (ctx_common(ctx, "client", cfg->client_tls_protocols, cfg->client_tls_ciphers, err,
	               errlen) < 0)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (!cfg->client_tls_cert_file || !*cfg->client_tls_cert_file ||
	    !cfg->client_tls_key_file || !*cfg->client_tls_key_file) {
		snprintf(err, errlen,
		         "client_tls_sslmode is not disable: client_tls_cert_file and "
		         "client_tls_key_file are required");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->client_tls_cert_file) != 1) {
		ssl_errf(err, errlen, "client_tls_cert_file", cfg->client_tls_cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->client_tls_key_file, SSL_FILETYPE_PEM) != 1) {
		ssl_errf(err, errlen, "client_tls_key_file", cfg->client_tls_key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errf(err, errlen, "client_tls_key_file does not match client_tls_cert_file",
		         NULL);
		goto fail;
	}
	const char *curve = cfg->client_tls_ecdhcurve;
	if (curve && *curve && strcasecmp(curve, "auto") != 0 &&
	    SSL_CTX_set1_groups_list(ctx, curve) != 1) {
		snprintf(err, errlen, "client_tls_ecdhcurve: unknown group list \"%s\"", curve);
		ERR_clear_error();
		goto fail;
	}
	const char *dhe = cfg->client_tls_dheparams;
	if (!dhe || !strcasecmp(dhe, "auto") || !strcasecmp(dhe, "legacy"))
		SSL_CTX_set_dh_auto(ctx, 1);
	else if (strcasecmp(dhe, "none") != 0) {
		snprintf(err, errlen,
		         "client_tls_dheparams: expected none, auto or legacy, not \"%s\"", dhe);
		goto fail;
	}
	if (cfg->client_tls_ca_file && *cfg->client_tls_ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->client_tls_ca_file, NULL) != 1) {
			ssl_errf(err, errlen, "client_tls_ca_file", cfg->client_tls_ca_file);
			goto fail;
		}
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_tls_ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		if (cfg->client_tls_sslmode >= TLS_MODE_VERIFY_CA)
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			                   NULL);
		else
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_record_only);
	} else if (cfg->client_tls_sslmode >= TLS_MODE_VERIFY_CA) {
		snprintf(err, errlen, "client_tls_sslmode %s needs client_tls_ca_file",
		         cfg->client_tls_sslmode == TLS_MODE_VERIFY_CA ? "verify-ca"
		                                                       : "verify-full");
		goto fail;
	}
	SSL_CTX_set_verify_depth(ctx, 10);
	static const unsigned char sid[] = "sluice";
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	/* PostgreSQL clients do not resume TLS sessions (libpq never does): no server-side
	 * session cache (up to 20k entries by default, memory that only grows) and no TLS 1.3
	 * tickets (two encryptions and records per handshake for nothing). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL_CTX *build_server_side(const struct sluice_config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ssl_errf(err, errlen, "server TLS context", NULL);
		return NULL;
	}
	if (ctx_common(ctx, "server", cfg->server_tls_protocols, cfg->server_tls_ciphers, err,
	               errlen) < 0)
		goto fail;
	int have_cert = cfg->server_tls_cert_file && *cfg->server_tls_cert_file;
	int have_key = cfg->server_tls_key_file && *cfg->server_tls_key_file;
	if (have_cert != have_key) {
		snprintf(err, errlen, "server_tls_cert_file and server_tls_key_file go together");
		goto fail;
	}
	if (have_cert &&
	    (SSL_CTX_use_certificate_chain_file(ctx, cfg->server_tls_cert_file) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, cfg->server_tls_key_file, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		ssl_errf(err, errlen, "server_tls_cert_file/server_tls_key_file",
		         cfg->server_tls_cert_file);
		goto fail;
	}
	if (cfg->server_tls_sslmode >= TLS_MODE_VERIFY_CA) {
		int ok = cfg->server_tls_ca_file && *cfg->server_tls_ca_file
		             ? SSL_CTX_load_verify_locations(ctx, cfg->server_tls_ca_file, NULL)
		             : SSL_CTX_set_default_verify_paths(ctx);
		if (ok != 1) {
			ssl_errf(err, errlen, "server_tls_ca_file", cfg->server_tls_ca_file);
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_verify_depth(ctx, 10);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_ctxs_build(const struct sluice_config *cfg, struct tls_ctxs *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (cfg->client_tls_sslmode != TLS_MODE_DISABLE) {
		out->client_side = build_client_side(cfg, err, errlen);
		if (!out->client_side)
			return -1;
	}
	/* "allow" means plain text first; sluice does not retry with TLS, so it never asks. */
	if (cfg->server_tls_sslmode >= TLS_MODE_PREFER) {
		out->server_side = build_server_side(cfg, err, errlen);
		if (!out->server_side) {
			tls_ctxs_free(out);
			return -1;
		}
	}
	return 0;
}

void tls_ctxs_free(struct tls_ctxs *t)
{
	SSL_CTX_free(t->client_side);
	SSL_CTX_free(t->server_side);
	t->client_side = t->server_side = NULL;
}

/* ---- handshakes ---- */

static void set_read(struct conn *c, int on)
{
	if (on && !ev_is_active(&c->rio))
		ev_io_start(c->w->loop, &c->rio);
	else if (!on && ev_is_active(&c->rio))
		ev_io_stop(c->w->loop, &c->rio);
}

static void set_write(struct conn *c, int on)
{
	if (on && !ev_is_active(&c->wio))
		ev_io_start(c->w->loop, &c->wio);
	else if (!on && ev_is_active(&c->wio) && !wb_pending(&c->out))
		ev_io_stop(c->w->loop, &c->wio);
}

/* Why a handshake failed, in words an operator can act on. */
static void handshake_error(struct tls_conn *t, int sslerr)
{
	long vr = SSL_get_verify_result(t->ssl);
	unsigned long e = ERR_peek_error();
	if (vr != X509_V_OK && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		snprintf(t->err, sizeof(t->err), "certificate verify failed: %s",
		         X509_verify_cert_error_string(vr));
	} else if (e) {
		char buf[160];
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(t->err, sizeof(t->err), "TLS handshake failed: %s", buf);
	} else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN) {
		snprintf(t->err, sizeof(t->err), "TLS handshake failed: connection closed by peer");
	} else {
		snprintf(t->err, sizeof(t->err), "TLS handshake failed (error %d)", sslerr);
	}
	ERR_clear_error();
}

static void finish(struct conn *c, int ok, const char *err)
{
	tls_done_fn done = c->tls->done;
	done(c, ok, err); /* may close c: nothing touches it afterwards */
}

static void handshake_step(struct conn *c)
{
	struct tls_conn *t = c->tls;
again:
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		if (t->direct) {
			const unsigned char *proto = NULL;
			unsigned int plen = 0;
			SSL_get0_alpn_selected(t->ssl, &proto, &plen);
			if (plen != sizeof(PG_ALPN) - 2) {
				snprintf(t->err, sizeof(t->err),
				         "direct TLS connection without ALPN \"postgresql\"");
				finish(c, -1, t->err);
				return;
			}
		}
		t->phase = TLS_ON;
		set_write(c, 0);
		set_read(c, 1);
		finish(c, 1, NULL);
		return;
	}
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ && t->replay && BIO_ctrl_pending(t->replay) == 0) {
		BIO *sock = BIO_new_socket(c->fd, BIO_NOCLOSE);
		if (sock) {
			t->replay = NULL;
			SSL_set0_rbio(t->ssl, sock); /* frees the memory BIO */
			goto again;
		}
	}
	if (e == SSL_ERROR_WANT_READ) {
		set_write(c, 0);
		set_read(c, 1);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		set_write(c, 1);
		return;
	}
	handshake_error(t, e);
	finish(c, -1, t->err);
}

static struct tls_conn *new_tls(struct conn *c, SSL_CTX *ctx, tls_done_fn done)
{
	struct tls_conn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ssl = SSL_new(ctx);
	if (!t->ssl) {
		ERR_clear_error();
		free(t);
		return NULL;
	}
	t->done = done;
	c->tls = t;
	return t;
}

int tls_accept_start(struct conn *c, SSL_CTX *ctx, const uint8_t *prefix, size_t len, int direct,
                     tls_done_fn done)
{
	if (wb_pending(&c->out)) /* the 'S' must leave before the handshake bytes */
		return -1;
	struct tls_conn *t = new_tls(c, ctx, done);
	if (!t)
		return -1;
	t->direct = (uint8_t)direct;
	int ok;
	if (prefix && len) {
		/* Direct TLS: the ClientHello's first bytes were read as a would-be startup
		 * packet. Replay them from a memory BIO; handshake_step() switches reading to
		 * the socket once that is empty (a client sends nothing else before our
		 * ServerHello). */
		BIO *mem = BIO_new(BIO_s_mem()), *sock = BIO_new_socket(c->fd, BIO_NOCLOSE);
		ok = mem && sock && BIO_write(mem, prefix, (int)len) == (int)len;
		if (ok) {
			BIO_set_mem_eof_return(mem, -1); /* empty means "retry", not EOF */
			SSL_set0_rbio(t->ssl, mem);
			SSL_set0_wbio(t->ssl, sock);
			t->replay = mem;
		} else {
			BIO_free(mem);
			BIO_free(sock);
		}
	} else {
		ok = SSL_set_fd(t->ssl, c->fd) == 1;
	}
	if (!ok) {
		ERR_clear_error();
		tls_conn_free(c);
		return -1;
	}
	SSL_set_accept_state(t->ssl);
	t->phase = TLS_HANDSHAKE;
	handshake_step(c);
	return 0;
}

int tls_connect_start(struct conn *c, SSL_CTX *ctx, const char *host, int verify_host,
                      tls_done_fn done)
{
	struct tls_conn *t = new_tls(c, ctx, done);
	if (!t)
		return -1;
	if (SSL_set_fd(t->ssl, c->fd) != 1) {
		tls_conn_free(c);
		return -1;
	}
	SSL_set_connect_state(t->ssl);
	int is_ip = host && *host && strspn(host, "0123456789.:abcdefABCDEF") == strlen(host) &&
	            (strchr(host, '.') || strchr(host, ':'));
	if (host && *host && host[0] != '/' && !is_ip)
		SSL_set_tlsext_host_name(t->ssl, host);
	if (verify_host && host && *host) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
		int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
		               : X509_VERIFY_PARAM_set1_host(vp, host, 0);
		if (ok != 1) {
			ERR_clear_error();
			tls_conn_free(c);
			return -1;
		}
	}
	t->phase = TLS_AWAIT_ANSWER;
	uint8_t req[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}; /* SSLRequest 80877103 */
	conn_queue(c, req, sizeof(req));
	if (!c->closed)
		set_read(c, 1);
	return 0;
}

int tls_intercept(struct conn *c, int revents)
{
	struct tls_conn *t = c->tls;
	if (t->phase == TLS_ON) {
		if ((revents & EV_WRITE) && t->write_wants_read) {
			/* Writable is not what that write waits for: stop spinning on it. */
			if (ev_is_active(&c->wio))
				ev_io_stop(c->w->loop, &c->wio);
			return 1;
		}
		if ((revents & EV_READ) && t->write_wants_read) {
			t->write_wants_read = 0;
			conn_flush(c);
			if (c->closed)
				return 1;
		}
		if ((revents & EV_WRITE) && t->read_wants_write) {
			t->read_wants_write = 0;
			conn_try_read(c);
			if (c->closed)
				return 1;
		}
		return 0;
	}
	if (t->phase == TLS_AWAIT_ANSWER) {
		if (!(revents & EV_READ))
			return 0; /* the SSLRequest itself is still in the out queue */
		uint8_t b;
		/* Exactly one byte: anything the server sent after it is not ours to read in
		 * plain text (CVE-2021-23222). */
		ssize_t n = recv(c->fd, &b, 1, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 1;
		if (n == 1 && b == 'S') {
			t->phase = TLS_HANDSHAKE;
			handshake_step(c);
			return 1;
		}
		if (n == 1 && b == 'N') {
			tls_done_fn done = t->done;
			tls_conn_free(c);
			done(c, 0, NULL);
			return 1;
		}
		snprintf(t->err, sizeof(t->err), "%s",
		         n == 0   ? "server closed the connection after the SSLRequest"
		         : n == 1 ? "server sent an invalid answer to the SSLRequest"
		                  : strerror(errno));
		finish(c, -1, t->err);
		return 1;
	}
	handshake_step(c);
	return 1;
}

/* ---- data ---- */

static ssize_t io_error(struct conn *c, int sslerr, int ret)
{
	struct tls_conn *t = c->tls;
	unsigned long e = ERR_peek_error();
	if (sslerr == SSL_ERROR_SYSCALL && !e) {
		if (ret == 0 || errno == 0)
			return 0; /* EOF */
		snprintf(t->err, sizeof(t->err), "%s", strerror(errno));
		return -1;
	}
	char buf[160] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(t->err, sizeof(t->err), "TLS error: %s", buf[0] ? buf : "unknown");
	ERR_clear_error();
	errno = EPROTO;
	return -1;
}

ssize_t tls_recv(struct conn *c, void *buf, size_t len)
{
	struct tls_conn *t = c->tls;
	if (t->phase != TLS_ON) {
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	int n = SSL_read(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	int e = SSL_get_error(t->ssl, n);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		t->read_wants_write = 1;
		set_write(c, 1);
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		return io_error(c, e, n) == 0 ? 0 : -1;
	}
}

ssize_t tls_send(struct conn *c, const void *buf, size_t len)
{
	struct tls_conn *t = c->tls;
	if (t->phase == TLS_AWAIT_ANSWER) /* the SSLRequest itself, in plain text */
		return send(c->fd, buf, len, MSG_NOSIGNAL);
	if (t->phase != TLS_ON) {
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	int n = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	int e = SSL_get_error(t->ssl, n);
	switch (e) {
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ:
		t->write_wants_read = 1;
		set_read(c, 1);
		errno = EAGAIN;
		return -1;
	default:
		if (io_error(c, e, n) == 0)
			snprintf(t->err, sizeof(t->err), "connection closed by peer");
		if (errno == 0)
			errno = EPIPE;
		return -1;
	}
}

int tls_pending(const struct conn *c)
{
	return c->tls && c->tls->phase == TLS_ON && SSL_pending(c->tls->ssl) > 0;
}

int tls_read_for_write(const struct conn *c)
{
	return c->tls && c->tls->write_wants_read;
}

const char *tls_error(const struct conn *c)
{
	return c->tls && c->tls->err[0] ? c->tls->err : "TLS error";
}

void tls_conn_free(struct conn *c)
{
	struct tls_conn *t = c->tls;
	if (!t)
		return;
	if (t->ssl) {
		if (t->phase == TLS_ON && c->fd >= 0) {
			ERR_clear_error();
			SSL_shutdown(t->ssl); /* one try at close_notify; never wait for it */
		}
		ERR_clear_error();
		SSL_free(t->ssl);
	}
	free(t);
	c->tls = NULL;
}

/* ---- facts about a connection ---- */

const char *tls_version(const struct conn *c)
{
	return c->tls && c->tls->phase == TLS_ON ? SSL_get_version(c->tls->ssl) : "no";
}

int tls_peer_verified(const struct conn *c)
{
	return c->tls && c->tls->phase == TLS_ON && SSL_get0_peer_certificate(c->tls->ssl) &&
	       SSL_get_verify_result(c->tls->ssl) == X509_V_OK;
}

int tls_peer_cn(const struct conn *c, char *buf, size_t len)
{
	if (!tls_peer_verified(c))
		return -1;
	X509_NAME *name = X509_get_subject_name(SSL_get0_peer_certificate(c->tls->ssl));
	int n = name ? X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)len) : -1;
	/* A CN with an embedded NUL would compare equal to its prefix: refuse it. */
	if (n <= 0 || (size_t)n >= len || strlen(buf) != (size_t)n)
		return -1;
	return 0;
}

static int end_point(X509 *cert, unsigned char *out, size_t outlen)
{
	int md_nid = NID_undef;
	if (!cert || !OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, NULL))
		return -1;
	/* RFC 5929 4.1: MD5 and SHA-1 are replaced by SHA-256. */
	if (md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef)
		md_nid = NID_sha256;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	unsigned int n = 0;
	if (!md || (size_t)EVP_MD_get_size(md) > outlen || X509_digest(cert, md, out, &n) != 1) {
		ERR_clear_error();
		return -1;
	}
	return (int)n;
}

int tls_server_end_point(const struct conn *c, unsigned char *out, size_t outlen)
{
	if (!c->tls || c->tls->phase != TLS_ON)
		return -1;
	return end_point(SSL_get0_peer_certificate(c->tls->ssl), out, outlen);
}

int tls_own_end_point(const struct conn *c, unsigned char *out, size_t outlen)
{
	if (!c->tls || c->tls->phase != TLS_ON)
		return -1;
	return end_point(SSL_get_certificate(c->tls->ssl), out, outlen);
}
