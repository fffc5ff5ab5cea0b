/* gather-scatter.c — index-driven copies: Gather, GatherElements, GatherND, ScatterND,
 * ScatterElements (and the deprecated Scatter). Indices are int32/int64, negative ones count
 * from the end, anything outside [-n, n) is an error naming the index. */
#include "ops/float/tensor/tensor-util.h"

#define ST ((tk_state *)state)

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static octet_status index_at(const tk_base *b, const octet_tensor *idx, size_t i, int64_t n,
                             int64_t *out, octet_error *err) {
  int64_t v = idx->dtype == OCTET_DTYPE_INT32 ? ((const int32_t *)idx->data)[i]
                                              : ((const int64_t *)idx->data)[i];
  if (v < -n || v >= n)
    return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "index %lld (element %zu of the indices) is out of range [-%lld, %lld)",
                   (long long)v, i, (long long)n, (long long)n);
  *out = v < 0 ? v + n : v;
  return OCTET_OK;
}

static octet_status idx_create(const octet_kernel_info *info, size_t n_in, size_t idx_input,
                               int32_t *out_dtypes, tk_state **st, octet_error *err) {
  octet_status s = octet_k_expect_inputs(info, n_in, n_in, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) ||
      (s = octet_k_expect_dtype(info, idx_input, TK_INDEX_TYPES, err)) || (s = tk_new(info, st, err)))
    return s;
  out_dtypes[0] = info->input_dtypes[0];
  return octet_attr_int(info, "axis", 0, &(*st)->axis, err);
}

/* ---- Gather ---- */

OCTET_K_CREATE(tk_gather_create) {
  tk_state *st = NULL;
  octet_status s = idx_create(info, 2, 1, out_dtypes, &st, err);
  *state = st;
  return s;
}

OCTET_K_INFER(tk_gather_infer) {
  (void)n_in, (void)n_out;
  const octet_tensor *d = in[0], *ix = in[1];
  int64_t axis;
  if (octet_k_axis(ST->axis, d->rank, &axis, err))
    return octet_fail_prefix(err, "node '%s' (Gather): ", ST->b.node);
  int32_t r = d->rank - 1 + ix->rank;
  if (r > OCTET_MAX_RANK)
    return tk_fail(&ST->b, err, OCTET_STATUS_UNSUPPORTED, "output rank %d is too large", (int)r);
  out[0].dtype = d->dtype;
  out[0].rank = r;
  int32_t k = 0;
  for (int32_t i = 0; i < axis; i++) out[0].dims[k++] = d->dims[i];
  for (int32_t i = 0; i < ix->rank; i++) out[0].dims[k++] = ix->dims[i];
  for (int32_t i = (int32_t)axis + 1; i < d->rank; i++) out[0].dims[k++] = d->dims[i];
  *workspace = 0;
  return OCTET_OK;
}

typedef struct gather_job {
  const uint8_t *src;
  uint8_t *dst;
  const octet_tensor *idx;
  size_t n_idx, block, axis_dim;
} gather_job;

static void gather_task(void *arg, size_t begin, size_t end) {
  const gather_job *j = arg;
  for (size_t t = begin; t < end; t++) {
    size_t o = t / j->n_idx, k = t % j->n_idx;
    int64_t v = j->idx->dtype == OCTET_DTYPE_INT32 ? ((const int32_t *)j->idx->data)[k]
                                                   : ((const int64_t *)j->idx->data)[k];
    if (v < 0) v += (int64_t)j->axis_dim;
    uint8_t *d = j->dst + t * j->block;
    const uint8_t *sp = j->src + (o * j->axis_dim + (size_t)v) * j->block;
    if (j->block <= 8) tk_copy_el(d, sp, j->block); /* fixed-size copies for gathers of scalars */
    else memcpy(d, sp, j->block);
  }
}

OCTET_K_RUN(tk_gather_run) {
  (void)n_in, (void)n_out, (void)ws;
  const octet_tensor *d = in[0], *ix = in[1];
  int64_t axis = ST->axis < 0 ? ST->axis + d->rank : ST->axis, v;
  size_t n_idx = octet_tensor_numel(ix), outer = 1, block = octet_dtype_size(d->dtype);
  for (int32_t i = 0; i < axis; i++) outer *= (size_t)d->dims[i];
  for (int32_t i = (int32_t)axis + 1; i < d->rank; i++) block *= (size_t)d->dims[i];
  for (size_t k = 0; k < n_idx; k++) {
    octet_status s = index_at(&ST->b, ix, k, d->dims[axis], &v, err);
    if (s) return s;
  }
  gather_job j = {d->data, out[0].data, ix, n_idx, block, (size_t)d->dims[axis]};
  size_t n = outer * n_idx;
  if (n * block >= (1u << 16))
    octet_parallel_for(host, n, gather_task, &j);
  else
    gather_task(&j, 0, n);
  return OCTET_OK;
}

/* ---- GatherElements / ScatterElements ---- */

OCTET_K_CREATE(tk_gather_elements_create) {
  tk_state *st = NULL;
  octet_status s = idx_create(info, 2, 1, out_dtypes, &st, err);
  *state = st;
  return s;
}

static octet_status elements_check(tk_state *st, const octet_tensor *d, const octet_tensor *ix,
                                   int64_t *axis, octet_error *err) {
  if (octet_k_axis(st->axis, d->rank, axis, err))
    return octet_fail_prefix(err, "node '%s' (%s): ", st->b.node, st->b.op);
  if (ix->rank != d->rank)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "indices have rank %d, data has rank %d", (int)ix->rank, (int)d->rank);
  for (int32_t i = 0; i < d->rank; i++)
    if (i != *axis && ix->dims[i] > d->dims[i])
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "indices dim %d (%lld) exceeds the data's (%lld)", (int)i,
                     (long long)ix->dims[i], (long long)d->dims[i]);
  return OCTET_OK;
}

OCTET_K_INFER(tk_gather_elements_infer) {
  (void)n_in, (void)n_out;
  int64_t axis;
  octet_status s = elements_check(ST, in[0], in[1], &axis, err);
  if (s) return s;
  out[0].dtype = in[0]->dtype;
  octet_k_copy_shape(&out[0], in[1]);
  *workspace = 0;
  return OCTET_OK;
}

/* Walks the indices tensor; for element t calls back with the data offset it addresses. */
#define ELEMENTS_LOOP(d, ix, axis, BODY)                                                   \
  do {                                                                                     \
    int64_t ds_[OCTET_MAX_RANK], ctr_[OCTET_MAX_RANK] = {0}, base_ = 0;                    \
    tk_strides((d)->dims, (d)->rank, ds_);                                                 \
    size_t n_ = octet_tensor_numel(ix);                                                    \
    for (size_t t = 0; t < n_; t++) {                                                      \
      int64_t v_ = 0;                                                                        \
      octet_status s_ = index_at(&ST->b, ix, t, (d)->dims[axis], &v_, err);                \
      if (s_) return s_;                                                                   \
      size_t off = (size_t)(base_ + v_ * ds_[axis]);                                       \
      BODY;                                                                                \
      for (int32_t q_ = (ix)->rank - 1; q_ >= 0; q_--) {                                   \
        if (q_ != (axis)) base_ += ds_[q_];                                                \
        if (++ctr_[q_] < (ix)->dims[q_]) break;                                            \
        if (q_ != (axis)) base_ -= ds_[q_] * ctr_[q_];                                     \
        ctr_[q_] = 0;                                                                      \
      }                                                                                    \
    }                                                                                      \
  } while (0)

OCTET_K_RUN(tk_gather_elements_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host;
  int64_t axis = ST->axis < 0 ? ST->axis + in[0]->rank : ST->axis;
  size_t es = octet_dtype_size(in[0]->dtype);
  const uint8_t *src = in[0]->data;
  uint8_t *dst = out[0].data;
  ELEMENTS_LOOP(in[0], in[1], axis, tk_copy_el(dst + t * es, src + off * es, es));
  return OCTET_OK;
}

/* dst op= src for one element. */
static void reduce_el(int32_t dt, int red, void *dst, const void *src) {
#define RED(T)                                                                             \
  {                                                                                        \
    T a, b;                                                                                \
    memcpy(&a, dst, sizeof a), memcpy(&b, src, sizeof b);                                  \
    T r = red == RED_ADD ? (T)(a + b) : red == RED_MUL ? (T)(a * b) : red == RED_MAX ? (a > b ? a : b) \
                                                                                : (a < b ? a : b); \
    memcpy(dst, &r, sizeof r);                                                             \
    return;                                                                                \
  }
  switch (dt) {
  case OCTET_DTYPE_FLOAT: RED(float)
  case OCTET_DTYPE_DOUBLE: RED(double)
  case OCTET_DTYPE_INT8: RED(int8_t)
  case OCTET_DTYPE_UINT8: RED(uint8_t)
  case OCTET_DTYPE_INT16: RED(int16_t)
  case OCTET_DTYPE_UINT16: RED(uint16_t)
  case OCTET_DTYPE_INT32: RED(int32_t)
  case OCTET_DTYPE_UINT32: RED(uint32_t)
  case OCTET_DTYPE_INT64: RED(int64_t)
  case OCTET_DTYPE_UINT64: RED(uint64_t)
  case OCTET_DTYPE_BOOL: {
    uint8_t a = *(uint8_t *)dst, b = *(const uint8_t *)src;
    *(uint8_t *)dst = red == RED_ADD || red == RED_MAX ? (a || b) : (a && b);
    return;
  }
  case OCTET_DTYPE_FLOAT16:
  case OCTET_DTYPE_BFLOAT16: {
    double a = tk_load_double(dt, dst), b = tk_load_double(dt, src);
    double r = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (a > b ? a : b) : (a < b ? a : b);
    tk_store_double(dt, dst, r);
    return;
  }
  default: return;
  }
#undef RED
}

static octet_status scatter_create(const octet_kernel_info *info, int32_t *out_dtypes,
                                   void **state, octet_error *err) {
  tk_state *st = NULL;
  octet_status s = idx_create(info, 3, 1, out_dtypes, &st, err);
  *state = st;
  if (s) return s;
  if (info->input_dtypes[2] != info->input_dtypes[0])
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                        "updates have type %s, data has %s", octet_dtype_name(info->input_dtypes[2]),
                        octet_dtype_name(info->input_dtypes[0]));
  const char *red;
  if ((s = octet_attr_string(info, "reduction", "none", &red, err))) return s;
  if (!strcmp(red, "none")) st->iv[0] = RED_NONE;
  else if (!strcmp(red, "add")) st->iv[0] = RED_ADD;
  else if (!strcmp(red, "mul")) st->iv[0] = RED_MUL;
  else if (!strcmp(red, "max")) st->iv[0] = RED_MAX;
  else if (!strcmp(red, "min")) st->iv[0] = RED_MIN;
  else return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "unknown reduction '%s'", red);
  int32_t dt = info->input_dtypes[0];
  if (st->iv[0] != RED_NONE &&
      !((OCTET_DT_NUMERIC | OCTET_DT(BOOL)) & (1u << dt)))
    return tk_fail_info(info, err, OCTET_STATUS_UNSUPPORTED, "reduction '%s' on type %s", red,
                        octet_dtype_name(dt));
  return OCTET_OK;
}

OCTET_K_CREATE(tk_scatter_elements_create) { return scatter_create(info, out_dtypes, state, err); }

OCTET_K_INFER(tk_scatter_elements_infer) {
  (void)n_in, (void)n_out;
  int64_t axis;
  octet_status s = elements_check(ST, in[0], in[1], &axis, err);
  if (s) return s;
  if (in[2]->rank != in[1]->rank ||
      memcmp(in[2]->dims, in[1]->dims, sizeof(int64_t) * (size_t)in[1]->rank))
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "updates must have the shape of the indices");
  out[0].dtype = in[0]->dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_scatter_elements_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host;
  int64_t axis = ST->axis < 0 ? ST->axis + in[0]->rank : ST->axis;
  size_t es = octet_dtype_size(in[0]->dtype);
  int red = (int)ST->iv[0];
  int32_t dt = in[0]->dtype;
  if (out[0].data != in[0]->data) memcpy(out[0].data, in[0]->data, octet_tensor_nbytes(in[0]));
  const uint8_t *up = in[2]->data;
  uint8_t *dst = out[0].data;
  if (red == RED_NONE)
    ELEMENTS_LOOP(in[0], in[1], axis, tk_copy_el(dst + off * es, up + t * es, es));
  else
    ELEMENTS_LOOP(in[0], in[1], axis, reduce_el(dt, red, dst + off * es, up + t * es));
  return OCTET_OK;
}

/* ---- GatherND / ScatterND ---- */

OCTET_K_CREATE(tk_gather_nd_create) {
  tk_state *st = NULL;
  octet_status s = idx_create(info, 2, 1, out_dtypes, &st, err);
  *state = st;
  if (s) return s;
  if (info->input_dtypes[1] != OCTET_DTYPE_INT64)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "indices must be int64");
  return octet_attr_int(info, "batch_dims", 0, &st->iv[1], err);
}

/* Shapes of GatherND: batch b, index depth k, slice size (elements). */
typedef struct nd_plan {
  int64_t b, k;
  size_t batch, n_tuples_per_batch, slice;
  int64_t ds[OCTET_MAX_RANK];
} nd_plan;

static octet_status nd_plan_make(tk_state *st, const octet_tensor *d, const octet_tensor *ix,
                                 nd_plan *p, octet_error *err) {
  int64_t b = st->iv[1]; /* batch_dims (GatherND); 0 for ScatterND */
  if (ix->rank < 1)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "indices must have rank >= 1");
  int64_t k = ix->dims[ix->rank - 1];
  if (b < 0 || b >= ix->rank || b >= d->rank)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "batch_dims %lld is out of range",
                   (long long)b);
  if (k < 0 || b + k > d->rank)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "index tuples have %lld entries; data rank %d minus batch_dims %lld is smaller",
                   (long long)k, (int)d->rank, (long long)b);
  p->batch = 1;
  for (int64_t i = 0; i < b; i++) {
    if (d->dims[i] != ix->dims[i])
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "batch dim %lld differs: data %lld, indices %lld", (long long)i,
                     (long long)d->dims[i], (long long)ix->dims[i]);
    p->batch *= (size_t)d->dims[i];
  }
  p->n_tuples_per_batch = 1;
  for (int64_t i = b; i < ix->rank - 1; i++) p->n_tuples_per_batch *= (size_t)ix->dims[i];
  p->slice = 1;
  for (int64_t i = b + k; i < d->rank; i++) p->slice *= (size_t)d->dims[i];
  tk_strides(d->dims, d->rank, p->ds);
  p->b = b, p->k = k;
  return OCTET_OK;
}

OCTET_K_INFER(tk_gather_nd_infer) {
  (void)n_in, (void)n_out;
  nd_plan p;
  const octet_tensor *d = in[0], *ix = in[1];
  octet_status s = nd_plan_make(ST, d, ix, &p, err);
  if (s) return s;
  int32_t r = ix->rank - 1 + d->rank - (int32_t)(p.b + p.k);
  if (r > OCTET_MAX_RANK)
    return tk_fail(&ST->b, err, OCTET_STATUS_UNSUPPORTED, "output rank %d is too large", (int)r);
  out[0].dtype = d->dtype;
  out[0].rank = r;
  int32_t q = 0;
  for (int32_t i = 0; i < ix->rank - 1; i++) out[0].dims[q++] = ix->dims[i];
  for (int64_t i = p.b + p.k; i < d->rank; i++) out[0].dims[q++] = d->dims[i];
  *workspace = 0;
  return OCTET_OK;
}

/* Data offset (elements) of index tuple `tuple` in batch `bt`. */
static octet_status nd_offset(tk_state *st, const nd_plan *p, const octet_tensor *d,
                              const octet_tensor *ix, size_t bt, size_t tuple, size_t *off,
                              octet_error *err) {
  size_t o = bt * (p->b > 0 ? (size_t)p->ds[p->b - 1] : 0);
  size_t row = (bt * p->n_tuples_per_batch + tuple) * (size_t)p->k;
  for (int64_t j = 0; j < p->k; j++) {
    int64_t v = 0;
    octet_status s = index_at(&st->b, ix, row + (size_t)j, d->dims[p->b + j], &v, err);
    if (s) return s;
    o += (size_t)v * (size_t)p->ds[p->b + j];
  }
  *off = o;
  return OCTET_OK;
}

OCTET_K_RUN(tk_gather_nd_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host;
  nd_plan p;
  const octet_tensor *d = in[0], *ix = in[1];
  octet_status s = nd_plan_make(ST, d, ix, &p, err);
  if (s) return s;
  size_t es = octet_dtype_size(d->dtype), bytes = p.slice * es;
  uint8_t *dst = out[0].data;
  for (size_t bt = 0; bt < p.batch; bt++)
    for (size_t t = 0; t < p.n_tuples_per_batch; t++) {
      size_t off;
      if ((s = nd_offset(ST, &p, d, ix, bt, t, &off, err))) return s;
      memcpy(dst, (const uint8_t *)d->data + off * es, bytes);
      dst += bytes;
    }
  return OCTET_OK;
}

OCTET_K_CREATE(tk_scatter_nd_create) {
  octet_status s = scatter_create(info, out_dtypes, state, err);
  if (s) return s;
  if (info->input_dtypes[1] != OCTET_DTYPE_INT64)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "indices must be int64");
  return OCTET_OK;
}

OCTET_K_INFER(tk_scatter_nd_infer) {
  (void)n_in, (void)n_out;
  nd_plan p;
  const octet_tensor *d = in[0], *ix = in[1], *up = in[2];
  octet_status s = nd_plan_make(ST, d, ix, &p, err);
  if (s) return s;
  /* updates.shape == indices.shape[:-1] + data.shape[k:] */
  int32_t r = ix->rank - 1 + d->rank - (int32_t)p.k, q = 0;
  bool ok = up->rank == r;
  for (int32_t i = 0; ok && i < ix->rank - 1; i++) ok = up->dims[q++] == ix->dims[i];
  for (int64_t i = p.k; ok && i < d->rank; i++) ok = up->dims[q++] == d->dims[i];
  if (!ok)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "updates shape must be indices.shape[:-1] + data.shape[%lld:]", (long long)p.k);
  out[0].dtype = d->dtype;
  octet_k_copy_shape(&out[0], d);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_scatter_nd_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host;
  nd_plan p;
  const octet_tensor *d = in[0], *ix = in[1];
  octet_status s = nd_plan_make(ST, d, ix, &p, err);
  if (s) return s;
  size_t es = octet_dtype_size(d->dtype), bytes = p.slice * es;
  int red = (int)ST->iv[0];
  if (out[0].data != d->data) memcpy(out[0].data, d->data, octet_tensor_nbytes(d));
  const uint8_t *up = in[2]->data;
  for (size_t t = 0; t < p.n_tuples_per_batch; t++, up += bytes) {
    size_t off;
    if ((s = nd_offset(ST, &p, d, ix, 0, t, &off, err))) return s;
    uint8_t *dst = (uint8_t *)out[0].data + off * es;
    if (red == RED_NONE) memcpy(dst, up, bytes);
    else
      for (size_t e = 0; e < p.slice; e++) reduce_el(d->dtype, red, dst + e * es, up + e * es);
  }
  return OCTET_OK;
}
