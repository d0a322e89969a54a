/* Component tests of the relay engine (src/conn.c): a hand-built worker, socketpairs
 * instead of clients and servers, scripted peers. No network, no PostgreSQL. */
#include <criterion/criterion.h>

#include <errno.h>
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "proto.h"
#include "slab.h"
#include "worker.h"

#define MAX_CALLS 4096
#define MAX_TC    4
#define MAX_MSGS  1024

/* ---- harness ---- */

struct call {
	uint8_t type;
	uint32_t total, avail;
};

struct tc;
typedef enum pkt_action (*policy_fn)(struct tc *t, uint8_t type, const uint8_t *p, uint32_t total,
                                     uint32_t avail);

/* One engine-side connection and the test's end of its socketpair. */
struct tc {
	struct conn c; /* first: conn_close() queues &c on w.dead and we free it as a tc */
	int peer;
	policy_fn policy; /* NULL: forward everything */
	int n_calls;
	struct call calls[MAX_CALLS];
	int n_failed;
	char reason[128];
	int n_post;
	size_t post_peek[16]; /* bytes waiting at the destination peer when post() ran */
	int flag;             /* per-test state for policies */
	uint8_t special;      /* per-test message type the policy acts on */
};

static struct worker w;
static struct tc *tcs[MAX_TC];
static int n_tc;

static enum pkt_action t_packet(struct conn *c, uint8_t type, const uint8_t *p, uint32_t total,
                                uint32_t avail)
{
	struct tc *t = (struct tc *)c;
	uint32_t hdr = c->startup_mode ? 4 : PKT_HDR_LEN;

	/* the engine's side of the contract */
	cr_assert(avail >= hdr, "avail %u below the header", avail);
	cr_assert(avail <= total, "avail %u > total %u", avail, total);
	cr_assert(c->rbuf && p >= c->rbuf && p + avail <= c->rbuf + c->rlen,
	          "p must point at buffered bytes");
	cr_assert_eq(type, c->startup_mode ? 0 : p[0]);
	if (t->n_calls < MAX_CALLS)
		t->calls[t->n_calls] = (struct call){type, total, avail};
	t->n_calls++;
	return t->policy ? t->policy(t, type, p, total, avail) : PKT_FORWARD;
}

static size_t peer_readable(int fd)
{
	static uint8_t scratch[1 << 20];
	ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_PEEK | MSG_DONTWAIT);
	return n > 0 ? (size_t)n : 0;
}

static void t_post(struct conn *c)
{
	struct tc *t = (struct tc *)c;
	if (t->n_post < 16)
		t->post_peek[t->n_post] = c->dst ? peer_readable(((struct tc *)c->dst)->peer) : 0;
	t->n_post++;
}

static void t_failed(struct conn *c, const char *reason)
{
	struct tc *t = (struct tc *)c;
	t->n_failed++;
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	conn_close(c);
}

static const struct conn_ops t_ops = {.packet = t_packet, .post = t_post, .failed = t_failed};

static void setup(void)
{
	memset(&w, 0, sizeof(w));
	w.loop = ev_loop_new(0);
	cr_assert_not_null(w.loop);
	slab_init(&w.bufs, 16384, 16);
	w.bufsize = 16384;
	list_init(&w.dead);
	n_tc = 0;
}

static void teardown(void)
{
	for (int i = 0; i < n_tc; i++) {
		if (!tcs[i]->c.closed)
			conn_close(&tcs[i]->c);
		if (tcs[i]->peer >= 0)
			close(tcs[i]->peer);
	}
	while (!list_empty(&w.dead)) {
		struct list *node = list_first(&w.dead);
		list_del(node);
		free(container_of(node, struct conn, dead_node)); /* the conn is the tc's start */
	}
	n_tc = 0;
	slab_destroy(&w.bufs);
	ev_loop_destroy(w.loop);
}

TestSuite(relay, .init = setup, .fini = teardown, .timeout = 10);

/* Use a different relay buffer size (before any connection exists). */
static void use_bufsize(uint32_t n)
{
	cr_assert_eq(n_tc, 0);
	slab_destroy(&w.bufs);
	slab_init(&w.bufs, n, 16);
	w.bufsize = n;
}

static struct tc *new_tc(void)
{
	int sv[2];
	cr_assert_lt(n_tc, MAX_TC);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct tc *t = calloc(1, sizeof(*t));
	cr_assert_not_null(t);
	conn_init(&t->c, &w, sv[0], &t_ops, 0);
	t->peer = sv[1];
	tcs[n_tc++] = t;
	return t;
}

/* a relays to b. */
static void new_pair(struct tc **a, struct tc **b)
{
	*a = new_tc();
	*b = new_tc();
	conn_link(&(*a)->c, &(*b)->c);
}

/* A byte stream of messages, with where each one starts. */
struct stream {
	uint8_t *data;
	size_t len, cap;
	int n;
	uint8_t type[MAX_MSGS];
	uint32_t total[MAX_MSGS];
	size_t start[MAX_MSGS];
};

static void s_raw(struct stream *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		s->data = realloc(s->data, cap);
		cr_assert_not_null(s->data);
		s->cap = cap;
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
}

static void s_note(struct stream *s, uint8_t type, size_t start)
{
	cr_assert_lt(s->n, MAX_MSGS);
	s->type[s->n] = type;
	s->total[s->n] = (uint32_t)(s->len - start);
	s->start[s->n] = start;
	s->n++;
}

/* Typed message with a body of body_len pseudo-random bytes derived from seed. */
static void s_msg(struct stream *s, uint8_t type, uint32_t body_len, uint32_t seed)
{
	uint8_t hdr[5];
	size_t start = s->len;
	hdr[0] = type;
	pg_put_u32(hdr + 1, body_len + 4);
	s_raw(s, hdr, 5);
	uint32_t x = seed * 0x9e3779b9u + 0x7f4a7c15u;
	uint8_t chunk[4096];
	for (uint32_t done = 0; done < body_len;) {
		uint32_t n = body_len - done < sizeof(chunk) ? body_len - done : sizeof(chunk);
		for (uint32_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			chunk[i] = (uint8_t)x;
		}
		s_raw(s, chunk, n);
		done += n;
	}
	s_note(s, type, start);
}

/* Untyped (startup-style) packet: length, then body. */
static void s_untyped(struct stream *s, const void *body, uint32_t body_len)
{
	uint8_t len[4];
	size_t start = s->len;
	pg_put_u32(len, body_len + 4);
	s_raw(s, len, 4);
	s_raw(s, body, body_len);
	s_note(s, 0, start);
}

/* The messages of s except those of type skip, concatenated. */
static void s_without(const struct stream *s, uint8_t skip, struct stream *out)
{
	for (int i = 0; i < s->n; i++)
		if (s->type[i] != skip)
			s_raw(out, s->data + s->start[i], s->total[i]);
}

static void s_free(struct stream *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* Everything the peer can read right now, appended to out (a stream used as a sink). */
static void drain(int fd, struct stream *out)
{
	uint8_t buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			s_raw(out, buf, (size_t)n);
			continue;
		}
		cr_assert(n == 0 || errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s",
		          strerror(errno));
		return;
	}
}

/* Run the loop without waiting a few times, collecting what reaches dst's peer. */
static void settle(struct tc *dst, struct stream *out, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		ev_run(w.loop, EVRUN_NOWAIT);
		if (dst && dst->peer >= 0)
			drain(dst->peer, out);
	}
}

/* Feed data to src's peer at most chunk bytes per loop round and collect what reaches
 * dst's peer, until everything was written and want bytes arrived (max_rounds at most). */
static void pump(struct tc *src, const uint8_t *data, size_t len, size_t chunk, struct tc *dst,
                 struct stream *out, size_t want, int max_rounds)
{
	size_t sent = 0;
	for (int i = 0; i < max_rounds; i++) {
		if (sent < len) {
			size_t n = len - sent < chunk ? len - sent : chunk;
			ssize_t k = send(src->peer, data + sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0)
				sent += (size_t)k;
			else
				cr_assert(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
				          "send: %s", strerror(errno));
		}
		ev_run(w.loop, EVRUN_NOWAIT);
		if (dst)
			drain(dst->peer, out);
		if (sent == len && (!dst || out->len >= want))
			break;
	}
	cr_assert_eq(sent, len, "only %zu of %zu bytes written", sent, len);
	settle(dst, out, 3); /* nothing more may arrive */
}

static void assert_same(const struct stream *got, const uint8_t *want, size_t len)
{
	cr_assert_eq(got->len, len, "received %zu bytes, want %zu", got->len, len);
	for (size_t i = 0; i < len; i++)
		if (got->data[i] != want[i])
			cr_assert_fail("first difference at byte %zu: %02x, want %02x", i,
			               got->data[i], want[i]);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Every message of s was offered exactly once, in order, with its type and size. */
static void assert_calls_once_each(const struct tc *t, const struct stream *s)
{
	cr_assert_eq(t->n_calls, s->n, "%d callbacks for %d messages", t->n_calls, s->n);
	for (int i = 0; i < s->n && i < MAX_CALLS; i++) {
		cr_assert_eq(t->calls[i].type, s->type[i], "message %d type", i);
		cr_assert_eq(t->calls[i].total, s->total[i], "message %d total", i);
	}
}

/* A handful of small messages of various types and sizes (empty bodies included). */
static void small_messages(struct stream *s)
{
	static const struct {
		uint8_t type;
		uint32_t body;
	} m[] = {{'Q', 9}, {'P', 30}, {'B', 12},  {'D', 0}, {'E', 9},
	         {'S', 0}, {'H', 0},  {'d', 100}, {'c', 0}, {'X', 0}};
	for (uint32_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		s_msg(s, m[i].type, m[i].body, i + 1);
}

/* ---- forwarding ---- */

Test(relay, run_of_small_messages_in_one_write)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	small_messages(&s);

	pump(a, s.data, s.len, s.len, b, &got, s.len, 50);
	assert_same(&got, s.data, s.len);
	assert_calls_once_each(a, &s);
	for (int i = 0; i < s.n; i++)
		cr_assert_eq(a->calls[i].avail, a->calls[i].total, "all in one read");
	cr_assert_null(a->c.rbuf, "an idle connection holds no buffer");
	cr_assert_eq(wb_pending(&b->c.out), 0);
	cr_assert_eq(b->n_calls, 0);
	cr_assert_eq(a->n_failed + b->n_failed, 0);
	cr_assert(ev_is_active(&a->c.rio));
	s_free(&s);
	s_free(&got);
}

Test(relay, one_byte_at_a_time)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	small_messages(&s);

	pump(a, s.data, s.len, 1, b, &got, s.len, (int)s.len + 50);
	assert_same(&got, s.data, s.len);
	assert_calls_once_each(a, &s);
	for (int i = 0; i < s.n; i++)
		cr_assert_eq(a->calls[i].avail, PKT_HDR_LEN,
		             "message %d offered as soon as its header was complete", i);
	cr_assert_null(a->c.rbuf);
	s_free(&s);
	s_free(&got);
}

Test(relay, headers_straddling_buffer_refills)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	use_bufsize(256);
	new_pair(&a, &b);
	/* sizes up to twice the buffer, written in odd pieces: headers get split everywhere */
	for (uint32_t i = 0; i < 300; i++)
		s_msg(&s, (uint8_t)('A' + i % 26), (i * 37) % 600, i);

	pump(a, s.data, s.len, 97, b, &got, s.len, 20000);
	assert_same(&got, s.data, s.len);
	assert_calls_once_each(a, &s);
	s_free(&s);
	s_free(&got);
}

Test(relay, message_larger_than_buffer_streams_through)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	s_msg(&s, 'Q', 20, 1);
	s_msg(&s, 'd', 1 << 20, 2);
	s_msg(&s, 'Z', 1, 3);
	uint64_t want = fnv1a(s.data, s.len);

	pump(a, s.data, s.len, 65536, b, &got, s.len, 20000);
	cr_assert_eq(got.len, s.len);
	cr_assert_eq(fnv1a(got.data, got.len), want, "checksum");
	assert_same(&got, s.data, s.len);
	assert_calls_once_each(a, &s);
	cr_assert_leq(a->calls[1].avail, w.bufsize);
	cr_assert_lt(a->calls[1].avail, a->calls[1].total, "offered before it was all here");
	cr_assert_null(a->c.rbuf);
	cr_assert_eq(a->c.pkt_remain, 0);
	s_free(&s);
	s_free(&got);
}

/* ---- PKT_SKIP, PKT_HANDLED ---- */

static enum pkt_action skip_special(struct tc *t, uint8_t type, const uint8_t *p, uint32_t total,
                                    uint32_t avail)
{
	return type == t->special ? PKT_SKIP : PKT_FORWARD;
}

static void check_skip(size_t chunk, uint32_t bufsize, uint32_t big)
{
	struct tc *a, *b;
	struct stream s = {0}, want = {0}, got = {0};
	use_bufsize(bufsize);
	new_pair(&a, &b);
	a->policy = skip_special;
	a->special = 'K';
	s_msg(&s, 'Q', 10, 1);
	s_msg(&s, 'K', 10, 2);
	s_msg(&s, 'Q', 20, 3);
	s_msg(&s, 'K', big, 4); /* larger than the buffer */
	cr_assert_gt(big, bufsize);
	s_msg(&s, 'D', 30, 5);
	s_msg(&s, 'K', 0, 6);
	s_msg(&s, 'K', 3, 7);
	s_msg(&s, 'Z', 1, 8);
	s_without(&s, 'K', &want);

	pump(a, s.data, s.len, chunk, b, &got, want.len, 100000);
	assert_same(&got, want.data, want.len);
	assert_calls_once_each(a, &s);
	cr_assert_null(a->c.rbuf);
	s_free(&s);
	s_free(&want);
	s_free(&got);
}

Test(relay, skip_drops_exactly_one_message)
{
	check_skip(1 << 20, 16384, 50000);
}

Test(relay, skip_in_small_pieces)
{
	check_skip(333, 16384, 50000);
}

Test(relay, skip_one_byte_at_a_time)
{
	check_skip(1, 256, 3000);
}

static enum pkt_action handle_special(struct tc *t, uint8_t type, const uint8_t *p, uint32_t total,
                                      uint32_t avail)
{
	if (type != t->special)
		return PKT_FORWARD;
	if (avail < total)
		return PKT_NEED_FULL;
	t->flag++;
	return PKT_HANDLED;
}

Test(relay, handled_consumes_one_whole_message)
{
	struct tc *a, *b;
	struct stream s = {0}, want = {0}, got = {0};
	new_pair(&a, &b);
	a->policy = handle_special;
	a->special = 'p';
	s_msg(&s, 'Q', 10, 1);
	s_msg(&s, 'p', 40, 2);
	s_msg(&s, 'p', 0, 3);
	s_msg(&s, 'Q', 12, 4);
	s_without(&s, 'p', &want);

	pump(a, s.data, s.len, 7, b, &got, want.len, 1000);
	assert_same(&got, want.data, want.len);
	cr_assert_eq(a->flag, 2);
	s_free(&s);
	s_free(&want);
	s_free(&got);
}

/* ---- PKT_NEED_FULL ---- */

static enum pkt_action need_full(struct tc *t, uint8_t type, const uint8_t *p, uint32_t total,
                                 uint32_t avail)
{
	return avail < total ? PKT_NEED_FULL : PKT_FORWARD;
}

Test(relay, need_full_message_split_across_reads)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	use_bufsize(4096);
	new_pair(&a, &b);
	a->policy = need_full;
	/* one write: the first read ends 1096 bytes into the second message */
	s_msg(&s, 'D', 2995, 1);
	s_msg(&s, 'D', 3000, 2);
	s_msg(&s, 'Z', 1, 3);

	pump(a, s.data, s.len, s.len, b, &got, s.len, 1000);
	assert_same(&got, s.data, s.len);
	cr_assert_geq(a->n_calls, 4);
	/* the second message: offered partially first, then whole */
	int partial = 0, whole = 0;
	for (int i = 0; i < a->n_calls; i++) {
		if (a->calls[i].total != s.total[1])
			continue;
		if (a->calls[i].avail < a->calls[i].total) {
			cr_assert_eq(whole, 0, "no partial offer after the whole one");
			partial++;
		} else {
			whole++;
		}
	}
	cr_assert_geq(partial, 1);
	cr_assert_eq(whole, 1);
	cr_assert_eq(a->calls[a->n_calls - 1].avail, a->calls[a->n_calls - 1].total);
	s_free(&s);
	s_free(&got);
}

Test(relay, need_full_one_byte_at_a_time)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	a->policy = need_full;
	s_msg(&s, 'Q', 50, 1);

	pump(a, s.data, s.len, 1, b, &got, s.len, 500);
	assert_same(&got, s.data, s.len);
	/* offered at every byte from the complete header on; the last offer is whole */
	cr_assert_eq(a->n_calls, (int)(s.total[0] - PKT_HDR_LEN + 1));
	for (int i = 0; i < a->n_calls; i++) {
		cr_assert_eq(a->calls[i].total, s.total[0]);
		cr_assert_eq(a->calls[i].avail, PKT_HDR_LEN + (uint32_t)i);
	}
	cr_assert_eq(a->calls[a->n_calls - 1].avail, s.total[0]);
	s_free(&s);
	s_free(&got);
}

/* ---- PKT_PAUSE ---- */

static enum pkt_action pause_special(struct tc *t, uint8_t type, const uint8_t *p, uint32_t total,
                                     uint32_t avail)
{
	return type == t->special && !t->flag ? PKT_PAUSE : PKT_FORWARD;
}

Test(relay, pause_then_resume)
{
	struct tc *a, *b;
	struct stream s = {0}, more = {0}, got = {0};
	new_pair(&a, &b);
	a->policy = pause_special;
	a->special = 'P';
	s_msg(&s, 'Q', 10, 1);
	s_msg(&s, 'P', 20, 2);
	s_msg(&s, 'Q', 30, 3);
	size_t first_len = s.total[0];

	pump(a, s.data, s.len, s.len, b, &got, first_len, 100);
	assert_same(&got, s.data, first_len);
	cr_assert(a->c.paused);
	cr_assert_eq(a->n_calls, 2);
	/* a paused connection keeps reading while its buffer has room (to notice a peer that
	 * goes away), but walks nothing */
	cr_assert(ev_is_active(&a->c.rio));
	uint32_t rlen = a->c.rlen;

	s_msg(&more, 'S', 0, 4);
	cr_assert_eq(send(a->peer, more.data, more.len, MSG_NOSIGNAL), (ssize_t)more.len);
	settle(b, &got, 10);
	cr_assert_eq(got.len, first_len, "nothing forwarded while paused");
	cr_assert_eq(a->n_calls, 2, "nothing walked while paused");
	cr_assert_eq(a->c.rlen, rlen + more.len, "but the bytes were read into the buffer");
	cr_assert(a->c.paused);

	/* resuming walks the buffered messages at once */
	a->flag = 1;
	conn_resume(&a->c);
	cr_assert_not(a->c.paused);
	cr_assert(ev_is_active(&a->c.rio));
	drain(b->peer, &got);
	s_raw(&s, more.data, more.len);
	assert_same(&got, s.data, s.len);
	cr_assert_eq(a->n_calls, 5, "P offered again, then Q and S");
	cr_assert_eq(a->calls[2].type, 'P');
	cr_assert_eq(a->calls[4].type, 'S');
	settle(b, &got, 5);
	assert_same(&got, s.data, s.len);
	cr_assert_null(a->c.rbuf);
	s_free(&s);
	s_free(&more);
	s_free(&got);
}

Test(relay, paused_with_full_buffer_stops_reading)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	use_bufsize(1024);
	new_pair(&a, &b);
	a->policy = pause_special;
	a->special = 'P';
	s_msg(&s, 'P', 10, 1);
	for (uint32_t i = 0; i < 20; i++)
		s_msg(&s, 'D', 200 + i, i + 2);

	cr_assert_eq(send(a->peer, s.data, s.len, MSG_NOSIGNAL), (ssize_t)s.len);
	settle(b, &got, 20);
	cr_assert(a->c.paused);
	cr_assert_eq(a->n_calls, 1);
	cr_assert_eq(got.len, 0);
	cr_assert_eq(a->c.rlen, w.bufsize, "read until the buffer was full");
	cr_assert_not(ev_is_active(&a->c.rio), "then stopped");

	a->flag = 1;
	conn_resume(&a->c);
	pump(a, NULL, 0, 1, b, &got, s.len, 1000);
	assert_same(&got, s.data, s.len);
	cr_assert_eq(a->n_calls, s.n + 1, "P offered twice, every other message once");
	cr_assert_eq(a->calls[0].type, 'P');
	for (int i = 0; i < s.n; i++) {
		cr_assert_eq(a->calls[i + 1].type, s.type[i]);
		cr_assert_eq(a->calls[i + 1].total, s.total[i]);
	}
	cr_assert(ev_is_active(&a->c.rio));
	s_free(&s);
	s_free(&got);
}

Test(relay, paused_connection_notices_eof)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	a->policy = pause_special;
	a->special = 'P';
	s_msg(&s, 'P', 10, 1);
	s_msg(&s, 'Q', 10, 2);

	cr_assert_eq(send(a->peer, s.data, s.len, MSG_NOSIGNAL), (ssize_t)s.len);
	settle(b, &got, 5);
	cr_assert(a->c.paused);
	close(a->peer);
	a->peer = -1;
	settle(b, &got, 5);
	cr_assert_eq(a->n_failed, 1);
	cr_assert_str_eq(a->reason, "unexpected eof");
	cr_assert(a->c.closed);
	cr_assert_eq(a->n_calls, 1);
	cr_assert_eq(got.len, 0);
	s_free(&s);
	s_free(&got);
}

/* ---- PKT_FORWARD_POST ---- */

static enum pkt_action post_special(struct tc *t, uint8_t type, const uint8_t *p, uint32_t total,
                                    uint32_t avail)
{
	return type == t->special ? PKT_FORWARD_POST : PKT_FORWARD;
}

Test(relay, forward_post_runs_after_the_message_was_sent)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	a->policy = post_special;
	a->special = 'Z';
	s_msg(&s, 'D', 10, 1);
	s_msg(&s, 'Z', 1, 2);
	s_msg(&s, 'D', 20, 3);
	s_msg(&s, 'D', 0, 4);
	s_msg(&s, 'Z', 1, 5);

	pump(a, s.data, s.len, s.len, b, &got, s.len, 100);
	assert_same(&got, s.data, s.len);
	cr_assert_eq(a->n_post, 2);
	/* when post() ran, everything up to and including that 'Z' was at the peer */
	cr_assert_eq(a->post_peek[0], s.start[1] + s.total[1]);
	cr_assert_eq(a->post_peek[1], s.len);
	s_free(&s);
	s_free(&got);
}

Test(relay, forward_post_when_message_arrives_in_pieces)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	a->policy = post_special;
	a->special = 'Z';
	s_msg(&s, 'D', 10, 1);
	s_msg(&s, 'Z', 1, 2);

	pump(a, s.data, s.len, 1, b, &got, s.len, 200);
	assert_same(&got, s.data, s.len);
	cr_assert_eq(a->n_post, 1, "post() after the whole message was relayed");
	s_free(&s);
	s_free(&got);
}

/* ---- backpressure ---- */

static void send_some(int fd, const struct stream *s, size_t *sent)
{
	while (*sent < s->len) {
		size_t n = s->len - *sent < 65536 ? s->len - *sent : 65536;
		ssize_t k = send(fd, s->data + *sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k <= 0) {
			cr_assert(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "send: %s",
			          strerror(errno));
			return;
		}
		*sent += (size_t)k;
	}
}

Test(relay, backpressure_stops_reading_then_resumes)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	int small = 4096;
	cr_assert_eq(setsockopt(b->c.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	for (uint32_t i = 0; s.len < (4u << 20); i++)
		s_msg(&s, 'd', 8000 + (i % 7) * 300, i);
	const uint32_t bound = 2 * w.bufsize;
	uint32_t max_pending = 0;
	size_t sent = 0;

	/* Phase 1: nobody reads the destination. Push until everything stalls. */
	int stalled = 0;
	for (int i = 0; i < 5000 && stalled < 20; i++) {
		size_t before = sent;
		uint64_t in_before = w.stats.bytes_in;
		send_some(a->peer, &s, &sent);
		ev_run(w.loop, EVRUN_NOWAIT);
		uint32_t pend = wb_pending(&b->c.out);
		if (pend > max_pending)
			max_pending = pend;
		cr_assert_leq(pend, bound, "destination queue %u > %u", pend, bound);
		if (pend)
			cr_assert_not(ev_is_active(&a->c.rio),
			              "reading while the destination is backed up");
		stalled = sent == before && w.stats.bytes_in == in_before ? stalled + 1 : 0;
	}
	cr_assert_eq(stalled, 20, "the relay never stalled");
	cr_assert_lt(sent, s.len, "the source peer is blocked as well");
	cr_assert_not(ev_is_active(&a->c.rio), "source stopped reading");
	cr_assert_gt(wb_pending(&b->c.out), 0);
	cr_assert(ev_is_active(&b->c.wio), "destination waits for writability");
	cr_assert_eq(b->c.blocked_src, &a->c);

	/* Phase 2: drain the destination; the source resumes and everything arrives. */
	int resumed = 0;
	for (int i = 0; i < 100000 && got.len < s.len; i++) {
		drain(b->peer, &got);
		send_some(a->peer, &s, &sent);
		ev_run(w.loop, EVRUN_NOWAIT);
		uint32_t pend = wb_pending(&b->c.out);
		if (pend > max_pending)
			max_pending = pend;
		cr_assert_leq(pend, bound, "destination queue %u > %u", pend, bound);
		if (pend)
			cr_assert_not(ev_is_active(&a->c.rio),
			              "reading while the destination is backed up");
		else if (ev_is_active(&a->c.rio))
			resumed++;
	}
	settle(b, &got, 5);
	cr_assert_eq(sent, s.len);
	cr_assert_gt(resumed, 0, "reading resumed once the queue drained");
	cr_assert_eq(fnv1a(got.data, got.len), fnv1a(s.data, s.len));
	assert_same(&got, s.data, s.len);
	cr_assert(ev_is_active(&a->c.rio));
	cr_assert_eq(wb_pending(&b->c.out), 0);
	cr_assert_null(b->c.out.data, "a drained queue gives its memory back");
	cr_assert_not(ev_is_active(&b->c.wio));
	cr_assert_null(b->c.blocked_src);
	cr_assert_null(a->c.rbuf);
	cr_assert_eq(a->n_failed + b->n_failed, 0);
	cr_log_info("backpressure: max destination queue %u bytes (bufsize %u)", max_pending,
	            w.bufsize);
	s_free(&s);
	s_free(&got);
}

/* ---- end of stream, errors ---- */

Test(relay, peer_close_reports_unexpected_eof)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	s_msg(&s, 'Q', 10, 1);
	s_msg(&s, 'Q', 10, 2);
	size_t whole = s.total[0];

	/* one whole message and 3 bytes of the next one's header, then the peer goes away */
	cr_assert_eq(send(a->peer, s.data, whole + 3, MSG_NOSIGNAL), (ssize_t)(whole + 3));
	close(a->peer);
	a->peer = -1;
	settle(b, &got, 10);
	assert_same(&got, s.data, whole);
	cr_assert_eq(a->n_failed, 1);
	cr_assert_str_eq(a->reason, "unexpected eof");
	cr_assert(a->c.closed);
	cr_assert_eq(a->c.fd, -1);
	cr_assert_null(a->c.rbuf);
	cr_assert_not(list_empty(&w.dead), "queued for freeing");
	cr_assert_eq(list_first(&w.dead), &a->c.dead_node);
	cr_assert_eq(b->n_failed, 0);
	cr_assert_not(b->c.closed);
	s_free(&s);
	s_free(&got);
}

Test(relay, peer_close_when_idle)
{
	struct tc *a = new_tc();
	close(a->peer);
	a->peer = -1;
	settle(NULL, NULL, 5);
	cr_assert_eq(a->n_failed, 1);
	cr_assert_str_eq(a->reason, "unexpected eof");
	cr_assert_eq(a->n_calls, 0);
}

Test(relay, destination_gone)
{
	struct tc *a, *b;
	struct stream s = {0};
	new_pair(&a, &b);
	close(b->peer);
	b->peer = -1;
	small_messages(&s);
	cr_assert_eq(send(a->peer, s.data, s.len, MSG_NOSIGNAL), (ssize_t)s.len);
	settle(NULL, NULL, 10);
	cr_assert_eq(b->n_failed, 1, "the destination reports its failure");
	cr_assert(b->c.closed);
	cr_assert_eq(a->n_failed, 0, "the source is not failed by its destination");
	cr_assert_not(a->c.closed);
	cr_assert_eq(a->n_calls, s.n);
	s_free(&s);
}

static enum pkt_action close_on_bad_length(struct tc *t, uint8_t type, const uint8_t *p,
                                           uint32_t total, uint32_t avail)
{
	uint32_t len = pg_get_u32(t->c.startup_mode ? p : p + 1);
	if (len < 4) {
		t->flag = 1;
		conn_close(&t->c);
		return PKT_GONE;
	}
	return PKT_FORWARD;
}

Test(relay, bad_length_gives_handler_the_header)
{
	struct tc *a, *b;
	struct stream got = {0};
	new_pair(&a, &b);
	a->policy = close_on_bad_length;
	static const uint8_t bad[] = {'Q', 0, 0, 0, 2, 'x', 'y', 'z'};
	pump(a, bad, sizeof(bad), sizeof(bad), b, &got, 0, 20);
	cr_assert_eq(a->n_calls, 1);
	cr_assert_eq(a->calls[0].total, PKT_HDR_LEN);
	cr_assert_eq(a->calls[0].avail, PKT_HDR_LEN);
	cr_assert_eq(a->flag, 1);
	cr_assert(a->c.closed);
	cr_assert_eq(a->n_failed, 0);
	cr_assert_eq(got.len, 0, "nothing forwarded");
	s_free(&got);
}

/* ---- startup mode ---- */

static enum pkt_action startup_policy(struct tc *t, uint8_t type, const uint8_t *p, uint32_t total,
                                      uint32_t avail)
{
	if (type == 0) {
		cr_assert_eq(pg_get_u32(p), total, "p points at the length");
		if (avail < total)
			return PKT_NEED_FULL;
		if (pg_get_u32(p + 4) == PROTO_V3)
			t->c.startup_mode = 0; /* typed messages from here on */
	}
	return PKT_FORWARD;
}

static void check_startup(size_t chunk)
{
	struct tc *a, *b;
	struct stream s = {0}, got = {0};
	new_pair(&a, &b);
	a->c.startup_mode = 1;
	a->policy = startup_policy;
	uint8_t ssl[4];
	pg_put_u32(ssl, PROTO_SSL);
	s_untyped(&s, ssl, 4);
	static const char params[] = "user\0bob\0database\0db\0";
	uint8_t body[64];
	pg_put_u32(body, PROTO_V3);
	memcpy(body + 4, params, sizeof(params));
	s_untyped(&s, body, 4 + (uint32_t)sizeof(params));
	s_msg(&s, 'Q', 9, 1);
	s_msg(&s, 'X', 0, 2);

	pump(a, s.data, s.len, chunk, b, &got, s.len, 1000);
	assert_same(&got, s.data, s.len);
	/* the untyped packets are delivered with type 0 and their own length as total;
	 * keep their whole offers (NEED_FULL before that) and every offer of a typed one */
	int idx[4] = {-1, -1, -1, -1}, k = 0;
	for (int i = 0; i < a->n_calls; i++)
		if (a->calls[i].type != 0 || a->calls[i].avail == a->calls[i].total) {
			cr_assert_lt(k, 4, "too many offers");
			idx[k++] = i;
		}
	cr_assert_eq(k, 4, "each packet offered once (whole, for the untyped ones)");
	for (int m = 0; m < 4; m++) {
		cr_assert_eq(a->calls[idx[m]].type, s.type[m], "packet %d type", m);
		cr_assert_eq(a->calls[idx[m]].total, s.total[m], "packet %d total", m);
	}
	if (chunk == 1)
		cr_assert_eq(a->calls[0].avail, 4, "offered once the 4-byte length is complete");
	cr_assert_eq(a->calls[0].type, 0);
	cr_assert_eq(a->calls[0].total, 8, "SSLRequest is 8 bytes");
	cr_assert_eq(a->c.startup_mode, 0);
	s_free(&s);
	s_free(&got);
}

Test(relay, startup_mode_untyped_packets)
{
	check_startup(1 << 16);
}

Test(relay, startup_mode_one_byte_at_a_time)
{
	check_startup(1);
}

/* ---- generated messages ---- */

Test(relay, queued_bytes_keep_their_place)
{
	struct tc *a, *b;
	struct stream s1 = {0}, s2 = {0}, want = {0}, got = {0};
	new_pair(&a, &b);
	s_msg(&s1, 'D', 10, 1);
	s_msg(&s2, 'D', 20, 2);
	static const uint8_t rfq[] = {'Z', 0, 0, 0, 5, 'I'};

	pump(a, s1.data, s1.len, s1.len, b, &got, s1.len, 50);
	conn_queue(&b->c, rfq, sizeof(rfq));
	pump(a, s2.data, s2.len, s2.len, b, &got, s1.len + sizeof(rfq) + s2.len, 50);
	s_raw(&want, s1.data, s1.len);
	s_raw(&want, rfq, sizeof(rfq));
	s_raw(&want, s2.data, s2.len);
	assert_same(&got, want.data, want.len);
	cr_assert_eq(wb_pending(&b->c.out), 0);
	s_free(&s1);
	s_free(&s2);
	s_free(&want);
	s_free(&got);
}
