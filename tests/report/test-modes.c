/* test-modes.c — dynamic quantization (node forms, accuracy vs float in octet), --mode auto's
 * choice, bias correction, and the accuracy-driven fallback, on the small real models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octet/octet.h"
#include "onnx_io/ir.h"

#define MODELS "/work/shared/models/"

static octet_model *load_prepared(const char *name) {
  octet_model *m = NULL;
  octet_error err = {0};
  if (octet_model_load(name, NULL, &m, &err)) return NULL;
  assert_int_equal(octet_quantize_prepare(m, NULL, &err), OCTET_OK);
  return m;
}

static size_t count_op(const octet_model *m, const char *op) {
  size_t k = 0;
  for (size_t i = 0; i < m->graph->n_nodes; i++) k += !strcmp(m->graph->nodes[i].op_type, op);
  return k;
}

/* Runs m on samples [0, n) of x; fills out (n x classes) with output 0. */
static void run_all(const octet_model *m, const char *xpath, uint64_t n, size_t classes, float *out) {
  octet_error err = {0};
  octet_session *s = NULL;
  octet_dataset *x = NULL;
  octet_session_options so = {.n_threads = 1};
  octet_status st = octet_session_create(m, &so, &s, &err);
  if (st) fprintf(stderr, "%s\n", err.message);
  assert_int_equal(st, OCTET_OK);
  assert_int_equal(octet_dataset_open(xpath, NULL, NULL, &x, &err), OCTET_OK);
  for (uint64_t at = 0; at < n; at += 50) {
    uint64_t b = n - at < 50 ? n - at : 50;
    octet_tensor in, y;
    assert_int_equal(octet_dataset_read(x, at, b, OCTET_DTYPE_FLOAT, &in, &err), OCTET_OK);
    st = octet_session_run(s, &in, 1, &y, 1, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, OCTET_OK);
    assert_int_equal(octet_tensor_numel(&y), b * classes);
    memcpy(out + at * classes, y.data, b * classes * sizeof *out);
    octet_tensor_free(&in);
  }
  octet_dataset_destroy(x);
  octet_session_destroy(s);
}

static double agreement(const float *a, const float *b, uint64_t n, size_t c) {
  uint64_t k = 0;
  for (uint64_t i = 0; i < n; i++) {
    size_t x = 0, y = 0;
    for (size_t j = 1; j < c; j++) {
      if (a[i * c + j] > a[i * c + x]) x = j;
      if (b[i * c + j] > b[i * c + y]) y = j;
    }
    k += x == y;
  }
  return 100.0 * (double)k / (double)n;
}

static double mse(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return s / (double)n;
}

static void dynamic_digits_mlp_turns_every_gemm_into_dynamic_quantize_matmul(void **state) {
  (void)state;
  octet_model *fm = load_prepared(MODELS "digits_mlp.onnx"), *qm = load_prepared(MODELS "digits_mlp.onnx");
  if (!fm) skip();
  octet_error err = {0};
  size_t gemms = count_op(fm, "Gemm") + count_op(fm, "MatMul");
  assert_true(gemms >= 3);
  octet_quantize_options o = {.mode = "dynamic"};
  char *summary = NULL;
  assert_int_equal(octet_quantize_model(qm, NULL, &o, &summary, &err), OCTET_OK); /* no calibrator needed */
  assert_non_null(strstr(summary, "DynamicQuantizeMatMul"));
  octet_string_free(summary);
  assert_int_equal(count_op(qm, "DynamicQuantizeMatMul"), gemms);
  assert_int_equal(count_op(qm, "Gemm") + count_op(qm, "MatMul"), 0);
  assert_int_equal(octet_ir_opset_version(qm, "com.microsoft"), 1);
  assert_true(octet_model_is_quantized(qm) || count_op(qm, "DynamicQuantizeMatMul") > 0);
  float *a = calloc(397 * 10, sizeof *a), *b = calloc(397 * 10, sizeof *b);
  run_all(fm, MODELS "digits_mlp.test_x.npy", 397, 10, a);
  run_all(qm, MODELS "digits_mlp.test_x.npy", 397, 10, b);
  assert_true(agreement(a, b, 397, 10) >= 99.0);
  assert_true(mse(a, b, 3970) > 0.0); /* it did quantize */
  free(a);
  free(b);
  octet_model_destroy(fm);
  octet_model_destroy(qm);
}

static void dynamic_mnist_cnn_turns_convs_into_conv_integer_and_agrees_with_float(void **state) {
  (void)state;
  octet_model *fm = load_prepared(MODELS "mnist_cnn.onnx"), *qm = load_prepared(MODELS "mnist_cnn.onnx");
  if (!fm) skip();
  octet_error err = {0};
  size_t convs = count_op(fm, "Conv");
  octet_quantize_options o = {.mode = "dynamic"};
  assert_int_equal(octet_quantize_model(qm, NULL, &o, NULL, &err), OCTET_OK);
  assert_int_equal(count_op(qm, "ConvInteger"), convs);
  assert_int_equal(count_op(qm, "Conv"), 0);
  assert_true(count_op(qm, "DynamicQuantizeLinear") >= 1 && count_op(qm, "DynamicQuantizeLinear") <= convs);
  float *a = calloc(500 * 10, sizeof *a), *b = calloc(500 * 10, sizeof *b);
  run_all(fm, MODELS "mnist_cnn.test_x.npy", 500, 10, a);
  run_all(qm, MODELS "mnist_cnn.test_x.npy", 500, 10, b);
  assert_true(agreement(a, b, 500, 10) >= 98.0);
  free(a);
  free(b);
  octet_model_destroy(fm);
  octet_model_destroy(qm);
}

static void auto_mode_picks_dynamic_for_matmul_graphs_and_static_for_conv_graphs(void **state) {
  (void)state;
  octet_model *vit = load_prepared(MODELS "fmnist_vit.onnx"), *cnn = load_prepared(MODELS "fmnist_cnn.onnx");
  if (!vit || !cnn) skip();
  char why[160];
  assert_string_equal(octet_quantize_auto_mode(vit, why, sizeof why), "dynamic");
  assert_non_null(strstr(why, "MatMul"));
  assert_string_equal(octet_quantize_auto_mode(cnn, why, sizeof why), "static");
  octet_model_destroy(vit);
  octet_model_destroy(cnn);
}

static octet_calibrator *calibrate(octet_model *m, const char *data, uint64_t n) {
  octet_error err = {0};
  octet_calibrator *cal = NULL;
  octet_session *s = NULL;
  octet_dataset *ds = NULL;
  assert_int_equal(octet_calibrator_create(NULL, &cal, &err), OCTET_OK);
  octet_session_options so = {.n_threads = 1, .observer = octet_calibrator_observer, .observer_ctx = cal};
  assert_int_equal(octet_session_create(m, &so, &s, &err), OCTET_OK);
  assert_int_equal(octet_dataset_open(data, NULL, NULL, &ds, &err), OCTET_OK);
  assert_int_equal(octet_calibrate(cal, s, m, &ds, 0, n, 50, NULL, NULL, &err), OCTET_OK);
  octet_session_destroy(s);
  octet_dataset_destroy(ds);
  return cal;
}

/* Bias correction moves the int8 model's outputs towards float on held-out data. */
static void bias_correction_brings_fmnist_cnn_outputs_closer_to_float(void **state) {
  (void)state;
  octet_model *fm = load_prepared(MODELS "fmnist_cnn.onnx"), *qm = load_prepared(MODELS "fmnist_cnn.onnx");
  if (!fm) skip();
  octet_model *qb = load_prepared(MODELS "fmnist_cnn.onnx");
  octet_error err = {0};
  octet_calibrator *cal = calibrate(qm, MODELS "fmnist_cnn.calib.npy", 500);
  octet_quantize_options o = {0};
  assert_int_equal(octet_quantize_model(qm, cal, &o, NULL, &err), OCTET_OK);
  assert_int_equal(octet_quantize_model(qb, cal, &o, NULL, &err), OCTET_OK);
  octet_dataset *ds = NULL;
  assert_int_equal(octet_dataset_open(MODELS "fmnist_cnn.calib.npy", NULL, NULL, &ds, &err), OCTET_OK);
  char *line = NULL;
  octet_session_options so = {.n_threads = 1};
  octet_status st = octet_quantize_bias_correction(fm, qb, &ds, 0, 500, &so, &line, &err);
  if (st) fprintf(stderr, "%s\n", err.message);
  assert_int_equal(st, OCTET_OK);
  assert_non_null(strstr(line, "biases adjusted"));
  octet_string_free(line);
  enum { N = 1000 };
  float *f = calloc(N * 10, sizeof *f), *a = calloc(N * 10, sizeof *a), *b = calloc(N * 10, sizeof *b);
  run_all(fm, MODELS "fmnist_cnn.test_x.npy", N, 10, f);
  run_all(qm, MODELS "fmnist_cnn.test_x.npy", N, 10, a);
  run_all(qb, MODELS "fmnist_cnn.test_x.npy", N, 10, b);
  double before = mse(f, a, N * 10), after = mse(f, b, N * 10);
  fprintf(stderr, "output MSE vs float: %.6g -> %.6g with bias correction; agreement %.2f%% -> %.2f%%\n", before, after,
          agreement(f, a, N, 10), agreement(f, b, N, 10));
  assert_true(after < before);
  free(f);
  free(a);
  free(b);
  octet_dataset_destroy(ds);
  octet_calibrator_destroy(cal);
  octet_model_destroy(fm);
  octet_model_destroy(qm);
  octet_model_destroy(qb);
}

/* The fallback on fmnist_cnn (500 test samples): the bound holds when measured independently,
 * and a loose bound keeps everything int8. */
static void fallback_meets_the_drop_bound_on_fmnist_cnn(void **state) {
  (void)state;
  octet_model *fm = load_prepared(MODELS "fmnist_cnn.onnx"), *qm = load_prepared(MODELS "fmnist_cnn.onnx");
  if (!fm) skip();
  octet_model *loose = load_prepared(MODELS "fmnist_cnn.onnx");
  octet_error err = {0};
  octet_calibrator *cal = calibrate(qm, MODELS "fmnist_cnn.calib.npy", 500);
  octet_dataset *x = NULL;
  assert_int_equal(octet_dataset_open(MODELS "fmnist_cnn.test_x.npy", NULL, NULL, &x, &err), OCTET_OK);
  enum { N = 500 };
  octet_fallback_options fo = {.max_drop = 0.0, .metric = "agree", .data = &x, .first = 0, .last = N,
                               .rank_samples = 200, .session = {.n_threads = 1}};
  char *summary = NULL;
  int met = 0;
  octet_status st = octet_quantize_fallback(qm, cal, NULL, &fo, &summary, &met, &err);
  if (st) fprintf(stderr, "%s\n", err.message);
  assert_int_equal(st, OCTET_OK);
  fprintf(stderr, "%s", summary);
  assert_true(met);
  assert_non_null(strstr(summary, "bound met"));
  octet_string_free(summary);
  float *f = calloc(N * 10, sizeof *f), *q = calloc(N * 10, sizeof *q);
  run_all(fm, MODELS "fmnist_cnn.test_x.npy", N, 10, f);
  run_all(qm, MODELS "fmnist_cnn.test_x.npy", N, 10, q);
  assert_true(agreement(f, q, N, 10) >= 100.0 - 1e-9); /* max drop 0: every sample agrees */
  assert_true(count_op(qm, "QuantizeLinear") > 0);      /* and not by giving up on int8 */

  fo.max_drop = 50.0;
  summary = NULL;
  assert_int_equal(octet_quantize_fallback(loose, cal, NULL, &fo, &summary, &met, &err), OCTET_OK);
  assert_true(met);
  assert_non_null(strstr(summary, "kept float: 0 nodes"));
  octet_string_free(summary);
  free(f);
  free(q);
  octet_dataset_destroy(x);
  octet_calibrator_destroy(cal);
  octet_model_destroy(fm);
  octet_model_destroy(qm);
  octet_model_destroy(loose);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(dynamic_digits_mlp_turns_every_gemm_into_dynamic_quantize_matmul),
    cmocka_unit_test(dynamic_mnist_cnn_turns_convs_into_conv_integer_and_agrees_with_float),
    cmocka_unit_test(auto_mode_picks_dynamic_for_matmul_graphs_and_static_for_conv_graphs),
    cmocka_unit_test(bias_correction_brings_fmnist_cnn_outputs_closer_to_float),
    cmocka_unit_test(fallback_meets_the_drop_bound_on_fmnist_cnn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
