/* Prometheus metrics: histograms fed from the data path (one bucket increment per observation)
 * and the text exposition rendered on demand from the live structures (worker thread). Names
 * and units are documented in docs/metrics.md. */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdint.h>

#include "proto.h"

struct worker;

#define METRICS_NB 16 /* finite histogram buckets */

struct metrics_hist {
	uint64_t xact[METRICS_NB + 1], wait[METRICS_NB + 1]; /* per bucket, last = +Inf */
	double xact_sum, wait_sum;
	uint64_t xact_n, wait_n;
};

/* Allocate / free the histograms (w->admin->hist). */
int metrics_init(struct worker *w);
void metrics_free(struct worker *w);
/* A transaction held a server for secs seconds. */
void metrics_observe_xact(struct worker *w, double secs);
/* A transaction waited secs seconds for a server or a governor slot. */
void metrics_observe_wait(struct worker *w, double secs);
/* Append the whole exposition (text format 0.0.4) to out; -1 on out of memory. */
int metrics_render(struct worker *w, struct wbuf *out);

#endif
