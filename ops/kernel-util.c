/* kernel-util.c — attribute access, broadcasting and the Identity kernel. */
#include <math.h>
#include <stdio.h>

#include "ops/kernel-util.h"

const octet_attr *octet_attr_find(const octet_kernel_info *info, const char *name) {
  for (size_t i = 0; i < info->n_attrs; i++)
    if (!strcmp(info->attrs[i].name, name)) return &info->attrs[i];
  return NULL;
}

static octet_status wrong_type(const octet_kernel_info *info, const char *name, const char *want,
                               octet_error *err) {
  return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): attribute '%s' must be %s",
                    info->node_name, info->op_type, name, want);
}

octet_status octet_attr_int(const octet_kernel_info *info, const char *name, int64_t dflt,
                            int64_t *out, octet_error *err) {
  const octet_attr *a = octet_attr_find(info, name);
  if (!a) {
    *out = dflt;
    return OCTET_OK;
  }
  if (a->type != OCTET_ATTR_INT) return wrong_type(info, name, "an int", err);
  *out = a->i;
  return OCTET_OK;
}

octet_status octet_attr_float(const octet_kernel_info *info, const char *name, float dflt,
                              float *out, octet_error *err) {
  const octet_attr *a = octet_attr_find(info, name);
  if (!a) {
    *out = dflt;
    return OCTET_OK;
  }
  if (a->type == OCTET_ATTR_INT) { /* some exporters write integral floats as ints */
    *out = (float)a->i;
    return OCTET_OK;
  }
  if (a->type != OCTET_ATTR_FLOAT) return wrong_type(info, name, "a float", err);
  *out = a->f;
  return OCTET_OK;
}

octet_status octet_attr_string(const octet_kernel_info *info, const char *name, const char *dflt,
                               const char **out, octet_error *err) {
  const octet_attr *a = octet_attr_find(info, name);
  if (!a) {
    *out = dflt;
    return OCTET_OK;
  }
  if (a->type != OCTET_ATTR_STRING) return wrong_type(info, name, "a string", err);
  *out = a->s;
  return OCTET_OK;
}

octet_status octet_attr_ints(const octet_kernel_info *info, const char *name,
                             const int64_t **vals, size_t *n, octet_error *err) {
  const octet_attr *a = octet_attr_find(info, name);
  *vals = NULL;
  *n = 0;
  if (!a) return OCTET_OK;
  if (a->type == OCTET_ATTR_INT) {
    *vals = &a->i;
    *n = 1;
    return OCTET_OK;
  }
  if (a->type != OCTET_ATTR_INTS) return wrong_type(info, name, "a list of ints", err);
  *vals = a->ints;
  *n = a->n;
  return OCTET_OK;
}

octet_status octet_attr_floats(const octet_kernel_info *info, const char *name,
                               const float **vals, size_t *n, octet_error *err) {
  const octet_attr *a = octet_attr_find(info, name);
  *vals = NULL;
  *n = 0;
  if (!a) return OCTET_OK;
  if (a->type != OCTET_ATTR_FLOATS) return wrong_type(info, name, "a list of floats", err);
  *vals = a->floats;
  *n = a->n;
  return OCTET_OK;
}

octet_status octet_k_expect_inputs(const octet_kernel_info *info, size_t min, size_t max,
                                   octet_error *err) {
  if (info->n_inputs < min || info->n_inputs > max)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (%s): has %zu inputs, expected %zu to %zu", info->node_name,
                      info->op_type, info->n_inputs, min, max);
  for (size_t i = 0; i < min; i++)
    if (info->input_dtypes[i] == OCTET_DTYPE_UNDEFINED)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): input %zu is required",
                        info->node_name, info->op_type, i);
  return OCTET_OK;
}

octet_status octet_k_expect_dtype(const octet_kernel_info *info, size_t input,
                                  uint32_t allowed_mask, octet_error *err) {
  int32_t dt = input < info->n_inputs ? info->input_dtypes[input] : OCTET_DTYPE_UNDEFINED;
  if (dt > 0 && dt < 32 && (allowed_mask & (1u << dt))) return OCTET_OK;
  return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                    "node '%s' (%s): input %zu has type %s, which this kernel does not support",
                    info->node_name, info->op_type, input, octet_dtype_name(dt));
}

octet_status octet_broadcast_shape(const octet_tensor *a, const octet_tensor *b, octet_tensor *out,
                                   octet_error *err) {
  int32_t rank = a->rank > b->rank ? a->rank : b->rank;
  for (int32_t i = 0; i < rank; i++) {
    int32_t ia = i - (rank - a->rank), ib = i - (rank - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "shapes cannot broadcast: dim %d is %lld and %lld", (int)i, (long long)da,
                        (long long)db);
    out->dims[i] = da == 1 ? db : da;
  }
  out->rank = rank;
  return OCTET_OK;
}

void octet_broadcast_strides(const octet_tensor *t, int32_t rank, const int64_t *dims,
                             int64_t *strides) {
  int64_t s = 1;
  for (int32_t i = rank - 1; i >= 0; i--) {
    int32_t it = i - (rank - t->rank);
    int64_t d = it >= 0 ? t->dims[it] : 1;
    strides[i] = (d == 1 && dims[i] != 1) || it < 0 ? 0 : s;
    s *= d;
  }
}

octet_status octet_k_axis(int64_t axis, int32_t rank, int64_t *out, octet_error *err) {
  if (axis < -(int64_t)rank || axis >= rank)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
                      (long long)axis, (int)rank);
  *out = axis < 0 ? axis + rank : axis;
  return OCTET_OK;
}

int64_t octet_k_get_int(const octet_tensor *t, size_t i) {
  switch (t->dtype) {
  case OCTET_DTYPE_INT64: return ((const int64_t *)t->data)[i];
  case OCTET_DTYPE_INT32: return ((const int32_t *)t->data)[i];
  case OCTET_DTYPE_INT16: return ((const int16_t *)t->data)[i];
  case OCTET_DTYPE_INT8: return ((const int8_t *)t->data)[i];
  case OCTET_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
  case OCTET_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
  case OCTET_DTYPE_UINT16: return ((const uint16_t *)t->data)[i];
  case OCTET_DTYPE_UINT32: return ((const uint32_t *)t->data)[i];
  case OCTET_DTYPE_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
  default: return (int64_t)octet_k_get_double(t, i);
  }
}

double octet_k_get_double(const octet_tensor *t, size_t i) {
  switch (t->dtype) {
  case OCTET_DTYPE_FLOAT: return ((const float *)t->data)[i];
  case OCTET_DTYPE_DOUBLE: return ((const double *)t->data)[i];
  case OCTET_DTYPE_FLOAT16: return octet_half_to_float(((const uint16_t *)t->data)[i]);
  case OCTET_DTYPE_BFLOAT16: return octet_bf16_to_float(((const uint16_t *)t->data)[i]);
  case OCTET_DTYPE_UINT64: return (double)((const uint64_t *)t->data)[i];
  default: return (double)octet_k_get_int(t, i);
  }
}

void octet_k_state_destroy(void *state) { octet_free(state); }

/* ---- Identity: the smallest kernel, and the example for the others. ---- */

OCTET_K_CREATE(octet_k_identity_create) {
  octet_status st = octet_k_expect_inputs(info, 1, 1, err);
  if (st) return st;
  out_dtypes[0] = info->input_dtypes[0];
  *state = NULL;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_identity_infer) {
  out[0].dtype = in[0]->dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_identity_run) {
  /* The runtime aliases (OCTET_KERNEL_ALIAS_INPUT0); other hosts may call run: copy. */
  if (out[0].data != in[0]->data) memcpy(out[0].data, in[0]->data, octet_tensor_nbytes(in[0]));
  return OCTET_OK;
}
