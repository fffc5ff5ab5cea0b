/* sgemm.h — float GEMM used by Conv, MatMul, Gemm and the RNNs:
 * C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. Row-major with leading dimensions. */
#ifndef OCTET_SGEMM_H
#define OCTET_SGEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "octet/octet_plugin.h"

void octet_sgemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
                 const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                 size_t ldc, const octet_host *host);

/* The plain-C reference every optimized path is tested against. */
void octet_sgemm_ref(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
                     const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                     size_t ldc);

#endif
