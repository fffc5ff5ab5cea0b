/* qop.c — QDQ -> QOperator lowering: finds DequantizeLinear -> op -> QuantizeLinear groups and
 * replaces each by one int8 node (ONNX Runtime's QOperator ops and input orders), so a QDQ
 * model runs on int8 kernels; also the `--format qop` writer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quantize/graph-edit.h"
#include "quantize/ir-clone.h"
#include "calibration/quant-rules.h"
#include "quantize/qop.h"

/* Quantization parameters as a Q or DQ node states them. Only constant scales and zero points
 * are accepted: matching needs their values (equal scales, redundant Clip bounds). */
typedef struct qparam {
  bool ok;
  const char *x;     /* the quantized tensor (DQ input / Q output) */
  const char *scale; /* name */
  const char *zp;    /* name, "" when the node has none (zero of dtype) */
  const float *s;    /* n scales */
  const octet_ir_tensor *z; /* NULL when absent */
  size_t n;
  int32_t dtype;     /* int8 / uint8 (int32 for biases) */
  int64_t axis;      /* normalized when the rank is known; only meaningful when n > 1 */
} qparam;

typedef struct lower {
  octet_edit e;
  octet_qop_report *r;
  size_t n_orig;    /* nodes present before the pass; only those are matched */
  qparam *qp;       /* per original node: its Q/DQ parameters (ok = false for other nodes) */
  int64_t opset;
  bool used_ms;     /* a com.microsoft node was emitted */
  octet_zp_cache zps;   /* zero points the pass adds, shared by value */
} lower;

static octet_ir_node *node_at(lower *L, size_t i) { return &L->e.g->nodes[i]; }

static bool is_op(const octet_ir_node *n, const char *op) { return !n->domain[0] && !strcmp(n->op_type, op); }

static bool is_q8(int32_t dt) { return dt == OCTET_DTYPE_UINT8 || dt == OCTET_DTYPE_INT8; }

static int32_t zp_value(const qparam *p, size_t i) {
  if (!p->z) return 0;
  size_t k = p->z->dims && p->n > 1 ? i : 0;
  switch (p->z->dtype) {
  case OCTET_DTYPE_UINT8: return ((const uint8_t *)p->z->data)[k];
  case OCTET_DTYPE_INT8: return ((const int8_t *)p->z->data)[k];
  case OCTET_DTYPE_INT32: return ((const int32_t *)p->z->data)[k];
  default: return 0;
  }
}

/* Element type of a name from what the graph declares (initializer, input, value_info). */
static int32_t declared_dtype(lower *L, const char *name) {
  const octet_ir_graph *g = L->e.g;
  const octet_ir_tensor *t = octet_ir_graph_initializer(g, name);
  if (t) return t->dtype;
  for (size_t i = 0; i < g->n_inputs; i++)
    if (!strcmp(g->inputs[i].name, name)) return g->inputs[i].elem_type;
  for (size_t i = 0; i < g->n_value_infos; i++)
    if (!strcmp(g->value_infos[i].name, name)) return g->value_infos[i].elem_type;
  for (size_t i = 0; i < g->n_outputs; i++)
    if (!strcmp(g->outputs[i].name, name)) return g->outputs[i].elem_type;
  return 0;
}

/* Reads a Q or DQ node's parameters; leaves p->ok false for anything unusual (block
 * quantization, output_dtype, non-constant or non-finite scales, mismatched sizes). */
static void read_qparam(lower *L, size_t i, bool is_q) {
  const octet_ir_node *n = node_at(L, i);
  qparam *p = &L->qp[i];
  memset(p, 0, sizeof *p);
  if (n->n_inputs < 2 || n->n_outputs != 1) return;
  p->axis = 1;
  for (size_t a = 0; a < n->n_attrs; a++) {
    const octet_ir_attr *at = &n->attrs[a];
    if (!strcmp(at->name, "axis") && at->type == OCTET_ATTR_INT) p->axis = at->i;
    else if (!strcmp(at->name, "block_size") && at->type == OCTET_ATTR_INT && at->i == 0) continue;
    else if (!strcmp(at->name, "saturate")) continue; /* float8 only */
    else return;
  }
  const octet_ir_tensor *s = octet_edit_constant(&L->e, n->inputs[1]);
  if (!s || s->dtype != OCTET_DTYPE_FLOAT || s->rank > 1 || !s->data) return;
  size_t ns = s->nbytes / sizeof(float);
  if (ns == 0) return;
  p->s = s->data;
  for (size_t k = 0; k < ns; k++)
    if (!(isfinite(p->s[k]) && p->s[k] > 0)) return;
  p->n = ns;
  p->scale = n->inputs[1];
  p->zp = n->n_inputs > 2 ? n->inputs[2] : "";
  if (p->zp[0]) {
    p->z = octet_edit_constant(&L->e, p->zp);
    if (!p->z || !p->z->data || p->z->rank > 1 || p->z->nbytes != ns * octet_dtype_size(p->z->dtype)) return;
    p->dtype = p->z->dtype;
  }
  p->x = is_q ? n->outputs[0] : n->inputs[0];
  if (is_q) {
    if (!p->z) p->dtype = OCTET_DTYPE_UINT8;
  } else {
    int32_t xd = declared_dtype(L, p->x);
    size_t src = octet_edit_producer(&L->e, p->x);
    if (!xd && src < L->n_orig && is_op(node_at(L, src), "QuantizeLinear") && L->qp[src].ok) xd = L->qp[src].dtype;
    if (!p->z) p->dtype = xd;
    else if (xd && xd != p->dtype) return;
  }
  if (!is_q8(p->dtype) && !(p->dtype == OCTET_DTYPE_INT32 && !is_q)) return;
  if (p->n > 1) {
    const octet_ir_tensor *xt = octet_edit_constant(&L->e, p->x);
    if (xt) {
      if (p->axis < 0) p->axis += xt->rank;
      if (p->axis < 0 || p->axis >= xt->rank || (size_t)xt->dims[p->axis] != p->n) return;
    }
  }
  p->ok = true;
}

/* Index of the one node reading name, or SIZE_MAX (none, several, graph output, subgraph). */
/* The DequantizeLinear producing name (an original node with usable parameters), or NULL. */
static const qparam *dq_of(lower *L, const char *name) {
  if (!name || !name[0]) return NULL;
  size_t i = octet_edit_producer(&L->e, name);
  if (i >= L->n_orig || !is_op(node_at(L, i), "DequantizeLinear") || !L->qp[i].ok) return NULL;
  return &L->qp[i];
}

/* A per-tensor int8/uint8 activation DQ. */
static const qparam *act_dq(lower *L, const char *name) {
  const qparam *p = dq_of(L, name);
  return p && p->n == 1 && is_q8(p->dtype) ? p : NULL;
}

static bool same_qparam(const qparam *a, const qparam *b) {
  return a->n == 1 && b->n == 1 && a->dtype == b->dtype && a->s[0] == b->s[0] && zp_value(a, 0) == zp_value(b, 0);
}

/* QuantizeLinear as ONNX Runtime computes it: x / scale, clamped, rounded half to even. */
static int32_t quantize_ort(float x, float scale, int32_t zp, int32_t dtype) {
  float lo = dtype == OCTET_DTYPE_INT8 ? -128.0f : 0.0f, hi = dtype == OCTET_DTYPE_INT8 ? 127.0f : 255.0f;
  float t = x / scale;
  t = fminf(fmaxf(t, lo - (float)zp), hi - (float)zp);
  return (int32_t)nearbyintf(t) + zp;
}

/* Whether Clip(lo, hi) (Relu: lo 0, hi +inf) before a Q with parameters q changes nothing:
 * values below lo already land on qmin and values above hi on qmax. */
static bool clip_redundant(float lo, float hi, const qparam *q) {
  int32_t qmin = q->dtype == OCTET_DTYPE_INT8 ? -128 : 0, qmax = q->dtype == OCTET_DTYPE_INT8 ? 127 : 255;
  if (isnan(lo) || isnan(hi)) return false;
  return quantize_ort(lo, q->s[0], zp_value(q, 0), q->dtype) == qmin &&
         quantize_ort(hi, q->s[0], zp_value(q, 0), q->dtype) == qmax;
}

static bool clip_bounds(lower *L, const octet_ir_node *n, float *lo, float *hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  if (is_op(n, "Relu")) {
    *lo = 0.0f;
    return true;
  }
  if (!is_op(n, "Clip")) return false;
  for (size_t a = 0; a < n->n_attrs; a++) { /* opset < 11 */
    if (!strcmp(n->attrs[a].name, "min")) *lo = n->attrs[a].f;
    if (!strcmp(n->attrs[a].name, "max")) *hi = n->attrs[a].f;
  }
  for (size_t k = 1; k < 3 && k < n->n_inputs; k++) {
    if (!n->inputs[k][0]) continue;
    const octet_ir_tensor *t = octet_edit_constant(&L->e, n->inputs[k]);
    if (!t || t->dtype != OCTET_DTYPE_FLOAT || t->nbytes != sizeof(float) || !t->data) return false;
    *(k == 1 ? lo : hi) = *(const float *)t->data;
  }
  return true;
}

/* The per-tensor Q reading node `op`'s first output, directly or through one redundant
 * Relu/Clip (returned in *act, else SIZE_MAX). SIZE_MAX when there is none. */
static size_t q_after(lower *L, size_t op, size_t *act) {
  *act = SIZE_MAX;
  const octet_ir_node *n = node_at(L, op);
  if (n->n_outputs < 1) return SIZE_MAX;
  for (size_t k = 1; k < n->n_outputs; k++)
    if (n->outputs[k][0] && (octet_edit_consumers(&L->e, n->outputs[k]) || octet_edit_is_graph_output(&L->e, n->outputs[k])))
      return SIZE_MAX;
  size_t c = octet_edit_sole_reader(&L->e, n->outputs[0]);
  if (c >= L->n_orig) return SIZE_MAX;
  const octet_ir_node *cn = node_at(L, c);
  if (is_op(cn, "QuantizeLinear")) return L->qp[c].ok && L->qp[c].n == 1 && is_q8(L->qp[c].dtype) ? c : SIZE_MAX;
  float lo, hi;
  if (!clip_bounds(L, cn, &lo, &hi) || cn->n_outputs != 1) return SIZE_MAX;
  size_t q = octet_edit_sole_reader(&L->e, cn->outputs[0]);
  if (q >= L->n_orig || !is_op(node_at(L, q), "QuantizeLinear")) return SIZE_MAX;
  const qparam *qp = &L->qp[q];
  if (!qp->ok || qp->n != 1 || !is_q8(qp->dtype) || !clip_redundant(lo, hi, qp)) return SIZE_MAX;
  *act = c;
  return q;
}

/* Name of the zero point input for p: its own, or a shared zero of its type; per-channel
 * parameters without one (DequantizeLinear's default) get zeros of their length, as QGemm and
 * QLinearMatMul want scale and zero point of one shape. */
static const char *zp_name(lower *L, const qparam *p, octet_error *err) {
  if (p->zp[0]) return p->zp;
  const char *name = octet_edit_zero_point(&L->e, &L->zps, p->dtype, 0, p->n > 1 ? (int64_t)p->n : -1);
  if (!name) octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  return name;
}

static bool keep_attr(const char *op, const char *attr) {
  if (!strcmp(op, "QGemm")) return !strcmp(attr, "alpha") || !strcmp(attr, "transA") || !strcmp(attr, "transB");
  if (!strcmp(op, "QLinearAveragePool")) return strcmp(attr, "dilations") != 0;
  if (!strcmp(op, "QLinearConcat") || !strcmp(op, "QLinearSoftmax")) return !strcmp(attr, "axis");
  if (!strcmp(op, "QLinearConv")) return true;
  if (!strncmp(op, "QLinear", 7) || !strcmp(op, "MatMulIntegerToFloat")) return false;
  return true; /* the same op on int8 data (MaxPool, Reshape, ...) */
}

/* Appends the replacement of node `like`, copying the attributes the new op accepts, and kills
 * `like`, the folded activation and the Q. */
static octet_status emit(lower *L, size_t like, size_t act, size_t q, const char *op, const char *domain, size_t n_in,
                         const char *const *in, const char *out, octet_error *err) {
  const char *name = octet_edit_name(&L->e, node_at(L, like)->name[0] ? node_at(L, like)->name : op, "quant");
  if (!name) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  size_t idx = octet_edit_add_node(&L->e, op, domain, name, n_in, in, 1, &out);
  if (idx == SIZE_MAX) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  const octet_ir_node *src = node_at(L, like); /* re-read: adding may move the node array */
  octet_ir_node *dst = node_at(L, idx);
  if (src->n_attrs) {
    octet_ir_attr *a = octet_arena_alloc(L->e.m->arena, src->n_attrs * sizeof *a);
    if (!a) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < src->n_attrs; j++)
      if (keep_attr(op, src->attrs[j].name)) a[k++] = src->attrs[j];
    dst->attrs = a;
    dst->n_attrs = k;
  }
  octet_edit_kill(&L->e, like);
  if (act != SIZE_MAX) {
    octet_edit_kill(&L->e, act);
    if (L->r) L->r->folded++;
  }
  if (q != SIZE_MAX) octet_edit_kill(&L->e, q);
  if (domain[0]) L->used_ms = true;
  return OCTET_OK;
}

/* An int32 bias behind a DQ whose scale is input_scale x weight_scale (x alpha): what the
 * QOperator ops assume. A relative slack of 2^-20 accepts products rounded in another order. */
static const char *int32_bias(lower *L, const char *name, const qparam *a, const qparam *w, float alpha, size_t M) {
  const qparam *b = dq_of(L, name);
  if (!b || b->dtype != OCTET_DTYPE_INT32) return NULL;
  const octet_ir_tensor *t = octet_edit_constant(&L->e, b->x);
  if (!t || t->dtype != OCTET_DTYPE_INT32 || t->rank != 1 || (size_t)t->dims[0] != M) return NULL;
  if (b->n != 1 && b->n != M) return NULL;
  for (size_t i = 0; i < b->n; i++)
    if (zp_value(b, i) != 0) return NULL;
  for (size_t i = 0; i < M; i++) {
    float want = alpha * (a->s[0] * w->s[w->n == 1 ? 0 : i]);
    float have = b->s[b->n == 1 ? 0 : i];
    if (fabsf(have - want) > ldexpf(want, -20)) return NULL;
  }
  return b->x;
}

/* Constant int8/uint8 weights behind a DQ, per tensor or per channel along `axis`. */
static const qparam *weight_dq(lower *L, const char *name, int32_t rank_min, int64_t axis, const octet_ir_tensor **wt) {
  const qparam *p = dq_of(L, name);
  if (!p || !is_q8(p->dtype)) return NULL;
  const octet_ir_tensor *t = octet_edit_constant(&L->e, p->x);
  if (!t || t->rank < rank_min) return NULL;
  if (p->n > 1) {
    if (axis < 0) axis += t->rank;
    if (p->axis != axis || (size_t)t->dims[axis] != p->n) return NULL;
  }
  *wt = t;
  return p;
}

static float attr_f(const octet_ir_node *n, const char *name, float d) {
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  return a && a->type == OCTET_ATTR_FLOAT ? a->f : d;
}

static int64_t attr_i(const octet_ir_node *n, const char *name, int64_t d) {
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  return a && a->type == OCTET_ATTR_INT ? a->i : d;
}

#define ZP(p)                                         \
  const char *p##_zp = zp_name(L, p, err);            \
  if (!p##_zp) return err->status

/* QLinearConv's weight zero point may be a scalar even when the scales are per channel, and the
 * per-channel ones are all equal here: one shared scalar instead of a vector per Conv (on small
 * models those vectors are a percent of the file). */
static const char *conv_weight_zp(lower *L, const qparam *w, octet_error *err) {
  if (w->n == 1) return zp_name(L, w, err);
  const char *name = octet_edit_zero_point(&L->e, &L->zps, w->dtype, zp_value(w, 0), -1);
  if (!name) octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  return name;
}

static octet_status lower_conv(lower *L, size_t i, bool *done, octet_error *err) {
  const octet_ir_node *n = node_at(L, i);
  if (n->n_inputs < 2) return OCTET_OK;
  const qparam *x = act_dq(L, n->inputs[0]);
  const octet_ir_tensor *wt;
  const qparam *w = weight_dq(L, n->inputs[1], 3, 0, &wt);
  if (!x || !w) return OCTET_OK;
  for (size_t k = 1; k < w->n; k++) /* ONNX Runtime's QLinearConv takes one weight zero point */
    if (zp_value(w, k) != zp_value(w, 0)) return OCTET_OK;
  const char *bias = NULL;
  if (n->n_inputs > 2 && n->inputs[2][0] && !(bias = int32_bias(L, n->inputs[2], x, w, 1.0f, (size_t)wt->dims[0])))
    return OCTET_OK;
  size_t act, qi = q_after(L, i, &act);
  if (qi == SIZE_MAX) return OCTET_OK;
  const qparam *y = &L->qp[qi];
  if (y->dtype != x->dtype) return OCTET_OK;
  ZP(x);
  ZP(y);
  const char *w_zp = conv_weight_zp(L, w, err);
  if (!w_zp) return err->status;
  const char *in[9] = {x->x, x->scale, x_zp, w->x, w->scale, w_zp, y->scale, y_zp, bias};
  *done = true;
  return emit(L, i, act, qi, "QLinearConv", "", bias ? 9 : 8, in, y->x, err);
}

/* MatMul -> QLinearMatMul (quantized output) or MatMulIntegerToFloat (float output). */
static octet_status lower_matmul(lower *L, size_t i, bool *done, octet_error *err) {
  const octet_ir_node *n = node_at(L, i);
  if (n->n_inputs != 2) return OCTET_OK;
  const qparam *a = act_dq(L, n->inputs[0]);
  const qparam *b = dq_of(L, n->inputs[1]);
  if (!a || !b || !is_q8(b->dtype)) return OCTET_OK;
  if (b->n > 1) { /* per column of a constant [K, N] */
    const octet_ir_tensor *bt;
    if (!weight_dq(L, n->inputs[1], 2, 1, &bt) || bt->rank != 2) return OCTET_OK;
  }
  size_t act, qi = q_after(L, i, &act);
  ZP(a);
  ZP(b);
  if (qi != SIZE_MAX && L->qp[qi].dtype == a->dtype) {
    const qparam *y = &L->qp[qi];
    ZP(y);
    const char *in[8] = {a->x, a->scale, a_zp, b->x, b->scale, b_zp, y->scale, y_zp};
    *done = true;
    return emit(L, i, act, qi, "QLinearMatMul", "", 8, in, y->x, err);
  }
  const char *in[6] = {a->x, b->x, a->scale, b->scale, a_zp, b_zp};
  *done = true;
  return emit(L, i, SIZE_MAX, SIZE_MAX, "MatMulIntegerToFloat", "com.microsoft", 6, in, n->outputs[0], err);
}

/* Gemm -> QGemm, quantized output when a Q follows, float output otherwise. */
static octet_status lower_gemm(lower *L, size_t i, bool *done, octet_error *err) {
  const octet_ir_node *n = node_at(L, i);
  if (n->n_inputs < 2) return OCTET_OK;
  int64_t trans_b = attr_i(n, "transB", 0);
  float alpha = attr_f(n, "alpha", 1.0f), beta = attr_f(n, "beta", 1.0f);
  const qparam *a = act_dq(L, n->inputs[0]);
  const qparam *b = dq_of(L, n->inputs[1]);
  if (!a || !b || !is_q8(b->dtype)) return OCTET_OK;
  size_t N = 0;
  const octet_ir_tensor *bt = octet_edit_constant(&L->e, b->x);
  if (bt && bt->rank == 2) N = (size_t)bt->dims[trans_b ? 0 : 1];
  if (b->n > 1 && (!weight_dq(L, n->inputs[1], 2, trans_b ? 0 : 1, &bt) || bt->rank != 2)) return OCTET_OK;
  const char *bias = NULL;
  if (n->n_inputs > 2 && n->inputs[2][0]) {
    if (beta != 1.0f || !N || !(bias = int32_bias(L, n->inputs[2], a, b, alpha, N))) return OCTET_OK;
  }
  size_t act, qi = q_after(L, i, &act);
  ZP(a);
  ZP(b);
  const char *in[9] = {a->x, a->scale, a_zp, b->x, b->scale, b_zp, bias ? bias : ""};
  *done = true;
  if (qi != SIZE_MAX && L->qp[qi].dtype == a->dtype) {
    const qparam *y = &L->qp[qi];
    ZP(y);
    in[7] = y->scale;
    in[8] = y_zp;
    return emit(L, i, act, qi, "QGemm", "com.microsoft", 9, in, y->x, err);
  }
  return emit(L, i, SIZE_MAX, SIZE_MAX, "QGemm", "com.microsoft", bias ? 7 : 6, in, n->outputs[0], err);
}

/* Add/Mul -> QLinearAdd/QLinearMul; (Global)AveragePool -> QLinear(Global)AveragePool. */
static octet_status lower_simple(lower *L, size_t i, const char *qop, size_t n_act, bool *done, octet_error *err) {
  const octet_ir_node *n = node_at(L, i);
  if (n->n_inputs != n_act) return OCTET_OK;
  const qparam *p[2] = {NULL, NULL};
  for (size_t k = 0; k < n_act; k++)
    if (!(p[k] = act_dq(L, n->inputs[k])) || p[k]->dtype != p[0]->dtype) return OCTET_OK;
  if (!strcmp(n->op_type, "AveragePool")) {
    const octet_ir_attr *d = octet_ir_node_attr(n, "dilations");
    for (size_t k = 0; d && k < d->n; k++)
      if (d->ints[k] != 1) return OCTET_OK;
  }
  size_t act, qi = q_after(L, i, &act);
  if (qi == SIZE_MAX || L->qp[qi].dtype != p[0]->dtype) return OCTET_OK;
  const qparam *y = &L->qp[qi];
  const char *in[8];
  size_t m = 0;
  for (size_t k = 0; k < n_act; k++) {
    const char *z = zp_name(L, p[k], err);
    if (!z) return err->status;
    in[m++] = p[k]->x;
    in[m++] = p[k]->scale;
    in[m++] = z;
  }
  ZP(y);
  in[m++] = y->scale;
  in[m++] = y_zp;
  *done = true;
  return emit(L, i, act, qi, qop, "com.microsoft", m, in, y->x, err);
}

/* DQ -> Softmax -> Q: ONNX Runtime's optimizer runs it as QLinearSoftmax (a table of exps, not
 * float softmax), so octet does the same to compute what ORT computes. */
static octet_status lower_softmax(lower *L, size_t i, bool *done, octet_error *err) {
  octet_status st = lower_simple(L, i, "QLinearSoftmax", 1, done, err);
  if (!st && *done && !octet_edit_attr_int(&L->e, L->e.g->n_nodes - 1, "opset", octet_ir_opset_version(L->e.m, "")))
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  return st;
}

static octet_status lower_concat(lower *L, size_t i, bool *done, octet_error *err) {
  const octet_ir_node *n = node_at(L, i);
  if (n->n_inputs < 1) return OCTET_OK;
  const qparam *p0 = act_dq(L, n->inputs[0]);
  if (!p0) return OCTET_OK;
  for (size_t k = 1; k < n->n_inputs; k++) {
    const qparam *p = act_dq(L, n->inputs[k]);
    if (!p || p->dtype != p0->dtype) return OCTET_OK;
  }
  size_t act, qi = q_after(L, i, &act);
  if (qi == SIZE_MAX || L->qp[qi].dtype != p0->dtype) return OCTET_OK;
  size_t m = 2 + 3 * n->n_inputs;
  const char **in = octet_malloc(m * sizeof *in);
  if (!in) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  const qparam *y = &L->qp[qi];
  in[0] = y->scale;
  in[1] = zp_name(L, y, err);
  bool ok = in[1] != NULL;
  for (size_t k = 0; ok && k < n->n_inputs; k++) {
    const qparam *p = act_dq(L, node_at(L, i)->inputs[k]);
    in[2 + 3 * k] = p->x;
    in[3 + 3 * k] = p->scale;
    ok = (in[4 + 3 * k] = zp_name(L, p, err)) != NULL;
  }
  octet_status st = ok ? emit(L, i, act, qi, "QLinearConcat", "com.microsoft", m, in, y->x, err) : err->status;
  octet_free(in);
  *done = ok;
  return st;
}

/* Data movement between a DQ and a Q with the same parameters runs on the int8 tensor:
 * Q(DQ(v)) == v exactly for 8-bit v, and max/reshape/transpose commute with DQ. */
static octet_status lower_passthrough(lower *L, size_t i, bool *done, octet_error *err) {
  const octet_ir_node *n = node_at(L, i);
  if (n->n_inputs < 1) return OCTET_OK;
  if (is_op(n, "MaxPool") && L->opset < 12) return OCTET_OK; /* int8 MaxPool arrived in opset 12 */
  const qparam *x = act_dq(L, n->inputs[0]);
  if (!x) return OCTET_OK;
  for (size_t k = 1; k < n->n_outputs; k++) /* MaxPool's Indices */
    if (n->outputs[k][0] && (octet_edit_consumers(&L->e, n->outputs[k]) || octet_edit_is_graph_output(&L->e, n->outputs[k])))
      return OCTET_OK;
  size_t qi = octet_edit_sole_reader(&L->e, n->outputs[0]);
  if (qi >= L->n_orig || !is_op(node_at(L, qi), "QuantizeLinear") || !L->qp[qi].ok || !same_qparam(x, &L->qp[qi]))
    return OCTET_OK;
  const char **in = octet_malloc((n->n_inputs ? n->n_inputs : 1) * sizeof *in);
  if (!in) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t k = 0; k < n->n_inputs; k++) in[k] = n->inputs[k];
  in[0] = x->x;
  octet_status st = emit(L, i, SIZE_MAX, qi, n->op_type, "", n->n_inputs, in, L->qp[qi].x, err);
  octet_free(in);
  *done = true;
  return st;
}

/* ---- normalization: what exporters (PyTorch's QAT export in particular) put between the
 * Q/DQ nodes that ONNX Runtime's own graph optimizer would remove first ---- */

/* Constant node -> initializer (same name): the values become visible to the matching. */
static octet_status constants_to_initializers(lower *L, octet_error *err) {
  for (size_t i = 0; i < L->e.g->n_nodes; i++) {
    const octet_ir_node *n = node_at(L, i);
    if (octet_edit_is_dead(&L->e, i) || !is_op(n, "Constant") || n->n_outputs != 1 || n->n_attrs != 1) continue;
    const octet_ir_attr *a = &n->attrs[0];
    const char *out = n->outputs[0];
    const octet_ir_tensor *t = NULL;
    int64_t len = (int64_t)a->n;
    octet_ir_tensor *made = NULL;
    float f = a->f;
    int64_t v = a->i;
    if (!strcmp(a->name, "value") && a->type == OCTET_ATTR_TENSOR && a->t && a->t->data) t = a->t;
    else if (!strcmp(a->name, "value_float") && a->type == OCTET_ATTR_FLOAT)
      made = octet_edit_set_initializer(&L->e, out, OCTET_DTYPE_FLOAT, 0, NULL, &f);
    else if (!strcmp(a->name, "value_int") && a->type == OCTET_ATTR_INT)
      made = octet_edit_set_initializer(&L->e, out, OCTET_DTYPE_INT64, 0, NULL, &v);
    else if (!strcmp(a->name, "value_floats") && a->type == OCTET_ATTR_FLOATS)
      made = octet_edit_set_initializer(&L->e, out, OCTET_DTYPE_FLOAT, 1, &len, a->floats);
    else if (!strcmp(a->name, "value_ints") && a->type == OCTET_ATTR_INTS)
      made = octet_edit_set_initializer(&L->e, out, OCTET_DTYPE_INT64, 1, &len, a->ints);
    else
      continue;
    if (t) made = octet_edit_set_initializer(&L->e, out, t->dtype, t->rank, t->dims, t->data);
    if (!made) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory turning Constant '%s' into an initializer", out);
    octet_edit_kill(&L->e, i);
  }
  return OCTET_OK;
}

static bool read_number(const octet_ir_tensor *t, size_t i, double *v) {
  switch (t->dtype) {
  case OCTET_DTYPE_FLOAT: *v = ((const float *)t->data)[i]; return true;
  case OCTET_DTYPE_INT32: *v = ((const int32_t *)t->data)[i]; return true;
  case OCTET_DTYPE_INT64: *v = (double)((const int64_t *)t->data)[i]; return true;
  case OCTET_DTYPE_UINT8: *v = ((const uint8_t *)t->data)[i]; return true;
  case OCTET_DTYPE_INT8: *v = ((const int8_t *)t->data)[i]; return true;
  default: return false;
  }
}

/* Writes v as dtype; false when an integer target cannot hold it (Cast would be undefined). */
static bool write_number(int32_t dtype, void *data, size_t i, double v) {
  if (dtype != OCTET_DTYPE_FLOAT) v = trunc(v);
  switch (dtype) {
  case OCTET_DTYPE_FLOAT: ((float *)data)[i] = (float)v; return true;
  case OCTET_DTYPE_INT32: if (!(v >= -2147483648.0 && v <= 2147483647.0)) return false; ((int32_t *)data)[i] = (int32_t)v; return true;
  case OCTET_DTYPE_INT64: if (!(fabs(v) < 9.2e18)) return false; ((int64_t *)data)[i] = (int64_t)v; return true;
  case OCTET_DTYPE_UINT8: if (!(v >= 0 && v <= 255)) return false; ((uint8_t *)data)[i] = (uint8_t)v; return true;
  case OCTET_DTYPE_INT8: if (!(v >= -128 && v <= 127)) return false; ((int8_t *)data)[i] = (int8_t)v; return true;
  default: return false;
  }
}

#define FOLD_MAX_ELEMS 65536 /* zero points and small shapes; never weights-sized tensors */

/* ConstantOfShape and Cast of constants (how PyTorch spells a bias zero point) become
 * initializers. Returns whether node i was folded. */
static octet_status fold_constant(lower *L, size_t i, bool *folded, octet_error *err) {
  const octet_ir_node *n = node_at(L, i);
  *folded = false;
  if (n->n_inputs != 1 || n->n_outputs != 1) return OCTET_OK;
  const octet_ir_tensor *in = octet_edit_constant(&L->e, n->inputs[0]);
  if (!in || !in->data) return OCTET_OK;
  int32_t dtype, rank;
  int64_t dims[8];
  size_t numel;
  const octet_ir_tensor *src = in;
  double fill = 0;
  bool cos = is_op(n, "ConstantOfShape");
  if (cos) {
    if (in->dtype != OCTET_DTYPE_INT64 || in->rank != 1 || in->dims[0] > 8) return OCTET_OK;
    rank = (int32_t)in->dims[0];
    memcpy(dims, in->data, (size_t)rank * sizeof *dims);
    const octet_ir_attr *va = octet_ir_node_attr(n, "value");
    dtype = OCTET_DTYPE_FLOAT;
    if (va && va->type == OCTET_ATTR_TENSOR && va->t && va->t->data) {
      if (va->t->nbytes != octet_dtype_size(va->t->dtype) || !read_number(va->t, 0, &fill)) return OCTET_OK;
      dtype = va->t->dtype;
    }
  } else if (is_op(n, "Cast")) {
    dtype = (int32_t)attr_i(n, "to", 0);
    rank = in->rank;
    if (rank > 8) return OCTET_OK;
    memcpy(dims, in->dims, (size_t)rank * sizeof *dims);
  } else {
    return OCTET_OK;
  }
  if (!octet_shape_numel(dims, rank, &numel) || numel > FOLD_MAX_ELEMS) return OCTET_OK;
  size_t esize = octet_dtype_size(dtype);
  uint8_t *buf = octet_malloc(numel * (esize ? esize : 1) + 1);
  if (!buf) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  bool ok = esize != 0;
  for (size_t k = 0; ok && k < numel; k++) {
    double v = fill;
    if (!cos) ok = read_number(src, k, &v);
    ok = ok && write_number(dtype, buf, k, v);
  }
  const char *out = n->outputs[0];
  if (ok && !octet_edit_is_graph_output(&L->e, out)) {
    if (!octet_edit_set_initializer(&L->e, out, dtype, rank, dims, buf)) {
      octet_free(buf);
      return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    octet_edit_kill(&L->e, i);
    *folded = true;
  }
  octet_free(buf);
  return OCTET_OK;
}

/* Number of direct reads of name by live top-level nodes (subgraph reads not counted). */
static size_t direct_reads(lower *L, const char *name) {
  size_t c = 0;
  for (size_t i = 0; i < L->e.g->n_nodes; i++) {
    if (octet_edit_is_dead(&L->e, i)) continue;
    const octet_ir_node *n = node_at(L, i);
    for (size_t k = 0; k < n->n_inputs; k++) c += !strcmp(n->inputs[k], name);
  }
  return c;
}

/* Element type of the output of a QuantizeLinear, or what the graph declares for name. */
static int32_t value_dtype(lower *L, const char *name) {
  size_t p = octet_edit_producer(&L->e, name);
  if (p != SIZE_MAX && is_op(node_at(L, p), "QuantizeLinear")) {
    const octet_ir_node *q = node_at(L, p);
    const octet_ir_tensor *z = q->n_inputs > 2 && q->inputs[2][0] ? octet_edit_constant(&L->e, q->inputs[2]) : NULL;
    if (octet_ir_node_attr(q, "output_dtype")) return 0;
    return q->n_inputs > 2 && q->inputs[2][0] ? (z ? z->dtype : 0) : OCTET_DTYPE_UINT8;
  }
  return p == SIZE_MAX ? declared_dtype(L, name) : 0;
}

/* Identity, Cast to the type the input already has, and Pad with all-zero pads pass their
 * input through unchanged: readers take the input instead. */
static bool is_identity(lower *L, const octet_ir_node *n) {
  if (n->n_inputs < 1 || n->n_outputs != 1 || !n->inputs[0][0]) return false;
  if (is_op(n, "Identity")) return true;
  if (is_op(n, "Cast")) {
    int32_t dt = value_dtype(L, n->inputs[0]);
    return dt && dt == attr_i(n, "to", 0);
  }
  if (is_op(n, "Pad")) {
    if (n->n_inputs < 2 || (n->n_inputs > 3 && n->inputs[3][0])) return false; /* axes */
    const octet_ir_tensor *p = octet_edit_constant(&L->e, n->inputs[1]);
    if (!p || p->dtype != OCTET_DTYPE_INT64 || !p->data) return false;
    for (size_t k = 0; k < p->nbytes / sizeof(int64_t); k++)
      if (((const int64_t *)p->data)[k] != 0) return false;
    return true;
  }
  return false;
}

static octet_status normalize(lower *L, octet_error *err) {
  octet_status st = constants_to_initializers(L, err);
  for (bool changed = true; !st && changed;) {
    changed = false;
    for (size_t i = 0; !st && i < L->e.g->n_nodes; i++) {
      if (octet_edit_is_dead(&L->e, i)) continue;
      bool folded = false;
      st = fold_constant(L, i, &folded, err);
      changed |= folded;
      const octet_ir_node *n = node_at(L, i);
      if (st || folded || !is_identity(L, n)) continue;
      const char *out = n->outputs[0], *in = n->inputs[0];
      if (octet_edit_is_graph_output(&L->e, out) || direct_reads(L, out) != octet_edit_consumers(&L->e, out)) continue;
      octet_edit_kill(&L->e, i);
      octet_edit_rename_uses(&L->e, out, in, SIZE_MAX);
      changed = true;
    }
  }
  return st;
}

static bool is_compute(const octet_ir_node *n) {
  return is_op(n, "Conv") || is_op(n, "ConvTranspose") || is_op(n, "MatMul") || is_op(n, "Gemm");
}

/* Q/DQ nodes nobody reads any more (their consumers were converted) disappear, repeatedly:
 * removing a DQ can leave its Q unread. */
static void sweep(lower *L) {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < L->e.g->n_nodes; i++) {
      const octet_ir_node *n = node_at(L, i);
      if (octet_edit_is_dead(&L->e, i) || n->n_outputs != 1) continue;
      if (!is_op(n, "QuantizeLinear") && !is_op(n, "DequantizeLinear")) continue;
      if (octet_edit_consumers(&L->e, n->outputs[0]) || octet_edit_is_graph_output(&L->e, n->outputs[0])) continue;
      octet_edit_kill(&L->e, i);
      if (L->r) L->r->removed_qdq++;
      changed = true;
    }
  }
}

/* value_info entries of tensors that no longer exist would describe nothing (or mislead). */
static void drop_stale_value_infos(lower *L) {
  octet_ir_graph *g = L->e.g;
  size_t w = 0;
  for (size_t v = 0; v < g->n_value_infos; v++) {
    bool live = false;
    for (size_t i = 0; !live && i < g->n_nodes; i++)
      for (size_t k = 0; !live && k < g->nodes[i].n_outputs; k++) live = !strcmp(g->nodes[i].outputs[k], g->value_infos[v].name);
    if (live) g->value_infos[w++] = g->value_infos[v];
  }
  g->n_value_infos = w;
}

static octet_status add_ms_opset(octet_model *m, octet_error *err) {
  if (octet_ir_opset_version(m, "com.microsoft") >= 1) return OCTET_OK;
  octet_ir_opset *o = octet_arena_alloc(m->arena, (m->n_opsets + 1) * sizeof *o);
  if (!o) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  if (m->n_opsets) memcpy(o, m->opsets, m->n_opsets * sizeof *o);
  o[m->n_opsets].domain = "com.microsoft";
  o[m->n_opsets].version = 1;
  m->opsets = o;
  m->n_opsets++;
  return OCTET_OK;
}

bool octet_model_has_qdq(const octet_model *m) {
  if (!m || !m->graph) return false;
  for (size_t i = 0; i < m->graph->n_nodes; i++)
    if (!m->graph->nodes[i].domain[0] && !strcmp(m->graph->nodes[i].op_type, "DequantizeLinear")) return true;
  return false;
}

octet_status octet_qdq_to_qop(octet_model *m, octet_qop_report *r, octet_error *err) {
  if (!m || !m->graph) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_qdq_to_qop: no model");
  if (r) memset(r, 0, sizeof *r);
  lower L = {.r = r, .opset = octet_ir_opset_version(m, "")};
  octet_status st = octet_edit_begin(&L.e, m, m->graph, err);
  if (st) return st;
  /* Constants, folded zero points and no-op Casts first, then a compact node list so that
   * "original node" means a node of the normalized graph. */
  st = normalize(&L, err);
  if (!st) st = octet_edit_finish(&L.e, err);
  if (st) {
    octet_edit_end(&L.e);
    return st;
  }
  L.n_orig = m->graph->n_nodes;
  L.qp = octet_calloc(L.n_orig ? L.n_orig : 1, sizeof *L.qp);
  if (!L.qp) {
    octet_edit_end(&L.e);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  /* Parameters first, Q before DQ: a DQ without zero point takes its type from its Q. */
  for (size_t i = 0; i < L.n_orig; i++)
    if (is_op(node_at(&L, i), "QuantizeLinear")) read_qparam(&L, i, true);
  for (size_t i = 0; i < L.n_orig; i++)
    if (is_op(node_at(&L, i), "DequantizeLinear")) read_qparam(&L, i, false);

  for (size_t i = 0; !st && i < L.n_orig; i++) {
    if (octet_edit_is_dead(&L.e, i)) continue;
    const octet_ir_node *n = node_at(&L, i);
    if (n->domain[0]) continue;
    const char *op = n->op_type;
    bool done = false, pass = false;
    if (!strcmp(op, "Conv")) st = lower_conv(&L, i, &done, err);
    else if (!strcmp(op, "MatMul")) st = lower_matmul(&L, i, &done, err);
    else if (!strcmp(op, "Gemm")) st = lower_gemm(&L, i, &done, err);
    else if (!strcmp(op, "Add")) st = lower_simple(&L, i, "QLinearAdd", 2, &done, err);
    else if (!strcmp(op, "Mul")) st = lower_simple(&L, i, "QLinearMul", 2, &done, err);
    else if (!strcmp(op, "GlobalAveragePool")) st = lower_simple(&L, i, "QLinearGlobalAveragePool", 1, &done, err);
    else if (!strcmp(op, "AveragePool")) st = lower_simple(&L, i, "QLinearAveragePool", 1, &done, err);
    else if (!strcmp(op, "Concat")) st = lower_concat(&L, i, &done, err);
    else if (!strcmp(op, "Softmax")) st = lower_softmax(&L, i, &done, err);
    else if (!strcmp(op, "MaxPool") || !strcmp(op, "Reshape") || !strcmp(op, "Transpose") || !strcmp(op, "Flatten") ||
             !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze") || octet_nearest_resize(node_at(&L, i))) {
      pass = true;
      st = lower_passthrough(&L, i, &done, err);
    }
    if (done && r) {
      if (pass) r->passthrough++;
      else r->converted++;
    }
  }
  if (!st) {
    sweep(&L);
    for (size_t i = 0; r && i < L.e.g->n_nodes; i++) {
      const octet_ir_node *n = node_at(&L, i);
      if (octet_edit_is_dead(&L.e, i) || !is_compute(n)) continue;
      r->float_compute++;
      size_t len = strlen(r->float_nodes);
      snprintf(r->float_nodes + len, sizeof r->float_nodes - len, "%s%s (%s)", len ? ", " : "", n->name, n->op_type);
    }
    st = octet_edit_finish(&L.e, err);
  }
  if (!st) drop_stale_value_infos(&L);
  if (!st && L.used_ms) st = add_ms_opset(m, err);
  if (!st) {
    st = octet_ir_validate(m, err);
    if (st) octet_fail_prefix(err, "QOperator lowering produced an invalid graph: ");
  }
  octet_edit_end(&L.e);
  octet_free(L.qp);
  return st;
}

octet_status octet_runtime_lower_qdq(const octet_model *in, octet_model **out, octet_error *err) {
  if (!in || !out) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_runtime_lower_qdq: model and output are required");
  *out = NULL;
  if (!octet_model_has_qdq(in)) return OCTET_OK;
  octet_model *m;
  octet_status st = octet_ir_model_clone(in, &m, err);
  if (st) return st;
  octet_qop_report r;
  st = octet_qdq_to_qop(m, &r, err);
  if (st || r.converted + r.passthrough == 0) {
    octet_model_destroy(m);
    return st;
  }
  *out = m;
  return OCTET_OK;
}
