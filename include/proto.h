/* PostgreSQL v3 wire protocol: reading the few messages sluice inspects and
 * building the ones it generates. Readers never allocate and never read past
 * the end they are given; writers append to a growable wbuf. */
#ifndef SLUICE_PROTO_H
#define SLUICE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PKT_HDR_LEN     5 /* type byte + int32 length */
#define PROTO_V3        196608u
#define PROTO_CANCEL    80877102u
#define PROTO_SSL       80877103u
#define PROTO_GSSENC    80877104u
#define STARTUP_MAX_LEN 10000 /* PostgreSQL's own limit for a startup packet */

/* Authentication request codes ('R' messages). */
enum {
	AUTH_OK = 0,
	AUTH_CLEARTEXT = 3,
	AUTH_MD5 = 5,
	AUTH_SASL = 10,
	AUTH_SASL_CONTINUE = 11,
	AUTH_SASL_FINAL = 12
};

static inline uint32_t pg_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void pg_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Bounded reader over one message body. err sticks once set; getters then return zero/NULL. */
struct pkt_reader {
	const uint8_t *p, *end;
	int err;
};

/* Start reading len bytes at p. */
void rd_init(struct pkt_reader *r, const void *p, size_t len);
/* Next byte, int16 or int32 (network order). */
uint8_t rd_u8(struct pkt_reader *r);
uint16_t rd_u16(struct pkt_reader *r);
uint32_t rd_u32(struct pkt_reader *r);
/* Next NUL-terminated string, pointing into the message; NULL (and err) if unterminated. */
const char *rd_cstr(struct pkt_reader *r);
/* Next n raw bytes, pointing into the message; NULL (and err) if fewer remain. */
const uint8_t *rd_bytes(struct pkt_reader *r, size_t n);
/* Bytes left. */
size_t rd_left(const struct pkt_reader *r);

/* Growable output buffer for generated messages (and relay bytes under backpressure). */
struct wbuf {
	uint8_t *data;
	uint32_t off, len, cap; /* unsent bytes are data[off..len) */
	int oom;
};

/* Make room for n more bytes; -1 (and oom) on failure. */
int wb_reserve(struct wbuf *b, size_t n);
/* Append raw bytes. */
void wb_put(struct wbuf *b, const void *p, size_t n);
/* Release the storage and reset. */
void wb_free(struct wbuf *b);
/* Unsent byte count. */
static inline uint32_t wb_pending(const struct wbuf *b)
{
	return b->len - b->off;
}

/* Begin a typed message (type 0: untyped, as StartupMessage); returns its start for pkt_end. */
size_t pkt_begin(struct wbuf *b, char type);
/* Patch the length of the message begun at start. */
void pkt_end(struct wbuf *b, size_t start);
void pkt_put_u8(struct wbuf *b, uint8_t v);
void pkt_put_u16(struct wbuf *b, uint16_t v);
void pkt_put_u32(struct wbuf *b, uint32_t v);
void pkt_put_cstr(struct wbuf *b, const char *s);

/* ErrorResponse (or NoticeResponse when type 'N') with severity, SQLSTATE, message and optional
 * detail/hint. */
void pkt_error(struct wbuf *b, char type, const char *severity, const char *sqlstate,
               const char *msg, const char *detail, const char *hint);
/* ReadyForQuery with transaction status 'I', 'T' or 'E'. */
void pkt_ready(struct wbuf *b, char status);
/* ParameterStatus name=value. */
void pkt_param_status(struct wbuf *b, const char *name, const char *value);
/* Authentication request code with optional extra bytes (salt, mechanism list, SASL data). */
void pkt_auth(struct wbuf *b, uint32_t code, const void *data, size_t len);
/* BackendKeyData. */
void pkt_backend_key(struct wbuf *b, uint32_t pid, uint32_t key);
/* Simple Query. */
void pkt_query(struct wbuf *b, const char *sql);
/* PasswordMessage carrying a cleartext or md5 password. */
void pkt_password(struct wbuf *b, const char *pw);
/* SASLInitialResponse for mechanism with data. */
void pkt_sasl_initial(struct wbuf *b, const char *mech, const void *data, size_t len);
/* SASLResponse with data. */
void pkt_sasl_response(struct wbuf *b, const void *data, size_t len);
/* CancelRequest for a backend (untyped, 16 bytes). */
void pkt_cancel(struct wbuf *b, uint32_t pid, uint32_t key);

/* One StartupMessage parameter visitor: return non-zero to stop. */
typedef int (*startup_param_fn)(void *arg, const char *name, const char *value);
/* Walk the name/value pairs of a StartupMessage body (after the protocol code).
 * Returns 0 when well formed, -1 when malformed. */
int startup_parse(const uint8_t *body, size_t len, startup_param_fn fn, void *arg);

/* Quote s as a SQL string literal into out ('' doubled); returns -1 if it does not fit. */
int sql_quote_literal(const char *s, char *out, size_t outlen);

#endif
