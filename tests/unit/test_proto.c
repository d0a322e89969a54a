/* Unit tests for the wire protocol readers and writers (src/proto.c). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* ---- helpers ---- */

/* A heap copy of exactly n bytes, so that ASan flags any read past the end. */
static uint8_t *exact_copy(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	cr_assert_not_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static void hexdump(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	size_t k = 0;
	out[0] = 0;
	for (size_t i = 0; i < n && k + 4 < outlen; i++)
		k += (size_t)snprintf(out + k, outlen - k, "%02x ", p[i]);
}

/* The unsent bytes of b must be exactly exp[0..n). */
static void expect_bytes(const struct wbuf *b, const void *exp, size_t n)
{
	char got[1024], want[1024];
	const uint8_t *p = b->data + b->off;

	hexdump(got, sizeof(got), p, wb_pending(b));
	hexdump(want, sizeof(want), exp, n);
	cr_assert_eq(b->oom, 0);
	cr_assert_eq(wb_pending(b), n, "length %u, want %zu\n got:  %s\n want: %s", wb_pending(b),
	             n, got, want);
	cr_assert(memcmp(p, exp, n) == 0, "bytes differ\n got:  %s\n want: %s", got, want);
}

/* sizeof a string literal without its implicit final NUL. */
#define LIT(s) (s), (sizeof(s) - 1)

/* ---- readers ---- */

Test(reader, integers_in_network_order)
{
	static const uint8_t msg[] = {0x7f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01};
	uint8_t *p = exact_copy(msg, sizeof(msg));
	struct pkt_reader r;

	rd_init(&r, p, sizeof(msg));
	cr_assert_eq(rd_left(&r), 8);
	cr_assert_eq(rd_u8(&r), 0x7f);
	cr_assert_eq(rd_u16(&r), 0x1234);
	cr_assert_eq(rd_u32(&r), 0xdeadbeefu);
	cr_assert_eq(rd_left(&r), 1);
	cr_assert_eq(rd_u8(&r), 0x01);
	cr_assert_eq(rd_left(&r), 0);
	cr_assert_eq(r.err, 0);
	free(p);
}

Test(reader, truncated_u32_sets_err_and_does_not_advance)
{
	static const uint8_t msg[] = {1, 2, 3};
	uint8_t *p = exact_copy(msg, sizeof(msg));
	struct pkt_reader r;

	rd_init(&r, p, sizeof(msg));
	cr_assert_eq(rd_u32(&r), 0);
	cr_assert_eq(r.err, 1);
	cr_assert_eq(r.p, p, "a failed read must not move the cursor");
	/* err is sticky: later reads fail even where bytes remain */
	cr_assert_eq(rd_u8(&r), 0);
	cr_assert_eq(rd_u16(&r), 0);
	cr_assert_null(rd_bytes(&r, 1));
	cr_assert_null(rd_cstr(&r));
	cr_assert_eq(rd_left(&r), 0);
	free(p);
}

Test(reader, truncated_u16_and_u8)
{
	static const uint8_t msg[] = {0xab};
	uint8_t *p = exact_copy(msg, sizeof(msg));
	struct pkt_reader r;

	rd_init(&r, p, 1);
	cr_assert_eq(rd_u16(&r), 0);
	cr_assert_eq(r.err, 1);

	rd_init(&r, p, 1);
	cr_assert_eq(rd_u8(&r), 0xab);
	cr_assert_eq(r.err, 0);
	cr_assert_eq(rd_u8(&r), 0);
	cr_assert_eq(r.err, 1);

	rd_init(&r, p, 0);
	cr_assert_eq(rd_left(&r), 0);
	cr_assert_eq(rd_u32(&r), 0);
	cr_assert_eq(r.err, 1);
	free(p);
}

Test(reader, u32_straddling_the_end)
{
	/* 6 bytes: one u32 fits, the second one would need 2 bytes past the end */
	static const uint8_t msg[] = {0, 0, 0, 42, 0xff, 0xff};
	uint8_t *p = exact_copy(msg, sizeof(msg));
	struct pkt_reader r;

	rd_init(&r, p, sizeof(msg));
	cr_assert_eq(rd_u32(&r), 42);
	cr_assert_eq(rd_u32(&r), 0);
	cr_assert_eq(r.err, 1);
	free(p);
}

Test(reader, bytes_bounds)
{
	static const uint8_t msg[] = {1, 2, 3, 4, 5};
	uint8_t *p = exact_copy(msg, sizeof(msg));
	struct pkt_reader r;

	rd_init(&r, p, sizeof(msg));
	const uint8_t *b = rd_bytes(&r, 2);
	cr_assert_eq(b, p);
	cr_assert_null(rd_bytes(&r, 4), "4 requested, 3 left");
	cr_assert_eq(r.err, 1);

	rd_init(&r, p, sizeof(msg));
	cr_assert_eq(rd_bytes(&r, 5), p, "exactly what is left");
	cr_assert_eq(rd_left(&r), 0);
	cr_assert_not_null(rd_bytes(&r, 0), "zero bytes at the end are fine");
	cr_assert_eq(r.err, 0);
	cr_assert_null(rd_bytes(&r, 1));
	cr_assert_eq(r.err, 1);

	/* a huge count must not wrap around the pointer arithmetic */
	rd_init(&r, p, sizeof(msg));
	cr_assert_null(rd_bytes(&r, SIZE_MAX));
	cr_assert_eq(r.err, 1);
	free(p);
}

Test(reader, cstr)
{
	static const uint8_t msg[] = {'a', 'b', 0, 0, 'x', 'y', 0};
	uint8_t *p = exact_copy(msg, sizeof(msg));
	struct pkt_reader r;

	rd_init(&r, p, sizeof(msg));
	const char *s = rd_cstr(&r);
	cr_assert_str_eq(s, "ab");
	cr_assert_eq((const uint8_t *)s, p, "points into the message");
	cr_assert_str_eq(rd_cstr(&r), "", "empty string");
	cr_assert_str_eq(rd_cstr(&r), "xy", "NUL as the very last byte");
	cr_assert_eq(rd_left(&r), 0);
	cr_assert_eq(r.err, 0);
	cr_assert_null(rd_cstr(&r), "nothing left");
	cr_assert_eq(r.err, 1);
	free(p);
}

Test(reader, cstr_without_nul)
{
	static const uint8_t msg[] = {'u', 's', 'e', 'r'};
	uint8_t *p = exact_copy(msg, sizeof(msg));
	struct pkt_reader r;

	rd_init(&r, p, sizeof(msg));
	cr_assert_null(rd_cstr(&r));
	cr_assert_eq(r.err, 1);
	cr_assert_eq(rd_left(&r), 0);
	free(p);

	/* the NUL right after the given length must not be seen */
	static const uint8_t msg2[] = {'a', 'b', 0};
	p = exact_copy(msg2, sizeof(msg2));
	rd_init(&r, p, 2);
	cr_assert_null(rd_cstr(&r));
	cr_assert_eq(r.err, 1);

	/* one terminated string, then an unterminated one */
	rd_init(&r, p, 3);
	cr_assert_str_eq(rd_cstr(&r), "ab");
	cr_assert_null(rd_cstr(&r));
	free(p);
}

/* ---- startup_parse ---- */

struct params {
	int n, stop_after;
	char name[8][32], value[8][32];
	const char *first_name; /* pointer handed to the first callback */
};

static int collect_param(void *arg, const char *name, const char *value)
{
	struct params *ps = arg;
	if (ps->n == 0)
		ps->first_name = name;
	if (ps->n < 8) {
		snprintf(ps->name[ps->n], sizeof(ps->name[0]), "%s", name);
		snprintf(ps->value[ps->n], sizeof(ps->value[0]), "%s", value);
	}
	ps->n++;
	return ps->stop_after && ps->n >= ps->stop_after;
}

static int parse(const void *body, size_t len, struct params *ps)
{
	uint8_t *p = exact_copy(body, len);
	memset(ps, 0, sizeof(*ps));
	int rc = startup_parse(p, len, collect_param, ps);
	if (ps->n)
		cr_assert(ps->first_name >= (const char *)p &&
		              ps->first_name < (const char *)p + len,
		          "names point into the body");
	free(p);
	ps->first_name = NULL;
	return rc;
}

Test(startup, several_params)
{
	struct params ps;
	static const char body[] = "user\0alice\0database\0db1\0application_name\0psql\0"
	                           "options\0-c search_path=x\0";
	/* sizeof includes the literal's NUL, which is the terminating empty name */
	cr_assert_eq(parse(body, sizeof(body), &ps), 0);
	cr_assert_eq(ps.n, 4);
	cr_assert_str_eq(ps.name[0], "user");
	cr_assert_str_eq(ps.value[0], "alice");
	cr_assert_str_eq(ps.name[1], "database");
	cr_assert_str_eq(ps.value[1], "db1");
	cr_assert_str_eq(ps.name[2], "application_name");
	cr_assert_str_eq(ps.value[2], "psql");
	cr_assert_str_eq(ps.name[3], "options");
	cr_assert_str_eq(ps.value[3], "-c search_path=x");
}

Test(startup, empty_value_is_allowed)
{
	struct params ps;
	static const char body[] = "user\0bob\0application_name\0\0";
	cr_assert_eq(parse(body, sizeof(body), &ps), 0);
	cr_assert_eq(ps.n, 2);
	cr_assert_str_eq(ps.name[1], "application_name");
	cr_assert_str_eq(ps.value[1], "");
}

Test(startup, no_params)
{
	struct params ps;
	cr_assert_eq(parse("", 1, &ps), 0, "just the terminator");
	cr_assert_eq(ps.n, 0);
}

Test(startup, null_callback)
{
	static const char body[] = "user\0bob\0";
	uint8_t *p = exact_copy(body, sizeof(body));
	cr_assert_eq(startup_parse(p, sizeof(body), NULL, NULL), 0);
	cr_assert_eq(startup_parse(p, sizeof(body) - 1, NULL, NULL), -1);
	free(p);
}

Test(startup, callback_stops_early)
{
	struct params ps;
	static const char body[] = "user\0bob\0database\0d\0";
	uint8_t *p = exact_copy(body, sizeof(body));
	memset(&ps, 0, sizeof(ps));
	ps.stop_after = 1;
	cr_assert_eq(startup_parse(p, sizeof(body), collect_param, &ps), 0);
	cr_assert_eq(ps.n, 1);
	free(p);
}

Test(startup, missing_final_nul)
{
	struct params ps;
	static const char body[] = "user\0alice\0";
	/* without the literal's own NUL: both pairs terminated, no empty name at the end */
	cr_assert_eq(parse(body, sizeof(body) - 1, &ps), -1);
}

Test(startup, empty_body)
{
	struct params ps;
	cr_assert_eq(parse("", 0, &ps), -1);
	cr_assert_eq(ps.n, 0);
}

Test(startup, value_missing)
{
	struct params ps;
	/* a name and then the end of the packet */
	static const char b1[] = "user\0alice\0database\0";
	cr_assert_eq(parse(b1, sizeof(b1) - 1, &ps), -1);
	cr_assert_eq(ps.n, 1, "the complete pair before it was still seen");
	/* a name whose value is not terminated */
	static const char b2[] = "user\0alic";
	cr_assert_eq(parse(b2, sizeof(b2) - 1, &ps), -1);
	cr_assert_eq(ps.n, 0);
	/* a name that is not terminated */
	static const char b3[] = "use";
	cr_assert_eq(parse(b3, sizeof(b3) - 1, &ps), -1);
}

Test(startup, trailing_garbage_after_terminator)
{
	struct params ps;
	static const char b1[] = "user\0alice\0\0x";
	cr_assert_eq(parse(b1, sizeof(b1) - 1, &ps), -1);
	static const char b2[] = "user\0alice\0\0";
	/* terminator followed by one extra NUL (the literal's own) */
	cr_assert_eq(parse(b2, sizeof(b2), &ps), -1);
	static const char b3[] = "\0garbage";
	cr_assert_eq(parse(b3, sizeof(b3), &ps), -1);
}

/* ---- wbuf ---- */

Test(wbuf, growth_keeps_content)
{
	struct wbuf b = {0};
	uint8_t chunk[300];

	cr_assert_eq(wb_pending(&b), 0);
	cr_assert_eq(wb_reserve(&b, 1), 0);
	cr_assert_eq(b.cap, 512, "first allocation");
	for (int i = 0; i < 10; i++) {
		memset(chunk, 'a' + i, sizeof(chunk));
		wb_put(&b, chunk, sizeof(chunk));
	}
	cr_assert_eq(b.oom, 0);
	cr_assert_eq(b.len, 3000);
	cr_assert_eq(b.cap, 4096, "doubling");
	cr_assert_eq(wb_pending(&b), 3000);
	for (int i = 0; i < 3000; i++)
		cr_assert_eq(b.data[i], 'a' + i / 300, "byte %d", i);
	wb_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len + b.off + b.cap + (uint32_t)b.oom, 0);
}

Test(wbuf, reserve_exact_fit_does_not_grow)
{
	struct wbuf b = {0};
	uint8_t x[512];
	memset(x, 7, sizeof(x));
	wb_put(&b, x, 500);
	cr_assert_eq(b.cap, 512);
	cr_assert_eq(wb_reserve(&b, 12), 0);
	cr_assert_eq(b.cap, 512);
	wb_put(&b, x, 12);
	cr_assert_eq(b.cap, 512);
	cr_assert_eq(b.len, 512);
	wb_free(&b);
}

Test(wbuf, fully_consumed_restarts_at_front)
{
	struct wbuf b = {0};
	wb_put(&b, "0123456789", 10);
	b.off = 10; /* everything sent */
	cr_assert_eq(wb_pending(&b), 0);
	cr_assert_eq(wb_reserve(&b, 4), 0);
	cr_assert_eq(b.off, 0);
	cr_assert_eq(b.len, 0);
	wb_put(&b, "abcd", 4);
	expect_bytes(&b, "abcd", 4);
	cr_assert_eq(b.cap, 512);
	wb_free(&b);
}

Test(wbuf, compaction_after_partial_consumption)
{
	struct wbuf b = {0};
	uint8_t x[400];
	for (int i = 0; i < 400; i++)
		x[i] = (uint8_t)i;
	wb_put(&b, x, 400);
	b.off = 300; /* 100 bytes still unsent */
	uint8_t *before = b.data;
	/* 400 + 300 > 512, but 100 + 300 fits after moving the unsent bytes to the front */
	cr_assert_eq(wb_reserve(&b, 300), 0);
	cr_assert_eq(b.cap, 512, "compacted, not grown");
	cr_assert_eq(b.data, before);
	cr_assert_eq(b.off, 0);
	cr_assert_eq(b.len, 100);
	cr_assert(memcmp(b.data, x + 300, 100) == 0, "the unsent bytes survive the move");
	wb_put(&b, x, 300);
	cr_assert_eq(b.len, 400);
	cr_assert(memcmp(b.data + 100, x, 300) == 0);
	wb_free(&b);
}

Test(wbuf, compaction_then_growth)
{
	struct wbuf b = {0};
	uint8_t x[500];
	for (int i = 0; i < 500; i++)
		x[i] = (uint8_t)(i * 7);
	wb_put(&b, x, 500);
	b.off = 100;        /* 400 unsent */
	wb_put(&b, x, 300); /* 700 > 512 even after compacting: grow */
	cr_assert_eq(b.oom, 0);
	cr_assert_eq(b.cap, 1024);
	cr_assert_eq(wb_pending(&b), 700);
	cr_assert(memcmp(b.data + b.off, x + 100, 400) == 0);
	cr_assert(memcmp(b.data + b.off + 400, x, 300) == 0);
	wb_free(&b);
}

Test(wbuf, oom_is_sticky)
{
	struct wbuf b = {0};
	wb_put(&b, "ab", 2);
	/* more than a uint32 can index: refused without trying to allocate it */
	cr_assert_eq(wb_reserve(&b, (size_t)UINT32_MAX + 1), -1);
	cr_assert_eq(b.oom, 1);
	cr_assert_eq(wb_reserve(&b, 1), -1);
	wb_put(&b, "cd", 2);
	cr_assert_eq(b.len, 2, "nothing appended after oom");
	size_t st = pkt_begin(&b, 'Q');
	pkt_end(&b, st);
	cr_assert_eq(b.len, 2);
	cr_assert(memcmp(b.data, "ab", 2) == 0);
	wb_free(&b);
	cr_assert_eq(b.oom, 0, "wb_free resets");
}

/* ---- builders ---- */

Test(builders, put_integers)
{
	struct wbuf b = {0};
	pkt_put_u8(&b, 0xfe);
	pkt_put_u16(&b, 0x1234);
	pkt_put_u32(&b, 0x89abcdefu);
	pkt_put_cstr(&b, "hi");
	pkt_put_cstr(&b, "");
	static const uint8_t exp[] = {0xfe, 0x12, 0x34, 0x89, 0xab, 0xcd, 0xef, 'h', 'i', 0, 0};
	expect_bytes(&b, exp, sizeof(exp));
	wb_free(&b);
}

Test(builders, error_response_all_fields)
{
	struct wbuf b = {0};
	pkt_error(&b, 'E', "FATAL", "28P01", "bad", "det", "hint");
	static const char exp[] = "E\x00\x00\x00\x2a"
	                          "SFATAL\0"
	                          "VFATAL\0"
	                          "C28P01\0"
	                          "Mbad\0"
	                          "Ddet\0"
	                          "Hhint\0"
	                          "\0";
	expect_bytes(&b, LIT(exp));
	cr_assert_eq(b.len, 43);
	wb_free(&b);
}

Test(builders, error_response_without_detail_and_hint)
{
	struct wbuf b = {0};
	pkt_error(&b, 'E', "ERROR", "42601", "syntax", NULL, NULL);
	static const char exp[] = "E\x00\x00\x00\x22"
	                          "SERROR\0"
	                          "VERROR\0"
	                          "C42601\0"
	                          "Msyntax\0"
	                          "\0";
	expect_bytes(&b, LIT(exp));
	wb_free(&b);
}

Test(builders, notice_response_hint_only)
{
	struct wbuf b = {0};
	pkt_error(&b, 'N', "NOTICE", "00000", "hi", NULL, "h");
	static const char exp[] = "N\x00\x00\x00\x23"
	                          "SNOTICE\0"
	                          "VNOTICE\0"
	                          "C00000\0"
	                          "Mhi\0"
	                          "Hh\0"
	                          "\0";
	expect_bytes(&b, LIT(exp));
	wb_free(&b);
}

Test(builders, ready_for_query)
{
	struct wbuf b = {0};
	pkt_ready(&b, 'I');
	pkt_ready(&b, 'T');
	pkt_ready(&b, 'E');
	static const uint8_t exp[] = {'Z', 0, 0,   0,   5, 'I', 'Z', 0, 0,
	                              0,   5, 'T', 'Z', 0, 0,   0,   5, 'E'};
	expect_bytes(&b, exp, sizeof(exp));
	wb_free(&b);
}

Test(builders, parameter_status)
{
	struct wbuf b = {0};
	pkt_param_status(&b, "client_encoding", "UTF8");
	pkt_param_status(&b, "application_name", "");
	static const char exp[] = "S\x00\x00\x00\x19"
	                          "client_encoding\0UTF8\0"
	                          "S\x00\x00\x00\x16"
	                          "application_name\0\0";
	expect_bytes(&b, LIT(exp));
	wb_free(&b);
}

Test(builders, auth_md5_with_salt)
{
	struct wbuf b = {0};
	static const uint8_t salt[4] = {0x01, 0x02, 0xfe, 0xff};
	pkt_auth(&b, AUTH_MD5, salt, sizeof(salt));
	static const uint8_t exp[] = {'R', 0, 0, 0, 12, 0, 0, 0, 5, 0x01, 0x02, 0xfe, 0xff};
	expect_bytes(&b, exp, sizeof(exp));
	wb_free(&b);
}

Test(builders, auth_ok_and_sasl)
{
	struct wbuf b = {0};
	pkt_auth(&b, AUTH_OK, NULL, 0);
	static const uint8_t exp_ok[] = {'R', 0, 0, 0, 8, 0, 0, 0, 0};
	expect_bytes(&b, exp_ok, sizeof(exp_ok));
	wb_free(&b);

	pkt_auth(&b, AUTH_SASL, "SCRAM-SHA-256\0", 15);
	static const char exp_sasl[] = "R\x00\x00\x00\x17"
	                               "\x00\x00\x00\x0a"
	                               "SCRAM-SHA-256\0\0";
	expect_bytes(&b, LIT(exp_sasl));
	wb_free(&b);
}

Test(builders, backend_key_data)
{
	struct wbuf b = {0};
	pkt_backend_key(&b, 0x01020304u, 0xdeadbeefu);
	static const uint8_t exp[] = {'K', 0, 0, 0, 12, 1, 2, 3, 4, 0xde, 0xad, 0xbe, 0xef};
	expect_bytes(&b, exp, sizeof(exp));
	wb_free(&b);
}

Test(builders, query)
{
	struct wbuf b = {0};
	pkt_query(&b, "SELECT 1");
	pkt_query(&b, "");
	static const char exp[] = "Q\x00\x00\x00\x0d"
	                          "SELECT 1\0"
	                          "Q\x00\x00\x00\x05"
	                          "\0";
	expect_bytes(&b, LIT(exp));
	wb_free(&b);
}

Test(builders, password_and_sasl_messages)
{
	struct wbuf b = {0};
	pkt_password(&b, "md5abc");
	static const char exp_pw[] = "p\x00\x00\x00\x0b"
	                             "md5abc\0";
	expect_bytes(&b, LIT(exp_pw));
	wb_free(&b);

	pkt_sasl_initial(&b, "SCRAM-SHA-256", "n,,n=,r=abc", 11);
	static const char exp_init[] = "p\x00\x00\x00\x21"
	                               "SCRAM-SHA-256\0"
	                               "\x00\x00\x00\x0b"
	                               "n,,n=,r=abc";
	expect_bytes(&b, LIT(exp_init));
	wb_free(&b);

	pkt_sasl_response(&b, "c=biws", 6);
	static const char exp_resp[] = "p\x00\x00\x00\x0a"
	                               "c=biws";
	expect_bytes(&b, LIT(exp_resp));
	wb_free(&b);
}

Test(builders, startup_message_untyped)
{
	struct wbuf b = {0};
	size_t st = pkt_begin(&b, 0);
	cr_assert_eq(st, 0, "no type byte: the length comes first");
	pkt_put_u32(&b, PROTO_V3);
	pkt_put_cstr(&b, "user");
	pkt_put_cstr(&b, "bob");
	pkt_put_u8(&b, 0);
	pkt_end(&b, st);
	static const char exp[] = "\x00\x00\x00\x12"
	                          "\x00\x03\x00\x00"
	                          "user\0bob\0\0";
	expect_bytes(&b, LIT(exp));

	/* and it parses back */
	struct params ps;
	cr_assert_eq(pg_get_u32(b.data), b.len);
	cr_assert_eq(parse(b.data + 8, b.len - 8, &ps), 0);
	cr_assert_eq(ps.n, 1);
	cr_assert_str_eq(ps.value[0], "bob");
	wb_free(&b);
}

Test(builders, cancel_request)
{
	struct wbuf b = {0};
	pkt_cancel(&b, 0x01020304u, 0xdeadbeefu);
	static const uint8_t exp[16] = {0,    0,    0,    16,   0x04, 0xd2, 0x16, 0x2e,
	                                0x01, 0x02, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef};
	expect_bytes(&b, exp, sizeof(exp));
	cr_assert_eq(pg_get_u32(exp + 4), PROTO_CANCEL);
	wb_free(&b);
}

Test(builders, pkt_end_patches_each_message_in_a_shared_buffer)
{
	struct wbuf b = {0};
	wb_put(&b, "xyz", 3); /* unrelated bytes before */
	size_t s1 = pkt_begin(&b, 'D');
	cr_assert_eq(s1, 4, "start is the length position, after the type byte");
	pkt_put_u16(&b, 1);
	pkt_put_u32(&b, 3);
	wb_put(&b, "abc", 3);
	pkt_end(&b, s1);
	size_t s2 = pkt_begin(&b, 0);
	cr_assert_eq(s2, 17, "untyped: start is where the message begins");
	pkt_put_u32(&b, 7);
	pkt_end(&b, s2);
	pkt_ready(&b, 'I');
	static const char exp[] = "xyz"
	                          "D\x00\x00\x00\x0d"
	                          "\x00\x01\x00\x00\x00\x03"
	                          "abc"
	                          "\x00\x00\x00\x08"
	                          "\x00\x00\x00\x07"
	                          "Z\x00\x00\x00\x05"
	                          "I";
	expect_bytes(&b, LIT(exp));

	/* pkt_end measures to the current end, so patching again after more bytes grows it */
	pkt_end(&b, s2);
	cr_assert_eq(pg_get_u32(b.data + s2), 14);

	/* a start that does not leave room for a length is ignored */
	uint32_t len = b.len;
	uint8_t tail[4];
	memcpy(tail, b.data + len - 4, 4);
	pkt_end(&b, len - 2);
	pkt_end(&b, len);
	cr_assert_eq(b.len, len);
	cr_assert(memcmp(b.data + len - 4, tail, 4) == 0);
	wb_free(&b);
}

Test(builders, long_message_length)
{
	struct wbuf b = {0};
	char *sql = malloc(100001);
	cr_assert_not_null(sql);
	memset(sql, 'x', 100000);
	sql[100000] = 0;
	pkt_query(&b, sql);
	cr_assert_eq(b.len, 1 + 4 + 100001);
	cr_assert_eq(b.data[0], 'Q');
	cr_assert_eq(pg_get_u32(b.data + 1), 100005);
	cr_assert_eq(b.data[b.len - 1], 0);
	cr_assert(memcmp(b.data + 5, sql, 100000) == 0);
	free(sql);
	wb_free(&b);
}

/* Building a message into a queue whose front was partly sent: the unsent bytes are
 * compacted while the message grows, and the length must still land on the message. */
Test(builders, pkt_end_after_compaction_while_building)
{
	struct wbuf b = {0};
	uint8_t x[500];
	memset(x, '.', sizeof(x));
	wb_put(&b, x, 500);
	b.off = 400; /* 100 unsent bytes at the front */
	const char *sql = "SELECT 'a fairly long query string'";
	uint32_t mlen = 1 + 4 + (uint32_t)strlen(sql) + 1; /* 500 + mlen > 512: compacts */
	pkt_query(&b, sql);
	cr_assert_eq(b.off, 0, "the buffer was compacted");
	cr_assert_eq(wb_pending(&b), 100 + mlen);
	const uint8_t *m = b.data + b.off + 100;
	cr_assert_eq(m[0], 'Q');
	cr_assert_eq(pg_get_u32(m + 1), mlen - 1, "length patched on the message, got %u",
	             pg_get_u32(m + 1));
	cr_assert(memcmp(b.data, x, 100) == 0, "the unsent bytes before it are untouched");
	wb_free(&b);
}

/* ---- sql_quote_literal ---- */

Test(quote, plain_and_doubled_quotes)
{
	char out[64];
	cr_assert_eq(sql_quote_literal("abc", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "'abc'");
	cr_assert_eq(sql_quote_literal("it's", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "'it''s'");
	cr_assert_eq(sql_quote_literal("''", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "''''''");
	cr_assert_eq(sql_quote_literal("", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "''");
	cr_assert_eq(sql_quote_literal("a\\b", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "'a\\b'", "backslashes are left alone");
}

Test(quote, too_small_buffer)
{
	char out[64];
	cr_assert_eq(sql_quote_literal("", out, 0), -1);
	cr_assert_eq(sql_quote_literal("", out, 2), -1);
	cr_assert_eq(sql_quote_literal("", out, 3), 0, "'' and NUL fit in 3");
	cr_assert_str_eq(out, "''");
	cr_assert_eq(sql_quote_literal("abcdef", out, 5), -1);
	cr_assert_eq(sql_quote_literal("'", out, 4), -1, "needs ''''+NUL = 5");
	cr_assert_eq(sql_quote_literal("'", out, 5), 0);
	cr_assert_str_eq(out, "''''");
	cr_assert_eq(sql_quote_literal("a'", out, 6), 0, "'a'''+NUL fits exactly");
	cr_assert_str_eq(out, "'a'''");
}

/* For every buffer size: never a byte written past outlen, and either -1 or the right
 * answer; whenever there is at least one spare byte the answer must be produced. */
Test(quote, never_writes_past_outlen)
{
	static const char *inputs[] = {"", "x", "abc", "'", "o'reilly", "''''", "a'b'c'"};
	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		const char *s = inputs[k];
		char want[64];
		size_t n = 0;
		want[n++] = '\'';
		for (const char *q = s; *q; q++) {
			if (*q == '\'')
				want[n++] = '\'';
			want[n++] = *q;
		}
		want[n++] = '\'';
		want[n] = 0;
		size_t need = n + 1;
		for (size_t outlen = 0; outlen <= need + 3; outlen++) {
			char buf[80];
			memset(buf, 0x5a, sizeof(buf));
			int rc = sql_quote_literal(s, buf, outlen);
			for (size_t i = outlen; i < sizeof(buf); i++)
				cr_assert_eq((unsigned char)buf[i], 0x5a,
				             "input \"%s\" outlen %zu: byte %zu written", s, outlen,
				             i);
			if (outlen < need)
				cr_assert_eq(rc, -1, "input \"%s\" outlen %zu", s, outlen);
			else if (outlen > need)
				cr_assert_eq(rc, 0, "input \"%s\" outlen %zu", s, outlen);
			if (rc == 0)
				cr_assert_str_eq(buf, want);
		}
	}
}

Test(quote, exact_fit)
{
	char out[6];
	cr_assert_eq(sql_quote_literal("abc", out, sizeof(out)), 0, "'abc'+NUL is 6 bytes");
	cr_assert_str_eq(out, "'abc'");
	char out4[4];
	cr_assert_eq(sql_quote_literal("x", out4, sizeof(out4)), 0, "'x'+NUL is 4 bytes");
}
