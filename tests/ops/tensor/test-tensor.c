/* test-tensor.c — tensor-manipulation kernels called through octet_ops_find, checked against
 * hand-computed values for each op and opset form, negative axes, empty tensors and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "ops/registry.h"

/* ---- harness ---- */

#define MAXO 8
typedef struct op_result {
  octet_status st;
  octet_error err;
  octet_tensor out[MAXO];
  size_t n_out;
} op_result;

static octet_tensor T(int32_t dtype, int32_t rank, const int64_t *dims, const void *data) {
  octet_tensor t = {.dtype = dtype, .rank = rank, .data = (void *)data};
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}
#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define F32(...) ((const float[]){__VA_ARGS__})
#define I64(...) ((const int64_t[]){__VA_ARGS__})
#define I32(...) ((const int32_t[]){__VA_ARGS__})
#define TF(rank, dims, ...) T(OCTET_DTYPE_FLOAT, rank, DIMS dims, F32(__VA_ARGS__))
#define TI(rank, dims, ...) T(OCTET_DTYPE_INT64, rank, DIMS dims, I64(__VA_ARGS__))

static octet_attr AI(const char *n, int64_t v) { return (octet_attr){.name = n, .type = OCTET_ATTR_INT, .i = v}; }
static octet_attr AF(const char *n, float v) { return (octet_attr){.name = n, .type = OCTET_ATTR_FLOAT, .f = v}; }
static octet_attr AS(const char *n, const char *s) {
  return (octet_attr){.name = n, .type = OCTET_ATTR_STRING, .s = s, .s_len = strlen(s)};
}
static octet_attr AIS(const char *n, const int64_t *v, size_t k) {
  return (octet_attr){.name = n, .type = OCTET_ATTR_INTS, .ints = v, .n = k};
}
static octet_attr AFS(const char *n, const float *v, size_t k) {
  return (octet_attr){.name = n, .type = OCTET_ATTR_FLOATS, .floats = v, .n = k};
}
#define INTS(n, ...) AIS(n, I64(__VA_ARGS__), sizeof(I64(__VA_ARGS__)) / 8)

/* The host used by run_op; tests of the threaded paths set a splitting host. */
static const octet_host *g_host;

/* Runs op at opset: create, infer, allocate, run (into separate buffers), destroy. A NULL
 * entry in inputs is an absent optional input. */
static op_result run_op(const char *op, int opset, const octet_attr *attrs, size_t n_attrs,
                        const octet_tensor *const *in, size_t n_in, size_t n_out) {
  op_result r;
  memset(&r, 0, sizeof r);
  r.n_out = n_out;
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", op, opset);
  assert_non_null(k);
  int32_t dts[16];
  for (size_t i = 0; i < n_in; i++) dts[i] = in[i] ? in[i]->dtype : OCTET_DTYPE_UNDEFINED;
  const octet_tensor *consts[16] = {0};
  octet_kernel_info info = {.node_name = "n0", .domain = "", .op_type = op, .opset = opset,
                            .n_attrs = n_attrs, .attrs = attrs, .n_inputs = n_in,
                            .input_dtypes = dts, .constant_inputs = consts, .n_outputs = n_out};
  int32_t out_dt[MAXO] = {0};
  void *state = NULL;
  r.st = k->create(&info, out_dt, &state, &r.err);
  if (r.st) {
    k->destroy(state);
    return r;
  }
  size_t ws = 0;
  r.st = k->infer(state, in, n_in, r.out, n_out, &ws, &r.err);
  if (r.st) {
    k->destroy(state);
    return r;
  }
  for (size_t i = 0; i < n_out; i++) {
    assert_int_equal(r.out[i].dtype, out_dt[i]);
    size_t nb = octet_tensor_nbytes(&r.out[i]);
    r.out[i].data = calloc(1, nb + 16);
  }
  void *w = ws ? malloc(ws) : NULL;
  r.st = k->run(state, in, n_in, r.out, n_out, w, g_host, &r.err);
  free(w);
  k->destroy(state);
  if (r.st)
    for (size_t i = 0; i < n_out; i++) free(r.out[i].data), r.out[i].data = NULL;
  return r;
}

static void free_result(op_result *r) {
  for (size_t i = 0; i < r->n_out; i++) free(r->out[i].data);
}

#define RUN(op, opset, attrs, ...)                                                         \
  run_op(op, opset, attrs, sizeof(attrs) / sizeof(octet_attr),                             \
         (const octet_tensor *const[]){__VA_ARGS__},                                        \
         sizeof((const octet_tensor *const[]){__VA_ARGS__}) / sizeof(void *), 1)
static const octet_attr NOATTR[1] = {{.name = "__none__"}};
#define RUN0(op, opset, ...)                                                               \
  run_op(op, opset, NOATTR, 0, (const octet_tensor *const[]){__VA_ARGS__},                 \
         sizeof((const octet_tensor *const[]){__VA_ARGS__}) / sizeof(void *), 1)

static void expect_shape(const octet_tensor *t, int32_t rank, const int64_t *dims) {
  if (t->rank != rank) fail_msg("rank %d, want %d", (int)t->rank, (int)rank);
  for (int i = 0; i < rank; i++) assert_int_equal(t->dims[i], dims[i]);
}
static void expect_f(const octet_tensor *t, const float *v, size_t n) {
  assert_int_equal(octet_tensor_numel(t), n);
  for (size_t i = 0; i < n; i++) {
    float a = ((const float *)t->data)[i];
    if (fabsf(a - v[i]) > 1e-5f * (1 + fabsf(v[i]))) fail_msg("element %zu: got %g, want %g", i, a, v[i]);
  }
}
static void expect_i64(const octet_tensor *t, const int64_t *v, size_t n) {
  assert_int_equal(octet_tensor_numel(t), n);
  for (size_t i = 0; i < n; i++)
    if (((const int64_t *)t->data)[i] != v[i])
      fail_msg("element %zu: got %lld, want %lld", i, (long long)((const int64_t *)t->data)[i], (long long)v[i]);
}
#define EXPECT_F(t, ...) expect_f(t, F32(__VA_ARGS__), sizeof(F32(__VA_ARGS__)) / 4)
#define EXPECT_I64(t, ...) expect_i64(t, I64(__VA_ARGS__), sizeof(I64(__VA_ARGS__)) / 8)
#define EXPECT_SHAPE(t, rank, ...) expect_shape(t, rank, DIMS(__VA_ARGS__))
#define EXPECT_ERR(r, needle)                                                              \
  do {                                                                                     \
    assert_int_not_equal((r).st, OCTET_OK);                                                \
    if (!strstr((r).err.message, needle)) fail_msg("message '%s' lacks '%s'", (r).err.message, needle); \
  } while (0)

/* a 2x3 float tensor 0..5 */
#define X23 TF(2, (2, 3), 0, 1, 2, 3, 4, 5)

/* ---- shape ops ---- */

static void reshape_copies_zero_dims_and_infers_minus_one(void **s) {
  octet_tensor x = TF(3, (2, 3, 1), 0, 1, 2, 3, 4, 5), sh = TI(1, (2), 0, -1);
  op_result r = RUN0("Reshape", 13, &x, &sh);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 2, 2, 3);
  EXPECT_F(&r.out[0], 0, 1, 2, 3, 4, 5);
  free_result(&r);
}

static void reshape_allowzero_keeps_literal_zero(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 2, DIMS(0, 3), NULL), sh = TI(1, (3), 3, 0, 4);
  octet_attr a[] = {AI("allowzero", 1)};
  octet_tensor x2 = T(OCTET_DTYPE_FLOAT, 3, DIMS(3, 0, 4), NULL);
  op_result r = RUN("Reshape", 14, a, &x2, &sh);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 3, 3, 0, 4);
  free_result(&r);
  octet_tensor sh2 = TI(1, (2), 0, 3);
  r = RUN0("Reshape", 13, &x, &sh2); /* without allowzero, 0 copies the input dim 0 */
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 2, 0, 3);
  free_result(&r);
}

static void reshape_v1_reads_the_shape_attribute(void **s) {
  octet_tensor x = X23;
  octet_attr a[] = {INTS("shape", 3, -1)};
  op_result r = RUN("Reshape", 1, a, &x);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 2, 3, 2);
  EXPECT_F(&r.out[0], 0, 1, 2, 3, 4, 5);
  free_result(&r);
}

static void reshape_rejects_a_wrong_element_count(void **s) {
  octet_tensor x = X23, sh = TI(1, (2), 4, 2);
  op_result r = RUN0("Reshape", 13, &x, &sh);
  EXPECT_ERR(r, "cannot reshape 6 elements");
  assert_non_null(strstr(r.err.message, "node 'n0' (Reshape)"));
  octet_tensor sh2 = TI(1, (2), -1, -1);
  r = RUN0("Reshape", 13, &x, &sh2);
  EXPECT_ERR(r, "more than one -1");
}

static void flatten_splits_at_axis_including_negative_and_zero(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 3, DIMS(2, 3, 4), calloc(24, 4));
  octet_attr a[] = {AI("axis", -1)};
  op_result r = RUN("Flatten", 13, a, &x);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 2, 6, 4);
  free_result(&r);
  octet_attr b[] = {AI("axis", 0)};
  r = RUN("Flatten", 13, b, &x);
  EXPECT_SHAPE(&r.out[0], 2, 1, 24);
  free_result(&r);
  octet_attr c[] = {AI("axis", 4)};
  r = RUN("Flatten", 13, c, &x);
  EXPECT_ERR(r, "axis 4 is out of range");
  free(x.data);
}

static void squeeze_takes_axes_from_attribute_then_input(void **s) {
  octet_tensor x = TF(3, (1, 3, 1), 1, 2, 3);
  octet_attr a[] = {INTS("axes", -1)};
  op_result r = RUN("Squeeze", 11, a, &x);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 2, 1, 3);
  EXPECT_F(&r.out[0], 1, 2, 3);
  free_result(&r);
  octet_tensor ax = TI(1, (1), 0);
  r = RUN0("Squeeze", 13, &x, &ax);
  EXPECT_SHAPE(&r.out[0], 2, 3, 1);
  free_result(&r);
  r = RUN0("Squeeze", 13, &x); /* no axes: every 1 goes */
  EXPECT_SHAPE(&r.out[0], 1, 3);
  free_result(&r);
  octet_tensor bad = TI(1, (1), 1);
  r = RUN0("Squeeze", 13, &x, &bad);
  EXPECT_ERR(r, "its dim is 3, not 1");
}

static void unsqueeze_inserts_axes_of_the_output_rank(void **s) {
  octet_tensor x = TF(2, (2, 3), 0, 1, 2, 3, 4, 5);
  octet_tensor ax = TI(1, (2), 0, -1);
  op_result r = RUN0("Unsqueeze", 13, &x, &ax);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 4, 1, 2, 3, 1);
  EXPECT_F(&r.out[0], 0, 1, 2, 3, 4, 5);
  free_result(&r);
  octet_attr a[] = {INTS("axes", 1)};
  r = RUN("Unsqueeze", 1, a, &x);
  EXPECT_SHAPE(&r.out[0], 3, 2, 1, 3);
  free_result(&r);
  octet_tensor dup = TI(1, (2), 1, 1);
  r = RUN0("Unsqueeze", 13, &x, &dup);
  EXPECT_ERR(r, "repeated");
}

static void shape_and_size_report_dims_with_start_end(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 3, DIMS(2, 0, 5), NULL);
  op_result r = RUN0("Shape", 13, &x);
  EXPECT_I64(&r.out[0], 2, 0, 5);
  free_result(&r);
  octet_attr a[] = {AI("start", -2), AI("end", 10)};
  r = RUN("Shape", 15, a, &x);
  EXPECT_SHAPE(&r.out[0], 1, 2);
  EXPECT_I64(&r.out[0], 0, 5);
  free_result(&r);
  octet_attr b[] = {AI("start", 2), AI("end", 1)};
  r = RUN("Shape", 15, b, &x);
  EXPECT_SHAPE(&r.out[0], 1, 0);
  free_result(&r);
  octet_tensor y = X23;
  r = RUN0("Size", 13, &y);
  EXPECT_SHAPE(&r.out[0], 0, 0);
  EXPECT_I64(&r.out[0], 6);
  free_result(&r);
}

static void constant_of_shape_fills_with_value_attribute_or_zero(void **s) {
  octet_tensor sh = TI(1, (2), 2, 2);
  op_result r = RUN0("ConstantOfShape", 9, &sh);
  assert_int_equal(r.out[0].dtype, OCTET_DTYPE_FLOAT);
  EXPECT_F(&r.out[0], 0, 0, 0, 0);
  free_result(&r);
  octet_tensor v = TI(1, (1), 7);
  octet_attr a[] = {{.name = "value", .type = OCTET_ATTR_TENSOR, .t = &v}};
  r = RUN("ConstantOfShape", 9, a, &sh);
  EXPECT_I64(&r.out[0], 7, 7, 7, 7);
  free_result(&r);
  octet_tensor empty = T(OCTET_DTYPE_INT64, 1, DIMS(0), NULL);
  r = RUN("ConstantOfShape", 9, a, &empty);
  EXPECT_SHAPE(&r.out[0], 0, 0);
  EXPECT_I64(&r.out[0], 7);
  free_result(&r);
}

static void range_counts_ceil_and_handles_negative_delta(void **s) {
  octet_tensor a = TF(0, (0), 1), b = TF(0, (0), 2), d = TF(0, (0), 0.3f);
  op_result r = RUN0("Range", 11, &a, &b, &d);
  EXPECT_SHAPE(&r.out[0], 1, 4);
  EXPECT_F(&r.out[0], 1, 1.3f, 1.6f, 1.9f);
  free_result(&r);
  octet_tensor s0 = TI(0, (0), 10), l0 = TI(0, (0), 4), d0 = TI(0, (0), -3);
  r = RUN0("Range", 11, &s0, &l0, &d0);
  EXPECT_I64(&r.out[0], 10, 7);
  free_result(&r);
  octet_tensor s1 = T(OCTET_DTYPE_INT32, 0, NULL, I32(5)), l1 = T(OCTET_DTYPE_INT32, 0, NULL, I32(5)),
               d1 = T(OCTET_DTYPE_INT32, 0, NULL, I32(1));
  r = RUN0("Range", 11, &s1, &l1, &d1);
  EXPECT_SHAPE(&r.out[0], 1, 0);
  free_result(&r);
  octet_tensor z = TI(0, (0), 0);
  r = RUN0("Range", 11, &s0, &l0, &z);
  EXPECT_ERR(r, "delta is 0");
}

static void eye_like_puts_ones_on_the_k_diagonal(void **s) {
  octet_tensor x = T(OCTET_DTYPE_INT32, 2, DIMS(3, 4), calloc(12, 4));
  octet_attr a[] = {AI("k", 1), AI("dtype", OCTET_DTYPE_FLOAT)};
  op_result r = RUN("EyeLike", 9, a, &x);
  EXPECT_F(&r.out[0], 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1);
  free_result(&r);
  free(x.data);
}

/* ---- layout ops ---- */

static float *iota_f(size_t n) {
  float *p = malloc(n * sizeof *p + 4);
  for (size_t i = 0; i < n; i++) p[i] = (float)i;
  return p;
}

static void transpose_default_reverses_and_perm_is_applied(void **s) {
  octet_tensor x = X23;
  op_result r = RUN0("Transpose", 13, &x);
  EXPECT_SHAPE(&r.out[0], 2, 3, 2);
  EXPECT_F(&r.out[0], 0, 3, 1, 4, 2, 5);
  free_result(&r);
  octet_tensor y = T(OCTET_DTYPE_FLOAT, 3, DIMS(2, 3, 4), iota_f(24));
  octet_attr a[] = {INTS("perm", 1, 2, 0)};
  r = RUN("Transpose", 13, a, &y);
  EXPECT_SHAPE(&r.out[0], 3, 3, 4, 2);
  /* out[i][j][k] = y[k][i][j] */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      for (int k = 0; k < 2; k++)
        assert_true(((float *)r.out[0].data)[(i * 4 + j) * 2 + k] == (float)(k * 12 + i * 4 + j));
  free_result(&r);
  octet_attr bad[] = {INTS("perm", 0, 0, 1)};
  r = RUN("Transpose", 13, bad, &y);
  EXPECT_ERR(r, "not a permutation");
  free(y.data);
}

/* Compares the blocked/tiled paths with the plain index formula on NCHW -> NHWC and back, for
 * 1-, 2-, 4- and 8-byte elements. */
static void transpose_large_nchw_nhwc_matches_index_formula(void **s) {
  const int64_t N = 2, C = 37, H = 19, W = 23;
  size_t n = (size_t)(N * C * H * W);
  int32_t types[] = {OCTET_DTYPE_UINT8, OCTET_DTYPE_INT16, OCTET_DTYPE_FLOAT, OCTET_DTYPE_INT64};
  for (int ti = 0; ti < 4; ti++) {
    size_t es = octet_dtype_size(types[ti]);
    uint8_t *buf = malloc(n * es);
    for (size_t i = 0; i < n * es; i++) buf[i] = (uint8_t)(i * 7 + i / 251);
    octet_tensor x = T(types[ti], 4, DIMS(N, C, H, W), buf);
    octet_attr a[] = {INTS("perm", 0, 2, 3, 1)};
    op_result r = RUN("Transpose", 13, a, &x);
    assert_int_equal(r.st, OCTET_OK);
    EXPECT_SHAPE(&r.out[0], 4, N, H, W, C);
    const uint8_t *o = r.out[0].data;
    for (int64_t b = 0; b < N; b++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          for (int64_t c = 0; c < C; c++)
            assert_memory_equal(o + (size_t)(((b * H + h) * W + w) * C + c) * es,
                                buf + (size_t)(((b * C + c) * H + h) * W + w) * es, es);
    octet_tensor y = r.out[0];
    octet_attr back[] = {INTS("perm", 0, 3, 1, 2)};
    op_result r2 = RUN("Transpose", 13, back, &y);
    assert_memory_equal(r2.out[0].data, buf, n * es);
    free_result(&r2);
    free_result(&r);
    free(buf);
  }
}

static void depth_to_space_dcr_and_crd_follow_the_spec_example(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 4, DIMS(1, 8, 2, 3), iota_f(48));
  octet_attr dcr[] = {AI("blocksize", 2)};
  op_result r = RUN("DepthToSpace", 13, dcr, &x);
  EXPECT_SHAPE(&r.out[0], 4, 1, 2, 4, 6);
  const float *o = r.out[0].data;
  const float row0[] = {0, 12, 1, 13, 2, 14}, row1[] = {24, 36, 25, 37, 26, 38};
  const float c1row3[] = {33, 45, 34, 46, 35, 47};
  for (int i = 0; i < 6; i++) {
    assert_true(o[i] == row0[i]);
    assert_true(o[6 + i] == row1[i]);
    assert_true(o[24 + 18 + i] == c1row3[i]);
  }
  /* SpaceToDepth inverts DCR DepthToSpace */
  octet_tensor y = r.out[0];
  op_result back = RUN("SpaceToDepth", 13, dcr, &y);
  EXPECT_SHAPE(&back.out[0], 4, 1, 8, 2, 3);
  assert_memory_equal(back.out[0].data, x.data, 48 * 4);
  free_result(&back);
  free_result(&r);
  octet_attr crd[] = {AI("blocksize", 2), AS("mode", "CRD")};
  r = RUN("DepthToSpace", 13, crd, &x);
  o = r.out[0].data;
  const float crow0[] = {0, 6, 1, 7, 2, 8}, crow1[] = {12, 18, 13, 19, 14, 20};
  for (int i = 0; i < 6; i++) {
    assert_true(o[i] == crow0[i]);
    assert_true(o[6 + i] == crow1[i]);
  }
  free_result(&r);
  octet_attr b3[] = {AI("blocksize", 3)};
  r = RUN("DepthToSpace", 13, b3, &x);
  EXPECT_ERR(r, "not divisible by blocksize");
  free(x.data);
}

static void expand_broadcasts_both_ways(void **s) {
  octet_tensor x = TF(2, (3, 1), 1, 2, 3), sh = TI(1, (3), 2, 1, 2);
  op_result r = RUN0("Expand", 13, &x, &sh);
  EXPECT_SHAPE(&r.out[0], 3, 2, 3, 2);
  EXPECT_F(&r.out[0], 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3);
  free_result(&r);
  octet_tensor bad = TI(1, (2), 2, 1);
  r = RUN0("Expand", 13, &x, &bad);
  EXPECT_ERR(r, "cannot broadcast");
}

static void tile_repeats_each_axis_and_v1_tiles_one_axis(void **s) {
  octet_tensor x = TF(2, (2, 2), 0, 1, 2, 3), rep = TI(1, (2), 1, 2);
  op_result r = RUN0("Tile", 13, &x, &rep);
  EXPECT_SHAPE(&r.out[0], 2, 2, 4);
  EXPECT_F(&r.out[0], 0, 1, 0, 1, 2, 3, 2, 3);
  free_result(&r);
  octet_tensor tiles = TI(0, (0), 2), axis = TI(0, (0), 0);
  r = RUN0("Tile", 1, &x, &tiles, &axis);
  EXPECT_SHAPE(&r.out[0], 2, 4, 2);
  EXPECT_F(&r.out[0], 0, 1, 2, 3, 0, 1, 2, 3);
  free_result(&r);
  octet_tensor zero = TI(1, (2), 0, 3);
  r = RUN0("Tile", 13, &x, &zero);
  EXPECT_SHAPE(&r.out[0], 2, 0, 6);
  free_result(&r);
  octet_tensor short_rep = TI(1, (1), 2);
  r = RUN0("Tile", 13, &x, &short_rep);
  EXPECT_ERR(r, "repeats has 1 entries");
}

static void slice_v10_clamps_steps_backwards_and_reads_axes(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 2, DIMS(3, 4), iota_f(12));
  octet_tensor st = TI(1, (2), 1, 0), en = TI(1, (2), 1000, 3);
  op_result r = RUN0("Slice", 13, &x, &st, &en);
  EXPECT_SHAPE(&r.out[0], 2, 2, 3);
  EXPECT_F(&r.out[0], 4, 5, 6, 8, 9, 10);
  free_result(&r);
  /* axis -1 backwards with step -2 from the end: columns 3, 1 */
  octet_tensor st2 = TI(1, (1), -1), en2 = TI(1, (1), INT64_MIN), ax = TI(1, (1), -1),
               step = TI(1, (1), -2);
  r = RUN0("Slice", 13, &x, &st2, &en2, &ax, &step);
  EXPECT_SHAPE(&r.out[0], 2, 3, 2);
  EXPECT_F(&r.out[0], 3, 1, 7, 5, 11, 9);
  free_result(&r);
  /* start past end: empty */
  octet_tensor st3 = TI(1, (1), 3), en3 = TI(1, (1), 1), ax3 = TI(1, (1), 1);
  r = RUN0("Slice", 13, &x, &st3, &en3, &ax3);
  EXPECT_SHAPE(&r.out[0], 2, 3, 0);
  free_result(&r);
  octet_tensor zstep = TI(1, (1), 0);
  r = RUN0("Slice", 13, &x, &st3, &en3, &ax3, &zstep);
  EXPECT_ERR(r, "step is 0");
  octet_tensor ax4 = TI(1, (1), 2);
  r = RUN0("Slice", 13, &x, &st3, &en3, &ax4);
  EXPECT_ERR(r, "axis 2 is out of range");
  free(x.data);
}

static void slice_v1_reads_attributes(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 2, DIMS(3, 4), iota_f(12));
  octet_attr a[] = {INTS("starts", 0, 1), INTS("ends", -1, 1000), INTS("axes", 0, 1)};
  op_result r = RUN("Slice", 1, a, &x);
  EXPECT_SHAPE(&r.out[0], 2, 2, 3);
  EXPECT_F(&r.out[0], 1, 2, 3, 5, 6, 7);
  free_result(&r);
  free(x.data);
}

static void pad_constant_reflect_edge_and_negative_pads(void **s) {
  octet_tensor x = TF(2, (2, 3), 1, 2, 3, 4, 5, 6);
  octet_tensor pads = TI(1, (4), 0, 2, 1, 1), cv = TF(0, (0), 9);
  op_result r = RUN0("Pad", 13, &x, &pads, &cv);
  EXPECT_SHAPE(&r.out[0], 2, 3, 6);
  EXPECT_F(&r.out[0], 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9, 9, 9, 9, 9, 9, 9);
  free_result(&r);
  octet_attr refl[] = {AS("mode", "reflect")};
  octet_tensor p2 = TI(1, (4), 1, 2, 0, 1);
  r = RUN("Pad", 13, refl, &x, &p2);
  EXPECT_SHAPE(&r.out[0], 2, 3, 6);
  EXPECT_F(&r.out[0], 6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5);
  free_result(&r);
  octet_attr edge[] = {AS("mode", "edge")};
  r = RUN("Pad", 13, edge, &x, &p2);
  EXPECT_F(&r.out[0], 1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6);
  free_result(&r);
  octet_tensor crop = TI(1, (4), 0, -1, 0, -1);
  r = RUN0("Pad", 13, &x, &crop);
  EXPECT_SHAPE(&r.out[0], 2, 2, 1);
  EXPECT_F(&r.out[0], 2, 5);
  free_result(&r);
  octet_tensor wrong = TI(1, (2), 1, 1);
  r = RUN0("Pad", 13, &x, &wrong);
  EXPECT_ERR(r, "pads has 2 entries, expected 4");
}

static void pad_v2_reads_pads_and_value_attributes(void **s) {
  octet_tensor x = TF(1, (2), 1, 2);
  octet_attr a[] = {INTS("pads", 1, 2), AF("value", -1)};
  op_result r = RUN("Pad", 2, a, &x);
  EXPECT_F(&r.out[0], -1, 1, 2, -1, -1);
  free_result(&r);
}

/* ---- concat / split ---- */

static void concat_joins_on_negative_axis_with_empty_inputs(void **s) {
  octet_tensor a = TF(2, (2, 1), 1, 2), b = TF(2, (2, 2), 3, 4, 5, 6);
  octet_tensor e = T(OCTET_DTYPE_FLOAT, 2, DIMS(2, 0), NULL);
  octet_attr ax[] = {AI("axis", -1)};
  op_result r = RUN("Concat", 13, ax, &a, &e, &b);
  EXPECT_SHAPE(&r.out[0], 2, 2, 3);
  EXPECT_F(&r.out[0], 1, 3, 4, 2, 5, 6);
  free_result(&r);
  octet_attr ax0[] = {AI("axis", 0)};
  r = RUN("Concat", 13, ax0, &a, &b);
  EXPECT_ERR(r, "input 1 has dim 2 on axis 1, input 0 has 1");
  r = RUN0("Concat", 13, &a, &b);
  EXPECT_ERR(r, "attribute 'axis' is required");
}

static op_result run_split(int opset, const octet_attr *a, size_t na, const octet_tensor *x,
                           const octet_tensor *split, size_t n_out) {
  const octet_tensor *in[2] = {x, split};
  return run_op("Split", opset, a, na, in, split ? 2 : 1, n_out);
}

static void split_equal_attribute_input_and_uneven_v18(void **s) {
  octet_tensor x = TF(1, (6), 1, 2, 3, 4, 5, 6);
  op_result r = run_split(13, NOATTR, 0, &x, NULL, 3);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_F(&r.out[0], 1, 2);
  EXPECT_F(&r.out[2], 5, 6);
  free_result(&r);
  octet_attr a[] = {INTS("split", 2, 4)};
  r = run_split(11, a, 1, &x, NULL, 2);
  EXPECT_F(&r.out[0], 1, 2);
  EXPECT_F(&r.out[1], 3, 4, 5, 6);
  free_result(&r);
  octet_tensor sp = TI(1, (3), 1, 0, 5);
  r = run_split(13, NOATTR, 0, &x, &sp, 3);
  EXPECT_F(&r.out[0], 1);
  EXPECT_SHAPE(&r.out[1], 1, 0);
  EXPECT_F(&r.out[2], 2, 3, 4, 5, 6);
  free_result(&r);
  octet_attr n4[] = {AI("num_outputs", 4)};
  r = run_split(18, n4, 1, &x, NULL, 4);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_F(&r.out[0], 1, 2);
  EXPECT_F(&r.out[2], 5, 6);
  EXPECT_SHAPE(&r.out[3], 1, 0);
  free_result(&r);
  r = run_split(13, NOATTR, 0, &x, NULL, 4);
  EXPECT_ERR(r, "does not split evenly");
  octet_tensor bad = TI(1, (2), 1, 2);
  r = run_split(13, NOATTR, 0, &x, &bad, 2);
  EXPECT_ERR(r, "add up to 3");
}

static void split_2d_on_axis_1(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 2, DIMS(2, 4), iota_f(8));
  octet_attr a[] = {AI("axis", -1)};
  op_result r = run_split(13, a, 1, &x, NULL, 2);
  EXPECT_F(&r.out[0], 0, 1, 4, 5);
  EXPECT_F(&r.out[1], 2, 3, 6, 7);
  free_result(&r);
  free(x.data);
}

/* ---- gather / scatter ---- */

static void gather_picks_rows_and_columns_with_negative_indices(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 2, DIMS(3, 2), iota_f(6));
  octet_tensor idx = TI(2, (2, 2), 0, 1, -1, 2);
  op_result r = RUN0("Gather", 13, &x, &idx);
  EXPECT_SHAPE(&r.out[0], 3, 2, 2, 2);
  EXPECT_F(&r.out[0], 0, 1, 2, 3, 4, 5, 4, 5);
  free_result(&r);
  octet_tensor i32 = T(OCTET_DTYPE_INT32, 1, DIMS(1), I32(1));
  octet_attr ax[] = {AI("axis", 1)};
  r = RUN("Gather", 13, ax, &x, &i32);
  EXPECT_SHAPE(&r.out[0], 2, 3, 1);
  EXPECT_F(&r.out[0], 1, 3, 5);
  free_result(&r);
  octet_tensor scalar = TI(0, (0), -3);
  r = RUN0("Gather", 13, &x, &scalar);
  EXPECT_SHAPE(&r.out[0], 1, 2);
  EXPECT_F(&r.out[0], 0, 1);
  free_result(&r);
  octet_tensor oob = TI(1, (2), 0, 3);
  r = RUN0("Gather", 13, &x, &oob);
  EXPECT_ERR(r, "index 3 (element 1 of the indices) is out of range [-3, 3)");
  free_result(&r);
  octet_tensor oob2 = TI(1, (1), -4);
  r = RUN0("Gather", 13, &x, &oob2);
  EXPECT_ERR(r, "index -4");
  free_result(&r);
  free(x.data);
}

static void gather_elements_and_scatter_elements_with_reductions(void **s) {
  octet_tensor x = TF(2, (2, 2), 1, 2, 3, 4), idx = TI(2, (2, 2), 0, 0, 1, 0);
  octet_attr ax1[] = {AI("axis", 1)};
  op_result r = RUN("GatherElements", 13, ax1, &x, &idx);
  EXPECT_F(&r.out[0], 1, 1, 4, 3);
  free_result(&r);
  octet_tensor data = TF(2, (1, 5), 1, 2, 3, 4, 5), si = TI(2, (1, 2), 1, -2),
               up = TF(2, (1, 2), 1.1f, 2.1f);
  r = RUN("ScatterElements", 13, ax1, &data, &si, &up);
  EXPECT_F(&r.out[0], 1, 1.1f, 3, 2.1f, 5);
  free_result(&r);
  octet_tensor si2 = TI(2, (1, 2), 1, 1);
  octet_attr add[] = {AI("axis", 1), AS("reduction", "add")};
  r = RUN("ScatterElements", 16, add, &data, &si2, &up);
  EXPECT_F(&r.out[0], 1, 5.2f, 3, 4, 5);
  free_result(&r);
  octet_attr mul[] = {AI("axis", 1), AS("reduction", "mul")};
  r = RUN("ScatterElements", 16, mul, &data, &si2, &up);
  EXPECT_F(&r.out[0], 1, 2 * 1.1f * 2.1f, 3, 4, 5);
  free_result(&r);
  octet_tensor bad = TI(2, (1, 2), 1, 5);
  r = RUN("ScatterElements", 13, ax1, &data, &bad, &up);
  EXPECT_ERR(r, "index 5");
}

static void gather_nd_with_batch_dims_and_scatter_nd(void **s) {
  octet_tensor x = TI(3, (2, 2, 2), 0, 1, 2, 3, 4, 5, 6, 7);
  octet_tensor idx = TI(2, (2, 2), 0, 1, 1, 0);
  op_result r = RUN0("GatherND", 13, &x, &idx);
  EXPECT_SHAPE(&r.out[0], 2, 2, 2);
  EXPECT_I64(&r.out[0], 2, 3, 4, 5);
  free_result(&r);
  octet_tensor bidx = TI(2, (2, 1), 1, 0);
  octet_attr b1[] = {AI("batch_dims", 1)};
  r = RUN("GatherND", 13, b1, &x, &bidx);
  EXPECT_SHAPE(&r.out[0], 2, 2, 2);
  EXPECT_I64(&r.out[0], 2, 3, 4, 5);
  free_result(&r);
  octet_tensor data = TF(1, (8), 1, 2, 3, 4, 5, 6, 7, 8), si = TI(2, (4, 1), 4, 3, 1, 7),
               up = TF(1, (4), 9, 10, 11, 12);
  r = RUN0("ScatterND", 13, &data, &si, &up);
  EXPECT_F(&r.out[0], 1, 11, 3, 10, 9, 6, 7, 12);
  free_result(&r);
  octet_tensor dup = TI(2, (2, 1), 0, 0), up2 = TF(1, (2), 5, 6);
  octet_attr mul[] = {AS("reduction", "mul")};
  r = RUN("ScatterND", 16, mul, &data, &dup, &up2);
  EXPECT_F(&r.out[0], 30, 2, 3, 4, 5, 6, 7, 8);
  free_result(&r);
  octet_tensor oob = TI(2, (1, 1), 8), up1 = TF(1, (1), 0);
  r = RUN0("ScatterND", 13, &data, &oob, &up1);
  EXPECT_ERR(r, "index 8");
}

/* ---- select ---- */

static void trilu_upper_and_lower_with_k(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 2, DIMS(3, 3), iota_f(9)), k = TI(0, (0), 1);
  op_result r = RUN0("Trilu", 14, &x, &k);
  EXPECT_F(&r.out[0], 0, 1, 2, 0, 0, 5, 0, 0, 0);
  free_result(&r);
  octet_attr lower[] = {AI("upper", 0)};
  octet_tensor km = TI(0, (0), -1);
  r = RUN("Trilu", 14, lower, &x, &km);
  EXPECT_F(&r.out[0], 0, 0, 0, 3, 0, 0, 6, 7, 0);
  free_result(&r);
  r = RUN0("Trilu", 14, &x);
  EXPECT_F(&r.out[0], 0, 1, 2, 0, 4, 5, 0, 0, 8);
  free_result(&r);
  free(x.data);
}

static void non_zero_lists_coordinates_and_ignores_negative_zero(void **s) {
  octet_tensor x = TF(2, (2, 2), 1, 0, -0.0f, 3);
  op_result r = RUN0("NonZero", 13, &x);
  EXPECT_SHAPE(&r.out[0], 2, 2, 2);
  EXPECT_I64(&r.out[0], 0, 1, 0, 1);
  free_result(&r);
  octet_tensor z = TF(1, (2), 0, 0);
  r = RUN0("NonZero", 13, &z);
  EXPECT_SHAPE(&r.out[0], 2, 1, 0);
  free_result(&r);
}

static void one_hot_on_axis_with_negative_and_out_of_range_indices(void **s) {
  octet_tensor idx = TI(1, (3), 0, -1, 5), depth = TF(0, (0), 3), vals = TF(1, (2), 0, 1);
  op_result r = RUN0("OneHot", 11, &idx, &depth, &vals);
  EXPECT_SHAPE(&r.out[0], 2, 3, 3);
  EXPECT_F(&r.out[0], 1, 0, 0, 0, 0, 1, 0, 0, 0);
  free_result(&r);
  octet_attr a0[] = {AI("axis", 0)};
  octet_tensor v2 = TI(1, (2), 2, 7);
  r = RUN("OneHot", 11, a0, &idx, &depth, &v2);
  EXPECT_SHAPE(&r.out[0], 2, 3, 3);
  EXPECT_I64(&r.out[0], 7, 2, 2, 2, 2, 2, 2, 7, 2);
  free_result(&r);
}

static void compress_along_axis_and_flattened(void **s) {
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 2, DIMS(3, 2), iota_f(6));
  uint8_t c[] = {0, 1, 1};
  octet_tensor cond = T(OCTET_DTYPE_BOOL, 1, DIMS(3), c);
  octet_attr a[] = {AI("axis", 0)};
  op_result r = RUN("Compress", 11, a, &x, &cond);
  EXPECT_SHAPE(&r.out[0], 2, 2, 2);
  EXPECT_F(&r.out[0], 2, 3, 4, 5);
  free_result(&r);
  r = RUN0("Compress", 11, &x, &cond);
  EXPECT_SHAPE(&r.out[0], 1, 2);
  EXPECT_F(&r.out[0], 1, 2);
  free_result(&r);
  octet_attr a1[] = {AI("axis", -1)};
  r = RUN("Compress", 11, a1, &x, &cond);
  EXPECT_ERR(r, "past the axis length 2");
  free(x.data);
}

static void reverse_sequence_reverses_each_prefix(void **s) {
  /* time-major [time=3, batch=2] */
  octet_tensor x = TF(2, (3, 2), 0, 10, 1, 11, 2, 12), lens = TI(1, (2), 3, 2);
  op_result r = RUN0("ReverseSequence", 10, &x, &lens);
  EXPECT_F(&r.out[0], 2, 11, 1, 10, 0, 12);
  free_result(&r);
  octet_attr bm[] = {AI("batch_axis", 0), AI("time_axis", 1)};
  octet_tensor y = TF(2, (2, 3), 0, 1, 2, 10, 11, 12), l2 = TI(1, (2), 1, 3);
  r = RUN("ReverseSequence", 10, bm, &y, &l2);
  EXPECT_F(&r.out[0], 0, 1, 2, 12, 11, 10);
  free_result(&r);
  octet_tensor l3 = TI(1, (2), 4, 1);
  r = RUN0("ReverseSequence", 10, &x, &l3);
  EXPECT_ERR(r, "outside [0, 3]");
}

/* ---- resize ---- */

static op_result run_resize(int opset, const octet_attr *a, size_t na, const octet_tensor *x,
                            const octet_tensor *roi, const octet_tensor *scales,
                            const octet_tensor *sizes) {
  const octet_tensor *in[4] = {x, roi, scales, sizes};
  return run_op("Resize", opset, a, na, in, sizes ? 4 : 3, 1);
}

static void upsample_nearest_repeats_pixels(void **s) {
  octet_tensor x = TF(4, (1, 1, 2, 2), 1, 2, 3, 4), sc = TF(1, (4), 1, 1, 2, 3);
  octet_attr a[] = {AS("mode", "nearest")};
  op_result r = RUN("Upsample", 9, a, &x, &sc);
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 4, 6);
  EXPECT_F(&r.out[0], 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4);
  free_result(&r);
  octet_attr a7[] = {AS("mode", "nearest"), AFS("scales", F32(1, 1, 2, 3), 4)};
  r = RUN("Upsample", 7, a7, &x);
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 4, 6);
  EXPECT_F(&r.out[0], 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4);
  free_result(&r);
}

static void resize_linear_half_pixel_upsample(void **s) {
  octet_tensor x = TF(4, (1, 1, 2, 2), 1, 2, 3, 4), sc = TF(1, (4), 1, 1, 2, 2);
  octet_tensor roi = T(OCTET_DTYPE_FLOAT, 1, DIMS(0), NULL);
  octet_attr a[] = {AS("mode", "linear")};
  op_result r = run_resize(13, a, 1, &x, &roi, &sc, NULL);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 4, 4);
  EXPECT_F(&r.out[0], 1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3,
           3.25f, 3.75f, 4);
  free_result(&r);
}

static void resize_downsample_align_corners_and_nearest(void **s) {
  octet_tensor x = TF(4, (1, 1, 2, 4), 1, 2, 3, 4, 5, 6, 7, 8), sc = TF(1, (4), 1, 1, 0.6f, 0.6f);
  octet_attr ac[] = {AS("mode", "linear"), AS("coordinate_transformation_mode", "align_corners")};
  op_result r = run_resize(13, ac, 2, &x, NULL, &sc, NULL);
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 1, 2);
  EXPECT_F(&r.out[0], 1, 3.142857143f);
  free_result(&r);
  octet_attr nn[] = {AS("mode", "nearest")};
  r = run_resize(13, nn, 1, &x, NULL, &sc, NULL);
  EXPECT_F(&r.out[0], 1, 3);
  free_result(&r);
  /* sizes instead of scales; nearest on int8 moves bytes */
  int8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8};
  octet_tensor xb = T(OCTET_DTYPE_INT8, 4, DIMS(1, 1, 2, 4), b), sz = TI(1, (4), 1, 1, 1, 2);
  octet_attr asym[] = {AS("mode", "nearest"), AS("coordinate_transformation_mode", "asymmetric")};
  r = run_resize(13, asym, 2, &xb, NULL, NULL, &sz);
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 1, 2);
  assert_int_equal(((int8_t *)r.out[0].data)[0], 1);
  assert_int_equal(((int8_t *)r.out[0].data)[1], 3);
  free_result(&r);
}

static void resize_cubic_keeps_constants_and_crop_extrapolates(void **s) {
  octet_tensor x = TF(4, (1, 1, 3, 3), 5, 5, 5, 5, 5, 5, 5, 5, 5), sc = TF(1, (4), 1, 1, 1.7f, 2);
  octet_attr cu[] = {AS("mode", "cubic")};
  op_result r = run_resize(13, cu, 1, &x, NULL, &sc, NULL);
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 5, 6);
  for (int i = 0; i < 30; i++) assert_true(fabsf(((float *)r.out[0].data)[i] - 5) < 1e-5f);
  free_result(&r);
  /* roi past the image: every output is the extrapolation value */
  octet_tensor roi = TF(1, (8), 0, 0, 2, 2, 1, 1, 3, 3), sz = TI(1, (4), 1, 1, 2, 2);
  octet_attr crop[] = {AS("mode", "linear"), AS("coordinate_transformation_mode", "tf_crop_and_resize"),
                       AF("extrapolation_value", 10)};
  r = run_resize(13, crop, 3, &x, &roi, NULL, &sz);
  EXPECT_F(&r.out[0], 10, 10, 10, 10);
  free_result(&r);
  octet_attr bad[] = {AS("mode", "cubic"), AS("coordinate_transformation_mode", "sideways")};
  r = run_resize(13, bad, 2, &x, NULL, &sc, NULL);
  EXPECT_ERR(r, "unknown coordinate_transformation_mode 'sideways'");
}

/* ---- unique ---- */

static void unique_sorted_and_unsorted_with_all_outputs(void **s) {
  octet_tensor x = TF(1, (6), 2, 1, 1, 3, 4, 3);
  const octet_tensor *in[1] = {&x};
  op_result r = run_op("Unique", 11, NOATTR, 0, in, 1, 4);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_F(&r.out[0], 1, 2, 3, 4);
  EXPECT_I64(&r.out[1], 1, 0, 3, 4);
  EXPECT_I64(&r.out[2], 1, 0, 0, 2, 3, 2);
  EXPECT_I64(&r.out[3], 2, 1, 2, 1);
  free_result(&r);
  octet_attr uns[] = {AI("sorted", 0)};
  r = run_op("Unique", 11, uns, 1, in, 1, 4);
  EXPECT_F(&r.out[0], 2, 1, 3, 4);
  EXPECT_I64(&r.out[1], 0, 1, 3, 4);
  EXPECT_I64(&r.out[2], 0, 1, 1, 2, 3, 2);
  EXPECT_I64(&r.out[3], 1, 2, 2, 1);
  free_result(&r);
  /* rows along axis 0, negative spelled */
  octet_tensor m = TF(2, (3, 2), 1, 0, 0, 1, 1, 0);
  const octet_tensor *in2[1] = {&m};
  octet_attr ax[] = {AI("axis", -2)};
  r = run_op("Unique", 11, ax, 1, in2, 1, 1);
  EXPECT_SHAPE(&r.out[0], 2, 2, 2);
  EXPECT_F(&r.out[0], 0, 1, 1, 0);
  free_result(&r);
}

/* ---- detection ---- */

static void nms_suppresses_overlaps_and_respects_limits(void **s) {
  /* boxes 0 and 1 overlap with IoU 0.81; box 2 is apart */
  octet_tensor boxes = TF(3, (1, 3, 4), 0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 5, 1, 6);
  octet_tensor scores = TF(3, (1, 1, 3), 0.9f, 0.95f, 0.5f);
  octet_tensor maxo = TI(1, (1), 3), iou = TF(1, (1), 0.5f), thr = TF(1, (1), 0.6f);
  op_result r = RUN0("NonMaxSuppression", 11, &boxes, &scores, &maxo, &iou);
  EXPECT_SHAPE(&r.out[0], 2, 2, 3);
  EXPECT_I64(&r.out[0], 0, 0, 1, 0, 0, 2);
  free_result(&r);
  r = RUN0("NonMaxSuppression", 11, &boxes, &scores, &maxo, &iou, &thr);
  EXPECT_I64(&r.out[0], 0, 0, 1);
  free_result(&r);
  r = RUN0("NonMaxSuppression", 11, &boxes, &scores); /* max_output_boxes_per_class = 0 */
  EXPECT_SHAPE(&r.out[0], 2, 0, 3);
  free_result(&r);
}

static void grid_sample_bilinear_nearest_and_zero_padding(void **s) {
  octet_tensor x = TF(4, (1, 1, 2, 2), 1, 2, 3, 4);
  /* centre, top-left corner pixel centre (align_corners=0), and far outside */
  octet_tensor g = TF(4, (1, 1, 3, 2), 0, 0, -0.5f, -0.5f, 3, 3);
  op_result r = RUN0("GridSample", 16, &x, &g);
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 1, 3);
  EXPECT_F(&r.out[0], 2.5f, 1, 0);
  free_result(&r);
  octet_attr bord[] = {AS("padding_mode", "border"), AS("mode", "nearest")};
  r = RUN("GridSample", 16, bord, &x, &g);
  EXPECT_F(&r.out[0], 1, 1, 4); /* 0.5 rounds half to even (pixel 0); 3.5 -> 4 clamps to 1 */
  free_result(&r);
}

/* ---- older opset forms and empty tensors ---- */

static void older_opset_forms_read_their_attributes_and_inputs(void **s) {
  octet_tensor x = TF(4, (1, 1, 1, 4), 1, 2, 3, 4), half = TF(1, (4), 1, 1, 1, 0.5f);
  op_result r = RUN0("Resize", 10, &x, &half); /* Resize-10: scales is input 1 */
  EXPECT_SHAPE(&r.out[0], 4, 1, 1, 1, 2);
  EXPECT_F(&r.out[0], 1, 3);
  free_result(&r);
  octet_tensor v = TF(1, (4), 1, 2, 3, 4);
  octet_attr sp[] = {INTS("split", 3, 1)};
  const octet_tensor *in[1] = {&v};
  r = run_op("Split", 2, sp, 1, in, 1, 2);
  EXPECT_F(&r.out[0], 1, 2, 3);
  EXPECT_F(&r.out[1], 4);
  free_result(&r);
  octet_tensor sp_in = TI(1, (2), 1, 3);
  const octet_tensor *in1[2] = {&v, &sp_in};
  r = run_op("Split", 1, NOATTR, 0, in1, 2, 2); /* Split-1 may take split as input 1 */
  EXPECT_F(&r.out[0], 1);
  EXPECT_F(&r.out[1], 2, 3, 4);
  free_result(&r);
  octet_attr pd[] = {INTS("paddings", 1, 0), AS("mode", "edge")};
  r = RUN("Pad", 1, pd, &v);
  EXPECT_F(&r.out[0], 1, 1, 2, 3, 4);
  free_result(&r);
}

static void empty_tensors_flow_through(void **s) {
  octet_tensor e = T(OCTET_DTYPE_FLOAT, 2, DIMS(0, 3), NULL);
  octet_tensor st = TI(1, (1), 1), en = TI(1, (1), 3), ax = TI(1, (1), 1);
  op_result r = RUN0("Slice", 13, &e, &st, &en, &ax);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 2, 0, 2);
  free_result(&r);
  octet_tensor x = X23, none = T(OCTET_DTYPE_INT64, 1, DIMS(0), NULL);
  r = RUN0("Gather", 13, &x, &none);
  assert_int_equal(r.st, OCTET_OK);
  EXPECT_SHAPE(&r.out[0], 2, 0, 3);
  free_result(&r);
  octet_attr perm[] = {INTS("perm", 1, 0)};
  r = RUN("Transpose", 13, perm, &e);
  EXPECT_SHAPE(&r.out[0], 2, 3, 0);
  free_result(&r);
  octet_tensor pads = TI(1, (4), 1, 0, 0, 0);
  r = RUN0("Pad", 13, &e, &pads); /* constant padding of an empty axis is allowed */
  EXPECT_SHAPE(&r.out[0], 2, 1, 3);
  EXPECT_F(&r.out[0], 0, 0, 0);
  free_result(&r);
  octet_attr edge[] = {AS("mode", "edge")};
  r = RUN("Pad", 13, edge, &e, &pads);
  EXPECT_ERR(r, "cannot pad empty axis 0 in mode edge");
  octet_attr ax0[] = {AI("axis", 0)};
  r = RUN("Concat", 13, ax0, &e, &x, &e);
  EXPECT_SHAPE(&r.out[0], 2, 2, 3);
  EXPECT_F(&r.out[0], 0, 1, 2, 3, 4, 5);
  free_result(&r);
}

/* ---- threaded paths ---- */

/* A host that cuts [0, n) into 3 uneven chunks and runs them in reverse order. */
static void split_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  (void)ctx;
  size_t a = n / 7, b = n / 2;
  task(arg, b, n);
  task(arg, a, b);
  task(arg, 0, a);
}

static void threaded_runs_match_single_threaded_runs(void **s) {
  static const octet_host host = {.ctx = NULL, .n_threads = 3, .parallel_for = split_parallel_for};
  size_t n = 2 * 24 * 40 * 36;
  float *buf = iota_f(n);
  octet_tensor x = T(OCTET_DTYPE_FLOAT, 4, DIMS(2, 24, 40, 36), buf);
  octet_attr perm[] = {INTS("perm", 0, 2, 3, 1)};
  octet_attr ax1[] = {AI("axis", 1)};
  octet_attr lin[] = {AS("mode", "linear")};
  octet_tensor pads = TI(1, (8), 0, 1, 2, 3, 0, 1, 2, 3), idx = TI(1, (8), 3, 0, -1, 7, 7, 1, 2, -24);
  octet_tensor sc = TF(1, (4), 1, 1, 2, 1.5f);
  for (int op = 0; op < 5; op++) {
    op_result r[2];
    for (int t = 0; t < 2; t++) {
      g_host = t ? &host : NULL;
      switch (op) {
      case 0: r[t] = RUN("Transpose", 13, perm, &x); break;
      case 1: r[t] = RUN("Concat", 13, ax1, &x, &x); break;
      case 2: r[t] = RUN0("Pad", 13, &x, &pads); break;
      case 3: r[t] = RUN("Gather", 13, ax1, &x, &idx); break;
      default: r[t] = run_resize(13, lin, 1, &x, NULL, &sc, NULL);
      }
      assert_int_equal(r[t].st, OCTET_OK);
    }
    g_host = NULL;
    size_t nb = octet_tensor_nbytes(&r[0].out[0]);
    assert_true(nb >= (1u << 16)); /* large enough to take the threaded path */
    assert_memory_equal(r[0].out[0].data, r[1].out[0].data, nb);
    free_result(&r[0]);
    free_result(&r[1]);
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(reshape_copies_zero_dims_and_infers_minus_one),
    cmocka_unit_test(reshape_allowzero_keeps_literal_zero),
    cmocka_unit_test(reshape_v1_reads_the_shape_attribute),
    cmocka_unit_test(reshape_rejects_a_wrong_element_count),
    cmocka_unit_test(flatten_splits_at_axis_including_negative_and_zero),
    cmocka_unit_test(squeeze_takes_axes_from_attribute_then_input),
    cmocka_unit_test(unsqueeze_inserts_axes_of_the_output_rank),
    cmocka_unit_test(shape_and_size_report_dims_with_start_end),
    cmocka_unit_test(constant_of_shape_fills_with_value_attribute_or_zero),
    cmocka_unit_test(range_counts_ceil_and_handles_negative_delta),
    cmocka_unit_test(eye_like_puts_ones_on_the_k_diagonal),
    cmocka_unit_test(transpose_default_reverses_and_perm_is_applied),
    cmocka_unit_test(transpose_large_nchw_nhwc_matches_index_formula),
    cmocka_unit_test(depth_to_space_dcr_and_crd_follow_the_spec_example),
    cmocka_unit_test(expand_broadcasts_both_ways),
    cmocka_unit_test(tile_repeats_each_axis_and_v1_tiles_one_axis),
    cmocka_unit_test(slice_v10_clamps_steps_backwards_and_reads_axes),
    cmocka_unit_test(slice_v1_reads_attributes),
    cmocka_unit_test(pad_constant_reflect_edge_and_negative_pads),
    cmocka_unit_test(pad_v2_reads_pads_and_value_attributes),
    cmocka_unit_test(concat_joins_on_negative_axis_with_empty_inputs),
    cmocka_unit_test(split_equal_attribute_input_and_uneven_v18),
    cmocka_unit_test(split_2d_on_axis_1),
    cmocka_unit_test(gather_picks_rows_and_columns_with_negative_indices),
    cmocka_unit_test(gather_elements_and_scatter_elements_with_reductions),
    cmocka_unit_test(gather_nd_with_batch_dims_and_scatter_nd),
    cmocka_unit_test(trilu_upper_and_lower_with_k),
    cmocka_unit_test(non_zero_lists_coordinates_and_ignores_negative_zero),
    cmocka_unit_test(one_hot_on_axis_with_negative_and_out_of_range_indices),
    cmocka_unit_test(compress_along_axis_and_flattened),
    cmocka_unit_test(reverse_sequence_reverses_each_prefix),
    cmocka_unit_test(upsample_nearest_repeats_pixels),
    cmocka_unit_test(resize_linear_half_pixel_upsample),
    cmocka_unit_test(resize_downsample_align_corners_and_nearest),
    cmocka_unit_test(resize_cubic_keeps_constants_and_crop_extrapolates),
    cmocka_unit_test(unique_sorted_and_unsorted_with_all_outputs),
    cmocka_unit_test(nms_suppresses_overlaps_and_respects_limits),
    cmocka_unit_test(grid_sample_bilinear_nearest_and_zero_padding),
    cmocka_unit_test(older_opset_forms_read_their_attributes_and_inputs),
    cmocka_unit_test(empty_tensors_flow_through),
    cmocka_unit_test(threaded_runs_match_single_threaded_runs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
