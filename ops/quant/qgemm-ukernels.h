/* qgemm-ukernels.h — declarations of the per-ISA int8 micro-kernels (ops/quant/x86, ops/quant/arm);
 * each is listed once in qgemm-dispatch.c's table. */
#ifndef OCTET_OPS_QUANT_QGEMM_UKERNELS_H
#define OCTET_OPS_QUANT_QGEMM_UKERNELS_H

#include "ops/quant/qgemm-dispatch.h"

void octet_qs16_gemm_6x16__avx2(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                                size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep);
void octet_qs16_conv_6x16__avx2(const octet_qconv_args *a, size_t oy, size_t ox0, size_t ox1,
                                size_t m0, size_t m1);
void octet_qs16_conv_4x8__neon(const octet_qconv_args *a, size_t oy, size_t ox0, size_t ox1,
                               size_t m0, size_t m1);
void octet_qs16_dwconv__avx2(const octet_qdw_args *a);
void octet_qs16_widen__avx2(int16_t *d, const uint8_t *s, size_t n, bool sgn, int32_t zx);
void octet_qs16_widen2__avx2(int16_t *d, const uint8_t *s0, const uint8_t *s1, size_t n, bool sgn,
                             int32_t zx);
void octet_qs16_gemm_4x8__neon(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                               size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep);
void octet_qs16_dwconv__neon(const octet_qdw_args *a);
void octet_qs8_gemm_4x8c8__neoni8mm(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                                    size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep);
void octet_qs8_gemm_4x8c4__neondot(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                                   size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep);
void octet_qdw_c(const octet_qdw_args *a);
void octet_qs16_dw3x3__avx2(const octet_qdw3_args *a);
void octet_qdw3_c(const octet_qdw3_args *a);

#endif
