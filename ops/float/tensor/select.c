/* select.c — kernels that pick or mask elements: Trilu, NonZero, OneHot, Compress,
 * ReverseSequence. All move bytes (OneHot copies its on/off values), so any fixed dtype works. */
#include "ops/float/tensor/tensor-util.h"

#define ST ((tk_state *)state)

static bool is_nonzero(int32_t dt, const uint8_t *p, size_t es) {
  switch (dt) {
  case OCTET_DTYPE_FLOAT: { float v; memcpy(&v, p, 4); return v != 0; }
  case OCTET_DTYPE_DOUBLE: { double v; memcpy(&v, p, 8); return v != 0; }
  case OCTET_DTYPE_FLOAT16:
  case OCTET_DTYPE_BFLOAT16: { uint16_t v; memcpy(&v, p, 2); return (v & 0x7fff) != 0; }
  case OCTET_DTYPE_COMPLEX64: {
    float v[2]; memcpy(v, p, 8); return v[0] != 0 || v[1] != 0;
  }
  case OCTET_DTYPE_COMPLEX128: {
    double v[2]; memcpy(v, p, 16); return v[0] != 0 || v[1] != 0;
  }
  default:
    for (size_t i = 0; i < es; i++)
      if (p[i]) return true;
    return false;
  }
}

/* ---- Trilu ---- */

OCTET_K_CREATE(tk_trilu_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 2, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) || (s = tk_new(info, &st, err))) return s;
  *state = st;
  out_dtypes[0] = info->input_dtypes[0];
  return octet_attr_int(info, "upper", 1, &st->iv[0], err);
}

OCTET_K_INFER(tk_trilu_infer) {
  (void)n_out;
  if (in[0]->rank < 2)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "input must have rank >= 2, has %d",
                   (int)in[0]->rank);
  if (n_in > 1 && in[1] && octet_tensor_numel(in[1]) != 1)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "k must be a scalar");
  out[0].dtype = in[0]->dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_trilu_run) {
  (void)n_out, (void)ws, (void)host, (void)err;
  const octet_tensor *x = in[0];
  int64_t k = n_in > 1 && in[1] ? octet_k_get_int(in[1], 0) : 0;
  int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
  size_t es = octet_dtype_size(x->dtype), total = octet_tensor_numel(x);
  size_t mats = rows > 0 && cols > 0 ? total / (size_t)(rows * cols) : 0;
  const uint8_t *src = x->data;
  uint8_t *dst = out[0].data;
  bool upper = ST->iv[0] != 0;
  for (size_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < rows; i++) {
      size_t row = (m * (size_t)rows + (size_t)i) * (size_t)cols * es;
      /* keep columns [lo, hi) of this row */
      int64_t lo = upper ? i + k : 0, hi = upper ? cols : i + k + 1;
      lo = lo < 0 ? 0 : lo > cols ? cols : lo;
      hi = hi < 0 ? 0 : hi > cols ? cols : hi;
      if (hi < lo) hi = lo;
      memset(dst + row, 0, (size_t)lo * es);
      if (hi > lo) memmove(dst + row + (size_t)lo * es, src + row + (size_t)lo * es, (size_t)(hi - lo) * es);
      memset(dst + row + (size_t)hi * es, 0, (size_t)(cols - hi) * es);
    }
  return OCTET_OK;
}

/* ---- NonZero ---- */

OCTET_K_CREATE(tk_non_zero_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) || (s = tk_new(info, &st, err))) return s;
  *state = st;
  out_dtypes[0] = OCTET_DTYPE_INT64;
  return OCTET_OK;
}

static size_t count_nonzero(const octet_tensor *x) {
  size_t n = octet_tensor_numel(x), es = octet_dtype_size(x->dtype), c = 0;
  const uint8_t *p = x->data;
  for (size_t i = 0; i < n; i++) c += is_nonzero(x->dtype, p + i * es, es);
  return c;
}

OCTET_K_INFER(tk_non_zero_infer) {
  (void)state, (void)n_in, (void)n_out, (void)err;
  out[0].dtype = OCTET_DTYPE_INT64;
  out[0].rank = 2;
  out[0].dims[0] = in[0]->rank ? in[0]->rank : 1; /* a scalar reads as shape [1] */
  out[0].dims[1] = (int64_t)count_nonzero(in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_non_zero_run) {
  (void)state, (void)n_in, (void)n_out, (void)ws, (void)host, (void)err;
  const octet_tensor *x = in[0];
  size_t n = octet_tensor_numel(x), es = octet_dtype_size(x->dtype), nnz = (size_t)out[0].dims[1];
  int32_t r = x->rank ? x->rank : 1;
  int64_t idx[OCTET_MAX_RANK] = {0}, *o = out[0].data;
  size_t k = 0;
  const uint8_t *p = x->data;
  for (size_t i = 0; i < n; i++) {
    if (is_nonzero(x->dtype, p + i * es, es) && k < nnz) {
      for (int32_t d = 0; d < r; d++) o[(size_t)d * nnz + k] = idx[d];
      k++;
    }
    for (int32_t d = x->rank - 1; d >= 0; d--) {
      if (++idx[d] < x->dims[d]) break;
      idx[d] = 0;
    }
  }
  return OCTET_OK;
}

/* ---- OneHot ---- */

OCTET_K_CREATE(tk_one_hot_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 3, 3, err);
  if (s || (s = tk_expect_fixed(info, 2, err)) || (s = tk_new(info, &st, err))) return s;
  *state = st;
  if ((s = octet_k_expect_dtype(info, 0, OCTET_DT_NUMERIC, err)) ||
      (s = octet_k_expect_dtype(info, 1, OCTET_DT_NUMERIC, err)))
    return s;
  out_dtypes[0] = info->input_dtypes[2];
  return octet_attr_int(info, "axis", -1, &st->axis, err);
}

static octet_status one_hot_depth(tk_state *st, const octet_tensor *const *in, int64_t *depth,
                                  int64_t *axis, octet_error *err) {
  if (octet_tensor_numel(in[1]) != 1)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "depth must be one value");
  if (octet_tensor_numel(in[2]) != 2)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "values must hold two elements [off, on]");
  *depth = (int64_t)octet_k_get_double(in[1], 0);
  if (*depth < 1)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "depth %lld must be positive",
                   (long long)*depth);
  int32_t r = in[0]->rank + 1;
  if (st->axis < -r || st->axis >= r)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "axis %lld is out of range for output rank %d", (long long)st->axis, (int)r);
  *axis = st->axis < 0 ? st->axis + r : st->axis;
  return OCTET_OK;
}

OCTET_K_INFER(tk_one_hot_infer) {
  (void)n_in, (void)n_out;
  int64_t depth, axis;
  octet_status s = one_hot_depth(ST, in, &depth, &axis, err);
  if (s) return s;
  if (in[0]->rank + 1 > OCTET_MAX_RANK)
    return tk_fail(&ST->b, err, OCTET_STATUS_UNSUPPORTED, "output rank is too large");
  out[0].dtype = in[2]->dtype;
  out[0].rank = in[0]->rank + 1;
  for (int32_t i = 0, k = 0; i < out[0].rank; i++)
    out[0].dims[i] = i == axis ? depth : in[0]->dims[k++];
  *workspace = 0;
  return tk_check_shape(&ST->b, out[0].dims, out[0].rank, err);
}

OCTET_K_RUN(tk_one_hot_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host;
  int64_t depth, axis;
  octet_status s = one_hot_depth(ST, in, &depth, &axis, err);
  if (s) return s;
  size_t es = octet_dtype_size(in[2]->dtype), outer = 1, inner = 1;
  for (int32_t i = 0; i < axis; i++) outer *= (size_t)in[0]->dims[i];
  for (int32_t i = (int32_t)axis; i < in[0]->rank; i++) inner *= (size_t)in[0]->dims[i];
  const uint8_t *off = in[2]->data, *on = off + es;
  uint8_t *o = out[0].data;
  tk_fill(o, off, es, octet_tensor_numel(&out[0]));
  for (size_t a = 0; a < outer; a++)
    for (size_t b = 0; b < inner; b++) {
      int64_t v = (int64_t)octet_k_get_double(in[0], a * inner + b);
      if (v < 0) v += depth;
      if (v < 0 || v >= depth) continue; /* out of range: the row stays all off */
      tk_copy_el(o + ((a * (size_t)depth + (size_t)v) * inner + b) * es, on, es);
    }
  return OCTET_OK;
}

/* ---- Compress ---- */

OCTET_K_CREATE(tk_compress_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 2, 2, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) ||
      (s = octet_k_expect_dtype(info, 1, OCTET_DT(BOOL), err)) || (s = tk_new(info, &st, err)))
    return s;
  *state = st;
  st->iv[0] = octet_attr_find(info, "axis") != NULL;
  out_dtypes[0] = info->input_dtypes[0];
  return octet_attr_int(info, "axis", 0, &st->axis, err);
}

/* Axis (or -1 when flattened), the axis length, outer and inner sizes. */
static octet_status compress_plan(tk_state *st, const octet_tensor *const *in, int64_t *axis,
                                  size_t *len, size_t *outer, size_t *inner, octet_error *err) {
  const octet_tensor *x = in[0], *c = in[1];
  if (c->rank != 1)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "condition must be 1-D");
  *outer = 1, *inner = 1;
  if (st->iv[0]) {
    if (octet_k_axis(st->axis, x->rank, axis, err))
      return octet_fail_prefix(err, "node '%s' (Compress): ", st->b.node);
    for (int32_t i = 0; i < *axis; i++) *outer *= (size_t)x->dims[i];
    for (int32_t i = (int32_t)*axis + 1; i < x->rank; i++) *inner *= (size_t)x->dims[i];
    *len = (size_t)x->dims[*axis];
  } else {
    *axis = -1;
    *len = octet_tensor_numel(x);
  }
  const uint8_t *cd = c->data;
  for (size_t i = *len; i < (size_t)c->dims[0]; i++)
    if (cd[i])
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "condition selects index %zu, past the axis length %zu", i, *len);
  if ((size_t)c->dims[0] < *len) *len = (size_t)c->dims[0]; /* a short condition drops the rest */
  return OCTET_OK;
}

OCTET_K_INFER(tk_compress_infer) {
  (void)n_in, (void)n_out;
  int64_t axis;
  size_t len, outer, inner, kept = 0;
  octet_status s = compress_plan(ST, in, &axis, &len, &outer, &inner, err);
  if (s) return s;
  for (size_t i = 0; i < len; i++) kept += ((const uint8_t *)in[1]->data)[i] != 0;
  out[0].dtype = in[0]->dtype;
  if (axis < 0) {
    out[0].rank = 1;
    out[0].dims[0] = (int64_t)kept;
  } else {
    octet_k_copy_shape(&out[0], in[0]);
    out[0].dims[axis] = (int64_t)kept;
  }
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_compress_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host;
  int64_t axis;
  size_t len, outer, inner;
  octet_status s = compress_plan(ST, in, &axis, &len, &outer, &inner, err);
  if (s) return s;
  size_t es = octet_dtype_size(in[0]->dtype), block = inner * es;
  size_t full = axis < 0 ? octet_tensor_numel(in[0]) : (size_t)in[0]->dims[axis];
  const uint8_t *cd = in[1]->data, *src = in[0]->data;
  uint8_t *o = out[0].data;
  for (size_t a = 0; a < outer; a++)
    for (size_t i = 0; i < len; i++)
      if (cd[i]) {
        memcpy(o, src + (a * full + i) * block, block);
        o += block;
      }
  return OCTET_OK;
}

/* ---- ReverseSequence ---- */

OCTET_K_CREATE(tk_reverse_sequence_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 2, 2, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) ||
      (s = octet_k_expect_dtype(info, 1, OCTET_DT(INT64), err)) || (s = tk_new(info, &st, err)))
    return s;
  *state = st;
  out_dtypes[0] = info->input_dtypes[0];
  if ((s = octet_attr_int(info, "batch_axis", 1, &st->iv[0], err)) ||
      (s = octet_attr_int(info, "time_axis", 0, &st->iv[1], err)))
    return s;
  if (!((st->iv[0] == 0 && st->iv[1] == 1) || (st->iv[0] == 1 && st->iv[1] == 0)))
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                        "batch_axis and time_axis must be 0 and 1 in some order");
  return OCTET_OK;
}

OCTET_K_INFER(tk_reverse_sequence_infer) {
  (void)n_in, (void)n_out;
  const octet_tensor *x = in[0];
  if (x->rank < 2)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "input must have rank >= 2");
  int64_t batch = x->dims[ST->iv[0]], time = x->dims[ST->iv[1]];
  if (in[1]->rank != 1 || in[1]->dims[0] != batch)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "sequence_lens must be 1-D of length %lld", (long long)batch);
  for (int64_t b = 0; b < batch; b++) {
    int64_t l = ((const int64_t *)in[1]->data)[b];
    if (l < 0 || l > time)
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b, (long long)l,
                     (long long)time);
  }
  out[0].dtype = x->dtype;
  octet_k_copy_shape(&out[0], x);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_reverse_sequence_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host;
  size_t dummy;
  octet_tensor tmp;
  octet_status s = tk_reverse_sequence_infer(state, in, 2, &tmp, 1, &dummy, err);
  if (s) return s;
  const octet_tensor *x = in[0];
  int64_t ba = ST->iv[0], ta = ST->iv[1], batch = x->dims[ba], time = x->dims[ta];
  size_t es = octet_dtype_size(x->dtype), inner = es;
  for (int32_t i = 2; i < x->rank; i++) inner *= (size_t)x->dims[i];
  /* element (b, t) starts at (b*sb + t*st) * inner bytes */
  size_t sb = ba == 0 ? (size_t)time : 1, stt = ta == 0 ? (size_t)batch : 1;
  for (int64_t b = 0; b < batch; b++) {
    int64_t l = ((const int64_t *)in[1]->data)[b];
    for (int64_t t = 0; t < time; t++) {
      int64_t from = t < l ? l - 1 - t : t;
      memcpy((uint8_t *)out[0].data + ((size_t)b * sb + (size_t)t * stt) * inner,
             (const uint8_t *)x->data + ((size_t)b * sb + (size_t)from * stt) * inner, inner);
    }
  }
  return OCTET_OK;
}
