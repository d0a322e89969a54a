/* SCRAM-SHA-256 for PostgreSQL, server and client sides (see scram.h).
 *
 * Key schedule (RFC 5802):
 *   SaltedPassword  = PBKDF2-HMAC-SHA-256(password, salt, i)
 *   ClientKey       = HMAC(SaltedPassword, "Client Key"),  StoredKey = SHA-256(ClientKey)
 *   ServerKey       = HMAC(SaltedPassword, "Server Key")
 *   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(ServerKey, AuthMessage)
 *
 * Parsing works on (pointer, end) cursors over length-delimited input that has been checked to be
 * at most SCRAM_MAX_MSG bytes and NUL-free; nothing is ever read past end. */
#include "scram.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SECRET_PREFIX      "SCRAM-SHA-256$"
#define RANDOM_NONCE_BYTES 18
#define DEFAULT_SALT_BYTES 16
#define MAX_ITER_DIGITS    8 /* strlen("10000000") */
#define AUTH_MSG_MAX       (3 * SCRAM_MAX_MSG + 2)
#define B64_LEN(n)         (4 * (((n) + 2) / 3))
#define SERVER_FINAL_LEN   (2 + B64_LEN(SCRAM_KEY_LEN)) /* "v=" + base64 signature */
#define RESERVED_ATTRS     "amnrcspive"                 /* letters that are never extensions */
#define SRV_CBIND_GS2      "p=tls-server-end-point,,"   /* the one binding type offered */

enum { ST_NONE = 0, ST_INIT, ST_FIRST_DONE, ST_FINAL_SENT, ST_DONE, ST_FAILED };

static const char E_STATE[] = "unexpected SCRAM message";
static const char E_MSG_LEN[] = "SCRAM message is empty, too long or contains NUL bytes";
static const char E_MALFORMED[] = "malformed SCRAM message";
static const char E_OUTBUF[] = "output buffer too small";
static const char E_CRYPTO[] = "cryptographic operation failed";
static const char E_NONCE[] = "invalid SCRAM nonce";
static const char E_EXT[] = "unsupported SCRAM mandatory extension";
static const char E_WRONG_PASSWORD[] = "password authentication failed";

/* ---- base64 (RFC 4648, padded, strict) ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Encode len bytes into out (NUL-terminated). Returns the length, or -1 if outlen is too small. */
static int b64_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t need = B64_LEN(len), o = 0;

	if (need >= outlen || need > INT_MAX)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		size_t rem = len - i;
		if (rem > 1)
			v |= (unsigned)in[i + 1] << 8;
		if (rem > 2)
			v |= in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = rem > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = rem > 2 ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* Strict decode: length a multiple of 4, alphabet only, '=' only as final padding, unused bits
 * zero. Returns the decoded length, or -1 if invalid or longer than outmax. */
static int b64_decode(const char *in, size_t len, unsigned char *out, size_t outmax)
{
	size_t o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad) /* data after padding */
				return -1;
			v[k] = b64_value(c);
			if (v[k] < 0)
				return -1;
		}
		if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
			return -1; /* non-canonical: leftover bits must be zero */
		unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
		                (unsigned)v[3];
		int n = 3 - pad;
		if (o + (size_t)n > outmax)
			return -1;
		out[o++] = (unsigned char)(bits >> 16);
		if (n > 1)
			out[o++] = (unsigned char)(bits >> 8);
		if (n > 2)
			out[o++] = (unsigned char)bits;
	}
	return (int)o;
}

/* ---- bounded output buffer ---- */

struct sbuf {
	char *p;
	size_t cap; /* bytes available, including room for the NUL */
	size_t len;
	int overflow;
};

static void sb_init(struct sbuf *sb, char *p, size_t cap)
{
	sb->p = p;
	sb->cap = cap;
	sb->len = 0;
	sb->overflow = (p == NULL || cap == 0);
}

static void sb_put(struct sbuf *sb, const void *data, size_t n)
{
	if (sb->overflow || n >= sb->cap - sb->len) {
		sb->overflow = 1;
		return;
	}
	memcpy(sb->p + sb->len, data, n);
	sb->len += n;
}

static void sb_str(struct sbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

static void sb_b64(struct sbuf *sb, const unsigned char *data, size_t n)
{
	int r;

	if (sb->overflow)
		return;
	r = b64_encode(data, n, sb->p + sb->len, sb->cap - sb->len);
	if (r < 0)
		sb->overflow = 1;
	else
		sb->len += (size_t)r;
}

/* NUL-terminate; returns the length or -1 on overflow. */
static int sb_finish(struct sbuf *sb)
{
	if (sb->overflow || sb->len > INT_MAX)
		return -1;
	sb->p[sb->len] = '\0';
	return (int)sb->len;
}

/* ---- crypto helpers ---- */

static int hmac256(const unsigned char *key, size_t keylen, const void *data, size_t len,
                   unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX)
		return -1;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) ||
	    outlen != SCRAM_KEY_LEN)
		return -1;
	return 0;
}

static int sha256(const unsigned char *data, size_t len, unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int outlen = 0;

	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 || outlen != SCRAM_KEY_LEN)
		return -1;
	return 0;
}

/* ClientKey, StoredKey and ServerKey from a password. Non-ASCII bytes are used raw (see scram.h).
 */
static int derive_keys(const char *password, const unsigned char *salt, int salt_len,
                       int iterations, unsigned char client_key[SCRAM_KEY_LEN],
                       unsigned char stored_key[SCRAM_KEY_LEN],
                       unsigned char server_key[SCRAM_KEY_LEN])
{
	unsigned char salted[SCRAM_KEY_LEN];
	size_t plen = strlen(password);
	int rc = -1;

	if (plen > INT_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)plen, salt, salt_len, iterations, EVP_sha256(),
	                      SCRAM_KEY_LEN, salted) == 1 &&
	    hmac256(salted, sizeof(salted), "Client Key", 10, client_key) == 0 &&
	    sha256(client_key, SCRAM_KEY_LEN, stored_key) == 0 &&
	    hmac256(salted, sizeof(salted), "Server Key", 10, server_key) == 0)
		rc = 0;
	OPENSSL_cleanse(salted, sizeof(salted));
	return rc;
}

/* AuthMessage into buf (size AUTH_MSG_MAX); returns its length or -1. */
static int build_auth_message(char *buf, const char *cfb, size_t cfb_len, const char *sf,
                              size_t sf_len, const char *cfwop, size_t cfwop_len)
{
	struct sbuf sb;

	sb_init(&sb, buf, AUTH_MSG_MAX + 1);
	sb_put(&sb, cfb, cfb_len);
	sb_put(&sb, ",", 1);
	sb_put(&sb, sf, sf_len);
	sb_put(&sb, ",", 1);
	sb_put(&sb, cfwop, cfwop_len);
	return sb_finish(&sb);
}

/* ---- message parsing ---- */

struct cursor {
	const char *p;
	const char *end;
};

/* A message must be non-empty, at most SCRAM_MAX_MSG bytes and NUL-free. */
static int msg_ok(const char *msg, size_t len)
{
	return msg && len > 0 && len <= SCRAM_MAX_MSG && memchr(msg, '\0', len) == NULL;
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Next "x=value" attribute. Returns 1 with *name, *val and *vlen set, 0 at the end of input,
 * -1 on a syntax error (no "x=" or a trailing comma). The value may be empty (PostgreSQL sends
 * "n="); callers check each value's own syntax. */
static int next_attr(struct cursor *c, char *name, const char **val, size_t *vlen)
{
	const char *comma;

	if (c->p >= c->end)
		return 0;
	if (c->end - c->p < 2 || !is_alpha(c->p[0]) || c->p[1] != '=')
		return -1;
	*name = c->p[0];
	*val = c->p + 2;
	comma = memchr(*val, ',', (size_t)(c->end - *val));
	if (comma) {
		*vlen = (size_t)(comma - *val);
		c->p = comma + 1;
		if (c->p == c->end)
			return -1; /* trailing comma */
	} else {
		*vlen = (size_t)(c->end - *val);
		c->p = c->end;
	}
	return 1;
}

/* The next attribute must be called name. */
static int expect_attr(struct cursor *c, char name, const char **val, size_t *vlen)
{
	char got;

	return next_attr(c, &got, val, vlen) == 1 && got == name ? 0 : -1;
}

/* Remaining attributes must be well-formed extensions: letters not used by SCRAM itself, with a
 * non-empty value. Their content is ignored. */
static int skip_extensions(struct cursor *c)
{
	char name;
	const char *val;
	size_t vlen;
	int r;

	while ((r = next_attr(c, &name, &val, &vlen)) == 1)
		if (strchr(RESERVED_ATTRS, name) || vlen == 0)
			return -1;
	return r;
}

/* Nonce characters: printable ASCII other than ','. */
static int nonce_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return 0;
	return 1;
}

/* saslname: '=' only as "=2C" or "=3D"; no control characters. */
static int saslname_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return 0;
		if (ch == '=') {
			if (n - i < 3 || !((s[i + 1] == '2' && s[i + 2] == 'C') ||
			                   (s[i + 1] == '3' && s[i + 2] == 'D')))
				return 0;
			i += 2;
		}
	}
	return 1;
}

/* Canonical decimal iteration count in [1, SCRAM_MAX_ITERATIONS]: no sign, spaces or leading
 * zeros. */
static int parse_iterations(const char *s, size_t n, int *out)
{
	long v = 0;

	if (n == 0 || n > MAX_ITER_DIGITS || s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > SCRAM_MAX_ITERATIONS)
		return -1;
	*out = (int)v;
	return 0;
}

static int secret_ok(const struct scram_secret *s)
{
	return s && s->iterations >= 1 && s->iterations <= SCRAM_MAX_ITERATIONS &&
	       s->salt_len >= 1 && s->salt_len <= SCRAM_SALT_MAX;
}

/* Random nonce (base64 of RANDOM_NONCE_BYTES) or a validated copy of the given one. */
static int make_nonce(const char *given, char out[SCRAM_OWN_NONCE_MAX + 1])
{
	unsigned char raw[RANDOM_NONCE_BYTES];

	if (given) {
		size_t n = strnlen(given, SCRAM_OWN_NONCE_MAX + 1);
		if (n > SCRAM_OWN_NONCE_MAX || !nonce_ok(given, n))
			return -1;
		memcpy(out, given, n);
		out[n] = '\0';
		return 0;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	return b64_encode(raw, sizeof(raw), out, SCRAM_OWN_NONCE_MAX + 1) < 0 ? -1 : 0;
}

/* Copy a finished message into the caller's buffer. */
static int emit(const char *msg, size_t len, char *out, size_t outlen)
{
	if (!out || len >= outlen || len > INT_MAX)
		return -1;
	memcpy(out, msg, len);
	out[len] = '\0';
	return (int)len;
}

/* ---- secrets ---- */

int scram_parse_secret(const char *text, struct scram_secret *out)
{
	struct scram_secret s;
	const char *p, *colon, *dollar, *end;
	size_t n;
	int r;

	if (!text || !out)
		return -1;
	n = strnlen(text, SCRAM_SECRET_MAX_LEN + 1);
	if (n > SCRAM_SECRET_MAX_LEN || strncmp(text, SECRET_PREFIX, strlen(SECRET_PREFIX)) != 0)
		return -1;
	memset(&s, 0, sizeof(s));
	end = text + n;
	p = text + strlen(SECRET_PREFIX);
	/* <iterations>:<salt>$<StoredKey>:<ServerKey> */
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon || parse_iterations(p, (size_t)(colon - p), &s.iterations) != 0)
		return -1;
	p = colon + 1;
	dollar = memchr(p, '$', (size_t)(end - p));
	if (!dollar)
		return -1;
	r = b64_decode(p, (size_t)(dollar - p), s.salt, sizeof(s.salt));
	if (r < 1)
		return -1;
	s.salt_len = r;
	p = dollar + 1;
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon ||
	    b64_decode(p, (size_t)(colon - p), s.stored_key, sizeof(s.stored_key)) != SCRAM_KEY_LEN)
		return -1;
	p = colon + 1;
	if (b64_decode(p, (size_t)(end - p), s.server_key, sizeof(s.server_key)) != SCRAM_KEY_LEN)
		return -1;
	*out = s;
	OPENSSL_cleanse(&s, sizeof(s));
	return 0;
}

int scram_is_secret(const char *text)
{
	struct scram_secret s;
	int ok = scram_parse_secret(text, &s) == 0;

	OPENSSL_cleanse(&s, sizeof(s));
	return ok;
}

int scram_secret_from_password(const char *password, const unsigned char *salt, int salt_len,
                               int iterations, struct scram_secret *out)
{
	struct scram_secret s;
	unsigned char client_key[SCRAM_KEY_LEN];
	int rc;

	if (!password || !out)
		return -1;
	if (iterations == 0)
		iterations = SCRAM_DEFAULT_ITER;
	if (iterations < 1 || iterations > SCRAM_MAX_ITERATIONS)
		return -1;
	memset(&s, 0, sizeof(s));
	s.iterations = iterations;
	if (salt) {
		if (salt_len < 1 || salt_len > SCRAM_SALT_MAX)
			return -1;
		memcpy(s.salt, salt, (size_t)salt_len);
		s.salt_len = salt_len;
	} else {
		if (RAND_bytes(s.salt, DEFAULT_SALT_BYTES) != 1)
			return -1;
		s.salt_len = DEFAULT_SALT_BYTES;
	}
	rc = derive_keys(password, s.salt, s.salt_len, s.iterations, client_key, s.stored_key,
	                 s.server_key);
	if (rc == 0)
		*out = s;
	OPENSSL_cleanse(client_key, sizeof(client_key));
	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

int scram_format_secret(const struct scram_secret *s, char *out, size_t outlen)
{
	struct sbuf sb;
	char iter[16];

	if (!secret_ok(s))
		return -1;
	snprintf(iter, sizeof(iter), "%d", s->iterations);
	sb_init(&sb, out, outlen);
	sb_str(&sb, SECRET_PREFIX);
	sb_str(&sb, iter);
	sb_put(&sb, ":", 1);
	sb_b64(&sb, s->salt, (size_t)s->salt_len);
	sb_put(&sb, "$", 1);
	sb_b64(&sb, s->stored_key, SCRAM_KEY_LEN);
	sb_put(&sb, ":", 1);
	sb_b64(&sb, s->server_key, SCRAM_KEY_LEN);
	return sb_finish(&sb);
}

int scram_mock_secret(const char *user, const unsigned char *key, size_t keylen,
                      struct scram_secret *out)
{
	unsigned char mac[SCRAM_KEY_LEN];

	if (!user || !key || keylen == 0 || !out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (hmac256(key, keylen, user, strlen(user), mac) != 0)
		return -1;
	out->iterations = SCRAM_DEFAULT_ITER;
	memcpy(out->salt, mac, DEFAULT_SALT_BYTES);
	out->salt_len = DEFAULT_SALT_BYTES;
	OPENSSL_cleanse(mac, sizeof(mac));
	/* Random keys: no password can produce a ClientKey hashing to this StoredKey. */
	if (RAND_bytes(out->stored_key, SCRAM_KEY_LEN) != 1 ||
	    RAND_bytes(out->server_key, SCRAM_KEY_LEN) != 1) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

/* ---- server side ---- */

int scram_server_init(struct scram_server *st, const struct scram_secret *secret,
                      const char *server_nonce)
{
	if (!st)
		return -1;
	memset(st, 0, sizeof(*st));
	if (!secret_ok(secret) || make_nonce(server_nonce, st->server_nonce) != 0) {
		st->state = ST_FAILED;
		return -1;
	}
	st->secret = *secret;
	st->state = ST_INIT;
	return 0;
}

int scram_server_first(struct scram_server *st, const char *msg, size_t len, char *out,
                       size_t outlen, const char **err)
{
	const char *dummy, *val, *cnonce;
	size_t vlen, cnonce_len, snonce_len;
	struct cursor c;
	struct sbuf sb;
	char iter[16], name;
	int r;

	if (!err)
		err = &dummy;
	if (!st || st->state != ST_INIT) {
		*err = E_STATE;
		goto fail;
	}
	if (!msg_ok(msg, len)) {
		*err = E_MSG_LEN;
		goto fail;
	}
	/* gs2-header: ("n" / "y" / "p=tls-server-end-point") "," [ "a=" authzid ] "," */
	*err = E_MALFORMED;
	size_t hdr = 3;
	if (msg[0] == 'p') {
		hdr = sizeof(SRV_CBIND_GS2) - 1;
		if (!st->cbind_len || len < hdr || memcmp(msg, SRV_CBIND_GS2, hdr) != 0) {
			*err = st->cbind_len ? "unsupported SCRAM channel binding type"
			                     : "channel binding is not supported";
			goto fail;
		}
		st->plus = 1;
	} else {
		if (len < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
			goto fail;
		if (msg[2] == 'a') {
			*err = "authorization identity is not supported";
			goto fail;
		}
		if (msg[2] != ',')
			goto fail;
		if (msg[0] == 'y' && st->cbind_len) {
			*err = "SCRAM channel binding negotiation error";
			goto fail;
		}
		memcpy(st->gs2_header, msg, 3);
		st->gs2_header[3] = '\0';
	}

	/* client-first-message-bare: [m=...,] n=<user>,r=<nonce>[,extensions] */
	c.p = msg + hdr;
	c.end = msg + len;
	r = next_attr(&c, &name, &val, &vlen);
	if (r == 1 && name == 'm') {
		*err = E_EXT;
		goto fail;
	}
	if (r != 1 || name != 'n' || !saslname_ok(val, vlen))
		goto fail;
	if (expect_attr(&c, 'r', &cnonce, &cnonce_len) != 0)
		goto fail;
	if (!nonce_ok(cnonce, cnonce_len)) {
		*err = E_NONCE;
		goto fail;
	}
	if (skip_extensions(&c) != 0)
		goto fail;

	snonce_len = strlen(st->server_nonce);
	if (cnonce_len + snonce_len > SCRAM_NONCE_MAX) {
		*err = E_NONCE;
		goto fail;
	}
	memcpy(st->nonce, cnonce, cnonce_len);
	memcpy(st->nonce + cnonce_len, st->server_nonce, snonce_len + 1);
	memcpy(st->client_first_bare, msg + hdr, len - hdr);
	st->client_first_bare[len - hdr] = '\0';
	st->client_first_bare_len = len - hdr;

	/* server-first-message: r=<nonce>,s=<salt>,i=<iterations> */
	snprintf(iter, sizeof(iter), "%d", st->secret.iterations);
	sb_init(&sb, st->server_first, sizeof(st->server_first));
	sb_str(&sb, "r=");
	sb_str(&sb, st->nonce);
	sb_str(&sb, ",s=");
	sb_b64(&sb, st->secret.salt, (size_t)st->secret.salt_len);
	sb_str(&sb, ",i=");
	sb_str(&sb, iter);
	r = sb_finish(&sb);
	if (r < 0) {
		*err = E_NONCE;
		goto fail;
	}
	st->server_first_len = (size_t)r;
	if (emit(st->server_first, st->server_first_len, out, outlen) < 0) {
		*err = E_OUTBUF;
		goto fail;
	}
	st->state = ST_FIRST_DONE;
	*err = NULL;
	return r;
fail:
	if (st)
		st->state = ST_FAILED;
	return -1;
}

int scram_server_final(struct scram_server *st, const char *msg, size_t len, char *out,
                       size_t outlen, unsigned char client_key[SCRAM_KEY_LEN], const char **err)
{
	const char *dummy, *val, *proof_attr = NULL;
	unsigned char cbind[128], proof[SCRAM_KEY_LEN + 3], sig[SCRAM_KEY_LEN], ck[SCRAM_KEY_LEN],
	    hashed[SCRAM_KEY_LEN];
	char auth[AUTH_MSG_MAX + 1];
	size_t vlen;
	struct cursor c;
	struct sbuf sb;
	char name;
	int r, amlen, rc = -2;

	if (!err)
		err = &dummy;
	if (!st || st->state != ST_FIRST_DONE) {
		*err = E_STATE;
		goto out;
	}
	if (!msg_ok(msg, len)) {
		*err = E_MSG_LEN;
		goto out;
	}
	if (!out || outlen <= SERVER_FINAL_LEN || !client_key) {
		*err = E_OUTBUF;
		goto out;
	}

	/* client-final-message: c=<b64 gs2 header>,r=<nonce>[,extensions],p=<b64 proof> */
	*err = E_MALFORMED;
	c.p = msg;
	c.end = msg + len;
	if (expect_attr(&c, 'c', &val, &vlen) != 0)
		goto out;
	r = b64_decode(val, vlen, cbind, sizeof(cbind));
	if (st->plus ? (r < 0 || (size_t)r != st->cbind_len ||
	                CRYPTO_memcmp(cbind, st->cbind, st->cbind_len) != 0)
	             : (r != 3 || memcmp(cbind, st->gs2_header, 3) != 0)) {
		*err = "SCRAM channel binding check failed";
		goto out;
	}
	if (expect_attr(&c, 'r', &val, &vlen) != 0)
		goto out;
	if (vlen != strlen(st->nonce) || memcmp(val, st->nonce, vlen) != 0) {
		*err = E_NONCE;
		goto out;
	}
	for (;;) {
		const char *start = c.p;
		r = next_attr(&c, &name, &val, &vlen);
		if (r != 1)
			goto out; /* missing proof or syntax error */
		if (name == 'p') {
			proof_attr = start;
			break;
		}
		if (strchr(RESERVED_ATTRS, name) || vlen == 0)
			goto out;
	}
	if (c.p != c.end) /* the proof must be the last attribute */
		goto out;
	if (b64_decode(val, vlen, proof, sizeof(proof)) != SCRAM_KEY_LEN) {
		*err = "invalid SCRAM client proof";
		goto out;
	}

	/* client-final-message-without-proof ends before the "," preceding "p=". */
	amlen = build_auth_message(auth, st->client_first_bare, st->client_first_bare_len,
	                           st->server_first, st->server_first_len, msg,
	                           (size_t)(proof_attr - 1 - msg));
	if (amlen < 0 ||
	    hmac256(st->secret.stored_key, SCRAM_KEY_LEN, auth, (size_t)amlen, sig) != 0) {
		*err = E_CRYPTO;
		goto out;
	}
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		ck[i] = proof[i] ^ sig[i];
	if (sha256(ck, SCRAM_KEY_LEN, hashed) != 0) {
		*err = E_CRYPTO;
		goto out;
	}
	if (CRYPTO_memcmp(hashed, st->secret.stored_key, SCRAM_KEY_LEN) != 0) {
		*err = E_WRONG_PASSWORD;
		rc = -1;
		goto out;
	}
	if (hmac256(st->secret.server_key, SCRAM_KEY_LEN, auth, (size_t)amlen, sig) != 0) {
		*err = E_CRYPTO;
		goto out;
	}
	sb_init(&sb, out, outlen);
	sb_str(&sb, "v=");
	sb_b64(&sb, sig, SCRAM_KEY_LEN);
	r = sb_finish(&sb);
	if (r < 0) {
		*err = E_OUTBUF;
		goto out;
	}
	memcpy(client_key, ck, SCRAM_KEY_LEN);
	*err = NULL;
	rc = r;
out:
	if (st)
		st->state = rc >= 0 ? ST_DONE : ST_FAILED;
	OPENSSL_cleanse(sig, sizeof(sig));
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(proof, sizeof(proof));
	OPENSSL_cleanse(auth, sizeof(auth));
	return rc;
}

/* ---- client side ---- */

int scram_client_init(struct scram_client *st, const char *user, const char *client_nonce)
{
	struct sbuf sb;
	int r;

	if (!st)
		return -1;
	memset(st, 0, sizeof(*st));
	st->state = ST_FAILED;
	if (make_nonce(client_nonce, st->client_nonce) != 0)
		return -1;
	/* client-first-message-bare, sized so that "n,," + it fits SCRAM_MAX_MSG */
	sb_init(&sb, st->client_first_bare, SCRAM_MAX_MSG - 3 + 1);
	sb_str(&sb, "n=");
	for (const char *p = user ? user : ""; *p && !sb.overflow; p++) {
		if (*p == ',')
			sb_str(&sb, "=2C");
		else if (*p == '=')
			sb_str(&sb, "=3D");
		else
			sb_put(&sb, p, 1);
	}
	sb_str(&sb, ",r=");
	sb_str(&sb, st->client_nonce);
	r = sb_finish(&sb);
	if (r < 0)
		return -1;
	st->client_first_bare_len = (size_t)r;
	st->state = ST_INIT;
	return 0;
}

#define CBIND_GS2 "p=tls-server-end-point,,"

int scram_server_channel_binding(struct scram_server *st, const unsigned char *data, size_t len)
{
	size_t h = sizeof(SRV_CBIND_GS2) - 1;
	if (!st || st->state != ST_INIT || !len || len > sizeof(st->cbind) - h)
		return -1;
	memcpy(st->cbind, SRV_CBIND_GS2, h);
	memcpy(st->cbind + h, data, len);
	st->cbind_len = h + len;
	return 0;
}

int scram_client_channel_binding(struct scram_client *st, const unsigned char *data, size_t len)
{
	size_t h = sizeof(CBIND_GS2) - 1;
	if (!st || st->state != ST_INIT || !len || len > sizeof(st->cbind) - h)
		return -1;
	memcpy(st->cbind, CBIND_GS2, h);
	memcpy(st->cbind + h, data, len);
	st->cbind_len = h + len;
	return 0;
}

int scram_client_first(struct scram_client *st, char *out, size_t outlen)
{
	struct sbuf sb;
	int r;

	if (!st || st->state != ST_INIT)
		return -1;
	sb_init(&sb, out, outlen);
	sb_str(&sb, st->cbind_len ? CBIND_GS2 : "n,,");
	sb_put(&sb, st->client_first_bare, st->client_first_bare_len);
	r = sb_finish(&sb);
	if (r >= 0)
		st->state = ST_FIRST_DONE;
	return r;
}

int scram_client_final(struct scram_client *st, const char *server_first, size_t len,
                       const char *password, const unsigned char *client_key,
                       const struct scram_secret *secret, char *out, size_t outlen,
                       const char **err)
{
	const char *dummy, *nonce, *val;
	unsigned char salt[SCRAM_SALT_MAX], ck[SCRAM_KEY_LEN], stored[SCRAM_KEY_LEN],
	    server_key[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN], proof[SCRAM_KEY_LEN];
	char cfwop[SCRAM_MAX_MSG + 1], auth[AUTH_MSG_MAX + 1];
	size_t nonce_len, vlen, cn_len;
	struct cursor c;
	struct sbuf sb;
	char name;
	int r, salt_len, iterations, cfwop_len, amlen, rc = -1;

	if (!err)
		err = &dummy;
	if (!st || st->state != ST_FIRST_DONE) {
		*err = E_STATE;
		goto out;
	}
	if (!msg_ok(server_first, len)) {
		*err = E_MSG_LEN;
		goto out;
	}

	/* server-first-message: [m=...,] r=<nonce>,s=<salt>,i=<iterations>[,extensions] */
	*err = E_MALFORMED;
	c.p = server_first;
	c.end = server_first + len;
	r = next_attr(&c, &name, &nonce, &nonce_len);
	if (r == 1 && name == 'm') {
		*err = E_EXT;
		goto out;
	}
	if (r != 1 || name != 'r')
		goto out;
	cn_len = strlen(st->client_nonce);
	if (nonce_len <= cn_len || nonce_len > SCRAM_NONCE_MAX || !nonce_ok(nonce, nonce_len) ||
	    memcmp(nonce, st->client_nonce, cn_len) != 0) {
		*err = E_NONCE;
		goto out;
	}
	if (expect_attr(&c, 's', &val, &vlen) != 0)
		goto out;
	salt_len = b64_decode(val, vlen, salt, sizeof(salt));
	if (salt_len < 1) {
		*err = "invalid SCRAM salt";
		goto out;
	}
	if (expect_attr(&c, 'i', &val, &vlen) != 0)
		goto out;
	if (parse_iterations(val, vlen, &iterations) != 0) {
		*err = "invalid SCRAM iteration count";
		goto out;
	}
	if (skip_extensions(&c) != 0)
		goto out;

	if (password) {
		if (derive_keys(password, salt, salt_len, iterations, ck, stored, server_key) !=
		    0) {
			*err = E_CRYPTO;
			goto out;
		}
	} else if (client_key && secret) {
		if (secret->iterations != iterations || secret->salt_len != salt_len ||
		    memcmp(secret->salt, salt, (size_t)salt_len) != 0) {
			*err = "server's SCRAM salt or iteration count differs from the stored "
			       "secret; a plaintext password is needed";
			goto out;
		}
		if (sha256(client_key, SCRAM_KEY_LEN, stored) != 0 ||
		    CRYPTO_memcmp(stored, secret->stored_key, SCRAM_KEY_LEN) != 0) {
			*err = "client key does not match the stored SCRAM secret";
			goto out;
		}
		memcpy(ck, client_key, SCRAM_KEY_LEN);
		memcpy(server_key, secret->server_key, SCRAM_KEY_LEN);
	} else {
		*err = "no password or client key for SCRAM authentication";
		goto out;
	}

	/* client-final-message-without-proof: c=biws (base64 of "n,,"), r=<nonce>; with channel
	 * binding c= carries the gs2 header followed by the binding data */
	sb_init(&sb, cfwop, sizeof(cfwop));
	sb_str(&sb, "c=");
	if (st->cbind_len)
		sb_b64(&sb, st->cbind, st->cbind_len);
	else
		sb_b64(&sb, (const unsigned char *)"n,,", 3);
	sb_str(&sb, ",r=");
	sb_put(&sb, nonce, nonce_len);
	cfwop_len = sb_finish(&sb);
	amlen = cfwop_len < 0
	            ? -1
	            : build_auth_message(auth, st->client_first_bare, st->client_first_bare_len,
	                                 server_first, len, cfwop, (size_t)cfwop_len);
	if (amlen < 0 || hmac256(stored, SCRAM_KEY_LEN, auth, (size_t)amlen, sig) != 0) {
		*err = E_CRYPTO;
		goto out;
	}
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		proof[i] = ck[i] ^ sig[i];
	if (hmac256(server_key, SCRAM_KEY_LEN, auth, (size_t)amlen, st->server_signature) != 0) {
		*err = E_CRYPTO;
		goto out;
	}
	sb_init(&sb, out, outlen);
	sb_put(&sb, cfwop, (size_t)cfwop_len);
	sb_str(&sb, ",p=");
	sb_b64(&sb, proof, SCRAM_KEY_LEN);
	r = sb_finish(&sb);
	if (r < 0) {
		*err = E_OUTBUF;
		goto out;
	}
	*err = NULL;
	rc = r;
out:
	if (st)
		st->state = rc >= 0 ? ST_FINAL_SENT : ST_FAILED;
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(server_key, sizeof(server_key));
	OPENSSL_cleanse(sig, sizeof(sig));
	OPENSSL_cleanse(proof, sizeof(proof));
	OPENSSL_cleanse(auth, sizeof(auth));
	return rc;
}

int scram_client_verify_final(struct scram_client *st, const char *server_final, size_t len,
                              const char **err)
{
	const char *dummy, *val;
	unsigned char sig[SCRAM_KEY_LEN + 3];
	size_t vlen;
	struct cursor c;
	char name;
	int rc = -1;

	if (!err)
		err = &dummy;
	if (!st || st->state != ST_FINAL_SENT) {
		*err = E_STATE;
		goto out;
	}
	if (!msg_ok(server_final, len)) {
		*err = E_MSG_LEN;
		goto out;
	}
	/* server-final-message: ("e=" error / "v=" verifier) [,extensions] */
	*err = E_MALFORMED;
	c.p = server_final;
	c.end = server_final + len;
	if (next_attr(&c, &name, &val, &vlen) != 1)
		goto out;
	if (name == 'e') {
		size_t n = 0;
		static const char pfx[] = "SCRAM server error: ";
		memcpy(st->server_error, pfx, sizeof(pfx) - 1);
		n = sizeof(pfx) - 1;
		for (size_t i = 0; i < vlen && n + 1 < sizeof(st->server_error); i++)
			st->server_error[n++] = (val[i] >= 0x20 && val[i] < 0x7f) ? val[i] : '?';
		st->server_error[n] = '\0';
		*err = st->server_error;
		goto out;
	}
	if (name != 'v' || skip_extensions(&c) != 0)
		goto out;
	if (b64_decode(val, vlen, sig, sizeof(sig)) != SCRAM_KEY_LEN) {
		*err = "invalid SCRAM server signature";
		goto out;
	}
	if (CRYPTO_memcmp(sig, st->server_signature, SCRAM_KEY_LEN) != 0) {
		*err = "SCRAM server signature mismatch";
		goto out;
	}
	*err = NULL;
	rc = 0;
out:
	if (st)
		st->state = rc == 0 ? ST_DONE : ST_FAILED;
	return rc;
}
