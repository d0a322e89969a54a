/* TLS on both sides of the pooler, with OpenSSL driven non-blocking from the worker's libev loop.
 *
 * A connection without TLS has conn->tls == NULL and never enters this module: the relay's plain
 * path stays a bare recv()/send(). With TLS, conn.c calls tls_recv()/tls_send() instead, which
 * behave like the socket calls (-1 with errno EAGAIN when OpenSSL would block) and take care of
 * OpenSSL's cross-direction wants (a read that needs the socket writable, a write that needs it
 * readable) and of decrypted bytes left inside OpenSSL (tls_pending()), so a relay never stalls.
 *
 * Contexts (SSL_CTX) are built from a config snapshot and belong to the worker; a reload builds
 * new ones and drops the old references. Each live SSL keeps its own reference to the context it
 * was made with, so existing connections are untouched and new ones use the new files. */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conn;
struct sluice_config;

enum tls_phase {
	TLS_AWAIT_ANSWER = 1, /* server side: SSLRequest sent, waiting for 'S' or 'N' */
	TLS_HANDSHAKE,        /* SSL_do_handshake() in progress */
	TLS_ON                /* application data flows through SSL_read/SSL_write */
};

/* Handshake outcome for the connection's owner: ok 1 = TLS on; 0 = the server answered 'N'
 * (plain text continues, conn->tls is NULL again); -1 = failed, err says why (the owner closes). */
typedef void (*tls_done_fn)(struct conn *c, int ok, const char *err);

/* Per-connection TLS state (allocated only for connections that use TLS). */
struct tls_conn {
	SSL *ssl;
	uint8_t phase;
	uint8_t read_wants_write; /* SSL_read asked for writability */
	uint8_t write_wants_read; /* SSL_write asked for readability */
	uint8_t direct;           /* PostgreSQL 17 direct TLS: ALPN "postgresql" is mandatory */
	BIO *replay; /* direct TLS: memory BIO replaying bytes read before the handshake */
	tls_done_fn done;
	char err[200];
};

/* The contexts of one config snapshot. NULL members: that side has TLS off. */
struct tls_ctxs {
	SSL_CTX *client_side; /* sluice as TLS server, towards clients */
	SSL_CTX *server_side; /* sluice as TLS client, towards PostgreSQL servers */
};

/* Build both contexts from cfg (reads key/cert/CA files). 0, or -1 with a reason in err (nothing
 * to free then). */
int tls_ctxs_build(const struct sluice_config *cfg, struct tls_ctxs *out, char *err, size_t errlen);
/* Drop the references held by t (live connections keep theirs). */
void tls_ctxs_free(struct tls_ctxs *t);
/* Parse a *_tls_protocols value into an OpenSSL version range. 0, or -1 on an unknown word. */
int tls_parse_protocols(const char *s, int *min_version, int *max_version);

/* Client side: start the server half of a handshake on c. prefix/len are bytes already read
 * from the socket that belong to the handshake (direct TLS's ClientHello), or NULL/0 after an
 * SSLRequest. direct: require ALPN "postgresql". done is called once, from the loop. 0 started,
 * -1 could not start (err in c->tls or the log; c->tls is NULL). */
int tls_accept_start(struct conn *c, SSL_CTX *ctx, const uint8_t *prefix, size_t len, int direct,
                     tls_done_fn done);
/* Server side: send an SSLRequest on the connected socket c and run the handshake if the server
 * answers 'S'. host is used for SNI and, with verify_host, checked against the certificate. */
int tls_connect_start(struct conn *c, SSL_CTX *ctx, const char *host, int verify_host,
                      tls_done_fn done);
/* Called first by conn.c's read (EV_READ) and write (EV_WRITE) callbacks of a TLS connection.
 * Returns 1 when the event was consumed (negotiation, handshake), 0 to go on with the relay. */
int tls_intercept(struct conn *c, int revents);
/* recv()/send() look-alikes over SSL: >0 bytes, 0 end of stream (recv only), -1 with errno
 * (EAGAIN: try again when the loop says so; otherwise tls_error() has the reason). */
ssize_t tls_recv(struct conn *c, void *buf, size_t len);
ssize_t tls_send(struct conn *c, const void *buf, size_t len);
/* Decrypted bytes OpenSSL holds that the socket will not announce again. */
int tls_pending(const struct conn *c);
/* Does c need to read for its own write to progress (keeps reading on despite backpressure). */
int tls_read_for_write(const struct conn *c);
/* Last TLS error of c, for logs and close reasons. */
const char *tls_error(const struct conn *c);
/* Free c's TLS state (one close_notify attempt first). Safe when c->tls is NULL. */
void tls_conn_free(struct conn *c);

/* Negotiated protocol version ("TLSv1.3"), or "no" for a plain connection. */
const char *tls_version(const struct conn *c);
/* 1 if the peer presented a certificate that verified against the configured CA. */
int tls_peer_verified(const struct conn *c);
/* Common name of the verified peer certificate into buf; 0, or -1 if none or too long. */
int tls_peer_cn(const struct conn *c, char *buf, size_t len);
/* tls-server-end-point channel-binding data (RFC 5929) of the server's certificate: the hash
 * of its DER encoding with the certificate's signature hash (SHA-256 for MD5/SHA-1). Returns the
 * length, or -1 when unavailable. */
int tls_server_end_point(const struct conn *c, unsigned char *out, size_t outlen);
/* The same for sluice's own certificate on a client connection (SCRAM-SHA-256-PLUS offered to
 * TLS clients). */
int tls_own_end_point(const struct conn *c, unsigned char *out, size_t outlen);

#endif
