/* PostgreSQL md5 password authentication: stored secrets are "md5" + hex(md5(password || user)),
 * and the wire response to a 4-byte salt is "md5" + hex(md5(hex_of_secret || salt)).
 * Pure functions: no I/O, no global state, safe to call from any thread. */
#ifndef SLUICE_MD5AUTH_H
#define SLUICE_MD5AUTH_H

#define MD5_SECRET_LEN 35 /* "md5" + 32 hex digits, without the NUL */

/* Stored md5 secret "md5" + hex(md5(password || user)) into out (35 chars + NUL).
 * out is set to "" if the digest is unavailable (e.g. MD5 disabled by a FIPS provider). */
void md5_make_secret(const char *password, const char *user, char out[36]);
/* Response to an AuthenticationMD5Password challenge: "md5" + hex(md5(hex_part || salt)).
 * secret may be a plaintext password or an md5 secret. Returns 0, or -1 (out = "") on failure. */
int md5_client_response(const char *secret, const char *user, const unsigned char salt[4],
                        char out[36]);
/* 1 if response is the correct answer to salt for the stored secret (plaintext or md5), else 0.
 * Compared in constant time; an empty or NULL stored secret never matches. */
int md5_verify(const char *secret, const char *user, const unsigned char salt[4],
               const char *response);
/* 1 if s looks like an md5 secret: "md5" followed by exactly 32 lowercase hex digits. */
int md5_is_secret(const char *s);

#endif
