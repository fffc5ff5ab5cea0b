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

/* ---- BatchNormalization folding ---- */

static const float *float_data(const octet_ir_tensor *t, size_t n) {
  if (!t || t->dtype != OCTET_DTYPE_FLOAT) return NULL;
  size_t numel;
  if (!octet_shape_numel(t->dims, t->rank, &numel) || numel != n) return NULL;
  return t->data;
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
    if (strcmp(conv->op_type, "Conv") || conv->domain[0] || conv->n_inputs < 2) continue;
    if (octet_edit_consumers(e, conv->outputs[0]) != 1 || octet_edit_is_graph_output(e, conv->outputs[0]))
      continue;
    const octet_ir_tensor *w = octet_edit_constant(e, conv->inputs[1]);
    if (!w || w->dtype != OCTET_DTYPE_FLOAT || w->rank < 1) continue;
    size_t cout = (size_t)w->dims[0], numel;
    if (!octet_shape_numel(w->dims, w->rank, &numel) || cout == 0) continue;
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
    const float *wd = w->data;
    size_t per = numel / cout;
    for (size_t o = 0; o < cout; o++) {
      double s = (double)scale[o] / sqrt((double)var[o] + eps);
      for (size_t k = 0; k < per; k++) nw[o * per + k] = (float)((double)wd[o * per + k] * s);
      nb[o] = (float)(((bias ? (double)bias[o] : 0.0) - (double)mean[o]) * s + (double)beta[o]);
    }
    const char *wn = octet_edit_name(e, conv->inputs[1], "bn");
    const char *bname = octet_edit_name(e, conv->outputs[0], "bias");
    int64_t bd = (int64_t)cout;
    if (!octet_edit_set_initializer(e, wn, OCTET_DTYPE_FLOAT, w->rank, w->dims, nw) ||
        !octet_edit_set_initializer(e, bname, OCTET_DTYPE_FLOAT, 1, &bd, nb))
      return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    conv = &g->nodes[c]; /* the node array did not move, but re-read for clarity */
    const char **ins = octet_arena_alloc(e->m->arena, 3 * sizeof *ins);
    if (!ins) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    ins[0] = conv->inputs[0];
    ins[1] = wn;
    ins[2] = bname;
    conv->inputs = ins;
    conv->n_inputs = 3;
    conv->outputs[0] = bn->outputs[0];
    octet_edit_kill(e, i);
    (*folded)++;
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
  if (!st) st = fold_batchnorm(&e, &r->folded_bn, err);
  if (!st) st = octet_edit_finish(&e, err);
  octet_edit_end(&e);
  if (!st) st = octet_ir_validate(m, err);
  return st;
}
