/* `sluice-bench init`: tenant databases, schema and data of a scenario. */
#ifndef SLUICE_BENCH_INIT_H
#define SLUICE_BENCH_INIT_H

#include "engine.h"

/* Create missing databases and run the init scripts. Returns 0, or -1 after printing why. */
int bench_init(const struct scenario *sc, const struct run_opts *o);

#endif
