/* nn-kernels.h — inner loops of the nn group that have per-ISA builds, and their dispatch. */
#ifndef OCTET_NN_KERNELS_H
#define OCTET_NN_KERNELS_H

#include <stdint.h>

#define NR_RUNS_MAX 64

typedef void (*octet_nn_dw_row_fn)(const float *x, int64_t IH, int64_t IW, const float *w,
                                   int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t dh,
                                   int64_t dw, int64_t ph, int64_t pw, int64_t oh, int64_t OW,
                                   float bias, float *restrict y);

void octet_f32_dwconv_row__scalar(const float *x, int64_t IH, int64_t IW, const float *w,
                                  int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t dh,
                                  int64_t dw, int64_t ph, int64_t pw, int64_t oh, int64_t OW,
                                  float bias, float *restrict y);
void octet_f32_dwconv_row__avx2(const float *x, int64_t IH, int64_t IW, const float *w,
                                int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t dh,
                                int64_t dw, int64_t ph, int64_t pw, int64_t oh, int64_t OW,
                                float bias, float *restrict y);

typedef void (*octet_nn_pool_row_fn)(const float *restrict xr, int64_t IW, int64_t KW,
                                     int64_t sw, int64_t dw, int64_t pw, int64_t OW,
                                     float *restrict y);
void octet_f32_maxpool_row__scalar(const float *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                   int64_t dw, int64_t pw, int64_t OW, float *restrict y);
void octet_f32_sumpool_row__scalar(const float *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                   int64_t dw, int64_t pw, int64_t OW, float *restrict y);
void octet_f32_maxpool_row__avx2(const float *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                 int64_t dw, int64_t pw, int64_t OW, float *restrict y);
void octet_f32_sumpool_row__avx2(const float *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                 int64_t dw, int64_t pw, int64_t OW, float *restrict y);
typedef void (*octet_nn_pool_row_u8_fn)(const uint8_t *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                        int64_t dw, int64_t pw, int64_t OW, uint8_t *restrict y);
typedef void (*octet_nn_pool_row_s8_fn)(const int8_t *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                        int64_t dw, int64_t pw, int64_t OW, int8_t *restrict y);
void octet_u8_maxpool_row__scalar(const uint8_t *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                  int64_t dw, int64_t pw, int64_t OW, uint8_t *restrict y);
void octet_s8_maxpool_row__scalar(const int8_t *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                  int64_t dw, int64_t pw, int64_t OW, int8_t *restrict y);
void octet_u8_maxpool_row__avx2(const uint8_t *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                int64_t dw, int64_t pw, int64_t OW, uint8_t *restrict y);
void octet_s8_maxpool_row__avx2(const int8_t *restrict xr, int64_t IW, int64_t KW, int64_t sw,
                                int64_t dw, int64_t pw, int64_t OW, int8_t *restrict y);
/* The best pooling row kernels for the current CPU mask. */
void octet_nn_pool_row_select(octet_nn_pool_row_fn *max_row, octet_nn_pool_row_fn *sum_row);
void octet_nn_pool_row_int8_select(octet_nn_pool_row_u8_fn *u8, octet_nn_pool_row_s8_fn *s8);

/* The best depthwise row kernel for the current CPU mask. */
octet_nn_dw_row_fn octet_nn_dw_row_select(void);

#endif
