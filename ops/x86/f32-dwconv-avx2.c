/* f32-dwconv-avx2.c — one output row of a 2-D depthwise convolution, AVX2 + FMA: 32 (then 8)
 * columns at a time over zero-padded copies of the input rows, every tap accumulated in registers
 * (strides 1 and 2); other strides through the portable template (ops/float/nn/dw-row.inc). */
#include <immintrin.h>
#include <string.h>

#include "ops/float/nn/nn-kernels.h"

#define DW_ROW_NAME dw_row_generic
static
#include "ops/float/nn/dw-row.inc"

/* Elements 0, 2, ..., 14 of p (p[15] is not read past p[14]'s neighbour: reads p[0..15]). */
static inline __m256 even8(const float *p) {
  __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
  __m256 ev = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
}

void octet_f32_dwconv_row__avx2(const float *x, int64_t IH, int64_t IW, const float *w,
                                int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t dh,
                                int64_t dw, int64_t ph, int64_t pw, int64_t oh, int64_t OW,
                                float bias, float *restrict y) {
  /* Each input row the window touches is copied once, zero padded, into a local buffer, so
   * every output column is computed with vectors and no bounds checks. */
  enum { BUF = 16384 };
  const int64_t L = ((OW + 7) / 8 * 8 - 1) * sw + (KW - 1) * dw + 1 + 16;
  if (sw > 2 || KH * L > BUF) {
    dw_row_generic(x, IH, IW, w, KH, KW, sh, sw, dh, dw, ph, pw, oh, OW, bias, y);
    return;
  }
  float buf[BUF] __attribute__((aligned(32)));
  const float *rows[64];
  const float *wts[64];
  int nrows = 0;
  const int64_t ih0 = oh * sh - ph;
  for (int64_t kh = 0; kh < KH && nrows < 64; kh++) {
    int64_t ih = ih0 + kh * dh;
    if (ih < 0 || ih >= IH) continue;
    float *r = buf + nrows * L;
    int64_t a = pw < L ? pw : L, b = pw + IW < L ? pw + IW : L; /* [a, b) holds the input row */
    for (int64_t t = 0; t < a; t++) r[t] = 0.0f;
    if (b > a) memcpy(r + a, x + ih * IW, (size_t)(b - a) * sizeof(float));
    for (int64_t t = b > a ? b : a; t < L; t++) r[t] = 0.0f;
    rows[nrows] = r;
    wts[nrows] = w + kh * KW;
    nrows++;
  }
  if (KH > 64) {
    dw_row_generic(x, IH, IW, w, KH, KW, sh, sw, dh, dw, ph, pw, oh, OW, bias, y);
    return;
  }
  int64_t ow = 0;
  for (; ow + 32 <= OW; ow += 32) {
    /* Four vectors at once: four independent FMA chains hide the FMA latency. */
    __m256 a0 = _mm256_set1_ps(bias), a1 = a0, a2 = a0, a3 = a0;
    for (int r = 0; r < nrows; r++) {
      const float *xr = rows[r] + ow * sw;
      const float *wk = wts[r];
      for (int64_t kw = 0; kw < KW; kw++) {
        const __m256 wv = _mm256_broadcast_ss(wk + kw);
        const float *p = xr + kw * dw;
        if (sw == 1) {
          a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p), a0);
          a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 8), a1);
          a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 16), a2);
          a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 24), a3);
        } else {
          a0 = _mm256_fmadd_ps(wv, even8(p), a0);
          a1 = _mm256_fmadd_ps(wv, even8(p + 16), a1);
          a2 = _mm256_fmadd_ps(wv, even8(p + 32), a2);
          a3 = _mm256_fmadd_ps(wv, even8(p + 48), a3);
        }
      }
    }
    _mm256_storeu_ps(y + ow, a0);
    _mm256_storeu_ps(y + ow + 8, a1);
    _mm256_storeu_ps(y + ow + 16, a2);
    _mm256_storeu_ps(y + ow + 24, a3);
  }
  for (; ow < OW; ow += 8) {
    /* One chain per window row (up to four), summed at the end: narrow rows are otherwise
     * bound by the latency of one long FMA chain. */
    __m256 ch[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                    _mm256_setzero_ps()};
    for (int r = 0; r < nrows; r++) {
      const float *xr = rows[r] + ow * sw;
      const float *wk = wts[r];
      __m256 acc = ch[r & 3];
      for (int64_t kw = 0; kw < KW; kw++) {
        const float *p = xr + kw * dw;
        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + kw), sw == 1 ? _mm256_loadu_ps(p) : even8(p), acc);
      }
      ch[r & 3] = acc;
    }
    __m256 acc = _mm256_add_ps(_mm256_add_ps(_mm256_set1_ps(bias), _mm256_add_ps(ch[0], ch[1])),
                               _mm256_add_ps(ch[2], ch[3]));
    if (ow + 8 <= OW) {
      _mm256_storeu_ps(y + ow, acc);
    } else {
      float tail[8] __attribute__((aligned(32)));
      _mm256_store_ps(tail, acc);
      memcpy(y + ow, tail, (size_t)(OW - ow) * sizeof(float));
    }
  }
}
