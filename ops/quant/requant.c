/* requant.c — the out-of-line parts of octet's int8 numerics (see requant.h). */
#include "ops/quant/requant.h"

void octet_requant_row(const int32_t *acc, const int32_t *bias, const float *scale,
                       bool per_column, int32_t zp, int32_t out_dtype, void *out, size_t out_stride,
                       size_t N) {
  octet_qrange r = octet_qrange_of(out_dtype);
  for (size_t n = 0; n < N; n++) {
    /* int32 wrap-around like the SIMD add; unsigned arithmetic keeps C defined. */
    int32_t a = bias ? (int32_t)((uint32_t)acc[n] + (uint32_t)bias[n]) : acc[n];
    octet_q8_store(out, n * out_stride, out_dtype,
                   octet_requant_value(a, per_column ? scale[n] : scale[0], zp, r));
  }
}

void octet_build_lut(uint8_t table[256], int32_t in_dtype, float in_scale, int32_t in_zp,
                     int32_t out_dtype, float out_scale, int32_t out_zp, octet_float_map_fn fn,
                     const void *ctx) {
  float v[256];
  for (int i = 0; i < 256; i++) {
    int32_t q = in_dtype == 3 ? (int32_t)(int8_t)(uint8_t)i : i;
    v[i] = octet_dequantize_value(q, in_scale, in_zp);
  }
  if (fn) fn(v, 256, ctx);
  octet_qrange r = octet_qrange_of(out_dtype);
  for (int i = 0; i < 256; i++)
    table[i] = (uint8_t)octet_quantize_value(v[i], out_scale, out_zp, r);
}

void octet_dynamic_qparams_of_range(float lo, float hi, float *scale, uint8_t *zp) {
  lo = lo < 0.0f ? lo : 0.0f;
  hi = hi > 0.0f ? hi : 0.0f;
  float s = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  float z = 0.0f - lo / s;
  z = z > 0.0f ? z : 0.0f;
  z = z < 255.0f ? z : 255.0f;
  *scale = s;
  *zp = (uint8_t)octet_round_even(z);
}

void octet_dynamic_qparams(const float *x, size_t n, float *scale, uint8_t *zp) {
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  octet_dynamic_qparams_of_range(lo, hi, scale, zp);
}
