/* neon-epi.h — the NEON requantizing epilogue shared by the aarch64 int8 kernels: the same
 * float operations, in the same order, as octet_requant_value. */
#ifndef OCTET_OPS_QUANT_ARM_NEON_EPI_H
#define OCTET_OPS_QUANT_ARM_NEON_EPI_H

#include <arm_neon.h>

#include "ops/quant/qgemm-dispatch.h"

/* v > lo ? v : lo, then v < hi ? v : hi, exactly as the scalar clamp (NaN lands on lo; fmax
 * would propagate it), round half to even, + zp. */
static inline int32x4_t requant4(int32x4_t acc, float32x4_t s, float32x4_t lo, float32x4_t hi,
                                 int32x4_t zp) {
  float32x4_t f = vmulq_f32(vcvtq_f32_s32(acc), s);
  f = vbslq_f32(vcgtq_f32(f, lo), f, lo);
  f = vbslq_f32(vcltq_f32(f, hi), f, hi);
  return vaddq_s32(vcvtnq_s32_f32(f), zp);
}

static inline uint8x8_t narrow8(int32x4_t a, int32x4_t b, int32_t out_dtype) {
  int16x8_t w = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
  return out_dtype == 3 ? vreinterpret_u8_s8(vqmovn_s16(w)) : vqmovun_s16(w);
}

static inline float32x4_t param4(const float *p, size_t m, size_t rs, size_t cs, size_t n) {
  return cs ? vld1q_f32(p + m * rs + n) : vdupq_n_f32(p[m * rs]);
}
static inline int32x4_t ibias4(const int32_t *p, size_t m, size_t rs, size_t cs, size_t n) {
  return cs ? vld1q_s32(p + m * rs + n) : vdupq_n_s32(p[m * rs]);
}

static inline void epi_row8(const octet_qgemm_epi *ep, size_t m, size_t n, int32x4_t v0, int32x4_t v1) {
  if (ep->bias) {
    v0 = vaddq_s32(v0, ibias4(ep->bias, m, ep->bias_rs, ep->bias_cs, n));
    v1 = vaddq_s32(v1, ibias4(ep->bias, m, ep->bias_rs, ep->bias_cs, n + 4));
  }
  size_t o = m * ep->ldo + n;
  if (ep->kind == OCTET_QEPI_I32) {
    vst1q_s32((int32_t *)ep->out + o, v0);
    vst1q_s32((int32_t *)ep->out + o + 4, v1);
  } else if (ep->kind == OCTET_QEPI_Q8) {
    int32_t qmin = ep->out_dtype == 3 ? -128 : 0, qmax = ep->out_dtype == 3 ? 127 : 255;
    float32x4_t lo = vdupq_n_f32((float)(qmin - ep->zp)), hi = vdupq_n_f32((float)(qmax - ep->zp));
    int32x4_t zp = vdupq_n_s32(ep->zp);
    int32x4_t q0 = requant4(v0, param4(ep->scale, m, ep->scale_rs, ep->scale_cs, n), lo, hi, zp);
    int32x4_t q1 = requant4(v1, param4(ep->scale, m, ep->scale_rs, ep->scale_cs, n + 4), lo, hi, zp);
    vst1_u8((uint8_t *)ep->out + o, narrow8(q0, q1, ep->out_dtype));
  } else {
    float32x4_t f0 = vmulq_f32(vcvtq_f32_s32(v0), param4(ep->scale, m, ep->scale_rs, ep->scale_cs, n));
    float32x4_t f1 = vmulq_f32(vcvtq_f32_s32(v1), param4(ep->scale, m, ep->scale_rs, ep->scale_cs, n + 4));
    if (ep->fbias) {
      f0 = vaddq_f32(f0, vld1q_f32(ep->fbias + n));
      f1 = vaddq_f32(f1, vld1q_f32(ep->fbias + n + 4));
    }
    vst1q_f32((float *)ep->out + o, f0);
    vst1q_f32((float *)ep->out + o + 4, f1);
  }
}

#endif
