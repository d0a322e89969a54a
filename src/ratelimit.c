/* Token bucket (see include/ratelimit.h). */
#include "ratelimit.h"

static double effective_burst(double rate, double burst)
{
	if (rate <= 0)
		return 0;
	if (burst <= 0)
		burst = rate;
	return burst < 1 ? 1 : burst;
}

/* Level at time now without modifying b. */
static double level_at(const struct token_bucket *b, double now)
{
	double lvl = b->level;

	if (now > b->last)
		lvl += (now - b->last) * b->rate;
	return lvl > b->burst ? b->burst : lvl;
}

static void refill(struct token_bucket *b, double now)
{
	b->level = level_at(b, now);
	if (now > b->last)
		b->last = now;
}

void tb_init(struct token_bucket *b, double rate, double burst, double now)
{
	b->rate = rate > 0 ? rate : 0;
	b->burst = effective_burst(b->rate, burst);
	b->level = b->burst;
	b->last = now;
}

/* Tokens that must be present before n can be taken: n, or the whole depth for oversized n. */
static double needed(const struct token_bucket *b, double n)
{
	return n > b->burst ? b->burst : n;
}

int tb_take(struct token_bucket *b, double now, double n)
{
	if (b->rate <= 0)
		return 1;
	refill(b, now);
	/* A tiny epsilon absorbs floating-point drift from summing many small refills. */
	if (b->level + 1e-9 < needed(b, n))
		return 0;
	b->level -= n;
	return 1;
}

double tb_wait(const struct token_bucket *b, double now, double n)
{
	double lvl, need;

	if (b->rate <= 0)
		return 0;
	lvl = level_at(b, now);
	need = needed(b, n);
	if (lvl + 1e-9 >= need)
		return 0;
	return (need - lvl) / b->rate;
}

void tb_set(struct token_bucket *b, double rate, double burst, double now)
{
	if (b->rate <= 0) {
		tb_init(b, rate, burst, now);
		return;
	}
	refill(b, now);
	b->rate = rate > 0 ? rate : 0;
	b->burst = effective_burst(b->rate, burst);
	if (b->level > b->burst)
		b->level = b->burst;
}

double tb_level(struct token_bucket *b, double now)
{
	if (b->rate <= 0)
		return -1;
	refill(b, now);
	return b->level;
}

double tb_reserve(struct token_bucket *b, double now, double n)
{
	if (b->rate <= 0)
		return 0;
	refill(b, now);
	b->level -= n;
	return b->level >= -1e-9 ? 0 : -b->level / b->rate;
}

void tb_refund(struct token_bucket *b, double now, double n)
{
	if (b->rate <= 0)
		return;
	refill(b, now);
	b->level += n;
	if (b->level > b->burst)
		b->level = b->burst;
}
