/* shape-ops.c — kernels that only change or report shapes: Reshape, Flatten, Squeeze, Unsqueeze
 * (all aliasing input 0), Shape, Size, ConstantOfShape, Range, EyeLike. */
#include <math.h>

#include "ops/float/tensor/tensor-util.h"

#define ST ((tk_state *)state)

/* Reads integer list input i into vals (up to max entries). */
static octet_status read_ints(const tk_base *b, const octet_tensor *t, const char *what,
                              int64_t *vals, size_t max, size_t *n, octet_error *err) {
  octet_status s = tk_int_list(b, t, what, n, err);
  if (s) return s;
  if (*n > max)
    return tk_fail(b, err, OCTET_STATUS_UNSUPPORTED, "'%s' has %zu entries, more than %zu", what,
                   *n, max);
  for (size_t i = 0; i < *n; i++) vals[i] = octet_k_get_int(t, i);
  return OCTET_OK;
}

/* ---- Reshape ---- */

OCTET_K_CREATE(tk_reshape_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, info->opset < 5 ? 1 : 2, info->opset < 5 ? 1 : 2, err);
  if (s || (s = tk_new(info, &st, err))) return s;
  *state = st;
  if ((s = octet_attr_int(info, "allowzero", 0, &st->iv[0], err))) return s;
  if (info->opset < 5) {
    if ((s = tk_keep_ints(info, st, 0, "shape", err))) return s;
    if (!st->has_list[0])
      return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "attribute 'shape' is required");
  }
  out_dtypes[0] = info->input_dtypes[0];
  return OCTET_OK;
}

OCTET_K_INFER(tk_reshape_infer) {
  (void)n_in, (void)n_out;
  const tk_base *b = &ST->b;
  int64_t shape[OCTET_MAX_RANK];
  size_t n;
  octet_status s;
  if (b->opset < 5) {
    n = ST->nlists[0];
    if (n > OCTET_MAX_RANK)
      return tk_fail(b, err, OCTET_STATUS_UNSUPPORTED, "target rank %zu is too large", n);
    memcpy(shape, ST->lists[0], n * sizeof(int64_t));
  } else if ((s = read_ints(b, in[1], "shape", shape, OCTET_MAX_RANK, &n, err))) {
    return s;
  }
  size_t known = 1, total = octet_tensor_numel(in[0]);
  int neg = -1;
  for (size_t i = 0; i < n; i++) {
    if (shape[i] == -1) {
      if (neg >= 0)
        return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT, "shape has more than one -1");
      neg = (int)i;
      continue;
    }
    if (shape[i] < -1)
      return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT, "shape[%zu] = %lld is invalid", i,
                     (long long)shape[i]);
    if (shape[i] == 0 && !ST->iv[0]) {
      if ((int32_t)i >= in[0]->rank)
        return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT,
                       "shape[%zu] = 0 copies a dim the rank-%d input lacks", i, (int)in[0]->rank);
      shape[i] = in[0]->dims[i];
    }
    if (!octet_mul_size(known, (size_t)shape[i], &known))
      return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT, "shape is too large");
  }
  if (neg >= 0) {
    if (known == 0 || total % known)
      return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "cannot infer the -1 dim: %zu elements do not divide by %zu", total, known);
    shape[neg] = (int64_t)(total / known);
  } else if (known != total) {
    return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "cannot reshape %zu elements into a shape of %zu elements", total, known);
  }
  out[0].dtype = in[0]->dtype;
  out[0].rank = (int32_t)n;
  memcpy(out[0].dims, shape, n * sizeof(int64_t));
  *workspace = 0;
  return OCTET_OK;
}

/* ---- Flatten ---- */

OCTET_K_CREATE(tk_flatten_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s || (s = tk_new(info, &st, err))) return s;
  *state = st;
  if ((s = octet_attr_int(info, "axis", 1, &st->axis, err))) return s;
  out_dtypes[0] = info->input_dtypes[0];
  return OCTET_OK;
}

OCTET_K_INFER(tk_flatten_infer) {
  (void)n_in, (void)n_out;
  int64_t axis = ST->axis;
  int32_t r = in[0]->rank;
  if (axis < -r || axis > r)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "axis %lld is out of range for rank %d", (long long)axis, (int)r);
  if (axis < 0) axis += r;
  int64_t a = 1, c = 1;
  for (int32_t i = 0; i < r; i++) *(i < axis ? &a : &c) *= in[0]->dims[i];
  out[0].dtype = in[0]->dtype;
  out[0].rank = 2;
  out[0].dims[0] = a;
  out[0].dims[1] = c;
  *workspace = 0;
  return OCTET_OK;
}

/* ---- Squeeze / Unsqueeze ---- */

static octet_status axes_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                                octet_error *err) {
  tk_state *st;
  bool from_input = info->opset >= 13;
  octet_status s = octet_k_expect_inputs(info, 1, from_input ? 2 : 1, err);
  if (s || (s = tk_new(info, &st, err))) return s;
  *state = st;
  if (!from_input && (s = tk_keep_ints(info, st, 0, "axes", err))) return s;
  out_dtypes[0] = info->input_dtypes[0];
  return OCTET_OK;
}

OCTET_K_CREATE(tk_squeeze_create) { return axes_create(info, out_dtypes, state, err); }
OCTET_K_CREATE(tk_unsqueeze_create) {
  octet_status s = axes_create(info, out_dtypes, state, err);
  if (s) return s;
  if (info->opset < 13 && !((tk_state *)*state)->has_list[0])
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "attribute 'axes' is required");
  if (info->opset >= 13 && (info->n_inputs < 2 || !info->input_dtypes[1]))
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "input 'axes' is required");
  return OCTET_OK;
}

/* Axes from the attribute or input 1; *present is false when none were given. */
static octet_status get_axes(tk_state *st, const octet_tensor *const *in, size_t n_in,
                             int64_t *axes, size_t *n, bool *present, octet_error *err) {
  if (st->b.opset < 13) {
    *present = st->has_list[0];
    *n = st->nlists[0];
    if (*n > 2 * OCTET_MAX_RANK)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "too many axes (%zu)", *n);
    if (*n) memcpy(axes, st->lists[0], *n * sizeof(int64_t));
    return OCTET_OK;
  }
  *present = n_in > 1 && in[1];
  *n = 0;
  if (!*present) return OCTET_OK;
  return read_ints(&st->b, in[1], "axes", axes, 2 * OCTET_MAX_RANK, n, err);
}

OCTET_K_INFER(tk_squeeze_infer) {
  (void)n_out;
  int64_t axes[2 * OCTET_MAX_RANK];
  size_t n;
  bool present;
  octet_status s = get_axes(ST, in, n_in, axes, &n, &present, err);
  if (s) return s;
  int32_t r = in[0]->rank;
  bool drop[OCTET_MAX_RANK] = {0};
  if (!present || n == 0) { /* an empty axes input squeezes every 1, as onnxruntime does */
    for (int32_t i = 0; i < r; i++) drop[i] = in[0]->dims[i] == 1;
  }
  for (size_t i = 0; i < n; i++) {
    int64_t a = axes[i];
    if (a < -r || a >= r)
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "axis %lld is out of range for rank %d", (long long)a, (int)r);
    if (a < 0) a += r;
    if (in[0]->dims[a] != 1)
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "cannot squeeze axis %lld: its dim is %lld, not 1", (long long)a,
                     (long long)in[0]->dims[a]);
    drop[a] = true;
  }
  out[0].dtype = in[0]->dtype;
  out[0].rank = 0;
  for (int32_t i = 0; i < r; i++)
    if (!drop[i]) out[0].dims[out[0].rank++] = in[0]->dims[i];
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_INFER(tk_unsqueeze_infer) {
  (void)n_out;
  int64_t axes[2 * OCTET_MAX_RANK];
  size_t n;
  bool present;
  octet_status s = get_axes(ST, in, n_in, axes, &n, &present, err);
  if (s) return s;
  int64_t r = in[0]->rank + (int64_t)n;
  if (r > OCTET_MAX_RANK)
    return tk_fail(&ST->b, err, OCTET_STATUS_UNSUPPORTED, "output rank %lld exceeds %d",
                   (long long)r, OCTET_MAX_RANK);
  bool ins[OCTET_MAX_RANK] = {0};
  for (size_t i = 0; i < n; i++) {
    int64_t a = axes[i];
    if (a < -r || a >= r)
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "axis %lld is out of range for output rank %lld", (long long)a, (long long)r);
    if (a < 0) a += r;
    if (ins[a])
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "axis %lld is repeated",
                     (long long)axes[i]);
    ins[a] = true;
  }
  out[0].dtype = in[0]->dtype;
  out[0].rank = (int32_t)r;
  for (int32_t i = 0, k = 0; i < r; i++) out[0].dims[i] = ins[i] ? 1 : in[0]->dims[k++];
  *workspace = 0;
  return OCTET_OK;
}

/* ---- Shape / Size ---- */

OCTET_K_CREATE(tk_shape_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s || (s = tk_new(info, &st, err))) return s;
  *state = st;
  if ((s = octet_attr_int(info, "start", 0, &st->iv[0], err))) return s;
  st->iv[2] = octet_attr_find(info, "end") != NULL;
  if ((s = octet_attr_int(info, "end", 0, &st->iv[1], err))) return s;
  out_dtypes[0] = OCTET_DTYPE_INT64;
  return OCTET_OK;
}

static void shape_range(const tk_state *st, int32_t r, int64_t *b, int64_t *e) {
  int64_t s = st->iv[0], en = st->iv[2] ? st->iv[1] : r;
  if (s < 0) s += r;
  if (en < 0) en += r;
  s = s < 0 ? 0 : s > r ? r : s;
  en = en < 0 ? 0 : en > r ? r : en;
  *b = s;
  *e = en < s ? s : en;
}

OCTET_K_INFER(tk_shape_infer) {
  (void)n_in, (void)n_out, (void)err;
  int64_t b, e;
  shape_range(ST, in[0]->rank, &b, &e);
  out[0].dtype = OCTET_DTYPE_INT64;
  out[0].rank = 1;
  out[0].dims[0] = e - b;
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_shape_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host, (void)err;
  int64_t b, e;
  shape_range(ST, in[0]->rank, &b, &e);
  for (int64_t i = b; i < e; i++) ((int64_t *)out[0].data)[i - b] = in[0]->dims[i];
  return OCTET_OK;
}

OCTET_K_CREATE(tk_size_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s || (s = tk_new(info, &st, err))) return s;
  *state = st;
  out_dtypes[0] = OCTET_DTYPE_INT64;
  return OCTET_OK;
}

OCTET_K_INFER(tk_size_infer) {
  (void)state, (void)in, (void)n_in, (void)n_out, (void)err;
  out[0].dtype = OCTET_DTYPE_INT64;
  out[0].rank = 0;
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_size_run) {
  (void)state, (void)n_in, (void)n_out, (void)ws, (void)host, (void)err;
  *(int64_t *)out[0].data = (int64_t)octet_tensor_numel(in[0]);
  return OCTET_OK;
}

/* ---- ConstantOfShape ---- */

OCTET_K_CREATE(tk_constant_of_shape_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s || (s = tk_new(info, &st, err))) return s;
  *state = st;
  const octet_attr *a = octet_attr_find(info, "value");
  st->value_dtype = OCTET_DTYPE_FLOAT;
  memset(st->value, 0, sizeof st->value);
  if (a) {
    if (a->type != OCTET_ATTR_TENSOR || !a->t)
      return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "attribute 'value' must be a tensor");
    size_t es = octet_dtype_size(a->t->dtype);
    if (es == 0 || es > sizeof st->value || octet_tensor_numel(a->t) != 1)
      return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                          "attribute 'value' must hold one element of a fixed-size type");
    st->value_dtype = a->t->dtype;
    memcpy(st->value, a->t->data, es);
  }
  out_dtypes[0] = st->value_dtype;
  return OCTET_OK;
}

OCTET_K_INFER(tk_constant_of_shape_infer) {
  (void)n_in, (void)n_out;
  size_t n;
  int64_t dims[OCTET_MAX_RANK];
  octet_status s = read_ints(&ST->b, in[0], "input", dims, OCTET_MAX_RANK, &n, err);
  if (s) return s;
  if ((s = tk_check_shape(&ST->b, dims, (int32_t)n, err))) return s;
  out[0].dtype = ST->value_dtype;
  out[0].rank = (int32_t)n;
  memcpy(out[0].dims, dims, n * sizeof(int64_t));
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_constant_of_shape_run) {
  (void)in, (void)n_in, (void)n_out, (void)ws, (void)host, (void)err;
  tk_fill(out[0].data, ST->value, octet_dtype_size(ST->value_dtype), octet_tensor_numel(&out[0]));
  return OCTET_OK;
}

/* ---- Range ---- */

OCTET_K_CREATE(tk_range_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 3, 3, err);
  if (s) return s;
  uint32_t ok = OCTET_DT(FLOAT) | OCTET_DT(DOUBLE) | OCTET_DT(INT16) | OCTET_DT(INT32) |
                OCTET_DT(INT64);
  for (size_t i = 0; i < 3; i++)
    if ((s = octet_k_expect_dtype(info, i, ok, err))) return s;
  if (info->input_dtypes[1] != info->input_dtypes[0] || info->input_dtypes[2] != info->input_dtypes[0])
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                        "start, limit and delta must have the same type");
  if ((s = tk_new(info, &st, err))) return s;
  *state = st;
  out_dtypes[0] = info->input_dtypes[0];
  return OCTET_OK;
}

static bool is_int_dtype(int32_t dt) {
  return dt == OCTET_DTYPE_INT16 || dt == OCTET_DTYPE_INT32 || dt == OCTET_DTYPE_INT64;
}

OCTET_K_INFER(tk_range_infer) {
  (void)n_in, (void)n_out;
  for (int i = 0; i < 3; i++)
    if (octet_tensor_numel(in[i]) != 1)
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "start, limit and delta must be scalars");
  int64_t n;
  if (is_int_dtype(in[0]->dtype)) {
    int64_t s = octet_k_get_int(in[0], 0), l = octet_k_get_int(in[1], 0),
            d = octet_k_get_int(in[2], 0);
    if (d == 0) return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "delta is 0");
    /* ceil((l - s) / d) in integers */
    int64_t span = l - s;
    n = span / d;
    if (span % d != 0 && ((span < 0) == (d < 0))) n++;
  } else {
    double s = octet_k_get_double(in[0], 0), l = octet_k_get_double(in[1], 0),
           d = octet_k_get_double(in[2], 0);
    if (d == 0 || !isfinite(d) || !isfinite(s) || !isfinite(l))
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "start, limit and delta must be finite and delta non-zero");
    double c = ceil((l - s) / d);
    if (c > 1e15) return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "range is too long");
    n = (int64_t)c;
  }
  if (n < 0) n = 0;
  out[0].dtype = in[0]->dtype;
  out[0].rank = 1;
  out[0].dims[0] = n;
  *workspace = 0;
  return tk_check_shape(&ST->b, out[0].dims, 1, err);
}

OCTET_K_RUN(tk_range_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host, (void)err, (void)state;
  int64_t n = out[0].dims[0];
  switch (in[0]->dtype) {
  case OCTET_DTYPE_FLOAT: {
    /* ONNX's reference accumulates in the output type: start + i*delta differs by rounding. */
    float s = *(const float *)in[0]->data, d = *(const float *)in[2]->data;
    for (int64_t i = 0; i < n; i++) ((float *)out[0].data)[i] = s + (float)i * d;
    break;
  }
  case OCTET_DTYPE_DOUBLE: {
    double s = *(const double *)in[0]->data, d = *(const double *)in[2]->data;
    for (int64_t i = 0; i < n; i++) ((double *)out[0].data)[i] = s + (double)i * d;
    break;
  }
  default: {
    int64_t s = octet_k_get_int(in[0], 0), d = octet_k_get_int(in[2], 0);
    for (int64_t i = 0; i < n; i++) {
      int64_t v = s + i * d;
      if (in[0]->dtype == OCTET_DTYPE_INT64) ((int64_t *)out[0].data)[i] = v;
      else if (in[0]->dtype == OCTET_DTYPE_INT32) ((int32_t *)out[0].data)[i] = (int32_t)v;
      else ((int16_t *)out[0].data)[i] = (int16_t)v;
    }
  }
  }
  return OCTET_OK;
}

/* ---- EyeLike ---- */

OCTET_K_CREATE(tk_eye_like_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s || (s = tk_new(info, &st, err))) return s;
  *state = st;
  int64_t dt;
  if ((s = octet_attr_int(info, "dtype", info->input_dtypes[0], &dt, err))) return s;
  if ((s = octet_attr_int(info, "k", 0, &st->iv[0], err))) return s;
  double one = 1;
  if (!tk_store_double((int32_t)dt, st->value, one))
    return tk_fail_info(info, err, OCTET_STATUS_UNSUPPORTED, "dtype %s is not supported",
                        octet_dtype_name((int32_t)dt));
  st->value_dtype = (int32_t)dt;
  out_dtypes[0] = (int32_t)dt;
  return OCTET_OK;
}

OCTET_K_INFER(tk_eye_like_infer) {
  (void)n_in, (void)n_out;
  if (in[0]->rank != 2)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "input must be 2-D, has rank %d",
                   (int)in[0]->rank);
  out[0].dtype = ST->value_dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_eye_like_run) {
  (void)in, (void)n_in, (void)n_out, (void)ws, (void)host, (void)err;
  size_t es = octet_dtype_size(ST->value_dtype);
  int64_t rows = out[0].dims[0], cols = out[0].dims[1], k = ST->iv[0];
  memset(out[0].data, 0, (size_t)(rows * cols) * es);
  for (int64_t i = 0; i < rows; i++) {
    int64_t j = i + k;
    if (j >= 0 && j < cols) memcpy((uint8_t *)out[0].data + (size_t)(i * cols + j) * es, ST->value, es);
  }
  return OCTET_OK;
}
