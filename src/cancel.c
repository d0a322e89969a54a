/* Cancel keys: each client gets sluice's own (pid, key); a CancelRequest carrying
 * it is forwarded, on a new connection, to the server running that client's query. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "handover.h"
#include "log.h"
#include "peers.h"
#include "server.h"
#include "worker.h"

#define CANCELS_IN_FLIGHT_MAX 1024

struct cancel_req {
	ev_io io;
	ev_timer timer;
	struct worker *w;
	int fd;
	uint8_t pkt[16];
};

static uint32_t bucket(const struct worker *w, uint32_t pid, uint32_t key)
{
	uint32_t h = pid * 2654435761u ^ key;
	return (h ^ (h >> 16)) & w->cancel_mask;
}

void cancel_register(struct worker *w, struct client *cl)
{
	uint32_t k[2];
	do {
		RAND_bytes((unsigned char *)k, sizeof(k));
		/* a positive "pid", as clients print it, carrying the peer id when peering is on */
		k[0] = peers_make_pid(w->cfg->peer_id, k[0]);
	} while (cancel_lookup(w, k[0], k[1]));
	cl->cancel_pid = k[0];
	cl->cancel_key = k[1];
	uint32_t b = bucket(w, k[0], k[1]);
	cl->cancel_next = w->cancel_tab[b];
	w->cancel_tab[b] = cl;
}

void cancel_unregister(struct worker *w, struct client *cl)
{
	if (!cl->cancel_pid && !cl->cancel_key)
		return;
	struct client **pp = &w->cancel_tab[bucket(w, cl->cancel_pid, cl->cancel_key)];
	for (; *pp; pp = &(*pp)->cancel_next) {
		if (*pp == cl) {
			*pp = cl->cancel_next;
			break;
		}
	}
	cl->cancel_pid = cl->cancel_key = 0;
}

struct client *cancel_lookup(struct worker *w, uint32_t pid, uint32_t key)
{
	for (struct client *cl = w->cancel_tab[bucket(w, pid, key)]; cl; cl = cl->cancel_next)
		if (cl->cancel_pid == pid && cl->cancel_key == key)
			return cl;
	return NULL;
}

static void cancel_done(struct cancel_req *req)
{
	ev_io_stop(req->w->loop, &req->io);
	ev_timer_stop(req->w->loop, &req->timer);
	req->w->n_cancels--;
	close(req->fd);
	free(req);
}

static void cancel_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct cancel_req *req = io->data;
	int err = 0;
	socklen_t l = sizeof(err);
	(void)loop;
	(void)revents;
	getsockopt(req->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err || send(req->fd, req->pkt, sizeof(req->pkt), MSG_NOSIGNAL) != sizeof(req->pkt))
		log_warn("cancel request could not be forwarded: %s", strerror(err ? err : errno));
	cancel_done(req);
}

static void cancel_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	log_warn("cancel request could not be forwarded: connect timeout");
	cancel_done(t->data);
}

/* Send CancelRequest(pid, key) to addr on a new non-blocking connection (the loop waits for
 * the connect, bounded by a timer); 0, or -1 when it could not even start. */
int cancel_send(struct worker *w, const struct sockaddr_storage *addr, socklen_t addrlen,
                uint32_t pid, uint32_t key)
{
	int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)addr, addrlen) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct cancel_req *req = calloc(1, sizeof(*req));
	if (!req) {
		close(fd);
		return -1;
	}
	req->w = w;
	req->fd = fd;
	pg_put_u32(req->pkt, 16);
	pg_put_u32(req->pkt + 4, PROTO_CANCEL);
	pg_put_u32(req->pkt + 8, pid);
	pg_put_u32(req->pkt + 12, key);
	ev_io_init(&req->io, cancel_io_cb, fd, EV_WRITE);
	req->io.data = req;
	ev_timer_init(&req->timer, cancel_timeout_cb, 10.0, 0);
	req->timer.data = req;
	ev_io_start(w->loop, &req->io);
	ev_timer_start(w->loop, &req->timer);
	w->n_cancels++;
	return 0;
}

void cancel_forward(struct client *cl)
{
	struct server *srv = cl->server;
	if (!srv || !srv->logged_in) {
		clog(cl, LOG_LVL_DEBUG, "cancel request ignored: no query running");
		return;
	}
	/* The address the server connection was made to: a host name may point elsewhere now. */
	if (cancel_send(cl->c.w, &srv->addr, srv->addrlen, srv->be_pid, srv->be_key) < 0) {
		clog(cl, LOG_LVL_WARNING, "cancel request could not be forwarded: %s",
		     strerror(errno));
		return;
	}
	clog(cl, LOG_LVL_LOG, "forwarding cancel request to %u", srv->id);
}

void cancel_request(struct worker *w, uint32_t pid, uint32_t key)
{
	int owner = peers_pid_owner(w->cfg->peer_id, pid);
	if (owner && owner != w->cfg->peer_id) {
		const struct peer_entry *p = peers_find(w->cfg, owner);
		if (!p) {
			log_warn("cancel request for peer %d dropped: no such peer in [peers]",
			         owner);
			return;
		}
		/* A [peers] address that leads back here would pass the same cancel around for
		 * ever: bound what is in flight. */
		if (w->n_cancels >= CANCELS_IN_FLIGHT_MAX) {
			log_warn("cancel request for peer %d dropped: %d cancel requests in flight "
			         "(does a [peers] address lead back to this process?)",
			         owner, w->n_cancels);
			return;
		}
		if (cancel_send(w, &p->addr, p->addrlen, pid, key) < 0)
			log_warn("cancel request for peer %d could not be passed to %s:%d: %s",
			         owner, p->host, p->port, strerror(errno));
		else
			log_info("cancel request passed to peer %d (%s:%d)", owner, p->host,
			         p->port);
		return;
	}
	struct client *target = cancel_lookup(w, pid, key);
	if (target)
		cancel_forward(target);
	else if (!handover_pass_cancel(w, pid, key))
		log_debug("cancel request matched no client");
}

void cancel_local(struct worker *w, uint32_t pid, uint32_t key)
{
	struct client *target = cancel_lookup(w, pid, key);
	if (target)
		cancel_forward(target);
	else
		log_debug("passed cancel request matched no client here either");
}
