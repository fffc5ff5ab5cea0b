/* test-q8-dynamic-quant.c — run-time activation quantization: every variant of
 * ops/quant/q8-dynamic-quant.h this CPU runs against the plain-C reference, bit for bit (ties at
 * .5, all-equal inputs, huge ranges, NaN and infinities, every tail length), the reference
 * against ONNX DynamicQuantizeLinear's definition, the fused quantize-and-pack against
 * quantize-then-octet_qgemm_panels_pack, and DynamicQuantizeMatMul / DynamicQuantizeLinear
 * through the registry against the reference path (OCTET_CPU mask 0). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/quant/q8-dynamic-quant.h"
#include "ops/quant/qgemm-dispatch.h"
#include "ops/quant/requant.h"
#include "ops/registry.h"

static uint64_t g_rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
  g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
  return (uint32_t)(g_rng >> 16);
}
static float rnd_f(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 1000001) / 1e6f; }

static bool variant_runs(const octet_q8_dynq *v) {
  return (octet_cpu_features() & v->cpu_features) == v->cpu_features;
}

static bool same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Input patterns the variants must agree on. */
enum { P_RANDOM, P_TIES, P_EQUAL, P_ZEROS, P_HUGE, P_POSITIVE, P_NEGATIVE, P_SPECIAL, P_TINY, P_COUNT };
static void fill(float *x, size_t n, int pattern) {
  float c = rnd_f(-3, 3);
  for (size_t i = 0; i < n; i++) {
    switch (pattern) {
    case P_RANDOM: x[i] = rnd_f(-4, 6); break;
    /* halves on an exact grid: with the power-of-two scale the tests pick, x / scale is k + 0.5 */
    case P_TIES: x[i] = ((float)(int32_t)(rnd() % 600) - 300.0f + 0.5f) * 0.125f; break;
    case P_EQUAL: x[i] = c; break;
    case P_ZEROS: x[i] = rnd() % 2 ? 0.0f : -0.0f; break;
    case P_HUGE: x[i] = rnd() % 2 ? rnd_f(1e37f, 3e38f) : -rnd_f(1e37f, 3e38f); break;
    case P_POSITIVE: x[i] = rnd_f(0.5f, 9); break;
    case P_NEGATIVE: x[i] = rnd_f(-9, -0.5f); break;
    case P_SPECIAL: {
      uint32_t r = rnd() % 8;
      x[i] = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : rnd_f(-2, 2);
      break;
    }
    default: x[i] = rnd_f(-1, 1) * 1e-40f; break; /* denormals */
    }
  }
}

static const size_t g_sizes[] = {0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 63, 64, 65, 100, 1088, 2177};

/* ---- expected values straight from the ONNX definition ---- */

static void test_reference_follows_onnx_dynamic_quantize_linear(void **state) {
  (void)state;
  float s;
  uint8_t z;
  /* range widened to include 0; zp = round(0 - min / scale) */
  const float a[] = {-1.0f, 2.0f, 0.5f};
  octet_dynamic_qparams(a, 3, &s, &z);
  assert_true(same_bits(s, 3.0f / 255.0f));
  assert_int_equal(z, 85);
  const float pos[] = {1.0f, 2.0f};
  octet_dynamic_qparams(pos, 2, &s, &z);
  assert_true(same_bits(s, 2.0f / 255.0f));
  assert_int_equal(z, 0);
  const float neg[] = {-5.1f, -2.0f};
  octet_dynamic_qparams(neg, 2, &s, &z);
  assert_true(same_bits(s, 5.1f / 255.0f));
  assert_int_equal(z, 255);
  /* all zero: scale 1, zero point 0 */
  const float zero[] = {0.0f, -0.0f};
  octet_dynamic_qparams(zero, 2, &s, &z);
  assert_true(same_bits(s, 1.0f));
  assert_int_equal(z, 0);
  /* ties round half to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -1.5 + 128 -> 126, -2.5 + 128 -> 126 */
  const float t[] = {0.5f, 1.5f, 2.5f, -1.5f, -2.5f, 300.0f, -300.0f};
  uint8_t q[7];
  octet_qu8_quantize_ref(q, t, 3, 1.0f, 0);
  assert_int_equal(q[0], 0);
  assert_int_equal(q[1], 2);
  assert_int_equal(q[2], 2);
  octet_qu8_quantize_ref(q, t, 7, 1.0f, 128);
  assert_int_equal(q[3], 126);
  assert_int_equal(q[4], 126);
  assert_int_equal(q[5], 255); /* saturates */
  assert_int_equal(q[6], 0);
  /* the packed row holds q - zp */
  int16_t d[8] = {0};
  octet_qs16_quant_rows_ref(d, 1, t, 3, 1, 3, 1.0f, 128);
  assert_int_equal(d[0], 0);
  assert_int_equal(d[1], 2);
  assert_int_equal(d[2], 2);
  assert_int_equal(d[3], 0); /* odd K: the pair's second half is 0 */
}

/* ---- each variant against the reference ---- */

static void test_minmax_and_qparams_match_reference(void **state) {
  const octet_q8_dynq *v = *state;
  if (!variant_runs(v)) skip();
  float *x = malloc(4096 * sizeof *x);
  for (int p = 0; p < P_COUNT; p++)
    for (size_t si = 0; si < OCTET_COUNTOF(g_sizes); si++)
      for (size_t off = 0; off < 3; off++) { /* unaligned starts */
        size_t n = g_sizes[si];
        fill(x, n + off, p);
        float rl, rh, gl, gh, rs, gs;
        uint8_t rz, gz;
        octet_q8_minmax_ref(x + off, n, &rl, &rh);
        v->minmax(x + off, n, &gl, &gh);
        /* equal as numbers (a zero's sign may differ), never NaN */
        if (!(rl == gl) || !(rh == gh))
          fail_msg("%s minmax pattern %d n %zu: (%g, %g), reference (%g, %g)", v->name, p, n,
                   (double)gl, (double)gh, (double)rl, (double)rh);
        octet_dynamic_qparams(x + off, n, &rs, &rz);
        octet_q8_dynq_qparams(v, x + off, n, &gs, &gz);
        if (!same_bits(rs, gs) || rz != gz)
          fail_msg("%s qparams pattern %d n %zu: scale %a zp %d, reference %a zp %d", v->name, p, n,
                   (double)gs, gz, (double)rs, rz);
      }
  free(x);
}

/* Scales and zero points to quantize with: the data's own, plus fixed ones (power-of-two scales
 * keep the tie pattern's halves exact; extreme zero points clamp every other value). */
static void pick_qparams(const float *x, size_t n, int k, float *s, int32_t *z) {
  uint8_t zz;
  switch (k) {
  case 0: octet_dynamic_qparams(x, n, s, &zz), *z = zz; break;
  case 1: *s = 0.125f, *z = 128; break;
  case 2: *s = 0.125f, *z = 0; break;
  case 3: *s = 0.25f, *z = 255; break;
  default: *s = 1e-30f, *z = (int32_t)(rnd() % 256); break;
  }
}

static void test_quantize_matches_reference(void **state) {
  const octet_q8_dynq *v = *state;
  if (!variant_runs(v)) skip();
  float *x = malloc(4096 * sizeof *x);
  uint8_t *r = malloc(4096 + 64), *g = malloc(4096 + 64);
  for (int p = 0; p < P_COUNT; p++)
    for (size_t si = 0; si < OCTET_COUNTOF(g_sizes); si++)
      for (int k = 0; k < 5; k++) {
        size_t n = g_sizes[si], off = rnd() % 3;
        fill(x, n + off, p);
        float s;
        int32_t z;
        pick_qparams(x + off, n, k, &s, &z);
        memset(r, 0xa5, n + 64), memset(g, 0xa5, n + 64);
        octet_qu8_quantize_ref(r, x + off, n, s, z);
        v->quantize(g, x + off, n, s, z);
        if (memcmp(r, g, n + 64)) {
          size_t i = 0;
          while (r[i] == g[i]) i++;
          fail_msg("%s quantize pattern %d n %zu scale %a zp %d: byte %zu is %d, reference %d (x %a)",
                   v->name, p, n, (double)s, z, i, g[i], r[i], i < n ? (double)x[off + i] : 0.0);
        }
      }
  free(x), free(r), free(g);
}

/* QuantizeLinear's int8 output through the uint8 variant (zero point + 128, top bit flipped)
 * equals the ONNX rule with the int8 range; DequantizeLinear of uint8 and int8 equals the
 * scalar rule, for every byte value and zero point corner. */
static void test_int8_quantize_and_dequantize_match_reference(void **state) {
  const octet_q8_dynq *v = *state;
  if (!variant_runs(v)) skip();
  float *x = malloc(4096 * sizeof *x), *yr = malloc(4160 * sizeof *yr), *yg = malloc(4160 * sizeof *yg);
  int8_t *q = malloc(4096 + 64);
  uint8_t *b = malloc(4096 + 64);
  octet_qrange r8 = {-128, 127};
  for (int p = 0; p < P_COUNT; p++)
    for (size_t si = 0; si < OCTET_COUNTOF(g_sizes); si++)
      for (int k = 0; k < 5; k++) {
        size_t n = g_sizes[si];
        fill(x, n, p);
        float s;
        int32_t z;
        pick_qparams(x, n, k, &s, &z);
        z -= 128; /* an int8 zero point */
        octet_qs8_quantize(v, q, x, n, s, z);
        for (size_t i = 0; i < n; i++)
          if (q[i] != octet_quantize_value(x[i], s, z, r8))
            fail_msg("%s int8 quantize n %zu scale %a zp %d: value %zu is %d, reference %d", v->name, n,
                     (double)s, z, i, q[i], octet_quantize_value(x[i], s, z, r8));
        for (size_t i = 0; i < n + 64; i++) b[i] = (uint8_t)(rnd() & 255);
        for (int sgn = 0; sgn < 2; sgn++) {
          int32_t zz = sgn ? z : z + 128;
          memset(yr, 0xa5, (n + 64) * sizeof *yr), memset(yg, 0xa5, (n + 64) * sizeof *yg);
          octet_q8_dequantize_ref(yr, b, n, s, zz, sgn);
          v->dequantize(yg, b, n, s, zz, sgn);
          if (memcmp(yr, yg, (n + 64) * sizeof *yr))
            fail_msg("%s dequantize %s n %zu scale %a zp %d differs from the reference", v->name,
                     sgn ? "int8" : "uint8", n, (double)s, zz);
        }
      }
  free(x), free(yr), free(yg), free(q), free(b);
}

static void test_quant_rows_matches_reference(void **state) {
  const octet_q8_dynq *v = *state;
  if (!variant_runs(v)) skip();
  static const size_t tiles[] = {1, 4, 6, 8};
  size_t ld = 2200;
  float *x = malloc(8 * ld * sizeof *x);
  size_t cap = 8 * 2200;
  int16_t *r = malloc(cap * sizeof *r), *g = malloc(cap * sizeof *g);
  for (int p = 0; p < P_COUNT; p++)
    for (size_t si = 0; si < OCTET_COUNTOF(g_sizes); si++)
      for (size_t ti = 0; ti < OCTET_COUNTOF(tiles); ti++) {
        size_t K = g_sizes[si], tile = tiles[ti], used = (K / 2 + 1) * tile * 2;
        /* any run of neighbouring rows inside the panel: odd and even counts, any start */
        size_t first = rnd() % tile, rows = 1 + rnd() % (tile - first);
        fill(x, rows * ld, p);
        float s;
        int32_t z;
        pick_qparams(x, K, (int)(rnd() % 5), &s, &z);
        /* sentinels in the other rows' slots must survive: threads write other rows */
        for (size_t i = 0; i < used; i++) r[i] = g[i] = (int16_t)(0x5a5a + i);
        octet_qs16_quant_rows_ref(r + first * 2, tile, x, ld, rows, K, s, z);
        v->quant_rows(g + first * 2, tile, x, ld, rows, K, s, z);
        if (memcmp(r, g, used * sizeof *r)) {
          size_t i = 0;
          while (r[i] == g[i]) i++;
          fail_msg("%s quant_rows pattern %d K %zu tile %zu rows %zu+%zu: element %zu is %d, reference %d",
                   v->name, p, K, tile, first, rows, i, g[i], r[i]);
        }
      }
  free(x), free(r), free(g);
}

/* The fused path must produce the very panels that quantizing to uint8 and packing with the
 * zero point produce, row ranges split as threads split them. */
static void test_quant_pack_equals_quantize_then_pack(void **state) {
  const octet_q8_dynq *v = *state;
  if (!variant_runs(v)) skip();
  static const size_t shapes[][2] = {{1, 1}, {1, 64}, {17, 64}, {17, 128}, {6, 7}, {13, 33}, {5, 200}, {32, 65}};
  static const size_t tiles[] = {4, 6};
  for (size_t i = 0; i < OCTET_COUNTOF(shapes); i++)
    for (size_t ti = 0; ti < OCTET_COUNTOF(tiles); ti++)
      for (int p = 0; p < P_COUNT; p++) {
        size_t M = shapes[i][0], K = shapes[i][1], tile = tiles[ti], bytes;
        assert_true(octet_qgemm_panels_size(M, K, tile, &bytes));
        float *x = malloc(M * K * sizeof *x);
        uint8_t *q = malloc(M * K);
        fill(x, M * K, p);
        float s;
        uint8_t z;
        octet_dynamic_qparams(x, M * K, &s, &z);
        octet_qu8_quantize_ref(q, x, M * K, s, z);
        void *rm = malloc(bytes), *gm = malloc(bytes);
        memset(rm, 0x77, bytes), memset(gm, 0x33, bytes);
        octet_qgemm_panels rp, gp;
        octet_qgemm_panels_pack(&rp, rm, M, K, tile, q, false, K, 1, &z, OCTET_DTYPE_UINT8, 1, 0, M);
        /* two row ranges, the first a whole number of panels */
        size_t cut = M > tile ? tile : 0;
        if (cut) octet_qs16_quant_pack(v, &gp, gm, M, K, tile, x, K, s, z, 0, cut);
        octet_qs16_quant_pack(v, &gp, gm, M, K, tile, x, K, s, z, cut, M);
        size_t n = (M + tile - 1) / tile * tile * rp.k2 * 2;
        if (memcmp(rp.data, gp.data, n * sizeof(int16_t)))
          fail_msg("%s quant_pack M %zu K %zu tile %zu pattern %d differs from quantize + pack", v->name,
                   M, K, tile, p);
        free(x), free(q), free(rm), free(gm);
      }
}

static void test_mask_zero_selects_reference(void **state) {
  (void)state;
  uint32_t prev = octet_cpu_features();
  octet_cpu_set_mask(0);
  const octet_q8_dynq *v = octet_q8_dynq_select();
  octet_cpu_set_mask(prev);
  assert_string_equal(v->name, "ref");
  const octet_q8_dynq *best = octet_q8_dynq_select();
  assert_true(variant_runs(best));
}

/* ---- whole kernels through the registry: selected variant == mask 0 ---- */

static octet_tensor make_t(int32_t dtype, int32_t rank, const int64_t *dims) {
  octet_tensor t = {.dtype = dtype, .rank = rank};
  size_t n = 1;
  for (int32_t i = 0; i < rank; i++) t.dims[i] = dims[i], n *= (size_t)dims[i];
  t.data = calloc(n * octet_dtype_size(dtype) + 1, 1);
  return t;
}

typedef struct kcase {
  const char *domain, *op;
  int opset;
  size_t n_in, n_out;
  octet_tensor in[8];
  bool is_const[8];
} kcase;

static void run_case(const kcase *c, const octet_host *host, octet_tensor *y) {
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), c->domain, c->op, c->opset);
  assert_non_null(k);
  int32_t dts[8], odt[3];
  const octet_tensor *consts[8], *ins[8];
  for (size_t i = 0; i < c->n_in; i++) {
    dts[i] = c->in[i].data ? c->in[i].dtype : OCTET_DTYPE_UNDEFINED;
    ins[i] = c->in[i].data ? &c->in[i] : NULL;
    consts[i] = c->in[i].data && c->is_const[i] ? &c->in[i] : NULL;
  }
  octet_kernel_info info = {.node_name = "dq", .domain = c->domain, .op_type = c->op, .opset = c->opset,
                            .n_inputs = c->n_in, .input_dtypes = dts, .constant_inputs = consts,
                            .n_outputs = c->n_out};
  void *st = NULL;
  octet_error err = {0};
  size_t ws = 0;
  memset(y, 0, 3 * sizeof *y);
  assert_int_equal(k->create(&info, odt, &st, &err), OCTET_OK);
  assert_int_equal(k->infer(st, ins, c->n_in, y, c->n_out, &ws, &err), OCTET_OK);
  for (size_t o = 0; o < c->n_out; o++) y[o].dtype = odt[o], y[o].data = calloc(octet_tensor_nbytes(&y[o]) + 1, 1);
  void *w = malloc(ws + 1);
  octet_status s = k->run(st, ins, c->n_in, y, c->n_out, w, host, &err);
  if (s) fail_msg("%s run: %s", c->op, err.message);
  free(w);
  k->destroy(st);
}

static void serial_chunks(void *ctx, size_t n, octet_task_fn task, void *arg) {
  size_t chunk = *(const size_t *)ctx;
  for (size_t b = 0; b < n; b += chunk) task(arg, b, b + chunk < n ? b + chunk : n);
}

static void check_case(const kcase *c, const char *what) {
  octet_tensor ref[3], got[3];
  uint32_t prev = octet_cpu_features();
  octet_cpu_set_mask(0);
  run_case(c, NULL, ref);
  octet_cpu_set_mask(prev);
  size_t chunk = 1;
  octet_host host = {.ctx = &chunk, .n_threads = 3, .parallel_for = serial_chunks};
  for (int h = 0; h < 2; h++) {
    run_case(c, h ? &host : NULL, got);
    for (size_t o = 0; o < c->n_out; o++) {
      size_t n = octet_tensor_nbytes(&ref[o]);
      assert_int_equal(n, octet_tensor_nbytes(&got[o]));
      if (memcmp(ref[o].data, got[o].data, n)) fail_msg("%s: output %zu differs from the reference path", what, o);
      free(got[o].data);
    }
  }
  for (size_t o = 0; o < c->n_out; o++) free(ref[o].data);
}

static void test_kernels_match_reference_path(void **state) {
  (void)state;
  /* batch, M, K, N: the ViT's shapes (17 tokens), GEMV, odd K, batched 3-D A */
  static const int64_t sh[][4] = {{1, 17, 64, 192}, {1, 17, 128, 64}, {1, 1, 64, 10}, {1, 5, 7, 9},
                                  {3, 13, 33, 20},  {2, 6, 65, 16},   {1, 40, 1, 3},
                                  /* large enough to split across tasks: row tiles, then columns */
                                  {4, 50, 96, 160}, {1, 1, 512, 600}};
  for (size_t i = 0; i < OCTET_COUNTOF(sh); i++)
    for (int p = 0; p < P_COUNT; p++) {
      if (p == P_HUGE || p == P_SPECIAL) continue; /* products would overflow float: not comparable */
      kcase c = {.domain = "com.microsoft", .op = "DynamicQuantizeMatMul", .opset = 1, .n_in = 5, .n_out = 1};
      int64_t ad[3] = {sh[i][0], sh[i][1], sh[i][2]}, bd[2] = {sh[i][2], sh[i][3]}, nd[1] = {sh[i][3]};
      c.in[0] = ad[0] > 1 ? make_t(OCTET_DTYPE_FLOAT, 3, ad) : make_t(OCTET_DTYPE_FLOAT, 2, ad + 1);
      fill(c.in[0].data, octet_tensor_numel(&c.in[0]), p);
      c.in[1] = make_t(p % 2 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8, 2, bd);
      for (size_t j = 0; j < octet_tensor_numel(&c.in[1]); j++) ((uint8_t *)c.in[1].data)[j] = (uint8_t)rnd();
      c.in[2] = make_t(OCTET_DTYPE_FLOAT, 1, nd);
      c.in[3] = make_t(c.in[1].dtype, 1, nd);
      c.in[4] = make_t(OCTET_DTYPE_FLOAT, 1, nd);
      for (int64_t j = 0; j < sh[i][3]; j++) {
        ((float *)c.in[2].data)[j] = rnd_f(0.001f, 0.02f);
        ((uint8_t *)c.in[3].data)[j] = (uint8_t)(p % 2 ? rnd() % 16 : 120 + rnd() % 16);
        ((float *)c.in[4].data)[j] = rnd_f(-1, 1);
      }
      for (int j = 1; j < 5; j++) c.is_const[j] = true;
      char what[96];
      snprintf(what, sizeof what, "DynamicQuantizeMatMul %lldx%lldx%lldx%lld pattern %d", (long long)sh[i][0],
               (long long)sh[i][1], (long long)sh[i][2], (long long)sh[i][3], p);
      check_case(&c, what);
      for (int j = 0; j < 5; j++) free(c.in[j].data);
    }
  for (size_t si = 0; si < OCTET_COUNTOF(g_sizes); si++)
    for (int p = 0; p < P_COUNT; p++) {
      kcase c = {.domain = "", .op = "DynamicQuantizeLinear", .opset = 11, .n_in = 1, .n_out = 3};
      int64_t d[1] = {(int64_t)g_sizes[si]};
      c.in[0] = make_t(OCTET_DTYPE_FLOAT, 1, d);
      fill(c.in[0].data, g_sizes[si], p);
      char what[96];
      snprintf(what, sizeof what, "DynamicQuantizeLinear n %zu pattern %d", g_sizes[si], p);
      check_case(&c, what);
      free(c.in[0].data);
    }
}

static void fill_bytes(octet_tensor *t) {
  for (size_t j = 0; j < octet_tensor_nbytes(t); j++) ((uint8_t *)t->data)[j] = (uint8_t)rnd();
}

/* The same task grouping and batch folding serve every int8 matmul: QLinearMatMul split across
 * tasks, and MatMulInteger with per-row A zero points (batch not folded) against mask 0. */
static void test_matmuls_match_reference_path_when_split(void **state) {
  (void)state;
  static const int64_t sh[][4] = {{1, 100, 96, 160}, {3, 40, 64, 96}, {1, 1, 700, 400}};
  for (size_t i = 0; i < OCTET_COUNTOF(sh); i++) {
    kcase c = {.domain = "", .op = "QLinearMatMul", .opset = 10, .n_in = 8, .n_out = 1};
    int64_t ad[3] = {sh[i][0], sh[i][1], sh[i][2]}, bd[2] = {sh[i][2], sh[i][3]}, one[1] = {1};
    c.in[0] = ad[0] > 1 ? make_t(OCTET_DTYPE_UINT8, 3, ad) : make_t(OCTET_DTYPE_UINT8, 2, ad + 1);
    c.in[1] = make_t(OCTET_DTYPE_FLOAT, 0, one), c.in[2] = make_t(OCTET_DTYPE_UINT8, 0, one);
    c.in[3] = make_t(OCTET_DTYPE_INT8, 2, bd);
    c.in[4] = make_t(OCTET_DTYPE_FLOAT, 0, one), c.in[5] = make_t(OCTET_DTYPE_INT8, 0, one);
    c.in[6] = make_t(OCTET_DTYPE_FLOAT, 0, one), c.in[7] = make_t(OCTET_DTYPE_UINT8, 0, one);
    fill_bytes(&c.in[0]), fill_bytes(&c.in[3]);
    ((uint8_t *)c.in[2].data)[0] = 131, ((uint8_t *)c.in[7].data)[0] = 120;
    *(float *)c.in[1].data = 0.02f, *(float *)c.in[4].data = 0.01f, *(float *)c.in[6].data = 0.5f;
    for (int j = 1; j < 8; j++) c.is_const[j] = true;
    check_case(&c, "QLinearMatMul split");
    for (int j = 0; j < 8; j++) free(c.in[j].data);
  }
  kcase c = {.domain = "", .op = "MatMulInteger", .opset = 10, .n_in = 4, .n_out = 1};
  int64_t ad[3] = {2, 5, 33}, bd[2] = {33, 20}, md[1] = {5};
  c.in[0] = make_t(OCTET_DTYPE_UINT8, 3, ad), c.in[1] = make_t(OCTET_DTYPE_UINT8, 2, bd);
  c.in[2] = make_t(OCTET_DTYPE_UINT8, 1, md), c.in[3] = make_t(OCTET_DTYPE_UINT8, 0, md);
  fill_bytes(&c.in[0]), fill_bytes(&c.in[1]), fill_bytes(&c.in[2]), fill_bytes(&c.in[3]);
  c.is_const[1] = c.is_const[2] = c.is_const[3] = true;
  check_case(&c, "MatMulInteger per-row zero points, batched");
  /* the per-row zero points are those of each matrix's rows: check one element by hand */
  octet_tensor y[3];
  run_case(&c, NULL, y);
  const uint8_t *a = c.in[0].data, *b = c.in[1].data, *za = c.in[2].data, zb = *(uint8_t *)c.in[3].data;
  int32_t want = 0;
  for (int k = 0; k < 33; k++) want += ((int32_t)a[(5 + 3) * 33 + k] - za[3]) * ((int32_t)b[k * 20 + 7] - zb);
  assert_int_equal(((int32_t *)y[0].data)[(5 + 3) * 20 + 7], want);
  free(y[0].data);
  for (int j = 0; j < 4; j++) free(c.in[j].data);
}

int main(void) {
  struct CMUnitTest t[64];
  char names[64][96];
  size_t n = 0;
  t[n++] = (struct CMUnitTest)cmocka_unit_test(test_reference_follows_onnx_dynamic_quantize_linear);
  t[n++] = (struct CMUnitTest)cmocka_unit_test(test_mask_zero_selects_reference);
  t[n++] = (struct CMUnitTest)cmocka_unit_test(test_kernels_match_reference_path);
  t[n++] = (struct CMUnitTest)cmocka_unit_test(test_matmuls_match_reference_path_when_split);
  static const struct {
    const char *what;
    void (*fn)(void **);
  } per[] = {{"minmax_and_qparams_match_reference", test_minmax_and_qparams_match_reference},
             {"quantize_matches_reference", test_quantize_matches_reference},
             {"int8_quantize_and_dequantize_match_reference", test_int8_quantize_and_dequantize_match_reference},
             {"quant_rows_matches_reference", test_quant_rows_matches_reference},
             {"quant_pack_equals_quantize_then_pack", test_quant_pack_equals_quantize_then_pack}};
  for (size_t i = 0; i < octet_q8_dynq_count(); i++)
    for (size_t j = 0; j < OCTET_COUNTOF(per) && n < 64; j++) {
      const octet_q8_dynq *v = octet_q8_dynq_at(i);
      snprintf(names[n], sizeof names[n], "%s_%s", v->name, per[j].what);
      t[n] = (struct CMUnitTest){names[n], per[j].fn, NULL, NULL, (void *)v};
      n++;
    }
  return _cmocka_run_group_tests("q8-dynamic-quant", t, n, NULL, NULL);
}
