/* The admin socket: one command per line in, one JSON object per line out (see
 * include/admin_sock.h). Sessions are served on the worker's loop; a session stops reading
 * while an answer is unsent or a command (PAUSE, RELOAD, WAIT_CLOSE) is parked. */
#include "admin_sock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "log.h"
#include "worker.h"

#define SOCK_LINE_MAX 4096
#define SOCK_MAX_SESS 16

struct admin_sess {
	struct list node;
	struct admin_sock *as;
	ev_io rio, wio;
	char in[SOCK_LINE_MAX];
	size_t in_len;
	struct wbuf out;
	int busy; /* a parked command */
	int closing;
	struct admin_waiter wt;
	struct admin_res res;
};

struct admin_sock {
	struct worker *w;
	ev_io lio;
	char path[108];
	struct list sessions;
	int n_sess;
};

static void sess_free(struct admin_sess *s)
{
	struct ev_loop *loop = s->as->w->loop;
	if (s->busy)
		admin_unwait(&s->wt);
	ev_io_stop(loop, &s->rio);
	ev_io_stop(loop, &s->wio);
	close(s->rio.fd);
	wb_free(&s->out);
	admin_res_free(&s->res);
	list_del(&s->node);
	s->as->n_sess--;
	free(s);
}

static void sess_update(struct admin_sess *s);

/* Send what is queued; 0, or -1 when the session was freed. */
static int sess_flush(struct admin_sess *s)
{
	while (wb_pending(&s->out)) {
		ssize_t n =
		    send(s->rio.fd, s->out.data + s->out.off, wb_pending(&s->out), MSG_NOSIGNAL);
		if (n > 0) {
			s->out.off += (uint32_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		sess_free(s);
		return -1;
	}
	if (!wb_pending(&s->out)) {
		wb_free(&s->out);
		if (s->closing) {
			sess_free(s);
			return -1;
		}
	}
	sess_update(s);
	return 0;
}

static void process_lines(struct admin_sess *s);

static void sess_done(struct admin_waiter *wt, const char *err)
{
	struct admin_sess *s = container_of(wt, struct admin_sess, wt);
	admin_res_json(&s->res, err, &s->out);
	admin_res_free(&s->res);
	memset(&s->res, 0, sizeof(s->res));
	s->busy = 0;
	if (sess_flush(s) == 0)
		process_lines(s);
}

/* Run the complete lines in the input buffer, one at a time, stopping at a parked command or
 * unsent output (backpressure). */
static void process_lines(struct admin_sess *s)
{
	struct worker *w = s->as->w;
	while (!s->busy && !wb_pending(&s->out)) {
		char *nl = memchr(s->in, '\n', s->in_len);
		if (!nl)
			return;
		*nl = '\0';
		size_t used = (size_t)(nl - s->in) + 1;
		char line[SOCK_LINE_MAX];
		memcpy(line, s->in, used);
		memmove(s->in, s->in + used, s->in_len - used);
		s->in_len -= used;
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[--ll] = '\0';
		if (!ll)
			continue;
		memset(&s->res, 0, sizeof(s->res));
		admin_run_line(w, line, 1, &s->res);
		if (s->res.wait != AW_NONE) {
			s->busy = 1;
			s->wt.done = sess_done;
			admin_wait(w, &s->res, &s->wt);
			return; /* sess_done may already have freed s */
		}
		admin_res_json(&s->res, NULL, &s->out);
		admin_res_free(&s->res);
		memset(&s->res, 0, sizeof(s->res));
		if (sess_flush(s) < 0)
			return;
	}
}

static void sess_update(struct admin_sess *s)
{
	struct ev_loop *loop = s->as->w->loop;
	int want_write = wb_pending(&s->out) > 0;
	int want_read = !want_write && !s->busy && !s->closing;
	if (want_write && !ev_is_active(&s->wio))
		ev_io_start(loop, &s->wio);
	if (!want_write && ev_is_active(&s->wio))
		ev_io_stop(loop, &s->wio);
	if (want_read && !ev_is_active(&s->rio))
		ev_io_start(loop, &s->rio);
	if (!want_read && ev_is_active(&s->rio))
		ev_io_stop(loop, &s->rio);
}

static void read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct admin_sess *s = io->data;
	(void)loop;
	(void)revents;
	ssize_t n = recv(io->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		if (!s->busy && !wb_pending(&s->out))
			sess_free(s);
		else
			s->closing = 1; /* answer what was asked, then go */
		return;
	}
	if (n < 0)
		return;
	s->in_len += (size_t)n;
	if (s->in_len == sizeof(s->in) && !memchr(s->in, '\n', s->in_len)) {
		static const char msg[] =
		    "{\"ok\":false,\"sqlstate\":\"54000\",\"error\":\"command line too long\"}\n";
		wb_put(&s->out, msg, sizeof(msg) - 1);
		s->in_len = 0;
		s->closing = 1;
		sess_flush(s);
		return;
	}
	process_lines(s);
}

static void write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct admin_sess *s = io->data;
	(void)loop;
	(void)revents;
	if (sess_flush(s) == 0)
		process_lines(s);
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct admin_sock *as = io->data;
	(void)revents;
	for (int i = 0; i < 8; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct admin_sess *s = as->n_sess < SOCK_MAX_SESS ? calloc(1, sizeof(*s)) : NULL;
		if (!s) {
			static const char msg[] = "{\"ok\":false,\"sqlstate\":\"53300\",\"error\":"
			                          "\"too many admin socket sessions\"}\n";
			if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* nothing more to do for a refused session */
			}
			close(fd);
			continue;
		}
		s->as = as;
		list_init(&s->wt.node);
		ev_io_init(&s->rio, read_cb, fd, EV_READ);
		ev_io_init(&s->wio, write_cb, fd, EV_WRITE);
		s->rio.data = s->wio.data = s;
		list_append(&as->sessions, &s->node);
		as->n_sess++;
		ev_io_start(loop, &s->rio);
	}
}

int admin_sock_init(struct worker *w)
{
	const char *path = w->cfg->admin_socket;
	struct sockaddr_un un = {0};
	if (!path || !*path)
		return 0;
	if (strlen(path) >= sizeof(un.sun_path)) {
		log_error("admin_socket path too long: %s", path);
		return -1;
	}
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Remove a stale file only if nobody answers on it (a crashed run). */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&un, sizeof(un)) == 0) {
			log_error("admin_socket %s is in use by another process", path);
			close(probe);
			close(fd);
			return -1;
		}
		close(probe);
	}
	unlink(path);
	/* Created with the final mode: no window where the socket is open to others. */
	mode_t old = umask((mode_t)(~w->cfg->admin_socket_mode & 0777));
	int rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		log_error("cannot listen on admin_socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, (mode_t)w->cfg->admin_socket_mode);
	struct admin_sock *as = calloc(1, sizeof(*as));
	if (!as) {
		close(fd);
		return -1;
	}
	as->w = w;
	snprintf(as->path, sizeof(as->path), "%s", path);
	list_init(&as->sessions);
	ev_io_init(&as->lio, accept_cb, fd, EV_READ);
	as->lio.data = as;
	ev_io_start(w->loop, &as->lio);
	w->admin->sock = as;
	log_info("admin socket on %s", path);
	return 0;
}

void admin_sock_free(struct worker *w)
{
	struct admin_sock *as = w->admin ? w->admin->sock : NULL;
	struct list *it, *n;
	if (!as)
		return;
	list_for_each_safe(it, n, &as->sessions)
	{
		sess_free(list_entry(it, struct admin_sess, node));
	}
	ev_io_stop(w->loop, &as->lio);
	close(as->lio.fd);
	unlink(as->path);
	free(as);
	w->admin->sock = NULL;
}
