/* qs8-gemm-4x8c8-neoni8mm.c — aarch64 int8 GEMM with the int8 matrix multiply (smmla: a 2x8 by
 * 8x2 block, 32 MAC per instruction) on the Q8X8 panels: operands shifted to s8, zero points
 * and the shift folded back with row/column sums, then the NEON epilogue. Built with +i8mm. */
#include <arm_neon.h>

#include "ops/quant/arm/neon-epi.h"
#include "ops/quant/qgemm-ukernels.h"

void octet_qs8_gemm_4x8c8__neoni8mm(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                                    size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep) {
  size_t kg = a->kg;
  uint32_t K = (uint32_t)a->K;
  for (size_t m = m0; m < m1; m += 4) {
    size_t R = m1 - m < 4 ? m1 - m : 4;
    const int8_t *ap0 = a->q8 + m * kg * 8;
    for (size_t n = n0; n < n1; n += 8) {
      const int8_t *ap = ap0, *bp = b->q8 + n * kg * 8;
      /* c<row pair><column pair>: [r0 c0, r0 c1, r1 c0, r1 c1] */
      int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
      for (size_t k = 0; k < kg; k++) {
        int8x16_t a0 = vld1q_s8(ap), a1 = vld1q_s8(ap + 16);
        int8x16_t b0 = vld1q_s8(bp), b1 = vld1q_s8(bp + 16), b2 = vld1q_s8(bp + 32), b3 = vld1q_s8(bp + 48);
        c00 = vmmlaq_s32(c00, a0, b0), c01 = vmmlaq_s32(c01, a0, b1);
        c02 = vmmlaq_s32(c02, a0, b2), c03 = vmmlaq_s32(c03, a0, b3);
        c10 = vmmlaq_s32(c10, a1, b0), c11 = vmmlaq_s32(c11, a1, b1);
        c12 = vmmlaq_s32(c12, a1, b2), c13 = vmmlaq_s32(c13, a1, b3);
        ap += 32, bp += 64;
      }
      /* rows out of the 2x2 blocks: the low 64 bits of a block are its first row */
#define ROWS(x0, x1, x2, x3, lo0, lo1, hi0, hi1)                                                     \
  lo0 = vreinterpretq_s32_s64(vzip1q_s64(vreinterpretq_s64_s32(x0), vreinterpretq_s64_s32(x1))), \
  lo1 = vreinterpretq_s32_s64(vzip1q_s64(vreinterpretq_s64_s32(x2), vreinterpretq_s64_s32(x3))), \
  hi0 = vreinterpretq_s32_s64(vzip2q_s64(vreinterpretq_s64_s32(x0), vreinterpretq_s64_s32(x1))), \
  hi1 = vreinterpretq_s32_s64(vzip2q_s64(vreinterpretq_s64_s32(x2), vreinterpretq_s64_s32(x3)))
      int32x4_t acc[4][2];
      ROWS(c00, c01, c02, c03, acc[0][0], acc[0][1], acc[1][0], acc[1][1]);
      ROWS(c10, c11, c12, c13, acc[2][0], acc[2][1], acc[3][0], acc[3][1]);
#undef ROWS
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
