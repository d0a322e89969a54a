/* libFuzzer target: the relay engine's message walker (conn_process) fed arbitrary bytes in
 * arbitrary chunks, with a packet handler that decides like the client and server sides do
 * (startup packet whole, password and small protocol messages whole, the rest forwarded or
 * skipped while streaming) and parses what it inspects with the protocol readers.
 * Input: byte 0 seeds the chunk sizes; the rest is the byte stream. */
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "proto.h"
#include "slab.h"
#include "worker.h"

static struct worker w;
static int fds[2] = {-1, -1};

static int on_param(void *arg, const char *name, const char *value)
{
	(void)arg;
	return name[0] == 'x' && value[0] == 'x';
}

static void parse_fields(const uint8_t *body, uint32_t len)
{
	struct pkt_reader r;
	rd_init(&r, body, len);
	for (;;) {
		uint8_t f = rd_u8(&r);
		if (!f || r.err || !rd_cstr(&r))
			break;
	}
}

static enum pkt_action f_packet(struct conn *c, uint8_t type, const uint8_t *p, uint32_t total,
                                uint32_t avail)
{
	if (c->startup_mode) {
		if (total < 8 || total > STARTUP_MAX_LEN)
			return PKT_GONE;
		if (avail < total)
			return PKT_NEED_FULL;
		startup_parse(p + 8, total - 8, on_param, NULL);
		c->startup_mode = 0;
		return PKT_HANDLED;
	}
	if (total < PKT_HDR_LEN)
		return PKT_GONE;
	int inspect = type == 'p' || type == 'Z' || type == 'S' || type == 'E' || type == 'R';
	if (inspect) {
		if (total > w.bufsize)
			return PKT_GONE;
		if (avail < total)
			return PKT_NEED_FULL;
		struct pkt_reader r;
		rd_init(&r, p + PKT_HDR_LEN, total - PKT_HDR_LEN);
		if (type == 'S') {
			rd_cstr(&r);
			rd_cstr(&r);
		} else if (type == 'E') {
			parse_fields(p + PKT_HDR_LEN, total - PKT_HDR_LEN);
		} else if (type == 'R') {
			rd_u32(&r);
			rd_bytes(&r, rd_left(&r));
		} else if (type == 'p') {
			rd_cstr(&r);
			rd_u32(&r);
		}
		return type == 'Z' ? PKT_FORWARD_POST : PKT_HANDLED;
	}
	if (type == 'X')
		return PKT_GONE;
	return (type & 1) ? PKT_SKIP : PKT_FORWARD;
}

static void f_post(struct conn *c)
{
	(void)c;
}

static void f_failed(struct conn *c, const char *reason)
{
	(void)reason;
	c->closed = 1;
}

static const struct conn_ops ops = {.packet = f_packet, .post = f_post, .failed = f_failed};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!w.loop) {
		w.loop = ev_loop_new(0);
		w.bufsize = 16384;
		slab_init(&w.bufs, w.bufsize, 4);
		list_init(&w.dead);
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
			return 0;
	}
	if (size < 1)
		return 0;
	uint32_t seed = data[0] * 2654435761u;
	data++;
	size--;
	struct conn c;
	conn_init(&c, &w, fds[0], &ops, 0);
	c.startup_mode = 1;
	size_t off = 0;
	while (off < size && !c.closed) {
		if (!c.rbuf) {
			c.rbuf = slab_get(&w.bufs);
			c.rlen = c.scan = c.send_pos = 0;
		}
		seed = seed * 1103515245u + 12345u;
		size_t chunk = 1 + (seed >> 16) % 4096;
		size_t room = w.bufsize - c.rlen;
		if (chunk > size - off)
			chunk = size - off;
		if (chunk > room)
			chunk = room;
		if (!chunk) /* full of one message the handler wants whole: a real reader stops */
			break;
		memcpy(c.rbuf + c.rlen, data + off, chunk);
		c.rlen += (uint32_t)chunk;
		off += chunk;
		conn_process(&c);
		if (c.paused)
			conn_resume(&c);
	}
	ev_io_stop(w.loop, &c.rio);
	ev_io_stop(w.loop, &c.wio);
	if (c.rbuf)
		slab_put(&w.bufs, c.rbuf);
	wb_free(&c.out);
	return 0;
}
