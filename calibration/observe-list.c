/* observe-list.c — the tensors the static quantizer reads ranges of (see octet.h): a
 * calibrating session that observes only these does no histogram work on what stays float. */
#include <math.h>
#include <string.h>

#include "calibration/quant-rules.h"
#include "octet/octet.h"
#include "onnx_io/ir.h"

typedef struct slot {
  const char *name;
  size_t consumers; /* references as a node input, across the graph */
  bool wanted;
  bool derived; /* output of data movement from a wanted tensor: its range is copied */
} slot;

typedef struct name_set {
  slot *s;
  size_t cap; /* power of two, at least twice the names */
} name_set;

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* The slot of name, claimed if new (the table never fills: cap > 2 x all names). */
static slot *lookup(name_set *t, const char *name) {
  size_t i = hash_name(name) & (t->cap - 1);
  while (t->s[i].name && strcmp(t->s[i].name, name)) i = (i + 1) & (t->cap - 1);
  t->s[i].name = name;
  return &t->s[i];
}

static void want(name_set *t, const char *name) {
  if (name && *name) lookup(t, name)->wanted = true;
}

static bool is_one_of(const char *op, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(op, list[i])) return true;
  return false;
}

/* Mirrors quantize/qdq.c's roles. */
static const char *const compute_ops[] = {"Conv", "ConvTranspose", "MatMul", "Gemm"};
static const char *const whole_ops[] = {"Add", "Mul", "AveragePool", "GlobalAveragePool", "Concat"};
static const char *const pass_ops[] = {"MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze",
                                       "Unsqueeze", "GlobalMaxPool"};

typedef enum { FUSE_NO, FUSE_YES, FUSE_MAYBE } fuse;

/* Whether the quantizer folds the single reader of n's output (a Relu, or a Clip from a
 * constant 0) into n, taking the reader's output range for n's. MAYBE when the answer depends
 * on what happens after calibration (a Clip whose bounds are attributes becomes one with
 * constant inputs when the quantizer upgrades the opset): both tensors are then observed. */
static fuse folds_into(const octet_ir_graph *g, name_set *t, const octet_ir_node *n, bool subgraphs,
                       const octet_observe_list_options *o, size_t *reader) {
  const char *out = n->outputs[0];
  if (!out || !*out || lookup(t, out)->consumers != 1) return FUSE_NO;
  for (size_t i = 0; i < g->n_outputs; i++)
    if (!strcmp(g->outputs[i].name, out)) return FUSE_NO;
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *c = &g->nodes[i];
    if (c->n_inputs < 1 || strcmp(c->inputs[0], out)) continue;
    if (c->domain[0] || c->n_outputs < 1) return FUSE_NO;
    if (o && (octet_name_in_list(o->exclude_nodes, c->name) || octet_name_in_list(o->exclude_ops, c->op_type))) return FUSE_NO;
    *reader = i;
    fuse yes = subgraphs ? FUSE_MAYBE : FUSE_YES; /* a subgraph may read it too */
    if (!strcmp(c->op_type, "Relu")) return yes;
    if (strcmp(c->op_type, "Clip")) return FUSE_NO;
    if (c->n_inputs > 1 && c->inputs[1][0]) {
      const octet_ir_tensor *mn = octet_ir_graph_initializer(g, c->inputs[1]);
      if (mn && mn->dtype == OCTET_DTYPE_FLOAT && mn->nbytes == 4 && *(const float *)mn->data == 0.0f)
        return yes;
      return mn ? FUSE_NO : FUSE_MAYBE;
    }
    const octet_ir_attr *a = octet_ir_node_attr(c, "min");
    return a && a->f == 0.0f ? FUSE_MAYBE : FUSE_NO;
  }
  return FUSE_NO;
}

/* ---- hard-swish: mirrors quantize/prepare.c's octet_quantize_fuse_hardswish ---- */

static bool scalar_is(const octet_ir_graph *g, const char *name, float v, float tol) {
  const octet_ir_tensor *t = name && name[0] ? octet_ir_graph_initializer(g, name) : NULL;
  if (!t || t->dtype != OCTET_DTYPE_FLOAT || t->nbytes != sizeof(float)) return false;
  return fabsf(*(const float *)t->data - v) <= tol;
}

/* The node reading `name` when it is its only reader and not a graph output; else SIZE_MAX. */
static size_t only_reader(const octet_ir_graph *g, name_set *t, const char *name) {
  if (!name || !*name || lookup(t, name)->consumers != 1) return SIZE_MAX;
  for (size_t i = 0; i < g->n_outputs; i++)
    if (!strcmp(g->outputs[i].name, name)) return SIZE_MAX;
  for (size_t i = 0; i < g->n_nodes; i++)
    for (size_t k = 0; k < g->nodes[i].n_inputs; k++)
      if (!strcmp(g->nodes[i].inputs[k], name)) return i;
  return SIZE_MAX;
}

static bool is_op(const octet_ir_node *n, const char *op) { return !n->domain[0] && !strcmp(n->op_type, op); }

/* Marks the four nodes of each x * Clip(x + 3, 0, 6) / 6 (or * 1/6) the quantizer will fuse. */
static void mark_hardswish(const octet_ir_graph *g, name_set *t, bool *fused) {
  for (size_t ai = 0; ai < g->n_nodes; ai++) {
    const octet_ir_node *a = &g->nodes[ai];
    if (fused[ai] || !is_op(a, "Add") || a->n_inputs != 2 || a->n_outputs < 1) continue;
    int xs = scalar_is(g, a->inputs[1], 3.0f, 0.0f) ? 0 : scalar_is(g, a->inputs[0], 3.0f, 0.0f) ? 1 : -1;
    if (xs < 0 || octet_ir_graph_initializer(g, a->inputs[xs])) continue;
    const char *x = a->inputs[xs];
    size_t ci = only_reader(g, t, a->outputs[0]);
    if (ci == SIZE_MAX) continue;
    const octet_ir_node *c = &g->nodes[ci];
    if (!is_op(c, "Clip") || c->n_inputs != 3 || c->n_outputs < 1 || strcmp(c->inputs[0], a->outputs[0]) ||
        !scalar_is(g, c->inputs[1], 0.0f, 0.0f) || !scalar_is(g, c->inputs[2], 6.0f, 0.0f))
      continue;
    size_t mi = only_reader(g, t, c->outputs[0]);
    if (mi == SIZE_MAX) continue;
    const octet_ir_node *mu = &g->nodes[mi];
    if (!is_op(mu, "Mul") || mu->n_inputs != 2 || mu->n_outputs < 1) continue;
    const char *other = !strcmp(mu->inputs[0], c->outputs[0]) ? mu->inputs[1] : mu->inputs[0];
    if (strcmp(other, x)) continue;
    size_t di = only_reader(g, t, mu->outputs[0]);
    if (di == SIZE_MAX) continue;
    const octet_ir_node *d = &g->nodes[di];
    bool by6 = is_op(d, "Div") && d->n_inputs == 2 && !strcmp(d->inputs[0], mu->outputs[0]) &&
               scalar_is(g, d->inputs[1], 6.0f, 0.0f);
    bool times = is_op(d, "Mul") && d->n_inputs == 2 &&
                 scalar_is(g, !strcmp(d->inputs[0], mu->outputs[0]) ? d->inputs[1] : d->inputs[0], 1.0f / 6.0f, 1e-7f);
    if (!by6 && !times) continue;
    fused[ai] = fused[ci] = fused[mi] = fused[di] = true;
  }
}

static const octet_ir_node *producer_of(const octet_ir_graph *g, const char *name) {
  for (size_t i = 0; i < g->n_nodes; i++)
    for (size_t k = 0; k < g->nodes[i].n_outputs; k++)
      if (!strcmp(g->nodes[i].outputs[k], name)) return &g->nodes[i];
  return NULL;
}

octet_status octet_observe_list(const octet_model *model, const octet_observe_list_options *options,
                                const char ***names, size_t *n_names, octet_error *err) {
  if (!model || !model->graph || !names || !n_names)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_observe_list: model and outputs are required");
  const octet_ir_graph *g = model->graph;
  size_t total = g->n_inputs + 1;
  bool subgraphs = false;
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    if (total > SIZE_MAX / 4 - n->n_inputs - n->n_outputs)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_observe_list: graph too large");
    total += n->n_inputs + n->n_outputs;
    for (size_t a = 0; a < n->n_attrs; a++) subgraphs |= n->attrs[a].g || n->attrs[a].graphs;
  }
  name_set t = {0};
  t.cap = 16;
  while (t.cap < 2 * total) t.cap *= 2;
  t.s = octet_calloc(t.cap, sizeof *t.s);
  if (!t.s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory listing tensors to observe");
  for (size_t i = 0; i < g->n_nodes; i++)
    for (size_t k = 0; k < g->nodes[i].n_inputs; k++)
      if (g->nodes[i].inputs[k][0]) lookup(&t, g->nodes[i].inputs[k])->consumers++;

  /* The quantizer upgrades to opset 13 (then fuses hard-swish) unless weights are per tensor. */
  bool *fused = octet_calloc(g->n_nodes + 1, sizeof *fused);
  if (!fused) {
    octet_free(t.s);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory listing tensors to observe");
  }
  if (!(options && options->per_tensor_weights) || octet_ir_opset_version(model, "") >= 13)
    mark_hardswish(g, &t, fused);

  for (size_t i = 0; i < g->n_inputs; i++) want(&t, g->inputs[i].name);
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    if (n->domain[0] || fused[i]) continue; /* a fused hard-swish stays float: its x and result
                                              * are wanted by their neighbours if at all */
    const char *op = n->op_type;
    bool compute = is_one_of(op, compute_ops, OCTET_COUNTOF(compute_ops));
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
      if (n->n_inputs > 0) want(&t, n->inputs[0]);
      continue;
    }
    if (!compute && !is_one_of(op, whole_ops, OCTET_COUNTOF(whole_ops))) continue;
    /* Add/Mul become int8 only when every operand is an activation; with a weight operand
     * (PaddleOCR's x * scale + bias blocks) the op stays float and needs no ranges at all. */
    if (!strcmp(op, "Add") || !strcmp(op, "Mul")) {
      bool float_op = false;
      for (size_t k = 0; k < n->n_inputs; k++)
        float_op |= !n->inputs[k][0] || octet_ir_graph_initializer(g, n->inputs[k]) != NULL;
      if (float_op) { /* except a transcendental result, which is quantized right away */
        for (size_t k = 0; k < n->n_inputs; k++) {
          const octet_ir_node *p = n->inputs[k][0] ? producer_of(g, n->inputs[k]) : NULL;
          if (p && !p->domain[0] && octet_inexact_float_op(p->op_type)) want(&t, n->inputs[k]);
        }
        continue;
      }
    }
    size_t n_in = n->n_inputs;
    if (compute) n_in = strcmp(op, "MatMul") && strcmp(op, "Gemm") ? 1 : 2;
    for (size_t k = 0; k < n_in && k < n->n_inputs; k++) want(&t, n->inputs[k]);
    if (n->n_outputs < 1) continue;
    size_t reader = SIZE_MAX;
    fuse f = folds_into(g, &t, n, subgraphs, options, &reader);
    if (f != FUSE_NO) want(&t, g->nodes[reader].outputs[0]);
    if (f != FUSE_YES) want(&t, n->outputs[0]);
  }
  /* Data movement copies its input's quantization (quantize/qdq.c), so the output of a
   * MaxPool/Reshape/... whose input has a range needs no histogram of its own, even when the
   * next op reads it; in graph order, so chains of them follow. */
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    if (n->domain[0] || n->n_inputs < 1 || n->n_outputs < 1 || !n->outputs[0][0] || !n->inputs[0][0] ||
        (!is_one_of(n->op_type, pass_ops, OCTET_COUNTOF(pass_ops)) && !octet_nearest_resize(n)))
      continue;
    slot *in = lookup(&t, n->inputs[0]);
    if (in->wanted || in->derived) {
      slot *s = lookup(&t, n->outputs[0]);
      s->wanted = false;
      s->derived = true;
    }
  }

  octet_free(fused);
  size_t count = 0;
  for (size_t i = 0; i < t.cap; i++) count += t.s[i].name && t.s[i].wanted;
  const char **v = octet_malloc((count ? count : 1) * sizeof *v);
  if (!v) {
    octet_free(t.s);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory listing tensors to observe");
  }
  /* In graph order, so the list reads like the model. */
  size_t w = 0;
  for (size_t i = 0; i < g->n_inputs; i++) {
    slot *s = lookup(&t, g->inputs[i].name);
    if (s->wanted) {
      v[w++] = s->name;
      s->wanted = false;
    }
  }
  for (size_t i = 0; i < g->n_nodes; i++)
    for (size_t k = 0; k < g->nodes[i].n_outputs; k++) {
      if (!g->nodes[i].outputs[k][0]) continue;
      slot *s = lookup(&t, g->nodes[i].outputs[k]);
      if (s->wanted) {
        v[w++] = s->name;
        s->wanted = false;
      }
    }
  /* Names no node produces (initializers read by Add, say) are never observed: dropped. */
  octet_free(t.s);
  *names = v;
  *n_names = w;
  return OCTET_OK;
}

void octet_observe_list_free(const char **names) { octet_free((void *)names); }
