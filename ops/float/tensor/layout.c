/* layout.c — kernels that rearrange elements by an affine index map (Transpose, DepthToSpace,
 * SpaceToDepth, Expand, Tile, Slice) or a per-dim map (Pad); all move bytes, any fixed dtype. */
#include "ops/float/tensor/tensor-util.h"

#define ST ((tk_state *)state)

static octet_status simple_create(const octet_kernel_info *info, size_t min, size_t max,
                                  int32_t *out_dtypes, tk_state **st, octet_error *err) {
  octet_status s = octet_k_expect_inputs(info, min, max, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) || (s = tk_new(info, st, err))) return s;
  out_dtypes[0] = info->input_dtypes[0];
  return OCTET_OK;
}

static octet_status read_list(const tk_base *b, const octet_tensor *t, const char *what,
                              int64_t *vals, size_t max, size_t *n, octet_error *err) {
  octet_status s = tk_int_list(b, t, what, n, err);
  if (s) return s;
  if (*n > max)
    return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT, "'%s' has %zu entries, more than %zu",
                   what, *n, max);
  for (size_t i = 0; i < *n; i++) vals[i] = octet_k_get_int(t, i);
  return OCTET_OK;
}

/* ---- Transpose ---- */

OCTET_K_CREATE(tk_transpose_create) {
  tk_state *st;
  octet_status s = simple_create(info, 1, 1, out_dtypes, &st, err);
  if (s) return s;
  *state = st;
  return tk_keep_ints(info, st, 0, "perm", err);
}

static octet_status transpose_perm(tk_state *st, int32_t r, int64_t *perm, octet_error *err) {
  if (!st->has_list[0]) {
    for (int32_t i = 0; i < r; i++) perm[i] = r - 1 - i;
    return OCTET_OK;
  }
  if ((int32_t)st->nlists[0] != r)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "perm has %zu entries but the input has rank %d", st->nlists[0], (int)r);
  bool seen[OCTET_MAX_RANK] = {0};
  for (int32_t i = 0; i < r; i++) {
    int64_t p = st->lists[0][i];
    if (p < 0) p += r; /* negative perm entries: accepted as onnxruntime does */
    if (p < 0 || p >= r || seen[p])
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "perm is not a permutation of 0..%d", (int)r - 1);
    seen[p] = true;
    perm[i] = p;
  }
  return OCTET_OK;
}

OCTET_K_INFER(tk_transpose_infer) {
  (void)n_in, (void)n_out;
  int64_t perm[OCTET_MAX_RANK];
  octet_status s = transpose_perm(ST, in[0]->rank, perm, err);
  if (s) return s;
  out[0].dtype = in[0]->dtype;
  out[0].rank = in[0]->rank;
  for (int32_t i = 0; i < in[0]->rank; i++) out[0].dims[i] = in[0]->dims[perm[i]];
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_transpose_run) {
  (void)n_in, (void)n_out, (void)ws;
  int64_t perm[OCTET_MAX_RANK], is[OCTET_MAX_RANK], os[OCTET_MAX_RANK];
  octet_status s = transpose_perm(ST, in[0]->rank, perm, err);
  if (s) return s;
  tk_strides(in[0]->dims, in[0]->rank, is);
  for (int32_t i = 0; i < in[0]->rank; i++) os[i] = is[perm[i]];
  tk_strided_copy(out[0].data, in[0]->data, octet_dtype_size(in[0]->dtype), out[0].rank,
                  out[0].dims, os, 0, host);
  return OCTET_OK;
}

/* ---- DepthToSpace / SpaceToDepth ---- */

OCTET_K_CREATE(tk_depth_to_space_create) {
  tk_state *st;
  octet_status s = simple_create(info, 1, 1, out_dtypes, &st, err);
  if (s) return s;
  *state = st;
  const char *mode;
  if ((s = octet_attr_int(info, "blocksize", 0, &st->iv[0], err)) ||
      (s = octet_attr_string(info, "mode", "DCR", &mode, err)))
    return s;
  if (st->iv[0] <= 0)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "blocksize must be positive");
  if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                        "mode must be DCR or CRD, not '%s'", mode);
  st->iv[1] = !strcmp(mode, "CRD");
  return OCTET_OK;
}

OCTET_K_CREATE(tk_space_to_depth_create) { return tk_depth_to_space_create(info, out_dtypes, state, err); }

OCTET_K_INFER(tk_depth_to_space_infer) {
  (void)n_in, (void)n_out;
  int64_t b = ST->iv[0];
  if (in[0]->rank != 4)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "input must be 4-D, has rank %d",
                   (int)in[0]->rank);
  const int64_t *d = in[0]->dims;
  out[0].dtype = in[0]->dtype;
  out[0].rank = 4;
  if (!strcmp(ST->b.op, "DepthToSpace")) {
    if (d[1] % (b * b))
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "channels %lld are not divisible by blocksize^2 = %lld", (long long)d[1],
                     (long long)(b * b));
    out[0].dims[0] = d[0], out[0].dims[1] = d[1] / (b * b);
    out[0].dims[2] = d[2] * b, out[0].dims[3] = d[3] * b;
  } else {
    if (d[2] % b || d[3] % b)
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "height %lld and width %lld must be divisible by blocksize %lld",
                     (long long)d[2], (long long)d[3], (long long)b);
    out[0].dims[0] = d[0], out[0].dims[1] = d[1] * b * b;
    out[0].dims[2] = d[2] / b, out[0].dims[3] = d[3] / b;
  }
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_depth_to_space_run) {
  (void)n_in, (void)n_out, (void)ws, (void)err;
  int64_t b = ST->iv[0];
  const int64_t *d = in[0]->dims;
  int64_t N = d[0], C = d[1], H = d[2], W = d[3];
  int64_t dims[6], str[6];
  if (!strcmp(ST->b.op, "DepthToSpace")) {
    int64_t Co = C / (b * b);
    /* output viewed as [N, Co, H, b1, W, b2] */
    int64_t sb1, sb2, sc;
    if (ST->iv[1]) { /* CRD: channel = c*b*b + b1*b + b2 */
      sc = b * b * H * W, sb1 = b * H * W, sb2 = H * W;
    } else { /* DCR: channel = b1*b*Co + b2*Co + c */
      sb1 = b * Co * H * W, sb2 = Co * H * W, sc = H * W;
    }
    int64_t dd[6] = {N, Co, H, b, W, b}, ss[6] = {C * H * W, sc, W, sb1, 1, sb2};
    memcpy(dims, dd, sizeof dd), memcpy(str, ss, sizeof ss);
  } else {
    /* output [N, b1, b2, C, H/b, W/b]; input channel-block order is DCR */
    int64_t dd[6] = {N, b, b, C, H / b, W / b}, ss[6] = {C * H * W, W, 1, H * W, b * W, b};
    memcpy(dims, dd, sizeof dd), memcpy(str, ss, sizeof ss);
  }
  tk_strided_copy(out[0].data, in[0]->data, octet_dtype_size(in[0]->dtype), 6, dims, str, 0, host);
  return OCTET_OK;
}

/* ---- Expand ---- */

OCTET_K_CREATE(tk_expand_create) {
  tk_state *st;
  octet_status s = simple_create(info, 2, 2, out_dtypes, &st, err);
  if (s) return s;
  *state = st;
  return OCTET_OK;
}

OCTET_K_INFER(tk_expand_infer) {
  (void)n_in, (void)n_out;
  octet_tensor shape = {.dtype = in[0]->dtype};
  size_t n;
  octet_status s = read_list(&ST->b, in[1], "shape", shape.dims, OCTET_MAX_RANK, &n, err);
  if (s) return s;
  shape.rank = (int32_t)n;
  if ((s = octet_broadcast_shape(in[0], &shape, &out[0], err)))
    return octet_fail_prefix(err, "node '%s' (Expand): ", ST->b.node);
  out[0].dtype = in[0]->dtype;
  *workspace = 0;
  return tk_check_shape(&ST->b, out[0].dims, out[0].rank, err);
}

OCTET_K_RUN(tk_expand_run) {
  (void)state, (void)n_in, (void)n_out, (void)ws, (void)err;
  int64_t str[OCTET_MAX_RANK];
  octet_broadcast_strides(in[0], out[0].rank, out[0].dims, str);
  tk_strided_copy(out[0].data, in[0]->data, octet_dtype_size(in[0]->dtype), out[0].rank,
                  out[0].dims, str, 0, host);
  return OCTET_OK;
}

/* ---- Tile ---- */

OCTET_K_CREATE(tk_tile_create) {
  tk_state *st;
  octet_status s = simple_create(info, info->opset < 6 ? 3 : 2, info->opset < 6 ? 3 : 2,
                                 out_dtypes, &st, err);
  if (s) return s;
  *state = st;
  return OCTET_OK;
}

static octet_status tile_repeats(tk_state *st, const octet_tensor *const *in, int64_t *rep,
                                 octet_error *err) {
  int32_t r = in[0]->rank;
  if (st->b.opset < 6) { /* Tile-1: tiles copies along one axis */
    int64_t axis, tiles = octet_k_get_int(in[1], 0);
    octet_status s = octet_k_axis(octet_k_get_int(in[2], 0), r, &axis, err);
    if (s) return octet_fail_prefix(err, "node '%s' (Tile): ", st->b.node);
    for (int32_t i = 0; i < r; i++) rep[i] = i == axis ? tiles : 1;
  } else {
    size_t n;
    octet_status s = read_list(&st->b, in[1], "repeats", rep, OCTET_MAX_RANK, &n, err);
    if (s) return s;
    if ((int32_t)n != r)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "repeats has %zu entries but the input has rank %d", n, (int)r);
  }
  for (int32_t i = 0; i < r; i++)
    if (rep[i] < 0)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "repeats[%d] = %lld is negative",
                     (int)i, (long long)rep[i]);
  return OCTET_OK;
}

OCTET_K_INFER(tk_tile_infer) {
  (void)n_in, (void)n_out;
  int64_t rep[OCTET_MAX_RANK];
  octet_status s = tile_repeats(ST, in, rep, err);
  if (s) return s;
  out[0].dtype = in[0]->dtype;
  out[0].rank = in[0]->rank;
  for (int32_t i = 0; i < in[0]->rank; i++) {
    if (in[0]->dims[i] && rep[i] > INT64_MAX / in[0]->dims[i])
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "output is too large");
    out[0].dims[i] = in[0]->dims[i] * rep[i];
  }
  *workspace = 0;
  return tk_check_shape(&ST->b, out[0].dims, out[0].rank, err);
}

OCTET_K_RUN(tk_tile_run) {
  (void)n_in, (void)n_out, (void)ws;
  int64_t rep[OCTET_MAX_RANK], is[OCTET_MAX_RANK], dims[TK_MAX_COPY_RANK], str[TK_MAX_COPY_RANK];
  octet_status s = tile_repeats(ST, in, rep, err);
  if (s) return s;
  int32_t r = in[0]->rank;
  tk_strides(in[0]->dims, r, is);
  /* output dim i viewed as [rep_i, d_i]: the repeat index does not move in the input */
  for (int32_t i = 0; i < r; i++) {
    dims[2 * i] = rep[i], str[2 * i] = 0;
    dims[2 * i + 1] = in[0]->dims[i], str[2 * i + 1] = is[i];
  }
  tk_strided_copy(out[0].data, in[0]->data, octet_dtype_size(in[0]->dtype), 2 * r, dims, str, 0,
                  host);
  return OCTET_OK;
}

/* ---- Slice ---- */

OCTET_K_CREATE(tk_slice_create) {
  tk_state *st;
  bool v1 = info->opset < 10;
  octet_status s = simple_create(info, v1 ? 1 : 3, v1 ? 1 : 5, out_dtypes, &st, err);
  if (s) return s;
  *state = st;
  if (v1) {
    if ((s = tk_keep_ints(info, st, 0, "starts", err)) ||
        (s = tk_keep_ints(info, st, 1, "ends", err)) || (s = tk_keep_ints(info, st, 2, "axes", err)))
      return s;
    if (!st->has_list[0] || !st->has_list[1])
      return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                          "attributes 'starts' and 'ends' are required");
  }
  return OCTET_OK;
}

typedef struct slice_plan {
  int64_t start[OCTET_MAX_RANK], step[OCTET_MAX_RANK], count[OCTET_MAX_RANK];
} slice_plan;

static octet_status slice_plan_make(tk_state *st, const octet_tensor *const *in, size_t n_in,
                                    slice_plan *p, octet_error *err) {
  int32_t r = in[0]->rank;
  int64_t starts[OCTET_MAX_RANK], ends[OCTET_MAX_RANK], axes[OCTET_MAX_RANK],
      steps[OCTET_MAX_RANK];
  size_t n, ne, na, ns;
  octet_status s;
  if (st->b.opset < 10) {
    n = st->nlists[0], ne = st->nlists[1], na = st->nlists[2];
    if (n > OCTET_MAX_RANK || ne != n || (st->has_list[2] && na != n))
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "starts, ends and axes must have the same length (at most %d)", OCTET_MAX_RANK);
    memcpy(starts, st->lists[0], n * 8);
    memcpy(ends, st->lists[1], n * 8);
    if (na) memcpy(axes, st->lists[2], n * 8);
  } else {
    if ((s = read_list(&st->b, in[1], "starts", starts, OCTET_MAX_RANK, &n, err)) ||
        (s = read_list(&st->b, in[2], "ends", ends, OCTET_MAX_RANK, &ne, err)))
      return s;
    na = 0;
    if (n_in > 3 && in[3] && (s = read_list(&st->b, in[3], "axes", axes, OCTET_MAX_RANK, &na, err)))
      return s;
    if (ne != n || (n_in > 3 && in[3] && na != n))
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "starts (%zu), ends (%zu) and axes (%zu) must have the same length", n, ne, na);
  }
  ns = 0;
  if (st->b.opset >= 10 && n_in > 4 && in[4]) {
    if ((s = read_list(&st->b, in[4], "steps", steps, OCTET_MAX_RANK, &ns, err))) return s;
    if (ns != n)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "steps has %zu entries, starts has %zu", ns, n);
  }
  for (int32_t i = 0; i < r; i++) p->start[i] = 0, p->step[i] = 1, p->count[i] = in[0]->dims[i];
  bool seen[OCTET_MAX_RANK] = {0};
  for (size_t i = 0; i < n; i++) {
    int64_t a = na ? axes[i] : (int64_t)i;
    if (a < -r || a >= r)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "axis %lld is out of range for rank %d", (long long)a, (int)r);
    if (a < 0) a += r;
    if (seen[a])
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "axis %lld is repeated",
                     (long long)a);
    seen[a] = true;
    int64_t d = in[0]->dims[a], step = ns ? steps[i] : 1, b = starts[i], e = ends[i];
    if (step == 0) return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "step is 0");
    if (b < 0) b += d;
    if (e < 0) e += d;
    if (step > 0) {
      b = b < 0 ? 0 : b > d ? d : b;
      e = e < 0 ? 0 : e > d ? d : e;
    } else {
      b = b < 0 ? 0 : b > d - 1 ? d - 1 : b;
      e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    }
    int64_t c;
    if (step > 0) c = e > b ? (e - b + step - 1) / step : 0;
    else c = b > e ? (b - e + (-step) - 1) / (-step) : 0;
    p->start[a] = c ? b : 0;
    p->step[a] = step;
    p->count[a] = c;
  }
  return OCTET_OK;
}

OCTET_K_INFER(tk_slice_infer) {
  (void)n_out;
  slice_plan p;
  octet_status s = slice_plan_make(ST, in, n_in, &p, err);
  if (s) return s;
  out[0].dtype = in[0]->dtype;
  out[0].rank = in[0]->rank;
  memcpy(out[0].dims, p.count, sizeof(int64_t) * (size_t)in[0]->rank);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(tk_slice_run) {
  (void)n_out, (void)ws;
  slice_plan p;
  octet_status s = slice_plan_make(ST, in, n_in, &p, err);
  if (s) return s;
  int64_t is[OCTET_MAX_RANK], str[OCTET_MAX_RANK], off = 0;
  tk_strides(in[0]->dims, in[0]->rank, is);
  for (int32_t i = 0; i < in[0]->rank; i++) {
    off += p.start[i] * is[i];
    str[i] = p.step[i] * is[i];
  }
  tk_strided_copy(out[0].data, in[0]->data, octet_dtype_size(in[0]->dtype), out[0].rank,
                  out[0].dims, str, off, host);
  return OCTET_OK;
}

/* ---- Pad ---- */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

OCTET_K_CREATE(tk_pad_create) {
  tk_state *st;
  bool attrs = info->opset < 11;
  octet_status s = simple_create(info, attrs ? 1 : 2, attrs ? 1 : 4, out_dtypes, &st, err);
  if (s) return s;
  *state = st;
  const char *mode;
  if ((s = octet_attr_string(info, "mode", "constant", &mode, err))) return s;
  if (!strcmp(mode, "constant")) st->iv[0] = PAD_CONSTANT;
  else if (!strcmp(mode, "reflect")) st->iv[0] = PAD_REFLECT;
  else if (!strcmp(mode, "edge")) st->iv[0] = PAD_EDGE;
  else if (!strcmp(mode, "wrap")) st->iv[0] = PAD_WRAP;
  else
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "unknown mode '%s'", mode);
  if (attrs) {
    const char *name = info->opset < 2 ? "paddings" : "pads";
    if ((s = tk_keep_ints(info, st, 0, name, err))) return s;
    if (!st->has_list[0])
      return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "attribute '%s' is required", name);
    float v;
    if ((s = octet_attr_float(info, "value", 0.0f, &v, err))) return s;
    tk_store_double(info->input_dtypes[0], st->value, v);
  }
  return OCTET_OK;
}

typedef struct pad_plan {
  int64_t begin[OCTET_MAX_RANK];
  uint8_t value[16];
} pad_plan;

static octet_status pad_plan_make(tk_state *st, const octet_tensor *const *in, size_t n_in,
                                  pad_plan *p, int64_t *out_dims, octet_error *err) {
  int32_t r = in[0]->rank;
  int64_t pads[2 * OCTET_MAX_RANK], axes[OCTET_MAX_RANK], end[OCTET_MAX_RANK];
  size_t n, na = 0;
  octet_status s;
  memset(p->value, 0, sizeof p->value);
  if (st->b.opset < 11) {
    n = st->nlists[0];
    if (n > 2 * OCTET_MAX_RANK)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "pads has %zu entries", n);
    memcpy(pads, st->lists[0], n * 8);
    memcpy(p->value, st->value, sizeof p->value);
  } else {
    if ((s = read_list(&st->b, in[1], "pads", pads, 2 * OCTET_MAX_RANK, &n, err))) return s;
    if (n_in > 2 && in[2] && octet_tensor_numel(in[2]) > 0) {
      if (in[2]->dtype != in[0]->dtype)
        return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                       "constant_value has type %s, data has %s", octet_dtype_name(in[2]->dtype),
                       octet_dtype_name(in[0]->dtype));
      memcpy(p->value, in[2]->data, octet_dtype_size(in[0]->dtype));
    }
    if (n_in > 3 && in[3] && (s = read_list(&st->b, in[3], "axes", axes, OCTET_MAX_RANK, &na, err)))
      return s;
  }
  int64_t nax = n_in > 3 && in[3] && st->b.opset >= 18 ? (int64_t)na : r;
  if ((int64_t)n != 2 * nax)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "pads has %zu entries, expected %lld (2 x %lld axes)", n, (long long)(2 * nax),
                   (long long)nax);
  for (int32_t i = 0; i < r; i++) p->begin[i] = 0, end[i] = 0;
  for (int64_t i = 0; i < nax; i++) {
    int64_t a = na && st->b.opset >= 18 && in[3] ? axes[i] : i;
    if (a < -r || a >= r)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "axis %lld is out of range for rank %d", (long long)a, (int)r);
    if (a < 0) a += r;
    p->begin[a] = pads[i], end[a] = pads[i + nax];
  }
  for (int32_t i = 0; i < r; i++) {
    int64_t d = in[0]->dims[i];
    out_dims[i] = d + p->begin[i] + end[i];
    if (out_dims[i] < 0 || -p->begin[i] > d || -end[i] > d)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "pads on axis %d remove more than its %lld elements", (int)i, (long long)d);
    if (st->iv[0] != PAD_CONSTANT && d == 0 && out_dims[i] > 0)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "cannot pad empty axis %d in mode %s", (int)i,
                     st->iv[0] == PAD_EDGE ? "edge" : st->iv[0] == PAD_WRAP ? "wrap" : "reflect");
  }
  return OCTET_OK;
}

OCTET_K_INFER(tk_pad_infer) {
  (void)n_out;
  pad_plan p;
  octet_status s = pad_plan_make(ST, in, n_in, &p, out[0].dims, err);
  if (s) return s;
  out[0].dtype = in[0]->dtype;
  out[0].rank = in[0]->rank;
  *workspace = 0;
  return tk_check_shape(&ST->b, out[0].dims, out[0].rank, err);
}

/* Source index of output index o on an axis of size d padded by b in front; -1: constant. */
static int64_t pad_src(int mode, int64_t o, int64_t b, int64_t d) {
  int64_t j = o - b;
  if (j >= 0 && j < d) return j;
  switch (mode) {
  case PAD_EDGE: return j < 0 ? 0 : d - 1;
  case PAD_WRAP: return ((j % d) + d) % d;
  case PAD_REFLECT: {
    if (d == 1) return 0;
    int64_t period = 2 * (d - 1), m = ((j % period) + period) % period;
    return m >= d ? period - m : m;
  }
  default: return -1;
  }
}

typedef struct pad_job {
  const tk_state *st;
  const pad_plan *p;
  const octet_tensor *in;
  octet_tensor *out;
} pad_job;

static void pad_rows(void *arg, size_t begin, size_t end) {
  const pad_job *j = arg;
  int32_t r = j->in->rank;
  int mode = (int)j->st->iv[0];
  size_t es = octet_dtype_size(j->in->dtype);
  int64_t ocols = j->out->dims[r - 1], icols = j->in->dims[r - 1], b = j->p->begin[r - 1];
  int64_t is[OCTET_MAX_RANK];
  tk_strides(j->in->dims, r, is);
  for (size_t row = begin; row < end; row++) {
    uint8_t *o = (uint8_t *)j->out->data + row * (size_t)ocols * es;
    size_t rr = row;
    int64_t off = 0;
    bool constant = false;
    for (int32_t d = r - 2; d >= 0; d--) {
      int64_t od = (int64_t)(rr % (size_t)j->out->dims[d]);
      rr /= (size_t)j->out->dims[d];
      int64_t sidx = pad_src(mode, od, j->p->begin[d], j->in->dims[d]);
      if (sidx < 0) constant = true;
      else off += sidx * is[d];
    }
    if (constant) {
      tk_fill(o, j->p->value, es, (size_t)ocols);
      continue;
    }
    const uint8_t *src = (const uint8_t *)j->in->data + (size_t)off * es;
    int64_t m0 = b > 0 ? b : 0, m1 = b + icols < ocols ? b + icols : ocols;
    if (m1 < m0) m1 = m0;
    for (int64_t c = 0; c < m0; c++) {
      int64_t sidx = pad_src(mode, c, b, icols);
      tk_copy_el(o + (size_t)c * es, sidx < 0 ? j->p->value : src + (size_t)sidx * es, es);
    }
    if (m1 > m0) memcpy(o + (size_t)m0 * es, src + (size_t)(m0 - b) * es, (size_t)(m1 - m0) * es);
    for (int64_t c = m1; c < ocols; c++) {
      int64_t sidx = pad_src(mode, c, b, icols);
      tk_copy_el(o + (size_t)c * es, sidx < 0 ? j->p->value : src + (size_t)sidx * es, es);
    }
  }
}

OCTET_K_RUN(tk_pad_run) {
  (void)n_out, (void)ws;
  pad_plan p;
  int64_t dims[OCTET_MAX_RANK];
  octet_status s = pad_plan_make(ST, in, n_in, &p, dims, err);
  if (s) return s;
  size_t es = octet_dtype_size(in[0]->dtype), total = octet_tensor_numel(&out[0]);
  if (total == 0) return OCTET_OK;
  if (in[0]->rank == 0) {
    tk_copy_el(out[0].data, in[0]->data, es);
    return OCTET_OK;
  }
  pad_job j = {ST, &p, in[0], &out[0]};
  size_t rows = total / (size_t)out[0].dims[out[0].rank - 1];
  if (total * es >= (1u << 16))
    octet_parallel_for(host, rows, pad_rows, &j);
  else
    pad_rows(&j, 0, rows);
  return OCTET_OK;
}
