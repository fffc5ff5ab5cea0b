/* sgemm.h — float GEMM used by Conv, MatMul, Gemm and the RNNs:
 * C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. Row-major with leading dimensions. */
#ifndef OCTET_SGEMM_H
#define OCTET_SGEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "octet/octet_plugin.h"

/* Packed and blocked; micro-kernel chosen by CPU features (ops/cpu.h). beta == 0: C is not
 * read. Results do not depend on host->n_threads. Never allocates (panels live on the stack). */
void octet_sgemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
                 const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                 size_t ldc, const octet_host *host);

/* The plain-C reference every optimized path is tested against. */
void octet_sgemm_ref(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
                     const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                     size_t ldc);

/* ---- Below: the packed-GEMM building blocks, for kernels that pre-pack weights. ---- */

/* A micro-kernel computes one tile C[m x n] (m <= mr, n <= nr) from a packed A panel (kc rows
 * of mr floats, k-major) and a B panel of kc rows of nr floats, ldb floats apart (nr when
 * packed; a plain row-major B is read in place when a whole panel fits):
 *   C = alpha * (A.B) [+ beta * C when beta != 0] [+ bias[i] on row i when bias != NULL].
 * Panels are zero padded past m / n. */
typedef void (*octet_sgemm_ukernel_fn)(size_t kc, const float *a, const float *b, size_t ldb,
                                       float *c, size_t ldc, size_t m, size_t n, float alpha, float beta,
                                       const float *bias);

typedef struct octet_sgemm_ukernel {
  const char *name;       /* e.g. "octet_f32_gemm_6x16__avx2" */
  unsigned mr, nr;        /* tile */
  unsigned cpu_features;  /* OCTET_CPU_* bits the kernel needs */
  octet_sgemm_ukernel_fn fn;
} octet_sgemm_ukernel;

/* Every micro-kernel compiled into this build (whether or not the CPU runs it). */
size_t octet_sgemm_ukernel_count(void);
const octet_sgemm_ukernel *octet_sgemm_ukernel_at(size_t i);
/* The best one the current CPU mask allows (re-chosen when octet_cpu_set_mask changes it). */
const octet_sgemm_ukernel *octet_sgemm_ukernel_select(void);

/* Packs a panel: rows/cols [r0, r0 + count) of the operand over k in [k0, k0 + kc) into dst,
 * laid out as kc rows of `width` floats (width = mr for A, nr for B), zero padded past count.
 * Conv uses this to build im2col panels on the fly. */
typedef void (*octet_sgemm_pack_fn)(const void *ctx, size_t r0, size_t count, size_t k0,
                                    size_t kc, size_t width, float *dst);

/* One operand of octet_sgemm_run, in the first form that is set:
 *  - packed: the whole operand pre-packed by octet_sgemm_pack_a/_b with the same micro-kernel;
 *  - pack + ctx: a panel packer;
 *  - data + ld + trans: a plain row-major matrix (op(A) is M x K, op(B) is K x N). */
typedef struct octet_sgemm_operand {
  const float *packed;
  octet_sgemm_pack_fn pack;
  const void *ctx;
  const float *data;
  size_t ld;
  bool trans;
} octet_sgemm_operand;

/* Size in floats of a fully packed A (M x K) / B (K x N) for micro-kernel uk; 0 on overflow. */
size_t octet_sgemm_packed_a_size(const octet_sgemm_ukernel *uk, size_t M, size_t K);
size_t octet_sgemm_packed_b_size(const octet_sgemm_ukernel *uk, size_t K, size_t N);
/* Packs op(A) (M x K) or op(B) (K x N) for uk into dst (size from the functions above). */
void octet_sgemm_pack_a(const octet_sgemm_ukernel *uk, bool trans, size_t M, size_t K,
                        const float *A, size_t lda, float *dst);
void octet_sgemm_pack_b(const octet_sgemm_ukernel *uk, bool trans, size_t K, size_t N,
                        const float *B, size_t ldb, float *dst);

/* C = alpha * op(A) op(B) + beta * C (+ bias[m] per row when bias != NULL), with micro-kernel
 * uk (NULL: octet_sgemm_ukernel_select()), split over M/N tiles with host->parallel_for. */
void octet_sgemm_run(const octet_sgemm_ukernel *uk, size_t M, size_t N, size_t K, float alpha,
                     const octet_sgemm_operand *a, const octet_sgemm_operand *b, float beta,
                     float *C, size_t ldc, const float *bias, const octet_host *host);

#endif
