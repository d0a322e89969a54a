/* Online restart: a sluice that starts while another one runs with the same configuration takes
 * that one's listening sockets over a unix socket (SCM_RIGHTS) instead of binding new ones. Both
 * then accept from the very same sockets — one kernel queue — so when the old process drains
 * (SIGTERM) and closes its copies, nothing queued is lost and nobody is refused: the sockets stay
 * open in the new process. (Closing one of several SO_REUSEPORT listeners instead would reset the
 * connections queued on it.) The newest process owns the hand-over path. */
#include "handover.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
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
	close(s);
	if (got <= 0) {
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
	/* The payload names the sockets, one per line, in the same order. */
	char *save = NULL, *line = strtok_r(buf, "\n", &save);
	for (int i = 0; i < n; i++) {
		snprintf(what[i], HANDOVER_WHAT_MAX, "%s", line ? line : "(inherited)");
		line = line ? strtok_r(NULL, "\n", &save) : NULL;
	}
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
	char text[HANDOVER_WHAT_MAX * MAX_LISTENERS] = "";
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
