/* histogram-simd.h — the two hot loops of histogram.c, in plain C and (x86-64) AVX2 twins that
 * give the same results bit for bit; tests/calibration checks the twins against each other. */
#ifndef OCTET_CALIBRATION_HISTOGRAM_SIMD_H
#define OCTET_CALIBRATION_HISTOGRAM_SIMD_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One pass over x: exact counts of zeros and of non-finite values (NaN, +-inf); lo/hi are the
 * extremes and are exact whenever nonfinite == 0 (else the caller recomputes them). Either sign
 * of zero may come back as an extreme. */
typedef struct octet_hist_scan {
  float lo, hi;
  size_t zeros, nonfinite;
} octet_hist_scan;

void octet_hist_scan_c(const float *x, size_t n, octet_hist_scan *r);
/* The scan's scalar end, shared by both twins: folds x[i..n) into r. */
static inline void octet_hist_scan_tail(const float *x, size_t i, size_t n, octet_hist_scan *r) {
  for (; i < n; i++) {
    float v = x[i];
    bool fin = fabsf(v) <= FLT_MAX;
    r->nonfinite += !fin;
    r->zeros += v == 0.0f;
    if (fin) {
      r->lo = v < r->lo ? v : r->lo;
      r->hi = v > r->hi ? v : r->hi;
    }
  }
}
/* Bin indices of the non-zero finite values among x[0..m), in order: B + floor(v * inv_w),
 * computed exactly. Zeros (bin B, counted by the scan) and NaN/inf are left out. Returns how many
 * were written; idx must have room for m + 8. inv_w must be a power of two, |x| * inv_w < B. */
size_t octet_hist_index_c(const float *x, size_t m, double inv_w, int32_t B, int32_t *idx);

/* Whether the AVX2 twins can run here (CPU support, and not switched off for tests). */
bool octet_hist_simd_enabled(void);
/* Tests: false makes histogram.c use the plain C loops only. */
void octet_hist_simd_set(bool on);
void octet_hist_scan_avx2(const float *x, size_t n, octet_hist_scan *r);
/* As octet_hist_index_c, in float arithmetic: needs inv_w in [2^-126, 2^127] (a normal float);
 * returns SIZE_MAX, having written nothing, when it is not. */
size_t octet_hist_index_avx2(const float *x, size_t m, double inv_w, int32_t B, int32_t *idx);

/* Both in one pass: the scan of x, and the indices (as octet_hist_index_c) computed with inv_w,
 * which are meaningful only when the scan's extremes fit the range inv_w was made for (the
 * caller re-indexes after widening otherwise; non-finite values are left out in any case). Same
 * conditions and results as octet_hist_scan_avx2 followed by octet_hist_index_avx2; SIZE_MAX
 * (nothing done) when inv_w is not a normal float. */
size_t octet_hist_scan_index_avx2(const float *x, size_t n, double inv_w, int32_t B, int32_t *idx,
                                  octet_hist_scan *r);

#endif
