/* q8-dynamic-quant.h — run-time quantization of float activations (DynamicQuantizeLinear,
 * DynamicQuantizeMatMul): the min/max scan, float -> uint8, and float -> the int16-pair A panels
 * of the qgemm core in one pass. Each step has a plain-C reference and per-ISA variants that
 * must match it bit for bit (tests/kernels/test-q8-dynamic-quant.c). */
#ifndef OCTET_OPS_QUANT_Q8_DYNAMIC_QUANT_H
#define OCTET_OPS_QUANT_Q8_DYNAMIC_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/quant/qgemm-dispatch.h"

/* *lo = min, *hi = max of x[0..n) with the scalar compare (x < lo ? x : lo), so a NaN never
 * wins; n 0 (or all NaN) leaves +inf / -inf. Variants may differ from the reference only in
 * the sign of a zero result, which octet_dynamic_qparams_of_range erases. */
typedef void (*octet_q8_minmax_fn)(const float *x, size_t n, float *lo, float *hi);
/* y[i] = octet_quantize_value(x[i], scale, zp, [0, 255]) for i < n (uint8). */
typedef void (*octet_qu8_quantize_fn)(uint8_t *y, const float *x, size_t n, float scale, int32_t zp);
/* `rows` consecutive rows of A (row i at x + i * ld) into consecutive row slots of one int16-pair
 * panel: row i, value k at dst[(k / 2) * tile * 2 + i * 2 + (k & 1)] =
 * octet_quantize_value(x[i * ld + k], scale, zp, [0, 255]) - zp, and 0 in the pair's second
 * half when K is odd (the layout of octet_qgemm_panels_pack with the zero point subtracted).
 * Nothing else in the panel is written. */
typedef void (*octet_qs16_quant_rows_fn)(int16_t *dst, size_t tile, const float *x, size_t ld,
                                         size_t rows, size_t K, float scale, int32_t zp);

/* y[i] = octet_dequantize_value(x[i], scale, zp) for i < n; x is uint8, or int8 when is_signed
 * (DequantizeLinear per tensor, and per channel a run of `inner` values at a time). */
typedef void (*octet_q8_dequantize_fn)(float *y, const void *x, size_t n, float scale, int32_t zp,
                                       bool is_signed);

typedef struct octet_q8_dynq {
  const char *name; /* ISA of the variant */
  uint32_t cpu_features;
  octet_q8_minmax_fn minmax;
  octet_qu8_quantize_fn quantize;
  octet_qs16_quant_rows_fn quant_rows;
  octet_q8_dequantize_fn dequantize;
} octet_q8_dynq;

/* The references. */
void octet_q8_minmax_ref(const float *x, size_t n, float *lo, float *hi);
void octet_qu8_quantize_ref(uint8_t *y, const float *x, size_t n, float scale, int32_t zp);
void octet_qs16_quant_rows_ref(int16_t *dst, size_t tile, const float *x, size_t ld, size_t rows,
                               size_t K, float scale, int32_t zp);
void octet_q8_dequantize_ref(float *y, const void *x, size_t n, float scale, int32_t zp, bool is_signed);

/* QuantizeLinear into int8 through v's uint8 quantize: clamp(round(x/s) + zp, -128, 127) is the
 * uint8 result for zero point zp + 128, minus 128 (one xor of the top bit). */
void octet_qs8_quantize(const octet_q8_dynq *v, int8_t *y, const float *x, size_t n, float scale, int32_t zp);

/* The AVX2 variant (ops/quant/x86/q8-dynamic-quant-avx2.c, built with -mavx2). */
void octet_q8_minmax__avx2(const float *x, size_t n, float *lo, float *hi);
void octet_qu8_quantize__avx2(uint8_t *y, const float *x, size_t n, float scale, int32_t zp);
void octet_qs16_quant_rows__avx2(int16_t *dst, size_t tile, const float *x, size_t ld, size_t rows,
                                 size_t K, float scale, int32_t zp);
void octet_q8_dequantize__avx2(float *y, const void *x, size_t n, float scale, int32_t zp, bool is_signed);

/* Every variant built (the reference last); the best one octet_cpu_features() allows. */
size_t octet_q8_dynq_count(void);
const octet_q8_dynq *octet_q8_dynq_at(size_t i);
const octet_q8_dynq *octet_q8_dynq_select(void);

/* DynamicQuantizeLinear's parameters of x[0..n) through variant v (bit-identical to
 * octet_dynamic_qparams). */
void octet_q8_dynq_qparams(const octet_q8_dynq *v, const float *x, size_t n, float *scale,
                           uint8_t *zp);

/* Quantizes rows [r0, r1) of a rows x K float matrix (row r at src + r * ld) and packs them as
 * octet_qgemm_panels_pack would pack the uint8 result with zero point zp (tile rows per panel;
 * r1 == rows also zeroes the padding rows of the last panel). mem: octet_qgemm_panels_size. */
void octet_qs16_quant_pack(const octet_q8_dynq *v, octet_qgemm_panels *p, void *mem, size_t rows,
                           size_t K, size_t tile, const float *src, size_t ld, float scale,
                           int32_t zp, size_t r0, size_t r1);

#endif
