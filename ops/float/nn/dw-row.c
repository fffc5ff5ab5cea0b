/* dw-row.c — the base-ISA depthwise and pooling row kernels, and the choice between them and
 * the x86 builds. */
#include "ops/cpu.h"
#include "ops/float/nn/nn-kernels.h"
#include "ops/x86/isa-config.h"

#define DW_ROW_NAME octet_f32_dwconv_row__scalar
#include "ops/float/nn/dw-row.inc"

#define POOL_ROW_MAX octet_f32_maxpool_row__scalar
#define POOL_ROW_SUM octet_f32_sumpool_row__scalar
#define POOL_ROW_MAX_U8 octet_u8_maxpool_row__scalar
#define POOL_ROW_MAX_S8 octet_s8_maxpool_row__scalar
#include "ops/float/nn/pool-row.inc"

void octet_nn_pool_row_select(octet_nn_pool_row_fn *max_row, octet_nn_pool_row_fn *sum_row) {
#if OCTET_X86_AVX2
  if (octet_cpu_has(OCTET_CPU_LEVEL_AVX2)) {
    *max_row = octet_f32_maxpool_row__avx2;
    *sum_row = octet_f32_sumpool_row__avx2;
    return;
  }
#endif
  *max_row = octet_f32_maxpool_row__scalar;
  *sum_row = octet_f32_sumpool_row__scalar;
}

void octet_nn_pool_row_int8_select(octet_nn_pool_row_u8_fn *u8, octet_nn_pool_row_s8_fn *s8) {
#if OCTET_X86_AVX2
  if (octet_cpu_has(OCTET_CPU_LEVEL_AVX2)) {
    *u8 = octet_u8_maxpool_row__avx2;
    *s8 = octet_s8_maxpool_row__avx2;
    return;
  }
#endif
  *u8 = octet_u8_maxpool_row__scalar;
  *s8 = octet_s8_maxpool_row__scalar;
}

octet_nn_dw_row_fn octet_nn_dw_row_select(void) {
#if OCTET_X86_AVX2
  if (octet_cpu_has(OCTET_CPU_LEVEL_AVX2)) return octet_f32_dwconv_row__avx2;
#endif
  return octet_f32_dwconv_row__scalar;
}
