/* qlinear-eltwise-avx2.c — AVX2 + FMA runs of QLinearAdd and QLinearMul (qgemm-dispatch.h),
 * 32 elements a step; bit-identical to the plain-C runs in qlinear-eltwise.c. */
#include <immintrin.h>
#include <string.h>

#include "ops/quant/qgemm-dispatch.h"

/* 8 bytes at p as floats (u8 or s8). */
static inline __m256 load8(const uint8_t *p, bool sgn) {
  __m128i v = _mm_loadl_epi64((const __m128i *)p);
  return _mm256_cvtepi32_ps(sgn ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v));
}

/* sat(): maxps with the value first returns lo for a NaN as the reference's !(v >= lo) does;
 * once inside [lo, hi] cvtps2dq rounds half to even (default MXCSR) like nearbyintf, and the
 * packs cannot saturate. */
static inline __m256i clamp_round(__m256 v, __m256 lo, __m256 hi) {
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
}

static inline void store32(uint8_t *y, __m256i q0, __m256i q1, __m256i q2, __m256i q3, bool sgn) {
  __m256i p01 = _mm256_packs_epi32(q0, q1), p23 = _mm256_packs_epi32(q2, q3);
  __m256i b = sgn ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
  /* lanes hold 4-byte groups in the order 0 2 4 6 | 1 3 5 7 of the 8-value groups' halves */
  b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256((__m256i *)y, b);
}

void octet_qadd_vv__avx2(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, float ra,
                         float rb, float c) {
  const __m256 vra = _mm256_set1_ps(ra), vrb = _mm256_set1_ps(rb), vc = _mm256_set1_ps(c);
  const __m256 lo = _mm256_set1_ps(sgn ? -128.0f : 0.0f), hi = _mm256_set1_ps(sgn ? 127.0f : 255.0f);
  uint8_t ta[32], tb[32], ty[32];
  for (size_t i = 0; i < n; i += 32) {
    const uint8_t *pa = a + i, *pb = b + i;
    uint8_t *py = y + i;
    size_t m = n - i < 32 ? n - i : 32;
    if (m < 32) { /* the tail through a full block of scratch */
      memset(ta, 0, sizeof ta), memset(tb, 0, sizeof tb);
      memcpy(ta, pa, m), memcpy(tb, pb, m);
      pa = ta, pb = tb, py = ty;
    }
    __m256i q[4];
    for (int j = 0; j < 4; j++) {
      __m256 v = _mm256_fmadd_ps(load8(pa + 8 * j, sgn), vra,
                                 _mm256_fmadd_ps(load8(pb + 8 * j, sgn), vrb, vc));
      q[j] = clamp_round(v, lo, hi);
    }
    store32(py, q[0], q[1], q[2], q[3], sgn);
    if (m < 32) memcpy(y + i, ty, m);
  }
}

void octet_qadd_vs__avx2(uint8_t *y, const uint8_t *x, size_t n, bool sgn, float r, float c) {
  const __m256 vr = _mm256_set1_ps(r), vc = _mm256_set1_ps(c);
  const __m256 lo = _mm256_set1_ps(sgn ? -128.0f : 0.0f), hi = _mm256_set1_ps(sgn ? 127.0f : 255.0f);
  uint8_t tx[32], ty[32];
  for (size_t i = 0; i < n; i += 32) {
    const uint8_t *px = x + i;
    uint8_t *py = y + i;
    size_t m = n - i < 32 ? n - i : 32;
    if (m < 32) {
      memset(tx, 0, sizeof tx);
      memcpy(tx, px, m);
      px = tx, py = ty;
    }
    __m256i q[4];
    for (int j = 0; j < 4; j++) q[j] = clamp_round(_mm256_fmadd_ps(load8(px + 8 * j, sgn), vr, vc), lo, hi);
    store32(py, q[0], q[1], q[2], q[3], sgn);
    if (m < 32) memcpy(y + i, ty, m);
  }
}

/* ---- QLinearMul runs: bit-identical to octet_qmul_vv_c / octet_qmul_vs_c ---- */

/* 8 bytes at p as int32 (u8 or s8). */
static inline __m256i load8i(const uint8_t *p, bool sgn) {
  __m128i v = _mm_loadl_epi64((const __m128i *)p);
  return sgn ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

/* The exact product (|p| <= 255 * 255 converts to float exactly), then a multiply and an add
 * kept apart (this file is built with -ffp-contract=off), as the reference rounds twice. */
static inline __m256i mul_step(__m256i p, __m256 m, __m256 c, __m256 lo, __m256 hi) {
  return clamp_round(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(p), m), c), lo, hi);
}

void octet_qmul_vv__avx2(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, int32_t za, int32_t zb,
                         float m, float zc) {
  const __m256i vza = _mm256_set1_epi32(za), vzb = _mm256_set1_epi32(zb);
  const __m256 vm = _mm256_set1_ps(m), vc = _mm256_set1_ps(zc);
  const __m256 lo = _mm256_set1_ps(sgn ? -128.0f : 0.0f), hi = _mm256_set1_ps(sgn ? 127.0f : 255.0f);
  uint8_t ta[32], tb[32], ty[32];
  for (size_t i = 0; i < n; i += 32) {
    const uint8_t *pa = a + i, *pb = b + i;
    uint8_t *py = y + i;
    size_t r = n - i < 32 ? n - i : 32;
    if (r < 32) { /* the tail through a full block of scratch */
      memset(ta, 0, sizeof ta), memset(tb, 0, sizeof tb);
      memcpy(ta, pa, r), memcpy(tb, pb, r);
      pa = ta, pb = tb, py = ty;
    }
    __m256i q[4];
    for (int j = 0; j < 4; j++) {
      __m256i p = _mm256_mullo_epi32(_mm256_sub_epi32(load8i(pa + 8 * j, sgn), vza),
                                     _mm256_sub_epi32(load8i(pb + 8 * j, sgn), vzb));
      q[j] = mul_step(p, vm, vc, lo, hi);
    }
    store32(py, q[0], q[1], q[2], q[3], sgn);
    if (r < 32) memcpy(y + i, ty, r);
  }
}

void octet_qmul_vs__avx2(uint8_t *y, const uint8_t *x, size_t n, bool sgn, int32_t zx, int32_t k, float m,
                         float zc) {
  const __m256i vzx = _mm256_set1_epi32(zx), vk = _mm256_set1_epi32(k);
  const __m256 vm = _mm256_set1_ps(m), vc = _mm256_set1_ps(zc);
  const __m256 lo = _mm256_set1_ps(sgn ? -128.0f : 0.0f), hi = _mm256_set1_ps(sgn ? 127.0f : 255.0f);
  uint8_t tx[32], ty[32];
  for (size_t i = 0; i < n; i += 32) {
    const uint8_t *px = x + i;
    uint8_t *py = y + i;
    size_t r = n - i < 32 ? n - i : 32;
    if (r < 32) {
      memset(tx, 0, sizeof tx);
      memcpy(tx, px, r);
      px = tx, py = ty;
    }
    __m256i q[4];
    for (int j = 0; j < 4; j++)
      q[j] = mul_step(_mm256_mullo_epi32(_mm256_sub_epi32(load8i(px + 8 * j, sgn), vzx), vk), vm, vc, lo, hi);
    store32(py, q[0], q[1], q[2], q[3], sgn);
    if (r < 32) memcpy(y + i, ty, r);
  }
}
