/* qs8-gemm-4x8c4-neondot.c — aarch64 int8 GEMM with the dot product (sdot, 16 MAC per
 * instruction) on the Q8X4 panels: operands shifted to s8 (u8 - 128), zero points and the
 * shift folded back with row/column sums, then the NEON epilogue. Built with +dotprod. */
#include <arm_neon.h>

#include "ops/quant/arm/neon-epi.h"
#include "ops/quant/qgemm-ukernels.h"

void octet_qs8_gemm_4x8c4__neondot(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                                   size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep) {
  size_t kg = a->kg;
  uint32_t K = (uint32_t)a->K;
  for (size_t m = m0; m < m1; m += 4) {
    size_t R = m1 - m < 4 ? m1 - m : 4;
    const int8_t *ap0 = a->q8 + m * kg * 4;
    for (size_t n = n0; n < n1; n += 8) {
      const int8_t *ap = ap0, *bp = b->q8 + n * kg * 4;
      int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      for (size_t k = 0; k < kg; k++) {
        int8x16_t av = vld1q_s8(ap), b0 = vld1q_s8(bp), b1 = vld1q_s8(bp + 16);
        c00 = vdotq_laneq_s32(c00, b0, av, 0), c01 = vdotq_laneq_s32(c01, b1, av, 0);
        c10 = vdotq_laneq_s32(c10, b0, av, 1), c11 = vdotq_laneq_s32(c11, b1, av, 1);
        c20 = vdotq_laneq_s32(c20, b0, av, 2), c21 = vdotq_laneq_s32(c21, b1, av, 2);
        c30 = vdotq_laneq_s32(c30, b0, av, 3), c31 = vdotq_laneq_s32(c31, b1, av, 3);
        ap += 16, bp += 32;
      }
      int32x4_t acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
      int32x4_t rzb0 = vld1q_s32(b->rz + n), rzb1 = vld1q_s32(b->rz + n + 4);
      int32x4_t rsb0 = vld1q_s32(b->rsum + n), rsb1 = vld1q_s32(b->rsum + n + 4);
      size_t nv = n1 - n < 8 ? n1 - n : 8;
      for (size_t i = 0; i < R; i++) {
        /* + rz_a * rsum_b + rz_b * rsum_a + K * rz_a * rz_b, wrapping */
        int32_t rza = a->rz[m + i], rsa = a->rsum[m + i];
        int32_t krza = (int32_t)(K * (uint32_t)rza);
        int32x4_t v0 = acc[i][0], v1 = acc[i][1];
        v0 = vmlaq_n_s32(vmlaq_n_s32(vmlaq_n_s32(v0, rsb0, rza), rzb0, rsa), rzb0, krza);
        v1 = vmlaq_n_s32(vmlaq_n_s32(vmlaq_n_s32(v1, rsb1, rza), rzb1, rsa), rzb1, krza);
        if (nv == 8) {
          epi_row8(ep, m + i, n, v0, v1);
        } else {
          int32_t c[8];
          vst1q_s32(c, v0);
          vst1q_s32(c + 4, v1);
          for (size_t j = 0; j < nv; j++) octet_qgemm_epi_scalar(ep, m + i, n + j, c[j]);
        }
      }
    }
  }
}
