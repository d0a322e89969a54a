/* Unit tests for sluice-bench's latency histogram (bench/sluice-bench/hist.c): percentiles against
 * a sorted reference, bucket layout, merge. */
#include <criterion/criterion.h>

#include "hist.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The reference: the value of rank ceil(p% * n) in the sorted samples. */
static uint64_t ref_percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n - 1e-9);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void check_against_reference(uint64_t *v, size_t n, const char *what)
{
	static const double ps[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100};
	struct hist *h = malloc(sizeof(*h));

	cr_assert_not_null(h);
	hist_reset(h);
	for (size_t i = 0; i < n; i++)
		hist_record(h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	cr_assert_eq(h->count, n);
	cr_assert_eq(h->min, v[0]);
	cr_assert_eq(h->max, v[n - 1]);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t ref = ref_percentile(v, n, ps[i]);
		uint64_t got = hist_percentile(h, ps[i]);
		double err = fabs((double)got - (double)ref);
		cr_assert(err <= 0.01 * (double)ref,
		          "%s: p%.2f = %llu, reference %llu (error %.3f%%)", what, ps[i],
		          (unsigned long long)got, (unsigned long long)ref,
		          100.0 * err / (double)ref);
	}
	free(h);
}

Test(bench_hist, exact_below_256_and_empty)
{
	struct hist h;

	hist_reset(&h);
	cr_assert_eq(hist_percentile(&h, 50), 0);
	cr_assert_eq(hist_mean(&h), 0);
	for (uint64_t v = 0; v < 256; v++)
		cr_assert_eq(hist_index(v), (int)v);
	hist_record(&h, 7);
	hist_record(&h, 9);
	cr_assert_eq(hist_percentile(&h, 50), 7);
	cr_assert_eq(hist_percentile(&h, 51), 9);
	cr_assert_float_eq(hist_mean(&h), 8.0, 1e-9);
}

Test(bench_hist, buckets_are_contiguous_and_narrow)
{
	uint64_t prev_hi = 0, lo, hi;

	for (int i = 1; i < HIST_BUCKETS; i++) {
		hist_bucket_range(i, &lo, &hi);
		cr_assert_eq(lo, prev_hi + 1, "bucket %d starts at %llu after %llu", i,
		             (unsigned long long)lo, (unsigned long long)prev_hi);
		cr_assert_geq(hi, lo);
		/* width relative to the lower bound: below 1/128, i.e. the middle is within 0.4% */
		if (i >= 256)
			cr_assert_leq((double)(hi - lo + 1) / (double)lo, 1.0 / 128 + 1e-12,
			              "bucket %d", i);
		else
			cr_assert_eq(hi, lo, "values below 256 are exact");
		cr_assert_eq(hist_index(lo), i);
		cr_assert_eq(hist_index(hi), i);
		prev_hi = hi;
	}
	cr_assert_eq(prev_hi, (UINT64_C(1) << HIST_MAX_BITS) - 1, "covers up to 2^40 - 1");
	cr_assert_eq(hist_index(UINT64_MAX), HIST_BUCKETS - 1, "larger values are clamped");
}

Test(bench_hist, percentiles_uniform)
{
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));
	struct rng r;

	rng_seed(&r, 1, 1);
	for (size_t i = 0; i < N; i++)
		v[i] = (uint64_t)rng_range(&r, 1, 1000000);
	check_against_reference(v, N, "uniform 1us..1s");
	free(v);
}

Test(bench_hist, percentiles_long_tail)
{
	enum { N = 100000 };
	uint64_t *v = malloc(N * sizeof(*v));
	struct rng r;

	/* log-uniform over 6 decades, as latencies with a slow tail look */
	rng_seed(&r, 2, 2);
	for (size_t i = 0; i < N; i++)
		v[i] = (uint64_t)(50.0 * pow(10.0, 6.0 * rng_unit(&r)));
	check_against_reference(v, N, "log-uniform 50us..50s");
	free(v);
}

Test(bench_hist, percentiles_few_and_repeated_samples)
{
	uint64_t small[] = {1000, 1000, 1000, 5000, 250000};
	uint64_t one[] = {123456};

	check_against_reference(small, 5, "five samples");
	check_against_reference(one, 1, "one sample");
}

Test(bench_hist, merge_equals_recording_everything)
{
	struct hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
	struct rng r;

	hist_reset(a);
	hist_reset(b);
	hist_reset(all);
	rng_seed(&r, 3, 3);
	for (int i = 0; i < 50000; i++) {
		uint64_t v = (uint64_t)rng_range(&r, 0, 10000000);
		hist_record(i % 3 ? a : b, v);
		hist_record(all, v);
	}
	hist_merge(a, b);
	cr_assert_eq(a->count, all->count);
	cr_assert_eq(a->min, all->min);
	cr_assert_eq(a->max, all->max);
	for (double p = 1; p < 100; p += 7.3)
		cr_assert_eq(hist_percentile(a, p), hist_percentile(all, p));
	free(a);
	free(b);
	free(all);
}
