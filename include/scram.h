/* SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL speaks it, with optional tls-server-end-point
 * channel binding (SCRAM-SHA-256-PLUS):
 * the server side lets sluice verify connecting clients, the client side logs sluice in to
 * PostgreSQL servers. Pure functions over fixed-size state structs: no I/O, no malloc, no globals.
 * Every message from the network is parsed strictly (length <= SCRAM_MAX_MSG, no NUL bytes,
 * attributes in RFC order, strict base64, printable nonces); every write is bounded by outlen
 * and NUL-terminated; returned lengths exclude the NUL.
 * The state structs hold key material: OPENSSL_cleanse() them when done. */
#ifndef SLUICE_SCRAM_H
#define SLUICE_SCRAM_H

#include <stddef.h>

#define SCRAM_KEY_LEN        32       /* SHA-256 output */
#define SCRAM_SALT_MAX       64       /* longest salt accepted, in bytes */
#define SCRAM_MAX_MSG        1024     /* longest SCRAM message accepted or produced */
#define SCRAM_NONCE_MAX      512      /* longest combined (client + server) nonce */
#define SCRAM_OWN_NONCE_MAX  128      /* longest nonce part we generate or are given */
#define SCRAM_MAX_ITERATIONS 10000000 /* iteration counts above this are rejected */
#define SCRAM_DEFAULT_ITER   4096
#define SCRAM_SECRET_MAX_LEN 256 /* enough for scram_format_secret() with any valid secret */

/* A PostgreSQL SCRAM secret: SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey> */
struct scram_secret {
	int iterations;
	unsigned char salt[SCRAM_SALT_MAX];
	int salt_len;
	unsigned char stored_key[SCRAM_KEY_LEN];
	unsigned char server_key[SCRAM_KEY_LEN];
};

/* Parse a PostgreSQL-format SCRAM secret. 0 ok, -1 if text is not a valid SCRAM secret. */
int scram_parse_secret(const char *text, struct scram_secret *out);
/* 1 if text parses as a SCRAM secret, else 0. */
int scram_is_secret(const char *text);
/* Derive a secret from a password (SASLprep as in scram_client_final). salt NULL: 16 random
 * bytes; iterations 0: SCRAM_DEFAULT_ITER. 0 ok, -1 on bad arguments or crypto failure. */
int scram_secret_from_password(const char *password, const unsigned char *salt, int salt_len,
                               int iterations, struct scram_secret *out);
/* Format s in PostgreSQL's text form into out. Returns the length, -1 if outlen is too small. */
int scram_format_secret(const struct scram_secret *s, char *out, size_t outlen);
/* An unusable secret for a user that does not exist, so the exchange runs normally and fails only
 * at the proof. The salt is HMAC(key, user), stable across attempts for a process-lifetime random
 * key, so probing cannot tell unknown users from known ones. 0 ok, -1 on failure. */
int scram_mock_secret(const char *user, const unsigned char *key, size_t keylen,
                      struct scram_secret *out);

/* Server side: sluice verifies a connecting client. */
struct scram_server {
	int state;
	struct scram_secret secret;
	char gs2_header[4]; /* "n,," or "y,," */
	char server_nonce[SCRAM_OWN_NONCE_MAX + 1];
	char nonce[SCRAM_NONCE_MAX + 1]; /* client nonce + server nonce */
	char client_first_bare[SCRAM_MAX_MSG + 1];
	size_t client_first_bare_len;
	char server_first[SCRAM_MAX_MSG + 1];
	size_t server_first_len;
	unsigned char cbind[96]; /* PLUS offered: expected gs2 header + channel-binding data */
	size_t cbind_len;        /* 0: SCRAM-SHA-256-PLUS not offered */
	int plus;                /* the client chose channel binding ("p=") */
};

/* Start an exchange against secret (copied). server_nonce NULL: 18 random bytes in base64;
 * otherwise 1..SCRAM_OWN_NONCE_MAX printable characters other than ','. 0 ok, -1 on error. */
int scram_server_init(struct scram_server *st, const struct scram_secret *secret,
                      const char *server_nonce);
/* Offer SCRAM-SHA-256-PLUS: data is the tls-server-end-point hash of sluice's own certificate
 * (at most 64 bytes). Call after scram_server_init. Then a client may bind ("p=..."), and a client
 * that says "y" (it could bind but believes the server cannot) is refused as a downgrade.
 * 0, or -1 on bad arguments. */
int scram_server_channel_binding(struct scram_server *st, const unsigned char *data, size_t len);
/* Consume the client-first-message (SASLInitialResponse data) and write the server-first-message
 * into out. Returns its length, or -1 with *err set. Channel binding ("p=tls-server-end-point")
 * is accepted only after scram_server_channel_binding(), and "y" only without it; authorization
 * identities ("a=") are refused.
 * The username attribute is checked for syntax and ignored, as PostgreSQL does. */
int scram_server_first(struct scram_server *st, const char *msg, size_t len, char *out,
                       size_t outlen, const char **err);
/* Consume the client-final-message: check the channel-binding echo and nonce, verify the proof in
 * constant time. On success write the server-final-message ("v=...") into out, copy the recovered
 * ClientKey into client_key and return the message length. -1: wrong password (*err =
 * "password authentication failed"); -2: protocol error or small outlen (*err says which). */
int scram_server_final(struct scram_server *st, const char *msg, size_t len, char *out,
                       size_t outlen, unsigned char client_key[SCRAM_KEY_LEN], const char **err);

/* Client side: sluice logs in to a PostgreSQL server. */
struct scram_client {
	int state;
	char client_nonce[SCRAM_OWN_NONCE_MAX + 1];
	char client_first_bare[SCRAM_MAX_MSG + 1];
	size_t client_first_bare_len;
	unsigned char server_signature[SCRAM_KEY_LEN]; /* expected in the server-final-message */
	char server_error[64];                         /* sanitized "e=" value from the server */
	unsigned char cbind[96]; /* SCRAM-SHA-256-PLUS: gs2 header + channel-binding data */
	size_t cbind_len;        /* 0: no channel binding ("n,,") */
};

/* Start an exchange. user NULL or "": send "n=" as libpq does (PostgreSQL ignores it); otherwise
 * it is escaped as a saslname. client_nonce NULL: 18 random bytes in base64; otherwise
 * 1..SCRAM_OWN_NONCE_MAX printable characters other than ','. 0 ok, -1 on error. */
int scram_client_init(struct scram_client *st, const char *user, const char *client_nonce);
/* Use SCRAM-SHA-256-PLUS with tls-server-end-point channel binding (data: the hash from
 * tls_server_end_point(), at most 64 bytes). Call after scram_client_init, before
 * scram_client_first. 0, or -1 if data is too long. */
int scram_client_channel_binding(struct scram_client *st, const unsigned char *data, size_t len);
/* Write the client-first-message "n,,n=<user>,r=<nonce>" (with channel binding:
 * "p=tls-server-end-point,,n=...") into out. Returns its length or -1. */
int scram_client_first(struct scram_client *st, char *out, size_t outlen);
/* Consume the server-first-message and write the client-final-message into out.
 * With password non-NULL, the keys come from it. SASLprep: pure-ASCII passwords are used as-is,
 * as PostgreSQL does; non-ASCII passwords are used as raw bytes, which matches PostgreSQL unless
 * SASLprep would change them (NFKC normalization, non-ASCII spaces, soft hyphens and other
 * characters mapped to nothing): store a SCRAM secret for such users instead.
 * With password NULL, client_key (recovered by scram_server_final) and secret give the keys; this
 * works only when the server's salt and iteration count equal the secret's.
 * Returns the length, or -1 with *err set. */
int scram_client_final(struct scram_client *st, const char *server_first, size_t len,
                       const char *password, const unsigned char *client_key,
                       const struct scram_secret *secret, char *out, size_t outlen,
                       const char **err);
/* Check the server-final-message: "v=" must carry the expected ServerSignature (compared in
 * constant time); "e=" is a server error, reported through *err. 0 ok, -1 with *err set. */
int scram_client_verify_final(struct scram_client *st, const char *server_final, size_t len,
                              const char **err);

#endif
