/* histogram.c — streaming mergeable histograms (see histogram.h for why they are exact). */
#include <math.h>
#include <string.h>

#include "calibration/histogram.h"

static int log2u(uint32_t v) {
  int l = 0;
  while ((1u << l) < v) l++;
  return l;
}

octet_status octet_hist_init(octet_hist *h, uint32_t half_bins, octet_error *err) {
  memset(h, 0, sizeof *h);
  if (half_bins < 8 || half_bins > (1u << 20) || (half_bins & (half_bins - 1)))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "histogram bins per side must be a power of two in [8, 2^20], got %u",
                      half_bins);
  h->bins = octet_calloc(2 * (size_t)half_bins, sizeof *h->bins);
  if (!h->bins) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory for a histogram");
  h->half_bins = half_bins;
  h->exp = OCTET_HIST_EMPTY_EXP;
  return OCTET_OK;
}

void octet_hist_free(octet_hist *h) {
  if (!h) return;
  octet_free(h->bins);
  h->bins = NULL;
}

/* Re-bins to R = 2^new_exp (>= exp): runs of 2^k bins fold into one, in place. */
static void widen(octet_hist *h, int32_t new_exp) {
  if (h->exp == OCTET_HIST_EMPTY_EXP || new_exp <= h->exp) {
    if (h->exp == OCTET_HIST_EMPTY_EXP || new_exp > h->exp) h->exp = new_exp;
    return;
  }
  int64_t B = h->half_bins;
  int k = new_exp - h->exp;
  if (k > 62) k = 62;
  for (int64_t i = B; i < 2 * B; i++) { /* positive side moves down: ascending is safe */
    int64_t j = B + ((i - B) >> k);
    if (j != i) {
      h->bins[j] += h->bins[i];
      h->bins[i] = 0;
    }
  }
  for (int64_t i = B - 1; i >= 0; i--) { /* negative side moves up: descending is safe */
    int64_t j = B + ((i - B) >> k);
    if (j != i) {
      h->bins[j] += h->bins[i];
      h->bins[i] = 0;
    }
  }
  h->exp = new_exp;
}

void octet_hist_add(octet_hist *h, const float *x, size_t n) {
  float lo = INFINITY, hi = -INFINITY, amax = 0.0f;
  size_t finite = 0;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (!isfinite(v)) continue;
    finite++;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  h->nonfinite += n - finite;
  if (finite == 0) return;
  amax = fabsf(lo) > fabsf(hi) ? fabsf(lo) : fabsf(hi);
  if (h->count == 0) {
    h->min = lo;
    h->max = hi;
  } else {
    h->min = lo < h->min ? lo : h->min;
    h->max = hi > h->max ? hi : h->max;
  }
  h->count += finite;
  if (amax > 0.0f) {
    int e;
    frexp(amax, &e); /* amax < 2^e */
    if (h->exp == OCTET_HIST_EMPTY_EXP || e > h->exp) widen(h, e);
  }
  int64_t B = h->half_bins;
  if (h->exp == OCTET_HIST_EMPTY_EXP) { /* only zeros so far */
    h->bins[B] += finite;
    h->zeros += finite;
    return;
  }
  /* 1/w = B / 2^exp is a power of two: v * inv_w is exact in double. */
  double inv_w = ldexp(1.0, log2u(h->half_bins) - h->exp);
  uint64_t zeros = 0;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (!isfinite(v)) continue;
    zeros += v == 0.0f;
    int64_t j = (int64_t)floor((double)v * inv_w) + B;
    h->bins[j]++;
  }
  h->zeros += zeros;
}

octet_status octet_hist_merge(octet_hist *dst, const octet_hist *src, octet_error *err) {
  if (dst->half_bins != src->half_bins)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "cannot merge histograms with %u and %u bins per side", dst->half_bins,
                      src->half_bins);
  if (src->count == 0) {
    dst->nonfinite += src->nonfinite;
    return OCTET_OK;
  }
  int32_t exp = dst->exp;
  if (src->exp != OCTET_HIST_EMPTY_EXP && (exp == OCTET_HIST_EMPTY_EXP || src->exp > exp))
    exp = src->exp;
  widen(dst, exp);
  int64_t B = dst->half_bins;
  int k = (src->exp == OCTET_HIST_EMPTY_EXP) ? 0 : exp - src->exp;
  if (k > 62) k = 62;
  for (int64_t i = 0; i < 2 * B; i++) {
    if (!src->bins[i]) continue;
    dst->bins[B + ((i - B) >> k)] += src->bins[i];
  }
  if (dst->count == 0) {
    dst->min = src->min;
    dst->max = src->max;
  } else {
    dst->min = src->min < dst->min ? src->min : dst->min;
    dst->max = src->max > dst->max ? src->max : dst->max;
  }
  dst->count += src->count;
  dst->zeros += src->zeros;
  dst->nonfinite += src->nonfinite;
  return OCTET_OK;
}

bool octet_hist_equal(const octet_hist *a, const octet_hist *b) {
  if (a->half_bins != b->half_bins || a->exp != b->exp || a->count != b->count ||
      a->zeros != b->zeros || a->nonfinite != b->nonfinite)
    return false;
  if (memcmp(&a->min, &b->min, sizeof a->min) || memcmp(&a->max, &b->max, sizeof a->max))
    return false;
  return !memcmp(a->bins, b->bins, 2 * (size_t)a->half_bins * sizeof *a->bins);
}

double octet_hist_width(const octet_hist *h) {
  if (h->exp == OCTET_HIST_EMPTY_EXP) return 0.0;
  return ldexp(1.0, h->exp - log2u(h->half_bins));
}

double octet_hist_edge(const octet_hist *h, size_t i) {
  return ((double)i - (double)h->half_bins) * octet_hist_width(h);
}

double octet_hist_quantile(const octet_hist *h, double q) {
  if (h->count == 0) return 0.0;
  if (q <= 0.0) return h->min;
  if (q >= 1.0) return h->max;
  double target = q * (double)h->count, cum = 0.0;
  size_t nb = 2 * (size_t)h->half_bins;
  for (size_t i = 0; i < nb; i++) {
    double c = (double)h->bins[i];
    if (c > 0 && cum + c >= target) {
      double lo = octet_hist_edge(h, i), hi = lo + octet_hist_width(h);
      if (lo < h->min) lo = h->min;
      if (hi > h->max) hi = h->max;
      double v = lo + (hi - lo) * ((target - cum) / c);
      return v;
    }
    cum += c;
  }
  return h->max;
}

void octet_hist_fold_abs(const octet_hist *h, uint64_t *abs) {
  size_t B = h->half_bins;
  for (size_t k = 0; k < B; k++) abs[k] = h->bins[B + k] + h->bins[B - 1 - k];
}
