/* q8-dynamic-quant-avx2.c — AVX2 run-time activation quantization: the min/max scan, float ->
 * uint8, and float -> int16-pair A panels. Built with -mavx2; bit-identical to the references in
 * ops/quant/q8-dynamic-quant.c. */
#include <immintrin.h>
#include <math.h>

#include "ops/quant/q8-dynamic-quant.h"
#include "ops/quant/requant.h"

/* minps(x, acc) is (x < acc ? x : acc) lane by lane, exactly the scalar compare, so a NaN in x
 * is skipped as in the reference; the order of the (NaN-free) reductions cannot change a
 * minimum except for the sign of a zero. */
void octet_q8_minmax__avx2(const float *x, size_t n, float *lo, float *hi) {
  __m256 l0 = _mm256_set1_ps(INFINITY), l1 = l0, h0 = _mm256_set1_ps(-INFINITY), h1 = h0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    l0 = _mm256_min_ps(a, l0), h0 = _mm256_max_ps(a, h0);
    l1 = _mm256_min_ps(b, l1), h1 = _mm256_max_ps(b, h1);
  }
  if (i + 8 <= n) {
    __m256 a = _mm256_loadu_ps(x + i);
    l0 = _mm256_min_ps(a, l0), h0 = _mm256_max_ps(a, h0);
    i += 8;
  }
  l0 = _mm256_min_ps(l0, l1), h0 = _mm256_max_ps(h0, h1);
  __m128 l = _mm_min_ps(_mm256_castps256_ps128(l0), _mm256_extractf128_ps(l0, 1));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(h0), _mm256_extractf128_ps(h0, 1));
  l = _mm_min_ps(l, _mm_movehl_ps(l, l)), h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  l = _mm_min_ss(l, _mm_shuffle_ps(l, l, 1)), h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  float lv = _mm_cvtss_f32(l), hv = _mm_cvtss_f32(h);
  for (; i < n; i++) {
    lv = x[i] < lv ? x[i] : lv;
    hv = x[i] > hv ? x[i] : hv;
  }
  *lo = lv, *hi = hv;
}

/* x / scale (a true division, as the reference), clamped with maxps/minps ((v > lo ? v : lo),
 * then (v < hi ? v : hi): a NaN lands on lo as in octet_clamp_round) to [lo, hi], then rounded
 * by cvtps under the current MXCSR mode, which is what nearbyintf honours. */
static inline __m256i quant8(const float *x, __m256 s, __m256 lo, __m256 hi) {
  __m256 v = _mm256_div_ps(_mm256_loadu_ps(x), s);
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  return _mm256_cvtps_epi32(v);
}

void octet_qu8_quantize__avx2(uint8_t *y, const float *x, size_t n, float scale, int32_t zp) {
  __m256 s = _mm256_set1_ps(scale), lo = _mm256_set1_ps((float)(0 - zp)),
         hi = _mm256_set1_ps((float)(255 - zp));
  __m256i z = _mm256_set1_epi32(zp);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i a = _mm256_add_epi32(quant8(x + i, s, lo, hi), z);
    __m256i b = _mm256_add_epi32(quant8(x + i + 8, s, lo, hi), z);
    /* in [0, 255]: the saturating packs only narrow; packs interleave 128-bit lanes */
    __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xd8);
    __m128i q = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
    _mm_storeu_si128((__m128i *)(y + i), q);
  }
  octet_qrange r = {0, 255};
  for (; i < n; i++) y[i] = (uint8_t)octet_quantize_value(x[i], scale, zp, r);
}

/* One row: per 8 values, 4 pairs stored 32 bits at a time at the row's slot of each k pair. */
static void quant_row1(int16_t *dst, size_t step, const float *x, size_t K, float scale, int32_t zp,
                       __m256 s, __m256 lo, __m256 hi) {
  size_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256i v = quant8(x + k, s, lo, hi);
    /* |v| <= 255: packs keeps values; per 128-bit lane the low 64 bits hold 4 int16 = 2 pairs */
    __m256i w = _mm256_packs_epi32(v, v);
    __m128i a = _mm256_castsi256_si128(w), b = _mm256_extracti128_si256(w, 1);
    int16_t *d = dst + (k / 2) * step;
    _mm_storeu_si32(d, a);
    _mm_storeu_si32(d + step, _mm_srli_si128(a, 4));
    _mm_storeu_si32(d + 2 * step, b);
    _mm_storeu_si32(d + 3 * step, _mm_srli_si128(b, 4));
  }
  octet_qrange r = {0, 255};
  for (; k < K; k++)
    dst[(k / 2) * step + (k & 1)] = (int16_t)(octet_quantize_value(x[k], scale, zp, r) - zp);
  if (K & 1) dst[(K / 2) * step + 1] = 0;
}

/* Two neighbouring rows: their slots of one k pair are adjacent, so each k pair takes one
 * 64-bit store (row i's pair, then row i + 1's) instead of two 32-bit ones. */
static void quant_row2(int16_t *dst, size_t step, const float *x0, const float *x1, size_t K,
                       float scale, int32_t zp, __m256 s, __m256 lo, __m256 hi) {
  size_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256i v0 = quant8(x0 + k, s, lo, hi), v1 = quant8(x1 + k, s, lo, hi);
    /* per lane: dwords (row0 pair a, row0 pair b, row1 pair a, row1 pair b) -> (0a, 1a, 0b, 1b) */
    __m256i w = _mm256_shuffle_epi32(_mm256_packs_epi32(v0, v1), 0xd8);
    __m128i a = _mm256_castsi256_si128(w), b = _mm256_extracti128_si256(w, 1);
    int16_t *d = dst + (k / 2) * step;
    _mm_storel_epi64((__m128i *)d, a);
    _mm_storeh_pd((double *)(void *)(d + step), _mm_castsi128_pd(a));
    _mm_storel_epi64((__m128i *)(d + 2 * step), b);
    _mm_storeh_pd((double *)(void *)(d + 3 * step), _mm_castsi128_pd(b));
  }
  if (k < K) {
    octet_qrange r = {0, 255};
    for (size_t j = k; j < K; j++) {
      dst[(j / 2) * step + (j & 1)] = (int16_t)(octet_quantize_value(x0[j], scale, zp, r) - zp);
      dst[(j / 2) * step + 2 + (j & 1)] = (int16_t)(octet_quantize_value(x1[j], scale, zp, r) - zp);
    }
  }
  if (K & 1) dst[(K / 2) * step + 1] = dst[(K / 2) * step + 3] = 0;
}

void octet_qs16_quant_rows__avx2(int16_t *dst, size_t tile, const float *x, size_t ld, size_t rows,
                                 size_t K, float scale, int32_t zp) {
  /* q - zp = clamp_round(x / scale, -zp, 255 - zp): the zero point never needs adding back */
  __m256 s = _mm256_set1_ps(scale), lo = _mm256_set1_ps((float)(0 - zp)),
         hi = _mm256_set1_ps((float)(255 - zp));
  size_t step = tile * 2; /* int16 between consecutive k pairs of one row */
  size_t i = 0;
  for (; i + 2 <= rows; i += 2)
    quant_row2(dst + i * 2, step, x + i * ld, x + (i + 1) * ld, K, scale, zp, s, lo, hi);
  if (i < rows) quant_row1(dst + i * 2, step, x + i * ld, K, scale, zp, s, lo, hi);
}

/* (float)(q - zp) * scale: the same int32 difference, conversion and single float product as
 * octet_dequantize_value, 8 values per step. */
void octet_q8_dequantize__avx2(float *y, const void *x, size_t n, float scale, int32_t zp, bool is_signed) {
  const uint8_t *q = x;
  __m256 s = _mm256_set1_ps(scale);
  __m256i z = _mm256_set1_epi32(zp);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i b = _mm_loadl_epi64((const __m128i *)(q + i));
    __m256i v = is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
  }
  for (; i < n; i++) y[i] = octet_dequantize_value(is_signed ? (int8_t)q[i] : q[i], scale, zp);
}
