/* Small deterministic random numbers for sluice-bench: every client has its own generator,
 * seeded from the scenario seed and the client's number, so a run is reproducible and no state
 * is shared between threads. The generator is xoshiro256** (a public, well-known algorithm),
 * seeded through splitmix64. */
#ifndef SLUICE_BENCH_RNG_H
#define SLUICE_BENCH_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Seed from (seed, stream): different streams of one seed are independent sequences. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
/* Next 64 random bits. */
uint64_t rng_next(struct rng *r);
/* Uniform double in [0, 1). */
double rng_unit(struct rng *r);
/* Uniform integer in [lo, hi] (lo <= hi), without modulo bias. */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi);

/* Poisson arrivals: the times of a Poisson process of a given rate (events per second), drawn one
 * at a time, each gap exponentially distributed with mean 1/rate. */
struct arrival {
	double rate;
	double next; /* time of the next arrival (seconds, on the caller's clock) */
	struct rng rng;
};

/* Start a process at time start: the first arrival is one random gap after start. */
void arrival_init(struct arrival *a, double rate, uint64_t seed, uint64_t stream, double start);
/* Return the time of the next arrival and draw the one after it. */
double arrival_take(struct arrival *a);

#endif
