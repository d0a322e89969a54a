/* Token bucket for rate limits (transactions/s, queries/s). Pure: no clock of its own, the caller
 * passes the current time in seconds as `now`; a `now` earlier than the last call adds nothing. */
#ifndef SLUICE_RATELIMIT_H
#define SLUICE_RATELIMIT_H

struct token_bucket {
	double rate;  /* tokens per second; 0 = unlimited */
	double burst; /* depth in tokens (>= 1 when rate > 0) */
	double level; /* tokens available at time `last`; may be negative after an oversized take */
	double last;  /* time of the last refill */
};

/* Set up b with rate tokens/s and depth burst (0 = same as rate, at least 1 token); starts full. */
void tb_init(struct token_bucket *b, double rate, double burst, double now);
/* Take n tokens if available now: returns 1 (taken) or 0 (nothing taken). An n larger than the
 * depth is taken when the bucket is full and leaves it in debt, so the long-run rate still holds.
 */
int tb_take(struct token_bucket *b, double now, double n);
/* Seconds from now until tb_take(b, ., n) would succeed (0 if it would now); no side effects. */
double tb_wait(const struct token_bucket *b, double now, double n);
/* Take n tokens now whatever the level (a reservation, GCRA-style): the bucket may go into debt,
 * and the return value is the number of seconds until the reserved tokens exist (0: at once).
 * Successive reservations queue up, so the long-run rate holds exactly. */
double tb_reserve(struct token_bucket *b, double now, double n);
/* Give back n reserved tokens (a reservation that was abandoned), clamped to the depth. */
void tb_refund(struct token_bucket *b, double now, double n);
/* Live change of rate and depth (same meaning as tb_init), keeping the current level, clamped to
 * the new depth. Switching from unlimited to limited starts full. */
void tb_set(struct token_bucket *b, double rate, double burst, double now);
/* Tokens available now (after refill); -1 when unlimited. */
double tb_level(struct token_bucket *b, double now);

#endif
