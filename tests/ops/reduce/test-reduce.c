/* test-reduce.c — kernel tests of the reduce group (reductions, arg-extrema, Softmax family,
 * TopK, CumSum, normalizations) through the registry, against hand-computed values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "ops/registry.h"

/* ---- a tiny host: creates, infers, allocates and runs one node ---- */

#define MAX_IO 6

typedef struct node_run {
  octet_tensor out[MAX_IO];
  octet_status status;
  octet_error err;
} node_run;

static octet_tensor tens(int32_t dtype, int32_t rank, const int64_t *dims, const void *data) {
  octet_tensor t = {.dtype = dtype, .rank = rank, .data = (void *)data};
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}
#define F32(rank, dims, ...) tens(OCTET_DTYPE_FLOAT, rank, (const int64_t[])dims, (const float[])__VA_ARGS__)
#define DIMS(...) {__VA_ARGS__}

static octet_attr attr_i(const char *name, int64_t v) {
  return (octet_attr){.name = name, .type = OCTET_ATTR_INT, .i = v};
}
static octet_attr attr_f(const char *name, float v) {
  return (octet_attr){.name = name, .type = OCTET_ATTR_FLOAT, .f = v};
}
static octet_attr attr_ints(const char *name, const int64_t *v, size_t n) {
  return (octet_attr){.name = name, .type = OCTET_ATTR_INTS, .ints = v, .n = n};
}

/* A host pool that splits [0, n) into uneven pieces on the calling thread: results must not
 * depend on the split. */
static void odd_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  (void)ctx;
  size_t b = 0, step = 1;
  while (b < n) {
    size_t e = b + step < n ? b + step : n;
    task(arg, b, e);
    b = e;
    step = step * 3 + 1;
  }
}
static const octet_host odd_host = {.n_threads = 4, .parallel_for = odd_parallel_for};

static node_run run_node_host(const char *op, int opset, const octet_attr *attrs, size_t n_attrs,
                              const octet_tensor *const *in, size_t n_in, bool constant,
                              size_t n_out, const octet_host *host) {
  node_run r;
  memset(&r, 0, sizeof r);
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", op, opset);
  assert_non_null(k);
  int32_t dtypes[MAX_IO];
  for (size_t i = 0; i < n_in; i++) dtypes[i] = in[i] ? in[i]->dtype : OCTET_DTYPE_UNDEFINED;
  octet_kernel_info info = {.node_name = "n0", .domain = "", .op_type = op, .opset = opset,
                            .n_attrs = n_attrs, .attrs = attrs, .n_inputs = n_in,
                            .input_dtypes = dtypes, .constant_inputs = constant ? in : NULL,
                            .n_outputs = n_out};
  int32_t out_dt[MAX_IO] = {0};
  void *state = NULL;
  r.status = k->create(&info, out_dt, &state, &r.err);
  if (r.status) return r;
  size_t ws_bytes = 0;
  r.status = k->infer(state, in, n_in, r.out, n_out, &ws_bytes, &r.err);
  if (!r.status) {
    for (size_t o = 0; o < n_out; o++) {
      assert_int_equal(r.out[o].dtype, out_dt[o]);
      r.out[o].data = calloc(1, octet_tensor_nbytes(&r.out[o]) + 1);
    }
    void *ws = malloc(ws_bytes + 1);
    r.status = k->run(state, in, n_in, r.out, n_out, ws, host, &r.err);
    free(ws);
  }
  k->destroy(state);
  return r;
}

static node_run run_node(const char *op, int opset, const octet_attr *attrs, size_t n_attrs,
                         const octet_tensor *const *in, size_t n_in, size_t n_out) {
  return run_node_host(op, opset, attrs, n_attrs, in, n_in, false, n_out, NULL);
}

static void node_free(node_run *r) {
  for (int i = 0; i < MAX_IO; i++) free(r->out[i].data);
}

static void expect_shape(const octet_tensor *t, int32_t rank, const int64_t *dims) {
  assert_int_equal(t->rank, rank);
  for (int i = 0; i < rank; i++) assert_int_equal(t->dims[i], dims[i]);
}

static void expect_f32(const octet_tensor *t, const float *want, size_t n, float rtol) {
  assert_int_equal(t->dtype, OCTET_DTYPE_FLOAT);
  assert_int_equal(octet_tensor_numel(t), n);
  const float *got = t->data;
  for (size_t i = 0; i < n; i++) {
    float tol = rtol * fabsf(want[i]) + 1e-6f;
    if (!(fabsf(got[i] - want[i]) <= tol))
      fail_msg("element %zu: got %.9g, want %.9g", i, (double)got[i], (double)want[i]);
  }
}

static void expect_i64(const octet_tensor *t, const int64_t *want, size_t n) {
  assert_int_equal(t->dtype, OCTET_DTYPE_INT64);
  assert_int_equal(octet_tensor_numel(t), n);
  for (size_t i = 0; i < n; i++) assert_int_equal(((const int64_t *)t->data)[i], want[i]);
}

/* x = [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]], shape [2, 3, 2] */
static const float X232[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static octet_tensor x232(void) { return tens(OCTET_DTYPE_FLOAT, 3, (const int64_t[]){2, 3, 2}, X232); }

/* ---- reductions ---- */

static void test_reduce_mean_middle_axis_keepdims(void **s) {
  (void)s;
  octet_tensor x = x232();
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {1};
  octet_attr at[] = {attr_ints("axes", axes, 1)};
  node_run r = run_node("ReduceMean", 13, at, 1, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 3, (const int64_t[]){2, 1, 2});
  expect_f32(&r.out[0], (const float[]){3, 4, 9, 10}, 4, 0);
  node_free(&r);
}

static void test_reduce_mean_last_axis_drops_dim_without_keepdims(void **s) {
  (void)s;
  octet_tensor x = x232();
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {-1};
  octet_attr at[] = {attr_ints("axes", axes, 1), attr_i("keepdims", 0)};
  node_run r = run_node("ReduceMean", 11, at, 2, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, (const int64_t[]){2, 3});
  expect_f32(&r.out[0], (const float[]){1.5f, 3.5f, 5.5f, 7.5f, 9.5f, 11.5f}, 6, 0);
  node_free(&r);
}

static void test_reduce_without_axes_reduces_everything(void **s) {
  (void)s;
  octet_tensor x = x232();
  const octet_tensor *in[] = {&x};
  node_run r = run_node("ReduceMax", 13, NULL, 0, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 3, (const int64_t[]){1, 1, 1});
  expect_f32(&r.out[0], (const float[]){12}, 1, 0);
  node_free(&r);
  octet_attr at[] = {attr_i("keepdims", 0)};
  r = run_node("ReduceMin", 13, at, 1, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  assert_int_equal(r.out[0].rank, 0);
  expect_f32(&r.out[0], (const float[]){1}, 1, 0);
  node_free(&r);
}

static void test_reduce_sum_13_takes_negative_axes_from_input(void **s) {
  (void)s;
  octet_tensor x = x232();
  int64_t axv[] = {-2};
  octet_tensor axes = tens(OCTET_DTYPE_INT64, 1, (const int64_t[]){1}, axv);
  const octet_tensor *in[] = {&x, &axes};
  octet_attr at[] = {attr_i("keepdims", 0)};
  node_run r = run_node("ReduceSum", 13, at, 1, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, (const int64_t[]){2, 2});
  expect_f32(&r.out[0], (const float[]){9, 12, 27, 30}, 4, 0);
  node_free(&r);
}

static void test_reduce_sum_empty_axes_noop_returns_input(void **s) {
  (void)s;
  octet_tensor x = x232();
  octet_tensor axes = tens(OCTET_DTYPE_INT64, 1, (const int64_t[]){0}, NULL);
  const octet_tensor *in[] = {&x, &axes};
  octet_attr at[] = {attr_i("noop_with_empty_axes", 1)};
  node_run r = run_node("ReduceSum", 13, at, 1, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 3, (const int64_t[]){2, 3, 2});
  expect_f32(&r.out[0], X232, 12, 0);
  node_free(&r);
  /* Without noop, empty axes mean all axes; an absent axes input too. */
  r = run_node("ReduceSum", 13, NULL, 0, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 3, (const int64_t[]){1, 1, 1});
  expect_f32(&r.out[0], (const float[]){78}, 1, 0);
  node_free(&r);
  const octet_tensor *in1[] = {&x, NULL};
  r = run_node("ReduceSum", 13, at, 0, in1, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){78}, 1, 0);
  node_free(&r);
}

static void test_reduce_sum_11_reads_axes_attribute(void **s) {
  (void)s;
  octet_tensor x = x232();
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {0};
  octet_attr at[] = {attr_ints("axes", axes, 1), attr_i("keepdims", 1)};
  node_run r = run_node("ReduceSum", 11, at, 2, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 3, (const int64_t[]){1, 3, 2});
  expect_f32(&r.out[0], (const float[]){8, 10, 12, 14, 16, 18}, 6, 0);
  node_free(&r);
}

static void test_reduce_ops_over_middle_axis(void **s) {
  (void)s;
  /* [1, 3, 2]: columns {1, -2, 3} and {0.5, 4, 2} */
  octet_tensor x = F32(3, DIMS(1, 3, 2), {1, 0.5f, -2, 4, 3, 2});
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {1};
  octet_attr at[] = {attr_ints("axes", axes, 1), attr_i("keepdims", 0)};
  struct {
    const char *op;
    float want[2];
  } cases[] = {
      {"ReduceSum", {2, 6.5f}},
      {"ReduceMean", {2.0f / 3, 6.5f / 3}},
      {"ReduceMax", {3, 4}},
      {"ReduceMin", {-2, 0.5f}},
      {"ReduceProd", {-6, 4}},
      {"ReduceL1", {6, 6.5f}},
      {"ReduceL2", {sqrtf(14), sqrtf(20.25f)}},
      {"ReduceSumSquare", {14, 20.25f}},
      {"ReduceLogSum", {logf(2), logf(6.5f)}},
      {"ReduceLogSumExp", {logf(expf(1) + expf(-2) + expf(3)), logf(expf(0.5f) + expf(4) + expf(2))}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    node_run r = run_node(cases[c].op, 12, at, 2, in, 1, 1);
    assert_int_equal(r.status, OCTET_OK);
    expect_shape(&r.out[0], 2, (const int64_t[]){1, 2});
    expect_f32(&r.out[0], cases[c].want, 2, 1e-6f);
    node_free(&r);
  }
}

static void test_reduce_ops_over_last_axis(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(2, 3), {1, -2, 3, 0.5f, 4, 2});
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {1};
  octet_attr at[] = {attr_ints("axes", axes, 1), attr_i("keepdims", 1)};
  struct {
    const char *op;
    float want[2];
  } cases[] = {
      {"ReduceSum", {2, 6.5f}},         {"ReduceMax", {3, 4}},   {"ReduceMin", {-2, 0.5f}},
      {"ReduceProd", {-6, 4}},          {"ReduceL1", {6, 6.5f}}, {"ReduceL2", {sqrtf(14), 4.5f}},
      {"ReduceSumSquare", {14, 20.25f}}, {"ReduceLogSumExp", {logf(expf(1) + expf(-2) + expf(3)), logf(expf(0.5f) + expf(4) + expf(2))}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    node_run r = run_node(cases[c].op, 12, at, 2, in, 1, 1);
    assert_int_equal(r.status, OCTET_OK);
    expect_shape(&r.out[0], 2, (const int64_t[]){2, 1});
    expect_f32(&r.out[0], cases[c].want, 2, 1e-6f);
    node_free(&r);
  }
}

static void test_reduce_over_two_separate_axes(void **s) {
  (void)s;
  octet_tensor x = x232();
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {0, 2};
  octet_attr at[] = {attr_ints("axes", axes, 2), attr_i("keepdims", 0)};
  node_run r = run_node("ReduceSum", 11, at, 2, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 1, (const int64_t[]){3});
  expect_f32(&r.out[0], (const float[]){1 + 2 + 7 + 8, 3 + 4 + 9 + 10, 5 + 6 + 11 + 12}, 3, 0);
  node_free(&r);
  r = run_node("ReduceMax", 11, at, 2, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){8, 10, 12}, 3, 0);
  node_free(&r);
}

static void test_reduce_integer_and_double_types(void **s) {
  (void)s;
  int64_t xi[] = {5, -3, 7, 2, 10, -4};
  octet_tensor x = tens(OCTET_DTYPE_INT64, 2, (const int64_t[]){2, 3}, xi);
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {1};
  octet_attr at[] = {attr_ints("axes", axes, 1), attr_i("keepdims", 0)};
  node_run r = run_node("ReduceSum", 11, at, 2, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_i64(&r.out[0], (const int64_t[]){9, 8}, 2);
  node_free(&r);
  r = run_node("ReduceMin", 13, at, 2, in, 1, 1);
  expect_i64(&r.out[0], (const int64_t[]){-3, -4}, 2);
  node_free(&r);
  r = run_node("ReduceProd", 13, at, 2, in, 1, 1);
  expect_i64(&r.out[0], (const int64_t[]){-105, -80}, 2);
  node_free(&r);
  int32_t x32[] = {5, -3, 7, 2, 10, -4};
  x.dtype = OCTET_DTYPE_INT32;
  x.data = x32;
  r = run_node("ReduceMean", 13, at, 2, in, 1, 1);
  assert_int_equal(r.out[0].dtype, OCTET_DTYPE_INT32);
  assert_int_equal(((int32_t *)r.out[0].data)[0], 3);
  assert_int_equal(((int32_t *)r.out[0].data)[1], 2);
  node_free(&r);
  uint8_t xu[] = {200, 3, 255, 0, 9, 1};
  x.dtype = OCTET_DTYPE_UINT8;
  x.data = xu;
  r = run_node("ReduceMax", 13, at, 2, in, 1, 1);
  assert_int_equal(r.out[0].dtype, OCTET_DTYPE_UINT8);
  assert_int_equal(((uint8_t *)r.out[0].data)[0], 255);
  assert_int_equal(((uint8_t *)r.out[0].data)[1], 9);
  node_free(&r);
  double xd[] = {0.5, 1.5, -1, 2, 2, 2};
  x.dtype = OCTET_DTYPE_DOUBLE;
  x.data = xd;
  r = run_node("ReduceLogSumExp", 13, at, 2, in, 1, 1);
  assert_int_equal(r.out[0].dtype, OCTET_DTYPE_DOUBLE);
  double *yd = r.out[0].data;
  assert_true(fabs(yd[0] - log(exp(0.5) + exp(1.5) + exp(-1))) < 1e-12);
  assert_true(fabs(yd[1] - (2 + log(3.0))) < 1e-12);
  node_free(&r);
}

static void test_reduce_bad_axis_fails_with_node_name(void **s) {
  (void)s;
  octet_tensor x = x232();
  const octet_tensor *in[] = {&x};
  int64_t axes[] = {3};
  octet_attr at[] = {attr_ints("axes", axes, 1)};
  node_run r = run_node("ReduceMean", 13, at, 1, in, 1, 1);
  assert_int_equal(r.status, OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(r.err.message, "n0"));
  node_free(&r);
}

/* Large shapes take the vectorized paths and the thread split: compare with a double reference
 * and check the result is bit-identical with and without a (weirdly splitting) pool. */
static void test_reduce_mean_large_inner_and_middle_axes_match_reference(void **s) {
  (void)s;
  const int64_t B = 3, T = 37, D = 1030;
  float *xv = malloc(sizeof(float) * B * T * D);
  for (int64_t i = 0; i < B * T * D; i++) xv[i] = (float)((i * 7919) % 1000) / 250.0f - 2.0f;
  octet_tensor x = tens(OCTET_DTYPE_FLOAT, 3, (const int64_t[]){B, T, D}, xv);
  const octet_tensor *in[] = {&x};
  for (int axis = 1; axis <= 2; axis++) {
    int64_t axes[] = {axis};
    octet_attr at[] = {attr_ints("axes", axes, 1)};
    node_run a = run_node_host("ReduceMean", 13, at, 1, in, 1, false, 1, NULL);
    node_run b = run_node_host("ReduceMean", 13, at, 1, in, 1, false, 1, &odd_host);
    assert_int_equal(a.status, OCTET_OK);
    assert_int_equal(b.status, OCTET_OK);
    size_t n = octet_tensor_numel(&a.out[0]);
    assert_int_equal(n, axis == 1 ? B * D : B * T);
    assert_memory_equal(a.out[0].data, b.out[0].data, n * sizeof(float));
    const float *y = a.out[0].data;
    for (size_t o = 0; o < n; o++) {
      double ref = 0;
      size_t len = axis == 1 ? (size_t)T : (size_t)D;
      for (size_t r = 0; r < len; r++) {
        size_t idx = axis == 1 ? (o / D) * T * D + r * D + o % D : o * D + r;
        ref += xv[idx];
      }
      ref /= (double)len;
      assert_true(fabs(y[o] - ref) <= 1e-5 * fabs(ref) + 1e-6);
    }
    node_free(&a);
    node_free(&b);
  }
  free(xv);
}

static void test_reduce_opset18_takes_axes_input_for_every_reduction(void **s) {
  (void)s;
  octet_tensor x = x232();
  int64_t axv[] = {2};
  octet_tensor axes = tens(OCTET_DTYPE_INT64, 1, (const int64_t[]){1}, axv);
  const octet_tensor *in[] = {&x, &axes};
  octet_attr at[] = {attr_i("keepdims", 0)};
  node_run r = run_node("ReduceMax", 18, at, 1, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, (const int64_t[]){2, 3});
  expect_f32(&r.out[0], (const float[]){2, 4, 6, 8, 10, 12}, 6, 0);
  node_free(&r);
  /* the attribute form is refused from 18 on */
  octet_attr bad[] = {attr_ints("axes", axv, 1)};
  r = run_node("ReduceMax", 18, bad, 1, in, 2, 1);
  assert_int_equal(r.status, OCTET_STATUS_INVALID_MODEL);
  node_free(&r);
}

/* Softmax along the last and a middle axis against a double-precision reference (1e-6
 * relative beyond the float rounding of x - max), identical for any thread split. */
static void test_softmax_matches_double_reference_for_any_split(void **s) {
  (void)s;
  const int64_t A = 5, N = 67, I = 300;
  float *xv = malloc(sizeof(float) * A * N * I);
  for (int64_t i = 0; i < A * N * I; i++) xv[i] = (float)((i * 2654435761u) % 20011) / 1000.0f - 10.0f;
  octet_tensor x = tens(OCTET_DTYPE_FLOAT, 3, (const int64_t[]){A, N, I}, xv);
  const octet_tensor *in[] = {&x};
  for (int axis = 1; axis <= 2; axis++) {
    octet_attr at[] = {attr_i("axis", axis)};
    node_run a = run_node_host("Softmax", 13, at, 1, in, 1, false, 1, NULL);
    node_run b = run_node_host("Softmax", 13, at, 1, in, 1, false, 1, &odd_host);
    assert_int_equal(a.status, OCTET_OK);
    assert_memory_equal(a.out[0].data, b.out[0].data, sizeof(float) * A * N * I);
    const float *y = a.out[0].data;
    size_t len = axis == 1 ? (size_t)N : (size_t)I, stride = axis == 1 ? (size_t)I : 1;
    size_t groups = (size_t)(A * N * I) / len;
    for (size_t g = 0; g < groups; g++) {
      size_t base = axis == 1 ? (g / I) * N * I + g % I : g * I;
      double m = -INFINITY, z = 0;
      for (size_t r = 0; r < len; r++) m = fmax(m, xv[base + r * stride]);
      for (size_t r = 0; r < len; r++) z += exp(xv[base + r * stride] - m);
      for (size_t r = 0; r < len; r++) {
        double d = xv[base + r * stride] - m, want = exp(d) / z, got = y[base + r * stride];
        /* 1e-6 relative, plus the rounding of x - max in float (as every float softmax does,
         * ONNX Runtime too): up to |x - max| * 2^-24 relative. */
        if (!(fabs(got - want) <= (1e-6 + fabs(d) * 6e-8) * want + 1e-30))
          fail_msg("axis %d group %zu elem %zu: got %.9g want %.9g", axis, g, r, got, want);
      }
    }
    node_free(&a);
    node_free(&b);
  }
  free(xv);
}

/* ---- ArgMax / ArgMin ---- */

static void test_argmax_ties_pick_first_or_last_index(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(2, 3), {2, 5, 5, 7, 1, 7});
  const octet_tensor *in[] = {&x};
  octet_attr at[] = {attr_i("axis", -1), attr_i("keepdims", 1)};
  node_run r = run_node("ArgMax", 13, at, 2, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, (const int64_t[]){2, 1});
  expect_i64(&r.out[0], (const int64_t[]){1, 0}, 2);
  node_free(&r);
  octet_attr at2[] = {attr_i("axis", 1), attr_i("keepdims", 0), attr_i("select_last_index", 1)};
  r = run_node("ArgMax", 13, at2, 3, in, 1, 1);
  expect_shape(&r.out[0], 1, (const int64_t[]){2});
  expect_i64(&r.out[0], (const int64_t[]){2, 2}, 2);
  node_free(&r);
}

static void test_argmin_default_axis_zero(void **s) {
  (void)s;
  int32_t xi[] = {4, 1, 3, 1, 2, 9};
  octet_tensor x = tens(OCTET_DTYPE_INT32, 2, (const int64_t[]){3, 2}, xi);
  const octet_tensor *in[] = {&x};
  node_run r = run_node("ArgMin", 11, NULL, 0, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, (const int64_t[]){1, 2});
  expect_i64(&r.out[0], (const int64_t[]){2, 0}, 2);
  node_free(&r);
}

/* ---- Softmax family ---- */

static void test_softmax_opset11_coerces_to_2d_but_opset13_uses_one_axis(void **s) {
  (void)s;
  octet_tensor x = F32(3, DIMS(1, 2, 2), {0, 1, 2, 3});
  const octet_tensor *in[] = {&x};
  octet_attr at[] = {attr_i("axis", 1)};
  float e[4], z = 0;
  for (int i = 0; i < 4; i++) z += e[i] = expf((float)i);
  node_run r = run_node("Softmax", 11, at, 1, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){e[0] / z, e[1] / z, e[2] / z, e[3] / z}, 4, 1e-6f);
  node_free(&r);
  /* opset 13, axis 1: pairs (0, 2) and (1, 3) */
  float a = 1 / (1 + expf(2)), b = expf(2) / (1 + expf(2));
  r = run_node("Softmax", 13, at, 1, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){a, a, b, b}, 4, 1e-6f);
  node_free(&r);
  /* default axis: 1 before 13 (all four), -1 from 13 (pairs (0,1), (2,3)) */
  r = run_node("Softmax", 1, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){e[0] / z, e[1] / z, e[2] / z, e[3] / z}, 4, 1e-6f);
  node_free(&r);
  float c = 1 / (1 + expf(1)), d = expf(1) / (1 + expf(1));
  r = run_node("Softmax", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){c, d, c, d}, 4, 1e-6f);
  node_free(&r);
}

static void test_softmax_large_values_do_not_overflow(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(1, 3), {1000, 1001, 1002});
  const octet_tensor *in[] = {&x};
  float z = 1 + expf(1) + expf(2);
  node_run r = run_node("Softmax", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){1 / z, expf(1) / z, expf(2) / z}, 3, 1e-6f);
  node_free(&r);
  r = run_node("LogSoftmax", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){-logf(z), 1 - logf(z), 2 - logf(z)}, 3, 1e-6f);
  node_free(&r);
}

static void test_logsoftmax_and_hardmax_along_middle_axis(void **s) {
  (void)s;
  /* [1, 3, 2]: columns {1, 3, 3} and {4, 0, 2} */
  octet_tensor x = F32(3, DIMS(1, 3, 2), {1, 4, 3, 0, 3, 2});
  const octet_tensor *in[] = {&x};
  octet_attr at[] = {attr_i("axis", 1)};
  node_run r = run_node("Hardmax", 13, at, 1, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){0, 1, 1, 0, 0, 0}, 6, 0);
  node_free(&r);
  float l0 = 3 + logf(expf(-2) + 2), l1 = 4 + logf(1 + expf(-4) + expf(-2));
  r = run_node("LogSoftmax", 13, at, 1, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){1 - l0, 4 - l1, 3 - l0, 0 - l1, 3 - l0, 2 - l1}, 6, 1e-6f);
  node_free(&r);
}

static void test_softmax_double_along_middle_axis(void **s) {
  (void)s;
  double xv[] = {1, 4, 3, 0, 3, 2};
  octet_tensor x = tens(OCTET_DTYPE_DOUBLE, 3, (const int64_t[]){1, 3, 2}, xv);
  const octet_tensor *in[] = {&x};
  octet_attr at[] = {attr_i("axis", 1)};
  node_run r = run_node("Softmax", 13, at, 1, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  assert_int_equal(r.out[0].dtype, OCTET_DTYPE_DOUBLE);
  const double *y = r.out[0].data;
  double z0 = exp(1) + 2 * exp(3), z1 = exp(4) + exp(0) + exp(2);
  double want[] = {exp(1) / z0, exp(4) / z1, exp(3) / z0, 1 / z1, exp(3) / z0, exp(2) / z1};
  for (int i = 0; i < 6; i++) assert_true(fabs(y[i] - want[i]) < 1e-15);
  node_free(&r);
}

static void test_hardmax_opset11_one_hot_over_flattened_row(void **s) {
  (void)s;
  /* [2, 2, 2] at axis 1: rows of 4; row 0's max (5) appears twice, the first wins */
  octet_tensor x = F32(3, DIMS(2, 2, 2), {1, 5, 5, 2, 9, 0, 3, 4});
  const octet_tensor *in[] = {&x};
  node_run r = run_node("Hardmax", 11, NULL, 0, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){0, 1, 0, 0, 1, 0, 0, 0}, 8, 0);
  node_free(&r);
  /* opset 13 default axis -1: pairs */
  r = run_node("Hardmax", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, 1, 1, 0, 1, 0, 0, 1}, 8, 0);
  node_free(&r);
}

/* ---- TopK ---- */

static void test_topk_ties_go_to_lower_index(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(2, 5), {3, 1, 3, 2, 3, 0, -1, 5, -1, 5});
  int64_t kv[] = {3};
  octet_tensor k = tens(OCTET_DTYPE_INT64, 1, (const int64_t[]){1}, kv);
  const octet_tensor *in[] = {&x, &k};
  node_run r = run_node("TopK", 11, NULL, 0, in, 2, 2);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, (const int64_t[]){2, 3});
  expect_f32(&r.out[0], (const float[]){3, 3, 3, 5, 5, 0}, 6, 0);
  expect_i64(&r.out[1], (const int64_t[]){0, 2, 4, 2, 4, 0}, 6);
  node_free(&r);
  octet_attr at[] = {attr_i("largest", 0)};
  r = run_node("TopK", 11, at, 1, in, 2, 2);
  expect_f32(&r.out[0], (const float[]){1, 2, 3, -1, -1, 0}, 6, 0);
  expect_i64(&r.out[1], (const int64_t[]){1, 3, 0, 1, 3, 0}, 6);
  node_free(&r);
}

static void test_topk_opset1_k_attribute_along_axis0(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(3, 2), {1, 6, 5, 2, 3, 4});
  const octet_tensor *in[] = {&x};
  octet_attr at[] = {attr_i("k", 2), attr_i("axis", 0)};
  node_run r = run_node("TopK", 1, at, 2, in, 1, 2);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, (const int64_t[]){2, 2});
  expect_f32(&r.out[0], (const float[]){5, 6, 3, 4}, 4, 0);
  expect_i64(&r.out[1], (const int64_t[]){1, 0, 2, 2}, 4);
  node_free(&r);
}

static void test_topk_k_larger_than_axis_fails(void **s) {
  (void)s;
  octet_tensor x = F32(1, DIMS(3), {1, 2, 3});
  int64_t kv[] = {4};
  octet_tensor k = tens(OCTET_DTYPE_INT64, 1, (const int64_t[]){1}, kv);
  const octet_tensor *in[] = {&x, &k};
  node_run r = run_node("TopK", 11, NULL, 0, in, 2, 2);
  assert_int_equal(r.status, OCTET_STATUS_INVALID_ARGUMENT);
  node_free(&r);
}

/* ---- CumSum ---- */

static void test_cumsum_exclusive_reverse(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(2, 3), {1, 2, 3, 4, 5, 6});
  int32_t av[] = {1};
  octet_tensor axis = tens(OCTET_DTYPE_INT32, 0, NULL, av);
  const octet_tensor *in[] = {&x, &axis};
  node_run r = run_node("CumSum", 14, NULL, 0, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){1, 3, 6, 4, 9, 15}, 6, 0);
  node_free(&r);
  octet_attr at[] = {attr_i("exclusive", 1), attr_i("reverse", 1)};
  r = run_node("CumSum", 14, at, 2, in, 2, 1);
  expect_f32(&r.out[0], (const float[]){5, 3, 0, 11, 6, 0}, 6, 0);
  node_free(&r);
  av[0] = -2;
  octet_attr ex[] = {attr_i("exclusive", 1)};
  r = run_node("CumSum", 14, ex, 1, in, 2, 1);
  expect_f32(&r.out[0], (const float[]){0, 0, 0, 1, 2, 3}, 6, 0);
  node_free(&r);
  int64_t xi[] = {1, 2, 3, 4, 5, 6};
  octet_tensor x64 = tens(OCTET_DTYPE_INT64, 2, (const int64_t[]){2, 3}, xi);
  const octet_tensor *in64[] = {&x64, &axis};
  octet_attr rev[] = {attr_i("reverse", 1)};
  r = run_node("CumSum", 14, rev, 1, in64, 2, 1);
  expect_i64(&r.out[0], (const int64_t[]){5, 7, 9, 4, 5, 6}, 6);
  node_free(&r);
}

/* ---- normalizations ---- */

static void test_batchnorm_constant_params_fold_to_scale_shift(void **s) {
  (void)s;
  /* N=1, C=2, 2 elements per channel */
  octet_tensor x = F32(3, DIMS(1, 2, 2), {1, 3, -1, 2});
  octet_tensor sc = F32(1, DIMS(2), {2, 0.5f});
  octet_tensor b = F32(1, DIMS(2), {1, -1});
  octet_tensor mean = F32(1, DIMS(2), {1, 2});
  octet_tensor var = F32(1, DIMS(2), {4, 0.25f});
  const octet_tensor *in[] = {&x, &sc, &b, &mean, &var};
  octet_attr at[] = {attr_f("epsilon", 0)};
  float want[] = {(1 - 1) / 2.0f * 2 + 1, (3 - 1) / 2.0f * 2 + 1, (-1 - 2) / 0.5f * 0.5f - 1,
                  (2 - 2) / 0.5f * 0.5f - 1};
  node_run r = run_node_host("BatchNormalization", 15, at, 1, in, 5, true, 1, NULL);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], want, 4, 1e-6f);
  node_free(&r);
  r = run_node_host("BatchNormalization", 9, at, 1, in, 5, false, 1, &odd_host);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], want, 4, 1e-6f);
  node_free(&r);
}

/* Every allocation of create can fail: the kernel reports OUT_OF_MEMORY and frees what it
 * took (the sanitizer build checks for leaks). */
static void test_batchnorm_create_survives_each_failed_allocation(void **s) {
  (void)s;
  octet_tensor x = F32(3, DIMS(1, 2, 1), {1, 2});
  octet_tensor p = F32(1, DIMS(2), {1, 1});
  const octet_tensor *in[] = {&x, &p, &p, &p, &p};
  for (uint64_t n = 1; n <= 3; n++) {
    octet_alloc_fail_after(n);
    node_run r = run_node_host("BatchNormalization", 15, NULL, 0, in, 5, true, 1, NULL);
    octet_alloc_fail_after(0);
    assert_int_equal(r.status, OCTET_STATUS_OUT_OF_MEMORY);
    node_free(&r);
  }
  node_run r = run_node_host("BatchNormalization", 15, NULL, 0, in, 5, true, 1, NULL);
  assert_int_equal(r.status, OCTET_OK);
  node_free(&r);
}

static void test_batchnorm_training_mode_uses_batch_statistics(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(2, 1), {1, 3});
  octet_tensor sc = F32(1, DIMS(1), {1});
  octet_tensor b = F32(1, DIMS(1), {0});
  octet_tensor mean = F32(1, DIMS(1), {10});
  octet_tensor var = F32(1, DIMS(1), {5});
  const octet_tensor *in[] = {&x, &sc, &b, &mean, &var};
  octet_attr at[] = {attr_f("epsilon", 0), attr_i("training_mode", 1), attr_f("momentum", 0.5f)};
  node_run r = run_node_host("BatchNormalization", 15, at, 3, in, 5, true, 3, NULL);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){-1, 1}, 2, 1e-6f);
  expect_f32(&r.out[1], (const float[]){6}, 1, 1e-6f);
  expect_f32(&r.out[2], (const float[]){3}, 1, 1e-6f);
  node_free(&r);
}

static void test_instancenorm_per_channel_statistics(void **s) {
  (void)s;
  octet_tensor x = F32(3, DIMS(1, 2, 2), {1, 3, 10, 14});
  octet_tensor sc = F32(1, DIMS(2), {2, 1});
  octet_tensor b = F32(1, DIMS(2), {0.5f, 7});
  const octet_tensor *in[] = {&x, &sc, &b};
  octet_attr at[] = {attr_f("epsilon", 0)};
  node_run r = run_node("InstanceNormalization", 6, at, 1, in, 3, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){-1.5f, 2.5f, 6, 8}, 4, 1e-6f);
  node_free(&r);
}

static void test_layernorm_outputs_mean_and_inv_std(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(2, 2), {1, 3, 2, 6});
  octet_tensor sc = F32(1, DIMS(2), {1, 2});
  octet_tensor b = F32(1, DIMS(2), {0, 1});
  const octet_tensor *in[] = {&x, &sc, &b};
  octet_attr at[] = {attr_f("epsilon", 0)};
  node_run r = run_node("LayerNormalization", 17, at, 1, in, 3, 3);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){-1, 3, -1, 3}, 4, 1e-6f);
  expect_shape(&r.out[1], 2, (const int64_t[]){2, 1});
  expect_f32(&r.out[1], (const float[]){2, 4}, 2, 1e-6f);
  expect_f32(&r.out[2], (const float[]){1, 0.5f}, 2, 1e-6f);
  node_free(&r);
  /* axis 0: one group over everything; no bias */
  const octet_tensor *in2[] = {&x, &(octet_tensor){0}};
  octet_tensor sc4 = F32(2, DIMS(2, 2), {1, 1, 1, 1});
  in2[1] = &sc4;
  octet_attr at0[] = {attr_f("epsilon", 0), attr_i("axis", 0)};
  r = run_node("LayerNormalization", 17, at0, 2, in2, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  float sd = sqrtf((4 + 0 + 1 + 9) / 4.0f);
  expect_f32(&r.out[0], (const float[]){-2 / sd, 0, -1 / sd, 3 / sd}, 4, 1e-6f);
  node_free(&r);
}

static void test_lpnorm_p1_and_p2_zero_norm_gives_zero(void **s) {
  (void)s;
  octet_tensor x = F32(2, DIMS(2, 2), {3, -4, 0, 0});
  const octet_tensor *in[] = {&x};
  node_run r = run_node("LpNormalization", 1, NULL, 0, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){0.6f, -0.8f, 0, 0}, 4, 1e-6f);
  node_free(&r);
  octet_attr at[] = {attr_i("p", 1), attr_i("axis", 0)};
  r = run_node("LpNormalization", 1, at, 2, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){1, -1, 0, 0}, 4, 1e-6f);
  node_free(&r);
}

static void test_mvn_default_axes_normalize_per_channel(void **s) {
  (void)s;
  /* [2, 1, 1, 2]: channel 0 holds {1, 3, 5, 7} across N and W */
  octet_tensor x = F32(4, DIMS(2, 1, 1, 2), {1, 3, 5, 7});
  const octet_tensor *in[] = {&x};
  node_run r = run_node("MeanVarianceNormalization", 13, NULL, 0, in, 1, 1);
  assert_int_equal(r.status, OCTET_OK);
  float sd = sqrtf(5);
  expect_f32(&r.out[0], (const float[]){-3 / sd, -1 / sd, 1 / sd, 3 / sd}, 4, 1e-6f);
  node_free(&r);
  octet_tensor x2 = F32(4, DIMS(2, 2, 1, 2), {1, 3, 0, 0, 5, 7, 0, 4});
  const octet_tensor *in2[] = {&x2};
  r = run_node("MeanVarianceNormalization", 13, NULL, 0, in2, 1, 1);
  float sd1 = sqrtf(3);
  expect_f32(&r.out[0], (const float[]){-3 / sd, -1 / sd, -1 / sd1, -1 / sd1, 1 / sd, 3 / sd, -1 / sd1, 3 / sd1}, 8, 1e-6f);
  node_free(&r);
}

static void test_groupnorm_opset18_scale_per_group(void **s) {
  (void)s;
  /* N=1, C=4, 1 element per channel, 2 groups: {1, 3} and {0, 4} */
  octet_tensor x = F32(3, DIMS(1, 4, 1), {1, 3, 0, 4});
  octet_tensor sc = F32(1, DIMS(2), {1, 2});
  octet_tensor b = F32(1, DIMS(2), {0, 1});
  const octet_tensor *in[] = {&x, &sc, &b};
  octet_attr at[] = {attr_f("epsilon", 0), attr_i("num_groups", 2)};
  node_run r = run_node("GroupNormalization", 18, at, 2, in, 3, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){-1, 1, -1, 3}, 4, 1e-6f);
  node_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reduce_mean_middle_axis_keepdims),
      cmocka_unit_test(test_reduce_mean_last_axis_drops_dim_without_keepdims),
      cmocka_unit_test(test_reduce_without_axes_reduces_everything),
      cmocka_unit_test(test_reduce_sum_13_takes_negative_axes_from_input),
      cmocka_unit_test(test_reduce_sum_empty_axes_noop_returns_input),
      cmocka_unit_test(test_reduce_sum_11_reads_axes_attribute),
      cmocka_unit_test(test_reduce_ops_over_middle_axis),
      cmocka_unit_test(test_reduce_ops_over_last_axis),
      cmocka_unit_test(test_reduce_over_two_separate_axes),
      cmocka_unit_test(test_reduce_integer_and_double_types),
      cmocka_unit_test(test_reduce_bad_axis_fails_with_node_name),
      cmocka_unit_test(test_reduce_mean_large_inner_and_middle_axes_match_reference),
      cmocka_unit_test(test_reduce_opset18_takes_axes_input_for_every_reduction),
      cmocka_unit_test(test_argmax_ties_pick_first_or_last_index),
      cmocka_unit_test(test_argmin_default_axis_zero),
      cmocka_unit_test(test_softmax_opset11_coerces_to_2d_but_opset13_uses_one_axis),
      cmocka_unit_test(test_softmax_large_values_do_not_overflow),
      cmocka_unit_test(test_softmax_matches_double_reference_for_any_split),
      cmocka_unit_test(test_logsoftmax_and_hardmax_along_middle_axis),
      cmocka_unit_test(test_softmax_double_along_middle_axis),
      cmocka_unit_test(test_hardmax_opset11_one_hot_over_flattened_row),
      cmocka_unit_test(test_topk_ties_go_to_lower_index),
      cmocka_unit_test(test_topk_opset1_k_attribute_along_axis0),
      cmocka_unit_test(test_topk_k_larger_than_axis_fails),
      cmocka_unit_test(test_cumsum_exclusive_reverse),
      cmocka_unit_test(test_batchnorm_constant_params_fold_to_scale_shift),
      cmocka_unit_test(test_batchnorm_create_survives_each_failed_allocation),
      cmocka_unit_test(test_batchnorm_training_mode_uses_batch_statistics),
      cmocka_unit_test(test_instancenorm_per_channel_statistics),
      cmocka_unit_test(test_layernorm_outputs_mean_and_inv_std),
      cmocka_unit_test(test_lpnorm_p1_and_p2_zero_norm_gives_zero),
      cmocka_unit_test(test_mvn_default_axes_normalize_per_channel),
      cmocka_unit_test(test_groupnorm_opset18_scale_per_group),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
