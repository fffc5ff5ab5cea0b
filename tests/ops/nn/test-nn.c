/* test-nn.c — Conv, ConvTranspose, MatMul, Gemm and the pools through the ops table, against
 * naive direct implementations written here, on random shapes and attribute combinations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"
#include "ops/cpu.h"

static const float RTOL = 1e-4f, ATOL = 1e-4f;

/* ---- naive convolution over spatial rank nsp (<= 3), explicit pads ---- */
typedef struct cgeo {
  int nsp;
  int64_t N, C, M, G, in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
} cgeo;

static int64_t prod(const int64_t *v, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= v[i];
  return p;
}

static void naive_conv(const cgeo *g, const float *x, const float *w, const float *b, float *y) {
  int64_t Cg = g->C / g->G, Mg = g->M / g->G;
  int64_t isp = prod(g->in, g->nsp), osp = prod(g->out, g->nsp), kv = prod(g->k, g->nsp);
  for (int64_t n = 0; n < g->N; n++)
    for (int64_t m = 0; m < g->M; m++) {
      int64_t gi = m / Mg;
      for (int64_t o = 0; o < osp; o++) {
        int64_t oc[3], r = o;
        for (int i = g->nsp - 1; i >= 0; i--) {
          oc[i] = r % g->out[i];
          r /= g->out[i];
        }
        double acc = b ? b[m] : 0.0;
        for (int64_t c = 0; c < Cg; c++)
          for (int64_t t = 0; t < kv; t++) {
            int64_t kc[3], rr = t, off = 0;
            bool ok = true;
            for (int i = g->nsp - 1; i >= 0; i--) {
              kc[i] = rr % g->k[i];
              rr /= g->k[i];
            }
            for (int i = 0; i < g->nsp; i++) {
              int64_t p = oc[i] * g->s[i] - g->pb[i] + kc[i] * g->d[i];
              if (p < 0 || p >= g->in[i]) ok = false;
              off = off * g->in[i] + p;
            }
            if (!ok) continue;
            acc += (double)x[(n * g->C + gi * Cg + c) * isp + off] * w[(m * Cg + c) * kv + t];
          }
        y[(n * g->M + m) * osp + o] = (float)acc;
      }
    }
}

/* Random Conv: spatial rank, groups, dilations, strides, pads or auto_pad. */
static void conv_case(int nsp, int64_t G, int64_t Cg, int64_t Mg, int auto_pad, bool const_w,
                      bool with_bias, const octet_host *host) {
  cgeo g = {.nsp = nsp, .N = th_randi(1, 2), .G = G};
  g.C = G * Cg;
  g.M = G * Mg;
  for (int i = 0; i < nsp; i++) {
    g.k[i] = th_randi(1, 3);
    g.s[i] = th_randi(1, 2);
    g.d[i] = th_randi(1, 2);
    int64_t ext = (g.k[i] - 1) * g.d[i] + 1;
    g.in[i] = ext + th_randi(0, nsp == 3 ? 3 : 9);
    if (auto_pad == 0) {
      g.pb[i] = th_randi(0, 2);
      g.pe[i] = th_randi(0, 2);
    } else if (auto_pad == 3) {
      g.pb[i] = g.pe[i] = 0;
    } else {
      int64_t out = (g.in[i] + g.s[i] - 1) / g.s[i];
      int64_t total = (out - 1) * g.s[i] + ext - g.in[i];
      if (total < 0) total = 0;
      g.pb[i] = auto_pad == 1 ? total / 2 : total - total / 2;
      g.pe[i] = total - g.pb[i];
    }
    g.out[i] = (g.in[i] + g.pb[i] + g.pe[i] - ext) / g.s[i] + 1;
  }
  int64_t xd[5] = {g.N, g.C}, wd[5] = {g.M, Cg}, bd[1] = {g.M};
  for (int i = 0; i < nsp; i++) {
    xd[2 + i] = g.in[i];
    wd[2 + i] = g.k[i];
  }
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, nsp + 2, xd, NULL);
  octet_tensor W = th_tensor(OCTET_DTYPE_FLOAT, nsp + 2, wd, NULL);
  octet_tensor B = th_tensor(OCTET_DTYPE_FLOAT, 1, bd, NULL);
  X.data = th_random(th_numel(&X));
  W.data = th_random(th_numel(&W));
  B.data = th_random(g.M);
  th_attrs at = {0};
  int64_t pads[6];
  for (int i = 0; i < nsp; i++) {
    pads[i] = g.pb[i];
    pads[i + nsp] = g.pe[i];
  }
  th_ints(&at, "strides", g.s, (size_t)nsp);
  th_ints(&at, "dilations", g.d, (size_t)nsp);
  th_int(&at, "group", G);
  if (auto_pad == 0) th_ints(&at, "pads", pads, 2 * (size_t)nsp);
  else th_str(&at, "auto_pad", auto_pad == 1 ? "SAME_UPPER" : auto_pad == 2 ? "SAME_LOWER" : "VALID");
  if (th_randi(0, 1)) th_ints(&at, "kernel_shape", g.k, (size_t)nsp);
  const octet_tensor *ins[3] = {&X, &W, with_bias ? &B : NULL};
  bool cst[3] = {false, const_w, const_w};
  octet_tensor Y;
  octet_error err = {0};
  octet_status st = th_run("Conv", 11, &at, ins, 3, cst, &Y, 1, host, &err);
  if (st) fail_msg("Conv failed: %s", err.message);
  assert_int_equal(Y.rank, nsp + 2);
  for (int i = 0; i < nsp; i++) assert_int_equal(Y.dims[2 + i], g.out[i]);
  float *want = malloc(th_numel(&Y) * sizeof(float));
  naive_conv(&g, X.data, W.data, with_bias ? B.data : NULL, want);
  if (!th_close(Y.data, want, th_numel(&Y), RTOL, ATOL))
    fail_msg("Conv nsp=%d G=%lld Cg=%lld Mg=%lld auto_pad=%d const=%d", nsp, (long long)G,
             (long long)Cg, (long long)Mg, auto_pad, const_w);
  free(want);
  free(Y.data);
  free(X.data);
  free(W.data);
  free(B.data);
}

static void test_conv_2d_matches_naive_on_random_shapes(void **st) {
  (void)st;
  for (int i = 0; i < 40; i++)
    conv_case(2, th_randi(1, 3), th_randi(1, 9), th_randi(1, 20), i % 4, i % 3 != 0, i % 2, NULL);
}

static void test_conv_1d_and_3d_match_naive(void **st) {
  (void)st;
  for (int i = 0; i < 12; i++) {
    conv_case(1, th_randi(1, 2), th_randi(1, 5), th_randi(1, 8), i % 4, i % 2, 1, NULL);
    conv_case(3, th_randi(1, 2), th_randi(1, 3), th_randi(1, 5), i % 4, i % 2, 1, NULL);
  }
}

static void test_conv_depthwise_and_multiplier_match_naive(void **st) {
  (void)st;
  for (int i = 0; i < 20; i++) conv_case(2, th_randi(1, 24), 1, i % 3 ? 1 : 2, i % 4, i % 2, i % 3, NULL);
}

static void test_conv_portable_paths_match_naive(void **st) {
  (void)st;
  octet_cpu_set_mask(0); /* force the plain-C micro-kernel and depthwise rows */
  for (int i = 0; i < 12; i++) {
    conv_case(2, th_randi(1, 24), 1, 1, i % 4, i % 2, 1, NULL);
    conv_case(2, th_randi(1, 2), th_randi(1, 9), th_randi(1, 9), i % 4, i % 2, 1, NULL);
  }
  octet_cpu_set_mask(~0u);
}

static void test_conv_pointwise_large_channels(void **st) {
  (void)st;
  /* 1x1 stride 1: B is the input itself; many channels cross the K blocking. */
  cgeo g = {.nsp = 2, .N = 1, .C = 300, .M = 70, .G = 1, .in = {9, 11}, .k = {1, 1},
            .s = {1, 1}, .d = {1, 1}, .out = {9, 11}};
  int64_t xd[4] = {1, 300, 9, 11}, wd[4] = {70, 300, 1, 1};
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, th_random(300 * 99));
  octet_tensor W = th_tensor(OCTET_DTYPE_FLOAT, 4, wd, th_random(300 * 70));
  const octet_tensor *ins[2] = {&X, &W};
  bool cst[2] = {false, true};
  octet_tensor Y;
  octet_error err = {0};
  assert_int_equal(th_run("Conv", 11, NULL, ins, 2, cst, &Y, 1, NULL, &err), OCTET_OK);
  float *want = malloc(70 * 99 * sizeof(float));
  naive_conv(&g, X.data, W.data, NULL, want);
  assert_true(th_close(Y.data, want, 70 * 99, RTOL, 1e-3f));
  free(want);
  free(Y.data);
  free(X.data);
  free(W.data);
}

static void test_conv_wide_rows_stride_1_and_2_match_naive(void **st) {
  (void)st;
  /* Rows wide enough for the whole-panel im2col copies (stride 1 and the stride-2 shuffles). */
  for (int64_t s = 1; s <= 2; s++) {
    cgeo g = {.nsp = 2, .N = 1, .C = 3, .M = 8, .G = 1, .in = {21, 77}, .k = {3, 3},
              .s = {s, s}, .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}};
    for (int i = 0; i < 2; i++) g.out[i] = (g.in[i] + 2 - 3) / s + 1;
    int64_t xd[4] = {1, 3, 21, 77}, wd[4] = {8, 3, 3, 3}, pads[4] = {1, 1, 1, 1}, st2[2] = {s, s};
    octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, th_random(3 * 21 * 77));
    octet_tensor W = th_tensor(OCTET_DTYPE_FLOAT, 4, wd, th_random(8 * 27));
    th_attrs at = {0};
    th_ints(&at, "pads", pads, 4);
    th_ints(&at, "strides", st2, 2);
    const octet_tensor *ins[2] = {&X, &W};
    bool cst[2] = {false, true};
    octet_tensor Y;
    octet_error err = {0};
    assert_int_equal(th_run("Conv", 11, &at, ins, 2, cst, &Y, 1, NULL, &err), OCTET_OK);
    float *want = malloc(th_numel(&Y) * sizeof(float));
    naive_conv(&g, X.data, W.data, NULL, want);
    assert_true(th_close(Y.data, want, th_numel(&Y), RTOL, ATOL));
    free(want);
    free(Y.data);
    free(X.data);
    free(W.data);
  }
}

static void test_conv_same_result_for_any_thread_split(void **st) {
  (void)st;
  /* A large image (tiles split inside the GEMM) and a batch of small grouped ones (one image
   * and group per task): both bit-identical to the single-threaded result. */
  static const int64_t shapes[2][6] = {{2, 16, 23, 29, 24, 1}, {5, 8, 9, 7, 12, 2}};
  for (int c = 0; c < 2; c++) {
    const int64_t *sh = shapes[c];
    int64_t xd[4] = {sh[0], sh[1], sh[2], sh[3]}, wd[4] = {sh[4], sh[1] / sh[5], 3, 3};
    octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, NULL);
    octet_tensor W = th_tensor(OCTET_DTYPE_FLOAT, 4, wd, NULL);
    X.data = th_random(th_numel(&X));
    W.data = th_random(th_numel(&W));
    th_attrs at = {0};
    int64_t pads[4] = {1, 1, 1, 1};
    th_ints(&at, "pads", pads, 4);
    th_int(&at, "group", sh[5]);
    const octet_tensor *ins[2] = {&X, &W};
    bool cst[2] = {false, true};
    octet_tensor Y1, Y2;
    octet_error err = {0};
    assert_int_equal(th_run("Conv", 11, &at, ins, 2, cst, &Y1, 1, NULL, &err), OCTET_OK);
    th_pool pool = {5};
    octet_host host = {.ctx = &pool, .n_threads = 5, .parallel_for = th_parallel_for};
    assert_int_equal(th_run("Conv", 11, &at, ins, 2, cst, &Y2, 1, &host, &err), OCTET_OK);
    assert_memory_equal(Y1.data, Y2.data, th_numel(&Y1) * sizeof(float));
    free(Y1.data);
    free(Y2.data);
    free(X.data);
    free(W.data);
  }
}

static void test_conv_rejects_channel_mismatch(void **st) {
  (void)st;
  int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {4, 2, 3, 3};
  float x[75] = {0}, w[72] = {0};
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, x), W = th_tensor(OCTET_DTYPE_FLOAT, 4, wd, w);
  const octet_tensor *ins[2] = {&X, &W};
  octet_tensor Y;
  octet_error err = {0};
  assert_int_equal(th_run("Conv", 11, NULL, ins, 2, NULL, &Y, 1, NULL, &err),
                   OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "channels"));
}

/* ---- ConvTranspose: naive scatter ---- */
static void test_convtranspose_matches_naive(void **st) {
  (void)st;
  for (int it = 0; it < 16; it++) {
    int64_t G = th_randi(1, 2), Cg = th_randi(1, 4), Mg = th_randi(1, 5), N = th_randi(1, 2);
    int64_t in[2], k[2], s[2], d[2], pb[2], pe[2], op[2], out[2];
    for (int i = 0; i < 2; i++) {
      in[i] = th_randi(2, 7);
      k[i] = th_randi(1, 4);
      s[i] = th_randi(1, 3);
      d[i] = th_randi(1, 2);
      pb[i] = th_randi(0, 1);
      pe[i] = th_randi(0, 1);
      op[i] = s[i] > 1 ? th_randi(0, s[i] - 1) : 0;
      out[i] = s[i] * (in[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1 - pb[i] - pe[i];
      if (out[i] < 1) {
        out[i] += pb[i] + pe[i];
        pb[i] = pe[i] = 0;
      }
    }
    int64_t C = G * Cg, M = G * Mg;
    int64_t xd[4] = {N, C, in[0], in[1]}, wd[4] = {C, Mg, k[0], k[1]}, bd[1] = {M};
    octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, NULL);
    octet_tensor W = th_tensor(OCTET_DTYPE_FLOAT, 4, wd, NULL);
    octet_tensor B = th_tensor(OCTET_DTYPE_FLOAT, 1, bd, NULL);
    X.data = th_random(th_numel(&X));
    W.data = th_random(th_numel(&W));
    B.data = th_random((size_t)M);
    th_attrs at = {0};
    int64_t pads[4] = {pb[0], pb[1], pe[0], pe[1]};
    th_ints(&at, "strides", s, 2);
    th_ints(&at, "dilations", d, 2);
    th_ints(&at, "pads", pads, 4);
    th_ints(&at, "output_padding", op, 2);
    th_int(&at, "group", G);
    const octet_tensor *ins[3] = {&X, &W, &B};
    bool cst[3] = {false, it % 2 == 0, true};
    octet_tensor Y;
    octet_error err = {0};
    if (th_run("ConvTranspose", 11, &at, ins, 3, cst, &Y, 1, NULL, &err))
      fail_msg("ConvTranspose: %s", err.message);
    assert_int_equal(Y.dims[1], M);
    assert_int_equal(Y.dims[2], out[0]);
    assert_int_equal(Y.dims[3], out[1]);
    size_t ny = th_numel(&Y);
    double *acc = calloc(ny, sizeof(double));
    const float *x = X.data, *w = W.data, *b = B.data;
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t m = 0; m < Mg; m++)
          for (int64_t ih = 0; ih < in[0]; ih++)
            for (int64_t iw = 0; iw < in[1]; iw++)
              for (int64_t kh = 0; kh < k[0]; kh++)
                for (int64_t kw = 0; kw < k[1]; kw++) {
                  int64_t oh = ih * s[0] - pb[0] + kh * d[0], ow = iw * s[1] - pb[1] + kw * d[1];
                  if (oh < 0 || oh >= out[0] || ow < 0 || ow >= out[1]) continue;
                  int64_t mo = (c / Cg) * Mg + m;
                  acc[((n * M + mo) * out[0] + oh) * out[1] + ow] +=
                    (double)x[((n * C + c) * in[0] + ih) * in[1] + iw] *
                    w[((c * Mg + m) * k[0] + kh) * k[1] + kw];
                }
    float *want = malloc(ny * sizeof(float));
    for (size_t i = 0; i < ny; i++) want[i] = (float)(acc[i] + b[(i / (size_t)(out[0] * out[1])) % (size_t)M]);
    if (!th_close(Y.data, want, ny, RTOL, ATOL)) fail_msg("ConvTranspose case %d", it);
    free(acc);
    free(want);
    free(Y.data);
    free(X.data);
    free(W.data);
    free(B.data);
  }
}

static void test_convtranspose_output_shape_sets_size(void **st) {
  (void)st;
  int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 2, 3, 3};
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, th_random(9));
  octet_tensor W = th_tensor(OCTET_DTYPE_FLOAT, 4, wd, th_random(18));
  th_attrs at = {0};
  int64_t s[2] = {3, 2}, os[2] = {10, 8};
  th_ints(&at, "strides", s, 2);
  th_ints(&at, "output_shape", os, 2);
  const octet_tensor *ins[2] = {&X, &W};
  octet_tensor Y;
  octet_error err = {0};
  assert_int_equal(th_run("ConvTranspose", 11, &at, ins, 2, NULL, &Y, 1, NULL, &err), OCTET_OK);
  assert_int_equal(Y.dims[1], 2);
  assert_int_equal(Y.dims[2], 10);
  assert_int_equal(Y.dims[3], 8);
  free(Y.data);
  free(X.data);
  free(W.data);
}

/* ---- MatMul ---- */
static void matmul_case(int ra, const int64_t *da, int rb, const int64_t *db, bool const_b) {
  octet_tensor A = th_tensor(OCTET_DTYPE_FLOAT, ra, da, NULL), B = th_tensor(OCTET_DTYPE_FLOAT, rb, db, NULL);
  A.data = th_random(th_numel(&A));
  B.data = th_random(th_numel(&B));
  const octet_tensor *ins[2] = {&A, &B};
  bool cst[2] = {false, const_b};
  octet_tensor Y;
  octet_error err = {0};
  if (th_run("MatMul", 13, NULL, ins, 2, cst, &Y, 1, NULL, &err)) fail_msg("MatMul: %s", err.message);
  /* numpy semantics: promote 1-D operands, broadcast batch dims */
  int64_t M = ra == 1 ? 1 : da[ra - 2], K = da[ra - 1], N = rb == 1 ? 1 : db[rb - 1];
  int br = (ra > rb ? ra : rb) - 2;
  if (br < 0) br = 0;
  int64_t bd[8], batches = 1;
  for (int i = 0; i < br; i++) {
    int ia = i - (br - (ra - 2)), ib = i - (br - (rb - 2));
    int64_t xa = ia >= 0 && ra > 2 ? da[ia] : 1, xb = ib >= 0 && rb > 2 ? db[ib] : 1;
    bd[i] = xa > xb ? xa : xb;
    batches *= bd[i];
  }
  assert_int_equal((int64_t)th_numel(&Y), batches * M * N);
  const float *a = A.data, *b = B.data, *y = Y.data;
  for (int64_t t = 0; t < batches; t++) {
    int64_t r = t, ao = 0, bo = 0, sa = 1, sb = 1;
    for (int i = br - 1; i >= 0; i--) {
      int64_t idx = r % bd[i];
      r /= bd[i];
      int ia = i - (br - (ra - 2)), ib = i - (br - (rb - 2));
      if (ra > 2 && ia >= 0) {
        ao += (da[ia] == 1 ? 0 : idx) * sa;
        sa *= da[ia];
      }
      if (rb > 2 && ib >= 0) {
        bo += (db[ib] == 1 ? 0 : idx) * sb;
        sb *= db[ib];
      }
    }
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++)
          acc += (double)a[ao * M * K + m * K + k] * b[bo * K * N + k * N + n];
        float got = y[(t * M + m) * N + n];
        if (fabs(got - acc) > 1e-4 + 1e-4 * fabs(acc)) fail_msg("MatMul mismatch %g vs %g", got, acc);
      }
  }
  free(Y.data);
  free(A.data);
  free(B.data);
}

static void test_matmul_broadcasts_batches_and_1d_operands(void **st) {
  (void)st;
  int64_t a1[2] = {7, 19}, b1[2] = {19, 23};
  matmul_case(2, a1, 2, b1, true);
  matmul_case(2, a1, 2, b1, false);
  int64_t a2[3] = {3, 13, 40}, b2[2] = {40, 9};
  matmul_case(3, a2, 2, b2, true); /* batch folded into M */
  int64_t a3[4] = {2, 1, 5, 6}, b3[3] = {3, 6, 17};
  matmul_case(4, a3, 3, b3, true);
  matmul_case(4, a3, 3, b3, false);
  int64_t a4[1] = {33}, b4[3] = {2, 33, 4};
  matmul_case(1, a4, 3, b4, true);
  int64_t a5[3] = {4, 5, 33}, b5[1] = {33};
  matmul_case(3, a5, 1, b5, true);
  int64_t a6[1] = {8}, b6[1] = {8};
  matmul_case(1, a6, 1, b6, false);
  int64_t a7[2] = {1, 70}, b7[2] = {70, 130};
  matmul_case(2, a7, 2, b7, true);
}

/* ---- Gemm ---- */
static void gemm_case(int64_t M, int64_t N, int64_t K, bool ta, bool tb, float alpha, float beta,
                      int c_rank, const int64_t *cdims, bool const_b) {
  int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
  octet_tensor A = th_tensor(OCTET_DTYPE_FLOAT, 2, ad, th_random((size_t)(M * K)));
  octet_tensor B = th_tensor(OCTET_DTYPE_FLOAT, 2, bd, th_random((size_t)(K * N)));
  octet_tensor C = {0};
  if (c_rank >= 0) {
    C = th_tensor(OCTET_DTYPE_FLOAT, c_rank, cdims, NULL);
    C.data = th_random(th_numel(&C));
  }
  th_attrs at = {0};
  th_int(&at, "transA", ta);
  th_int(&at, "transB", tb);
  th_float(&at, "alpha", alpha);
  th_float(&at, "beta", beta);
  const octet_tensor *ins[3] = {&A, &B, c_rank >= 0 ? &C : NULL};
  bool cst[3] = {false, const_b, const_b};
  octet_tensor Y;
  octet_error err = {0};
  if (th_run("Gemm", 13, &at, ins, 3, cst, &Y, 1, NULL, &err)) fail_msg("Gemm: %s", err.message);
  const float *a = A.data, *b = B.data, *c = C.data, *y = Y.data;
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++)
        acc += (double)(ta ? a[k * M + m] : a[m * K + k]) * (tb ? b[n * K + k] : b[k * N + n]);
      double want = alpha * acc;
      if (c_rank >= 0) {
        int64_t cm = c_rank == 2 && cdims[0] != 1 ? m : 0;
        int64_t cn = c_rank >= 1 && cdims[c_rank - 1] != 1 ? n : 0;
        int64_t ld = c_rank >= 1 ? cdims[c_rank - 1] : 1;
        want += beta * c[cm * ld + cn];
      }
      if (fabs(y[m * N + n] - want) > 1e-4 + 1e-4 * fabs(want))
        fail_msg("Gemm M=%lld N=%lld K=%lld ta=%d tb=%d: %g vs %g", (long long)M, (long long)N,
                 (long long)K, ta, tb, y[m * N + n], want);
    }
  free(Y.data);
  free(A.data);
  free(B.data);
  free(C.data);
}

static void test_gemm_transposes_scales_and_broadcasts_c(void **st) {
  (void)st;
  int64_t cv[1] = {21}, cm[2] = {13, 21}, cc[2] = {13, 1}, cs[1] = {1};
  gemm_case(13, 21, 17, false, false, 1.0f, 1.0f, 1, cv, true);
  gemm_case(13, 21, 17, true, false, 0.5f, 2.0f, 2, cm, false);
  gemm_case(13, 21, 17, false, true, 1.5f, 0.25f, 2, cc, true);
  gemm_case(13, 21, 17, true, true, 1.0f, 1.0f, 0, cs, false);
  gemm_case(13, 21, 17, false, true, 1.0f, 1.0f, 1, cs, true);
  int64_t c100[1] = {100};
  gemm_case(1, 100, 64, false, true, 1.0f, 0.0f, 1, c100, true);
  gemm_case(1, 100, 64, false, true, 1.0f, 1.0f, 1, c100, true);
  gemm_case(5, 6, 7, false, false, 1.0f, 1.0f, -1, NULL, true); /* C absent (opset 11+) */
}

/* ---- Pools ---- */
static void test_maxpool_with_indices_pads_dilations_ceil(void **st) {
  (void)st;
  /* 1x1x4x5 input 0..19; 2x2 window, stride 2, ceil_mode: the last column window is partial. */
  int64_t xd[4] = {1, 1, 4, 5};
  float x[20];
  for (int i = 0; i < 20; i++) x[i] = (float)i;
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, x);
  th_attrs at = {0};
  int64_t k[2] = {2, 2}, s[2] = {2, 2};
  th_ints(&at, "kernel_shape", k, 2);
  th_ints(&at, "strides", s, 2);
  th_int(&at, "ceil_mode", 1);
  const octet_tensor *ins[1] = {&X};
  octet_tensor Y[2];
  octet_error err = {0};
  assert_int_equal(th_run("MaxPool", 12, &at, ins, 1, NULL, Y, 2, NULL, &err), OCTET_OK);
  assert_int_equal(Y[0].dims[2], 2);
  assert_int_equal(Y[0].dims[3], 3);
  const float want[6] = {6, 8, 9, 16, 18, 19};
  const int64_t widx[6] = {6, 8, 9, 16, 18, 19};
  assert_memory_equal(Y[0].data, want, sizeof want);
  assert_memory_equal(Y[1].data, widx, sizeof widx);
  free(Y[0].data);
  free(Y[1].data);
  /* storage_order = 1: column-major indices */
  th_int(&at, "storage_order", 1);
  assert_int_equal(th_run("MaxPool", 12, &at, ins, 1, NULL, Y, 2, NULL, &err), OCTET_OK);
  const int64_t cidx[6] = {1 * 4 + 1, 3 * 4 + 1, 4 * 4 + 1, 1 * 4 + 3, 3 * 4 + 3, 4 * 4 + 3};
  assert_memory_equal(Y[1].data, cidx, sizeof cidx);
  free(Y[0].data);
  free(Y[1].data);
  /* dilations 2 with pads 1: window taps -1, 1 */
  th_attrs at2 = {0};
  int64_t k2[2] = {2, 2}, d2[2] = {2, 2}, p2[4] = {1, 1, 1, 1};
  th_ints(&at2, "kernel_shape", k2, 2);
  th_ints(&at2, "dilations", d2, 2);
  th_ints(&at2, "pads", p2, 4);
  assert_int_equal(th_run("MaxPool", 12, &at2, ins, 1, NULL, Y, 1, NULL, &err), OCTET_OK);
  assert_int_equal(Y[0].dims[2], 4);
  assert_int_equal(Y[0].dims[3], 5);
  float *y = Y[0].data;
  assert_true(y[0] == 6.0f);  /* taps (-1,-1),(-1,1),(1,-1),(1,1) -> x[1][1] */
  assert_true(y[19] == 13.0f); /* (3,4): taps (2,3),(2,5),(4,3),(4,5) -> x[2][3] */
  free(Y[0].data);
}

static void test_averagepool_count_include_pad_and_same_upper(void **st) {
  (void)st;
  int64_t xd[4] = {1, 1, 3, 3};
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, x);
  th_attrs at = {0};
  int64_t k[2] = {2, 2}, p[4] = {1, 1, 1, 1};
  th_ints(&at, "kernel_shape", k, 2);
  th_ints(&at, "pads", p, 4);
  const octet_tensor *ins[1] = {&X};
  octet_tensor Y;
  octet_error err = {0};
  assert_int_equal(th_run("AveragePool", 11, &at, ins, 1, NULL, &Y, 1, NULL, &err), OCTET_OK);
  assert_int_equal(Y.dims[2], 4);
  float *y = Y.data;
  assert_float_equal(y[0], 1.0f, 1e-6);          /* only x[0][0] is inside */
  assert_float_equal(y[5], (1 + 2 + 4 + 5) / 4.0f, 1e-6);
  free(Y.data);
  th_int(&at, "count_include_pad", 1);
  assert_int_equal(th_run("AveragePool", 11, &at, ins, 1, NULL, &Y, 1, NULL, &err), OCTET_OK);
  y = Y.data;
  assert_float_equal(y[0], 0.25f, 1e-6);
  free(Y.data);
  th_attrs at2 = {0};
  th_ints(&at2, "kernel_shape", k, 2);
  th_str(&at2, "auto_pad", "SAME_UPPER");
  assert_int_equal(th_run("AveragePool", 11, &at2, ins, 1, NULL, &Y, 1, NULL, &err), OCTET_OK);
  assert_int_equal(Y.dims[2], 3);
  y = Y.data;
  assert_float_equal(y[8], 9.0f, 1e-6); /* the bottom-right window sees only x[2][2] */
  assert_float_equal(y[0], 3.0f, 1e-6);
  free(Y.data);
}

static void test_global_pools_and_lppool(void **st) {
  (void)st;
  int64_t xd[4] = {2, 3, 7, 9};
  size_t n = 2 * 3 * 63;
  float *x = th_random(n);
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, x);
  const octet_tensor *ins[1] = {&X};
  octet_tensor Ya, Ym, Yl, Yp;
  octet_error err = {0};
  assert_int_equal(th_run("GlobalAveragePool", 1, NULL, ins, 1, NULL, &Ya, 1, NULL, &err), OCTET_OK);
  assert_int_equal(th_run("GlobalMaxPool", 1, NULL, ins, 1, NULL, &Ym, 1, NULL, &err), OCTET_OK);
  assert_int_equal(th_run("GlobalLpPool", 2, NULL, ins, 1, NULL, &Yl, 1, NULL, &err), OCTET_OK);
  th_attrs at = {0};
  int64_t k[2] = {7, 9};
  th_ints(&at, "kernel_shape", k, 2);
  th_int(&at, "p", 3);
  assert_int_equal(th_run("LpPool", 11, &at, ins, 1, NULL, &Yp, 1, NULL, &err), OCTET_OK);
  assert_int_equal(Ya.rank, 4);
  assert_int_equal(Ya.dims[2], 1);
  assert_int_equal(Ya.dims[3], 1);
  for (int p = 0; p < 6; p++) {
    double s = 0, s2 = 0, s3 = 0, mx = -INFINITY;
    for (int i = 0; i < 63; i++) {
      double v = x[p * 63 + i];
      s += v;
      s2 += v * v;
      s3 += fabs(v) * fabs(v) * fabs(v);
      if (v > mx) mx = v;
    }
    assert_float_equal(((float *)Ya.data)[p], s / 63, 1e-5);
    assert_float_equal(((float *)Ym.data)[p], mx, 0);
    assert_float_equal(((float *)Yl.data)[p], sqrt(s2), 1e-4);
    assert_float_equal(((float *)Yp.data)[p], cbrt(s3), 1e-4);
  }
  free(Ya.data);
  free(Ym.data);
  free(Yl.data);
  free(Yp.data);
  free(x);
}

static void test_maxpool_3d_and_uint8(void **st) {
  (void)st;
  int64_t xd[5] = {1, 2, 4, 4, 4};
  float x[128];
  for (int i = 0; i < 128; i++) x[i] = (float)((i * 37) % 101);
  octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 5, xd, x);
  th_attrs at = {0};
  int64_t k[3] = {2, 2, 2}, s[3] = {2, 2, 2};
  th_ints(&at, "kernel_shape", k, 3);
  th_ints(&at, "strides", s, 3);
  const octet_tensor *ins[1] = {&X};
  octet_tensor Y;
  octet_error err = {0};
  assert_int_equal(th_run("MaxPool", 12, &at, ins, 1, NULL, &Y, 1, NULL, &err), OCTET_OK);
  assert_int_equal(th_numel(&Y), 16);
  for (int c = 0; c < 2; c++)
    for (int o = 0; o < 8; o++) {
      int od = o / 4, oh = (o / 2) % 2, ow = o % 2;
      float mx = -1;
      for (int t = 0; t < 8; t++) {
        int id = od * 2 + t / 4, ih = oh * 2 + (t / 2) % 2, iw = ow * 2 + t % 2;
        float v = x[c * 64 + id * 16 + ih * 4 + iw];
        if (v > mx) mx = v;
      }
      assert_true(((float *)Y.data)[c * 8 + o] == mx);
    }
  free(Y.data);
  int64_t ud[4] = {1, 1, 2, 2};
  uint8_t u[4] = {3, 250, 7, 9};
  octet_tensor U = th_tensor(OCTET_DTYPE_UINT8, 4, ud, u);
  th_attrs a2 = {0};
  int64_t k2[2] = {2, 2};
  th_ints(&a2, "kernel_shape", k2, 2);
  const octet_tensor *ins2[1] = {&U};
  assert_int_equal(th_run("MaxPool", 12, &a2, ins2, 1, NULL, &Y, 1, NULL, &err), OCTET_OK);
  assert_int_equal(Y.dtype, OCTET_DTYPE_UINT8);
  assert_int_equal(((uint8_t *)Y.data)[0], 250);
  free(Y.data);
}

/* Random 2-D int8/uint8 max pools: without Indices they run the vectorized int8 row kernels,
 * with Indices the plain window loop; the values must be the same bytes. */
/* A random 2-D pool: kernel, strides, dilations (set on even iterations), pads, ceil_mode (on
 * iterations with it % 3 == ceil_at) into *at, and an input size that fits. */
typedef struct pool2d {
  int64_t k[2], s[2], d[2], p[4], in[2];
} pool2d;

static pool2d random_pool_2d(int it, int ceil_at, int64_t extra, th_attrs *at) {
  pool2d g;
  for (int i = 0; i < 2; i++) {
    g.k[i] = th_randi(1, 4);
    g.s[i] = th_randi(1, 3);
    g.d[i] = it % 2 ? 1 : th_randi(1, 2);
    g.p[i] = th_randi(0, g.k[i] / 2);
    g.p[i + 2] = th_randi(0, g.k[i] / 2);
    g.in[i] = (g.k[i] - 1) * g.d[i] + 1 + th_randi(0, extra);
  }
  *at = (th_attrs){0};
  th_ints(at, "kernel_shape", g.k, 2);
  th_ints(at, "strides", g.s, 2);
  th_ints(at, "pads", g.p, 4);
  th_int(at, "ceil_mode", it % 3 == ceil_at);
  if (it % 2 == 0) th_ints(at, "dilations", g.d, 2);
  return g;
}

static void test_int8_maxpool_rows_match_window_loop(void **st) {
  (void)st;
  for (int it = 0; it < 60; it++) {
    th_attrs at;
    pool2d g = random_pool_2d(it, 1, 70, &at);
    const int64_t *in = g.in;
    int32_t dt = it % 3 == 0 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
    size_t n = (size_t)(6 * in[0] * in[1]);
    uint8_t *xb = malloc(n);
    for (size_t i = 0; i < n; i++) xb[i] = (uint8_t)th_randi(0, 255);
    int64_t xd[4] = {2, 3, in[0], in[1]};
    octet_tensor X = th_tensor(dt, 4, xd, xb);
    const octet_tensor *ins[1] = {&X};
    octet_tensor Y1[2], Y2[1];
    octet_error err = {0};
    assert_int_equal(th_run("MaxPool", 12, &at, ins, 1, NULL, Y1, 2, NULL, &err), OCTET_OK);
    assert_int_equal(th_run("MaxPool", 12, &at, ins, 1, NULL, Y2, 1, NULL, &err), OCTET_OK);
    assert_int_equal(Y2[0].dtype, dt);
    assert_memory_equal(Y1[0].data, Y2[0].data, th_numel(&Y1[0]));
    free(Y1[0].data);
    free(Y1[1].data);
    free(Y2[0].data);
    free(xb);
  }
}

/* Random 2-D pools: MaxPool with Indices (window loop) must equal MaxPool without (row
 * kernels); AveragePool must equal a naive mean, with and without count_include_pad. */
static void test_pools_random_2d_match_naive(void **st) {
  (void)st;
  for (int it = 0; it < 30; it++) {
    th_attrs at;
    pool2d g = random_pool_2d(it, 0, 40, &at);
    const int64_t *k = g.k, *s = g.s, *p = g.p, *in = g.in;
    int64_t xd[4] = {2, 3, in[0], in[1]};
    octet_tensor X = th_tensor(OCTET_DTYPE_FLOAT, 4, xd, th_random((size_t)(6 * in[0] * in[1])));
    const octet_tensor *ins[1] = {&X};
    octet_tensor Y1[2], Y2[1], Ya;
    octet_error err = {0};
    assert_int_equal(th_run("MaxPool", 12, &at, ins, 1, NULL, Y1, 2, NULL, &err), OCTET_OK);
    assert_int_equal(th_run("MaxPool", 12, &at, ins, 1, NULL, Y2, 1, NULL, &err), OCTET_OK);
    assert_memory_equal(Y1[0].data, Y2[0].data, th_numel(&Y1[0]) * sizeof(float));
    const float *x = X.data;
    for (size_t i = 0; i < th_numel(&Y1[0]); i++) /* the index points at the maximum */
      assert_true(x[((int64_t *)Y1[1].data)[i]] == ((float *)Y1[0].data)[i]);
    if (it % 2) {
      th_int(&at, "count_include_pad", it % 4 == 1);
      assert_int_equal(th_run("AveragePool", 11, &at, ins, 1, NULL, &Ya, 1, NULL, &err), OCTET_OK);
      int64_t OH = Ya.dims[2], OW = Ya.dims[3];
      const float *y = Ya.data;
      for (int64_t pl = 0; pl < 6; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
          for (int64_t ow = 0; ow < OW; ow++) {
            double sum = 0;
            int64_t n = 0, hs = oh * s[0] - p[0], ws = ow * s[1] - p[1];
            for (int64_t a = 0; a < k[0]; a++)
              for (int64_t b = 0; b < k[1]; b++) {
                int64_t ih = hs + a, iw = ws + b;
                if (ih >= 0 && ih < in[0] && iw >= 0 && iw < in[1]) {
                  sum += x[(pl * in[0] + ih) * in[1] + iw];
                  n++;
                }
              }
            if (it % 4 == 1) {
              int64_t he = hs + k[0] < in[0] + p[2] ? hs + k[0] : in[0] + p[2];
              int64_t we = ws + k[1] < in[1] + p[3] ? ws + k[1] : in[1] + p[3];
              n = (he - hs) * (we - ws);
            }
            assert_float_equal(y[(pl * OH + oh) * OW + ow], sum / (double)n, 1e-5);
          }
      free(Ya.data);
    }
    free(Y1[0].data);
    free(Y1[1].data);
    free(Y2[0].data);
    free(X.data);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_conv_2d_matches_naive_on_random_shapes),
    cmocka_unit_test(test_conv_1d_and_3d_match_naive),
    cmocka_unit_test(test_conv_depthwise_and_multiplier_match_naive),
    cmocka_unit_test(test_conv_portable_paths_match_naive),
    cmocka_unit_test(test_conv_pointwise_large_channels),
    cmocka_unit_test(test_conv_wide_rows_stride_1_and_2_match_naive),
    cmocka_unit_test(test_conv_same_result_for_any_thread_split),
    cmocka_unit_test(test_conv_rejects_channel_mismatch),
    cmocka_unit_test(test_convtranspose_matches_naive),
    cmocka_unit_test(test_convtranspose_output_shape_sets_size),
    cmocka_unit_test(test_matmul_broadcasts_batches_and_1d_operands),
    cmocka_unit_test(test_gemm_transposes_scales_and_broadcasts_c),
    cmocka_unit_test(test_maxpool_with_indices_pads_dilations_ceil),
    cmocka_unit_test(test_averagepool_count_include_pad_and_same_upper),
    cmocka_unit_test(test_global_pools_and_lppool),
    cmocka_unit_test(test_maxpool_3d_and_uint8),
    cmocka_unit_test(test_int8_maxpool_rows_match_window_loop),
    cmocka_unit_test(test_pools_random_2d_match_naive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
