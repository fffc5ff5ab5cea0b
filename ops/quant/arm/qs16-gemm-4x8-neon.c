/* qs16-gemm-4x8-neon.c — aarch64 NEON int8 GEMM on the int16-pair panels (smlal on pairs,
 * reduced with addp at the end; exact for the same reason as the AVX2 kernel), the fused
 * requantizing epilogue, the convolution tile on channel-pair planes and the depthwise kernel. */
#include <arm_neon.h>
#include <string.h>

#include "ops/quant/arm/neon-epi.h"
#include "ops/quant/qgemm-ukernels.h"

/* 4 rows x 8 columns. Each accumulator holds products still split by pair half; addp merges. */
static void tile_epi(size_t R, size_t k2, const int16_t *a, const int16_t *b, const int32_t *koff,
                     size_t m, size_t n, size_t nv, const octet_qgemm_epi *ep,
                     const octet_qconv_args *virt) {
  int32x4_t acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = vdupq_n_s32(0);
  for (size_t k = 0; k < k2; k++) {
    int16x8_t b0, b1;
    if (koff) {
      b0 = vld1q_s16(b + koff[k]);
      b1 = vld1q_s16(b + koff[k] + 8);
    } else {
      b0 = vld1q_s16(b);
      b1 = vld1q_s16(b + 8);
      b += 16;
    }
    int32x4_t ap = vreinterpretq_s32_s16(vld1q_s16(a));
#define ROW(i)                                                                  \
  {                                                                             \
    int16x8_t ai = vreinterpretq_s16_s32(vdupq_laneq_s32(ap, i));               \
    acc[i][0] = vmlal_s16(acc[i][0], vget_low_s16(b0), vget_low_s16(ai));       \
    acc[i][1] = vmlal_high_s16(acc[i][1], b0, ai);                              \
    acc[i][2] = vmlal_s16(acc[i][2], vget_low_s16(b1), vget_low_s16(ai));       \
    acc[i][3] = vmlal_high_s16(acc[i][3], b1, ai);                              \
  }
    ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
    a += 8;
  }
  for (size_t i = 0; i < R; i++) {
    int32x4_t v0 = vpaddq_s32(acc[i][0], acc[i][1]), v1 = vpaddq_s32(acc[i][2], acc[i][3]);
    if (virt) {
      /* virtual rows: n is the virtual pixel of column 0; keep the real output pixels */
      int32_t c[8];
      vst1q_s32(c, v0);
      vst1q_s32(c + 4, v1);
      for (size_t j = 0; j < 8; j++) {
        size_t v = n + j, y = v / virt->vw, x = v % virt->vw;
        if (x < virt->ow && y < virt->oh) octet_qgemm_epi_scalar(ep, m + i, y * virt->ow + x, c[j]);
      }
    } else if (nv == 8) {
      epi_row8(ep, m + i, n, v0, v1);
    } else {
      int32_t c[8];
      vst1q_s32(c, v0);
      vst1q_s32(c + 4, v1);
      for (size_t j = 0; j < nv; j++) octet_qgemm_epi_scalar(ep, m + i, n + j, c[j]);
    }
  }
}

void octet_qs16_gemm_4x8__neon(const octet_qgemm_panels *a, const octet_qgemm_panels *b,
                               size_t m0, size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep) {
  size_t k2 = a->k2;
  size_t panel_bytes = k2 * 8 * 4, nc = (128 * 1024 / (panel_bytes ? panel_bytes : 1)) * 8;
  if (nc < 8) nc = 8;
  for (size_t nb = n0; nb < n1; nb += nc) {
    size_t ne = n1 - nb < nc ? n1 : nb + nc;
    for (size_t m = m0; m < m1; m += 4) {
      size_t R = m1 - m < 4 ? m1 - m : 4;
      for (size_t n = nb; n < ne; n += 8)
        tile_epi(R, k2, a->data + m * k2 * 2, b->data + n * k2 * 2, NULL, m, n, ne - n < 8 ? ne - n : 8, ep, NULL);
    }
  }
}

void octet_qs16_conv_4x8__neon(const octet_qconv_args *a, size_t oy, size_t ox0, size_t ox1,
                               size_t m0, size_t m1) {
  size_t k2 = a->w->k2;
  for (size_t ox = ox0; ox < ox1; ox += 8) {
    const int16_t *base = a->planes + oy * a->y_stride + ox * 2;
    size_t nv = ox1 - ox < 8 ? ox1 - ox : 8;
    for (size_t m = m0; m < m1; m += 4)
      tile_epi(m1 - m < 4 ? m1 - m : 4, k2, a->w->data + m * k2 * 2, base, a->koff, m,
               a->vw ? ox : oy * a->ow + ox, nv, a->ep, a->vw ? a : NULL);
  }
}

/* Depthwise along the output row: one multiply-accumulate per tap for 8 pixels; stride 2
 * de-interleaves with ld2. */
void octet_qs16_dwconv__neon(const octet_qdw_args *a) {
  size_t kw2 = a->kw + (a->kw & 1);
  int32_t qmin = a->out_dtype == 3 ? -128 : 0, qmax = a->out_dtype == 3 ? 127 : 255;
  float32x4_t lo = vdupq_n_f32((float)(qmin - a->zp)), hi = vdupq_n_f32((float)(qmax - a->zp));
  float32x4_t s = vdupq_n_f32(a->scale);
  int32x4_t zp = vdupq_n_s32(a->zp), bias = vdupq_n_s32(a->bias);
  for (size_t oy = 0; oy < a->oh; oy++) {
    const int16_t *rows = a->plane + oy * a->stride * a->pw;
    for (size_t x0 = 0; x0 < a->ow; x0 += 8) {
      int32x4_t v0 = bias, v1 = bias;
      for (size_t ky = 0; ky < a->kh; ky++) {
        const int16_t *r = rows + ky * a->pw + x0 * a->stride;
        for (size_t kx = 0; kx < a->kw; kx++) {
          int16_t w = a->w[ky * kw2 + kx];
          int16x8_t x = a->stride == 1 ? vld1q_s16(r + kx) : vld2q_s16(r + kx).val[0];
          v0 = vmlal_n_s16(v0, vget_low_s16(x), w);
          v1 = vmlal_high_n_s16(v1, x, w);
        }
      }
      uint8x8_t q = narrow8(requant4(v0, s, lo, hi, zp), requant4(v1, s, lo, hi, zp), a->out_dtype);
      uint8_t *dst = (uint8_t *)a->out + oy * a->ow + x0;
      if (a->ow - x0 >= 8) {
        vst1_u8(dst, q);
      } else {
        uint8_t tmp[8];
        vst1_u8(tmp, q);
        memcpy(dst, tmp, a->ow - x0);
      }
    }
  }
}
