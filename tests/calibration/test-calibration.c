/* test-calibration.c — histograms are exact and mergeable; states round-trip; bad input is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibration/calibrator.h"

static float *random_values(size_t n, unsigned seed, float scale) {
  float *x = malloc(n * sizeof *x);
  srand(seed);
  for (size_t i = 0; i < n; i++) {
    float u = (float)rand() / (float)RAND_MAX - 0.5f;
    x[i] = u * scale * (i % 97 == 0 ? 40.0f : 1.0f); /* a few outliers widen the range late */
  }
  return x;
}

static void shards_merged_equal_one_pass_bit_for_bit(void **s) {
  const size_t n = 30000;
  float *x = random_values(n, 7, 3.0f);
  octet_hist one, a, b, c;
  octet_error err = {0};
  assert_int_equal(octet_hist_init(&one, 256, &err), OCTET_OK);
  assert_int_equal(octet_hist_init(&a, 256, &err), OCTET_OK);
  assert_int_equal(octet_hist_init(&b, 256, &err), OCTET_OK);
  assert_int_equal(octet_hist_init(&c, 256, &err), OCTET_OK);
  for (size_t i = 0; i < n; i += 1000) octet_hist_add(&one, x + i, 1000);
  /* three shards of different sizes, batches in another order */
  octet_hist_add(&b, x + 20000, 10000);
  octet_hist_add(&a, x + 5000, 5000);
  octet_hist_add(&a, x, 5000);
  for (size_t i = 10000; i < 20000; i += 333) octet_hist_add(&c, x + i, i + 333 > 20000 ? 20000 - i : 333);
  assert_int_equal(octet_hist_merge(&c, &a, &err), OCTET_OK);
  assert_int_equal(octet_hist_merge(&b, &c, &err), OCTET_OK);
  assert_true(octet_hist_equal(&one, &b));
  assert_int_equal(one.count, n);
  octet_hist_free(&one);
  octet_hist_free(&a);
  octet_hist_free(&b);
  octet_hist_free(&c);
  free(x);
}

static void histogram_counts_zeros_and_skips_nonfinite(void **s) {
  float x[] = {0.0f, 0.0f, NAN, INFINITY, -1.5f, 2.0f, -INFINITY};
  octet_hist h;
  octet_error err = {0};
  assert_int_equal(octet_hist_init(&h, 8, &err), OCTET_OK);
  octet_hist_add(&h, x, 2); /* zeros only: no range yet */
  assert_int_equal(h.exp, OCTET_HIST_EMPTY_EXP);
  octet_hist_add(&h, x + 2, 5);
  assert_int_equal(h.count, 4);
  assert_int_equal(h.zeros, 2);
  assert_int_equal(h.nonfinite, 3);
  assert_int_equal(h.exp, 2); /* 2.0 < 2^2 */
  assert_true(h.min == -1.5f && h.max == 2.0f);
  /* width 0.5: -1.5 -> bin 8-3 = 5, zeros -> bin 8, 2.0 -> bin 12 */
  assert_int_equal(h.bins[5], 1);
  assert_int_equal(h.bins[8], 2);
  assert_int_equal(h.bins[12], 1);
  octet_hist_free(&h);
}

static void quantile_hits_exact_extremes_and_interpolates(void **s) {
  float x[100];
  for (int i = 0; i < 100; i++) x[i] = (float)i / 100.0f; /* [0, 0.99] */
  octet_hist h;
  octet_error err = {0};
  assert_int_equal(octet_hist_init(&h, 1024, &err), OCTET_OK);
  octet_hist_add(&h, x, 100);
  assert_true(octet_hist_quantile(&h, 0.0) == 0.0);
  assert_true(fabs(octet_hist_quantile(&h, 1.0) - 0.99) < 1e-6);
  /* half the values are below 0.5: the median lies inside the bin holding 0.49 */
  double med = octet_hist_quantile(&h, 0.5);
  assert_true(med >= 0.49 - 1e-6 && med <= 0.49 + octet_hist_width(&h));
  octet_hist_free(&h);
}

static void minmax_range_includes_zero_and_symmetric_uses_max_magnitude(void **s) {
  float x[] = {1.0f, 3.0f, 2.0f};
  octet_hist h;
  octet_error err = {0};
  octet_range_options o;
  double lo, hi;
  assert_int_equal(octet_hist_init(&h, 64, &err), OCTET_OK);
  octet_hist_add(&h, x, 3);
  octet_range_defaults(&o, OCTET_RANGE_MINMAX);
  assert_int_equal(octet_range_choose(&h, &o, &lo, &hi, &err), OCTET_OK);
  assert_true(lo == 0.0 && hi == 3.0);
  o.symmetric = true;
  assert_int_equal(octet_range_choose(&h, &o, &lo, &hi, &err), OCTET_OK);
  assert_true(lo == -3.0 && hi == 3.0);
  octet_hist_free(&h);
}

static void entropy_clips_a_long_tail(void **s) {
  size_t n = 100000;
  float *x = malloc(n * sizeof *x);
  srand(3);
  for (size_t i = 0; i < n; i++) { /* ReLU of a Gaussian-ish sum, with far outliers */
    float g = 0;
    for (int k = 0; k < 4; k++) g += (float)rand() / (float)RAND_MAX - 0.5f;
    x[i] = g > 0 ? g : 0;
  }
  x[0] = 50.0f;
  x[1] = 45.0f;
  octet_hist h;
  octet_error err = {0};
  octet_range_options o;
  double lo, hi;
  assert_int_equal(octet_hist_init(&h, 2048, &err), OCTET_OK);
  octet_hist_add(&h, x, n);
  octet_range_defaults(&o, OCTET_RANGE_ENTROPY);
  assert_int_equal(octet_range_choose(&h, &o, &lo, &hi, &err), OCTET_OK);
  assert_true(lo == 0.0);
  assert_true(hi > 0.8 && hi < 10.0); /* far below the outliers, above the bulk */
  octet_hist_free(&h);
  free(x);
}

static void unknown_method_and_bad_options_are_named(void **s) {
  octet_error err = {0};
  octet_range_method m;
  assert_int_equal(octet_range_method_parse("kl", &m, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "'kl'"));
  bool enabled[OCTET_RANGE_METHOD_COUNT];
  assert_int_equal(octet_calibration_methods("minmax,,mse", enabled, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_int_equal(octet_calibration_methods("minmax,mse", enabled, &err), OCTET_OK);
  assert_true(enabled[OCTET_RANGE_MINMAX] && enabled[OCTET_RANGE_MSE] && !enabled[OCTET_RANGE_ENTROPY]);
  octet_calibrator *c;
  octet_calibrator_options co = {.bins_per_side = 100};
  assert_int_equal(octet_calibrator_create(&co, &c, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "power of two"));
}

static void tmp_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "/tmp/octet-test-calib-%d-%s", (int)getpid(), name);
}

static void state_files_merge_to_the_single_pass_state(void **s) {
  const size_t n = 8000;
  float *x = random_values(n, 11, 5.0f);
  octet_error err = {0};
  octet_calibrator *one, *s1, *s2, *merged;
  assert_int_equal(octet_calibrator_create(NULL, &one, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_create(NULL, &s1, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_create(NULL, &s2, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_create(NULL, &merged, &err), OCTET_OK);
  octet_tensor t = {.dtype = OCTET_DTYPE_FLOAT, .rank = 1};
  for (size_t i = 0; i < n; i += 1000) {
    t.dims[0] = 1000;
    t.data = x + i;
    const char *name = (i / 1000) % 2 ? "relu_out" : "conv_out";
    assert_int_equal(octet_calibrator_observe(one, name, &t, &err), OCTET_OK);
    assert_int_equal(octet_calibrator_observe(i < n / 2 ? s1 : s2, name, &t, &err), OCTET_OK);
  }
  octet_calibrator_add_samples(one, 8);
  octet_calibrator_add_samples(s1, 4);
  octet_calibrator_add_samples(s2, 4);
  char p1[256], p2[256], pm[256], po[256];
  tmp_path(p1, sizeof p1, "s1");
  tmp_path(p2, sizeof p2, "s2");
  tmp_path(pm, sizeof pm, "merged");
  tmp_path(po, sizeof po, "one");
  assert_int_equal(octet_calibrator_save_state(s1, p1, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_save_state(s2, p2, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_merge_state(merged, p2, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_merge_state(merged, p1, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_save_state(merged, pm, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_save_state(one, po, &err), OCTET_OK);
  /* the files themselves are identical */
  FILE *fa = fopen(pm, "rb"), *fb = fopen(po, "rb");
  int ca, cb;
  do {
    ca = fgetc(fa);
    cb = fgetc(fb);
    assert_int_equal(ca, cb);
  } while (ca != EOF);
  fclose(fa);
  fclose(fb);
  /* a truncated state is refused with its name */
  truncate(p1, 30);
  assert_int_equal(octet_calibrator_merge_state(merged, p1, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "truncated"));
  assert_int_equal(octet_calibrator_merge_state(merged, "/nonexistent/x", &err), OCTET_STATUS_IO);
  unlink(p1);
  unlink(p2);
  unlink(pm);
  unlink(po);
  octet_calibrator_destroy(one);
  octet_calibrator_destroy(s1);
  octet_calibrator_destroy(s2);
  octet_calibrator_destroy(merged);
  free(x);
}

static void table_lists_every_tensor_with_each_method(void **s) {
  octet_error err = {0};
  octet_calibrator *c;
  assert_int_equal(octet_calibrator_create(NULL, &c, &err), OCTET_OK);
  float v[] = {-1.0f, 0.5f, 2.0f, 0.25f};
  octet_tensor t = {.dtype = OCTET_DTYPE_FLOAT, .rank = 1, .dims = {4}, .data = v};
  assert_int_equal(octet_calibrator_observe(c, "a\"b", &t, &err), OCTET_OK);
  char p[256];
  tmp_path(p, sizeof p, "table.json");
  octet_calibration_choice ch = {.methods = "minmax,percentile"};
  assert_int_equal(octet_calibrator_write_table(c, &ch, p, &err), OCTET_OK);
  FILE *f = fopen(p, "rb");
  char buf[4096] = {0};
  fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  assert_non_null(strstr(buf, "\"a\\\"b\": {\"min\": -1, \"max\": 2"));
  assert_non_null(strstr(buf, "\"minmax\": [-1, 2]"));
  assert_non_null(strstr(buf, "\"percentile\": ["));
  assert_null(strstr(buf, "\"entropy\""));
  ch.percentile = 20;
  assert_int_equal(octet_calibrator_write_table(c, &ch, p, &err), OCTET_STATUS_INVALID_ARGUMENT);
  unlink(p);
  octet_calibrator_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(shards_merged_equal_one_pass_bit_for_bit),
    cmocka_unit_test(histogram_counts_zeros_and_skips_nonfinite),
    cmocka_unit_test(quantile_hits_exact_extremes_and_interpolates),
    cmocka_unit_test(minmax_range_includes_zero_and_symmetric_uses_max_magnitude),
    cmocka_unit_test(entropy_clips_a_long_tail),
    cmocka_unit_test(unknown_method_and_bad_options_are_named),
    cmocka_unit_test(state_files_merge_to_the_single_pass_state),
    cmocka_unit_test(table_lists_every_tensor_with_each_method),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
