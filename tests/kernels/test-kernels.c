/* test-kernels.c — the int8 kernel tester (dav1d checkasm style): every micro-kernel variant
 * in qgemm-dispatch.c's list that this CPU runs is compared bit for bit with the reference
 * (octet_qgemm_ref + octet_requant_row, or a direct convolution loop) on random inputs over
 * edge shapes; variants the CPU (or OCTET_CPU_MASK) lacks are reported as skipped. Built with
 * cmocka, or with -DOCTET_KT_STANDALONE as a plain program (cross-compiled ARM runs under qemu). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/quant/qgemm-dispatch.h"
#include "ops/quant/qgemm.h"
#include "ops/quant/requant.h"

#ifdef OCTET_KT_STANDALONE
static int kt_status; /* 0 ok, 1 failed, 2 skipped */
#define KT_FAIL(...)                 \
  do {                               \
    printf("    " __VA_ARGS__);      \
    printf("\n");                    \
    kt_status = 1;                   \
    return;                          \
  } while (0)
#define KT_SKIP()    \
  do {               \
    kt_status = 2;   \
    return;          \
  } while (0)
#else
#include <setjmp.h>
#include <cmocka.h>
#define KT_FAIL(...)         \
  do {                       \
    print_error(__VA_ARGS__); \
    print_error("\n");       \
    fail();                  \
  } while (0)
#define KT_SKIP() skip()
#endif

/* ---- random numbers (fixed seed: a failure reproduces) ---- */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
  return (uint32_t)(g_rng >> 16);
}
static size_t rnd_of(const size_t *v, size_t n) { return v[rnd() % n]; }

/* Fills n bytes: random, or a saturation corner (every byte the type's min or max). */
static void fill_q8(uint8_t *p, size_t n, bool is_signed, int mode) {
  for (size_t i = 0; i < n; i++) {
    if (mode == 0) p[i] = (uint8_t)rnd();
    else if (mode == 1) p[i] = is_signed ? (uint8_t)(int8_t)-128 : 0;
    else p[i] = is_signed ? 127 : 255;
  }
}
static int32_t zp_of(bool is_signed, int which) {
  static const int32_t u[3] = {0, 128, 255}, s[3] = {-128, 0, 127};
  return is_signed ? s[which] : u[which];
}

static bool variant_runs(const octet_qgemm_ukernel *u) {
  return (octet_cpu_features() & u->cpu_features) == u->cpu_features;
}

/* ---- GEMM: A (M x K) x B (K x N) through every epilogue ---- */

typedef struct gemm_case {
  size_t M, N, K;
  bool a_signed, b_signed;
  int32_t za;
  int32_t zb[80];
  size_t n_zb;
  int kind, out_dtype;
  bool per_col_scale, per_row_params, bias;
} gemm_case;

static const size_t k_edges[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 15, 16, 17, 23, 31, 32, 33, 47, 48, 63, 64, 65, 67};

static int run_gemm_case(const octet_qgemm_ukernel *u, const gemm_case *c, int amode, int bmode,
                         char *why, size_t why_n) {
  size_t M = c->M, N = c->N, K = c->K;
  uint8_t *a = malloc(M * K + 1), *b = malloc(K * N + 1);
  int8_t zb8[80];
  fill_q8(a, M * K, c->a_signed, amode);
  fill_q8(b, K * N, c->b_signed, bmode);
  for (size_t i = 0; i < c->n_zb; i++) zb8[i] = (int8_t)c->zb[i];
  /* reference */
  size_t rbytes;
  octet_qgemm_packed_size(K, N, &rbytes);
  void *rmem = malloc(rbytes + 16);
  octet_qgemm_packed rp;
  octet_qgemm_pack(&rp, rmem, K, N, b, c->b_signed, N, 1, zb8, c->b_signed, c->n_zb);
  int32_t *acc = malloc(M * N * sizeof(int32_t));
  octet_qgemm_ref(M, a, c->a_signed, K, &c->za, false, &rp, acc, N);
  /* epilogue parameters: per column (matmul) or per row (convolution) */
  size_t np = c->per_row_params ? M : N;
  float *scale = malloc(np * sizeof(float)), *fb = malloc(N * sizeof(float));
  int32_t *bias = malloc(np * sizeof(int32_t));
  for (size_t i = 0; i < np; i++) {
    scale[i] = (float)(rnd() % 1000 + 1) * 1e-5f;
    bias[i] = (int32_t)(rnd() % 200001) - 100000;
    if (rnd() % 16 == 0) bias[i] = INT32_MAX - (int32_t)(rnd() % 1000); /* wraps */
  }
  for (size_t i = 0; i < N; i++) fb[i] = (float)(int32_t)(rnd() % 2001 - 1000) * 0.01f;
  size_t osz = c->kind == OCTET_QEPI_Q8 ? 1 : 4;
  uint8_t *ref = calloc(M * N, osz), *got = calloc(M * N, osz);
  octet_qrange r = octet_qrange_of(c->out_dtype);
  int32_t yzp = c->out_dtype == OCTET_DTYPE_INT8 ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
  for (size_t m = 0; m < M; m++) {
    for (size_t n = 0; n < N; n++) {
      size_t pi = c->per_row_params ? m : n;
      int32_t v = acc[m * N + n];
      if (c->bias) v = (int32_t)((uint32_t)v + (uint32_t)bias[pi]);
      float s = scale[c->per_row_params || c->per_col_scale ? pi : 0];
      if (c->kind == OCTET_QEPI_I32) {
        ((int32_t *)ref)[m * N + n] = v;
      } else if (c->kind == OCTET_QEPI_Q8) {
        octet_q8_store(ref, m * N + n, c->out_dtype, octet_requant_value(v, s, yzp, r));
      } else {
        float f = (float)v * s;
        ((float *)ref)[m * N + n] = c->bias ? f : f + fb[n];
      }
    }
  }
  if (c->kind == OCTET_QEPI_Q8 && !c->per_row_params)
    /* and the reference epilogue itself, where its shape applies */
    for (size_t m = 0; m < M; m++) {
      int32_t *row = acc + m * N;
      uint8_t tmp[80];
      octet_requant_row(row, c->bias ? bias : NULL, scale, c->per_col_scale, yzp, c->out_dtype, tmp, 1, N);
      if (memcmp(tmp, ref + m * N, N)) {
        snprintf(why, why_n, "tester's formula differs from octet_requant_row");
        return 1;
      }
    }
  /* the variant */
  size_t abytes, bbytes;
  octet_qgemm_size(u, M, K, false, &abytes);
  octet_qgemm_size(u, N, K, true, &bbytes);
  void *amem = malloc(abytes), *bmem = malloc(bbytes);
  octet_qgemm_panels ap, bp;
  /* A packed in two row ranges, B whole: packing must compose */
  size_t split = (M / u->mr / 2) * u->mr;
  if (split) octet_qgemm_pack_a(u, &ap, amem, M, K, a, c->a_signed, K, 1, &c->za, OCTET_DTYPE_INT32, 1, 0, split);
  octet_qgemm_pack_a(u, &ap, amem, M, K, a, c->a_signed, K, 1, &c->za, OCTET_DTYPE_INT32, 1, split, M);
  /* int8 B panels where the variant takes them and the values fit; int16 otherwise */
  if (u->fmt != OCTET_QFMT_I16X2 || rnd() % 2)
    octet_qgemm_pack_b(u, &bp, bmem, N, K, b, c->b_signed, 1, N, c->zb, OCTET_DTYPE_INT32, c->n_zb);
  else
    octet_qgemm_panels_pack(&bp, bmem, N, K, u->nr, b, c->b_signed, 1, N, c->zb, OCTET_DTYPE_INT32, c->n_zb, 0, N);
  octet_qgemm_epi ep = {.kind = c->kind, .zp = yzp, .out_dtype = c->out_dtype, .out = got, .ldo = N};
  if (c->bias && c->kind != OCTET_QEPI_F32) {
    ep.bias = bias;
    ep.bias_rs = c->per_row_params, ep.bias_cs = !c->per_row_params;
  }
  if (c->bias && c->kind == OCTET_QEPI_F32) {
    /* F32 with an int32 bias is QGemm's form; without, MatMulIntegerToFloat's float bias */
    ep.bias = bias;
    ep.bias_rs = c->per_row_params, ep.bias_cs = !c->per_row_params;
  } else if (c->kind == OCTET_QEPI_F32) {
    ep.fbias = fb;
  }
  ep.scale = scale;
  ep.scale_rs = c->per_row_params;
  ep.scale_cs = !c->per_row_params && c->per_col_scale;
  /* computed as random tile-aligned blocks: any split must give the same bits */
  size_t mb = (rnd() % 3 + 1) * u->mr, nb = (rnd() % 3 + 1) * u->nr;
  for (size_t m0 = 0; m0 < M; m0 += mb)
    for (size_t n0 = 0; n0 < N; n0 += nb)
      u->compute(&ap, &bp, m0, m0 + mb < M ? m0 + mb : M, n0, n0 + nb < N ? n0 + nb : N, &ep);
  int bad = memcmp(ref, got, M * N * osz) != 0;
  if (bad) {
    for (size_t i = 0; i < M * N; i++)
      if (memcmp(ref + i * osz, got + i * osz, osz)) {
        snprintf(why, why_n, "element (%zu, %zu) differs", i / N, i % N);
        break;
      }
  }
  free(a), free(b), free(rmem), free(acc), free(scale), free(fb), free(bias), free(ref), free(got);
  free(amem), free(bmem);
  return bad;
}

static void test_gemm(void **state) {
  const octet_qgemm_ukernel *u = *state;
  if (!variant_runs(u)) KT_SKIP();
  static const int kinds[3] = {OCTET_QEPI_I32, OCTET_QEPI_Q8, OCTET_QEPI_F32};
  for (int it = 0; it < 600; it++) {
    gemm_case c = {0};
    c.M = rnd_of(k_edges, OCTET_COUNTOF(k_edges));
    c.N = rnd_of(k_edges, OCTET_COUNTOF(k_edges));
    c.K = rnd_of(k_edges, OCTET_COUNTOF(k_edges));
    int types = it % 4; /* u8 x s8, u8 x u8, s8 x s8, s8 x u8 */
    c.a_signed = types >= 2, c.b_signed = types == 0 || types == 2;
    c.za = zp_of(c.a_signed, (int)(rnd() % 3));
    c.n_zb = rnd() % 2 ? 1 : c.N;
    for (size_t i = 0; i < c.n_zb; i++) c.zb[i] = zp_of(c.b_signed, (int)(rnd() % 3));
    c.kind = kinds[(it / 4) % 3];
    c.out_dtype = rnd() % 2 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
    c.per_col_scale = rnd() % 2, c.per_row_params = rnd() % 3 == 0, c.bias = rnd() % 2;
    int amode = it % 7 == 5 ? 1 + (int)(rnd() % 2) : 0, bmode = it % 5 == 3 ? 1 + (int)(rnd() % 2) : 0;
    char why[160] = "";
    if (run_gemm_case(u, &c, amode, bmode, why, sizeof why))
      KT_FAIL("%s: M=%zu N=%zu K=%zu a%s b%s za=%d n_zb=%zu kind=%d out=%s per_col=%d per_row=%d "
              "bias=%d modes=%d/%d: %s",
              u->name, c.M, c.N, c.K, c.a_signed ? "s8" : "u8", c.b_signed ? "s8" : "u8", c.za,
              c.n_zb, c.kind, c.out_dtype == OCTET_DTYPE_INT8 ? "s8" : "u8", c.per_col_scale,
              c.per_row_params, c.bias, amode, bmode, why);
  }
}

/* ---- convolution on channel-pair planes, and depthwise: against a direct loop ---- */

typedef struct conv_case {
  size_t cg, mg, ih, iw, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool x_signed, w_signed, per_ch;
  int32_t zx, zw[64], zy;
  int out_dtype;
} conv_case;

/* Direct convolution of one output element, int32 wrapping like the reference. */
static int32_t conv_direct(const conv_case *c, const uint8_t *x, const uint8_t *w, size_t m,
                           size_t oy, size_t ox) {
  uint32_t acc = 0;
  for (size_t ch = 0; ch < c->cg; ch++)
    for (size_t ky = 0; ky < c->kh; ky++)
      for (size_t kx = 0; kx < c->kw; kx++) {
        int64_t iy = (int64_t)(oy * c->sh + ky * c->dh) - (int64_t)c->pt;
        int64_t ix = (int64_t)(ox * c->sw + kx * c->dw) - (int64_t)c->pl;
        int32_t xv = c->zx;
        if (iy >= 0 && iy < (int64_t)c->ih && ix >= 0 && ix < (int64_t)c->iw) {
          uint8_t raw = x[(ch * c->ih + (size_t)iy) * c->iw + (size_t)ix];
          xv = c->x_signed ? (int8_t)raw : raw;
        }
        uint8_t wr = w[((m * c->cg + ch) * c->kh + ky) * c->kw + kx];
        int32_t wv = c->w_signed ? (int8_t)wr : wr;
        acc += (uint32_t)((xv - c->zx) * (wv - c->zw[c->per_ch ? m : 0]));
      }
  return (int32_t)acc;
}

static void random_conv(conv_case *c, bool depthwise) {
  static const size_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 19, 31, 33};
  memset(c, 0, sizeof *c);
  c->cg = depthwise ? 1 : rnd() % 7 + 1;
  c->mg = depthwise ? 1 : rnd() % 19 + 1;
  c->kh = rnd() % 5 + 1, c->kw = rnd() % 5 + 1;
  if (rnd() % 2) c->kh = c->kw = 3;
  c->sh = rnd() % (depthwise ? 2 : 3) + 1;
  c->sw = depthwise ? c->sh : rnd() % 3 + 1;
  c->dh = depthwise ? 1 : rnd() % 2 + 1, c->dw = depthwise ? 1 : rnd() % 2 + 1;
  c->pt = rnd() % 3, c->pl = rnd() % 3, c->pb = rnd() % 3, c->pr = rnd() % 3;
  do {
    c->ih = rnd_of(sizes, OCTET_COUNTOF(sizes));
    c->iw = rnd_of(sizes, OCTET_COUNTOF(sizes));
  } while (c->ih + c->pt + c->pb < (c->kh - 1) * c->dh + 1 || c->iw + c->pl + c->pr < (c->kw - 1) * c->dw + 1);
  c->x_signed = rnd() % 2, c->w_signed = rnd() % 3 != 0, c->per_ch = rnd() % 2;
  c->zx = zp_of(c->x_signed, (int)(rnd() % 3));
  for (size_t i = 0; i < 64; i++) c->zw[i] = zp_of(c->w_signed, (int)(rnd() % 3));
  c->out_dtype = rnd() % 2 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  c->zy = c->out_dtype == OCTET_DTYPE_INT8 ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
}

static int run_conv_case(const octet_qgemm_ukernel *u, const conv_case *c, bool depthwise, int mode,
                         char *why, size_t why_n) {
  size_t oh = (c->ih + c->pt + c->pb - ((c->kh - 1) * c->dh + 1)) / c->sh + 1;
  size_t ow = (c->iw + c->pl + c->pr - ((c->kw - 1) * c->dw + 1)) / c->sw + 1;
  size_t P = oh * ow, kg = c->cg * c->kh * c->kw;
  uint8_t *x = malloc(c->cg * c->ih * c->iw + 1), *w = malloc(c->mg * kg + 1);
  fill_q8(x, c->cg * c->ih * c->iw, c->x_signed, mode);
  fill_q8(w, c->mg * kg, c->w_signed, mode ? 3 - mode : 0);
  float scale[64];
  int32_t bias[64];
  for (size_t i = 0; i < c->mg; i++) {
    scale[i] = (float)(rnd() % 1000 + 1) * 1e-4f;
    bias[i] = (int32_t)(rnd() % 20001) - 10000;
  }
  octet_qrange r = octet_qrange_of(c->out_dtype);
  uint8_t *ref = malloc(c->mg * P), *got = calloc(c->mg * P, 1);
  for (size_t m = 0; m < c->mg; m++)
    for (size_t p = 0; p < P; p++) {
      int32_t v = (int32_t)((uint32_t)conv_direct(c, x, w, m, p / ow, p % ow) + (uint32_t)bias[m]);
      octet_q8_store(ref, m * P + p, c->out_dtype, octet_requant_value(v, scale[c->per_ch ? m : 0], c->zy, r));
    }
  octet_qconv_geom g = {.cg = c->cg, .ih = c->ih, .iw = c->iw, .kh = c->kh, .kw = c->kw, .sh = c->sh,
                        .sw = c->sw, .dh = c->dh, .dw = c->dw, .pt = c->pt, .pl = c->pl, .oh = oh, .ow = ow};
  size_t need_h = (oh - 1) * c->sh + (c->kh - 1) * c->dh + 1, need_w = (ow - 1) * c->sw + (c->kw - 1) * c->dw + 1;
  g.pb = need_h > c->ih + c->pt ? need_h - c->ih - c->pt : 0;
  g.pr = need_w > c->iw + c->pl ? need_w - c->iw - c->pl : 0;
  g.virt = rnd() % 2; /* layout turns it off unless both strides are 1 */
  octet_qconv_layout(&g);
  if (depthwise) {
    size_t pw = octet_qdw_plane_width(c->iw, c->pl, g.pr), kw2 = c->kw + (c->kw & 1);
    int16_t *plane = malloc(g.rows * pw * sizeof(int16_t));
    int16_t *wq = calloc(c->kh * kw2, sizeof(int16_t));
    for (size_t ky = 0; ky < c->kh; ky++)
      for (size_t kx = 0; kx < c->kw; kx++)
        wq[ky * kw2 + kx] = (int16_t)((c->w_signed ? (int8_t)w[ky * c->kw + kx] : w[ky * c->kw + kx]) - c->zw[0]);
    octet_qdw_plane(u, plane, pw, x, c->x_signed, c->zx, c->ih, c->iw, c->pt, g.pb, c->pl);
    octet_qdw_args a = {plane, pw, c->kh, c->kw, c->sh, oh, ow, wq, bias[0], scale[0], c->zy, c->out_dtype, got};
    u->dwconv(&a);
    free(plane), free(wq);
  } else {
    size_t wbytes;
    octet_qconv_weights_size(&g, c->mg, u->mr, &wbytes);
    void *wmem = malloc(wbytes);
    int16_t *planes = malloc(g.plane_elems * sizeof(int16_t));
    int32_t *koff = malloc(g.k2 * sizeof(int32_t));
    octet_qgemm_panels wp;
    octet_qconv_weights_pack(&wp, wmem, &g, c->mg, u->mr, w, c->w_signed, c->zw, OCTET_DTYPE_INT32,
                             c->per_ch ? c->mg : 1);
    /* planes built in two channel-pair ranges, as two threads would */
    octet_qconv_planes(u, &g, planes, x, c->x_signed, c->zx, 0, g.cpairs / 2);
    octet_qconv_planes(u, &g, planes, x, c->x_signed, c->zx, g.cpairs / 2, g.cpairs);
    octet_qconv_offsets(&g, koff);
    octet_qgemm_epi ep = {.kind = OCTET_QEPI_Q8, .bias = bias, .bias_rs = 1, .scale = scale,
                          .scale_rs = c->per_ch, .zp = c->zy, .out_dtype = c->out_dtype, .out = got, .ldo = P};
    octet_qconv_args a = {&wp, planes, koff, g.sh * g.row_stride, ow, &ep, g.virt ? g.phase_w : 0, oh};
    if (g.virt) {
      /* virtual rows, in random tile-aligned chunks */
      size_t nv = oh * g.phase_w;
      for (size_t v = 0; v < nv;) {
        size_t len = (rnd() % 3 + 1) * u->nr;
        u->conv(&a, 0, v, v + len < nv ? v + len : nv, 0, c->mg);
        v += len;
      }
    } else {
      for (size_t oy = 0; oy < oh; oy++)
        for (size_t ox = 0; ox < ow; ox += u->nr)
          u->conv(&a, oy, ox, ox + u->nr < ow ? ox + u->nr : ow, 0, c->mg);
    }
    free(wmem), free(planes), free(koff);
  }
  int bad = memcmp(ref, got, c->mg * P) != 0;
  if (bad)
    for (size_t i = 0; i < c->mg * P; i++)
      if (ref[i] != got[i]) {
        snprintf(why, why_n, "channel %zu pixel %zu: %d, reference %d", i / P, i % P, got[i], ref[i]);
        break;
      }
  free(x), free(w), free(ref), free(got);
  return bad;
}

static void conv_common(void **state, bool depthwise) {
  const octet_qgemm_ukernel *u = *state;
  if (!variant_runs(u) || (depthwise ? !u->dwconv : !u->conv)) KT_SKIP();
  for (int it = 0; it < 300; it++) {
    conv_case c;
    random_conv(&c, depthwise);
    int mode = it % 9 == 4 ? 1 + (int)(rnd() % 2) : 0;
    char why[160] = "";
    if (run_conv_case(u, &c, depthwise, mode, why, sizeof why))
      KT_FAIL("%s: %s cg=%zu mg=%zu in=%zux%zu k=%zux%zu s=%zu,%zu d=%zu,%zu pads=%zu,%zu,%zu,%zu "
              "x%s w%s zx=%d per_ch=%d mode=%d: %s",
              u->name, depthwise ? "depthwise" : "conv", c.cg, c.mg, c.ih, c.iw, c.kh, c.kw, c.sh,
              c.sw, c.dh, c.dw, c.pt, c.pl, c.pb, c.pr, c.x_signed ? "s8" : "u8",
              c.w_signed ? "s8" : "u8", c.zx, c.per_ch, mode, why);
  }
}
static void test_conv(void **state) { conv_common(state, false); }
static void test_dwconv(void **state) { conv_common(state, true); }

/* ---- depthwise 3x3 stride 1 straight from the bytes (octet_qdw3_args) ---- */

/* One case: C channels (per-channel weights, weight zero points, scales and biases), against
 * a direct loop. Scales span both the kernels' no-clamp path (small) and the clamping one
 * (large enough to saturate); some biases sit next to INT32_MAX so the int32 sum wraps. */
static int run_dw3_case(const octet_qdw3_fn fn, size_t C, size_t ih, size_t iw, size_t pt, size_t pl,
                        size_t pb, size_t pr, bool x_signed, int32_t zx, bool w_signed, int zwm,
                        int out_dtype, int32_t zy, int mode, char *why, size_t why_n) {
  size_t oh = ih + pt + pb - 2, ow = iw + pl + pr - 2, P = oh * ow, words;
  uint8_t *x = malloc(C * ih * iw + 1), *w = malloc(C * 9), *ref = malloc(C * P + 1), *got = malloc(C * P + 1);
  octet_qdw3_scratch(oh, ow, &words);
  int32_t *scratch = malloc(words * sizeof(int32_t));
  fill_q8(x, C * ih * iw, x_signed, mode);
  fill_q8(w, C * 9, w_signed, mode ? 3 - mode : 0);
  memset(got, 0xA5, C * P + 1);
  octet_qrange r = octet_qrange_of(out_dtype);
  int bad = 0;
  for (size_t c = 0; c < C && !bad; c++) {
    int32_t zw = zp_of(w_signed, zwm < 3 ? zwm : (int)(rnd() % 3)), bias = (int32_t)(rnd() % 200001) - 100000;
    if (rnd() % 16 == 0) bias = INT32_MAX - (int32_t)(rnd() % 1000);
    float scale = rnd() % 4 == 0 ? (float)(rnd() % 1000 + 1) * 1e-1f : (float)(rnd() % 1000 + 1) * 1e-5f;
    int16_t wq[12] = {0};
    for (size_t k = 0; k < 9; k++)
      wq[(k / 3) * 4 + k % 3] = (int16_t)((w_signed ? (int8_t)w[c * 9 + k] : w[c * 9 + k]) - zw);
    const uint8_t *xc = x + c * ih * iw;
    for (size_t oy = 0; oy < oh; oy++)
      for (size_t ox = 0; ox < ow; ox++) {
        uint32_t acc = (uint32_t)bias;
        for (size_t ky = 0; ky < 3; ky++)
          for (size_t kx = 0; kx < 3; kx++) {
            int64_t iy = (int64_t)(oy + ky) - (int64_t)pt, ix = (int64_t)(ox + kx) - (int64_t)pl;
            if (iy < 0 || iy >= (int64_t)ih || ix < 0 || ix >= (int64_t)iw) continue;
            uint8_t raw = xc[(size_t)iy * iw + (size_t)ix];
            acc += (uint32_t)(((x_signed ? (int8_t)raw : raw) - zx) * wq[ky * 4 + kx]);
          }
        octet_q8_store(ref, c * P + oy * ow + ox, out_dtype, octet_requant_value((int32_t)acc, scale, zy, r));
      }
    octet_qdw3_args a = {xc, x_signed, zx, ih, iw, pt, pl, oh, ow, wq, bias, scale, zy, out_dtype,
                         got + c * P, scratch};
    fn(&a);
    for (size_t i = 0; i < P; i++)
      if (ref[c * P + i] != got[c * P + i]) {
        snprintf(why, why_n, "channel %zu (zw %d bias %d scale %g) pixel %zu: %d, reference %d", c, zw,
                 bias, (double)scale, i, got[c * P + i], ref[c * P + i]);
        bad = 1;
        break;
      }
  }
  if (!bad && got[C * P] != 0xA5) snprintf(why, why_n, "wrote past the output"), bad = 1;
  free(x), free(w), free(ref), free(got), free(scratch);
  return bad;
}

static void test_dw3(void **state) {
  const octet_qgemm_ukernel *u = *state;
  if (!variant_runs(u) || !u->dw3) KT_SKIP();
  static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 56, 57, 67};
  for (int it = 0; it < 400; it++) {
    size_t pt = rnd() % 3, pl = rnd() % 3, pb = rnd() % 3, pr = rnd() % 3, ih, iw;
    do {
      ih = rnd_of(sizes, OCTET_COUNTOF(sizes));
      iw = rnd_of(sizes, OCTET_COUNTOF(sizes));
    } while (ih + pt + pb < 3 || iw + pl + pr < 3);
    size_t C = it < 67 ? (size_t)it + 1 : rnd() % 67 + 1;
    if (C * ih * iw > 40000) C = 40000 / (ih * iw) + 1;
    bool x_signed = rnd() % 2, w_signed = rnd() % 3 != 0;
    int32_t zx = zp_of(x_signed, (int)(rnd() % 3));
    int zwm = (int)(rnd() % 4), out_dtype = rnd() % 2 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
    int32_t zy = out_dtype == OCTET_DTYPE_INT8 ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
    int mode = it % 9 == 4 ? 1 + (int)(rnd() % 2) : 0;
    char why[200] = "";
    if (run_dw3_case(u->dw3, C, ih, iw, pt, pl, pb, pr, x_signed, zx, w_signed, zwm, out_dtype, zy, mode,
                     why, sizeof why))
      KT_FAIL("%s: dw3x3 C=%zu in=%zux%zu pads=%zu,%zu,%zu,%zu x%s zx=%d w%s out %s zy=%d mode=%d: %s",
              u->name, C, ih, iw, pt, pl, pb, pr, x_signed ? "s8" : "u8", zx, w_signed ? "s8" : "u8",
              out_dtype == OCTET_DTYPE_INT8 ? "s8" : "u8", zy, mode, why);
  }
}

/* ---- dispatch ---- */

static void test_mask_forces_reference_or_lower_isa(void **state) {
  (void)state;
  const octet_qgemm_ukernel *best = octet_qgemm_select();
  uint32_t prev = octet_cpu_features(); /* OCTET_CPU_MASK from the environment stays in force */
  octet_cpu_set_mask(0);
  const octet_qgemm_ukernel *none = octet_qgemm_select();
  octet_cpu_set_mask(prev);
  if (none) KT_FAIL("mask 0 still selected %s", none->name);
  if (best && (octet_cpu_features() & best->cpu_features) != best->cpu_features)
    KT_FAIL("selected %s needs features the CPU lacks", best->name);
  for (size_t i = 0; i < octet_qgemm_ukernel_count(); i++) {
    const octet_qgemm_ukernel *u = octet_qgemm_ukernel_at(i);
    if (u->auto_select && variant_runs(u) && u->cpu_features && !best)
      KT_FAIL("%s runs here but nothing was selected", u->name);
  }
}

/* ---- whole kernels through the registry: fast path == reference path, for any split ---- */
#ifndef OCTET_KT_STANDALONE
#include "ops/registry.h"

/* A host that runs the index space as uneven chunks, last chunk first: any kernel whose result
 * depends on the split (or on chunk order) shows up as a difference. */
static void chunked_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  size_t chunk = *(const size_t *)ctx, starts[4096], ns = 0;
  for (size_t b = 0; b < n && ns < 4096; b += chunk + ns % 2) starts[ns++] = b;
  for (size_t i = ns; i-- > 0;) task(arg, starts[i], i + 1 < ns ? starts[i + 1] : n);
}

typedef struct op_case {
  const char *domain, *op;
  int opset;
  size_t n_in;
  octet_tensor in[9];
  bool is_const[9];
  size_t n_attrs;
  octet_attr attrs[4];
  int64_t ints[3][8];
} op_case;

static octet_tensor tensor(int32_t dtype, int32_t rank, const int64_t *dims) {
  octet_tensor t = {.dtype = dtype, .rank = rank};
  size_t n = 1;
  for (int32_t i = 0; i < rank; i++) t.dims[i] = dims[i], n *= (size_t)dims[i];
  size_t esz = octet_dtype_size(dtype);
  t.data = malloc(n * esz + 1);
  for (size_t i = 0; i < n; i++) {
    if (dtype == OCTET_DTYPE_FLOAT) ((float *)t.data)[i] = (float)(rnd() % 1000 + 1) * 1e-4f;
    else if (dtype == OCTET_DTYPE_INT32) ((int32_t *)t.data)[i] = (int32_t)(rnd() % 20001) - 10000;
    else ((uint8_t *)t.data)[i] = (uint8_t)rnd();
  }
  return t;
}
static octet_tensor scalar_t(int32_t dtype) {
  int64_t d[1] = {1};
  octet_tensor t = tensor(dtype, 0, d);
  return t;
}

/* Runs the case; output bytes into *out (malloc'd), size into *n. */
static int run_op(const op_case *c, const octet_host *host, void **out, size_t *n, char *why, size_t why_n) {
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), c->domain, c->op, c->opset);
  if (!k) return snprintf(why, why_n, "no kernel %s", c->op), 1;
  int32_t dts[9];
  const octet_tensor *consts[9], *ins[9];
  for (size_t i = 0; i < c->n_in; i++) {
    dts[i] = c->in[i].data ? c->in[i].dtype : OCTET_DTYPE_UNDEFINED;
    ins[i] = c->in[i].data ? &c->in[i] : NULL;
    consts[i] = c->in[i].data && c->is_const[i] ? &c->in[i] : NULL;
  }
  octet_kernel_info info = {.node_name = "kt", .domain = c->domain, .op_type = c->op, .opset = c->opset,
                            .n_attrs = c->n_attrs, .attrs = c->attrs, .n_inputs = c->n_in,
                            .input_dtypes = dts, .constant_inputs = consts, .n_outputs = 1};
  int32_t odt[1];
  void *st = NULL;
  octet_error err = {0};
  octet_tensor y;
  memset(&y, 0, sizeof y);
  size_t ws = 0;
  if (k->create(&info, odt, &st, &err)) return snprintf(why, why_n, "create: %s", err.message), 1;
  if (k->infer(st, ins, c->n_in, &y, 1, &ws, &err)) {
    k->destroy(st);
    return snprintf(why, why_n, "infer: %s", err.message), 1;
  }
  *n = octet_tensor_nbytes(&y);
  y.data = calloc(*n + 1, 1);
  void *w = malloc(ws + 1);
  int bad = k->run(st, ins, c->n_in, &y, 1, w, host, &err) != 0;
  if (bad) snprintf(why, why_n, "run: %s", err.message);
  free(w);
  k->destroy(st);
  *out = y.data;
  return bad;
}

static void free_case(op_case *c) {
  for (size_t i = 0; i < c->n_in; i++) free(c->in[i].data);
}

static void make_qlinear_matmul(op_case *c, int64_t batch, int64_t M, int64_t K, int64_t N, bool a_s, bool b_s,
                                bool per_col, bool b_const) {
  memset(c, 0, sizeof *c);
  c->domain = "", c->op = "QLinearMatMul", c->opset = 10, c->n_in = 8;
  int64_t ad[3] = {batch, M, K}, bd[2] = {K, N}, nd[1] = {N};
  int32_t at = a_s ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8, bt = b_s ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  c->in[0] = batch > 1 ? tensor(at, 3, ad) : tensor(at, 2, ad + 1);
  c->in[1] = scalar_t(OCTET_DTYPE_FLOAT), c->in[2] = scalar_t(at);
  c->in[3] = tensor(bt, 2, bd);
  c->in[4] = per_col ? tensor(OCTET_DTYPE_FLOAT, 1, nd) : scalar_t(OCTET_DTYPE_FLOAT);
  c->in[5] = per_col ? tensor(bt, 1, nd) : scalar_t(bt);
  if (b_s && rnd() % 2) memset(c->in[5].data, 0, per_col ? (size_t)N : 1); /* symmetric: int8 panels */
  c->in[6] = scalar_t(OCTET_DTYPE_FLOAT), c->in[7] = scalar_t(rnd() % 2 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8);
  for (size_t i = 1; i < 8; i++) c->is_const[i] = i != 3 || b_const;
}

static void make_conv(op_case *c, bool qlinear, int64_t C, int64_t H, int64_t W, int64_t M, int64_t kh, int64_t kw,
                      int64_t stride_h, int64_t stride, int64_t dil, int64_t pad, int64_t group, bool per_ch,
                      bool w_const) {
  memset(c, 0, sizeof *c);
  c->domain = "", c->op = qlinear ? "QLinearConv" : "ConvInteger", c->opset = 10;
  int64_t xd[4] = {1 + (int64_t)(rnd() % 2), C, H, W}, wd[4] = {M, C / group, kh, kw}, md[1] = {M};
  int32_t xt = rnd() % 2 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8, wt = rnd() % 3 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  if (qlinear) {
    c->n_in = 9;
    c->in[0] = tensor(xt, 4, xd), c->in[1] = scalar_t(OCTET_DTYPE_FLOAT), c->in[2] = scalar_t(xt);
    c->in[3] = tensor(wt, 4, wd);
    c->in[4] = per_ch ? tensor(OCTET_DTYPE_FLOAT, 1, md) : scalar_t(OCTET_DTYPE_FLOAT);
    c->in[5] = per_ch ? tensor(wt, 1, md) : scalar_t(wt);
    c->in[6] = scalar_t(OCTET_DTYPE_FLOAT), c->in[7] = scalar_t(rnd() % 2 ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8);
    if (rnd() % 4) c->in[8] = tensor(OCTET_DTYPE_INT32, 1, md);
    for (size_t i = 1; i < 9; i++) c->is_const[i] = i != 3 || w_const;
  } else {
    c->n_in = 4;
    c->in[0] = tensor(xt, 4, xd), c->in[1] = tensor(wt, 4, wd), c->in[2] = scalar_t(xt);
    c->in[3] = per_ch ? tensor(wt, 1, md) : scalar_t(wt);
    c->is_const[1] = w_const, c->is_const[2] = c->is_const[3] = true;
  }
  int64_t *pads = c->ints[0], *strides = c->ints[1], *dils = c->ints[2];
  for (int i = 0; i < 4; i++) pads[i] = pad;
  strides[0] = stride_h, strides[1] = stride, dils[0] = dils[1] = dil;
  c->attrs[0] = (octet_attr){.name = "pads", .type = OCTET_ATTR_INTS, .n = 4, .ints = pads};
  c->attrs[1] = (octet_attr){.name = "strides", .type = OCTET_ATTR_INTS, .n = 2, .ints = strides};
  c->attrs[2] = (octet_attr){.name = "dilations", .type = OCTET_ATTR_INTS, .n = 2, .ints = dils};
  c->attrs[3] = (octet_attr){.name = "group", .type = OCTET_ATTR_INT, .i = group};
  c->n_attrs = 4;
}

/* Reference (mask 0) vs the selected variant, unsplit and split two ways. */
static void check_op(const op_case *c, const char *what) {
  char why[256] = "";
  void *ref = NULL, *got = NULL;
  size_t nr = 0, ng = 0;
  uint32_t prev = octet_cpu_features();
  octet_cpu_set_mask(0);
  int bad = run_op(c, NULL, &ref, &nr, why, sizeof why);
  octet_cpu_set_mask(prev);
  if (bad) {
    free(ref);
    KT_FAIL("%s: reference: %s", what, why);
  }
  size_t chunks[3] = {0, 1, 3};
  for (int h = 0; h < 3; h++) {
    octet_host host = {.ctx = &chunks[h], .n_threads = 4, .parallel_for = chunked_parallel_for};
    bad = run_op(c, h ? &host : NULL, &got, &ng, why, sizeof why);
    if (!bad && (ng != nr || memcmp(ref, got, nr))) {
      size_t i = 0;
      while (i < nr && ((uint8_t *)ref)[i] == ((uint8_t *)got)[i]) i++;
      snprintf(why, sizeof why, "byte %zu of %zu differs from the reference (split %zu)", i, nr, chunks[h]);
      bad = 1;
    }
    free(got);
    if (bad) {
      free(ref);
      KT_FAIL("%s: %s", what, why);
    }
  }
  free(ref);
}

static void test_ops_fast_path_matches_reference_for_any_split(void **state) {
  (void)state;
  if (!octet_qgemm_select()) KT_SKIP();
  static const int64_t mk[][3] = {{1, 67, 45}, {67, 33, 70}, {5, 128, 300}, {7, 1, 16}, {13, 64, 17}, {1, 768, 40}};
  for (size_t i = 0; i < OCTET_COUNTOF(mk); i++)
    for (int v = 0; v < 4; v++) {
      op_case c;
      make_qlinear_matmul(&c, v == 3 ? 3 : 1, mk[i][0], mk[i][1], mk[i][2], v & 1, v != 1, v >= 2, v != 2);
      char what[96];
      snprintf(what, sizeof what, "QLinearMatMul %lldx%lldx%lld variant %d", (long long)mk[i][0],
               (long long)mk[i][1], (long long)mk[i][2], v);
      check_op(&c, what);
      free_case(&c);
    }
  /* C, H, W, M, kh, kw, stride_h, stride_w, dilation, pad, group */
  static const int64_t cv[][11] = {
      {5, 9, 11, 7, 3, 3, 1, 1, 1, 1, 1},    {8, 12, 13, 16, 3, 3, 2, 2, 1, 1, 1},  {6, 10, 10, 9, 3, 3, 1, 1, 2, 2, 3},
      {16, 7, 7, 24, 1, 1, 1, 1, 1, 0, 1},   {12, 15, 17, 12, 3, 3, 1, 1, 1, 1, 12}, {12, 15, 17, 12, 3, 3, 2, 2, 1, 1, 12},
      {10, 9, 8, 10, 5, 5, 1, 1, 1, 2, 10},  {10, 9, 8, 20, 3, 3, 1, 1, 1, 1, 10},  {3, 20, 21, 8, 7, 7, 2, 2, 1, 3, 1},
      {4, 5, 40, 6, 1, 3, 1, 1, 1, 0, 2},    {9, 2, 19, 5, 1, 1, 2, 1, 1, 0, 1},    {33, 1, 37, 18, 1, 1, 1, 1, 1, 0, 1},
      {7, 6, 9, 11, 1, 1, 2, 2, 1, 0, 1},    {6, 4, 4, 6, 1, 1, 1, 1, 1, 0, 3},
  };
  for (size_t i = 0; i < OCTET_COUNTOF(cv); i++)
    for (int v = 0; v < 4; v++) {
      op_case c;
      const int64_t *g = cv[i];
      make_conv(&c, v != 3, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], v & 1, v != 2);
      char what[96];
      snprintf(what, sizeof what, "%s case %zu variant %d", c.op, i, v);
      check_op(&c, what);
      free_case(&c);
    }
}
#endif

/* ---- runners ---- */

typedef struct kt_test {
  char name[96];
  void (*fn)(void **);
  const void *arg;
} kt_test;

static size_t kt_list(kt_test *t, size_t cap) {
  size_t n = 0;
  snprintf(t[n].name, sizeof t[n].name, "dispatch_mask_forces_reference_or_lower_isa");
  t[n].fn = test_mask_forces_reference_or_lower_isa, t[n].arg = NULL, n++;
#ifndef OCTET_KT_STANDALONE
  snprintf(t[n].name, sizeof t[n].name, "ops_fast_path_matches_reference_for_any_split");
  t[n].fn = test_ops_fast_path_matches_reference_for_any_split, t[n].arg = NULL, n++;
#endif
  for (size_t i = 0; i < octet_qgemm_ukernel_count() && n + 4 <= cap; i++) {
    const octet_qgemm_ukernel *u = octet_qgemm_ukernel_at(i);
    snprintf(t[n].name, sizeof t[n].name, "%s_gemm_matches_reference", u->name);
    t[n].fn = test_gemm, t[n].arg = u, n++;
    snprintf(t[n].name, sizeof t[n].name, "%s_conv_matches_reference", u->name);
    t[n].fn = test_conv, t[n].arg = u, n++;
    snprintf(t[n].name, sizeof t[n].name, "%s_dwconv_matches_reference", u->name);
    t[n].fn = test_dwconv, t[n].arg = u, n++;
    snprintf(t[n].name, sizeof t[n].name, "%s_dw3x3_from_bytes_matches_reference", u->name);
    t[n].fn = test_dw3, t[n].arg = u, n++;
  }
  return n;
}

int main(void) {
  kt_test tests[64];
  size_t n = kt_list(tests, OCTET_COUNTOF(tests));
  printf("kernel tester: CPU features 0x%x (%s)\n", (unsigned)octet_cpu_features(), octet_cpu_isa_name());
#ifdef OCTET_KT_STANDALONE
  int failed = 0, passed = 0, skipped = 0;
  for (size_t i = 0; i < n; i++) {
    void *arg = (void *)tests[i].arg;
    kt_status = 0;
    tests[i].fn(&arg);
    printf("[ %-7s ] %s\n", kt_status == 0 ? "OK" : kt_status == 1 ? "FAILED" : "SKIPPED", tests[i].name);
    failed += kt_status == 1, passed += kt_status == 0, skipped += kt_status == 2;
  }
  printf("%d passed, %d skipped, %d failed\n", passed, skipped, failed);
  return failed ? 1 : 0;
#else
  struct CMUnitTest cm[64];
  for (size_t i = 0; i < n; i++)
    cm[i] = (struct CMUnitTest){tests[i].name, tests[i].fn, NULL, NULL, (void *)tests[i].arg};
  return _cmocka_run_group_tests("kernels", cm, n, NULL, NULL);
#endif
}
