/* topk.c — TopK (k as an attribute in opset 1, an input from 10; largest/sorted from 11; ties
 * go to the lower index) and CumSum (exclusive, reverse). */
#include <stdio.h>

#include "ops/float/reduce/reduce-util.h"

/* ---- TopK ---- */

typedef struct topk_state {
  int64_t axis, k_attr;
  bool k_input, largest;
  int32_t dtype;
  char node[96];
} topk_state;

OCTET_K_CREATE(octet_k_topk_create) {
  bool k_input = info->opset >= 10;
  octet_status s = octet_k_expect_inputs(info, k_input ? 2 : 1, k_input ? 2 : 1, err);
  if (s) return s;
  s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE) | OCTET_DT(INT32) |
                                        OCTET_DT(INT64), err);
  if (s) return s;
  if (k_input && (s = octet_k_expect_dtype(info, 1, OCTET_DT(INT64) | OCTET_DT(INT32), err)))
    return s;
  int64_t axis, k = 0, largest = 1;
  if ((s = octet_attr_int(info, "axis", -1, &axis, err))) return s;
  if (!k_input) {
    if (!octet_attr_find(info, "k"))
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (TopK): attribute 'k' is required",
                        info->node_name);
    if ((s = octet_attr_int(info, "k", 0, &k, err))) return s;
  }
  if (info->opset >= 11 && (s = octet_attr_int(info, "largest", 1, &largest, err))) return s;
  /* `sorted` = 0 leaves the order unspecified; returning sorted results satisfies it. */
  if (info->n_outputs != 2)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (TopK): needs 2 outputs, has %zu",
                      info->node_name, info->n_outputs);
  topk_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->axis = axis;
  st->k_attr = k;
  st->k_input = k_input;
  st->largest = largest != 0;
  st->dtype = info->input_dtypes[0];
  snprintf(st->node, sizeof st->node, "%s", info->node_name ? info->node_name : "");
  out_dtypes[0] = st->dtype;
  out_dtypes[1] = OCTET_DTYPE_INT64;
  *state = st;
  return OCTET_OK;
}

#define TOPK_CHUNKS 8

typedef struct topk_geom {
  int64_t axis;
  size_t k;
  rd_view v;
  size_t chunks, chunk_bytes;
} topk_geom;

static octet_status topk_geom_make(const topk_state *st, const octet_tensor *const *in, size_t n_in,
                                   topk_geom *g, octet_error *err) {
  const octet_tensor *x = in[0];
  if (x->rank == 0)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': TopK needs rank >= 1", st->node);
  if (octet_k_axis(st->axis, x->rank, &g->axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  int64_t k = st->k_attr;
  if (st->k_input) {
    if (n_in < 2 || !in[1] || octet_tensor_numel(in[1]) != 1)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': K must hold one value",
                        st->node);
    k = octet_k_get_int(in[1], 0);
  }
  if (k < 0 || k > x->dims[g->axis])
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': k = %lld is outside [0, %lld] (the axis length)", st->node,
                      (long long)k, (long long)x->dims[g->axis]);
  g->k = (size_t)k;
  g->v = rd_view_axis(x, g->axis);
  size_t slices = g->v.outer * g->v.inner;
  g->chunks = slices < TOPK_CHUNKS ? slices : TOPK_CHUNKS;
  /* Per chunk: the gathered slice (8 bytes per value covers every dtype) and a heap of k. */
  size_t a, b;
  if (!octet_mul_size(g->v.n, 8, &a) || !octet_mul_size(g->k, sizeof(size_t), &b) ||
      !octet_add_size(a, b, &g->chunk_bytes))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': shape too large", st->node);
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_topk_infer) {
  const topk_state *st = state;
  topk_geom g;
  octet_status s = topk_geom_make(st, in, n_in, &g, err);
  if (s) return s;
  for (int o = 0; o < 2; o++) {
    octet_k_copy_shape(&out[o], in[0]);
    out[o].dims[g.axis] = (int64_t)g.k;
  }
  out[0].dtype = st->dtype;
  out[1].dtype = OCTET_DTYPE_INT64;
  if (!octet_mul_size(g.chunks, g.chunk_bytes, workspace))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': shape too large", st->node);
  return OCTET_OK;
}

typedef struct topk_task {
  const topk_state *st;
  const topk_geom *g;
  const void *x;
  void *y;
  int64_t *yi;
  unsigned char *ws;
} topk_task;

/* BETTER(a, b): position a ranks before position b — more extreme value, then lower index. NaN
 * ranks as the largest value (numpy's order), so the comparison stays a strict total order. */
#define TOPK_KERNEL(T, NAME, ISNAN)                                                           \
  static bool NAME##_better(const T *v, bool largest, size_t a, size_t b) {                  \
    T x = v[a], y = v[b];                                                                    \
    bool xn = ISNAN(x), yn = ISNAN(y);                                                       \
    if (xn || yn) {                                                                          \
      if (xn && yn) return a < b;                                                            \
      return largest ? xn : yn;                                                              \
    }                                                                                        \
    if (x != y) return largest ? x > y : x < y;                                              \
    return a < b;                                                                            \
  }                                                                                          \
  /* Heap with the worst kept element at the root. */                                        \
  static void NAME##_sift(const T *v, bool lg, size_t *h, size_t n, size_t i) {              \
    for (;;) {                                                                               \
      size_t l = 2 * i + 1, r = l + 1, w = i;                                                \
      if (l < n && NAME##_better(v, lg, h[w], h[l])) w = l;                                  \
      if (r < n && NAME##_better(v, lg, h[w], h[r])) w = r;                                  \
      if (w == i) return;                                                                    \
      size_t tmp = h[i];                                                                     \
      h[i] = h[w];                                                                           \
      h[w] = tmp;                                                                            \
      i = w;                                                                                 \
    }                                                                                        \
  }                                                                                          \
  static void NAME(void *arg, size_t begin, size_t end) {                                   \
    const topk_task *t = arg;                                                                \
    const topk_geom *g = t->g;                                                               \
    size_t n = g->v.n, inner = g->v.inner, k = g->k;                                         \
    size_t slices = g->v.outer * inner;                                                      \
    bool lg = t->st->largest;                                                                \
    for (size_t c = begin; c < end; c++) {                                                   \
      T *v = (T *)(t->ws + c * g->chunk_bytes);                                              \
      size_t *h = (size_t *)(t->ws + c * g->chunk_bytes + n * 8);                            \
      for (size_t sl = slices * c / g->chunks; sl < slices * (c + 1) / g->chunks; sl++) {    \
        size_t o = sl / inner, i = sl % inner;                                               \
        const T *xs = (const T *)t->x + o * n * inner + i;                                   \
        for (size_t r = 0; r < n; r++) v[r] = xs[r * inner];                                 \
        size_t hn = 0;                                                                       \
        for (size_t r = 0; r < n && k; r++) {                                                \
          if (hn < k) {                                                                      \
            size_t j = hn++;                                                                 \
            h[j] = r;                                                                        \
            while (j > 0 && NAME##_better(v, lg, h[(j - 1) / 2], h[j])) {                    \
              size_t p = (j - 1) / 2, tmp = h[p];                                            \
              h[p] = h[j];                                                                   \
              h[j] = tmp;                                                                    \
              j = p;                                                                         \
            }                                                                                \
          } else if (NAME##_better(v, lg, r, h[0])) {                                        \
            h[0] = r;                                                                        \
            NAME##_sift(v, lg, h, hn, 0);                                                    \
          }                                                                                  \
        }                                                                                    \
        T *ys = (T *)t->y + o * k * inner + i;                                               \
        int64_t *yis = t->yi + o * k * inner + i;                                            \
        while (hn > 0) { /* pop the worst into the last free slot: best-first order */       \
          size_t p = h[0];                                                                   \
          hn--;                                                                              \
          ys[hn * inner] = v[p];                                                             \
          yis[hn * inner] = (int64_t)p;                                                      \
          h[0] = h[hn];                                                                      \
          NAME##_sift(v, lg, h, hn, 0);                                                      \
        }                                                                                    \
      }                                                                                      \
    }                                                                                        \
  }

#define TOPK_ISNAN_F(x) ((x) != (x))
#define TOPK_ISNAN_I(x) ((void)(x), false)
TOPK_KERNEL(float, topk_f32, TOPK_ISNAN_F)
TOPK_KERNEL(double, topk_f64, TOPK_ISNAN_F)
TOPK_KERNEL(int32_t, topk_i32, TOPK_ISNAN_I)
TOPK_KERNEL(int64_t, topk_i64, TOPK_ISNAN_I)

OCTET_K_RUN(octet_k_topk_run) {
  const topk_state *st = state;
  topk_geom g;
  octet_status s = topk_geom_make(st, in, n_in, &g, err);
  if (s) return s;
  if (g.k == 0 || g.chunks == 0) return OCTET_OK;
  topk_task t = {.st = st, .g = &g, .x = in[0]->data, .y = out[0].data, .yi = out[1].data, .ws = ws};
  octet_task_fn fn;
  switch (st->dtype) {
  case OCTET_DTYPE_FLOAT: fn = topk_f32; break;
  case OCTET_DTYPE_DOUBLE: fn = topk_f64; break;
  case OCTET_DTYPE_INT32: fn = topk_i32; break;
  default: fn = topk_i64; break;
  }
  rd_parallel(host, g.chunks, g.v.outer * g.v.n * g.v.inner * 4, fn, &t);
  return OCTET_OK;
}

/* ---- CumSum ---- */

typedef struct cumsum_state {
  bool exclusive, reverse;
  int32_t dtype;
  char node[96];
} cumsum_state;

OCTET_K_CREATE(octet_k_cumsum_create) {
  octet_status s = octet_k_expect_inputs(info, 2, 2, err);
  if (s) return s;
  s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE) | OCTET_DT(INT32) |
                                        OCTET_DT(INT64) | OCTET_DT(UINT32) | OCTET_DT(UINT64), err);
  if (s) return s;
  if ((s = octet_k_expect_dtype(info, 1, OCTET_DT(INT64) | OCTET_DT(INT32), err))) return s;
  int64_t exclusive, reverse;
  if ((s = octet_attr_int(info, "exclusive", 0, &exclusive, err))) return s;
  if ((s = octet_attr_int(info, "reverse", 0, &reverse, err))) return s;
  cumsum_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->exclusive = exclusive != 0;
  st->reverse = reverse != 0;
  st->dtype = info->input_dtypes[0];
  snprintf(st->node, sizeof st->node, "%s", info->node_name ? info->node_name : "");
  out_dtypes[0] = st->dtype;
  *state = st;
  return OCTET_OK;
}

static octet_status cumsum_axis(const cumsum_state *st, const octet_tensor *const *in,
                                int64_t *axis, octet_error *err) {
  if (!in[1] || octet_tensor_numel(in[1]) != 1)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': axis must hold one value",
                      st->node);
  if (octet_k_axis(octet_k_get_int(in[1], 0), in[0]->rank, axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_cumsum_infer) {
  const cumsum_state *st = state;
  int64_t axis;
  octet_status s = cumsum_axis(st, in, &axis, err);
  if (s) return s;
  out[0].dtype = st->dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

typedef struct cumsum_task {
  const cumsum_state *st;
  rd_view v;
  size_t nblk;
  const void *x;
  void *y;
} cumsum_task;

#define CS_BLOCK 1024
/* y[p_k] = y[p_(k-1)] + x[p_k] (or + x[p_(k-1)] when exclusive) along the axis order p, each
 * unit a block of inner columns so the inner loop is contiguous. Integers add as unsigned (wrap,
 * no undefined overflow). */
#define CUMSUM_KERNEL(T, U, NAME)                                                        \
  static void NAME(void *arg, size_t begin, size_t end) {                               \
    const cumsum_task *t = arg;                                                          \
    size_t n = t->v.n, inner = t->v.inner;                                               \
    bool ex = t->st->exclusive, rev = t->st->reverse;                                    \
    for (size_t u = begin; u < end; u++) {                                               \
      size_t o = u / t->nblk, j0 = (u % t->nblk) * CS_BLOCK;                             \
      size_t m = inner - j0 < CS_BLOCK ? inner - j0 : CS_BLOCK;                          \
      const T *x = (const T *)t->x + o * n * inner + j0;                                 \
      T *y = (T *)t->y + o * n * inner + j0;                                             \
      for (size_t k = 0; k < n; k++) {                                                   \
        size_t r = rev ? n - 1 - k : k;                                                  \
        T *yr = y + r * inner;                                                           \
        if (k == 0) {                                                                    \
          for (size_t j = 0; j < m; j++) yr[j] = ex ? (T)0 : x[r * inner + j];           \
          continue;                                                                      \
        }                                                                                \
        size_t q = rev ? r + 1 : r - 1;                                                  \
        const T *yq = y + q * inner, *xs = x + (ex ? q : r) * inner;                     \
        for (size_t j = 0; j < m; j++) yr[j] = (T)((U)yq[j] + (U)xs[j]);                 \
      }                                                                                  \
    }                                                                                    \
  }
CUMSUM_KERNEL(float, float, cumsum_f32)
CUMSUM_KERNEL(double, double, cumsum_f64)
CUMSUM_KERNEL(int32_t, uint32_t, cumsum_i32)
CUMSUM_KERNEL(int64_t, uint64_t, cumsum_i64)

OCTET_K_RUN(octet_k_cumsum_run) {
  const cumsum_state *st = state;
  int64_t axis;
  octet_status s = cumsum_axis(st, in, &axis, err);
  if (s) return s;
  cumsum_task t = {.st = st, .v = rd_view_axis(in[0], axis), .x = in[0]->data, .y = out[0].data};
  if (t.v.outer == 0 || t.v.n == 0 || t.v.inner == 0) return OCTET_OK;
  t.nblk = (t.v.inner + CS_BLOCK - 1) / CS_BLOCK;
  octet_task_fn fn;
  switch (st->dtype) {
  case OCTET_DTYPE_FLOAT: fn = cumsum_f32; break;
  case OCTET_DTYPE_DOUBLE: fn = cumsum_f64; break;
  case OCTET_DTYPE_INT32:
  case OCTET_DTYPE_UINT32: fn = cumsum_i32; break;
  default: fn = cumsum_i64; break;
  }
  rd_parallel(host, t.v.outer * t.nblk, t.v.outer * t.v.n * t.v.inner, fn, &t);
  return OCTET_OK;
}
