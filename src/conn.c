/* The relay engine: walk message headers, forward runs of bytes, apply backpressure. */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tls.h"
#include "worker.h"

static void conn_read_cb(struct ev_loop *loop, ev_io *io, int revents);
static void conn_write_cb(struct ev_loop *loop, ev_io *io, int revents);

void conn_init(struct conn *c, struct worker *w, int fd, const struct conn_ops *ops, int is_server)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->w = w;
	c->ops = ops;
	c->is_server = (uint8_t)is_server;
	list_init(&c->dead_node);
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	c->rio.data = c;
	c->wio.data = c;
	if (fd >= 0) /* -1: a server connection still waiting for DNS (conn_set_fd later) */
		ev_io_start(w->loop, &c->rio);
}

void conn_set_fd(struct conn *c, int fd)
{
	ev_io_stop(c->w->loop, &c->rio);
	ev_io_stop(c->w->loop, &c->wio);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = fd;
	ev_io_set(&c->rio, fd, EV_READ);
	ev_io_set(&c->wio, fd, EV_WRITE);
}

void conn_restore_write_cb(struct conn *c)
{
	ev_set_cb(&c->wio, conn_write_cb);
}

void conn_release_rbuf(struct conn *c)
{
	if (c->rbuf && c->scan >= c->rlen && c->pkt_remain == 0) {
		slab_put(&c->w->bufs, c->rbuf);
		c->rbuf = NULL;
		c->rlen = c->scan = c->send_pos = 0;
	}
}

static void conn_fail(struct conn *c, const char *reason)
{
	if (!c->closed)
		c->ops->failed(c, reason);
}

/* The socket calls, or their TLS look-alikes when the connection has TLS (one branch). */
static inline ssize_t conn_sys_send(struct conn *c, const void *p, size_t len)
{
	if (c->tls)
		return tls_send(c, p, len);
	return send(c->fd, p, len, MSG_NOSIGNAL);
}

static const char *conn_io_error(const struct conn *c)
{
	return c->tls ? tls_error(c) : strerror(errno);
}

void conn_consume(struct conn *c, uint32_t n)
{
	if (n > c->rlen - c->scan)
		n = c->rlen - c->scan;
	c->scan += n;
	c->send_pos = c->scan;
}

int conn_flush(struct conn *c)
{
	while (wb_pending(&c->out)) {
		ssize_t n = conn_sys_send(c, c->out.data + c->out.off, wb_pending(&c->out));
		if (n > 0) {
			c->out.off += (uint32_t)n;
			c->w->stats.bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!ev_is_active(&c->wio))
				ev_io_start(c->w->loop, &c->wio);
			return 0;
		}
		conn_fail(c, n < 0 ? conn_io_error(c) : "write failed");
		return -1;
	}
	/* Drained: give the memory back so an idle connection holds none. */
	int had = c->out.data != NULL;
	wb_free(&c->out);
	if (ev_is_active(&c->wio))
		ev_io_stop(c->w->loop, &c->wio);
	if (c->blocked_src) {
		struct conn *src = c->blocked_src;
		c->blocked_src = NULL;
		conn_update_read(src);
	}
	/* Last: the callback may send again (held notifications), and a partial send arms the
	 * write watcher, which must not be stopped after it. */
	if (had && c->ops->drained && !c->closed)
		c->ops->drained(c);
	return 0;
}

void conn_queue(struct conn *c, const void *p, size_t len)
{
	if (c->closed)
		return;
	wb_put(&c->out, p, len);
	if (c->out.oom) {
		conn_fail(c, "out of memory");
		return;
	}
	conn_flush(c);
}

/* Send bytes to dst: straight from the caller's buffer when nothing is queued,
 * otherwise (or for the unsent tail) through dst's out queue. */
static int conn_send_to(struct conn *dst, const uint8_t *p, size_t len)
{
	if (dst->closed)
		return -1;
	if (!wb_pending(&dst->out)) {
		while (len) {
			ssize_t n = conn_sys_send(dst, p, len);
			if (n > 0) {
				dst->w->stats.bytes_out += (uint64_t)n;
				p += n;
				len -= (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			conn_fail(dst, n < 0 ? conn_io_error(dst) : "write failed");
			return -1;
		}
		if (!len)
			return 0;
	}
	wb_put(&dst->out, p, len);
	if (dst->out.oom) {
		conn_fail(dst, "out of memory");
		return -1;
	}
	if (!ev_is_active(&dst->wio))
		ev_io_start(dst->w->loop, &dst->wio);
	return 0;
}

/* Hand the forward run [send_pos, scan) to the destination. */
static void conn_flush_run(struct conn *c)
{
	if (c->scan > c->send_pos) {
		if (c->dst && !c->dst->closed)
			conn_send_to(c->dst, c->rbuf + c->send_pos, c->scan - c->send_pos);
		c->send_pos = c->scan;
	}
}

void conn_flush_forward(struct conn *c)
{
	if (c->rbuf)
		conn_flush_run(c);
}

int conn_send(struct conn *dst, const void *p, size_t len)
{
	return conn_send_to(dst, p, len);
}

void conn_link(struct conn *c, struct conn *dst)
{
	conn_unlink(c);
	c->dst = dst;
}

void conn_unlink(struct conn *c)
{
	if (c->dst && c->dst->blocked_src == c)
		c->dst->blocked_src = NULL;
	c->dst = NULL;
}

void conn_update_read(struct conn *c)
{
	/* A paused connection keeps reading while its buffer has room: nothing is walked, but
	 * a peer that goes away is noticed at once instead of when the owner resumes. */
	int want = !c->closed && !(c->dst && wb_pending(&c->dst->out));
	if (want && c->rbuf && c->rlen >= c->w->bufsize)
		want = 0; /* full: wait for the owner to walk it */
	if (c->tls && tls_read_for_write(c) && !c->closed)
		want = 1; /* its own pending write needs the socket read (TLS renegotiation) */
	if (c->dst && wb_pending(&c->dst->out) && !c->closed)
		c->dst->blocked_src = c;
	if (want && !ev_is_active(&c->rio))
		ev_io_start(c->w->loop, &c->rio);
	else if (!want && ev_is_active(&c->rio))
		ev_io_stop(c->w->loop, &c->rio);
	/* Bytes OpenSSL already decrypted will not make the socket readable again. */
	if (want && c->tls && tls_pending(c))
		ev_feed_event(c->w->loop, &c->rio, EV_READ);
}

void conn_process(struct conn *c)
{
	if (c->in_process || c->closed)
		return;
	c->in_process = 1;
	while (c->rbuf && !c->closed && !c->paused) {
		uint32_t avail = c->rlen - c->scan;
		if (c->pkt_remain) {
			uint32_t n = avail < c->pkt_remain ? avail : c->pkt_remain;
			if (!n)
				break;
			if (c->pkt_skip) {
				conn_flush_run(c);
				c->scan += n;
				c->send_pos = c->scan;
			} else {
				c->scan += n;
			}
			c->pkt_remain -= n;
			if (!c->pkt_remain && c->post_pending) {
				c->post_pending = 0;
				conn_flush_run(c);
				if (c->ops->post && !c->closed)
					c->ops->post(c);
			}
			continue;
		}
		uint32_t hdr = c->startup_mode ? 4 : PKT_HDR_LEN;
		if (avail < hdr)
			break;
		const uint8_t *p = c->rbuf + c->scan;
		uint8_t type = c->startup_mode ? 0 : p[0];
		uint32_t len = pg_get_u32(c->startup_mode ? p : p + 1);
		uint64_t total64 = c->startup_mode ? len : (uint64_t)len + 1;
		if (len < 4 || total64 > UINT32_MAX) {
			/* The handler reports protocol errors; give it the raw header. */
			total64 = hdr;
		}
		uint32_t total = (uint32_t)total64;
		uint32_t here = avail < total ? avail : total;
		enum pkt_action act = c->ops->packet(c, type, p, total, here);
		if (c->closed || act == PKT_GONE)
			break;
		if (c->skip_prefix && (act == PKT_FORWARD || act == PKT_FORWARD_POST)) {
			/* The handler replaced the start of this message (or all of it). */
			uint32_t k = c->skip_prefix;
			c->skip_prefix = 0;
			if (k >= total) {
				act = PKT_SKIP;
			} else {
				conn_flush_run(c);
				c->scan += k;
				c->send_pos = c->scan;
				here -= k;
				total -= k;
			}
		}
		switch (act) {
		case PKT_FORWARD:
		case PKT_FORWARD_POST:
			if (!c->dst) { /* nowhere to go: drop it */
				conn_flush_run(c);
				c->scan += here;
				c->send_pos = c->scan;
				c->pkt_skip = 1;
			} else {
				c->scan += here;
				c->pkt_skip = 0;
			}
			c->pkt_remain = total - here;
			if (act == PKT_FORWARD_POST && c->pkt_remain) {
				c->post_pending = 1; /* called once the rest has streamed through */
			} else if (act == PKT_FORWARD_POST) {
				conn_flush_run(c);
				if (c->ops->post && !c->closed)
					c->ops->post(c);
			}
			break;
		case PKT_SKIP:
			conn_flush_run(c);
			c->scan += here;
			c->send_pos = c->scan;
			c->pkt_remain = total - here;
			c->pkt_skip = 1;
			break;
		case PKT_HANDLED:
			conn_flush_run(c);
			c->scan += total;
			c->send_pos = c->scan;
			break;
		case PKT_NEED_FULL:
			goto out;
		case PKT_PAUSE:
			c->paused = 1;
			goto out;
		case PKT_GONE:
			break;
		}
	}
out:
	if (!c->closed && c->rbuf) {
		conn_flush_run(c);
		if (!c->closed && c->rbuf) {
			if (c->scan >= c->rlen && !c->pkt_remain) {
				conn_release_rbuf(c);
			} else if (c->scan > 0 && !c->paused) {
				/* Keep the partial message at the front and read the rest after it.
				 */
				memmove(c->rbuf, c->rbuf + c->scan, c->rlen - c->scan);
				c->rlen -= c->scan;
				c->scan = c->send_pos = 0;
			}
		}
	}
	c->in_process = 0;
	if (!c->closed)
		conn_update_read(c);
}

void conn_resume(struct conn *c)
{
	if (c->closed)
		return;
	c->paused = 0;
	conn_process(c);
}

static void conn_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;
	struct worker *w = c->w;
	(void)loop;
	(void)revents;
	if (c->closed)
		return;
	if (c->tls && tls_intercept(c, EV_READ))
		return;
	if (!c->rbuf) {
		c->rbuf = slab_get(&w->bufs);
		if (!c->rbuf) {
			conn_fail(c, "out of memory");
			return;
		}
		c->rlen = c->scan = c->send_pos = 0;
	}
	if (c->rlen >= w->bufsize) {
		/* Buffer full of one unfinished message the handler wants whole. */
		conn_update_read(c);
		return;
	}
	ssize_t n = c->tls ? tls_recv(c, c->rbuf + c->rlen, w->bufsize - c->rlen)
	                   : recv(c->fd, c->rbuf + c->rlen, w->bufsize - c->rlen, 0);
	if (n > 0) {
		c->rlen += (uint32_t)n;
		w->stats.bytes_in += (uint64_t)n;
		conn_process(c);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		conn_release_rbuf(c);
		return;
	}
	conn_release_rbuf(c);
	conn_fail(c, n == 0 ? "unexpected eof" : conn_io_error(c));
}

void conn_try_read(struct conn *c)
{
	conn_read_cb(c->w->loop, &c->rio, EV_READ);
}

static void conn_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;
	(void)loop;
	(void)revents;
	if (c->closed)
		return;
	if (c->tls && tls_intercept(c, EV_WRITE))
		return;
	conn_flush(c);
}

void conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	ev_io_stop(c->w->loop, &c->rio);
	ev_io_stop(c->w->loop, &c->wio);
	if (c->tls)
		tls_conn_free(c);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->rbuf) {
		slab_put(&c->w->bufs, c->rbuf);
		c->rbuf = NULL;
	}
	wb_free(&c->out);
	if (c->blocked_src) {
		struct conn *src = c->blocked_src;
		c->blocked_src = NULL;
		conn_update_read(src);
	}
	conn_unlink(c);
	list_append(&c->w->dead, &c->dead_node);
}
