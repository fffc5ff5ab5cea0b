/* softmax.c — Softmax, LogSoftmax and Hardmax: before opset 13 over the input coerced to 2-D at
 * `axis` (default 1), from opset 13 along the one axis `axis` (default -1). */
#include <stdio.h>

#include "ops/float/reduce/reduce-util.h"

typedef enum sm_kind { SM_SOFTMAX, SM_LOGSOFTMAX, SM_HARDMAX } sm_kind;

typedef struct sm_state {
  sm_kind kind;
  bool coerce_2d;
  int64_t axis;
  int32_t dtype;
  char node[96];
} sm_state;

static octet_status sm_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                              octet_error *err, sm_kind kind) {
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s) return s;
  if ((s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE), err))) return s;
  bool coerce = info->opset < 13;
  int64_t axis;
  if ((s = octet_attr_int(info, "axis", coerce ? 1 : -1, &axis, err))) return s;
  sm_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->kind = kind;
  st->coerce_2d = coerce;
  st->axis = axis;
  snprintf(st->node, sizeof st->node, "%s", info->node_name ? info->node_name : "");
  st->dtype = info->input_dtypes[0];
  out_dtypes[0] = st->dtype;
  *state = st;
  return OCTET_OK;
}

OCTET_K_CREATE(octet_k_softmax_create) { return sm_create(info, out_dtypes, state, err, SM_SOFTMAX); }
OCTET_K_CREATE(octet_k_log_softmax_create) {
  return sm_create(info, out_dtypes, state, err, SM_LOGSOFTMAX);
}
OCTET_K_CREATE(octet_k_hardmax_create) { return sm_create(info, out_dtypes, state, err, SM_HARDMAX); }

static octet_status sm_view(const sm_state *st, const octet_tensor *x, rd_view *v, octet_error *err) {
  int64_t axis;
  /* A rank-0 input is one row of one element. */
  if (x->rank == 0) {
    *v = (rd_view){1, 1, 1};
    return OCTET_OK;
  }
  if (octet_k_axis(st->axis, x->rank, &axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  *v = st->coerce_2d ? rd_view_2d(x, axis) : rd_view_axis(x, axis);
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_softmax_infer) {
  rd_view v;
  octet_status s = sm_view(state, in[0], &v, err);
  if (s) return s;
  out[0].dtype = ((const sm_state *)state)->dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

typedef struct sm_task {
  sm_kind kind;
  rd_view v;
  const float *x;
  float *y;
  size_t nblk;
} sm_task;

/* One contiguous row: subtract the max (so exp never overflows), exp, sum, normalize. */
static void sm_row(sm_kind kind, const float *x, float *y, size_t n) {
  if (n == 0) return;
  float m = rd_max_f32(x, n);
  if (kind == SM_HARDMAX) {
    size_t bi = 0;
    for (size_t i = 0; i < n; i++)
      if (x[i] == m) {
        bi = i;
        break;
      }
    for (size_t i = 0; i < n; i++) y[i] = 0.0f;
    y[bi] = 1.0f;
    return;
  }
  rd_exp_sub_f32(x, m, y, n);
  float sum = rd_sum_f32(y, n);
  if (kind == SM_SOFTMAX) {
    for (size_t i = 0; i < n; i++) y[i] /= sum;
  } else {
    /* (x - m) is exact near the max; subtracting m + log(sum) at once would round at m's scale */
    float ls = logf(sum);
    for (size_t i = 0; i < n; i++) y[i] = (x[i] - m) - ls;
  }
}

static void sm_rows_task(void *arg, size_t begin, size_t end) {
  const sm_task *t = arg;
  size_t n = t->v.n;
  for (size_t o = begin; o < end; o++) sm_row(t->kind, t->x + o * n, t->y + o * n, n);
}

/* Along a middle axis: the max, exp and sum run over a block of `inner` columns at once, so the
 * inner loops are contiguous and vectorize. */
#define SM_BLOCK 256
static void sm_cols_task(void *arg, size_t begin, size_t end) {
  const sm_task *t = arg;
  size_t n = t->v.n, inner = t->v.inner;
  float mx[SM_BLOCK], sum[SM_BLOCK];
  size_t arg_i[SM_BLOCK];
  for (size_t u = begin; u < end; u++) {
    size_t o = u / t->nblk, j0 = (u % t->nblk) * SM_BLOCK;
    size_t m = inner - j0 < SM_BLOCK ? inner - j0 : SM_BLOCK;
    const float *x = t->x + o * n * inner + j0;
    float *y = t->y + o * n * inner + j0;
    for (size_t j = 0; j < m; j++) {
      mx[j] = x[j];
      sum[j] = 0.0f;
      arg_i[j] = 0;
    }
    for (size_t r = 1; r < n; r++) {
      const float *xr = x + r * inner;
      if (t->kind == SM_HARDMAX) {
        for (size_t j = 0; j < m; j++)
          if (xr[j] > mx[j]) {
            mx[j] = xr[j];
            arg_i[j] = r;
          }
      } else {
        for (size_t j = 0; j < m; j++) mx[j] = (xr[j] > mx[j] || xr[j] != xr[j]) ? xr[j] : mx[j];
      }
    }
    if (t->kind == SM_HARDMAX) {
      for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < m; j++) y[r * inner + j] = arg_i[j] == r ? 1.0f : 0.0f;
      continue;
    }
    for (size_t r = 0; r < n; r++) {
      const float *xr = x + r * inner;
      float *yr = y + r * inner;
      for (size_t j = 0; j < m; j++) yr[j] = xr[j] - mx[j];
      rd_exp_inplace_f32(yr, m);
      for (size_t j = 0; j < m; j++) sum[j] += yr[j];
    }
    if (t->kind == SM_SOFTMAX) {
      for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < m; j++) y[r * inner + j] /= sum[j];
    } else {
      for (size_t j = 0; j < m; j++) sum[j] = logf(sum[j]);
      for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < m; j++) y[r * inner + j] = (x[r * inner + j] - mx[j]) - sum[j];
    }
  }
}

/* Double: one strided slice per unit, scalar exp (no model we serve needs it fast). */
static void sm_f64_task(void *arg, size_t begin, size_t end) {
  const sm_task *t = arg;
  size_t n = t->v.n, inner = t->v.inner;
  for (size_t u = begin; u < end; u++) {
    size_t base = (u / inner) * n * inner + u % inner;
    const double *x = (const double *)(const void *)t->x + base;
    double *y = (double *)(void *)t->y + base;
    double m = x[0];
    size_t bi = 0;
    for (size_t r = 1; r < n; r++)
      if (x[r * inner] > m || (x[r * inner] != x[r * inner] && m == m)) {
        m = x[r * inner];
        bi = r;
      }
    if (t->kind == SM_HARDMAX) {
      for (size_t r = 0; r < n; r++) y[r * inner] = r == bi ? 1.0 : 0.0;
      continue;
    }
    double sum = 0;
    for (size_t r = 0; r < n; r++) sum += exp(x[r * inner] - m);
    double ls = log(sum);
    for (size_t r = 0; r < n; r++)
      y[r * inner] = t->kind == SM_SOFTMAX ? exp(x[r * inner] - m) / sum : (x[r * inner] - m) - ls;
  }
}

OCTET_K_RUN(octet_k_softmax_run) {
  const sm_state *st = state;
  sm_task t = {.kind = st->kind, .x = in[0]->data, .y = out[0].data};
  octet_status s = sm_view(st, in[0], &t.v, err);
  if (s) return s;
  if (t.v.outer == 0 || t.v.n == 0 || t.v.inner == 0) return OCTET_OK;
  size_t work = t.v.outer * t.v.n * t.v.inner * 8; /* exp costs several adds */
  if (st->dtype == OCTET_DTYPE_DOUBLE) {
    rd_parallel(host, t.v.outer * t.v.inner, work, sm_f64_task, &t);
    return OCTET_OK;
  }
  if (t.v.inner == 1) {
    rd_parallel(host, t.v.outer, work, sm_rows_task, &t);
  } else {
    t.nblk = (t.v.inner + SM_BLOCK - 1) / SM_BLOCK;
    rd_parallel(host, t.v.outer * t.nblk, work, sm_cols_task, &t);
  }
  return OCTET_OK;
}
