/* Random numbers and Poisson arrivals (see rng.h). */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	/* mix the stream in first so that (seed, 1) and (seed + 1, 0) do not collide */
	uint64_t x = seed ^ (stream * UINT64_C(0xd1342543de82ef95) + UINT64_C(0x632be59bd9b4e019));
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1, x, limit;

	if (span == 0) /* the whole 64-bit range */
		return (int64_t)rng_next(r);
	/* reject the incomplete last copy of [0, span) so every value is equally likely */
	limit = UINT64_MAX - UINT64_MAX % span;
	do
		x = rng_next(r);
	while (x >= limit);
	return (int64_t)((uint64_t)lo + x % span);
}

static double gap(struct arrival *a)
{
	/* inverse of the exponential CDF; 1 - u is in (0, 1], so the log is finite */
	return -log(1.0 - rng_unit(&a->rng)) / a->rate;
}

void arrival_init(struct arrival *a, double rate, uint64_t seed, uint64_t stream, double start)
{
	a->rate = rate;
	rng_seed(&a->rng, seed, stream);
	a->next = rate > 0 ? start + gap(a) : INFINITY;
}

double arrival_take(struct arrival *a)
{
	double t = a->next;

	if (a->rate > 0)
		a->next += gap(a);
	return t;
}
