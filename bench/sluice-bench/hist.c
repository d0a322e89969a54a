/* Latency histogram (see hist.h). Bucket layout: values below HIST_SUB are exact; above, each
 * power of two [2^k, 2^(k+1)) is cut into HIST_HALF equal sub-buckets, so a bucket is at most
 * 1/HIST_HALF of its lower bound wide. Counting is O(1); percentiles walk the buckets once. */
#include "hist.h"

#include <math.h>
#include <string.h>

#define HIST_VMAX ((UINT64_C(1) << HIST_MAX_BITS) - 1)

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

int hist_index(uint64_t v)
{
	if (v > HIST_VMAX)
		v = HIST_VMAX;
	if (v < HIST_SUB)
		return (int)v;
	int msb = 63 - __builtin_clzll(v);     /* >= HIST_SUB_BITS */
	int shift = msb - (HIST_SUB_BITS - 1); /* keeps HIST_SUB_BITS significant bits */
	uint64_t sub = v >> shift;             /* in [HIST_HALF, HIST_SUB) */
	return (int)(HIST_SUB + (uint64_t)(shift - 1) * HIST_HALF + (sub - HIST_HALF));
}

void hist_bucket_range(int idx, uint64_t *lo, uint64_t *hi)
{
	if (idx < (int)HIST_SUB) {
		*lo = *hi = (uint64_t)idx;
		return;
	}
	int shift = (idx - (int)HIST_SUB) / (int)HIST_HALF + 1;
	uint64_t sub = HIST_HALF + (uint64_t)((idx - (int)HIST_SUB) % (int)HIST_HALF);
	*lo = sub << shift;
	*hi = ((sub + 1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t v)
{
	if (v > HIST_VMAX)
		v = HIST_VMAX;
	h->bucket[hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->count)
		return;
	for (int i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0, lo, hi, v;

	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	/* the rank of the sample that has p% of all samples at or below it (1-based) */
	rank = (uint64_t)ceil((p / 100.0) * (double)h->count - 1e-9);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen < rank)
			continue;
		hist_bucket_range(i, &lo, &hi);
		v = lo + (hi - lo) / 2; /* the middle halves the worst-case error */
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}
