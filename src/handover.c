/* Online restart: a sluice that starts while another one runs with the same configuration takes
 * that one's listening sockets over a unix socket (SCM_RIGHTS) instead of binding new ones. Both
 * then accept from the very same sockets — one kernel queue — so when the old process drains
 * (SIGTERM) and closes its copies, nothing queued is lost and nobody is refused: the sockets stay
 * open in the new process. (Closing one of several SO_REUSEPORT listeners instead would reset the
 * connections queued on it.) The newest process owns the hand-over path. */
#include "handover.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "proto.h"
#include "worker.h"

#define HANDOVER_REQ "LISTENERS\n"

int handover_path(const struct sluice_config *cfg, char *buf, size_t len)
{
	const char *dir =
	    cfg->unix_socket_dir && *cfg->unix_socket_dir ? cfg->unix_socket_dir : "/tmp";
	int n = snprintf(buf, len, "%s/.s.sluice-handover.%d", dir, cfg->listen_port);
	return n < 0 || (size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path)
	           ? -1
	           : 0;
}

static int unix_addr(const char *path, struct sockaddr_un *un)
{
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof(un->sun_path), "%s", path);
	return 0;
}

int handover_fetch(struct worker *w, int *fds, char (*what)[HANDOVER_WHAT_MAX], int max)
{
	char path[108], buf[HANDOVER_WHAT_MAX * MAX_LISTENERS];
	struct sockaddr_un un;
	if (handover_path(w->cfg, path, sizeof(path)) < 0)
		return 0;
	unix_addr(path, &un);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	/* Start-up, before the loop runs: blocking calls with a short timeout are fine. */
	struct timeval tv = {2, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&un, sizeof(un)) < 0 ||
	    write(s, HANDOVER_REQ, strlen(HANDOVER_REQ)) < 0) {
		close(s);
		return 0; /* nobody running: bind as usual */
	}
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_LISTENERS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr msg = {0};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	ssize_t got = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	if (got <= 0) {
		close(s);
		log_warn("online restart: %s answered nothing; binding new sockets", path);
		return 0;
	}
	buf[got] = 0;
	int n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	/* The payload names the sockets, one per line, in the same order; then, from a sluice that
	 * passes cancel requests on, "cancel PATH" (its private socket for them). */
	char *save = NULL, *line = strtok_r(buf, "\n", &save);
	for (int i = 0; i < n; i++) {
		snprintf(what[i], HANDOVER_WHAT_MAX, "%s", line ? line : "(inherited)");
		line = line ? strtok_r(NULL, "\n", &save) : NULL;
	}
	for (; line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "cancel /", 8))
			snprintf(w->pred_cancel, sizeof(w->pred_cancel), "%s", line + 7);
	if (n > 0 && w->pred_cancel[0] && handover_cancel_listen(w) == 0) {
		/* Tell it ours, so that it passes us the cancels for our clients in turn. */
		char line2[sizeof(w->cancel_path) + 16];
		int m = snprintf(line2, sizeof(line2), "CANCEL %s\n", w->cancel_path);
		if (write(s, line2, (size_t)m) != m)
			log_warn("online restart: could not tell the running process where to pass "
			         "cancel requests: %s",
			         strerror(errno));
	}
	close(s);
	return n;
}

int handover_listen(struct worker *w)
{
	char path[108];
	struct sockaddr_un un;
	struct stat st;
	if (handover_path(w->cfg, path, sizeof(path)) < 0)
		return -1;
	unix_addr(path, &un);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* The newest process takes the path over; an older one keeps its (now unreachable)
	 * socket until it exits and then leaves the path alone (see handover_close). */
	unlink(path);
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (rc < 0 || listen(fd, 4) < 0 || stat(path, &st) < 0) {
		log_warn("online restart: cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	w->handover_ino = (unsigned long)st.st_ino;
	return fd;
}

void handover_serve(struct worker *w, int lfd)
{
	int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return;
	/* A local peer of the same user (the socket is 0600): a short blocking exchange. */
	struct pollfd pfd = {s, POLLIN, 0};
	char req[32] = "";
	if (poll(&pfd, 1, 1000) <= 0 || read(s, req, sizeof(req) - 1) <= 0 ||
	    strncmp(req, HANDOVER_REQ, strlen(HANDOVER_REQ))) {
		close(s);
		return;
	}
	if (!w->listening || !w->n_listeners) {
		(void)!write(s, "\n", 1); /* draining: nothing to give, the caller binds */
		close(s);
		return;
	}
	char text[HANDOVER_WHAT_MAX * MAX_LISTENERS + 128] = "";
	size_t tl = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_LISTENERS)];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	for (int i = 0; i < w->n_listeners; i++) {
		int m = snprintf(text + tl, sizeof(text) - tl, "%s\n", w->listener_what[i]);
		if (m > 0 && (size_t)m < sizeof(text) - tl)
			tl += (size_t)m;
	}
	if (handover_cancel_listen(w) == 0) {
		int m = snprintf(text + tl, sizeof(text) - tl, "cancel %s\n", w->cancel_path);
		if (m > 0 && (size_t)m < sizeof(text) - tl)
			tl += (size_t)m;
	}
	struct iovec iov = {text, tl ? tl : 1};
	struct msghdr msg = {0};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)w->n_listeners);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)w->n_listeners);
	for (int i = 0; i < w->n_listeners; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &w->listeners[i].fd, sizeof(int));
	struct timeval tv = {1, 0};
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0) {
		log_warn("online restart: could not pass the listening sockets: %s",
		         strerror(errno));
	} else {
		/* The sockets are shared now: closing ours must not remove the unix socket file. */
		w->listeners_shared = 1;
		log_info("online restart: a new process took the listening sockets; this one "
		         "keeps serving until it is told to drain (SIGTERM)");
		/* The new process answers at once with its own cancel socket (an older build
		 * does not, and just closes). */
		char reply[sizeof(w->succ_cancel) + 16];
		ssize_t m = 0;
		if (poll(&pfd, 1, 500) > 0 && (m = read(s, reply, sizeof(reply) - 1)) > 8 &&
		    !strncmp(reply, "CANCEL /", 8)) {
			reply[m] = 0;
			reply[strcspn(reply, "\n")] = 0;
			snprintf(w->succ_cancel, sizeof(w->succ_cancel), "%s", reply + 7);
			log_info(
			    "online restart: cancel requests for the new process's clients are "
			    "passed to %s",
			    w->succ_cancel);
		}
	}
	close(s);
}

void handover_close(struct worker *w, int lfd)
{
	char path[108];
	struct stat st;
	if (lfd < 0)
		return;
	close(lfd);
	/* Remove the path only if it is still ours (a newer process may have taken it). */
	if (handover_path(w->cfg, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
	    st.st_ino == w->handover_ino)
		unlink(path);
}

/* ---- cancel requests passed between the processes of an online restart ---- */

struct passed_cancel {
	ev_io io;
	ev_timer timer;
	struct worker *w;
	int got;
	uint8_t pkt[16];
};

static void passed_done(struct passed_cancel *pc)
{
	ev_io_stop(pc->w->loop, &pc->io);
	ev_timer_stop(pc->w->loop, &pc->timer);
	close(pc->io.fd);
	free(pc);
}

static void passed_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct passed_cancel *pc = io->data;
	(void)loop;
	(void)revents;
	ssize_t n = read(io->fd, pc->pkt + pc->got, sizeof(pc->pkt) - (size_t)pc->got);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		passed_done(pc);
		return;
	}
	pc->got += (int)n;
	if (pc->got < (int)sizeof(pc->pkt))
		return;
	if (pg_get_u32(pc->pkt) == 16 && pg_get_u32(pc->pkt + 4) == PROTO_CANCEL)
		cancel_local(pc->w, pg_get_u32(pc->pkt + 8), pg_get_u32(pc->pkt + 12));
	passed_done(pc);
}

static void passed_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	passed_done(t->data);
}

static void cancel_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct passed_cancel *pc = calloc(1, sizeof(*pc));
		if (!pc) {
			close(fd);
			continue;
		}
		pc->w = w;
		ev_io_init(&pc->io, passed_read_cb, fd, EV_READ);
		pc->io.data = pc;
		ev_timer_init(&pc->timer, passed_timeout_cb, 2.0, 0);
		pc->timer.data = pc;
		ev_io_start(loop, &pc->io);
		ev_timer_start(loop, &pc->timer);
	}
}

int handover_cancel_listen(struct worker *w)
{
	char hp[108];
	struct sockaddr_un un;
	if (w->cancel_fd >= 0)
		return 0;
	if (handover_path(w->cfg, hp, sizeof(hp)) < 0)
		return -1;
	char *cut = strstr(hp, ".s.sluice-handover.");
	if (!cut)
		return -1;
	*cut = 0;
	int n = snprintf(w->cancel_path, sizeof(w->cancel_path), "%s.s.sluice-cancel.%d.%ld", hp,
	                 w->cfg->listen_port, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(un.sun_path)) {
		w->cancel_path[0] = 0;
		return -1;
	}
	unix_addr(w->cancel_path, &un);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(w->cancel_path);
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		log_warn("online restart: cannot listen on %s for passed cancel requests: %s",
		         w->cancel_path, strerror(errno));
		close(fd);
		w->cancel_path[0] = 0;
		return -1;
	}
	w->cancel_fd = fd;
	ev_io_init(&w->cancel_io, cancel_accept_cb, fd, EV_READ);
	w->cancel_io.data = w;
	ev_io_start(w->loop, &w->cancel_io);
	return 0;
}

void handover_cancel_close(struct worker *w)
{
	if (w->cancel_fd < 0)
		return;
	ev_io_stop(w->loop, &w->cancel_io);
	close(w->cancel_fd);
	w->cancel_fd = -1;
	unlink(w->cancel_path);
}

static int pass_to(struct worker *w, char *path, const char *who, uint32_t pid, uint32_t key)
{
	struct sockaddr_storage ss;
	if (!path[0])
		return 0;
	memset(&ss, 0, sizeof(ss));
	unix_addr(path, (struct sockaddr_un *)&ss);
	if (cancel_send(w, &ss, sizeof(struct sockaddr_un), pid, key) < 0) {
		log_debug("cancel request not passed to the %s process (%s): %s; it has exited",
		          who, path, strerror(errno));
		path[0] = 0; /* gone for good */
		return 0;
	}
	log_info("cancel request passed to the %s process of the online restart", who);
	return 1;
}

int handover_pass_cancel(struct worker *w, uint32_t pid, uint32_t key)
{
	return pass_to(w, w->pred_cancel, "previous", pid, key) +
	       pass_to(w, w->succ_cancel, "next", pid, key);
}
