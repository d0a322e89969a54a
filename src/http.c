/* Minimal HTTP/1.0-style server for /metrics, /healthz and /readyz on the worker's loop (see
 * include/http.h). One request per connection, answered from a buffer built at once, then the
 * connection closes: scrapers reconnect every scrape, and no state outlives a request. */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

#define HTTP_MAX_CONNS  32
#define HTTP_REQ_MAX    4096
#define HTTP_TIMEOUT    10.0
#define HTTP_MAX_LISTEN 4

struct http_conn {
	struct list node;
	struct http_server *hs;
	ev_io io;
	ev_timer timer;
	char req[HTTP_REQ_MAX];
	size_t req_len;
	struct wbuf out;
	int writing;
};

struct http_server {
	struct worker *w;
	ev_io listen[HTTP_MAX_LISTEN];
	int n_listen;
	struct list conns;
	int n_conns;
};

static void conn_free(struct http_conn *hc)
{
	struct ev_loop *loop = hc->hs->w->loop;
	ev_io_stop(loop, &hc->io);
	ev_timer_stop(loop, &hc->timer);
	close(hc->io.fd);
	wb_free(&hc->out);
	list_del(&hc->node);
	hc->hs->n_conns--;
	free(hc);
}

static void respond(struct http_conn *hc, int code, const char *ctype, const void *body, size_t len)
{
	char head[256];
	const char *reason = code == 200   ? "OK"
	                     : code == 404 ? "Not Found"
	                     : code == 405 ? "Method Not Allowed"
	                     : code == 503 ? "Service Unavailable"
	                     : code == 400 ? "Bad Request"
	                                   : "Internal Server Error";
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\nCache-Control: no-store\r\n\r\n",
	                 code, reason, ctype, len);
	wb_put(&hc->out, head, (size_t)n);
	wb_put(&hc->out, body, len);
	hc->writing = 1;
}

static void handle_request(struct http_conn *hc, int head_only)
{
	struct worker *w = hc->hs->w;
	char path[256] = "";
	char why[64];
	const char *sp = strchr(hc->req, ' ');
	if (sp) {
		const char *e = strpbrk(sp + 1, " ?\r\n");
		size_t n = e ? (size_t)(e - sp - 1) : 0;
		if (n < sizeof(path)) {
			memcpy(path, sp + 1, n);
			path[n] = '\0';
		}
	}
	if (!strcmp(path, "/metrics")) {
		struct wbuf body = {0};
		if (metrics_render(w, &body) < 0) {
			wb_free(&body);
			respond(hc, 500, "text/plain", "out of memory\n", 14);
			return;
		}
		respond(hc, 200, "text/plain; version=0.0.4; charset=utf-8", body.data,
		        head_only ? 0 : body.len);
		wb_free(&body);
	} else if (!strcmp(path, "/healthz")) {
		respond(hc, 200, "text/plain", "ok\n", head_only ? 0 : 3);
	} else if (!strcmp(path, "/readyz")) {
		int ok = admin_ready(w, why, sizeof(why));
		char body[96];
		int n = snprintf(body, sizeof(body), "%s\n", why);
		respond(hc, ok ? 200 : 503, "text/plain", body, head_only ? 0 : (size_t)n);
	} else {
		respond(hc, 404, "text/plain", "not found (try /metrics, /healthz, /readyz)\n",
		        head_only ? 0 : 45);
	}
}

static void conn_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct http_conn *hc = io->data;
	(void)revents;
	if (!hc->writing) {
		ssize_t n =
		    recv(io->fd, hc->req + hc->req_len, sizeof(hc->req) - 1 - hc->req_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_free(hc);
			return;
		}
		if (n < 0)
			return;
		hc->req_len += (size_t)n;
		hc->req[hc->req_len] = '\0';
		if (!strstr(hc->req, "\r\n\r\n") && !strstr(hc->req, "\n\n")) {
			if (hc->req_len >= sizeof(hc->req) - 1) {
				respond(hc, 400, "text/plain", "request too large\n", 18);
			} else {
				return;
			}
		} else if (!strncmp(hc->req, "GET ", 4) || !strncmp(hc->req, "HEAD ", 5)) {
			handle_request(hc, hc->req[0] == 'H');
		} else {
			respond(hc, 405, "text/plain", "only GET\n", 9);
		}
		if (hc->out.oom) {
			conn_free(hc);
			return;
		}
		ev_io_stop(loop, io);
		ev_io_set(io, io->fd, EV_WRITE);
		ev_io_start(loop, io);
	}
	while (wb_pending(&hc->out)) {
		ssize_t n =
		    send(io->fd, hc->out.data + hc->out.off, wb_pending(&hc->out), MSG_NOSIGNAL);
		if (n > 0) {
			hc->out.off += (uint32_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		break;
	}
	conn_free(hc);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	conn_free(t->data);
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct http_server *hs = io->data;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct http_conn *hc = hs->n_conns < HTTP_MAX_CONNS ? calloc(1, sizeof(*hc)) : NULL;
		if (!hc) { /* too many scrapers at once: the newest goes */
			close(fd);
			continue;
		}
		hc->hs = hs;
		ev_io_init(&hc->io, conn_cb, fd, EV_READ);
		hc->io.data = hc;
		ev_timer_init(&hc->timer, timeout_cb, HTTP_TIMEOUT, 0);
		hc->timer.data = hc;
		list_append(&hs->conns, &hc->node);
		hs->n_conns++;
		ev_io_start(loop, &hc->io);
		ev_timer_start(loop, &hc->timer);
	}
}

void http_init(struct worker *w)
{
	const char *spec = w->cfg->http_listen;
	char host[256];
	struct addrinfo hints = {0}, *res = NULL, *ai;
	if (!spec || !*spec)
		return;
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host)) {
		log_error("http_listen = %s: expected host:port; HTTP endpoint disabled", spec);
		return;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct http_server *hs = calloc(1, sizeof(*hs));
	if (!hs)
		return;
	hs->w = w;
	list_init(&hs->conns);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	int rc = getaddrinfo(strcmp(host, "*") && *host ? host : NULL, colon + 1, &hints, &res);
	if (rc) {
		log_error("http_listen = %s: %s; HTTP endpoint disabled", spec, gai_strerror(rc));
		free(hs);
		return;
	}
	for (ai = res; ai && hs->n_listen < HTTP_MAX_LISTEN; ai = ai->ai_next) {
		int one = 1;
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
			log_error("http_listen = %s: cannot listen: %s; HTTP endpoint disabled",
			          spec, strerror(errno));
			close(fd);
			continue;
		}
		ev_io_init(&hs->listen[hs->n_listen], accept_cb, fd, EV_READ);
		hs->listen[hs->n_listen].data = hs;
		ev_io_start(w->loop, &hs->listen[hs->n_listen]);
		hs->n_listen++;
	}
	freeaddrinfo(res);
	if (!hs->n_listen) {
		free(hs);
		return;
	}
	log_info("HTTP endpoint (/metrics, /healthz, /readyz) on %s", spec);
	w->admin->http = hs;
}

void http_free(struct worker *w)
{
	struct http_server *hs = w->admin ? w->admin->http : NULL;
	struct list *it, *n;
	if (!hs)
		return;
	list_for_each_safe(it, n, &hs->conns)
	{
		conn_free(list_entry(it, struct http_conn, node));
	}
	for (int i = 0; i < hs->n_listen; i++) {
		ev_io_stop(w->loop, &hs->listen[i]);
		close(hs->listen[i].fd);
	}
	free(hs);
	w->admin->http = NULL;
}
