/* The worker: its loop, listeners, inbox from the control plane, the janitor
 * tick, and the end-of-iteration pass (resume ready clients, free closed conns). */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "access.h"
#include "admin.h"
#include "client.h"
#include "drain.h"
#include "gov_override.h"
#include "hostcap.h"
#include "hostsel.h"
#include "log.h"
#include "pool.h"
#include "runtime.h"
#include "server.h"

#define CANCEL_BUCKETS 16384
#define RELAY_BUF_MIN  16384

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;
	(void)loop;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_warn("accept() failed: %s (raise ulimit -n)", strerror(errno));
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			         errno != ECONNABORTED)
				log_warn("accept() failed: %s", strerror(errno));
			return;
		}
		int is_unix = ss.ss_family == AF_UNIX;
		if (!is_unix) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (w->cfg->tcp_keepalive)
				setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		}
		client_accept(w, fd, (struct sockaddr *)&ss, sl, is_unix);
	}
}

static int add_listener(struct worker *w, int fd, const char *what)
{
	if (w->n_listeners >= MAX_LISTENERS) {
		close(fd);
		log_error("too many listen addresses");
		return -1;
	}
	snprintf(w->listener_what[w->n_listeners], sizeof(w->listener_what[0]), "%s", what);
	ev_io *io = &w->listeners[w->n_listeners++];
	ev_io_init(io, accept_cb, fd, EV_READ);
	io->data = w;
	log_info("listening on %s", what);
	return 0;
}

static int listen_tcp(struct worker *w, const char *addr, int port)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char portstr[16];
	int count = 0;
	snprintf(portstr, sizeof(portstr), "%d", port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(strcmp(addr, "*") ? addr : NULL, portstr, &hints, &res);
	if (rc) {
		log_error("listen_addr %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		char host[NI_MAXHOST], what[NI_MAXHOST + 16];
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* so_reuseport (PgBouncer's key): several processes may listen on the address. */
		if (w->cfg->so_reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		/* As PgBouncer on Linux: wake up for a connection only once its first bytes (the
		 * startup packet) are there, which saves a loop round per new client. The kernel
		 * hands a silent connection over after this delay, so keep it within
		 * client_login_timeout for that timeout to stay meaningful. */
		double lt = w->cfg->client_login_timeout;
		int defer = lt > 0 && lt < 45 ? (int)lt + (lt > (int)lt) : 45;
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
		getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0,
		            NI_NUMERICHOST);
		snprintf(what, sizeof(what), "%s:%d", host, port);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, w->cfg->listen_backlog) < 0) {
			log_error("cannot listen on %s: %s", what, strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		if (add_listener(w, fd, what) < 0) {
			freeaddrinfo(res);
			return -1;
		}
		count++;
	}
	freeaddrinfo(res);
	return count ? 0 : -1;
}

static int listen_unix(struct worker *w, const char *dir, int port)
{
	struct sockaddr_un un = {0};
	un.sun_family = AF_UNIX;
	int n = snprintf(un.sun_path, sizeof(un.sun_path), "%s/.s.PGSQL.%d", dir, port);
	if (n < 0 || (size_t)n >= sizeof(un.sun_path)) {
		log_error("unix_socket_dir too long: %s", dir);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A stale socket file from a crashed run would block bind(): remove it only if
	 * nobody answers on it. */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&un, sizeof(un)) == 0) {
			log_error("unix socket %s is in use by another process", un.sun_path);
			close(probe);
			close(fd);
			return -1;
		}
		close(probe);
	}
	unlink(un.sun_path);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 ||
	    listen(fd, w->cfg->listen_backlog) < 0) {
		log_error("cannot listen on %s: %s", un.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(un.sun_path, (mode_t)w->cfg->unix_socket_mode);
	return add_listener(w, fd, un.sun_path);
}

static void handover_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	handover_serve(io->data, io->fd);
}

static void listeners_start(struct worker *w)
{
	for (int i = 0; i < w->n_listeners; i++)
		ev_io_start(w->loop, &w->listeners[i]);
	w->listening = 1;
}

static void listeners_close(struct worker *w)
{
	for (int i = 0; i < w->n_listeners; i++) {
		ev_io_stop(w->loop, &w->listeners[i]);
		close(w->listeners[i].fd);
	}
	if (w->cfg->unix_socket_dir && *w->cfg->unix_socket_dir && !w->listeners_shared) {
		char path[256];
		snprintf(path, sizeof(path), "%s/.s.PGSQL.%d", w->cfg->unix_socket_dir,
		         w->cfg->listen_port);
		unlink(path);
	}
	w->n_listeners = 0;
	w->listening = 0;
}

void worker_schedule(struct worker *w, struct client *cl)
{
	if (list_empty(&cl->ready_node))
		list_append(&w->ready, &cl->ready_node);
}

/* End of a loop iteration: walk the clients whose state changed, then free what closed. */
static void prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct worker *w = p->data;
	(void)loop;
	(void)revents;
	while (!list_empty(&w->ready)) {
		struct list *it = list_first(&w->ready);
		struct client *cl = container_of(it, struct client, ready_node);
		list_del(it);
		if (!cl->c.closed)
			conn_resume(&cl->c);
	}
	while (!list_empty(&w->dead)) {
		struct list *it = list_first(&w->dead);
		struct conn *c = container_of(it, struct conn, dead_node);
		list_del(it);
		free(c); /* conn is the first member of client and server */
	}
}

static void close_all(struct worker *w, const char *why)
{
	struct list *it, *n, *jt, *m;
	list_for_each_safe(it, n, &w->login_clients)
	{
		client_fatal(list_entry(it, struct client, node), "57P01", why);
	}
	admin_console_close_all(w, why);
	list_for_each_safe(it, n, &w->pools)
	{
		struct pool *pool = list_entry(it, struct pool, node);
		list_for_each_safe(jt, m, &pool->clients)
		{
			client_fatal(container_of(jt, struct client, pool_node), "57P01", why);
		}
		list_for_each_safe(jt, m, &pool->welcome_waiters)
		{
			client_fatal(list_entry(jt, struct client, node), "57P01", why);
		}
		for (int l = 0; l < SL_COUNT; l++)
			list_for_each_safe(jt, m, &pool->servers[l])
			{
				server_close(list_entry(jt, struct server, node), why);
			}
	}
}

/* Safe shutdown: clients between transactions leave now, the others at their end. */
static int safe_shutdown_step(struct worker *w)
{
	struct list *it, *n, *jt, *m;
	int busy = 0;
	list_for_each_safe(it, n, &w->login_clients)
	{
		client_fatal(list_entry(it, struct client, node), "57P01",
		             "sluice is shutting down");
	}
	list_for_each_safe(it, n, &w->pools)
	{
		struct pool *pool = list_entry(it, struct pool, node);
		list_for_each_safe(jt, m, &pool->clients)
		{
			struct client *cl = container_of(jt, struct client, pool_node);
			if (cl->server && !server_is_clean(cl->server))
				busy++;
			else
				client_fatal(cl, "57P01",
				             "terminating connection due to administrator command");
		}
		list_for_each_safe(jt, m, &pool->servers[SL_IDLE])
		{
			server_close(list_entry(jt, struct server, node), "shutting down");
		}
		busy += pool->n_servers[SL_ACTIVE] + pool->n_servers[SL_TESTING] +
		        pool->n_servers[SL_LOGIN];
	}
	return busy;
}

static void janitor_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	(void)revents;
	pool_janitor(w);
	gov_janitor(w);
	admin_tick(w);
	if (w->shutdown == SHUTDOWN_SAFE && !safe_shutdown_step(w)) {
		log_info("all transactions finished, exiting");
		ev_break(loop, EVBREAK_ALL);
	} else if (w->shutdown == SHUTDOWN_DRAIN && !drain_step(w)) {
		log_info("drain complete after %.1f s, exiting", worker_now(w) - w->drain_started);
		ev_break(loop, EVBREAK_ALL);
	}
}

static void inbox_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = a->data;
	struct worker_msg *m;
	(void)revents;
	pthread_mutex_lock(&w->inbox_lock);
	m = w->inbox;
	w->inbox = NULL;
	pthread_mutex_unlock(&w->inbox_lock);
	/* The list was pushed LIFO; handle in arrival order. */
	struct worker_msg *rev = NULL;
	while (m) {
		struct worker_msg *next = m->next;
		m->next = rev;
		rev = m;
		m = next;
	}
	for (m = rev; m;) {
		struct worker_msg *next = m->next;
		switch (m->type) {
		case WMSG_RELOAD:
			config_free((struct sluice_config *)w->cfg);
			w->cfg = m->cfg;
			ovr_sync(w); /* runtime SETs layered over the new snapshot */
			pool_apply_config(w);
			gov_apply_config(w); /* before anything reads a tenant's conf again */
			access_apply(w, 0);  /* new certificates and keys for new connections */
			admin_reloaded(w, m->gen, NULL);
			break;
		case WMSG_RELOAD_FAILED:
			admin_reloaded(w, m->gen, m->err);
			break;
		case WMSG_HOSTS:
			hostsel_report(w, m->data); /* takes the report */
			m->data = NULL;
			break;
		case WMSG_SHUTDOWN_SAFE:
			if (!w->shutdown) {
				log_info("safe shutdown: waiting for transactions to finish");
				w->shutdown = SHUTDOWN_SAFE;
				listeners_close(w);
			}
			break;
		case WMSG_DRAIN:
			if (!w->shutdown) {
				listeners_close(w);
				drain_start(w);
			}
			break;
		case WMSG_SHUTDOWN_FAST:
			w->shutdown = SHUTDOWN_FAST;
			listeners_close(w);
			close_all(w, "terminating connection due to administrator command");
			ev_break(loop, EVBREAK_ALL);
			break;
		}
		free(m->data);
		free(m);
		m = next;
	}
}

void worker_shutdown(struct worker *w, enum worker_shutdown_mode mode)
{
	if (mode == WSHUT_WAIT_CLIENTS) {
		/* The same drain as SIGTERM (drain.c): clients are served to their next
		 * transaction boundary; the janitor ends the loop when none is left. */
		if (!w->shutdown) {
			if (w->listening)
				listeners_close(w);
			drain_start(w);
		}
		return;
	}
	if (mode == WSHUT_SAFE) {
		if (!w->shutdown) {
			log_info("safe shutdown: waiting for transactions to finish");
			w->shutdown = SHUTDOWN_SAFE;
			if (w->listening)
				listeners_close(w);
		}
		return;
	}
	w->shutdown = SHUTDOWN_FAST;
	if (w->listening)
		listeners_close(w);
	close_all(w, "terminating connection due to administrator command");
	ev_break(w->loop, EVBREAK_ALL);
}

void worker_post(struct worker *w, struct worker_msg *m)
{
	pthread_mutex_lock(&w->inbox_lock);
	m->next = w->inbox;
	w->inbox = m;
	pthread_mutex_unlock(&w->inbox_lock);
	ev_async_send(w->loop, &w->wake);
}

int worker_init(struct worker *w, struct runtime *rt, struct sluice_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->rt = rt;
	w->cfg = cfg;
	w->loop = ev_loop_new(EVFLAG_AUTO);
	if (!w->loop) {
		log_error("could not create event loop");
		return -1;
	}
	w->bufsize = (uint32_t)(cfg->pkt_buf > RELAY_BUF_MIN ? cfg->pkt_buf : RELAY_BUF_MIN);
	slab_init(&w->bufs, w->bufsize, 256);
	list_init(&w->pools);
	list_init(&w->pdbs);
	list_init(&w->pusers);
	list_init(&w->login_clients);
	list_init(&w->ready);
	list_init(&w->dead);
	w->cancel_tab = calloc(CANCEL_BUCKETS, sizeof(*w->cancel_tab));
	w->cancel_mask = CANCEL_BUCKETS - 1;
	RAND_bytes(w->scram_mock_key, sizeof(w->scram_mock_key));
	pthread_mutex_init(&w->inbox_lock, NULL);
	if (!w->cancel_tab || dns_init(&w->dns, w) < 0 || access_apply(w, 1) < 0)
		return -1;
	w->handover_fd = -1;
	w->cancel_fd = -1;
	int fds[MAX_LISTENERS];
	char what[MAX_LISTENERS][HANDOVER_WHAT_MAX];
	int inherited = handover_fetch(w, fds, what, MAX_LISTENERS);
	for (int i = 0; i < inherited; i++) {
		char label[HANDOVER_WHAT_MAX + 32];
		snprintf(label, sizeof(label), "%s (from the running process)", what[i]);
		if (add_listener(w, fds[i], label) < 0)
			return -1;
		/* Our name for it, should we pass it on in turn. */
		snprintf(w->listener_what[w->n_listeners - 1], sizeof(w->listener_what[0]), "%s",
		         what[i]);
	}
	if (inherited)
		log_info("online restart: took %d listening sockets over from the running process; "
		         "send it SIGTERM to drain it",
		         inherited);
	if (!inherited && cfg->listen_addr && *cfg->listen_addr) {
		char *list = strdup(cfg->listen_addr), *save = NULL;
		for (char *a = strtok_r(list, ", ", &save); a; a = strtok_r(NULL, ", ", &save)) {
			if (listen_tcp(w, a, cfg->listen_port) < 0) {
				free(list);
				return -1;
			}
		}
		free(list);
	}
	if (!inherited && cfg->unix_socket_dir && *cfg->unix_socket_dir &&
	    listen_unix(w, cfg->unix_socket_dir, cfg->listen_port) < 0)
		return -1;
	w->handover_fd = handover_listen(w);
	if (w->handover_fd >= 0) {
		ev_io_init(&w->handover_io, handover_cb, w->handover_fd, EV_READ);
		w->handover_io.data = w;
		ev_io_start(w->loop, &w->handover_io);
	}
	ev_prepare_init(&w->prepare, prepare_cb);
	w->prepare.data = w;
	ev_prepare_start(w->loop, &w->prepare);
	if (admin_init(w) < 0)
		return -1;
	gov_worker_init(w);
	gov_apply_config(w);
	ev_timer_init(&w->janitor, janitor_cb, 0.25, 0.25);
	w->janitor.data = w;
	ev_timer_start(w->loop, &w->janitor);
	ev_async_init(&w->wake, inbox_cb);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	listeners_start(w);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	ev_run(w->loop, 0);
	if (w->listening)
		listeners_close(w);
	close_all(w, "terminating connection due to administrator command");
	/* Let close_all's frees happen. */
	prepare_cb(w->loop, &w->prepare, 0);
	runtime_worker_exited(w->rt);
	return NULL;
}

int worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) ? -1 : 0;
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
	if (w->handover_fd >= 0) {
		ev_io_stop(w->loop, &w->handover_io);
		handover_close(w, w->handover_fd);
		w->handover_fd = -1;
	}
	handover_cancel_close(w);
	gov_worker_free(w);
	admin_free(w);
	pool_free_all(w);
	dns_free(&w->dns);
	hostsel_free(w);
	hostcap_free(w);
	ps_reg_free(&w->ps_reg);
	access_free(w);
	free(w->cancel_tab);
	slab_destroy(&w->bufs);
	config_free((struct sluice_config *)w->cfg);
	ev_loop_destroy(w->loop);
	pthread_mutex_destroy(&w->inbox_lock);
	while (w->inbox) {
		struct worker_msg *m = w->inbox;
		w->inbox = m->next;
		config_free(m->cfg);
		free(m->data);
		free(m);
	}
}
