/* quantize-linear.c — QuantizeLinear, DequantizeLinear (opsets 10..21: per-tensor, per-axis,
 * blocked) and DynamicQuantizeLinear for 8-bit types. */
#include "ops/quant/q8-dynamic-quant.h"
#include "ops/quant/quant-util.h"

typedef struct qdq_state {
  octet_q_node node;
  int64_t axis;       /* attribute as given (normalized in infer) */
  int64_t block_size; /* 0: per-tensor or per-axis */
  int32_t q_dtype;    /* the 8-bit side's type (Q: output, DQ: input) */
} qdq_state;

/* Where element (o, d, i) of x (outer x D x inner around the axis) finds its scale. */
typedef struct qdq_layout {
  size_t outer, D, inner;
  int mode; /* 0 per-tensor, 1 per-axis, 2 blocked */
  size_t Db, bs;
} qdq_layout;

static octet_status qdq_layout_of(const qdq_state *s, const octet_tensor *x,
                                  const octet_tensor *scale, const octet_tensor *zp,
                                  qdq_layout *L, octet_error *err) {
  const octet_q_node *n = &s->node;
  size_t scale_n = octet_tensor_numel(scale);
  L->outer = 1, L->D = 1, L->inner = octet_tensor_numel(x), L->mode = 0, L->Db = 1, L->bs = 1;
  if (s->block_size > 0) {
    if (scale->rank != x->rank)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (%s): blocked scale must have the rank of x (%d), has %d",
                        n->name, n->op, (int)x->rank, (int)scale->rank);
  } else if (scale_n == 1 && scale->rank <= 1) {
    goto check_zp;
  } else if (scale->rank != 1) {
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (%s): scale must be a scalar or 1-D for per-axis quantization",
                      n->name, n->op);
  }
  int64_t ax;
  octet_status st = octet_k_axis(s->axis, x->rank, &ax, err);
  if (st) return octet_fail_prefix(err, "node '%s' (%s): ", n->name, n->op);
  L->outer = 1, L->inner = 1, L->D = (size_t)x->dims[ax];
  for (int64_t i = 0; i < ax; i++) L->outer *= (size_t)x->dims[i];
  for (int32_t i = (int32_t)ax + 1; i < x->rank; i++) L->inner *= (size_t)x->dims[i];
  if (s->block_size > 0) {
    L->mode = 2, L->bs = (size_t)s->block_size, L->Db = (L->D + L->bs - 1) / L->bs;
    for (int32_t i = 0; i < x->rank; i++) {
      int64_t want = i == ax ? (int64_t)L->Db : x->dims[i];
      if (scale->dims[i] != want)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                          "node '%s' (%s): blocked scale dim %d is %lld, expected %lld", n->name,
                          n->op, (int)i, (long long)scale->dims[i], (long long)want);
    }
  } else {
    L->mode = 1;
    if (scale_n != L->D)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (%s): per-axis scale has %zu elements, axis %lld has %zu",
                        n->name, n->op, scale_n, (long long)ax, L->D);
  }
check_zp:
  if (zp) {
    if (octet_tensor_numel(zp) != scale_n || zp->rank != scale->rank)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (%s): zero point shape differs from scale shape", n->name,
                        n->op);
  }
  for (size_t i = 0; i < scale_n; i++) {
    float v = octet_q_f32(scale, i);
    if (!(v > 0.0f) || !isfinite(v))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (%s): scale[%zu] = %g must be finite and > 0", n->name, n->op,
                        i, (double)v);
  }
  return OCTET_OK;
}

static inline size_t qdq_param_index(const qdq_layout *L, size_t o, size_t d, size_t i) {
  if (L->mode == 0) return 0;
  if (L->mode == 1) return d;
  return (o * L->Db + d / L->bs) * L->inner + i;
}

static octet_status qdq_create_common(const octet_kernel_info *info, qdq_state **out,
                                      octet_error *err) {
  octet_status st = octet_k_expect_inputs(info, 2, 3, err);
  if (st) return st;
  if ((st = octet_k_expect_dtype(info, 1, OCTET_DT(FLOAT), err))) return st;
  qdq_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  if ((st = octet_attr_int(info, "axis", 1, &s->axis, err)) ||
      (st = octet_attr_int(info, "block_size", 0, &s->block_size, err))) {
    octet_free(s);
    return st;
  }
  if (s->block_size < 0) {
    octet_free(s);
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): block_size must be >= 0",
                      info->node_name, info->op_type);
  }
  *out = s;
  return OCTET_OK;
}

/* ---- QuantizeLinear ---- */

OCTET_K_CREATE(octet_k_quantize_linear_create) {
  qdq_state *s;
  octet_status st = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(INT32), err);
  if (st || (st = qdq_create_common(info, &s, err))) return st;
  int64_t out_dt;
  if ((st = octet_attr_int(info, "output_dtype", 0, &out_dt, err))) goto fail;
  int32_t zp_dt = info->n_inputs > 2 ? info->input_dtypes[2] : OCTET_DTYPE_UNDEFINED;
  if (out_dt == 0) out_dt = zp_dt ? zp_dt : OCTET_DTYPE_UINT8;
  if (zp_dt && zp_dt != out_dt) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                    "node '%s' (QuantizeLinear): output_dtype %s differs from the zero point's %s",
                    info->node_name, octet_dtype_name((int32_t)out_dt), octet_dtype_name(zp_dt));
    goto fail;
  }
  if (out_dt != OCTET_DTYPE_UINT8 && out_dt != OCTET_DTYPE_INT8) {
    st = octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                    "node '%s' (QuantizeLinear): output type %s is not supported (uint8, int8)",
                    info->node_name, octet_dtype_name((int32_t)out_dt));
    goto fail;
  }
  s->q_dtype = (int32_t)out_dt;
  out_dtypes[0] = s->q_dtype;
  *state = s;
  return OCTET_OK;
fail:
  octet_free(s);
  return st;
}

OCTET_K_INFER(octet_k_qdq_infer) {
  qdq_state *s = state;
  qdq_layout L;
  const octet_tensor *zp = n_in > 2 ? in[2] : NULL;
  octet_status st = qdq_layout_of(s, in[0], in[1], zp, &L, err);
  if (st) return st;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_quantize_linear_run) {
  qdq_state *s = state;
  qdq_layout L;
  const octet_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
  octet_status st = qdq_layout_of(s, x, scale, zp, &L, err);
  if (st) return st;
  octet_qrange r = octet_qrange_of(s->q_dtype);
  const float *sc = scale->data;
  if (x->dtype == OCTET_DTYPE_FLOAT && L.mode != 2) {
    /* per tensor, or per channel with contiguous runs: the vectorized quantize, run by run */
    const octet_q8_dynq *v = octet_q8_dynq_select();
    size_t run = L.mode == 0 ? L.outer * L.D * L.inner : L.inner;
    const float *xf = x->data;
    for (size_t e = 0, k = 0; e < L.outer * L.D * L.inner; e += run, k++) {
      size_t p = L.mode == 0 ? 0 : k % L.D;
      if (s->q_dtype == OCTET_DTYPE_UINT8) v->quantize((uint8_t *)out[0].data + e, xf + e, run, sc[p], octet_q_zp(zp, p));
      else octet_qs8_quantize(v, (int8_t *)out[0].data + e, xf + e, run, sc[p], octet_q_zp(zp, p));
    }
    return OCTET_OK;
  }
  size_t e = 0;
  for (size_t o = 0; o < L.outer; o++)
    for (size_t d = 0; d < L.D; d++)
      for (size_t i = 0; i < L.inner; i++, e++) {
        size_t p = qdq_param_index(&L, o, d, i);
        float v = x->dtype == OCTET_DTYPE_FLOAT ? ((const float *)x->data)[e]
                                                : (float)((const int32_t *)x->data)[e];
        octet_q8_store(out[0].data, e, s->q_dtype, octet_quantize_value(v, sc[p], octet_q_zp(zp, p), r));
      }
  return OCTET_OK;
}

/* ---- DequantizeLinear ---- */

OCTET_K_CREATE(octet_k_dequantize_linear_create) {
  qdq_state *s;
  octet_status st = octet_k_expect_dtype(
      info, 0, OCTET_DT_Q8 | OCTET_DT(INT32) | OCTET_DT(INT16) | OCTET_DT(UINT16), err);
  if (st || (st = qdq_create_common(info, &s, err))) return st;
  s->q_dtype = info->input_dtypes[0];
  int32_t zp_dt = info->n_inputs > 2 ? info->input_dtypes[2] : OCTET_DTYPE_UNDEFINED;
  if (zp_dt && zp_dt != s->q_dtype) {
    octet_free(s);
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (DequantizeLinear): zero point type %s differs from x's %s",
                      info->node_name, octet_dtype_name(zp_dt), octet_dtype_name(s->q_dtype));
  }
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = s;
  return OCTET_OK;
}

static inline int32_t load_int(const void *p, size_t i, int32_t dt) {
  switch (dt) {
  case OCTET_DTYPE_UINT8: return ((const uint8_t *)p)[i];
  case OCTET_DTYPE_INT8: return ((const int8_t *)p)[i];
  case OCTET_DTYPE_UINT16: return ((const uint16_t *)p)[i];
  case OCTET_DTYPE_INT16: return ((const int16_t *)p)[i];
  default: return ((const int32_t *)p)[i];
  }
}

OCTET_K_RUN(octet_k_dequantize_linear_run) {
  qdq_state *s = state;
  qdq_layout L;
  const octet_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
  octet_status st = qdq_layout_of(s, x, scale, zp, &L, err);
  if (st) return st;
  const float *sc = scale->data;
  float *y = out[0].data;
  if ((x->dtype == OCTET_DTYPE_UINT8 || x->dtype == OCTET_DTYPE_INT8) && L.mode != 2) {
    const octet_q8_dynq *v = octet_q8_dynq_select();
    size_t run = L.mode == 0 ? L.outer * L.D * L.inner : L.inner;
    const uint8_t *q = x->data;
    for (size_t e = 0, k = 0; e < L.outer * L.D * L.inner; e += run, k++) {
      size_t p = L.mode == 0 ? 0 : k % L.D;
      v->dequantize(y + e, q + e, run, sc[p], zp ? load_int(zp->data, p, zp->dtype) : 0,
                    x->dtype == OCTET_DTYPE_INT8);
    }
    return OCTET_OK;
  }
  size_t e = 0;
  for (size_t o = 0; o < L.outer; o++)
    for (size_t d = 0; d < L.D; d++)
      for (size_t i = 0; i < L.inner; i++, e++) {
        size_t p = qdq_param_index(&L, o, d, i);
        int32_t z = zp ? load_int(zp->data, p, zp->dtype) : 0;
        y[e] = octet_dequantize_value(load_int(x->data, e, x->dtype), sc[p], z);
      }
  return OCTET_OK;
}

/* ---- DynamicQuantizeLinear ---- */

OCTET_K_CREATE(octet_k_dynamic_quantize_linear_create) {
  octet_status st = octet_k_expect_inputs(info, 1, 1, err);
  if (st || (st = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT), err))) return st;
  if (info->n_outputs != 3)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (DynamicQuantizeLinear): has %zu outputs, expected 3",
                      info->node_name, info->n_outputs);
  out_dtypes[0] = OCTET_DTYPE_UINT8;
  out_dtypes[1] = OCTET_DTYPE_FLOAT;
  out_dtypes[2] = OCTET_DTYPE_UINT8;
  *state = NULL;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_dynamic_quantize_linear_infer) {
  octet_k_copy_shape(&out[0], in[0]);
  out[1].rank = 0;
  out[2].rank = 0;
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_dynamic_quantize_linear_run) {
  size_t n = octet_tensor_numel(in[0]);
  const float *x = in[0]->data;
  float scale;
  uint8_t zp;
  const octet_q8_dynq *v = octet_q8_dynq_select();
  octet_q8_dynq_qparams(v, x, n, &scale, &zp);
  v->quantize(out[0].data, x, n, scale, zp);
  *(float *)out[1].data = scale;
  *(uint8_t *)out[2].data = zp;
  return OCTET_OK;
}
