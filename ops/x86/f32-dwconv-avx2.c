/* f32-dwconv-avx2.c — the depthwise row kernel of ops/float/nn/dw-row.inc built for AVX2+FMA. */
#include "ops/float/nn/nn-kernels.h"

#define DW_ROW_NAME octet_f32_dwconv_row__avx2
#include "ops/float/nn/dw-row.inc"
