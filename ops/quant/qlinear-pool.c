/* qlinear-pool.c — com.microsoft QLinearGlobalAveragePool and QLinearAveragePool (NCHW or
 * channels_last, 1-3 spatial dims). Global pooling sums in int32 and requantizes; windowed
 * pooling follows ORT: dequantize, float sum and divide, then quantize. */
#include <stdio.h>

#include "ops/quant/quant-util.h"

#define POOL_MAX_SPATIAL 3

typedef struct qpool_state {
  octet_q_node node;
  int32_t dt;
  bool global, channels_last, count_include_pad, ceil_mode;
  char auto_pad[16];
  size_t n_k, n_s, n_p;
  int64_t k[POOL_MAX_SPATIAL], s[POOL_MAX_SPATIAL], pads[2 * POOL_MAX_SPATIAL];
} qpool_state;

typedef struct pool_geom {
  size_t N, C, S, in_sp, out_sp;
  int64_t in[POOL_MAX_SPATIAL], out[POOL_MAX_SPATIAL], pb[POOL_MAX_SPATIAL], pe[POOL_MAX_SPATIAL];
} pool_geom;

static const octet_tensor *opt(const octet_tensor *const *in, size_t n_in, size_t i) {
  return i < n_in ? in[i] : NULL;
}

static octet_status pool_create(const octet_kernel_info *info, bool global, int32_t *out_dtypes,
                                void **state, octet_error *err) {
  octet_status st = octet_k_expect_inputs(info, 4, 5, err);
  if (st || (st = octet_k_expect_dtype(info, 0, OCTET_DT_Q8, err))) return st;
  qpool_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  s->dt = info->input_dtypes[0];
  s->global = global;
  int64_t cl, cip = 0, cm = 0;
  const char *ap = "NOTSET";
  if ((st = octet_attr_int(info, "channels_last", 0, &cl, err))) goto fail;
  s->channels_last = cl != 0;
  if (!global) {
    const int64_t *v;
    size_t n;
    if ((st = octet_attr_int(info, "count_include_pad", 0, &cip, err)) ||
        (st = octet_attr_int(info, "ceil_mode", 0, &cm, err)) ||
        (st = octet_attr_string(info, "auto_pad", "NOTSET", &ap, err)))
      goto fail;
    s->count_include_pad = cip != 0, s->ceil_mode = cm != 0;
    snprintf(s->auto_pad, sizeof s->auto_pad, "%s", ap);
    struct { const char *name; int64_t *dst; size_t *cnt; size_t max; } l[] = {
        {"kernel_shape", s->k, &s->n_k, POOL_MAX_SPATIAL},
        {"strides", s->s, &s->n_s, POOL_MAX_SPATIAL},
        {"pads", s->pads, &s->n_p, 2 * POOL_MAX_SPATIAL}};
    for (int i = 0; i < 3; i++) {
      if ((st = octet_attr_ints(info, l[i].name, &v, &n, err))) goto fail;
      if (n > l[i].max) {
        st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): %s has %zu values (at most 3 spatial dims)",
                        info->node_name, info->op_type, l[i].name, n);
        goto fail;
      }
      if (n) memcpy(l[i].dst, v, n * sizeof *v);
      *l[i].cnt = n;
    }
    if (!s->n_k) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): kernel_shape is required",
                      info->node_name, info->op_type);
      goto fail;
    }
  }
  out_dtypes[0] = s->dt;
  *state = s;
  return OCTET_OK;
fail:
  octet_free(s);
  return st;
}
OCTET_K_CREATE(octet_k_qlinear_global_average_pool_create) { return pool_create(info, true, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_qlinear_average_pool_create) { return pool_create(info, false, out_dtypes, state, err); }

static octet_status pool_geom_of(const qpool_state *s, const octet_tensor *x, pool_geom *g,
                                 octet_error *err) {
  memset(g, 0, sizeof *g);
  if (x->rank < 3 || x->rank > 2 + POOL_MAX_SPATIAL)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): X must have rank 3 to 5",
                      s->node.name, s->node.op);
  g->S = (size_t)x->rank - 2;
  g->N = (size_t)x->dims[0];
  g->C = (size_t)x->dims[s->channels_last ? x->rank - 1 : 1];
  g->in_sp = g->out_sp = 1;
  for (size_t i = 0; i < g->S; i++) {
    g->in[i] = x->dims[s->channels_last ? 1 + i : 2 + i];
    g->in_sp *= (size_t)g->in[i];
  }
  if (s->global) return OCTET_OK;
  if (s->n_k != g->S || (s->n_s && s->n_s != g->S) || (s->n_p && s->n_p != 2 * g->S))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (%s): kernel_shape/strides/pads do not match %zu spatial dims",
                      s->node.name, s->node.op, g->S);
  for (size_t i = 0; i < g->S; i++) {
    int64_t k = s->k[i], st = s->n_s ? s->s[i] : 1, in = g->in[i], o, pb = 0, pe = 0;
    if (k < 1 || st < 1) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': bad kernel or stride", s->node.name);
    if (!strcmp(s->auto_pad, "SAME_UPPER") || !strcmp(s->auto_pad, "SAME_LOWER")) {
      o = (in + st - 1) / st;
      int64_t need = (o - 1) * st + k - in;
      if (need < 0) need = 0;
      pb = !strcmp(s->auto_pad, "SAME_LOWER") ? (need + 1) / 2 : need / 2;
      pe = need - pb;
    } else {
      if (strcmp(s->auto_pad, "VALID")) pb = s->n_p ? s->pads[i] : 0, pe = s->n_p ? s->pads[g->S + i] : 0;
      int64_t span = in + pb + pe - k;
      if (span < 0) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': kernel larger than padded input", s->node.name);
      if (s->ceil_mode) {
        o = (span + st - 1) / st + 1;
        if ((o - 1) * st >= in + pb) o--; /* the last window must start inside the input or its head pad */
      } else {
        o = span / st + 1;
      }
    }
    g->out[i] = o, g->pb[i] = pb, g->pe[i] = pe;
    g->out_sp *= (size_t)o;
  }
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_qpool_infer) {
  qpool_state *s = state;
  pool_geom g;
  octet_status st = pool_geom_of(s, in[0], &g, err);
  if (st) return st;
  octet_tensor *o = &out[0];
  o->dtype = s->dt;
  o->rank = in[0]->rank;
  o->dims[0] = (int64_t)g.N;
  size_t c_at = s->channels_last ? (size_t)o->rank - 1 : 1, sp0 = s->channels_last ? 1 : 2;
  o->dims[c_at] = (int64_t)g.C;
  for (size_t i = 0; i < g.S; i++) o->dims[sp0 + i] = s->global ? 1 : g.out[i];
  *workspace = 0;
  return OCTET_OK;
}

static octet_status pool_params(const qpool_state *s, const octet_tensor *const *in, size_t n_in,
                                float *xs, int32_t *zx, float *ys, int32_t *zy, octet_error *err) {
  const octet_tensor *xzp = opt(in, n_in, 2), *yzp = opt(in, n_in, 4);
  octet_status st;
  if ((st = octet_q_check_scale(&s->node, in[1], 0, "x_scale", err)) ||
      (st = octet_q_check_scale(&s->node, in[3], 0, "y_scale", err)) ||
      (st = octet_q_check_zp(&s->node, xzp, 0, s->dt, "x_zero_point", err)) ||
      (st = octet_q_check_zp(&s->node, yzp, 0, s->dt, "y_zero_point", err)))
    return st;
  *xs = octet_q_f32(in[1], 0), *ys = octet_q_f32(in[3], 0);
  *zx = octet_q_zp(xzp, 0), *zy = octet_q_zp(yzp, 0);
  return OCTET_OK;
}

/* Integer sum per channel minus zx * image size, requantized with xs / (ys * image size). */
static void global_pool(const qpool_state *s, const pool_geom *g, const void *x, void *y, float xs,
                        int32_t zx, float ys, int32_t zy) {
  float scale = xs / (ys * (float)g->in_sp);
  int32_t bias = -zx * (int32_t)g->in_sp;
  octet_qrange r = octet_qrange_of(s->dt);
  for (size_t n = 0; n < g->N; n++)
    for (size_t c = 0; c < g->C; c++) {
      int32_t acc = bias;
      for (size_t p = 0; p < g->in_sp; p++) {
        size_t i = s->channels_last ? (n * g->in_sp + p) * g->C + c : (n * g->C + c) * g->in_sp + p;
        acc += octet_q8_load(x, i, s->dt);
      }
      octet_q8_store(y, n * g->C + c, s->dt, octet_requant_value(acc, scale, zy, r));
    }
}

OCTET_K_RUN(octet_k_qpool_run) {
  qpool_state *s = state;
  pool_geom g;
  float xs, ys;
  int32_t zx, zy;
  octet_status st = pool_geom_of(s, in[0], &g, err);
  if (st || (st = pool_params(s, in, n_in, &xs, &zx, &ys, &zy, err))) return st;
  const void *x = in[0]->data;
  void *y = out[0].data;
  bool as_global = s->global;
  if (!as_global) {
    /* ORT takes the integer global path when the window covers the whole unpadded image. */
    as_global = true;
    for (size_t i = 0; i < g.S; i++)
      if (s->k[i] != g.in[i] || g.pb[i] || g.pe[i]) as_global = false;
  }
  if (as_global) {
    global_pool(s, &g, x, y, xs, zx, ys, zy);
    return OCTET_OK;
  }
  octet_qrange r = octet_qrange_of(s->dt);
  int64_t in3[3] = {1, 1, 1}, out3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, p3[3] = {0, 0, 0};
  for (size_t i = 0; i < g.S; i++)
    in3[i] = g.in[i], out3[i] = g.out[i], k3[i] = s->k[i], s3[i] = s->n_s ? s->s[i] : 1, p3[i] = g.pb[i];
  int64_t ksize = k3[0] * k3[1] * k3[2];
  for (size_t n = 0; n < g.N; n++)
    for (size_t c = 0; c < g.C; c++)
      for (int64_t oh = 0; oh < out3[0]; oh++)
        for (int64_t ow = 0; ow < out3[1]; ow++)
          for (int64_t od = 0; od < out3[2]; od++) {
            int64_t o[3] = {oh, ow, od}, lo[3], hi[3];
            for (int i = 0; i < 3; i++) {
              lo[i] = o[i] * s3[i] - p3[i];
              hi[i] = lo[i] + k3[i] < in3[i] ? lo[i] + k3[i] : in3[i];
              lo[i] = lo[i] > 0 ? lo[i] : 0;
            }
            float sum = 0.0f;
            for (int64_t h = lo[0]; h < hi[0]; h++)
              for (int64_t w = lo[1]; w < hi[1]; w++)
                for (int64_t d = lo[2]; d < hi[2]; d++) {
                  size_t p = (size_t)((h * in3[1] + w) * in3[2] + d);
                  size_t i = s->channels_last ? (n * g.in_sp + p) * g.C + c : (n * g.C + c) * g.in_sp + p;
                  sum += xs * (float)(octet_q8_load(x, i, s->dt) - zx);
                }
            int64_t count = s->count_include_pad ? ksize : (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
            sum /= (float)count;
            int32_t q = (int32_t)nearbyintf(sum / ys + (float)zy);
            q = q < r.min ? r.min : q > r.max ? r.max : q;
            size_t op = (size_t)((oh * out3[1] + ow) * out3[2] + od);
            size_t oi = s->channels_last ? (n * g.out_sp + op) * g.C + c : (n * g.C + c) * g.out_sp + op;
            octet_q8_store(y, oi, s->dt, q);
          }
  return OCTET_OK;
}
