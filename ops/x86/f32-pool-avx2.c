/* f32-pool-avx2.c — the pooling row loops of ops/float/nn/pool-row.inc built for AVX2. */
#include "ops/float/nn/nn-kernels.h"

#define POOL_ROW_MAX octet_f32_maxpool_row__avx2
#define POOL_ROW_SUM octet_f32_sumpool_row__avx2
#include "ops/float/nn/pool-row.inc"
