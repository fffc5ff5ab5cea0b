/* requant.h — octet's one place for int8 numerics: quantize a float, requantize an int32
 * accumulator, build 256-entry lookup tables. Every quant kernel goes through these so the
 * rounding and clamping order (which must match ONNX Runtime's MLAS bit for bit) lives here. */
#ifndef OCTET_OPS_QUANT_REQUANT_H
#define OCTET_OPS_QUANT_REQUANT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value range of an 8-bit quantized type (dtype is OCTET_DTYPE_UINT8 or _INT8). */
typedef struct octet_qrange {
  int32_t min, max;
} octet_qrange;

static inline octet_qrange octet_qrange_of(int32_t dtype) {
  octet_qrange r = {0, 255};
  if (dtype == 3 /* OCTET_DTYPE_INT8 */) r.min = -128, r.max = 127;
  return r;
}

/* Round half to even under the default floating-point environment (nearbyintf honours the
 * current mode, which is round-to-nearest-even unless a host changed it; MLAS assumes the same). */
static inline float octet_round_even(float v) { return nearbyintf(v); }

/* Clamps v (already scaled) into [lo, hi] the way SSE's maxps/minps do, so a NaN lands on lo
 * exactly as in MLAS, then rounds half to even. lo/hi are integral floats. */
static inline int32_t octet_clamp_round(float v, float lo, float hi) {
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return (int32_t)octet_round_even(v);
}

/* QuantizeLinear of one value: saturate(round_half_even(x / scale) + zp). Divides (never
 * multiplies by a reciprocal); clamps to [min - zp, max - zp] before rounding as MLAS does. */
static inline int32_t octet_quantize_value(float x, float scale, int32_t zp, octet_qrange r) {
  return octet_clamp_round(x / scale, (float)(r.min - zp), (float)(r.max - zp)) + zp;
}

/* DequantizeLinear of one value: (q - zp) * scale, the subtraction in int32 as ORT does. */
static inline float octet_dequantize_value(int32_t q, float scale, int32_t zp) {
  return (float)(int32_t)((uint32_t)q - (uint32_t)zp) * scale;
}

/* Requantization of one int32 accumulator: float(acc) * scale, clamp, round, + zp
 * (MLAS MlasRequantizeOutput: the bias is added to acc in int32 before the conversion). */
static inline int32_t octet_requant_value(int32_t acc, float scale, int32_t zp, octet_qrange r) {
  return octet_clamp_round((float)acc * scale, (float)(r.min - zp), (float)(r.max - zp)) + zp;
}

/* Stores v (already in range) as an 8-bit element of `out` (uint8 or int8 by dtype). */
static inline void octet_q8_store(void *out, size_t i, int32_t dtype, int32_t v) {
  if (dtype == 3) ((int8_t *)out)[i] = (int8_t)v;
  else ((uint8_t *)out)[i] = (uint8_t)v;
}
static inline int32_t octet_q8_load(const void *in, size_t i, int32_t dtype) {
  return dtype == 3 ? ((const int8_t *)in)[i] : ((const uint8_t *)in)[i];
}

/* The GEMM/convolution epilogue: for n in [0, N), out[n] = requant(acc[n] + bias[n]) with
 * scale[n] (per column) or scale[0] (per_column false). bias may be NULL. `out` holds N
 * 8-bit elements of out_dtype. Fast kernels must reproduce this bit for bit. */
void octet_requant_row(const int32_t *acc, const int32_t *bias, const float *scale,
                       bool per_column, int32_t zp, int32_t out_dtype, void *out, size_t out_stride,
                       size_t N);

/* Fills table[256] with quantize(fn(dequantize(q))) over every input byte q, for unary
 * lookup-table operators (ORT builds the same table at kernel creation). The table is indexed
 * by the input's raw byte (uint8_t cast of an int8 value). fn maps a float array in place. */
typedef void (*octet_float_map_fn)(float *values, size_t n, const void *ctx);
void octet_build_lut(uint8_t table[256], int32_t in_dtype, float in_scale, int32_t in_zp,
                     int32_t out_dtype, float out_scale, int32_t out_zp, octet_float_map_fn fn,
                     const void *ctx);

/* DynamicQuantizeLinear's parameter choice (uint8): range widened to include 0,
 * scale = (max - min) / 255 (1 when max == min), zp = round(clamp(0 - min / scale, 0, 255)). */
void octet_dynamic_qparams(const float *x, size_t n, float *scale, uint8_t *zp);
/* The same from the data's min and max (+inf / -inf for no data); the sign of a zero lo or hi
 * does not matter. */
void octet_dynamic_qparams_of_range(float lo, float hi, float *scale, uint8_t *zp);

#endif
