/* Unit tests for sluice-bench's open-loop arrival schedule (Poisson process) and random numbers
 * (bench/sluice-bench/rng.c). */
#include <criterion/criterion.h>

#include "rng.h"

#include <math.h>

Test(bench_arrival, rate_and_exponential_gaps)
{
	static const double rates[] = {0.5, 10, 200, 5000};

	for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		double rate = rates[k], horizon = 200000.0 / rate; /* about 200 000 arrivals */
		struct arrival a;
		double prev = 100, sum = 0, sumsq = 0;
		long n = 0, above_mean = 0;

		arrival_init(&a, rate, 42, k, 100);
		for (;;) {
			double t = arrival_take(&a);
			cr_assert_geq(t, prev, "arrivals are in order");
			if (t >= 100 + horizon)
				break;
			double g = t - prev;
			sum += g;
			sumsq += g * g;
			above_mean += g > 1.0 / rate;
			prev = t;
			n++;
		}
		double expect = rate * horizon, mean = sum / n;
		/* a Poisson count has standard deviation sqrt(expect): allow 5 of them */
		cr_assert(fabs(n - expect) < 5 * sqrt(expect),
		          "rate %g: %ld arrivals, expected %.0f", rate, n, expect);
		cr_assert(fabs(mean * rate - 1) < 0.01, "rate %g: mean gap %g", rate, mean);
		/* exponential gaps: P(gap > mean) = 1/e, and the standard deviation equals the mean
		 */
		cr_assert(fabs((double)above_mean / n - exp(-1)) < 0.005,
		          "rate %g: %.4f above mean", rate, (double)above_mean / n);
		double sd = sqrt(sumsq / n - mean * mean);
		cr_assert(fabs(sd / mean - 1) < 0.02, "rate %g: cv %g", rate, sd / mean);
	}
}

Test(bench_arrival, deterministic_per_seed_and_stream)
{
	struct arrival a, b, c;

	arrival_init(&a, 100, 7, 1, 0);
	arrival_init(&b, 100, 7, 1, 0);
	arrival_init(&c, 100, 7, 2, 0);
	int same_c = 0;
	for (int i = 0; i < 1000; i++) {
		double ta = arrival_take(&a), tb = arrival_take(&b), tc = arrival_take(&c);
		cr_assert_eq(ta, tb, "same seed and stream: same schedule");
		same_c += ta == tc;
	}
	cr_assert_lt(same_c, 5, "another stream is another schedule");
}

Test(bench_arrival, zero_rate_never_arrives)
{
	struct arrival a;

	arrival_init(&a, 0, 1, 0, 10);
	cr_assert(isinf(a.next));
}

Test(bench_arrival, split_rates_add_up)
{
	/* two threads sharing a workload each run an independent process at half the rate */
	struct arrival a, b;
	long n = 0;

	arrival_init(&a, 150, 9, 10, 0);
	arrival_init(&b, 150, 9, 11, 0);
	while (arrival_take(&a) < 1000)
		n++;
	while (arrival_take(&b) < 1000)
		n++;
	cr_assert(fabs(n - 300000.0) < 5 * sqrt(300000.0), "%ld arrivals", n);
}

Test(bench_arrival, rng_range_bounds_and_spread)
{
	struct rng r;
	long counts[7] = {0};

	rng_seed(&r, 5, 0);
	for (int i = 0; i < 70000; i++) {
		int64_t v = rng_range(&r, -3, 3);
		cr_assert(v >= -3 && v <= 3);
		counts[v + 3]++;
	}
	for (int i = 0; i < 7; i++)
		cr_assert(labs(counts[i] - 10000) < 500, "value %d drawn %ld times", i - 3,
		          counts[i]);
	for (int i = 0; i < 1000; i++) {
		double u = rng_unit(&r);
		cr_assert(u >= 0 && u < 1);
		cr_assert_eq(rng_range(&r, 9, 9), 9);
	}
}
