/* dynamic.c — dynamic quantization: int8 weights chosen offline (symmetric, per output channel),
 * activations quantized at run time from each tensor's own min/max, so no calibration data.
 *   MatMul/Gemm with a constant 2-D weight -> com.microsoft DynamicQuantizeMatMul (one node: the
 *     runtime quantizes A, multiplies in int32 and rescales; a following Add of a constant [N]
 *     vector becomes its bias). One node per layer keeps per-call overhead low on small matrices.
 *   Conv with a constant weight -> DynamicQuantizeLinear + ConvInteger + Cast + Mul (scales) + Add.
 *   LSTM/GRU/RNN stay float: octet has no int8 recurrent kernel, and ONNX Runtime's
 *     DynamicQuantizeLSTM would not run in octet; the summary says so.
 * Only the main graph is rewritten (weights inside If/Loop bodies stay float). Both forms run in
 * ONNX Runtime's CPU provider and in octet. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quantize/passes.h"

typedef struct dyn {
  octet_edit e;
  const octet_qdq_options *o;
  octet_dynamic_report *r;
} dyn;

static octet_status oom(octet_error *err) { return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory"); }

static int64_t attr_i(const octet_ir_node *n, const char *name, int64_t dflt) {
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  return a && a->type == OCTET_ATTR_INT ? a->i : dflt;
}

static float attr_f(const octet_ir_node *n, const char *name, float dflt) {
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  return a && a->type == OCTET_ATTR_FLOAT ? a->f : dflt;
}

/* Symmetric 255-level quantization of w viewed as [outer, ch, inner] with one scale per ch
 * (times `mul`, e.g. Gemm's alpha). Stored as int8, or uint8 + 128 (the same levels; exact in
 * ONNX Runtime's u8 x u8 kernels). */
static bool quantize_channels(const float *w, size_t outer, size_t ch, size_t inner, bool u8, float mul, uint8_t *q,
                              float *scale) {
  for (size_t c = 0; c < ch; c++) {
    double amax = 0;
    for (size_t o = 0; o < outer; o++)
      for (size_t i = 0; i < inner; i++) amax = fmax(amax, fabs((double)w[(o * ch + c) * inner + i]));
    int32_t z;
    octet_qparams_from_range(-amax, amax, OCTET_DTYPE_INT8, true, &scale[c], &z);
    for (size_t o = 0; o < outer; o++)
      for (size_t i = 0; i < inner; i++) {
        size_t k = (o * ch + c) * inner + i;
        q[k] = (uint8_t)(octet_quantize_value(w[k], scale[c], 0, OCTET_DTYPE_INT8) + (u8 ? 128 : 0));
      }
    scale[c] *= mul;
    if (!isfinite(scale[c]) || !(scale[c] > 0)) return false;
  }
  return true;
}

static const char *add_init(dyn *d, const char *base, const char *suffix, int32_t dtype, int32_t rank, const int64_t *dims,
                            const void *data) {
  const char *name = octet_edit_name(&d->e, base, suffix);
  return name && octet_edit_set_initializer(&d->e, name, dtype, rank, dims, data) ? name : NULL;
}

/* The single consumer of `name` when it is Add(name, constant float vector of n) (either order);
 * its index and the vector, else SIZE_MAX. */
static size_t bias_add(dyn *d, const char *name, size_t n, const octet_ir_tensor **bias) {
  if (octet_edit_consumers(&d->e, name) != 1 || octet_edit_is_graph_output(&d->e, name)) return SIZE_MAX;
  for (size_t i = 0; i < d->e.g->n_nodes; i++) {
    const octet_ir_node *a = &d->e.g->nodes[i];
    if (octet_edit_is_dead(&d->e, i) || a->n_inputs != 2) continue;
    int k = !strcmp(a->inputs[0], name) ? 1 : !strcmp(a->inputs[1], name) ? 0 : -1;
    if (k < 0) continue;
    if (strcmp(a->op_type, "Add") || a->domain[0]) return SIZE_MAX;
    const octet_ir_tensor *b = octet_edit_constant(&d->e, a->inputs[k]);
    size_t numel;
    if (!b || b->dtype != OCTET_DTYPE_FLOAT || b->rank != 1 || !octet_shape_numel(b->dims, b->rank, &numel) || numel != n)
      return SIZE_MAX;
    *bias = b;
    return i;
  }
  return SIZE_MAX;
}

/* MatMul(A, B const [K, N]) or Gemm(A, B const, C const vector) -> DynamicQuantizeMatMul. */
static octet_status rewrite_matmul(dyn *d, size_t idx, octet_error *err) {
  octet_ir_node *n = &d->e.g->nodes[idx];
  bool gemm = !strcmp(n->op_type, "Gemm");
  const octet_ir_tensor *w = n->n_inputs > 1 ? octet_edit_constant(&d->e, n->inputs[1]) : NULL;
  if (!w || w->dtype != OCTET_DTYPE_FLOAT || w->rank != 2 || w->dims[0] < 1 || w->dims[1] < 1) return OCTET_OK;
  if (gemm && attr_i(n, "transA", 0)) return OCTET_OK;
  bool trans = gemm && attr_i(n, "transB", 0);
  size_t K = (size_t)w->dims[trans ? 1 : 0], N = (size_t)w->dims[trans ? 0 : 1], KN;
  if (!octet_mul_size(K, N, &KN)) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': weight too large", n->name);
  float alpha = gemm ? attr_f(n, "alpha", 1.0f) : 1.0f, beta = gemm ? attr_f(n, "beta", 1.0f) : 1.0f;
  const octet_ir_tensor *c = NULL;
  if (gemm && n->n_inputs > 2 && n->inputs[2][0]) {
    c = octet_edit_constant(&d->e, n->inputs[2]);
    size_t numel;
    if (!c || c->dtype != OCTET_DTYPE_FLOAT || !octet_shape_numel(c->dims, c->rank, &numel) || numel != N ||
        (c->rank == 2 && c->dims[0] != 1) || c->rank > 2)
      return OCTET_OK; /* a full [M, N] C is not a bias */
  }
  bool u8 = !d->o->signed_weights;
  float *wt = octet_arena_alloc(d->e.m->arena, KN * sizeof *wt), *sc = octet_arena_alloc(d->e.m->arena, N * sizeof *sc);
  uint8_t *q = octet_arena_alloc(d->e.m->arena, KN), *zp = octet_arena_alloc(d->e.m->arena, N);
  if (!wt || !sc || !q || !zp) return oom(err);
  const float *wd = w->data;
  for (size_t k = 0; k < K; k++) /* [K, N] layout */
    for (size_t j = 0; j < N; j++) wt[k * N + j] = trans ? wd[j * K + k] : wd[k * N + j];
  if (d->o->per_tensor_weights) {
    double amax = 0;
    for (size_t i = 0; i < KN; i++) amax = fmax(amax, fabs((double)wt[i]));
    float s;
    int32_t z;
    octet_qparams_from_range(-amax, amax, OCTET_DTYPE_INT8, true, &s, &z);
    for (size_t i = 0; i < KN; i++) q[i] = (uint8_t)(octet_quantize_value(wt[i], s, 0, OCTET_DTYPE_INT8) + (u8 ? 128 : 0));
    for (size_t j = 0; j < N; j++) sc[j] = s * alpha;
  } else if (!quantize_channels(wt, K, N, 1, u8, alpha, q, sc)) {
    return OCTET_OK; /* scales not representable: keep float */
  }
  for (size_t j = 0; j < N; j++) zp[j] = u8 ? 128 : 0;
  /* Bias: Gemm's beta * C, or the constant vector a lone Add puts on the MatMul's output. */
  const float *bias = NULL;
  const char *out = n->outputs[0];
  size_t add = SIZE_MAX;
  const octet_ir_tensor *bt = NULL;
  if (c) {
    float *bb = octet_arena_alloc(d->e.m->arena, N * sizeof *bb);
    if (!bb) return oom(err);
    for (size_t j = 0; j < N; j++) bb[j] = beta * ((const float *)c->data)[j];
    bias = bb;
  } else if (!gemm && (add = bias_add(d, out, N, &bt)) != SIZE_MAX) {
    bias = bt->data;
    out = d->e.g->nodes[add].outputs[0];
  }
  int64_t dims[2] = {(int64_t)K, (int64_t)N}, nd = (int64_t)N;
  int32_t wdt = u8 ? OCTET_DTYPE_UINT8 : OCTET_DTYPE_INT8;
  const char *base = n->inputs[1];
  const char *qn = add_init(d, base, "q", wdt, 2, dims, q), *sn = qn ? add_init(d, base, "s", OCTET_DTYPE_FLOAT, 1, &nd, sc) : NULL;
  const char *zn = sn ? add_init(d, base, "zp", wdt, 1, &nd, zp) : NULL;
  const char *bn = zn && bias ? add_init(d, base, "bias", OCTET_DTYPE_FLOAT, 1, &nd, bias) : NULL;
  if (!zn || (bias && !bn)) return oom(err);
  n = &d->e.g->nodes[idx];
  const char *in[5] = {n->inputs[0], qn, sn, zn, bn};
  const char *name = octet_edit_name(&d->e, n->name && *n->name ? n->name : "MatMul", "dyn");
  if (!name) return oom(err);
  size_t nn = octet_edit_add_node(&d->e, "DynamicQuantizeMatMul", "com.microsoft", name, bias ? 5 : 4, in, 1, &out);
  if (nn == SIZE_MAX) return oom(err);
  octet_edit_kill(&d->e, idx);
  if (add != SIZE_MAX) {
    octet_edit_kill(&d->e, add);
    d->r->fused_bias++;
  }
  if (gemm) d->r->gemms++;
  else d->r->matmuls++;
  return OCTET_OK;
}

/* Conv(X, W const [, B const]) -> DynamicQuantizeLinear(X) -> ConvInteger -> Cast -> Mul(Xs * Ws) [-> Add(B)]. */
static octet_status rewrite_conv(dyn *d, size_t idx, octet_error *err) {
  octet_ir_node *n = &d->e.g->nodes[idx];
  const octet_ir_tensor *w = n->n_inputs > 1 ? octet_edit_constant(&d->e, n->inputs[1]) : NULL;
  const octet_ir_tensor *b = n->n_inputs > 2 && n->inputs[2][0] ? octet_edit_constant(&d->e, n->inputs[2]) : NULL;
  if (!w || w->dtype != OCTET_DTYPE_FLOAT || w->rank < 3 || w->dims[0] < 1) return OCTET_OK;
  if (n->n_inputs > 2 && n->inputs[2][0] && (!b || b->dtype != OCTET_DTYPE_FLOAT || b->rank != 1 || b->dims[0] != w->dims[0]))
    return OCTET_OK;
  size_t numel;
  if (!octet_shape_numel(w->dims, w->rank, &numel)) return OCTET_OK;
  size_t co = (size_t)w->dims[0], inner = numel / co;
  /* ConvInteger takes one weight zero point in ONNX Runtime: uint8 with 128 everywhere (or int8
   * with 0) keeps it scalar while the scales stay per channel (applied after, by Mul). */
  bool u8 = !d->o->signed_weights;
  uint8_t *q = octet_arena_alloc(d->e.m->arena, numel ? numel : 1);
  float *sc = octet_arena_alloc(d->e.m->arena, co * sizeof *sc);
  if (!q || !sc) return oom(err);
  if (d->o->per_tensor_weights ? !quantize_channels(w->data, 1, 1, numel, u8, 1.0f, q, sc)
                               : !quantize_channels(w->data, 1, co, inner, u8, 1.0f, q, sc))
    return OCTET_OK;
  if (d->o->per_tensor_weights)
    for (size_t c = 1; c < co; c++) sc[c] = sc[0];
  int32_t rank = w->rank; /* scales and bias as [Co, 1, ..., 1]: they broadcast over [N, Co, spatial] */
  int64_t sdims[8] = {(int64_t)co, 1, 1, 1, 1, 1, 1, 1};
  if (rank - 1 > 8) return OCTET_OK;
  uint8_t z = u8 ? 128 : 0;
  int32_t wdt = u8 ? OCTET_DTYPE_UINT8 : OCTET_DTYPE_INT8;
  const char *base = n->inputs[1];
  const char *qn = add_init(d, base, "q", wdt, w->rank, w->dims, q);
  const char *zn = qn ? add_init(d, base, "zp", wdt, 0, NULL, &z) : NULL;
  const char *sn = zn ? add_init(d, base, "s", OCTET_DTYPE_FLOAT, rank - 1, sdims, sc) : NULL;
  const char *bn = sn && b ? add_init(d, n->inputs[2], "b", OCTET_DTYPE_FLOAT, rank - 1, sdims, b->data) : NULL;
  if (!sn || (b && !bn)) return oom(err);
  n = &d->e.g->nodes[idx];
  const char *x = n->inputs[0], *y = n->outputs[0];
  const char *pre = n->name && *n->name ? n->name : "Conv";
  const char *xq = octet_edit_name(&d->e, x, "dq8"), *xs = octet_edit_name(&d->e, x, "dscale"),
             *xz = octet_edit_name(&d->e, x, "dzp"), *yi = octet_edit_name(&d->e, y, "i32"),
             *yf = octet_edit_name(&d->e, y, "f32"), *ss = octet_edit_name(&d->e, y, "scale"),
             *ym = b ? octet_edit_name(&d->e, y, "scaled") : y;
  const char *dn = octet_edit_name(&d->e, pre, "dql"), *cn = octet_edit_name(&d->e, pre, "int"),
             *kn = octet_edit_name(&d->e, pre, "cast"), *m1 = octet_edit_name(&d->e, pre, "scale"),
             *m2 = octet_edit_name(&d->e, pre, "rescale"), *an = octet_edit_name(&d->e, pre, "bias");
  if (!xq || !xs || !xz || !yi || !yf || !ss || !ym || !dn || !cn || !kn || !m1 || !m2 || !an) return oom(err);
  /* One DynamicQuantizeLinear per activation, shared by every Conv reading it. */
  const char *dql_out[3] = {xq, xs, xz};
  bool have = false;
  for (size_t i = 0; i < d->e.g->n_nodes && !have; i++) {
    const octet_ir_node *p = &d->e.g->nodes[i];
    if (!octet_edit_is_dead(&d->e, i) && !strcmp(p->op_type, "DynamicQuantizeLinear") && !strcmp(p->inputs[0], x)) {
      dql_out[0] = p->outputs[0], dql_out[1] = p->outputs[1], dql_out[2] = p->outputs[2];
      have = true;
    }
  }
  if (!have && octet_edit_add_node(&d->e, "DynamicQuantizeLinear", "", dn, 1, &x, 3, dql_out) == SIZE_MAX) return oom(err);
  const char *cin[4] = {dql_out[0], qn, dql_out[2], zn};
  size_t ci = octet_edit_add_node(&d->e, "ConvInteger", "", cn, 4, cin, 1, &yi);
  if (ci == SIZE_MAX) return oom(err);
  /* ConvInteger has Conv's attributes: share them. */
  n = &d->e.g->nodes[idx];
  d->e.g->nodes[ci].attrs = n->attrs;
  d->e.g->nodes[ci].n_attrs = n->n_attrs;
  size_t ki = octet_edit_add_node(&d->e, "Cast", "", kn, 1, &yi, 1, &yf);
  if (ki == SIZE_MAX || !octet_edit_attr_int(&d->e, ki, "to", OCTET_DTYPE_FLOAT)) return oom(err);
  const char *s_in[2] = {dql_out[1], sn}, *r_in[2] = {yf, ss}, *b_in[2] = {ym, bn};
  if (octet_edit_add_node(&d->e, "Mul", "", m1, 2, s_in, 1, &ss) == SIZE_MAX ||
      octet_edit_add_node(&d->e, "Mul", "", m2, 2, r_in, 1, &ym) == SIZE_MAX ||
      (b && octet_edit_add_node(&d->e, "Add", "", an, 2, b_in, 1, &y) == SIZE_MAX))
    return oom(err);
  octet_edit_kill(&d->e, idx);
  d->r->convs++;
  return OCTET_OK;
}

static void note(octet_dynamic_report *r, const char *op) { /* recurrent op types left float */
  if (strstr(r->kept_float, op)) return;
  size_t len = strlen(r->kept_float);
  snprintf(r->kept_float + len, sizeof r->kept_float - len, "%s%s", len ? " " : "", op);
}

static octet_status add_opset(octet_model *m, const char *domain, int64_t version, octet_error *err) {
  if (octet_ir_opset_version(m, domain)) return OCTET_OK;
  octet_ir_opset *v = octet_arena_alloc(m->arena, (m->n_opsets + 1) * sizeof *v);
  if (!v) return oom(err);
  if (m->n_opsets) memcpy(v, m->opsets, m->n_opsets * sizeof *v);
  v[m->n_opsets].domain = domain;
  v[m->n_opsets].version = version;
  m->opsets = v;
  m->n_opsets++;
  return OCTET_OK;
}

static bool has_subgraph_op(const octet_ir_graph *g, const char *op) {
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    if (!strcmp(n->op_type, op)) return true;
    for (size_t a = 0; a < n->n_attrs; a++) {
      if (n->attrs[a].g && has_subgraph_op(n->attrs[a].g, op)) return true;
      for (size_t k = 0; k < n->attrs[a].n && n->attrs[a].graphs; k++)
        if (has_subgraph_op(n->attrs[a].graphs[k], op)) return true;
    }
  }
  return false;
}

octet_status octet_quantize_dynamic(octet_model *m, const octet_qdq_options *o, octet_dynamic_report *r,
                                    octet_error *err) {
  memset(r, 0, sizeof *r);
  if (octet_ir_opset_version(m, "") < 11)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "dynamic quantization needs opset 11 (DynamicQuantizeLinear); the model has %lld",
                      (long long)octet_ir_opset_version(m, ""));
  dyn d = {.o = o, .r = r};
  octet_status st = octet_edit_begin(&d.e, m, m->graph, err);
  size_t n0 = m->graph->n_nodes;
  for (size_t i = 0; !st && i < n0; i++) {
    const octet_ir_node *n = &m->graph->nodes[i];
    if (octet_edit_is_dead(&d.e, i) || n->domain[0]) continue;
    bool excluded = octet_name_in_list(o->exclude_nodes, n->name) || octet_name_in_list(o->exclude_ops, n->op_type);
    size_t before = r->matmuls + r->gemms + r->convs;
    if (excluded) {
      r->excluded++;
      continue;
    }
    if (!strcmp(n->op_type, "MatMul") || !strcmp(n->op_type, "Gemm")) st = rewrite_matmul(&d, i, err);
    else if (!strcmp(n->op_type, "Conv")) st = rewrite_conv(&d, i, err);
    else if (!strcmp(n->op_type, "LSTM") || !strcmp(n->op_type, "GRU") || !strcmp(n->op_type, "RNN")) note(r, n->op_type);
    else continue;
    if (!st && r->matmuls + r->gemms + r->convs == before && !strcmp(m->graph->nodes[i].op_type, n->op_type) &&
        strcmp(n->op_type, "LSTM") && strcmp(n->op_type, "GRU") && strcmp(n->op_type, "RNN"))
      r->no_weight++; /* activation x activation (attention), or shapes we do not handle */
  }
  for (const char *const *op = (const char *const[]){"LSTM", "GRU", "RNN", NULL}; *op; op++)
    if (has_subgraph_op(m->graph, *op)) note(r, *op);
  if (!st && r->matmuls + r->gemms) st = add_opset(m, "com.microsoft", 1, err);
  if (!st) st = octet_edit_finish(&d.e, err);
  if (!st) st = octet_ir_validate(m, err);
  octet_edit_end(&d.e);
  return st;
}

const char *octet_quantize_auto_mode(const octet_model *m, char *reason, size_t reason_size) {
  size_t conv = 0, matmul = 0, rnn = 0;
  const octet_ir_graph *g = m->graph;
  for (size_t i = 0; i < g->n_nodes; i++) {
    const char *op = g->nodes[i].op_type;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose")) conv++;
    else if (!strcmp(op, "MatMul") || !strcmp(op, "Gemm")) matmul++;
  }
  rnn = has_subgraph_op(g, "LSTM") + has_subgraph_op(g, "GRU") + has_subgraph_op(g, "RNN");
  /* The guideline: recurrent and transformer-like (matmul-heavy) graphs quantize their
   * activations at run time; convolutional ones calibrate static ranges. */
  const char *mode = rnn || matmul > conv ? "dynamic" : "static";
  if (reason && reason_size)
    snprintf(reason, reason_size, "%s (%zu Conv, %zu MatMul/Gemm%s)", mode, conv, matmul, rnn ? ", recurrent layers" : "");
  return mode;
}
