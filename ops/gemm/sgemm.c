/* sgemm.c — the packed, blocked float GEMM driver: panel packing, cache blocking over K/M/N,
 * parallel split over output tiles, micro-kernel dispatch, and the portable C micro-kernel. */
#include <string.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/gemm/sgemm.h"
#include "ops/x86/isa-config.h"
#include "ops/x86/sgemm-ukernels.h"

/* Blocking: a KC x NR panel of B stays in L1 while the MC x KC block of A sits in L2. */
#define KC 256
#define MC_MAX 48
#define NC 128
#define MC_PACKED_A 512
#define NC_PACKED_B 1024
#define NR_MAX 32

/* ---- Portable micro-kernel: 4x16, plain C the compiler may vectorize with the base ISA. ---- */

static void f32_gemm_4x16__scalar(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                                  size_t m, size_t n, float alpha, float beta, const float *bias) {
  float acc[4][16];
  memset(acc, 0, sizeof acc);
  for (size_t k = 0; k < kc; k++) {
    for (int i = 0; i < 4; i++) {
      float ai = a[i];
      for (int j = 0; j < 16; j++) acc[i][j] += ai * b[j];
    }
    a += 4;
    b += ldb;
  }
  for (size_t i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    for (size_t j = 0; j < n; j++) {
      float r = alpha * acc[i][j];
      if (beta != 0.0f) r += beta * ci[j];
      if (bias) r += bias[i];
      ci[j] = r;
    }
  }
}

static const octet_sgemm_ukernel ukernels[] = {
#if OCTET_X86_AVX512
  {"octet_f32_gemm_12x32__avx512f", 12, 32, OCTET_CPU_LEVEL_AVX512, octet_f32_gemm_12x32__avx512f},
#endif
#if OCTET_X86_AVX2
  {"octet_f32_gemm_6x16__avx2", 6, 16, OCTET_CPU_LEVEL_AVX2, octet_f32_gemm_6x16__avx2},
#endif
  {"octet_f32_gemm_4x16__scalar", 4, 16, 0, f32_gemm_4x16__scalar},
};

size_t octet_sgemm_ukernel_count(void) { return OCTET_COUNTOF(ukernels); }

const octet_sgemm_ukernel *octet_sgemm_ukernel_at(size_t i) {
  return i < OCTET_COUNTOF(ukernels) ? &ukernels[i] : NULL;
}

static const octet_sgemm_ukernel *g_selected;
static uint32_t g_selected_gen;

const octet_sgemm_ukernel *octet_sgemm_ukernel_select(void) {
  uint32_t gen = octet_cpu_generation();
  const octet_sgemm_ukernel *uk = __atomic_load_n(&g_selected, __ATOMIC_ACQUIRE);
  if (uk && __atomic_load_n(&g_selected_gen, __ATOMIC_ACQUIRE) == gen) return uk;
  uint32_t f = octet_cpu_features();
  uk = &ukernels[OCTET_COUNTOF(ukernels) - 1];
  for (size_t i = 0; i < OCTET_COUNTOF(ukernels); i++)
    if ((ukernels[i].cpu_features & f) == ukernels[i].cpu_features) {
      uk = &ukernels[i];
      break;
    }
  __atomic_store_n(&g_selected_gen, gen, __ATOMIC_RELEASE);
  __atomic_store_n(&g_selected, uk, __ATOMIC_RELEASE);
  return uk;
}

/* ---- Packing of plain matrices. ---- */

/* op(A) rows [r0, r0+count), k in [k0, k0+kc) -> dst[k][width]. */
static void pack_a_plain(const float *A, size_t lda, bool trans, size_t r0, size_t count,
                         size_t k0, size_t kc, size_t width, float *dst) {
  if (!trans) {
    for (size_t i = 0; i < count; i++) {
      const float *row = A + (r0 + i) * lda + k0;
      for (size_t k = 0; k < kc; k++) dst[k * width + i] = row[k];
    }
  } else {
    for (size_t k = 0; k < kc; k++) memcpy(dst + k * width, A + (k0 + k) * lda + r0, count * sizeof(float));
  }
  if (count < width)
    for (size_t k = 0; k < kc; k++) memset(dst + k * width + count, 0, (width - count) * sizeof(float));
}

/* op(B) columns [r0, r0+count), k in [k0, k0+kc) -> dst[k][width]. */
static void pack_b_plain(const float *B, size_t ldb, bool trans, size_t r0, size_t count,
                         size_t k0, size_t kc, size_t width, float *dst) {
  if (!trans) {
    const float *src = B + k0 * ldb + r0;
    /* Whole panels: constant-size copies the compiler inlines. */
    if (count == 16 && width == 16)
      for (size_t k = 0; k < kc; k++) memcpy(dst + k * 16, src + k * ldb, 16 * sizeof(float));
    else if (count == 32 && width == 32)
      for (size_t k = 0; k < kc; k++) memcpy(dst + k * 32, src + k * ldb, 32 * sizeof(float));
    else
      for (size_t k = 0; k < kc; k++) memcpy(dst + k * width, src + k * ldb, count * sizeof(float));
  } else {
    for (size_t j = 0; j < count; j++) {
      const float *col = B + (r0 + j) * ldb + k0;
      for (size_t k = 0; k < kc; k++) dst[k * width + j] = col[k];
    }
  }
  if (count < width)
    for (size_t k = 0; k < kc; k++) memset(dst + k * width + count, 0, (width - count) * sizeof(float));
}

static size_t packed_size(size_t rows, size_t tile, size_t K) {
  size_t panels = rows / tile + (rows % tile != 0), n;
  if (!octet_mul_size(panels, tile, &n) || !octet_mul_size(n, K, &n)) return 0;
  return n;
}

size_t octet_sgemm_packed_a_size(const octet_sgemm_ukernel *uk, size_t M, size_t K) {
  return packed_size(M, uk->mr, K);
}
size_t octet_sgemm_packed_b_size(const octet_sgemm_ukernel *uk, size_t K, size_t N) {
  return packed_size(N, uk->nr, K);
}

void octet_sgemm_pack_a(const octet_sgemm_ukernel *uk, bool trans, size_t M, size_t K,
                        const float *A, size_t lda, float *dst) {
  for (size_t m0 = 0; m0 < M; m0 += uk->mr) {
    size_t cnt = M - m0 < uk->mr ? M - m0 : uk->mr;
    pack_a_plain(A, lda, trans, m0, cnt, 0, K, uk->mr, dst + (m0 / uk->mr) * K * uk->mr);
  }
}

void octet_sgemm_pack_b(const octet_sgemm_ukernel *uk, bool trans, size_t K, size_t N,
                        const float *B, size_t ldb, float *dst) {
  for (size_t n0 = 0; n0 < N; n0 += uk->nr) {
    size_t cnt = N - n0 < uk->nr ? N - n0 : uk->nr;
    pack_b_plain(B, ldb, trans, n0, cnt, 0, K, uk->nr, dst + (n0 / uk->nr) * K * uk->nr);
  }
}

/* ---- The driver. ---- */

typedef struct gemm_job {
  const octet_sgemm_ukernel *uk;
  size_t M, N, K, mc, nc, n_tiles_n;
  float alpha, beta;
  const octet_sgemm_operand *a, *b;
  float *C;
  size_t ldc;
  const float *bias;
} gemm_job;

/* A plain B panel is read in place only when its rows, ld floats apart, spread over the L1
 * sets: a row stride that is a multiple of 128 bytes folds the panel onto a few sets (4 KiB
 * aliasing), and packing is then cheaper than the misses. */
static bool in_place_ok(size_t ld) { return (ld * sizeof(float)) % 128 != 0; }

static void gemm_tile(const gemm_job *j, size_t m0, size_t mc, size_t n0, size_t nc) {
  const octet_sgemm_ukernel *uk = j->uk;
  const size_t mr = uk->mr, nr = uk->nr, K = j->K;
  const octet_sgemm_operand *a = j->a, *b = j->b;
  float abuf[MC_MAX * KC] __attribute__((aligned(64)));
  float bbuf[KC * NR_MAX] __attribute__((aligned(64)));
  for (size_t k0 = 0; k0 < K; k0 += KC) {
    size_t kc = K - k0 < KC ? K - k0 : KC;
    float beta = k0 == 0 ? j->beta : 1.0f;
    const float *bias = k0 == 0 ? j->bias : NULL;
    const float *ablk;
    size_t a_pstride;
    if (a->packed) {
      ablk = a->packed + (m0 / mr) * K * mr + k0 * mr;
      a_pstride = K * mr;
    } else {
      for (size_t mm = 0; mm < mc; mm += mr) {
        size_t cnt = mc - mm < mr ? mc - mm : mr;
        float *dst = abuf + (mm / mr) * kc * mr;
        if (a->pack) a->pack(a->ctx, m0 + mm, cnt, k0, kc, mr, dst);
        else pack_a_plain(a->data, a->ld, a->trans, m0 + mm, cnt, k0, kc, mr, dst);
      }
      ablk = abuf;
      a_pstride = kc * mr;
    }
    for (size_t nn = 0; nn < nc; nn += nr) {
      size_t ncols = nc - nn < nr ? nc - nn : nr;
      const float *bp;
      size_t ldb = nr;
      if (b->packed) {
        bp = b->packed + ((n0 + nn) / nr) * K * nr + k0 * nr;
      } else if (!b->pack && !b->trans && ncols == nr && in_place_ok(b->ld)) {
        bp = b->data + k0 * b->ld + n0 + nn; /* whole panel of a plain B: read in place */
        ldb = b->ld;
      } else {
        if (b->pack) b->pack(b->ctx, n0 + nn, ncols, k0, kc, nr, bbuf);
        else pack_b_plain(b->data, b->ld, b->trans, n0 + nn, ncols, k0, kc, nr, bbuf);
        bp = bbuf;
      }
      for (size_t mm = 0; mm < mc; mm += mr) {
        size_t rows = mc - mm < mr ? mc - mm : mr;
        uk->fn(kc, ablk + (mm / mr) * a_pstride, bp, ldb, j->C + (m0 + mm) * j->ldc + n0 + nn,
               j->ldc, rows, ncols, j->alpha, beta, bias ? bias + m0 + mm : NULL);
      }
    }
  }
}

static void gemm_task(void *arg, size_t begin, size_t end) {
  const gemm_job *j = arg;
  for (size_t t = begin; t < end; t++) {
    size_t mt = t / j->n_tiles_n, nt = t % j->n_tiles_n;
    size_t m0 = mt * j->mc, n0 = nt * j->nc;
    size_t mc = j->M - m0 < j->mc ? j->M - m0 : j->mc;
    size_t nc = j->N - n0 < j->nc ? j->N - n0 : j->nc;
    gemm_tile(j, m0, mc, n0, nc);
  }
}

void octet_sgemm_run(const octet_sgemm_ukernel *uk, size_t M, size_t N, size_t K, float alpha,
                     const octet_sgemm_operand *a, const octet_sgemm_operand *b, float beta,
                     float *C, size_t ldc, const float *bias, const octet_host *host) {
  if (M == 0 || N == 0) return;
  if (!uk) uk = octet_sgemm_ukernel_select();
  if (K == 0) {
    for (size_t m = 0; m < M; m++)
      for (size_t n = 0; n < N; n++) {
        float r = beta != 0.0f ? beta * C[m * ldc + n] : 0.0f;
        C[m * ldc + n] = bias ? r + bias[m] : r;
      }
    return;
  }
  gemm_job j = {.uk = uk, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .a = a, .b = b,
                .C = C, .ldc = ldc, .bias = bias};
  j.mc = (MC_MAX / uk->mr) * uk->mr;
  if (a->packed && !b->packed) {
    /* Pre-packed A (Conv weights) with B panels built on the fly (im2col): let one tile span
     * all rows, up to MC_PACKED_A, so each B panel is built once and swept by every A panel. */
    size_t full = (M + uk->mr - 1) / uk->mr * uk->mr;
    size_t cap = (MC_PACKED_A / uk->mr) * uk->mr;
    j.mc = full < cap ? full : cap;
  }
  j.nc = NC;
  if (!a->packed && b->packed) {
    /* Pre-packed B (weights) and A packed per tile: wide tiles so A is packed once per row
     * block and swept against every B panel. */
    size_t full = (N + uk->nr - 1) / uk->nr * uk->nr;
    j.nc = full < NC_PACKED_B ? full : NC_PACKED_B;
  }
  j.n_tiles_n = (N + j.nc - 1) / j.nc;
  size_t m_tiles = (M + j.mc - 1) / j.mc;
  octet_parallel_for(host, m_tiles * j.n_tiles_n, gemm_task, &j);
}

void octet_sgemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
                 const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                 size_t ldc, const octet_host *host) {
  octet_sgemm_operand a = {.data = A, .ld = lda, .trans = trans_a};
  octet_sgemm_operand b = {.data = B, .ld = ldb, .trans = trans_b};
  octet_sgemm_run(NULL, M, N, K, alpha, &a, &b, beta, C, ldc, NULL, host);
}
