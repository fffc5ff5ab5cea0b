/* qgemm.h — the integer GEMM core every int8 matrix kernel (MatMulInteger, QLinearMatMul,
 * QGemm, ConvInteger, QLinearConv, ...) runs on: B is packed once (at create when constant),
 * with its per-column sums precomputed so zero points fold into a correction instead of a
 * subtraction per product. A SIMD micro-kernel replaces octet_qgemm_ref and must give the same
 * int32 results (they are exact, so any summation order agrees). */
#ifndef OCTET_OPS_QUANT_QGEMM_H
#define OCTET_OPS_QUANT_QGEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* B (K x N) packed column-major: column n is K contiguous int16 values (the raw u8/s8 weight
 * bytes widened), plus sums of each column and B's zero point per column. */
typedef struct octet_qgemm_packed {
  size_t K, N;
  int16_t *b;       /* N * K */
  int32_t *col_sum; /* N */
  int32_t *zb;      /* N zero points (a per-tensor zero point is repeated) */
} octet_qgemm_packed;

/* Bytes of packed storage for K x N (b, col_sum and zb in one block); false on overflow. */
bool octet_qgemm_packed_size(size_t K, size_t N, size_t *bytes);

/* Packs B (element (k, n) at b[k * stride_k + n * stride_n], u8 or s8 by b_signed) into
 * `mem` (octet_qgemm_packed_size bytes, 2-byte aligned at least). zb: n_zb zero points
 * (1 = per tensor, N = per column), each read as u8/s8 by zb_signed; NULL means 0. */
void octet_qgemm_pack(octet_qgemm_packed *p, void *mem, size_t K, size_t N, const void *b,
                      bool b_signed, size_t stride_k, size_t stride_n, const void *zb,
                      bool zb_signed, size_t n_zb);

/* C[m][n] = sum_k (A[m][k] - za[m]) * (B[k][n] - zb[n]) for m < M, n < N, with A's element
 * (m, k) at a[m * lda + k] (u8 or s8 by a_signed) and za[m] = za[per_row_za ? m : 0].
 * C row m starts at c + m * ldc. Integer overflow wraps (ONNX: accumulation is int32). */
void octet_qgemm_ref(size_t M, const void *a, bool a_signed, size_t lda, const int32_t *za,
                     bool per_row_za, const octet_qgemm_packed *p, int32_t *c, size_t ldc);

#endif
