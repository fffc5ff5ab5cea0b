/* f32-gemm-6x16-avx2.c — float GEMM micro-kernel, 6 rows x 16 columns, AVX2 + FMA: 12 ymm
 * accumulators, two B loads and six A broadcasts per k step. */
#include <immintrin.h>
#include <string.h>

#include "ops/x86/sgemm-ukernels.h"

static inline __m256 finish(__m256 acc, __m256 va, __m256 vb, const float *c, float beta,
                            float bias_i, int has_bias) {
  __m256 r = _mm256_mul_ps(va, acc);
  if (beta != 0.0f) r = _mm256_add_ps(r, _mm256_mul_ps(vb, _mm256_loadu_ps(c)));
  if (has_bias) r = _mm256_add_ps(r, _mm256_set1_ps(bias_i));
  return r;
}

void octet_f32_gemm_6x16__avx2(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                               size_t m, size_t n, float alpha, float beta, const float *bias) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (size_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 ai;
    ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += 6;
    b += ldb;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const int hb = bias != NULL;
  if (m == 6 && n == 16) {
#define ROW(i, x0, x1)                                                                   \
  do {                                                                                   \
    float *ci = c + (i) * ldc;                                                           \
    float bi = hb ? bias[i] : 0.0f;                                                      \
    _mm256_storeu_ps(ci, finish(x0, va, vb, ci, beta, bi, hb));                          \
    _mm256_storeu_ps(ci + 8, finish(x1, va, vb, ci + 8, beta, bi, hb));                  \
  } while (0)
    ROW(0, c00, c01);
    ROW(1, c10, c11);
    ROW(2, c20, c21);
    ROW(3, c30, c31);
    ROW(4, c40, c41);
    ROW(5, c50, c51);
#undef ROW
    return;
  }
  /* Edge tile: the same arithmetic through a local tile, then only the valid part is copied. */
  float t[6][16] __attribute__((aligned(32)));
  for (size_t i = 0; i < m; i++) memcpy(t[i], c + i * ldc, n * sizeof(float));
  __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (size_t i = 0; i < m; i++) {
    float bi = hb ? bias[i] : 0.0f;
    _mm256_store_ps(t[i], finish(acc[2 * i], va, vb, t[i], beta, bi, hb));
    _mm256_store_ps(t[i] + 8, finish(acc[2 * i + 1], va, vb, t[i] + 8, beta, bi, hb));
  }
  for (size_t i = 0; i < m; i++) memcpy(c + i * ldc, t[i], n * sizeof(float));
}
