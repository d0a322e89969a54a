/* The HTTP endpoint (http_listen): /metrics, /healthz, /readyz. It runs on the worker's loop,
 * non-blocking, one short request per connection, with bounded buffers and a timeout, so a slow
 * or hostile scraper costs the data path nothing but a few bytes of memory. */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

struct worker;

/* Open the listener if http_listen is set. A failure to bind is logged (not fatal). */
void http_init(struct worker *w);
/* Close the listener and every open HTTP connection. */
void http_free(struct worker *w);

#endif
