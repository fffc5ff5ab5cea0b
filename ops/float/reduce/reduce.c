/* reduce.c — the Reduce* family (axes from an attribute, or from an input for ReduceSum-13 and
 * every reduction from opset 18; keepdims; noop_with_empty_axes) and ArgMax/ArgMin. */
#include <limits.h>
#include <stdio.h>

#include "ops/float/reduce/reduce-util.h"

typedef enum rd_op {
  RD_SUM,
  RD_MEAN,
  RD_MAX,
  RD_MIN,
  RD_PROD,
  RD_L1,
  RD_L2,
  RD_LOGSUM,
  RD_LOGSUMEXP,
  RD_SUMSQ,
} rd_op;

typedef struct reduce_state {
  rd_op op;
  int32_t dtype;
  bool keepdims, noop_with_empty_axes, axes_input;
  size_t n_axes;
  int64_t axes[OCTET_MAX_RANK];
  char node[96];
} reduce_state;

/* Shape analysis shared by infer and run (recomputed: run must not depend on infer's order).
 * Dims of size 1 are dropped and neighbours of the same kind merged, so most reductions become
 * one reduced group: [outer, n_red, inner]. */
typedef struct reduce_plan {
  bool noop;
  bool reduced[OCTET_MAX_RANK];
  size_t n_out, n_red;
  int ng;
  size_t gd[OCTET_MAX_RANK];
  bool gr[OCTET_MAX_RANK];
  bool single;
  size_t outer, inner;
} reduce_plan;

static octet_status reduce_plan_make(const reduce_state *st, const octet_tensor *const *in,
                                     size_t n_in, reduce_plan *p, octet_error *err) {
  const octet_tensor *x = in[0];
  memset(p, 0, sizeof *p);
  size_t na = 0;
  const octet_tensor *axes_t = NULL;
  if (st->axes_input) {
    if (n_in > 1 && in[1]) {
      axes_t = in[1];
      if (axes_t->dtype != OCTET_DTYPE_INT64 && axes_t->dtype != OCTET_DTYPE_INT32)
        return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': axes must be int64",
                          st->node);
      na = octet_tensor_numel(axes_t);
    }
  } else {
    na = st->n_axes;
  }
  if (na == 0) {
    if (st->axes_input && st->noop_with_empty_axes) p->noop = true;
    for (int32_t i = 0; i < x->rank; i++) p->reduced[i] = true;
  } else {
    for (size_t i = 0; i < na; i++) {
      int64_t a = axes_t ? octet_k_get_int(axes_t, i) : st->axes[i], ax;
      if (octet_k_axis(a, x->rank, &ax, err))
        return octet_fail_prefix(err, "node '%s': axes: ", st->node);
      p->reduced[ax] = true;
    }
  }
  p->n_out = 1;
  p->n_red = 1;
  int n_red_groups = 0;
  for (int32_t i = 0; i < x->rank; i++) {
    size_t d = (size_t)x->dims[i];
    bool ok = p->reduced[i] ? octet_mul_size(p->n_red, d, &p->n_red)
                            : octet_mul_size(p->n_out, d, &p->n_out);
    if (!ok)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': shape too large", st->node);
    if (d == 1) continue;
    if (p->ng > 0 && p->gr[p->ng - 1] == p->reduced[i]) {
      p->gd[p->ng - 1] *= d;
    } else {
      p->gd[p->ng] = d;
      p->gr[p->ng] = p->reduced[i];
      n_red_groups += p->reduced[i];
      p->ng++;
    }
  }
  p->single = n_red_groups <= 1;
  p->outer = 1;
  p->inner = 1;
  if (p->single) {
    bool seen = false;
    for (int g = 0; g < p->ng; g++) {
      if (p->gr[g]) seen = true;
      else if (seen) p->inner *= p->gd[g];
      else p->outer *= p->gd[g];
    }
  }
  return OCTET_OK;
}

/* Offset of the first input element feeding output o. */
static size_t plan_base(const reduce_plan *p, size_t o) {
  if (p->single) return (o / p->inner) * p->n_red * p->inner + o % p->inner;
  size_t base = 0, stride = 1;
  for (int g = p->ng - 1; g >= 0; g--) {
    if (!p->gr[g]) {
      base += (o % p->gd[g]) * stride;
      o /= p->gd[g];
    }
    stride *= p->gd[g];
  }
  return base;
}

/* Offsets (relative to plan_base) of the n_red inputs of one output, for several reduced
 * groups; row-major over the reduced groups so the order is fixed. */
static void plan_offsets(const reduce_plan *p, size_t *off) {
  size_t stride[OCTET_MAX_RANK], idx[OCTET_MAX_RANK] = {0};
  size_t s = 1;
  for (int g = p->ng - 1; g >= 0; g--) {
    stride[g] = s;
    s *= p->gd[g];
  }
  for (size_t r = 0; r < p->n_red; r++) {
    size_t o = 0;
    for (int g = 0; g < p->ng; g++)
      if (p->gr[g]) o += idx[g] * stride[g];
    off[r] = o;
    for (int g = p->ng - 1; g >= 0; g--) {
      if (!p->gr[g]) continue;
      if (++idx[g] < p->gd[g]) break;
      idx[g] = 0;
    }
  }
}

/* ---- create / infer ---- */

static octet_status reduce_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                                  octet_error *err, rd_op op) {
  bool axes_input = info->opset >= 18 || (op == RD_SUM && info->opset >= 13);
  octet_status stt = octet_k_expect_inputs(info, 1, axes_input ? 2 : 1, err);
  if (stt) return stt;
  stt = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE) | OCTET_DT(INT32) |
                                          OCTET_DT(INT64) | OCTET_DT(INT8) | OCTET_DT(UINT8), err);
  if (stt) return stt;
  int64_t keepdims, noop = 0;
  const int64_t *axes;
  size_t na;
  if ((stt = octet_attr_int(info, "keepdims", 1, &keepdims, err))) return stt;
  if (axes_input && (stt = octet_attr_int(info, "noop_with_empty_axes", 0, &noop, err))) return stt;
  if ((stt = octet_attr_ints(info, "axes", &axes, &na, err))) return stt;
  if (axes_input && na)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (%s): opset %d takes axes as an input, not an attribute",
                      info->node_name, info->op_type, (int)info->opset);
  if (na > OCTET_MAX_RANK)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): %zu axes for at most rank %d",
                      info->node_name, info->op_type, na, OCTET_MAX_RANK);
  reduce_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->op = op;
  st->dtype = info->input_dtypes[0];
  st->keepdims = keepdims != 0;
  st->noop_with_empty_axes = noop != 0;
  st->axes_input = axes_input;
  st->n_axes = na;
  if (na) memcpy(st->axes, axes, na * sizeof *axes);
  snprintf(st->node, sizeof st->node, "%s", info->node_name ? info->node_name : "");
  out_dtypes[0] = st->dtype;
  *state = st;
  return OCTET_OK;
}

#define REDUCE_CREATE(fn, OP) \
  OCTET_K_CREATE(fn) { return reduce_create(info, out_dtypes, state, err, OP); }
REDUCE_CREATE(octet_k_reduce_sum_create, RD_SUM)
REDUCE_CREATE(octet_k_reduce_mean_create, RD_MEAN)
REDUCE_CREATE(octet_k_reduce_max_create, RD_MAX)
REDUCE_CREATE(octet_k_reduce_min_create, RD_MIN)
REDUCE_CREATE(octet_k_reduce_prod_create, RD_PROD)
REDUCE_CREATE(octet_k_reduce_l1_create, RD_L1)
REDUCE_CREATE(octet_k_reduce_l2_create, RD_L2)
REDUCE_CREATE(octet_k_reduce_log_sum_create, RD_LOGSUM)
REDUCE_CREATE(octet_k_reduce_log_sum_exp_create, RD_LOGSUMEXP)
REDUCE_CREATE(octet_k_reduce_sum_square_create, RD_SUMSQ)

static bool float_fast(const reduce_state *st, const reduce_plan *p) {
  return st->dtype == OCTET_DTYPE_FLOAT && p->single &&
         !(st->op == RD_LOGSUMEXP && p->inner > 1);
}

OCTET_K_INFER(octet_k_reduce_infer) {
  const reduce_state *st = state;
  reduce_plan p;
  octet_status s = reduce_plan_make(st, in, n_in, &p, err);
  if (s) return s;
  const octet_tensor *x = in[0];
  out[0].dtype = st->dtype;
  if (p.noop) {
    octet_k_copy_shape(&out[0], x);
  } else {
    int32_t r = 0;
    for (int32_t i = 0; i < x->rank; i++) {
      if (!p.reduced[i]) out[0].dims[r++] = x->dims[i];
      else if (st->keepdims) out[0].dims[r++] = 1;
    }
    out[0].rank = r;
  }
  *workspace = 0;
  if (!p.noop && !p.single && !octet_mul_size(p.n_red, sizeof(size_t), workspace))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': shape too large", st->node);
  return OCTET_OK;
}

/* ---- float fast paths: one reduced group ---- */

typedef struct rd_task {
  const reduce_state *st;
  const reduce_plan *p;
  const void *x;
  void *y;
  const size_t *off;
  size_t nblk;
} rd_task;

static float finish_f32(rd_op op, float s, size_t n) {
  switch (op) {
  case RD_MEAN: return s / (float)n;
  case RD_L2: return sqrtf(s);
  case RD_LOGSUM: return logf(s);
  default: return s;
  }
}

/* Reduction over the innermost (contiguous) elements: one output per row. */
static void rd_rows_f32(void *arg, size_t begin, size_t end) {
  const rd_task *t = arg;
  const float *x = t->x;
  float *y = t->y;
  size_t n = t->p->n_red;
  rd_op op = t->st->op;
  for (size_t o = begin; o < end; o++) {
    const float *row = x + o * n;
    float s;
    switch (op) {
    case RD_MAX: s = rd_max_f32(row, n); break;
    case RD_MIN: s = rd_min_f32(row, n); break;
    case RD_PROD: s = rd_prod_f32(row, n); break;
    case RD_L1: s = rd_sumabs_f32(row, n); break;
    case RD_L2:
    case RD_SUMSQ: s = rd_sumsq_f32(row, n); break;
    case RD_LOGSUMEXP: {
      float m = rd_max_f32(row, n);
      if (isinf(m) || m != m) {
        s = m;
        break;
      }
      float acc = 0, buf[256];
      for (size_t i = 0; i < n; i += 256) {
        size_t len = n - i < 256 ? n - i : 256;
        rd_exp_sub_f32(row + i, m, buf, len);
        acc += rd_sum_f32(buf, len);
      }
      s = m + logf(acc);
      break;
    }
    case RD_SUM:
    case RD_MEAN: s = rd_sum_f32_ort(row, n, (o * n) % 4); break;
    default: s = rd_sum_f32(row, n); break;
    }
    y[o] = finish_f32(op, s, n);
  }
}

/* acc[j] (op)= v[j] over m columns. `raw`: v is an input row (L1/L2/SumSquare transform it);
 * otherwise v is a partial result of the same op. */
static inline void cols_step(rd_op op, float *restrict acc, const float *restrict v, size_t m,
                             bool raw) {
  switch (op) {
  case RD_MAX:
    for (size_t j = 0; j < m; j++) acc[j] = (v[j] > acc[j] || v[j] != v[j]) ? v[j] : acc[j];
    break;
  case RD_MIN:
    for (size_t j = 0; j < m; j++) acc[j] = (v[j] < acc[j] || v[j] != v[j]) ? v[j] : acc[j];
    break;
  case RD_PROD:
    for (size_t j = 0; j < m; j++) acc[j] *= v[j];
    break;
  case RD_L1:
    if (raw)
      for (size_t j = 0; j < m; j++) acc[j] += fabsf(v[j]);
    else
      for (size_t j = 0; j < m; j++) acc[j] += v[j];
    break;
  case RD_L2:
  case RD_SUMSQ:
    if (raw)
      for (size_t j = 0; j < m; j++) acc[j] += v[j] * v[j];
    else
      for (size_t j = 0; j < m; j++) acc[j] += v[j];
    break;
  default:
    for (size_t j = 0; j < m; j++) acc[j] += v[j];
    break;
  }
}

/* Reduction over a middle axis: whole rows of `inner` are combined, so the loop over the inner
 * block vectorizes. A unit is one outer index times one block of inner columns. Rows are summed
 * in chunks of RD_COLS_CHUNK into a partial that is then added to the output: two levels keep
 * float rounding error near (chunk + n / chunk) ulps instead of n. */
#define RD_COLS_BLOCK 1024
#define RD_COLS_CHUNK 32
static void rd_cols_f32(void *arg, size_t begin, size_t end) {
  const rd_task *t = arg;
  const reduce_plan *p = t->p;
  const float *x = t->x;
  float *y = t->y;
  size_t n = p->n_red, inner = p->inner;
  rd_op op = t->st->op;
  float part[RD_COLS_BLOCK];
  float init = op == RD_PROD ? 1.0f : op == RD_MAX ? -INFINITY : op == RD_MIN ? INFINITY : 0.0f;
  for (size_t u = begin; u < end; u++) {
    size_t o = u / t->nblk, j0 = (u % t->nblk) * RD_COLS_BLOCK;
    size_t m = inner - j0 < RD_COLS_BLOCK ? inner - j0 : RD_COLS_BLOCK;
    const float *xs = x + o * n * inner + j0;
    float *ys = y + o * inner + j0;
    for (size_t j = 0; j < m; j++) ys[j] = init;
    for (size_t r0 = 0; r0 < n; r0 += RD_COLS_CHUNK) {
      size_t r1 = n - r0 < RD_COLS_CHUNK ? n : r0 + RD_COLS_CHUNK;
      for (size_t j = 0; j < m; j++) part[j] = init;
      for (size_t r = r0; r < r1; r++) cols_step(op, part, xs + r * inner, m, true);
      cols_step(op, ys, part, m, false);
    }
    if (op == RD_MEAN) {
      float inv = (float)n;
      for (size_t j = 0; j < m; j++) ys[j] /= inv;
    } else if (op == RD_L2 || op == RD_LOGSUM) {
      for (size_t j = 0; j < m; j++) ys[j] = finish_f32(op, ys[j], n);
    }
  }
}

/* ---- generic paths: any dtype, any set of axes ---- */

#define RD_IDX(r) (t->off ? base + t->off[r] : base + (r) * p->inner)
#define RD_LOOP(A, INIT, STEP)                          \
  A acc = (INIT);                                       \
  for (size_t r = 0; r < p->n_red; r++) {               \
    A v = (A)x[RD_IDX(r)];                              \
    STEP;                                               \
  }

/* Floating types accumulate in double. */
#define RD_GENERIC_FLOAT(T, NAME)                                                           \
  static void NAME(void *arg, size_t begin, size_t end) {                                  \
    const rd_task *t = arg;                                                                \
    const reduce_plan *p = t->p;                                                           \
    const T *x = t->x;                                                                     \
    T *y = t->y;                                                                           \
    for (size_t o = begin; o < end; o++) {                                                 \
      size_t base = plan_base(p, o);                                                       \
      double res;                                                                          \
      switch (t->st->op) {                                                                 \
      case RD_MAX: {                                                                       \
        RD_LOOP(double, -INFINITY, acc = (v > acc || v != v) ? v : acc) res = acc;         \
        break;                                                                             \
      }                                                                                    \
      case RD_MIN: {                                                                       \
        RD_LOOP(double, INFINITY, acc = (v < acc || v != v) ? v : acc) res = acc;          \
        break;                                                                             \
      }                                                                                    \
      case RD_PROD: {                                                                      \
        RD_LOOP(double, 1.0, acc *= v) res = acc;                                          \
        break;                                                                             \
      }                                                                                    \
      case RD_L1: {                                                                        \
        RD_LOOP(double, 0.0, acc += fabs(v)) res = acc;                                    \
        break;                                                                             \
      }                                                                                    \
      case RD_L2: {                                                                        \
        RD_LOOP(double, 0.0, acc += v * v) res = sqrt(acc);                                \
        break;                                                                             \
      }                                                                                    \
      case RD_SUMSQ: {                                                                     \
        RD_LOOP(double, 0.0, acc += v * v) res = acc;                                      \
        break;                                                                             \
      }                                                                                    \
      case RD_LOGSUMEXP: {                                                                 \
        RD_LOOP(double, -INFINITY, acc = (v > acc || v != v) ? v : acc)                    \
        double mx = acc;                                                                   \
        if (isinf(mx) || mx != mx) {                                                       \
          res = mx;                                                                        \
          break;                                                                           \
        }                                                                                  \
        double s = 0;                                                                      \
        for (size_t r = 0; r < p->n_red; r++) s += exp((double)x[RD_IDX(r)] - mx);          \
        res = mx + log(s);                                                                 \
        break;                                                                             \
      }                                                                                    \
      default: {                                                                           \
        RD_LOOP(double, 0.0, acc += v)                                                     \
        res = t->st->op == RD_MEAN ? acc / (double)p->n_red                                \
              : t->st->op == RD_LOGSUM ? log(acc) : acc;                                   \
        break;                                                                             \
      }                                                                                    \
      }                                                                                    \
      y[o] = (T)res;                                                                       \
    }                                                                                      \
  }

/* Integer types: sums and products wrap (computed in uint64, never signed overflow); Mean
 * divides as integers, as ONNX Runtime does; L2/LogSum/LogSumExp go through double. */
#define RD_GENERIC_INT(T, NAME, TMIN, TMAX)                                                 \
  static void NAME(void *arg, size_t begin, size_t end) {                                  \
    const rd_task *t = arg;                                                                \
    const reduce_plan *p = t->p;                                                           \
    const T *x = t->x;                                                                     \
    T *y = t->y;                                                                           \
    for (size_t o = begin; o < end; o++) {                                                 \
      size_t base = plan_base(p, o);                                                       \
      int64_t res;                                                                         \
      switch (t->st->op) {                                                                 \
      case RD_MAX: {                                                                       \
        RD_LOOP(int64_t, TMIN, acc = v > acc ? v : acc) res = acc;                         \
        break;                                                                             \
      }                                                                                    \
      case RD_MIN: {                                                                       \
        RD_LOOP(int64_t, TMAX, acc = v < acc ? v : acc) res = acc;                         \
        break;                                                                             \
      }                                                                                    \
      case RD_PROD: {                                                                      \
        RD_LOOP(uint64_t, 1u, acc *= v) res = (int64_t)acc;                                \
        break;                                                                             \
      }                                                                                    \
      case RD_L1: {                                                                        \
        RD_LOOP(int64_t, 0, acc = (int64_t)((uint64_t)acc + (uint64_t)(v < 0 ? -(uint64_t)v : (uint64_t)v))) \
        res = acc;                                                                         \
        break;                                                                             \
      }                                                                                    \
      case RD_SUMSQ: {                                                                     \
        RD_LOOP(uint64_t, 0u, acc += v * v) res = (int64_t)acc;                            \
        break;                                                                             \
      }                                                                                    \
      case RD_L2: {                                                                        \
        RD_LOOP(double, 0.0, acc += v * v) res = (int64_t)sqrt(acc);                       \
        break;                                                                             \
      }                                                                                    \
      case RD_LOGSUM: {                                                                    \
        RD_LOOP(double, 0.0, acc += v) res = (int64_t)log(acc);                            \
        break;                                                                             \
      }                                                                                    \
      case RD_LOGSUMEXP: {                                                                 \
        RD_LOOP(double, 0.0, acc += exp(v)) res = (int64_t)log(acc);                       \
        break;                                                                             \
      }                                                                                    \
      default: {                                                                           \
        RD_LOOP(uint64_t, 0u, acc += v)                                                    \
        res = (int64_t)acc;                                                                \
        if (t->st->op == RD_MEAN) res = p->n_red ? res / (int64_t)p->n_red : 0;           \
        break;                                                                             \
      }                                                                                    \
      }                                                                                    \
      y[o] = (T)res;                                                                       \
    }                                                                                      \
  }

RD_GENERIC_FLOAT(float, rd_generic_f32)
RD_GENERIC_FLOAT(double, rd_generic_f64)
RD_GENERIC_INT(int32_t, rd_generic_i32, INT32_MIN, INT32_MAX)
RD_GENERIC_INT(int64_t, rd_generic_i64, INT64_MIN, INT64_MAX)
RD_GENERIC_INT(int8_t, rd_generic_i8, INT8_MIN, INT8_MAX)
RD_GENERIC_INT(uint8_t, rd_generic_u8, 0, UINT8_MAX)

OCTET_K_RUN(octet_k_reduce_run) {
  const reduce_state *st = state;
  reduce_plan p;
  octet_status s = reduce_plan_make(st, in, n_in, &p, err);
  if (s) return s;
  if (p.noop) {
    if (out[0].data != in[0]->data)
      memcpy(out[0].data, in[0]->data, octet_tensor_nbytes(in[0]));
    return OCTET_OK;
  }
  rd_task t = {.st = st, .p = &p, .x = in[0]->data, .y = out[0].data};
  size_t work = p.n_out * (p.n_red ? p.n_red : 1);
  if (float_fast(st, &p)) {
    if (p.inner == 1) {
      rd_parallel(host, p.n_out, work, rd_rows_f32, &t);
    } else {
      t.nblk = (p.inner + RD_COLS_BLOCK - 1) / RD_COLS_BLOCK;
      rd_parallel(host, p.outer * t.nblk, work, rd_cols_f32, &t);
    }
    return OCTET_OK;
  }
  if (!p.single) {
    plan_offsets(&p, ws);
    t.off = ws;
  }
  octet_task_fn fn;
  switch (st->dtype) {
  case OCTET_DTYPE_FLOAT: fn = rd_generic_f32; break;
  case OCTET_DTYPE_DOUBLE: fn = rd_generic_f64; break;
  case OCTET_DTYPE_INT32: fn = rd_generic_i32; break;
  case OCTET_DTYPE_INT8: fn = rd_generic_i8; break;
  case OCTET_DTYPE_UINT8: fn = rd_generic_u8; break;
  default: fn = rd_generic_i64; break;
  }
  rd_parallel(host, p.n_out, work, fn, &t);
  return OCTET_OK;
}

/* ---- ArgMax / ArgMin ---- */

typedef struct arg_state {
  bool is_max, keepdims, last;
  int64_t axis;
  int32_t dtype;
  char node[96];
} arg_state;

static octet_status arg_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                               octet_error *err, bool is_max) {
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s) return s;
  s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE) | OCTET_DT(INT32) |
                                        OCTET_DT(INT64) | OCTET_DT(INT8) | OCTET_DT(UINT8), err);
  if (s) return s;
  int64_t axis, keepdims, last;
  if ((s = octet_attr_int(info, "axis", 0, &axis, err))) return s;
  if ((s = octet_attr_int(info, "keepdims", 1, &keepdims, err))) return s;
  if ((s = octet_attr_int(info, "select_last_index", 0, &last, err))) return s;
  arg_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->is_max = is_max;
  st->keepdims = keepdims != 0;
  st->last = last != 0;
  st->axis = axis;
  st->dtype = info->input_dtypes[0];
  snprintf(st->node, sizeof st->node, "%s", info->node_name ? info->node_name : "");
  out_dtypes[0] = OCTET_DTYPE_INT64;
  *state = st;
  return OCTET_OK;
}

OCTET_K_CREATE(octet_k_argmax_create) { return arg_create(info, out_dtypes, state, err, true); }
OCTET_K_CREATE(octet_k_argmin_create) { return arg_create(info, out_dtypes, state, err, false); }

OCTET_K_INFER(octet_k_arg_infer) {
  const arg_state *st = state;
  const octet_tensor *x = in[0];
  int64_t axis;
  if (octet_k_axis(st->axis, x->rank, &axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  if (x->dims[axis] == 0)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': cannot take an arg-extremum over an empty axis", st->node);
  out[0].dtype = OCTET_DTYPE_INT64;
  int32_t r = 0;
  for (int32_t i = 0; i < x->rank; i++) {
    if (i != axis) out[0].dims[r++] = x->dims[i];
    else if (st->keepdims) out[0].dims[r++] = 1;
  }
  out[0].rank = r;
  *workspace = 0;
  return OCTET_OK;
}

typedef struct arg_task {
  const arg_state *st;
  rd_view v;
  const void *x;
  int64_t *y;
} arg_task;

/* The first (or with select_last_index the last) extremum wins; comparisons are strict so
 * ties keep the earlier index unless `last`. */
#define ARG_KERNEL(T, NAME)                                                             \
  static void NAME(void *arg, size_t begin, size_t end) {                              \
    const arg_task *t = arg;                                                           \
    const T *x = t->x;                                                                 \
    size_t n = t->v.n, inner = t->v.inner;                                             \
    bool mx = t->st->is_max, last = t->st->last;                                       \
    for (size_t o = begin; o < end; o++) {                                             \
      const T *p = x + (o / inner) * n * inner + o % inner;                            \
      T best = p[0];                                                                   \
      size_t bi = 0;                                                                   \
      for (size_t r = 1; r < n; r++) {                                                 \
        T v = p[r * inner];                                                            \
        bool better = mx ? (last ? v >= best : v > best) : (last ? v <= best : v < best); \
        if (better) {                                                                  \
          best = v;                                                                    \
          bi = r;                                                                      \
        }                                                                              \
      }                                                                                \
      t->y[o] = (int64_t)bi;                                                           \
    }                                                                                  \
  }
ARG_KERNEL(float, arg_f32)
ARG_KERNEL(double, arg_f64)
ARG_KERNEL(int32_t, arg_i32)
ARG_KERNEL(int64_t, arg_i64)
ARG_KERNEL(int8_t, arg_i8)
ARG_KERNEL(uint8_t, arg_u8)

OCTET_K_RUN(octet_k_arg_run) {
  const arg_state *st = state;
  int64_t axis;
  if (octet_k_axis(st->axis, in[0]->rank, &axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  arg_task t = {.st = st, .v = rd_view_axis(in[0], axis), .x = in[0]->data, .y = out[0].data};
  octet_task_fn fn;
  switch (st->dtype) {
  case OCTET_DTYPE_FLOAT: fn = arg_f32; break;
  case OCTET_DTYPE_DOUBLE: fn = arg_f64; break;
  case OCTET_DTYPE_INT32: fn = arg_i32; break;
  case OCTET_DTYPE_INT64: fn = arg_i64; break;
  case OCTET_DTYPE_INT8: fn = arg_i8; break;
  default: fn = arg_u8; break;
  }
  size_t units = t.v.outer * t.v.inner;
  rd_parallel(host, units, units * t.v.n, fn, &t);
  return OCTET_OK;
}

/* ---- MeanVarianceNormalization: (x - mean) / (sqrt(var) + 1e-9) over `axes` ---- */

OCTET_K_CREATE(octet_k_mvn_create) {
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s) return s;
  if ((s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT), err))) return s;
  const int64_t *axes;
  size_t na;
  static const int64_t dflt[] = {0, 2, 3};
  if ((s = octet_attr_ints(info, "axes", &axes, &na, err))) return s;
  if (!octet_attr_find(info, "axes")) {
    axes = dflt;
    na = 3;
  }
  if (na > OCTET_MAX_RANK)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): %zu axes for at most rank %d",
                      info->node_name, info->op_type, na, OCTET_MAX_RANK);
  reduce_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->op = RD_MEAN;
  st->dtype = OCTET_DTYPE_FLOAT;
  st->keepdims = true;
  st->n_axes = na;
  memcpy(st->axes, axes, na * sizeof *axes);
  snprintf(st->node, sizeof st->node, "%s", info->node_name ? info->node_name : "");
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = st;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_mvn_infer) {
  reduce_plan p;
  octet_status s = reduce_plan_make(state, in, n_in, &p, err);
  if (s) return s;
  out[0].dtype = OCTET_DTYPE_FLOAT;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  if (!p.single && !octet_mul_size(p.n_red, sizeof(size_t), workspace))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': shape too large",
                      ((const reduce_state *)state)->node);
  return OCTET_OK;
}

/* Two-pass statistics (the ONNX function's E[x^2] - E[x]^2 can go negative by rounding). */
static void mvn_task(void *arg, size_t begin, size_t end) {
  const rd_task *t = arg;
  const reduce_plan *p = t->p;
  const float *x = t->x;
  float *y = t->y;
  size_t n = p->n_red;
  for (size_t o = begin; o < end; o++) {
    size_t base = plan_base(p, o);
    float mean, var;
    if (!t->off && p->inner == 1) {
      mean = rd_sum_f32(x + base, n) / (float)n;
      var = rd_sumsqdev_f32(x + base, n, mean) / (float)n;
    } else {
      double s = 0, v = 0;
      for (size_t r = 0; r < n; r++) s += x[RD_IDX(r)];
      mean = (float)(s / (double)n);
      for (size_t r = 0; r < n; r++) {
        double d = (double)x[RD_IDX(r)] - mean;
        v += d * d;
      }
      var = (float)(v / (double)n);
    }
    float inv = 1.0f / (sqrtf(var) + 1e-9f);
    for (size_t r = 0; r < n; r++) y[RD_IDX(r)] = (x[RD_IDX(r)] - mean) * inv;
  }
}

OCTET_K_RUN(octet_k_mvn_run) {
  reduce_plan p;
  octet_status s = reduce_plan_make(state, in, n_in, &p, err);
  if (s) return s;
  if (p.n_red == 0) return OCTET_OK;
  rd_task t = {.st = state, .p = &p, .x = in[0]->data, .y = out[0].data};
  if (!p.single) {
    plan_offsets(&p, ws);
    t.off = ws;
  }
  rd_parallel(host, p.n_out, p.n_out * p.n_red * 3, mvn_task, &t);
  return OCTET_OK;
}
