/* Online restart: passing the listening sockets from a running sluice to a starting one over a
 * unix socket (see src/handover.c). */
#ifndef SLUICE_HANDOVER_H
#define SLUICE_HANDOVER_H

#include <stddef.h>

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

#endif
