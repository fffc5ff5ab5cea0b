/* sgemm-ukernels.h — the x86 float GEMM micro-kernels (see octet_sgemm_ukernel_fn in
 * ops/gemm/sgemm.h). Each is compiled only when the compiler takes its -m flags. */
#ifndef OCTET_X86_SGEMM_UKERNELS_H
#define OCTET_X86_SGEMM_UKERNELS_H

#include <stddef.h>

void octet_f32_gemm_6x16__avx2(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                               size_t m, size_t n, float alpha, float beta, const float *bias);
void octet_f32_gemm_12x32__avx512f(size_t kc, const float *a, const float *b, size_t ldb, float *c,
                                   size_t ldc, size_t m, size_t n, float alpha, float beta,
                                   const float *bias);

#endif
