/* Online restart: passing the listening sockets from a running sluice to a starting one over a
 * unix socket (see src/handover.c). */
#ifndef SLUICE_HANDOVER_H
#define SLUICE_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#define HANDOVER_WHAT_MAX 80

struct worker;
struct sluice_config;

/* The hand-over socket path for cfg (unix_socket_dir or /tmp, and listen_port); -1 if too long. */
int handover_path(const struct sluice_config *cfg, char *buf, size_t len);
/* At start-up: ask a running process for its listening sockets. Returns how many fds were
 * received into fds (with their descriptions in what), 0 when nobody answers. Blocking, with a
 * 2 s timeout; call before the loop runs. */
int handover_fetch(struct worker *w, int *fds, char (*what)[HANDOVER_WHAT_MAX], int max);
/* Listen on the hand-over path (0600), taking it over from an older process. Returns the fd. */
int handover_listen(struct worker *w);
/* Answer one request on the hand-over socket lfd: send our listening sockets. */
void handover_serve(struct worker *w, int lfd);
/* Close the hand-over socket; remove its path if no newer process has taken it. */
void handover_close(struct worker *w, int lfd);
/* Open (once) this process's private socket for cancel requests passed on by the process before
 * or after it in an online restart; fills w->cancel_path. 0, or -1. */
int handover_cancel_listen(struct worker *w);
/* Close that socket and remove its path. */
void handover_cancel_close(struct worker *w);
/* A cancel request whose key this process did not hand out: pass it to the processes before
 * and after it in an online restart, if any. Returns how many it was passed to. */
int handover_pass_cancel(struct worker *w, uint32_t pid, uint32_t key);

#endif
