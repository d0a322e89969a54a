/* Unit tests for the token bucket (src/ratelimit.c). */
#include <criterion/criterion.h>

#include "ratelimit.h"

#include <math.h>
#include <stdlib.h>

/* Offer a take every step seconds from t0 to t1; returns the number granted. */
static long offer(struct token_bucket *b, double t0, double t1, double step)
{
	long got = 0;

	for (long i = 0;; i++) {
		double t = t0 + i * step;
		if (t >= t1)
			break;
		got += tb_take(b, t, 1);
	}
	return got;
}

Test(ratelimit, unlimited)
{
	struct token_bucket b;

	tb_init(&b, 0, 0, 100);
	for (int i = 0; i < 100000; i++)
		cr_assert_eq(tb_take(&b, 100, 1), 1);
	cr_assert_eq(tb_wait(&b, 100, 1000), 0);
	cr_assert_eq(tb_level(&b, 100), -1);
}

Test(ratelimit, starts_full_and_burst_defaults)
{
	struct token_bucket b;

	tb_init(&b, 50, 0, 0);
	cr_assert_float_eq(tb_level(&b, 0), 50, 1e-9, "burst 0 means depth = rate");
	tb_init(&b, 0.2, 0, 0);
	cr_assert_float_eq(tb_level(&b, 0), 1, 1e-9, "depth is at least one token");
	cr_assert_eq(tb_take(&b, 0, 1), 1);
	cr_assert_eq(tb_take(&b, 0, 1), 0);
	cr_assert_float_eq(tb_wait(&b, 0, 1), 5, 1e-9);
	cr_assert_eq(tb_take(&b, 4.9, 1), 0);
	cr_assert_eq(tb_take(&b, 5, 1), 1);
}

Test(ratelimit, rate_accuracy_over_a_minute)
{
	double rates[] = {1, 7.5, 100, 333, 1000};

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct token_bucket b;
		double r = rates[i];
		tb_init(&b, r, 5, 1000);     /* depth above one poll interval of tokens */
		while (tb_take(&b, 1000, 1)) /* drain the initial burst */
			;
		/* Offered 10x the rate, with a step that does not divide the period evenly. */
		long got = offer(&b, 1000, 1060, 1.0 / (r * 10.3));
		double expect = r * 60;
		/* Within 1%, or one token (the last one is cut by the sampling at slow rates). */
		cr_assert(fabs(got - expect) <= fmax(expect * 0.01, 1),
		          "rate %g: got %ld, expected %g", r, got, expect);
	}
}

Test(ratelimit, rate_accuracy_polling_with_wait)
{
	/* A caller that sleeps exactly tb_wait between takes gets the configured rate. */
	struct token_bucket b;
	double t = 0;
	long got = 0;

	tb_init(&b, 40, 10, 0);
	while (t < 60) {
		double w = tb_wait(&b, t, 1);
		t += w;
		if (t >= 60)
			break;
		cr_assert_eq(tb_take(&b, t, 1), 1, "tb_wait promised a token at %f", t);
		got++;
	}
	cr_assert(labs(got - (40 * 60 + 10)) <= 40 * 60 * 0.01, "got %ld", got);
}

Test(ratelimit, burst_behaviour)
{
	struct token_bucket b;

	tb_init(&b, 10, 25, 0);
	cr_assert_eq(offer(&b, 0, 0.0001, 0.000001), 25, "a full bucket allows a burst of 25");
	cr_assert_eq(tb_take(&b, 0.0001, 1), 0);
	/* After a long idle period the level is capped at the depth. */
	cr_assert_float_eq(tb_level(&b, 1000), 25, 1e-9);
	/* Multi-token takes. */
	cr_assert_eq(tb_take(&b, 1000, 20), 1);
	cr_assert_eq(tb_take(&b, 1000, 6), 0);
	cr_assert_float_eq(tb_wait(&b, 1000, 6), 0.1, 1e-9);
	/* A take larger than the depth waits for a full bucket and leaves debt. */
	cr_assert_float_eq(tb_wait(&b, 1000, 40), 2.0, 1e-9);
	cr_assert_eq(tb_take(&b, 1002, 40), 1);
	cr_assert_float_eq(tb_level(&b, 1002), -15, 1e-9);
	cr_assert_float_eq(tb_wait(&b, 1002, 1), 1.6, 1e-9);
}

Test(ratelimit, time_going_backwards_adds_nothing)
{
	struct token_bucket b;

	tb_init(&b, 1, 1, 100);
	cr_assert_eq(tb_take(&b, 100, 1), 1);
	cr_assert_eq(tb_take(&b, 50, 1), 0);
	cr_assert_float_eq(tb_level(&b, 50), 0, 1e-9);
	cr_assert_eq(tb_take(&b, 101, 1), 1);
}

Test(ratelimit, live_rate_change)
{
	struct token_bucket b;
	long got;

	tb_init(&b, 10, 10, 0);
	got = offer(&b, 0, 10, 0.001);
	cr_assert(got >= 109 && got <= 110, "got %ld", got);
	/* Raise to 100/s: the level is kept (empty), then 100/s. */
	tb_set(&b, 100, 0, 10);
	cr_assert(tb_level(&b, 10) < 1);
	got = offer(&b, 10, 20, 0.0007);
	cr_assert(labs(got - 1000) <= 10, "after raise: %ld", got);
	/* Let it fill to 100, then lower the depth: the level is clamped. */
	tb_set(&b, 5, 3, 40);
	cr_assert_float_eq(tb_level(&b, 40), 3, 1e-9);
	got = offer(&b, 40, 100, 0.001);
	cr_assert(labs(got - (3 + 300)) <= 3, "after lowering: %ld", got);
	/* To unlimited and back: limited again starts full. */
	tb_set(&b, 0, 0, 100);
	cr_assert_eq(tb_take(&b, 100, 1000), 1);
	tb_set(&b, 2, 4, 100);
	cr_assert_float_eq(tb_level(&b, 100), 4, 1e-9);
}

Test(ratelimit, reserve_queues_arrivals_at_the_rate)
{
	struct token_bucket b;
	double w; /* (the assertion macros evaluate their arguments more than once) */

	tb_init(&b, 10, 1, 0);
	w = tb_reserve(&b, 0, 1);
	cr_assert_float_eq(w, 0, 1e-9, "the burst token is there");
	/* The next arrivals at the same instant are spaced 1/rate apart. */
	for (int k = 1; k <= 5; k++) {
		w = tb_reserve(&b, 0, 1);
		cr_assert_float_eq(w, k * 0.1, 1e-9);
	}
	/* Abandoning the last reservation gives its token back. */
	tb_refund(&b, 0, 1);
	w = tb_reserve(&b, 0, 1);
	cr_assert_float_eq(w, 0.5, 1e-9);
	/* Over a long run the reserved starts never exceed rate * time + burst. */
	tb_init(&b, 50, 5, 0);
	int admitted = 0;
	for (double now = 0; now < 60; now += 0.001) {
		double wait = tb_reserve(&b, now, 1);
		if (wait > 0) {
			tb_refund(&b, now, 1);
			continue;
		}
		admitted++;
	}
	cr_assert(admitted <= 50 * 60 + 5 && admitted >= 50 * 60 - 5, "admitted %d", admitted);
	tb_init(&b, 0, 0, 0);
	w = tb_reserve(&b, 0, 1000);
	cr_assert_float_eq(w, 0, 1e-9, "unlimited never waits");
}
