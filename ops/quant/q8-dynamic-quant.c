/* q8-dynamic-quant.c — the plain-C references for run-time activation quantization, the list of
 * variants and the choice among them, and the panel driver shared by every variant. */
#include "ops/quant/q8-dynamic-quant.h"

#include <math.h>
#include <string.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/quant/qgemm-isa.h"
#include "ops/quant/requant.h"

void octet_q8_minmax_ref(const float *x, size_t n, float *lo, float *hi) {
  float l = INFINITY, h = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    l = x[i] < l ? x[i] : l;
    h = x[i] > h ? x[i] : h;
  }
  *lo = l, *hi = h;
}

void octet_qu8_quantize_ref(uint8_t *y, const float *x, size_t n, float scale, int32_t zp) {
  octet_qrange r = {0, 255};
  for (size_t i = 0; i < n; i++) y[i] = (uint8_t)octet_quantize_value(x[i], scale, zp, r);
}

void octet_qs16_quant_rows_ref(int16_t *dst, size_t tile, const float *x, size_t ld, size_t rows,
                               size_t K, float scale, int32_t zp) {
  octet_qrange r = {0, 255};
  for (size_t i = 0; i < rows; i++) {
    int16_t *d = dst + i * 2;
    const float *xi = x + i * ld;
    for (size_t k = 0; k < K; k++)
      d[(k / 2) * tile * 2 + (k & 1)] = (int16_t)(octet_quantize_value(xi[k], scale, zp, r) - zp);
    if (K & 1) d[(K / 2) * tile * 2 + 1] = 0;
  }
}

void octet_q8_dequantize_ref(float *y, const void *x, size_t n, float scale, int32_t zp, bool is_signed) {
  const uint8_t *u = x;
  const int8_t *i8 = x;
  for (size_t i = 0; i < n; i++) y[i] = octet_dequantize_value(is_signed ? i8[i] : u[i], scale, zp);
}

void octet_qs8_quantize(const octet_q8_dynq *v, int8_t *y, const float *x, size_t n, float scale, int32_t zp) {
  uint8_t *u = (uint8_t *)y;
  v->quantize(u, x, n, scale, zp + 128);
  for (size_t i = 0; i < n; i++) u[i] ^= 0x80;
}

static const octet_q8_dynq g_variants[] = {
#if OCTET_Q8DYN_AVX2
    {"avx2", OCTET_CPU_LEVEL_AVX2, octet_q8_minmax__avx2, octet_qu8_quantize__avx2,
     octet_qs16_quant_rows__avx2, octet_q8_dequantize__avx2},
#endif
    {"ref", 0, octet_q8_minmax_ref, octet_qu8_quantize_ref, octet_qs16_quant_rows_ref, octet_q8_dequantize_ref},
};

size_t octet_q8_dynq_count(void) { return OCTET_COUNTOF(g_variants); }
const octet_q8_dynq *octet_q8_dynq_at(size_t i) {
  return i < OCTET_COUNTOF(g_variants) ? &g_variants[i] : NULL;
}

const octet_q8_dynq *octet_q8_dynq_select(void) {
  uint32_t f = octet_cpu_features();
  for (size_t i = 0; i < OCTET_COUNTOF(g_variants); i++)
    if ((f & g_variants[i].cpu_features) == g_variants[i].cpu_features) return &g_variants[i];
  return &g_variants[OCTET_COUNTOF(g_variants) - 1];
}

void octet_q8_dynq_qparams(const octet_q8_dynq *v, const float *x, size_t n, float *scale,
                           uint8_t *zp) {
  float lo, hi;
  v->minmax(x, n, &lo, &hi);
  octet_dynamic_qparams_of_range(lo, hi, scale, zp);
}

void octet_qs16_quant_pack(const octet_q8_dynq *v, octet_qgemm_panels *p, void *mem, size_t rows,
                           size_t K, size_t tile, const float *src, size_t ld, float scale,
                           int32_t zp, size_t r0, size_t r1) {
  octet_qgemm_panels_init(p, mem, rows, K, tile);
  size_t k2 = p->k2;
  /* one call per panel's share of [r0, r1): its rows are neighbours in the panel */
  for (size_t r = r0; r < r1;) {
    size_t n = tile - r % tile < r1 - r ? tile - r % tile : r1 - r;
    v->quant_rows(p->data + (r / tile) * tile * k2 * 2 + (r % tile) * 2, tile, src + r * ld, ld, n, K,
                  scale, zp);
    r += n;
  }
  if (r1 == rows && rows % tile) {
    /* the last panel's missing rows read as zeros */
    size_t last = rows - rows % tile;
    int16_t *panel = p->data + last * k2 * 2;
    for (size_t k = 0; k < k2; k++)
      memset(panel + k * tile * 2 + (rows - last) * 2, 0, (tile - (rows - last)) * 2 * sizeof(int16_t));
  }
}
