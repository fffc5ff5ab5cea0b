/* reduce-util.h — what the reduce group's kernels share: the [outer, n, inner] view of a tensor
 * around one axis, work splitting for octet_parallel_for, and vectorizable float row loops. */
#ifndef OCTET_REDUCE_UTIL_H
#define OCTET_REDUCE_UTIL_H

#include <math.h>

#include "ops/kernel-util.h"

/* A tensor seen as [outer, n, inner] around axis `axis` (or around dims [axis, rank) when
 * `to_end`). */
typedef struct rd_view {
  size_t outer, n, inner;
} rd_view;

static inline rd_view rd_view_axis(const octet_tensor *t, int64_t axis) {
  rd_view v = {1, 1, 1};
  for (int32_t i = 0; i < t->rank; i++) {
    size_t d = (size_t)t->dims[i];
    if (i < axis) v.outer *= d;
    else if (i == axis) v.n = d;
    else v.inner *= d;
  }
  return v;
}

/* Dims [0, axis) are the rows and [axis, rank) the columns (Softmax before opset 13,
 * LayerNormalization). */
static inline rd_view rd_view_2d(const octet_tensor *t, int64_t axis) {
  rd_view v = {1, 1, 1};
  for (int32_t i = 0; i < t->rank; i++) {
    size_t d = (size_t)t->dims[i];
    if (i < axis) v.outer *= d;
    else v.n *= d;
  }
  return v;
}

/* Work below this many elements runs on the calling thread: waking the pool costs more. */
#define RD_PARALLEL_MIN 16384

/* Runs task over [0, units) on the host pool when the total work (elements) is worth it. The
 * split never changes results: every kernel here computes each output inside one unit. */
static inline void rd_parallel(const octet_host *host, size_t units, size_t work,
                               octet_task_fn task, void *arg) {
  if (work < RD_PARALLEL_MIN) host = NULL;
  octet_parallel_for(host, units, task, arg);
}

/* Float row primitives. Eight independent partial sums let the compiler use SIMD without
 * -ffast-math and make the result depend only on n, never on threads. */
#define RD_LANES 8

static inline float rd_sum_f32(const float *x, size_t n) {
  float acc[RD_LANES] = {0};
  size_t i = 0;
  for (; i + RD_LANES <= n; i += RD_LANES)
    for (int j = 0; j < RD_LANES; j++) acc[j] += x[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; i++) s += x[i];
  return s;
}

/* Sum of a row in the order ONNX Runtime's CPU ReduceSum/ReduceMean use (Eigen's SSE
 * reduction: a scalar prefix up to 16-byte alignment, two 4-lane accumulators striding 8, one
 * more 4-block, lanes folded (0+2)+(1+3), then the prefix and the tail one by one). `phase` is
 * the row's element offset modulo 4 from an aligned tensor start. Matching it makes octet's
 * float graphs between int8 ops (LayerNorm spelled out) round where ORT rounds, so both
 * runtimes quantize the same values. */
static inline float rd_sum_f32_ort(const float *x, size_t n, size_t phase) {
  size_t start = (4 - phase % 4) % 4;
  if (start > n) start = n;
  size_t size8 = (n - start) / 8 * 8, size4 = (n - start) / 4 * 4;
  size_t end8 = start + size8, end4 = start + size4;
  if (!size4) {
    float r = n ? x[0] : 0.0f;
    for (size_t i = 1; i < n; i++) r += x[i];
    return r;
  }
  float a[4], b[4];
  for (int j = 0; j < 4; j++) a[j] = x[start + j];
  if (size4 > 4) {
    for (int j = 0; j < 4; j++) b[j] = x[start + 4 + j];
    for (size_t i = start + 8; i < end8; i += 8)
      for (int j = 0; j < 4; j++) a[j] += x[i + j], b[j] += x[i + 4 + j];
    for (int j = 0; j < 4; j++) a[j] += b[j];
    if (end4 > end8)
      for (int j = 0; j < 4; j++) a[j] += x[end8 + j];
  }
  float r = (a[0] + a[2]) + (a[1] + a[3]);
  for (size_t i = 0; i < start; i++) r += x[i];
  for (size_t i = end4; i < n; i++) r += x[i];
  return r;
}

static inline float rd_sumsq_f32(const float *x, size_t n) {
  float acc[RD_LANES] = {0};
  size_t i = 0;
  for (; i + RD_LANES <= n; i += RD_LANES)
    for (int j = 0; j < RD_LANES; j++) acc[j] += x[i + j] * x[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; i++) s += x[i] * x[i];
  return s;
}

/* Sum of (x - c)^2: the second pass of a two-pass variance (no cancellation). */
static inline float rd_sumsqdev_f32(const float *x, size_t n, float c) {
  float acc[RD_LANES] = {0};
  size_t i = 0;
  for (; i + RD_LANES <= n; i += RD_LANES)
    for (int j = 0; j < RD_LANES; j++) {
      float d = x[i + j] - c;
      acc[j] += d * d;
    }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; i++) s += (x[i] - c) * (x[i] - c);
  return s;
}

static inline float rd_sumabs_f32(const float *x, size_t n) {
  float acc[RD_LANES] = {0};
  size_t i = 0;
  for (; i + RD_LANES <= n; i += RD_LANES)
    for (int j = 0; j < RD_LANES; j++) acc[j] += fabsf(x[i + j]);
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; i++) s += fabsf(x[i]);
  return s;
}

static inline float rd_prod_f32(const float *x, size_t n) {
  float acc[RD_LANES] = {1, 1, 1, 1, 1, 1, 1, 1};
  size_t i = 0;
  for (; i + RD_LANES <= n; i += RD_LANES)
    for (int j = 0; j < RD_LANES; j++) acc[j] *= x[i + j];
  float s = ((acc[0] * acc[4]) * (acc[1] * acc[5])) * ((acc[2] * acc[6]) * (acc[3] * acc[7]));
  for (; i < n; i++) s *= x[i];
  return s;
}

/* Max/min propagate NaN (a NaN anywhere gives NaN), as numpy and ONNX's reference do; the NaN
 * flags ride along in the vector loop. */
#define RD_MINMAX(NAME, INIT, CMP)                                                    \
  static inline float NAME(const float *x, size_t n) {                              \
    float acc[RD_LANES];                                                            \
    int nan[RD_LANES] = {0};                                                        \
    for (int j = 0; j < RD_LANES; j++) acc[j] = (INIT);                             \
    size_t i = 0;                                                                   \
    for (; i + RD_LANES <= n; i += RD_LANES)                                        \
      for (int j = 0; j < RD_LANES; j++) {                                          \
        float v = x[i + j];                                                         \
        acc[j] = v CMP acc[j] ? v : acc[j];                                         \
        nan[j] |= v != v;                                                           \
      }                                                                             \
    float m = (INIT);                                                               \
    int any = 0;                                                                    \
    for (int j = 0; j < RD_LANES; j++) {                                            \
      m = acc[j] CMP m ? acc[j] : m;                                                \
      any |= nan[j];                                                                \
    }                                                                               \
    for (; i < n; i++) {                                                            \
      m = x[i] CMP m ? x[i] : m;                                                    \
      any |= x[i] != x[i];                                                          \
    }                                                                               \
    return any ? NAN : m;                                                           \
  }
RD_MINMAX(rd_max_f32, -INFINITY, >)
RD_MINMAX(rd_min_f32, INFINITY, <)

/* exp of one float, written so loops calling it vectorize (libm's expf is a call per
 * element). exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln(2)/2, ln 2 split in a
 * high part exact in float and a low part; exp(r) by its Taylor series to degree 7 (truncation
 * < 1e-8 relative), so the result is within about 2 ulp of the true value. The rounding uses the
 * 1.5 * 2^23 trick in float, so no float-to-int conversion can overflow on NaN or inf.
 * Meant for softmax-style arguments (x <= 0 after subtracting the max): results below 1.7e-38
 * flush to 0, and x > 88 gives inf (true overflow starts at 88.72). */
static inline float rd_exp1_f32(float x) {
  const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f,
              ln2_lo = 1.42860682030941723212e-6f, magic = 12582912.0f;
  float xc = x < -87.0f ? -87.0f : x;
  xc = xc > 88.0f ? 88.0f : xc;
  float t = xc * log2e + magic;
  float k = t - magic;
  float r = (xc - k * ln2_hi) - k * ln2_lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  uint32_t tb;
  memcpy(&tb, &t, sizeof tb);
  uint32_t eb = (tb - 0x4B400000u + 127u) << 23; /* 2^k as float bits, k in [-126, 127] */
  float scale;
  memcpy(&scale, &eb, sizeof scale);
  float v = p * scale;
  v = x < -87.0f ? 0.0f : v; /* true value < 1.7e-38: subnormal, flushed */
  v = x > 88.0f ? INFINITY : v;
  return x != x ? x : v;
}

static inline void rd_exp_inplace_f32(float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = rd_exp1_f32(y[i]);
}

/* y = exp(x - m) (the softmax numerator) in one pass. */
static inline void rd_exp_sub_f32(const float *restrict x, float m, float *restrict y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = rd_exp1_f32(x[i] - m);
}

#endif
