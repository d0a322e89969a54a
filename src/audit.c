/* The audit log: JSON lines, one write() each (atomic with O_APPEND for lines < PIPE_BUF). */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "client.h"
#include "log.h"
#include "tls.h"
#include "worker.h"

int audit_open(const char *path, int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	if (!path || !*path)
		return -1;
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		log_error("audit_log %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Append s as a JSON string (quotes included), control characters escaped. */
static size_t json_str(char *out, size_t room, const char *s)
{
	size_t n = 0;
	if (room < 3)
		return 0;
	out[n++] = '"';
	for (; s && *s && n + 8 < room; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			n += (size_t)snprintf(out + n, room - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

void audit_login(struct client *cl, const char *user, const char *db, int ok, const char *sqlstate,
                 const char *reason)
{
	struct worker *w = cl->c.w;
	if (!w->access || w->access->audit_fd < 0)
		return;
	char line[2048], ts[40];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	const char *tenant = cl->gov.tenant ? cl->gov.tenant->name : "";
	const char *cls = cl->gov.login_cls >= 0 && cl->gov.login_cls < w->gov.n_classes
	                      ? w->gov.cls_names[cl->gov.login_cls]
	                      : "";
	const char *keys[] = {"user", "database", "tenant",   "class",
	                      "addr", "tls",      "sqlstate", "reason"};
	const char *vals[] = {user,
	                      db,
	                      tenant,
	                      cls,
	                      cl->addr,
	                      tls_version(&cl->c),
	                      ok ? "" : sqlstate,
	                      ok ? "" : reason};
	size_t n =
	    (size_t)snprintf(line, sizeof(line),
	                     "{\"ts\":\"%s.%03dZ\",\"event\":\"login\",\"result\":\"%s\","
	                     "\"client\":%u,\"port\":%u",
	                     ts, (int)(tv.tv_usec / 1000), ok ? "ok" : "refused", cl->id, cl->port);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && n + 64 < sizeof(line); i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"%s\":", keys[i]);
		n += json_str(line + n, sizeof(line) - n - 4, vals[i] ? vals[i] : "");
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "}\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	if (write(w->access->audit_fd, line, n) < 0 && errno != EAGAIN)
		log_warn("audit_log write failed: %s", strerror(errno));
}
