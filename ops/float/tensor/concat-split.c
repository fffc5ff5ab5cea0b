/* concat-split.c — Concat and Split: contiguous runs along an axis, copied with memcpy. */
#include "ops/float/tensor/tensor-util.h"

#define ST ((tk_state *)state)

/* ---- Concat ---- */

OCTET_K_CREATE(tk_concat_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, SIZE_MAX, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) || (s = tk_new(info, &st, err))) return s;
  *state = st;
  if (info->opset >= 4 && !octet_attr_find(info, "axis"))
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "attribute 'axis' is required");
  if ((s = octet_attr_int(info, "axis", 1, &st->axis, err))) return s;
  for (size_t i = 1; i < info->n_inputs; i++)
    if (info->input_dtypes[i] != info->input_dtypes[0])
      return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                          "input %zu has type %s, input 0 has %s", i,
                          octet_dtype_name(info->input_dtypes[i]),
                          octet_dtype_name(info->input_dtypes[0]));
  out_dtypes[0] = info->input_dtypes[0];
  return OCTET_OK;
}

OCTET_K_INFER(tk_concat_infer) {
  (void)n_out;
  int32_t r = in[0]->rank;
  int64_t axis;
  if (r == 0)
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "cannot concatenate scalars");
  if (octet_k_axis(ST->axis, r, &axis, err))
    return octet_fail_prefix(err, "node '%s' (Concat): ", ST->b.node);
  octet_k_copy_shape(&out[0], in[0]);
  out[0].dtype = in[0]->dtype;
  out[0].dims[axis] = 0;
  for (size_t i = 0; i < n_in; i++) {
    if (!in[i]) return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_MODEL, "input %zu is missing", i);
    if (in[i]->rank != r)
      return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "input %zu has rank %d, input 0 has rank %d", i, (int)in[i]->rank, (int)r);
    for (int32_t d = 0; d < r; d++)
      if (d != axis && in[i]->dims[d] != in[0]->dims[d])
        return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                       "input %zu has dim %lld on axis %d, input 0 has %lld", i,
                       (long long)in[i]->dims[d], (int)d, (long long)in[0]->dims[d]);
    out[0].dims[axis] += in[i]->dims[axis];
  }
  *workspace = 0;
  return tk_check_shape(&ST->b, out[0].dims, r, err);
}

typedef struct cat_job {
  const octet_tensor *const *parts;
  octet_tensor *whole;
  size_t n;
  size_t inner_bytes; /* bytes per unit of the axis */
  size_t whole_row;   /* bytes of one outer row of the whole */
  int32_t axis;
  bool split; /* copy whole -> parts instead */
} cat_job;

static void cat_rows(void *arg, size_t begin, size_t end) {
  const cat_job *j = arg;
  for (size_t o = begin; o < end; o++) {
    uint8_t *w = (uint8_t *)j->whole->data + o * j->whole_row;
    for (size_t i = 0; i < j->n; i++) {
      size_t bytes = (size_t)j->parts[i]->dims[j->axis] * j->inner_bytes;
      uint8_t *p = (uint8_t *)j->parts[i]->data + o * bytes;
      if (bytes) {
        if (j->split) memcpy(p, w, bytes);
        else memcpy(w, p, bytes);
      }
      w += bytes;
    }
  }
}

static void cat_run(cat_job *j, const octet_host *host) {
  const octet_tensor *w = j->whole;
  size_t outer = 1, inner = octet_dtype_size(w->dtype);
  for (int32_t d = 0; d < j->axis; d++) outer *= (size_t)w->dims[d];
  for (int32_t d = j->axis + 1; d < w->rank; d++) inner *= (size_t)w->dims[d];
  j->inner_bytes = inner;
  j->whole_row = inner * (size_t)w->dims[j->axis];
  if (outer == 0 || j->whole_row == 0) return;
  if (outer > 1 && outer * j->whole_row >= (1u << 16))
    octet_parallel_for(host, outer, cat_rows, j);
  else
    cat_rows(j, 0, outer);
}

OCTET_K_RUN(tk_concat_run) {
  (void)n_out, (void)ws, (void)err;
  int64_t axis = ST->axis < 0 ? ST->axis + in[0]->rank : ST->axis;
  cat_job j = {.parts = in, .whole = &out[0], .n = n_in, .axis = (int32_t)axis, .split = false};
  cat_run(&j, host);
  return OCTET_OK;
}

/* ---- Split ---- */

OCTET_K_CREATE(tk_split_create) {
  tk_state *st;
  bool input_split = info->opset < 2 || info->opset >= 13;
  octet_status s = octet_k_expect_inputs(info, 1, input_split ? 2 : 1, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) || (s = tk_new(info, &st, err))) return s;
  *state = st;
  if ((s = octet_attr_int(info, "axis", 0, &st->axis, err))) return s;
  if (info->opset < 13 && (s = tk_keep_ints(info, st, 0, "split", err))) return s;
  if ((s = octet_attr_int(info, "num_outputs", 0, &st->iv[0], err))) return s;
  if (info->n_outputs == 0)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "Split needs at least one output");
  for (size_t i = 0; i < info->n_outputs; i++) out_dtypes[i] = info->input_dtypes[0];
  return OCTET_OK;
}

static octet_status split_sizes(tk_state *st, const octet_tensor *const *in, size_t n_in,
                                size_t n_out, int64_t *axis, int64_t *sizes, octet_error *err) {
  int32_t r = in[0]->rank;
  if (octet_k_axis(st->axis, r, axis, err))
    return octet_fail_prefix(err, "node '%s' (Split): ", st->b.node);
  int64_t d = in[0]->dims[*axis];
  const octet_tensor *sp = n_in > 1 ? in[1] : NULL;
  if (sp && (st->b.opset < 2 || st->b.opset >= 13) && octet_tensor_numel(sp) > 0) {
    size_t n;
    octet_status s = tk_int_list(&st->b, sp, "split", &n, err);
    if (s) return s;
    if (n != n_out)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "split has %zu entries for %zu outputs", n, n_out);
    for (size_t i = 0; i < n; i++) sizes[i] = octet_k_get_int(sp, i);
  } else if (st->b.opset < 13 && st->has_list[0]) {
    if (st->nlists[0] != n_out)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "split has %zu entries for %zu outputs", st->nlists[0], n_out);
    memcpy(sizes, st->lists[0], n_out * sizeof(int64_t));
  } else {
    int64_t k = (int64_t)n_out;
    if (st->b.opset >= 18) {
      if (st->iv[0] && st->iv[0] != k)
        return tk_fail(&st->b, err, OCTET_STATUS_INVALID_MODEL,
                       "num_outputs is %lld but the node has %zu outputs", (long long)st->iv[0], n_out);
      int64_t chunk = (d + k - 1) / k; /* the last chunk is smaller when d % k != 0 */
      for (int64_t i = 0; i < k; i++) {
        int64_t left = d - i * chunk;
        sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
      }
    } else {
      if (d % k)
        return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                       "axis dim %lld does not split evenly into %zu outputs", (long long)d, n_out);
      for (int64_t i = 0; i < k; i++) sizes[i] = d / k;
    }
  }
  int64_t sum = 0;
  for (size_t i = 0; i < n_out; i++) {
    if (sizes[i] < 0)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "split[%zu] is negative", i);
    sum += sizes[i];
  }
  if (sum != d)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)d);
  return OCTET_OK;
}

OCTET_K_INFER(tk_split_infer) {
  int64_t axis;
  int64_t *sizes = octet_malloc(n_out * sizeof(int64_t));
  if (!sizes) return tk_fail(&ST->b, err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_status s = split_sizes(ST, in, n_in, n_out, &axis, sizes, err);
  if (!s)
    for (size_t i = 0; i < n_out; i++) {
      out[i].dtype = in[0]->dtype;
      octet_k_copy_shape(&out[i], in[0]);
      out[i].dims[axis] = sizes[i];
    }
  octet_free(sizes);
  /* run needs a pointer per output; past 64 outputs they live in the workspace */
  *workspace = n_out > 64 ? n_out * sizeof(octet_tensor *) : 0;
  return s;
}

OCTET_K_RUN(tk_split_run) {
  (void)n_in, (void)ws;
  /* The host allocated the outputs with infer's shapes: their dims carry the split sizes. */
  const octet_tensor *parts[64];
  const octet_tensor **pp = n_out <= 64 ? parts : ws;
  if (!pp) return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "no workspace given");
  for (size_t i = 0; i < n_out; i++) pp[i] = &out[i];
  int64_t axis = ST->axis < 0 ? ST->axis + in[0]->rank : ST->axis;
  cat_job j = {.parts = pp, .whole = (octet_tensor *)in[0], .n = n_out, .axis = (int32_t)axis,
               .split = true};
  cat_run(&j, host);
  return OCTET_OK;
}
