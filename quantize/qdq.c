/* qdq.c — static quantization in QDQ form: every quantized activation gets one
 * QuantizeLinear -> DequantizeLinear pair shared by all its readers; weights become int8
 * initializers (per output channel) behind a DequantizeLinear, biases int32. A runtime that
 * sees DQ -> op -> Q runs the op in int8 (octet, ONNX Runtime, TensorRT, OpenVINO all do). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quantize/passes.h"

typedef enum { ROLE_NONE, ROLE_COMPUTE, ROLE_ELEMENTWISE, ROLE_CONCAT, ROLE_POOL, ROLE_PASSTHROUGH } role;

static role op_role(const char *op) {
  static const char *const compute[] = {"Conv", "ConvTranspose", "MatMul", "Gemm"};
  static const char *const elementwise[] = {"Add", "Mul"};
  static const char *const pool[] = {"AveragePool", "GlobalAveragePool"};
  /* Data movement: the output keeps the input's scale and zero point (int8 in, int8 out). */
  static const char *const pass[] = {"MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze",
                                     "Unsqueeze", "GlobalMaxPool"};
  for (size_t i = 0; i < OCTET_COUNTOF(compute); i++) if (!strcmp(op, compute[i])) return ROLE_COMPUTE;
  for (size_t i = 0; i < OCTET_COUNTOF(elementwise); i++) if (!strcmp(op, elementwise[i])) return ROLE_ELEMENTWISE;
  for (size_t i = 0; i < OCTET_COUNTOF(pool); i++) if (!strcmp(op, pool[i])) return ROLE_POOL;
  for (size_t i = 0; i < OCTET_COUNTOF(pass); i++) if (!strcmp(op, pass[i])) return ROLE_PASSTHROUGH;
  if (!strcmp(op, "Concat")) return ROLE_CONCAT;
  return ROLE_NONE;
}

/* A tensor chosen for a Q/DQ pair, and its parameters. */
typedef struct qtensor {
  const char *name;
  float scale;
  int32_t zp;
  int32_t dtype;
} qtensor;

typedef struct qdq {
  octet_edit e;
  const octet_calibrator *cal;
  const octet_qdq_options *o;
  qtensor *t;
  size_t n, cap;
  role *roles;      /* per node: what the pass does with it (ROLE_NONE: float) */
  /* Zero points, shared by value: scalars for activations and, for weights stored as uint8,
   * vectors of 128 as long as their scales. */
  octet_zp_cache zps;
  bool *fused_act;  /* per node: a Relu/Clip folded into the producer's output range */
  bool *float_out;  /* per node: its outputs are float data (see carries_float) */
  size_t n_nodes;   /* nodes before the pass added any */
  size_t n_named[3]; /* activations, weights, biases named so far (see short_base) */
} qdq;

/* Tensors the pass adds get short names: a<k> for the k-th quantized activation, w<k>/b<k> for
 * weights and biases, each with a suffix (_s scale, _zp zero point, _q quantized, _dq
 * dequantized). Named after the original tensor, every Q/DQ pair repeated that name seven times:
 * a fifth of PaddleOCR cls's file. The original name stays where it was (the Q's input, the
 * Conv's output), so the graph still reads. */
static const char *short_base(qdq *q, int kind, char buf[24]) {
  snprintf(buf, 24, "%c%zu", "awb"[kind], q->n_named[kind]++);
  return buf;
}

static qtensor *find_q(qdq *q, const char *name) {
  for (size_t i = 0; i < q->n; i++)
    if (!strcmp(q->t[i].name, name)) return &q->t[i];
  return NULL;
}

static qtensor *find_q(qdq *q, const char *name);

/* A float activation: calibrated, or already given parameters (the output of a data-movement
 * op copies its input's, and calibration need not have observed it). */
static bool is_float_activation(qdq *q, const char *name) {
  return name && *name && (octet_calibrator_find(q->cal, name) != NULL || find_q(q, name) != NULL);
}

static const char *producer_op(qdq *q, const char *name) {
  size_t p = octet_edit_producer(&q->e, name);
  return p == SIZE_MAX ? "" : q->e.g->nodes[p].op_type;
}

static bool float_dtype(int32_t dt) {
  return dt == OCTET_DTYPE_FLOAT || dt == OCTET_DTYPE_FLOAT16 || dt == OCTET_DTYPE_DOUBLE || dt == OCTET_DTYPE_BFLOAT16;
}

/* Whether node i reads float data (for the summary's "kept float" count). Calibration may have
 * observed only the tensors the quantizer needs, so float-ness is propagated through the graph
 * instead: from float graph inputs and calibrated tensors, through every node except the ones
 * whose outputs are integers or booleans. q->float_out records the answer per node. */
static bool carries_float(qdq *q, size_t i) {
  static const char *const int_out[] = {"Shape", "Size", "NonZero", "ArgMax", "ArgMin", "Equal", "Less",
                                        "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or",
                                        "IsNaN", "IsInf", "TopK", "ConstantOfShape", "Cast"};
  const octet_ir_node *n = &q->e.g->nodes[i];
  bool in_float = false;
  for (size_t k = 0; k < n->n_inputs && !in_float; k++) {
    const char *x = n->inputs[k];
    if (!x[0] || octet_edit_constant(&q->e, x)) continue;
    if (is_float_activation(q, x)) in_float = true;
    size_t p = octet_edit_producer(&q->e, x);
    if (p != SIZE_MAX && p < q->n_nodes && q->float_out[p]) in_float = true;
    for (size_t g = 0; g < q->e.g->n_inputs; g++)
      if (!strcmp(q->e.g->inputs[g].name, x) && float_dtype(q->e.g->inputs[g].elem_type)) in_float = true;
  }
  bool out_float = in_float;
  for (size_t k = 0; k < OCTET_COUNTOF(int_out); k++) out_float &= strcmp(n->op_type, int_out[k]) != 0;
  if (!strcmp(n->op_type, "Cast")) {
    const octet_ir_attr *to = octet_ir_node_attr(n, "to");
    out_float = to && float_dtype((int32_t)to->i);
  }
  q->float_out[i] = out_float;
  return in_float;
}

/* Picks (or copies) parameters for an activation; nothing when it has no calibration data. */
static octet_status want(qdq *q, const char *name, const qtensor *same_as, octet_error *err) {
  if (find_q(q, name)) return OCTET_OK;
  const octet_calib_entry *ce = octet_calibrator_find(q->cal, name);
  if (!ce && !same_as) return OCTET_OK;
  if (q->n == q->cap) {
    size_t cap = q->cap ? 2 * q->cap : 64;
    qtensor *t = octet_realloc(q->t, cap * sizeof *t);
    if (!t) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    q->t = t;
    q->cap = cap;
  }
  qtensor *t = &q->t[q->n++];
  t->name = name;
  if (same_as) {
    t->scale = same_as->scale;
    t->zp = same_as->zp;
    t->dtype = same_as->dtype;
    return OCTET_OK;
  }
  octet_range_options ro;
  octet_range_method method = q->o->method;

  octet_calibration_range_options(&q->o->choice, method, &ro);
  ro.unsigned_target = !q->o->signed_activations;
  double lo, hi;
  octet_status st = ce->from_table ? octet_calibration_table_range(q->cal, ce, &ro, &lo, &hi, err)
                                   : octet_range_choose(&ce->hist, &ro, &lo, &hi, err);
  if (st) return octet_fail_prefix(err, "tensor '%s'", name);
  t->dtype = q->o->signed_activations ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  octet_qparams_from_range(lo, hi, t->dtype, ro.symmetric, &t->scale, &t->zp);
  return OCTET_OK;
}

/* The single consumer of a node's output when it is a Relu or a Clip from 0: its range can be
 * the producer's output range (the int8 kernel saturates there). SIZE_MAX otherwise. */
static size_t fusable_activation(qdq *q, size_t node) {
  const octet_ir_node *n = &q->e.g->nodes[node];
  size_t i = n->n_outputs < 1 ? SIZE_MAX : octet_edit_sole_reader(&q->e, n->outputs[0]);
  if (i == SIZE_MAX) return SIZE_MAX;
  const octet_ir_node *c = &q->e.g->nodes[i];
  if (c->n_inputs < 1 || strcmp(c->inputs[0], n->outputs[0]) || c->domain[0]) return SIZE_MAX;
  if (octet_name_in_list(q->o->exclude_nodes, c->name) || octet_name_in_list(q->o->exclude_ops, c->op_type))
    return SIZE_MAX;
  if (!strcmp(c->op_type, "Relu")) return i;
  if (!strcmp(c->op_type, "Clip")) {
    const octet_ir_tensor *mn = c->n_inputs > 1 ? octet_edit_constant(&q->e, c->inputs[1]) : NULL;
    if (mn && mn->dtype == OCTET_DTYPE_FLOAT && mn->nbytes == 4 && *(const float *)mn->data == 0.0f) return i;
  }
  return SIZE_MAX;
}

static const char *scalar_init(qdq *q, const char *base, const char *suffix, int32_t dtype, const void *v,
                               octet_error *err) {
  const char *name = octet_edit_name(&q->e, base, suffix);
  if (!name || !octet_edit_set_initializer(&q->e, name, dtype, 0, NULL, v)) {
    octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    return NULL;
  }
  return name;
}

static const char *zero_point(qdq *q, int32_t dtype, int32_t zp, int64_t len, octet_error *err) {
  const char *name = octet_edit_zero_point(&q->e, &q->zps, dtype, zp, len);
  if (!name) octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  return name;
}

/* A quantized constant behind its DequantizeLinear: data (dtype, dims) as <base>_q, its n_scales
 * scales as <base>_s (per `axis` when n_scales > 1 or per_axis), the zero point zp when given.
 * Returns the DQ's output, <base>_dq. */
static const char *add_dequantized(qdq *q, const char *base, const char *node, int32_t dtype, int32_t rank,
                                   const int64_t *dims, const void *data, const float *scales, int64_t n_scales,
                                   bool per_axis, int64_t axis, const char *zp, octet_error *err) {
  const char *qname = octet_edit_name(&q->e, base, "q"), *sname = octet_edit_name(&q->e, base, "s");
  const char *out = octet_edit_name(&q->e, base, "dq"), *dn = octet_edit_name(&q->e, "DQ", node);
  const char *in[3] = {qname, sname, zp};
  size_t id = SIZE_MAX;
  if (qname && sname && out && dn && octet_edit_set_initializer(&q->e, qname, dtype, rank, dims, data) &&
      octet_edit_set_initializer(&q->e, sname, OCTET_DTYPE_FLOAT, per_axis, &n_scales, scales))
    id = octet_edit_add_node(&q->e, "DequantizeLinear", "", dn, zp ? 3 : 2, in, 1, &out);
  if (id == SIZE_MAX || (per_axis && !octet_edit_attr_int(&q->e, id, "axis", axis))) {
    octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    return NULL;
  }
  return out;
}

/* Inserts t -> Q -> DQ and points every node that reads t at the DQ output. Inserted nodes get
 * short names (Q_n, DQ_n): on small models names are a good part of the file. */
static octet_status insert_pair(qdq *q, const qtensor *t, octet_error *err) {
  char base[24];
  short_base(q, 0, base);
  const char *s = scalar_init(q, base, "s", OCTET_DTYPE_FLOAT, &t->scale, err);
  const char *z = s ? zero_point(q, t->dtype, t->zp, -1, err) : NULL;
  if (!z) return err->status;
  const char *tq = octet_edit_name(&q->e, base, "q");
  const char *tdq = octet_edit_name(&q->e, base, "dq");
  const char *qn = octet_edit_name(&q->e, "Q", "a");
  const char *dn = octet_edit_name(&q->e, "DQ", "a");
  const char *src = t->name;
  size_t p = octet_edit_producer(&q->e, t->name);
  if (octet_edit_is_graph_output(&q->e, t->name) && p != SIZE_MAX) {
    /* A graph output keeps its name and stays float, but becomes the DQ's output, so runtimes
     * run its producer in int8 (as ONNX Runtime's quantizer writes it). */
    octet_ir_node *pn = &q->e.g->nodes[p];
    src = octet_edit_name(&q->e, t->name, "f");
    for (size_t k = 0; k < pn->n_outputs; k++)
      if (!strcmp(pn->outputs[k], t->name)) pn->outputs[k] = src;
    tdq = t->name;
  } else {
    octet_edit_rename_uses(&q->e, t->name, tdq, SIZE_MAX);
  }
  const char *qin[3] = {src, s, z}, *dqin[3] = {tq, s, z};
  if (octet_edit_add_node(&q->e, "QuantizeLinear", "", qn, 3, qin, 1, &tq) == SIZE_MAX ||
      octet_edit_add_node(&q->e, "DequantizeLinear", "", dn, 3, dqin, 1, &tdq) == SIZE_MAX)
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  return OCTET_OK;
}

/* ---- weights and biases ---- */

/* Quantizes a float weight symmetrically to 255 levels, per channel along `axis` (or per
 * tensor), and returns the name of the DequantizeLinear output that replaces it. Scales go to
 * *scales. Stored as int8 (zero point 0) or as uint8 with zero point 128: the same numbers, but
 * ONNX Runtime's x86 AVX2 kernels compute u8 x u8 exactly while u8 x s8 saturates int16
 * (vpmaddubsw), which costs points of accuracy there (README, "Weight type"). */
static const char *quantize_weight(qdq *q, const char *name, int64_t axis, const double *min_amax,
                                   float **scales, size_t *n_scales, octet_error *err) {
  const octet_ir_tensor *w = octet_edit_constant(&q->e, name);
  size_t numel;
  if (!w || w->dtype != OCTET_DTYPE_FLOAT || !octet_shape_numel(w->dims, w->rank, &numel)) return NULL;
  bool per_channel = !q->o->per_tensor_weights && axis >= 0 && axis < w->rank;
  size_t channels = per_channel ? (size_t)w->dims[axis] : 1, inner = 1;
  if (per_channel)
    for (int32_t d = (int32_t)axis + 1; d < w->rank; d++) inner *= (size_t)w->dims[d];
  float *sc = octet_arena_alloc(q->e.m->arena, (channels ? channels : 1) * sizeof *sc);
  bool u8 = !q->o->signed_weights;
  int32_t wdt = u8 ? OCTET_DTYPE_UINT8 : OCTET_DTYPE_INT8, shift = u8 ? 128 : 0;
  uint8_t *qw = octet_arena_alloc(q->e.m->arena, numel ? numel : 1);
  if (!sc || !qw) {
    octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    return NULL;
  }
  const float *wd = w->data;
  double amax[channels ? channels : 1];
  for (size_t c = 0; c < channels; c++) amax[c] = 0.0;
  for (size_t i = 0; i < numel; i++) {
    size_t c = per_channel ? (i / inner) % channels : 0;
    amax[c] = fmax(amax[c], fabs((double)wd[i]));
  }
  for (size_t c = 0; c < channels; c++) {
    int32_t z;
    if (min_amax) amax[c] = fmax(amax[c], min_amax[per_channel ? c : 0]);
    octet_qparams_from_range(-amax[c], amax[c], OCTET_DTYPE_INT8, true, &sc[c], &z);
  }
  for (size_t i = 0; i < numel; i++) {
    size_t c = per_channel ? (i / inner) % channels : 0;
    qw[i] = (uint8_t)(octet_quantize_value(wd[i], sc[c], 0, OCTET_DTYPE_INT8) + shift);
  }
  char base[24];
  int64_t cd = (int64_t)channels;
  /* int8 weights have zero point 0, DequantizeLinear's default: no input needed. */
  const char *zp = u8 ? zero_point(q, wdt, shift, per_channel ? cd : -1, err) : NULL;
  if (u8 && !zp) return NULL;
  const char *out = add_dequantized(q, short_base(q, 1, base), "w", wdt, w->rank, w->dims, qw, sc, cd, per_channel,
                                    axis, zp, err);
  if (!out) return NULL;
  *scales = sc;
  *n_scales = channels;
  return out;
}

/* A Relu/Clip folded into its producer's output range does nothing the QuantizeLinear after it
 * does not do when its bounds quantize to the ends of the int8 range (monotone rounding: every
 * value below the lower bound lands on qmin either way, likewise above). Then it goes, and the
 * producer writes its output name. Exact, and one node less to store and to run. */
static bool drop_redundant_activation(qdq *q, size_t act) {
  octet_ir_node *a = &q->e.g->nodes[act];
  const qtensor *t = find_q(q, a->outputs[0]);
  size_t p = octet_edit_producer(&q->e, a->inputs[0]);
  if (!t || p == SIZE_MAX) return false;
  int32_t qmin = t->dtype == OCTET_DTYPE_INT8 ? -128 : 0, qmax = t->dtype == OCTET_DTYPE_INT8 ? 127 : 255;
  float lo = 0.0f;
  bool has_hi = false;
  float hi = 0.0f;
  if (!strcmp(a->op_type, "Clip")) {
    const octet_ir_tensor *mn = a->n_inputs > 1 && a->inputs[1][0] ? octet_edit_constant(&q->e, a->inputs[1]) : NULL;
    const octet_ir_tensor *mx = a->n_inputs > 2 && a->inputs[2][0] ? octet_edit_constant(&q->e, a->inputs[2]) : NULL;
    if (!mn || mn->dtype != OCTET_DTYPE_FLOAT || mn->nbytes != 4) return false;
    lo = *(const float *)mn->data;
    if (a->n_inputs > 2 && a->inputs[2][0]) {
      if (!mx || mx->dtype != OCTET_DTYPE_FLOAT || mx->nbytes != 4) return false;
      hi = *(const float *)mx->data;
      has_hi = true;
    }
  } else if (strcmp(a->op_type, "Relu")) {
    return false;
  }
  if (octet_quantize_value(lo, t->scale, t->zp, t->dtype) != qmin) return false;
  if (has_hi && octet_quantize_value(hi, t->scale, t->zp, t->dtype) != qmax) return false;
  octet_ir_node *pn = &q->e.g->nodes[p];
  for (size_t k = 0; k < pn->n_outputs; k++)
    if (!strcmp(pn->outputs[k], a->inputs[0])) pn->outputs[k] = a->outputs[0];
  octet_edit_kill(&q->e, act);
  return true;
}

/* int32 bias with scale = input scale x weight scale (per channel), zero point 0. */
static const char *quantize_bias(qdq *q, const char *name, float in_scale, const float *w_scales,
                                 size_t n_scales, octet_error *err) {
  const octet_ir_tensor *b = octet_edit_constant(&q->e, name);
  if (!b || b->dtype != OCTET_DTYPE_FLOAT || b->rank != 1) return NULL;
  size_t n = (size_t)b->dims[0];
  if (n_scales != 1 && n_scales != n) return NULL;
  float *sc = octet_arena_alloc(q->e.m->arena, (n ? n : 1) * sizeof *sc);
  int32_t *qb = octet_arena_alloc(q->e.m->arena, (n ? n : 1) * sizeof *qb);
  if (!sc || !qb) {
    octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    return NULL;
  }
  const float *bd = b->data;
  for (size_t i = 0; i < n; i++) {
    sc[i] = in_scale * w_scales[n_scales == 1 ? 0 : i];
    qb[i] = octet_quantize_value(bd[i], sc[i], 0, OCTET_DTYPE_INT32);
  }
  /* The zero point of an int32 bias is 0 and optional: leaving it out saves 4 bytes a channel. */
  char base[24];
  int64_t nd = (int64_t)n;
  const char *out = add_dequantized(q, short_base(q, 2, base), "b", OCTET_DTYPE_INT32, 1, &nd, qb, sc, nd, true, 0,
                                    NULL, err);
  return out;
}

static int64_t attr_i(const octet_ir_node *n, const char *name, int64_t dflt) {
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  return a && a->type == OCTET_ATTR_INT ? a->i : dflt;
}

/* The int32 bias is b / (input scale x weight scale); a channel whose weights are (nearly) all
 * zero gets a tiny weight scale and its bias overflows int32, saturating to a wrong value
 * (PaddleOCR det has such channels: it cost 0.35 IoU on weights alone). So each channel's weight
 * range is raised until its bias fits in 2^30 (headroom for the products added to it); the
 * weights of such a channel are negligible next to its bias anyway. *min_amax: per channel of
 * the weight (NULL when nothing needs raising). */
static octet_status bias_fit(qdq *q, const octet_ir_node *n, size_t bi, int64_t axis, double **min_amax,
                             octet_error *err) {
  *min_amax = NULL;
  if (bi == SIZE_MAX || n->n_inputs <= bi || !n->inputs[bi][0]) return OCTET_OK;
  const qtensor *x = find_q(q, n->inputs[0]);
  const octet_ir_tensor *b = octet_edit_constant(&q->e, n->inputs[bi]);
  const octet_ir_tensor *w = octet_edit_constant(&q->e, n->inputs[1]);
  if (!x || !b || !w || b->dtype != OCTET_DTYPE_FLOAT || b->rank != 1 || w->rank < 1) return OCTET_OK;
  bool per_channel = !q->o->per_tensor_weights && axis >= 0 && axis < w->rank;
  size_t nb = (size_t)b->dims[0], channels = per_channel ? (size_t)w->dims[axis] : 1;
  if (per_channel && channels != nb) return OCTET_OK;
  double *m = octet_calloc(channels ? channels : 1, sizeof *m);
  if (!m) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  const float *bd = b->data;
  const double limit = 1073741824.0; /* 2^30 */
  for (size_t i = 0; i < nb; i++) {
    /* weight scale = amax / 127 must be >= |b| / (x scale * limit) */
    double need = fabs((double)bd[i]) / ((double)x->scale * limit) * 127.0 * (1.0 + 1e-6);
    size_t c = per_channel ? i : 0;
    if (need > m[c]) m[c] = need;
  }
  *min_amax = m;
  return OCTET_OK;
}

/* Weights and bias of one compute node: replaces its constant inputs by DQ outputs. */
static octet_status quantize_params(qdq *q, size_t node, octet_qdq_report *r, octet_error *err) {
  octet_ir_node *n = &q->e.g->nodes[node];
  const char *op = n->op_type;
  size_t wi = 1, bi = SIZE_MAX;
  int64_t axis = 0;
  if (!strcmp(op, "Conv")) {
    bi = 2;
  } else if (!strcmp(op, "ConvTranspose")) {
    bi = 2;
    axis = attr_i(n, "group", 1) == 1 ? 1 : -1; /* [Cin, Cout/g, ...]: per Cout when g = 1 */
  } else if (!strcmp(op, "Gemm")) {
    if (attr_i(n, "transA", 0)) return OCTET_OK; /* rare; keep it simple and float-weighted */
    axis = attr_i(n, "transB", 0) ? 0 : 1;
    bi = 2;
  } else { /* MatMul [.., K, N]: per column for 2-D weights */
    const octet_ir_tensor *w = n->n_inputs > 1 ? octet_edit_constant(&q->e, n->inputs[1]) : NULL;
    axis = w && w->rank == 2 ? 1 : -1;
  }
  if (n->n_inputs <= wi || !octet_edit_constant(&q->e, n->inputs[wi])) return OCTET_OK;
  float *ws;
  size_t nws;
  const char *wname = n->inputs[wi];
  double *min_amax = NULL;
  octet_status st = bias_fit(q, n, bi, axis, &min_amax, err);
  if (st) return st;
  const char *wdq = quantize_weight(q, wname, axis, min_amax, &ws, &nws, err);
  octet_free(min_amax);
  if (!wdq) return err->status ? err->status : OCTET_OK;
  n = &q->e.g->nodes[node];
  n->inputs[wi] = wdq;
  r->quantized_weights++;
  if (bi != SIZE_MAX && n->n_inputs > bi && n->inputs[bi][0]) {
    const qtensor *x = find_q(q, n->inputs[0]);
    if (!x) return OCTET_OK;
    if (!strcmp(op, "Gemm")) { /* C must be a length-N vector and beta 1 to become int32 */
      const octet_ir_attr *beta = octet_ir_node_attr(n, "beta");
      if (beta && beta->f != 1.0f) return OCTET_OK;
    }
    const char *bdq = quantize_bias(q, n->inputs[bi], x->scale, ws, nws, err);
    if (!bdq) return err->status ? err->status : OCTET_OK;
    q->e.g->nodes[node].inputs[bi] = bdq;
  }
  return OCTET_OK;
}

bool octet_ir_is_quantized(const octet_model *m) {
  for (size_t i = 0; i < m->graph->n_nodes; i++) {
    const char *op = m->graph->nodes[i].op_type;
    if (!strcmp(op, "QuantizeLinear") || !strcmp(op, "DequantizeLinear") || !strncmp(op, "QLinear", 7) ||
        !strcmp(op, "MatMulInteger") || !strcmp(op, "ConvInteger") || !strcmp(op, "QGemm") ||
        !strcmp(op, "DynamicQuantizeLinear") || !strcmp(op, "MatMulIntegerToFloat"))
      return true;
  }
  return false;
}

static void note_float(octet_qdq_report *r, const char *op) {
  char *p = strstr(r->kept_float, op);
  size_t n = strlen(op);
  if (p && (p == r->kept_float || p[-1] == ' ') && p[n] == ' ') return; /* listed already */
  size_t len = strlen(r->kept_float);
  if (len + n + 2 < sizeof r->kept_float) snprintf(r->kept_float + len, sizeof r->kept_float - len, "%s ", op);
}

octet_status octet_quantize_qdq(octet_model *m, const octet_calibrator *cal,
                                const octet_qdq_options *o, octet_qdq_report *r, octet_error *err) {
  memset(r, 0, sizeof *r);
  qdq q = {0};
  q.cal = cal;
  q.o = o;
  octet_status st = octet_edit_begin(&q.e, m, m->graph, err);
  octet_ir_graph *g = m->graph;
  size_t n_nodes = g->n_nodes; /* the nodes this pass adds are not candidates */
  q.roles = octet_calloc(n_nodes + 1, sizeof *q.roles);
  q.fused_act = octet_calloc(n_nodes + 1, sizeof *q.fused_act);
  q.float_out = octet_calloc(n_nodes + 1, sizeof *q.float_out);
  q.n_nodes = n_nodes;
  if (!st && (!q.roles || !q.fused_act || !q.float_out))
    st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");

  /* 1. Decide, in topological order (file order after prepare), what each node becomes. */
  for (size_t i = 0; !st && i < n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    role ro = n->domain[0] ? ROLE_NONE : octet_nearest_resize(n) ? ROLE_PASSTHROUGH : op_role(n->op_type);
    bool excluded = octet_name_in_list(o->exclude_nodes, n->name) || octet_name_in_list(o->exclude_ops, n->op_type);
    bool reads_float = carries_float(&q, i);
    if (q.fused_act[i]) continue;
    if (ro == ROLE_NONE || excluded) {
      if (excluded) r->excluded++;
      else if (strcmp(n->op_type, "QuantizeLinear") && strcmp(n->op_type, "DequantizeLinear")) {
        if (reads_float) {
          r->unsupported++;
          note_float(r, n->op_type);
        }
      }
      continue;
    }
    if (ro == ROLE_PASSTHROUGH) {
      const qtensor *x = find_q(&q, n->inputs[0]);
      if (!x || n->n_outputs < 1 || !n->outputs[0][0]) continue; /* float data stays float */
      qtensor copy = *x;
      if ((st = want(&q, n->outputs[0], &copy, err))) break;
      q.roles[i] = ro;
      r->quantized_nodes++;
      continue;
    }
    /* QLinearAdd/Mul need every operand int8: an Add/Mul with a constant operand (x * scale +
     * bias blocks) stays float, and its activation input gets no Q/DQ on its account (that
     * would be a rounding point nobody computes on in int8). */
    if (ro == ROLE_ELEMENTWISE) {
      bool all_act = n->n_inputs > 0;
      for (size_t k = 0; k < n->n_inputs; k++) all_act &= is_float_activation(&q, n->inputs[k]);
      if (!all_act) {
        /* ... except the result of a transcendental function: runtimes' math libraries differ
         * in its last bits, and quantizing it right away makes every runtime round the same
         * values (fmnist_vit's Erf: octet and ONNX Runtime then agree within one step). */
        for (size_t k = 0; !st && k < n->n_inputs; k++)
          if (is_float_activation(&q, n->inputs[k]) && octet_inexact_float_op(producer_op(&q, n->inputs[k])))
            st = want(&q, n->inputs[k], NULL, err);
        if (st) break;
        if (reads_float) {
          r->unsupported++;
          note_float(r, n->op_type);
        }
        continue;
      }
    }
    size_t n_act = 0;
    size_t n_in = ro == ROLE_COMPUTE ? (strcmp(n->op_type, "MatMul") ? 1 : 2) : n->n_inputs;
    if (ro == ROLE_COMPUTE && !strcmp(n->op_type, "Gemm") && !octet_edit_constant(&q.e, n->inputs[1])) n_in = 2;
    for (size_t k = 0; !st && k < n_in && k < n->n_inputs; k++) {
      if (!is_float_activation(&q, n->inputs[k])) continue;
      st = want(&q, n->inputs[k], NULL, err);
      n_act++;
    }
    if (st) break;
    if (n_act == 0) continue; /* nothing float flows in: e.g. shape arithmetic */
    if (ro == ROLE_ELEMENTWISE) { /* both operands must be int8 for QLinearAdd/Mul */
      bool ok = true;
      for (size_t k = 0; k < n->n_inputs; k++) ok &= find_q(&q, n->inputs[k]) != NULL;
      if (!ok) continue;
    }
    size_t act = fusable_activation(&q, i);
    const char *out = n->outputs[0];
    if (act != SIZE_MAX && act < n_nodes && (ro == ROLE_COMPUTE || ro == ROLE_ELEMENTWISE)) {
      q.fused_act[act] = true;
      out = g->nodes[act].outputs[0];
    }
    if (is_float_activation(&q, out) && (st = want(&q, out, NULL, err))) break;
    q.roles[i] = ro;
    r->quantized_nodes++;
  }

  /* 2. Weights and biases of compute nodes (needs the input scales chosen above). */
  for (size_t i = 0; !st && i < n_nodes; i++)
    if (q.roles[i] == ROLE_COMPUTE) st = quantize_params(&q, i, r, err);

  /* 3. One Q/DQ pair per chosen activation; Relu/Clip that the pair's saturation already does go. */
  for (size_t i = 0; !st && i < n_nodes; i++)
    if (q.fused_act[i] && drop_redundant_activation(&q, i)) r->dropped_activations++;
  for (size_t i = 0; !st && i < q.n; i++) st = insert_pair(&q, &q.t[i], err);
  r->quantized_tensors = q.n;

  if (!st) st = octet_edit_finish(&q.e, err);
  if (!st) st = octet_ir_validate(m, err);
  octet_edit_end(&q.e);
  octet_free(q.t);
  octet_free(q.roles);
  octet_free(q.fused_act);
  octet_free(q.float_out);
  return st;
}
