/* test-quant.c — the int8 kernels against ONNX Runtime 1.30: every case of the committed fixture
 * (scripts/gen-quant-cases; OCTET_QUANT_CASES=path runs a larger hand-generated set) goes through
 * octet_ops_find() + create/infer/run and must match ORT's output bit for bit.
 *
 * Known, documented differences (the fixture stores the exact result for those cases instead):
 * ORT's u8 x s8 integer GEMM on AVX2 (vpmaddubsw) sums pairs of products in int16 with
 * saturation, so MatMulInteger/ConvInteger/QLinearMatMul/QLinearConv with full-range int8
 * weights can differ from exact integer math there (checked: every differing 2-D u8 x s8
 * MatMulInteger case equals exact math with each pair sum clamped to int16). octet computes exactly (DESIGN.md); the
 * generator keeps ORT's value when it equals the exact one and otherwise stores the exact value
 * (source "exact", counted separately below). ORT has no u8 x s8 / s8 x u8 ConvInteger kernel
 * nor per-channel ConvInteger weight zero points nor per-row MatMulInteger A zero points, and no
 * s8 x u8 QLinearMatMul/QLinearConv (all valid ONNX): those cases use a numpy reference (source
 * "numpy": exact integers, then MLAS's float32 requantization steps for the QLinear ops). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "ops/quant/requant.h"
#include "ops/registry.h"
#include "tests/ops/quant/fixture.h"

static fx_file ort_cases, node_cases;

static int load_fixture(void **state) {
  (void)state;
  if (load_file(&ort_cases, "OCTET_QUANT_CASES", "quant-cases.bin")) return -1;
  return load_file(&node_cases, NULL, "onnx-node-cases.bin");
}

static int free_fixture(void **state) {
  (void)state;
  free(ort_cases.data);
  free(node_cases.data);
  return 0;
}

/* ---- running one case ---- */

/* A host "thread pool" that hands out uneven ranges of 3, so kernels that split work through
 * octet_parallel_for are checked to give the same bytes for any split. */
static void chunked_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  (void)ctx;
  for (size_t i = 0; i < n; i += 3) task(arg, i, i + 3 < n ? i + 3 : n);
}

/* Runs case c through its kernel; returns 0 when every output matches, else prints why. */
static int run_case(const fx_case *c, bool verbose) {
  const octet_plugin *plugin = octet_ops_plugin();
  const octet_kernel *k = octet_ops_find(plugin, c->domain, c->op, c->opset);
  if (!k) {
    printf("case %u %s: no kernel\n", c->id, c->op);
    return 1;
  }
  /* The expected outputs are compared with memcmp, so their alignment does not matter. */
  int32_t dtypes[32];
  const octet_tensor *consts[32];
  const octet_tensor *ins[32];
  octet_tensor copies[32]; /* hosts pass aligned buffers; fixture bytes are packed */
  for (size_t i = 0; i < c->n_inputs; i++) {
    dtypes[i] = c->present[i] ? c->in[i].t.dtype : OCTET_DTYPE_UNDEFINED;
    copies[i] = c->in[i].t;
    copies[i].data = NULL;
    if (c->present[i]) {
      copies[i].data = malloc(c->in[i].bytes + 1);
      memcpy(copies[i].data, c->in[i].t.data, c->in[i].bytes);
    }
    consts[i] = c->present[i] && c->is_const[i] ? &copies[i] : NULL;
    ins[i] = c->present[i] ? &copies[i] : NULL;
  }
  octet_kernel_info info = {
      .node_name = "case", .domain = c->domain, .op_type = c->op, .opset = c->opset,
      .n_attrs = c->n_attrs, .attrs = c->attrs, .n_inputs = c->n_inputs,
      .input_dtypes = dtypes, .constant_inputs = consts, .n_outputs = c->n_outputs};
  int32_t out_dtypes[4] = {0};
  void *st = NULL;
  octet_error err = {0};
  int bad = 0;
  octet_tensor outs[4];
  memset(outs, 0, sizeof outs);
  size_t ws_bytes = 0;
  void *ws = NULL;
  if (k->create(&info, out_dtypes, &st, &err)) {
    printf("case %u %s: create failed: %s\n", c->id, c->op, err.message);
    bad = 1;
    goto done;
  }
  if (k->infer(st, ins, c->n_inputs, outs, c->n_outputs, &ws_bytes, &err)) {
    printf("case %u %s: infer failed: %s\n", c->id, c->op, err.message);
    bad = 1;
    goto done;
  }
  for (size_t o = 0; o < c->n_outputs; o++) {
    const octet_tensor *e = &c->out[o].t;
    /* ONNX's DynamicQuantizeLinear node tests store the scalar y_scale / y_zero_point with shape
     * [1]; the operator (and ORT) make them scalars. For those cases compare element counts. */
    bool same_shape = c->source == 3
                          ? octet_tensor_numel(&outs[o]) == octet_tensor_numel(e)
                          : outs[o].rank == e->rank && !memcmp(outs[o].dims, e->dims, 8u * (size_t)e->rank);
    if (!same_shape || out_dtypes[o] != e->dtype) {
      printf("case %u %s: output %zu shape/type differs (rank %d vs %d, dtype %d vs %d)\n", c->id,
             c->op, o, outs[o].rank, e->rank, out_dtypes[o], e->dtype);
      bad = 1;
      goto done;
    }
    outs[o].dtype = out_dtypes[o];
    outs[o].data = calloc(1, c->out[o].bytes + 1);
  }
  ws = ws_bytes ? malloc(ws_bytes) : NULL;
  octet_host host = {NULL, 4, chunked_for};
  if (k->run(st, ins, c->n_inputs, outs, c->n_outputs, ws, c->id % 2 ? &host : NULL, &err)) {
    printf("case %u %s: run failed: %s\n", c->id, c->op, err.message);
    bad = 1;
    goto done;
  }
  for (size_t o = 0; o < c->n_outputs && !bad; o++) {
    const fx_tensor *e = &c->out[o];
    if (!memcmp(outs[o].data, e->t.data, e->bytes)) continue;
    bad = 1;
    if (!verbose) break;
    size_t es = octet_dtype_size(e->t.dtype), n = e->bytes / es, shown = 0, diff = 0;
    for (size_t i = 0; i < n; i++) {
      if (!memcmp((char *)outs[o].data + i * es, (const char *)e->t.data + i * es, es)) continue;
      diff++;
      if (shown++ >= 4) continue;
      double got, want;
      octet_tensor g1 = outs[o], w1 = e->t;
      switch (e->t.dtype) {
      case OCTET_DTYPE_FLOAT: got = ((float *)g1.data)[i], want = ((const float *)w1.data)[i]; break;
      case OCTET_DTYPE_INT32: got = ((int32_t *)g1.data)[i], want = ((const int32_t *)w1.data)[i]; break;
      case OCTET_DTYPE_INT8: got = ((int8_t *)g1.data)[i], want = ((const int8_t *)w1.data)[i]; break;
      default: got = ((uint8_t *)g1.data)[i], want = ((const uint8_t *)w1.data)[i]; break;
      }
      printf("case %u %s (src %d) output %zu [%zu]: got %.9g, expected %.9g\n", c->id, c->op,
             c->source, o, i, got, want);
    }
    printf("case %u %s: %zu of %zu values differ\n", c->id, c->op, diff, n);
  }
done:
  for (size_t o = 0; o < c->n_outputs; o++) free(outs[o].data);
  for (size_t i = 0; i < c->n_inputs; i++) free(copies[i].data);
  free(ws);
  k->destroy(st);
  return bad;
}

/* Runs every case of operator `op` (NULL: all) in fx and fails on any mismatch. */
static void run_fixture(const fx_file *fx, const char *op) {
  assert_non_null(fx->data);
  fx_reader r = {fx->data + 8, fx->data + fx->size, false};
  static fx_case c;
  unsigned total = 0, failed = 0, by_src[4] = {0, 0, 0, 0};
  for (uint32_t i = 0; i < fx->count; i++) {
    assert_true(rd_case(&r, &c));
    if (op && strcmp(c.op, op)) continue;
    total++;
    by_src[c.source < 4 ? c.source : 0]++;
    if (run_case(&c, failed < 8)) failed++;
  }
  if (by_src[3]) printf("ONNX node tests: %u cases, %u mismatches\n", total, failed);
  printf("%-26s %5u cases (%u ORT, %u numpy, %u exact) %u mismatches\n", op ? op : "all", total,
         by_src[0], by_src[1], by_src[2], failed);
  assert_true(total > 0);
  assert_int_equal(failed, 0);
}

static void run_op(const char *op) { run_fixture(&ort_cases, op); }

/* test_quantizelinear*, test_dequantizelinear*, test_dynamicquantizelinear*, test_matmulinteger,
 * test_*convinteger*, test_qlinearmatmul*, test_qlinearconv of libonnx-testdata, packed by
 * scripts/gen-quant-cases/gen_node_tests.py. */
static void onnx_quantization_node_tests_pass(void **state) {
  (void)state;
  run_fixture(&node_cases, NULL);
}

#define OP_TEST(name) \
  static void name##_matches_onnxruntime(void **state) { (void)state; run_op(#name); }
OP_TEST(QuantizeLinear)
OP_TEST(DequantizeLinear)
OP_TEST(DynamicQuantizeLinear)
OP_TEST(MatMulInteger)
OP_TEST(ConvInteger)
OP_TEST(QLinearMatMul)
OP_TEST(QLinearConv)
OP_TEST(QLinearAdd)
OP_TEST(QLinearMul)
OP_TEST(QLinearGlobalAveragePool)
OP_TEST(QLinearAveragePool)
OP_TEST(QLinearConcat)
OP_TEST(QLinearLeakyRelu)
OP_TEST(QLinearSigmoid)
OP_TEST(QLinearSoftmax)
OP_TEST(QGemm)
OP_TEST(DynamicQuantizeMatMul)
OP_TEST(MatMulIntegerToFloat)

/* ---- numerics and error handling, by hand ---- */

static void quantize_rounds_half_to_even_and_saturates(void **state) {
  (void)state;
  octet_qrange u8 = octet_qrange_of(OCTET_DTYPE_UINT8), s8 = octet_qrange_of(OCTET_DTYPE_INT8);
  assert_int_equal(octet_quantize_value(2.5f, 1.0f, 0, u8), 2);
  assert_int_equal(octet_quantize_value(3.5f, 1.0f, 0, u8), 4);
  assert_int_equal(octet_quantize_value(-2.5f, 1.0f, 0, s8), -2);
  assert_int_equal(octet_quantize_value(0.5f, 1.0f, 1, u8), 1); /* round, then add zp */
  assert_int_equal(octet_quantize_value(1000.0f, 1.0f, 10, u8), 255);
  assert_int_equal(octet_quantize_value(-1000.0f, 0.5f, 10, s8), -128);
  /* divides: 0.3 / 0.1 in float is 2.99999, x * (1 / 0.1) would give 3.0000002 */
  assert_int_equal(octet_quantize_value(0.3f, 0.1f, 0, u8), 3);
}

static void requant_adds_zero_point_after_rounding(void **state) {
  (void)state;
  octet_qrange u8 = octet_qrange_of(OCTET_DTYPE_UINT8);
  assert_int_equal(octet_requant_value(1, 0.5f, 1, u8), 1);  /* 0.5 -> 0, + 1 */
  assert_int_equal(octet_requant_value(3, 0.5f, 1, u8), 3);  /* 1.5 -> 2, + 1 */
  assert_int_equal(octet_requant_value(-600, 1.0f, 100, u8), 0);
  int32_t acc[3] = {10, 20, -30}, bias[3] = {1, 1, 1};
  float sc[3] = {0.5f, 0.25f, 1.0f};
  uint8_t out[3];
  octet_requant_row(acc, bias, sc, true, 128, OCTET_DTYPE_UINT8, out, 1, 3);
  assert_int_equal(out[0], 128 + 6);  /* 11 * 0.5 = 5.5 -> 6 */
  assert_int_equal(out[1], 128 + 5);  /* 21 * 0.25 = 5.25 -> 5 */
  assert_int_equal(out[2], 128 - 29);
}

static void quantize_linear_rejects_a_zero_scale(void **state) {
  (void)state;
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", "QuantizeLinear", 13);
  assert_non_null(k);
  int32_t dts[3] = {OCTET_DTYPE_FLOAT, OCTET_DTYPE_FLOAT, OCTET_DTYPE_UINT8};
  const octet_tensor *consts[3] = {NULL, NULL, NULL};
  octet_kernel_info info = {.node_name = "q0", .domain = "", .op_type = "QuantizeLinear",
                            .opset = 13, .n_inputs = 3, .input_dtypes = dts,
                            .constant_inputs = consts, .n_outputs = 1};
  int32_t odt = 0;
  void *st = NULL;
  octet_error err = {0};
  assert_int_equal(k->create(&info, &odt, &st, &err), OCTET_OK);
  assert_int_equal(odt, OCTET_DTYPE_UINT8);
  float xv[2] = {1, 2}, sv = 0.0f;
  uint8_t zv = 0, y[2];
  octet_tensor x = {OCTET_DTYPE_FLOAT, 1, {2}, xv}, s = {OCTET_DTYPE_FLOAT, 0, {0}, &sv},
               z = {OCTET_DTYPE_UINT8, 0, {0}, &zv};
  const octet_tensor *ins[3] = {&x, &s, &z};
  octet_tensor out = {0};
  size_t ws = 0;
  assert_int_not_equal(k->infer(st, ins, 3, &out, 1, &ws, &err), OCTET_OK);
  assert_non_null(strstr(err.message, "q0"));
  assert_non_null(strstr(err.message, "scale"));
  out.data = y;
  assert_int_not_equal(k->run(st, ins, 3, &out, 1, NULL, NULL, &err), OCTET_OK);
  k->destroy(st);
  k->destroy(NULL);
}

static void u8_by_s8_conv_integer_is_exact(void **state) {
  (void)state;
  /* 255 * 127 * 2 overflows int16: an AVX2 vpmaddubsw kernel would saturate; octet must not. */
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", "ConvInteger", 10);
  assert_non_null(k);
  int32_t dts[2] = {OCTET_DTYPE_UINT8, OCTET_DTYPE_INT8};
  uint8_t xv[4] = {255, 255, 255, 255};
  int8_t wv[4] = {127, 127, 127, 127};
  octet_tensor x = {OCTET_DTYPE_UINT8, 4, {1, 4, 1, 1}, xv}, w = {OCTET_DTYPE_INT8, 4, {1, 4, 1, 1}, wv};
  const octet_tensor *consts[2] = {NULL, &w};
  octet_kernel_info info = {.node_name = "c0", .domain = "", .op_type = "ConvInteger", .opset = 10,
                            .n_inputs = 2, .input_dtypes = dts, .constant_inputs = consts,
                            .n_outputs = 1};
  int32_t odt = 0, y = 0;
  void *st = NULL;
  octet_error err = {0};
  assert_int_equal(k->create(&info, &odt, &st, &err), OCTET_OK);
  const octet_tensor *ins[2] = {&x, &w};
  octet_tensor out = {0};
  size_t ws_bytes = 0;
  assert_int_equal(k->infer(st, ins, 2, &out, 1, &ws_bytes, &err), OCTET_OK);
  void *ws = malloc(ws_bytes ? ws_bytes : 1);
  out.data = &y;
  assert_int_equal(k->run(st, ins, 2, &out, 1, ws, NULL, &err), OCTET_OK);
  assert_int_equal(y, 4 * 255 * 127);
  free(ws);
  k->destroy(st);
}


static void qlinear_matmul_names_the_node_when_inner_dimensions_differ(void **state) {
  (void)state;
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", "QLinearMatMul", 10);
  assert_non_null(k);
  int32_t dts[8] = {OCTET_DTYPE_UINT8, OCTET_DTYPE_FLOAT, OCTET_DTYPE_UINT8, OCTET_DTYPE_INT8,
                    OCTET_DTYPE_FLOAT, OCTET_DTYPE_INT8, OCTET_DTYPE_FLOAT, OCTET_DTYPE_UINT8};
  const octet_tensor *consts[8] = {0};
  octet_kernel_info info = {.node_name = "mm7", .domain = "", .op_type = "QLinearMatMul",
                            .opset = 10, .n_inputs = 8, .input_dtypes = dts,
                            .constant_inputs = consts, .n_outputs = 1};
  int32_t odt = 0;
  void *st = NULL;
  octet_error err = {0};
  assert_int_equal(k->create(&info, &odt, &st, &err), OCTET_OK);
  uint8_t a[6] = {0}, za = 0, zy = 0;
  int8_t b[6] = {0}, zb = 0;
  float one = 1.0f;
  octet_tensor A = {OCTET_DTYPE_UINT8, 2, {2, 3}, a}, B = {OCTET_DTYPE_INT8, 2, {2, 3}, b},
               s1 = {OCTET_DTYPE_FLOAT, 0, {0}, &one}, zA = {OCTET_DTYPE_UINT8, 0, {0}, &za},
               zB = {OCTET_DTYPE_INT8, 0, {0}, &zb}, zY = {OCTET_DTYPE_UINT8, 0, {0}, &zy};
  const octet_tensor *ins[8] = {&A, &s1, &zA, &B, &s1, &zB, &s1, &zY};
  octet_tensor out = {0};
  size_t ws = 0;
  assert_int_equal(k->infer(st, ins, 8, &out, 1, &ws, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "mm7"));
  assert_non_null(strstr(err.message, "inner dimensions"));
  k->destroy(st);
}

static void qlinear_conv_create_fails_cleanly_when_packing_cannot_allocate(void **state) {
  (void)state;
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", "QLinearConv", 10);
  assert_non_null(k);
  int8_t wv[2 * 3 * 3 * 3];
  memset(wv, 1, sizeof wv);
  int8_t wzv = 0;
  octet_tensor w = {OCTET_DTYPE_INT8, 4, {2, 3, 3, 3}, wv}, wz = {OCTET_DTYPE_INT8, 0, {0}, &wzv};
  int32_t dts[8] = {OCTET_DTYPE_UINT8, OCTET_DTYPE_FLOAT, OCTET_DTYPE_UINT8, OCTET_DTYPE_INT8,
                    OCTET_DTYPE_FLOAT, OCTET_DTYPE_INT8, OCTET_DTYPE_FLOAT, OCTET_DTYPE_UINT8};
  const octet_tensor *consts[8] = {NULL, NULL, NULL, &w, NULL, &wz, NULL, NULL};
  octet_kernel_info info = {.node_name = "conv3", .domain = "", .op_type = "QLinearConv",
                            .opset = 10, .n_inputs = 8, .input_dtypes = dts,
                            .constant_inputs = consts, .n_outputs = 1};
  int failures = 0;
  for (uint64_t n = 1; n <= 4; n++) {
    int32_t odt = 0;
    void *st = NULL;
    octet_error err = {0};
    octet_alloc_fail_after(n);
    octet_status status = k->create(&info, &odt, &st, &err);
    octet_alloc_fail_after(0);
    if (status == OCTET_OK) {
      k->destroy(st);
      continue;
    }
    failures++;
    assert_int_equal(status, OCTET_STATUS_OUT_OF_MEMORY);
    assert_null(st);
  }
  assert_true(failures >= 2); /* state, then the packed weights */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(quantize_rounds_half_to_even_and_saturates),
      cmocka_unit_test(requant_adds_zero_point_after_rounding),
      cmocka_unit_test(quantize_linear_rejects_a_zero_scale),
      cmocka_unit_test(u8_by_s8_conv_integer_is_exact),
      cmocka_unit_test(qlinear_matmul_names_the_node_when_inner_dimensions_differ),
      cmocka_unit_test(qlinear_conv_create_fails_cleanly_when_packing_cannot_allocate),
      cmocka_unit_test(onnx_quantization_node_tests_pass),
      cmocka_unit_test(QuantizeLinear_matches_onnxruntime),
      cmocka_unit_test(DequantizeLinear_matches_onnxruntime),
      cmocka_unit_test(DynamicQuantizeLinear_matches_onnxruntime),
      cmocka_unit_test(MatMulInteger_matches_onnxruntime),
      cmocka_unit_test(ConvInteger_matches_onnxruntime),
      cmocka_unit_test(QLinearMatMul_matches_onnxruntime),
      cmocka_unit_test(QLinearConv_matches_onnxruntime),
      cmocka_unit_test(QLinearAdd_matches_onnxruntime),
      cmocka_unit_test(QLinearMul_matches_onnxruntime),
      cmocka_unit_test(QLinearGlobalAveragePool_matches_onnxruntime),
      cmocka_unit_test(QLinearAveragePool_matches_onnxruntime),
      cmocka_unit_test(QLinearConcat_matches_onnxruntime),
      cmocka_unit_test(QLinearLeakyRelu_matches_onnxruntime),
      cmocka_unit_test(QLinearSigmoid_matches_onnxruntime),
      cmocka_unit_test(QLinearSoftmax_matches_onnxruntime),
      cmocka_unit_test(QGemm_matches_onnxruntime),
      cmocka_unit_test(DynamicQuantizeMatMul_matches_onnxruntime),
      cmocka_unit_test(MatMulIntegerToFloat_matches_onnxruntime),
  };
  return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
