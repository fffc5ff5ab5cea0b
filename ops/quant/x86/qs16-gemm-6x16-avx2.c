/* qs16-gemm-6x16-avx2.c — AVX2 int8 GEMM on int16-pair panels (vpmaddwd, exact: operands carry
 * their zero point subtracted and never exceed 255 in magnitude, so pair sums cannot saturate),
 * the fused requantizing epilogue, and the depthwise convolution kernel. Built with -mavx2. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "ops/quant/qgemm-ukernels.h"

/* ---- epilogue: the same float operations, in the same order, as octet_requant_value ---- */

static inline __m256 param8(const float *p, size_t m, size_t rs, size_t cs, size_t n) {
  return cs ? _mm256_loadu_ps(p + m * rs + n) : _mm256_set1_ps(p[m * rs]);
}
static inline __m256i ibias8(const int32_t *p, size_t m, size_t rs, size_t cs, size_t n) {
  return cs ? _mm256_loadu_si256((const __m256i *)(p + m * rs + n)) : _mm256_set1_epi32(p[m * rs]);
}

/* 16 int32 accumulators (+ bias done by caller) -> 16 requantized bytes. max(v, lo) is
 * (v > lo ? v : lo) and min(v, hi) is (v < hi ? v : hi) exactly as the scalar clamp, NaN
 * included; cvtps rounds half to even under the default MXCSR as nearbyintf does. */
typedef struct rq_consts {
  __m256 lo, hi;
  __m256i z, z16;
  bool is_signed;
} rq_consts;

static inline rq_consts rq_make(int32_t zp, int32_t out_dtype) {
  int32_t qmin = out_dtype == 3 ? -128 : 0, qmax = out_dtype == 3 ? 127 : 255;
  rq_consts q = {_mm256_set1_ps((float)(qmin - zp)), _mm256_set1_ps((float)(qmax - zp)),
                 _mm256_set1_epi32(zp), _mm256_set1_epi16((int16_t)zp), out_dtype == 3};
  return q;
}

/* `clamp` false only when |float(v) * s| < 2^30 for every int32 v (every scale < 0.5): then
 * rounding first and letting the saturating int16 add and packs clamp gives the reference's
 * bytes (the bounds are integral and rounding is monotonic); with the clamp the values are in
 * range and the zero point is added exactly in int16. */
static inline __m128i requant16c(__m256i v0, __m256i v1, __m256 s0, __m256 s1, const rq_consts *q,
                                 bool clamp) {
  __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(v0), s0);
  __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(v1), s1);
  if (clamp) {
    f0 = _mm256_min_ps(_mm256_max_ps(f0, q->lo), q->hi);
    f1 = _mm256_min_ps(_mm256_max_ps(f1, q->lo), q->hi);
  }
  __m256i w = _mm256_adds_epi16(_mm256_packs_epi32(_mm256_cvtps_epi32(f0), _mm256_cvtps_epi32(f1)), q->z16);
  w = _mm256_permute4x64_epi64(w, 0xd8);
  __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
  return q->is_signed ? _mm_packs_epi16(wl, wh) : _mm_packus_epi16(wl, wh);
}
static inline __m128i requant16(__m256i v0, __m256i v1, __m256 s0, __m256 s1, const rq_consts *q) {
  return requant16c(v0, v1, s0, s1, q, true);
}

/* One row of 16 columns at (m, n), all valid. */
static inline void epi_row16(const octet_qgemm_epi *ep, const rq_consts *rq, size_t m, size_t n,
                             __m256i v0, __m256i v1) {
  if (ep->bias) {
    v0 = _mm256_add_epi32(v0, ibias8(ep->bias, m, ep->bias_rs, ep->bias_cs, n));
    v1 = _mm256_add_epi32(v1, ibias8(ep->bias, m, ep->bias_rs, ep->bias_cs, n + 8));
  }
  size_t o = m * ep->ldo + n;
  if (ep->kind == OCTET_QEPI_I32) {
    _mm256_storeu_si256((__m256i *)((int32_t *)ep->out + o), v0);
    _mm256_storeu_si256((__m256i *)((int32_t *)ep->out + o + 8), v1);
  } else if (ep->kind == OCTET_QEPI_Q8) {
    __m128i q;
    if (!ep->scale_cs && ep->scale[m * ep->scale_rs] < 0.5f) { /* per row, as in convolutions */
      __m256 sc = _mm256_set1_ps(ep->scale[m * ep->scale_rs]);
      q = requant16c(v0, v1, sc, sc, rq, false);
    } else {
      q = requant16(v0, v1, param8(ep->scale, m, ep->scale_rs, ep->scale_cs, n),
                    param8(ep->scale, m, ep->scale_rs, ep->scale_cs, n + 8), rq);
    }
    _mm_storeu_si128((__m128i *)((uint8_t *)ep->out + o), q);
  } else {
    __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(v0), param8(ep->scale, m, ep->scale_rs, ep->scale_cs, n));
    __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(v1), param8(ep->scale, m, ep->scale_rs, ep->scale_cs, n + 8));
    if (ep->fbias) {
      f0 = _mm256_add_ps(f0, _mm256_loadu_ps(ep->fbias + n));
      f1 = _mm256_add_ps(f1, _mm256_loadu_ps(ep->fbias + n + 8));
    }
    _mm256_storeu_ps((float *)ep->out + o, f0);
    _mm256_storeu_ps((float *)ep->out + o + 8, f1);
  }
}

/* ---- the tile: R rows (1..6, a compile-time constant after inlining) x 16 columns ---- */

/* ---- the tile: R rows (1..6, a compile-time constant after inlining) x 16 columns. B comes
 * from a packed panel (koff NULL: 32 int16 per step) or, for convolutions, from the planes at
 * b + koff[k] (two loads of 8 pixel pairs). ---- */

static inline __attribute__((always_inline)) void tile_any(size_t R, size_t k2, const int16_t *a,
                                                           const int16_t *b, const int8_t *b8,
                                                           const int32_t *koff, __m256i acc[6][2]) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (size_t k = 0; k < k2; k++) {
    __m256i b0, b1;
    if (koff) {
      const int16_t *bk = b + koff[k];
      b0 = _mm256_loadu_si256((const __m256i *)bk);
      b1 = _mm256_loadu_si256((const __m256i *)(bk + 16));
    } else if (b8) {
      b0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)b8));
      b1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)b8 + 1));
      b8 += 32;
    } else {
      b0 = _mm256_load_si256((const __m256i *)b);
      b1 = _mm256_load_si256((const __m256i *)b + 1);
      b += 32;
    }
#define ROW(i, x0, x1)                                                   \
  if (R > i) {                                                           \
    __m256i ai = _mm256_broadcastd_epi32(_mm_loadu_si32(a + 2 * i));     \
    x0 = _mm256_add_epi32(x0, _mm256_madd_epi16(ai, b0));                \
    x1 = _mm256_add_epi32(x1, _mm256_madd_epi16(ai, b1));                \
  }
    ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
    a += 12;
  }
  acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11, acc[2][0] = c20;
  acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31, acc[4][0] = c40, acc[4][1] = c41;
  acc[5][0] = c50, acc[5][1] = c51;
}

/* R full rows of 16 requantized bytes with per-row bias and scale (convolutions), specialised
 * on the output type so the row loop carries no run-time choice but the clamp test. */
static inline __attribute__((always_inline)) void store_rows_q8(size_t R, __m256i acc[6][2], size_t m,
                                                                uint8_t *o, size_t ldo,
                                                                const octet_qgemm_epi *ep, bool osgn) {
  int32_t qmin = osgn ? -128 : 0, qmax = osgn ? 127 : 255;
  const __m256 lo = _mm256_set1_ps((float)(qmin - ep->zp)), hi = _mm256_set1_ps((float)(qmax - ep->zp));
  const __m256i z16 = _mm256_set1_epi16((int16_t)ep->zp);
  /* rows in pairs: one narrowing pack and one permute give both rows' 16 bytes */
  for (size_t i = 0; i < R; i += 2, o += 2 * ldo) {
    __m256i w[2];
    size_t nrows = R - i < 2 ? R - i : 2;
    for (size_t j = 0; j < 2; j++) {
      if (j >= nrows) {
        w[j] = w[0];
        break;
      }
      size_t mi = m + i + j;
      __m256i v0 = acc[i + j][0], v1 = acc[i + j][1];
      if (ep->bias) {
        __m256i b = _mm256_set1_epi32(ep->bias[mi * ep->bias_rs]);
        v0 = _mm256_add_epi32(v0, b), v1 = _mm256_add_epi32(v1, b);
      }
      float sc = ep->scale[mi * ep->scale_rs];
      __m256 s = _mm256_set1_ps(sc);
      __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(v0), s), f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(v1), s);
      if (!(sc < 0.5f)) { /* see requant16c */
        f0 = _mm256_min_ps(_mm256_max_ps(f0, lo), hi);
        f1 = _mm256_min_ps(_mm256_max_ps(f1, lo), hi);
      }
      /* int16 lanes [0-3, 8-11 | 4-7, 12-15] */
      w[j] = _mm256_adds_epi16(_mm256_packs_epi32(_mm256_cvtps_epi32(f0), _mm256_cvtps_epi32(f1)), z16);
    }
    /* dwords: row i 0-3, 8-11, row i+1 0-3, 8-11 | row i 4-7, 12-15, row i+1 4-7, 12-15 */
    __m256i b = osgn ? _mm256_packs_epi16(w[0], w[1]) : _mm256_packus_epi16(w[0], w[1]);
    b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm_storeu_si128((__m128i *)o, _mm256_castsi256_si128(b));
    if (nrows == 2) _mm_storeu_si128((__m128i *)(o + ldo), _mm256_extracti128_si256(b, 1));
  }
}

static void tile_store(size_t R, __m256i acc[6][2], size_t m, size_t n, size_t nv,
                       const octet_qgemm_epi *ep) {
  if (ep->kind == OCTET_QEPI_Q8 && !ep->scale_cs && (!ep->bias || !ep->bias_cs)) {
    /* a partial tile (nv < 16) goes through a buffer */
    uint8_t buf[6 * 16], *o = nv == 16 ? (uint8_t *)ep->out + m * ep->ldo + n : buf;
    size_t ldo = nv == 16 ? ep->ldo : 16;
    if (ep->out_dtype == 3) store_rows_q8(R, acc, m, o, ldo, ep, true);
    else store_rows_q8(R, acc, m, o, ldo, ep, false);
    if (nv < 16)
      for (size_t i = 0; i < R; i++) memcpy((uint8_t *)ep->out + (m + i) * ep->ldo + n, buf + 16 * i, nv);
    return;
  }
  rq_consts rq = rq_make(ep->zp, ep->out_dtype);
  for (size_t i = 0; i < R; i++) {
    if (nv == 16) {
      epi_row16(ep, &rq, m + i, n, acc[i][0], acc[i][1]);
    } else {
      int32_t c[16];
      _mm256_storeu_si256((__m256i *)c, acc[i][0]);
      _mm256_storeu_si256((__m256i *)(c + 8), acc[i][1]);
      for (size_t j = 0; j < nv; j++) octet_qgemm_epi_scalar(ep, m + i, n + j, c[j]);
    }
  }
}

static inline __attribute__((always_inline)) void tile(size_t R, size_t k2, const int16_t *a,
                                                       const int16_t *b, const int32_t *koff,
                                                       __m256i acc[6][2]) {
  tile_any(R, k2, a, b, NULL, koff, acc);
}

static void tile_epi8(size_t R, size_t k2, const int16_t *a, const int8_t *b8, size_t m, size_t n,
                      size_t nv, const octet_qgemm_epi *ep) {
  __m256i acc[6][2];
  switch (R) {
  case 1: tile_any(1, k2, a, NULL, b8, NULL, acc); break;
  case 2: tile_any(2, k2, a, NULL, b8, NULL, acc); break;
  case 3: tile_any(3, k2, a, NULL, b8, NULL, acc); break;
  case 4: tile_any(4, k2, a, NULL, b8, NULL, acc); break;
  case 5: tile_any(5, k2, a, NULL, b8, NULL, acc); break;
  default: tile_any(6, k2, a, NULL, b8, NULL, acc); break;
  }
  tile_store(R, acc, m, n, nv, ep);
}

/* Packed-panel and convolution tiles, each specialised per row count so the loops carry no
 * run-time choice. */
#define TILE_EPI(fn, KOFF)                                                                        \
  static void fn(size_t R, size_t k2, const int16_t *a, const int16_t *b, const int32_t *koff,     \
                 size_t m, size_t n, size_t nv, const octet_qgemm_epi *ep) {                      \
    __m256i acc[6][2];                                                                            \
    switch (R) {                                                                                  \
    case 1: tile(1, k2, a, b, KOFF, acc); break;                                                  \
    case 2: tile(2, k2, a, b, KOFF, acc); break;                                                  \
    case 3: tile(3, k2, a, b, KOFF, acc); break;                                                  \
    case 4: tile(4, k2, a, b, KOFF, acc); break;                                                  \
    case 5: tile(5, k2, a, b, KOFF, acc); break;                                                  \
    default: tile(6, k2, a, b, KOFF, acc); break;                                                 \
    }                                                                                             \
    tile_store(R, acc, m, n, nv, ep);                                                             \
  }
TILE_EPI(tile_epi, NULL)
TILE_EPI(tile_epi_conv, koff)

/* Virtual-row tiles: requantize all 16 columns into a buffer, then copy the runs that are
 * real output pixels (at most a few per tile). */
static void tile_store_virtual(size_t R, __m256i acc[6][2], size_t m, size_t v0, const octet_qconv_args *a) {
  const octet_qgemm_epi *ep = a->ep;
  size_t run_j[16], run_n[16], run_len[16], nruns = 0; /* a run holds >= 1 pixel */
  for (size_t j = 0; j < 16;) {
    size_t v = v0 + j, y = v / a->vw, x = v % a->vw;
    if (y >= a->oh) break;
    size_t len = a->vw - x < 16 - j ? a->vw - x : 16 - j;
    if (x < a->ow) {
      size_t keep = a->ow - x < len ? a->ow - x : len;
      run_j[nruns] = j, run_n[nruns] = y * a->ow + x, run_len[nruns++] = keep;
    }
    j += len;
  }
  if (ep->kind == OCTET_QEPI_Q8 && !ep->scale_cs && (!ep->bias || !ep->bias_cs)) {
    /* 16 consecutive output pixels are stored in place; other runs through a buffer */
    bool whole = nruns == 1 && run_len[0] == 16;
    uint8_t qb[6 * 16], *o = whole ? (uint8_t *)ep->out + m * ep->ldo + run_n[0] : qb;
    size_t ldo = whole ? ep->ldo : 16;
    if (ep->out_dtype == 3) store_rows_q8(R, acc, m, o, ldo, ep, true);
    else store_rows_q8(R, acc, m, o, ldo, ep, false);
    if (!whole)
      for (size_t i = 0; i < R; i++)
        for (size_t r = 0; r < nruns; r++)
          memcpy((uint8_t *)ep->out + (m + i) * ep->ldo + run_n[r], qb + 16 * i + run_j[r], run_len[r]);
    return;
  }
  size_t esz = ep->kind == OCTET_QEPI_Q8 ? 1 : 4;
  int32_t buf[16];
  octet_qgemm_epi t = *ep;
  t.out = buf, t.ldo = 0; /* parameters follow m; the output lands in buf */
  rq_consts rq = rq_make(ep->zp, ep->out_dtype);
  for (size_t i = 0; i < R; i++) {
    epi_row16(&t, &rq, m + i, 0, acc[i][0], acc[i][1]);
    for (size_t r = 0; r < nruns; r++)
      memcpy((char *)ep->out + ((m + i) * ep->ldo + run_n[r]) * esz, (char *)buf + run_j[r] * esz,
             run_len[r] * esz);
  }
}

static void tile_conv_virtual(size_t R, size_t k2, const int16_t *a, const int16_t *b,
                              const int32_t *koff, size_t m, size_t v0, const octet_qconv_args *ca) {
  __m256i acc[6][2];
  switch (R) {
  case 1: tile(1, k2, a, b, koff, acc); break;
  case 2: tile(2, k2, a, b, koff, acc); break;
  case 3: tile(3, k2, a, b, koff, acc); break;
  case 4: tile(4, k2, a, b, koff, acc); break;
  case 5: tile(5, k2, a, b, koff, acc); break;
  default: tile(6, k2, a, b, koff, acc); break;
  }
  tile_store_virtual(R, acc, m, v0, ca);
}

void octet_qs16_conv_6x16__avx2(const octet_qconv_args *a, size_t oy, size_t ox0, size_t ox1,
                                size_t m0, size_t m1) {
  size_t k2 = a->w->k2;
  for (size_t ox = ox0; ox < ox1; ox += 16) {
    const int16_t *base = a->planes + oy * a->y_stride + ox * 2;
    size_t nv = ox1 - ox < 16 ? ox1 - ox : 16;
    for (size_t m = m0; m < m1; m += 6) {
      size_t R = m1 - m < 6 ? m1 - m : 6;
      if (a->vw)
        tile_conv_virtual(R, k2, a->w->data + m * k2 * 2, base, a->koff, m, ox, a);
      else
        tile_epi_conv(R, k2, a->w->data + m * k2 * 2, base, a->koff, m, oy * a->ow + ox, nv, a->ep);
    }
  }
}

void octet_qs16_gemm_6x16__avx2(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                                size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep) {
  size_t k2 = a->k2;
  /* Column blocks of B sized for L2 (~192 KiB), so each B panel is reused by every row tile
   * from cache while the current A tile stays in L1. */
  size_t panel_bytes = k2 * 16 * (b->data8 ? 2 : 4), nc = (192 * 1024 / (panel_bytes ? panel_bytes : 1)) * 16;
  if (nc < 16) nc = 16;
  for (size_t nb = n0; nb < n1; nb += nc) {
    size_t ne = n1 - nb < nc ? n1 : nb + nc;
    for (size_t m = m0; m < m1; m += 6) {
      size_t R = m1 - m < 6 ? m1 - m : 6;
      const int16_t *ap = a->data + m * k2 * 2;
      for (size_t n = nb; n < ne; n += 16)
        if (b->data8)
          tile_epi8(R, k2, ap, b->data8 + n * k2 * 2, m, n, ne - n < 16 ? ne - n : 16, ep);
        else
          tile_epi(R, k2, ap, b->data + n * k2 * 2, NULL, m, n, ne - n < 16 ? ne - n : 16, ep);
    }
  }
}

/* ---- depthwise: vectorized along the output row of one channel ---- */

static inline void dw_store(const octet_qdw_args *a, const rq_consts *rq, __m256 s, __m256i bias,
                            size_t oy, size_t x0, __m256i v0, __m256i v1) {
  __m128i q = requant16(_mm256_add_epi32(v0, bias), _mm256_add_epi32(v1, bias), s, s, rq);
  uint8_t *dst = (uint8_t *)a->out + oy * a->ow + x0;
  if (a->ow - x0 >= 16) {
    _mm_storeu_si128((__m128i *)dst, q);
  } else {
    uint8_t tmp[16];
    _mm_storeu_si128((__m128i *)tmp, q);
    memcpy(dst, tmp, a->ow - x0);
  }
}

#define LD(p) _mm256_loadu_si256((const __m256i *)(p))
#define MAC(acc, p, w) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(LD(p), w))

/* 3x3, stride 1: the six tap-pair weights stay in registers. A pair of taps (kx, kx+1) against
 * the row loaded at x0 + kx gives the even output pixels; loaded one element later, the odd. */
/* Even and odd pixels requantized as they are, then interleaved once as int16 inside each
 * lane (lane 0 holds pixels 0-7, lane 1 pixels 8-15): cheaper than reordering int32 first. */
static inline __m128i dw_requant_evod(__m256i ev, __m256i od, const rq_consts *rq, __m256 s) {
  __m256 fe = _mm256_mul_ps(_mm256_cvtepi32_ps(ev), s), fo = _mm256_mul_ps(_mm256_cvtepi32_ps(od), s);
  fe = _mm256_min_ps(_mm256_max_ps(fe, rq->lo), rq->hi);
  fo = _mm256_min_ps(_mm256_max_ps(fo, rq->lo), rq->hi);
  __m256i qe = _mm256_add_epi32(_mm256_cvtps_epi32(fe), rq->z);
  __m256i qo = _mm256_add_epi32(_mm256_cvtps_epi32(fo), rq->z);
  /* packs: [e0..e3 o0..o3 | e4..e7 o4..o7]; the shuffle makes [e0 o0 e1 o1 ...] per lane */
  const __m256i order = _mm256_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15,
                                         0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
  __m256i w = _mm256_shuffle_epi8(_mm256_packs_epi32(qe, qo), order);
  __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
  return rq->is_signed ? _mm_packs_epi16(wl, wh) : _mm_packus_epi16(wl, wh);
}

static inline void dw_put(const octet_qdw_args *a, size_t oy, size_t x0, __m128i q) {
  uint8_t *dst = (uint8_t *)a->out + oy * a->ow + x0;
  if (a->ow - x0 >= 16) {
    _mm_storeu_si128((__m128i *)dst, q);
  } else {
    uint8_t tmp[16];
    _mm_storeu_si128((__m128i *)tmp, q);
    memcpy(dst, tmp, a->ow - x0);
  }
}

/* 3x3, stride 1: the six tap-pair weights stay in registers. A pair of taps (kx, kx+1) against
 * the row loaded at x0 + kx gives the even output pixels; loaded one element later, the odd.
 * Two output rows per pass share their middle input rows and overlap their epilogues. */
static void dw3x3s1(const octet_qdw_args *a, const int32_t *wp, const rq_consts *rq, __m256 s,
                    __m256i bias) {
  __m256i w00 = _mm256_set1_epi32(wp[0]), w01 = _mm256_set1_epi32(wp[1]);
  __m256i w10 = _mm256_set1_epi32(wp[2]), w11 = _mm256_set1_epi32(wp[3]);
  __m256i w20 = _mm256_set1_epi32(wp[4]), w21 = _mm256_set1_epi32(wp[5]);
  __m256i zero = _mm256_setzero_si256();
  size_t oy = 0;
  for (; oy + 2 <= a->oh; oy += 2) {
    const int16_t *r0 = a->plane + oy * a->pw, *r1 = r0 + a->pw, *r2 = r1 + a->pw, *r3 = r2 + a->pw;
    for (size_t x0 = 0; x0 < a->ow; x0 += 16) {
      __m256i ev = bias, od = bias, ev2 = zero, od2 = zero; /* output row oy */
      __m256i fv = bias, pd = bias, fv2 = zero, pd2 = zero; /* output row oy + 1 */
      __m256i x;
#define ROW2(r, wa0, wa1, wb0, wb1)                                                  \
  x = LD(r + x0), ev = _mm256_add_epi32(ev, _mm256_madd_epi16(x, wa0)),               \
  fv = _mm256_add_epi32(fv, _mm256_madd_epi16(x, wb0));                               \
  x = LD(r + x0 + 1), od = _mm256_add_epi32(od, _mm256_madd_epi16(x, wa0)),           \
  pd = _mm256_add_epi32(pd, _mm256_madd_epi16(x, wb0));                               \
  x = LD(r + x0 + 2), ev2 = _mm256_add_epi32(ev2, _mm256_madd_epi16(x, wa1)),         \
  fv2 = _mm256_add_epi32(fv2, _mm256_madd_epi16(x, wb1));                             \
  x = LD(r + x0 + 3), od2 = _mm256_add_epi32(od2, _mm256_madd_epi16(x, wa1)),         \
  pd2 = _mm256_add_epi32(pd2, _mm256_madd_epi16(x, wb1));
      MAC(ev, r0 + x0, w00); MAC(od, r0 + x0 + 1, w00); MAC(ev2, r0 + x0 + 2, w01); MAC(od2, r0 + x0 + 3, w01);
      ROW2(r1, w10, w11, w00, w01)
      ROW2(r2, w20, w21, w10, w11)
      MAC(fv, r3 + x0, w20); MAC(pd, r3 + x0 + 1, w20); MAC(fv2, r3 + x0 + 2, w21); MAC(pd2, r3 + x0 + 3, w21);
#undef ROW2
      __m128i q0 = dw_requant_evod(_mm256_add_epi32(ev, ev2), _mm256_add_epi32(od, od2), rq, s);
      __m128i q1 = dw_requant_evod(_mm256_add_epi32(fv, fv2), _mm256_add_epi32(pd, pd2), rq, s);
      dw_put(a, oy, x0, q0);
      dw_put(a, oy + 1, x0, q1);
    }
  }
  for (; oy < a->oh; oy++) {
    const int16_t *r0 = a->plane + oy * a->pw, *r1 = r0 + a->pw, *r2 = r1 + a->pw;
    for (size_t x0 = 0; x0 < a->ow; x0 += 16) {
      __m256i ev = bias, od = bias, ev2 = zero, od2 = zero;
      MAC(ev, r0 + x0, w00); MAC(od, r0 + x0 + 1, w00); MAC(ev2, r0 + x0 + 2, w01); MAC(od2, r0 + x0 + 3, w01);
      MAC(ev, r1 + x0, w10); MAC(od, r1 + x0 + 1, w10); MAC(ev2, r1 + x0 + 2, w11); MAC(od2, r1 + x0 + 3, w11);
      MAC(ev, r2 + x0, w20); MAC(od, r2 + x0 + 1, w20); MAC(ev2, r2 + x0 + 2, w21); MAC(od2, r2 + x0 + 3, w21);
      dw_put(a, oy, x0, dw_requant_evod(_mm256_add_epi32(ev, ev2), _mm256_add_epi32(od, od2), rq, s));
    }
  }
}

/* 3x3, stride 2: the six tap-pair weights ((w0, w1), (w2, 0) per row) stay in registers and
 * the loops are fully unrolled; the pair at 2 * x + 2p is (tap 2p, tap 2p + 1) of pixel x. */
static void dw3x3s2(const octet_qdw_args *a, const int32_t *wp, const rq_consts *rq, __m256 s, __m256i bias) {
  const __m256i w00 = _mm256_set1_epi32(wp[0]), w01 = _mm256_set1_epi32(wp[1]);
  const __m256i w10 = _mm256_set1_epi32(wp[2]), w11 = _mm256_set1_epi32(wp[3]);
  const __m256i w20 = _mm256_set1_epi32(wp[4]), w21 = _mm256_set1_epi32(wp[5]);
  for (size_t oy = 0; oy < a->oh; oy++) {
    const int16_t *r0 = a->plane + oy * 2 * a->pw, *r1 = r0 + a->pw, *r2 = r1 + a->pw;
    for (size_t x0 = 0; x0 < a->ow; x0 += 16) {
      size_t c = 2 * x0;
      __m256i v0 = bias, v1 = bias, u0 = _mm256_setzero_si256(), u1 = u0;
      MAC(v0, r0 + c, w00);
      MAC(v1, r0 + c + 16, w00);
      MAC(u0, r0 + c + 2, w01);
      MAC(u1, r0 + c + 18, w01);
      MAC(v0, r1 + c, w10);
      MAC(v1, r1 + c + 16, w10);
      MAC(u0, r1 + c + 2, w11);
      MAC(u1, r1 + c + 18, w11);
      MAC(v0, r2 + c, w20);
      MAC(v1, r2 + c + 16, w20);
      MAC(u0, r2 + c + 2, w21);
      MAC(u1, r2 + c + 18, w21);
      /* the bias is already in: requantize v + u with a zero bias */
      dw_store(a, rq, s, _mm256_setzero_si256(), oy, x0, _mm256_add_epi32(v0, u0), _mm256_add_epi32(v1, u1));
    }
  }
}

void octet_qs16_dwconv__avx2(const octet_qdw_args *a) {
  size_t kw2 = a->kw + (a->kw & 1), np = kw2 / 2;
  int32_t wpp[OCTET_QDW_MAX_PAIRS]; /* tap pairs as the int32 words vpmaddwd broadcasts */
  memcpy(wpp, a->w, a->kh * np * sizeof(int32_t));
  rq_consts rq = rq_make(a->zp, a->out_dtype);
  __m256 s = _mm256_set1_ps(a->scale);
  __m256i bias = _mm256_set1_epi32(a->bias);
  if (a->stride == 1 && a->kh == 3 && a->kw == 3) {
    dw3x3s1(a, wpp, &rq, s, bias);
    return;
  }
  if (a->stride == 2 && a->kh == 3 && a->kw == 3) {
    dw3x3s2(a, wpp, &rq, s, bias);
    return;
  }
  for (size_t oy = 0; oy < a->oh; oy++) {
    const int16_t *rows = a->plane + oy * a->stride * a->pw;
    if (a->stride == 1) {
      for (size_t x0 = 0; x0 < a->ow; x0 += 16) {
        __m256i ev = _mm256_setzero_si256(), od = ev;
        for (size_t ky = 0; ky < a->kh; ky++) {
          const int16_t *r = rows + ky * a->pw + x0;
          for (size_t p = 0; p < np; p++) {
            __m256i w = _mm256_set1_epi32(wpp[ky * np + p]);
            MAC(ev, r + 2 * p, w);
            MAC(od, r + 2 * p + 1, w);
          }
        }
        __m256i lo = _mm256_unpacklo_epi32(ev, od), hi = _mm256_unpackhi_epi32(ev, od);
        dw_store(a, &rq, s, bias, oy, x0, _mm256_permute2x128_si256(lo, hi, 0x20),
                 _mm256_permute2x128_si256(lo, hi, 0x31));
      }
    } else {
      /* Stride 2: the pair at 2 * x + kx is exactly (tap kx, tap kx + 1) of pixel x. */
      for (size_t x0 = 0; x0 < a->ow; x0 += 16) {
        __m256i v0 = _mm256_setzero_si256(), v1 = v0;
        for (size_t ky = 0; ky < a->kh; ky++) {
          const int16_t *r = rows + ky * a->pw + 2 * x0;
          for (size_t p = 0; p < np; p++) {
            __m256i w = _mm256_set1_epi32(wpp[ky * np + p]);
            MAC(v0, r + 2 * p, w);
            MAC(v1, r + 16 + 2 * p, w);
          }
        }
        dw_store(a, &rq, s, bias, oy, x0, v0, v1);
      }
    }
  }
}
#undef LD
#undef MAC

/* ---- plane rows: bytes widened to int16 minus the zero point ---- */

static inline __m256i widen16(const uint8_t *s, bool sgn, __m256i z) {
  __m128i v = _mm_loadu_si128((const __m128i *)s);
  return _mm256_sub_epi16(sgn ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), z);
}

void octet_qs16_widen__avx2(int16_t *d, const uint8_t *s, size_t n, bool sgn, int32_t zx) {
  __m256i z = _mm256_set1_epi16((int16_t)zx);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(d + i), widen16(s + i, sgn, z));
  if (i < n && n >= 16) {
    /* the tail as one vector ending at n: it rewrites a few values with the same result */
    _mm256_storeu_si256((__m256i *)(d + n - 16), widen16(s + n - 16, sgn, z));
    return;
  }
  for (; i < n; i++) d[i] = (int16_t)((sgn ? (int32_t)(int8_t)s[i] : (int32_t)s[i]) - zx);
}

void octet_qs16_widen2__avx2(int16_t *d, const uint8_t *s0, const uint8_t *s1, size_t n, bool sgn,
                             int32_t zx) {
  __m256i z = _mm256_set1_epi16((int16_t)zx);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i a = widen16(s0 + i, sgn, z), b = s1 ? widen16(s1 + i, sgn, z) : _mm256_setzero_si256();
    __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
    _mm256_storeu_si256((__m256i *)(d + 2 * i), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i *)(d + 2 * i + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
  }
  for (; i < n; i++) {
    d[2 * i] = (int16_t)((sgn ? (int32_t)(int8_t)s0[i] : (int32_t)s0[i]) - zx);
    d[2 * i + 1] = s1 ? (int16_t)((sgn ? (int32_t)(int8_t)s1[i] : (int32_t)s1[i]) - zx) : 0;
  }
}

/* ---- depthwise 3x3 stride 1 from the bytes: vertical tap pairs (qgemm-dispatch.h) ----
 * The pair rows hold the raw values (sign- or zero-extended) and zx in the padding; the zero
 * point is folded into the bias instead: sum w (x - zx) + b = sum w x + (b - zx sum w), the
 * same int32 value (both sides wrap modulo 2^32), and the pair sums stay far from overflow
 * (|x|, |w| <= 255). This saves a subtraction per word and the zero fill. */

static inline int32_t dw3_pair(int32_t lo, int32_t hi) {
  return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | ((uint32_t)(uint16_t)(int16_t)hi << 16));
}

static inline const uint8_t *dw3_row(const octet_qdw3_args *a, size_t p) {
  return p >= a->pt && p - a->pt < a->ih ? a->x + (p - a->pt) * a->iw : NULL;
}

/* 16 columns of two byte rows as 16 int16 pairs. */
static inline void dw3_pairs16(int32_t *d, __m128i u, __m128i v, bool sgn) {
  __m128i lo = _mm_unpacklo_epi8(u, v), hi = _mm_unpackhi_epi8(u, v);
  _mm256_storeu_si256((__m256i *)d, sgn ? _mm256_cvtepi8_epi16(lo) : _mm256_cvtepu8_epi16(lo));
  _mm256_storeu_si256((__m256i *)(d + 8), sgn ? _mm256_cvtepi8_epi16(hi) : _mm256_cvtepu8_epi16(hi));
}

/* Pair row of padded rows p, p + 1: vw words (may write 7 more), (zx, zx) outside the
 * input's columns; a padding row reads as zx bytes. */
static inline __attribute__((always_inline)) void dw3_vrow(const octet_qdw3_args *a, int32_t *d, size_t vw,
                                                           size_t p, bool sgn) {
  const uint8_t *r0 = dw3_row(a, p), *r1 = dw3_row(a, p + 1);
  size_t pl = a->pl < vw ? a->pl : vw, n = a->iw < vw - pl ? a->iw : vw - pl, q;
  int32_t zz = dw3_pair(a->zx, a->zx);
  __m256i zv = _mm256_set1_epi32(zz);
  __m128i zb = _mm_set1_epi8((char)a->zx);
  for (q = 0; q < pl; q++) d[q] = zz;
  int32_t *dd = d + pl;
  if (n >= 16) {
    for (q = 0;; q += 16) {
      if (q > n - 16) q = n - 16; /* the last block overlaps: same values written twice */
      dw3_pairs16(dd + q, r0 ? _mm_loadu_si128((const __m128i *)(r0 + q)) : zb,
                  r1 ? _mm_loadu_si128((const __m128i *)(r1 + q)) : zb, sgn);
      if (q == n - 16) break;
    }
  } else {
    for (q = 0; q < n; q++) {
      int32_t u = r0 ? (sgn ? (int32_t)(int8_t)r0[q] : (int32_t)r0[q]) : a->zx;
      int32_t v = r1 ? (sgn ? (int32_t)(int8_t)r1[q] : (int32_t)r1[q]) : a->zx;
      dd[q] = dw3_pair(u, v);
    }
  }
  /* whole vectors: up to 7 words past the row land on the next row, written after this one
   * (the scratch has 8 words of slack after the last) */
  for (q = pl + n; q < vw; q += 8) _mm256_storeu_si256((__m256i *)(d + q), zv);
}

/* float(acc) * scale, clamped when needed, rounded. `clamp` false is only taken when
 * |acc| * scale < 2^30 for every possible acc (octet_qs16_dw3x3__avx2): rounding before
 * clamping to the integral bounds then gives the same value, and the saturating packs clamp. */
static inline __m256i dw3_round(__m256i v, __m256 s, const rq_consts *rq, bool clamp) {
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), s);
  if (clamp) f = _mm256_min_ps(_mm256_max_ps(f, rq->lo), rq->hi);
  return _mm256_cvtps_epi32(f);
}

/* 16 accumulators of one output row -> 16 bytes in pixel order. */
static inline __m128i dw3_requant16(__m256i v0, __m256i v1, __m256 s, const rq_consts *rq, __m256i zp16,
                                    bool sgn, bool clamp) {
  /* [0-3, 8-11 | 4-7, 12-15] as int16, + zp (saturating), narrowed, then put in order */
  __m256i w = _mm256_adds_epi16(_mm256_packs_epi32(dw3_round(v0, s, rq, clamp), dw3_round(v1, s, rq, clamp)), zp16);
  __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
  __m128i b = sgn ? _mm_packs_epi16(wl, wh) : _mm_packus_epi16(wl, wh);
  return _mm_shuffle_epi8(b, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15));
}

/* 32 accumulators -> 32 bytes in pixel order (one lane-crossing permute for all). */
static inline __m256i dw3_requant32(__m256i v0, __m256i v1, __m256i v2, __m256i v3, __m256 s,
                                    const rq_consts *rq, __m256i zp16, bool sgn, bool clamp) {
  __m256i w0 = _mm256_adds_epi16(_mm256_packs_epi32(dw3_round(v0, s, rq, clamp), dw3_round(v1, s, rq, clamp)), zp16);
  __m256i w1 = _mm256_adds_epi16(_mm256_packs_epi32(dw3_round(v2, s, rq, clamp), dw3_round(v3, s, rq, clamp)), zp16);
  /* groups of 4 pixels: lane 0 holds 0, 2, 4, 6 and lane 1 holds 1, 3, 5, 7 */
  __m256i b = sgn ? _mm256_packs_epi16(w0, w1) : _mm256_packus_epi16(w0, w1);
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Taps of one output row on pair rows V0, V1 (weights u0-2 on V0, v0-2 on V1) for 8 pixels.
 * Two short chains, and an empty asm that pins the result: without it the compiler hoists the
 * 24 products of a 32-pixel step ahead of their sums and spills them to the stack. */
static inline __attribute__((always_inline)) __m256i dw3_acc8(const int32_t *V0, const int32_t *V1, __m256i u0,
                                                              __m256i u1, __m256i u2, __m256i v0, __m256i v1,
                                                              __m256i v2, __m256i bias) {
  __m256i p = _mm256_add_epi32(bias, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)V0), u0));
  __m256i q = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)V1), v0);
  p = _mm256_add_epi32(p, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(V0 + 1)), u1));
  q = _mm256_add_epi32(q, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(V1 + 1)), v1));
  p = _mm256_add_epi32(p, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(V0 + 2)), u2));
  q = _mm256_add_epi32(q, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(V1 + 2)), v2));
  p = _mm256_add_epi32(p, q);
  __asm__("" : "+x"(p));
  return p;
}
#define DW3_ACC8(x) dw3_acc8(V0 + (x), V1 + (x), u0, u1, u2, v0, v1, v2, bias)

/* One output row: six tap-pair weights in registers (a pass per output row keeps every weight
 * in a register; two rows at once would reload twelve per step). Steps of 32, 16, then 8 or
 * fewer pixels, so a row of 56 computes nothing past its end. */
static inline __attribute__((always_inline)) void dw3_row_out(const int32_t *V0, const int32_t *V1, uint8_t *o,
                                                              size_t ow, const __m256i *W, __m256i bias,
                                                              __m256 s, const rq_consts *rq, __m256i zp16,
                                                              bool sgn, bool clamp) {
  __m256i u0 = W[0], u1 = W[1], u2 = W[2], v0 = W[3], v1 = W[4], v2 = W[5];
  size_t x = 0;
  for (; x + 32 <= ow; x += 32) {
    __m256i a0 = DW3_ACC8(x), a1 = DW3_ACC8(x + 8), a2 = DW3_ACC8(x + 16), a3 = DW3_ACC8(x + 24);
    _mm256_storeu_si256((__m256i *)(o + x), dw3_requant32(a0, a1, a2, a3, s, rq, zp16, sgn, clamp));
  }
  if (x + 16 <= ow) {
    __m256i a0 = DW3_ACC8(x), a1 = DW3_ACC8(x + 8);
    _mm_storeu_si128((__m128i *)(o + x), dw3_requant16(a0, a1, s, rq, zp16, sgn, clamp));
    x += 16;
  }
  if (x < ow) {
    __m256i a0 = DW3_ACC8(x), a1 = ow - x > 8 ? DW3_ACC8(x + 8) : a0;
    __m128i b = dw3_requant16(a0, a1, s, rq, zp16, sgn, clamp);
    if (ow - x == 8) {
      _mm_storel_epi64((__m128i *)(o + x), b);
    } else {
      uint8_t tmp[16];
      _mm_storeu_si128((__m128i *)tmp, b);
      memcpy(o + x, tmp, ow - x);
    }
  }
}
#undef DW3_ACC8

/* Pair rows are built one step ahead of their first use: row j + 2 while rows 2j, 2j + 1 are
 * computed, so the stores (shuffle and store ports) overlap the products (multiply ports), and
 * no load reads words stored just before it (failed store forwarding would stall it). */
static inline __attribute__((always_inline)) void dw3_run(const octet_qdw3_args *a, const __m256i W[12],
                                                          __m256i bias, bool xsgn, bool osgn, bool clamp) {
  rq_consts rq = rq_make(a->zp, a->out_dtype);
  __m256i zp16 = _mm256_set1_epi16((int16_t)a->zp);
  __m256 s = _mm256_set1_ps(a->scale);
  /* Row j starts `off` words into its slot so that the input's columns (from pl on) are stored
   * 32-byte aligned (with an aligned scratch): misaligned 32-byte stores cost twice. */
  size_t vw = octet_qdw3_width(a->ow), nj = (a->oh + 1) / 2, off = (8 - a->pl % 8) % 8;
  int32_t *rows = a->scratch + off;
  dw3_vrow(a, rows, vw - off, 0, xsgn);
  dw3_vrow(a, rows + vw, vw - off, 2, xsgn);
  uint8_t *out = a->out;
  for (size_t j = 0; j < nj; j++) {
    if (j + 2 <= nj) dw3_vrow(a, rows + (j + 2) * vw, vw - off, 2 * j + 4, xsgn);
    const int32_t *V0 = rows + j * vw, *V1 = V0 + vw;
    uint8_t *o0 = out + 2 * j * a->ow;
    dw3_row_out(V0, V1, o0, a->ow, W, bias, s, &rq, zp16, osgn, clamp);
    if (2 * j + 1 < a->oh) dw3_row_out(V0, V1, o0 + a->ow, a->ow, W + 6, bias, s, &rq, zp16, osgn, clamp);
  }
}

void octet_qs16_dw3x3__avx2(const octet_qdw3_args *a) {
  const int16_t *w = a->w;
  __m256i W[12];
  uint32_t wsum = 0;
  double sw = 0;
  for (int k = 0; k < 3; k++) {
    W[k] = _mm256_set1_epi32(dw3_pair(w[k], w[4 + k]));         /* row 2j:   pair row j     */
    W[3 + k] = _mm256_set1_epi32(dw3_pair(w[8 + k], 0));        /*           pair row j + 1 */
    W[6 + k] = _mm256_set1_epi32(dw3_pair(0, w[k]));            /* row 2j+1: pair row j     */
    W[9 + k] = _mm256_set1_epi32(dw3_pair(w[4 + k], w[8 + k])); /*           pair row j + 1 */
    for (int r = 0; r < 3; r++) wsum += (uint32_t)(int32_t)w[4 * r + k], sw += fabs((double)w[4 * r + k]);
  }
  /* Clamping can be skipped when no accumulator can reach 2^30 / scale (and none wraps). */
  double amax = sw * 256.0 + fabs((double)a->bias);
  bool clamp = !(amax < 2147483000.0 && amax * fabs((double)a->scale) < 1073741824.0);
  __m256i bias = _mm256_set1_epi32((int32_t)((uint32_t)a->bias - (uint32_t)a->zx * wsum));
  /* specialised on the flags so the loops carry no run-time choice */
  bool osgn = a->out_dtype == 3;
  if (clamp) {
    dw3_run(a, W, bias, a->x_signed, osgn, true); /* rare: no need to specialise further */
  } else if (a->x_signed) {
    if (osgn) dw3_run(a, W, bias, true, true, false);
    else dw3_run(a, W, bias, true, false, false);
  } else {
    if (osgn) dw3_run(a, W, bias, false, true, false);
    else dw3_run(a, W, bias, false, false, false);
  }
}
