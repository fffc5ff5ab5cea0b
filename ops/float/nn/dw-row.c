/* dw-row.c — the base-ISA depthwise row kernel and the choice between it and the x86 builds. */
#include "ops/cpu.h"
#include "ops/float/nn/nn-kernels.h"
#include "ops/x86/isa-config.h"

#define DW_ROW_NAME octet_f32_dwconv_row__scalar
#include "ops/float/nn/dw-row.inc"

octet_nn_dw_row_fn octet_nn_dw_row_select(void) {
#if OCTET_X86_AVX2
  if (octet_cpu_has(OCTET_CPU_LEVEL_AVX2)) return octet_f32_dwconv_row__avx2;
#endif
  return octet_f32_dwconv_row__scalar;
}
