/* histogram.h — streaming, mergeable activation histograms.
 *
 * The histogram is a pure function of the multiset of values it saw: bins cover [-R, R) with
 * R = 2^exp the smallest power of two above max|x|, and 2*B equal bins (B a power of two), so
 * the bin width is a power of two too and x / width is exact. Widening R to 2^(exp+k) merges
 * each run of 2^k old bins into one new bin exactly. Hence any order of batches, any sharding,
 * and any merge order give bit-identical counts: `octet calibrate --shard/--merge` relies on it.
 * Memory is 2*B counters per tensor, independent of the number of samples. */
#ifndef OCTET_CALIBRATION_HISTOGRAM_H
#define OCTET_CALIBRATION_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define OCTET_HIST_EMPTY_EXP INT32_MIN

typedef struct octet_hist {
  uint32_t half_bins; /* B: bins per side, a power of two */
  int32_t exp;        /* R = 2^exp; OCTET_HIST_EMPTY_EXP until a non-zero value arrives */
  uint64_t *bins;     /* 2*B counts; bin i covers [(i-B)*w, (i-B+1)*w), w = R/B */
  uint64_t count;     /* finite values seen (zeros included) */
  uint64_t binned;    /* finite values in the bins: count, or fewer when adds were sampled */
  uint64_t zeros;     /* exact zeros (they live in bin B too) */
  uint64_t nonfinite; /* NaN and +-inf: counted, never binned */
  float min, max;     /* exact extremes of the finite values; 0/0 when count == 0 */
} octet_hist;

octet_status octet_hist_init(octet_hist *h, uint32_t half_bins, octet_error *err);
void octet_hist_free(octet_hist *h);
/* Adds n float values. Never allocates. */
void octet_hist_add(octet_hist *h, const float *x, size_t n);
/* Same, but only every stride-th value (from x[0]) goes into the bins; min, max and the counts
 * still see all of them. Big activations are sampled this way (see calibrator.c). */
void octet_hist_add_sampled(octet_hist *h, const float *x, size_t n, size_t stride);
/* dst += src (widening either as needed); both must have the same half_bins. */
octet_status octet_hist_merge(octet_hist *dst, const octet_hist *src, octet_error *err);
bool octet_hist_equal(const octet_hist *a, const octet_hist *b);

/* Bin width and the lower edge of bin i. */
double octet_hist_width(const octet_hist *h);
double octet_hist_edge(const octet_hist *h, size_t i);

/* Value below which a fraction q of the binned values lie, interpolating inside the bin
 * (the extremes are exact: q = 0 gives min, q = 1 gives max). */
double octet_hist_quantile(const octet_hist *h, double q);

/* The magnitude histogram: abs[k] counts |x| in [k*w, (k+1)*w), k < B. Fills B entries. */
void octet_hist_fold_abs(const octet_hist *h, uint64_t *abs);

#endif
