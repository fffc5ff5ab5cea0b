/* test-elementwise.c — the elementwise kernels through the registry (octet_ops_find), checked
 * against hand-computed values: broadcasting layouts, every dtype path, opset differences,
 * Cast rounding, and the error messages for bad types and shapes. */
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

/* ---- a minimal host: create, infer, allocate, run, destroy one node ---- */

#define MAX_IO 4

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
#define D(...) ((const int64_t[]){__VA_ARGS__})
#define T(dt, rank, dims, ctype, ...) tens(OCTET_DTYPE_##dt, rank, dims, (const ctype[]){__VA_ARGS__})
#define F32(rank, dims, ...) T(FLOAT, rank, dims, float, __VA_ARGS__)

static octet_attr attr_i(const char *name, int64_t v) {
  return (octet_attr){.name = name, .type = OCTET_ATTR_INT, .i = v};
}
static octet_attr attr_f(const char *name, float v) {
  return (octet_attr){.name = name, .type = OCTET_ATTR_FLOAT, .f = v};
}
static octet_attr attr_s(const char *name, const char *v) {
  return (octet_attr){.name = name, .type = OCTET_ATTR_STRING, .s = v, .s_len = strlen(v)};
}

/* Splits [0, n) into growing uneven ranges on this thread: results must not depend on it. */
static void odd_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  (void)ctx;
  for (size_t b = 0, step = 1; b < n; step = step * 2 + 1) {
    size_t e = b + step < n ? b + step : n;
    task(arg, b, e);
    b = e;
  }
}
static const octet_host odd_host = {.n_threads = 3, .parallel_for = odd_parallel_for};

static node_run run_host(const char *op, int opset, const octet_attr *attrs, size_t n_attrs,
                         const octet_tensor *const *in, size_t n_in, size_t n_out,
                         const octet_host *host) {
  node_run r;
  memset(&r, 0, sizeof r);
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", op, opset);
  if (!k) fail_msg("no kernel for %s at opset %d", op, opset);
  int32_t dtypes[MAX_IO];
  for (size_t i = 0; i < n_in; i++) dtypes[i] = in[i] ? in[i]->dtype : OCTET_DTYPE_UNDEFINED;
  octet_kernel_info info = {.node_name = "n0", .domain = "", .op_type = op, .opset = opset,
                            .n_attrs = n_attrs, .attrs = attrs, .n_inputs = n_in,
                            .input_dtypes = dtypes, .n_outputs = n_out};
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

static node_run run(const char *op, int opset, const octet_attr *attrs, size_t n_attrs,
                    const octet_tensor *const *in, size_t n_in, size_t n_out) {
  return run_host(op, opset, attrs, n_attrs, in, n_in, n_out, NULL);
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
    if (isnan(want[i])) {
      if (!isnan(got[i])) fail_msg("element %zu: got %.9g, want NaN", i, (double)got[i]);
      continue;
    }
    float tol = rtol * fabsf(want[i]);
    if (!(got[i] == want[i] || fabsf(got[i] - want[i]) <= tol))
      fail_msg("element %zu: got %.9g, want %.9g", i, (double)got[i], (double)want[i]);
  }
}

/* Exact comparison of raw elements for integer/bool/half outputs. */
static void expect_raw(const octet_tensor *t, int32_t dtype, const void *want, size_t n) {
  assert_int_equal(t->dtype, dtype);
  assert_int_equal(octet_tensor_numel(t), n);
  size_t sz = octet_dtype_size(dtype);
  for (size_t i = 0; i < n; i++)
    if (memcmp((const char *)t->data + i * sz, (const char *)want + i * sz, sz))
      fail_msg("element %zu differs (dtype %s)", i, octet_dtype_name(dtype));
}
#define EXPECT(t, dt, ctype, ...)                                                      \
  expect_raw(t, OCTET_DTYPE_##dt, (const ctype[]){__VA_ARGS__},                      \
             sizeof((const ctype[]){__VA_ARGS__}) / sizeof(ctype))

static void expect_error(node_run *r, octet_status st, const char *needle) {
  assert_int_equal(r->status, st);
  if (!strstr(r->err.message, needle))
    fail_msg("message '%s' lacks '%s'", r->err.message, needle);
}

/* ---- binary arithmetic and broadcasting ---- */

static void test_add_same_shape_and_scalar_operand(void **s) {
  (void)s;
  octet_tensor a = F32(2, D(2, 3), 1, 2, 3, 4, 5, 6), b = F32(2, D(2, 3), 10, 20, 30, 40, 50, 60);
  octet_tensor k = F32(0, NULL, 0.5f);
  const octet_tensor *in[] = {&a, &b};
  node_run r = run("Add", 14, NULL, 0, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, D(2, 3));
  expect_f32(&r.out[0], (const float[]){11, 22, 33, 44, 55, 66}, 6, 0);
  node_free(&r);
  const octet_tensor *in2[] = {&k, &a}; /* scalar on the left */
  r = run("Sub", 14, NULL, 0, in2, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, D(2, 3));
  expect_f32(&r.out[0], (const float[]){-0.5f, -1.5f, -2.5f, -3.5f, -4.5f, -5.5f}, 6, 0);
  node_free(&r);
  const octet_tensor *in3[] = {&a, &k}; /* scalar on the right */
  r = run("Div", 14, NULL, 0, in3, 2, 1);
  expect_f32(&r.out[0], (const float[]){2, 4, 6, 8, 10, 12}, 6, 0);
  node_free(&r);
}

static void test_mul_broadcasts_channel_vector_over_nchw(void **s) {
  (void)s;
  /* x [1, 2, 2, 2] * c [2, 1, 1] */
  octet_tensor x = F32(4, D(1, 2, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8);
  octet_tensor c = F32(3, D(2, 1, 1), 10, -1);
  const octet_tensor *in[] = {&x, &c};
  node_run r = run("Mul", 14, NULL, 0, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 4, D(1, 2, 2, 2));
  expect_f32(&r.out[0], (const float[]){10, 20, 30, 40, -5, -6, -7, -8}, 8, 0);
  node_free(&r);
}

static void test_add_broadcasts_trailing_vector_and_both_ways(void **s) {
  (void)s;
  octet_tensor x = F32(3, D(2, 1, 3), 1, 2, 3, 4, 5, 6);
  octet_tensor v = F32(1, D(3), 100, 200, 300);
  const octet_tensor *in[] = {&x, &v};
  node_run r = run("Add", 14, NULL, 0, in, 2, 1);
  expect_shape(&r.out[0], 3, D(2, 1, 3));
  expect_f32(&r.out[0], (const float[]){101, 202, 303, 104, 205, 306}, 6, 0);
  node_free(&r);
  /* [3, 1] - [1, 2] -> [3, 2] */
  octet_tensor col = F32(2, D(3, 1), 1, 2, 3), row = F32(2, D(1, 2), 10, 20);
  const octet_tensor *in2[] = {&col, &row};
  r = run("Sub", 14, NULL, 0, in2, 2, 1);
  expect_shape(&r.out[0], 2, D(3, 2));
  expect_f32(&r.out[0], (const float[]){-9, -19, -8, -18, -7, -17}, 6, 0);
  node_free(&r);
  /* [2, 1, 2] + [1, 3, 1]: both operands broadcast in different dims */
  octet_tensor p = F32(3, D(2, 1, 2), 1, 2, 3, 4), q = F32(3, D(1, 3, 1), 10, 20, 30);
  const octet_tensor *in3[] = {&p, &q};
  r = run("Add", 14, NULL, 0, in3, 2, 1);
  expect_shape(&r.out[0], 3, D(2, 3, 2));
  expect_f32(&r.out[0], (const float[]){11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34}, 12, 0);
  node_free(&r);
}

static void test_large_broadcast_is_identical_for_any_thread_split(void **s) {
  (void)s;
  enum { N = 3, C = 5, HW = 7001 };
  float *x = malloc(sizeof(float) * N * C * HW);
  float c[C] = {1, -2, 3, -4, 5};
  for (size_t i = 0; i < (size_t)N * C * HW; i++) x[i] = (float)(i % 97) * 0.25f;
  octet_tensor tx = tens(OCTET_DTYPE_FLOAT, 3, D(N, C, HW), x);
  octet_tensor tc = tens(OCTET_DTYPE_FLOAT, 2, D(C, 1), c);
  const octet_tensor *in[] = {&tx, &tc};
  node_run serial = run("Mul", 14, NULL, 0, in, 2, 1);
  node_run split = run_host("Mul", 14, NULL, 0, in, 2, 1, &odd_host);
  assert_int_equal(split.status, OCTET_OK);
  const float *a = serial.out[0].data, *b = split.out[0].data;
  for (size_t i = 0; i < (size_t)N * C * HW; i++) {
    float want = x[i] * c[(i / HW) % C];
    if (a[i] != want || b[i] != want) fail_msg("element %zu: %g / %g, want %g", i, a[i], b[i], want);
  }
  node_free(&serial);
  node_free(&split);
  /* The unary path splits the same way. */
  const octet_tensor *in1[] = {&tx};
  split = run_host("Neg", 14, NULL, 0, in1, 1, 1, &odd_host);
  b = split.out[0].data;
  for (size_t i = 0; i < (size_t)N * C * HW; i++) assert_true(b[i] == -x[i]);
  node_free(&split);
  free(x);
}

static void test_integer_arithmetic_wraps_and_truncates(void **s) {
  (void)s;
  octet_tensor a = T(INT32, 1, D(4), int32_t, INT32_MAX, 7, -7, 9);
  octet_tensor b = T(INT32, 1, D(4), int32_t, 1, 2, 2, 0);
  const octet_tensor *in[] = {&a, &b};
  node_run r = run("Add", 14, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], INT32, int32_t, INT32_MIN, 9, -5, 9);
  node_free(&r);
  r = run("Div", 14, NULL, 0, in, 2, 1); /* truncation toward zero; x/0 gives 0, no trap */
  EXPECT(&r.out[0], INT32, int32_t, INT32_MAX, 3, -3, 0);
  node_free(&r);
  octet_tensor u = T(UINT8, 1, D(3), uint8_t, 200, 3, 10), v = T(UINT8, 1, D(3), uint8_t, 100, 5, 3);
  const octet_tensor *in2[] = {&u, &v};
  r = run("Add", 14, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], UINT8, uint8_t, 44, 8, 13);
  node_free(&r);
  r = run("Sub", 14, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], UINT8, uint8_t, 100, 254, 7);
  node_free(&r);
  octet_tensor h = T(INT16, 1, D(2), int16_t, 300, -300), k = T(INT16, 0, NULL, int16_t, 200);
  const octet_tensor *in3[] = {&h, &k};
  r = run("Mul", 14, NULL, 0, in3, 2, 1);
  EXPECT(&r.out[0], INT16, int16_t, (int16_t)(60000 - 65536), (int16_t)(-60000 + 65536));
  node_free(&r);
  octet_tensor l = T(INT64, 2, D(1, 2), int64_t, INT64_C(1) << 40, -5), m = T(INT64, 1, D(1), int64_t, 3);
  const octet_tensor *in4[] = {&l, &m};
  r = run("Mul", 14, NULL, 0, in4, 2, 1);
  EXPECT(&r.out[0], INT64, int64_t, INT64_C(3) << 40, -15);
  node_free(&r);
}

static void test_double_and_float16_paths(void **s) {
  (void)s;
  octet_tensor a = T(DOUBLE, 1, D(2), double, 0.1, 1e300), b = T(DOUBLE, 1, D(2), double, 0.2, 1e300);
  const octet_tensor *in[] = {&a, &b};
  node_run r = run("Add", 14, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], DOUBLE, double, 0.1 + 0.2, 2e300);
  node_free(&r);
  uint16_t h1 = octet_float_to_half(1.5f), h2 = octet_float_to_half(-2.25f), h3 = octet_float_to_half(4.0f);
  octet_tensor x = tens(OCTET_DTYPE_FLOAT16, 1, D(2), (const uint16_t[]){h1, h2});
  octet_tensor y = tens(OCTET_DTYPE_FLOAT16, 0, NULL, &h3);
  const octet_tensor *in2[] = {&x, &y};
  r = run("Mul", 14, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], FLOAT16, uint16_t, octet_float_to_half(6.0f), octet_float_to_half(-9.0f));
  node_free(&r);
  r = run("Less", 13, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 1, 1);
  node_free(&r);
  const octet_tensor *in3[] = {&x};
  r = run("Exp", 13, NULL, 0, in3, 1, 1);
  EXPECT(&r.out[0], FLOAT16, uint16_t, octet_float_to_half(expf(1.5f)), octet_float_to_half(expf(-2.25f)));
  node_free(&r);
}

static void test_pow_same_and_mixed_types(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(3), 2, 4, -3), y = F32(1, D(3), 3, 0.5f, 2);
  const octet_tensor *in[] = {&x, &y};
  node_run r = run("Pow", 15, NULL, 0, in, 2, 1);
  expect_f32(&r.out[0], (const float[]){8, 2, 9}, 3, 1e-6f);
  node_free(&r);
  octet_tensor i = T(INT64, 1, D(3), int64_t, 3, -2, 10), e = T(INT64, 1, D(3), int64_t, 4, 3, 15);
  const octet_tensor *in2[] = {&i, &e};
  r = run("Pow", 15, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], INT64, int64_t, 81, -8, INT64_C(1000000000000000));
  node_free(&r);
  /* int32 base, float exponent: output keeps the base's type, truncated */
  octet_tensor b = T(INT32, 1, D(3), int32_t, 1, 2, 3), f = F32(1, D(3), 4, 0.5f, 2);
  const octet_tensor *in3[] = {&b, &f};
  r = run("Pow", 15, NULL, 0, in3, 2, 1);
  EXPECT(&r.out[0], INT32, int32_t, 1, 1, 9);
  node_free(&r);
  /* Constant exponents 2 and 0.5 take the x*x and sqrt paths with pow's results. */
  octet_tensor z = F32(1, D(5), -3, -0.0f, -INFINITY, 1e20f, 2.25f), two = F32(0, NULL, 2), half = F32(0, NULL, 0.5f);
  const octet_tensor *sq[] = {&z, &two}, *rt[] = {&z, &half};
  r = run("Pow", 15, NULL, 0, sq, 2, 1);
  expect_f32(&r.out[0], (const float[]){9, 0, INFINITY, INFINITY, 5.0625f}, 5, 0);
  node_free(&r);
  r = run("Pow", 15, NULL, 0, rt, 2, 1);
  expect_f32(&r.out[0], (const float[]){NAN, 0, INFINITY, 1e10f, 1.5f}, 5, 0);
  assert_false(signbit(((const float *)r.out[0].data)[1]));
  node_free(&r);
  /* float base, int64 exponent */
  octet_tensor g = T(INT64, 0, NULL, int64_t, 2);
  const octet_tensor *in4[] = {&x, &g};
  r = run("Pow", 15, NULL, 0, in4, 2, 1);
  expect_f32(&r.out[0], (const float[]){4, 16, 9}, 3, 0);
  node_free(&r);
}

static void test_mod_follows_fmod_attribute(void **s) {
  (void)s;
  octet_tensor a = T(INT32, 1, D(4), int32_t, 7, -7, 7, -7), b = T(INT32, 1, D(4), int32_t, 3, 3, -3, -3);
  const octet_tensor *in[] = {&a, &b};
  node_run r = run("Mod", 13, NULL, 0, in, 2, 1); /* Python: sign of the divisor */
  EXPECT(&r.out[0], INT32, int32_t, 1, 2, -2, -1);
  node_free(&r);
  octet_attr fm = attr_i("fmod", 1);
  r = run("Mod", 13, &fm, 1, in, 2, 1); /* C: sign of the dividend */
  EXPECT(&r.out[0], INT32, int32_t, 1, -1, 1, -1);
  node_free(&r);
  octet_tensor x = F32(1, D(3), 5.5f, -5.5f, 4), y = F32(1, D(3), 2, 2, -3);
  const octet_tensor *in2[] = {&x, &y};
  r = run("Mod", 13, &fm, 1, in2, 2, 1);
  expect_f32(&r.out[0], (const float[]){1.5f, -1.5f, 1}, 3, 0);
  node_free(&r);
}

static void test_bitshift_and_bitwise(void **s) {
  (void)s;
  octet_tensor x = T(UINT8, 1, D(3), uint8_t, 16, 4, 1), n = T(UINT8, 1, D(3), uint8_t, 1, 2, 9);
  const octet_tensor *in[] = {&x, &n};
  octet_attr left = attr_s("direction", "LEFT"), right = attr_s("direction", "RIGHT");
  node_run r = run("BitShift", 11, &left, 1, in, 2, 1);
  EXPECT(&r.out[0], UINT8, uint8_t, 32, 16, 0);
  node_free(&r);
  r = run("BitShift", 11, &right, 1, in, 2, 1);
  EXPECT(&r.out[0], UINT8, uint8_t, 8, 1, 0);
  node_free(&r);
  octet_tensor a = T(INT32, 1, D(2), int32_t, 12, -1), b = T(INT32, 1, D(2), int32_t, 10, 5);
  const octet_tensor *in2[] = {&a, &b};
  r = run("BitwiseAnd", 18, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], INT32, int32_t, 8, 5);
  node_free(&r);
  r = run("BitwiseXor", 18, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], INT32, int32_t, 6, -6);
  node_free(&r);
}

/* ---- comparisons and logic ---- */

static void test_comparisons_produce_bool_with_broadcast(void **s) {
  (void)s;
  octet_tensor a = F32(2, D(2, 2), 1, 2, 3, NAN), b = F32(1, D(2), 2, 2);
  const octet_tensor *in[] = {&a, &b};
  node_run r = run("Less", 13, NULL, 0, in, 2, 1);
  expect_shape(&r.out[0], 2, D(2, 2));
  EXPECT(&r.out[0], BOOL, uint8_t, 1, 0, 0, 0);
  node_free(&r);
  r = run("GreaterOrEqual", 16, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 1, 1, 0);
  node_free(&r);
  r = run("LessOrEqual", 16, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 1, 1, 0, 0);
  node_free(&r);
  octet_tensor i = T(INT64, 2, D(2, 1), int64_t, 5, 6), j = T(INT64, 1, D(3), int64_t, 5, 6, 7);
  const octet_tensor *in2[] = {&i, &j};
  r = run("Equal", 13, NULL, 0, in2, 2, 1);
  expect_shape(&r.out[0], 2, D(2, 3));
  EXPECT(&r.out[0], BOOL, uint8_t, 1, 0, 0, 0, 1, 0);
  node_free(&r);
  r = run("Greater", 13, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 0, 0, 1, 0, 0);
  node_free(&r);
}

static void test_logic_ops_on_bool(void **s) {
  (void)s;
  octet_tensor a = T(BOOL, 2, D(2, 2), uint8_t, 0, 0, 1, 1), b = T(BOOL, 1, D(2), uint8_t, 0, 1);
  const octet_tensor *in[] = {&a, &b};
  node_run r = run("And", 7, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 0, 0, 1);
  node_free(&r);
  r = run("Or", 7, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 1, 1, 1);
  node_free(&r);
  r = run("Xor", 7, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 1, 1, 0);
  node_free(&r);
  r = run("Equal", 13, NULL, 0, in, 2, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 1, 0, 0, 1);
  node_free(&r);
  const octet_tensor *in1[] = {&a};
  r = run("Not", 1, NULL, 0, in1, 1, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 1, 1, 0, 0);
  node_free(&r);
}

static void test_where_broadcasts_condition_and_values(void **s) {
  (void)s;
  octet_tensor c = T(BOOL, 2, D(2, 1), uint8_t, 1, 0);
  octet_tensor x = F32(1, D(3), 1, 2, 3), y = F32(0, NULL, -1);
  const octet_tensor *in[] = {&c, &x, &y};
  node_run r = run("Where", 16, NULL, 0, in, 3, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 2, D(2, 3));
  expect_f32(&r.out[0], (const float[]){1, 2, 3, -1, -1, -1}, 6, 0);
  node_free(&r);
  octet_tensor c2 = T(BOOL, 1, D(3), uint8_t, 0, 1, 0);
  octet_tensor xi = T(INT64, 2, D(2, 3), int64_t, 1, 2, 3, 4, 5, 6), yi = T(INT64, 2, D(2, 1), int64_t, 7, 8);
  const octet_tensor *in2[] = {&c2, &xi, &yi};
  r = run("Where", 16, NULL, 0, in2, 3, 1);
  EXPECT(&r.out[0], INT64, int64_t, 7, 2, 7, 8, 5, 8);
  node_free(&r);
  octet_tensor c3 = T(BOOL, 1, D(3), uint8_t, 1, 0, 1), y3 = F32(1, D(3), 7, 8, 9);
  const octet_tensor *same[] = {&c3, &x, &y3}; /* identical shapes: the contiguous loop */
  r = run("Where", 16, NULL, 0, same, 3, 1);
  expect_f32(&r.out[0], (const float[]){1, 8, 3}, 3, 0);
  node_free(&r);
  const octet_tensor *bad[] = {&x, &x, &x};
  r = run("Where", 16, NULL, 0, bad, 3, 1);
  expect_error(&r, OCTET_STATUS_UNSUPPORTED, "input 0 has type float");
}

/* ---- unary math and activations ---- */

static void test_erf_is_accurate_to_float_precision(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(6), 0.5f, 1, -2, 1e-3f, 3.5f, 0);
  const octet_tensor *in[] = {&x};
  node_run r = run("Erf", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0],
             (const float[]){0.520499877813f, 0.842700792950f, -0.995322265019f,
                             0.00112837879097f, 0.999999256901f, 0},
             6, 2e-7f);
  node_free(&r);
}

/* Exp, Tanh, Erf and Sigmoid use vectorizable float code: sweep them against double libm. */
static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }
static void test_vector_math_within_a_few_ulp_of_libm(void **s) {
  (void)s;
  enum { N = 200001 };
  float *x = malloc(sizeof(float) * N);
  static const struct {
    const char *op;
    double (*f)(double);
    float lo, hi;
  } cases[] = {{"Exp", exp, -104, 89}, {"Tanh", tanh, -12, 12}, {"Erf", erf, -6, 6},
               {"Sigmoid", sigmoid_d, -100, 40}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    for (int i = 0; i < N; i++) x[i] = cases[c].lo + (cases[c].hi - cases[c].lo) * (float)i / (N - 1);
    x[N / 2] = 1e-6f; /* tiny arguments keep relative accuracy */
    octet_tensor t = tens(OCTET_DTYPE_FLOAT, 1, D(N), x);
    const octet_tensor *in[] = {&t};
    node_run r = run(cases[c].op, 13, NULL, 0, in, 1, 1);
    assert_int_equal(r.status, OCTET_OK);
    const float *y = r.out[0].data;
    double worst = 0;
    for (int i = 0; i < N; i++) {
      double want = cases[c].f((double)x[i]);
      double ulp = fabs(want) < 1.1754943508222875e-38 ? 1.401298464324817e-45
                                                       : ldexp(1.0, ilogb(want) - 23);
      if (isinf((float)want) && (float)want == y[i]) continue;
      double e = fabs((double)y[i] - want) / ulp;
      if (e > worst) worst = e;
      if (e > 4) fail_msg("%s(%.9g) = %.9g, want %.9g (%.1f ulp)", cases[c].op, (double)x[i],
                          (double)y[i], want, e);
    }
    print_message("%s: worst %.2f ulp\n", cases[c].op, worst);
    node_free(&r);
  }
  float special[] = {NAN, INFINITY, -INFINITY};
  octet_tensor t = tens(OCTET_DTYPE_FLOAT, 1, D(3), special);
  const octet_tensor *in[] = {&t};
  node_run r = run("Exp", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){NAN, INFINITY, 0}, 3, 0);
  node_free(&r);
  r = run("Tanh", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){NAN, 1, -1}, 3, 0);
  node_free(&r);
  r = run("Erf", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){NAN, 1, -1}, 3, 0);
  node_free(&r);
  free(x);
}

static void test_activations_use_onnx_defaults(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(5), -3, -0.5f, 0, 0.5f, 3);
  const octet_tensor *in[] = {&x};
  node_run r = run("HardSigmoid", 6, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, 0.4f, 0.5f, 0.6f, 1}, 5, 1e-6f);
  node_free(&r);
  r = run("HardSwish", 14, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, -0.5f * (2.5f / 6), 0, 0.5f * (3.5f / 6), 3}, 5, 1e-6f);
  node_free(&r);
  r = run("LeakyRelu", 16, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){-0.03f, -0.005f, 0, 0.5f, 3}, 5, 1e-6f);
  node_free(&r);
  r = run("Elu", 6, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){expf(-3) - 1, expf(-0.5f) - 1, 0, 0.5f, 3}, 5, 1e-6f);
  node_free(&r);
  const float sa = 1.67326319217681884765625f, sg = 1.05070102214813232421875f;
  r = run("Selu", 6, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0],
             (const float[]){sg * sa * (expf(-3) - 1), sg * sa * (expf(-0.5f) - 1), 0, sg * 0.5f, sg * 3},
             5, 1e-6f);
  node_free(&r);
  octet_attr ca = attr_f("alpha", 2.0f);
  r = run("Celu", 12, &ca, 1, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){2 * (expf(-1.5f) - 1), 2 * (expf(-0.25f) - 1), 0, 0.5f, 3}, 5, 1e-6f);
  node_free(&r);
  r = run("ThresholdedRelu", 10, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, 0, 0, 0, 3}, 5, 0);
  node_free(&r);
  r = run("Softsign", 1, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){-0.75f, -1 / 3.0f, 0, 1 / 3.0f, 0.75f}, 5, 1e-6f);
  node_free(&r);
  octet_attr sh[] = {attr_f("lambd", 1.0f), attr_f("bias", 0.5f)};
  r = run("Shrink", 9, sh, 2, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){-2.5f, 0, 0, 0, 2.5f}, 5, 0);
  node_free(&r);
  r = run("Mish", 18, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0],
             (const float[]){-3 * tanhf(log1pf(expf(-3))), -0.5f * tanhf(log1pf(expf(-0.5f))), 0,
                             0.5f * tanhf(log1pf(expf(0.5f))), 3 * tanhf(log1pf(expf(3)))},
             5, 1e-6f);
  node_free(&r);
}

static void test_sigmoid_softplus_stay_finite_at_extremes(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(4), -200, -1, 1, 200);
  const octet_tensor *in[] = {&x};
  node_run r = run("Sigmoid", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, 1 / (1 + expf(1)), 1 / (1 + expf(-1)), 1}, 4, 1e-6f);
  node_free(&r);
  r = run("Softplus", 1, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, log1pf(expf(-1)), 1 + log1pf(expf(-1)), 200}, 4, 1e-6f);
  node_free(&r);
}

static void test_round_is_half_to_even_and_sign_abs_neg(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(6), 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f);
  const octet_tensor *in[] = {&x};
  node_run r = run("Round", 11, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, 2, 2, -0.0f, -2, 2}, 6, 0);
  node_free(&r);
  r = run("Floor", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){0, 1, 2, -1, -2, 2}, 6, 0);
  node_free(&r);
  r = run("Sign", 13, NULL, 0, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){1, 1, 1, -1, -1, 1}, 6, 0);
  node_free(&r);
  octet_tensor i = T(INT8, 1, D(4), int8_t, -128, -3, 0, 5);
  const octet_tensor *in2[] = {&i};
  r = run("Abs", 13, NULL, 0, in2, 1, 1);
  EXPECT(&r.out[0], INT8, int8_t, -128, 3, 0, 5); /* |-128| wraps as numpy's does */
  node_free(&r);
  r = run("Neg", 13, NULL, 0, in2, 1, 1);
  EXPECT(&r.out[0], INT8, int8_t, -128, 3, 0, -5);
  node_free(&r);
  r = run("Sign", 13, NULL, 0, in2, 1, 1);
  EXPECT(&r.out[0], INT8, int8_t, -1, -1, 0, 1);
  node_free(&r);
  octet_tensor j = T(INT32, 1, D(3), int32_t, -4, 0, 9);
  const octet_tensor *in3[] = {&j};
  r = run("Relu", 14, NULL, 0, in3, 1, 1);
  EXPECT(&r.out[0], INT32, int32_t, 0, 0, 9);
  node_free(&r);
}

static void test_isnan_isinf_detect_flags(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(4), NAN, INFINITY, -INFINITY, 1);
  const octet_tensor *in[] = {&x};
  node_run r = run("IsNaN", 13, NULL, 0, in, 1, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 1, 0, 0, 0);
  node_free(&r);
  r = run("IsInf", 10, NULL, 0, in, 1, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 1, 1, 0);
  node_free(&r);
  octet_attr neg = attr_i("detect_negative", 0);
  r = run("IsInf", 10, &neg, 1, in, 1, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 1, 0, 0);
  node_free(&r);
}

/* ---- Clip across opsets ---- */

static void test_clip_opset6_uses_attributes(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(4), -5, -1, 1, 5);
  const octet_tensor *in[] = {&x};
  octet_attr at[] = {attr_f("min", -2), attr_f("max", 2)};
  node_run r = run("Clip", 6, at, 2, in, 1, 1);
  expect_f32(&r.out[0], (const float[]){-2, -1, 1, 2}, 4, 0);
  node_free(&r);
  r = run("Clip", 6, at + 1, 1, in, 1, 1); /* min defaults to the lowest float */
  expect_f32(&r.out[0], (const float[]){-5, -1, 1, 2}, 4, 0);
  node_free(&r);
}

static void test_clip_opset13_uses_inputs_and_integer_types(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(4), -5, -1, 1, 5), lo = F32(0, NULL, -2), hi = F32(0, NULL, 0.5f);
  const octet_tensor *in[] = {&x, &lo, &hi};
  node_run r = run("Clip", 13, NULL, 0, in, 3, 1);
  expect_f32(&r.out[0], (const float[]){-2, -1, 0.5f, 0.5f}, 4, 0);
  node_free(&r);
  const octet_tensor *max_only[] = {&x, NULL, &hi};
  r = run("Clip", 13, NULL, 0, max_only, 3, 1);
  expect_f32(&r.out[0], (const float[]){-5, -1, 0.5f, 0.5f}, 4, 0);
  node_free(&r);
  /* min > max: every value becomes max, as numpy's clip does. */
  const octet_tensor *swapped[] = {&x, &hi, &lo};
  r = run("Clip", 13, NULL, 0, swapped, 3, 1);
  expect_f32(&r.out[0], (const float[]){-2, -2, -2, -2}, 4, 0);
  node_free(&r);
  /* Attributes are ignored from opset 11 on. */
  octet_attr at[] = {attr_f("min", 0)};
  const octet_tensor *in1[] = {&x};
  r = run("Clip", 13, at, 1, in1, 1, 1);
  expect_f32(&r.out[0], (const float[]){-5, -1, 1, 5}, 4, 0);
  node_free(&r);
  octet_tensor xi = T(INT8, 1, D(4), int8_t, -128, -1, 1, 127), loi = T(INT8, 0, NULL, int8_t, -3);
  const octet_tensor *in2[] = {&xi, &loi};
  r = run("Clip", 13, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], INT8, int8_t, -3, -1, 1, 127);
  node_free(&r);
  octet_tensor bad = T(INT32, 0, NULL, int32_t, 0);
  const octet_tensor *in3[] = {&xi, &bad};
  r = run("Clip", 13, NULL, 0, in3, 2, 1);
  expect_error(&r, OCTET_STATUS_INVALID_MODEL, "input 1 has type int32");
}

/* ---- Cast ---- */

static void test_cast_float_to_int_truncates(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(5), -1.7f, -0.5f, 2.9f, 300.0f, 1e6f);
  const octet_tensor *in[] = {&x};
  octet_attr to = attr_i("to", OCTET_DTYPE_INT32);
  node_run r = run("Cast", 13, &to, 1, in, 1, 1);
  EXPECT(&r.out[0], INT32, int32_t, -1, 0, 2, 300, 1000000);
  node_free(&r);
  to.i = OCTET_DTYPE_INT64;
  r = run("Cast", 13, &to, 1, in, 1, 1);
  EXPECT(&r.out[0], INT64, int64_t, -1, 0, 2, 300, 1000000);
  node_free(&r);
  octet_tensor l = T(INT64, 1, D(2), int64_t, 300, -1);
  const octet_tensor *in2[] = {&l};
  to.i = OCTET_DTYPE_UINT8; /* integer narrowing wraps, as numpy's astype */
  r = run("Cast", 13, &to, 1, in2, 1, 1);
  EXPECT(&r.out[0], UINT8, uint8_t, 44, 255);
  node_free(&r);
}

static void test_cast_to_float16_rounds_to_nearest_even(void **s) {
  (void)s;
  /* ulp of half at 1 is 2^-10: 1 + 2^-11 is a tie (-> 1.0), 1 + 3*2^-11 a tie (-> 1 + 2^-9) */
  octet_tensor x = F32(1, D(4), 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65520.0f, -0x1p-25f);
  const octet_tensor *in[] = {&x};
  octet_attr to = attr_i("to", OCTET_DTYPE_FLOAT16);
  node_run r = run("Cast", 13, &to, 1, in, 1, 1);
  EXPECT(&r.out[0], FLOAT16, uint16_t, 0x3c00, 0x3c02, 0x7c00, 0x8000);
  node_free(&r);
  /* From double, rounding happens once: just above the tie must round up. */
  octet_tensor d = T(DOUBLE, 1, D(2), double, 1.0 + 0x1p-11 + 0x1p-40, 1.0 + 0x1p-11);
  const octet_tensor *in2[] = {&d};
  r = run("Cast", 13, &to, 1, in2, 1, 1);
  EXPECT(&r.out[0], FLOAT16, uint16_t, 0x3c01, 0x3c00);
  node_free(&r);
  octet_tensor h = T(FLOAT16, 1, D(2), uint16_t, 0x3c01, 0xc000);
  const octet_tensor *in3[] = {&h};
  to.i = OCTET_DTYPE_FLOAT;
  r = run("Cast", 13, &to, 1, in3, 1, 1);
  expect_f32(&r.out[0], (const float[]){1.0f + 0x1p-10f, -2.0f}, 2, 0);
  node_free(&r);
}

static void test_cast_bool_bfloat16_and_castlike(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(4), 0.0f, -0.5f, NAN, 3.0f);
  const octet_tensor *in[] = {&x};
  octet_attr to = attr_i("to", OCTET_DTYPE_BOOL);
  node_run r = run("Cast", 13, &to, 1, in, 1, 1);
  EXPECT(&r.out[0], BOOL, uint8_t, 0, 1, 1, 1);
  node_free(&r);
  octet_tensor b = T(BOOL, 1, D(2), uint8_t, 1, 0);
  const octet_tensor *in2[] = {&b};
  to.i = OCTET_DTYPE_FLOAT;
  r = run("Cast", 13, &to, 1, in2, 1, 1);
  expect_f32(&r.out[0], (const float[]){1, 0}, 2, 0);
  node_free(&r);
  /* float -> bfloat16 truncates like ONNX's reference data (0x3f80ffff -> 0x3f80) */
  uint32_t bits = 0x3f80ffffu;
  float f;
  memcpy(&f, &bits, 4);
  octet_tensor y = tens(OCTET_DTYPE_FLOAT, 1, D(1), &f);
  octet_tensor like = T(BFLOAT16, 0, NULL, uint16_t, 0);
  const octet_tensor *in3[] = {&y, &like};
  r = run("CastLike", 15, NULL, 0, in3, 2, 1);
  EXPECT(&r.out[0], BFLOAT16, uint16_t, 0x3f80);
  node_free(&r);
  to.i = OCTET_DTYPE_STRING;
  r = run("Cast", 13, &to, 1, in, 1, 1);
  expect_error(&r, OCTET_STATUS_UNSUPPORTED, "cannot cast to string");
  /* Cast-1 names the type as a string. */
  octet_attr to_s = attr_s("to", "INT32");
  r = run("Cast", 1, &to_s, 1, in2, 1, 1);
  EXPECT(&r.out[0], INT32, int32_t, 1, 0);
  node_free(&r);
}

/* ---- variadic ---- */

static void test_min_max_sum_mean_variadic_broadcast(void **s) {
  (void)s;
  octet_tensor a = F32(1, D(3), 1, 5, NAN), b = F32(2, D(2, 1), 3, 0), c = F32(0, NULL, 4);
  const octet_tensor *in[] = {&a, &b, &c};
  node_run r = run("Max", 13, NULL, 0, in, 3, 1);
  expect_shape(&r.out[0], 2, D(2, 3));
  expect_f32(&r.out[0], (const float[]){4, 5, NAN, 4, 5, NAN}, 6, 0);
  node_free(&r);
  r = run("Min", 13, NULL, 0, in, 3, 1);
  expect_f32(&r.out[0], (const float[]){1, 3, NAN, 0, 0, NAN}, 6, 0);
  node_free(&r);
  r = run("Sum", 13, NULL, 0, in, 3, 1);
  expect_f32(&r.out[0], (const float[]){8, 12, NAN, 5, 9, NAN}, 6, 0);
  node_free(&r);
  r = run("Mean", 13, NULL, 0, in, 3, 1);
  expect_f32(&r.out[0], (const float[]){8 / 3.0f, 4, NAN, 5 / 3.0f, 3, NAN}, 6, 1e-7f);
  node_free(&r);
  const octet_tensor *one[] = {&a};
  r = run("Sum", 13, NULL, 0, one, 1, 1);
  expect_f32(&r.out[0], (const float[]){1, 5, NAN}, 3, 0);
  node_free(&r);
  octet_tensor u = T(UINT64, 1, D(2), uint64_t, UINT64_MAX, 1), v = T(UINT64, 1, D(2), uint64_t, 2, 3);
  const octet_tensor *in2[] = {&u, &v};
  r = run("Min", 13, NULL, 0, in2, 2, 1);
  EXPECT(&r.out[0], UINT64, uint64_t, 2, 1);
  node_free(&r);
  uint16_t h[] = {octet_float_to_half(1.5f), octet_float_to_half(-1.0f)};
  uint16_t k[] = {octet_float_to_half(0.5f), octet_float_to_half(2.0f)};
  octet_tensor ha = tens(OCTET_DTYPE_FLOAT16, 1, D(2), h), hb = tens(OCTET_DTYPE_FLOAT16, 1, D(2), k);
  const octet_tensor *in3[] = {&ha, &hb};
  r = run("Max", 13, NULL, 0, in3, 2, 1);
  EXPECT(&r.out[0], FLOAT16, uint16_t, h[0], k[1]);
  node_free(&r);
}

/* ---- opset differences and odd ops ---- */

static void test_add_opset6_legacy_broadcast_axis(void **s) {
  (void)s;
  octet_tensor a = F32(3, D(2, 3, 2), 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1), b = F32(1, D(3), 10, 20, 30);
  const octet_tensor *in[] = {&a, &b};
  octet_attr at[] = {attr_i("broadcast", 1), attr_i("axis", 1)};
  node_run r = run("Add", 6, at, 2, in, 2, 1);
  assert_int_equal(r.status, OCTET_OK);
  expect_shape(&r.out[0], 3, D(2, 3, 2));
  expect_f32(&r.out[0], (const float[]){10, 10, 20, 20, 30, 30, 11, 11, 21, 21, 31, 31}, 12, 0);
  node_free(&r);
  /* Without broadcast=1, old opsets require equal shapes. */
  r = run("Mul", 6, NULL, 0, in, 2, 1);
  expect_error(&r, OCTET_STATUS_INVALID_ARGUMENT, "broadcast=0");
  /* Without axis, B aligns with A's trailing dims. */
  octet_tensor c = F32(1, D(2), 1, 2);
  const octet_tensor *in2[] = {&a, &c};
  r = run("Sub", 6, at, 1, in2, 2, 1);
  expect_f32(&r.out[0], (const float[]){-1, -2, -1, -2, -1, -2, 0, -1, 0, -1, 0, -1}, 12, 0);
  node_free(&r);
}

static void test_prelu_slope_per_channel(void **s) {
  (void)s;
  octet_tensor x = F32(3, D(2, 1, 2), -1, 2, -3, 4), slope = F32(2, D(1, 2), 0.5f, 0.25f);
  const octet_tensor *in[] = {&x, &slope};
  node_run r = run("PRelu", 16, NULL, 0, in, 2, 1);
  expect_shape(&r.out[0], 3, D(2, 1, 2));
  expect_f32(&r.out[0], (const float[]){-0.5f, 2, -1.5f, 4}, 4, 0);
  node_free(&r);
  octet_tensor big = F32(2, D(2, 2), 1, 1, 1, 1), small = F32(1, D(2), -1, 1);
  const octet_tensor *in2[] = {&small, &big}; /* slope may not enlarge X */
  r = run("PRelu", 16, NULL, 0, in2, 2, 1);
  expect_error(&r, OCTET_STATUS_INVALID_ARGUMENT, "broadcast to input 0");
}

static void test_dropout_inference_copies_and_masks_true(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(3), 1, 2, 3), ratio = F32(0, NULL, 0.5f);
  const octet_tensor *in[] = {&x, &ratio};
  node_run r = run("Dropout", 13, NULL, 0, in, 2, 2);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){1, 2, 3}, 3, 0);
  EXPECT(&r.out[1], BOOL, uint8_t, 1, 1, 1);
  node_free(&r);
  const octet_tensor *in1[] = {&x};
  r = run("Dropout", 7, NULL, 0, in1, 1, 2); /* opsets 7-9: mask of the data's type */
  expect_f32(&r.out[1], (const float[]){1, 1, 1}, 3, 0);
  node_free(&r);
  /* Training mode is served only when it drops nothing (ratio 0). */
  octet_tensor zero = F32(0, NULL, 0), on = T(BOOL, 0, NULL, uint8_t, 1);
  const octet_tensor *train0[] = {&x, &zero, &on};
  r = run("Dropout", 13, NULL, 0, train0, 3, 2);
  assert_int_equal(r.status, OCTET_OK);
  expect_f32(&r.out[0], (const float[]){1, 2, 3}, 3, 0);
  EXPECT(&r.out[1], BOOL, uint8_t, 1, 1, 1);
  node_free(&r);
  const octet_tensor *train[] = {&x, &ratio, &on};
  r = run("Dropout", 13, NULL, 0, train, 3, 2);
  expect_error(&r, OCTET_STATUS_UNSUPPORTED, "training_mode=true");
  node_free(&r);
}

static void test_trig_and_hyperbolic(void **s) {
  (void)s;
  octet_tensor x = F32(1, D(2), 0.5f, -0.25f);
  const octet_tensor *in[] = {&x};
  static const struct {
    const char *op;
    float (*f)(float);
  } cases[] = {{"Sin", sinf}, {"Cos", cosf}, {"Tan", tanf}, {"Asin", asinf}, {"Acos", acosf},
               {"Atan", atanf}, {"Sinh", sinhf}, {"Cosh", coshf}, {"Asinh", asinhf},
               {"Atanh", atanhf}, {"Sqrt", sqrtf}, {"Log", logf}, {"Tanh", tanhf}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    node_run r = run(cases[i].op, 13, NULL, 0, in, 1, 1);
    assert_int_equal(r.status, OCTET_OK);
    expect_f32(&r.out[0], (const float[]){cases[i].f(0.5f), cases[i].f(-0.25f)}, 2, 1e-6f);
    node_free(&r);
  }
  octet_tensor y = F32(1, D(1), 2);
  const octet_tensor *in2[] = {&y};
  node_run r = run("Acosh", 13, NULL, 0, in2, 1, 1);
  expect_f32(&r.out[0], (const float[]){acoshf(2)}, 1, 1e-6f);
  node_free(&r);
  r = run("Reciprocal", 13, NULL, 0, in2, 1, 1);
  expect_f32(&r.out[0], (const float[]){0.5f}, 1, 0);
  node_free(&r);
}

/* ---- errors ---- */

static void test_errors_name_node_and_problem(void **s) {
  (void)s;
  octet_tensor f = F32(1, D(2), 1, 2), i = T(INT32, 1, D(2), int32_t, 1, 2);
  const octet_tensor *mixed[] = {&f, &i};
  node_run r = run("Add", 14, NULL, 0, mixed, 2, 1);
  expect_error(&r, OCTET_STATUS_INVALID_MODEL, "node 'n0' (Add): input 1 has type int32 but input 0 has type float");
  const octet_tensor *ints[] = {&i};
  r = run("Sqrt", 13, NULL, 0, ints, 1, 1);
  expect_error(&r, OCTET_STATUS_UNSUPPORTED, "node 'n0' (Sqrt): input type int32 is not supported");
  octet_tensor g = F32(1, D(3), 1, 2, 3);
  const octet_tensor *shapes[] = {&f, &g};
  r = run("Mul", 14, NULL, 0, shapes, 2, 1);
  expect_error(&r, OCTET_STATUS_INVALID_ARGUMENT, "node 'n0' (Mul)");
  assert_non_null(strstr(r.err.message, "cannot broadcast"));
  const octet_tensor *floats[] = {&f, &f};
  r = run("And", 7, NULL, 0, floats, 2, 1);
  expect_error(&r, OCTET_STATUS_UNSUPPORTED, "type float is not supported");
  octet_attr dir = attr_s("direction", "UP");
  octet_tensor u = T(UINT8, 1, D(1), uint8_t, 1);
  const octet_tensor *us[] = {&u, &u};
  r = run("BitShift", 11, &dir, 1, us, 2, 1);
  expect_error(&r, OCTET_STATUS_INVALID_MODEL, "direction must be LEFT or RIGHT");
}

static void test_kernels_registered_at_first_onnx_version(void **s) {
  (void)s;
  const octet_plugin *p = octet_ops_plugin();
  assert_null(octet_ops_find(p, "", "HardSwish", 13));
  assert_non_null(octet_ops_find(p, "", "HardSwish", 14));
  assert_null(octet_ops_find(p, "", "CastLike", 14));
  assert_non_null(octet_ops_find(p, "", "Where", 9));
  const octet_kernel *k = octet_ops_find(p, "", "Relu", 14);
  assert_true(k->flags & OCTET_KERNEL_INPLACE0);
  assert_false(octet_ops_find(p, "", "Less", 13)->flags & OCTET_KERNEL_INPLACE0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_add_same_shape_and_scalar_operand),
    cmocka_unit_test(test_mul_broadcasts_channel_vector_over_nchw),
    cmocka_unit_test(test_add_broadcasts_trailing_vector_and_both_ways),
    cmocka_unit_test(test_large_broadcast_is_identical_for_any_thread_split),
    cmocka_unit_test(test_integer_arithmetic_wraps_and_truncates),
    cmocka_unit_test(test_double_and_float16_paths),
    cmocka_unit_test(test_pow_same_and_mixed_types),
    cmocka_unit_test(test_mod_follows_fmod_attribute),
    cmocka_unit_test(test_bitshift_and_bitwise),
    cmocka_unit_test(test_comparisons_produce_bool_with_broadcast),
    cmocka_unit_test(test_logic_ops_on_bool),
    cmocka_unit_test(test_where_broadcasts_condition_and_values),
    cmocka_unit_test(test_erf_is_accurate_to_float_precision),
    cmocka_unit_test(test_vector_math_within_a_few_ulp_of_libm),
    cmocka_unit_test(test_activations_use_onnx_defaults),
    cmocka_unit_test(test_sigmoid_softplus_stay_finite_at_extremes),
    cmocka_unit_test(test_round_is_half_to_even_and_sign_abs_neg),
    cmocka_unit_test(test_isnan_isinf_detect_flags),
    cmocka_unit_test(test_clip_opset6_uses_attributes),
    cmocka_unit_test(test_clip_opset13_uses_inputs_and_integer_types),
    cmocka_unit_test(test_cast_float_to_int_truncates),
    cmocka_unit_test(test_cast_to_float16_rounds_to_nearest_even),
    cmocka_unit_test(test_cast_bool_bfloat16_and_castlike),
    cmocka_unit_test(test_min_max_sum_mean_variadic_broadcast),
    cmocka_unit_test(test_add_opset6_legacy_broadcast_axis),
    cmocka_unit_test(test_prelu_slope_per_channel),
    cmocka_unit_test(test_dropout_inference_copies_and_masks_true),
    cmocka_unit_test(test_trig_and_hyperbolic),
    cmocka_unit_test(test_errors_name_node_and_problem),
    cmocka_unit_test(test_kernels_registered_at_first_onnx_version),
  };
  return cmocka_run_group_tests_name("ops-elementwise", tests, NULL, NULL);
}
