/* prepare.c — passes that make a float model ready to quantize: Constant nodes become
 * initializers, BatchNormalization folds into the Conv before it, and models older than
 * opset 13 are upgraded (per-axis QuantizeLinear needs 13) where the semantics allow. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quantize/passes.h"

/* ---- Constant -> initializer ---- */

static octet_status constants_to_initializers(octet_edit *e, octet_error *err) {
  octet_ir_graph *g = e->g;
  for (size_t i = 0; i < g->n_nodes; i++) {
    octet_ir_node *n = &g->nodes[i];
    if (strcmp(n->op_type, "Constant") || n->domain[0] || n->n_outputs != 1 || n->n_attrs != 1) continue;
    const octet_ir_attr *a = &n->attrs[0];
    const char *out = n->outputs[0];
    octet_ir_tensor *t = NULL;
    int64_t len = (int64_t)a->n;
    if (!strcmp(a->name, "value") && a->type == OCTET_ATTR_TENSOR && a->t && a->t->dtype != OCTET_DTYPE_STRING)
      t = octet_edit_set_initializer(e, out, a->t->dtype, a->t->rank, a->t->dims, a->t->data);
    else if (!strcmp(a->name, "value_float") && a->type == OCTET_ATTR_FLOAT)
      t = octet_edit_set_initializer(e, out, OCTET_DTYPE_FLOAT, 0, NULL, &a->f);
    else if (!strcmp(a->name, "value_int") && a->type == OCTET_ATTR_INT)
      t = octet_edit_set_initializer(e, out, OCTET_DTYPE_INT64, 0, NULL, &a->i);
    else if (!strcmp(a->name, "value_floats") && a->type == OCTET_ATTR_FLOATS)
      t = octet_edit_set_initializer(e, out, OCTET_DTYPE_FLOAT, 1, &len, a->floats);
    else if (!strcmp(a->name, "value_ints") && a->type == OCTET_ATTR_INTS)
      t = octet_edit_set_initializer(e, out, OCTET_DTYPE_INT64, 1, &len, a->ints);
    else
      continue; /* sparse or string constants stay nodes */
    if (!t) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    octet_edit_kill(e, i);
  }
  return OCTET_OK;
}

/* ---- BatchNormalization and affine folding ---- */

static const float *float_data(const octet_ir_tensor *t, size_t n) {
  if (!t || t->dtype != OCTET_DTYPE_FLOAT) return NULL;
  size_t numel;
  if (!octet_shape_numel(t->dims, t->rank, &numel) || numel != n) return NULL;
  return t->data;
}

/* Where a Conv's or ConvTranspose's output channels live in its weight: Conv [Co, Ci/g, k..]
 * (axis 0), ConvTranspose [Ci, Co/g, k..] (axis 1, group 1 only). False when the node is not a
 * foldable float convolution whose single output feeds exactly one node. */
typedef struct conv_layout {
  const octet_ir_tensor *w;
  size_t cout, inner, numel; /* channel of weight element i: (i / inner) % cout */
} conv_layout;

static bool conv_out_channels(octet_edit *e, size_t c, conv_layout *L) {
  const octet_ir_node *conv = &e->g->nodes[c];
  bool transposed = !strcmp(conv->op_type, "ConvTranspose");
  if ((strcmp(conv->op_type, "Conv") && !transposed) || conv->domain[0] || conv->n_inputs < 2) return false;
  if (octet_edit_consumers(e, conv->outputs[0]) != 1 || octet_edit_is_graph_output(e, conv->outputs[0]))
    return false;
  if (transposed) {
    const octet_ir_attr *gr = octet_ir_node_attr(conv, "group");
    if (gr && gr->i != 1) return false;
  }
  const octet_ir_tensor *w = octet_edit_constant(e, conv->inputs[1]);
  int32_t axis = transposed ? 1 : 0;
  if (!w || w->dtype != OCTET_DTYPE_FLOAT || w->rank < axis + 1) return false;
  L->w = w;
  L->cout = (size_t)w->dims[axis];
  L->inner = 1;
  for (int32_t d = axis + 1; d < w->rank; d++) L->inner *= (size_t)w->dims[d];
  return octet_shape_numel(w->dims, w->rank, &L->numel) && L->cout > 0 && L->numel > 0;
}

/* Gives Conv/ConvTranspose node c the data input x, new weights nw (w's shape; NULL keeps the
 * current ones) named <weights>_<w_suffix>, and a new bias nb[cout]: what every fold ends in. */
static octet_status set_conv_params(octet_edit *e, size_t c, const char *x, const octet_ir_tensor *w,
                                    const float *nw, const char *w_suffix, const float *nb, size_t cout,
                                    octet_error *err) {
  octet_ir_node *conv = &e->g->nodes[c];
  const char *wn = nw ? octet_edit_name(e, conv->inputs[1], w_suffix) : conv->inputs[1];
  const char *bn = octet_edit_name(e, conv->outputs[0], "bias");
  const char **ins = octet_arena_alloc(e->m->arena, 3 * sizeof *ins);
  int64_t bd = (int64_t)cout;
  if (!wn || !bn || !ins || (nw && !octet_edit_set_initializer(e, wn, OCTET_DTYPE_FLOAT, w->rank, w->dims, nw)) ||
      !octet_edit_set_initializer(e, bn, OCTET_DTYPE_FLOAT, 1, &bd, nb))
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  conv = &e->g->nodes[c];
  ins[0] = x;
  ins[1] = wn;
  ins[2] = bn;
  conv->inputs = ins;
  conv->n_inputs = 3;
  return OCTET_OK;
}

/* A constant that multiplies or adds per output channel of a rank-`rank` [N, C, ...] tensor:
 * a scalar, or C values laid out along axis 1 ([C, 1, .., 1] right-aligned). Returns the
 * value for channel o through *v (NULL when not such a constant); *stride is 0 for a scalar. */
static const float *per_channel_constant(const octet_ir_tensor *k, int32_t rank, size_t cout, size_t *stride) {
  size_t numel;
  if (!k || k->dtype != OCTET_DTYPE_FLOAT || k->rank > rank || !octet_shape_numel(k->dims, k->rank, &numel))
    return NULL;
  if (numel == 1) {
    *stride = 0;
    return k->data;
  }
  if (numel != cout) return NULL;
  for (int32_t d = 0; d < k->rank; d++) { /* right-aligned: axis 1 of the output is k's rank-(rank-1) */
    int32_t out_axis = rank - k->rank + d;
    if (k->dims[d] != (out_axis == 1 ? (int64_t)cout : 1)) return NULL;
  }
  *stride = 1;
  return k->data;
}

/* Conv -> Mul(constant) and Conv -> Add(constant), per output channel or scalar, become the
 * Conv's weights and bias (PaddleOCR v4's "learnable affine blocks" put one after every conv;
 * left alone each would be one more int8 rounding point). ConvTranspose (group 1) too. */
static octet_status fold_affine(octet_edit *e, size_t *folded, octet_error *err) {
  octet_ir_graph *g = e->g;
  for (size_t i = 0; i < g->n_nodes; i++) {
    if (octet_edit_is_dead(e, i)) continue;
    octet_ir_node *op = &g->nodes[i];
    bool mul = !strcmp(op->op_type, "Mul");
    if ((!mul && strcmp(op->op_type, "Add")) || op->domain[0] || op->n_inputs != 2) continue;
    for (int side = 0; side < 2; side++) {
      size_t c = octet_edit_producer(e, op->inputs[side]);
      conv_layout L;
      if (c == SIZE_MAX || !conv_out_channels(e, c, &L)) continue;
      size_t stride;
      const float *k = per_channel_constant(octet_edit_constant(e, op->inputs[1 - side]), L.w->rank, L.cout, &stride);
      octet_ir_node *conv = &g->nodes[c];
      bool has_bias = conv->n_inputs > 2 && conv->inputs[2][0];
      const octet_ir_tensor *bt = has_bias ? octet_edit_constant(e, conv->inputs[2]) : NULL;
      const float *bias = has_bias ? float_data(bt, L.cout) : NULL;
      if (!k || (has_bias && !bias)) continue;
      float *nb = octet_arena_alloc(e->m->arena, L.cout * sizeof *nb);
      float *nw = mul ? octet_arena_alloc(e->m->arena, L.numel * sizeof *nw) : NULL;
      if (!nb || (mul && !nw)) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
      for (size_t o = 0; o < L.cout; o++) {
        float b = bias ? bias[o] : 0.0f, kv = k[o * stride];
        nb[o] = mul ? b * kv : b + kv;
      }
      if (mul) {
        const float *wd = L.w->data;
        for (size_t j = 0; j < L.numel; j++) nw[j] = wd[j] * k[((j / L.inner) % L.cout) * stride];
      }
      octet_status st = set_conv_params(e, c, conv->inputs[0], L.w, nw, "scaled", nb, L.cout, err);
      if (st) return st;
      conv = &g->nodes[c];
      conv->outputs[0] = g->nodes[i].outputs[0];
      octet_edit_kill(e, i);
      (*folded)++;
      break;
    }
  }
  return OCTET_OK;
}

static octet_status fold_batchnorm(octet_edit *e, size_t *folded, octet_error *err) {
  octet_ir_graph *g = e->g;
  for (size_t i = 0; i < g->n_nodes; i++) {
    if (octet_edit_is_dead(e, i)) continue;
    octet_ir_node *bn = &g->nodes[i];
    if (strcmp(bn->op_type, "BatchNormalization") || bn->domain[0] || bn->n_inputs != 5) continue;
    if (bn->n_outputs > 1) {
      bool extra = false;
      for (size_t k = 1; k < bn->n_outputs; k++) extra |= bn->outputs[k][0] != 0;
      if (extra) continue; /* training outputs: not an inference BN */
    }
    size_t c = octet_edit_producer(e, bn->inputs[0]);
    if (c == SIZE_MAX) continue;
    octet_ir_node *conv = &g->nodes[c];
    conv_layout L;
    if (!conv_out_channels(e, c, &L)) continue;
    const octet_ir_tensor *w = L.w;
    size_t cout = L.cout, numel = L.numel;
    const float *scale = float_data(octet_edit_constant(e, bn->inputs[1]), cout);
    const float *beta = float_data(octet_edit_constant(e, bn->inputs[2]), cout);
    const float *mean = float_data(octet_edit_constant(e, bn->inputs[3]), cout);
    const float *var = float_data(octet_edit_constant(e, bn->inputs[4]), cout);
    const float *bias = conv->n_inputs > 2 && conv->inputs[2][0]
                            ? float_data(octet_edit_constant(e, conv->inputs[2]), cout) : NULL;
    if (!scale || !beta || !mean || !var || (conv->n_inputs > 2 && conv->inputs[2][0] && !bias)) continue;
    const octet_ir_attr *ea = octet_ir_node_attr(bn, "epsilon");
    double eps = ea && ea->type == OCTET_ATTR_FLOAT ? ea->f : 1e-5;
    float *nw = octet_arena_alloc(e->m->arena, numel * sizeof *nw);
    float *nb = octet_arena_alloc(e->m->arena, cout * sizeof *nb);
    if (!nw || !nb) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    double *sc = octet_malloc(cout * sizeof *sc); /* scale / sqrt(var + eps), once per channel */
    if (!sc) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    for (size_t o = 0; o < cout; o++) {
      sc[o] = (double)scale[o] / sqrt((double)var[o] + eps);
      nb[o] = (float)(((bias ? (double)bias[o] : 0.0) - (double)mean[o]) * sc[o] + (double)beta[o]);
    }
    const float *wd = w->data;
    for (size_t i = 0; i < numel; i++) nw[i] = (float)((double)wd[i] * sc[(i / L.inner) % cout]);
    octet_free(sc);
    octet_status st = set_conv_params(e, c, conv->inputs[0], w, nw, "bn", nb, cout, err);
    if (st) return st;
    conv = &g->nodes[c];
    conv->outputs[0] = bn->outputs[0];
    octet_edit_kill(e, i);
    (*folded)++;
  }
  return OCTET_OK;
}

/* The single Conv reading `name` as its data input, when that Conv has no padding (then a
 * constant added to its input adds the same amount under every output pixel); else SIZE_MAX. */
static size_t unpadded_conv_reader(octet_edit *e, const char *name) {
  size_t i = octet_edit_sole_reader(e, name);
  if (i == SIZE_MAX) return SIZE_MAX;
  const octet_ir_node *n = &e->g->nodes[i];
  if (strcmp(n->op_type, "Conv") || n->domain[0] || n->n_inputs < 2 || strcmp(n->inputs[0], name)) return SIZE_MAX;
  const octet_ir_attr *pads = octet_ir_node_attr(n, "pads"), *ap = octet_ir_node_attr(n, "auto_pad");
  if (ap && ap->s && strcmp(ap->s, "NOTSET") && strcmp(ap->s, "VALID")) return SIZE_MAX;
  for (size_t k = 0; pads && k < pads->n; k++)
    if (pads->ints[k] != 0) return SIZE_MAX;
  return i;
}

/* Mul(constant) and Add(constant) right before an unpadded Conv fold into it:
 * Conv(W, b)(s * x + c) = Conv(W * s, b + sum(W * c)) per input channel (PaddleOCR v4 puts such
 * an affine block after each hard-swish; most feed 1x1 convolutions). Padded convolutions would
 * see the added constant only inside the image, so they keep theirs. */
static octet_status fold_affine_into_next(octet_edit *e, size_t *folded, octet_error *err) {
  octet_ir_graph *g = e->g;
  for (size_t i = 0; i < g->n_nodes; i++) {
    if (octet_edit_is_dead(e, i)) continue;
    const octet_ir_node *op = &g->nodes[i];
    bool mul = !strcmp(op->op_type, "Mul");
    if ((!mul && strcmp(op->op_type, "Add")) || op->domain[0] || op->n_inputs != 2 || op->n_outputs != 1) continue;
    size_t ci = unpadded_conv_reader(e, op->outputs[0]);
    if (ci == SIZE_MAX) continue;
    const octet_ir_node *conv = &g->nodes[ci];
    const octet_ir_tensor *w = octet_edit_constant(e, conv->inputs[1]);
    if (!w || w->dtype != OCTET_DTYPE_FLOAT || w->rank < 3) continue;
    size_t cout = (size_t)w->dims[0], cig = (size_t)w->dims[1], numel;
    const octet_ir_attr *ga = octet_ir_node_attr(conv, "group");
    size_t groups = ga && ga->i > 0 ? (size_t)ga->i : 1;
    if (!octet_shape_numel(w->dims, w->rank, &numel) || !cout || !cig || cout % groups) continue;
    size_t taps = numel / (cout * cig), cin = cig * groups;
    for (int side = 0; side < 2; side++) {
      const char *xin = op->inputs[side], *kin = op->inputs[1 - side];
      if (octet_edit_constant(e, xin)) continue;
      size_t stride;
      const float *k = per_channel_constant(octet_edit_constant(e, kin), w->rank, cin, &stride);
      bool has_bias = conv->n_inputs > 2 && conv->inputs[2][0];
      const float *bias = has_bias ? float_data(octet_edit_constant(e, conv->inputs[2]), cout) : NULL;
      if (!k || (has_bias && !bias)) continue;
      float *nw = mul ? octet_arena_alloc(e->m->arena, numel * sizeof *nw) : NULL;
      float *nb = octet_arena_alloc(e->m->arena, cout * sizeof *nb);
      if (!nb || (mul && !nw)) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
      const float *wd = w->data;
      for (size_t o = 0; o < cout; o++) {
        size_t g0 = (o / (cout / groups)) * cig; /* first input channel of o's group */
        double acc = bias ? (double)bias[o] : 0.0;
        for (size_t j = 0; j < cig; j++) {
          float kv = k[(g0 + j) * stride];
          for (size_t t = 0; t < taps; t++) {
            size_t idx = (o * cig + j) * taps + t;
            if (mul) nw[idx] = wd[idx] * kv;
            else acc += (double)wd[idx] * (double)kv;
          }
        }
        nb[o] = mul ? (bias ? bias[o] : 0.0f) : (float)acc;
      }
      octet_status st = set_conv_params(e, ci, g->nodes[i].inputs[side], w, nw, "scaled", nb, cout, err);
      if (st) return st;
      octet_edit_kill(e, i);
      (*folded)++;
      break;
    }
  }
  return OCTET_OK;
}

/* ---- opset upgrade to 13 ---- */

/* Ops whose semantics did not change between any older opset and 13 in ways that matter for
 * inference on the inputs real models give them. Others either get converted below or stop
 * the upgrade with a message. */
static const char *const same_in_13[] = {
  "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "BatchNormalization", "Cast", "Ceil",
  "Concat", "Conv", "ConvTranspose", "Cos", "DepthToSpace", "Div", "Dropout", "Elu", "Equal",
  "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "GatherElements", "Gemm",
  "GlobalAveragePool", "GlobalMaxPool", "Greater", "HardSigmoid", "Identity", "If",
  "InstanceNormalization", "LeakyRelu", "Less", "Log", "LRN", "MatMul", "Max", "MaxPool", "Mean",
  "Min", "Mul", "Neg", "Not", "Or", "Pow", "PRelu", "Range", "Reciprocal", "ReduceL2",
  "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "Relu", "Reshape", "Resize", "Shape",
  "Sigmoid", "Sign", "Sin", "Size", "Softplus", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tanh",
  "Tile", "TopK", "Transpose", "Where", "ConstantOfShape", "Constant", "Einsum", "Loop",
  "NonZero", "OneHot", "ScatterND", "CumSum", "Round", "Selu", "HardSwish", "Celu",
};

static bool same(const char *op) {
  for (size_t i = 0; i < OCTET_COUNTOF(same_in_13); i++)
    if (!strcmp(op, same_in_13[i])) return true;
  return false;
}

/* Moves an INTS/FLOAT attribute into a new constant input at position `pos`. */
static octet_status attr_to_input(octet_edit *e, size_t node, const char *attr, size_t pos,
                                  int32_t dtype, octet_error *err) {
  octet_ir_node *n = &e->g->nodes[node];
  const octet_ir_attr *a = octet_ir_node_attr(n, attr);
  const char *name = "";
  if (!a) return OCTET_OK; /* absent: the input stays absent too */
  {
    name = octet_edit_name(e, n->name[0] ? n->name : n->outputs[0], attr);
    octet_ir_tensor *t;
    if (a->type == OCTET_ATTR_INTS) {
      int64_t len = (int64_t)a->n;
      t = octet_edit_set_initializer(e, name, OCTET_DTYPE_INT64, 1, &len, a->ints);
    } else if (a->type == OCTET_ATTR_FLOAT) {
      t = octet_edit_set_initializer(e, name, dtype, 0, NULL, &a->f);
    } else {
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s': attribute '%s' has an unexpected type",
                        n->name, attr);
    }
    if (!t) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  n = &e->g->nodes[node];
  size_t need = pos + 1 > n->n_inputs ? pos + 1 : n->n_inputs;
  const char **ins = octet_arena_alloc(e->m->arena, need * sizeof *ins);
  if (!ins) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t k = 0; k < need; k++) ins[k] = k < n->n_inputs ? n->inputs[k] : "";
  ins[pos] = name;
  n->inputs = ins;
  n->n_inputs = need;
  /* drop the attribute */
  size_t w = 0;
  for (size_t k = 0; k < n->n_attrs; k++)
    if (strcmp(n->attrs[k].name, attr)) n->attrs[w++] = n->attrs[k];
  n->n_attrs = w;
  while (n->n_inputs && !n->inputs[n->n_inputs - 1][0]) n->n_inputs--;
  return OCTET_OK;
}

static octet_status upgrade_node(octet_edit *e, size_t i, int64_t from, const octet_calibrator *cal,
                                 octet_error *err) {
  octet_ir_node *n = &e->g->nodes[i];
  const char *op = n->op_type;
  octet_status st = OCTET_OK;
  if (!strcmp(op, "Clip") && from < 11) {
    /* Clip-6 takes min/max attributes (float defaults -inf/+inf) */
    if ((st = attr_to_input(e, i, "min", 1, OCTET_DTYPE_FLOAT, err))) return st;
    return attr_to_input(e, i, "max", 2, OCTET_DTYPE_FLOAT, err);
  }
  if (!strcmp(op, "Slice") && from < 10) {
    if ((st = attr_to_input(e, i, "starts", 1, 0, err)) || (st = attr_to_input(e, i, "ends", 2, 0, err)))
      return st;
    return attr_to_input(e, i, "axes", 3, 0, err);
  }
  if ((!strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze") || !strcmp(op, "ReduceSum")) && from < 13)
    return attr_to_input(e, i, "axes", 1, 0, err);
  if (!strcmp(op, "Split") && from < 13) return attr_to_input(e, i, "split", 1, 0, err);
  if ((!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) && from < 13) {
    const octet_ir_attr *a = octet_ir_node_attr(n, "axis");
    int64_t axis = a ? a->i : 1;
    const octet_calib_entry *ce = cal ? octet_calibrator_find(cal, n->inputs[0]) : NULL;
    int32_t rank = ce ? ce->rank : -1;
    if (axis < 0 && rank > 0) axis += rank;
    /* Before 13 the input is coerced to 2-D at `axis`; that equals 13's per-axis softmax only
     * when axis is the last one. */
    if (rank < 0 || axis != rank - 1)
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                        "node '%s': %s over axis %lld of a rank-%d input changes meaning at opset 13; "
                        "use --format qop (no upgrade needed)", n->name, op, (long long)axis, (int)rank);
    return OCTET_OK;
  }
  if (!strcmp(op, "Pad") && from < 11)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s': Pad-%lld cannot be upgraded yet",
                      n->name, (long long)from);
  if (!strcmp(op, "Upsample"))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s': Upsample cannot be upgraded yet", n->name);
  if (same(op) || strcmp(n->domain, "")) return OCTET_OK;
  if (!strcmp(op, "Clip") || !strcmp(op, "Slice") || !strcmp(op, "Squeeze") ||
      !strcmp(op, "Unsqueeze") || !strcmp(op, "ReduceSum") || !strcmp(op, "Split") ||
      !strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax") || !strcmp(op, "Pad"))
    return OCTET_OK;
  return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                    "node '%s': octet does not know whether %s changed meaning between opset %lld "
                    "and 13; use --format qop", n->name, op, (long long)from);
}

octet_status octet_quantize_upgrade_opset(octet_model *m, const octet_calibrator *cal, bool *upgraded,
                                          octet_error *err) {
  *upgraded = false;
  int64_t v = octet_ir_opset_version(m, "");
  if (v >= 13) return OCTET_OK;
  octet_edit e;
  octet_status st = octet_edit_begin(&e, m, m->graph, err);
  for (size_t i = 0; !st && i < m->graph->n_nodes; i++) st = upgrade_node(&e, i, v, cal, err);
  if (!st) st = octet_edit_finish(&e, err);
  octet_edit_end(&e);
  if (st) return st;
  for (size_t i = 0; i < m->n_opsets; i++)
    if (!m->opsets[i].domain[0] || !strcmp(m->opsets[i].domain, "ai.onnx")) m->opsets[i].version = 13;
  if (m->ir_version < 7) m->ir_version = 7;
  *upgraded = true;
  return OCTET_OK;
}

octet_status octet_quantize_prepare_graph(octet_model *m, octet_prepare_report *r, octet_error *err) {
  octet_edit e;
  memset(r, 0, sizeof *r);
  octet_status st = octet_edit_begin(&e, m, m->graph, err);
  size_t before = m->graph->n_nodes;
  if (!st) st = constants_to_initializers(&e, err);
  if (!st) st = octet_edit_finish(&e, err);
  r->constants = before - m->graph->n_nodes;
  /* BN and affine ops alternate in real graphs (ConvTranspose -> Add -> BatchNormalization):
   * fold until nothing changes. */
  for (size_t done = 1; !st && done;) {
    size_t bn = r->folded_bn, affine = r->folded_affine;
    st = fold_batchnorm(&e, &r->folded_bn, err);
    if (!st) st = fold_affine(&e, &r->folded_affine, err);
    if (!st) st = fold_affine_into_next(&e, &r->folded_affine, err);
    if (!st) st = octet_edit_finish(&e, err);
    done = r->folded_bn - bn + r->folded_affine - affine;
  }
  octet_edit_end(&e);
  if (!st) st = octet_ir_validate(m, err);
  return st;
}

/* ---- HardSwish ---- */

static bool scalar_is(const octet_edit *e, const char *name, float v, float tol) {
  const octet_ir_tensor *t = name && name[0] ? octet_edit_constant(e, name) : NULL;
  size_t numel;
  if (!t || t->dtype != OCTET_DTYPE_FLOAT || !octet_shape_numel(t->dims, t->rank, &numel) || numel != 1) return false;
  return fabsf(*(const float *)t->data - v) <= tol;
}

static bool is_op(const octet_ir_node *n, const char *op) { return !strcmp(n->op_type, op) && !n->domain[0]; }

/* x * Clip(x + 3, 0, 6) / 6 (or * 1/6), as PaddleOCR and older MobileNetV3 exports spell
 * hard-swish, becomes one HardSwish (opset 14). Spelled out, each of its four steps would be an
 * int8 rounding point and a pass over the tensor; as one float op it is quantized once. */
octet_status octet_quantize_fuse_hardswish(octet_model *m, size_t *fused, octet_error *err) {
  *fused = 0;
  if (octet_ir_opset_version(m, "") < 13) return OCTET_OK; /* per-tensor QDQ of an old model: keep its opset */
  octet_edit e;
  octet_status st = octet_edit_begin(&e, m, m->graph, err);
  octet_ir_graph *g = m->graph;
  for (size_t ai = 0; !st && ai < g->n_nodes; ai++) {
    const octet_ir_node *a = &g->nodes[ai];
    if (octet_edit_is_dead(&e, ai) || !is_op(a, "Add") || a->n_inputs != 2) continue;
    int xs = scalar_is(&e, a->inputs[1], 3.0f, 0.0f) ? 0 : scalar_is(&e, a->inputs[0], 3.0f, 0.0f) ? 1 : -1;
    if (xs < 0 || octet_edit_constant(&e, a->inputs[xs])) continue;
    const char *x = a->inputs[xs];
    size_t ci = octet_edit_sole_reader(&e, a->outputs[0]);
    if (ci == SIZE_MAX) continue;
    const octet_ir_node *c = &g->nodes[ci];
    if (!is_op(c, "Clip") || c->n_inputs != 3 || strcmp(c->inputs[0], a->outputs[0]) ||
        !scalar_is(&e, c->inputs[1], 0.0f, 0.0f) || !scalar_is(&e, c->inputs[2], 6.0f, 0.0f))
      continue;
    size_t mi = octet_edit_sole_reader(&e, c->outputs[0]);
    if (mi == SIZE_MAX) continue;
    const octet_ir_node *mu = &g->nodes[mi];
    if (!is_op(mu, "Mul") || mu->n_inputs != 2) continue;
    const char *other = !strcmp(mu->inputs[0], c->outputs[0]) ? mu->inputs[1] : mu->inputs[0];
    if (strcmp(other, x)) continue;
    size_t di = octet_edit_sole_reader(&e, mu->outputs[0]);
    if (di == SIZE_MAX) continue;
    const octet_ir_node *d = &g->nodes[di];
    bool by6 = is_op(d, "Div") && d->n_inputs == 2 && !strcmp(d->inputs[0], mu->outputs[0]) &&
               scalar_is(&e, d->inputs[1], 6.0f, 0.0f);
    bool times = is_op(d, "Mul") && d->n_inputs == 2 &&
                 scalar_is(&e, !strcmp(d->inputs[0], mu->outputs[0]) ? d->inputs[1] : d->inputs[0], 1.0f / 6.0f, 1e-7f);
    if (!by6 && !times) continue;
    const char *in[1] = {x}, *out[1] = {d->outputs[0]};
    const char *name = d->name[0] ? d->name : d->outputs[0];
    if (octet_edit_add_node(&e, "HardSwish", "", name, 1, in, 1, out) == SIZE_MAX) {
      st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
      break;
    }
    octet_edit_kill(&e, ai);
    octet_edit_kill(&e, ci);
    octet_edit_kill(&e, mi);
    octet_edit_kill(&e, di);
    (*fused)++;
  }
  if (!st && *fused) st = octet_edit_finish(&e, err);
  octet_edit_end(&e);
  if (st || !*fused) return st;
  /* 13 -> 14 changed no operator's inference meaning (types and training attributes only) */
  for (size_t i = 0; i < m->n_opsets; i++)
    if ((!m->opsets[i].domain[0] || !strcmp(m->opsets[i].domain, "ai.onnx")) && m->opsets[i].version < 14)
      m->opsets[i].version = 14;
  return octet_ir_validate(m, err);
}
