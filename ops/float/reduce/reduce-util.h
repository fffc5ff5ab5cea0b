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

#endif
