/* Latency histogram for sluice-bench: logarithmic buckets with linear sub-buckets (the layout
 * HDR histograms use), so memory is fixed (about 35 KiB) whatever the number of samples, and every
 * recorded value is known to within 0.4% (bucket width < 0.8% of its lower bound, value reported
 * at the middle). Values are integers, in microseconds for sluice-bench. */
#ifndef SLUICE_BENCH_HIST_H
#define SLUICE_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 8                     /* values below 2^8 get one bucket each */
#define HIST_SUB      (1u << HIST_SUB_BITS) /* 256 */
#define HIST_HALF     (HIST_SUB / 2)        /* sub-buckets per power of two above that */
#define HIST_MAX_BITS 40                    /* values are clamped below 2^40 (12 days in us) */
#define HIST_BUCKETS  ((int)(HIST_SUB + (HIST_MAX_BITS - HIST_SUB_BITS) * HIST_HALF))

struct hist {
	uint64_t count;
	uint64_t min, max; /* exact; min is UINT64_MAX while empty */
	double sum;        /* for the mean */
	uint32_t bucket[HIST_BUCKETS];
};

/* Empty the histogram. */
void hist_reset(struct hist *h);
/* Record one value (clamped to the largest representable value). */
void hist_record(struct hist *h, uint64_t v);
/* Add every sample of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* Value at percentile p (0..100): the smallest recorded value v such that at least p% of the
 * samples are <= v, to within the bucket's precision and clamped to [min, max]; 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double p);
/* Mean of the recorded values (exact), 0 when empty. */
double hist_mean(const struct hist *h);
/* Bucket index of v, and the [lo, hi] range of values a bucket holds (exposed for tests). */
int hist_index(uint64_t v);
void hist_bucket_range(int idx, uint64_t *lo, uint64_t *hi);

#endif
