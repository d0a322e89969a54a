/* The admin socket (admin_socket): a unix socket, mode admin_socket_mode (0600 by default),
 * where each line is an admin command and each answer is one JSON object on one line. Access is
 * the file permission; every command is allowed. Runs on the worker's loop, non-blocking, with a
 * bounded input line and output backpressure (no more reading while an answer is unsent). */
#ifndef SLUICE_ADMIN_SOCK_H
#define SLUICE_ADMIN_SOCK_H

#include <stddef.h>

#include "proto.h"

struct worker;
struct admin_res;

/* Open the socket if admin_socket is set; -1 (logged) when it cannot be created. */
int admin_sock_init(struct worker *w);
/* Close the socket, every session, and remove the socket file. */
void admin_sock_free(struct worker *w);
/* Append res as one JSON line to out (also used by tests). */
void admin_res_json(const struct admin_res *res, const char *late_err, struct wbuf *out);

#endif
