/* f32-pool-avx2.c — the pooling row loops (float, and int8 max) of ops/float/nn/pool-row.inc built for AVX2. */
#include "ops/float/nn/nn-kernels.h"

#define POOL_ROW_MAX octet_f32_maxpool_row__avx2
#define POOL_ROW_SUM octet_f32_sumpool_row__avx2
#define POOL_ROW_MAX_U8 octet_u8_maxpool_row__avx2
#define POOL_ROW_MAX_S8 octet_s8_maxpool_row__avx2
#include "ops/float/nn/pool-row.inc"
