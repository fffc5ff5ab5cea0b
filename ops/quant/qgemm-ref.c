/* qgemm-ref.c — packing and the plain-C integer GEMM that faster kernels are checked against. */
#include "ops/quant/qgemm.h"

#include "common/common.h"

bool octet_qgemm_packed_size(size_t K, size_t N, size_t *bytes) {
  size_t nk, b16, extra, total;
  if (!octet_mul_size(N, K, &nk) || !octet_mul_size(nk, sizeof(int16_t), &b16)) return false;
  b16 = (b16 + 15) & ~(size_t)15;
  if (!octet_mul_size(N, 2 * sizeof(int32_t), &extra) || !octet_add_size(b16, extra, &total))
    return false;
  *bytes = total;
  return true;
}

void octet_qgemm_pack(octet_qgemm_packed *p, void *mem, size_t K, size_t N, const void *b,
                      bool b_signed, size_t stride_k, size_t stride_n, const void *zb,
                      bool zb_signed, size_t n_zb) {
  size_t b16 = (N * K * sizeof(int16_t) + 15) & ~(size_t)15;
  p->K = K;
  p->N = N;
  p->b = mem;
  p->col_sum = (int32_t *)((char *)mem + b16);
  p->zb = p->col_sum + N;
  for (size_t n = 0; n < N; n++) {
    int32_t sum = 0;
    for (size_t k = 0; k < K; k++) {
      size_t i = k * stride_k + n * stride_n;
      int16_t v = b_signed ? ((const int8_t *)b)[i] : ((const uint8_t *)b)[i];
      p->b[n * K + k] = v;
      sum += v;
    }
    p->col_sum[n] = sum;
    size_t zi = n_zb > 1 ? n : 0;
    p->zb[n] = !zb ? 0 : zb_signed ? ((const int8_t *)zb)[zi] : ((const uint8_t *)zb)[zi];
  }
}

void octet_qgemm_ref(size_t M, const void *a, bool a_signed, size_t lda, const int32_t *za,
                     bool per_row_za, const octet_qgemm_packed *p, int32_t *c, size_t ldc) {
  const size_t K = p->K, N = p->N;
  for (size_t m = 0; m < M; m++) {
    const uint8_t *au = (const uint8_t *)a + m * lda;
    const int8_t *as = (const int8_t *)a + m * lda;
    /* (a - za)(b - zb) = ab - za*colsum(b) - zb*rowsum(a) + K*za*zb; uint32 wraps like int32. */
    uint32_t row_sum = 0;
    for (size_t k = 0; k < K; k++) row_sum += (uint32_t)(a_signed ? (int32_t)as[k] : (int32_t)au[k]);
    uint32_t zam = (uint32_t)za[per_row_za ? m : 0];
    for (size_t n = 0; n < N; n++) {
      const int16_t *bn = p->b + n * K;
      uint32_t dot = 0;
      if (a_signed)
        for (size_t k = 0; k < K; k++) dot += (uint32_t)((int32_t)as[k] * bn[k]);
      else
        for (size_t k = 0; k < K; k++) dot += (uint32_t)((int32_t)au[k] * bn[k]);
      uint32_t zbn = (uint32_t)p->zb[n];
      dot -= zam * (uint32_t)p->col_sum[n];
      dot -= zbn * row_sum;
      dot += (uint32_t)K * zam * zbn;
      c[m * ldc + n] = (int32_t)dot;
    }
  }
}
