/* f32-gemm-12x32-avx512f.c — float GEMM micro-kernel, 12 rows x 32 columns, AVX-512F: 24 zmm
 * accumulators, two B loads and twelve A broadcasts per k step. */
#include <immintrin.h>
#include <string.h>

#include "ops/x86/sgemm-ukernels.h"

static inline __m512 finish(__m512 acc, __m512 va, __m512 vb, const float *c, float beta,
                            float bias_i, int has_bias) {
  __m512 r = _mm512_mul_ps(va, acc);
  if (beta != 0.0f) r = _mm512_add_ps(r, _mm512_mul_ps(vb, _mm512_loadu_ps(c)));
  if (has_bias) r = _mm512_add_ps(r, _mm512_set1_ps(bias_i));
  return r;
}

void octet_f32_gemm_12x32__avx512f(size_t kc, const float *a, const float *b, size_t ldb, float *c,
                                   size_t ldc, size_t m, size_t n, float alpha, float beta,
                                   const float *bias) {
  __m512 acc[24];
  for (int i = 0; i < 24; i++) acc[i] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc[2 * i] = _mm512_fmadd_ps(ai, b0, acc[2 * i]);
      acc[2 * i + 1] = _mm512_fmadd_ps(ai, b1, acc[2 * i + 1]);
    }
    a += 12;
    b += ldb;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const int hb = bias != NULL;
  if (m == 12 && n == 32) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
      float *ci = c + i * ldc;
      float bi = hb ? bias[i] : 0.0f;
      _mm512_storeu_ps(ci, finish(acc[2 * i], va, vb, ci, beta, bi, hb));
      _mm512_storeu_ps(ci + 16, finish(acc[2 * i + 1], va, vb, ci + 16, beta, bi, hb));
    }
    return;
  }
  float t[12][32] __attribute__((aligned(64)));
  for (size_t i = 0; i < m; i++) memcpy(t[i], c + i * ldc, n * sizeof(float));
  for (size_t i = 0; i < m; i++) {
    float bi = hb ? bias[i] : 0.0f;
    _mm512_store_ps(t[i], finish(acc[2 * i], va, vb, t[i], beta, bi, hb));
    _mm512_store_ps(t[i] + 16, finish(acc[2 * i + 1], va, vb, t[i] + 16, beta, bi, hb));
  }
  for (size_t i = 0; i < m; i++) memcpy(c + i * ldc, t[i], n * sizeof(float));
}
