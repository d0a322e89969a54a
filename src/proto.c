/* Wire protocol readers and writers. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

void rd_init(struct pkt_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->end = r->p + len;
	r->err = 0;
}

size_t rd_left(const struct pkt_reader *r)
{
	return r->err ? 0 : (size_t)(r->end - r->p);
}

const uint8_t *rd_bytes(struct pkt_reader *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = 1;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

uint8_t rd_u8(struct pkt_reader *r)
{
	const uint8_t *p = rd_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t rd_u16(struct pkt_reader *r)
{
	const uint8_t *p = rd_bytes(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t rd_u32(struct pkt_reader *r)
{
	const uint8_t *p = rd_bytes(r, 4);
	return p ? pg_get_u32(p) : 0;
}

const char *rd_cstr(struct pkt_reader *r)
{
	if (r->err)
		return NULL;
	const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
	if (!nul) {
		r->err = 1;
		return NULL;
	}
	const char *s = (const char *)r->p;
	r->p = nul + 1;
	return s;
}

int wb_reserve(struct wbuf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->off == b->len && b->off) /* everything sent: reuse from the start */
		b->off = b->len = 0;
	if ((size_t)b->len + n <= b->cap)
		return 0;
	if (b->off) { /* compact before growing */
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if ((size_t)b->len + n <= b->cap)
			return 0;
	}
	size_t cap = b->cap ? b->cap : 512;
	while (cap < (size_t)b->len + n)
		cap *= 2;
	if (cap > UINT32_MAX) {
		b->oom = 1;
		return -1;
	}
	uint8_t *d = realloc(b->data, cap);
	if (!d) {
		b->oom = 1;
		return -1;
	}
	b->data = d;
	b->cap = (uint32_t)cap;
	return 0;
}

void wb_put(struct wbuf *b, const void *p, size_t n)
{
	if (wb_reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += (uint32_t)n;
}

void wb_free(struct wbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

size_t pkt_begin(struct wbuf *b, char type)
{
	if (type)
		pkt_put_u8(b, (uint8_t)type);
	/* Relative to off: wb_reserve may compact the buffer while the message grows. */
	size_t start = b->len - b->off;
	pkt_put_u32(b, 0);
	return start;
}

void pkt_end(struct wbuf *b, size_t start)
{
	size_t pos = b->off + start;
	if (b->oom || pos + 4 > b->len)
		return;
	pg_put_u32(b->data + pos, (uint32_t)(b->len - pos));
}

void pkt_put_u8(struct wbuf *b, uint8_t v)
{
	wb_put(b, &v, 1);
}

void pkt_put_u16(struct wbuf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	wb_put(b, x, 2);
}

void pkt_put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t x[4];
	pg_put_u32(x, v);
	wb_put(b, x, 4);
}

void pkt_put_cstr(struct wbuf *b, const char *s)
{
	wb_put(b, s, strlen(s) + 1);
}

void pkt_error(struct wbuf *b, char type, const char *severity, const char *sqlstate,
               const char *msg, const char *detail, const char *hint)
{
	size_t st = pkt_begin(b, type);
	pkt_put_u8(b, 'S');
	pkt_put_cstr(b, severity);
	pkt_put_u8(b, 'V');
	pkt_put_cstr(b, severity);
	pkt_put_u8(b, 'C');
	pkt_put_cstr(b, sqlstate);
	pkt_put_u8(b, 'M');
	pkt_put_cstr(b, msg);
	if (detail) {
		pkt_put_u8(b, 'D');
		pkt_put_cstr(b, detail);
	}
	if (hint) {
		pkt_put_u8(b, 'H');
		pkt_put_cstr(b, hint);
	}
	pkt_put_u8(b, 0);
	pkt_end(b, st);
}

void pkt_ready(struct wbuf *b, char status)
{
	size_t st = pkt_begin(b, 'Z');
	pkt_put_u8(b, (uint8_t)status);
	pkt_end(b, st);
}

void pkt_param_status(struct wbuf *b, const char *name, const char *value)
{
	size_t st = pkt_begin(b, 'S');
	pkt_put_cstr(b, name);
	pkt_put_cstr(b, value);
	pkt_end(b, st);
}

void pkt_auth(struct wbuf *b, uint32_t code, const void *data, size_t len)
{
	size_t st = pkt_begin(b, 'R');
	pkt_put_u32(b, code);
	if (len)
		wb_put(b, data, len);
	pkt_end(b, st);
}

void pkt_backend_key(struct wbuf *b, uint32_t pid, uint32_t key)
{
	size_t st = pkt_begin(b, 'K');
	pkt_put_u32(b, pid);
	pkt_put_u32(b, key);
	pkt_end(b, st);
}

void pkt_query(struct wbuf *b, const char *sql)
{
	size_t st = pkt_begin(b, 'Q');
	pkt_put_cstr(b, sql);
	pkt_end(b, st);
}

void pkt_password(struct wbuf *b, const char *pw)
{
	size_t st = pkt_begin(b, 'p');
	pkt_put_cstr(b, pw);
	pkt_end(b, st);
}

void pkt_sasl_initial(struct wbuf *b, const char *mech, const void *data, size_t len)
{
	size_t st = pkt_begin(b, 'p');
	pkt_put_cstr(b, mech);
	pkt_put_u32(b, (uint32_t)len);
	wb_put(b, data, len);
	pkt_end(b, st);
}

void pkt_sasl_response(struct wbuf *b, const void *data, size_t len)
{
	size_t st = pkt_begin(b, 'p');
	wb_put(b, data, len);
	pkt_end(b, st);
}

void pkt_cancel(struct wbuf *b, uint32_t pid, uint32_t key)
{
	size_t st = pkt_begin(b, 0);
	pkt_put_u32(b, PROTO_CANCEL);
	pkt_put_u32(b, pid);
	pkt_put_u32(b, key);
	pkt_end(b, st);
}

int startup_parse(const uint8_t *body, size_t len, startup_param_fn fn, void *arg)
{
	struct pkt_reader r;
	rd_init(&r, body, len);
	for (;;) {
		const char *name = rd_cstr(&r);
		if (!name)
			return -1;
		if (!*name) /* the terminating empty name must end the packet */
			return rd_left(&r) == 0 ? 0 : -1;
		const char *value = rd_cstr(&r);
		if (!value)
			return -1;
		if (fn && fn(arg, name, value))
			return 0;
	}
}

int sql_quote_literal(const char *s, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen < 3)
		return -1;
	out[n++] = '\'';
	for (; *s; s++) {
		size_t need = *s == '\'' ? 2 : 1;
		if (n + need + 2 > outlen) /* + closing quote + NUL */
			return -1;
		if (*s == '\'')
			out[n++] = '\'';
		out[n++] = *s;
	}
	out[n++] = '\'';
	out[n] = 0;
	return 0;
}
