/* norm.c — normalizations: BatchNormalization (inference as a per-channel scale+shift folded at
 * create when the statistics are constant; training_mode from opset 14), InstanceNormalization,
 * LayerNormalization, LpNormalization and GroupNormalization. Float32. */
#include <stdio.h>

#include "ops/float/reduce/reduce-util.h"

static void name_copy(char *dst, size_t n, const octet_kernel_info *info) {
  snprintf(dst, n, "%s", info->node_name ? info->node_name : "");
}

/* ---- BatchNormalization ---- */

typedef struct bn_state {
  float eps, momentum;
  bool training;
  size_t c;      /* channels of the folded params (0: not folded) */
  float *scale;  /* a[c] = s / sqrt(var + eps) */
  float *shift;  /* b[c] = bias - mean * a[c] */
  char node[96];
} bn_state;

static void bn_destroy(void *p) {
  bn_state *st = p;
  if (!st) return;
  octet_free(st->scale);
  octet_free(st->shift);
  octet_free(st);
}
void octet_k_batchnorm_destroy(void *p) { bn_destroy(p); }

/* Folding in double keeps the two roundings of (x - mean) * inv * s + b within an ulp or so. */
static void bn_fold(const float *s, const float *b, const float *mean, const float *var, float eps,
                    size_t c, float *a, float *sh) {
  for (size_t i = 0; i < c; i++) { /* mean/var may alias a/sh: read them first */
    double m = mean[i], inv = 1.0 / sqrt((double)var[i] + (double)eps);
    double k = (double)s[i] * inv;
    a[i] = (float)k;
    sh[i] = (float)((double)b[i] - m * k);
  }
}

OCTET_K_CREATE(octet_k_batchnorm_create) {
  octet_status s = octet_k_expect_inputs(info, 5, 5, err);
  if (s) return s;
  for (size_t i = 0; i < 5; i++)
    if ((s = octet_k_expect_dtype(info, i, OCTET_DT(FLOAT), err))) return s;
  float eps, momentum;
  int64_t training = 0, spatial = 1, is_test = 1;
  if ((s = octet_attr_float(info, "epsilon", 1e-5f, &eps, err))) return s;
  if ((s = octet_attr_float(info, "momentum", 0.9f, &momentum, err))) return s;
  if (info->opset >= 14 && (s = octet_attr_int(info, "training_mode", 0, &training, err))) return s;
  if (info->opset < 9 && (s = octet_attr_int(info, "spatial", 1, &spatial, err))) return s;
  if (info->opset < 7 && (s = octet_attr_int(info, "is_test", 0, &is_test, err))) return s;
  if (!spatial)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s' (BatchNormalization): spatial = 0 (per-activation statistics) is "
                      "not supported", info->node_name);
  if (!training && info->n_outputs > 1)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s' (BatchNormalization): the training outputs (mean, var, saved "
                      "mean/var) of opset %d are not supported", info->node_name, (int)info->opset);
  if (training && info->n_outputs != 1 && info->n_outputs != 3)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (BatchNormalization): training mode has 1 or 3 outputs, not %zu",
                      info->node_name, info->n_outputs);
  bn_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->eps = eps;
  st->momentum = momentum;
  st->training = training != 0;
  name_copy(st->node, sizeof st->node, info);
  const octet_tensor *const *k = info->constant_inputs;
  if (!st->training && k && k[1] && k[2] && k[3] && k[4]) {
    size_t c = octet_tensor_numel(k[1]);
    for (int i = 2; i < 5; i++)
      if (octet_tensor_numel(k[i]) != c) {
        bn_destroy(st);
        return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                          "node '%s' (BatchNormalization): scale, B, mean and var differ in size",
                          info->node_name);
      }
    st->scale = octet_malloc((c ? c : 1) * sizeof(float));
    st->shift = octet_malloc((c ? c : 1) * sizeof(float));
    if (!st->scale || !st->shift) {
      bn_destroy(st);
      return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
    }
    bn_fold(k[1]->data, k[2]->data, k[3]->data, k[4]->data, eps, c, st->scale, st->shift);
    st->c = c;
  }
  for (size_t i = 0; i < info->n_outputs; i++) out_dtypes[i] = OCTET_DTYPE_FLOAT;
  *state = st;
  return OCTET_OK;
}

static octet_status bn_check(const bn_state *st, const octet_tensor *const *in, size_t *c,
                             octet_error *err) {
  const octet_tensor *x = in[0];
  if (x->rank < 2)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': X must be [N, C, ...], has rank %d", st->node, (int)x->rank);
  *c = (size_t)x->dims[1];
  for (int i = 1; i < 5; i++)
    if (!in[i] || octet_tensor_numel(in[i]) != *c)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s': input %d must hold C = %zu values", st->node, i, *c);
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_batchnorm_infer) {
  const bn_state *st = state;
  size_t c = 0; /* set by bn_check; GCC -O3 cannot see that */
  octet_status s = bn_check(st, in, &c, err);
  if (s) return s;
  out[0].dtype = OCTET_DTYPE_FLOAT;
  octet_k_copy_shape(&out[0], in[0]);
  for (size_t i = 1; i < n_out; i++) {
    out[i].dtype = OCTET_DTYPE_FLOAT;
    out[i].rank = 1;
    out[i].dims[0] = (int64_t)c;
  }
  *workspace = st->c == c ? 0 : 2 * c * sizeof(float);
  return OCTET_OK;
}

typedef struct affine_task {
  const float *x;
  float *y;
  const float *a, *b; /* per channel */
  size_t c, plane;
} affine_task;

/* y = x * a[c] + b[c] over [N, C, plane]; a unit is one (n, c) plane. */
static void affine_task_fn(void *arg, size_t begin, size_t end) {
  const affine_task *t = arg;
  for (size_t u = begin; u < end; u++) {
    float a = t->a[u % t->c], b = t->b[u % t->c];
    const float *x = t->x + u * t->plane;
    float *y = t->y + u * t->plane;
    for (size_t i = 0; i < t->plane; i++) y[i] = x[i] * a + b;
  }
}

typedef struct bn_stats_task {
  const float *x;
  size_t n, c, plane;
  float *mean, *var;
} bn_stats_task;

/* Training mode: per-channel batch mean and population variance, two passes. */
static void bn_stats_fn(void *arg, size_t begin, size_t end) {
  const bn_stats_task *t = arg;
  for (size_t ch = begin; ch < end; ch++) {
    float s = 0;
    for (size_t n = 0; n < t->n; n++) s += rd_sum_f32(t->x + (n * t->c + ch) * t->plane, t->plane);
    float cnt = (float)(t->n * t->plane), mean = s / cnt, v = 0;
    for (size_t n = 0; n < t->n; n++)
      v += rd_sumsqdev_f32(t->x + (n * t->c + ch) * t->plane, t->plane, mean);
    t->mean[ch] = mean;
    t->var[ch] = v / cnt;
  }
}

OCTET_K_RUN(octet_k_batchnorm_run) {
  const bn_state *st = state;
  size_t c = 0; /* set by bn_check; GCC -O3 cannot see that */
  octet_status s = bn_check(st, in, &c, err);
  if (s) return s;
  const octet_tensor *x = in[0];
  size_t numel = octet_tensor_numel(x);
  if (numel == 0) return OCTET_OK;
  size_t plane = numel / ((size_t)x->dims[0] * c);
  affine_task t = {.x = x->data, .y = out[0].data, .c = c, .plane = plane};
  if (st->c == c) {
    t.a = st->scale;
    t.b = st->shift;
  } else {
    float *a = ws, *b = a + c;
    const float *mean = in[3]->data, *var = in[4]->data;
    if (st->training) {
      /* The batch statistics go to the workspace, then the running ones to outputs 1 and 2. */
      bn_stats_task bt = {.x = x->data, .n = (size_t)x->dims[0], .c = c, .plane = plane,
                          .mean = a, .var = b};
      rd_parallel(host, c, numel, bn_stats_fn, &bt);
      if (n_out == 3) {
        float *rm = out[1].data, *rv = out[2].data;
        for (size_t i = 0; i < c; i++) {
          rm[i] = mean[i] * st->momentum + a[i] * (1.0f - st->momentum);
          rv[i] = var[i] * st->momentum + b[i] * (1.0f - st->momentum);
        }
      }
      mean = a;
      var = b;
    }
    bn_fold(in[1]->data, in[2]->data, mean, var, st->eps, c, a, b);
    t.a = a;
    t.b = b;
  }
  rd_parallel(host, (size_t)x->dims[0] * c, numel, affine_task_fn, &t);
  return OCTET_OK;
}

/* ---- InstanceNormalization and GroupNormalization: statistics per contiguous block ---- */

typedef struct gn_state {
  float eps;
  int64_t groups; /* 0: InstanceNormalization (one group per channel) */
  bool scale_per_group;
  char node[96];
} gn_state;

OCTET_K_CREATE(octet_k_instancenorm_create) {
  octet_status s = octet_k_expect_inputs(info, 3, 3, err);
  if (s) return s;
  for (size_t i = 0; i < 3; i++)
    if ((s = octet_k_expect_dtype(info, i, OCTET_DT(FLOAT), err))) return s;
  gn_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  if ((s = octet_attr_float(info, "epsilon", 1e-5f, &st->eps, err))) {
    octet_free(st);
    return s;
  }
  name_copy(st->node, sizeof st->node, info);
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = st;
  return OCTET_OK;
}

/* Opset 18 gives scale and bias per group; opset 21 per channel. */
OCTET_K_CREATE(octet_k_groupnorm_create) {
  octet_status s = octet_k_expect_inputs(info, 3, 3, err);
  if (s) return s;
  for (size_t i = 0; i < 3; i++)
    if ((s = octet_k_expect_dtype(info, i, OCTET_DT(FLOAT), err))) return s;
  int64_t groups;
  if (!octet_attr_find(info, "num_groups"))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (GroupNormalization): attribute 'num_groups' is required",
                      info->node_name);
  if ((s = octet_attr_int(info, "num_groups", 0, &groups, err))) return s;
  if (groups <= 0)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (GroupNormalization): num_groups must be positive, is %lld",
                      info->node_name, (long long)groups);
  gn_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  if ((s = octet_attr_float(info, "epsilon", 1e-5f, &st->eps, err))) {
    octet_free(st);
    return s;
  }
  st->groups = groups;
  st->scale_per_group = info->opset < 21;
  name_copy(st->node, sizeof st->node, info);
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = st;
  return OCTET_OK;
}

typedef struct gn_geom {
  size_t n, c, g, plane; /* plane: elements per channel */
} gn_geom;

static octet_status gn_geom_make(const gn_state *st, const octet_tensor *const *in, gn_geom *g,
                                 octet_error *err) {
  const octet_tensor *x = in[0];
  if (x->rank < 2)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': X must be [N, C, ...], has rank %d", st->node, (int)x->rank);
  g->n = (size_t)x->dims[0];
  g->c = (size_t)x->dims[1];
  g->g = st->groups ? (size_t)st->groups : g->c;
  g->plane = 1;
  for (int32_t i = 2; i < x->rank; i++) g->plane *= (size_t)x->dims[i];
  if (g->g == 0 || g->c % g->g)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': %zu channels do not split into %zu groups", st->node, g->c, g->g);
  size_t want = st->groups && st->scale_per_group ? g->g : g->c;
  for (int i = 1; i < 3; i++)
    if (!in[i] || octet_tensor_numel(in[i]) != want)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s': input %d must hold %zu values", st->node, i, want);
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_groupnorm_infer) {
  gn_geom g;
  octet_status s = gn_geom_make(state, in, &g, err);
  if (s) return s;
  out[0].dtype = OCTET_DTYPE_FLOAT;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

typedef struct gn_task {
  const gn_state *st;
  gn_geom g;
  const float *x, *scale, *bias;
  float *y;
} gn_task;

/* A unit is one (n, group) block: mean and variance in two passes, then per-channel affine. */
static void gn_task_fn(void *arg, size_t begin, size_t end) {
  const gn_task *t = arg;
  size_t cpg = t->g.c / t->g.g, len = cpg * t->g.plane;
  for (size_t u = begin; u < end; u++) {
    size_t grp = u % t->g.g;
    const float *x = t->x + u * len;
    float *y = t->y + u * len;
    float mean = rd_sum_f32(x, len) / (float)len;
    float var = rd_sumsqdev_f32(x, len, mean) / (float)len;
    float inv = 1.0f / sqrtf(var + t->st->eps);
    for (size_t k = 0; k < cpg; k++) {
      size_t ch = grp * cpg + k, pi = t->st->groups && t->st->scale_per_group ? grp : ch;
      float a = t->scale[pi] * inv, b = t->bias[pi] - mean * a;
      const float *xs = x + k * t->g.plane;
      float *ys = y + k * t->g.plane;
      for (size_t i = 0; i < t->g.plane; i++) ys[i] = xs[i] * a + b;
    }
  }
}

OCTET_K_RUN(octet_k_groupnorm_run) {
  gn_task t = {.st = state, .x = in[0]->data, .y = out[0].data, .scale = in[1]->data,
               .bias = in[2]->data};
  octet_status s = gn_geom_make(state, in, &t.g, err);
  if (s) return s;
  if (t.g.plane == 0) return OCTET_OK;
  rd_parallel(host, t.g.n * t.g.g, t.g.n * t.g.c * t.g.plane * 3, gn_task_fn, &t);
  return OCTET_OK;
}

/* ---- LayerNormalization (opset 17) ---- */

typedef struct ln_state {
  int64_t axis;
  float eps;
  char node[96];
} ln_state;

OCTET_K_CREATE(octet_k_layernorm_create) {
  octet_status s = octet_k_expect_inputs(info, 2, 3, err);
  if (s) return s;
  for (size_t i = 0; i < info->n_inputs; i++)
    if (info->input_dtypes[i] && (s = octet_k_expect_dtype(info, i, OCTET_DT(FLOAT), err))) return s;
  int64_t axis, stash;
  float eps;
  if ((s = octet_attr_int(info, "axis", -1, &axis, err))) return s;
  if ((s = octet_attr_float(info, "epsilon", 1e-5f, &eps, err))) return s;
  if ((s = octet_attr_int(info, "stash_type", 1, &stash, err))) return s;
  if (stash != 1)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s' (LayerNormalization): stash_type %lld (only float, 1)",
                      info->node_name, (long long)stash);
  if (info->n_outputs > 3)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (LayerNormalization): at most 3 outputs", info->node_name);
  ln_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->axis = axis;
  st->eps = eps;
  name_copy(st->node, sizeof st->node, info);
  for (size_t i = 0; i < info->n_outputs; i++) out_dtypes[i] = OCTET_DTYPE_FLOAT;
  *state = st;
  return OCTET_OK;
}

static octet_status ln_geom(const ln_state *st, const octet_tensor *const *in, size_t n_in,
                            int64_t *axis, rd_view *v, octet_error *err) {
  const octet_tensor *x = in[0];
  if (octet_k_axis(st->axis, x->rank, axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  *v = rd_view_2d(x, *axis);
  for (size_t i = 1; i < 3 && i < n_in; i++) {
    if (!in[i]) continue;
    size_t m = octet_tensor_numel(in[i]);
    if (m != v->n && m != 1)
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                        "node '%s': %s has %zu values; only the normalized size %zu or a scalar "
                        "is supported", st->node, i == 1 ? "Scale" : "B", m, v->n);
  }
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_layernorm_infer) {
  int64_t axis;
  rd_view v;
  octet_status s = ln_geom(state, in, n_in, &axis, &v, err);
  if (s) return s;
  for (size_t o = 0; o < n_out; o++) {
    out[o].dtype = OCTET_DTYPE_FLOAT;
    octet_k_copy_shape(&out[o], in[0]);
    if (o > 0)
      for (int32_t i = (int32_t)axis; i < in[0]->rank; i++) out[o].dims[i] = 1;
  }
  *workspace = 0;
  return OCTET_OK;
}

typedef struct ln_task {
  rd_view v;
  float eps;
  const float *x, *scale, *bias;
  size_t n_scale, n_bias;
  float *y, *mean, *inv;
} ln_task;

static void ln_task_fn(void *arg, size_t begin, size_t end) {
  const ln_task *t = arg;
  size_t n = t->v.n;
  for (size_t o = begin; o < end; o++) {
    const float *x = t->x + o * n;
    float *y = t->y + o * n;
    float mean = rd_sum_f32(x, n) / (float)n;
    float var = rd_sumsqdev_f32(x, n, mean) / (float)n;
    float inv = 1.0f / sqrtf(var + t->eps);
    if (t->mean) t->mean[o] = mean;
    if (t->inv) t->inv[o] = inv;
    if (t->n_scale == n && t->n_bias == n) {
      for (size_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * t->scale[i] + t->bias[i];
    } else if (t->n_scale == n && !t->bias) {
      for (size_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * t->scale[i];
    } else {
      for (size_t i = 0; i < n; i++) {
        float s = t->scale[t->n_scale == 1 ? 0 : i];
        float b = t->bias ? t->bias[t->n_bias == 1 ? 0 : i] : 0.0f;
        y[i] = (x[i] - mean) * inv * s + b;
      }
    }
  }
}

OCTET_K_RUN(octet_k_layernorm_run) {
  const ln_state *st = state;
  int64_t axis;
  ln_task t = {.eps = st->eps, .x = in[0]->data, .y = out[0].data, .scale = in[1]->data};
  octet_status s = ln_geom(st, in, n_in, &axis, &t.v, err);
  if (s) return s;
  t.n_scale = octet_tensor_numel(in[1]);
  if (n_in > 2 && in[2]) {
    t.bias = in[2]->data;
    t.n_bias = octet_tensor_numel(in[2]);
  }
  if (n_out > 1) t.mean = out[1].data;
  if (n_out > 2) t.inv = out[2].data;
  if (t.v.n == 0 || t.v.outer == 0) return OCTET_OK;
  rd_parallel(host, t.v.outer, t.v.outer * t.v.n * 3, ln_task_fn, &t);
  return OCTET_OK;
}

/* ---- LpNormalization ---- */

typedef struct lp_state {
  int64_t axis, p;
  char node[96];
} lp_state;

OCTET_K_CREATE(octet_k_lpnorm_create) {
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s) return s;
  if ((s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT), err))) return s;
  int64_t axis, p;
  if ((s = octet_attr_int(info, "axis", -1, &axis, err))) return s;
  if ((s = octet_attr_int(info, "p", 2, &p, err))) return s;
  if (p != 1 && p != 2)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (LpNormalization): p must be 1 or 2, is %lld", info->node_name,
                      (long long)p);
  lp_state *st = octet_calloc(1, sizeof *st);
  if (!st) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  st->axis = axis;
  st->p = p;
  name_copy(st->node, sizeof st->node, info);
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = st;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_lpnorm_infer) {
  const lp_state *st = state;
  int64_t axis;
  if (octet_k_axis(st->axis, in[0]->rank, &axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  out[0].dtype = OCTET_DTYPE_FLOAT;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

typedef struct lp_task {
  rd_view v;
  int64_t p;
  const float *x;
  float *y;
} lp_task;

/* A zero norm gives zeros (ONNX Runtime's choice), not NaN. */
static void lp_task_fn(void *arg, size_t begin, size_t end) {
  const lp_task *t = arg;
  size_t n = t->v.n, inner = t->v.inner;
  for (size_t u = begin; u < end; u++) {
    const float *x = t->x + (u / inner) * n * inner + u % inner;
    float *y = t->y + (u / inner) * n * inner + u % inner;
    float norm;
    if (inner == 1) {
      norm = t->p == 1 ? rd_sumabs_f32(x, n) : sqrtf(rd_sumsq_f32(x, n));
    } else {
      float s = 0;
      for (size_t r = 0; r < n; r++) s += t->p == 1 ? fabsf(x[r * inner]) : x[r * inner] * x[r * inner];
      norm = t->p == 1 ? s : sqrtf(s);
    }
    for (size_t r = 0; r < n; r++) y[r * inner] = norm != 0.0f ? x[r * inner] / norm : 0.0f;
  }
}

OCTET_K_RUN(octet_k_lpnorm_run) {
  const lp_state *st = state;
  int64_t axis;
  if (octet_k_axis(st->axis, in[0]->rank, &axis, err))
    return octet_fail_prefix(err, "node '%s': ", st->node);
  lp_task t = {.v = rd_view_axis(in[0], axis), .p = st->p, .x = in[0]->data, .y = out[0].data};
  size_t units = t.v.outer * t.v.inner;
  rd_parallel(host, units, units * t.v.n * 2, lp_task_fn, &t);
  return OCTET_OK;
}
