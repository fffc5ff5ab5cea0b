/* sgemm-ref.c — the plain-C float GEMM: the oracle for the packed micro-kernels. */
#include "ops/gemm/sgemm.h"

void octet_sgemm_ref(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
                     const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                     size_t ldc) {
  for (size_t m = 0; m < M; m++) {
    for (size_t n = 0; n < N; n++) {
      float acc = 0.0f;
      for (size_t k = 0; k < K; k++) {
        float a = trans_a ? A[k * lda + m] : A[m * lda + k];
        float b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
        acc += a * b;
      }
      float c = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
      C[m * ldc + n] = alpha * acc + c;
    }
  }
}
