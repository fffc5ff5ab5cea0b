/* histogram.c — streaming mergeable histograms (see histogram.h for why they are exact). */
#include <float.h>
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "calibration/histogram.h"
#include "calibration/histogram-simd.h"

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

/* Two passes over the data (with AVX2 twins in histogram-avx2.c): extremes and special values
 * first, then bin indices a block at a time; only the increments are serial, and zeros (often
 * most of a ReLU output) skip them: the scan counted them for bin B. */

void octet_hist_scan_c(const float *x, size_t n, octet_hist_scan *r) {
  float lo = INFINITY, hi = -INFINITY;
  size_t nonfinite = 0, zeros = 0, i = 0;
#ifdef __SSE2__
  /* One pass (activations are often bigger than the caches): extremes, zeros and non-finite
   * values together. A NaN poisons minps/maxps, so any non-finite value sends the caller to a
   * careful loop. */
  {
    __m128 vlo = _mm_set1_ps(INFINITY), vhi = _mm_set1_ps(-INFINITY), zero = _mm_setzero_ps();
    __m128 maxf = _mm_set1_ps(FLT_MAX), absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    __m128i vz = _mm_setzero_si128(), vnf = _mm_setzero_si128();
    for (; i + 4 <= n && i < ((size_t)1 << 31); i += 4) {
      __m128 v = _mm_loadu_ps(x + i);
      vlo = _mm_min_ps(vlo, v);
      vhi = _mm_max_ps(vhi, v);
      vz = _mm_sub_epi32(vz, _mm_castps_si128(_mm_cmpeq_ps(v, zero)));
      vnf = _mm_sub_epi32(vnf, _mm_castps_si128(_mm_cmpnle_ps(_mm_and_ps(v, absmask), maxf)));
    }
    uint32_t z4[4], n4[4];
    float l4[4], h4[4];
    _mm_storeu_si128((__m128i *)z4, vz);
    _mm_storeu_si128((__m128i *)n4, vnf);
    _mm_storeu_ps(l4, vlo);
    _mm_storeu_ps(h4, vhi);
    for (int k = 0; k < 4; k++) {
      zeros += z4[k];
      nonfinite += n4[k];
      lo = l4[k] < lo ? l4[k] : lo;
      hi = h4[k] > hi ? h4[k] : hi;
    }
  }
#endif
  *r = (octet_hist_scan){lo, hi, zeros, nonfinite};
  octet_hist_scan_tail(x, i, n, r);
}

/* floor(v * inv_w) + B. The product is exact in double (inv_w is a power of two, and double's
 * range holds every float times it); adding B before rounding down would not be: a tiny
 * negative product rounds to B - 0 = B instead of landing in bin B - 1. */
static inline int32_t bin_of(float v, double inv_w, int32_t B) {
  double p = (double)v * inv_w;
  int32_t t = (int32_t)p; /* toward zero; |p| < B */
  return t - (p < (double)t) + B;
}

size_t octet_hist_index_c(const float *x, size_t m, double inv_w, int32_t B, int32_t *idx) {
  size_t k = 0;
  for (size_t i = 0; i < m; i++) {
    float v = x[i];
    if (v != 0.0f && fabsf(v) <= FLT_MAX) idx[k++] = bin_of(v, inv_w, B);
  }
  return k;
}

/* Increments go to two interleaved 32-bit tallies on the stack, added to the bins when the call
 * ends or before the range widens: neighbouring values often share a bin, and two counters halve
 * the chains of dependent read-modify-writes on one address, while 32 bits halve the cache
 * lines. Only the bins between the extremes seen so far are touched. */
#define TALLY_HALF_BINS 2048

typedef struct tally {
  uint32_t c[2][2 * TALLY_HALF_BINS];
  int32_t lo, hi; /* live (zeroed, then counted) bins; lo > hi: none */
} tally;

static void tally_flush(tally *t, octet_hist *h) {
  for (int32_t j = t->lo; j <= t->hi; j++) h->bins[j] += (uint64_t)t->c[0][j] + t->c[1][j];
  t->lo = INT32_MAX;
  t->hi = -1;
}

/* Makes bins [a, b] live. */
static void tally_cover(tally *t, int32_t a, int32_t b) {
  if (t->lo > t->hi) {
    memset(&t->c[0][a], 0, (size_t)(b - a + 1) * sizeof(uint32_t));
    memset(&t->c[1][a], 0, (size_t)(b - a + 1) * sizeof(uint32_t));
    t->lo = a;
    t->hi = b;
    return;
  }
  if (a < t->lo) {
    memset(&t->c[0][a], 0, (size_t)(t->lo - a) * sizeof(uint32_t));
    memset(&t->c[1][a], 0, (size_t)(t->lo - a) * sizeof(uint32_t));
    t->lo = a;
  }
  if (b > t->hi) {
    memset(&t->c[0][t->hi + 1], 0, (size_t)(b - t->hi) * sizeof(uint32_t));
    memset(&t->c[1][t->hi + 1], 0, (size_t)(b - t->hi) * sizeof(uint32_t));
    t->hi = b;
  }
}

/* Counts, extremes and range for n values from their scan (the tally, if any, is flushed
 * before a widening); returns false when none is finite. *lo_out, *hi_out: finite extremes. */
static bool apply_stats(octet_hist *h, const float *x, size_t n, const octet_hist_scan *sc, tally *t,
                        size_t *zeros_out, size_t *nonfinite_out, float *lo_out, float *hi_out) {
  float lo = sc->lo, hi = sc->hi;
  size_t nonfinite = sc->nonfinite, zeros = sc->zeros;
  if (nonfinite) { /* extremes of the finite values only */
    lo = INFINITY;
    hi = -INFINITY;
    for (size_t k = 0; k < n; k++) {
      if (!(fabsf(x[k]) <= FLT_MAX)) continue;
      lo = x[k] < lo ? x[k] : lo;
      hi = x[k] > hi ? x[k] : hi;
    }
  }
  /* -0 and +0 compare equal, so which one a min/max keeps depends on the order of the values;
   * +0 always, so the state (compared bit for bit) does not depend on batching or sharding. */
  lo += 0.0f;
  hi += 0.0f;
  size_t finite = n - nonfinite;
  h->nonfinite += nonfinite;
  *zeros_out = zeros;
  *nonfinite_out = nonfinite;
  *lo_out = lo;
  *hi_out = hi;
  if (finite == 0) return false;
  if (h->count == 0) {
    h->min = lo;
    h->max = hi;
  } else {
    h->min = lo < h->min ? lo : h->min;
    h->max = hi > h->max ? hi : h->max;
  }
  h->count += finite;
  h->zeros += zeros;
  float amax = fabsf(lo) > fabsf(hi) ? fabsf(lo) : fabsf(hi);
  if (amax > 0.0f) {
    int e;
    frexpf(amax, &e); /* amax < 2^e */
    if (h->exp == OCTET_HIST_EMPTY_EXP || e > h->exp) {
      if (t) tally_flush(t, h);
      widen(h, e);
    }
  }
  return true;
}

static bool add_stats(octet_hist *h, const float *x, size_t n, bool simd, tally *t, size_t *zeros_out,
                      size_t *nonfinite_out, float *lo_out, float *hi_out) {
  octet_hist_scan sc;
  if (simd) octet_hist_scan_avx2(x, n, &sc);
  else octet_hist_scan_c(x, n, &sc);
  return apply_stats(h, x, n, &sc, t, zeros_out, nonfinite_out, lo_out, hi_out);
}

/* Values are taken a chunk at a time (statistics, then bins) so the second pass reads them from
 * the L1 cache. Widening between chunks gives the same counts as binning all at the final
 * range, since bins nest exactly (histogram.h). */
#define HIST_CHUNK 2048
/* The sampled path bins a few values per chunk: bigger chunks (still L2-resident) amortize the
 * per-chunk reductions of the scan. */
#define HIST_SAMPLED_CHUNK 16384

void octet_hist_add_sampled(octet_hist *h, const float *x, size_t n, size_t stride) {
  bool simd = octet_hist_simd_enabled();
  size_t zeros, nonfinite;
  float lo, hi;
  if (stride > 1) {
    /* Sampled: values 0, stride, 2 stride, ... of the whole array, a chunk at a time (chunks
     * are multiples of the stride, a power of two) so the sampled reads hit the cache lines
     * the scan just brought in. Zeros land in bin B through the index formula. */
    size_t chunk = stride > HIST_SAMPLED_CHUNK ? stride : HIST_SAMPLED_CHUNK;
    int32_t B = (int32_t)h->half_bins;
    uint64_t binned = 0;
    for (size_t c = 0; c < n; c += chunk) {
      const float *xc = x + c;
      size_t nc = n - c < chunk ? n - c : chunk;
      if (!add_stats(h, xc, nc, simd, NULL, &zeros, &nonfinite, &lo, &hi)) continue;
      double inv_w = ldexp(1.0, log2u(h->half_bins) - h->exp);
      uint64_t *bins = h->bins;
      for (size_t i = 0; i < nc; i += stride) {
        float v = xc[i];
        if (!(fabsf(v) <= FLT_MAX)) continue;
        bins[v == 0.0f ? B : bin_of(v, inv_w, B)]++;
        binned++;
      }
    }
    h->binned += binned;
    return;
  }
  int32_t idx[HIST_CHUNK + 8];
  int32_t B = (int32_t)h->half_bins;
  /* The tally pays for itself on calls with many values per bin; its counters must not wrap. */
  tally tl, *t = h->half_bins <= TALLY_HALF_BINS && n >= 2 * (size_t)h->half_bins && n <= UINT32_MAX ? &tl : NULL;
  tl.lo = INT32_MAX;
  tl.hi = -1;
  for (size_t c = 0; c < n; c += HIST_CHUNK) {
    const float *xc = x + c;
    size_t nc = n - c < HIST_CHUNK ? n - c : HIST_CHUNK;
    /* With AVX2 and a range already known, one pass scans and indexes; the indices are redone
     * in the (rare) chunk that widens the range. */
    int32_t exp_before = h->exp;
    size_t k = SIZE_MAX;
    octet_hist_scan sc;
    if (simd && exp_before != OCTET_HIST_EMPTY_EXP)
      k = octet_hist_scan_index_avx2(xc, nc, ldexp(1.0, log2u(h->half_bins) - exp_before), B, idx, &sc);
    if (k == SIZE_MAX) {
      if (simd) octet_hist_scan_avx2(xc, nc, &sc);
      else octet_hist_scan_c(xc, nc, &sc);
    }
    if (!apply_stats(h, xc, nc, &sc, t, &zeros, &nonfinite, &lo, &hi)) continue;
    size_t finite = nc - nonfinite;
    h->binned += finite;
    h->bins[B] += zeros;
    if (finite == zeros) continue;
    /* 1/w = B / 2^exp is a power of two, so v * inv_w is exact (|v * inv_w| < B): the bin
     * index is the floor of an exact product, as the histogram's definition wants. */
    double inv_w = ldexp(1.0, log2u(h->half_bins) - h->exp);
    if (k == SIZE_MAX || h->exp != exp_before) {
      k = simd ? octet_hist_index_avx2(xc, nc, inv_w, B, idx) : SIZE_MAX;
      if (k == SIZE_MAX) k = octet_hist_index_c(xc, nc, inv_w, B, idx);
    }
    if (t) {
      tally_cover(t, (int32_t)floor((double)lo * inv_w) + B, (int32_t)floor((double)hi * inv_w) + B);
      size_t i = 0;
      for (; i + 2 <= k; i += 2) {
        t->c[0][idx[i]]++;
        t->c[1][idx[i + 1]]++;
      }
      if (i < k) t->c[0][idx[i]]++;
    } else {
      for (size_t i = 0; i < k; i++) h->bins[idx[i]]++;
    }
  }
  if (t) tally_flush(t, h);
}

void octet_hist_add(octet_hist *h, const float *x, size_t n) { octet_hist_add_sampled(h, x, n, 1); }

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
  dst->binned += src->binned;
  dst->zeros += src->zeros;
  dst->nonfinite += src->nonfinite;
  return OCTET_OK;
}

bool octet_hist_equal(const octet_hist *a, const octet_hist *b) {
  if (a->half_bins != b->half_bins || a->exp != b->exp || a->count != b->count || a->binned != b->binned ||
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
  if (h->count == 0 || h->binned == 0) return 0.0;
  if (q <= 0.0) return h->min;
  if (q >= 1.0) return h->max;
  double target = q * (double)h->binned, cum = 0.0;
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
