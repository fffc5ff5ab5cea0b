/* test-histogram-fast.c — the fast paths of calibration give exactly the results of the plain
 * ones: AVX2 twins vs plain C bit for bit, histograms vs the definition computed naively, and the
 * shared-work entropy search vs a direct KL evaluation of every threshold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/histogram-simd.h"
#include "calibration/histogram.h"
#include "calibration/range.h"

static uint64_t rng_state;

static uint32_t next_u32(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 32);
}

static double uniform(void) { return (next_u32() + 0.5) / 4294967296.0; }

/* Values of the kinds activations hold, plus the corner cases of the index arithmetic: +-0,
 * denormals, values on bin edges, NaN and +-inf (when specials), and a late outlier. */
static void fill(float *x, size_t n, int kind, bool specials) {
  for (size_t i = 0; i < n; i++) {
    double g = sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
    float v;
    switch (kind) {
    case 0: v = (float)(g * 1.7 + 0.3); break;                       /* Gaussian */
    case 1: v = g < 0 ? 0.0f : (float)fmin(g * 3.0, 6.0); break;     /* ReLU6: zeros, saturation */
    case 2: v = (float)ldexp(floor(g * 64.0), -6); break;            /* exactly on bin edges */
    case 3: v = (float)(g * 1e-3); break;                            /* small magnitudes */
    default: v = (float)(-log(uniform()) * 0.3); break;              /* exponential */
    }
    x[i] = v;
  }
  if (n > 50) x[n / 2 + 7] = 900.5f; /* widens the range midway */
  if (!specials) return;
  for (size_t i = 0; i < n; i += 1 + next_u32() % 97) {
    static const float sp[] = {0.0f, -0.0f, 1e-45f, -1e-45f, -3e-39f, 2e-39f, NAN, INFINITY, -INFINITY, -FLT_MAX / 4};
    x[i] = sp[next_u32() % (sizeof sp / sizeof sp[0])];
  }
}

static bool have_simd(void) {
  octet_hist_simd_set(true);
  if (octet_hist_simd_enabled()) return true;
  print_message("no AVX2 on this machine: the twins are not compared\n");
  return false;
}

static void avx2_scan_equals_plain_scan_bit_for_bit(void **s) {
  if (!have_simd()) skip();
  rng_state = 11;
  float *x = malloc(70000 * sizeof *x);
  static const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 100, 4096, 4099, 70000};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
    for (int kind = 0; kind < 5; kind++)
      for (int sp = 0; sp < 2; sp++) {
        fill(x, sizes[k], kind, sp);
        octet_hist_scan a, b;
        octet_hist_scan_c(x, sizes[k], &a);
        octet_hist_scan_avx2(x, sizes[k], &b);
        assert_int_equal(a.zeros, b.zeros);
        assert_int_equal(a.nonfinite, b.nonfinite);
        if (a.nonfinite) continue; /* extremes are recomputed by the caller then */
        float alo = a.lo + 0.0f, blo = b.lo + 0.0f, ahi = a.hi + 0.0f, bhi = b.hi + 0.0f;
        assert_memory_equal(&alo, &blo, sizeof alo);
        assert_memory_equal(&ahi, &bhi, sizeof ahi);
      }
  free(x);
}

static void avx2_bin_indices_and_one_pass_equal_plain_ones_bit_for_bit(void **s) {
  if (!have_simd()) skip();
  rng_state = 12;
  float x[300];
  int32_t a[308], b[308];
  for (int round = 0; round < 400; round++) {
    size_t m = next_u32() % 300;
    fill(x, m, round % 5, round % 3 == 0);
    float amax = 0.0f;
    for (size_t i = 0; i < m; i++)
      if (fabsf(x[i]) <= FLT_MAX && fabsf(x[i]) > amax) amax = fabsf(x[i]);
    /* range exponents from the data, and also far above it: products that underflow */
    int e;
    frexpf(amax > 0 ? amax : 1.0f, &e);
    e += round % 4 == 0 ? 60 + (int)(next_u32() % 60) : 0;
    int32_t B = 8 << (next_u32() % 10);
    int lb = 0;
    while ((1 << lb) < B) lb++;
    double inv_w = ldexp(1.0, lb - e);
    size_t na = octet_hist_index_c(x, m, inv_w, B, a);
    size_t nb = octet_hist_index_avx2(x, m, inv_w, B, b);
    if (nb == SIZE_MAX) { /* inv_w beyond float: histogram.c uses the plain loop */
      assert_true(!(inv_w >= 0x1p-126 && inv_w <= 0x1p127));
      continue;
    }
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    /* the one-pass twin: the same indices and the same scan */
    octet_hist_scan sa, sb;
    octet_hist_scan_c(x, m, &sa);
    size_t nf = octet_hist_scan_index_avx2(x, m, inv_w, B, b, &sb);
    assert_int_equal(nf, na);
    assert_memory_equal(a, b, na * sizeof *a);
    assert_int_equal(sa.zeros, sb.zeros);
    assert_int_equal(sa.nonfinite, sb.nonfinite);
    if (!sa.nonfinite) {
      float l1 = sa.lo + 0.0f, l2 = sb.lo + 0.0f, h1 = sa.hi + 0.0f, h2 = sb.hi + 0.0f;
      assert_memory_equal(&l1, &l2, sizeof l1);
      assert_memory_equal(&h1, &h2, sizeof h1);
    }
    for (size_t i = 0; i < na; i++) {
      assert_true(a[i] >= 0);
      assert_true(a[i] < 2 * B);
    }
  }
}

/* The definition, computed the slow way: R = 2^e the smallest power of two above max|x|, bin of
 * v = floor(v / (R / B)) + B in exact (long double is wide enough for these) arithmetic. */
static void naive_histogram(const float *x, size_t n, uint32_t B, uint64_t *bins, int32_t *exp_out) {
  float amax = 0.0f;
  for (size_t i = 0; i < n; i++)
    if (fabsf(x[i]) <= FLT_MAX && fabsf(x[i]) > amax) amax = fabsf(x[i]);
  int e = 0;
  frexpf(amax, &e);
  *exp_out = amax > 0 ? e : OCTET_HIST_EMPTY_EXP;
  memset(bins, 0, 2 * (size_t)B * sizeof *bins);
  for (size_t i = 0; i < n; i++) {
    if (!(fabsf(x[i]) <= FLT_MAX)) continue;
    long double w = ldexpl(1.0L, e) / B;
    bins[(size_t)((int64_t)floorl((long double)x[i] / w) + B)]++;
  }
}

static void histograms_equal_the_definition_with_and_without_avx2(void **s) {
  rng_state = 13;
  const size_t n = 50000;
  float *x = malloc(n * sizeof *x);
  static const uint32_t half_bins[] = {8, 256, 2048, 8192};
  for (size_t hb = 0; hb < 4; hb++)
    for (int kind = 0; kind < 5; kind++) {
      uint32_t B = half_bins[hb];
      fill(x, n, kind, kind % 2 == 0);
      uint64_t *ref = malloc(2 * (size_t)B * sizeof *ref);
      int32_t ref_exp;
      naive_histogram(x, n, B, ref, &ref_exp);
      octet_hist h[2];
      octet_error err = {0};
      for (int simd = 0; simd < 2; simd++) {
        octet_hist_simd_set(simd);
        assert_int_equal(octet_hist_init(&h[simd], B, &err), OCTET_OK);
        /* batches of every size class: below and above the tally threshold, across chunks */
        for (size_t at = 0; at < n;) {
          size_t m = 1 + next_u32() % (at % 3 == 0 ? 20000 : 700);
          if (m > n - at) m = n - at;
          octet_hist_add(&h[simd], x + at, m);
          at += m;
        }
        assert_int_equal(h[simd].exp, ref_exp);
        assert_memory_equal(h[simd].bins, ref, 2 * (size_t)B * sizeof *ref);
      }
      assert_true(octet_hist_equal(&h[0], &h[1]));
      octet_hist_free(&h[0]);
      octet_hist_free(&h[1]);
      free(ref);
    }
  octet_hist_simd_set(true);
  free(x);
}

static void sampled_histograms_bin_every_strideth_value_and_count_all(void **s) {
  rng_state = 15;
  const size_t n = 1 << 17;
  float *x = malloc(n * sizeof *x), *picked = malloc(n * sizeof *picked);
  static const size_t strides[] = {2, 64, 4096, 16384};
  for (size_t k = 0; k < 4; k++)
    for (int kind = 0; kind < 5; kind++) {
      size_t stride = strides[k];
      fill(x, n, kind, kind == 1);
      size_t m = 0, finite = 0;
      for (size_t i = 0; i < n; i++) finite += fabsf(x[i]) <= FLT_MAX;
      for (size_t i = 0; i < n; i += stride) picked[m++] = x[i];
      uint64_t ref[512];
      int32_t ref_exp, all_exp;
      naive_histogram(picked, m, 256, ref, &ref_exp);
      uint64_t *unused = malloc(512 * sizeof *unused);
      naive_histogram(x, n, 256, unused, &all_exp); /* the range comes from every value */
      free(unused);
      octet_hist h, one;
      octet_error err = {0};
      assert_int_equal(octet_hist_init(&h, 256, &err), OCTET_OK);
      assert_int_equal(octet_hist_init(&one, 256, &err), OCTET_OK);
      /* in two calls split at a multiple of the stride, as per-sample sampling does */
      size_t half = n / 2 / stride * stride;
      octet_hist_add_sampled(&h, x, half, stride);
      octet_hist_add_sampled(&h, x + half, n - half, stride);
      octet_hist_add_sampled(&one, x, n, stride);
      assert_true(octet_hist_equal(&h, &one));
      assert_int_equal(h.count, finite);
      assert_int_equal(h.exp, all_exp);
      /* the sampled values binned at the full range: widen the reference to it */
      uint64_t wide[512] = {0};
      int sh = ref_exp == OCTET_HIST_EMPTY_EXP ? 0 : all_exp - ref_exp;
      for (int64_t b = 0; b < 512; b++) wide[256 + ((b - 256) >> sh)] += ref[b];
      assert_memory_equal(h.bins, wide, sizeof wide);
      octet_hist_free(&h);
      octet_hist_free(&one);
    }
  free(x);
  free(picked);
}

static void zero_extremes_are_stored_as_positive_zero(void **s) {
  float neg[] = {-0.0f, 1.0f}, pos[] = {0.0f, -0.0f, 2.0f};
  octet_hist a, b;
  octet_error err = {0};
  assert_int_equal(octet_hist_init(&a, 8, &err), OCTET_OK);
  assert_int_equal(octet_hist_init(&b, 8, &err), OCTET_OK);
  octet_hist_add(&a, neg, 2);
  octet_hist_add(&a, pos, 3);
  octet_hist_add(&b, pos, 3);
  octet_hist_add(&b, neg, 2);
  assert_false(signbit(a.min));
  assert_true(octet_hist_equal(&a, &b));
  octet_hist_free(&a);
  octet_hist_free(&b);
}

/* KL(P || Q) for threshold i, straight from TensorRT's description (see range.c). */
static double direct_kl(const uint64_t *hist, size_t n, size_t i, size_t levels) {
  double *p = malloc(i * sizeof *p), *q = calloc(i, sizeof *q);
  double outliers = 0.0;
  for (size_t b = 0; b < i; b++) p[b] = (double)hist[b];
  for (size_t b = i; b < n; b++) outliers += (double)hist[b];
  p[i - 1] += outliers;
  size_t merged = i / levels;
  for (size_t j = 0; j < levels; j++) {
    size_t start = j * merged, stop = j == levels - 1 ? i : start + merged;
    double sum = 0.0, nz = 0.0;
    for (size_t b = start; b < stop; b++) {
      sum += (double)hist[b];
      nz += p[b] != 0.0;
    }
    for (size_t b = start; b < stop; b++) q[b] = p[b] != 0.0 && nz > 0 ? sum / nz : 0.0;
  }
  double ps = 0.0, qs = 0.0, kl = 0.0;
  for (size_t b = 0; b < i; b++) {
    ps += p[b];
    qs += q[b];
  }
  for (size_t b = 0; b < i; b++) {
    if (p[b] == 0.0) continue;
    double pn = p[b] / ps, qn = qs > 0 ? q[b] / qs : 0.0;
    kl += pn * log(pn / (qn == 0.0 ? 1e-12 : qn));
  }
  free(p);
  free(q);
  return kl;
}

static void entropy_threshold_has_the_smallest_kl_of_all_thresholds(void **s) {
  rng_state = 14;
  static const size_t sizes[] = {129, 300, 1000, 2048};
  for (size_t k = 0; k < 4; k++)
    for (int shape = 0; shape < 4; shape++)
      for (size_t levels = 128; levels <= 256; levels *= 2) {
        size_t n = sizes[k];
        uint64_t *h = calloc(n, sizeof *h);
        for (size_t b = 0; b < n; b++) {
          double t = (double)b / (double)n;
          double v = shape == 0 ? 1e5 * exp(-t * 12.0)                         /* long tail */
                   : shape == 1 ? 1e4 * exp(-(t - 0.2) * (t - 0.2) * 80.0)      /* bump */
                   : shape == 2 ? (b % 7 == 0 ? 0.0 : 300.0 * (1.0 - t))        /* holes */
                                : (t < 0.1 ? 5e4 : (b % 50 == 0 ? 3.0 : 0.0));  /* sparse outliers */
          h[b] = (uint64_t)(v * (0.9 + 0.2 * uniform()));
        }
        size_t got = octet_range_entropy_threshold_bin(h, n, levels);
        if (n <= levels) {
          assert_int_equal(got, n);
          free(h);
          continue;
        }
        assert_true(got >= levels && got <= n);
        double best = INFINITY;
        size_t best_i = n;
        for (size_t i = levels; i <= n; i++) {
          double kl = direct_kl(h, n, i, levels);
          if (kl < best) {
            best = kl;
            best_i = i;
          }
        }
        double mine = direct_kl(h, n, got, levels);
        if (!(mine <= best + 1e-9 * fmax(1.0, fabs(best))))
          fail_msg("n %zu shape %d levels %zu: bin %zu has KL %.17g, bin %zu has %.17g", n, shape, levels, got,
                   mine, best_i, best);
        free(h);
      }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(avx2_scan_equals_plain_scan_bit_for_bit),
    cmocka_unit_test(avx2_bin_indices_and_one_pass_equal_plain_ones_bit_for_bit),
    cmocka_unit_test(histograms_equal_the_definition_with_and_without_avx2),
    cmocka_unit_test(sampled_histograms_bin_every_strideth_value_and_count_all),
    cmocka_unit_test(zero_extremes_are_stored_as_positive_zero),
    cmocka_unit_test(entropy_threshold_has_the_smallest_kl_of_all_thresholds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
